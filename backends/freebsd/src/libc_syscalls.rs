//! The real system calls, through libc's FreeBSD functions (this module exists only on
//! FreeBSD).
//!
//! `in_jail`, `jail_session_open` and `spawn` fork. The child of a multi-threaded process may
//! call only async-signal-safe functions, with one exception relied on here: FreeBSD's libthr
//! brackets fork(2) with the allocator's prefork/postfork handlers, so the in-jail work
//! (sockets, ioctls, JSON requests and results) may allocate in the child. `spawn` prepares
//! every C string, pointer array and descriptor (the pty, the stdin pipe) before it forks and
//! allocates nothing in the child.
//!
//! A child that works in a jail ([`enter_jail`]) never returns into the caller's code: its work
//! runs under `catch_unwind`, and it leaves by `_exit`.

use crate::get_cstr;
use crate::syscalls::{
    FsStat, IfAddr, JailServer, JailSession, JailTask, SpawnError, SpawnRequest, SpawnedChild,
    Syscalls,
};
use crate::wire;
use core::ffi::{c_char, c_int, c_void, CStr};
use core::mem::size_of;
use core::ptr;
use std::ffi::CString;
use std::os::fd::{FromRawFd, OwnedFd};
use std::time::{Duration, Instant};
use zelle_core::kernel::{Errno, Op, StdioFd};
use zelle_sys::ioctl::{RawRequest, TIOCGPTN, TIOCSCTTY};
use zelle_sys::iovec;

extern "C" {
    /// modfind(2) (`sys/module.h`); the libc crate does not declare it.
    fn modfind(modname: *const c_char) -> c_int;
}

/// The errno of the call that just failed.
fn last() -> Errno {
    Errno(
        std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EIO),
    )
}

/// A call's int result: -1 is its errno.
fn check(rc: c_int) -> Result<c_int, Errno> {
    if rc == -1 {
        Err(last())
    } else {
        Ok(rc)
    }
}

/// The real kernel.
#[derive(Clone, Copy, Debug, Default)]
pub struct LibcSyscalls;

impl LibcSyscalls {
    pub fn new() -> Self {
        LibcSyscalls
    }
}

/// The iovec array as libc takes it: `zelle_sys::iovec` and `libc::iovec` are both
/// `struct iovec` of `sys/uio.h` (base pointer, length).
fn iov_ptr(iov: &mut [iovec]) -> (*mut libc::iovec, libc::c_uint) {
    (iov.as_mut_ptr().cast(), iov.len() as libc::c_uint)
}

/// `len` bytes of a sockaddr at `sa`, by its `sa_len`.
///
/// # Safety
/// `sa` is null or points at a sockaddr of `sa_len` bytes.
unsafe fn sockaddr_bytes(sa: *const libc::sockaddr) -> Option<Vec<u8>> {
    if sa.is_null() {
        return None;
    }
    // SAFETY: the caller's promise.
    let len = usize::from(unsafe { (*sa).sa_len });
    // SAFETY: the caller's promise.
    Some(unsafe { core::slice::from_raw_parts(sa.cast::<u8>(), len) }.to_vec())
}

/// sysctl(3)'s old and new buffers: NULL when empty.
fn sysctl_buffers(old: &mut [u8], new: &[u8]) -> (*mut c_void, *const c_void) {
    let oldp = match old.is_empty() {
        true => ptr::null_mut(),
        false => old.as_mut_ptr().cast(),
    };
    let newp = match new.is_empty() {
        true => ptr::null(),
        false => new.as_ptr().cast(),
    };
    (oldp, newp)
}

/// Read everything from `fd` until EOF.
fn read_all(fd: c_int) -> Result<Vec<u8>, Errno> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        // SAFETY: `buf` is writable for its length.
        let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
        match n {
            0 => return Ok(out),
            n if n > 0 => out.extend_from_slice(&buf[..n as usize]),
            _ if last() == Errno::EINTR => continue,
            _ => return Err(last()),
        }
    }
}

/// Write all of `bytes` to `fd` (in a forked child: no allocation).
fn write_all(fd: c_int, mut bytes: &[u8]) {
    while !bytes.is_empty() {
        // SAFETY: `bytes` is readable for its length.
        let n = unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len()) };
        if n <= 0 {
            return;
        }
        bytes = &bytes[n as usize..];
    }
}

/// Send one frame on a session's socket. MSG_NOSIGNAL: a helper that is gone is EPIPE, not a
/// SIGPIPE that would kill the shim.
fn send_frame(fd: c_int, payload: &[u8]) -> Result<(), Errno> {
    let frame = wire::frame(payload)?;
    let mut bytes = frame.as_slice();
    while !bytes.is_empty() {
        // SAFETY: `bytes` is readable for its length.
        let n = unsafe { libc::send(fd, bytes.as_ptr().cast(), bytes.len(), libc::MSG_NOSIGNAL) };
        match n {
            0 => return Err(Errno::EPIPE),
            n if n > 0 => bytes = &bytes[n as usize..],
            _ if last() == Errno::EINTR => continue,
            _ => return Err(last()),
        }
    }
    Ok(())
}

/// Fill `buf` from `fd`; EPIPE at end of file.
fn read_exact(fd: c_int, mut buf: &mut [u8]) -> Result<(), Errno> {
    while !buf.is_empty() {
        // SAFETY: `buf` is writable for its length.
        let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
        match n {
            0 => return Err(Errno::EPIPE),
            n if n > 0 => buf = &mut buf[n as usize..],
            _ if last() == Errno::EINTR => continue,
            _ => return Err(last()),
        }
    }
    Ok(())
}

/// Read one frame from a session's socket.
fn read_frame(fd: c_int) -> Result<Vec<u8>, Errno> {
    let mut header = [0u8; 4];
    read_exact(fd, &mut header)?;
    let mut payload = vec![0u8; wire::frame_len(header)];
    read_exact(fd, &mut payload)?;
    Ok(payload)
}

/// The first steps of a child forked to work in jail `jid`, in order: close every descriptor
/// but stdio and `keep` (close_range and closefrom; FACTS-kernel-runtime.md §3), reset the
/// signal mask inherited from the forking thread, disable tracing so that no process of the
/// jail can ptrace one holding a copy of the shim's memory (procctl PROC_TRACE_CTL with
/// PROC_TRACE_CTL_DISABLE, which lasts until exec; FACTS-kernel-runtime.md §3: EBUSY when the
/// child is traced or ktraced already), then jail_attach(2). The errno of the step that failed.
///
/// # Safety
/// Only in the child of fork(2), which has no other thread.
unsafe fn enter_jail(jid: c_int, keep: c_int) -> Result<(), Errno> {
    // SAFETY (each call): plain descriptor, signal and process calls on our own process.
    unsafe {
        if keep > 3 {
            libc::close_range(3, (keep - 1) as libc::c_uint, 0);
        }
        libc::closefrom(keep + 1);
        let mut none: libc::sigset_t = core::mem::zeroed();
        libc::sigemptyset(&mut none);
        if libc::sigprocmask(libc::SIG_SETMASK, &none, ptr::null_mut()) == -1 {
            return Err(last());
        }
        let mut disable: c_int = libc::PROC_TRACE_CTL_DISABLE;
        let me = libc::getpid() as libc::id_t;
        let data = (&mut disable as *mut c_int).cast::<c_void>();
        if libc::procctl(libc::P_PID, me, libc::PROC_TRACE_CTL, data) == -1 {
            return Err(last());
        }
        if libc::jail_attach(jid) == -1 {
            return Err(last());
        }
    }
    Ok(())
}

/// `work` in a child that must not unwind into the caller's code: a panic is EIO.
fn contained(work: impl FnOnce() -> Result<Vec<u8>, Errno>) -> Result<Vec<u8>, Errno> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)).unwrap_or(Err(Errno::EIO))
}

/// A session's helper, attached: answer each request frame with `server` until the parent
/// closes its end. After a panic (answered EIO) the helper's state is unknown: it stops.
fn serve(fd: c_int, server: &dyn JailServer) {
    while let Ok(request) = read_frame(fd) {
        let answer =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| server.serve(&request)));
        let panicked = answer.is_err();
        let answer = answer.unwrap_or(Err(Errno::EIO));
        if send_frame(fd, &wire::answer(&answer)).is_err() || panicked {
            return;
        }
    }
}

/// A close-on-exec pipe: (read end, write end).
fn pipe() -> Result<(c_int, c_int), Errno> {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for two descriptors.
    check(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) })?;
    Ok((fds[0], fds[1]))
}

/// fork(2), with a pair of descriptors (ours, the child's) made for it: both are closed when the
/// fork fails. The pid, 0 in the child.
fn fork_with(ours: c_int, theirs: c_int) -> Result<libc::pid_t, Errno> {
    // SAFETY: each caller's child makes only the calls the module docs allow.
    let pid = unsafe { libc::fork() };
    if pid == -1 {
        let e = last();
        // SAFETY: the caller's own descriptors.
        unsafe {
            libc::close(ours);
            libc::close(theirs);
        }
        return Err(e);
    }
    Ok(pid)
}

/// Wait for a child that is about to end.
fn reap(pid: libc::pid_t) {
    let mut status = 0;
    // SAFETY: `status` is writable.
    while unsafe { libc::waitpid(pid, &mut status, 0) } == -1 && last() == Errno::EINTR {}
}

/// The steps of a spawned child that can fail, in the order it takes them; the child reports
/// a failure as the step's index and the errno.
const CHILD_STEPS: [Op; 10] = [
    Op::SetStdio,
    Op::Setsid,
    Op::ControllingTerminal,
    Op::TraceControl,
    Op::JailAttach,
    Op::SetRlimit,
    Op::SetCredentials,
    Op::Chdir,
    Op::NoNewPrivs,
    Op::Execve,
];

/// `_SIG_MAXSIG` (sys/signal.h): the highest signal number.
const SIG_MAXSIG: c_int = 128;

/// What a spawned child's stdio comes from.
#[derive(Clone, Copy)]
enum Source {
    /// A descriptor of ours the child dup2s (the caller's, or the stdin pipe's read end).
    Fd(c_int),
    /// /dev/null, opened in the child.
    Null,
    /// The pty's slave, opened in the child after setsid(2).
    Terminal,
}

/// Everything a spawned child needs, made before fork: C strings, NULL-terminated arrays and
/// the descriptors it takes its stdio from.
struct Prepared<'a> {
    req: &'a SpawnRequest,
    argv: Vec<*const c_char>,
    envp: Vec<*const c_char>,
    groups: Vec<libc::gid_t>,
    stdio: [Source; 3],
    /// /dev/pts/N of the pty, when there is one.
    slave: Option<CString>,
}

impl<'a> Prepared<'a> {
    fn new(req: &'a SpawnRequest, stdin_pipe: Option<c_int>, slave: Option<CString>) -> Self {
        let list = |v: &[CString]| {
            v.iter()
                .map(|s| s.as_ptr())
                .chain(core::iter::once(ptr::null()))
                .collect()
        };
        let source = |stream: &StdioFd| match stream {
            StdioFd::Fd(fd) => Source::Fd(*fd),
            // Only stdin carries data (spawn_request checks): its pipe.
            StdioFd::Data(_) => stdin_pipe.map_or(Source::Null, Source::Fd),
            StdioFd::Null => Source::Null,
        };
        let stdio = match slave {
            Some(_) => [Source::Terminal; 3],
            None => [source(&req.stdin), source(&req.stdout), source(&req.stderr)],
        };
        Prepared {
            req,
            argv: list(&req.argv),
            envp: list(&req.envp),
            // Before FreeBSD 15 the first entry of the group list is the effective gid
            // (setgroups(2)): give it the gid, as initgroups(3) does.
            groups: core::iter::once(req.gid)
                .chain(req.groups.iter().copied())
                .collect(),
            stdio,
            slave,
        }
    }

    /// The child's stdio: each source copied above stdio first (F_DUPFD never replaces an
    /// open descriptor, so a caller's descriptor 0–2 or `report` is never clobbered), then
    /// dup2'd onto 0, 1 and 2. A terminal: setsid(2), the slave opened (it becomes the
    /// controlling terminal) and TIOCSCTTY.
    ///
    /// # Safety
    /// Only in the child of fork(2).
    unsafe fn take_stdio(&self) -> Result<(), (Op, Errno)> {
        let mut copies = [-1 as c_int; 3];
        // SAFETY (each call): descriptor calls on our own process, C strings made before fork.
        unsafe {
            let mut tty = -1;
            if let Some(slave) = &self.slave {
                if libc::setsid() == -1 {
                    return Err((Op::Setsid, last()));
                }
                tty = libc::open(slave.as_ptr(), libc::O_RDWR | libc::O_CLOEXEC);
                if tty == -1 || libc::ioctl(tty, TIOCSCTTY.number() as libc::c_ulong, 0) == -1 {
                    return Err((Op::ControllingTerminal, last()));
                }
            }
            for (copy, source) in copies.iter_mut().zip(self.stdio) {
                let from = match source {
                    Source::Fd(fd) => fd,
                    Source::Terminal => tty,
                    Source::Null => {
                        libc::open(c"/dev/null".as_ptr(), libc::O_RDWR | libc::O_CLOEXEC)
                    }
                };
                let fd = match from {
                    -1 => -1,
                    from => libc::fcntl(from, libc::F_DUPFD_CLOEXEC, 3),
                };
                if fd == -1 {
                    return Err((Op::SetStdio, last()));
                }
                *copy = fd;
            }
            for (target, copy) in copies.into_iter().enumerate() {
                if libc::dup2(copy, target as c_int) == -1 {
                    return Err((Op::SetStdio, last()));
                }
            }
        }
        Ok(())
    }

    /// The child's work after its stdio, up to execve(2): only async-signal-safe calls.
    /// Every descriptor but 0–2 and `report` is closed first. Returns the step that failed.
    ///
    /// # Safety
    /// Only in the child of fork(2).
    unsafe fn exec(&self, report: c_int) -> (Op, Errno) {
        let req = self.req;
        // SAFETY (each call below): arguments made before fork, alive in the child; calls on
        // our own process only.
        unsafe {
            // The signal mask of the forking thread, and the dispositions: a handler is reset
            // by execve anyway, an ignored signal (the shim's SIGPIPE) is not.
            let mut none: libc::sigset_t = core::mem::zeroed();
            libc::sigemptyset(&mut none);
            libc::sigprocmask(libc::SIG_SETMASK, &none, ptr::null_mut());
            for sig in 1..=SIG_MAXSIG {
                if sig != libc::SIGKILL && sig != libc::SIGSTOP {
                    libc::signal(sig, libc::SIG_DFL);
                }
            }
            if let Err(failed) = self.take_stdio() {
                return failed;
            }
            if report > 3 {
                libc::close_range(3, (report - 1) as libc::c_uint, 0);
            }
            libc::closefrom(report + 1);
            // No process of the jail may ptrace one holding a copy of the shim's memory until
            // execve replaces it (PROC_TRACE_CTL_DISABLE lasts until exec).
            let mut disable: c_int = libc::PROC_TRACE_CTL_DISABLE;
            let data = (&mut disable as *mut c_int).cast::<c_void>();
            if libc::procctl(libc::P_PID, 0, libc::PROC_TRACE_CTL, data) == -1 {
                return (Op::TraceControl, last());
            }
            if let Some(jid) = req.jid {
                if libc::jail_attach(jid) == -1 {
                    return (Op::JailAttach, last());
                }
            }
            for &(resource, soft, hard) in &req.rlimits {
                let limit = libc::rlimit {
                    rlim_cur: soft as libc::rlim_t,
                    rlim_max: hard as libc::rlim_t,
                };
                if libc::setrlimit(resource, &limit) == -1 {
                    return (Op::SetRlimit, last());
                }
            }
            if libc::setgroups(self.groups.len() as c_int, self.groups.as_ptr()) == -1
                || libc::setgid(req.gid) == -1
                || libc::setuid(req.uid) == -1
            {
                return (Op::SetCredentials, last());
            }
            if let Some(mask) = req.umask {
                libc::umask(mask as libc::mode_t);
            }
            if libc::chdir(req.cwd.as_ptr()) == -1 {
                return (Op::Chdir, last());
            }
            if req.no_new_privileges {
                let mut enable: c_int = libc::PROC_NO_NEW_PRIVS_ENABLE;
                let data = (&mut enable as *mut c_int).cast::<c_void>();
                if libc::procctl(libc::P_PID, 0, libc::PROC_NO_NEW_PRIVS_CTL, data) == -1 {
                    return (Op::NoNewPrivs, last());
                }
            }
            libc::execve(self.argv[0], self.argv.as_ptr(), self.envp.as_ptr());
        }
        (Op::Execve, last())
    }
}

/// A new pty for a spawn: posix_openpt(2) (FACTS-kernel-runtime.md §5: only O_RDWR, O_NOCTTY
/// and O_CLOEXEC are accepted), grantpt and unlockpt (which only check the master on FreeBSD),
/// its slave's name from TIOCGPTN, and its window size set (TIOCSWINSZ).
fn open_terminal(
    sys: &LibcSyscalls,
    size: zelle_core::kernel::WindowSize,
) -> Result<(OwnedFd, CString), Errno> {
    let flags = libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC;
    // SAFETY: no pointers.
    let fd = check(unsafe { libc::posix_openpt(flags) })?;
    // SAFETY: `fd` was just opened and is ours alone.
    let master = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: plain calls on the master.
    check(unsafe { libc::grantpt(fd) })?;
    // SAFETY: as above.
    check(unsafe { libc::unlockpt(fd) })?;
    let mut number: c_int = zelle_sys::zeroed();
    // SAFETY: TIOCGPTN writes one int into `number`.
    unsafe { sys.ioctl(fd, TIOCGPTN.number(), (&mut number as *mut c_int).cast()) }?;
    crate::process::set_window_size(sys, fd, size)?;
    let slave = CString::new(format!("/dev/pts/{number}")).map_err(|_| Errno::EINVAL)?;
    Ok((master, slave))
}

/// Feed `bytes` to a child's stdin pipe, then close it (end of file) — in a thread, so that a
/// child slow to read holds up nobody. A child that exits unread makes the write fail
/// (EPIPE: Rust programs ignore SIGPIPE), nothing more.
fn feed(write_end: c_int, bytes: Vec<u8>) {
    std::thread::spawn(move || {
        write_all(write_end, &bytes);
        // SAFETY: the write end is this thread's alone.
        unsafe { libc::close(write_end) };
    });
}

impl Syscalls for LibcSyscalls {
    fn socket(&self, domain: c_int, ty: c_int, protocol: c_int) -> Result<c_int, Errno> {
        // SAFETY: no pointers.
        check(unsafe { libc::socket(domain, ty, protocol) })
    }

    fn open(&self, path: &CStr, flags: c_int) -> Result<c_int, Errno> {
        // SAFETY: `path` is a C string.
        check(unsafe { libc::open(path.as_ptr(), flags) })
    }

    fn close(&self, fd: c_int) -> Result<(), Errno> {
        // SAFETY: no pointers.
        check(unsafe { libc::close(fd) }).map(drop)
    }

    unsafe fn ioctl(
        &self,
        fd: c_int,
        request: RawRequest,
        arg: *mut c_void,
    ) -> Result<c_int, Errno> {
        // SAFETY: the caller's promise (Syscalls::ioctl).
        check(unsafe { libc::ioctl(fd, request as libc::c_ulong, arg) })
    }

    fn write(&self, fd: c_int, buf: &[u8]) -> Result<usize, Errno> {
        // SAFETY: `buf` is readable for its length.
        let n = unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) };
        if n < 0 {
            Err(last())
        } else {
            Ok(n as usize)
        }
    }

    fn read(&self, fd: c_int, buf: &mut [u8]) -> Result<usize, Errno> {
        // SAFETY: `buf` is writable for its length.
        let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
        if n < 0 {
            Err(last())
        } else {
            Ok(n as usize)
        }
    }

    fn openat(&self, dirfd: c_int, path: &CStr, flags: c_int, mode: u32) -> Result<c_int, Errno> {
        // SAFETY: `path` is a C string; the mode is passed as the variadic int openat reads.
        check(unsafe { libc::openat(dirfd, path.as_ptr(), flags, mode as libc::c_uint) })
    }

    fn mkdirat(&self, dirfd: c_int, path: &CStr, mode: u32) -> Result<(), Errno> {
        // SAFETY: `path` is a C string.
        check(unsafe { libc::mkdirat(dirfd, path.as_ptr(), mode as libc::mode_t) }).map(drop)
    }

    fn fstatat(&self, dirfd: c_int, path: &CStr, flags: c_int) -> Result<u32, Errno> {
        // SAFETY: all-zero is a valid `struct stat`; fstatat fills it.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: `path` is a C string, `st` is writable.
        check(unsafe { libc::fstatat(dirfd, path.as_ptr(), &mut st, flags) })?;
        Ok(u32::from(st.st_mode))
    }

    fn readlinkat(&self, dirfd: c_int, path: &CStr, buf: &mut [u8]) -> Result<usize, Errno> {
        // SAFETY: `path` is a C string, `buf` is writable for its length.
        let n =
            unsafe { libc::readlinkat(dirfd, path.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
        if n < 0 {
            Err(last())
        } else {
            Ok(n as usize)
        }
    }

    fn renameat(
        &self,
        from_dir: c_int,
        from: &CStr,
        to_dir: c_int,
        to: &CStr,
    ) -> Result<(), Errno> {
        // SAFETY: both paths are C strings.
        check(unsafe { libc::renameat(from_dir, from.as_ptr(), to_dir, to.as_ptr()) }).map(drop)
    }

    fn unlinkat(&self, dirfd: c_int, path: &CStr, flags: c_int) -> Result<(), Errno> {
        // SAFETY: `path` is a C string.
        check(unsafe { libc::unlinkat(dirfd, path.as_ptr(), flags) }).map(drop)
    }

    unsafe fn jail_set(&self, iov: &mut [iovec], flags: c_int) -> Result<c_int, Errno> {
        let (iov, n) = iov_ptr(iov);
        // SAFETY: the caller's promise (Syscalls::jail_set).
        check(unsafe { libc::jail_set(iov, n, flags) })
    }

    unsafe fn jail_get(&self, iov: &mut [iovec], flags: c_int) -> Result<c_int, Errno> {
        let (iov, n) = iov_ptr(iov);
        // SAFETY: the caller's promise (Syscalls::jail_get).
        check(unsafe { libc::jail_get(iov, n, flags) })
    }

    fn jail_remove(&self, jid: c_int) -> Result<(), Errno> {
        // SAFETY: no pointers.
        check(unsafe { libc::jail_remove(jid) }).map(drop)
    }

    unsafe fn nmount(&self, iov: &mut [iovec], flags: c_int) -> Result<(), Errno> {
        let (iov, n) = iov_ptr(iov);
        // SAFETY: the caller's promise (Syscalls::nmount).
        check(unsafe { libc::nmount(iov, n, flags) }).map(drop)
    }

    fn unmount(&self, path: &CStr, flags: c_int) -> Result<(), Errno> {
        // SAFETY: `path` is a C string.
        check(unsafe { libc::unmount(path.as_ptr(), flags) }).map(drop)
    }

    fn getfsstat(&self) -> Result<Vec<FsStat>, Errno> {
        loop {
            // SAFETY: a null buffer asks for the count.
            let count = check(unsafe { libc::getfsstat(ptr::null_mut(), 0, libc::MNT_NOWAIT) })?;
            // Room for mounts made in between; a full buffer may have cut some: ask again.
            let room = count as usize + 8;
            // SAFETY: statfs is plain data; zeroes are a valid value.
            let mut buf: Vec<libc::statfs> = vec![unsafe { core::mem::zeroed() }; room];
            let bytes = (room * size_of::<libc::statfs>()) as libc::c_long;
            // SAFETY: `buf` holds `bytes` bytes.
            let got = check(unsafe { libc::getfsstat(buf.as_mut_ptr(), bytes, libc::MNT_NOWAIT) })?;
            if (got as usize) < room {
                return Ok(buf[..got as usize]
                    .iter()
                    .map(|s| FsStat {
                        fstypename: get_cstr(&s.f_fstypename),
                        mntfromname: get_cstr(&s.f_mntfromname),
                        mntonname: get_cstr(&s.f_mntonname),
                        flags: s.f_flags,
                    })
                    .collect());
            }
        }
    }

    fn sysctl(&self, mib: &[c_int], old: &mut [u8], new: &[u8]) -> Result<usize, Errno> {
        let mut len = old.len();
        let (oldp, newp) = sysctl_buffers(old, new);
        // SAFETY: the buffers are live for their lengths (null when empty).
        check(unsafe {
            libc::sysctl(
                mib.as_ptr(),
                mib.len() as libc::c_uint,
                oldp,
                &mut len,
                newp,
                new.len(),
            )
        })?;
        Ok(len)
    }

    fn sysctlbyname(&self, name: &CStr, old: &mut [u8], new: &[u8]) -> Result<usize, Errno> {
        let mut len = old.len();
        let (oldp, newp) = sysctl_buffers(old, new);
        // SAFETY: as for sysctl; `name` is a C string.
        check(unsafe { libc::sysctlbyname(name.as_ptr(), oldp, &mut len, newp, new.len()) })?;
        Ok(len)
    }

    fn modfind(&self, name: &CStr) -> Result<c_int, Errno> {
        // SAFETY: `name` is a C string.
        check(unsafe { modfind(name.as_ptr()) })
    }

    fn getifaddrs(&self) -> Result<Vec<IfAddr>, Errno> {
        let mut head: *mut libc::ifaddrs = ptr::null_mut();
        // SAFETY: `head` receives a list that freeifaddrs releases.
        check(unsafe { libc::getifaddrs(&mut head) })?;
        let mut out = Vec::new();
        let mut at = head;
        while !at.is_null() {
            // SAFETY: a node of the list getifaddrs made; its pointers are its own.
            unsafe {
                let ifa = &*at;
                out.push(IfAddr {
                    name: CStr::from_ptr(ifa.ifa_name).to_string_lossy().into_owned(),
                    flags: ifa.ifa_flags,
                    addr: sockaddr_bytes(ifa.ifa_addr),
                    netmask: sockaddr_bytes(ifa.ifa_netmask),
                    dstaddr: sockaddr_bytes(ifa.ifa_dstaddr),
                });
                at = ifa.ifa_next;
            }
        }
        // SAFETY: the list getifaddrs made, released once.
        unsafe { libc::freeifaddrs(head) };
        Ok(out)
    }

    fn in_jail(
        &self,
        jid: c_int,
        task: &mut dyn JailTask,
    ) -> Result<Result<Vec<u8>, Errno>, Errno> {
        // The child answers once (`wire`), then ends.
        let (rd, wr) = pipe()?;
        // The child only enters the jail, runs the task and _exits (module docs).
        let pid = fork_with(rd, wr)?;
        if pid == 0 {
            // SAFETY: in the child: enter, work, answer, and never return.
            unsafe {
                libc::close(rd);
                let answer = match enter_jail(jid, wr) {
                    Err(e) => wire::not_attached(e),
                    Ok(()) => wire::answer(&contained(|| task.run())),
                };
                write_all(wr, &answer);
                libc::_exit(0);
            }
        }
        // SAFETY: our own descriptor.
        unsafe { libc::close(wr) };
        let answer = read_all(rd);
        // SAFETY: our own descriptor.
        unsafe { libc::close(rd) };
        reap(pid);
        wire::parse_answer(&answer?)
    }

    fn jail_session_open(&self, jid: c_int, server: &dyn JailServer) -> Result<JailSession, Errno> {
        let mut fds = [0; 2];
        let ty = libc::SOCK_STREAM | libc::SOCK_CLOEXEC;
        // SAFETY: `fds` has room for two descriptors.
        check(unsafe { libc::socketpair(libc::AF_UNIX, ty, 0, fds.as_mut_ptr()) })?;
        let (ours, theirs) = (fds[0], fds[1]);
        // The child only enters the jail, serves and _exits (module docs).
        let pid = fork_with(ours, theirs)?;
        if pid == 0 {
            // SAFETY: in the child: enter, say so, serve, and never return.
            unsafe {
                libc::close(ours);
                match enter_jail(jid, theirs) {
                    Err(e) => {
                        let _ = send_frame(theirs, &wire::not_attached(e));
                    }
                    Ok(()) => {
                        if send_frame(theirs, &wire::answer(&Ok(Vec::new()))).is_ok() {
                            serve(theirs, server);
                        }
                    }
                }
                libc::_exit(0);
            }
        }
        // SAFETY: our own descriptor.
        unsafe { libc::close(theirs) };
        let session = JailSession { fd: ours, pid };
        // The helper's first answer: attached, or why not.
        match read_frame(ours).and_then(|answer| wire::parse_answer(&answer)) {
            Ok(Ok(_)) => Ok(session),
            Ok(Err(e)) | Err(e) => {
                let _ = self.jail_session_close(session);
                Err(e)
            }
        }
    }

    fn jail_session_call(
        &self,
        session: JailSession,
        request: &[u8],
        _server: &dyn JailServer,
    ) -> Result<Result<Vec<u8>, Errno>, Errno> {
        // The helper runs its own copy of the server (made by fork).
        send_frame(session.fd, request)?;
        let answer = read_frame(session.fd)?;
        wire::parse_answer(&answer)
    }

    fn jail_session_close(&self, session: JailSession) -> Result<(), Errno> {
        // End of file on its socket ends an idle helper; SIGKILL ends one that cannot read it
        // (stopped by a signal from inside the jail), so that reaping it cannot hang.
        // SAFETY: our own descriptor; our own child.
        let closed = check(unsafe { libc::close(session.fd) });
        // SAFETY: no pointers; the child is not reaped yet, so its pid is still ours.
        unsafe { libc::kill(session.pid, libc::SIGKILL) };
        reap(session.pid);
        closed.map(drop)
    }

    fn spawn(&self, request: &SpawnRequest) -> Result<SpawnedChild, SpawnError> {
        if request.argv.is_empty() {
            return Err(SpawnError::new(Op::Execve, Errno::EINVAL));
        }
        let terminal = request
            .terminal
            .map(|size| open_terminal(self, size))
            .transpose()
            .map_err(|e| SpawnError::new(Op::OpenTerminal, e))?;
        let (master, slave) = match terminal {
            Some((master, slave)) => (Some(master), Some(slave)),
            None => (None, None),
        };
        let data = match (&request.stdin, &slave) {
            (StdioFd::Data(bytes), None) => Some(bytes.clone()),
            _ => None,
        };
        let stdin_pipe = data
            .as_ref()
            .map(|_| pipe())
            .transpose()
            .map_err(|e| SpawnError::new(Op::SetStdio, e))?;
        let close_pipe = || {
            if let Some((rd, wr)) = stdin_pipe {
                // SAFETY: our own descriptors.
                unsafe {
                    libc::close(rd);
                    libc::close(wr);
                }
            }
        };
        let prepared = Prepared::new(request, stdin_pipe.map(|(rd, _)| rd), slave);
        // The child reports a failure before exec through this pipe; exec closes it.
        let (rd, wr) = pipe().map_err(|e| {
            close_pipe();
            SpawnError::new(Op::Fork, e)
        })?;
        // The child runs only async-signal-safe calls (`Prepared::exec`).
        let pid = fork_with(rd, wr).map_err(|e| {
            close_pipe();
            SpawnError::new(Op::Fork, e)
        })?;
        if pid == 0 {
            // SAFETY: in the child: the work, its report, and never a return.
            unsafe {
                libc::close(rd);
                // Above stdio, so that dup2 onto 0–2 cannot replace it.
                let report = match wr {
                    0..=2 => libc::fcntl(wr, libc::F_DUPFD_CLOEXEC, 3),
                    _ => wr,
                };
                let (step, errno) = prepared.exec(report);
                let index = CHILD_STEPS.iter().position(|&s| s == step).unwrap_or(0) as c_int;
                let mut message = [0u8; 8];
                message[..4].copy_from_slice(&index.to_ne_bytes());
                message[4..].copy_from_slice(&errno.0.to_ne_bytes());
                write_all(report, &message);
                libc::_exit(127);
            }
        }
        // SAFETY: our own descriptor.
        unsafe { libc::close(wr) };
        let answer = read_all(rd);
        // SAFETY: our own descriptor.
        unsafe { libc::close(rd) };
        if let Some((pipe_rd, _)) = stdin_pipe {
            // SAFETY: the child has its own copy.
            unsafe { libc::close(pipe_rd) };
        }
        let failed = match answer {
            Ok(bytes) if bytes.is_empty() => None,
            Ok(bytes) => Some(match <[u8; 8]>::try_from(bytes.as_slice()) {
                Ok(message) => {
                    let index = c_int::from_ne_bytes(message[..4].try_into().unwrap_or_default());
                    let errno = c_int::from_ne_bytes(message[4..].try_into().unwrap_or_default());
                    let step = usize::try_from(index)
                        .ok()
                        .and_then(|i| CHILD_STEPS.get(i).copied())
                        .unwrap_or(Op::Spawn);
                    SpawnError::new(step, Errno(errno))
                }
                Err(_) => SpawnError::new(Op::Spawn, Errno::EIO),
            }),
            Err(e) => Some(SpawnError::new(Op::Spawn, e)),
        };
        if let Some(failed) = failed {
            reap(pid);
            if let Some((_, pipe_wr)) = stdin_pipe {
                // SAFETY: our own descriptor.
                unsafe { libc::close(pipe_wr) };
            }
            return Err(failed);
        }
        if let (Some((_, pipe_wr)), Some(bytes)) = (stdin_pipe, data) {
            feed(pipe_wr, bytes);
        }
        Ok(SpawnedChild {
            pid,
            terminal: master,
        })
    }

    fn kill(&self, pid: c_int, signal: c_int) -> Result<(), Errno> {
        // SAFETY: no pointers.
        check(unsafe { libc::kill(pid, signal) }).map(drop)
    }

    fn wait4(&self, pid: c_int, options: c_int) -> Result<(c_int, c_int), Errno> {
        let mut status = 0;
        loop {
            // SAFETY: `status` is writable; no rusage.
            let got = unsafe { libc::wait4(pid, &mut status, options, ptr::null_mut()) };
            match got {
                -1 if last() == Errno::EINTR => continue,
                -1 => return Err(last()),
                got => return Ok((got, status)),
            }
        }
    }

    fn wait4_for(&self, pid: c_int, timeout: Duration) -> Result<(c_int, c_int), Errno> {
        /// How often the timed wait looks again.
        const POLL: Duration = Duration::from_millis(10);
        let deadline = Instant::now() + timeout;
        loop {
            let answer = self.wait4(pid, libc::WNOHANG)?;
            let left = deadline.saturating_duration_since(Instant::now());
            if answer.0 != 0 || left.is_zero() {
                return Ok(answer);
            }
            std::thread::sleep(POLL.min(left));
        }
    }

    fn procctl(&self, idtype: c_int, id: c_int, cmd: c_int) -> Result<(), Errno> {
        // SAFETY: the reaper commands zelle uses take no argument.
        check(unsafe {
            libc::procctl(
                idtype as libc::idtype_t,
                id as libc::id_t,
                cmd,
                ptr::null_mut(),
            )
        })
        .map(drop)
    }

    fn getpid(&self) -> c_int {
        // SAFETY: no pointers.
        unsafe { libc::getpid() }
    }

    fn rctl(&self, number: c_int, inbuf: &[u8], outbuf: &mut [u8]) -> Result<(), Errno> {
        let (out, out_len) = if outbuf.is_empty() {
            (core::ptr::null_mut(), 0)
        } else {
            (outbuf.as_mut_ptr(), outbuf.len())
        };
        // SAFETY: sys_rctl_* take (inbufp, inbuflen, outbufp, outbuflen): `inbuf` is read for
        // its length, `out` written for at most `out_len` bytes, both live for the call.
        check(unsafe { libc::syscall(number, inbuf.as_ptr(), inbuf.len(), out, out_len) }).map(drop)
    }
}
