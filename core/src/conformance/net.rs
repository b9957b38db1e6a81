//! Conformance rules: network interfaces, vnets, bridges, addresses and routes
//! (`sys/net/if.c`, `if_clone.c`, `if_epair.c`, `if_bridge.c`, `sys/netinet/in.c`,
//! `sys/netinet6/in6.c`, `sys/net/rtsock.c`, `route_ctl.c`; the simulator's `net` module names
//! the exact functions).
//!
//! Every rule works on interfaces of its own, with explicit units where it can (a different
//! range per rule), addresses from 10.2xx.0.0/16, fd00:2xx::/32 and the documentation
//! networks, and jails named `zelle-conformance-net-*`. It removes what it made before and
//! after, so that leftovers of an interrupted run on a real machine do not count.

use super::{expect_errno, Scratch};
use crate::kernel::net::{Gateway, Inet6Alias, InetAlias, Interface, Route, RouteEntry};
use crate::kernel::{Errno, IfFlags, JailFlags, JailParams, Jid, KResult, Kernel, Vnet, VnetMode};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

const HOST: Vnet = Vnet::Host;

fn ok<T>(result: KResult<T>, what: &str) -> T {
    result.unwrap_or_else(|e| panic!("{what}: {e}"))
}

fn create<K: Kernel>(k: &K, vnet: Vnet, name: &str) -> String {
    ok(k.create_interface(vnet, name), &format!("create {name}"))
}

/// Destroy whatever of `names` exists (in the host's vnet).
fn scrub<K: Kernel>(k: &K, names: &[&str]) {
    for name in names {
        let _ = k.destroy_interface(HOST, name);
    }
}

fn interfaces<K: Kernel>(k: &K, vnet: Vnet) -> Vec<Interface> {
    ok(
        k.list_interfaces(vnet),
        &format!("list interfaces of {vnet:?}"),
    )
}

fn find<K: Kernel>(k: &K, vnet: Vnet, name: &str) -> Option<Interface> {
    interfaces(k, vnet).into_iter().find(|i| i.name == name)
}

fn get<K: Kernel>(k: &K, vnet: Vnet, name: &str) -> Interface {
    find(k, vnet, name).unwrap_or_else(|| panic!("{name} is not in {vnet:?}"))
}

fn routes<K: Kernel>(k: &K, vnet: Vnet) -> Vec<RouteEntry> {
    ok(k.list_routes(vnet), &format!("routes of {vnet:?}"))
}

fn route_to<K: Kernel>(k: &K, vnet: Vnet, dest: &str) -> Option<RouteEntry> {
    let dest = dest.parse().expect("a literal network");
    routes(k, vnet).into_iter().find(|r| r.dest == dest)
}

fn v4(a: u8, b: u8, c: u8, d: u8) -> Ipv4Addr {
    Ipv4Addr::new(a, b, c, d)
}

fn v6(text: &str) -> Ipv6Addr {
    text.parse().expect("a literal IPv6 address")
}

fn route(dest: &str, gateway: IpAddr) -> Route {
    Route {
        dest: dest.parse().expect("a literal network"),
        gateway: Gateway::Addr(gateway),
    }
}

/// The unit at the end of a cloned interface's name.
fn unit(name: &str) -> u32 {
    let digits = name.trim_start_matches(|c: char| !c.is_ascii_digit());
    let digits = digits.trim_end_matches(|c: char| !c.is_ascii_digit());
    digits
        .parse()
        .unwrap_or_else(|_| panic!("{name} has no unit"))
}

/// A persistent jail for a rule, with a vnet of its own or not.
fn jail<K: Kernel>(k: &K, scratch: &dyn Scratch, name: &str, vnet: VnetMode) -> Jid {
    let name = format!("zelle-conformance-net-{name}");
    let params = JailParams {
        name: Some(name.clone()),
        path: Some(scratch.dir(&name)),
        persist: Some(true),
        vnet: Some(vnet),
        ..JailParams::default()
    };
    ok(
        k.jail_set(&params, JailFlags::CREATE),
        &format!("create jail {name}"),
    )
}

/// A jid no jail has: one that was just removed.
fn gone_jid<K: Kernel>(k: &K, scratch: &dyn Scratch) -> Jid {
    let jid = jail(k, scratch, "gone", VnetMode::Inherit);
    ok(k.jail_remove(jid), "remove jail");
    jid
}

/// SIOCIFCREATE2 with a bare cloner name takes the lowest free unit and writes the name back
/// (`ifc_alloc_unit_next`, `ifc_simple_create`).
pub fn clone_wildcard_takes_lowest_free_unit<K: Kernel>(k: &K, _: &dyn Scratch) {
    let first = create(k, HOST, "bridge");
    let second = create(k, HOST, "bridge");
    assert!(first.starts_with("bridge") && second.starts_with("bridge"));
    assert!(
        unit(second.as_str()) > unit(first.as_str()),
        "{first}, {second}"
    );
    assert!(find(k, HOST, &first).is_some() && find(k, HOST, &second).is_some());
    ok(k.destroy_interface(HOST, &first), "destroy");
    assert_eq!(
        create(k, HOST, "bridge"),
        first,
        "the freed unit is the lowest"
    );
    scrub(k, &[&first, &second]);
}

/// "epair" makes epair<N>a and epair<N>b and writes back the a end (`epair_clone_create`).
pub fn clone_epair_makes_both_ends<K: Kernel>(k: &K, _: &dyn Scratch) {
    let a = create(k, HOST, "epair");
    let b = format!("{}b", a.trim_end_matches('a'));
    assert!(a.starts_with("epair") && a.ends_with('a'), "{a}");
    for end in [&a, &b] {
        let iface = get(k, HOST, end);
        assert_eq!(iface.mtu, 1500);
        assert!(
            iface.flags.contains(IfFlags::DRV_RUNNING),
            "{end} runs from the start"
        );
    }
    scrub(k, &[&a]);
}

/// An explicit unit gives exactly that name; the same again is EEXIST (`if_clone_createif`,
/// `ifc_alloc_unit_specific`, `epair_handle_unit`).
pub fn clone_explicit_unit_and_eexist<K: Kernel>(k: &K, _: &dyn Scratch) {
    scrub(k, &["bridge213", "epair213a"]);
    assert_eq!(create(k, HOST, "bridge213"), "bridge213");
    expect_errno(
        k.create_interface(HOST, "bridge213"),
        Errno::EEXIST,
        "bridge213 again",
    );
    assert_eq!(create(k, HOST, "epair213"), "epair213a");
    assert!(find(k, HOST, "epair213b").is_some());
    expect_errno(
        k.create_interface(HOST, "epair213"),
        Errno::EEXIST,
        "epair213 again",
    );
    scrub(k, &["bridge213", "epair213a"]);
}

/// No cloner matches (unknown name, a non-digit suffix, an empty name), or the unit has a
/// leading zero or overflows an int: EINVAL. A unit above IF_MAXUNIT: ENOSPC (`if_clone_create`,
/// `ifc_name2unit`, `ifc_alloc_unit_specific`).
pub fn clone_bad_names<K: Kernel>(k: &K, _: &dyn Scratch) {
    for name in [
        "zelle_nocloner0",
        "epair5a",
        "bridgeX",
        "bridge05",
        "lo99999999999",
        "",
    ] {
        expect_errno(k.create_interface(HOST, name), Errno::EINVAL, name);
    }
    expect_errno(
        k.create_interface(HOST, "bridge40000"),
        Errno::ENOSPC,
        "bridge40000",
    );
}

/// A renamed clone keeps its unit (if_dunit), and a wildcard request moves past both allocated
/// units and units whose name is taken (`ifc_alloc_unit_next`).
pub fn clone_wildcard_skips_allocated_units_and_taken_names<K: Kernel>(k: &K, _: &dyn Scratch) {
    let first = create(k, HOST, "bridge");
    let n = unit(&first);
    let squatter = format!("bridge{}", n + 1);
    ok(k.rename_interface(HOST, &first, &squatter), "rename");
    let next = create(k, HOST, "bridge");
    assert_eq!(
        next,
        format!("bridge{}", n + 2),
        "unit {n} is allocated, bridge{} taken",
        n + 1
    );
    ok(
        k.destroy_interface(HOST, &squatter),
        "destroy the renamed clone",
    );
    assert_eq!(create(k, HOST, "bridge"), first, "its unit is free again");
    scrub(k, &[&first, &next]);
}

/// A wildcard epair request fails with EEXIST when the lowest free unit's a or b name is
/// already taken, instead of moving on (`epair_handle_unit`).
pub fn clone_epair_wildcard_eexist_when_an_end_name_is_taken<K: Kernel>(k: &K, _: &dyn Scratch) {
    let a = create(k, HOST, "epair");
    ok(k.destroy_interface(HOST, &a), "destroy");
    let b = format!("{}b", a.trim_end_matches('a'));
    scrub(k, &["bridge300"]);
    create(k, HOST, "bridge300");
    ok(
        k.rename_interface(HOST, "bridge300", &b),
        "rename bridge300",
    );
    expect_errno(k.create_interface(HOST, "epair"), Errno::EEXIST, "epair");
    scrub(k, &[&b]);
}

/// SIOCIFDESTROY: ENXIO for a missing name; EINVAL for lo0 (below the lo cloner's minifs) and
/// for a physical interface (no cloner has its if_dname) (`if_clone_destroy`).
pub fn destroy_missing_lo0_and_physical<K: Kernel>(k: &K, _: &dyn Scratch) {
    expect_errno(
        k.destroy_interface(HOST, "zelle_nothing0"),
        Errno::ENXIO,
        "missing",
    );
    expect_errno(k.destroy_interface(HOST, "lo0"), Errno::EINVAL, "lo0");
    let physical = interfaces(k, HOST).into_iter().find(|i| {
        !["lo", "epair", "bridge"]
            .iter()
            .any(|cloner| i.name.starts_with(cloner))
    });
    if let Some(physical) = physical {
        expect_errno(
            k.destroy_interface(HOST, &physical.name),
            Errno::EINVAL,
            &physical.name,
        );
    }
}

/// Destroying either end of an epair destroys both (`epair_clone_destroy`).
pub fn destroying_either_epair_end_destroys_both<K: Kernel>(k: &K, _: &dyn Scratch) {
    scrub(k, &["epair215a"]);
    create(k, HOST, "epair215");
    ok(k.destroy_interface(HOST, "epair215b"), "destroy the b end");
    assert!(find(k, HOST, "epair215a").is_none() && find(k, HOST, "epair215b").is_none());
}

/// A renamed clone keeps its unit: asking for that unit is EEXIST (`ifc_alloc_unit_specific`).
/// The cloner is found by if_dname, so the clone is destroyed under its new name, and its unit
/// is free again.
pub fn renamed_clone_is_destroyed_by_its_new_name<K: Kernel>(k: &K, _: &dyn Scratch) {
    scrub(k, &["bridge216", "zc-br216"]);
    create(k, HOST, "bridge216");
    ok(k.rename_interface(HOST, "bridge216", "zc-br216"), "rename");
    expect_errno(
        k.create_interface(HOST, "bridge216"),
        Errno::EEXIST,
        "its unit is still allocated",
    );
    ok(
        k.destroy_interface(HOST, "zc-br216"),
        "destroy by the new name",
    );
    assert_eq!(create(k, HOST, "bridge216"), "bridge216");
    scrub(k, &["bridge216"]);
}

/// SIOCSIFNAME: ENXIO for a missing interface; a new name of 16 bytes is ENAMETOOLONG, an
/// empty one EINVAL, the current one a no-op, a taken one EEXIST; the epair peer keeps its
/// name (`ifhwioctl`, `if_rename`).
pub fn rename_rules<K: Kernel>(k: &K, _: &dyn Scratch) {
    scrub(k, &["epair217a", "zc-e217"]);
    create(k, HOST, "epair217");
    expect_errno(
        k.rename_interface(HOST, "zelle_nothing0", "x"),
        Errno::ENXIO,
        "missing",
    );
    expect_errno(
        k.rename_interface(HOST, "epair217a", "name_of_16_bytes"),
        Errno::ENAMETOOLONG,
        "16 bytes",
    );
    expect_errno(
        k.rename_interface(HOST, "epair217a", ""),
        Errno::EINVAL,
        "empty",
    );
    ok(
        k.rename_interface(HOST, "epair217a", "epair217a"),
        "same name",
    );
    expect_errno(
        k.rename_interface(HOST, "epair217a", "epair217b"),
        Errno::EEXIST,
        "taken",
    );
    ok(k.rename_interface(HOST, "epair217a", "zc-e217"), "rename");
    assert!(find(k, HOST, "zc-e217").is_some() && find(k, HOST, "epair217a").is_none());
    assert!(
        find(k, HOST, "epair217b").is_some(),
        "the peer keeps its name"
    );
    scrub(k, &["zc-e217"]);
}

/// A name that cannot fit `ifr_name` (16 bytes or more) is ENAMETOOLONG whatever the request;
/// 15 bytes fit.
pub fn names_of_16_bytes_are_enametoolong<K: Kernel>(k: &K, _: &dyn Scratch) {
    let long = "name_of_16_bytes";
    let too_long = Errno::ENAMETOOLONG;
    expect_errno(k.create_interface(HOST, long), too_long, "create");
    expect_errno(k.destroy_interface(HOST, long), too_long, "destroy");
    expect_errno(k.interface_flags(HOST, long), too_long, "flags");
    expect_errno(
        k.set_interface_flags(HOST, long, IfFlags::UP),
        too_long,
        "set flags",
    );
    expect_errno(k.set_mtu(HOST, long, 1500), too_long, "mtu");
    let alias = InetAlias::new(v4(10, 212, 0, 1), 24);
    expect_errno(k.add_inet_alias(HOST, long, &alias), too_long, "alias");
    expect_errno(k.bridge_add_member(HOST, long, "lo0"), too_long, "bridge");
    expect_errno(
        k.destroy_interface(HOST, "name_of_15bytes"),
        Errno::ENXIO,
        "15 bytes",
    );
}

/// SIOCSIFFLAGS keeps the IFF_CANTCHANGE bits (BROADCAST, SIMPLEX, MULTICAST, RUNNING,
/// PROMISC …) whatever the request; a bridge runs while up, an epair always (`ifhwioctl`,
/// `bridge_ioctl`, `epair_ioctl`). SIOCGIFFLAGS of a missing interface: ENXIO.
pub fn flags_keep_the_bits_that_cannot_change<K: Kernel>(k: &K, _: &dyn Scratch) {
    scrub(k, &["bridge218", "epair218a"]);
    create(k, HOST, "bridge218");
    create(k, HOST, "epair218");
    let fixed = IfFlags::BROADCAST
        .with(IfFlags::SIMPLEX)
        .with(IfFlags::MULTICAST);
    let flags = ok(k.interface_flags(HOST, "bridge218"), "flags");
    assert!(
        flags.contains(fixed) && !flags.contains(IfFlags::UP),
        "{flags:?}"
    );
    ok(k.set_interface_flags(HOST, "bridge218", IfFlags::UP), "up");
    let flags = ok(k.interface_flags(HOST, "bridge218"), "flags");
    assert!(
        flags.contains(fixed.with(IfFlags::UP).with(IfFlags::DRV_RUNNING)),
        "{flags:?}"
    );
    ok(k.set_interface_flags(HOST, "bridge218", IfFlags(0)), "down");
    let flags = ok(k.interface_flags(HOST, "bridge218"), "flags");
    assert!(flags.contains(fixed), "{flags:?}");
    assert!(!flags.contains(IfFlags::UP) && !flags.contains(IfFlags::DRV_RUNNING));
    let promisc = IfFlags::UP.with(IfFlags::PROMISC);
    ok(
        k.set_interface_flags(HOST, "bridge218", promisc),
        "up and promisc",
    );
    let flags = ok(k.interface_flags(HOST, "bridge218"), "flags");
    assert!(
        !flags.contains(IfFlags::PROMISC),
        "PROMISC cannot be set: {flags:?}"
    );
    ok(
        k.set_interface_flags(HOST, "epair218a", IfFlags(0)),
        "epair down",
    );
    let flags = ok(k.interface_flags(HOST, "epair218a"), "flags");
    assert!(
        flags.contains(IfFlags::DRV_RUNNING),
        "an epair keeps running: {flags:?}"
    );
    expect_errno(
        k.interface_flags(HOST, "zelle_nothing0"),
        Errno::ENXIO,
        "missing",
    );
    scrub(k, &["bridge218", "epair218a"]);
}

/// SIOCSIFMTU: below 72 or above 65535 is EINVAL; an epair takes anything in between
/// (`ifhwioctl`, `epair_ioctl`).
pub fn mtu_limits<K: Kernel>(k: &K, _: &dyn Scratch) {
    scrub(k, &["epair219a"]);
    create(k, HOST, "epair219");
    for mtu in [0, 71, 65536, u32::MAX] {
        expect_errno(
            k.set_mtu(HOST, "epair219a", mtu),
            Errno::EINVAL,
            &mtu.to_string(),
        );
    }
    for mtu in [72, 65535, 9000] {
        ok(k.set_mtu(HOST, "epair219a", mtu), &mtu.to_string());
        assert_eq!(get(k, HOST, "epair219a").mtu, mtu);
    }
    expect_errno(
        k.set_mtu(HOST, "zelle_nothing0", 1500),
        Errno::ENXIO,
        "missing",
    );
    scrub(k, &["epair219a"]);
}

/// A bridge's MTU: at least 576; free while it has no members; the first member sets it; a
/// later member or a new MTU that differs is EINVAL; a member's own MTU cannot change
/// (EOPNOTSUPP) (`bridge_ioctl`, `bridge_ioctl_add`, `ifhwioctl`).
pub fn bridge_mtu_follows_its_members<K: Kernel>(k: &K, _: &dyn Scratch) {
    scrub(k, &["bridge220", "epair220a", "epair221a"]);
    create(k, HOST, "bridge220");
    create(k, HOST, "epair220");
    create(k, HOST, "epair221");
    expect_errno(k.set_mtu(HOST, "bridge220", 575), Errno::EINVAL, "575");
    ok(k.set_mtu(HOST, "bridge220", 9000), "9000 without members");
    ok(
        k.bridge_add_member(HOST, "bridge220", "epair220a"),
        "first member",
    );
    assert_eq!(
        get(k, HOST, "bridge220").mtu,
        1500,
        "the first member sets the MTU"
    );
    expect_errno(
        k.set_mtu(HOST, "epair220a", 9000),
        Errno::EOPNOTSUPP,
        "member MTU",
    );
    expect_errno(
        k.set_mtu(HOST, "bridge220", 9000),
        Errno::EINVAL,
        "differs from members",
    );
    ok(k.set_mtu(HOST, "bridge220", 1500), "the members' MTU");
    ok(k.set_mtu(HOST, "epair221a", 9000), "epair221a 9000");
    expect_errno(
        k.bridge_add_member(HOST, "bridge220", "epair221a"),
        Errno::EINVAL,
        "member with another MTU",
    );
    scrub(k, &["bridge220", "epair220a", "epair221a"]);
}

/// BRDGADD: ENOENT for a missing member, EEXIST when already in this bridge, EBUSY when in
/// another, EINVAL for a member that is not Ethernet-like (lo0, a bridge) and for a request on
/// an interface that is no bridge; ENXIO for a missing bridge. BRDGDEL of a non-member:
/// ENOENT (`bridge_ioctl_add`, `bridge_ioctl_del`).
pub fn bridge_member_errors<K: Kernel>(k: &K, _: &dyn Scratch) {
    scrub(k, &["bridge222", "bridge223", "epair222a"]);
    create(k, HOST, "bridge222");
    create(k, HOST, "bridge223");
    create(k, HOST, "epair222");
    let add = |bridge: &str, member: &str| k.bridge_add_member(HOST, bridge, member);
    expect_errno(
        add("bridge222", "zelle_nothing0"),
        Errno::ENOENT,
        "missing member",
    );
    ok(add("bridge222", "epair222a"), "add");
    expect_errno(add("bridge222", "epair222a"), Errno::EEXIST, "twice");
    expect_errno(
        add("bridge223", "epair222a"),
        Errno::EBUSY,
        "in another bridge",
    );
    expect_errno(add("bridge222", "lo0"), Errno::EINVAL, "lo0");
    expect_errno(add("bridge222", "bridge223"), Errno::EINVAL, "a bridge");
    expect_errno(add("epair222b", "epair222a"), Errno::EINVAL, "not a bridge");
    expect_errno(
        add("zelle_nothing0", "epair222a"),
        Errno::ENXIO,
        "missing bridge",
    );
    let del = |bridge: &str, member: &str| k.bridge_delete_member(HOST, bridge, member);
    expect_errno(del("bridge222", "epair222b"), Errno::ENOENT, "not a member");
    ok(del("bridge222", "epair222a"), "delete");
    expect_errno(
        del("bridge222", "epair222a"),
        Errno::ENOENT,
        "deleted already",
    );
    scrub(k, &["bridge222", "bridge223", "epair222a"]);
}

/// Members are listed in the order they were added and are promiscuous; destroying a member
/// takes it out; destroying the bridge releases the rest.
pub fn bridge_members_in_order_and_released<K: Kernel>(k: &K, _: &dyn Scratch) {
    scrub(k, &["bridge224", "bridge226", "epair224a", "epair225a"]);
    create(k, HOST, "bridge224");
    create(k, HOST, "bridge226");
    create(k, HOST, "epair224");
    create(k, HOST, "epair225");
    ok(
        k.bridge_add_member(HOST, "bridge224", "epair225a"),
        "add 225",
    );
    ok(
        k.bridge_add_member(HOST, "bridge224", "epair224a"),
        "add 224",
    );
    assert_eq!(
        get(k, HOST, "bridge224").members,
        ["epair225a", "epair224a"]
    );
    assert!(get(k, HOST, "epair224a").flags.contains(IfFlags::PROMISC));
    ok(
        k.destroy_interface(HOST, "epair224b"),
        "destroy a member's peer",
    );
    assert_eq!(get(k, HOST, "bridge224").members, ["epair225a"]);
    ok(k.destroy_interface(HOST, "bridge224"), "destroy the bridge");
    ok(
        k.bridge_add_member(HOST, "bridge226", "epair225a"),
        "released",
    );
    scrub(k, &["bridge226", "epair225a"]);
}

/// SIOCAIFADDR brings an Ethernet interface up and installs the prefix route through it and a
/// loopback host route to the address, both pinned (`in_aifaddr_ioctl`, `in_addprefix`,
/// `ifa_add_loopback_route`).
pub fn inet_alias_installs_routes<K: Kernel>(k: &K, _: &dyn Scratch) {
    scrub(k, &["bridge227"]);
    create(k, HOST, "bridge227");
    let alias = InetAlias::new(v4(10, 227, 0, 1), 24);
    ok(k.add_inet_alias(HOST, "bridge227", &alias), "alias");
    let iface = get(k, HOST, "bridge227");
    assert_eq!(iface.inet, [(v4(10, 227, 0, 1), 24)]);
    assert!(iface.flags.contains(IfFlags::UP), "{:?}", iface.flags);
    let prefix = route_to(k, HOST, "10.227.0.0/24").expect("the prefix route");
    assert_eq!(prefix.interface, "bridge227");
    assert_eq!(prefix.gateway, Gateway::Interface("bridge227".into()));
    assert!(prefix.pinned);
    let local = route_to(k, HOST, "10.227.0.1/32").expect("the loopback route");
    assert_eq!(local.interface, "lo0");
    assert!(local.pinned);
    scrub(k, &["bridge227"]);
    assert!(
        route_to(k, HOST, "10.227.0.0/24").is_none(),
        "gone with the interface"
    );
}

/// The same address again is deleted and re-added (no EEXIST); the same prefix on another
/// interface is allowed and shares the one prefix route, which moves to the other interface
/// when its owner's address goes (`in_addprefix`, `in_scrubprefix`).
pub fn inet_alias_readd_and_shared_prefix<K: Kernel>(k: &K, _: &dyn Scratch) {
    scrub(k, &["bridge228", "epair228a"]);
    create(k, HOST, "bridge228");
    create(k, HOST, "epair228");
    let first = InetAlias::new(v4(10, 228, 0, 1), 24);
    ok(k.add_inet_alias(HOST, "bridge228", &first), "alias");
    ok(
        k.add_inet_alias(HOST, "bridge228", &first),
        "the same again",
    );
    assert_eq!(get(k, HOST, "bridge228").inet, [(v4(10, 228, 0, 1), 24)]);
    let second = InetAlias::new(v4(10, 228, 0, 2), 24);
    ok(
        k.add_inet_alias(HOST, "epair228a", &second),
        "same prefix elsewhere",
    );
    let prefix = route_to(k, HOST, "10.228.0.0/24").expect("the prefix route");
    assert_eq!(prefix.interface, "bridge228", "the first owner keeps it");
    ok(
        k.delete_inet_alias(HOST, "bridge228", v4(10, 228, 0, 1)),
        "delete",
    );
    let prefix = route_to(k, HOST, "10.228.0.0/24").expect("the prefix route");
    assert_eq!(prefix.interface, "epair228a", "handed over");
    scrub(k, &["bridge228", "epair228a"]);
}

/// Without a mask the kernel picks the classful one (`in_aifaddr_ioctl`).
pub fn inet_alias_without_mask_is_classful<K: Kernel>(k: &K, _: &dyn Scratch) {
    scrub(k, &["epair229a"]);
    create(k, HOST, "epair229");
    for (addr, len) in [
        (v4(10, 229, 0, 1), 8),
        (v4(172, 29, 0, 1), 16),
        (v4(192, 168, 229, 1), 24),
    ] {
        let alias = InetAlias {
            mask: None,
            ..InetAlias::new(addr, 0)
        };
        ok(
            k.add_inet_alias(HOST, "epair229a", &alias),
            &addr.to_string(),
        );
        assert!(
            get(k, HOST, "epair229a").inet.contains(&(addr, len)),
            "{addr}/{len}"
        );
        ok(k.delete_inet_alias(HOST, "epair229a", addr), "delete");
    }
    scrub(k, &["epair229a"]);
}

/// SIOCDIFADDR of an address the interface does not have: EADDRNOTAVAIL; of a missing
/// interface: ENXIO (`in_difaddr_ioctl`, `ifioctl`).
pub fn delete_missing_inet_alias<K: Kernel>(k: &K, _: &dyn Scratch) {
    let addr = v4(10, 210, 0, 1);
    expect_errno(
        k.delete_inet_alias(HOST, "lo0", addr),
        Errno::EADDRNOTAVAIL,
        "lo0",
    );
    expect_errno(
        k.delete_inet_alias(HOST, "zelle_nothing0", addr),
        Errno::ENXIO,
        "missing interface",
    );
}

/// SIOCAIFADDR_IN6: a new address needs a contiguous, non-empty prefix mask; a destination only
/// on point-to-point or loopback interfaces; pltime no more than vltime; an existing address
/// keeps its prefix length (all EINVAL). A prefix below /128 gets its on-link route. Deleting a
/// missing address: EADDRNOTAVAIL (`in6_validate_ifra`, `in6_control`).
pub fn inet6_alias_rules<K: Kernel>(k: &K, _: &dyn Scratch) {
    scrub(k, &["epair230a"]);
    create(k, HOST, "epair230");
    let addr = v6("fd00:230::1");
    let add = |alias: &Inet6Alias| k.add_inet6_alias(HOST, "epair230a", alias);
    let good = Inet6Alias::new(addr, 64);
    let no_mask = Inet6Alias {
        prefixmask: None,
        ..good.clone()
    };
    expect_errno(add(&no_mask), Errno::EINVAL, "no mask");
    let holes = Inet6Alias {
        prefixmask: Some(v6("ffff::ffff")),
        ..good.clone()
    };
    expect_errno(add(&holes), Errno::EINVAL, "non-contiguous mask");
    expect_errno(add(&Inet6Alias::new(addr, 0)), Errno::EINVAL, "empty mask");
    let lifetimes = Inet6Alias {
        vltime: 100,
        pltime: 200,
        ..good.clone()
    };
    expect_errno(add(&lifetimes), Errno::EINVAL, "pltime > vltime");
    let dst = Inet6Alias {
        dstaddr: Some(v6("fd00:230::2")),
        ..Inet6Alias::new(addr, 128)
    };
    expect_errno(add(&dst), Errno::EINVAL, "destination on an epair");
    ok(add(&good), "add");
    assert_eq!(get(k, HOST, "epair230a").inet6, [(addr, 64)]);
    let prefix = route_to(k, HOST, "fd00:230::/64").expect("the on-link prefix route");
    assert_eq!(prefix.interface, "epair230a");
    expect_errno(
        add(&Inet6Alias::new(addr, 48)),
        Errno::EINVAL,
        "new prefix length",
    );
    ok(add(&good), "the same again");
    ok(add(&no_mask), "an existing address without a mask");
    let other = v6("fd00:230::9");
    expect_errno(
        k.delete_inet6_alias(HOST, "epair230a", other),
        Errno::EADDRNOTAVAIL,
        "missing address",
    );
    ok(k.delete_inet6_alias(HOST, "epair230a", addr), "delete");
    assert!(get(k, HOST, "epair230a").inet6.is_empty());
    assert!(route_to(k, HOST, "fd00:230::/64").is_none());
    scrub(k, &["epair230a"]);
}

/// An interface going down loses its prefix routes and gets them back going up; the loopback
/// route to its address stays (`in_ifnet_event`).
pub fn prefix_routes_follow_the_interface_state<K: Kernel>(k: &K, _: &dyn Scratch) {
    scrub(k, &["bridge231"]);
    create(k, HOST, "bridge231");
    let alias = InetAlias::new(v4(10, 231, 0, 1), 24);
    ok(k.add_inet_alias(HOST, "bridge231", &alias), "alias");
    ok(k.set_interface_flags(HOST, "bridge231", IfFlags(0)), "down");
    assert!(
        route_to(k, HOST, "10.231.0.0/24").is_none(),
        "no prefix route while down"
    );
    assert!(
        route_to(k, HOST, "10.231.0.1/32").is_some(),
        "the loopback route stays"
    );
    ok(k.set_interface_flags(HOST, "bridge231", IfFlags::UP), "up");
    assert!(route_to(k, HOST, "10.231.0.0/24").is_some(), "back when up");
    scrub(k, &["bridge231"]);
}

/// SIOCAIFADDR with a carp vhid where carp(4) is not loaded: EPROTONOSUPPORT (with carp loaded
/// and no carp on the interface: ENOPROTOOPT); nothing is added. Only a positive vhid is tried
/// here: a negative one panics FreeBSD 13.0 (PR #530).
pub fn inet_alias_with_vhid_is_refused<K: Kernel>(k: &K, _: &dyn Scratch) {
    scrub(k, &["epair232a"]);
    create(k, HOST, "epair232");
    let carp = k.module_loaded("carp").unwrap_or(false);
    let expected = if carp {
        Errno::ENOPROTOOPT
    } else {
        Errno::EPROTONOSUPPORT
    };
    let alias = InetAlias {
        vhid: 1,
        ..InetAlias::new(v4(10, 232, 0, 1), 24)
    };
    expect_errno(
        k.add_inet_alias(HOST, "epair232a", &alias),
        expected,
        "vhid 1",
    );
    assert!(get(k, HOST, "epair232a").inet.is_empty());
    scrub(k, &["epair232a"]);
}

/// RTM_ADD: a gateway no connected prefix holds is ENETUNREACH, a gateway of the other family
/// EINVAL, a destination already routed EEXIST. RTM_DELETE: ESRCH for a missing destination or
/// a gateway that does not match, EADDRINUSE for a kernel (pinned) route (`rib_add_route`,
/// `rt_getifa_fib`, `rt_unlinkrte`).
pub fn route_socket_rules<K: Kernel>(k: &K, _: &dyn Scratch) {
    scrub(k, &["bridge233"]);
    create(k, HOST, "bridge233");
    let alias = InetAlias::new(v4(10, 233, 0, 1), 24);
    ok(k.add_inet_alias(HOST, "bridge233", &alias), "alias");
    let gw = IpAddr::V4(v4(10, 233, 0, 254));
    let net = route("198.51.100.0/24", gw);
    ok(k.add_route(HOST, &net), "add");
    let entry = route_to(k, HOST, "198.51.100.0/24").expect("the new route");
    assert_eq!(
        (entry.gateway, entry.interface.as_str()),
        (Gateway::Addr(gw), "bridge233")
    );
    assert!(!entry.pinned);
    expect_errno(k.add_route(HOST, &net), Errno::EEXIST, "again");
    let far = IpAddr::V4(v4(203, 0, 113, 77));
    expect_errno(
        k.add_route(HOST, &route("198.51.101.0/24", far)),
        Errno::ENETUNREACH,
        "unreachable gateway",
    );
    let v6_gw = IpAddr::V6(v6("fd00:233::1"));
    expect_errno(
        k.add_route(HOST, &route("198.51.101.0/24", v6_gw)),
        Errno::EINVAL,
        "gateway family",
    );
    expect_errno(
        k.delete_route(
            HOST,
            &route("198.51.100.0/24", IpAddr::V4(v4(10, 233, 0, 253))),
        ),
        Errno::ESRCH,
        "wrong gateway",
    );
    expect_errno(
        k.delete_route(HOST, &route("198.51.102.0/24", gw)),
        Errno::ESRCH,
        "missing destination",
    );
    ok(k.delete_route(HOST, &net), "delete");
    assert!(route_to(k, HOST, "198.51.100.0/24").is_none());
    let host_route = route("198.51.100.7/32", gw);
    ok(k.add_route(HOST, &host_route), "a host route");
    ok(k.delete_route(HOST, &host_route), "delete the host route");
    let connected = Route {
        dest: "10.233.0.0/24".parse().expect("a literal network"),
        gateway: Gateway::Interface("bridge233".into()),
    };
    expect_errno(
        k.delete_route(HOST, &connected),
        Errno::EADDRINUSE,
        "pinned",
    );
    expect_errno(
        k.add_route(HOST, &route("10.233.0.0/24", gw)),
        Errno::EEXIST,
        "over a pinned route",
    );
    scrub(k, &["bridge233"]);
}

/// Deleting an address deletes the routes whose gateway was reached through it
/// (`in_difaddr_ioctl` → `in_ifadown`).
pub fn deleting_an_address_removes_routes_through_it<K: Kernel>(k: &K, _: &dyn Scratch) {
    scrub(k, &["bridge234"]);
    create(k, HOST, "bridge234");
    let alias = InetAlias::new(v4(10, 234, 0, 1), 24);
    ok(k.add_inet_alias(HOST, "bridge234", &alias), "alias");
    let via = route("198.51.100.0/25", IpAddr::V4(v4(10, 234, 0, 254)));
    ok(k.add_route(HOST, &via), "add");
    ok(
        k.delete_inet_alias(HOST, "bridge234", v4(10, 234, 0, 1)),
        "delete the address",
    );
    assert!(route_to(k, HOST, "198.51.100.0/25").is_none());
    scrub(k, &["bridge234"]);
}

/// A new VNET jail's stack has lo0 only, down and without addresses, and no routes
/// (`vnet_loif_init`).
pub fn vnet_jail_starts_with_lo0_down<K: Kernel>(k: &K, scratch: &dyn Scratch) {
    let jid = jail(k, scratch, "fresh", VnetMode::New);
    let inside = interfaces(k, Vnet::Jail(jid));
    assert_eq!(inside.len(), 1, "{inside:?}");
    assert_eq!(inside[0].name, "lo0");
    assert!(inside[0].flags.contains(IfFlags::LOOPBACK));
    assert!(!inside[0].flags.contains(IfFlags::UP));
    assert!(inside[0].inet.is_empty() && inside[0].inet6.is_empty());
    assert!(routes(k, Vnet::Jail(jid)).is_empty());
    let _ = k.jail_remove(jid);
}

/// SIOCSIFVNET moves an interface into a VNET jail: down, addresses and routes purged, gone
/// from the host; inside it can be renamed and configured without the host seeing it;
/// SIOCSIFRVNET takes it back under its new name (`if_vmove_loan`, `if_vmove`,
/// `if_vmove_reclaim`).
pub fn move_to_vnet_jail_and_back<K: Kernel>(k: &K, scratch: &dyn Scratch) {
    scrub(k, &["epair235a", "zc-e235"]);
    let jid = jail(k, scratch, "move", VnetMode::New);
    let inside = Vnet::Jail(jid);
    create(k, HOST, "epair235");
    let alias = InetAlias::new(v4(10, 235, 0, 2), 24);
    ok(k.add_inet_alias(HOST, "epair235b", &alias), "alias");
    ok(k.move_to_jail(HOST, "epair235b", jid), "move");
    assert!(find(k, HOST, "epair235b").is_none());
    assert!(
        route_to(k, HOST, "10.235.0.0/24").is_none(),
        "its routes went"
    );
    let moved = get(k, inside, "epair235b");
    assert!(
        !moved.flags.contains(IfFlags::UP) && moved.inet.is_empty(),
        "{moved:?}"
    );
    ok(
        k.rename_interface(inside, "epair235b", "zc-e235"),
        "rename inside",
    );
    ok(k.add_inet_alias(inside, "zc-e235", &alias), "alias inside");
    assert!(route_to(k, inside, "10.235.0.0/24").is_some());
    assert!(
        route_to(k, HOST, "10.235.0.0/24").is_none(),
        "tables are per vnet"
    );
    assert!(find(k, HOST, "zc-e235").is_none());
    ok(k.reclaim_from_jail(HOST, "zc-e235", jid), "reclaim");
    let back = get(k, HOST, "zc-e235");
    assert!(
        !back.flags.contains(IfFlags::UP) && back.inet.is_empty(),
        "{back:?}"
    );
    assert!(find(k, inside, "zc-e235").is_none());
    assert!(route_to(k, inside, "10.235.0.0/24").is_none());
    scrub(k, &["epair235a"]);
    let _ = k.jail_remove(jid);
}

/// SIOCSIFVNET: ENXIO for a missing interface or jail (prison0 is not a child); EEXIST when the
/// jail has no vnet of its own (same vnet) or has an interface of that name. SIOCSIFRVNET:
/// ENXIO for a missing jail or name, EEXIST when the jail's vnet is the caller's.
pub fn move_errors<K: Kernel>(k: &K, scratch: &dyn Scratch) {
    scrub(k, &["epair236a"]);
    let gone = gone_jid(k, scratch);
    let vnet_jail = jail(k, scratch, "errors-vnet", VnetMode::New);
    let plain = jail(k, scratch, "errors-plain", VnetMode::Inherit);
    create(k, HOST, "epair236");
    let mv = |name: &str, jid: Jid| k.move_to_jail(HOST, name, jid);
    expect_errno(
        mv("zelle_nothing0", vnet_jail),
        Errno::ENXIO,
        "missing interface",
    );
    expect_errno(mv("epair236b", gone), Errno::ENXIO, "missing jail");
    expect_errno(mv("epair236b", Jid(0)), Errno::ENXIO, "prison0");
    expect_errno(mv("epair236b", plain), Errno::EEXIST, "jail without a vnet");
    expect_errno(mv("lo0", vnet_jail), Errno::EEXIST, "lo0 is taken inside");
    let rv = |name: &str, jid: Jid| k.reclaim_from_jail(HOST, name, jid);
    expect_errno(
        rv("epair236b", gone),
        Errno::ENXIO,
        "reclaim from a missing jail",
    );
    expect_errno(rv("epair236b", vnet_jail), Errno::ENXIO, "not in the jail");
    expect_errno(
        rv("epair236b", plain),
        Errno::EEXIST,
        "the caller's own vnet",
    );
    scrub(k, &["epair236a"]);
    let _ = k.jail_remove(vnet_jail);
    let _ = k.jail_remove(plain);
}

/// Removing a VNET jail returns the interfaces it borrowed to the host, down and without
/// addresses, under the name they had inside (`vnet_if_return`); the jail's stack is gone.
pub fn jail_removal_returns_borrowed_interfaces<K: Kernel>(k: &K, scratch: &dyn Scratch) {
    scrub(k, &["epair237a", "zc-e237"]);
    let jid = jail(k, scratch, "return", VnetMode::New);
    create(k, HOST, "epair237");
    ok(k.move_to_jail(HOST, "epair237b", jid), "move");
    let inside = Vnet::Jail(jid);
    ok(
        k.rename_interface(inside, "epair237b", "zc-e237"),
        "rename inside",
    );
    let alias = InetAlias::new(v4(10, 237, 0, 2), 24);
    ok(k.add_inet_alias(inside, "zc-e237", &alias), "alias inside");
    ok(k.jail_remove(jid), "remove the jail");
    let back = get(k, HOST, "zc-e237");
    assert!(
        !back.flags.contains(IfFlags::UP) && back.inet.is_empty(),
        "{back:?}"
    );
    expect_errno(k.list_interfaces(inside), Errno::EINVAL, "the jail is gone");
    ok(k.destroy_interface(HOST, "epair237a"), "destroy the pair");
    assert!(find(k, HOST, "zc-e237").is_none());
}

/// Interfaces cloned inside a VNET jail die with it, wherever they are (`if_clone_detach`):
/// here the b end of an epair made inside and taken out to the host.
pub fn jail_removal_destroys_interfaces_cloned_inside<K: Kernel>(k: &K, scratch: &dyn Scratch) {
    scrub(k, &["zc-e238b"]);
    let jid = jail(k, scratch, "cloned", VnetMode::New);
    let inside = Vnet::Jail(jid);
    let a = create(k, inside, "epair");
    let b = format!("{}b", a.trim_end_matches('a'));
    ok(k.rename_interface(inside, &b, "zc-e238b"), "rename inside");
    ok(k.reclaim_from_jail(HOST, "zc-e238b", jid), "reclaim");
    assert!(find(k, HOST, "zc-e238b").is_some());
    ok(k.jail_remove(jid), "remove the jail");
    assert!(
        find(k, HOST, "zc-e238b").is_none(),
        "destroyed with its jail"
    );
}

/// Destroying an epair end in the host destroys its peer inside a jail.
pub fn destroying_an_epair_end_destroys_its_peer_in_a_jail<K: Kernel>(
    k: &K,
    scratch: &dyn Scratch,
) {
    scrub(k, &["epair239a"]);
    let jid = jail(k, scratch, "peer", VnetMode::New);
    create(k, HOST, "epair239");
    ok(k.move_to_jail(HOST, "epair239b", jid), "move");
    ok(k.destroy_interface(HOST, "epair239a"), "destroy");
    assert!(find(k, Vnet::Jail(jid), "epair239b").is_none());
    let _ = k.jail_remove(jid);
}

/// A bridge member moved to another vnet leaves the bridge (`bridge_ifdetach`).
pub fn moving_a_bridge_member_away_releases_it<K: Kernel>(k: &K, scratch: &dyn Scratch) {
    scrub(k, &["bridge240", "epair240a"]);
    let jid = jail(k, scratch, "member", VnetMode::New);
    create(k, HOST, "bridge240");
    create(k, HOST, "epair240");
    ok(k.bridge_add_member(HOST, "bridge240", "epair240b"), "add");
    ok(k.move_to_jail(HOST, "epair240b", jid), "move");
    assert!(get(k, HOST, "bridge240").members.is_empty());
    let moved = get(k, Vnet::Jail(jid), "epair240b");
    assert!(!moved.flags.contains(IfFlags::PROMISC), "{moved:?}");
    scrub(k, &["bridge240", "epair240a"]);
    let _ = k.jail_remove(jid);
}

/// A jail without a vnet of its own sees its parent's interfaces but may change nothing:
/// EPERM (`prison_priv_check` grants PRIV_NET_* only with PR_VNET).
pub fn jail_without_vnet_may_not_change_the_network<K: Kernel>(k: &K, scratch: &dyn Scratch) {
    let jid = jail(k, scratch, "plain", VnetMode::Inherit);
    let plain = Vnet::Jail(jid);
    assert!(
        find(k, plain, "lo0").is_some(),
        "it sees the host's interfaces"
    );
    expect_errno(k.create_interface(plain, "bridge"), Errno::EPERM, "create");
    expect_errno(
        k.set_interface_flags(plain, "lo0", IfFlags::UP),
        Errno::EPERM,
        "flags",
    );
    let alias = InetAlias::new(v4(10, 241, 0, 1), 24);
    expect_errno(
        k.add_inet_alias(plain, "lo0", &alias),
        Errno::EPERM,
        "alias",
    );
    let gw = IpAddr::V4(v4(127, 0, 0, 1));
    expect_errno(
        k.add_route(plain, &route("198.51.100.0/24", gw)),
        Errno::EPERM,
        "route",
    );
    let _ = k.jail_remove(jid);
}

/// A request for a jail that does not exist fails as jail_attach(2) does: EINVAL.
pub fn requests_in_a_missing_jail_are_einval<K: Kernel>(k: &K, scratch: &dyn Scratch) {
    let gone = Vnet::Jail(gone_jid(k, scratch));
    expect_errno(k.list_interfaces(gone), Errno::EINVAL, "list");
    expect_errno(k.create_interface(gone, "bridge"), Errno::EINVAL, "create");
    expect_errno(k.list_routes(gone), Errno::EINVAL, "routes");
}

/// One `#[test]` per rule of this module (see `conformance_tests!`).
#[macro_export]
#[doc(hidden)]
macro_rules! net_conformance_tests {
    ($kernel:expr, $scratch:expr) => {
        mod net {
            #[allow(unused_imports)]
            use super::*;
            $crate::conformance_rules!(
                net,
                $kernel,
                $scratch,
                [
                    clone_wildcard_takes_lowest_free_unit,
                    clone_epair_makes_both_ends,
                    clone_explicit_unit_and_eexist,
                    clone_bad_names,
                    clone_wildcard_skips_allocated_units_and_taken_names,
                    clone_epair_wildcard_eexist_when_an_end_name_is_taken,
                    destroy_missing_lo0_and_physical,
                    destroying_either_epair_end_destroys_both,
                    renamed_clone_is_destroyed_by_its_new_name,
                    rename_rules,
                    names_of_16_bytes_are_enametoolong,
                    flags_keep_the_bits_that_cannot_change,
                    mtu_limits,
                    bridge_mtu_follows_its_members,
                    bridge_member_errors,
                    bridge_members_in_order_and_released,
                    inet_alias_installs_routes,
                    inet_alias_readd_and_shared_prefix,
                    inet_alias_without_mask_is_classful,
                    delete_missing_inet_alias,
                    inet6_alias_rules,
                    prefix_routes_follow_the_interface_state,
                    inet_alias_with_vhid_is_refused,
                    route_socket_rules,
                    deleting_an_address_removes_routes_through_it,
                    vnet_jail_starts_with_lo0_down,
                    move_to_vnet_jail_and_back,
                    move_errors,
                    jail_removal_returns_borrowed_interfaces,
                    jail_removal_destroys_interfaces_cloned_inside,
                    destroying_an_epair_end_destroys_its_peer_in_a_jail,
                    moving_a_bridge_member_away_releases_it,
                    jail_without_vnet_may_not_change_the_network,
                    requests_in_a_missing_jail_are_einval,
                ]
            );
        }
    };
}
