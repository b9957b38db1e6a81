//! `hooks`: the programs the runtime runs around the container's life.

use super::error::{BundleError, Warnings};
use super::json::{join, typed};
use super::process::check_env;
use crate::kernel::process::{StdioFd, Wait};
use crate::kernel::{ExitStatus, Jid, Kernel, ProcessSpec, Signal, Stdio};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::time::Duration;

/// How long a hook without a `timeout` may run. The spec sets no default; a hook that never
/// ends would hold the container's create forever, so zelle stops it after this.
pub const DEFAULT_HOOK_TIMEOUT: Duration = Duration::from_secs(60);

/// One hook (`hooks.<kind>[i]`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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

pub(crate) fn read_hooks(value: &Value, w: &mut Warnings) -> Result<HooksPlan, BundleError> {
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

impl HookPlan {
    /// Run the hook and wait for it: on the host, or inside jail `jail` (its path then
    /// resolves in the container's root), with the container's OCI state JSON on stdin. A
    /// hook that outlives its timeout is killed. The error names the hook (`hooks.poststart[1]`).
    pub fn run<K: Kernel + ?Sized>(
        &self,
        kernel: &K,
        jail: Option<Jid>,
        state_json: &[u8],
    ) -> Result<(), String> {
        // The spec's `args` include argv[0]; execve(2) here takes the path as argv[0].
        let mut args = vec![self.path.clone()];
        args.extend(self.args.iter().skip(1).cloned());
        let spec = ProcessSpec {
            jail,
            args,
            env: self.env.clone(),
            cwd: "/".into(),
            stdio: Stdio {
                stdin: StdioFd::Data(state_json.to_vec()),
                ..Stdio::default()
            },
            ..ProcessSpec::default()
        };
        let failed = |what: String| format!("{}: {} {what}", self.from, self.path);
        let pid = kernel
            .spawn(&spec)
            .map_err(|e| failed(format!("did not start: {e}")))?
            .pid;
        let timeout = self
            .timeout
            .map_or(DEFAULT_HOOK_TIMEOUT, |s| Duration::from_secs(u64::from(s)));
        let status = match kernel.wait(pid, Wait::For(timeout)) {
            Ok(Some(status)) => status,
            Ok(None) => {
                let _ = kernel.signal(pid, Signal::SIGKILL);
                let _ = kernel.wait(pid, Wait::Block);
                return Err(failed(format!("timed out after {} s", timeout.as_secs())));
            }
            // ECHILD too: its status went to another waiter, and an unknown end is no success.
            Err(e) => return Err(failed(format!("could not be waited for: {e}"))),
        };
        match status {
            ExitStatus::Exited(0) => Ok(()),
            ExitStatus::Exited(code) => Err(failed(format!("exited with {code}"))),
            ExitStatus::Signaled(sig) => Err(failed(format!("was killed by {sig:?}"))),
        }
    }
}
