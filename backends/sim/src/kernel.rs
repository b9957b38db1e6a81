//! `SimKernel`: the handle through which code uses a simulated machine. It implements every
//! trait of the kernel contract (in the module of each area: `net`, `jail`, `pf`, …).

use crate::fault::Op;
use crate::machine::{Machine, SimConfig};
use crate::process::LocalProcesses;
use crate::store::{self, Store, STATE_ENV};
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use zelle_core::kernel::{Errno, KResult, KernelError};

pub struct SimKernel {
    store: Store,
    /// Host processes this process spawned (host-exec mode): only their parent can wait for
    /// them, as with wait4(2).
    pub(crate) local: LocalProcesses,
    /// Crash tests in one process: the call after which this handle's caller "dies".
    death: Death,
}

/// A caller stopped dead right after its Nth kernel call: the call takes effect, then the
/// caller unwinds with [`SimulatedDeath`] (its memory thrown away, as a killed process's is),
/// while the machine lives on for whoever comes next.
#[derive(Default)]
struct Death {
    after: AtomicU64,
    calls: AtomicU64,
}

/// The panic payload of a caller that died as [`SimKernel::die_after_calls`] asked.
#[derive(Debug)]
pub struct SimulatedDeath {
    pub after_calls: u64,
}

impl SimKernel {
    /// A machine in this process's memory.
    pub fn new(config: SimConfig) -> Self {
        SimKernel {
            store: Store::Memory(Mutex::new(Box::new(Machine::new(config)))),
            local: LocalProcesses::default(),
            death: Death::default(),
        }
    }

    /// A machine with seed `seed` and everything else by default.
    pub fn seeded(seed: u64) -> Self {
        SimKernel::new(SimConfig {
            seed,
            ..SimConfig::default()
        })
    }

    /// The machine kept in the state file at `path`, created from `config` on first use.
    pub fn shared(path: impl Into<PathBuf>, config: SimConfig) -> Self {
        SimKernel {
            store: Store::File {
                path: path.into(),
                config,
            },
            local: LocalProcesses::default(),
            death: Death::default(),
        }
    }

    /// The machine named by `$ZELLE_SIM_STATE`, if it is set.
    pub fn from_env() -> Option<Self> {
        let path = std::env::var_os(STATE_ENV)?;
        Some(SimKernel::shared(PathBuf::from(path), SimConfig::default()))
    }

    /// Start the state file at `path` afresh from `config`.
    pub fn reset_shared(path: &Path, config: &SimConfig) -> io::Result<()> {
        store::reset(path, config)
    }

    /// Look at or change the machine directly, outside the kernel contract (tests, the
    /// inspection command, moving simulated time). Nothing is traced.
    pub fn with_machine<T>(&self, f: impl FnOnce(&mut Machine) -> T) -> io::Result<T> {
        self.store.with(f)
    }

    /// A copy of the machine as it is now.
    pub fn snapshot(&self) -> Machine {
        self.with_machine(|m| m.clone())
            .expect("simulated machine state unreadable")
    }

    /// From now on, die (unwind with [`SimulatedDeath`]) right after the `n`th kernel call
    /// through this handle, counting from 1; `None` lives on. Resets the count.
    pub fn die_after_calls(&self, n: Option<u64>) {
        self.death.calls.store(0, Ordering::SeqCst);
        self.death.after.store(n.unwrap_or(0), Ordering::SeqCst);
    }

    /// Kernel calls made through this handle since the last `die_after_calls`.
    pub fn calls_made(&self) -> u64 {
        self.death.calls.load(Ordering::SeqCst)
    }

    /// Make one kernel call through the machine (see `Machine::call`).
    pub(crate) fn call<T: fmt::Debug>(
        &self,
        op: Op,
        args: &dyn fmt::Debug,
        f: impl FnOnce(&mut Machine) -> KResult<T>,
    ) -> KResult<T> {
        let answer = self
            .store
            .with(|m| m.call(op, args, f))
            .unwrap_or_else(|e| {
                Err(KernelError::with_message(
                    op,
                    Errno::EIO,
                    format!("simulated machine state: {e}"),
                ))
            });
        let calls = self.death.calls.fetch_add(1, Ordering::SeqCst) + 1;
        let after = self.death.after.load(Ordering::SeqCst);
        if after != 0 && calls == after {
            let _ = self.store.with(|m| m.caller_exited(std::process::id()));
            std::panic::panic_any(SimulatedDeath { after_calls: calls });
        }
        answer
    }
}

impl Machine {
    /// What exit1 does to the children of an OS process that died: each goes to its reaper,
    /// which is init, since the dead process was the reaper it had acquired; init reaps the
    /// zombies at once (kern_exit.c exit1, proc_reap). The process stops being a reaper.
    pub(crate) fn caller_exited(&mut self, caller: u32) {
        use crate::process::Parent;
        for p in self.procs.procs.values_mut() {
            if p.parent == Parent::Caller(caller) {
                p.parent = Parent::Init;
            }
            if p.reaper == Parent::Caller(caller) {
                p.reaper = Parent::Init;
            }
        }
        self.procs
            .procs
            .retain(|_, p| p.is_live() || p.parent != Parent::Init);
        self.procs.reapers.remove(&caller);
        self.settle_jails();
    }

    /// The OS processes that drive a shared machine come and go unseen: one found gone
    /// (kill(pid, 0) answers ESRCH) has exited, and exit1 happens to its children now.
    pub(crate) fn forget_gone_callers(&mut self) {
        use crate::process::Parent;
        let callers: std::collections::BTreeSet<u32> = self
            .procs
            .procs
            .values()
            .flat_map(|p| [p.parent, p.reaper])
            .filter_map(|parent| match parent {
                Parent::Caller(pid) => Some(pid),
                _ => None,
            })
            .chain(self.procs.reapers.iter().copied())
            .collect();
        for caller in callers {
            let Ok(pid) = i32::try_from(caller) else {
                continue;
            };
            let gone = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None)
                == Err(nix::errno::Errno::ESRCH);
            if gone {
                self.caller_exited(caller);
            }
        }
    }
}
