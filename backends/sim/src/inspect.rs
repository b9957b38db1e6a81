//! Reading a machine as an operator would: a dump in the spirit of `ifconfig -a`, `jls`,
//! `pfctl -a 'zelle/*' -sr`, `mount` and `ps`, and a checker of the invariants every state
//! must keep.

use crate::machine::Machine;

impl Machine {
    /// Every part of the machine, as text.
    pub fn dump(&self) -> String {
        let mut out = String::new();
        if let Some(why) = &self.panicked {
            out.push_str(&format!("*** kernel panic: {why}\n\n"));
        }
        self.dump_net(&mut out);
        self.dump_jails(&mut out);
        self.dump_pf(&mut out);
        self.dump_mounts(&mut out);
        self.dump_processes(&mut out);
        self.dump_rctl(&mut out);
        self.dump_devfs(&mut out);
        out
    }

    /// Every invariant that does not hold, one line each; empty when the machine is sound.
    pub fn check_invariants(&self) -> Vec<String> {
        let mut problems = Vec::new();
        self.check_net(&mut problems);
        self.check_jails(&mut problems);
        self.check_pf(&mut problems);
        self.check_mounts(&mut problems);
        self.check_processes(&mut problems);
        self.check_devfs(&mut problems);
        problems
    }

    /// Timed events, in a fixed order: processes exit first, then jails left without
    /// processes can finish dying.
    pub(crate) fn tick(&mut self) {
        self.tick_processes();
        self.tick_jails();
    }
}
