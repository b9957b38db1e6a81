//! One process per batch of in-jail work: `NetworkInterfaces::vnet_session` on both doors, and
//! the forks an attach costs on the real backend (`FreeBsd<SimSyscalls>`, whose ABI door counts
//! the fork(2)s the real kernel would see).

use std::net::Ipv4Addr;
use std::sync::Arc;
use zelle_core::kernel::net::InetAlias;
use zelle_core::kernel::*;
use zelle_core::network::*;
use zelle_freebsd::FreeBsd;
use zelle_sim::abi::SimSyscalls;
use zelle_sim::{Op, SimConfig, SimKernel};

type Door = FreeBsd<SimSyscalls>;

fn door() -> Arc<Door> {
    Arc::new(FreeBsd::new(SimSyscalls::new(SimKernel::new(
        SimConfig::default(),
    ))))
}

fn forks(door: &Door) -> u64 {
    door.syscalls().forks()
}

/// A persistent vnet jail rooted in `root`.
fn jail(kernel: &dyn Kernel, root: &std::path::Path, name: &str) -> Jid {
    let params = JailParams {
        name: Some(name.to_string()),
        path: Some(root.to_string_lossy().into_owned()),
        persist: Some(true),
        vnet: Some(VnetMode::New),
        ..JailParams::default()
    };
    kernel
        .jail_set(&params, JailFlags::CREATE)
        .expect("a vnet jail")
}

fn attach_request(id: &str, jid: Jid) -> AttachRequest {
    AttachRequest {
        container_id: id.to_string(),
        network: "web".to_string(),
        jid,
        hostname: String::new(),
        ports: Vec::new(),
        dns: Dns::default(),
    }
}

/// The operation a kernel error names (its text up to the colon).
fn op_of(error: &KernelError) -> String {
    error
        .to_string()
        .split(':')
        .next()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn an_attach_forks_once_and_a_detach_once() {
    let root = tempfile::tempdir().unwrap();
    let door = door();
    let net = Networks::new(door.clone(), Arc::new(MemoryStore::default()));
    let mut config = NetworkConfig::new("web", "10.78.0.0/24".parse().unwrap());
    config.subnet6 = Some("fd7e:7a1e:1::/64".parse().unwrap());
    net.create(&config).unwrap();
    assert_eq!(forks(&door), 0, "a network lives in the host's vnet");

    let jid = jail(&*door, root.path(), "a");
    let before = forks(&door);
    net.attach(&attach_request("a", jid)).unwrap();
    // rename, flags, addresses, lo0 and routes in the jail: one helper for them all.
    assert_eq!(forks(&door) - before, 1);
    let eth0 = door
        .list_interfaces(Vnet::Jail(jid))
        .unwrap()
        .into_iter()
        .find(|i| i.name == "eth0")
        .expect("eth0 in the jail");
    assert_eq!(eth0.inet, [(Ipv4Addr::new(10, 78, 0, 2), 24)]);

    let before = forks(&door);
    net.detach("a").unwrap();
    assert_eq!(forks(&door) - before, 1);
    assert!(net.container("a").unwrap().is_none());
}

#[test]
fn without_a_session_each_call_in_a_jail_forks() {
    let root = tempfile::tempdir().unwrap();
    let door = door();
    let jid = jail(&*door, root.path(), "a");
    let jail = Vnet::Jail(jid);
    let before = forks(&door);
    let alone = door.list_interfaces(jail).unwrap();
    door.interface_flags(jail, "lo0").unwrap();
    assert_eq!(forks(&door) - before, 2);

    let before = forks(&door);
    let mut seen = None;
    door.vnet_session(jid, &mut || {
        let lo0 = InetAlias::new(Ipv4Addr::LOCALHOST, 8);
        door.add_inet_alias(jail, "lo0", &lo0).unwrap();
        let flags = door.interface_flags(jail, "lo0").unwrap();
        door.set_interface_flags(jail, "lo0", flags.with(IfFlags::UP))
            .unwrap();
        // The host's vnet is not the session's: no fork either way.
        door.list_interfaces(Vnet::Host).unwrap();
        seen = Some(door.list_interfaces(jail).unwrap());
    })
    .unwrap();
    assert_eq!(forks(&door) - before, 1);
    let seen = seen.expect("the work ran");
    assert_eq!(seen.len(), alone.len());
    let lo0 = seen.iter().find(|i| i.name == "lo0").unwrap();
    assert!(lo0.flags.contains(IfFlags::UP), "{lo0:?}");
    assert!(lo0.inet.contains(&(Ipv4Addr::LOCALHOST, 8)), "{lo0:?}");
    // The session is over: the next call forks again.
    door.list_interfaces(jail).unwrap();
    assert_eq!(forks(&door) - before, 2);
}

/// A session that cannot start (no such jail) still runs its work, whose calls fail as they
/// would without one: jail_attach's EINVAL.
fn a_session_for_a_missing_jail_still_runs_its_work(kernel: &dyn Kernel) {
    let mut ran = 0;
    let mut listed = None;
    let started = kernel.vnet_session(Jid(4711), &mut || {
        ran += 1;
        listed = Some(kernel.list_interfaces(Vnet::Jail(Jid(4711))));
    });
    assert_eq!(ran, 1);
    let error = started.unwrap_err();
    assert_eq!(
        (op_of(&error), error.code()),
        ("jail_attach".into(), Some(Errno::EINVAL))
    );
    let error = listed.unwrap().unwrap_err();
    assert_eq!(
        (op_of(&error), error.code()),
        ("jail_attach".into(), Some(Errno::EINVAL))
    );
}

#[test]
fn a_session_for_a_missing_jail_still_runs_its_work_on_both_doors() {
    a_session_for_a_missing_jail_still_runs_its_work(&SimKernel::new(SimConfig::default()));
    let door = door();
    a_session_for_a_missing_jail_still_runs_its_work(&*door);
    // The door stood in for one fork for the session and one for the call.
    assert_eq!(forks(&door), 2);
}

/// jail_remove(2) kills the helper with the jail: later calls of the session fail as a call
/// without one would, with jail_attach's EINVAL, and not as the operation's own error.
fn a_jail_removed_in_a_session_fails_later_calls_as_jail_attach(kernel: &dyn Kernel) {
    let root = tempfile::tempdir().unwrap();
    let jid = jail(kernel, root.path(), "a");
    let mut after = None;
    kernel
        .vnet_session(jid, &mut || {
            kernel.list_interfaces(Vnet::Jail(jid)).unwrap();
            kernel.jail_remove(jid).unwrap();
            after = Some(kernel.interface_flags(Vnet::Jail(jid), "lo0"));
        })
        .unwrap();
    let error = after.unwrap().unwrap_err();
    assert_eq!(
        (op_of(&error), error.code()),
        ("jail_attach".into(), Some(Errno::EINVAL))
    );
}

#[test]
fn a_jail_removed_in_a_session_fails_later_calls_as_jail_attach_on_both_doors() {
    a_jail_removed_in_a_session_fails_later_calls_as_jail_attach(&SimKernel::new(
        SimConfig::default(),
    ));
    a_jail_removed_in_a_session_fails_later_calls_as_jail_attach(&*door());
}

#[test]
fn the_trace_records_one_session_per_attach_through_both_doors() {
    let sessions = |sim: &SimKernel| {
        sim.with_machine(|m| m.trace.iter().filter(|e| e.op == Op::VnetSession).count())
            .unwrap()
    };
    let root = tempfile::tempdir().unwrap();
    let typed = Arc::new(SimKernel::new(SimConfig::default()));
    let door = door();
    let kernels: [(Arc<dyn Kernel>, &SimKernel); 2] = [
        (typed.clone(), &typed),
        (door.clone(), door.syscalls().kernel()),
    ];
    for (kernel, sim) in kernels {
        let net = Networks::new(kernel.clone(), Arc::new(MemoryStore::default()));
        net.create(&NetworkConfig::new("web", "10.78.0.0/24".parse().unwrap()))
            .unwrap();
        let jid = jail(&*kernel, root.path(), "a");
        net.attach(&attach_request("a", jid)).unwrap();
        assert_eq!(sessions(sim), 1);
    }
}
