//! Conformance rules: nmount(2), unmount(2), getfsstat(2).
//!
//! Source: `sys/kern/vfs_mount.c` (vfs_donmount, vfs_domount, vfs_domount_first,
//! kern_unmount, dounmount), `sys/fs/devfs/devfs_vfsops.c`, `sys/fs/nullfs/null_vfsops.c`
//! of FreeBSD 14; FACTS-kernel-errno.md §7. Every rule mounts only below its scratch
//! directory and unmounts what it mounted.

use super::{expect_errno, Scratch};
use crate::kernel::{Errno, Kernel, MountEntry, MountFlags, MountRequest};

fn request(fstype: &str, fspath: &str, from: Option<&str>) -> MountRequest {
    MountRequest::new(fstype, fspath, from)
}

fn devfs(fspath: &str, options: &[(&str, &str)]) -> MountRequest {
    MountRequest {
        options: options
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..request("devfs", fspath, Some("devfs"))
    }
}

/// The mounts whose mount point ends in `dir`'s last component below the scratch root (the
/// kernel records the global path, which may differ from the scratch path by symlinks).
pub(crate) fn mounts_on<K: Kernel>(k: &K, dir: &str) -> Vec<MountEntry> {
    let name = std::path::Path::new(dir);
    k.list_mounts()
        .expect("getfsstat")
        .into_iter()
        .filter(|m| {
            let on = std::path::Path::new(&m.on);
            on.file_name() == name.file_name()
                && on.parent().and_then(|p| p.file_name())
                    == name.parent().and_then(|p| p.file_name())
        })
        .collect()
}

/// A tmpfs mount is listed (type, mount point, flags) until it is unmounted.
pub fn mount_lists_and_unmounts<K: Kernel>(k: &K, scratch: &dyn Scratch) {
    let dir = scratch.dir("tmp");
    let mut req = request("tmpfs", &dir, None);
    req.flags = MountFlags::RDONLY;
    k.nmount(&req).expect("mount tmpfs");
    let found = mounts_on(k, &dir);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].fstype, "tmpfs");
    assert_eq!(found[0].from, "tmpfs");
    assert!(found[0].flags.contains(MountFlags::RDONLY));
    k.unmount(&dir, MountFlags::default()).expect("unmount");
    assert!(mounts_on(k, &dir).is_empty());
}

/// Mounts stack on one directory; unmount takes the newest; getfsstat lists in mount order.
pub fn mounts_stack_and_unmount_newest_first<K: Kernel>(k: &K, scratch: &dyn Scratch) {
    let dir = scratch.dir("stack");
    k.nmount(&request("tmpfs", &dir, None)).expect("tmpfs");
    k.nmount(&devfs(&dir, &[])).expect("devfs over it");
    let types: Vec<String> = mounts_on(k, &dir).into_iter().map(|m| m.fstype).collect();
    assert_eq!(types, ["tmpfs", "devfs"]);
    k.unmount(&dir, MountFlags::default())
        .expect("unmount devfs");
    let types: Vec<String> = mounts_on(k, &dir).into_iter().map(|m| m.fstype).collect();
    assert_eq!(types, ["tmpfs"]);
    k.unmount(&dir, MountFlags::default())
        .expect("unmount tmpfs");
}

/// fstype of 16 bytes or more (MFSNAMELEN) and fspath of 1024 or more (MNAMELEN):
/// ENAMETOOLONG.
pub fn name_lengths<K: Kernel>(k: &K, scratch: &dyn Scratch) {
    let dir = scratch.dir("names");
    expect_errno(
        k.nmount(&request(&"f".repeat(16), &dir, None)),
        Errno::ENAMETOOLONG,
        "16-byte fstype",
    );
    expect_errno(
        k.nmount(&request("tmpfs", &format!("/{}", "p".repeat(1023)), None)),
        Errno::ENAMETOOLONG,
        "1024-byte fspath",
    );
}

/// A file system type no module provides: ENOENT, the kldload error that vfs_byname_kld passes
/// on (vfs_domount returns it; only an ENODEV would become EINVAL "Invalid fstype" in
/// vfs_donmount). FACTS-kernel-errno.md §7.
pub fn unknown_fstype_is_enoent<K: Kernel>(k: &K, scratch: &dyn Scratch) {
    expect_errno(
        k.nmount(&request("zellefs", &scratch.dir("unknown"), None)),
        Errno::ENOENT,
        "fstype zellefs",
    );
}

/// The mount point is looked up: missing is ENOENT, a file is ENOTDIR.
pub fn mount_point_must_be_a_directory<K: Kernel>(k: &K, scratch: &dyn Scratch) {
    expect_errno(
        k.nmount(&devfs(&scratch.missing("gone"), &[])),
        Errno::ENOENT,
        "missing mount point",
    );
    expect_errno(
        k.nmount(&devfs(&scratch.file("plain"), &[])),
        Errno::ENOTDIR,
        "devfs on a file",
    );
}

/// devfs takes only from, export and ruleset: anything else is EINVAL, export is EOPNOTSUPP,
/// a ruleset outside 0–65535 or not a number is EINVAL; a valid one mounts.
pub fn devfs_options<K: Kernel>(k: &K, scratch: &dyn Scratch) {
    let dir = scratch.dir("dev");
    expect_errno(
        k.nmount(&devfs(&dir, &[("size", "1m")])),
        Errno::EINVAL,
        "option size",
    );
    expect_errno(
        k.nmount(&devfs(&dir, &[("export", "")])),
        Errno::EOPNOTSUPP,
        "option export",
    );
    for bad in ["65536", "-1", "four"] {
        expect_errno(
            k.nmount(&devfs(&dir, &[("ruleset", bad)])),
            Errno::EINVAL,
            bad,
        );
    }
    k.nmount(&devfs(&dir, &[("ruleset", "4")]))
        .expect("devfs ruleset 4");
    let found = mounts_on(k, &dir);
    assert_eq!((found.len(), found[0].from.as_str()), (1, "devfs"));
    k.unmount(&dir, MountFlags::default()).expect("unmount");
}

/// nullfs: the source must exist (ENOENT) and be of the mount point's type (a file over a
/// directory is EINVAL); a directory over a directory mounts, reported from its source.
pub fn nullfs_source_rules<K: Kernel>(k: &K, scratch: &dyn Scratch) {
    let target = scratch.dir("target");
    expect_errno(
        k.nmount(&request("nullfs", &target, Some(&scratch.missing("nosrc")))),
        Errno::ENOENT,
        "missing source",
    );
    expect_errno(
        k.nmount(&request("nullfs", &target, Some(&scratch.file("srcfile")))),
        Errno::EINVAL,
        "file over directory",
    );
    let source = scratch.dir("source");
    let mut req = request("nullfs", &target, Some(&source));
    req.flags = MountFlags::RDONLY;
    k.nmount(&req).expect("nullfs");
    let found = mounts_on(k, &target);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].from, source);
    assert!(found[0].flags.contains(MountFlags::RDONLY));
    k.unmount(&target, MountFlags::default()).expect("unmount");
}

/// unmount of a path that is no mount point, or does not exist: EINVAL.
pub fn unmount_of_non_mount_point_is_einval<K: Kernel>(k: &K, scratch: &dyn Scratch) {
    expect_errno(
        k.unmount(&scratch.dir("plain"), MountFlags::default()),
        Errno::EINVAL,
        "a plain directory",
    );
    expect_errno(
        k.unmount(&scratch.missing("gone"), MountFlags::default()),
        Errno::EINVAL,
        "a missing path",
    );
}

/// A mount that a nullfs mount's source lies on cannot be unmounted first, forced or not
/// (dounmount: mnt_uppers): EBUSY.
pub fn nullfs_source_mount_is_busy<K: Kernel>(k: &K, scratch: &dyn Scratch) {
    let lower = scratch.dir("lower");
    let upper = scratch.dir("upper");
    k.nmount(&request("tmpfs", &lower, None)).expect("tmpfs");
    k.nmount(&request("nullfs", &upper, Some(&lower)))
        .expect("nullfs of the tmpfs");
    expect_errno(
        k.unmount(&lower, MountFlags::default()),
        Errno::EBUSY,
        "unmount the lower tmpfs",
    );
    expect_errno(k.unmount(&lower, MountFlags::FORCE), Errno::EBUSY, "forced");
    k.unmount(&upper, MountFlags::default()).expect("nullfs");
    k.unmount(&lower, MountFlags::default()).expect("tmpfs");
}

/// `request` with MNT_UPDATE and `flags` added and these options.
fn update(mut req: MountRequest, flags: MountFlags, options: &[(&str, &str)]) -> MountRequest {
    req.flags = MountFlags(MountFlags::UPDATE.0 | flags.0);
    req.options = options
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    req
}

/// pseudofs (procfs, linprocfs, linsysfs: pfs_mount) and fdescfs (fdesc_mount) refuse every
/// update: EOPNOTSUPP, and the mount keeps its flags. FACTS-kernel-errno.md §10.
pub fn pseudofs_and_fdescfs_refuse_updates<K: Kernel>(k: &K, scratch: &dyn Scratch) {
    for fstype in ["procfs", "linprocfs", "linsysfs", "fdescfs"] {
        let dir = scratch.dir(fstype);
        let req = request(fstype, &dir, Some(fstype));
        k.nmount(&req)
            .unwrap_or_else(|e| panic!("mount {fstype}: {e}"));
        expect_errno(
            k.nmount(&update(req, MountFlags::RDONLY, &[])),
            Errno::EOPNOTSUPP,
            fstype,
        );
        let found = mounts_on(k, &dir);
        assert!(!found[0].flags.contains(MountFlags::RDONLY), "{found:?}");
        k.unmount(&dir, MountFlags::default()).expect("unmount");
    }
}

/// An update runs the mounted file system's code (vfs_domount_update): the fstype given is
/// neither looked up nor compared, so a tmpfs updated as "devfs" or as a type that does not
/// exist is updated as tmpfs. A path that is no mount's root is EINVAL; a missing one ENOENT.
pub fn update_runs_the_mounted_file_systems_code<K: Kernel>(k: &K, scratch: &dyn Scratch) {
    let dir = scratch.dir("upd");
    expect_errno(
        k.nmount(&update(
            request("tmpfs", &dir, None),
            MountFlags::RDONLY,
            &[],
        )),
        Errno::EINVAL,
        "update of a plain directory",
    );
    expect_errno(
        k.nmount(&update(
            request("tmpfs", &scratch.missing("gone"), None),
            MountFlags::default(),
            &[],
        )),
        Errno::ENOENT,
        "update of a missing path",
    );
    k.nmount(&request("tmpfs", &dir, None)).expect("tmpfs");
    k.nmount(&update(
        request("zellefs", &dir, None),
        MountFlags::NOEXEC,
        &[],
    ))
    .expect("update as an unknown type");
    k.nmount(&update(
        request("devfs", &dir, None),
        MountFlags::NOSUID,
        &[],
    ))
    .expect("update as devfs");
    let found = mounts_on(k, &dir);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].fstype, "tmpfs");
    // MNT_NOEXEC and MNT_NOSUID are in MNT_UPDATEMASK: the second update replaced the first.
    assert!(found[0].flags.contains(MountFlags::NOSUID), "{found:?}");
    assert!(!found[0].flags.contains(MountFlags::NOEXEC), "{found:?}");
    k.unmount(&dir, MountFlags::default()).expect("unmount");
}

/// tmpfs updates (tmpfs_mount): an option tmpfs does not know is EINVAL; one it knows but
/// cannot change is EOPNOTSUPP (only from, easize, export, nomtime, size and nosymfollow
/// pass), and so is a new size; the same size and "from" are accepted (not nomtime, whose
/// release is UNCONFIRMED). The options of the first mount take part (vfs_mergeopts).
/// FACTS-kernel-runtime.md §6.
pub fn tmpfs_update_options<K: Kernel>(k: &K, scratch: &dyn Scratch) {
    let dir = scratch.dir("tmpupd");
    let mut first = request("tmpfs", &dir, None);
    first.options = vec![("size".into(), "1m".into())];
    k.nmount(&first).expect("tmpfs size=1m");
    let tmpfs = || request("tmpfs", &dir, None);
    let none = MountFlags::default();
    expect_errno(
        k.nmount(&update(tmpfs(), none, &[("zelle", "1")])),
        Errno::EINVAL,
        "unknown option",
    );
    for (name, value) in [("mode", "0700"), ("inodes", "100"), ("size", "2m")] {
        expect_errno(
            k.nmount(&update(tmpfs(), none, &[(name, value)])),
            Errno::EOPNOTSUPP,
            name,
        );
    }
    k.nmount(&update(tmpfs(), none, &[("size", "1m")]))
        .expect("the same size");
    k.nmount(&update(tmpfs(), none, &[("from", "tmpfs")]))
        .expect("from");
    k.unmount(&dir, MountFlags::default()).expect("unmount");

    // A first mount with an option updates cannot carry: every later update carries it too.
    let mut moded = request("tmpfs", &dir, None);
    moded.options = vec![("mode".into(), "0755".into())];
    k.nmount(&moded).expect("tmpfs mode=0755");
    expect_errno(
        k.nmount(&update(tmpfs(), MountFlags::NOSUID, &[])),
        Errno::EOPNOTSUPP,
        "update of a tmpfs mounted with mode",
    );
    k.unmount(&dir, MountFlags::default()).expect("unmount");
}

/// nullfs takes an update only for an NFS export (nullfs_mount): without "export"
/// EOPNOTSUPP. With it nullfs accepts, and vfs_domount_update then wants a `struct
/// export_args` as the option's value: a bare flag is EINVAL.
pub fn nullfs_update_takes_only_export<K: Kernel>(k: &K, scratch: &dyn Scratch) {
    let target = scratch.dir("nupd");
    let req = request("nullfs", &target, Some(&scratch.dir("nsrc")));
    k.nmount(&req).expect("nullfs");
    expect_errno(
        k.nmount(&update(req.clone(), MountFlags::RDONLY, &[])),
        Errno::EOPNOTSUPP,
        "update without export",
    );
    assert!(!mounts_on(k, &target)[0].flags.contains(MountFlags::RDONLY));
    expect_errno(
        k.nmount(&update(req, MountFlags::default(), &[("export", "")])),
        Errno::EINVAL,
        "export without export_args",
    );
    k.unmount(&target, MountFlags::default()).expect("unmount");
}

/// What getfsstat reports as mounted-from and MNT_LOCAL: tmpfs is always "tmpfs" and local,
/// whatever "from" said (tmpfs_mount); nullfs reports its source as given, unresolved, and is
/// local only when the lower file system is (nullfs_mount, nullfs_statfs); devfs and fdescfs
/// report no flags (their statfs keeps MNT_IGNORE only). FACTS-kernel-errno.md §10.
pub fn mounted_from_and_local<K: Kernel>(k: &K, scratch: &dyn Scratch) {
    let tmp = scratch.dir("mf-tmp");
    k.nmount(&request("tmpfs", &tmp, Some("elsewhere")))
        .expect("tmpfs");
    let found = mounts_on(k, &tmp);
    assert_eq!(found[0].from, "tmpfs");
    assert!(found[0].flags.contains(MountFlags::LOCAL), "{found:?}");

    let null = scratch.dir("mf-null");
    scratch.dir("mf-x");
    let source = format!("{}/../mf-src", scratch.dir("mf-x"));
    scratch.dir("mf-src");
    k.nmount(&request("nullfs", &null, Some(&source)))
        .expect("nullfs");
    let found = mounts_on(k, &null);
    assert_eq!(found[0].from, source, "recorded as given");
    assert!(found[0].flags.contains(MountFlags::LOCAL), "{found:?}");

    let fd = scratch.dir("mf-fd");
    let over_fd = scratch.dir("mf-overfd");
    k.nmount(&request("fdescfs", &fd, Some("fdescfs")))
        .expect("fdescfs");
    k.nmount(&request("nullfs", &over_fd, Some(&fd)))
        .expect("nullfs of fdescfs");
    let dev = scratch.dir("mf-dev");
    k.nmount(&devfs(&dev, &[])).expect("devfs");
    for dir in [&fd, &over_fd, &dev] {
        let found = mounts_on(k, dir);
        assert!(!found[0].flags.contains(MountFlags::LOCAL), "{found:?}");
    }
    for dir in [&dev, &over_fd, &fd, &null, &tmp] {
        k.unmount(dir, MountFlags::default()).expect("unmount");
    }
}

/// One `#[test]` per rule of this module (see `conformance_tests!`).
#[macro_export]
#[doc(hidden)]
macro_rules! mount_conformance_tests {
    ($kernel:expr, $scratch:expr) => {
        mod mount {
            #[allow(unused_imports)]
            use super::*;
            $crate::conformance_rules!(
                mount,
                $kernel,
                $scratch,
                [
                    mount_lists_and_unmounts,
                    mounts_stack_and_unmount_newest_first,
                    name_lengths,
                    unknown_fstype_is_enoent,
                    mount_point_must_be_a_directory,
                    devfs_options,
                    nullfs_source_rules,
                    unmount_of_non_mount_point_is_einval,
                    nullfs_source_mount_is_busy,
                    pseudofs_and_fdescfs_refuse_updates,
                    update_runs_the_mounted_file_systems_code,
                    tmpfs_update_options,
                    nullfs_update_takes_only_export,
                    mounted_from_and_local,
                ]
            );
        }
    };
}
