//! `hooks`: the programs the runtime runs around the container's life.

use super::error::{BundleError, Warnings};
use super::json::{join, typed};
use super::process::check_env;
use serde_json::Value;

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
