//! A simulated FreeBSD machine that implements zelle's whole kernel contract.
//!
//! Each rule it follows names the FreeBSD source it comes from (see ../shared/FACTS.md §1 and
//! FACTS-kernel-errno.md in the project's shared notes). The machine is deterministic: one seed
//! decides every choice, and a fault plan makes chosen calls fail.

pub mod abi;
pub mod devfs;
pub mod fault;
mod files;
pub mod host;
mod hostos;
mod inspect;
pub mod jail;
pub mod kernel;
pub mod machine;
pub mod mount;
pub mod net;
pub mod pf;
pub mod process;
pub mod rctl;
pub mod rng;
mod store;

pub use fault::{FaultPlan, FaultRule, Op};
pub use kernel::{SimKernel, SimulatedDeath};
pub use machine::{Machine, SimConfig, TraceEntry};
pub use store::{DIED_EXIT_CODE, DIE_AFTER_ENV, STATE_ENV};
pub use zelle_core::kernel::Release;
