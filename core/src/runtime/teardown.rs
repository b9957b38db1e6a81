//! Undoing a container from its record alone: what Delete does, what a failed Create does,
//! and what a later Delete does after a runtime died midway. Every step tolerates finding its
//! piece already gone or never made, so it can run any number of times.
//!
//! The order: the network first (its epair end lives in the jail's vnet), then the jail
//! (jail_remove(2) kills its processes, which are reaped), its rctl rules, and the mounts,
//! last made first.

use super::state::{ContainerState, MountRecord};
use crate::kernel::process::{ExitStatus, Wait};
use crate::kernel::{
    Errno, FileType, JailFlags, JailKey, Kernel, KernelError, MountFlags, Op, Pid, RctlFilter,
    Signal,
};
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
    if let Err(e) = unmount_all(kernel, &state.root.clone(), &mut state.mounts) {
        leftovers.push(e);
    }
    leftovers
}

/// Remove the container's jail, if the record names one that exists and is ours, and reap the
/// processes that were in it: those the record names (with their status) and the orphans the
/// runtime adopted as their reaper.
fn remove_jail<K: Kernel + ?Sized>(kernel: &K, state: &mut ContainerState) -> Result<(), String> {
    let Some(name) = state.jail.clone() else {
        return Ok(());
    };
    let found = kernel.jail_get(&JailKey::Name(name.clone()), JailFlags::default());
    let mut unlisted = None;
    let processes = match found {
        // Another jail of that name, not made for this container's root, is not ours to remove.
        Ok(info) if state.jid.is_some_and(|jid| jid != info.jid) => Vec::new(),
        Ok(info) if state.jid.is_none() && info.path != state.root => Vec::new(),
        Ok(info) => {
            // Listed before the removal kills them, zombies too.
            let processes = kernel.jail_processes(info.jid).unwrap_or_else(|e| {
                unlisted = Some(format!(
                    "jail {name:?}: its processes could not be listed to be reaped: {e}"
                ));
                Vec::new()
            });
            if let Err(e) = kernel.jail_remove(info.jid) {
                if !e.is(Op::JailRemove, Errno::EINVAL) {
                    return Err(format!("jail {name:?}: {e}"));
                }
            }
            processes
        }
        Err(e) if e.is(Op::JailGet, Errno::ENOENT) => Vec::new(),
        Err(e) => return Err(format!("jail {name:?}: {e}")),
    };
    let listed: Vec<Pid> = processes.iter().map(|p| p.pid).collect();
    reap(kernel, state, &listed);
    let recorded: Vec<Pid> = state
        .init
        .iter()
        .chain(state.execs.values())
        .map(|r| r.pid)
        .collect();
    for pid in listed.into_iter().filter(|pid| !recorded.contains(pid)) {
        // Orphans; ECHILD: not ours, their reaper collects them.
        let _ = kernel.wait(pid, Wait::Block);
    }
    // The name stays: the rctl rules below are the name's, and a retried delete finds no
    // jail by it.
    state.jid = None;
    unlisted.map_or(Ok(()), Err)
}

/// The exits of the processes the record says run. Only a pid that was in the jail is waited
/// for (jail_remove(2) has killed it): a pid from an older record may be another's by now.
/// One not there, or another waiter's (ECHILD), ended unseen: killed with its jail.
fn reap<K: Kernel + ?Sized>(kernel: &K, state: &mut ContainerState, in_jail: &[Pid]) {
    let records = state.init.iter_mut().chain(state.execs.values_mut());
    for record in records.filter(|r| r.exit.is_none()) {
        let seen = match in_jail.contains(&record.pid) {
            true => kernel.wait(record.pid, Wait::Block).ok().flatten(),
            false => None,
        };
        record.exit = Some(seen.unwrap_or(ExitStatus::Signaled(Signal::SIGKILL)));
    }
}

/// Unmount what the record lists, last first. A recorded mount that is not there (the
/// runtime died before its nmount, or a delete before this one got that far) answers EINVAL,
/// "not a mount point", or ENOENT when its mount point went with an earlier unmount.
///
/// unmount(2) follows links, and the container may have turned a mount point below its root
/// into a link to a host path: such a mount is left, named, rather than unmounting what the
/// link leads to. (The jail is gone by now, so nothing changes the tree under this check.)
fn unmount_all<K: Kernel + ?Sized>(
    kernel: &K,
    root: &str,
    mounts: &mut Vec<MountRecord>,
) -> Result<(), String> {
    while let Some(last) = mounts.last() {
        if let Some(rel) = last.on.strip_prefix(root).and_then(|r| r.strip_prefix('/')) {
            let turned = match kernel.stat_beneath(root, rel) {
                Ok(kind) => kind == FileType::Symlink,
                Err(e) => [Errno::ENOTCAPABLE, Errno::ELOOP, Errno::EMLINK]
                    .iter()
                    .any(|&errno| e.is(Op::StatBeneath, errno)),
            };
            if turned {
                return Err(format!(
                    "{} on {}: the container made its mount point a link leading out of its root; not unmounted by that path",
                    last.fstype, last.on
                ));
            }
        }
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
