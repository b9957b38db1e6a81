//! Facts about the host kernel: loaded modules (modfind(2)) and sysctl(3).

use super::KResult;
use serde::{Deserialize, Serialize};

/// A sysctl value of the two kinds zelle reads and writes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SysctlValue {
    Int(i64),
    String(String),
}

pub trait HostFacts {
    /// modfind(2): whether a kernel module ("carp", "if_epair", "if_bridge", "pf") is loaded,
    /// compiled in or not.
    fn module_loaded(&self, name: &str) -> KResult<bool>;
    /// sysctlbyname(3) read; ENOENT for an unknown name.
    fn sysctl(&self, name: &str) -> KResult<SysctlValue>;
    /// sysctlbyname(3) write; ENOENT for an unknown name, EINVAL for a value of the wrong kind.
    fn set_sysctl(&self, name: &str, value: &SysctlValue) -> KResult<()>;
}
