//! Records in progress: a caller that dies between two transactions leaves a record that
//! names every kernel object it made, records are claimed while worked on, and a record that
//! vanished under a call makes it fail. Also the review fixes of a retried create (undo on a
//! bridge found, a rebuild marked `Creating`) and of lo0 (recorded before it is touched).
//! Two shim processes on one state file: `shim/tests/net_processes.rs`.

mod network_support;

use network_support::*;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use zelle_core::kernel::pf::PfRuleset;
use zelle_core::kernel::*;
use zelle_core::network::*;
use zelle_sim::{FaultPlan, Op};

/// What a [`Doomed`] store does at its chosen transaction.
#[derive(Clone, Copy)]
enum Fate {
    /// The process dies: the transaction never runs (a panic, which drops the claim as a
    /// dead process's flock goes away).
    Die,
    /// Somebody deletes every container and network record just before it runs.
    Vanish,
}

/// A store in memory whose `at`th transaction (counting from 1) meets `fate`.
struct Doomed {
    inner: Arc<MemoryStore>,
    at: usize,
    fate: Fate,
    seen: AtomicUsize,
}

impl Doomed {
    fn new(inner: Arc<MemoryStore>, at: usize, fate: Fate) -> Self {
        Doomed {
            inner,
            at,
            fate,
            seen: AtomicUsize::new(0),
        }
    }
}

impl NetStore for Doomed {
    fn transaction(
        &self,
        body: &mut dyn FnMut(&mut NetState) -> Result<(), NetworkError>,
    ) -> Result<(), NetworkError> {
        if self.seen.fetch_add(1, Ordering::SeqCst) + 1 == self.at {
            match self.fate {
                Fate::Die => panic!("the process dies before transaction {}", self.at),
                Fate::Vanish => self.inner.transaction(&mut |s| {
                    s.containers.clear();
                    s.networks.clear();
                    Ok(())
                })?,
            }
        }
        self.inner.transaction(body)
    }

    fn claim(&self, record: RecordKey<'_>) -> Result<Claim, NetworkError> {
        self.inner.claim(record)
    }
}

/// Run `act` with the store dying at each of its transactions in turn, each time on a host
/// fresh from `prepare`; then `recover` in a fresh process (a new store on what the dead one
/// left) must put the machine back as it was before `act`.
fn die_at_each_transaction(
    prepare: impl Fn() -> Host,
    act: impl Fn(&Networks<dyn Kernel, Doomed>) -> Result<(), NetworkError>,
    recover: impl Fn(&Networks<dyn Kernel, MemoryStore>) -> Result<(), NetworkError>,
) -> usize {
    let mut died = 0;
    for at in 1.. {
        let host = prepare();
        let before = host.dump();
        let doomed = Networks::new(
            host.net.kernel().clone(),
            Doomed::new(host.store.clone(), at, Fate::Die),
        );
        match catch_unwind(AssertUnwindSafe(|| act(&doomed))) {
            Ok(result) => {
                result.expect("the run that does not die succeeds");
                return died;
            }
            Err(_) => died += 1,
        }
        let fresh = Networks::new(
            host.net.kernel().clone(),
            MemoryStore::new(host.store.snapshot()),
        );
        recover(&fresh).unwrap_or_else(|e| panic!("dead at transaction {at}: recovery: {e}"));
        assert_eq!(
            before,
            host.dump(),
            "dead at transaction {at}: the machine is not as it was"
        );
        let left = fresh.store().snapshot();
        assert!(left.containers.is_empty(), "dead at {at}: {left:#?}");
        host.assert_sound();
    }
    unreachable!()
}

#[test]
fn an_attach_that_dies_between_transactions_is_undone_by_detach_lo0_included() {
    let prepare = || {
        let host = Host::new(5);
        host.net
            .create(&network6("six", "10.78.0.0/24", "fd7e:7a1e:1::/64"))
            .unwrap();
        host.jail("a");
        host
    };
    let died = die_at_each_transaction(
        prepare,
        |net| {
            let mut req = request("a", "six", Jid(1));
            req.ports = vec![tcp(8080, 80)];
            net.attach(&req).map(drop)
        },
        |net| net.detach("a"),
    );
    // The last one dies after every kernel call, lo0's included, before `Attached` is kept.
    assert!(died >= 3, "only {died} transactions");
}

#[test]
fn a_create_that_dies_between_transactions_is_undone_by_remove() {
    let died = die_at_each_transaction(
        || Host::new(5),
        |net| net.create(&network6("six", "10.78.0.0/24", "fd7e:7a1e:1::/64")),
        |net| match net.remove("six") {
            Err(NetworkError::UnknownNetwork { .. }) if net.network("six")?.is_none() => Ok(()),
            other => other,
        },
    );
    assert!(died >= 2, "only {died} transactions");
}

#[test]
fn an_attach_whose_record_vanished_fails_naming_it_and_undoes_its_work() {
    let host = Host::new(5);
    host.net.create(&network("web", "10.78.0.0/24")).unwrap();
    let jid = host.jail("a");
    let before = host.dump();
    // Transactions: look for an earlier attempt, reserve, then the last one.
    let net = Networks::new(
        host.net.kernel().clone(),
        Doomed::new(host.store.clone(), 3, Fate::Vanish),
    );
    let error = net.attach(&request("a", "web", jid)).unwrap_err();
    assert_eq!(
        error,
        NetworkError::RecordLost {
            record: "container \"a\"".into()
        }
    );
    assert!(error.to_string().contains("container \"a\""), "{error}");
    assert_eq!(before, host.dump(), "the attach's kernel changes stayed");
}

#[test]
fn a_create_whose_record_vanished_fails_naming_it() {
    let host = Host::new(5);
    let before = host.dump();
    // Transactions: plan, record the bridge's interim name, then the last one.
    let net = Networks::new(
        host.net.kernel().clone(),
        Doomed::new(host.store.clone(), 3, Fate::Vanish),
    );
    let error = net.create(&network("web", "10.78.0.0/24")).unwrap_err();
    assert_eq!(
        error,
        NetworkError::RecordLost {
            record: "network \"web\"".into()
        }
    );
    assert_eq!(before, host.dump());
}

#[test]
fn a_record_claimed_elsewhere_makes_a_caller_wait_then_fail_naming_it() {
    let store = Arc::new(MemoryStore::default().with_patience(Duration::from_millis(100)));
    let host = Host::new(5);
    host.net.create(&network("web", "10.78.0.0/24")).unwrap();
    let jid = host.jail("a");
    let net = Networks::new(host.net.kernel().clone(), store.clone());
    let held = store.claim(RecordKey::Container("a")).unwrap();
    for error in [
        net.detach("a").unwrap_err(),
        net.attach(&request("a", "web", jid)).unwrap_err(),
    ] {
        match &error {
            NetworkError::InProgress { record, owner, .. } => {
                assert_eq!(record, "container \"a\"");
                assert_eq!(owner.as_deref(), Some(held.owner()));
            }
            other => panic!("{other}"),
        }
    }
    // Released, the record is free again; a claim waits for the holder to let go.
    std::thread::scope(|scope| {
        scope.spawn(|| {
            std::thread::sleep(Duration::from_millis(20));
            drop(held);
        });
        net.detach("a").unwrap();
    });
}

#[test]
fn a_detach_waits_for_an_attach_of_the_same_container() {
    for _round in 0..20 {
        let host = Host::new(5);
        host.net.create(&network("web", "10.78.0.0/24")).unwrap();
        let jid = host.jail("a");
        let before = host.dump();
        std::thread::scope(|scope| {
            scope.spawn(|| host.net.attach(&request("a", "web", jid)).unwrap());
            scope.spawn(|| {
                while host.net.container("a").unwrap().is_none() {
                    std::thread::yield_now();
                }
                host.net.detach("a").unwrap();
            });
        });
        assert_eq!(before, host.dump());
        assert!(host.store.snapshot().containers.is_empty());
        host.assert_sound();
    }
}

/// An earlier create died after renaming the bridge (its record says `Creating`): the bridge
/// is down, has no address, a different MTU, and the NAT rule is not loaded yet.
fn bridge_left_by_a_dead_create(host: &Host, config: &NetworkConfig) {
    host.net.create(config).unwrap();
    let k = host.kernel();
    let bridge = config.bridge();
    k.delete_inet_alias(Vnet::Host, &bridge, config.gateway)
        .unwrap();
    let flags = k.interface_flags(Vnet::Host, &bridge).unwrap();
    k.set_interface_flags(Vnet::Host, &bridge, flags.without(IfFlags::UP))
        .unwrap();
    k.set_mtu(Vnet::Host, &bridge, 1400).unwrap();
    let empty = k
        .pf_begin(&format!("zelle/net-{}", config.name), &[PfRuleset::Nat])
        .unwrap();
    k.pf_commit(&empty).unwrap();
    host.store
        .transaction(&mut |s| {
            s.networks.get_mut(&config.name).unwrap().status = NetworkStatus::Creating;
            Ok(())
        })
        .unwrap();
}

fn fail_next(host: &Host, op: Op) {
    let next = host.machine(|m| m.calls.get(&op).copied().unwrap_or(0)) + 1;
    host.machine(|m| m.config.faults = FaultPlan::default().nth(op, next, Errno::EIO));
}

#[test]
fn a_retried_create_that_fails_puts_back_the_bridge_it_found() {
    let host = Host::new(5);
    let config = network("web", "10.78.0.0/24");
    bridge_left_by_a_dead_create(&host, &config);
    let before = host.dump();
    fail_next(&host, Op::PfCommit);
    let error = host.net.create(&config).unwrap_err();
    assert!(
        matches!(error, NetworkError::Kernel { .. }),
        "undoing failed: {error}"
    );
    assert_eq!(
        before,
        host.dump(),
        "MTU, address or flags of the bridge stayed"
    );
    assert_eq!(
        host.net.network("web").unwrap().unwrap().status,
        NetworkStatus::Creating
    );
    host.machine(|m| m.config.faults = FaultPlan::default());
    host.net.create(&config).unwrap();
    let bridge = host.interface(Vnet::Host, "zb-web").unwrap();
    assert!(
        bridge.flags.contains(IfFlags::UP) && bridge.mtu == 1500,
        "{bridge:?}"
    );
    host.assert_sound();
}

#[test]
fn rebuilding_a_vanished_bridge_marks_the_network_creating_first() {
    let host = Host::new(5);
    let config = network("web", "10.78.0.0/24");
    host.net.create(&config).unwrap();
    // The kernel restarted under a kept store: the bridge is gone, the record says Ready.
    host.kernel()
        .destroy_interface(Vnet::Host, "zb-web")
        .unwrap();
    fail_next(&host, Op::PfCommit);
    host.net.create(&config).unwrap_err();
    assert_eq!(
        host.net.network("web").unwrap().unwrap().status,
        NetworkStatus::Creating,
        "a failed rebuild left the network marked ready"
    );
    let jid = host.jail("a");
    let error = host.net.attach(&request("a", "web", jid)).unwrap_err();
    assert!(
        matches!(error, NetworkError::NetworkNotReady { .. }),
        "{error}"
    );
    host.machine(|m| m.config.faults = FaultPlan::default());
    host.net.create(&config).unwrap();
    host.net.attach(&request("a", "web", jid)).unwrap();
    host.assert_sound();
}

#[test]
fn the_interim_names_are_recorded_before_the_interfaces_exist() {
    let host = Host::new(5);
    let config = network("web", "10.78.0.0/24");
    // The create dies right after recording the bridge's interim name (its 2nd transaction
    // runs, the 3rd does not).
    let doomed = Networks::new(
        host.net.kernel().clone(),
        Doomed::new(host.store.clone(), 3, Fate::Die),
    );
    catch_unwind(AssertUnwindSafe(|| doomed.create(&config))).unwrap_err();
    let record = host.store.snapshot().networks["web"].clone();
    let [Undo::Destroy { vnet, name }] = record.pending.as_slice() else {
        panic!("{record:#?}");
    };
    assert_eq!(*vnet, Vnet::Host);
    assert!(name.starts_with("bridge"), "{name}");
    let created: Vec<String> = host.machine(|m| {
        m.trace
            .iter()
            .filter(|e| e.op == Op::CreateInterface)
            .map(|e| e.args.clone())
            .collect()
    });
    assert!(
        created.iter().any(|args| args.contains(name.as_str())),
        "{name} is not what was created: {created:?}"
    );
}
