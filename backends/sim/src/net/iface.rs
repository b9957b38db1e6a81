//! Interface requests: cloning (`if_clone.c`, `if_epair.c`), SIOCSIFNAME, flags and MTU
//! (`if.c`: `ifhwioctl`), bridge members (`if_bridge.c`), listing.

use super::{errno, ifr_name, IfId, NetState, ETHERMTU, IF_MAXUNIT, LOMTU};
use crate::fault::Op;
use crate::jail::VnetId;
use crate::machine::Machine;
use std::net::IpAddr;
use zelle_core::kernel::net::Interface;
use zelle_core::kernel::{Errno, IfFlags, KResult, Vnet};

/// `IFF_CANTCHANGE` (`sys/net/if.h`): BROADCAST, POINTOPOINT, KNOWSEPOCH, DRV_RUNNING,
/// PROMISC, ALLMULTI, DRV_OACTIVE, SIMPLEX, MULTICAST, CANTCONFIG, DYING. (IFF_LOOPBACK is
/// not among them: SIOCSIFFLAGS can clear it.)
const IFF_CANTCHANGE: u32 =
    0x2 | 0x10 | 0x20 | 0x40 | 0x100 | 0x200 | 0x400 | 0x800 | 0x8000 | 0x10000 | 0x20_0000;

/// `IF_MINMTU` and `IF_MAXMTU` (`sys/net/if.c`).
const IF_MINMTU: u32 = 72;
const IF_MAXMTU: u32 = 65535;

/// The cloners of this machine, by name: lo is compiled in; epair and bridge come with their
/// modules (each registers a cloner in every vnet: `vnet_epair_init`, `vnet_bridge_init`).
const CLONERS: &[(&str, Option<&str>)] = &[
    ("lo", None),
    ("epair", Some("if_epair")),
    ("bridge", Some("if_bridge")),
];

/// `ifc_name2unit`: the unit after the cloner name; `None` asks for any. A leading zero or a
/// unit past INT_MAX is EINVAL.
fn name2unit(op: Op, digits: &str) -> KResult<Option<u32>> {
    if digits.is_empty() {
        return Ok(None);
    }
    if digits.len() > 1 && digits.starts_with('0') {
        return Err(errno(op, Errno::EINVAL));
    }
    match digits.parse::<i32>() {
        Ok(unit) if unit >= 0 => Ok(Some(unit as u32)),
        _ => Err(errno(op, Errno::EINVAL)),
    }
}

impl Machine {
    fn cloner_loaded(&self, cloner: &str) -> bool {
        CLONERS
            .iter()
            .any(|&(name, module)| name == cloner && module.is_none_or(|m| self.host.has_module(m)))
    }

    /// The cloner whose name a request matches (`ifc_simple_match`, `epair_clone_match`): the
    /// cloner name followed by nothing but digits.
    fn match_cloner(&self, name: &str) -> Option<&'static str> {
        CLONERS.iter().map(|&(cloner, _)| cloner).find(|cloner| {
            self.cloner_loaded(cloner)
                && name
                    .strip_prefix(cloner)
                    .is_some_and(|rest| rest.bytes().all(|b| b.is_ascii_digit()))
        })
    }

    /// SIOCIFCREATE2 (`if_clone_create` → `if_clone_createif`, `ifc_alloc_unit`,
    /// `epair_handle_unit`) [13][14].
    pub(crate) fn if_clone_create(&mut self, vnet: Vnet, name: &str) -> KResult<String> {
        let op = Op::CreateInterface;
        let name = ifr_name(op, name)?;
        let caller = self.net_caller(vnet)?;
        Self::require_net_priv(op, &caller)?;
        // No cloner matches ("epair5a", "bridgeX", "em1", a module not loaded): EINVAL.
        let cloner = self
            .match_cloner(name)
            .ok_or_else(|| errno(op, Errno::EINVAL))?;
        let v = caller.vnet;
        // The exact name already exists: EEXIST (if_clone_createif).
        if self.net.lookup(v, name).is_some() {
            return Err(errno(op, Errno::EEXIST));
        }
        let wanted = name2unit(op, &name[cloner.len()..])?;
        let unit = self.net.alloc_unit(op, v, cloner, wanted)?;
        if cloner == "epair" {
            // epair_handle_unit: either end's name taken is EEXIST, even for a wildcard
            // request (the unit was free in this vnet's cloner, the name was not).
            let taken = ["a", "b"]
                .iter()
                .any(|end| self.net.lookup(v, &format!("epair{unit}{end}")).is_some());
            if taken {
                return Err(errno(op, Errno::EEXIST));
            }
        }
        Ok(self.net.clone_create(v, cloner, unit))
    }

    /// SIOCIFDESTROY (`if_clone_destroy`, `if_clone_destroyif`) [13][14].
    pub(crate) fn if_clone_destroy(&mut self, vnet: Vnet, name: &str) -> KResult<()> {
        let op = Op::DestroyInterface;
        let name = ifr_name(op, name)?;
        let caller = self.net_caller(vnet)?;
        Self::require_net_priv(op, &caller)?;
        let id = self.net_ifunit(op, caller.vnet, name)?;
        let iface = self.net.iface(id);
        // The cloner is found by if_dname in the home vnet, so a renamed clone can still be
        // destroyed; a physical interface (em0) has none: EINVAL.
        if !iface.cloned || !self.cloner_loaded(&iface.dname) {
            return Err(errno(op, Errno::EINVAL));
        }
        // lo0 is below the lo cloner's minifs of 1 (ifc_simple_destroy_wrapper): EINVAL.
        if iface.dname == "lo" && iface.dunit < 1 {
            return Err(errno(op, Errno::EINVAL));
        }
        self.net.destroy(id);
        Ok(())
    }

    /// SIOCSIFNAME (`ifhwioctl`, `if_rename`) [13].
    pub(crate) fn if_rename(&mut self, vnet: Vnet, name: &str, new_name: &str) -> KResult<()> {
        let op = Op::RenameInterface;
        let name = ifr_name(op, name)?;
        let caller = self.net_caller(vnet)?;
        let id = self.net_ifunit(op, caller.vnet, name)?;
        Self::require_net_priv(op, &caller)?;
        // copyinstr into a buffer of IFNAMSIZ: ENAMETOOLONG when no NUL fits.
        let new_name = ifr_name(op, new_name)?;
        if new_name.is_empty() {
            return Err(errno(op, Errno::EINVAL));
        }
        if new_name == self.net.iface(id).name {
            return Ok(());
        }
        if self.net.lookup(caller.vnet, new_name).is_some() {
            return Err(errno(op, Errno::EEXIST));
        }
        // No check of a unit-like suffix; if_dname/if_dunit stay, and an epair's peer keeps
        // its own name.
        self.net.set_name(id, new_name);
        Ok(())
    }

    /// SIOCGIFFLAGS: `if_flags | if_drv_flags`.
    pub(crate) fn if_get_flags(&mut self, vnet: Vnet, name: &str) -> KResult<IfFlags> {
        let op = Op::InterfaceFlags;
        let name = ifr_name(op, name)?;
        let caller = self.net_caller(vnet)?;
        let id = self.net_ifunit(op, caller.vnet, name)?;
        Ok(self.net.iface(id).flags)
    }

    /// SIOCSIFFLAGS (`ifhwioctl`) [13]: the bits in IFF_CANTCHANGE stay as they are; a
    /// transition of IFF_UP is if_up/if_down (prefix routes come and go with it, `in_ifnet_event`
    /// [14]); the driver's own ioctl error is ignored.
    pub(crate) fn if_set_flags(&mut self, vnet: Vnet, name: &str, flags: IfFlags) -> KResult<()> {
        let op = Op::SetInterfaceFlags;
        let name = ifr_name(op, name)?;
        let caller = self.net_caller(vnet)?;
        let id = self.net_ifunit(op, caller.vnet, name)?;
        Self::require_net_priv(op, &caller)?;
        let iface = self.net.iface_mut(id);
        let old = iface.flags;
        let mut new = IfFlags((iface.flags.0 & IFF_CANTCHANGE) | (flags.0 & !IFF_CANTCHANGE));
        if iface.running_follows_up() {
            new = if new.contains(IfFlags::UP) {
                new.with(IfFlags::DRV_RUNNING)
            } else {
                new.without(IfFlags::DRV_RUNNING)
            };
        }
        iface.flags = new;
        // Going up or down moves prefix routes; so does IFF_LOOPBACK, which shapes them.
        if old != new && iface.has_addresses() {
            self.net.refresh_routes(caller.vnet);
        }
        Ok(())
    }

    /// SIOCSIFMTU (`ifhwioctl` [13], then the driver: `epair_ioctl` [14], `bridge_ioctl` [13]).
    pub(crate) fn if_set_mtu(&mut self, vnet: Vnet, name: &str, mtu: u32) -> KResult<()> {
        let op = Op::SetMtu;
        let name = ifr_name(op, name)?;
        let caller = self.net_caller(vnet)?;
        let id = self.net_ifunit(op, caller.vnet, name)?;
        Self::require_net_priv(op, &caller)?;
        // ifr_mtu is an int: anything past IF_MAXMTU (or negative) is EINVAL.
        if !(IF_MINMTU..=IF_MAXMTU).contains(&mtu) {
            return Err(errno(op, Errno::EINVAL));
        }
        let iface = self.net.iface(id);
        // A bridge member's MTU may not change under the bridge.
        if iface.member_of.is_some() {
            return Err(errno(op, Errno::EOPNOTSUPP));
        }
        match iface.dname.as_str() {
            // bridge_ioctl: at least 576, and with members every member must already have it.
            // UNCONFIRMED: later versions may push the MTU down to the members instead.
            "bridge" => {
                let differs = iface.members.iter().any(|&m| self.net.iface(m).mtu != mtu);
                if mtu < 576 || differs {
                    return Err(errno(op, Errno::EINVAL));
                }
            }
            // em(4) takes frames up to 9234 bytes, an MTU of 9216 (UNCONFIRMED: the limit
            // depends on the chip; em_if_mtu_set).
            "em" if mtu > 9216 => return Err(errno(op, Errno::EINVAL)),
            // epair and lo take anything the generic check let through.
            _ => {}
        }
        self.net.iface_mut(id).mtu = mtu;
        Ok(())
    }

    /// The bridge named `bridge` for a SIOCSDRVSPEC request: ENXIO when missing, EPERM without
    /// the privilege, EINVAL for an interface whose driver has no such request (ether_ioctl,
    /// lo_ioctl).
    fn bridge_for_drvspec(
        &self,
        op: Op,
        vnet: Vnet,
        bridge: &str,
        member: &str,
    ) -> KResult<(VnetId, IfId, String)> {
        let bridge = ifr_name(op, bridge)?;
        // ifbr_ifsname is a char[IFNAMSIZ] of struct ifbreq: the backend refuses longer names.
        let member = ifr_name(op, member)?.to_string();
        let caller = self.net_caller(vnet)?;
        let id = self.net_ifunit(op, caller.vnet, bridge)?;
        Self::require_net_priv(op, &caller)?;
        if self.net.iface(id).dname != "bridge" {
            return Err(errno(op, Errno::EINVAL));
        }
        Ok((caller.vnet, id, member))
    }

    /// BRDGADD (`bridge_ioctl_add`) [13].
    pub(crate) fn bridge_add(&mut self, vnet: Vnet, bridge: &str, member: &str) -> KResult<()> {
        let op = Op::BridgeAddMember;
        let (v, bridge, member) = self.bridge_for_drvspec(op, vnet, bridge, member)?;
        let id = self
            .net
            .lookup(v, &member)
            .ok_or_else(|| errno(op, Errno::ENOENT))?;
        let iface = self.net.iface(id);
        match iface.member_of {
            Some(b) if b == bridge => return Err(errno(op, Errno::EEXIST)),
            Some(_) => return Err(errno(op, Errno::EBUSY)),
            None => {}
        }
        // Only Ethernet-like members (IFT_ETHER, IFT_L2VLAN, IFT_GIF): not lo, not a bridge.
        if !matches!(iface.dname.as_str(), "epair" | "em") {
            return Err(errno(op, Errno::EINVAL));
        }
        // The first member sets the bridge's MTU; a later one must match it ("invalid MTU").
        let member_mtu = iface.mtu;
        let b = self.net.iface(bridge);
        if !b.members.is_empty() && b.mtu != member_mtu {
            return Err(errno(op, Errno::EINVAL));
        }
        let b = self.net.iface_mut(bridge);
        b.mtu = member_mtu;
        b.members.push(id);
        let m = self.net.iface_mut(id);
        m.member_of = Some(bridge);
        // ifpromisc(ifs, 1): a member listens to everything.
        m.flags = m.flags.with(IfFlags::PROMISC);
        Ok(())
    }

    /// BRDGDEL (`bridge_ioctl_del`) [13]: the member is looked up by name among the bridge's
    /// members; ENOENT when it is not one.
    pub(crate) fn bridge_del(&mut self, vnet: Vnet, bridge: &str, member: &str) -> KResult<()> {
        let op = Op::BridgeDeleteMember;
        let (v, bridge, member) = self.bridge_for_drvspec(op, vnet, bridge, member)?;
        // Members are in the bridge's vnet, so the name index finds them without a walk
        // along the member list.
        let id = self
            .net
            .holders(v, &member)
            .find(|&m| self.net.iface(m).member_of == Some(bridge))
            .ok_or_else(|| errno(op, Errno::ENOENT))?;
        self.net.leave_bridge(id);
        Ok(())
    }

    /// getifaddrs(3) (sysctl NET_RT_IFLIST) with BRDGGIFS for bridges. A jail without its own
    /// vnet sees every interface but only the addresses it may use (`prison_if`).
    pub(crate) fn if_list(&mut self, vnet: Vnet) -> KResult<Vec<Interface>> {
        let caller = self.net_caller(vnet)?;
        let sees = |addr: IpAddr| self.prison_sees(caller.prison, addr);
        let list = self
            .net
            .in_vnet(caller.vnet)
            .map(|id| {
                let iface = self.net.iface(id);
                Interface {
                    name: iface.name.clone(),
                    flags: iface.flags,
                    mtu: iface.mtu,
                    inet: iface
                        .inet
                        .iter()
                        .filter(|a| sees(a.addr.into()))
                        .map(|a| (a.addr, a.prefix_len()))
                        .collect(),
                    inet6: iface
                        .inet6
                        .iter()
                        .filter(|a| sees(a.addr.into()))
                        .map(|a| (a.addr, a.prefix_len))
                        .collect(),
                    members: iface
                        .members
                        .iter()
                        .map(|&m| self.net.iface(m).name.clone())
                        .collect(),
                }
            })
            .collect();
        Ok(list)
    }
}

impl NetState {
    /// `ifc_alloc_unit`: a wanted unit must be free in this vnet's cloner and its name unused
    /// (EEXIST), and at most IF_MAXUNIT (ENOSPC). Without one, the lowest free unit, moving up
    /// past units whose `<cloner><unit>` name is taken (`ifc_alloc_unit_next`) [13].
    fn alloc_unit(&self, op: Op, vnet: VnetId, cloner: &str, wanted: Option<u32>) -> KResult<u32> {
        let units = self.vnets.get(&vnet).and_then(|v| v.units.get(cloner));
        let taken = |unit: u32| {
            units.is_some_and(|u| u.contains(unit))
                || self.lookup(vnet, &format!("{cloner}{unit}")).is_some()
        };
        match wanted {
            Some(unit) if unit > IF_MAXUNIT => Err(errno(op, Errno::ENOSPC)),
            Some(unit) if taken(unit) => Err(errno(op, Errno::EEXIST)),
            Some(unit) => Ok(unit),
            None => {
                let mut unit = units.map_or(0, |u| u.lowest_free());
                while unit <= IF_MAXUNIT && taken(unit) {
                    unit += 1;
                }
                if unit > IF_MAXUNIT {
                    return Err(errno(op, Errno::ENOSPC));
                }
                Ok(unit)
            }
        }
    }

    /// Make the interface(s) of a checked request; returns the name written back.
    fn clone_create(&mut self, vnet: VnetId, cloner: &str, unit: u32) -> String {
        self.units_mut(vnet, cloner).insert(unit);
        let ether = IfFlags::BROADCAST
            .with(IfFlags::SIMPLEX)
            .with(IfFlags::MULTICAST);
        match cloner {
            // epair_clone_create: epair<N>a and epair<N>b, running from the start; the name
            // written back is the a end's.
            "epair" => {
                let running = ether.with(IfFlags::DRV_RUNNING);
                let a = self.attach_new(vnet, cloner, unit, true, running, ETHERMTU);
                let b = self.attach_new(vnet, cloner, unit, true, running, ETHERMTU);
                for (id, end, peer) in [(a, "a", b), (b, "b", a)] {
                    self.set_name(id, &format!("epair{unit}{end}"));
                    self.iface_mut(id).peer = Some(peer);
                }
                self.iface(a).name.clone()
            }
            "bridge" => {
                let id = self.attach_new(vnet, cloner, unit, true, ether, ETHERMTU);
                self.iface(id).name.clone()
            }
            _ => {
                let flags = IfFlags::LOOPBACK.with(IfFlags::MULTICAST);
                let id = self.attach_new(vnet, cloner, unit, true, flags, LOMTU);
                self.iface(id).name.clone()
            }
        }
    }

    /// Take a member out of its bridge (`bridge_delete_member`).
    pub(super) fn leave_bridge(&mut self, id: IfId) {
        let Some(bridge) = self.iface_mut(id).member_of.take() else {
            return;
        };
        let m = self.iface_mut(id);
        m.flags = m.flags.without(IfFlags::PROMISC);
        if let Some(b) = self.ifaces.get_mut(&bridge) {
            b.members.retain(|&other| other != id);
        }
    }

    /// Take an interface out of its vnet, to move or destroy it (`if_detach_internal`): down,
    /// out of its bridge, a bridge's members released, addresses purged (`if_purgeaddrs`),
    /// every route through it flushed (`rt_flushifroutes`), off the vnet's list.
    pub(super) fn leave_vnet(&mut self, id: IfId) {
        self.leave_bridge(id);
        for member in std::mem::take(&mut self.iface_mut(id).members) {
            let m = self.iface_mut(member);
            m.member_of = None;
            m.flags = m.flags.without(IfFlags::PROMISC);
        }
        let vnet = self.iface(id).vnet;
        let refresh = self.iface(id).has_addresses() || self.loif(vnet) == Some(id);
        let iface = self.iface_mut(id);
        iface.flags = iface.flags.without(IfFlags::UP);
        iface.inet.clear();
        iface.inet6.clear();
        if let Some(v) = self.vnets.get_mut(&vnet) {
            v.routes.retain(|_, r| !r.uses(id));
        }
        self.unlink(id);
        // Only now, with the interface gone from the list: if it was lo0, the loopback
        // routes of the others go with it.
        if refresh {
            self.refresh_routes(vnet);
        }
    }

    /// Destroy a clone, with its epair peer wherever that is (`epair_clone_destroy`), and
    /// give its unit back to the cloner of its home vnet.
    pub(super) fn destroy(&mut self, id: IfId) {
        let iface = self.iface(id);
        let (home, dname, dunit, cloned) =
            (iface.home, iface.dname.clone(), iface.dunit, iface.cloned);
        for gone in [Some(id), iface.peer].into_iter().flatten() {
            if !self.ifaces.contains_key(&gone) {
                continue;
            }
            self.leave_vnet(gone);
            self.ifaces.remove(&gone);
        }
        if cloned {
            if let Some(units) = self
                .vnets
                .get_mut(&home)
                .and_then(|v| v.units.get_mut(&dname))
            {
                units.remove(dunit);
            }
        }
    }
}
