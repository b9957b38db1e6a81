//! pf(4): a tree of anchors, each holding five rulesets; each ruleset has its active rules and
//! an inactive copy that a transaction fills and then commits.
//!
//! Sources: [13] = `sys/netpfil/pf/pf_ioctl.c` and `pf_ruleset.c` of the FreeBSD 13 era
//! (sobomax/freebsd14_vendor 0f7ff34, the `pf_kruleset` code); [14] = `pf_ioctl.c` of the 14 era
//! (kprovost/freebsd-src 07bdfd9, with `pf_ioctl_addrule`), which keeps the same rules.
//!
//! Where the kernel changes state on a path that then fails (pf_find_or_create_kruleset creates
//! the leading components of a path before it trips over a bad one; DIOCADDRULE frees the pool
//! buffer with a rule it refuses), the machine checks first and changes nothing: a failed call
//! leaves no trace here.

use crate::fault::Op;
use crate::kernel::SimKernel;
use crate::machine::Machine;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use zelle_core::kernel::pf::{
    PacketFilter, PfAction, PfAddr, PfRedirect, PfRule, PfRuleset, PfTicket, PfTransaction,
};
use zelle_core::kernel::{Errno, KResult, KernelError};

/// `MAXPATHLEN` (`sys/sys/param.h`): the size of the anchor fields of `pfioc_trans_e` and
/// `pfioc_rule`, NUL included.
const MAXPATHLEN: usize = 1024;
/// `PF_ANCHOR_NAME_SIZE` (`net/pfvar.h`): the size of one path component, NUL included.
const PF_ANCHOR_NAME_SIZE: usize = 64;

/// Every ruleset, in `PF_RULESET_*` order.
pub const RULESETS: [PfRuleset; 5] = [
    PfRuleset::Scrub,
    PfRuleset::Filter,
    PfRuleset::Nat,
    PfRuleset::Binat,
    PfRuleset::Rdr,
];

/// The order pf.conf lists rulesets in: normalization, translation, filtering.
const LISTING_ORDER: [PfRuleset; 5] = [
    PfRuleset::Scrub,
    PfRuleset::Nat,
    PfRuleset::Binat,
    PfRuleset::Rdr,
    PfRuleset::Filter,
];

/// The anchor a rule calls, resolved as `pf_kanchor_setup` does [13].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnchorCall {
    /// The called anchor's path; it exists as long as a rule calls it (its `refcnt`).
    pub path: String,
    /// `anchor "x/*"`: the call evaluates every child of `path` instead of `path` itself.
    pub wildcard: bool,
}

/// One rule as an anchor holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredRule {
    /// The rule as DIOCGETRULE returns it: an anchor call's name is the kernel's copy-out
    /// (`pf_kanchor_copyout`), and the redirect's address comes from the pool buffer.
    pub rule: PfRule,
    pub call: Option<AnchorCall>,
}

/// One ruleset of an anchor (`struct pf_kruleset`'s `rules[rs_num]`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rules {
    pub active: Vec<StoredRule>,
    pub active_ticket: u32,
    pub inactive: Vec<StoredRule>,
    pub inactive_ticket: u32,
    /// Whether a transaction holds the inactive copy (`inactive.open`).
    pub open: bool,
}

/// An anchor (`struct pf_kanchor`), or the main ruleset.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Anchor {
    /// Indexed by `PfRuleset as usize`.
    pub rules: [Rules; 5],
    /// Set by a rollback: the kernel removes an emptied anchor only on commit
    /// (`pf_rollback_rules` never calls `pf_remove_if_empty_kruleset`) [13], so a rolled-back
    /// anchor may stay behind empty.
    pub kept_by_rollback: bool,
}

impl Anchor {
    fn ruleset(&self, ruleset: PfRuleset) -> &Rules {
        &self.rules[ruleset as usize]
    }

    fn ruleset_mut(&mut self, ruleset: PfRuleset) -> &mut Rules {
        &mut self.rules[ruleset as usize]
    }

    /// No rules anywhere and no open transaction.
    fn is_empty(&self) -> bool {
        self.rules
            .iter()
            .all(|r| r.active.is_empty() && r.inactive.is_empty() && !r.open)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PfState {
    /// Every anchor by path (`V_pf_anchors`); the main ruleset is the anchor "", always there.
    pub anchors: BTreeMap<String, Anchor>,
    /// `V_ticket_pabuf`: the ticket of the pool buffer DIOCBEGINADDRS last opened.
    pub pool_ticket: u32,
    /// `V_pf_pabuf`: the addresses DIOCADDADDR collected for the next DIOCADDRULE.
    pub pool: Vec<PfAddr>,
}

impl Default for PfState {
    fn default() -> Self {
        PfState {
            anchors: BTreeMap::from([(String::new(), Anchor::default())]),
            pool_ticket: 0,
            pool: Vec::new(),
        }
    }
}

/// The key `pf_find_kruleset` looks a path up by: leading '/' dropped, "" is the main ruleset.
fn lookup_key(path: &str) -> &str {
    path.trim_start_matches('/')
}

/// The parent's path ("" for a top-level anchor).
fn parent_of(path: &str) -> &str {
    path.rfind('/').map_or("", |i| &path[..i])
}

/// The last component of a path: what DIOCGETRULESET reports as an anchor's name.
fn name_of(path: &str) -> &str {
    path.rfind('/').map_or(path, |i| &path[i + 1..])
}

fn ruleset_name(ruleset: PfRuleset) -> &'static str {
    match ruleset {
        PfRuleset::Scrub => "scrub",
        PfRuleset::Filter => "filter",
        PfRuleset::Nat => "nat",
        PfRuleset::Binat => "binat",
        PfRuleset::Rdr => "rdr",
    }
}

fn errno(op: Op, errno: Errno) -> KernelError {
    KernelError::errno(op, errno)
}

/// The anchor argument must fit the ioctl's `char[MAXPATHLEN]` as a C string; the backends
/// refuse what cannot be encoded with EINVAL (a contract rule: the kernel never sees it).
fn check_anchor_arg(op: Op, anchor: &str) -> KResult<()> {
    if anchor.len() >= MAXPATHLEN || anchor.contains('\0') {
        return Err(errno(op, Errno::EINVAL));
    }
    Ok(())
}

/// `pf_kanchor_setup` [13]: the anchor a call named `name` in the anchor at `base` refers to:
/// `/x` is absolute, anything else relative to `base`, each leading `../` one level up (EINVAL
/// beyond the root); a trailing `/*` calls the children. None when the kernel refuses.
fn resolve_call(base: &str, name: &str) -> Option<AnchorCall> {
    let mut path = match name.strip_prefix('/') {
        Some(absolute) => absolute.to_string(),
        None => {
            let mut path = base.to_string();
            let mut name = name;
            while let Some(rest) = name.strip_prefix("../") {
                if path.is_empty() {
                    return None;
                }
                path.truncate(path.rfind('/').unwrap_or(0));
                name = rest;
            }
            if !path.is_empty() {
                path.push('/');
            }
            path.push_str(name);
            path
        }
    };
    let wildcard = path.ends_with("/*");
    if wildcard {
        path.truncate(path.len() - 2);
    }
    Some(AnchorCall { path, wildcard })
}

/// `pf_kanchor_copyout` [13]: how DIOCGETRULE names the anchor a rule in `base` calls: an
/// absolute call as `/path`, a relative one as written (`../` included), then `/*`.
fn call_text(base: &str, call: &AnchorCall, name: &str) -> String {
    let mut text = String::new();
    if name.starts_with('/') {
        text.push('/');
        text.push_str(&call.path);
    } else {
        let mut start = base.to_string();
        let mut rest = name;
        while let Some(after) = rest.strip_prefix("../") {
            start.truncate(start.rfind('/').unwrap_or(0));
            text.push_str("../");
            rest = after;
        }
        if call.path.len() > start.len() {
            let skip = if start.is_empty() { 0 } else { start.len() + 1 };
            text.push_str(call.path.get(skip..).unwrap_or(""));
        }
    }
    if call.wildcard {
        text.push_str(if text.is_empty() { "*" } else { "/*" });
    }
    text
}

impl PfState {
    fn find(&self, path: &str) -> Option<&Anchor> {
        self.anchors.get(lookup_key(path))
    }

    /// `pf_find_or_create_kruleset` [13]: the key of the anchor `path` names, and the anchors
    /// to create for it, parents first; None when the kernel cannot create it. Below the
    /// deepest existing ancestor, each component must be non-empty and shorter than
    /// PF_ANCHOR_NAME_SIZE, and a parent's path shorter than MAXPATHLEN - PF_ANCHOR_NAME_SIZE
    /// - 1; one trailing '/' ends the path. No character rules: the "_" ban is pfctl's.
    fn plan_anchor(&self, path: &str) -> Option<(String, Vec<String>)> {
        let path = lookup_key(path);
        if self.anchors.contains_key(path) {
            return Some((path.to_string(), Vec::new()));
        }
        let (ancestor, rest) = path
            .rmatch_indices('/')
            .map(|(i, _)| (&path[..i], &path[i + 1..]))
            .find(|(ancestor, _)| self.anchors.contains_key(*ancestor))
            .unwrap_or(("", path));
        if rest.is_empty() {
            return None;
        }
        let mut parts: Vec<&str> = rest.split('/').collect();
        if parts.len() > 1 && parts.last() == Some(&"") {
            parts.pop();
        }
        let mut created = Vec::new();
        let mut current = ancestor.to_string();
        for part in parts {
            // `current` is the parent of the anchor about to be made ("" for none).
            let parent_too_long =
                !current.is_empty() && current.len() >= MAXPATHLEN - PF_ANCHOR_NAME_SIZE - 1;
            if part.is_empty() || part.len() >= PF_ANCHOR_NAME_SIZE || parent_too_long {
                return None;
            }
            if !current.is_empty() {
                current.push('/');
            }
            current.push_str(part);
            created.push(current.clone());
        }
        Some((current, created))
    }

    /// How many rules, active or pending, call the anchor at `path` (its `refcnt`).
    fn references(&self, path: &str) -> usize {
        self.anchors
            .values()
            .flat_map(|a| &a.rules)
            .flat_map(|r| r.active.iter().chain(&r.inactive))
            .filter(|s| s.call.as_ref().is_some_and(|c| c.path == path))
            .count()
    }

    fn children<'a>(&'a self, path: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.anchors
            .keys()
            .filter(move |k| !k.is_empty() && parent_of(k) == path)
            .map(String::as_str)
    }

    /// The condition of `pf_remove_if_empty_kruleset` [13]: not the main ruleset, no children,
    /// not called by any rule, no rules and no open transaction.
    fn is_removable(&self, path: &str) -> bool {
        !path.is_empty()
            && self.anchors.get(path).is_some_and(Anchor::is_empty)
            && self.children(path).next().is_none()
            && self.references(path) == 0
    }

    /// `pf_remove_if_empty_kruleset` [13]: remove the anchor if empty, then its parents while
    /// they are empty in turn.
    fn remove_if_empty(&mut self, path: &str) {
        let mut path = path.to_string();
        while self.is_removable(&path) {
            self.anchors.remove(&path);
            path = parent_of(&path).to_string();
        }
    }

    /// Rules taken out of a ruleset: the anchors they called lose a reference
    /// (`pf_kanchor_remove`). The kernel frees unlinked rules later, from its purge thread; the
    /// machine does it at once (timing UNCONFIRMED).
    fn release(&mut self, dropped: Vec<StoredRule>) {
        for call in dropped.into_iter().filter_map(|s| s.call) {
            self.remove_if_empty(&call.path);
        }
    }
}

/// A rule that passed every DIOCADDRULE check, ready to go into an inactive copy.
struct CheckedRule {
    anchor: String,
    ruleset: PfRuleset,
    stored: StoredRule,
    created: Vec<String>,
}

impl Machine {
    /// Whether pf answers at all, and whether it lets `op` change rules. Without the pf module
    /// there is no /dev/pf to open: ENOENT (UNCONFIRMED: open(2) of a missing device node).
    /// Above securelevel 2, pfioctl refuses every modifying request with EPERM [13][14].
    fn pf_open(&self, op: Op, modifies: bool) -> KResult<()> {
        if !self.host.has_module("pf") {
            return Err(errno(op, Errno::ENOENT));
        }
        if modifies && self.host.sysctl_int("kern.securelevel").unwrap_or(-1) > 2 {
            return Err(errno(op, Errno::EPERM));
        }
        Ok(())
    }

    /// DIOCXBEGIN [13]: create the anchor and its parents if needed (EINVAL when the path
    /// cannot be created, pf_begin_rules), then per ruleset drop any pending rules and open a
    /// fresh inactive copy under the next ticket; a second begin makes the first ticket stale.
    /// With no rulesets the request does nothing at all.
    pub(crate) fn pf_begin(
        &mut self,
        anchor: &str,
        rulesets: &[PfRuleset],
    ) -> KResult<PfTransaction> {
        let op = Op::PfBegin;
        self.pf_open(op, true)?;
        check_anchor_arg(op, anchor)?;
        let mut transaction = PfTransaction {
            anchor: anchor.to_string(),
            tickets: Vec::new(),
        };
        if rulesets.is_empty() {
            return Ok(transaction);
        }
        let (key, created) = self
            .pf
            .plan_anchor(anchor)
            .ok_or_else(|| errno(op, Errno::EINVAL))?;
        for path in created {
            self.pf.anchors.insert(path, Anchor::default());
        }
        let state = self.pf.anchors.entry(key).or_default();
        state.kept_by_rollback = false;
        let mut dropped = Vec::new();
        for &ruleset in rulesets {
            let rules = state.ruleset_mut(ruleset);
            dropped.append(&mut rules.inactive);
            rules.inactive_ticket = rules.inactive_ticket.wrapping_add(1);
            rules.open = true;
            transaction
                .tickets
                .push((ruleset, PfTicket(rules.inactive_ticket)));
        }
        self.pf.release(dropped);
        Ok(transaction)
    }

    /// Every check of DIOCADDRULE, in the kernel's order [13][14]: the anchor must exist
    /// (EINVAL); the ticket must be the inactive copy's latest (EBUSY; `open` is not checked, so
    /// a rolled-back transaction's ticket still adds); then the pool ticket (EBUSY); then an
    /// anchor call must resolve to an anchor other than the main ruleset, and a nat, rdr or
    /// binat rule that calls no anchor needs a pool address (both EINVAL).
    fn check_rule(
        &self,
        op: Op,
        anchor: &str,
        ticket: u32,
        pool_ticket: Option<u32>,
        rule: &PfRule,
        pool: &[PfAddr],
    ) -> KResult<CheckedRule> {
        let key = lookup_key(anchor).to_string();
        let state = self
            .pf
            .anchors
            .get(&key)
            .ok_or_else(|| errno(op, Errno::EINVAL))?;
        let ruleset = rule.action.ruleset();
        if state.ruleset(ruleset).inactive_ticket != ticket {
            return Err(errno(op, Errno::EBUSY));
        }
        if pool_ticket.is_some_and(|t| t != self.pf.pool_ticket) {
            return Err(errno(op, Errno::EBUSY));
        }
        let name = rule.anchor.as_deref().filter(|n| !n.is_empty());
        let mut created = Vec::new();
        let call = match name {
            None => None,
            Some(name) => {
                let call = resolve_call(&key, name).ok_or_else(|| errno(op, Errno::EINVAL))?;
                let (path, to_create) = self
                    .pf
                    .plan_anchor(&call.path)
                    .filter(|(path, _)| !path.is_empty())
                    .ok_or_else(|| errno(op, Errno::EINVAL))?;
                created = to_create;
                Some(AnchorCall { path, ..call })
            }
        };
        let translates = matches!(rule.action, PfAction::Nat | PfAction::Rdr);
        if translates && call.is_none() && pool.is_empty() {
            return Err(errno(op, Errno::EINVAL));
        }
        let mut stored = rule.clone();
        stored.anchor = match (name, &call) {
            (Some(name), Some(call)) => Some(call_text(&key, call, name)),
            _ => None,
        };
        // The rule keeps the pool's first address; round-robin pools are not modelled.
        stored.redirect = pool.first().map(|addr| PfRedirect {
            addr: addr.clone(),
            ports: rule.redirect.as_ref().and_then(|r| r.ports),
        });
        Ok(CheckedRule {
            anchor: key,
            ruleset,
            stored: StoredRule { rule: stored, call },
            created,
        })
    }

    /// Append a checked rule to its inactive copy; its anchor call creates the called anchor.
    fn insert_rule(&mut self, checked: CheckedRule) {
        for path in checked.created {
            self.pf.anchors.insert(path, Anchor::default());
        }
        self.pf.pool.clear();
        self.pf
            .anchors
            .entry(checked.anchor)
            .or_default()
            .ruleset_mut(checked.ruleset)
            .inactive
            .push(checked.stored);
    }

    // The three requests of one rule as the ioctls make them, for the ABI door to decode
    // DIOCBEGINADDRS, DIOCADDADDR and DIOCADDRULE into. Their errors carry DIOCADDRULE's name.

    /// DIOCBEGINADDRS [13]: empty the pool buffer and hand out its next ticket.
    pub fn pf_begin_addrs(&mut self) -> KResult<u32> {
        self.pf_open(Op::PfAddRule, true)?;
        self.pf.pool.clear();
        self.pf.pool_ticket = self.pf.pool_ticket.wrapping_add(1);
        Ok(self.pf.pool_ticket)
    }

    /// DIOCADDADDR [13]: one address into the pool buffer; a stale pool ticket is EBUSY.
    pub fn pf_add_addr(&mut self, pool_ticket: u32, addr: &PfAddr) -> KResult<()> {
        self.pf_open(Op::PfAddRule, true)?;
        if pool_ticket != self.pf.pool_ticket {
            return Err(errno(Op::PfAddRule, Errno::EBUSY));
        }
        self.pf.pool.push(addr.clone());
        Ok(())
    }

    /// DIOCADDRULE as the ioctl has it [13][14]: `rule` into the inactive copy of its ruleset in
    /// `anchor`, with the addresses of the pool buffer (the rule's own redirect address is not
    /// read; its ports are). See `check_rule` for the errors.
    pub fn pf_add_rule_ioctl(
        &mut self,
        anchor: &str,
        ticket: u32,
        pool_ticket: u32,
        rule: &PfRule,
    ) -> KResult<()> {
        let op = Op::PfAddRule;
        self.pf_open(op, true)?;
        check_anchor_arg(op, anchor)?;
        let pool = self.pf.pool.clone();
        let checked = self.check_rule(op, anchor, ticket, Some(pool_ticket), rule, &pool)?;
        self.insert_rule(checked);
        Ok(())
    }

    /// The contract's add: DIOCBEGINADDRS, DIOCADDADDR with the redirect's address, then
    /// DIOCADDRULE. A transaction without a ticket for the rule's ruleset has nothing to send:
    /// EBUSY, as for a stale one (a contract rule).
    pub(crate) fn pf_add_rule(
        &mut self,
        transaction: &PfTransaction,
        rule: &PfRule,
    ) -> KResult<()> {
        let op = Op::PfAddRule;
        self.pf_open(op, true)?;
        check_anchor_arg(op, &transaction.anchor)?;
        let ticket = transaction
            .ticket(rule.action.ruleset())
            .ok_or_else(|| errno(op, Errno::EBUSY))?;
        let pool: Vec<PfAddr> = rule.redirect.iter().map(|r| r.addr.clone()).collect();
        let checked = self.check_rule(op, &transaction.anchor, ticket.0, None, rule, &pool)?;
        // The pool buffer moves on to a fresh ticket, which this rule then consumes.
        self.pf.pool_ticket = self.pf.pool_ticket.wrapping_add(1);
        self.insert_rule(checked);
        Ok(())
    }

    /// DIOCXCOMMIT [13][14]: check every ticket first (EBUSY when the anchor is gone, the copy
    /// is not open or the ticket is not the latest), then swap each inactive copy in and drop
    /// the old rules; an anchor left empty is removed with its empty parents
    /// (`pf_commit_rules` → `pf_remove_if_empty_kruleset`). A transaction naming one ruleset
    /// twice is refused up front with EBUSY (the kernel would commit the first and then fail).
    pub(crate) fn pf_commit(&mut self, transaction: &PfTransaction) -> KResult<()> {
        let op = Op::PfCommit;
        self.pf_open(op, true)?;
        check_anchor_arg(op, &transaction.anchor)?;
        let key = lookup_key(&transaction.anchor).to_string();
        let mut seen = BTreeSet::new();
        for &(ruleset, ticket) in &transaction.tickets {
            let ready = self.pf.anchors.get(&key).is_some_and(|a| {
                let rules = a.ruleset(ruleset);
                rules.open && rules.inactive_ticket == ticket.0
            });
            if !ready || !seen.insert(ruleset) {
                return Err(errno(op, Errno::EBUSY));
            }
        }
        let mut dropped = Vec::new();
        if let Some(state) = self.pf.anchors.get_mut(&key) {
            for ruleset in seen {
                let rules = state.ruleset_mut(ruleset);
                let pending = std::mem::take(&mut rules.inactive);
                dropped.extend(std::mem::replace(&mut rules.active, pending));
                rules.active_ticket = rules.inactive_ticket;
                rules.open = false;
            }
        }
        self.pf.release(dropped);
        self.pf.remove_if_empty(&key);
        Ok(())
    }

    /// DIOCXROLLBACK [13]: drop the inactive copies the tickets still hold; a missing anchor,
    /// a closed copy or a stale ticket is skipped without error. The anchor stays, even empty.
    pub(crate) fn pf_rollback(&mut self, transaction: &PfTransaction) -> KResult<()> {
        let op = Op::PfRollback;
        self.pf_open(op, true)?;
        check_anchor_arg(op, &transaction.anchor)?;
        let key = lookup_key(&transaction.anchor);
        let mut dropped = Vec::new();
        if let Some(state) = self.pf.anchors.get_mut(key) {
            for &(ruleset, ticket) in &transaction.tickets {
                let rules = state.ruleset_mut(ruleset);
                if rules.open && rules.inactive_ticket == ticket.0 {
                    dropped.append(&mut rules.inactive);
                    rules.open = false;
                    state.kept_by_rollback = true;
                }
            }
        }
        self.pf.release(dropped);
        Ok(())
    }

    /// DIOCGETRULES and DIOCGETRULE [13]: the active rules; a missing anchor is EINVAL.
    pub(crate) fn pf_rules(&self, anchor: &str, ruleset: PfRuleset) -> KResult<Vec<PfRule>> {
        let op = Op::PfRules;
        self.pf_open(op, false)?;
        check_anchor_arg(op, anchor)?;
        let state = self
            .pf
            .find(anchor)
            .ok_or_else(|| errno(op, Errno::EINVAL))?;
        Ok(state
            .ruleset(ruleset)
            .active
            .iter()
            .map(|s| s.rule.clone())
            .collect())
    }

    /// DIOCGETRULESETS and DIOCGETRULESET [13][14]: the names of the anchors directly below
    /// `anchor`, in path order; a missing anchor is ENOENT (not EINVAL, unlike DIOCGETRULES).
    pub(crate) fn pf_anchors(&self, anchor: &str) -> KResult<Vec<String>> {
        let op = Op::PfAnchors;
        self.pf_open(op, false)?;
        check_anchor_arg(op, anchor)?;
        let key = lookup_key(anchor);
        if !self.pf.anchors.contains_key(key) {
            return Err(errno(op, Errno::ENOENT));
        }
        Ok(self
            .pf
            .children(key)
            .map(|path| name_of(path).to_string())
            .collect())
    }

    /// What `pfctl -f /etc/pf.conf` leaves behind: `rules` become the operator's whole main
    /// ruleset (every ruleset of the anchor ""). Simulator control for tests; all or nothing.
    pub fn load_main_ruleset(&mut self, rules: &[PfRule]) -> KResult<()> {
        let saved = self.pf.clone();
        let result = self.replace_main_ruleset(rules);
        if result.is_err() {
            self.pf = saved;
        }
        result
    }

    fn replace_main_ruleset(&mut self, rules: &[PfRule]) -> KResult<()> {
        let transaction = self.pf_begin("", &RULESETS)?;
        for rule in rules {
            self.pf_add_rule(&transaction, rule)?;
        }
        self.pf_commit(&transaction)
    }

    /// Whether the rules of `ruleset` in the anchor at `path` ever run: the main ruleset runs,
    /// and an anchor runs when a running anchor's active rules of the same ruleset call it
    /// (`nat-anchor` for nat, `rdr-anchor` for rdr, `anchor` for filter): `"zelle"` calls that
    /// anchor, `"zelle/*"` each of its children (`pf_step_into_anchor`). A call narrowed to an
    /// interface or addresses still counts.
    pub fn anchor_reachable(&self, path: &str, ruleset: PfRuleset) -> bool {
        let key = lookup_key(path);
        if !self.pf.anchors.contains_key(key) {
            return false;
        }
        let mut reached = BTreeSet::from([String::new()]);
        let mut queue = vec![String::new()];
        while let Some(from) = queue.pop() {
            let Some(anchor) = self.pf.anchors.get(&from) else {
                continue;
            };
            for call in anchor
                .ruleset(ruleset)
                .active
                .iter()
                .filter_map(|s| s.call.as_ref())
            {
                let targets: Vec<String> = if call.wildcard {
                    self.pf.children(&call.path).map(str::to_string).collect()
                } else {
                    vec![call.path.clone()]
                };
                for target in targets {
                    if reached.insert(target.clone()) {
                        queue.push(target);
                    }
                }
            }
        }
        reached.contains(key)
    }

    /// Every anchor with its rules in pf.conf syntax, in the spirit of
    /// `pfctl -a '*' -sn -sr`; anchors whose rules never run are marked.
    pub(crate) fn dump_pf(&self, out: &mut String) {
        out.push_str("# pfctl -a '*' -sn -sr\n");
        for (path, anchor) in &self.pf.anchors {
            let mut header = if path.is_empty() {
                "main ruleset".to_string()
            } else {
                format!("anchor \"{path}\"")
            };
            let unreached: Vec<&str> = LISTING_ORDER
                .iter()
                .filter(|&&r| !anchor.ruleset(r).active.is_empty())
                .filter(|&&r| !self.anchor_reachable(path, r))
                .map(|&r| ruleset_name(r))
                .collect();
            if !unreached.is_empty() {
                header.push_str(&format!(
                    "  # NOT REACHED from the main ruleset: {}",
                    unreached.join(", ")
                ));
            }
            out.push_str(&header);
            out.push('\n');
            for ruleset in LISTING_ORDER {
                for stored in &anchor.ruleset(ruleset).active {
                    out.push_str(&format!("  {}\n", stored.rule));
                }
            }
            let open: Vec<String> = LISTING_ORDER
                .iter()
                .filter(|&&r| anchor.ruleset(r).open)
                .map(|&r| {
                    let rules = anchor.ruleset(r);
                    format!(
                        "{} (ticket {}, {} pending)",
                        ruleset_name(r),
                        rules.inactive_ticket,
                        rules.inactive.len()
                    )
                })
                .collect();
            if !open.is_empty() {
                out.push_str(&format!("  # transaction open: {}\n", open.join(", ")));
            }
        }
        out.push('\n');
    }

    pub(crate) fn check_pf(&self, problems: &mut Vec<String>) {
        let pf = &self.pf;
        if !pf.anchors.contains_key("") {
            problems.push("pf: the main ruleset is missing".to_string());
        }
        for (path, anchor) in pf.anchors.iter().filter(|(p, _)| !p.is_empty()) {
            let bad_part = path
                .split('/')
                .any(|part| part.is_empty() || part.len() >= PF_ANCHOR_NAME_SIZE);
            if bad_part || path.len() >= MAXPATHLEN {
                problems.push(format!("pf: anchor {path:?} has an invalid path"));
            }
            if !pf.anchors.contains_key(parent_of(path)) {
                problems.push(format!("pf: anchor {path:?} has no parent anchor"));
            }
            if pf.is_removable(path) && !anchor.kept_by_rollback {
                problems.push(format!("pf: anchor {path:?} is empty but was not removed"));
            }
        }
        for (path, anchor) in &pf.anchors {
            for ruleset in RULESETS {
                let rules = anchor.ruleset(ruleset);
                if rules.open && rules.inactive_ticket == 0 {
                    problems.push(format!(
                        "pf: anchor {path:?} has an open {} copy without a ticket",
                        ruleset_name(ruleset)
                    ));
                }
                for call in rules
                    .active
                    .iter()
                    .chain(&rules.inactive)
                    .filter_map(|s| s.call.as_ref())
                {
                    if !pf.anchors.contains_key(&call.path) {
                        problems.push(format!(
                            "pf: a rule in {path:?} calls the missing anchor {:?}",
                            call.path
                        ));
                    }
                }
            }
        }
    }
}

impl PacketFilter for SimKernel {
    fn pf_begin(&self, anchor: &str, rulesets: &[PfRuleset]) -> KResult<PfTransaction> {
        self.call(Op::PfBegin, &(anchor, rulesets), |m| {
            m.pf_begin(anchor, rulesets)
        })
    }
    fn pf_add_rule(&self, transaction: &PfTransaction, rule: &PfRule) -> KResult<()> {
        self.call(Op::PfAddRule, &(transaction, rule.to_string()), |m| {
            m.pf_add_rule(transaction, rule)
        })
    }
    fn pf_commit(&self, transaction: &PfTransaction) -> KResult<()> {
        self.call(Op::PfCommit, &(transaction,), |m| m.pf_commit(transaction))
    }
    fn pf_rollback(&self, transaction: &PfTransaction) -> KResult<()> {
        self.call(Op::PfRollback, &(transaction,), |m| {
            m.pf_rollback(transaction)
        })
    }
    fn pf_rules(&self, anchor: &str, ruleset: PfRuleset) -> KResult<Vec<PfRule>> {
        self.call(Op::PfRules, &(anchor, ruleset), |m| {
            m.pf_rules(anchor, ruleset)
        })
    }
    fn pf_anchors(&self, anchor: &str) -> KResult<Vec<String>> {
        self.call(Op::PfAnchors, &(anchor,), |m| m.pf_anchors(anchor))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::machine::SimConfig;
    use zelle_core::kernel::pf::redirect_to;

    fn machine() -> Machine {
        Machine::new(SimConfig::default())
    }

    fn rdr() -> PfRule {
        PfRule {
            redirect: Some(redirect_to([10, 0, 0, 2].into(), None)),
            ..PfRule::new(PfAction::Rdr)
        }
    }

    #[test]
    fn plan_follows_pf_find_or_create_kruleset() {
        let mut pf = PfState::default();
        let plan = |pf: &PfState, p: &str| pf.plan_anchor(p);
        assert_eq!(
            plan(&pf, "/a/b"),
            Some(("a/b".into(), vec!["a".into(), "a/b".into()]))
        );
        assert_eq!(plan(&pf, ""), Some((String::new(), vec![])));
        assert_eq!(plan(&pf, "/"), Some((String::new(), vec![])));
        assert_eq!(plan(&pf, "a//b"), None, "empty component");
        assert_eq!(plan(&pf, &"x".repeat(64)), None, "component of 64 bytes");
        assert!(plan(&pf, &"x".repeat(63)).is_some());
        // One trailing '/' ends the path while nothing of it exists yet...
        assert_eq!(plan(&pf, "a/"), Some(("a".into(), vec!["a".into()])));
        // ...but right after an existing anchor it leaves an empty name.
        pf.anchors.insert("a".into(), Anchor::default());
        assert_eq!(plan(&pf, "a/"), None);
        assert_eq!(plan(&pf, "a/c"), Some(("a/c".into(), vec!["a/c".into()])));
    }

    #[test]
    fn parent_paths_too_long_are_refused() {
        let pf = PfState::default();
        // 15 components of 63 bytes: the 16th parent's path would pass 958 bytes.
        let deep = vec!["y".repeat(63); 16].join("/");
        assert!(deep.len() < MAXPATHLEN);
        assert_eq!(pf.plan_anchor(&deep), None);
        let shallow = vec!["y".repeat(63); 15].join("/");
        assert!(pf.plan_anchor(&shallow).is_some());
    }

    #[test]
    fn calls_resolve_and_copy_out_as_the_kernel_does() {
        let call = |base: &str, name: &str| {
            resolve_call(base, name)
                .map(|c| (c.path.clone(), c.wildcard, call_text(base, &c, name)))
        };
        assert_eq!(
            call("", "zelle/*"),
            Some(("zelle".into(), true, "zelle/*".into()))
        );
        assert_eq!(
            call("", "zelle"),
            Some(("zelle".into(), false, "zelle".into()))
        );
        assert_eq!(call("a/b", "c"), Some(("a/b/c".into(), false, "c".into())));
        assert_eq!(
            call("a/b", "../c/*"),
            Some(("a/c".into(), true, "../c/*".into()))
        );
        assert_eq!(call("a", "/x/*"), Some(("x".into(), true, "/x/*".into())));
        assert_eq!(call("", "../x"), None, ".. beyond the root");
        assert_eq!(call("a", "../../x"), None);
    }

    #[test]
    fn pool_tickets_gate_addresses_and_rules() {
        let mut m = machine();
        let tx = m.pf_begin("a", &[PfRuleset::Rdr]).unwrap();
        let ticket = tx.ticket(PfRuleset::Rdr).unwrap().0;
        let pool = m.pf_begin_addrs().unwrap();
        let addr = PfAddr::Net("10.0.0.2/32".parse().unwrap());
        assert_eq!(
            m.pf_add_addr(pool.wrapping_add(1), &addr)
                .unwrap_err()
                .code(),
            Some(Errno::EBUSY)
        );
        m.pf_add_addr(pool, &addr).unwrap();
        let stale = m.pf_add_rule_ioctl("a", ticket, pool.wrapping_sub(1), &rdr());
        assert_eq!(stale.unwrap_err().code(), Some(Errno::EBUSY));
        // The rule's own redirect is not read: the pool buffer gives the address.
        let unpooled = PfRule {
            redirect: None,
            ..rdr()
        };
        m.pf_add_rule_ioctl("a", ticket, pool, &unpooled).unwrap();
        assert!(m.pf.pool.is_empty(), "the rule took the pool buffer");
        // The next rule finds the buffer empty: an rdr rule without a pool is EINVAL.
        let empty = m.pf_add_rule_ioctl("a", ticket, pool, &unpooled);
        assert_eq!(empty.unwrap_err().code(), Some(Errno::EINVAL));
        m.pf_commit(&tx).unwrap();
        assert_eq!(m.pf_rules("a", PfRuleset::Rdr).unwrap(), vec![rdr()]);
    }

    #[test]
    fn rule_checks_come_in_the_kernel_order() {
        let mut m = machine();
        let tx = m.pf_begin("a", &[PfRuleset::Rdr]).unwrap();
        let ticket = tx.ticket(PfRuleset::Rdr).unwrap().0;
        let pool = m.pf_begin_addrs().unwrap();
        let code = |r: KResult<()>| r.unwrap_err().code();
        // Missing anchor first, then the rules ticket, then the pool ticket.
        assert_eq!(
            code(m.pf_add_rule_ioctl("b", ticket + 1, pool + 1, &rdr())),
            Some(Errno::EINVAL)
        );
        assert_eq!(
            code(m.pf_add_rule_ioctl("a", ticket + 1, pool + 1, &rdr())),
            Some(Errno::EBUSY)
        );
        assert_eq!(
            code(m.pf_add_rule_ioctl("a", ticket, pool + 1, &rdr())),
            Some(Errno::EBUSY)
        );
    }
}
