//! Processes through the door. Fork and exec leave no bytes to decode: a spawn request is
//! turned back into the contract's process spec and given to the machine's process rules, as
//! kill(2), wait4(2), procctl(2) and the `kern.proc` listing are.

use super::SimSyscalls;
use core::ffi::c_int;
use std::ffi::CString;
use zelle_core::kernel::process::{Rlimit, RlimitResource};
use zelle_core::kernel::{Errno, ExitStatus, Jid, Pid, ProcessSpec, Processes, Signal, Stdio};
use zelle_freebsd::syscalls::consts::WNOHANG;
use zelle_freebsd::SpawnRequest;
use zelle_sys::{PROC_REAP_ACQUIRE, P_PID};

fn text(s: &CString) -> String {
    s.to_string_lossy().into_owned()
}

/// `RLIMIT_*` by number (`sys/sys/resource.h`); an unknown one is EINVAL, as setrlimit(2) has it.
fn resource(n: c_int) -> Result<RlimitResource, Errno> {
    use RlimitResource::*;
    const ALL: [RlimitResource; 15] = [
        Cpu, Fsize, Data, Stack, Core, Rss, Memlock, Nproc, Nofile, Sbsize, Vmem, Npts, Swap,
        Kqueues, Umtxp,
    ];
    usize::try_from(n)
        .ok()
        .and_then(|i| ALL.get(i).copied())
        .ok_or(Errno::EINVAL)
}

fn spec_of(req: &SpawnRequest) -> Result<ProcessSpec, Errno> {
    Ok(ProcessSpec {
        jail: req.jid.map(Jid),
        args: req.argv.iter().map(text).collect(),
        env: req.envp.iter().map(text).collect(),
        cwd: text(&req.cwd),
        uid: req.uid,
        gid: req.gid,
        groups: req.groups.clone(),
        umask: req.umask,
        rlimits: req
            .rlimits
            .iter()
            .map(|&(r, soft, hard)| {
                Ok(Rlimit {
                    resource: resource(r)?,
                    soft,
                    hard,
                })
            })
            .collect::<Result<_, Errno>>()?,
        stdio: Stdio {
            stdin: req.stdin.as_ref().map(text),
            stdout: req.stdout.as_ref().map(text),
            stderr: req.stderr.as_ref().map(text),
        },
        terminal: req.terminal,
    })
}

pub(super) fn spawn(door: &SimSyscalls, req: &SpawnRequest) -> Result<c_int, Errno> {
    let spec = spec_of(req)?;
    door.kernel
        .spawn(&spec)
        .map(|p| p.0)
        .map_err(super::errno_of)
}

pub(super) fn kill(door: &SimSyscalls, pid: c_int, signal: c_int) -> Result<(), Errno> {
    door.kernel
        .signal(Pid(pid), Signal(signal))
        .map_err(super::errno_of)
}

/// wait(2)'s status word (`sys/wait.h`): the exit code in the second byte, or the signal in
/// the low seven bits.
fn status_word(status: ExitStatus) -> c_int {
    match status {
        ExitStatus::Exited(code) => (code & 0xff) << 8,
        ExitStatus::Signaled(sig) => sig.0 & 0o177,
    }
}

pub(super) fn wait4(
    door: &SimSyscalls,
    pid: c_int,
    options: c_int,
) -> Result<(c_int, c_int), Errno> {
    let block = options & WNOHANG == 0;
    match door.kernel.wait(Pid(pid), block).map_err(super::errno_of)? {
        Some(status) => Ok((pid, status_word(status))),
        None => Ok((0, 0)),
    }
}

/// procctl(2): only PROC_REAP_ACQUIRE for the caller itself is modelled; for another process
/// it is EPERM (`reap_acquire`), anything else the door does not model.
pub(super) fn procctl(
    door: &SimSyscalls,
    idtype: c_int,
    id: c_int,
    cmd: c_int,
) -> Result<(), Errno> {
    if idtype != P_PID as c_int || cmd != PROC_REAP_ACQUIRE as c_int {
        return Err(Errno::EOPNOTSUPP);
    }
    if id != std::process::id() as c_int {
        return Err(Errno::EPERM);
    }
    door.kernel.acquire_reaper().map_err(super::errno_of)
}

pub(super) fn jail_pids(door: &SimSyscalls, jid: c_int) -> Result<Vec<c_int>, Errno> {
    let pids = door
        .kernel
        .jail_processes(Jid(jid))
        .map_err(super::errno_of)?;
    Ok(pids.into_iter().map(|p| p.0).collect())
}
