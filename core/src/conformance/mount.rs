//! Conformance rules: nmount(2), unmount(2), getfsstat(2).
//!
//! Source: `sys/kern/vfs_mount.c` (vfs_donmount, vfs_domount, vfs_domount_first,
//! kern_unmount, dounmount), `sys/fs/devfs/devfs_vfsops.c`, `sys/fs/nullfs/null_vfsops.c`
//! of FreeBSD 14; FACTS-kernel-errno.md §7. Every rule mounts only below its scratch
//! directory and unmounts what it mounted.

use super::Scratch;
use crate::kernel::{Errno, KResult, Kernel, MountEntry, MountFlags, MountRequest};
use std::fmt::Debug;

/// Assert that `result` failed with exactly `errno`.
fn expect_errno<T: Debug>(result: KResult<T>, errno: Errno, what: &str) {
    match result {
        Ok(value) => panic!("{what}: succeeded with {value:?}, expected {errno}"),
        Err(e) => assert_eq!(e.code(), Some(errno), "{what}: {e}"),
    }
}

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
fn mounts_on<K: Kernel>(k: &K, dir: &str) -> Vec<MountEntry> {
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

/// A file system type no module provides: ENOENT, the kldload error (UNCONFIRMED against
/// ENODEV: see FACTS-kernel-errno.md §7).
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
                ]
            );
        }
    };
}
