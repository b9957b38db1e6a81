//! rctl(2) and racct: resource limit rules and the usage counters they are checked against.
//!
//! Sources (FACTS-kernel-runtime.md §1, whose labels are used here): [R13]/[V13]
//! `sys/kern/kern_rctl.c` (`sys_rctl_*`, `rctl_read_inbuf`, `rctl_string_to_rule`, `str2id`,
//! `str2int64`, `rctl_rule_fully_specified`, `rctl_rule_add`, `rctl_rule_remove`,
//! `rctl_rule_matches`, `rctl_rule_to_sbuf`, `rctl_racct_to_sbuf`, `rctl_write_outbuf`),
//! [V13] `sys/kern/kern_racct.c` (`racct_types[]`, `racct_enable`, `racct_add_cred_locked`,
//! `racct_proc_fork`, `racct_proc_ucred_changed`), `sys/kern/kern_fork.c` (`fork1`),
//! `sys/kern/kern_jail.c` (`do_jail_attach`, `prison_racct_find`).
//!
//! The machine reads every request as the kernel does: a NUL-terminated text in a buffer of a
//! given length, answered in an output buffer of a given length. Both doors hand it that: the
//! typed door prints the contract's rule, the ABI door passes the bytes the real backend built.
//!
//! What the sim does not model, and why:
//! - A non-root caller (EPERM from `priv_check`): every call comes from root. A jailed caller
//!   is EPERM, but only the ABI door can make one (a call inside `in_jail`); the typed door's
//!   calls come from the host, as zelle's do.
//! - Enforcement of memory, open-file and CPU limits: the virtual programs allocate nothing at
//!   run time; their usage is a figure (`ProcUsage`) scripted per program.
//! - A maxproc deny does NOT fail a spawn from the host into the jail, because the kernel does
//!   not: `fork1` fails with EAGAIN only when `racct_proc_fork` → `racct_add_locked(child,
//!   RACCT_NPROC, 1)` → `rctl_enforce` finds a deny rule among the *parent's* rule links, and
//!   zelle's parent is on the host (no jail rules); the child's jail_attach(2) then moves its
//!   usage into the jail with `racct_proc_ucred_changed`, which adds without checking any limit
//!   (`do_jail_attach`). The jail's maxproc then exceeds the limit, and a fork by a process
//!   inside the jail would fail with EAGAIN. Virtual programs do not fork, so that is reported
//!   by [`Machine::rctl_fork_allowed`] for tests, not exercised by a spawn.
//! - Counters are exact figures computed when asked, not racctd's once-a-second samples;
//!   cputime and wallclock count only processes that are still running (the time of exited
//!   ones is not kept: a gap, the kernel keeps it in the jail's racct).

use crate::fault::Op;
use crate::host::{Access, HostState, Sysctl};
use crate::kernel::SimKernel;
use crate::machine::{failed, Machine};
use crate::process::RunState;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use zelle_core::kernel::rctl::{parse_racct, parse_rules, Racct, RctlFilter, RctlRule};
use zelle_core::kernel::rctl::{Resource, ResourceLimits, SubjectType, RCTL_SIGNALS};
use zelle_core::kernel::{Errno, Jid, KResult, KernelError, Pid};

/// `RCTL_MAX_INBUFSIZE` (kern_rctl.c).
const MAX_INBUF: usize = 4 * 1024;
/// `RCTL_MAX_OUTBUFSIZE`: kern.racct.rctl.maxbufsize's default.
const MAX_OUTBUF: i64 = 16 * 1024 * 1024;
/// `MAXHOSTNAMELEN`: `prison_racct_find` returns NULL for a name this long or longer (FACTS §1).
const MAX_NAME: usize = 256;

const ENABLE: &str = "kern.racct.enable";
const MAXBUFSIZE: &str = "kern.racct.rctl.maxbufsize";

/// `racct_types[]` flags that change what rctl accepts ([V13] kern_racct.c).
fn in_millions(r: Resource) -> bool {
    matches!(r, Resource::CpuTime | Resource::WallClock | Resource::Pcpu)
}
fn deniable(r: Resource) -> bool {
    // RACCT_DENIABLE is not set for these; rctl_rule_add still allows deny on memoryuse (RSS)
    // and pcpu, which are enforced otherwise.
    !matches!(
        r,
        Resource::CpuTime
            | Resource::WallClock
            | Resource::ReadBps
            | Resource::WriteBps
            | Resource::ReadIops
            | Resource::WriteIops
    )
}
fn decaying(r: Resource) -> bool {
    matches!(
        r,
        Resource::Pcpu
            | Resource::ReadBps
            | Resource::WriteBps
            | Resource::ReadIops
            | Resource::WriteIops
    )
}
fn sloppy(r: Resource) -> bool {
    matches!(
        r,
        Resource::PseudoTerminals
            | Resource::SwapUse
            | Resource::MsgqQueued
            | Resource::MsgqSize
            | Resource::Nmsgq
            | Resource::Nsem
            | Resource::Nshm
            | Resource::ShmSize
    )
}

/// A subject id as the kernel resolved it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum SubjectId {
    Process(Pid),
    User(u64),
    /// A loginclass or a prison_racct, by name.
    Name(String),
}

/// A rule or filter as the kernel holds it (`struct rctl_rule`): `None` is "undefined".
/// Amounts are in stored units (cputime, wallclock and pcpu times 10^6).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KRule {
    pub subject: Option<SubjectType>,
    pub id: Option<SubjectId>,
    pub resource: Option<Resource>,
    /// The action's word, lower case (`actionnames[]`).
    pub action: Option<String>,
    pub amount: Option<i64>,
    pub per: Option<SubjectType>,
}

/// What one virtual process uses, by the program it runs; see [`Machine::script_usage`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcUsage {
    /// Bytes resident and mapped.
    pub memoryuse: u64,
    pub vmemoryuse: u64,
    pub openfiles: u64,
    /// Percent of one CPU while running.
    pub pcpu: u64,
}

impl Default for ProcUsage {
    /// Nothing but its three standard descriptors (the spawn opens stdin, stdout, stderr).
    fn default() -> Self {
        ProcUsage {
            memoryuse: 0,
            vmemoryuse: 0,
            openfiles: 3,
            pcpu: 0,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RctlState {
    /// Every rule, oldest first (each `rctl_rule_add` links the new rule at the head of its
    /// racct lists, so output lists the newest first).
    pub rules: Vec<KRule>,
    /// Usage of virtual processes by the path they were spawned with (argv[0]).
    pub usage: BTreeMap<String, ProcUsage>,
}

/// The boot-time sysctls: kern.racct.enable is `CTLFLAG_RDTUN` (a loader tunable, read-only
/// at run time), so the machine's config decides it once ([V13] kern_racct.c `racct_enable`).
pub(crate) fn boot_sysctls(host: &mut HostState, racct_enable: bool) {
    host.sysctls.insert(
        ENABLE.to_string(),
        Sysctl {
            value: zelle_core::kernel::SysctlValue::Int(racct_enable.into()),
            access: Access::ReadOnly,
        },
    );
    // kern_rctl.c: `CTLFLAG_RWTUN`.
    host.sysctls.insert(
        MAXBUFSIZE.to_string(),
        Sysctl {
            value: zelle_core::kernel::SysctlValue::Int(MAX_OUTBUF),
            access: Access::ReadWrite,
        },
    );
}

/// strtoul(3) base 10 as `str2id`/`str2int64` use it, then "did it consume the whole string":
/// leading blanks and a sign are accepted, an overflow saturates, a minus negates (modulo 2^64).
fn strtoul_whole(s: &str) -> Option<u64> {
    let t = s.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let (negative, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let value = digits.parse::<u64>().unwrap_or(u64::MAX);
    Some(if negative {
        value.wrapping_neg()
    } else {
        value
    })
}

fn given(part: Option<&str>) -> Option<&str> {
    part.filter(|p| !p.is_empty())
}

fn lookup<T: Copy>(word: &str, table: &[(&str, T)]) -> Result<T, Errno> {
    table
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(word))
        .map(|(_, v)| *v)
        .ok_or(Errno::EINVAL)
}

fn subjects() -> Vec<(&'static str, SubjectType)> {
    SubjectType::ALL.iter().map(|s| (s.name(), *s)).collect()
}

fn action_words() -> Vec<(&'static str, &'static str)> {
    let mut words: Vec<&str> = RCTL_SIGNALS.iter().map(|(n, _)| *n).collect();
    words.extend(["deny", "log", "devctl", "throttle"]);
    words.into_iter().map(|w| (w, w)).collect()
}

impl Machine {
    fn racct_enabled(&self) -> bool {
        self.host.sysctl_int(ENABLE) == Some(1)
    }

    /// The checks every rctl call starts with (`sys_rctl_*`): ENOSYS when racct is off, before
    /// anything else; then `priv_check`, EPERM for a jailed caller (prison_priv_check has no
    /// PRIV_RCTL_* case, FACTS §1); then `rctl_read_inbuf`: 0 bytes EINVAL, more than 4096
    /// E2BIG, no NUL within them ENAMETOOLONG (copyinstr).
    fn rctl_input(&self, inbuf: &[u8], jailed: bool) -> Result<String, Errno> {
        if !self.racct_enabled() {
            return Err(Errno::ENOSYS);
        }
        if jailed {
            return Err(Errno::EPERM);
        }
        if inbuf.is_empty() {
            return Err(Errno::EINVAL);
        }
        if inbuf.len() > MAX_INBUF {
            return Err(Errno::E2BIG);
        }
        let end = inbuf
            .iter()
            .position(|&b| b == 0)
            .ok_or(Errno::ENAMETOOLONG)?;
        Ok(String::from_utf8_lossy(&inbuf[..end]).into_owned())
    }

    /// `rctl_string_to_rule`: strsep at ':', ':', ':', "=/", '/'; each part checked in order.
    fn rctl_parse(&self, text: &str) -> Result<KRule, Errno> {
        let mut rest = Some(text);
        let mut strsep = |seps: &[char]| -> Option<&str> {
            let s = rest?;
            match s.find(seps) {
                Some(at) => {
                    rest = Some(&s[at + 1..]);
                    Some(&s[..at])
                }
                None => {
                    rest = None;
                    Some(s)
                }
            }
        };
        let subject_s = strsep(&[':']);
        let id_s = strsep(&[':']);
        let resource_s = strsep(&[':']);
        let action_s = strsep(&['=', '/']);
        let amount_s = strsep(&['/']);
        let per_s = rest;

        let subject = given(subject_s)
            .map(|s| lookup(s, &subjects()))
            .transpose()?;
        let id = match given(id_s) {
            None => None,
            Some(id) => Some(match subject {
                None => return Err(Errno::EINVAL),
                Some(SubjectType::Process) => {
                    let pid = strtoul_whole(id).ok_or(Errno::EINVAL)?;
                    // pfind finds only live processes (UNCONFIRMED for zombies).
                    let pid = Pid(pid as i32);
                    match self.procs.procs.get(&pid) {
                        Some(p) if p.is_live() => SubjectId::Process(pid),
                        _ => return Err(Errno::ESRCH),
                    }
                }
                // uifind always succeeds: any number is a user.
                Some(SubjectType::User) => SubjectId::User(strtoul_whole(id).ok_or(Errno::EINVAL)?),
                Some(SubjectType::LoginClass | SubjectType::Jail) => {
                    if id.len() >= MAX_NAME {
                        return Err(Errno::ENAMETOOLONG);
                    }
                    SubjectId::Name(id.to_string())
                }
            }),
        };
        let resources: Vec<(&str, Resource)> =
            Resource::ALL.iter().map(|r| (r.name(), *r)).collect();
        let resource = given(resource_s)
            .map(|r| lookup(r, &resources))
            .transpose()?;
        let action = given(action_s)
            .map(|a| lookup(a, &action_words()).map(str::to_string))
            .transpose()?;
        let amount = match given(amount_s) {
            None => None,
            Some(a) => {
                let value = strtoul_whole(a).ok_or(Errno::EINVAL)? as i64;
                if value < 0 {
                    return Err(Errno::ERANGE);
                }
                if resource.is_some_and(in_millions) {
                    if value > i64::MAX / 1_000_000 {
                        return Err(Errno::ERANGE);
                    }
                    Some(value * 1_000_000)
                } else {
                    Some(value)
                }
            }
        };
        let per = given(per_s).map(|p| lookup(p, &subjects())).transpose()?;
        Ok(KRule {
            subject,
            id,
            resource,
            action,
            amount,
            per,
        })
    }

    /// `rctl_write_outbuf`: the text and its NUL must fit, else ERANGE.
    fn rctl_output(text: String, outbuf_len: usize) -> Result<String, Errno> {
        if text.len() + 1 > outbuf_len {
            return Err(Errno::ERANGE);
        }
        Ok(text)
    }

    /// Process rules live as long as their process (`racct_proc_exit` releases its links).
    fn rctl_rules_live(&self) -> impl Iterator<Item = (usize, &KRule)> {
        self.rctl
            .rules
            .iter()
            .enumerate()
            .filter(|(_, r)| match &r.id {
                Some(SubjectId::Process(pid)) => {
                    self.procs.procs.get(pid).is_some_and(|p| p.is_live())
                }
                _ => true,
            })
    }

    /// rctl_add_rule(2).
    pub(crate) fn rctl_add_rule_rule(&mut self, inbuf: &[u8], jailed: bool) -> Result<(), Errno> {
        let text = self.rctl_input(inbuf, jailed)?;
        let mut rule = self.rctl_parse(&text)?;
        // "The 'per' part of a rule is optional" (sys_rctl_add_rule).
        if rule.per.is_none() {
            rule.per = rule.subject;
        }
        // rctl_rule_fully_specified.
        let (Some(_), Some(_), Some(resource), Some(action), Some(_), Some(per)) = (
            rule.subject,
            &rule.id,
            rule.resource,
            &rule.action,
            rule.amount,
            rule.per,
        ) else {
            return Err(Errno::EINVAL);
        };
        // rctl_rule_add: rules that make no sense.
        let refused = (action == "deny" && !deniable(resource))
            || (action == "throttle" && (!decaying(resource) || resource == Resource::Pcpu))
            || (per == SubjectType::Process && sloppy(resource));
        if refused {
            return Err(Errno::EOPNOTSUPP);
        }
        // No duplicates: a deny rule replaces one differing only in amount, any other rule an
        // identical one (never EEXIST).
        let mut same = rule.clone();
        if action == "deny" {
            same.amount = None;
        }
        self.rctl.rules.retain(|r| !matches(r, &same));
        self.rctl.rules.push(rule);
        Ok(())
    }

    /// rctl_remove_rule(2): every match; none is ESRCH (`rctl_rule_remove`).
    pub(crate) fn rctl_remove_rule_rule(
        &mut self,
        inbuf: &[u8],
        jailed: bool,
    ) -> Result<(), Errno> {
        let text = self.rctl_input(inbuf, jailed)?;
        let filter = self.rctl_parse(&text)?;
        let doomed: Vec<usize> = self
            .rctl_rules_live()
            .filter(|(_, r)| matches(r, &filter))
            .map(|(i, _)| i)
            .collect();
        if doomed.is_empty() {
            return Err(Errno::ESRCH);
        }
        let mut i = 0;
        self.rctl.rules.retain(|_| {
            i += 1;
            !doomed.contains(&(i - 1))
        });
        Ok(())
    }

    /// rctl_get_rules(2): process rules first, then loginclass, user and jail rules
    /// (`sys_rctl_get_rules` walks allproc, then each racct list); within each, the newest
    /// first (UNCONFIRMED: the order of the record lists themselves).
    pub(crate) fn rctl_get_rules_rule(
        &self,
        inbuf: &[u8],
        outbuf_len: usize,
        jailed: bool,
    ) -> Result<String, Errno> {
        let text = self.rctl_input(inbuf, jailed)?;
        let filter = self.rctl_parse(&text)?;
        let max = self.host.sysctl_int(MAXBUFSIZE).unwrap_or(MAX_OUTBUF);
        if outbuf_len as u64 > max as u64 {
            return Err(Errno::E2BIG);
        }
        let mut found: Vec<&KRule> = self
            .rctl_rules_live()
            .map(|(_, r)| r)
            .filter(|r| matches(r, &filter))
            .collect();
        found.reverse();
        let group = |r: &&KRule| match r.subject {
            Some(SubjectType::Process) => 0,
            Some(SubjectType::LoginClass) => 1,
            Some(SubjectType::User) => 2,
            _ => 3,
        };
        found.sort_by_key(group);
        let text = found.iter().map(|r| print_rule(r)).collect::<Vec<_>>();
        Self::rctl_output(text.join(","), outbuf_len)
    }

    /// rctl_get_racct(2): the filter must name a subject with an id (EINVAL); a process lists
    /// the 17 non-sloppy resources, the others all 25 (`rctl_racct_to_sbuf`).
    pub(crate) fn rctl_get_racct_rule(
        &self,
        inbuf: &[u8],
        outbuf_len: usize,
        jailed: bool,
    ) -> Result<String, Errno> {
        let text = self.rctl_input(inbuf, jailed)?;
        let filter = self.rctl_parse(&text)?;
        let (Some(kind), Some(id)) = (filter.subject, &filter.id) else {
            return Err(Errno::EINVAL);
        };
        let usage = self.racct_of(kind, id);
        let text = Resource::ALL
            .iter()
            .filter(|r| kind != SubjectType::Process || !sloppy(**r))
            .map(|r| {
                let stored = usage[r.index()];
                let shown = if in_millions(*r) {
                    stored / 1_000_000
                } else {
                    stored
                };
                format!("{}={shown}", r.name())
            })
            .collect::<Vec<_>>();
        Self::rctl_output(text.join(","), outbuf_len)
    }

    /// The stored counters (index order) of one subject. A jail's come from every process in
    /// it or below it (`racct_add_cred_locked` walks `pr_parent`); user and loginclass
    /// accounting is not modelled (all zero). A name never seen is all zeros: the record is
    /// created on demand (`prison_racct_find`).
    fn racct_of(&self, kind: SubjectType, id: &SubjectId) -> [i64; 25] {
        let mut sum = [0i64; 25];
        let procs: Vec<(&Pid, &crate::process::Proc)> = match (kind, id) {
            (SubjectType::Process, SubjectId::Process(pid)) => {
                self.procs.procs.get_key_value(pid).into_iter().collect()
            }
            (SubjectType::Jail, SubjectId::Name(name)) => {
                let jids: Vec<Jid> = self
                    .jails
                    .jails
                    .values()
                    .filter(|j| &j.name == name)
                    .map(|j| j.jid)
                    .collect();
                self.procs
                    .procs
                    .iter()
                    .filter(|(_, p)| jids.iter().any(|j| self.jail_within(p.jail, *j)))
                    .collect()
            }
            _ => Vec::new(),
        };
        for (_, p) in procs {
            // A zombie still counts as a process until reaped (`racct_proc_exit` runs from
            // proc_reap; UNCONFIRMED), but holds no memory, files or threads.
            sum[Resource::MaxProc.index()] += 1;
            let running = matches!(p.state, RunState::Running { .. });
            if !p.is_live() {
                continue;
            }
            let usage = p
                .args
                .first()
                .and_then(|a| self.rctl.usage.get(a))
                .copied()
                .unwrap_or_default();
            let clamp = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
            let wall_us = clamp(
                self.clock_ms
                    .saturating_sub(p.started_ms)
                    .saturating_mul(1000),
            );
            sum[Resource::Nthr.index()] += 1;
            sum[Resource::MemoryUse.index()] += clamp(usage.memoryuse);
            sum[Resource::VMemoryUse.index()] += clamp(usage.vmemoryuse);
            sum[Resource::OpenFiles.index()] += clamp(usage.openfiles);
            sum[Resource::WallClock.index()] += wall_us;
            // cputime in microseconds, pcpu in percent times 10^6 (RACCT_IN_MILLIONS).
            sum[Resource::CpuTime.index()] += wall_us / 100 * clamp(usage.pcpu);
            if running {
                sum[Resource::Pcpu.index()] += clamp(usage.pcpu) * 1_000_000;
            }
        }
        sum
    }

    /// Whether a process inside jail `jid` could fork now: no `maxproc` deny rule of the jail
    /// (or of a jail above it) would be exceeded by one more process (`racct_proc_fork` →
    /// `rctl_enforce`; `fork1` turns the refusal into EAGAIN).
    pub fn rctl_fork_allowed(&self, jid: Jid) -> Result<(), Errno> {
        if !self.racct_enabled() {
            return Ok(());
        }
        for (_, rule) in self.rctl_rules_live() {
            let (Some(SubjectId::Name(name)), Some(Resource::MaxProc), Some("deny")) =
                (&rule.id, rule.resource, rule.action.as_deref())
            else {
                continue;
            };
            if rule.subject != Some(SubjectType::Jail) {
                continue;
            }
            let Some(holder) = self
                .jails
                .jails
                .values()
                .find(|j| &j.name == name && self.jail_within(jid, j.jid))
            else {
                continue;
            };
            let used = self.racct_of(SubjectType::Jail, &SubjectId::Name(holder.name.clone()))
                [Resource::MaxProc.index()];
            if rule.amount.unwrap_or(i64::MAX) - used < 1 {
                return Err(Errno::EAGAIN);
            }
        }
        Ok(())
    }

    /// Script what a virtual program uses while it runs (by the path it is spawned with).
    pub fn script_usage(&mut self, program: &str, usage: ProcUsage) {
        self.rctl.usage.insert(program.to_string(), usage);
    }

    /// As `rctl -a` and `rctl -u jail:NAME` print them: every rule, then each jail's usage
    /// (its non-zero counters). Nothing when racct is off.
    pub(crate) fn dump_rctl(&self, out: &mut String) {
        if !self.racct_enabled() {
            return;
        }
        out.push_str("# rctl -a\n");
        for (_, rule) in self.rctl_rules_live() {
            out.push_str(&print_rule(rule));
            out.push('\n');
        }
        for jail in self.jails.jails.values() {
            let usage = self.racct_of(SubjectType::Jail, &SubjectId::Name(jail.name.clone()));
            let used: Vec<String> = Resource::ALL
                .iter()
                .filter(|r| usage[r.index()] != 0)
                .map(|r| {
                    let v = usage[r.index()];
                    format!(
                        "{}={}",
                        r.name(),
                        if in_millions(*r) { v / 1_000_000 } else { v }
                    )
                })
                .collect();
            out.push_str(&format!(
                "# rctl -u jail:{}: {}\n",
                jail.name,
                used.join(",")
            ));
        }
        out.push('\n');
    }
}

/// `rctl_rule_matches`: every part the filter gives must be equal.
fn matches(rule: &KRule, filter: &KRule) -> bool {
    fn same<T: PartialEq>(filter: &Option<T>, rule: &Option<T>) -> bool {
        filter.is_none() || filter == rule
    }
    (filter.subject.is_none() || (filter.subject == rule.subject && same(&filter.id, &rule.id)))
        && same(&filter.resource, &rule.resource)
        && same(&filter.action, &rule.action)
        && same(&filter.amount, &rule.amount)
        && same(&filter.per, &rule.per)
}

/// `rctl_rule_to_sbuf`: `subject:id:resource:action=amount`, `/per` when it differs.
fn print_rule(rule: &KRule) -> String {
    let subject = rule.subject.map_or("", SubjectType::name);
    let id = match &rule.id {
        Some(SubjectId::Process(pid)) => pid.0.to_string(),
        Some(SubjectId::User(uid)) => (*uid as u32).to_string(),
        Some(SubjectId::Name(name)) => name.clone(),
        None => String::new(),
    };
    let resource = rule.resource.map_or("", Resource::name);
    let mut amount = rule.amount.unwrap_or(-1);
    if rule.resource.is_some_and(in_millions) && amount >= 0 {
        amount /= 1_000_000;
    }
    let mut text = format!(
        "{subject}:{id}:{resource}:{}={amount}",
        rule.action.as_deref().unwrap_or("")
    );
    if rule.per != rule.subject {
        text.push('/');
        text.push_str(rule.per.map_or("", SubjectType::name));
    }
    text
}

/// The request text the kernel reads: the contract's filter or rule, NUL-terminated.
fn request(text: impl ToString) -> Vec<u8> {
    let mut bytes = text.to_string().into_bytes();
    bytes.push(0);
    bytes
}

fn bad_output(op: Op) -> impl Fn(zelle_core::kernel::rctl::RctlParseError) -> KernelError {
    move |e| KernelError::with_message(op, Errno::EIO, e.to_string())
}

/// The typed door hands the machine the same text the real backend does, with an output buffer
/// as large as kern.racct.rctl.maxbufsize allows by default.
const TYPED_OUTBUF: usize = MAX_OUTBUF as usize;

impl ResourceLimits for SimKernel {
    fn rctl_add_rule(&self, rule: &RctlRule) -> KResult<()> {
        let op = Op::RctlAddRule;
        self.call(op, &rule.to_string(), |m| {
            m.rctl_add_rule_rule(&request(rule), false)
                .map_err(failed(op))
        })
    }

    fn rctl_remove_rule(&self, filter: &RctlFilter) -> KResult<()> {
        let op = Op::RctlRemoveRule;
        self.call(op, &filter.to_string(), |m| {
            m.rctl_remove_rule_rule(&request(filter), false)
                .map_err(failed(op))
        })
    }

    fn rctl_get_rules(&self, filter: &RctlFilter) -> KResult<Vec<RctlRule>> {
        let op = Op::RctlGetRules;
        self.call(op, &filter.to_string(), |m| {
            let text = m
                .rctl_get_rules_rule(&request(filter), TYPED_OUTBUF, false)
                .map_err(failed(op))?;
            parse_rules(&text).map_err(bad_output(op))
        })
    }

    fn rctl_get_racct(&self, filter: &RctlFilter) -> KResult<Racct> {
        let op = Op::RctlGetRacct;
        self.call(op, &filter.to_string(), |m| {
            let text = m
                .rctl_get_racct_rule(&request(filter), TYPED_OUTBUF, false)
                .map_err(failed(op))?;
            parse_racct(&text).map_err(bad_output(op))
        })
    }
}
