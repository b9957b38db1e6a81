//! Network definitions: what a network is, its defaults, validation, and parsing from the
//! JSON the shim reads.
//!
//! ```json
//! { "networks": [
//!     { "name": "web", "subnet": "10.78.0.0/24", "subnet6": "fd7e:7a1e:1::/64",
//!       "gateway": "10.78.0.1", "mtu": 1500, "nat": true, "egress": "em0",
//!       "dns": ["192.0.2.53"] }
//! ] }
//! ```
//! Only `name` and `subnet` are required. The default network ([`NetworkConfig::default_network`])
//! is always there unless the file defines a network of the same name.

use super::error::NetworkError;
use super::names::{bridge_name, BRIDGE_PREFIX, MAX_NETWORK_NAME};
use crate::kernel::IFNAMSIZ;
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The name of the network containers join when they ask for none.
pub const DEFAULT_NETWORK: &str = "zelle";

/// The default network's subnet: 10.77.0.0/16 (gateway 10.77.0.1, 65 533 containers).
///
/// Chosen to stay clear of the ranges other tools take by default: docker's 172.17.0.0/16
/// (and 172.18–31 for its user networks), podman's 10.88.0.0/16 (10.89.x for its extra
/// networks), Kubernetes' pod 10.244.0.0/16 and service 10.96.0.0/12 ranges, the CNI example
/// 10.22.0.0/16, Weave's 10.32.0.0/12, GCP's 10.128.0.0/9, and the 192.168.x and 10.0.x home
/// and cloud LANs.
pub const DEFAULT_SUBNET: Ipv4Net = match Ipv4Net::new(Ipv4Addr::new(10, 77, 0, 0), 16) {
    Ok(net) => net,
    Err(_) => panic!("the default subnet is valid"),
};

pub const DEFAULT_MTU: u32 = 1500;
/// if_bridge refuses an MTU below 576 (`if_bridge.c`, SIOCSIFMTU).
pub const MIN_MTU: u32 = 576;
/// `IF_MAXMTU` (`sys/net/if.c`).
pub const MAX_MTU: u32 = 65535;
/// A network needs room for a gateway and one container.
const MAX_PREFIX4: u8 = 30;
const MIN_PREFIX4: u8 = 8;

/// One bridged network.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkConfig {
    /// 1 to [`MAX_NETWORK_NAME`] bytes of ASCII letters, digits, `-` and `_`, starting with
    /// a letter or digit; the bridge is called `zb-<name>`.
    pub name: String,
    pub subnet: Ipv4Net,
    /// A container's IPv6 address has the same host part as its IPv4 address, so this
    /// subnet must have at least as many host bits as `subnet`.
    pub subnet6: Option<Ipv6Net>,
    /// The bridge's address and the containers' default route. The IPv6 gateway has the same
    /// host part in `subnet6`.
    pub gateway: Ipv4Addr,
    pub mtu: u32,
    /// Outbound NAT from `subnet` to the egress interface's address (IPv4 only; an IPv6
    /// subnet is routed, not translated).
    pub nat: bool,
    /// The interface NAT and published ports use; `None` takes the one holding the host's
    /// IPv4 default route when the network is created.
    pub egress: Option<String>,
    /// Name servers for the containers' resolv.conf; empty takes the host's.
    pub dns: Vec<IpAddr>,
}

impl NetworkConfig {
    /// A network with every optional field at its default (not yet validated).
    pub fn new(name: impl Into<String>, subnet: Ipv4Net) -> Self {
        NetworkConfig {
            name: name.into(),
            gateway: first_host(subnet),
            subnet,
            subnet6: None,
            mtu: DEFAULT_MTU,
            nat: true,
            egress: None,
            dns: Vec::new(),
        }
    }

    /// The network that exists without configuration: [`DEFAULT_NETWORK`] on
    /// [`DEFAULT_SUBNET`], NAT on, IPv4 only.
    pub fn default_network() -> Self {
        NetworkConfig::new(DEFAULT_NETWORK, DEFAULT_SUBNET)
    }

    pub fn bridge(&self) -> String {
        bridge_name(&self.name)
    }

    /// How many addresses `subnet` spans (network and broadcast included).
    pub(crate) fn span(&self) -> u32 {
        1u32.checked_shl(32 - u32::from(self.subnet.prefix_len()))
            .unwrap_or(u32::MAX)
    }

    pub(crate) fn gateway_offset(&self) -> u32 {
        u32::from(self.gateway).wrapping_sub(u32::from(self.subnet.network()))
    }

    /// The IPv4 address at host part `offset`.
    pub(crate) fn address(&self, offset: u32) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.subnet.network()).wrapping_add(offset))
    }

    /// The IPv6 address at host part `offset`, when the network has IPv6.
    pub(crate) fn address6(&self, offset: u32) -> Option<Ipv6Addr> {
        let net = self.subnet6?;
        Some(Ipv6Addr::from(
            u128::from(net.network()).wrapping_add(u128::from(offset)),
        ))
    }

    pub fn gateway6(&self) -> Option<Ipv6Addr> {
        self.address6(self.gateway_offset())
    }

    /// Check every field; the error names the first one at fault.
    pub fn validate(&self) -> Result<(), NetworkError> {
        let network = &self.name;
        let invalid =
            |field: &'static str, value: String, reason: &str| NetworkError::InvalidValue {
                network: network.clone(),
                field: field.to_string(),
                value,
                reason: reason.to_string(),
            };
        let bad_address =
            |field: &'static str, value: String, reason: &str| NetworkError::InvalidAddress {
                network: network.clone(),
                field,
                value,
                reason: reason.to_string(),
            };

        if network.len() > MAX_NETWORK_NAME {
            return Err(NetworkError::NameTooLong {
                network: network.clone(),
                len: network.len(),
                max: MAX_NETWORK_NAME,
                prefix: BRIDGE_PREFIX,
            });
        }
        let mut chars = network.chars();
        let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
        if !first_ok || !chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            return Err(invalid(
                "name",
                format!("{network:?}"),
                "must be ASCII letters, digits, '-' and '_', starting with a letter or digit",
            ));
        }

        let subnet = self.subnet;
        if subnet.trunc() != subnet {
            return Err(bad_address(
                "subnet",
                subnet.to_string(),
                &format!("has host bits set (the network is {})", subnet.trunc()),
            ));
        }
        if !(MIN_PREFIX4..=MAX_PREFIX4).contains(&subnet.prefix_len()) {
            return Err(bad_address(
                "subnet",
                subnet.to_string(),
                "the prefix length must be between /8 and /30",
            ));
        }
        let net = subnet.network();
        if net.octets()[0] == 0
            || net.is_loopback()
            || net.is_link_local()
            || net.octets()[0] >= 224
        {
            return Err(bad_address(
                "subnet",
                subnet.to_string(),
                "must be unicast (not 0/8, loopback, link-local, multicast or reserved)",
            ));
        }
        let gateway = self.gateway_offset();
        if !subnet.contains(&self.gateway) || gateway == 0 || gateway == self.span() - 1 {
            return Err(bad_address(
                "gateway",
                self.gateway.to_string(),
                &format!("must be a host address of the subnet {subnet}"),
            ));
        }

        if let Some(subnet6) = self.subnet6 {
            if subnet6.trunc() != subnet6 {
                return Err(bad_address(
                    "subnet6",
                    subnet6.to_string(),
                    &format!("has host bits set (the network is {})", subnet6.trunc()),
                ));
            }
            let host_bits4 = 32 - subnet.prefix_len();
            if subnet6.prefix_len() > 128 - host_bits4 || subnet6.prefix_len() < 16 {
                return Err(bad_address(
                    "subnet6",
                    subnet6.to_string(),
                    &format!(
                        "the prefix length must be between /16 and /{} so that every host \
                         part of the subnet {subnet} fits",
                        128 - host_bits4
                    ),
                ));
            }
            let first = subnet6.network().segments()[0];
            if first & 0xff00 == 0xff00 || first & 0xffc0 == 0xfe80 || first == 0 {
                return Err(bad_address(
                    "subnet6",
                    subnet6.to_string(),
                    "must be global or unique-local unicast (not multicast, link-local or ::/16)",
                ));
            }
        }

        if !(MIN_MTU..=MAX_MTU).contains(&self.mtu) {
            return Err(invalid(
                "mtu",
                self.mtu.to_string(),
                &format!("must be between {MIN_MTU} and {MAX_MTU}"),
            ));
        }
        if let Some(egress) = &self.egress {
            if egress.is_empty() || egress.len() >= IFNAMSIZ {
                return Err(invalid(
                    "egress",
                    format!("{egress:?}"),
                    "must be an interface name of 1 to 15 bytes",
                ));
            }
        }
        for server in &self.dns {
            if server.is_loopback() || server.is_unspecified() || server.is_multicast() {
                return Err(bad_address(
                    "dns",
                    server.to_string(),
                    "a name server must be reachable from the container's own network stack",
                ));
            }
        }
        Ok(())
    }

    /// The first field in which `other` differs (for "exists with a different
    /// configuration").
    pub(crate) fn first_difference(&self, other: &NetworkConfig) -> Option<&'static str> {
        [
            ("subnet", self.subnet == other.subnet),
            ("subnet6", self.subnet6 == other.subnet6),
            ("gateway", self.gateway == other.gateway),
            ("mtu", self.mtu == other.mtu),
            ("nat", self.nat == other.nat),
            ("egress", self.egress == other.egress),
            ("dns", self.dns == other.dns),
        ]
        .into_iter()
        .find(|(_, same)| !same)
        .map(|(field, _)| field)
    }

    /// The overlap between this network's subnets and `other`'s, as (field, ours, theirs).
    pub(crate) fn overlap(&self, other: &NetworkConfig) -> Option<(&'static str, IpNet, IpNet)> {
        if overlaps(self.subnet.into(), other.subnet.into()) {
            return Some(("subnet", self.subnet.into(), other.subnet.into()));
        }
        match (self.subnet6, other.subnet6) {
            (Some(a), Some(b)) if overlaps(a.into(), b.into()) => {
                Some(("subnet6", a.into(), b.into()))
            }
            _ => None,
        }
    }
}

/// Two prefixes overlap when one contains the other's network address.
pub(crate) fn overlaps(a: IpNet, b: IpNet) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

fn first_host(subnet: Ipv4Net) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(subnet.network()).wrapping_add(1))
}

/// The protocol of a published port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PortProtocol {
    Tcp,
    Udp,
}

impl fmt::Display for PortProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PortProtocol::Tcp => "tcp",
            PortProtocol::Udp => "udp",
        })
    }
}

/// A host port forwarded to a container's port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishedPort {
    pub proto: PortProtocol,
    pub host_port: u16,
    pub container_port: u16,
}

/// Parse a networks file: the default network (unless the file redefines it) and every
/// network the file defines, each validated, no two overlapping.
pub fn parse_networks(text: &str) -> Result<Vec<NetworkConfig>, NetworkError> {
    let root: Value =
        serde_json::from_str(text).map_err(|e| NetworkError::Syntax(e.to_string()))?;
    let Value::Object(mut root) = root else {
        return Err(NetworkError::Syntax(
            "expected an object with a \"networks\" array".into(),
        ));
    };
    let entries = match root.remove("networks") {
        None => Vec::new(),
        Some(Value::Array(entries)) => entries,
        Some(other) => {
            return Err(NetworkError::Syntax(format!(
                "networks: expected an array, found {other}"
            )))
        }
    };
    if let Some(key) = root.keys().next() {
        return Err(NetworkError::Syntax(format!(
            "{key:?} is not a known field (only \"networks\")"
        )));
    }

    let mut networks = Vec::new();
    for (index, entry) in entries.into_iter().enumerate() {
        let config = parse_network(index, entry)?;
        config.validate()?;
        if networks
            .iter()
            .any(|n: &NetworkConfig| n.name == config.name)
        {
            return Err(NetworkError::InvalidValue {
                network: config.name.clone(),
                field: "name".into(),
                value: format!("{:?}", config.name),
                reason: "is defined twice".into(),
            });
        }
        networks.push(config);
    }
    if !networks.iter().any(|n| n.name == DEFAULT_NETWORK) {
        networks.insert(0, NetworkConfig::default_network());
    }
    for (i, network) in networks.iter().enumerate() {
        for other in &networks[..i] {
            if let Some((field, subnet, other_subnet)) = network.overlap(other) {
                return Err(NetworkError::SubnetOverlap {
                    network: network.name.clone(),
                    field,
                    subnet,
                    other: format!("network {:?}", other.name),
                    other_subnet,
                });
            }
        }
    }
    Ok(networks)
}

/// One entry of the `networks` array. Every value is read by hand so that an error names its
/// field (serde's messages give a line and column instead).
fn parse_network(index: usize, entry: Value) -> Result<NetworkConfig, NetworkError> {
    let Value::Object(mut fields) = entry else {
        return Err(NetworkError::Syntax(format!(
            "networks[{index}]: expected an object"
        )));
    };
    let label = match fields.get("name") {
        Some(Value::String(name)) => name.clone(),
        _ => format!("networks[{index}]"),
    };
    let mut field = Fields {
        label: &label,
        fields: &mut fields,
    };

    let name = field.string("name")?.ok_or_else(|| field.missing("name"))?;
    let subnet_text = field
        .string("subnet")?
        .ok_or_else(|| field.missing("subnet"))?;
    let subnet: Ipv4Net = field.parse_address(
        "subnet",
        &subnet_text,
        "an IPv4 prefix such as 10.78.0.0/24",
    )?;
    let mut config = NetworkConfig::new(name, subnet);
    if let Some(text) = field.string("subnet6")? {
        config.subnet6 = Some(field.parse_address(
            "subnet6",
            &text,
            "an IPv6 prefix such as fd7e:7a1e:1::/64",
        )?);
    }
    if let Some(text) = field.string("gateway")? {
        config.gateway = field.parse_address("gateway", &text, "an IPv4 address")?;
    }
    if let Some(mtu) = field.take("mtu") {
        config.mtu = mtu
            .as_u64()
            .and_then(|m| u32::try_from(m).ok())
            .ok_or_else(|| field.invalid("mtu", &mtu, "must be a whole number"))?;
    }
    if let Some(nat) = field.take("nat") {
        config.nat = nat
            .as_bool()
            .ok_or_else(|| field.invalid("nat", &nat, "must be true or false"))?;
    }
    config.egress = field.string("egress")?;
    if let Some(dns) = field.take("dns") {
        let Value::Array(servers) = &dns else {
            return Err(field.invalid("dns", &dns, "must be an array of addresses"));
        };
        for server in servers {
            let text = server
                .as_str()
                .ok_or_else(|| field.invalid("dns", server, "must be an address string"))?;
            config
                .dns
                .push(field.parse_address("dns", text, "an IP address")?);
        }
    }
    if let Some(key) = field.fields.keys().next() {
        return Err(NetworkError::InvalidValue {
            network: label.clone(),
            field: key.clone(),
            value: field.fields[key].to_string(),
            reason: "is not a known field (name, subnet, subnet6, gateway, mtu, nat, egress, dns)"
                .into(),
        });
    }
    Ok(config)
}

struct Fields<'a> {
    label: &'a str,
    fields: &'a mut Map<String, Value>,
}

impl Fields<'_> {
    fn take(&mut self, name: &str) -> Option<Value> {
        self.fields.remove(name).filter(|v| !v.is_null())
    }

    fn string(&mut self, name: &'static str) -> Result<Option<String>, NetworkError> {
        match self.take(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(self.invalid(name, &other, "must be a string")),
        }
    }

    fn parse_address<T: std::str::FromStr>(
        &self,
        name: &'static str,
        text: &str,
        expected: &str,
    ) -> Result<T, NetworkError> {
        text.parse().map_err(|_| NetworkError::InvalidAddress {
            network: self.label.to_string(),
            field: name,
            value: text.to_string(),
            reason: format!("expected {expected}"),
        })
    }

    fn invalid(&self, name: &str, value: &Value, reason: &str) -> NetworkError {
        NetworkError::InvalidValue {
            network: self.label.to_string(),
            field: name.to_string(),
            value: value.to_string(),
            reason: reason.to_string(),
        }
    }

    fn missing(&self, name: &str) -> NetworkError {
        NetworkError::InvalidValue {
            network: self.label.to_string(),
            field: name.to_string(),
            value: "(missing)".into(),
            reason: "is required".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(text: &str) -> Ipv4Net {
        text.parse().unwrap()
    }

    #[test]
    fn the_default_network_is_valid_and_avoids_common_ranges() {
        let default = NetworkConfig::default_network();
        default.validate().unwrap();
        assert_eq!(default.gateway, Ipv4Addr::new(10, 77, 0, 1));
        assert_eq!(default.bridge(), "zb-zelle");
        for common in [
            "172.17.0.0/16",
            "10.88.0.0/16",
            "10.244.0.0/16",
            "10.96.0.0/12",
            "10.22.0.0/16",
        ] {
            assert!(
                !overlaps(DEFAULT_SUBNET.into(), net(common).into()),
                "{common}"
            );
        }
    }

    #[test]
    fn an_empty_file_gives_the_default_network() {
        assert_eq!(
            parse_networks("{}").unwrap(),
            vec![NetworkConfig::default_network()]
        );
    }

    #[test]
    fn a_full_entry_parses() {
        let text = r#"{"networks": [{"name": "web", "subnet": "10.78.0.0/24",
            "subnet6": "fd7e:7a1e:1::/64", "gateway": "10.78.0.254", "mtu": 9000,
            "nat": false, "egress": "em1", "dns": ["192.0.2.53", "2001:db8::53"]}]}"#;
        let networks = parse_networks(text).unwrap();
        assert_eq!(networks.len(), 2);
        let web = &networks[1];
        assert_eq!(web.name, "web");
        assert_eq!(web.gateway, Ipv4Addr::new(10, 78, 0, 254));
        assert_eq!(web.gateway6(), Some("fd7e:7a1e:1::fe".parse().unwrap()));
        assert_eq!(
            (web.mtu, web.nat, web.egress.as_deref()),
            (9000, false, Some("em1"))
        );
        assert_eq!(web.dns.len(), 2);
    }

    #[test]
    fn errors_name_the_field() {
        let cases = [
            (
                r#"{"networks": [{"name": "a", "subnet": "10.300.0.0/24"}]}"#,
                "subnet",
            ),
            (
                r#"{"networks": [{"name": "a", "subnet": "10.78.0.1/24"}]}"#,
                "subnet",
            ),
            (
                r#"{"networks": [{"name": "a", "subnet": "10.78.0.0/31"}]}"#,
                "subnet",
            ),
            (
                r#"{"networks": [{"name": "a", "subnet": "10.78.0.0/24", "gateway": "10.79.0.1"}]}"#,
                "gateway",
            ),
            (
                r#"{"networks": [{"name": "a", "subnet": "10.78.0.0/24", "gateway": "x"}]}"#,
                "gateway",
            ),
            (
                r#"{"networks": [{"name": "a", "subnet": "10.78.0.0/24", "subnet6": "fd00::/121"}]}"#,
                "subnet6",
            ),
            (
                r#"{"networks": [{"name": "a", "subnet": "10.78.0.0/24", "mtu": 100}]}"#,
                "mtu",
            ),
            (
                r#"{"networks": [{"name": "a", "subnet": "10.78.0.0/24", "mtu": "big"}]}"#,
                "mtu",
            ),
            (
                r#"{"networks": [{"name": "a", "subnet": "10.78.0.0/24", "nat": 1}]}"#,
                "nat",
            ),
            (
                r#"{"networks": [{"name": "a", "subnet": "10.78.0.0/24", "dns": ["127.0.0.1"]}]}"#,
                "dns",
            ),
            (
                r#"{"networks": [{"name": "a", "subnet": "10.78.0.0/24", "color": "red"}]}"#,
                "color",
            ),
            (
                r#"{"networks": [{"name": "a b", "subnet": "10.78.0.0/24"}]}"#,
                "name",
            ),
            (
                r#"{"networks": [{"name": "averylongname", "subnet": "10.78.0.0/24"}]}"#,
                "name",
            ),
            (r#"{"networks": [{"subnet": "10.78.0.0/24"}]}"#, "name"),
            (
                r#"{"networks": [{"name": "a", "subnet": "10.77.1.0/24"}]}"#,
                "subnet",
            ),
        ];
        for (text, field) in cases {
            let error = parse_networks(text).unwrap_err().to_string();
            assert!(error.contains(&format!("{field}:")), "{text}: {error}");
        }
    }

    #[test]
    fn overlapping_networks_in_one_file_are_refused() {
        let text = r#"{"networks": [{"name": "a", "subnet": "10.78.0.0/16"},
            {"name": "b", "subnet": "10.78.5.0/24"}]}"#;
        match parse_networks(text).unwrap_err() {
            NetworkError::SubnetOverlap {
                network,
                field,
                other,
                ..
            } => {
                assert_eq!(
                    (network.as_str(), field, other.as_str()),
                    ("b", "subnet", "network \"a\"")
                );
            }
            other => panic!("{other}"),
        }
    }

    #[test]
    fn a_name_of_twelve_bytes_fits_and_thirteen_does_not() {
        NetworkConfig::new("a".repeat(12), net("10.78.0.0/24"))
            .validate()
            .unwrap();
        let error = NetworkConfig::new("a".repeat(13), net("10.78.0.0/24"))
            .validate()
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
    }
}
