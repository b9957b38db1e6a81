//! wait4(2) on the simulated machine: for one child or any, without hanging, blocking, or for
//! at most a time. Simulated time moves to the next scripted exit instead of passing; a wait
//! that only a signal (from another thread or OS process) or a host process can end polls in
//! real time with the machine free.

use super::{Parent, Proc, ProcKind, RunState, WAIT_POLL};
use crate::fault::Op;
use crate::kernel::SimKernel;
use crate::machine::Machine;
use std::time::Instant;
use zelle_core::kernel::process::ExitStatus;
use zelle_core::kernel::{Errno, KResult, KernelError, Pid, Wait};

/// What a wait looks for among the caller's children.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Waited {
    One(Pid),
    Any,
}

impl Waited {
    fn op(self) -> Op {
        match self {
            Waited::One(_) => Op::Wait,
            Waited::Any => Op::WaitAny,
        }
    }

    fn selects(self, pid: Pid) -> bool {
        match self {
            Waited::One(one) => one == pid,
            Waited::Any => true,
        }
    }
}

/// What a wait does next (`Machine::wait_step`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WaitStep {
    /// Simulated time moved on to an exit: look again.
    Again,
    /// Only a signal or the host can end what is waited for: look again in a while.
    Poll,
    /// Make the call: something exited, there is nothing to wait for, or the time is up.
    Answer,
}

impl Machine {
    /// The children of OS process `caller` that `waited` selects (an adopted orphan is one).
    fn waited_children(&self, caller: u32, waited: Waited) -> impl Iterator<Item = (Pid, &Proc)> {
        self.procs
            .procs
            .iter()
            .filter(move |(pid, p)| p.parent == Parent::Caller(caller) && waited.selects(**pid))
            .map(|(pid, p)| (*pid, p))
    }

    /// One step of a wait that may take `budget_ms` more of simulated time (`None`: any):
    /// move the clock to the next scripted exit when it comes within the budget; else poll
    /// while a signal or the host can still end something; else spend the budget and answer.
    pub(crate) fn wait_step(
        &mut self,
        caller: u32,
        waited: Waited,
        budget_ms: &mut Option<u64>,
    ) -> WaitStep {
        let mut children = self.waited_children(caller, waited).peekable();
        if children.peek().is_none() {
            return WaitStep::Answer;
        }
        let (mut next_exit, mut exited, mut unscripted) = (None::<u64>, false, false);
        for (_, p) in children {
            match (&p.kind, &p.state) {
                (_, RunState::Exited(_)) => exited = true,
                (
                    ProcKind::Virtual { .. },
                    RunState::Running {
                        exit_at_ms: Some(at),
                    },
                ) => next_exit = Some(next_exit.map_or(*at, |n| n.min(*at))),
                _ => unscripted = true,
            }
        }
        if exited {
            return WaitStep::Answer;
        }
        if let Some(at) = next_exit {
            let wait_ms = at.saturating_sub(self.clock_ms);
            if budget_ms.is_none_or(|budget| wait_ms <= budget) {
                if let Some(budget) = budget_ms {
                    *budget -= wait_ms;
                }
                self.advance(wait_ms);
                return WaitStep::Again;
            }
        }
        if unscripted {
            return WaitStep::Poll;
        }
        if let Some(budget) = budget_ms.take() {
            self.advance(budget);
            *budget_ms = Some(0);
        }
        WaitStep::Answer
    }

    /// wait4(2) with WNOHANG for what `waited` selects: the exited child of the lowest pid,
    /// reaped; `None` while all run; ECHILD when there is none at all (a pid ≤ 0 or a process
    /// group is not simulated).
    pub(crate) fn reap_rule(
        &mut self,
        caller: u32,
        waited: Waited,
    ) -> KResult<Option<(Pid, ExitStatus)>> {
        let mut children = self.waited_children(caller, waited).peekable();
        if children.peek().is_none() {
            return Err(KernelError::errno(waited.op(), Errno::ECHILD));
        }
        let exited = children.find_map(|(pid, p)| match p.state {
            RunState::Exited(status) => Some((pid, status)),
            _ => None,
        });
        drop(children);
        if let Some((pid, _)) = exited {
            self.procs.procs.remove(&pid);
            self.settle_jails();
        }
        Ok(exited)
    }
}

impl SimKernel {
    /// wait4(2) as `wait` says, for what `waited` selects: polling with the machine free while
    /// only a signal (from another thread or process) or the host can end the wait.
    pub(super) fn wait_for(
        &self,
        waited: Waited,
        wait: Wait,
    ) -> KResult<Option<(Pid, ExitStatus)>> {
        let caller = std::process::id();
        let start = Instant::now();
        let (deadline, mut budget_ms) = match wait {
            Wait::NoHang => (Some(start), Some(0)),
            Wait::Block => (None, None),
            Wait::For(time) => (
                Some(start + time),
                Some(u64::try_from(time.as_millis()).unwrap_or(u64::MAX)),
            ),
        };
        loop {
            loop {
                self.reap_local();
                let step = self.with_machine(|m| m.wait_step(caller, waited, &mut budget_ms));
                let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
                match (step, left) {
                    (Ok(WaitStep::Again), _) => continue,
                    (Ok(WaitStep::Poll), None) => std::thread::sleep(WAIT_POLL),
                    (Ok(WaitStep::Poll), Some(left)) if !left.is_zero() => {
                        std::thread::sleep(WAIT_POLL.min(left))
                    }
                    _ => break,
                }
            }
            self.reap_local();
            let result = self.call(waited.op(), &(waited, wait), |m| {
                m.reap_rule(caller, waited)
            });
            // Stopped again between the look and the call: keep waiting.
            if !(wait == Wait::Block && matches!(result, Ok(None))) {
                return result;
            }
        }
    }
}
