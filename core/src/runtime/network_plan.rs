//! The container's network: which one, published ports and extra hosts, from zelle's and
//! nerdctl's annotations, the `freebsd.jail` section and `linux.namespaces`.

use super::annotations;
use super::bundle::Sourced;
use super::error::{BundleError, Warnings};
use super::freebsd_spec::{FreeBsd, Sharing};
use crate::network::{PublishedPort, DEFAULT_NETWORK};
use std::net::IpAddr;

/// What network the container gets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NetworkMode {
    /// Its own vnet with only lo0.
    None,
    /// The host's stack: no vnet, ip4 and ip6 inherited.
    Host,
    /// Its own vnet, attached to the zelle network of this name.
    Bridge(String),
    /// The `freebsd.jail` network parameters (vnet, ip4, ip6, parent) alone; zelle attaches
    /// nothing.
    Jail,
}

/// An extra /etc/hosts line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExtraHost {
    pub name: String,
    pub address: IpAddr,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetworkPlan {
    pub mode: Sourced<NetworkMode>,
    pub published_ports: Vec<PublishedPort>,
    /// The field the ports came from, when there are any.
    pub published_ports_from: Option<String>,
    /// `annotations["nerdctl/extraHosts"]`.
    pub extra_hosts: Vec<ExtraHost>,
}

/// zelle's annotation, then nerdctl's, then the `freebsd.jail` network parameters, then
/// `linux.namespaces` without a network namespace (host), else zelle's default network.
pub(crate) fn network_plan(
    notes: &annotations::Read,
    freebsd: &FreeBsd,
    network_namespace: Option<bool>,
    w: &mut Warnings,
) -> Result<NetworkPlan, BundleError> {
    let jail = freebsd.jail.clone().unwrap_or_default();
    let jail_says =
        jail.vnet.is_some() || jail.ip4.is_some() || jail.ip6.is_some() || jail.parent.is_some();
    let mode = if let Some((mode, from)) = &notes.network {
        let clash = match mode {
            NetworkMode::Host => (jail.vnet == Some(Sharing::New)).then_some("vnet"),
            _ => [
                ("vnet", jail.vnet == Some(Sharing::Inherit)),
                ("ip4", jail.ip4.is_some()),
                ("ip6", jail.ip6.is_some()),
                ("parent", jail.parent.is_some()),
            ]
            .into_iter()
            .find_map(|(k, clash)| clash.then_some(k)),
        };
        if let Some(key) = clash {
            return Err(BundleError::invalid(
                format!("freebsd.jail.{key}"),
                format!("conflicts with {from}, which asks for network {mode:?}"),
            ));
        }
        Sourced::new(mode.clone(), from.clone())
    } else if jail_says {
        Sourced::new(NetworkMode::Jail, "freebsd.jail")
    } else if network_namespace == Some(false) {
        Sourced::new(NetworkMode::Host, "linux.namespaces")
    } else {
        Sourced::new(NetworkMode::Bridge(DEFAULT_NETWORK.into()), "default")
    };
    let (published_ports, published_ports_from) = match notes.ports.clone() {
        Some((ports, from)) if !ports.is_empty() => (ports, Some(from)),
        _ => (Vec::new(), None),
    };
    if let Some(from) = &published_ports_from {
        if !matches!(mode.value, NetworkMode::Bridge(_)) {
            w.add(from, format!("published ports need a bridged network, and the network is {:?} (from {}); not published", mode.value, mode.from));
        }
    }
    Ok(NetworkPlan {
        mode,
        published_ports,
        published_ports_from,
        extra_hosts: notes.extra_hosts.clone(),
    })
}
