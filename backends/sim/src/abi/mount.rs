//! nmount(2), unmount(2) and getfsstat(2) through the door (`sys/kern/vfs_mount.c`:
//! `vfs_donmount` reads the iovec pairs with `vfs_buildopts`).

use super::jail::{options, put_errmsg, string};
use super::SimSyscalls;
use crate::fault::Op;
use core::ffi::{c_int, CStr};
use zelle_core::kernel::{Errno, KernelError, MountFlags, MountRequest};
use zelle_freebsd::FsStat;
use zelle_sys::iovec;

/// The request the pairs make: fstype, fspath and from by name, every other option (but the
/// errmsg buffer) in order, a value-less one as "".
fn request(opts: &[super::jail::Opt], flags: c_int) -> Result<MountRequest, KernelError> {
    let fail = |errno, text: &str| KernelError::with_message(Op::Nmount, errno, text);
    let find = |name: &str| opts.iter().rev().find(|o| o.name == name);
    // vfs_donmount: no fstype or fspath C string is EINVAL (UNCONFIRMED: its messages).
    let fstype = find("fstype")
        .and_then(|o| string(&o.value).ok())
        .ok_or_else(|| fail(Errno::EINVAL, "Invalid fstype"))?;
    let fspath = find("fspath")
        .and_then(|o| string(&o.value).ok())
        .ok_or_else(|| fail(Errno::EINVAL, "Invalid fspath"))?;
    let from = match find("from") {
        Some(o) => Some(string(&o.value).map_err(|e| KernelError::errno(Op::Nmount, e))?),
        None => None,
    };
    let options = opts
        .iter()
        .filter(|o| !matches!(o.name.as_str(), "fstype" | "fspath" | "from" | "errmsg"))
        .map(|o| {
            let value = match &o.value {
                None => String::new(),
                Some(_) => string(&o.value).unwrap_or_default(),
            };
            (o.name.clone(), value)
        })
        .collect();
    Ok(MountRequest {
        fstype,
        fspath,
        from,
        options,
        flags: MountFlags(u64::from(flags as u32)),
    })
}

/// nmount(2).
///
/// # Safety
/// See `Syscalls::nmount`.
pub(super) unsafe fn nmount(
    door: &SimSyscalls,
    iov: &mut [iovec],
    flags: c_int,
) -> Result<(), Errno> {
    // SAFETY: the caller's promise.
    let opts = unsafe { options(iov)? };
    let result = match request(&opts, flags) {
        Ok(req) => door.kernel.call(Op::Nmount, &req, |m| m.nmount_rule(&req)),
        Err(e) => door.kernel.call(Op::Nmount, &(), |_| Err::<(), _>(e)),
    };
    result.map_err(|e| {
        // SAFETY: the caller's promise.
        unsafe { put_errmsg(iov, &opts, &e) };
        super::errno_of(e)
    })
}

/// unmount(2).
pub(super) fn unmount(door: &SimSyscalls, path: &CStr, flags: c_int) -> Result<(), Errno> {
    let path = path.to_string_lossy().into_owned();
    let flags = MountFlags(u64::from(flags as u32));
    door.call(Op::Unmount, &(path.as_str(), flags), |m| {
        m.unmount_rule(&path, flags)
    })
}

/// getfsstat(2): every mount, in mount order.
pub(super) fn getfsstat(door: &SimSyscalls) -> Result<Vec<FsStat>, Errno> {
    let list = door.call(Op::ListMounts, &(), |m| Ok(m.list_mounts_rule()))?;
    Ok(list
        .into_iter()
        .map(|e| FsStat {
            fstypename: e.fstype,
            mntfromname: e.from,
            mntonname: e.on,
            flags: e.flags.0,
        })
        .collect())
}
