//! Mounts (skeleton: filled in by the mount rules).

use crate::kernel::SimKernel;
use crate::machine::Machine;
use serde::{Deserialize, Serialize};
use zelle_core::kernel::{
    Errno, KResult, KernelError, MountEntry, MountFlags, MountRequest, Mounts,
};

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MountState {}

impl Machine {
    pub(crate) fn dump_mounts(&self, _out: &mut String) {}
    pub(crate) fn check_mounts(&self, _problems: &mut Vec<String>) {}
}

impl Mounts for SimKernel {
    fn nmount(&self, _request: &MountRequest) -> KResult<()> {
        Err(KernelError::errno("nmount", Errno::ENOSYS))
    }
    fn unmount(&self, _path: &str, _flags: MountFlags) -> KResult<()> {
        Err(KernelError::errno("unmount", Errno::ENOSYS))
    }
    fn list_mounts(&self) -> KResult<Vec<MountEntry>> {
        Err(KernelError::errno("getfsstat", Errno::ENOSYS))
    }
}
