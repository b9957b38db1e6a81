//! A shim process killed dead after each kernel call of a container's create and start (the
//! simulated machine and the network store in shared files, the state directory on disk),
//! then a `delete` in this process, with nothing of the dead one but its files: the machine,
//! the network store and the state directory must be as they were.
//!
//! The worker is this test binary run again (`--ignored --exact run_worker`).

use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use zelle_core::kernel::{Kernel, Stdio};
use zelle_core::network::{NetworkConfig, Networks};
use zelle_core::runtime::{ContainerStore, CreateRequest, RootfsMount, Runtime, RuntimeConfig};
use zelle_shim::{FileContainerStore, FileNetStore};
use zelle_sim::process::{Program, Script};
use zelle_sim::{SimConfig, SimKernel, DIED_EXIT_CODE, DIE_AFTER_ENV, STATE_ENV};

const DIR_ENV: &str = "ZELLE_TEST_DIR";
const SERVER: &str = "/usr/local/bin/server";

type FileRuntime = Runtime<dyn Kernel, FileContainerStore, FileNetStore>;

fn sim_config() -> SimConfig {
    SimConfig {
        trace_limit: 0,
        racct_enable: true,
        ..SimConfig::default()
    }
}

/// The runtime a shim process in `dir` has: every piece of state in a file there.
fn runtime(dir: &Path) -> FileRuntime {
    let kernel: Arc<dyn Kernel> =
        Arc::new(SimKernel::shared(dir.join("machine.json"), sim_config()));
    Runtime::new(
        Networks::new(kernel, FileNetStore::new(dir.join("networks.json"))),
        FileContainerStore::new(dir.join("containers")).unwrap(),
        RuntimeConfig::default(),
    )
}

/// The container: a root, a bind mount, the "zelle" network with a published port, limits.
fn request(dir: &Path) -> CreateRequest {
    let bundle = dir.join("bundle");
    let snapshot = dir.join("snapshot");
    let data = dir.join("data");
    for d in [
        bundle.join("rootfs"),
        snapshot.join("usr/local/bin"),
        data.clone(),
    ] {
        std::fs::create_dir_all(d).unwrap();
    }
    std::fs::write(snapshot.join("usr/local/bin/server"), b"").unwrap();
    let text = |p: &Path| p.to_str().unwrap().to_string();
    let config = json!({
        "ociVersion": "1.1.0",
        "process": {"args": ["server"], "cwd": "/", "env": ["PATH=/usr/local/bin"]},
        "root": {"path": "rootfs"},
        "mounts": [{"destination": "/data", "type": "bind", "source": text(&data), "options": ["rbind"]}],
        "annotations": {
            "org.zelle.network": "zelle",
            "org.zelle.ports": "8080:80",
            "org.zelle.rctl": "maxproc=20",
        },
    });
    CreateRequest {
        id: "doomed".into(),
        bundle: text(&bundle),
        config: config.to_string().into_bytes(),
        rootfs: vec![RootfsMount {
            kind: "bind".into(),
            source: text(&snapshot),
            options: Vec::new(),
        }],
    }
}

#[test]
#[ignore = "worker process of a_shim_killed_after_any_call_of_create_and_start_leaves_what_delete_undoes"]
fn run_worker() {
    let dir =
        PathBuf::from(std::env::var(DIR_ENV).expect("run_worker is a worker of another test"));
    std::env::var(DIE_AFTER_ENV).expect("run_worker needs its death set");
    let runtime = runtime(&dir);
    runtime.create(&request(&dir)).unwrap();
    runtime.start("doomed", Stdio::default()).unwrap();
}

#[test]
fn a_shim_killed_after_any_call_of_create_and_start_leaves_what_delete_undoes() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    let mut died = 0;
    for n in 1.. {
        // A fresh machine with the network made and the server program known.
        let _ = std::fs::remove_dir_all(dir.join("containers"));
        let _ = std::fs::remove_file(dir.join("networks.json"));
        SimKernel::reset_shared(&dir.join("machine.json"), &sim_config()).unwrap();
        let setup = runtime(dir);
        setup
            .networks()
            .create(&NetworkConfig::new(
                "zelle",
                "10.79.0.0/16".parse().unwrap(),
            ))
            .unwrap();
        // As a shim does at start-up.
        let scratch = dir.join("devfs");
        std::fs::create_dir_all(&scratch).unwrap();
        setup
            .install_devfs_ruleset(scratch.to_str().unwrap())
            .unwrap();
        let sim = SimKernel::shared(dir.join("machine.json"), sim_config());
        sim.with_machine(|m| {
            m.procs.programs.insert(
                SERVER.into(),
                Program::Script(Script::runs_until_signalled()),
            )
        })
        .unwrap();
        let before = sim.snapshot().dump();

        let status = Command::new(std::env::current_exe().unwrap())
            .args([
                "--ignored",
                "--exact",
                "run_worker",
                "--test-threads=1",
                "--nocapture",
            ])
            .stdout(std::process::Stdio::null())
            .env(STATE_ENV, dir.join("machine.json"))
            .env(DIR_ENV, dir)
            .env(DIE_AFTER_ENV, n.to_string())
            .status()
            .unwrap();
        if status.success() {
            break;
        }
        assert_eq!(
            status.code(),
            Some(DIED_EXIT_CODE),
            "killed after call {n}: it failed of itself"
        );
        died += 1;

        let fresh = runtime(dir);
        if fresh.store().load("doomed").unwrap().is_some() {
            fresh
                .delete("doomed")
                .unwrap_or_else(|e| panic!("killed after call {n}: delete: {e}"));
        }
        let machine = sim.snapshot();
        assert_eq!(
            machine.check_invariants(),
            Vec::<String>::new(),
            "killed after call {n}"
        );
        assert_eq!(
            machine.dump(),
            before,
            "killed after call {n}: the machine differs"
        );
        assert!(
            fresh.store().ids().unwrap().is_empty(),
            "killed after call {n}"
        );
        assert_eq!(
            fresh.networks().container("doomed").unwrap(),
            None,
            "killed after call {n}"
        );
    }
    assert!(died > 20, "create and start took only {died} calls?");
    eprintln!(
        "killed after each of the {died} calls of create and start; each delete left nothing"
    );
}
