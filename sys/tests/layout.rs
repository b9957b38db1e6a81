//! Layout of every kernel struct zelle uses: size, alignment, key field offsets.
//!
//! Sizes are the amd64 ones of shared FACTS §1 (bindgen over FreeBSD 14 headers); offsets follow
//! from the C declarations and the amd64 SysV rules. They run on Linux against the checked-in
//! binding and on a native FreeBSD amd64 build against the machine's own. Pointer-sized fields
//! make them 64-bit facts, so they are compiled for 64-bit targets only.
#![cfg(target_pointer_width = "64")]

use core::mem::{align_of, offset_of, size_of};

use zelle_sys::*;

macro_rules! layout {
    ($t:ty, size $size:expr, align $align:expr $(, $field:ident $(. $sub:ident)* @ $off:expr)* $(,)?) => {{
        assert_eq!(size_of::<$t>(), $size, "size_of::<{}>()", stringify!($t));
        assert_eq!(align_of::<$t>(), $align, "align_of::<{}>()", stringify!($t));
        $(
            assert_eq!(
                offset_of!($t, $field $(. $sub)*),
                $off,
                "offset_of!({}, {})",
                stringify!($t),
                stringify!($field $(. $sub)*)
            );
        )*
    }};
}

#[test]
fn interface_requests() {
    layout!(ifreq, size 32, align 8, ifr_name @ 0, ifr_ifru @ 16);
    layout!(ifaliasreq, size 68, align 4,
        ifra_name @ 0, ifra_addr @ 16, ifra_broadaddr @ 32, ifra_mask @ 48, ifra_vhid @ 64);
    layout!(in_aliasreq, size 68, align 4,
        ifra_name @ 0, ifra_addr @ 16, ifra_broadaddr @ 32, ifra_mask @ 48, ifra_vhid @ 64);
    layout!(in6_aliasreq, size 136, align 8,
        ifra_name @ 0, ifra_addr @ 16, ifra_broadaddr @ 44, ifra_prefixmask @ 72,
        ifra_flags @ 100, ifra_lifetime @ 104, ifra_vhid @ 128);
    layout!(in6_addrlifetime, size 24, align 8,
        ia6t_expire @ 0, ia6t_preferred @ 8, ia6t_vltime @ 16, ia6t_pltime @ 20);
    layout!(in6_ifreq, size 288, align 8, ifr_name @ 0, ifr_ifru @ 16);
    layout!(ifdrv, size 40, align 8, ifd_name @ 0, ifd_cmd @ 16, ifd_len @ 24, ifd_data @ 32);
}

#[test]
fn bridge_requests() {
    layout!(ifbreq, size 80, align 4,
        ifbr_ifsname @ 0, ifbr_ifsflags @ 16, ifbr_stpflags @ 20, ifbr_path_cost @ 24,
        ifbr_portno @ 28, ifbr_state @ 32, ifbr_addrcnt @ 36, ifbr_pvid @ 48);
    layout!(ifbifconf, size 16, align 8, ifbic_len @ 0, ifbic_ifbicu @ 8);
}

/// sysctl kern.proc: `KINFO_PROC_SIZE` is 1088 on amd64 (sys/user.h); offsets as the C compiler
/// lays out ziglang's header (`zig cc -target x86_64-freebsd`, offsetof).
#[test]
fn process_records() {
    layout!(kinfo_proc, size 1088, align 8,
        ki_structsize @ 0, ki_pid @ 72, ki_ppid @ 76, ki_stat @ 388, ki_comm @ 447, ki_jid @ 592);
    assert_eq!(size_of::<kinfo_proc>(), KINFO_PROC_SIZE as usize);
    layout!(winsize, size 8, align 2, ws_row @ 0, ws_col @ 2, ws_xpixel @ 4, ws_ypixel @ 6);
}

#[test]
fn routing_socket() {
    layout!(rt_msghdr, size 152, align 8,
        rtm_msglen @ 0, rtm_version @ 2, rtm_type @ 3, rtm_index @ 4, rtm_flags @ 8,
        rtm_addrs @ 12, rtm_pid @ 16, rtm_seq @ 20, rtm_errno @ 24, rtm_fmask @ 28,
        rtm_inits @ 32, rtm_rmx @ 40);
    layout!(rt_metrics, size 112, align 8, rmx_locks @ 0, rmx_mtu @ 8, rmx_weight @ 80);
}

#[test]
fn socket_addresses() {
    layout!(sockaddr, size 16, align 1, sa_len @ 0, sa_family @ 1, sa_data @ 2);
    layout!(sockaddr_in, size 16, align 4,
        sin_len @ 0, sin_family @ 1, sin_port @ 2, sin_addr @ 4, sin_zero @ 8);
    layout!(sockaddr_in6, size 28, align 4,
        sin6_len @ 0, sin6_family @ 1, sin6_port @ 2, sin6_flowinfo @ 4, sin6_addr @ 8,
        sin6_scope_id @ 24);
    layout!(sockaddr_dl, size 54, align 2,
        sdl_len @ 0, sdl_family @ 1, sdl_index @ 2, sdl_type @ 4, sdl_nlen @ 5, sdl_alen @ 6,
        sdl_slen @ 7, sdl_data @ 8);
    layout!(in_addr, size 4, align 4);
    layout!(in6_addr, size 16, align 4);
    layout!(iovec, size 16, align 8, iov_base @ 0, iov_len @ 8);
}

#[test]
fn pf_ioctl_arguments() {
    layout!(pfioc_trans, size 16, align 8, size @ 0, esize @ 4, array @ 8);
    layout!(pfioc_trans_e, size 1032, align 4, rs_num @ 0, anchor @ 4, ticket @ 1028);
    layout!(pfioc_rule, size 3040, align 8,
        action @ 0, ticket @ 4, pool_ticket @ 8, nr @ 12, anchor @ 16, anchor_call @ 1040,
        rule @ 2064, rule.action @ 2064 + 904);
    layout!(pfioc_pooladdr, size 1136, align 8,
        action @ 0, ticket @ 4, nr @ 8, r_num @ 12, r_action @ 16, r_last @ 17, af @ 18,
        anchor @ 19, addr @ 1048);
    layout!(pfioc_ruleset, size 1092, align 4, nr @ 0, path @ 4, name @ 1028);
}

#[test]
fn pf_rule_and_parts() {
    layout!(pf_rule, size 976, align 8,
        src @ 0, dst @ 56, skip @ 112, label @ 176, ifname @ 240, qname @ 256,
        tagname @ 384, overload_tblname @ 512, rpool @ 560, timeout @ 704, max_states @ 784,
        states_cur @ 840, return_icmp @ 864, uid @ 876, gid @ 888, rule_flag @ 900,
        action @ 904, direction @ 905, log @ 906, quick @ 908, keep_state @ 912, af @ 913,
        proto @ 914, allow_opts @ 920, rt @ 921, anchor_relative @ 925, prio @ 928,
        divert @ 932, u_states_cur @ 952, u_src_nodes @ 968);
    layout!(pf_rule_addr, size 56, align 8, addr @ 0, port @ 48, neg @ 52, port_op @ 53);
    layout!(pf_addr_wrap, size 48, align 8, v @ 0, p @ 32, type_ @ 40, iflags @ 41);
    layout!(pf_addr, size 16, align 4);
    layout!(pf_pool, size 72, align 8,
        list @ 0, cur @ 16, key @ 24, counter @ 40, tblidx @ 56, proxy_port @ 60, opts @ 64);
    layout!(pf_pooladdr, size 88, align 8, addr @ 0, entries @ 48, ifname @ 64, kif @ 80);
}

#[test]
fn devfs_rule() {
    // FACTS-kernel-runtime §2: mode_t is a __uint16_t, so the struct ends at 236.
    layout!(devfs_rule, size 236, align 4,
        dr_magic @ 0, dr_id @ 4, dr_icond @ 8, dr_dswflags @ 12, dr_pathptrn @ 16,
        dr_iacts @ 216, dr_bacts @ 220, dr_uid @ 224, dr_gid @ 228, dr_mode @ 232,
        dr_incset @ 234);
}

/// Plain old data is what `zeroed`, `as_bytes` and `from_bytes` rely on (src/pod.rs): the
/// checked-in binding must hold nothing that some byte pattern would make invalid, and no
/// hand-written struct may creep into the crate.
#[test]
fn generated_binding_is_plain_old_data() {
    let generated = include_str!("../src/generated/x86_64_freebsd.rs");
    assert!(generated.contains("@generated"), "header comment");
    assert!(generated.starts_with("/* automatically generated by rust-bindgen"));
    for bad in [": bool", "pub enum ", "&'", "fn(", "Option<", "NonNull"] {
        assert!(
            !generated.contains(bad),
            "generated binding contains {bad:?}"
        );
    }
    for (name, src) in [
        ("lib.rs", include_str!("../src/lib.rs")),
        ("pod.rs", include_str!("../src/pod.rs")),
        ("ioctl.rs", include_str!("../src/ioctl.rs")),
    ] {
        assert!(
            !src.contains("repr(C"),
            "hand-written #[repr(C)] in src/{name}"
        );
    }
}
