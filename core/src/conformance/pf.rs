//! Conformance rules: pf anchors and transactions (`sys/netpfil/pf/pf_ioctl.c`,
//! `pf_ruleset.c`; the simulator's `pf` module names the exact functions).
//!
//! Every rule works in top-level anchors of its own, named `zelle-conformance-*`, that nothing
//! in the main ruleset calls, and removes them when done: on a real machine the operator's rules
//! are never touched, and traffic never meets these rules. A rule that would replace the main
//! ruleset is tested in the simulator only.

use super::{expect_errno, Scratch};
use crate::kernel::pf::{
    PfAction, PfAddr, PfEndpoint, PfRedirect, PfRule, PfRuleset, PfTicket, PfTransaction,
    PortRange, Protocol,
};
use crate::kernel::{Errno, Kernel};

const ALL: [PfRuleset; 5] = [
    PfRuleset::Scrub,
    PfRuleset::Filter,
    PfRuleset::Nat,
    PfRuleset::Binat,
    PfRuleset::Rdr,
];

/// Remove `anchor` and its empty parents: an empty commit of every ruleset leaves it empty, and
/// the kernel removes an anchor emptied by a commit. Run before a rule too, so that leftovers of
/// an interrupted run on a real machine do not count.
fn clean<K: Kernel>(k: &K, anchor: &str) {
    if let Ok(tx) = k.pf_begin(anchor, &ALL) {
        let _ = k.pf_commit(&tx);
    }
}

fn begin<K: Kernel>(k: &K, anchor: &str, rulesets: &[PfRuleset]) -> PfTransaction {
    k.pf_begin(anchor, rulesets)
        .unwrap_or_else(|e| panic!("begin {anchor:?}: {e}"))
}

fn rules<K: Kernel>(k: &K, anchor: &str, ruleset: PfRuleset) -> Vec<PfRule> {
    k.pf_rules(anchor, ruleset)
        .unwrap_or_else(|e| panic!("rules of {anchor:?}: {e}"))
}

fn anchors<K: Kernel>(k: &K, anchor: &str) -> Vec<String> {
    k.pf_anchors(anchor)
        .unwrap_or_else(|e| panic!("anchors below {anchor:?}: {e}"))
}

/// `nat from <subnet> to any -> 192.0.2.1` (a documentation address: nothing is ever sent).
fn nat(subnet: &str) -> PfRule {
    PfRule {
        src: PfEndpoint {
            addr: PfAddr::Net(subnet.parse().expect("literal subnet")),
            ..PfEndpoint::any()
        },
        redirect: Some(PfRedirect {
            addr: PfAddr::Net("192.0.2.1/32".parse().expect("literal address")),
            ports: None,
        }),
        ..PfRule::new(PfAction::Nat)
    }
}

/// `rdr proto tcp from any to any port <port> -> 192.0.2.2 port 80`.
fn rdr(port: u16) -> PfRule {
    PfRule {
        proto: Some(Protocol::Tcp),
        dst: PfEndpoint {
            ports: Some(PortRange::single(port)),
            ..PfEndpoint::any()
        },
        redirect: Some(PfRedirect {
            addr: PfAddr::Net("192.0.2.2/32".parse().expect("literal address")),
            ports: Some(PortRange::single(80)),
        }),
        ..PfRule::new(PfAction::Rdr)
    }
}

/// DIOCXBEGIN creates the anchor and its missing parents, one ticket per ruleset asked for
/// (pf_begin_rules → pf_find_or_create_kruleset); an open transaction shows no rules yet.
pub fn begin_creates_anchor_and_parents<K: Kernel>(k: &K, _: &dyn Scratch) {
    let (top, anchor) = ("zelle-conformance-begin", "zelle-conformance-begin/a/b");
    clean(k, anchor);
    let tx = begin(k, anchor, &[PfRuleset::Nat, PfRuleset::Rdr]);
    assert_eq!(tx.anchor, anchor);
    let asked: Vec<PfRuleset> = tx.tickets.iter().map(|(r, _)| *r).collect();
    assert_eq!(asked, [PfRuleset::Nat, PfRuleset::Rdr]);
    assert!(anchors(k, "").contains(&top.to_string()));
    assert_eq!(anchors(k, top), ["a"]);
    assert_eq!(anchors(k, "zelle-conformance-begin/a"), ["b"]);
    assert_eq!(rules(k, anchor, PfRuleset::Nat), []);
    k.pf_commit(&tx).expect("empty commit");
    clean(k, anchor);
}

/// pf_find_kruleset and pf_find_or_create_kruleset strip leading '/': "/x" is "x".
pub fn leading_slash_names_the_same_anchor<K: Kernel>(k: &K, _: &dyn Scratch) {
    let anchor = "zelle-conformance-slash";
    clean(k, anchor);
    let tx = begin(k, "//zelle-conformance-slash", &[PfRuleset::Nat]);
    k.pf_add_rule(&tx, &nat("10.99.0.0/24")).expect("add");
    k.pf_commit(&tx).expect("commit");
    assert_eq!(rules(k, anchor, PfRuleset::Nat), [nat("10.99.0.0/24")]);
    assert_eq!(
        rules(k, "/zelle-conformance-slash", PfRuleset::Nat),
        [nat("10.99.0.0/24")]
    );
    clean(k, anchor);
}

/// pf_find_or_create_kruleset: each new component must be non-empty and shorter than
/// PF_ANCHOR_NAME_SIZE (64), else DIOCXBEGIN is EINVAL; the kernel has no character rules.
pub fn begin_refuses_bad_anchor_paths<K: Kernel>(k: &K, _: &dyn Scratch) {
    let top = "zelle-conformance-paths";
    clean(k, top);
    // Keep the parent open, so that each bad path fails below an existing anchor (the kernel
    // creates the leading components of a path before it meets a bad one).
    let held = begin(k, top, &[PfRuleset::Filter]);
    let long = format!("{top}/{}", "x".repeat(64));
    expect_errno(
        k.pf_begin(&long, &[PfRuleset::Nat]),
        Errno::EINVAL,
        "64-byte component",
    );
    expect_errno(
        k.pf_begin(&format!("{top}//x"), &[PfRuleset::Nat]),
        Errno::EINVAL,
        "empty component",
    );
    let fits = format!("{top}/{}", "x".repeat(63));
    let tx = begin(k, &fits, &[PfRuleset::Nat]);
    let odd = format!("{top}/_ a.b:c");
    let odd_tx = begin(k, &odd, &[PfRuleset::Nat]);
    assert_eq!(anchors(k, top), ["_ a.b:c".to_string(), "x".repeat(63)]);
    k.pf_commit(&tx).expect("commit");
    k.pf_commit(&odd_tx).expect("commit");
    k.pf_commit(&held).expect("commit");
    clean(k, top);
}

/// An anchor path must fit the ioctls' MAXPATHLEN (1024) field: EINVAL beyond.
pub fn anchor_paths_of_maxpathlen_are_refused<K: Kernel>(k: &K, _: &dyn Scratch) {
    let long = "x/".repeat(512);
    assert_eq!(long.len(), 1024);
    expect_errno(k.pf_begin(&long, &[PfRuleset::Nat]), Errno::EINVAL, "begin");
    expect_errno(k.pf_rules(&long, PfRuleset::Nat), Errno::EINVAL, "rules");
}

/// DIOCXBEGIN with no rulesets does nothing: no ticket, no anchor.
pub fn begin_without_rulesets_does_nothing<K: Kernel>(k: &K, _: &dyn Scratch) {
    let anchor = "zelle-conformance-nothing";
    clean(k, anchor);
    let tx = begin(k, anchor, &[]);
    assert!(tx.tickets.is_empty());
    expect_errno(
        k.pf_rules(anchor, PfRuleset::Nat),
        Errno::EINVAL,
        "rules of the anchor never made",
    );
}

/// DIOCADDRULE on an anchor that does not exist: EINVAL.
pub fn add_rule_to_missing_anchor_is_einval<K: Kernel>(k: &K, _: &dyn Scratch) {
    let anchor = "zelle-conformance-missing";
    clean(k, anchor);
    let tx = PfTransaction {
        anchor: anchor.into(),
        tickets: vec![(PfRuleset::Nat, PfTicket(1))],
    };
    expect_errno(
        k.pf_add_rule(&tx, &nat("10.99.0.0/24")),
        Errno::EINVAL,
        "add",
    );
}

/// A second DIOCXBEGIN on a ruleset makes the first ticket stale: DIOCADDRULE with it is
/// EBUSY; the new ticket works.
pub fn second_begin_makes_first_ticket_stale<K: Kernel>(k: &K, _: &dyn Scratch) {
    let anchor = "zelle-conformance-stale";
    clean(k, anchor);
    let first = begin(k, anchor, &[PfRuleset::Nat]);
    let second = begin(k, anchor, &[PfRuleset::Nat]);
    assert_ne!(first.tickets, second.tickets);
    expect_errno(
        k.pf_add_rule(&first, &nat("10.99.0.0/24")),
        Errno::EBUSY,
        "add with the stale ticket",
    );
    k.pf_add_rule(&second, &nat("10.99.1.0/24"))
        .expect("add with the new ticket");
    k.pf_commit(&second).expect("commit");
    assert_eq!(rules(k, anchor, PfRuleset::Nat), [nat("10.99.1.0/24")]);
    clean(k, anchor);
}

/// A rule goes to the ruleset its action belongs to; a transaction without a ticket for that
/// ruleset cannot add it: EBUSY.
pub fn add_rule_without_ticket_for_its_ruleset_is_ebusy<K: Kernel>(k: &K, _: &dyn Scratch) {
    let anchor = "zelle-conformance-noticket";
    clean(k, anchor);
    let tx = begin(k, anchor, &[PfRuleset::Nat]);
    expect_errno(k.pf_add_rule(&tx, &rdr(8080)), Errno::EBUSY, "rdr into nat");
    k.pf_rollback(&tx).expect("rollback");
    clean(k, anchor);
}

/// A nat or rdr rule that calls no anchor needs a redirect address (an empty pool): EINVAL.
/// `no nat` and `no rdr` need none.
pub fn translation_without_redirect_is_einval<K: Kernel>(k: &K, _: &dyn Scratch) {
    let anchor = "zelle-conformance-pool";
    clean(k, anchor);
    let tx = begin(k, anchor, &[PfRuleset::Nat, PfRuleset::Rdr]);
    let bare_nat = PfRule {
        redirect: None,
        ..nat("10.99.0.0/24")
    };
    let bare_rdr = PfRule {
        redirect: None,
        ..rdr(8080)
    };
    expect_errno(k.pf_add_rule(&tx, &bare_nat), Errno::EINVAL, "nat");
    expect_errno(k.pf_add_rule(&tx, &bare_rdr), Errno::EINVAL, "rdr");
    k.pf_add_rule(&tx, &PfRule::new(PfAction::NoNat))
        .expect("no nat");
    k.pf_add_rule(&tx, &PfRule::new(PfAction::NoRdr))
        .expect("no rdr");
    k.pf_commit(&tx).expect("commit");
    assert_eq!(
        rules(k, anchor, PfRuleset::Nat),
        [PfRule::new(PfAction::NoNat)]
    );
    clean(k, anchor);
}

/// DIOCXCOMMIT swaps the inactive copies in: the rules appear, in the order added, exactly as
/// they were given; before the commit the anchor shows the old ones.
pub fn commit_makes_rules_active_in_order<K: Kernel>(k: &K, _: &dyn Scratch) {
    let anchor = "zelle-conformance-commit";
    clean(k, anchor);
    let tx = begin(k, anchor, &[PfRuleset::Nat, PfRuleset::Rdr]);
    let nats = [nat("10.99.0.0/24"), nat("10.99.1.0/24")];
    for rule in nats.iter().chain(&[rdr(8080), rdr(8443)]) {
        k.pf_add_rule(&tx, rule).expect("add");
    }
    assert_eq!(rules(k, anchor, PfRuleset::Nat), []);
    k.pf_commit(&tx).expect("commit");
    assert_eq!(rules(k, anchor, PfRuleset::Nat), nats);
    assert_eq!(rules(k, anchor, PfRuleset::Rdr), [rdr(8080), rdr(8443)]);
    // A later transaction replaces the rules of the rulesets it holds, and only those.
    let tx = begin(k, anchor, &[PfRuleset::Nat]);
    k.pf_add_rule(&tx, &nat("10.99.2.0/24")).expect("add");
    k.pf_commit(&tx).expect("commit");
    assert_eq!(rules(k, anchor, PfRuleset::Nat), [nat("10.99.2.0/24")]);
    assert_eq!(rules(k, anchor, PfRuleset::Rdr), [rdr(8080), rdr(8443)]);
    clean(k, anchor);
}

/// DIOCXCOMMIT checks every ticket before it swaps anything: one stale ticket is EBUSY and no
/// ruleset changes.
pub fn commit_checks_every_ticket_first<K: Kernel>(k: &K, _: &dyn Scratch) {
    let anchor = "zelle-conformance-allornothing";
    clean(k, anchor);
    let tx = begin(k, anchor, &[PfRuleset::Nat, PfRuleset::Rdr]);
    k.pf_add_rule(&tx, &nat("10.99.0.0/24")).expect("add");
    let other = begin(k, anchor, &[PfRuleset::Rdr]);
    expect_errno(
        k.pf_commit(&tx),
        Errno::EBUSY,
        "commit with a stale rdr ticket",
    );
    assert_eq!(
        rules(k, anchor, PfRuleset::Nat),
        [],
        "nat must not be swapped"
    );
    // The nat copy is still open under its ticket: rolling back both ends the transaction.
    k.pf_rollback(&tx).expect("rollback");
    k.pf_rollback(&other).expect("rollback");
    clean(k, anchor);
}

/// DIOCXCOMMIT of an anchor that is gone, or of a copy no longer open: EBUSY.
pub fn commit_of_missing_anchor_or_closed_copy_is_ebusy<K: Kernel>(k: &K, _: &dyn Scratch) {
    let anchor = "zelle-conformance-closed";
    clean(k, anchor);
    let missing = PfTransaction {
        anchor: anchor.into(),
        tickets: vec![(PfRuleset::Nat, PfTicket(1))],
    };
    expect_errno(
        k.pf_commit(&missing),
        Errno::EBUSY,
        "commit of a missing anchor",
    );
    let tx = begin(k, anchor, &[PfRuleset::Nat]);
    k.pf_add_rule(&tx, &nat("10.99.0.0/24")).expect("add");
    k.pf_commit(&tx).expect("commit");
    expect_errno(k.pf_commit(&tx), Errno::EBUSY, "second commit");
    clean(k, anchor);
}

/// After a commit, an anchor left without rules, children or open transactions is removed,
/// and so are its parents that become empty (pf_remove_if_empty_kruleset).
pub fn commit_removes_emptied_anchors<K: Kernel>(k: &K, _: &dyn Scratch) {
    let (top, anchor) = ("zelle-conformance-empty", "zelle-conformance-empty/a");
    clean(k, anchor);
    let tx = begin(k, anchor, &[PfRuleset::Nat]);
    k.pf_add_rule(&tx, &nat("10.99.0.0/24")).expect("add");
    k.pf_commit(&tx).expect("commit");
    assert_eq!(anchors(k, top), ["a"], "an anchor with rules stays");
    let tx = begin(k, anchor, &[PfRuleset::Nat]);
    k.pf_commit(&tx).expect("empty commit");
    expect_errno(k.pf_rules(anchor, PfRuleset::Nat), Errno::EINVAL, "rules");
    expect_errno(k.pf_anchors(top), Errno::ENOENT, "anchors below the parent");
}

/// An anchor stays while another ruleset of it is still open.
pub fn open_ruleset_keeps_anchor<K: Kernel>(k: &K, _: &dyn Scratch) {
    let anchor = "zelle-conformance-half";
    clean(k, anchor);
    let nat_tx = begin(k, anchor, &[PfRuleset::Nat]);
    let rdr_tx = begin(k, anchor, &[PfRuleset::Rdr]);
    k.pf_commit(&nat_tx).expect("commit nat");
    assert_eq!(rules(k, anchor, PfRuleset::Nat), []);
    k.pf_commit(&rdr_tx).expect("commit rdr");
    expect_errno(k.pf_rules(anchor, PfRuleset::Nat), Errno::EINVAL, "rules");
}

/// DIOCXROLLBACK drops the pending rules, leaves the active ones, and keeps the anchor even when
/// it is left empty (pf_rollback_rules removes nothing).
pub fn rollback_drops_pending_rules_and_keeps_anchor<K: Kernel>(k: &K, _: &dyn Scratch) {
    let anchor = "zelle-conformance-rollback";
    clean(k, anchor);
    let tx = begin(k, anchor, &[PfRuleset::Nat]);
    k.pf_add_rule(&tx, &nat("10.99.0.0/24")).expect("add");
    k.pf_rollback(&tx).expect("rollback");
    assert_eq!(rules(k, anchor, PfRuleset::Nat), []);
    expect_errno(k.pf_commit(&tx), Errno::EBUSY, "commit after rollback");
    clean(k, anchor);
    expect_errno(
        k.pf_rules(anchor, PfRuleset::Nat),
        Errno::EINVAL,
        "after clean",
    );
}

/// DIOCADDRULE compares the ticket with the inactive copy's, not whether the copy is open: a
/// rolled-back transaction can still add, but it cannot commit.
pub fn rolled_back_ticket_still_adds<K: Kernel>(k: &K, _: &dyn Scratch) {
    let anchor = "zelle-conformance-afterwards";
    clean(k, anchor);
    let tx = begin(k, anchor, &[PfRuleset::Nat]);
    k.pf_rollback(&tx).expect("rollback");
    k.pf_add_rule(&tx, &nat("10.99.0.0/24"))
        .expect("add after rollback");
    expect_errno(k.pf_commit(&tx), Errno::EBUSY, "commit after rollback");
    assert_eq!(rules(k, anchor, PfRuleset::Nat), []);
    clean(k, anchor);
}

/// DIOCXROLLBACK with a stale ticket, or on an anchor that does not exist, is not an error and
/// leaves the newer transaction alone.
pub fn rollback_with_stale_ticket_does_nothing<K: Kernel>(k: &K, _: &dyn Scratch) {
    let anchor = "zelle-conformance-stalerollback";
    clean(k, anchor);
    let missing = PfTransaction {
        anchor: "zelle-conformance-nowhere".into(),
        tickets: vec![(PfRuleset::Nat, PfTicket(7))],
    };
    k.pf_rollback(&missing)
        .expect("rollback of a missing anchor");
    let first = begin(k, anchor, &[PfRuleset::Nat]);
    let second = begin(k, anchor, &[PfRuleset::Nat]);
    k.pf_add_rule(&second, &nat("10.99.0.0/24")).expect("add");
    k.pf_rollback(&first).expect("stale rollback");
    k.pf_commit(&second)
        .expect("the newer transaction still commits");
    assert_eq!(rules(k, anchor, PfRuleset::Nat), [nat("10.99.0.0/24")]);
    clean(k, anchor);
}

/// A new DIOCXBEGIN drops rules still pending from an earlier one.
pub fn begin_drops_pending_rules<K: Kernel>(k: &K, _: &dyn Scratch) {
    let anchor = "zelle-conformance-purge";
    clean(k, anchor);
    let first = begin(k, anchor, &[PfRuleset::Nat]);
    k.pf_add_rule(&first, &nat("10.99.0.0/24")).expect("add");
    let second = begin(k, anchor, &[PfRuleset::Nat]);
    k.pf_add_rule(&second, &nat("10.99.1.0/24")).expect("add");
    k.pf_commit(&second).expect("commit");
    assert_eq!(rules(k, anchor, PfRuleset::Nat), [nat("10.99.1.0/24")]);
    clean(k, anchor);
}

/// DIOCGETRULES on a missing anchor: EINVAL. DIOCGETRULESETS on one: ENOENT.
pub fn listing_a_missing_anchor_fails<K: Kernel>(k: &K, _: &dyn Scratch) {
    let anchor = "zelle-conformance-absent/x";
    expect_errno(
        k.pf_rules(anchor, PfRuleset::Filter),
        Errno::EINVAL,
        "rules",
    );
    expect_errno(k.pf_anchors(anchor), Errno::ENOENT, "anchors");
}

/// DIOCGETRULESETS names the anchors directly below one (their last component), in order.
pub fn anchors_lists_direct_children_by_name<K: Kernel>(k: &K, _: &dyn Scratch) {
    let top = "zelle-conformance-tree";
    let paths = ["zelle-conformance-tree/b/deep", "zelle-conformance-tree/a"];
    for path in paths {
        clean(k, path);
    }
    let txs: Vec<PfTransaction> = paths
        .iter()
        .map(|p| begin(k, p, &[PfRuleset::Filter]))
        .collect();
    assert_eq!(anchors(k, top), ["a", "b"]);
    assert_eq!(anchors(k, "zelle-conformance-tree/b"), ["deep"]);
    assert_eq!(anchors(k, "zelle-conformance-tree/a"), Vec::<String>::new());
    for tx in &txs {
        k.pf_commit(tx).expect("commit");
    }
    expect_errno(k.pf_anchors(top), Errno::ENOENT, "all gone");
}

/// An anchor call creates the anchor it calls (pf_kanchor_setup → pf_find_or_create_kruleset),
/// relative to the calling anchor, and reads back as written.
pub fn anchor_call_creates_called_anchor<K: Kernel>(k: &K, _: &dyn Scratch) {
    let anchor = "zelle-conformance-call";
    clean(k, anchor);
    let tx = begin(k, anchor, &[PfRuleset::Filter, PfRuleset::Nat]);
    let calls = [
        PfRule::anchor_call(PfAction::Pass, "inner/*"),
        PfRule::anchor_call(PfAction::Nat, "inner"),
    ];
    for call in &calls {
        k.pf_add_rule(&tx, call).expect("add an anchor call");
    }
    assert_eq!(anchors(k, anchor), ["inner"]);
    k.pf_commit(&tx).expect("commit");
    assert_eq!(rules(k, anchor, PfRuleset::Filter), [calls[0].clone()]);
    assert_eq!(rules(k, anchor, PfRuleset::Nat), [calls[1].clone()]);
    assert_eq!(
        rules(k, "zelle-conformance-call/inner", PfRuleset::Nat),
        [],
        "the called anchor exists, empty"
    );
    clean(k, anchor);
}

/// An anchor call to the main ruleset is refused: EINVAL.
pub fn anchor_call_to_main_ruleset_is_einval<K: Kernel>(k: &K, _: &dyn Scratch) {
    let anchor = "zelle-conformance-callmain";
    clean(k, anchor);
    let tx = begin(k, anchor, &[PfRuleset::Filter]);
    expect_errno(
        k.pf_add_rule(&tx, &PfRule::anchor_call(PfAction::Pass, "/")),
        Errno::EINVAL,
        "anchor \"/\"",
    );
    k.pf_rollback(&tx).expect("rollback");
    clean(k, anchor);
}

/// One `#[test]` per rule of this module (see `conformance_tests!`).
#[macro_export]
#[doc(hidden)]
macro_rules! pf_conformance_tests {
    ($kernel:expr, $scratch:expr) => {
        mod pf {
            #[allow(unused_imports)]
            use super::*;
            $crate::conformance_rules!(
                pf,
                $kernel,
                $scratch,
                [
                    begin_creates_anchor_and_parents,
                    leading_slash_names_the_same_anchor,
                    begin_refuses_bad_anchor_paths,
                    anchor_paths_of_maxpathlen_are_refused,
                    begin_without_rulesets_does_nothing,
                    add_rule_to_missing_anchor_is_einval,
                    second_begin_makes_first_ticket_stale,
                    add_rule_without_ticket_for_its_ruleset_is_ebusy,
                    translation_without_redirect_is_einval,
                    commit_makes_rules_active_in_order,
                    commit_checks_every_ticket_first,
                    commit_of_missing_anchor_or_closed_copy_is_ebusy,
                    commit_removes_emptied_anchors,
                    open_ruleset_keeps_anchor,
                    rollback_drops_pending_rules_and_keeps_anchor,
                    rolled_back_ticket_still_adds,
                    rollback_with_stale_ticket_does_nothing,
                    begin_drops_pending_rules,
                    listing_a_missing_anchor_fails,
                    anchors_lists_direct_children_by_name,
                    anchor_call_creates_called_anchor,
                    anchor_call_to_main_ruleset_is_einval,
                ]
            );
        }
    };
}
