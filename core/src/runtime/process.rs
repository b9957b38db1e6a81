//! `process`: what to run, as whom, with which limits.

use super::error::{BundleError, Warnings};
use super::json::{is_unset, join, object, typed};
use super::rlimits::read_rlimits;
use crate::kernel::process::Rlimit;
use crate::kernel::{Jid, ProcessSpec, Stdio, WindowSize};
use serde_json::Value;

/// `process`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcessPlan {
    /// `process.args`, never empty.
    pub args: Vec<String>,
    /// `process.env`, as given: each entry `NAME=value`, the value free to hold `=`.
    pub env: Vec<String>,
    /// `process.cwd`, absolute.
    pub cwd: String,
    /// `process.user.uid` (0 when `user` is absent: it is REQUIRED, and the examples of
    /// config-freebsd.md leave it out).
    pub uid: u32,
    /// `process.user.gid`.
    pub gid: u32,
    /// `process.user.additionalGids`, at most NGROUPS_MAX (1023).
    pub additional_gids: Vec<u32>,
    /// `process.user.umask`, at most 0777.
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
    /// Read an OCI `process` object on its own (containerd's Exec sends one); the warnings
    /// name the fields not carried out.
    pub fn parse(process: &[u8]) -> Result<(ProcessPlan, Vec<super::Warning>), BundleError> {
        let value: Value = serde_json::from_slice(process)
            .map_err(|e| BundleError::Syntax(format!("process: not valid JSON: {e}")))?;
        let mut w = Warnings::default();
        let plan = read_process(&value, &mut w)?;
        Ok((plan, w.0))
    }

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
            // A pty of the console size (0×0, a new pty's own, when none is given).
            terminal: self.terminal.then(|| {
                let size = self.console_size.unwrap_or(ConsoleSize {
                    height: 0,
                    width: 0,
                });
                WindowSize {
                    rows: size.height,
                    cols: size.width,
                }
            }),
            no_new_privileges: self.no_new_privileges,
        }
    }
}

/// A terminal's size (struct winsize has u_short fields).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConsoleSize {
    pub height: u16,
    pub width: u16,
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

pub(crate) fn read_process(value: &Value, w: &mut Warnings) -> Result<ProcessPlan, BundleError> {
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
        Some(v) => read_rlimits(v, "process.rlimits", w)?,
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
pub(crate) fn check_env(env: &[String], path: &str) -> Result<(), BundleError> {
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
