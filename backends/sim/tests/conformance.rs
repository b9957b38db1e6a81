//! The kernel conformance suite of `zelle-core`, run against the simulated machine.

mod common;

zelle_core::conformance_tests!(|| zelle_sim::SimKernel::seeded(1), common::TempScratch::new);
