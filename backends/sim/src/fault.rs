//! Kernel operations by kind, and the fault plan that makes chosen calls fail.
//!
//! A fault is decided before the operation touches any state, so a failed call changes
//! nothing — like a kernel that refuses a request up front.

use crate::rng::Rng;
use serde::{Deserialize, Serialize};
use std::fmt;
use zelle_core::kernel::Errno;

macro_rules! ops {
    ($($variant:ident => $name:literal,)*) => {
        /// One kind of kernel operation: a trait method of the contract.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum Op { $($variant,)* }

        impl Op {
            pub const ALL: &'static [Op] = &[$(Op::$variant,)*];

            /// The system call or request the operation stands for.
            pub fn name(self) -> &'static str {
                match self { $(Op::$variant => $name,)* }
            }
        }
    };
}

ops! {
    CreateInterface => "SIOCIFCREATE2",
    DestroyInterface => "SIOCIFDESTROY",
    RenameInterface => "SIOCSIFNAME",
    InterfaceFlags => "SIOCGIFFLAGS",
    SetInterfaceFlags => "SIOCSIFFLAGS",
    SetMtu => "SIOCSIFMTU",
    AddInetAlias => "SIOCAIFADDR",
    DeleteInetAlias => "SIOCDIFADDR",
    AddInet6Alias => "SIOCAIFADDR_IN6",
    DeleteInet6Alias => "SIOCDIFADDR_IN6",
    BridgeAddMember => "BRDGADD",
    BridgeDeleteMember => "BRDGDEL",
    MoveToJail => "SIOCSIFVNET",
    ReclaimFromJail => "SIOCSIFRVNET",
    ListInterfaces => "getifaddrs",
    AddRoute => "RTM_ADD",
    DeleteRoute => "RTM_DELETE",
    ListRoutes => "NET_RT_DUMP",
    JailSet => "jail_set",
    JailGet => "jail_get",
    JailRemove => "jail_remove",
    PfBegin => "DIOCXBEGIN",
    PfAddRule => "DIOCADDRULE",
    PfCommit => "DIOCXCOMMIT",
    PfRollback => "DIOCXROLLBACK",
    PfRules => "DIOCGETRULES",
    PfAnchors => "DIOCGETRULESETS",
    Nmount => "nmount",
    Unmount => "unmount",
    ListMounts => "getfsstat",
    Spawn => "spawn",
    Signal => "kill",
    Wait => "wait4",
    JailProcesses => "kern.proc",
    AcquireReaper => "procctl",
    ModuleLoaded => "modfind",
    Sysctl => "sysctl",
    SetSysctl => "sysctl-write",
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Op {
    type Err = String;
    fn from_str(s: &str) -> Result<Op, String> {
        Op::ALL
            .iter()
            .copied()
            .find(|op| op.name() == s || format!("{op:?}") == s)
            .ok_or_else(|| format!("unknown operation {s:?}"))
    }
}

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
