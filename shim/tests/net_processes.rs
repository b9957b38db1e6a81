//! Shim processes on one network state file and one simulated machine: two creating the same
//! network at once, a detach racing an attach of the same container, and a process killed
//! after each kernel call of an attach or a network create. None may leave a bridge without
//! a record, an address handed out twice, or an epair or anchor behind.
//!
//! The workers are this test binary run again (`--ignored --exact <worker>`); each panics
//! when started without the environment its test gives it. The state files go to a tmpfs
//! when there is one: the races are about locks, not durability, and fsync on a disk costs
//! more than the calls themselves.

mod common;

use common::jail;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::Arc;
use std::time::{Duration, Instant};
use zelle_core::kernel::{Jid, NetworkInterfaces};
use zelle_core::network::{
    AttachRequest, Dns, NetState, NetStore, NetworkConfig, NetworkError, NetworkStatus, Networks,
};
use zelle_shim::FileNetStore;
use zelle_sim::{SimConfig, SimKernel, DIED_EXIT_CODE, DIE_AFTER_ENV, STATE_ENV};

const ROUNDS: usize = 20;
const NET_STATE_ENV: &str = "ZELLE_TEST_NET_STATE";
const DIR_ENV: &str = "ZELLE_TEST_DIR";
const ROLE_ENV: &str = "ZELLE_TEST_ROLE";

type Net = Networks<SimKernel, FileNetStore>;

/// Where one test keeps its files.
struct Place {
    _dir: tempfile::TempDir,
    dir: PathBuf,
    sim: PathBuf,
    net: PathBuf,
}

impl Place {
    fn new() -> Place {
        let shm = Path::new("/dev/shm");
        let dir = match shm.is_dir() {
            true => tempfile::tempdir_in(shm),
            false => tempfile::tempdir(),
        }
        .expect("a temporary directory");
        let path = dir.path().to_path_buf();
        let place = Place {
            sim: path.join("machine.json"),
            net: path.join("networks.json"),
            dir: path,
            _dir: dir,
        };
        place.reset();
        place
    }

    /// A fresh machine and no network state.
    fn reset(&self) {
        SimKernel::reset_shared(&self.sim, &sim_config()).unwrap();
        let _ = std::fs::remove_file(&self.net);
    }

    fn net(&self) -> Net {
        networks(&self.sim, &self.net)
    }

    /// Run `worker` of this binary in a new process, with `role` and `extra` environment.
    fn spawn(&self, worker: &str, role: &str, extra: &[(&str, String)]) -> Child {
        let mut command = Command::new(std::env::current_exe().unwrap());
        command
            .args([
                "--ignored",
                "--exact",
                worker,
                "--test-threads=1",
                "--nocapture",
            ])
            // Only the harness's lines go to stdout (a worker is no test of its own); a
            // failing worker's panic goes to stderr.
            .stdout(std::process::Stdio::null())
            .env(STATE_ENV, &self.sim)
            .env(NET_STATE_ENV, &self.net)
            .env(DIR_ENV, &self.dir)
            .env(ROLE_ENV, role);
        for (name, value) in extra {
            command.env(name, value);
        }
        command.spawn().expect("a worker process")
    }
}

/// A machine without a trace: every process reads and writes the whole machine at each call,
/// and a trace of thousands of calls would be most of it.
fn sim_config() -> SimConfig {
    SimConfig {
        trace_limit: 0,
        ..SimConfig::default()
    }
}

fn networks(sim: &Path, net: &Path) -> Net {
    let kernel = SimKernel::shared(sim, sim_config());
    Networks::new(Arc::new(kernel), FileNetStore::new(net))
}

/// The environment variable `name`, which the test starting this worker sets.
fn env(worker: &str, name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: {worker} is a worker process of another test, not a test")
    })
}

/// The worker's networks, directory and role.
fn worker_env(worker: &str) -> (Net, PathBuf, String) {
    let sim = env(worker, STATE_ENV);
    let net = env(worker, NET_STATE_ENV);
    let dir = PathBuf::from(env(worker, DIR_ENV));
    (
        networks(Path::new(&sim), Path::new(&net)),
        dir,
        env(worker, ROLE_ENV),
    )
}

/// Wait until both workers reached round `round`, so that they start it together.
fn barrier(dir: &Path, round: usize, role: &str) {
    std::fs::write(dir.join(format!("round{round}.{role}")), b"").unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(&format!("round{round}."))
        })
        .count()
        < 2
    {
        assert!(
            Instant::now() < deadline,
            "the other worker never reached round {round}"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn request(id: &str, jid: Jid) -> AttachRequest {
    AttachRequest {
        container_id: id.into(),
        network: "web".into(),
        jid,
        hostname: id.into(),
        ports: vec![zelle_core::network::PublishedPort {
            proto: zelle_core::network::PortProtocol::Tcp,
            host_port: 8080,
            container_port: 80,
        }],
        dns: Dns::default(),
    }
}

fn round_network(round: usize) -> NetworkConfig {
    NetworkConfig::new(
        format!("r{round}"),
        format!("10.{}.0.0/24", 100 + round).parse().unwrap(),
    )
}

fn web() -> NetworkConfig {
    NetworkConfig::new("web", "10.78.0.0/24".parse().unwrap())
}

fn stored(store: &FileNetStore) -> NetState {
    let mut copy = None;
    store
        .transaction(&mut |state| {
            copy = Some(state.clone());
            Ok(())
        })
        .unwrap();
    copy.unwrap()
}

fn wait_all(children: Vec<Child>) {
    for mut child in children {
        let status = child.wait().unwrap();
        assert!(status.success(), "a worker failed: {status}");
    }
}

fn assert_sound(net: &Net) {
    let machine = net.kernel().snapshot();
    let problems = machine.check_invariants();
    assert!(problems.is_empty(), "{problems:?}\n{}", machine.dump());
}

fn dump(net: &Net) -> String {
    net.kernel().snapshot().dump()
}

/// No claim is left held, and no lock file left behind.
fn assert_no_claims(net: &Net) {
    let dir = net.store().claims_dir();
    let left: Vec<_> = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .filter_map(|e| e.ok())
            .map(|e| e.file_name())
            .collect(),
        Err(_) => Vec::new(),
    };
    assert!(left.is_empty(), "claims left: {left:?}");
}

// ---- two shims creating one network at once ------------------------------------------------

#[test]
#[ignore = "worker process of two_shims_creating_one_network_at_once; run only by that test"]
fn create_worker() {
    let (net, dir, role) = worker_env("create_worker");
    for round in 0..ROUNDS {
        barrier(&dir, round, &role);
        net.create(&round_network(round))
            .unwrap_or_else(|e| panic!("round {round}: {e}"));
    }
}

#[test]
fn two_shims_creating_one_network_at_once() {
    let place = Place::new();
    let net = place.net();
    let before = dump(&net);
    let started = Instant::now();
    wait_all(vec![
        place.spawn("create_worker", "0", &[]),
        place.spawn("create_worker", "1", &[]),
    ]);
    let took = started.elapsed();

    let state = stored(net.store());
    let interfaces = net
        .kernel()
        .list_interfaces(zelle_core::kernel::Vnet::Host)
        .unwrap();
    let bridges: Vec<&str> = interfaces
        .iter()
        .map(|i| i.name.as_str())
        .filter(|n| n.starts_with("zb-") || n.starts_with("bridge"))
        .collect();
    assert_eq!(bridges.len(), ROUNDS, "bridges: {bridges:?}");
    for round in 0..ROUNDS {
        let config = round_network(round);
        let record = &state.networks[&config.name];
        assert_eq!(record.status, NetworkStatus::Ready, "round {round}");
        assert_eq!(record.owner, None);
        assert!(record.pending.is_empty(), "{record:?}");
        assert!(bridges.contains(&config.bridge().as_str()), "round {round}");
    }
    assert_sound(&net);
    assert_no_claims(&net);
    for round in 0..ROUNDS {
        net.remove(&round_network(round).name).unwrap();
    }
    assert_eq!(before, dump(&net));
    eprintln!("{ROUNDS} rounds of two concurrent creates took {took:?}");
}

// ---- a detach racing an attach of the same container ---------------------------------------

#[test]
#[ignore = "worker process of a_detach_racing_an_attach_of_the_same_container; run only by that test"]
fn attach_detach_worker() {
    let (net, dir, role) = worker_env("attach_detach_worker");
    let jids: Vec<i32> = env("attach_detach_worker", "ZELLE_TEST_JIDS")
        .split(',')
        .map(|j| j.parse().unwrap())
        .collect();
    for (round, &jid) in jids.iter().enumerate() {
        let id = format!("c{round}");
        barrier(&dir, round, &role);
        if role == "attach" {
            net.attach(&request(&id, Jid(jid)))
                .unwrap_or_else(|e| panic!("round {round}: attach: {e}"));
        } else {
            // As containerd's delete after a Create that timed out: the record exists, the
            // attach may still be at work.
            let deadline = Instant::now() + Duration::from_secs(20);
            while net.container(&id).unwrap().is_none() {
                assert!(
                    Instant::now() < deadline,
                    "round {round}: no attach started"
                );
                std::thread::sleep(Duration::from_millis(2));
            }
            net.detach(&id)
                .unwrap_or_else(|e| panic!("round {round}: detach: {e}"));
        }
    }
}

#[test]
fn a_detach_racing_an_attach_of_the_same_container() {
    let place = Place::new();
    let net = place.net();
    net.create(&web()).unwrap();
    let root = place.dir.join("jails");
    let jids: Vec<String> = (0..ROUNDS)
        .map(|r| jail(net.kernel(), &root, &format!("j{r}")).0.to_string())
        .collect();
    let before = dump(&net);
    let jids = jids.join(",");
    let started = Instant::now();
    wait_all(vec![
        place.spawn(
            "attach_detach_worker",
            "attach",
            &[("ZELLE_TEST_JIDS", jids.clone())],
        ),
        place.spawn(
            "attach_detach_worker",
            "detach",
            &[("ZELLE_TEST_JIDS", jids)],
        ),
    ]);
    let took = started.elapsed();

    let state = stored(net.store());
    assert!(
        state.containers.is_empty() && state.keys.is_empty() && state.ports.is_empty(),
        "{state:#?}"
    );
    assert!(state.networks["web"].containers.is_empty());
    assert_eq!(
        before,
        dump(&net),
        "an epair, an address or an anchor was left"
    );
    assert_sound(&net);
    assert_no_claims(&net);
    eprintln!("{ROUNDS} rounds of a detach racing an attach took {took:?}");
}

// ---- a shim killed after each kernel call --------------------------------------------------

#[test]
#[ignore = "worker process of the killed_after_each_call tests; run only by them"]
fn doomed_worker() {
    let (net, _dir, role) = worker_env("doomed_worker");
    env("doomed_worker", DIE_AFTER_ENV);
    match role.as_str() {
        "attach" => {
            let jid = env("doomed_worker", "ZELLE_TEST_JIDS").parse().unwrap();
            net.attach(&request("c", Jid(jid))).unwrap();
        }
        "create" => net.create(&web()).unwrap(),
        other => panic!("unknown role {other}"),
    }
}

/// For N = 1, 2, …: on a machine fresh from `prepare`, a process doing `role` is killed
/// right after its Nth kernel call; then `recover`, in this process with a fresh store, must
/// put the machine back as it was. Stops at the first N the worker outlives; returns how many
/// times it died.
fn kill_after_each_call(
    role: &str,
    prepare: impl Fn(&Place, &Net) -> Vec<(&'static str, String)>,
    recover: impl Fn(usize, &Net),
) -> usize {
    let place = Place::new();
    for n in 1.. {
        place.reset();
        let net = place.net();
        let mut extra = prepare(&place, &net);
        let before = dump(&net);
        extra.push((DIE_AFTER_ENV, n.to_string()));
        let status = place.spawn("doomed_worker", role, &extra).wait().unwrap();
        if status.success() {
            return n - 1;
        }
        assert_eq!(
            status.code(),
            Some(DIED_EXIT_CODE),
            "killed after call {n}: the worker failed of itself"
        );
        let fresh = place.net();
        recover(n, &fresh);
        assert_eq!(
            before,
            dump(&fresh),
            "killed after call {n}: recovery left the machine changed"
        );
        assert_sound(&fresh);
        assert_no_claims(&fresh);
    }
    unreachable!()
}

#[test]
fn a_shim_killed_after_any_call_of_an_attach_leaves_what_detach_undoes() {
    let died = kill_after_each_call(
        "attach",
        |place, net| {
            net.create(&web()).unwrap();
            let jid = jail(net.kernel(), &place.dir.join("jails"), "j");
            vec![("ZELLE_TEST_JIDS", jid.0.to_string())]
        },
        |n, net| {
            net.detach("c")
                .unwrap_or_else(|e| panic!("killed after call {n}: detach: {e}"));
            let state = stored(net.store());
            assert!(
                state.containers.is_empty() && state.keys.is_empty() && state.ports.is_empty(),
                "killed after call {n}: {state:#?}"
            );
        },
    );
    assert!(died > 15, "an attach of only {died} calls?");
}

#[test]
fn a_shim_killed_after_any_call_of_a_network_create_leaves_what_remove_undoes() {
    let died = kill_after_each_call(
        "create",
        |_, _| Vec::new(),
        |n, net| {
            // Every other time, a create finishes the job first (as the next shim to start
            // does); then the network is removed.
            if n % 2 == 0 {
                net.create(&web())
                    .unwrap_or_else(|e| panic!("killed after call {n}: create again: {e}"));
                let record = net.network("web").unwrap().unwrap();
                assert_eq!(record.status, NetworkStatus::Ready);
            }
            match net.remove("web") {
                Ok(()) => {}
                Err(NetworkError::UnknownNetwork { .. }) => {
                    assert!(n % 2 == 1 && net.network("web").unwrap().is_none())
                }
                Err(e) => panic!("killed after call {n}: remove: {e}"),
            }
            assert!(stored(net.store()).networks.is_empty());
        },
    );
    assert!(died > 5, "a create of only {died} calls?");
}
