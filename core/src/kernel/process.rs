//! Processes: spawn inside a jail (fork, jail_attach(2), set credentials and limits, a pty,
//! execve(2)), kill(2) of one process or a whole jail, wait4(2) for one child or any, the
//! jail's process list (sysctl kern.proc), a pty's window size, and procctl(2)'s reaper.

use super::{Jid, KResult};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::os::fd::{BorrowedFd, OwnedFd, RawFd};
use std::time::Duration;

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

/// One stdio stream of a new process.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum StdioFd {
    /// /dev/null.
    #[default]
    Null,
    /// A descriptor the caller owns (a FIFO from containerd, a pipe, a file): the child gets a
    /// dup2(2) copy; the caller keeps its own and closes it when it likes.
    Fd(RawFd),
    /// stdin only: these bytes, fed through a pipe by the backend, then end of file (hooks read
    /// the container's state JSON so).
    Data(Vec<u8>),
}

/// The new process's stdin, stdout and stderr; by default all /dev/null. With a terminal
/// (`ProcessSpec::terminal`) the pty's slave replaces all three.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stdio {
    pub stdin: StdioFd,
    pub stdout: StdioFd,
    pub stderr: StdioFd,
}

impl Stdio {
    /// The streams by name, in descriptor order.
    pub fn named(&self) -> [(&'static str, &StdioFd); 3] {
        [
            ("stdin", &self.stdin),
            ("stdout", &self.stdout),
            ("stderr", &self.stderr),
        ]
    }

    /// The first output stream given `Data`, which only stdin can take: its name.
    pub fn misplaced_data(&self) -> Option<&'static str> {
        self.named()
            .into_iter()
            .skip(1)
            .find(|(_, stream)| matches!(stream, StdioFd::Data(_)))
            .map(|(name, _)| name)
    }
}

/// A terminal's size in characters (`struct winsize` of sys/ttycom.h; the pixel fields are 0).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowSize {
    pub rows: u16,
    pub cols: u16,
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
    /// Descriptors are this process's own, meaningless in another: never serialized.
    #[serde(skip)]
    pub stdio: Stdio,
    /// Give the process a new pty of this size as its controlling terminal and stdio (instead
    /// of `stdio`); `spawn` hands back the master.
    pub terminal: Option<WindowSize>,
    /// procctl(P_PID, 0, PROC_NO_NEW_PRIVS_CTL, ENABLE) before execve(2): set-id bits no longer
    /// raise privileges (FreeBSD 14.0 and later; EINVAL before).
    pub no_new_privileges: bool,
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

/// A process `spawn` started.
#[derive(Debug)]
pub struct Spawned {
    pub pid: Pid,
    /// The pty's master when `ProcessSpec::terminal` asked for one: read it for the process's
    /// output, write it for its input.
    pub terminal: Option<OwnedFd>,
}

/// How long `wait` and `wait_any` wait for an exit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wait {
    /// WNOHANG: `None` at once when nothing has exited.
    NoHang,
    /// Until something exits.
    Block,
    /// At most this long, then `None`. (The simulated machine advances its simulated clock
    /// instead of sleeping when only simulated time can end the wait.)
    For(Duration),
}

/// `ki_stat` of a process (`p_stat`, sys/proc.h: SRUN, SSLEEP, SSTOP, SZOMB). SIDL, SWAIT and
/// SLOCK are reported as `Running`, `Sleeping` and `Sleeping`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RunState {
    Running,
    Sleeping,
    Stopped,
    Zombie,
}

/// One process of a jail, as sysctl `kern.proc` reports it (`struct kinfo_proc`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessInfo {
    /// `ki_pid`.
    pub pid: Pid,
    /// `ki_ppid`: the parent, or the reaper that adopted it.
    pub ppid: Pid,
    /// `ki_stat`.
    pub state: RunState,
    /// `ki_comm`: the executable's name, at most 19 bytes (COMMLEN).
    pub command: String,
}

pub trait Processes {
    /// fork, then in the child: jail_attach(2) into `spec.jail`, credentials, limits, umask,
    /// the working directory, stdio (or a new pty as controlling terminal), no-new-privileges,
    /// then execve(2). A failure of any step is the spawn's error and names that step's `Op`
    /// (`JailAttach`, `SetCredentials`, `Chdir` — `spec.cwd` is looked up inside the jail's root,
    /// ENOENT when missing there —, `NoNewPrivs`, `Execve`, ...); nothing is left running.
    fn spawn(&self, spec: &ProcessSpec) -> KResult<Spawned>;
    /// kill(2).
    fn signal(&self, pid: Pid, signal: Signal) -> KResult<()>;
    /// `signal` to every live process of jail `jid` (zombies are skipped); how many were
    /// signalled. A jail without processes (or no such jail) is `Ok(0)`.
    fn signal_jail(&self, jid: Jid, signal: Signal) -> KResult<usize>;
    /// wait4(2) for one child or adopted orphan; `None` while it runs on (`NoHang`, or `For`
    /// once the time is up).
    fn wait(&self, pid: Pid, wait: Wait) -> KResult<Option<ExitStatus>>;
    /// wait4(-1): the next exit of any child of the caller, adopted orphans included — the one
    /// reaper's stream. ECHILD when the caller has no child at all.
    fn wait_any(&self, wait: Wait) -> KResult<Option<(Pid, ExitStatus)>>;
    /// The processes inside jail `jid` (sysctl `kern.proc`, filtered by `ki_jid`), zombies
    /// included, in pid order.
    fn jail_processes(&self, jid: Jid) -> KResult<Vec<ProcessInfo>>;
    /// TIOCSWINSZ on a pty master `spawn` returned (the process gets SIGWINCH).
    fn resize_terminal(&self, master: BorrowedFd<'_>, size: WindowSize) -> KResult<()>;
    /// procctl(P_PID, getpid(), PROC_REAP_ACQUIRE): processes forked from now on under us
    /// keep us as their reaper, so their orphans become our children (`wait` reaps them).
    /// Descendants of children spawned before keep the reaper they had.
    fn acquire_reaper(&self) -> KResult<()>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_stdin_takes_data() {
        let mut stdio = Stdio {
            stdin: StdioFd::Data(b"{}".to_vec()),
            ..Stdio::default()
        };
        assert_eq!(stdio.misplaced_data(), None);
        stdio.stderr = StdioFd::Data(Vec::new());
        assert_eq!(stdio.misplaced_data(), Some("stderr"));
        stdio.stdout = StdioFd::Data(Vec::new());
        assert_eq!(stdio.misplaced_data(), Some("stdout"));
    }
}
