//! Processes through the door. Fork and exec leave no bytes to decode: a spawn request is
//! turned back into the contract's process spec and given to the machine's process rules, as
//! kill(2), wait4(2) and procctl(2) are. sysctl kern.proc.proc and TIOCSWINSZ have bytes: the
//! `kinfo_proc` records the door writes, the `winsize` it reads.

use super::SimSyscalls;
use crate::fault::Op;
use core::ffi::{c_int, c_void};
use std::ffi::CString;
use std::os::fd::BorrowedFd;
use std::time::Duration;
use zelle_core::kernel::process::{Rlimit, RlimitResource};
use zelle_core::kernel::{
    Errno, ExitStatus, Jid, Pid, ProcessSpec, Processes, RunState, Signal, Stdio, Wait, WindowSize,
};
use zelle_freebsd::syscalls::consts::WNOHANG;
use zelle_freebsd::{SpawnError, SpawnRequest, SpawnedChild};
use zelle_sys::ioctl::TIOCSWINSZ;
use zelle_sys::{kinfo_proc, zeroed, PROC_REAP_ACQUIRE, P_PID, SRUN, SSLEEP, SSTOP, SZOMB};

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

fn spec_of(req: &SpawnRequest) -> Result<ProcessSpec, SpawnError> {
    let rlimits = req
        .rlimits
        .iter()
        .map(|&(r, soft, hard)| {
            Ok(Rlimit {
                resource: resource(r)?,
                soft,
                hard,
            })
        })
        .collect::<Result<_, Errno>>()
        .map_err(|e| SpawnError::new(Op::SetRlimit, e))?;
    Ok(ProcessSpec {
        jail: req.jid.map(Jid),
        args: req.argv.iter().map(text).collect(),
        env: req.envp.iter().map(text).collect(),
        cwd: text(&req.cwd),
        uid: req.uid,
        gid: req.gid,
        groups: req.groups.clone(),
        umask: req.umask,
        rlimits,
        stdio: Stdio {
            stdin: req.stdin.clone(),
            stdout: req.stdout.clone(),
            stderr: req.stderr.clone(),
        },
        terminal: req.terminal,
        no_new_privileges: req.no_new_privileges,
    })
}

/// The spawn's error as the child would report it: its step and errno (a fault injected on
/// the spawn itself names the spawn).
pub(super) fn spawn(door: &SimSyscalls, req: &SpawnRequest) -> Result<SpawnedChild, SpawnError> {
    let spec = spec_of(req)?;
    match door.kernel.spawn(&spec) {
        Ok(spawned) => Ok(SpawnedChild {
            pid: spawned.pid.0,
            terminal: spawned.terminal,
        }),
        Err(e) => Err(SpawnError::new(
            e.op().unwrap_or(Op::Spawn),
            super::errno_of(e),
        )),
    }
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

/// wait4(2)'s answer for `pid` (-1: any child) under `wait`; other pids ≤ 0 (process groups)
/// are not simulated: ECHILD.
fn wait_as(door: &SimSyscalls, pid: c_int, wait: Wait) -> Result<(c_int, c_int), Errno> {
    let waited = match pid {
        -1 => door.kernel.wait_any(wait),
        pid if pid > 0 => door
            .kernel
            .wait(Pid(pid), wait)
            .map(|status| status.map(|s| (Pid(pid), s))),
        _ => return Err(Errno::ECHILD),
    };
    match waited.map_err(super::errno_of)? {
        Some((pid, status)) => Ok((pid.0, status_word(status))),
        None => Ok((0, 0)),
    }
}

pub(super) fn wait4(
    door: &SimSyscalls,
    pid: c_int,
    options: c_int,
) -> Result<(c_int, c_int), Errno> {
    let wait = if options & WNOHANG == 0 {
        Wait::Block
    } else {
        Wait::NoHang
    };
    wait_as(door, pid, wait)
}

/// The timed wait as one call: the machine moves its simulated clock instead of the real
/// backend's polling.
pub(super) fn wait4_for(
    door: &SimSyscalls,
    pid: c_int,
    timeout: Duration,
) -> Result<(c_int, c_int), Errno> {
    wait_as(door, pid, Wait::For(timeout))
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

/// One `kinfo_proc` record as sysctl_kern_proc fills it (fill_kinfo_proc), for the fields
/// zelle reads: size, pid, parent, jail, state and command; the rest stays zero.
fn record(jid: Jid, info: &zelle_core::kernel::ProcessInfo) -> kinfo_proc {
    let mut kp: kinfo_proc = zeroed();
    kp.ki_structsize = core::mem::size_of::<kinfo_proc>() as c_int;
    kp.ki_pid = info.pid.0;
    kp.ki_ppid = info.ppid.0;
    kp.ki_jid = jid.0;
    kp.ki_stat = match info.state {
        RunState::Running => SRUN,
        RunState::Sleeping => SSLEEP,
        RunState::Stopped => SSTOP,
        RunState::Zombie => SZOMB,
    } as core::ffi::c_char;
    super::set_field(&mut kp.ki_comm, &info.command);
    kp
}

/// sysctl kern.proc.proc: a record for every process. The size query is the traced
/// `kern.proc` call; the read that follows it looks without a trace entry.
pub(super) fn kern_proc(door: &SimSyscalls, old: &mut [u8]) -> Result<usize, Errno> {
    let all = if old.is_empty() {
        door.call(Op::JailProcesses, &"kern.proc.proc", |m| {
            Ok(m.all_processes())
        })?
    } else {
        door.peek(|m| Ok(m.all_processes()))?
    };
    let bytes: Vec<u8> = all
        .iter()
        .flat_map(|(jid, info)| zelle_sys::as_bytes(&record(*jid, info)).to_vec())
        .collect();
    super::host::copy_out_value(&bytes, old)
}

/// TIOCSWINSZ on `fd`: the host's pty the descriptor is, resized through the machine.
///
/// # Safety
/// A non-null `arg` points at a `struct winsize`.
pub(super) unsafe fn tiocswinsz(
    door: &SimSyscalls,
    fd: c_int,
    arg: *mut c_void,
) -> Result<(), Errno> {
    // SAFETY: the caller's promise.
    let ws = unsafe { super::copyin_arg(TIOCSWINSZ, arg) }?;
    if fd < 0 {
        return Err(Errno::EBADF);
    }
    // SAFETY: `fd` is the caller's descriptor (the pty master spawn handed out), open for the
    // call; it is only borrowed.
    let master = unsafe { BorrowedFd::borrow_raw(fd) };
    let size = WindowSize {
        rows: ws.ws_row,
        cols: ws.ws_col,
    };
    door.kernel
        .resize_terminal(master, size)
        .map_err(super::errno_of)
}
