//! pf(4), at the level of anchors and rules.
//!
//! The binary `struct pf_rule` differs between releases and FreeBSD 15 moved several pf
//! ioctls to netlink, so this contract speaks of transactions and typed rules; each backend
//! chooses the wire (DIOCX* ioctls, or libpfctl's netlink messages).
//!
//! A transaction on the anchor "" replaces the user's main ruleset. The kernel (and so the
//! simulated machine) allows it, and so do the backends; zelle never does it: core changes pf
//! only through `network::rules::replace_anchor_rules`, which refuses anything outside
//! zelle's own anchor.

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

/// A rule in pf.conf syntax, the line an operator would write: `nat on em0 inet from
/// 10.77.0.0/16 to any -> (em0)`, `rdr on em0 inet proto tcp from any to any port 8080 ->
/// 10.77.0.5 port 80`, `pass in quick on bridge0 all keep state`, `nat-anchor "zelle/*"`.
///
/// Parts pf.conf has no place for are left out: a direction on nat and rdr rules (the kernel
/// fixes it), `log` and `quick` on translation rules, and a redirect on a filter rule.
impl std::fmt::Display for PfRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ruleset = self.action.ruleset();
        let call = self.anchor.as_deref().filter(|name| !name.is_empty());
        match call {
            Some(name) => {
                let keyword = match ruleset {
                    PfRuleset::Nat => "nat-anchor",
                    PfRuleset::Rdr => "rdr-anchor",
                    _ => "anchor",
                };
                write!(f, "{keyword} \"{name}\"")?;
            }
            None => f.write_str(match self.action {
                PfAction::Pass => "pass",
                PfAction::Block => "block",
                PfAction::Nat => "nat",
                PfAction::NoNat => "no nat",
                PfAction::Rdr => "rdr",
                PfAction::NoRdr => "no rdr",
            })?,
        }
        if ruleset == PfRuleset::Filter {
            match self.direction {
                PfDirection::Any => {}
                PfDirection::In => f.write_str(" in")?,
                PfDirection::Out => f.write_str(" out")?,
            }
            if call.is_none() {
                if self.log {
                    f.write_str(" log")?;
                }
                if self.quick {
                    f.write_str(" quick")?;
                }
            }
        }
        if let Some(interface) = &self.interface {
            write!(f, " on {interface}")?;
        }
        match self.af {
            Some(AddressFamily::Inet) => f.write_str(" inet")?,
            Some(AddressFamily::Inet6) => f.write_str(" inet6")?,
            None => {}
        }
        if let Some(proto) = self.proto {
            let name = match proto {
                Protocol::Tcp => "tcp",
                Protocol::Udp => "udp",
                Protocol::Icmp => "icmp",
                Protocol::Icmp6 => "icmp6",
            };
            write!(f, " proto {name}")?;
        }
        let matches_all = self.src == PfEndpoint::any() && self.dst == PfEndpoint::any();
        match (matches_all, call.is_some()) {
            // `nat-anchor "zelle/*"` alone reads better than with a trailing `all`.
            (true, true) => {}
            (true, false) => f.write_str(" all")?,
            (false, _) => write!(f, " from {} to {}", self.src, self.dst)?,
        }
        if call.is_some() {
            return Ok(());
        }
        if let (PfAction::Nat | PfAction::Rdr, Some(redirect)) = (self.action, &self.redirect) {
            write!(f, " -> {}", redirect.addr)?;
            if let Some(ports) = redirect.ports {
                write!(f, " port {ports}")?;
            }
        }
        if self.action == PfAction::Pass {
            f.write_str(if self.keep_state {
                " keep state"
            } else {
                " no state"
            })?;
        }
        Ok(())
    }
}

/// `80`, or an inclusive range `8000:8080` as pf.conf writes it.
impl std::fmt::Display for PortRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.first == self.last {
            write!(f, "{}", self.first)
        } else {
            write!(f, "{}:{}", self.first, self.last)
        }
    }
}

/// `any`, `10.77.0.0/16`, a host address without its prefix length, or `(em0)`.
impl std::fmt::Display for PfAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PfAddr::Any => f.write_str("any"),
            PfAddr::Net(net) if net.prefix_len() == net.max_prefix_len() => {
                write!(f, "{}", net.addr())
            }
            PfAddr::Net(net) => write!(f, "{net}"),
            PfAddr::Interface(name) => write!(f, "({name})"),
        }
    }
}

/// `! 10.0.0.0/8 port 80`: the address, negated or not, and the ports.
impl std::fmt::Display for PfEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.negate {
            f.write_str("! ")?;
        }
        write!(f, "{}", self.addr)?;
        if let Some(ports) = self.ports {
            write!(f, " port {ports}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod display_tests {
    use super::*;

    fn net(s: &str) -> PfAddr {
        PfAddr::Net(s.parse().expect("literal network"))
    }

    #[test]
    fn nat_rule_reads_as_pf_conf() {
        let rule = PfRule {
            interface: Some("em0".into()),
            af: Some(AddressFamily::Inet),
            src: PfEndpoint {
                addr: net("10.77.0.0/16"),
                ..PfEndpoint::any()
            },
            redirect: Some(PfRedirect {
                addr: PfAddr::Interface("em0".into()),
                ports: None,
            }),
            ..PfRule::new(PfAction::Nat)
        };
        assert_eq!(
            rule.to_string(),
            "nat on em0 inet from 10.77.0.0/16 to any -> (em0)"
        );
    }

    #[test]
    fn rdr_rule_reads_as_pf_conf() {
        let rule = PfRule {
            interface: Some("em0".into()),
            af: Some(AddressFamily::Inet),
            proto: Some(Protocol::Tcp),
            dst: PfEndpoint {
                ports: Some(PortRange::single(8080)),
                ..PfEndpoint::any()
            },
            redirect: Some(redirect_to(
                [10, 77, 0, 5].into(),
                Some(PortRange::single(80)),
            )),
            ..PfRule::new(PfAction::Rdr)
        };
        assert_eq!(
            rule.to_string(),
            "rdr on em0 inet proto tcp from any to any port 8080 -> 10.77.0.5 port 80"
        );
    }

    #[test]
    fn pass_rule_reads_as_pf_conf() {
        let rule = PfRule {
            direction: PfDirection::In,
            quick: true,
            interface: Some("bridge0".into()),
            ..PfRule::new(PfAction::Pass)
        };
        assert_eq!(rule.to_string(), "pass in quick on bridge0 all keep state");
        let stateless = PfRule {
            keep_state: false,
            log: true,
            ..rule
        };
        assert_eq!(
            stateless.to_string(),
            "pass in log quick on bridge0 all no state"
        );
    }

    #[test]
    fn anchor_calls_name_their_ruleset() {
        assert_eq!(
            PfRule::anchor_call(PfAction::Nat, "zelle/*").to_string(),
            "nat-anchor \"zelle/*\""
        );
        assert_eq!(
            PfRule::anchor_call(PfAction::Rdr, "zelle/*").to_string(),
            "rdr-anchor \"zelle/*\""
        );
        assert_eq!(
            PfRule::anchor_call(PfAction::Pass, "zelle/*").to_string(),
            "anchor \"zelle/*\""
        );
        let narrowed = PfRule {
            direction: PfDirection::In,
            interface: Some("bridge0".into()),
            ..PfRule::anchor_call(PfAction::Pass, "zelle")
        };
        assert_eq!(narrowed.to_string(), "anchor \"zelle\" in on bridge0");
    }

    #[test]
    fn endpoints_show_negation_ranges_and_families() {
        let rule = PfRule {
            af: Some(AddressFamily::Inet6),
            proto: Some(Protocol::Udp),
            src: PfEndpoint {
                addr: net("fd00::/64"),
                negate: true,
                ports: None,
            },
            dst: PfEndpoint {
                addr: net("fd00::1/128"),
                negate: false,
                ports: Some(PortRange {
                    first: 8000,
                    last: 8080,
                }),
            },
            ..PfRule::new(PfAction::Block)
        };
        assert_eq!(
            rule.to_string(),
            "block inet6 proto udp from ! fd00::/64 to fd00::1 port 8000:8080"
        );
        assert_eq!(
            PfRule::new(PfAction::NoNat).to_string(),
            "no nat all",
            "a rule without a redirect prints no arrow"
        );
    }
}
