//! Random sequences of kernel operations across every area, under a seeded fault plan. After
//! every step the machine's invariants hold, and a call that failed changed nothing.
//!
//! A failure prints the shrunk operation sequence (proptest), the machine's last calls and its
//! dump. `PROPTEST_CASES` sets the number of cases (default 256).

mod common;

use common::TempScratch;
use proptest::prelude::*;
use proptest_state_machine::{prop_state_machine, ReferenceStateMachine, StateMachineTest};
use std::net::{Ipv4Addr, Ipv6Addr};
use zelle_core::conformance::Scratch;
use zelle_core::kernel::pf::{PfEndpoint, PfTransaction};
use zelle_core::kernel::*;
use zelle_sim::{FaultPlan, SimConfig, SimKernel};

const NAMES: &[&str] = &[
    "epair0a",
    "epair0b",
    "epair1a",
    "epair1b",
    "bridge0",
    "bridge1",
    "eth0",
    "lo0",
    "em0",
    "name_of_16_bytes",
];
const JAIL_SLOTS: usize = 3;

#[derive(Clone, Debug)]
enum Step {
    Create {
        vnet: Option<u8>,
        name: &'static str,
    },
    Destroy {
        vnet: Option<u8>,
        name: u8,
    },
    Rename {
        vnet: Option<u8>,
        name: u8,
        to: u8,
    },
    Flags {
        vnet: Option<u8>,
        name: u8,
        up: bool,
    },
    Mtu {
        vnet: Option<u8>,
        name: u8,
        mtu: u32,
    },
    AddInet {
        vnet: Option<u8>,
        name: u8,
        host: u8,
        prefix: u8,
    },
    DeleteInet {
        vnet: Option<u8>,
        name: u8,
        host: u8,
    },
    AddInet6 {
        vnet: Option<u8>,
        name: u8,
        host: u8,
    },
    DeleteInet6 {
        vnet: Option<u8>,
        name: u8,
        host: u8,
    },
    BridgeAdd {
        bridge: u8,
        member: u8,
    },
    BridgeDelete {
        bridge: u8,
        member: u8,
    },
    MoveToJail {
        name: u8,
        slot: u8,
    },
    Reclaim {
        name: u8,
        slot: u8,
    },
    AddRoute {
        vnet: Option<u8>,
        gateway: u8,
    },
    DeleteRoute {
        vnet: Option<u8>,
        gateway: u8,
    },
    JailCreate {
        slot: u8,
        vnet: bool,
    },
    JailRemove {
        slot: u8,
    },
    PfBegin {
        anchor: u8,
    },
    PfAddNat {
        anchor: u8,
    },
    PfCommit {
        anchor: u8,
    },
    PfRollback {
        anchor: u8,
    },
    MountDevfs {
        slot: u8,
        ruleset: u32,
    },
    Unmount {
        slot: u8,
    },
    Spawn {
        slot: u8,
        secs: u8,
    },
    Kill {
        ix: u8,
    },
    Advance {
        ms: u32,
    },
}

struct Reference;

impl ReferenceStateMachine for Reference {
    /// The machine's seed and its fault rate (per million calls).
    type State = (u64, u32);
    type Transition = Step;

    fn init_state() -> BoxedStrategy<Self::State> {
        (
            any::<u64>(),
            prop_oneof![Just(0u32), Just(50_000), Just(200_000)],
        )
            .boxed()
    }

    fn transitions(_: &Self::State) -> BoxedStrategy<Step> {
        let vnet = proptest::option::of(0..JAIL_SLOTS as u8);
        let name = 0..NAMES.len() as u8;
        let slot = 0..JAIL_SLOTS as u8;
        let cloner = prop::sample::select(vec!["epair", "bridge", "epair1", "bridge1", "lo"]);
        prop_oneof![
            4 => (vnet.clone(), cloner).prop_map(|(vnet, name)| Step::Create { vnet, name }),
            2 => (vnet.clone(), name.clone()).prop_map(|(vnet, name)| Step::Destroy { vnet, name }),
            1 => (vnet.clone(), name.clone(), name.clone())
                .prop_map(|(vnet, name, to)| Step::Rename { vnet, name, to }),
            2 => (vnet.clone(), name.clone(), any::<bool>())
                .prop_map(|(vnet, name, up)| Step::Flags { vnet, name, up }),
            1 => (vnet.clone(), name.clone(), prop::sample::select(vec![0u32, 71, 72, 1500, 9000, 65536]))
                .prop_map(|(vnet, name, mtu)| Step::Mtu { vnet, name, mtu }),
            2 => (vnet.clone(), name.clone(), 0u8..4, prop::sample::select(vec![8u8, 24, 31, 32]))
                .prop_map(|(vnet, name, host, prefix)| Step::AddInet { vnet, name, host, prefix }),
            1 => (vnet.clone(), name.clone(), 0u8..4)
                .prop_map(|(vnet, name, host)| Step::DeleteInet { vnet, name, host }),
            1 => (vnet.clone(), name.clone(), 0u8..4)
                .prop_map(|(vnet, name, host)| Step::AddInet6 { vnet, name, host }),
            1 => (vnet.clone(), name.clone(), 0u8..4)
                .prop_map(|(vnet, name, host)| Step::DeleteInet6 { vnet, name, host }),
            2 => (0u8..2, name.clone()).prop_map(|(bridge, member)| Step::BridgeAdd { bridge, member }),
            1 => (0u8..2, name.clone()).prop_map(|(bridge, member)| Step::BridgeDelete { bridge, member }),
            2 => (name.clone(), slot.clone()).prop_map(|(name, slot)| Step::MoveToJail { name, slot }),
            1 => (name.clone(), slot.clone()).prop_map(|(name, slot)| Step::Reclaim { name, slot }),
            1 => (vnet.clone(), 0u8..4).prop_map(|(vnet, gateway)| Step::AddRoute { vnet, gateway }),
            1 => (vnet, 0u8..4).prop_map(|(vnet, gateway)| Step::DeleteRoute { vnet, gateway }),
            3 => (slot.clone(), any::<bool>()).prop_map(|(slot, vnet)| Step::JailCreate { slot, vnet }),
            2 => slot.clone().prop_map(|slot| Step::JailRemove { slot }),
            1 => (0u8..3).prop_map(|anchor| Step::PfBegin { anchor }),
            1 => (0u8..3).prop_map(|anchor| Step::PfAddNat { anchor }),
            1 => (0u8..3).prop_map(|anchor| Step::PfCommit { anchor }),
            1 => (0u8..3).prop_map(|anchor| Step::PfRollback { anchor }),
            1 => (slot.clone(), prop::sample::select(vec![0u32, 4, 65535, 70000]))
                .prop_map(|(slot, ruleset)| Step::MountDevfs { slot, ruleset }),
            1 => slot.clone().prop_map(|slot| Step::Unmount { slot }),
            1 => (slot, 0u8..3).prop_map(|(slot, secs)| Step::Spawn { slot, secs }),
            1 => (0u8..4).prop_map(|ix| Step::Kill { ix }),
            1 => (0u32..3000).prop_map(|ms| Step::Advance { ms }),
        ]
        .boxed()
    }

    fn apply(state: Self::State, _: &Step) -> Self::State {
        state
    }
}

struct Sut {
    kernel: SimKernel,
    scratch: TempScratch,
    jails: [Option<Jid>; JAIL_SLOTS],
    transactions: [Option<PfTransaction>; 3],
    pids: Vec<Pid>,
}

impl Sut {
    fn vnet(&self, slot: Option<u8>) -> Vnet {
        match slot {
            None => Vnet::Host,
            Some(slot) => Vnet::Jail(self.jid(slot)),
        }
    }

    /// The jail in `slot`, or a jid no jail has.
    fn jid(&self, slot: u8) -> Jid {
        self.jails[slot as usize].unwrap_or(Jid(999))
    }

    fn root(&self, slot: u8) -> String {
        self.scratch.dir(&format!("jail{slot}"))
    }

    /// Run one step; the result is the kernel's answer to the step's last call.
    fn run(&mut self, step: &Step) -> KResult<()> {
        let k = &self.kernel;
        let v4 = |host: u8| Ipv4Addr::new(10, 0, 0, 1 + host);
        let v6 = |host: u8| Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 1 + u16::from(host));
        let name = |ix: u8| NAMES[ix as usize];
        let anchor = |ix: u8| format!("zelle/test{ix}");
        match *step {
            Step::Create { vnet, name } => k.create_interface(self.vnet(vnet), name).map(drop),
            Step::Destroy { vnet, name: n } => k.destroy_interface(self.vnet(vnet), name(n)),
            Step::Rename { vnet, name: n, to } => {
                k.rename_interface(self.vnet(vnet), name(n), name(to))
            }
            Step::Flags { vnet, name: n, up } => {
                let flags = if up { IfFlags::UP } else { IfFlags::default() };
                k.set_interface_flags(self.vnet(vnet), name(n), flags)
            }
            Step::Mtu { vnet, name: n, mtu } => k.set_mtu(self.vnet(vnet), name(n), mtu),
            Step::AddInet {
                vnet,
                name: n,
                host,
                prefix,
            } => k.add_inet_alias(self.vnet(vnet), name(n), &InetAlias::new(v4(host), prefix)),
            Step::DeleteInet {
                vnet,
                name: n,
                host,
            } => k.delete_inet_alias(self.vnet(vnet), name(n), v4(host)),
            Step::AddInet6 {
                vnet,
                name: n,
                host,
            } => k.add_inet6_alias(self.vnet(vnet), name(n), &Inet6Alias::new(v6(host), 64)),
            Step::DeleteInet6 {
                vnet,
                name: n,
                host,
            } => k.delete_inet6_alias(self.vnet(vnet), name(n), v6(host)),
            Step::BridgeAdd { bridge, member } => {
                k.bridge_add_member(Vnet::Host, name(4 + bridge), name(member))
            }
            Step::BridgeDelete { bridge, member } => {
                k.bridge_delete_member(Vnet::Host, name(4 + bridge), name(member))
            }
            Step::MoveToJail { name: n, slot } => {
                k.move_to_jail(Vnet::Host, name(n), self.jid(slot))
            }
            Step::Reclaim { name: n, slot } => {
                k.reclaim_from_jail(Vnet::Host, name(n), self.jid(slot))
            }
            Step::AddRoute { vnet, gateway } => {
                k.add_route(self.vnet(vnet), &Route::default_via(v4(gateway).into()))
            }
            Step::DeleteRoute { vnet, gateway } => {
                k.delete_route(self.vnet(vnet), &Route::default_via(v4(gateway).into()))
            }
            Step::JailCreate { slot, vnet } => {
                let params = JailParams {
                    name: Some(format!("slot{slot}")),
                    path: Some(self.root(slot)),
                    persist: Some(true),
                    vnet: Some(if vnet {
                        VnetMode::New
                    } else {
                        VnetMode::Inherit
                    }),
                    ..JailParams::default()
                };
                let jid = k.jail_set(&params, JailFlags::CREATE)?;
                self.jails[slot as usize] = Some(jid);
                Ok(())
            }
            Step::JailRemove { slot } => k.jail_remove(self.jid(slot)),
            Step::PfBegin { anchor: a } => {
                let tx = k.pf_begin(&anchor(a), &[PfRuleset::Nat, PfRuleset::Rdr])?;
                self.transactions[a as usize] = Some(tx);
                Ok(())
            }
            Step::PfAddNat { anchor: a } => {
                let tx = self.transactions[a as usize]
                    .clone()
                    .unwrap_or(PfTransaction {
                        anchor: anchor(a),
                        tickets: vec![(PfRuleset::Nat, PfTicket(12345))],
                    });
                let rule = PfRule {
                    src: PfEndpoint {
                        addr: pf::PfAddr::Net("10.0.0.0/24".parse().unwrap()),
                        ..PfEndpoint::any()
                    },
                    redirect: Some(pf::PfRedirect {
                        addr: pf::PfAddr::Interface("em0".into()),
                        ports: None,
                    }),
                    ..PfRule::new(PfAction::Nat)
                };
                k.pf_add_rule(&tx, &rule)
            }
            Step::PfCommit { anchor: a } => match self.transactions[a as usize].take() {
                Some(tx) => k.pf_commit(&tx),
                None => Ok(()),
            },
            Step::PfRollback { anchor: a } => match self.transactions[a as usize].take() {
                Some(tx) => k.pf_rollback(&tx),
                None => Ok(()),
            },
            Step::MountDevfs { slot, ruleset } => {
                let dev = self.scratch.dir(&format!("jail{slot}/dev"));
                k.nmount(&MountRequest {
                    fstype: "devfs".into(),
                    fspath: dev,
                    from: Some("devfs".into()),
                    options: vec![("ruleset".into(), ruleset.to_string())],
                    flags: MountFlags::default(),
                })
            }
            Step::Unmount { slot } => {
                let dev = self.scratch.dir(&format!("jail{slot}/dev"));
                k.unmount(&dev, MountFlags::default())
            }
            Step::Spawn { slot, secs } => {
                let spec = ProcessSpec {
                    jail: Some(self.jid(slot)),
                    args: vec!["/bin/sleep".into(), secs.to_string()],
                    cwd: "/".into(),
                    ..ProcessSpec::default()
                };
                let pid = k.spawn(&spec)?.pid;
                self.pids.push(pid);
                Ok(())
            }
            Step::Kill { ix } => match self.pids.get(ix as usize) {
                Some(pid) => k.signal(*pid, Signal::SIGTERM),
                None => Ok(()),
            },
            Step::Advance { ms } => {
                k.with_machine(|m| m.advance(u64::from(ms))).unwrap();
                Ok(())
            }
        }
    }
}

struct KernelUnderFaults;

impl StateMachineTest for KernelUnderFaults {
    type SystemUnderTest = Sut;
    type Reference = Reference;

    fn init_test(&(seed, per_million): &(u64, u32)) -> Sut {
        let kernel = SimKernel::new(SimConfig {
            seed,
            faults: FaultPlan::default().rate(&[], per_million, Errno::EIO),
            ..SimConfig::default()
        });
        Sut {
            kernel,
            scratch: TempScratch::new(),
            jails: [None; JAIL_SLOTS],
            transactions: [None, None, None],
            pids: Vec::new(),
        }
    }

    fn apply(mut sut: Sut, _: &(u64, u32), step: Step) -> Sut {
        let before = sut.kernel.snapshot().dump();
        if let Err(err) = sut.run(&step) {
            let after = sut.kernel.snapshot();
            assert!(
                !matches!(err, KernelError::Panic(_)),
                "the kernel panicked on {step:?}: {err}"
            );
            assert_eq!(
                before,
                after.dump(),
                "{step:?} failed ({err}) but changed the machine; last calls:\n{}",
                trace_tail(&after)
            );
        }
        sut
    }

    fn check_invariants(sut: &Sut, _: &(u64, u32)) {
        let machine = sut.kernel.snapshot();
        let problems = machine.check_invariants();
        assert!(
            problems.is_empty(),
            "invariants violated:\n  {}\nlast calls:\n{}\n{}",
            problems.join("\n  "),
            trace_tail(&machine),
            machine.dump()
        );
    }
}

fn trace_tail(machine: &zelle_sim::Machine) -> String {
    let skip = machine.trace.len().saturating_sub(12);
    machine
        .trace
        .iter()
        .skip(skip)
        .map(|e| format!("  {e}\n"))
        .collect()
}

prop_state_machine! {
    #[test]
    fn kernel_operations_keep_the_machine_sound(sequential 1..40 => KernelUnderFaults);
}
