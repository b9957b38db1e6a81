//! The one vocabulary for kernel operations: every method of the contract has its [`Op`], every
//! [`KernelError`](super::KernelError) carries the `Op` that failed, and the simulated machine's
//! fault plan and trace, the real backend's errors and `core`'s undo decisions all speak it.
//!
//! Besides the contract's methods, a few `Op`s name *steps* inside one: the fork, the
//! jail_attach(2), the credentials, the chdir(2), the pty and the execve(2) of a spawn (so a
//! failed spawn names the step that failed), and the jail_attach(2) that puts in-vnet work
//! into a jail. They let a caller tell "the jail is gone" (jail_attach failed) from "the
//! operation itself was refused" when both answer EINVAL.
//!
//! The test at the bottom proves the mapping both ways: every contract method must be given
//! an `Op` by [`Recorder`] (the compiler insists every method is implemented), and every method
//! `Op` must be reachable from [`call`] (the compiler insists the match is exhaustive).

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! ops {
    ($($variant:ident => $name:literal,)*) => {
        /// One kind of kernel operation.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum Op { $($variant,)* }

        impl Op {
            pub const ALL: &'static [Op] = &[$(Op::$variant,)*];

            /// The system call or request the operation stands for.
            pub fn name(self) -> &'static str {
                match self { $(Op::$variant => $name,)* }
            }
        }
    };
}

ops! {
    CreateInterface => "SIOCIFCREATE2",
    DestroyInterface => "SIOCIFDESTROY",
    RenameInterface => "SIOCSIFNAME",
    InterfaceFlags => "SIOCGIFFLAGS",
    SetInterfaceFlags => "SIOCSIFFLAGS",
    SetMtu => "SIOCSIFMTU",
    AddInetAlias => "SIOCAIFADDR",
    DeleteInetAlias => "SIOCDIFADDR",
    AddInet6Alias => "SIOCAIFADDR_IN6",
    DeleteInet6Alias => "SIOCDIFADDR_IN6",
    BridgeAddMember => "BRDGADD",
    BridgeDeleteMember => "BRDGDEL",
    MoveToJail => "SIOCSIFVNET",
    ReclaimFromJail => "SIOCSIFRVNET",
    ListInterfaces => "getifaddrs",
    VnetSession => "vnet_session",
    AddRoute => "RTM_ADD",
    DeleteRoute => "RTM_DELETE",
    ListRoutes => "NET_RT_DUMP",
    JailSet => "jail_set",
    JailGet => "jail_get",
    JailRemove => "jail_remove",
    PfBegin => "DIOCXBEGIN",
    PfAddRule => "DIOCADDRULE",
    PfCommit => "DIOCXCOMMIT",
    PfRollback => "DIOCXROLLBACK",
    PfRules => "DIOCGETRULES",
    PfAnchors => "DIOCGETRULESETS",
    Nmount => "nmount",
    Unmount => "unmount",
    ListMounts => "getfsstat",
    Spawn => "spawn",
    Signal => "kill",
    Wait => "wait4",
    JailProcesses => "kern.proc",
    AcquireReaper => "procctl",
    ModuleLoaded => "modfind",
    Sysctl => "sysctl",
    SetSysctl => "sysctl-write",
    StatBeneath => "fstatat",
    ReadLinkBeneath => "readlinkat",
    CreateBeneath => "create-beneath",
    WriteBeneath => "write-beneath",
    RctlAddRule => "rctl_add_rule",
    RctlRemoveRule => "rctl_remove_rule",
    RctlGetRules => "rctl_get_rules",
    RctlGetRacct => "rctl_get_racct",
    DevfsAddRule => "DEVFSIO_RADD",
    DevfsDeleteRule => "DEVFSIO_RDEL",
    DevfsApplyRule => "DEVFSIO_RAPPLY",
    DevfsNextRule => "DEVFSIO_RGETNEXT",
    DevfsUseRuleset => "DEVFSIO_SUSE",
    DevfsApplyRuleset => "DEVFSIO_SAPPLY",
    DevfsNextRuleset => "DEVFSIO_SGETNEXT",
    // Steps inside an operation, not methods of their own.
    Fork => "fork",
    JailAttach => "jail_attach",
    Execve => "execve",
    // Processes, grown for the runtime: its methods, then the steps of a spawn that can fail.
    SignalJail => "kill-jail",
    WaitAny => "wait4(-1)",
    ResizeTerminal => "TIOCSWINSZ",
    OpenTerminal => "posix_openpt",
    Setsid => "setsid",
    ControllingTerminal => "TIOCSCTTY",
    SetStdio => "dup2",
    TraceControl => "PROC_TRACE_CTL",
    SetRlimit => "setrlimit",
    SetCredentials => "setgroups/setgid/setuid",
    Chdir => "chdir",
    NoNewPrivs => "PROC_NO_NEW_PRIVS_CTL",
}

impl Op {
    /// Whether this names a step inside another operation rather than a contract method.
    pub fn is_step(self) -> bool {
        matches!(
            self,
            Op::Fork
                | Op::JailAttach
                | Op::Execve
                | Op::OpenTerminal
                | Op::Setsid
                | Op::ControllingTerminal
                | Op::SetStdio
                | Op::TraceControl
                | Op::SetRlimit
                | Op::SetCredentials
                | Op::Chdir
                | Op::NoNewPrivs
        )
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Op {
    type Err = String;

    /// An `Op` by its system call name ("SIOCSIFNAME") or its variant name ("RenameInterface").
    fn from_str(s: &str) -> Result<Op, String> {
        Op::ALL
            .iter()
            .copied()
            .find(|op| op.name() == s || format!("{op:?}") == s)
            .ok_or_else(|| format!("unknown operation {s:?}"))
    }
}

#[cfg(test)]
mod tests {
    use super::Op;
    use crate::kernel::*;
    use std::sync::Mutex;

    /// A kernel that only records which `Op` each method stands for. Adding a method to the
    /// contract fails to compile until it is given its `Op` here.
    #[derive(Default)]
    struct Recorder(Mutex<Vec<Op>>);

    impl Recorder {
        fn record<T: Default>(&self, op: Op) -> KResult<T> {
            self.0.lock().unwrap().push(op);
            Ok(T::default())
        }
    }

    impl NetworkInterfaces for Recorder {
        fn create_interface(&self, _: Vnet, _: &str) -> KResult<String> {
            self.record(Op::CreateInterface)
        }
        fn destroy_interface(&self, _: Vnet, _: &str) -> KResult<()> {
            self.record(Op::DestroyInterface)
        }
        fn rename_interface(&self, _: Vnet, _: &str, _: &str) -> KResult<()> {
            self.record(Op::RenameInterface)
        }
        fn interface_flags(&self, _: Vnet, _: &str) -> KResult<IfFlags> {
            self.record(Op::InterfaceFlags)
        }
        fn set_interface_flags(&self, _: Vnet, _: &str, _: IfFlags) -> KResult<()> {
            self.record(Op::SetInterfaceFlags)
        }
        fn set_mtu(&self, _: Vnet, _: &str, _: u32) -> KResult<()> {
            self.record(Op::SetMtu)
        }
        fn add_inet_alias(&self, _: Vnet, _: &str, _: &InetAlias) -> KResult<()> {
            self.record(Op::AddInetAlias)
        }
        fn delete_inet_alias(&self, _: Vnet, _: &str, _: std::net::Ipv4Addr) -> KResult<()> {
            self.record(Op::DeleteInetAlias)
        }
        fn add_inet6_alias(&self, _: Vnet, _: &str, _: &Inet6Alias) -> KResult<()> {
            self.record(Op::AddInet6Alias)
        }
        fn delete_inet6_alias(&self, _: Vnet, _: &str, _: std::net::Ipv6Addr) -> KResult<()> {
            self.record(Op::DeleteInet6Alias)
        }
        fn bridge_add_member(&self, _: Vnet, _: &str, _: &str) -> KResult<()> {
            self.record(Op::BridgeAddMember)
        }
        fn bridge_delete_member(&self, _: Vnet, _: &str, _: &str) -> KResult<()> {
            self.record(Op::BridgeDeleteMember)
        }
        fn move_to_jail(&self, _: Vnet, _: &str, _: Jid) -> KResult<()> {
            self.record(Op::MoveToJail)
        }
        fn reclaim_from_jail(&self, _: Vnet, _: &str, _: Jid) -> KResult<()> {
            self.record(Op::ReclaimFromJail)
        }
        fn list_interfaces(&self, _: Vnet) -> KResult<Vec<Interface>> {
            self.record(Op::ListInterfaces)
        }
        fn vnet_session(&self, _: Jid, work: &mut dyn FnMut()) -> KResult<()> {
            work();
            self.record(Op::VnetSession)
        }
    }

    impl Routes for Recorder {
        fn add_route(&self, _: Vnet, _: &Route) -> KResult<()> {
            self.record(Op::AddRoute)
        }
        fn delete_route(&self, _: Vnet, _: &Route) -> KResult<()> {
            self.record(Op::DeleteRoute)
        }
        fn list_routes(&self, _: Vnet) -> KResult<Vec<RouteEntry>> {
            self.record(Op::ListRoutes)
        }
    }

    impl Jails for Recorder {
        fn jail_set(&self, _: &JailParams, _: JailFlags) -> KResult<Jid> {
            self.0.lock().unwrap().push(Op::JailSet);
            Ok(Jid(1))
        }
        fn jail_get(&self, _: &JailKey, _: JailFlags) -> KResult<JailInfo> {
            self.0.lock().unwrap().push(Op::JailGet);
            Err(KernelError::errno(Op::JailGet, Errno::ENOENT))
        }
        fn jail_remove(&self, _: Jid) -> KResult<()> {
            self.record(Op::JailRemove)
        }
    }

    impl PacketFilter for Recorder {
        fn pf_begin(&self, _: &str, _: &[PfRuleset]) -> KResult<PfTransaction> {
            self.0.lock().unwrap().push(Op::PfBegin);
            Err(KernelError::errno(Op::PfBegin, Errno::EINVAL))
        }
        fn pf_add_rule(&self, _: &PfTransaction, _: &PfRule) -> KResult<()> {
            self.record(Op::PfAddRule)
        }
        fn pf_commit(&self, _: &PfTransaction) -> KResult<()> {
            self.record(Op::PfCommit)
        }
        fn pf_rollback(&self, _: &PfTransaction) -> KResult<()> {
            self.record(Op::PfRollback)
        }
        fn pf_rules(&self, _: &str, _: PfRuleset) -> KResult<Vec<PfRule>> {
            self.record(Op::PfRules)
        }
        fn pf_anchors(&self, _: &str) -> KResult<Vec<String>> {
            self.record(Op::PfAnchors)
        }
    }

    impl Mounts for Recorder {
        fn nmount(&self, _: &MountRequest) -> KResult<()> {
            self.record(Op::Nmount)
        }
        fn unmount(&self, _: &str, _: MountFlags) -> KResult<()> {
            self.record(Op::Unmount)
        }
        fn list_mounts(&self) -> KResult<Vec<MountEntry>> {
            self.record(Op::ListMounts)
        }
    }

    impl Processes for Recorder {
        fn spawn(&self, _: &ProcessSpec) -> KResult<Spawned> {
            self.0.lock().unwrap().push(Op::Spawn);
            Ok(Spawned {
                pid: Pid(1),
                terminal: None,
            })
        }
        fn signal(&self, _: Pid, _: Signal) -> KResult<()> {
            self.record(Op::Signal)
        }
        fn signal_jail(&self, _: Jid, _: Signal) -> KResult<usize> {
            self.record(Op::SignalJail)
        }
        fn wait(&self, _: Pid, _: Wait) -> KResult<Option<ExitStatus>> {
            self.record(Op::Wait)
        }
        fn wait_any(&self, _: Wait) -> KResult<Option<(Pid, ExitStatus)>> {
            self.record(Op::WaitAny)
        }
        fn jail_processes(&self, _: Jid) -> KResult<Vec<ProcessInfo>> {
            self.record(Op::JailProcesses)
        }
        fn resize_terminal(&self, _: std::os::fd::BorrowedFd<'_>, _: WindowSize) -> KResult<()> {
            self.record(Op::ResizeTerminal)
        }
        fn acquire_reaper(&self) -> KResult<()> {
            self.record(Op::AcquireReaper)
        }
    }

    impl HostFacts for Recorder {
        fn module_loaded(&self, _: &str) -> KResult<bool> {
            self.record(Op::ModuleLoaded)
        }
        fn sysctl(&self, _: &str) -> KResult<SysctlValue> {
            self.0.lock().unwrap().push(Op::Sysctl);
            Ok(SysctlValue::Int(0))
        }
        fn set_sysctl(&self, _: &str, _: &SysctlValue) -> KResult<()> {
            self.record(Op::SetSysctl)
        }
    }

    impl Files for Recorder {
        fn stat_beneath(&self, _: &str, _: &str) -> KResult<FileType> {
            self.0.lock().unwrap().push(Op::StatBeneath);
            Ok(FileType::Directory)
        }
        fn read_link_beneath(&self, _: &str, _: &str) -> KResult<String> {
            self.record(Op::ReadLinkBeneath)
        }
        fn create_beneath(&self, _: &str, _: &str, _: FileType, _: u32) -> KResult<()> {
            self.record(Op::CreateBeneath)
        }
        fn write_beneath(&self, _: &str, _: &str, _: &[u8], _: u32) -> KResult<()> {
            self.record(Op::WriteBeneath)
        }
    }

    impl ResourceLimits for Recorder {
        fn rctl_add_rule(&self, _: &RctlRule) -> KResult<()> {
            self.record(Op::RctlAddRule)
        }
        fn rctl_remove_rule(&self, _: &RctlFilter) -> KResult<()> {
            self.record(Op::RctlRemoveRule)
        }
        fn rctl_get_rules(&self, _: &RctlFilter) -> KResult<Vec<RctlRule>> {
            self.record(Op::RctlGetRules)
        }
        fn rctl_get_racct(&self, _: &RctlFilter) -> KResult<Racct> {
            self.record(Op::RctlGetRacct)
        }
    }

    impl DevfsRules for Recorder {
        fn devfs_add_rule(&self, _: &str, _: &DevfsRule) -> KResult<()> {
            self.record(Op::DevfsAddRule)
        }
        fn devfs_delete_rule(&self, _: &str, _: DevfsRuleId) -> KResult<()> {
            self.record(Op::DevfsDeleteRule)
        }
        fn devfs_apply_rule(&self, _: &str, _: &DevfsRule) -> KResult<()> {
            self.record(Op::DevfsApplyRule)
        }
        fn devfs_next_rule(&self, _: &str, _: DevfsRuleId) -> KResult<DevfsRule> {
            self.record(Op::DevfsNextRule)
        }
        fn devfs_use_ruleset(&self, _: &str, _: u16) -> KResult<()> {
            self.record(Op::DevfsUseRuleset)
        }
        fn devfs_apply_ruleset(&self, _: &str, _: u16) -> KResult<()> {
            self.record(Op::DevfsApplyRuleset)
        }
        fn devfs_next_ruleset(&self, _: &str, _: u16) -> KResult<u16> {
            self.record(Op::DevfsNextRuleset)
        }
    }

    /// Call the contract method that `op` names; `false` for a step, which has no method.
    /// Adding an `Op` fails to compile until it is handled here.
    fn call(k: &impl Kernel, op: Op) -> bool {
        let (host, jid) = (Vnet::Host, Jid(1));
        let tx = PfTransaction {
            anchor: String::new(),
            tickets: Vec::new(),
        };
        let _ = match op {
            Op::CreateInterface => k.create_interface(host, "epair").map(drop),
            Op::DestroyInterface => k.destroy_interface(host, "epair0a"),
            Op::RenameInterface => k.rename_interface(host, "a", "b"),
            Op::InterfaceFlags => k.interface_flags(host, "lo0").map(drop),
            Op::SetInterfaceFlags => k.set_interface_flags(host, "lo0", IfFlags::default()),
            Op::SetMtu => k.set_mtu(host, "lo0", 1500),
            Op::AddInetAlias => {
                k.add_inet_alias(host, "lo0", &InetAlias::new([127, 0, 0, 1].into(), 8))
            }
            Op::DeleteInetAlias => k.delete_inet_alias(host, "lo0", [127, 0, 0, 1].into()),
            Op::AddInet6Alias => k.add_inet6_alias(
                host,
                "lo0",
                &Inet6Alias::new(std::net::Ipv6Addr::LOCALHOST, 128),
            ),
            Op::DeleteInet6Alias => {
                k.delete_inet6_alias(host, "lo0", std::net::Ipv6Addr::LOCALHOST)
            }
            Op::BridgeAddMember => k.bridge_add_member(host, "bridge0", "epair0a"),
            Op::BridgeDeleteMember => k.bridge_delete_member(host, "bridge0", "epair0a"),
            Op::MoveToJail => k.move_to_jail(host, "epair0b", jid),
            Op::ReclaimFromJail => k.reclaim_from_jail(host, "epair0b", jid),
            Op::ListInterfaces => k.list_interfaces(host).map(drop),
            Op::VnetSession => k.vnet_session(jid, &mut || {}),
            Op::AddRoute => k.add_route(host, &Route::default_via([10, 0, 0, 1].into())),
            Op::DeleteRoute => k.delete_route(host, &Route::default_via([10, 0, 0, 1].into())),
            Op::ListRoutes => k.list_routes(host).map(drop),
            Op::JailSet => k
                .jail_set(&JailParams::default(), JailFlags::CREATE)
                .map(drop),
            Op::JailGet => k
                .jail_get(&JailKey::Jid(jid), JailFlags::default())
                .map(drop),
            Op::JailRemove => k.jail_remove(jid),
            Op::PfBegin => k.pf_begin("zelle/x", &[PfRuleset::Filter]).map(drop),
            Op::PfAddRule => k.pf_add_rule(&tx, &PfRule::new(PfAction::Pass)),
            Op::PfCommit => k.pf_commit(&tx),
            Op::PfRollback => k.pf_rollback(&tx),
            Op::PfRules => k.pf_rules("zelle/x", PfRuleset::Filter).map(drop),
            Op::PfAnchors => k.pf_anchors("zelle").map(drop),
            Op::Nmount => k.nmount(&MountRequest::new("tmpfs", "/mnt", None)),
            Op::Unmount => k.unmount("/mnt", MountFlags::default()),
            Op::ListMounts => k.list_mounts().map(drop),
            Op::Spawn => k.spawn(&ProcessSpec::command(None, &["true"])).map(drop),
            Op::Signal => k.signal(Pid(1), Signal::SIGTERM),
            Op::Wait => k.wait(Pid(1), Wait::NoHang).map(drop),
            Op::JailProcesses => k.jail_processes(jid).map(drop),
            Op::AcquireReaper => k.acquire_reaper(),
            Op::ModuleLoaded => k.module_loaded("pf").map(drop),
            Op::Sysctl => k.sysctl("kern.osreldate").map(drop),
            Op::SetSysctl => k.set_sysctl("net.inet.ip.forwarding", &SysctlValue::Int(1)),
            Op::StatBeneath => k.stat_beneath("/r", "etc").map(drop),
            Op::ReadLinkBeneath => k.read_link_beneath("/r", "etc").map(drop),
            Op::CreateBeneath => k.create_beneath("/r", "etc", FileType::Directory, 0o755),
            Op::WriteBeneath => k.write_beneath("/r", "etc/hosts", b"", 0o644),
            Op::RctlAddRule => {
                k.rctl_add_rule(&RctlRule::jail("x", Resource::MaxProc, RctlAction::Deny, 1))
            }
            Op::RctlRemoveRule => k.rctl_remove_rule(&RctlFilter::jail("x")),
            Op::RctlGetRules => k.rctl_get_rules(&RctlFilter::jail("x")).map(drop),
            Op::RctlGetRacct => k.rctl_get_racct(&RctlFilter::jail("x")).map(drop),
            Op::DevfsAddRule => k.devfs_add_rule("/dev", &DevfsRule::default()),
            Op::DevfsDeleteRule => k.devfs_delete_rule("/dev", DevfsRuleId::new(1, 1)),
            Op::DevfsApplyRule => k.devfs_apply_rule("/dev", &DevfsRule::default()),
            Op::DevfsNextRule => k.devfs_next_rule("/dev", DevfsRuleId::new(1, 0)).map(drop),
            Op::DevfsUseRuleset => k.devfs_use_ruleset("/dev", 1),
            Op::DevfsApplyRuleset => k.devfs_apply_ruleset("/dev", 1),
            Op::DevfsNextRuleset => k.devfs_next_ruleset("/dev", 0).map(drop),
            Op::SignalJail => k.signal_jail(jid, Signal::SIGTERM).map(drop),
            Op::WaitAny => k.wait_any(Wait::NoHang).map(drop),
            Op::ResizeTerminal => {
                use std::os::fd::AsFd;
                let stdin = std::io::stdin();
                k.resize_terminal(stdin.as_fd(), WindowSize { rows: 24, cols: 80 })
            }
            Op::Fork
            | Op::JailAttach
            | Op::Execve
            | Op::OpenTerminal
            | Op::Setsid
            | Op::ControllingTerminal
            | Op::SetStdio
            | Op::TraceControl
            | Op::SetRlimit
            | Op::SetCredentials
            | Op::Chdir
            | Op::NoNewPrivs => return false,
        };
        true
    }

    #[test]
    fn every_contract_method_has_exactly_its_own_op() {
        for &op in Op::ALL {
            let k = Recorder::default();
            let is_method = call(&k, op);
            assert_eq!(is_method, !op.is_step(), "{op:?}");
            let recorded = k.0.into_inner().unwrap();
            let expected = if is_method { vec![op] } else { vec![] };
            assert_eq!(recorded, expected, "calling the method of {op:?}");
        }
    }

    #[test]
    fn ops_parse_from_either_name() {
        for &op in Op::ALL {
            assert_eq!(op.name().parse::<Op>(), Ok(op));
            assert_eq!(format!("{op:?}").parse::<Op>(), Ok(op));
        }
        assert!("SIOCNOPE".parse::<Op>().is_err());
    }
}
