//! `mounts`: each entry checked and turned into the FreeBSD mount that does its job, in the
//! config's order. `bind`/`rbind` become nullfs; containerd's Linux default mounts
//! (oci/mounts.go at v1.6.39: proc, /dev tmpfs, devpts, /dev/shm tmpfs, mqueue, sysfs, /run
//! tmpfs; cgroup from CRI and docker) are mapped to their FreeBSD counterparts or dropped with
//! a warning saying why.

use super::devfs_ruleset::ZELLE_DEVFS_RULESET;
use super::error::{BundleError, Warnings};
use super::json::{array, join, typed};
use crate::kernel::MountFlags;
use oci_spec::runtime::Mount;
use serde_json::Value;

/// The generic access flags of a mount.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AccessFlags {
    pub readonly: bool,
    pub nosuid: bool,
    pub noexec: bool,
    /// Recorded as asked; on FreeBSD it always holds, since device nodes exist only in devfs
    /// (FreeBSD has no MNT_NODEV).
    pub nodev: bool,
}

impl AccessFlags {
    /// The `MNT_*` flags for nmount(2).
    pub fn kernel_flags(self) -> MountFlags {
        let mut bits = 0;
        for (on, flag) in [
            (self.readonly, MountFlags::RDONLY),
            (self.nosuid, MountFlags::NOSUID),
            (self.noexec, MountFlags::NOEXEC),
        ] {
            if on {
                bits |= flag.0;
            }
        }
        MountFlags(bits)
    }
}

/// One mount to make, inside the container's root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MountPlan {
    /// FreeBSD's file system type: `nullfs`, `devfs`, `fdescfs`, `tmpfs`, `linprocfs`, …
    pub fstype: String,
    /// An absolute path inside the container, with no `.`, `..` or empty component.
    pub destination: String,
    /// For nullfs, the host directory or file, resolved against the bundle; otherwise the
    /// config's `source` as given (a label such as `devfs`).
    pub source: Option<String>,
    pub flags: AccessFlags,
    /// File-system options for nmount(2), in order: (`ruleset`, `4`); a bare option has an
    /// empty value (`noatime`).
    pub fs_options: Vec<(String, String)>,
    /// The entry this came from: `mounts[3]`.
    pub from: String,
    /// The type config.json gave, when zelle mounts another (`proc` as `linprocfs`).
    pub given_type: Option<String>,
}

/// FreeBSD file systems a spec may name directly.
const FREEBSD_TYPES: &[&str] = &[
    "nullfs",
    "devfs",
    "fdescfs",
    "tmpfs",
    "procfs",
    "linprocfs",
    "linsysfs",
    "unionfs",
    "zfs",
    "ufs",
    "cd9660",
    "msdosfs",
    "ext2fs",
    "nfs",
    "fusefs",
    "mqueuefs",
    "smbfs",
];

/// Tidy an absolute path: drop empty and `.` components (`/a/./b//c/` is `/a/b/c`). `..` is
/// kept: only the kernel, following the links on the way, knows where it leads.
pub(crate) fn tidy(path: &str) -> String {
    let parts: Vec<&str> = path
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    format!("/{}", parts.join("/"))
}

/// `path` if absolute, else `path` inside `bundle`; tidied.
pub(crate) fn resolve(bundle: &str, path: &str) -> String {
    if path.starts_with('/') {
        tidy(path)
    } else {
        tidy(&format!("{bundle}/{path}"))
    }
}

/// What becomes of one entry.
enum Fate {
    Mount { fstype: &'static str, renamed: bool },
    Drop(&'static str),
}

/// The FreeBSD mount for a non-bind entry of type `given` on `destination`.
fn fate(given: &str, destination: &str, linux_image: bool) -> Option<Fate> {
    use Fate::*;
    Some(match (given, destination) {
        ("proc", _) if linux_image => Mount {
            fstype: "linprocfs",
            renamed: true,
        },
        ("proc", _) => Mount {
            fstype: "procfs",
            renamed: true,
        },
        ("sysfs", _) if linux_image => Mount {
            fstype: "linsysfs",
            renamed: true,
        },
        ("sysfs", _) => Drop("FreeBSD has no sysfs, and a FreeBSD image does not use one"),
        ("devpts", _) => Drop("FreeBSD's devfs has /dev/pts itself (devfs ruleset 4 unhides pts)"),
        ("mqueue", _) => {
            Drop("POSIX message queues need no mount on FreeBSD (mqueuefs would only list them)")
        }
        ("cgroup" | "cgroup2", _) => {
            Drop("FreeBSD has no cgroups; zelle limits the jail with rctl")
        }
        // runc fills Linux's tmpfs /dev with device nodes; on FreeBSD devfs is /dev.
        ("tmpfs", "/dev") => Mount {
            fstype: "devfs",
            renamed: true,
        },
        ("tmpfs", "/dev/shm") if !linux_image => {
            Drop("FreeBSD's shm_open(2) needs no file system, so a FreeBSD image has no /dev/shm")
        }
        (t, _) => Mount {
            fstype: FREEBSD_TYPES.iter().copied().find(|&f| f == t)?,
            renamed: false,
        },
    })
}

/// Read `mounts` (at `path`).
pub(crate) fn read(
    value: &Value,
    path: &str,
    bundle: &str,
    linux_image: bool,
    devfs_ruleset: Option<u16>,
    warnings: &mut Warnings,
) -> Result<Vec<MountPlan>, BundleError> {
    let mut plans = Vec::new();
    for (i, entry) in array(value, path)?.iter().enumerate() {
        let from = format!("{path}[{i}]");
        let mount: Mount = typed(entry, &from, warnings)?;
        if let Some(plan) = read_one(&mount, &from, bundle, linux_image, devfs_ruleset, warnings)? {
            plans.push(plan);
        }
    }
    Ok(plans)
}

fn read_one(
    mount: &Mount,
    from: &str,
    bundle: &str,
    linux_image: bool,
    devfs_ruleset: Option<u16>,
    warnings: &mut Warnings,
) -> Result<Option<MountPlan>, BundleError> {
    let field = |key: &str| join(from, key);
    let dest = mount.destination().to_string_lossy();
    if !dest.starts_with('/') {
        // config.md: on platforms other than Linux the destination MUST be absolute.
        return Err(BundleError::invalid(
            field("destination"),
            format!("{dest:?} is not absolute"),
        ));
    }
    if dest.split('/').any(|part| part == "..") {
        // Inside the image's root a `..` can lead through links anywhere; the mount point is
        // resolved beneath the root later (mountpoint.rs), and a config has no need of one.
        return Err(BundleError::invalid(
            field("destination"),
            format!("{dest:?} has a \"..\" component"),
        ));
    }
    let destination = tidy(&dest);
    if destination == "/" {
        return Err(BundleError::invalid(
            field("destination"),
            format!("{dest:?} is the container's root; set root instead"),
        ));
    }
    for (key, set) in [
        ("uidMappings", mount.uid_mappings().is_some()),
        ("gidMappings", mount.gid_mappings().is_some()),
    ] {
        if set {
            return Err(BundleError::invalid(
                field(key),
                "FreeBSD has no ID-mapped mounts",
            ));
        }
    }
    let options: &[String] = mount.options().as_deref().unwrap_or_default();
    let bind = options.iter().any(|o| o == "bind" || o == "rbind");
    let given = mount.typ().as_deref().unwrap_or("");

    let (fstype, renamed) = if bind || matches!(given, "bind" | "rbind" | "nullfs") {
        ("nullfs", !given.is_empty() && given != "nullfs")
    } else if given.is_empty() || given == "none" {
        return Err(BundleError::invalid(
            field("type"),
            format!("{given:?} names no file system, and the options have no bind or rbind"),
        ));
    } else {
        match fate(given, &destination, linux_image) {
            Some(Fate::Mount { fstype, renamed }) => (fstype, renamed),
            Some(Fate::Drop(why)) => {
                warnings.add(from, format!("{given} on {destination} not mounted: {why}"));
                return Ok(None);
            }
            None => {
                return Err(BundleError::invalid(
                    field("type"),
                    format!("{given:?} is not a file system zelle can mount on FreeBSD"),
                ))
            }
        }
    };

    let source = mount
        .source()
        .as_ref()
        .map(|s| s.to_string_lossy().into_owned());
    let source = if fstype == "nullfs" {
        match source.as_deref() {
            Some(s) if !s.is_empty() => Some(resolve(bundle, s)),
            _ => {
                return Err(BundleError::invalid(
                    field("source"),
                    "a bind (nullfs) mount needs a host path",
                ))
            }
        }
    } else {
        source
    };

    let mut flags = AccessFlags::default();
    let mut fs_options = Vec::new();
    for (j, option) in options.iter().enumerate() {
        read_option(
            option,
            &format!("{}[{j}]", field("options")),
            fstype,
            &mut flags,
            &mut fs_options,
            warnings,
        )?;
    }
    if fstype == "devfs" {
        // devfs takes only from, export and ruleset (devfs_vfsops.c): Linux's tmpfs options
        // for /dev do not carry over.
        if renamed {
            fs_options.clear();
        }
        // A devfs mounted with no ruleset shows every device of the host (FACTS-kernel-runtime
        // §2), so zelle never leaves it unset: the operator's annotation, else zelle's own. The
        // config's (containerd writes ruleset=4, devfsrules_jail) gives way, said so.
        let ruleset = devfs_ruleset.unwrap_or(ZELLE_DEVFS_RULESET);
        if let Some((_, given)) = fs_options.iter().find(|(k, _)| k == "ruleset") {
            if given.parse::<u16>().ok() != Some(ruleset) {
                warnings.add(
                    join(from, "options"),
                    format!(
                        "ruleset={given} not used: /dev gets ruleset {ruleset} (zelle's own unless annotations[\"org.zelle.devfs-ruleset\"] names another)"
                    ),
                );
            }
        }
        fs_options.retain(|(k, _)| k != "ruleset");
        fs_options.push(("ruleset".into(), ruleset.to_string()));
    }
    Ok(Some(MountPlan {
        fstype: fstype.to_string(),
        destination,
        source,
        flags,
        fs_options,
        from: from.to_string(),
        given_type: renamed.then(|| given.to_string()),
    }))
}

fn read_option(
    option: &str,
    field: &str,
    fstype: &str,
    flags: &mut AccessFlags,
    fs_options: &mut Vec<(String, String)>,
    warnings: &mut Warnings,
) -> Result<(), BundleError> {
    let mut bare = |name: &str| fs_options.push((name.to_string(), String::new()));
    match option {
        "ro" | "rro" => flags.readonly = true,
        "rw" | "rrw" => flags.readonly = false,
        "nosuid" | "rnosuid" => flags.nosuid = true,
        "suid" | "rsuid" => flags.nosuid = false,
        "noexec" | "rnoexec" => flags.noexec = true,
        "exec" | "rexec" => flags.noexec = false,
        "nodev" | "rnodev" => flags.nodev = true,
        "dev" | "rdev" => flags.nodev = false,
        "bind" => {}
        "rbind" => warnings.add(
            field,
            "rbind: a nullfs mount does not show the mounts beneath its source",
        ),
        // FreeBSD mounts never propagate, which is what private asks for.
        "private" | "rprivate" => {}
        "shared" | "rshared" | "slave" | "rslave" | "unbindable" | "runbindable" => warnings.add(
            field,
            format!("{option}: FreeBSD has no mount propagation; ignored"),
        ),
        // What FreeBSD does anyway, or asks for nothing.
        "defaults" | "atime" | "ratime" | "strictatime" | "rstrictatime" | "diratime"
        | "rdiratime" | "norelatime" | "rnorelatime" | "nolazytime" | "nomand" | "noiversion"
        | "symfollow" | "rsymfollow" | "loud" | "silent" | "async" => {}
        "noatime" | "rnoatime" => bare("noatime"),
        "sync" => bare("sync"),
        "nosymfollow" | "rnosymfollow" => bare("nosymfollow"),
        "idmap" | "ridmap" => {
            return Err(BundleError::invalid(
                field,
                format!("{option}: FreeBSD has no ID-mapped mounts"),
            ))
        }
        "relatime" | "rrelatime" | "nostrictatime" | "rnostrictatime" | "lazytime"
        | "nodiratime" | "rnodiratime" | "dirsync" | "iversion" | "mand" | "remount"
        | "tmpcopyup" => warnings.add(field, format!("{option}: no FreeBSD counterpart; ignored")),
        _ => match option.split_once('=') {
            // Linux tmpfs's nr_inodes is FreeBSD tmpfs's inodes (tmpfs_vfsops.c tmpfs_opts).
            Some(("nr_inodes", v)) if fstype == "tmpfs" => {
                fs_options.push(("inodes".into(), v.into()))
            }
            Some((name @ ("mpol" | "huge" | "nr_blocks"), _)) if fstype == "tmpfs" => warnings.add(
                field,
                format!("{name}: Linux tmpfs option FreeBSD's tmpfs lacks; ignored"),
            ),
            // config.md: unknown options are file-system specific and passed on.
            Some((name, value)) => fs_options.push((name.into(), value.into())),
            None => bare(option),
        },
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_tidied_and_keep_their_dot_dots() {
        assert_eq!(tidy("/a/./b//../c/"), "/a/b/../c");
        assert_eq!(tidy("//"), "/");
        assert_eq!(resolve("/b", "rootfs"), "/b/rootfs");
        assert_eq!(resolve("/b/", "./rootfs/"), "/b/rootfs");
        assert_eq!(resolve("/b", "/abs/./x"), "/abs/x");
        assert_eq!(resolve("/b", "../elsewhere"), "/b/../elsewhere");
    }

    #[test]
    fn access_flags_become_mnt_flags() {
        let all = AccessFlags {
            readonly: true,
            nosuid: true,
            noexec: true,
            nodev: true,
        };
        assert_eq!(all.kernel_flags(), MountFlags(0x1 | 0x4 | 0x8));
        assert_eq!(AccessFlags::default().kernel_flags(), MountFlags(0));
    }
}
