//! Processes: spawn inside a jail (fork, jail_attach(2), set credentials and limits, execve(2)),
//! kill(2), wait4(2), the jail's process list, and procctl(2)'s reaper.

use super::{Jid, KResult};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A process id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Pid(pub i32);

impl fmt::Display for Pid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A signal number, FreeBSD's (`sys/sys/signal.h`): SIGUSR1 is 30 and SIGSTOP 17 there.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Signal(pub i32);

impl Signal {
    pub const SIGHUP: Signal = Signal(1);
    pub const SIGINT: Signal = Signal(2);
    pub const SIGQUIT: Signal = Signal(3);
    pub const SIGKILL: Signal = Signal(9);
    pub const SIGPIPE: Signal = Signal(13);
    pub const SIGTERM: Signal = Signal(15);
    pub const SIGSTOP: Signal = Signal(17);
    pub const SIGCONT: Signal = Signal(19);
    pub const SIGCHLD: Signal = Signal(20);
    pub const SIGWINCH: Signal = Signal(28);
    pub const SIGUSR1: Signal = Signal(30);
    pub const SIGUSR2: Signal = Signal(31);

    /// The highest signal number (`_SIG_MAXSIG` is 128; ordinary signals stop at 32).
    pub const MAX: i32 = 128;
}

impl fmt::Debug for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "signal {}", self.0)
    }
}

/// How a process ended (from wait4(2)'s status).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExitStatus {
    Exited(i32),
    Signaled(Signal),
}

impl ExitStatus {
    /// The code containerd reports: the exit code, or 128 + the signal.
    pub fn code(self) -> u32 {
        match self {
            ExitStatus::Exited(code) => code as u32,
            ExitStatus::Signaled(sig) => 128 + sig.0 as u32,
        }
    }
}

/// `RLIMIT_*` (`sys/sys/resource.h`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RlimitResource {
    Cpu = 0,
    Fsize = 1,
    Data = 2,
    Stack = 3,
    Core = 4,
    Rss = 5,
    Memlock = 6,
    Nproc = 7,
    Nofile = 8,
    Sbsize = 9,
    Vmem = 10,
    Npts = 11,
    Swap = 12,
    Kqueues = 13,
    Umtxp = 14,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rlimit {
    pub resource: RlimitResource,
    pub soft: u64,
    pub hard: u64,
}

/// Where the new process's stdin, stdout and stderr come from: paths (FIFOs from containerd,
/// or files) opened by the child; `None` is /dev/null.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stdio {
    pub stdin: Option<String>,
    pub stdout: Option<String>,
    pub stderr: Option<String>,
}

/// Everything needed to start one process, as an OCI `process` section says it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessSpec {
    /// The jail to attach to before execve; `None` runs on the host.
    pub jail: Option<Jid>,
    pub args: Vec<String>,
    pub env: Vec<String>,
    /// The working directory, inside the jail's root.
    pub cwd: String,
    pub uid: u32,
    pub gid: u32,
    pub groups: Vec<u32>,
    pub umask: Option<u32>,
    pub rlimits: Vec<Rlimit>,
    pub stdio: Stdio,
    /// Give the process a controlling terminal (a pty) instead of `stdio`.
    pub terminal: bool,
}

impl ProcessSpec {
    /// `args` run as root in `jail` (or on the host), from "/", with only PATH set.
    pub fn command(jail: Option<Jid>, args: &[&str]) -> Self {
        ProcessSpec {
            jail,
            args: args.iter().map(|a| a.to_string()).collect(),
            env: vec!["PATH=/bin:/usr/bin".into()],
            cwd: "/".into(),
            ..ProcessSpec::default()
        }
    }
}

pub trait Processes {
    /// fork, jail_attach(2) into `spec.jail`, set credentials, limits, umask, cwd and stdio,
    /// then execve(2). An execve failure (no such file, not executable) is the spawn's error,
    /// and so is a chdir failure: `spec.cwd` is looked up inside the jail's root (ENOENT when
    /// missing there).
    fn spawn(&self, spec: &ProcessSpec) -> KResult<Pid>;
    /// kill(2).
    fn signal(&self, pid: Pid, signal: Signal) -> KResult<()>;
    /// wait4(2) for a child or adopted orphan; with `block` false, `Ok(None)` while it runs.
    fn wait(&self, pid: Pid, block: bool) -> KResult<Option<ExitStatus>>;
    /// The processes inside jail `jid` (sysctl `kern.proc`, filtered by `ki_jid`).
    fn jail_processes(&self, jid: Jid) -> KResult<Vec<Pid>>;
    /// procctl(P_PID, getpid(), PROC_REAP_ACQUIRE): processes forked from now on under us
    /// keep us as their reaper, so their orphans become our children (`wait` reaps them).
    /// Descendants of children spawned before keep the reaper they had.
    fn acquire_reaper(&self) -> KResult<()>;
}
