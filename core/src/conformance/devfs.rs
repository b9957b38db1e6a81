//! Conformance rules: devfs rulesets through the DEVFSIO_* ioctls on a devfs mount
//! (FACTS-kernel-runtime.md §2; sys/fs/devfs/devfs_rule.c `devfs_rules_ioctl`).
//!
//! Each rule mounts its own devfs in the scratch directory and works with ruleset numbers far
//! above the ones rc(8) loads (1–5), removing its rules and unmounting afterwards. Which
//! nodes a mount then shows is not visible through the contract (that is a directory
//! listing); the simulator's own tests check it.
//!
//! Instantiated with [`devfs_conformance_tests!`](crate::devfs_conformance_tests), apart from
//! the whole suite, so a backend takes them on by name (both doors of the simulator do).

use super::{expect_errno, Scratch};
use crate::kernel::{
    DevfsRule, DevfsRuleId, DevfsVisibility, Errno, Kernel, MountFlags, MountRequest,
};

/// A devfs mounted on a new scratch directory `name`, with no ruleset.
fn mount_devfs<K: Kernel>(k: &K, scratch: &dyn Scratch, name: &str) -> String {
    let on = scratch.dir(name);
    k.nmount(&MountRequest::new("devfs", &on, Some("devfs")))
        .unwrap_or_else(|e| panic!("mount devfs on {on}: {e}"));
    on
}

fn unmount<K: Kernel>(k: &K, on: &str) {
    k.unmount(on, MountFlags::default())
        .unwrap_or_else(|e| panic!("unmount {on}: {e}"));
}

fn hide(id: DevfsRuleId, pattern: Option<&str>) -> DevfsRule {
    DevfsRule::visibility(id, pattern, DevfsVisibility::Hide)
}

fn unhide(id: DevfsRuleId, pattern: &str) -> DevfsRule {
    DevfsRule::visibility(id, Some(pattern), DevfsVisibility::Unhide)
}

/// The rules of `set` in order, by RGETNEXT from 0 until ENOENT.
fn rules_of<K: Kernel>(k: &K, on: &str, set: u16) -> Vec<DevfsRule> {
    let mut rules = Vec::new();
    let mut after = DevfsRuleId::new(set, 0);
    loop {
        match k.devfs_next_rule(on, after) {
            Ok(rule) => {
                after = rule.id;
                rules.push(rule);
            }
            Err(e) => {
                assert_eq!(e.code(), Some(Errno::ENOENT), "RGETNEXT {after}: {e}");
                return rules;
            }
        }
    }
}

/// zelle's kind of ruleset: hide everything, then unhide a few nodes. The rules come back from
/// RGETNEXT in rule order with what was stored; SUSE and SAPPLY take the set; deleting the
/// rules and unmounting frees it (`devfs_ruleset_reap`).
pub fn a_ruleset_is_stored_listed_used_and_freed<K: Kernel>(k: &K, scratch: &dyn Scratch) {
    let on = mount_devfs(k, scratch, "dev-stored");
    let set = 64_001;
    let rules = [
        hide(DevfsRuleId::new(set, 100), None),
        unhide(DevfsRuleId::new(set, 200), "null"),
        DevfsRule {
            mode: Some(0o666),
            uid: Some(0),
            gid: Some(0),
            ..unhide(DevfsRuleId::new(set, 300), "zero")
        },
    ];
    // Added out of order: the kernel keeps them sorted by number.
    for rule in [&rules[2], &rules[0], &rules[1]] {
        k.devfs_add_rule(&on, rule)
            .unwrap_or_else(|e| panic!("add {}: {e}", rule.id));
    }
    assert_eq!(rules_of(k, &on, set), rules);
    assert_eq!(k.devfs_next_ruleset(&on, set - 1), Ok(set));
    k.devfs_use_ruleset(&on, set).expect("SUSE");
    k.devfs_apply_ruleset(&on, set).expect("SAPPLY");
    for rule in &rules {
        k.devfs_delete_rule(&on, rule.id).expect("RDEL");
    }
    // Still used by the mount: empty but kept.
    assert_eq!(k.devfs_next_ruleset(&on, set - 1), Ok(set));
    assert!(rules_of(k, &on, set).is_empty());
    k.devfs_use_ruleset(&on, 0).expect("SUSE 0");
    expect_errno(
        k.devfs_next_ruleset(&on, set - 1),
        Errno::ENOENT,
        "freed when empty and unused",
    );
    unmount(k, &on);
}

/// RADD: an id already present is EEXIST; ruleset 0 on a mount that uses none is EIO; an
/// include of a missing ruleset ESRCH; rule 0 numbers the rule last + 100, and past 65535
/// that is ERANGE (`devfs_rules_ioctl`, `devfs_rule_insert`, `devfs_rule_autonumber`).
pub fn add_rule_errors_and_numbering<K: Kernel>(k: &K, scratch: &dyn Scratch) {
    let on = mount_devfs(k, scratch, "dev-add");
    let set = 64_002;
    let first = hide(DevfsRuleId::new(set, 0), Some("bpf*"));
    k.devfs_add_rule(&on, &first).expect("auto-numbered");
    k.devfs_add_rule(&on, &first).expect("auto-numbered again");
    let numbers: Vec<u16> = rules_of(k, &on, set).iter().map(|r| r.id.rule).collect();
    assert_eq!(numbers, [100, 200]);
    expect_errno(
        k.devfs_add_rule(&on, &hide(DevfsRuleId::new(set, 100), None)),
        Errno::EEXIST,
        "same id",
    );
    expect_errno(
        k.devfs_add_rule(&on, &hide(DevfsRuleId::new(0, 10), None)),
        Errno::EIO,
        "ruleset 0, mount uses none",
    );
    let include = DevfsRule {
        include: Some(64_099),
        ..DevfsRule::default()
    };
    expect_errno(
        k.devfs_add_rule(
            &on,
            &DevfsRule {
                id: DevfsRuleId::new(set, 300),
                ..include.clone()
            },
        ),
        Errno::ESRCH,
        "include of a missing ruleset",
    );
    expect_errno(
        k.devfs_apply_rule(&on, &include),
        Errno::ESRCH,
        "RAPPLY including a missing ruleset",
    );
    k.devfs_add_rule(&on, &hide(DevfsRuleId::new(set, 65_500), None))
        .expect("rule 65500");
    expect_errno(
        k.devfs_add_rule(&on, &first),
        Errno::ERANGE,
        "auto-number past 65535",
    );
    for rule in [100, 200, 65_500] {
        k.devfs_delete_rule(&on, DevfsRuleId::new(set, rule))
            .expect("RDEL");
    }
    expect_errno(
        k.devfs_next_ruleset(&on, set - 1),
        Errno::ENOENT,
        "freed with its last rule",
    );
    unmount(k, &on);
}

/// Ruleset 0 in an id is the mount's ruleset (`devfs_rid_input`); SUSE creates a ruleset never
/// loaded and never fails; missing things: RDEL ENOENT, RGETNEXT ENOENT, SAPPLY ESRCH
/// (ruleset 0 included).
pub fn ruleset_zero_means_the_mounts<K: Kernel>(k: &K, scratch: &dyn Scratch) {
    let on = mount_devfs(k, scratch, "dev-zero");
    let set = 64_003;
    expect_errno(
        k.devfs_apply_ruleset(&on, 0),
        Errno::ESRCH,
        "SAPPLY 0, none used",
    );
    expect_errno(
        k.devfs_apply_ruleset(&on, set),
        Errno::ESRCH,
        "SAPPLY missing",
    );
    expect_errno(
        k.devfs_next_rule(&on, DevfsRuleId::new(set, 0)),
        Errno::ENOENT,
        "RGETNEXT of a missing ruleset",
    );
    expect_errno(
        k.devfs_delete_rule(&on, DevfsRuleId::new(set, 1)),
        Errno::ENOENT,
        "RDEL missing",
    );
    k.devfs_use_ruleset(&on, set).expect("SUSE creates it");
    assert_eq!(k.devfs_next_ruleset(&on, set - 1), Ok(set));
    k.devfs_add_rule(&on, &hide(DevfsRuleId::new(0, 5), Some("mem")))
        .expect("add to the mount's ruleset");
    let rules = rules_of(k, &on, 0);
    assert_eq!(rules.len(), 1);
    assert_eq!(rules[0].id, DevfsRuleId::new(set, 5));
    k.devfs_apply_ruleset(&on, 0).expect("SAPPLY the mount's");
    k.devfs_delete_rule(&on, DevfsRuleId::new(0, 5))
        .expect("RDEL in the mount's ruleset");
    unmount(k, &on);
    // Unmounting dropped the last reference to the empty set.
    let other = mount_devfs(k, scratch, "dev-zero-after");
    expect_errno(
        k.devfs_next_ruleset(&other, set - 1),
        Errno::ENOENT,
        "freed at unmount",
    );
    unmount(k, &other);
}

/// One `#[test]` per rule of this module.
#[macro_export]
macro_rules! devfs_conformance_tests {
    ($kernel:expr, $scratch:expr) => {
        mod devfs {
            #[allow(unused_imports)]
            use super::*;
            $crate::conformance_rules!(
                devfs,
                $kernel,
                $scratch,
                [
                    a_ruleset_is_stored_listed_used_and_freed,
                    add_rule_errors_and_numbering,
                    ruleset_zero_means_the_mounts,
                ]
            );
        }
    };
}
