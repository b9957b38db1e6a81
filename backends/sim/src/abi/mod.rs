//! The ABI door: the simulated machine behind the real backend's raw calls.
//!
//! [`SimSyscalls`] implements `zelle_freebsd::Syscalls` by decoding the very bytes the FreeBSD
//! kernel would receive — ioctl structs, routing messages, jail and mount iovecs, sysctl MIBs —
//! with the generated `zelle-sys` types, following embedded pointers the way copyin(9) would
//! (bounded by the lengths the structs give), and applying them through the machine's rule
//! methods. So `FreeBsd<SimSyscalls>` runs the production backend's code on any host, and the
//! conformance suite runs against it as against the typed door (`SimKernel`).
//!
//! Each contract operation's main request goes through `SimKernel::call` with the same `Op` and
//! arguments as the typed door, so traces and fault plans read the same through both doors.
//! The requests around it (the size query before a read, SIOCGIFMTU and BRDGGIFS while listing,
//! DIOCBEGINADDRS and DIOCADDADDR before DIOCADDRULE, DIOCGETRULE after DIOCGETRULES) look at or
//! prepare the machine without a trace entry of their own; they still fail once the kernel has
//! panicked.
//!
//! Limits of the door, where it answers less than the kernel would:
//! - Shape checks of a request (lengths, address families, the ifdrv command) come before the
//!   rule's lookups; the kernel looks the interface up first, so a malformed request naming a
//!   missing interface is EINVAL here and ENXIO there. The backend sends no malformed request.
//! - A panicked kernel answers every call with EIO (a real panic takes the caller with it); the
//!   machine records why (`Machine::panicked`).
//! - ioctl(2) on a directory knows the DEVFSIO_* requests of a devfs mount (`devfs.rs`).
//! - open(2) knows /dev/pf and directories; openat(2) and the other *at calls know the flags
//!   the backend's `Files` passes, and refuse others with EINVAL (`files.rs`).
//! - Processes are spawned, signalled and waited for through the machine's process rules
//!   directly: fork and exec have no bytes to decode. The door counts the forks the real
//!   backend would make ([`SimSyscalls::forks`]): per `in_jail` task, per jail session, per
//!   spawn. A spawn's pty is a real host pty (its master a real descriptor, handed back), and
//!   TIOCSWINSZ on any descriptor goes to the host's pty it is. sysctl kern.proc.proc is
//!   answered with `kinfo_proc` records of every simulated process (traced as
//!   `kern.proc` on its size query); so `signal_jail`, which the real backend makes of that
//!   listing and one kill(2) a process, reads as those calls in the trace, not as one
//!   `kill-jail`.
//! - A jail session's helper is not a process: its requests run in the caller's thread as if
//!   attached to the jail, their answers through the backend's wire format.

mod devfs;
mod files;
mod host;
mod jail;
mod mount;
mod net;
mod pf;
mod process;
mod rctl;
mod route;

use crate::fault::Op;
use crate::kernel::SimKernel;
use crate::machine::Machine;
use core::ffi::{c_int, c_void, CStr};
use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::thread::ThreadId;
use std::time::Duration;
use zelle_core::kernel::{Errno, Jid, KResult, KernelError, Vnet};
use zelle_freebsd::syscalls::consts::{O_CLOEXEC, SOCK_CLOEXEC, SOCK_DGRAM, SOCK_RAW};
use zelle_freebsd::{
    FsStat, IfAddr, JailServer, JailSession, JailTask, SpawnError, SpawnRequest, SpawnedChild,
    Syscalls,
};
use zelle_sys::ioctl::{RawRequest, Request};
use zelle_sys::{iovec, Zeroed, AF_INET, AF_INET6, PF_ROUTE};

/// What a descriptor of the door refers to.
#[derive(Clone, Debug)]
enum Open {
    /// An AF_INET or AF_INET6 datagram socket, in the vnet it was created in.
    Socket { domain: u32, vnet: Vnet },
    /// A routing socket; `echo` holds the messages the kernel sent back to it.
    Route { vnet: Vnet, echo: VecDeque<Vec<u8>> },
    /// /dev/pf; `writable` unless opened read-only.
    DevPf { writable: bool },
    /// A directory, by its path in the simulated namespace.
    Dir { path: String },
    /// A regular file of the host's, created beneath a directory.
    File {
        file: std::sync::Arc<Mutex<std::fs::File>>,
    },
    /// The parent's end of a jail session's socketpair.
    Helper,
}

/// The simulated machine behind `zelle_freebsd::Syscalls`.
pub struct SimSyscalls {
    kernel: SimKernel,
    fds: Mutex<BTreeMap<c_int, Open>>,
    /// The jail each thread is attached to while it runs an `in_jail` task.
    attached: Mutex<Vec<(ThreadId, Jid)>>,
    /// The jail of each open session's helper, by its descriptor.
    sessions: Mutex<BTreeMap<c_int, Jid>>,
    /// fork(2)s the real backend would have made: in_jail, jail_session_open, spawn.
    forks: AtomicU64,
}

impl SimSyscalls {
    pub fn new(kernel: SimKernel) -> Self {
        SimSyscalls {
            kernel,
            fds: Mutex::new(BTreeMap::new()),
            attached: Mutex::new(Vec::new()),
            sessions: Mutex::new(BTreeMap::new()),
            forks: AtomicU64::new(0),
        }
    }

    /// How many processes the real backend would have forked so far.
    pub fn forks(&self) -> u64 {
        self.forks.load(Ordering::SeqCst)
    }

    fn fork(&self) {
        self.forks.fetch_add(1, Ordering::SeqCst);
    }

    /// Run `f` as the calling thread attached to `jid`, as a jail-attached child would.
    fn attached_to<T>(&self, jid: Jid, f: impl FnOnce() -> T) -> T {
        let me = std::thread::current().id();
        self.attached
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((me, jid));
        let out = f();
        let mut attached = self.attached.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(at) = attached.iter().rposition(|(t, _)| *t == me) {
            attached.remove(at);
        }
        out
    }

    /// jail_attach(2)'s check: EINVAL for a jail that is missing or dying (kern_jail.c,
    /// sys_jail_attach → prison_find_child, prison_isalive).
    fn attachable(&self, jid: Jid) -> Result<(), Errno> {
        self.peek(|m| m.vnet_of(Vnet::Jail(jid)).map(|_| ()).map_err(errno_of))
    }

    /// The machine behind the door (to inspect it, or control it as tests do).
    pub fn kernel(&self) -> &SimKernel {
        &self.kernel
    }

    /// The vnet (and credential) of the calling thread: its jail's while in an `in_jail` task.
    fn vnet(&self) -> Vnet {
        let me = std::thread::current().id();
        let attached = self.attached.lock().unwrap_or_else(|e| e.into_inner());
        match attached.iter().rev().find(|(t, _)| *t == me) {
            Some(&(_, jid)) => Vnet::Jail(jid),
            None => Vnet::Host,
        }
    }

    fn sessions(&self) -> std::sync::MutexGuard<'_, BTreeMap<c_int, Jid>> {
        self.sessions.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn fds(&self) -> std::sync::MutexGuard<'_, BTreeMap<c_int, Open>> {
        self.fds.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn new_fd(&self, open: Open) -> c_int {
        let mut fds = self.fds();
        // Descriptors 0–2 are stdio; the lowest free one above, as open(2) does.
        let fd = (3..).find(|fd| !fds.contains_key(fd)).unwrap_or(3);
        fds.insert(fd, open);
        fd
    }

    fn open_fd(&self, fd: c_int) -> Result<Open, Errno> {
        self.fds().get(&fd).cloned().ok_or(Errno::EBADF)
    }

    /// A traced kernel call (see the module docs).
    fn call<T: fmt::Debug>(
        &self,
        op: Op,
        args: &dyn fmt::Debug,
        f: impl FnOnce(&mut Machine) -> KResult<T>,
    ) -> Result<T, Errno> {
        self.kernel.call(op, args, f).map_err(errno_of)
    }

    /// An untraced look at (or preparation of) the machine, refused once it has panicked.
    fn peek<T>(&self, f: impl FnOnce(&mut Machine) -> Result<T, Errno>) -> Result<T, Errno> {
        self.kernel
            .with_machine(|m| match m.panicked {
                Some(_) => Err(Errno::EIO),
                None => f(m),
            })
            .unwrap_or(Err(Errno::EIO))
    }
}

/// The errno a kernel error leaves in userland; a panic has none (see the module docs).
fn errno_of(error: KernelError) -> Errno {
    error.code().unwrap_or(Errno::EIO)
}

/// copyin(9) of a `T` from a user address: EFAULT for a null one.
///
/// # Safety
/// A non-null `addr` points at `size_of::<T>()` readable bytes.
unsafe fn copyin<T: Zeroed>(addr: *const c_void) -> Result<T, Errno> {
    if addr.is_null() {
        return Err(Errno::EFAULT);
    }
    // SAFETY: the caller's promise; every byte pattern is a valid `T`.
    Ok(unsafe { addr.cast::<T>().read_unaligned() })
}

/// copyin(9) of the struct `request` carries: sys_ioctl copies IOCPARM_LEN(request) bytes in,
/// and a `Request<T>` is sized by its `T`, so a decoder cannot read another struct.
///
/// # Safety
/// As for [`copyin`].
unsafe fn copyin_arg<T: Zeroed>(_request: Request<T>, addr: *const c_void) -> Result<T, Errno> {
    // SAFETY: the caller's promise.
    unsafe { copyin(addr) }
}

/// copyout(9) of a `T` to a user address: EFAULT for a null one.
///
/// # Safety
/// A non-null `addr` points at `size_of::<T>()` writable bytes.
unsafe fn copyout<T: Zeroed>(value: &T, addr: *mut c_void) -> Result<(), Errno> {
    if addr.is_null() {
        return Err(Errno::EFAULT);
    }
    // SAFETY: the caller's promise.
    unsafe { addr.cast::<T>().write_unaligned(*value) };
    Ok(())
}

/// copyin(9) of `len` bytes: EFAULT for a null address with a length.
///
/// # Safety
/// A non-null `addr` points at `len` readable bytes.
unsafe fn copyin_bytes(addr: *const c_void, len: usize) -> Result<Vec<u8>, Errno> {
    if len == 0 {
        return Ok(Vec::new());
    }
    if addr.is_null() {
        return Err(Errno::EFAULT);
    }
    // SAFETY: the caller's promise.
    Ok(unsafe { core::slice::from_raw_parts(addr.cast::<u8>(), len) }.to_vec())
}

/// copyout(9) of bytes.
///
/// # Safety
/// A non-null `addr` points at `bytes.len()` writable bytes.
unsafe fn copyout_bytes(bytes: &[u8], addr: *mut c_void) -> Result<(), Errno> {
    if bytes.is_empty() {
        return Ok(());
    }
    if addr.is_null() {
        return Err(Errno::EFAULT);
    }
    // SAFETY: the caller's promise.
    unsafe { core::ptr::copy_nonoverlapping(bytes.as_ptr(), addr.cast::<u8>(), bytes.len()) };
    Ok(())
}

/// A C string in a fixed char field: up to its first NUL, all of it when there is none (the
/// rule then refuses it as too long). Where a C string ends is a fact of the ABI, shared with
/// the backend through zelle-sys; what a name may be is the rules' to say.
fn field_str(field: &[core::ffi::c_char]) -> String {
    String::from_utf8_lossy(zelle_sys::c_name_bytes(field)).into_owned()
}

/// Write `text` into a C char field, cut to fit with its NUL (strlcpy).
fn set_field(field: &mut [core::ffi::c_char], text: &str) {
    field.fill(0);
    let n = text.len().min(field.len().saturating_sub(1));
    for (dst, &src) in field.iter_mut().zip(&text.as_bytes()[..n]) {
        *dst = src as core::ffi::c_char;
    }
}

impl Syscalls for SimSyscalls {
    fn socket(&self, domain: c_int, ty: c_int, _protocol: c_int) -> Result<c_int, Errno> {
        let ty = ty & !SOCK_CLOEXEC;
        let vnet = self.vnet();
        let open = match (domain as u32, ty) {
            (AF_INET | AF_INET6, SOCK_DGRAM) => Open::Socket {
                domain: domain as u32,
                vnet,
            },
            (PF_ROUTE, SOCK_RAW) => Open::Route {
                vnet,
                echo: VecDeque::new(),
            },
            (AF_INET | AF_INET6 | PF_ROUTE, _) => return Err(Errno::EPROTONOSUPPORT),
            _ => return Err(Errno::EAFNOSUPPORT),
        };
        self.peek(|_| Ok(()))?;
        Ok(self.new_fd(open))
    }

    fn open(&self, path: &CStr, flags: c_int) -> Result<c_int, Errno> {
        if path.to_bytes() != b"/dev/pf" {
            return self.open_dir(path, flags);
        }
        // /dev/pf exists while pf is loaded (pf_load makes it).
        self.peek(|m| match m.host.has_module("pf") {
            true => Ok(()),
            false => Err(Errno::ENOENT),
        })?;
        // O_RDONLY is 0: any other access mode may write.
        let writable = (flags & !O_CLOEXEC) & 0x3 != 0;
        Ok(self.new_fd(Open::DevPf { writable }))
    }

    fn close(&self, fd: c_int) -> Result<(), Errno> {
        self.fds().remove(&fd).map(|_| ()).ok_or(Errno::EBADF)
    }

    unsafe fn ioctl(
        &self,
        fd: c_int,
        request: RawRequest,
        arg: *mut c_void,
    ) -> Result<c_int, Errno> {
        // A pty's requests go to the host's own pty the master is (the door has no tty).
        if request == zelle_sys::ioctl::number::TIOCSWINSZ {
            // SAFETY: the caller's promise (Syscalls::ioctl): `arg` is a winsize.
            return unsafe { process::tiocswinsz(self, fd, arg) }.map(|()| 0);
        }
        // SAFETY: the caller's promise (Syscalls::ioctl) carries over to the decoders.
        match self.open_fd(fd)? {
            Open::Socket { domain, vnet } => unsafe {
                net::ioctl(self, vnet, domain, request, arg)
            },
            Open::DevPf { writable } => unsafe { pf::ioctl(self, writable, request, arg) },
            Open::Dir { path } => unsafe { devfs::ioctl(self, &path, request, arg) },
            Open::Route { .. } | Open::File { .. } | Open::Helper => Err(Errno::ENOTTY),
        }
        .map(|()| 0)
    }

    fn write(&self, fd: c_int, buf: &[u8]) -> Result<usize, Errno> {
        let vnet = match self.open_fd(fd)? {
            Open::Route { vnet, .. } => vnet,
            Open::File { file } => return Self::write_file(&file, buf),
            _ => return Err(Errno::EOPNOTSUPP),
        };
        let (result, echo) = route::write(self, vnet, buf);
        if let (Some(echo), Some(Open::Route { echo: queue, .. })) = (echo, self.fds().get_mut(&fd))
        {
            queue.push_back(echo);
        }
        result.map(|()| buf.len())
    }

    fn read(&self, fd: c_int, buf: &mut [u8]) -> Result<usize, Errno> {
        let mut fds = self.fds();
        let echo = match fds.get_mut(&fd) {
            Some(Open::Route { echo, .. }) => echo,
            Some(_) => return Err(Errno::EOPNOTSUPP),
            None => return Err(Errno::EBADF),
        };
        // Nothing queued: a blocking read would wait; the door does not block.
        let msg = echo.pop_front().ok_or(Errno::EAGAIN)?;
        let n = msg.len().min(buf.len());
        buf[..n].copy_from_slice(&msg[..n]);
        Ok(n)
    }

    fn openat(&self, dirfd: c_int, path: &CStr, flags: c_int, mode: u32) -> Result<c_int, Errno> {
        self.openat_call(dirfd, path, flags, mode)
    }

    fn mkdirat(&self, dirfd: c_int, path: &CStr, mode: u32) -> Result<(), Errno> {
        self.mkdirat_call(dirfd, path, mode)
    }

    fn fstatat(&self, dirfd: c_int, path: &CStr, flags: c_int) -> Result<u32, Errno> {
        self.fstatat_call(dirfd, path, flags)
    }

    fn readlinkat(&self, dirfd: c_int, path: &CStr, buf: &mut [u8]) -> Result<usize, Errno> {
        self.readlinkat_call(dirfd, path, buf)
    }

    fn renameat(
        &self,
        from_dir: c_int,
        from: &CStr,
        to_dir: c_int,
        to: &CStr,
    ) -> Result<(), Errno> {
        self.renameat_call(from_dir, from, to_dir, to)
    }

    fn unlinkat(&self, dirfd: c_int, path: &CStr, flags: c_int) -> Result<(), Errno> {
        self.unlinkat_call(dirfd, path, flags)
    }

    unsafe fn jail_set(&self, iov: &mut [iovec], flags: c_int) -> Result<c_int, Errno> {
        // SAFETY: the caller's promise (Syscalls::jail_set).
        unsafe { jail::set(self, iov, flags) }
    }

    unsafe fn jail_get(&self, iov: &mut [iovec], flags: c_int) -> Result<c_int, Errno> {
        // SAFETY: the caller's promise (Syscalls::jail_get).
        unsafe { jail::get(self, iov, flags) }
    }

    fn jail_remove(&self, jid: c_int) -> Result<(), Errno> {
        let jid = Jid(jid);
        self.call(Op::JailRemove, &jid, |m| m.jail_remove_rule(jid))
    }

    unsafe fn nmount(&self, iov: &mut [iovec], flags: c_int) -> Result<(), Errno> {
        // SAFETY: the caller's promise (Syscalls::nmount).
        unsafe { mount::nmount(self, iov, flags) }
    }

    fn unmount(&self, path: &CStr, flags: c_int) -> Result<(), Errno> {
        mount::unmount(self, path, flags)
    }

    fn getfsstat(&self) -> Result<Vec<FsStat>, Errno> {
        mount::getfsstat(self)
    }

    fn sysctl(&self, mib: &[c_int], old: &mut [u8], new: &[u8]) -> Result<usize, Errno> {
        host::sysctl(self, mib, old, new)
    }

    fn sysctlbyname(&self, name: &CStr, old: &mut [u8], new: &[u8]) -> Result<usize, Errno> {
        host::sysctlbyname(self, name, old, new)
    }

    fn modfind(&self, name: &CStr) -> Result<c_int, Errno> {
        host::modfind(self, name)
    }

    fn getifaddrs(&self) -> Result<Vec<IfAddr>, Errno> {
        net::getifaddrs(self, self.vnet())
    }

    fn in_jail(
        &self,
        jid: c_int,
        task: &mut dyn JailTask,
    ) -> Result<Result<Vec<u8>, Errno>, Errno> {
        let jid = Jid(jid);
        self.fork();
        self.attachable(jid)?;
        Ok(self.attached_to(jid, || task.run()))
    }

    /// The helper cannot be forked here: its requests run in the caller's thread, attached
    /// (see `jail_session_call`). Its start goes through the machine like the typed door's
    /// `vnet_session`, so traces and fault plans read the same through both doors.
    fn jail_session_open(
        &self,
        jid: c_int,
        _server: &dyn JailServer,
    ) -> Result<JailSession, Errno> {
        let jid = Jid(jid);
        self.fork();
        self.call(Op::VnetSession, &jid, |m| {
            m.vnet_of(Vnet::Jail(jid)).map(drop)
        })?;
        let fd = self.new_fd(Open::Helper);
        self.sessions().insert(fd, jid);
        Ok(JailSession { fd, pid: 0 })
    }

    fn jail_session_call(
        &self,
        session: JailSession,
        request: &[u8],
        server: &dyn JailServer,
    ) -> Result<Result<Vec<u8>, Errno>, Errno> {
        let jid = *self.sessions().get(&session.fd).ok_or(Errno::EBADF)?;
        // jail_remove(2) SIGKILLs every process in the jail, the helper among them
        // (FACTS-kernel-errno.md §6: prison_deref with PD_KILL, kern_jail.c 14): its socket
        // then reads as closed. A dying jail has no helper left either.
        self.attachable(jid).map_err(|_| Errno::EPIPE)?;
        // The answer travels as the real helper's does, through the backend's wire format.
        let answer = self.attached_to(jid, || server.serve(request));
        zelle_freebsd::wire::parse_answer(&zelle_freebsd::wire::answer(&answer))
    }

    fn jail_session_close(&self, session: JailSession) -> Result<(), Errno> {
        self.sessions().remove(&session.fd).ok_or(Errno::EBADF)?;
        self.close(session.fd)
    }

    fn spawn(&self, request: &SpawnRequest) -> Result<SpawnedChild, SpawnError> {
        self.fork();
        process::spawn(self, request)
    }

    fn kill(&self, pid: c_int, signal: c_int) -> Result<(), Errno> {
        process::kill(self, pid, signal)
    }

    fn wait4(&self, pid: c_int, options: c_int) -> Result<(c_int, c_int), Errno> {
        process::wait4(self, pid, options)
    }

    fn wait4_for(&self, pid: c_int, timeout: Duration) -> Result<(c_int, c_int), Errno> {
        process::wait4_for(self, pid, timeout)
    }

    fn procctl(&self, idtype: c_int, id: c_int, cmd: c_int) -> Result<(), Errno> {
        process::procctl(self, idtype, id, cmd)
    }

    fn getpid(&self) -> c_int {
        std::process::id() as c_int
    }

    fn rctl(&self, number: c_int, inbuf: &[u8], outbuf: &mut [u8]) -> Result<(), Errno> {
        self.rctl_syscall(number, inbuf, outbuf)
    }
}
