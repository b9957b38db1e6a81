//! Conformance rules: files beneath a root (openat(2), mkdirat(2), fstatat(2), readlinkat(2),
//! renameat(2) from a root descriptor with `O_RESOLVE_BENEATH`).
//!
//! Source: `sys/kern/vfs_lookup.c` (`namei_setup`, `namei_handle_root`,
//! `nameicap_check_dotdot`), `sys/kern/vfs_syscalls.c` (`kern_mkdirat`, `kern_readlinkat`,
//! `kern_renameat`), `sys/kern/vfs_vnops.c` (`vn_open_cred`) of the FreeBSD 14 era;
//! FACTS-kernel-runtime.md §4. Every rule works in a root below its scratch directory, with an
//! "outside" file beside the root that nothing may reach.

use super::{expect_errno, Scratch};
use crate::kernel::{Errno, FileType, Kernel};

/// A root with `etc/` in it, and a file `outside` beside the root holding "host".
fn root(s: &dyn Scratch) -> String {
    s.dir("root/etc");
    s.file("outside");
    s.dir("root")
}

/// write replaces a link at the name instead of following it, and what the link pointed at
/// keeps its contents.
pub fn write_replaces_a_link_without_following_it<K: Kernel>(k: &K, s: &dyn Scratch) {
    let root = root(s);
    let outside = s.missing("outside");
    s.symlink(&outside, "root/etc/resolv.conf");
    k.write_beneath(&root, "etc/resolv.conf", b"nameserver 192.0.2.53\n", 0o644)
        .expect("write over a link");
    assert_eq!(
        k.stat_beneath(&root, "etc/resolv.conf").unwrap(),
        FileType::Regular
    );
    assert_eq!(s.read("root/etc/resolv.conf"), b"nameserver 192.0.2.53\n");
    assert_eq!(
        s.read("outside"),
        b"",
        "the link's target was written through"
    );
    // Writing again replaces the file; no temporary is left beside it.
    k.write_beneath(&root, "etc/resolv.conf", b"x\n", 0o644)
        .unwrap();
    assert_eq!(s.read("root/etc/resolv.conf"), b"x\n");
    expect_errno(
        k.stat_beneath(&root, "etc/.resolv.conf.zelle-new"),
        Errno::ENOENT,
        "the temporary",
    );
}

/// An absolute path is refused: lookups beneath a root are strictly relative (namei_setup).
pub fn an_absolute_path_is_enotcapable<K: Kernel>(k: &K, s: &dyn Scratch) {
    let root = root(s);
    expect_errno(
        k.stat_beneath(&root, "/etc"),
        Errno::ENOTCAPABLE,
        "stat /etc",
    );
    expect_errno(
        k.write_beneath(&root, "/etc/hosts", b"", 0o644),
        Errno::ENOTCAPABLE,
        "write /etc/hosts",
    );
}

/// An absolute link anywhere on the way is refused (namei_handle_root), even one pointing
/// inside the root.
pub fn an_absolute_link_on_the_way_is_enotcapable<K: Kernel>(k: &K, s: &dyn Scratch) {
    let root = root(s);
    s.symlink("/", "root/abs");
    s.symlink(&format!("{root}/etc"), "root/etc-abs");
    expect_errno(
        k.write_beneath(&root, "abs/tmp/x", b"", 0o644),
        Errno::ENOTCAPABLE,
        "through a link to /",
    );
    expect_errno(
        k.create_beneath(&root, "etc-abs/x", FileType::Directory, 0o755),
        Errno::ENOTCAPABLE,
        "through an absolute link into the root",
    );
}

/// `..` may come back down to a directory walked already, never above the start
/// (nameicap_check_dotdot).
pub fn dot_dot_above_the_root_is_enotcapable<K: Kernel>(k: &K, s: &dyn Scratch) {
    let root = root(s);
    assert_eq!(
        k.stat_beneath(&root, "etc/../etc").unwrap(),
        FileType::Directory
    );
    expect_errno(
        k.stat_beneath(&root, "../outside"),
        Errno::ENOTCAPABLE,
        "../outside",
    );
    expect_errno(
        k.write_beneath(&root, "etc/../../outside", b"x", 0o644),
        Errno::ENOTCAPABLE,
        "etc/../../outside",
    );
    assert_eq!(s.read("outside"), b"");
}

/// Relative links that stay beneath the root are followed on the way; a chain of them that
/// climbs out is refused.
pub fn relative_links_are_followed_only_while_beneath<K: Kernel>(k: &K, s: &dyn Scratch) {
    let root = root(s);
    s.dir("root/private/etc");
    s.symlink("private/etc", "root/conf");
    k.write_beneath(&root, "conf/hosts", b"127.0.0.1 localhost\n", 0o644)
        .unwrap();
    assert_eq!(s.read("root/private/etc/hosts"), b"127.0.0.1 localhost\n");
    // up -> etc/.. -> the root itself; out -> up/.. -> above it.
    s.symlink("etc/..", "root/up");
    s.symlink("up/..", "root/out");
    assert_eq!(
        k.stat_beneath(&root, "up/etc").unwrap(),
        FileType::Directory
    );
    expect_errno(
        k.stat_beneath(&root, "out/outside"),
        Errno::ENOTCAPABLE,
        "a relative chain out of the root",
    );
}

/// The last component is never followed: stat names the link, readlink reads it, create
/// refuses it as existing.
pub fn the_last_component_is_not_followed<K: Kernel>(k: &K, s: &dyn Scratch) {
    let root = root(s);
    s.symlink("../outside", "root/etc/escape");
    assert_eq!(
        k.stat_beneath(&root, "etc/escape").unwrap(),
        FileType::Symlink
    );
    assert_eq!(
        k.read_link_beneath(&root, "etc/escape").unwrap(),
        "../outside"
    );
    expect_errno(
        k.create_beneath(&root, "etc/escape", FileType::Regular, 0o644),
        Errno::EEXIST,
        "create over a link",
    );
    expect_errno(
        k.read_link_beneath(&root, "etc"),
        Errno::EINVAL,
        "readlink of a directory",
    );
}

/// create makes directories and empty files, one level at a time, and never over anything.
pub fn create_makes_one_new_name<K: Kernel>(k: &K, s: &dyn Scratch) {
    let root = root(s);
    k.create_beneath(&root, "proc", FileType::Directory, 0o555)
        .unwrap();
    assert_eq!(k.stat_beneath(&root, "proc").unwrap(), FileType::Directory);
    k.create_beneath(&root, "etc/hostname", FileType::Regular, 0o644)
        .unwrap();
    assert_eq!(s.read("root/etc/hostname"), b"");
    expect_errno(
        k.create_beneath(&root, "proc", FileType::Directory, 0o555),
        Errno::EEXIST,
        "mkdir twice",
    );
    expect_errno(
        k.create_beneath(&root, "dev/shm", FileType::Directory, 0o755),
        Errno::ENOENT,
        "mkdir without its parent",
    );
    expect_errno(
        k.create_beneath(&root, "etc/hostname/x", FileType::Directory, 0o755),
        Errno::ENOTDIR,
        "mkdir below a file",
    );
    expect_errno(
        k.stat_beneath(&root, "nothing"),
        Errno::ENOENT,
        "stat of nothing",
    );
}

#[macro_export]
#[doc(hidden)]
macro_rules! files_conformance_tests {
    ($kernel:expr, $scratch:expr) => {
        mod files {
            #[allow(unused_imports)]
            use super::*;
            $crate::conformance_rules!(
                files,
                $kernel,
                $scratch,
                [
                    write_replaces_a_link_without_following_it,
                    an_absolute_path_is_enotcapable,
                    an_absolute_link_on_the_way_is_enotcapable,
                    dot_dot_above_the_root_is_enotcapable,
                    relative_links_are_followed_only_while_beneath,
                    the_last_component_is_not_followed,
                    create_makes_one_new_name,
                ]
            );
        }
    };
}
