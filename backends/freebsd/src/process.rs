//! Processes: spawn into a jail (fork, jail_attach(2), credentials, limits, a pty, execve(2)),
//! kill(2) of one process or a jail's, wait4(2) for one child or any, the jail's processes
//! (sysctl `kern.proc`), a pty's window size (TIOCSWINSZ), and procctl(2)'s reaper.

use crate::syscalls::consts::WNOHANG;
use crate::{fail, FreeBsd, SpawnRequest, Syscalls};
use core::ffi::{c_int, c_void};
use std::ffi::CString;
use std::os::fd::{AsRawFd, BorrowedFd};
use zelle_core::kernel::{
    Errno, ExitStatus, Jid, KResult, KernelError, Op, Pid, ProcessInfo, ProcessSpec, Processes,
    RunState, Signal, Spawned, Wait, WindowSize,
};
use zelle_sys::ioctl::TIOCSWINSZ;
use zelle_sys::{
    kinfo_proc, winsize, zeroed, CTL_KERN, KERN_PROC, KERN_PROC_PROC, PROC_REAP_ACQUIRE, P_PID,
    SIDL, SLOCK, SRUN, SSLEEP, SSTOP, SWAIT, SZOMB,
};

fn cstring(text: &str) -> Result<CString, Errno> {
    CString::new(text).map_err(|_| Errno::EINVAL)
}

/// The spawn request for `spec`, checked before anything is forked: an argv, strings without
/// NUL, and bytes fed only to stdin.
fn spawn_request(spec: &ProcessSpec) -> KResult<SpawnRequest> {
    // Nothing to execute (execve(2) of FreeBSD 14 refuses an empty argv with EINVAL too).
    if spec.args.is_empty() {
        return Err(fail(Op::Execve, Errno::EINVAL));
    }
    if let (None, Some(name)) = (spec.terminal, spec.stdio.misplaced_data()) {
        return Err(KernelError::with_message(
            Op::SetStdio,
            Errno::EINVAL,
            format!("{name}: data can only be fed to stdin"),
        ));
    }
    let strings = |list: &[String]| {
        list.iter()
            .map(|s| cstring(s))
            .collect::<Result<Vec<_>, _>>()
    };
    let execve = |e| fail(Op::Execve, e);
    Ok(SpawnRequest {
        jid: spec.jail.map(|j| j.0),
        argv: strings(&spec.args).map_err(execve)?,
        envp: strings(&spec.env).map_err(execve)?,
        cwd: cstring(if spec.cwd.is_empty() { "/" } else { &spec.cwd })
            .map_err(|e| fail(Op::Chdir, e))?,
        uid: spec.uid,
        gid: spec.gid,
        groups: spec.groups.clone(),
        umask: spec.umask,
        rlimits: spec
            .rlimits
            .iter()
            .map(|r| (r.resource as c_int, r.soft, r.hard))
            .collect(),
        stdin: spec.stdio.stdin.clone(),
        stdout: spec.stdio.stdout.clone(),
        stderr: spec.stdio.stderr.clone(),
        terminal: spec.terminal,
        no_new_privileges: spec.no_new_privileges,
    })
}

/// wait(2)'s status word (`sys/wait.h`): the low 7 bits are the signal that ended the process
/// (0 when it exited, 0177 when it stopped), the next byte its exit code.
pub(crate) fn exit_status(status: c_int) -> Option<ExitStatus> {
    let low = status & 0o177;
    match low {
        0 => Some(ExitStatus::Exited((status >> 8) & 0xff)),
        0o177 => None,
        sig => Some(ExitStatus::Signaled(Signal(sig))),
    }
}

/// `struct winsize` of `size` (the pixel fields stay zero).
pub(crate) fn window_size(size: WindowSize) -> winsize {
    let mut ws: winsize = zeroed();
    ws.ws_row = size.rows;
    ws.ws_col = size.cols;
    ws
}

/// TIOCSWINSZ with `size` on `fd`.
pub(crate) fn set_window_size<S: Syscalls + ?Sized>(
    sys: &S,
    fd: c_int,
    size: WindowSize,
) -> Result<(), Errno> {
    let mut ws = window_size(size);
    let arg = (&mut ws as *mut winsize).cast::<c_void>();
    // SAFETY: `arg` is a live, writable winsize, the struct TIOCSWINSZ carries; it holds no
    // pointer.
    unsafe { sys.ioctl(fd, TIOCSWINSZ.number(), arg) }.map(drop)
}

/// `ki_stat` as the contract's state: SIDL (being forked) counts as running, SWAIT and SLOCK
/// (an interrupt thread, blocked on a lock) as sleeping.
fn run_state(stat: core::ffi::c_char) -> RunState {
    match stat as u32 {
        SSTOP => RunState::Stopped,
        SZOMB => RunState::Zombie,
        SSLEEP | SWAIT | SLOCK => RunState::Sleeping,
        SRUN | SIDL => RunState::Running,
        _ => RunState::Running,
    }
}

/// The records of sysctl kern.proc.proc (one `kinfo_proc` per process, `ki_structsize` bytes
/// apart: the kernel's own size, KINFO_PROC_SIZE on amd64) whose `ki_jid` is `jid`, in pid
/// order.
fn jail_records(buf: &[u8], jid: c_int) -> Vec<ProcessInfo> {
    let size = core::mem::size_of::<kinfo_proc>();
    let mut found = Vec::new();
    let mut at = 0;
    while let Some(kp) = buf
        .get(at..at + size)
        .and_then(zelle_sys::from_bytes::<kinfo_proc>)
    {
        if kp.ki_jid == jid {
            found.push(ProcessInfo {
                pid: Pid(kp.ki_pid),
                ppid: Pid(kp.ki_ppid),
                state: run_state(kp.ki_stat),
                command: String::from_utf8_lossy(zelle_sys::c_name_bytes(&kp.ki_comm)).into_owned(),
            });
        }
        at += usize::try_from(kp.ki_structsize)
            .ok()
            .filter(|&n| n > 0)
            .unwrap_or(size);
    }
    found.sort_by_key(|p| p.pid);
    found
}

impl<S: Syscalls> FreeBsd<S> {
    /// wait4 for `pid` (-1: any child) as `wait` says, until it reports an end.
    fn wait4_until(&self, op: Op, pid: c_int, wait: Wait) -> KResult<Option<(Pid, ExitStatus)>> {
        loop {
            let answer = match wait {
                Wait::NoHang => self.sys.wait4(pid, WNOHANG),
                Wait::Block => self.sys.wait4(pid, 0),
                Wait::For(timeout) => self.sys.wait4_for(pid, timeout),
            };
            match answer.map_err(|e| fail(op, e))? {
                (0, _) => return Ok(None),
                (got, status) => match exit_status(status) {
                    Some(exit) => return Ok(Some((Pid(got), exit))),
                    // Stopped or continued: not an end (wait4 without WUNTRACED does not
                    // report these; a kernel that did is waited on again when blocking).
                    None if wait == Wait::Block => continue,
                    None => return Ok(None),
                },
            }
        }
    }

    /// Every record of sysctl kern.proc.proc, read whole.
    fn kern_proc(&self) -> Result<Vec<u8>, Errno> {
        let mib = [
            CTL_KERN as c_int,
            KERN_PROC as c_int,
            KERN_PROC_PROC as c_int,
            0,
        ];
        crate::route::sysctl_all(&self.sys, &mib)
    }
}

impl<S: Syscalls> Processes for FreeBsd<S> {
    fn spawn(&self, spec: &ProcessSpec) -> KResult<Spawned> {
        let request = spawn_request(spec)?;
        let child = self
            .sys
            .spawn(&request)
            .map_err(|e| fail(e.step, e.errno))?;
        Ok(Spawned {
            pid: Pid(child.pid),
            terminal: child.terminal,
        })
    }

    fn signal(&self, pid: Pid, signal: Signal) -> KResult<()> {
        self.sys
            .kill(pid.0, signal.0)
            .map_err(|e| fail(Op::Signal, e))
    }

    /// kern.proc, then kill(2) of each live process whose `ki_jid` is `jid` — rather than a
    /// child that jail_attach()es and kill(-1)s (kern_sig.c killpg1: from inside a jail,
    /// kill(-1) reaches every process of that prison but the sender): the listing needs no
    /// fork, gives the count the contract returns, and skips zombies by `ki_stat`. A process
    /// forked after the listing is missed; one gone before its kill (ESRCH) is not counted.
    /// Jail 0 (the host) is refused: it is no jail.
    fn signal_jail(&self, jid: Jid, signal: Signal) -> KResult<usize> {
        let op = Op::SignalJail;
        if jid.0 <= 0 || !(0..=Signal::MAX).contains(&signal.0) {
            return Err(fail(op, Errno::EINVAL));
        }
        let records = self.kern_proc().map_err(|e| fail(op, e))?;
        let mut signalled = 0;
        for process in jail_records(&records, jid.0) {
            if process.state == RunState::Zombie {
                continue;
            }
            match self.sys.kill(process.pid.0, signal.0) {
                Ok(()) => signalled += 1,
                Err(Errno::ESRCH) => {}
                Err(e) => return Err(fail(op, e)),
            }
        }
        Ok(signalled)
    }

    fn wait(&self, pid: Pid, wait: Wait) -> KResult<Option<ExitStatus>> {
        let waited = self.wait4_until(Op::Wait, pid.0, wait)?;
        Ok(waited.map(|(_, status)| status))
    }

    fn wait_any(&self, wait: Wait) -> KResult<Option<(Pid, ExitStatus)>> {
        self.wait4_until(Op::WaitAny, -1, wait)
    }

    fn jail_processes(&self, jid: Jid) -> KResult<Vec<ProcessInfo>> {
        let records = self.kern_proc().map_err(|e| fail(Op::JailProcesses, e))?;
        Ok(jail_records(&records, jid.0))
    }

    fn resize_terminal(&self, master: BorrowedFd<'_>, size: WindowSize) -> KResult<()> {
        set_window_size(&self.sys, master.as_raw_fd(), size)
            .map_err(|e| fail(Op::ResizeTerminal, e))
    }

    fn acquire_reaper(&self) -> KResult<()> {
        let me = self.sys.getpid();
        self.sys
            .procctl(P_PID as c_int, me, PROC_REAP_ACQUIRE as c_int)
            .map_err(|e| fail(Op::AcquireReaper, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syscalls::{MockSyscalls, SpawnError, SpawnedChild};
    use crate::test_support::{backend, read_at};
    use std::time::Duration;
    use zelle_core::kernel::process::{Rlimit, RlimitResource};
    use zelle_core::kernel::{Stdio, StdioFd};

    #[test]
    fn spawn_hands_over_the_whole_spec() {
        let spec = ProcessSpec {
            jail: Some(Jid(4)),
            args: vec!["/bin/sh".into(), "-c".into(), "true".into()],
            env: vec!["PATH=/bin".into()],
            cwd: "/root".into(),
            uid: 1001,
            gid: 1001,
            groups: vec![5],
            umask: Some(0o22),
            rlimits: vec![Rlimit {
                resource: RlimitResource::Nofile,
                soft: 1024,
                hard: 4096,
            }],
            stdio: Stdio {
                stdin: StdioFd::Data(b"{}".to_vec()),
                stdout: StdioFd::Fd(9),
                stderr: StdioFd::Null,
            },
            terminal: Some(WindowSize { rows: 24, cols: 80 }),
            no_new_privileges: true,
        };
        let mut mock = MockSyscalls::new();
        mock.expect_spawn()
            .withf(|r| {
                r.jid == Some(4)
                    && r.argv.len() == 3
                    && r.argv[0].to_bytes() == b"/bin/sh"
                    && r.cwd.to_bytes() == b"/root"
                    && (r.uid, r.gid, r.groups.as_slice()) == (1001, 1001, &[5][..])
                    && r.rlimits == [(8, 1024, 4096)]
                    && r.stdin == StdioFd::Data(b"{}".to_vec())
                    && r.stdout == StdioFd::Fd(9)
                    && r.stderr == StdioFd::Null
                    && r.terminal == Some(WindowSize { rows: 24, cols: 80 })
                    && r.no_new_privileges
            })
            .returning(|_| {
                Ok(SpawnedChild {
                    pid: 1234,
                    terminal: None,
                })
            });
        let spawned = backend(mock).spawn(&spec).unwrap();
        assert_eq!((spawned.pid, spawned.terminal.is_none()), (Pid(1234), true));
    }

    /// A failed step comes back as that step's Op, not as the spawn's.
    #[test]
    fn a_failed_step_is_named() {
        let mut mock = MockSyscalls::new();
        mock.expect_spawn()
            .returning(|_| Err(SpawnError::new(Op::Chdir, Errno::ENOENT)));
        let err = backend(mock)
            .spawn(&ProcessSpec::command(None, &["/bin/true"]))
            .unwrap_err();
        assert_eq!(err, KernelError::errno(Op::Chdir, Errno::ENOENT));
    }

    #[test]
    fn bad_requests_make_no_call() {
        let k = backend(MockSyscalls::new());
        let err = k.spawn(&ProcessSpec::default()).unwrap_err();
        assert_eq!(err, KernelError::errno(Op::Execve, Errno::EINVAL));
        let mut spec = ProcessSpec::command(None, &["/bin/true"]);
        spec.stdio.stderr = StdioFd::Data(b"x".to_vec());
        let err = k.spawn(&spec).unwrap_err();
        assert!(err.is(Op::SetStdio, Errno::EINVAL), "{err}");
        assert!(err.to_string().contains("stderr"), "{err}");
        spec.stdio.stderr = StdioFd::Null;
        spec.cwd = "/a\0b".into();
        assert_eq!(
            k.spawn(&spec).unwrap_err(),
            KernelError::errno(Op::Chdir, Errno::EINVAL)
        );
        for (jid, sig) in [(Jid(0), Signal::SIGTERM), (Jid(3), Signal(129))] {
            let err = k.signal_jail(jid, sig).unwrap_err();
            assert_eq!(err, KernelError::errno(Op::SignalJail, Errno::EINVAL));
        }
    }

    #[test]
    fn wait_reads_the_status_word() {
        let mut mock = MockSyscalls::new();
        mock.expect_wait4()
            .withf(|&pid, &opt| pid == 10 && opt == 0)
            .returning(|_, _| Ok((10, 3 << 8)));
        mock.expect_wait4()
            .withf(|&pid, &opt| pid == 11 && opt == WNOHANG)
            .returning(|_, _| Ok((0, 0)));
        mock.expect_wait4()
            .withf(|&pid, _| pid == 12)
            .returning(|_, _| Ok((12, 9)));
        mock.expect_wait4()
            .withf(|&pid, _| pid == 13)
            .returning(|_, _| Err(Errno::ECHILD));
        mock.expect_wait4()
            .withf(|&pid, &opt| pid == -1 && opt == WNOHANG)
            .returning(|_, _| Ok((14, 2 << 8)));
        mock.expect_wait4_for()
            .withf(|&pid, &timeout| pid == -1 && timeout == Duration::from_millis(20))
            .returning(|_, _| Ok((0, 0)));
        mock.expect_wait4_for()
            .withf(|&pid, &timeout| pid == 15 && timeout == Duration::from_secs(1))
            .returning(|_, _| Ok((15, 15)));
        let k = backend(mock);
        assert_eq!(
            k.wait(Pid(10), Wait::Block).unwrap(),
            Some(ExitStatus::Exited(3))
        );
        assert_eq!(k.wait(Pid(11), Wait::NoHang).unwrap(), None);
        assert_eq!(
            k.wait(Pid(12), Wait::Block).unwrap(),
            Some(ExitStatus::Signaled(Signal::SIGKILL))
        );
        assert_eq!(
            k.wait(Pid(13), Wait::Block).unwrap_err(),
            KernelError::errno(Op::Wait, Errno::ECHILD)
        );
        assert_eq!(
            k.wait_any(Wait::NoHang).unwrap(),
            Some((Pid(14), ExitStatus::Exited(2)))
        );
        assert_eq!(
            k.wait_any(Wait::For(Duration::from_millis(20))).unwrap(),
            None
        );
        assert_eq!(
            k.wait(Pid(15), Wait::For(Duration::from_secs(1))).unwrap(),
            Some(ExitStatus::Signaled(Signal::SIGTERM))
        );
    }

    /// kern.proc records as the kernel lays them out: `ki_structsize` apart, filtered by
    /// `ki_jid`, sorted by pid.
    fn kinfo(pid: i32, ppid: i32, jid: i32, stat: u32, comm: &str) -> Vec<u8> {
        let mut kp: kinfo_proc = zeroed();
        kp.ki_structsize = core::mem::size_of::<kinfo_proc>() as c_int;
        kp.ki_pid = pid;
        kp.ki_ppid = ppid;
        kp.ki_jid = jid;
        kp.ki_stat = stat as core::ffi::c_char;
        for (dst, &src) in kp.ki_comm.iter_mut().zip(comm.as_bytes()) {
            *dst = src as core::ffi::c_char;
        }
        zelle_sys::as_bytes(&kp).to_vec()
    }

    fn expect_kern_proc(mock: &mut MockSyscalls, records: Vec<u8>) {
        let size = records.len();
        mock.expect_sysctl()
            .withf(|mib, old, new| mib == [1, 14, 8, 0] && old.is_empty() && new.is_empty())
            .returning(move |_, _, _| Ok(size));
        mock.expect_sysctl()
            .withf(|mib, old, _| mib == [1, 14, 8, 0] && !old.is_empty())
            .returning(move |_, old, _| {
                old[..records.len()].copy_from_slice(&records);
                Ok(records.len())
            });
    }

    #[test]
    fn jail_processes_read_kinfo_proc() {
        assert_eq!(core::mem::size_of::<kinfo_proc>(), 1088);
        let mut mock = MockSyscalls::new();
        let records = [
            kinfo(1003, 1000, 3, SSTOP, "sleep"),
            kinfo(1, 0, 0, SSLEEP, "init"),
            kinfo(1002, 1, 3, SZOMB, "true"),
            kinfo(1004, 1002, 3, SRUN, "a-very-long-command"),
            kinfo(1005, 1, 4, SSLEEP, "sh"),
        ]
        .concat();
        expect_kern_proc(&mut mock, records);
        let listed = backend(mock).jail_processes(Jid(3)).unwrap();
        let info = |pid, ppid, state, command: &str| ProcessInfo {
            pid: Pid(pid),
            ppid: Pid(ppid),
            state,
            command: command.into(),
        };
        assert_eq!(
            listed,
            vec![
                info(1002, 1, RunState::Zombie, "true"),
                info(1003, 1000, RunState::Stopped, "sleep"),
                info(1004, 1002, RunState::Running, "a-very-long-command"),
            ]
        );
    }

    /// signal_jail: one kill(2) per live process of that jail; a zombie is skipped, one gone
    /// meanwhile (ESRCH) is not counted.
    #[test]
    fn signal_jail_kills_each_live_process() {
        let mut mock = MockSyscalls::new();
        let records = [
            kinfo(1001, 1, 3, SSLEEP, "sleep"),
            kinfo(1002, 1, 3, SZOMB, "true"),
            kinfo(1003, 1, 3, SRUN, "sh"),
            kinfo(1004, 1, 3, SSLEEP, "gone"),
            kinfo(1005, 1, 4, SSLEEP, "other"),
        ]
        .concat();
        expect_kern_proc(&mut mock, records);
        mock.expect_kill()
            .withf(|&pid, &sig| [1001, 1003].contains(&pid) && sig == 15)
            .times(2)
            .returning(|_, _| Ok(()));
        mock.expect_kill()
            .withf(|&pid, _| pid == 1004)
            .returning(|_, _| Err(Errno::ESRCH));
        assert_eq!(
            backend(mock).signal_jail(Jid(3), Signal::SIGTERM).unwrap(),
            2
        );
    }

    /// TIOCSWINSZ: the request number of sys/ttycom.h and a winsize of rows, cols and zeroes.
    #[test]
    fn resize_sends_tiocswinsz_with_a_winsize() {
        use std::os::fd::AsFd;
        let mut mock = MockSyscalls::new();
        mock.expect_ioctl()
            .withf(|&fd, &request, _| fd == 0 && request == 0x8008_7467)
            .returning(|_, _, arg| {
                // SAFETY: the backend passes a winsize (the request's size says so).
                let ws: winsize = unsafe { read_at(arg) };
                assert_eq!(
                    (ws.ws_row, ws.ws_col, ws.ws_xpixel, ws.ws_ypixel),
                    (50, 132, 0, 0)
                );
                Ok(0)
            });
        mock.expect_ioctl()
            .withf(|&fd, _, _| fd == 1)
            .returning(|_, _, _| Err(Errno::ENOTTY));
        let k = backend(mock);
        let size = WindowSize {
            rows: 50,
            cols: 132,
        };
        k.resize_terminal(std::io::stdin().as_fd(), size).unwrap();
        assert_eq!(
            k.resize_terminal(std::io::stdout().as_fd(), size)
                .unwrap_err(),
            KernelError::errno(Op::ResizeTerminal, Errno::ENOTTY)
        );
    }

    #[test]
    fn kill_and_reaper_pass_through() {
        let mut mock = MockSyscalls::new();
        mock.expect_kill()
            .withf(|&pid, &sig| pid == 10 && sig == 15)
            .returning(|_, _| Err(Errno::ESRCH));
        mock.expect_getpid().returning(|| 42);
        mock.expect_procctl()
            .withf(|&idtype, &id, &cmd| idtype == 0 && id == 42 && cmd == 2)
            .returning(|_, _, _| Err(Errno::EBUSY));
        let k = backend(mock);
        assert_eq!(
            k.signal(Pid(10), Signal::SIGTERM).unwrap_err().code(),
            Some(Errno::ESRCH)
        );
        assert_eq!(
            k.acquire_reaper().unwrap_err(),
            KernelError::errno(Op::AcquireReaper, Errno::EBUSY)
        );
    }
}
