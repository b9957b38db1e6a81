//! Host-exec processes: real processes on the machine the sim runs on, started the way the
//! real backend starts one in a jail (credentials, limits, umask, root, working directory,
//! stdio), so that a real containerd can run real commands through the shim.
//!
//! What is real and what is not:
//! - A process in a jail is chroot(2)ed into the jail's root, resolved through the simulated
//!   mount table (a nullfs mount at the jail's path means its source, since nothing is really
//!   mounted) — by default only when running as root (`ProcState::host_chroot` decides). Without
//!   a chroot the working directory is joined under the jail's root. Running as root, the
//!   process then gets its groups, gid and uid; otherwise its credentials stay the caller's.
//! - Stdio descriptors are the caller's: the child gets copies of them. Bytes for stdin go
//!   through a pipe a thread feeds, then closes.
//! - `terminal`: a pty pair (openpty) of the spec's size; the child gets the slave as stdin,
//!   stdout, stderr and, through setsid(2) and TIOCSCTTY, as its controlling terminal. The
//!   master goes back to the caller.
//! - `no_new_privileges`: Linux's own, prctl(PR_SET_NO_NEW_PRIVS), where the host is Linux.
//! - Resource limits are mapped to the host's where it has them (RLIMIT_SBSIZE, NPTS, SWAP,
//!   KQUEUES and UMTXP have no Linux counterpart and are skipped).
//! - Signals are translated to the host's numbers (SIGUSR1 is 30 on FreeBSD, 10 on Linux);
//!   SIGEMT, SIGINFO, SIGTHR and SIGLIBRT have no Linux counterpart.

use super::stdio::open_pty;
use crate::fault::Op;
use crate::hostos::host_tiocsctty;
use crate::mount::host_errno;
use std::ffi::CString;
use std::io::{self, Write};
use std::os::fd::{OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use zelle_core::kernel::process::RlimitResource;
use zelle_core::kernel::{Errno, ExitStatus, ProcessSpec, Signal, StdioFd};

#[cfg(all(target_os = "linux", target_env = "gnu"))]
type HostResource = libc::__rlimit_resource_t;
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
type HostResource = libc::c_int;

/// FreeBSD's `RLIM_INFINITY` (`sys/sys/resource.h`).
const FREEBSD_RLIM_INFINITY: u64 = i64::MAX as u64;

fn host_resource(resource: RlimitResource) -> Option<HostResource> {
    Some(match resource {
        RlimitResource::Cpu => libc::RLIMIT_CPU,
        RlimitResource::Fsize => libc::RLIMIT_FSIZE,
        RlimitResource::Data => libc::RLIMIT_DATA,
        RlimitResource::Stack => libc::RLIMIT_STACK,
        RlimitResource::Core => libc::RLIMIT_CORE,
        RlimitResource::Rss => libc::RLIMIT_RSS,
        RlimitResource::Memlock => libc::RLIMIT_MEMLOCK,
        RlimitResource::Nproc => libc::RLIMIT_NPROC,
        RlimitResource::Nofile => libc::RLIMIT_NOFILE,
        RlimitResource::Vmem => libc::RLIMIT_AS,
        _ => return None,
    })
}

fn host_limit(value: u64) -> libc::rlim_t {
    if value >= FREEBSD_RLIM_INFINITY {
        libc::RLIM_INFINITY
    } else {
        value as libc::rlim_t
    }
}

pub(crate) use crate::hostos::{from_host_signal, to_host_signal};

/// How a host process ended, in FreeBSD's terms.
pub(crate) fn exit_status(status: std::process::ExitStatus) -> ExitStatus {
    match (status.code(), status.signal()) {
        (Some(code), _) => ExitStatus::Exited(code),
        (None, Some(sig)) => ExitStatus::Signaled(Signal(from_host_signal(sig))),
        (None, None) => ExitStatus::Exited(0),
    }
}

/// kill(2) of a host process with a FreeBSD signal.
pub(crate) fn kill(host_pid: i32, sig: Signal) -> Result<(), Errno> {
    let host_sig = to_host_signal(sig.0).ok_or(Errno::EINVAL)?;
    if host_pid <= 0 {
        // Never a process group or every process: only the one child recorded.
        return Err(Errno::ESRCH);
    }
    // SAFETY: kill(2) with a positive pid and a valid signal number has no memory effects.
    let rc = unsafe { libc::kill(host_pid, host_sig) };
    match rc {
        0 => Ok(()),
        // Already gone (its exit not yet seen): the machine still has it, as a zombie.
        _ if io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH) => Ok(()),
        _ => Err(host_errno(&io::Error::last_os_error())),
    }
}

fn c_path(path: &Path) -> Result<CString, Errno> {
    CString::new(path.as_os_str().as_bytes()).map_err(|_| Errno::EINVAL)
}

/// A close-on-exec copy of a caller's descriptor, for the child to get as one of its stdio.
fn copy_of(fd: RawFd) -> Result<OwnedFd, Errno> {
    // SAFETY: F_DUPFD_CLOEXEC makes a new descriptor, which we then own.
    let copy = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 3) };
    if copy == -1 {
        return Err(host_errno(&io::Error::last_os_error()));
    }
    // SAFETY: `copy` was just made and is owned by nobody else.
    Ok(unsafe { std::os::fd::FromRawFd::from_raw_fd(copy) })
}

fn stdio_of(stream: &StdioFd) -> Result<Stdio, Errno> {
    Ok(match stream {
        StdioFd::Null => Stdio::null(),
        StdioFd::Fd(fd) => Stdio::from(copy_of(*fd)?),
        StdioFd::Data(_) => Stdio::piped(),
    })
}

/// Start `spec` on the host; the child, and the pty master when it has a terminal.
/// `jail_root` is the host directory of the jail's root (`None` on the host itself); `chroot`
/// says whether to chroot(2) into it (a failing chroot, as when not root, is the spawn's
/// error). An error names the step that failed; what fails in the child is execve's.
pub(crate) fn spawn(
    spec: &ProcessSpec,
    jail_root: Option<&Path>,
    chroot: bool,
) -> Result<(Child, Option<OwnedFd>), (Op, Errno)> {
    let at = |op: Op| move |errno: Errno| (op, errno);
    let as_root = nix::unistd::geteuid().is_root();
    let cwd = if spec.cwd.is_empty() { "/" } else { &spec.cwd };
    let inside = cwd.trim_start_matches('/');
    let (chroot, cwd, seen): (Option<PathBuf>, PathBuf, PathBuf) = match jail_root {
        Some(root) if chroot => (Some(root.into()), cwd.into(), root.join(inside)),
        Some(root) => (None, root.join(inside), root.join(inside)),
        None => (None, cwd.into(), cwd.into()),
    };
    // chdir(2) would fail in the child: fail the same way before starting it.
    let meta = std::fs::metadata(&seen).map_err(|e| (Op::Chdir, host_errno(&e)))?;
    if !meta.is_dir() {
        return Err((Op::Chdir, Errno::ENOTDIR));
    }
    let program = spec.args.first().ok_or((Op::Execve, Errno::EINVAL))?;
    let mut command = Command::new(program);
    command.args(&spec.args[1..]).env_clear();
    for entry in &spec.env {
        if let Some((name, value)) = entry.split_once('=') {
            command.env(name, value);
        }
    }

    let mut master = None;
    if let Some(size) = spec.terminal {
        let (pty_master, slave) = open_pty(size).map_err(|e| {
            let errno = e.code().unwrap_or(Errno::EIO);
            (Op::OpenTerminal, errno)
        })?;
        let copy = || {
            slave
                .try_clone()
                .map(Stdio::from)
                .map_err(|e| (Op::SetStdio, host_errno(&e)))
        };
        command.stdin(copy()?).stdout(copy()?).stderr(copy()?);
        master = Some(pty_master);
    } else {
        let streams = &spec.stdio;
        command
            .stdin(stdio_of(&streams.stdin).map_err(at(Op::SetStdio))?)
            .stdout(stdio_of(&streams.stdout).map_err(at(Op::SetStdio))?)
            .stderr(stdio_of(&streams.stderr).map_err(at(Op::SetStdio))?);
    }

    // Everything the child does between fork and exec, prepared here: only async-signal-safe
    // calls run there.
    let root_c = chroot
        .as_deref()
        .map(c_path)
        .transpose()
        .map_err(at(Op::JailAttach))?;
    let cwd_c = c_path(&cwd).map_err(at(Op::Chdir))?;
    let groups: Vec<libc::gid_t> = spec.groups.clone();
    let (uid, gid, umask) = (spec.uid, spec.gid, spec.umask);
    let (terminal, no_new_privileges) = (spec.terminal.is_some(), spec.no_new_privileges);
    let tiocsctty = host_tiocsctty();
    let limits: Vec<(HostResource, libc::rlimit)> = spec
        .rlimits
        .iter()
        .filter_map(|l| {
            let limit = libc::rlimit {
                rlim_cur: host_limit(l.soft),
                rlim_max: host_limit(l.hard),
            };
            host_resource(l.resource).map(|r| (r, limit))
        })
        .collect();
    let check = |rc: libc::c_int| {
        if rc < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        }
    };
    // SAFETY: the closure runs in the forked child and makes only async-signal-safe libc calls
    // on data prepared before the fork.
    unsafe {
        command.pre_exec(move || {
            if terminal {
                check(libc::setsid() as libc::c_int)?;
                check(libc::ioctl(0, tiocsctty as _, 0))?;
            }
            if let Some(mask) = umask {
                libc::umask(mask as libc::mode_t);
            }
            for (resource, limit) in &limits {
                check(libc::setrlimit(*resource, limit))?;
            }
            if let Some(root) = &root_c {
                check(libc::chroot(root.as_ptr()))?;
            }
            check(libc::chdir(cwd_c.as_ptr()))?;
            if as_root {
                check(libc::setgroups(groups.len() as _, groups.as_ptr()))?;
                check(libc::setgid(gid))?;
                check(libc::setuid(uid))?;
            }
            if no_new_privileges {
                no_new_privs()?;
            }
            Ok(())
        });
    }
    let mut child = command.spawn().map_err(|e| (Op::Execve, host_errno(&e)))?;
    if let (StdioFd::Data(bytes), Some(mut pipe)) = (&spec.stdio.stdin, child.stdin.take()) {
        let bytes = bytes.clone();
        // A thread, so that a child slow to read (or never reading) holds up nobody; dropping
        // the pipe is the end of file. Rust programs ignore SIGPIPE: a child that exits
        // unread makes this write fail, nothing more.
        std::thread::spawn(move || {
            let _ = pipe.write_all(&bytes);
        });
    }
    Ok((child, master))
}

/// prctl(PR_SET_NO_NEW_PRIVS), Linux's counterpart of FreeBSD's PROC_NO_NEW_PRIVS_CTL.
#[cfg(target_os = "linux")]
fn no_new_privs() -> io::Result<()> {
    // SAFETY: prctl with integer arguments only; async-signal-safe.
    match unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } {
        0 => Ok(()),
        _ => Err(io::Error::last_os_error()),
    }
}

/// Hosts other than Linux: nothing the sim can make of it (UNCONFIRMED whether macOS has one).
#[cfg(not(target_os = "linux"))]
fn no_new_privs() -> io::Result<()> {
    Ok(())
}
