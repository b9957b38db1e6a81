//! The `linux` section: its resources become rctl limits, its namespaces say whether the
//! container shares the host's network, and every other setting is a warning (a jail cannot
//! carry it out) or, for user namespaces, an error.

use super::error::{BundleError, Warnings};
use super::json::{array, is_unset, join, object, typed};
use super::limits::{self, RctlLimit};
use oci_spec::runtime::{LinuxNamespace, LinuxNamespaceType};
use serde_json::{Map, Value};

/// What the `linux` section gives zelle.
#[derive(Default)]
pub(crate) struct LinuxRead {
    pub limits: Vec<RctlLimit>,
    /// With `linux.namespaces` given: whether it has a network namespace.
    pub network_namespace: Option<bool>,
}

/// Keys of `linux` zelle cannot honour, and why.
const LINUX_UNHONOURED: &[(&str, &str)] = &[
    (
        "cgroupsPath",
        "FreeBSD has no cgroups; zelle accounts and limits per jail with rctl",
    ),
    ("sysctl", "Linux sysctls are not set in the jail"),
    (
        "devices",
        "Linux device nodes are not created: devfs rules decide (see freebsd.devices)",
    ),
    (
        "seccomp",
        "seccomp is Linux's; FreeBSD jails have no system call filter",
    ),
    ("maskedPaths", "paths are not masked"),
    ("readonlyPaths", "paths are not remounted read-only"),
    ("mountLabel", "SELinux is Linux's"),
    ("intelRdt", "Intel RDT is not applied"),
    ("personality", "Linux personalities are not applied"),
    ("memoryPolicy", "NUMA memory policies are not applied"),
    (
        "netDevices",
        "moving host interfaces in is not applied (see freebsd.jail.vnetInterfaces)",
    ),
];

pub(crate) fn read_linux(value: &Value, w: &mut Warnings) -> Result<LinuxRead, BundleError> {
    let linux: &Map<String, Value> = object(value, "linux")?;
    let mut read = LinuxRead::default();
    for (key, v) in linux {
        let field = join("linux", key);
        if v.is_null() {
            continue;
        }
        match key.as_str() {
            "resources" => read.limits = limits::read_linux_resources(v, &field, w)?,
            "namespaces" => read.network_namespace = Some(read_namespaces(v, &field, w)?),
            "uidMappings" | "gidMappings" if !is_unset(v) => {
                return Err(BundleError::invalid(
                    field,
                    "FreeBSD has no user namespaces: the container's root would be the host jail's root",
                ))
            }
            "rootfsPropagation" if matches!(v.as_str(), Some("private" | "rprivate" | "")) => {}
            "rootfsPropagation" => w.add(field, "FreeBSD has no mount propagation; not applied"),
            _ if is_unset(v) => {}
            _ => match LINUX_UNHONOURED.iter().find(|(k, _)| k == key) {
                Some((_, why)) => w.add(field, format!("{why}; not applied")),
                None => w.add(field, "not a field zelle knows; ignored"),
            },
        }
    }
    Ok(read)
}

/// `linux.namespaces`: a jail gives its own process, mount, UTS and IPC view; network
/// follows the namespace (none listed: the host's stack). Returns whether network is there.
fn read_namespaces(value: &Value, path: &str, w: &mut Warnings) -> Result<bool, BundleError> {
    let mut kinds = Vec::new();
    for (i, entry) in array(value, path)?.iter().enumerate() {
        let field = format!("{path}[{i}]");
        let ns: LinuxNamespace = typed(entry, &field, w)?;
        if let Some(p) = ns.path() {
            return Err(BundleError::invalid(
                join(&field, "path"),
                format!("{}: FreeBSD cannot join a Linux namespace", p.display()),
            ));
        }
        match ns.typ() {
            LinuxNamespaceType::User => {
                return Err(BundleError::invalid(
                    join(&field, "type"),
                    "FreeBSD has no user namespaces: the container's root would be the host jail's root",
                ))
            }
            LinuxNamespaceType::Cgroup => w.add(&field, "cgroup namespace: FreeBSD has no cgroups; nothing to do"),
            LinuxNamespaceType::Time => w.add(&field, "time namespace: clock offsets are not applied"),
            _ => {}
        }
        kinds.push(ns.typ());
    }
    for (kind, name) in [
        (LinuxNamespaceType::Pid, "pid"),
        (LinuxNamespaceType::Mount, "mount"),
        (LinuxNamespaceType::Uts, "uts"),
        (LinuxNamespaceType::Ipc, "ipc"),
    ] {
        if !kinds.contains(&kind) {
            w.add(path, format!("no {name} namespace, which shares the host's; the jail has its own {name} view all the same"));
        }
    }
    Ok(kinds.contains(&LinuxNamespaceType::Network))
}
