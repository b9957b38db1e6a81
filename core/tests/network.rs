//! Container networking on the simulated machine: scenario tests for each behaviour and each
//! user-facing error, every failing kernel call of attach and create in turn, and concurrent
//! attaches. The random sequences under fault injection are in `network_properties.rs`.

mod network_support;

use network_support::*;
use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;
use zelle_core::kernel::net::Gateway;
use zelle_core::kernel::pf::{PfRule, PfRuleset};
use zelle_core::kernel::*;
use zelle_core::network::rules::{
    self, anchor_calls, nat_rule, published_port_rules, replace_anchor_rules,
};
use zelle_core::network::*;
use zelle_sim::{FaultPlan, Op};

// ---- networks ------------------------------------------------------------------------------

#[test]
fn creating_a_network_makes_its_bridge_and_nat_rule() {
    let host = Host::new(1);
    let config = network("web", "10.78.0.0/24");
    host.net.create(&config).unwrap();

    let bridge = host
        .interface(Vnet::Host, "zb-web")
        .expect("the bridge exists");
    assert!(bridge.flags.contains(IfFlags::UP), "{bridge:?}");
    assert_eq!(bridge.mtu, 1500);
    assert_eq!(bridge.inet, [(Ipv4Addr::new(10, 78, 0, 1), 24)]);
    let nat = host
        .kernel()
        .pf_rules("zelle/net-web", PfRuleset::Nat)
        .unwrap();
    assert_eq!(nat, [nat_rule(config.subnet, "em0")]);
    assert_eq!(
        host.net.network("web").unwrap().unwrap().status,
        NetworkStatus::Ready
    );
    host.assert_sound();
}

#[test]
fn a_network_with_ipv6_puts_both_gateways_on_the_bridge() {
    let host = Host::new(1);
    host.net
        .create(&network6("six", "10.78.0.0/24", "fd7e:7a1e:1::/64"))
        .unwrap();
    let bridge = host.interface(Vnet::Host, "zb-six").unwrap();
    assert!(
        bridge
            .inet6
            .contains(&("fd7e:7a1e:1::1".parse().unwrap(), 64)),
        "{bridge:?}"
    );
    host.assert_sound();
}

#[test]
fn a_network_without_nat_loads_no_rules() {
    let host = Host::new(1);
    let config = NetworkConfig {
        nat: false,
        ..network("plain", "10.78.0.0/24")
    };
    host.net.create(&config).unwrap();
    assert!(host
        .kernel()
        .pf_rules("zelle/net-plain", PfRuleset::Nat)
        .is_err());
    host.assert_sound();
}

#[test]
fn the_egress_interface_defaults_to_the_default_routes() {
    let host = Host::new(1);
    let egress = host.default_route_interface();
    let config = NetworkConfig::default_network();
    assert_eq!(config.egress, None);
    host.net.create(&config).unwrap();
    let record = host.net.network(DEFAULT_NETWORK).unwrap().unwrap();
    assert_eq!(record.egress.as_deref(), Some(egress.as_str()));
    assert_eq!(
        record.config, config,
        "the record keeps the configuration as given"
    );
    let nat = host
        .kernel()
        .pf_rules("zelle/net-zelle", PfRuleset::Nat)
        .unwrap();
    assert_eq!(nat, [nat_rule(DEFAULT_SUBNET, &egress)]);
}

#[test]
fn nat_without_an_egress_or_default_route_is_refused() {
    let host = Host::new(1);
    host.remove_default_routes();
    let before = host.state();
    let error = host
        .net
        .create(&NetworkConfig::default_network())
        .unwrap_err();
    assert!(matches!(error, NetworkError::NoEgress { .. }), "{error}");
    assert!(error.to_string().contains("egress:"), "{error}");
    assert_eq!(before, host.state());
}

#[test]
fn creating_an_identical_network_again_changes_nothing() {
    let host = Host::new(1);
    let config = network("web", "10.78.0.0/24");
    host.net.create(&config).unwrap();
    let before = host.state();
    host.net.create(&config).unwrap();
    assert_eq!(before, host.state());
}

#[test]
fn a_different_network_of_the_same_name_is_refused() {
    let host = Host::new(1);
    host.net.create(&network("web", "10.78.0.0/24")).unwrap();
    let before = host.state();
    let changed = NetworkConfig {
        mtu: 9000,
        ..network("web", "10.78.0.0/24")
    };
    let error = host.net.create(&changed).unwrap_err();
    assert_eq!(
        error,
        NetworkError::NetworkConflict {
            network: "web".into(),
            field: "mtu"
        }
    );
    assert!(error.to_string().contains("mtu:"), "{error}");
    assert_eq!(before, host.state());
}

#[test]
fn an_overlapping_subnet_is_refused_and_leaves_nothing_behind() {
    let host = Host::new(1);
    host.net.create(&network("web", "10.78.0.0/16")).unwrap();
    let before = host.state();
    let error = host.net.create(&network("db", "10.78.4.0/24")).unwrap_err();
    assert!(
        matches!(&error, NetworkError::SubnetOverlap { field: "subnet", other, .. } if other == "network \"web\""),
        "{error}"
    );
    assert!(
        error
            .to_string()
            .contains("subnet: 10.78.4.0/24 overlaps 10.78.0.0/16"),
        "{error}"
    );
    assert_eq!(before, host.state());
}

#[test]
fn an_overlapping_ipv6_subnet_is_refused() {
    let host = Host::new(1);
    host.net
        .create(&network6("a", "10.78.0.0/24", "fd7e::/48"))
        .unwrap();
    let before = host.state();
    let error = host
        .net
        .create(&network6("b", "10.79.0.0/24", "fd7e:0:0:1::/64"))
        .unwrap_err();
    assert!(
        matches!(
            error,
            NetworkError::SubnetOverlap {
                field: "subnet6",
                ..
            }
        ),
        "{error}"
    );
    assert_eq!(before, host.state());
}

#[test]
fn a_subnet_overlapping_a_host_interface_is_refused() {
    let host = Host::new(1);
    let lan = host.host_interface_with("198.51.100.10".parse().unwrap(), 24);
    let before = host.state();
    let error = host
        .net
        .create(&network("web", "198.51.100.0/25"))
        .unwrap_err();
    assert!(
        matches!(&error, NetworkError::SubnetOverlap { other, .. } if *other == format!("host interface {lan}")),
        "{error}"
    );
    assert_eq!(before, host.state());
}

#[test]
fn a_name_too_long_for_an_interface_is_refused_and_leaves_nothing_behind() {
    let host = Host::new(1);
    let before = host.state();
    let error = host
        .net
        .create(&network("thirteenbytes", "10.78.0.0/24"))
        .unwrap_err();
    assert!(
        matches!(
            error,
            NetworkError::NameTooLong {
                len: 13,
                max: 12,
                ..
            }
        ),
        "{error}"
    );
    assert!(error.to_string().contains("name:"), "{error}");
    assert_eq!(before, host.state());
}

#[test]
fn an_invalid_address_is_refused_and_leaves_nothing_behind() {
    let host = Host::new(1);
    let before = host.state();
    let config = NetworkConfig {
        gateway: Ipv4Addr::new(10, 79, 0, 1),
        ..network("web", "10.78.0.0/24")
    };
    let error = host.net.create(&config).unwrap_err();
    assert!(
        matches!(
            error,
            NetworkError::InvalidAddress {
                field: "gateway",
                ..
            }
        ),
        "{error}"
    );
    assert!(
        error.to_string().contains("gateway: \"10.79.0.1\""),
        "{error}"
    );
    let error =
        parse_networks(r#"{"networks": [{"name": "web", "subnet": "10.78.0.0/33"}]}"#).unwrap_err();
    assert!(
        matches!(
            error,
            NetworkError::InvalidAddress {
                field: "subnet",
                ..
            }
        ),
        "{error}"
    );
    assert_eq!(before, host.state());
}

#[test]
fn removing_a_network_takes_everything_down() {
    let host = Host::new(1);
    let before = host.state();
    host.net
        .create(&network6("web", "10.78.0.0/24", "fd7e:7a1e:1::/64"))
        .unwrap();
    host.net.remove("web").unwrap();
    assert_eq!(before, host.state());
    let error = host.net.remove("web").unwrap_err();
    assert!(
        matches!(error, NetworkError::UnknownNetwork { .. }),
        "{error}"
    );
}

#[test]
fn removing_a_network_in_use_is_refused() {
    let host = Host::new(1);
    host.net.create(&network("web", "10.78.0.0/24")).unwrap();
    let jid = host.jail("a");
    host.net.attach(&request("ctr-a", "web", jid)).unwrap();
    let before = host.state();
    let error = host.net.remove("web").unwrap_err();
    assert_eq!(
        error,
        NetworkError::NetworkInUse {
            network: "web".into(),
            containers: vec!["ctr-a".into()]
        }
    );
    assert_eq!(before, host.state());
    host.net.detach("ctr-a").unwrap();
    host.net.remove("web").unwrap();
    host.assert_sound();
}

// ---- attach and detach ---------------------------------------------------------------------

#[test]
fn attach_plumbs_the_container_into_its_vnet() {
    let host = Host::new(1);
    host.net.create(&network("web", "10.78.0.0/24")).unwrap();
    let jid = host.jail("a");
    let mut req = request("4f3a9c0e1d2b", "web", jid);
    req.hostname = "web-1".into();
    req.dns = Dns::from_resolv_conf("search lan\nnameserver 127.0.0.1\nnameserver 192.0.2.53\n");
    let attached = host.net.attach(&req).unwrap();

    assert_eq!(attached.address, "10.78.0.2/24".parse().unwrap());
    assert_eq!(attached.gateway, Ipv4Addr::new(10, 78, 0, 1));
    assert_eq!(attached.host_interface.len(), 15);
    assert!(
        attached.host_interface.starts_with("ze4f3a9c"),
        "{}",
        attached.host_interface
    );
    assert_eq!(attached.anchor, None);
    assert_eq!(
        attached.resolv_conf,
        "# written by zelle\nsearch lan\nnameserver 192.0.2.53\n"
    );
    assert!(
        attached.hosts.contains("10.78.0.2\tweb-1\n"),
        "{}",
        attached.hosts
    );

    let bridge = host.interface(Vnet::Host, "zb-web").unwrap();
    assert_eq!(
        bridge.members,
        std::slice::from_ref(&attached.host_interface)
    );
    let host_end = host
        .interface(Vnet::Host, &attached.host_interface)
        .unwrap();
    assert!(host_end.flags.contains(IfFlags::UP));
    assert_eq!(host_end.mtu, 1500);

    let inside = Vnet::Jail(jid);
    let eth0 = host.interface(inside, "eth0").expect("eth0 in the jail");
    assert!(eth0.flags.contains(IfFlags::UP), "{eth0:?}");
    assert_eq!(eth0.inet, [(Ipv4Addr::new(10, 78, 0, 2), 24)]);
    assert_eq!(eth0.mtu, 1500);
    let lo0 = host.interface(inside, "lo0").unwrap();
    assert!(lo0.flags.contains(IfFlags::UP), "{lo0:?}");
    assert!(lo0.inet.contains(&(Ipv4Addr::LOCALHOST, 8)), "{lo0:?}");
    assert!(lo0.inet6.contains(&(Ipv6Addr::LOCALHOST, 128)), "{lo0:?}");
    let routes = host.kernel().list_routes(inside).unwrap();
    assert!(
        routes.iter().any(|r| r.dest == "0.0.0.0/0".parse().unwrap()
            && r.gateway == Gateway::Addr(IpAddr::V4(Ipv4Addr::new(10, 78, 0, 1)))
            && r.interface == "eth0"),
        "{routes:?}"
    );
    assert!(host.interface(Vnet::Host, "eth0").is_none());
    host.assert_sound();
}

#[test]
fn the_networks_dns_servers_replace_the_hosts() {
    let host = Host::new(1);
    let config = NetworkConfig {
        dns: vec!["192.0.2.1".parse().unwrap()],
        ..network("web", "10.78.0.0/24")
    };
    host.net.create(&config).unwrap();
    let mut req = request("a", "web", host.jail("a"));
    req.dns = Dns::from_resolv_conf("nameserver 198.51.100.1\n");
    let attached = host.net.attach(&req).unwrap();
    assert_eq!(
        attached.resolv_conf,
        "# written by zelle\nnameserver 192.0.2.1\n"
    );
}

#[test]
fn attach_with_ipv6_gives_eth0_an_address_and_a_default_route() {
    let host = Host::new(1);
    host.net
        .create(&network6("six", "10.78.0.0/24", "fd7e:7a1e:1::/64"))
        .unwrap();
    let jid = host.jail("a");
    let mut req = request("a", "six", jid);
    req.hostname = "a".into();
    let attached = host.net.attach(&req).unwrap();
    let address6: Ipv6Addr = "fd7e:7a1e:1::2".parse().unwrap();
    assert_eq!(
        attached.address6,
        Some("fd7e:7a1e:1::2/64".parse().unwrap())
    );
    assert_eq!(attached.gateway6, Some("fd7e:7a1e:1::1".parse().unwrap()));
    assert!(
        attached.hosts.contains("fd7e:7a1e:1::2\ta\n"),
        "{}",
        attached.hosts
    );
    let eth0 = host.interface(Vnet::Jail(jid), "eth0").unwrap();
    assert!(eth0.inet6.contains(&(address6, 64)), "{eth0:?}");
    let routes = host.kernel().list_routes(Vnet::Jail(jid)).unwrap();
    assert!(
        routes.iter().any(|r| r.dest == "::/0".parse().unwrap()
            && r.gateway == Gateway::Addr("fd7e:7a1e:1::1".parse().unwrap())),
        "{routes:?}"
    );
    host.assert_sound();
}

#[test]
fn detach_undoes_attach_exactly() {
    let host = Host::new(1);
    host.net
        .create(&network6("six", "10.78.0.0/24", "fd7e:7a1e:1::/64"))
        .unwrap();
    let jid = host.jail("a");
    let before = host.dump();
    let mut req = request("a", "six", jid);
    req.ports = vec![tcp(8080, 80)];
    host.net.attach(&req).unwrap();
    host.net.detach("a").unwrap();
    assert_eq!(before, host.dump());
    // The store keeps only the allocator's memory of the address (it is reused last).
    let state = host.store.snapshot();
    assert!(state.containers.is_empty() && state.keys.is_empty() && state.ports.is_empty());
    assert!(state.networks["six"].containers.is_empty());
}

#[test]
fn detach_is_idempotent() {
    let host = Host::new(1);
    host.net.create(&network("web", "10.78.0.0/24")).unwrap();
    let jid = host.jail("a");
    host.net.attach(&request("a", "web", jid)).unwrap();
    host.net.detach("a").unwrap();
    let before = host.state();
    host.net.detach("a").unwrap();
    host.net.detach("never-attached").unwrap();
    assert_eq!(before, host.state());
}

#[test]
fn detach_survives_a_jail_removed_first() {
    for wait_ms in [0, 60_000] {
        let host = Host::new(1);
        host.net.create(&network("web", "10.78.0.0/24")).unwrap();
        let jid = host.jail("a");
        let mut req = request("a", "web", jid);
        req.ports = vec![tcp(8080, 80)];
        let attached = host.net.attach(&req).unwrap();
        host.kernel().jail_remove(jid).unwrap();
        host.machine(|m| m.advance(wait_ms));
        host.net.detach("a").unwrap();
        host.machine(|m| m.advance(60_000));
        assert!(host
            .interface(Vnet::Host, &attached.host_interface)
            .is_none());
        assert!(
            host.interface(Vnet::Host, "eth0").is_none(),
            "{}",
            host.dump()
        );
        assert!(host
            .interface(Vnet::Host, "zb-web")
            .unwrap()
            .members
            .is_empty());
        assert!(host.net.container("a").unwrap().is_none());
        assert!(host
            .kernel()
            .pf_rules(&attached.anchor.unwrap(), PfRuleset::Rdr)
            .is_err());
        host.assert_sound();
    }
}

#[test]
fn a_container_attached_twice_is_refused() {
    let host = Host::new(1);
    host.net.create(&network("web", "10.78.0.0/24")).unwrap();
    host.net
        .attach(&request("a", "web", host.jail("a")))
        .unwrap();
    let jid = host.jail("b");
    let before = host.state();
    let error = host.net.attach(&request("a", "web", jid)).unwrap_err();
    assert!(
        matches!(error, NetworkError::AlreadyAttached { .. }),
        "{error}"
    );
    assert_eq!(before, host.state());
}

#[test]
fn attaching_to_an_unknown_network_is_refused() {
    let host = Host::new(1);
    let jid = host.jail("a");
    let before = host.state();
    let error = host.net.attach(&request("a", "nope", jid)).unwrap_err();
    assert!(
        matches!(error, NetworkError::UnknownNetwork { .. }),
        "{error}"
    );
    assert_eq!(before, host.state());
}

#[test]
fn an_exhausted_subnet_is_refused_and_leaves_nothing_behind() {
    let host = Host::new(1);
    // A /30 holds the gateway and one container.
    host.net.create(&network("tiny", "10.78.0.0/30")).unwrap();
    host.net
        .attach(&request("a", "tiny", host.jail("a")))
        .unwrap();
    let jid = host.jail("b");
    let before = host.state();
    let error = host.net.attach(&request("b", "tiny", jid)).unwrap_err();
    assert_eq!(
        error,
        NetworkError::SubnetExhausted {
            network: "tiny".into(),
            subnet: "10.78.0.0/30".parse().unwrap()
        }
    );
    assert!(
        error.to_string().contains("subnet: 10.78.0.0/30"),
        "{error}"
    );
    assert_eq!(before, host.state());
    // Detaching frees the address for the next container.
    host.net.detach("a").unwrap();
    let attached = host.net.attach(&request("b", "tiny", jid)).unwrap();
    assert_eq!(attached.address.addr(), Ipv4Addr::new(10, 78, 0, 2));
}

#[test]
fn released_addresses_come_back_only_after_fresh_ones() {
    let host = Host::new(1);
    host.net.create(&network("web", "10.78.0.0/24")).unwrap();
    let a = host
        .net
        .attach(&request("a", "web", host.jail("a")))
        .unwrap();
    host.net.detach("a").unwrap();
    let b = host
        .net
        .attach(&request("b", "web", host.jail("b")))
        .unwrap();
    assert_ne!(a.address, b.address);
}

#[test]
fn container_ids_sharing_a_prefix_get_distinct_names() {
    let host = Host::new(1);
    host.net.create(&network("web", "10.78.0.0/24")).unwrap();
    let prefix = "0123456789abcdef".repeat(3);
    let mut names = BTreeSet::new();
    for i in 0..8 {
        let id = format!("{prefix}{i:016x}");
        let mut req = request(&id, "web", host.jail(&format!("j{i}")));
        req.ports = vec![tcp(8000 + i, 80)];
        let attached = host.net.attach(&req).unwrap();
        assert!(names.insert(attached.host_interface));
        assert!(names.insert(attached.anchor.unwrap()));
    }
    host.assert_sound();
}

// ---- published ports -----------------------------------------------------------------------

#[test]
fn published_ports_go_into_the_containers_own_anchor() {
    let host = Host::new(1);
    host.net.create(&network("web", "10.78.0.0/24")).unwrap();
    let mut first = request("a", "web", host.jail("a"));
    first.ports = vec![tcp(8080, 80), udp(5353, 53)];
    let a = host.net.attach(&first).unwrap();
    let anchor_a = a.anchor.clone().expect("an anchor for the ports");
    assert!(anchor_a.starts_with("zelle/ctr-"), "{anchor_a}");
    let rdr_a = host.kernel().pf_rules(&anchor_a, PfRuleset::Rdr).unwrap();
    let expected: Vec<PfRule> = first
        .ports
        .iter()
        .map(|p| published_port_rules(p, a.address.addr(), "em0")[0].clone())
        .collect();
    assert_eq!(rdr_a, expected);
    assert_eq!(
        host.kernel()
            .pf_rules(&anchor_a, PfRuleset::Filter)
            .unwrap()
            .len(),
        2
    );

    // A second container leaves the first one's rules alone.
    let mut second = request("b", "web", host.jail("b"));
    second.ports = vec![tcp(8081, 80)];
    let b = host.net.attach(&second).unwrap();
    assert_eq!(
        host.kernel().pf_rules(&anchor_a, PfRuleset::Rdr).unwrap(),
        rdr_a
    );
    let children = host.kernel().pf_anchors("zelle").unwrap();
    for anchor in [&anchor_a, b.anchor.as_ref().unwrap()] {
        assert!(
            children.iter().any(|c| anchor.ends_with(c.as_str())),
            "{children:?}"
        );
    }
    host.assert_sound();
}

#[test]
fn a_port_already_published_is_refused_and_leaves_nothing_behind() {
    let host = Host::new(1);
    host.net.create(&network("web", "10.78.0.0/24")).unwrap();
    let mut first = request("a", "web", host.jail("a"));
    first.ports = vec![tcp(8080, 80)];
    host.net.attach(&first).unwrap();
    let jid = host.jail("b");
    let before = host.state();
    let mut second = request("b", "web", jid);
    second.ports = vec![udp(8080, 80), tcp(8080, 81)];
    let error = host.net.attach(&second).unwrap_err();
    assert_eq!(
        error,
        NetworkError::PortTaken {
            proto: PortProtocol::Tcp,
            port: 8080,
            holder: "a".into()
        }
    );
    assert!(
        error.to_string().starts_with("ports: tcp port 8080"),
        "{error}"
    );
    assert_eq!(before, host.state());
    // The same port number over udp is free.
    second.ports = vec![udp(8080, 80)];
    host.net.attach(&second).unwrap();
}

#[test]
fn a_port_listed_twice_in_one_request_is_refused() {
    let host = Host::new(1);
    host.net.create(&network("web", "10.78.0.0/24")).unwrap();
    let jid = host.jail("a");
    let before = host.state();
    let mut req = request("a", "web", jid);
    req.ports = vec![tcp(8080, 80), tcp(8080, 81)];
    let error = host.net.attach(&req).unwrap_err();
    assert!(
        matches!(error, NetworkError::PortTaken { port: 8080, .. }),
        "{error}"
    );
    req.ports = vec![tcp(0, 80)];
    let error = host.net.attach(&req).unwrap_err();
    assert!(error.to_string().contains("ports:"), "{error}");
    assert_eq!(before, host.state());
}

// ---- start-up checks -----------------------------------------------------------------------

#[test]
fn the_host_check_prints_the_lines_to_add() {
    let host = Host::new(1);
    host.machine(|m| m.load_main_ruleset(&[]).unwrap());
    host.kernel()
        .set_sysctl("net.inet.ip.forwarding", &SysctlValue::Int(0))
        .unwrap();
    let error = host.net.check_host().unwrap_err();
    let text = error.to_string();
    for line in [
        "nat-anchor \"zelle/*\"",
        "rdr-anchor \"zelle/*\"",
        "anchor \"zelle/*\"",
        "net.inet.ip.forwarding=1",
    ] {
        assert!(
            text.contains(&format!("    {line}\n")),
            "{line:?} missing from:\n{text}"
        );
    }

    host.machine(|m| m.load_main_ruleset(&anchor_calls()).unwrap());
    host.kernel()
        .set_sysctl("net.inet.ip.forwarding", &SysctlValue::Int(1))
        .unwrap();
    host.net.check_host().unwrap();

    // An IPv6 network needs IPv6 forwarding too.
    host.net
        .create(&network6("six", "10.78.0.0/24", "fd7e::/64"))
        .unwrap();
    let error = host.net.check_host().unwrap_err();
    assert_eq!(
        error,
        NetworkError::HostNotReady {
            pf_conf: vec![],
            sysctls: vec!["net.inet6.ip6.forwarding=1".into()]
        }
    );
}

#[test]
fn zelle_never_opens_a_transaction_on_the_main_ruleset() {
    let host = Host::new(1);
    host.net.create(&network("web", "10.78.0.0/24")).unwrap();
    let mut req = request("a", "web", host.jail("a"));
    req.ports = vec![tcp(8080, 80)];
    host.net.attach(&req).unwrap();
    host.net.detach("a").unwrap();
    host.net.remove("web").unwrap();
    let begins: Vec<String> = host.machine(|m| {
        m.trace
            .iter()
            .filter(|e| e.op == Op::PfBegin)
            .map(|e| e.args.clone())
            .collect()
    });
    assert!(!begins.is_empty());
    for args in begins {
        assert!(
            args.contains("\"zelle/"),
            "a transaction outside zelle/*: {args}"
        );
    }
}

/// The rule that keeps zelle out of the operator's rules is core's, checked before the
/// kernel is asked: the same on the typed door and through the real backend.
#[test]
fn pf_changes_outside_zelles_anchor_are_refused_before_the_kernel_is_asked() {
    let host = Host::new(1);
    host.machine(|m| m.load_main_ruleset(&anchor_calls()).unwrap());
    let before = host.dump();
    let calls = host.machine(|m| m.seq);
    for anchor in ["", "/", "zelle", "zelle/", "zellex/a", "other/zelle/a"] {
        let error =
            replace_anchor_rules(host.kernel(), anchor, rules::NETWORK_RULESETS, &[]).unwrap_err();
        assert!(error.is(Op::PfBegin, Errno::EPERM), "{anchor:?}: {error}");
        assert!(
            error.to_string().contains("only below its anchor"),
            "{error}"
        );
    }
    assert_eq!(host.machine(|m| m.seq), calls, "no call reached the kernel");
    assert_eq!(before, host.dump());
    replace_anchor_rules(host.kernel(), "/zelle/net-x", rules::NETWORK_RULESETS, &[]).unwrap();
}

// ---- persistence ---------------------------------------------------------------------------

#[test]
fn a_restarted_shim_never_reuses_an_address_in_use() {
    let host = Host::new(1);
    host.net.create(&network("web", "10.78.0.0/24")).unwrap();
    let a = host
        .net
        .attach(&request("a", "web", host.jail("a")))
        .unwrap();

    // What a file store would keep, read back by a new process.
    let text = serde_json::to_string(&host.store.snapshot()).unwrap();
    let state: NetState = serde_json::from_str(&text).unwrap();
    let restarted = Networks::new(host.net.kernel().clone(), MemoryStore::new(state));
    restarted.create(&network("web", "10.78.0.0/24")).unwrap();
    let b = restarted
        .attach(&request("b", "web", host.jail("b")))
        .unwrap();
    assert_ne!(a.address, b.address);
    assert_ne!(a.host_interface, b.host_interface);
    host.assert_sound();
}

#[test]
fn two_shims_sharing_a_store_never_share_an_address() {
    let host = Host::new(1);
    host.net.create(&network("web", "10.78.0.0/24")).unwrap();
    let second = Networks::new(host.net.kernel().clone(), host.store.clone());
    let a = host
        .net
        .attach(&request("a", "web", host.jail("a")))
        .unwrap();
    let b = second.attach(&request("b", "web", host.jail("b"))).unwrap();
    assert_ne!(a.address, b.address);
    second.detach("a").unwrap();
    assert!(host.net.container("a").unwrap().is_none());
}

// ---- rollback: every kernel call failing in turn -------------------------------------------

#[test]
fn every_failing_call_of_an_attach_is_undone() {
    fail_each_call_in_turn(
        || {
            let host = Host::new(7);
            host.net
                .create(&network6("six", "10.78.0.0/24", "fd7e:7a1e:1::/64"))
                .unwrap();
            host.jail("a");
            host
        },
        |host| {
            let mut req = request("a", "six", Jid(host.last_jid()));
            req.ports = vec![tcp(8080, 80), udp(5353, 53)];
            host.net.attach(&req).map(drop)
        },
    );
}

#[test]
fn every_failing_call_of_a_network_create_is_undone() {
    fail_each_call_in_turn(
        || Host::new(7),
        |host| {
            host.net
                .create(&network6("six", "10.78.0.0/24", "fd7e:7a1e:1::/64"))
        },
    );
}

#[test]
fn a_failed_detach_can_be_retried() {
    let host = Host::new(7);
    host.net.create(&network("web", "10.78.0.0/24")).unwrap();
    let jid = host.jail("a");
    let before = host.dump();
    let mut req = request("a", "web", jid);
    req.ports = vec![tcp(8080, 80)];
    host.net.attach(&req).unwrap();
    for op in [
        Op::PfBegin,
        Op::ListInterfaces,
        Op::BridgeDeleteMember,
        Op::DestroyInterface,
    ] {
        let next = host.machine(|m| m.calls.get(&op).copied().unwrap_or(0)) + 1;
        host.machine(|m| m.config.faults = FaultPlan::default().nth(op, next, Errno::EIO));
        let error = host.net.detach("a").unwrap_err();
        assert!(
            matches!(error, NetworkError::TeardownIncomplete { .. }),
            "{op}: {error}"
        );
        assert!(host.net.container("a").unwrap().is_some());
        host.assert_sound();
    }
    host.machine(|m| m.config.faults = FaultPlan::default());
    host.net.detach("a").unwrap();
    assert_eq!(before, host.dump());
    assert!(host.store.snapshot().containers.is_empty());
}

/// An EINVAL from a step inside the jail's vnet is the step's own failure, not a sign that
/// the jail is gone (that is jail_attach's EINVAL): detach must report it and keep the record.
#[test]
fn an_einval_inside_a_live_jail_is_not_taken_for_a_gone_jail() {
    let host = Host::new(8);
    host.net.create(&network("web", "10.78.0.0/24")).unwrap();
    let jid = host.jail("a");
    let before = host.dump();
    host.net.attach(&request("a", "web", jid)).unwrap();
    let next = host.machine(|m| m.calls.get(&Op::SetInterfaceFlags).copied().unwrap_or(0)) + 1;
    host.machine(|m| {
        m.config.faults = FaultPlan::default().nth(Op::SetInterfaceFlags, next, Errno::EINVAL)
    });
    let error = host.net.detach("a").unwrap_err();
    assert!(
        matches!(error, NetworkError::TeardownIncomplete { .. }),
        "{error}"
    );
    assert!(host.net.container("a").unwrap().is_some());
    host.machine(|m| m.config.faults = FaultPlan::default());
    host.net.detach("a").unwrap();
    assert_eq!(before, host.dump());
}

// ---- concurrency ---------------------------------------------------------------------------

#[test]
fn concurrent_attaches_never_share_an_address_a_name_or_an_anchor() {
    const THREADS: u16 = 8;
    const EACH: u16 = 12;
    let host = Host::new(3);
    host.net.create(&network("web", "10.78.0.0/16")).unwrap();
    host.net
        .create(&network6("six", "10.79.0.0/16", "fd7e::/64"))
        .unwrap();
    let jails: Vec<Vec<Jid>> = (0..THREADS)
        .map(|t| (0..EACH).map(|i| host.jail(&format!("t{t}-{i}"))).collect())
        .collect();
    let attached: Vec<Attachment> = std::thread::scope(|scope| {
        let workers: Vec<_> = jails
            .iter()
            .enumerate()
            .map(|(t, jails)| {
                let net = &host.net;
                scope.spawn(move || {
                    jails
                        .iter()
                        .enumerate()
                        .map(|(i, &jid)| {
                            let id = format!("{t:02}{i:02}-shared-prefix");
                            let network = if (t + i) % 2 == 0 { "web" } else { "six" };
                            let mut req = request(&id, network, jid);
                            req.ports = vec![tcp(10_000 + (t * 100 + i) as u16, 80)];
                            net.attach(&req).unwrap()
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });
    let total = usize::from(THREADS * EACH);
    let distinct =
        |f: &dyn Fn(&Attachment) -> String| attached.iter().map(f).collect::<BTreeSet<_>>().len();
    assert_eq!(distinct(&|a| a.address.addr().to_string()), total);
    assert_eq!(distinct(&|a| a.host_interface.clone()), total);
    assert_eq!(distinct(&|a| a.anchor.clone().unwrap()), total);
    for (jid, a) in jails.iter().flatten().zip(&attached) {
        let eth0 = host.interface(Vnet::Jail(*jid), "eth0").unwrap();
        assert_eq!(eth0.inet, [(a.address.addr(), 16)]);
    }
    host.assert_sound();
    assert_eq!(host.store.snapshot().containers.len(), total);

    std::thread::scope(|scope| {
        for t in 0..THREADS {
            let net = &host.net;
            scope.spawn(move || {
                for i in 0..EACH {
                    net.detach(&format!("{t:02}{i:02}-shared-prefix")).unwrap();
                }
            });
        }
    });
    let after = host.store.snapshot();
    assert!(after.containers.is_empty() && after.keys.is_empty() && after.ports.is_empty());
    assert!(host
        .interface(Vnet::Host, "zb-web")
        .unwrap()
        .members
        .is_empty());
    host.assert_sound();
}

#[test]
fn the_store_is_shared_by_reference() {
    // `Networks` takes its store by value; an `Arc` lets a test (or a second manager) keep a
    // handle on the same state.
    let host = Host::new(1);
    let clone: Arc<MemoryStore> = host.store.clone();
    host.net.create(&network("web", "10.78.0.0/24")).unwrap();
    assert!(clone.snapshot().networks.contains_key("web"));
}
