//! Resource limits: rctl(2)'s rctl_add_rule, rctl_remove_rule, rctl_get_rules and
//! rctl_get_racct, with rules typed and printed in the kernel's own grammar
//! `subject:id:resource:action=amount/per` (sys/kern/kern_rctl.c `rctl_string_to_rule`,
//! `rctl_rule_to_sbuf`; FACTS-kernel-runtime.md §1).
//!
//! Amounts are what the kernel reads and prints: plain decimal numbers in the resource's unit
//! (bytes, processes, files), with cputime and wallclock in seconds and pcpu in percent (the
//! kernel keeps those three "in millions"). Suffixes such as "512m" are rctl(8)'s, not the
//! kernel's: give bytes.

use super::{KResult, Pid};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// What a rule applies to, and what its `per` counts (`subjectnames[]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum SubjectType {
    Process,
    User,
    LoginClass,
    Jail,
}

impl SubjectType {
    pub const ALL: [SubjectType; 4] = [
        SubjectType::Process,
        SubjectType::User,
        SubjectType::LoginClass,
        SubjectType::Jail,
    ];

    pub fn name(self) -> &'static str {
        match self {
            SubjectType::Process => "process",
            SubjectType::User => "user",
            SubjectType::LoginClass => "loginclass",
            SubjectType::Jail => "jail",
        }
    }
}

/// A rule's subject with its id. zelle limits jails by name: `jail:<name>`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum RctlSubject {
    Process(Pid),
    /// A numeric uid: the kernel takes no user names.
    User(u32),
    LoginClass(String),
    /// A jail by name (`prison_racct`): it need not exist yet.
    Jail(String),
}

impl RctlSubject {
    pub fn kind(&self) -> SubjectType {
        match self {
            RctlSubject::Process(_) => SubjectType::Process,
            RctlSubject::User(_) => SubjectType::User,
            RctlSubject::LoginClass(_) => SubjectType::LoginClass,
            RctlSubject::Jail(_) => SubjectType::Jail,
        }
    }

    pub fn id(&self) -> String {
        match self {
            RctlSubject::Process(pid) => pid.0.to_string(),
            RctlSubject::User(uid) => uid.to_string(),
            RctlSubject::LoginClass(name) | RctlSubject::Jail(name) => name.clone(),
        }
    }
}

macro_rules! resources {
    ($($variant:ident = $name:literal,)*) => {
        /// A racct resource, in the kernel's index order (`RACCT_CPU` 0 … `RACCT_WRITEIOPS` 24,
        /// sys/sys/racct.h; names from kern_rctl.c `resourcenames[]`).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum Resource { $($variant,)* }

        impl Resource {
            /// Every resource, in index order.
            pub const ALL: &'static [Resource] = &[$(Resource::$variant,)*];

            pub fn name(self) -> &'static str {
                match self { $(Resource::$variant => $name,)* }
            }
        }
    };
}

resources! {
    CpuTime = "cputime",
    DataSize = "datasize",
    StackSize = "stacksize",
    CoreDumpSize = "coredumpsize",
    MemoryUse = "memoryuse",
    MemoryLocked = "memorylocked",
    MaxProc = "maxproc",
    OpenFiles = "openfiles",
    VMemoryUse = "vmemoryuse",
    PseudoTerminals = "pseudoterminals",
    SwapUse = "swapuse",
    Nthr = "nthr",
    MsgqQueued = "msgqqueued",
    MsgqSize = "msgqsize",
    Nmsgq = "nmsgq",
    Nsem = "nsem",
    Nsemop = "nsemop",
    Nshm = "nshm",
    ShmSize = "shmsize",
    WallClock = "wallclock",
    Pcpu = "pcpu",
    ReadBps = "readbps",
    WriteBps = "writebps",
    ReadIops = "readiops",
    WriteIops = "writeiops",
}

impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Resource {
    /// The kernel's index (`RACCT_*`).
    pub fn index(self) -> usize {
        self as usize
    }
}

/// The signals an rctl rule can send (`actionnames[]`): the value of each `RCTL_ACTION_SIG*` is
/// its signal number (kern_rctl.c `rctl_enforce` relies on it). SIGCONT is not among them.
pub const RCTL_SIGNALS: &[(&str, i32)] = &[
    ("sighup", 1),
    ("sigint", 2),
    ("sigquit", 3),
    ("sigill", 4),
    ("sigtrap", 5),
    ("sigabrt", 6),
    ("sigemt", 7),
    ("sigfpe", 8),
    ("sigkill", 9),
    ("sigbus", 10),
    ("sigsegv", 11),
    ("sigsys", 12),
    ("sigpipe", 13),
    ("sigalrm", 14),
    ("sigterm", 15),
    ("sigurg", 16),
    ("sigstop", 17),
    ("sigtstp", 18),
    ("sigchld", 20),
    ("sigttin", 21),
    ("sigttou", 22),
    ("sigio", 23),
    ("sigxcpu", 24),
    ("sigxfsz", 25),
    ("sigvtalrm", 26),
    ("sigprof", 27),
    ("sigwinch", 28),
    ("siginfo", 29),
    ("sigusr1", 30),
    ("sigusr2", 31),
    ("sigthr", 32),
];

/// What happens when a rule's amount is exceeded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum RctlAction {
    Deny,
    Log,
    Devctl,
    Throttle,
    /// One of [`RCTL_SIGNALS`], by its signal number.
    Signal(i32),
}

impl RctlAction {
    /// The kernel's word; `None` for a signal rctl cannot send.
    pub fn name(self) -> Option<&'static str> {
        match self {
            RctlAction::Deny => Some("deny"),
            RctlAction::Log => Some("log"),
            RctlAction::Devctl => Some("devctl"),
            RctlAction::Throttle => Some("throttle"),
            RctlAction::Signal(n) => RCTL_SIGNALS
                .iter()
                .find(|(_, number)| *number == n)
                .map(|(name, _)| *name),
        }
    }
}

/// A whole rule, as rctl_add_rule(2) takes it. `per` left `None` means the subject's own type
/// (the kernel fills it in: `sys_rctl_add_rule`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RctlRule {
    pub subject: RctlSubject,
    pub resource: Resource,
    pub action: RctlAction,
    pub amount: u64,
    pub per: Option<SubjectType>,
}

impl RctlRule {
    /// `jail:<name>:<resource>:<action>=<amount>`.
    pub fn jail(name: &str, resource: Resource, action: RctlAction, amount: u64) -> Self {
        RctlRule {
            subject: RctlSubject::Jail(name.to_string()),
            resource,
            action,
            amount,
            per: None,
        }
    }

    /// The filter that matches exactly this rule.
    pub fn filter(&self) -> RctlFilter {
        RctlFilter {
            subject: Some(self.subject.kind()),
            id: Some(self.subject.id()),
            resource: Some(self.resource),
            action: Some(self.action),
            amount: Some(self.amount),
            per: self.per,
        }
    }
}

/// A rule with any part left out: what rctl_remove_rule(2), rctl_get_rules(2) and
/// rctl_get_racct(2) take. Parts left out match anything.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RctlFilter {
    pub subject: Option<SubjectType>,
    pub id: Option<String>,
    pub resource: Option<Resource>,
    pub action: Option<RctlAction>,
    pub amount: Option<u64>,
    pub per: Option<SubjectType>,
}

impl RctlFilter {
    /// `jail:<name>`: every rule of that jail, or its usage.
    pub fn jail(name: &str) -> Self {
        RctlFilter {
            subject: Some(SubjectType::Jail),
            id: Some(name.to_string()),
            ..RctlFilter::default()
        }
    }
}

/// Why a rule's text does not parse (the kernel answers EINVAL or ERANGE for the same text).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("rctl rule {text:?}: {why}")]
pub struct RctlParseError {
    pub text: String,
    pub why: String,
}

impl fmt::Display for RctlFilter {
    /// `subject:id:resource:action=amount/per`, with the parts after the last given one left
    /// off (the kernel's strsep then sees them as absent).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = String::new();
        text.push_str(self.subject.map_or("", SubjectType::name));
        text.push(':');
        text.push_str(self.id.as_deref().unwrap_or(""));
        text.push(':');
        text.push_str(self.resource.map_or("", Resource::name));
        text.push(':');
        // An action rctl cannot name prints as a number: the kernel refuses it (EINVAL).
        if let Some(action) = self.action {
            match action.name() {
                Some(name) => text.push_str(name),
                None => text.push_str(&format!("{action:?}")),
            }
        }
        if let Some(amount) = self.amount {
            text.push_str(&format!("={amount}"));
        }
        if let Some(per) = self.per {
            text.push('/');
            text.push_str(per.name());
        }
        f.write_str(text.trim_end_matches(':'))
    }
}

impl fmt::Display for RctlRule {
    /// As the kernel prints it (`rctl_rule_to_sbuf`): `/per` only when it differs from the
    /// subject's type.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut filter = self.filter();
        if filter.per == filter.subject {
            filter.per = None;
        }
        filter.fmt(f)
    }
}

fn word<T: Copy>(text: &str, part: &str, what: &str, table: &[(&str, T)]) -> Result<T, String> {
    table
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(part))
        .map(|(_, value)| *value)
        .ok_or_else(|| format!("unknown {what} {part:?} in {text:?}"))
}

impl FromStr for RctlFilter {
    type Err = RctlParseError;

    /// The kernel's reading (`rctl_string_to_rule`): split at ':', ':', ':', then at '=' or
    /// '/', then at '/'; empty parts are absent; words are case-insensitive.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let fail = |why: String| RctlParseError {
            text: text.to_string(),
            why,
        };
        let mut rest = text;
        let mut take = |seps: &[char]| -> Option<&str> {
            match rest.find(seps) {
                Some(at) => {
                    let part = &rest[..at];
                    rest = &rest[at + 1..];
                    Some(part)
                }
                None => Some(std::mem::take(&mut rest)),
            }
        };
        let parts: Vec<&str> = [&[':'][..], &[':'], &[':'], &['=', '/'], &['/']]
            .iter()
            .map(|seps| take(seps).unwrap_or(""))
            .collect();
        let per = rest;
        let subjects: Vec<(&str, SubjectType)> =
            SubjectType::ALL.iter().map(|s| (s.name(), *s)).collect();
        let resources: Vec<(&str, Resource)> =
            Resource::ALL.iter().map(|r| (r.name(), *r)).collect();
        let mut actions: Vec<(&str, RctlAction)> = vec![
            ("deny", RctlAction::Deny),
            ("log", RctlAction::Log),
            ("devctl", RctlAction::Devctl),
            ("throttle", RctlAction::Throttle),
        ];
        actions.extend(
            RCTL_SIGNALS
                .iter()
                .map(|(n, s)| (*n, RctlAction::Signal(*s))),
        );
        let opt = |part: &str| (!part.is_empty()).then_some(part.to_string());
        let subject = match parts[0] {
            "" => None,
            s => Some(word(text, s, "subject", &subjects).map_err(fail)?),
        };
        let resource = match parts[2] {
            "" => None,
            r => Some(word(text, r, "resource", &resources).map_err(fail)?),
        };
        let action = match parts[3] {
            "" => None,
            a => Some(word(text, a, "action", &actions).map_err(fail)?),
        };
        let amount = match parts[4] {
            "" => None,
            a if a.bytes().all(|b| b.is_ascii_digit()) => Some(
                a.parse::<u64>()
                    .ok()
                    .filter(|n| i64::try_from(*n).is_ok())
                    .ok_or_else(|| fail(format!("amount {a:?} out of range")))?,
            ),
            a => return Err(fail(format!("amount {a:?} is not a decimal number"))),
        };
        let per = match per {
            "" => None,
            p => Some(word(text, p, "per", &subjects).map_err(fail)?),
        };
        Ok(RctlFilter {
            subject,
            id: opt(parts[1]),
            resource,
            action,
            amount,
            per,
        })
    }
}

impl FromStr for RctlRule {
    type Err = RctlParseError;

    /// A whole rule, as rctl_get_rules(2) prints it; every part up to the amount is needed.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let filter: RctlFilter = text.parse()?;
        let fail = |why: &str| RctlParseError {
            text: text.to_string(),
            why: why.to_string(),
        };
        let (Some(kind), Some(id), Some(resource), Some(action), Some(amount)) = (
            filter.subject,
            filter.id,
            filter.resource,
            filter.action,
            filter.amount,
        ) else {
            return Err(fail("not a whole rule"));
        };
        let number = |id: &str| id.parse::<u32>().map_err(|_| fail("id is not a number"));
        let subject = match kind {
            SubjectType::Process => RctlSubject::Process(Pid(number(&id)? as i32)),
            SubjectType::User => RctlSubject::User(number(&id)?),
            SubjectType::LoginClass => RctlSubject::LoginClass(id),
            SubjectType::Jail => RctlSubject::Jail(id),
        };
        // The kernel prints `/per` only when it differs from the subject: absent means the same.
        let per = filter.per.filter(|per| *per != kind);
        Ok(RctlRule {
            subject,
            resource,
            action,
            amount,
            per,
        })
    }
}

/// A subject's usage as rctl_get_racct(2) reports it: every resource it lists, in index order,
/// in the units rules use.
pub type Racct = Vec<(Resource, i64)>;

/// Parse rctl_get_racct(2)'s text, `name=value,…`.
pub fn parse_racct(text: &str) -> Result<Racct, RctlParseError> {
    let fail = |why: String| RctlParseError {
        text: text.to_string(),
        why,
    };
    if text.is_empty() {
        return Ok(Vec::new());
    }
    text.split(',')
        .map(|pair| {
            let (name, value) = pair
                .split_once('=')
                .ok_or_else(|| fail(format!("{pair:?} has no '='")))?;
            let resource = Resource::ALL
                .iter()
                .copied()
                .find(|r| r.name() == name)
                .ok_or_else(|| fail(format!("unknown resource {name:?}")))?;
            let value = value
                .parse::<i64>()
                .map_err(|_| fail(format!("value {value:?}")))?;
            Ok((resource, value))
        })
        .collect()
}

/// Parse rctl_get_rules(2)'s text: rules joined by ",", "" for none.
pub fn parse_rules(text: &str) -> Result<Vec<RctlRule>, RctlParseError> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    text.split(',').map(str::parse).collect()
}

pub trait ResourceLimits {
    /// rctl_add_rule(2). Never EEXIST: an equal rule (for deny: one differing only in amount)
    /// is replaced.
    fn rctl_add_rule(&self, rule: &RctlRule) -> KResult<()>;
    /// rctl_remove_rule(2): every rule the filter matches; ESRCH when none does.
    fn rctl_remove_rule(&self, filter: &RctlFilter) -> KResult<()>;
    /// rctl_get_rules(2): the rules the filter matches.
    fn rctl_get_rules(&self, filter: &RctlFilter) -> KResult<Vec<RctlRule>>;
    /// rctl_get_racct(2) of one subject (`jail:<name>`): its usage, in index order.
    fn rctl_get_racct(&self, filter: &RctlFilter) -> KResult<Racct>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_print_in_the_kernels_grammar() {
        let rule = RctlRule::jail("web", Resource::MemoryUse, RctlAction::Deny, 536_870_912);
        assert_eq!(rule.to_string(), "jail:web:memoryuse:deny=536870912");
        let per = RctlRule {
            per: Some(SubjectType::Process),
            ..RctlRule::jail("web", Resource::MaxProc, RctlAction::Signal(9), 10)
        };
        assert_eq!(per.to_string(), "jail:web:maxproc:sigkill=10/process");
        let same = RctlRule {
            per: Some(SubjectType::Jail),
            ..rule.clone()
        };
        assert_eq!(same.to_string(), "jail:web:memoryuse:deny=536870912");
        assert_eq!(RctlFilter::jail("web").to_string(), "jail:web");
        assert_eq!(
            RctlFilter {
                action: Some(RctlAction::Deny),
                ..RctlFilter::default()
            }
            .to_string(),
            ":::deny"
        );
        assert_eq!(RctlFilter::default().to_string(), "");
    }

    #[test]
    fn rules_parse_back() {
        for text in [
            "jail:web:memoryuse:deny=536870912",
            "jail:web:maxproc:sigkill=10/process",
            "user:1001:openfiles:log=100",
            "process:1234:pcpu:deny=50",
            "loginclass:daemon:cputime:devctl=3600/user",
        ] {
            let rule: RctlRule = text.parse().unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(rule.to_string(), text);
        }
        let upper: RctlRule = "JAIL:web:MaxProc:DENY=5/jail".parse().unwrap();
        assert_eq!(upper.to_string(), "jail:web:maxproc:deny=5");
        for bad in [
            "jail:web:memoryuse:deny=512m",
            "jail:web:nonesuch:deny=1",
            "jail:web:maxproc:explode=1",
            "cell:web:maxproc:deny=1",
            "jail:web:maxproc:deny=-1",
            "jail:web:maxproc:deny",
            "user:root:maxproc:deny=1",
        ] {
            assert!(bad.parse::<RctlRule>().is_err(), "{bad}");
        }
        let filter: RctlFilter = "jail:web:maxproc".parse().unwrap();
        assert_eq!(filter.resource, Some(Resource::MaxProc));
        assert_eq!(filter.to_string(), "jail:web:maxproc");
    }

    #[test]
    fn racct_text_parses_in_order() {
        let all = Resource::ALL
            .iter()
            .map(|r| format!("{}=0", r.name()))
            .collect::<Vec<_>>()
            .join(",");
        let racct = parse_racct(&all.replace("maxproc=0", "maxproc=3")).unwrap();
        assert_eq!(racct.len(), 25);
        assert_eq!(racct[6], (Resource::MaxProc, 3));
        assert_eq!(racct[0].0, Resource::CpuTime);
        assert_eq!(racct[24].0, Resource::WriteIops);
        assert!(parse_racct("bogus=1").is_err());
        assert_eq!(parse_rules("").unwrap(), vec![]);
    }
}
