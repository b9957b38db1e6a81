//! Mounts: nmount(2) with name/value iovec pairs (`sys/kern/vfs_mount.c`, `vfs_donmount`),
//! unmount(2) and getfsstat(2).

use crate::jail::Params;
use crate::{fail, FreeBsd, Syscalls};
use core::ffi::c_int;
use std::ffi::CString;
use zelle_core::kernel::Op;
use zelle_core::kernel::{Errno, KResult, MountEntry, MountFlags, MountRequest, Mounts};

/// nmount(2) and unmount(2) take the flags as a C int: higher `MNT_*` bits are options.
fn int_flags(flags: MountFlags) -> Result<c_int, Errno> {
    u32::try_from(flags.0)
        .map(|f| f as c_int)
        .map_err(|_| Errno::EINVAL)
}

/// `fstype`, `fspath`, `from` (nullfs also `target`, as mount_nullfs(8) sends it), the options
/// in order (an empty value goes without one, as a flag), then `errmsg`.
fn nmount_params(request: &MountRequest) -> Result<Params, Errno> {
    let mut p = Params::default();
    p.string("fstype", &request.fstype)?;
    p.string("fspath", &request.fspath)?;
    if let Some(from) = &request.from {
        p.string("from", from)?;
        if request.fstype == "nullfs" {
            p.string("target", from)?;
        }
    }
    for (name, value) in &request.options {
        if value.is_empty() {
            p.flag(name)?;
        } else {
            p.string(name, value)?;
        }
    }
    p.errmsg()?;
    Ok(p)
}

impl<S: Syscalls> Mounts for FreeBsd<S> {
    fn nmount(&self, request: &MountRequest) -> KResult<()> {
        let op = Op::Nmount;
        let flags = int_flags(request.flags).map_err(|e| fail(op, e))?;
        let mut p = nmount_params(request).map_err(|e| fail(op, e))?;
        // SAFETY: the iovecs point into `p`, live and sized as they say, errmsg writable.
        let result = p.call(|iov| unsafe { self.sys.nmount(iov, flags) });
        result.map_err(|e| p.error(op, e))
    }

    fn unmount(&self, path: &str, flags: MountFlags) -> KResult<()> {
        let op = Op::Unmount;
        let path = CString::new(path).map_err(|_| fail(op, Errno::EINVAL))?;
        let flags = int_flags(flags).map_err(|e| fail(op, e))?;
        self.sys.unmount(&path, flags).map_err(|e| fail(op, e))
    }

    fn list_mounts(&self) -> KResult<Vec<MountEntry>> {
        let list = self.sys.getfsstat().map_err(|e| fail(Op::ListMounts, e))?;
        Ok(list
            .into_iter()
            .map(|m| MountEntry {
                fstype: m.fstypename,
                from: m.mntfromname,
                on: m.mntonname,
                flags: MountFlags(m.flags),
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syscalls::{FsStat, MockSyscalls};
    use crate::test_support::{backend, pairs, put};
    use zelle_core::kernel::KernelError;

    fn text(s: &str) -> Option<Vec<u8>> {
        Some(format!("{s}\0").into_bytes())
    }

    #[test]
    fn nullfs_sends_from_and_target_then_the_options() {
        let mut mock = MockSyscalls::new();
        mock.expect_nmount()
            .withf(|iov, &flags| {
                // SAFETY: the backend's iovecs point into its own buffers.
                let got = unsafe { pairs(iov) };
                let want = vec![
                    ("fstype".to_string(), text("nullfs")),
                    ("fspath".into(), text("/jails/web/data")),
                    ("from".into(), text("/srv/data")),
                    ("target".into(), text("/srv/data")),
                    ("ro".into(), None),
                    ("errmsg".into(), Some(vec![0; 1024])),
                ];
                flags == 8 && got == want
            })
            .times(1)
            .returning(|_, _| Ok(()));
        let request = MountRequest {
            fstype: "nullfs".into(),
            fspath: "/jails/web/data".into(),
            from: Some("/srv/data".into()),
            options: vec![("ro".into(), String::new())],
            flags: MountFlags::NOSUID,
        };
        backend(mock).nmount(&request).unwrap();
    }

    /// MNT_UPDATE goes in nmount's flags argument with the others, as `sys/sys/mount.h` numbers
    /// them; the options follow as pairs, an empty value as a bare name.
    #[test]
    fn an_update_passes_mnt_update_in_the_flags() {
        assert_eq!(MountFlags::UPDATE.0, u64::from(zelle_sys::MNT_UPDATE));
        assert_eq!(MountFlags::LOCAL.0, u64::from(zelle_sys::MNT_LOCAL));
        assert_eq!(MountFlags::RDONLY.0, u64::from(zelle_sys::MNT_RDONLY));
        let mut mock = MockSyscalls::new();
        mock.expect_nmount()
            .withf(|iov, &flags| {
                // SAFETY: the backend's iovecs point into its own buffers.
                let got = unsafe { pairs(iov) };
                let want = vec![
                    ("fstype".to_string(), text("nullfs")),
                    ("fspath".into(), text("/jails/web/data")),
                    ("export".into(), None),
                    ("errmsg".into(), Some(vec![0; 1024])),
                ];
                flags == 0x0001_0001 && got == want
            })
            .times(1)
            .returning(|_, _| Err(Errno::EOPNOTSUPP));
        let request = MountRequest {
            fstype: "nullfs".into(),
            fspath: "/jails/web/data".into(),
            from: None,
            options: vec![("export".into(), String::new())],
            flags: MountFlags(MountFlags::UPDATE.0 | MountFlags::RDONLY.0),
        };
        let err = backend(mock).nmount(&request).unwrap_err();
        assert_eq!(err.code(), Some(Errno::EOPNOTSUPP));
    }

    #[test]
    fn nmount_reports_the_kernels_text() {
        let mut mock = MockSyscalls::new();
        mock.expect_nmount()
            .withf(|iov, _| {
                // SAFETY: as above.
                unsafe { pairs(iov) }.contains(&("ruleset".into(), text("70000")))
            })
            .returning(|iov, _| {
                // SAFETY: the errmsg buffer is 1024 bytes.
                unsafe { put(iov, "errmsg", b"invalid ruleset specification\0", false) };
                Err(Errno::EINVAL)
            });
        let request = MountRequest {
            fstype: "devfs".into(),
            fspath: "/jails/web/dev".into(),
            from: None,
            options: vec![("ruleset".into(), "70000".into())],
            flags: MountFlags::default(),
        };
        let err = backend(mock).nmount(&request).unwrap_err();
        assert_eq!(
            err,
            KernelError::with_message(Op::Nmount, Errno::EINVAL, "invalid ruleset specification")
        );
    }

    #[test]
    fn flags_beyond_an_int_and_nuls_are_refused_before_any_call() {
        let k = backend(MockSyscalls::new());
        let request = MountRequest {
            fstype: "tmpfs".into(),
            fspath: "/tmp/x".into(),
            from: None,
            options: vec![],
            flags: MountFlags(1 << 40),
        };
        assert_eq!(k.nmount(&request).unwrap_err().code(), Some(Errno::EINVAL));
        assert_eq!(
            k.unmount("/a\0b", MountFlags::default())
                .unwrap_err()
                .code(),
            Some(Errno::EINVAL)
        );
    }

    #[test]
    fn unmount_and_list_pass_through() {
        let mut mock = MockSyscalls::new();
        mock.expect_unmount()
            .withf(|path, &flags| path.to_bytes() == b"/jails/web/dev" && flags == 0x0008_0000)
            .returning(|_, _| Err(Errno::EBUSY));
        mock.expect_getfsstat().returning(|| {
            Ok(vec![FsStat {
                fstypename: "devfs".into(),
                mntfromname: "devfs".into(),
                mntonname: "/dev".into(),
                flags: 0x1000,
            }])
        });
        let k = backend(mock);
        let err = k.unmount("/jails/web/dev", MountFlags::FORCE).unwrap_err();
        assert_eq!(err, KernelError::errno(Op::Unmount, Errno::EBUSY));
        assert_eq!(
            k.list_mounts().unwrap(),
            vec![MountEntry {
                fstype: "devfs".into(),
                from: "devfs".into(),
                on: "/dev".into(),
                flags: MountFlags(0x1000),
            }]
        );
    }
}
