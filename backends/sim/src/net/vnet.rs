//! Vnets: their creation and teardown, and interfaces moving between them (`sys/net/if.c`:
//! `if_vmove`, `if_vmove_loan`, `if_vmove_reclaim`, `vnet_if_return`) [13].

use super::{errno, ifr_name, IfId, NetState};
use crate::fault::Op;
use crate::jail::VnetId;
use crate::machine::Machine;
use zelle_core::kernel::{Errno, Jid, KResult, Vnet};

impl NetState {
    /// `if_vmove`: detach from the current vnet (down, addresses and routes purged, out of its
    /// bridge), then attach at the tail of `to`'s list; the cloner group comes back
    /// (`if_clone_restoregroup`), the home vnet stays. `unchecked` marks an arrival whose
    /// name nobody checked.
    ///
    /// A bridge that moves loses its members, which stay behind (UNCONFIRMED: recalled as
    /// if_bridge.c's `if_reassign` hook, `bridge_reassign`, not read here).
    fn vmove(&mut self, id: IfId, to: VnetId, unchecked: bool) {
        self.leave_vnet(id);
        let iface = self.iface_mut(id);
        iface.vnet = to;
        iface.unchecked_name = unchecked;
        self.link(id);
        // The vnet's own lo0 coming home brings its loopback routes back.
        if self.loif(to) == Some(id) {
            self.refresh_routes(to);
        }
    }
}

impl NetState {
    /// A vnet's jail was renumbered: the stack and its interfaces follow the new id.
    pub(crate) fn renumber_vnet(&mut self, old: VnetId, new: VnetId) {
        if let Some(net) = self.vnets.remove(&old) {
            self.vnets.insert(new, net);
        }
        for iface in self.ifaces.values_mut() {
            if iface.vnet == old {
                iface.vnet = new;
            }
            if iface.home == old {
                iface.home = new;
            }
        }
        self.rebuild_indexes();
    }
}

impl Machine {
    /// SIOCSIFVNET (`ifhwioctl` → `if_vmove_loan`) [13]: ENXIO when no such interface here or
    /// no such jail below the caller's prison (a dying jail is still found: `pr_ref > 0`);
    /// EEXIST when the jail's vnet is the interface's own (this includes a jail without a
    /// vnet) or the name is taken there. (EBUSY while the source vnet shuts down cannot happen
    /// here: a vnet's teardown is instantaneous.)
    pub(crate) fn if_vmove_loan(&mut self, vnet: Vnet, name: &str, jid: Jid) -> KResult<()> {
        let op = Op::MoveToJail;
        let name = ifr_name(op, name)?;
        let caller = self.net_caller(vnet)?;
        let id = self.net_ifunit(op, caller.vnet, name)?;
        Self::require_net_priv(op, &caller)?;
        if !self.is_descendant(jid, caller.prison) {
            return Err(errno(op, Errno::ENXIO));
        }
        let target = self.prison_vnet(jid);
        if target == self.net.iface(id).vnet || self.net.lookup(target, name).is_some() {
            return Err(errno(op, Errno::EEXIST));
        }
        self.net.vmove(id, target, false);
        Ok(())
    }

    /// SIOCSIFRVNET (`if_vmove_reclaim`) [13]: the privilege is checked before anything;
    /// ENXIO when no such jail below the caller or no such interface in the jail's vnet;
    /// EEXIST when that is the caller's own vnet. The caller's vnet is not searched for the
    /// name, so the interface may arrive beside one of the same name.
    pub(crate) fn if_vmove_reclaim(&mut self, vnet: Vnet, name: &str, jid: Jid) -> KResult<()> {
        let op = Op::ReclaimFromJail;
        let name = ifr_name(op, name)?;
        let caller = self.net_caller(vnet)?;
        Self::require_net_priv(op, &caller)?;
        if !self.is_descendant(jid, caller.prison) {
            return Err(errno(op, Errno::ENXIO));
        }
        let id = self.net_ifunit(op, self.prison_vnet(jid), name)?;
        if self.net.iface(id).vnet == caller.vnet {
            return Err(errno(op, Errno::EEXIST));
        }
        self.net.vmove(id, caller.vnet, true);
        Ok(())
    }

    /// A vnet jail was created: its stack starts with lo0, down and without addresses
    /// (`vnet_loif_init`).
    pub(crate) fn vnet_create(&mut self, vnet: VnetId) {
        if vnet == VnetId::HOST || self.net.vnets.contains_key(&vnet) {
            return;
        }
        self.net.vnets.insert(vnet, Default::default());
        self.net.clone_lo0(vnet);
    }

    /// A vnet jail's record left allprison, taking its vnet along (`vnet_destroy`):
    /// - first `vnet_if_return` (SI_SUB_VNET_DONE, the first teardown step) sends every
    ///   interface whose home is elsewhere back home, down, with its addresses and routes
    ///   purged (if.c skips that purge while the source vnet shuts down and leaves it to the
    ///   protocol teardown; the end state is the same). `if_vmove` does not check the name, so
    ///   if the home vnet has meanwhile got an interface of the same name the two coexist
    ///   there, and a lookup by that name finds the one that was there first (`ifunit` walks
    ///   `V_ifnet` from the head; the returned one is appended at the tail). if.c says so
    ///   itself: "We don't do anything to insure if_xname is unique or non-empty."
    /// - then each cloner detaches (`if_clone_detach`, minifs dropped to 0) and destroys
    ///   every interface it made, wherever it is now, epair peers included.
    pub(crate) fn vnet_destroy(&mut self, vnet: VnetId) {
        if vnet == VnetId::HOST {
            return;
        }
        let borrowed: Vec<IfId> = self
            .net
            .in_vnet(vnet)
            .filter(|&id| self.net.iface(id).home != vnet)
            .collect();
        for id in borrowed {
            let home = self.net.iface(id).home;
            if self.net.vnets.contains_key(&home) {
                self.net.vmove(id, home, true);
            } else {
                self.net.destroy(id);
            }
        }
        let mut own = self.net.iface_ids();
        own.retain(|id| self.net.iface(*id).home == vnet);
        for id in own {
            if self.net.ifaces.contains_key(&id) {
                self.net.destroy(id);
            }
        }
        self.net.vnets.remove(&vnet);
        self.net.by_name.remove(&vnet);
        self.net.by_seq.remove(&vnet);
    }
}
