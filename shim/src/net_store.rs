//! Where the shim keeps zelle's network state, and where it reads the network definitions.

use crate::state_file::StateFile;
use std::io;
use std::path::Path;
use zelle_core::network::{parse_networks, NetState, NetStore, NetworkConfig, NetworkError};

/// zelle's network state (addresses handed out, interface and anchor names, published ports)
/// in a state file shared by every shim process on the host: a restarted shim, or a second
/// one, never hands out an address that is in use.
pub struct FileNetStore {
    file: StateFile<NetState>,
}

impl FileNetStore {
    pub fn new(path: impl AsRef<Path>) -> Self {
        FileNetStore {
            file: StateFile::new(path.as_ref()),
        }
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
