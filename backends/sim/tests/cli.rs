//! The `zelle-sim` command as a user runs it: the demo, `show` on a kept machine, and `show`
//! failing with a list when the machine's invariants do not hold.

use std::process::{Command, Output};
use zelle_sim::{SimConfig, SimKernel};

fn zelle_sim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_zelle-sim"))
        .args(args)
        .env_remove(zelle_sim::STATE_ENV)
        .output()
        .expect("run zelle-sim")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn demo_shows_the_main_job_and_leaves_nothing() {
    let out = zelle_sim(&["demo"]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    let (up, down) = stdout.split_once("=== after teardown").expect("both parts");
    for shown in [
        "bridge0: flags=8843<UP",
        "member: epair0a",
        "ifconfig -a (vnet jail 1 \"demo\")",
        "eth0: flags=8843<UP",
        "inet 10.77.0.2 netmask 0xffffff00",
        "anchor \"zelle/demo\"",
        "rdr on em0 proto tcp from any to any port 8080 -> 10.77.0.2 port 80",
    ] {
        assert!(up.contains(shown), "{shown:?} missing from:\n{up}");
    }
    assert!(down.contains("(jail 1 gone: true)"), "{down}");
    for gone in ["bridge0", "epair0", "vnet jail", "zelle/demo"] {
        assert!(!down.contains(gone), "{gone:?} left behind:\n{down}");
    }
}

#[test]
fn show_lists_broken_invariants_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("machine.json");
    let state_arg = state.to_str().unwrap();
    let kept = zelle_sim(&["--state", state_arg, "demo", "--keep"]);
    assert!(kept.status.success(), "{}", text(&kept.stderr));

    let shown = zelle_sim(&["--state", state_arg, "show"]);
    assert!(shown.status.success(), "{}", text(&shown.stderr));
    assert!(text(&shown.stdout).contains("jid parent name"));

    // Break the machine behind the kernel's back: forget one end of the epair.
    SimKernel::shared(&state, SimConfig::default())
        .with_machine(|m| {
            let host = zelle_sim::jail::VnetId::HOST;
            let a = m.net.lookup(host, "epair0a").expect("epair0a");
            m.net.ifaces.get_mut(&a).unwrap().peer = None;
        })
        .unwrap();
    let broken = zelle_sim(&["--state", state_arg, "show"]);
    assert_eq!(broken.status.code(), Some(1));
    let stderr = text(&broken.stderr);
    assert!(stderr.contains("invariants violated"), "{stderr}");
    assert!(stderr.contains("epair0a"), "{stderr}");

    let checked = zelle_sim(&["--state", state_arg, "check"]);
    assert_eq!(checked.status.code(), Some(1));
}

#[test]
fn commands_other_than_demo_need_a_state_file() {
    let out = zelle_sim(&["show"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("ZELLE_SIM_STATE"));
}
