//! Processes: spawn into a jail, kill(2), wait4(2), a jail's process list, and procctl(2)'s
//! reaper. FACTS-kernel-errno.md §8; the contract is `zelle_core::kernel::process`.
//!
//! Two kinds of process:
//! - virtual (the default): a program from `ProcState::programs`, looked up by its path as
//!   seen inside the jail, whose exit code, output, run time (simulated) and ignored signals
//!   are scripted (`programs` has the table every machine starts with);
//! - host-exec (`ProcState::host_exec`): a real process on the host (see `host`).
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

use programs::find_command;
pub use programs::{default_programs, Program, Script};

use crate::fault::Op;
use crate::kernel::SimKernel;
use crate::machine::Machine;
use crate::mount::{host_errno, MAXPATHLEN};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Component, Path, PathBuf};
use std::process::Child;
use std::sync::Mutex;
use std::time::Duration;
use zelle_core::kernel::process::ExitStatus;
use zelle_core::kernel::{Errno, Jid, KResult, KernelError, Pid, ProcessSpec, Processes, Signal};

/// The first pid a machine hands out, and where allocation wraps to after `PID_MAX`
/// (`sys/sys/proc.h`; FreeBSD allocates sequentially unless kern.randompid is set).
const FIRST_PID: i32 = 1000;
const PID_MAX: i32 = 99_999;
const PID_WRAP: i32 = 100;

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

/// Open a stdio path for writing as a child would: a regular file is created or appended to;
/// a FIFO is opened without blocking, and one nobody reads (ENXIO) gives `None`.
pub(crate) fn open_output(path: &str) -> Result<Option<File>, Errno> {
    let fifo = std::fs::metadata(path).is_ok_and(|m| m.file_type().is_fifo());
    let opened = if fifo {
        OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(path)
    } else {
        OpenOptions::new().create(true).append(true).open(path)
    };
    match opened {
        Ok(file) => Ok(Some(file)),
        Err(e) if fifo && e.raw_os_error() == Some(libc::ENXIO) => Ok(None),
        Err(e) => Err(host_errno(&e)),
    }
}

/// A virtual process's output, written at once to files opened for it (a terminal takes
/// stderr into stdout).
fn write_output(spec: &ProcessSpec, script: &Script, stdout: Option<File>, stderr: Option<File>) {
    for (file, text) in [(stdout, &script.stdout), (stderr, &script.stderr)] {
        if let Some(mut file) = file {
            let _ = file.write_all(text.as_bytes());
        }
    }
    if spec.terminal {
        if let Some(path) = &spec.stdio.stdout {
            if let Ok(Some(mut file)) = open_output(path) {
                let _ = file.write_all(script.stderr.as_bytes());
            }
        }
    }
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

    /// Checks every spawn makes: argv, the jail (jail_attach), a pid (fork).
    fn spawn_checks(&self, spec: &ProcessSpec) -> KResult<Pid> {
        // execve(2) with an empty argv: EINVAL since 14.0 (kern_exec.c, exec_copyin_args
        // refuses argc == 0; UNCONFIRMED, not read here).
        if spec.args.is_empty() {
            return Err(KernelError::errno(Op::Execve, Errno::EINVAL));
        }
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
    /// to the stdio paths at once.
    pub(crate) fn spawn_virtual(&mut self, spec: &ProcessSpec, parent: u32) -> KResult<Pid> {
        let pid = self.spawn_checks(spec)?;
        self.chdir_rule(spec)
            .map_err(|errno| KernelError::errno(Op::Spawn, errno))?;
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
        let script = program.run(&spec.args, &self.procs.programs);
        let fail = |errno| KernelError::errno(Op::Spawn, errno);
        let stdout = match &spec.stdio.stdout {
            Some(path) => open_output(path).map_err(fail)?,
            None => None,
        };
        // With a terminal, everything goes to the one pty, read into stdout.
        let stderr = match &spec.stdio.stderr {
            Some(path) if !spec.terminal => open_output(path).map_err(fail)?,
            _ => None,
        };

        // Every check passed.
        write_output(spec, &script, stdout, stderr);
        let reaper = self.reaper_of_caller(parent);
        self.start_virtual(pid, spec, Parent::Caller(parent), reaper, script, 0);
        Ok(pid)
    }

    /// Record virtual process `pid` running `script`, fork the children the script starts,
    /// then let it exit if its run time is none.
    fn start_virtual(
        &mut self,
        pid: Pid,
        spec: &ProcessSpec,
        parent: Parent,
        reaper: Parent,
        script: Script,
        depth: u8,
    ) {
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
            self.fork_virtual(pid, reaper, spec, argv, depth + 1);
        }
        if exits_now {
            self.exit_process(pid, exit_code(script.exit_code));
        }
    }

    /// Virtual process `parent` forks a child that execs `argv`, in its jail with its
    /// working directory and stdio. A program not found leaves sh's "not found" child (127);
    /// with no pid free (or forks nested too deep) the fork fails and nothing starts.
    fn fork_virtual(
        &mut self,
        parent: Pid,
        reaper: Parent,
        spec: &ProcessSpec,
        argv: Vec<String>,
        depth: u8,
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
        let out = |path: &Option<String>| path.as_deref().and_then(|p| open_output(p).ok()?);
        let stderr = if spec.terminal {
            None
        } else {
            out(&spec.stdio.stderr)
        };
        write_output(&child, &script, out(&spec.stdio.stdout), stderr);
        self.start_virtual(pid, &child, Parent::Process(parent), reaper, script, depth);
    }

    /// Spawn a real process on the host; its `Child` goes to `local`.
    fn spawn_host(
        &mut self,
        spec: &ProcessSpec,
        parent: u32,
        local: &LocalProcesses,
    ) -> KResult<Pid> {
        let pid = self.spawn_checks(spec)?;
        let root = spec
            .jail
            .and_then(|jid| self.jails.jails.get(&jid))
            .map(|jail| self.host_path(Path::new(&jail.path)));
        let chroot = self
            .procs
            .host_chroot
            .unwrap_or_else(|| nix::unistd::geteuid().is_root());
        let child = host::spawn(spec, root.as_deref(), chroot)
            .map_err(|errno| KernelError::errno(Op::Execve, errno))?;
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
        Ok(pid)
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

    /// Whether a blocking wait for `pid` by `caller` has to wait for something other than
    /// simulated time: the process runs until signalled, is stopped, or is a host process.
    pub(crate) fn wait_blocks(&self, pid: Pid, caller: u32) -> bool {
        self.procs.procs.get(&pid).is_some_and(|p| {
            p.parent == Parent::Caller(caller)
                && matches!(
                    p.state,
                    RunState::Running { exit_at_ms: None } | RunState::Stopped { .. }
                )
        })
    }

    /// wait4(2) for one child (an adopted orphan is one). Blocking on a virtual process that ends by itself moves the
    /// clock to its end: waiting is then the only thing happening.
    pub(crate) fn wait_rule(
        &mut self,
        pid: Pid,
        block: bool,
        caller: u32,
    ) -> KResult<Option<ExitStatus>> {
        let fail = |errno| KernelError::errno(Op::Wait, errno);
        // Not our child (or no such process, or a pid ≤ 0, which would mean any child or a
        // process group: not simulated).
        let Some(p) = self
            .procs
            .procs
            .get(&pid)
            .filter(|p| p.parent == Parent::Caller(caller))
        else {
            return Err(fail(Errno::ECHILD));
        };
        if let (
            true,
            RunState::Running {
                exit_at_ms: Some(at),
            },
        ) = (block, &p.state)
        {
            let at = *at;
            self.advance(at.saturating_sub(self.clock_ms));
        }
        match self.procs.procs.get(&pid).map(|p| p.state.clone()) {
            Some(RunState::Exited(status)) => {
                self.procs.procs.remove(&pid);
                self.settle_jails();
                Ok(Some(status))
            }
            _ => Ok(None),
        }
    }

    /// The processes in exactly jail `jid`, zombies included, as kern.proc filtered by
    /// `ki_jid` gives them. An unknown jail has none: the filter simply matches nothing.
    pub(crate) fn jail_processes_rule(&self, jid: Jid) -> Vec<Pid> {
        self.procs
            .procs
            .iter()
            .filter(|(_, p)| p.jail == jid)
            .map(|(pid, _)| *pid)
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
    fn spawn(&self, spec: &ProcessSpec) -> KResult<Pid> {
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

    fn wait(&self, pid: Pid, block: bool) -> KResult<Option<ExitStatus>> {
        let caller = std::process::id();
        loop {
            // A process only a signal (or the host) will end: wait with the machine free, so
            // that another thread or process can signal it.
            if block {
                self.reap_local();
                while let Ok(true) = self.with_machine(|m| m.wait_blocks(pid, caller)) {
                    std::thread::sleep(WAIT_POLL);
                    self.reap_local();
                }
            }
            self.reap_local();
            let result = self.call(Op::Wait, &(pid, block), |m| m.wait_rule(pid, block, caller));
            // Stopped again between the look and the call: keep waiting.
            if !(block && matches!(result, Ok(None))) {
                return result;
            }
        }
    }

    fn jail_processes(&self, jid: Jid) -> KResult<Vec<Pid>> {
        self.reap_local();
        self.call(Op::JailProcesses, &jid, |m| Ok(m.jail_processes_rule(jid)))
    }

    fn acquire_reaper(&self) -> KResult<()> {
        let caller = std::process::id();
        self.call(Op::AcquireReaper, &(), |m| m.acquire_reaper_rule(caller))
    }
}
