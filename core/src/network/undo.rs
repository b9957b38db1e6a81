//! Undoing kernel changes: the steps a rollback or a detach takes, and which errnos mean
//! that what a step would undo is already gone.

use super::error::NetworkError;
use super::rules::replace_anchor_rules;
use super::state::LoopbackBefore;
use crate::kernel::pf::PfRuleset;
use crate::kernel::{Errno, IfFlags, Jid, KResult, Kernel, KernelError, Op, Vnet};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// A vnet's loopback interface.
pub(crate) const LOOPBACK: &str = "lo0";

/// One kernel change to take back. Stored with a record when it could not be done, so that
/// a later detach or remove does it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Undo {
    /// Destroy a cloned interface; for an epair, both ends, wherever the other end is.
    Destroy {
        vnet: Vnet,
        name: String,
    },
    BridgeDelete {
        bridge: String,
        member: String,
    },
    /// Put back the MTU of an interface zelle found rather than made.
    SetMtu {
        vnet: Vnet,
        name: String,
        mtu: u32,
    },
    /// Put back the flags of an interface zelle found rather than made.
    SetFlags {
        vnet: Vnet,
        name: String,
        flags: IfFlags,
    },
    /// Delete an address zelle added to an interface it found rather than made.
    DeleteAddress {
        vnet: Vnet,
        name: String,
        addr: IpAddr,
    },
    /// Put a jail's lo0 back as it was: its flags, and no address it did not have (whether
    /// zelle added it or the kernel did on the way up).
    RestoreLoopback {
        jid: Jid,
        before: LoopbackBefore,
    },
    /// Empty an anchor's rulesets in one transaction (pf removes an anchor left empty).
    PfFlush {
        anchor: String,
        rulesets: Vec<PfRuleset>,
    },
}

impl Undo {
    fn vnet(&self) -> Vnet {
        match self {
            Undo::Destroy { vnet, .. }
            | Undo::SetMtu { vnet, .. }
            | Undo::SetFlags { vnet, .. }
            | Undo::DeleteAddress { vnet, .. } => *vnet,
            Undo::RestoreLoopback { jid, .. } => Vnet::Jail(*jid),
            Undo::BridgeDelete { .. } | Undo::PfFlush { .. } => Vnet::Host,
        }
    }

    /// Whether `error` from this step means there was nothing left to undo:
    /// - jail_attach(2) refused the jail (EINVAL): it is gone or dying (`kern_jail.c`,
    ///   `do_jail_attach`), and with it went everything inside its vnet;
    /// - ENXIO: the interface does not exist (`if.c`, `ifunit_ref` failing in `ifioctl`;
    ///   `if_clone.c`, `if_clone_destroy`). The epair was destroyed with its other end, or
    ///   the bridge with the network.
    /// - ENOENT from BRDGDEL: the interface is not a member (`if_bridge.c`,
    ///   `bridge_ioctl_del`, `bridge_lookup_member` failing).
    /// - EADDRNOTAVAIL from SIOCDIFADDR(_IN6): the address is not there (`in.c`,
    ///   `in_difaddr_ioctl`; `in6.c`, `in6_control`).
    fn already_gone(&self, error: &KernelError) -> bool {
        if jail_gone(error) {
            return true;
        }
        let Some(errno) = error.code() else {
            return false;
        };
        match self {
            Undo::Destroy { .. } | Undo::SetMtu { .. } | Undo::SetFlags { .. } => {
                errno == Errno::ENXIO
            }
            Undo::DeleteAddress { .. } => errno == Errno::ENXIO || errno == Errno::EADDRNOTAVAIL,
            Undo::BridgeDelete { .. } => errno == Errno::ENXIO || errno == Errno::ENOENT,
            // Each address is deleted on its own and EADDRNOTAVAIL skipped there.
            Undo::RestoreLoopback { .. } => errno == Errno::ENXIO,
            Undo::PfFlush { .. } => false,
        }
    }

    fn run<K: Kernel + ?Sized>(&self, kernel: &K) -> KResult<()> {
        match self {
            Undo::Destroy { vnet, name } => kernel.destroy_interface(*vnet, name),
            Undo::BridgeDelete { bridge, member } => {
                kernel.bridge_delete_member(Vnet::Host, bridge, member)
            }
            Undo::SetMtu { vnet, name, mtu } => kernel.set_mtu(*vnet, name, *mtu),
            Undo::SetFlags { vnet, name, flags } => kernel.set_interface_flags(*vnet, name, *flags),
            Undo::DeleteAddress { vnet, name, addr } => match addr {
                IpAddr::V4(addr) => kernel.delete_inet_alias(*vnet, name, *addr),
                IpAddr::V6(addr) => kernel.delete_inet6_alias(*vnet, name, *addr),
            },
            Undo::RestoreLoopback { jid, before } => restore_loopback(kernel, *jid, before),
            Undo::PfFlush { anchor, rulesets } => {
                replace_anchor_rules(kernel, anchor, rulesets, &[])
            }
        }
    }

    fn describe(&self) -> String {
        let place = |vnet: &Vnet| match vnet {
            Vnet::Host => "on the host".to_string(),
            Vnet::Jail(jid) => format!("in jail {jid}"),
        };
        match self {
            Undo::Destroy { vnet, name } => format!("interface {name} {}", place(vnet)),
            Undo::BridgeDelete { bridge, member } => format!("member {member} of {bridge}"),
            Undo::SetMtu { vnet, name, .. } => format!("the MTU of {name} {}", place(vnet)),
            Undo::SetFlags { vnet, name, .. } => format!("the flags of {name} {}", place(vnet)),
            Undo::DeleteAddress { vnet, name, addr } => {
                format!("address {addr} of {name} {}", place(vnet))
            }
            Undo::RestoreLoopback { jid, .. } => format!("{LOOPBACK} in jail {jid}"),
            Undo::PfFlush { anchor, .. } => format!("pf anchor {anchor}"),
        }
    }
}

/// Put lo0 of jail `jid` back to `before`: flags first, then every address it did not have
/// (an address already gone, EADDRNOTAVAIL, is fine).
fn restore_loopback<K: Kernel + ?Sized>(
    kernel: &K,
    jid: Jid,
    before: &LoopbackBefore,
) -> KResult<()> {
    let vnet = Vnet::Jail(jid);
    let now = kernel
        .list_interfaces(vnet)?
        .into_iter()
        .find(|i| i.name == LOOPBACK)
        .ok_or_else(|| KernelError::errno(Op::ListInterfaces, Errno::ENXIO))?;
    if now.flags != before.flags {
        kernel.set_interface_flags(vnet, LOOPBACK, before.flags)?;
    }
    let tolerate = |result: KResult<()>| match result {
        Err(e) if e.code() == Some(Errno::EADDRNOTAVAIL) => Ok(()),
        other => other,
    };
    for (addr, _) in now.inet6.iter().filter(|a| !before.inet6.contains(a)) {
        tolerate(kernel.delete_inet6_alias(vnet, LOOPBACK, *addr))?;
    }
    for (addr, _) in now.inet.iter().filter(|a| !before.inet.contains(a)) {
        tolerate(kernel.delete_inet_alias(vnet, LOOPBACK, *addr))?;
    }
    Ok(())
}

/// The steps an undo could not take, and why.
#[derive(Debug, Default)]
pub(crate) struct Leftovers {
    pub steps: Vec<Undo>,
    pub reasons: Vec<String>,
}

impl Leftovers {
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }
}

/// Whether the jail whose vnet the call went into is gone: jail_attach(2) refused it.
fn jail_gone(error: &KernelError) -> bool {
    error.is(Op::JailAttach, Errno::EINVAL)
}

/// Undo `steps`, last first, going on past failures. Returns what could not be undone
/// (empty when everything is back as it was), in the order of `steps`. Once a jail turns out
/// to be gone, the steps left inside it are moot and skipped.
pub(crate) fn undo_all<K: Kernel + ?Sized>(kernel: &K, steps: &[Undo]) -> Leftovers {
    let mut gone_jails = Vec::new();
    let mut leftovers = Leftovers::default();
    for step in steps.iter().rev() {
        if gone_jails.contains(&step.vnet()) {
            continue;
        }
        match step.run(kernel) {
            Ok(()) => {}
            Err(e) if step.already_gone(&e) => {
                if jail_gone(&e) {
                    gone_jails.push(step.vnet());
                }
            }
            Err(e) => {
                leftovers.steps.insert(0, step.clone());
                leftovers
                    .reasons
                    .insert(0, format!("{} ({e})", step.describe()));
            }
        }
    }
    leftovers
}

impl NetworkError {
    /// `self` happened, and undoing the steps before it left `leftovers`.
    pub(crate) fn rollback_incomplete(self, leftovers: &Leftovers) -> NetworkError {
        NetworkError::RollbackIncomplete {
            error: Box::new(self),
            leftovers: leftovers.reasons.clone(),
        }
    }
}
