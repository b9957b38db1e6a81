//! A new process's stdio on the host: the caller's descriptors, and real host ptys.
//!
//! Descriptors are this OS process's own, so nothing here goes into the machine's state (which
//! other processes share through the state file): a spawn uses them while it runs, and the pty
//! master it opens is handed back to the caller.

use crate::fault::Op;
use crate::hostos::{host_errno, host_tiocswinsz};
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd, RawFd};
use zelle_core::kernel::ProcessSpec;
use zelle_core::kernel::{Errno, KResult, KernelError, StdioFd, WindowSize};

fn last_errno() -> Errno {
    host_errno(&io::Error::last_os_error())
}

/// The checks of the child's dup2(2) onto 0, 1 and 2: a descriptor must be open (EBADF), and
/// bytes can only be fed to stdin (EINVAL, naming the stream). A terminal replaces all three.
pub(crate) fn check_stdio(spec: &ProcessSpec) -> KResult<()> {
    if spec.terminal.is_some() {
        return Ok(());
    }
    if let Some(name) = spec.stdio.misplaced_data() {
        return Err(KernelError::with_message(
            Op::SetStdio,
            Errno::EINVAL,
            format!("{name}: data can only be fed to stdin"),
        ));
    }
    for (name, stream) in spec.stdio.named() {
        let StdioFd::Fd(fd) = stream else { continue };
        // SAFETY: fcntl(F_GETFD) only asks whether the descriptor is open.
        if unsafe { libc::fcntl(*fd, libc::F_GETFD) } == -1 {
            return Err(KernelError::with_message(
                Op::SetStdio,
                Errno::EBADF,
                format!("{name}: descriptor {fd} is not open"),
            ));
        }
    }
    Ok(())
}

/// Write all of `bytes` to `fd`, as far as it takes them (a closed reader or a full FIFO ends
/// it: a virtual process's output is lost then, as a real one's would be).
pub(crate) fn write_fd(fd: RawFd, mut bytes: &[u8]) {
    while !bytes.is_empty() {
        // SAFETY: `bytes` is readable for its length; `fd` is the caller's, open.
        let n = unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len()) };
        match n {
            n if n > 0 => bytes = &bytes[n as usize..],
            _ if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted => continue,
            _ => return,
        }
    }
}

/// The descriptor a virtual process writes a stream to, if any.
pub(crate) fn output_fd(stream: &StdioFd) -> Option<RawFd> {
    match stream {
        StdioFd::Fd(fd) => Some(*fd),
        StdioFd::Null | StdioFd::Data(_) => None,
    }
}

fn winsize(size: WindowSize) -> libc::winsize {
    libc::winsize {
        ws_row: size.rows,
        ws_col: size.cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    }
}

/// A host pty pair of `size`, both ends close-on-exec: (master, slave). Its failure is
/// posix_openpt's (the pts limit: EAGAIN).
pub(crate) fn open_pty(size: WindowSize) -> KResult<(OwnedFd, OwnedFd)> {
    let pty = nix::pty::openpty(Some(&winsize(size)), None).map_err(|e| {
        KernelError::errno(
            Op::OpenTerminal,
            host_errno(&io::Error::from_raw_os_error(e as i32)),
        )
    })?;
    for fd in [&pty.master, &pty.slave] {
        // SAFETY: fcntl on a descriptor we own.
        unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC) };
    }
    Ok((pty.master, pty.slave))
}

/// TIOCSWINSZ on a host pty (the host's request number: hostos).
pub(crate) fn set_window_size(fd: BorrowedFd<'_>, size: WindowSize) -> Result<(), Errno> {
    let ws = winsize(size);
    // SAFETY: TIOCSWINSZ reads one `struct winsize`, which `ws` is, for the call.
    let rc = unsafe { libc::ioctl(fd.as_raw_fd(), host_tiocswinsz() as _, &ws) };
    if rc == -1 {
        return Err(last_errno());
    }
    Ok(())
}
