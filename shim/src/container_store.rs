//! The state directory on disk: one JSON record per container (`<id>.json`), each change
//! fsynced before the runtime makes the kernel change it describes, so a later `delete`, in
//! another process, finds everything a dead shim made.

use crate::state_file::{replace_durably, sync_dir_of, write_synced};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use zelle_core::runtime::{ContainerState, ContainerStore, StoreError};

pub struct FileContainerStore {
    dir: PathBuf,
}

impl FileContainerStore {
    /// The state directory `dir`, made when missing.
    pub fn new(dir: impl Into<PathBuf>) -> io::Result<Self> {
        let dir = dir.into();
        fs::create_dir_all(&dir)?;
        Ok(FileContainerStore { dir })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The record's file. Ids come from containerd; one that could name another file is
    /// refused (the runtime refuses such ids anyway, as jail names).
    fn path(&self, id: &str) -> Result<PathBuf, StoreError> {
        if id.is_empty() || id.contains('/') || id.starts_with('.') || id.contains('\0') {
            return Err(StoreError::Io(format!(
                "container id {id:?} cannot name a file in the state directory"
            )));
        }
        Ok(self.dir.join(format!("{id}.json")))
    }
}

/// A name for a file written aside, unique to this process and call (threads of one shim
/// write records at once).
fn aside(dir: &Path, id: &str) -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    dir.join(format!(".{id}.{}-{n}.tmp", std::process::id()))
}

fn io_error(what: &str, path: &Path, e: impl std::fmt::Display) -> StoreError {
    StoreError::Io(format!("{what} {}: {e}", path.display()))
}

fn bytes(state: &ContainerState) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec_pretty(state).map_err(|e| StoreError::Io(e.to_string()))
}

impl ContainerStore for FileContainerStore {
    fn insert(&self, state: &ContainerState) -> Result<(), StoreError> {
        let path = self.path(&state.id)?;
        // Written aside, then linked into place: link(2) fails on an existing name, so two
        // creates of one id cannot both win, and no reader sees half a record.
        let tmp = aside(&self.dir, &state.id);
        write_synced(&tmp, &bytes(state)?).map_err(|e| io_error("write", &tmp, e))?;
        let linked = fs::hard_link(&tmp, &path);
        let _ = fs::remove_file(&tmp);
        match linked {
            Ok(()) => sync_dir_of(&path).map_err(|e| io_error("sync", &path, e)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                Err(StoreError::Exists(state.id.clone()))
            }
            Err(e) => Err(io_error("create", &path, e)),
        }
    }

    fn save(&self, state: &ContainerState) -> Result<(), StoreError> {
        let path = self.path(&state.id)?;
        let tmp = aside(&self.dir, &state.id);
        replace_durably(&path, &tmp, &bytes(state)?).map_err(|e| io_error("write", &path, e))
    }

    fn load(&self, id: &str) -> Result<Option<ContainerState>, StoreError> {
        let path = self.path(id)?;
        match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| io_error("read", &path, e)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_error("read", &path, e)),
        }
    }

    fn remove(&self, id: &str) -> Result<(), StoreError> {
        let path = self.path(id)?;
        match fs::remove_file(&path) {
            Ok(()) => sync_dir_of(&path).map_err(|e| io_error("sync", &path, e)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_error("remove", &path, e)),
        }
    }

    fn ids(&self) -> Result<Vec<String>, StoreError> {
        let entries = fs::read_dir(&self.dir).map_err(|e| io_error("list", &self.dir, e))?;
        let mut ids: Vec<String> = entries
            .filter_map(|entry| {
                let name = entry.ok()?.file_name().into_string().ok()?;
                let id = name.strip_suffix(".json")?;
                (!id.starts_with('.')).then(|| id.to_string())
            })
            .collect();
        ids.sort();
        Ok(ids)
    }
}
