//! The machine as a whole: determinism, fault plans, the panicked state, and one machine shared
//! by several processes through its state file.

mod common;

use std::path::Path;
use std::process::Command;
use zelle_core::kernel::{Errno, IfFlags, KernelError, NetworkInterfaces, Vnet};
use zelle_sim::{FaultPlan, Op, SimConfig, SimKernel, STATE_ENV};

/// A fixed script of interface operations whose arguments come from `seed`, run under a
/// fault plan that fails a seeded share of the calls.
fn scripted_run(seed: u64) -> (Vec<String>, String) {
    let kernel = SimKernel::new(SimConfig {
        seed,
        faults: FaultPlan::default().rate(&[], 200_000, Errno::EIO),
        ..SimConfig::default()
    });
    let mut state = seed;
    for _ in 0..200 {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let n = (state >> 33) % 8;
        let _ = match state >> 61 {
            0 | 1 => kernel.create_interface(Vnet::Host, "epair").map(drop),
            2 => kernel.create_interface(Vnet::Host, "bridge").map(drop),
            3 => kernel.destroy_interface(Vnet::Host, &format!("epair{n}a")),
            4 => kernel.destroy_interface(Vnet::Host, &format!("bridge{n}")),
            5 => kernel.bridge_add_member(Vnet::Host, "bridge0", &format!("epair{n}a")),
            _ => kernel.set_interface_flags(Vnet::Host, &format!("epair{n}b"), IfFlags::UP),
        };
    }
    let machine = kernel.snapshot();
    let trace = machine.trace.iter().map(|e| e.to_string()).collect();
    (trace, machine.dump())
}

#[test]
fn one_seed_gives_one_trace() {
    let (trace, dump) = scripted_run(42);
    assert_eq!(trace.len(), 200);
    assert!(trace.iter().any(|line| line.contains("(injected)")));
    assert_eq!((trace.clone(), dump), scripted_run(42));
    assert_ne!(trace, scripted_run(43).0);
}

#[test]
fn nth_call_fault_fails_exactly_that_call_and_changes_nothing() {
    let kernel = SimKernel::new(SimConfig {
        faults: FaultPlan::default().nth(Op::CreateInterface, 2, Errno::ENOMEM),
        ..SimConfig::default()
    });
    let before_first = kernel.snapshot().dump();
    kernel.create_interface(Vnet::Host, "bridge").unwrap();
    let before = kernel.snapshot().dump();
    assert_ne!(before, before_first);
    let err = kernel.create_interface(Vnet::Host, "bridge").unwrap_err();
    assert_eq!(err.code(), Some(Errno::ENOMEM));
    assert_eq!(
        kernel.snapshot().dump(),
        before,
        "a failed call changed the machine"
    );
    kernel.create_interface(Vnet::Host, "bridge").unwrap();
}

#[test]
fn a_panicked_machine_answers_nothing() {
    let kernel = SimKernel::seeded(1);
    kernel
        .with_machine(|m| m.panicked = Some("test".into()))
        .unwrap();
    let err = kernel.create_interface(Vnet::Host, "bridge").unwrap_err();
    assert!(matches!(err, KernelError::Panic(_)), "{err:?}");
    assert!(kernel.snapshot().dump().starts_with("*** kernel panic"));
}

/// The role a worker process plays, set by the test that starts it.
const ROLE_ENV: &str = "ZELLE_SIM_TEST_ROLE";

/// Run `child_worker` below in a new process of this test binary.
fn spawn_worker(state: &Path, role: &str) -> std::process::Child {
    Command::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", "child_worker", "--nocapture"])
        .args(["--test-threads=1"])
        .env(STATE_ENV, state)
        .env(ROLE_ENV, role)
        // The harness's lines only; a failing worker's panic goes to stderr.
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("spawn worker")
}

/// The body of the worker processes of `processes_share_one_machine`.
#[test]
#[ignore = "worker process of processes_share_one_machine; run only by that test"]
fn child_worker() {
    let role = std::env::var(ROLE_ENV).unwrap_or_else(|_| {
        panic!(
            "child_worker runs only as a worker of processes_share_one_machine ({ROLE_ENV} unset)"
        )
    });
    let kernel = SimKernel::from_env().expect("state file");
    match role.as_str() {
        "observer" => {
            // Sees what the parent created before it started.
            let names: Vec<_> = kernel
                .list_interfaces(Vnet::Host)
                .unwrap()
                .into_iter()
                .map(|i| i.name)
                .collect();
            assert!(names.contains(&"bridge0".to_string()), "{names:?}");
            kernel.create_interface(Vnet::Host, "bridge42").unwrap();
        }
        "creator" => {
            for _ in 0..20 {
                let a = kernel.create_interface(Vnet::Host, "epair").unwrap();
                kernel
                    .set_interface_flags(Vnet::Host, &a, IfFlags::UP)
                    .unwrap();
            }
        }
        other => panic!("{ROLE_ENV}={other}: no such worker role"),
    }
}

#[test]
fn processes_share_one_machine() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("machine.json");
    SimKernel::reset_shared(&state, &SimConfig::default()).unwrap();
    let kernel = SimKernel::shared(&state, SimConfig::default());
    kernel.create_interface(Vnet::Host, "bridge").unwrap();

    let observer = spawn_worker(&state, "observer").wait_with_output().unwrap();
    assert!(observer.status.success(), "observer failed");
    assert!(kernel
        .list_interfaces(Vnet::Host)
        .unwrap()
        .iter()
        .any(|i| i.name == "bridge42"));

    // Four processes create epairs at once: every call lands, none is lost or duplicated.
    let workers: Vec<_> = (0..4).map(|_| spawn_worker(&state, "creator")).collect();
    for mut worker in workers {
        assert!(worker.wait().unwrap().success(), "worker failed");
    }
    let machine = kernel.snapshot();
    let epairs = kernel
        .list_interfaces(Vnet::Host)
        .unwrap()
        .into_iter()
        .filter(|i| i.name.starts_with("epair"))
        .count();
    assert_eq!(epairs, 4 * 20 * 2);
    assert_eq!(machine.calls[&Op::CreateInterface], 2 + 4 * 20);
    assert!(machine.check_invariants().is_empty(), "{}", machine.dump());
}
