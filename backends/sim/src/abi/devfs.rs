//! devfs rule ioctls (DEVFSIO_*, fs/devfs/devfs.h) on a descriptor of a directory, decoded
//! from the `struct devfs_rule`, `devfs_rid` and `devfs_rsnum` the kernel copies in and
//! answered as `devfs_rules_ioctl` (sys/fs/devfs/devfs_rule.c; FACTS-kernel-runtime.md §2)
//! does, through the machine's devfs rule methods with the typed door's `Op`s and arguments.
//! A directory on another file system answers ENOTTY (the machine's `devfs_target`).
//!
//! The door reads each field itself (the backend's encoding is not reused) and takes what the
//! machine's rules can hold: a `DRC_PATHPTRN` condition or none; hide or unhide, uid, gid, mode
//! and include actions. A `DRC_DSWFLAGS` condition (the machine's devices have no cdevsw flags),
//! unknown bits, `dr_bacts` other than one of DRB_HIDE and DRB_UNHIDE, and DEVFSIO_RAPPLYID (no
//! contract operation) are EOPNOTSUPP here, where the kernel would take them.

use super::{copyin_arg, copyout, field_str, set_field, SimSyscalls};
use crate::fault::Op;
use core::ffi::{c_int, c_void};
use zelle_core::kernel::{DevfsRule, DevfsRuleId, DevfsVisibility, Errno, KernelError};
use zelle_sys::ioctl::{self, number, RawRequest};
use zelle_sys::{
    devfs_rule, zeroed, DEVFS_MAGIC, DRA_BACTS, DRA_GID, DRA_INCSET, DRA_MODE, DRA_UID, DRB_HIDE,
    DRB_UNHIDE, DRC_PATHPTRN,
};

/// `rid2rsn` and `rid2rn` (devfs.h).
fn rid_of(rid: u32) -> DevfsRuleId {
    DevfsRuleId {
        ruleset: (rid >> 16) as u16,
        rule: (rid & 0xffff) as u16,
    }
}

/// `mkrid` (devfs.h).
fn mkrid(id: DevfsRuleId) -> u32 {
    u32::from(id.rule) | (u32::from(id.ruleset) << 16)
}

/// `devfs_rule_input`'s first check: a struct of another layout version is ERPCMISMATCH.
fn check_magic(dr: &devfs_rule) -> Result<(), Errno> {
    match dr.dr_magic == DEVFS_MAGIC {
        true => Ok(()),
        false => Err(Errno::ERPCMISMATCH),
    }
}

/// The rule a `struct devfs_rule` stands for (see the module docs for what is refused).
fn rule_of(dr: &devfs_rule) -> Result<DevfsRule, Errno> {
    let icond = dr.dr_icond as u32;
    let iacts = dr.dr_iacts as u32;
    if icond & !DRC_PATHPTRN != 0
        || iacts & !(DRA_BACTS | DRA_UID | DRA_GID | DRA_MODE | DRA_INCSET) != 0
    {
        return Err(Errno::EOPNOTSUPP);
    }
    let visibility = if iacts & DRA_BACTS == 0 {
        None
    } else if dr.dr_bacts as u32 == DRB_HIDE {
        Some(DevfsVisibility::Hide)
    } else if dr.dr_bacts as u32 == DRB_UNHIDE {
        Some(DevfsVisibility::Unhide)
    } else {
        return Err(Errno::EOPNOTSUPP);
    };
    Ok(DevfsRule {
        id: rid_of(dr.dr_id),
        // Up to its NUL, or all 200 bytes when there is none (the rule refuses that).
        pattern: (icond & DRC_PATHPTRN != 0).then(|| field_str(&dr.dr_pathptrn)),
        visibility,
        uid: (iacts & DRA_UID != 0).then_some(dr.dr_uid),
        gid: (iacts & DRA_GID != 0).then_some(dr.dr_gid),
        mode: (iacts & DRA_MODE != 0).then_some(dr.dr_mode),
        include: (iacts & DRA_INCSET != 0).then_some(dr.dr_incset),
    })
}

/// The kernel's copy of a stored rule, as DEVFSIO_RGETNEXT copies it out.
fn struct_of(rule: &DevfsRule) -> devfs_rule {
    let mut dr: devfs_rule = zeroed();
    dr.dr_magic = DEVFS_MAGIC;
    dr.dr_id = mkrid(rule.id);
    if let Some(pattern) = &rule.pattern {
        dr.dr_icond |= DRC_PATHPTRN as c_int;
        set_field(&mut dr.dr_pathptrn, pattern);
    }
    if let Some(v) = rule.visibility {
        dr.dr_iacts |= DRA_BACTS as c_int;
        dr.dr_bacts = match v {
            DevfsVisibility::Hide => DRB_HIDE as c_int,
            DevfsVisibility::Unhide => DRB_UNHIDE as c_int,
        };
    }
    if let Some(uid) = rule.uid {
        dr.dr_iacts |= DRA_UID as c_int;
        dr.dr_uid = uid;
    }
    if let Some(gid) = rule.gid {
        dr.dr_iacts |= DRA_GID as c_int;
        dr.dr_gid = gid;
    }
    if let Some(mode) = rule.mode {
        dr.dr_iacts |= DRA_MODE as c_int;
        dr.dr_mode = mode;
    }
    if let Some(set) = rule.include {
        dr.dr_iacts |= DRA_INCSET as c_int;
        dr.dr_incset = set;
    }
    dr
}

fn kernel(op: Op) -> impl Fn(Errno) -> KernelError {
    move |errno| KernelError::errno(op, errno)
}

/// One DEVFSIO_* request on a descriptor of the directory `path`.
///
/// # Safety
/// `arg` points at the argument `request` encodes (its IOCPARM_LEN bytes, readable and
/// writable).
pub(super) unsafe fn ioctl(
    door: &SimSyscalls,
    path: &str,
    request: RawRequest,
    arg: *mut c_void,
) -> Result<(), Errno> {
    // SAFETY (every copyin/copyout below): the caller's promise about `arg`.
    match request {
        number::DEVFSIO_RADD => {
            let mut dr = unsafe { copyin_arg(ioctl::DEVFSIO_RADD, arg)? };
            check_magic(&dr)?;
            let rule = rule_of(&dr)?;
            let op = Op::DevfsAddRule;
            door.call(op, &(path, &rule), |m| {
                m.devfs_add_rule_rule(path, &rule).map_err(kernel(op))
            })?;
            // devfs_rule_input rewrote dr_id in place (ruleset 0 → the mount's); _IOWR copies
            // it out. The number an auto-numbered rule got is not written back.
            let id = door.peek(|m| m.devfs_id_input(path, rule.id))?;
            dr.dr_id = mkrid(id);
            unsafe { copyout(&dr, arg) }
        }
        number::DEVFSIO_RDEL => {
            let id = rid_of(unsafe { copyin_arg(ioctl::DEVFSIO_RDEL, arg)? });
            let op = Op::DevfsDeleteRule;
            door.call(op, &(path, id), |m| {
                m.devfs_delete_rule_rule(path, id).map_err(kernel(op))
            })
        }
        number::DEVFSIO_RAPPLY => {
            let dr = unsafe { copyin_arg(ioctl::DEVFSIO_RAPPLY, arg)? };
            check_magic(&dr)?;
            let rule = rule_of(&dr)?;
            let op = Op::DevfsApplyRule;
            door.call(op, &(path, &rule), |m| {
                m.devfs_apply_rule_rule(path, &rule).map_err(kernel(op))
            })
        }
        number::DEVFSIO_RAPPLYID => Err(Errno::EOPNOTSUPP),
        number::DEVFSIO_RGETNEXT => {
            let dr = unsafe { copyin_arg(ioctl::DEVFSIO_RGETNEXT, arg)? };
            check_magic(&dr)?;
            let after = rid_of(dr.dr_id);
            let op = Op::DevfsNextRule;
            let next = door.call(op, &(path, after), |m| {
                m.devfs_next_rule_rule(path, after).map_err(kernel(op))
            })?;
            unsafe { copyout(&struct_of(&next), arg) }
        }
        number::DEVFSIO_SUSE => {
            let set: u16 = unsafe { copyin_arg(ioctl::DEVFSIO_SUSE, arg)? };
            let op = Op::DevfsUseRuleset;
            door.call(op, &(path, set), |m| {
                m.devfs_use_ruleset_rule(path, set).map_err(kernel(op))
            })
        }
        number::DEVFSIO_SAPPLY => {
            let set: u16 = unsafe { copyin_arg(ioctl::DEVFSIO_SAPPLY, arg)? };
            let op = Op::DevfsApplyRuleset;
            door.call(op, &(path, set), |m| {
                m.devfs_apply_ruleset_rule(path, set).map_err(kernel(op))
            })
        }
        number::DEVFSIO_SGETNEXT => {
            let after: u16 = unsafe { copyin_arg(ioctl::DEVFSIO_SGETNEXT, arg)? };
            let op = Op::DevfsNextRuleset;
            let next = door.call(op, &(path, after), |m| {
                m.devfs_next_ruleset_rule(path, after).map_err(kernel(op))
            })?;
            unsafe { copyout(&next, arg) }
        }
        // devfs_rules_ioctl's ENOIOCTL for another command, ENOTTY to the caller.
        _ => Err(Errno::ENOTTY),
    }
}
