//! What can go wrong with networks, in words a user can act on: each error about user input
//! names the network (or the container) and the field at fault.

use super::config::PortProtocol;
use crate::kernel::KernelError;
use ipnet::IpNet;

#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum NetworkError {
    /// The configuration text is not JSON, or not an object where one is needed.
    #[error("network configuration: {0}")]
    Syntax(String),

    /// An address or subnet that does not parse, or does not fit where it is used.
    #[error("network {network:?}: {field}: {value:?} is not a valid address here: {reason}")]
    InvalidAddress {
        network: String,
        field: &'static str,
        value: String,
        reason: String,
    },

    /// Any other field with a value out of bounds or of the wrong kind.
    #[error("network {network:?}: {field}: {value} {reason}")]
    InvalidValue {
        network: String,
        field: String,
        value: String,
        reason: String,
    },

    /// The name does not fit in the bridge's interface name.
    #[error(
        "network {network:?}: name: {len} bytes is too long; the bridge interface \
         \"{prefix}<name>\" must fit in IFNAMSIZ, which leaves at most {max} bytes for the name"
    )]
    NameTooLong {
        network: String,
        len: usize,
        max: usize,
        prefix: &'static str,
    },

    /// Two networks (or a network and a host interface) would share addresses.
    #[error("network {network:?}: {field}: {subnet} overlaps {other_subnet} of {other}")]
    SubnetOverlap {
        network: String,
        field: &'static str,
        subnet: IpNet,
        /// "network \"name\"" or "host interface em0".
        other: String,
        other_subnet: IpNet,
    },

    #[error("network {network:?}: subnet: {subnet} has no free address left")]
    SubnetExhausted { network: String, subnet: IpNet },

    #[error("ports: {proto} port {port} is already published by container {holder:?}")]
    PortTaken {
        proto: PortProtocol,
        port: u16,
        holder: String,
    },

    /// A network of this name exists with a different configuration.
    #[error(
        "network {network:?}: {field}: differs from the existing network of that name \
         (remove it first to change it)"
    )]
    NetworkConflict {
        network: String,
        field: &'static str,
    },

    #[error("network {network:?}: no such network")]
    UnknownNetwork { network: String },

    /// The network is half created or half removed (an earlier call failed part way):
    /// create or remove it again to finish.
    #[error("network {network:?}: not ready (an earlier create or remove did not finish)")]
    NetworkNotReady { network: String },

    #[error("network {network:?}: in use by {} container(s): {}", containers.len(), containers.join(", "))]
    NetworkInUse {
        network: String,
        containers: Vec<String>,
    },

    #[error("container {container:?}: already attached to network {network:?}")]
    AlreadyAttached { container: String, network: String },

    #[error(
        "network {network:?}: egress: not set, and the host has no IPv4 default route to \
         take it from (NAT and published ports need one)"
    )]
    NoEgress { network: String },

    /// The host's pf or sysctl set-up does not let zelle's rules run.
    #[error("the host is not ready for zelle's networks:{}{}",
        if pf_conf.is_empty() { String::new() } else {
            format!("\n  add to /etc/pf.conf (then `pfctl -f /etc/pf.conf`):\n{}",
                pf_conf.iter().map(|l| format!("    {l}\n")).collect::<String>())
        },
        if sysctls.is_empty() { String::new() } else {
            format!("\n  set (and add to /etc/sysctl.conf):\n{}",
                sysctls.iter().map(|l| format!("    {l}\n")).collect::<String>())
        })]
    HostNotReady {
        /// Lines missing from the main ruleset, in pf.conf syntax.
        pf_conf: Vec<String>,
        /// `name=value` settings that are missing.
        sysctls: Vec<String>,
    },

    /// A kernel call failed; `step` says what zelle was doing.
    #[error("{step}: {source}")]
    Kernel {
        step: String,
        #[source]
        source: KernelError,
    },

    /// A step failed and undoing the earlier steps failed too: `leftovers` lists what could
    /// not be undone. The state store still records the operation, so detaching the container
    /// (or removing the network) again cleans up.
    #[error("{error}; undoing it left behind: {}", leftovers.join("; "))]
    RollbackIncomplete {
        error: Box<NetworkError>,
        leftovers: Vec<String>,
    },

    /// Taking something down (a network, a container's attachment) did not finish:
    /// `leftovers` lists what is still there. The record stays, so trying again finishes.
    #[error("{what}: could not take down: {}; try again", leftovers.join("; "))]
    TeardownIncomplete {
        what: String,
        leftovers: Vec<String>,
    },

    /// Another caller (usually another shim process) is working on the record and did not
    /// finish within `waited`.
    #[error(
        "{record}: in progress by another process ({}) for over {}s; try again when it finishes",
        owner.as_deref().unwrap_or("unknown"), waited.as_secs()
    )]
    InProgress {
        /// `network "web"`, `container "abc"`.
        record: String,
        owner: Option<String>,
        waited: std::time::Duration,
    },

    /// A record this call was working on was removed, or taken over, by someone else
    /// between two of its transactions (which the claim on it should have made impossible):
    /// the kernel objects the call made are not recorded as done.
    #[error(
        "{record}: its record was removed or taken over by another process while this call \
         worked on it; remove (or detach) it to clean up"
    )]
    RecordLost { record: String },

    /// The state store could not be read or written.
    #[error("network state: {0}")]
    Storage(String),
}

/// Names what zelle was doing when a kernel call failed; the text is built only then.
pub(crate) trait During<T> {
    fn during(self, what: impl FnOnce() -> String) -> Result<T, NetworkError>;
}

impl<T> During<T> for Result<T, KernelError> {
    fn during(self, what: impl FnOnce() -> String) -> Result<T, NetworkError> {
        self.map_err(|source| NetworkError::Kernel {
            step: what(),
            source,
        })
    }
}
