//! Reading a bundle's config.json into one checked plan, [`BundleSpec`].
//!
//! The whole spec is walked: every field is either carried into the plan, refused with a
//! [`BundleError`] naming it, or recorded as a [`Warning`] naming it (Linux settings a jail
//! cannot honour, keys no version of the runtime spec has). Nothing is dropped unsaid.

use super::annotations;
use super::error::{BundleError, Warning, Warnings};
use super::freebsd_spec::{self, FreeBsd, Sharing};
use super::json::{array, is_unset, join, object, typed};
use super::limits::{self, RctlLimit};
use super::mounts::{self, MountPlan};
use crate::kernel::jail::MAXHOSTNAMELEN;
use crate::kernel::process::Rlimit;
use crate::kernel::{Jid, ProcessSpec, Stdio};
use crate::network::{PublishedPort, DEFAULT_NETWORK};
use oci_spec::runtime::{LinuxNamespace, LinuxNamespaceType};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::net::IpAddr;

/// A value, and the field of config.json it was taken from (`hostname`,
/// `annotations["nerdctl/hostname"]`, or `default` when nothing said).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sourced<T> {
    pub value: T,
    pub from: String,
}

impl<T> Sourced<T> {
    fn new(value: T, from: impl Into<String>) -> Self {
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
    /// `root.path`, resolved against the bundle and lexically cleaned.
    pub path: String,
    /// `root.readonly`.
    pub readonly: bool,
}

/// `process`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcessPlan {
    /// `process.args`, never empty.
    pub args: Vec<String>,
    /// `process.env`, as given: each entry `NAME=value`, the value free to hold `=`.
    pub env: Vec<String>,
    /// `process.cwd`, absolute.
    pub cwd: String,
    /// `process.user.uid`, `.gid`, `.additionalGids`, `.umask`.
    pub uid: u32,
    pub gid: u32,
    pub additional_gids: Vec<u32>,
    pub umask: Option<u32>,
    /// `process.terminal`.
    pub terminal: bool,
    /// `process.consoleSize`, only with a terminal (config.md: ignored otherwise).
    pub console_size: Option<ConsoleSize>,
    /// `process.rlimits`, as FreeBSD's RLIMIT_* resources.
    pub rlimits: Vec<Rlimit>,
    /// `process.noNewPrivileges`: procctl(2) PROC_NO_NEW_PRIVS_CTL, FreeBSD 14.0 and later.
    pub no_new_privileges: bool,
}

impl ProcessPlan {
    /// The kernel contract's spawn request for this process.
    pub fn to_process_spec(&self, jail: Option<Jid>, stdio: Stdio) -> ProcessSpec {
        ProcessSpec {
            jail,
            args: self.args.clone(),
            env: self.env.clone(),
            cwd: self.cwd.clone(),
            uid: self.uid,
            gid: self.gid,
            groups: self.additional_gids.clone(),
            umask: self.umask,
            rlimits: self.rlimits.clone(),
            stdio,
            terminal: self.terminal,
        }
    }
}

/// A terminal's size (struct winsize has u_short fields).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConsoleSize {
    pub height: u16,
    pub width: u16,
}

/// One hook (`hooks.<kind>[i]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HookPlan {
    /// Absolute, on the host (createContainer and startContainer: inside the container).
    pub path: String,
    pub args: Vec<String>,
    pub env: Vec<String>,
    /// Seconds, more than zero.
    pub timeout: Option<u32>,
    pub from: String,
}

/// `hooks`, kind by kind, each in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HooksPlan {
    /// Deprecated by the spec, still run (after createRuntime's point, on the host).
    pub prestart: Vec<HookPlan>,
    pub create_runtime: Vec<HookPlan>,
    pub create_container: Vec<HookPlan>,
    pub start_container: Vec<HookPlan>,
    pub poststart: Vec<HookPlan>,
    pub poststop: Vec<HookPlan>,
}

/// Which ABI the image's programs need.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageKind {
    FreeBsd,
    /// Run under the Linux ABI (the jail gets linprocfs/linsysfs and `linux` parameters).
    Linux,
}

/// What network the container gets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NetworkMode {
    /// Its own vnet with only lo0.
    None,
    /// The host's stack: no vnet, ip4 and ip6 inherited.
    Host,
    /// Its own vnet, attached to the zelle network of this name.
    Bridge(String),
    /// The `freebsd.jail` network parameters (vnet, ip4, ip6, parent) alone; zelle attaches
    /// nothing.
    Jail,
}

/// An extra /etc/hosts line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExtraHost {
    pub name: String,
    pub address: IpAddr,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetworkPlan {
    pub mode: Sourced<NetworkMode>,
    pub published_ports: Vec<PublishedPort>,
    /// The field the ports came from, when there are any.
    pub published_ports_from: Option<String>,
    /// `annotations["nerdctl/extraHosts"]`.
    pub extra_hosts: Vec<ExtraHost>,
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
        let bundle = &mounts::clean(bundle);
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

/// Keys of `process` zelle reads but cannot honour, and why.
const PROCESS_UNHONOURED: &[(&str, &str)] = &[
    (
        "capabilities",
        "Linux capabilities; a jail's root has the jail's privileges instead",
    ),
    ("apparmorProfile", "AppArmor is Linux's"),
    ("selinuxLabel", "SELinux is Linux's"),
    ("oomScoreAdj", "FreeBSD has no per-process OOM score"),
    ("ioPriority", "FreeBSD has no per-process I/O priority"),
    ("scheduler", "Linux scheduling policies are not applied"),
    (
        "execCPUAffinity",
        "CPU affinity for the process is not applied yet",
    ),
    ("commandLine", "a Windows field"),
];

fn read_process(value: &Value, w: &mut Warnings) -> Result<ProcessPlan, BundleError> {
    let process = object(value, "process")?;
    let get = |key: &str| process.get(key).filter(|v| !v.is_null());

    let args: Vec<String> = match get("args") {
        Some(v) => typed(v, "process.args", w)?,
        None => Vec::new(),
    };
    if args.is_empty() {
        return Err(BundleError::invalid(
            "process.args",
            "empty; the container needs a program to run",
        ));
    }
    let env: Vec<String> = match get("env") {
        Some(v) => typed(v, "process.env", w)?,
        None => Vec::new(),
    };
    check_env(&env, "process.env")?;
    let cwd: String = match get("cwd") {
        Some(v) => typed(v, "process.cwd", w)?,
        None => {
            return Err(BundleError::invalid(
                "process.cwd",
                "missing (config.md makes it REQUIRED)",
            ))
        }
    };
    if !cwd.starts_with('/') {
        return Err(BundleError::invalid(
            "process.cwd",
            format!("{cwd:?} is not absolute"),
        ));
    }
    let user: oci_spec::runtime::User = match get("user") {
        Some(v) => typed(v, "process.user", w)?,
        None => oci_spec::runtime::User::default(),
    };
    if let Some(umask) = user.umask().filter(|&u| u > 0o777) {
        return Err(BundleError::invalid(
            "process.user.umask",
            format!("{umask:#o} has bits beyond 0777"),
        ));
    }
    let additional_gids = user.additional_gids().clone().unwrap_or_default();
    // NGROUPS_MAX (sys/sys/syslimits.h): 1023 groups besides the primary one.
    if additional_gids.len() > 1023 {
        return Err(BundleError::invalid(
            "process.user.additionalGids",
            format!(
                "{} groups are more than FreeBSD's NGROUPS_MAX (1023)",
                additional_gids.len()
            ),
        ));
    }
    if user.username().as_ref().is_some_and(|u| !u.is_empty()) {
        w.add(
            "process.user.username",
            "a Windows field; ignored (uid and gid decide)",
        );
    }
    let terminal: bool = match get("terminal") {
        Some(v) => typed(v, "process.terminal", w)?,
        None => false,
    };
    let console_size = match get("consoleSize") {
        Some(v) => {
            let size: oci_spec::runtime::Box = typed(v, "process.consoleSize", w)?;
            let side = |n: u64, key: &str| {
                u16::try_from(n).map_err(|_| {
                    BundleError::invalid(
                        format!("process.consoleSize.{key}"),
                        format!("{n} does not fit a terminal (at most 65535)"),
                    )
                })
            };
            let size = ConsoleSize {
                height: side(size.height(), "height")?,
                width: side(size.width(), "width")?,
            };
            if terminal {
                Some(size)
            } else {
                w.add(
                    "process.consoleSize",
                    "ignored without process.terminal (config.md)",
                );
                None
            }
        }
        None => None,
    };
    let rlimits = match get("rlimits") {
        Some(v) => limits::read_rlimits(v, "process.rlimits", w)?,
        None => Vec::new(),
    };
    let no_new_privileges: bool = match get("noNewPrivileges") {
        Some(v) => typed(v, "process.noNewPrivileges", w)?,
        None => false,
    };

    const READ: &[&str] = &[
        "args",
        "env",
        "cwd",
        "user",
        "terminal",
        "consoleSize",
        "rlimits",
        "noNewPrivileges",
    ];
    for (key, v) in process {
        let field = join("process", key);
        if READ.contains(&key.as_str()) || is_unset(v) {
            continue;
        }
        match PROCESS_UNHONOURED.iter().find(|(k, _)| k == key) {
            Some((_, why)) => w.add(field, format!("{why}; not applied")),
            None => w.add(field, "not a field zelle knows; ignored"),
        }
    }

    Ok(ProcessPlan {
        args,
        env,
        cwd,
        uid: user.uid(),
        gid: user.gid(),
        additional_gids,
        umask: user.umask(),
        terminal,
        console_size,
        rlimits,
        no_new_privileges,
    })
}

/// Each entry `NAME=value` with a non-empty name (as runc's prepareEnv insists). The value
/// is everything after the first `=`, further `=` included.
fn check_env(env: &[String], path: &str) -> Result<(), BundleError> {
    for (i, entry) in env.iter().enumerate() {
        match entry.split_once('=') {
            Some((name, _)) if !name.is_empty() && !name.contains('\0') => {}
            _ => {
                return Err(BundleError::invalid(
                    format!("{path}[{i}]"),
                    format!("{entry:?} is not NAME=value"),
                ))
            }
        }
    }
    Ok(())
}

fn read_hooks(value: &Value, w: &mut Warnings) -> Result<HooksPlan, BundleError> {
    let hooks: oci_spec::runtime::Hooks = typed(value, "hooks", w)?;
    #[allow(deprecated)] // prestart is deprecated by the spec, not gone from it
    let prestart = hooks.prestart();
    let kind = |name: &str,
                list: &Option<Vec<oci_spec::runtime::Hook>>|
     -> Result<Vec<HookPlan>, BundleError> {
        let path = join("hooks", name);
        list.iter()
            .flatten()
            .enumerate()
            .map(|(i, hook)| read_hook(hook, &format!("{path}[{i}]")))
            .collect()
    };
    Ok(HooksPlan {
        prestart: kind("prestart", prestart)?,
        create_runtime: kind("createRuntime", hooks.create_runtime())?,
        create_container: kind("createContainer", hooks.create_container())?,
        start_container: kind("startContainer", hooks.start_container())?,
        poststart: kind("poststart", hooks.poststart())?,
        poststop: kind("poststop", hooks.poststop())?,
    })
}

fn read_hook(hook: &oci_spec::runtime::Hook, from: &str) -> Result<HookPlan, BundleError> {
    let path = hook.path().to_string_lossy().into_owned();
    if !path.starts_with('/') {
        return Err(BundleError::invalid(
            join(from, "path"),
            format!("{path:?} is not absolute"),
        ));
    }
    let env = hook.env().clone().unwrap_or_default();
    check_env(&env, &join(from, "env"))?;
    let timeout = match hook.timeout() {
        None => None,
        Some(t) if t > 0 => Some(u32::try_from(t).unwrap_or(u32::MAX)),
        Some(t) => {
            return Err(BundleError::invalid(
                join(from, "timeout"),
                format!("{t} is not more than zero (config.md)"),
            ))
        }
    };
    Ok(HookPlan {
        path,
        args: hook.args().clone().unwrap_or_default(),
        env,
        timeout,
        from: from.to_string(),
    })
}

/// What the `linux` section gives zelle.
#[derive(Default)]
struct LinuxRead {
    limits: Vec<RctlLimit>,
    /// With `linux.namespaces` given: whether it has a network namespace.
    network_namespace: Option<bool>,
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

fn read_linux(value: &Value, w: &mut Warnings) -> Result<LinuxRead, BundleError> {
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

/// zelle's annotation, then nerdctl's, then the `freebsd.jail` network parameters, then
/// `linux.namespaces` without a network namespace (host), else zelle's default network.
fn network_plan(
    notes: &annotations::Read,
    freebsd: &FreeBsd,
    network_namespace: Option<bool>,
    w: &mut Warnings,
) -> Result<NetworkPlan, BundleError> {
    let jail = freebsd.jail.clone().unwrap_or_default();
    let jail_says =
        jail.vnet.is_some() || jail.ip4.is_some() || jail.ip6.is_some() || jail.parent.is_some();
    let mode = if let Some((mode, from)) = &notes.network {
        let clash = match mode {
            NetworkMode::Host => (jail.vnet == Some(Sharing::New)).then_some("vnet"),
            _ => [
                ("vnet", jail.vnet == Some(Sharing::Inherit)),
                ("ip4", jail.ip4.is_some()),
                ("ip6", jail.ip6.is_some()),
                ("parent", jail.parent.is_some()),
            ]
            .into_iter()
            .find_map(|(k, clash)| clash.then_some(k)),
        };
        if let Some(key) = clash {
            return Err(BundleError::invalid(
                format!("freebsd.jail.{key}"),
                format!("conflicts with {from}, which asks for network {mode:?}"),
            ));
        }
        Sourced::new(mode.clone(), from.clone())
    } else if jail_says {
        Sourced::new(NetworkMode::Jail, "freebsd.jail")
    } else if network_namespace == Some(false) {
        Sourced::new(NetworkMode::Host, "linux.namespaces")
    } else {
        Sourced::new(NetworkMode::Bridge(DEFAULT_NETWORK.into()), "default")
    };
    let (published_ports, published_ports_from) = match notes.ports.clone() {
        Some((ports, from)) if !ports.is_empty() => (ports, Some(from)),
        _ => (Vec::new(), None),
    };
    if let Some(from) = &published_ports_from {
        if !matches!(mode.value, NetworkMode::Bridge(_)) {
            w.add(from, format!("published ports need a bridged network, and the network is {:?} (from {}); not published", mode.value, mode.from));
        }
    }
    Ok(NetworkPlan {
        mode,
        published_ports,
        published_ports_from,
        extra_hosts: notes.extra_hosts.clone(),
    })
}
