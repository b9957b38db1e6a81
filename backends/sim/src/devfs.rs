//! devfs rulesets (the DEVFSIO_* ioctls) and what each devfs mount then shows.
//!
//! Sources (FACTS-kernel-runtime.md §2): [M] `sys/fs/devfs/devfs_rule.c` (`devfs_rules_ioctl`,
//! `devfs_rid_input`, `devfs_rule_insert`, `devfs_rule_autonumber`, `devfs_rule_byid`,
//! `devfs_rule_delete`, `devfs_rule_match`, `devfs_rule_matchpath`, `devfs_rule_run`,
//! `devfs_ruleset_applydm`, `devfs_ruleset_use`, `devfs_ruleset_reap`, `devfs_rules_apply`,
//! `devfs_rules_cleanup`), [K] `fs/devfs/devfs.h`.
//!
//! Rulesets are global. Each devfs mount uses one (its `ruleset` mount option, or
//! DEVFSIO_SUSE); its nodes start as the machine's devices with the mount's ruleset run on
//! them (`devfs_rules_apply` on every new dirent), and change afterwards only when a ruleset
//! or rule is applied (DEVFSIO_SAPPLY, DEVFSIO_RAPPLY): adding a rule or switching rulesets
//! changes nothing already there.
//!
//! The mount table belongs to `mount.rs`; this module keeps each devfs mount's own state by
//! mount id and brings it up to date with the table before every devfs request (a mount
//! made since gets its nodes, an unmounted one drops its ruleset reference as
//! `devfs_rules_cleanup` does). No devfs request happens in between, so that is what the
//! kernel would have done at mount and unmount time.
//!
//! Not modelled: the caller is always the host's root (no EPERM from `priv_check`);
//! DRC_DSWFLAGS conditions (the contract has none); jailed devfs mounts (the jail's
//! devfs_ruleset), as the sim mounts from the host only.

use crate::fault::Op;
use crate::kernel::SimKernel;
use crate::machine::{failed, Machine};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use zelle_core::kernel::devfs::DEVFS_MAXPTRNLEN;
use zelle_core::kernel::{DevfsRule, DevfsRuleId, DevfsRules, DevfsVisibility, Errno, KResult};

/// vfs.devfs.rule_depth's default: an included ruleset's own includes are not run.
const RULE_DEPTH: u32 = 1;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum NodeKind {
    Device,
    Directory,
    Link,
}

/// A device node as the driver made it (`make_dev`), or a directory or link of devfs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DevNode {
    pub kind: NodeKind,
    pub mode: u16,
    pub uid: u32,
    pub gid: u32,
}

/// One node of one mount: hidden (`DE_WHITEOUT`) or not, and its owner and mode there.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeState {
    pub kind: NodeKind,
    pub hidden: bool,
    pub mode: u16,
    pub uid: u32,
    pub gid: u32,
}

/// A visible node of a devfs mount, as `ls -l` would list it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DevfsNode {
    /// The path below the mount's root ("null", "pts", "fd/0").
    pub path: String,
    pub kind: NodeKind,
    pub mode: u16,
    pub uid: u32,
    pub gid: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DevfsMount {
    /// `dm_ruleset`: 0 is none.
    pub ruleset: u16,
    pub nodes: BTreeMap<String, NodeState>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DevfsState {
    /// `devfs_rulesets`: by number, each its rules by number (the TAILQs are kept sorted).
    pub rulesets: BTreeMap<u16, BTreeMap<u16, DevfsRule>>,
    /// The machine's devices, by path below a devfs root.
    pub devices: BTreeMap<String, DevNode>,
    /// Each devfs mount's state, by `Mount::id`.
    pub mounts: BTreeMap<u64, DevfsMount>,
}

impl Default for DevfsState {
    fn default() -> Self {
        DevfsState {
            rulesets: BTreeMap::new(),
            devices: default_devices(),
            mounts: BTreeMap::new(),
        }
    }
}

/// The devices of a small FreeBSD 14 amd64 host with pf loaded, with the owners and modes their
/// drivers give them (UNCONFIRMED: modes as remembered from each driver's make_dev call;
/// directories of devfs are 0555). uid 0 root; gid 0 wheel, 2 kmem, 5 operator.
fn default_devices() -> BTreeMap<String, DevNode> {
    use NodeKind::*;
    let node = |kind, mode, gid| DevNode {
        kind,
        mode,
        uid: 0,
        gid,
    };
    [
        ("ada0", node(Device, 0o640, 5)),
        ("bpf", node(Device, 0o600, 0)),
        ("console", node(Device, 0o600, 0)),
        ("crypto", node(Device, 0o666, 0)),
        ("devctl", node(Device, 0o600, 0)),
        ("fd", node(Directory, 0o555, 0)),
        ("fd/0", node(Device, 0o666, 0)),
        ("fd/1", node(Device, 0o666, 0)),
        ("fd/2", node(Device, 0o666, 0)),
        ("fuse", node(Device, 0o666, 0)),
        ("klog", node(Device, 0o600, 0)),
        ("kmem", node(Device, 0o640, 2)),
        ("mem", node(Device, 0o640, 2)),
        ("null", node(Device, 0o666, 0)),
        ("pf", node(Device, 0o600, 0)),
        ("ptmx", node(Device, 0o666, 0)),
        ("pts", node(Directory, 0o555, 0)),
        ("random", node(Device, 0o644, 0)),
        ("stderr", node(Link, 0o755, 0)),
        ("stdin", node(Link, 0o755, 0)),
        ("stdout", node(Link, 0o755, 0)),
        ("ttyv0", node(Device, 0o600, 0)),
        ("urandom", node(Link, 0o755, 0)),
        ("zero", node(Device, 0o666, 0)),
        ("zfs", node(Device, 0o666, 0)),
    ]
    .into_iter()
    .map(|(path, n)| (path.to_string(), n))
    .collect()
}

/// fnmatch(3) with FNM_PATHNAME: `*`, `?` and `[...]` never match a '/'.
pub fn fnmatch(pattern: &[u8], name: &[u8]) -> bool {
    match pattern.split_first() {
        None => name.is_empty(),
        Some((b'*', rest)) => {
            let rest = {
                let mut r = rest;
                while let Some((b'*', more)) = r.split_first() {
                    r = more;
                }
                r
            };
            for i in 0..=name.len() {
                if fnmatch(rest, &name[i..]) {
                    return true;
                }
                if name.get(i) == Some(&b'/') {
                    break;
                }
            }
            false
        }
        Some((b'?', rest)) => match name.split_first() {
            Some((c, tail)) if *c != b'/' => fnmatch(rest, tail),
            _ => false,
        },
        Some((b'[', rest)) => match (class(rest), name.split_first()) {
            (Some((set, after)), Some((c, tail))) => *c != b'/' && set(*c) && fnmatch(after, tail),
            // An unterminated class is a literal '['.
            (None, Some((b'[', tail))) => fnmatch(rest, tail),
            _ => false,
        },
        Some((b'\\', rest)) if !rest.is_empty() => {
            name.first() == Some(&rest[0]) && fnmatch(&rest[1..], &name[1..])
        }
        Some((c, rest)) => name.first() == Some(c) && fnmatch(rest, &name[1..]),
    }
}

/// A bracket expression after its '[': the test and what follows its ']'.
fn class(p: &[u8]) -> Option<(impl Fn(u8) -> bool, &[u8])> {
    let (negate, mut i) = match p.first() {
        Some(b'!' | b'^') => (true, 1),
        _ => (false, 0),
    };
    let mut ranges = Vec::new();
    let mut first = true;
    loop {
        let c = *p.get(i)?;
        if c == b']' && !first {
            break;
        }
        first = false;
        if p.get(i + 1) == Some(&b'-') && p.get(i + 2).is_some_and(|e| *e != b']') {
            ranges.push((c, p[i + 2]));
            i += 3;
        } else {
            ranges.push((c, c));
            i += 1;
        }
    }
    let test = move |c: u8| ranges.iter().any(|(lo, hi)| (*lo..=*hi).contains(&c)) != negate;
    Some((test, &p[i + 1..]))
}

/// `devfs_rule_match`: no condition matches every node; a pattern must match the node's path
/// (`devfs_rule_matchpath`).
fn rule_matches(rule: &DevfsRule, path: &str) -> bool {
    rule.pattern
        .as_ref()
        .is_none_or(|p| fnmatch(p.as_bytes(), path.as_bytes()))
}

impl DevfsState {
    /// `devfs_rule_run`: do what a matching rule says; an include runs that ruleset's rules
    /// while `depth` allows.
    fn run(&self, rule: &DevfsRule, path: &str, node: &mut NodeState, depth: u32) {
        if !rule_matches(rule, path) {
            return;
        }
        match rule.visibility {
            Some(DevfsVisibility::Hide) => node.hidden = true,
            Some(DevfsVisibility::Unhide) => node.hidden = false,
            None => {}
        }
        if let Some(uid) = rule.uid {
            node.uid = uid;
        }
        if let Some(gid) = rule.gid {
            node.gid = gid;
        }
        if let Some(mode) = rule.mode {
            node.mode = mode;
        }
        if let (Some(set), true) = (rule.include, depth > 0) {
            self.run_set(set, path, node, depth - 1);
        }
    }

    fn run_set(&self, set: u16, path: &str, node: &mut NodeState, depth: u32) {
        for rule in self.rulesets.get(&set).into_iter().flat_map(|s| s.values()) {
            self.run(rule, path, node, depth);
        }
    }

    /// A new dirent for `device` on a mount using `ruleset` (`devfs_rules_apply`).
    fn new_node(&self, ruleset: u16, path: &str, device: &DevNode) -> NodeState {
        let mut node = NodeState {
            kind: device.kind,
            hidden: false,
            mode: device.mode,
            uid: device.uid,
            gid: device.gid,
        };
        if ruleset != 0 {
            self.run_set(ruleset, path, &mut node, RULE_DEPTH);
        }
        node
    }

    /// How many mounts and includes hold a ruleset (`ds_refcount`).
    fn refcount(&self, set: u16) -> usize {
        let mounts = self.mounts.values().filter(|m| m.ruleset == set).count();
        let includes = self
            .rulesets
            .values()
            .flat_map(|s| s.values())
            .filter(|r| r.include == Some(set))
            .count();
        mounts + includes
    }

    /// `devfs_ruleset_reap`: an empty ruleset nothing refers to is freed.
    fn reap(&mut self, set: u16) {
        if self.rulesets.get(&set).is_some_and(|s| s.is_empty()) && self.refcount(set) == 0 {
            self.rulesets.remove(&set);
        }
    }

    /// `devfs_ruleset_use`: drop the old ruleset's reference, take the new one's (creating it).
    fn use_ruleset(&mut self, mount: u64, set: u16) {
        let Some(old) = self.mounts.get(&mount).map(|m| m.ruleset) else {
            return;
        };
        if let Some(m) = self.mounts.get_mut(&mount) {
            m.ruleset = set;
        }
        if old != 0 {
            self.reap(old);
        }
        if set != 0 {
            self.rulesets.entry(set).or_default();
        }
    }
}

/// The ruleset a devfs mount was made with: its last "ruleset" option, else none (0).
pub(crate) fn mount_ruleset(options: &[(String, String)]) -> u16 {
    options
        .iter()
        .rev()
        .find(|(k, _)| k == "ruleset")
        .and_then(|(_, v)| v.trim().parse::<u16>().ok())
        .unwrap_or(0)
}

impl Machine {
    /// Bring devfs's per-mount state up to date with the mount table (see the module doc).
    pub(crate) fn devfs_sync(&mut self) {
        let live: Vec<(u64, u16)> = self
            .mounts
            .mounts
            .iter()
            .filter(|m| m.fstype == "devfs")
            .map(|m| (m.id, mount_ruleset(&m.options)))
            .collect();
        let live_ids: std::collections::BTreeSet<u64> = live.iter().map(|(id, _)| *id).collect();
        let gone: Vec<u64> = self
            .devfs
            .mounts
            .keys()
            .filter(|id| !live_ids.contains(id))
            .copied()
            .collect();
        for id in gone {
            self.devfs_unmounted(id);
        }
        for (id, ruleset) in live {
            if !self.devfs.mounts.contains_key(&id) {
                self.devfs_populate(id, ruleset);
            }
        }
    }

    /// A devfs mount went (devfs_unmount → devfs_rules_cleanup): its nodes go, and its ruleset
    /// if nothing else keeps it.
    pub(crate) fn devfs_unmounted(&mut self, id: u64) {
        if let Some(m) = self.devfs.mounts.remove(&id) {
            if m.ruleset != 0 {
                self.devfs.reap(m.ruleset);
            }
        }
    }

    /// A new devfs mount's nodes: every device, through its ruleset (devfs_populate).
    pub(crate) fn devfs_populate(&mut self, id: u64, ruleset: u16) {
        if ruleset != 0 {
            // devfs_mount → devfs_ruleset_set creates a ruleset never loaded (FACTS §2).
            self.devfs.rulesets.entry(ruleset).or_default();
        }
        let nodes = self
            .devfs
            .devices
            .iter()
            .map(|(path, dev)| (path.clone(), self.devfs.new_node(ruleset, path, dev)))
            .collect();
        self.devfs.mounts.insert(id, DevfsMount { ruleset, nodes });
    }

    /// The devfs mount a request's descriptor is on: open(2) of the path (namei's errors),
    /// then the mount holding it; a path on any other file system gets ENOTTY, its VOP_IOCTL
    /// knowing no DEVFSIO_* (UNCONFIRMED: vn_ioctl's answer for a directory).
    fn devfs_target(&mut self, path: &str) -> Result<u64, Errno> {
        let found = self.namei(path)?;
        let holder = self.mount_holding(&found.global).ok_or(Errno::ENOTTY)?;
        if holder.fstype != "devfs" {
            return Err(Errno::ENOTTY);
        }
        let id = holder.id;
        if !self.devfs.mounts.contains_key(&id) {
            self.devfs_sync();
        }
        Ok(id)
    }

    /// `devfs_rid_input`: ruleset 0 means the mount's.
    fn rid_input(&self, mount: u64, id: DevfsRuleId) -> DevfsRuleId {
        if id.ruleset == 0 {
            let ruleset = self.devfs.mounts.get(&mount).map_or(0, |m| m.ruleset);
            DevfsRuleId::new(ruleset, id.rule)
        } else {
            id
        }
    }

    /// The id a request on the devfs mount at `path` means (`devfs_rid_input`): what
    /// DEVFSIO_RADD copies back into `dr_id` (the ABI door).
    pub(crate) fn devfs_id_input(
        &mut self,
        path: &str,
        id: DevfsRuleId,
    ) -> Result<DevfsRuleId, Errno> {
        let mount = self.devfs_target(path)?;
        Ok(self.rid_input(mount, id))
    }

    /// Run one rule over every node of a mount (`devfs_rule_applydm`).
    fn devfs_apply(&mut self, mount: u64, rules: &[DevfsRule]) {
        let Some(mut m) = self.devfs.mounts.remove(&mount) else {
            return;
        };
        for rule in rules {
            for (path, node) in m.nodes.iter_mut() {
                self.devfs.run(rule, path, node, RULE_DEPTH);
            }
        }
        self.devfs.mounts.insert(mount, m);
    }

    /// The pattern must fit `dr_pathptrn` with its NUL and be a C string (contract rule: the
    /// real backend refuses before the call, ENAMETOOLONG and EINVAL).
    fn check_devfs_rule(rule: &DevfsRule) -> Result<(), Errno> {
        match &rule.pattern {
            Some(p) if p.contains('\0') => Err(Errno::EINVAL),
            Some(p) if p.len() >= DEVFS_MAXPTRNLEN => Err(Errno::ENAMETOOLONG),
            _ => Ok(()),
        }
    }

    /// DEVFSIO_RADD: the id exists EEXIST; ruleset 0 (and a mount using none) EIO, not EINVAL;
    /// an include of a missing ruleset ESRCH; rule 0 numbered last + 100, ERANGE past 65535;
    /// a missing ruleset is created (`devfs_rules_ioctl`, `devfs_rule_insert`).
    pub(crate) fn devfs_add_rule_rule(
        &mut self,
        path: &str,
        rule: &DevfsRule,
    ) -> Result<(), Errno> {
        Self::check_devfs_rule(rule)?;
        let mount = self.devfs_target(path)?;
        let id = self.rid_input(mount, rule.id);
        let existing = self.devfs.rulesets.get(&id.ruleset);
        if existing.is_some_and(|s| s.contains_key(&id.rule)) {
            return Err(Errno::EEXIST);
        }
        if id.ruleset == 0 {
            return Err(Errno::EIO);
        }
        if let Some(set) = rule.include {
            if !self.devfs.rulesets.contains_key(&set) {
                return Err(Errno::ESRCH);
            }
        }
        let number = match id.rule {
            0 => {
                let last = existing.and_then(|s| s.keys().next_back()).copied();
                match last {
                    None => 100,
                    Some(last) => last.checked_add(100).ok_or(Errno::ERANGE)?,
                }
            }
            n => n,
        };
        let mut stored = rule.clone();
        stored.id = DevfsRuleId::new(id.ruleset, number);
        self.devfs
            .rulesets
            .entry(id.ruleset)
            .or_default()
            .insert(number, stored);
        Ok(())
    }

    /// DEVFSIO_RDEL: a missing id ENOENT; the ruleset (and an included one) is reaped when
    /// empty and unused (`devfs_rule_delete`).
    pub(crate) fn devfs_delete_rule_rule(
        &mut self,
        path: &str,
        id: DevfsRuleId,
    ) -> Result<(), Errno> {
        let mount = self.devfs_target(path)?;
        let id = self.rid_input(mount, id);
        let removed = self
            .devfs
            .rulesets
            .get_mut(&id.ruleset)
            .and_then(|s| s.remove(&id.rule))
            .ok_or(Errno::ENOENT)?;
        if let Some(set) = removed.include {
            self.devfs.reap(set);
        }
        self.devfs.reap(id.ruleset);
        Ok(())
    }

    /// DEVFSIO_RAPPLY: run a rule once, unstored; an include of a missing ruleset ESRCH.
    pub(crate) fn devfs_apply_rule_rule(
        &mut self,
        path: &str,
        rule: &DevfsRule,
    ) -> Result<(), Errno> {
        Self::check_devfs_rule(rule)?;
        let mount = self.devfs_target(path)?;
        if let Some(set) = rule.include {
            if !self.devfs.rulesets.contains_key(&set) {
                return Err(Errno::ESRCH);
            }
        }
        self.devfs_apply(mount, std::slice::from_ref(rule));
        Ok(())
    }

    /// DEVFSIO_RGETNEXT: the first rule numbered above; a missing ruleset or none ENOENT.
    pub(crate) fn devfs_next_rule_rule(
        &mut self,
        path: &str,
        after: DevfsRuleId,
    ) -> Result<DevfsRule, Errno> {
        let mount = self.devfs_target(path)?;
        let id = self.rid_input(mount, after);
        let set = self.devfs.rulesets.get(&id.ruleset).ok_or(Errno::ENOENT)?;
        set.range(id.rule.saturating_add(1)..)
            .next()
            .filter(|(n, _)| **n > id.rule)
            .map(|(_, r)| r.clone())
            .ok_or(Errno::ENOENT)
    }

    /// DEVFSIO_SUSE: never fails; creates a missing ruleset; 0 detaches.
    pub(crate) fn devfs_use_ruleset_rule(&mut self, path: &str, set: u16) -> Result<(), Errno> {
        let mount = self.devfs_target(path)?;
        self.devfs.use_ruleset(mount, set);
        Ok(())
    }

    /// DEVFSIO_SAPPLY: 0 means the mount's; a missing ruleset (0 included) ESRCH.
    pub(crate) fn devfs_apply_ruleset_rule(&mut self, path: &str, set: u16) -> Result<(), Errno> {
        let mount = self.devfs_target(path)?;
        let set = self.rid_input(mount, DevfsRuleId::new(set, 0)).ruleset;
        if set == 0 {
            return Err(Errno::ESRCH);
        }
        let rules: Vec<DevfsRule> = self
            .devfs
            .rulesets
            .get(&set)
            .ok_or(Errno::ESRCH)?
            .values()
            .cloned()
            .collect();
        self.devfs_apply(mount, &rules);
        Ok(())
    }

    /// DEVFSIO_SGETNEXT: the next ruleset above `after`; none ENOENT.
    pub(crate) fn devfs_next_ruleset_rule(&mut self, path: &str, after: u16) -> Result<u16, Errno> {
        self.devfs_target(path)?;
        self.devfs
            .rulesets
            .range(after.saturating_add(1)..)
            .map(|(n, _)| *n)
            .find(|n| *n > after)
            .ok_or(Errno::ENOENT)
    }

    /// Sim control: a driver makes a device node; every devfs mount gets it with its own
    /// ruleset run on it (`devfs_populate` → `devfs_rules_apply`).
    pub fn make_dev(&mut self, path: &str, mode: u16, uid: u32, gid: u32) {
        self.devfs_sync();
        // devfs_populate_loop makes the directories on the way, 0555 root:wheel
        // (devfs_vmkdir).
        let mut dir = String::new();
        for part in path
            .split('/')
            .collect::<Vec<_>>()
            .iter()
            .rev()
            .skip(1)
            .rev()
        {
            if !dir.is_empty() {
                dir.push('/');
            }
            dir.push_str(part);
            if !self.devfs.devices.contains_key(&dir) {
                self.add_node(
                    &dir,
                    DevNode {
                        kind: NodeKind::Directory,
                        mode: 0o555,
                        uid: 0,
                        gid: 0,
                    },
                );
            }
        }
        let dev = DevNode {
            kind: NodeKind::Device,
            mode,
            uid,
            gid,
        };
        self.add_node(path, dev);
    }

    /// A new node in the machine's devices and in every devfs mount, through its ruleset.
    fn add_node(&mut self, path: &str, dev: DevNode) {
        let ids: Vec<(u64, u16)> = self
            .devfs
            .mounts
            .iter()
            .map(|(id, m)| (*id, m.ruleset))
            .collect();
        for (id, ruleset) in ids {
            let node = self.devfs.new_node(ruleset, path, &dev);
            if let Some(m) = self.devfs.mounts.get_mut(&id) {
                m.nodes.insert(path.to_string(), node);
            }
        }
        self.devfs.devices.insert(path.to_string(), dev);
    }

    /// What the devfs mounted on `on` (its mount point) shows: the nodes not hidden and not
    /// below a hidden directory. `None` when no devfs is mounted there.
    pub fn devfs_nodes(&mut self, on: &str) -> Option<Vec<DevfsNode>> {
        self.devfs_sync();
        let id = self
            .mounts
            .mounts
            .iter()
            .rev()
            .find(|m| m.fstype == "devfs" && m.on == on)?
            .id;
        let m = self.devfs.mounts.get(&id)?;
        let hidden = |path: &str| {
            let mut prefix = String::new();
            path.split('/').any(|part| {
                if !prefix.is_empty() {
                    prefix.push('/');
                }
                prefix.push_str(part);
                m.nodes.get(&prefix).is_some_and(|n| n.hidden)
            })
        };
        Some(
            m.nodes
                .iter()
                .filter(|(path, _)| !hidden(path))
                .map(|(path, n)| DevfsNode {
                    path: path.clone(),
                    kind: n.kind,
                    mode: n.mode,
                    uid: n.uid,
                    gid: n.gid,
                })
                .collect(),
        )
    }

    /// As `devfs rule -s N show` lists every ruleset, and what each devfs mount shows.
    pub(crate) fn dump_devfs(&self, out: &mut String) {
        let mut copy = self.clone();
        copy.devfs_sync();
        let mounts: Vec<String> = self
            .mounts
            .mounts
            .iter()
            .filter(|m| m.fstype == "devfs")
            .map(|m| m.on.clone())
            .collect();
        if copy.devfs.rulesets.is_empty() && mounts.is_empty() {
            return;
        }
        out.push_str("# devfs rule showsets; devfs rule -s N show\n");
        for (set, rules) in &copy.devfs.rulesets {
            out.push_str(&format!("ruleset {set}\n"));
            for rule in rules.values() {
                out.push_str(&format!("  {}\n", show_rule(rule)));
            }
        }
        for on in mounts {
            let nodes = copy.devfs_nodes(&on).unwrap_or_default();
            let names: Vec<&str> = nodes.iter().map(|n| n.path.as_str()).collect();
            let ruleset = copy
                .mounts
                .mounts
                .iter()
                .rev()
                .find(|m| m.on == on)
                .and_then(|m| copy.devfs.mounts.get(&m.id))
                .map_or(0, |m| m.ruleset);
            out.push_str(&format!(
                "# ls {on} (ruleset {ruleset}): {}\n",
                names.join(" ")
            ));
        }
        out.push('\n');
    }

    pub(crate) fn check_devfs(&self, problems: &mut Vec<String>) {
        for (id, m) in &self.devfs.mounts {
            if m.ruleset != 0 && !self.devfs.rulesets.contains_key(&m.ruleset) {
                problems.push(format!(
                    "devfs mount {id}: uses missing ruleset {}",
                    m.ruleset
                ));
            }
        }
        for (set, rules) in &self.devfs.rulesets {
            if *set == 0 {
                problems.push("devfs: ruleset 0 exists".to_string());
            }
            for (n, rule) in rules {
                if rule.id != DevfsRuleId::new(*set, *n) || *n == 0 {
                    problems.push(format!("devfs rule {set}:{n}: id {}", rule.id));
                }
                if let Some(inc) = rule.include {
                    if !self.devfs.rulesets.contains_key(&inc) {
                        problems.push(format!("devfs rule {set}:{n}: includes missing {inc}"));
                    }
                }
            }
        }
    }
}

/// A rule in devfs(8)'s words.
fn show_rule(rule: &DevfsRule) -> String {
    let mut words = vec![rule.id.rule.to_string()];
    if let Some(p) = &rule.pattern {
        words.push(format!("path {p}"));
    }
    match rule.visibility {
        Some(DevfsVisibility::Hide) => words.push("hide".into()),
        Some(DevfsVisibility::Unhide) => words.push("unhide".into()),
        None => {}
    }
    if let Some(uid) = rule.uid {
        words.push(format!("user {uid}"));
    }
    if let Some(gid) = rule.gid {
        words.push(format!("group {gid}"));
    }
    if let Some(mode) = rule.mode {
        words.push(format!("mode {mode:o}"));
    }
    if let Some(set) = rule.include {
        words.push(format!("include {set}"));
    }
    words.join(" ")
}

impl DevfsRules for SimKernel {
    fn devfs_add_rule(&self, mount: &str, rule: &DevfsRule) -> KResult<()> {
        let op = Op::DevfsAddRule;
        self.call(op, &(mount, rule), |m| {
            m.devfs_add_rule_rule(mount, rule).map_err(failed(op))
        })
    }
    fn devfs_delete_rule(&self, mount: &str, id: DevfsRuleId) -> KResult<()> {
        let op = Op::DevfsDeleteRule;
        self.call(op, &(mount, id), |m| {
            m.devfs_delete_rule_rule(mount, id).map_err(failed(op))
        })
    }
    fn devfs_apply_rule(&self, mount: &str, rule: &DevfsRule) -> KResult<()> {
        let op = Op::DevfsApplyRule;
        self.call(op, &(mount, rule), |m| {
            m.devfs_apply_rule_rule(mount, rule).map_err(failed(op))
        })
    }
    fn devfs_next_rule(&self, mount: &str, after: DevfsRuleId) -> KResult<DevfsRule> {
        let op = Op::DevfsNextRule;
        self.call(op, &(mount, after), |m| {
            m.devfs_next_rule_rule(mount, after).map_err(failed(op))
        })
    }
    fn devfs_use_ruleset(&self, mount: &str, ruleset: u16) -> KResult<()> {
        let op = Op::DevfsUseRuleset;
        self.call(op, &(mount, ruleset), |m| {
            m.devfs_use_ruleset_rule(mount, ruleset).map_err(failed(op))
        })
    }
    fn devfs_apply_ruleset(&self, mount: &str, ruleset: u16) -> KResult<()> {
        let op = Op::DevfsApplyRuleset;
        self.call(op, &(mount, ruleset), |m| {
            m.devfs_apply_ruleset_rule(mount, ruleset)
                .map_err(failed(op))
        })
    }
    fn devfs_next_ruleset(&self, mount: &str, after: u16) -> KResult<u16> {
        let op = Op::DevfsNextRuleset;
        self.call(op, &(mount, after), |m| {
            m.devfs_next_ruleset_rule(mount, after).map_err(failed(op))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::fnmatch;

    #[test]
    fn fnmatch_with_pathname() {
        let m = |p: &str, s: &str| fnmatch(p.as_bytes(), s.as_bytes());
        assert!(m("*", "null"));
        assert!(!m("*", "fd/0"));
        assert!(m("fd/*", "fd/0"));
        assert!(m("pts", "pts"));
        assert!(!m("pts", "pts/0"));
        assert!(m("pty[pqrsPQRSlmnoLMNO]*", "ptyp0"));
        assert!(!m("pty[pqrs]*", "ptyz0"));
        assert!(m("tty?0", "ttyv0"));
        assert!(!m("?", "/"));
        assert!(m("[!a]", "b"));
        assert!(!m("[!a]", "a"));
        assert!(m("a[", "a["));
        assert!(m("\\*", "*"));
    }
}
