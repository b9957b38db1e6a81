//! Kernel results: FreeBSD errno values and the error every kernel call returns.
//!
//! The numbers are FreeBSD's (`sys/sys/errno.h`), not the host's: several differ from Linux
//! (EAGAIN is 35, EPROTONOSUPPORT 43, ENAMETOOLONG 63), and `core` must mean the same thing on
//! every host it is tested on.

use super::Op;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A FreeBSD errno value.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Errno(pub i32);

macro_rules! errnos {
    ($($name:ident = $value:expr),* $(,)?) => {
        impl Errno {
            $(pub const $name: Errno = Errno($value);)*

            /// The symbolic name, such as `"EINVAL"`, when the value is a known one.
            pub fn name(self) -> Option<&'static str> {
                match self.0 {
                    $($value => Some(stringify!($name)),)*
                    _ => None,
                }
            }
        }
    };
}

errnos! {
    EPERM = 1, ENOENT = 2, ESRCH = 3, EINTR = 4, EIO = 5, ENXIO = 6, E2BIG = 7, ENOEXEC = 8,
    EBADF = 9, ECHILD = 10, EDEADLK = 11, ENOMEM = 12, EACCES = 13, EFAULT = 14, EBUSY = 16,
    EEXIST = 17, EXDEV = 18, ENODEV = 19, ENOTDIR = 20, EISDIR = 21, EINVAL = 22, ENFILE = 23,
    EMFILE = 24, ENOTTY = 25, ENOSPC = 28, EROFS = 30, EMLINK = 31, EPIPE = 32, ERANGE = 34, EAGAIN = 35,
    EDESTADDRREQ = 39, ENOPROTOOPT = 42, EPROTONOSUPPORT = 43, EOPNOTSUPP = 45,
    EAFNOSUPPORT = 47, EADDRINUSE = 48, EADDRNOTAVAIL = 49, ENETDOWN = 50, ENETUNREACH = 51,
    ENOBUFS = 55, ETIMEDOUT = 60, ELOOP = 62, ENAMETOOLONG = 63, EHOSTUNREACH = 65,
    ENOTEMPTY = 66, ERPCMISMATCH = 73, ENOSYS = 78, ENOTCAPABLE = 93,
}

impl fmt::Debug for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "errno {}", self.0),
        }
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// What a kernel call can end in besides success.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum KernelError {
    /// Operation `op` failed with an errno; `message` is the kernel's own text where it gives
    /// one (jail_set(2)'s and nmount(2)'s `errmsg`).
    #[error("{op}: {errno}{}", .message.as_deref().map(|m| format!(" ({m})")).unwrap_or_default())]
    Errno {
        op: Op,
        errno: Errno,
        message: Option<String>,
    },
    /// The kernel panicked: nothing answers any more. Only the simulated machine reports this
    /// (a real panic takes the caller with it).
    #[error("kernel panic: {0}")]
    Panic(String),
}

impl KernelError {
    pub fn errno(op: Op, errno: Errno) -> Self {
        KernelError::Errno {
            op,
            errno,
            message: None,
        }
    }

    pub fn with_message(op: Op, errno: Errno, message: impl Into<String>) -> Self {
        KernelError::Errno {
            op,
            errno,
            message: Some(message.into()),
        }
    }

    /// The operation that failed, if the call returned an errno.
    pub fn op(&self) -> Option<Op> {
        match self {
            KernelError::Errno { op, .. } => Some(*op),
            KernelError::Panic(_) => None,
        }
    }

    /// Whether `op` failed with `errno`.
    pub fn is(&self, op: Op, errno: Errno) -> bool {
        self.op() == Some(op) && self.code() == Some(errno)
    }

    /// The errno, if the call returned one.
    pub fn code(&self) -> Option<Errno> {
        match self {
            KernelError::Errno { errno, .. } => Some(*errno),
            KernelError::Panic(_) => None,
        }
    }
}

pub type KResult<T> = Result<T, KernelError>;
