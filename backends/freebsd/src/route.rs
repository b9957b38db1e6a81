//! Routes: RTM_ADD and RTM_DELETE messages written to a routing socket (`sys/net/rtsock.c`,
//! `route_output`), and the table read with sysctl `net.route.0.0.NET_RT_DUMP`
//! (`sysctl_rtsock`, `sysctl_dumpentry`).
//!
//! A message is a `struct rt_msghdr` followed by the sockaddrs its `rtm_addrs` names, in
//! `RTAX_*` order, each taking `SA_SIZE` bytes (its length rounded up to a long).

use crate::sockaddr::{ip_bytes, ip_of, link_named, link_of, prefix_of, sa_size};
use crate::syscalls::consts::{CTL_NET, NET_RT_DUMP, SOCK_RAW};
use crate::vnet::VnetTask;
use crate::{Descriptor, FreeBsd, Syscalls};
use core::ffi::c_int;
use core::mem::size_of;
use ipnet::IpNet;
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use zelle_core::kernel::net::{Gateway, Route, RouteEntry};
use zelle_core::kernel::Op;
use zelle_core::kernel::{Errno, KResult, Routes, Vnet};
use zelle_sys::{as_bytes, from_bytes, rt_msghdr, zeroed, PF_ROUTE};
use zelle_sys::{RTAX_DST, RTAX_GATEWAY, RTAX_IFP, RTAX_MAX, RTAX_NETMASK};
use zelle_sys::{RTA_DST, RTA_GATEWAY, RTA_NETMASK, RTF_GATEWAY, RTF_HOST, RTF_PINNED};
use zelle_sys::{RTF_STATIC, RTF_UP, RTM_ADD, RTM_DELETE, RTM_VERSION};

/// A whole routing message: header then sockaddrs, each padded to `SA_SIZE`.
pub(crate) fn message(kind: u32, seq: c_int, flags: u32, addrs: &[(u32, Vec<u8>)]) -> Vec<u8> {
    let mut body = Vec::new();
    let mut bits = 0;
    for (bit, sa) in addrs {
        bits |= bit;
        let start = body.len();
        body.extend_from_slice(sa);
        body.resize(start + sa_size(sa.len()), 0);
    }
    let mut rtm: rt_msghdr = zeroed();
    rtm.rtm_msglen = (size_of::<rt_msghdr>() + body.len()) as u16;
    rtm.rtm_version = RTM_VERSION as u8;
    rtm.rtm_type = kind as u8;
    rtm.rtm_flags = flags as c_int;
    rtm.rtm_addrs = bits as c_int;
    rtm.rtm_seq = seq;
    let mut out = as_bytes(&rtm).to_vec();
    out.extend_from_slice(&body);
    out
}

/// The netmask of a prefix, as a sockaddr of its family.
fn netmask(dest: &IpNet) -> Vec<u8> {
    ip_bytes(dest.netmask())
}

/// The gateway sockaddr: an address, or the interface's own link address (index and name) as
/// getifaddrs reports it, so the kernel finds it by index (as route(8) -interface does).
fn gateway<S: Syscalls>(sys: &S, gateway: &Gateway) -> Result<Vec<u8>, Errno> {
    match gateway {
        Gateway::Addr(addr) => Ok(ip_bytes(*addr)),
        Gateway::Interface(name) => {
            let link = sys.getifaddrs()?.into_iter().find_map(|entry| {
                let addr = entry.addr?;
                (entry.name == *name && link_of(&addr).is_some()).then_some(addr)
            });
            Ok(link.unwrap_or_else(|| link_named(name)))
        }
    }
}

/// The message for `route`: a /32 or /128 is a host route (RTF_HOST, no netmask).
fn route_message<S: Syscalls>(
    sys: &S,
    kind: u32,
    seq: c_int,
    route: &Route,
) -> Result<Vec<u8>, Errno> {
    let host = route.dest.prefix_len() == route.dest.max_prefix_len();
    let mut flags = RTF_UP | RTF_STATIC;
    if matches!(route.gateway, Gateway::Addr(_)) {
        flags |= RTF_GATEWAY;
    }
    if host {
        flags |= RTF_HOST;
    }
    let mut addrs = vec![
        (RTA_DST, ip_bytes(route.dest.addr())),
        (RTA_GATEWAY, gateway(sys, &route.gateway)?),
    ];
    if !host {
        addrs.push((RTA_NETMASK, netmask(&route.dest)));
    }
    Ok(message(kind, seq, flags, &addrs))
}

/// A sysctl value of any length: ask its size, then read with some room to spare; again if it
/// grew in between (ENOMEM).
pub(crate) fn sysctl_all<S: Syscalls>(sys: &S, mib: &[c_int]) -> Result<Vec<u8>, Errno> {
    for _ in 0..8 {
        let needed = sys.sysctl(mib, &mut [], &[])?;
        let mut buf = vec![0u8; needed + needed / 2 + 512];
        match sys.sysctl(mib, &mut buf, &[]) {
            Ok(len) => {
                buf.truncate(len);
                return Ok(buf);
            }
            Err(Errno::ENOMEM) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(Errno::ENOMEM)
}

/// The sockaddrs of one message, by `RTAX_*` index.
fn sockaddrs(rtm_addrs: c_int, mut body: &[u8]) -> [Option<&[u8]>; RTAX_MAX as usize] {
    let mut out = [None; RTAX_MAX as usize];
    for (i, slot) in out.iter_mut().enumerate() {
        if rtm_addrs & (1 << i) == 0 {
            continue;
        }
        let Some(&len) = body.first() else {
            break;
        };
        let len = usize::from(len);
        let room = sa_size(len).min(body.len());
        *slot = Some(&body[..len.min(body.len())]);
        body = &body[room..];
    }
    out
}

/// Parse a NET_RT_DUMP buffer; `names` maps interface indexes to names (link gateways carry
/// only an index).
fn parse_dump(buf: &[u8], names: &BTreeMap<u16, String>) -> Vec<RouteEntry> {
    let header = size_of::<rt_msghdr>();
    let mut out = Vec::new();
    let mut rest = buf;
    while rest.len() >= header {
        let Some(rtm) = from_bytes::<rt_msghdr>(&rest[..header]) else {
            break;
        };
        let len = usize::from(rtm.rtm_msglen);
        if len < header || len > rest.len() {
            break;
        }
        let sas = sockaddrs(rtm.rtm_addrs, &rest[header..len]);
        rest = &rest[len..];
        let name_of = |sa: &[u8]| {
            link_of(sa).map(|(index, _, name)| {
                if name.is_empty() {
                    names.get(&index).cloned().unwrap_or_default()
                } else {
                    name
                }
            })
        };
        let Some(dst) = sas[RTAX_DST as usize].and_then(ip_of) else {
            continue;
        };
        let prefix = if rtm.rtm_flags as u32 & RTF_HOST != 0 {
            if dst.is_ipv4() {
                32
            } else {
                128
            }
        } else {
            sas[RTAX_NETMASK as usize].map_or(0, |m| prefix_of(m, dst))
        };
        let Ok(dest) = IpNet::new(dst, prefix) else {
            continue;
        };
        let gateway = match sas[RTAX_GATEWAY as usize] {
            Some(sa) => match (ip_of(sa), name_of(sa)) {
                (Some(addr), _) => Gateway::Addr(addr),
                (None, Some(name)) => Gateway::Interface(name),
                (None, None) => continue,
            },
            None => continue,
        };
        let interface = sas[RTAX_IFP as usize]
            .and_then(name_of)
            .or_else(|| names.get(&rtm.rtm_index).cloned())
            .unwrap_or_default();
        out.push(RouteEntry {
            dest,
            gateway,
            interface,
            pinned: rtm.rtm_flags as u32 & RTF_PINNED != 0,
        });
    }
    out
}

pub(crate) fn list<S: Syscalls>(sys: &S) -> Result<Vec<RouteEntry>, Errno> {
    let names: BTreeMap<u16, String> = sys
        .getifaddrs()?
        .into_iter()
        .filter_map(|e| link_of(e.addr.as_deref()?).map(|(index, _, _)| (index, e.name)))
        .collect();
    let mib = [CTL_NET, PF_ROUTE as c_int, 0, 0, NET_RT_DUMP, 0];
    let buf = sysctl_all(sys, &mib)?;
    Ok(parse_dump(&buf, &names))
}

/// Write the `kind` message for `route` to a routing socket.
pub(crate) fn send<S: Syscalls>(
    sys: &S,
    kind: u32,
    seq: c_int,
    route: &Route,
) -> Result<(), Errno> {
    let msg = route_message(sys, kind, seq, route)?;
    let sock = Descriptor::socket(sys, PF_ROUTE, SOCK_RAW)?;
    sys.write(sock.fd, &msg)?;
    Ok(())
}

impl<S: Syscalls> FreeBsd<S> {
    fn route_op(&self, op: Op, kind: u32, vnet: Vnet, route: &Route) -> KResult<()> {
        let seq = self.route_seq.fetch_add(1, Ordering::Relaxed);
        let task = VnetTask::Route {
            kind,
            seq,
            route: route.clone(),
        };
        self.in_vnet(op, vnet, task)
    }
}

impl<S: Syscalls> Routes for FreeBsd<S> {
    fn add_route(&self, vnet: Vnet, route: &Route) -> KResult<()> {
        self.route_op(Op::AddRoute, RTM_ADD, vnet, route)
    }

    fn delete_route(&self, vnet: Vnet, route: &Route) -> KResult<()> {
        self.route_op(Op::DeleteRoute, RTM_DELETE, vnet, route)
    }

    fn list_routes(&self, vnet: Vnet) -> KResult<Vec<RouteEntry>> {
        self.in_vnet(Op::ListRoutes, vnet, VnetTask::ListRoutes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sockaddr::{sin, sin6};
    use crate::syscalls::{IfAddr, MockSyscalls};
    use crate::test_support::{backend, expect_sockets, FD};
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
    use zelle_core::kernel::{Jid, KernelError};
    use zelle_sys::{sockaddr_dl, AF_LINK, RTA_IFP, RTM_GET};

    fn header(msg: &[u8]) -> rt_msghdr {
        from_bytes(&msg[..size_of::<rt_msghdr>()]).unwrap()
    }

    /// Expect one message written to a routing socket, checked by `check`; the kernel answers
    /// `reply`.
    fn expect_write(
        mock: &mut MockSyscalls,
        check: impl Fn(&[u8]) -> bool + Send + 'static,
        reply: Result<usize, Errno>,
    ) {
        expect_sockets(mock, PF_ROUTE, SOCK_RAW, 1);
        mock.expect_write()
            .withf(move |&fd, buf| fd == FD && check(buf))
            .times(1)
            .returning(move |_, _| reply);
    }

    fn v4_route(dest: &str, gw: [u8; 4]) -> Route {
        Route {
            dest: dest.parse().unwrap(),
            gateway: Gateway::Addr(IpAddr::V4(gw.into())),
        }
    }

    #[test]
    fn add_writes_header_destination_gateway_and_netmask() {
        let mut mock = MockSyscalls::new();
        let mut want = vec![];
        want.extend_from_slice(as_bytes(&sin(Ipv4Addr::new(198, 51, 100, 0))));
        want.extend_from_slice(as_bytes(&sin(Ipv4Addr::new(10, 0, 0, 254))));
        want.extend_from_slice(as_bytes(&sin(Ipv4Addr::new(255, 255, 255, 0))));
        expect_write(
            &mut mock,
            move |msg| {
                let rtm = header(msg);
                msg.len() == 152 + 48
                    && usize::from(rtm.rtm_msglen) == msg.len()
                    && u32::from(rtm.rtm_version) == RTM_VERSION
                    && u32::from(rtm.rtm_type) == RTM_ADD
                    && rtm.rtm_flags as u32 == RTF_UP | RTF_STATIC | RTF_GATEWAY
                    && rtm.rtm_addrs as u32 == RTA_DST | RTA_GATEWAY | RTA_NETMASK
                    && msg[152..] == want[..]
            },
            Ok(200),
        );
        let route = v4_route("198.51.100.0/24", [10, 0, 0, 254]);
        backend(mock).add_route(Vnet::Host, &route).unwrap();
    }

    #[test]
    fn a_host_route_has_rtf_host_and_no_netmask() {
        let mut mock = MockSyscalls::new();
        expect_write(
            &mut mock,
            |msg| {
                let rtm = header(msg);
                u32::from(rtm.rtm_type) == RTM_DELETE
                    && rtm.rtm_flags as u32 & RTF_HOST != 0
                    && rtm.rtm_addrs as u32 == RTA_DST | RTA_GATEWAY
                    && msg.len() == 152 + 32
            },
            Err(Errno::ESRCH),
        );
        let route = v4_route("198.51.100.7/32", [10, 0, 0, 254]);
        let err = backend(mock).delete_route(Vnet::Host, &route).unwrap_err();
        assert_eq!(
            (err.code(), err.to_string().starts_with("RTM_DELETE")),
            (Some(Errno::ESRCH), true)
        );
    }

    #[test]
    fn ipv6_sockaddrs_are_rounded_to_a_long() {
        let mut mock = MockSyscalls::new();
        expect_write(
            &mut mock,
            |msg| {
                // 28-byte sockaddr_in6 take 32 bytes each: header, dst, gateway, netmask.
                msg.len() == 152 + 3 * 32
                    && msg[152] == 28
                    && msg[152 + 32] == 28
                    && ip_of(&msg[152 + 64..152 + 92])
                        == Some("ffff:ffff:ffff:ffff::".parse().unwrap())
            },
            Ok(248),
        );
        let route = Route::default_via(IpAddr::V6("fd00::1".parse().unwrap()));
        let route = Route {
            dest: "fd00:1::/64".parse().unwrap(),
            ..route
        };
        backend(mock).add_route(Vnet::Host, &route).unwrap();
    }

    fn link(name: &str, index: u16) -> Vec<u8> {
        let mut sdl: sockaddr_dl = zeroed();
        sdl.sdl_len = 54;
        sdl.sdl_family = AF_LINK as u8;
        sdl.sdl_index = index;
        sdl.sdl_nlen = name.len() as u8;
        for (d, s) in sdl.sdl_data.iter_mut().zip(name.bytes()) {
            *d = s as core::ffi::c_char;
        }
        as_bytes(&sdl).to_vec()
    }

    #[test]
    fn an_interface_gateway_is_its_link_address_by_index() {
        let mut mock = MockSyscalls::new();
        mock.expect_getifaddrs().times(1).returning(|| {
            Ok(vec![IfAddr {
                name: "bridge0".into(),
                addr: Some(link("bridge0", 4)),
                ..IfAddr::default()
            }])
        });
        expect_write(
            &mut mock,
            |msg| {
                let rtm = header(msg);
                rtm.rtm_flags as u32 & RTF_GATEWAY == 0
                    && link_of(&msg[168..222]) == Some((4, 0, "bridge0".into()))
            },
            Ok(0),
        );
        let route = Route {
            dest: "10.9.0.0/16".parse().unwrap(),
            gateway: Gateway::Interface("bridge0".into()),
        };
        backend(mock).add_route(Vnet::Host, &route).unwrap();
    }

    #[test]
    fn routes_of_a_jail_are_written_from_inside_it() {
        let mut mock = MockSyscalls::new();
        mock.expect_in_jail()
            .withf(|&jid, _| jid == 3)
            .returning(|_, task| Ok(task.run()));
        expect_write(&mut mock, |_| true, Err(Errno::EPERM));
        let route = v4_route("0.0.0.0/0", [10, 0, 0, 1]);
        let err = backend(mock)
            .add_route(Vnet::Jail(Jid(3)), &route)
            .unwrap_err();
        assert!(matches!(
            err,
            KernelError::Errno {
                errno: Errno::EPERM,
                op: Op::AddRoute,
                ..
            }
        ));
    }

    #[test]
    fn the_dump_is_read_by_size_then_whole_and_parsed() {
        // A gateway route, a connected route (link gateway by index), a host route through
        // lo0 with a trimmed mask absent.
        let ifp = |name, index| (RTA_IFP, link(name, index));
        let entries = [
            message(
                RTM_GET,
                0,
                RTF_UP | RTF_GATEWAY | RTF_STATIC,
                &[
                    (RTA_DST, ip_bytes("0.0.0.0".parse().unwrap())),
                    (RTA_GATEWAY, ip_bytes("192.0.2.1".parse().unwrap())),
                    // The default route's mask as the radix tree keeps it: empty.
                    (RTA_NETMASK, vec![]),
                    ifp("em0", 1),
                ],
            ),
            message(
                RTM_GET,
                0,
                RTF_UP | RTF_PINNED,
                &[
                    (RTA_DST, ip_bytes("10.1.0.0".parse().unwrap())),
                    (RTA_GATEWAY, link("", 4)),
                    (RTA_NETMASK, vec![7, 0, 0, 0, 255, 255, 0]),
                    ifp("bridge0", 4),
                ],
            ),
            message(
                RTM_GET,
                0,
                RTF_UP | RTF_HOST | RTF_PINNED,
                &[
                    (RTA_DST, as_bytes(&sin6(Ipv6Addr::LOCALHOST)).to_vec()),
                    (RTA_GATEWAY, link("", 2)),
                    ifp("lo0", 2),
                ],
            ),
        ];
        let dump: Vec<u8> = entries.concat();
        let mut mock = MockSyscalls::new();
        mock.expect_getifaddrs().times(1).returning(|| {
            Ok(["em0", "lo0", "", "bridge0"]
                .iter()
                .enumerate()
                .map(|(i, n)| IfAddr {
                    name: n.to_string(),
                    addr: Some(link(n, i as u16 + 1)),
                    ..IfAddr::default()
                })
                .collect())
        });
        let size = dump.len();
        mock.expect_sysctl()
            .withf(|mib, old, new| mib == [4, 17, 0, 0, 1, 0] && old.is_empty() && new.is_empty())
            .times(1)
            .returning(move |_, _, _| Ok(size));
        mock.expect_sysctl()
            .withf(move |_, old, _| old.len() >= size)
            .times(1)
            .returning(move |_, old, _| {
                old[..dump.len()].copy_from_slice(&dump);
                Ok(dump.len())
            });
        let routes = backend(mock).list_routes(Vnet::Host).unwrap();
        let want = vec![
            RouteEntry {
                dest: "0.0.0.0/0".parse().unwrap(),
                gateway: Gateway::Addr("192.0.2.1".parse().unwrap()),
                interface: "em0".into(),
                pinned: false,
            },
            RouteEntry {
                dest: "10.1.0.0/16".parse().unwrap(),
                gateway: Gateway::Interface("bridge0".into()),
                interface: "bridge0".into(),
                pinned: true,
            },
            RouteEntry {
                dest: "::1/128".parse().unwrap(),
                gateway: Gateway::Interface("lo0".into()),
                interface: "lo0".into(),
                pinned: true,
            },
        ];
        assert_eq!(routes, want);
    }
}
