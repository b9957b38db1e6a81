//! The names zelle gives kernel objects: bridges, host ends of epairs, pf anchors.
//!
//! Interface names must fit IFNAMSIZ (15 bytes and a NUL); pf anchor path components must be
//! shorter than 64 bytes (`PF_ANCHOR_NAME_SIZE`). Container ids are up to 76 bytes (64 hex
//! digits for most), so a container is known to the kernel by a 13-byte key instead.

use crate::kernel::IFNAMSIZ;

/// Bridges are named `zb-<network>`.
pub const BRIDGE_PREFIX: &str = "zb-";
/// Host ends of epairs are named `ze<key>`.
pub const HOST_END_PREFIX: &str = "ze";
/// The root of zelle's pf anchor tree; the main ruleset calls `zelle/*`.
pub const ANCHOR_ROOT: &str = "zelle";
/// What a container's end of its epair is called inside its vnet.
pub const CONTAINER_INTERFACE: &str = "eth0";

/// The longest network name whose bridge name fits IFNAMSIZ.
pub const MAX_NETWORK_NAME: usize = IFNAMSIZ - 1 - BRIDGE_PREFIX.len();
/// The length of a container key.
pub const KEY_LEN: usize = IFNAMSIZ - 1 - HOST_END_PREFIX.len();
/// How much of a key is the container id itself (the rest is a hash of the whole id).
const READABLE_LEN: usize = 6;

pub fn bridge_name(network: &str) -> String {
    format!("{BRIDGE_PREFIX}{network}")
}

pub fn host_end_name(key: &str) -> String {
    format!("{HOST_END_PREFIX}{key}")
}

/// The anchor holding a network's NAT rule.
pub fn network_anchor(network: &str) -> String {
    format!("{ANCHOR_ROOT}/net-{network}")
}

/// The anchor holding a container's published ports.
pub fn container_anchor(key: &str) -> String {
    format!("{ANCHOR_ROOT}/ctr-{key}")
}

/// A container's key: up to 6 characters of its id (so an operator recognises it in
/// `ifconfig`), then hex digits of a hash of the whole id and `salt`. Ids sharing a prefix
/// get different hashes; the state store makes the key unique by trying the next salt on a
/// collision.
pub(crate) fn container_key(id: &str, salt: u32) -> String {
    let mut key: String = id
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .take(READABLE_LEN)
        .collect();
    let mut bytes = salt.to_le_bytes().to_vec();
    bytes.extend_from_slice(id.as_bytes());
    let hash = format!("{:016x}", fnv1a64(&bytes));
    key.push_str(&hash[..KEY_LEN - key.len()]);
    key
}

/// FNV-1a, 64 bits: stable across processes and Rust releases (std's hashers are not), so a
/// restarted shim derives the same names.
fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fit_the_kernel_limits() {
        let id = "f".repeat(76);
        let key = container_key(&id, 0);
        assert_eq!(key.len(), KEY_LEN);
        assert_eq!(host_end_name(&key).len(), IFNAMSIZ - 1);
        assert_eq!(
            bridge_name(&"n".repeat(MAX_NETWORK_NAME)).len(),
            IFNAMSIZ - 1
        );
        let component = container_anchor(&key);
        assert!(component.split('/').all(|c| c.len() < 64));
    }

    #[test]
    fn ids_sharing_a_prefix_get_different_keys() {
        let a = container_key(
            "abcdef0000000000000000000000000000000000000000000000000000000001",
            0,
        );
        let b = container_key(
            "abcdef0000000000000000000000000000000000000000000000000000000002",
            0,
        );
        assert!(a.starts_with("abcdef") && b.starts_with("abcdef"));
        assert_ne!(a, b);
        assert_ne!(container_key("x", 0), container_key("x", 1));
        assert_eq!(container_key("x", 0), container_key("x", 0));
    }

    #[test]
    fn odd_ids_still_make_plain_keys() {
        for id in ["", "-", "web.1_Ü", "ÜÜÜÜÜÜÜÜ"] {
            let key = container_key(id, 0);
            assert_eq!(key.len(), KEY_LEN, "{id:?}");
            assert!(key.bytes().all(|b| b.is_ascii_alphanumeric()), "{key:?}");
        }
    }
}
