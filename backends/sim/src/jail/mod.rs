//! Jails: jail_set(2), jail_get(2), jail_remove(2), and the life of a prison record.
//!
//! Source: [14] `sys/kern/kern_jail.c` read through the project's search index
//! (`kern_jail_set`, `get_next_prid`, `kern_jail_get`, `sys_jail_remove`, `sys_jail_attach`,
//! `prison_deref`, `prison_deref_kill`, `prison_find_name`), and `sys/kern/kern_exit.c`
//! (`exit1` drops the jail's user reference when a process exits; its credential, which keeps
//! the record, goes when it is reaped). FACTS.md §1 Jails, FACTS-kernel-errno.md §6.
//!
//! The caller is always the host (prison0): the sim models no jailed caller.
//!
//! A prison is alive while something holds a user reference to it: `persist`, a live process
//! in it, or a child prison's record. When the last goes, or on jail_remove, it is dying. Its
//! record stays in allprison while a process of it (even a zombie) or a child record remains,
//! and then — FreeBSD bug 238032, jails lingering dying for minutes after their last process —
//! for `linger_ms` more of simulated time. Only then does its vnet go.

use crate::fault::Op;
use crate::kernel::SimKernel;
use crate::machine::Machine;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::net::{Ipv4Addr, Ipv6Addr};
use zelle_core::kernel::{
    Errno, IpMode, JailFlags, JailInfo, JailKey, JailParams, JailSys, JailSys3, Jails, Jid,
    KResult, KernelError, Signal, Vnet,
};

mod osd;
mod set;

pub use osd::{LinuxValues, SYSV_PARAMS};

/// `JAIL_MAX` (`sys/sys/jail.h`): the highest jid handed out, and prison0's `children.max`.
pub const JAIL_MAX: i32 = 999_999;
/// `JAIL_GET_MASK` (`sys/sys/jail.h`): the flags jail_get(2) takes.
const JAIL_GET_MASK: u32 = 0x08;

/// One prison, alive or dying.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jail {
    pub jid: Jid,
    /// The full name, dotted below a parent ("a.b").
    pub name: String,
    pub path: String,
    pub hostname: String,
    /// The parent prison (0 is the host).
    pub parent: Jid,
    pub persist: bool,
    /// Whether the jail has a vnet of its own (`vnet=new`).
    pub vnet: bool,
    pub dying: bool,
    /// While dying and unreferenced: the simulated time at which the record (with its vnet)
    /// is freed.
    pub gone_at_ms: Option<u64>,
    pub enforce_statfs: u32,
    /// The kernel's int, as its bytes: a value above `i32::MAX` is negative there.
    pub children_max: u32,
    pub devfs_ruleset: u32,
    /// As jail_get reports it: `Disable` when the addresses are restricted (`PR_IP4_USER`,
    /// whether set with ip4=new or ip4=disable: kern_jail_get gives JAIL_SYS_DISABLE for both,
    /// as the two share one flag), `Inherit` otherwise.
    pub ip4: IpMode,
    pub ip4_addrs: Vec<Ipv4Addr>,
    pub ip6: IpMode,
    pub ip6_addrs: Vec<Ipv6Addr>,
    pub allow: BTreeSet<String>,
    /// `pr_securelevel`: a new jail starts at its parent's (kern_jail_set).
    #[serde(default = "insecure")]
    pub securelevel: i32,
    /// The root prison of each SysV facility (`osd::SYSV_PARAMS` order): the jail itself
    /// (new), an ancestor (inherit), or none (disabled).
    #[serde(default)]
    pub sysv: [Option<Jid>; 3],
    /// The jail's own Linux values; `None` inherits (or linux_common is not loaded).
    #[serde(default)]
    pub linux: Option<LinuxValues>,
}

/// prison0's securelevel on a stock boot (kern_mib.c: -1 until init raises it).
fn insecure() -> i32 {
    -1
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JailState {
    /// Every prison in allprison, by jid, alive or dying.
    pub jails: BTreeMap<Jid, Jail>,
    /// The last jid handed out (`lastprid` in kern_jail.c).
    pub last_jid: i32,
    /// The last id a renumbered dying jail got (`lastdeadid` in kern_jail.c); 0 before any.
    #[serde(default)]
    pub last_dead_jid: i32,
    /// How long an unreferenced dying jail stays in allprison (FreeBSD bug 238032): 0 frees it
    /// at once.
    pub linger_ms: u64,
    /// The jails by their root: an index of `jails` (a path is fixed at creation), so that
    /// finding the jail a path lies in costs the path's depth.
    #[serde(default)]
    pub roots: BTreeMap<String, BTreeSet<Jid>>,
    /// The jails without `persist`, an index of `jails`: only they can start dying or leave
    /// (a dying jail is never persistent), so settling looks at them alone.
    #[serde(default)]
    pub transient: BTreeSet<Jid>,
    /// The jails by full name, an index of `jails` (names change only by jail_set, which
    /// re-indexes).
    #[serde(default)]
    pub names: BTreeMap<String, BTreeSet<Jid>>,
    /// Each jail's child records by parent (prison0 is 0), an index of `jails`.
    #[serde(default)]
    pub children: BTreeMap<Jid, BTreeSet<Jid>>,
}

impl JailState {
    pub(crate) fn insert(&mut self, jail: Jail) {
        self.children
            .entry(jail.parent)
            .or_default()
            .insert(jail.jid);
        self.names
            .entry(jail.name.clone())
            .or_default()
            .insert(jail.jid);
        if !jail.persist {
            self.transient.insert(jail.jid);
        }
        self.roots
            .entry(jail.path.clone())
            .or_default()
            .insert(jail.jid);
        self.jails.insert(jail.jid, jail);
    }

    pub(crate) fn remove(&mut self, jid: Jid) -> Option<Jail> {
        let jail = self.jails.remove(&jid)?;
        self.transient.remove(&jid);
        if let Some(kids) = self.children.get_mut(&jail.parent) {
            kids.remove(&jid);
            if kids.is_empty() {
                self.children.remove(&jail.parent);
            }
        }
        if let Some(jids) = self.names.get_mut(&jail.name) {
            jids.remove(&jid);
            if jids.is_empty() {
                self.names.remove(&jail.name);
            }
        }
        if let Some(jids) = self.roots.get_mut(&jail.path) {
            jids.remove(&jid);
            if jids.is_empty() {
                self.roots.remove(&jail.path);
            }
        }
        Some(jail)
    }

    /// The jails named `name`, in jid order.
    pub(crate) fn named<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a Jail> + 'a {
        self.names
            .get(name)
            .into_iter()
            .flatten()
            .filter_map(|jid| self.jails.get(jid))
    }

    /// The child records of `parent`, in jid order.
    pub(crate) fn children_of(&self, parent: Jid) -> impl Iterator<Item = Jid> + '_ {
        self.children.get(&parent).into_iter().flatten().copied()
    }

    /// Build the children index again (after a renumbering moved a parent's id).
    fn reindex_children(&mut self) {
        let mut children: BTreeMap<Jid, BTreeSet<Jid>> = BTreeMap::new();
        for j in self.jails.values() {
            children.entry(j.parent).or_default().insert(j.jid);
        }
        self.children = children;
    }

    /// Build the name index again (after a rename, which renames descendants too).
    pub(crate) fn reindex_names(&mut self) {
        let mut names: BTreeMap<String, BTreeSet<Jid>> = BTreeMap::new();
        for j in self.jails.values() {
            names.entry(j.name.clone()).or_default().insert(j.jid);
        }
        self.names = names;
    }

    /// Set a jail's `persist`, keeping the index.
    pub(crate) fn set_persist(&mut self, jid: Jid, persist: bool) {
        if let Some(jail) = self.jails.get_mut(&jid) {
            jail.persist = persist;
            if persist {
                self.transient.remove(&jid);
            } else {
                self.transient.insert(jid);
            }
        }
    }

    /// The index as `jails` says it should be.
    fn roots_of_jails(&self) -> BTreeMap<String, BTreeSet<Jid>> {
        let mut roots: BTreeMap<String, BTreeSet<Jid>> = BTreeMap::new();
        for j in self.jails.values() {
            roots.entry(j.path.clone()).or_default().insert(j.jid);
        }
        roots
    }
}

/// The network stack a jail's processes use: the jail's own vnet or, without one, its
/// parent's (all the way up to the host's, jid 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct VnetId(pub Jid);

impl VnetId {
    pub const HOST: VnetId = VnetId(Jid(0));
}

impl Machine {
    /// The vnet a network request for `vnet` runs in. The real backend enters a jail's vnet by
    /// jail_attach(2) in a forked child, so an unknown or dying jail fails as jail_attach does:
    /// EINVAL (kern_jail.c, `sys_jail_attach` → `do_jail_attach`) [14].
    pub(crate) fn vnet_of(&self, vnet: Vnet) -> KResult<VnetId> {
        let mut jid = match vnet {
            Vnet::Host => return Ok(VnetId::HOST),
            Vnet::Jail(jid) => jid,
        };
        match self.jails.jails.get(&jid) {
            Some(jail) if !jail.dying => {}
            _ => return Err(KernelError::errno(Op::JailAttach, Errno::EINVAL)),
        }
        while let Some(jail) = self.jails.jails.get(&jid) {
            if jail.vnet {
                return Ok(VnetId(jid));
            }
            jid = jail.parent;
        }
        Ok(VnetId::HOST)
    }

    /// Whether `jid` is prison0 or a jail in allprison that is not dying (`prison_isalive`).
    pub(crate) fn jail_alive(&self, jid: Jid) -> bool {
        jid == Jid(0) || self.jails.jails.get(&jid).is_some_and(|j| !j.dying)
    }

    /// Whether `jid` is `ancestor` or lies below it (prison0 is everyone's ancestor).
    pub(crate) fn jail_within(&self, mut jid: Jid, ancestor: Jid) -> bool {
        // Bounded by the number of jails: recorded state cannot loop forever.
        for _ in 0..=self.jails.jails.len() {
            if jid == ancestor {
                return true;
            }
            match self.jails.jails.get(&jid) {
                Some(jail) => jid = jail.parent,
                None => return false,
            }
        }
        false
    }

    /// Every jail strictly below `jid`, in jid order.
    fn descendants(&self, jid: Jid) -> Vec<Jid> {
        let mut found: Vec<Jid> = self.jails.children_of(jid).collect();
        let mut at = 0;
        // Bounded by the number of jails: recorded state cannot loop forever.
        while at < found.len() && found.len() <= self.jails.jails.len() {
            let below: Vec<Jid> = self.jails.children_of(found[at]).collect();
            found.extend(below);
            at += 1;
        }
        found.sort();
        found
    }

    /// The jail whose root holds `path` (the deepest, "/" roots aside): mounts remember it.
    pub(crate) fn jail_root_holding(&self, path: &str) -> Option<Jid> {
        // The deepest root on the way (not "/": the host's own jails hold nothing there).
        let mut point = path.trim_end_matches('/');
        while !point.is_empty() {
            if let Some(jid) = self
                .jails
                .roots
                .get(point)
                .and_then(|j| j.iter().next_back())
            {
                return Some(*jid);
            }
            point = &point[..point.rfind('/')?];
        }
        None
    }

    /// prison_find_name from the host: an alive jail by full name, else a dying one (the
    /// oldest: the kernel keeps the last one its newest-first walk meets; jid order stands in
    /// for age).
    fn find_jail_name(&self, name: &str) -> Option<&Jail> {
        let first = self.jails.named(name).next();
        self.jails.named(name).find(|j| !j.dying).or(first)
    }

    /// jail_get(2) (kern_jail_get), for the host as caller.
    pub(crate) fn jail_get_rule(&self, key: &JailKey, flags: JailFlags) -> KResult<JailInfo> {
        let fail = |errno| KernelError::errno(Op::JailGet, errno);
        let refuse = |errno, msg: String| KernelError::with_message(Op::JailGet, errno, msg);
        if flags.0 & !JAIL_GET_MASK != 0 {
            return Err(fail(Errno::EINVAL));
        }
        let dying_ok = flags.contains(JailFlags::DYING);
        let jail = match key {
            JailKey::After(after) => self
                .jails
                .jails
                .values()
                .find(|j| j.jid > *after && (dying_ok || !j.dying))
                .ok_or_else(|| refuse(Errno::ENOENT, format!("no jail after {after}")))?,
            // jid 0 is no key at all: the kernel goes on to look for a name.
            JailKey::Jid(Jid(0)) => {
                return Err(refuse(Errno::ENOENT, "no jail specified".into()));
            }
            JailKey::Jid(jid) => match self.jails.jails.get(jid) {
                Some(j) if j.dying && !dying_ok => {
                    return Err(refuse(Errno::ENOENT, format!("jail {jid} is dying")))
                }
                Some(j) => j,
                None => return Err(refuse(Errno::ENOENT, format!("jail {jid} not found"))),
            },
            JailKey::Name(name) => {
                if name.contains('\0') {
                    return Err(fail(Errno::EINVAL));
                }
                match self.find_jail_name(name) {
                    Some(j) if j.dying && !dying_ok => {
                        return Err(refuse(Errno::ENOENT, format!("jail \"{name}\" is dying")))
                    }
                    Some(j) => j,
                    None => {
                        return Err(refuse(Errno::ENOENT, format!("jail \"{name}\" not found")))
                    }
                }
            }
        };
        Ok(JailInfo {
            jid: jail.jid,
            name: jail.name.clone(),
            path: jail.path.clone(),
            hostname: jail.hostname.clone(),
            persist: jail.persist,
            vnet: jail.vnet,
            dying: jail.dying,
            enforce_statfs: jail.enforce_statfs,
            children_max: jail.children_max,
            devfs_ruleset: jail.devfs_ruleset,
            ip4: jail.ip4,
            ip4_addrs: jail.ip4_addrs.clone(),
            ip6: jail.ip6,
            ip6_addrs: jail.ip6_addrs.clone(),
            allow: jail.allow.iter().cloned().collect(),
            securelevel: jail.securelevel,
            sysvmsg: self.sysv_mode(jail, 0),
            sysvsem: self.sysv_mode(jail, 1),
            sysvshm: self.sysv_mode(jail, 2),
            linux: self.linux_info(jail),
        })
    }

    /// jail_remove(2): EINVAL for no such jail, 0 for a dying one; otherwise the jail and its
    /// live descendants die at once, lose persist, and every process in them gets SIGKILL
    /// (prison_deref with PD_KILL).
    pub(crate) fn jail_remove_rule(&mut self, jid: Jid) -> KResult<()> {
        let Some(jail) = self.jails.jails.get(&jid) else {
            return Err(KernelError::errno(Op::JailRemove, Errno::EINVAL));
        };
        if jail.dying {
            return Ok(());
        }
        // The jail, and its descendants that are alive (a dying one's subtree is left alone).
        let mut killed = vec![jid];
        let mut at = 0;
        while at < killed.len() {
            let parent = killed[at];
            let children: Vec<Jid> = self
                .jails
                .children_of(parent)
                .filter(|kid| self.jails.jails.get(kid).is_some_and(|j| !j.dying))
                .collect();
            killed.extend(children);
            at += 1;
        }
        for k in &killed {
            if let Some(j) = self.jails.jails.get_mut(k) {
                j.dying = true;
            }
            self.jails.set_persist(*k, false);
        }
        let victims: Vec<_> = self
            .procs
            .procs
            .iter()
            .filter(|(_, p)| self.jail_within(p.jail, jid))
            .map(|(pid, _)| *pid)
            .collect();
        for pid in victims {
            let _ = self.deliver_signal(pid, Signal::SIGKILL);
        }
        self.settle_jails();
        Ok(())
    }

    /// Give jail `old` the id `new` (`pr_id` changes; everything that refers to the prison
    /// follows it: its children, processes, mounts and vnet).
    fn renumber_jail(&mut self, old: Jid, new: Jid) {
        let Some(mut jail) = self.jails.remove(old) else {
            return;
        };
        jail.jid = new;
        let vnet = jail.vnet;
        self.jails.insert(jail);
        for child in self.jails.jails.values_mut() {
            if child.parent == old {
                child.parent = new;
            }
            for root in child.sysv.iter_mut().flatten() {
                if *root == old {
                    *root = new;
                }
            }
        }
        for p in self.procs.procs.values_mut() {
            if p.jail == old {
                p.jail = new;
            }
        }
        for m in &mut self.mounts.mounts {
            if m.jail == Some(old) {
                m.jail = Some(new);
            }
        }
        self.jails.reindex_children();
        if vnet {
            self.net.renumber_vnet(VnetId(old), VnetId(new));
        }
    }

    /// Who holds each of `jails`, counted once for all of them (see `JailRefs`).
    fn jail_refs(&self, jails: &BTreeSet<Jid>) -> JailRefs {
        let mut refs = JailRefs::default();
        for p in self
            .procs
            .procs
            .values()
            .filter(|p| jails.contains(&p.jail))
        {
            refs.with_processes.insert(p.jail);
            if p.is_live() {
                *refs.live.entry(p.jail).or_default() += 1;
            }
        }
        for &jid in jails {
            let kids = self.jails.children.get(&jid).map_or(0, BTreeSet::len);
            if kids > 0 {
                refs.children.insert(jid, kids);
            }
        }
        refs
    }

    /// Bring the jails up to date: alive jails without user references start dying; dying
    /// jails nothing holds start lingering, and leave allprison (their vnet with them) when
    /// the linger time is over. Repeats, as a record leaving frees its parent.
    pub(crate) fn settle_jails(&mut self) {
        loop {
            // A persistent jail that is not dying holds a user reference of its own: only the
            // others can change, and most of the time there are none.
            let candidates = self.jails.transient.clone();
            if candidates.is_empty() {
                return;
            }
            let mut changed = false;
            // Counted once a pass: a record leaving may free its parent, which the next pass
            // sees.
            let refs = self.jail_refs(&candidates);
            for jid in candidates {
                let Some(jail) = self.jails.jails.get(&jid) else {
                    continue;
                };
                if !jail.dying {
                    if refs.user_refs(jail, jid) == 0 {
                        if let Some(j) = self.jails.jails.get_mut(&jid) {
                            j.dying = true;
                        }
                        changed = true;
                    }
                    continue;
                }
                if refs.record_held(jid) {
                    continue;
                }
                let clock = self.clock_ms;
                let linger = self.jails.linger_ms;
                let Some(j) = self.jails.jails.get_mut(&jid) else {
                    continue;
                };
                let gone_at = *j.gone_at_ms.get_or_insert(clock.saturating_add(linger));
                if gone_at <= clock {
                    let vnet = j.vnet;
                    self.jails.remove(jid);
                    if vnet {
                        self.vnet_destroy(VnetId(jid));
                    }
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
    }

    /// Timed jail events: lingering dying jails leave allprison when their time is up.
    pub(crate) fn tick_jails(&mut self) {
        self.settle_jails();
    }

    /// As `jls -d -h` prints the parameters zelle sets (the linux ones only while they exist;
    /// an empty value as "").
    pub(crate) fn dump_jails(&self, out: &mut String) {
        let mut columns = vec![
            "jid",
            "parent",
            "name",
            "host.hostname",
            "vnet",
            "persist",
            "dying",
            "path",
            "ip4.addr",
            "securelevel",
            "children.max",
            "enforce_statfs",
            "devfs_ruleset",
        ];
        columns.extend(SYSV_PARAMS);
        let linux = self.linux_registered();
        if linux {
            columns.extend(["linux", "linux.osname", "linux.osrelease"]);
        }
        out.push_str(&format!("# jls -d -h {}\n", columns.join(" ")));
        out.push_str(&columns.join(" "));
        out.push('\n');
        let text = |s: &str| {
            if s.is_empty() {
                "\"\"".to_string()
            } else {
                s.to_string()
            }
        };
        let jailsys = |m: JailSys3| match m {
            JailSys3::Disable => "disable",
            JailSys3::New => "new",
            JailSys3::Inherit => "inherit",
        };
        for j in self.jails.jails.values() {
            let addrs: Vec<String> = j.ip4_addrs.iter().map(|a| a.to_string()).collect();
            let mut row = vec![
                j.jid.to_string(),
                j.parent.to_string(),
                j.name.clone(),
                text(&j.hostname),
                (if j.vnet { "new" } else { "inherit" }).to_string(),
                j.persist.to_string(),
                j.dying.to_string(),
                j.path.clone(),
                if addrs.is_empty() {
                    "-".to_string()
                } else {
                    addrs.join(",")
                },
                j.securelevel.to_string(),
                j.children_max.to_string(),
                j.enforce_statfs.to_string(),
                j.devfs_ruleset.to_string(),
            ];
            row.extend((0..SYSV_PARAMS.len()).map(|at| jailsys(self.sysv_mode(j, at)).into()));
            if let Some(l) = self.linux_info(j) {
                let mode = match l.mode {
                    JailSys::New => "new",
                    JailSys::Inherit => "inherit",
                };
                row.extend([mode.to_string(), text(&l.osname), text(&l.osrelease)]);
            }
            out.push_str(&row.join(" "));
            out.push('\n');
        }
        out.push('\n');
    }

    pub(crate) fn check_jails(&self, problems: &mut Vec<String>) {
        if self.jails.roots != self.jails.roots_of_jails() {
            problems.push("jail roots index: out of step with allprison".into());
        }
        let transient: BTreeSet<Jid> = self
            .jails
            .jails
            .values()
            .filter(|j| !j.persist)
            .map(|j| j.jid)
            .collect();
        if self.jails.transient != transient {
            problems.push("transient jails index: out of step with allprison".into());
        }
        let mut indexed = self.jails.clone();
        indexed.reindex_names();
        indexed.reindex_children();
        if indexed.names != self.jails.names || indexed.children != self.jails.children {
            problems.push("jail names or children index: out of step with allprison".into());
        }
        let refs = self.jail_refs(&self.jails.jails.keys().copied().collect());
        let mut alive_names = BTreeSet::new();
        for (jid, j) in &self.jails.jails {
            let at = format!("jail {jid}");
            if *jid != j.jid || jid.0 <= 0 {
                problems.push(format!("{at}: recorded as jid {}", j.jid));
            }
            if j.parent != Jid(0) && !self.jails.jails.contains_key(&j.parent) {
                problems.push(format!("{at}: parent {} is not in allprison", j.parent));
            }
            if !self.jail_within(*jid, Jid(0)) {
                problems.push(format!("{at}: its parents loop"));
            }
            for (name, root) in SYSV_PARAMS.iter().zip(j.sysv) {
                if root.is_some_and(|root| !self.jail_within(*jid, root)) {
                    problems.push(format!("{at}: {name} shared with a prison not above it"));
                }
            }
            if j.dying {
                if j.persist {
                    problems.push(format!("{at}: dying but persistent"));
                }
                if j.gone_at_ms.is_some() && refs.record_held(*jid) {
                    problems.push(format!("{at}: lingering while still referenced"));
                }
                if j.gone_at_ms.is_some_and(|t| t <= self.clock_ms) {
                    problems.push(format!("{at}: should have left allprison"));
                }
            } else {
                if !self.jail_alive(j.parent) {
                    problems.push(format!("{at}: alive below dying parent {}", j.parent));
                }
                if j.gone_at_ms.is_some() {
                    problems.push(format!("{at}: alive but set to leave"));
                }
                if refs.user_refs(j, *jid) == 0 {
                    problems.push(format!("{at}: alive without persist, process or child"));
                }
                if !alive_names.insert(j.name.clone()) {
                    problems.push(format!("{at}: name {:?} held twice", j.name));
                }
            }
        }
    }
}

impl Jails for SimKernel {
    fn jail_set(&self, params: &JailParams, flags: JailFlags) -> KResult<Jid> {
        self.call(Op::JailSet, &(params, flags), |m| {
            m.jail_set_rule(params, flags)
        })
    }

    fn jail_get(&self, key: &JailKey, flags: JailFlags) -> KResult<JailInfo> {
        self.reap_local();
        self.call(Op::JailGet, &(key, flags), |m| m.jail_get_rule(key, flags))
    }

    fn jail_remove(&self, jid: Jid) -> KResult<()> {
        self.reap_local();
        self.call(Op::JailRemove, &jid, |m| m.jail_remove_rule(jid))
    }
}

/// What holds each prison, counted in one pass over processes and records so that settling
/// every jail costs O(jails + processes), not their product.
#[derive(Default)]
struct JailRefs {
    /// Live (not zombie) processes per jail.
    live: BTreeMap<Jid, usize>,
    /// Jails with any process, zombies included (a zombie's credential still holds the record
    /// until it is reaped).
    with_processes: BTreeSet<Jid>,
    /// Child prison records per parent.
    children: BTreeMap<Jid, usize>,
}

impl JailRefs {
    /// The user references of a prison (`pr_uref`): persist, its live processes, and the
    /// records of its child prisons.
    fn user_refs(&self, jail: &Jail, jid: Jid) -> usize {
        usize::from(jail.persist)
            + self.live.get(&jid).copied().unwrap_or(0)
            + self.children.get(&jid).copied().unwrap_or(0)
    }

    /// Whether anything still holds the record: a process of the jail or a child's record.
    fn record_held(&self, jid: Jid) -> bool {
        self.with_processes.contains(&jid) || self.children.contains_key(&jid)
    }
}
