//! pf anchors and transactions (skeleton: filled in by the pf rules).

use crate::kernel::SimKernel;
use crate::machine::Machine;
use serde::{Deserialize, Serialize};
use zelle_core::kernel::pf::{PacketFilter, PfRule, PfRuleset, PfTransaction};
use zelle_core::kernel::{Errno, KResult, KernelError};

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PfState {}

impl Machine {
    pub(crate) fn dump_pf(&self, _out: &mut String) {}
    pub(crate) fn check_pf(&self, _problems: &mut Vec<String>) {}
}

fn nosys<T>(op: &'static str) -> KResult<T> {
    Err(KernelError::errno(op, Errno::ENOSYS))
}

impl PacketFilter for SimKernel {
    fn pf_begin(&self, _anchor: &str, _rulesets: &[PfRuleset]) -> KResult<PfTransaction> {
        nosys("DIOCXBEGIN")
    }
    fn pf_add_rule(&self, _transaction: &PfTransaction, _rule: &PfRule) -> KResult<()> {
        nosys("DIOCADDRULE")
    }
    fn pf_commit(&self, _transaction: &PfTransaction) -> KResult<()> {
        nosys("DIOCXCOMMIT")
    }
    fn pf_rollback(&self, _transaction: &PfTransaction) -> KResult<()> {
        nosys("DIOCXROLLBACK")
    }
    fn pf_rules(&self, _anchor: &str, _ruleset: PfRuleset) -> KResult<Vec<PfRule>> {
        nosys("DIOCGETRULES")
    }
    fn pf_anchors(&self, _anchor: &str) -> KResult<Vec<String>> {
        nosys("DIOCGETRULESETS")
    }
}
