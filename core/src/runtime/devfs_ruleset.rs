//! zelle's own devfs ruleset: what a container's /dev shows unless the operator names another
//! (`org.zelle.devfs-ruleset`). Rulesets are the host's, shared by every devfs mount that uses
//! them, so zelle installs its ruleset once, through the first container's /dev, with the
//! DEVFSIO_* ioctls (no devfs(8)), and leaves it installed, as the operator's own rulesets
//! are.
//!
//! A shim installs it at start-up with [`install_through`], on a devfs it mounts for the
//! occasion on an empty directory; a create that finds it missing installs it through the
//! container's /dev.
//!
//! The rules hide every node, then unhide those a container needs, as `devfsrules_jail` of
//! /etc/defaults/devfs.rules does (its unhide_basic and unhide_login lists), plus `shm`, the
//! mount point linux_common makes for a Linux image's /dev/shm (linux_util.c
//! `linux_dev_shm_create`). No disk, no bpf, no pf, no mem.

use crate::kernel::devfs::{DevfsRule, DevfsRuleId, DevfsVisibility};
use crate::kernel::{DevfsRules, Errno, KResult, MountFlags, MountRequest, Mounts, Op};

/// zelle's ruleset number: clear of the system's 1–5 (devfs.rules) and of the small numbers
/// operators pick.
pub const ZELLE_DEVFS_RULESET: u16 = 77;

/// The nodes a container sees.
const VISIBLE: &[&str] = &[
    "null", "zero", "crypto", "random", "urandom", "log", "stdin", "stdout", "stderr", "fd",
    "fd/*", "ptmx", "pts", "pts/*", "tty", "shm", "shm/*",
];

/// The rules of zelle's ruleset, numbered 100, 200, … as devfs(8) numbers them.
pub fn zelle_rules() -> Vec<DevfsRule> {
    let id = |n: usize| DevfsRuleId::new(ZELLE_DEVFS_RULESET, ((n + 1) * 100) as u16);
    std::iter::once(DevfsRule::visibility(id(0), None, DevfsVisibility::Hide))
        .chain(VISIBLE.iter().enumerate().map(|(i, pattern)| {
            DevfsRule::visibility(id(i + 1), Some(pattern), DevfsVisibility::Unhide)
        }))
        .collect()
}

/// The rules of `ruleset`, read through the devfs mounted on `mount`.
fn rules_of<K: DevfsRules + ?Sized>(
    kernel: &K,
    mount: &str,
    ruleset: u16,
) -> KResult<Vec<DevfsRule>> {
    let mut rules = Vec::new();
    let mut after = DevfsRuleId::new(ruleset, 0);
    loop {
        match kernel.devfs_next_rule(mount, after) {
            Ok(rule) if rule.id.ruleset == ruleset => {
                after = rule.id;
                rules.push(rule);
            }
            Ok(_) => return Ok(rules),
            Err(e) if e.is(Op::DevfsNextRule, Errno::ENOENT) => return Ok(rules),
            Err(e) => return Err(e),
        }
    }
}

/// Make zelle's ruleset hold exactly its rules, and run it on the devfs mounted on `mount`
/// (which uses it). Rules another process added at the same moment are the same rules: EEXIST
/// from one of them is no error.
pub fn install_zelle_ruleset<K: DevfsRules + ?Sized>(kernel: &K, mount: &str) -> KResult<()> {
    let wanted = zelle_rules();
    let present = rules_of(kernel, mount, ZELLE_DEVFS_RULESET)?;
    if present != wanted {
        for rule in present.iter().filter(|r| !wanted.contains(r)) {
            match kernel.devfs_delete_rule(mount, rule.id) {
                Err(e) if !e.is(Op::DevfsDeleteRule, Errno::ENOENT) => return Err(e),
                _ => {}
            }
        }
        for rule in wanted.iter().filter(|r| !present.contains(r)) {
            match kernel.devfs_add_rule(mount, rule) {
                Err(e) if !e.is(Op::DevfsAddRule, Errno::EEXIST) => return Err(e),
                _ => {}
            }
        }
    }
    kernel.devfs_apply_ruleset(mount, ZELLE_DEVFS_RULESET)
}

/// Install zelle's ruleset through a devfs mounted for the occasion on `scratch` (an empty
/// directory of the host), unmounted again whatever happens. The ruleset stays: its rules keep
/// it alive (devfs_rule.c `devfs_ruleset_reap` frees only an empty, unused ruleset).
pub fn install_through<K: Mounts + DevfsRules + ?Sized>(kernel: &K, scratch: &str) -> KResult<()> {
    let mut request = MountRequest::new("devfs", scratch, Some("devfs"));
    request.options = vec![("ruleset".into(), ZELLE_DEVFS_RULESET.to_string())];
    kernel.nmount(&request)?;
    let installed = install_zelle_ruleset(kernel, scratch);
    let unmounted = kernel.unmount(scratch, MountFlags::default());
    installed.and(unmounted)
}
