//! The real FreeBSD kernel behind zelle-core's traits (see README.md).
//!
//! Each typed operation of the contract becomes a kernel struct from `zelle-sys`, made with
//! `zeroed()` and then filled field by field, handed to one raw call of [`Syscalls`]. Network
//! requests for a jail's vnet run inside [`Syscalls::in_jail`] (a forked child that
//! jail_attach()es first) or, while a vnet session is open, in one helper child for them all
//! (`vnet.rs`), so no binary inside the jail is ever needed, and none outside either:
//! no ifconfig, route, pfctl, jail or mount is ever executed.
//!
//! `FreeBsd<LibcSyscalls>` is the production backend (FreeBSD only); `FreeBsd<SimSyscalls>`
//! (zelle-sim's ABI door) runs the very same code against the simulated machine on any host.

mod devfs;
mod files;
mod host;
mod jail;
#[cfg(target_os = "freebsd")]
pub mod libc_syscalls;
mod mount;
mod net;
mod pf;
mod process;
mod rctl;
mod route;
mod sockaddr;
pub mod syscalls;
mod vnet;
pub mod wire;

use core::ffi::{c_char, c_int, c_void};
use serde::de::DeserializeOwned;
use vnet::VnetTask;
use zelle_core::kernel::{Errno, Jid, KResult, KernelError, Op, Vnet};
use zelle_sys::ioctl::Request;
use zelle_sys::Zeroed;

pub use syscalls::{
    FsStat, IfAddr, JailServer, JailSession, JailTask, SpawnError, SpawnRequest, SpawnedChild,
    Syscalls,
};

/// The FreeBSD kernel, reached through `S`.
pub struct FreeBsd<S> {
    sys: S,
    /// `rtm_seq` of the next routing message.
    route_seq: std::sync::atomic::AtomicI32,
    /// Held while a pf rule is loaded: see `pf::add_rule`.
    pf_pool: std::sync::Mutex<()>,
    /// The open vnet sessions: see `vnet.rs`.
    sessions: vnet::Sessions,
}

impl<S: Syscalls> FreeBsd<S> {
    pub fn new(sys: S) -> Self {
        FreeBsd {
            sys,
            route_seq: std::sync::atomic::AtomicI32::new(1),
            pf_pool: std::sync::Mutex::new(()),
            sessions: vnet::Sessions::default(),
        }
    }

    /// The raw calls underneath.
    pub fn syscalls(&self) -> &S {
        &self.sys
    }

    /// Run `task` in `vnet`: directly for the host's; for a jail's in the helper of its open
    /// session, else in a child forked and jail-attached for this call. Its result comes back
    /// as JSON; a jail that cannot be attached to is jail_attach(2)'s error (EINVAL for a
    /// missing or dying jail).
    fn in_vnet<T: DeserializeOwned>(&self, op: Op, vnet: Vnet, task: VnetTask) -> KResult<T> {
        let answer = match vnet {
            Vnet::Host => task.run(&self.sys),
            Vnet::Jail(jid) => match self.sessions.call(&self.sys, jid, &task) {
                Some(answer) => answer,
                None => self
                    .sys
                    .in_jail(jid.0, &mut || task.run(&self.sys))
                    .map_err(|e| fail(Op::JailAttach, e))?,
            },
        };
        let bytes = answer.map_err(|e| fail(op, e))?;
        serde_json::from_slice(&bytes).map_err(|_| fail(op, Errno::EIO))
    }

    /// `NetworkInterfaces::vnet_session`: join (or start) the session for `jid` around `work`.
    fn vnet_session_for(&self, jid: Jid, work: &mut dyn FnMut()) -> KResult<()> {
        /// Leaves the session however `work` ends.
        struct Leave<'a, S: Syscalls>(&'a FreeBsd<S>, Jid);
        impl<S: Syscalls> Drop for Leave<'_, S> {
            fn drop(&mut self) {
                self.0.sessions.leave(&self.0.sys, self.1);
            }
        }
        let started = self.sessions.enter(&self.sys, jid);
        let _leave = started.is_ok().then(|| Leave(self, jid));
        work();
        started.map_err(|e| fail(Op::JailAttach, e))
    }
}

fn fail(op: Op, errno: Errno) -> KernelError {
    KernelError::errno(op, errno)
}

/// A descriptor closed when dropped (a failed close changes nothing for the caller).
struct Descriptor<'a, S: Syscalls> {
    sys: &'a S,
    fd: c_int,
}

impl<'a, S: Syscalls> Descriptor<'a, S> {
    fn socket(sys: &'a S, domain: u32, ty: c_int) -> Result<Self, Errno> {
        let ty = ty | syscalls::consts::SOCK_CLOEXEC;
        let fd = sys.socket(domain as c_int, ty, 0)?;
        Ok(Descriptor { sys, fd })
    }

    fn open(sys: &'a S, path: &core::ffi::CStr, flags: c_int) -> Result<Self, Errno> {
        let fd = sys.open(path, flags | syscalls::consts::O_CLOEXEC)?;
        Ok(Descriptor { sys, fd })
    }

    /// ioctl(2) with `arg` as the request's struct: the backend's one raw ioctl.
    ///
    /// # Safety
    /// Every pointer inside `arg` must point at live memory of the length `arg` gives for it
    /// (see [`Syscalls::ioctl`]).
    unsafe fn ioctl<T: Zeroed>(&self, request: Request<T>, arg: &mut T) -> Result<c_int, Errno> {
        // SAFETY: `arg` is a live, writable T, the struct `request` carries (its type says so);
        // the caller vouches for the pointers inside.
        unsafe {
            self.sys
                .ioctl(self.fd, request.number(), (arg as *mut T).cast::<c_void>())
        }
    }
}

impl<S: Syscalls> Drop for Descriptor<'_, S> {
    fn drop(&mut self) {
        let _ = self.sys.close(self.fd);
    }
}

/// `text` as a C char array with room for its NUL; ENAMETOOLONG when it does not fit (the
/// backend refuses before any call rather than let the kernel read a truncated name).
fn put_cstr<const N: usize>(field: &mut [c_char; N], text: &str) -> Result<(), Errno> {
    *field = zelle_sys::c_name(text).map_err(|_| Errno::ENAMETOOLONG)?;
    Ok(())
}

/// The C string in a char array: up to its first NUL, or all of it.
fn get_cstr(field: &[c_char]) -> String {
    String::from_utf8_lossy(zelle_sys::c_name_bytes(field)).into_owned()
}

/// The bytes of a C string up to its first NUL.
fn cstr_bytes(bytes: &[u8]) -> &[u8] {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    &bytes[..end]
}

#[cfg(test)]
mod test_support;
