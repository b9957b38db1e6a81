//! Jails: jail_set(2), jail_get(2) and jail_remove(2) with name/value iovec pairs
//! (`sys/kern/kern_jail.c`, `kern_jail_set`, `kern_jail_get`; the options are parsed by the
//! vfs option code, `vfs_buildopts`). Also the iovec pairs nmount(2) takes the same way.
//!
//! Value encodings: strings with their NUL; ints (`jid`, `vnet`, `ip4`, `enforce_statfs`,
//! `children.max`, `devfs_ruleset`, `securelevel`, `sysvmsg`, `sysvsem`, `sysvshm`, `linux`)
//! as a C int (`vfs_copyopt` wants the exact size); booleans
//! (`persist`, `allow.*`) by the presence of their name or its "no" name, without a value;
//! `ip4.addr`/`ip6.addr` as arrays of `struct in_addr`/`in6_addr`; "errmsg" a buffer the
//! kernel writes its text into.

use crate::{cstr_bytes, fail, FreeBsd, Syscalls};
use core::ffi::c_int;
use std::ffi::CString;
use std::net::{Ipv4Addr, Ipv6Addr};
use zelle_core::kernel::jail::{LINUX_COMMON_MODULE, LINUX_MAX_UTSNAME, MAXHOSTNAMELEN};
use zelle_core::kernel::release::MODULE_ALLOW;
use zelle_core::kernel::Op;
use zelle_core::kernel::{
    Errno, HostFacts, IpMode, JailFlags, JailInfo, JailKey, JailLinux, JailParams, JailSys, Jails,
    Jid, KResult, KernelError, Release, SysctlValue, VnetMode,
};
use zelle_sys::{iovec, zeroed, MAXPATHLEN};

/// `jail_max_af_ips`' default: the most addresses of one family a jail_get may return.
const MAX_AF_IPS: usize = 255;
/// Room for the kernel's error text.
const ERRMSG_LEN: usize = 1024;

/// Name/value pairs owning their bytes; `None` is a value-less (boolean) option.
#[derive(Default)]
pub(crate) struct Params {
    pairs: Vec<(CString, Option<Vec<u8>>)>,
}

impl Params {
    pub(crate) fn bytes(&mut self, name: &str, value: Option<Vec<u8>>) -> Result<(), Errno> {
        // A name with a NUL cannot be passed: the kernel would read a different one.
        let name = CString::new(name).map_err(|_| Errno::EINVAL)?;
        self.pairs.push((name, value));
        Ok(())
    }

    pub(crate) fn string(&mut self, name: &str, value: &str) -> Result<(), Errno> {
        let value = CString::new(value).map_err(|_| Errno::EINVAL)?;
        self.bytes(name, Some(value.into_bytes_with_nul()))
    }

    pub(crate) fn int(&mut self, name: &str, value: c_int) -> Result<(), Errno> {
        self.bytes(name, Some(value.to_ne_bytes().to_vec()))
    }

    pub(crate) fn flag(&mut self, name: &str) -> Result<(), Errno> {
        self.bytes(name, None)
    }

    /// A zeroed buffer for the kernel to fill.
    pub(crate) fn buffer(&mut self, name: &str, len: usize) -> Result<(), Errno> {
        self.bytes(name, Some(vec![0; len]))
    }

    pub(crate) fn errmsg(&mut self) -> Result<(), Errno> {
        self.buffer("errmsg", ERRMSG_LEN)
    }

    /// Make the call with the iovec array pointing into these pairs; afterwards each value is
    /// cut to the length the kernel left in its iovec.
    pub(crate) fn call<T>(
        &mut self,
        f: impl FnOnce(&mut [iovec]) -> Result<T, Errno>,
    ) -> Result<T, Errno> {
        let mut iov = Vec::with_capacity(self.pairs.len() * 2);
        for (name, value) in &mut self.pairs {
            let mut n: iovec = zeroed();
            n.iov_base = name.as_ptr().cast_mut().cast();
            n.iov_len = name.as_bytes_with_nul().len();
            let mut v: iovec = zeroed();
            if let Some(value) = value {
                v.iov_base = value.as_mut_ptr().cast();
                v.iov_len = value.len();
            }
            iov.push(n);
            iov.push(v);
        }
        let result = f(&mut iov);
        for ((_, value), v) in self.pairs.iter_mut().zip(iov.chunks(2).map(|p| p[1])) {
            if let Some(value) = value {
                value.truncate(v.iov_len.min(value.len()));
            }
        }
        result
    }

    pub(crate) fn value(&self, name: &str) -> Option<&[u8]> {
        self.pairs
            .iter()
            .find(|(n, _)| n.as_bytes() == name.as_bytes())
            .and_then(|(_, v)| v.as_deref())
    }

    pub(crate) fn int_value(&self, name: &str) -> Option<c_int> {
        let bytes = self.value(name)?;
        Some(c_int::from_ne_bytes(bytes.get(..4)?.try_into().ok()?))
    }

    pub(crate) fn string_value(&self, name: &str) -> String {
        String::from_utf8_lossy(cstr_bytes(self.value(name).unwrap_or_default())).into_owned()
    }

    /// The kernel's error text, when it wrote one.
    pub(crate) fn error(&self, op: Op, errno: Errno) -> KernelError {
        let text = self.string_value("errmsg");
        if text.is_empty() {
            KernelError::errno(op, errno)
        } else {
            KernelError::with_message(op, errno, text)
        }
    }
}

/// libjail's name for `allow.<name>` set to `on`: a false boolean goes as its "no" name, "no"
/// put before the last component ("allow.mount.nodevfs").
fn allow_name(name: &str, on: bool) -> String {
    match (on, name.rsplit_once('.')) {
        (true, _) => format!("allow.{name}"),
        (false, Some((prefix, last))) => format!("allow.{prefix}.no{last}"),
        (false, None) => format!("allow.no{name}"),
    }
}

fn set_params(p: &JailParams) -> Result<Params, Errno> {
    let mut out = Params::default();
    if let Some(jid) = p.jid {
        out.int("jid", jid)?;
    }
    if let Some(name) = &p.name {
        out.string("name", name)?;
    }
    if let Some(path) = &p.path {
        out.string("path", path)?;
    }
    match p.persist {
        Some(true) => out.flag("persist")?,
        Some(false) => out.flag("nopersist")?,
        None => {}
    }
    if let Some(vnet) = p.vnet {
        out.int("vnet", vnet as c_int)?;
    }
    if let Some(host) = &p.hostname {
        out.string("host.hostname", host)?;
    }
    let ints = [
        ("enforce_statfs", p.enforce_statfs),
        ("children.max", p.children_max),
        ("devfs_ruleset", p.devfs_ruleset),
    ];
    for (name, value) in ints {
        if let Some(value) = value {
            // A C int: a value above INT_MAX reaches the kernel negative.
            out.int(name, value as c_int)?;
        }
    }
    if let Some(ip4) = p.ip4 {
        out.int("ip4", ip4 as c_int)?;
    }
    if !p.ip4_addrs.is_empty() {
        let bytes = p.ip4_addrs.iter().flat_map(|a| a.octets()).collect();
        out.bytes("ip4.addr", Some(bytes))?;
    }
    if let Some(ip6) = p.ip6 {
        out.int("ip6", ip6 as c_int)?;
    }
    if !p.ip6_addrs.is_empty() {
        let bytes = p.ip6_addrs.iter().flat_map(|a| a.octets()).collect();
        out.bytes("ip6.addr", Some(bytes))?;
    }
    if let Some(level) = p.securelevel {
        out.int("securelevel", level)?;
    }
    let sysv = [
        ("sysvmsg", p.sysvmsg),
        ("sysvsem", p.sysvsem),
        ("sysvshm", p.sysvshm),
    ];
    for (name, value) in sysv {
        if let Some(value) = value {
            out.int(name, value as c_int)?;
        }
    }
    if let Some(linux) = p.linux {
        out.int("linux", linux as c_int)?;
    }
    if let Some(osname) = &p.linux_osname {
        out.string("linux.osname", osname)?;
    }
    if let Some(osrelease) = &p.linux_osrelease {
        out.string("linux.osrelease", osrelease)?;
    }
    for (name, on) in &p.allow {
        out.flag(&allow_name(name, *on))?;
    }
    out.errmsg()?;
    Ok(out)
}

/// The request of a jail_get: the key, then a buffer for everything `JailInfo` holds (the
/// linux* ones only when they exist: `linux`).
fn get_params(key: &JailKey, allow: &[&str], linux: bool) -> Result<Params, Errno> {
    let mut out = Params::default();
    match key {
        JailKey::Jid(jid) => out.int("jid", jid.0)?,
        JailKey::After(jid) => {
            out.int("lastjid", jid.0)?;
            out.int("jid", 0)?;
        }
        JailKey::Name(name) => {
            out.int("jid", 0)?;
            let mut buf = CString::new(name.as_str())
                .map_err(|_| Errno::EINVAL)?
                .into_bytes_with_nul();
            buf.resize(buf.len().max(MAXHOSTNAMELEN), 0);
            out.bytes("name", Some(buf))?;
        }
    }
    if !matches!(key, JailKey::Name(_)) {
        out.buffer("name", MAXHOSTNAMELEN)?;
    }
    out.buffer("path", MAXPATHLEN as usize)?;
    out.buffer("host.hostname", MAXHOSTNAMELEN)?;
    for name in [
        "persist",
        "vnet",
        "dying",
        "enforce_statfs",
        "children.max",
        "devfs_ruleset",
        "ip4",
        "ip6",
        "securelevel",
        "sysvmsg",
        "sysvsem",
        "sysvshm",
    ] {
        out.int(name, 0)?;
    }
    if linux {
        out.int("linux", 0)?;
        out.buffer("linux.osname", LINUX_MAX_UTSNAME)?;
        out.buffer("linux.osrelease", LINUX_MAX_UTSNAME)?;
    }
    out.buffer("ip4.addr", MAX_AF_IPS * 4)?;
    out.buffer("ip6.addr", MAX_AF_IPS * 16)?;
    for name in allow {
        out.int(&format!("allow.{name}"), 0)?;
    }
    out.errmsg()?;
    Ok(out)
}

fn ip_mode(value: Option<c_int>) -> IpMode {
    match value {
        Some(1) => IpMode::New,
        Some(2) => IpMode::Inherit,
        _ => IpMode::Disable,
    }
}

/// The Linux values asked for, when they were: `linux` is new (1) or inherit (2).
fn linux_info(p: &Params) -> Option<JailLinux> {
    let mode = match p.int_value("linux")? {
        1 => JailSys::New,
        _ => JailSys::Inherit,
    };
    Some(JailLinux {
        mode,
        osname: p.string_value("linux.osname"),
        osrelease: p.string_value("linux.osrelease"),
    })
}

fn info(jid: c_int, p: &Params, allow: &[&str]) -> JailInfo {
    let int = |name| p.int_value(name).unwrap_or(0);
    let addrs = |name, size| {
        p.value(name)
            .unwrap_or_default()
            .chunks_exact(size)
            .map(<[u8]>::to_vec)
            .collect::<Vec<_>>()
    };
    JailInfo {
        jid: Jid(jid),
        name: p.string_value("name"),
        path: p.string_value("path"),
        hostname: p.string_value("host.hostname"),
        persist: int("persist") != 0,
        vnet: int("vnet") == VnetMode::New as c_int,
        dying: int("dying") != 0,
        enforce_statfs: int("enforce_statfs") as u32,
        children_max: int("children.max") as u32,
        devfs_ruleset: int("devfs_ruleset") as u32,
        ip4: ip_mode(p.int_value("ip4")),
        ip4_addrs: addrs("ip4.addr", 4)
            .into_iter()
            .filter_map(|a| <[u8; 4]>::try_from(a).ok().map(Ipv4Addr::from))
            .collect(),
        ip6: ip_mode(p.int_value("ip6")),
        ip6_addrs: addrs("ip6.addr", 16)
            .into_iter()
            .filter_map(|a| <[u8; 16]>::try_from(a).ok().map(Ipv6Addr::from))
            .collect(),
        allow: allow
            .iter()
            .filter(|name| p.int_value(&format!("allow.{name}")).unwrap_or(0) != 0)
            .map(|name| name.to_string())
            .collect(),
        securelevel: int("securelevel"),
        sysvmsg: ip_mode(p.int_value("sysvmsg")),
        sysvsem: ip_mode(p.int_value("sysvsem")),
        sysvshm: ip_mode(p.int_value("sysvshm")),
        linux: linux_info(p),
    }
}

impl<S: Syscalls> FreeBsd<S> {
    /// The `allow.*` names this kernel has: those compiled into its release (by its
    /// `kern.osreldate`), and those of the modules it has loaded.
    fn allow_names(&self) -> KResult<Vec<&'static str>> {
        let release = match self.sysctl("kern.osreldate")? {
            SysctlValue::Int(osreldate) => Release::from_osreldate(osreldate),
            SysctlValue::String(_) => return Err(fail(Op::Sysctl, Errno::EINVAL)),
        };
        let mut names = release.static_allow().to_vec();
        for (name, module) in MODULE_ALLOW {
            if module.map_or(Ok(true), |m| self.module_loaded(m))? {
                names.push(name);
            }
        }
        Ok(names)
    }
}

impl<S: Syscalls> Jails for FreeBsd<S> {
    fn jail_set(&self, params: &JailParams, flags: JailFlags) -> KResult<Jid> {
        let op = Op::JailSet;
        let mut p = set_params(params).map_err(|e| fail(op, e))?;
        // SAFETY: the iovecs point into `p`, live and sized as they say, errmsg writable.
        let result = p.call(|iov| unsafe { self.sys.jail_set(iov, flags.0 as c_int) });
        result.map(Jid).map_err(|e| p.error(op, e))
    }

    fn jail_get(&self, key: &JailKey, flags: JailFlags) -> KResult<JailInfo> {
        let op = Op::JailGet;
        let mut allow = self.allow_names()?;
        // The linux* parameters exist only while linux_common is loaded.
        let mut linux = self.module_loaded(LINUX_COMMON_MODULE)?;
        loop {
            let mut p = get_params(key, &allow, linux).map_err(|e| fail(op, e))?;
            // SAFETY: the iovecs point into `p`, every value a writable buffer of its length.
            match p.call(|iov| unsafe { self.sys.jail_get(iov, flags.0 as c_int) }) {
                Ok(jid) => return Ok(info(jid, &p, &allow)),
                Err(errno) => {
                    let error = p.error(op, errno);
                    let unknown = match &error {
                        KernelError::Errno {
                            message: Some(m), ..
                        } if errno == Errno::EINVAL => m.strip_prefix("unknown parameter: "),
                        _ => None,
                    };
                    // A permission this kernel still lacks (one believed compiled in, UNCONFIRMED
                    // in `MODULE_ALLOW`), or linux* after linux_common went: ask again without.
                    let allow_at = unknown
                        .and_then(|u| u.strip_prefix("allow."))
                        .and_then(|u| allow.iter().position(|a| *a == u));
                    match (allow_at, unknown) {
                        (Some(at), _) => {
                            allow.remove(at);
                        }
                        (None, Some(u)) if linux && u.starts_with("linux") => linux = false,
                        _ => return Err(error),
                    }
                }
            }
        }
    }

    fn jail_remove(&self, jid: Jid) -> KResult<()> {
        self.sys
            .jail_remove(jid.0)
            .map_err(|e| fail(Op::JailRemove, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syscalls::consts::CTLTYPE_INT;
    use crate::syscalls::MockSyscalls;
    use crate::test_support::{backend, pairs, put, with_sysctl};
    use zelle_core::kernel::JailSys3;

    fn int(v: c_int) -> Option<Vec<u8>> {
        Some(v.to_ne_bytes().to_vec())
    }

    fn text(s: &str) -> Option<Vec<u8>> {
        Some(format!("{s}\0").into_bytes())
    }

    /// A kernel of `release` with the modules `loaded`, as jail_get asks it.
    fn kernel_of(mock: &mut MockSyscalls, release: Release, loaded: &'static [&'static str]) {
        let osreldate = release.osreldate() as c_int;
        with_sysctl(
            mock,
            "kern.osreldate",
            CTLTYPE_INT,
            osreldate.to_ne_bytes().to_vec(),
        );
        mock.expect_modfind().returning(move |name| {
            match loaded.iter().position(|m| m.as_bytes() == name.to_bytes()) {
                Some(at) => Ok(at as c_int + 1),
                None => Err(Errno::ENOENT),
            }
        });
    }

    /// The `allow.*` names a jail_get request asks for.
    fn asked_allow(iov: &[iovec]) -> Vec<String> {
        // SAFETY: the backend's iovecs point into its own buffers.
        unsafe { pairs(iov) }
            .into_iter()
            .filter_map(|(n, _)| n.strip_prefix("allow.").map(str::to_string))
            .collect()
    }

    #[test]
    fn jail_set_sends_every_parameter_as_libjail_would() {
        let params = JailParams {
            name: Some("web".into()),
            path: Some("/jails/web".into()),
            persist: Some(true),
            vnet: Some(VnetMode::New),
            hostname: Some("web.example".into()),
            enforce_statfs: Some(1),
            children_max: Some(0),
            devfs_ruleset: Some(4),
            allow: vec![("mount".into(), true), ("mount.devfs".into(), false)],
            ..JailParams::default()
        };
        let mut mock = MockSyscalls::new();
        mock.expect_jail_set()
            .withf(|iov, &flags| {
                // SAFETY: the backend's iovecs point into its own buffers.
                let got = unsafe { pairs(iov) };
                let want = vec![
                    ("name".to_string(), text("web")),
                    ("path".into(), text("/jails/web")),
                    ("persist".into(), None),
                    ("vnet".into(), int(1)),
                    ("host.hostname".into(), text("web.example")),
                    ("enforce_statfs".into(), int(1)),
                    ("children.max".into(), int(0)),
                    ("devfs_ruleset".into(), int(4)),
                    ("allow.mount".into(), None),
                    ("allow.mount.nodevfs".into(), None),
                    ("errmsg".into(), Some(vec![0; ERRMSG_LEN])),
                ];
                flags == 1 && got == want
            })
            .times(1)
            .returning(|_, _| Ok(7));
        assert_eq!(
            backend(mock).jail_set(&params, JailFlags::CREATE).unwrap(),
            Jid(7)
        );
    }

    #[test]
    fn jail_set_sends_securelevel_sysv_and_linux_as_libjail_would() {
        let params = JailParams {
            name: Some("lx".into()),
            securelevel: Some(3),
            sysvmsg: Some(JailSys3::New),
            sysvsem: Some(JailSys3::Inherit),
            sysvshm: Some(JailSys3::Disable),
            linux: Some(JailSys::New),
            linux_osname: Some("Linux".into()),
            linux_osrelease: Some("5.15.0".into()),
            allow: vec![("sysvipc".into(), true)],
            ..JailParams::default()
        };
        let mut mock = MockSyscalls::new();
        mock.expect_jail_set()
            .withf(|iov, &flags| {
                // SAFETY: the backend's iovecs point into its own buffers.
                let got = unsafe { pairs(iov) };
                let want = vec![
                    ("name".to_string(), text("lx")),
                    ("securelevel".into(), int(3)),
                    ("sysvmsg".into(), int(1)),
                    ("sysvsem".into(), int(2)),
                    ("sysvshm".into(), int(0)),
                    ("linux".into(), int(1)),
                    ("linux.osname".into(), text("Linux")),
                    ("linux.osrelease".into(), text("5.15.0")),
                    ("allow.sysvipc".into(), None),
                    ("errmsg".into(), Some(vec![0; ERRMSG_LEN])),
                ];
                flags == 2 && got == want
            })
            .times(1)
            .returning(|_, _| Ok(4));
        assert_eq!(
            backend(mock).jail_set(&params, JailFlags::UPDATE).unwrap(),
            Jid(4)
        );
    }

    #[test]
    fn jail_get_asks_for_linux_only_while_linux_common_is_loaded() {
        for loaded in [&[][..], &["linuxcommon"][..]] {
            let with_linux = !loaded.is_empty();
            let mut mock = MockSyscalls::new();
            kernel_of(&mut mock, Release::V14_1, loaded);
            mock.expect_jail_get()
                .withf(move |iov, _| {
                    // SAFETY: the backend's iovecs point into its own buffers.
                    let got = unsafe { pairs(iov) };
                    let has = |name: &str, value: Option<Vec<u8>>| {
                        got.contains(&(name.to_string(), value))
                    };
                    let buffer = Some(vec![0; LINUX_MAX_UTSNAME]);
                    has("securelevel", int(0))
                        && has("sysvmsg", int(0))
                        && has("linux", int(0)) == with_linux
                        && has("linux.osname", buffer.clone()) == with_linux
                        && has("linux.osrelease", buffer) == with_linux
                })
                .times(1)
                .returning(move |iov, _| {
                    answer(iov);
                    if with_linux {
                        // SAFETY: the linux buffers are LINUX_MAX_UTSNAME bytes.
                        unsafe {
                            put(iov, "linux", &2i32.to_ne_bytes(), false);
                            put(iov, "linux.osname", b"Linux\0", false);
                            put(iov, "linux.osrelease", b"4.4.0\0", false);
                        }
                    }
                    Ok(5)
                });
            let info = backend(mock)
                .jail_get(&JailKey::Jid(Jid(5)), JailFlags(0))
                .unwrap();
            let expected = with_linux.then(|| JailLinux {
                mode: JailSys::Inherit,
                osname: "Linux".into(),
                osrelease: "4.4.0".into(),
            });
            assert_eq!(info.linux, expected);
        }
    }

    #[test]
    fn jail_set_reports_the_kernels_text() {
        let mut mock = MockSyscalls::new();
        mock.expect_jail_set().times(1).returning(|iov, _| {
            // SAFETY: the errmsg buffer is ERRMSG_LEN bytes.
            unsafe { put(iov, "errmsg", b"jail \"web\" already exists\0", false) };
            Err(Errno::EEXIST)
        });
        let params = JailParams {
            name: Some("web".into()),
            persist: Some(false),
            jid: Some(3),
            ip4: Some(IpMode::New),
            ip4_addrs: vec![Ipv4Addr::new(10, 0, 0, 2), Ipv4Addr::new(10, 0, 0, 3)],
            ..JailParams::default()
        };
        let err = backend(mock)
            .jail_set(&params, JailFlags::UPDATE)
            .unwrap_err();
        assert_eq!(
            err,
            KernelError::with_message(Op::JailSet, Errno::EEXIST, "jail \"web\" already exists")
        );
    }

    #[test]
    fn addresses_and_nopersist_are_encoded() {
        let mut mock = MockSyscalls::new();
        mock.expect_jail_set()
            .withf(|iov, _| {
                // SAFETY: as above.
                let got = unsafe { pairs(iov) };
                got.contains(&("nopersist".into(), None))
                    && got.contains(&("ip4.addr".into(), Some(vec![10, 0, 0, 2, 10, 0, 0, 3])))
                    && got.contains(&("ip6".into(), int(2)))
                    && got.contains(&(
                        "ip6.addr".into(),
                        Some(Ipv6Addr::LOCALHOST.octets().to_vec()),
                    ))
            })
            .returning(|_, _| Ok(3));
        let params = JailParams {
            jid: Some(3),
            persist: Some(false),
            ip4_addrs: vec![Ipv4Addr::new(10, 0, 0, 2), Ipv4Addr::new(10, 0, 0, 3)],
            ip6: Some(IpMode::Inherit),
            ip6_addrs: vec![Ipv6Addr::LOCALHOST],
            ..JailParams::default()
        };
        backend(mock).jail_set(&params, JailFlags::UPDATE).unwrap();
    }

    #[test]
    fn a_nul_in_a_value_is_refused_before_any_call() {
        let params = JailParams {
            name: Some("a\0b".into()),
            ..JailParams::default()
        };
        let err = backend(MockSyscalls::new())
            .jail_set(&params, JailFlags::CREATE)
            .unwrap_err();
        assert_eq!(err.code(), Some(Errno::EINVAL));
    }

    /// What a kernel answers for jail 5 "web": the values written into their buffers.
    fn answer(iov: &mut [iovec]) {
        // SAFETY: the backend's buffers are at least as long as these values.
        unsafe {
            put(iov, "jid", &5i32.to_ne_bytes(), false);
            put(iov, "name", b"web\0", false);
            put(iov, "path", b"/jails/web\0", false);
            put(iov, "host.hostname", b"web.example\0", false);
            put(iov, "persist", &1i32.to_ne_bytes(), false);
            put(iov, "vnet", &2i32.to_ne_bytes(), false);
            put(iov, "enforce_statfs", &2i32.to_ne_bytes(), false);
            put(iov, "children.max", &0i32.to_ne_bytes(), false);
            put(iov, "devfs_ruleset", &4i32.to_ne_bytes(), false);
            put(iov, "ip4", &0i32.to_ne_bytes(), false);
            put(iov, "ip4.addr", &[10, 0, 0, 2, 10, 0, 0, 3], true);
            put(iov, "ip6", &2i32.to_ne_bytes(), false);
            put(iov, "ip6.addr", &[], true);
            put(iov, "allow.mount", &1i32.to_ne_bytes(), false);
            put(iov, "securelevel", &3i32.to_ne_bytes(), false);
            put(iov, "sysvmsg", &1i32.to_ne_bytes(), false);
            put(iov, "sysvsem", &2i32.to_ne_bytes(), false);
            put(iov, "sysvshm", &0i32.to_ne_bytes(), false);
        }
    }

    #[test]
    fn jail_get_by_name_fills_the_info() {
        let mut mock = MockSyscalls::new();
        kernel_of(&mut mock, Release::V14_1, &[]);
        mock.expect_jail_get()
            .withf(|iov, &flags| {
                // SAFETY: as above.
                let got = unsafe { pairs(iov) };
                let name = got
                    .iter()
                    .find(|(n, _)| n == "name")
                    .and_then(|(_, v)| v.clone())
                    .unwrap();
                flags == 8
                    && name.starts_with(b"web\0")
                    && name.len() == MAXHOSTNAMELEN
                    && got.contains(&("jid".into(), int(0)))
            })
            .times(1)
            .returning(|iov, _| {
                answer(iov);
                Ok(5)
            });
        let info = backend(mock)
            .jail_get(&JailKey::Name("web".into()), JailFlags::DYING)
            .unwrap();
        assert_eq!(
            info,
            JailInfo {
                jid: Jid(5),
                name: "web".into(),
                path: "/jails/web".into(),
                hostname: "web.example".into(),
                persist: true,
                vnet: false,
                dying: false,
                enforce_statfs: 2,
                children_max: 0,
                devfs_ruleset: 4,
                ip4: IpMode::Disable,
                ip4_addrs: vec![Ipv4Addr::new(10, 0, 0, 2), Ipv4Addr::new(10, 0, 0, 3)],
                ip6: IpMode::Inherit,
                ip6_addrs: vec![],
                allow: vec!["mount".into()],
                securelevel: 3,
                sysvmsg: JailSys3::New,
                sysvsem: JailSys3::Inherit,
                sysvshm: JailSys3::Disable,
                linux: None,
            }
        );
    }

    #[test]
    fn jail_get_asks_for_the_permissions_of_the_running_release_and_modules() {
        for (release, loaded, routing, vmm) in [
            (Release::V14_1, &[][..], false, false),
            (Release::V14_3, &["vmm"][..], true, true),
        ] {
            let mut mock = MockSyscalls::new();
            kernel_of(&mut mock, release, loaded);
            mock.expect_jail_get()
                .withf(move |iov, _| {
                    let asked = asked_allow(iov);
                    asked.contains(&"mount".to_string())
                        && asked.contains(&"mount.devfs".to_string())
                        && !asked.contains(&"mount.nullfs".to_string())
                        && asked.contains(&"routing".to_string()) == routing
                        && asked.contains(&"vmm".to_string()) == vmm
                })
                .times(1)
                .returning(|iov, _| {
                    answer(iov);
                    Ok(5)
                });
            let info = backend(mock)
                .jail_get(&JailKey::Jid(Jid(5)), JailFlags(0))
                .unwrap();
            assert_eq!(info.allow, vec!["mount".to_string()], "{release}");
        }
    }

    #[test]
    fn jail_get_asks_again_without_a_permission_the_kernel_lacks() {
        let mut mock = MockSyscalls::new();
        kernel_of(&mut mock, Release::V14_1, &[]);
        let mut seq = mockall::Sequence::new();
        mock.expect_jail_get()
            .withf(|iov, _| asked_allow(iov).contains(&"mount.procfs".to_string()))
            .times(1)
            .in_sequence(&mut seq)
            .returning(|iov, _| {
                // SAFETY: the errmsg buffer is ERRMSG_LEN bytes.
                unsafe {
                    put(
                        iov,
                        "errmsg",
                        b"unknown parameter: allow.mount.procfs\0",
                        false,
                    )
                };
                Err(Errno::EINVAL)
            });
        mock.expect_jail_get()
            .withf(|iov, _| {
                // SAFETY: as above.
                let got = unsafe { pairs(iov) };
                !asked_allow(iov).contains(&"mount.procfs".to_string())
                    && got.contains(&("lastjid".into(), int(4)))
            })
            .times(1)
            .in_sequence(&mut seq)
            .returning(|iov, _| {
                answer(iov);
                Ok(5)
            });
        let info = backend(mock)
            .jail_get(&JailKey::After(Jid(4)), JailFlags(0))
            .unwrap();
        assert_eq!(info.jid, Jid(5));
    }

    #[test]
    fn jail_get_asks_again_without_linux_when_linux_common_went() {
        let mut mock = MockSyscalls::new();
        kernel_of(&mut mock, Release::V14_1, &["linuxcommon"]);
        let asks_linux = |iov: &[iovec]| {
            // SAFETY: the backend's iovecs point into its own buffers.
            unsafe { pairs(iov) }.iter().any(|(n, _)| n == "linux")
        };
        let mut seq = mockall::Sequence::new();
        mock.expect_jail_get()
            .withf(move |iov, _| asks_linux(iov))
            .times(1)
            .in_sequence(&mut seq)
            .returning(|iov, _| {
                // SAFETY: the errmsg buffer is ERRMSG_LEN bytes.
                unsafe { put(iov, "errmsg", b"unknown parameter: linux\0", false) };
                Err(Errno::EINVAL)
            });
        mock.expect_jail_get()
            .withf(move |iov, _| !asks_linux(iov))
            .times(1)
            .in_sequence(&mut seq)
            .returning(|iov, _| {
                answer(iov);
                Ok(5)
            });
        let info = backend(mock)
            .jail_get(&JailKey::Jid(Jid(5)), JailFlags(0))
            .unwrap();
        assert_eq!(info.linux, None);
    }

    #[test]
    fn jail_get_misses_carry_the_kernels_text() {
        let mut mock = MockSyscalls::new();
        kernel_of(&mut mock, Release::V14_1, &[]);
        mock.expect_jail_get()
            .withf(|iov, _| {
                // SAFETY: as above.
                unsafe { pairs(iov) }.contains(&("jid".into(), int(9)))
            })
            .returning(|iov, _| {
                // SAFETY: as above.
                unsafe { put(iov, "errmsg", b"jail 9 not found\0", false) };
                Err(Errno::ENOENT)
            });
        let err = backend(mock)
            .jail_get(&JailKey::Jid(Jid(9)), JailFlags(0))
            .unwrap_err();
        assert_eq!(
            err,
            KernelError::with_message(Op::JailGet, Errno::ENOENT, "jail 9 not found")
        );
    }

    #[test]
    fn jail_remove_passes_the_jid_and_errno() {
        let mut mock = MockSyscalls::new();
        mock.expect_jail_remove()
            .withf(|&jid| jid == 12)
            .returning(|_| Err(Errno::EINVAL));
        let err = backend(mock).jail_remove(Jid(12)).unwrap_err();
        assert_eq!(err, KernelError::errno(Op::JailRemove, Errno::EINVAL));
    }
}
