//! Loaded modules and sysctls (skeleton).

use crate::kernel::SimKernel;
use crate::machine::Profile;
use serde::{Deserialize, Serialize};
use zelle_core::kernel::{Errno, HostFacts, KResult, KernelError, SysctlValue};

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostState {}

impl HostState {
    pub fn new(_profile: Profile) -> Self {
        HostState {}
    }
}

impl HostFacts for SimKernel {
    fn module_loaded(&self, _name: &str) -> KResult<bool> {
        Err(KernelError::errno("modfind", Errno::ENOSYS))
    }
    fn sysctl(&self, _name: &str) -> KResult<SysctlValue> {
        Err(KernelError::errno("sysctl", Errno::ENOSYS))
    }
    fn set_sysctl(&self, _name: &str, _value: &SysctlValue) -> KResult<()> {
        Err(KernelError::errno("sysctl", Errno::ENOSYS))
    }
}
