//! Jail rules that need the simulator's controls: the clock and lingering dying jails
//! (FreeBSD bug 238032), jid allocation state, loaded modules, and the machine's own view.
//! The rules observable through the contract alone are in zelle-core's conformance suite.

mod common;

use common::{create, persistent, TempScratch};
use std::net::Ipv4Addr;
use zelle_core::conformance::Scratch;
use zelle_core::kernel::*;
use zelle_sim::jail::JAIL_MAX;
use zelle_sim::{Release, SimConfig, SimKernel};

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
    let pid = k.spawn(&spec).unwrap().pid;
    k.jail_remove(jid).unwrap();
    k.with_machine(|m| m.advance(10_000)).unwrap();
    assert!(get(&k, jid, JailFlags::DYING).unwrap().dying);
    let listed = k.jail_processes(jid).unwrap();
    let states: Vec<(Pid, RunState)> = listed.iter().map(|p| (p.pid, p.state)).collect();
    assert_eq!(states, vec![(pid, RunState::Zombie)], "the zombie");
    assert_eq!(
        k.wait(pid, Wait::NoHang).unwrap(),
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
    let pid = k.spawn(&spec).unwrap().pid;
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
    k.wait(pid, Wait::Block).unwrap();
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

fn kernel_of(release: Release) -> SimKernel {
    SimKernel::new(SimConfig {
        release,
        ..SimConfig::default()
    })
}

/// Up to 14.0 a dying jail is found with JAIL_DYING, and comes back to life when updated with
/// JAIL_DYING and persist; without JAIL_DYING it is "dying".
#[test]
fn up_to_14_0_a_dying_jail_can_be_resurrected() {
    let k = kernel_of(Release::V14_0);
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

/// Up to 14.0 a dying jail keeps its jid: creating a jail with it is EEXIST, while its name
/// is free.
#[test]
fn up_to_14_0_a_dying_jails_jid_is_taken() {
    let k = kernel_of(Release::V14_0);
    k.with_machine(|m| m.jails.linger_ms = 1000).unwrap();
    let jid = create(&k, &persistent("old"));
    k.jail_remove(jid).unwrap();
    let same_jid = JailParams {
        jid: Some(jid.0),
        ..persistent("other")
    };
    let err = k.jail_set(&same_jid, JailFlags::CREATE).unwrap_err();
    assert_eq!(err.code(), Some(Errno::EEXIST));
    assert_eq!(message(err), format!("jail {jid} already exists"));
    let namesake = create(&k, &persistent("old"));
    assert_ne!(namesake, jid);
    assert!(get(&k, jid, JailFlags::DYING).unwrap().dying);
    sound(&k);
}

/// From 14.1 (kern_jail.c after ed31b3f4a146) a dying jail is never found for jail_set: an
/// update by jid or name is ENOENT "not found", JAIL_DYING brings nothing back, and a new jail
/// asking for its jid gets it while the dying jail is renumbered from JAIL_MAX down, keeping
/// its name, its vnet and the interfaces in it.
#[test]
fn from_14_1_a_dying_jail_is_renumbered_and_never_resurrected() {
    let k = kernel_of(Release::V14_1);
    k.with_machine(|m| m.jails.linger_ms = 1000).unwrap();
    let jid = create(
        &k,
        &JailParams {
            vnet: Some(VnetMode::New),
            ..persistent("ghost")
        },
    );
    let a = k.create_interface(Vnet::Host, "epair").unwrap();
    let b = format!("{}b", a.trim_end_matches('a'));
    k.move_to_jail(Vnet::Host, &b, jid).unwrap();
    k.jail_remove(jid).unwrap();
    let update = JailParams {
        jid: Some(jid.0),
        persist: Some(true),
        ..JailParams::default()
    };
    for flags in [JailFlags::UPDATE, JailFlags::UPDATE | JailFlags::DYING] {
        let err = k.jail_set(&update, flags).unwrap_err();
        assert_eq!(err.code(), Some(Errno::ENOENT));
        assert_eq!(message(err), format!("jail {jid} not found"));
    }
    let by_name = JailParams {
        name: Some("ghost".into()),
        persist: Some(true),
        ..JailParams::default()
    };
    let err = k
        .jail_set(&by_name, JailFlags::UPDATE | JailFlags::DYING)
        .unwrap_err();
    assert_eq!(message(err), "jail \"ghost\" not found");

    let same_jid = JailParams {
        jid: Some(jid.0),
        ..persistent("ghost")
    };
    assert_eq!(create(&k, &same_jid), jid);
    let fresh = get(&k, jid, JailFlags::default()).unwrap();
    assert!(!fresh.dying && !fresh.vnet);
    let moved = get(&k, Jid(JAIL_MAX), JailFlags::DYING).unwrap();
    assert!(moved.dying && moved.vnet);
    assert_eq!(moved.name, "ghost");
    let m = k.snapshot();
    assert_eq!(m.jails.last_dead_jid, JAIL_MAX);
    assert!(
        m.net
            .ifaces
            .values()
            .any(|i| i.name == b && i.vnet == zelle_sim::jail::VnetId(Jid(JAIL_MAX))),
        "{}",
        m.dump()
    );
    sound(&k);

    // The next renumbering counts down.
    k.jail_remove(jid).unwrap();
    let third = create(&k, &same_jid);
    assert_eq!(third, jid);
    assert_eq!(
        get(&k, Jid(JAIL_MAX - 1), JailFlags::DYING).unwrap().name,
        "ghost"
    );
    // The vnet goes when the record does, and the borrowed epair end comes home.
    k.with_machine(|m| m.advance(5000)).unwrap();
    assert!(get(&k, Jid(JAIL_MAX), JailFlags::DYING).is_err());
    assert!(k
        .list_interfaces(Vnet::Host)
        .unwrap()
        .iter()
        .any(|i| i.name == b));
    sound(&k);
}

/// The permissions a jail may be given depend on the release: allow.routing exists from 14.3
/// on (FACTS-kernel-errno.md §10), and a module's only while it is loaded (allow.vmm).
#[test]
fn allow_names_follow_the_release_and_the_loaded_modules() {
    let routing = |release| {
        let k = kernel_of(release);
        k.jail_set(
            &JailParams {
                allow: vec![("routing".into(), true)],
                ..persistent("router")
            },
            JailFlags::CREATE,
        )
    };
    let err = routing(Release::V14_1).unwrap_err();
    assert_eq!(err.code(), Some(Errno::EINVAL));
    assert_eq!(message(err), "unknown parameter: allow.routing");
    for release in [Release::V14_3, Release::V15_0] {
        assert!(routing(release).is_ok(), "{release}");
    }

    let k = kernel_of(Release::V14_1);
    let vmm = JailParams {
        allow: vec![("vmm".into(), true)],
        ..persistent("vm")
    };
    let err = k.jail_set(&vmm, JailFlags::CREATE).unwrap_err();
    assert_eq!(message(err), "unknown parameter: allow.vmm");
    k.with_machine(|m| m.load_module("vmm")).unwrap();
    let jid = create(&k, &vmm);
    let info = get(&k, jid, JailFlags::default()).unwrap();
    assert!(info.allow.iter().any(|a| a == "vmm"), "{:?}", info.allow);
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

/// The conformance rule on dying jails' jids holds on the machine of every release.
#[test]
fn dying_jails_jid_rule_holds_for_every_release() {
    for release in Release::ALL {
        let k = kernel_of(release);
        zelle_core::conformance::jail::dying_jails_jid_follows_the_release(&k, &TempScratch::new());
        sound(&k);
    }
}
