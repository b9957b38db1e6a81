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
        "zb-zelle: flags=8843<UP",
        "inet 10.77.0.1 netmask 0xffff0000",
        "member: zedemo",
        "ifconfig -a (vnet jail 1 \"demo\")",
        "eth0: flags=8843<UP",
        "inet 10.77.0.2 netmask 0xffff0000",
        "default            10.77.0.1          UGS           eth0",
        "anchor \"zelle/net-zelle\"\n  nat on em0 inet from 10.77.0.0/16 to any -> (em0)",
        "rdr on em0 inet proto tcp from any to (em0) port 8080 -> 10.77.0.2 port 80",
    ] {
        assert!(up.contains(shown), "{shown:?} missing from:\n{up}");
    }
    assert!(down.contains("(jail 1 gone: true)"), "{down}");
    for gone in [
        "zb-zelle",
        "zedemo",
        "vnet jail",
        "zelle/net-",
        "zelle/ctr-",
    ] {
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

    // Break the machine behind the kernel's back: forget the peer of the container's epair.
    let host_end = SimKernel::shared(&state, SimConfig::default())
        .with_machine(|m| {
            let host = zelle_sim::jail::VnetId::HOST;
            let id = m
                .net
                .in_vnet(host)
                .find(|&id| m.net.iface(id).name.starts_with("ze"));
            let id = id.expect("the container's host end");
            m.net.ifaces.get_mut(&id).unwrap().peer = None;
            m.net.iface(id).name.clone()
        })
        .unwrap();
    let broken = zelle_sim(&["--state", state_arg, "show"]);
    assert_eq!(broken.status.code(), Some(1));
    let stderr = text(&broken.stderr);
    assert!(stderr.contains("invariants violated"), "{stderr}");
    assert!(stderr.contains(&host_end), "{stderr}");

    let checked = zelle_sim(&["--state", state_arg, "check"]);
    assert_eq!(checked.status.code(), Some(1));
}

#[test]
fn commands_other_than_demo_need_a_state_file() {
    let out = zelle_sim(&["show"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("ZELLE_SIM_STATE"));
}
