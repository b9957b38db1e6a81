//! Processes (skeleton: filled in by the process rules).

use crate::kernel::SimKernel;
use crate::machine::Machine;
use serde::{Deserialize, Serialize};
use zelle_core::kernel::process::ExitStatus;
use zelle_core::kernel::{Errno, Jid, KResult, KernelError, Pid, ProcessSpec, Processes, Signal};

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcState {}

/// Host processes spawned by this OS process (skeleton).
#[derive(Default)]
pub struct LocalProcesses {}

impl Machine {
    pub(crate) fn tick_processes(&mut self) {}
    pub(crate) fn dump_processes(&self, _out: &mut String) {}
    pub(crate) fn check_processes(&self, _problems: &mut Vec<String>) {}
}

fn nosys<T>(op: &'static str) -> KResult<T> {
    Err(KernelError::errno(op, Errno::ENOSYS))
}

impl Processes for SimKernel {
    fn spawn(&self, _spec: &ProcessSpec) -> KResult<Pid> {
        nosys("spawn")
    }
    fn signal(&self, _pid: Pid, _signal: Signal) -> KResult<()> {
        nosys("kill")
    }
    fn wait(&self, _pid: Pid, _block: bool) -> KResult<Option<ExitStatus>> {
        nosys("wait4")
    }
    fn jail_processes(&self, _jid: Jid) -> KResult<Vec<Pid>> {
        nosys("kern.proc")
    }
    fn acquire_reaper(&self) -> KResult<()> {
        nosys("procctl")
    }
}
