//! The container runtime: an OCI bundle turned into a jail and back, through the kernel
//! contract only.

pub mod jail;
pub mod mountpoint;
