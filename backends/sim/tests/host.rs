//! Host facts that need simulator control: profiles, loading modules, and writes the
//! conformance suite must not make on a real machine.

use zelle_core::kernel::{Errno, HostFacts, KResult, SysctlValue};
use zelle_sim::{Release, SimConfig, SimKernel};

fn kernel(release: Release) -> SimKernel {
    SimKernel::new(SimConfig {
        release,
        ..SimConfig::default()
    })
}

fn code<T: std::fmt::Debug>(result: KResult<T>) -> Option<Errno> {
    result.expect_err("the call should fail").code()
}

fn int(k: &SimKernel, name: &str) -> i64 {
    match k.sysctl(name).unwrap() {
        SysctlValue::Int(value) => value,
        other => panic!("{name} is {other:?}"),
    }
}

#[test]
fn stock_modules_are_loaded_and_carp_is_not() {
    let k = kernel(Release::V14_1);
    for name in ["if_bridge", "if_epair", "pf", "nullfs", "devfs"] {
        assert!(k.module_loaded(name).unwrap(), "{name}");
    }
    assert!(!k.module_loaded("carp").unwrap());
}

#[test]
fn modules_load_and_unload_under_simulator_control() {
    let k = kernel(Release::V14_1);
    k.with_machine(|m| m.load_module("carp")).unwrap();
    assert!(k.module_loaded("carp").unwrap());
    assert!(k.snapshot().host.has_module("carp"));
    k.with_machine(|m| m.unload_module("carp")).unwrap();
    assert!(!k.module_loaded("carp").unwrap());
}

/// modfind(2) copies the name into a MAXMODNAME (32) buffer; a NUL cannot be passed.
#[test]
fn module_names_are_c_strings_of_at_most_31_bytes() {
    let k = kernel(Release::V14_1);
    assert!(!k.module_loaded("").unwrap());
    assert_eq!(
        code(k.module_loaded(&"m".repeat(32))),
        Some(Errno::ENAMETOOLONG)
    );
    assert_eq!(code(k.module_loaded("pf\0")), Some(Errno::EINVAL));
}

#[test]
fn osrelease_and_osreldate_follow_the_release() {
    let old = kernel(Release::V13_0PreFix);
    assert_eq!(
        old.sysctl("kern.osrelease").unwrap(),
        SysctlValue::String("13.0-RELEASE".into())
    );
    assert_eq!(int(&old, "kern.osreldate"), 1_300_139);
    let new = kernel(Release::V14_1);
    assert_eq!(
        new.sysctl("kern.osrelease").unwrap(),
        SysctlValue::String(Release::V14_1.osrelease().into())
    );
    assert_eq!(int(&new, "kern.osreldate"), 1_401_000);
    assert_eq!(
        code(new.set_sysctl(
            "kern.osrelease",
            &SysctlValue::String("15.0-RELEASE".into())
        )),
        Some(Errno::EPERM)
    );
}

#[test]
fn stock_defaults() {
    let k = kernel(Release::V14_1);
    let defaults = [
        ("kern.securelevel", -1),
        ("kern.features.vimage", 1),
        ("security.jail.jailed", 0),
        ("net.inet.ip.forwarding", 0),
        ("net.inet6.ip6.forwarding", 0),
        ("net.inet.ip.no_same_prefix", 0),
        ("net.link.bridge.pfil_member", 1),
        ("net.link.bridge.pfil_bridge", 1),
    ];
    for (name, value) in defaults {
        assert_eq!(int(&k, name), value, "{name}");
    }
}

#[test]
fn writes_stick_and_other_areas_see_them() {
    let k = kernel(Release::V14_1);
    k.set_sysctl("net.inet.ip.forwarding", &SysctlValue::Int(1))
        .unwrap();
    assert_eq!(int(&k, "net.inet.ip.forwarding"), 1);
    k.set_sysctl("net.inet.ip.no_same_prefix", &SysctlValue::Int(1))
        .unwrap();
    assert_eq!(int(&k, "net.inet.ip.no_same_prefix"), 1);
}

/// Writing: unknown ENOENT, read-only EPERM before the value is looked at, wrong kind or an
/// integer beyond a C int EINVAL; a failed write changes nothing.
#[test]
fn bad_writes_fail_with_the_kernel_errno_and_change_nothing() {
    let k = kernel(Release::V14_1);
    let before = k.snapshot().host;
    let s = |v: &str| SysctlValue::String(v.into());
    assert_eq!(
        code(k.set_sysctl("net.no.such", &SysctlValue::Int(1))),
        Some(Errno::ENOENT)
    );
    assert_eq!(
        code(k.set_sysctl("kern.ostype", &SysctlValue::Int(1))),
        Some(Errno::EPERM)
    );
    assert_eq!(
        code(k.set_sysctl("net.inet.ip.forwarding", &s("1"))),
        Some(Errno::EINVAL)
    );
    let huge = SysctlValue::Int(i64::from(i32::MAX) + 1);
    assert_eq!(
        code(k.set_sysctl("net.inet.ip.forwarding", &huge)),
        Some(Errno::EINVAL)
    );
    assert_eq!(
        code(k.set_sysctl("", &SysctlValue::Int(1))),
        Some(Errno::EINVAL)
    );
    assert_eq!(
        code(k.set_sysctl(&"n".repeat(1024), &SysctlValue::Int(1))),
        Some(Errno::ENAMETOOLONG)
    );
    assert_eq!(k.snapshot().host, before);
}

/// kern.securelevel may be raised, never lowered (sysctl_kern_securelvl: EPERM).
#[test]
fn securelevel_only_rises() {
    let k = kernel(Release::V14_1);
    k.set_sysctl("kern.securelevel", &SysctlValue::Int(1))
        .unwrap();
    k.set_sysctl("kern.securelevel", &SysctlValue::Int(1))
        .unwrap();
    assert_eq!(
        code(k.set_sysctl("kern.securelevel", &SysctlValue::Int(0))),
        Some(Errno::EPERM)
    );
    assert_eq!(int(&k, "kern.securelevel"), 1);
}
