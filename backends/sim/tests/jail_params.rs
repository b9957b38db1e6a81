//! The jail parameters and mount types the runtime sets, where the simulator's controls are
//! needed: loading and unloading modules (linux_common, the Linux ABI, linprocfs), the
//! host's kern.securelevel, the release, ZFS datasets, and the machine's dump. The rules
//! observable through the contract alone are in zelle-core's conformance suite
//! (`jail_params`, `mount_types`).

mod common;

use common::{create, persistent, TempScratch};
use zelle_core::conformance::Scratch;
use zelle_core::kernel::jail::LINUX_COMMON_MODULE;
use zelle_core::kernel::*;
use zelle_sim::{Release, SimConfig, SimKernel};

fn get(k: &SimKernel, jid: Jid) -> JailInfo {
    k.jail_get(&JailKey::Jid(jid), JailFlags::default())
        .expect("jail_get")
}

fn update(k: &SimKernel, jid: Jid, params: JailParams) {
    let params = JailParams {
        jid: Some(jid.0),
        ..params
    };
    k.jail_set(&params, JailFlags::UPDATE).expect("update");
}

fn message(e: KernelError) -> String {
    match e {
        KernelError::Errno { message, .. } => message.unwrap_or_default(),
        other => panic!("{other}"),
    }
}

fn sound(k: &SimKernel) {
    let m = k.snapshot();
    let problems = m.check_invariants();
    assert!(problems.is_empty(), "{problems:?}\n{}", m.dump());
}

/// linux_common comes with the Linux ABI module and with linprocfs (MODULE_DEPEND); loading it
/// gives every existing jail its own copy of prison0's values (linux_osd_jail_register), and
/// unloading it takes the parameters away again.
#[test]
fn linux_parameters_come_and_go_with_linux_common() {
    let k = SimKernel::seeded(1);
    assert_eq!(k.module_loaded(LINUX_COMMON_MODULE).ok(), Some(false));
    let early = create(&k, &persistent("early"));
    assert_eq!(get(&k, early).linux, None);
    k.with_machine(|m| m.load_module("linux64")).unwrap();
    assert_eq!(k.module_loaded(LINUX_COMMON_MODULE).ok(), Some(true));
    let linux = get(&k, early).linux.expect("linux after loading");
    assert_eq!(
        (linux.mode, linux.osname.as_str(), linux.osrelease.as_str()),
        (
            JailSys::New,
            "Linux",
            Release::V14_1.linux_default_osrelease()
        )
    );
    k.with_machine(|m| m.unload_module(LINUX_COMMON_MODULE))
        .unwrap();
    assert_eq!(get(&k, early).linux, None);
    let err = k
        .jail_set(
            &JailParams {
                linux_osrelease: Some("5.10.0".into()),
                ..persistent("late")
            },
            JailFlags::CREATE,
        )
        .unwrap_err();
    assert_eq!(message(err), "unknown parameter: linux.osrelease");

    let scratch = TempScratch::new();
    let k = SimKernel::seeded(1);
    k.nmount(&MountRequest::new(
        "linprocfs",
        &scratch.dir("proc"),
        Some("linprocfs"),
    ))
    .expect("linprocfs");
    assert_eq!(k.module_loaded(LINUX_COMMON_MODULE).ok(), Some(true));
    sound(&k);
}

/// What a jail reports when nothing was set: "Linux" and the release's default version.
#[test]
fn linux_defaults_follow_the_release() {
    for (release, expected) in [(Release::V14_1, "4.4.0"), (Release::V15_0, "5.15.0")] {
        let k = SimKernel::new(SimConfig {
            release,
            ..SimConfig::default()
        });
        k.with_machine(|m| m.load_module(LINUX_COMMON_MODULE))
            .unwrap();
        let jid = create(&k, &persistent("l"));
        assert_eq!(get(&k, jid).linux.unwrap().osrelease, expected, "{release}");
    }
}

/// A release may carry a "-suffix"; "linux" alone switches between a jail's own values and
/// its parent's (inherit drops the jail's own, new copies the parent's again).
#[test]
fn linux_release_suffix_and_switching_modes() {
    let k = SimKernel::seeded(1);
    k.with_machine(|m| m.load_module("linux64")).unwrap();
    create(
        &k,
        &JailParams {
            linux_osrelease: Some("5.15.0-zelle".into()),
            ..persistent("top")
        },
    );
    let kid = create(
        &k,
        &JailParams {
            linux_osname: Some("Kid".into()),
            ..persistent("top.kid")
        },
    );
    assert_eq!(get(&k, kid).linux.unwrap().osname, "Kid");
    update(
        &k,
        kid,
        JailParams {
            linux: Some(JailSys::Inherit),
            ..JailParams::default()
        },
    );
    let inherited = get(&k, kid).linux.unwrap();
    assert_eq!(
        (
            inherited.mode,
            inherited.osname.as_str(),
            inherited.osrelease.as_str()
        ),
        (JailSys::Inherit, "Linux", "5.15.0-zelle")
    );
    update(
        &k,
        kid,
        JailParams {
            linux: Some(JailSys::New),
            ..JailParams::default()
        },
    );
    assert_eq!(get(&k, kid).linux.unwrap().mode, JailSys::New);
    let dump = k.snapshot().dump();
    assert!(
        dump.contains("linux linux.osname linux.osrelease"),
        "{dump}"
    );
    assert!(dump.contains("new Linux 5.15.0-zelle"), "{dump}");
    sound(&k);
}

/// prison0's securelevel is kern.securelevel: raised on the host, new jails start there and
/// none may be set below it.
#[test]
fn prison0_securelevel_is_kern_securelevel() {
    let k = SimKernel::seeded(1);
    k.set_sysctl("kern.securelevel", &SysctlValue::Int(1))
        .unwrap();
    let jid = create(&k, &persistent("secure"));
    assert_eq!(get(&k, jid).securelevel, 1);
    let low = JailParams {
        securelevel: Some(0),
        ..persistent("low")
    };
    assert_eq!(
        k.jail_set(&low, JailFlags::CREATE).unwrap_err().code(),
        Some(Errno::EPERM)
    );
}

/// sysvmsg=disable disables every descendant that had SysV messages, its own or shared
/// (msg_prison_set); inherit moves the descendants that shared the old root, and leaves those
/// with their own alone.
#[test]
fn sysv_changes_reach_the_descendants() {
    let k = SimKernel::seeded(1);
    let sysvmsg = |mode| JailParams {
        sysvmsg: Some(mode),
        ..JailParams::default()
    };
    let top = create(
        &k,
        &JailParams {
            sysvmsg: Some(JailSys3::New),
            ..persistent("top")
        },
    );
    let shares = create(
        &k,
        &JailParams {
            sysvmsg: Some(JailSys3::Inherit),
            ..persistent("top.shares")
        },
    );
    let own = create(
        &k,
        &JailParams {
            sysvmsg: Some(JailSys3::New),
            ..persistent("top.own")
        },
    );
    update(&k, top, sysvmsg(JailSys3::Inherit));
    let modes = |k: &SimKernel| [top, shares, own].map(|j| get(k, j).sysvmsg);
    assert_eq!(
        modes(&k),
        [JailSys3::Inherit, JailSys3::Inherit, JailSys3::New]
    );
    update(&k, top, sysvmsg(JailSys3::Disable));
    assert_eq!(modes(&k), [JailSys3::Disable; 3]);
    let dump = k.snapshot().dump();
    assert!(dump.contains("sysvmsg sysvsem sysvshm"), "{dump}");
    assert!(!dump.contains("linux.osname"), "no linux columns: {dump}");
    sound(&k);
}

/// allow.sysvipc stands for sysvmsg=inherit (and sem, shm) only when setting: the check looks
/// at sysvmsg alone, so below a parent with sysvmsg disabled it is no EPERM, and the child
/// inherits "none" (msg_prison_check, msg_prison_set).
#[test]
fn allow_sysvipc_inherits_without_the_check() {
    let k = SimKernel::seeded(1);
    let ipc = ("sysvipc".to_string(), true);
    create(
        &k,
        &JailParams {
            allow: vec![ipc.clone()],
            sysvmsg: Some(JailSys3::Disable),
            ..persistent("p")
        },
    );
    let explicit = JailParams {
        sysvmsg: Some(JailSys3::Inherit),
        ..persistent("p.explicit")
    };
    assert_eq!(
        k.jail_set(&explicit, JailFlags::CREATE).unwrap_err().code(),
        Some(Errno::EPERM)
    );
    let kid = create(
        &k,
        &JailParams {
            allow: vec![ipc],
            ..persistent("p.c")
        },
    );
    let info = get(&k, kid);
    assert_eq!(
        (info.sysvmsg, info.sysvsem, info.sysvshm),
        (JailSys3::Disable, JailSys3::Inherit, JailSys3::Inherit)
    );
    sound(&k);
}

/// A zfs mount names its dataset: one the machine has mounts, is listed as zfs from the
/// dataset and local, takes flag updates, and shows in the dump as mount(8) prints it.
#[test]
fn zfs_mounts_a_dataset_the_machine_has() {
    let scratch = TempScratch::new();
    let k = SimKernel::new(SimConfig {
        zfs_datasets: vec!["zroot/zelle/ctr1".into()],
        ..SimConfig::default()
    });
    let dir = scratch.dir("rootfs");
    let req = MountRequest::new("zfs", &dir, Some("zroot/zelle/ctr1"));
    k.nmount(&req).expect("zfs dataset");
    let found = k.list_mounts().unwrap().pop().unwrap();
    assert_eq!(
        (found.fstype.as_str(), found.from.as_str()),
        ("zfs", "zroot/zelle/ctr1")
    );
    assert!(found.flags.contains(MountFlags::LOCAL), "{found:?}");
    assert!(k.snapshot().host.has_module("zfs"));
    let ro = MountRequest {
        flags: MountFlags(MountFlags::UPDATE.0 | MountFlags::RDONLY.0),
        ..req.clone()
    };
    k.nmount(&ro).expect("zfs update");
    assert!(k.list_mounts().unwrap()[0]
        .flags
        .contains(MountFlags::RDONLY));
    let dump = k.snapshot().dump();
    assert!(dump.contains("zroot/zelle/ctr1 on "), "{dump}");
    assert!(dump.contains("(zfs, local, read-only)"), "{dump}");
    let other = MountRequest::new("zfs", &scratch.dir("other"), Some("zroot/zelle/ctr2"));
    assert_eq!(k.nmount(&other).unwrap_err().code(), Some(Errno::ENOENT));
    k.unmount(&dir, MountFlags::default()).unwrap();
    sound(&k);
}

/// Through the real backend and the ABI door the machine reaches the same state as through
/// the typed door for the same parameters.
#[test]
fn both_doors_set_the_same_jail() {
    use zelle_freebsd::FreeBsd;
    use zelle_sim::abi::SimSyscalls;
    let params = JailParams {
        securelevel: Some(2),
        sysvmsg: Some(JailSys3::New),
        sysvshm: Some(JailSys3::Inherit),
        linux_osname: Some("Door".into()),
        linux_osrelease: Some("5.4.0".into()),
        ..persistent("doors")
    };
    let typed = SimKernel::seeded(1);
    let door = FreeBsd::new(SimSyscalls::new(SimKernel::seeded(1)));
    for k in [&typed, door.syscalls().kernel()] {
        k.with_machine(|m| m.load_module("linux64")).unwrap();
    }
    let a = typed.jail_set(&params, JailFlags::CREATE).unwrap();
    let b = door.jail_set(&params, JailFlags::CREATE).unwrap();
    assert_eq!(a, b);
    assert_eq!(
        typed.snapshot().jails,
        door.syscalls().kernel().snapshot().jails
    );
    // The real backend lists permissions in the order it asked for them.
    let sorted = |mut info: JailInfo| {
        info.allow.sort();
        info
    };
    assert_eq!(
        sorted(get(&typed, a)),
        sorted(
            door.jail_get(&JailKey::Jid(b), JailFlags::default())
                .unwrap()
        )
    );
}
