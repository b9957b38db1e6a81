//! Conformance rules: rctl(2) rules and racct usage (FACTS-kernel-runtime.md §1;
//! sys/kern/kern_rctl.c, kern_racct.c).
//!
//! One rule holds on every kernel and is part of [`conformance_tests!`](crate::conformance_tests):
//! rctl answers ENOSYS exactly when kern.racct.enable is 0. The others need racct on (a
//! loader tunable) and are instantiated separately with
//! [`rctl_conformance_tests!`](crate::rctl_conformance_tests) on such a kernel; each asserts
//! that first. Every rule removes the rules it added.

use super::{expect_errno, jail, Scratch};
use crate::kernel::rctl::SubjectType;
use crate::kernel::{
    Errno, ExitStatus, Jid, Kernel, Pid, ProcessSpec, Racct, RctlAction, RctlFilter, RctlRule,
    Resource, Signal, SysctlValue, Wait,
};

fn racct_enabled<K: Kernel>(k: &K) -> bool {
    // A kernel built without RACCT has no such sysctl: racct is off there too.
    k.sysctl("kern.racct.enable") == Ok(SysctlValue::Int(1))
}

fn require_racct<K: Kernel>(k: &K) {
    assert!(
        racct_enabled(k),
        "these rules need kern.racct.enable=1 (a loader tunable)"
    );
}

fn rule(jail: &str, resource: Resource, action: RctlAction, amount: u64) -> RctlRule {
    RctlRule::jail(jail, resource, action, amount)
}

fn rules_of<K: Kernel>(k: &K, jail: &str) -> Vec<String> {
    let mut rules: Vec<String> = k
        .rctl_get_rules(&RctlFilter::jail(jail))
        .unwrap_or_else(|e| panic!("get rules of {jail}: {e}"))
        .iter()
        .map(RctlRule::to_string)
        .collect();
    rules.sort();
    rules
}

fn usage(racct: &Racct, resource: Resource) -> i64 {
    racct
        .iter()
        .find(|(r, _)| *r == resource)
        .unwrap_or_else(|| panic!("{resource:?} missing from {racct:?}"))
        .1
}

fn sleeper<K: Kernel>(k: &K, jid: Jid) -> Pid {
    k.spawn(&ProcessSpec::command(Some(jid), &["/bin/sleep", "3600"]))
        .unwrap_or_else(|e| panic!("spawn sleep in {jid}: {e}"))
        .pid
}

fn stop<K: Kernel>(k: &K, pid: Pid) {
    k.signal(pid, Signal::SIGKILL).expect("kill");
    assert_eq!(
        k.wait(pid, Wait::Block).expect("wait"),
        Some(ExitStatus::Signaled(Signal::SIGKILL))
    );
}

/// Every rctl call is ENOSYS when racct is off, before anything else (`sys_rctl_*`); when on,
/// a jail name never seen has usage, all zero (`prison_racct_find` makes the record).
pub fn rctl_is_enosys_exactly_when_racct_is_off<K: Kernel>(k: &K, _: &dyn Scratch) {
    let jail = RctlFilter::jail("zelle-conf-unseen");
    if !racct_enabled(k) {
        let r = rule("zelle-conf-unseen", Resource::MaxProc, RctlAction::Deny, 1);
        expect_errno(k.rctl_add_rule(&r), Errno::ENOSYS, "add");
        expect_errno(k.rctl_remove_rule(&jail), Errno::ENOSYS, "remove");
        expect_errno(k.rctl_get_rules(&jail), Errno::ENOSYS, "get rules");
        expect_errno(k.rctl_get_racct(&jail), Errno::ENOSYS, "get racct");
        // Even a request the kernel would refuse as malformed: ENOSYS comes first.
        let bad = RctlFilter {
            id: Some("x".into()),
            ..RctlFilter::default()
        };
        expect_errno(k.rctl_get_racct(&bad), Errno::ENOSYS, "malformed");
    } else {
        let racct = k.rctl_get_racct(&jail).expect("racct of an unseen jail");
        let names: Vec<Resource> = racct.iter().map(|(r, _)| *r).collect();
        assert_eq!(names, Resource::ALL, "all 25, in index order");
        assert!(racct.iter().all(|(_, v)| *v == 0), "{racct:?}");
    }
}

/// kern.racct.enable is a loader tunable: read-only at run time (CTLFLAG_RDTUN).
pub fn racct_enable_is_read_only<K: Kernel>(k: &K, _: &dyn Scratch) {
    require_racct(k);
    expect_errno(
        k.set_sysctl("kern.racct.enable", &SysctlValue::Int(0)),
        Errno::EPERM,
        "write kern.racct.enable",
    );
}

/// Rules of a jail are added, listed as the kernel prints them, and removed by the filter
/// `jail:NAME`; removing when none matches is ESRCH. The jail need not exist.
pub fn jail_rules_add_list_remove<K: Kernel>(k: &K, _: &dyn Scratch) {
    require_racct(k);
    let name = "zelle-conf-rules";
    k.rctl_add_rule(&rule(
        name,
        Resource::MemoryUse,
        RctlAction::Deny,
        536_870_912,
    ))
    .expect("memoryuse");
    k.rctl_add_rule(&RctlRule {
        per: Some(SubjectType::Process),
        ..rule(name, Resource::OpenFiles, RctlAction::Log, 1000)
    })
    .expect("openfiles per process");
    assert_eq!(
        rules_of(k, name),
        [
            "jail:zelle-conf-rules:memoryuse:deny=536870912",
            "jail:zelle-conf-rules:openfiles:log=1000/process"
        ]
    );
    k.rctl_remove_rule(&RctlFilter::jail(name)).expect("remove");
    assert!(rules_of(k, name).is_empty());
    expect_errno(
        k.rctl_remove_rule(&RctlFilter::jail(name)),
        Errno::ESRCH,
        "remove again",
    );
}

/// Adding never fails with EEXIST: a deny rule replaces one differing only in amount, any
/// other rule an identical one (`rctl_rule_add`).
pub fn rules_replace_their_like<K: Kernel>(k: &K, _: &dyn Scratch) {
    require_racct(k);
    let name = "zelle-conf-replace";
    k.rctl_add_rule(&rule(name, Resource::MaxProc, RctlAction::Deny, 10))
        .unwrap();
    k.rctl_add_rule(&rule(name, Resource::MaxProc, RctlAction::Deny, 20))
        .unwrap();
    k.rctl_add_rule(&rule(name, Resource::MaxProc, RctlAction::Log, 5))
        .unwrap();
    k.rctl_add_rule(&rule(name, Resource::MaxProc, RctlAction::Log, 5))
        .unwrap();
    assert_eq!(
        rules_of(k, name),
        [
            "jail:zelle-conf-replace:maxproc:deny=20",
            "jail:zelle-conf-replace:maxproc:log=5"
        ]
    );
    k.rctl_remove_rule(&RctlFilter::jail(name)).unwrap();
}

/// cputime, wallclock and pcpu are given and printed in seconds and percent (the kernel keeps
/// them times 10^6); an amount past INT64_MAX / 10^6 for them, or past INT64_MAX for any, is
/// ERANGE (`rctl_string_to_rule`, `str2int64`).
pub fn amounts_in_millions<K: Kernel>(k: &K, _: &dyn Scratch) {
    require_racct(k);
    let name = "zelle-conf-millions";
    k.rctl_add_rule(&rule(name, Resource::Pcpu, RctlAction::Deny, 50))
        .unwrap();
    k.rctl_add_rule(&rule(name, Resource::CpuTime, RctlAction::Log, 3600))
        .unwrap();
    assert_eq!(
        rules_of(k, name),
        [
            "jail:zelle-conf-millions:cputime:log=3600",
            "jail:zelle-conf-millions:pcpu:deny=50"
        ]
    );
    let huge = (i64::MAX / 1_000_000) as u64 + 1;
    expect_errno(
        k.rctl_add_rule(&rule(name, Resource::WallClock, RctlAction::Log, huge)),
        Errno::ERANGE,
        "wallclock too large",
    );
    expect_errno(
        k.rctl_add_rule(&rule(name, Resource::MemoryUse, RctlAction::Deny, u64::MAX)),
        Errno::ERANGE,
        "negative as int64",
    );
    k.rctl_remove_rule(&RctlFilter::jail(name)).unwrap();
}

/// Rules the kernel refuses: deny on a resource it cannot deny, throttle on anything but the
/// I/O rates, per-process limits on "sloppy" resources (EOPNOTSUPP, `rctl_rule_add`); a
/// signal rctl cannot send, an id without a subject (EINVAL); a jail name of 256 bytes
/// (ENAMETOOLONG); usage of no particular subject (EINVAL, `sys_rctl_get_racct`).
pub fn refused_rules<K: Kernel>(k: &K, _: &dyn Scratch) {
    require_racct(k);
    let name = "zelle-conf-refused";
    for (r, what) in [
        (
            rule(name, Resource::CpuTime, RctlAction::Deny, 1),
            "deny cputime",
        ),
        (
            rule(name, Resource::ReadBps, RctlAction::Deny, 1),
            "deny readbps",
        ),
        (
            rule(name, Resource::Pcpu, RctlAction::Throttle, 1),
            "throttle pcpu",
        ),
        (
            rule(name, Resource::MaxProc, RctlAction::Throttle, 1),
            "throttle maxproc",
        ),
        (
            RctlRule {
                per: Some(SubjectType::Process),
                ..rule(name, Resource::Nsem, RctlAction::Deny, 1)
            },
            "nsem per process",
        ),
    ] {
        expect_errno(k.rctl_add_rule(&r), Errno::EOPNOTSUPP, what);
    }
    expect_errno(
        k.rctl_add_rule(&rule(name, Resource::MaxProc, RctlAction::Signal(19), 1)),
        Errno::EINVAL,
        "sigcont",
    );
    expect_errno(
        k.rctl_add_rule(&rule(
            &"j".repeat(256),
            Resource::MaxProc,
            RctlAction::Deny,
            1,
        )),
        Errno::ENAMETOOLONG,
        "256-byte jail name",
    );
    let no_subject = RctlFilter {
        id: Some(name.into()),
        ..RctlFilter::default()
    };
    expect_errno(
        k.rctl_remove_rule(&no_subject),
        Errno::EINVAL,
        "id, no subject",
    );
    let no_id = RctlFilter {
        subject: Some(SubjectType::Jail),
        ..RctlFilter::default()
    };
    expect_errno(
        k.rctl_get_racct(&no_id),
        Errno::EINVAL,
        "racct of no one jail",
    );
    assert!(rules_of(k, name).is_empty(), "nothing was added");
}

/// Removing a jail does not remove its rules: they hold the name's record
/// (`prison_racct_hold`), and a later jail of that name picks them up.
pub fn rules_survive_jail_removal<K: Kernel>(k: &K, _: &dyn Scratch) {
    require_racct(k);
    let name = "zelle-conf-survive";
    let jid = jail(k, name);
    k.rctl_add_rule(&rule(name, Resource::MaxProc, RctlAction::Deny, 5))
        .unwrap();
    k.jail_remove(jid).expect("remove jail");
    assert_eq!(
        rules_of(k, name),
        ["jail:zelle-conf-survive:maxproc:deny=5"]
    );
    k.rctl_remove_rule(&RctlFilter::jail(name)).unwrap();
}

/// A jail's usage lists all 25 resources in index order; maxproc counts its processes
/// (`racct_add_cred_locked` charges the jail of each), and drops again when they are gone.
pub fn racct_counts_a_jails_processes<K: Kernel>(k: &K, _: &dyn Scratch) {
    require_racct(k);
    let name = "zelle-conf-racct";
    let jid = jail(k, name);
    let pids = [sleeper(k, jid), sleeper(k, jid)];
    let racct = k.rctl_get_racct(&RctlFilter::jail(name)).unwrap();
    let names: Vec<Resource> = racct.iter().map(|(r, _)| *r).collect();
    assert_eq!(names, Resource::ALL);
    assert_eq!(usage(&racct, Resource::MaxProc), 2, "{racct:?}");
    assert!(usage(&racct, Resource::OpenFiles) >= 2 * 3, "{racct:?}");
    for pid in pids {
        stop(k, pid);
    }
    let racct = k.rctl_get_racct(&RctlFilter::jail(name)).unwrap();
    assert_eq!(usage(&racct, Resource::MaxProc), 0, "{racct:?}");
    k.jail_remove(jid).unwrap();
}

/// A maxproc deny on a jail does not stop a spawn from the host into it: fork1 checks the
/// parent's (the host's) rules, and jail_attach(2) moves the child's usage into the jail
/// without checking any limit (`racct_proc_fork`, `do_jail_attach` →
/// `racct_proc_ucred_changed`). The jail's count then exceeds the limit.
pub fn maxproc_deny_does_not_stop_a_spawn_from_the_host<K: Kernel>(k: &K, _: &dyn Scratch) {
    require_racct(k);
    let name = "zelle-conf-maxproc";
    let jid = jail(k, name);
    k.rctl_add_rule(&rule(name, Resource::MaxProc, RctlAction::Deny, 1))
        .unwrap();
    let pids = [sleeper(k, jid), sleeper(k, jid)];
    let racct = k.rctl_get_racct(&RctlFilter::jail(name)).unwrap();
    assert_eq!(usage(&racct, Resource::MaxProc), 2, "{racct:?}");
    for pid in pids {
        stop(k, pid);
    }
    k.rctl_remove_rule(&RctlFilter::jail(name)).unwrap();
    k.jail_remove(jid).unwrap();
}

/// The rules that need racct on: `rctl_conformance_tests!(make_kernel, make_scratch);` with a
/// kernel booted with kern.racct.enable=1.
#[macro_export]
macro_rules! rctl_conformance_tests {
    ($kernel:expr, $scratch:expr) => {
        mod rctl {
            #[allow(unused_imports)]
            use super::*;
            $crate::conformance_rules!(
                rctl,
                $kernel,
                $scratch,
                [
                    racct_enable_is_read_only,
                    jail_rules_add_list_remove,
                    rules_replace_their_like,
                    amounts_in_millions,
                    refused_rules,
                    rules_survive_jail_removal,
                    racct_counts_a_jails_processes,
                    maxproc_deny_does_not_stop_a_spawn_from_the_host,
                ]
            );
        }
    };
}

/// The rule every kernel keeps, whatever its racct setting.
#[macro_export]
#[doc(hidden)]
macro_rules! rctl_any_kernel_conformance_tests {
    ($kernel:expr, $scratch:expr) => {
        mod rctl_any_kernel {
            #[allow(unused_imports)]
            use super::*;
            $crate::conformance_rules!(
                rctl,
                $kernel,
                $scratch,
                [rctl_is_enosys_exactly_when_racct_is_off]
            );
        }
    };
}
