//! The pf rules zelle loads, and the anchor calls it needs in the user's main ruleset.
//!
//! zelle's rules live below the anchor `zelle`: one child anchor per network for its NAT rule
//! (`zelle/net-<name>`) and one per container with published ports (`zelle/ctr-<key>`). The
//! main ruleset reaches them through `nat-anchor "zelle/*"`, `rdr-anchor "zelle/*"` and
//! `anchor "zelle/*"`, which the user adds to pf.conf once; zelle never changes the main
//! ruleset itself.

use super::config::{PortProtocol, PublishedPort};
use super::names::ANCHOR_ROOT;
use crate::kernel::pf::{
    redirect_to, AddressFamily, PacketFilter, PfAction, PfAddr, PfDirection, PfEndpoint,
    PfRedirect, PfRule, PfRuleset, PortRange, Protocol,
};
use crate::kernel::{Errno, KResult, KernelError, Op};
use ipnet::{IpNet, Ipv4Net};
use std::net::{IpAddr, Ipv4Addr};

/// The rulesets a network's anchor holds.
pub const NETWORK_RULESETS: &[PfRuleset] = &[PfRuleset::Nat];
/// The rulesets a container's anchor holds.
pub const CONTAINER_RULESETS: &[PfRuleset] = &[PfRuleset::Rdr, PfRuleset::Filter];

/// Replace the rules of `anchor`'s `rulesets` with `rules`, in one transaction: the only way
/// zelle changes pf. On failure the transaction is rolled back (best effort: a later begin on
/// the anchor supersedes it).
///
/// `anchor` must lie below zelle's own anchor. The kernel would take a transaction on the
/// main ruleset ("") and replace every rule of the operator's pf.conf with it (knast's NAT
/// set-up did exactly that), so this is refused here, before the kernel is asked, with EPERM.
pub fn replace_anchor_rules<K: PacketFilter + ?Sized>(
    kernel: &K,
    anchor: &str,
    rulesets: &[PfRuleset],
    rules: &[PfRule],
) -> KResult<()> {
    if !is_zelles(anchor) {
        return Err(KernelError::with_message(
            Op::PfBegin,
            Errno::EPERM,
            format!("zelle changes pf only below its anchor {ANCHOR_ROOT:?}, not in {anchor:?}"),
        ));
    }
    let transaction = kernel.pf_begin(anchor, rulesets)?;
    rules
        .iter()
        .try_for_each(|rule| kernel.pf_add_rule(&transaction, rule))
        .and_then(|()| kernel.pf_commit(&transaction))
        .inspect_err(|_| {
            let _ = kernel.pf_rollback(&transaction);
        })
}

/// Whether `anchor` is a path below zelle's anchor (the kernel strips a leading '/').
fn is_zelles(anchor: &str) -> bool {
    anchor
        .trim_start_matches('/')
        .strip_prefix(ANCHOR_ROOT)
        .and_then(|rest| rest.strip_prefix('/'))
        .is_some_and(|child| !child.is_empty())
}

/// The anchor call the main ruleset needs for each ruleset zelle uses.
pub fn anchor_calls() -> [PfRule; 3] {
    let all = format!("{ANCHOR_ROOT}/*");
    [
        PfRule::anchor_call(PfAction::Nat, &all),
        PfRule::anchor_call(PfAction::Rdr, &all),
        PfRule::anchor_call(PfAction::Pass, &all),
    ]
}

/// `nat on <egress> inet from <subnet> to any -> (<egress>)`
pub fn nat_rule(subnet: Ipv4Net, egress: &str) -> PfRule {
    PfRule {
        interface: Some(egress.to_string()),
        af: Some(AddressFamily::Inet),
        src: PfEndpoint {
            addr: PfAddr::Net(IpNet::V4(subnet)),
            negate: false,
            ports: None,
        },
        redirect: Some(PfRedirect {
            addr: PfAddr::Interface(egress.to_string()),
            ports: None,
        }),
        ..PfRule::new(PfAction::Nat)
    }
}

/// The rules publishing `port` of the container at `address`:
/// `rdr on <egress> inet proto <p> from any to (<egress>) port <host> -> <address> port <ctr>`
/// and `pass in quick on <egress> inet proto <p> from any to <address> port <ctr> keep state`
/// (filter rules see the translated destination).
pub fn published_port_rules(port: &PublishedPort, address: Ipv4Addr, egress: &str) -> [PfRule; 2] {
    let proto = Some(match port.proto {
        PortProtocol::Tcp => Protocol::Tcp,
        PortProtocol::Udp => Protocol::Udp,
    });
    let rdr = PfRule {
        interface: Some(egress.to_string()),
        af: Some(AddressFamily::Inet),
        proto,
        dst: PfEndpoint {
            addr: PfAddr::Interface(egress.to_string()),
            negate: false,
            ports: Some(PortRange::single(port.host_port)),
        },
        redirect: Some(redirect_to(
            IpAddr::V4(address),
            Some(PortRange::single(port.container_port)),
        )),
        ..PfRule::new(PfAction::Rdr)
    };
    let pass = PfRule {
        direction: PfDirection::In,
        quick: true,
        interface: Some(egress.to_string()),
        af: Some(AddressFamily::Inet),
        proto,
        dst: PfEndpoint {
            addr: PfAddr::Net(IpNet::from(IpAddr::V4(address))),
            negate: false,
            ports: Some(PortRange::single(port.container_port)),
        },
        ..PfRule::new(PfAction::Pass)
    };
    [rdr, pass]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_anchor_calls_read_as_pf_conf() {
        let lines: Vec<_> = anchor_calls().iter().map(ToString::to_string).collect();
        assert_eq!(
            lines,
            [
                "nat-anchor \"zelle/*\"",
                "rdr-anchor \"zelle/*\"",
                "anchor \"zelle/*\""
            ]
        );
    }

    #[test]
    fn rules_land_in_the_rulesets_their_anchors_hold() {
        let port = PublishedPort {
            proto: PortProtocol::Udp,
            host_port: 5353,
            container_port: 53,
        };
        for rule in published_port_rules(&port, Ipv4Addr::new(10, 77, 0, 2), "em0") {
            assert!(CONTAINER_RULESETS.contains(&rule.action.ruleset()));
        }
        let nat = nat_rule("10.77.0.0/16".parse().unwrap(), "em0");
        assert!(NETWORK_RULESETS.contains(&nat.action.ruleset()));
    }
}
