//! Files beneath a root, as openat(2) and its relatives resolve a path with
//! `O_RESOLVE_BENEATH` / `AT_RESOLVE_BENEATH` (FreeBSD 13 and later; FACTS-kernel-runtime §4,
//! read from `sys/kern/vfs_lookup.c` of the 14 era, UNCONFIRMED for other releases).
//!
//! The files are the host's own (jail roots and rootfs directories are real directories in
//! tests); the lookup is the simulated kernel's: it walks the simulated namespace component by
//! component, crossing simulated nullfs mounts (`MountState::host_path`), and applies the
//! kernel's rules rather than the host's:
//! - an absolute path → ENOTCAPABLE (`namei_setup`);
//! - an absolute symbolic link anywhere → ENOTCAPABLE (`namei_handle_root`);
//! - `..` above the start directory → ENOTCAPABLE (`nameicap_check_dotdot`: a `..` may only
//!   return to a directory already walked in this lookup);
//! - more than MAXSYMLINKS (32, `sys/sys/param.h`) links on the way → ELOOP (`namei`);
//! - an empty path → ENOENT; a component under a non-directory → ENOTDIR.
//!
//! The final component is never followed (the contract's operations all act on the link
//! itself), so what the host does with links plays no part.

use crate::fault::Op;
use crate::kernel::SimKernel;
use crate::machine::{failed, Machine};
use crate::mount::host_errno;
use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::PathBuf;
use zelle_core::kernel::files::temporary_beside;
use zelle_core::kernel::{Errno, FileType, Files, KResult};

/// `MAXSYMLINKS` (`sys/sys/param.h`).
const MAXSYMLINKS: usize = 32;

/// A path resolved beneath a root: the simulated path of its parent directory and its last
/// component (the parent exists and is a directory; the last component need not exist).
#[derive(Debug)]
pub(crate) struct Beneath {
    parent: PathBuf,
    name: String,
}

impl Beneath {
    /// The simulated path the lookup ends at ("." names the parent itself).
    pub(crate) fn sim_path(&self) -> PathBuf {
        match self.name.as_str() {
            "." => self.parent.clone(),
            name => self.parent.join(name),
        }
    }

    pub(crate) fn is_dot(&self) -> bool {
        self.name == "."
    }
}

impl Machine {
    /// Resolve `path` beneath `root` up to its last component, which is followed only when
    /// `follow_last` is set (an open without O_NOFOLLOW).
    pub(crate) fn resolve_beneath(
        &self,
        root: &str,
        path: &str,
        follow_last: bool,
    ) -> Result<Beneath, Errno> {
        if root.contains('\0') || path.contains('\0') {
            return Err(Errno::EINVAL);
        }
        if path.is_empty() {
            return Err(Errno::ENOENT);
        }
        if path.starts_with('/') {
            return Err(Errno::ENOTCAPABLE);
        }
        let start = self.namei(root)?;
        if !start.meta.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        // The directories walked so far, the start first: `..` pops, and may not pop the start.
        let mut walked = vec![PathBuf::from(root)];
        let mut pending: Vec<String> = components(path);
        let mut links = 0;
        while let Some(component) = pending.first().cloned() {
            pending.remove(0);
            let last = pending.is_empty();
            match component.as_str() {
                "." => {
                    if last {
                        return Ok(Beneath {
                            parent: walked.last().cloned().unwrap_or_default(),
                            name: ".".into(),
                        });
                    }
                    continue;
                }
                ".." => {
                    if walked.len() == 1 {
                        return Err(Errno::ENOTCAPABLE);
                    }
                    walked.pop();
                    if last {
                        return Ok(Beneath {
                            parent: walked.last().cloned().unwrap_or_default(),
                            name: ".".into(),
                        });
                    }
                    continue;
                }
                _ => {}
            }
            let dir = walked.last().cloned().unwrap_or_default();
            let next = dir.join(&component);
            let meta = fs::symlink_metadata(self.host_path(&next));
            let is_link = meta.as_ref().is_ok_and(|m| m.file_type().is_symlink());
            if last && !(follow_last && is_link) {
                return Ok(Beneath {
                    parent: dir,
                    name: component,
                });
            }
            let meta = meta.map_err(|e| host_errno(&e))?;
            if is_link {
                links += 1;
                if links > MAXSYMLINKS {
                    return Err(Errno::ELOOP);
                }
                let target = fs::read_link(self.host_path(&next)).map_err(|e| host_errno(&e))?;
                let target = target.to_string_lossy().into_owned();
                if target.starts_with('/') {
                    return Err(Errno::ENOTCAPABLE);
                }
                let mut spliced = components(&target);
                spliced.append(&mut pending);
                pending = spliced;
                continue;
            }
            if !meta.is_dir() {
                return Err(Errno::ENOTDIR);
            }
            walked.push(next);
        }
        unreachable!("a non-empty path has a last component")
    }

    pub(crate) fn host_of(&self, beneath: &Beneath) -> PathBuf {
        self.host_path(&beneath.sim_path())
    }

    /// fstatat(2) with AT_RESOLVE_BENEATH | AT_SYMLINK_NOFOLLOW.
    pub(crate) fn stat_beneath_rule(&self, root: &str, path: &str) -> Result<FileType, Errno> {
        let found = self.resolve_beneath(root, path, false)?;
        let meta = fs::symlink_metadata(self.host_of(&found)).map_err(|e| host_errno(&e))?;
        let kind = meta.file_type();
        Ok(if kind.is_symlink() {
            FileType::Symlink
        } else if kind.is_dir() {
            FileType::Directory
        } else if kind.is_file() {
            FileType::Regular
        } else {
            FileType::Other
        })
    }

    /// readlinkat(2): EINVAL for anything but a link (`kern_readlinkat`, `vn_readlink`).
    pub(crate) fn read_link_beneath_rule(&self, root: &str, path: &str) -> Result<String, Errno> {
        let found = self.resolve_beneath(root, path, false)?;
        let host = self.host_of(&found);
        let meta = fs::symlink_metadata(&host).map_err(|e| host_errno(&e))?;
        if !meta.file_type().is_symlink() {
            return Err(Errno::EINVAL);
        }
        let target = fs::read_link(&host).map_err(|e| host_errno(&e))?;
        Ok(target.to_string_lossy().into_owned())
    }

    /// mkdirat(2) (EEXIST for any existing name, a link included: `kern_mkdirat`), or
    /// openat(2) with O_CREAT | O_EXCL (EEXIST likewise: `vn_open_cred`).
    pub(crate) fn create_beneath_rule(
        &self,
        root: &str,
        path: &str,
        kind: FileType,
        mode: u32,
    ) -> Result<(), Errno> {
        let found = self.resolve_beneath(root, path, false)?;
        if found.is_dot() {
            return Err(Errno::EEXIST);
        }
        let host = self.host_of(&found);
        match kind {
            FileType::Directory => fs::DirBuilder::new()
                .mode(mode & 0o777)
                .create(&host)
                .map_err(|e| host_errno(&e)),
            FileType::Regular => fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(mode & 0o7777)
                .open(&host)
                .map(drop)
                .map_err(|e| host_errno(&e)),
            // mknod/mkfifo are not part of the contract.
            FileType::Symlink | FileType::Other => Err(Errno::EINVAL),
        }
    }

    /// openat(2) O_CREAT | O_EXCL of the temporary name beside `path`, write(2), renameat(2)
    /// over `path` (which replaces a link or file there; a directory there → EISDIR, from
    /// `kern_renameat` via `VOP_RENAME`'s checks, as rename(2) documents).
    pub(crate) fn write_beneath_rule(
        &self,
        root: &str,
        path: &str,
        contents: &[u8],
        mode: u32,
    ) -> Result<(), Errno> {
        let found = self.resolve_beneath(root, path, false)?;
        if found.is_dot() {
            return Err(Errno::EISDIR);
        }
        let target = self.host_of(&found);
        if fs::symlink_metadata(&target).is_ok_and(|m| m.is_dir()) {
            return Err(Errno::EISDIR);
        }
        let temporary = self.host_of(&Beneath {
            parent: found.parent.clone(),
            name: temporary_beside(&found.name),
        });
        // A leftover of an earlier crash is ours to replace.
        let _ = fs::remove_file(&temporary);
        let written = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode & 0o7777)
            .open(&temporary)
            .and_then(|mut file| file.write_all(contents))
            .and_then(|()| fs::rename(&temporary, &target));
        written.map_err(|e| {
            let _ = fs::remove_file(&temporary);
            host_errno(&e)
        })
    }
}

/// The components of a relative path; empty ones (doubled or trailing slashes) are dropped, as
/// namei skips them.
fn components(path: &str) -> Vec<String> {
    path.split('/')
        .filter(|c| !c.is_empty())
        .map(str::to_string)
        .collect()
}

impl Files for SimKernel {
    fn stat_beneath(&self, root: &str, path: &str) -> KResult<FileType> {
        self.call(Op::StatBeneath, &(root, path), |m| {
            m.stat_beneath_rule(root, path)
                .map_err(failed(Op::StatBeneath))
        })
    }

    fn read_link_beneath(&self, root: &str, path: &str) -> KResult<String> {
        self.call(Op::ReadLinkBeneath, &(root, path), |m| {
            m.read_link_beneath_rule(root, path)
                .map_err(failed(Op::ReadLinkBeneath))
        })
    }

    fn create_beneath(&self, root: &str, path: &str, kind: FileType, mode: u32) -> KResult<()> {
        self.call(Op::CreateBeneath, &(root, path, kind, mode), |m| {
            m.create_beneath_rule(root, path, kind, mode)
                .map_err(failed(Op::CreateBeneath))
        })
    }

    fn write_beneath(&self, root: &str, path: &str, contents: &[u8], mode: u32) -> KResult<()> {
        let args = (root, path, contents.len(), mode);
        self.call(Op::WriteBeneath, &args, |m| {
            m.write_beneath_rule(root, path, contents, mode)
                .map_err(failed(Op::WriteBeneath))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::components;

    #[test]
    fn empty_components_are_skipped() {
        assert_eq!(components("a//b/"), ["a", "b"]);
        assert!(components("").is_empty());
    }
}
