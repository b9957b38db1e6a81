//! The simulated machine's whole state, and the one door every kernel call goes through.

use crate::fault::{FaultPlan, Op};
use crate::rng::Rng;
use crate::{devfs::DevfsState, pf::PfState, process::ProcState, rctl::RctlState};
use crate::{host::HostState, jail::JailState, mount::MountState, net::NetState};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use zelle_core::kernel::{Errno, KResult, KernelError, Release};

/// `errno` as `op`'s kernel error: for the rules that answer a bare errno,
/// `rule().map_err(failed(op))`.
pub(crate) fn failed(op: Op) -> impl Fn(Errno) -> KernelError {
    move |errno| KernelError::errno(op, errno)
}

/// How a simulated machine starts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimConfig {
    pub seed: u64,
    /// The FreeBSD release the machine behaves like, where releases differ.
    pub release: Release,
    pub faults: FaultPlan,
    /// How many calls the trace keeps (the oldest are dropped first).
    pub trace_limit: usize,
    /// The loader tunable kern.racct.enable. Off by default, as on a stock GENERIC kernel
    /// (`RACCT_DEFAULT_TO_DISABLED`): rctl(2) then answers ENOSYS, and zelle must cope.
    #[serde(default)]
    pub racct_enable: bool,
    /// The ZFS datasets that exist ("pool/ds"): a zfs mount from one of them succeeds, from
    /// any other name fails ENOENT. None by default: the machine has no pool.
    #[serde(default)]
    pub zfs_datasets: Vec<String>,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            seed: 0,
            release: Release::default(),
            faults: FaultPlan::default(),
            trace_limit: 10_000,
            racct_enable: false,
            zfs_datasets: Vec::new(),
        }
    }
}

/// One kernel call as the machine saw it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceEntry {
    pub seq: u64,
    pub op: Op,
    pub args: String,
    pub result: String,
}

impl fmt::Display for TraceEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "#{} {}{} = {}",
            self.seq, self.op, self.args, self.result
        )
    }
}

/// Everything the simulated kernel knows. Serializable, so that several processes can share
/// one machine through a state file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Machine {
    pub config: SimConfig,
    pub rng: Rng,
    /// Simulated time in milliseconds; moves only when told to (or when a blocking wait jumps
    /// to the next event), so runs are repeatable.
    pub clock_ms: u64,
    /// How many calls of each kind have been made: the counter `FaultRule::Nth` uses.
    pub calls: BTreeMap<Op, u64>,
    pub seq: u64,
    pub trace: VecDeque<TraceEntry>,
    /// Set when the kernel panicked: from then on every call fails with `KernelError::Panic`.
    pub panicked: Option<String>,
    pub host: HostState,
    pub net: NetState,
    pub jails: JailState,
    pub pf: PfState,
    pub mounts: MountState,
    pub procs: ProcState,
    #[serde(default)]
    pub rctl: RctlState,
    #[serde(default)]
    pub devfs: DevfsState,
}

impl Machine {
    pub fn new(config: SimConfig) -> Self {
        let mut host = HostState::new(config.release);
        crate::rctl::boot_sysctls(&mut host, config.racct_enable);
        Machine {
            rng: Rng::new(config.seed),
            host,
            net: NetState::new(),
            jails: JailState::default(),
            pf: PfState::default(),
            mounts: MountState::default(),
            procs: ProcState::default(),
            rctl: RctlState::default(),
            devfs: DevfsState::default(),
            clock_ms: 0,
            calls: BTreeMap::new(),
            seq: 0,
            trace: VecDeque::new(),
            panicked: None,
            config,
        }
    }

    pub fn release(&self) -> Release {
        self.config.release
    }

    /// Make one kernel call: refuse it if the kernel has panicked, consult the fault plan,
    /// run it, and record it in the trace.
    pub(crate) fn call<T: fmt::Debug>(
        &mut self,
        op: Op,
        args: &dyn fmt::Debug,
        f: impl FnOnce(&mut Machine) -> KResult<T>,
    ) -> KResult<T> {
        if let Some(message) = &self.panicked {
            return Err(KernelError::Panic(message.clone()));
        }
        let count = {
            let count = self.calls.entry(op).or_default();
            *count += 1;
            *count
        };
        let fault = self.config.faults.decide(op, count, &mut self.rng);
        let result = match fault {
            Some(errno) => Err(KernelError::errno(op, errno)),
            None => f(self),
        };
        self.record(op, args, &result, fault.is_some());
        result
    }

    fn record<T: fmt::Debug>(
        &mut self,
        op: Op,
        args: &dyn fmt::Debug,
        result: &KResult<T>,
        injected: bool,
    ) {
        self.seq += 1;
        if self.config.trace_limit == 0 {
            return;
        }
        let result = match result {
            Ok(value) => format!("{value:?}"),
            Err(KernelError::Errno { errno, .. }) if injected => format!("{errno} (injected)"),
            Err(KernelError::Errno { errno, .. }) => errno.to_string(),
            Err(KernelError::Panic(_)) => "PANIC".to_string(),
        };
        if self.trace.len() == self.config.trace_limit {
            self.trace.pop_front();
        }
        self.trace.push_back(TraceEntry {
            seq: self.seq,
            op,
            args: format!("{args:?}"),
            result,
        });
    }

    /// The kernel panics: record why; nothing answers from now on.
    pub(crate) fn panic(&mut self, op: Op, why: impl Into<String>) -> KernelError {
        let message = format!("{}: {}", op.name(), why.into());
        self.panicked = Some(message.clone());
        KernelError::Panic(message)
    }

    /// Move simulated time forward, letting timed events (process exits, dying jails) happen.
    pub fn advance(&mut self, ms: u64) {
        self.clock_ms += ms;
        self.tick();
    }
}
