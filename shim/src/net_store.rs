//! Where the shim keeps zelle's network state, and where it reads the network definitions.

use crate::state_file::StateFile;
use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};
use zelle_core::network::{
    parse_networks, Claim, NetState, NetStore, NetworkConfig, NetworkError, RecordKey,
    CLAIM_PATIENCE,
};

/// zelle's network state (addresses handed out, interface and anchor names, published ports)
/// in a state file shared by every shim process on the host: a restarted shim, or a second
/// one, never hands out an address that is in use.
///
/// A claim on a record is an exclusive flock(2) on `<state file>.records/<kind>-<name>.lock`,
/// held for as long as the claim. The kernel drops a flock when its holder dies, however it
/// dies, so a lock that can be taken means nobody is working on the record: no pid to check,
/// and so no pid reuse to be fooled by. flock(2) locks belong to the open file, so two claims
/// in one process exclude each other as well. The holder's name is written into the file for
/// the error a waiter gives up with.
pub struct FileNetStore {
    file: StateFile<NetState>,
    claims: PathBuf,
    patience: Duration,
}

impl FileNetStore {
    pub fn new(path: impl AsRef<Path>) -> Self {
        let path = path.as_ref();
        let mut claims = path.as_os_str().to_owned();
        claims.push(".records");
        FileNetStore {
            file: StateFile::new(path),
            claims: PathBuf::from(claims),
            patience: CLAIM_PATIENCE,
        }
    }

    /// How long a claim waits for another holder.
    pub fn with_patience(mut self, patience: Duration) -> Self {
        self.patience = patience;
        self
    }

    /// The directory holding the claims' lock files.
    pub fn claims_dir(&self) -> &Path {
        &self.claims
    }
}

/// A store failure, named by its file.
struct StoreError(NetworkError);

impl From<io::Error> for StoreError {
    fn from(e: io::Error) -> Self {
        StoreError(NetworkError::Storage(e.to_string()))
    }
}

impl NetStore for FileNetStore {
    fn transaction(
        &self,
        body: &mut dyn FnMut(&mut NetState) -> Result<(), NetworkError>,
    ) -> Result<(), NetworkError> {
        self.file
            .transaction(|state| body(state).map_err(StoreError))
            .map_err(|StoreError(e)| e)
    }

    fn claim(&self, record: RecordKey<'_>) -> Result<Claim, NetworkError> {
        let path = self.claims.join(lock_name(record));
        let storage = |e: io::Error| NetworkError::Storage(format!("{}: {e}", path.display()));
        fs::create_dir_all(&self.claims).map_err(storage)?;
        let owner = owner_name();
        let deadline = Instant::now() + self.patience;
        let mut pause = Duration::from_millis(1);
        loop {
            if let Some(lock) = try_lock(&path).map_err(storage)? {
                let mut file: &File = &lock;
                file.set_len(0)
                    .and_then(|()| file.write_all(owner.as_bytes()))
                    .map_err(storage)?;
                return Ok(Claim::new(owner, RecordLock { path, _lock: lock }));
            }
            if Instant::now() >= deadline {
                return Err(NetworkError::InProgress {
                    record: record.to_string(),
                    owner: fs::read_to_string(&path).ok().filter(|o| !o.is_empty()),
                    waited: self.patience,
                });
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(10));
        }
    }
}

/// A held claim. Its file goes away with it, so that lock files do not pile up: removed
/// while still locked, and a waiter that opened it before checks it locked the file that is
/// still at the path (see `try_lock`).
struct RecordLock {
    path: PathBuf,
    _lock: Flock<File>,
}

impl Drop for RecordLock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

/// Lock the file at `path` if nobody holds it; `None` when somebody does.
fn try_lock(path: &Path) -> io::Result<Option<Flock<File>>> {
    loop {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(path)?;
        let lock = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(lock) => lock,
            Err((_, Errno::EWOULDBLOCK)) => return Ok(None),
            Err((_, errno)) => return Err(io::Error::from(errno)),
        };
        // The holder before us removes the file on release; if it did so after we opened
        // it, we hold a lock on a file nobody else will find: open the path again.
        let ours = lock.metadata()?;
        match fs::metadata(path) {
            Ok(now) if (now.dev(), now.ino()) == (ours.dev(), ours.ino()) => return Ok(Some(lock)),
            Ok(_) => continue,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        }
    }
}

/// `<kind>-<name>.lock`, with every byte of the name outside `[A-Za-z0-9._-]` escaped as
/// `%XX`, so that any id makes one plain file name.
fn lock_name(record: RecordKey<'_>) -> String {
    let mut name = format!("{}-", record.kind());
    for b in record.name().bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'_' | b'-' => name.push(b as char),
            _ => name.push_str(&format!("%{b:02X}")),
        }
    }
    name.push_str(".lock");
    name
}

/// A name for one claim by this process, for records and messages (never to decide
/// liveness: that is the lock's job).
fn owner_name() -> String {
    let since = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    format!(
        "pid {} at {}.{:09}",
        std::process::id(),
        since.as_secs(),
        since.subsec_nanos()
    )
}

/// The networks zelle serves: the default network, plus those defined in the JSON file at
/// `path` when it exists.
pub fn load_networks(path: &Path) -> Result<Vec<NetworkConfig>, NetworkError> {
    match std::fs::read_to_string(path) {
        Ok(text) => parse_networks(&text).map_err(|e| match e {
            NetworkError::Syntax(why) => NetworkError::Syntax(format!("{}: {why}", path.display())),
            other => other,
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => parse_networks("{}"),
        Err(e) => Err(NetworkError::Storage(format!("{}: {e}", path.display()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_claim_excludes_a_second_until_dropped_and_leaves_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let store =
            FileNetStore::new(dir.path().join("net.json")).with_patience(Duration::from_millis(50));
        let first = store.claim(RecordKey::Network("web")).unwrap();
        let error = store.claim(RecordKey::Network("web")).unwrap_err();
        match &error {
            NetworkError::InProgress { record, owner, .. } => {
                assert_eq!(record, "network \"web\"");
                assert_eq!(owner.as_deref(), Some(first.owner()));
            }
            other => panic!("{other}"),
        }
        assert!(error.to_string().contains("in progress by another process"));
        let other = store.claim(RecordKey::Container("web")).unwrap();
        drop((first, other));
        assert_eq!(fs::read_dir(store.claims_dir()).unwrap().count(), 0);
        store.claim(RecordKey::Network("web")).unwrap();
    }

    #[test]
    fn odd_ids_make_plain_file_names() {
        assert_eq!(
            lock_name(RecordKey::Container("a/../b c")),
            "container-a%2F..%2Fb%20c.lock"
        );
    }
}
