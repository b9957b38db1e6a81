//! The annotations zelle reads: its own (`org.zelle.*`, for what the runtime spec has no
//! field for) and nerdctl's (`nerdctl/*`, which nerdctl copies from its container labels
//! into the spec: pkg/cmd/container/create.go `propagateInternalContainerdLabelsToOCIAnnotations`
//! and pkg/labels/labels.go, containerd/nerdctl 8da5040). The module documentation of
//! [`crate::runtime`] lists them.

use super::error::{BundleError, Warnings};
use super::limits::{parse_rctl_annotation, RctlLimit};
use super::network_plan::{ExtraHost, NetworkMode};
use crate::network::{PortProtocol, PublishedPort, DEFAULT_NETWORK};
use serde_json::Value;
use std::collections::BTreeMap;
use std::net::IpAddr;

/// zelle's own annotations share this prefix; an unknown one is a warning.
pub const ZELLE_PREFIX: &str = "org.zelle.";
/// `none`, `host`, or the name of a zelle network.
pub const NETWORK: &str = "org.zelle.network";
/// Published ports: `8080:80,5353:53/udp` (host port, container port, tcp by default).
pub const PORTS: &str = "org.zelle.ports";
/// The devfs ruleset for the container's /dev, a number 0–65535.
pub const DEVFS_RULESET: &str = "org.zelle.devfs-ruleset";
/// Per-jail rctl limits: `memoryuse=512m,maxproc=100,pcpu=50,openfiles=1024,vmemoryuse=2g`.
pub const RCTL: &str = "org.zelle.rctl";
/// `true` for a Linux image (run under the Linux ABI), `false` for a FreeBSD one.
pub const LINUX: &str = "org.zelle.linux";

/// nerdctl's network list, JSON: `["none"]`, `["host"]`, `["bridge"]`; exactly one entry.
pub const NERDCTL_NETWORKS: &str = "nerdctl/networks";
/// nerdctl's `--hostname` (may be empty).
pub const NERDCTL_HOSTNAME: &str = "nerdctl/hostname";
/// nerdctl's `--add-host`, JSON list of `name:address` (or `null`).
pub const NERDCTL_EXTRA_HOSTS: &str = "nerdctl/extraHosts";
/// nerdctl's normalized platform, such as `linux/amd64` or `freebsd/amd64`.
pub const NERDCTL_PLATFORM: &str = "nerdctl/platform";
/// Older nerdctl's published ports, JSON `[{"HostPort":8080,"ContainerPort":80,"Protocol":"tcp","HostIP":""}]`
/// (deprecated by nerdctl PR 4290 for `<nerdctl/state-dir>/network-config.json`).
pub const NERDCTL_PORTS: &str = "nerdctl/ports";
/// Where nerdctl keeps the container's state, `network-config.json` among it.
pub const NERDCTL_STATE_DIR: &str = "nerdctl/state-dir";

/// How config.json names an annotation in errors and warnings.
pub fn field(key: &str) -> String {
    format!("annotations[{key:?}]")
}

/// What the annotations say, each value checked.
#[derive(Debug, Default)]
pub(crate) struct Read {
    pub network: Option<(NetworkMode, String)>,
    pub ports: Option<(Vec<PublishedPort>, String)>,
    pub devfs_ruleset: Option<u16>,
    pub rctl: Vec<RctlLimit>,
    pub linux: Option<(bool, String)>,
    pub hostname: Option<String>,
    pub extra_hosts: Vec<ExtraHost>,
    pub nerdctl_state_dir: Option<String>,
}

pub(crate) fn read(
    annotations: &BTreeMap<String, String>,
    warnings: &mut Warnings,
) -> Result<Read, BundleError> {
    let mut read = Read::default();
    for (key, value) in annotations {
        let f = field(key);
        match key.as_str() {
            NETWORK => read.network = Some((network_mode(value, &f)?, f)),
            PORTS => read.ports = Some((parse_ports(value, &f)?, f)),
            DEVFS_RULESET => {
                read.devfs_ruleset = Some(value.trim().parse().map_err(|_| {
                    BundleError::invalid(&f, format!("{value:?} is not a ruleset number 0–65535"))
                })?)
            }
            RCTL => read.rctl = parse_rctl_annotation(value, &f)?,
            LINUX => {
                let linux = match value.trim() {
                    "true" => true,
                    "false" => false,
                    _ => {
                        return Err(BundleError::invalid(
                            &f,
                            format!("{value:?} is not true or false"),
                        ))
                    }
                };
                read.linux = Some((linux, f));
            }
            k if k.starts_with(ZELLE_PREFIX) => {
                warnings.add(f, "not an annotation zelle knows; ignored")
            }
            _ => {}
        }
    }

    // nerdctl's, where zelle's own say nothing.
    if read.network.is_none() {
        if let Some(value) = annotations.get(NERDCTL_NETWORKS) {
            let f = field(NERDCTL_NETWORKS);
            let names: Vec<String> = serde_json::from_str(value)
                .map_err(|e| BundleError::invalid(&f, format!("not a JSON list of names: {e}")))?;
            let [name] = names.as_slice() else {
                return Err(BundleError::invalid(
                    &f,
                    format!("{} networks given; zelle takes exactly one", names.len()),
                ));
            };
            // nerdctl's default network is called "bridge" (pkg/netutil): zelle's default.
            let mode = if name == "bridge" {
                NetworkMode::Bridge(DEFAULT_NETWORK.into())
            } else {
                network_mode(name, &f)?
            };
            read.network = Some((mode, f));
        }
    }
    if let Some(value) = annotations.get(NERDCTL_PORTS) {
        let f = field(NERDCTL_PORTS);
        let ports = nerdctl_ports(value, &f)?;
        match &read.ports {
            Some((_, from)) if !ports.is_empty() => {
                warnings.add(&f, format!("overridden by {from}"))
            }
            Some(_) => {}
            None => read.ports = Some((ports, f)),
        }
    }
    if read.linux.is_none() {
        if let Some(platform) = annotations.get(NERDCTL_PLATFORM) {
            let os = platform.split('/').next().unwrap_or_default();
            read.linux = Some((os == "linux", field(NERDCTL_PLATFORM)));
        }
    }
    read.hostname = annotations
        .get(NERDCTL_HOSTNAME)
        .filter(|h| !h.is_empty())
        .cloned();
    if let Some(value) = annotations.get(NERDCTL_EXTRA_HOSTS) {
        read.extra_hosts = extra_hosts(value, &field(NERDCTL_EXTRA_HOSTS))?;
    }
    read.nerdctl_state_dir = annotations
        .get(NERDCTL_STATE_DIR)
        .filter(|d| !d.is_empty())
        .cloned();
    Ok(read)
}

fn network_mode(name: &str, field: &str) -> Result<NetworkMode, BundleError> {
    match name {
        "none" => Ok(NetworkMode::None),
        "host" => Ok(NetworkMode::Host),
        n if n.starts_with("container:") => Err(BundleError::invalid(
            field,
            format!("{n:?}: sharing another container's network is not supported"),
        )),
        "" => Err(BundleError::invalid(field, "empty network name")),
        n => Ok(NetworkMode::Bridge(n.to_string())),
    }
}

/// `host:container[/proto]`, comma-separated.
fn parse_ports(text: &str, field: &str) -> Result<Vec<PublishedPort>, BundleError> {
    let mut ports = Vec::new();
    for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let bad = |why: &str| BundleError::invalid(field, format!("{item:?}: {why}"));
        let (pair, proto) = match item.split_once('/') {
            Some((pair, proto)) => (
                pair,
                protocol(proto).ok_or_else(|| bad("the protocol is not tcp or udp"))?,
            ),
            None => (item, PortProtocol::Tcp),
        };
        let (host, container) = pair
            .split_once(':')
            .ok_or_else(|| bad("expected host-port:container-port"))?;
        let port = |p: &str| p.parse::<u16>().ok().filter(|&p| p != 0);
        ports.push(PublishedPort {
            proto,
            host_port: port(host).ok_or_else(|| bad("the host port is not 1–65535"))?,
            container_port: port(container)
                .ok_or_else(|| bad("the container port is not 1–65535"))?,
        });
    }
    Ok(ports)
}

fn protocol(text: &str) -> Option<PortProtocol> {
    match text.to_ascii_lowercase().as_str() {
        "tcp" => Some(PortProtocol::Tcp),
        "udp" => Some(PortProtocol::Udp),
        _ => None,
    }
}

/// Port mappings in go-cni's JSON: `[{"HostPort":8080,"ContainerPort":80,"Protocol":"tcp","HostIP":""}]`.
/// go-cni's `PortMapping` has no json tags, so the keys are its Go field names; Go's decoder
/// matches them case-insensitively, and so does this (FACTS-containerd-cni §1.3).
fn nerdctl_ports(text: &str, field: &str) -> Result<Vec<PublishedPort>, BundleError> {
    let value: Value = serde_json::from_str(text)
        .map_err(|e| BundleError::invalid(field, format!("not JSON: {e}")))?;
    let entries = match &value {
        Value::Null => return Ok(Vec::new()),
        Value::Array(entries) => entries,
        _ => {
            return Err(BundleError::invalid(
                field,
                "expected a JSON list of port mappings",
            ))
        }
    };
    let mut ports = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        let bad = |why: String| BundleError::invalid(field, format!("[{i}]: {why}"));
        let get = |name: &str| {
            entry
                .as_object()
                .and_then(|o| o.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)))
                .map(|(_, v)| v)
        };
        let port = |name: &str| {
            get(name)
                .and_then(Value::as_u64)
                .and_then(|p| u16::try_from(p).ok())
                .filter(|&p| p != 0)
                .ok_or_else(|| bad(format!("{name} is not a port 1–65535")))
        };
        let p = get("Protocol").and_then(Value::as_str).unwrap_or("tcp");
        let proto = protocol(p).ok_or_else(|| bad(format!("protocol {p:?} is not tcp or udp")))?;
        let host_ip = get("HostIP").and_then(Value::as_str).unwrap_or("");
        if !matches!(host_ip, "" | "0.0.0.0" | "::") {
            return Err(bad(format!(
                "HostIP {host_ip:?}: publishing on one host address is not supported yet (it would be published on all)"
            )));
        }
        ports.push(PublishedPort {
            proto,
            host_port: port("HostPort")?,
            container_port: port("ContainerPort")?,
        });
    }
    Ok(ports)
}

/// Published ports from the contents of nerdctl's `<nerdctl/state-dir>/network-config.json`
/// (`{"portMappings":[…]}`, pkg/portutil `StoreNetworkConfig`), which the caller reads.
pub fn nerdctl_network_config_ports(text: &str) -> Result<Vec<PublishedPort>, BundleError> {
    const FIELD: &str = "network-config.json";
    let value: Value = serde_json::from_str(text)
        .map_err(|e| BundleError::invalid(FIELD, format!("not JSON: {e}")))?;
    match value.get("portMappings") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(list) => nerdctl_ports(&list.to_string(), &format!("{FIELD}: portMappings")),
    }
}

/// `name:address` entries; nerdctl splits at the first colon (container_network_manager.go).
fn extra_hosts(text: &str, field: &str) -> Result<Vec<ExtraHost>, BundleError> {
    let entries: Option<Vec<String>> = serde_json::from_str(text)
        .map_err(|e| BundleError::invalid(field, format!("not a JSON list: {e}")))?;
    entries
        .unwrap_or_default()
        .iter()
        .enumerate()
        .map(|(i, entry)| {
            let bad =
                || BundleError::invalid(field, format!("[{i}]: {entry:?} is not name:address"));
            let (name, address) = entry.split_once(':').ok_or_else(bad)?;
            let address: IpAddr = address.parse().map_err(|_| bad())?;
            if name.is_empty() {
                return Err(bad());
            }
            Ok(ExtraHost {
                name: name.to_string(),
                address,
            })
        })
        .collect()
}
