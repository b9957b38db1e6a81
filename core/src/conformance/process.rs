//! Conformance rules: processes (spawn with jail_attach, its steps and execve, stdio
//! descriptors and ptys, kill(2) of a process or a jail, wait4(2) for one child or any,
//! kern.proc by jail, procctl's reaper and no-new-privileges).
//!
//! Only programs every FreeBSD base system has: /usr/bin/true, /usr/bin/false, /bin/sh,
//! /bin/sleep, /bin/echo, /bin/cat. Jails here have no path (their root is the host's), so
//! those programs are found inside them too. FACTS-kernel-errno.md §8,
//! FACTS-kernel-runtime.md §3 and §5.
//!
//! On a real kernel the rules that wait for any child (`wait_any`) assume the test process has
//! no other children: run them one at a time (`--test-threads=1`).

use super::jail::eventually;
use super::{expect_errno, jail, Scratch};
use crate::kernel::{
    Errno, ExitStatus, JailFlags, JailParams, Jid, Kernel, Op, Pid, ProcessInfo, ProcessSpec,
    Release, RunState, Signal, Stdio, StdioFd, SysctlValue, Wait, WindowSize,
};
use std::os::fd::{AsFd, AsRawFd};
use std::time::Duration;

fn spec(jail: Option<Jid>, args: &[&str]) -> ProcessSpec {
    ProcessSpec::command(jail, args)
}

/// Spawn `spec`, panicking with the error.
fn start<K: Kernel>(k: &K, spec: &ProcessSpec) -> Pid {
    k.spawn(spec)
        .unwrap_or_else(|e| panic!("spawn {:?}: {e}", spec.args))
        .pid
}

fn run<K: Kernel>(k: &K, args: &[&str]) -> ExitStatus {
    let pid = start(k, &spec(None, args));
    k.wait(pid, Wait::Block)
        .unwrap_or_else(|e| panic!("wait {args:?}: {e}"))
        .expect("a blocking wait returns a status")
}

/// The pids of a jail, in order.
fn pids<K: Kernel>(k: &K, jid: Jid) -> Vec<Pid> {
    let listed = k.jail_processes(jid).expect("kern.proc");
    listed.iter().map(|p| p.pid).collect()
}

fn info<K: Kernel>(k: &K, jid: Jid, pid: Pid) -> Option<ProcessInfo> {
    let listed = k.jail_processes(jid).expect("kern.proc");
    listed.into_iter().find(|p| p.pid == pid)
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
    let pid = start(k, &spec(Some(jid), &["/bin/sleep", "1000"]));
    k.jail_remove(jid).unwrap();
    expect_errno(
        k.spawn(&spec(Some(jid), &["/usr/bin/true"])),
        Errno::EINVAL,
        "dying jail",
    );
    k.wait(pid, Wait::Block).unwrap();
}

/// wait4: a process not (or no longer) ours is ECHILD; a running one is `None` without
/// blocking.
pub fn wait_rules<K: Kernel>(k: &K, _: &dyn Scratch) {
    expect_errno(
        k.wait(Pid(99_998), Wait::NoHang),
        Errno::ECHILD,
        "no such child",
    );
    let pid = start(k, &spec(None, &["/bin/sleep", "1000"]));
    assert_eq!(k.wait(pid, Wait::NoHang).unwrap(), None);
    k.signal(pid, Signal::SIGKILL).unwrap();
    assert_eq!(
        k.wait(pid, Wait::Block).unwrap(),
        Some(ExitStatus::Signaled(Signal::SIGKILL))
    );
    expect_errno(k.wait(pid, Wait::NoHang), Errno::ECHILD, "reaped already");
}

/// kill(2): a signal outside 0–128 is EINVAL; an unknown pid is ESRCH; signal 0 only checks.
pub fn signal_rules<K: Kernel>(k: &K, _: &dyn Scratch) {
    let pid = start(k, &spec(None, &["/bin/sleep", "1000"]));
    expect_errno(k.signal(pid, Signal(129)), Errno::EINVAL, "signal 129");
    expect_errno(k.signal(pid, Signal(-1)), Errno::EINVAL, "signal -1");
    expect_errno(
        k.signal(Pid(99_998), Signal::SIGTERM),
        Errno::ESRCH,
        "no such process",
    );
    k.signal(pid, Signal(0)).expect("signal 0");
    assert_eq!(
        k.wait(pid, Wait::NoHang).unwrap(),
        None,
        "signal 0 did nothing"
    );
    k.signal(pid, Signal::SIGTERM).unwrap();
    let status = k.wait(pid, Wait::Block).unwrap().unwrap();
    assert_eq!(status, ExitStatus::Signaled(Signal::SIGTERM));
    assert_eq!(status.code(), 128 + 15);
}

/// Signals whose default action is to discard them (SIGWINCH, SIGCHLD) leave the process
/// running; a stopped process is not reported by wait4 and acts on a fatal signal only once
/// continued.
pub fn signal_dispositions<K: Kernel>(k: &K, _: &dyn Scratch) {
    let pid = start(k, &spec(None, &["/bin/sleep", "1000"]));
    for sig in [Signal::SIGWINCH, Signal::SIGCHLD] {
        k.signal(pid, sig).unwrap();
    }
    assert_eq!(k.wait(pid, Wait::NoHang).unwrap(), None, "still running");
    k.signal(pid, Signal::SIGSTOP).unwrap();
    k.signal(pid, Signal::SIGTERM).unwrap();
    assert_eq!(
        k.wait(pid, Wait::NoHang).unwrap(),
        None,
        "stopped, not reported"
    );
    k.signal(pid, Signal::SIGCONT).unwrap();
    assert_eq!(
        k.wait(pid, Wait::Block).unwrap(),
        Some(ExitStatus::Signaled(Signal::SIGTERM))
    );
}

/// kern.proc by jail: the jail's own processes; none for a jail that does not exist.
pub fn jail_processes_lists_that_jail<K: Kernel>(k: &K, _: &dyn Scratch) {
    let a = jail(k, "zc-procs-a");
    let b = jail(k, "zc-procs-b");
    let in_a = start(k, &spec(Some(a), &["/bin/sleep", "1000"]));
    let in_b = start(k, &spec(Some(b), &["/bin/sleep", "1000"]));
    assert_eq!(pids(k, a), vec![in_a]);
    assert_eq!(pids(k, b), vec![in_b]);
    assert_eq!(pids(k, Jid(987656)), Vec::<Pid>::new());
    k.signal(in_a, Signal::SIGKILL).unwrap();
    k.wait(in_a, Wait::Block).unwrap();
    assert_eq!(pids(k, a), Vec::<Pid>::new());
    k.jail_remove(a).unwrap();
    k.jail_remove(b).unwrap();
    k.wait(in_b, Wait::Block).unwrap();
}

/// jail_remove sends SIGKILL to every process in the jail and in its child jails.
pub fn jail_remove_kills_its_processes<K: Kernel>(k: &K, _: &dyn Scratch) {
    let jid = jail(k, "zc-kill");
    let pids: Vec<Pid> = (0..2)
        .map(|_| start(k, &spec(Some(jid), &["/bin/sleep", "1000"])))
        .collect();
    k.jail_remove(jid).unwrap();
    for pid in pids {
        assert_eq!(
            k.wait(pid, Wait::Block).unwrap(),
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

/// Assert that a spawn failed in step `op` with `errno`.
fn expect_step<T: std::fmt::Debug>(result: crate::kernel::KResult<T>, op: Op, errno: Errno) {
    match result {
        Ok(value) => panic!("{op}: succeeded with {value:?}, expected {errno}"),
        Err(e) => assert!(e.is(op, errno), "expected {op}: {errno}, got {e}"),
    }
}

/// After jail_attach the working directory is the jail's root, and the child then changes to
/// the spec's: a directory missing there fails the spawn's chdir step with ENOENT, a file with
/// ENOTDIR (do_jail_attach, chdir; FACTS-kernel-errno.md §10). A host directory is not inside a
/// jail rooted elsewhere.
pub fn spawn_needs_its_working_directory<K: Kernel>(k: &K, scratch: &dyn Scratch) {
    let open = jail(k, "zc-cwd");
    let work = scratch.dir("work");
    let mut s = spec(Some(open), &["/usr/bin/true"]);
    s.cwd = work.clone();
    let pid = start(k, &s);
    assert_eq!(
        k.wait(pid, Wait::Block).unwrap(),
        Some(ExitStatus::Exited(0))
    );
    s.cwd = scratch.missing("gone");
    expect_step(k.spawn(&s), Op::Chdir, Errno::ENOENT);
    s.cwd = scratch.file("plain");
    expect_step(k.spawn(&s), Op::Chdir, Errno::ENOTDIR);
    assert_eq!(pids(k, open), Vec::<Pid>::new(), "nothing left running");

    let params = JailParams {
        name: Some("zc-cwd-rooted".into()),
        path: Some(scratch.dir("root")),
        persist: Some(true),
        ..JailParams::default()
    };
    let rooted = k.jail_set(&params, JailFlags::CREATE).expect("rooted jail");
    let mut s = spec(Some(rooted), &["/usr/bin/true"]);
    s.cwd = work;
    expect_step(k.spawn(&s), Op::Chdir, Errno::ENOENT);
    assert_eq!(pids(k, rooted), Vec::<Pid>::new());
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
    let sh = start(
        k,
        &spec(Some(jid), &["/bin/sh", "-c", "/bin/sleep 1000 & exit 0"]),
    );
    assert_eq!(
        k.wait(sh, Wait::Block).unwrap(),
        Some(ExitStatus::Exited(0))
    );
    let left = pids(k, jid);
    assert_eq!(left.len(), 1, "the orphaned sleep: {left:?}");
    let orphan = left[0];
    assert_ne!(orphan, sh);
    assert_eq!(
        k.wait(orphan, Wait::NoHang).unwrap(),
        None,
        "ours, still running"
    );
    k.signal(orphan, Signal::SIGKILL).unwrap();
    assert_eq!(
        k.wait(orphan, Wait::Block).unwrap(),
        Some(ExitStatus::Signaled(Signal::SIGKILL))
    );
    assert_eq!(pids(k, jid), Vec::<Pid>::new());
    k.jail_remove(jid).unwrap();
}

/// A caller-owned descriptor as stdout: the child writes to its dup2 copy; the caller's own
/// stays open and usable.
pub fn stdout_goes_to_the_given_descriptor<K: Kernel>(k: &K, scratch: &dyn Scratch) {
    let out = scratch.writer("out");
    let mut s = spec(None, &["/bin/echo", "to", "the", "fd"]);
    s.stdio.stdout = StdioFd::Fd(out.as_raw_fd());
    let pid = start(k, &s);
    assert_eq!(
        k.wait(pid, Wait::Block).unwrap(),
        Some(ExitStatus::Exited(0))
    );
    assert_eq!(scratch.read("out"), b"to the fd\n");
    drop(out);
}

/// `StdioFd::Data` on stdin: the bytes, then end of file, so cat(1) copies them and exits.
pub fn stdin_data_is_fed_then_ends<K: Kernel>(k: &K, scratch: &dyn Scratch) {
    let out = scratch.writer("state");
    let mut s = spec(None, &["/bin/cat"]);
    s.stdio = Stdio {
        stdin: StdioFd::Data(b"{\"status\":\"created\"}".to_vec()),
        stdout: StdioFd::Fd(out.as_raw_fd()),
        stderr: StdioFd::Null,
    };
    let pid = start(k, &s);
    assert_eq!(
        k.wait(pid, Wait::Block).unwrap(),
        Some(ExitStatus::Exited(0))
    );
    assert_eq!(scratch.read("state"), b"{\"status\":\"created\"}");
}

/// A terminal: the process's output is read from the pty master spawn hands back (the line
/// discipline's ONLCR makes "\n" "\r\n"); without one there is no master.
pub fn terminal_output_is_read_from_the_master<K: Kernel>(k: &K, scratch: &dyn Scratch) {
    let plain = k.spawn(&spec(None, &["/usr/bin/true"])).unwrap();
    assert!(plain.terminal.is_none(), "no terminal asked for");
    k.wait(plain.pid, Wait::Block).unwrap();

    let mut s = spec(None, &["/bin/echo", "on", "a", "tty"]);
    s.terminal = Some(WindowSize { rows: 24, cols: 80 });
    let spawned = k.spawn(&s).expect("spawn with a terminal");
    let master = spawned.terminal.expect("the pty master");
    let output = scratch.read_terminal(master);
    assert_eq!(String::from_utf8_lossy(&output), "on a tty\r\n");
    assert_eq!(
        k.wait(spawned.pid, Wait::Block).unwrap(),
        Some(ExitStatus::Exited(0))
    );
}

/// The pty starts with the spec's size; TIOCSWINSZ on the master changes it.
pub fn terminal_size_is_set_and_resized<K: Kernel>(k: &K, scratch: &dyn Scratch) {
    let mut s = spec(None, &["/bin/sleep", "1000"]);
    s.terminal = Some(WindowSize { rows: 24, cols: 80 });
    let spawned = k.spawn(&s).expect("spawn with a terminal");
    let master = spawned.terminal.expect("the pty master");
    assert_eq!(
        scratch.terminal_size(master.as_fd()),
        WindowSize { rows: 24, cols: 80 }
    );
    let bigger = WindowSize {
        rows: 50,
        cols: 132,
    };
    k.resize_terminal(master.as_fd(), bigger).expect("resize");
    assert_eq!(scratch.terminal_size(master.as_fd()), bigger);
    k.signal(spawned.pid, Signal::SIGKILL).unwrap();
    k.wait(spawned.pid, Wait::Block).unwrap();
}

/// signal_jail signals every live process of the jail and counts them; a zombie is skipped,
/// another jail's process is not touched, and a jail with no process (or none at all) is 0.
pub fn signal_jail_reaches_every_live_process<K: Kernel>(k: &K, _: &dyn Scratch) {
    let target = jail(k, "zc-sigjail");
    let other = jail(k, "zc-sigjail-other");
    let sleepers: Vec<Pid> = (0..3)
        .map(|_| start(k, &spec(Some(target), &["/bin/sleep", "1000"])))
        .collect();
    let zombie = start(k, &spec(Some(target), &["/usr/bin/true"]));
    eventually("true becomes a zombie", || {
        info(k, target, zombie).is_some_and(|p| p.state == RunState::Zombie)
    });
    let bystander = start(k, &spec(Some(other), &["/bin/sleep", "1000"]));

    assert_eq!(k.signal_jail(target, Signal::SIGTERM).unwrap(), 3);
    for pid in sleepers {
        assert_eq!(
            k.wait(pid, Wait::Block).unwrap(),
            Some(ExitStatus::Signaled(Signal::SIGTERM))
        );
    }
    assert_eq!(
        k.wait(zombie, Wait::Block).unwrap(),
        Some(ExitStatus::Exited(0))
    );
    assert_eq!(k.wait(bystander, Wait::NoHang).unwrap(), None, "other jail");
    assert_eq!(k.signal_jail(target, Signal::SIGTERM).unwrap(), 0, "empty");
    assert_eq!(k.signal_jail(Jid(987657), Signal::SIGTERM).unwrap(), 0);
    k.jail_remove(other).unwrap();
    k.wait(bystander, Wait::Block).unwrap();
    k.jail_remove(target).unwrap();
}

/// wait4(-1): ECHILD with no child, `None` without blocking while children run, then each
/// exit as it happens — the shorter sleep first, whatever the spawn order.
pub fn wait_any_reports_exits_in_the_order_they_happen<K: Kernel>(k: &K, _: &dyn Scratch) {
    expect_errno(k.wait_any(Wait::NoHang), Errno::ECHILD, "no children");
    let long = start(k, &spec(None, &["/bin/sleep", "0.6"]));
    let short = start(k, &spec(None, &["/bin/sleep", "0.2"]));
    assert_eq!(k.wait_any(Wait::NoHang).unwrap(), None, "both running");
    let first = k.wait_any(Wait::Block).unwrap();
    assert_eq!(first, Some((short, ExitStatus::Exited(0))));
    let second = k.wait_any(Wait::Block).unwrap();
    assert_eq!(second, Some((long, ExitStatus::Exited(0))));
    expect_errno(k.wait_any(Wait::NoHang), Errno::ECHILD, "all reaped");
}

/// `Wait::For`: `None` once the time is up while the process runs on, its exit once it comes
/// within the time; for one child and for any.
pub fn wait_for_times_out_then_finds_the_exit<K: Kernel>(k: &K, _: &dyn Scratch) {
    let pid = start(k, &spec(None, &["/bin/sleep", "0.5"]));
    let short = Wait::For(Duration::from_millis(50));
    assert_eq!(k.wait(pid, short).unwrap(), None, "still sleeping");
    assert_eq!(k.wait_any(short).unwrap(), None, "any: still sleeping");
    let long = Wait::For(Duration::from_secs(30));
    assert_eq!(k.wait(pid, long).unwrap(), Some(ExitStatus::Exited(0)));

    let pid = start(k, &spec(None, &["/bin/sleep", "0.2"]));
    assert_eq!(
        k.wait_any(long).unwrap(),
        Some((pid, ExitStatus::Exited(0)))
    );
}

/// PROC_NO_NEW_PRIVS_CTL exists from FreeBSD 14.0 (FACTS-kernel-runtime.md §3): there the
/// process runs; before, procctl answers EINVAL (an unknown command) and the spawn fails in
/// that step with nothing left running.
pub fn no_new_privileges_follows_the_release<K: Kernel>(k: &K, _: &dyn Scratch) {
    let release = match k.sysctl("kern.osreldate") {
        Ok(SysctlValue::Int(osreldate)) => Release::from_osreldate(osreldate),
        other => panic!("kern.osreldate: {other:?}"),
    };
    let jid = jail(k, "zc-nnp");
    let mut s = spec(Some(jid), &["/usr/bin/true"]);
    s.no_new_privileges = true;
    if release >= Release::V14_0 {
        let pid = start(k, &s);
        assert_eq!(
            k.wait(pid, Wait::Block).unwrap(),
            Some(ExitStatus::Exited(0))
        );
    } else {
        expect_step(k.spawn(&s), Op::NoNewPrivs, Errno::EINVAL);
        assert_eq!(pids(k, jid), Vec::<Pid>::new(), "{release}: nothing left");
    }
    k.jail_remove(jid).unwrap();
}

/// kern.proc's view of a process: its parent (us), its command (the executable's name),
/// and its state — sleeping, stopped after SIGSTOP, a zombie once killed and until reaped.
pub fn process_states_in_kern_proc<K: Kernel>(k: &K, _: &dyn Scratch) {
    let jid = jail(k, "zc-states");
    let pid = start(k, &spec(Some(jid), &["/bin/sleep", "1000"]));
    let me = Pid(std::process::id() as i32);
    eventually("sleep sleeps", || {
        info(k, jid, pid).is_some_and(|p| p.state == RunState::Sleeping)
    });
    let seen = info(k, jid, pid).unwrap();
    assert_eq!((seen.ppid, seen.command.as_str()), (me, "sleep"));
    k.signal(pid, Signal::SIGSTOP).unwrap();
    eventually("stopped", || {
        info(k, jid, pid).is_some_and(|p| p.state == RunState::Stopped)
    });
    k.signal(pid, Signal::SIGKILL).unwrap();
    eventually("a zombie", || {
        info(k, jid, pid).is_some_and(|p| p.state == RunState::Zombie)
    });
    assert_eq!(
        k.wait(pid, Wait::Block).unwrap(),
        Some(ExitStatus::Signaled(Signal::SIGKILL))
    );
    assert_eq!(info(k, jid, pid), None, "reaped");
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
                    stdout_goes_to_the_given_descriptor,
                    stdin_data_is_fed_then_ends,
                    terminal_output_is_read_from_the_master,
                    terminal_size_is_set_and_resized,
                    signal_jail_reaches_every_live_process,
                    wait_any_reports_exits_in_the_order_they_happen,
                    wait_for_times_out_then_finds_the_exit,
                    no_new_privileges_follows_the_release,
                    process_states_in_kern_proc,
                ]
            );
        }
    };
}
