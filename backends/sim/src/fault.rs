//! The fault plan that makes chosen kernel calls fail, by operation (`zelle_core::kernel::Op`).
//!
//! A fault is decided before the operation touches any state, so a failed call changes
//! nothing — like a kernel that refuses a request up front.

use crate::rng::Rng;
use serde::{Deserialize, Serialize};
use zelle_core::kernel::Errno;
pub use zelle_core::kernel::Op;

/// One way of making calls fail.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FaultRule {
    /// The `nth` call (counting from 1) of `op` fails with `errno`.
    Nth { op: Op, nth: u64, errno: Errno },
    /// Each call of one of `ops` (every operation when empty) fails with probability
    /// `per_million` / 1 000 000, decided by the machine's seeded generator.
    Rate {
        ops: Vec<Op>,
        per_million: u32,
        errno: Errno,
    },
}

/// The faults a simulated machine injects, in order of precedence.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultPlan {
    pub rules: Vec<FaultRule>,
}

impl FaultPlan {
    pub fn nth(mut self, op: Op, nth: u64, errno: Errno) -> Self {
        self.rules.push(FaultRule::Nth { op, nth, errno });
        self
    }

    pub fn rate(mut self, ops: &[Op], per_million: u32, errno: Errno) -> Self {
        self.rules.push(FaultRule::Rate {
            ops: ops.to_vec(),
            per_million,
            errno,
        });
        self
    }

    /// Whether the `count`th call of `op` fails, and with what.
    pub(crate) fn decide(&self, op: Op, count: u64, rng: &mut Rng) -> Option<Errno> {
        for rule in &self.rules {
            match rule {
                FaultRule::Nth { op: o, nth, errno } if *o == op && *nth == count => {
                    return Some(*errno)
                }
                FaultRule::Rate {
                    ops,
                    per_million,
                    errno,
                } if (ops.is_empty() || ops.contains(&op)) && rng.chance(*per_million) => {
                    return Some(*errno)
                }
                _ => {}
            }
        }
        None
    }
}
