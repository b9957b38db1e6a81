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

/// The highest unit an interface cloner hands out (`IF_MAXUNIT`, `net/if.h`; the default
/// `ifc_maxunit` of `if_clone.c`, which epair and bridge keep).
const IF_MAXUNIT: u32 = 0x7fff;
/// The first unit zelle picks for its clones.
const INTERIM_BASE: u32 = 0x4000;

/// The cloner unit for the `attempt`th try at cloning an interface zelle then renames (the
/// bridge of network `seed`, the epair of container key `seed`).
///
/// zelle names the unit itself (SIOCIFCREATE2 on "epair16391") instead of taking the one the
/// kernel would choose, so that the interim name (`epair16391a`) is in the store before the
/// interface exists: a process that dies between the create and the rename leaves a record
/// that names it. The units come from the upper half of the range: the kernel's own choice
/// (`ifc_alloc_unit_next`) is the lowest free unit, so other tools' clones stay far below, and
/// a recorded name whose create never happened is not somebody else's interface by the time
/// a cleanup destroys it. A clone keeps its unit after a rename (SIOCSIFNAME leaves
/// `if_dname`/`if_dunit`, FACTS-kernel-errno §1), so nobody can reuse the interim name while
/// zelle's interface lives. A unit taken already is EEXIST: the caller tries the next attempt.
pub(crate) fn interim_unit(seed: &str, attempt: u32) -> u32 {
    let span = IF_MAXUNIT - INTERIM_BASE + 1;
    let start = (fnv1a64(seed.as_bytes()) % u64::from(span)) as u32;
    INTERIM_BASE + (start + attempt) % span
}

/// The name the kernel gives the clone of `cloner` at `unit` (an epair's `a` end).
pub(crate) fn interim_name(cloner: &str, unit: u32) -> String {
    match cloner {
        "epair" => format!("epair{unit}a"),
        _ => format!("{cloner}{unit}"),
    }
}

/// How many units a clone tries before giving up.
pub(crate) const INTERIM_ATTEMPTS: u32 = 8;

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
