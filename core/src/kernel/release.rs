//! The FreeBSD releases zelle knows apart, and what differs between them.
//!
//! A rule that changed between releases is a method here, so the simulated machine and the real
//! backend answer it from one place. A release is named by `kern.osreldate`
//! (`__FreeBSD_version`, sys/sys/param.h), never by the text of `kern.osrelease`.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A FreeBSD release, oldest first (the order is the release order).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub enum Release {
    /// 13.0-RELEASE before the fix of PR #530: SIOCAIFADDR with a non-zero `ifra_vhid` and no
    /// carp(4) calls a NULL pointer for a negative vhid (FACTS.md §1, `in.c:in_aifaddr_ioctl`).
    V13_0PreFix,
    /// 13.1 to 13.x: the vhid check fixed (EPROTONOSUPPORT).
    V13,
    /// 14.0-RELEASE.
    V14_0,
    /// 14.1 and the later 14.x before 14.3.
    #[default]
    V14_1,
    /// 14.3 and later 14.x: allow.routing exists.
    V14_3,
    /// 15.0.
    V15_0,
}

impl Release {
    pub const ALL: [Release; 6] = [
        Release::V13_0PreFix,
        Release::V13,
        Release::V14_0,
        Release::V14_1,
        Release::V14_3,
        Release::V15_0,
    ];

    /// `kern.osreldate` of the release (`__FreeBSD_version` of its releng branch, the first of
    /// the range for `V13`: 13.0 1300139, 13.1 1301000, 14.0 1400097, 14.1 1401000, 14.3
    /// 1403000, 15.0 1500068 — FACTS-pf-releases.md for 15.0; the others are the Porter's
    /// Handbook values, UNCONFIRMED here).
    pub fn osreldate(self) -> i64 {
        match self {
            Release::V13_0PreFix => 1_300_139,
            Release::V13 => 1_301_000,
            Release::V14_0 => 1_400_097,
            Release::V14_1 => 1_401_000,
            Release::V14_3 => 1_403_000,
            Release::V15_0 => 1_500_068,
        }
    }

    /// `kern.osrelease` of the release.
    pub fn osrelease(self) -> &'static str {
        match self {
            Release::V13_0PreFix => "13.0-RELEASE",
            Release::V13 => "13.1-RELEASE",
            Release::V14_0 => "14.0-RELEASE",
            Release::V14_1 => "14.1-RELEASE",
            Release::V14_3 => "14.3-RELEASE",
            Release::V15_0 => "15.0-RELEASE",
        }
    }

    /// The newest release modelled whose osreldate is at most `osreldate` (a running kernel's
    /// `kern.osreldate`); anything older than 13.0 counts as 13.0. 13.0 counts as before the
    /// vhid fix: a patch level does not change `__FreeBSD_version`.
    pub fn from_osreldate(osreldate: i64) -> Release {
        Release::ALL
            .into_iter()
            .rev()
            .find(|r| r.osreldate() <= osreldate)
            .unwrap_or(Release::V13_0PreFix)
    }

    /// Whether a non-zero `ifra_vhid` without carp(4) is refused (EPROTONOSUPPORT) rather than
    /// panicking the kernel for a negative one.
    pub fn vhid_fixed(self) -> bool {
        self != Release::V13_0PreFix
    }

    /// Whether jail_set(2) renumbers a dying jail whose jid a new jail asks for, and never
    /// brings a dying jail back (kern_jail.c since freebsd-src ed31b3f4a146, main 2023-11-30:
    /// `kern_jail_set` notes the dying jail as `deadpr` and gives it `get_next_deadid`, counting
    /// down from JAIL_MAX). Up to 14.0 a dying jail is found by its jid (EEXIST on create) and
    /// JAIL_DYING with persist resurrects it. In 14.1 UNCONFIRMED: whether the change was merged
    /// to stable/14 before 14.1 was not read; modelled as merged.
    pub fn renumbers_dying_jails(self) -> bool {
        self >= Release::V14_1
    }

    /// Whether nullfs may mount a regular file over a regular file (`VFCF_FILEMOUNT`, read in
    /// null_vfsops.c and `vfs_domount_first` of vfs_mount.c [M]; added to main in December
    /// 2022, so in 14.0). Before it, a file mount point is ENOTDIR like for any file system.
    /// UNCONFIRMED: whether it was merged to stable/13 for 13.2; `V13` (13.1 onwards) is
    /// modelled without it.
    pub fn nullfs_file_mounts(self) -> bool {
        self >= Release::V14_0
    }

    /// The Linux release a jail reports when none is set (`LINUX_VERSION_STR`,
    /// compat/linux/linux_mib.h): "5.15.0" in the main/15 copy [M], "4.4.0" in a late 13/14
    /// copy [O14] (FACTS-kernel-runtime.md §6). UNCONFIRMED which release switched: modelled
    /// as 15.0.
    pub fn linux_default_osrelease(self) -> &'static str {
        if self >= Release::V15_0 {
            "5.15.0"
        } else {
            "4.4.0"
        }
    }

    /// The `allow.*` permissions compiled into kern_jail.c (`pr_flag_allow`), by their name
    /// after "allow.". Module-provided ones (`allow.mount.<fs>`, `allow.vmm`, ...) are in
    /// `MODULE_ALLOW`.
    ///
    /// The 12 from set_hostname to suser were read in kern_jail.c [14]; extattr, adjtime and
    /// settime are from jail(8) of 14 (UNCONFIRMED in the source); allow.routing arrived in
    /// 14.3 (2025), so 14.1 answers EINVAL "unknown parameter: allow.routing"
    /// (FACTS-kernel-errno.md §10). 13.x: extattr, adjtime and settime are UNCONFIRMED there and
    /// listed as in 14.
    pub fn static_allow(self) -> &'static [&'static str] {
        /// Oldest first: each release has a prefix of the list.
        const ALLOW: &[&str] = &[
            "set_hostname",
            "sysvipc",
            "raw_sockets",
            "chflags",
            "mount",
            "quotas",
            "socket_af",
            "mlock",
            "reserved_ports",
            "read_msgbuf",
            "unprivileged_proc_debug",
            "suser",
            "extattr",
            "adjtime",
            "settime",
            "routing",
        ];
        let known = if self >= Release::V14_3 {
            ALLOW.len()
        } else {
            ALLOW.len() - 1
        };
        &ALLOW[..known]
    }
}

impl fmt::Display for Release {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.osrelease())
    }
}

/// The `allow.*` permissions a module registers when it loads (`SYSCTL_JAIL_PARAM_ALLOW`,
/// `prison_add_vfs`), with the module whose loading brings them (modfind(2) name); `None` for
/// one compiled into GENERIC, which always exists. They exist only while their module is loaded
/// (FACTS-kernel-runtime.md §7). UNCONFIRMED: devfs, procfs and tmpfs compiled in; vmm's
/// `allow.vmm` (vmm.ko, 14.x per jail(8)) and nfsd's `allow.nfsd` (nfsd.ko; static under VIMAGE
/// in 15, FACTS-kernel-errno.md §10, not modelled) follow their module. Every file system
/// here registers with VFCF_JAIL (`prison_add_vfs` makes its `allow.mount.<fs>`): read in
/// `VFS_SET(null_vfsops, nullfs, ... VFCF_JAIL ...)`, `PSEUDOFS(procfs, 1, VFCF_JAIL)`,
/// `PSEUDOFS(linsysfs, 1, VFCF_JAIL)`, `VFS_SET(zfs_vfsops, zfs, VFCF_JAIL ...)` of
/// freebsd-src, and for devfs, fdescfs, tmpfs and linprocfs in [M] (FACTS-kernel-runtime.md §7).
pub const MODULE_ALLOW: &[(&str, Option<&str>)] = &[
    ("mount.devfs", None),
    ("mount.procfs", None),
    ("mount.tmpfs", None),
    ("mount.nullfs", Some("nullfs")),
    ("mount.fdescfs", Some("fdescfs")),
    ("mount.linprocfs", Some("linprocfs")),
    ("mount.linsysfs", Some("linsysfs")),
    ("mount.zfs", Some("zfs")),
    ("nfsd", Some("nfsd")),
    ("vmm", Some("vmm")),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn releases_map_to_and_from_osreldate() {
        for release in Release::ALL {
            assert_eq!(Release::from_osreldate(release.osreldate()), release);
        }
        assert_eq!(Release::from_osreldate(1_402_000), Release::V14_1);
        assert_eq!(Release::from_osreldate(1_302_001), Release::V13, "13.2");
        assert_eq!(Release::from_osreldate(1_404_000), Release::V14_3);
        assert_eq!(Release::from_osreldate(1_600_000), Release::V15_0);
        assert_eq!(Release::from_osreldate(1_200_000), Release::V13_0PreFix);
        assert!(Release::ALL.windows(2).all(|w| w[0] < w[1]));
        assert!(Release::ALL
            .windows(2)
            .all(|w| w[0].osreldate() < w[1].osreldate()));
    }

    #[test]
    fn allow_routing_arrives_in_14_3() {
        let has = |r: Release| r.static_allow().contains(&"routing");
        assert!(!has(Release::V14_1));
        assert!(!has(Release::V14_0));
        assert!(has(Release::V14_3));
        assert!(has(Release::V15_0));
    }

    #[test]
    fn dying_jails_are_renumbered_from_14_1() {
        assert!(!Release::V14_0.renumbers_dying_jails());
        assert!(!Release::V13.renumbers_dying_jails());
        assert!(Release::V14_1.renumbers_dying_jails());
        assert!(Release::V15_0.renumbers_dying_jails());
    }

    #[test]
    fn module_names_are_not_compiled_in() {
        for (name, _) in MODULE_ALLOW {
            for release in Release::ALL {
                assert!(!release.static_allow().contains(name), "{name}");
            }
        }
    }
}
