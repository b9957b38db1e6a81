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

use crate::kernel::jail::MAXHOSTNAMELEN;
use crate::kernel::{JailParams, VnetMode};

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
