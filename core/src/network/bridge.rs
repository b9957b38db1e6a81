//! Creating and removing networks: the bridge with the gateway address, and the NAT anchor.

use super::config::{overlaps, NetworkConfig};
use super::error::{During, NetworkError};
use super::names::network_anchor;
use super::rules::{nat_rule, replace_anchor_rules, NETWORK_RULESETS};
use super::state::{transact, NetStore, NetworkRecord, NetworkStatus};
use super::undo::{undo_all, Undo};
use super::Networks;
use crate::kernel::net::{Inet6Alias, InetAlias};
use crate::kernel::{Errno, IfFlags, Interface, Kernel, Vnet};
use ipnet::{IpNet, Ipv4Net};
use std::collections::BTreeSet;

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
            if let Some(record) = s.networks.get(name) {
                if let Some(field) = record.config.first_difference(config) {
                    return Err(NetworkError::NetworkConflict {
                        network: name.clone(),
                        field,
                    });
                }
                return match record.status {
                    NetworkStatus::Ready => Ok(Plan::Verify),
                    _ if config.nat && egress.is_none() => Err(no_egress()),
                    _ => Ok(Plan::Finish {
                        pending: record.pending.clone(),
                    }),
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
                },
            );
            Ok(Plan::Build)
        })?;

        let (fresh, bridge_exists) = match plan {
            Plan::Build => (true, false),
            Plan::Verify => match self.bridge_exists(config)? {
                true => return Ok(()),
                // Recorded but gone (the kernel restarted under a kept store): rebuild.
                false => (false, false),
            },
            Plan::Finish { pending } => {
                let leftovers = undo_all(kernel, &pending);
                if !leftovers.is_empty() {
                    return Err(NetworkError::TeardownIncomplete {
                        what: format!("network {name:?}"),
                        leftovers: leftovers.reasons,
                    });
                }
                (false, self.bridge_exists(config)?)
            }
        };

        let mut undo = Vec::new();
        let built = self
            .build(config, egress.as_deref(), bridge_exists, &mut undo)
            .and_then(|()| {
                transact(&self.store, |s| {
                    if let Some(record) = s.networks.get_mut(name) {
                        record.status = NetworkStatus::Ready;
                        record.egress = egress.clone();
                        record.pending.clear();
                    }
                    Ok(())
                })
            });
        let Err(error) = built else { return Ok(()) };
        let leftovers = undo_all(kernel, &undo);
        // Should this transaction fail, the record stays as it is, and creating or removing
        // the network again finishes the job.
        let _ = transact(&self.store, |s| {
            let Some(record) = s.networks.get_mut(name) else {
                return Ok(());
            };
            if fresh && leftovers.is_empty() && record.containers.is_empty() {
                // Nothing is left in the kernel: forget the network again.
                s.networks.remove(name);
            } else {
                record.pending = leftovers.steps.clone();
            }
            Ok(())
        });
        if leftovers.is_empty() {
            Err(error)
        } else {
            Err(error.rollback_incomplete(&leftovers))
        }
    }

    /// Whether network `config`'s bridge exists.
    fn bridge_exists(&self, config: &NetworkConfig) -> Result<bool, NetworkError> {
        match self.kernel.interface_flags(Vnet::Host, &config.bridge()) {
            Ok(_) => Ok(true),
            Err(e) if e.code() == Some(Errno::ENXIO) => Ok(false),
            Err(e) => Err(e).during(|| format!("network {:?}: look for the bridge", config.name)),
        }
    }

    /// The kernel steps of `create`, each recording in `undo` how to take it back.
    fn build(
        &self,
        config: &NetworkConfig,
        egress: Option<&str>,
        bridge_exists: bool,
        undo: &mut Vec<Undo>,
    ) -> Result<(), NetworkError> {
        let kernel = &*self.kernel;
        let host = Vnet::Host;
        let bridge = config.bridge();
        let step = |what: String| format!("network {:?}: {what}", config.name);

        if !bridge_exists {
            let created = kernel
                .create_interface(host, "bridge")
                .during(|| step("create the bridge".to_string()))?;
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
        // Addresses and routes on the bridge go with it; nothing more to undo until pf.
        kernel
            .set_mtu(host, &bridge, config.mtu)
            .during(|| step(format!("set the MTU of {bridge}")))?;
        let gateway = InetAlias::new(config.gateway, config.subnet.prefix_len());
        kernel
            .add_inet_alias(host, &bridge, &gateway)
            .during(|| step(format!("add the gateway address to {bridge}")))?;
        if let (Some(gateway6), Some(subnet6)) = (config.gateway6(), config.subnet6) {
            let alias = Inet6Alias::new(gateway6, subnet6.prefix_len());
            kernel
                .add_inet6_alias(host, &bridge, &alias)
                .during(|| step(format!("add the IPv6 gateway address to {bridge}")))?;
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
            Ok((record.config.clone(), record.pending.clone()))
        })?;
        // The steps of `build`, undone last first.
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
            return Err(NetworkError::TeardownIncomplete {
                what: format!("network {name:?}"),
                leftovers: leftovers.reasons,
            });
        }
        transact(&self.store, |s| {
            if s.networks
                .get(name)
                .is_some_and(|n| n.containers.is_empty())
            {
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
