//! Resource limits: the rctl(2) system calls (sys/kern/kern_rctl.c `sys_rctl_add_rule`,
//! `sys_rctl_remove_rule`, `sys_rctl_get_rules`, `sys_rctl_get_racct`).
//!
//! Each takes the rule as text: the contract's rule printed in the kernel's grammar with its
//! NUL (`rctl_read_inbuf` copies it with copyinstr). Answers come back as text in an output
//! buffer; one too small is ERANGE (`rctl_write_outbuf`), so the buffer doubles and the call
//! is repeated, as rctl(8) does, up to kern.racct.rctl.maxbufsize's default (16 MiB), past
//! which the kernel answers E2BIG.

use crate::syscalls::consts::{
    SYS_RCTL_ADD_RULE, SYS_RCTL_GET_RACCT, SYS_RCTL_GET_RULES, SYS_RCTL_REMOVE_RULE,
};
use crate::{cstr_bytes, fail, FreeBsd, Syscalls};
use core::ffi::c_int;
use zelle_core::kernel::rctl::{parse_racct, parse_rules, Racct, RctlParseError};
use zelle_core::kernel::{Errno, KResult, KernelError, Op, RctlFilter, RctlRule, ResourceLimits};

/// The first output buffer: a jail's 25 counters fit many times over.
const FIRST_OUTBUF: usize = 4096;
/// `RCTL_MAX_OUTBUFSIZE` (kern_rctl.c): kern.racct.rctl.maxbufsize's default.
const MAX_OUTBUF: usize = 16 * 1024 * 1024;

/// The request text with its NUL. A NUL inside would cut the rule short where the kernel
/// reads it: refused here (EINVAL) before any call.
fn inbuf(op: Op, text: &str) -> KResult<Vec<u8>> {
    if text.contains('\0') {
        return Err(KernelError::with_message(
            op,
            Errno::EINVAL,
            format!("rctl rule {text:?} contains a NUL byte"),
        ));
    }
    let mut bytes = text.as_bytes().to_vec();
    bytes.push(0);
    Ok(bytes)
}

fn bad_answer(op: Op) -> impl Fn(RctlParseError) -> KernelError {
    move |e| KernelError::with_message(op, Errno::EIO, e.to_string())
}

impl<S: Syscalls> FreeBsd<S> {
    /// A call that answers nothing (add, remove): no output buffer.
    fn rctl_call(&self, op: Op, number: c_int, text: &str) -> KResult<()> {
        let request = inbuf(op, text)?;
        self.sys
            .rctl(number, &request, &mut [])
            .map_err(|e| fail(op, e))
    }

    /// A call that answers text, with the output buffer grown until the text fits.
    fn rctl_query(&self, op: Op, number: c_int, text: &str) -> KResult<String> {
        let request = inbuf(op, text)?;
        let mut size = FIRST_OUTBUF;
        loop {
            let mut out = vec![0u8; size];
            match self.sys.rctl(number, &request, &mut out) {
                Ok(()) => return Ok(String::from_utf8_lossy(cstr_bytes(&out)).into_owned()),
                Err(Errno::ERANGE) if size < MAX_OUTBUF => size *= 2,
                Err(e) => return Err(fail(op, e)),
            }
        }
    }
}

impl<S: Syscalls> ResourceLimits for FreeBsd<S> {
    fn rctl_add_rule(&self, rule: &RctlRule) -> KResult<()> {
        self.rctl_call(Op::RctlAddRule, SYS_RCTL_ADD_RULE, &rule.to_string())
    }

    fn rctl_remove_rule(&self, filter: &RctlFilter) -> KResult<()> {
        self.rctl_call(
            Op::RctlRemoveRule,
            SYS_RCTL_REMOVE_RULE,
            &filter.to_string(),
        )
    }

    fn rctl_get_rules(&self, filter: &RctlFilter) -> KResult<Vec<RctlRule>> {
        let op = Op::RctlGetRules;
        let text = self.rctl_query(op, SYS_RCTL_GET_RULES, &filter.to_string())?;
        parse_rules(&text).map_err(bad_answer(op))
    }

    fn rctl_get_racct(&self, filter: &RctlFilter) -> KResult<Racct> {
        let op = Op::RctlGetRacct;
        let text = self.rctl_query(op, SYS_RCTL_GET_RACCT, &filter.to_string())?;
        parse_racct(&text).map_err(bad_answer(op))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syscalls::MockSyscalls;
    use crate::test_support::backend;
    use mockall::Sequence;
    use zelle_core::kernel::{RctlAction, Resource};

    #[test]
    fn syscall_numbers_are_syscalls_masters() {
        // sys/kern/syscalls.master: 525 rctl_get_racct … 529 rctl_remove_rule.
        assert_eq!(
            [
                SYS_RCTL_GET_RACCT,
                SYS_RCTL_GET_RULES,
                SYS_RCTL_ADD_RULE,
                SYS_RCTL_REMOVE_RULE
            ],
            [525, 526, 528, 529]
        );
    }

    #[test]
    fn add_rule_passes_the_rule_text_with_its_nul_and_no_output_buffer() {
        let mut mock = MockSyscalls::new();
        mock.expect_rctl()
            .withf(|&n, inbuf, out| {
                n == 528 && inbuf == b"jail:web:memoryuse:deny=536870912\0" && out.is_empty()
            })
            .times(1)
            .returning(|_, _, _| Ok(()));
        let k = backend(mock);
        let rule = RctlRule::jail("web", Resource::MemoryUse, RctlAction::Deny, 536_870_912);
        k.rctl_add_rule(&rule).unwrap();
    }

    #[test]
    fn remove_rule_passes_the_filter_and_returns_the_kernels_errno() {
        let mut mock = MockSyscalls::new();
        mock.expect_rctl()
            .withf(|&n, inbuf, out| n == 529 && inbuf == b"jail:web\0" && out.is_empty())
            .times(1)
            .returning(|_, _, _| Err(Errno::ESRCH));
        let err = backend(mock)
            .rctl_remove_rule(&RctlFilter::jail("web"))
            .unwrap_err();
        assert_eq!(err, KernelError::errno(Op::RctlRemoveRule, Errno::ESRCH));
    }

    #[test]
    fn a_nul_in_a_name_is_refused_before_any_call() {
        let k = backend(MockSyscalls::new());
        let err = k.rctl_remove_rule(&RctlFilter::jail("a\0b")).unwrap_err();
        assert_eq!(err.code(), Some(Errno::EINVAL));
        assert_eq!(err.op(), Some(Op::RctlRemoveRule));
    }

    #[test]
    fn get_racct_grows_its_buffer_on_erange_and_parses_the_answer() {
        let mut mock = MockSyscalls::new();
        let mut seq = Sequence::new();
        mock.expect_rctl()
            .withf(|&n, inbuf, out| n == 525 && inbuf == b"jail:web\0" && out.len() == 4096)
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_, _, _| Err(Errno::ERANGE));
        mock.expect_rctl()
            .withf(|&n, _, out| n == 525 && out.len() == 8192)
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_, _, out| {
                let text = b"cputime=2,maxproc=3,pcpu=50\0";
                out[..text.len()].copy_from_slice(text);
                Ok(())
            });
        let racct = backend(mock)
            .rctl_get_racct(&RctlFilter::jail("web"))
            .unwrap();
        assert_eq!(
            racct,
            vec![
                (Resource::CpuTime, 2),
                (Resource::MaxProc, 3),
                (Resource::Pcpu, 50)
            ]
        );
    }

    #[test]
    fn get_rules_stops_at_the_kernels_limit() {
        let mut mock = MockSyscalls::new();
        mock.expect_rctl()
            .withf(|&n, inbuf, _| n == 526 && inbuf == b"jail\0")
            .times(13)
            .returning(|_, _, _| Err(Errno::ERANGE));
        let filter = RctlFilter {
            subject: Some(zelle_core::kernel::rctl::SubjectType::Jail),
            ..RctlFilter::default()
        };
        let err = backend(mock).rctl_get_rules(&filter).unwrap_err();
        assert_eq!(err.code(), Some(Errno::ERANGE));
    }

    #[test]
    fn get_rules_parses_the_rules() {
        let mut mock = MockSyscalls::new();
        mock.expect_rctl()
            .withf(|&n, inbuf, _| n == 526 && inbuf == b"jail:web\0")
            .returning(|_, _, out| {
                let text = b"jail:web:maxproc:deny=10,jail:web:pcpu:deny=50/process\0";
                out[..text.len()].copy_from_slice(text);
                Ok(())
            });
        let rules = backend(mock)
            .rctl_get_rules(&RctlFilter::jail("web"))
            .unwrap();
        assert_eq!(rules.len(), 2);
        assert_eq!(rules[1].to_string(), "jail:web:pcpu:deny=50/process");
    }
}
