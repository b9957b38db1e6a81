//! Create's steps, each recorded in the state directory before the kernel change it stands
//! for: the root and its mounts, the jail, the network, the limits, the create hooks.

use super::bundle::BundleSpec;
use super::devfs_ruleset::ZELLE_DEVFS_RULESET;
use super::error::RuntimeError;
use super::etc_files::write_network_files;
use super::jail::{container_jail, HostLevels};
use super::lifecycle::{kernel_error, refused, state_json, Runtime};
use super::mountpoint::{prepare_mountpoint, Mountpoint};
use super::mounts::MountPlan;
use super::network_plan::NetworkMode;
use super::process::ProcessPlan;
use super::rootfs::{self, RootfsMount};
use super::state::{ContainerState, ContainerStore, MountRecord};
use crate::kernel::jail::LINUX64_MODULE;
use crate::kernel::rctl::RctlRule;
use crate::kernel::{Errno, FileType, JailFlags, Jid, Kernel, MountRequest, Op, SysctlValue};
use crate::network::{AttachRequest, NetStore};

/// The default search path when the process's env has no PATH (containerd's default).
const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// One create at work: the record it keeps up to date before each kernel change.
pub(super) struct Creation<'r, K: ?Sized, S, N> {
    pub(super) runtime: &'r Runtime<K, S, N>,
    pub(super) state: ContainerState,
}

impl<K: Kernel + ?Sized, S: ContainerStore, N: NetStore> Creation<'_, K, S, N> {
    fn kernel(&self) -> &K {
        self.runtime.kernel()
    }

    pub(super) fn save(&self) -> Result<(), RuntimeError> {
        Ok(self.runtime.store.save(&self.state)?)
    }

    fn id(&self) -> &str {
        &self.state.id
    }

    /// Every step of create, in order. Returns the jid and the init's executable.
    pub(super) fn make(
        &mut self,
        spec: &BundleSpec,
        name: &str,
        rootfs: &[RootfsMount],
    ) -> Result<(Jid, String), RuntimeError> {
        let root = spec.root.path.clone();
        let files_root = self.mount_root(spec, rootfs)?;
        let executable = find_executable(self.kernel(), self.id(), &files_root, &spec.process)?;
        let sequence = rootfs::mount_sequence(spec);
        for (i, plan) in sequence.iter().enumerate() {
            let on = match rootfs::covering(&sequence[..i], &plan.destination) {
                // devfs makes its own nodes (fd among them) and no directories: the mount
                // point is looked up by nmount(2), which answers ENOENT when it is hidden.
                Some(cover) if cover.fstype == "devfs" => format!("{root}{}", plan.destination),
                // Inside an earlier mount: made there, as the kernel shows it now.
                Some(_) => self.prepare(plan, &root)?,
                // Made in the root's own files, so a read-only root gets them too.
                None => {
                    let resolved = self.prepare(plan, &files_root)?;
                    format!(
                        "{root}{}",
                        &resolved[files_root.trim_end_matches('/').len()..]
                    )
                }
            };
            let during = format!("{} ({} on {})", plan.from, plan.fstype, plan.destination);
            self.mount(&rootfs::request(plan, &on), &during)?;
            if plan.fstype == "devfs" && spec.devfs_ruleset == ZELLE_DEVFS_RULESET {
                self.runtime.ensure_devfs_ruleset(&on).map_err(|source| {
                    kernel_error(
                        self.id(),
                        &format!("{during}: zelle's devfs ruleset"),
                        source,
                    )
                })?;
            }
        }
        let jid = self.make_jail(spec, name)?;
        self.attach_network(spec, jid)?;
        let full_name = self.state.jail.clone().unwrap_or_else(|| name.to_string());
        self.set_limits(spec, &full_name)?;
        self.create_hooks(spec)?;
        Ok((jid, executable))
    }

    /// The mount point of `plan` beneath `root`, made where missing.
    fn prepare(&self, plan: &MountPlan, root: &str) -> Result<String, RuntimeError> {
        let kind = self.mountpoint_kind(&plan.fstype, plan.source.as_deref());
        prepare_mountpoint(self.kernel(), root, &plan.destination, kind).map_err(|source| {
            RuntimeError::Mountpoint {
                id: self.id().to_string(),
                field: plan.from.clone(),
                source,
            }
        })
    }

    /// A nullfs of a regular file goes on a file; everything else on a directory.
    fn mountpoint_kind(&self, fstype: &str, source: Option<&str>) -> Mountpoint {
        let file = fstype == "nullfs"
            && source.is_some_and(|s| {
                self.kernel()
                    .stat_beneath("/", s.trim_start_matches('/'))
                    .is_ok_and(|t| t == FileType::Regular)
            });
        if file {
            Mountpoint::File
        } else {
            Mountpoint::Directory
        }
    }

    /// Record the mount, then make it.
    fn mount(&mut self, request: &MountRequest, during: &str) -> Result<(), RuntimeError> {
        self.state.mounts.push(MountRecord {
            fstype: request.fstype.clone(),
            on: request.fspath.clone(),
        });
        self.save()?;
        self.kernel()
            .nmount(request)
            .map_err(|source| kernel_error(self.id(), during, source))
    }

    /// Mount the root from containerd's mounts. Returns where the root's files can be
    /// changed: the nullfs source, so that a read-only root still gets its mount points.
    fn mount_root(
        &mut self,
        spec: &BundleSpec,
        rootfs: &[RootfsMount],
    ) -> Result<String, RuntimeError> {
        let root = &spec.root.path;
        match rootfs {
            [] if spec.root.readonly => Err(refused(
                self.id(),
                "root.readonly: zelle makes a root read-only by mounting it, and containerd handed over no root mount".into(),
            )),
            [] => Ok(root.clone()),
            [one] => {
                let request = one
                    .request(root, spec.root.readonly, "rootfs[0]")
                    .map_err(|reason| refused(self.id(), reason))?;
                let files_root = match request.fstype.as_str() {
                    "nullfs" => request.from.clone().unwrap_or_else(|| root.clone()),
                    _ => root.clone(),
                };
                if request.fstype != "nullfs" && spec.root.readonly {
                    return Err(refused(
                        self.id(),
                        "root.readonly: only a nullfs root can be made read-only yet".into(),
                    ));
                }
                self.mount(&request, &format!("rootfs[0] ({} on {root})", request.fstype))?;
                Ok(files_root)
            }
            _ => Err(refused(
                self.id(),
                format!(
                    "rootfs: {} mounts; zelle mounts one (nullfs or zfs), no overlays",
                    rootfs.len()
                ),
            )),
        }
    }

    /// Record the jail's name, then create it.
    fn make_jail(&mut self, spec: &BundleSpec, name: &str) -> Result<Jid, RuntimeError> {
        let host = self.host_levels()?;
        let params =
            container_jail(spec, name, host).map_err(|reason| refused(self.id(), reason))?;
        let full_name = params.name.clone().unwrap_or_else(|| name.to_string());
        self.state.jail = Some(full_name.clone());
        self.save()?;
        let jid = self
            .kernel()
            .jail_set(&params, JailFlags::CREATE)
            .map_err(|source| {
                kernel_error(self.id(), &format!("create jail {full_name:?}"), source)
            })?;
        self.state.jid = Some(jid);
        self.save()?;
        Ok(jid)
    }

    /// The host's securelevel and whether its Linux ABI (linux64.ko, which brings the `linux*`
    /// jail parameters with linux_common) is loaded.
    fn host_levels(&self) -> Result<HostLevels, RuntimeError> {
        let securelevel = match self.kernel().sysctl("kern.securelevel") {
            Ok(SysctlValue::Int(level)) => level as i32,
            Ok(other) => {
                return Err(refused(
                    self.id(),
                    format!("kern.securelevel reads {other:?}, not a number"),
                ))
            }
            Err(source) => return Err(kernel_error(self.id(), "read kern.securelevel", source)),
        };
        let linux_abi = self
            .kernel()
            .module_loaded(LINUX64_MODULE)
            .map_err(|source| kernel_error(self.id(), "look for the Linux ABI", source))?;
        Ok(HostLevels {
            securelevel,
            linux_abi,
        })
    }

    fn attach_network(&mut self, spec: &BundleSpec, jid: Jid) -> Result<(), RuntimeError> {
        let NetworkMode::Bridge(network) = &spec.network.mode.value else {
            return Ok(());
        };
        self.state.network = Some(network.clone());
        self.save()?;
        let request = AttachRequest {
            container_id: self.id().to_string(),
            network: network.clone(),
            jid,
            hostname: spec
                .hostname
                .as_ref()
                .map_or(String::new(), |h| h.value.clone()),
            ports: spec.network.published_ports.clone(),
            dns: self.runtime.config.dns.clone(),
        };
        let attachment =
            self.runtime
                .networks
                .attach(&request)
                .map_err(|source| RuntimeError::Network {
                    id: self.id().to_string(),
                    source: Box::new(source),
                })?;
        write_network_files(self.kernel(), &spec.root.path, &attachment).map_err(|source| {
            kernel_error(self.id(), "write /etc/resolv.conf and /etc/hosts", source)
        })
    }

    /// prestart and createRuntime, then createContainer, once the jail and its network exist.
    /// All run on the host: a jail has no namespace a host program could enter while keeping
    /// its host path, so createContainer runs where createRuntime does (a departure from
    /// config.md, which wants it in the container's namespaces).
    fn create_hooks(&self, spec: &BundleSpec) -> Result<(), RuntimeError> {
        let json = state_json(&self.state, "creating");
        let hooks = &spec.hooks;
        for hook in hooks
            .prestart
            .iter()
            .chain(&hooks.create_runtime)
            .chain(&hooks.create_container)
        {
            hook.run(self.kernel(), None, &json)
                .map_err(|reason| refused(self.id(), reason))?;
        }
        Ok(())
    }

    /// Record that limits exist, then add them, one rctl rule per limit.
    fn set_limits(&mut self, spec: &BundleSpec, name: &str) -> Result<(), RuntimeError> {
        if spec.limits.is_empty() {
            return Ok(());
        }
        self.state.limits = true;
        self.save()?;
        for limit in &spec.limits {
            let rule = RctlRule::jail(name, limit.resource, limit.action, limit.amount);
            self.kernel().rctl_add_rule(&rule).map_err(|source| {
                let during = if source.is(Op::RctlAddRule, Errno::ENOSYS) {
                    format!(
                        "{}: rctl limits need racct: set kern.racct.enable=1 in /boot/loader.conf and reboot",
                        limit.from
                    )
                } else {
                    format!("{}: rctl rule {rule}", limit.from)
                };
                kernel_error(self.id(), &during, source)
            })?;
        }
        Ok(())
    }
}

/// argv[0] as execve(2) in the container will find it: a path as given (relative to the
/// working directory), or a name searched along the process's PATH inside `root`, as
/// execvp(3) does. The file must exist there; a lookup the kernel refuses for another reason
/// than ENOENT is that error.
pub(super) fn find_executable<K: Kernel + ?Sized>(
    kernel: &K,
    id: &str,
    root: &str,
    process: &ProcessPlan,
) -> Result<String, RuntimeError> {
    let arg0 = &process.args[0];
    let exists = |path: &str| match kernel.stat_beneath(root, path.trim_start_matches('/')) {
        Ok(kind) => Ok(matches!(kind, FileType::Regular | FileType::Symlink)),
        Err(e) if e.is(Op::StatBeneath, Errno::ENOENT) => Ok(false),
        Err(e) if e.is(Op::StatBeneath, Errno::ENOTDIR) => Ok(false),
        Err(source) => Err(kernel_error(
            id,
            &format!("process.args[0]: look up {path:?}"),
            source,
        )),
    };
    if arg0.contains('/') {
        let path = if arg0.starts_with('/') {
            arg0.clone()
        } else {
            format!("{}/{arg0}", process.cwd.trim_end_matches('/'))
        };
        return match exists(&path)? {
            true => Ok(arg0.clone()),
            false => Err(refused(
                id,
                format!("process.args[0]: {arg0:?} does not exist in the container's root"),
            )),
        };
    }
    let path = process
        .env
        .iter()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or(DEFAULT_PATH);
    for dir in path.split(':').filter(|dir| dir.starts_with('/')) {
        let candidate = format!("{}/{arg0}", dir.trim_end_matches('/'));
        if exists(&candidate)? {
            return Ok(candidate);
        }
    }
    Err(refused(
        id,
        format!(
            "process.args[0]: {arg0:?} is not found along PATH {path:?} in the container's root"
        ),
    ))
}
