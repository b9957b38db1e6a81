//! Property tests over the container lifecycle: create, start, exec, kill, kill-all, pause,
//! resume, reap and delete of a few containers in random order, with kernel calls failing at a
//! seeded rate. After every step the simulated machine's invariants hold; a create that fails
//! (and says it undid everything) leaves the machine as it was; at the end, with faults off,
//! deleting every recorded container leaves nothing of any of them.

mod runtime_support;

use proptest::prelude::*;
use runtime_support::*;
use serde_json::json;
use zelle_core::kernel::{Errno, Signal, Stdio};
use zelle_core::network::{NetworkConfig, DEFAULT_SUBNET};
use zelle_core::runtime::{ContainerStore, ProcessPlan, RuntimeError};
use zelle_sim::fault::FaultPlan;
use zelle_sim::SimConfig;

const IDS: [&str; 3] = ["c0", "c1", "c2"];

#[derive(Clone, Debug)]
enum Step {
    Create(usize),
    Start(usize),
    Exec(usize),
    Kill(usize, bool),
    Pause(usize),
    Resume(usize),
    Reap,
    Delete(usize),
}

fn step() -> impl Strategy<Value = Step> {
    let id = 0..IDS.len();
    prop_oneof![
        3 => id.clone().prop_map(Step::Create),
        3 => id.clone().prop_map(Step::Start),
        1 => id.clone().prop_map(Step::Exec),
        2 => (id.clone(), any::<bool>()).prop_map(|(i, all)| Step::Kill(i, all)),
        1 => id.clone().prop_map(Step::Pause),
        1 => id.clone().prop_map(Step::Resume),
        2 => Just(Step::Reap),
        2 => id.prop_map(Step::Delete),
    ]
}

struct Run {
    host: Host,
    rate: u32,
}

impl Run {
    fn new(seed: u64, rate: u32) -> Self {
        let host = Host::with_config(SimConfig {
            seed,
            racct_enable: seed % 2 == 0,
            ..SimConfig::default()
        });
        let network = NetworkConfig::new("zelle", DEFAULT_SUBNET);
        host.runtime.networks().create(&network).unwrap();
        Run { host, rate }
    }

    fn faults(&self, on: bool) {
        let plan = if on {
            FaultPlan::default().rate(&[], self.rate, Errno::EIO)
        } else {
            FaultPlan::default()
        };
        self.host
            .sim()
            .with_machine(|m| m.config.faults = plan)
            .unwrap();
    }

    fn request(&self, i: usize) -> zelle_core::runtime::CreateRequest {
        let mut cfg = config(&["server"]);
        cfg["annotations"] = match i {
            0 => json!({"org.zelle.network": "none"}),
            1 => json!({"org.zelle.network": "zelle", "org.zelle.ports": "8081:80"}),
            _ => json!({"org.zelle.network": "none", "org.zelle.rctl": "maxproc=50"}),
        };
        self.host.bundle(IDS[i], cfg)
    }

    fn step(&mut self, step: &Step) -> Result<(), TestCaseError> {
        let runtime = &self.host.runtime;
        let exec_plan = || {
            ProcessPlan::parse(br#"{"args": ["server"], "cwd": "/", "env": []}"#)
                .unwrap()
                .0
        };
        let before = self.host.dump();
        self.faults(true);
        let outcome: Result<(), RuntimeError> = match *step {
            Step::Create(i) => {
                let request = self.request(i);
                let result = runtime.create(&request).map(|_| ());
                if let Err(e) = &result {
                    let undone = !matches!(
                        e,
                        RuntimeError::UndoIncomplete { .. } | RuntimeError::Store(_)
                    );
                    if undone {
                        self.faults(false);
                        prop_assert_eq!(&self.host.dump(), &before, "after {}", e);
                    }
                }
                result
            }
            Step::Start(i) => runtime.start(IDS[i], Stdio::default()).map(|_| ()),
            Step::Exec(i) => {
                let exec_id = format!("e{}", self.host.sim().calls_made());
                runtime
                    .exec(IDS[i], &exec_id, &exec_plan(), Stdio::default())
                    .map(|_| ())
            }
            Step::Kill(i, all) => runtime.kill(IDS[i], None, Signal::SIGKILL, all),
            Step::Pause(i) => runtime.pause(IDS[i]),
            Step::Resume(i) => runtime.resume(IDS[i]),
            Step::Reap => runtime.reap().map(|_| ()),
            Step::Delete(i) => runtime.delete(IDS[i]).map(|_| ()),
        };
        self.faults(false);
        let _ = outcome;
        prop_assert_eq!(
            self.host.problems(),
            Vec::<String>::new(),
            "after {:?}",
            step
        );
        Ok(())
    }

    /// With faults off: stop whatever runs, then delete every recorded container.
    fn finish(self, initial: &str) -> Result<(), TestCaseError> {
        self.faults(false);
        let runtime = &self.host.runtime;
        for id in self.host.containers.ids().unwrap() {
            let _ = runtime.kill(&id, None, Signal::SIGKILL, true);
        }
        runtime.reap().unwrap();
        for id in self.host.containers.ids().unwrap() {
            runtime
                .delete(&id)
                .map_err(|e| TestCaseError::fail(format!("final delete of {id}: {e}")))?;
        }
        prop_assert_eq!(self.host.problems(), Vec::<String>::new());
        prop_assert_eq!(&self.host.dump(), initial);
        Ok(())
    }
}

proptest! {
    #[test]
    fn any_lifecycle_with_failing_calls_keeps_the_machine_sound_and_leaves_nothing(
        seed in any::<u64>(),
        steps in proptest::collection::vec(step(), 1..30),
    ) {
        let mut run = Run::new(seed, 40_000);
        let initial = run.host.dump();
        for step in &steps {
            run.step(step)?;
        }
        run.finish(&initial)?;
    }

    #[test]
    fn any_lifecycle_without_faults_ends_clean(
        seed in any::<u64>(),
        steps in proptest::collection::vec(step(), 1..30),
    ) {
        let mut run = Run::new(seed, 0);
        let initial = run.host.dump();
        for step in &steps {
            run.step(step)?;
        }
        run.finish(&initial)?;
    }
}
