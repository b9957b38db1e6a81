//! What zelle remembers about its networks and attached containers, and the store that keeps
//! it across processes.
//!
//! Every record is written before the kernel change it describes is made, so that a process
//! that dies half way leaves enough behind for the next one (or a retried detach or remove) to
//! clean up, and so that two processes never hand out the same address, name or port.
//!
//! Work on one record (creating or removing a network, attaching or detaching a container)
//! spans several transactions with kernel calls between them, so it is done under a
//! [`Claim`] on the record, taken from the store: while one caller holds it, any other
//! waits. Whoever gets the claim knows nobody else is working on the record, so a record it
//! finds half done (`Creating`, `Attaching`, `Removing`) was abandoned by a caller that died
//! or failed, and it takes the record over. How a store tells a live holder from a dead one
//! is the store's business (the file store uses flock(2), which the kernel releases when the
//! holder dies), so `core` never looks at processes itself.

use super::config::{NetworkConfig, PortProtocol, PublishedPort};
use super::error::NetworkError;
use super::ipam::{HostRange, Ipam};
use super::undo::Undo;
use crate::kernel::{IfFlags, Jid};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

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
    /// takes them. While the bridge is being made, also the name the kernel will give it
    /// before its rename (recorded before it is created).
    #[serde(default)]
    pub pending: Vec<Undo>,
    /// Who is creating or removing the network ([`Claim::owner`]); `None` when nobody is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
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

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AttachStatus {
    /// Recorded; the kernel objects may not all exist yet.
    Attaching,
    Attached,
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
    /// The jail's lo0 as it was before the attach, recorded before the attach touches it;
    /// detach puts it back.
    #[serde(default)]
    pub loopback: Option<LoopbackBefore>,
    /// Undo steps a failed attach could not take; detach takes them. While attaching, also
    /// the epair under the name the kernel gives it before its rename (recorded before it is
    /// created).
    #[serde(default)]
    pub pending: Vec<Undo>,
    /// Who is attaching the container ([`Claim::owner`]); `None` when nobody is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
}

/// A record that work spans several transactions of, and so is claimed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordKey<'a> {
    Network(&'a str),
    Container(&'a str),
}

impl RecordKey<'_> {
    pub fn kind(&self) -> &'static str {
        match self {
            RecordKey::Network(_) => "network",
            RecordKey::Container(_) => "container",
        }
    }

    pub fn name(&self) -> &str {
        match self {
            RecordKey::Network(name) | RecordKey::Container(name) => name,
        }
    }
}

impl fmt::Display for RecordKey<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {:?}", self.kind(), self.name())
    }
}

/// The right to work on one record, held from the first transaction of an operation to its
/// last; dropping it lets the next caller in.
pub struct Claim {
    owner: String,
    _held: Box<dyn Send>,
}

impl Claim {
    /// A claim by `owner` (a name unique to the holder, shown in the record and in errors),
    /// held for as long as `held` lives.
    pub fn new(owner: String, held: impl Send + 'static) -> Self {
        Claim {
            owner,
            _held: Box::new(held),
        }
    }

    pub fn owner(&self) -> &str {
        &self.owner
    }
}

impl fmt::Debug for Claim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Claim").field("owner", &self.owner).finish()
    }
}

/// How long a claim waits for another holder before giving up, unless a store says otherwise.
/// The work it waits for (a create, an attach) takes milliseconds, and its outcome is what
/// the waiter needs (a ready network, a container to detach), so waiting beats failing; the
/// bound keeps a holder stuck in the kernel from hanging every other caller.
pub const CLAIM_PATIENCE: Duration = Duration::from_secs(30);

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

    /// Claim `record` for this caller, waiting a bounded time while another caller (in this
    /// process or another) holds it, then failing with [`NetworkError::InProgress`]. A holder
    /// that died must not keep its claim. Never called inside a transaction, so a claim is
    /// always taken before the state lock and no two callers wait for each other.
    fn claim(&self, record: RecordKey<'_>) -> Result<Claim, NetworkError>;
}

/// A store in this process's memory: for tests, benches, and a shim that keeps nothing.
#[derive(Debug)]
pub struct MemoryStore {
    state: Mutex<NetState>,
    claims: Arc<Claims>,
    patience: Duration,
}

/// The records claimed in a [`MemoryStore`], by owner.
#[derive(Debug, Default)]
struct Claims {
    held: Mutex<BTreeMap<String, String>>,
    freed: Condvar,
}

/// A [`MemoryStore`] claim: gives the record back when dropped (also when its holder
/// panics, as a dead process's flock goes away).
struct MemoryClaim {
    claims: Arc<Claims>,
    key: String,
}

impl Drop for MemoryClaim {
    fn drop(&mut self) {
        let mut held = self.claims.held.lock().unwrap_or_else(|e| e.into_inner());
        held.remove(&self.key);
        self.claims.freed.notify_all();
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        MemoryStore::new(NetState::default())
    }
}

impl MemoryStore {
    pub fn new(state: NetState) -> Self {
        MemoryStore {
            state: Mutex::new(state),
            claims: Arc::default(),
            patience: CLAIM_PATIENCE,
        }
    }

    /// How long a claim waits for another holder.
    pub fn with_patience(mut self, patience: Duration) -> Self {
        self.patience = patience;
        self
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

    fn claim(&self, record: RecordKey<'_>) -> Result<Claim, NetworkError> {
        static CLAIMS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let key = record.to_string();
        let deadline = Instant::now() + self.patience;
        let mut held = self.claims.held.lock().unwrap_or_else(|e| e.into_inner());
        while let Some(holder) = held.get(&key) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(NetworkError::InProgress {
                    record: key,
                    owner: Some(holder.clone()),
                    waited: self.patience,
                });
            }
            held = (self.claims.freed.wait_timeout(held, left))
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        let n = CLAIMS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let owner = format!("pid {} claim {n} (memory store)", std::process::id());
        held.insert(key.clone(), owner.clone());
        let claims = self.claims.clone();
        Ok(Claim::new(owner, MemoryClaim { claims, key }))
    }
}

impl<S: NetStore + ?Sized> NetStore for Arc<S> {
    fn transaction(
        &self,
        body: &mut dyn FnMut(&mut NetState) -> Result<(), NetworkError>,
    ) -> Result<(), NetworkError> {
        (**self).transaction(body)
    }

    fn claim(&self, record: RecordKey<'_>) -> Result<Claim, NetworkError> {
        (**self).claim(record)
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

/// Network `name`'s record, which `claim` works on: an error naming it when the record is
/// gone or somebody else's, so that a call never finishes work on a record it lost.
pub(crate) fn owned_network<'s>(
    s: &'s mut NetState,
    name: &str,
    claim: &Claim,
) -> Result<&'s mut NetworkRecord, NetworkError> {
    s.networks
        .get_mut(name)
        .filter(|r| r.owner.as_deref() == Some(claim.owner()))
        .ok_or_else(|| NetworkError::RecordLost {
            record: RecordKey::Network(name).to_string(),
        })
}

/// Container `id`'s record, which `claim` works on (see [`owned_network`]).
pub(crate) fn owned_container<'s>(
    s: &'s mut NetState,
    id: &str,
    claim: &Claim,
) -> Result<&'s mut ContainerRecord, NetworkError> {
    s.containers
        .get_mut(id)
        .filter(|r| r.owner.as_deref() == Some(claim.owner()))
        .ok_or_else(|| NetworkError::RecordLost {
            record: RecordKey::Container(id).to_string(),
        })
}

/// In `record`'s pending steps, replace `old` (when given) by `new`.
pub(crate) fn repoint_pending<S: NetStore + ?Sized>(
    store: &S,
    record: RecordKey<'_>,
    claim: &Claim,
    old: Option<&Undo>,
    new: Undo,
) -> Result<(), NetworkError> {
    transact(store, |s| {
        let pending = match record {
            RecordKey::Network(name) => &mut owned_network(s, name, claim)?.pending,
            RecordKey::Container(id) => &mut owned_container(s, id, claim)?.pending,
        };
        pending.retain(|step| Some(step) != old);
        pending.push(new);
        Ok(())
    })
}
