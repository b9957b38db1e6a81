//! Helpers for the mockall tests: descriptors the mock hands out, and the bytes an ioctl
//! argument points at, read as the kernel would read them.

use crate::syscalls::consts::{O_CLOEXEC, SOCK_CLOEXEC};
use crate::syscalls::MockSyscalls;
use crate::FreeBsd;
use core::ffi::{c_int, c_void};
use zelle_core::kernel::Errno;
use zelle_sys::ioctl::Request;
use zelle_sys::Zeroed;

/// The descriptor every mocked socket() and open() returns.
pub(crate) const FD: c_int = 7;

/// The bytes of a `T` at `arg`.
///
/// # Safety
/// `arg` points at a live `T`.
pub(crate) unsafe fn bytes_at<'a, T: Zeroed>(arg: *const c_void) -> &'a [u8] {
    // SAFETY: the caller's promise; `T: Zeroed` has no padding, so every byte is initialised.
    unsafe { core::slice::from_raw_parts(arg.cast::<u8>(), core::mem::size_of::<T>()) }
}

/// The `T` at `arg`.
///
/// # Safety
/// `arg` points at a live `T`.
pub(crate) unsafe fn read_at<T: Zeroed>(arg: *const c_void) -> T {
    // SAFETY: the caller's promise.
    zelle_sys::from_bytes(unsafe { bytes_at::<T>(arg) }).expect("size of T")
}

/// Expect `n` sockets of `domain` (datagram or raw, close-on-exec), each closed again.
pub(crate) fn expect_sockets(mock: &mut MockSyscalls, domain: u32, ty: c_int, n: usize) {
    mock.expect_socket()
        .withf(move |&d, &t, &p| d == domain as c_int && t == ty | SOCK_CLOEXEC && p == 0)
        .times(n)
        .returning(|_, _, _| Ok(FD));
    mock.expect_close()
        .withf(|&fd| fd == FD)
        .times(n)
        .returning(|_| Ok(()));
}

/// Expect /dev/pf opened read-write `n` times, each closed again.
pub(crate) fn expect_dev_pf(mock: &mut MockSyscalls, n: usize) {
    mock.expect_open()
        .withf(|path, &flags| {
            path.to_bytes() == b"/dev/pf" && flags == crate::syscalls::consts::O_RDWR | O_CLOEXEC
        })
        .times(n)
        .returning(|_, _| Ok(FD));
    mock.expect_close()
        .withf(|&fd| fd == FD)
        .times(n)
        .returning(|_| Ok(()));
}

pub(crate) fn backend(mock: MockSyscalls) -> FreeBsd<MockSyscalls> {
    FreeBsd::new(mock)
}

/// A C char array holding `text` (for building expected structs).
pub(crate) fn chars<const N: usize>(text: &str) -> [core::ffi::c_char; N] {
    let mut out = [0; N];
    for (dst, &src) in out.iter_mut().zip(text.as_bytes()) {
        *dst = src as core::ffi::c_char;
    }
    out
}

/// The name/value pairs of a jail_set/jail_get/nmount iovec array, as the kernel copies them
/// in (a null or empty value is none).
///
/// # Safety
/// The iovecs point at live memory of their lengths.
pub(crate) unsafe fn pairs(iov: &[zelle_sys::iovec]) -> Vec<(String, Option<Vec<u8>>)> {
    iov.chunks(2)
        .map(|p| {
            // SAFETY: the caller's promise.
            let name =
                unsafe { core::slice::from_raw_parts(p[0].iov_base.cast::<u8>(), p[0].iov_len) };
            let name =
                String::from_utf8_lossy(name.strip_suffix(b"\0").expect("NUL-terminated name"))
                    .into_owned();
            let value = (!p[1].iov_base.is_null() && p[1].iov_len > 0).then(|| {
                // SAFETY: the caller's promise.
                unsafe { core::slice::from_raw_parts(p[1].iov_base.cast::<u8>(), p[1].iov_len) }
                    .to_vec()
            });
            (name, value)
        })
        .collect()
}

/// Write `bytes` into the value buffer of the pair named `name`, as the kernel's copyout does;
/// `set_len` also updates the iovec's length (as for arrays).
///
/// # Safety
/// The value buffer is writable and at least `bytes.len()` long.
pub(crate) unsafe fn put(iov: &mut [zelle_sys::iovec], name: &str, bytes: &[u8], set_len: bool) {
    for i in (0..iov.len()).step_by(2) {
        // SAFETY: the caller's promise.
        let n =
            unsafe { core::slice::from_raw_parts(iov[i].iov_base.cast::<u8>(), iov[i].iov_len) };
        if n.strip_suffix(b"\0") == Some(name.as_bytes()) {
            assert!(
                iov[i + 1].iov_len >= bytes.len(),
                "{name}: buffer too small"
            );
            // SAFETY: the caller's promise.
            unsafe {
                core::ptr::copy_nonoverlapping(
                    bytes.as_ptr(),
                    iov[i + 1].iov_base.cast::<u8>(),
                    bytes.len(),
                )
            };
            if set_len {
                iov[i + 1].iov_len = bytes.len();
            }
            return;
        }
    }
    panic!("no parameter {name}");
}

/// A kernel with one sysctl `name` of `kind` whose value is `value`.
pub(crate) fn with_sysctl(mock: &mut MockSyscalls, name: &'static str, kind: u32, value: Vec<u8>) {
    let size = value.len();
    mock.expect_sysctlbyname()
        .withf(move |n, old, new| {
            n.to_bytes() == name.as_bytes() && old.is_empty() && new.is_empty()
        })
        .returning(move |_, _, _| Ok(size));
    mock.expect_sysctl()
        .withf(move |mib, _, new| mib == [0, 3] && new == name.as_bytes())
        .returning(|_, old, _| {
            old[..8].copy_from_slice(&[1, 0, 0, 0, 2, 0, 0, 0]);
            Ok(8)
        });
    mock.expect_sysctl()
        .withf(|mib, _, _| mib == [0, 4, 1, 2])
        .returning(move |_, old, _| {
            old[..4].copy_from_slice(&kind.to_ne_bytes());
            Ok(6)
        });
    mock.expect_sysctlbyname()
        .withf(|_, old, _| !old.is_empty())
        .returning(move |_, old, _| {
            old[..value.len()].copy_from_slice(&value);
            Ok(value.len())
        });
}

/// Expect one ioctl `request` on descriptor [`FD`] whose argument, a `T`, has exactly the bytes
/// `want`; the kernel's answer is `reply`, written back over the argument when it is Ok.
pub(crate) fn expect_ioctl<T: Zeroed>(
    mock: &mut MockSyscalls,
    request: Request<T>,
    want: T,
    reply: Result<T, Errno>,
) {
    let want = zelle_sys::as_bytes(&want).to_vec();
    let reply = reply.map(|out| zelle_sys::as_bytes(&out).to_vec());
    mock.expect_ioctl()
        .withf(move |&fd, &req, &arg| {
            // SAFETY: the backend passes a live T for this request.
            fd == FD && req == request.number() && unsafe { bytes_at::<T>(arg) } == want.as_slice()
        })
        .times(1)
        .returning(move |_, _, arg| match &reply {
            Ok(out) => {
                // SAFETY: as above; the kernel writes the request back in place.
                unsafe {
                    core::ptr::copy_nonoverlapping(out.as_ptr(), arg.cast::<u8>(), out.len())
                };
                Ok(0)
            }
            Err(e) => Err(*e),
        });
}
