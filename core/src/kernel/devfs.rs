//! devfs rulesets: the DEVFSIO_* ioctls on a devfs mount (sys/fs/devfs/devfs.h, devfs_rule.c
//! `devfs_rules_ioctl`; FACTS-kernel-runtime.md §2), so zelle can install its own restrictive
//! ruleset without devfs(8).
//!
//! Every call names a devfs mount by a path on it (its mount point): the request is an ioctl
//! on a descriptor opened there. Rulesets are global, not per mount: a mount *uses* one.
//! Ruleset 0 in a rule id means "the ruleset this mount uses".

use super::KResult;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A rule's id: its ruleset and its number in it (`mkrid`: ruleset << 16 | rule).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
pub struct DevfsRuleId {
    pub ruleset: u16,
    pub rule: u16,
}

impl DevfsRuleId {
    pub fn new(ruleset: u16, rule: u16) -> Self {
        DevfsRuleId { ruleset, rule }
    }

    /// The packed `devfs_rid`.
    pub fn packed(self) -> u32 {
        (u32::from(self.ruleset) << 16) | u32::from(self.rule)
    }

    pub fn from_packed(rid: u32) -> Self {
        DevfsRuleId {
            ruleset: (rid >> 16) as u16,
            rule: rid as u16,
        }
    }
}

impl fmt::Display for DevfsRuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.ruleset, self.rule)
    }
}

/// `DRB_HIDE` / `DRB_UNHIDE`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DevfsVisibility {
    Hide,
    Unhide,
}

/// One devfs rule: a condition (a path pattern, or none: every node) and what it does to the
/// nodes it matches. Rules of a ruleset run in ascending number, so a later rule wins.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DevfsRule {
    /// Rule number 0 in an add asks the kernel to number it (last + 100).
    pub id: DevfsRuleId,
    /// `DRC_PATHPTRN`: an fnmatch(3) pattern (FNM_PATHNAME) on the path below the mount's root,
    /// at most 199 bytes.
    pub pattern: Option<String>,
    /// `DRA_BACTS`.
    pub visibility: Option<DevfsVisibility>,
    /// `DRA_UID`, `DRA_GID`, `DRA_MODE` (permission bits).
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub mode: Option<u16>,
    /// `DRA_INCSET`: run that ruleset's rules too (one level deep: vfs.devfs.rule_depth 1).
    pub include: Option<u16>,
}

impl DevfsRule {
    /// A rule `id` that hides (or unhides) the nodes matching `pattern` (every node if `None`).
    pub fn visibility(id: DevfsRuleId, pattern: Option<&str>, v: DevfsVisibility) -> Self {
        DevfsRule {
            id,
            pattern: pattern.map(str::to_string),
            visibility: Some(v),
            ..DevfsRule::default()
        }
    }
}

/// `DEVFS_MAXPTRNLEN`: the pattern buffer, NUL included.
pub const DEVFS_MAXPTRNLEN: usize = 200;

pub trait DevfsRules {
    /// DEVFSIO_RADD: store a rule (creating its ruleset). Nodes already there are not changed
    /// until the ruleset is applied.
    fn devfs_add_rule(&self, mount: &str, rule: &DevfsRule) -> KResult<()>;
    /// DEVFSIO_RDEL.
    fn devfs_delete_rule(&self, mount: &str, id: DevfsRuleId) -> KResult<()>;
    /// DEVFSIO_RAPPLY: run a rule, not stored, once on the mount's nodes.
    fn devfs_apply_rule(&self, mount: &str, rule: &DevfsRule) -> KResult<()>;
    /// DEVFSIO_RGETNEXT: the first rule of `after.ruleset` numbered above `after.rule`; ENOENT
    /// when there is none.
    fn devfs_next_rule(&self, mount: &str, after: DevfsRuleId) -> KResult<DevfsRule>;
    /// DEVFSIO_SUSE: the mount uses `ruleset` for nodes created from now on (0: none).
    fn devfs_use_ruleset(&self, mount: &str, ruleset: u16) -> KResult<()>;
    /// DEVFSIO_SAPPLY: run every rule of `ruleset` on the mount's nodes now.
    fn devfs_apply_ruleset(&self, mount: &str, ruleset: u16) -> KResult<()>;
    /// DEVFSIO_SGETNEXT: the first ruleset numbered above `after`; ENOENT when none.
    fn devfs_next_ruleset(&self, mount: &str, after: u16) -> KResult<u16>;
}
