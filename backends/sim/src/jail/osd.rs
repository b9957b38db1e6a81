//! The jail parameters that other parts of the kernel add through the jail OSD methods (check,
//! create, set, get), called by kern_jail_set after its own checks and before its "unknown
//! parameter" check:
//!
//! - SysV IPC: `sysvmsg`, `sysvsem`, `sysvshm` (`sys/kern/sysv_msg.c`: `msginit`,
//!   `msg_prison_check`, `msg_prison_set`, `msg_prison_get`; compiled into GENERIC, so they
//!   always exist). sysv_sem.c and sysv_shm.c are taken to follow sysv_msg.c rule by rule
//!   (UNCONFIRMED: not read; FACTS-kernel-runtime.md §7).
//! - Linux emulation: `linux`, `linux.osname`, `linux.osrelease` (`compat/linux/linux_mib.c`:
//!   `linux_prison_check`, `linux_prison_create`, `linux_prison_set`, `linux_prison_get`,
//!   `linux_map_osrel`, `linux_osd_jail_register`), registered only while linux_common.ko is
//!   loaded (`linux_common_modevent`); FACTS-kernel-runtime.md §6, FACTS-kernel-errno.md §10.

use super::Jail;
use crate::fault::Op;
use crate::machine::Machine;
use serde::{Deserialize, Serialize};
use zelle_core::kernel::jail::{LINUX_COMMON_MODULE, LINUX_MAX_UTSNAME};
use zelle_core::kernel::{
    Errno, JailLinux, JailParams, JailSys, JailSys3, Jid, KResult, KernelError,
};

/// The SysV parameters in the order a jail keeps them.
pub const SYSV_PARAMS: [&str; 3] = ["sysvmsg", "sysvsem", "sysvshm"];

/// A jail's own Linux values (`struct linux_prison`; `pr_oss_version` is not modelled).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinuxValues {
    pub osname: String,
    pub osrelease: String,
}

/// What a jail_set asks of these parameters.
#[derive(Default)]
pub(super) struct OsdRequest {
    /// Per SYSV_PARAMS: the value given, which alone is checked (`msg_prison_check`).
    sysv_given: [Option<JailSys3>; 3],
    /// What is set: the value given, else what allow.sysvipc / allow.nosysvipc mean (inherit
    /// / disable: `msg_prison_set`), else nothing.
    sysv: [Option<JailSys3>; 3],
    /// The `linux` value given; any linux.* given means new (`linux_prison_set`).
    linux: Option<JailSys>,
    osname: Option<String>,
    osrelease: Option<String>,
}

/// strtol(3) in base 10 from `at`: the value and where the digits end (`at` when there are
/// none). Overflow saturates, as strtol does.
fn strtol(b: &[u8], at: usize) -> (i64, usize) {
    let mut i = at;
    while i < b.len() && (b[i] == b' ' || (b'\t'..=b'\r').contains(&b[i])) {
        i += 1;
    }
    let negative = i < b.len() && b[i] == b'-';
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    let digits = i;
    let mut value: i64 = 0;
    while i < b.len() && b[i].is_ascii_digit() {
        value = value
            .saturating_mul(10)
            .saturating_add(i64::from(b[i] - b'0'));
        i += 1;
    }
    if i == digits {
        return (0, at);
    }
    (if negative { -value } else { value }, i)
}

/// `linux_map_osrel`: "A.B.C", optionally followed by "-" and at least one more character,
/// with A.B.C at least 1.0.0; the version as `LINUX_KERNVER` packs it. The suffix is accepted
/// in [M] (main/15); an older copy refuses it (UNCONFIRMED from which release it is taken).
pub(crate) fn linux_map_osrel(release: &str) -> Option<i64> {
    let b = release.as_bytes();
    let end = b.len();
    let (v0, sep) = strtol(b, 0);
    if sep == 0 || sep + 1 >= end || b[sep] != b'.' {
        return None;
    }
    let (v1, sep1) = strtol(b, sep + 1);
    if sep1 == sep + 1 || sep1 + 1 >= end || b[sep1] != b'.' {
        return None;
    }
    let (v2, sep2) = strtol(b, sep1 + 1);
    if sep2 == sep1 + 1 || (sep2 != end && (sep2 + 1 >= end || b[sep2] != b'-')) {
        return None;
    }
    let version = (v0 << 16) + (v1 << 8) + v2;
    (version >= 1 << 16).then_some(version)
}

/// A string parameter as `linux_prison_check` takes it: a C string (EINVAL otherwise) of at
/// most LINUX_MAX_UTSNAME bytes with its NUL (ENAMETOOLONG "<name> too long").
fn check_utsname(name: &str, value: &str) -> KResult<()> {
    if value.contains('\0') {
        return Err(KernelError::errno(Op::JailSet, Errno::EINVAL));
    }
    if value.len() + 1 > LINUX_MAX_UTSNAME {
        return Err(KernelError::with_message(
            Op::JailSet,
            Errno::ENAMETOOLONG,
            format!("{name} too long"),
        ));
    }
    Ok(())
}

impl Machine {
    /// Whether the linux* parameters exist now.
    pub(crate) fn linux_registered(&self) -> bool {
        self.host.has_module(LINUX_COMMON_MODULE)
    }

    /// prison0's Linux values (`lprison0`): "Linux" and the release's default version.
    fn linux_values0(&self) -> LinuxValues {
        LinuxValues {
            osname: "Linux".into(),
            osrelease: self.release().linux_default_osrelease().into(),
        }
    }

    /// `linux_find_prison`: the values of the nearest prison at or above `jid` with its own.
    fn linux_find(&self, mut jid: Jid) -> (Jid, LinuxValues) {
        for _ in 0..=self.jails.jails.len() {
            let Some(jail) = self.jails.jails.get(&jid) else {
                break;
            };
            if let Some(own) = &jail.linux {
                return (jid, own.clone());
            }
            jid = jail.parent;
        }
        (Jid(0), self.linux_values0())
    }

    /// `linux_osd_jail_register` on loading linux_common: every prison gets its own copy of
    /// the values it would have found (prison0's, as none has its own yet). Unloading drops
    /// them with the parameters.
    pub(crate) fn linux_register(&mut self, loaded: bool) {
        let jids: Vec<Jid> = self.jails.jails.keys().copied().collect();
        for jid in jids {
            let values = loaded.then(|| self.linux_find(jid).1);
            if let Some(jail) = self.jails.jails.get_mut(&jid) {
                jail.linux = values;
            }
        }
    }

    /// The request's SysV and Linux parameters, and the first linux* name that does not exist
    /// because linux_common is not loaded (in the order the backend sends them).
    pub(super) fn osd_request(&self, p: &JailParams) -> (OsdRequest, Option<String>) {
        let sysvipc = p
            .allow
            .iter()
            .rev()
            .find(|(name, _)| name == "sysvipc")
            .map(|(_, on)| {
                if *on {
                    JailSys3::Inherit
                } else {
                    JailSys3::Disable
                }
            });
        let given = [p.sysvmsg, p.sysvsem, p.sysvshm];
        let mut r = OsdRequest {
            sysv_given: given,
            sysv: given.map(|g| g.or(sysvipc)),
            ..OsdRequest::default()
        };
        let names = [
            ("linux", p.linux.is_some()),
            ("linux.osname", p.linux_osname.is_some()),
            ("linux.osrelease", p.linux_osrelease.is_some()),
        ];
        if !self.linux_registered() {
            let unknown = names
                .iter()
                .find(|(_, given)| *given)
                .map(|(n, _)| n.to_string());
            return (r, unknown);
        }
        r.linux = p.linux;
        r.osname = p.linux_osname.clone();
        r.osrelease = p.linux_osrelease.clone();
        (r, None)
    }

    /// The modules' PR_METHOD_CHECK, in registration order (SysV at boot, Linux when loaded):
    /// new or inherit under a parent with it disabled is EPERM (`msg_prison_check`); Linux
    /// names and releases as `linux_prison_check` wants them.
    pub(super) fn osd_check(&self, parent: Jid, r: &OsdRequest) -> KResult<()> {
        for (at, jsys) in r.sysv_given.iter().enumerate() {
            let wants = matches!(jsys, Some(JailSys3::New | JailSys3::Inherit));
            if wants && self.sysv_root(parent, at).is_none() {
                return Err(KernelError::errno(Op::JailSet, Errno::EPERM));
            }
        }
        if let Some(osname) = &r.osname {
            check_utsname("linux.osname", osname)?;
        }
        if let Some(osrelease) = &r.osrelease {
            check_utsname("linux.osrelease", osrelease)?;
            if linux_map_osrel(osrelease).is_none() {
                return Err(KernelError::with_message(
                    Op::JailSet,
                    Errno::EINVAL,
                    "linux.osrelease format error",
                ));
            }
        }
        Ok(())
    }

    /// The modules' PR_METHOD_CREATE for a new jail: `linux_prison_create` gives it its own
    /// copy of the values it would inherit, unless linux=inherit; SysV has no create method,
    /// so a new jail starts disabled until its set method runs.
    pub(super) fn osd_create(&mut self, jid: Jid, r: &OsdRequest) {
        if !self.linux_registered() || r.linux == Some(JailSys::Inherit) {
            return;
        }
        let values = self.linux_find(jid).1;
        if let Some(jail) = self.jails.jails.get_mut(&jid) {
            jail.linux = Some(values);
        }
    }

    /// The modules' PR_METHOD_SET.
    pub(super) fn osd_set(&mut self, jid: Jid, r: &OsdRequest) {
        for (at, jsys) in r.sysv.iter().enumerate() {
            if let Some(jsys) = jsys {
                self.sysv_set(jid, at, *jsys);
            }
        }
        if !self.linux_registered() {
            return;
        }
        let implied_new = r.osname.is_some() || r.osrelease.is_some();
        let mode = if implied_new {
            Some(JailSys::New)
        } else {
            r.linux
        };
        let own = match mode {
            None => return,
            Some(JailSys::Inherit) => None,
            Some(JailSys::New) => {
                let mut values = self.linux_find(jid).1;
                if let Some(osrelease) = &r.osrelease {
                    values.osrelease = osrelease.clone();
                }
                if let Some(osname) = &r.osname {
                    values.osname = osname.clone();
                }
                Some(values)
            }
        };
        if let Some(jail) = self.jails.jails.get_mut(&jid) {
            jail.linux = own;
        }
    }

    /// The root prison of SysV facility `at` for `jid` (the OSD value): prison0 is its own;
    /// `None` is disabled.
    fn sysv_root(&self, jid: Jid, at: usize) -> Option<Jid> {
        match self.jails.jails.get(&jid) {
            None => Some(Jid(0)),
            Some(jail) => jail.sysv[at],
        }
    }

    /// `msg_prison_set` for one facility: disable drops the jail's root and that of every
    /// descendant that had one (not below one that had none); new or inherit sets the root
    /// (itself, or the parent's, which may be none) and moves the descendants that shared the
    /// old root with it.
    fn sysv_set(&mut self, jid: Jid, at: usize, jsys: JailSys3) {
        let Some(jail) = self.jails.jails.get(&jid) else {
            return;
        };
        let old = jail.sysv[at];
        let new = match jsys {
            JailSys3::Disable => None,
            JailSys3::New => Some(jid),
            JailSys3::Inherit => self.sysv_root(jail.parent, at),
        };
        if old == new {
            return;
        }
        if let Some(j) = self.jails.jails.get_mut(&jid) {
            j.sysv[at] = new;
        }
        if old.is_none() {
            return;
        }
        // FOREACH_PRISON_DESCENDANT with `descend = 0` where the walk stops.
        let mut stack = vec![jid];
        while let Some(parent) = stack.pop() {
            let children: Vec<Jid> = self
                .jails
                .jails
                .values()
                .filter(|c| c.parent == parent)
                .map(|c| c.jid)
                .collect();
            for child in children {
                let Some(c) = self.jails.jails.get_mut(&child) else {
                    continue;
                };
                let follows = match jsys {
                    JailSys3::Disable => c.sysv[at].is_some(),
                    JailSys3::New | JailSys3::Inherit => c.sysv[at] == old,
                };
                if follows {
                    c.sysv[at] = new;
                    stack.push(child);
                }
            }
        }
    }

    /// `msg_prison_get`: disable without a root, new when the jail is its own root, inherit
    /// otherwise.
    pub(crate) fn sysv_mode(&self, jail: &Jail, at: usize) -> JailSys3 {
        match jail.sysv[at] {
            None => JailSys3::Disable,
            Some(root) if root == jail.jid => JailSys3::New,
            Some(_) => JailSys3::Inherit,
        }
    }

    /// `linux_prison_get`: new with the jail's own values, else inherit with those of the
    /// ancestor it finds. (Its `if (i)` is true for both, so an inheriting jail reports the
    /// values in force, not the "" and 0 of the branch after it.) `None` while the parameters
    /// do not exist.
    pub(crate) fn linux_info(&self, jail: &Jail) -> Option<JailLinux> {
        if !self.linux_registered() {
            return None;
        }
        let (found, values) = self.linux_find(jail.jid);
        Some(JailLinux {
            mode: if found == jail.jid {
                JailSys::New
            } else {
                JailSys::Inherit
            },
            osname: values.osname,
            osrelease: values.osrelease,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linux_releases_are_read_like_linux_map_osrel() {
        assert_eq!(linux_map_osrel("5.15.0"), Some((5 << 16) + (15 << 8)));
        assert_eq!(linux_map_osrel("1.0.0"), Some(1 << 16));
        assert_eq!(linux_map_osrel("4.4.0-zelle"), Some((4 << 16) + (4 << 8)));
        for bad in [
            "", "5", "5.15", "5.15.", "5..0", "0.9.9", "5.15.0-", "5.15.0x", "a.b.c", "5.15.0.1",
        ] {
            assert_eq!(linux_map_osrel(bad), None, "{bad:?}");
        }
    }
}
