//! zelle's core: the kernel contract and, in later modules, all policy.
//!
//! `core` never touches the operating system. Everything it asks of the kernel goes through
//! the traits in [`kernel`], which two backends implement: the real FreeBSD kernel
//! (`zelle-freebsd`) and a simulated FreeBSD machine (`zelle-sim`).

/// The kernel conformance suite, for backends' test crates only (feature `conformance`): its
/// rules panic on a failed expectation, which no production build should carry.
#[cfg(feature = "conformance")]
pub mod conformance;
pub mod kernel;
pub mod network;
pub mod runtime;
