//! Interface requests through the door: the ifreq, in_aliasreq, in6_aliasreq, in6_ifreq and
//! ifdrv ioctls of a datagram socket (`sys/net/if.c` `ifioctl`/`ifhwioctl`, `if_clone.c`,
//! `if_bridge.c` `bridge_ioctl`, `netinet/in.c` `in_control`, `netinet6/in6.c` `in6_control`),
//! and getifaddrs(3).

use super::{copyin, copyin_arg, copyout, errno_of, field_str, set_field, SimSyscalls};
use crate::fault::Op;
use crate::machine::Machine;
use core::ffi::{c_char, c_void};
use core::mem::size_of;
use std::net::{Ipv4Addr, Ipv6Addr};
use zelle_core::kernel::net::{Inet6Alias, InetAlias};
use zelle_core::kernel::{Errno, IfFlags, Jid, Vnet};
use zelle_freebsd::syscalls::consts::{IFT_BRIDGE, IFT_ETHER, IFT_LOOP};
use zelle_freebsd::IfAddr;
use zelle_sys::ioctl::{self, number, RawRequest};
use zelle_sys::{
    as_bytes, ifbifconf, ifbreq, ifdrv, ifreq, in6_aliasreq, in_aliasreq, sockaddr_dl, sockaddr_in,
    sockaddr_in6, zeroed, AF_INET, AF_INET6, AF_LINK, BRDGADD, BRDGDEL, BRDGGIFS, IFNAMSIZ,
};

// The sockaddr readers and builders below say again what the backend's sockaddr.rs says, on
// purpose: the door is an independent reading of the kernel ABI, and sharing the backend's
// code would check the backend against itself.

/// The address of a well-formed `sockaddr_in` (`sin_len` 16, AF_INET), else `None`.
pub(super) fn sin_addr(sa: &sockaddr_in) -> Option<Ipv4Addr> {
    let ok =
        usize::from(sa.sin_len) == size_of::<sockaddr_in>() && u32::from(sa.sin_family) == AF_INET;
    ok.then(|| Ipv4Addr::from(sa.sin_addr.s_addr.to_ne_bytes()))
}

/// The address of a well-formed `sockaddr_in6` (`sin6_len` 28, AF_INET6), else `None`.
pub(super) fn sin6_addr(sa: &sockaddr_in6) -> Option<Ipv6Addr> {
    let ok = usize::from(sa.sin6_len) == size_of::<sockaddr_in6>()
        && u32::from(sa.sin6_family) == AF_INET6;
    // SAFETY: every byte pattern is a valid [u8; 16].
    ok.then(|| Ipv6Addr::from(unsafe { sa.sin6_addr.__u6_addr.__u6_addr8 }))
}

pub(super) fn sin_of(addr: Ipv4Addr) -> sockaddr_in {
    let mut sa: sockaddr_in = zeroed();
    sa.sin_len = size_of::<sockaddr_in>() as u8;
    sa.sin_family = AF_INET as u8;
    sa.sin_addr.s_addr = u32::from_ne_bytes(addr.octets());
    sa
}

pub(super) fn sin6_of(addr: Ipv6Addr) -> sockaddr_in6 {
    let mut sa: sockaddr_in6 = zeroed();
    sa.sin6_len = size_of::<sockaddr_in6>() as u8;
    sa.sin6_family = AF_INET6 as u8;
    sa.sin6_addr.__u6_addr.__u6_addr8 = addr.octets();
    sa
}

/// The link-level address getifaddrs and routing messages give an interface: its index (the
/// machine's interface id, `link#N` in netstat), its type and, when `named`, its name.
pub(super) fn link_of(m: &Machine, vnet: Vnet, name: &str, named: bool) -> Option<sockaddr_dl> {
    let caller = m.net_caller(vnet).ok()?;
    let id = m.net.lookup(caller.vnet, name)?;
    let mut sdl: sockaddr_dl = zeroed();
    sdl.sdl_len = size_of::<sockaddr_dl>() as u8;
    sdl.sdl_family = AF_LINK as u8;
    sdl.sdl_index = u16::try_from(id).unwrap_or(0);
    sdl.sdl_type = match m.net.iface(id).dname.as_str() {
        "bridge" => IFT_BRIDGE,
        "lo" => IFT_LOOP,
        _ => IFT_ETHER,
    };
    if named {
        set_field(&mut sdl.sdl_data, name);
        sdl.sdl_nlen = name.len().min(IFNAMSIZ as usize - 1) as u8;
    }
    Some(sdl)
}

/// The name of the interface with link index `index` in the caller's vnet.
pub(super) fn name_of_index(m: &Machine, vnet: Vnet, index: u16) -> Option<String> {
    let caller = m.net_caller(vnet).ok()?;
    let iface = m.net.ifaces.get(&u64::from(index))?;
    (iface.vnet == caller.vnet).then(|| iface.name.clone())
}

/// copyinstr(9) of an interface name of at most IFNAMSIZ bytes with its NUL: ENAMETOOLONG
/// when no NUL comes in time (ifhwioctl's SIOCSIFNAME).
///
/// # Safety
/// A non-null `addr` points at readable bytes up to a NUL or IFNAMSIZ of them.
unsafe fn copyinstr_name(addr: *const c_char) -> Result<String, Errno> {
    if addr.is_null() {
        return Err(Errno::EFAULT);
    }
    let mut bytes = Vec::new();
    for i in 0..IFNAMSIZ as usize {
        // SAFETY: the caller's promise; reading stops at the first NUL.
        let b = unsafe { addr.add(i).read() } as u8;
        if b == 0 {
            return Ok(String::from_utf8_lossy(&bytes).into_owned());
        }
        bytes.push(b);
    }
    Err(Errno::ENAMETOOLONG)
}

fn flags_of(req: &ifreq) -> IfFlags {
    // SAFETY: every byte pattern is a valid [c_short; 2].
    let [low, high] = unsafe { req.ifr_ifru.ifru_flags };
    IfFlags(u32::from(low as u16) | (u32::from(high as u16) << 16))
}

/// An ioctl on a datagram socket of `domain`, in `vnet`.
///
/// # Safety
/// `arg` points at the struct `request` names, its inner pointers at what they say.
pub(super) unsafe fn ioctl(
    door: &SimSyscalls,
    vnet: Vnet,
    domain: u32,
    request: RawRequest,
    arg: *mut c_void,
) -> Result<(), Errno> {
    // Address requests go to the protocol of the socket (`pru_control`): IPv4 ones need an
    // AF_INET socket, IPv6 ones an AF_INET6 socket (UNCONFIRMED errno for the wrong one).
    let family = match request {
        number::SIOCAIFADDR | number::SIOCDIFADDR => Some(AF_INET),
        number::SIOCAIFADDR_IN6 | number::SIOCDIFADDR_IN6 => Some(AF_INET6),
        _ => None,
    };
    if family.is_some_and(|f| f != domain) {
        return Err(Errno::EOPNOTSUPP);
    }
    // SAFETY (every copyin/copyout below): the caller's promise about `arg`.
    match request {
        number::SIOCIFCREATE2 => {
            let mut req = unsafe { copyin_arg(ioctl::SIOCIFCREATE2, arg)? };
            let name = field_str(&req.ifr_name);
            let made = door.call(Op::CreateInterface, &(vnet, name.as_str()), |m| {
                m.if_clone_create(vnet, &name)
            })?;
            // The cloner writes the name it made back (ifc_simple_create, epair: the a end).
            set_field(&mut req.ifr_name, &made);
            unsafe { copyout(&req, arg) }
        }
        number::SIOCIFDESTROY => {
            let req = unsafe { copyin_arg(ioctl::SIOCIFDESTROY, arg)? };
            let name = field_str(&req.ifr_name);
            door.call(Op::DestroyInterface, &(vnet, name.as_str()), |m| {
                m.if_clone_destroy(vnet, &name)
            })
        }
        number::SIOCSIFNAME => {
            let req = unsafe { copyin_arg(ioctl::SIOCSIFNAME, arg)? };
            let name = field_str(&req.ifr_name);
            // SAFETY: ifr_data points at the new name (the caller's promise).
            let new = unsafe { copyinstr_name(req.ifr_ifru.ifru_data)? };
            door.call(
                Op::RenameInterface,
                &(vnet, name.as_str(), new.as_str()),
                |m| m.if_rename(vnet, &name, &new),
            )
        }
        number::SIOCGIFFLAGS => {
            let mut req = unsafe { copyin_arg(ioctl::SIOCGIFFLAGS, arg)? };
            let name = field_str(&req.ifr_name);
            let flags = door.call(Op::InterfaceFlags, &(vnet, name.as_str()), |m| {
                m.if_get_flags(vnet, &name)
            })?;
            req.ifr_ifru.ifru_flags = [flags.0 as u16 as i16, (flags.0 >> 16) as u16 as i16];
            unsafe { copyout(&req, arg) }
        }
        number::SIOCSIFFLAGS => {
            let req = unsafe { copyin_arg(ioctl::SIOCSIFFLAGS, arg)? };
            let name = field_str(&req.ifr_name);
            let flags = flags_of(&req);
            door.call(Op::SetInterfaceFlags, &(vnet, name.as_str(), flags), |m| {
                m.if_set_flags(vnet, &name, flags)
            })
        }
        number::SIOCSIFMTU => {
            let req = unsafe { copyin_arg(ioctl::SIOCSIFMTU, arg)? };
            let name = field_str(&req.ifr_name);
            // SAFETY: every byte pattern is a valid c_int; a negative one is a huge u32,
            // refused as out of range like the kernel refuses the negative int.
            let mtu = unsafe { req.ifr_ifru.ifru_mtu } as u32;
            door.call(Op::SetMtu, &(vnet, name.as_str(), mtu), |m| {
                m.if_set_mtu(vnet, &name, mtu)
            })
        }
        number::SIOCGIFMTU => {
            let mut req = unsafe { copyin_arg(ioctl::SIOCGIFMTU, arg)? };
            let name = field_str(&req.ifr_name);
            let mtu = door.peek(|m| {
                let caller = m.net_caller(vnet).map_err(errno_of)?;
                let id = m.net.lookup(caller.vnet, &name).ok_or(Errno::ENXIO)?;
                Ok(m.net.iface(id).mtu)
            })?;
            req.ifr_ifru.ifru_mtu = mtu as i32;
            unsafe { copyout(&req, arg) }
        }
        number::SIOCAIFADDR => {
            let req = unsafe { copyin_arg(ioctl::SIOCAIFADDR, arg)? };
            let name = field_str(&req.ifra_name);
            let alias = inet_alias(&req)?;
            door.call(Op::AddInetAlias, &(vnet, name.as_str(), &alias), |m| {
                m.in_aifaddr(vnet, &name, &alias)
            })
        }
        number::SIOCDIFADDR => {
            let req = unsafe { copyin_arg(ioctl::SIOCDIFADDR, arg)? };
            let name = field_str(&req.ifr_name);
            // SAFETY: ifr_addr is a 16-byte sockaddr, the size of a sockaddr_in.
            let sa: sockaddr_in =
                zelle_sys::from_bytes(as_bytes(unsafe { &req.ifr_ifru.ifru_addr }))
                    .unwrap_or_else(zeroed);
            // in_difaddr_ioctl: an absent or malformed address means the first one.
            let addr = match sin_addr(&sa) {
                Some(addr) => addr,
                None => door.peek(|m| {
                    let caller = m.net_caller(vnet).map_err(errno_of)?;
                    let id = m.net.lookup(caller.vnet, &name).ok_or(Errno::ENXIO)?;
                    Ok(m.net
                        .iface(id)
                        .inet
                        .first()
                        .map_or(Ipv4Addr::UNSPECIFIED, |a| a.addr))
                })?,
            };
            door.call(Op::DeleteInetAlias, &(vnet, name.as_str(), addr), |m| {
                m.in_difaddr(vnet, &name, addr)
            })
        }
        number::SIOCAIFADDR_IN6 => {
            let req = unsafe { copyin_arg(ioctl::SIOCAIFADDR_IN6, arg)? };
            let name = field_str(&req.ifra_name);
            let alias = inet6_alias(&req)?;
            door.call(Op::AddInet6Alias, &(vnet, name.as_str(), &alias), |m| {
                m.in6_aifaddr(vnet, &name, &alias)
            })
        }
        number::SIOCDIFADDR_IN6 => {
            let req = unsafe { copyin_arg(ioctl::SIOCDIFADDR_IN6, arg)? };
            let name = field_str(&req.ifr_name);
            // SAFETY: every byte pattern is a valid sockaddr_in6.
            let sa = unsafe { req.ifr_ifru.ifru_addr };
            // Not an IPv6 address: no interface has it (EADDRNOTAVAIL from the rule).
            let addr = sin6_addr(&sa).unwrap_or(Ipv6Addr::UNSPECIFIED);
            door.call(Op::DeleteInet6Alias, &(vnet, name.as_str(), addr), |m| {
                m.in6_difaddr(vnet, &name, addr)
            })
        }
        number::SIOCSDRVSPEC | number::SIOCGDRVSPEC => {
            let drv = unsafe { copyin_arg(ioctl::SIOCSDRVSPEC, arg)? };
            // SAFETY: ifd_data points at ifd_len bytes (the caller's promise).
            unsafe { drvspec(door, vnet, request == number::SIOCGDRVSPEC, &drv) }
        }
        number::SIOCSIFVNET | number::SIOCSIFRVNET => {
            let req = unsafe { copyin_arg(ioctl::SIOCSIFVNET, arg)? };
            let name = field_str(&req.ifr_name);
            // SAFETY: every byte pattern is a valid c_int.
            let jid = Jid(unsafe { req.ifr_ifru.ifru_jid });
            if request == number::SIOCSIFVNET {
                door.call(Op::MoveToJail, &(vnet, name.as_str(), jid), |m| {
                    m.if_vmove_loan(vnet, &name, jid)
                })
            } else {
                door.call(Op::ReclaimFromJail, &(vnet, name.as_str(), jid), |m| {
                    m.if_vmove_reclaim(vnet, &name, jid)
                })
            }
        }
        _ => Err(Errno::ENOTTY),
    }
}

/// An `in_aliasreq` as `in_aifaddr_ioctl` reads it [14]: the address must be a sockaddr_in;
/// the broadcast (or destination) and mask are optional (`sin_len` 0) but, when present, must
/// be sockaddr_in too (EINVAL); the vhid is taken as it is.
fn inet_alias(req: &in_aliasreq) -> Result<InetAlias, Errno> {
    let optional = |sa: &sockaddr_in| match sa.sin_len {
        0 => Ok(None),
        _ => sin_addr(sa).map(Some).ok_or(Errno::EINVAL),
    };
    Ok(InetAlias {
        addr: sin_addr(&req.ifra_addr).ok_or(Errno::EINVAL)?,
        mask: optional(&req.ifra_mask)?,
        dest: optional(&req.ifra_broadaddr)?,
        vhid: req.ifra_vhid,
    })
}

/// An `in6_aliasreq` as `in6_validate_ifra` reads it [14]: an address that is not a
/// sockaddr_in6 is EAFNOSUPPORT; an empty prefix mask or destination is none; a present one of
/// another length is EINVAL.
fn inet6_alias(req: &in6_aliasreq) -> Result<Inet6Alias, Errno> {
    let optional = |sa: &sockaddr_in6| match sa.sin6_len {
        0 => Ok(None),
        _ => sin6_addr(sa).map(Some).ok_or(Errno::EINVAL),
    };
    Ok(Inet6Alias {
        addr: sin6_addr(&req.ifra_addr).ok_or(Errno::EAFNOSUPPORT)?,
        dstaddr: optional(&req.ifra_broadaddr)?,
        prefixmask: optional(&req.ifra_prefixmask)?,
        flags: req.ifra_flags as u32,
        vltime: req.ifra_lifetime.ia6t_vltime,
        pltime: req.ifra_lifetime.ia6t_pltime,
        vhid: req.ifra_vhid,
    })
}

/// SIOCSDRVSPEC/SIOCGDRVSPEC to a bridge (`bridge_ioctl`) [13]: the command must be one the
/// door models, in the direction it copies (BRDGADD and BRDGDEL copy in: SIOCSDRVSPEC;
/// BRDGGIFS copies out: SIOCGDRVSPEC), and `ifd_len` the size of its argument; else EINVAL.
///
/// # Safety
/// `drv.ifd_data` points at `drv.ifd_len` bytes.
unsafe fn drvspec(door: &SimSyscalls, vnet: Vnet, get: bool, drv: &ifdrv) -> Result<(), Errno> {
    let bridge = field_str(&drv.ifd_name);
    let cmd = u32::try_from(drv.ifd_cmd).map_err(|_| Errno::EINVAL)?;
    match (cmd, get) {
        (BRDGADD | BRDGDEL, false) => {
            if drv.ifd_len != size_of::<ifbreq>() {
                return Err(Errno::EINVAL);
            }
            // SAFETY: the caller's promise.
            let breq: ifbreq = unsafe { copyin(drv.ifd_data)? };
            let member = field_str(&breq.ifbr_ifsname);
            let args = (vnet, bridge.as_str(), member.as_str());
            if cmd == BRDGADD {
                door.call(Op::BridgeAddMember, &args, |m| {
                    m.bridge_add(vnet, &bridge, &member)
                })
            } else {
                door.call(Op::BridgeDeleteMember, &args, |m| {
                    m.bridge_del(vnet, &bridge, &member)
                })
            }
        }
        (BRDGGIFS, true) => {
            if drv.ifd_len != size_of::<ifbifconf>() {
                return Err(Errno::EINVAL);
            }
            // SAFETY: the caller's promise.
            let mut conf: ifbifconf = unsafe { copyin(drv.ifd_data)? };
            let members = door.peek(|m| members(m, vnet, &bridge))?;
            let needed = members.len() * size_of::<ifbreq>();
            // bridge_ioctl_gifs: a zero length asks for the size; otherwise fill what fits
            // and report the length used.
            if conf.ifbic_len != 0 {
                let room = conf.ifbic_len as usize / size_of::<ifbreq>();
                let mut out = Vec::new();
                for name in members.iter().take(room) {
                    let mut breq: ifbreq = zeroed();
                    set_field(&mut breq.ifbr_ifsname, name);
                    out.extend_from_slice(as_bytes(&breq));
                }
                // SAFETY: ifbic_req points at ifbic_len bytes (the caller's promise).
                unsafe { super::copyout_bytes(&out, conf.ifbic_ifbicu.ifbicu_req.cast())? };
                conf.ifbic_len = out.len() as u32;
            } else {
                conf.ifbic_len = u32::try_from(needed).map_err(|_| Errno::ENOMEM)?;
            }
            // SAFETY: the caller's promise.
            unsafe { copyout(&conf, drv.ifd_data) }
        }
        (BRDGADD | BRDGDEL | BRDGGIFS, _) => Err(Errno::EINVAL),
        // Other bridge commands exist in the kernel; the door does not model them.
        _ => Err(Errno::EOPNOTSUPP),
    }
}

/// A bridge's member names: ENXIO without such an interface, EINVAL when it is no bridge.
fn members(m: &Machine, vnet: Vnet, bridge: &str) -> Result<Vec<String>, Errno> {
    let caller = m.net_caller(vnet).map_err(errno_of)?;
    let id = m.net.lookup(caller.vnet, bridge).ok_or(Errno::ENXIO)?;
    let iface = m.net.iface(id);
    if iface.dname != "bridge" {
        return Err(Errno::EINVAL);
    }
    Ok(iface
        .members
        .iter()
        .map(|&m_| m.net.iface(m_).name.clone())
        .collect())
}

fn mask_v4(prefix: u8) -> Ipv4Addr {
    Ipv4Addr::from(
        u32::MAX
            .checked_shl(32 - u32::from(prefix.min(32)))
            .unwrap_or(0),
    )
}

fn mask_v6(prefix: u8) -> Ipv6Addr {
    Ipv6Addr::from(
        u128::MAX
            .checked_shl(128 - u32::from(prefix.min(128)))
            .unwrap_or(0),
    )
}

/// getifaddrs(3): per interface its link address, then its IPv4 and IPv6 addresses with their
/// masks, in the vnet's interface order (sysctl NET_RT_IFLIST, `sysctl_iflist`).
pub(super) fn getifaddrs(door: &SimSyscalls, vnet: Vnet) -> Result<Vec<IfAddr>, Errno> {
    let list = door.call(Op::ListInterfaces, &vnet, |m| m.if_list(vnet))?;
    let links = door.peek(|m| {
        Ok(list
            .iter()
            .map(|i| link_of(m, vnet, &i.name, true))
            .collect::<Vec<_>>())
    })?;
    let mut out = Vec::new();
    for (iface, link) in list.iter().zip(links) {
        let entry = |addr: Vec<u8>, netmask: Option<Vec<u8>>| IfAddr {
            name: iface.name.clone(),
            flags: iface.flags.0,
            addr: Some(addr),
            netmask,
            dstaddr: None,
        };
        if let Some(sdl) = link {
            out.push(entry(as_bytes(&sdl).to_vec(), None));
        }
        for &(addr, prefix) in &iface.inet {
            let mask = as_bytes(&sin_of(mask_v4(prefix))).to_vec();
            out.push(entry(as_bytes(&sin_of(addr)).to_vec(), Some(mask)));
        }
        for &(addr, prefix) in &iface.inet6 {
            let mask = as_bytes(&sin6_of(mask_v6(prefix))).to_vec();
            out.push(entry(as_bytes(&sin6_of(addr)).to_vec(), Some(mask)));
        }
    }
    Ok(out)
}
