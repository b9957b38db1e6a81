//! Shared support for the network tests: a simulated host with networks, jails and a store.
//!
//! The tests run on the simulated machine through its typed door by default; with
//! `ZELLE_NET_TEST_BACKEND=door` the same tests run through the real FreeBSD backend
//! (`FreeBsd<SimSyscalls>`): every request marshalled into the bytes the FreeBSD kernel takes
//! and decoded by the simulator's ABI door. `scripts/test.sh` runs both.
#![allow(dead_code)]

use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;
use zelle_core::kernel::net::{InetAlias, Route};
use zelle_core::kernel::*;
use zelle_core::network::*;
use zelle_freebsd::FreeBsd;
use zelle_sim::abi::SimSyscalls;
use zelle_sim::{Machine, Op, SimConfig, SimKernel};

pub type Net = Networks<dyn Kernel, Arc<MemoryStore>>;

/// The backend the tests drive: the simulator's typed door, or the real backend over its ABI
/// door.
enum Backend {
    Typed(Arc<SimKernel>),
    Door(Arc<FreeBsd<SimSyscalls>>),
}

fn over_the_abi_door() -> bool {
    std::env::var("ZELLE_NET_TEST_BACKEND").is_ok_and(|b| b == "door")
}

/// A simulated machine, zelle's networks on it, and a directory for jail roots.
pub struct Host {
    pub net: Net,
    backend: Backend,
    pub store: Arc<MemoryStore>,
    root: tempfile::TempDir,
    last_jid: AtomicI32,
}

impl Host {
    pub fn new(seed: u64) -> Self {
        Host::with_config(SimConfig {
            seed,
            ..SimConfig::default()
        })
    }

    pub fn with_config(config: SimConfig) -> Self {
        let store = Arc::new(MemoryStore::default());
        let sim = SimKernel::new(config);
        let (kernel, backend): (Arc<dyn Kernel>, _) = if over_the_abi_door() {
            let door = Arc::new(FreeBsd::new(SimSyscalls::new(sim)));
            (door.clone(), Backend::Door(door))
        } else {
            let typed = Arc::new(sim);
            (typed.clone(), Backend::Typed(typed))
        };
        Host {
            net: Networks::new(kernel, store.clone()),
            backend,
            store,
            root: tempfile::tempdir().expect("a temporary directory"),
            last_jid: AtomicI32::new(0),
        }
    }

    /// The kernel the tests drive (through whichever door).
    pub fn kernel(&self) -> &dyn Kernel {
        &**self.net.kernel()
    }

    /// The simulated machine behind either door.
    pub fn sim(&self) -> &SimKernel {
        match &self.backend {
            Backend::Typed(sim) => sim,
            Backend::Door(door) => door.syscalls().kernel(),
        }
    }

    pub fn machine<T>(&self, f: impl FnOnce(&mut Machine) -> T) -> T {
        self.sim().with_machine(f).expect("the machine")
    }

    pub fn dump(&self) -> String {
        self.machine(|m| m.dump())
    }

    /// The machine as text and the store: what must not change when a call fails.
    pub fn state(&self) -> (String, NetState) {
        (self.dump(), self.store.snapshot())
    }

    pub fn assert_sound(&self) {
        let problems = self.machine(|m| m.check_invariants());
        assert!(
            problems.is_empty(),
            "invariants violated:\n  {}\n{}",
            problems.join("\n  "),
            self.dump()
        );
    }

    /// A persistent vnet jail, as the runtime makes one before attaching it.
    pub fn jail(&self, name: &str) -> Jid {
        let params = JailParams {
            name: Some(name.to_string()),
            path: Some(self.root.path().to_string_lossy().into_owned()),
            persist: Some(true),
            vnet: Some(VnetMode::New),
            ..JailParams::default()
        };
        let jid = self
            .kernel()
            .jail_set(&params, JailFlags::CREATE)
            .expect("a vnet jail");
        self.last_jid.fetch_max(jid.0, Ordering::SeqCst);
        jid
    }

    pub fn last_jid(&self) -> i32 {
        self.last_jid.load(Ordering::SeqCst)
    }

    pub fn interface(&self, vnet: Vnet, name: &str) -> Option<Interface> {
        self.kernel()
            .list_interfaces(vnet)
            .expect("list interfaces")
            .into_iter()
            .find(|i| i.name == name)
    }

    /// The interface of the host's IPv4 default route, giving the host one if it has none.
    pub fn default_route_interface(&self) -> String {
        let routes = self.kernel().list_routes(Vnet::Host).expect("routes");
        if let Some(route) = routes
            .iter()
            .find(|r| r.dest == "0.0.0.0/0".parse().unwrap())
        {
            return route.interface.clone();
        }
        let name = self.host_interface_with(Ipv4Addr::new(192, 0, 2, 10), 24);
        self.kernel()
            .add_route(
                Vnet::Host,
                &Route::default_via(Ipv4Addr::new(192, 0, 2, 1).into()),
            )
            .expect("a default route");
        name
    }

    /// Delete the host's IPv4 default routes.
    pub fn remove_default_routes(&self) {
        let routes = self.kernel().list_routes(Vnet::Host).expect("routes");
        for route in routes
            .into_iter()
            .filter(|r| r.dest == "0.0.0.0/0".parse().unwrap())
        {
            let request = Route {
                dest: route.dest,
                gateway: route.gateway,
            };
            self.kernel()
                .delete_route(Vnet::Host, &request)
                .expect("delete the default route");
        }
    }

    /// A host interface (an epair's a end) carrying `addr/len`, up; returns its name.
    pub fn host_interface_with(&self, addr: Ipv4Addr, len: u8) -> String {
        let k = self.kernel();
        let name = k.create_interface(Vnet::Host, "epair").expect("an epair");
        k.add_inet_alias(Vnet::Host, &name, &InetAlias::new(addr, len))
            .expect("an address");
        let flags = k.interface_flags(Vnet::Host, &name).expect("flags");
        k.set_interface_flags(Vnet::Host, &name, flags.with(IfFlags::UP))
            .expect("up");
        name
    }
}

/// A network with NAT through em0, whatever the host's routes.
pub fn network(name: &str, subnet: &str) -> NetworkConfig {
    NetworkConfig {
        egress: Some("em0".into()),
        ..NetworkConfig::new(name, subnet.parse().expect("a subnet"))
    }
}

pub fn network6(name: &str, subnet: &str, subnet6: &str) -> NetworkConfig {
    NetworkConfig {
        subnet6: Some(subnet6.parse().expect("an IPv6 subnet")),
        ..network(name, subnet)
    }
}

pub fn request(id: &str, network: &str, jid: Jid) -> AttachRequest {
    AttachRequest {
        container_id: id.to_string(),
        network: network.to_string(),
        jid,
        hostname: String::new(),
        ports: Vec::new(),
        dns: Dns::default(),
    }
}

pub fn tcp(host_port: u16, container_port: u16) -> PublishedPort {
    PublishedPort {
        proto: PortProtocol::Tcp,
        host_port,
        container_port,
    }
}

pub fn udp(host_port: u16, container_port: u16) -> PublishedPort {
    PublishedPort {
        proto: PortProtocol::Udp,
        host_port,
        container_port,
    }
}

/// The kernel calls `act` makes on a machine fresh from `prepare`, in order.
pub fn calls_made(
    prepare: &impl Fn() -> Host,
    act: &impl Fn(&Host) -> Result<(), NetworkError>,
) -> Vec<Op> {
    let host = prepare();
    let start = host.machine(|m| m.seq);
    act(&host).expect("the run without faults succeeds");
    host.machine(|m| {
        m.trace
            .iter()
            .filter(|e| e.seq > start)
            .map(|e| e.op)
            .collect()
    })
}

/// Make each kernel call of `act` fail in turn (EIO), each time on a machine fresh from
/// `prepare`: `act` must fail, undo everything, and leave machine and store as they were.
pub fn fail_each_call_in_turn(
    prepare: impl Fn() -> Host,
    act: impl Fn(&Host) -> Result<(), NetworkError>,
) {
    let calls = calls_made(&prepare, &act);
    assert!(!calls.is_empty());
    for (i, &op) in calls.iter().enumerate() {
        let host = prepare();
        let nth = host.machine(|m| m.calls.get(&op).copied().unwrap_or(0))
            + calls[..=i].iter().filter(|&&o| o == op).count() as u64;
        host.machine(|m| {
            m.config.faults = zelle_sim::FaultPlan::default().nth(op, nth, Errno::EIO)
        });
        if op == Op::VnetSession {
            // A session that cannot start changes nothing but the number of forks: its calls
            // then fork one by one (NetworkInterfaces::vnet_session).
            if let Err(error) = act(&host) {
                panic!("call {i} ({op}) failed and took the operation with it: {error}");
            }
            host.assert_sound();
            continue;
        }
        let before = host.state();
        let error = match act(&host) {
            Ok(()) => panic!("call {i} ({op}) failed, yet the operation succeeded"),
            Err(error) => error,
        };
        assert!(
            !matches!(error, NetworkError::RollbackIncomplete { .. }),
            "call {i} ({op}): {error}"
        );
        let after = host.state();
        assert_eq!(
            before.0, after.0,
            "call {i} ({op}) failed ({error}) and the machine changed"
        );
        assert_eq!(
            before.1, after.1,
            "call {i} ({op}) failed and the store changed"
        );
        host.assert_sound();
    }
}
