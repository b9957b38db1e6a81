//! jail_set(2) and jail_get(2) through the door: name/value iovec pairs read as `vfs_buildopts`
//! reads them, then each parameter as `kern_jail_set` and `kern_jail_get` take it
//! (`sys/kern/kern_jail.c`, `sys/kern/vfs_mount.c`: `vfs_copyopt`, `vfs_getopt`, `vfs_setopt`,
//! `vfs_setopts`, `vfs_setopt_part`) [14].

use super::{copyin_bytes, copyout_bytes, SimSyscalls};
use crate::fault::Op;
use core::ffi::c_int;
use std::net::{Ipv4Addr, Ipv6Addr};
use zelle_core::kernel::{
    Errno, IpMode, JailFlags, JailInfo, JailKey, JailParams, JailSys, Jid, KResult, KernelError,
};
use zelle_sys::iovec;

/// `VFS_MOUNTARG_SIZE_MAX` (vfs_mount.c): the most bytes the names and values of one request
/// may have together (vfs_buildopts; UNCONFIRMED whether the sum or each value alone).
const VFS_MOUNTARG_SIZE_MAX: usize = 64 * 1024;

/// One option of the request: its name, its value (`None` when it has none), and where its
/// value iovec is in the array.
pub(super) struct Opt {
    pub name: String,
    pub value: Option<Vec<u8>>,
    pub at: usize,
}

/// `vfs_buildopts`: an even number of iovecs; each name a non-empty C string; names and values
/// of at most VFS_MOUNTARG_SIZE_MAX bytes together (a null or empty value is no value).
///
/// # Safety
/// Each iovec's base is null or points at `iov_len` readable bytes.
pub(super) unsafe fn options(iov: &[iovec]) -> Result<Vec<Opt>, Errno> {
    if iov.len() % 2 != 0 {
        return Err(Errno::EINVAL);
    }
    let mut out = Vec::new();
    // vfs_buildopts also bounds the names and values together, before copying any of them.
    let mut total: usize = 0;
    for (i, pair) in iov.chunks(2).enumerate() {
        total = total
            .saturating_add(pair[0].iov_len)
            .saturating_add(pair[1].iov_len);
        if total > VFS_MOUNTARG_SIZE_MAX {
            return Err(Errno::EINVAL);
        }
        // SAFETY: the caller's promise.
        let name = unsafe { copyin_bytes(pair[0].iov_base, pair[0].iov_len)? };
        match name.split_last() {
            Some((0, text)) if !text.is_empty() => {}
            _ => return Err(Errno::EINVAL),
        }
        if pair[1].iov_len > VFS_MOUNTARG_SIZE_MAX {
            return Err(Errno::EINVAL);
        }
        let value = if pair[1].iov_base.is_null() || pair[1].iov_len == 0 {
            None
        } else {
            // SAFETY: the caller's promise.
            Some(unsafe { copyin_bytes(pair[1].iov_base, pair[1].iov_len)? })
        };
        let name = String::from_utf8_lossy(&name[..name.len() - 1]).into_owned();
        out.push(Opt {
            name,
            value,
            at: 2 * i + 1,
        });
    }
    Ok(out)
}

/// `vfs_getopt` of a string option as kern_jail_set checks one: a value ending in its NUL
/// (EINVAL otherwise), read up to its first NUL.
pub(super) fn string(value: &Option<Vec<u8>>) -> Result<String, Errno> {
    match value.as_deref() {
        Some([text @ .., 0]) => {
            let end = text.iter().position(|&b| b == 0).unwrap_or(text.len());
            Ok(String::from_utf8_lossy(&text[..end]).into_owned())
        }
        _ => Err(Errno::EINVAL),
    }
}

/// `vfs_copyopt` of a C int: exactly its size, or EINVAL.
fn int(value: &Option<Vec<u8>>) -> Result<c_int, Errno> {
    let bytes: [u8; 4] = value
        .as_deref()
        .and_then(|v| v.try_into().ok())
        .ok_or(Errno::EINVAL)?;
    Ok(c_int::from_ne_bytes(bytes))
}

/// A jailsys value without "disable" (`vnet`; `linux`: linux_prison_check).
fn jail_sys(value: c_int) -> Result<JailSys, Errno> {
    match value {
        1 => Ok(JailSys::New),
        2 => Ok(JailSys::Inherit),
        _ => Err(Errno::EINVAL),
    }
}

/// A jailsys value with "disable" (`ip4`, `ip6`; `sysvmsg` and the others: msg_prison_check).
fn ip_mode(value: c_int) -> Result<IpMode, Errno> {
    match value {
        0 => Ok(IpMode::Disable),
        1 => Ok(IpMode::New),
        2 => Ok(IpMode::Inherit),
        _ => Err(Errno::EINVAL),
    }
}

/// `allow.<name>` or its "no" form, back to the permission and its value: the "no" goes before
/// the last component (libjail's naming, which the rule's own encoding mirrors exactly).
fn allow(wire: &str) -> (String, bool) {
    let rest = &wire["allow.".len()..];
    let (prefix, last) = match rest.rsplit_once('.') {
        Some((prefix, last)) => (Some(prefix), last),
        None => (None, rest),
    };
    match (last.strip_prefix("no"), prefix) {
        (Some(bare), Some(prefix)) => (format!("{prefix}.{bare}"), false),
        (Some(bare), None) => (bare.to_string(), false),
        (None, _) => (rest.to_string(), true),
    }
}

/// The parameters of a jail_set request, or the first name kern_jail_set does not know.
fn set_params(opts: &[Opt]) -> Result<(JailParams, Option<String>), Errno> {
    let mut p = JailParams::default();
    let mut unknown = None;
    let (mut persist, mut nopersist) = (false, false);
    for opt in opts {
        let v = &opt.value;
        match opt.name.as_str() {
            "jid" => p.jid = Some(int(v)?),
            "name" => p.name = Some(string(v)?),
            "path" => p.path = Some(string(v)?),
            "host.hostname" => p.hostname = Some(string(v)?),
            // vfs_flagopt: the presence of the name is the value.
            "persist" => persist = true,
            "nopersist" => nopersist = true,
            // jailsys parameters: vnet has no "disable".
            "vnet" => p.vnet = Some(jail_sys(int(v)?)?),
            "securelevel" => p.securelevel = Some(int(v)?),
            "sysvmsg" => p.sysvmsg = Some(ip_mode(int(v)?)?),
            "sysvsem" => p.sysvsem = Some(ip_mode(int(v)?)?),
            "sysvshm" => p.sysvshm = Some(ip_mode(int(v)?)?),
            // Decoded whether or not linux_common is loaded: the rule refuses them when not.
            "linux" => p.linux = Some(jail_sys(int(v)?)?),
            "linux.osname" => p.linux_osname = Some(string(v)?),
            "linux.osrelease" => p.linux_osrelease = Some(string(v)?),
            "enforce_statfs" => p.enforce_statfs = Some(int(v)? as u32),
            "children.max" => p.children_max = Some(int(v)? as u32),
            "devfs_ruleset" => p.devfs_ruleset = Some(int(v)? as u32),
            "ip4" => p.ip4 = Some(ip_mode(int(v)?)?),
            "ip6" => p.ip6 = Some(ip_mode(int(v)?)?),
            // Arrays of in_addr / in6_addr: a length that is not a multiple is EINVAL.
            "ip4.addr" => {
                let bytes = v.as_deref().unwrap_or_default();
                if bytes.len() % 4 != 0 {
                    return Err(Errno::EINVAL);
                }
                p.ip4_addrs = bytes
                    .chunks_exact(4)
                    .map(|c| Ipv4Addr::new(c[0], c[1], c[2], c[3]))
                    .collect();
            }
            "ip6.addr" => {
                let bytes = v.as_deref().unwrap_or_default();
                if bytes.len() % 16 != 0 {
                    return Err(Errno::EINVAL);
                }
                p.ip6_addrs = bytes
                    .chunks_exact(16)
                    .filter_map(|c| <[u8; 16]>::try_from(c).ok().map(Ipv6Addr::from))
                    .collect();
            }
            name if name.starts_with("allow.") => p.allow.push(allow(name)),
            "errmsg" => {}
            other => {
                unknown.get_or_insert_with(|| other.to_string());
            }
        }
    }
    p.persist = match (persist, nopersist) {
        (true, _) => Some(true),
        (false, true) => Some(false),
        (false, false) => None,
    };
    Ok((p, unknown))
}

/// The kernel's text into the "errmsg" buffer, cut to fit with its NUL (`vfs_opterror`).
///
/// # Safety
/// The iovecs' bases point at `iov_len` writable bytes.
pub(super) unsafe fn put_errmsg(iov: &[iovec], opts: &[Opt], error: &KernelError) {
    let KernelError::Errno {
        message: Some(text),
        ..
    } = error
    else {
        return;
    };
    let Some(slot) = opts.iter().find(|o| o.name == "errmsg").map(|o| iov[o.at]) else {
        return;
    };
    if slot.iov_len == 0 {
        return;
    }
    let n = text.len().min(slot.iov_len - 1);
    let mut bytes = text.as_bytes()[..n].to_vec();
    bytes.push(0);
    // SAFETY: the caller's promise; at most iov_len bytes.
    let _ = unsafe { copyout_bytes(&bytes, slot.iov_base) };
}

/// jail_set(2).
///
/// # Safety
/// See `Syscalls::jail_set`.
pub(super) unsafe fn set(
    door: &SimSyscalls,
    iov: &mut [iovec],
    flags: c_int,
) -> Result<c_int, Errno> {
    // SAFETY: the caller's promise.
    let opts = unsafe { options(iov)? };
    let (params, unknown) = set_params(&opts)?;
    let flags = JailFlags(flags as u32);
    let result = door
        .kernel
        .call(Op::JailSet, &(&params, flags), |m| match &unknown {
            // kern_jail_set notes every parameter it knows; the first it did not: EINVAL.
            Some(name) => Err(KernelError::with_message(
                Op::JailSet,
                Errno::EINVAL,
                format!("unknown parameter: {name}"),
            )),
            None => m.jail_set_rule(&params, flags),
        });
    result.map(|jid| jid.0).map_err(|e| {
        // SAFETY: the caller's promise.
        unsafe { put_errmsg(iov, &opts, &e) };
        super::errno_of(e)
    })
}

/// The key of a jail_get request (kern_jail_get): "lastjid", else a non-zero "jid", else a
/// "name"; none of them is "no jail specified".
fn get_key(opts: &[Opt]) -> Result<JailKey, Errno> {
    let find = |name: &str| opts.iter().find(|o| o.name == name);
    if let Some(o) = find("lastjid") {
        return Ok(JailKey::After(Jid(int(&o.value)?)));
    }
    if let Some(o) = find("jid") {
        let jid = int(&o.value)?;
        if jid != 0 {
            return Ok(JailKey::Jid(Jid(jid)));
        }
    }
    if let Some(o) = find("name") {
        let name = string(&o.value)?;
        if !name.is_empty() {
            return Ok(JailKey::Name(name));
        }
    }
    Ok(JailKey::Jid(Jid(0)))
}

/// What jail_get writes for one requested parameter: an int, a string, or an array whose
/// length goes back into the iovec.
enum Out {
    Int(c_int),
    Str(String),
    Array(Vec<u8>),
}

fn out_value(info: &JailInfo, name: &str) -> Option<Out> {
    let int = |b: bool| Out::Int(c_int::from(b));
    let mode = |m: IpMode| Out::Int(m as c_int);
    Some(match name {
        "jid" => Out::Int(info.jid.0),
        "name" => Out::Str(info.name.clone()),
        "path" => Out::Str(info.path.clone()),
        "host.hostname" => Out::Str(info.hostname.clone()),
        "persist" => int(info.persist),
        "nopersist" => int(!info.persist),
        "dying" => int(info.dying),
        "nodying" => int(!info.dying),
        "vnet" => Out::Int(if info.vnet { 1 } else { 2 }),
        "enforce_statfs" => Out::Int(info.enforce_statfs as c_int),
        "children.max" => Out::Int(info.children_max as c_int),
        "devfs_ruleset" => Out::Int(info.devfs_ruleset as c_int),
        "ip4" => mode(info.ip4),
        "ip6" => mode(info.ip6),
        "securelevel" => Out::Int(info.securelevel),
        "sysvmsg" => mode(info.sysvmsg),
        "sysvsem" => mode(info.sysvsem),
        "sysvshm" => mode(info.sysvshm),
        // Unknown parameters while linux_common is not loaded.
        "linux" => Out::Int(info.linux.as_ref()?.mode as c_int),
        "linux.osname" => Out::Str(info.linux.as_ref()?.osname.clone()),
        "linux.osrelease" => Out::Str(info.linux.as_ref()?.osrelease.clone()),
        "ip4.addr" => Out::Array(info.ip4_addrs.iter().flat_map(|a| a.octets()).collect()),
        "ip6.addr" => Out::Array(info.ip6_addrs.iter().flat_map(|a| a.octets()).collect()),
        // Every allow.* name is answered, set or not (a door limit: the kernel refuses a
        // permission it does not know, "unknown parameter").
        wire if wire.starts_with("allow.") => {
            let (name, on) = allow(wire);
            int(info.allow.contains(&name) == on)
        }
        _ => return None,
    })
}

/// Write the requested values into their buffers: a wrong int size or a string that does not
/// fit is EINVAL (`vfs_setopt`, `vfs_setopts`), an array too long too (`vfs_setopt_part`); an
/// array's length goes back into its iovec.
///
/// # Safety
/// The iovecs' bases point at `iov_len` writable bytes.
unsafe fn put_values(iov: &mut [iovec], opts: &[Opt], info: &JailInfo) -> KResult<()> {
    let fail = |errno| KernelError::errno(Op::JailGet, errno);
    for opt in opts {
        if matches!(opt.name.as_str(), "lastjid" | "errmsg") {
            continue;
        }
        let Some(value) = out_value(info, &opt.name) else {
            return Err(KernelError::with_message(
                Op::JailGet,
                Errno::EINVAL,
                format!("unknown parameter: {}", opt.name),
            ));
        };
        let slot = iov[opt.at];
        // A parameter asked without a buffer gets only its length (none here but arrays').
        if slot.iov_base.is_null() {
            if let Out::Array(bytes) = &value {
                iov[opt.at].iov_len = bytes.len();
            }
            continue;
        }
        let bytes = match value {
            Out::Int(v) if slot.iov_len == 4 => v.to_ne_bytes().to_vec(),
            Out::Int(_) => return Err(fail(Errno::EINVAL)),
            Out::Str(s) if s.len() < slot.iov_len => {
                let mut b = s.into_bytes();
                b.push(0);
                b
            }
            Out::Str(_) => return Err(fail(Errno::EINVAL)),
            Out::Array(b) if b.len() <= slot.iov_len => {
                iov[opt.at].iov_len = b.len();
                b
            }
            Out::Array(_) => return Err(fail(Errno::EINVAL)),
        };
        // SAFETY: the caller's promise; never more than iov_len bytes.
        unsafe { copyout_bytes(&bytes, slot.iov_base) }.map_err(fail)?;
    }
    Ok(())
}

/// jail_get(2).
///
/// # Safety
/// See `Syscalls::jail_get`.
pub(super) unsafe fn get(
    door: &SimSyscalls,
    iov: &mut [iovec],
    flags: c_int,
) -> Result<c_int, Errno> {
    // SAFETY: the caller's promise.
    let opts = unsafe { options(iov)? };
    let key = get_key(&opts)?;
    let flags = JailFlags(flags as u32);
    // As the typed door: host processes that ended are reaped first (they may hold the jail).
    door.kernel.reap_local();
    let result = door.kernel.call(Op::JailGet, &(&key, flags), |m| {
        let info = m.jail_get_rule(&key, flags)?;
        // SAFETY: the caller's promise.
        unsafe { put_values(iov, &opts, &info)? };
        Ok(info.jid)
    });
    result.map(|jid| jid.0).map_err(|e| {
        // SAFETY: the caller's promise.
        unsafe { put_errmsg(iov, &opts, &e) };
        super::errno_of(e)
    })
}
