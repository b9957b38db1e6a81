//! Conformance rules: the jail parameters the runtime sets beyond the basic ones —
//! securelevel, the SysV IPC parameters, the Linux parameters — and jails below jails.
//!
//! Sources: `sys/kern/kern_jail.c` (`kern_jail_set`: the securelevel checks and what passes to
//! descendants, the hierarchical name lookup, "prison limit exceeded" over the caller's
//! prisons), `sys/kern/sysv_msg.c` (`msg_prison_check`, `msg_prison_set`, `msg_prison_get`),
//! `sys/compat/linux/linux_mib.c` (`linux_prison_*`, `linux_map_osrel`);
//! FACTS-kernel-runtime.md §6 and §7.
//!
//! Jails are named "zc-<rule>…" and removed at the end, as in `jail`.

use super::jail::{self, create, expect_message};
use super::{expect_errno, Scratch};
use crate::kernel::jail::LINUX_COMMON_MODULE;
use crate::kernel::release::MODULE_ALLOW;
use crate::kernel::{
    Errno, JailFlags, JailInfo, JailKey, JailParams, JailSys, JailSys3, Jid, Kernel, SysctlValue,
};

/// A persistent jail rooted at the caller's root.
fn persistent(name: &str) -> JailParams {
    jail::persistent(name, None)
}

fn update<K: Kernel>(k: &K, jid: Jid, params: JailParams) {
    let params = JailParams {
        jid: Some(jid.0),
        ..params
    };
    k.jail_set(&params, JailFlags::UPDATE)
        .unwrap_or_else(|e| panic!("update {jid}: {e}"));
}

fn get<K: Kernel>(k: &K, jid: Jid) -> JailInfo {
    k.jail_get(&JailKey::Jid(jid), JailFlags::default())
        .unwrap_or_else(|e| panic!("get {jid}: {e}"))
}

/// Remove a rule's top jail: its descendants go with it.
fn remove<K: Kernel>(k: &K, jid: Jid) {
    k.jail_remove(jid)
        .unwrap_or_else(|e| panic!("remove {jid}: {e}"));
}

/// A jail starts at its parent's securelevel (prison0's is kern.securelevel); a level below
/// the parent's is EPERM; raising a jail raises its descendants; from outside a jail may be
/// lowered again down to its parent's level, its descendants keeping theirs.
pub fn securelevel_follows_the_parent<K: Kernel>(k: &K, _: &dyn Scratch) {
    let host = match k.sysctl("kern.securelevel").expect("kern.securelevel") {
        SysctlValue::Int(level) => level as i32,
        other => panic!("kern.securelevel: {other:?}"),
    };
    expect_errno(
        k.jail_set(
            &JailParams {
                securelevel: Some(host - 1),
                ..persistent("zc-slow")
            },
            JailFlags::CREATE,
        ),
        Errno::EPERM,
        "below the host's securelevel",
    );
    let top = create(k, &persistent("zc-sl"));
    assert_eq!(get(k, top).securelevel, host, "a new jail's level");
    update(
        k,
        top,
        JailParams {
            securelevel: Some(host + 1),
            ..JailParams::default()
        },
    );
    let kid = create(k, &persistent("zc-sl.kid"));
    assert_eq!(get(k, kid).securelevel, host + 1, "the parent's level");
    expect_errno(
        k.jail_set(
            &JailParams {
                jid: Some(kid.0),
                securelevel: Some(host),
                ..JailParams::default()
            },
            JailFlags::UPDATE,
        ),
        Errno::EPERM,
        "a child below its parent",
    );
    update(
        k,
        top,
        JailParams {
            securelevel: Some(host + 3),
            ..JailParams::default()
        },
    );
    assert_eq!(get(k, kid).securelevel, host + 3, "raised with its parent");
    update(
        k,
        top,
        JailParams {
            securelevel: Some(host),
            ..JailParams::default()
        },
    );
    assert_eq!(get(k, top).securelevel, host, "lowered from outside");
    assert_eq!(
        get(k, kid).securelevel,
        host + 3,
        "the child keeps its level"
    );
    remove(k, top);
}

/// sysvmsg, sysvsem and sysvshm: a new jail given none is disabled; new and inherit are
/// reported as given; allow.sysvipc alone means inherit for all three; new or inherit below a
/// parent that has it disabled is EPERM; disabling a jail disables the descendants that
/// shared it.
pub fn sysv_parameters<K: Kernel>(k: &K, _: &dyn Scratch) {
    let plain = create(k, &persistent("zc-sysv0"));
    let info = get(k, plain);
    assert_eq!(
        (info.sysvmsg, info.sysvsem, info.sysvshm),
        (JailSys3::Disable, JailSys3::Disable, JailSys3::Disable)
    );
    remove(k, plain);

    let ipc = create(
        k,
        &JailParams {
            allow: vec![("sysvipc".into(), true)],
            ..persistent("zc-sysv1")
        },
    );
    let info = get(k, ipc);
    assert_eq!(
        (info.sysvmsg, info.sysvsem, info.sysvshm),
        (JailSys3::Inherit, JailSys3::Inherit, JailSys3::Inherit)
    );
    remove(k, ipc);

    let top = create(
        k,
        &JailParams {
            sysvmsg: Some(JailSys3::New),
            sysvsem: Some(JailSys3::Inherit),
            sysvshm: Some(JailSys3::Disable),
            ..persistent("zc-sysv")
        },
    );
    let info = get(k, top);
    assert_eq!(
        (info.sysvmsg, info.sysvsem, info.sysvshm),
        (JailSys3::New, JailSys3::Inherit, JailSys3::Disable)
    );
    for mode in [JailSys3::New, JailSys3::Inherit] {
        expect_errno(
            k.jail_set(
                &JailParams {
                    sysvshm: Some(mode),
                    ..persistent("zc-sysv.kid")
                },
                JailFlags::CREATE,
            ),
            Errno::EPERM,
            "sysvshm below a parent without it",
        );
    }
    let kid = create(
        k,
        &JailParams {
            sysvmsg: Some(JailSys3::Inherit),
            sysvsem: Some(JailSys3::New),
            ..persistent("zc-sysv.kid")
        },
    );
    let info = get(k, kid);
    assert_eq!(
        (info.sysvmsg, info.sysvsem),
        (JailSys3::Inherit, JailSys3::New)
    );
    update(
        k,
        top,
        JailParams {
            sysvmsg: Some(JailSys3::Disable),
            ..JailParams::default()
        },
    );
    assert_eq!(
        get(k, kid).sysvmsg,
        JailSys3::Disable,
        "disabled with its parent"
    );
    remove(k, top);
}

/// The linux* parameters exist only while linux_common is loaded: without it, "unknown
/// parameter: linux" and jail_get reports none. With it: a new jail has its own copy (new),
/// linux=inherit shares the parent's values (reported as they are in force), a name or a
/// release implies new; a release not "A.B.C" is EINVAL "linux.osrelease format error", a
/// name of 65 bytes ENAMETOOLONG "linux.osname too long".
pub fn linux_parameters<K: Kernel>(k: &K, _: &dyn Scratch) {
    if !k.module_loaded(LINUX_COMMON_MODULE).expect("modfind") {
        expect_message(
            k.jail_set(
                &JailParams {
                    linux: Some(JailSys::New),
                    ..persistent("zc-linux")
                },
                JailFlags::CREATE,
            ),
            Errno::EINVAL,
            "unknown parameter: linux",
            "linux without linux_common",
        );
        let jid = create(k, &persistent("zc-linux"));
        assert_eq!(get(k, jid).linux, None);
        remove(k, jid);
        return;
    }
    expect_message(
        k.jail_set(
            &JailParams {
                linux_osrelease: Some("5.15".into()),
                ..persistent("zc-linux")
            },
            JailFlags::CREATE,
        ),
        Errno::EINVAL,
        "linux.osrelease format error",
        "two-part release",
    );
    expect_message(
        k.jail_set(
            &JailParams {
                linux_osname: Some("L".repeat(65)),
                ..persistent("zc-linux")
            },
            JailFlags::CREATE,
        ),
        Errno::ENAMETOOLONG,
        "linux.osname too long",
        "65-byte osname",
    );
    let plain = create(k, &persistent("zc-linux0"));
    let defaults = get(k, plain).linux.expect("linux info");
    assert_eq!(defaults.mode, JailSys::New, "a new jail's own copy");
    remove(k, plain);

    let top = create(
        k,
        &JailParams {
            linux_osname: Some("ZelleLinux".into()),
            linux_osrelease: Some("5.10.0".into()),
            ..persistent("zc-linux")
        },
    );
    let info = get(k, top).linux.expect("linux info");
    assert_eq!(
        (info.mode, info.osname.as_str(), info.osrelease.as_str()),
        (JailSys::New, "ZelleLinux", "5.10.0")
    );
    let kid = create(
        k,
        &JailParams {
            linux: Some(JailSys::Inherit),
            ..persistent("zc-linux.kid")
        },
    );
    let inherited = get(k, kid).linux.expect("linux info");
    assert_eq!(
        (inherited.mode, inherited.osrelease.as_str()),
        (JailSys::Inherit, "5.10.0")
    );
    update(
        k,
        kid,
        JailParams {
            linux_osrelease: Some("4.19.0".into()),
            ..JailParams::default()
        },
    );
    let own = get(k, kid).linux.expect("linux info");
    assert_eq!(
        (own.mode, own.osname.as_str(), own.osrelease.as_str()),
        (JailSys::New, "ZelleLinux", "4.19.0"),
        "a release implies new, copying the rest"
    );
    remove(k, top);
}

/// "a.b" is jail b below jail a: created below it, found by its full name, gone when a is
/// removed. The limit checked on create is the caller's (`prison limit exceeded` walks the
/// caller's prison and its ancestors), so the host may create a child below a jail whose
/// children.max is 0; a second "a.b" is EEXIST.
pub fn jails_below_jails<K: Kernel>(k: &K, _: &dyn Scratch) {
    let top = create(k, &persistent("zc-tree"));
    assert_eq!(get(k, top).children_max, 0);
    let kid = create(k, &persistent("zc-tree.kid"));
    let grandkid = create(k, &persistent("zc-tree.kid.leaf"));
    let found = k
        .jail_get(
            &JailKey::Name("zc-tree.kid.leaf".into()),
            JailFlags::default(),
        )
        .expect("get by full name");
    assert_eq!(
        (found.jid, found.name.as_str()),
        (grandkid, "zc-tree.kid.leaf")
    );
    expect_message(
        k.jail_set(&persistent("zc-tree.kid"), JailFlags::CREATE),
        Errno::EEXIST,
        "jail \"zc-tree.kid\" already exists",
        "the same child again",
    );
    remove(k, top);
    for jid in [top, kid, grandkid] {
        expect_errno(
            k.jail_get(&JailKey::Jid(jid), JailFlags::default()),
            Errno::ENOENT,
            "a removed jail or its descendant",
        );
    }
}

/// allow.mount.<fs> exists while its file system is registered (`prison_add_vfs`): those
/// compiled in always, a module's only while it is loaded; a missing one is EINVAL "unknown
/// parameter: allow.mount.<fs>", in its "no" form too. An existing one is reported when set.
pub fn mount_permissions_follow_the_file_systems<K: Kernel>(k: &K, _: &dyn Scratch) {
    for (name, module) in MODULE_ALLOW {
        let Some(fs) = name.strip_prefix("mount.") else {
            continue;
        };
        let exists = match module {
            None => true,
            Some(module) => k.module_loaded(module).expect("modfind"),
        };
        for on in [true, false] {
            let params = JailParams {
                allow: vec![("mount".into(), true), (name.to_string(), on)],
                ..persistent("zc-mountperm")
            };
            let result = k.jail_set(&params, JailFlags::CREATE);
            if !exists {
                let wire = if on {
                    fs.to_string()
                } else {
                    format!("no{fs}")
                };
                expect_message(
                    result,
                    Errno::EINVAL,
                    &format!("unknown parameter: allow.mount.{wire}"),
                    name,
                );
                continue;
            }
            let jid = result.unwrap_or_else(|e| panic!("allow.{name}={on}: {e}"));
            let set = get(k, jid).allow.iter().any(|a| a == name);
            assert_eq!(set, on, "allow.{name}");
            remove(k, jid);
        }
    }
}

/// One `#[test]` per rule of this module (see `conformance_tests!`).
#[macro_export]
#[doc(hidden)]
macro_rules! jail_params_conformance_tests {
    ($kernel:expr, $scratch:expr) => {
        mod jail_params {
            #[allow(unused_imports)]
            use super::*;
            $crate::conformance_rules!(
                jail_params,
                $kernel,
                $scratch,
                [
                    securelevel_follows_the_parent,
                    sysv_parameters,
                    linux_parameters,
                    jails_below_jails,
                    mount_permissions_follow_the_file_systems,
                ]
            );
        }
    };
}
