//! Reading a bundle's config.json into one checked plan, [`BundleSpec`].
//!
//! The whole spec is walked: every field is either carried into the plan, refused with a
//! [`BundleError`] naming it, or recorded as a [`Warning`] naming it (Linux settings a jail
//! cannot honour, keys no version of the runtime spec has). Nothing is dropped unsaid.

use super::annotations;
use super::error::{BundleError, Warning, Warnings};
use super::freebsd_spec::{self, FreeBsd, Sharing};
use super::hooks::{read_hooks, HooksPlan};
use super::json::typed;
use super::limits::{self, RctlLimit};
use super::linux_spec::{read_linux, LinuxRead};
use super::mounts::{self, MountPlan};
use super::network_plan::{network_plan, NetworkPlan};
use super::process::{read_process, ProcessPlan};
use crate::kernel::jail::MAXHOSTNAMELEN;
use serde_json::Value;
use std::collections::BTreeMap;

/// A value, and the field of config.json it was taken from (`hostname`,
/// `annotations["nerdctl/hostname"]`, or `default` when nothing said).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sourced<T> {
    pub value: T,
    pub from: String,
}

impl<T> Sourced<T> {
    pub(crate) fn new(value: T, from: impl Into<String>) -> Self {
        Sourced {
            value,
            from: from.into(),
        }
    }
}

/// Everything the runtime needs from config.json, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BundleSpec {
    /// `ociVersion`, a 1.x version.
    pub oci_version: String,
    pub root: RootPlan,
    /// `hostname`, else `annotations["nerdctl/hostname"]`; `None` when neither is set.
    pub hostname: Option<Sourced<String>>,
    /// `domainname` (the jail's `host.domainname`).
    pub domainname: Option<String>,
    pub process: ProcessPlan,
    /// `mounts`, in order, as FreeBSD mounts (dropped entries are warnings).
    pub mounts: Vec<MountPlan>,
    /// The ruleset of the container's /dev (`org.zelle.devfs-ruleset`, else zelle's own).
    pub devfs_ruleset: u16,
    pub hooks: HooksPlan,
    /// Per-jail rctl limits, one per resource, each naming its field.
    pub limits: Vec<RctlLimit>,
    /// `freebsd`, as given (empty when absent).
    pub freebsd: FreeBsd,
    pub image: Sourced<ImageKind>,
    pub network: NetworkPlan,
    /// `annotations`, all of them: those zelle reads are also in their typed fields.
    pub annotations: BTreeMap<String, String>,
    /// `annotations["nerdctl/state-dir"]`: its `network-config.json` holds nerdctl's port
    /// mappings (see [`super::annotations::nerdctl_network_config_ports`]).
    pub nerdctl_state_dir: Option<String>,
    /// Settings read but not carried out, each naming its field.
    pub warnings: Vec<Warning>,
}

/// `root`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RootPlan {
    /// `root.path`, resolved against the bundle (`.` and empty components dropped).
    pub path: String,
    /// `root.readonly`.
    pub readonly: bool,
}

/// Which ABI the image's programs need.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageKind {
    FreeBsd,
    /// Run under the Linux ABI (the jail gets linprocfs/linsysfs and `linux` parameters).
    Linux,
}

/// Top-level keys of runtime-spec 1.3 that zelle reads.
const TOP_LEVEL: &[&str] = &[
    "ociVersion",
    "root",
    "mounts",
    "process",
    "hostname",
    "domainname",
    "hooks",
    "annotations",
    "linux",
    "freebsd",
    "solaris",
    "windows",
    "vm",
    "zos",
];

impl BundleSpec {
    /// Read config.json's bytes. `bundle` is the bundle directory (absolute), which a
    /// relative `root.path` and bind-mount sources are resolved against.
    pub fn from_slice(config: &[u8], bundle: &str) -> Result<BundleSpec, BundleError> {
        let value: Value = serde_json::from_slice(config)
            .map_err(|e| BundleError::Syntax(format!("not valid JSON: {e}")))?;
        Self::from_value(&value, bundle)
    }

    /// Read config.json's text.
    pub fn parse(config: &str, bundle: &str) -> Result<BundleSpec, BundleError> {
        Self::from_slice(config.as_bytes(), bundle)
    }

    /// Read config.json, already parsed as JSON.
    pub fn from_value(value: &Value, bundle: &str) -> Result<BundleSpec, BundleError> {
        let spec = value
            .as_object()
            .ok_or_else(|| BundleError::Syntax("expected a JSON object at the top".into()))?;
        if !bundle.starts_with('/') {
            return Err(BundleError::invalid(
                "bundle",
                format!("{bundle:?} is not an absolute path"),
            ));
        }
        let bundle = &mounts::tidy(bundle);
        let mut w = Warnings::default();

        for key in spec.keys().filter(|k| !TOP_LEVEL.contains(&k.as_str())) {
            w.add(key.clone(), "not a field of runtime-spec 1.3; ignored");
        }
        let oci_version = read_version(spec.get("ociVersion"), &mut w)?;

        let annotations: BTreeMap<String, String> = match spec.get("annotations") {
            Some(v) if !v.is_null() => typed(v, "annotations", &mut w)?,
            _ => BTreeMap::new(),
        };
        let notes = annotations::read(&annotations, &mut w)?;

        let freebsd = match spec.get("freebsd") {
            Some(v) if !v.is_null() => freebsd_spec::read(v, "freebsd", &mut w)?,
            _ => FreeBsd::default(),
        };
        let linux = match spec.get("linux") {
            Some(v) if !v.is_null() => read_linux(v, &mut w)?,
            _ => LinuxRead::default(),
        };
        for (key, platform) in [
            ("solaris", "Solaris"),
            ("windows", "Windows"),
            ("zos", "z/OS"),
        ] {
            if spec.get(key).is_some_and(|v| !v.is_null()) {
                w.add(key, format!("settings for {platform}; ignored"));
            }
        }
        if spec.get("vm").is_some_and(|v| !v.is_null()) {
            return Err(BundleError::invalid(
                "vm",
                "zelle runs containers as jails, not in virtual machines",
            ));
        }

        let image = image_kind(&notes, spec.get("mounts"));
        let root = read_root(spec.get("root"), bundle, &mut w)?;
        let hostname = match read_name(spec.get("hostname"), "hostname", &mut w)? {
            Some(name) => Some(Sourced::new(name, "hostname")),
            None => match &notes.hostname {
                Some(name) => {
                    let from = annotations::field(annotations::NERDCTL_HOSTNAME);
                    check_name(name, &from)?;
                    Some(Sourced::new(name.clone(), from))
                }
                None => None,
            },
        };
        let domainname = read_name(spec.get("domainname"), "domainname", &mut w)?;
        if freebsd
            .jail
            .as_ref()
            .is_some_and(|j| j.host == Some(Sharing::Inherit))
        {
            // config-freebsd.md: with host "inherit" the jail keeps its parent's names.
            if let Some(name) = &hostname {
                w.add(&name.from, "not set: freebsd.jail.host is \"inherit\"");
            }
            if domainname.is_some() {
                w.add("domainname", "not set: freebsd.jail.host is \"inherit\"");
            }
        }
        let process = match spec.get("process") {
            Some(v) if !v.is_null() => read_process(v, &mut w)?,
            _ => {
                return Err(BundleError::invalid(
                    "process",
                    "missing; zelle needs the process to start",
                ))
            }
        };
        let mounts = match spec.get("mounts") {
            Some(v) if !v.is_null() => mounts::read(
                v,
                "mounts",
                bundle,
                image.value == ImageKind::Linux,
                notes.devfs_ruleset,
                &mut w,
            )?,
            _ => Vec::new(),
        };
        let hooks = match spec.get("hooks") {
            Some(v) if !v.is_null() => read_hooks(v, &mut w)?,
            _ => HooksPlan::default(),
        };

        let mut limits = linux.limits;
        limits::merge(&mut limits, notes.rctl.clone(), &mut w);

        let network = network_plan(&notes, &freebsd, linux.network_namespace, &mut w)?;
        Ok(BundleSpec {
            oci_version,
            root,
            hostname,
            domainname,
            process,
            mounts,
            devfs_ruleset: notes
                .devfs_ruleset
                .unwrap_or(super::devfs_ruleset::ZELLE_DEVFS_RULESET),
            hooks,
            limits,
            freebsd,
            image,
            network,
            nerdctl_state_dir: notes.nerdctl_state_dir,
            annotations,
            warnings: w.0,
        })
    }
}

fn read_version(value: Option<&Value>, w: &mut Warnings) -> Result<String, BundleError> {
    let version: String = match value {
        Some(v) if !v.is_null() => typed(v, "ociVersion", w)?,
        _ => {
            w.add(
                "ociVersion",
                "missing (config.md makes it REQUIRED); read as 1.x",
            );
            return Ok(String::new());
        }
    };
    if !version.starts_with("1.") {
        return Err(BundleError::invalid(
            "ociVersion",
            format!("{version:?} is not a 1.x runtime-spec version"),
        ));
    }
    Ok(version)
}

/// `hostname` or `domainname`; empty is none.
fn read_name(
    value: Option<&Value>,
    field: &str,
    w: &mut Warnings,
) -> Result<Option<String>, BundleError> {
    let name: String = match value {
        Some(v) if !v.is_null() => typed(v, field, w)?,
        _ => return Ok(None),
    };
    check_name(&name, field)?;
    Ok((!name.is_empty()).then_some(name))
}

/// At most MAXHOSTNAMELEN - 1 bytes and no NUL, as kern_jail.c takes `host.hostname`.
fn check_name(name: &str, field: &str) -> Result<(), BundleError> {
    if name.len() >= MAXHOSTNAMELEN || name.contains('\0') {
        return Err(BundleError::invalid(
            field,
            format!(
                "{name:?} is not a name the kernel takes (at most {} bytes, no NUL)",
                MAXHOSTNAMELEN - 1
            ),
        ));
    }
    Ok(())
}

fn read_root(
    value: Option<&Value>,
    bundle: &str,
    w: &mut Warnings,
) -> Result<RootPlan, BundleError> {
    let root: oci_spec::runtime::Root = match value {
        Some(v) if !v.is_null() => typed(v, "root", w)?,
        _ => {
            return Err(BundleError::invalid(
                "root",
                "missing (config.md makes it REQUIRED outside Windows)",
            ))
        }
    };
    let path = root.path().to_string_lossy();
    if path.is_empty() {
        return Err(BundleError::invalid("root.path", "empty"));
    }
    Ok(RootPlan {
        path: mounts::resolve(bundle, &path),
        readonly: root.readonly().unwrap_or(false),
    })
}

/// zelle's annotation, then nerdctl's platform, then containerd 2.x's mounts for Linux images
/// (linprocfs/linsysfs: pkg/oci/mounts_freebsd.go `appendOSMounts`). A `linux` section says
/// nothing: containerd writes one for FreeBSD images too (oci/spec.go populateDefaultUnixSpec).
fn image_kind(notes: &annotations::Read, mounts: Option<&Value>) -> Sourced<ImageKind> {
    let kind = |linux: bool| {
        if linux {
            ImageKind::Linux
        } else {
            ImageKind::FreeBsd
        }
    };
    if let Some((linux, from)) = &notes.linux {
        return Sourced::new(kind(*linux), from.clone());
    }
    let entries = mounts
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    for (i, entry) in entries.iter().enumerate() {
        if let Some("linprocfs" | "linsysfs") = entry.get("type").and_then(Value::as_str) {
            return Sourced::new(ImageKind::Linux, format!("mounts[{i}].type"));
        }
    }
    Sourced::new(ImageKind::FreeBsd, "default")
}
