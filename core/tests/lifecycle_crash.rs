//! A runtime stopped dead after its Nth kernel call, for every N, during create and during
//! start (its memory thrown away by unwinding out of it), then a fresh runtime's delete from
//! the state directory alone: nothing of the container may remain.

mod runtime_support;

use runtime_support::*;
use serde_json::json;
use std::panic::{catch_unwind, AssertUnwindSafe};
use zelle_core::kernel::Stdio;
use zelle_core::network::{NetworkConfig, DEFAULT_SUBNET};
use zelle_core::runtime::{ContainerStore, CreateRequest};
use zelle_sim::{SimConfig, SimulatedDeath};

/// A container with everything create makes: the root, config mounts, a jail, a network
/// attachment with a published port, and rctl limits.
fn full_request(host: &Host, id: &str) -> CreateRequest {
    let mut cfg = config(&["server"]);
    let data = host.host_dir(&format!("{id}-data"));
    cfg["mounts"].as_array_mut().unwrap().push(
        json!({"destination": "/data", "type": "bind", "source": data, "options": ["rbind", "ro"]}),
    );
    cfg["annotations"] = json!({
        "org.zelle.network": "zelle",
        "org.zelle.ports": "8080:80",
        "org.zelle.rctl": "memoryuse=64m,maxproc=20",
    });
    host.bundle(id, cfg)
}

fn host(seed: u64) -> Host {
    let host = Host::typed(SimConfig {
        seed,
        racct_enable: true,
        ..SimConfig::default()
    });
    let network = NetworkConfig::new("zelle", DEFAULT_SUBNET);
    host.runtime.networks().create(&network).unwrap();
    host
}

/// Run `step` with the kernel set to kill it after `n` calls; true when it died.
fn dies(host: &Host, n: u64, step: impl FnOnce()) -> bool {
    host.sim().die_after_calls(Some(n));
    let outcome = catch_unwind(AssertUnwindSafe(step));
    host.sim().die_after_calls(None);
    match outcome {
        Ok(()) => false,
        Err(payload) if payload.is::<SimulatedDeath>() => true,
        Err(payload) => std::panic::resume_unwind(payload),
    }
}

/// Delete from the state directory with a fresh runtime, and check nothing is left.
fn clean_up_and_check(host: &Host, before: &str, id: &str, when: &str) {
    let fresh = host.fresh_runtime();
    if host.containers.load(id).unwrap().is_some() {
        // A dead init is what containerd's delete finds after the shim died: the jail's
        // removal ends whatever runs.
        fresh
            .delete(id)
            .unwrap_or_else(|e| panic!("{when}: delete failed: {e}"));
    }
    assert_eq!(host.problems(), Vec::<String>::new(), "{when}");
    assert!(host.containers.ids().unwrap().is_empty(), "{when}");
    assert_eq!(host.dump(), before, "{when}: the machine differs");
    assert_eq!(
        host.runtime.networks().container(id).unwrap(),
        None,
        "{when}"
    );
}

#[test]
fn a_runtime_killed_after_any_call_of_create_leaves_what_delete_undoes() {
    let mut n = 1;
    loop {
        let host = host(n);
        let before = host.dump();
        let request = full_request(&host, "crash");
        let died = dies(&host, n, || {
            host.runtime.create(&request).unwrap();
        });
        if !died {
            // Create finished within n calls: every point of it has been tried.
            assert!(n > 10, "create made only {n} calls");
            host.runtime.delete("crash").unwrap();
            assert_eq!(host.dump(), before);
            break;
        }
        clean_up_and_check(
            &host,
            &before,
            "crash",
            &format!("died after call {n} of create"),
        );
        n += 1;
    }
}

#[test]
fn a_runtime_killed_after_any_call_of_start_leaves_what_delete_undoes() {
    let mut n = 1;
    loop {
        let host = host(100 + n);
        let before = host.dump();
        host.runtime.create(&full_request(&host, "crash")).unwrap();
        let died = dies(&host, n, || {
            host.runtime.start("crash", Stdio::default()).unwrap();
        });
        if !died {
            let fresh = host.fresh_runtime();
            fresh
                .kill("crash", None, zelle_core::kernel::Signal::SIGKILL, false)
                .unwrap();
            host.runtime.reap().unwrap();
            clean_up_and_check(&host, &before, "crash", "start finished");
            break;
        }
        clean_up_and_check(
            &host,
            &before,
            "crash",
            &format!("died after call {n} of start"),
        );
        n += 1;
    }
}
