//! Network interfaces, vnets and routes (skeleton: filled in by the network rules).

use crate::jail::VnetId;
use crate::kernel::SimKernel;
use crate::machine::Machine;
use serde::{Deserialize, Serialize};
use std::net::{Ipv4Addr, Ipv6Addr};
use zelle_core::kernel::net::{Inet6Alias, InetAlias, Interface, Route, RouteEntry};
use zelle_core::kernel::{
    Errno, IfFlags, Jid, KResult, KernelError, NetworkInterfaces, Routes, Vnet,
};

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetState {}

impl NetState {
    pub fn new() -> Self {
        NetState {}
    }
}

impl Machine {
    /// A vnet jail was created: its vnet starts with lo0 (skeleton).
    pub(crate) fn vnet_create(&mut self, _vnet: VnetId) {}

    /// A vnet jail's last reference went: return borrowed interfaces home, destroy the rest
    /// (skeleton).
    pub(crate) fn vnet_destroy(&mut self, _vnet: VnetId) {}

    pub(crate) fn dump_net(&self, _out: &mut String) {}

    pub(crate) fn check_net(&self, _problems: &mut Vec<String>) {}
}

fn nosys<T>(op: &'static str) -> KResult<T> {
    Err(KernelError::errno(op, Errno::ENOSYS))
}

impl NetworkInterfaces for SimKernel {
    fn create_interface(&self, _vnet: Vnet, _name: &str) -> KResult<String> {
        nosys("SIOCIFCREATE2")
    }
    fn destroy_interface(&self, _vnet: Vnet, _name: &str) -> KResult<()> {
        nosys("SIOCIFDESTROY")
    }
    fn rename_interface(&self, _vnet: Vnet, _name: &str, _new_name: &str) -> KResult<()> {
        nosys("SIOCSIFNAME")
    }
    fn interface_flags(&self, _vnet: Vnet, _name: &str) -> KResult<IfFlags> {
        nosys("SIOCGIFFLAGS")
    }
    fn set_interface_flags(&self, _vnet: Vnet, _name: &str, _flags: IfFlags) -> KResult<()> {
        nosys("SIOCSIFFLAGS")
    }
    fn set_mtu(&self, _vnet: Vnet, _name: &str, _mtu: u32) -> KResult<()> {
        nosys("SIOCSIFMTU")
    }
    fn add_inet_alias(&self, _vnet: Vnet, _name: &str, _alias: &InetAlias) -> KResult<()> {
        nosys("SIOCAIFADDR")
    }
    fn delete_inet_alias(&self, _vnet: Vnet, _name: &str, _addr: Ipv4Addr) -> KResult<()> {
        nosys("SIOCDIFADDR")
    }
    fn add_inet6_alias(&self, _vnet: Vnet, _name: &str, _alias: &Inet6Alias) -> KResult<()> {
        nosys("SIOCAIFADDR_IN6")
    }
    fn delete_inet6_alias(&self, _vnet: Vnet, _name: &str, _addr: Ipv6Addr) -> KResult<()> {
        nosys("SIOCDIFADDR_IN6")
    }
    fn bridge_add_member(&self, _vnet: Vnet, _bridge: &str, _member: &str) -> KResult<()> {
        nosys("BRDGADD")
    }
    fn bridge_delete_member(&self, _vnet: Vnet, _bridge: &str, _member: &str) -> KResult<()> {
        nosys("BRDGDEL")
    }
    fn move_to_jail(&self, _vnet: Vnet, _name: &str, _jid: Jid) -> KResult<()> {
        nosys("SIOCSIFVNET")
    }
    fn reclaim_from_jail(&self, _vnet: Vnet, _name: &str, _jid: Jid) -> KResult<()> {
        nosys("SIOCSIFRVNET")
    }
    fn list_interfaces(&self, _vnet: Vnet) -> KResult<Vec<Interface>> {
        nosys("getifaddrs")
    }
}

impl Routes for SimKernel {
    fn add_route(&self, _vnet: Vnet, _route: &Route) -> KResult<()> {
        nosys("RTM_ADD")
    }
    fn delete_route(&self, _vnet: Vnet, _route: &Route) -> KResult<()> {
        nosys("RTM_DELETE")
    }
    fn list_routes(&self, _vnet: Vnet) -> KResult<Vec<RouteEntry>> {
        nosys("NET_RT_DUMP")
    }
}
