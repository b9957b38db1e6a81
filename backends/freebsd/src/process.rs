//! Processes: spawn into a jail (fork, jail_attach(2), credentials, limits, execve(2)), kill(2),
//! wait4(2), the jail's processes (sysctl `kern.proc`), and procctl(2)'s reaper.

use crate::syscalls::consts::WNOHANG;
use crate::{fail, FreeBsd, SpawnRequest, Syscalls};
use core::ffi::c_int;
use std::ffi::CString;
use zelle_core::kernel::Op;
use zelle_core::kernel::{Errno, ExitStatus, Jid, KResult, Pid, ProcessSpec, Processes, Signal};
use zelle_sys::{PROC_REAP_ACQUIRE, P_PID};

fn cstring(text: &str) -> Result<CString, Errno> {
    CString::new(text).map_err(|_| Errno::EINVAL)
}

fn spawn_request(spec: &ProcessSpec) -> Result<SpawnRequest, Errno> {
    // Nothing to execute (execve(2) of FreeBSD 14 refuses an empty argv with EINVAL too).
    if spec.args.is_empty() {
        return Err(Errno::EINVAL);
    }
    let strings = |list: &[String]| {
        list.iter()
            .map(|s| cstring(s))
            .collect::<Result<Vec<_>, _>>()
    };
    let path = |p: &Option<String>| p.as_deref().map(cstring).transpose();
    Ok(SpawnRequest {
        jid: spec.jail.map(|j| j.0),
        argv: strings(&spec.args)?,
        envp: strings(&spec.env)?,
        cwd: cstring(if spec.cwd.is_empty() { "/" } else { &spec.cwd })?,
        uid: spec.uid,
        gid: spec.gid,
        groups: spec.groups.clone(),
        umask: spec.umask,
        rlimits: spec
            .rlimits
            .iter()
            .map(|r| (r.resource as c_int, r.soft, r.hard))
            .collect(),
        stdin: path(&spec.stdio.stdin)?,
        stdout: path(&spec.stdio.stdout)?,
        stderr: path(&spec.stdio.stderr)?,
        terminal: spec.terminal,
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

impl<S: Syscalls> Processes for FreeBsd<S> {
    fn spawn(&self, spec: &ProcessSpec) -> KResult<Pid> {
        let op = Op::Spawn;
        let request = spawn_request(spec).map_err(|e| fail(op, e))?;
        self.sys.spawn(&request).map(Pid).map_err(|e| fail(op, e))
    }

    fn signal(&self, pid: Pid, signal: Signal) -> KResult<()> {
        self.sys
            .kill(pid.0, signal.0)
            .map_err(|e| fail(Op::Signal, e))
    }

    fn wait(&self, pid: Pid, block: bool) -> KResult<Option<ExitStatus>> {
        let options = if block { 0 } else { WNOHANG };
        loop {
            let (got, status) = self
                .sys
                .wait4(pid.0, options)
                .map_err(|e| fail(Op::Wait, e))?;
            if got == 0 {
                return Ok(None);
            }
            match exit_status(status) {
                Some(exit) => return Ok(Some(exit)),
                // Stopped or continued: not an end (wait4 without WUNTRACED does not report
                // these; a kernel that did is waited on again).
                None if block => continue,
                None => return Ok(None),
            }
        }
    }

    fn jail_processes(&self, jid: Jid) -> KResult<Vec<Pid>> {
        let pids = self
            .sys
            .jail_pids(jid.0)
            .map_err(|e| fail(Op::JailProcesses, e))?;
        Ok(pids.into_iter().map(Pid).collect())
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
    use crate::syscalls::MockSyscalls;
    use crate::test_support::backend;
    use zelle_core::kernel::process::{Rlimit, RlimitResource};
    use zelle_core::kernel::{KernelError, Stdio};

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
                stdin: None,
                stdout: Some("/run/out".into()),
                stderr: None,
            },
            terminal: false,
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
                    && r.stdout.as_deref().map(|s| s.to_bytes()) == Some(&b"/run/out"[..])
                    && r.stdin.is_none()
            })
            .returning(|_| Ok(1234));
        assert_eq!(backend(mock).spawn(&spec).unwrap(), Pid(1234));
    }

    #[test]
    fn an_empty_argv_makes_no_call() {
        let err = backend(MockSyscalls::new())
            .spawn(&ProcessSpec::default())
            .unwrap_err();
        assert_eq!(err, KernelError::errno(Op::Spawn, Errno::EINVAL));
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
        let k = backend(mock);
        assert_eq!(k.wait(Pid(10), true).unwrap(), Some(ExitStatus::Exited(3)));
        assert_eq!(k.wait(Pid(11), false).unwrap(), None);
        assert_eq!(
            k.wait(Pid(12), true).unwrap(),
            Some(ExitStatus::Signaled(Signal::SIGKILL))
        );
        assert_eq!(
            k.wait(Pid(13), true).unwrap_err(),
            KernelError::errno(Op::Wait, Errno::ECHILD)
        );
    }

    #[test]
    fn kill_reaper_and_listing_pass_through() {
        let mut mock = MockSyscalls::new();
        mock.expect_kill()
            .withf(|&pid, &sig| pid == 10 && sig == 15)
            .returning(|_, _| Err(Errno::ESRCH));
        mock.expect_getpid().returning(|| 42);
        mock.expect_procctl()
            .withf(|&idtype, &id, &cmd| idtype == 0 && id == 42 && cmd == 2)
            .returning(|_, _, _| Err(Errno::EBUSY));
        mock.expect_jail_pids()
            .withf(|&jid| jid == 3)
            .returning(|_| Ok(vec![1001, 1002]));
        let k = backend(mock);
        assert_eq!(
            k.signal(Pid(10), Signal::SIGTERM).unwrap_err().code(),
            Some(Errno::ESRCH)
        );
        assert_eq!(
            k.acquire_reaper().unwrap_err(),
            KernelError::errno(Op::AcquireReaper, Errno::EBUSY)
        );
        assert_eq!(
            k.jail_processes(Jid(3)).unwrap(),
            vec![Pid(1001), Pid(1002)]
        );
    }
}
