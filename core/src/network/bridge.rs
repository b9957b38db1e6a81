//! Creating and removing networks: the bridge with the gateway address, and the NAT anchor.

use super::config::{overlaps, NetworkConfig};
use super::error::{During, NetworkError};
use super::names::network_anchor;
use super::rules::{nat_rule, replace_anchor_rules, NETWORK_RULESETS};
use super::state::{
    owned_network, transact, Claim, NetStore, NetworkRecord, NetworkStatus, RecordKey,
};
use super::undo::{undo_all, Undo};
use super::Networks;
use crate::kernel::net::{Inet6Alias, InetAlias};
use crate::kernel::{Errno, IfFlags, Interface, Kernel, Vnet};
use ipnet::{IpNet, Ipv4Net};
use std::collections::BTreeSet;
use std::net::IpAddr;

/// What a create call has to do, decided in its first transaction.
enum Plan {
    /// The network exists, identical and ready.
    Verify,
    /// Build the kernel objects; the record was made by this call (so a failure removes it).
    Build,
    /// An earlier create or remove did not finish: take the undo steps it left over, then
    /// build the network, adopting the bridge if it stands.
    Finish { pending: Vec<Undo> },
}

impl<K: Kernel + ?Sized, S: NetStore> Networks<K, S> {
    /// Create network `config`: its bridge (named, MTU, gateway addresses, up) and its NAT
    /// rule. Creating a network that exists with the same configuration is Ok; with a
    /// different one it is an error naming the first field that differs. A failure undoes
    /// every kernel change made.
    pub fn create(&self, config: &NetworkConfig) -> Result<(), NetworkError> {
        config.validate()?;
        let kernel = &*self.kernel;
        let name = &config.name;
        let claim = self.store.claim(RecordKey::Network(name))?;
        let owner = Some(claim.owner().to_string());
        let egress = match &config.egress {
            Some(egress) => Some(egress.clone()),
            None => self.default_route_interface()?,
        };
        let no_egress = || NetworkError::NoEgress {
            network: name.clone(),
        };
        let host = kernel
            .list_interfaces(Vnet::Host)
            .during(|| "list the host's interfaces".into())?;

        let plan = transact(&self.store, |s| {
            if let Some(record) = s.networks.get_mut(name) {
                if let Some(field) = record.config.first_difference(config) {
                    return Err(NetworkError::NetworkConflict {
                        network: name.clone(),
                        field,
                    });
                }
                return match record.status {
                    NetworkStatus::Ready => Ok(Plan::Verify),
                    _ if config.nat && egress.is_none() => Err(no_egress()),
                    // Half created or removed, and nobody works on it (we hold the claim):
                    // an earlier call failed or died. Take it over.
                    _ => {
                        record.owner = owner.clone();
                        Ok(Plan::Finish {
                            pending: record.pending.clone(),
                        })
                    }
                };
            }
            if config.nat && egress.is_none() {
                return Err(no_egress());
            }
            for other in s.networks.values() {
                if let Some((field, subnet, other_subnet)) = config.overlap(&other.config) {
                    return Err(NetworkError::SubnetOverlap {
                        network: name.clone(),
                        field,
                        subnet,
                        other: format!("network {:?}", other.config.name),
                        other_subnet,
                    });
                }
            }
            let ours: BTreeSet<String> = s.networks.values().map(|n| n.config.bridge()).collect();
            host_overlap(config, host.iter().filter(|i| !ours.contains(&i.name)))?;
            s.networks.insert(
                name.clone(),
                NetworkRecord {
                    config: config.clone(),
                    egress: egress.clone(),
                    status: NetworkStatus::Creating,
                    ipam: Default::default(),
                    containers: Default::default(),
                    pending: Vec::new(),
                    owner: owner.clone(),
                },
            );
            Ok(Plan::Build)
        })?;

        let (fresh, found) = match plan {
            Plan::Build => (true, None),
            Plan::Verify => match self.bridge_exists(config)? {
                true => return Ok(()),
                // Recorded but gone (the kernel restarted under a kept store): rebuild. Marked
                // `Creating` first, so that no attach plumbs into the missing bridge meanwhile
                // and a rebuild that fails or dies is not taken for a ready network.
                false => {
                    transact(&self.store, |s| {
                        let record =
                            s.networks
                                .get_mut(name)
                                .ok_or_else(|| NetworkError::RecordLost {
                                    record: RecordKey::Network(name).to_string(),
                                })?;
                        record.status = NetworkStatus::Creating;
                        record.owner = owner.clone();
                        Ok(())
                    })?;
                    (false, None)
                }
            },
            Plan::Finish { pending } => {
                let leftovers = undo_all(kernel, &pending);
                if !leftovers.is_empty() {
                    self.let_go(name, &claim);
                    return Err(NetworkError::TeardownIncomplete {
                        what: format!("network {name:?}"),
                        leftovers: leftovers.reasons,
                    });
                }
                (false, self.find_bridge(config)?)
            }
        };

        let mut undo = Vec::new();
        let built = self
            .build(config, egress.as_deref(), found.as_ref(), &claim, &mut undo)
            .and_then(|()| {
                transact(&self.store, |s| {
                    let record = owned_network(s, name, &claim)?;
                    record.status = NetworkStatus::Ready;
                    record.egress = egress.clone();
                    record.pending.clear();
                    record.owner = None;
                    Ok(())
                })
            });
        let Err(error) = built else { return Ok(()) };
        let leftovers = undo_all(kernel, &undo);
        // Should this transaction fail, the record stays as it is, and creating or removing
        // the network again finishes the job.
        let _ = transact(&self.store, |s| {
            let Ok(record) = owned_network(s, name, &claim) else {
                return Ok(());
            };
            if fresh && leftovers.is_empty() && record.containers.is_empty() {
                // Nothing is left in the kernel: forget the network again.
                s.networks.remove(name);
            } else {
                record.pending = leftovers.steps.clone();
                record.owner = None;
            }
            Ok(())
        });
        if leftovers.is_empty() {
            Err(error)
        } else {
            Err(error.rollback_incomplete(&leftovers))
        }
    }

    /// Give up network `name`, leaving its record for a later call to finish (best effort:
    /// a record still naming this call is taken over all the same once the claim is gone).
    fn let_go(&self, name: &str, claim: &Claim) {
        let _ = transact(&self.store, |s| {
            if let Ok(record) = owned_network(s, name, claim) {
                record.owner = None;
            }
            Ok(())
        });
    }

    /// Whether network `config`'s bridge exists.
    fn bridge_exists(&self, config: &NetworkConfig) -> Result<bool, NetworkError> {
        match self.kernel.interface_flags(Vnet::Host, &config.bridge()) {
            Ok(_) => Ok(true),
            Err(e) if e.code() == Some(Errno::ENXIO) => Ok(false),
            Err(e) => Err(e).during(|| format!("network {:?}: look for the bridge", config.name)),
        }
    }

    /// Network `config`'s bridge as it is now, if it exists.
    fn find_bridge(&self, config: &NetworkConfig) -> Result<Option<Interface>, NetworkError> {
        let bridge = config.bridge();
        Ok(self
            .kernel
            .list_interfaces(Vnet::Host)
            .during(|| format!("network {:?}: look for the bridge", config.name))?
            .into_iter()
            .find(|i| i.name == bridge))
    }

    /// The kernel steps of `create`, each recording in `undo` how to take it back. `found`
    /// is the bridge when it exists already (left by an earlier call): it is configured
    /// as it stands, and what this call changes on it is undone on failure.
    fn build(
        &self,
        config: &NetworkConfig,
        egress: Option<&str>,
        found: Option<&Interface>,
        claim: &Claim,
        undo: &mut Vec<Undo>,
    ) -> Result<(), NetworkError> {
        let kernel = &*self.kernel;
        let host = Vnet::Host;
        let bridge = config.bridge();
        let step = |what: String| format!("network {:?}: {what}", config.name);

        if found.is_none() {
            let record = RecordKey::Network(&config.name);
            let created = self.clone_recorded(record, claim, "bridge", &config.name, None)?;
            undo.push(Undo::Destroy {
                vnet: host,
                name: created.clone(),
            });
            kernel
                .rename_interface(host, &created, &bridge)
                .during(|| step(format!("rename {created} to {bridge}")))?;
            undo.pop();
            undo.push(Undo::Destroy {
                vnet: host,
                name: bridge.clone(),
            });
        }
        // Addresses and routes on a bridge made here go with it; on a bridge found, each
        // change is undone on its own. Its flags first of all, and so undone last: adding an
        // address may bring it up already.
        if let Some(flags) = found.map(|b| b.flags).filter(|f| !f.contains(IfFlags::UP)) {
            undo.push(Undo::SetFlags {
                vnet: host,
                name: bridge.clone(),
                flags,
            });
        }
        let mut changed = |step: Undo| {
            if found.is_some() {
                undo.push(step);
            }
        };
        kernel
            .set_mtu(host, &bridge, config.mtu)
            .during(|| step(format!("set the MTU of {bridge}")))?;
        if let Some(mtu) = found.map(|b| b.mtu).filter(|&mtu| mtu != config.mtu) {
            changed(Undo::SetMtu {
                vnet: host,
                name: bridge.clone(),
                mtu,
            });
        }
        let had = |addr: IpAddr| {
            found.is_some_and(|b| {
                b.inet.iter().any(|&(a, _)| IpAddr::V4(a) == addr)
                    || b.inet6.iter().any(|&(a, _)| IpAddr::V6(a) == addr)
            })
        };
        let gateway = InetAlias::new(config.gateway, config.subnet.prefix_len());
        kernel
            .add_inet_alias(host, &bridge, &gateway)
            .during(|| step(format!("add the gateway address to {bridge}")))?;
        if !had(config.gateway.into()) {
            changed(Undo::DeleteAddress {
                vnet: host,
                name: bridge.clone(),
                addr: config.gateway.into(),
            });
        }
        if let (Some(gateway6), Some(subnet6)) = (config.gateway6(), config.subnet6) {
            let alias = Inet6Alias::new(gateway6, subnet6.prefix_len());
            kernel
                .add_inet6_alias(host, &bridge, &alias)
                .during(|| step(format!("add the IPv6 gateway address to {bridge}")))?;
            if !had(gateway6.into()) {
                changed(Undo::DeleteAddress {
                    vnet: host,
                    name: bridge.clone(),
                    addr: gateway6.into(),
                });
            }
        }
        let flags = kernel
            .interface_flags(host, &bridge)
            .during(|| step(format!("read the flags of {bridge}")))?;
        if !flags.contains(IfFlags::UP) {
            kernel
                .set_interface_flags(host, &bridge, flags.with(IfFlags::UP))
                .during(|| step(format!("bring {bridge} up")))?;
        }
        if config.nat {
            let egress = egress.ok_or_else(|| NetworkError::NoEgress {
                network: config.name.clone(),
            })?;
            let anchor = network_anchor(&config.name);
            undo.push(Undo::PfFlush {
                anchor: anchor.clone(),
                rulesets: NETWORK_RULESETS.to_vec(),
            });
            replace_anchor_rules(
                kernel,
                &anchor,
                NETWORK_RULESETS,
                &[nat_rule(config.subnet, egress)],
            )
            .during(|| step(format!("load the NAT rule into pf anchor {anchor}")))?;
        }
        Ok(())
    }

    /// Remove network `name`: its NAT rule, then its bridge. Refused while containers are
    /// attached. Should a step fail, the network stays recorded as being removed (no
    /// container can attach to it), and removing it again finishes the job.
    pub fn remove(&self, name: &str) -> Result<(), NetworkError> {
        let claim = self.store.claim(RecordKey::Network(name))?;
        let (config, pending) = transact(&self.store, |s| {
            let record = s
                .networks
                .get_mut(name)
                .ok_or_else(|| NetworkError::UnknownNetwork {
                    network: name.to_string(),
                })?;
            if !record.containers.is_empty() {
                return Err(NetworkError::NetworkInUse {
                    network: name.to_string(),
                    containers: record.containers.iter().cloned().collect(),
                });
            }
            record.status = NetworkStatus::Removing;
            record.owner = Some(claim.owner().to_string());
            Ok((record.config.clone(), record.pending.clone()))
        })?;
        // The steps of `build`, undone last first (the pending ones first of all: an interim
        // name among them is unique only while the renamed bridge still holds its unit).
        let mut steps = vec![Undo::Destroy {
            vnet: Vnet::Host,
            name: config.bridge(),
        }];
        if config.nat {
            steps.push(Undo::PfFlush {
                anchor: network_anchor(name),
                rulesets: NETWORK_RULESETS.to_vec(),
            });
        }
        steps.extend(pending);
        let leftovers = undo_all(&*self.kernel, &steps);
        if !leftovers.is_empty() {
            self.let_go(name, &claim);
            return Err(NetworkError::TeardownIncomplete {
                what: format!("network {name:?}"),
                leftovers: leftovers.reasons,
            });
        }
        transact(&self.store, |s| {
            if owned_network(s, name, &claim)?.containers.is_empty() {
                s.networks.remove(name);
            }
            Ok(())
        })
    }

    /// The interface holding the host's IPv4 default route, if there is one.
    fn default_route_interface(&self) -> Result<Option<String>, NetworkError> {
        let routes = self
            .kernel
            .list_routes(Vnet::Host)
            .during(|| "read the host's routes".into())?;
        let default = IpNet::V4(Ipv4Net::default());
        Ok(routes
            .into_iter()
            .find(|r| r.dest == default)
            .map(|r| r.interface))
    }
}

/// Refuse a subnet that overlaps an address of a host interface (the host's LAN, a VPN…).
fn host_overlap<'a>(
    config: &NetworkConfig,
    interfaces: impl Iterator<Item = &'a Interface>,
) -> Result<(), NetworkError> {
    for interface in interfaces {
        let inet = interface
            .inet
            .iter()
            .filter_map(|&(addr, len)| Ipv4Net::new(addr, len).ok())
            .map(|net| ("subnet", IpNet::V4(config.subnet), IpNet::V4(net.trunc())));
        let inet6 = interface
            .inet6
            .iter()
            .filter_map(|&(addr, len)| ipnet::Ipv6Net::new(addr, len).ok())
            .filter_map(|net| {
                Some((
                    "subnet6",
                    IpNet::V6(config.subnet6?),
                    IpNet::V6(net.trunc()),
                ))
            });
        for (field, subnet, theirs) in inet.chain(inet6) {
            if overlaps(subnet, theirs) {
                return Err(NetworkError::SubnetOverlap {
                    network: config.name.clone(),
                    field,
                    subnet,
                    other: format!("host interface {}", interface.name),
                    other_subnet: theirs,
                });
            }
        }
    }
    Ok(())
}
