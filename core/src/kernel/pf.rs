//! pf(4), at the level of anchors and rules.
//!
//! The binary `struct pf_rule` differs between releases and FreeBSD 15 moved several pf
//! ioctls to netlink, so this contract speaks of transactions and typed rules; each backend
//! chooses the wire (DIOCX* ioctls, or libpfctl's netlink messages).
//!
//! A transaction on the anchor "" replaces the user's main ruleset. The kernel allows it;
//! zelle never does it: its logic works only below its own anchor (see `is_main_ruleset`).

use super::KResult;
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// `PF_RULESET_*` (`sys/net/pfvar.h`): the rulesets an anchor holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum PfRuleset {
    Scrub = 0,
    Filter = 1,
    Nat = 2,
    Binat = 3,
    Rdr = 4,
}

/// A ticket handed out by `DIOCXBEGIN`, naming one ruleset's inactive copy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PfTicket(pub u32);

/// An open transaction: one ticket per ruleset of one anchor.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PfTransaction {
    pub anchor: String,
    pub tickets: Vec<(PfRuleset, PfTicket)>,
}

impl PfTransaction {
    pub fn ticket(&self, ruleset: PfRuleset) -> Option<PfTicket> {
        self.tickets
            .iter()
            .find(|(r, _)| *r == ruleset)
            .map(|(_, t)| *t)
    }
}

/// What a rule does (`PF_PASS`, `PF_DROP`, `PF_NAT`, `PF_RDR`, … in `pfvar.h`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PfAction {
    Pass,
    Block,
    Nat,
    NoNat,
    Rdr,
    NoRdr,
}

impl PfAction {
    /// The ruleset a rule with this action lives in.
    pub fn ruleset(self) -> PfRuleset {
        match self {
            PfAction::Pass | PfAction::Block => PfRuleset::Filter,
            PfAction::Nat | PfAction::NoNat => PfRuleset::Nat,
            PfAction::Rdr | PfAction::NoRdr => PfRuleset::Rdr,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PfDirection {
    Any,
    In,
    Out,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AddressFamily {
    Inet,
    Inet6,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Protocol {
    Tcp,
    Udp,
    Icmp,
    Icmp6,
}

/// An inclusive port range; a single port has `first == last`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortRange {
    pub first: u16,
    pub last: u16,
}

impl PortRange {
    pub fn single(port: u16) -> Self {
        PortRange {
            first: port,
            last: port,
        }
    }
}

/// The address part of a rule's `from` or `to`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PfAddr {
    Any,
    Net(IpNet),
    /// The addresses of an interface, as `(em0)` in pf.conf: follows address changes.
    Interface(String),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PfEndpoint {
    pub addr: PfAddr,
    pub negate: bool,
    pub ports: Option<PortRange>,
}

impl PfEndpoint {
    pub fn any() -> Self {
        PfEndpoint {
            addr: PfAddr::Any,
            negate: false,
            ports: None,
        }
    }
}

/// Where nat and rdr rules send matching traffic (the rule's address pool).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PfRedirect {
    pub addr: PfAddr,
    pub ports: Option<PortRange>,
}

/// One rule. An anchor call (`anchor "zelle/*"`, `nat-anchor`, `rdr-anchor`) is a rule whose
/// `anchor` is set; its action gives the ruleset it is called from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PfRule {
    pub action: PfAction,
    pub direction: PfDirection,
    pub quick: bool,
    pub log: bool,
    pub interface: Option<String>,
    pub af: Option<AddressFamily>,
    pub proto: Option<Protocol>,
    pub src: PfEndpoint,
    pub dst: PfEndpoint,
    pub redirect: Option<PfRedirect>,
    pub keep_state: bool,
    pub anchor: Option<String>,
}

impl PfRule {
    /// A rule of `action` that matches everything; callers narrow it down.
    pub fn new(action: PfAction) -> Self {
        PfRule {
            action,
            direction: PfDirection::Any,
            quick: false,
            log: false,
            interface: None,
            af: None,
            proto: None,
            src: PfEndpoint::any(),
            dst: PfEndpoint::any(),
            redirect: None,
            keep_state: matches!(action, PfAction::Pass),
            anchor: None,
        }
    }

    /// An anchor call of `action`'s ruleset: `anchor "name"`, `nat-anchor "name"`, …
    pub fn anchor_call(action: PfAction, anchor: &str) -> Self {
        PfRule {
            anchor: Some(anchor.to_string()),
            keep_state: false,
            ..PfRule::new(action)
        }
    }
}

/// Whether a redirect target is a plain address (the common case zelle builds).
pub fn redirect_to(addr: IpAddr, ports: Option<PortRange>) -> PfRedirect {
    PfRedirect {
        addr: PfAddr::Net(IpNet::from(addr)),
        ports,
    }
}

/// The main ruleset's anchor path: the one path zelle never opens a transaction on.
pub fn is_main_ruleset(anchor: &str) -> bool {
    anchor.trim_start_matches('/').is_empty()
}

pub trait PacketFilter {
    /// `DIOCXBEGIN`: open a transaction on `anchor` (created if missing) for `rulesets`.
    fn pf_begin(&self, anchor: &str, rulesets: &[PfRuleset]) -> KResult<PfTransaction>;
    /// `DIOCBEGINADDRS`, `DIOCADDADDR` for the redirect pool, then `DIOCADDRULE`, into the
    /// transaction's inactive copy of the rule's ruleset.
    fn pf_add_rule(&self, transaction: &PfTransaction, rule: &PfRule) -> KResult<()>;
    /// `DIOCXCOMMIT`: check every ticket, then swap all the rulesets at once.
    fn pf_commit(&self, transaction: &PfTransaction) -> KResult<()>;
    /// `DIOCXROLLBACK`: drop the inactive copies; a stale ticket is not an error.
    fn pf_rollback(&self, transaction: &PfTransaction) -> KResult<()>;
    /// `DIOCGETRULES` and `DIOCGETRULE`: the active rules of one ruleset of `anchor`.
    fn pf_rules(&self, anchor: &str, ruleset: PfRuleset) -> KResult<Vec<PfRule>>;
    /// `DIOCGETRULESETS`: the child anchors directly below `anchor`.
    fn pf_anchors(&self, anchor: &str) -> KResult<Vec<String>>;
}
