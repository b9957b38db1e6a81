//! ioctl request numbers: each checked against a literal (worked out from the header line that
//! src/ioctl.rs cites and the FACTS §1 struct sizes) and, where the headers define it, against the
//! value the C compiler computed from those headers (`ZELLE_IOCTL_*`, see wrapper.h).
#![cfg(target_pointer_width = "64")]

use core::mem::size_of;

use zelle_sys::ioctl::*;
// The root re-exports the header's own IOC_* (as bindgen read them); these names mean ioctl's.
use zelle_sys::ioctl::{IOCPARM_MASK, IOCPARM_SHIFT, IOC_IN, IOC_INOUT, IOC_OUT, IOC_VOID};
use zelle_sys::*;

macro_rules! request {
    ($name:ident = $literal:expr) => {{
        let number = $name.number();
        assert_eq!(number, $literal, "{} = {:#x}", stringify!($name), number);
        assert_eq!(number::$name, number, "number::{}", stringify!($name));
    }};
    ($name:ident = $literal:expr, compiler $c:expr) => {{
        request!($name = $literal);
        assert_eq!(
            $name.number(),
            $c,
            "{} differs from the C compiler's value",
            stringify!($name)
        );
    }};
}

#[test]
fn interface_requests() {
    request!(SIOCAIFADDR = 0x8044_692b, compiler ZELLE_IOCTL_SIOCAIFADDR);
    request!(SIOCDIFADDR = 0x8020_6919, compiler ZELLE_IOCTL_SIOCDIFADDR);
    request!(SIOCIFCREATE2 = 0xc020_697c, compiler ZELLE_IOCTL_SIOCIFCREATE2);
    request!(SIOCIFDESTROY = 0x8020_6979, compiler ZELLE_IOCTL_SIOCIFDESTROY);
    request!(SIOCSIFNAME = 0x8020_6928, compiler ZELLE_IOCTL_SIOCSIFNAME);
    request!(SIOCGIFFLAGS = 0xc020_6911, compiler ZELLE_IOCTL_SIOCGIFFLAGS);
    request!(SIOCSIFFLAGS = 0x8020_6910, compiler ZELLE_IOCTL_SIOCSIFFLAGS);
    request!(SIOCSIFMTU = 0x8020_6934, compiler ZELLE_IOCTL_SIOCSIFMTU);
    request!(SIOCGIFMTU = 0xc020_6933, compiler ZELLE_IOCTL_SIOCGIFMTU);
    request!(SIOCSDRVSPEC = 0x8028_697b, compiler ZELLE_IOCTL_SIOCSDRVSPEC);
    request!(SIOCGDRVSPEC = 0xc028_697b, compiler ZELLE_IOCTL_SIOCGDRVSPEC);
    request!(SIOCSIFVNET = 0xc020_695a, compiler ZELLE_IOCTL_SIOCSIFVNET);
    request!(SIOCSIFRVNET = 0xc020_695b, compiler ZELLE_IOCTL_SIOCSIFRVNET);
    request!(SIOCAIFADDR_IN6 = 0x8088_691b, compiler ZELLE_IOCTL_SIOCAIFADDR_IN6);
    request!(SIOCDIFADDR_IN6 = 0x8120_6919, compiler ZELLE_IOCTL_SIOCDIFADDR_IN6);
}

#[test]
fn pf_requests() {
    request!(DIOCXBEGIN = 0xc010_4451, compiler ZELLE_IOCTL_DIOCXBEGIN);
    request!(DIOCXCOMMIT = 0xc010_4452, compiler ZELLE_IOCTL_DIOCXCOMMIT);
    request!(DIOCXROLLBACK = 0xc010_4453, compiler ZELLE_IOCTL_DIOCXROLLBACK);
    request!(DIOCBEGINADDRS = 0xc470_4433, compiler ZELLE_IOCTL_DIOCBEGINADDRS);
    request!(DIOCADDADDR = 0xc470_4434, compiler ZELLE_IOCTL_DIOCADDADDR);
    request!(DIOCADDRULE = 0xcbe0_4404, compiler ZELLE_IOCTL_DIOCADDRULE);
    request!(DIOCGETRULES = 0xcbe0_4406, compiler ZELLE_IOCTL_DIOCGETRULES);
    request!(DIOCGETRULESETS = 0xc444_443a, compiler ZELLE_IOCTL_DIOCGETRULESETS);
    request!(DIOCGETRULESET = 0xc444_443b, compiler ZELLE_IOCTL_DIOCGETRULESET);
    // FreeBSD 14 sys/net/pfvar.h: _IOWR('D', 7, struct pfioc_rule); not in FreeBSD 15's headers.
    request!(DIOCGETRULE = 0xcbe0_4407);
    // net/pfvar.h: _IOWR('D', 53 and 54, struct pfioc_pooladdr) (not in wrapper.h's list).
    request!(DIOCGETADDRS = 0xc470_4435);
    request!(DIOCGETADDR = 0xc470_4436);
}

#[test]
fn devfs_requests() {
    // FACTS-kernel-runtime §2: the numbers, computed with _IOC from a 236-byte devfs_rule.
    request!(DEVFSIO_RADD = 0xc0ec_4400, compiler ZELLE_IOCTL_DEVFSIO_RADD);
    request!(DEVFSIO_RDEL = 0x8004_4401, compiler ZELLE_IOCTL_DEVFSIO_RDEL);
    request!(DEVFSIO_RAPPLY = 0x80ec_4402, compiler ZELLE_IOCTL_DEVFSIO_RAPPLY);
    request!(DEVFSIO_RAPPLYID = 0x8004_4403, compiler ZELLE_IOCTL_DEVFSIO_RAPPLYID);
    request!(DEVFSIO_RGETNEXT = 0xc0ec_4404, compiler ZELLE_IOCTL_DEVFSIO_RGETNEXT);
    request!(DEVFSIO_SUSE = 0x8002_440a, compiler ZELLE_IOCTL_DEVFSIO_SUSE);
    request!(DEVFSIO_SAPPLY = 0x8002_440b, compiler ZELLE_IOCTL_DEVFSIO_SAPPLY);
    request!(DEVFSIO_SGETNEXT = 0xc002_440c, compiler ZELLE_IOCTL_DEVFSIO_SGETNEXT);
}

/// The length in each number is the size of the struct the request is typed by.
fn carries<T>(request: Request<T>) -> usize {
    assert_eq!(iocparm_len(request.number()), size_of::<T>());
    size_of::<T>()
}

#[test]
fn each_number_holds_the_size_of_its_struct() {
    // SIOCAIFADDR is declared with struct ifaliasreq and read as struct in_aliasreq
    // (in_aifaddr_ioctl): the same 68 bytes (FACTS.md §1), so the same number.
    assert_eq!(carries(SIOCAIFADDR), 68);
    assert_eq!(size_of::<ifaliasreq>(), size_of::<in_aliasreq>());
    assert_eq!(carries(SIOCAIFADDR_IN6), size_of::<in6_aliasreq>());
    assert_eq!(carries(SIOCDIFADDR_IN6), size_of::<in6_ifreq>());
    assert_eq!(carries(SIOCIFCREATE2), size_of::<ifreq>());
    assert_eq!(carries(SIOCSDRVSPEC), size_of::<ifdrv>());
    assert_eq!(carries(DIOCADDRULE), size_of::<pfioc_rule>());
    assert_eq!(carries(DIOCXBEGIN), size_of::<pfioc_trans>());
    assert_eq!(carries(DIOCGETADDR), size_of::<pfioc_pooladdr>());
    assert_eq!(carries(DIOCGETRULESET), size_of::<pfioc_ruleset>());
    assert_eq!(carries(DEVFSIO_RADD), size_of::<devfs_rule>());
    assert_eq!(carries(DEVFSIO_RDEL), 4);
    assert_eq!(carries(DEVFSIO_SUSE), 2);
}

#[test]
fn ioccom_mirrors() {
    // The header's own constants, as bindgen read them.
    assert_eq!(IOC_VOID, RawRequest::from(zelle_sys::IOC_VOID));
    assert_eq!(IOC_OUT, RawRequest::from(zelle_sys::IOC_OUT));
    assert_eq!(IOC_IN, RawRequest::from(zelle_sys::IOC_IN));
    assert_eq!(IOC_INOUT, RawRequest::from(zelle_sys::IOC_INOUT));
    assert_eq!(IOCPARM_MASK, RawRequest::from(zelle_sys::IOCPARM_MASK));
    assert_eq!(IOCPARM_SHIFT, zelle_sys::IOCPARM_SHIFT);
    // _IO('D', 1) is DIOCSTART: 0x20004401.
    assert_eq!(io(b'D', 1).number(), 0x2000_4401);
    assert_eq!(ior::<u32>(b'D', 1).number(), 0x4004_4401);
    assert_eq!(iow::<u32>(b'D', 1).number(), 0x8004_4401);
    assert_eq!(iowr::<u32>(b'D', 1).number(), 0xc004_4401);
    // Like the C macro, lengths past IOCPARM_MASK are masked.
    assert_eq!(
        ioc(IOC_IN, b'x', 1, 0x2001),
        IOC_IN | (1 << 16) | (0x78 << 8) | 1
    );
}

#[test]
fn constants_the_kernel_rules_name() {
    // FACTS §1: if_bridge member commands, jail_set(2) encodings, procctl(2).
    assert_eq!(BRDGADD, 0);
    assert_eq!(BRDGDEL, 1);
    assert_eq!(JAIL_SYS_DISABLE, 0);
    assert_eq!(JAIL_SYS_NEW, 1);
    assert_eq!(JAIL_SYS_INHERIT, 2);
    assert_eq!(JAIL_CREATE, 1);
    assert_eq!(JAIL_ATTACH, 4);
    assert_eq!(PROC_REAP_ACQUIRE, 2);
    assert_eq!(P_PID, 0);
    assert_eq!(IFNAMSIZ, 16);
    assert_eq!(MAXHOSTNAMELEN, 256);
    assert_eq!(ND6_INFINITE_LIFETIME, 0xffff_ffff);
    // FreeBSD's errno numbers (sys/errno.h), not Linux's.
    assert_eq!(EPROTONOSUPPORT, 43);
    assert_eq!(ENOPROTOOPT, 42);
    assert_eq!(EEXIST, 17);
    assert_eq!(ENXIO, 6);
    assert_eq!(EBUSY, 16);
    assert_eq!(ENOENT, 2);
    assert_eq!(EINVAL, 22);
    assert_eq!(AF_INET, 2);
    assert_eq!(AF_INET6, 28);
    assert_eq!(AF_LINK, 18);
    assert_eq!(IFF_UP, 1);
    assert_eq!(RTM_ADD, 1);
    assert_eq!(PF_PASS, 0);
    assert_eq!(PF_RULESET_FILTER, 1);
    assert_eq!(PF_RULESET_NAT, 2);
    assert_eq!(PF_RULESET_RDR, 4);
    // FACTS-kernel-runtime §4: openat(2) beneath a root.
    assert_eq!(O_RESOLVE_BENEATH, 0x0080_0000);
    assert_eq!(AT_RESOLVE_BENEATH, 0x2000);
    assert_eq!(O_PATH, 0x0040_0000);
    assert_eq!(ENOTCAPABLE, 93);
    // FACTS-kernel-runtime §2: devfs rules.
    assert_eq!(DEVFS_MAGIC, 0xdb0a_087a);
    assert_eq!(DEVFS_MAXPTRNLEN, 200);
    assert_eq!((DRC_DSWFLAGS, DRC_PATHPTRN), (1, 2));
    assert_eq!(
        (DRA_BACTS, DRA_UID, DRA_GID, DRA_MODE, DRA_INCSET),
        (1, 2, 4, 8, 0x10)
    );
    assert_eq!((DRB_HIDE, DRB_UNHIDE), (1, 2));
    assert_eq!(ERPCMISMATCH, 73);
}

/// FACTS-kernel-runtime.md §5: not Linux's 0x5414/0x5413/0x540E.
#[test]
fn terminal_requests() {
    request!(TIOCSWINSZ = 0x8008_7467, compiler ZELLE_IOCTL_TIOCSWINSZ);
    request!(TIOCGWINSZ = 0x4008_7468, compiler ZELLE_IOCTL_TIOCGWINSZ);
    request!(TIOCSCTTY = 0x2000_7461, compiler ZELLE_IOCTL_TIOCSCTTY);
    request!(TIOCGPTN = 0x4004_740f, compiler ZELLE_IOCTL_TIOCGPTN);
}
