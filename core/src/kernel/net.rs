//! Network interfaces and routes: the ifioctl(9) requests and routing-socket messages zelle uses.
//!
//! Every operation names the vnet it runs in. On the real kernel a request for a jail's vnet is
//! made from a child process that has jail_attach()ed to that jail, since ioctls on a socket act
//! in the vnet the socket was created in (`sys/net/if.c`, `ifioctl`: `CURVNET_SET(so->so_vnet)`).

use super::{Jid, KResult};
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// `IFNAMSIZ` (`sys/net/if.h`): an interface name is at most 15 bytes plus its NUL.
pub const IFNAMSIZ: usize = 16;

/// Where a network operation runs: the host's network stack or a VNET jail's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Vnet {
    Host,
    Jail(Jid),
}

/// `ifr_flags`: the `IFF_*` bits of `sys/net/if.h` (the low 16 bits in `ifr_flags`, the high
/// ones in `ifr_flagshigh`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct IfFlags(pub u32);

impl IfFlags {
    pub const UP: IfFlags = IfFlags(0x1);
    pub const BROADCAST: IfFlags = IfFlags(0x2);
    pub const LOOPBACK: IfFlags = IfFlags(0x8);
    pub const POINTOPOINT: IfFlags = IfFlags(0x10);
    pub const DRV_RUNNING: IfFlags = IfFlags(0x40);
    pub const PROMISC: IfFlags = IfFlags(0x100);
    pub const SIMPLEX: IfFlags = IfFlags(0x800);
    pub const MULTICAST: IfFlags = IfFlags(0x8000);

    pub fn contains(self, other: IfFlags) -> bool {
        self.0 & other.0 == other.0
    }
    pub fn with(self, other: IfFlags) -> IfFlags {
        IfFlags(self.0 | other.0)
    }
    pub fn without(self, other: IfFlags) -> IfFlags {
        IfFlags(self.0 & !other.0)
    }
}

/// One IPv4 alias request: every field of `struct in_aliasreq` (`sys/netinet/in_var.h`).
///
/// `vhid` is passed through exactly as given: a non-zero vhid asks for carp(4), and the kernel
/// rules for it (FACTS.md §1, SIOCAIFADDR) are the reason this field is never left to chance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InetAlias {
    pub addr: Ipv4Addr,
    /// `ifra_mask`; `None` leaves the sockaddr empty (the kernel picks a classful mask).
    pub mask: Option<Ipv4Addr>,
    /// `ifra_broadaddr`, or `ifra_dstaddr` on a point-to-point interface (they share storage).
    pub dest: Option<Ipv4Addr>,
    pub vhid: i32,
}

impl InetAlias {
    /// An address with a prefix length and no carp vhid: what zelle asks for.
    pub fn new(addr: Ipv4Addr, prefix_len: u8) -> Self {
        let mask = u32::MAX
            .checked_shl(32 - u32::from(prefix_len.min(32)))
            .unwrap_or(0);
        InetAlias {
            addr,
            mask: Some(Ipv4Addr::from(mask)),
            dest: None,
            vhid: 0,
        }
    }
}

/// `ND6_INFINITE_LIFETIME` (`sys/netinet6/nd6.h`): what ifconfig passes for both lifetimes.
pub const ND6_INFINITE_LIFETIME: u32 = 0xffff_ffff;

/// One IPv6 alias request: every field of `struct in6_aliasreq` (`sys/netinet6/in6_var.h`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inet6Alias {
    pub addr: Ipv6Addr,
    pub dstaddr: Option<Ipv6Addr>,
    /// `ifra_prefixmask`; `None` leaves it empty (sin6_len 0), which a new address may not do.
    pub prefixmask: Option<Ipv6Addr>,
    /// `ifra_flags` (`IN6_IFF_*`).
    pub flags: u32,
    /// `ifra_lifetime.ia6t_vltime` and `ia6t_pltime`, in seconds.
    pub vltime: u32,
    pub pltime: u32,
    pub vhid: i32,
}

impl Inet6Alias {
    /// An address with a prefix length, infinite lifetimes and no carp vhid.
    pub fn new(addr: Ipv6Addr, prefix_len: u8) -> Self {
        let mask = u128::MAX
            .checked_shl(128 - u32::from(prefix_len.min(128)))
            .unwrap_or(0);
        Inet6Alias {
            addr,
            dstaddr: None,
            prefixmask: Some(Ipv6Addr::from(mask)),
            flags: 0,
            vltime: ND6_INFINITE_LIFETIME,
            pltime: ND6_INFINITE_LIFETIME,
            vhid: 0,
        }
    }
}

/// An interface as listed (getifaddrs(3), plus bridge members from `BRDGGIFS`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interface {
    pub name: String,
    pub flags: IfFlags,
    pub mtu: u32,
    pub inet: Vec<(Ipv4Addr, u8)>,
    pub inet6: Vec<(Ipv6Addr, u8)>,
    /// For a bridge, its members in the order they were added.
    pub members: Vec<String>,
}

/// Where a route sends its traffic.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Gateway {
    /// `RTF_GATEWAY` with an address.
    Addr(IpAddr),
    /// A directly connected route through the named interface (an `AF_LINK` gateway).
    Interface(String),
}

/// A routing-socket `RTM_ADD`/`RTM_DELETE` request. A /32 or /128 destination is sent as a
/// host route (`RTF_HOST`, no netmask); anything else carries its netmask.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Route {
    pub dest: IpNet,
    pub gateway: Gateway,
}

impl Route {
    pub fn default_via(gateway: IpAddr) -> Self {
        let dest = match gateway {
            IpAddr::V4(_) => IpNet::V4(Default::default()),
            IpAddr::V6(_) => IpNet::V6(Default::default()),
        };
        Route {
            dest,
            gateway: Gateway::Addr(gateway),
        }
    }
}

/// A route as found in a vnet's tables.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteEntry {
    pub dest: IpNet,
    pub gateway: Gateway,
    /// The interface the route leaves through.
    pub interface: String,
    /// Installed by the kernel for an interface address (`RTF_PINNED`); userland cannot delete it.
    pub pinned: bool,
}

/// Interface requests (`ifioctl`, `if_clone`, `if_bridge`, vnet moves).
pub trait NetworkInterfaces {
    /// `SIOCIFCREATE2`: clone an interface ("epair", "bridge", "epair7", "bridge3"); returns the
    /// name the kernel wrote back (for an epair, the `a` end).
    fn create_interface(&self, vnet: Vnet, name: &str) -> KResult<String>;
    /// `SIOCIFDESTROY`.
    fn destroy_interface(&self, vnet: Vnet, name: &str) -> KResult<()>;
    /// `SIOCSIFNAME`.
    fn rename_interface(&self, vnet: Vnet, name: &str, new_name: &str) -> KResult<()>;
    /// `SIOCGIFFLAGS`.
    fn interface_flags(&self, vnet: Vnet, name: &str) -> KResult<IfFlags>;
    /// `SIOCSIFFLAGS`.
    fn set_interface_flags(&self, vnet: Vnet, name: &str, flags: IfFlags) -> KResult<()>;
    /// `SIOCSIFMTU`.
    fn set_mtu(&self, vnet: Vnet, name: &str, mtu: u32) -> KResult<()>;
    /// `SIOCAIFADDR` with a `struct in_aliasreq`.
    fn add_inet_alias(&self, vnet: Vnet, name: &str, alias: &InetAlias) -> KResult<()>;
    /// `SIOCDIFADDR`.
    fn delete_inet_alias(&self, vnet: Vnet, name: &str, addr: Ipv4Addr) -> KResult<()>;
    /// `SIOCAIFADDR_IN6` with a `struct in6_aliasreq`.
    fn add_inet6_alias(&self, vnet: Vnet, name: &str, alias: &Inet6Alias) -> KResult<()>;
    /// `SIOCDIFADDR_IN6`.
    fn delete_inet6_alias(&self, vnet: Vnet, name: &str, addr: Ipv6Addr) -> KResult<()>;
    /// `SIOCSDRVSPEC` with `BRDGADD`.
    fn bridge_add_member(&self, vnet: Vnet, bridge: &str, member: &str) -> KResult<()>;
    /// `SIOCSDRVSPEC` with `BRDGDEL`.
    fn bridge_delete_member(&self, vnet: Vnet, bridge: &str, member: &str) -> KResult<()>;
    /// `SIOCSIFVNET`: move `name` from `vnet` into the vnet of jail `jid`.
    fn move_to_jail(&self, vnet: Vnet, name: &str, jid: Jid) -> KResult<()>;
    /// `SIOCSIFRVNET`: take `name` back from jail `jid` into `vnet`.
    fn reclaim_from_jail(&self, vnet: Vnet, name: &str, jid: Jid) -> KResult<()>;
    /// Every interface in `vnet`, in creation order.
    fn list_interfaces(&self, vnet: Vnet) -> KResult<Vec<Interface>>;
    /// Run `work`, exactly once, with the calls it makes for `Vnet::Jail(jid)` (interfaces and
    /// routes, from any thread) served by one process attached to the jail: on the real kernel
    /// a child forked and jail_attach()ed once, instead of one child per call. The calls behave
    /// as they would without a session; other vnets are not affected.
    ///
    /// The result says whether the session could start. When it could not (jail_attach(2)'s
    /// EINVAL for a missing or dying jail, a failed fork), `work` still runs and each call
    /// forks its own child and reports its own error: callers may ignore the result (see
    /// [`in_vnet_session`]).
    fn vnet_session(&self, jid: Jid, work: &mut dyn FnMut()) -> KResult<()>;
}

/// `f` inside [`NetworkInterfaces::vnet_session`] for `jid`; returns what `f` returns. Whether
/// the session started changes nothing but the number of processes forked.
pub fn in_vnet_session<K: NetworkInterfaces + ?Sized, T>(
    kernel: &K,
    jid: Jid,
    f: impl FnOnce() -> T,
) -> T {
    let mut f = Some(f);
    let mut out = None;
    let _ = kernel.vnet_session(jid, &mut || out = f.take().map(|f| f()));
    // A backend that did not run `work` broke the contract: run it without a session then.
    out.unwrap_or_else(|| f.take().expect("`work` did not run, so `f` is still here")())
}

/// Routing-socket requests (`sys/net/rtsock.c`); tables are per vnet.
pub trait Routes {
    /// `RTM_ADD`.
    fn add_route(&self, vnet: Vnet, route: &Route) -> KResult<()>;
    /// `RTM_DELETE`.
    fn delete_route(&self, vnet: Vnet, route: &Route) -> KResult<()>;
    /// The vnet's routing tables (sysctl `NET_RT_DUMP`).
    fn list_routes(&self, vnet: Vnet) -> KResult<Vec<RouteEntry>>;
}
