//! The runtime-spec 1.3 `freebsd` section (config-freebsd.md, schema/config-freebsd.json and
//! specs-go `FreeBSD`, opencontainers/runtime-spec v1.3.0). oci-spec 0.10 has no such type
//! and drops the section, so zelle reads it itself from the same JSON.
//!
//! Every field is optional, as in the schema. Booleans are `Option<bool>` so that an explicit
//! `false` (say `allow.suser: false`) is kept, which Go's `omitempty` cannot express.

use super::error::{BundleError, Warnings};
use super::json::{join, typed};
use crate::kernel::{IpMode, VnetMode};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::net::{Ipv4Addr, Ipv6Addr};

/// `freebsd`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FreeBsd {
    /// Extra devices to expose in the container's devfs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub devices: Option<Vec<FreeBsdDevice>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jail: Option<FreeBsdJail>,
}

/// `freebsd.devices[i]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FreeBsdDevice {
    /// The device's path relative to /dev, such as `pf`.
    pub path: String,
    /// File mode bits (decimal in JSON: 448 is 0700); the schema allows 0..=511.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<u32>,
}

/// The schema's `SharingMode`: new state, the parent's, or none.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sharing {
    Disable,
    New,
    Inherit,
}

impl Sharing {
    /// The jailsys value (`sys/sys/jail.h`: JAIL_SYS_DISABLE 0, NEW 1, INHERIT 2).
    pub fn ip_mode(self) -> IpMode {
        match self {
            Sharing::Disable => IpMode::Disable,
            Sharing::New => IpMode::New,
            Sharing::Inherit => IpMode::Inherit,
        }
    }

    /// `vnet` takes only new or inherit (validated when read).
    pub fn vnet_mode(self) -> Option<VnetMode> {
        match self {
            Sharing::Disable => None,
            Sharing::New => Some(VnetMode::New),
            Sharing::Inherit => Some(VnetMode::Inherit),
        }
    }
}

/// `freebsd.jail`: values passed to jail_set(2) when the container is created.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FreeBsdJail {
    /// The parent jail's name (to share its vnet, say).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// `host`: new (hostname and domainname from the top-level fields) or inherit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<Sharing>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip4: Option<Sharing>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip4_addr: Option<Vec<Ipv4Addr>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip6: Option<Sharing>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip6_addr: Option<Vec<Ipv6Addr>>,
    /// new or inherit (the schema has no disable: test/config/bad/freebsd-vnet-disable.json).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vnet: Option<Sharing>,
    /// The interface that gets `ip4Addr`/`ip6Addr` as aliases while the container runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface: Option<String>,
    /// Host interfaces moved into the container's vnet for its lifetime.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vnet_interfaces: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sysvmsg: Option<Sharing>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sysvsem: Option<Sharing>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sysvshm: Option<Sharing>,
    /// 0, 1 or 2 (kern_jail.c refuses others); the kernel's default is 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enforce_statfs: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow: Option<FreeBsdJailAllow>,
}

/// `freebsd.jail.allow`: the `allow.*` jail parameters.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FreeBsdJailAllow {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set_hostname: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw_sockets: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chflags: Option<bool>,
    /// File system types the container may mount (`allow.mount.<fs>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mount: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quotas: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub socket_af: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mlock: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reserved_ports: Option<bool>,
    /// Enabled by default (config-freebsd.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suser: Option<bool>,
}

impl FreeBsdJailAllow {
    /// The `allow.*` parameters this section sets, as jail_set(2) names them
    /// (`allow.mount` and `allow.mount.<fs>` for each listed type).
    pub fn params(&self) -> Vec<(String, bool)> {
        let flags = [
            ("set_hostname", self.set_hostname),
            ("raw_sockets", self.raw_sockets),
            ("chflags", self.chflags),
            ("quotas", self.quotas),
            ("socket_af", self.socket_af),
            ("mlock", self.mlock),
            ("reserved_ports", self.reserved_ports),
            ("suser", self.suser),
        ];
        let mut params: Vec<(String, bool)> = flags
            .into_iter()
            .filter_map(|(name, value)| value.map(|v| (name.to_string(), v)))
            .collect();
        if let Some(types) = &self.mount {
            if !types.is_empty() {
                params.push(("mount".into(), true));
            }
            params.extend(types.iter().map(|fs| (format!("mount.{fs}"), true)));
        }
        params
    }
}

/// Read and check `freebsd` (found at `path`).
pub(crate) fn read(
    value: &Value,
    path: &str,
    warnings: &mut Warnings,
) -> Result<FreeBsd, BundleError> {
    let section: FreeBsd = typed(value, path, warnings)?;
    for (i, device) in section.devices.iter().flatten().enumerate() {
        let field = format!("{}[{i}]", join(path, "devices"));
        let p = &device.path;
        if p.is_empty() || p.starts_with('/') || p.split('/').any(|c| c == ".." || c.is_empty()) {
            return Err(BundleError::invalid(
                join(&field, "path"),
                format!("{p:?} is not a path relative to /dev"),
            ));
        }
        if let Some(mode) = device.mode.filter(|&m| m > 0o777) {
            return Err(BundleError::invalid(
                join(&field, "mode"),
                format!("{mode} is more than 511 (0777), the schema's FileMode bound"),
            ));
        }
    }
    if let Some(jail) = &section.jail {
        let jpath = join(path, "jail");
        for (name, sharing) in [("host", jail.host), ("vnet", jail.vnet)] {
            if sharing == Some(Sharing::Disable) {
                return Err(BundleError::invalid(
                    join(&jpath, name),
                    "\"disable\" is not allowed: only \"new\" or \"inherit\" (kern_jail.c refuses it)",
                ));
            }
        }
        if let Some(level) = jail.enforce_statfs.filter(|&l| l > 2) {
            return Err(BundleError::invalid(
                join(&jpath, "enforceStatfs"),
                format!("{level} is not 0, 1 or 2"),
            ));
        }
        if let Some(fs) = jail
            .allow
            .iter()
            .flat_map(|a| a.mount.iter().flatten())
            .find(|fs| fs.is_empty() || !fs.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
        {
            return Err(BundleError::invalid(
                join(&jpath, "allow.mount"),
                format!("{fs:?} is not a file system type name"),
            ));
        }
    }
    Ok(section)
}
