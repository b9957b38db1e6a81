//! The host's errno and signal numbers, and FreeBSD's.
//!
//! The machine answers in FreeBSD's numbers (`sys/sys/errno.h`, `sys/sys/signal.h`), but its
//! host-exec processes, the files it reads and the state file fail with the host's. The tables
//! hold every number the three systems share by name, one column a system, so that the table of
//! each host is data compiled and tested on every host; `HOST` picks this host's column, and a
//! test checks that column against the host's own `libc` constants.

use std::io;
use zelle_core::kernel::Errno;

/// One errno or signal by name: its number on FreeBSD, Linux (the generic numbers of x86 and
/// arm; mips, sparc and alpha differ, and the libc test would say so) and macOS.
struct Row {
    /// Read by the tests, which check each host's column against its C library.
    #[cfg_attr(not(test), allow(dead_code))]
    name: &'static str,
    freebsd: i32,
    linux: i32,
    macos: i32,
}

const fn row(name: &'static str, freebsd: i32, linux: i32, macos: i32) -> Row {
    Row {
        name,
        freebsd,
        linux,
        macos,
    }
}

/// A system whose numbers the tables have. Only this host's is used outside the tests.
#[cfg_attr(not(test), allow(dead_code))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Host {
    FreeBsd,
    Linux,
    MacOs,
}

impl Host {
    fn of(self, row: &Row) -> i32 {
        match self {
            Host::FreeBsd => row.freebsd,
            Host::Linux => row.linux,
            Host::MacOs => row.macos,
        }
    }
}

#[cfg(target_os = "linux")]
const HOST: Host = Host::Linux;
#[cfg(target_os = "macos")]
const HOST: Host = Host::MacOs;
#[cfg(target_os = "freebsd")]
const HOST: Host = Host::FreeBsd;
#[cfg(not(any(target_os = "linux", target_os = "macos", target_os = "freebsd")))]
compile_error!("zelle-sim knows the errno and signal numbers of Linux, macOS and FreeBSD only");

/// Every errno the three systems share (FreeBSD sys/sys/errno.h; Linux asm-generic/errno*.h;
/// macOS sys/errno.h, as the libc crate has them). FreeBSD's ENOTSUP is EOPNOTSUPP (45); macOS
/// has both, 45 and 102.
const ERRNOS: &[Row] = &[
    row("EPERM", 1, 1, 1),
    row("ENOENT", 2, 2, 2),
    row("ESRCH", 3, 3, 3),
    row("EINTR", 4, 4, 4),
    row("EIO", 5, 5, 5),
    row("ENXIO", 6, 6, 6),
    row("E2BIG", 7, 7, 7),
    row("ENOEXEC", 8, 8, 8),
    row("EBADF", 9, 9, 9),
    row("ECHILD", 10, 10, 10),
    row("EDEADLK", 11, 35, 11),
    row("ENOMEM", 12, 12, 12),
    row("EACCES", 13, 13, 13),
    row("EFAULT", 14, 14, 14),
    row("ENOTBLK", 15, 15, 15),
    row("EBUSY", 16, 16, 16),
    row("EEXIST", 17, 17, 17),
    row("EXDEV", 18, 18, 18),
    row("ENODEV", 19, 19, 19),
    row("ENOTDIR", 20, 20, 20),
    row("EISDIR", 21, 21, 21),
    row("EINVAL", 22, 22, 22),
    row("ENFILE", 23, 23, 23),
    row("EMFILE", 24, 24, 24),
    row("ENOTTY", 25, 25, 25),
    row("ETXTBSY", 26, 26, 26),
    row("EFBIG", 27, 27, 27),
    row("ENOSPC", 28, 28, 28),
    row("ESPIPE", 29, 29, 29),
    row("EROFS", 30, 30, 30),
    row("EMLINK", 31, 31, 31),
    row("EPIPE", 32, 32, 32),
    row("EDOM", 33, 33, 33),
    row("ERANGE", 34, 34, 34),
    row("EAGAIN", 35, 11, 35),
    row("EINPROGRESS", 36, 115, 36),
    row("EALREADY", 37, 114, 37),
    row("ENOTSOCK", 38, 88, 38),
    row("EDESTADDRREQ", 39, 89, 39),
    row("EMSGSIZE", 40, 90, 40),
    row("EPROTOTYPE", 41, 91, 41),
    row("ENOPROTOOPT", 42, 92, 42),
    row("EPROTONOSUPPORT", 43, 93, 43),
    row("ESOCKTNOSUPPORT", 44, 94, 44),
    row("EOPNOTSUPP", 45, 95, 102),
    row("ENOTSUP", 45, 95, 45),
    row("EPFNOSUPPORT", 46, 96, 46),
    row("EAFNOSUPPORT", 47, 97, 47),
    row("EADDRINUSE", 48, 98, 48),
    row("EADDRNOTAVAIL", 49, 99, 49),
    row("ENETDOWN", 50, 100, 50),
    row("ENETUNREACH", 51, 101, 51),
    row("ENETRESET", 52, 102, 52),
    row("ECONNABORTED", 53, 103, 53),
    row("ECONNRESET", 54, 104, 54),
    row("ENOBUFS", 55, 105, 55),
    row("EISCONN", 56, 106, 56),
    row("ENOTCONN", 57, 107, 57),
    row("ESHUTDOWN", 58, 108, 58),
    row("ETOOMANYREFS", 59, 109, 59),
    row("ETIMEDOUT", 60, 110, 60),
    row("ECONNREFUSED", 61, 111, 61),
    row("ELOOP", 62, 40, 62),
    row("ENAMETOOLONG", 63, 36, 63),
    row("EHOSTDOWN", 64, 112, 64),
    row("EHOSTUNREACH", 65, 113, 65),
    row("ENOTEMPTY", 66, 39, 66),
    row("EUSERS", 68, 87, 68),
    row("EDQUOT", 69, 122, 69),
    row("ESTALE", 70, 116, 70),
    row("EREMOTE", 71, 66, 71),
    row("ENOLCK", 77, 37, 77),
    row("ENOSYS", 78, 38, 78),
    row("EIDRM", 82, 43, 90),
    row("ENOMSG", 83, 42, 91),
    row("EOVERFLOW", 84, 75, 84),
    row("ECANCELED", 85, 125, 89),
    row("EILSEQ", 86, 84, 92),
    row("EBADMSG", 89, 74, 94),
    row("EMULTIHOP", 90, 72, 95),
    row("ENOLINK", 91, 67, 97),
    row("EPROTO", 92, 71, 100),
    row("ENOTRECOVERABLE", 95, 131, 104),
    row("EOWNERDEAD", 96, 130, 105),
];

/// Every signal the three systems share (FreeBSD sys/sys/signal.h; Linux asm/signal.h of x86
/// and arm; macOS sys/signal.h). Signal 0 (a permission check) is 0 everywhere.
const SIGNALS: &[Row] = &[
    row("SIGHUP", 1, 1, 1),
    row("SIGINT", 2, 2, 2),
    row("SIGQUIT", 3, 3, 3),
    row("SIGILL", 4, 4, 4),
    row("SIGTRAP", 5, 5, 5),
    row("SIGABRT", 6, 6, 6),
    row("SIGFPE", 8, 8, 8),
    row("SIGKILL", 9, 9, 9),
    row("SIGBUS", 10, 7, 10),
    row("SIGSEGV", 11, 11, 11),
    row("SIGSYS", 12, 31, 12),
    row("SIGPIPE", 13, 13, 13),
    row("SIGALRM", 14, 14, 14),
    row("SIGTERM", 15, 15, 15),
    row("SIGURG", 16, 23, 16),
    row("SIGSTOP", 17, 19, 17),
    row("SIGTSTP", 18, 20, 18),
    row("SIGCONT", 19, 18, 19),
    row("SIGCHLD", 20, 17, 20),
    row("SIGTTIN", 21, 21, 21),
    row("SIGTTOU", 22, 22, 22),
    row("SIGIO", 23, 29, 23),
    row("SIGXCPU", 24, 24, 24),
    row("SIGXFSZ", 25, 25, 25),
    row("SIGVTALRM", 26, 26, 26),
    row("SIGPROF", 27, 27, 27),
    row("SIGWINCH", 28, 28, 28),
    row("SIGUSR1", 30, 10, 30),
    row("SIGUSR2", 31, 12, 31),
];

/// Signals FreeBSD and macOS share that Linux lacks: SIGEMT and SIGINFO, the same numbers.
const BSD_ONLY_SIGNALS: &[Row] = &[row("SIGEMT", 7, 0, 7), row("SIGINFO", 29, 0, 29)];

/// FreeBSD's realtime signals: SIGRTMIN 65 to SIGRTMAX 126.
const FREEBSD_SIGRT: std::ops::RangeInclusive<i32> = 65..=126;

/// Linux's realtime signals as the C library leaves them (glibc keeps the first few).
#[cfg(target_os = "linux")]
fn linux_sigrt() -> std::ops::RangeInclusive<i32> {
    libc::SIGRTMIN()..=libc::SIGRTMAX()
}

/// Not on Linux, the Linux C library's realtime range is unknown: none.
#[cfg(not(target_os = "linux"))]
#[allow(clippy::reversed_empty_ranges)]
fn linux_sigrt() -> std::ops::RangeInclusive<i32> {
    1..=0
}

/// The pty requests the machine makes on the host's own ptys, by name: FreeBSD's numbers
/// (sys/ttycom.h, FACTS-kernel-runtime.md §5), Linux's (asm-generic/ioctls.h) and macOS's
/// (the BSD encoding again).
const PTY_REQUESTS: &[(&str, libc::c_ulong, libc::c_ulong, libc::c_ulong)] = &[
    ("TIOCSWINSZ", 0x8008_7467, 0x5414, 0x8008_7467),
    ("TIOCGWINSZ", 0x4008_7468, 0x5413, 0x4008_7468),
    ("TIOCSCTTY", 0x2000_7461, 0x540e, 0x2000_7461),
];

/// This host's number of a pty request named in `PTY_REQUESTS`.
fn pty_request(name: &str) -> libc::c_ulong {
    let (_, freebsd, linux, macos) = PTY_REQUESTS
        .iter()
        .find(|r| r.0 == name)
        .copied()
        .expect("a request of the table");
    match HOST {
        Host::FreeBsd => freebsd,
        Host::Linux => linux,
        Host::MacOs => macos,
    }
}

/// TIOCSWINSZ as this host numbers it.
pub(crate) fn host_tiocswinsz() -> libc::c_ulong {
    pty_request("TIOCSWINSZ")
}

/// TIOCGWINSZ as this host numbers it.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn host_tiocgwinsz() -> libc::c_ulong {
    pty_request("TIOCGWINSZ")
}

/// TIOCSCTTY as this host numbers it.
pub(crate) fn host_tiocsctty() -> libc::c_ulong {
    pty_request("TIOCSCTTY")
}

/// The FreeBSD errno for a host I/O error; EIO for a number FreeBSD has no name for.
pub(crate) fn host_errno(error: &io::Error) -> Errno {
    errno_on(HOST, error.raw_os_error())
}

fn errno_on(host: Host, raw: Option<i32>) -> Errno {
    raw.and_then(|n| ERRNOS.iter().find(|r| host.of(r) == n))
        .map_or(Errno::EIO, |r| Errno(r.freebsd))
}

/// A FreeBSD signal number as the host's, where the host has it.
pub(crate) fn to_host_signal(sig: i32) -> Option<i32> {
    to_host_signal_on(HOST, sig)
}

fn to_host_signal_on(host: Host, sig: i32) -> Option<i32> {
    if sig == 0 || host == Host::FreeBsd {
        return Some(sig);
    }
    if let Some(r) = SIGNALS.iter().find(|r| r.freebsd == sig) {
        return Some(host.of(r));
    }
    match host {
        Host::Linux if FREEBSD_SIGRT.contains(&sig) => {
            let rt = linux_sigrt();
            let sig = rt.start() + (sig - FREEBSD_SIGRT.start());
            rt.contains(&sig).then_some(sig)
        }
        Host::MacOs => BSD_ONLY_SIGNALS
            .iter()
            .find(|r| r.freebsd == sig)
            .map(|r| r.macos),
        _ => None,
    }
}

/// A host signal number as FreeBSD's (an unknown one as it is).
pub(crate) fn from_host_signal(sig: i32) -> i32 {
    from_host_signal_on(HOST, sig)
}

fn from_host_signal_on(host: Host, sig: i32) -> i32 {
    (0..=*FREEBSD_SIGRT.end())
        .find(|freebsd| to_host_signal_on(host, *freebsd) == Some(sig))
        .unwrap_or(sig)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errno(host: Host, n: i32) -> Errno {
        errno_on(host, Some(n))
    }

    #[test]
    fn linux_errnos_that_differ_from_freebsd() {
        let l = Host::Linux;
        assert_eq!(errno(l, 11), Errno::EAGAIN);
        assert_eq!(errno(l, 35), Errno::EDEADLK);
        assert_eq!(errno(l, 36), Errno::ENAMETOOLONG);
        assert_eq!(errno(l, 38), Errno::ENOSYS);
        assert_eq!(errno(l, 39), Errno::ENOTEMPTY);
        assert_eq!(errno(l, 40), Errno::ELOOP);
        assert_eq!(errno(l, 95), Errno::EOPNOTSUPP);
        assert_eq!(errno(l, 98), Errno::EADDRINUSE);
        assert_eq!(errno(l, 110), Errno::ETIMEDOUT);
        assert_eq!(errno(l, 2), Errno::ENOENT);
        // ENODATA (61) and EKEYEXPIRED (127) have no FreeBSD name.
        assert_eq!(errno(l, 61), Errno::EIO);
        assert_eq!(errno(l, 127), Errno::EIO);
        assert_eq!(errno_on(l, None), Errno::EIO);
    }

    #[test]
    fn macos_errnos_are_mostly_freebsds() {
        let m = Host::MacOs;
        assert_eq!(errno(m, 35), Errno::EAGAIN);
        assert_eq!(errno(m, 11), Errno::EDEADLK);
        assert_eq!(errno(m, 63), Errno::ENAMETOOLONG);
        assert_eq!(errno(m, 102), Errno::EOPNOTSUPP);
        assert_eq!(errno(m, 45), Errno::EOPNOTSUPP, "ENOTSUP");
        assert_eq!(errno(m, 90), Errno(82), "EIDRM");
        assert_eq!(errno(m, 89), Errno(85), "ECANCELED");
        assert_eq!(errno(m, 100), Errno(92), "EPROTO");
        // EPWROFF (82) has no FreeBSD name.
        assert_eq!(errno(m, 82), Errno::EIO);
    }

    #[test]
    fn every_errno_of_a_host_has_one_freebsd_meaning() {
        for host in [Host::Linux, Host::MacOs, Host::FreeBsd] {
            for r in ERRNOS {
                assert_eq!(
                    errno(host, host.of(r)),
                    Errno(r.freebsd),
                    "{host:?} {}",
                    r.name
                );
            }
        }
        // Where the contract names a number, it is the same errno (ENOTSUP is EOPNOTSUPP).
        for r in ERRNOS.iter().filter(|r| r.name != "ENOTSUP") {
            if let Some(name) = Errno(r.freebsd).name() {
                assert_eq!(name, r.name);
            }
        }
    }

    #[test]
    fn linux_signals() {
        let l = Host::Linux;
        for (freebsd, linux) in [(10, 7), (12, 31), (16, 23), (17, 19), (18, 20), (19, 18)] {
            assert_eq!(to_host_signal_on(l, freebsd), Some(linux));
            assert_eq!(from_host_signal_on(l, linux), freebsd);
        }
        for (freebsd, linux) in [(20, 17), (23, 29), (30, 10), (31, 12), (9, 9), (15, 15)] {
            assert_eq!(to_host_signal_on(l, freebsd), Some(linux));
            assert_eq!(from_host_signal_on(l, linux), freebsd);
        }
        assert_eq!(to_host_signal_on(l, 0), Some(0));
        // SIGEMT, SIGINFO, SIGTHR and SIGLIBRT: none on Linux.
        for freebsd in [7, 29, 32, 33] {
            assert_eq!(to_host_signal_on(l, freebsd), None);
        }
    }

    #[test]
    fn macos_signals_are_freebsds() {
        let m = Host::MacOs;
        for sig in 1..=31 {
            assert_eq!(to_host_signal_on(m, sig), Some(sig), "{sig}");
            assert_eq!(from_host_signal_on(m, sig), sig);
        }
        // No SIGTHR or realtime signals on macOS.
        for freebsd in [32, 33, 65, 126] {
            assert_eq!(to_host_signal_on(m, freebsd), None);
        }
    }

    /// This host's column is what its C library says.
    #[test]
    fn the_hosts_column_is_its_libc() {
        macro_rules! libc_values {
            ($($name:ident),* $(,)?) => { [$((stringify!($name), libc::$name)),*] };
        }
        let errnos = libc_values!(
            EPERM,
            ENOENT,
            ESRCH,
            EINTR,
            EIO,
            ENXIO,
            E2BIG,
            ENOEXEC,
            EBADF,
            ECHILD,
            EDEADLK,
            ENOMEM,
            EACCES,
            EFAULT,
            ENOTBLK,
            EBUSY,
            EEXIST,
            EXDEV,
            ENODEV,
            ENOTDIR,
            EISDIR,
            EINVAL,
            ENFILE,
            EMFILE,
            ENOTTY,
            ETXTBSY,
            EFBIG,
            ENOSPC,
            ESPIPE,
            EROFS,
            EMLINK,
            EPIPE,
            EDOM,
            ERANGE,
            EAGAIN,
            EINPROGRESS,
            EALREADY,
            ENOTSOCK,
            EDESTADDRREQ,
            EMSGSIZE,
            EPROTOTYPE,
            ENOPROTOOPT,
            EPROTONOSUPPORT,
            ESOCKTNOSUPPORT,
            EOPNOTSUPP,
            ENOTSUP,
            EPFNOSUPPORT,
            EAFNOSUPPORT,
            EADDRINUSE,
            EADDRNOTAVAIL,
            ENETDOWN,
            ENETUNREACH,
            ENETRESET,
            ECONNABORTED,
            ECONNRESET,
            ENOBUFS,
            EISCONN,
            ENOTCONN,
            ESHUTDOWN,
            ETOOMANYREFS,
            ETIMEDOUT,
            ECONNREFUSED,
            ELOOP,
            ENAMETOOLONG,
            EHOSTDOWN,
            EHOSTUNREACH,
            ENOTEMPTY,
            EUSERS,
            EDQUOT,
            ESTALE,
            EREMOTE,
            ENOLCK,
            ENOSYS,
            EIDRM,
            ENOMSG,
            EOVERFLOW,
            ECANCELED,
            EILSEQ,
            EBADMSG,
            EMULTIHOP,
            ENOLINK,
            EPROTO,
            ENOTRECOVERABLE,
            EOWNERDEAD,
        );
        assert_eq!(errnos.len(), ERRNOS.len());
        for ((name, value), r) in errnos.iter().zip(ERRNOS) {
            assert_eq!(*name, r.name);
            assert_eq!(*value, HOST.of(r), "{name}");
        }
        let signals = libc_values!(
            SIGHUP, SIGINT, SIGQUIT, SIGILL, SIGTRAP, SIGABRT, SIGFPE, SIGKILL, SIGBUS, SIGSEGV,
            SIGSYS, SIGPIPE, SIGALRM, SIGTERM, SIGURG, SIGSTOP, SIGTSTP, SIGCONT, SIGCHLD, SIGTTIN,
            SIGTTOU, SIGIO, SIGXCPU, SIGXFSZ, SIGVTALRM, SIGPROF, SIGWINCH, SIGUSR1, SIGUSR2,
        );
        assert_eq!(signals.len(), SIGNALS.len());
        for ((name, value), r) in signals.iter().zip(SIGNALS) {
            assert_eq!(*name, r.name);
            assert_eq!(*value, HOST.of(r), "{name}");
            assert_eq!(to_host_signal(r.freebsd), Some(*value));
            assert_eq!(from_host_signal(*value), r.freebsd);
        }
    }

    /// This host's column of the pty requests is its C library's.
    #[test]
    fn pty_requests_are_the_hosts() {
        assert_eq!(host_tiocswinsz(), libc::TIOCSWINSZ);
        assert_eq!(host_tiocgwinsz(), libc::TIOCGWINSZ);
        assert_eq!(host_tiocsctty(), libc::TIOCSCTTY);
        assert_eq!(PTY_REQUESTS[0].1, zelle_sys::ioctl::number::TIOCSWINSZ);
        assert_eq!(PTY_REQUESTS[1].1, zelle_sys::ioctl::number::TIOCGWINSZ);
        assert_eq!(PTY_REQUESTS[2].1, zelle_sys::ioctl::number::TIOCSCTTY);
    }

    /// On Linux, FreeBSD's realtime signals map onto the C library's, in order.
    #[cfg(target_os = "linux")]
    #[test]
    fn realtime_signals_on_linux() {
        assert_eq!(to_host_signal(65), Some(libc::SIGRTMIN()));
        assert_eq!(from_host_signal(libc::SIGRTMIN() + 1), 66);
        let past = 65 + (libc::SIGRTMAX() - libc::SIGRTMIN()) + 1;
        assert_eq!(to_host_signal(past), None);
    }
}
