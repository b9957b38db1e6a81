//! The kernel contract: one trait per area of the FreeBSD kernel zelle uses, one method per
//! kernel operation, typed arguments, and the kernel's own errno in every failure.
//!
//! Each method's doc names the system call or request it stands for; the rules it follows are
//! written down where the simulated machine implements them (`zelle-sim`).

pub mod devfs;
pub mod errno;
pub mod files;
pub mod host;
pub mod jail;
pub mod mount;
pub mod net;
pub mod op;
pub mod pf;
pub mod process;
pub mod rctl;
pub mod release;

pub use devfs::{DevfsRule, DevfsRuleId, DevfsRules, DevfsVisibility};
pub use errno::{Errno, KResult, KernelError};
pub use files::{FileType, Files};
pub use host::{HostFacts, SysctlValue};
pub use jail::{
    IpMode, JailFlags, JailInfo, JailKey, JailLinux, JailParams, JailSys, JailSys3, Jails, Jid,
    VnetMode,
};
pub use mount::{MountEntry, MountFlags, MountRequest, Mounts};
pub use net::{
    Gateway, IfFlags, Inet6Alias, InetAlias, Interface, NetworkInterfaces, Route, RouteEntry,
    Routes, Vnet, IFNAMSIZ,
};
pub use op::Op;
pub use pf::{PacketFilter, PfAction, PfRule, PfRuleset, PfTicket, PfTransaction};
pub use process::{
    ExitStatus, Pid, ProcessInfo, ProcessSpec, Processes, RunState, Signal, Spawned, Stdio,
    StdioFd, Wait, WindowSize,
};
pub use rctl::{Racct, RctlAction, RctlFilter, RctlRule, RctlSubject, Resource, ResourceLimits};
pub use release::Release;

/// The whole contract: what a backend implements and what `core`'s logic is written against.
pub trait Kernel:
    NetworkInterfaces
    + Routes
    + Jails
    + PacketFilter
    + Mounts
    + Files
    + Processes
    + HostFacts
    + ResourceLimits
    + DevfsRules
    + Send
    + Sync
{
}

impl<K> Kernel for K where
    K: NetworkInterfaces
        + Routes
        + Jails
        + PacketFilter
        + Mounts
        + Files
        + Processes
        + HostFacts
        + ResourceLimits
        + DevfsRules
        + Send
        + Sync
{
}
