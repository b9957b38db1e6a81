//! The raw calls the FreeBSD backend makes, one method each, as the kernel takes them.
//!
//! Two implementations exist: `LibcSyscalls` (FreeBSD only, `libc_syscalls.rs`) makes the real
//! system calls; the simulator's ABI door (`zelle_sim::abi::SimSyscalls`) decodes the very same
//! bytes and applies them to a simulated machine. Unit tests mock this trait with mockall.
//!
//! Every error is the kernel's errno, FreeBSD's numbering. Arguments that point at memory
//! (`ioctl`'s argument, the iovec arrays of jail_set(2) and nmount(2)) are raw, exactly as
//! the kernel receives them, so their methods are `unsafe`: see each method's safety contract.

use core::ffi::{c_int, c_void, CStr};
use std::ffi::CString;
use std::os::fd::OwnedFd;
use std::time::Duration;
use zelle_core::kernel::{Errno, Op, StdioFd, WindowSize};
use zelle_sys::ioctl::RawRequest;
use zelle_sys::iovec;

/// A file descriptor.
pub type Fd = c_int;

/// One entry of getifaddrs(3): an interface name with one of its addresses. Each sockaddr is
/// given as the bytes the kernel reported (`sa_len` of them): AF_LINK (a `sockaddr_dl`, one per
/// interface, with its index and type), AF_INET or AF_INET6.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IfAddr {
    pub name: String,
    /// `ifa_flags`: the interface's `if_flags | if_drv_flags`.
    pub flags: u32,
    pub addr: Option<Vec<u8>>,
    pub netmask: Option<Vec<u8>>,
    /// `ifa_dstaddr`: the broadcast address, or a point-to-point link's destination.
    pub dstaddr: Option<Vec<u8>>,
}

/// What getfsstat(2) reports of one mount (`struct statfs`, the fields zelle reads).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FsStat {
    pub fstypename: String,
    pub mntfromname: String,
    pub mntonname: String,
    /// `f_flags`.
    pub flags: u64,
}

/// A process to start. The parent first opens a pty when `terminal` asks for one
/// (posix_openpt(2) with O_RDWR|O_NOCTTY|O_CLOEXEC, TIOCGPTN for its slave's name, TIOCSWINSZ
/// with the size). Then the child of fork(2), in order: resets its signal mask and every
/// signal's disposition; takes its stdio — the pty's slave as controlling terminal (setsid(2),
/// open, TIOCSCTTY) or dup2 copies of the caller's descriptors, /dev/null, or a pipe the
/// parent feeds `Data` through —; closes every other descriptor; disables tracing (procctl
/// PROC_TRACE_CTL); jail_attach(2) to `jid`; setrlimit for each limit; setgroups, setgid,
/// setuid; umask; chdir to `cwd` (inside the jail); PROC_NO_NEW_PRIVS_CTL when asked; then
/// execve(`argv[0]`). An error of any step is the spawn's, naming the step
/// ([`SpawnError`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SpawnRequest {
    pub jid: Option<c_int>,
    pub argv: Vec<CString>,
    pub envp: Vec<CString>,
    pub cwd: CString,
    pub uid: u32,
    pub gid: u32,
    pub groups: Vec<u32>,
    pub umask: Option<u32>,
    /// (`RLIMIT_*`, soft, hard).
    pub rlimits: Vec<(c_int, u64, u64)>,
    pub stdin: StdioFd,
    pub stdout: StdioFd,
    pub stderr: StdioFd,
    /// Give the child a new pseudo-terminal of this size as its controlling terminal and
    /// stdio.
    pub terminal: Option<WindowSize>,
    /// procctl(P_PID, 0, PROC_NO_NEW_PRIVS_CTL, PROC_NO_NEW_PRIVS_ENABLE) before execve.
    pub no_new_privileges: bool,
}

/// A child that has exec'd.
#[derive(Debug)]
pub struct SpawnedChild {
    pub pid: c_int,
    /// The pty master when the request asked for a terminal.
    pub terminal: Option<OwnedFd>,
}

/// Why a spawn failed: the step (`Op::Fork`, `Op::SetStdio`, `Op::JailAttach`, `Op::Chdir`,
/// ...) and its errno.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpawnError {
    pub step: Op,
    pub errno: Errno,
}

impl SpawnError {
    pub fn new(step: Op, errno: Errno) -> Self {
        SpawnError { step, errno }
    }
}

/// Work to do inside a jail (see [`Syscalls::in_jail`]): its result travels back as bytes.
pub trait JailTask {
    fn run(&mut self) -> Result<Vec<u8>, Errno>;
}

impl<F: FnMut() -> Result<Vec<u8>, Errno>> JailTask for F {
    fn run(&mut self) -> Result<Vec<u8>, Errno> {
        self()
    }
}

/// What the helper of a jail session does with each request (see
/// [`Syscalls::jail_session_open`]): decode it, make its calls, encode the result.
pub trait JailServer {
    fn serve(&self, request: &[u8]) -> Result<Vec<u8>, Errno>;
}

/// A helper process attached to a jail, serving requests over `fd` until it is closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JailSession {
    /// The parent's end of the socketpair to the helper.
    pub fd: Fd,
    /// The helper, to reap when the session ends.
    pub pid: c_int,
}

/// The raw system calls. Implementations must be usable from several threads at once.
#[cfg_attr(test, mockall::automock)]
pub trait Syscalls: Send + Sync {
    /// socket(2).
    fn socket(&self, domain: c_int, ty: c_int, protocol: c_int) -> Result<Fd, Errno>;

    /// open(2): /dev/pf, and the root directories of `Files`.
    fn open(&self, path: &CStr, flags: c_int) -> Result<Fd, Errno>;

    /// close(2).
    fn close(&self, fd: Fd) -> Result<(), Errno>;

    /// ioctl(2); returns the call's non-negative result. The backend calls it in one place,
    /// `Descriptor::ioctl`, which takes a typed `Request<T>` with a `&mut T`.
    ///
    /// # Safety
    /// `arg` points at a live, writable value of the struct `request` carries (its size is in
    /// the request number), and every pointer inside it (`ifdrv.ifd_data` → `ifbreq`,
    /// `ifreq.ifr_data`, `pfioc_trans.array` → `size` elements) points at live memory of the
    /// length the struct gives, for the duration of the call.
    unsafe fn ioctl(&self, fd: Fd, request: RawRequest, arg: *mut c_void) -> Result<c_int, Errno>;

    /// write(2): on a routing socket one whole message, on a file what it takes.
    fn write(&self, fd: Fd, buf: &[u8]) -> Result<usize, Errno>;

    /// read(2), on a routing socket: one whole message.
    fn read(&self, fd: Fd, buf: &mut [u8]) -> Result<usize, Errno>;

    /// openat(2); `mode` is used when `flags` has O_CREAT.
    fn openat(&self, dirfd: Fd, path: &CStr, flags: c_int, mode: u32) -> Result<Fd, Errno>;

    /// mkdirat(2).
    fn mkdirat(&self, dirfd: Fd, path: &CStr, mode: u32) -> Result<(), Errno>;

    /// fstatat(2): the file's `st_mode`.
    fn fstatat(&self, dirfd: Fd, path: &CStr, flags: c_int) -> Result<u32, Errno>;

    /// readlinkat(2): the link's target written into `buf`; returns its length.
    fn readlinkat(&self, dirfd: Fd, path: &CStr, buf: &mut [u8]) -> Result<usize, Errno>;

    /// renameat(2).
    fn renameat(&self, from_dir: Fd, from: &CStr, to_dir: Fd, to: &CStr) -> Result<(), Errno>;

    /// unlinkat(2).
    fn unlinkat(&self, dirfd: Fd, path: &CStr, flags: c_int) -> Result<(), Errno>;

    /// jail_set(2): name/value iovec pairs (an "errmsg" pair's buffer receives the kernel's
    /// text on failure); returns the jid.
    ///
    /// # Safety
    /// Every `iov_base` is null or points at `iov_len` bytes that stay live for the call, and
    /// the value of an "errmsg" pair is writable.
    unsafe fn jail_set(&self, iov: &mut [iovec], flags: c_int) -> Result<c_int, Errno>;

    /// jail_get(2): name/value iovec pairs; the kernel writes each requested value into its
    /// buffer and its length into `iov_len` (of the value iovec). Returns the jid.
    ///
    /// # Safety
    /// As for `jail_set`, and every value buffer is writable.
    unsafe fn jail_get(&self, iov: &mut [iovec], flags: c_int) -> Result<c_int, Errno>;

    /// jail_remove(2).
    fn jail_remove(&self, jid: c_int) -> Result<(), Errno>;

    /// nmount(2): name/value iovec pairs, with an "errmsg" buffer as for jail_set.
    ///
    /// # Safety
    /// As for `jail_set`.
    unsafe fn nmount(&self, iov: &mut [iovec], flags: c_int) -> Result<(), Errno>;

    /// unmount(2).
    fn unmount(&self, path: &CStr, flags: c_int) -> Result<(), Errno>;

    /// getfsstat(2) with MNT_NOWAIT: every mount, in mount order.
    fn getfsstat(&self) -> Result<Vec<FsStat>, Errno>;

    /// sysctl(3) by MIB: `old` receives the value, `new` is written; an empty slice is passed
    /// as NULL (an empty `old` asks only for the value's size). Returns the length of the old
    /// value: what was copied, or what is needed.
    fn sysctl(&self, mib: &[c_int], old: &mut [u8], new: &[u8]) -> Result<usize, Errno>;

    /// sysctlbyname(3): as `sysctl`, by name (`__sysctlbyname(2)` since FreeBSD 13).
    fn sysctlbyname(&self, name: &CStr, old: &mut [u8], new: &[u8]) -> Result<usize, Errno>;

    /// modfind(2): the module's id; ENOENT when no such module is loaded.
    fn modfind(&self, name: &CStr) -> Result<c_int, Errno>;

    /// getifaddrs(3) (sysctl `NET_RT_IFLIST` underneath), in the vnet of the calling process.
    fn getifaddrs(&self) -> Result<Vec<IfAddr>, Errno>;

    /// Run `task` inside jail `jid`: on the real kernel in a forked child that enters the jail
    /// as a session's helper does (see `jail_session_open`) first, so that the sockets `task` creates belong to the jail's vnet (a socket's vnet is
    /// fixed when it is created: if.c `ifioctl` uses `so->so_vnet`). The outer error is the
    /// attach's (EINVAL for a missing or dying jail) or the fork's; the inner result is the task's,
    /// brought back as bytes.
    fn in_jail(&self, jid: c_int, task: &mut dyn JailTask)
        -> Result<Result<Vec<u8>, Errno>, Errno>;

    /// Start a helper for jail `jid`: on the real kernel fork once; the child resets its signal
    /// mask, closes every descriptor but stdio and its socketpair end, disables tracing
    /// (procctl PROC_TRACE_CTL), jail_attach()es and then serves each request with `server`
    /// until the session is closed. The error is the fork's or the attach's (EINVAL for a
    /// missing or dying jail; EBUSY from procctl when the helper is being traced).
    fn jail_session_open(&self, jid: c_int, server: &dyn JailServer) -> Result<JailSession, Errno>;

    /// One request to a session's helper; calls on one session must not overlap. The outer
    /// error means the helper is gone (jail_remove(2) SIGKILLs it with the jail's other
    /// processes: FACTS-kernel-errno.md §6); the inner result is the server's. `server` is the one the session was
    /// opened with: the real helper runs its own copy of it, made by fork; the simulator, which
    /// cannot fork, runs this one in the caller's thread as if attached.
    fn jail_session_call(
        &self,
        session: JailSession,
        request: &[u8],
        server: &dyn JailServer,
    ) -> Result<Result<Vec<u8>, Errno>, Errno>;

    /// End a session: close the socketpair (the helper exits; it is killed should it not be
    /// able to) and reap the helper.
    fn jail_session_close(&self, session: JailSession) -> Result<(), Errno>;

    /// fork(2) and, in the child, everything `request` says before execve(2); returns the
    /// child once it has exec'd (an error before exec is this call's error, with its step).
    fn spawn(&self, request: &SpawnRequest) -> Result<SpawnedChild, SpawnError>;

    /// kill(2).
    fn kill(&self, pid: c_int, signal: c_int) -> Result<(), Errno>;

    /// wait4(2) for `pid` (-1: any child): (pid, status), pid 0 when `WNOHANG` is in
    /// `options` and it runs on.
    fn wait4(&self, pid: c_int, options: c_int) -> Result<(c_int, c_int), Errno>;

    /// wait4(2) for `pid` (-1: any child) for at most `timeout`: (0, 0) when the time is up.
    /// wait4 has no timeout of its own: the real kernel's is WNOHANG polled until then.
    fn wait4_for(&self, pid: c_int, timeout: Duration) -> Result<(c_int, c_int), Errno>;

    /// procctl(2) with an int argument (`PROC_REAP_ACQUIRE` takes none: pass 0).
    fn procctl(&self, idtype: c_int, id: c_int, cmd: c_int) -> Result<(), Errno>;

    /// getpid(2).
    fn getpid(&self) -> c_int;

    /// One of the rctl(2) system calls, `number` (`consts::SYS_RCTL_*`): the kernel reads all
    /// of `inbuf` (a NUL-terminated rule) and writes a NUL-terminated answer into `outbuf`; an
    /// empty `outbuf` is passed as NULL with length 0.
    fn rctl(&self, number: c_int, inbuf: &[u8], outbuf: &mut [u8]) -> Result<(), Errno>;
}

/// FreeBSD constants that zelle-sys does not bind (yet); each from the header named.
pub mod consts {
    use core::ffi::c_int;

    /// `sys/socket.h`.
    pub const SOCK_DGRAM: c_int = 2;
    pub const SOCK_RAW: c_int = 3;
    pub const SOCK_CLOEXEC: c_int = 0x1000_0000;
    /// `sys/socket.h`: `NET_RT_DUMP`, the routing-table dump of sysctl `net.route`.
    pub const NET_RT_DUMP: c_int = 1;
    /// `sys/fcntl.h`.
    pub const O_RDWR: c_int = 0x0002;
    pub const O_CLOEXEC: c_int = 0x0010_0000;
    /// `net/if_types.h`.
    pub const IFT_ETHER: u8 = 0x06;
    pub const IFT_LOOP: u8 = 0x18;
    pub const IFT_BRIDGE: u8 = 0xd1;
    /// `sys/sysctl.h`: the top-level `net` node and the sysctl meta node's requests.
    pub const CTL_NET: c_int = 4;
    pub const CTL_SYSCTL: c_int = 0;
    pub const CTL_SYSCTL_NAME2OID: c_int = 3;
    pub const CTL_SYSCTL_OIDFMT: c_int = 4;
    pub const CTL_MAXNAME: usize = 24;
    /// `sys/sysctl.h`: an OID's kind (the low bits of what `oidfmt` reports).
    pub const CTLTYPE: u32 = 0xf;
    pub const CTLTYPE_INT: u32 = 2;
    pub const CTLTYPE_STRING: u32 = 3;
    pub const CTLTYPE_S64: u32 = 4;
    pub const CTLTYPE_UINT: u32 = 6;
    pub const CTLTYPE_LONG: u32 = 7;
    pub const CTLTYPE_ULONG: u32 = 8;
    pub const CTLTYPE_U64: u32 = 9;
    pub const CTLTYPE_U8: u32 = 0xa;
    pub const CTLTYPE_U16: u32 = 0xb;
    pub const CTLTYPE_S8: u32 = 0xc;
    pub const CTLTYPE_S16: u32 = 0xd;
    pub const CTLTYPE_S32: u32 = 0xe;
    pub const CTLTYPE_U32: u32 = 0xf;
    pub const CTLFLAG_RD: u32 = 0x8000_0000;
    pub const CTLFLAG_WR: u32 = 0x4000_0000;
    /// `netinet/in.h`.
    pub const IPPROTO_ICMP: u8 = 1;
    pub const IPPROTO_TCP: u8 = 6;
    pub const IPPROTO_UDP: u8 = 17;
    pub const IPPROTO_ICMPV6: u8 = 58;
    /// `net/pfvar.h`: rulesets beyond `PF_RULESET_MAX` (not rule rulesets).
    pub const PF_RULESET_ALTQ: c_int = 5;
    /// `netpfil/pf/pf.h`: `keep state`.
    pub const PF_STATE_NORMAL: u8 = 1;
    /// `sbin/pfctl/pfctl_parser.h`: the source ports nat uses when the rule names none.
    pub const PF_NAT_PROXY_PORT_LOW: u16 = 1024;
    pub const PF_NAT_PROXY_PORT_HIGH: u16 = 65535;
    /// `sys/wait.h`.
    pub const WNOHANG: c_int = 1;
    /// `sys/sys/syscall.h` (made from `sys/kern/syscalls.master`; lines 466–470 of ziglang
    /// 0.17.1's FreeBSD header): the rctl(2) system calls, which the libc crate does not bind.
    pub const SYS_RCTL_GET_RACCT: c_int = 525;
    pub const SYS_RCTL_GET_RULES: c_int = 526;
    pub const SYS_RCTL_ADD_RULE: c_int = 528;
    pub const SYS_RCTL_REMOVE_RULE: c_int = 529;
}
