//! The door's file calls: open(2) of a directory, openat(2), mkdirat(2), fstatat(2),
//! readlinkat(2), renameat(2), unlinkat(2) and write(2) on a file, decoded from their flags
//! (`sys/sys/fcntl.h` values from zelle-sys) and applied with the machine's lookup rules
//! (`crate::files`). The door reads each flag itself; only the lookup is shared with the typed
//! door, as every door shares the machine's rules.

use super::{Open, SimSyscalls};
use crate::fault::Op;
use crate::files::Beneath;
use crate::machine::{failed, Machine};
use crate::mount::host_errno;
use core::ffi::{c_int, CStr};
use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use zelle_core::kernel::{Errno, FileType, KernelError};
use zelle_sys::{
    AT_REMOVEDIR, AT_RESOLVE_BENEATH, AT_SYMLINK_NOFOLLOW, O_ACCMODE, O_CREAT, O_DIRECTORY, O_EXCL,
    O_NOFOLLOW, O_RDONLY, O_RESOLVE_BENEATH, S_IFDIR, S_IFLNK, S_IFREG, S_IFSOCK,
};

/// The flags this door knows; any other bit (O_TRUNC, O_APPEND, …) is refused so that a new use
/// in the backend shows up as a failing test rather than a silent difference.
const OPEN_FLAGS: u32 = O_ACCMODE
    | O_CREAT
    | O_EXCL
    | O_NOFOLLOW
    | O_DIRECTORY
    | O_RESOLVE_BENEATH
    | zelle_sys::O_CLOEXEC;

fn c_str(path: &CStr) -> Result<&str, Errno> {
    path.to_str().map_err(|_| Errno::EINVAL)
}

impl SimSyscalls {
    fn dir_of(&self, fd: c_int) -> Result<String, Errno> {
        match self.open_fd(fd)? {
            Open::Dir { path } => Ok(path),
            _ => Err(Errno::ENOTDIR),
        }
    }

    /// open(2) of a directory, the root of later *at calls (the host as caller: its lookup
    /// follows links, `namei`).
    pub(super) fn open_dir(&self, path: &CStr, flags: c_int) -> Result<c_int, Errno> {
        let flags = flags as u32;
        if flags & !OPEN_FLAGS != 0 || flags & O_ACCMODE != O_RDONLY {
            return Err(Errno::EINVAL);
        }
        let path = c_str(path)?.to_string();
        self.peek(|m| match m.namei(&path)?.meta.is_dir() {
            true => Ok(()),
            false => Err(Errno::ENOTDIR),
        })?;
        Ok(self.new_fd(Open::Dir { path }))
    }

    /// Where `path` leads from directory `dir`: beneath it with O_RESOLVE_BENEATH; otherwise a
    /// single component (all the backend passes without the flag; a longer path is refused).
    fn lookup(
        m: &Machine,
        dir: &str,
        path: &str,
        beneath: bool,
        follow_last: bool,
    ) -> Result<Beneath, Errno> {
        if !beneath && path.contains('/') {
            return Err(Errno::EINVAL);
        }
        m.resolve_beneath(dir, path, follow_last)
    }

    pub(super) fn openat_call(
        &self,
        dirfd: c_int,
        path: &CStr,
        flags: c_int,
        mode: u32,
    ) -> Result<c_int, Errno> {
        let dir = self.dir_of(dirfd)?;
        let path = c_str(path)?.to_string();
        let flags = flags as u32;
        if flags & !OPEN_FLAGS != 0 {
            return Err(Errno::EINVAL);
        }
        let beneath = flags & O_RESOLVE_BENEATH != 0;
        let follow = flags & O_NOFOLLOW == 0;
        if flags & O_CREAT != 0 {
            // The only creation the backend makes: a new file, never an existing one.
            if flags & O_EXCL == 0 || flags & O_DIRECTORY != 0 {
                return Err(Errno::EINVAL);
            }
            let file = self.call(Op::CreateBeneath, &(&dir, &path, flags, mode), |m| {
                let found = Self::lookup(m, &dir, &path, beneath, false)
                    .map_err(failed(Op::CreateBeneath))?;
                fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(mode & 0o7777)
                    .open(m.host_of(&found))
                    .map_err(|e| KernelError::errno(Op::CreateBeneath, host_errno(&e)))
            })?;
            return Ok(self.new_fd(Open::File {
                file: Arc::new(Mutex::new(file)),
            }));
        }
        if flags & O_DIRECTORY == 0 || flags & O_ACCMODE != O_RDONLY {
            return Err(Errno::EINVAL);
        }
        let target = self.peek(|m| {
            let found = Self::lookup(m, &dir, &path, beneath, follow)?;
            let meta = fs::symlink_metadata(m.host_of(&found)).map_err(|e| host_errno(&e))?;
            match meta.is_dir() {
                true => Ok(found.sim_path()),
                // O_NOFOLLOW on a final link: EMLINK (vn_open_vnode), else ENOTDIR.
                false if meta.file_type().is_symlink() => Err(Errno::EMLINK),
                false => Err(Errno::ENOTDIR),
            }
        })?;
        Ok(self.new_fd(Open::Dir {
            path: target.to_string_lossy().into_owned(),
        }))
    }

    pub(super) fn mkdirat_call(&self, dirfd: c_int, path: &CStr, mode: u32) -> Result<(), Errno> {
        let dir = self.dir_of(dirfd)?;
        let path = c_str(path)?.to_string();
        if path.contains('/') {
            return Err(Errno::EINVAL);
        }
        self.call(Op::CreateBeneath, &(&dir, &path, mode), |m| {
            m.create_beneath_rule(&dir, &path, FileType::Directory, mode)
                .map_err(failed(Op::CreateBeneath))
        })
    }

    pub(super) fn fstatat_call(
        &self,
        dirfd: c_int,
        path: &CStr,
        flags: c_int,
    ) -> Result<u32, Errno> {
        let dir = self.dir_of(dirfd)?;
        let path = c_str(path)?.to_string();
        let flags = flags as u32;
        if flags & !(AT_RESOLVE_BENEATH | AT_SYMLINK_NOFOLLOW) != 0 {
            return Err(Errno::EINVAL);
        }
        let beneath = flags & AT_RESOLVE_BENEATH != 0;
        let follow = flags & AT_SYMLINK_NOFOLLOW == 0;
        self.call(Op::StatBeneath, &(&dir, &path, flags), |m| {
            let found =
                Self::lookup(m, &dir, &path, beneath, follow).map_err(failed(Op::StatBeneath))?;
            let meta = fs::symlink_metadata(m.host_of(&found))
                .map_err(|e| KernelError::errno(Op::StatBeneath, host_errno(&e)))?;
            let kind = meta.file_type();
            let format = if kind.is_symlink() {
                S_IFLNK
            } else if kind.is_dir() {
                S_IFDIR
            } else if kind.is_file() {
                S_IFREG
            } else {
                S_IFSOCK
            };
            Ok(format | 0o755)
        })
    }

    pub(super) fn readlinkat_call(
        &self,
        dirfd: c_int,
        path: &CStr,
        buf: &mut [u8],
    ) -> Result<usize, Errno> {
        let dir = self.dir_of(dirfd)?;
        let path = c_str(path)?.to_string();
        if path.contains('/') {
            return Err(Errno::EINVAL);
        }
        let target = self.call(Op::ReadLinkBeneath, &(&dir, &path), |m| {
            m.read_link_beneath_rule(&dir, &path)
                .map_err(failed(Op::ReadLinkBeneath))
        })?;
        // readlink(2) truncates silently to the buffer (vn_readlink).
        let n = target.len().min(buf.len());
        buf[..n].copy_from_slice(&target.as_bytes()[..n]);
        Ok(n)
    }

    pub(super) fn renameat_call(
        &self,
        from_dir: c_int,
        from: &CStr,
        to_dir: c_int,
        to: &CStr,
    ) -> Result<(), Errno> {
        let (from_dir, to_dir) = (self.dir_of(from_dir)?, self.dir_of(to_dir)?);
        let (from, to) = (c_str(from)?.to_string(), c_str(to)?.to_string());
        if from.contains('/') || to.contains('/') {
            return Err(Errno::EINVAL);
        }
        self.call(Op::WriteBeneath, &(&from_dir, &from, &to_dir, &to), |m| {
            let host = |dir: &str, name: &str| m.host_path(&PathBuf::from(dir).join(name));
            let (source, target) = (host(&from_dir, &from), host(&to_dir, &to));
            let fail = |e: std::io::Error| KernelError::errno(Op::WriteBeneath, host_errno(&e));
            let source_meta = fs::symlink_metadata(&source).map_err(fail)?;
            // A non-directory over a directory: EISDIR (rename(2), `kern_renameat`).
            if !source_meta.is_dir() && fs::symlink_metadata(&target).is_ok_and(|t| t.is_dir()) {
                return Err(KernelError::errno(Op::WriteBeneath, Errno::EISDIR));
            }
            fs::rename(&source, &target).map_err(fail)
        })
    }

    pub(super) fn unlinkat_call(
        &self,
        dirfd: c_int,
        path: &CStr,
        flags: c_int,
    ) -> Result<(), Errno> {
        let dir = self.dir_of(dirfd)?;
        let path = c_str(path)?.to_string();
        if path.contains('/') || flags as u32 & !AT_REMOVEDIR != 0 {
            return Err(Errno::EINVAL);
        }
        self.peek(|m| {
            let host = m.host_path(&PathBuf::from(&dir).join(&path));
            let meta = fs::symlink_metadata(&host).map_err(|e| host_errno(&e))?;
            match (meta.is_dir(), flags as u32 & AT_REMOVEDIR != 0) {
                // unlink(2) of a directory: EPERM (kern_funlinkat).
                (true, false) => Err(Errno::EPERM),
                (true, true) => fs::remove_dir(&host).map_err(|e| host_errno(&e)),
                (false, true) => Err(Errno::ENOTDIR),
                (false, false) => fs::remove_file(&host).map_err(|e| host_errno(&e)),
            }
        })
    }

    pub(super) fn write_file(file: &Mutex<fs::File>, buf: &[u8]) -> Result<usize, Errno> {
        let mut file = file.lock().unwrap_or_else(|e| e.into_inner());
        file.write(buf).map_err(|e| host_errno(&e))
    }
}
