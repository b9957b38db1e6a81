//! Process rules that need the simulator: scripted virtual programs and the clock, stdio
//! descriptors and pipes, waiting across threads and in real time, and host-exec mode running
//! real programs (with real ptys).

mod common;

use common::TempScratch;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use zelle_core::conformance::Scratch;
use zelle_core::kernel::*;
use zelle_sim::process::{Parent, Program, Script};
use zelle_sim::SimKernel;

fn spec(jail: Option<Jid>, args: &[&str]) -> ProcessSpec {
    ProcessSpec::command(jail, args)
}

fn register(k: &SimKernel, path: &str, script: Script) {
    k.with_machine(|m| {
        m.procs
            .programs
            .insert(path.into(), Program::Script(script))
    })
    .unwrap();
}

fn jail(k: &SimKernel, name: &str, path: Option<String>) -> Jid {
    let params = JailParams {
        name: Some(name.into()),
        path,
        persist: Some(true),
        ..JailParams::default()
    };
    k.jail_set(&params, JailFlags::CREATE).unwrap()
}

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

fn fd(owned: &OwnedFd) -> StdioFd {
    StdioFd::Fd(owned.as_raw_fd())
}

fn pids(k: &SimKernel, jid: Jid) -> Vec<Pid> {
    let listed = k.jail_processes(jid).unwrap();
    listed.iter().map(|p| p.pid).collect()
}

/// A scripted program writes its output at once, runs its simulated time, and a blocking wait
/// jumps the clock to its end.
#[test]
fn scripted_program_runs_its_script() {
    let scratch = TempScratch::new();
    let k = SimKernel::seeded(1);
    register(
        &k,
        "/app/server",
        Script::exits(7)
            .stdout("hello\n")
            .stderr("warning\n")
            .runs_for(2500),
    );
    let mut s = spec(None, &["/app/server", "--flag"]);
    let (out, err) = (scratch.writer("out"), scratch.writer("err"));
    s.stdio.stdout = fd(&out);
    s.stdio.stderr = fd(&err);
    let pid = k.spawn(&s).unwrap().pid;
    assert_eq!(read(&scratch.missing("out")), "hello\n");
    assert_eq!(read(&scratch.missing("err")), "warning\n");
    assert_eq!(k.wait(pid, Wait::NoHang).unwrap(), None);
    assert_eq!(
        k.wait(pid, Wait::Block).unwrap(),
        Some(ExitStatus::Exited(7))
    );
    assert_eq!(k.snapshot().clock_ms, 2500);
}

/// execve resolves a relative program path against the working directory.
#[test]
fn relative_program_resolves_against_cwd() {
    let k = SimKernel::seeded(1);
    register(&k, "/opt/tool", Script::exits(4));
    let mut s = spec(None, &["tool"]);
    s.cwd = "/opt".into();
    let pid = k.spawn(&s).unwrap().pid;
    assert_eq!(
        k.wait(pid, Wait::Block).unwrap(),
        Some(ExitStatus::Exited(4))
    );
}

/// A pipe as stdout: the reader gets the output; with the reader gone the output is lost
/// (EPIPE), and the spawn still succeeds, as the real child would have started.
#[test]
fn pipe_output() {
    let k = SimKernel::seeded(1);
    let (reader, writer) = nix::unistd::pipe().unwrap();
    let mut s = spec(None, &["/bin/echo", "through the pipe"]);
    s.stdio.stdout = fd(&writer);
    let pid = k.spawn(&s).unwrap().pid;
    k.wait(pid, Wait::Block).unwrap();
    drop(writer);
    let mut text = String::new();
    std::io::Read::read_to_string(&mut std::fs::File::from(reader), &mut text).unwrap();
    assert_eq!(text, "through the pipe\n");

    let (reader, writer) = nix::unistd::pipe().unwrap();
    drop(reader);
    s.stdio.stdout = fd(&writer);
    let pid = k
        .spawn(&s)
        .expect("no reader: lost output, not an error")
        .pid;
    assert_eq!(
        k.wait(pid, Wait::Block).unwrap(),
        Some(ExitStatus::Exited(0))
    );
}

/// Bad stdio is the dup2 step's error, naming the stream: a descriptor that is not open
/// (EBADF), bytes for stdout (EINVAL). Nothing is left behind.
#[test]
fn bad_stdio_names_the_stream() {
    let k = SimKernel::seeded(1);
    let mut s = spec(None, &["/bin/echo"]);
    s.stdio.stdout = StdioFd::Fd(987);
    let err = k.spawn(&s).unwrap_err();
    assert!(err.is(Op::SetStdio, Errno::EBADF), "{err}");
    assert!(err.to_string().contains("stdout"), "{err}");
    s.stdio.stdout = StdioFd::Null;
    s.stdio.stderr = StdioFd::Data(b"x".to_vec());
    let err = k.spawn(&s).unwrap_err();
    assert!(err.is(Op::SetStdio, Errno::EINVAL), "{err}");
    assert!(err.to_string().contains("stderr"), "{err}");
    assert!(k.snapshot().procs.procs.is_empty());
}

/// `Wait::For` on a process only a signal ends waits in real time, and another thread's
/// signal ends it early; on a scripted one it moves the simulated clock by at most the time.
#[test]
fn timed_waits_in_real_and_simulated_time() {
    let k = SimKernel::seeded(1);
    register(&k, "/app/forever", Script::runs_until_signalled());
    let forever = k.spawn(&spec(None, &["/app/forever"])).unwrap().pid;
    let started = Instant::now();
    let short = Wait::For(Duration::from_millis(40));
    assert_eq!(k.wait(forever, short).unwrap(), None);
    assert!(started.elapsed() >= Duration::from_millis(40));
    std::thread::scope(|scope| {
        scope.spawn(|| {
            std::thread::sleep(Duration::from_millis(30));
            k.signal(forever, Signal::SIGTERM).unwrap();
        });
        let long = Wait::For(Duration::from_secs(30));
        assert_eq!(
            k.wait_any(long).unwrap(),
            Some((forever, ExitStatus::Signaled(Signal::SIGTERM)))
        );
    });
    let clock = k.snapshot().clock_ms;
    let sleeper = k.spawn(&spec(None, &["/bin/sleep", "10"])).unwrap().pid;
    assert_eq!(
        k.wait(sleeper, Wait::For(Duration::from_secs(4))).unwrap(),
        None
    );
    assert_eq!(k.snapshot().clock_ms, clock + 4000);
    assert_eq!(
        k.wait(sleeper, Wait::For(Duration::from_secs(60))).unwrap(),
        Some(ExitStatus::Exited(0))
    );
    assert_eq!(
        k.snapshot().clock_ms,
        clock + 10_000,
        "no further than the exit"
    );
}

/// signal_jail: jail 0 (the host) is refused; a stopped process counts and takes the signal
/// on SIGCONT; a process that ignores it is still counted.
#[test]
fn signal_jail_edges() {
    let k = SimKernel::seeded(1);
    let err = k.signal_jail(Jid(0), Signal::SIGTERM).unwrap_err();
    assert!(err.is(Op::SignalJail, Errno::EINVAL), "{err}");
    let jid = jail(&k, "edges", None);
    register(
        &k,
        "/app/stubborn",
        Script::runs_until_signalled().ignoring(Signal::SIGTERM),
    );
    let stubborn = k.spawn(&spec(Some(jid), &["/app/stubborn"])).unwrap().pid;
    let stopped = k
        .spawn(&spec(Some(jid), &["/bin/sleep", "100"]))
        .unwrap()
        .pid;
    k.signal(stopped, Signal::SIGSTOP).unwrap();
    assert_eq!(k.signal_jail(jid, Signal::SIGTERM).unwrap(), 2);
    assert_eq!(k.wait(stubborn, Wait::NoHang).unwrap(), None, "ignored");
    k.signal(stopped, Signal::SIGCONT).unwrap();
    assert_eq!(
        k.wait(stopped, Wait::Block).unwrap(),
        Some(ExitStatus::Signaled(Signal::SIGTERM))
    );
    assert_eq!(k.signal_jail(jid, Signal(0)).unwrap(), 1, "signal 0 counts");
    k.jail_remove(jid).unwrap();
    k.wait(stubborn, Wait::Block).unwrap();
}

/// Ignored signals do nothing; SIGKILL always kills; a stopped process keeps its remaining
/// time and acts on a fatal signal only when continued.
#[test]
fn signal_dispositions() {
    let k = SimKernel::seeded(1);
    register(
        &k,
        "/app/stubborn",
        Script::runs_until_signalled()
            .ignoring(Signal::SIGTERM)
            .ignoring(Signal::SIGKILL),
    );
    let pid = k.spawn(&spec(None, &["/app/stubborn"])).unwrap().pid;
    k.signal(pid, Signal::SIGTERM).unwrap();
    k.signal(pid, Signal::SIGCHLD).unwrap();
    assert_eq!(k.wait(pid, Wait::NoHang).unwrap(), None);
    k.signal(pid, Signal::SIGKILL).unwrap();
    assert_eq!(
        k.wait(pid, Wait::NoHang).unwrap(),
        Some(ExitStatus::Signaled(Signal::SIGKILL))
    );

    let sleeper = k.spawn(&spec(None, &["/bin/sleep", "10"])).unwrap().pid;
    k.with_machine(|m| m.advance(4000)).unwrap();
    k.signal(sleeper, Signal::SIGSTOP).unwrap();
    k.with_machine(|m| m.advance(100_000)).unwrap();
    assert_eq!(
        k.wait(sleeper, Wait::NoHang).unwrap(),
        None,
        "stopped, not done"
    );
    k.signal(sleeper, Signal::SIGCONT).unwrap();
    assert_eq!(
        k.wait(sleeper, Wait::Block).unwrap(),
        Some(ExitStatus::Exited(0))
    );
    assert_eq!(k.snapshot().clock_ms, 104_000 + 6000);
}

/// A blocking wait for a process only a signal ends leaves the machine free: another thread
/// signals it.
#[test]
fn blocking_wait_is_ended_by_another_threads_signal() {
    let k = SimKernel::seeded(1);
    let pid = k
        .spawn(&spec(None, &["/bin/sh", "-c", "sleep 1000000"]))
        .unwrap()
        .pid;
    register(&k, "/app/forever", Script::runs_until_signalled());
    let forever = k.spawn(&spec(None, &["/app/forever"])).unwrap().pid;
    std::thread::scope(|scope| {
        scope.spawn(|| {
            std::thread::sleep(Duration::from_millis(50));
            k.signal(forever, Signal::SIGTERM).unwrap();
        });
        assert_eq!(
            k.wait(forever, Wait::Block).unwrap(),
            Some(ExitStatus::Signaled(Signal::SIGTERM))
        );
    });
    // The finite one: the clock jumps instead.
    assert_eq!(
        k.wait(pid, Wait::Block).unwrap(),
        Some(ExitStatus::Exited(0))
    );
}

/// Only the spawning OS process can wait: another one's wait4 is ECHILD.
#[test]
fn wait_for_another_processes_child_is_echild() {
    let k = SimKernel::seeded(1);
    let pid = k.spawn(&spec(None, &["/usr/bin/true"])).unwrap().pid;
    let other = Parent::Caller(std::process::id() + 1);
    k.with_machine(|m| m.procs.procs.get_mut(&pid).unwrap().parent = other)
        .unwrap();
    assert_eq!(
        k.wait(pid, Wait::Block).unwrap_err().code(),
        Some(Errno::ECHILD)
    );
}

/// The dump lists processes as ps does, zombies as defunct.
#[test]
fn dump_lists_processes_like_ps() {
    let k = SimKernel::seeded(1);
    let jid = jail(&k, "ps", None);
    k.spawn(&spec(Some(jid), &["/bin/sleep", "5"])).unwrap();
    k.spawn(&spec(None, &["/usr/bin/false"])).unwrap();
    let dump = k.snapshot().dump();
    assert!(dump.contains("# ps -ax -o jid,pid,stat,command\nJID   PID STAT COMMAND\n"));
    assert!(dump.contains("  1  1000 S    /bin/sleep 5\n"), "{dump}");
    assert!(
        dump.contains("  0  1001 Z    /usr/bin/false <defunct>\n"),
        "{dump}"
    );
    assert!(k.snapshot().check_invariants().is_empty());
}

/// Host-exec: a real /bin/echo writes into a real file.
#[test]
fn host_exec_runs_a_real_program() {
    let scratch = TempScratch::new();
    let k = SimKernel::seeded(1);
    k.with_machine(|m| m.procs.host_exec = true).unwrap();
    let out = scratch.missing("echo.out");
    let writer = scratch.writer("echo.out");
    let mut s = spec(None, &["/bin/echo", "real", "output"]);
    s.stdio.stdout = fd(&writer);
    let pid = k.spawn(&s).unwrap().pid;
    assert_eq!(
        k.wait(pid, Wait::Block).unwrap(),
        Some(ExitStatus::Exited(0))
    );
    assert_eq!(read(&out), "real output\n");
    assert_eq!(
        k.wait(pid, Wait::NoHang).unwrap_err().code(),
        Some(Errno::ECHILD)
    );
}

/// Host-exec: environment (cleared, then set), working directory and umask are the spec's.
#[test]
fn host_exec_sets_env_cwd_and_umask() {
    let scratch = TempScratch::new();
    let k = SimKernel::seeded(1);
    k.with_machine(|m| m.procs.host_exec = true).unwrap();
    let dir = scratch.dir("work");
    let out = scratch.missing("env.out");
    let mut s = spec(
        None,
        &["/bin/sh", "-c", "echo \"$FOO ${HOME:-unset}\"; pwd; umask"],
    );
    s.env = vec!["FOO=bar".into(), "PATH=/bin:/usr/bin".into()];
    s.cwd = dir.clone();
    s.umask = Some(0o027);
    let writer = scratch.writer("env.out");
    s.stdio.stdout = fd(&writer);
    let pid = k.spawn(&s).unwrap().pid;
    assert_eq!(
        k.wait(pid, Wait::Block).unwrap(),
        Some(ExitStatus::Exited(0))
    );
    let canonical = std::fs::canonicalize(&dir).unwrap();
    assert_eq!(
        read(&out),
        format!("bar unset\n{}\n0027\n", canonical.display())
    );
    s.cwd = scratch.missing("nowhere");
    let err = k.spawn(&s).unwrap_err();
    assert!(err.is(Op::Chdir, Errno::ENOENT), "{err}");
}

/// Host-exec: bytes for stdin reach a real cat through a pipe, then end of file.
#[test]
fn host_exec_feeds_stdin_data() {
    let scratch = TempScratch::new();
    let k = SimKernel::seeded(1);
    k.with_machine(|m| m.procs.host_exec = true).unwrap();
    let writer = scratch.writer("cat.out");
    let mut s = spec(None, &["/bin/cat"]);
    s.stdio.stdin = StdioFd::Data(b"{\"id\":\"c1\"}".to_vec());
    s.stdio.stdout = fd(&writer);
    let pid = k.spawn(&s).unwrap().pid;
    assert_eq!(
        k.wait(pid, Wait::Block).unwrap(),
        Some(ExitStatus::Exited(0))
    );
    assert_eq!(read(&scratch.missing("cat.out")), "{\"id\":\"c1\"}");
}

/// Host-exec: FreeBSD signal numbers are translated (SIGUSR1 is 30 there, 10 on Linux) both
/// ways.
#[test]
fn host_exec_translates_signals() {
    let k = SimKernel::seeded(1);
    k.with_machine(|m| m.procs.host_exec = true).unwrap();
    let pid = k.spawn(&spec(None, &["/bin/sleep", "100"])).unwrap().pid;
    assert_eq!(k.wait(pid, Wait::NoHang).unwrap(), None);
    k.signal(pid, Signal::SIGUSR1).unwrap();
    assert_eq!(
        k.wait(pid, Wait::Block).unwrap(),
        Some(ExitStatus::Signaled(Signal::SIGUSR1))
    );
}

/// Host-exec: jail_remove kills the jail's real processes with SIGKILL; the jail dies once the
/// exit is seen and reaped.
#[test]
fn host_exec_jail_remove_kills_real_processes() {
    let scratch = TempScratch::new();
    let k = SimKernel::seeded(1);
    k.with_machine(|m| m.procs.host_exec = true).unwrap();
    // As root the process is chrooted into the jail's root: "/" keeps /bin/sleep in reach.
    let root = if nix::unistd::geteuid().is_root() {
        None
    } else {
        Some(scratch.dir("root"))
    };
    let jid = jail(&k, "real", root);
    let pid = k
        .spawn(&spec(Some(jid), &["/bin/sleep", "100"]))
        .unwrap()
        .pid;
    assert_eq!(pids(&k, jid), vec![pid]);
    k.jail_remove(jid).unwrap();
    assert_eq!(
        k.wait(pid, Wait::Block).unwrap(),
        Some(ExitStatus::Signaled(Signal::SIGKILL))
    );
    assert!(k.jail_get(&JailKey::Jid(jid), JailFlags::DYING).is_err());
    assert!(k.snapshot().check_invariants().is_empty());
}

/// Host-exec with a terminal: the process's stdio is a pty of the spec's size, its controlling
/// terminal, read from the master spawn hands back.
#[test]
fn host_exec_terminal_is_a_pty() {
    let scratch = TempScratch::new();
    let k = SimKernel::seeded(1);
    k.with_machine(|m| m.procs.host_exec = true).unwrap();
    let mut s = spec(None, &["/bin/sh", "-c", "tty; stty size; echo done"]);
    s.terminal = Some(WindowSize {
        rows: 33,
        cols: 101,
    });
    let spawned = k.spawn(&s).unwrap();
    let master = spawned.terminal.expect("the master");
    let text = String::from_utf8_lossy(&scratch.read_terminal(master)).into_owned();
    assert_eq!(
        k.wait(spawned.pid, Wait::Block).unwrap(),
        Some(ExitStatus::Exited(0))
    );
    assert!(
        text.contains("/dev/pts/") && text.contains("33 101\r\n") && text.ends_with("done\r\n"),
        "{text:?}"
    );
}

/// A copy of the host's /bin/sh and the libraries ldd names for it, below `dir`. Panics when
/// it cannot be made: the chroot test then has nothing to run.
fn root_with_a_shell(dir: &Path) -> PathBuf {
    let ldd = std::process::Command::new("ldd")
        .arg("/bin/sh")
        .output()
        .expect("ldd /bin/sh (the chroot test copies what it names)");
    let listing = String::from_utf8(ldd.stdout).expect("ldd output");
    let libraries = listing
        .split_whitespace()
        .filter(|word| word.starts_with('/'));
    for file in libraries.chain(["/bin/sh"]) {
        let copy = dir.join(file.trim_start_matches('/'));
        std::fs::create_dir_all(copy.parent().unwrap()).unwrap();
        std::fs::copy(file, &copy).unwrap_or_else(|e| panic!("copy {file}: {e}"));
    }
    dir.to_path_buf()
}

/// Host-exec with chroot: as root, a jailed process runs chrooted into the jail's root — or,
/// when a nullfs mount sits at the jail's path, into the mount's source (nothing is mounted
/// for real). Not root, the host refuses the chroot and the spawn fails with its EPERM,
/// leaving no process behind.
#[test]
fn host_exec_chroots_into_the_jail_root() {
    let scratch = TempScratch::new();
    let k = SimKernel::seeded(1);
    k.with_machine(|m| {
        m.procs.host_exec = true;
        m.procs.host_chroot = Some(true);
    })
    .unwrap();
    if !nix::unistd::geteuid().is_root() {
        let jid = jail(&k, "refused", Some(scratch.dir("root")));
        let err = k.spawn(&spec(Some(jid), &["/bin/sh", "-c", "exit 0"]));
        assert_eq!(err.unwrap_err().code(), Some(Errno::EPERM));
        assert_eq!(pids(&k, jid), Vec::<Pid>::new());
        return;
    }
    let rootfs = root_with_a_shell(Path::new(&scratch.dir("rootfs")));
    let rootfs = rootfs.to_string_lossy().into_owned();
    let direct = jail(&k, "direct", Some(rootfs.clone()));
    let pid = k
        .spawn(&spec(
            Some(direct),
            &["/bin/sh", "-c", "echo inside > /inside.txt"],
        ))
        .unwrap()
        .pid;
    assert_eq!(
        k.wait(pid, Wait::Block).unwrap(),
        Some(ExitStatus::Exited(0))
    );
    assert_eq!(read(&format!("{rootfs}/inside.txt")), "inside\n");

    let mountpoint = scratch.dir("mnt");
    let nullfs = MountRequest {
        fstype: "nullfs".into(),
        fspath: mountpoint.clone(),
        from: Some(rootfs.clone()),
        options: vec![],
        flags: MountFlags::default(),
    };
    k.nmount(&nullfs).unwrap();
    let through = jail(&k, "through", Some(mountpoint));
    let mut s = spec(Some(through), &["/bin/sh", "-c", "pwd > /through.txt"]);
    s.cwd = "/bin".into();
    let pid = k.spawn(&s).unwrap().pid;
    assert_eq!(
        k.wait(pid, Wait::Block).unwrap(),
        Some(ExitStatus::Exited(0))
    );
    assert_eq!(read(&format!("{rootfs}/through.txt")), "/bin\n");
}

/// Host-exec without chroot (the default when not root; told so here, so it runs as root
/// too): the working directory is joined under the jail's root, and one missing there is
/// ENOENT.
#[test]
fn host_exec_without_chroot_joins_cwd_under_the_jail_root() {
    let scratch = TempScratch::new();
    let k = SimKernel::seeded(1);
    k.with_machine(|m| {
        m.procs.host_exec = true;
        m.procs.host_chroot = Some(false);
    })
    .unwrap();
    let root = scratch.dir("root");
    let work = scratch.dir("root/work");
    let jid = jail(&k, "plain", Some(root));
    let mut s = spec(Some(jid), &["/bin/sh", "-c", "pwd > out.txt"]);
    s.cwd = "/work".into();
    let pid = k.spawn(&s).unwrap().pid;
    assert_eq!(
        k.wait(pid, Wait::Block).unwrap(),
        Some(ExitStatus::Exited(0))
    );
    assert_eq!(
        read(&format!("{work}/out.txt")).trim_end(),
        std::fs::canonicalize(&work).unwrap().to_string_lossy()
    );
    s.cwd = "/elsewhere".into();
    let err = k.spawn(&s).unwrap_err();
    assert!(err.is(Op::Chdir, Errno::ENOENT), "{err}");
}

/// Without a reaper, a child's orphan goes to init: still listed in its jail, not ours to wait
/// for (ECHILD), and reaped by init when it ends (exit1; FACTS-kernel-runtime.md §3).
#[test]
fn without_a_reaper_orphans_go_to_init() {
    let k = SimKernel::seeded(1);
    let jid = jail(&k, "orphans", None);
    let sh = k
        .spawn(&spec(Some(jid), &["/bin/sh", "-c", "sleep 1000 & exit 0"]))
        .unwrap()
        .pid;
    assert_eq!(
        k.wait(sh, Wait::Block).unwrap(),
        Some(ExitStatus::Exited(0))
    );
    let left = pids(&k, jid);
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(
        k.wait(left[0], Wait::NoHang).unwrap_err().code(),
        Some(Errno::ECHILD)
    );
    k.signal(left[0], Signal::SIGKILL).unwrap();
    assert_eq!(pids(&k, jid), Vec::<Pid>::new());
    assert!(k.snapshot().check_invariants().is_empty());
}

/// A process's reaper is fixed when it is forked: PROC_REAP_ACQUIRE does not reach the
/// descendants of a child spawned before it (their orphans still go to init), only those
/// spawned after (reap_acquire).
#[test]
fn the_reaper_is_fixed_at_fork() {
    let k = SimKernel::seeded(1);
    register(
        &k,
        "/app/parent",
        Script::exits(0)
            .runs_for(1000)
            .forking(&["/bin/sleep", "1000"]),
    );
    let before = k.spawn(&spec(None, &["/app/parent"])).unwrap().pid;
    k.acquire_reaper().unwrap();
    let after = k.spawn(&spec(None, &["/app/parent"])).unwrap().pid;
    let grandchildren: Vec<Pid> = k
        .with_machine(|m| {
            m.procs
                .procs
                .iter()
                .filter(|(_, p)| matches!(p.parent, Parent::Process(_)))
                .map(|(pid, _)| *pid)
                .collect()
        })
        .unwrap();
    assert_eq!(grandchildren.len(), 2);
    for pid in [before, after] {
        assert_eq!(
            k.wait(pid, Wait::Block).unwrap(),
            Some(ExitStatus::Exited(0))
        );
    }
    let (early, late) = (grandchildren[0], grandchildren[1]);
    assert_eq!(
        k.wait(early, Wait::NoHang).unwrap_err().code(),
        Some(Errno::ECHILD)
    );
    assert_eq!(
        k.wait(late, Wait::NoHang).unwrap(),
        None,
        "adopted by the reaper"
    );
    k.signal(late, Signal::SIGKILL).unwrap();
    assert_eq!(
        k.wait(late, Wait::Block).unwrap(),
        Some(ExitStatus::Signaled(Signal::SIGKILL))
    );
    assert!(k.snapshot().check_invariants().is_empty());
}

/// Jails, mounts and processes survive the trip through a shared state file, as the shim's
/// several processes see one machine.
#[test]
fn state_survives_the_state_file() {
    let scratch = TempScratch::new();
    let state = scratch.missing("machine.json");
    let config = zelle_sim::SimConfig::default();
    SimKernel::reset_shared(Path::new(&state), &config).unwrap();
    let first = SimKernel::shared(&state, config.clone());
    register(
        &first,
        "/app/x",
        Script::runs_until_signalled().ignoring(Signal::SIGHUP),
    );
    let jid = jail(&first, "shared", Some(scratch.dir("root")));
    let pid = first.spawn(&spec(Some(jid), &["/app/x"])).unwrap().pid;
    let dev = scratch.dir("root/dev");
    let devfs = MountRequest {
        fstype: "devfs".into(),
        fspath: dev,
        from: Some("devfs".into()),
        options: vec![("ruleset".into(), "4".into())],
        flags: MountFlags::default(),
    };
    first.nmount(&devfs).unwrap();
    let second = SimKernel::shared(&state, config);
    assert_eq!(second.snapshot(), first.snapshot());
    let listed = second.jail_processes(jid).unwrap();
    assert_eq!(
        listed,
        vec![ProcessInfo {
            pid,
            ppid: Pid(std::process::id() as i32),
            state: RunState::Sleeping,
            command: "x".into(),
        }]
    );
    second.signal(pid, Signal::SIGHUP).unwrap();
    second.jail_remove(jid).unwrap();
    assert_eq!(
        first.wait(pid, Wait::Block).unwrap(),
        Some(ExitStatus::Signaled(Signal::SIGKILL))
    );
}
