//! The container runtime: an OCI bundle turned into a jail and back, through the kernel
//! contract only. Its first step reads the bundle's config.json into one checked plan,
//! [`BundleSpec`] ([`bundle`]); [`mountpoint`] resolves mount points beneath the root and
//! [`jail`] builds the jail.
//!
//! `core` reads no files: the caller reads config.json and hands over its bytes.
//!
//! # Annotations
//!
//! For what the runtime spec has no field for, zelle reads these annotations
//! ([`annotations`]); a malformed value is an error naming the annotation, an unknown
//! `org.zelle.*` key a warning:
//!
//! | key | value |
//! |---|---|
//! | `org.zelle.network` | `none` (own vnet, only lo0), `host` (the host's stack), or the name of a zelle network |
//! | `org.zelle.ports` | published ports, `8080:80,5353:53/udp` (host port, container port, tcp by default) |
//! | `org.zelle.devfs-ruleset` | the ruleset of every devfs mount, 0–65535 (default zelle's own, 77: see [`devfs_ruleset`]) |
//! | `org.zelle.rctl` | per-jail rctl limits, `memoryuse=512m,maxproc=100,pcpu=50,openfiles=1024,vmemoryuse=2g`; over `linux.resources` |
//! | `org.zelle.linux` | `true` for a Linux image, `false` for a FreeBSD one |
//!
//! and nerdctl's, which nerdctl copies from its labels into every spec:
//! `nerdctl/networks` (`["none"]`: no network; `["host"]`: the host's stack; `["bridge"]`:
//! zelle's default network; another name: that zelle network), `nerdctl/hostname` (when
//! `hostname` is empty), `nerdctl/extraHosts` (`["name:address"]`), `nerdctl/platform`
//! (`linux/…` marks a Linux image), the older `nerdctl/ports` and `nerdctl/state-dir` (whose
//! `network-config.json` holds today's port mappings). zelle's own annotations win over
//! nerdctl's. Other annotations are kept in [`BundleSpec::annotations`] uninterpreted.
//!
//! # Linux images
//!
//! An image is a Linux one when `org.zelle.linux` says so, else when `nerdctl/platform` is
//! `linux/…`, else when the mounts have linprocfs or linsysfs (containerd 2.x adds them for
//! Linux images). A `linux` section is no sign: containerd writes one for FreeBSD images too.

pub mod annotations;
pub mod bundle;
mod create;
pub mod devfs_ruleset;
pub mod error;
pub mod etc_files;
pub mod freebsd_spec;
pub mod hooks;
pub mod jail;
mod json;
pub mod lifecycle;
pub mod limits;
mod linux_spec;
pub mod mountpoint;
pub mod mounts;
pub mod network_plan;
pub mod process;
mod rlimits;
pub mod rootfs;
pub mod state;
mod teardown;

pub use bundle::{BundleSpec, ImageKind, RootPlan, Sourced};
pub use devfs_ruleset::ZELLE_DEVFS_RULESET;
pub use error::{BundleError, RuntimeError, Warning};
pub use freebsd_spec::{FreeBsd, FreeBsdDevice, FreeBsdJail, FreeBsdJailAllow, Sharing};
pub use hooks::{HookPlan, HooksPlan};
pub use lifecycle::{CreateRequest, Created, Exited, OciState, Runtime, RuntimeConfig};
pub use limits::{RctlAction, RctlLimit, RctlResource};
pub use mounts::{AccessFlags, MountPlan};
pub use network_plan::{ExtraHost, NetworkMode, NetworkPlan};
pub use process::{ConsoleSize, ProcessPlan};
pub use rootfs::RootfsMount;
pub use state::{ContainerState, ContainerStore, MemoryContainerStore, Status, StoreError};
