//! `SimKernel`: the handle through which code uses a simulated machine. It implements every
//! trait of the kernel contract (in the module of each area: `net`, `jail`, `pf`, …).

use crate::fault::Op;
use crate::machine::{Machine, SimConfig};
use crate::process::LocalProcesses;
use crate::store::{self, Store, STATE_ENV};
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use zelle_core::kernel::{Errno, KResult, KernelError};

pub struct SimKernel {
    store: Store,
    /// Host processes this process spawned (host-exec mode): only their parent can wait for
    /// them, as with wait4(2).
    pub(crate) local: LocalProcesses,
}

impl SimKernel {
    /// A machine in this process's memory.
    pub fn new(config: SimConfig) -> Self {
        SimKernel {
            store: Store::Memory(Mutex::new(Box::new(Machine::new(config)))),
            local: LocalProcesses::default(),
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

    /// Make one kernel call through the machine (see `Machine::call`).
    pub(crate) fn call<T: fmt::Debug>(
        &self,
        op: Op,
        args: &dyn fmt::Debug,
        f: impl FnOnce(&mut Machine) -> KResult<T>,
    ) -> KResult<T> {
        self.store
            .with(|m| m.call(op, args, f))
            .unwrap_or_else(|e| {
                Err(KernelError::with_message(
                    op,
                    Errno::EIO,
                    format!("simulated machine state: {e}"),
                ))
            })
    }
}
