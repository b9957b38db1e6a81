//! jail_set(2): the checks of kern_jail_set, in the kernel's order, and the changes it makes.
//!
//! Source: [14] `sys/kern/kern_jail.c` (`kern_jail_set`, `get_next_prid`, `pr_flag_allow`);
//! for releases from 14.1 on, the dying-jail lookup and `get_next_deadid` of
//! fel1x-developer/freebsd-src@2d614aa2fe3e (main, __FreeBSD_version 1500012, after
//! freebsd-src ed31b3f4a146).

use super::osd::OsdRequest;
use super::{Jail, VnetId, JAIL_MAX};
use crate::fault::Op;
use crate::machine::Machine;
use std::collections::BTreeSet;
use std::net::{Ipv4Addr, Ipv6Addr};
use zelle_core::kernel::jail::MAXHOSTNAMELEN;
use zelle_core::kernel::release::MODULE_ALLOW;
use zelle_core::kernel::{
    Errno, IpMode, JailFlags, JailParams, Jid, KResult, KernelError, VnetMode,
};

/// `JAIL_SET_MASK` (`sys/sys/jail.h`): the flags jail_set(2) takes.
const JAIL_SET_MASK: u32 = 0x0f;
/// `jail_max_af_ips`: addresses one jail may have per family.
const JAIL_MAX_AF_IPS: usize = 255;
/// `JAIL_DEFAULT_ALLOW`: what a new jail may do, within its parent's permissions.
const DEFAULT_ALLOW: &[&str] = &[
    "set_hostname",
    "reserved_ports",
    "unprivileged_proc_debug",
    "suser",
];
/// `PR_ALLOW_DIFFERENCES`: permissions a child may have that its parent lacks (UNCONFIRMED:
/// only unprivileged_proc_debug, as remembered from jail.h).
const ALLOW_DIFFERENCES: &[&str] = &["unprivileged_proc_debug"];
/// What a jail_set request asks, checked and normalized before any lookup.
struct Request {
    jid: i32,
    persist: Option<bool>,
    new_vnet: bool,
    /// The request names ip4 or ip4.addr (`ch_flags & PR_IP4_USER`), and restricts (`pr_flags`).
    ch_ip4: bool,
    pr_ip4: bool,
    ch_ip6: bool,
    pr_ip6: bool,
    ip4: Vec<Ipv4Addr>,
    ip6: Vec<Ipv6Addr>,
    enforce: Option<i32>,
    childmax: Option<i32>,
    rsnum: Option<i32>,
    /// Permissions to set or clear, by name; the first unknown parameter, as sent.
    allow: Vec<(String, bool)>,
    unknown: Option<String>,
    path: Option<String>,
    securelevel: Option<i32>,
    /// The parameters the modules check and set (SysV, Linux).
    osd: OsdRequest,
}

/// What a prison passes on to a child it gets: prison0's values for the host.
struct ParentView {
    name: String,
    securelevel: i32,
    childmax: i32,
    enforce: i32,
    devfs_ruleset: u32,
    allow: Option<BTreeSet<String>>,
    ip4: Option<Vec<Ipv4Addr>>,
    ip6: Option<Vec<Ipv6Addr>>,
}

/// strtoul(3) as kern_jail_set uses it on a name: the value (wrapping on a minus sign,
/// ULONG_MAX on overflow) and whether the whole string was consumed (`*p == '\0'`; with no
/// digits at all `p` is the start).
fn strtoul(s: &str) -> (u64, bool) {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() && (b[i] == b' ' || (b'\t'..=b'\r').contains(&b[i])) {
        i += 1;
    }
    let negative = i < b.len() && b[i] == b'-';
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    let start = i;
    let mut value: Option<u64> = Some(0);
    while i < b.len() && b[i].is_ascii_digit() {
        value = value
            .and_then(|v| v.checked_mul(10))
            .and_then(|v| v.checked_add(u64::from(b[i] - b'0')));
        i += 1;
    }
    if i == start {
        return (0, s.is_empty());
    }
    let value = match value {
        None => u64::MAX,
        Some(v) if negative => v.wrapping_neg(),
        Some(v) => v,
    };
    (value, i == b.len())
}

/// The parameter name libjail sends for `allow.<name>` = `on`: a false boolean goes as its
/// "no" name, the "no" put before the last component ("allow.mount.nodevfs").
fn allow_wire_name(name: &str, on: bool) -> String {
    if on {
        return format!("allow.{name}");
    }
    match name.rsplit_once('.') {
        Some((prefix, last)) => format!("allow.{prefix}.no{last}"),
        None => format!("allow.no{name}"),
    }
}

impl Machine {
    /// Whether a permission name (after "allow.") is known to the kernel now.
    fn allow_known(&self, name: &str) -> bool {
        self.release().static_allow().contains(&name)
            || MODULE_ALLOW
                .iter()
                .any(|(n, module)| *n == name && module.is_none_or(|m| self.host.has_module(m)))
    }

    /// A parameter name as sent ("allow.nomount") → the permission and its new value.
    fn parse_allow(&self, wire: &str) -> Option<(String, bool)> {
        let name = wire.strip_prefix("allow.")?;
        if self.allow_known(name) {
            return Some((name.to_string(), true));
        }
        let (prefix, last) = match name.rsplit_once('.') {
            Some((prefix, last)) => (Some(prefix), last),
            None => (None, name),
        };
        let bare = last.strip_prefix("no")?;
        let name = match prefix {
            Some(prefix) => format!("{prefix}.{bare}"),
            None => bare.to_string(),
        };
        self.allow_known(&name).then_some((name, false))
    }

    fn parent_view(&self, ppr: Jid) -> ParentView {
        match self.jails.jails.get(&ppr) {
            None => ParentView {
                name: "0".to_string(),
                // prison0's pr_securelevel is what kern.securelevel reads on the host.
                securelevel: self
                    .host
                    .sysctl_int("kern.securelevel")
                    .map_or(-1, |l| l as i32),
                childmax: JAIL_MAX,
                enforce: 0,
                devfs_ruleset: 0,
                allow: None,
                ip4: None,
                ip6: None,
            },
            Some(j) => ParentView {
                name: j.name.clone(),
                securelevel: j.securelevel,
                childmax: j.children_max as i32,
                enforce: j.enforce_statfs as i32,
                devfs_ruleset: j.devfs_ruleset,
                allow: Some(j.allow.clone()),
                ip4: (j.ip4 == IpMode::Disable).then(|| j.ip4_addrs.clone()),
                ip6: (j.ip6 == IpMode::Disable).then(|| j.ip6_addrs.clone()),
            },
        }
    }

    /// JAIL_MAX; `None` when every id is taken.
    fn next_prid(&self) -> Option<i32> {
        let ids: Vec<i32> = self.jails.jails.keys().map(|j| j.0).collect();
        let last = self.jails.last_jid;
        let mut jid = last.rem_euclid(JAIL_MAX) + 1;
        if ids.last().is_none_or(|&max| max < jid) {
            return Some(jid);
        }
        let mut maxid = JAIL_MAX;
        'pass: loop {
            for &id in &ids {
                if id < jid {
                    continue;
                }
                if id > jid {
                    return Some(jid);
                }
                jid += 1;
                if jid > maxid {
                    if last == maxid || last == 0 {
                        return None;
                    }
                    jid = 1;
                    maxid = last;
                    continue 'pass;
                }
            }
            return Some(jid);
        }
    }

    /// get_next_deadid: the id a renumbered dying jail gets, counting down from JAIL_MAX below
    /// the last one given, skipping ids in use and wrapping to the top once; `None` when every
    /// id is taken.
    fn next_deadid(&self) -> Option<i32> {
        let last = self.jails.last_dead_jid;
        let taken = |id: i32| self.jails.jails.contains_key(&Jid(id));
        let first = if last != 0 { last - 1 } else { JAIL_MAX };
        let (mut id, mut min) = (first, 1);
        loop {
            if id >= min && !taken(id) {
                return Some(id);
            }
            id -= 1;
            if id < min {
                if last == min || last == 0 || min != 1 {
                    return None;
                }
                id = JAIL_MAX;
                min = last;
            }
        }
    }

    /// kern_jail_set's checks of the parameters themselves, before any jail is looked up.
    fn jail_set_request(&self, p: &JailParams, flags: JailFlags) -> KResult<Request> {
        let fail = |errno| KernelError::errno(Op::JailSet, errno);
        let refuse = |errno, msg: &str| KernelError::with_message(Op::JailSet, errno, msg);
        let updating = flags.contains(JailFlags::UPDATE);

        let enforce = p.enforce_statfs.map(|v| v as i32);
        if enforce.is_some_and(|e| !(0..=2).contains(&e)) {
            return Err(fail(Errno::EINVAL));
        }
        // jailsys parameters: vnet has no "disable", ip4/ip6 disable and new share one flag.
        let restricts = |mode| matches!(mode, Some(IpMode::New | IpMode::Disable));
        let (mut ch_ip4, mut pr_ip4) = (p.ip4.is_some(), restricts(p.ip4));
        let (mut ch_ip6, mut pr_ip6) = (p.ip6.is_some(), restricts(p.ip6));
        if flags.0 & (JailFlags::CREATE.0 | JailFlags::ATTACH.0) == JailFlags::CREATE.0
            && p.persist != Some(true)
        {
            return Err(refuse(Errno::EINVAL, "new jail must persist or attach"));
        }
        if updating && p.vnet.is_some() {
            return Err(refuse(
                Errno::EINVAL,
                "vnet cannot be changed after creation",
            ));
        }
        if updating && ch_ip4 {
            return Err(refuse(
                Errno::EINVAL,
                "ip4 cannot be changed after creation",
            ));
        }
        if updating && ch_ip6 {
            return Err(refuse(
                Errno::EINVAL,
                "ip6 cannot be changed after creation",
            ));
        }

        // The backend sends linux* before allow.*: the first unknown name is a linux one.
        let (osd, mut unknown) = self.osd_request(p);
        let mut allow = Vec::new();
        for (name, on) in &p.allow {
            let wire = allow_wire_name(name, *on);
            if wire.contains('\0') {
                return Err(fail(Errno::EINVAL));
            }
            match self.parse_allow(&wire) {
                Some(change) => allow.push(change),
                None => {
                    unknown.get_or_insert(wire);
                }
            }
        }

        // name and host.hostname: C strings of at most MAXHOSTNAMELEN bytes with their NUL.
        for value in [&p.name, &p.hostname].into_iter().flatten() {
            if value.contains('\0') {
                return Err(fail(Errno::EINVAL));
            }
            if value.len() + 1 > MAXHOSTNAMELEN {
                return Err(fail(Errno::ENAMETOOLONG));
            }
        }

        // ip4.addr / ip6.addr: all but the first sorted, then no zero, broadcast or duplicate.
        let mut ip4 = p.ip4_addrs.clone();
        if !ip4.is_empty() {
            (ch_ip4, pr_ip4) = (true, true);
            if ip4.len() > JAIL_MAX_AF_IPS {
                return Err(refuse(Errno::EINVAL, "too many IPv4 addresses"));
            }
            ip4[1..].sort();
            let bad = |a: &Ipv4Addr| a.is_unspecified() || a.is_broadcast();
            let dup = (1..ip4.len()).any(|i| ip4[0] == ip4[i] || ip4[i - 1] == ip4[i]);
            if ip4.iter().any(bad) || dup {
                return Err(fail(Errno::EINVAL));
            }
        }
        let mut ip6 = p.ip6_addrs.clone();
        if !ip6.is_empty() {
            (ch_ip6, pr_ip6) = (true, true);
            if ip6.len() > JAIL_MAX_AF_IPS {
                return Err(refuse(Errno::EINVAL, "too many IPv6 addresses"));
            }
            ip6[1..].sort();
            let dup = (1..ip6.len()).any(|i| ip6[0] == ip6[i] || ip6[i - 1] == ip6[i]);
            if ip6.iter().any(Ipv6Addr::is_unspecified) || dup {
                return Err(fail(Errno::EINVAL));
            }
        }
        // Naming vnet at all (new or inherit) together with addresses.
        if p.vnet.is_some() && (ch_ip4 || ch_ip6) {
            return Err(refuse(
                Errno::EINVAL,
                "vnet jails cannot have IP address restrictions",
            ));
        }

        let path = match &p.path {
            None => None,
            Some(_) if updating => {
                return Err(refuse(
                    Errno::EINVAL,
                    "path cannot be changed after creation",
                ))
            }
            Some(path) => {
                let found = self.namei(path).map_err(fail)?;
                if !found.meta.is_dir() {
                    return Err(fail(Errno::ENOTDIR));
                }
                Some(found.global)
            }
        };

        Ok(Request {
            jid: p.jid.unwrap_or(0),
            persist: p.persist,
            new_vnet: p.vnet == Some(VnetMode::New),
            ch_ip4,
            pr_ip4,
            ch_ip6,
            pr_ip6,
            ip4,
            ip6,
            enforce,
            childmax: p.children_max.map(|v| v as i32),
            rsnum: p.devfs_ruleset.map(|v| v as i32),
            allow,
            unknown,
            path,
            securelevel: p.securelevel,
            osd,
        })
    }

    /// jail_set(2) (kern_jail_set), for the host as caller.
    pub(crate) fn jail_set_rule(&mut self, p: &JailParams, flags: JailFlags) -> KResult<Jid> {
        let fail = |errno| KernelError::errno(Op::JailSet, errno);
        let refuse = |errno, msg: String| KernelError::with_message(Op::JailSet, errno, msg);

        if flags.0 & !JAIL_SET_MASK != 0 {
            return Err(fail(Errno::EINVAL));
        }
        let cu = flags.0 & (JailFlags::CREATE.0 | JailFlags::UPDATE.0);
        if cu == 0 {
            return Err(refuse(
                Errno::EINVAL,
                "no valid operation (create or update)".into(),
            ));
        }
        // JAIL_ATTACH moves the calling process into the jail. The caller here is the process
        // using the sim, whose credentials the machine does not model; processes enter jails
        // through spawn. Refused plainly rather than pretended.
        if flags.contains(JailFlags::ATTACH) {
            return Err(refuse(
                Errno::EOPNOTSUPP,
                "jail_set with JAIL_ATTACH is not simulated: spawn attaches".into(),
            ));
        }
        let create_only = cu == JailFlags::CREATE.0;
        let update_only = cu == JailFlags::UPDATE.0;
        let with_dying = flags.contains(JailFlags::DYING);
        let mut r = self.jail_set_request(p, flags)?;

        // A numeric name (its last component) on a plain create is the jid.
        if create_only && r.jid == 0 {
            if let Some(name) = &p.name {
                let last = name.rsplit('.').next().unwrap_or(name);
                if let (value, true) = strtoul(last) {
                    r.jid = value as u32 as i32;
                }
            }
        }

        // Find the jail, or at least its parent. Up to 14.0 a dying jail is found by its jid,
        // and by its name with JAIL_DYING; later a dying jail is never found, and JAIL_DYING,
        // still in JAIL_SET_MASK, changes nothing (kern_jail_set of main 1500012 reads no
        // JAIL_DYING; see `Release::renumbers_dying_jails`).
        let renumber = self.release().renumbers_dying_jails();
        let mut dead_jid: Option<Jid> = None;
        let mut target: Option<Jid> = None;
        let mut ppr = Jid(0);
        let mut name = p.name.clone();
        if r.jid != 0 {
            if r.jid < 0 {
                return Err(refuse(Errno::EINVAL, "negative jid".into()));
            }
            let jid = r.jid;
            let found = self.jails.jails.get(&Jid(jid));
            if renumber && found.is_some_and(|j| j.dying) {
                // Noted, to be renumbered if a jail is created in its place.
                dead_jid = Some(Jid(jid));
                if update_only {
                    return Err(refuse(Errno::ENOENT, format!("jail {jid} not found")));
                }
            } else if let Some(found) = found {
                if create_only {
                    return Err(refuse(Errno::EEXIST, format!("jail {jid} already exists")));
                }
                ppr = found.parent;
                if !self.jail_alive(ppr) {
                    return Err(refuse(Errno::ENOENT, format!("jail {ppr} is dying")));
                }
                if found.dying {
                    if !with_dying {
                        return Err(refuse(Errno::ENOENT, format!("jail {jid} is dying")));
                    }
                    // Resurrection must first claim the name again.
                    if r.persist == Some(true) && name.is_none() {
                        name = Some(found.name.clone());
                    }
                }
                target = Some(Jid(jid));
            } else if update_only {
                return Err(refuse(Errno::ENOENT, format!("jail {jid} not found")));
            }
        }
        let mut short = None;
        if let Some(name) = &name {
            let (parent_name, last) = match name.rsplit_once('.') {
                Some((parent, last)) => (Some(parent), last),
                None => (None, name.as_str()),
            };
            if let Some(parent_name) = parent_name {
                if target.is_some() {
                    if self.parent_view(ppr).name != parent_name {
                        return Err(refuse(Errno::EINVAL, "cannot change jail's parent".into()));
                    }
                } else {
                    match self.find_jail_name(parent_name) {
                        None => {
                            return Err(refuse(
                                Errno::ENOENT,
                                format!("jail \"{parent_name}\" not found"),
                            ))
                        }
                        Some(parent) if parent.dying => {
                            return Err(refuse(
                                Errno::ENOENT,
                                format!("jail \"{parent_name}\" is dying"),
                            ))
                        }
                        Some(parent) => ppr = parent.jid,
                    }
                }
            }
            if !last.is_empty() {
                let prefix_len = if ppr == Jid(0) {
                    0
                } else {
                    self.parent_view(ppr).name.len() + 1
                };
                let mut dead = None;
                // A child's name is its parent's, a dot, and its own.
                let full = match ppr {
                    Jid(0) => last.to_string(),
                    _ => format!("{}.{last}", self.parent_view(ppr).name),
                };
                for sibling in self.jails.named(&full) {
                    let same = sibling.parent == ppr
                        && Some(sibling.jid) != target
                        && sibling.name.get(prefix_len..) == Some(last);
                    if !same {
                        continue;
                    }
                    if sibling.dying && renumber {
                        continue;
                    }
                    if !sibling.dying {
                        if target.is_none() && !create_only {
                            target = Some(sibling.jid);
                            break;
                        }
                        return Err(refuse(
                            Errno::EEXIST,
                            format!("jail \"{name}\" already exists"),
                        ));
                    }
                    if target.is_none() && !create_only && dead.is_none() {
                        dead = Some(sibling.jid);
                    }
                }
                match dead {
                    Some(dead) if target.is_none() => {
                        if with_dying {
                            target = Some(dead);
                        } else if update_only {
                            return Err(refuse(Errno::ENOENT, format!("jail \"{name}\" is dying")));
                        }
                    }
                    _ if update_only && target.is_none() => {
                        return Err(refuse(Errno::ENOENT, format!("jail \"{name}\" not found")))
                    }
                    _ => {}
                }
            } else if update_only && target.is_none() {
                // The kernel would go on to create a jail under a pure update here (an empty
                // name skips every lookup); the sim refuses instead of copying that quirk.
                return Err(refuse(Errno::ENOENT, "update specified no jail".into()));
            }
            short = Some(last.to_string());
        } else if update_only && target.is_none() {
            return Err(refuse(Errno::ENOENT, "update specified no jail".into()));
        }

        // A new prison: the caller's (the host's) limit, then a jid.
        let created = target.is_none();
        let mut from_next_prid = false;
        if created {
            if self.jails.jails.len() >= JAIL_MAX as usize {
                return Err(refuse(Errno::EPERM, "prison limit exceeded".into()));
            }
            if let Some(dead) = dead_jid {
                // "The prison being created has the same ID as a dying one. Handle this by
                // giving the dying jail a new ID." (kern_jail_set, get_next_deadid)
                let new_id = self
                    .next_deadid()
                    .ok_or_else(|| refuse(Errno::EAGAIN, "no available jail IDs".into()))?;
                self.jails.last_dead_jid = new_id;
                self.renumber_jail(dead, Jid(new_id));
            }
            if r.jid == 0 {
                r.jid = self
                    .next_prid()
                    .ok_or_else(|| refuse(Errno::EAGAIN, "no available jail IDs".into()))?;
                from_next_prid = true;
            }
            short.get_or_insert_with(String::new);
        } else if let Some(existing) = target.and_then(|t| self.jails.jails.get(&t)) {
            if existing.vnet && (r.ch_ip4 || r.ch_ip6) {
                return Err(refuse(
                    Errno::EINVAL,
                    "vnet jails cannot have IP address restrictions".into(),
                ));
            }
            if r.ch_ip4 && existing.ip4 != IpMode::Disable {
                return Err(refuse(
                    Errno::EINVAL,
                    "ip4 cannot be changed after creation".into(),
                ));
            }
            if r.ch_ip6 && existing.ip6 != IpMode::Disable {
                return Err(refuse(
                    Errno::EINVAL,
                    "ip6 cannot be changed after creation".into(),
                ));
            }
        }
        // The prison's jid. (Found by name, an update leaves the kernel's `jid` variable 0,
        // which the numeric-name rule below compares with: faithfully so.)
        let jid = target.unwrap_or(Jid(r.jid));

        // Final checks against the parent.
        let parent = self.parent_view(ppr);
        if r.securelevel.is_some_and(|l| l < parent.securelevel)
            || r.childmax.is_some_and(|c| c >= parent.childmax)
            || r.enforce.is_some_and(|e| e < parent.enforce)
        {
            return Err(fail(Errno::EPERM));
        }
        if r.rsnum.is_some_and(|n| !(0..=65535).contains(&n)) {
            return Err(fail(Errno::EINVAL));
        }
        if !r.ip4.is_empty() {
            if parent
                .ip4
                .as_ref()
                .is_some_and(|mine| r.ip4.iter().any(|a| !mine.contains(a)))
            {
                return Err(fail(Errno::EPERM));
            }
            if self.ip_clash(
                ppr,
                target,
                |j| (j.ip4 == IpMode::Disable).then_some(&j.ip4_addrs),
                &r.ip4,
            ) {
                return Err(refuse(Errno::EADDRINUSE, "IPv4 addresses clash".into()));
            }
        }
        if !r.ip6.is_empty() {
            if parent
                .ip6
                .as_ref()
                .is_some_and(|mine| r.ip6.iter().any(|a| !mine.contains(a)))
            {
                return Err(fail(Errno::EPERM));
            }
            if self.ip_clash(
                ppr,
                target,
                |j| (j.ip6 == IpMode::Disable).then_some(&j.ip6_addrs),
                &r.ip6,
            ) {
                return Err(refuse(Errno::EADDRINUSE, "IPv6 addresses clash".into()));
            }
        }
        // The name: by default the jid; a number only when it is the jid, in normal form.
        let mut full_name = None;
        if let Some(last) = short {
            let last = if last.is_empty() {
                r.jid.to_string()
            } else {
                let (value, whole) = strtoul(&last);
                let normal = last
                    .as_bytes()
                    .first()
                    .is_some_and(|c| (b'1'..=b'9').contains(c));
                if whole && (value != r.jid as i64 as u64 || !normal) {
                    return Err(refuse(
                        Errno::EINVAL,
                        "name cannot be numeric (unless it is the jid)".into(),
                    ));
                }
                last
            };
            let prefix_len = if ppr == Jid(0) {
                0
            } else {
                parent.name.len() + 1
            };
            if prefix_len + last.len() + 1 > MAXHOSTNAMELEN {
                return Err(fail(Errno::ENAMETOOLONG));
            }
            // Renaming a jail renames its descendants: none may outgrow the limit.
            if let Some(current) = target.and_then(|t| self.jails.jails.get(&t)) {
                let old_len = current.name.len().saturating_sub(prefix_len);
                let too_long = self.descendants(current.jid).iter().any(|d| {
                    self.jails
                        .jails
                        .get(d)
                        .is_some_and(|d| d.name.len() + last.len() >= MAXHOSTNAMELEN + old_len)
                });
                if too_long {
                    return Err(fail(Errno::ENAMETOOLONG));
                }
            }
            full_name = Some(if ppr == Jid(0) {
                last
            } else {
                format!("{}.{last}", parent.name)
            });
        }
        // A child may not gain a permission its parent lacks.
        if let Some(parent_allow) = &parent.allow {
            let gains = r.allow.iter().any(|(name, on)| {
                *on && !parent_allow.contains(name) && !ALLOW_DIFFERENCES.contains(&name.as_str())
            });
            if gains {
                return Err(fail(Errno::EPERM));
            }
        }
        // The modules check their parameters, then anything not seen is unknown.
        self.osd_check(ppr, &r.osd)?;
        if let Some(unknown) = r.unknown.take() {
            return Err(refuse(
                Errno::EINVAL,
                format!("unknown parameter: {unknown}"),
            ));
        }

        // Every check passed: change the machine.
        if created {
            if from_next_prid {
                self.jails.last_jid = r.jid;
            }
            let mut allow: BTreeSet<String> = DEFAULT_ALLOW
                .iter()
                .filter(|a| parent.allow.as_ref().is_none_or(|p| p.contains(**a)))
                .map(|a| a.to_string())
                .collect();
            apply_allow(&mut allow, &r.allow);
            // Without ip4/ip6 a jail (not a vnet one) gets no addresses; ip4=inherit takes the
            // parent's restriction if it has one.
            let (ip4, ip4_addrs) = if r.new_vnet {
                (IpMode::Inherit, Vec::new())
            } else if !r.ch_ip4 || r.pr_ip4 {
                (IpMode::Disable, r.ip4.clone())
            } else {
                match parent.ip4.clone() {
                    Some(addrs) => (IpMode::Disable, addrs),
                    None => (IpMode::Inherit, Vec::new()),
                }
            };
            let (ip6, ip6_addrs) = if r.new_vnet {
                (IpMode::Inherit, Vec::new())
            } else if !r.ch_ip6 || r.pr_ip6 {
                (IpMode::Disable, r.ip6.clone())
            } else {
                match parent.ip6.clone() {
                    Some(addrs) => (IpMode::Disable, addrs),
                    None => (IpMode::Inherit, Vec::new()),
                }
            };
            let jail = Jail {
                jid,
                name: full_name.unwrap_or_else(|| r.jid.to_string()),
                path: r.path.clone().unwrap_or_else(|| "/".to_string()),
                hostname: p.hostname.clone().unwrap_or_default(),
                parent: ppr,
                persist: true,
                vnet: r.new_vnet,
                dying: false,
                gone_at_ms: None,
                enforce_statfs: r.enforce.unwrap_or(2) as u32,
                children_max: r.childmax.unwrap_or(0) as u32,
                devfs_ruleset: r.rsnum.map_or(parent.devfs_ruleset, |n| n as u32),
                ip4,
                ip4_addrs,
                ip6,
                ip6_addrs,
                allow,
                securelevel: r.securelevel.unwrap_or(parent.securelevel),
                sysv: [None; 3],
                linux: None,
            };
            self.jails.insert(jail);
            if r.new_vnet {
                self.vnet_create(VnetId(jid));
            }
            self.osd_create(jid, &r.osd);
        } else {
            self.jail_update(jid, &r, full_name, p.hostname.clone());
        }
        self.osd_set(jid, &r.osd);
        self.settle_jails();
        Ok(jid)
    }

    /// Whether `addrs` clash with a jail in the same network stack (below the nearest vnet
    /// prison above `ppr`): only when either side has more than one address.
    fn ip_clash<A: PartialEq>(
        &self,
        ppr: Jid,
        target: Option<Jid>,
        restricted: impl Fn(&Jail) -> Option<&Vec<A>>,
        addrs: &[A],
    ) -> bool {
        let mut scope = ppr;
        while let Some(jail) = self.jails.jails.get(&scope) {
            if jail.vnet {
                break;
            }
            scope = jail.parent;
        }
        // Walk the scope's descendants, not entering other vnet jails, dying jails, or jails
        // that restrict addresses themselves.
        let mut stack: Vec<Jid> = vec![scope];
        while let Some(at) = stack.pop() {
            for child in self.jails.jails.values().filter(|j| j.parent == at) {
                if Some(child.jid) == target || child.vnet || child.dying {
                    continue;
                }
                match restricted(child) {
                    None => stack.push(child.jid),
                    Some(theirs) => {
                        if theirs.is_empty() || (addrs.len() == 1 && theirs.len() == 1) {
                            continue;
                        }
                        if addrs.iter().any(|a| theirs.contains(a)) {
                            return true;
                        }
                    }
                }
            }
        }
        false
    }

    /// The changes jail_set makes to an existing prison (and what passes on to its children).
    fn jail_update(&mut self, jid: Jid, r: &Request, name: Option<String>, host: Option<String>) {
        let descendants = self.descendants(jid);
        let levels: Vec<(Jid, i32)> = descendants
            .iter()
            .map(|d| {
                let mut level = 0;
                let mut at = *d;
                while at != jid && level <= JAIL_MAX {
                    level += 1;
                    at = self.jails.jails.get(&at).map_or(jid, |j| j.parent);
                }
                (*d, level)
            })
            .collect();
        let Some(jail) = self.jails.jails.get_mut(&jid) else {
            return;
        };
        let old_name = jail.name.clone();
        if r.pr_ip4 {
            jail.ip4_addrs = r.ip4.clone();
        }
        if r.pr_ip6 {
            jail.ip6_addrs = r.ip6.clone();
        }
        if let Some(l) = r.securelevel {
            jail.securelevel = l;
        }
        if let Some(e) = r.enforce {
            jail.enforce_statfs = e as u32;
        }
        if let Some(c) = r.childmax {
            jail.children_max = c as u32;
        }
        if let Some(n) = r.rsnum {
            jail.devfs_ruleset = n as u32;
        }
        if let Some(name) = &name {
            jail.name = name.clone();
        }
        if let Some(host) = host {
            jail.hostname = host;
        }
        apply_allow(&mut jail.allow, &r.allow);
        match r.persist {
            Some(true) if !jail.persist => {
                // A dying jail updated with JAIL_DYING and persist comes back to life.
                jail.persist = true;
                jail.dying = false;
                jail.gone_at_ms = None;
            }
            Some(false) => jail.persist = false,
            _ => {}
        }
        let (ip4, ip6) = (jail.ip4_addrs.clone(), jail.ip6_addrs.clone());
        let cleared: Vec<String> = r
            .allow
            .iter()
            .filter(|(_, on)| !on)
            .map(|(n, _)| n.clone())
            .collect();
        // What passes on to the descendants.
        for (d, level) in levels {
            let Some(child) = self.jails.jails.get_mut(&d) else {
                continue;
            };
            if let Some(l) = r.securelevel {
                child.securelevel = child.securelevel.max(l);
            }
            if let Some(e) = r.enforce {
                child.enforce_statfs = child.enforce_statfs.max(e as u32);
            }
            if let Some(c) = r.childmax {
                if (child.children_max as i32) > c.saturating_sub(level) {
                    child.children_max = c.saturating_sub(level).max(0) as u32;
                }
            }
            if let Some(n) = r.rsnum {
                child.devfs_ruleset = n as u32;
            }
            if let Some(name) = &name {
                if let Some(rest) = child.name.strip_prefix(&old_name) {
                    child.name = format!("{name}{rest}");
                }
            }
            for c in &cleared {
                child.allow.remove(c);
            }
            // New addresses restrict the children that share the network stack.
            if !child.vnet {
                if r.pr_ip4 && child.ip4 == IpMode::Disable {
                    child.ip4_addrs.retain(|a| ip4.contains(a));
                }
                if r.pr_ip6 && child.ip6 == IpMode::Disable {
                    child.ip6_addrs.retain(|a| ip6.contains(a));
                }
            }
        }
        if let Some(persist) = self.jails.jails.get(&jid).map(|j| j.persist) {
            self.jails.set_persist(jid, persist);
        }
        if name.is_some() {
            self.jails.reindex_names();
        }
    }
}

fn apply_allow(allow: &mut BTreeSet<String>, changes: &[(String, bool)]) {
    for (name, on) in changes {
        if *on {
            allow.insert(name.clone());
        } else {
            allow.remove(name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strtoul_reads_like_c() {
        assert_eq!(strtoul("42"), (42, true));
        assert_eq!(strtoul("42x"), (42, false));
        assert_eq!(strtoul("x"), (0, false));
        assert_eq!(strtoul(""), (0, true));
        assert_eq!(strtoul(" +7"), (7, true));
        assert_eq!(strtoul("-1"), (u64::MAX, true));
        assert_eq!(strtoul("99999999999999999999999"), (u64::MAX, true));
    }

    #[test]
    fn allow_names_go_as_libjail_sends_them() {
        assert_eq!(allow_wire_name("mount", true), "allow.mount");
        assert_eq!(allow_wire_name("mount", false), "allow.nomount");
        assert_eq!(allow_wire_name("mount.devfs", false), "allow.mount.nodevfs");
        let m = Machine::new(Default::default());
        assert_eq!(
            m.parse_allow("allow.mount.nodevfs"),
            Some(("mount.devfs".into(), false))
        );
        assert_eq!(
            m.parse_allow("allow.nomount"),
            Some(("mount".into(), false))
        );
        assert_eq!(m.parse_allow("allow.bogus"), None);
        // A module's permission exists only while the module is loaded.
        assert!(m.parse_allow("allow.mount.fdescfs").is_none());
        assert!(m.parse_allow("allow.mount.nullfs").is_some());
    }

    #[test]
    fn next_prid_counts_on_skips_and_wraps() {
        let mut m = Machine::new(Default::default());
        let jail = |jid| Jail {
            jid: Jid(jid),
            name: jid.to_string(),
            path: "/".into(),
            hostname: String::new(),
            parent: Jid(0),
            persist: true,
            vnet: false,
            dying: false,
            gone_at_ms: None,
            enforce_statfs: 2,
            children_max: 0,
            devfs_ruleset: 0,
            ip4: IpMode::Disable,
            ip4_addrs: vec![],
            ip6: IpMode::Disable,
            ip6_addrs: vec![],
            allow: BTreeSet::new(),
            securelevel: -1,
            sysv: [None; 3],
            linux: None,
        };
        assert_eq!(m.next_prid(), Some(1));
        for jid in [1, 2, 4] {
            m.jails.insert(jail(jid));
        }
        m.jails.last_jid = 1;
        assert_eq!(m.next_prid(), Some(3));
        m.jails.last_jid = JAIL_MAX;
        assert_eq!(m.next_prid(), Some(3), "wraps to 1 and skips ids in use");
        m.jails.last_jid = JAIL_MAX - 1;
        m.jails.insert(jail(JAIL_MAX));
        assert_eq!(m.next_prid(), Some(3));
    }
}
