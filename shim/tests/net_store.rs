//! zelle's network state in a file: shim processes attaching containers at the same time, on
//! one simulated machine, never hand out one address twice, and a restarted shim remembers.

mod common;

use common::jail;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use zelle_core::network::{
    AttachRequest, Dns, NetState, NetStore, NetworkConfig, NetworkError, Networks,
};
use zelle_shim::{load_networks, FileNetStore};
use zelle_sim::{SimConfig, SimKernel, STATE_ENV};

const PER_WORKER: usize = 8;

fn networks(sim_state: &Path, net_state: &Path) -> Networks<SimKernel, FileNetStore> {
    let kernel = SimKernel::shared(sim_state, SimConfig::default());
    Networks::new(Arc::new(kernel), FileNetStore::new(net_state))
}

fn attach(nets: &Networks<SimKernel, FileNetStore>, root: &Path, id: &str) -> String {
    let jid = jail(nets.kernel(), root, id);
    let request = AttachRequest {
        container_id: id.into(),
        network: "zelle".into(),
        jid,
        hostname: id.into(),
        ports: Vec::new(),
        dns: Dns::default(),
    };
    nets.attach(&request).unwrap().address.addr().to_string()
}

fn stored(store: &FileNetStore) -> NetState {
    let mut copy = None;
    store
        .transaction(&mut |state| {
            copy = Some(state.clone());
            Ok(())
        })
        .unwrap();
    copy.unwrap()
}

/// The body of the worker processes of `shim_processes_share_the_network_state`.
#[test]
#[ignore = "worker process of shim_processes_share_the_network_state; run only by that test"]
fn worker() {
    let env = |name: &str| {
        std::env::var(name).unwrap_or_else(|_| {
            panic!("{name} is not set: this is a worker of shim_processes_share_the_network_state, not a test to run alone")
        })
    };
    let name = env("ZELLE_TEST_WORKER");
    let sim_state = env(STATE_ENV);
    let net_state = env("ZELLE_TEST_NET_STATE");
    let root = env("ZELLE_TEST_ROOT");
    let nets = networks(Path::new(&sim_state), Path::new(&net_state));
    for i in 0..PER_WORKER {
        attach(&nets, Path::new(&root), &format!("{name}-{i}"));
    }
}

#[test]
fn shim_processes_share_the_network_state() {
    let dir = tempfile::tempdir().unwrap();
    let sim_state = dir.path().join("machine.json");
    let net_state = dir.path().join("networks.json");
    let root = dir.path().join("jails");
    SimKernel::reset_shared(&sim_state, &SimConfig::default()).unwrap();
    let nets = networks(&sim_state, &net_state);
    nets.create(&NetworkConfig::default_network()).unwrap();

    let workers: Vec<_> = ["a", "b", "c"]
        .iter()
        .map(|name| {
            Command::new(std::env::current_exe().unwrap())
                .args([
                    "--ignored",
                    "--exact",
                    "worker",
                    "--test-threads=1",
                    "--nocapture",
                ])
                // The harness's lines only; a failing worker's panic goes to stderr.
                .stdout(std::process::Stdio::null())
                .env(STATE_ENV, &sim_state)
                .env("ZELLE_TEST_NET_STATE", &net_state)
                .env("ZELLE_TEST_ROOT", &root)
                .env("ZELLE_TEST_WORKER", name)
                .spawn()
                .unwrap()
        })
        .collect();
    for mut worker in workers {
        assert!(worker.wait().unwrap().success(), "a worker failed");
    }

    let state = stored(&FileNetStore::new(&net_state));
    assert_eq!(state.containers.len(), 3 * PER_WORKER);
    let addresses: BTreeSet<_> = state
        .containers
        .values()
        .map(|c| format!("{:?}", c.address))
        .collect();
    assert_eq!(
        addresses.len(),
        3 * PER_WORKER,
        "an address was handed out twice"
    );

    // A restarted shim (a new store on the same file) hands out a fresh address.
    let restarted = networks(&sim_state, &net_state);
    let next = attach(&restarted, &root, "after-restart");
    assert!(
        !addresses.iter().any(|a| a.contains(&next)),
        "{next} reused"
    );
    let machine = restarted.kernel().snapshot();
    assert!(machine.check_invariants().is_empty(), "{}", machine.dump());
}

#[test]
fn networks_file_is_read_and_its_errors_name_the_file_or_field() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("networks.json");
    let only_default = load_networks(&path).unwrap();
    assert_eq!(only_default.len(), 1);

    std::fs::write(
        &path,
        r#"{"networks": [{"name": "web", "subnet": "10.78.0.0/24"}]}"#,
    )
    .unwrap();
    let names: Vec<_> = load_networks(&path)
        .unwrap()
        .into_iter()
        .map(|n| n.name)
        .collect();
    assert_eq!(names, ["zelle", "web"]);

    std::fs::write(&path, "{not json").unwrap();
    let err = load_networks(&path).unwrap_err();
    assert!(
        matches!(err, NetworkError::Syntax(ref m) if m.contains("networks.json")),
        "{err}"
    );

    std::fs::write(
        &path,
        r#"{"networks": [{"name": "web", "subnet": "10.77.3.0/24"}]}"#,
    )
    .unwrap();
    let err = load_networks(&path).unwrap_err();
    assert!(matches!(err, NetworkError::SubnetOverlap { .. }), "{err}");
    assert!(err.to_string().contains("subnet"), "{err}");
}
