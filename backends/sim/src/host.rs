//! Loaded kernel modules (modfind(2)) and the few sysctls zelle reads and writes.
//!
//! Sources: `sys/kern/kern_module.c` (`sys_modfind`), `sys/kern/kern_sysctl.c`
//! (`kern___sysctlbyname`, `sysctl_sysctl_name2oid`, `sysctl_root`), `sys/kern/kern_mib.c`
//! (`sysctl_kern_securelvl`), and the files that define each sysctl, named in the table.

use crate::fault::Op;
use crate::kernel::SimKernel;
use crate::machine::Machine;
use crate::pf::PfState;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use zelle_core::kernel::jail::{LINUX64_MODULE, LINUX_COMMON_MODULE};
use zelle_core::kernel::{Errno, HostFacts, KResult, KernelError, Release, SysctlValue};

/// `MAXMODNAME` (`sys/sys/module.h`): the size of modfind(2)'s name buffer, NUL included.
const MAXMODNAME: usize = 32;
/// `MAXPATHLEN`: the longest sysctl name the kernel looks up.
const MAXPATHLEN: usize = 1024;

/// Who may change a sysctl.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Access {
    /// `CTLFLAG_RD`: writing is EPERM.
    ReadOnly,
    /// `CTLFLAG_RW`.
    ReadWrite,
    /// kern.securelevel: may be raised, never lowered (EPERM).
    RaiseOnly,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sysctl {
    pub value: SysctlValue,
    pub access: Access,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostState {
    /// Loaded kernel modules by module name (what modfind(2) finds).
    pub modules: BTreeSet<String>,
    /// The sysctls the machine knows, by name; any other name is ENOENT.
    pub sysctls: BTreeMap<String, Sysctl>,
}

impl HostState {
    pub fn new(release: Release) -> Self {
        // carp is not loaded: a stock kernel loads it only on demand.
        let modules = ["if_bridge", "if_epair", "pf", "nullfs", "devfs"];
        let int = |value: i64, access| Sysctl {
            value: SysctlValue::Int(value),
            access,
        };
        let string = |value: &str| Sysctl {
            value: SysctlValue::String(value.to_string()),
            access: Access::ReadOnly,
        };
        use Access::*;
        let sysctls = [
            // kern_mib.c: CTLFLAG_RD strings and ints.
            ("kern.ostype", string("FreeBSD")),
            ("kern.osrelease", string(release.osrelease())),
            ("kern.osreldate", int(release.osreldate(), ReadOnly)),
            // kern_mib.c: init sets it; -1 until then, and a stock boot leaves it there.
            ("kern.securelevel", int(-1, RaiseOnly)),
            // vnet.c: FEATURE(vimage), in GENERIC since 12.0.
            ("kern.features.vimage", int(1, ReadOnly)),
            // kern_jail.c: sysctl_jail_jailed, CTLFLAG_RD; 0 on the host.
            ("security.jail.jailed", int(0, ReadOnly)),
            // ip_input.c V_ipforwarding, in6_proto.c V_ip6_forwarding: off by default.
            ("net.inet.ip.forwarding", int(0, ReadWrite)),
            ("net.inet6.ip6.forwarding", int(0, ReadWrite)),
            // in.c V_nosameprefix: a second interface may carry the same prefix (see in_addprefix).
            ("net.inet.ip.no_same_prefix", int(0, ReadWrite)),
            // if_bridge.c: pfil hooks run on members and on the bridge itself, both default 1.
            ("net.link.bridge.pfil_member", int(1, ReadWrite)),
            ("net.link.bridge.pfil_bridge", int(1, ReadWrite)),
        ];
        HostState {
            modules: modules.iter().map(|m| m.to_string()).collect(),
            sysctls: sysctls
                .into_iter()
                .map(|(name, sysctl)| (name.to_string(), sysctl))
                .collect(),
        }
    }

    /// Whether module `name` is loaded; other areas consult this (carp for vhids, if_epair
    /// and if_bridge for their cloners, pf for /dev/pf).
    pub fn has_module(&self, name: &str) -> bool {
        self.modules.contains(name)
    }

    /// The value of an integer sysctl, for other areas' rules (net.inet.ip.no_same_prefix,
    /// kern.securelevel); None for an unknown name or a string.
    pub(crate) fn sysctl_int(&self, name: &str) -> Option<i64> {
        match self.sysctls.get(name)?.value {
            SysctlValue::Int(value) => Some(value),
            SysctlValue::String(_) => None,
        }
    }
}

/// The name checks of sysctlbyname(3) on FreeBSD 13 and later: `kern___sysctlbyname` refuses an
/// empty name or one longer than MAXPATHLEN with EINVAL, `sysctl_sysctl_name2oid` one of exactly
/// MAXPATHLEN with ENAMETOOLONG. A name with a NUL cannot be passed (contract rule: EINVAL).
fn check_sysctl_name(op: Op, name: &str) -> KResult<()> {
    let errno = match name.len() {
        0 => Errno::EINVAL,
        MAXPATHLEN => Errno::ENAMETOOLONG,
        len if len > MAXPATHLEN || name.contains('\0') => Errno::EINVAL,
        _ => return Ok(()),
    };
    Err(KernelError::errno(op, errno))
}

impl Machine {
    /// modfind(2): `sys_modfind` copies the name into a MAXMODNAME buffer (ENAMETOOLONG when it
    /// does not fit, NUL included), then looks it up; ENOENT, "not loaded", is `Ok(false)` in
    /// the contract. A name with a NUL cannot be passed (contract rule: EINVAL).
    pub(crate) fn module_loaded(&self, name: &str) -> KResult<bool> {
        let op = Op::ModuleLoaded;
        if name.contains('\0') {
            return Err(KernelError::errno(op, Errno::EINVAL));
        }
        if name.len() >= MAXMODNAME {
            return Err(KernelError::errno(op, Errno::ENAMETOOLONG));
        }
        Ok(self.host.has_module(name))
    }

    /// sysctlbyname(3) read: an unknown name is ENOENT (`name2oid`). A name that is a node
    /// ("kern") is ENOENT here too; the kernel may answer otherwise (UNCONFIRMED).
    pub(crate) fn sysctl(&self, name: &str) -> KResult<SysctlValue> {
        let op = Op::Sysctl;
        check_sysctl_name(op, name)?;
        self.host
            .sysctls
            .get(name)
            .map(|s| s.value.clone())
            .ok_or_else(|| KernelError::errno(op, Errno::ENOENT))
    }

    /// sysctlbyname(3) write: unknown name ENOENT; a read-only sysctl EPERM before anything
    /// else (`sysctl_root` checks CTLFLAG_WR first); a value of the other kind EINVAL, and so
    /// is an integer that does not fit the sysctl's C int (contract rule: the kernel would take
    /// the low bytes); lowering kern.securelevel EPERM (`sysctl_kern_securelvl`).
    pub(crate) fn set_sysctl(&mut self, name: &str, value: &SysctlValue) -> KResult<()> {
        let op = Op::SetSysctl;
        let fail = |errno| Err(KernelError::errno(op, errno));
        check_sysctl_name(op, name)?;
        let Some(sysctl) = self.host.sysctls.get_mut(name) else {
            return fail(Errno::ENOENT);
        };
        if sysctl.access == Access::ReadOnly {
            return fail(Errno::EPERM);
        }
        match (&sysctl.value, value) {
            (SysctlValue::Int(_), SysctlValue::Int(new)) if i32::try_from(*new).is_err() => {
                return fail(Errno::EINVAL)
            }
            (SysctlValue::Int(old), SysctlValue::Int(new))
                if sysctl.access == Access::RaiseOnly && new < old =>
            {
                return fail(Errno::EPERM)
            }
            (SysctlValue::Int(_), SysctlValue::Int(_))
            | (SysctlValue::String(_), SysctlValue::String(_)) => {}
            _ => return fail(Errno::EINVAL),
        }
        sysctl.value = value.clone();
        Ok(())
    }

    /// kldload(8), as simulator control: load module `name` and the modules it depends on
    /// (`MODULE_DEPEND`, loaded first by the linker). Loading linux_common registers the
    /// linux* jail parameters (see `jail::osd`).
    pub fn load_module(&mut self, name: &str) {
        for dependency in module_dependencies(name) {
            self.load_module(dependency);
        }
        let newly = self.host.modules.insert(name.to_string());
        if newly && name == LINUX_COMMON_MODULE {
            self.linux_register(true);
            // linux_common_modevent → linux_dev_shm_create (compat/linux/linux_util.c): a
            // node "shm/.mountpoint", mode 0, so that every devfs has a /dev/shm to mount a
            // tmpfs on. (Unloading does not take it away here.)
            self.make_dev("shm/.mountpoint", 0, 0, 0);
        }
    }

    /// kldunload(8), as simulator control: unload module `name`. Unloading pf drops every
    /// anchor and rule with it (pf_unload flushes its state). Other modules are removed as
    /// they are, even while in use: the kernel would refuse with EBUSY; tests decide.
    pub fn unload_module(&mut self, name: &str) {
        self.host.modules.remove(name);
        if name == LINUX_COMMON_MODULE {
            self.linux_register(false);
        }
        if name == "pf" {
            self.pf = PfState::default();
        }
    }
}

/// What a module needs loaded first (`MODULE_DEPEND`): on amd64 linprocfs and linsysfs
/// depend on linux_common (read in linsysfs.c; linprocfs.c per FACTS-kernel-runtime.md §6),
/// and so does the Linux ABI, whose module modfind(2) knows as "linux64elf"
/// (amd64/linux/linux_sysvec.c: `moduledata_t linux64_elf_mod = { "linux64elf", … }`,
/// `MODULE_DEPEND(linux64elf, linux_common, 1, 1, 1)`); kldload(8) names its file linux64.ko,
/// and loading "linux64" here loads that module.
fn module_dependencies(name: &str) -> &'static [&'static str] {
    match name {
        "linux64" => &[LINUX64_MODULE],
        "linprocfs" | "linsysfs" | LINUX64_MODULE | "linux" => &[LINUX_COMMON_MODULE],
        _ => &[],
    }
}

impl HostFacts for SimKernel {
    fn module_loaded(&self, name: &str) -> KResult<bool> {
        self.call(Op::ModuleLoaded, &(name,), |m| m.module_loaded(name))
    }
    fn sysctl(&self, name: &str) -> KResult<SysctlValue> {
        self.call(Op::Sysctl, &(name,), |m| m.sysctl(name))
    }
    fn set_sysctl(&self, name: &str, value: &SysctlValue) -> KResult<()> {
        self.call(Op::SetSysctl, &(name, value), |m| m.set_sysctl(name, value))
    }
}
