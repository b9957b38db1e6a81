//! Shared support for the shim's multi-process tests.

use std::path::Path;
use zelle_core::kernel::{JailFlags, JailParams, Jails, Jid, VnetMode};
use zelle_sim::SimKernel;

/// A persistent VNET jail `name` whose root is `root/name` (made here).
pub fn jail(kernel: &SimKernel, root: &Path, name: &str) -> Jid {
    let path = root.join(name);
    std::fs::create_dir_all(&path).unwrap();
    let params = JailParams {
        name: Some(name.into()),
        path: Some(path.to_string_lossy().into_owned()),
        persist: Some(true),
        vnet: Some(VnetMode::New),
        ..JailParams::default()
    };
    kernel.jail_set(&params, JailFlags::CREATE).unwrap()
}
