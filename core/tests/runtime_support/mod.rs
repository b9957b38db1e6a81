//! Shared support for the runtime tests: a simulated machine, a runtime on it, and bundles in
//! temporary directories whose roots hold the files a process lookup needs.
#![allow(dead_code)]

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use zelle_core::kernel::Kernel;
use zelle_core::network::{MemoryStore, Networks};
use zelle_core::runtime::{
    CreateRequest, MemoryContainerStore, RootfsMount, Runtime, RuntimeConfig,
};
use zelle_sim::process::{Program, Script};
use zelle_sim::{SimConfig, SimKernel};

pub type TestRuntime = Runtime<dyn Kernel, MemoryContainerStore, Arc<MemoryStore>>;

/// Programs every test root has, as files (for the PATH lookup) and as virtual programs (for
/// the simulated machine to run).
pub const SERVER: &str = "/usr/local/bin/server";

pub struct Host {
    pub sim: Arc<SimKernel>,
    pub runtime: TestRuntime,
    pub containers: MemoryContainerStore,
    pub net_store: Arc<MemoryStore>,
    dir: tempfile::TempDir,
}

impl Host {
    pub fn new(seed: u64) -> Self {
        Host::with_config(SimConfig {
            seed,
            ..SimConfig::default()
        })
    }

    pub fn with_config(config: SimConfig) -> Self {
        let sim = Arc::new(SimKernel::new(config));
        sim.with_machine(|m| {
            m.procs.programs.insert(
                SERVER.to_string(),
                Program::Script(Script::runs_until_signalled()),
            );
        })
        .unwrap();
        let containers = MemoryContainerStore::default();
        let net_store = Arc::new(MemoryStore::default());
        let runtime = runtime_on(&sim, &containers, &net_store);
        Host {
            sim,
            runtime,
            containers,
            net_store,
            dir: tempfile::tempdir().expect("a temporary directory"),
        }
    }

    /// A second runtime on the same machine and stores: what a fresh process finds.
    pub fn fresh_runtime(&self) -> TestRuntime {
        runtime_on(&self.sim, &self.containers, &self.net_store)
    }

    pub fn dump(&self) -> String {
        self.sim.snapshot().dump()
    }

    pub fn problems(&self) -> Vec<String> {
        self.sim.snapshot().check_invariants()
    }

    /// A bundle directory for container `id`: config.json from `config` (root.path set to
    /// "rootfs", root.readonly kept), an empty rootfs mount point, and a snapshot directory with a small FreeBSD
    /// tree that `rootfs` mounts on it.
    pub fn bundle(&self, id: &str, mut config: Value) -> CreateRequest {
        let bundle = self.dir.path().join(id);
        let snapshot = self.dir.path().join(format!("{id}-snapshot"));
        std::fs::create_dir_all(bundle.join("rootfs")).unwrap();
        populate_root(&snapshot);
        match config.get_mut("root").and_then(Value::as_object_mut) {
            Some(root) => {
                root.insert("path".into(), json!("rootfs"));
            }
            None => config["root"] = json!({"path": "rootfs"}),
        }
        std::fs::write(bundle.join("config.json"), config.to_string()).unwrap();
        CreateRequest {
            id: id.to_string(),
            bundle: path_text(&bundle),
            config: config.to_string().into_bytes(),
            rootfs: vec![RootfsMount {
                kind: "bind".into(),
                source: path_text(&snapshot),
                options: vec!["rw".into()],
            }],
        }
    }

    /// A host directory for bind mounts.
    pub fn host_dir(&self, name: &str) -> String {
        let dir = self.dir.path().join(name);
        std::fs::create_dir_all(&dir).unwrap();
        path_text(&dir)
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

fn runtime_on(
    sim: &Arc<SimKernel>,
    containers: &MemoryContainerStore,
    net_store: &Arc<MemoryStore>,
) -> TestRuntime {
    let kernel: Arc<dyn Kernel> = sim.clone();
    Runtime::new(
        Networks::new(kernel, net_store.clone()),
        containers.clone(),
        RuntimeConfig::default(),
    )
}

pub fn path_text(path: &Path) -> String {
    path.to_str().expect("a UTF-8 path").to_string()
}

/// The files of a small FreeBSD root: /bin/sh, /bin/sleep, the server, /etc, /tmp.
pub fn populate_root(root: &Path) {
    for dir in ["bin", "usr/bin", "usr/local/bin", "etc", "tmp", "var/run"] {
        std::fs::create_dir_all(root.join(dir)).unwrap();
    }
    for file in [
        "bin/sh",
        "bin/sleep",
        "bin/echo",
        "usr/bin/true",
        "usr/local/bin/server",
    ] {
        std::fs::write(root.join(file), b"#!/bin/sh\n").unwrap();
    }
}

/// A FreeBSD image's config.json, as containerd 1.6 writes one for `ctr run`, running `args`
/// on zelle's `none` network.
pub fn config(args: &[&str]) -> Value {
    json!({
        "ociVersion": "1.1.0",
        "process": {
            "user": {"uid": 0, "gid": 0},
            "args": args,
            "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "cwd": "/"
        },
        "root": {"path": "rootfs"},
        "hostname": "web",
        "mounts": [
            {"destination": "/dev", "type": "devfs", "source": "devfs", "options": ["ruleset=4"]},
            {"destination": "/dev/fd", "type": "fdescfs", "source": "fdescfs"}
        ],
        "annotations": {"org.zelle.network": "none"}
    })
}

/// The directory tests keep extra files in.
pub fn scratch(host: &Host, name: &str) -> PathBuf {
    let dir = host.path().join(name);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
