//! `zeroed`, `as_bytes`, `from_bytes`: the one way to make a kernel struct and its bytes.

use core::mem::size_of;

use zelle_sys::*;

fn all_zero<T: Zeroed>() {
    let value: T = zeroed();
    let bytes = as_bytes(&value);
    assert_eq!(bytes.len(), size_of::<T>());
    assert!(
        bytes.iter().all(|&b| b == 0),
        "zeroed::<{}>() has a non-zero byte",
        core::any::type_name::<T>()
    );
}

fn round_trip<T: Zeroed>() {
    // Any bytes are a valid T, and they come back unchanged, even from an unaligned buffer.
    let n = size_of::<T>();
    let buffer: Vec<u8> = (0..=n).map(|i| (i * 7 + 3) as u8).collect();
    let bytes = &buffer[1..];
    let value: T = from_bytes(bytes).expect("exact length");
    assert_eq!(as_bytes(&value), bytes, "{}", core::any::type_name::<T>());
    assert!(from_bytes::<T>(&buffer).is_none(), "one byte too many");
    assert!(from_bytes::<T>(&bytes[1..]).is_none(), "one byte too few");
}

macro_rules! every_kernel_struct {
    ($check:ident) => {
        $check::<sockaddr>();
        $check::<sockaddr_in>();
        $check::<sockaddr_in6>();
        $check::<sockaddr_dl>();
        $check::<in_addr>();
        $check::<in6_addr>();
        $check::<ifreq>();
        $check::<ifaliasreq>();
        $check::<ifdrv>();
        $check::<in_aliasreq>();
        $check::<in6_aliasreq>();
        $check::<in6_addrlifetime>();
        $check::<in6_ifreq>();
        $check::<ifbreq>();
        $check::<ifbifconf>();
        $check::<rt_msghdr>();
        $check::<rt_metrics>();
        $check::<pf_addr>();
        $check::<pf_addr_wrap>();
        $check::<pf_rule_addr>();
        $check::<pf_pool>();
        $check::<pf_pooladdr>();
        $check::<pf_rule>();
        $check::<pfioc_rule>();
        $check::<pfioc_pooladdr>();
        $check::<pfioc_ruleset>();
        $check::<pfioc_trans>();
        $check::<pfioc_trans_e>();
        $check::<iovec>();
    };
}

#[test]
fn zeroed_structs_are_all_zero_bytes() {
    every_kernel_struct!(all_zero);
}

#[test]
fn bytes_round_trip() {
    every_kernel_struct!(round_trip);
}

/// What the simulator does: decode the bytes the FreeBSD backend would pass to SIOCAIFADDR.
#[cfg(target_pointer_width = "64")]
#[test]
fn an_ifaliasreq_as_the_kernel_sees_it() {
    let mut req: ifaliasreq = zeroed();
    for (dst, src) in req.ifra_name.iter_mut().zip(b"epair0a") {
        *dst = *src as core::ffi::c_char;
    }
    let mut addr: sockaddr_in = zeroed();
    addr.sin_len = size_of::<sockaddr_in>() as u8;
    addr.sin_family = AF_INET as u8;
    addr.sin_addr.s_addr = u32::from_ne_bytes([10, 0, 0, 1]);
    // struct ifaliasreq carries generic sockaddrs; an AF_INET address fills one exactly.
    req.ifra_addr = from_bytes(as_bytes(&addr)).expect("sockaddr_in and sockaddr are 16 bytes");
    req.ifra_vhid = -1;

    let bytes = as_bytes(&req);
    assert_eq!(bytes.len(), 68);
    assert_eq!(&bytes[..8], b"epair0a\0");
    assert_eq!(&bytes[16..24], &[16, 2, 0, 0, 10, 0, 0, 1]);
    assert_eq!(&bytes[64..68], &(-1i32).to_ne_bytes());

    let seen: ifaliasreq = from_bytes(bytes).expect("68 bytes");
    let seen_addr: sockaddr_in = from_bytes(as_bytes(&seen.ifra_addr)).expect("16 bytes");
    assert_eq!(seen_addr.sin_addr.s_addr.to_ne_bytes(), [10, 0, 0, 1]);
    assert_eq!(seen.ifra_vhid, -1);
}

/// Union fields are written in place, never built as literals (see src/pod.rs).
#[test]
fn union_fields_written_in_place() {
    let mut req: ifreq = zeroed();
    req.ifr_ifru.ifru_mtu = 9000;
    let bytes = as_bytes(&req);
    assert_eq!(&bytes[16..20], &9000i32.to_ne_bytes());
    assert!(bytes[20..].iter().all(|&b| b == 0));
}
