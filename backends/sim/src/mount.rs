//! Mounts: nmount(2), unmount(2) and getfsstat(2).
//!
//! Mounts are records only: nothing is mounted on the host. Mount points and nullfs sources are
//! checked against the host's real filesystem, seen through the simulated mount table (a path
//! below a nullfs mount is looked up in the nullfs source, as the kernel's lookup would cross
//! into the lower filesystem).
//!
//! Sources, read through the project's search index: [14] `sys/kern/vfs_mount.c`
//! (`vfs_donmount`, `vfs_domount`, `vfs_domount_first`, `vfs_domount_update`,
//! `vfs_mergeopts`, `kern_unmount`, `dounmount`, `vfs_filteropt`, `global_opts`),
//! `sys/kern/vfs_subr.c` (`vfs_byname_kld`); and of the main/15-era copy FACTS-kernel-runtime.md
//! calls [M] (fel1x-developer/freebsd-src 2d614aa): `sys/fs/nullfs/null_vfsops.c`
//! (`nullfs_mount`, `nullfs_statfs`), `sys/fs/devfs/devfs_vfsops.c` (`devfs_mount`,
//! `devfs_statfs`), `sys/fs/tmpfs/tmpfs_vfsops.c` (`tmpfs_mount`, `tmpfs_opts`,
//! `tmpfs_updateopts`), `sys/fs/fdescfs/fdesc_vfsops.c` (`fdesc_mount`, `fdesc_statfs`); and
//! `sys/fs/pseudofs/pseudofs.c` (`pfs_mount`, an older copy). FACTS-kernel-errno.md §7, §10.

use crate::fault::Op;
use crate::kernel::SimKernel;
use crate::machine::Machine;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fs::Metadata;
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};
use zelle_core::kernel::{
    Errno, Jid, KResult, KernelError, MountEntry, MountFlags, MountRequest, Mounts,
};

/// `MFSNAMELEN` (`sys/sys/mount.h`): the file system type name, NUL included.
pub const MFSNAMELEN: usize = 16;
/// `MNAMELEN` (`sys/sys/mount.h`): a mount point's path, NUL included.
pub const MNAMELEN: usize = 1024;
/// `MAXPATHLEN` (`sys/sys/param.h`): any path namei(9) takes, NUL included.
pub const MAXPATHLEN: usize = 1024;
/// `VFS_MOUNTARG_SIZE_MAX` (vfs_mount.c): the most option bytes one nmount(2) may carry.
const VFS_MOUNTARG_SIZE_MAX: usize = 64 * 1024;
/// `MNT_BYFSID`: unmount(2) by "FSID:val0:val1" instead of by path.
pub const MNT_BYFSID: MountFlags = MountFlags(0x0800_0000);
/// The flags a mount keeps and getfsstat(2) reports (part of `MNT_VISFLAGMASK`).
const KEPT_FLAGS: u64 = MountFlags::RDONLY.0 | MountFlags::NOEXEC.0 | MountFlags::NOSUID.0;
/// The kept flags an update replaces (part of `MNT_UPDATEMASK`). MNT_RDONLY is not in it:
/// vfs_domount_update only adds it; clearing it is the file system's own business.
const UPDATE_MASK: u64 = MountFlags::NOEXEC.0 | MountFlags::NOSUID.0;
/// `PAGE_SIZE` on amd64: tmpfs keeps its size limit rounded up to pages.
const PAGE_SIZE: u64 = 4096;

/// One mounted file system.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mount {
    /// Unique for the machine's life; nullfs mounts name the mount their source lies on by it.
    pub id: u64,
    pub fstype: String,
    /// `f_mntfromname`.
    pub from: String,
    /// `f_mntonname`: the mount point's global path.
    pub on: String,
    pub flags: MountFlags,
    pub options: Vec<(String, String)>,
    /// nullfs: the source as a resolved host path (the lower vnode).
    pub lower: Option<String>,
    /// nullfs: the mount the source lies on (`vfs_register_upper_from_vp`): that mount cannot
    /// be unmounted while this one exists.
    pub lower_mount: Option<u64>,
    /// The jail (in allprison when this was mounted) whose root held the mount point.
    pub jail: Option<Jid>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MountState {
    /// The mount list, in mount order (`mountlist`); ids rise along it.
    pub mounts: Vec<Mount>,
    pub next_id: u64,
    /// The ids of the mounts on each mount point: an index of `mounts`, so that finding the
    /// mount holding a path costs its depth, not the number of mounts.
    #[serde(default)]
    pub points: BTreeMap<String, BTreeSet<u64>>,
    /// How many nullfs mounts have their source on each mount (`mnt_uppers`), by id: an
    /// index of `mounts`.
    #[serde(default)]
    pub uppers: BTreeMap<u64, usize>,
}

impl MountState {
    fn push(&mut self, mount: Mount) {
        if let Some(lower) = mount.lower_mount {
            *self.uppers.entry(lower).or_default() += 1;
        }
        self.points
            .entry(mount.on.clone())
            .or_default()
            .insert(mount.id);
        self.mounts.push(mount);
    }

    fn remove(&mut self, ix: usize) -> Mount {
        let mount = self.mounts.remove(ix);
        if let Some(lower) = mount.lower_mount {
            if let Some(n) = self.uppers.get_mut(&lower) {
                *n -= 1;
                if *n == 0 {
                    self.uppers.remove(&lower);
                }
            }
        }
        if let Some(ids) = self.points.get_mut(&mount.on) {
            ids.remove(&mount.id);
            if ids.is_empty() {
                self.points.remove(&mount.on);
            }
        }
        mount
    }

    fn by_id(&self, id: u64) -> Option<&Mount> {
        let ix = self.mounts.binary_search_by_key(&id, |m| m.id).ok()?;
        self.mounts.get(ix)
    }

    /// The indexes as `mounts` says they should be.
    fn indexes_of_mounts(&self) -> (BTreeMap<String, BTreeSet<u64>>, BTreeMap<u64, usize>) {
        let mut points: BTreeMap<String, BTreeSet<u64>> = BTreeMap::new();
        let mut uppers: BTreeMap<u64, usize> = BTreeMap::new();
        for m in &self.mounts {
            points.entry(m.on.clone()).or_default().insert(m.id);
            if let Some(lower) = m.lower_mount {
                *uppers.entry(lower).or_default() += 1;
            }
        }
        (points, uppers)
    }
}

/// A file system type the machine knows (`vfsconf`), and what its mount routine accepts.
struct FsType {
    name: &'static str,
    /// The kernel module providing it; `None` when GENERIC has it compiled in (UNCONFIRMED for
    /// tmpfs and procfs: `options TMPFS`, `options PROCFS` in amd64 GENERIC as remembered).
    module: Option<&'static str>,
    /// `VFCF_FILEMOUNT`: a regular file may be mounted over a regular file.
    filemount: bool,
    /// The option names its mount routine allows through `vfs_filteropt`; `None` when it does
    /// not filter.
    options: Option<&'static [&'static str]>,
    /// Its mount routine sets MNT_LOCAL (tmpfs_mount, devfs_mount, pfs_mount; fdesc_mount
    /// leaves it off; nullfs_mount copies it from the lower vnode's mount instead).
    local: bool,
}

const DEVFS_OPTS: &[&str] = &["from", "export", "ruleset"];
/// tmpfs_vfsops.c `tmpfs_opts` [M] (FACTS-kernel-runtime.md §6).
const TMPFS_OPTS: &[&str] = &[
    "from",
    "easize",
    "size",
    "maxfilesize",
    "inodes",
    "uid",
    "gid",
    "mode",
    "export",
    "union",
    "nonc",
    "nomtime",
    "nosymfollow",
    "pgread",
];
/// tmpfs_vfsops.c `tmpfs_updateopts` [M]: all an update may carry.
const TMPFS_UPDATE_OPTS: &[&str] = &["from", "easize", "export", "nomtime", "size", "nosymfollow"];

const FS_TYPES: &[FsType] = &[
    FsType {
        name: "devfs",
        module: None,
        filemount: false,
        options: Some(DEVFS_OPTS),
        local: true,
    },
    FsType {
        name: "tmpfs",
        module: None,
        filemount: false,
        options: Some(TMPFS_OPTS),
        local: true,
    },
    FsType {
        name: "procfs",
        module: None,
        filemount: false,
        options: None,
        local: true,
    },
    FsType {
        name: "nullfs",
        module: Some("nullfs"),
        filemount: true,
        options: None,
        local: false,
    },
    FsType {
        name: "fdescfs",
        module: Some("fdescfs"),
        filemount: false,
        options: None,
        local: false,
    },
    FsType {
        name: "linprocfs",
        module: Some("linprocfs"),
        filemount: false,
        options: None,
        local: true,
    },
    FsType {
        name: "linsysfs",
        module: Some("linsysfs"),
        filemount: false,
        options: None,
        local: true,
    },
    FsType {
        name: "zfs",
        module: Some("zfs"),
        filemount: false,
        options: None,
        local: true,
    },
];

/// `global_opts` (vfs_mount.c): options every file system takes, and those vfs_donmount turns
/// into flags before the file system sees them.
const GLOBAL_OPTS: &[&str] = &["errmsg", "fstype", "fspath", "ro", "rw", "nosuid", "noexec"];

pub(crate) use crate::hostos::host_errno;

/// Whether `path` is `base` or lies below it (whole components).
pub(crate) fn is_under(path: &str, base: &str) -> bool {
    path.strip_prefix(base.trim_end_matches('/'))
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// `path` made absolute (against this process's working directory, as the kernel resolves a
/// relative path against the caller's) with `.` and `..` removed lexically.
fn lexical_absolute(path: &str) -> PathBuf {
    let mut out = if path.starts_with('/') {
        PathBuf::from("/")
    } else {
        std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"))
    };
    for component in Path::new(path).components() {
        match component {
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(part) => out.push(part),
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    out
}

/// What namei(9) found for a path.
pub(crate) struct Found {
    /// The global path the kernel records (`vn_path_to_global_path`).
    pub global: String,
    /// Where the object really is on the host.
    pub host: PathBuf,
    pub meta: Metadata,
}

impl Machine {
    /// The mount a path lies on: the deepest mount point above it, the latest of stacked ones.
    pub(crate) fn mount_holding(&self, path: &str) -> Option<&Mount> {
        // The deepest mount point on the way wins, and of the mounts on one point the last.
        let mut point = path.trim_end_matches('/');
        loop {
            let key = if point.is_empty() { "/" } else { point };
            if let Some(id) = self.mounts.points.get(key).and_then(|ids| ids.last()) {
                return self.mounts.by_id(*id);
            }
            if point.is_empty() {
                return None;
            }
            point = &point[..point.rfind('/')?];
        }
    }

    /// Where `path` (absolute, normalized) really is on the host: below a nullfs mount point
    /// the kernel's lookup continues in the nullfs source.
    pub(crate) fn host_path(&self, path: &Path) -> PathBuf {
        let mut path = path.to_path_buf();
        // A bounded number of hops: nullfs over nullfs is allowed, loops are not possible in
        // a real kernel but could be in recorded state.
        for _ in 0..16 {
            let text = path.to_string_lossy().into_owned();
            let Some(mount) = self.mount_holding(&text) else {
                break;
            };
            let Some(lower) = &mount.lower else { break };
            let rest = path.strip_prefix(&mount.on).unwrap_or(Path::new(""));
            // Joining nothing would add a trailing slash (fatal for a file mount).
            path = if rest.as_os_str().is_empty() {
                PathBuf::from(lower)
            } else {
                Path::new(lower).join(rest)
            };
        }
        path
    }

    /// namei(9) with FOLLOW, for the host as caller: ENOENT for "" or a missing path,
    /// ENAMETOOLONG for a path of MAXPATHLEN bytes or more, EINVAL for a value that is not a C
    /// string, and whatever the host's lookup says otherwise.
    pub(crate) fn namei(&self, path: &str) -> Result<Found, Errno> {
        if path.contains('\0') {
            return Err(Errno::EINVAL);
        }
        if path.len() + 1 > MAXPATHLEN {
            return Err(Errno::ENAMETOOLONG);
        }
        if path.is_empty() {
            return Err(Errno::ENOENT);
        }
        let lexical = lexical_absolute(path);
        if let Some(found) = self.devfs_lookup(&lexical)? {
            return Ok(found);
        }
        let host = self.host_path(&lexical);
        let meta = std::fs::metadata(&host).map_err(|e| host_errno(&e))?;
        let global = if host == lexical {
            // Nothing simulated on the way: the host resolves symbolic links as the kernel's
            // name cache would.
            std::fs::canonicalize(&host).unwrap_or(lexical)
        } else {
            lexical
        };
        Ok(Found {
            global: global.to_string_lossy().into_owned(),
            host,
            meta,
        })
    }

    /// A path below a devfs mount names one of its nodes, not a host file: a hidden or missing
    /// node is ENOENT (devfs_lookupx skips DE_WHITEOUT entries). The host's `/` and
    /// `/dev/null` stand in for the metadata of a directory and of a device; `host` is the
    /// path itself, which nothing on the host holds.
    fn devfs_lookup(&self, path: &Path) -> Result<Option<Found>, Errno> {
        let text = path.to_string_lossy();
        let Some(mount) = self.mount_holding(&text).filter(|m| m.fstype == "devfs") else {
            return Ok(None);
        };
        let Ok(rest) = path.strip_prefix(&mount.on) else {
            return Ok(None);
        };
        // The mount's root is a directory of devfs too.
        let kind = if rest.as_os_str().is_empty() {
            crate::devfs::NodeKind::Directory
        } else {
            self.devfs
                .mounts
                .get(&mount.id)
                .and_then(|d| d.nodes.get(rest.to_string_lossy().as_ref()))
                .filter(|n| !n.hidden)
                .ok_or(Errno::ENOENT)?
                .kind
        };
        let stand_in = match kind {
            crate::devfs::NodeKind::Directory => "/",
            _ => "/dev/null",
        };
        let meta = std::fs::metadata(stand_in).map_err(|e| host_errno(&e))?;
        Ok(Some(Found {
            global: text.into_owned(),
            host: path.to_path_buf(),
            meta,
        }))
    }

    /// nmount(2) (vfs_donmount → vfs_domount → vfs_domount_first → VFS_MOUNT).
    pub(crate) fn nmount_rule(&mut self, request: &MountRequest) -> KResult<()> {
        let fail = |errno| KernelError::errno(Op::Nmount, errno);
        let fail_msg = |errno, msg: &str| KernelError::with_message(Op::Nmount, errno, msg);

        // The options as the kernel receives them: fstype, fspath, from, then the rest.
        let mut options: Vec<(&str, &str)> = vec![
            ("fstype", request.fstype.as_str()),
            ("fspath", request.fspath.as_str()),
        ];
        if let Some(from) = &request.from {
            options.push(("from", from));
        }
        options.extend(
            request
                .options
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str())),
        );
        // nullfs also gets "target", as the real backend sends it (mount_nullfs(8) does too).
        if let (Some(from), "nullfs") = (&request.from, request.fstype.as_str()) {
            if !options.iter().any(|(k, _)| *k == "target") {
                options.push(("target", from));
            }
        }
        // vfs_buildopts: names and values must be C strings, all of them within 64 KiB.
        let size: usize = options.iter().map(|(k, v)| k.len() + v.len() + 2).sum();
        if size > VFS_MOUNTARG_SIZE_MAX
            || options
                .iter()
                .any(|(k, v)| k.is_empty() || k.contains('\0') || v.contains('\0'))
        {
            return Err(fail(Errno::EINVAL));
        }
        // vfs_donmount turns "update" into MNT_UPDATE and does not pass it on.
        let update = options.iter().any(|(k, _)| *k == "update");
        options.retain(|(k, _)| *k != "update");
        // vfs_sanitizeopts keeps the last of repeated options.
        let opt = |name: &str| {
            options
                .iter()
                .rev()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| *v)
        };
        let fstype = opt("fstype").unwrap_or_default();
        let fspath = opt("fspath").unwrap_or_default();

        // vfs_donmount: the flag options, then the name lengths.
        let mut flags = request.flags;
        if update {
            flags.0 |= MountFlags::UPDATE.0;
        }
        for (name, _) in &options {
            match *name {
                "ro" | "rdonly" | "norw" => flags.0 |= MountFlags::RDONLY.0,
                "rw" | "noro" => flags.0 &= !MountFlags::RDONLY.0,
                "noexec" => flags.0 |= MountFlags::NOEXEC.0,
                "exec" => flags.0 &= !MountFlags::NOEXEC.0,
                "nosuid" => flags.0 |= MountFlags::NOSUID.0,
                "suid" => flags.0 &= !MountFlags::NOSUID.0,
                _ => {}
            }
        }
        if fstype.len() + 1 > MFSNAMELEN || fspath.len() + 1 > MNAMELEN {
            return Err(fail(Errno::ENAMETOOLONG));
        }

        if flags.contains(MountFlags::UPDATE) {
            return self.nmount_update(fspath, &options, flags);
        }

        // vfs_byname_kld: a type not in the kernel is kldload(2)ed by its name. A name with no
        // module file fails as kldload does, ENOENT (linker_load_module). A module that is
        // loaded already (kldload: EEXIST, taken as success) but registers no such type is
        // ENODEV, which vfs_donmount turns into EINVAL "Invalid fstype" (FACTS-kernel-errno.md
        // §7). The machine knows no module files beyond the loaded ones and the types below.
        let Some(fs) = FS_TYPES.iter().find(|fs| fs.name == fstype) else {
            if self.host.has_module(fstype) {
                return Err(fail_msg(Errno::EINVAL, "Invalid fstype"));
            }
            return Err(fail(Errno::ENOENT));
        };

        // vfs_domount: the vnode to cover.
        let covered = self.namei(fspath).map_err(fail)?;
        let is_file = covered.meta.is_file();
        // File mounts are never stacked (MNT_NOCOVER): covering a mount root is EBUSY.
        if is_file && self.mounts.mounts.iter().any(|m| m.on == covered.global) {
            return Err(fail(Errno::EBUSY));
        }
        // vfs_domount_first: the covered vnode's type.
        if fs.filemount && self.release().nullfs_file_mounts() {
            if !covered.meta.is_dir() && !is_file {
                return Err(fail(Errno::EINVAL));
            }
            if is_file && covered.meta.nlink() != 1 {
                return Err(fail(Errno::EINVAL));
            }
        } else if !covered.meta.is_dir() {
            return Err(fail(Errno::ENOTDIR));
        }

        // VFS_MOUNT of the type: option filter first.
        if let Some(legal) = fs.options {
            filter_options(&options, legal).map_err(|msg| fail_msg(Errno::EINVAL, &msg))?;
        }
        let mut lower = None;
        let mut lower_mount = None;
        let mut local = fs.local;
        let from = match fs.name {
            "devfs" => {
                devfs_values(&options)?;
                "devfs".to_string()
            }
            "nullfs" => {
                // nullfs_mount: "from", else "target"; then the lower vnode's lookup and type.
                let Some(target) = opt("from").or_else(|| opt("target")) else {
                    return Err(fail(Errno::EINVAL));
                };
                let source = self.namei(target).map_err(fail)?;
                let same_type = (source.meta.is_dir() && covered.meta.is_dir())
                    || (source.meta.is_file() && is_file);
                // A unix socket, FIFO or device (or a file over a directory) is refused.
                if !same_type {
                    return Err(fail(Errno::EINVAL));
                }
                // Mounting a nullfs over the very vnode it exposes: "multi null mount?".
                if let Some(holder) = self.mount_holding(&covered.global) {
                    if let Some(holder_lower) = &holder.lower {
                        let rest = Path::new(&covered.global)
                            .strip_prefix(&holder.on)
                            .unwrap_or(Path::new(""));
                        if Path::new(holder_lower).join(rest) == source.host {
                            return Err(fail(Errno::EDEADLK));
                        }
                    }
                }
                // MNT_LOCAL only if the lower vnode's mount has it; a source on no simulated
                // mount lies on the host's root file system, which is local (UFS or ZFS).
                let holder = self.mount_holding(&source.global);
                local = holder.is_none_or(|m| m.flags.contains(MountFlags::LOCAL));
                lower_mount = holder.map(|m| m.id);
                lower = Some(source.host.to_string_lossy().into_owned());
                // vfs_mountedfrom(mp, target): the string as given, not the path it resolved to.
                target.to_string()
            }
            // tmpfs_mount: vfs_mountedfrom(mp, "tmpfs"), whatever "from" said.
            "tmpfs" => "tmpfs".to_string(),
            // zfs_mount: "from" names the dataset (EINVAL without one); zfs_domount fails
            // ENOENT for a dataset that does not exist; vfs_mountedfrom(vfsp, osname).
            "zfs" => {
                let Some(dataset) = opt("from") else {
                    return Err(fail(Errno::EINVAL));
                };
                if !self.config.zfs_datasets.iter().any(|d| d == dataset) {
                    return Err(fail(Errno::ENOENT));
                }
                dataset.to_string()
            }
            other => other.to_string(),
        };

        // Every check passed: load the module if needed, then record the mount.
        if let Some(module) = fs.module {
            self.load_module(module);
        }
        let mut kept = flags.0 & KEPT_FLAGS;
        if local {
            kept |= MountFlags::LOCAL.0;
        }
        let jail = self.jail_root_holding(&covered.global);
        let id = self.mounts.next_id;
        self.mounts.next_id += 1;
        self.mounts.push(Mount {
            id,
            fstype: fs.name.to_string(),
            from,
            on: covered.global,
            flags: MountFlags(kept),
            options: request.options.clone(),
            lower,
            lower_mount,
            jail,
        });
        if fs.name == "devfs" {
            // devfs_mount populates the new mount's nodes at once.
            self.devfs_populate(id, crate::devfs::mount_ruleset(&request.options));
        }
        Ok(())
    }

    /// MNT_UPDATE (vfs_domount → vfs_domount_update). No type is looked up and the fstype given
    /// is not compared with the mounted one: the path must be the root of a mount (EINVAL
    /// otherwise) and that mount's own mount routine decides, seeing the options it was mounted
    /// with merged with the new ones (vfs_mergeopts). On its refusal nothing changes. On
    /// success an "export" option must carry a `struct export_args`; the contract's options are
    /// strings, so that is EINVAL — after the update took effect, as the kernel has it.
    fn nmount_update(
        &mut self,
        fspath: &str,
        new: &[(&str, &str)],
        flags: MountFlags,
    ) -> KResult<()> {
        let fail = |errno| KernelError::errno(Op::Nmount, errno);
        let found = self.namei(fspath).map_err(fail)?;
        // The newest mount on the path is the one namei crosses into (VV_ROOT).
        let Some(ix) = self
            .mounts
            .mounts
            .iter()
            .rposition(|m| m.on == found.global)
        else {
            return Err(fail(Errno::EINVAL));
        };
        let mount = &self.mounts.mounts[ix];
        let mut merged: Vec<(&str, &str)> = mount
            .options
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        for &(name, value) in new {
            merged.retain(|(old, _)| !same_option(old, name));
            merged.push((name, value));
        }
        let has = |name: &str| merged.iter().any(|(k, _)| *k == name);
        let was_rdonly = mount.flags.contains(MountFlags::RDONLY);
        let mut next =
            (mount.flags.0 & !UPDATE_MASK) | (flags.0 & (UPDATE_MASK | MountFlags::RDONLY.0));
        match mount.fstype.as_str() {
            // pfs_mount, fdesc_mount: an update is EOPNOTSUPP.
            "procfs" | "linprocfs" | "linsysfs" | "fdescfs" => return Err(fail(Errno::EOPNOTSUPP)),
            // nullfs_mount: only an NFS export update.
            "nullfs" if !has("export") => return Err(fail(Errno::EOPNOTSUPP)),
            "nullfs" => {}
            // devfs_mount: the first mount's checks, then (a ruleset aside) nothing to do.
            "devfs" => {
                filter_options(&merged, DEVFS_OPTS)
                    .map_err(|msg| KernelError::with_message(Op::Nmount, Errno::EINVAL, &msg))?;
                devfs_values(&merged)?;
            }
            "tmpfs" => {
                let refuse =
                    |errno, msg: String| KernelError::with_message(Op::Nmount, errno, &msg);
                filter_options(&merged, TMPFS_OPTS).map_err(|m| refuse(Errno::EINVAL, m))?;
                filter_options(&merged, TMPFS_UPDATE_OPTS)
                    .map_err(|m| refuse(Errno::EOPNOTSUPP, m))?;
                // No resizing: a size that parses must be the one kept at the first mount.
                let kept = mount
                    .options
                    .iter()
                    .rfind(|(k, _)| k == "size")
                    .and_then(|(_, v)| option_size(v))
                    .map_or(0, tmpfs_kept_size);
                let asked = merged
                    .iter()
                    .rfind(|(k, _)| *k == "size")
                    .and_then(|(_, v)| option_size(v));
                if asked.is_some_and(|size| size != kept) {
                    return Err(fail(Errno::EOPNOTSUPP));
                }
                // RW → RO and RO → RW follow the "ro" option, not the flag.
                if has("ro") {
                    next |= MountFlags::RDONLY.0;
                } else if was_rdonly {
                    next &= !MountFlags::RDONLY.0;
                }
            }
            // zfs_mount of an update re-reads its properties; the flags change as above
            // (UNCONFIRMED beyond the flags: no zfs property is modelled).
            "zfs" => {}
            _ => return Err(fail(Errno::EOPNOTSUPP)),
        }
        let options = merged
            .iter()
            .filter(|(k, _)| !matches!(*k, "fstype" | "fspath" | "from" | "errmsg"))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let export = has("export");
        let mount = &mut self.mounts.mounts[ix];
        mount.flags = MountFlags(next);
        mount.options = options;
        if export {
            return Err(fail(Errno::EINVAL));
        }
        Ok(())
    }

    /// unmount(2) (kern_unmount, dounmount).
    pub(crate) fn unmount_rule(&mut self, path: &str, flags: MountFlags) -> KResult<()> {
        let fail = |errno| KernelError::errno(Op::Unmount, errno);
        if path.contains('\0') {
            return Err(fail(Errno::EINVAL));
        }
        if path.len() + 1 > MNAMELEN {
            return Err(fail(Errno::ENAMETOOLONG));
        }
        if flags.contains(MNT_BYFSID) {
            // "FSID:%d:%d"; the machine hands out no file system ids, so a well-formed one
            // names nothing (ENOENT, as for an unknown fsid).
            let well_formed = path.strip_prefix("FSID:").is_some_and(|rest| {
                let mut parts = rest.splitn(2, ':');
                parts.next().and_then(scan_int).is_some()
                    && parts.next().and_then(scan_int).is_some()
            });
            return Err(fail(if well_formed {
                Errno::ENOENT
            } else {
                Errno::EINVAL
            }));
        }
        // The global path when the lookup works, else the string as given; then the newest
        // mount with that mount point. Anything else is EINVAL ("we cannot tell these apart").
        let name = self
            .namei(path)
            .map(|found| found.global)
            .unwrap_or_else(|_| path.to_string());
        let newest = self.mounts.points.get(&name).and_then(|ids| ids.last());
        let Some(ix) =
            newest.and_then(|id| self.mounts.mounts.binary_search_by_key(id, |m| m.id).ok())
        else {
            return Err(fail(Errno::EINVAL));
        };
        let target = &self.mounts.mounts[ix];
        // A nullfs mount whose source lies on this one holds it (mnt_uppers): EBUSY, forced or
        // not (vfs.recursive_forced_unmount is 0 by default).
        if self.mounts.uppers.contains_key(&target.id) {
            return Err(fail(Errno::EBUSY));
        }
        // Mounts made later below this one keep vnodes of it busy: EBUSY unless forced
        // (UNCONFIRMED: vflush with FORCECLOSE; the mounts below stay recorded).
        let covered_below = self.mounts.mounts[ix + 1..]
            .iter()
            .any(|m| m.on != target.on && is_under(&m.on, &target.on));
        if covered_below && !flags.contains(MountFlags::FORCE) {
            return Err(fail(Errno::EBUSY));
        }
        let gone = self.mounts.remove(ix);
        if gone.fstype == "devfs" {
            self.devfs_unmounted(gone.id);
        }
        Ok(())
    }

    /// getfsstat(2), in mount order.
    pub(crate) fn list_mounts_rule(&self) -> Vec<MountEntry> {
        self.mounts
            .mounts
            .iter()
            .map(|m| MountEntry {
                fstype: m.fstype.clone(),
                from: m.from.clone(),
                on: m.on.clone(),
                flags: self.statfs_flags(m),
            })
            .collect()
    }

    /// The `f_flags` a mount's statfs gives: __vfs_statfs starts from its flags, then the file
    /// system's own routine may change them. devfs_statfs and fdesc_statfs keep only
    /// MNT_IGNORE (never set here); nullfs_statfs keeps its own RDONLY, NOEXEC and NOSUID and
    /// adds the lower file system's flags (a source on no simulated mount is on the host's
    /// root file system, which reports MNT_LOCAL; its other flags are not modelled).
    fn statfs_flags(&self, m: &Mount) -> MountFlags {
        match m.fstype.as_str() {
            "devfs" | "fdescfs" => MountFlags::default(),
            "nullfs" => {
                let lower = match m
                    .lower_mount
                    .and_then(|id| self.mounts.mounts.iter().find(|o| o.id == id))
                {
                    Some(lower) => self.statfs_flags(lower),
                    None => MountFlags::LOCAL,
                };
                MountFlags((m.flags.0 & KEPT_FLAGS) | lower.0)
            }
            _ => m.flags,
        }
    }

    /// Mounts that were made inside a jail's root and outlived the jail: what zelle must never
    /// leave behind. The kernel allows it, so this is a report for tests, not an invariant.
    pub fn leaked_mounts(&self) -> Vec<String> {
        self.mounts
            .mounts
            .iter()
            .filter_map(|m| {
                let jid = m.jail?;
                (!self.jails.jails.contains_key(&jid))
                    .then(|| format!("{} on {} outlived jail {jid}", m.fstype, m.on))
            })
            .collect()
    }

    pub(crate) fn dump_mounts(&self, out: &mut String) {
        out.push_str("# mount\n");
        for m in &self.mounts.mounts {
            let flags = self.statfs_flags(m);
            let mut words = vec![m.fstype.as_str()];
            for (flag, word) in [
                (MountFlags::LOCAL, "local"),
                (MountFlags::NOEXEC, "noexec"),
                (MountFlags::NOSUID, "nosuid"),
                (MountFlags::RDONLY, "read-only"),
            ] {
                if flags.contains(flag) {
                    words.push(word);
                }
            }
            out.push_str(&format!("{} on {} ({})\n", m.from, m.on, words.join(", ")));
        }
        out.push('\n');
    }

    pub(crate) fn check_mounts(&self, problems: &mut Vec<String>) {
        if (self.mounts.points.clone(), self.mounts.uppers.clone())
            != self.mounts.indexes_of_mounts()
        {
            problems.push("mount indexes: out of step with the mount list".into());
        }
        let mut ids = std::collections::BTreeSet::new();
        for m in &self.mounts.mounts {
            if !ids.insert(m.id) || m.id >= self.mounts.next_id {
                problems.push(format!("mount {} on {}: id not unique", m.id, m.on));
            }
            if !m.on.starts_with('/') {
                problems.push(format!("mount on {:?}: not a global path", m.on));
            }
            if !FS_TYPES.iter().any(|fs| fs.name == m.fstype) {
                problems.push(format!("mount on {}: unknown type {}", m.on, m.fstype));
            }
            if let Some(lower) = m.lower_mount {
                // A mount another one's source lies on cannot go first.
                let before = self.mounts.mounts.iter().take_while(|o| o.id != m.id);
                if !before.clone().any(|o| o.id == lower) {
                    problems.push(format!(
                        "nullfs on {}: its source's mount {lower} is gone",
                        m.on
                    ));
                }
            }
        }
    }
}

/// What sscanf(value, "%d") reads: optional blanks and sign, then digits (rest ignored).
fn scan_int(value: &str) -> Option<i64> {
    let s = value.trim_start();
    let (negative, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let end = digits
        .bytes()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(digits.len());
    if end == 0 {
        return None;
    }
    // Out of int range is not a valid ruleset either way.
    let n: i64 = digits[..end]
        .parse()
        .ok()
        .filter(|n| *n <= i64::from(i32::MAX))?;
    Some(if negative { -n } else { n })
}

/// vfs_filteropt: every option must be a global one or in `legal`, either with a "no" prefix
/// or without; else the text it leaves in errmsg, naming the last unknown one.
fn filter_options(options: &[(&str, &str)], legal: &[&str]) -> Result<(), String> {
    let known = |name: &str| {
        let bare = name.strip_prefix("no");
        GLOBAL_OPTS
            .iter()
            .chain(legal.iter())
            .any(|l| *l == name || Some(*l) == bare)
    };
    match options.iter().rev().find(|(name, _)| !known(name)) {
        Some((name, _)) => Err(format!("mount option <{name}> is unknown")),
        None => Ok(()),
    }
}

/// devfs_mount's checks of the option values: "export" is EOPNOTSUPP; a ruleset is read with
/// vfs_scanopt(…, "%d") and must be 0–65535 (EINVAL). An unknown ruleset number is accepted
/// (UNCONFIRMED: devfs creates it empty).
fn devfs_values(options: &[(&str, &str)]) -> KResult<()> {
    let opt = |name: &str| {
        options
            .iter()
            .rev()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| *v)
    };
    if opt("export").is_some() {
        return Err(KernelError::errno(Op::Nmount, Errno::EOPNOTSUPP));
    }
    if let Some(ruleset) = opt("ruleset") {
        if !scan_int(ruleset).is_some_and(|n| (0..=65535).contains(&n)) {
            return Err(KernelError::with_message(
                Op::Nmount,
                Errno::EINVAL,
                "invalid ruleset specification",
            ));
        }
    }
    Ok(())
}

/// vfs_equalopts: the same option, "no"-prefixed or not; ro, rdonly, norw, rw and noro are all
/// one. vfs_mergeopts keeps only the newest of equal options.
fn same_option(a: &str, b: &str) -> bool {
    let rw = |o: &str| matches!(o, "ro" | "rdonly" | "norw" | "rw" | "noro");
    a == b || a.strip_prefix("no") == Some(b) || b.strip_prefix("no") == Some(a) || (rw(a) && rw(b))
}

/// vfs_getopt_size: a number as strtoq(…, 0) reads it (decimal, 0x hex, 0 octal) with at most
/// one suffix k, m, g or t (either case); anything else does not parse.
fn option_size(value: &str) -> Option<u64> {
    let (radix, digits) = match value
        .strip_prefix("0x")
        .or_else(|| value.strip_prefix("0X"))
    {
        Some(hex) => (16, hex),
        None if value.len() > 1 && value.starts_with('0') => (8, &value[1..]),
        None => (10, value),
    };
    let end = digits
        .find(|c: char| !c.is_digit(radix))
        .unwrap_or(digits.len());
    let n = u64::from_str_radix(&digits[..end], radix).ok()?;
    let shift = match &digits[end..] {
        "" => 0,
        "k" | "K" => 10,
        "m" | "M" => 20,
        "g" | "G" => 30,
        "t" | "T" => 40,
        _ => return None,
    };
    n.checked_mul(1 << shift)
}

/// The size limit tmpfs_mount keeps (`tm_size_max`): rounded up to whole pages, but 0 (no
/// limit) and sizes near OFF_MAX as given.
fn tmpfs_kept_size(size: u64) -> u64 {
    if size == 0 || size > i64::MAX as u64 - PAGE_SIZE {
        size
    } else {
        size.div_ceil(PAGE_SIZE) * PAGE_SIZE
    }
}

impl Mounts for SimKernel {
    fn nmount(&self, request: &MountRequest) -> KResult<()> {
        self.call(Op::Nmount, request, |m| m.nmount_rule(request))
    }

    fn unmount(&self, path: &str, flags: MountFlags) -> KResult<()> {
        self.call(Op::Unmount, &(path, flags), |m| m.unmount_rule(path, flags))
    }

    fn list_mounts(&self) -> KResult<Vec<MountEntry>> {
        self.call(Op::ListMounts, &(), |m| Ok(m.list_mounts_rule()))
    }
}
