//! Network rules that need control of the simulated machine: kernel profiles and the vhid
//! panic, loaded modules (carp, if_epair, if_bridge), the dump, the invariant checker, and
//! kernel behaviour the contract alone cannot set up safely on a real machine.

mod common;

use common::TempScratch;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use zelle_core::conformance::Scratch;
use zelle_core::kernel::*;
use zelle_sim::{Machine, Release, SimConfig, SimKernel};

const HOST: Vnet = Vnet::Host;

fn kernel(release: Release) -> SimKernel {
    SimKernel::new(SimConfig {
        release,
        ..SimConfig::default()
    })
}

fn code<T: std::fmt::Debug>(result: KResult<T>) -> Errno {
    match result {
        Ok(value) => panic!("succeeded with {value:?}"),
        Err(e) => e.code().unwrap_or_else(|| panic!("no errno: {e}")),
    }
}

/// The machine's invariants hold; returns the machine for more checks.
fn sound(k: &SimKernel) -> Machine {
    let machine = k.snapshot();
    let problems = machine.check_invariants();
    assert!(problems.is_empty(), "{problems:#?}\n{}", machine.dump());
    machine
}

fn names(k: &SimKernel, vnet: Vnet) -> Vec<String> {
    k.list_interfaces(vnet)
        .unwrap()
        .into_iter()
        .map(|i| i.name)
        .collect()
}

fn vnet_jail(k: &SimKernel, scratch: &TempScratch, name: &str) -> Jid {
    let params = JailParams {
        name: Some(name.into()),
        path: Some(scratch.dir(name)),
        persist: Some(true),
        vnet: Some(VnetMode::New),
        ..JailParams::default()
    };
    k.jail_set(&params, JailFlags::CREATE).unwrap()
}

fn with_carp(k: &SimKernel) {
    k.with_machine(|m| m.host.modules.insert("carp".into()))
        .unwrap();
}

fn vhid(vhid: i32) -> InetAlias {
    InetAlias {
        vhid,
        ..InetAlias::new(Ipv4Addr::new(10, 9, 0, 1), 24)
    }
}

/// Fixed kernels: any non-zero vhid without carp is EPROTONOSUPPORT (in.c `in_aifaddr_ioctl`,
/// `vhid != 0 && carp_attach_p == NULL`), and nothing changes.
#[test]
fn vhid_without_carp_on_a_fixed_kernel_is_eprotonosupport() {
    let k = kernel(Release::V14_1);
    let before = k.snapshot().dump();
    for v in [1, -1, i32::MIN, i32::MAX] {
        assert_eq!(
            code(k.add_inet_alias(HOST, "em0", &vhid(v))),
            Errno::EPROTONOSUPPORT
        );
    }
    assert_eq!(k.snapshot().dump(), before);
    sound(&k);
}

/// FreeBSD 13.0 before the fix (PR #530): the guard was `vhid > 0`, so a positive vhid is
/// EPROTONOSUPPORT, but a negative one reaches the NULL carp_attach_p: the kernel panics and
/// answers nothing afterwards.
#[test]
fn negative_vhid_without_carp_panics_a_pre_fix_kernel() {
    let k = kernel(Release::V13_0PreFix);
    assert_eq!(
        code(k.add_inet_alias(HOST, "em0", &vhid(7))),
        Errno::EPROTONOSUPPORT
    );
    let err = k.add_inet_alias(HOST, "lo0", &vhid(-1)).unwrap_err();
    assert!(matches!(err, KernelError::Panic(_)), "{err:?}");
    for result in [
        k.create_interface(HOST, "bridge").map(drop),
        k.list_interfaces(HOST).map(drop),
        k.add_inet_alias(HOST, "em0", &vhid(0)),
    ] {
        assert!(matches!(result, Err(KernelError::Panic(_))), "{result:?}");
    }
    let machine = k.snapshot();
    assert!(machine.dump().starts_with("*** kernel panic: SIOCAIFADDR"));
    assert!(machine.trace.back().unwrap().result == "PANIC");
}

/// With carp loaded, carp_attach finds no carp on the interface: ENOPROTOOPT, in both profiles
/// and for any non-zero vhid (the pre-fix guard passes, and carp_attach_p is there to call).
#[test]
fn vhid_with_carp_loaded_is_enoprotoopt() {
    for profile in [Release::V14_1, Release::V13_0PreFix] {
        let k = kernel(profile);
        with_carp(&k);
        for v in [1, -1] {
            assert_eq!(
                code(k.add_inet_alias(HOST, "em0", &vhid(v))),
                Errno::ENOPROTOOPT
            );
        }
        assert!(k.snapshot().panicked.is_none());
        sound(&k);
    }
}

/// SIOCAIFADDR_IN6 checks the vhid in in6.c's `in6_control` (`ifra_vhid > 0`, then carp or
/// EPROTONOSUPPORT): no panic in either profile, and a negative vhid is ignored.
#[test]
fn inet6_vhid_rules() {
    for profile in [Release::V14_1, Release::V13_0PreFix] {
        let k = kernel(profile);
        let alias = |vhid| Inet6Alias {
            vhid,
            ..Inet6Alias::new("fd00:9::1".parse().unwrap(), 64)
        };
        assert_eq!(
            code(k.add_inet6_alias(HOST, "em0", &alias(3))),
            Errno::EPROTONOSUPPORT
        );
        k.add_inet6_alias(HOST, "em0", &alias(-3)).unwrap();
        with_carp(&k);
        assert_eq!(
            code(k.add_inet6_alias(HOST, "em0", &alias(3))),
            Errno::ENOPROTOOPT
        );
        assert!(k.snapshot().panicked.is_none());
        sound(&k);
    }
}

/// The epair and bridge cloners come with if_epair and if_bridge; without the module the
/// name matches no cloner: EINVAL. lo's cloner is always there.
#[test]
fn cloners_need_their_modules() {
    let k = SimKernel::seeded(1);
    k.with_machine(|m| {
        m.host.modules.remove("if_epair");
        m.host.modules.remove("if_bridge");
    })
    .unwrap();
    for name in ["epair", "epair3", "bridge", "bridge3"] {
        assert_eq!(
            code(k.create_interface(HOST, name)),
            Errno::EINVAL,
            "{name}"
        );
    }
    assert_eq!(k.create_interface(HOST, "lo").unwrap(), "lo1");
    k.destroy_interface(HOST, "lo1").unwrap();
    k.with_machine(|m| m.host.modules.insert("if_bridge".into()))
        .unwrap();
    assert_eq!(k.create_interface(HOST, "bridge").unwrap(), "bridge0");
    assert_eq!(code(k.create_interface(HOST, "epair")), Errno::EINVAL);
    sound(&k);
}

/// The host boots with em0 (192.0.2.10/24, default route via 192.0.2.1) and lo0; em0 is no
/// clone.
#[test]
fn the_host_boots_with_em0_lo0_and_a_default_route() {
    let k = SimKernel::seeded(1);
    let list = k.list_interfaces(HOST).unwrap();
    assert_eq!(names(&k, HOST), ["em0", "lo0"]);
    let up_running = IfFlags::UP.with(IfFlags::DRV_RUNNING);
    assert_eq!(list[0].flags, IfFlags(0x8843));
    assert_eq!(list[0].inet, [(Ipv4Addr::new(192, 0, 2, 10), 24)]);
    assert!(list[1].flags.contains(up_running.with(IfFlags::LOOPBACK)));
    assert_eq!(list[1].mtu, 16384);
    assert_eq!(list[1].inet6, [(Ipv6Addr::LOCALHOST, 128)]);
    let default = k
        .list_routes(HOST)
        .unwrap()
        .into_iter()
        .find(|r| r.dest.prefix_len() == 0)
        .unwrap();
    assert_eq!(default.gateway, Gateway::Addr(IpAddr::from([192, 0, 2, 1])));
    assert_eq!(default.interface, "em0");
    assert_eq!(code(k.destroy_interface(HOST, "em0")), Errno::EINVAL);
    sound(&k);
}

/// Cloners are per vnet: a jail's epair cloner hands out unit 0 even while the host has
/// epair0; each vnet's lo0 is its own.
#[test]
fn units_are_allocated_per_vnet() {
    let k = SimKernel::seeded(1);
    let scratch = TempScratch::new();
    assert_eq!(k.create_interface(HOST, "epair").unwrap(), "epair0a");
    let jid = vnet_jail(&k, &scratch, "units");
    assert_eq!(
        k.create_interface(Vnet::Jail(jid), "epair").unwrap(),
        "epair0a"
    );
    assert_eq!(names(&k, Vnet::Jail(jid)), ["lo0", "epair0a", "epair0b"]);
    sound(&k);
    // The jail's epair0b moved out keeps its unit in the jail's cloner.
    k.rename_interface(Vnet::Jail(jid), "epair0b", "inner")
        .unwrap();
    k.reclaim_from_jail(HOST, "inner", jid).unwrap();
    assert_eq!(
        k.create_interface(Vnet::Jail(jid), "epair").unwrap(),
        "epair1a"
    );
    sound(&k);
}

/// vnet_if_return and SIOCSIFRVNET do not check the name (if.c: "We don't do anything to
/// insure if_xname is unique"): an interface coming home beside one of the same name
/// coexists with it, and lookups by that name find the one that was there first.
#[test]
fn a_returning_interface_may_share_its_name() {
    let k = SimKernel::seeded(1);
    let scratch = TempScratch::new();
    let jid = vnet_jail(&k, &scratch, "dup");
    let inside = Vnet::Jail(jid);
    k.create_interface(HOST, "epair").unwrap();
    k.move_to_jail(HOST, "epair0b", jid).unwrap();
    k.rename_interface(inside, "epair0b", "em0").unwrap();
    k.jail_remove(jid).unwrap();
    assert_eq!(names(&k, HOST), ["em0", "lo0", "epair0a", "em0"]);
    let machine = sound(&k);
    assert_eq!(machine.dump().matches("em0: flags").count(), 2);
    // The name finds the physical em0, which cannot be destroyed; the pair goes by its a end.
    assert_eq!(code(k.destroy_interface(HOST, "em0")), Errno::EINVAL);
    assert!(k
        .interface_flags(HOST, "em0")
        .unwrap()
        .contains(IfFlags::UP));
    k.destroy_interface(HOST, "epair0a").unwrap();
    assert_eq!(names(&k, HOST), ["em0", "lo0"]);
    sound(&k);
}

/// Removing a vnet jail: borrowed interfaces come home (down, no addresses, out of the
/// jail's bridge); everything cloned inside is destroyed, epair peers included, wherever
/// they are; the vnet's routes go with it.
#[test]
fn vnet_teardown_returns_and_destroys() {
    let k = SimKernel::seeded(1);
    let scratch = TempScratch::new();
    let jid = vnet_jail(&k, &scratch, "teardown");
    let inside = Vnet::Jail(jid);
    // An epair made inside, one end taken out to the host.
    assert_eq!(k.create_interface(inside, "epair").unwrap(), "epair0a");
    k.rename_interface(inside, "epair0b", "inner").unwrap();
    k.reclaim_from_jail(HOST, "inner", jid).unwrap();
    // The host's epair0b lent to the jail, a member of a bridge made inside.
    k.create_interface(HOST, "epair").unwrap();
    k.move_to_jail(HOST, "epair0b", jid).unwrap();
    k.create_interface(inside, "bridge").unwrap();
    k.bridge_add_member(inside, "bridge0", "epair0b").unwrap();
    let alias = InetAlias::new(Ipv4Addr::new(10, 50, 0, 1), 24);
    k.add_inet_alias(inside, "bridge0", &alias).unwrap();
    k.add_route(inside, &Route::default_via(IpAddr::from([10, 50, 0, 254])))
        .unwrap();
    sound(&k);
    k.jail_remove(jid).unwrap();
    let machine = sound(&k);
    assert_eq!(names(&k, HOST), ["em0", "lo0", "epair0a", "epair0b"]);
    let back = &k.list_interfaces(HOST).unwrap()[3];
    assert!(!back.flags.contains(IfFlags::UP) && !back.flags.contains(IfFlags::PROMISC));
    assert!(!machine.dump().contains("(vnet jail"), "{}", machine.dump());
}

/// A bridge moved to another vnet lets its members go: they stay behind (UNCONFIRMED model of
/// if_bridge's reassign hook).
#[test]
fn a_moved_bridge_releases_its_members() {
    let k = SimKernel::seeded(1);
    let scratch = TempScratch::new();
    let jid = vnet_jail(&k, &scratch, "bridge");
    k.create_interface(HOST, "bridge").unwrap();
    k.create_interface(HOST, "epair").unwrap();
    k.bridge_add_member(HOST, "bridge0", "epair0a").unwrap();
    k.move_to_jail(HOST, "bridge0", jid).unwrap();
    let inside = k.list_interfaces(Vnet::Jail(jid)).unwrap();
    assert!(inside
        .iter()
        .any(|i| i.name == "bridge0" && i.members.is_empty()));
    // bridge0's unit stays allocated in the host's cloner: the next bridge is bridge1.
    let other = k.create_interface(HOST, "bridge").unwrap();
    assert_eq!(other, "bridge1");
    k.bridge_add_member(HOST, &other, "epair0a").unwrap();
    sound(&k);
}

/// A jail without a vnet sees only its own addresses (`prison_if`), in listings and routes.
#[test]
fn a_jail_without_vnet_sees_only_its_addresses() {
    let k = SimKernel::seeded(1);
    let scratch = TempScratch::new();
    let mine = Ipv4Addr::new(192, 0, 2, 10);
    let params = JailParams {
        name: Some("ip4".into()),
        path: Some(scratch.dir("ip4")),
        persist: Some(true),
        ip4: Some(IpMode::New),
        ip4_addrs: vec![mine],
        ip6: Some(IpMode::Disable),
        ..JailParams::default()
    };
    let jid = k.jail_set(&params, JailFlags::CREATE).unwrap();
    let list = k.list_interfaces(Vnet::Jail(jid)).unwrap();
    assert_eq!(list[0].inet, [(mine, 24)]);
    assert!(
        list[1].inet.is_empty() && list[1].inet6.is_empty(),
        "{list:?}"
    );
    let routes = k.list_routes(Vnet::Jail(jid)).unwrap();
    assert!(
        routes.iter().all(|r| r.dest.addr() == IpAddr::V4(mine)),
        "{routes:?}"
    );
}

/// The dump shows each vnet as ifconfig -a and netstat -rn would.
#[test]
fn the_dump_reads_like_ifconfig_and_netstat() {
    let k = SimKernel::seeded(1);
    let scratch = TempScratch::new();
    let jid = vnet_jail(&k, &scratch, "web");
    k.create_interface(HOST, "bridge").unwrap();
    k.add_inet_alias(HOST, "bridge0", &InetAlias::new([10, 7, 0, 1].into(), 24))
        .unwrap();
    k.create_interface(HOST, "epair").unwrap();
    k.bridge_add_member(HOST, "bridge0", "epair0a").unwrap();
    k.set_interface_flags(HOST, "epair0a", IfFlags::UP).unwrap();
    k.move_to_jail(HOST, "epair0b", jid).unwrap();
    let inside = Vnet::Jail(jid);
    k.add_inet_alias(inside, "epair0b", &InetAlias::new([10, 7, 0, 2].into(), 24))
        .unwrap();
    let v6 = Inet6Alias::new("fd00:7::2".parse().unwrap(), 64);
    k.add_inet6_alias(inside, "epair0b", &v6).unwrap();
    k.add_route(inside, &Route::default_via(IpAddr::from([10, 7, 0, 1])))
        .unwrap();
    let dump = sound(&k).dump();
    for line in [
        "# ifconfig -a (vnet host)\n",
        "bridge0: flags=8843<UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST> metric 0 mtu 1500\n",
        "\tinet 10.7.0.1 netmask 0xffffff00 broadcast 10.7.0.255\n",
        "\tmember: epair0a flags=143<LEARNING,DISCOVER,AUTOEDGE,AUTOPTP>\n",
        "\tgroups: bridge\n",
        "epair0a: flags=8943<UP,BROADCAST,RUNNING,PROMISC,SIMPLEX,MULTICAST> metric 0 mtu 1500\n",
        "\tgroups: epair\n",
        "# netstat -rn (vnet host)\n",
        &format!("# ifconfig -a (vnet jail {jid} \"web\")\n"),
        "lo0: flags=8008<LOOPBACK,MULTICAST> metric 0 mtu 16384\n",
        "\tinet6 fd00:7::2 prefixlen 64\n",
        &format!("# netstat -rn (vnet jail {jid} \"web\")\n"),
    ] {
        assert!(dump.contains(line), "missing {line:?} in\n{dump}");
    }
    let jail_part = dump.split(&format!("(vnet jail {jid}")).nth(2).unwrap();
    let default = jail_part
        .lines()
        .find(|l| l.starts_with("default"))
        .unwrap();
    assert!(
        default.contains("10.7.0.1") && default.contains("UGS") && default.ends_with("epair0b")
    );
    assert!(jail_part.contains("fd00:7::/64"));
}

/// Address details the dump shows (`in_aifaddr_ioctl`, `in6_validate_ifra` [14]): the default
/// broadcast is subnet | ~mask, a /31 has 255.255.255.255 (RFC 3021), an explicit one is kept;
/// a /32 gets a host prefix route and no loopback route; an IPv6 vltime of 0 is accepted.
#[test]
fn address_details() {
    let k = SimKernel::seeded(1);
    k.create_interface(HOST, "epair").unwrap();
    let add = |addr: [u8; 4], len, dest: Option<[u8; 4]>| {
        let alias = InetAlias {
            dest: dest.map(Ipv4Addr::from),
            ..InetAlias::new(addr.into(), len)
        };
        k.add_inet_alias(HOST, "epair0a", &alias).unwrap();
    };
    add([10, 1, 0, 1], 31, None);
    add([10, 2, 0, 1], 24, Some([10, 2, 0, 127]));
    add([10, 3, 0, 1], 32, None);
    let expiring = Inet6Alias {
        vltime: 0,
        pltime: 0,
        ..Inet6Alias::new("fd00:3::1".parse().unwrap(), 64)
    };
    k.add_inet6_alias(HOST, "epair0a", &expiring).unwrap();
    let dump = sound(&k).dump();
    for line in [
        "\tinet 10.1.0.1 netmask 0xfffffffe broadcast 255.255.255.255\n",
        "\tinet 10.2.0.1 netmask 0xffffff00 broadcast 10.2.0.127\n",
        "\tinet 10.3.0.1 netmask 0xffffffff broadcast 10.3.0.1\n",
        "\tinet6 fd00:3::1 prefixlen 64 pltime 0 vltime 0\n",
    ] {
        assert!(dump.contains(line), "missing {line:?} in\n{dump}");
    }
    let routes = k.list_routes(HOST).unwrap();
    let host_route: Vec<_> = routes
        .iter()
        .filter(|r| r.dest == "10.3.0.1/32".parse().unwrap())
        .collect();
    assert_eq!(host_route.len(), 1);
    assert_eq!(
        host_route[0].interface, "epair0a",
        "a /32 has no loopback route"
    );
}

/// The host's lo0 can be lent to a jail (once the jail's own lo0 has another name): the host's
/// loopback routes go with it and come back with it (`V_loif`).
#[test]
fn lending_lo0_takes_the_loopback_routes_along() {
    let k = SimKernel::seeded(1);
    let scratch = TempScratch::new();
    let jid = vnet_jail(&k, &scratch, "lo");
    let local = |k: &SimKernel| {
        k.list_routes(HOST)
            .unwrap()
            .into_iter()
            .filter(|r| r.interface == "lo0")
            .count()
    };
    assert_eq!(local(&k), 3, "127.0.0.1, ::1 and em0's 192.0.2.10");
    assert_eq!(code(k.move_to_jail(HOST, "lo0", jid)), Errno::EEXIST);
    k.rename_interface(Vnet::Jail(jid), "lo0", "lo9").unwrap();
    k.move_to_jail(HOST, "lo0", jid).unwrap();
    assert_eq!(local(&k), 0);
    sound(&k);
    k.reclaim_from_jail(HOST, "lo0", jid).unwrap();
    assert_eq!(
        local(&k),
        1,
        "em0's address again; lo0 came back without its own"
    );
    sound(&k);
}

/// Calls that fail leave the machine exactly as it was.
#[test]
fn failed_calls_change_nothing() {
    let k = SimKernel::seeded(1);
    k.create_interface(HOST, "bridge").unwrap();
    k.create_interface(HOST, "epair").unwrap();
    k.bridge_add_member(HOST, "bridge0", "epair0a").unwrap();
    k.add_inet_alias(HOST, "epair0b", &InetAlias::new([10, 8, 0, 1].into(), 24))
        .unwrap();
    let before = k.snapshot().dump();
    let gw = IpAddr::from([203, 0, 113, 1]);
    let failures: Vec<KResult<()>> = vec![
        k.create_interface(HOST, "epair0").map(drop),
        k.destroy_interface(HOST, "lo0"),
        k.rename_interface(HOST, "epair0a", "epair0b"),
        k.set_mtu(HOST, "epair0a", 9000),
        k.set_mtu(HOST, "bridge0", 100),
        k.add_inet_alias(HOST, "epair0b", &vhid(1)),
        k.delete_inet_alias(HOST, "epair0b", [10, 8, 0, 9].into()),
        k.add_inet6_alias(
            HOST,
            "epair0b",
            &Inet6Alias {
                prefixmask: None,
                ..Inet6Alias::new("fd00::1".parse().unwrap(), 64)
            },
        ),
        k.bridge_add_member(HOST, "bridge0", "lo0"),
        k.bridge_delete_member(HOST, "bridge0", "epair0b"),
        k.move_to_jail(HOST, "epair0b", Jid(77)),
        k.reclaim_from_jail(HOST, "epair0b", Jid(77)),
        k.add_route(HOST, &Route::default_via(gw)),
        k.delete_route(HOST, &Route::default_via(gw)),
    ];
    for (i, result) in failures.iter().enumerate() {
        assert!(result.is_err(), "call {i} succeeded");
    }
    assert_eq!(k.snapshot().dump(), before);
    sound(&k);
}

/// The invariant checker notices what a broken machine would show.
#[test]
fn the_checker_finds_broken_state() {
    let k = SimKernel::seeded(1);
    k.create_interface(HOST, "bridge").unwrap();
    k.create_interface(HOST, "epair").unwrap();
    k.bridge_add_member(HOST, "bridge0", "epair0a").unwrap();
    sound(&k);
    let problems = k
        .with_machine(|m| {
            let mut broken = m.clone();
            let ids = broken.net.iface_ids();
            // An orphan epair end, a member its bridge does not list, a duplicate name.
            let b_end = ids[4];
            broken.net.ifaces.get_mut(&ids[3]).unwrap().peer = None;
            broken.net.ifaces.get_mut(&ids[2]).unwrap().members.clear();
            broken.net.ifaces.get_mut(&b_end).unwrap().name = "em0".into();
            broken.check_invariants()
        })
        .unwrap();
    let all = problems.join("\n");
    for expected in ["without a peer", "does not list it", "indexes disagree"] {
        assert!(all.contains(expected), "{expected:?} not in\n{all}");
    }
}

/// A machine in a state file keeps working by name after being read back (the name indexes
/// are rebuilt on load).
#[test]
fn a_shared_machine_finds_interfaces_by_name_after_loading() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("machine.json");
    SimKernel::reset_shared(&path, &SimConfig::default()).unwrap();
    let first = SimKernel::shared(&path, SimConfig::default());
    first.create_interface(HOST, "epair").unwrap();
    first.rename_interface(HOST, "epair0b", "eth0").unwrap();
    let second = SimKernel::shared(&path, SimConfig::default());
    second.set_mtu(HOST, "eth0", 9000).unwrap();
    assert_eq!(second.create_interface(HOST, "epair").unwrap(), "epair1a");
    second.destroy_interface(HOST, "epair0a").unwrap();
    assert_eq!(names(&first, HOST), ["em0", "lo0", "epair1a", "epair1b"]);
    sound(&first);
}
