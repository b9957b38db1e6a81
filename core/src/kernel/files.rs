//! Files beneath a root: the few file operations zelle makes inside a container's root
//! (mount points, /etc/resolv.conf, /etc/hosts), each resolved the way openat(2) resolves a
//! path with `O_RESOLVE_BENEATH` (FreeBSD 13 and later) from a descriptor of the root.
//!
//! The root belongs to the image and is not trusted. Beneath it (`sys/kern/vfs_lookup.c`,
//! `namei_setup`, `namei_handle_root`, `nameicap_check_dotdot`; FACTS-kernel-runtime §4):
//! - an absolute `path` is refused with ENOTCAPABLE (callers pass paths relative to the root);
//! - an absolute symbolic link met anywhere on the way is refused with ENOTCAPABLE;
//! - `..` may return only to a directory this lookup already walked: above the root it is
//!   ENOTCAPABLE;
//! - relative links that stay beneath the root are followed, except as the last component:
//!   none of these operations follows a final link.

use super::KResult;
use serde::{Deserialize, Serialize};

/// What a path names (`st_mode & S_IFMT`, `sys/sys/stat.h`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FileType {
    Directory,
    Regular,
    Symlink,
    /// A device, FIFO or socket.
    Other,
}

pub trait Files {
    /// fstatat(2) with `AT_RESOLVE_BENEATH | AT_SYMLINK_NOFOLLOW`: what `path` names beneath
    /// `root`. ENOENT when nothing is there.
    fn stat_beneath(&self, root: &str, path: &str) -> KResult<FileType>;
    /// readlinkat(2) beneath `root`: the target of the link `path`. EINVAL when `path` is not a
    /// link.
    fn read_link_beneath(&self, root: &str, path: &str) -> KResult<String>;
    /// mkdirat(2) (for `FileType::Directory`) or openat(2) with `O_CREAT | O_EXCL` (for
    /// `FileType::Regular`) beneath `root`, with `mode` (the kernel applies the umask and, for
    /// mkdirat, `& 0777`). EEXIST when something is there already, a link included.
    fn create_beneath(&self, root: &str, path: &str, kind: FileType, mode: u32) -> KResult<()>;
    /// Replace `path` beneath `root` with a regular file holding `contents`: a new file beside
    /// it (openat(2) with `O_CREAT | O_EXCL`), write(2), then renameat(2) over `path`, so a link
    /// at `path` is replaced, never followed, and no reader sees half a file.
    fn write_beneath(&self, root: &str, path: &str, contents: &[u8], mode: u32) -> KResult<()>;
}

/// The temporary name `write_beneath` writes beside `path` before renaming it into place
/// (one rule for every backend, so that a leftover is recognisable).
pub fn temporary_beside(path: &str) -> String {
    match path.rsplit_once('/') {
        Some((dir, name)) => format!("{dir}/.{name}.zelle-new"),
        None => format!(".{path}.zelle-new"),
    }
}
