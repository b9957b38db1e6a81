//! Interface addresses: SIOCAIFADDR/SIOCDIFADDR (`sys/netinet/in.c`) and
//! SIOCAIFADDR_IN6/SIOCDIFADDR_IN6 (`sys/netinet6/in6.c`).

use super::{errno, ifr_name, IfId, In6Addr, InAddr};
use crate::fault::Op;
use crate::jail::VnetId;
use crate::machine::Machine;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use zelle_core::kernel::net::{Inet6Alias, InetAlias};
use zelle_core::kernel::{Errno, IfFlags, KResult, Vnet};

/// The classful mask in_aifaddr_ioctl guesses when the request has none (and says so on the
/// console): class A /8, class B /16, anything else /24.
fn classful_mask(addr: Ipv4Addr) -> u32 {
    let a = u32::from(addr);
    if a & 0x8000_0000 == 0 {
        0xff00_0000
    } else if a & 0xc000_0000 == 0x8000_0000 {
        0xffff_0000
    } else {
        0xffff_ff00
    }
}

/// `in6_mask2len`: the length of a contiguous mask, `None` for a non-contiguous one.
fn in6_mask2len(mask: Ipv6Addr) -> Option<u8> {
    let bits = u128::from(mask);
    let len = bits.leading_ones();
    let contiguous = u128::MAX.checked_shl(128 - len).unwrap_or(0);
    (bits == contiguous).then_some(len as u8)
}

impl Machine {
    /// The interface a SIOCAIFADDR-like request names, with the ioctl's privilege check
    /// (ifioctl finds the interface first: ENXIO, then the request checks PRIV_NET_*IFADDR).
    fn addr_target(&self, op: Op, vnet: Vnet, name: &str) -> KResult<(VnetId, IfId)> {
        let name = ifr_name(op, name)?;
        let caller = self.net_caller(vnet)?;
        let id = self.net_ifunit(op, caller.vnet, name)?;
        Self::require_net_priv(op, &caller)?;
        Ok((caller.vnet, id))
    }

    /// SIOCAIFADDR (`in_aifaddr_ioctl`) [14].
    pub(crate) fn in_aifaddr(&mut self, vnet: Vnet, name: &str, alias: &InetAlias) -> KResult<()> {
        let op = Op::AddInetAlias;
        let (v, id) = self.addr_target(op, vnet, name)?;
        let flags = self.net.iface(id).flags;
        // A point-to-point interface needs a destination (ifra_dstaddr shares ifra_broadaddr).
        let p2p = flags.contains(IfFlags::POINTOPOINT);
        if p2p && alias.dest.is_none_or(|d| d.is_unspecified()) {
            return Err(errno(op, Errno::EDESTADDRREQ));
        }
        self.check_inet_vhid(op, alias.vhid)?;
        // Everything is checked: a failed call changes nothing. (With carp loaded the real
        // kernel fails the vhid only after it has already removed an identical existing address
        // below; the simulator refuses up front instead.)
        let mask = alias
            .mask
            .map_or_else(|| classful_mask(alias.addr), u32::from);
        let broadcast = if flags.contains(IfFlags::BROADCAST) {
            Some(match alias.dest {
                Some(dest) => dest,
                // RFC 3021: a /31 has no subnet broadcast.
                None if mask == 0xffff_fffe => Ipv4Addr::BROADCAST,
                None => Ipv4Addr::from(u32::from(alias.addr) & mask | !mask),
            })
        } else if p2p {
            alias.dest
        } else {
            None
        };
        // The same address already on this interface is deleted and added again (no EEXIST);
        // the same address or prefix on another interface is fine (in_addprefix shares the
        // prefix route; net.inet.ip.no_same_prefix, which would make it EEXIST, is off).
        self.remove_inet(v, id, alias.addr);
        let iface = self.net.iface_mut(id);
        iface.inet.push(InAddr {
            addr: alias.addr,
            mask: Ipv4Addr::from(mask),
            broadcast,
        });
        // ether_ioctl/lo_ioctl SIOCSIFADDR bring the interface up. UNCONFIRMED (ether_ioctl
        // not re-read).
        iface.bring_up_for_address();
        self.net.refresh_routes(v);
        Ok(())
    }

    /// The vhid rules of SIOCAIFADDR (FACTS.md §1; in.c `in_aifaddr_ioctl`; PR #530).
    fn check_inet_vhid(&mut self, op: Op, vhid: i32) -> KResult<()> {
        if vhid == 0 {
            return Ok(());
        }
        // carp_attach: no interface here has carp configured (`if_carp == NULL`).
        if self.host.has_module("carp") {
            return Err(errno(op, Errno::ENOPROTOOPT));
        }
        // Fixed kernels guard with `vhid != 0 && carp_attach_p == NULL`. 13.0 guarded with
        // `vhid > 0 && carp_attach_p == NULL` but then called `(*carp_attach_p)(ifa, vhid)` for
        // any `vhid != 0`: a negative vhid without carp calls a NULL pointer (read in the
        // pre-fix in.c: the guard is `vhid > 0`).
        if self.release().vhid_fixed() || vhid > 0 {
            return Err(errno(op, Errno::EPROTONOSUPPORT));
        }
        Err(self.panic(
            op,
            format!(
                "Fatal trap 12: page fault while in kernel mode: \
                 in_aifaddr_ioctl called carp_attach_p (NULL) for vhid {vhid}"
            ),
        ))
    }

    /// Remove an IPv4 address if the interface has it, with what hangs off it
    /// (`in_difaddr_ioctl`: `in_scrubprefix`, `in_ifadown`). Whether it was there.
    fn remove_inet(&mut self, v: VnetId, id: IfId, addr: Ipv4Addr) -> bool {
        let iface = self.net.iface_mut(id);
        let Some(at) = iface.inet.iter().position(|a| a.addr == addr) else {
            return false;
        };
        iface.inet.remove(at);
        self.net.drop_routes_via(v, id, IpAddr::V4(addr));
        self.net.refresh_routes(v);
        true
    }

    /// SIOCDIFADDR (`in_difaddr_ioctl`) [14]: EADDRNOTAVAIL when the interface lacks it.
    pub(crate) fn in_difaddr(&mut self, vnet: Vnet, name: &str, addr: Ipv4Addr) -> KResult<()> {
        let op = Op::DeleteInetAlias;
        let (v, id) = self.addr_target(op, vnet, name)?;
        if self.remove_inet(v, id, addr) {
            Ok(())
        } else {
            Err(errno(op, Errno::EADDRNOTAVAIL))
        }
    }

    /// SIOCAIFADDR_IN6 (`in6_control` → `in6_update_ifa` → `in6_validate_ifra`) [14].
    pub(crate) fn in6_aifaddr(
        &mut self,
        vnet: Vnet,
        name: &str,
        alias: &Inet6Alias,
    ) -> KResult<()> {
        let op = Op::AddInet6Alias;
        let (v, id) = self.addr_target(op, vnet, name)?;
        let iface = self.net.iface(id);
        let existing = iface.inet6.iter().position(|a| a.addr == alias.addr);
        // A new address needs a prefix mask, and any mask given must be contiguous and
        // non-empty.
        let prefix_len = match (alias.prefixmask, existing) {
            (None, None) => return Err(errno(op, Errno::EINVAL)),
            (None, Some(at)) => iface.inet6[at].prefix_len,
            (Some(mask), _) => match in6_mask2len(mask) {
                Some(len) if len > 0 => len,
                _ => return Err(errno(op, Errno::EINVAL)),
            },
        };
        // A destination only on a point-to-point or loopback interface, and only with /128.
        if alias.dstaddr.is_some() {
            let p2p_or_lo = iface.flags.contains(IfFlags::POINTOPOINT)
                || iface.flags.contains(IfFlags::LOOPBACK);
            if !p2p_or_lo || prefix_len != 128 {
                return Err(errno(op, Errno::EINVAL));
            }
        }
        if alias.pltime > alias.vltime {
            return Err(errno(op, Errno::EINVAL));
        }
        // The prefix length of an existing address cannot change.
        if let (Some(at), Some(_)) = (existing, alias.prefixmask) {
            if iface.inet6[at].prefix_len != prefix_len {
                return Err(errno(op, Errno::EINVAL));
            }
        }
        // vhid: in6.c checks it in in6_control's SIOCAIFADDR_IN6 case, after in6_update_ifa
        // has configured the address: `if (cmd == ocmd && ifra->ifra_vhid > 0)` then carp_attach
        // or EPROTONOSUPPORT. So a negative vhid is ignored in both profiles and never reaches
        // a NULL carp_attach_p. The real kernel leaves the address configured (without its
        // prefix route) when this fails; the simulator refuses up front and changes nothing.
        if alias.vhid > 0 {
            let errno_ = if self.host.has_module("carp") {
                Errno::ENOPROTOOPT
            } else {
                Errno::EPROTONOSUPPORT
            };
            return Err(errno(op, errno_));
        }
        let entry = In6Addr {
            addr: alias.addr,
            prefix_len,
            flags: alias.flags,
            // vltime 0 is accepted: the address is created already expired, for the nd6
            // timer to reap. UNCONFIRMED timing; the reaping is not modelled.
            vltime: alias.vltime,
            pltime: alias.pltime,
        };
        let iface = self.net.iface_mut(id);
        match existing {
            Some(at) => iface.inet6[at] = entry,
            None => {
                iface.inet6.push(entry);
                // in6_ifinit's SIOCSIFADDR to the driver brings it up, as for IPv4.
                iface.bring_up_for_address();
            }
        }
        // A prefix shorter than 128 is made on-link (nd6_prelist_add) with its route.
        self.net.refresh_routes(v);
        Ok(())
    }

    /// SIOCDIFADDR_IN6 [14]: EADDRNOTAVAIL when the interface lacks it.
    pub(crate) fn in6_difaddr(&mut self, vnet: Vnet, name: &str, addr: Ipv6Addr) -> KResult<()> {
        let op = Op::DeleteInet6Alias;
        let (v, id) = self.addr_target(op, vnet, name)?;
        let iface = self.net.iface_mut(id);
        let at = iface
            .inet6
            .iter()
            .position(|a| a.addr == addr)
            .ok_or_else(|| errno(op, Errno::EADDRNOTAVAIL))?;
        iface.inet6.remove(at);
        self.net.drop_routes_via(v, id, IpAddr::V6(addr));
        self.net.refresh_routes(v);
        Ok(())
    }
}
