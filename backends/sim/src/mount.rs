//! Mounts: nmount(2), unmount(2) and getfsstat(2).
//!
//! Mounts are records only: nothing is mounted on the host. Mount points and nullfs sources are
//! checked against the host's real filesystem, seen through the simulated mount table (a path
//! below a nullfs mount is looked up in the nullfs source, as the kernel's lookup would cross
//! into the lower filesystem).
//!
//! Sources, read through the project's search index: [14] `sys/kern/vfs_mount.c`
//! (`vfs_donmount`, `vfs_domount`, `vfs_domount_first`, `kern_unmount`, `dounmount`,
//! `vfs_filteropt`, `global_opts`), `sys/kern/vfs_subr.c` (`vfs_byname_kld`),
//! `sys/fs/nullfs/null_vfsops.c` (`nullfs_mount`, the VFCF_FILEMOUNT copy),
//! `sys/fs/devfs/devfs_vfsops.c` (`devfs_mount`, `devfs_opts`).

use crate::fault::Op;
use crate::kernel::SimKernel;
use crate::machine::Machine;
use serde::{Deserialize, Serialize};
use std::fs::Metadata;
use std::io;
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
/// `MNT_LOCAL` (`sys/sys/mount.h`): the file system is stored locally.
pub const MNT_LOCAL: MountFlags = MountFlags(0x0000_1000);
/// `MNT_UPDATE`: change the options of an existing mount.
pub const MNT_UPDATE: MountFlags = MountFlags(0x0001_0000);
/// `MNT_BYFSID`: unmount(2) by "FSID:val0:val1" instead of by path.
pub const MNT_BYFSID: MountFlags = MountFlags(0x0800_0000);
/// The flags a mount keeps and getfsstat(2) reports (part of `MNT_VISFLAGMASK`).
const KEPT_FLAGS: u64 = MountFlags::RDONLY.0 | MountFlags::NOEXEC.0 | MountFlags::NOSUID.0;

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
    /// The mount list, in mount order (`mountlist`).
    pub mounts: Vec<Mount>,
    pub next_id: u64,
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
    local: bool,
}

const DEVFS_OPTS: &[&str] = &["from", "export", "ruleset"];
/// tmpfs_vfsops.c `tmpfs_opts` (UNCONFIRMED: the list as remembered for 14).
const TMPFS_OPTS: &[&str] = &[
    "from",
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
    "easize",
    "pgread",
];

const FS_TYPES: &[FsType] = &[
    FsType {
        name: "devfs",
        module: None,
        filemount: false,
        options: Some(DEVFS_OPTS),
        local: false,
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
        local: true,
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

/// The FreeBSD errno for a host I/O error. The sim runs on Linux, whose numbers agree with
/// FreeBSD's up to 34 except EAGAIN/EDEADLK; the few others namei(9) can give are mapped.
pub(crate) fn host_errno(error: &io::Error) -> Errno {
    match error.raw_os_error() {
        Some(11) => Errno::EAGAIN,
        Some(35) => Errno::EDEADLK,
        Some(36) => Errno::ENAMETOOLONG,
        Some(38) => Errno::ENOSYS,
        Some(39) => Errno::ENOTEMPTY,
        Some(40) => Errno::ELOOP,
        Some(n) if (1..=34).contains(&n) => Errno(n),
        _ => Errno::EIO,
    }
}

/// Whether `path` is `base` or lies below it (whole components).
pub(crate) fn is_under(path: &str, base: &str) -> bool {
    Path::new(path).starts_with(base)
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
    fn mount_holding(&self, path: &str) -> Option<&Mount> {
        self.mounts
            .mounts
            .iter()
            .enumerate()
            .filter(|(_, m)| is_under(path, &m.on))
            .max_by_key(|(ix, m)| (Path::new(&m.on).components().count(), *ix))
            .map(|(_, m)| m)
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
        // vfs_buildopts: names and values must be C strings, all of them within 64 KiB.
        let size: usize = options.iter().map(|(k, v)| k.len() + v.len() + 2).sum();
        if size > VFS_MOUNTARG_SIZE_MAX
            || options
                .iter()
                .any(|(k, v)| k.is_empty() || k.contains('\0') || v.contains('\0'))
        {
            return Err(fail(Errno::EINVAL));
        }
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

        if flags.contains(MNT_UPDATE) {
            return self.nmount_update(fspath, fstype, flags);
        }

        // vfs_byname_kld: a type not in the kernel is kldload(2)ed by its name. A name with no
        // module file fails as kldload does, ENOENT; ENODEV is only for a module that loads but
        // registers no such type (UNCONFIRMED which of the two a real unknown name gives; the
        // lookup of a missing file is ENOENT in linker_load_module).
        let Some(fs) = FS_TYPES.iter().find(|fs| fs.name == fstype) else {
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
        if fs.filemount {
            if !covered.meta.is_dir() && !is_file {
                return Err(fail(Errno::EINVAL));
            }
            if is_file && covered.meta.nlink() != 1 {
                return Err(fail(Errno::EINVAL));
            }
        } else if !covered.meta.is_dir() {
            return Err(fail(Errno::ENOTDIR));
        }

        // VFS_MOUNT of the type: option filter first (vfs_filteropt accepts "noX" for any X).
        if let Some(legal) = fs.options {
            let known = |name: &str| {
                let bare = name.strip_prefix("no");
                GLOBAL_OPTS
                    .iter()
                    .chain(legal.iter())
                    .any(|l| *l == name || Some(*l) == bare)
            };
            if let Some((name, _)) = options.iter().find(|(name, _)| !known(name)) {
                return Err(fail_msg(
                    Errno::EINVAL,
                    &format!("mount option <{name}> is unknown"),
                ));
            }
        }
        let mut lower = None;
        let mut lower_mount = None;
        let from = match fs.name {
            "devfs" => {
                if opt("export").is_some() {
                    return Err(fail(Errno::EOPNOTSUPP));
                }
                if let Some(ruleset) = opt("ruleset") {
                    // vfs_scanopt(…, "%d") then 0–65535; an unknown ruleset number is accepted
                    // (UNCONFIRMED: devfs creates it empty).
                    if !scan_int(ruleset).is_some_and(|n| (0..=65535).contains(&n)) {
                        return Err(fail_msg(Errno::EINVAL, "invalid ruleset specification"));
                    }
                }
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
                lower_mount = self.mount_holding(&source.global).map(|m| m.id);
                lower = Some(source.host.to_string_lossy().into_owned());
                target.to_string()
            }
            "tmpfs" => opt("from").unwrap_or("tmpfs").to_string(),
            // No pool or dataset exists on the simulated machine (UNCONFIRMED errno).
            "zfs" => return Err(fail(Errno::ENOENT)),
            other => other.to_string(),
        };

        // Every check passed: load the module if needed, then record the mount.
        if let Some(module) = fs.module {
            self.host.modules.insert(module.to_string());
        }
        let mut kept = flags.0 & KEPT_FLAGS;
        if fs.local {
            kept |= MNT_LOCAL.0;
        }
        let jail = self.jail_root_holding(&covered.global);
        let id = self.mounts.next_id;
        self.mounts.next_id += 1;
        self.mounts.mounts.push(Mount {
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
        Ok(())
    }

    /// MNT_UPDATE (vfs_domount_update): the path must be a mount point; nullfs accepts only an
    /// export update (EOPNOTSUPP otherwise); the kept flags are replaced.
    fn nmount_update(&mut self, fspath: &str, fstype: &str, flags: MountFlags) -> KResult<()> {
        let fail = |errno| KernelError::errno(Op::Nmount, errno);
        let found = self.namei(fspath).map_err(fail)?;
        let Some(ix) = self
            .mounts
            .mounts
            .iter()
            .rposition(|m| m.on == found.global)
        else {
            return Err(fail(Errno::EINVAL));
        };
        let mount = &mut self.mounts.mounts[ix];
        if mount.fstype != fstype {
            // The fstype given must be the mounted one (vfs_domount_update compares names,
            // UNCONFIRMED errno).
            return Err(fail(Errno::EINVAL));
        }
        if mount.fstype == "nullfs" {
            return Err(fail(Errno::EOPNOTSUPP));
        }
        mount.flags = MountFlags((mount.flags.0 & !KEPT_FLAGS) | (flags.0 & KEPT_FLAGS));
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
        let Some(ix) = self.mounts.mounts.iter().rposition(|m| m.on == name) else {
            return Err(fail(Errno::EINVAL));
        };
        let target = &self.mounts.mounts[ix];
        // A nullfs mount whose source lies on this one holds it (mnt_uppers): EBUSY, forced or
        // not (vfs.recursive_forced_unmount is 0 by default).
        if self
            .mounts
            .mounts
            .iter()
            .any(|m| m.lower_mount == Some(target.id))
        {
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
        self.mounts.mounts.remove(ix);
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
                flags: m.flags,
            })
            .collect()
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
            let mut words = vec![m.fstype.as_str()];
            for (flag, word) in [
                (MNT_LOCAL, "local"),
                (MountFlags::NOEXEC, "noexec"),
                (MountFlags::NOSUID, "nosuid"),
                (MountFlags::RDONLY, "read-only"),
            ] {
                if m.flags.contains(flag) {
                    words.push(word);
                }
            }
            out.push_str(&format!("{} on {} ({})\n", m.from, m.on, words.join(", ")));
        }
        out.push('\n');
    }

    pub(crate) fn check_mounts(&self, problems: &mut Vec<String>) {
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
