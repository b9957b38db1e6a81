//! Jails (skeleton: filled in by the jail rules).

use crate::kernel::SimKernel;
use crate::machine::Machine;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::net::{Ipv4Addr, Ipv6Addr};
use zelle_core::kernel::{
    Errno, IpMode, JailFlags, JailInfo, JailKey, JailParams, Jails, Jid, KResult, KernelError,
    Vnet,
};

/// One prison, alive or dying.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jail {
    pub jid: Jid,
    pub name: String,
    pub path: String,
    pub hostname: String,
    /// The parent prison (0 is the host).
    pub parent: Jid,
    pub persist: bool,
    /// Whether the jail has a vnet of its own (`vnet=new`).
    pub vnet: bool,
    pub dying: bool,
    /// While dying: the simulated time at which the last reference goes and the record (with
    /// its vnet) is freed.
    pub gone_at_ms: Option<u64>,
    pub enforce_statfs: u32,
    pub children_max: u32,
    pub devfs_ruleset: u32,
    pub ip4: IpMode,
    pub ip4_addrs: Vec<Ipv4Addr>,
    pub ip6: IpMode,
    pub ip6_addrs: Vec<Ipv6Addr>,
    pub allow: BTreeSet<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JailState {
    /// Every prison in allprison, by jid, alive or dying.
    pub jails: BTreeMap<Jid, Jail>,
    /// The last jid handed out (`lastprid` in kern_jail.c).
    pub last_jid: i32,
}

/// The network stack a jail's processes use: the jail's own vnet or, without one, its
/// parent's (all the way up to the host's, jid 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct VnetId(pub Jid);

impl VnetId {
    pub const HOST: VnetId = VnetId(Jid(0));
}

impl Machine {
    /// The vnet a network request for `vnet` runs in. The real backend enters a jail's vnet by
    /// jail_attach(2) in a forked child, so an unknown or dying jail fails as jail_attach does:
    /// EINVAL (kern_jail.c, `sys_jail_attach` → `do_jail_attach`) [14].
    pub(crate) fn vnet_of(&self, vnet: Vnet) -> KResult<VnetId> {
        let mut jid = match vnet {
            Vnet::Host => return Ok(VnetId::HOST),
            Vnet::Jail(jid) => jid,
        };
        match self.jails.jails.get(&jid) {
            Some(jail) if !jail.dying => {}
            _ => return Err(KernelError::errno("jail_attach", Errno::EINVAL)),
        }
        while let Some(jail) = self.jails.jails.get(&jid) {
            if jail.vnet {
                return Ok(VnetId(jid));
            }
            jid = jail.parent;
        }
        Ok(VnetId::HOST)
    }

    /// Timed jail events (skeleton).
    pub(crate) fn tick_jails(&mut self) {}

    pub(crate) fn dump_jails(&self, _out: &mut String) {}

    pub(crate) fn check_jails(&self, _problems: &mut Vec<String>) {}
}

impl Jails for SimKernel {
    fn jail_set(&self, _params: &JailParams, _flags: JailFlags) -> KResult<Jid> {
        Err(KernelError::errno("jail_set", Errno::ENOSYS))
    }
    fn jail_get(&self, _key: &JailKey, _flags: JailFlags) -> KResult<JailInfo> {
        Err(KernelError::errno("jail_get", Errno::ENOSYS))
    }
    fn jail_remove(&self, _jid: Jid) -> KResult<()> {
        Err(KernelError::errno("jail_remove", Errno::ENOSYS))
    }
}
