//! Jails: jail_set(2), jail_get(2), jail_remove(2). jail_attach(2) happens inside process spawn
//! and in-vnet network configuration, never on its own.

use super::KResult;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

/// A jail id. 0 is the host (prison0).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Jid(pub i32);

impl fmt::Display for Jid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// `MAXHOSTNAMELEN` (`sys/sys/param.h`), the limit for `name` and `host.hostname`, NUL included.
pub const MAXHOSTNAMELEN: usize = 256;

/// A jailsys parameter that has no "disable": `vnet`, `host` and `linux` take only new or
/// inherit (`sys/sys/jail.h`: `JAIL_SYS_NEW` 1, `JAIL_SYS_INHERIT` 2; kern_jail_set, and
/// linux_mib.c `linux_prison_check` for `linux`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum JailSys {
    New = 1,
    Inherit = 2,
}

/// A jailsys parameter with all three values (`JAIL_SYS_DISABLE` 0, `JAIL_SYS_NEW` 1,
/// `JAIL_SYS_INHERIT` 2): `ip4`, `ip6`, `sysvmsg`, `sysvsem`, `sysvshm`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum JailSys3 {
    Disable = 0,
    New = 1,
    Inherit = 2,
}

/// The `vnet` parameter: the jailsys type without "disable".
pub type VnetMode = JailSys;

/// The `ip4` and `ip6` parameters: the jailsys type with "disable".
pub type IpMode = JailSys3;

/// `LINUX_MAX_UTSNAME` (`compat/linux/linux_mib.h`): `linux.osname` and `linux.osrelease`,
/// NUL included.
pub const LINUX_MAX_UTSNAME: usize = 65;

/// The module whose loading registers the `linux*` jail parameters (linux_common.ko:
/// `linux_common_modevent` → `linux_osd_jail_register`), by the name modfind(2) knows it
/// (`DECLARE_MODULE(linuxcommon, ...)` in `compat/linux/linux_common.c`).
pub const LINUX_COMMON_MODULE: &str = "linuxcommon";

/// The module of the 64-bit Linux ABI (linux64.ko), by the name modfind(2) knows it
/// (`moduledata_t linux64_elf_mod = { "linux64elf", … }` in amd64/linux/linux_sysvec.c): what a
/// Linux image's programs need to run.
pub const LINUX64_MODULE: &str = "linux64elf";

/// The flags argument of jail_set(2) and jail_get(2) (`sys/sys/jail.h`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JailFlags(pub u32);

impl JailFlags {
    pub const CREATE: JailFlags = JailFlags(0x01);
    pub const UPDATE: JailFlags = JailFlags(0x02);
    pub const ATTACH: JailFlags = JailFlags(0x04);
    pub const DYING: JailFlags = JailFlags(0x08);

    pub fn contains(self, other: JailFlags) -> bool {
        self.0 & other.0 == other.0
    }
}

impl std::ops::BitOr for JailFlags {
    type Output = JailFlags;
    fn bitor(self, rhs: JailFlags) -> JailFlags {
        JailFlags(self.0 | rhs.0)
    }
}

/// The parameters zelle sets, typed. `None` leaves a parameter out of the request, so the
/// kernel keeps (or defaults) it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JailParams {
    pub jid: Option<i32>,
    pub name: Option<String>,
    pub path: Option<String>,
    pub persist: Option<bool>,
    pub vnet: Option<VnetMode>,
    pub hostname: Option<String>,
    /// 0–2; the kernel's default is 2.
    pub enforce_statfs: Option<u32>,
    pub children_max: Option<u32>,
    pub devfs_ruleset: Option<u32>,
    pub ip4: Option<IpMode>,
    pub ip4_addrs: Vec<Ipv4Addr>,
    pub ip6: Option<IpMode>,
    pub ip6_addrs: Vec<Ipv6Addr>,
    /// `allow.*` parameters by their name after `allow.` ("mount", "mount.devfs", "raw_sockets").
    pub allow: Vec<(String, bool)>,
    /// May be raised freely, never set below the parent's level (prison0's is
    /// kern.securelevel); raising it raises every descendant too.
    pub securelevel: Option<i32>,
    /// SysV message queues, semaphores and shared memory: disabled, the jail's own, or the
    /// parent's. New or inherit need the parent not to have it disabled.
    pub sysvmsg: Option<JailSys3>,
    pub sysvsem: Option<JailSys3>,
    pub sysvshm: Option<JailSys3>,
    /// Exist only while linux_common.ko is loaded (`LINUX_COMMON_MODULE`); setting a name or a
    /// release implies `linux=new`.
    pub linux: Option<JailSys>,
    /// At most 64 bytes.
    pub linux_osname: Option<String>,
    /// "A.B.C" with an optional "-suffix", at least 1.0.0, at most 64 bytes.
    pub linux_osrelease: Option<String>,
}

/// How jail_get(2) finds a jail.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum JailKey {
    Jid(Jid),
    Name(String),
    /// `lastjid`: the first jail whose jid is greater; iterating with it lists every jail.
    After(Jid),
}

/// What jail_get(2) reports of one jail.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JailInfo {
    pub jid: Jid,
    pub name: String,
    pub path: String,
    pub hostname: String,
    pub persist: bool,
    pub vnet: bool,
    pub dying: bool,
    pub enforce_statfs: u32,
    pub children_max: u32,
    pub devfs_ruleset: u32,
    pub ip4: IpMode,
    pub ip4_addrs: Vec<Ipv4Addr>,
    pub ip6: IpMode,
    pub ip6_addrs: Vec<Ipv6Addr>,
    /// Every `allow.*` parameter that is set.
    pub allow: Vec<String>,
    pub securelevel: i32,
    pub sysvmsg: JailSys3,
    pub sysvsem: JailSys3,
    pub sysvshm: JailSys3,
    /// `None` while linux_common.ko is not loaded (the parameters do not exist then).
    pub linux: Option<JailLinux>,
}

/// What jail_get(2) reports of a jail's Linux emulation (`linux_prison_get`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JailLinux {
    /// New when the jail has its own values, inherit when it shares an ancestor's.
    pub mode: JailSys,
    /// The values in force: its own, or those of the ancestor it inherits from.
    pub osname: String,
    pub osrelease: String,
}

pub trait Jails {
    /// jail_set(2): create and/or update a jail; returns its jid.
    fn jail_set(&self, params: &JailParams, flags: JailFlags) -> KResult<Jid>;
    /// jail_get(2). With `JailFlags::DYING` a dying jail is found too.
    fn jail_get(&self, key: &JailKey, flags: JailFlags) -> KResult<JailInfo>;
    /// jail_remove(2): kill every process in the jail and let it die.
    fn jail_remove(&self, jid: Jid) -> KResult<()>;
}
