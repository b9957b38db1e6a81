//! Network interfaces, vnets, bridges, addresses and routes.
//!
//! Sources are freebsd-src files read through the project's search index; the labels follow
//! ../shared/FACTS-kernel-errno.md: [13] stable/13-era `sys/net/if.c` (d87a5f2), `if_clone.c`
//! (e12c5df), `if_bridge.c`, `route_ctl.c`; [14] 14-era `if_epair.c` (4d846d2), `in.c`, `in6.c`.
//!
//! Every request runs in one vnet: the host's or a VNET jail's. A jail without a vnet of its
//! own uses its parent's stack, but may change nothing in it: `prison_priv_check`
//! (kern_jail.c) grants the `PRIV_NET_*` privileges only to a prison with `PR_VNET`, so every
//! modifying request from such a jail fails with EPERM (read requests work). UNCONFIRMED:
//! recalled from kern_jail.c, not re-read for this module.

mod addr;
mod iface;
mod inspect;
mod route;
mod units;
mod vnet;

use crate::fault::Op;
use crate::jail::VnetId;
use crate::kernel::SimKernel;
use crate::machine::Machine;
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use units::UnitSet;
use zelle_core::kernel::net::{Inet6Alias, InetAlias, Interface, Route, RouteEntry, IFNAMSIZ};
use zelle_core::kernel::{
    Errno, IfFlags, Jid, KResult, KernelError, NetworkInterfaces, Routes, Vnet,
};

/// An interface's stable identity (also shown as its `link#N` index).
pub type IfId = u64;

/// `IF_MAXUNIT` (`sys/net/if.h`): the highest unit a cloner hands out.
const IF_MAXUNIT: u32 = 0x7fff;
/// The MTUs drivers start with: `ETHERMTU` and lo's `LOMTU` (`sys/net/if_loop.c`).
const ETHERMTU: u32 = 1500;
const LOMTU: u32 = 16384;

/// One interface (`struct ifnet`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Iface {
    /// `if_xname`.
    pub name: String,
    /// `if_dname` and `if_dunit`: the driver (and cloner) name and unit. A rename leaves them
    /// alone, so the cloner still finds a renamed clone and its unit stays allocated.
    pub dname: String,
    pub dunit: u32,
    /// On a cloner's list in its home vnet (`if_clone_addif`); the physical em0 is not.
    pub cloned: bool,
    /// `if_vnet`: where it is now.
    pub vnet: VnetId,
    /// `if_home_vnet`: where it was created; vnet teardown sends it back there.
    pub home: VnetId,
    /// Its place in its vnet's `V_ifnet` tail queue (creation or arrival appends).
    pub seq: u64,
    /// The other end of an epair.
    pub peer: Option<IfId>,
    /// `if_flags | if_drv_flags`, as SIOCGIFFLAGS reports them.
    pub flags: IfFlags,
    pub mtu: u32,
    pub inet: Vec<InAddr>,
    pub inet6: Vec<In6Addr>,
    /// For a bridge: its members, in the order they were added.
    pub members: Vec<IfId>,
    /// For a bridge member: the bridge (`if_bridge`).
    pub member_of: Option<IfId>,
    /// Arrived by SIOCSIFRVNET or vnet teardown, neither of which checks the name
    /// (`if_vmove_reclaim`, `vnet_if_return`): it may share its name with an interface that
    /// was in the vnet before it.
    pub unchecked_name: bool,
}

impl Iface {
    fn up(&self) -> bool {
        self.flags.contains(IfFlags::UP)
    }

    fn has_addresses(&self) -> bool {
        !self.inet.is_empty() || !self.inet6.is_empty()
    }

    /// Drivers whose init/stop follow IFF_UP with IFF_DRV_RUNNING (bridge_init/bridge_stop,
    /// lo_ioctl, em); an epair is running from creation to destruction (epair_set_state).
    fn running_follows_up(&self) -> bool {
        self.dname != "epair"
    }

    /// What ether_ioctl(SIOCSIFADDR) (or lo_ioctl) does for a first address: IFF_UP, and the
    /// driver's init.
    fn bring_up_for_address(&mut self) {
        self.flags = self.flags.with(IfFlags::UP);
        if self.running_follows_up() {
            self.flags = self.flags.with(IfFlags::DRV_RUNNING);
        }
    }
}

/// An IPv4 address (`struct in_ifaddr`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InAddr {
    pub addr: Ipv4Addr,
    pub mask: Ipv4Addr,
    /// The broadcast address on an IFF_BROADCAST interface, the destination on a
    /// point-to-point one.
    pub broadcast: Option<Ipv4Addr>,
}

impl InAddr {
    /// The prefix length (an IPv4 mask may be non-contiguous; its leading ones count).
    fn prefix_len(&self) -> u8 {
        u32::from(self.mask).leading_ones() as u8
    }
}

/// An IPv6 address (`struct in6_ifaddr`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct In6Addr {
    pub addr: Ipv6Addr,
    pub prefix_len: u8,
    pub flags: u32,
    pub vltime: u32,
    pub pltime: u32,
}

/// Where a route's traffic goes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Via {
    /// `RTF_GATEWAY`.
    Addr(IpAddr),
    /// An `AF_LINK` gateway: directly connected through this interface.
    Link(IfId),
}

/// Who put a route in the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RouteKind {
    /// Added through the routing socket.
    User,
    /// An interface address's prefix route (`in_addprefix`, nd6 on-link prefix): RTF_PINNED.
    Prefix,
    /// The host route to an interface's own address through the vnet's loopback
    /// (`ifa_maintain_loopback_route`): RTF_PINNED | RTF_STATIC.
    Loopback,
}

/// One route of a vnet's table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteRec {
    pub via: Via,
    /// The interface the route leaves through (`nh_ifp`).
    pub ifp: IfId,
    /// The interface address the route hangs off (`nh_ifa`): the owner of a kernel route, or
    /// the address whose prefix held a user route's gateway. Removing that address removes
    /// the route (`in_ifadown`).
    pub ifa: Option<(IfId, IpAddr)>,
    pub kind: RouteKind,
}

/// One network stack: the host's or a VNET jail's.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VnetNet {
    /// The routing table (FIB 0), one route per destination.
    pub routes: BTreeMap<IpNet, RouteRec>,
    /// Each cloner's allocated units (cloners are per vnet: `V_if_cloners`).
    pub units: BTreeMap<String, UnitSet>,
    /// `VNET_IS_SHUTTING_DOWN` (if.c): `vnet_destroy` has set `vnet_shutdown` and run
    /// `vnet_if_return`; the rest of the teardown is under way. Only while `vnet_destroy` runs.
    #[serde(default)]
    pub shutting_down: bool,
}

/// The network state of the whole machine.
///
/// Interfaces and vnets are kept in hash maps with a fixed hash and saved in key order: a
/// lookup then costs the same with a thousand containers as with one (an ordered map's depth,
/// and its cache misses, grow with the machine), and runs stay repeatable. Code that walks
/// them for output or for a sequence of changes walks them sorted (`vnet_ids`, `iface_ids`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "Saved")]
pub struct NetState {
    #[serde(serialize_with = "sorted")]
    pub ifaces: FnvMap<IfId, Iface>,
    #[serde(serialize_with = "sorted")]
    pub vnets: FnvMap<VnetId, VnetNet>,
    pub next_id: IfId,
    pub next_seq: u64,
    /// `ifunit`: (vnet, name) → interfaces of that name in attach order (more than one only
    /// after an unchecked return; the first is the one a lookup finds). Rebuilt on load.
    #[serde(skip)]
    by_name: NameIndex,
    /// Each vnet's interfaces in `V_ifnet` order. Rebuilt on load.
    #[serde(skip)]
    by_seq: SeqIndex,
}

/// FNV-1a: a fixed and cheap hash, the same on every run.
pub struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = (self.0 ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

pub type FnvMap<K, V> = HashMap<K, V, BuildHasherDefault<Fnv>>;

/// Save a hash map in key order.
fn sorted<K: Ord + Serialize, V: Serialize, S: serde::Serializer>(
    map: &FnvMap<K, V>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_map(map.iter().collect::<BTreeMap<_, _>>())
}

/// (vnet, name) → the interfaces of that name in attach order.
type NameIndex = FnvMap<VnetId, FnvMap<String, Vec<IfId>>>;

/// vnet → its interfaces in `V_ifnet` order.
type SeqIndex = FnvMap<VnetId, BTreeMap<u64, IfId>>;

/// What is saved of `NetState`: everything but the indexes, which loading rebuilds.
#[derive(Deserialize)]
struct Saved {
    ifaces: BTreeMap<IfId, Iface>,
    vnets: BTreeMap<VnetId, VnetNet>,
    next_id: IfId,
    next_seq: u64,
}

impl From<Saved> for NetState {
    fn from(saved: Saved) -> Self {
        let mut net = NetState {
            ifaces: saved.ifaces.into_iter().collect(),
            vnets: saved.vnets.into_iter().collect(),
            next_id: saved.next_id,
            next_seq: saved.next_seq,
            by_name: NameIndex::default(),
            by_seq: SeqIndex::default(),
        };
        net.rebuild_indexes();
        net
    }
}

impl Default for NetState {
    fn default() -> Self {
        NetState::new()
    }
}

impl NetState {
    /// The host at boot: a physical em0 with an address and a default route (an egress for
    /// NAT), and lo0 as `vnet_loif_init` and rc.conf leave it.
    pub fn new() -> Self {
        let mut net = NetState {
            ifaces: FnvMap::default(),
            vnets: FnvMap::default(),
            next_id: 1,
            next_seq: 1,
            by_name: NameIndex::default(),
            by_seq: SeqIndex::default(),
        };
        let host = VnetId::HOST;
        net.vnets.insert(host, VnetNet::default());
        let running = IfFlags::UP.with(IfFlags::DRV_RUNNING);
        let em0 = net.attach_new(
            host,
            "em",
            0,
            false,
            running
                .with(IfFlags::BROADCAST)
                .with(IfFlags::SIMPLEX)
                .with(IfFlags::MULTICAST),
            ETHERMTU,
        );
        net.ifaces.get_mut(&em0).expect("em0").inet.push(InAddr {
            addr: Ipv4Addr::new(192, 0, 2, 10),
            mask: Ipv4Addr::new(255, 255, 255, 0),
            broadcast: Some(Ipv4Addr::new(192, 0, 2, 255)),
        });
        let lo0 = net.clone_lo0(host);
        let lo = net.ifaces.get_mut(&lo0).expect("lo0");
        lo.flags = lo.flags.with(running);
        lo.inet.push(InAddr {
            addr: Ipv4Addr::LOCALHOST,
            mask: Ipv4Addr::new(255, 0, 0, 0),
            broadcast: None,
        });
        lo.inet6.push(In6Addr {
            addr: Ipv6Addr::LOCALHOST,
            prefix_len: 128,
            flags: 0,
            vltime: zelle_core::kernel::net::ND6_INFINITE_LIFETIME,
            pltime: zelle_core::kernel::net::ND6_INFINITE_LIFETIME,
        });
        net.refresh_routes(host);
        let gateway = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
        net.add_user_route(host, IpNet::V4(Default::default()), Via::Addr(gateway))
            .expect("the boot default route");
        net
    }

    /// lo0 of a new vnet (`vnet_loif_init`: the lo cloner with minifs 1): down, no address.
    fn clone_lo0(&mut self, vnet: VnetId) -> IfId {
        self.vnets
            .entry(vnet)
            .or_default()
            .units
            .entry("lo".into())
            .or_default()
            .insert(0);
        let flags = IfFlags::LOOPBACK.with(IfFlags::MULTICAST);
        self.attach_new(vnet, "lo", 0, true, flags, LOMTU)
    }

    /// Make an interface named `<dname><unit>` in `vnet`, its home.
    fn attach_new(
        &mut self,
        vnet: VnetId,
        dname: &str,
        dunit: u32,
        cloned: bool,
        flags: IfFlags,
        mtu: u32,
    ) -> IfId {
        let id = self.next_id;
        self.next_id += 1;
        let iface = Iface {
            name: format!("{dname}{dunit}"),
            dname: dname.into(),
            dunit,
            cloned,
            vnet,
            home: vnet,
            seq: 0,
            peer: None,
            flags,
            mtu,
            inet: Vec::new(),
            inet6: Vec::new(),
            members: Vec::new(),
            member_of: None,
            unchecked_name: false,
        };
        self.ifaces.insert(id, iface);
        self.link(id);
        id
    }

    /// `ifunit`: the interface a name finds in a vnet.
    pub fn lookup(&self, vnet: VnetId, name: &str) -> Option<IfId> {
        self.by_name.get(&vnet)?.get(name)?.first().copied()
    }

    /// The vnets, in order.
    pub fn vnet_ids(&self) -> Vec<VnetId> {
        let mut ids: Vec<VnetId> = self.vnets.keys().copied().collect();
        ids.sort();
        ids
    }

    /// The interfaces, in order of creation.
    pub fn iface_ids(&self) -> Vec<IfId> {
        let mut ids: Vec<IfId> = self.ifaces.keys().copied().collect();
        ids.sort();
        ids
    }

    /// Every interface of that name in a vnet, the one `lookup` finds first.
    fn holders(&self, vnet: VnetId, name: &str) -> impl Iterator<Item = IfId> + '_ {
        self.by_name
            .get(&vnet)
            .and_then(|names| names.get(name))
            .into_iter()
            .flatten()
            .copied()
    }

    pub fn iface(&self, id: IfId) -> &Iface {
        &self.ifaces[&id]
    }

    fn iface_mut(&mut self, id: IfId) -> &mut Iface {
        self.ifaces
            .get_mut(&id)
            .expect("interface id from an index")
    }

    /// A vnet's interfaces in `V_ifnet` order.
    pub fn in_vnet(&self, vnet: VnetId) -> impl Iterator<Item = IfId> + '_ {
        self.by_seq
            .get(&vnet)
            .into_iter()
            .flat_map(|ids| ids.values().copied())
    }

    /// Put `id` at the tail of its vnet's list (`if_link_ifnet`) and into the name index.
    fn link(&mut self, id: IfId) {
        let seq = self.next_seq;
        self.next_seq += 1;
        let iface = self.ifaces.get_mut(&id).expect("interface to link");
        iface.seq = seq;
        let (vnet, name) = (iface.vnet, iface.name.clone());
        self.by_seq.entry(vnet).or_default().insert(seq, id);
        self.by_name
            .entry(vnet)
            .or_default()
            .entry(name)
            .or_default()
            .push(id);
    }

    /// Take `id` out of its vnet's list and the name index (`if_unlink_ifnet`).
    fn unlink(&mut self, id: IfId) {
        let iface = &self.ifaces[&id];
        let (vnet, name, seq) = (iface.vnet, iface.name.clone(), iface.seq);
        // Empty entries go, so that the indexes always equal a rebuild (check_net).
        if let Some(ids) = self.by_seq.get_mut(&vnet) {
            ids.remove(&seq);
            if ids.is_empty() {
                self.by_seq.remove(&vnet);
            }
        }
        if let Some(names) = self.by_name.get_mut(&vnet) {
            if let Some(ids) = names.get_mut(&name) {
                ids.retain(|&other| other != id);
                if ids.is_empty() {
                    names.remove(&name);
                }
            }
            if names.is_empty() {
                self.by_name.remove(&vnet);
            }
        }
    }

    /// Rename in place, keeping the interface's place in `V_ifnet`.
    fn set_name(&mut self, id: IfId, name: &str) {
        let iface = &self.ifaces[&id];
        let (vnet, old) = (iface.vnet, iface.name.clone());
        if let Some(names) = self.by_name.get_mut(&vnet) {
            if let Some(ids) = names.get_mut(&old) {
                ids.retain(|&other| other != id);
                if ids.is_empty() {
                    names.remove(&old);
                }
            }
            names.entry(name.to_string()).or_default().push(id);
        }
        let iface = self.iface_mut(id);
        iface.name = name.to_string();
        iface.unchecked_name = false;
    }

    pub(super) fn rebuild_indexes(&mut self) {
        let (by_name, by_seq) = self.indexes_from_ifaces();
        self.by_name = by_name;
        self.by_seq = by_seq;
    }

    fn indexes_from_ifaces(&self) -> (NameIndex, SeqIndex) {
        let mut by_seq = SeqIndex::default();
        for (&id, iface) in &self.ifaces {
            by_seq.entry(iface.vnet).or_default().insert(iface.seq, id);
        }
        let mut by_name = NameIndex::default();
        for (&vnet, ids) in &by_seq {
            let names = by_name.entry(vnet).or_default();
            for &id in ids.values() {
                let name = self.ifaces[&id].name.clone();
                names.entry(name).or_default().push(id);
            }
        }
        (by_name, by_seq)
    }

    /// The vnet's `V_loif`: the lo0 its lo cloner made, when it is in the vnet.
    fn loif(&self, vnet: VnetId) -> Option<IfId> {
        self.in_vnet(vnet).find(|&id| {
            let iface = &self.ifaces[&id];
            iface.dname == "lo" && iface.dunit == 0 && iface.home == vnet
        })
    }

    fn units_mut(&mut self, vnet: VnetId, cloner: &str) -> &mut UnitSet {
        self.vnets
            .entry(vnet)
            .or_default()
            .units
            .entry(cloner.to_string())
            .or_default()
    }
}

/// Who makes a request: the vnet it runs in, the prison its credential is in, and whether
/// that prison may change the network (see the module comment).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Caller {
    pub vnet: VnetId,
    pub prison: Jid,
    pub privileged: bool,
}

fn errno(op: Op, errno: Errno) -> KernelError {
    KernelError::errno(op, errno)
}

/// The name as the kernel reads it from `ifr_name`. A name of IFNAMSIZ (16) bytes or more
/// cannot fit the 16-byte field with its NUL; the real backend refuses it with ENAMETOOLONG
/// before making the call (rather than let the kernel read it cut short), so the simulator
/// does the same. The kernel reads up to the first NUL.
fn ifr_name(op: Op, name: &str) -> KResult<&str> {
    if name.len() >= IFNAMSIZ {
        return Err(errno(op, Errno::ENAMETOOLONG));
    }
    Ok(name.split('\0').next().unwrap_or_default())
}

impl Machine {
    /// The caller of a request made in `vnet` (EINVAL as jail_attach(2) gives for an unknown
    /// or dying jail).
    pub(crate) fn net_caller(&self, vnet: Vnet) -> KResult<Caller> {
        let in_vnet = self.vnet_of(vnet)?;
        let prison = match vnet {
            Vnet::Host => Jid(0),
            Vnet::Jail(jid) => jid,
        };
        let privileged = prison == Jid(0) || in_vnet == VnetId(prison);
        Ok(Caller {
            vnet: in_vnet,
            prison,
            privileged,
        })
    }

    /// `priv_check(PRIV_NET_*)`: EPERM in a jail without a vnet of its own.
    fn require_net_priv(op: Op, caller: &Caller) -> KResult<()> {
        if caller.privileged {
            Ok(())
        } else {
            Err(errno(op, Errno::EPERM))
        }
    }

    /// `ifunit_ref` in the caller's vnet, ENXIO when nothing has that name (ifioctl).
    fn net_ifunit(&self, op: Op, vnet: VnetId, name: &str) -> KResult<IfId> {
        self.net
            .lookup(vnet, name)
            .ok_or_else(|| errno(op, Errno::ENXIO))
    }

    /// The vnet a prison's processes use: its own, or its nearest ancestor's.
    pub(crate) fn prison_vnet(&self, jid: Jid) -> VnetId {
        let mut jid = jid;
        for _ in 0..=self.jails.jails.len() {
            match self.jails.jails.get(&jid) {
                Some(jail) if jail.vnet => return VnetId(jid),
                Some(jail) => jid = jail.parent,
                None => break,
            }
        }
        VnetId::HOST
    }

    /// `prison_find_child`: whether `jid` is a prison below `ancestor` (dying ones count: the
    /// lookup only wants a reference, `pr_ref > 0`).
    fn is_descendant(&self, jid: Jid, ancestor: Jid) -> bool {
        let mut parent = match self.jails.jails.get(&jid) {
            Some(jail) if jid != ancestor => jail.parent,
            _ => return false,
        };
        for _ in 0..=self.jails.jails.len() {
            if parent == ancestor {
                return true;
            }
            match self.jails.jails.get(&parent) {
                Some(jail) => parent = jail.parent,
                None => return false,
            }
        }
        false
    }

    /// Whether a jail's credential may see `addr` (`prison_if` → `prison_check_ip4/6`): a jail
    /// with its own vnet sees everything in it; a prison whose addresses are restricted
    /// (ip4=new or disable, `PR_IP4_USER`) sees only its list; one that inherits defers to its
    /// parent, up to the host, which sees all. UNCONFIRMED: recalled from rtsock.c's
    /// `sysctl_iflist`/`sysctl_dumpentry`, not re-read.
    fn prison_sees(&self, prison: Jid, addr: IpAddr) -> bool {
        use zelle_core::kernel::IpMode;
        let mut jid = prison;
        for _ in 0..=self.jails.jails.len() {
            let Some(jail) = self.jails.jails.get(&jid) else {
                return true;
            };
            if jail.vnet {
                return true;
            }
            let (mode, allowed) = match addr {
                IpAddr::V4(a) => (jail.ip4, jail.ip4_addrs.contains(&a)),
                IpAddr::V6(a) => (jail.ip6, jail.ip6_addrs.contains(&a)),
            };
            match mode {
                IpMode::Inherit => jid = jail.parent,
                IpMode::New | IpMode::Disable => return allowed,
            }
        }
        true
    }
}

impl NetworkInterfaces for SimKernel {
    fn create_interface(&self, vnet: Vnet, name: &str) -> KResult<String> {
        self.call(Op::CreateInterface, &(vnet, name), |m| {
            m.if_clone_create(vnet, name)
        })
    }
    fn destroy_interface(&self, vnet: Vnet, name: &str) -> KResult<()> {
        self.call(Op::DestroyInterface, &(vnet, name), |m| {
            m.if_clone_destroy(vnet, name)
        })
    }
    fn rename_interface(&self, vnet: Vnet, name: &str, new_name: &str) -> KResult<()> {
        self.call(Op::RenameInterface, &(vnet, name, new_name), |m| {
            m.if_rename(vnet, name, new_name)
        })
    }
    fn interface_flags(&self, vnet: Vnet, name: &str) -> KResult<IfFlags> {
        self.call(Op::InterfaceFlags, &(vnet, name), |m| {
            m.if_get_flags(vnet, name)
        })
    }
    fn set_interface_flags(&self, vnet: Vnet, name: &str, flags: IfFlags) -> KResult<()> {
        self.call(Op::SetInterfaceFlags, &(vnet, name, flags), |m| {
            m.if_set_flags(vnet, name, flags)
        })
    }
    fn set_mtu(&self, vnet: Vnet, name: &str, mtu: u32) -> KResult<()> {
        self.call(Op::SetMtu, &(vnet, name, mtu), |m| {
            m.if_set_mtu(vnet, name, mtu)
        })
    }
    fn add_inet_alias(&self, vnet: Vnet, name: &str, alias: &InetAlias) -> KResult<()> {
        self.call(Op::AddInetAlias, &(vnet, name, alias), |m| {
            m.in_aifaddr(vnet, name, alias)
        })
    }
    fn delete_inet_alias(&self, vnet: Vnet, name: &str, addr: Ipv4Addr) -> KResult<()> {
        self.call(Op::DeleteInetAlias, &(vnet, name, addr), |m| {
            m.in_difaddr(vnet, name, addr)
        })
    }
    fn add_inet6_alias(&self, vnet: Vnet, name: &str, alias: &Inet6Alias) -> KResult<()> {
        self.call(Op::AddInet6Alias, &(vnet, name, alias), |m| {
            m.in6_aifaddr(vnet, name, alias)
        })
    }
    fn delete_inet6_alias(&self, vnet: Vnet, name: &str, addr: Ipv6Addr) -> KResult<()> {
        self.call(Op::DeleteInet6Alias, &(vnet, name, addr), |m| {
            m.in6_difaddr(vnet, name, addr)
        })
    }
    fn bridge_add_member(&self, vnet: Vnet, bridge: &str, member: &str) -> KResult<()> {
        self.call(Op::BridgeAddMember, &(vnet, bridge, member), |m| {
            m.bridge_add(vnet, bridge, member)
        })
    }
    fn bridge_delete_member(&self, vnet: Vnet, bridge: &str, member: &str) -> KResult<()> {
        self.call(Op::BridgeDeleteMember, &(vnet, bridge, member), |m| {
            m.bridge_del(vnet, bridge, member)
        })
    }
    fn move_to_jail(&self, vnet: Vnet, name: &str, jid: Jid) -> KResult<()> {
        self.call(Op::MoveToJail, &(vnet, name, jid), |m| {
            m.if_vmove_loan(vnet, name, jid)
        })
    }
    fn reclaim_from_jail(&self, vnet: Vnet, name: &str, jid: Jid) -> KResult<()> {
        self.call(Op::ReclaimFromJail, &(vnet, name, jid), |m| {
            m.if_vmove_reclaim(vnet, name, jid)
        })
    }
    fn list_interfaces(&self, vnet: Vnet) -> KResult<Vec<Interface>> {
        self.call(Op::ListInterfaces, &vnet, |m| m.if_list(vnet))
    }
    /// The typed door has no processes to save: `work` runs as it is, its calls reaching the
    /// machine as without a session. The trace records the session; it starts as the real
    /// backend's helper would, by jail_attach(2) (EINVAL for a missing or dying jail:
    /// kern_jail.c, sys_jail_attach → prison_find_child, prison_isalive).
    fn vnet_session(&self, jid: Jid, work: &mut dyn FnMut()) -> KResult<()> {
        let started = self.call(Op::VnetSession, &jid, |m| {
            m.vnet_of(Vnet::Jail(jid)).map(drop)
        });
        work();
        started
    }
}

impl Routes for SimKernel {
    fn add_route(&self, vnet: Vnet, route: &Route) -> KResult<()> {
        self.call(Op::AddRoute, &(vnet, route), |m| m.rtm_add(vnet, route))
    }
    fn delete_route(&self, vnet: Vnet, route: &Route) -> KResult<()> {
        self.call(Op::DeleteRoute, &(vnet, route), |m| {
            m.rtm_delete(vnet, route)
        })
    }
    fn list_routes(&self, vnet: Vnet) -> KResult<Vec<RouteEntry>> {
        self.call(Op::ListRoutes, &vnet, |m| m.rt_dump(vnet))
    }
}
