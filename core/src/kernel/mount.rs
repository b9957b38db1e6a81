//! Mounts: nmount(2), unmount(2) and getfsstat(2).

use super::KResult;
use serde::{Deserialize, Serialize};

/// `MNT_*` flags (`sys/sys/mount.h`) that zelle passes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MountFlags(pub u64);

impl MountFlags {
    pub const RDONLY: MountFlags = MountFlags(0x0000_0001);
    pub const NOEXEC: MountFlags = MountFlags(0x0000_0004);
    pub const NOSUID: MountFlags = MountFlags(0x0000_0008);
    /// Reported by getfsstat(2): the file system is stored locally.
    pub const LOCAL: MountFlags = MountFlags(0x0000_1000);
    /// For nmount(2): change an existing mount instead of making one. The path must be a
    /// mount's root; the mounted file system's own code decides what may change.
    pub const UPDATE: MountFlags = MountFlags(0x0001_0000);
    /// For unmount(2): force it even with busy vnodes.
    pub const FORCE: MountFlags = MountFlags(0x0008_0000);

    pub fn contains(self, other: MountFlags) -> bool {
        self.0 & other.0 == other.0
    }
}

/// One nmount(2) request. The kernel receives name/value iovec pairs: `fstype`, `fspath`,
/// `from` (nullfs also gets `target`, the same path), then `options` in order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MountRequest {
    pub fstype: String,
    pub fspath: String,
    pub from: Option<String>,
    /// Further name/value pairs, such as ("ruleset", "4") for devfs.
    pub options: Vec<(String, String)>,
    pub flags: MountFlags,
}

impl MountRequest {
    /// A mount of `fstype` on `fspath` from `from`, with no further options or flags.
    pub fn new(fstype: &str, fspath: &str, from: Option<&str>) -> Self {
        MountRequest {
            fstype: fstype.into(),
            fspath: fspath.into(),
            from: from.map(str::to_string),
            options: Vec::new(),
            flags: MountFlags::default(),
        }
    }
}

/// A mounted filesystem (`struct statfs`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MountEntry {
    pub fstype: String,
    pub from: String,
    pub on: String,
    pub flags: MountFlags,
}

pub trait Mounts {
    /// nmount(2).
    fn nmount(&self, request: &MountRequest) -> KResult<()>;
    /// unmount(2).
    fn unmount(&self, path: &str, flags: MountFlags) -> KResult<()>;
    /// getfsstat(2), in mount order.
    fn list_mounts(&self) -> KResult<Vec<MountEntry>>;
}
