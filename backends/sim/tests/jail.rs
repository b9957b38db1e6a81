//! Jail rules that need the simulator's controls: the clock and lingering dying jails
//! (FreeBSD bug 238032), jid allocation state, loaded modules, and the machine's own view.
//! The rules observable through the contract alone are in zelle-core's conformance suite.

mod common;

use common::TempScratch;
use std::net::Ipv4Addr;
use zelle_core::conformance::Scratch;
use zelle_core::kernel::*;
use zelle_sim::jail::JAIL_MAX;
use zelle_sim::SimKernel;

fn persistent(name: &str) -> JailParams {
    JailParams {
        name: Some(name.into()),
        persist: Some(true),
        ..JailParams::default()
    }
}

fn create(k: &SimKernel, params: &JailParams) -> Jid {
    k.jail_set(params, JailFlags::CREATE).expect("create")
}

fn get(k: &SimKernel, jid: Jid, flags: JailFlags) -> KResult<JailInfo> {
    k.jail_get(&JailKey::Jid(jid), flags)
}

fn sound(k: &SimKernel) {
    let m = k.snapshot();
    let problems = m.check_invariants();
    assert!(problems.is_empty(), "{problems:?}\n{}", m.dump());
}

fn message(e: KernelError) -> String {
    match e {
        KernelError::Errno { message, .. } => message.unwrap_or_default(),
        other => panic!("{other}"),
    }
}

/// A removed jail lingers dying for `linger_ms` of simulated time, then leaves allprison.
#[test]
fn removed_jail_lingers_for_linger_ms() {
    let k = SimKernel::seeded(1);
    k.with_machine(|m| m.jails.linger_ms = 5000).unwrap();
    let jid = create(
        &k,
        &JailParams {
            vnet: Some(VnetMode::New),
            ..persistent("linger")
        },
    );
    k.jail_remove(jid).unwrap();
    let info = get(&k, jid, JailFlags::DYING).expect("still in allprison");
    assert!(info.dying && !info.persist && info.vnet);
    sound(&k);
    k.with_machine(|m| m.advance(4999)).unwrap();
    assert!(get(&k, jid, JailFlags::DYING).is_ok());
    k.with_machine(|m| m.advance(1)).unwrap();
    let err = get(&k, jid, JailFlags::DYING).unwrap_err();
    assert_eq!(message(err), format!("jail {jid} not found"));
    sound(&k);
}

/// With the default linger of 0 a jail with no process is gone when jail_remove returns.
#[test]
fn removed_empty_jail_is_gone_at_once() {
    let k = SimKernel::seeded(1);
    let jid = create(&k, &persistent("gone"));
    k.jail_remove(jid).unwrap();
    assert_eq!(
        get(&k, jid, JailFlags::DYING).unwrap_err().code(),
        Some(Errno::ENOENT)
    );
    assert_eq!(k.jail_remove(jid).unwrap_err().code(), Some(Errno::EINVAL));
}

/// A zombie keeps its jail's record (its credential goes when it is reaped), and the linger
/// time starts only then.
#[test]
fn zombie_keeps_a_dying_jail_until_reaped() {
    let k = SimKernel::seeded(1);
    k.with_machine(|m| m.jails.linger_ms = 100).unwrap();
    let jid = create(&k, &persistent("zombie"));
    let spec = ProcessSpec {
        jail: Some(jid),
        args: vec!["/bin/sleep".into(), "60".into()],
        cwd: "/".into(),
        ..ProcessSpec::default()
    };
    let pid = k.spawn(&spec).unwrap();
    k.jail_remove(jid).unwrap();
    k.with_machine(|m| m.advance(10_000)).unwrap();
    assert!(get(&k, jid, JailFlags::DYING).unwrap().dying);
    assert_eq!(k.jail_processes(jid).unwrap(), vec![pid], "the zombie");
    assert_eq!(
        k.wait(pid, false).unwrap(),
        Some(ExitStatus::Signaled(Signal::SIGKILL))
    );
    assert!(get(&k, jid, JailFlags::DYING).is_ok(), "lingering now");
    k.with_machine(|m| m.advance(100)).unwrap();
    assert!(get(&k, jid, JailFlags::DYING).is_err());
    sound(&k);
}

/// A jail that no longer persists dies when its last process exits by itself.
#[test]
fn jail_dies_when_its_last_process_ends() {
    let k = SimKernel::seeded(1);
    let jid = create(&k, &persistent("last"));
    let spec = ProcessSpec {
        jail: Some(jid),
        args: vec!["/bin/sleep".into(), "1".into()],
        cwd: "/".into(),
        ..ProcessSpec::default()
    };
    let pid = k.spawn(&spec).unwrap();
    let update = JailParams {
        jid: Some(jid.0),
        persist: Some(false),
        ..JailParams::default()
    };
    k.jail_set(&update, JailFlags::UPDATE).unwrap();
    assert!(!get(&k, jid, JailFlags::default()).unwrap().dying);
    k.with_machine(|m| m.advance(1000)).unwrap();
    assert!(
        get(&k, jid, JailFlags::DYING).unwrap().dying,
        "dying, zombie unreaped"
    );
    k.wait(pid, true).unwrap();
    assert!(get(&k, jid, JailFlags::DYING).is_err());
    sound(&k);
}

/// Clearing persist on a jail with no process kills it at once.
#[test]
fn clearing_persist_of_an_empty_jail_kills_it() {
    let k = SimKernel::seeded(1);
    let jid = create(&k, &persistent("empty"));
    let update = JailParams {
        name: Some("empty".into()),
        persist: Some(false),
        ..JailParams::default()
    };
    assert_eq!(k.jail_set(&update, JailFlags::UPDATE).unwrap(), jid);
    assert!(get(&k, jid, JailFlags::DYING).is_err());
}

/// get_next_prid: jids count on from the last one (not the lowest free), skip ids in use and
/// wrap to 1 after JAIL_MAX.
#[test]
fn jids_count_on_and_wrap() {
    let k = SimKernel::seeded(1);
    let jids: Vec<Jid> = (0..3)
        .map(|i| create(&k, &persistent(&format!("j{i}"))))
        .collect();
    assert_eq!(jids, [Jid(1), Jid(2), Jid(3)]);
    k.jail_remove(Jid(2)).unwrap();
    assert_eq!(
        create(&k, &persistent("j3")),
        Jid(4),
        "2 is free, but the count goes on"
    );
    k.with_machine(|m| m.jails.last_jid = JAIL_MAX - 1).unwrap();
    assert_eq!(create(&k, &persistent("top")), Jid(JAIL_MAX));
    assert_eq!(create(&k, &persistent("wrapped")), Jid(2), "1 is taken");
    assert_eq!(k.snapshot().jails.last_jid, 2);
    sound(&k);
}

/// A dying jail is found with JAIL_DYING, and comes back to life when updated with
/// JAIL_DYING and persist; without JAIL_DYING it is "dying".
#[test]
fn dying_jail_can_be_resurrected() {
    let k = SimKernel::seeded(1);
    k.with_machine(|m| m.jails.linger_ms = 1000).unwrap();
    let jid = create(&k, &persistent("phoenix"));
    k.jail_remove(jid).unwrap();
    let update = JailParams {
        jid: Some(jid.0),
        persist: Some(true),
        ..JailParams::default()
    };
    let err = k.jail_set(&update, JailFlags::UPDATE).unwrap_err();
    assert_eq!(message(err), format!("jail {jid} is dying"));
    let by_name = k
        .jail_get(&JailKey::Name("phoenix".into()), JailFlags::default())
        .unwrap_err();
    assert_eq!(message(by_name), "jail \"phoenix\" is dying");
    k.jail_set(&update, JailFlags::UPDATE | JailFlags::DYING)
        .unwrap();
    let info = get(&k, jid, JailFlags::default()).unwrap();
    assert!(info.persist && !info.dying);
    k.with_machine(|m| m.advance(5000)).unwrap();
    assert!(get(&k, jid, JailFlags::default()).is_ok());
    sound(&k);
}

/// Child jails: "parent.child" names, a child holds its parent alive, removing the parent kills
/// the child, renaming the parent renames the child, and children.max is bounded by the
/// parent's.
#[test]
fn child_jails() {
    let k = SimKernel::seeded(1);
    let parent = create(
        &k,
        &JailParams {
            children_max: Some(2),
            ..persistent("dad")
        },
    );
    let child = create(&k, &persistent("dad.kid"));
    let info = k
        .jail_get(&JailKey::Name("dad.kid".into()), JailFlags::default())
        .unwrap();
    assert_eq!(info.jid, child);
    let too_many = JailParams {
        children_max: Some(2),
        ..persistent("dad.other")
    };
    assert_eq!(
        k.jail_set(&too_many, JailFlags::CREATE).unwrap_err().code(),
        Some(Errno::EPERM),
        "children.max not below the parent's"
    );
    let move_it = JailParams {
        jid: Some(child.0),
        name: Some("mum.kid".into()),
        ..JailParams::default()
    };
    let err = k.jail_set(&move_it, JailFlags::UPDATE).unwrap_err();
    assert_eq!(message(err), "cannot change jail's parent");
    let rename = JailParams {
        jid: Some(parent.0),
        name: Some("father".into()),
        ..JailParams::default()
    };
    k.jail_set(&rename, JailFlags::UPDATE).unwrap();
    assert_eq!(
        get(&k, child, JailFlags::default()).unwrap().name,
        "father.kid"
    );
    // The parent no longer persists, but its child's record holds it.
    let drop_persist = JailParams {
        jid: Some(parent.0),
        persist: Some(false),
        ..JailParams::default()
    };
    k.jail_set(&drop_persist, JailFlags::UPDATE).unwrap();
    assert!(!get(&k, parent, JailFlags::default()).unwrap().dying);
    sound(&k);
    k.jail_remove(parent).unwrap();
    assert!(get(&k, child, JailFlags::DYING).is_err(), "both gone");
    assert!(get(&k, parent, JailFlags::DYING).is_err());
    sound(&k);
}

/// allow.mount.<fs> exists only while the file system's module is loaded.
#[test]
fn module_permissions_need_their_module() {
    let k = SimKernel::seeded(1);
    let params = JailParams {
        allow: vec![("mount.fdescfs".into(), true)],
        ..persistent("fdesc")
    };
    let err = k.jail_set(&params, JailFlags::CREATE).unwrap_err();
    assert_eq!(message(err), "unknown parameter: allow.mount.fdescfs");
    k.with_machine(|m| m.host.modules.insert("fdescfs".into()))
        .unwrap();
    let jid = create(&k, &params);
    let allow = get(&k, jid, JailFlags::default()).unwrap().allow;
    assert!(allow.contains(&"mount.fdescfs".to_string()), "{allow:?}");
    // The defaults of a new jail (JAIL_DEFAULT_ALLOW).
    for default in [
        "set_hostname",
        "reserved_ports",
        "unprivileged_proc_debug",
        "suser",
    ] {
        assert!(allow.contains(&default.to_string()), "{allow:?}");
    }
}

/// IPv4 addresses: overlapping sets clash (EADDRINUSE) unless both jails have exactly one;
/// restricted jails report ip4 as JAIL_SYS_DISABLE, the value kern_jail_get gives for both
/// "new" and "disable".
#[test]
fn ip4_addresses_clash() {
    let k = SimKernel::seeded(1);
    let a = create(
        &k,
        &JailParams {
            ip4_addrs: vec![Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2)],
            ..persistent("a")
        },
    );
    let clash = JailParams {
        ip4_addrs: vec![Ipv4Addr::new(10, 0, 0, 2)],
        ..persistent("b")
    };
    let err = k.jail_set(&clash, JailFlags::CREATE).unwrap_err();
    assert_eq!(err.code(), Some(Errno::EADDRINUSE));
    assert_eq!(message(err), "IPv4 addresses clash");
    let single = |name: &str| JailParams {
        ip4_addrs: vec![Ipv4Addr::new(10, 0, 0, 9)],
        ..persistent(name)
    };
    create(&k, &single("c"));
    create(&k, &single("d"));
    assert_eq!(
        get(&k, a, JailFlags::default()).unwrap().ip4,
        IpMode::Disable
    );
    let update = JailParams {
        jid: Some(a.0),
        ip4_addrs: vec![Ipv4Addr::new(10, 0, 0, 5)],
        ..JailParams::default()
    };
    k.jail_set(&update, JailFlags::UPDATE).unwrap();
    assert_eq!(
        get(&k, a, JailFlags::default()).unwrap().ip4_addrs,
        vec![Ipv4Addr::new(10, 0, 0, 5)]
    );
    let mode = JailParams {
        jid: Some(a.0),
        ip4: Some(IpMode::Inherit),
        ..JailParams::default()
    };
    let err = k.jail_set(&mode, JailFlags::UPDATE).unwrap_err();
    assert_eq!(message(err), "ip4 cannot be changed after creation");
}

/// JAIL_ATTACH would move the calling process into the jail: not simulated.
#[test]
fn attach_is_not_simulated() {
    let k = SimKernel::seeded(1);
    let err = k
        .jail_set(&persistent("attach"), JailFlags::CREATE | JailFlags::ATTACH)
        .unwrap_err();
    assert_eq!(err.code(), Some(Errno::EOPNOTSUPP));
}

/// A failed jail_set changes nothing, not even the jid counter.
#[test]
fn failed_jail_set_changes_nothing() {
    let k = SimKernel::seeded(1);
    create(&k, &persistent("first"));
    let before = k.snapshot();
    let params = JailParams {
        allow: vec![("bogus".into(), true)],
        ..persistent("second")
    };
    k.jail_set(&params, JailFlags::CREATE).unwrap_err();
    let after = k.snapshot();
    assert_eq!(before.jails, after.jails);
    assert_eq!(before.dump(), after.dump());
}

/// The dump lists jails as jls does.
#[test]
fn dump_lists_jails_like_jls() {
    let scratch = TempScratch::new();
    let k = SimKernel::seeded(1);
    let root = scratch.dir("root");
    let params = JailParams {
        path: Some(root.clone()),
        hostname: Some("web.local".into()),
        vnet: Some(VnetMode::New),
        ..persistent("web")
    };
    create(&k, &params);
    let dump = k.snapshot().dump();
    assert!(dump.contains("# jls -d -h jid parent name"), "{dump}");
    let line = dump
        .lines()
        .find(|l| l.starts_with("1 0 web"))
        .unwrap_or_else(|| panic!("{dump}"));
    assert!(line.contains("web.local new true false"), "{line}");
}
