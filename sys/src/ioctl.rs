//! ioctl(2) request numbers, computed the way FreeBSD's `sys/sys/ioccom.h` does.
//!
//! `SIOC*` and `DIOC*` are function-like C macros that bindgen cannot expand, so they are built
//! here from `const fn` mirrors of `_IO`, `_IOR`, `_IOW`, `_IOWR` and `size_of` of the generated
//! structs. Each definition cites the header line it mirrors (line numbers of ziglang 0.17.1's
//! `lib/libc/include/generic-freebsd/`, the headers the checked-in binding comes from); tests/ioctl.rs checks every number
//! against a literal and against the value the C compiler computed from the headers
//! (`ZELLE_IOCTL_*`, see wrapper.h).

use core::mem::size_of;

use crate::{
    ifaliasreq, ifdrv, ifreq, in6_aliasreq, in6_ifreq, pfioc_pooladdr, pfioc_rule, pfioc_ruleset,
    pfioc_trans,
};

/// The type of ioctl(2)'s request argument (`unsigned long` in FreeBSD's `sys/ioccom.h`).
pub type Request = core::ffi::c_ulong;

/// `IOCPARM_SHIFT`: bits of the parameter length.
pub const IOCPARM_SHIFT: u32 = 13;
/// `IOCPARM_MASK`: parameter length mask, 0x1fff.
pub const IOCPARM_MASK: Request = (1 << IOCPARM_SHIFT) - 1;
/// `IOC_VOID`: no parameters.
pub const IOC_VOID: Request = 0x2000_0000;
/// `IOC_OUT`: the kernel copies the parameter out.
pub const IOC_OUT: Request = 0x4000_0000;
/// `IOC_IN`: the kernel copies the parameter in.
pub const IOC_IN: Request = 0x8000_0000;
/// `IOC_INOUT`: both.
pub const IOC_INOUT: Request = IOC_IN | IOC_OUT;

/// `_IOC(inout, group, num, len)`: `inout | (len & IOCPARM_MASK) << 16 | group << 8 | num`.
/// Like the C macro, a length past `IOCPARM_MASK` is masked.
#[must_use]
pub const fn ioc(inout: Request, group: u8, num: u8, len: usize) -> Request {
    inout | (((len as Request) & IOCPARM_MASK) << 16) | ((group as Request) << 8) | num as Request
}

/// `_IO(g, n)`: a request without parameter.
#[must_use]
pub const fn io(group: u8, num: u8) -> Request {
    ioc(IOC_VOID, group, num, 0)
}

/// `_IOR(g, n, t)`: the kernel writes a `T`.
#[must_use]
pub const fn ior<T>(group: u8, num: u8) -> Request {
    ioc(IOC_OUT, group, num, size_of::<T>())
}

/// `_IOW(g, n, t)`: the kernel reads a `T`.
#[must_use]
pub const fn iow<T>(group: u8, num: u8) -> Request {
    ioc(IOC_IN, group, num, size_of::<T>())
}

/// `_IOWR(g, n, t)`: the kernel reads and writes a `T`.
#[must_use]
pub const fn iowr<T>(group: u8, num: u8) -> Request {
    ioc(IOC_INOUT, group, num, size_of::<T>())
}

/// `IOCPARM_LEN(x)`: the parameter length encoded in a request.
#[must_use]
pub const fn iocparm_len(request: Request) -> usize {
    ((request >> 16) & IOCPARM_MASK) as usize
}

// --- interfaces: sys/sockio.h --------------------------------------------------------------

/// sys/sockio.h:57 `_IOW('i', 16, struct ifreq)`: set interface flags.
pub const SIOCSIFFLAGS: Request = iow::<ifreq>(b'i', 16);
/// sys/sockio.h:58 `_IOWR('i', 17, struct ifreq)`: get interface flags.
pub const SIOCGIFFLAGS: Request = iowr::<ifreq>(b'i', 17);
/// sys/sockio.h:69 `_IOW('i', 25, struct ifreq)`: delete an IPv4 address.
pub const SIOCDIFADDR: Request = iow::<ifreq>(b'i', 25);
/// sys/sockio.h:79 `_IOW('i', 40, struct ifreq)`: rename an interface.
pub const SIOCSIFNAME: Request = iow::<ifreq>(b'i', 40);
/// sys/sockio.h:82 `_IOW('i', 43, struct ifaliasreq)`: add or change an IPv4 address.
pub const SIOCAIFADDR: Request = iow::<ifaliasreq>(b'i', 43);
/// sys/sockio.h:88 `_IOWR('i', 51, struct ifreq)`: get the MTU.
pub const SIOCGIFMTU: Request = iowr::<ifreq>(b'i', 51);
/// sys/sockio.h:89 `_IOW('i', 52, struct ifreq)`: set the MTU.
pub const SIOCSIFMTU: Request = iow::<ifreq>(b'i', 52);
/// sys/sockio.h:113 `_IOWR('i', 90, struct ifreq)`: move an interface into a jail's vnet.
pub const SIOCSIFVNET: Request = iowr::<ifreq>(b'i', 90);
/// sys/sockio.h:114 `_IOWR('i', 91, struct ifreq)`: reclaim an interface from a jail's vnet.
pub const SIOCSIFRVNET: Request = iowr::<ifreq>(b'i', 91);
/// sys/sockio.h:122 `_IOW('i', 123, struct ifdrv)`: driver-specific set (if_bridge BRDG*).
pub const SIOCSDRVSPEC: Request = iow::<ifdrv>(b'i', 123);
/// sys/sockio.h:124 `_IOWR('i', 123, struct ifdrv)`: driver-specific get.
pub const SIOCGDRVSPEC: Request = iowr::<ifdrv>(b'i', 123);
/// sys/sockio.h:128 `_IOWR('i', 124, struct ifreq)`: create a cloned interface.
pub const SIOCIFCREATE2: Request = iowr::<ifreq>(b'i', 124);
/// sys/sockio.h:129 `_IOW('i', 121, struct ifreq)`: destroy a cloned interface.
pub const SIOCIFDESTROY: Request = iow::<ifreq>(b'i', 121);

// --- IPv6 addresses: netinet6/in6_var.h ----------------------------------------------------

/// netinet6/in6_var.h:440 `_IOW('i', 25, struct in6_ifreq)`: delete an IPv6 address.
pub const SIOCDIFADDR_IN6: Request = iow::<in6_ifreq>(b'i', 25);
/// netinet6/in6_var.h:442 `_IOW('i', 27, struct in6_aliasreq)`: add an IPv6 address.
pub const SIOCAIFADDR_IN6: Request = iow::<in6_aliasreq>(b'i', 27);

// --- pf: net/pfvar.h -----------------------------------------------------------------------

/// net/pfvar.h:2085 `_IOWR('D', 4, struct pfioc_rule)`: add a rule to an open transaction.
pub const DIOCADDRULE: Request = iowr::<pfioc_rule>(b'D', 4);
/// net/pfvar.h:2087 `_IOWR('D', 6, struct pfioc_rule)`: count the rules, get the ticket.
pub const DIOCGETRULES: Request = iowr::<pfioc_rule>(b'D', 6);
/// `_IOWR('D', 7, struct pfioc_rule)`: read one rule. FreeBSD 13 and 14 `sys/net/pfvar.h` (beside
/// `DIOCGETRULENV _IOWR('D', 7, struct pfioc_nv)`); FreeBSD 15, whose headers ziglang ships,
/// removed it and kept only DIOCGETRULENV, so the C compiler cannot cross-check this one.
pub const DIOCGETRULE: Request = iowr::<pfioc_rule>(b'D', 7);
/// net/pfvar.h:2120 `_IOWR('D', 51, struct pfioc_pooladdr)`: start an address pool, get its ticket.
pub const DIOCBEGINADDRS: Request = iowr::<pfioc_pooladdr>(b'D', 51);
/// net/pfvar.h:2121 `_IOWR('D', 52, struct pfioc_pooladdr)`: add an address to the pool.
pub const DIOCADDADDR: Request = iowr::<pfioc_pooladdr>(b'D', 52);
/// net/pfvar.h:2125 `_IOWR('D', 58, struct pfioc_ruleset)`: count an anchor's child rulesets.
pub const DIOCGETRULESETS: Request = iowr::<pfioc_ruleset>(b'D', 58);
/// net/pfvar.h:2126 `_IOWR('D', 59, struct pfioc_ruleset)`: name of one child ruleset.
pub const DIOCGETRULESET: Request = iowr::<pfioc_ruleset>(b'D', 59);
/// net/pfvar.h:2146 `_IOWR('D', 81, struct pfioc_trans)`: begin a transaction (one ticket per ruleset).
pub const DIOCXBEGIN: Request = iowr::<pfioc_trans>(b'D', 81);
/// net/pfvar.h:2147 `_IOWR('D', 82, struct pfioc_trans)`: commit a transaction.
pub const DIOCXCOMMIT: Request = iowr::<pfioc_trans>(b'D', 82);
/// net/pfvar.h:2148 `_IOWR('D', 83, struct pfioc_trans)`: roll a transaction back.
pub const DIOCXROLLBACK: Request = iowr::<pfioc_trans>(b'D', 83);
