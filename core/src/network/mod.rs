//! Container networking: bridged VNET jails with IPAM, routes, pf NAT and published ports,
//! entirely through the kernel contract.
//!
//! A network is a bridge (`zb-<name>`) holding the gateway address, with a NAT rule in pf
//! anchor `zelle/net-<name>`. Attaching a container creates an epair, names the host end after
//! the container (`ze<key>`) and adds it to the bridge, moves the other end into the
//! container's vnet, and there names it `eth0`, gives it the container's addresses, brings up
//! lo0 and routes through the gateway; published ports go into the container's own anchor
//! `zelle/ctr-<key>`. Every kernel change is undone if a later step fails.
//!
//! At start-up a shim parses its networks file ([`parse_networks`]: the default network plus
//! any defined), creates each network ([`Networks::create`] is idempotent), then calls
//! [`Networks::check_host`], which fails with the pf.conf lines and sysctls to add.
//!
//! What must outlive a process (addresses handed out, interface and anchor names, published
//! ports, network definitions) lives in a [`NetStore`]; each change to it is one transaction,
//! and that transaction is what serialises concurrent attaches, in one process or several.
//! Work on one network or container spans several transactions, under a [`Claim`] on its
//! record (see [`state`]).
//!
//! No kernel object exists without a name on disk: the interfaces the kernel creates under an
//! interim name (`epairNa`, `bridgeN`, renamed right after) are created with a unit zelle
//! picks and records first (see `names::interim_unit`), so a process that dies between the
//! create and the rename leaves a record that names them.

mod attach;
mod bridge;
pub mod config;
pub mod error;
pub mod files;
mod ipam;
pub mod names;
pub mod rules;
pub mod state;
pub mod undo;

pub use attach::{AttachRequest, Attachment};
pub use config::{
    parse_networks, NetworkConfig, PortProtocol, PublishedPort, DEFAULT_NETWORK, DEFAULT_SUBNET,
};
use error::During;
pub use error::NetworkError;
pub use files::{hosts_file, Dns};
pub use ipam::Ipam;
pub use state::{
    AttachStatus, Claim, ContainerRecord, LoopbackBefore, MemoryStore, NetState, NetStore,
    NetworkRecord, NetworkStatus, RecordKey, CLAIM_PATIENCE,
};
pub use undo::Undo;

use crate::kernel::pf::PfRuleset;
use crate::kernel::{Errno, Kernel, SysctlValue, Vnet};
use state::{repoint_pending, transact};
use std::sync::Arc;

/// zelle's networks on one kernel, remembered in one store.
pub struct Networks<K: ?Sized, S> {
    kernel: Arc<K>,
    store: S,
}

impl<K: Kernel + ?Sized, S: NetStore> Networks<K, S> {
    pub fn new(kernel: Arc<K>, store: S) -> Self {
        Networks { kernel, store }
    }

    pub fn kernel(&self) -> &Arc<K> {
        &self.kernel
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    /// The stored record of network `name`.
    pub fn network(&self, name: &str) -> Result<Option<NetworkRecord>, NetworkError> {
        transact(&self.store, |s| Ok(s.networks.get(name).cloned()))
    }

    /// The stored record of container `id`'s attachment.
    pub fn container(&self, id: &str) -> Result<Option<ContainerRecord>, NetworkError> {
        transact(&self.store, |s| Ok(s.containers.get(id).cloned()))
    }

    /// Clone a `cloner` ("bridge", "epair") on the host at a unit zelle picks from `seed`,
    /// with its name in `record`'s pending steps before it exists (see
    /// [`names::interim_unit`]); returns the name the kernel gave it. `recorded` is the step
    /// the record holds already, if any; a unit found taken moves the record to the next.
    fn clone_recorded(
        &self,
        record: RecordKey<'_>,
        claim: &Claim,
        cloner: &str,
        seed: &str,
        mut recorded: Option<Undo>,
    ) -> Result<String, NetworkError> {
        for attempt in 0..names::INTERIM_ATTEMPTS {
            let unit = names::interim_unit(seed, attempt);
            let step = Undo::Destroy {
                vnet: Vnet::Host,
                name: names::interim_name(cloner, unit),
            };
            if recorded.as_ref() != Some(&step) {
                repoint_pending(&self.store, record, claim, recorded.as_ref(), step.clone())?;
                recorded = Some(step);
            }
            match self
                .kernel
                .create_interface(Vnet::Host, &format!("{cloner}{unit}"))
            {
                Err(e) if e.code() == Some(Errno::EEXIST) => continue,
                created => {
                    return created.during(|| format!("{record}: create a {cloner} (unit {unit})"))
                }
            }
        }
        Err(NetworkError::Kernel {
            step: format!(
                "{record}: create a {cloner}: {} units tried, all taken",
                names::INTERIM_ATTEMPTS
            ),
            source: crate::kernel::KernelError::errno(
                crate::kernel::Op::CreateInterface,
                Errno::EEXIST,
            ),
        })
    }

    /// Check, at start-up, that the host lets zelle's rules and routes work: the main pf
    /// ruleset calls zelle's anchors, and IP forwarding is on (IPv6 forwarding too when a
    /// stored network has IPv6). The error lists exactly what to add.
    pub fn check_host(&self) -> Result<(), NetworkError> {
        let kernel = &*self.kernel;
        let mut pf_conf = Vec::new();
        for call in rules::anchor_calls() {
            let ruleset: PfRuleset = call.action.ruleset();
            let main = kernel
                .pf_rules("", ruleset)
                .during(|| "read the main pf ruleset".into())?;
            let wanted = call.anchor.as_deref();
            if !main
                .iter()
                .any(|rule| rule.anchor.as_deref().map(|a| a.trim_start_matches('/')) == wanted)
            {
                pf_conf.push(call.to_string());
            }
        }
        let ipv6 = transact(&self.store, |s| {
            Ok(s.networks.values().any(|n| n.config.subnet6.is_some()))
        })?;
        let mut sysctls = Vec::new();
        for (name, needed) in [
            ("net.inet.ip.forwarding", true),
            ("net.inet6.ip6.forwarding", ipv6),
        ] {
            let value = match needed {
                true => kernel
                    .sysctl(name)
                    .during(|| format!("read sysctl {name}"))?,
                false => continue,
            };
            if !matches!(value, SysctlValue::Int(on) if on != 0) {
                sysctls.push(format!("{name}=1"));
            }
        }
        if pf_conf.is_empty() && sysctls.is_empty() {
            Ok(())
        } else {
            Err(NetworkError::HostNotReady { pf_conf, sysctls })
        }
    }
}
