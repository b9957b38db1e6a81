//! devfs rulesets (DEVFSIO_* ioctls): NOT IMPLEMENTED YET in the real backend.
//!
//! The requests take `struct devfs_rule` (fs/devfs/devfs.h), which zelle-sys does not bind:
//! binding it means adding the header to `sys/wrapper.h` and regenerating the checked-in ABI
//! with `sys/regenerate.sh`, which needs libclang (Debian's libclang-dev), not installed where
//! this was written. The struct is never written by hand, so until the regeneration every
//! devfs call here fails with ENOSYS, naming the gap, before anything reaches the kernel. The
//! contract, the simulated machine's rules and the conformance rules (typed door) exist.

use crate::{FreeBsd, Syscalls};
use zelle_core::kernel::{DevfsRule, DevfsRuleId, DevfsRules, Errno, KResult, KernelError, Op};

fn missing(op: Op) -> KernelError {
    KernelError::with_message(
        op,
        Errno::ENOSYS,
        "devfs rule ioctls are not implemented by the FreeBSD backend yet: struct devfs_rule \
         is not in zelle-sys (run sys/regenerate.sh with fs/devfs/devfs.h in wrapper.h)",
    )
}

impl<S: Syscalls> DevfsRules for FreeBsd<S> {
    fn devfs_add_rule(&self, _: &str, _: &DevfsRule) -> KResult<()> {
        Err(missing(Op::DevfsAddRule))
    }
    fn devfs_delete_rule(&self, _: &str, _: DevfsRuleId) -> KResult<()> {
        Err(missing(Op::DevfsDeleteRule))
    }
    fn devfs_apply_rule(&self, _: &str, _: &DevfsRule) -> KResult<()> {
        Err(missing(Op::DevfsApplyRule))
    }
    fn devfs_next_rule(&self, _: &str, _: DevfsRuleId) -> KResult<DevfsRule> {
        Err(missing(Op::DevfsNextRule))
    }
    fn devfs_use_ruleset(&self, _: &str, _: u16) -> KResult<()> {
        Err(missing(Op::DevfsUseRuleset))
    }
    fn devfs_apply_ruleset(&self, _: &str, _: u16) -> KResult<()> {
        Err(missing(Op::DevfsApplyRuleset))
    }
    fn devfs_next_ruleset(&self, _: &str, _: u16) -> KResult<u16> {
        Err(missing(Op::DevfsNextRuleset))
    }
}

#[cfg(test)]
mod tests {
    use crate::syscalls::MockSyscalls;
    use crate::test_support::backend;
    use zelle_core::kernel::{DevfsRules, Errno, Op};

    /// The gap is explicit: ENOSYS with the reason, and no system call at all (the mock has no
    /// expectations, so any call would panic).
    #[test]
    fn devfs_calls_fail_with_enosys_naming_the_gap() {
        let k = backend(MockSyscalls::new());
        let err = k.devfs_use_ruleset("/dev", 4).unwrap_err();
        assert!(err.is(Op::DevfsUseRuleset, Errno::ENOSYS), "{err}");
        assert!(err.to_string().contains("struct devfs_rule"), "{err}");
        let err = k.devfs_next_ruleset("/dev", 0).unwrap_err();
        assert!(err.is(Op::DevfsNextRuleset, Errno::ENOSYS), "{err}");
    }
}
