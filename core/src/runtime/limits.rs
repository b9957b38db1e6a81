//! Per-jail rctl(8) limits, from a Linux `resources` section or zelle's `org.zelle.rctl`
//! annotation.

use super::error::{BundleError, Warnings};
use super::json::{join, typed};
use oci_spec::runtime::LinuxResources;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The resource names zelle's limits use are the kernel's: [`Resource`] (in index order) and
/// [`RctlAction`].
pub use crate::kernel::rctl::{RctlAction, Resource as RctlResource};

/// The resource of that name, in any case (the kernel matches with strcasecmp).
fn resource_named(name: &str) -> Option<RctlResource> {
    RctlResource::ALL
        .iter()
        .copied()
        .find(|r| r.name().eq_ignore_ascii_case(name))
}

/// The action zelle's limit takes: deny, or throttle for the four decaying I/O resources,
/// which cannot be denied (kern_rctl.c rctl_rule_add). cputime and wallclock take neither, so
/// zelle sets no limit on them.
fn action_for(resource: RctlResource) -> Option<RctlAction> {
    use RctlResource::*;
    match resource {
        CpuTime | WallClock => None,
        ReadBps | WriteBps | ReadIops | WriteIops => Some(RctlAction::Throttle),
        _ => Some(RctlAction::Deny),
    }
}

/// Whether an amount is a size in bytes (so `512m` means 512 MiB).
fn is_bytes(resource: RctlResource) -> bool {
    use RctlResource::*;
    matches!(
        resource,
        DataSize
            | StackSize
            | CoreDumpSize
            | MemoryUse
            | MemoryLocked
            | VMemoryUse
            | SwapUse
            | MsgqSize
            | ShmSize
            | ReadBps
            | WriteBps
    )
}

/// One per-jail limit: the rule `jail:<name>:<resource>:<action>=<amount>`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RctlLimit {
    pub resource: RctlResource,
    /// In the kernel's units: bytes, a count, or percent of one CPU for pcpu.
    pub amount: u64,
    pub action: RctlAction,
    /// The field this limit came from, such as `linux.resources.memory.limit`.
    pub from: String,
}

/// The CFS period Linux uses when `cpu.period` is not given: 100 ms.
const DEFAULT_CFS_PERIOD_US: u64 = 100_000;

/// Read `linux.resources`: memory, pids and cpu quota become rctl limits; everything else is
/// a warning (or, for the device cgroup, a warning that devfs rules decide instead).
pub(crate) fn read_linux_resources(
    value: &Value,
    path: &str,
    warnings: &mut Warnings,
) -> Result<Vec<RctlLimit>, BundleError> {
    let resources: LinuxResources = typed(value, path, warnings)?;
    let mut limits = Vec::new();
    let mut limit = |resource: RctlResource, amount: u64, from: String| {
        limits.push(RctlLimit {
            resource,
            amount,
            action: RctlAction::Deny,
            from,
        })
    };

    if let Some(memory) = resources.memory() {
        let mpath = join(path, "memory");
        // A limit of -1 (or 0) is no limit.
        if let Some(bytes) = memory.limit().filter(|&l| l > 0) {
            limit(RctlResource::MemoryUse, bytes as u64, join(&mpath, "limit"));
        }
        let unhonoured = [
            (
                "reservation",
                memory.reservation().is_some(),
                "rctl has no soft memory limit",
            ),
            (
                "swap",
                memory.swap().is_some(),
                "Linux's memory+swap limit has no rctl counterpart (swapuse counts swap alone)",
            ),
            (
                "kernel",
                memory.kernel().is_some(),
                "FreeBSD does not account kernel memory per jail",
            ),
            (
                "kernelTCP",
                memory.kernel_tcp().is_some(),
                "FreeBSD does not account TCP buffers per jail",
            ),
            (
                "swappiness",
                memory.swappiness().is_some(),
                "FreeBSD has no per-jail swappiness",
            ),
            (
                "disableOOMKiller",
                memory.disable_oom_killer().is_some(),
                "FreeBSD has no per-jail OOM killer switch",
            ),
            (
                "useHierarchy",
                memory.use_hierarchy().is_some(),
                "no cgroups on FreeBSD",
            ),
            (
                "checkBeforeUpdate",
                memory.check_before_update().is_some(),
                "no cgroups on FreeBSD",
            ),
        ];
        warn_unhonoured(warnings, &mpath, &unhonoured);
    }

    if let Some(pids) = resources.pids() {
        if pids.limit() > 0 {
            limit(
                RctlResource::MaxProc,
                pids.limit() as u64,
                join(path, "pids.limit"),
            );
        }
    }

    if let Some(cpu) = resources.cpu() {
        let cpath = join(path, "cpu");
        if let Some(quota) = cpu.quota().filter(|&q| q > 0) {
            let period = cpu.period().unwrap_or(DEFAULT_CFS_PERIOD_US);
            if period == 0 {
                return Err(BundleError::invalid(
                    join(&cpath, "period"),
                    "0 is not a CFS period",
                ));
            }
            // pcpu is percent of one CPU (kern_rctl.c RACCT_IS_IN_MILLIONS): quota/period
            // CPUs, rounded up so a small quota still runs.
            let percent = (quota as u64).saturating_mul(100).div_ceil(period);
            limit(RctlResource::Pcpu, percent.max(1), join(&cpath, "quota"));
        }
        let unhonoured = [
            (
                "shares",
                cpu.shares().is_some(),
                "rctl has no proportional CPU shares",
            ),
            ("burst", cpu.burst().is_some(), "rctl has no CPU burst"),
            (
                "realtimeRuntime",
                cpu.realtime_runtime().is_some(),
                "no real-time CPU budget per jail",
            ),
            (
                "realtimePeriod",
                cpu.realtime_period().is_some(),
                "no real-time CPU budget per jail",
            ),
            (
                "cpus",
                cpu.cpus().is_some(),
                "CPU sets for jails are not applied yet",
            ),
            (
                "mems",
                cpu.mems().is_some(),
                "FreeBSD has no per-jail memory nodes",
            ),
            (
                "idle",
                cpu.idle().is_some(),
                "FreeBSD has no SCHED_IDLE cgroups",
            ),
        ];
        warn_unhonoured(warnings, &cpath, &unhonoured);
    }

    if resources.devices().as_ref().is_some_and(|d| !d.is_empty()) {
        warnings.add(
            join(path, "devices"),
            "device cgroup rules have no FreeBSD counterpart: the devfs ruleset decides which devices the jail sees",
        );
    }
    let cgroup_only = "a cgroup control with no FreeBSD counterpart";
    let others = [
        ("blockIO", resources.block_io().is_some(), cgroup_only),
        (
            "hugepageLimits",
            resources.hugepage_limits().is_some(),
            cgroup_only,
        ),
        ("network", resources.network().is_some(), cgroup_only),
        ("rdma", resources.rdma().is_some(), cgroup_only),
        ("unified", resources.unified().is_some(), cgroup_only),
    ];
    warn_unhonoured(warnings, path, &others);
    Ok(limits)
}

/// A warning for each (key, set, why) that is set.
fn warn_unhonoured(warnings: &mut Warnings, path: &str, settings: &[(&str, bool, &str)]) {
    for (key, set, why) in settings {
        if *set {
            warnings.add(join(path, key), format!("{why}; not applied"));
        }
    }
}

/// Parse `org.zelle.rctl`: `resource=amount` pairs separated by commas, such as
/// `memoryuse=512m,maxproc=100,pcpu=50`. Sizes take rctl(8)'s suffixes k, m, g, t, p, e
/// (powers of 1024); the kernel itself takes plain numbers only.
pub(crate) fn parse_rctl_annotation(
    text: &str,
    field: &str,
) -> Result<Vec<RctlLimit>, BundleError> {
    let mut limits: Vec<RctlLimit> = Vec::new();
    for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let bad = |why: String| BundleError::invalid(field, format!("{item:?}: {why}"));
        let (name, amount) = item
            .split_once('=')
            .ok_or_else(|| bad("expected resource=amount".into()))?;
        let resource = resource_named(name.trim())
            .ok_or_else(|| bad(format!("{name:?} is not an rctl resource")))?;
        let action = action_for(resource).ok_or_else(|| {
            bad(format!(
                "{} can be neither denied nor throttled (kern_rctl.c)",
                resource.name()
            ))
        })?;
        let amount = parse_amount(amount.trim(), is_bytes(resource)).ok_or_else(|| {
            bad(format!(
                "{amount:?} is not an amount (a number{})",
                if is_bytes(resource) {
                    ", with k, m, g, t, p or e for sizes"
                } else {
                    ""
                }
            ))
        })?;
        if limits.iter().any(|l| l.resource == resource) {
            return Err(bad(format!("{} is given twice", resource.name())));
        }
        limits.push(RctlLimit {
            resource,
            amount,
            action,
            from: field.to_string(),
        });
    }
    Ok(limits)
}

fn parse_amount(text: &str, sizes: bool) -> Option<u64> {
    let (digits, shift) = match text.as_bytes().last()?.to_ascii_lowercase() {
        b'k' if sizes => (&text[..text.len() - 1], 10),
        b'm' if sizes => (&text[..text.len() - 1], 20),
        b'g' if sizes => (&text[..text.len() - 1], 30),
        b't' if sizes => (&text[..text.len() - 1], 40),
        b'p' if sizes => (&text[..text.len() - 1], 50),
        b'e' if sizes => (&text[..text.len() - 1], 60),
        _ => (text, 0),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse::<u64>().ok()?.checked_mul(1u64 << shift)
}

/// Put `overrides` over `limits`: one limit per resource, the override winning (with a
/// warning naming the field it replaced).
pub(crate) fn merge(
    limits: &mut Vec<RctlLimit>,
    overrides: Vec<RctlLimit>,
    warnings: &mut Warnings,
) {
    for new in overrides {
        if let Some(old) = limits.iter_mut().find(|l| l.resource == new.resource) {
            warnings.add(
                old.from.clone(),
                format!(
                    "{} replaced by {} from {}",
                    old.resource, new.amount, new.from
                ),
            );
            *old = new;
        } else {
            limits.push(new);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_take_rctl_size_suffixes_and_never_overflow() {
        assert_eq!(parse_amount("512m", true), Some(512 << 20));
        assert_eq!(parse_amount("2G", true), Some(2 << 30));
        assert_eq!(parse_amount("7", true), Some(7));
        assert_eq!(parse_amount("16e", true), None);
        assert_eq!(parse_amount("50k", false), None);
        assert_eq!(parse_amount("-1", false), None);
        assert_eq!(parse_amount("", false), None);
        assert_eq!(parse_amount("m", true), None);
    }

    #[test]
    fn resources_are_found_by_their_kernel_name_in_any_case() {
        assert_eq!(resource_named("MemoryUse"), Some(RctlResource::MemoryUse));
        assert_eq!(resource_named("pcpu"), Some(RctlResource::Pcpu));
        assert_eq!(resource_named("memory"), None);
        assert_eq!(
            action_for(RctlResource::ReadBps),
            Some(RctlAction::Throttle)
        );
        assert_eq!(action_for(RctlResource::WallClock), None);
        assert!(is_bytes(RctlResource::VMemoryUse) && !is_bytes(RctlResource::MaxProc));
    }
}
