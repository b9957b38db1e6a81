//! OCI hooks around the container's life on the simulated machine: where each kind runs, what
//! a failing or slow one does to its step, and that nothing is left behind.

mod runtime_support;

use runtime_support::*;
use serde_json::{json, Value};
use zelle_core::kernel::{Op, Stdio};
use zelle_core::runtime::{ContainerStore, RuntimeError};
use zelle_sim::process::{Program, Script};

const OK: &str = "/hooks/ok";
const FAIL: &str = "/hooks/fail";
const SLOW: &str = "/hooks/slow";

fn host(seed: u64) -> Host {
    let host = Host::new(seed);
    host.sim()
        .with_machine(|m| {
            let programs = &mut m.procs.programs;
            programs.insert(OK.into(), Program::Script(Script::exits(0)));
            programs.insert(FAIL.into(), Program::Script(Script::exits(3)));
            programs.insert(
                SLOW.into(),
                Program::Script(Script::runs_until_signalled().runs_for(120_000)),
            );
        })
        .unwrap();
    host
}

fn with_hooks(hooks: Value) -> Value {
    let mut cfg = config(&[SERVER]);
    cfg["hooks"] = hooks;
    cfg
}

/// The spawns the machine traced, as their argument text.
fn spawns(host: &Host) -> Vec<String> {
    host.sim()
        .snapshot()
        .trace
        .iter()
        .filter(|t| t.op == Op::Spawn)
        .map(|t| t.args.clone())
        .collect()
}

#[test]
fn every_kind_runs_at_its_point_and_where_the_spec_says() {
    let host = host(1);
    let hook = json!([{"path": OK, "args": ["ok", "x"]}]);
    let request = host.bundle(
        "h",
        with_hooks(json!({
            "createRuntime": hook, "createContainer": hook, "startContainer": hook,
            "poststart": hook, "poststop": hook,
        })),
    );
    // startContainer resolves its path in the container's root.
    std::fs::create_dir_all(format!("{}/hooks", request.rootfs[0].source)).unwrap();
    host.runtime.create(&request).unwrap();
    assert_eq!(spawns(&host).len(), 2, "createRuntime and createContainer");
    host.runtime.start("h", Stdio::default()).unwrap();
    let traced = spawns(&host);
    assert_eq!(traced.len(), 5, "{traced:#?}");
    // createRuntime, createContainer and poststart on the host; startContainer in the jail,
    // before the init.
    assert!(traced[0].contains("jail: None") && traced[0].contains("\"/hooks/ok\", \"x\""));
    assert!(traced[2].contains("jail: Some"), "{}", traced[2]);
    assert!(traced[3].contains(SERVER), "{}", traced[3]);
    assert!(traced[4].contains("jail: None"), "{}", traced[4]);
    host.runtime
        .kill("h", None, zelle_core::kernel::Signal::SIGKILL, false)
        .unwrap();
    host.runtime.reap().unwrap();
    host.runtime.delete("h").unwrap();
    assert_eq!(spawns(&host).len(), 6, "poststop");
    assert!(host.runtime.take_warnings().is_empty());
    assert_eq!(host.problems(), Vec::<String>::new());
}

/// Create fails naming `field`, and the machine and the state directory are as before.
fn create_fails(host: &Host, id: &str, hooks: Value, words: &[&str]) {
    let before = host.dump();
    let err = host
        .runtime
        .create(&host.bundle(id, with_hooks(hooks)))
        .unwrap_err();
    assert!(matches!(err, RuntimeError::Refused { .. }), "{err}");
    for word in words {
        assert!(err.to_string().contains(word), "{word:?} not in {err}");
    }
    // The hook's own process is gone too.
    let after = host.dump();
    assert_eq!(after, before);
    assert!(host.containers.ids().unwrap().is_empty());
}

#[test]
fn a_failing_create_hook_fails_create_and_undoes_it() {
    let host = host(2);
    create_fails(
        &host,
        "f",
        json!({"createRuntime": [{"path": OK}, {"path": FAIL}]}),
        &["hooks.createRuntime[1]", "exited with 3"],
    );
    create_fails(
        &host,
        "p",
        json!({"prestart": [{"path": "/hooks/none"}]}),
        &["hooks.prestart[0]", "did not start"],
    );
}

#[test]
fn a_hook_that_times_out_is_killed_and_fails_its_step() {
    let host = host(3);
    let clock = host.sim().snapshot().clock_ms;
    create_fails(
        &host,
        "t",
        json!({"createContainer": [{"path": SLOW, "timeout": 2}]}),
        &["hooks.createContainer[0]", "timed out after 2 s"],
    );
    // Two seconds of simulated time, not two minutes.
    assert_eq!(host.sim().snapshot().clock_ms - clock, 2000);
}

#[test]
fn poststart_and_poststop_failures_only_warn() {
    let host = host(4);
    let hooks = json!({"poststart": [{"path": FAIL}], "poststop": [{"path": FAIL}]});
    host.runtime
        .create(&host.bundle("w", with_hooks(hooks)))
        .unwrap();
    host.runtime.start("w", Stdio::default()).unwrap();
    assert_eq!(host.runtime.state("w").unwrap().status, "running");
    let warnings = host.runtime.take_warnings();
    assert!(
        warnings.len() == 1 && warnings[0].contains("hooks.poststart[0]"),
        "{warnings:?}"
    );
    host.runtime
        .kill("w", None, zelle_core::kernel::Signal::SIGKILL, false)
        .unwrap();
    host.runtime.reap().unwrap();
    host.runtime.delete("w").unwrap();
    let warnings = host.runtime.take_warnings();
    assert!(
        warnings.len() == 1 && warnings[0].contains("hooks.poststop[0]"),
        "{warnings:?}"
    );
    assert_eq!(host.problems(), Vec::<String>::new());
}

#[test]
fn a_failing_start_container_hook_fails_start_before_the_init() {
    let host = host(5);
    let request = host.bundle("s", with_hooks(json!({"startContainer": [{"path": FAIL}]})));
    host.runtime.create(&request).unwrap();
    let err = host.runtime.start("s", Stdio::default()).unwrap_err();
    assert!(err.to_string().contains("hooks.startContainer[0]"), "{err}");
    assert_eq!(host.runtime.state("s").unwrap().status, "created");
    assert!(!spawns(&host).iter().any(|s| s.contains(SERVER)));
    host.runtime.delete("s").unwrap();
    assert_eq!(host.problems(), Vec::<String>::new());
}

#[test]
fn a_poststop_hook_runs_even_when_a_fresh_runtime_deletes() {
    let host = host(6);
    host.runtime
        .create(&host.bundle("r", with_hooks(json!({"poststop": [{"path": OK}]}))))
        .unwrap();
    let before = spawns(&host).len();
    host.fresh_runtime().delete("r").unwrap();
    assert_eq!(spawns(&host).len(), before + 1);
}

#[test]
fn hooks_read_the_state_json_on_stdin() {
    // A real program on the host (host-exec) copies its stdin to a file.
    let host = Host::new(7);
    host.sim()
        .with_machine(|m| m.procs.host_exec = true)
        .unwrap();
    let out = std::path::Path::new(&host.host_dir("out")).join("state.json");
    let script = format!("cat > {}", out.display());
    let request = host.bundle(
        "j",
        with_hooks(json!({"createRuntime": [{"path": "/bin/sh", "args": ["sh", "-c", script]}]})),
    );
    host.runtime.create(&request).unwrap();
    let state: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(state["id"], "j");
    assert_eq!(state["status"], "creating");
    assert_eq!(state["bundle"], request.bundle.as_str());
    assert_eq!(state["ociVersion"], "1.1.0");
    host.runtime.delete("j").unwrap();
}
