//! The container's life: create → created → running (paused within it) → stopped → deleted,
//! with exec processes beside the init.
//!
//! Every kernel change is written to the state directory ([`ContainerStore`]) before it is
//! made, so that a runtime dying at any point leaves a record a fresh runtime's
//! [`Runtime::delete`] undoes (see [`teardown`](super::teardown)). A create that fails undoes
//! what it made, and the machine is as it was before.

use super::bundle::BundleSpec;
use super::create::{find_executable, Creation};
use super::devfs_ruleset::{
    install_through, install_zelle_ruleset, zelle_rules, ZELLE_DEVFS_RULESET,
};
use super::error::{RuntimeError, Warning};
use super::jail::jail_name;
use super::process::ProcessPlan;
use super::rootfs::RootfsMount;
use super::state::{ContainerState, ContainerStore, ProcessRecord, Status};
use super::teardown::tear_down;
use crate::kernel::devfs::DevfsRuleId;
use crate::kernel::process::{ExitStatus, ProcessInfo, RunState, Spawned, WindowSize};
use crate::kernel::{Errno, Jid, Kernel, KernelError, Op, Pid, Signal, Stdio, Wait};
use crate::network::{Dns, NetStore, Networks};
use std::collections::BTreeMap;
use std::os::fd::BorrowedFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// What the runtime needs to know of its host.
#[derive(Clone, Debug, Default)]
pub struct RuntimeConfig {
    /// The host's resolver settings, for the containers' /etc/resolv.conf.
    pub dns: Dns,
}

/// Create's input: what containerd's CreateTaskRequest carries.
#[derive(Clone, Debug)]
pub struct CreateRequest {
    pub id: String,
    /// The bundle directory, absolute.
    pub bundle: String,
    /// config.json's bytes.
    pub config: Vec<u8>,
    /// The root's mounts; empty when the bundle's root is ready as it is.
    pub rootfs: Vec<RootfsMount>,
}

/// What Create reports.
#[derive(Clone, Debug)]
pub struct Created {
    pub jid: Jid,
    /// Settings of config.json not carried out, each naming its field.
    pub warnings: Vec<Warning>,
}

/// A process's exit, as the runtime recorded it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exited {
    pub id: String,
    /// `None` for the init.
    pub exec_id: Option<String>,
    pub pid: Pid,
    pub status: ExitStatus,
}

/// The OCI runtime-spec `state` of a container.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct OciState {
    #[serde(rename = "ociVersion")]
    pub oci_version: String,
    pub id: String,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<i32>,
    pub bundle: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// The exit code containerd reports when a process's status is lost (its
/// `UnknownExitStatus`).
pub const UNKNOWN_EXIT: i32 = 255;

/// How often pause looks again for processes forked while it stopped the others.
const PAUSE_ROUNDS: usize = 16;

/// What this runtime process remembers of a container it created (lost with the process;
/// the state directory has what cleanup needs).
struct Plan {
    spec: BundleSpec,
    /// The init's argv[0], found in the root along the process's PATH.
    executable: String,
}

/// The container runtime over one kernel, one state directory and zelle's networks.
pub struct Runtime<K: ?Sized, S, N> {
    pub(super) networks: Networks<K, N>,
    pub(super) store: S,
    pub(super) config: RuntimeConfig,
    plans: Mutex<BTreeMap<String, Arc<Plan>>>,
    /// The processes this runtime started whose exit it has not seen: only their parent can
    /// wait for them.
    live: Mutex<BTreeMap<Pid, Watched>>,
    /// The jails of the containers this runtime started processes in, by container: where
    /// its adopted orphans live.
    started: Mutex<BTreeMap<String, Jid>>,
    warnings: Mutex<Vec<String>>,
    /// One lock per container: every step that reads a record, calls the kernel and writes the
    /// record back holds it, so two steps of one container never interleave (containerd
    /// calls concurrently, and the reaper records exits from its own thread).
    locks: Mutex<BTreeMap<String, Arc<Mutex<()>>>>,
    /// zelle's devfs ruleset was found installed, or installed, by this process.
    devfs_ready: AtomicBool,
}

/// Whose process a pid is.
#[derive(Clone, Debug)]
struct Watched {
    id: String,
    exec_id: Option<String>,
}

impl<K: Kernel + ?Sized, S: ContainerStore, N: NetStore> Runtime<K, S, N> {
    pub fn new(networks: Networks<K, N>, store: S, config: RuntimeConfig) -> Self {
        Runtime {
            networks,
            store,
            config,
            plans: Mutex::new(BTreeMap::new()),
            live: Mutex::new(BTreeMap::new()),
            started: Mutex::new(BTreeMap::new()),
            warnings: Mutex::new(Vec::new()),
            locks: Mutex::new(BTreeMap::new()),
            devfs_ready: AtomicBool::new(false),
        }
    }

    pub fn kernel(&self) -> &K {
        self.networks.kernel()
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    pub fn networks(&self) -> &Networks<K, N> {
        &self.networks
    }

    /// Install zelle's devfs ruleset, as a shim does at start-up, through a devfs mounted for
    /// the occasion on `scratch`, an empty directory (see [`devfs_ruleset`]).
    ///
    /// [`devfs_ruleset`]: super::devfs_ruleset
    pub fn install_devfs_ruleset(&self, scratch: &str) -> Result<(), RuntimeError> {
        install_through(self.kernel(), scratch)
            .map_err(|source| kernel_error("-", "install zelle's devfs ruleset", source))?;
        self.devfs_ready.store(true, Ordering::SeqCst);
        Ok(())
    }

    /// Make sure zelle's ruleset is installed, through the container's /dev on `mount` the
    /// first time this process looks (later containers find it).
    ///
    /// Once this process has seen the whole set, a create only checks that the first rule (hide
    /// everything) is still there: one DEVFSIO_RGETNEXT. Without it (an operator flushed the
    /// ruleset) the /dev would show every device of the host, so the set goes in again.
    pub(super) fn ensure_devfs_ruleset(&self, mount: &str) -> Result<(), KernelError> {
        let first = &zelle_rules()[0];
        let seen = self.devfs_ready.load(Ordering::SeqCst)
            && self
                .kernel()
                .devfs_next_rule(mount, DevfsRuleId::new(ZELLE_DEVFS_RULESET, 0))
                .is_ok_and(|rule| rule == *first);
        if !seen {
            install_zelle_ruleset(self.kernel(), mount)?;
            self.devfs_ready.store(true, Ordering::SeqCst);
        }
        Ok(())
    }

    fn plans(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Arc<Plan>>> {
        self.plans.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn live(&self) -> std::sync::MutexGuard<'_, BTreeMap<Pid, Watched>> {
        self.live.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Container `id`'s lock (see `locks`).
    fn lock_of(&self, id: &str) -> Arc<Mutex<()>> {
        let mut locks = self.locks.lock().unwrap_or_else(|e| e.into_inner());
        locks.entry(id.to_string()).or_default().clone()
    }

    fn started(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Jid>> {
        self.started.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn load(&self, id: &str) -> Result<ContainerState, RuntimeError> {
        self.store
            .load(id)?
            .ok_or_else(|| RuntimeError::NotFound(id.to_string()))
    }

    /// Read the bundle, then make the container: its root and mounts, the jail, its network,
    /// its limits. On any failure everything made is undone before the error returns.
    pub fn create(&self, request: &CreateRequest) -> Result<Created, RuntimeError> {
        let id = &request.id;
        let spec = BundleSpec::from_slice(&request.config, &request.bundle).map_err(|source| {
            RuntimeError::Bundle {
                id: id.clone(),
                source,
            }
        })?;
        let name = jail_name(id)?;
        let lock = self.lock_of(id);
        let _held = lock.lock().unwrap_or_else(|e| e.into_inner());
        let mut state = ContainerState::new(id, &request.bundle, &spec.root.path);
        state.oci_version = spec.oci_version.clone();
        state.annotations = spec.annotations.clone();
        state.poststop = spec.hooks.poststop.clone();
        self.store.insert(&state)?;

        let mut creation = Creation {
            runtime: self,
            state,
        };
        match creation.make(&spec, &name, &request.rootfs) {
            Ok((jid, executable)) => {
                creation.state.status = Status::Created;
                creation.save()?;
                let warnings = spec.warnings.clone();
                self.plans()
                    .insert(id.clone(), Arc::new(Plan { spec, executable }));
                Ok(Created { jid, warnings })
            }
            Err(first) => Err(self.undo_create(creation.state, first)),
        }
    }

    /// Undo a failed create from its record; the record goes only when nothing is left.
    fn undo_create(&self, mut state: ContainerState, first: RuntimeError) -> RuntimeError {
        let leftovers = tear_down(&self.networks, &mut state);
        self.poststop(&mut state);
        if leftovers.is_empty() {
            if let Err(e) = self.store.remove(&state.id) {
                return RuntimeError::UndoIncomplete {
                    id: state.id,
                    first: Box::new(first),
                    leftovers: vec![e.to_string()],
                };
            }
            return first;
        }
        let mut leftovers = leftovers;
        if let Err(e) = self.store.save(&state) {
            leftovers.push(format!("the record of what is left: {e}"));
        }
        RuntimeError::UndoIncomplete {
            id: state.id,
            first: Box::new(first),
            leftovers,
        }
    }

    fn plan(&self, id: &str) -> Result<Arc<Plan>, RuntimeError> {
        self.plans()
            .get(id)
            .cloned()
            .ok_or_else(|| RuntimeError::NotFound(id.to_string()))
    }

    /// Start the init inside the jail. With `process.terminal` the answer holds the pty's
    /// master, which the caller owns (it copies the container's I/O and resizes through it).
    pub fn start(&self, id: &str, stdio: Stdio) -> Result<Spawned, RuntimeError> {
        let lock = self.lock_of(id);
        let _held = lock.lock().unwrap_or_else(|e| e.into_inner());
        let mut state = self.load(id)?;
        let plan = self.plan(id)?;
        if state.status != Status::Created {
            return Err(wrong_state(&state, "start", "created"));
        }
        // startContainer: inside the container, before its process (config.md, Lifecycle 7).
        let json = state_json(&state, "created");
        for hook in &plan.spec.hooks.start_container {
            hook.run(self.kernel(), state.jid, &json)
                .map_err(|reason| refused(id, reason))?;
        }
        let mut spec = plan.spec.process.to_process_spec(state.jid, stdio);
        spec.args[0] = plan.executable.clone();
        let spawned = self
            .kernel()
            .spawn(&spec)
            .map_err(|source| kernel_error(id, "start the init (process.args)", source))?;
        let pid = spawned.pid;
        self.live().insert(
            pid,
            Watched {
                id: id.to_string(),
                exec_id: None,
            },
        );
        if let Some(jid) = state.jid {
            self.started().insert(id.to_string(), jid);
        }
        state.init = Some(ProcessRecord { pid, exit: None });
        state.status = Status::Running;
        self.store.save(&state)?;
        let json = state_json(&state, "running");
        for hook in &plan.spec.hooks.poststart {
            if let Err(e) = hook.run(self.kernel(), None, &json) {
                self.warn(format!("container {id:?}: {e}"));
            }
        }
        Ok(spawned)
    }

    /// Start another process in a running container (its own user, cwd, env and terminal).
    pub fn exec(
        &self,
        id: &str,
        exec_id: &str,
        process: &ProcessPlan,
        stdio: Stdio,
    ) -> Result<Spawned, RuntimeError> {
        let lock = self.lock_of(id);
        let _held = lock.lock().unwrap_or_else(|e| e.into_inner());
        let mut state = self.load(id)?;
        if state.status != Status::Running {
            return Err(wrong_state(&state, "exec", "running"));
        }
        if state.execs.contains_key(exec_id) {
            return Err(RuntimeError::Refused {
                id: id.to_string(),
                reason: format!("exec id {exec_id:?} is taken"),
            });
        }
        let mut spec = process.to_process_spec(state.jid, stdio);
        spec.args[0] = find_executable(self.kernel(), id, &state.root, process)?;
        let spawned = self
            .kernel()
            .spawn(&spec)
            .map_err(|source| kernel_error(id, &format!("exec {exec_id:?}"), source))?;
        let pid = spawned.pid;
        self.live().insert(
            pid,
            Watched {
                id: id.to_string(),
                exec_id: Some(exec_id.to_string()),
            },
        );
        state
            .execs
            .insert(exec_id.to_string(), ProcessRecord { pid, exit: None });
        self.store.save(&state)?;
        Ok(spawned)
    }

    /// Resize a terminal `start` or `exec` handed out (TIOCSWINSZ; the kernel sends the
    /// process SIGWINCH).
    pub fn resize(
        &self,
        id: &str,
        master: BorrowedFd<'_>,
        size: WindowSize,
    ) -> Result<(), RuntimeError> {
        self.kernel()
            .resize_terminal(master, size)
            .map_err(|source| kernel_error(id, "resize the terminal", source))
    }

    /// Send `signal` to the init (or exec `exec_id`), or with `all` to every process of the
    /// container.
    pub fn kill(
        &self,
        id: &str,
        exec_id: Option<&str>,
        signal: Signal,
        all: bool,
    ) -> Result<(), RuntimeError> {
        let lock = self.lock_of(id);
        let _held = lock.lock().unwrap_or_else(|e| e.into_inner());
        let state = self.load(id)?;
        let jid = state
            .jid
            .ok_or_else(|| wrong_state(&state, "kill", "running"))?;
        if all {
            return self
                .kernel()
                .signal_jail(jid, signal)
                .map(|_| ())
                .map_err(|source| kernel_error(id, "signal every process", source));
        }
        let record = match exec_id {
            None => state.init.as_ref(),
            Some(exec) => state.execs.get(exec),
        };
        let no_process = || RuntimeError::NoProcess {
            id: id.to_string(),
            exec_id: exec_id.unwrap_or("init").to_string(),
        };
        let Some(record) = record.filter(|r| r.exit.is_none()) else {
            return Err(no_process());
        };
        // A pid this runtime did not start (it comes from a dead shim's record) is signalled
        // only while it is still in the container's jail: it may be another's by now.
        if !self.live().contains_key(&record.pid)
            && !self
                .jail_processes(id, jid)?
                .iter()
                .any(|p| p.pid == record.pid)
        {
            return Err(no_process());
        }
        self.signal_one(id, record.pid, signal)
    }

    fn signal_one(&self, id: &str, pid: Pid, signal: Signal) -> Result<(), RuntimeError> {
        match self.kernel().signal(pid, signal) {
            // Gone between listing and signalling: it needs no signal any more.
            Err(e) if e.is(Op::Signal, Errno::ESRCH) => Ok(()),
            other => other.map_err(|source| kernel_error(id, &format!("signal {pid}"), source)),
        }
    }

    fn jail_processes(&self, id: &str, jid: Jid) -> Result<Vec<ProcessInfo>, RuntimeError> {
        self.kernel()
            .jail_processes(jid)
            .map_err(|source| kernel_error(id, "list the processes", source))
    }

    /// The container's processes with their states (what `ctr task ps` lists).
    pub fn processes(&self, id: &str) -> Result<Vec<ProcessInfo>, RuntimeError> {
        let state = self.load(id)?;
        match state.jid {
            Some(jid) => self.jail_processes(id, jid),
            None => Ok(Vec::new()),
        }
    }

    /// Stop every process of the container, again until all are stopped (a process may fork
    /// while its siblings are being stopped).
    pub fn pause(&self, id: &str) -> Result<(), RuntimeError> {
        let lock = self.lock_of(id);
        let _held = lock.lock().unwrap_or_else(|e| e.into_inner());
        let mut state = self.load(id)?;
        if state.status != Status::Running || state.paused {
            return Err(wrong_state(&state, "pause", "running"));
        }
        let jid = state
            .jid
            .ok_or_else(|| wrong_state(&state, "pause", "running"))?;
        let stopped = self.stop_all(id, jid);
        if let Err(e) = stopped {
            // Not paused after all: what was stopped runs on.
            let _ = self.kernel().signal_jail(jid, Signal::SIGCONT);
            return Err(e);
        }
        state.paused = true;
        self.store.save(&state)?;
        Ok(())
    }

    /// SIGSTOP every running process of jail `jid`, again until none runs.
    fn stop_all(&self, id: &str, jid: Jid) -> Result<(), RuntimeError> {
        for _ in 0..PAUSE_ROUNDS {
            let running: Vec<Pid> = self
                .jail_processes(id, jid)?
                .into_iter()
                .filter(|p| matches!(p.state, RunState::Running | RunState::Sleeping))
                .map(|p| p.pid)
                .collect();
            if running.is_empty() {
                return Ok(());
            }
            for pid in running {
                self.signal_one(id, pid, Signal::SIGSTOP)?;
            }
        }
        Err(refused(
            id,
            format!("pause: processes kept appearing after {PAUSE_ROUNDS} rounds of SIGSTOP"),
        ))
    }

    /// Continue every process of a paused container.
    pub fn resume(&self, id: &str) -> Result<(), RuntimeError> {
        let lock = self.lock_of(id);
        let _held = lock.lock().unwrap_or_else(|e| e.into_inner());
        let mut state = self.load(id)?;
        if !state.paused {
            return Err(wrong_state(&state, "resume", "paused"));
        }
        if let Some(jid) = state.jid {
            self.kernel()
                .signal_jail(jid, Signal::SIGCONT)
                .map_err(|source| kernel_error(id, "continue every process", source))?;
        }
        state.paused = false;
        self.store.save(&state)?;
        Ok(())
    }

    /// Look for exits of the processes this runtime started (without blocking), record them,
    /// and report them. The init's exit stops the container. What was seen is recorded even
    /// when a later wait fails: a reaped status is gone from the kernel.
    pub fn reap(&self) -> Result<Vec<Exited>, RuntimeError> {
        let watched: Vec<(Pid, Watched)> = self
            .live()
            .iter()
            .map(|(pid, w)| (*pid, w.clone()))
            .collect();
        let mut exits = Vec::new();
        let mut first_error = None;
        for (pid, watched) in watched {
            let status = match self.kernel().wait(pid, Wait::NoHang) {
                Ok(Some(status)) => status,
                Ok(None) => continue,
                // No longer a child of ours (another waiter reaped it): its status is lost,
                // as containerd says it.
                Err(e) if e.is(Op::Wait, Errno::ECHILD) => ExitStatus::Exited(UNKNOWN_EXIT),
                Err(source) => {
                    first_error.get_or_insert(kernel_error(&watched.id, "wait", source));
                    continue;
                }
            };
            self.live().remove(&pid);
            let exit = Exited {
                id: watched.id,
                exec_id: watched.exec_id,
                pid,
                status,
            };
            if let Err(e) = self.record_exit(&exit) {
                first_error.get_or_insert(e);
            }
            exits.push(exit);
        }
        self.reap_orphans();
        match first_error {
            Some(error) => Err(error),
            None => Ok(exits),
        }
    }

    /// Make this process the reaper of what it starts from now on (procctl
    /// PROC_REAP_ACQUIRE): a container's orphans become its children, and `reap` collects
    /// them, so none stays a zombie holding its jail.
    pub fn become_reaper(&self) -> Result<(), RuntimeError> {
        match self.kernel().acquire_reaper() {
            Err(e) if e.is(Op::AcquireReaper, Errno::EBUSY) => Ok(()),
            other => other.map_err(|source| kernel_error("-", "become the reaper", source)),
        }
    }

    /// Collect the zombies of the containers this runtime started processes in that are not
    /// its own processes: orphans adopted as their reaper. One that is not ours (ECHILD) is
    /// left to its parent.
    fn reap_orphans(&self) {
        let jails: Vec<(String, Jid)> = self
            .started()
            .iter()
            .map(|(id, jid)| (id.clone(), *jid))
            .collect();
        for (id, jid) in jails {
            // Held so that a process just spawned is in `live` before its zombie is looked at.
            let lock = self.lock_of(&id);
            let _held = lock.lock().unwrap_or_else(|e| e.into_inner());
            let Ok(listed) = self.kernel().jail_processes(jid) else {
                continue;
            };
            for process in listed.iter().filter(|p| p.state == RunState::Zombie) {
                if !self.live().contains_key(&process.pid) {
                    let _ = self.kernel().wait(process.pid, Wait::NoHang);
                }
            }
        }
    }

    /// Write an exit into its container's record; the init's stops the container.
    fn record_exit(&self, exit: &Exited) -> Result<(), RuntimeError> {
        let lock = self.lock_of(&exit.id);
        let _held = lock.lock().unwrap_or_else(|e| e.into_inner());
        let Some(mut state) = self.store.load(&exit.id)? else {
            return Ok(());
        };
        let record = match &exit.exec_id {
            None => state.init.as_mut(),
            Some(exec) => state.execs.get_mut(exec),
        };
        if let Some(record) = record.filter(|r| r.pid == exit.pid) {
            record.exit = Some(exit.status);
        }
        if exit.exec_id.is_none() && state.status == Status::Running {
            state.status = Status::Stopped;
            state.paused = false;
        }
        Ok(self.store.save(&state)?)
    }

    /// The OCI state of container `id`.
    pub fn state(&self, id: &str) -> Result<OciState, RuntimeError> {
        Ok(oci_state(&self.load(id)?))
    }

    /// Settings not carried out and hooks that failed where the spec says only to warn
    /// (poststart, poststop), since the last call; the caller logs them.
    pub fn take_warnings(&self) -> Vec<String> {
        std::mem::take(&mut *self.warnings.lock().unwrap_or_else(|e| e.into_inner()))
    }

    fn warn(&self, warning: String) {
        self.warnings
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(warning);
    }

    /// Run the poststop hooks once: a failure is a warning (runtime-spec config.md).
    fn poststop(&self, state: &mut ContainerState) {
        let hooks = std::mem::take(&mut state.poststop);
        let json = state_json(state, "stopped");
        for hook in &hooks {
            if let Err(e) = hook.run(self.kernel(), None, &json) {
                self.warn(format!("container {:?}: {e}", state.id));
            }
        }
    }

    /// Delete container `id`: from its record alone, whatever state it was left in, unless
    /// its init still runs. Returns the init's exit, when it ran.
    pub fn delete(&self, id: &str) -> Result<Option<ExitStatus>, RuntimeError> {
        let lock = self.lock_of(id);
        let _held = lock.lock().unwrap_or_else(|e| e.into_inner());
        let mut state = self.load(id)?;
        // An init this runtime started and has not seen exit is still running: containerd
        // kills first. One it did not start (the shim that did is gone) goes with the jail.
        let runs = |r: &ProcessRecord| r.exit.is_none() && self.live().contains_key(&r.pid);
        if state.status == Status::Running && state.init.as_ref().is_some_and(runs) {
            return Err(wrong_state(&state, "delete", "stopped"));
        }
        state.status = Status::Deleting;
        self.store.save(&state)?;
        let leftovers = tear_down(&self.networks, &mut state);
        // Teardown reaped what the jail's removal killed.
        self.live().retain(|_, w| w.id != id);
        self.started().remove(id);
        if !leftovers.is_empty() {
            self.store.save(&state)?;
            return Err(RuntimeError::TeardownIncomplete {
                id: id.to_string(),
                leftovers,
            });
        }
        self.poststop(&mut state);
        self.store.remove(id)?;
        self.plans().remove(id);
        self.locks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
        Ok(state.init.and_then(|r| r.exit))
    }
}

/// The OCI state of a record.
fn oci_state(state: &ContainerState) -> OciState {
    OciState {
        oci_version: state.oci_version.clone(),
        id: state.id.clone(),
        status: state.status.oci_word(state.paused).to_string(),
        pid: state
            .init
            .as_ref()
            .filter(|r| r.exit.is_none())
            .map(|r| r.pid.0),
        bundle: state.bundle.clone(),
        annotations: state.annotations.clone(),
    }
}

/// The state JSON a hook reads on stdin, with the status of its point in the lifecycle.
pub(super) fn state_json(state: &ContainerState, status: &str) -> Vec<u8> {
    let mut oci = oci_state(state);
    oci.status = status.to_string();
    serde_json::to_vec(&oci).unwrap_or_default()
}

pub(super) fn kernel_error(id: &str, during: &str, source: KernelError) -> RuntimeError {
    RuntimeError::Kernel {
        id: id.to_string(),
        during: during.to_string(),
        source,
    }
}

pub(super) fn refused(id: &str, reason: String) -> RuntimeError {
    RuntimeError::Refused {
        id: id.to_string(),
        reason,
    }
}

fn wrong_state(state: &ContainerState, action: &'static str, wanted: &'static str) -> RuntimeError {
    RuntimeError::WrongState {
        id: state.id.clone(),
        status: state.status.oci_word(state.paused),
        action,
        wanted,
    }
}
