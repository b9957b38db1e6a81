//! Random sequences of network create/remove and container attach/detach (and jails removed
//! under attached containers) on the simulated machine, with kernel calls failing. After every
//! step: the machine's invariants hold, no address is held twice, and a failed attach or create
//! left machine and store exactly as they were. At the end everything comes down cleanly.
//!
//! Two fault modes: one chosen kernel call fails in a step (so undoing always can succeed and
//! must), or every call fails at a seeded rate (so undoing may fail too, and then a later
//! detach or remove must finish the job). A failure prints the seed and steps (shrunk by
//! proptest), the error, the machine's last calls and its dump. `PROPTEST_CASES` sets the
//! number of cases (default 256).

mod network_support;

use network_support::*;
use proptest::prelude::*;
use std::collections::BTreeSet;
use std::net::IpAddr;
use zelle_core::kernel::*;
use zelle_core::network::*;
use zelle_sim::{FaultPlan, Op, SimConfig};

const NETWORKS: usize = 3;
const CONTAINERS: u8 = 6;
/// One jail slot per container, so that most attaches can succeed; now and then a container
/// is sent into another's jail (which already has an eth0).
const JAILS: usize = CONTAINERS as usize;

/// The kernel calls networking makes, any of which may fail.
const FAULT_OPS: &[Op] = &[
    Op::CreateInterface,
    Op::DestroyInterface,
    Op::RenameInterface,
    Op::InterfaceFlags,
    Op::SetInterfaceFlags,
    Op::SetMtu,
    Op::AddInetAlias,
    Op::DeleteInetAlias,
    Op::AddInet6Alias,
    Op::DeleteInet6Alias,
    Op::BridgeAddMember,
    Op::BridgeDeleteMember,
    Op::MoveToJail,
    Op::ListInterfaces,
    Op::AddRoute,
    Op::ListRoutes,
    Op::PfBegin,
    Op::PfAddRule,
    Op::PfCommit,
    Op::PfRollback,
];

/// Network slots: "a" is small enough to run out; "b" has IPv6; "c" overlaps "a".
fn network_config(slot: usize) -> NetworkConfig {
    match slot {
        0 => network("a", "10.78.0.0/29"),
        1 => network6("b", "10.79.0.0/24", "fd7e:7a1e:1::/64"),
        _ => NetworkConfig {
            nat: false,
            ..network("c", "10.78.0.0/24")
        },
    }
}

fn container_id(n: u8) -> String {
    // Ids sharing a long prefix, as containerd's often do.
    format!("{}{n:02}", "c0ffee".repeat(10))
}

#[derive(Clone, Debug)]
enum Step {
    Create(usize),
    Remove(usize),
    Attach {
        container: u8,
        network: usize,
        jail: usize,
        port: Option<u16>,
    },
    Detach(u8),
    /// The jail goes away under whatever is attached to it; a new jail takes its slot.
    RemoveJail {
        jail: usize,
        wait_ms: u32,
    },
}

/// Which call of a step fails, in the single-fault mode: the `nth` call of `op` from the
/// step's start.
#[derive(Clone, Copy, Debug)]
struct Fault {
    op: Op,
    nth: u64,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        2 => (0..NETWORKS).prop_map(Step::Create),
        1 => (0..NETWORKS).prop_map(Step::Remove),
        6 => (0..CONTAINERS, prop_oneof![3 => Just(0), 3 => Just(1), 1 => Just(2)],
              proptest::option::weighted(0.2, 0..JAILS),
              proptest::option::of(0..3u16))
            .prop_map(|(container, network, jail, port)| Step::Attach {
                container,
                network,
                jail: jail.unwrap_or(usize::from(container)),
                port,
            }),
        4 => (0..CONTAINERS).prop_map(Step::Detach),
        1 => (0..JAILS, prop_oneof![Just(0u32), Just(60_000u32)])
            .prop_map(|(jail, wait_ms)| Step::RemoveJail { jail, wait_ms }),
    ]
}

fn fault() -> impl Strategy<Value = Option<Fault>> + Clone {
    proptest::option::weighted(
        0.5,
        (proptest::sample::select(FAULT_OPS), 1..4u64).prop_map(|(op, nth)| Fault { op, nth }),
    )
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Mode {
    SingleFault,
    Rate(u32),
}

struct Run {
    host: Host,
    jails: Vec<Jid>,
    jail_names: usize,
    mode: Mode,
}

impl Run {
    fn new(seed: u64, mode: Mode) -> Self {
        let host = Host::with_config(SimConfig {
            seed,
            trace_limit: 64,
            ..SimConfig::default()
        });
        let mut run = Run {
            host,
            jails: Vec::new(),
            jail_names: 0,
            mode,
        };
        run.jails = (0..JAILS).map(|_| run.new_jail()).collect();
        run.set_faults(None);
        run
    }

    /// Harness calls (jails, checks) run without faults.
    fn quietly<T>(&self, f: impl FnOnce(&Host) -> T) -> T {
        let saved = self.host.machine(|m| std::mem::take(&mut m.config.faults));
        let value = f(&self.host);
        self.host.machine(|m| m.config.faults = saved);
        value
    }

    fn new_jail(&mut self) -> Jid {
        self.jail_names += 1;
        let name = format!("j{}", self.jail_names);
        self.quietly(|host| host.jail(&name))
    }

    fn set_faults(&self, fault: Option<Fault>) {
        let plan = match (self.mode, fault) {
            (Mode::Rate(per_million), _) => FaultPlan::default().rate(&[], per_million, Errno::EIO),
            (Mode::SingleFault, None) => FaultPlan::default(),
            (Mode::SingleFault, Some(Fault { op, nth })) => {
                let done = self
                    .host
                    .machine(|m| m.calls.get(&op).copied().unwrap_or(0));
                FaultPlan::default().nth(op, done + nth, Errno::EIO)
            }
        };
        self.host.machine(|m| m.config.faults = plan);
    }

    fn report(&self, what: String) -> TestCaseError {
        let (trace, dump) = self.host.machine(|m| {
            let trace: String = m.trace.iter().map(|e| format!("  {e}\n")).collect();
            (trace, m.dump())
        });
        TestCaseError::fail(format!(
            "{what}\nstore: {:#?}\nlast calls:\n{trace}\n{dump}",
            self.host.store.snapshot()
        ))
    }

    fn step(&mut self, step: &Step, fault: Option<Fault>) -> Result<(), TestCaseError> {
        let before = self.host.state();
        let start = self.host.machine(|m| m.seq);
        if let Step::RemoveJail { jail, wait_ms } = *step {
            let jid = self.jails[jail];
            self.quietly(|host| {
                host.kernel().jail_remove(jid).expect("remove the jail");
                host.machine(|m| m.advance(u64::from(wait_ms)));
            });
            self.jails[jail] = self.new_jail();
            return self.check(step);
        }

        self.set_faults(fault);
        let result = match *step {
            Step::Create(n) => self.host.net.create(&network_config(n)),
            Step::Remove(n) => self.host.net.remove(&network_config(n).name),
            Step::Attach {
                container,
                network,
                jail,
                port,
            } => {
                let mut req = request(
                    &container_id(container),
                    &network_config(network).name,
                    self.jails[jail],
                );
                req.ports = port.map(|p| tcp(8000 + p, 80)).into_iter().collect();
                self.host.net.attach(&req).map(drop)
            }
            Step::Detach(n) => self.host.net.detach(&container_id(n)),
            Step::RemoveJail { .. } => unreachable!("handled above"),
        };
        self.set_faults(None);
        let injected = self.host.machine(|m| {
            m.trace
                .iter()
                .any(|e| e.seq > start && e.result.ends_with("(injected)"))
        });

        if let Err(error) = &result {
            let undone = !matches!(
                error,
                NetworkError::RollbackIncomplete { .. } | NetworkError::TeardownIncomplete { .. }
            );
            // With one failing call, undoing fails only when that call was part of undoing a
            // step that failed of itself (the jail already had an eth0, say).
            if let (Mode::SingleFault, NetworkError::RollbackIncomplete { error: cause, .. }) =
                (self.mode, error)
            {
                if matches!(**cause, NetworkError::Kernel { ref source, .. } if source.code() == Some(Errno::EIO))
                {
                    return Err(self.report(format!(
                        "{step:?}: one failing call, yet undoing failed: {error}"
                    )));
                }
            }
            // A create that finishes an earlier, interrupted one, or an attach that rolls
            // back one, may have changed things; a fresh create or attach must not.
            let fresh = match step {
                Step::Create(n) => !before.1.networks.contains_key(&network_config(*n).name),
                Step::Attach { container, .. } => {
                    !before.1.containers.contains_key(&container_id(*container))
                }
                _ => true,
            };
            if undone && fresh && matches!(step, Step::Attach { .. } | Step::Create(_)) {
                let after = self.host.state();
                if before.0 != after.0 || before.1 != after.1 {
                    return Err(self.report(format!(
                        "{step:?} failed ({error}) and left something behind; before:\n{}",
                        before.0
                    )));
                }
            }
            if !injected {
                self.expected_failure(step, error, &before.1)?;
            }
        } else if let Step::Attach { container, .. } = step {
            let record = self.host.net.container(&container_id(*container)).unwrap();
            if !matches!(record.map(|r| r.status), Some(AttachStatus::Attached)) {
                return Err(self.report(format!("{step:?} succeeded but is not recorded")));
            }
        }
        self.check(step)
    }

    /// A step that failed without an injected fault must have had a reason.
    fn expected_failure(
        &self,
        step: &Step,
        error: &NetworkError,
        state: &NetState,
    ) -> Result<(), TestCaseError> {
        let fine = match (step, error) {
            (Step::Create(_), NetworkError::SubnetOverlap { .. }) => true,
            (
                Step::Remove(_),
                NetworkError::UnknownNetwork { .. } | NetworkError::NetworkInUse { .. },
            ) => true,
            (
                Step::Attach { .. },
                NetworkError::UnknownNetwork { .. }
                | NetworkError::NetworkNotReady { .. }
                | NetworkError::AlreadyAttached { .. }
                | NetworkError::PortTaken { .. }
                | NetworkError::SubnetExhausted { .. },
            ) => true,
            // The jail already holds a container (its eth0 is taken).
            (Step::Attach { jail, .. }, NetworkError::Kernel { source, .. }) => {
                source.code() == Some(Errno::EEXIST)
                    && state
                        .containers
                        .values()
                        .any(|c| c.jid == self.jails[*jail])
            }
            _ => false,
        };
        if fine {
            Ok(())
        } else {
            Err(self.report(format!("{step:?} failed with no fault injected: {error}")))
        }
    }

    /// After every step: the machine is sound, and no address, name or port is held twice,
    /// in the store or in the kernel.
    fn check(&self, step: &Step) -> Result<(), TestCaseError> {
        let problems = self.host.machine(|m| m.check_invariants());
        if !problems.is_empty() {
            return Err(self.report(format!(
                "after {step:?}: invariants violated:\n  {}",
                problems.join("\n  ")
            )));
        }
        let state = self.host.store.snapshot();
        let mut addresses = BTreeSet::new();
        for (id, c) in &state.containers {
            let gateway = state.networks.get(&c.network).map(|n| n.config.gateway);
            if !addresses.insert(IpAddr::V4(c.address)) || Some(c.address) == gateway {
                return Err(self.report(format!(
                    "after {step:?}: {} of {id} is held twice",
                    c.address
                )));
            }
            if state.keys.get(&c.key) != Some(id) {
                return Err(self.report(format!(
                    "after {step:?}: key {} of {id} is not its own",
                    c.key
                )));
            }
        }
        // In the kernel: every live jail's eth0 addresses are distinct.
        let mut seen = BTreeSet::new();
        for &jid in &self.jails {
            let eth0 = self.quietly(|host| host.interface(Vnet::Jail(jid), "eth0"));
            for (addr, _) in eth0.into_iter().flat_map(|i| i.inet) {
                if !seen.insert(addr) {
                    return Err(self.report(format!("after {step:?}: {addr} is on two eth0s")));
                }
            }
        }
        Ok(())
    }

    /// Take everything down without faults: it must all go, leaving no zelle interface,
    /// anchor or record.
    fn finish(&self) -> Result<(), TestCaseError> {
        self.host
            .machine(|m| m.config.faults = FaultPlan::default());
        for n in 0..CONTAINERS {
            if let Err(error) = self.host.net.detach(&container_id(n)) {
                return Err(self.report(format!("final detach of {n}: {error}")));
            }
        }
        for n in 0..NETWORKS {
            match self.host.net.remove(&network_config(n).name) {
                Ok(()) | Err(NetworkError::UnknownNetwork { .. }) => {}
                Err(error) => return Err(self.report(format!("final remove of {n}: {error}"))),
            }
        }
        let state = self.host.store.snapshot();
        if state != NetState::default() {
            return Err(self.report("records left after taking everything down".into()));
        }
        let leftovers: Vec<String> = self
            .host
            .kernel()
            .list_interfaces(Vnet::Host)
            .unwrap()
            .into_iter()
            .map(|i| i.name)
            .filter(|n| {
                n.starts_with("zb-") || n.starts_with("ze") || n.starts_with("epair") || n == "eth0"
            })
            .collect();
        let anchors = self.host.kernel().pf_anchors("zelle").unwrap_or_default();
        if !leftovers.is_empty() || !anchors.is_empty() {
            return Err(self.report(format!("left behind: {leftovers:?} {anchors:?}")));
        }
        self.check(&Step::Detach(0))
    }
}

/// Random steps, after creating networks "a" and "b" (which may fail too).
fn steps(
    faults: impl Strategy<Value = Option<Fault>> + Clone,
) -> impl Strategy<Value = Vec<(Step, Option<Fault>)>> {
    (
        faults.clone(),
        faults.clone(),
        proptest::collection::vec((step(), faults), 1..40),
    )
        .prop_map(|(fault_a, fault_b, mut steps)| {
            steps.insert(0, (Step::Create(1), fault_b));
            steps.insert(0, (Step::Create(0), fault_a));
            steps
        })
}

fn run(seed: u64, steps: &[(Step, Option<Fault>)], mode: Mode) -> Result<(), TestCaseError> {
    let mut run = Run::new(seed, mode);
    for (step, fault) in steps {
        run.step(step, *fault)?;
    }
    run.finish()
}

proptest! {
    #[test]
    fn any_single_failing_call_is_undone(
        seed in any::<u64>(),
        steps in steps(fault()),
    ) {
        run(seed, &steps, Mode::SingleFault)?;
    }

    #[test]
    fn calls_failing_at_a_rate_leave_nothing_that_cannot_be_cleaned_up(
        seed in any::<u64>(),
        steps in steps(Just(None)),
    ) {
        run(seed, &steps, Mode::Rate(30_000))?;
    }
}
