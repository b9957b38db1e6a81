//! Host facts through the door: modfind(2), `__sysctlbyname(2)`, and the sysctl MIBs the
//! backend reads: `sysctl.name2oid` (0.3), `sysctl.oidfmt` (0.4) and `net.route` dumps
//! (`sys/kern/kern_sysctl.c`, `sys/kern/kern_module.c`).

use super::{route, SimSyscalls};
use crate::fault::Op;
use crate::host::Access;
use crate::machine::Machine;
use core::ffi::{c_int, CStr};
use zelle_core::kernel::{Errno, SysctlValue};
use zelle_freebsd::syscalls::consts::{
    CTLFLAG_RD, CTLFLAG_WR, CTLTYPE_INT, CTLTYPE_S64, CTLTYPE_STRING, CTL_NET, CTL_SYSCTL,
    CTL_SYSCTL_NAME2OID, CTL_SYSCTL_OIDFMT, NET_RT_DUMP,
};
use zelle_sys::{CTL_KERN, KERN_PROC, KERN_PROC_PROC, PF_ROUTE};

/// sysctl kern.proc.proc (sys/sysctl.h): every process, one `kinfo_proc` each.
const KERN_PROC_PROC_MIB: [c_int; 3] = [
    CTL_KERN as c_int,
    KERN_PROC as c_int,
    KERN_PROC_PROC as c_int,
];

/// The top-level MIB number the door gives the machine's sysctls (their second number is the
/// sysctl's place in the machine's table). Real MIBs differ; nothing may rely on them.
const SIM_OID: c_int = 0x5a31;

/// sysctl(3)'s copy of a value: with no buffer only its size; a buffer too short gets what
/// fits and ENOMEM (`sysctl_old_user`).
pub(super) fn copy_out_value(value: &[u8], old: &mut [u8]) -> Result<usize, Errno> {
    if old.is_empty() {
        return Ok(value.len());
    }
    let n = value.len().min(old.len());
    old[..n].copy_from_slice(&value[..n]);
    if n < value.len() {
        return Err(Errno::ENOMEM);
    }
    Ok(n)
}

fn value_bytes(value: &SysctlValue) -> Vec<u8> {
    match value {
        SysctlValue::Int(v) => match i32::try_from(*v) {
            Ok(v) => v.to_ne_bytes().to_vec(),
            Err(_) => v.to_ne_bytes().to_vec(),
        },
        SysctlValue::String(s) => {
            let mut bytes = s.as_bytes().to_vec();
            bytes.push(0);
            bytes
        }
    }
}

/// `oidfmt`'s answer: the kind word (`CTLTYPE_*` | `CTLFLAG_*`) and the format string.
fn oidfmt(m: &Machine, index: usize) -> Option<Vec<u8>> {
    let sysctl = m.host.sysctls.values().nth(index)?;
    let (kind, fmt): (u32, &[u8]) = match &sysctl.value {
        SysctlValue::Int(v) if i32::try_from(*v).is_ok() => (CTLTYPE_INT, b"I\0"),
        SysctlValue::Int(_) => (CTLTYPE_S64, b"Q\0"),
        SysctlValue::String(_) => (CTLTYPE_STRING, b"A\0"),
    };
    let mut flags = CTLFLAG_RD;
    if sysctl.access != Access::ReadOnly {
        flags |= CTLFLAG_WR;
    }
    let mut out = (kind | flags).to_ne_bytes().to_vec();
    out.extend_from_slice(fmt);
    Some(out)
}

/// sysctl(3) by MIB.
pub(super) fn sysctl(
    door: &SimSyscalls,
    mib: &[c_int],
    old: &mut [u8],
    new: &[u8],
) -> Result<usize, Errno> {
    match mib {
        [CTL_SYSCTL, CTL_SYSCTL_NAME2OID] => {
            let name = String::from_utf8_lossy(bare_name(new)).into_owned();
            let index = door.peek(|m| {
                m.host
                    .sysctls
                    .keys()
                    .position(|n| *n == name)
                    .ok_or(Errno::ENOENT)
            })?;
            let oid: Vec<u8> = [SIM_OID, index as c_int]
                .iter()
                .flat_map(|v| v.to_ne_bytes())
                .collect();
            copy_out_value(&oid, old)
        }
        [CTL_SYSCTL, CTL_SYSCTL_OIDFMT, SIM_OID, index] => {
            let index = usize::try_from(*index).map_err(|_| Errno::ENOENT)?;
            let fmt = door.peek(|m| oidfmt(m, index).ok_or(Errno::ENOENT))?;
            copy_out_value(&fmt, old)
        }
        [kern, proc, which, ..] if [*kern, *proc, *which] == KERN_PROC_PROC_MIB => {
            if !new.is_empty() {
                return Err(Errno::EPERM);
            }
            super::process::kern_proc(door, old)
        }
        [CTL_NET, route, 0, af, NET_RT_DUMP, ..] if *route == PF_ROUTE as c_int => {
            if !new.is_empty() {
                return Err(Errno::EPERM);
            }
            route::dump(door, door.vnet(), *af, old)
        }
        _ => Err(Errno::ENOENT),
    }
}

/// A name as sysctlnametomib(3) passes it: its bytes, without a trailing NUL.
fn bare_name(bytes: &[u8]) -> &[u8] {
    bytes.strip_suffix(b"\0").unwrap_or(bytes)
}

/// `__sysctlbyname(2)`: a write (`new` given) is the traced sysctl-write; a size query (no
/// buffer) the traced read; the read into a buffer that follows it is not traced.
pub(super) fn sysctlbyname(
    door: &SimSyscalls,
    name: &CStr,
    old: &mut [u8],
    new: &[u8],
) -> Result<usize, Errno> {
    let name = name.to_string_lossy().into_owned();
    if !new.is_empty() {
        // The value as the sysctl's handler reads it: a C int for an int sysctl (another
        // length is no int: the rule refuses it as of the wrong kind), the text for a string.
        let current = door.peek(|m| Ok(m.host.sysctls.get(&name).map(|s| s.value.clone())))?;
        let value = match (current, new.len()) {
            (Some(SysctlValue::Int(_)), 4) => SysctlValue::Int(i64::from(i32::from_ne_bytes(
                new.try_into().map_err(|_| Errno::EINVAL)?,
            ))),
            (Some(SysctlValue::Int(_)), 8) => SysctlValue::Int(i64::from_ne_bytes(
                new.try_into().map_err(|_| Errno::EINVAL)?,
            )),
            _ => SysctlValue::String(
                String::from_utf8_lossy(new.split(|&b| b == 0).next().unwrap_or_default())
                    .into_owned(),
            ),
        };
        door.call(Op::SetSysctl, &(name.as_str(), &value), |m| {
            m.set_sysctl(&name, &value)
        })?;
        return Ok(0);
    }
    let value = if old.is_empty() {
        door.call(Op::Sysctl, &(name.as_str(),), |m| m.sysctl(&name))?
    } else {
        door.peek(|m| m.sysctl(&name).map_err(super::errno_of))?
    };
    copy_out_value(&value_bytes(&value), old)
}

/// modfind(2): the module's id (its place among the loaded modules, from 1), ENOENT when it
/// is not loaded.
pub(super) fn modfind(door: &SimSyscalls, name: &CStr) -> Result<c_int, Errno> {
    let name = name.to_string_lossy().into_owned();
    let loaded = door.call(Op::ModuleLoaded, &(name.as_str(),), |m| {
        m.module_loaded(&name)
    })?;
    if !loaded {
        return Err(Errno::ENOENT);
    }
    door.peek(|m| {
        let at = m.host.modules.iter().position(|n| *n == name).unwrap_or(0);
        Ok(at as c_int + 1)
    })
}
