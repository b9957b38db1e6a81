//! Where a simulated machine lives: in this process's memory, or in a state file that every
//! process of one simulated machine opens (containerd runs a shim as several processes).
//!
//! The file is guarded by an exclusive flock(2) on a sibling `.lock` file; each call reads the
//! machine, changes it and writes it back (to a temporary file renamed over the old one, so a
//! crash mid-write never leaves half a machine).

use crate::machine::{Machine, SimConfig};
use nix::fcntl::{Flock, FlockArg};
use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The environment variable naming a shared state file.
pub const STATE_ENV: &str = "ZELLE_SIM_STATE";

pub(crate) enum Store {
    Memory(Mutex<Box<Machine>>),
    File { path: PathBuf, config: SimConfig },
}

impl Store {
    /// Run `f` on the machine, holding it exclusively for the duration.
    pub(crate) fn with<T>(&self, f: impl FnOnce(&mut Machine) -> T) -> io::Result<T> {
        match self {
            Store::Memory(machine) => {
                // A panic while holding the lock leaves a machine that is still consistent
                // (calls change state only after their checks), so keep using it.
                let mut machine = machine.lock().unwrap_or_else(|e| e.into_inner());
                Ok(f(&mut machine))
            }
            Store::File { path, config } => {
                let _lock = lock(path)?;
                let mut machine = load(path)?.unwrap_or_else(|| Machine::new(config.clone()));
                let before = machine.clone();
                let value = f(&mut machine);
                if machine != before {
                    save(path, &machine)?;
                }
                Ok(value)
            }
        }
    }
}

fn lock_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

fn lock(path: &Path) -> io::Result<Flock<File>> {
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(lock_path(path))?;
    Flock::lock(file, FlockArg::LockExclusive).map_err(|(_, errno)| io::Error::from(errno))
}

fn load(path: &Path) -> io::Result<Option<Machine>> {
    match fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: {e}", path.display()),
            )
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

fn save(path: &Path, machine: &Machine) -> io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let bytes = serde_json::to_vec(machine).map_err(io::Error::other)?;
    fs::write(&tmp, bytes)?;
    fs::rename(&tmp, path)
}

/// Create or replace the state file at `path` with a fresh machine.
pub(crate) fn reset(path: &Path, config: &SimConfig) -> io::Result<()> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)?;
    }
    let _lock = lock(path)?;
    save(path, &Machine::new(config.clone()))
}
