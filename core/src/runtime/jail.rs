//! The jail a container runs in: its name, and the parameters zelle sets with secure defaults.
//!
//! Defaults, each a jail(8) parameter (`sys/kern/kern_jail.c`):
//! - `persist`: the jail outlives its processes until zelle removes it, so an exited init can
//!   still be inspected and deleted in order;
//! - `vnet` new (a network stack of its own, wired by `core::network`) or inherit (the
//!   host's stack, for `--net host`);
//! - `enforce_statfs` 2: the container sees only the mounts below its root;
//! - `children.max` 0: no jails inside the container;
//! - `allow.raw_sockets` off (no raw IP, so no spoofing), every other `allow.*` at the kernel's
//!   default (`JAIL_DEFAULT_ALLOW`: set_hostname, reserved_ports, suser,
//!   unprivileged_proc_debug), `allow.mount` off;
//! - `devfs_ruleset`: zelle's restrictive ruleset, applied to the container's /dev.

use super::bundle::{BundleSpec, ImageKind};
use super::freebsd_spec::Sharing;
use super::network_plan::NetworkMode;
use crate::kernel::jail::{JailSys, JailSys3, MAXHOSTNAMELEN};
use crate::kernel::{IpMode, JailParams, VnetMode};

/// Why a container id cannot name a jail.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum JailNameError {
    #[error("container id is empty")]
    Empty,
    #[error("container id {0:?} holds {1:?}, which a jail name cannot (\".\" separates the names of nested jails, \"/\" is not allowed)")]
    Forbidden(String, char),
    #[error("container id {0:?} is all digits: the kernel takes a numeric name for a jail id")]
    Numeric(String),
    #[error("container id {id:?} is {len} bytes long; a jail name holds at most {max}")]
    TooLong { id: String, len: usize, max: usize },
    #[error("container id {0:?} holds a control character or a space")]
    Unprintable(String),
}

/// The jail name for container `id`: the id itself, so that `jls` shows what `ctr` and
/// `nerdctl` call the container. Refused when the kernel would read it otherwise: a `.` makes
/// a hierarchical name (parent "a" of "a.b", `kern_jail_set`), a number is taken for a jid
/// ("name cannot be numeric (unless it is the jid)"), and names are C strings of at most
/// MAXHOSTNAMELEN bytes with their NUL.
pub fn jail_name(id: &str) -> Result<String, JailNameError> {
    if id.is_empty() {
        return Err(JailNameError::Empty);
    }
    if let Some(c) = id.chars().find(|&c| c == '.' || c == '/') {
        return Err(JailNameError::Forbidden(id.into(), c));
    }
    if id.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(JailNameError::Unprintable(id.into()));
    }
    if id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(JailNameError::Numeric(id.into()));
    }
    let max = MAXHOSTNAMELEN - 1;
    if id.len() > max {
        return Err(JailNameError::TooLong {
            id: id.into(),
            len: id.len(),
            max,
        });
    }
    Ok(id.to_string())
}

/// How the container reaches the network.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JailNetwork {
    /// A vnet of its own (attached to a zelle network, or left with lo0 only).
    Own,
    /// The host's network stack.
    Host,
}

/// The parameters of a container's jail at creation, zelle's defaults included (module docs).
pub fn jail_params(
    name: &str,
    root: &str,
    hostname: &str,
    network: JailNetwork,
    devfs_ruleset: u32,
) -> JailParams {
    JailParams {
        name: Some(name.to_string()),
        path: Some(root.to_string()),
        hostname: Some(hostname.to_string()),
        persist: Some(true),
        vnet: Some(match network {
            JailNetwork::Own => VnetMode::New,
            JailNetwork::Host => VnetMode::Inherit,
        }),
        enforce_statfs: Some(2),
        children_max: Some(0),
        devfs_ruleset: Some(devfs_ruleset),
        allow: vec![("raw_sockets".into(), false), ("mount".into(), false)],
        ..JailParams::default()
    }
}

/// What the host tells the runtime before it builds a jail.
#[derive(Clone, Copy, Debug)]
pub struct HostLevels {
    /// `kern.securelevel` of the host: a jail's may not be lower.
    pub securelevel: i32,
    /// Whether the Linux ABI is loaded (linux64.ko; with it linux_common.ko, so the `linux*`
    /// parameters exist).
    pub linux_abi: bool,
}

/// The parameters of container `name`'s jail: zelle's defaults, then what the bundle asks
/// (the `freebsd.jail` section, the image kind, the network). A request zelle cannot carry out
/// is an error naming its field.
pub fn container_jail(
    spec: &BundleSpec,
    name: &str,
    host: HostLevels,
) -> Result<JailParams, String> {
    let section = spec.freebsd.jail.clone().unwrap_or_default();
    let network = match spec.network.mode.value {
        NetworkMode::Host => JailNetwork::Host,
        _ => JailNetwork::Own,
    };
    let hostname = spec.hostname.as_ref().map_or(name, |h| h.value.as_str());
    // A name below a parent ("parent.name") makes the jail a child of that one.
    let full_name = match &section.parent {
        Some(parent) => format!("{parent}.{name}"),
        None => name.to_string(),
    };
    let mut params = jail_params(
        &full_name,
        &spec.root.path,
        hostname,
        network,
        u32::from(spec.devfs_ruleset),
    );
    // securelevel ≥ 0 (kern_securelevel(7): 0 is "secure mode"; -1, prison0's default, is none).
    params.securelevel = Some(host.securelevel.max(0));
    match spec.network.mode.value {
        NetworkMode::Host => {
            params.ip4 = Some(IpMode::Inherit);
            params.ip6 = Some(IpMode::Inherit);
        }
        NetworkMode::Jail => {
            params.vnet = section.vnet.map(vnet_mode);
            params.ip4 = section.ip4.map(Sharing::ip_mode);
            params.ip4_addrs = section.ip4_addr.clone().unwrap_or_default();
            params.ip6 = section.ip6.map(Sharing::ip_mode);
            params.ip6_addrs = section.ip6_addr.clone().unwrap_or_default();
        }
        NetworkMode::None | NetworkMode::Bridge(_) => {}
    }
    if section.host == Some(Sharing::Inherit) {
        params.hostname = None;
    }
    for (field, value) in [
        ("sysvmsg", section.sysvmsg),
        ("sysvsem", section.sysvsem),
        ("sysvshm", section.sysvshm),
    ] {
        let value = value.map(|v| match v {
            Sharing::Disable => JailSys3::Disable,
            Sharing::New => JailSys3::New,
            Sharing::Inherit => JailSys3::Inherit,
        });
        match field {
            "sysvmsg" => params.sysvmsg = value,
            "sysvsem" => params.sysvsem = value,
            _ => params.sysvshm = value,
        }
    }
    if let Some(level) = section.enforce_statfs {
        params.enforce_statfs = Some(u32::from(level));
    }
    if let Some(allow) = &section.allow {
        for (key, on) in allow.params() {
            params.allow.retain(|(k, _)| *k != key);
            params.allow.push((key, on));
        }
    }
    for (field, set) in [
        ("freebsd.jail.interface", section.interface.is_some()),
        (
            "freebsd.jail.vnetInterfaces",
            section.vnet_interfaces.is_some(),
        ),
        ("freebsd.devices", spec.freebsd.devices.is_some()),
    ] {
        if set {
            return Err(format!("{field}: not supported by zelle yet; remove it"));
        }
    }
    if spec.image.value == ImageKind::Linux {
        if !host.linux_abi {
            return Err(format!(
                "{}: a Linux image needs the Linux ABI: kldload linux64 (and linux_enable=\"YES\" in /etc/rc.conf)",
                spec.image.from
            ));
        }
        params.linux = Some(JailSys::New);
    }
    Ok(params)
}

fn vnet_mode(sharing: Sharing) -> VnetMode {
    match sharing {
        Sharing::Inherit => VnetMode::Inherit,
        // "disable" is refused when the bundle is read.
        _ => VnetMode::New,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_as_containerd_and_nerdctl_make_them_are_names() {
        let nerdctl = "3f4c1e0a9b8d7c6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e";
        for id in ["web", "redis-1", "my_app", nerdctl] {
            assert_eq!(jail_name(id).unwrap(), id);
        }
    }

    #[test]
    fn ids_the_kernel_would_misread_are_refused_by_name() {
        let cases = [
            ("", JailNameError::Empty),
            ("web.1", JailNameError::Forbidden("web.1".into(), '.')),
            ("a/b", JailNameError::Forbidden("a/b".into(), '/')),
            ("a b", JailNameError::Unprintable("a b".into())),
            ("1234", JailNameError::Numeric("1234".into())),
        ];
        for (id, error) in cases {
            assert_eq!(jail_name(id).unwrap_err(), error, "{id:?}");
        }
        let long = "x".repeat(256);
        let error = jail_name(&long).unwrap_err();
        assert_eq!(
            error,
            JailNameError::TooLong {
                id: long.clone(),
                len: 256,
                max: 255
            }
        );
        assert!(error.to_string().contains("at most 255"));
        assert_eq!(jail_name(&long[..255]).unwrap().len(), 255);
    }

    #[test]
    fn the_defaults_are_the_secure_ones() {
        let p = jail_params("web", "/b/rootfs", "web", JailNetwork::Own, 7);
        assert_eq!(p.persist, Some(true));
        assert_eq!(p.vnet, Some(VnetMode::New));
        assert_eq!(p.enforce_statfs, Some(2));
        assert_eq!(p.children_max, Some(0));
        assert_eq!(p.devfs_ruleset, Some(7));
        assert!(p.allow.contains(&("raw_sockets".into(), false)));
        assert!(p.allow.contains(&("mount".into(), false)));
        let host = jail_params("web", "/b/rootfs", "web", JailNetwork::Host, 7);
        assert_eq!(host.vnet, Some(VnetMode::Inherit));
    }
}
