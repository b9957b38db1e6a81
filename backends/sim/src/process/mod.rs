//! Processes: spawn into a jail, kill(2) of one process or a jail's, wait4(2) for one child or
//! any, a jail's process list, ptys, procctl(2)'s reaper and no-new-privileges.
//! FACTS-kernel-errno.md §8, FACTS-kernel-runtime.md §3 and §5; the contract is
//! `zelle_core::kernel::process`.
//!
//! Two kinds of process:
//! - virtual (the default): a program from `ProcState::programs`, looked up by its path as
//!   seen inside the jail, whose exit code, output, run time (simulated) and ignored signals
//!   are scripted (`programs` has the table every machine starts with);
//! - host-exec (`ProcState::host_exec`): a real process on the host (see `host`).
//!
//! Stdio is the caller's descriptors (`stdio`): a virtual process writes its scripted output to
//! them at spawn, a host process gets dup2 copies. A terminal is a real host pty: a virtual
//! process writes its output to the slave (then closes it), a host process gets the slave as
//! its controlling terminal; either way the caller reads the master.
//!
//! Either way the process is recorded in the machine with a pid of the sim's own, and it is a
//! child of the OS process that spawned it: only that one can wait for it (wait4 on another's
//! child is ECHILD). A virtual process may fork children of its own (`Script::forks`). Each
//! process's reaper is fixed when it is forked: the forking OS process if that one had made
//! itself a reaper (PROC_REAP_ACQUIRE), else its parent's reaper; a virtual process's children
//! are re-parented to their reaper when it exits, and init(8) reaps at once what it gets
//! (kern_fork.c do_fork, kern_exit.c exit1, kern_procctl.c reap_acquire;
//! FACTS-kernel-runtime.md §3, FACTS-kernel-errno.md §8 and §10).

mod host;
mod programs;
mod stdio;
mod wait;

use wait::Waited;

use programs::find_command;
pub use programs::{default_programs, Program, Script};

use crate::fault::Op;
use crate::kernel::SimKernel;
use crate::machine::Machine;
use crate::mount::MAXPATHLEN;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::os::fd::{AsRawFd, BorrowedFd, RawFd};
use std::path::{Component, Path, PathBuf};
use std::process::Child;
use std::sync::Mutex;
use std::time::Duration;
use zelle_core::kernel::process::ExitStatus;
use zelle_core::kernel::{
    Errno, Jid, KResult, KernelError, Pid, ProcessInfo, ProcessSpec, Processes, Release, Signal,
    Spawned, StdioFd, Wait, WindowSize,
};

/// The first pid a machine hands out, and where allocation wraps to after `PID_MAX`
/// (`sys/sys/proc.h`; FreeBSD allocates sequentially unless kern.randompid is set).
const FIRST_PID: i32 = 1000;
const PID_MAX: i32 = 99_999;
const PID_WRAP: i32 = 100;

/// `MAXCOMLEN` (sys/sys/param.h): how much of the executable's name `p_comm` keeps.
const MAXCOMLEN: usize = 19;

/// How often a blocking wait looks again for a process that only a signal will end.
const WAIT_POLL: Duration = Duration::from_millis(5);

/// Signals whose default action is to discard them (signal(3): SIGURG, SIGCONT, SIGCHLD,
/// SIGIO, SIGWINCH, SIGINFO).
const DEFAULT_IGNORED: &[i32] = &[16, 19, 20, 23, 28, 29];
/// Stop signals (SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU).
const STOP_SIGNALS: &[i32] = &[17, 18, 21, 22];

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProcKind {
    Virtual {
        exit_code: i32,
        ignores: Vec<Signal>,
    },
    Host {
        host_pid: i32,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RunState {
    /// `exit_at_ms`: when a virtual process ends by itself; `None` runs until signalled (and
    /// for host processes: until the host says it ended).
    Running { exit_at_ms: Option<u64> },
    /// Stopped by a stop signal: its remaining run time, and a fatal signal that arrived while
    /// stopped (it acts on SIGCONT).
    Stopped {
        remaining_ms: Option<u64>,
        pending: Option<Signal>,
    },
    /// A zombie: exited, not yet reaped. It still holds its jail's record.
    Exited(ExitStatus),
}

/// What a process's parent, or its reaper, is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Parent {
    /// An OS process driving the machine (`std::process::id`): the shim, a test.
    Caller(u32),
    /// A simulated process.
    Process(Pid),
    /// init(8): what it gets it reaps at once. Also the reaper of a process no reaper owns.
    Init,
}

/// How deep virtual processes may fork children that fork again.
const MAX_FORK_DEPTH: u8 = 8;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proc {
    /// The jail it runs in; 0 is the host.
    pub jail: Jid,
    pub args: Vec<String>,
    /// Who can wait for it: the OS process that spawned it, the virtual process that forked
    /// it, or after that one's exit its reaper.
    pub parent: Parent,
    /// `p_reaper`, fixed at fork: where it goes when its parent exits.
    pub reaper: Parent,
    pub started_ms: u64,
    pub kind: ProcKind,
    pub state: RunState,
    /// `p_comm`: the executable's name, at most MAXCOMLEN bytes (kern_exec.c do_execve).
    #[serde(default)]
    pub command: String,
}

impl Proc {
    pub fn is_live(&self) -> bool {
        !matches!(self.state, RunState::Exited(_))
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcState {
    /// Virtual programs by path.
    pub programs: BTreeMap<String, Program>,
    pub procs: BTreeMap<Pid, Proc>,
    pub last_pid: i32,
    /// Spawn real processes on the host instead of virtual ones.
    pub host_exec: bool,
    /// Host-exec: chroot(2) a jailed process into its jail's root (which needs root), or join
    /// its working directory under that root instead. `None`: chroot when running as root.
    #[serde(default)]
    pub host_chroot: Option<bool>,
    /// OS processes that made themselves reapers (procctl PROC_REAP_ACQUIRE).
    pub reapers: BTreeSet<u32>,
}

impl Default for ProcState {
    fn default() -> Self {
        ProcState {
            programs: default_programs(),
            procs: BTreeMap::new(),
            last_pid: FIRST_PID - 1,
            host_exec: false,
            host_chroot: None,
            reapers: BTreeSet::new(),
        }
    }
}

/// Host processes this OS process spawned (host-exec mode): their `Child` handles, which only
/// this process can wait for.
#[derive(Default)]
pub struct LocalProcesses {
    children: Mutex<BTreeMap<Pid, Child>>,
}

impl LocalProcesses {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<Pid, Child>> {
        self.children.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Where a virtual process's output goes: the caller's descriptors, or a pty's slave for both.
#[derive(Clone, Copy)]
struct Outputs {
    stdout: Option<RawFd>,
    stderr: Option<RawFd>,
}

impl Outputs {
    fn of(spec: &ProcessSpec, slave: Option<RawFd>) -> Self {
        match slave {
            Some(tty) => Outputs {
                stdout: Some(tty),
                stderr: Some(tty),
            },
            None => Outputs {
                stdout: stdio::output_fd(&spec.stdio.stdout),
                stderr: stdio::output_fd(&spec.stdio.stderr),
            },
        }
    }

    /// The script's output, written at once.
    fn write(self, script: &Script) {
        for (fd, text) in [(self.stdout, &script.stdout), (self.stderr, &script.stderr)] {
            if let Some(fd) = fd {
                stdio::write_fd(fd, text.as_bytes());
            }
        }
    }
}

/// Whom a new process belongs to: its parent, and its reaper (fixed at fork).
#[derive(Clone, Copy)]
struct Lineage {
    parent: Parent,
    reaper: Parent,
}

/// `p_comm` of an executable path: its last component, cut to MAXCOMLEN bytes.
fn command_name(path: &str) -> String {
    let name = path.rsplit('/').next().unwrap_or(path);
    let mut end = name.len().min(MAXCOMLEN);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    name[..end].to_string()
}

fn exit_code(code: i32) -> ExitStatus {
    ExitStatus::Exited(code & 0xff)
}

impl Machine {
    /// The next free pid, counting on from the last; `None` when all are taken (fork: EAGAIN).
    fn next_pid(&self) -> Option<Pid> {
        let mut pid = self.procs.last_pid;
        for _ in PID_WRAP..=PID_MAX {
            pid = if pid >= PID_MAX { PID_WRAP } else { pid + 1 };
            if !self.procs.procs.contains_key(&Pid(pid)) {
                return Some(Pid(pid));
            }
        }
        None
    }

    /// Checks every spawn makes: argv, stdio (dup2), the jail (jail_attach), a pid (fork).
    fn spawn_checks(&self, spec: &ProcessSpec) -> KResult<Pid> {
        // execve(2) with an empty argv: EINVAL since 14.0 (kern_exec.c, exec_copyin_args
        // refuses argc == 0; UNCONFIRMED, not read here).
        if spec.args.is_empty() {
            return Err(KernelError::errno(Op::Execve, Errno::EINVAL));
        }
        stdio::check_stdio(spec)?;
        // jail_attach(2): EINVAL for an unknown or dying jail, and for jid 0 (prison0 is no
        // child of the caller's prison).
        if let Some(jid) = spec.jail {
            if jid == Jid(0) || !self.jail_alive(jid) {
                return Err(KernelError::errno(Op::JailAttach, Errno::EINVAL));
            }
        }
        self.next_pid()
            .ok_or_else(|| KernelError::errno(Op::Fork, Errno::EAGAIN))
    }

    /// chdir(2) to the spec's working directory, as the child does after jail_attach(2) made
    /// the jail's root its root and working directory (do_jail_attach): a relative cwd starts
    /// at the jail's root and `..` stops there; on the host a relative cwd is the caller's,
    /// which the child inherits. Missing is ENOENT, not a directory ENOTDIR
    /// (FACTS-kernel-errno.md §10). A symbolic link on the way is followed as the host
    /// follows it, an absolute one from the host's root (not modelled: the jail's root).
    fn chdir_rule(&self, spec: &ProcessSpec) -> Result<(), Errno> {
        let cwd = if spec.cwd.is_empty() { "/" } else { &spec.cwd };
        if cwd.contains('\0') {
            return Err(Errno::EINVAL);
        }
        if cwd.len() + 1 > MAXPATHLEN {
            return Err(Errno::ENAMETOOLONG);
        }
        let path = match spec.jail.and_then(|jid| self.jails.jails.get(&jid)) {
            Some(jail) => {
                let mut inside = PathBuf::new();
                for component in Path::new(cwd).components() {
                    match component {
                        Component::ParentDir => {
                            inside.pop();
                        }
                        Component::Normal(part) => inside.push(part),
                        _ => {}
                    }
                }
                Path::new(&jail.path)
                    .join(inside)
                    .to_string_lossy()
                    .into_owned()
            }
            None => cwd.to_string(),
        };
        let found = self.namei(&path)?;
        if !found.meta.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        Ok(())
    }

    /// procctl(P_PID, 0, PROC_NO_NEW_PRIVS_CTL, PROC_NO_NEW_PRIVS_ENABLE) in the child when the
    /// spec asks: EINVAL before 14.0, whose procctl table ends before command 19
    /// (kern_procctl.c: `com` beyond the table; added at 1400026, FACTS-kernel-runtime.md §3;
    /// whether a 13.x has it is UNCONFIRMED, modelled as none).
    fn no_new_privs_rule(&self, spec: &ProcessSpec) -> KResult<()> {
        if spec.no_new_privileges && self.release() < Release::V14_0 {
            return Err(KernelError::errno(Op::NoNewPrivs, Errno::EINVAL));
        }
        Ok(())
    }

    /// The reaper a child of OS process `caller` gets: `caller` if it acquired the role, else
    /// init (the OS processes' own reapers are outside the machine).
    fn reaper_of_caller(&self, caller: u32) -> Parent {
        if self.procs.reapers.contains(&caller) {
            Parent::Caller(caller)
        } else {
            Parent::Init
        }
    }

    /// Spawn a virtual process: its program's behaviour comes from the table, its output goes
    /// to the stdio descriptors (or the pty) at once.
    pub(crate) fn spawn_virtual(&mut self, spec: &ProcessSpec, parent: u32) -> KResult<Spawned> {
        let pid = self.spawn_checks(spec)?;
        self.chdir_rule(spec)
            .map_err(|errno| KernelError::errno(Op::Chdir, errno))?;
        self.no_new_privs_rule(spec)?;
        let arg0 = &spec.args[0];
        // execve(2) resolves a relative path against the working directory.
        let path = if arg0.starts_with('/') {
            arg0.clone()
        } else {
            format!("{}/{arg0}", spec.cwd.trim_end_matches('/'))
        };
        let Some(program) = self.procs.programs.get(&path) else {
            return Err(KernelError::errno(Op::Execve, Errno::ENOENT));
        };
        let stdin = match (&spec.stdio.stdin, spec.terminal) {
            (StdioFd::Data(bytes), None) => bytes.as_slice(),
            _ => &[],
        };
        let script = program.run_with_input(&spec.args, &self.procs.programs, stdin);
        // The parent opens the pty before it forks (posix_openpt).
        let pty = spec.terminal.map(stdio::open_pty).transpose()?;

        // Every check passed. The slave closes when the spawn returns: the scripted output
        // is all a virtual process ever writes.
        let outputs = Outputs::of(spec, pty.as_ref().map(|(_, slave)| slave.as_raw_fd()));
        outputs.write(&script);
        let reaper = self.reaper_of_caller(parent);
        let lineage = Lineage {
            parent: Parent::Caller(parent),
            reaper,
        };
        self.start_virtual(pid, spec, lineage, script, 0, outputs);
        Ok(Spawned {
            pid,
            terminal: pty.map(|(master, _)| master),
        })
    }

    /// Record virtual process `pid` running `script`, fork the children the script starts,
    /// then let it exit if its run time is none.
    fn start_virtual(
        &mut self,
        pid: Pid,
        spec: &ProcessSpec,
        lineage: Lineage,
        script: Script,
        depth: u8,
        outputs: Outputs,
    ) {
        let Lineage { parent, reaper } = lineage;
        let (state, exits_now) = match script.run_ms {
            Some(0) => (RunState::Running { exit_at_ms: None }, true),
            Some(ms) => (
                RunState::Running {
                    exit_at_ms: Some(self.clock_ms.saturating_add(ms)),
                },
                false,
            ),
            None => (RunState::Running { exit_at_ms: None }, false),
        };
        self.record_spawn(
            pid,
            spec,
            parent,
            reaper,
            ProcKind::Virtual {
                exit_code: script.exit_code,
                ignores: script.ignores,
            },
            state,
        );
        for argv in script.forks {
            self.fork_virtual(pid, reaper, spec, argv, depth + 1, outputs);
        }
        if exits_now {
            self.exit_process(pid, exit_code(script.exit_code));
        }
    }

    /// Virtual process `parent` forks a child that execs `argv`, in its jail with its
    /// working directory and stdio (stdin's bytes went to the parent). A program not found
    /// leaves sh's "not found" child (127); with no pid free (or forks nested too deep) the
    /// fork fails and nothing starts.
    fn fork_virtual(
        &mut self,
        parent: Pid,
        reaper: Parent,
        spec: &ProcessSpec,
        argv: Vec<String>,
        depth: u8,
        outputs: Outputs,
    ) {
        let Some(pid) = self.next_pid().filter(|_| depth <= MAX_FORK_DEPTH) else {
            return;
        };
        let command = argv.first().map_or("", String::as_str);
        let script = match find_command(&self.procs.programs, command) {
            Some(program) => program.run(&argv, &self.procs.programs),
            None => Script::exits(127).stderr(&format!("sh: {command}: not found\n")),
        };
        let child = ProcessSpec {
            args: argv,
            ..spec.clone()
        };
        outputs.write(&script);
        let lineage = Lineage {
            parent: Parent::Process(parent),
            reaper,
        };
        self.start_virtual(pid, &child, lineage, script, depth, outputs);
    }

    /// Spawn a real process on the host; its `Child` goes to `local`.
    fn spawn_host(
        &mut self,
        spec: &ProcessSpec,
        parent: u32,
        local: &LocalProcesses,
    ) -> KResult<Spawned> {
        let pid = self.spawn_checks(spec)?;
        self.no_new_privs_rule(spec)?;
        let root = spec
            .jail
            .and_then(|jid| self.jails.jails.get(&jid))
            .map(|jail| self.host_path(Path::new(&jail.path)));
        let chroot = self
            .procs
            .host_chroot
            .unwrap_or_else(|| nix::unistd::geteuid().is_root());
        let (child, terminal) = host::spawn(spec, root.as_deref(), chroot)
            .map_err(|(op, errno)| KernelError::errno(op, errno))?;
        let host_pid = child.id() as i32;
        local.lock().insert(pid, child);
        let reaper = self.reaper_of_caller(parent);
        self.record_spawn(
            pid,
            spec,
            Parent::Caller(parent),
            reaper,
            ProcKind::Host { host_pid },
            RunState::Running { exit_at_ms: None },
        );
        Ok(Spawned { pid, terminal })
    }

    fn record_spawn(
        &mut self,
        pid: Pid,
        spec: &ProcessSpec,
        parent: Parent,
        reaper: Parent,
        kind: ProcKind,
        state: RunState,
    ) {
        self.procs.last_pid = pid.0;
        self.procs.procs.insert(
            pid,
            Proc {
                jail: spec.jail.unwrap_or(Jid(0)),
                args: spec.args.clone(),
                parent,
                reaper,
                started_ms: self.clock_ms,
                kind,
                state,
                command: command_name(spec.args.first().map_or("", String::as_str)),
            },
        );
        self.settle_jails();
    }

    /// A process ends: it becomes a zombie, its children go to their reaper (exit1), init
    /// reaps the zombies it is parent of, and its jail may start dying.
    fn exit_process(&mut self, pid: Pid, status: ExitStatus) {
        if let Some(p) = self.procs.procs.get_mut(&pid) {
            if p.is_live() {
                p.state = RunState::Exited(status);
            }
        }
        for child in self.procs.procs.values_mut() {
            if child.parent == Parent::Process(pid) {
                child.parent = child.reaper;
            }
        }
        self.procs
            .procs
            .retain(|_, p| p.is_live() || p.parent != Parent::Init);
        self.settle_jails();
    }

    /// The host says a host-exec process ended.
    pub(crate) fn host_process_exited(&mut self, pid: Pid, status: ExitStatus) {
        self.exit_process(pid, status);
    }

    /// Deliver `sig` (1–128) to an existing process: what its disposition makes of it.
    pub(crate) fn deliver_signal(&mut self, pid: Pid, sig: Signal) -> Result<(), Errno> {
        let Some(p) = self.procs.procs.get(&pid) else {
            return Err(Errno::ESRCH);
        };
        let ignores = match &p.kind {
            ProcKind::Host { host_pid } => {
                return match p.state {
                    RunState::Exited(_) => Ok(()),
                    _ => host::kill(*host_pid, sig),
                }
            }
            ProcKind::Virtual { ignores, .. } => ignores,
        };
        let ignored = ignores.contains(&sig) && sig != Signal::SIGKILL && sig != Signal::SIGSTOP;
        let clock = self.clock_ms;
        let state = p.state.clone();
        let next = match state {
            RunState::Exited(_) => return Ok(()),
            _ if sig == Signal::SIGKILL => RunState::Exited(ExitStatus::Signaled(sig)),
            RunState::Stopped {
                remaining_ms,
                pending,
            } if sig == Signal::SIGCONT => match pending {
                Some(fatal) => RunState::Exited(ExitStatus::Signaled(fatal)),
                None => RunState::Running {
                    exit_at_ms: remaining_ms.map(|ms| clock.saturating_add(ms)),
                },
            },
            _ if ignored || DEFAULT_IGNORED.contains(&sig.0) => return Ok(()),
            RunState::Running { exit_at_ms } if STOP_SIGNALS.contains(&sig.0) => {
                RunState::Stopped {
                    remaining_ms: exit_at_ms.map(|t| t.saturating_sub(clock)),
                    pending: None,
                }
            }
            RunState::Stopped { .. } if STOP_SIGNALS.contains(&sig.0) => return Ok(()),
            // A stopped process acts on other signals only when continued.
            RunState::Stopped {
                remaining_ms,
                pending,
            } => RunState::Stopped {
                remaining_ms,
                pending: pending.or(Some(sig)),
            },
            RunState::Running { .. } => RunState::Exited(ExitStatus::Signaled(sig)),
        };
        match next {
            RunState::Exited(status) => self.exit_process(pid, status),
            next => {
                if let Some(p) = self.procs.procs.get_mut(&pid) {
                    p.state = next;
                }
            }
        }
        Ok(())
    }

    /// kill(2) from the host (which may signal any process: prison_check lets prison0 reach
    /// every jail).
    pub(crate) fn signal_rule(&mut self, pid: Pid, sig: Signal) -> KResult<()> {
        let fail = |errno| KernelError::errno(Op::Signal, errno);
        // kern_kill: the signal number first.
        if !(0..=Signal::MAX).contains(&sig.0) {
            return Err(fail(Errno::EINVAL));
        }
        // pid 0 and negative pids address process groups or every process: not simulated,
        // and never passed on to the host's kill.
        if pid.0 <= 0 {
            return Err(fail(Errno::ESRCH));
        }
        if !self.procs.procs.contains_key(&pid) {
            return Err(fail(Errno::ESRCH));
        }
        // Signal 0 only checks that the process exists. A zombie exists until reaped
        // (UNCONFIRMED: kill(2) finds zombies and succeeds).
        if sig.0 == 0 {
            return Ok(());
        }
        self.deliver_signal(pid, sig).map_err(fail)
    }

    /// kill(2) of every live process of jail `jid` (zombies are skipped); how many. Jail 0 is
    /// refused (EINVAL): it is no jail, and the host's processes are not a jail's.
    pub(crate) fn signal_jail_rule(&mut self, jid: Jid, sig: Signal) -> KResult<usize> {
        let fail = |errno| KernelError::errno(Op::SignalJail, errno);
        if jid.0 <= 0 || !(0..=Signal::MAX).contains(&sig.0) {
            return Err(fail(Errno::EINVAL));
        }
        let live: Vec<Pid> = self
            .procs
            .procs
            .iter()
            .filter(|(_, p)| p.jail == jid && p.is_live())
            .map(|(pid, _)| *pid)
            .collect();
        if sig.0 != 0 {
            for pid in &live {
                self.deliver_signal(*pid, sig).map_err(fail)?;
            }
        }
        Ok(live.len())
    }

    /// The processes in exactly jail `jid`, zombies included, as kern.proc filtered by
    /// `ki_jid` gives them. An unknown jail has none: the filter simply matches nothing. A
    /// simulated process is never on a CPU: a live one sleeps (SSLEEP) unless stopped.
    pub(crate) fn jail_processes_rule(&self, jid: Jid) -> Vec<ProcessInfo> {
        self.all_processes()
            .into_iter()
            .filter(|(of, _)| *of == jid)
            .map(|(_, info)| info)
            .collect()
    }

    /// Every process with its jail (0: the host), as kern.proc.proc lists them.
    pub(crate) fn all_processes(&self) -> Vec<(Jid, ProcessInfo)> {
        use zelle_core::kernel::RunState as Stat;
        self.procs
            .procs
            .iter()
            .map(|(pid, p)| {
                let info = ProcessInfo {
                    pid: *pid,
                    ppid: match p.parent {
                        Parent::Caller(os_pid) => Pid(os_pid as i32),
                        Parent::Process(parent) => parent,
                        Parent::Init => Pid(1),
                    },
                    state: match p.state {
                        RunState::Running { .. } => Stat::Sleeping,
                        RunState::Stopped { .. } => Stat::Stopped,
                        RunState::Exited(_) => Stat::Zombie,
                    },
                    command: p.command.clone(),
                };
                (p.jail, info)
            })
            .collect()
    }

    /// procctl(P_PID, getpid(), PROC_REAP_ACQUIRE): EBUSY if already a reaper
    /// (kern_procctl.c, reap_acquire).
    pub(crate) fn acquire_reaper_rule(&mut self, caller: u32) -> KResult<()> {
        if !self.procs.reapers.insert(caller) {
            return Err(KernelError::errno(Op::AcquireReaper, Errno::EBUSY));
        }
        Ok(())
    }

    /// Virtual processes whose run time is over exit.
    pub(crate) fn tick_processes(&mut self) {
        let clock = self.clock_ms;
        let due: Vec<(Pid, i32)> = self
            .procs
            .procs
            .iter()
            .filter_map(|(pid, p)| match (&p.kind, &p.state) {
                (
                    ProcKind::Virtual { exit_code, .. },
                    RunState::Running {
                        exit_at_ms: Some(at),
                    },
                ) if *at <= clock => Some((*pid, *exit_code)),
                _ => None,
            })
            .collect();
        for (pid, code) in due {
            self.exit_process(pid, exit_code(code));
        }
    }

    /// As `ps -ax -o jid,pid,stat,command` prints the simulated processes.
    pub(crate) fn dump_processes(&self, out: &mut String) {
        out.push_str("# ps -ax -o jid,pid,stat,command\n");
        out.push_str("JID   PID STAT COMMAND\n");
        for (pid, p) in &self.procs.procs {
            let stat = match p.state {
                RunState::Running { .. } => "S",
                RunState::Stopped { .. } => "T",
                RunState::Exited(_) => "Z",
            };
            let mut command = p.args.join(" ");
            if let ProcKind::Host { host_pid } = p.kind {
                command.push_str(&format!(" [host pid {host_pid}]"));
            }
            if !p.is_live() {
                command.push_str(" <defunct>");
            }
            out.push_str(&format!("{:>3} {:>5} {:<4} {command}\n", p.jail, pid, stat));
        }
        out.push('\n');
    }

    pub(crate) fn check_processes(&self, problems: &mut Vec<String>) {
        for (pid, p) in &self.procs.procs {
            let at = format!("process {pid}");
            if !(PID_WRAP..=PID_MAX).contains(&pid.0) {
                problems.push(format!("{at}: pid out of range"));
            }
            if p.jail != Jid(0) && !self.jails.jails.contains_key(&p.jail) {
                problems.push(format!("{at}: its jail {} has left allprison", p.jail));
                continue;
            }
            // Host processes may outlive their jail's death for a moment: SIGKILL is in
            // flight until the host reports the exit.
            if p.is_live() && matches!(p.kind, ProcKind::Virtual { .. }) && !self.jail_alive(p.jail)
            {
                problems.push(format!("{at}: running in dying jail {}", p.jail));
            }
            // exit1 re-parents a process's children before it becomes a zombie.
            if let Parent::Process(parent) = p.parent {
                if !self.procs.procs.get(&parent).is_some_and(Proc::is_live) {
                    problems.push(format!("{at}: its parent {parent} has exited"));
                }
            }
            if p.parent == Parent::Init && !p.is_live() {
                problems.push(format!("{at}: a zombie init has not reaped"));
            }
            if let RunState::Running {
                exit_at_ms: Some(at_ms),
            } = p.state
            {
                if at_ms < p.started_ms || at_ms <= self.clock_ms {
                    problems.push(format!("{at}: should have exited at {at_ms} ms"));
                }
            }
        }
    }
}

impl SimKernel {
    /// Record the exits of host processes this OS process spawned (it alone can reap them).
    pub(crate) fn reap_local(&self) {
        let exited: Vec<(Pid, ExitStatus)> = {
            let mut children = self.local.lock();
            let mut exited = Vec::new();
            children.retain(|pid, child| match child.try_wait() {
                Ok(None) => true,
                Ok(Some(status)) => {
                    exited.push((*pid, host::exit_status(status)));
                    false
                }
                // Reaped behind our back: the status is lost.
                Err(_) => {
                    exited.push((*pid, ExitStatus::Signaled(Signal::SIGKILL)));
                    false
                }
            });
            exited
        };
        if !exited.is_empty() {
            let _ = self.with_machine(|m| {
                for (pid, status) in exited {
                    m.host_process_exited(pid, status);
                }
            });
        }
    }
}

impl Processes for SimKernel {
    fn spawn(&self, spec: &ProcessSpec) -> KResult<Spawned> {
        self.reap_local();
        let parent = std::process::id();
        self.call(Op::Spawn, spec, |m| {
            if m.procs.host_exec {
                m.spawn_host(spec, parent, &self.local)
            } else {
                m.spawn_virtual(spec, parent)
            }
        })
    }

    fn signal(&self, pid: Pid, signal: Signal) -> KResult<()> {
        self.reap_local();
        self.call(Op::Signal, &(pid, signal), |m| m.signal_rule(pid, signal))
    }

    fn signal_jail(&self, jid: Jid, signal: Signal) -> KResult<usize> {
        self.reap_local();
        self.call(Op::SignalJail, &(jid, signal), |m| {
            m.signal_jail_rule(jid, signal)
        })
    }

    fn wait(&self, pid: Pid, wait: Wait) -> KResult<Option<ExitStatus>> {
        let waited = self.wait_for(Waited::One(pid), wait)?;
        Ok(waited.map(|(_, status)| status))
    }

    fn wait_any(&self, wait: Wait) -> KResult<Option<(Pid, ExitStatus)>> {
        self.wait_for(Waited::Any, wait)
    }

    fn jail_processes(&self, jid: Jid) -> KResult<Vec<ProcessInfo>> {
        self.reap_local();
        self.call(Op::JailProcesses, &jid, |m| Ok(m.jail_processes_rule(jid)))
    }

    /// A real TIOCSWINSZ on the host pty (the host's request number); the pty keeps the size,
    /// and TIOCGWINSZ on it reads it back.
    fn resize_terminal(&self, master: BorrowedFd<'_>, size: WindowSize) -> KResult<()> {
        self.call(Op::ResizeTerminal, &(master.as_raw_fd(), size), |_| {
            stdio::set_window_size(master, size)
                .map_err(|errno| KernelError::errno(Op::ResizeTerminal, errno))
        })
    }

    fn acquire_reaper(&self) -> KResult<()> {
        let caller = std::process::id();
        self.call(Op::AcquireReaper, &(), |m| m.acquire_reaper_rule(caller))
    }
}
