//! What zelle remembers about its networks and attached containers, and the store that keeps
//! it across processes.
//!
//! Every record is written before the kernel change it describes is made, so that a process
//! that dies half way leaves enough behind for the next one (or a retried detach or remove) to
//! clean up, and so that two processes never hand out the same address, name or port.

use super::config::{NetworkConfig, PortProtocol, PublishedPort};
use super::error::NetworkError;
use super::ipam::{HostRange, Ipam};
use super::undo::Undo;
use crate::kernel::{IfFlags, Jid};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::{Arc, Mutex};

/// Everything the store keeps. Maps are `BTreeMap`s so that the stored form is deterministic.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetState {
    pub networks: BTreeMap<String, NetworkRecord>,
    /// Attached (or attaching) containers by container id.
    pub containers: BTreeMap<String, ContainerRecord>,
    /// Container keys in use (interface and anchor names derive from them), with the
    /// container holding each.
    pub keys: BTreeMap<String, String>,
    /// Published host ports (`"8080/tcp"`), with the container holding each.
    pub ports: BTreeMap<String, String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum NetworkStatus {
    /// Recorded; the kernel objects may not all exist yet.
    Creating,
    Ready,
    /// Being taken down; the kernel objects may be partly gone.
    Removing,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkRecord {
    /// As the user gave it.
    pub config: NetworkConfig,
    /// The egress interface in effect (the configured one or the default route's).
    pub egress: Option<String>,
    pub status: NetworkStatus,
    pub ipam: Ipam,
    /// Ids of the containers attached or attaching.
    pub containers: BTreeSet<String>,
    /// Undo steps a failed create could not take; removing (or creating) the network again
    /// takes them.
    #[serde(default)]
    pub pending: Vec<Undo>,
}

impl NetworkRecord {
    pub(crate) fn host_range(&self) -> HostRange {
        HostRange {
            last: self.config.span() - 2,
            gateway: self.config.gateway_offset(),
        }
    }
}

/// A jail's lo0 as it was before attaching configured it, so that detach puts it back.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoopbackBefore {
    pub flags: IfFlags,
    pub inet: Vec<(Ipv4Addr, u8)>,
    pub inet6: Vec<(Ipv6Addr, u8)>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AttachStatus {
    /// Recorded; the kernel objects may not all exist yet (and lo0's old state is unknown).
    Attaching,
    Attached(LoopbackBefore),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerRecord {
    pub network: String,
    pub jid: Jid,
    /// The short name the kernel knows the container by (see `names::container_key`).
    pub key: String,
    /// The host part of the container's addresses.
    pub offset: u32,
    pub address: Ipv4Addr,
    pub address6: Option<Ipv6Addr>,
    pub ports: Vec<PublishedPort>,
    pub status: AttachStatus,
    /// Undo steps a failed attach could not take (an epair still under the name the kernel
    /// gave it, say); detach takes them.
    #[serde(default)]
    pub pending: Vec<Undo>,
}

pub(crate) fn port_key(proto: PortProtocol, port: u16) -> String {
    format!("{port}/{proto}")
}

/// Where [`NetState`] lives. The unit of work is a transaction: read the state, change it,
/// write it back, with no other transaction (in this process or another) in between.
///
/// A file-backed store honours that across processes with an exclusive flock(2) held from
/// reading to writing (and writes a temporary file renamed over the old one, so a crash never
/// leaves half a state).
pub trait NetStore: Send + Sync {
    /// Run `body` once on the current state. When it returns `Ok`, its changes are kept;
    /// when it returns `Err`, that error is returned and the stored state must stay as it
    /// was. zelle's bodies check everything before they change anything, so a body that
    /// fails has changed nothing, and a store may simply not write the state back.
    fn transaction(
        &self,
        body: &mut dyn FnMut(&mut NetState) -> Result<(), NetworkError>,
    ) -> Result<(), NetworkError>;
}

/// A store in this process's memory: for tests, benches, and a shim that keeps nothing.
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: Mutex<NetState>,
}

impl MemoryStore {
    pub fn new(state: NetState) -> Self {
        MemoryStore {
            state: Mutex::new(state),
        }
    }

    /// A copy of the state as it is now.
    pub fn snapshot(&self) -> NetState {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl NetStore for MemoryStore {
    fn transaction(
        &self,
        body: &mut dyn FnMut(&mut NetState) -> Result<(), NetworkError>,
    ) -> Result<(), NetworkError> {
        // A body that panicked changed nothing it had not checked first; keep going.
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        body(&mut state)
    }
}

impl<S: NetStore + ?Sized> NetStore for Arc<S> {
    fn transaction(
        &self,
        body: &mut dyn FnMut(&mut NetState) -> Result<(), NetworkError>,
    ) -> Result<(), NetworkError> {
        (**self).transaction(body)
    }
}

/// Run `body` as one transaction of `store` and return its value.
pub(crate) fn transact<S: NetStore + ?Sized, T>(
    store: &S,
    body: impl FnOnce(&mut NetState) -> Result<T, NetworkError>,
) -> Result<T, NetworkError> {
    let mut body = Some(body);
    let mut value = None;
    store.transaction(&mut |state| {
        let body = body
            .take()
            .ok_or_else(|| NetworkError::Storage("the store ran a transaction twice".into()))?;
        value = Some(body(state)?);
        Ok(())
    })?;
    value.ok_or_else(|| NetworkError::Storage("the store did not run the transaction".into()))
}
