//! The file systems of a container, in the order they are made: its root from the mounts
//! containerd hands over, the mounts every container gets unless its config has its own at
//! that place (devfs with the ruleset, fdescfs, procfs; for a Linux image linprocfs, linsysfs
//! and a tmpfs /dev/shm), then the config's own mounts.

use super::bundle::{BundleSpec, ImageKind};
use super::mounts::{AccessFlags, MountPlan};
use crate::kernel::{MountFlags, MountRequest};

/// One mount of the container's root as containerd hands it over (CreateTaskRequest
/// `rootfs`, containerd's `types.Mount`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RootfsMount {
    /// `bind`/`nullfs` (the native snapshotter) or `zfs` (the zfs snapshotter).
    pub kind: String,
    /// A host directory, or a zfs dataset name.
    pub source: String,
    pub options: Vec<String>,
}

impl RootfsMount {
    /// The nmount(2) request that puts this on `root`; `field` names it in errors.
    pub(crate) fn request(
        &self,
        root: &str,
        readonly: bool,
        field: &str,
    ) -> Result<MountRequest, String> {
        let fstype = match self.kind.as_str() {
            "bind" | "rbind" | "nullfs" => "nullfs",
            "zfs" => "zfs",
            other => {
                return Err(format!(
                    "{field}.type: {other:?} is not a root zelle can mount (bind, nullfs or zfs)"
                ))
            }
        };
        let mut flags = AccessFlags {
            readonly,
            ..AccessFlags::default()
        };
        for option in &self.options {
            match option.as_str() {
                "ro" => flags.readonly = true,
                "rw" | "bind" | "rbind" => {}
                "nosuid" => flags.nosuid = true,
                "noexec" => flags.noexec = true,
                other => {
                    return Err(format!(
                        "{field}.options: {other:?} is not an option of a root mount"
                    ))
                }
            }
        }
        let mut request = MountRequest::new(fstype, root, Some(&self.source));
        request.flags = flags.kernel_flags();
        Ok(request)
    }
}

/// A mount every container gets, when its config has none at `destination`.
fn default_mount(fstype: &str, destination: &str, options: &[(&str, String)]) -> MountPlan {
    MountPlan {
        fstype: fstype.to_string(),
        destination: destination.to_string(),
        source: Some(fstype.to_string()),
        flags: AccessFlags {
            nosuid: fstype != "devfs",
            noexec: fstype != "devfs" && fstype != "tmpfs",
            ..AccessFlags::default()
        },
        fs_options: options
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
        from: format!("default {fstype} on {destination}"),
        given_type: None,
    }
}

/// The mounts to make after the root: the config's own and the defaults it lacks.
pub(crate) fn mount_sequence(spec: &BundleSpec) -> Vec<MountPlan> {
    let ruleset = spec.devfs_ruleset.to_string();
    let mut defaults = vec![default_mount("devfs", "/dev", &[("ruleset", ruleset)])];
    match spec.image.value {
        ImageKind::FreeBsd => {
            defaults.push(default_mount("fdescfs", "/dev/fd", &[]));
            defaults.push(default_mount("procfs", "/proc", &[]));
        }
        ImageKind::Linux => {
            // linrdlnk: /dev/fd/N reads as a link to the file, as Linux programs expect.
            defaults.push(default_mount(
                "fdescfs",
                "/dev/fd",
                &[("linrdlnk", String::new())],
            ));
            defaults.push(default_mount("linprocfs", "/proc", &[]));
            defaults.push(default_mount("linsysfs", "/sys", &[]));
            defaults.push(default_mount(
                "tmpfs",
                "/dev/shm",
                &[("mode", "1777".into()), ("size", "64m".into())],
            ));
        }
    }
    // The config's mounts keep their order; each default the config lacks goes right after
    // the last mount it lies in (/dev/shm after /dev), else first.
    let mut sequence = spec.mounts.clone();
    let mut first = 0;
    for default in defaults {
        if sequence
            .iter()
            .any(|m| m.destination == default.destination)
        {
            continue;
        }
        let holder = sequence
            .iter()
            .rposition(|m| beneath(&default.destination, &m.destination));
        let at = match holder {
            Some(holder) => holder + 1,
            None => {
                first += 1;
                first - 1
            }
        };
        sequence.insert(at, default);
    }
    sequence
}

/// Whether `path` lies strictly below `dir`.
fn beneath(path: &str, dir: &str) -> bool {
    path.strip_prefix(dir)
        .is_some_and(|rest| rest.starts_with('/'))
}

/// The last of `earlier` whose destination holds `destination`.
pub(crate) fn covering<'a>(earlier: &'a [MountPlan], destination: &str) -> Option<&'a MountPlan> {
    earlier
        .iter()
        .rev()
        .find(|m| beneath(destination, &m.destination))
}

/// The nmount(2) request for `plan` on `on` (the resolved mount point on the host).
pub(crate) fn request(plan: &MountPlan, on: &str) -> MountRequest {
    MountRequest {
        fstype: plan.fstype.clone(),
        fspath: on.to_string(),
        from: plan.source.clone(),
        options: plan.fs_options.clone(),
        flags: MountFlags(plan.flags.kernel_flags().0),
    }
}
