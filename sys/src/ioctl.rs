//! ioctl(2) request numbers, computed the way FreeBSD's `sys/sys/ioccom.h` does.
//!
//! `SIOC*`, `DIOC*` and `DEVFSIO_*` are function-like C macros that bindgen cannot expand, so they are built
//! here from `const fn` mirrors of `_IO`, `_IOR`, `_IOW`, `_IOWR` and `size_of` of the generated
//! structs. Each definition cites the header line it mirrors (line numbers of ziglang 0.17.1's
//! `lib/libc/include/generic-freebsd/`, the headers the checked-in binding comes from); tests/ioctl.rs checks every number
//! against a literal and against the value the C compiler computed from the headers
//! (`ZELLE_IOCTL_*`, see wrapper.h).
//!
//! Each request is a [`Request<T>`] typed by the struct it carries; [`number`] lists the same
//! requests as plain numbers for a decoder to dispatch on.

use core::marker::PhantomData;
use core::mem::size_of;

use crate::{
    devfs_rid, devfs_rsnum, devfs_rule, ifdrv, ifreq, in6_aliasreq, in6_ifreq, in_aliasreq,
    pfioc_pooladdr, pfioc_rule, pfioc_ruleset, pfioc_trans, winsize,
};

/// ioctl(2)'s request argument as the kernel takes it (`unsigned long` in FreeBSD's
/// `sys/ioccom.h`): what a decoder dispatches on.
pub type RawRequest = core::ffi::c_ulong;

/// An ioctl request whose argument is a `T`. The number encodes `size_of::<T>()` (computed
/// from `T`, so the two cannot disagree), and a caller that takes `Request<T>` with `&mut T`
/// makes passing another struct a compile error:
///
/// ```
/// use zelle_sys::ioctl::{Request, SIOCAIFADDR};
/// fn send<T>(_request: Request<T>, _arg: &mut T) {}
/// let mut req: zelle_sys::in_aliasreq = zelle_sys::zeroed();
/// send(SIOCAIFADDR, &mut req);
/// ```
///
/// ```compile_fail
/// use zelle_sys::ioctl::{Request, SIOCAIFADDR};
/// fn send<T>(_request: Request<T>, _arg: &mut T) {}
/// let mut req: zelle_sys::ifreq = zelle_sys::zeroed();
/// send(SIOCAIFADDR, &mut req); // SIOCAIFADDR carries an in_aliasreq
/// ```
pub struct Request<T> {
    number: RawRequest,
    arg: PhantomData<fn(T) -> T>,
}

impl<T> Request<T> {
    /// The number ioctl(2) receives.
    #[must_use]
    pub const fn number(self) -> RawRequest {
        self.number
    }
}

impl<T> Clone for Request<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Request<T> {}

impl<T> PartialEq for Request<T> {
    fn eq(&self, other: &Self) -> bool {
        self.number == other.number
    }
}

impl<T> Eq for Request<T> {}

impl<T> core::fmt::Debug for Request<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Request({:#x})", self.number)
    }
}

/// `IOCPARM_SHIFT`: bits of the parameter length.
pub const IOCPARM_SHIFT: u32 = 13;
/// `IOCPARM_MASK`: parameter length mask, 0x1fff.
pub const IOCPARM_MASK: RawRequest = (1 << IOCPARM_SHIFT) - 1;
/// `IOC_VOID`: no parameters.
pub const IOC_VOID: RawRequest = 0x2000_0000;
/// `IOC_OUT`: the kernel copies the parameter out.
pub const IOC_OUT: RawRequest = 0x4000_0000;
/// `IOC_IN`: the kernel copies the parameter in.
pub const IOC_IN: RawRequest = 0x8000_0000;
/// `IOC_INOUT`: both.
pub const IOC_INOUT: RawRequest = IOC_IN | IOC_OUT;

/// `_IOC(inout, group, num, len)`: `inout | (len & IOCPARM_MASK) << 16 | group << 8 | num`.
/// Like the C macro, a length past `IOCPARM_MASK` is masked.
#[must_use]
pub const fn ioc(inout: RawRequest, group: u8, num: u8, len: usize) -> RawRequest {
    inout
        | (((len as RawRequest) & IOCPARM_MASK) << 16)
        | ((group as RawRequest) << 8)
        | num as RawRequest
}

const fn typed<T>(inout: RawRequest, group: u8, num: u8) -> Request<T> {
    Request {
        number: ioc(inout, group, num, size_of::<T>()),
        arg: PhantomData,
    }
}

/// `_IO(g, n)`: a request without parameter.
#[must_use]
pub const fn io(group: u8, num: u8) -> Request<()> {
    typed(IOC_VOID, group, num)
}

/// `_IO(g, n)` as [`io`], in the typed form the request table below takes (`T` is `()`).
const fn io_void<T>(group: u8, num: u8) -> Request<T> {
    typed(IOC_VOID, group, num)
}

/// `_IOR(g, n, t)`: the kernel writes a `T`.
#[must_use]
pub const fn ior<T>(group: u8, num: u8) -> Request<T> {
    typed(IOC_OUT, group, num)
}

/// `_IOW(g, n, t)`: the kernel reads a `T`.
#[must_use]
pub const fn iow<T>(group: u8, num: u8) -> Request<T> {
    typed(IOC_IN, group, num)
}

/// `_IOWR(g, n, t)`: the kernel reads and writes a `T`.
#[must_use]
pub const fn iowr<T>(group: u8, num: u8) -> Request<T> {
    typed(IOC_INOUT, group, num)
}

/// `IOCPARM_LEN(x)`: the parameter length encoded in a request number.
#[must_use]
pub const fn iocparm_len(request: RawRequest) -> usize {
    ((request >> 16) & IOCPARM_MASK) as usize
}

/// Each request once, typed by its struct; [`number`] repeats them as plain numbers.
macro_rules! requests {
    ($($(#[$doc:meta])* $name:ident: $t:ty = $make:ident($group:literal, $num:literal);)*) => {
        $($(#[$doc])* pub const $name: Request<$t> = $make::<$t>($group, $num);)*

        /// The requests as plain numbers, to match on in a decoder (a `match` cannot call
        /// [`Request::number`]).
        pub mod number {
            use super::RawRequest;
            $(
                #[doc = concat!("[`", stringify!($name), "`](super::", stringify!($name), ")")]
                pub const $name: RawRequest = super::$name.number();
            )*
        }
    };
}

requests! {
    // --- interfaces: sys/sockio.h --------------------------------------------------------------

    /// sys/sockio.h:57 `_IOW('i', 16, struct ifreq)`: set interface flags.
    SIOCSIFFLAGS: ifreq = iow(b'i', 16);
    /// sys/sockio.h:58 `_IOWR('i', 17, struct ifreq)`: get interface flags.
    SIOCGIFFLAGS: ifreq = iowr(b'i', 17);
    /// sys/sockio.h:69 `_IOW('i', 25, struct ifreq)`: delete an IPv4 address.
    SIOCDIFADDR: ifreq = iow(b'i', 25);
    /// sys/sockio.h:79 `_IOW('i', 40, struct ifreq)`: rename an interface.
    SIOCSIFNAME: ifreq = iow(b'i', 40);
    /// sys/sockio.h:82 `_IOW('i', 43, struct ifaliasreq)`: add or change an IPv4 address. The
    /// header sizes the number by `struct ifaliasreq`, but `in_control` reads the argument as a
    /// `struct in_aliasreq` (netinet/in.c, `in_aifaddr_ioctl`), and the request carries that: both
    /// are 68 bytes (FACTS.md §1; tests/ioctl.rs checks it), so the number is the same.
    SIOCAIFADDR: in_aliasreq = iow(b'i', 43);
    /// sys/sockio.h:88 `_IOWR('i', 51, struct ifreq)`: get the MTU.
    SIOCGIFMTU: ifreq = iowr(b'i', 51);
    /// sys/sockio.h:89 `_IOW('i', 52, struct ifreq)`: set the MTU.
    SIOCSIFMTU: ifreq = iow(b'i', 52);
    /// sys/sockio.h:113 `_IOWR('i', 90, struct ifreq)`: move an interface into a jail's vnet.
    SIOCSIFVNET: ifreq = iowr(b'i', 90);
    /// sys/sockio.h:114 `_IOWR('i', 91, struct ifreq)`: reclaim an interface from a jail's vnet.
    SIOCSIFRVNET: ifreq = iowr(b'i', 91);
    /// sys/sockio.h:122 `_IOW('i', 123, struct ifdrv)`: driver-specific set (if_bridge BRDG*).
    SIOCSDRVSPEC: ifdrv = iow(b'i', 123);
    /// sys/sockio.h:124 `_IOWR('i', 123, struct ifdrv)`: driver-specific get.
    SIOCGDRVSPEC: ifdrv = iowr(b'i', 123);
    /// sys/sockio.h:128 `_IOWR('i', 124, struct ifreq)`: create a cloned interface.
    SIOCIFCREATE2: ifreq = iowr(b'i', 124);
    /// sys/sockio.h:129 `_IOW('i', 121, struct ifreq)`: destroy a cloned interface.
    SIOCIFDESTROY: ifreq = iow(b'i', 121);

    // --- IPv6 addresses: netinet6/in6_var.h ----------------------------------------------------

    /// netinet6/in6_var.h:440 `_IOW('i', 25, struct in6_ifreq)`: delete an IPv6 address.
    SIOCDIFADDR_IN6: in6_ifreq = iow(b'i', 25);
    /// netinet6/in6_var.h:442 `_IOW('i', 27, struct in6_aliasreq)`: add an IPv6 address.
    SIOCAIFADDR_IN6: in6_aliasreq = iow(b'i', 27);

    // --- pf: net/pfvar.h -----------------------------------------------------------------------

    /// net/pfvar.h:2085 `_IOWR('D', 4, struct pfioc_rule)`: add a rule to an open transaction.
    DIOCADDRULE: pfioc_rule = iowr(b'D', 4);
    /// net/pfvar.h:2087 `_IOWR('D', 6, struct pfioc_rule)`: count the rules, get the ticket.
    DIOCGETRULES: pfioc_rule = iowr(b'D', 6);
    /// `_IOWR('D', 7, struct pfioc_rule)`: read one rule. FreeBSD 13 and 14 `sys/net/pfvar.h` (beside
    /// `DIOCGETRULENV _IOWR('D', 7, struct pfioc_nv)`); FreeBSD 15, whose headers ziglang ships,
    /// removed it and kept only DIOCGETRULENV, so the C compiler cannot cross-check this one.
    DIOCGETRULE: pfioc_rule = iowr(b'D', 7);
    /// net/pfvar.h:2120 `_IOWR('D', 51, struct pfioc_pooladdr)`: start an address pool, get its ticket.
    DIOCBEGINADDRS: pfioc_pooladdr = iowr(b'D', 51);
    /// net/pfvar.h:2121 `_IOWR('D', 52, struct pfioc_pooladdr)`: add an address to the pool.
    DIOCADDADDR: pfioc_pooladdr = iowr(b'D', 52);
    /// net/pfvar.h `_IOWR('D', 53, struct pfioc_pooladdr)`: count a rule's pool addresses.
    DIOCGETADDRS: pfioc_pooladdr = iowr(b'D', 53);
    /// net/pfvar.h `_IOWR('D', 54, struct pfioc_pooladdr)`: read one pool address.
    DIOCGETADDR: pfioc_pooladdr = iowr(b'D', 54);
    /// net/pfvar.h:2125 `_IOWR('D', 58, struct pfioc_ruleset)`: count an anchor's child rulesets.
    DIOCGETRULESETS: pfioc_ruleset = iowr(b'D', 58);
    /// net/pfvar.h:2126 `_IOWR('D', 59, struct pfioc_ruleset)`: name of one child ruleset.
    DIOCGETRULESET: pfioc_ruleset = iowr(b'D', 59);
    /// net/pfvar.h:2146 `_IOWR('D', 81, struct pfioc_trans)`: begin a transaction (one ticket per ruleset).
    DIOCXBEGIN: pfioc_trans = iowr(b'D', 81);
    /// net/pfvar.h:2147 `_IOWR('D', 82, struct pfioc_trans)`: commit a transaction.
    DIOCXCOMMIT: pfioc_trans = iowr(b'D', 82);
    /// net/pfvar.h:2148 `_IOWR('D', 83, struct pfioc_trans)`: roll a transaction back.
    DIOCXROLLBACK: pfioc_trans = iowr(b'D', 83);

    // --- devfs rules: fs/devfs/devfs.h (the kernel side: devfs_rule.c, devfs_rules_ioctl) ------

    /// fs/devfs/devfs.h:105 `_IOWR('D', 0, struct devfs_rule)`: add a rule.
    DEVFSIO_RADD: devfs_rule = iowr(b'D', 0);
    /// fs/devfs/devfs.h:106 `_IOW('D', 1, devfs_rid)`: delete a rule.
    DEVFSIO_RDEL: devfs_rid = iow(b'D', 1);
    /// fs/devfs/devfs.h:107 `_IOW('D', 2, struct devfs_rule)`: apply an unstored rule once.
    DEVFSIO_RAPPLY: devfs_rule = iow(b'D', 2);
    /// fs/devfs/devfs.h:108 `_IOW('D', 3, devfs_rid)`: apply a stored rule once.
    DEVFSIO_RAPPLYID: devfs_rid = iow(b'D', 3);
    /// fs/devfs/devfs.h:109 `_IOWR('D', 4, struct devfs_rule)`: the next rule of a ruleset.
    DEVFSIO_RGETNEXT: devfs_rule = iowr(b'D', 4);
    /// fs/devfs/devfs.h:111 `_IOW('D', 10, devfs_rsnum)`: the mount uses a ruleset.
    DEVFSIO_SUSE: devfs_rsnum = iow(b'D', 10);
    /// fs/devfs/devfs.h:112 `_IOW('D', 11, devfs_rsnum)`: apply a whole ruleset now.
    DEVFSIO_SAPPLY: devfs_rsnum = iow(b'D', 11);
    /// fs/devfs/devfs.h:113 `_IOWR('D', 12, devfs_rsnum)`: the next ruleset number.
    DEVFSIO_SGETNEXT: devfs_rsnum = iowr(b'D', 12);

    // --- terminals: sys/ttycom.h ------------------------------------------------------------

    /// sys/ttycom.h:54 `_IOR('t', 15, int)`: the pts number of a pty master.
    TIOCGPTN: core::ffi::c_int = ior(b't', 15);
    /// sys/ttycom.h:79 `_IO('t', 97)`: make the tty the caller's controlling terminal.
    TIOCSCTTY: () = io_void(b't', 97);
    /// sys/ttycom.h:86 `_IOW('t', 103, struct winsize)`: set the window size.
    TIOCSWINSZ: winsize = iow(b't', 103);
    /// sys/ttycom.h:87 `_IOR('t', 104, struct winsize)`: get the window size.
    TIOCGWINSZ: winsize = ior(b't', 104);
}
