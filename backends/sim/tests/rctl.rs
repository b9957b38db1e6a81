//! rctl rules that need the simulator: the boot tunable, racct counters from scripted usage
//! and the clock, the bytes of a request read as `rctl_read_inbuf` reads them (through the ABI
//! door), a jailed caller, faults, the trace and the dump.

use core::ffi::c_int;
use zelle_core::kernel::rctl::SubjectType;
use zelle_core::kernel::*;
use zelle_freebsd::Syscalls;
use zelle_sim::abi::SimSyscalls;
use zelle_sim::rctl::ProcUsage;
use zelle_sim::{FaultPlan, Op, SimConfig, SimKernel};

fn racct_machine() -> SimKernel {
    SimKernel::new(SimConfig {
        racct_enable: true,
        ..SimConfig::default()
    })
}

fn jail(k: &SimKernel, name: &str) -> Jid {
    let params = JailParams {
        name: Some(name.into()),
        persist: Some(true),
        ..JailParams::default()
    };
    k.jail_set(&params, JailFlags::CREATE).unwrap()
}

fn usage(k: &SimKernel, name: &str) -> Vec<(Resource, i64)> {
    k.rctl_get_racct(&RctlFilter::jail(name)).unwrap()
}

fn get(racct: &[(Resource, i64)], r: Resource) -> i64 {
    racct.iter().find(|(x, _)| *x == r).unwrap().1
}

/// The default machine boots as a stock GENERIC kernel: kern.racct.enable is 0, so rctl(2) is
/// ENOSYS; a machine configured with the tunable has it 1.
#[test]
fn the_default_machine_has_racct_off() {
    let k = SimKernel::seeded(1);
    assert_eq!(k.sysctl("kern.racct.enable"), Ok(SysctlValue::Int(0)));
    let err = k.rctl_get_racct(&RctlFilter::jail("x")).unwrap_err();
    assert!(err.is(Op::RctlGetRacct, Errno::ENOSYS), "{err}");
    assert_eq!(
        racct_machine().sysctl("kern.racct.enable"),
        Ok(SysctlValue::Int(1))
    );
    assert!(!k.snapshot().dump().contains("rctl"));
}

/// A jail's counters: maxproc counts its processes (zombies too, until reaped), openfiles,
/// memoryuse and vmemoryuse add up the figures its programs are scripted with, cputime and
/// wallclock grow with simulated time, pcpu is the running processes' share. A child jail's
/// processes count in its parent's usage too.
#[test]
fn racct_counts_what_the_jails_processes_use() {
    let k = racct_machine();
    let web = jail(&k, "web");
    k.with_machine(|m| {
        m.script_usage(
            "/bin/sleep",
            ProcUsage {
                memoryuse: 4 << 20,
                vmemoryuse: 16 << 20,
                openfiles: 5,
                pcpu: 50,
            },
        )
    })
    .unwrap();
    let spawn = |args: &[&str]| k.spawn(&ProcessSpec::command(Some(web), args)).unwrap().pid;
    let a = spawn(&["/bin/sleep", "100"]);
    let _b = spawn(&["/bin/sleep", "100"]);
    let quick = spawn(&["/usr/bin/true"]);
    k.with_machine(|m| m.advance(10_000)).unwrap();
    let racct = usage(&k, "web");
    assert_eq!(racct.len(), 25);
    assert_eq!(get(&racct, Resource::MaxProc), 3, "the zombie still counts");
    assert_eq!(get(&racct, Resource::Nthr), 2);
    assert_eq!(get(&racct, Resource::OpenFiles), 10);
    assert_eq!(get(&racct, Resource::MemoryUse), 8 << 20);
    assert_eq!(get(&racct, Resource::VMemoryUse), 32 << 20);
    assert_eq!(
        get(&racct, Resource::WallClock),
        20,
        "two processes, 10 s each"
    );
    assert_eq!(get(&racct, Resource::CpuTime), 10, "half of 20 s");
    assert_eq!(get(&racct, Resource::Pcpu), 100);
    k.wait(quick, Wait::Block).unwrap();
    assert_eq!(get(&usage(&k, "web"), Resource::MaxProc), 2);
    k.signal(a, Signal::SIGSTOP).unwrap();
    assert_eq!(
        get(&usage(&k, "web"), Resource::Pcpu),
        50,
        "a stopped one uses none"
    );
    // Nothing of another jail's, nor of a name never seen.
    jail(&k, "db");
    assert!(usage(&k, "db").iter().all(|(_, v)| *v == 0));
    assert!(usage(&k, "nobody").iter().all(|(_, v)| *v == 0));
    // A process subject lists the 17 non-sloppy resources.
    let own = k
        .rctl_get_racct(&RctlFilter {
            subject: Some(SubjectType::Process),
            id: Some(a.0.to_string()),
            ..RctlFilter::default()
        })
        .unwrap();
    assert_eq!(own.len(), 17);
    assert!(!own.iter().any(|(r, _)| *r == Resource::SwapUse));
    assert_eq!(get(&own, Resource::MaxProc), 1);
}

/// The maxproc limit bites where the kernel enforces it: a fork by a process inside the jail
/// (EAGAIN), not the spawn from the host (see the conformance rule).
#[test]
fn a_full_jail_refuses_forks_from_inside() {
    let k = racct_machine();
    let web = jail(&k, "web");
    k.rctl_add_rule(&RctlRule::jail(
        "web",
        Resource::MaxProc,
        RctlAction::Deny,
        2,
    ))
    .unwrap();
    let spec = ProcessSpec::command(Some(web), &["/bin/sleep", "100"]);
    k.spawn(&spec).unwrap();
    assert_eq!(
        k.with_machine(|m| m.rctl_fork_allowed(web)).unwrap(),
        Ok(())
    );
    k.spawn(&spec).unwrap();
    assert_eq!(
        k.with_machine(|m| m.rctl_fork_allowed(web)).unwrap(),
        Err(Errno::EAGAIN)
    );
    // Other jails are not limited by it.
    let db = jail(&k, "db");
    assert_eq!(k.with_machine(|m| m.rctl_fork_allowed(db)).unwrap(), Ok(()));
}

/// Through the ABI door, the request bytes as `rctl_read_inbuf` and `rctl_string_to_rule` read
/// them: empty EINVAL, over 4096 bytes E2BIG, no NUL ENAMETOOLONG, a suffixed amount EINVAL, a
/// negative one ERANGE, an unknown pid ESRCH; an answer that does not fit ERANGE; a rules
/// buffer over kern.racct.rctl.maxbufsize E2BIG; an unknown system call ENOSYS.
#[test]
fn request_bytes_are_read_as_the_kernel_reads_them() {
    let sys = SimSyscalls::new(racct_machine());
    let add = |bytes: &[u8]| sys.rctl(528, bytes, &mut []);
    assert_eq!(add(b""), Err(Errno::EINVAL));
    assert_eq!(add(&vec![b'a'; 4097]), Err(Errno::E2BIG));
    assert_eq!(add(b"jail:web:maxproc:deny=1"), Err(Errno::ENAMETOOLONG));
    assert_eq!(add(b"jail:web:memoryuse:deny=512m\0"), Err(Errno::EINVAL));
    assert_eq!(add(b"jail:web:memoryuse:deny=-1\0"), Err(Errno::ERANGE));
    assert_eq!(add(b"process:99999:maxproc:deny=1\0"), Err(Errno::ESRCH));
    assert_eq!(add(b"jail:web:maxproc:deny=1\0ignored"), Ok(()));
    assert_eq!(add(b"Jail:web:MAXPROC:Log=2/Jail\0"), Ok(()));
    let mut small = [0u8; 16];
    assert_eq!(sys.rctl(525, b"jail:web\0", &mut small), Err(Errno::ERANGE));
    let mut out = vec![0u8; 1024];
    sys.rctl(526, b"jail:web\0", &mut out).unwrap();
    let text = String::from_utf8_lossy(out.split(|&b| b == 0).next().unwrap()).into_owned();
    assert_eq!(text, "jail:web:maxproc:log=2,jail:web:maxproc:deny=1");
    let mut huge = vec![0u8; 16 * 1024 * 1024 + 1];
    assert_eq!(sys.rctl(526, b"jail:web\0", &mut huge), Err(Errno::E2BIG));
    assert_eq!(sys.rctl(527, b"process:1\0", &mut out), Err(Errno::ENOSYS));
}

/// A jailed caller is EPERM (prison_priv_check has no PRIV_RCTL_*): the ABI door's calls made
/// inside `in_jail` are jailed. ENOSYS still comes first when racct is off.
#[test]
fn a_jailed_caller_is_eperm() {
    for (racct, expected) in [(true, Errno::EPERM), (false, Errno::ENOSYS)] {
        let sys = SimSyscalls::new(SimKernel::new(SimConfig {
            racct_enable: racct,
            ..SimConfig::default()
        }));
        let jid = jail(sys.kernel(), "inside");
        let result = sys
            .in_jail(jid.0 as c_int, &mut || {
                let mut out = vec![0u8; 1024];
                sys.rctl(525, b"jail:inside\0", &mut out)?;
                Ok(Vec::new())
            })
            .unwrap();
        assert_eq!(result, Err(expected), "racct {racct}");
    }
}

/// Faults apply to rctl calls like any other, the trace shows the rule text, and the dump
/// lists the rules as `rctl -a` and each jail's usage.
#[test]
fn faults_trace_and_dump() {
    let k = SimKernel::new(SimConfig {
        racct_enable: true,
        faults: FaultPlan::default().nth(Op::RctlAddRule, 1, Errno::ENOMEM),
        ..SimConfig::default()
    });
    let web = jail(&k, "web");
    let rule = RctlRule::jail("web", Resource::MemoryUse, RctlAction::Deny, 1 << 30);
    let err = k.rctl_add_rule(&rule).unwrap_err();
    assert!(err.is(Op::RctlAddRule, Errno::ENOMEM));
    assert!(k
        .rctl_get_rules(&RctlFilter::jail("web"))
        .unwrap()
        .is_empty());
    k.rctl_add_rule(&rule).unwrap();
    k.spawn(&ProcessSpec::command(Some(web), &["/bin/sleep", "5"]))
        .unwrap();
    let machine = k.snapshot();
    let last_add = machine
        .trace
        .iter()
        .rev()
        .find(|t| t.op == Op::RctlAddRule)
        .unwrap();
    assert!(
        last_add.args.contains("jail:web:memoryuse:deny=1073741824"),
        "{}",
        last_add.args
    );
    let dump = machine.dump();
    assert!(
        dump.contains("# rctl -a\njail:web:memoryuse:deny=1073741824\n"),
        "{dump}"
    );
    assert!(
        dump.contains("# rctl -u jail:web: maxproc=1,openfiles=3,nthr=1"),
        "{dump}"
    );
}

/// Both doors answer the same: the typed door's rules and usage equal what the real backend
/// reads back over the ABI door.
#[test]
fn both_doors_agree() {
    fn run<K: Kernel>(k: &K) -> (Vec<RctlRule>, Racct) {
        let params = JailParams {
            name: Some("same".into()),
            persist: Some(true),
            ..JailParams::default()
        };
        let jid = k.jail_set(&params, JailFlags::CREATE).unwrap();
        k.spawn(&ProcessSpec::command(Some(jid), &["/bin/sleep", "5"]))
            .unwrap();
        for rule in [
            RctlRule::jail("same", Resource::Pcpu, RctlAction::Deny, 25),
            RctlRule::jail("same", Resource::OpenFiles, RctlAction::Signal(15), 100),
        ] {
            k.rctl_add_rule(&rule).unwrap();
        }
        let filter = RctlFilter::jail("same");
        (
            k.rctl_get_rules(&filter).unwrap(),
            k.rctl_get_racct(&filter).unwrap(),
        )
    }
    let typed = run(&racct_machine());
    let door = run(&zelle_freebsd::FreeBsd::new(SimSyscalls::new(
        racct_machine(),
    )));
    assert_eq!(typed, door);
    assert_eq!(typed.0[0].to_string(), "jail:same:openfiles:sigterm=100");
}
