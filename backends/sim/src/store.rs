//! Where a simulated machine lives: in this process's memory, or in a state file that every
//! process of one simulated machine opens (containerd runs a shim as several processes).
//!
//! The file is guarded by an exclusive flock(2) on a sibling `.lock` file; each call reads the
//! machine, changes it and writes it back (to a temporary file renamed over the old one, so a
//! crash mid-write never leaves half a machine); the file and then its directory are fsynced.
//! A call that changes nothing (an inspection) writes nothing.
//!
//! For crash tests a process may ask to die right after its Nth kernel call (`DIE_AFTER_ENV`):
//! the call's effect is saved, then the process exits with `DIED_EXIT_CODE`, as if killed
//! between two calls. Its flock(2)s go with it, as they do when a real process dies.

use crate::machine::{Machine, SimConfig};
use nix::fcntl::{Flock, FlockArg};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// The environment variable naming a shared state file.
pub const STATE_ENV: &str = "ZELLE_SIM_STATE";

/// The environment variable that makes this process exit right after its Nth kernel call
/// (counting from 1) to a shared machine.
pub const DIE_AFTER_ENV: &str = "ZELLE_SIM_DIE_AFTER_CALLS";
/// The exit status of a process that died as `DIE_AFTER_ENV` asked.
pub const DIED_EXIT_CODE: i32 = 86;

/// Kernel calls this process made to shared machines.
static CALLS_MADE: AtomicU64 = AtomicU64::new(0);

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
                machine.forget_gone_callers();
                let value = f(&mut machine);
                if machine != before {
                    save(path, &machine)?;
                }
                // Every kernel call is traced, so a call is what moves `seq`.
                if machine.seq != before.seq {
                    die_if_asked(CALLS_MADE.fetch_add(1, Ordering::SeqCst) + 1);
                }
                Ok(value)
            }
        }
    }
}

fn die_if_asked(calls: u64) {
    let limit = std::env::var(DIE_AFTER_ENV)
        .ok()
        .and_then(|n| n.parse::<u64>().ok());
    if limit == Some(calls) {
        std::process::exit(DIED_EXIT_CODE);
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
    let mut file = File::create(&tmp)?;
    file.write_all(&bytes)?;
    file.sync_all()?;
    fs::rename(&tmp, path)?;
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    File::open(dir)?.sync_all()
}

/// Create or replace the state file at `path` with a fresh machine.
pub(crate) fn reset(path: &Path, config: &SimConfig) -> io::Result<()> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)?;
    }
    let _lock = lock(path)?;
    save(path, &Machine::new(config.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn an_inspection_does_not_rewrite_the_file_and_a_change_does() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("machine.json");
        let config = SimConfig::default();
        reset(&path, &config).unwrap();
        let store = Store::File {
            path: path.clone(),
            config,
        };
        let before = fs::metadata(&path).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        let dump = store.with(|m| m.dump()).unwrap();
        assert!(!dump.is_empty());
        let after = fs::metadata(&path).unwrap();
        assert_eq!(
            (before.ino(), before.mtime(), before.mtime_nsec()),
            (after.ino(), after.mtime(), after.mtime_nsec()),
            "an inspection rewrote the machine"
        );
        store.with(|m| m.seq += 1).unwrap();
        assert_ne!(fs::metadata(&path).unwrap().ino(), before.ino());
    }
}
