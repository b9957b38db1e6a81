//! Conformance rules: jails, jail_set(2), jail_get(2) and jail_remove(2).
//!
//! Source: `sys/kern/kern_jail.c` of FreeBSD 14 (kern_jail_set, get_next_prid, kern_jail_get,
//! sys_jail_remove, prison_deref); the rules are listed in FACTS-kernel-errno.md §6.
//!
//! On a real kernel other jails may exist: every rule names its jails "zc-<rule>…", uses jids
//! near the top of the range only where a rule is about explicit jids, and removes what it
//! made.

use super::{expect_errno, Scratch};
use crate::kernel::{
    Errno, ExitStatus, IpMode, JailFlags, JailKey, JailParams, Jid, KResult, Kernel, Pid,
    ProcessSpec, Release, Signal, SysctlValue, VnetMode, Wait,
};
use std::fmt::Debug;
use std::net::Ipv4Addr;

/// Assert that `result` failed with `errno` and the kernel's message `message`.
pub(crate) fn expect_message<T: Debug>(
    result: KResult<T>,
    errno: Errno,
    message: &str,
    what: &str,
) {
    match result {
        Ok(value) => panic!("{what}: succeeded with {value:?}, expected {errno}"),
        Err(crate::kernel::KernelError::Errno {
            errno: got,
            message: got_message,
            ..
        }) => {
            assert_eq!(got, errno, "{what}: {got_message:?}");
            assert_eq!(got_message.as_deref(), Some(message), "{what}");
        }
        Err(e) => panic!("{what}: {e}"),
    }
}

/// A persistent jail's parameters, named `name`, rooted at `path` (the host's root when
/// `None`, so that programs of the host can run in it).
pub(crate) fn persistent(name: &str, path: Option<String>) -> JailParams {
    JailParams {
        name: Some(name.into()),
        path,
        persist: Some(true),
        ..JailParams::default()
    }
}

pub(crate) fn create<K: Kernel>(k: &K, params: &JailParams) -> Jid {
    k.jail_set(params, JailFlags::CREATE)
        .unwrap_or_else(|e| panic!("create {:?}: {e}", params.name))
}

/// Remove jails a rule made, ignoring what is already gone.
fn cleanup<K: Kernel>(k: &K, jids: &[Jid]) {
    for jid in jids {
        let _ = k.jail_remove(*jid);
    }
}

/// Wait until `check` holds: some jail changes (a dying jail's state after its last process)
/// are finished by a kernel task shortly after the call that starts them.
pub(super) fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    for _ in 0..200 {
        if check() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    panic!("{what}: did not happen");
}

fn spawn_sleep<K: Kernel>(k: &K, jid: Jid) -> Pid {
    let spec = ProcessSpec {
        jail: Some(jid),
        args: vec!["/bin/sleep".into(), "1000".into()],
        cwd: "/".into(),
        ..ProcessSpec::default()
    };
    k.spawn(&spec).expect("spawn /bin/sleep in the jail").pid
}

/// Neither CREATE nor UPDATE, or an unknown flag bit: EINVAL.
pub fn flags_must_name_an_operation<K: Kernel>(k: &K, _: &dyn Scratch) {
    let params = persistent("zc-flags", None);
    expect_message(
        k.jail_set(&params, JailFlags::default()),
        Errno::EINVAL,
        "no valid operation (create or update)",
        "no flags",
    );
    expect_errno(
        k.jail_set(&params, JailFlags::CREATE | JailFlags(0x100)),
        Errno::EINVAL,
        "unknown flag bit",
    );
}

/// A new jail must persist (or attach the caller): EINVAL "new jail must persist or attach".
pub fn create_without_persist_is_einval<K: Kernel>(k: &K, _: &dyn Scratch) {
    let params = JailParams {
        name: Some("zc-nopersist".into()),
        ..JailParams::default()
    };
    expect_message(
        k.jail_set(&params, JailFlags::CREATE),
        Errno::EINVAL,
        "new jail must persist or attach",
        "create without persist",
    );
}

/// What jail_set sets, jail_get reports: by jid and by name, with the kernel's defaults for
/// what was left out (enforce_statfs 2, children.max 0, devfs_ruleset 0 from prison0).
pub fn created_jail_reads_back<K: Kernel>(k: &K, scratch: &dyn Scratch) {
    let root = scratch.dir("root");
    let params = JailParams {
        hostname: Some("zc-host".into()),
        allow: vec![("raw_sockets".into(), true), ("mount".into(), true)],
        ..persistent("zc-readback", Some(root.clone()))
    };
    let jid = create(k, &params);
    let info = k
        .jail_get(&JailKey::Jid(jid), JailFlags::default())
        .expect("get by jid");
    assert_eq!(info.jid, jid);
    assert_eq!(info.name, "zc-readback");
    assert_eq!(
        std::path::Path::new(&info.path).file_name(),
        std::path::Path::new(&root).file_name()
    );
    assert_eq!(info.hostname, "zc-host");
    assert!(info.persist && !info.dying && !info.vnet);
    assert_eq!(
        (info.enforce_statfs, info.children_max, info.devfs_ruleset),
        (2, 0, 0)
    );
    for allowed in ["raw_sockets", "mount"] {
        assert!(info.allow.iter().any(|a| a == allowed), "{:?}", info.allow);
    }
    let by_name = k
        .jail_get(&JailKey::Name("zc-readback".into()), JailFlags::default())
        .expect("get by name");
    assert_eq!(by_name, info);
    cleanup(k, &[jid]);
}

/// A jail without a name is named after its jid.
pub fn unnamed_jail_is_named_by_its_jid<K: Kernel>(k: &K, _: &dyn Scratch) {
    let params = JailParams {
        persist: Some(true),
        ..JailParams::default()
    };
    let jid = create(k, &params);
    let info = k
        .jail_get(&JailKey::Jid(jid), JailFlags::default())
        .unwrap();
    assert_eq!(info.name, jid.to_string());
    assert_eq!(info.path, "/", "no path: the caller's root");
    cleanup(k, &[jid]);
}

/// Update by jid or by name changes the jail and returns its jid.
pub fn update_changes_a_live_jail<K: Kernel>(k: &K, _: &dyn Scratch) {
    let jid = create(k, &persistent("zc-update", None));
    let update = JailParams {
        jid: Some(jid.0),
        hostname: Some("zc-renamed-host".into()),
        enforce_statfs: Some(1),
        devfs_ruleset: Some(4),
        ..JailParams::default()
    };
    assert_eq!(k.jail_set(&update, JailFlags::UPDATE).unwrap(), jid);
    let by_name = JailParams {
        name: Some("zc-update".into()),
        allow: vec![("set_hostname".into(), false)],
        ..JailParams::default()
    };
    assert_eq!(k.jail_set(&by_name, JailFlags::UPDATE).unwrap(), jid);
    let info = k
        .jail_get(&JailKey::Jid(jid), JailFlags::default())
        .unwrap();
    assert_eq!(info.hostname, "zc-renamed-host");
    assert_eq!((info.enforce_statfs, info.devfs_ruleset), (1, 4));
    assert!(!info.allow.iter().any(|a| a == "set_hostname"));
    cleanup(k, &[jid]);
}

/// vnet cannot change after creation; vnet (new or inherit) with addresses is EINVAL.
pub fn vnet_is_fixed_and_excludes_addresses<K: Kernel>(k: &K, _: &dyn Scratch) {
    let jid = create(k, &persistent("zc-vnet", None));
    let update = JailParams {
        jid: Some(jid.0),
        vnet: Some(VnetMode::New),
        ..JailParams::default()
    };
    expect_message(
        k.jail_set(&update, JailFlags::UPDATE),
        Errno::EINVAL,
        "vnet cannot be changed after creation",
        "vnet on update",
    );
    cleanup(k, &[jid]);
    let both = JailParams {
        vnet: Some(VnetMode::New),
        ip4_addrs: vec![Ipv4Addr::new(192, 0, 2, 7)],
        ..persistent("zc-vnet-ip", None)
    };
    expect_message(
        k.jail_set(&both, JailFlags::CREATE),
        Errno::EINVAL,
        "vnet jails cannot have IP address restrictions",
        "vnet with ip4.addr",
    );
    let vnet = create(
        k,
        &JailParams {
            vnet: Some(VnetMode::New),
            ..persistent("zc-vnet-new", None)
        },
    );
    let info = k
        .jail_get(&JailKey::Jid(vnet), JailFlags::default())
        .unwrap();
    assert!(info.vnet);
    assert_eq!(info.ip4, IpMode::Inherit, "a vnet jail has its own stack");
    cleanup(k, &[vnet]);
}

/// ip4.addr: the zero and broadcast addresses and duplicates are EINVAL; addresses read back
/// with the first kept first.
pub fn ip4_addresses_are_checked<K: Kernel>(k: &K, _: &dyn Scratch) {
    for (addrs, what) in [
        (vec![Ipv4Addr::UNSPECIFIED], "0.0.0.0"),
        (vec![Ipv4Addr::BROADCAST], "255.255.255.255"),
        (
            vec![Ipv4Addr::new(192, 0, 2, 1), Ipv4Addr::new(192, 0, 2, 1)],
            "duplicate",
        ),
    ] {
        let params = JailParams {
            ip4_addrs: addrs,
            ..persistent("zc-ip4-bad", None)
        };
        expect_errno(k.jail_set(&params, JailFlags::CREATE), Errno::EINVAL, what);
    }
    let addrs = vec![
        Ipv4Addr::new(192, 0, 2, 9),
        Ipv4Addr::new(192, 0, 2, 3),
        Ipv4Addr::new(192, 0, 2, 1),
    ];
    let jid = create(
        k,
        &JailParams {
            ip4_addrs: addrs,
            ..persistent("zc-ip4", None)
        },
    );
    let info = k
        .jail_get(&JailKey::Jid(jid), JailFlags::default())
        .unwrap();
    assert_eq!(
        info.ip4_addrs,
        vec![
            Ipv4Addr::new(192, 0, 2, 9),
            Ipv4Addr::new(192, 0, 2, 1),
            Ipv4Addr::new(192, 0, 2, 3)
        ]
    );
    cleanup(k, &[jid]);
}

/// name and host.hostname: 255 bytes fit (with the NUL, MAXHOSTNAMELEN), 256 are
/// ENAMETOOLONG.
pub fn name_lengths<K: Kernel>(k: &K, _: &dyn Scratch) {
    let long = format!("zc-{}", "n".repeat(253));
    assert_eq!(long.len(), 256);
    expect_errno(
        k.jail_set(&persistent(&long, None), JailFlags::CREATE),
        Errno::ENAMETOOLONG,
        "256-byte name",
    );
    let host = JailParams {
        hostname: Some("h".repeat(256)),
        ..persistent("zc-longhost", None)
    };
    expect_errno(
        k.jail_set(&host, JailFlags::CREATE),
        Errno::ENAMETOOLONG,
        "256-byte hostname",
    );
    let jid = create(k, &persistent(&long[..255], None));
    assert_eq!(
        k.jail_get(&JailKey::Jid(jid), JailFlags::default())
            .unwrap()
            .name,
        &long[..255]
    );
    cleanup(k, &[jid]);
}

/// "a.b" is the child "b" of jail "a": a missing parent is ENOENT `jail "a" not found`.
pub fn hierarchical_name_needs_its_parent<K: Kernel>(k: &K, _: &dyn Scratch) {
    expect_message(
        k.jail_set(&persistent("zc-noparent.child", None), JailFlags::CREATE),
        Errno::ENOENT,
        "jail \"zc-noparent\" not found",
        "child of a missing jail",
    );
}

/// A numeric name is allowed only as the jid itself, in normal form: on create it becomes the
/// jid; "0" or a leading zero is EINVAL.
pub fn numeric_names<K: Kernel>(k: &K, _: &dyn Scratch) {
    for name in ["0", "0987650"] {
        expect_message(
            k.jail_set(&persistent(name, None), JailFlags::CREATE),
            Errno::EINVAL,
            "name cannot be numeric (unless it is the jid)",
            name,
        );
    }
    let jid = create(k, &persistent("987650", None));
    assert_eq!(jid, Jid(987650));
    cleanup(k, &[jid]);
}

/// Explicit jids: negative is EINVAL; taken is EEXIST on create; missing is ENOENT on update.
pub fn explicit_jids<K: Kernel>(k: &K, _: &dyn Scratch) {
    let negative = JailParams {
        jid: Some(-1),
        ..persistent("zc-negative", None)
    };
    expect_message(
        k.jail_set(&negative, JailFlags::CREATE),
        Errno::EINVAL,
        "negative jid",
        "jid -1",
    );
    let params = JailParams {
        jid: Some(987651),
        ..persistent("zc-jid", None)
    };
    let jid = create(k, &params);
    assert_eq!(jid, Jid(987651));
    let again = JailParams {
        name: Some("zc-jid-again".into()),
        ..params
    };
    expect_message(
        k.jail_set(&again, JailFlags::CREATE),
        Errno::EEXIST,
        "jail 987651 already exists",
        "jid taken",
    );
    cleanup(k, &[jid]);
    let update = JailParams {
        jid: Some(987652),
        hostname: Some("x".into()),
        ..JailParams::default()
    };
    expect_message(
        k.jail_set(&update, JailFlags::UPDATE),
        Errno::ENOENT,
        "jail 987652 not found",
        "update a missing jid",
    );
    let by_name = JailParams {
        name: Some("zc-missing".into()),
        ..JailParams::default()
    };
    expect_message(
        k.jail_set(&by_name, JailFlags::UPDATE),
        Errno::ENOENT,
        "jail \"zc-missing\" not found",
        "update a missing name",
    );
    expect_message(
        k.jail_set(&JailParams::default(), JailFlags::UPDATE),
        Errno::ENOENT,
        "update specified no jail",
        "update nothing",
    );
}

/// A name held by a live jail: EEXIST `jail "name" already exists`.
pub fn live_name_is_eexist<K: Kernel>(k: &K, _: &dyn Scratch) {
    let jid = create(k, &persistent("zc-taken", None));
    expect_message(
        k.jail_set(&persistent("zc-taken", None), JailFlags::CREATE),
        Errno::EEXIST,
        "jail \"zc-taken\" already exists",
        "second jail of that name",
    );
    cleanup(k, &[jid]);
}

/// path: looked up (ENOENT when missing), must be a directory (ENOTDIR), and cannot change
/// after creation (EINVAL).
pub fn path_rules<K: Kernel>(k: &K, scratch: &dyn Scratch) {
    expect_errno(
        k.jail_set(
            &persistent("zc-path", Some(scratch.missing("gone"))),
            JailFlags::CREATE,
        ),
        Errno::ENOENT,
        "missing path",
    );
    expect_errno(
        k.jail_set(
            &persistent("zc-path", Some(scratch.file("plain"))),
            JailFlags::CREATE,
        ),
        Errno::ENOTDIR,
        "path to a file",
    );
    let jid = create(k, &persistent("zc-path", Some(scratch.dir("root"))));
    let update = JailParams {
        jid: Some(jid.0),
        path: Some(scratch.dir("other")),
        ..JailParams::default()
    };
    expect_message(
        k.jail_set(&update, JailFlags::UPDATE),
        Errno::EINVAL,
        "path cannot be changed after creation",
        "path on update",
    );
    cleanup(k, &[jid]);
}

/// enforce_statfs outside 0–2 and devfs_ruleset outside 0–65535 are EINVAL; children.max at
/// or above the parent's (prison0's is JAIL_MAX, 999999) is EPERM.
pub fn ranges_and_limits<K: Kernel>(k: &K, _: &dyn Scratch) {
    let cases = [
        (
            JailParams {
                enforce_statfs: Some(3),
                ..persistent("zc-range", None)
            },
            Errno::EINVAL,
            "enforce_statfs 3",
        ),
        (
            JailParams {
                devfs_ruleset: Some(65536),
                ..persistent("zc-range", None)
            },
            Errno::EINVAL,
            "devfs_ruleset 65536",
        ),
        (
            JailParams {
                children_max: Some(999_999),
                ..persistent("zc-range", None)
            },
            Errno::EPERM,
            "children.max 999999",
        ),
    ];
    for (params, errno, what) in cases {
        expect_errno(k.jail_set(&params, JailFlags::CREATE), errno, what);
    }
}

/// An allow.* name the kernel does not know: EINVAL "unknown parameter: allow.<name>"
/// (a false one is sent as its "no" name).
pub fn unknown_allow_is_einval<K: Kernel>(k: &K, _: &dyn Scratch) {
    for (value, message) in [
        (true, "unknown parameter: allow.zelle_bogus"),
        (false, "unknown parameter: allow.nozelle_bogus"),
    ] {
        let params = JailParams {
            allow: vec![("zelle_bogus".into(), value)],
            ..persistent("zc-allow", None)
        };
        expect_message(
            k.jail_set(&params, JailFlags::CREATE),
            Errno::EINVAL,
            message,
            "allow.zelle_bogus",
        );
    }
    let params = JailParams {
        allow: vec![("mount.devfs".into(), true)],
        ..persistent("zc-allow", None)
    };
    let jid = create(k, &params);
    let info = k
        .jail_get(&JailKey::Jid(jid), JailFlags::default())
        .unwrap();
    assert!(info.allow.iter().any(|a| a == "mount.devfs"));
    cleanup(k, &[jid]);
}

/// jail_get: jid 0 is no key ("no jail specified"); a missing jid or name is ENOENT with the
/// kernel's text; an unknown flag is EINVAL.
pub fn jail_get_misses<K: Kernel>(k: &K, _: &dyn Scratch) {
    expect_message(
        k.jail_get(&JailKey::Jid(Jid(0)), JailFlags::default()),
        Errno::ENOENT,
        "no jail specified",
        "jid 0",
    );
    expect_message(
        k.jail_get(&JailKey::Jid(Jid(987653)), JailFlags::default()),
        Errno::ENOENT,
        "jail 987653 not found",
        "missing jid",
    );
    expect_message(
        k.jail_get(&JailKey::Name("zc-nonesuch".into()), JailFlags::default()),
        Errno::ENOENT,
        "jail \"zc-nonesuch\" not found",
        "missing name",
    );
    expect_errno(
        k.jail_get(&JailKey::Jid(Jid(1)), JailFlags::CREATE),
        Errno::EINVAL,
        "CREATE is no jail_get flag",
    );
}

/// lastjid iteration: each call gives the first jail with a greater jid; after the last one,
/// ENOENT "no jail after N".
pub fn iteration_by_lastjid<K: Kernel>(k: &K, _: &dyn Scratch) {
    let a = create(k, &persistent("zc-iter-a", None));
    let b = create(k, &persistent("zc-iter-b", None));
    let mut seen = Vec::new();
    let mut after = Jid(0);
    loop {
        match k.jail_get(&JailKey::After(after), JailFlags::default()) {
            Ok(info) => {
                assert!(info.jid > after);
                after = info.jid;
                seen.push(info.jid);
            }
            Err(e) => {
                assert_eq!(e.code(), Some(Errno::ENOENT), "{e}");
                break;
            }
        }
    }
    assert!(seen.contains(&a) && seen.contains(&b), "{seen:?}");
    expect_message(
        k.jail_get(&JailKey::After(after), JailFlags::default()),
        Errno::ENOENT,
        &format!("no jail after {after}"),
        "past the last jail",
    );
    cleanup(k, &[a, b]);
}

/// jail_remove: an unknown jid is EINVAL; a jail with no process goes at once.
pub fn remove_unknown_and_empty<K: Kernel>(k: &K, _: &dyn Scratch) {
    expect_errno(k.jail_remove(Jid(987654)), Errno::EINVAL, "unknown jid");
    let jid = create(k, &persistent("zc-remove", None));
    k.jail_remove(jid).expect("remove");
    expect_errno(
        k.jail_get(&JailKey::Jid(jid), JailFlags::default()),
        Errno::ENOENT,
        "removed jail",
    );
}

/// Removing a jail with a process: it is dying at once (found only with JAIL_DYING, persist
/// cleared), removing it again is 0, its name is free for a new jail, and its process dies of
/// SIGKILL.
pub fn removed_jail_dies_with_its_processes<K: Kernel>(k: &K, _: &dyn Scratch) {
    let jid = create(k, &persistent("zc-dying", None));
    let pid = spawn_sleep(k, jid);
    k.jail_remove(jid).expect("remove");
    expect_message(
        k.jail_get(&JailKey::Jid(jid), JailFlags::default()),
        Errno::ENOENT,
        &format!("jail {jid} is dying"),
        "dying jail without JAIL_DYING",
    );
    k.jail_remove(jid).expect("removing a dying jail is 0");
    let replacement = create(k, &persistent("zc-dying", None));
    assert_ne!(replacement, jid);
    assert_eq!(
        k.wait(pid, Wait::Block).expect("wait"),
        Some(ExitStatus::Signaled(Signal::SIGKILL))
    );
    cleanup(k, &[replacement]);
}

/// A dying jail's jid, for a new jail asking for it: up to 14.0 the dying jail holds it
/// (EEXIST "jail N already exists"); later the new jail gets it and the dying jail, still found
/// with JAIL_DYING under its name, is renumbered (kern_jail_set, freebsd-src ed31b3f4a146;
/// `Release::renumbers_dying_jails`). The release is the kernel's own `kern.osreldate`.
pub fn dying_jails_jid_follows_the_release<K: Kernel>(k: &K, _: &dyn Scratch) {
    let release = match k.sysctl("kern.osreldate") {
        Ok(SysctlValue::Int(osreldate)) => Release::from_osreldate(osreldate),
        other => panic!("kern.osreldate: {other:?}"),
    };
    let jid = create(k, &persistent("zc-deadid", None));
    // Its process, killed but not yet waited for, keeps the removed jail dying.
    let pid = spawn_sleep(k, jid);
    k.jail_remove(jid).expect("remove");
    let same_jid = JailParams {
        jid: Some(jid.0),
        ..persistent("zc-deadid", None)
    };
    let mut made = Vec::new();
    if release.renumbers_dying_jails() {
        assert_eq!(
            create(k, &same_jid),
            jid,
            "{release}: the new jail takes the jid"
        );
        made.push(jid);
        let fresh = k
            .jail_get(&JailKey::Jid(jid), JailFlags::default())
            .expect("the new jail");
        assert!(!fresh.dying);
        let mut after = Jid(0);
        let renumbered = loop {
            let info = k
                .jail_get(&JailKey::After(after), JailFlags::DYING)
                .expect("the dying jail is still listed");
            if info.name == "zc-deadid" && info.dying {
                break info;
            }
            after = info.jid;
        };
        assert_ne!(renumbered.jid, jid);
    } else {
        expect_message(
            k.jail_set(&same_jid, JailFlags::CREATE),
            Errno::EEXIST,
            &format!("jail {jid} already exists"),
            &format!("{release}: create with a dying jail's jid"),
        );
        let dying = k
            .jail_get(&JailKey::Jid(jid), JailFlags::DYING)
            .expect("the dying jail keeps its jid");
        assert!(dying.dying);
    }
    assert_eq!(
        k.wait(pid, Wait::Block).expect("wait"),
        Some(ExitStatus::Signaled(Signal::SIGKILL))
    );
    cleanup(k, &made);
}

/// A jail that no longer persists dies when its last process is gone.
pub fn jail_without_persist_dies_with_its_last_process<K: Kernel>(k: &K, _: &dyn Scratch) {
    let jid = create(k, &persistent("zc-lastproc", None));
    let pid = spawn_sleep(k, jid);
    let drop_persist = JailParams {
        jid: Some(jid.0),
        persist: Some(false),
        ..JailParams::default()
    };
    k.jail_set(&drop_persist, JailFlags::UPDATE)
        .expect("clear persist");
    let info = k
        .jail_get(&JailKey::Jid(jid), JailFlags::default())
        .unwrap();
    assert!(!info.persist && !info.dying, "its process keeps it alive");
    k.signal(pid, Signal::SIGTERM).unwrap();
    assert_eq!(
        k.wait(pid, Wait::Block).unwrap(),
        Some(ExitStatus::Signaled(Signal::SIGTERM))
    );
    eventually("the jail dies", || {
        k.jail_get(&JailKey::Jid(jid), JailFlags::default())
            .is_err()
    });
}

/// One `#[test]` per rule of this module (see `conformance_tests!`).
#[macro_export]
#[doc(hidden)]
macro_rules! jail_conformance_tests {
    ($kernel:expr, $scratch:expr) => {
        mod jail {
            #[allow(unused_imports)]
            use super::*;
            $crate::conformance_rules!(
                jail,
                $kernel,
                $scratch,
                [
                    flags_must_name_an_operation,
                    create_without_persist_is_einval,
                    created_jail_reads_back,
                    unnamed_jail_is_named_by_its_jid,
                    update_changes_a_live_jail,
                    vnet_is_fixed_and_excludes_addresses,
                    ip4_addresses_are_checked,
                    name_lengths,
                    hierarchical_name_needs_its_parent,
                    numeric_names,
                    explicit_jids,
                    live_name_is_eexist,
                    path_rules,
                    ranges_and_limits,
                    unknown_allow_is_einval,
                    jail_get_misses,
                    iteration_by_lastjid,
                    remove_unknown_and_empty,
                    removed_jail_dies_with_its_processes,
                    dying_jails_jid_follows_the_release,
                    jail_without_persist_dies_with_its_last_process,
                ]
            );
        }
    };
}
