//! Container network set-up on the simulated machine (in memory): attach and detach latency
//! per container, and both with 1, 100 and 1000 containers already on the bridge.
//!
//! `cargo bench -p zelle-benches --bench network`
//!
//! The `untraced` group runs the same attach with the machine's call trace off, to show how
//! much of the time is the simulator recording calls rather than zelle.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use std::sync::Arc;
use std::time::{Duration, Instant};
use zelle_core::kernel::{JailFlags, JailParams, Jails, Jid, VnetMode};
use zelle_core::network::{AttachRequest, Dns, MemoryStore, NetworkConfig, Networks};
use zelle_sim::{SimConfig, SimKernel};

struct Bench {
    net: Networks<SimKernel, MemoryStore>,
    /// The jail the measured container is attached to, again and again.
    jail: Jid,
    _root: tempfile::TempDir,
}

impl Bench {
    /// A network with `existing` containers attached, and a jail for one more.
    fn new(existing: usize, trace_limit: usize) -> Self {
        let kernel = SimKernel::new(SimConfig {
            trace_limit,
            ..SimConfig::default()
        });
        let net = Networks::new(Arc::new(kernel), MemoryStore::default());
        let root = tempfile::tempdir().expect("a temporary directory");
        let path = root.path().to_string_lossy().into_owned();
        let jail = |name: String| {
            let params = JailParams {
                name: Some(name),
                path: Some(path.clone()),
                persist: Some(true),
                vnet: Some(VnetMode::New),
                ..JailParams::default()
            };
            net.kernel()
                .jail_set(&params, JailFlags::CREATE)
                .expect("a vnet jail")
        };
        let config = NetworkConfig {
            egress: Some("em0".into()),
            ..NetworkConfig::new("bench", "10.80.0.0/16".parse().expect("a subnet"))
        };
        net.create(&config).expect("the network");
        for i in 0..existing {
            let id = format!("existing-{i}");
            net.attach(&request(&id, jail(id.clone())))
                .expect("attach an existing container");
        }
        let jail = jail("measured".into());
        Bench {
            net,
            jail,
            _root: root,
        }
    }

    /// Attach and detach the measured container `iters` times; the time spent in attach, or
    /// in detach.
    fn cycle(&self, iters: u64, time_detach: bool) -> Duration {
        let req = request("measured", self.jail);
        let mut total = Duration::ZERO;
        for _ in 0..iters {
            let start = Instant::now();
            self.net.attach(&req).expect("attach");
            let attached = Instant::now();
            self.net.detach("measured").expect("detach");
            total += match time_detach {
                false => attached - start,
                true => attached.elapsed(),
            };
        }
        total
    }
}

fn request(id: &str, jid: Jid) -> AttachRequest {
    AttachRequest {
        container_id: id.to_string(),
        network: "bench".into(),
        jid,
        hostname: id.to_string(),
        ports: Vec::new(),
        dns: Dns::default(),
    }
}

fn per_container(c: &mut Criterion) {
    let bench = Bench::new(0, SimConfig::default().trace_limit);
    let mut group = c.benchmark_group("network");
    group.bench_function("attach", |b| {
        b.iter_custom(|iters| bench.cycle(iters, false))
    });
    group.bench_function("detach", |b| {
        b.iter_custom(|iters| bench.cycle(iters, true))
    });
    group.finish();
}

fn growth(c: &mut Criterion) {
    let mut group = c.benchmark_group("with_existing");
    for existing in [1, 100, 1000] {
        let bench = Bench::new(existing, SimConfig::default().trace_limit);
        group.bench_with_input(BenchmarkId::new("attach", existing), &bench, |b, bench| {
            b.iter_custom(|iters| bench.cycle(iters, false))
        });
        group.bench_with_input(BenchmarkId::new("detach", existing), &bench, |b, bench| {
            b.iter_custom(|iters| bench.cycle(iters, true))
        });
    }
    group.finish();
}

fn untraced(c: &mut Criterion) {
    let mut group = c.benchmark_group("untraced");
    for existing in [1, 1000] {
        let bench = Bench::new(existing, 0);
        group.bench_with_input(BenchmarkId::new("attach", existing), &bench, |b, bench| {
            b.iter_custom(|iters| bench.cycle(iters, false))
        });
    }
    group.finish();
}

criterion_group!(benches, per_container, growth, untraced);
criterion_main!(benches);
