//! A JSON state file shared by every process of one shim installation.
//!
//! containerd runs a shim as several processes (`start`, the server, `delete`), and a host may
//! run several shims, so each change is one read-modify-write under an exclusive flock(2) on a
//! sibling `.lock` file. The new state goes to a temporary file renamed over the old one, so a
//! crash mid-write never leaves half a state behind; the file and then its directory are
//! fsynced, so a state that was written is still there after a power cut (the state must be
//! on disk before the kernel change it describes). A transaction that changes nothing writes
//! nothing.

use nix::fcntl::{Flock, FlockArg};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::marker::PhantomData;
use std::path::{Path, PathBuf};

pub struct StateFile<T> {
    path: PathBuf,
    _state: PhantomData<fn() -> T>,
}

impl<T: Serialize + DeserializeOwned + Default> StateFile<T> {
    /// The state kept at `path`; a missing file reads as `T::default()`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        StateFile {
            path: path.into(),
            _state: PhantomData,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Run `body` on the current state with the file locked; write the state back only when
    /// `body` succeeds.
    pub fn transaction<R, E: From<io::Error>>(
        &self,
        body: impl FnOnce(&mut T) -> Result<R, E>,
    ) -> Result<R, E> {
        let _lock = self.lock()?;
        let mut state = self.read()?;
        let before = to_json(&state)?;
        let value = body(&mut state)?;
        let after = to_json(&state)?;
        if after != before {
            self.write(&after)?;
        }
        Ok(value)
    }

    fn lock(&self) -> io::Result<Flock<File>> {
        if let Some(dir) = self.path.parent() {
            fs::create_dir_all(dir)?;
        }
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(self.sibling(".lock"))?;
        Flock::lock(file, FlockArg::LockExclusive).map_err(|(_, errno)| io::Error::from(errno))
    }

    fn read(&self) -> io::Result<T> {
        match fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{}: {e}", self.path.display()),
                )
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(T::default()),
            Err(e) => Err(e),
        }
    }

    fn write(&self, bytes: &[u8]) -> io::Result<()> {
        replace_durably(&self.path, &self.sibling(".tmp"), bytes)
    }

    fn sibling(&self, suffix: &str) -> PathBuf {
        let mut name = self.path.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    }
}

fn to_json<T: Serialize>(state: &T) -> io::Result<Vec<u8>> {
    serde_json::to_vec_pretty(state).map_err(io::Error::other)
}

/// Replace `path` with `bytes`: written to `tmp` and fsynced, renamed over `path`, and the
/// directory fsynced, so that after a crash `path` holds the old bytes or the new, never half.
pub(crate) fn replace_durably(path: &Path, tmp: &Path, bytes: &[u8]) -> io::Result<()> {
    write_synced(tmp, bytes)?;
    fs::rename(tmp, path)?;
    sync_dir_of(path)
}

/// Create `path` with `bytes`, synced to disk.
pub(crate) fn write_synced(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = File::create(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// fsync the directory holding `path`: a rename, link or unlink is durable only then.
pub(crate) fn sync_dir_of(path: &Path) -> io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_persist_and_failed_bodies_write_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let file = StateFile::<Vec<u32>>::new(dir.path().join("state.json"));
        file.transaction(|v| {
            v.push(1);
            Ok::<_, io::Error>(())
        })
        .unwrap();
        let failed: Result<(), io::Error> = file.transaction(|v| {
            v.push(2);
            Err(io::Error::other("refused"))
        });
        assert!(failed.is_err());
        let again = StateFile::<Vec<u32>>::new(file.path());
        let seen = again
            .transaction(|v| Ok::<_, io::Error>(v.clone()))
            .unwrap();
        assert_eq!(seen, vec![1]);
    }

    #[test]
    fn a_transaction_that_changes_nothing_does_not_rewrite_the_file() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let file = StateFile::<Vec<u32>>::new(&path);
        file.transaction(|_| Ok::<_, io::Error>(())).unwrap();
        assert!(
            !path.exists(),
            "an unchanged default state created the file"
        );
        file.transaction(|v| {
            v.push(1);
            Ok::<_, io::Error>(())
        })
        .unwrap();
        let before = fs::metadata(&path).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        let seen = file.transaction(|v| Ok::<_, io::Error>(v.clone())).unwrap();
        assert_eq!(seen, [1]);
        let after = fs::metadata(&path).unwrap();
        assert_eq!(
            (before.ino(), before.mtime(), before.mtime_nsec()),
            (after.ino(), after.mtime(), after.mtime_nsec()),
            "a read-only transaction rewrote the file"
        );
        file.transaction(|v| {
            v.push(2);
            Ok::<_, io::Error>(())
        })
        .unwrap();
        assert_ne!(fs::metadata(&path).unwrap().ino(), before.ino());
    }

    #[test]
    fn a_corrupt_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        fs::write(&path, b"{not json").unwrap();
        let err = StateFile::<Vec<u32>>::new(&path)
            .transaction(|_| Ok::<_, io::Error>(()))
            .unwrap_err();
        assert!(err.to_string().contains("state.json"), "{err}");
    }
}
