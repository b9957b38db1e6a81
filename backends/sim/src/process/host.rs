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
//! - Stdio paths are host paths (containerd's FIFOs) opened here, in the parent, before the
//!   child is started: the child inherits the descriptors. A FIFO nobody reads gives
//!   /dev/null, as a virtual process skips it.
//! - `terminal`: a pty pair (openpty); the child gets the slave as stdin, stdout, stderr and,
//!   through setsid(2) and TIOCSCTTY, as its controlling terminal. A thread copies what the
//!   master reads to the stdout path; another copies the stdin path into the master.
//! - Resource limits are mapped to the host's where it has them (RLIMIT_SBSIZE, NPTS, SWAP,
//!   KQUEUES and UMTXP have no Linux counterpart and are skipped).
//! - Signals are translated to the host's numbers (SIGUSR1 is 30 on FreeBSD, 10 on Linux);
//!   SIGEMT, SIGINFO, SIGTHR and SIGLIBRT have no Linux counterpart.

use super::open_output;
use crate::mount::host_errno;
use std::ffi::CString;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use zelle_core::kernel::process::RlimitResource;
use zelle_core::kernel::{Errno, ExitStatus, ProcessSpec, Signal};

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

/// Clear O_NONBLOCK (set only so that opening a FIFO cannot hang): the child gets an ordinary
/// blocking descriptor.
fn make_blocking(file: &File) -> Result<(), Errno> {
    let fd = file.as_raw_fd();
    // SAFETY: fcntl on a descriptor we own.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 || unsafe { libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK) } < 0 {
        return Err(host_errno(&io::Error::last_os_error()));
    }
    Ok(())
}

fn open_input(path: &str) -> Result<File, Errno> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| host_errno(&e))?;
    make_blocking(&file)?;
    Ok(file)
}

fn output(path: &Option<String>) -> Result<Stdio, Errno> {
    match path {
        None => Ok(Stdio::null()),
        Some(path) => match open_output(path)? {
            Some(file) => {
                make_blocking(&file)?;
                Ok(Stdio::from(file))
            }
            None => Ok(Stdio::null()),
        },
    }
}

fn set_cloexec(fd: &OwnedFd) {
    // SAFETY: fcntl on a descriptor we own.
    unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC) };
}

/// Start `spec` on the host. `jail_root` is the host directory of the jail's root (`None` on
/// the host itself); `chroot` says whether to chroot(2) into it (a failing chroot, as when not
/// root, is the spawn's error).
pub(crate) fn spawn(
    spec: &ProcessSpec,
    jail_root: Option<&Path>,
    chroot: bool,
) -> Result<Child, Errno> {
    let as_root = nix::unistd::geteuid().is_root();
    let cwd = if spec.cwd.is_empty() { "/" } else { &spec.cwd };
    let inside = cwd.trim_start_matches('/');
    let (chroot, cwd, seen): (Option<PathBuf>, PathBuf, PathBuf) = match jail_root {
        Some(root) if chroot => (Some(root.into()), cwd.into(), root.join(inside)),
        Some(root) => (None, root.join(inside), root.join(inside)),
        None => (None, cwd.into(), cwd.into()),
    };
    // chdir(2) would fail in the child: fail the same way before starting it.
    let meta = std::fs::metadata(&seen).map_err(|e| host_errno(&e))?;
    if !meta.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    let program = spec.args.first().ok_or(Errno::EINVAL)?;
    let mut command = Command::new(program);
    command.args(&spec.args[1..]).env_clear();
    for entry in &spec.env {
        if let Some((name, value)) = entry.split_once('=') {
            command.env(name, value);
        }
    }

    let mut master = None;
    if spec.terminal {
        let pty = nix::pty::openpty(None, None)
            .map_err(|e| host_errno(&io::Error::from_raw_os_error(e as i32)))?;
        set_cloexec(&pty.master);
        set_cloexec(&pty.slave);
        let slave = |fd: &OwnedFd| fd.try_clone().map(Stdio::from).map_err(|e| host_errno(&e));
        command
            .stdin(slave(&pty.slave)?)
            .stdout(slave(&pty.slave)?)
            .stderr(slave(&pty.slave)?);
        master = Some(pty.master);
    } else {
        let stdin = match &spec.stdio.stdin {
            Some(path) => Stdio::from(open_input(path)?),
            None => Stdio::null(),
        };
        command
            .stdin(stdin)
            .stdout(output(&spec.stdio.stdout)?)
            .stderr(output(&spec.stdio.stderr)?);
    }

    // Everything the child does between fork and exec, prepared here: only async-signal-safe
    // calls run there.
    let root_c = chroot.as_deref().map(c_path).transpose()?;
    let cwd_c = c_path(&cwd)?;
    let groups: Vec<libc::gid_t> = spec.groups.clone();
    let (uid, gid, umask, terminal) = (spec.uid, spec.gid, spec.umask, spec.terminal);
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
                check(libc::ioctl(0, libc::TIOCSCTTY, 0))?;
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
            Ok(())
        });
    }
    let child = command.spawn().map_err(|e| host_errno(&e))?;
    if let Some(master) = master {
        copy_terminal(master, &spec.stdio);
    }
    Ok(child)
}

/// The threads that carry a pty's traffic: master → stdout path (drained even without one, so
/// the child never blocks on a full pty), stdin path → master.
fn copy_terminal(master: OwnedFd, stdio: &zelle_core::kernel::Stdio) {
    let Ok(reader) = master.try_clone() else {
        return;
    };
    let stdout = stdio.stdout.clone();
    std::thread::spawn(move || {
        let mut reader = File::from(reader);
        let sink: Box<dyn io::Write> = match stdout.as_deref().map(open_output) {
            Some(Ok(Some(file))) if make_blocking(&file).is_ok() => Box::new(file),
            _ => Box::new(io::sink()),
        };
        let mut sink = sink;
        // Ends with EIO once the child side is closed.
        let _ = io::copy(&mut reader, &mut sink);
    });
    if let Some(stdin) = stdio.stdin.clone() {
        std::thread::spawn(move || {
            let mut writer = File::from(master);
            if let Ok(mut input) = open_input(&stdin) {
                let _ = io::copy(&mut input, &mut writer);
            }
        });
    }
}
