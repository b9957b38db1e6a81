//! The shim's own pieces around `zelle-core`: what it keeps on disk and reads from disk.
//!
//! The containerd protocol layer will live here too; `core` holds the policy.

pub mod container_store;
pub mod net_store;
pub mod state_file;

pub use container_store::FileContainerStore;
pub use net_store::{load_networks, FileNetStore};
pub use state_file::StateFile;
