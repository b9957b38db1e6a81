//! Shared support for the runtime tests: a simulated machine, a runtime on it, and bundles in
//! temporary directories whose roots hold the files a process lookup needs.
//!
//! The runtime drives the simulated machine through its typed door by default; with
//! `ZELLE_RUNTIME_TEST_BACKEND=door` through the real FreeBSD backend (`FreeBsd<SimSyscalls>`),
//! every request marshalled into the bytes the FreeBSD kernel takes and decoded by the
//! simulator's ABI door. `scripts/test.sh` runs both.
#![allow(dead_code)]

use serde_json::{json, Value};
use std::path::Path;
use std::sync::Arc;
use zelle_core::kernel::Kernel;
use zelle_core::network::{MemoryStore, Networks};
use zelle_core::runtime::{
    CreateRequest, MemoryContainerStore, RootfsMount, Runtime, RuntimeConfig,
};
use zelle_freebsd::FreeBsd;
use zelle_sim::abi::SimSyscalls;
use zelle_sim::process::{Program, Script};
use zelle_sim::{SimConfig, SimKernel};

pub type TestRuntime = Runtime<dyn Kernel, MemoryContainerStore, Arc<MemoryStore>>;

/// Programs every test root has, as files (for the PATH lookup) and as virtual programs (for
/// the simulated machine to run).
pub const SERVER: &str = "/usr/local/bin/server";

/// The backend the runtime drives.
enum Backend {
    Typed(Arc<SimKernel>),
    Door(Arc<FreeBsd<SimSyscalls>>),
}

impl Backend {
    fn kernel(&self) -> Arc<dyn Kernel> {
        match self {
            Backend::Typed(sim) => sim.clone(),
            Backend::Door(door) => door.clone(),
        }
    }
}

fn over_the_abi_door() -> bool {
    std::env::var("ZELLE_RUNTIME_TEST_BACKEND").is_ok_and(|b| b == "door")
}

pub struct Host {
    backend: Backend,
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
        let sim = SimKernel::new(config);
        let backend = if over_the_abi_door() {
            Backend::Door(Arc::new(FreeBsd::new(SimSyscalls::new(sim))))
        } else {
            Backend::Typed(Arc::new(sim))
        };
        Host::on(backend)
    }

    /// Through the typed door whatever the environment says (the crash tests need the
    /// machine's own death hook, which counts its typed calls).
    pub fn typed(config: SimConfig) -> Self {
        Host::on(Backend::Typed(Arc::new(SimKernel::new(config))))
    }

    fn on(backend: Backend) -> Self {
        let containers = MemoryContainerStore::default();
        let net_store = Arc::new(MemoryStore::default());
        let host = Host {
            runtime: runtime_on(backend.kernel(), &containers, &net_store),
            containers,
            net_store,
            backend,
            dir: tempfile::tempdir().expect("a temporary directory"),
        };
        host.sim()
            .with_machine(|m| {
                m.procs.programs.insert(
                    SERVER.to_string(),
                    Program::Script(Script::runs_until_signalled()),
                );
            })
            .unwrap();
        // As a shim does at start-up: the "before" of every test has zelle's devfs ruleset.
        let scratch = host.host_dir("devfs");
        host.runtime.install_devfs_ruleset(&scratch).unwrap();
        host
    }

    /// The simulated machine behind either door.
    pub fn sim(&self) -> &SimKernel {
        match &self.backend {
            Backend::Typed(sim) => sim,
            Backend::Door(door) => door.syscalls().kernel(),
        }
    }

    /// A second runtime on the same machine and stores: what a fresh process finds.
    pub fn fresh_runtime(&self) -> TestRuntime {
        runtime_on(self.backend.kernel(), &self.containers, &self.net_store)
    }

    pub fn dump(&self) -> String {
        self.sim().snapshot().dump()
    }

    pub fn problems(&self) -> Vec<String> {
        self.sim().snapshot().check_invariants()
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

    /// A host directory under the test's temporary directory, made when missing.
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
    kernel: Arc<dyn Kernel>,
    containers: &MemoryContainerStore,
    net_store: &Arc<MemoryStore>,
) -> TestRuntime {
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
