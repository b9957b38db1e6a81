//! Mount rules that need the simulator's controls or host I/O beyond the conformance suite's
//! scratch: unix sockets, hard links, module loading, paths through simulated nullfs mounts,
//! and the machine's own view (dump, leak report).

mod common;

use common::TempScratch;
use std::os::unix::net::UnixListener;
use zelle_core::conformance::Scratch;
use zelle_core::kernel::*;
use zelle_sim::SimKernel;

fn request(fstype: &str, fspath: &str, from: Option<&str>) -> MountRequest {
    MountRequest::new(fstype, fspath, from)
}

fn errno(result: KResult<()>) -> Option<Errno> {
    result.err().and_then(|e| e.code())
}

/// nullfs cannot mount a unix socket (null_vfsops.c: the lower vnode must be a directory or a
/// regular file, of the covered vnode's type): EINVAL.
#[test]
fn nullfs_refuses_a_unix_socket() {
    let scratch = TempScratch::new();
    let socket = scratch.missing("sock");
    let _listener = UnixListener::bind(&socket).unwrap();
    let k = SimKernel::seeded(1);
    let target = scratch.dir("target");
    assert_eq!(
        errno(k.nmount(&request("nullfs", &target, Some(&socket)))),
        Some(Errno::EINVAL)
    );
}

/// A file system type in a module is kldloaded by nmount (vfs_byname_kld).
#[test]
fn mount_loads_the_module() {
    let scratch = TempScratch::new();
    let k = SimKernel::seeded(1);
    k.with_machine(|m| m.host.modules.remove("nullfs")).unwrap();
    let req = request("nullfs", &scratch.dir("b"), Some(&scratch.dir("a")));
    k.nmount(&req).unwrap();
    assert!(k.snapshot().host.has_module("nullfs"));
    k.nmount(&request("fdescfs", &scratch.dir("fd"), None))
        .unwrap();
    assert!(k.snapshot().host.has_module("fdescfs"));
}

/// No pool exists on the simulated machine: zfs mounts fail ENOENT.
#[test]
fn zfs_without_a_pool_is_enoent() {
    let scratch = TempScratch::new();
    let k = SimKernel::seeded(1);
    let req = request("zfs", &scratch.dir("z"), Some("zroot/nothing"));
    assert_eq!(errno(k.nmount(&req)), Some(Errno::ENOENT));
}

/// A mount with mounts below it is EBUSY unless forced (UNCONFIRMED); forced, the mounts below
/// stay listed.
#[test]
fn mount_with_mounts_below_is_busy_unless_forced() {
    let scratch = TempScratch::new();
    let k = SimKernel::seeded(1);
    let top = scratch.dir("top");
    let below = scratch.dir("top/below");
    k.nmount(&request("tmpfs", &top, None)).unwrap();
    k.nmount(&request("tmpfs", &below, None)).unwrap();
    assert_eq!(
        errno(k.unmount(&top, MountFlags::default())),
        Some(Errno::EBUSY)
    );
    k.unmount(&top, MountFlags::FORCE).unwrap();
    let left: Vec<String> = k.list_mounts().unwrap().into_iter().map(|m| m.on).collect();
    assert_eq!(left, [below]);
}

/// Below a nullfs mount point, lookups continue in the nullfs source: a directory that exists
/// only there can be mounted on.
#[test]
fn paths_below_nullfs_resolve_into_its_source() {
    let scratch = TempScratch::new();
    let k = SimKernel::seeded(1);
    let source = scratch.dir("rootfs");
    scratch.dir("rootfs/dev");
    let jail_root = scratch.dir("jailroot");
    let dev = format!("{jail_root}/dev");
    assert_eq!(
        errno(k.nmount(&request("devfs", &dev, Some("devfs")))),
        Some(Errno::ENOENT),
        "not there before the nullfs mount"
    );
    k.nmount(&request("nullfs", &jail_root, Some(&source)))
        .unwrap();
    k.nmount(&request("devfs", &dev, Some("devfs"))).unwrap();
    let ons: Vec<String> = k.list_mounts().unwrap().into_iter().map(|m| m.on).collect();
    assert_eq!(ons, [jail_root.clone(), dev.clone()]);
    // The nullfs mount is busy with the devfs below it.
    assert_eq!(
        errno(k.unmount(&jail_root, MountFlags::default())),
        Some(Errno::EBUSY)
    );
    k.unmount(&dev, MountFlags::default()).unwrap();
    k.unmount(&jail_root, MountFlags::default()).unwrap();
}

/// nullfs file mounts (VFCF_FILEMOUNT): a file over a file with one link mounts; a second link
/// is EINVAL; a file already mounted on is EBUSY (no stacking of file mounts).
#[test]
fn nullfs_file_mounts() {
    let scratch = TempScratch::new();
    let k = SimKernel::seeded(1);
    let source = scratch.file("resolv.conf");
    let target = scratch.file("target.conf");
    k.nmount(&request("nullfs", &target, Some(&source)))
        .unwrap();
    assert_eq!(
        errno(k.nmount(&request("nullfs", &target, Some(&source)))),
        Some(Errno::EBUSY)
    );
    let linked = scratch.file("linked");
    std::fs::hard_link(&linked, scratch.missing("second-link")).unwrap();
    assert_eq!(
        errno(k.nmount(&request("nullfs", &linked, Some(&source)))),
        Some(Errno::EINVAL)
    );
    assert_eq!(
        errno(k.nmount(&request("nullfs", &scratch.dir("d"), Some(&source)))),
        Some(Errno::EINVAL),
        "file over a directory"
    );
}

/// A nullfs mount over the very directory it exposes: EDEADLK ("multi null mount?").
#[test]
fn nullfs_over_its_own_source_is_edeadlk() {
    let scratch = TempScratch::new();
    let k = SimKernel::seeded(1);
    let (a, b) = (scratch.dir("a"), scratch.dir("b"));
    k.nmount(&request("nullfs", &b, Some(&a))).unwrap();
    assert_eq!(
        errno(k.nmount(&request("nullfs", &b, Some(&a)))),
        Some(Errno::EDEADLK)
    );
}

/// MNT_UPDATE: only on a mount point (EINVAL otherwise); nullfs takes no update but export
/// (EOPNOTSUPP); others get their flags replaced.
#[test]
fn update_mounts() {
    let scratch = TempScratch::new();
    let k = SimKernel::seeded(1);
    let dir = scratch.dir("t");
    let update = |fstype: &str, path: &str| MountRequest {
        flags: MountFlags(MountFlags::UPDATE.0 | MountFlags::RDONLY.0),
        ..request(fstype, path, None)
    };
    assert_eq!(errno(k.nmount(&update("tmpfs", &dir))), Some(Errno::EINVAL));
    k.nmount(&request("tmpfs", &dir, None)).unwrap();
    k.nmount(&update("tmpfs", &dir)).unwrap();
    assert!(k.list_mounts().unwrap()[0]
        .flags
        .contains(MountFlags::RDONLY));
    let null = scratch.dir("n");
    k.nmount(&request("nullfs", &null, Some(&scratch.dir("src"))))
        .unwrap();
    assert_eq!(
        errno(k.nmount(&update("nullfs", &null))),
        Some(Errno::EOPNOTSUPP)
    );
}

/// unmount by fsid: malformed is EINVAL; the machine hands out no fsids, so a well-formed one
/// is ENOENT.
#[test]
fn unmount_by_fsid() {
    let k = SimKernel::seeded(1);
    let by_fsid = zelle_sim::mount::MNT_BYFSID;
    assert_eq!(errno(k.unmount("FSID:1", by_fsid)), Some(Errno::EINVAL));
    assert_eq!(errno(k.unmount("FSID:1:2", by_fsid)), Some(Errno::ENOENT));
}

/// Mounts left inside a jail's root after the jail left allprison are reported (the kernel
/// allows it: the invariants still hold).
#[test]
fn mounts_outliving_their_jail_are_reported() {
    let scratch = TempScratch::new();
    let k = SimKernel::seeded(1);
    let root = scratch.dir("root");
    let dev = scratch.dir("root/dev");
    let params = JailParams {
        name: Some("leaky".into()),
        path: Some(root),
        persist: Some(true),
        ..JailParams::default()
    };
    let jid = k.jail_set(&params, JailFlags::CREATE).unwrap();
    k.nmount(&request("devfs", &dev, Some("devfs"))).unwrap();
    assert!(k.snapshot().leaked_mounts().is_empty());
    k.jail_remove(jid).unwrap();
    let m = k.snapshot();
    assert_eq!(
        m.leaked_mounts(),
        [format!("devfs on {dev} outlived jail {jid}")]
    );
    assert!(m.check_invariants().is_empty());
}

/// The dump reads like mount(8); a failed nmount changes nothing.
#[test]
fn dump_reads_like_mount_and_failures_change_nothing() {
    let scratch = TempScratch::new();
    let k = SimKernel::seeded(1);
    let (a, b) = (scratch.dir("a"), scratch.dir("b"));
    let mut req = request("nullfs", &b, Some(&a));
    req.flags = MountFlags::RDONLY;
    k.nmount(&req).unwrap();
    let before = k.snapshot().dump();
    assert!(
        before.contains(&format!("# mount\n{a} on {b} (nullfs, local, read-only)\n")),
        "{before}"
    );
    let bad = MountRequest {
        options: vec![("ruleset".into(), "70000".into())],
        ..request("devfs", &scratch.dir("dev"), Some("devfs"))
    };
    let err = k.nmount(&bad).unwrap_err();
    assert!(matches!(
        err,
        KernelError::Errno { message: Some(ref m), .. } if m == "invalid ruleset specification"
    ));
    assert_eq!(k.snapshot().dump(), before);
}

/// An fstype that names a loaded module registering no file system: kldload finds it loaded
/// (EEXIST, success), the type is still missing, and vfs_donmount turns that ENODEV into
/// EINVAL "Invalid fstype"; a name no module has stays kldload's ENOENT. Both doors agree.
#[test]
fn a_loaded_module_that_is_no_file_system_is_invalid_fstype() {
    let scratch = TempScratch::new();
    let dir = scratch.dir("m");
    let typed = SimKernel::seeded(1);
    let door = zelle_freebsd::FreeBsd::new(zelle_sim::abi::SimSyscalls::new(SimKernel::seeded(1)));
    assert!(typed.snapshot().host.has_module("pf"));
    for k in [&typed as &dyn Mounts, &door] {
        let err = k.nmount(&request("pf", &dir, None)).unwrap_err();
        assert!(
            matches!(&err, KernelError::Errno { errno: Errno::EINVAL, message: Some(m), .. }
                if m == "Invalid fstype"),
            "{err:?}"
        );
        assert_eq!(
            errno(k.nmount(&request("zellefs", &dir, None))),
            Some(Errno::ENOENT)
        );
    }
}

/// vfs_domount_update keeps an update that the file system accepted even when the "export"
/// option then fails (EINVAL: no export_args); the "update" option is MNT_UPDATE.
#[test]
fn an_accepted_update_stays_when_export_fails() {
    let scratch = TempScratch::new();
    let k = SimKernel::seeded(1);
    let dir = scratch.dir("n");
    k.nmount(&request("nullfs", &dir, Some(&scratch.dir("src"))))
        .unwrap();
    let export = MountRequest {
        options: vec![
            ("update".into(), String::new()),
            ("export".into(), String::new()),
        ],
        flags: MountFlags::RDONLY,
        ..request("nullfs", &dir, None)
    };
    assert_eq!(errno(k.nmount(&export)), Some(Errno::EINVAL));
    assert!(k.list_mounts().unwrap()[0]
        .flags
        .contains(MountFlags::RDONLY));
}

/// tmpfs follows the "ro" option on an update: "rw" makes a read-only tmpfs writable again,
/// "ro" read-only (tmpfs_mount). devfs updates pass its first-mount checks.
#[test]
fn tmpfs_and_devfs_updates() {
    let scratch = TempScratch::new();
    let k = SimKernel::seeded(1);
    let dir = scratch.dir("t");
    let with = |name: &str, flags: MountFlags| MountRequest {
        options: vec![(name.into(), String::new())],
        flags: MountFlags(MountFlags::UPDATE.0 | flags.0),
        ..request("tmpfs", &dir, None)
    };
    let rdonly = || {
        k.list_mounts().unwrap()[0]
            .flags
            .contains(MountFlags::RDONLY)
    };
    k.nmount(&MountRequest {
        flags: MountFlags::RDONLY,
        ..request("tmpfs", &dir, None)
    })
    .unwrap();
    assert!(rdonly());
    k.nmount(&with("rw", MountFlags::default())).unwrap();
    assert!(!rdonly());
    k.nmount(&with("ro", MountFlags::default())).unwrap();
    assert!(rdonly());

    let dev = scratch.dir("dev");
    k.nmount(&request("devfs", &dev, Some("devfs"))).unwrap();
    let devfs = |options: &[(&str, &str)]| MountRequest {
        options: options
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect(),
        flags: MountFlags::UPDATE,
        ..request("devfs", &dev, None)
    };
    assert_eq!(
        errno(k.nmount(&devfs(&[("ruleset", "x")]))),
        Some(Errno::EINVAL)
    );
    assert_eq!(
        errno(k.nmount(&devfs(&[("export", "")]))),
        Some(Errno::EOPNOTSUPP)
    );
    k.nmount(&devfs(&[("ruleset", "4")])).unwrap();
}
