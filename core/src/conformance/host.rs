//! Conformance rules: host facts, modfind(2) and sysctlbyname(3).
//!
//! Only what holds on any stock FreeBSD 13 or 14 host with pf, if_bridge and if_epair loaded,
//! and nothing that changes the host: every write here is one the kernel refuses.

use super::{expect_errno, Scratch};
use crate::kernel::{Errno, Kernel, SysctlValue};

/// kern.ostype is the string "FreeBSD" (kern_mib.c).
pub fn kern_ostype_reads_freebsd<K: Kernel>(k: &K, _: &dyn Scratch) {
    assert_eq!(
        k.sysctl("kern.ostype").expect("kern.ostype"),
        SysctlValue::String("FreeBSD".into())
    );
}

/// kern.osrelease is a string such as "14.1-RELEASE"; kern.securelevel and
/// net.inet.ip.forwarding are integers.
pub fn sysctls_have_their_kinds<K: Kernel>(k: &K, _: &dyn Scratch) {
    match k.sysctl("kern.osrelease").expect("kern.osrelease") {
        SysctlValue::String(release) => assert!(
            release.starts_with(|c: char| c.is_ascii_digit()) && release.contains('-'),
            "kern.osrelease {release:?}"
        ),
        other => panic!("kern.osrelease is {other:?}"),
    }
    for name in ["kern.securelevel", "net.inet.ip.forwarding"] {
        let value = k.sysctl(name).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(matches!(value, SysctlValue::Int(_)), "{name} is {value:?}");
    }
}

/// An unknown sysctl name is ENOENT, read or written (name2oid).
pub fn unknown_sysctl_is_enoent<K: Kernel>(k: &K, _: &dyn Scratch) {
    let name = "zelle.conformance.no_such_sysctl";
    expect_errno(k.sysctl(name), Errno::ENOENT, "read");
    expect_errno(
        k.set_sysctl(name, &SysctlValue::Int(1)),
        Errno::ENOENT,
        "write",
    );
}

/// sysctlbyname(2) names: empty is EINVAL (`kern___sysctlbyname`); exactly MAXPATHLEN bytes is
/// ENAMETOOLONG (`sysctl_sysctl_name2oid`); longer is EINVAL again.
pub fn sysctl_name_lengths<K: Kernel>(k: &K, _: &dyn Scratch) {
    expect_errno(k.sysctl(""), Errno::EINVAL, "empty name");
    expect_errno(
        k.sysctl(&"k".repeat(1024)),
        Errno::ENAMETOOLONG,
        "1024 bytes",
    );
    expect_errno(k.sysctl(&"k".repeat(1025)), Errno::EINVAL, "1025 bytes");
}

/// Writing a read-only sysctl is EPERM, whatever the value (`sysctl_root` checks CTLFLAG_WR
/// before anything else).
pub fn writing_read_only_sysctl_is_eperm<K: Kernel>(k: &K, _: &dyn Scratch) {
    expect_errno(
        k.set_sysctl("kern.ostype", &SysctlValue::String("FreeBSD".into())),
        Errno::EPERM,
        "kern.ostype",
    );
    expect_errno(
        k.set_sysctl("security.jail.jailed", &SysctlValue::Int(0)),
        Errno::EPERM,
        "security.jail.jailed",
    );
}

/// A string written to an integer sysctl is EINVAL (too short for a C int in
/// `sysctl_handle_int`, and refused by kind in the contract).
pub fn writing_wrong_kind_is_einval<K: Kernel>(k: &K, _: &dyn Scratch) {
    expect_errno(
        k.set_sysctl("net.inet.ip.forwarding", &SysctlValue::String("1".into())),
        Errno::EINVAL,
        "string into net.inet.ip.forwarding",
    );
}

/// On the host, security.jail.jailed is 0.
pub fn host_is_not_jailed<K: Kernel>(k: &K, _: &dyn Scratch) {
    assert_eq!(
        k.sysctl("security.jail.jailed")
            .expect("security.jail.jailed"),
        SysctlValue::Int(0)
    );
}

/// The modules zelle needs are reported loaded, by their module names: if_bridge and if_epair
/// on every machine the suite runs on, and pf wherever pf answers.
pub fn needed_modules_are_loaded<K: Kernel>(k: &K, _: &dyn Scratch) {
    for name in ["if_bridge", "if_epair"] {
        assert_eq!(k.module_loaded(name).ok(), Some(true), "module {name}");
    }
    if k.pf_anchors("").is_ok() {
        assert_eq!(k.module_loaded("pf").ok(), Some(true), "module pf");
    }
}

/// modfind(2) of a name no module has: not loaded (ENOENT, `Ok(false)` in the contract). A
/// name that does not fit MAXMODNAME (32 bytes with its NUL) is ENAMETOOLONG (copyinstr).
pub fn unknown_module_is_not_loaded<K: Kernel>(k: &K, _: &dyn Scratch) {
    assert_eq!(k.module_loaded("zelle_no_such_module").ok(), Some(false));
    assert_eq!(k.module_loaded(&"m".repeat(31)).ok(), Some(false));
    expect_errno(
        k.module_loaded(&"m".repeat(32)),
        Errno::ENAMETOOLONG,
        "32-byte module name",
    );
}

/// One `#[test]` per rule of this module (see `conformance_tests!`).
#[macro_export]
#[doc(hidden)]
macro_rules! host_conformance_tests {
    ($kernel:expr, $scratch:expr) => {
        mod host {
            #[allow(unused_imports)]
            use super::*;
            $crate::conformance_rules!(
                host,
                $kernel,
                $scratch,
                [
                    kern_ostype_reads_freebsd,
                    sysctls_have_their_kinds,
                    unknown_sysctl_is_enoent,
                    sysctl_name_lengths,
                    writing_read_only_sysctl_is_eperm,
                    writing_wrong_kind_is_einval,
                    host_is_not_jailed,
                    needed_modules_are_loaded,
                    unknown_module_is_not_loaded,
                ]
            );
        }
    };
}
