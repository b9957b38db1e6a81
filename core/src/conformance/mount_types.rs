//! Conformance rules: the file system types the runtime mounts, with their options —
//! tmpfs, fdescfs, procfs, linprocfs and linsysfs, zfs by dataset, nullfs file mounts — and
//! the flags getfsstat(2) reports back.
//!
//! Sources: `sys/fs/tmpfs/tmpfs_vfsops.c` (`tmpfs_mount`, `tmpfs_opts`), `sys/kern/vfs_mount.c`
//! (`vfs_donmount`'s flag options, `vfs_domount_first` and VFCF_FILEMOUNT,
//! `vfs_byname_kld`), `sys/fs/nullfs/null_vfsops.c` (`nullfs_mount`), `sys/fs/pseudofs`
//! (`PSEUDOFS`), `linsysfs.c` (`MODULE_DEPEND(linsysfs, linux_common)`), OpenZFS
//! `zfs_vfsops.c` (`zfs_mount`); FACTS-kernel-runtime.md §6. Every rule mounts below its
//! scratch directory and unmounts what it mounted.

use super::mount::mounts_on;
use super::{expect_errno, Scratch};
use crate::kernel::jail::LINUX_COMMON_MODULE;
use crate::kernel::{Errno, Kernel, MountEntry, MountFlags, MountRequest, Release, SysctlValue};

fn request(
    fstype: &str,
    fspath: &str,
    from: Option<&str>,
    options: &[(&str, &str)],
) -> MountRequest {
    MountRequest {
        options: options
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..MountRequest::new(fstype, fspath, from)
    }
}

/// The newest mount on `dir`.
fn mount_on<K: Kernel>(k: &K, dir: &str) -> Option<MountEntry> {
    mounts_on(k, dir).pop()
}

fn unmount<K: Kernel>(k: &K, dir: &str) {
    k.unmount(dir, MountFlags::default())
        .unwrap_or_else(|e| panic!("unmount {dir}: {e}"));
}

fn release<K: Kernel>(k: &K) -> Release {
    match k.sysctl("kern.osreldate").expect("kern.osreldate") {
        SysctlValue::Int(osreldate) => Release::from_osreldate(osreldate),
        other => panic!("kern.osreldate: {other:?}"),
    }
}

/// tmpfs takes size, maxfilesize and inodes with k/m/g suffixes (vfs_getopt_size), mode in
/// octal, uid and gid; the size kept is what an update must repeat, so after "1m" an update
/// with "1024k" passes and one with "2m" is EOPNOTSUPP. An option it does not know ("nr_inodes", Linux's) is EINVAL. A value
/// that does not parse is not an error: tmpfs_mount falls back to no limit or the covered
/// directory's mode.
pub fn tmpfs_options<K: Kernel>(k: &K, scratch: &dyn Scratch) {
    let dir = scratch.dir("tmpopts");
    expect_errno(
        k.nmount(&request("tmpfs", &dir, None, &[("nr_inodes", "100")])),
        Errno::EINVAL,
        "Linux's nr_inodes",
    );
    let options = [
        ("size", "1m"),
        ("maxfilesize", "64k"),
        ("inodes", "1k"),
        ("mode", "01777"),
        ("uid", "0"),
        ("gid", "0"),
    ];
    k.nmount(&request("tmpfs", &dir, None, &options))
        .expect("tmpfs with sizes and mode");
    unmount(k, &dir);
    // Updates see the first mount's options too (vfs_mergeopts): size alone, then.
    k.nmount(&request("tmpfs", &dir, None, &[("size", "1m")]))
        .expect("tmpfs size=1m");
    let mut same = request("tmpfs", &dir, None, &[("size", "1024k")]);
    same.flags = MountFlags::UPDATE;
    k.nmount(&same).expect("update with the same size in k");
    let mut bigger = request("tmpfs", &dir, None, &[("size", "2m")]);
    bigger.flags = MountFlags::UPDATE;
    expect_errno(k.nmount(&bigger), Errno::EOPNOTSUPP, "a new size");
    unmount(k, &dir);

    for (name, value) in [
        ("size", "1g"),
        ("size", "0"),
        ("size", "lots"),
        ("mode", "rwx"),
    ] {
        k.nmount(&request("tmpfs", &dir, None, &[(name, value)]))
            .unwrap_or_else(|e| panic!("tmpfs {name}={value}: {e}"));
        assert_eq!(mount_on(k, &dir).expect("listed").fstype, "tmpfs");
        unmount(k, &dir);
    }
}

/// MNT_RDONLY, MNT_NOSUID and MNT_NOEXEC are kept and reported, whether given as flags or as
/// the options "ro", "nosuid" and "noexec" (vfs_donmount turns those into flags).
pub fn mount_flags_are_reported<K: Kernel>(k: &K, scratch: &dyn Scratch) {
    let all = MountFlags(MountFlags::RDONLY.0 | MountFlags::NOSUID.0 | MountFlags::NOEXEC.0);
    let by_flags = scratch.dir("flags");
    let mut req = request("tmpfs", &by_flags, None, &[]);
    req.flags = all;
    k.nmount(&req).expect("tmpfs ro,nosuid,noexec");
    let by_options = scratch.dir("flagopts");
    let opts = [("ro", ""), ("nosuid", ""), ("noexec", "")];
    k.nmount(&request(
        "nullfs",
        &by_options,
        Some(&scratch.dir("flagsrc")),
        &opts,
    ))
    .expect("nullfs -o ro,nosuid,noexec");
    for dir in [&by_flags, &by_options] {
        let found = mount_on(k, dir).expect("listed");
        assert!(found.flags.contains(all), "{found:?}");
    }
    let plain = scratch.dir("noflags");
    k.nmount(&request("tmpfs", &plain, None, &[]))
        .expect("tmpfs");
    let found = mount_on(k, &plain).expect("listed");
    for flag in [MountFlags::RDONLY, MountFlags::NOSUID, MountFlags::NOEXEC] {
        assert!(!found.flags.contains(flag), "{found:?}");
    }
    for dir in [&plain, &by_options, &by_flags] {
        unmount(k, dir);
    }
}

/// fdescfs takes linrdlnk (fdesc_mount); procfs mounts as it is; linprocfs and linsysfs load
/// linux_common with them (MODULE_DEPEND), after which it is loaded.
pub fn pseudo_file_systems<K: Kernel>(k: &K, scratch: &dyn Scratch) {
    let cases: [(&str, &[(&str, &str)]); 4] = [
        ("fdescfs", &[("linrdlnk", "")]),
        ("procfs", &[]),
        ("linprocfs", &[]),
        ("linsysfs", &[]),
    ];
    for (fstype, options) in cases {
        let dir = scratch.dir(&format!("pseudo-{fstype}"));
        k.nmount(&request(fstype, &dir, Some(fstype), options))
            .unwrap_or_else(|e| panic!("mount {fstype}: {e}"));
        let found = mount_on(k, &dir).expect("listed");
        assert_eq!(
            (found.fstype.as_str(), found.from.as_str()),
            (fstype, fstype)
        );
        unmount(k, &dir);
    }
    assert_eq!(k.module_loaded(LINUX_COMMON_MODULE).ok(), Some(true));
}

/// zfs mounts a dataset named by "from": none given is EINVAL, one that does not exist ENOENT.
pub fn zfs_needs_a_dataset<K: Kernel>(k: &K, scratch: &dyn Scratch) {
    let dir = scratch.dir("zfs");
    expect_errno(
        k.nmount(&request("zfs", &dir, None, &[])),
        Errno::EINVAL,
        "zfs without from",
    );
    expect_errno(
        k.nmount(&request("zfs", &dir, Some("zelle-no-pool/none"), &[])),
        Errno::ENOENT,
        "a dataset that does not exist",
    );
}

/// nullfs mounts a regular file over a regular file where the release has VFCF_FILEMOUNT
/// (14.0 on): listed from its source; a directory over a file is EINVAL (nullfs_mount wants
/// the same type), as a file over a directory is. Before it, a file mount point is ENOTDIR
/// (vfs_domount_first).
pub fn nullfs_file_mounts<K: Kernel>(k: &K, scratch: &dyn Scratch) {
    let on = scratch.file("resolv-on");
    let source = scratch.file("resolv-src");
    let file_over_file = request("nullfs", &on, Some(&source), &[]);
    if !release(k).nullfs_file_mounts() {
        expect_errno(
            k.nmount(&file_over_file),
            Errno::ENOTDIR,
            "file mount point",
        );
        return;
    }
    k.nmount(&file_over_file).expect("file over file");
    let found = mount_on(k, &on).expect("listed");
    assert_eq!(
        (found.fstype.as_str(), found.from.as_str()),
        ("nullfs", source.as_str())
    );
    unmount(k, &on);
    expect_errno(
        k.nmount(&request("nullfs", &on, Some(&scratch.dir("srcdir")), &[])),
        Errno::EINVAL,
        "directory over file",
    );
    expect_errno(
        k.nmount(&request(
            "nullfs",
            &scratch.dir("ondir"),
            Some(&source),
            &[],
        )),
        Errno::EINVAL,
        "file over directory",
    );
}

/// One `#[test]` per rule of this module (see `conformance_tests!`).
#[macro_export]
#[doc(hidden)]
macro_rules! mount_types_conformance_tests {
    ($kernel:expr, $scratch:expr) => {
        mod mount_types {
            #[allow(unused_imports)]
            use super::*;
            $crate::conformance_rules!(
                mount_types,
                $kernel,
                $scratch,
                [
                    tmpfs_options,
                    mount_flags_are_reported,
                    pseudo_file_systems,
                    zfs_needs_a_dataset,
                    nullfs_file_mounts,
                ]
            );
        }
    };
}
