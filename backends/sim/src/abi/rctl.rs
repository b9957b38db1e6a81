//! rctl(2) through the door: the system call number picks the call, the input buffer is read
//! as `rctl_read_inbuf` reads it (all `inbuflen` bytes, the text up to its NUL), and the answer
//! is copied out with its NUL as `rctl_write_outbuf` does (sys/kern/kern_rctl.c). The
//! numbers are syscalls.master's, read here on their own: 525 rctl_get_racct, 526
//! rctl_get_rules, 528 rctl_add_rule, 529 rctl_remove_rule (527 rctl_get_limits is not used).

use super::SimSyscalls;
use crate::fault::Op;
use crate::machine::failed;
use core::ffi::c_int;
use zelle_core::kernel::{Errno, Vnet};

impl SimSyscalls {
    pub(super) fn rctl_syscall(
        &self,
        number: c_int,
        inbuf: &[u8],
        outbuf: &mut [u8],
    ) -> Result<(), Errno> {
        // A thread inside an `in_jail` task is a jailed caller.
        let jailed = self.vnet() != Vnet::Host;
        // The trace shows the rule text, as through the typed door.
        let text = {
            let end = inbuf.iter().position(|&b| b == 0).unwrap_or(inbuf.len());
            String::from_utf8_lossy(&inbuf[..end]).into_owned()
        };
        let answer = match number {
            528 => {
                let op = Op::RctlAddRule;
                self.call(op, &text, |m| {
                    m.rctl_add_rule_rule(inbuf, jailed).map_err(failed(op))
                })?;
                None
            }
            529 => {
                let op = Op::RctlRemoveRule;
                self.call(op, &text, |m| {
                    m.rctl_remove_rule_rule(inbuf, jailed).map_err(failed(op))
                })?;
                None
            }
            526 => {
                let op = Op::RctlGetRules;
                Some(self.call(op, &text, |m| {
                    m.rctl_get_rules_rule(inbuf, outbuf.len(), jailed)
                        .map_err(failed(op))
                })?)
            }
            525 => {
                let op = Op::RctlGetRacct;
                Some(self.call(op, &text, |m| {
                    m.rctl_get_racct_rule(inbuf, outbuf.len(), jailed)
                        .map_err(failed(op))
                })?)
            }
            // Any other number is not a call the door knows (the kernel's nosys).
            _ => return Err(Errno::ENOSYS),
        };
        if let Some(answer) = answer {
            // The machine already checked that the text and its NUL fit.
            let bytes = answer.as_bytes();
            outbuf[..bytes.len()].copy_from_slice(bytes);
            outbuf[bytes.len()] = 0;
        }
        Ok(())
    }
}
