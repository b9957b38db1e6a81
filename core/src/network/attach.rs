//! Attaching a container to a network, and detaching it.

use super::config::{NetworkConfig, PublishedPort};
use super::error::{During, NetworkError};
use super::files::{hosts_file, Dns};
use super::names::{
    bridge_name, container_anchor, container_key, host_end_name, CONTAINER_INTERFACE,
};
use super::names::{interim_name, interim_unit};
use super::rules::{published_port_rules, replace_anchor_rules, CONTAINER_RULESETS};
use super::state::{
    owned_container, port_key, transact, AttachStatus, Claim, ContainerRecord, LoopbackBefore,
    NetState, NetStore, NetworkStatus, RecordKey,
};
use super::undo::{undo_all, Undo, LOOPBACK};
use super::Networks;
use crate::kernel::net::{in_vnet_session, Inet6Alias, InetAlias, Route};
use crate::kernel::{Errno, IfFlags, Jid, Kernel, KernelError, Op, Vnet};
use ipnet::{Ipv4Net, Ipv6Net};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// What to attach, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttachRequest {
    pub container_id: String,
    pub network: String,
    /// The container's jail: it exists already, with a vnet of its own.
    pub jid: Jid,
    /// Named in the container's /etc/hosts (nothing when empty).
    pub hostname: String,
    pub ports: Vec<PublishedPort>,
    /// Resolver settings, usually [`Dns::from_resolv_conf`] of the host's file; the
    /// network's own `dns` servers, when it has any, replace the name servers.
    pub dns: Dns,
}

/// An attached container's network, and the files the caller writes into its root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attachment {
    /// The host end of the container's epair.
    pub host_interface: String,
    /// The container's address with the subnet's prefix length.
    pub address: Ipv4Net,
    pub address6: Option<Ipv6Net>,
    pub gateway: Ipv4Addr,
    pub gateway6: Option<Ipv6Addr>,
    /// The pf anchor holding the published ports, when there are any.
    pub anchor: Option<String>,
    /// /etc/resolv.conf
    pub resolv_conf: String,
    /// /etc/hosts
    pub hosts: String,
}

/// What the reserving transaction hands to the kernel steps.
struct Plan {
    id: String,
    record: ContainerRecord,
    config: NetworkConfig,
    egress: Option<String>,
    /// The allocator's cursor before the reservation, so that a failed attach puts it back.
    ipam_next_before: u32,
}

impl<K: Kernel + ?Sized, S: NetStore> Networks<K, S> {
    /// Attach a container: reserve its address, names and ports in the store, then plumb it
    /// into the kernel. If any step fails, every earlier one is undone and the reservation
    /// released: the kernel and the store are as they were before the call. (Should undoing
    /// fail too, the error is `RollbackIncomplete` and a detach finishes the job.)
    pub fn attach(&self, request: &AttachRequest) -> Result<Attachment, NetworkError> {
        // One process in the jail serves all of its steps (instead of one fork each).
        in_vnet_session(&*self.kernel, request.jid, || {
            self.attach_in_session(request)
        })
    }

    fn attach_in_session(&self, request: &AttachRequest) -> Result<Attachment, NetworkError> {
        check_request(request)?;
        let id = &request.container_id;
        let claim = self.store.claim(RecordKey::Container(id))?;
        // An attach that failed or died half way (nobody works on it: we hold the claim) is
        // rolled back before this one starts.
        if let Some(record) = self.container(id)? {
            if record.status == AttachStatus::Attaching {
                self.tear_down(id, &record)?;
            }
        }
        let loopback = self.loopback_before(request.jid)?;
        let plan = transact(&self.store, |s| {
            reserve(s, request, &loopback, claim.owner())
        })?;

        let mut undo = Vec::new();
        let plumbed = self.plumb(&plan, &claim, &mut undo).and_then(|()| {
            transact(&self.store, |s| {
                let record = owned_container(s, id, &claim)?;
                record.status = AttachStatus::Attached;
                record.pending.clear();
                record.owner = None;
                Ok(())
            })
        });
        if let Err(error) = plumbed {
            let leftovers = undo_all(&*self.kernel, &undo);
            if leftovers.is_empty() {
                // Should this fail, the record stays `Attaching`; detach releases it.
                let _ = transact(&self.store, |s| {
                    if owned_container(s, id, &claim).is_ok() {
                        release(s, id, Some(plan.ipam_next_before));
                    }
                    Ok(())
                });
                return Err(error);
            }
            // Detach takes the steps left over (best effort: without the record, the
            // teardown of a whole attach still runs).
            let _ = transact(&self.store, |s| {
                if let Ok(record) = owned_container(s, id, &claim) {
                    record.pending = leftovers.steps.clone();
                    record.owner = None;
                }
                Ok(())
            });
            return Err(error.rollback_incomplete(&leftovers));
        }

        let record = &plan.record;
        let config = &plan.config;
        let mut dns = request.dns.clone();
        if !config.dns.is_empty() {
            dns.nameservers = config.dns.clone();
        }
        Ok(Attachment {
            host_interface: host_end_name(&record.key),
            address: Ipv4Net::new(record.address, config.subnet.prefix_len())
                .unwrap_or_else(|_| Ipv4Net::from(record.address)),
            address6: record.address6.zip(config.subnet6).map(|(addr, net)| {
                Ipv6Net::new(addr, net.prefix_len()).unwrap_or_else(|_| Ipv6Net::from(addr))
            }),
            gateway: config.gateway,
            gateway6: config.gateway6(),
            anchor: (!record.ports.is_empty()).then(|| container_anchor(&record.key)),
            resolv_conf: dns.resolv_conf(),
            hosts: hosts_file(&request.hostname, record.address, record.address6),
        })
    }

    /// The kernel steps of `attach`, each recording in `undo` how to take it back.
    fn plumb(&self, plan: &Plan, claim: &Claim, undo: &mut Vec<Undo>) -> Result<(), NetworkError> {
        let kernel = &*self.kernel;
        let (record, config) = (&plan.record, &plan.config);
        let (host, jail) = (Vnet::Host, Vnet::Jail(record.jid));
        let step = |what: String| format!("network {:?}: {what}", record.network);
        let host_end = host_end_name(&record.key);
        let bridge = config.bridge();
        let eth0 = CONTAINER_INTERFACE;

        let recorded = record.pending.first().cloned();
        let a_end = self.clone_recorded(
            RecordKey::Container(&plan.id),
            claim,
            "epair",
            &record.key,
            recorded,
        )?;
        undo.push(Undo::Destroy {
            vnet: host,
            name: a_end.clone(),
        });
        let b_end = match a_end.strip_suffix('a') {
            Some(unit) => format!("{unit}b"),
            None => {
                let odd =
                    KernelError::with_message(Op::CreateInterface, Errno::EINVAL, a_end.clone());
                return Err(odd).during(|| step("name the epair's ends".into()));
            }
        };
        kernel
            .rename_interface(host, &a_end, &host_end)
            .during(|| step(format!("rename {a_end} to {host_end}")))?;
        undo.pop();
        // Destroying either end destroys both, wherever the other one is (if_epair.c).
        undo.push(Undo::Destroy {
            vnet: host,
            name: host_end.clone(),
        });
        // Before the bridge: a member's MTU cannot change, and must match the bridge's.
        for end in [&host_end, &b_end] {
            kernel
                .set_mtu(host, end, config.mtu)
                .during(|| step(format!("set the MTU of {end}")))?;
        }
        kernel
            .bridge_add_member(host, &bridge, &host_end)
            .during(|| step(format!("add {host_end} to {bridge}")))?;
        undo.push(Undo::BridgeDelete {
            bridge: bridge.clone(),
            member: host_end.clone(),
        });
        raise(kernel, host, &host_end).during(|| step(format!("bring {host_end} up")))?;
        kernel
            .move_to_jail(host, &b_end, record.jid)
            .during(|| step(format!("move {b_end} into jail {}", record.jid)))?;

        // Inside the vnet. eth0, its addresses and routes go with the epair.
        kernel
            .rename_interface(jail, &b_end, eth0)
            .during(|| step(format!("rename {b_end} to {eth0} in jail {}", record.jid)))?;
        raise(kernel, jail, eth0).during(|| step(format!("bring {eth0} up")))?;
        let alias = InetAlias::new(record.address, config.subnet.prefix_len());
        kernel
            .add_inet_alias(jail, eth0, &alias)
            .during(|| step(format!("add {} to {eth0}", record.address)))?;
        if let (Some(address6), Some(subnet6)) = (record.address6, config.subnet6) {
            let alias = Inet6Alias::new(address6, subnet6.prefix_len());
            kernel
                .add_inet6_alias(jail, eth0, &alias)
                .during(|| step(format!("add {address6} to {eth0}")))?;
        }
        let loopback = record.loopback.clone().unwrap_or_default();
        self.raise_loopback(record.jid, &loopback, undo)?;
        kernel
            .add_route(jail, &Route::default_via(IpAddr::V4(config.gateway)))
            .during(|| step(format!("add the default route via {}", config.gateway)))?;
        if let Some(gateway6) = config.gateway6() {
            kernel
                .add_route(jail, &Route::default_via(IpAddr::V6(gateway6)))
                .during(|| step(format!("add the IPv6 default route via {gateway6}")))?;
        }

        if !record.ports.is_empty() {
            let egress = plan.egress.as_deref().unwrap_or_default();
            let anchor = container_anchor(&record.key);
            let rules: Vec<_> = record
                .ports
                .iter()
                .flat_map(|port| published_port_rules(port, record.address, egress))
                .collect();
            undo.push(Undo::PfFlush {
                anchor: anchor.clone(),
                rulesets: CONTAINER_RULESETS.to_vec(),
            });
            replace_anchor_rules(kernel, &anchor, CONTAINER_RULESETS, &rules)
                .during(|| step(format!("load the published ports into pf anchor {anchor}")))?;
        }
        Ok(())
    }

    /// Jail `jid`'s lo0 as it is, before attach touches it.
    fn loopback_before(&self, jid: Jid) -> Result<LoopbackBefore, NetworkError> {
        let lo0 = self
            .kernel
            .list_interfaces(Vnet::Jail(jid))
            .during(|| format!("jail {jid}: list the interfaces"))?
            .into_iter()
            .find(|i| i.name == LOOPBACK)
            .ok_or_else(|| NetworkError::Kernel {
                step: format!("jail {jid}: find lo0"),
                source: KernelError::errno(Op::ListInterfaces, Errno::ENXIO),
            })?;
        Ok(LoopbackBefore {
            flags: lo0.flags,
            inet: lo0.inet,
            inet6: lo0.inet6,
        })
    }

    /// Give jail `jid`'s lo0 127.0.0.1/8 and ::1 and bring it up, as far as it lacked them
    /// `before`.
    fn raise_loopback(
        &self,
        jid: Jid,
        before: &LoopbackBefore,
        undo: &mut Vec<Undo>,
    ) -> Result<(), NetworkError> {
        let kernel = &*self.kernel;
        let jail = Vnet::Jail(jid);
        let step = |what: String| format!("jail {jid}: {what}");
        undo.push(Undo::RestoreLoopback {
            jid,
            before: before.clone(),
        });
        if !before.inet.iter().any(|(a, _)| *a == Ipv4Addr::LOCALHOST) {
            kernel
                .add_inet_alias(jail, LOOPBACK, &InetAlias::new(Ipv4Addr::LOCALHOST, 8))
                .during(|| step("add 127.0.0.1 to lo0".to_string()))?;
        }
        if !before.inet6.iter().any(|(a, _)| *a == Ipv6Addr::LOCALHOST) {
            kernel
                .add_inet6_alias(jail, LOOPBACK, &Inet6Alias::new(Ipv6Addr::LOCALHOST, 128))
                .during(|| step("add ::1 to lo0".to_string()))?;
        }
        if !before.flags.contains(IfFlags::UP) {
            kernel
                .set_interface_flags(jail, LOOPBACK, before.flags.with(IfFlags::UP))
                .during(|| step("bring lo0 up".to_string()))?;
        }
        Ok(())
    }

    /// Detach container `id`: undo its attach, last step first, and release its address,
    /// names and ports. Detaching a container that is not attached is Ok, and so is finding
    /// pieces already gone (the jail was removed first and took its end of the epair along).
    pub fn detach(&self, id: &str) -> Result<(), NetworkError> {
        // Waits for an attach of the same container still at work (containerd's delete after
        // a Create that timed out): tearing down under it would leave what it makes next.
        let _claim = self.store.claim(RecordKey::Container(id))?;
        match self.container(id)? {
            Some(record) => self.tear_down(id, &record),
            None => Ok(()),
        }
    }

    /// Undo container `id`'s attach as `record` has it, then forget it. The caller holds
    /// the claim on it.
    fn tear_down(&self, id: &str, record: &ContainerRecord) -> Result<(), NetworkError> {
        // The pending steps go last, and so are undone first: an epair's interim name among
        // them is unique only while the renamed epair still holds its unit.
        let mut steps = teardown(record);
        steps.extend(record.pending.iter().cloned());
        let leftovers = in_vnet_session(&*self.kernel, record.jid, || {
            undo_all(&*self.kernel, &steps)
        });
        if !leftovers.is_empty() {
            return Err(NetworkError::TeardownIncomplete {
                what: format!("container {id:?}"),
                leftovers: leftovers.reasons,
            });
        }
        transact(&self.store, |s| {
            release(s, id, None);
            Ok(())
        })
    }
}

/// The undo steps of a whole attach, in the order attach takes them.
fn teardown(record: &ContainerRecord) -> Vec<Undo> {
    let host_end = host_end_name(&record.key);
    let mut steps = vec![
        Undo::Destroy {
            vnet: Vnet::Host,
            name: host_end.clone(),
        },
        Undo::BridgeDelete {
            bridge: bridge_name(&record.network),
            member: host_end,
        },
    ];
    // A record from before lo0's old state was kept with it: leave lo0 alone.
    if let Some(before) = &record.loopback {
        steps.push(Undo::RestoreLoopback {
            jid: record.jid,
            before: before.clone(),
        });
    }
    if !record.ports.is_empty() {
        steps.push(Undo::PfFlush {
            anchor: container_anchor(&record.key),
            rulesets: CONTAINER_RULESETS.to_vec(),
        });
    }
    steps
}

/// Bring an interface up, keeping its other flags (as ifconfig does).
fn raise<K: Kernel + ?Sized>(kernel: &K, vnet: Vnet, name: &str) -> crate::kernel::KResult<()> {
    let flags = kernel.interface_flags(vnet, name)?;
    kernel.set_interface_flags(vnet, name, flags.with(IfFlags::UP))
}

fn check_request(request: &AttachRequest) -> Result<(), NetworkError> {
    let invalid = |field: &str, value: String, reason: &str| NetworkError::InvalidValue {
        network: request.network.clone(),
        field: field.to_string(),
        value,
        reason: reason.to_string(),
    };
    if request.container_id.is_empty() {
        return Err(invalid("container_id", "\"\"".into(), "must not be empty"));
    }
    for (i, port) in request.ports.iter().enumerate() {
        if port.host_port == 0 || port.container_port == 0 {
            return Err(invalid(
                "ports",
                format!("{}:{}/{}", port.host_port, port.container_port, port.proto),
                "port 0 cannot be published",
            ));
        }
        if request.ports[..i]
            .iter()
            .any(|p| p.proto == port.proto && p.host_port == port.host_port)
        {
            return Err(NetworkError::PortTaken {
                proto: port.proto,
                port: port.host_port,
                holder: request.container_id.clone(),
            });
        }
    }
    Ok(())
}

/// The first transaction of an attach: check everything, then take an address, a key and
/// the ports, and record the container as attaching.
fn reserve(
    s: &mut NetState,
    request: &AttachRequest,
    loopback: &LoopbackBefore,
    owner: &str,
) -> Result<Plan, NetworkError> {
    let id = &request.container_id;
    if let Some(existing) = s.containers.get(id) {
        return Err(NetworkError::AlreadyAttached {
            container: id.clone(),
            network: existing.network.clone(),
        });
    }
    let network = s
        .networks
        .get(&request.network)
        .ok_or_else(|| NetworkError::UnknownNetwork {
            network: request.network.clone(),
        })?;
    if network.status != NetworkStatus::Ready {
        return Err(NetworkError::NetworkNotReady {
            network: request.network.clone(),
        });
    }
    if !request.ports.is_empty() && network.egress.is_none() {
        return Err(NetworkError::NoEgress {
            network: request.network.clone(),
        });
    }
    for port in &request.ports {
        if let Some(holder) = s.ports.get(&port_key(port.proto, port.host_port)) {
            return Err(NetworkError::PortTaken {
                proto: port.proto,
                port: port.host_port,
                holder: holder.clone(),
            });
        }
    }
    let range = network.host_range();
    let ipam_next_before = network.ipam.next();
    let offset = network
        .ipam
        .peek(range)
        .ok_or_else(|| NetworkError::SubnetExhausted {
            network: request.network.clone(),
            subnet: network.config.subnet.into(),
        })?;
    let key = (0..=u32::MAX)
        .map(|salt| container_key(id, salt))
        .find(|key| !s.keys.contains_key(key))
        .ok_or_else(|| NetworkError::Storage("no free container key".into()))?;

    // Everything checked: now change.
    let Some(network) = s.networks.get_mut(&request.network) else {
        return Err(NetworkError::UnknownNetwork {
            network: request.network.clone(),
        });
    };
    network.ipam.allocate(range);
    network.containers.insert(id.clone());
    let record = ContainerRecord {
        network: request.network.clone(),
        jid: request.jid,
        key: key.clone(),
        offset,
        address: network.config.address(offset),
        address6: network.config.address6(offset),
        ports: request.ports.clone(),
        status: AttachStatus::Attaching,
        loopback: Some(loopback.clone()),
        // The epair's first interim name, on disk before the epair exists.
        pending: vec![Undo::Destroy {
            vnet: Vnet::Host,
            name: interim_name("epair", interim_unit(&key, 0)),
        }],
        owner: Some(owner.to_string()),
    };
    let plan = Plan {
        id: id.clone(),
        record: record.clone(),
        config: network.config.clone(),
        egress: network.egress.clone(),
        ipam_next_before,
    };
    s.keys.insert(key, id.clone());
    for port in &request.ports {
        s.ports
            .insert(port_key(port.proto, port.host_port), id.clone());
    }
    s.containers.insert(id.clone(), record);
    Ok(plan)
}

/// Forget container `id`: give back its address, key and ports. `abandoned` (the allocator's
/// cursor from before) when the attach failed: its address was never used, so the allocator
/// goes back to where it was rather than holding the address back.
fn release(s: &mut NetState, id: &str, abandoned: Option<u32>) {
    let Some(record) = s.containers.remove(id) else {
        return;
    };
    if s.keys.get(&record.key).is_some_and(|holder| holder == id) {
        s.keys.remove(&record.key);
    }
    for port in &record.ports {
        let key = port_key(port.proto, port.host_port);
        if s.ports.get(&key).is_some_and(|holder| holder == id) {
            s.ports.remove(&key);
        }
    }
    if let Some(network) = s.networks.get_mut(&record.network) {
        let range = network.host_range();
        match abandoned {
            Some(next_before) => network.ipam.unallocate(record.offset, next_before, range),
            None => network.ipam.release(record.offset, range),
        }
        network.containers.remove(id);
    }
}
