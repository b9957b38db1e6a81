//! `process.rlimits`: POSIX resource limits mapped to FreeBSD's RLIMIT_* numbers.

use super::error::{BundleError, Warnings};
use super::json::{array, join, typed};
use crate::kernel::process::{Rlimit, RlimitResource};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `process.rlimits[i]` as config.md gives it: all three fields REQUIRED.
#[derive(Serialize, Deserialize)]
struct PosixRlimit {
    #[serde(rename = "type")]
    kind: String,
    hard: u64,
    soft: u64,
}

/// The FreeBSD resource for an rlimit name (`sys/sys/resource.h`). Linux's names that
/// FreeBSD shares map directly; RLIMIT_AS is FreeBSD's RLIMIT_VMEM (resource.h defines
/// RLIMIT_AS as RLIMIT_VMEM); FreeBSD's own names are accepted too.
fn rlimit_resource(name: &str) -> Option<RlimitResource> {
    use RlimitResource::*;
    Some(match name {
        "RLIMIT_CPU" => Cpu,
        "RLIMIT_FSIZE" => Fsize,
        "RLIMIT_DATA" => Data,
        "RLIMIT_STACK" => Stack,
        "RLIMIT_CORE" => Core,
        "RLIMIT_RSS" => Rss,
        "RLIMIT_MEMLOCK" => Memlock,
        "RLIMIT_NPROC" => Nproc,
        "RLIMIT_NOFILE" => Nofile,
        "RLIMIT_SBSIZE" => Sbsize,
        "RLIMIT_AS" | "RLIMIT_VMEM" => Vmem,
        "RLIMIT_NPTS" => Npts,
        "RLIMIT_SWAP" => Swap,
        "RLIMIT_KQUEUES" => Kqueues,
        "RLIMIT_UMTXP" => Umtxp,
        _ => return None,
    })
}

/// Linux rlimits with no FreeBSD counterpart (getrlimit(2) of Linux).
const LINUX_ONLY_RLIMITS: &[&str] = &[
    "RLIMIT_LOCKS",
    "RLIMIT_MSGQUEUE",
    "RLIMIT_NICE",
    "RLIMIT_RTPRIO",
    "RLIMIT_RTTIME",
    "RLIMIT_SIGPENDING",
];

/// Read `process.rlimits`. config.md: a type that cannot be mapped to a kernel interface, or
/// a type given twice, MUST be an error.
pub(crate) fn read_rlimits(
    value: &Value,
    path: &str,
    warnings: &mut Warnings,
) -> Result<Vec<Rlimit>, BundleError> {
    let mut rlimits: Vec<Rlimit> = Vec::new();
    for (i, entry) in array(value, path)?.iter().enumerate() {
        let field = format!("{path}[{i}]");
        let raw: PosixRlimit = typed(entry, &field, warnings)?;
        let Some(resource) = rlimit_resource(&raw.kind) else {
            let reason = if LINUX_ONLY_RLIMITS.contains(&raw.kind.as_str()) {
                format!("{:?} is a Linux limit FreeBSD does not have", raw.kind)
            } else {
                format!("{:?} is not an RLIMIT_* resource", raw.kind)
            };
            return Err(BundleError::invalid(join(&field, "type"), reason));
        };
        if raw.soft > raw.hard {
            return Err(BundleError::invalid(
                join(&field, "soft"),
                format!(
                    "{} is above the hard limit {} (setrlimit(2) refuses it)",
                    raw.soft, raw.hard
                ),
            ));
        }
        if let Some(j) = rlimits.iter().position(|r| r.resource == resource) {
            return Err(BundleError::invalid(
                join(&field, "type"),
                format!("{} is already set by {path}[{j}]", raw.kind),
            ));
        }
        rlimits.push(Rlimit {
            resource,
            soft: raw.soft,
            hard: raw.hard,
        });
    }
    Ok(rlimits)
}
