//! Conformance rules: processes (spawn with jail_attach and execve, kill(2), wait4(2),
//! kern.proc by jail, procctl's reaper).
//!
//! Only programs every FreeBSD base system has: /usr/bin/true, /usr/bin/false, /bin/sh,
//! /bin/sleep. Jails here have no path (their root is the host's), so those programs are
//! found inside them too. FACTS-kernel-errno.md §8.

use super::{expect_errno, jail, Scratch};
use crate::kernel::{
    Errno, ExitStatus, JailFlags, JailParams, Jid, Kernel, Pid, ProcessSpec, Signal,
};

fn spec(jail: Option<Jid>, args: &[&str]) -> ProcessSpec {
    ProcessSpec::command(jail, args)
}

fn run<K: Kernel>(k: &K, args: &[&str]) -> ExitStatus {
    let pid = k
        .spawn(&spec(None, args))
        .unwrap_or_else(|e| panic!("spawn {args:?}: {e}"));
    k.wait(pid, true)
        .unwrap_or_else(|e| panic!("wait {args:?}: {e}"))
        .expect("a blocking wait returns a status")
}

/// Exit codes come back through wait4.
pub fn exit_codes<K: Kernel>(k: &K, _: &dyn Scratch) {
    assert_eq!(run(k, &["/usr/bin/true"]), ExitStatus::Exited(0));
    assert_eq!(run(k, &["/usr/bin/false"]), ExitStatus::Exited(1));
    assert_eq!(run(k, &["/bin/sh", "-c", "exit 3"]), ExitStatus::Exited(3));
}

/// A program that does not exist fails the spawn with execve's ENOENT; an empty argv is
/// EINVAL (UNCONFIRMED: FreeBSD 14 refuses argc == 0).
pub fn spawn_failures<K: Kernel>(k: &K, _: &dyn Scratch) {
    expect_errno(
        k.spawn(&spec(None, &["/nonexistent/zelle-program"])),
        Errno::ENOENT,
        "missing program",
    );
    expect_errno(k.spawn(&spec(None, &[])), Errno::EINVAL, "empty argv");
}

/// Spawning into a jail that does not exist is jail_attach's EINVAL; so is a dying one.
pub fn spawn_into_missing_or_dying_jail_is_einval<K: Kernel>(k: &K, _: &dyn Scratch) {
    expect_errno(
        k.spawn(&spec(Some(Jid(987655)), &["/usr/bin/true"])),
        Errno::EINVAL,
        "missing jail",
    );
    let jid = jail(k, "zc-proc-dying");
    let pid = k.spawn(&spec(Some(jid), &["/bin/sleep", "1000"])).unwrap();
    k.jail_remove(jid).unwrap();
    expect_errno(
        k.spawn(&spec(Some(jid), &["/usr/bin/true"])),
        Errno::EINVAL,
        "dying jail",
    );
    k.wait(pid, true).unwrap();
}

/// wait4: a process not (or no longer) ours is ECHILD; a running one is `None` without
/// blocking.
pub fn wait_rules<K: Kernel>(k: &K, _: &dyn Scratch) {
    expect_errno(k.wait(Pid(99_998), false), Errno::ECHILD, "no such child");
    let pid = k.spawn(&spec(None, &["/bin/sleep", "1000"])).unwrap();
    assert_eq!(k.wait(pid, false).unwrap(), None);
    k.signal(pid, Signal::SIGKILL).unwrap();
    assert_eq!(
        k.wait(pid, true).unwrap(),
        Some(ExitStatus::Signaled(Signal::SIGKILL))
    );
    expect_errno(k.wait(pid, false), Errno::ECHILD, "reaped already");
}

/// kill(2): a signal outside 0–128 is EINVAL; an unknown pid is ESRCH; signal 0 only checks.
pub fn signal_rules<K: Kernel>(k: &K, _: &dyn Scratch) {
    let pid = k.spawn(&spec(None, &["/bin/sleep", "1000"])).unwrap();
    expect_errno(k.signal(pid, Signal(129)), Errno::EINVAL, "signal 129");
    expect_errno(k.signal(pid, Signal(-1)), Errno::EINVAL, "signal -1");
    expect_errno(
        k.signal(Pid(99_998), Signal::SIGTERM),
        Errno::ESRCH,
        "no such process",
    );
    k.signal(pid, Signal(0)).expect("signal 0");
    assert_eq!(k.wait(pid, false).unwrap(), None, "signal 0 did nothing");
    k.signal(pid, Signal::SIGTERM).unwrap();
    let status = k.wait(pid, true).unwrap().unwrap();
    assert_eq!(status, ExitStatus::Signaled(Signal::SIGTERM));
    assert_eq!(status.code(), 128 + 15);
}

/// Signals whose default action is to discard them (SIGWINCH, SIGCHLD) leave the process
/// running; a stopped process is not reported by wait4 and acts on a fatal signal only once
/// continued.
pub fn signal_dispositions<K: Kernel>(k: &K, _: &dyn Scratch) {
    let pid = k.spawn(&spec(None, &["/bin/sleep", "1000"])).unwrap();
    for sig in [Signal::SIGWINCH, Signal::SIGCHLD] {
        k.signal(pid, sig).unwrap();
    }
    assert_eq!(k.wait(pid, false).unwrap(), None, "still running");
    k.signal(pid, Signal::SIGSTOP).unwrap();
    k.signal(pid, Signal::SIGTERM).unwrap();
    assert_eq!(k.wait(pid, false).unwrap(), None, "stopped, not reported");
    k.signal(pid, Signal::SIGCONT).unwrap();
    assert_eq!(
        k.wait(pid, true).unwrap(),
        Some(ExitStatus::Signaled(Signal::SIGTERM))
    );
}

/// kern.proc by jail: the jail's own processes; none for a jail that does not exist.
pub fn jail_processes_lists_that_jail<K: Kernel>(k: &K, _: &dyn Scratch) {
    let a = jail(k, "zc-procs-a");
    let b = jail(k, "zc-procs-b");
    let in_a = k.spawn(&spec(Some(a), &["/bin/sleep", "1000"])).unwrap();
    let in_b = k.spawn(&spec(Some(b), &["/bin/sleep", "1000"])).unwrap();
    assert_eq!(k.jail_processes(a).unwrap(), vec![in_a]);
    assert_eq!(k.jail_processes(b).unwrap(), vec![in_b]);
    assert_eq!(k.jail_processes(Jid(987656)).unwrap(), Vec::<Pid>::new());
    k.signal(in_a, Signal::SIGKILL).unwrap();
    k.wait(in_a, true).unwrap();
    assert_eq!(k.jail_processes(a).unwrap(), Vec::<Pid>::new());
    k.jail_remove(a).unwrap();
    k.jail_remove(b).unwrap();
    k.wait(in_b, true).unwrap();
}

/// jail_remove sends SIGKILL to every process in the jail and in its child jails.
pub fn jail_remove_kills_its_processes<K: Kernel>(k: &K, _: &dyn Scratch) {
    let jid = jail(k, "zc-kill");
    let pids: Vec<Pid> = (0..2)
        .map(|_| k.spawn(&spec(Some(jid), &["/bin/sleep", "1000"])).unwrap())
        .collect();
    k.jail_remove(jid).unwrap();
    for pid in pids {
        assert_eq!(
            k.wait(pid, true).unwrap(),
            Some(ExitStatus::Signaled(Signal::SIGKILL))
        );
    }
}

/// PROC_REAP_ACQUIRE twice from one process: EBUSY the second time.
pub fn reaper_twice_is_ebusy<K: Kernel>(k: &K, _: &dyn Scratch) {
    // Other rules share this test process on a real kernel: the first call may be theirs.
    let _ = k.acquire_reaper();
    expect_errno(k.acquire_reaper(), Errno::EBUSY, "already the reaper");
}

/// After jail_attach the working directory is the jail's root, and the child then changes to
/// the spec's: a directory missing there fails the spawn with ENOENT, a file with ENOTDIR
/// (do_jail_attach, chdir; FACTS-kernel-errno.md §10). A host directory is not inside a jail
/// rooted elsewhere.
pub fn spawn_needs_its_working_directory<K: Kernel>(k: &K, scratch: &dyn Scratch) {
    let open = jail(k, "zc-cwd");
    let work = scratch.dir("work");
    let mut s = spec(Some(open), &["/usr/bin/true"]);
    s.cwd = work.clone();
    let pid = k.spawn(&s).expect("spawn in an existing directory");
    assert_eq!(k.wait(pid, true).unwrap(), Some(ExitStatus::Exited(0)));
    s.cwd = scratch.missing("gone");
    expect_errno(k.spawn(&s), Errno::ENOENT, "missing working directory");
    s.cwd = scratch.file("plain");
    expect_errno(k.spawn(&s), Errno::ENOTDIR, "a file as working directory");

    let params = JailParams {
        name: Some("zc-cwd-rooted".into()),
        path: Some(scratch.dir("root")),
        persist: Some(true),
        ..JailParams::default()
    };
    let rooted = k.jail_set(&params, JailFlags::CREATE).expect("rooted jail");
    let mut s = spec(Some(rooted), &["/usr/bin/true"]);
    s.cwd = work;
    expect_errno(
        k.spawn(&s),
        Errno::ENOENT,
        "a host directory outside the jail root",
    );
    assert_eq!(k.jail_processes(rooted).unwrap(), Vec::<Pid>::new());
    k.jail_remove(rooted).unwrap();
    k.jail_remove(open).unwrap();
}

/// PROC_REAP_ACQUIRE: a process our child leaves behind when it exits becomes ours — listed in
/// its jail, waited for by us (not ECHILD), reaped by us (reap_acquire, exit1;
/// FACTS-kernel-runtime.md §3).
pub fn orphans_come_to_the_reaper<K: Kernel>(k: &K, _: &dyn Scratch) {
    // Other rules share this test process on a real kernel: it may be the reaper already.
    if let Err(e) = k.acquire_reaper() {
        assert_eq!(e.code(), Some(Errno::EBUSY), "acquire: {e}");
    }
    let jid = jail(k, "zc-orphans");
    let sh = k
        .spawn(&spec(
            Some(jid),
            &["/bin/sh", "-c", "/bin/sleep 1000 & exit 0"],
        ))
        .expect("spawn sh");
    assert_eq!(k.wait(sh, true).unwrap(), Some(ExitStatus::Exited(0)));
    let left = k.jail_processes(jid).unwrap();
    assert_eq!(left.len(), 1, "the orphaned sleep: {left:?}");
    let orphan = left[0];
    assert_ne!(orphan, sh);
    assert_eq!(k.wait(orphan, false).unwrap(), None, "ours, still running");
    k.signal(orphan, Signal::SIGKILL).unwrap();
    assert_eq!(
        k.wait(orphan, true).unwrap(),
        Some(ExitStatus::Signaled(Signal::SIGKILL))
    );
    assert_eq!(k.jail_processes(jid).unwrap(), Vec::<Pid>::new());
    k.jail_remove(jid).unwrap();
}

/// One `#[test]` per rule of this module (see `conformance_tests!`).
#[macro_export]
#[doc(hidden)]
macro_rules! process_conformance_tests {
    ($kernel:expr, $scratch:expr) => {
        mod process {
            #[allow(unused_imports)]
            use super::*;
            $crate::conformance_rules!(
                process,
                $kernel,
                $scratch,
                [
                    exit_codes,
                    spawn_failures,
                    spawn_into_missing_or_dying_jail_is_einval,
                    wait_rules,
                    signal_rules,
                    signal_dispositions,
                    jail_processes_lists_that_jail,
                    jail_remove_kills_its_processes,
                    reaper_twice_is_ebusy,
                    spawn_needs_its_working_directory,
                    orphans_come_to_the_reaper,
                ]
            );
        }
    };
}
