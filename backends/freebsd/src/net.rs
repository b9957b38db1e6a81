//! Network interfaces: the ifioctl(9) requests on a datagram socket (`sys/net/if.c`,
//! `if_clone.c`, `if_bridge.c`, `netinet/in.c`, `netinet6/in6.c`), and listing through
//! getifaddrs(3), SIOCGIFMTU and the bridge's BRDGGIFS.

use crate::sockaddr::{ip_of, link_of, prefix_of, sin, sin6, sin_as_sockaddr};
use crate::syscalls::consts::{IFT_BRIDGE, SOCK_DGRAM};
use crate::vnet::{IfreqCall, VnetTask};
use crate::{get_cstr, put_cstr, Descriptor, FreeBsd, Syscalls};
use core::ffi::{c_int, c_short, c_void};
use core::mem::size_of;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use zelle_core::kernel::net::{Inet6Alias, InetAlias, Interface};
use zelle_core::kernel::Op;
use zelle_core::kernel::{Errno, IfFlags, Jid, KResult, NetworkInterfaces, Vnet};
use zelle_sys::ioctl::{self, Request};
use zelle_sys::{
    as_bytes, ifbifconf, ifbreq, ifdrv, ifreq, in6_aliasreq, in6_ifreq, in_aliasreq, zeroed,
    AF_INET, BRDGADD, BRDGDEL, BRDGGIFS,
};

/// An ifreq naming `name`; ENAMETOOLONG for 16 bytes or more, before any call.
fn ifreq_for(name: &str) -> Result<ifreq, Errno> {
    let mut req: ifreq = zeroed();
    put_cstr(&mut req.ifr_name, name)?;
    Ok(req)
}

/// One request on a datagram socket of `domain` (AF_INET6 for the IPv6 address requests,
/// which go to that protocol); returns the struct as the kernel left it. Only for structs
/// without a pointer the kernel follows (an ifreq's ifr_data is unset, or unread by `request`).
pub(crate) fn dgram_ioctl<S: Syscalls, T: zelle_sys::Zeroed>(
    sys: &S,
    domain: u32,
    request: Request<T>,
    mut arg: T,
) -> Result<T, Errno> {
    let sock = Descriptor::socket(sys, domain, SOCK_DGRAM)?;
    // SAFETY: `arg` holds no pointer the kernel follows (above).
    unsafe { sock.ioctl(request, &mut arg)? };
    Ok(arg)
}

/// `ifr_flags` and `ifr_flagshigh`: the low and high 16 bits of the flags.
fn flags_of(req: &ifreq) -> IfFlags {
    // SAFETY: every byte pattern is a valid [c_short; 2].
    let [low, high] = unsafe { req.ifr_ifru.ifru_flags };
    IfFlags(u32::from(low as u16) | (u32::from(high as u16) << 16))
}

fn set_flags(req: &mut ifreq, flags: IfFlags) {
    req.ifr_ifru.ifru_flags = [flags.0 as u16 as c_short, (flags.0 >> 16) as u16 as c_short];
}

/// SIOCSDRVSPEC or SIOCGDRVSPEC to a bridge: `ifdrv{cmd, len = size_of::<T>(), data = arg}`.
///
/// # Safety
/// Every pointer inside `arg` must point at live memory of the length `arg` gives for it.
unsafe fn drvspec<S: Syscalls, T: zelle_sys::Zeroed>(
    sock: &Descriptor<'_, S>,
    request: Request<ifdrv>,
    bridge: &str,
    cmd: u32,
    arg: &mut T,
) -> Result<(), Errno> {
    let mut drv: ifdrv = zeroed();
    put_cstr(&mut drv.ifd_name, bridge)?;
    drv.ifd_cmd = cmd.into();
    drv.ifd_len = size_of::<T>();
    drv.ifd_data = (arg as *mut T).cast::<c_void>();
    // SAFETY: an ifdrv request whose ifd_data points at `arg`, of ifd_len bytes, live for the
    // call; what `arg` points at is the caller's promise.
    unsafe { sock.ioctl(request, &mut drv)? };
    Ok(())
}

/// A bridge's members by BRDGGIFS, growing the buffer until they all fit
/// (`bridge_ioctl_gifs` fills what fits and reports the length it used).
fn bridge_members<S: Syscalls>(
    sock: &Descriptor<'_, S>,
    bridge: &str,
) -> Result<Vec<String>, Errno> {
    let mut room = 8usize;
    loop {
        let mut buf = vec![zeroed::<ifbreq>(); room];
        let mut conf: ifbifconf = zeroed();
        conf.ifbic_len = u32::try_from(room * size_of::<ifbreq>()).map_err(|_| Errno::ENOMEM)?;
        conf.ifbic_ifbicu.ifbicu_req = buf.as_mut_ptr();
        // SAFETY: ifbicu_req points at `buf`, ifbic_len bytes long, live for the call.
        unsafe { drvspec(sock, ioctl::SIOCGDRVSPEC, bridge, BRDGGIFS, &mut conf)? };
        let got = (conf.ifbic_len as usize / size_of::<ifbreq>()).min(room);
        if got < room {
            return Ok(buf[..got]
                .iter()
                .map(|b| get_cstr(&b.ifbr_ifsname))
                .collect());
        }
        room *= 2;
    }
}

/// The interfaces of the caller's vnet, as getifaddrs(3) lists them, with MTU and members.
pub(crate) fn list<S: Syscalls>(sys: &S) -> Result<Vec<Interface>, Errno> {
    let mut list: Vec<(Interface, bool)> = Vec::new();
    for entry in sys.getifaddrs()? {
        let at = match list.iter().position(|(i, _)| i.name == entry.name) {
            Some(at) => at,
            None => {
                let iface = Interface {
                    name: entry.name.clone(),
                    flags: IfFlags(entry.flags),
                    mtu: 0,
                    inet: Vec::new(),
                    inet6: Vec::new(),
                    members: Vec::new(),
                };
                list.push((iface, false));
                list.len() - 1
            }
        };
        let Some(addr) = entry.addr.as_deref() else {
            continue;
        };
        let (iface, bridge) = &mut list[at];
        if let Some((_, ty, _)) = link_of(addr) {
            *bridge = ty == IFT_BRIDGE;
            continue;
        }
        let prefix = |ip| entry.netmask.as_deref().map_or(0, |m| prefix_of(m, ip));
        match ip_of(addr) {
            Some(ip @ IpAddr::V4(a)) => iface.inet.push((a, prefix(ip))),
            Some(ip @ IpAddr::V6(a)) => iface.inet6.push((a, prefix(ip))),
            None => {}
        }
    }
    let sock = Descriptor::socket(sys, AF_INET, SOCK_DGRAM)?;
    let mut out = Vec::with_capacity(list.len());
    for (mut iface, bridge) in list {
        let mut req = ifreq_for(&iface.name)?;
        // SAFETY: an ifreq request without pointers.
        unsafe { sock.ioctl(ioctl::SIOCGIFMTU, &mut req)? };
        // SAFETY: every byte pattern is a valid c_int.
        iface.mtu = unsafe { req.ifr_ifru.ifru_mtu } as u32;
        if bridge {
            iface.members = bridge_members(&sock, &iface.name)?;
        }
        out.push(iface);
    }
    Ok(out)
}

/// SIOCSIFNAME: `req` names the interface; ifr_data points at the new name, which the kernel
/// copyinstr()s (IFNAMSIZ at most).
pub(crate) fn rename<S: Syscalls>(sys: &S, mut req: ifreq, new_name: &str) -> Result<(), Errno> {
    let mut new = ifreq_for(new_name)?.ifr_name;
    let sock = Descriptor::socket(sys, AF_INET, SOCK_DGRAM)?;
    req.ifr_ifru.ifru_data = new.as_mut_ptr();
    // SAFETY: ifr_data points at `new`, a NUL-terminated IFNAMSIZ array live for the call.
    unsafe { sock.ioctl(ioctl::SIOCSIFNAME, &mut req)? };
    Ok(())
}

/// BRDGADD or BRDGDEL (`cmd`) of the member `breq` names to `bridge`.
pub(crate) fn bridge_member<S: Syscalls>(
    sys: &S,
    cmd: u32,
    bridge: &str,
    mut breq: ifbreq,
) -> Result<(), Errno> {
    let sock = Descriptor::socket(sys, AF_INET, SOCK_DGRAM)?;
    // SAFETY: an ifbreq holds no pointer.
    unsafe { drvspec(&sock, ioctl::SIOCSDRVSPEC, bridge, cmd, &mut breq) }
}

impl<S: Syscalls> FreeBsd<S> {
    /// One ifreq request for `name` in `vnet`, prepared by `fill`; the request as returned.
    fn ifreq_op(
        &self,
        op: Op,
        vnet: Vnet,
        call: IfreqCall,
        name: &str,
        fill: impl Fn(&mut ifreq),
    ) -> KResult<IfreqOut> {
        let mut req = ifreq_for(name).map_err(|e| crate::fail(op, e))?;
        fill(&mut req);
        let req = as_bytes(&req).to_vec();
        self.in_vnet(op, vnet, VnetTask::Ifreq { call, req })
    }

    fn bridge_op(&self, op: Op, vnet: Vnet, cmd: u32, bridge: &str, member: &str) -> KResult<()> {
        let fail = |e| crate::fail(op, e);
        let mut breq: ifbreq = zeroed();
        put_cstr(&mut breq.ifbr_ifsname, member).map_err(fail)?;
        ifreq_for(bridge).map_err(fail)?;
        let task = VnetTask::BridgeMember {
            cmd,
            bridge: bridge.to_string(),
            breq: as_bytes(&breq).to_vec(),
        };
        self.in_vnet(op, vnet, task)
    }
}

/// What an ifreq request writes back that the contract reports.
#[derive(serde::Serialize, serde::Deserialize)]
pub(crate) struct IfreqOut {
    name: String,
    flags: u32,
}

impl IfreqOut {
    pub(crate) fn of(req: &ifreq) -> Self {
        IfreqOut {
            name: get_cstr(&req.ifr_name),
            flags: flags_of(req).0,
        }
    }
}

impl<S: Syscalls> NetworkInterfaces for FreeBsd<S> {
    fn create_interface(&self, vnet: Vnet, name: &str) -> KResult<String> {
        let out = self.ifreq_op(Op::CreateInterface, vnet, IfreqCall::Create, name, |_| {})?;
        Ok(out.name)
    }

    fn destroy_interface(&self, vnet: Vnet, name: &str) -> KResult<()> {
        self.ifreq_op(Op::DestroyInterface, vnet, IfreqCall::Destroy, name, |_| {})?;
        Ok(())
    }

    fn rename_interface(&self, vnet: Vnet, name: &str, new_name: &str) -> KResult<()> {
        let op = Op::RenameInterface;
        let req = ifreq_for(name).map_err(|e| crate::fail(op, e))?;
        // Checked here, before any call: the new name must fit IFNAMSIZ with its NUL.
        ifreq_for(new_name).map_err(|e| crate::fail(op, e))?;
        let task = VnetTask::Rename {
            req: as_bytes(&req).to_vec(),
            new_name: new_name.to_string(),
        };
        self.in_vnet(op, vnet, task)
    }

    fn interface_flags(&self, vnet: Vnet, name: &str) -> KResult<IfFlags> {
        let out = self.ifreq_op(Op::InterfaceFlags, vnet, IfreqCall::GetFlags, name, |_| {})?;
        Ok(IfFlags(out.flags))
    }

    fn set_interface_flags(&self, vnet: Vnet, name: &str, flags: IfFlags) -> KResult<()> {
        self.ifreq_op(
            Op::SetInterfaceFlags,
            vnet,
            IfreqCall::SetFlags,
            name,
            |req| set_flags(req, flags),
        )?;
        Ok(())
    }

    fn set_mtu(&self, vnet: Vnet, name: &str, mtu: u32) -> KResult<()> {
        // ifr_mtu is a C int: a value above INT_MAX reaches the kernel negative (EINVAL there).
        self.ifreq_op(Op::SetMtu, vnet, IfreqCall::SetMtu, name, |req| {
            req.ifr_ifru.ifru_mtu = mtu as c_int
        })?;
        Ok(())
    }

    fn add_inet_alias(&self, vnet: Vnet, name: &str, alias: &InetAlias) -> KResult<()> {
        let op = Op::AddInetAlias;
        let req = inet_aliasreq(name, alias).map_err(|e| crate::fail(op, e))?;
        let task = VnetTask::AddInetAlias(as_bytes(&req).to_vec());
        self.in_vnet(op, vnet, task)
    }

    fn delete_inet_alias(&self, vnet: Vnet, name: &str, addr: Ipv4Addr) -> KResult<()> {
        let call = IfreqCall::DeleteInetAlias;
        self.ifreq_op(Op::DeleteInetAlias, vnet, call, name, |req| {
            req.ifr_ifru.ifru_addr = sin_as_sockaddr(addr)
        })?;
        Ok(())
    }

    fn add_inet6_alias(&self, vnet: Vnet, name: &str, alias: &Inet6Alias) -> KResult<()> {
        let op = Op::AddInet6Alias;
        let req = inet6_aliasreq(name, alias).map_err(|e| crate::fail(op, e))?;
        let task = VnetTask::AddInet6Alias(as_bytes(&req).to_vec());
        self.in_vnet(op, vnet, task)
    }

    fn delete_inet6_alias(&self, vnet: Vnet, name: &str, addr: Ipv6Addr) -> KResult<()> {
        let op = Op::DeleteInet6Alias;
        let mut req: in6_ifreq = zeroed();
        put_cstr(&mut req.ifr_name, name).map_err(|e| crate::fail(op, e))?;
        req.ifr_ifru.ifru_addr = sin6(addr);
        let task = VnetTask::DeleteInet6Alias(as_bytes(&req).to_vec());
        self.in_vnet(op, vnet, task)
    }

    fn bridge_add_member(&self, vnet: Vnet, bridge: &str, member: &str) -> KResult<()> {
        self.bridge_op(Op::BridgeAddMember, vnet, BRDGADD, bridge, member)
    }

    fn bridge_delete_member(&self, vnet: Vnet, bridge: &str, member: &str) -> KResult<()> {
        self.bridge_op(Op::BridgeDeleteMember, vnet, BRDGDEL, bridge, member)
    }

    fn move_to_jail(&self, vnet: Vnet, name: &str, jid: Jid) -> KResult<()> {
        self.ifreq_op(Op::MoveToJail, vnet, IfreqCall::MoveToJail, name, |req| {
            req.ifr_ifru.ifru_jid = jid.0
        })?;
        Ok(())
    }

    fn reclaim_from_jail(&self, vnet: Vnet, name: &str, jid: Jid) -> KResult<()> {
        let call = IfreqCall::ReclaimFromJail;
        self.ifreq_op(Op::ReclaimFromJail, vnet, call, name, |req| {
            req.ifr_ifru.ifru_jid = jid.0
        })?;
        Ok(())
    }

    fn list_interfaces(&self, vnet: Vnet) -> KResult<Vec<Interface>> {
        self.in_vnet(Op::ListInterfaces, vnet, VnetTask::ListInterfaces)
    }

    fn vnet_session(&self, jid: Jid, work: &mut dyn FnMut()) -> KResult<()> {
        self.vnet_session_for(jid, work)
    }
}

/// The SIOCAIFADDR request: name, address, mask and broadcast (or destination) sockaddrs, and
/// the vhid exactly as given; every other byte zero. An absent mask or destination is an empty
/// sockaddr (`sin_len` 0), which the kernel reads as "none".
pub(crate) fn inet_aliasreq(name: &str, alias: &InetAlias) -> Result<in_aliasreq, Errno> {
    let mut req: in_aliasreq = zeroed();
    put_cstr(&mut req.ifra_name, name)?;
    req.ifra_addr = sin(alias.addr);
    if let Some(mask) = alias.mask {
        req.ifra_mask = sin(mask);
    }
    if let Some(dest) = alias.dest {
        req.ifra_broadaddr = sin(dest);
    }
    req.ifra_vhid = alias.vhid;
    Ok(req)
}

/// The SIOCAIFADDR_IN6 request, every field of `in6_aliasreq` from the alias.
pub(crate) fn inet6_aliasreq(name: &str, alias: &Inet6Alias) -> Result<in6_aliasreq, Errno> {
    let mut req: in6_aliasreq = zeroed();
    put_cstr(&mut req.ifra_name, name)?;
    req.ifra_addr = sin6(alias.addr);
    if let Some(dst) = alias.dstaddr {
        req.ifra_broadaddr = sin6(dst);
    }
    if let Some(mask) = alias.prefixmask {
        req.ifra_prefixmask = sin6(mask);
    }
    req.ifra_flags = alias.flags as c_int;
    req.ifra_lifetime.ia6t_vltime = alias.vltime;
    req.ifra_lifetime.ia6t_pltime = alias.pltime;
    req.ifra_vhid = alias.vhid;
    Ok(req)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syscalls::consts::IFT_ETHER;
    use crate::syscalls::{IfAddr, JailSession, MockSyscalls};
    use crate::test_support::{
        backend, bytes_at, chars, expect_ioctl, expect_sockets, read_at, FD,
    };
    use proptest::prelude::*;
    use zelle_sys::{as_bytes, sockaddr_dl, AF_INET6, AF_LINK};

    fn named(name: &str) -> ifreq {
        let mut req: ifreq = zeroed();
        req.ifr_name = chars(name);
        req
    }

    fn one_ifreq(
        request: Request<ifreq>,
        want: ifreq,
        reply: Result<ifreq, Errno>,
    ) -> FreeBsd<MockSyscalls> {
        let mut mock = MockSyscalls::new();
        expect_sockets(&mut mock, AF_INET, SOCK_DGRAM, 1);
        expect_ioctl(&mut mock, request, want, reply);
        backend(mock)
    }

    fn code<T: std::fmt::Debug>(result: KResult<T>) -> (Option<Errno>, Option<Op>) {
        let error = result.expect_err("an error");
        (error.code(), error.op())
    }

    #[test]
    fn create_sends_the_cloner_name_and_returns_what_the_kernel_wrote() {
        let k = one_ifreq(ioctl::SIOCIFCREATE2, named("epair"), Ok(named("epair3a")));
        assert_eq!(k.create_interface(Vnet::Host, "epair").unwrap(), "epair3a");
    }

    #[test]
    fn create_passes_the_errno_through() {
        let k = one_ifreq(ioctl::SIOCIFCREATE2, named("bridge0"), Err(Errno::EEXIST));
        assert_eq!(
            code(k.create_interface(Vnet::Host, "bridge0")),
            (Some(Errno::EEXIST), Some(Op::CreateInterface))
        );
    }

    #[test]
    fn destroy_names_the_interface() {
        let k = one_ifreq(ioctl::SIOCIFDESTROY, named("bridge4"), Err(Errno::ENXIO));
        assert_eq!(
            code(k.destroy_interface(Vnet::Host, "bridge4")).0,
            Some(Errno::ENXIO)
        );
        let k = one_ifreq(ioctl::SIOCIFDESTROY, named("bridge4"), Ok(named("bridge4")));
        k.destroy_interface(Vnet::Host, "bridge4").unwrap();
    }

    #[test]
    fn names_of_16_bytes_are_refused_before_any_call() {
        // A mock without expectations panics on any call.
        let k = backend(MockSyscalls::new());
        let long = "name_of_16_bytes";
        let alias = InetAlias::new(Ipv4Addr::new(10, 0, 0, 1), 24);
        let alias6 = Inet6Alias::new("fd00::1".parse().unwrap(), 64);
        let results = [
            code(k.create_interface(Vnet::Host, long)).0,
            code(k.destroy_interface(Vnet::Host, long)).0,
            code(k.rename_interface(Vnet::Host, long, "x")).0,
            code(k.rename_interface(Vnet::Host, "x", long)).0,
            code(k.interface_flags(Vnet::Host, long)).0,
            code(k.set_interface_flags(Vnet::Host, long, IfFlags::UP)).0,
            code(k.set_mtu(Vnet::Host, long, 1500)).0,
            code(k.add_inet_alias(Vnet::Host, long, &alias)).0,
            code(k.delete_inet_alias(Vnet::Host, long, alias.addr)).0,
            code(k.add_inet6_alias(Vnet::Host, long, &alias6)).0,
            code(k.delete_inet6_alias(Vnet::Host, long, alias6.addr)).0,
            code(k.bridge_add_member(Vnet::Host, long, "epair0a")).0,
            code(k.bridge_add_member(Vnet::Host, "bridge0", long)).0,
            code(k.bridge_delete_member(Vnet::Host, "bridge0", long)).0,
            code(k.move_to_jail(Vnet::Host, long, Jid(1))).0,
            code(k.reclaim_from_jail(Vnet::Host, long, Jid(1))).0,
        ];
        assert!(
            results.iter().all(|r| *r == Some(Errno::ENAMETOOLONG)),
            "{results:?}"
        );
    }

    #[test]
    fn rename_points_ifr_data_at_the_new_name() {
        let mut mock = MockSyscalls::new();
        expect_sockets(&mut mock, AF_INET, SOCK_DGRAM, 1);
        mock.expect_ioctl()
            .withf(|&fd, &req, &arg| {
                // SAFETY: the backend passes a live ifreq for SIOCSIFNAME.
                let req_: ifreq = unsafe { read_at(arg) };
                // SAFETY: ifr_data points at the new name's IFNAMSIZ bytes.
                let new = unsafe { bytes_at::<ifreq>(req_.ifr_ifru.ifru_data.cast()) };
                fd == FD
                    && req == ioctl::number::SIOCSIFNAME
                    && req_.ifr_name == chars::<16>("epair0a")
                    && new[..16] == *b"zc-e0\0\0\0\0\0\0\0\0\0\0\0"
            })
            .times(1)
            .returning(|_, _, _| Err(Errno::EEXIST));
        let k = backend(mock);
        assert_eq!(
            code(k.rename_interface(Vnet::Host, "epair0a", "zc-e0")).0,
            Some(Errno::EEXIST)
        );
    }

    #[test]
    fn flags_travel_in_ifr_flags_and_ifr_flagshigh() {
        let mut reply = named("lo0");
        reply.ifr_ifru.ifru_flags = [0x8049u16 as i16, 0x0002];
        let k = one_ifreq(ioctl::SIOCGIFFLAGS, named("lo0"), Ok(reply));
        assert_eq!(
            k.interface_flags(Vnet::Host, "lo0").unwrap(),
            IfFlags(0x0002_8049)
        );

        let mut want = named("bridge0");
        want.ifr_ifru.ifru_flags = [0x8001u16 as i16, 0x0010];
        let k = one_ifreq(ioctl::SIOCSIFFLAGS, want, Ok(want));
        k.set_interface_flags(Vnet::Host, "bridge0", IfFlags(0x0010_8001))
            .unwrap();
    }

    #[test]
    fn mtu_is_the_c_int_of_the_request() {
        let mut want = named("epair0a");
        want.ifr_ifru.ifru_mtu = 9000;
        let k = one_ifreq(ioctl::SIOCSIFMTU, want, Ok(want));
        k.set_mtu(Vnet::Host, "epair0a", 9000).unwrap();
        // Above INT_MAX the kernel sees a negative MTU (and refuses it).
        let mut want = named("epair0a");
        want.ifr_ifru.ifru_mtu = -1;
        let k = one_ifreq(ioctl::SIOCSIFMTU, want, Err(Errno::EINVAL));
        assert_eq!(
            code(k.set_mtu(Vnet::Host, "epair0a", u32::MAX)).0,
            Some(Errno::EINVAL)
        );
    }

    /// The 68 bytes of an in_aliasreq, written out by offset (FACTS.md §1: name 0..16, then
    /// three 16-byte sockaddr_in, then the int vhid at 64).
    fn aliasreq_bytes(
        name: &str,
        addr: [u8; 4],
        mask: Option<[u8; 4]>,
        dest: Option<[u8; 4]>,
        vhid: i32,
    ) -> Vec<u8> {
        let mut b = vec![0u8; 68];
        b[..name.len()].copy_from_slice(name.as_bytes());
        let mut sin = |at: usize, a: [u8; 4]| {
            b[at] = 16;
            b[at + 1] = AF_INET as u8;
            b[at + 4..at + 8].copy_from_slice(&a);
        };
        sin(16, addr);
        if let Some(d) = dest {
            sin(32, d);
        }
        if let Some(m) = mask {
            sin(48, m);
        }
        b[64..68].copy_from_slice(&vhid.to_ne_bytes());
        b
    }

    #[test]
    fn inet_alias_is_the_exact_in_aliasreq() {
        let want = aliasreq_bytes("epair0a", [10, 1, 2, 3], Some([255, 255, 255, 0]), None, -1);
        let mut mock = MockSyscalls::new();
        expect_sockets(&mut mock, AF_INET, SOCK_DGRAM, 1);
        mock.expect_ioctl()
            .withf(move |&fd, &req, &arg| {
                // SAFETY: SIOCAIFADDR's argument is an in_aliasreq.
                fd == FD
                    && req == 0x8044_692b
                    && unsafe { bytes_at::<in_aliasreq>(arg) } == want.as_slice()
            })
            .times(1)
            .returning(|_, _, _| Err(Errno::EPROTONOSUPPORT));
        let alias = InetAlias {
            vhid: -1,
            ..InetAlias::new(Ipv4Addr::new(10, 1, 2, 3), 24)
        };
        let k = backend(mock);
        assert_eq!(
            code(k.add_inet_alias(Vnet::Host, "epair0a", &alias)),
            (Some(Errno::EPROTONOSUPPORT), Some(Op::AddInetAlias))
        );
    }

    #[test]
    fn inet_alias_without_mask_leaves_the_sockaddr_empty() {
        let want = aliasreq_bytes("lo0", [127, 0, 0, 2], None, Some([127, 0, 0, 9]), 0);
        let req: in_aliasreq = zelle_sys::from_bytes(&want).unwrap();
        let mut mock = MockSyscalls::new();
        expect_sockets(&mut mock, AF_INET, SOCK_DGRAM, 1);
        expect_ioctl(&mut mock, ioctl::SIOCAIFADDR, req, Ok(req));
        let alias = InetAlias {
            addr: Ipv4Addr::new(127, 0, 0, 2),
            mask: None,
            dest: Some(Ipv4Addr::new(127, 0, 0, 9)),
            vhid: 0,
        };
        backend(mock)
            .add_inet_alias(Vnet::Host, "lo0", &alias)
            .unwrap();
    }

    #[test]
    fn delete_inet_alias_puts_a_sockaddr_in_in_ifr_addr() {
        let mut want = named("epair0a");
        let mut raw = [0u8; 16];
        raw[0] = 16;
        raw[1] = AF_INET as u8;
        raw[4..8].copy_from_slice(&[10, 1, 2, 3]);
        want.ifr_ifru.ifru_addr = zelle_sys::from_bytes(&raw).unwrap();
        let k = one_ifreq(ioctl::SIOCDIFADDR, want, Err(Errno::EADDRNOTAVAIL));
        assert_eq!(
            code(k.delete_inet_alias(Vnet::Host, "epair0a", Ipv4Addr::new(10, 1, 2, 3))).0,
            Some(Errno::EADDRNOTAVAIL)
        );
    }

    #[test]
    fn inet6_alias_fills_every_field_of_in6_aliasreq() {
        let alias = Inet6Alias {
            flags: 0x20,
            vhid: 3,
            ..Inet6Alias::new("fd00::5".parse().unwrap(), 64)
        };
        let mut want: in6_aliasreq = zeroed();
        want.ifra_name = chars("bridge1");
        want.ifra_addr = sin6("fd00::5".parse().unwrap());
        want.ifra_prefixmask = sin6("ffff:ffff:ffff:ffff::".parse().unwrap());
        want.ifra_flags = 0x20;
        want.ifra_lifetime.ia6t_vltime = u32::MAX;
        want.ifra_lifetime.ia6t_pltime = u32::MAX;
        want.ifra_vhid = 3;
        // Offsets checked independently of the struct: the address at 16, its family 28.
        let bytes = as_bytes(&want);
        assert_eq!((bytes[16], bytes[17]), (28, AF_INET6 as u8));
        let mut mock = MockSyscalls::new();
        expect_sockets(&mut mock, AF_INET6, SOCK_DGRAM, 1);
        expect_ioctl(&mut mock, ioctl::SIOCAIFADDR_IN6, want, Ok(want));
        backend(mock)
            .add_inet6_alias(Vnet::Host, "bridge1", &alias)
            .unwrap();
    }

    #[test]
    fn delete_inet6_alias_sends_an_in6_ifreq() {
        let mut want: in6_ifreq = zeroed();
        want.ifr_name = chars("bridge1");
        want.ifr_ifru.ifru_addr = sin6("fd00::5".parse().unwrap());
        let mut mock = MockSyscalls::new();
        expect_sockets(&mut mock, AF_INET6, SOCK_DGRAM, 1);
        expect_ioctl(
            &mut mock,
            ioctl::SIOCDIFADDR_IN6,
            want,
            Err(Errno::EADDRNOTAVAIL),
        );
        let k = backend(mock);
        assert_eq!(
            code(k.delete_inet6_alias(Vnet::Host, "bridge1", "fd00::5".parse().unwrap())).0,
            Some(Errno::EADDRNOTAVAIL)
        );
    }

    /// Expect one SIOCSDRVSPEC to `bridge` with `cmd` and an ifbreq naming `member`.
    fn expect_drvspec(
        mock: &mut MockSyscalls,
        bridge: &'static str,
        cmd: u32,
        member: &'static str,
        reply: Result<c_int, Errno>,
    ) {
        mock.expect_ioctl()
            .withf(move |&fd, &req, &arg| {
                // SAFETY: SIOCSDRVSPEC's argument is an ifdrv, its data an ifbreq.
                let drv: ifdrv = unsafe { read_at(arg) };
                let breq: ifbreq = unsafe { read_at(drv.ifd_data) };
                let mut want: ifbreq = zeroed();
                want.ifbr_ifsname = chars(member);
                fd == FD
                    && req == ioctl::number::SIOCSDRVSPEC
                    && drv.ifd_name == chars::<16>(bridge)
                    && drv.ifd_cmd == u64::from(cmd)
                    && drv.ifd_len == 80
                    && as_bytes(&breq) == as_bytes(&want)
            })
            .times(1)
            .returning(move |_, _, _| reply);
    }

    #[test]
    fn bridge_members_go_through_ifdrv_and_ifbreq() {
        let mut mock = MockSyscalls::new();
        expect_sockets(&mut mock, AF_INET, SOCK_DGRAM, 2);
        expect_drvspec(&mut mock, "bridge0", BRDGADD, "epair0a", Err(Errno::EBUSY));
        expect_drvspec(&mut mock, "bridge0", BRDGDEL, "epair0a", Ok(0));
        let k = backend(mock);
        assert_eq!(
            code(k.bridge_add_member(Vnet::Host, "bridge0", "epair0a")),
            (Some(Errno::EBUSY), Some(Op::BridgeAddMember))
        );
        k.bridge_delete_member(Vnet::Host, "bridge0", "epair0a")
            .unwrap();
    }

    #[test]
    fn vnet_moves_carry_the_jid() {
        let mut want = named("epair0b");
        want.ifr_ifru.ifru_jid = 12;
        let k = one_ifreq(ioctl::SIOCSIFVNET, want, Err(Errno::ENXIO));
        assert_eq!(
            code(k.move_to_jail(Vnet::Host, "epair0b", Jid(12))).0,
            Some(Errno::ENXIO)
        );
        let k = one_ifreq(ioctl::SIOCSIFRVNET, want, Ok(want));
        k.reclaim_from_jail(Vnet::Host, "epair0b", Jid(12)).unwrap();
    }

    fn link(name: &str, index: u16, ty: u8, flags: u32) -> IfAddr {
        let mut sdl: sockaddr_dl = zeroed();
        sdl.sdl_len = 54;
        sdl.sdl_family = AF_LINK as u8;
        sdl.sdl_index = index;
        sdl.sdl_type = ty;
        sdl.sdl_nlen = name.len() as u8;
        sdl.sdl_data = chars(name);
        IfAddr {
            name: name.into(),
            flags,
            addr: Some(as_bytes(&sdl).to_vec()),
            ..IfAddr::default()
        }
    }

    #[test]
    fn listing_reads_getifaddrs_mtu_and_bridge_members() {
        let mut mock = MockSyscalls::new();
        mock.expect_getifaddrs().times(1).returning(|| {
            Ok(vec![
                link("bridge0", 3, IFT_BRIDGE, 0x8843),
                IfAddr {
                    name: "bridge0".into(),
                    flags: 0x8843,
                    addr: Some(as_bytes(&sin(Ipv4Addr::new(10, 0, 0, 1))).to_vec()),
                    netmask: Some(as_bytes(&sin(Ipv4Addr::new(255, 255, 0, 0))).to_vec()),
                    dstaddr: None,
                },
                link("epair0a", 4, IFT_ETHER, 0x8943),
                IfAddr {
                    name: "epair0a".into(),
                    flags: 0x8943,
                    addr: Some(as_bytes(&sin6("fd00::1".parse().unwrap())).to_vec()),
                    netmask: Some(
                        as_bytes(&sin6("ffff:ffff:ffff:ffff::".parse().unwrap())).to_vec(),
                    ),
                    dstaddr: None,
                },
            ])
        });
        expect_sockets(&mut mock, AF_INET, SOCK_DGRAM, 1);
        mock.expect_ioctl()
            .withf(|_, &req, _| req == ioctl::number::SIOCGIFMTU)
            .times(2)
            .returning(|_, _, arg| {
                // SAFETY: SIOCGIFMTU's argument is an ifreq.
                let mut req: ifreq = unsafe { read_at(arg) };
                req.ifr_ifru.ifru_mtu = if get_cstr(&req.ifr_name) == "bridge0" {
                    1500
                } else {
                    9000
                };
                unsafe { arg.cast::<ifreq>().write_unaligned(req) };
                Ok(0)
            });
        mock.expect_ioctl()
            .withf(|_, &req, &arg| {
                // SAFETY: SIOCGDRVSPEC's argument is an ifdrv.
                let drv: ifdrv = unsafe { read_at(arg) };
                req == ioctl::number::SIOCGDRVSPEC
                    && drv.ifd_cmd == u64::from(BRDGGIFS)
                    && drv.ifd_len == 16
            })
            .times(1)
            .returning(|_, _, arg| {
                // SAFETY: ifd_data points at an ifbifconf whose buffer holds ifbic_len bytes.
                let drv: ifdrv = unsafe { read_at(arg) };
                let conf = drv.ifd_data.cast::<ifbifconf>();
                let mut breq: ifbreq = zeroed();
                breq.ifbr_ifsname = chars("epair0a");
                unsafe {
                    let mut c = conf.read_unaligned();
                    assert!(c.ifbic_len as usize >= 80);
                    c.ifbic_ifbicu.ifbicu_req.write_unaligned(breq);
                    c.ifbic_len = 80;
                    conf.write_unaligned(c);
                }
                Ok(0)
            });
        let list = backend(mock).list_interfaces(Vnet::Host).unwrap();
        assert_eq!(
            list,
            vec![
                Interface {
                    name: "bridge0".into(),
                    flags: IfFlags(0x8843),
                    mtu: 1500,
                    inet: vec![(Ipv4Addr::new(10, 0, 0, 1), 16)],
                    inet6: vec![],
                    members: vec!["epair0a".into()],
                },
                Interface {
                    name: "epair0a".into(),
                    flags: IfFlags(0x8943),
                    mtu: 9000,
                    inet: vec![],
                    inet6: vec![("fd00::1".parse().unwrap(), 64)],
                    members: vec![],
                },
            ]
        );
    }

    #[test]
    fn requests_for_a_jail_run_inside_it() {
        let mut mock = MockSyscalls::new();
        mock.expect_in_jail()
            .withf(|&jid, _| jid == 5)
            .times(1)
            .returning(|_, task| Ok(task.run()));
        expect_sockets(&mut mock, AF_INET, SOCK_DGRAM, 1);
        expect_ioctl(
            &mut mock,
            ioctl::SIOCIFCREATE2,
            named("bridge"),
            Ok(named("bridge0")),
        );
        let k = backend(mock);
        assert_eq!(
            k.create_interface(Vnet::Jail(Jid(5)), "bridge").unwrap(),
            "bridge0"
        );
    }

    #[test]
    fn a_jail_that_cannot_be_attached_is_jail_attachs_error() {
        let mut mock = MockSyscalls::new();
        mock.expect_in_jail()
            .times(1)
            .returning(|_, _| Err(Errno::EINVAL));
        let k = backend(mock);
        assert_eq!(
            code(k.list_interfaces(Vnet::Jail(Jid(9)))),
            (Some(Errno::EINVAL), Some(Op::JailAttach))
        );
    }

    const HELPER: JailSession = JailSession { fd: 40, pid: 41 };

    /// Expect one helper for jail 5, started once and closed once.
    fn expect_helper(mock: &mut MockSyscalls) {
        mock.expect_jail_session_open()
            .withf(|&jid, _| jid == 5)
            .times(1)
            .returning(|_, _| Ok(HELPER));
        mock.expect_jail_session_close()
            .withf(|&s| s == HELPER)
            .times(1)
            .returning(|_| Ok(()));
    }

    #[test]
    fn a_vnet_session_serves_its_calls_from_one_helper() {
        let mut mock = MockSyscalls::new();
        expect_helper(&mut mock);
        // The helper runs the server on the request as sent: the calls below are its.
        mock.expect_jail_session_call()
            .withf(|&s, _, _| s == HELPER)
            .times(2)
            .returning(|_, request, server| Ok(server.serve(request)));
        mock.expect_in_jail().never();
        expect_sockets(&mut mock, AF_INET, SOCK_DGRAM, 2);
        let mut up = named("lo0");
        up.ifr_ifru.ifru_flags = [0x8049u16 as i16, 0];
        expect_ioctl(&mut mock, ioctl::SIOCGIFFLAGS, named("lo0"), Ok(up));
        expect_ioctl(&mut mock, ioctl::SIOCSIFFLAGS, up, Ok(up));
        let k = backend(mock);
        let jail = Vnet::Jail(Jid(5));
        let mut flags = None;
        k.vnet_session(Jid(5), &mut || {
            let got = k.interface_flags(jail, "lo0").unwrap();
            k.set_interface_flags(jail, "lo0", got).unwrap();
            flags = Some(got);
        })
        .unwrap();
        assert_eq!(flags, Some(IfFlags(0x8049)));
    }

    #[test]
    fn a_helper_found_gone_ends_the_session_and_its_calls_fork() {
        let mut mock = MockSyscalls::new();
        expect_helper(&mut mock);
        mock.expect_jail_session_call()
            .times(1)
            .returning(|_, _, _| Err(Errno::EPIPE));
        // The jail went with its helper: each call forks and fails as jail_attach.
        mock.expect_in_jail()
            .withf(|&jid, _| jid == 5)
            .times(2)
            .returning(|_, _| Err(Errno::EINVAL));
        let k = backend(mock);
        let jail = Vnet::Jail(Jid(5));
        let mut codes = Vec::new();
        k.vnet_session(Jid(5), &mut || {
            codes.push(code(k.interface_flags(jail, "lo0")));
            codes.push(code(k.list_interfaces(jail)));
        })
        .unwrap();
        assert_eq!(codes, [(Some(Errno::EINVAL), Some(Op::JailAttach)); 2]);
    }

    #[test]
    fn a_session_that_cannot_start_still_runs_its_work_call_by_call() {
        let mut mock = MockSyscalls::new();
        mock.expect_jail_session_open()
            .times(1)
            .returning(|_, _| Err(Errno::EINVAL));
        mock.expect_jail_session_call().never();
        mock.expect_jail_session_close().never();
        mock.expect_in_jail()
            .times(1)
            .returning(|_, _| Err(Errno::EINVAL));
        let k = backend(mock);
        let mut listed = None;
        let started = k.vnet_session(Jid(9), &mut || {
            listed = Some(code(k.list_interfaces(Vnet::Jail(Jid(9)))));
        });
        assert_eq!(code(started), (Some(Errno::EINVAL), Some(Op::JailAttach)));
        assert_eq!(listed, Some((Some(Errno::EINVAL), Some(Op::JailAttach))));
    }

    #[test]
    fn nested_sessions_share_one_helper() {
        let mut mock = MockSyscalls::new();
        expect_helper(&mut mock);
        mock.expect_jail_session_call()
            .times(1)
            .returning(|_, _, _| Ok(Ok(b"[]".to_vec())));
        let k = backend(mock);
        k.vnet_session(Jid(5), &mut || {
            k.vnet_session(Jid(5), &mut || {
                assert_eq!(k.list_interfaces(Vnet::Jail(Jid(5))).unwrap(), []);
            })
            .unwrap();
        })
        .unwrap();
    }

    proptest! {
        /// For any request, every byte of the SIOCAIFADDR struct but the name, the three
        /// sockaddrs' length, family and address, and the vhid is zero; the vhid bytes are
        /// exactly the vhid given.
        #[test]
        fn aliasreq_has_nothing_but_what_was_given(
            name in "[a-z0-9_.-]{0,15}",
            addr: [u8; 4],
            mask: Option<[u8; 4]>,
            dest: Option<[u8; 4]>,
            vhid: i32,
        ) {
            let alias = InetAlias {
                addr: addr.into(),
                mask: mask.map(Into::into),
                dest: dest.map(Into::into),
                vhid,
            };
            let req = inet_aliasreq(&name, &alias).unwrap();
            let mut bytes = as_bytes(&req).to_vec();
            prop_assert_eq!(&bytes[64..68], &vhid.to_ne_bytes()[..]);
            prop_assert_eq!(&bytes[..name.len()], name.as_bytes());
            // Blank out what was given; nothing else may remain.
            bytes[..name.len()].fill(0);
            for at in [16, 32, 48] {
                bytes[at..at + 2].fill(0);
                bytes[at + 4..at + 8].fill(0);
            }
            bytes[64..68].fill(0);
            prop_assert!(bytes.iter().all(|&b| b == 0), "stray bytes: {:?}", bytes);
            // And the sockaddrs hold what was given, and nothing when nothing was.
            let raw = as_bytes(&req);
            prop_assert_eq!(&raw[20..24], &addr[..]);
            prop_assert_eq!(raw[48] == 16, mask.is_some());
            prop_assert_eq!(raw[32] == 16, dest.is_some());
        }
    }
}
