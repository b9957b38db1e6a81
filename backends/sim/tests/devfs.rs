//! devfs ruleset rules that need the simulator: which nodes a devfs mount shows, with what
//! owner and mode, after which requests — so a runtime test can check that zelle's ruleset
//! hides what it should.

mod common;

use common::TempScratch;
use zelle_core::conformance::Scratch;
use zelle_core::kernel::*;
use zelle_sim::devfs::DevfsNode;
use zelle_sim::{FaultPlan, Op, SimConfig, SimKernel};

fn mount(k: &SimKernel, on: &str, ruleset: Option<u16>) {
    let mut request = MountRequest::new("devfs", on, Some("devfs"));
    if let Some(set) = ruleset {
        request.options.push(("ruleset".into(), set.to_string()));
    }
    k.nmount(&request).unwrap();
}

fn nodes(k: &SimKernel, on: &str) -> Vec<DevfsNode> {
    k.with_machine(|m| m.devfs_nodes(on))
        .unwrap()
        .expect("a devfs")
}

fn names(k: &SimKernel, on: &str) -> Vec<String> {
    nodes(k, on).into_iter().map(|n| n.path).collect()
}

fn hide(set: u16, rule: u16, pattern: Option<&str>) -> DevfsRule {
    DevfsRule::visibility(DevfsRuleId::new(set, rule), pattern, DevfsVisibility::Hide)
}

fn unhide(set: u16, rule: u16, pattern: &str) -> DevfsRule {
    DevfsRule::visibility(
        DevfsRuleId::new(set, rule),
        Some(pattern),
        DevfsVisibility::Unhide,
    )
}

/// devfs.rules' sets 1–3 and a jail set including them (FACTS §2 [D]), as zelle could load it.
fn load_jail_ruleset(k: &SimKernel, on: &str) {
    let mut rules = vec![hide(1, 100, None)];
    for (n, p) in ["null", "zero", "crypto", "random", "urandom"]
        .iter()
        .enumerate()
    {
        rules.push(unhide(2, 100 * (n as u16 + 1), p));
    }
    for (n, p) in [
        "ptmx", "pts", "pts/*", "fd", "fd/*", "stdin", "stdout", "stderr",
    ]
    .iter()
    .enumerate()
    {
        rules.push(unhide(3, 100 * (n as u16 + 1), p));
    }
    for (n, set) in [1u16, 2, 3].iter().enumerate() {
        rules.push(DevfsRule {
            id: DevfsRuleId::new(40, 100 * (n as u16 + 1)),
            include: Some(*set),
            ..DevfsRule::default()
        });
    }
    for rule in rules {
        k.devfs_add_rule(on, &rule).unwrap();
    }
}

const JAIL_VIEW: &[&str] = &[
    "crypto", "fd", "fd/0", "fd/1", "fd/2", "null", "ptmx", "pts", "random", "stderr", "stdin",
    "stdout", "urandom", "zero",
];

/// A jail's devfs mounted with the jail ruleset shows only the basic and login nodes: pf, bpf,
/// mem and the disks are hidden.
#[test]
fn a_mount_with_the_jail_ruleset_shows_only_what_it_unhides() {
    let k = SimKernel::seeded(1);
    let scratch = TempScratch::new();
    let host_dev = scratch.dir("hostdev");
    mount(&k, &host_dev, None);
    assert!(
        names(&k, &host_dev).contains(&"pf".to_string()),
        "no ruleset: all"
    );
    load_jail_ruleset(&k, &host_dev);
    let jail_dev = scratch.dir("jaildev");
    mount(&k, &jail_dev, Some(40));
    assert_eq!(names(&k, &jail_dev), JAIL_VIEW);
    // The host's mount is untouched by rules it does not use.
    assert!(names(&k, &host_dev).contains(&"mem".to_string()));
}

/// Adding rules or switching rulesets changes nothing already there: only SAPPLY or RAPPLY run
/// rules on existing nodes. Nodes made later get the mount's ruleset at once.
#[test]
fn rules_run_when_applied_and_on_new_nodes() {
    let k = SimKernel::seeded(1);
    let scratch = TempScratch::new();
    let on = scratch.dir("dev");
    mount(&k, &on, None);
    load_jail_ruleset(&k, &on);
    k.devfs_use_ruleset(&on, 40).unwrap();
    assert!(
        names(&k, &on).contains(&"pf".to_string()),
        "SUSE alone changes nothing"
    );
    k.devfs_apply_ruleset(&on, 40).unwrap();
    assert_eq!(names(&k, &on), JAIL_VIEW);
    k.with_machine(|m| m.make_dev("pts/0", 0o620, 1001, 4))
        .unwrap();
    k.with_machine(|m| m.make_dev("tap0", 0o600, 0, 0)).unwrap();
    let shown = names(&k, &on);
    assert!(shown.contains(&"pts/0".to_string()), "{shown:?}");
    assert!(!shown.contains(&"tap0".to_string()), "hidden on creation");
    // RAPPLY: one rule, once, not stored.
    k.devfs_apply_rule(&on, &unhide(0, 0, "tap*")).unwrap();
    assert!(names(&k, &on).contains(&"tap0".to_string()));
    assert_eq!(
        k.devfs_next_rule(&on, DevfsRuleId::new(40, 300))
            .unwrap_err()
            .code(),
        Some(Errno::ENOENT)
    );
}

/// Owner and mode rules, a later rule winning; a hidden directory hides what is below it; an
/// include runs one level deep only (vfs.devfs.rule_depth 1).
#[test]
fn modes_owners_directories_and_include_depth() {
    let k = SimKernel::seeded(1);
    let scratch = TempScratch::new();
    let on = scratch.dir("dev");
    mount(&k, &on, None);
    for rule in [
        DevfsRule {
            mode: Some(0o600),
            ..DevfsRule::visibility(
                DevfsRuleId::new(7, 10),
                Some("null"),
                DevfsVisibility::Unhide,
            )
        },
        DevfsRule {
            uid: Some(1001),
            gid: Some(1001),
            mode: Some(0o640),
            ..DevfsRule::visibility(
                DevfsRuleId::new(7, 20),
                Some("null"),
                DevfsVisibility::Unhide,
            )
        },
        hide(7, 30, Some("fd")),
    ] {
        k.devfs_add_rule(&on, &rule).unwrap();
    }
    k.devfs_apply_ruleset(&on, 7).unwrap();
    let all = nodes(&k, &on);
    let null = all.iter().find(|n| n.path == "null").unwrap();
    assert_eq!((null.uid, null.gid, null.mode), (1001, 1001, 0o640));
    assert!(
        !all.iter().any(|n| n.path.starts_with("fd")),
        "fd and fd/* hidden"
    );
    // Set 9 includes 8, which includes 1 (hide all): only one level runs.
    k.devfs_add_rule(&on, &hide(1, 100, None)).unwrap();
    k.devfs_add_rule(
        &on,
        &DevfsRule {
            id: DevfsRuleId::new(8, 100),
            include: Some(1),
            ..DevfsRule::default()
        },
    )
    .unwrap();
    k.devfs_add_rule(
        &on,
        &DevfsRule {
            id: DevfsRuleId::new(9, 100),
            include: Some(8),
            ..DevfsRule::default()
        },
    )
    .unwrap();
    let other = scratch.dir("dev2");
    mount(&k, &other, Some(9));
    assert!(
        names(&k, &other).contains(&"null".to_string()),
        "depth 1: set 1 not run"
    );
    let third = scratch.dir("dev3");
    mount(&k, &third, Some(8));
    assert!(names(&k, &third).is_empty(), "set 8 runs set 1");
    // An included ruleset cannot go while included: RDEL of its last rule keeps it.
    k.devfs_delete_rule(&on, DevfsRuleId::new(1, 100)).unwrap();
    assert_eq!(k.devfs_next_ruleset(&on, 0), Ok(1));
}

/// A path on another file system is ENOTTY (UNCONFIRMED); a missing path is open(2)'s ENOENT;
/// a pattern too long for `dr_pathptrn` is refused (contract rule).
#[test]
fn targets_and_patterns() {
    let k = SimKernel::seeded(1);
    let scratch = TempScratch::new();
    let plain = scratch.dir("plain");
    let err = k.devfs_use_ruleset(&plain, 4).unwrap_err();
    assert!(err.is(Op::DevfsUseRuleset, Errno::ENOTTY), "{err}");
    let err = k
        .devfs_next_ruleset(&scratch.missing("gone"), 0)
        .unwrap_err();
    assert_eq!(err.code(), Some(Errno::ENOENT));
    let on = scratch.dir("dev");
    mount(&k, &on, None);
    let long = hide(5, 1, Some(&"x".repeat(200)));
    assert_eq!(
        k.devfs_add_rule(&on, &long).unwrap_err().code(),
        Some(Errno::ENAMETOOLONG)
    );
    assert_eq!(
        k.devfs_next_ruleset(&on, 0).unwrap_err().code(),
        Some(Errno::ENOENT)
    );
}

/// Faults apply to devfs requests, the trace records them, the dump lists rulesets and what
/// each devfs mount shows, and the machine stays sound.
#[test]
fn faults_trace_dump_and_invariants() {
    let k = SimKernel::new(SimConfig {
        faults: FaultPlan::default().nth(Op::DevfsAddRule, 1, Errno::EIO),
        ..SimConfig::default()
    });
    let scratch = TempScratch::new();
    let on = scratch.dir("dev");
    mount(&k, &on, Some(12));
    let rule = hide(12, 100, Some("pf"));
    assert!(k
        .devfs_add_rule(&on, &rule)
        .unwrap_err()
        .is(Op::DevfsAddRule, Errno::EIO));
    k.devfs_add_rule(&on, &rule).unwrap();
    k.devfs_apply_ruleset(&on, 0).unwrap();
    let machine = k.snapshot();
    assert!(machine.trace.iter().any(|t| t.op == Op::DevfsApplyRuleset));
    let dump = machine.dump();
    assert!(dump.contains("ruleset 12\n  100 path pf hide\n"), "{dump}");
    let line = dump.lines().find(|l| l.starts_with("# ls ")).unwrap();
    assert!(
        line.contains("(ruleset 12)") && !line.contains(" pf "),
        "{line}"
    );
    assert!(machine.check_invariants().is_empty());
    k.unmount(&on, MountFlags::default()).unwrap();
    // The ruleset has a rule: it stays after the unmount.
    let again = scratch.dir("dev-again");
    mount(&k, &again, None);
    assert_eq!(k.devfs_next_ruleset(&again, 0), Ok(12));
}
