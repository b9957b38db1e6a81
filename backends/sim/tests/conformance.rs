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

/// A machine with the Linux ABI loaded (linux64, which brings linux_common and with it the
/// linux* jail parameters).
fn linux_machine() -> zelle_sim::SimKernel {
    let k = zelle_sim::SimKernel::seeded(1);
    k.with_machine(|m| m.load_module("linux64")).unwrap();
    k
}

/// The jail parameter rules again where linux* exist.
mod with_linux {
    use super::*;
    zelle_core::jail_params_conformance_tests!(linux_machine, common::TempScratch::new);
}

/// A 13.x machine: nullfs has no file mounts there, procctl(2) no PROC_NO_NEW_PRIVS_CTL.
fn machine_13() -> zelle_sim::SimKernel {
    zelle_sim::SimKernel::new(zelle_sim::SimConfig {
        seed: 1,
        release: zelle_sim::Release::V13,
        ..zelle_sim::SimConfig::default()
    })
}

/// The mount type rules again on a 13.x machine.
mod release_13 {
    use super::*;
    zelle_core::mount_types_conformance_tests!(machine_13, common::TempScratch::new);
}

/// PROC_NO_NEW_PRIVS_CTL on a 13.x machine: EINVAL, in the spawn's own step (the rule reads
/// the release from kern.osreldate; the default machine is 14.1).
#[test]
fn no_new_privileges_on_13_is_einval() {
    zelle_core::conformance::process::no_new_privileges_follows_the_release(
        &machine_13(),
        &common::TempScratch::new(),
    );
}
