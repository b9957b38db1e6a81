//! Mount points inside a container's root: a mount destination from the OCI config resolved
//! component by component beneath the root, through the kernel contract's [`Files`], and
//! created where it is missing.
//!
//! The root is the image's, so nothing in it is trusted. A destination may pass through
//! relative symbolic links that stay inside the root (`/var/run` → `../run` is common), but it
//! is refused, naming the component, when it would leave the root: by `..` above it, by an
//! absolute link (which would mean the host's `/` to the kernel), or by a chain of relative
//! links that climbs out. The answer is the path with every link resolved, so the kernel's
//! nmount(2) follows no link at all; the kernel's own `O_RESOLVE_BENEATH` lookups behind
//! `Files` are a second fence around the same rule.
//!
//! There is no race to guard against: mount points are made during Create, before any
//! process of the container runs, and only the container could change its root.

use crate::kernel::{Errno, FileType, Files, KernelError};

/// MAXSYMLINKS (`sys/sys/param.h`): links followed in one resolution before ELOOP.
const MAX_LINKS: usize = 32;

/// What is to be mounted on the mount point: a directory (most file systems) or a file
/// (a nullfs mount of a single file, such as /etc/resolv.conf).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mountpoint {
    Directory,
    File,
}

/// Why a destination cannot be a mount point. Each names the offending part of the path.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum MountpointError {
    #[error("{destination:?} is not an absolute path")]
    NotAbsolute { destination: String },
    #[error("{destination:?} leaves the container's root by \"..\" at {at:?}")]
    DotDotEscape { destination: String, at: String },
    #[error("{destination:?} passes through {at:?}, a link to the absolute path {target:?}")]
    AbsoluteLink {
        destination: String,
        at: String,
        target: String,
    },
    #[error("{destination:?}: more than {MAX_LINKS} symbolic links on the way")]
    TooManyLinks { destination: String },
    #[error("{destination:?}: {at:?} is not a directory")]
    NotADirectory { destination: String, at: String },
    #[error("{destination:?}: {at:?} is a directory, not a file to mount a file on")]
    NotAFile { destination: String, at: String },
    #[error("{destination:?}: {at:?} is a device, FIFO or socket")]
    Special { destination: String, at: String },
    #[error("{destination:?}: {source}")]
    Kernel {
        destination: String,
        source: KernelError,
    },
}

/// Resolve `destination` (absolute, as in the OCI config) beneath `root`, creating what is
/// missing (directories with mode 0755; the last component as `kind`), and return the path of
/// the mount point: `root` joined with the resolved components, free of links.
///
/// The whole path is checked before anything is created, so a refused destination leaves the
/// root as it was.
pub fn prepare_mountpoint<K: Files + ?Sized>(
    kernel: &K,
    root: &str,
    destination: &str,
    kind: Mountpoint,
) -> Result<String, MountpointError> {
    let at = |steps: &[Step]| format!("/{}", joined(steps));
    if !destination.starts_with('/') {
        return Err(MountpointError::NotAbsolute {
            destination: destination.to_string(),
        });
    }
    let kernel_error = |source| MountpointError::Kernel {
        destination: destination.to_string(),
        source,
    };
    // The components resolved so far (each either present or still to be made), and those
    // still to walk (a link splices its target in front of them).
    let mut resolved: Vec<Step> = Vec::new();
    let mut pending = components(destination);
    let mut links = 0;
    while !pending.is_empty() {
        let name = pending.remove(0);
        let last = pending.is_empty();
        match name.as_str() {
            "." => continue,
            ".." => {
                if resolved.pop().is_none() {
                    return Err(MountpointError::DotDotEscape {
                        destination: destination.to_string(),
                        at: at(&resolved),
                    });
                }
                continue;
            }
            _ => {}
        }
        let want = match last && kind == Mountpoint::File {
            true => FileType::Regular,
            false => FileType::Directory,
        };
        // Below a component still to be made, nothing exists yet.
        if resolved.last().is_some_and(|step| step.missing.is_some()) {
            resolved.push(Step::missing(name, want));
            continue;
        }
        resolved.push(Step::present(name));
        let here = joined(&resolved);
        match kernel.stat_beneath(root, &here) {
            Err(e) if e.code() == Some(Errno::ENOENT) => {
                if let Some(step) = resolved.last_mut() {
                    step.missing = Some(want);
                }
            }
            Err(e) => return Err(kernel_error(e)),
            Ok(FileType::Symlink) => {
                links += 1;
                if links > MAX_LINKS {
                    return Err(MountpointError::TooManyLinks {
                        destination: destination.to_string(),
                    });
                }
                let target = kernel
                    .read_link_beneath(root, &here)
                    .map_err(kernel_error)?;
                if target.starts_with('/') {
                    return Err(MountpointError::AbsoluteLink {
                        destination: destination.to_string(),
                        at: format!("/{here}"),
                        target,
                    });
                }
                // The link gives way to its target, read from the link's directory.
                resolved.pop();
                let mut spliced = components(&target);
                spliced.append(&mut pending);
                pending = spliced;
            }
            Ok(FileType::Directory) if want == FileType::Directory => {}
            Ok(FileType::Directory) => {
                return Err(MountpointError::NotAFile {
                    destination: destination.to_string(),
                    at: at(&resolved),
                })
            }
            Ok(FileType::Regular) if want == FileType::Regular => {}
            Ok(FileType::Regular) => {
                return Err(MountpointError::NotADirectory {
                    destination: destination.to_string(),
                    at: at(&resolved),
                })
            }
            Ok(FileType::Other) => {
                return Err(MountpointError::Special {
                    destination: destination.to_string(),
                    at: at(&resolved),
                })
            }
        }
    }
    if resolved.is_empty() && kind == Mountpoint::File {
        return Err(MountpointError::NotAFile {
            destination: destination.to_string(),
            at: at(&resolved),
        });
    }
    for (ix, step) in resolved.iter().enumerate() {
        if let Some(kind) = step.missing {
            let mode = match kind {
                FileType::Directory => 0o755,
                _ => 0o644,
            };
            kernel
                .create_beneath(root, &joined(&resolved[..=ix]), kind, mode)
                .map_err(kernel_error)?;
        }
    }
    let root = root.trim_end_matches('/');
    Ok(match resolved.is_empty() {
        true => root.to_string(),
        false => format!("{root}/{}", joined(&resolved)),
    })
}

/// One resolved component: present in the root, or to be made as `missing`.
struct Step {
    name: String,
    missing: Option<FileType>,
}

impl Step {
    fn present(name: String) -> Self {
        Step {
            name,
            missing: None,
        }
    }

    fn missing(name: String, kind: FileType) -> Self {
        Step {
            name,
            missing: Some(kind),
        }
    }
}

fn joined(steps: &[Step]) -> String {
    steps
        .iter()
        .map(|s| s.name.as_str())
        .collect::<Vec<_>>()
        .join("/")
}

fn components(path: &str) -> Vec<String> {
    path.split('/')
        .filter(|c| !c.is_empty())
        .map(str::to_string)
        .collect()
}
