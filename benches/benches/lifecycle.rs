//! One container's whole life on the simulated machine (in memory): create (root, devfs,
//! fdescfs, procfs, the jail), start, kill, reap, delete — alone, and with 1000 containers
//! already created.
//!
//! `cargo bench -p zelle-benches --bench lifecycle`
//!
//! The root's files are real (a temporary directory): creating the mount points and looking up
//! the init's executable are host file-system calls, as they would be on FreeBSD.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use zelle_core::kernel::{Kernel, Signal, Stdio};
use zelle_core::network::{MemoryStore, Networks};
use zelle_core::runtime::{
    CreateRequest, MemoryContainerStore, RootfsMount, Runtime, RuntimeConfig,
};
use zelle_sim::process::{Program, Script};
use zelle_sim::{SimConfig, SimKernel};

type BenchRuntime = Runtime<dyn Kernel, MemoryContainerStore, MemoryStore>;

struct Bench {
    runtime: BenchRuntime,
    measured: CreateRequest,
    _dir: tempfile::TempDir,
}

const SERVER: &str = "/usr/local/bin/server";

fn config() -> String {
    serde_json::json!({
        "ociVersion": "1.1.0",
        "process": {"args": ["server"], "cwd": "/", "env": ["PATH=/usr/local/bin:/bin"]},
        "root": {"path": "rootfs"},
        "hostname": "bench",
        "mounts": [
            {"destination": "/dev", "type": "devfs", "source": "devfs", "options": ["ruleset=4"]},
            {"destination": "/dev/fd", "type": "fdescfs", "source": "fdescfs"}
        ],
        "annotations": {"org.zelle.network": "none"}
    })
    .to_string()
}

/// A bundle for `id` under `dir`: config.json and a snapshot with the init's file.
fn bundle(dir: &Path, id: &str) -> CreateRequest {
    let bundle = dir.join(id);
    let snapshot = dir.join(format!("{id}-snapshot"));
    std::fs::create_dir_all(bundle.join("rootfs")).expect("the rootfs");
    std::fs::create_dir_all(snapshot.join("usr/local/bin")).expect("the snapshot");
    std::fs::write(snapshot.join("usr/local/bin/server"), b"").expect("the server");
    let text = |p: &Path| p.to_string_lossy().into_owned();
    CreateRequest {
        id: id.to_string(),
        bundle: text(&bundle),
        config: config().into_bytes(),
        rootfs: vec![RootfsMount {
            kind: "bind".into(),
            source: text(&snapshot),
            options: Vec::new(),
        }],
    }
}

impl Bench {
    fn new(existing: usize) -> Self {
        let sim = SimKernel::new(SimConfig::default());
        sim.with_machine(|m| {
            m.procs.programs.insert(
                SERVER.into(),
                Program::Script(Script::runs_until_signalled()),
            )
        })
        .expect("the machine");
        let kernel: Arc<dyn Kernel> = Arc::new(sim);
        let runtime = Runtime::new(
            Networks::new(kernel, MemoryStore::default()),
            MemoryContainerStore::default(),
            RuntimeConfig::default(),
        );
        let dir = tempfile::tempdir().expect("a temporary directory");
        for i in 0..existing {
            runtime
                .create(&bundle(dir.path(), &format!("existing-{i}")))
                .expect("an existing container");
        }
        let measured = bundle(dir.path(), "measured");
        Bench {
            runtime,
            measured,
            _dir: dir,
        }
    }

    /// The whole life of the measured container, `iters` times.
    fn cycle(&self, iters: u64) -> Duration {
        let start = Instant::now();
        for _ in 0..iters {
            let rt = &self.runtime;
            rt.create(&self.measured).expect("create");
            rt.start("measured", Stdio::default()).expect("start");
            rt.kill("measured", None, Signal::SIGKILL, false)
                .expect("kill");
            rt.reap().expect("reap");
            rt.delete("measured").expect("delete");
        }
        start.elapsed()
    }
}

fn lifecycle(c: &mut Criterion) {
    let mut group = c.benchmark_group("lifecycle");
    for existing in [0, 1000] {
        let bench = Bench::new(existing);
        group.bench_with_input(
            BenchmarkId::new("create_start_delete", existing),
            &bench,
            |b, bench| b.iter_custom(|iters| bench.cycle(iters)),
        );
    }
    group.finish();
}

criterion_group!(benches, lifecycle);
criterion_main!(benches);
