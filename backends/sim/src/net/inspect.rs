//! The network part of the machine's dump (`ifconfig -a` and `netstat -rn` per vnet) and
//! its invariants.

use super::{IfId, Iface, NetState, RouteKind, RouteRec, Via};
use crate::jail::VnetId;
use crate::machine::Machine;
use ipnet::IpNet;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;
use zelle_core::kernel::net::ND6_INFINITE_LIFETIME;

/// ifconfig's `IFFBITS` names.
const FLAG_NAMES: &[(u32, &str)] = &[
    (0x1, "UP"),
    (0x2, "BROADCAST"),
    (0x4, "DEBUG"),
    (0x8, "LOOPBACK"),
    (0x10, "POINTOPOINT"),
    (0x40, "RUNNING"),
    (0x80, "NOARP"),
    (0x100, "PROMISC"),
    (0x200, "ALLMULTI"),
    (0x400, "OACTIVE"),
    (0x800, "SIMPLEX"),
    (0x1000, "LINK0"),
    (0x2000, "LINK1"),
    (0x4000, "LINK2"),
    (0x8000, "MULTICAST"),
    (0x20000, "PPROMISC"),
    (0x40000, "MONITOR"),
    (0x80000, "STATICARP"),
    (0x100000, "STICKYARP"),
];

fn flag_names(flags: u32) -> String {
    let names: Vec<&str> = FLAG_NAMES
        .iter()
        .filter(|(bit, _)| flags & bit != 0)
        .map(|&(_, name)| name)
        .collect();
    names.join(",")
}

impl Machine {
    fn vnet_label(&self, vnet: VnetId) -> String {
        if vnet == VnetId::HOST {
            return "vnet host".into();
        }
        match self.jails.jails.get(&vnet.0) {
            Some(jail) => format!("vnet jail {} {:?}", vnet.0, jail.name),
            None => format!("vnet jail {} (no such jail)", vnet.0),
        }
    }

    pub(crate) fn dump_net(&self, out: &mut String) {
        for vnet in self.net.vnet_ids() {
            let label = self.vnet_label(vnet);
            let _ = writeln!(out, "# ifconfig -a ({label})");
            for id in self.net.in_vnet(vnet) {
                self.net.write_ifconfig(out, id);
            }
            out.push('\n');
            let _ = writeln!(out, "# netstat -rn ({label})");
            self.net.write_netstat(out, vnet);
            out.push('\n');
        }
    }

    pub(crate) fn check_net(&self, problems: &mut Vec<String>) {
        let net = &self.net;
        let mut report = |problem: String| problems.push(format!("net: {problem}"));

        // The indexes agree with the interfaces.
        let (by_name, by_seq) = net.indexes_from_ifaces();
        if by_name != net.by_name || by_seq != net.by_seq {
            report("the interface indexes disagree with the interfaces".into());
        }

        // Every vnet but the host's is a live or dying VNET jail's, and every VNET jail has one.
        for vnet in net.vnet_ids() {
            let owned =
                vnet == VnetId::HOST || self.jails.jails.get(&vnet.0).is_some_and(|jail| jail.vnet);
            if !owned {
                report(format!(
                    "{} has interfaces or routes but no jail",
                    self.vnet_label(vnet)
                ));
            }
            // A vnet shuts down only inside vnet_destroy, which the sim runs in one step.
            if net.vnets.get(&vnet).is_some_and(|v| v.shutting_down) {
                report(format!("{} is left shutting down", self.vnet_label(vnet)));
            }
        }
        for (jid, jail) in &self.jails.jails {
            if jail.vnet && !net.vnets.contains_key(&VnetId(*jid)) {
                report(format!("vnet jail {jid} has no network stack"));
            }
        }
        if !net.vnets.contains_key(&VnetId::HOST) {
            report("the host has no network stack".into());
        }

        for id in net.iface_ids() {
            let iface = &net.ifaces[&id];
            let name = &iface.name;
            if !net.vnets.contains_key(&iface.vnet) {
                report(format!(
                    "{name} is in {}, which is gone",
                    self.vnet_label(iface.vnet)
                ));
            }
            if !net.vnets.contains_key(&iface.home) {
                report(format!(
                    "{name}'s home {} is gone",
                    self.vnet_label(iface.home)
                ));
            }
            check_epair(net, id, iface, &mut report);
            check_bridge(net, id, iface, &mut report);
        }

        // Names are unique per vnet, except where an unchecked arrival (SIOCSIFRVNET,
        // vnet_if_return) joined one that was there first.
        for vnet in net.vnet_ids() {
            let mut seen = BTreeSet::new();
            for id in net.in_vnet(vnet) {
                let Some(iface) = net.ifaces.get(&id) else {
                    continue;
                };
                if !seen.insert(iface.name.as_str()) && !iface.unchecked_name {
                    let label = self.vnet_label(vnet);
                    report(format!("{} is not unique in {label}", iface.name));
                }
            }
        }

        // Cloner units: exactly the units of existing clones are allocated, in their home vnet.
        let mut expected: BTreeMap<(VnetId, &str), BTreeSet<u32>> = BTreeMap::new();
        for iface in net.ifaces.values().filter(|i| i.cloned) {
            expected
                .entry((iface.home, &iface.dname))
                .or_default()
                .insert(iface.dunit);
        }
        for vnet in net.vnet_ids() {
            let stack = &net.vnets[&vnet];
            for (cloner, units) in &stack.units {
                let have: BTreeSet<u32> = units.iter().collect();
                let want = expected
                    .remove(&(vnet, cloner.as_str()))
                    .unwrap_or_default();
                if have != want {
                    report(format!(
                        "{cloner} units {have:?} allocated in {} but clones have {want:?}",
                        self.vnet_label(vnet)
                    ));
                }
            }
        }
        for ((vnet, cloner), units) in expected {
            report(format!(
                "{cloner} units {units:?} of clones not allocated in {}",
                self.vnet_label(vnet)
            ));
        }

        // Routes name interfaces of their own vnet; kernel routes belong to a present address.
        for vnet in net.vnet_ids() {
            let stack = &net.vnets[&vnet];
            for (dest, route) in &stack.routes {
                if let Some(problem) = route_problem(net, vnet, route) {
                    report(format!(
                        "route {dest} in {}: {problem}",
                        self.vnet_label(vnet)
                    ));
                }
            }
        }
    }
}

fn check_epair(net: &NetState, id: IfId, iface: &Iface, report: &mut impl FnMut(String)) {
    let name = &iface.name;
    match iface.peer {
        None if iface.dname == "epair" => report(format!("{name} is an epair end without a peer")),
        None => {}
        Some(peer) => match net.ifaces.get(&peer) {
            None => report(format!("{name}'s epair peer is gone")),
            Some(other) if other.peer != Some(id) => report(format!(
                "{name} and {} do not point at each other",
                other.name
            )),
            Some(other) if (other.dunit, other.home) != (iface.dunit, iface.home) => report(
                format!("{name} and its peer {} differ in unit or home", other.name),
            ),
            Some(_) => {}
        },
    }
}

fn check_bridge(net: &NetState, id: IfId, iface: &Iface, report: &mut impl FnMut(String)) {
    let name = &iface.name;
    let mut seen = BTreeSet::new();
    for member in &iface.members {
        match net.ifaces.get(member) {
            None => report(format!("bridge {name} has a member that is gone")),
            Some(m) if m.member_of != Some(id) => report(format!(
                "{} is in bridge {name} but does not know it",
                m.name
            )),
            Some(m) if m.vnet != iface.vnet => {
                report(format!("{} is a member of {name} in another vnet", m.name))
            }
            Some(_) => {}
        }
        if !seen.insert(member) {
            report(format!("bridge {name} lists a member twice"));
        }
    }
    if let Some(bridge) = iface.member_of {
        let listed = net
            .ifaces
            .get(&bridge)
            .is_some_and(|b| b.members.contains(&id));
        if !listed {
            report(format!("{name} names a bridge that does not list it"));
        }
    }
}

fn route_problem(net: &NetState, vnet: VnetId, route: &RouteRec) -> Option<String> {
    let here = |id: &IfId| net.ifaces.get(id).is_some_and(|i| i.vnet == vnet);
    if !here(&route.ifp) {
        return Some("leaves through an interface not in this vnet".into());
    }
    if let Via::Link(id) = route.via {
        if !here(&id) {
            return Some("has a link gateway not in this vnet".into());
        }
    }
    if let Some((id, addr)) = route.ifa {
        let has = net.ifaces.get(&id).is_some_and(|i| {
            i.vnet == vnet
                && (i.inet.iter().any(|a| std::net::IpAddr::V4(a.addr) == addr)
                    || i.inet6.iter().any(|a| std::net::IpAddr::V6(a.addr) == addr))
        });
        if !has {
            return Some(format!("hangs off {addr}, which no interface here has"));
        }
    } else if route.kind != RouteKind::User {
        return Some("is a kernel route of no address".into());
    }
    None
}

impl NetState {
    /// A name for the dump, which must not panic even on a broken machine.
    fn name_of(&self, id: IfId) -> &str {
        self.ifaces.get(&id).map_or("?", |i| i.name.as_str())
    }

    fn write_ifconfig(&self, out: &mut String, id: IfId) {
        let Some(iface) = self.ifaces.get(&id) else {
            return;
        };
        let flags = iface.flags.0;
        let _ = writeln!(
            out,
            "{}: flags={flags:x}<{}> metric 0 mtu {}",
            iface.name,
            flag_names(flags),
            iface.mtu
        );
        for a in &iface.inet {
            let _ = write!(out, "\tinet {} netmask {:#010x}", a.addr, u32::from(a.mask));
            match a.broadcast {
                Some(b)
                    if iface
                        .flags
                        .contains(zelle_core::kernel::IfFlags::POINTOPOINT) =>
                {
                    let _ = write!(out, " --> {b}");
                }
                Some(b) => {
                    let _ = write!(out, " broadcast {b}");
                }
                None => {}
            }
            out.push('\n');
        }
        for a in &iface.inet6 {
            let _ = write!(out, "\tinet6 {} prefixlen {}", a.addr, a.prefix_len);
            if a.pltime != ND6_INFINITE_LIFETIME || a.vltime != ND6_INFINITE_LIFETIME {
                let _ = write!(out, " pltime {} vltime {}", a.pltime, a.vltime);
            }
            out.push('\n');
        }
        for member in &iface.members {
            let _ = writeln!(
                out,
                "\tmember: {} flags=143<LEARNING,DISCOVER,AUTOEDGE,AUTOPTP>",
                self.name_of(*member)
            );
        }
        if iface.cloned {
            let _ = writeln!(out, "\tgroups: {}", iface.dname);
        }
    }

    fn write_netstat(&self, out: &mut String, vnet: VnetId) {
        out.push_str("Routing tables\n");
        let Some(stack) = self.vnets.get(&vnet) else {
            return;
        };
        for (v6, title, width) in [(false, "Internet", 18), (true, "Internet6", 32)] {
            let routes: Vec<_> = stack
                .routes
                .iter()
                .filter(|(dest, _)| matches!(dest, IpNet::V6(_)) == v6)
                .collect();
            if routes.is_empty() {
                continue;
            }
            let _ = writeln!(out, "\n{title}:");
            let _ = writeln!(
                out,
                "{:<width$} {:<width$} {:<9} {:>8} Expire",
                "Destination", "Gateway", "Flags", "Netif"
            );
            for (dest, route) in routes {
                let destination = if dest.prefix_len() == 0 {
                    "default".to_string()
                } else if dest.prefix_len() == dest.max_prefix_len() {
                    dest.addr().to_string()
                } else {
                    dest.to_string()
                };
                let gateway = match route.via {
                    Via::Addr(a) => a.to_string(),
                    Via::Link(id) => format!("link#{id}"),
                };
                let mut flags = String::from("U");
                if matches!(route.via, Via::Addr(_)) {
                    flags.push('G');
                }
                if dest.prefix_len() == dest.max_prefix_len() {
                    flags.push('H');
                }
                if route.kind != RouteKind::Prefix {
                    flags.push('S');
                }
                let _ = writeln!(
                    out,
                    "{destination:<width$} {gateway:<width$} {flags:<9} {:>8}",
                    self.name_of(route.ifp)
                );
            }
        }
    }
}
