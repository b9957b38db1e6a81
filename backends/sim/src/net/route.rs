//! Routing tables, one per vnet: the routes the kernel keeps for interface addresses
//! (`in.c`: `in_addprefix`, `in_scrubprefix`; `if.c`: `ifa_maintain_loopback_route`) and the
//! routing socket (`rtsock.c`: `route_output`; `route_ctl.c`: `rib_add_route`,
//! `rt_unlinkrte`) [13][14].

use super::{errno, IfId, NetState, RouteKind, RouteRec, Via};
use crate::fault::Op;
use crate::jail::VnetId;
use crate::machine::Machine;
use ipnet::IpNet;
use std::collections::BTreeMap;
use std::net::IpAddr;
use zelle_core::kernel::net::{Gateway, Route, RouteEntry};
use zelle_core::kernel::{Errno, IfFlags, KResult, Vnet};

/// The host route to one address.
pub(super) fn host_net(addr: IpAddr) -> IpNet {
    IpNet::from(addr)
}

impl RouteRec {
    /// A kernel route for address `addr` of interface `id`, leaving through `ifp`: its
    /// gateway is the interface's link address (`link#N` in netstat).
    fn kernel(kind: RouteKind, id: IfId, ifp: IfId, addr: IpAddr) -> Self {
        let (via, ifa) = (Via::Link(id), Some((id, addr)));
        RouteRec {
            via,
            ifp,
            ifa,
            kind,
        }
    }

    /// Whether the route goes through, or hangs off, interface `id`.
    pub(super) fn uses(&self, id: IfId) -> bool {
        self.ifp == id || self.via == Via::Link(id) || self.ifa.is_some_and(|(i, _)| i == id)
    }
}

impl NetState {
    /// Bring a vnet's kernel routes in line with its interfaces' addresses:
    /// - a prefix route per address of an UP interface (`in_addprefix`; on IFF_LOOPBACK a host
    ///   route to the address; none for an IPv6 /128). A prefix several interfaces share gets
    ///   one route, kept by its current owner and otherwise handed to the next in line
    ///   (`in_scrubprefix`). Down interfaces lose theirs (`in_ifnet_event` [14]; the IPv6
    ///   on-link prefix is assumed to follow the same rule, UNCONFIRMED);
    /// - a loopback host route per address through the vnet's lo0 (`ifa_add_loopback_route`;
    ///   IPv4 skips it on IFF_LOOPBACK, for /32 and for 0.0.0.0 [14]).
    ///
    /// Kernel routes are RTF_PINNED: one replaces a user route to the same destination.
    pub(super) fn refresh_routes(&mut self, vnet: VnetId) {
        let Some(table) = self.vnets.get(&vnet) else {
            return;
        };
        let old_owner: BTreeMap<IpNet, (IfId, IpAddr)> = table
            .routes
            .iter()
            .filter(|(_, r)| r.kind != RouteKind::User)
            .filter_map(|(dest, r)| Some((*dest, r.ifa?)))
            .collect();
        let lo = self.loif(vnet);
        let mut want: BTreeMap<IpNet, RouteRec> = BTreeMap::new();
        let mut offer = |dest: IpNet, rec: RouteRec| {
            let keep = want.contains_key(&dest) && old_owner.get(&dest) != rec.ifa.as_ref();
            if !keep {
                want.insert(dest, rec);
            }
        };
        for id in self.in_vnet(vnet) {
            let iface = &self.ifaces[&id];
            let loopback = iface.flags.contains(IfFlags::LOOPBACK);
            let network = |addr: IpAddr, len: u8| {
                IpNet::new(addr, len).map_or(host_net(addr), |net| net.trunc())
            };
            // Each address: its prefix route's destination, if any, and whether it gets a
            // loopback route.
            let inet = iface.inet.iter().map(|a| {
                let addr = IpAddr::V4(a.addr);
                let prefix = match loopback {
                    true => host_net(addr),
                    false => network(addr, a.prefix_len()),
                };
                let local = !loopback && a.prefix_len() != 32 && !a.addr.is_unspecified();
                (addr, Some(prefix), local)
            });
            let inet6 = iface.inet6.iter().map(|a| {
                let addr = IpAddr::V6(a.addr);
                let prefix = (a.prefix_len < 128).then(|| network(addr, a.prefix_len));
                (addr, prefix, true)
            });
            for (addr, prefix, local) in inet.chain(inet6) {
                if let Some(dest) = prefix.filter(|_| iface.up()) {
                    offer(dest, RouteRec::kernel(RouteKind::Prefix, id, id, addr));
                }
                if let Some(lo) = lo.filter(|_| local) {
                    let route = RouteRec::kernel(RouteKind::Loopback, id, lo, addr);
                    offer(host_net(addr), route);
                }
            }
        }
        let routes = &mut self.vnets.entry(vnet).or_default().routes;
        routes.retain(|dest, r| r.kind == RouteKind::User && !want.contains_key(dest));
        routes.extend(want);
    }

    /// The interface address a gateway is reached through (`rt_getifa_fib` →
    /// `ifa_ifwithroute`): one of the vnet's own addresses, else the longest connected prefix
    /// (a prefix route, which only UP interfaces have) that holds it. Gateways reachable only
    /// through other routes are not modelled (ifa_ifwithroute would accept one reached through
    /// a non-default route).
    fn ifa_for_gateway(&self, vnet: VnetId, gateway: IpAddr) -> Option<(IfId, IpAddr)> {
        let routes = &self.vnets.get(&vnet)?.routes;
        let kernel = routes.values().filter(|r| r.kind != RouteKind::User);
        if let Some(own) = kernel
            .clone()
            .filter_map(|r| r.ifa)
            .find(|&(_, addr)| addr == gateway)
        {
            return Some(own);
        }
        routes
            .iter()
            .filter(|(dest, r)| r.kind == RouteKind::Prefix && dest.contains(&gateway))
            .max_by_key(|(dest, _)| dest.prefix_len())
            .and_then(|(_, r)| r.ifa)
    }

    /// RTM_ADD of a checked request.
    pub(super) fn add_user_route(
        &mut self,
        vnet: VnetId,
        dest: IpNet,
        via: Via,
    ) -> Result<(), Errno> {
        let dest = dest.trunc();
        let (ifp, ifa) = match via {
            Via::Addr(gateway) => {
                let ifa = self
                    .ifa_for_gateway(vnet, gateway)
                    .ok_or(Errno::ENETUNREACH)?;
                (ifa.0, Some(ifa))
            }
            Via::Link(id) => (id, None),
        };
        let table = self.vnets.entry(vnet).or_default();
        // One route per destination: EEXIST, and a user route never replaces a pinned one.
        // UNCONFIRMED: with ROUTE_MPATH (GENERIC 13/14) a different gateway may add a
        // multipath entry instead.
        if table.routes.contains_key(&dest) {
            return Err(Errno::EEXIST);
        }
        let kind = RouteKind::User;
        table.routes.insert(
            dest,
            RouteRec {
                via,
                ifp,
                ifa,
                kind,
            },
        );
        Ok(())
    }

    /// `in_ifadown`: removing an address removes the user routes that went through it.
    pub(super) fn drop_routes_via(&mut self, vnet: VnetId, id: IfId, addr: IpAddr) {
        if let Some(table) = self.vnets.get_mut(&vnet) {
            table
                .routes
                .retain(|_, r| r.kind != RouteKind::User || r.ifa != Some((id, addr)));
        }
    }
}

impl Machine {
    /// RTM_ADD (`route_output` → `rib_add_route`) [13].
    pub(crate) fn rtm_add(&mut self, vnet: Vnet, route: &Route) -> KResult<()> {
        let op = Op::AddRoute;
        let caller = self.net_caller(vnet)?;
        // Anything but RTM_GET needs PRIV_NET_ROUTE.
        Self::require_net_priv(op, &caller)?;
        let via = match &route.gateway {
            // A gateway of another family than the destination: EINVAL.
            Gateway::Addr(gateway) if gateway.is_ipv4() != route.dest.addr().is_ipv4() => {
                return Err(errno(op, Errno::EINVAL));
            }
            Gateway::Addr(gateway) => Via::Addr(*gateway),
            // An AF_LINK gateway names an interface by index; a name the vnet does not have
            // reaches nothing (UNCONFIRMED: the real backend resolves the name first).
            Gateway::Interface(name) => match self.net.lookup(caller.vnet, name) {
                Some(id) => Via::Link(id),
                None => return Err(errno(op, Errno::ENETUNREACH)),
            },
        };
        self.net
            .add_user_route(caller.vnet, route.dest, via)
            .map_err(|e| errno(op, e))
    }

    /// RTM_DELETE (`rt_unlinkrte`) [13]: ESRCH for a missing prefix or a gateway that does
    /// not match; EADDRINUSE for a kernel (pinned) route.
    pub(crate) fn rtm_delete(&mut self, vnet: Vnet, route: &Route) -> KResult<()> {
        let op = Op::DeleteRoute;
        let caller = self.net_caller(vnet)?;
        Self::require_net_priv(op, &caller)?;
        let dest = route.dest.trunc();
        let table = self.net.vnets.get(&caller.vnet);
        let rec = table
            .and_then(|t| t.routes.get(&dest))
            .ok_or_else(|| errno(op, Errno::ESRCH))?;
        let matches = match (&route.gateway, &rec.via) {
            (Gateway::Addr(a), Via::Addr(b)) => a == b,
            (Gateway::Interface(name), Via::Link(id)) => self.net.iface(*id).name == *name,
            _ => false,
        };
        if !matches {
            return Err(errno(op, Errno::ESRCH));
        }
        if rec.kind != RouteKind::User {
            return Err(errno(op, Errno::EADDRINUSE));
        }
        if let Some(table) = self.net.vnets.get_mut(&caller.vnet) {
            table.routes.remove(&dest);
        }
        Ok(())
    }

    /// sysctl NET_RT_DUMP: the vnet's table. A jail without its own vnet only sees routes to
    /// addresses it may use (`sysctl_dumpentry` → `prison_if`).
    pub(crate) fn rt_dump(&mut self, vnet: Vnet) -> KResult<Vec<RouteEntry>> {
        let caller = self.net_caller(vnet)?;
        let Some(table) = self.net.vnets.get(&caller.vnet) else {
            return Ok(Vec::new());
        };
        let list = table
            .routes
            .iter()
            .filter(|(dest, _)| self.prison_sees(caller.prison, dest.addr()))
            .map(|(dest, r)| RouteEntry {
                dest: *dest,
                gateway: match r.via {
                    Via::Addr(a) => Gateway::Addr(a),
                    Via::Link(id) => Gateway::Interface(self.net.iface(id).name.clone()),
                },
                interface: self.net.iface(r.ifp).name.clone(),
                pinned: r.kind != RouteKind::User,
            })
            .collect();
        Ok(list)
    }
}
