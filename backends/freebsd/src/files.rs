//! Files beneath a root: a descriptor of the root, then openat(2) with `O_RESOLVE_BENEATH`
//! (FreeBSD 13.0 and later; `sys/kern/vfs_lookup.c`, FACTS-kernel-runtime §4) for everything
//! below it.
//!
//! mkdirat(2), readlinkat(2) and renameat(2) take no lookup flags, so a path for them is never
//! handed over whole: its directory is opened beneath the root first (`O_RESOLVE_BENEATH |
//! O_DIRECTORY`), and the call gets that descriptor and a last component without a slash, which
//! needs no further lookup. fstatat(2) takes `AT_RESOLVE_BENEATH` itself.

use crate::{fail, Descriptor, FreeBsd, Syscalls};
use core::ffi::c_int;
use std::ffi::CString;
use zelle_core::kernel::files::temporary_beside;
use zelle_core::kernel::{Errno, FileType, Files, KResult, Op};
use zelle_sys::{
    AT_RESOLVE_BENEATH, AT_SYMLINK_NOFOLLOW, MAXPATHLEN, O_CLOEXEC, O_CREAT, O_DIRECTORY, O_EXCL,
    O_NOFOLLOW, O_RDONLY, O_RESOLVE_BENEATH, O_WRONLY, S_IFDIR, S_IFLNK, S_IFMT, S_IFREG,
};

fn c_path(path: &str) -> Result<CString, Errno> {
    CString::new(path).map_err(|_| Errno::EINVAL)
}

/// A path's directory, opened beneath the root, and its last component.
struct Parent<'a, S: Syscalls> {
    dir: Descriptor<'a, S>,
    /// A single component: no slash. "." or ".." when the path ends in one.
    name: CString,
}

impl<'a, S: Syscalls> Parent<'a, S> {
    fn is_dot(&self) -> bool {
        matches!(self.name.to_bytes(), b"." | b"..")
    }
}

impl<S: Syscalls> FreeBsd<S> {
    fn open_root(&self, root: &str) -> Result<Descriptor<'_, S>, Errno> {
        Descriptor::open(&self.sys, &c_path(root)?, (O_RDONLY | O_DIRECTORY) as c_int)
    }

    /// Open the directory of `path` beneath `root`. An absolute `path` is ENOTCAPABLE, as the
    /// kernel answers it (`namei_setup`); checked here too so no call is made for it.
    fn open_parent(&self, root: &str, path: &str) -> Result<Parent<'_, S>, Errno> {
        if path.starts_with('/') {
            return Err(Errno::ENOTCAPABLE);
        }
        let trimmed = path.trim_end_matches('/');
        let (dir, name) = match trimmed.rsplit_once('/') {
            Some((dir, name)) => (if dir.is_empty() { "." } else { dir }, name),
            None => (".", trimmed),
        };
        if name.is_empty() {
            return Err(Errno::ENOENT);
        }
        let root = self.open_root(root)?;
        let flags = O_RDONLY | O_DIRECTORY | O_RESOLVE_BENEATH | O_CLOEXEC;
        let fd = self.sys.openat(root.fd, &c_path(dir)?, flags as c_int, 0)?;
        let parent = Parent {
            dir: Descriptor { sys: &self.sys, fd },
            name: c_path(name)?,
        };
        if parent.is_dot() {
            // The directory itself: its lookup beneath the root decides (ENOTCAPABLE above it).
            let flags = O_RDONLY | O_DIRECTORY | O_RESOLVE_BENEATH | O_CLOEXEC;
            let fd = self
                .sys
                .openat(parent.dir.fd, &parent.name, flags as c_int, 0)?;
            drop(Descriptor { sys: &self.sys, fd });
        }
        Ok(parent)
    }

    fn write_in(&self, parent: &Parent<'_, S>, contents: &[u8], mode: u32) -> Result<(), Errno> {
        let name = parent.name.to_str().map_err(|_| Errno::EINVAL)?;
        let temporary = c_path(&temporary_beside(name))?;
        let sys = &self.sys;
        // A leftover of an earlier crash is ours to replace.
        match sys.unlinkat(parent.dir.fd, &temporary, 0) {
            Ok(()) | Err(Errno::ENOENT) => {}
            Err(e) => return Err(e),
        }
        let flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
        let fd = sys.openat(parent.dir.fd, &temporary, flags as c_int, mode)?;
        let file = Descriptor { sys, fd };
        let written = write_all(sys, file.fd, contents);
        drop(file);
        let renamed = written
            .and_then(|()| sys.renameat(parent.dir.fd, &temporary, parent.dir.fd, &parent.name));
        if renamed.is_err() {
            let _ = sys.unlinkat(parent.dir.fd, &temporary, 0);
        }
        renamed
    }
}

fn write_all<S: Syscalls>(sys: &S, fd: c_int, mut bytes: &[u8]) -> Result<(), Errno> {
    while !bytes.is_empty() {
        match sys.write(fd, bytes)? {
            0 => return Err(Errno::EIO),
            n => bytes = &bytes[n.min(bytes.len())..],
        }
    }
    Ok(())
}

fn file_type(mode: u32) -> FileType {
    match mode & S_IFMT {
        S_IFDIR => FileType::Directory,
        S_IFREG => FileType::Regular,
        S_IFLNK => FileType::Symlink,
        _ => FileType::Other,
    }
}

impl<S: Syscalls> Files for FreeBsd<S> {
    fn stat_beneath(&self, root: &str, path: &str) -> KResult<FileType> {
        let op = Op::StatBeneath;
        let run = || {
            if path.starts_with('/') {
                return Err(Errno::ENOTCAPABLE);
            }
            let root = self.open_root(root)?;
            let flags = AT_RESOLVE_BENEATH | AT_SYMLINK_NOFOLLOW;
            let mode = self.sys.fstatat(root.fd, &c_path(path)?, flags as c_int)?;
            Ok(file_type(mode))
        };
        run().map_err(|e| fail(op, e))
    }

    fn read_link_beneath(&self, root: &str, path: &str) -> KResult<String> {
        let op = Op::ReadLinkBeneath;
        let run = || {
            let parent = self.open_parent(root, path)?;
            if parent.is_dot() {
                return Err(Errno::EINVAL);
            }
            let mut buf = vec![0u8; MAXPATHLEN as usize];
            let n = self.sys.readlinkat(parent.dir.fd, &parent.name, &mut buf)?;
            buf.truncate(n.min(buf.len()));
            String::from_utf8(buf).map_err(|_| Errno::EINVAL)
        };
        run().map_err(|e| fail(op, e))
    }

    fn create_beneath(&self, root: &str, path: &str, kind: FileType, mode: u32) -> KResult<()> {
        let op = Op::CreateBeneath;
        let run = || {
            let parent = self.open_parent(root, path)?;
            if parent.is_dot() {
                return Err(Errno::EEXIST);
            }
            match kind {
                FileType::Directory => self.sys.mkdirat(parent.dir.fd, &parent.name, mode),
                FileType::Regular => {
                    let flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
                    let fd = self
                        .sys
                        .openat(parent.dir.fd, &parent.name, flags as c_int, mode)?;
                    drop(Descriptor { sys: &self.sys, fd });
                    Ok(())
                }
                FileType::Symlink | FileType::Other => Err(Errno::EINVAL),
            }
        };
        run().map_err(|e| fail(op, e))
    }

    fn write_beneath(&self, root: &str, path: &str, contents: &[u8], mode: u32) -> KResult<()> {
        let op = Op::WriteBeneath;
        let run = || {
            let parent = self.open_parent(root, path)?;
            if parent.is_dot() {
                return Err(Errno::EISDIR);
            }
            self.write_in(&parent, contents, mode)
        };
        run().map_err(|e| fail(op, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syscalls::MockSyscalls;
    use mockall::predicate::eq;

    const ROOT: c_int = 7;
    const ETC: c_int = 8;
    const NEW: c_int = 9;

    fn expect_root(mock: &mut MockSyscalls) {
        mock.expect_open()
            .withf(|path, flags| {
                path.to_bytes() == b"/jails/web"
                    && *flags == (O_RDONLY | O_DIRECTORY | O_CLOEXEC) as c_int
            })
            .return_const(Ok(ROOT));
        mock.expect_close().with(eq(ROOT)).return_const(Ok(()));
    }

    fn expect_etc(mock: &mut MockSyscalls) {
        expect_root(mock);
        mock.expect_openat()
            .withf(|dir, path, flags, _| {
                *dir == ROOT
                    && path.to_bytes() == b"etc"
                    && *flags == (O_RDONLY | O_DIRECTORY | O_RESOLVE_BENEATH | O_CLOEXEC) as c_int
            })
            .return_const(Ok(ETC));
        mock.expect_close().with(eq(ETC)).return_const(Ok(()));
    }

    #[test]
    fn write_creates_a_new_file_beside_and_renames_it_over() {
        let mut mock = MockSyscalls::new();
        expect_etc(&mut mock);
        mock.expect_unlinkat()
            .withf(|dir, path, _| *dir == ETC && path.to_bytes() == b".hosts.zelle-new")
            .times(1)
            .return_const(Err(Errno::ENOENT));
        mock.expect_openat()
            .withf(|dir, path, flags, mode| {
                *dir == ETC
                    && path.to_bytes() == b".hosts.zelle-new"
                    && *flags == (O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC) as c_int
                    && *mode == 0o644
            })
            .return_const(Ok(NEW));
        mock.expect_write()
            .withf(|fd, buf| *fd == NEW && buf == b"127.0.0.1 localhost\n")
            .return_const(Ok(20));
        mock.expect_close().with(eq(NEW)).return_const(Ok(()));
        mock.expect_renameat()
            .withf(|from_dir, from, to_dir, to| {
                *from_dir == ETC
                    && from.to_bytes() == b".hosts.zelle-new"
                    && *to_dir == ETC
                    && to.to_bytes() == b"hosts"
            })
            .return_const(Ok(()));
        let k = FreeBsd::new(mock);
        k.write_beneath("/jails/web", "etc/hosts", b"127.0.0.1 localhost\n", 0o644)
            .unwrap();
    }

    #[test]
    fn a_failed_rename_removes_the_new_file() {
        let mut mock = MockSyscalls::new();
        expect_etc(&mut mock);
        mock.expect_unlinkat()
            .withf(|dir, path, _| *dir == ETC && path.to_bytes() == b".hosts.zelle-new")
            .times(2)
            .return_const(Ok(()));
        mock.expect_openat()
            .withf(|dir, _, _, _| *dir == ETC)
            .return_const(Ok(NEW));
        mock.expect_write().return_const(Ok(1));
        mock.expect_close().with(eq(NEW)).return_const(Ok(()));
        mock.expect_renameat().return_const(Err(Errno::EISDIR));
        let err = FreeBsd::new(mock)
            .write_beneath("/jails/web", "etc/hosts", b"x", 0o644)
            .unwrap_err();
        assert!(err.is(Op::WriteBeneath, Errno::EISDIR), "{err}");
    }

    #[test]
    fn stat_asks_fstatat_to_stay_beneath_and_not_follow() {
        let mut mock = MockSyscalls::new();
        expect_root(&mut mock);
        mock.expect_fstatat()
            .withf(|dir, path, flags| {
                *dir == ROOT
                    && path.to_bytes() == b"etc/resolv.conf"
                    && *flags == (AT_RESOLVE_BENEATH | AT_SYMLINK_NOFOLLOW) as c_int
            })
            .return_const(Ok(S_IFLNK | 0o777));
        let k = FreeBsd::new(mock);
        assert_eq!(
            k.stat_beneath("/jails/web", "etc/resolv.conf").unwrap(),
            FileType::Symlink
        );
    }

    #[test]
    fn an_absolute_path_makes_no_call() {
        // No expectations: any call fails the test.
        let k = FreeBsd::new(MockSyscalls::new());
        for result in [
            k.stat_beneath("/r", "/etc").map(drop),
            k.read_link_beneath("/r", "/etc").map(drop),
            k.create_beneath("/r", "/etc", FileType::Directory, 0o755),
            k.write_beneath("/r", "/etc/hosts", b"", 0o644),
        ] {
            assert_eq!(result.unwrap_err().code(), Some(Errno::ENOTCAPABLE));
        }
    }

    #[test]
    fn mkdir_gets_the_parent_and_one_component() {
        let mut mock = MockSyscalls::new();
        expect_root(&mut mock);
        mock.expect_openat()
            .withf(|dir, path, _, _| *dir == ROOT && path.to_bytes() == b"dev")
            .return_const(Ok(ETC));
        mock.expect_close().with(eq(ETC)).return_const(Ok(()));
        mock.expect_mkdirat()
            .withf(|dir, path, mode| *dir == ETC && path.to_bytes() == b"shm" && *mode == 0o1777)
            .return_const(Ok(()));
        FreeBsd::new(mock)
            .create_beneath("/jails/web", "dev/shm", FileType::Directory, 0o1777)
            .unwrap();
    }
}
