//! Loaded modules and sysctls (skeleton).

use crate::kernel::SimKernel;
use crate::machine::Profile;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use zelle_core::kernel::{Errno, HostFacts, KResult, KernelError, SysctlValue};

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostState {
    /// Loaded kernel modules by module name (what modfind(2) finds).
    pub modules: BTreeSet<String>,
}

impl HostState {
    pub fn new(_profile: Profile) -> Self {
        let modules = ["if_bridge", "if_epair", "pf", "nullfs", "devfs"];
        HostState {
            modules: modules.iter().map(|m| m.to_string()).collect(),
        }
    }

    /// Whether module `name` is loaded; other areas consult this (carp for vhids, if_epair
    /// and if_bridge for their cloners, pf for /dev/pf).
    pub fn has_module(&self, name: &str) -> bool {
        self.modules.contains(name)
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
