//! The kernel conformance suite of `zelle-core`, run against the simulated machine.

mod common;

zelle_core::conformance_tests!(|| zelle_sim::SimKernel::seeded(1), common::TempScratch::new);

/// The rules that need kern.racct.enable=1: on a machine booted with it.
fn racct_machine() -> zelle_sim::SimKernel {
    zelle_sim::SimKernel::new(zelle_sim::SimConfig {
        seed: 1,
        racct_enable: true,
        ..zelle_sim::SimConfig::default()
    })
}

zelle_core::rctl_conformance_tests!(racct_machine, common::TempScratch::new);

// devfs rulesets (also on the ABI arm, tests/conformance_abi.rs).
zelle_core::devfs_conformance_tests!(|| zelle_sim::SimKernel::seeded(1), common::TempScratch::new);
