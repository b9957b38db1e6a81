//! The state directory: per container, what the runtime made in the kernel, each piece written
//! down *before* the kernel call that makes it. A runtime that dies at any point leaves a
//! record from which a later [`Runtime::delete`](super::Runtime::delete) undoes everything,
//! with no memory of the dead process.
//!
//! `core` reads no files, so the store is a trait: [`MemoryContainerStore`] here for tests
//! and benches, a directory of fsynced JSON files in the shim.

use super::hooks::HookPlan;
use crate::kernel::{ExitStatus, Jid, Pid};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// Where a container is in its life (runtime-spec `state.status`, plus the steps between).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Status {
    /// Create is at work (or died at work): the record lists what exists so far.
    Creating,
    /// Created: the jail and its mounts exist, the init has not run.
    Created,
    /// The init runs (`paused` says whether its processes are stopped).
    Running,
    /// The init has exited.
    Stopped,
    /// Delete is at work (or died at work).
    Deleting,
}

impl Status {
    /// The word runtime-spec's `state` uses (`creating`, `created`, `running`, `stopped`).
    pub fn oci_word(self, paused: bool) -> &'static str {
        match self {
            Status::Creating => "creating",
            Status::Created => "created",
            Status::Running if paused => "paused",
            Status::Running => "running",
            Status::Stopped | Status::Deleting => "stopped",
        }
    }
}

/// A mount the runtime made (or was about to make) inside the container.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MountRecord {
    pub fstype: String,
    /// The mount point on the host, free of links.
    pub on: String,
}

/// One process the runtime started: the init, or an exec.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessRecord {
    pub pid: Pid,
    /// Set once the exit has been seen.
    pub exit: Option<ExitStatus>,
}

/// What must outlive the runtime process, for one container.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerState {
    pub id: String,
    pub bundle: String,
    /// The container's root on the host: the jail's path, where its mounts go.
    pub root: String,
    pub status: Status,
    #[serde(default)]
    pub paused: bool,
    /// The jail's name, written before jail_set(2); its jid once jail_set answered.
    pub jail: Option<String>,
    pub jid: Option<Jid>,
    /// Mounts in the order made; each written before its nmount(2).
    pub mounts: Vec<MountRecord>,
    /// The zelle network attached (or being attached); `core::network` keeps the details.
    pub network: Option<String>,
    /// rctl rules for `jail:<name>` may exist (written before the first rctl_add_rule(2)).
    pub limits: bool,
    pub init: Option<ProcessRecord>,
    /// Exec processes by their exec id.
    #[serde(default)]
    pub execs: BTreeMap<String, ProcessRecord>,
    /// The bundle's `ociVersion` and annotations, for the OCI state.
    #[serde(default)]
    pub oci_version: String,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// The poststop hooks, run by whichever delete ends the container.
    #[serde(default)]
    pub poststop: Vec<HookPlan>,
}

impl ContainerState {
    pub fn new(id: &str, bundle: &str, root: &str) -> Self {
        ContainerState {
            id: id.to_string(),
            bundle: bundle.to_string(),
            root: root.to_string(),
            status: Status::Creating,
            paused: false,
            jail: None,
            jid: None,
            mounts: Vec::new(),
            network: None,
            limits: false,
            init: None,
            execs: BTreeMap::new(),
            oci_version: String::new(),
            annotations: BTreeMap::new(),
            poststop: Vec::new(),
        }
    }
}

/// Why the store failed.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("container {0:?} already exists")]
    Exists(String),
    #[error("state directory: {0}")]
    Io(String),
}

/// The state directory.
pub trait ContainerStore: Send + Sync {
    /// Record a new container; `StoreError::Exists` when the id is taken. This is what makes
    /// two creates of one id exclusive.
    fn insert(&self, state: &ContainerState) -> Result<(), StoreError>;
    /// Replace a container's record, durably, before returning.
    fn save(&self, state: &ContainerState) -> Result<(), StoreError>;
    fn load(&self, id: &str) -> Result<Option<ContainerState>, StoreError>;
    /// Forget a container; Ok when it is not there.
    fn remove(&self, id: &str) -> Result<(), StoreError>;
    /// Every recorded id, sorted.
    fn ids(&self) -> Result<Vec<String>, StoreError>;
}

/// A store in memory. Clones share it, so a test can hand a "dead" runtime's store to a new
/// one.
#[derive(Clone, Default)]
pub struct MemoryContainerStore {
    records: Arc<Mutex<BTreeMap<String, ContainerState>>>,
}

impl MemoryContainerStore {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, ContainerState>> {
        // A runtime that panicked (a crash test) leaves the map whole: each change is one insert.
        self.records.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl ContainerStore for MemoryContainerStore {
    fn insert(&self, state: &ContainerState) -> Result<(), StoreError> {
        let mut records = self.lock();
        if records.contains_key(&state.id) {
            return Err(StoreError::Exists(state.id.clone()));
        }
        records.insert(state.id.clone(), state.clone());
        Ok(())
    }

    fn save(&self, state: &ContainerState) -> Result<(), StoreError> {
        self.lock().insert(state.id.clone(), state.clone());
        Ok(())
    }

    fn load(&self, id: &str) -> Result<Option<ContainerState>, StoreError> {
        Ok(self.lock().get(id).cloned())
    }

    fn remove(&self, id: &str) -> Result<(), StoreError> {
        self.lock().remove(id);
        Ok(())
    }

    fn ids(&self) -> Result<Vec<String>, StoreError> {
        Ok(self.lock().keys().cloned().collect())
    }
}
