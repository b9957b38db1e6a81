//! pf rules that need simulator control: the operator's main ruleset, reachability of
//! anchors, the pf module, securelevel, and the machine's own view (dump, invariants).

use zelle_core::kernel::pf::{
    redirect_to, PfAction, PfAddr, PfEndpoint, PfRedirect, PfRule, PfRuleset,
};
use zelle_core::kernel::{Errno, HostFacts, KResult, PacketFilter, SysctlValue};
use zelle_sim::SimKernel;

fn kernel() -> SimKernel {
    SimKernel::seeded(7)
}

fn code<T: std::fmt::Debug>(result: KResult<T>) -> Option<Errno> {
    result.expect_err("the call should fail").code()
}

fn nat(subnet: &str) -> PfRule {
    PfRule {
        interface: Some("em0".into()),
        src: PfEndpoint {
            addr: PfAddr::Net(subnet.parse().unwrap()),
            ..PfEndpoint::any()
        },
        redirect: Some(PfRedirect {
            addr: PfAddr::Interface("em0".into()),
            ports: None,
        }),
        ..PfRule::new(PfAction::Nat)
    }
}

fn rdr(port: u16) -> PfRule {
    PfRule {
        dst: PfEndpoint {
            ports: Some(zelle_core::kernel::pf::PortRange::single(port)),
            ..PfEndpoint::any()
        },
        redirect: Some(redirect_to([10, 77, 0, 2].into(), None)),
        ..PfRule::new(PfAction::Rdr)
    }
}

/// What an operator's pf.conf holds to let zelle's anchors run.
fn operator_rules() -> Vec<PfRule> {
    vec![
        PfRule::anchor_call(PfAction::Nat, "zelle/*"),
        PfRule::anchor_call(PfAction::Rdr, "zelle/*"),
        PfRule::anchor_call(PfAction::Pass, "zelle/*"),
        PfRule::new(PfAction::Pass),
    ]
}

fn load_main(k: &SimKernel, rules: &[PfRule]) {
    k.with_machine(|m| m.load_main_ruleset(rules))
        .unwrap()
        .expect("load the main ruleset");
}

fn reachable(k: &SimKernel, path: &str, ruleset: PfRuleset) -> bool {
    k.with_machine(|m| m.anchor_reachable(path, ruleset))
        .unwrap()
}

/// Commit `rules` into `anchor` (one transaction over nat, rdr and filter).
fn commit(k: &SimKernel, anchor: &str, rules: &[PfRule]) {
    let tx = k
        .pf_begin(anchor, &[PfRuleset::Nat, PfRuleset::Rdr, PfRuleset::Filter])
        .unwrap();
    for rule in rules {
        k.pf_add_rule(&tx, rule).unwrap();
    }
    k.pf_commit(&tx).unwrap();
}

fn assert_sound(k: &SimKernel) {
    let problems = k.snapshot().check_invariants();
    assert!(problems.is_empty(), "{problems:#?}");
}

/// A transaction on the anchor "" replaces the operator's main ruleset: the kernel allows it
/// (pf_find_or_create_kruleset("") is the main ruleset), which is why zelle never opens one.
#[test]
fn transaction_on_main_ruleset_replaces_operator_rules() {
    let k = kernel();
    load_main(&k, &operator_rules());
    assert_eq!(k.pf_rules("", PfRuleset::Filter).unwrap().len(), 2);
    let tx = k.pf_begin("", &[PfRuleset::Filter]).unwrap();
    k.pf_commit(&tx).unwrap();
    assert_eq!(k.pf_rules("", PfRuleset::Filter).unwrap(), []);
    assert_eq!(
        k.pf_rules("/", PfRuleset::Nat).unwrap(),
        [PfRule::anchor_call(PfAction::Nat, "zelle/*")],
        "\"/\" names the main ruleset too; untouched rulesets stay"
    );
    // The main ruleset is never removed, even empty.
    let tx = k.pf_begin("/", &[PfRuleset::Nat, PfRuleset::Rdr]).unwrap();
    k.pf_commit(&tx).unwrap();
    assert_eq!(k.pf_rules("", PfRuleset::Nat).unwrap(), []);
    assert_sound(&k);
}

/// An anchor's rules run only when the main ruleset (or a running anchor) calls it with a call
/// of the same ruleset kind; `"zelle/*"` calls the children of "zelle", not "zelle" itself.
#[test]
fn anchors_run_only_when_called() {
    let k = kernel();
    commit(&k, "zelle/c1", &[nat("10.77.0.0/24"), rdr(8080)]);
    for ruleset in [PfRuleset::Nat, PfRuleset::Rdr, PfRuleset::Filter] {
        assert!(!reachable(&k, "zelle/c1", ruleset));
        assert!(reachable(&k, "", ruleset), "the main ruleset always runs");
    }
    assert!(k
        .snapshot()
        .dump()
        .contains("NOT REACHED from the main ruleset: nat, rdr"));

    load_main(&k, &[PfRule::anchor_call(PfAction::Nat, "zelle/*")]);
    assert!(reachable(&k, "zelle/c1", PfRuleset::Nat));
    assert!(!reachable(&k, "zelle/c1", PfRuleset::Rdr), "no rdr-anchor");
    assert!(
        !reachable(&k, "zelle", PfRuleset::Nat),
        "a wildcard skips the anchor itself"
    );
    assert!(!reachable(&k, "zelle/missing", PfRuleset::Nat));

    load_main(&k, &operator_rules());
    assert!(reachable(&k, "zelle/c1", PfRuleset::Rdr));
    assert!(!k.snapshot().dump().contains("NOT REACHED"));

    // A call of "zelle" itself runs "zelle"; its children run only if "zelle" calls them.
    load_main(&k, &[PfRule::anchor_call(PfAction::Nat, "zelle")]);
    assert!(reachable(&k, "zelle", PfRuleset::Nat));
    assert!(!reachable(&k, "zelle/c1", PfRuleset::Nat));
    commit(&k, "zelle", &[PfRule::anchor_call(PfAction::Nat, "c1")]);
    assert!(reachable(&k, "zelle/c1", PfRuleset::Nat));
    assert_sound(&k);
}

/// Pending rules never run: only active anchor calls count.
#[test]
fn pending_anchor_calls_do_not_reach() {
    let k = kernel();
    commit(&k, "zelle/c1", &[nat("10.77.0.0/24")]);
    let tx = k.pf_begin("", &[PfRuleset::Nat]).unwrap();
    k.pf_add_rule(&tx, &PfRule::anchor_call(PfAction::Nat, "zelle/*"))
        .unwrap();
    assert!(!reachable(&k, "zelle/c1", PfRuleset::Nat));
    k.pf_commit(&tx).unwrap();
    assert!(reachable(&k, "zelle/c1", PfRuleset::Nat));
}

/// `nat-anchor "zelle/*"` in the main ruleset creates "zelle" and holds it (its refcnt): an
/// empty commit of the last child leaves "zelle" in place; dropping the call removes it.
#[test]
fn called_anchor_lives_as_long_as_its_caller() {
    let k = kernel();
    load_main(&k, &operator_rules());
    assert_eq!(k.pf_anchors("").unwrap(), ["zelle"]);
    assert_eq!(k.pf_anchors("zelle").unwrap(), Vec::<String>::new());
    commit(&k, "zelle/c1", &[nat("10.77.0.0/24")]);
    commit(&k, "zelle/c1", &[]);
    assert_eq!(k.pf_anchors("zelle").unwrap(), Vec::<String>::new());
    assert_sound(&k);
    load_main(&k, &[PfRule::new(PfAction::Pass)]);
    assert_eq!(code(k.pf_anchors("zelle")), Some(Errno::ENOENT));
    assert_sound(&k);
}

/// Without pf loaded there is no /dev/pf: every pf request fails with ENOENT (UNCONFIRMED),
/// and unloading pf drops every anchor.
#[test]
fn without_pf_module_every_request_is_enoent() {
    let k = kernel();
    commit(&k, "zelle/c1", &[nat("10.77.0.0/24")]);
    k.with_machine(|m| m.unload_module("pf")).unwrap();
    assert!(!k.module_loaded("pf").unwrap());
    let tx = zelle_core::kernel::PfTransaction {
        anchor: "zelle/c1".into(),
        tickets: vec![(PfRuleset::Nat, zelle_core::kernel::PfTicket(1))],
    };
    assert_eq!(
        code(k.pf_begin("zelle/c1", &[PfRuleset::Nat])),
        Some(Errno::ENOENT)
    );
    assert_eq!(
        code(k.pf_add_rule(&tx, &nat("10.0.0.0/8"))),
        Some(Errno::ENOENT)
    );
    assert_eq!(code(k.pf_commit(&tx)), Some(Errno::ENOENT));
    assert_eq!(code(k.pf_rollback(&tx)), Some(Errno::ENOENT));
    assert_eq!(code(k.pf_rules("", PfRuleset::Nat)), Some(Errno::ENOENT));
    assert_eq!(code(k.pf_anchors("")), Some(Errno::ENOENT));
    k.with_machine(|m| m.load_module("pf")).unwrap();
    assert_eq!(k.pf_anchors("").unwrap(), Vec::<String>::new());
}

/// Above securelevel 2, pfioctl refuses every request that changes rules with EPERM; reading
/// still works.
#[test]
fn high_securelevel_freezes_rules() {
    let k = kernel();
    commit(&k, "zelle/c1", &[nat("10.77.0.0/24")]);
    let tx = k.pf_begin("zelle/c2", &[PfRuleset::Nat]).unwrap();
    k.set_sysctl("kern.securelevel", &SysctlValue::Int(3))
        .unwrap();
    assert_eq!(
        code(k.pf_begin("zelle/c3", &[PfRuleset::Nat])),
        Some(Errno::EPERM)
    );
    assert_eq!(
        code(k.pf_add_rule(&tx, &nat("10.0.0.0/8"))),
        Some(Errno::EPERM)
    );
    assert_eq!(code(k.pf_commit(&tx)), Some(Errno::EPERM));
    assert_eq!(code(k.pf_rollback(&tx)), Some(Errno::EPERM));
    assert_eq!(
        k.pf_rules("zelle/c1", PfRuleset::Nat).unwrap(),
        [nat("10.77.0.0/24")]
    );
    assert_eq!(k.pf_anchors("zelle").unwrap(), ["c1", "c2"]);
}

/// A rollback leaves an emptied anchor behind (the kernel removes empty anchors on commit
/// only); the invariants know why it is there.
#[test]
fn rollback_leaves_empty_anchor_behind() {
    let k = kernel();
    let tx = k.pf_begin("zelle/c1", &[PfRuleset::Nat]).unwrap();
    k.pf_rollback(&tx).unwrap();
    assert_eq!(k.pf_anchors("zelle").unwrap(), ["c1"]);
    assert_sound(&k);
    commit(&k, "zelle/c1", &[]);
    assert_eq!(code(k.pf_anchors("zelle")), Some(Errno::ENOENT));
    assert_sound(&k);
}

/// Tickets count per ruleset of an anchor, from 1: an anchor removed and made again hands out
/// the same ticket, so a transaction from before the removal works again (as in the kernel).
#[test]
fn recreated_anchor_reuses_tickets() {
    let k = kernel();
    let old = k.pf_begin("zelle/c1", &[PfRuleset::Nat]).unwrap();
    k.pf_commit(&old).unwrap();
    let new = k.pf_begin("zelle/c1", &[PfRuleset::Nat]).unwrap();
    assert_eq!(old.tickets, new.tickets);
    k.pf_add_rule(&old, &nat("10.77.0.0/24")).unwrap();
    k.pf_commit(&old).unwrap();
    assert_eq!(
        k.pf_rules("zelle/c1", PfRuleset::Nat).unwrap(),
        [nat("10.77.0.0/24")]
    );
    let other = k.pf_begin("zelle/c2", &[PfRuleset::Nat]).unwrap();
    assert_eq!(
        other.tickets, new.tickets,
        "tickets are per anchor, not unique"
    );
}

/// A failed call changes nothing, whatever the error.
#[test]
fn failed_calls_change_nothing() {
    let k = kernel();
    load_main(&k, &operator_rules());
    commit(&k, "zelle/c1", &[nat("10.77.0.0/24")]);
    let tx = k
        .pf_begin("zelle/c1", &[PfRuleset::Nat, PfRuleset::Rdr])
        .unwrap();
    k.pf_add_rule(&tx, &nat("10.77.1.0/24")).unwrap();
    let stale = k.pf_begin("zelle/c2", &[PfRuleset::Nat]).unwrap();
    let stale = zelle_core::kernel::PfTransaction {
        anchor: stale.anchor,
        tickets: vec![(PfRuleset::Nat, zelle_core::kernel::PfTicket(99))],
    };
    let before = k.snapshot();
    let bare_rdr = PfRule {
        redirect: None,
        ..rdr(80)
    };
    let deep_bad_call = PfRule::anchor_call(PfAction::Nat, &format!("new/{}", "x".repeat(64)));
    let failures = [
        code(k.pf_begin("zelle/ok/../bad//", &[PfRuleset::Nat])),
        code(k.pf_begin(&format!("zelle/new/{}", "x".repeat(64)), &[PfRuleset::Nat])),
        code(k.pf_add_rule(&tx, &bare_rdr)),
        code(k.pf_add_rule(&tx, &deep_bad_call)),
        code(k.pf_add_rule(&stale, &nat("10.0.0.0/8"))),
        code(k.pf_commit(&stale)),
        code(k.pf_rules("zelle/none", PfRuleset::Nat)),
        code(k.pf_anchors("zelle/none")),
    ];
    use Errno as E;
    let expected = [
        E::EINVAL,
        E::EINVAL,
        E::EINVAL,
        E::EINVAL,
        E::EBUSY,
        E::EBUSY,
        E::EINVAL,
    ];
    assert_eq!(failures[..7], expected.map(Some));
    assert_eq!(failures[7], Some(E::ENOENT));
    assert_eq!(k.snapshot().pf, before.pf, "a failed call changed pf");
    assert_sound(&k);
}

/// Calls that resolve to nothing the kernel can make are EINVAL: `..` above the root, the main
/// ruleset, an empty component; the called anchor is not left behind.
#[test]
fn bad_anchor_calls_are_einval() {
    let k = kernel();
    let tx = k.pf_begin("zelle", &[PfRuleset::Filter]).unwrap();
    // "//*" is the children of the main ruleset: the main ruleset again. ("/*" would be a
    // top-level anchor named "*": no '/' is left before the star.)
    for name in ["../../x", "/", "//*", "a//b", "../"] {
        let call = PfRule::anchor_call(PfAction::Pass, name);
        assert_eq!(
            code(k.pf_add_rule(&tx, &call)),
            Some(Errno::EINVAL),
            "{name:?}"
        );
    }
    assert_eq!(k.pf_anchors("zelle").unwrap(), Vec::<String>::new());
    // "../x" from a top-level anchor is the top-level anchor "x"; it reads back as written.
    let up = PfRule::anchor_call(PfAction::Pass, "../x/*");
    k.pf_add_rule(&tx, &up).unwrap();
    k.pf_commit(&tx).unwrap();
    assert_eq!(k.pf_anchors("").unwrap(), ["x", "zelle"]);
    assert_eq!(k.pf_rules("zelle", PfRuleset::Filter).unwrap(), [up]);
    assert_sound(&k);
}

/// The dump lists every anchor with its rules in pf.conf syntax, and open transactions.
#[test]
fn dump_shows_rules_in_pf_conf_syntax() {
    let k = kernel();
    load_main(&k, &operator_rules());
    commit(&k, "zelle/c1", &[nat("10.77.0.0/24"), rdr(8080)]);
    let tx = k.pf_begin("zelle/c2", &[PfRuleset::Nat]).unwrap();
    k.pf_add_rule(&tx, &nat("10.78.0.0/24")).unwrap();
    let dump = k.snapshot().dump();
    let expected = "\
# pfctl -a '*' -sn -sr
main ruleset
  nat-anchor \"zelle/*\"
  rdr-anchor \"zelle/*\"
  anchor \"zelle/*\"
  pass all keep state
anchor \"zelle\"
anchor \"zelle/c1\"
  nat on em0 from 10.77.0.0/24 to any -> (em0)
  rdr from any to any port 8080 -> 10.77.0.2
anchor \"zelle/c2\"
  # transaction open: nat (ticket 1, 1 pending)
";
    assert!(dump.contains(expected), "{dump}");
}

/// The machine's state, with its anchors, survives the trip through the state file format.
#[test]
fn pf_state_round_trips_through_json() {
    let k = kernel();
    load_main(&k, &operator_rules());
    commit(&k, "zelle/c1", &[nat("10.77.0.0/24")]);
    let machine = k.snapshot();
    let json = serde_json::to_string(&machine).unwrap();
    let back: zelle_sim::Machine = serde_json::from_str(&json).unwrap();
    assert_eq!(back, machine);
}

mod random {
    use super::*;
    use proptest::prelude::*;
    use zelle_core::kernel::{PfTicket, PfTransaction};

    const PATHS: [&str; 4] = ["zelle", "zelle/a", "zelle/a/b", "/other"];
    const CALLS: [&str; 4] = ["a/*", "b", "../x", "/zelle/*"];
    const ALL3: [PfRuleset; 3] = [PfRuleset::Nat, PfRuleset::Rdr, PfRuleset::Filter];

    proptest! {
        /// Any sequence of begins, adds (plain rules and anchor calls), commits, rollbacks and
        /// main-ruleset loads keeps the invariants, and a failed call changes nothing.
        #[test]
        fn random_transactions_keep_pf_sound(
            steps in prop::collection::vec((0u8..7, 0usize..4, 0usize..4), 1..80)
        ) {
            let k = kernel();
            let mut open: Vec<Option<PfTransaction>> = vec![None; PATHS.len()];
            for (op, a, r) in steps {
                let path = PATHS[a];
                let tx = open[a].clone().unwrap_or(PfTransaction {
                    anchor: path.into(),
                    tickets: ALL3.iter().map(|&rs| (rs, PfTicket(r as u32))).collect(),
                });
                let before = k.snapshot().pf;
                let result: KResult<()> = match op {
                    0 => k.pf_begin(path, &ALL3[..=r.min(2)]).map(|tx| open[a] = Some(tx)),
                    1 => k.pf_add_rule(&tx, &nat("10.77.0.0/24")),
                    2 => k.pf_add_rule(&tx, &PfRule::anchor_call(PfAction::Nat, CALLS[r])),
                    3 => k.pf_add_rule(&tx, &PfRule::anchor_call(PfAction::Pass, CALLS[r])),
                    4 => k.pf_commit(&tx),
                    5 => k.pf_rollback(&tx),
                    _ => {
                        let calls: Vec<PfRule> = CALLS[..r]
                            .iter()
                            .map(|c| PfRule::anchor_call(PfAction::Nat, &format!("/{c}")))
                            .collect();
                        k.with_machine(|m| m.load_main_ruleset(&calls)).unwrap()
                    }
                };
                if result.is_err() {
                    prop_assert_eq!(&k.snapshot().pf, &before, "failed step {} changed pf", op);
                }
                let problems = k.snapshot().check_invariants();
                prop_assert!(problems.is_empty(), "after step {}: {:?}", op, problems);
            }
        }
    }
}
