//! Undoing a container from its record alone: what Delete does, what a failed Create does,
//! and what a later Delete does after a runtime died midway. Every step tolerates finding its
//! piece already gone or never made, so it can run any number of times.
//!
//! The order: the network first (its epair end lives in the jail's vnet), then the jail
//! (jail_remove(2) kills its processes, which are reaped), its rctl rules, and the mounts,
//! last made first.

use super::state::{ContainerState, MountRecord};
use crate::kernel::process::{ExitStatus, Wait};
use crate::kernel::{Errno, JailFlags, JailKey, Kernel, KernelError, MountFlags, Op, RctlFilter};
use crate::network::{NetStore, Networks};

/// What could not be undone, one line each.
pub(crate) type Leftovers = Vec<String>;

/// Undo everything `state` records. Nothing of it remains when the answer is empty.
pub(crate) fn tear_down<K: Kernel + ?Sized, N: NetStore>(
    networks: &Networks<K, N>,
    state: &mut ContainerState,
) -> Leftovers {
    let kernel = &**networks.kernel();
    let mut leftovers = Leftovers::new();
    if state.network.is_some() {
        match networks.detach(&state.id) {
            Ok(()) => state.network = None,
            Err(e) => leftovers.push(format!("network: {e}")),
        }
    }
    if let Err(e) = remove_jail(kernel, state) {
        leftovers.push(e);
    }
    // The rules are the jail name's, and outlive the jail.
    if state.limits {
        if let Some(name) = &state.jail {
            match kernel.rctl_remove_rule(&RctlFilter::jail(name)) {
                // ESRCH: no rule matched; ENOSYS: racct is off, so no rule can exist.
                Ok(()) => state.limits = false,
                Err(e) if e.is(Op::RctlRemoveRule, Errno::ESRCH) => state.limits = false,
                Err(e) if e.is(Op::RctlRemoveRule, Errno::ENOSYS) => state.limits = false,
                Err(e) => leftovers.push(format!("rctl rules of jail {name:?}: {e}")),
            }
        }
    }
    if let Err(e) = unmount_all(kernel, &mut state.mounts) {
        leftovers.push(e);
    }
    leftovers
}

/// Remove the container's jail, if the record names one that exists and is ours, and reap the
/// processes the runtime started in it.
fn remove_jail<K: Kernel + ?Sized>(kernel: &K, state: &mut ContainerState) -> Result<(), String> {
    let Some(name) = state.jail.clone() else {
        return Ok(());
    };
    let found = kernel.jail_get(&JailKey::Name(name.clone()), JailFlags::default());
    match found {
        // Another jail of that name, not made for this container's root, is not ours to remove.
        Ok(info) if state.jid.is_some_and(|jid| jid != info.jid) => {}
        Ok(info) if state.jid.is_none() && info.path != state.root => {}
        Ok(info) => {
            // The processes, zombies too, before the removal kills them: the orphans among
            // them may be ours to reap (we were their reaper).
            let processes = kernel.jail_processes(info.jid).unwrap_or_default();
            if let Err(e) = kernel.jail_remove(info.jid) {
                if !e.is(Op::JailRemove, Errno::EINVAL) {
                    return Err(format!("jail {name:?}: {e}"));
                }
            }
            reap(kernel, state);
            for process in processes {
                // ECHILD: not ours; another reaper collects it.
                let _ = kernel.wait(process.pid, Wait::Block);
            }
        }
        Err(e) if e.is(Op::JailGet, Errno::ENOENT) => {}
        Err(e) => return Err(format!("jail {name:?}: {e}")),
    }
    reap(kernel, state);
    // The name stays: the rctl rules below are the name's, and a retried delete finds no
    // jail by it.
    state.jid = None;
    Ok(())
}

/// Wait for the processes the record says run: jail_remove(2) has killed them. ECHILD means
/// another waiter (the shim's reaper) got there first, or a dead runtime was their parent.
fn reap<K: Kernel + ?Sized>(kernel: &K, state: &mut ContainerState) {
    let records = state.init.iter_mut().chain(state.execs.values_mut());
    for record in records.filter(|r| r.exit.is_none()) {
        record.exit = match kernel.wait(record.pid, crate::kernel::Wait::Block) {
            Ok(Some(status)) => Some(status),
            Ok(None) | Err(_) => Some(ExitStatus::Signaled(crate::kernel::Signal::SIGKILL)),
        };
    }
}

/// Unmount what the record lists, last first. A recorded mount that is not there (the
/// runtime died before its nmount, or a delete before this one got that far) answers EINVAL,
/// "not a mount point", or ENOENT when its mount point went with an earlier unmount.
fn unmount_all<K: Kernel + ?Sized>(
    kernel: &K,
    mounts: &mut Vec<MountRecord>,
) -> Result<(), String> {
    while let Some(last) = mounts.last() {
        match unmount(kernel, &last.on) {
            Ok(()) => {}
            Err(e) if e.is(Op::Unmount, Errno::EINVAL) || e.is(Op::Unmount, Errno::ENOENT) => {}
            Err(e) => return Err(format!("{} on {}: {e}", last.fstype, last.on)),
        }
        mounts.pop();
    }
    Ok(())
}

/// unmount(2), forced when a process still holds a vnode (a killed process may not have let
/// go yet).
fn unmount<K: Kernel + ?Sized>(kernel: &K, on: &str) -> Result<(), KernelError> {
    match kernel.unmount(on, MountFlags::default()) {
        Err(e) if e.is(Op::Unmount, Errno::EBUSY) => kernel.unmount(on, MountFlags::FORCE),
        other => other,
    }
}
