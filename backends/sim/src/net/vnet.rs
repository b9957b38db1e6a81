//! Vnets: their creation and teardown, and interfaces moving between them (`sys/net/if.c`:
//! `if_vmove`, `if_vmove_loan`, `if_vmove_reclaim`, `vnet_if_return`) [13].

use super::{errno, ifr_name, Caller, IfId, NetState};
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
    /// `VNET_IS_SHUTTING_DOWN` of `vnet`.
    fn shutting_down(&self, vnet: VnetId) -> bool {
        self.vnets.get(&vnet).is_some_and(|v| v.shutting_down)
    }

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
    /// vnet) or the name is taken there; EBUSY when the interface's vnet — the source, the
    /// caller's — is shutting down.
    pub(crate) fn if_vmove_loan(&mut self, vnet: Vnet, name: &str, jid: Jid) -> KResult<()> {
        let name = ifr_name(Op::MoveToJail, name)?;
        let caller = self.net_caller(vnet)?;
        self.vmove_loan(caller, name, jid)
    }

    fn vmove_loan(&mut self, caller: Caller, name: &str, jid: Jid) -> KResult<()> {
        let op = Op::MoveToJail;
        let id = self.net_ifunit(op, caller.vnet, name)?;
        Self::require_net_priv(op, &caller)?;
        if !self.is_descendant(jid, caller.prison) {
            return Err(errno(op, Errno::ENXIO));
        }
        let target = self.prison_vnet(jid);
        let from = self.net.iface(id).vnet;
        if target == from || self.net.lookup(target, name).is_some() {
            return Err(errno(op, Errno::EEXIST));
        }
        if self.net.shutting_down(from) {
            return Err(errno(op, Errno::EBUSY));
        }
        self.net.vmove(id, target, false);
        Ok(())
    }

    /// SIOCSIFRVNET (`if_vmove_reclaim`) [13]: the privilege is checked before anything;
    /// ENXIO when no such jail below the caller or no such interface in the jail's vnet;
    /// EEXIST when that is the caller's own vnet; EBUSY when the jail's vnet — the source —
    /// is shutting down. The caller's vnet is not searched for the name, so the interface may
    /// arrive beside one of the same name.
    pub(crate) fn if_vmove_reclaim(&mut self, vnet: Vnet, name: &str, jid: Jid) -> KResult<()> {
        let name = ifr_name(Op::ReclaimFromJail, name)?;
        let caller = self.net_caller(vnet)?;
        self.vmove_reclaim(caller, name, jid)
    }

    fn vmove_reclaim(&mut self, caller: Caller, name: &str, jid: Jid) -> KResult<()> {
        let op = Op::ReclaimFromJail;
        Self::require_net_priv(op, &caller)?;
        if !self.is_descendant(jid, caller.prison) {
            return Err(errno(op, Errno::ENXIO));
        }
        let id = self.net_ifunit(op, self.prison_vnet(jid), name)?;
        let from = self.net.iface(id).vnet;
        if from == caller.vnet {
            return Err(errno(op, Errno::EEXIST));
        }
        if self.net.shutting_down(from) {
            return Err(errno(op, Errno::EBUSY));
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
    ///
    /// The prison has left allprison before `vnet_destroy` runs (kern_jail.c `prison_deref`
    /// frees its vnet with the record), so no jid reaches a vnet that is shutting down, and a
    /// socket in it would have kept the prison: the EBUSY of SIOCSIFVNET/SIOCSIFRVNET is for a
    /// request racing the teardown. The sim runs the teardown in one step; `shutting_down`
    /// marks the state those rules check (vnet.c `vnet_destroy` sets `vnet_shutdown` before
    /// `vnet_sysuninit`).
    pub(crate) fn vnet_destroy(&mut self, vnet: VnetId) {
        if vnet == VnetId::HOST {
            return;
        }
        if let Some(net) = self.net.vnets.get_mut(&vnet) {
            net.shutting_down = true;
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
        let own: Vec<_> = self
            .net
            .ifaces
            .iter()
            .filter(|(_, iface)| iface.home == vnet)
            .map(|(id, _)| *id)
            .collect();
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::SimKernel;
    use zelle_core::kernel::{JailFlags, JailParams, Jails, NetworkInterfaces, VnetMode};

    fn vnet_jail(k: &SimKernel, name: &str, children_max: Option<u32>) -> Jid {
        let params = JailParams {
            name: Some(name.into()),
            persist: Some(true),
            vnet: Some(VnetMode::New),
            children_max,
            ..JailParams::default()
        };
        k.jail_set(&params, JailFlags::CREATE).unwrap()
    }

    /// The EBUSY of SIOCSIFVNET and SIOCSIFRVNET comes from the source vnet shutting down
    /// (if.c `if_vmove_loan`/`if_vmove_reclaim` check `VNET_IS_SHUTTING_DOWN(ifp->if_vnet)`),
    /// after the ENXIO and EEXIST checks; the destination's state does not matter. Only a
    /// request racing `vnet_destroy` meets it, so the test puts the vnets in that state.
    #[test]
    fn moves_out_of_a_vnet_that_shuts_down_are_ebusy() {
        let k = SimKernel::seeded(1);
        let outer = vnet_jail(&k, "outer", Some(1));
        let inner = vnet_jail(&k, "outer.inner", None);
        let lent = k.create_interface(Vnet::Host, "epair").unwrap();
        k.move_to_jail(Vnet::Host, &lent, outer).unwrap();
        let a = k.create_interface(Vnet::Jail(outer), "epair5").unwrap();
        let b = format!("{}b", a.trim_end_matches('a'));
        let shut = |m: &mut Machine, jid: Jid, on: bool| {
            m.net.vnets.get_mut(&VnetId(jid)).unwrap().shutting_down = on;
        };
        k.with_machine(|m| {
            let in_outer = Caller {
                vnet: VnetId(outer),
                prison: outer,
                privileged: true,
            };
            let host = m.net_caller(Vnet::Host).unwrap();
            let code = |r: KResult<()>| r.unwrap_err().code();

            // The destination shutting down is no matter for SIOCSIFVNET.
            shut(m, inner, true);
            m.vmove_loan(in_outer, &b, inner).unwrap();
            // SIOCSIFRVNET's source is the jail's vnet.
            assert_eq!(
                code(m.vmove_reclaim(in_outer, &b, inner)),
                Some(Errno::EBUSY)
            );
            shut(m, inner, false);
            m.vmove_reclaim(in_outer, &b, inner).unwrap();

            // The source shutting down: EBUSY, after the ENXIO and EEXIST checks.
            shut(m, outer, true);
            assert_eq!(code(m.vmove_loan(in_outer, &b, inner)), Some(Errno::EBUSY));
            assert_eq!(
                code(m.vmove_loan(in_outer, "nothing0", inner)),
                Some(Errno::ENXIO)
            );
            assert_eq!(
                code(m.vmove_loan(in_outer, &b, Jid(4242))),
                Some(Errno::ENXIO)
            );
            assert_eq!(
                code(m.vmove_reclaim(host, &lent, outer)),
                Some(Errno::EBUSY)
            );
            assert_eq!(
                code(m.vmove_reclaim(host, "nothing0", outer)),
                Some(Errno::ENXIO)
            );
            shut(m, outer, false);
            m.vmove_reclaim(host, &lent, outer).unwrap();
        })
        .unwrap();
        let machine = k.snapshot();
        assert!(
            machine.check_invariants().is_empty(),
            "{:?}",
            machine.check_invariants()
        );
    }
}
