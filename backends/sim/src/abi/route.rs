//! Routing messages through the door: RTM_ADD and RTM_DELETE written to a routing socket
//! (`sys/net/rtsock.c`, `route_output`, `rt_xaddrs`), and the NET_RT_DUMP table dump
//! (`sysctl_rtsock`, `sysctl_dumpentry`) [13].

use super::net::{link_of, name_of_index, sin6_addr, sin6_of, sin_addr, sin_of};
use super::SimSyscalls;
use crate::fault::Op;
use core::mem::size_of;
use ipnet::IpNet;
use std::net::IpAddr;
use zelle_core::kernel::net::{Gateway, Route, RouteEntry};
use zelle_core::kernel::{Errno, Vnet};
use zelle_sys::{
    as_bytes, from_bytes, rt_msghdr, sockaddr_dl, sockaddr_in, sockaddr_in6, zeroed, AF_INET,
    AF_INET6, AF_LINK, RTAX_DST, RTAX_GATEWAY, RTAX_MAX, RTAX_NETMASK, RTA_DST, RTA_GATEWAY,
    RTA_IFP, RTA_NETMASK, RTF_GATEWAY, RTF_HOST, RTF_PINNED, RTF_STATIC, RTF_UP, RTM_ADD,
    RTM_DELETE, RTM_GET, RTM_VERSION,
};

/// `SA_SIZE` (`net/route.h`): a sockaddr's room, its length rounded up to a long (a long for
/// an empty one).
fn sa_size(len: usize) -> usize {
    const LONG: usize = size_of::<core::ffi::c_long>();
    if len == 0 {
        LONG
    } else {
        1 + ((len - 1) | (LONG - 1))
    }
}

/// `rt_xaddrs`: the sockaddrs `rtm_addrs` names, in RTAX order; one running past the end of
/// the message is EINVAL.
fn xaddrs(bits: i32, mut body: &[u8]) -> Result<[Option<Vec<u8>>; RTAX_MAX as usize], Errno> {
    let mut out: [Option<Vec<u8>>; RTAX_MAX as usize] = Default::default();
    for (i, slot) in out.iter_mut().enumerate() {
        if bits & (1 << i) == 0 {
            continue;
        }
        let len = usize::from(*body.first().ok_or(Errno::EINVAL)?);
        if len > body.len() {
            return Err(Errno::EINVAL);
        }
        *slot = Some(body[..len].to_vec());
        body = &body[sa_size(len).min(body.len())..];
    }
    Ok(out)
}

/// A sockaddr's bytes as the struct `T`, missing bytes zero.
fn padded<T: zelle_sys::Zeroed>(bytes: &[u8]) -> T {
    let mut buf = vec![0u8; size_of::<T>()];
    let n = bytes.len().min(buf.len());
    buf[..n].copy_from_slice(&bytes[..n]);
    from_bytes(&buf).unwrap_or_else(zeroed)
}

fn ip_of(sa: &[u8]) -> Option<IpAddr> {
    match u32::from(*sa.get(1)?) {
        AF_INET => sin_addr(&padded::<sockaddr_in>(sa)).map(IpAddr::V4),
        AF_INET6 => sin6_addr(&padded::<sockaddr_in6>(sa)).map(IpAddr::V6),
        _ => None,
    }
}

/// The prefix length of a netmask for a destination like `dst`; a mask whose ones are not
/// contiguous has no prefix the machine can hold (UNCONFIRMED: the kernel takes it).
fn prefix_of(mask: &[u8], dst: IpAddr) -> Option<u8> {
    let (bits, width) = match dst {
        IpAddr::V4(_) => {
            let sa: sockaddr_in = padded(mask);
            (
                u128::from(u32::from_be_bytes(sa.sin_addr.s_addr.to_ne_bytes())) << 96,
                32,
            )
        }
        IpAddr::V6(_) => {
            let sa: sockaddr_in6 = padded(mask);
            // SAFETY: every byte pattern is a valid [u8; 16].
            (
                u128::from_be_bytes(unsafe { sa.sin6_addr.__u6_addr.__u6_addr8 }),
                128,
            )
        }
    };
    let len = bits.leading_ones();
    let contiguous = u128::MAX.checked_shl(128 - len).unwrap_or(0);
    (bits == contiguous && len <= width).then_some(len as u8)
}

/// The route a message describes, checked as `route_output` and `rib_add_route` check it.
fn route_of(door: &SimSyscalls, vnet: Vnet, rtm: &rt_msghdr, body: &[u8]) -> Result<Route, Errno> {
    let sas = xaddrs(rtm.rtm_addrs, body)?;
    let flags = rtm.rtm_flags as u32;
    let dst = sas[RTAX_DST as usize]
        .as_deref()
        .and_then(ip_of)
        .ok_or(Errno::EINVAL)?;
    let prefix = if flags & RTF_HOST != 0 {
        Some(if dst.is_ipv4() { 32 } else { 128 })
    } else {
        match sas[RTAX_NETMASK as usize].as_deref() {
            Some(mask) => Some(prefix_of(mask, dst).ok_or(Errno::EINVAL)?),
            // No netmask and no RTF_HOST: a delete looks the host route up; an add is EINVAL.
            None if u32::from(rtm.rtm_type) == RTM_DELETE => None,
            None => return Err(Errno::EINVAL),
        }
    };
    let prefix = prefix.unwrap_or(if dst.is_ipv4() { 32 } else { 128 });
    let dest = IpNet::new(dst, prefix).map_err(|_| Errno::EINVAL)?;
    // RTF_GATEWAY without a gateway, or no gateway at all: EINVAL (the door does not look up
    // a delete's gateway for it).
    let gw = sas[RTAX_GATEWAY as usize].as_deref().ok_or(Errno::EINVAL)?;
    let gateway = match u32::from(*gw.get(1).ok_or(Errno::EINVAL)?) {
        AF_INET | AF_INET6 => Gateway::Addr(ip_of(gw).ok_or(Errno::EINVAL)?),
        AF_LINK => {
            // By index, as the kernel finds an AF_LINK gateway; by name when it has none.
            let sdl: sockaddr_dl = padded(gw);
            let nlen = usize::from(sdl.sdl_nlen).min(sdl.sdl_data.len());
            let name = super::field_str(&sdl.sdl_data[..nlen]);
            let named = door.peek(|m| Ok(name_of_index(m, vnet, sdl.sdl_index)))?;
            Gateway::Interface(match (sdl.sdl_index, named) {
                (0, _) | (_, None) => name,
                (_, Some(found)) => found,
            })
        }
        _ => return Err(Errno::EINVAL),
    };
    Ok(Route { dest, gateway })
}

/// A message written to a routing socket of `vnet`; also the copy echoed back to the socket,
/// with `rtm_errno` set.
pub(super) fn write(
    door: &SimSyscalls,
    vnet: Vnet,
    buf: &[u8],
) -> (Result<(), Errno>, Option<Vec<u8>>) {
    let header = size_of::<rt_msghdr>();
    let Some(rtm) = buf.get(..header).and_then(from_bytes::<rt_msghdr>) else {
        return (Err(Errno::EINVAL), None);
    };
    if usize::from(rtm.rtm_msglen) != buf.len() {
        return (Err(Errno::EINVAL), None);
    }
    if u32::from(rtm.rtm_version) != RTM_VERSION {
        return (Err(Errno::EPROTONOSUPPORT), None);
    }
    let result = match u32::from(rtm.rtm_type) {
        kind @ (RTM_ADD | RTM_DELETE) => {
            route_of(door, vnet, &rtm, &buf[header..]).and_then(|route| {
                if kind == RTM_ADD {
                    door.call(Op::AddRoute, &(vnet, &route), |m| m.rtm_add(vnet, &route))
                } else {
                    door.call(Op::DeleteRoute, &(vnet, &route), |m| {
                        m.rtm_delete(vnet, &route)
                    })
                }
            })
        }
        // RTM_GET, RTM_CHANGE and the rest exist; the door does not model them.
        _ => Err(Errno::EOPNOTSUPP),
    };
    let mut echo = rtm;
    echo.rtm_errno = result.err().map_or(0, |e| e.0);
    let mut msg = as_bytes(&echo).to_vec();
    msg.extend_from_slice(&buf[header..]);
    (result, Some(msg))
}

/// One route as `sysctl_dumpentry` writes it: RTM_GET, destination, gateway, netmask (none for
/// a host route) and the interface's link address.
fn dump_entry(door: &SimSyscalls, vnet: Vnet, r: &RouteEntry) -> Result<Vec<u8>, Errno> {
    let host = r.dest.prefix_len() == r.dest.max_prefix_len();
    let mut flags = RTF_UP;
    flags |= if r.pinned { RTF_PINNED } else { RTF_STATIC };
    let mut addrs: Vec<(u32, Vec<u8>)> = vec![(RTA_DST, ip_bytes(r.dest.addr()))];
    let (ifp, gateway) = door.peek(|m| {
        let ifp = link_of(m, vnet, &r.interface, true);
        let gateway = match &r.gateway {
            Gateway::Addr(addr) => Some(ip_bytes(*addr)),
            // A link gateway carries the index only (netstat shows it as link#N).
            Gateway::Interface(name) => {
                link_of(m, vnet, name, false).map(|s| as_bytes(&s).to_vec())
            }
        };
        Ok((ifp, gateway))
    })?;
    if matches!(r.gateway, Gateway::Addr(_)) {
        flags |= RTF_GATEWAY;
    }
    addrs.push((RTA_GATEWAY, gateway.unwrap_or_default()));
    if host {
        flags |= RTF_HOST;
    } else {
        addrs.push((RTA_NETMASK, ip_bytes(r.dest.netmask())));
    }
    let mut rtm: rt_msghdr = zeroed();
    if let Some(sdl) = ifp {
        rtm.rtm_index = sdl.sdl_index;
        addrs.push((RTA_IFP, as_bytes(&sdl).to_vec()));
    }
    let mut body = Vec::new();
    for (bit, sa) in &addrs {
        rtm.rtm_addrs |= *bit as i32;
        let start = body.len();
        body.extend_from_slice(sa);
        body.resize(start + sa_size(sa.len()), 0);
    }
    rtm.rtm_msglen = (size_of::<rt_msghdr>() + body.len()) as u16;
    rtm.rtm_version = RTM_VERSION as u8;
    rtm.rtm_type = RTM_GET as u8;
    rtm.rtm_flags = flags as i32;
    let mut out = as_bytes(&rtm).to_vec();
    out.extend_from_slice(&body);
    Ok(out)
}

fn ip_bytes(addr: IpAddr) -> Vec<u8> {
    match addr {
        IpAddr::V4(a) => as_bytes(&sin_of(a)).to_vec(),
        IpAddr::V6(a) => as_bytes(&sin6_of(a)).to_vec(),
    }
}

/// sysctl `net.route.0.<af>.NET_RT_DUMP.0` in `vnet`: every route of family `af` (0 for all).
/// A size query (no buffer) is the traced call; the read itself is not (see the module docs).
pub(super) fn dump(
    door: &SimSyscalls,
    vnet: Vnet,
    af: i32,
    old: &mut [u8],
) -> Result<usize, Errno> {
    let routes = if old.is_empty() {
        door.call(Op::ListRoutes, &vnet, |m| m.rt_dump(vnet))?
    } else {
        door.peek(|m| m.rt_dump(vnet).map_err(super::errno_of))?
    };
    let mut out = Vec::new();
    for r in &routes {
        let family = if r.dest.addr().is_ipv4() {
            AF_INET
        } else {
            AF_INET6
        };
        if af == 0 || af as u32 == family {
            out.extend(dump_entry(door, vnet, r)?);
        }
    }
    super::host::copy_out_value(&out, old)
}
