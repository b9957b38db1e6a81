//! A JSON state file shared by every process of one shim installation.
//!
//! containerd runs a shim as several processes (`start`, the server, `delete`), and a host may
//! run several shims, so each change is one read-modify-write under an exclusive flock(2) on a
//! sibling `.lock` file. The new state goes to a temporary file renamed over the old one, so a
//! crash mid-write never leaves half a state behind.

use nix::fcntl::{Flock, FlockArg};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::fs::{self, File, OpenOptions};
use std::io;
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
        let value = body(&mut state)?;
        self.write(&state)?;
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

    fn write(&self, state: &T) -> io::Result<()> {
        let tmp = self.sibling(".tmp");
        fs::write(
            &tmp,
            serde_json::to_vec_pretty(state).map_err(io::Error::other)?,
        )?;
        fs::rename(&tmp, &self.path)
    }

    fn sibling(&self, suffix: &str) -> PathBuf {
        let mut name = self.path.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    }
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
