//! pf(4) ioctls on /dev/pf through the door (`sys/netpfil/pf/pf_ioctl.c`, `pfioctl`) [13][14]:
//! the DIOCX* transactions over a `pfioc_trans` array, DIOCBEGINADDRS/DIOCADDADDR/DIOCADDRULE,
//! and the listings DIOCGETRULES/DIOCGETRULE, DIOCGETADDRS/DIOCGETADDR,
//! DIOCGETRULESETS/DIOCGETRULESET.
//!
//! The machine holds rules as the contract types them, so the door takes what they can say:
//! pass, block, nat, no nat, rdr and no rdr rules; addresses that are any, a network or an
//! interface's; ports `=` and `:`. Anything else is EOPNOTSUPP here (the kernel would take it).
//! A `pf_addr` does not say its family: a rule's `af` does, and without one an address whose
//! last 12 bytes and mask's are zero is taken as IPv4.

use super::{
    copyin, copyin_arg, copyin_bytes, copyout, copyout_bytes, field_str, set_field, SimSyscalls,
};
use crate::fault::Op;
use crate::machine::Machine;
use core::ffi::{c_int, c_void};
use core::mem::size_of;
use ipnet::IpNet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use zelle_core::kernel::pf::{
    AddressFamily, PfAction, PfAddr, PfDirection, PfEndpoint, PfRedirect, PfRule, PfRuleset,
    PfTicket, PfTransaction, PortRange, Protocol,
};
use zelle_core::kernel::Errno;
use zelle_freebsd::syscalls::consts::{
    IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP, PF_STATE_NORMAL,
};
use zelle_sys::ioctl::{self, number, RawRequest};
use zelle_sys::{
    pf_addr, pf_addr_wrap, pf_rule, pf_rule_addr, pfioc_rule, pfioc_trans, pfioc_trans_e, zeroed,
    AF_INET, AF_INET6, PF_ADDR_ADDRMASK, PF_ADDR_DYNIFTL, PF_BINAT, PF_DROP, PF_IN, PF_INOUT,
    PF_LOG, PF_NAT, PF_NOBINAT, PF_NONAT, PF_NORDR, PF_NOSCRUB, PF_OP_EQ, PF_OP_NONE, PF_OP_RRG,
    PF_OUT, PF_PASS, PF_RDR, PF_SCRUB,
};

/// `pf_ioctl_maxcount` (pf_ioctl.c): the most elements one transaction may carry.
const PF_IOCTL_MAXCOUNT: c_int = 65535;
/// `PF_RULESET_ETH`: the last ruleset number a transaction may name (ALTQ 5, TABLE 6, ETH 7).
const PF_RULESET_ETH: c_int = 7;

/// The ruleset a rule action belongs to (`pf_get_ruleset_number`): EINVAL for others.
fn ruleset_of(action: u8) -> Result<PfRuleset, Errno> {
    Ok(match u32::from(action) {
        PF_SCRUB | PF_NOSCRUB => PfRuleset::Scrub,
        PF_PASS | PF_DROP => PfRuleset::Filter,
        PF_NAT | PF_NONAT => PfRuleset::Nat,
        PF_BINAT | PF_NOBINAT => PfRuleset::Binat,
        PF_RDR | PF_NORDR => PfRuleset::Rdr,
        _ => return Err(Errno::EINVAL),
    })
}

fn ruleset_num(rs_num: c_int) -> Result<PfRuleset, Errno> {
    Ok(match rs_num {
        0 => PfRuleset::Scrub,
        1 => PfRuleset::Filter,
        2 => PfRuleset::Nat,
        3 => PfRuleset::Binat,
        4 => PfRuleset::Rdr,
        // ALTQ, tables and ethernet rules exist; the machine has none of them.
        5..=PF_RULESET_ETH => return Err(Errno::EOPNOTSUPP),
        _ => return Err(Errno::EINVAL),
    })
}

fn octets(a: &pf_addr) -> [u8; 16] {
    // SAFETY: every byte pattern is a valid [u8; 16].
    unsafe { a.__bindgen_anon_1.addr8 }
}

fn pf_addr_of(ip: IpAddr) -> pf_addr {
    let mut a: pf_addr = zeroed();
    let mut bytes = [0u8; 16];
    match ip {
        IpAddr::V4(v4) => bytes[..4].copy_from_slice(&v4.octets()),
        IpAddr::V6(v6) => bytes = v6.octets(),
    }
    a.__bindgen_anon_1.addr8 = bytes;
    a
}

/// A `pf_addr_wrap` as the machine's address (see the module docs for the family).
fn addr_of(w: &pf_addr_wrap, af: u8) -> Result<PfAddr, Errno> {
    match u32::from(w.type_) {
        PF_ADDR_ADDRMASK => {
            // SAFETY: every byte pattern is valid for the union's address struct.
            let (addr, mask) = unsafe { (octets(&w.v.a.addr), octets(&w.v.a.mask)) };
            if addr == [0; 16] && mask == [0; 16] {
                return Ok(PfAddr::Any);
            }
            let v4 = match u32::from(af) {
                AF_INET => true,
                AF_INET6 => false,
                _ => addr[4..].iter().chain(&mask[4..]).all(|&b| b == 0),
            };
            let (ip, bits, width) = if v4 {
                let a = Ipv4Addr::new(addr[0], addr[1], addr[2], addr[3]);
                let m = u32::from_be_bytes([mask[0], mask[1], mask[2], mask[3]]);
                (IpAddr::V4(a), u128::from(m) << 96, 32)
            } else {
                (
                    IpAddr::V6(Ipv6Addr::from(addr)),
                    u128::from_be_bytes(mask),
                    128,
                )
            };
            let len = bits.leading_ones();
            // A mask that is no prefix: not a network the machine can hold.
            if bits != u128::MAX.checked_shl(128 - len).unwrap_or(0) || len > width {
                return Err(Errno::EOPNOTSUPP);
            }
            IpNet::new(ip, len as u8)
                .map(PfAddr::Net)
                .map_err(|_| Errno::EINVAL)
        }
        // SAFETY: every byte pattern is a valid char array.
        PF_ADDR_DYNIFTL => Ok(PfAddr::Interface(field_str(unsafe { &w.v.ifname }))),
        _ => Err(Errno::EOPNOTSUPP),
    }
}

fn wrap_of(addr: &PfAddr) -> pf_addr_wrap {
    let mut w: pf_addr_wrap = zeroed();
    match addr {
        PfAddr::Any => w.type_ = PF_ADDR_ADDRMASK as u8,
        PfAddr::Net(net) => {
            w.type_ = PF_ADDR_ADDRMASK as u8;
            w.v.a.addr = pf_addr_of(net.addr());
            w.v.a.mask = pf_addr_of(net.netmask());
        }
        PfAddr::Interface(name) => {
            w.type_ = PF_ADDR_DYNIFTL as u8;
            let mut ifname = [0; 16];
            set_field(&mut ifname, name);
            w.v.ifname = ifname;
        }
    }
    w
}

fn endpoint_of(ra: &pf_rule_addr, af: u8) -> Result<PfEndpoint, Errno> {
    let [first, last] = ra.port.map(u16::from_be);
    Ok(PfEndpoint {
        addr: addr_of(&ra.addr, af)?,
        negate: ra.neg != 0,
        ports: match u32::from(ra.port_op) {
            PF_OP_NONE => None,
            PF_OP_EQ => Some(PortRange::single(first)),
            PF_OP_RRG => Some(PortRange { first, last }),
            _ => return Err(Errno::EOPNOTSUPP),
        },
    })
}

fn rule_addr_of(end: &PfEndpoint) -> pf_rule_addr {
    let mut ra: pf_rule_addr = zeroed();
    ra.addr = wrap_of(&end.addr);
    ra.neg = u8::from(end.negate);
    match end.ports {
        None => ra.port_op = PF_OP_NONE as u8,
        Some(p) if p.first == p.last => {
            ra.port_op = PF_OP_EQ as u8;
            ra.port = [p.first.to_be(), 0];
        }
        Some(p) => {
            ra.port_op = PF_OP_RRG as u8;
            ra.port = [p.first.to_be(), p.last.to_be()];
        }
    }
    ra
}

/// The rule DIOCADDRULE carries. Its redirect holds only the pool's ports (`rpool.proxy_port`):
/// the address comes from the pool buffer DIOCADDADDR filled.
fn rule_of(pr: &pfioc_rule) -> Result<PfRule, Errno> {
    let r = &pr.rule;
    let action = match u32::from(r.action) {
        PF_PASS => PfAction::Pass,
        PF_DROP => PfAction::Block,
        PF_NAT => PfAction::Nat,
        PF_NONAT => PfAction::NoNat,
        PF_RDR => PfAction::Rdr,
        PF_NORDR => PfAction::NoRdr,
        _ => return Err(Errno::EOPNOTSUPP),
    };
    let ports = match r.rpool.proxy_port {
        [0, 0] => None,
        [first, 0] => Some(PortRange::single(first)),
        [first, last] => Some(PortRange { first, last }),
    };
    let interface = field_str(&r.ifname);
    let call = field_str(&pr.anchor_call);
    Ok(PfRule {
        action,
        direction: match u32::from(r.direction) {
            PF_IN => PfDirection::In,
            PF_OUT => PfDirection::Out,
            _ => PfDirection::Any,
        },
        quick: r.quick != 0,
        log: r.log != 0,
        interface: (!interface.is_empty()).then_some(interface),
        af: match u32::from(r.af) {
            0 => None,
            AF_INET => Some(AddressFamily::Inet),
            AF_INET6 => Some(AddressFamily::Inet6),
            _ => return Err(Errno::EAFNOSUPPORT),
        },
        proto: match r.proto {
            0 => None,
            IPPROTO_TCP => Some(Protocol::Tcp),
            IPPROTO_UDP => Some(Protocol::Udp),
            IPPROTO_ICMP => Some(Protocol::Icmp),
            IPPROTO_ICMPV6 => Some(Protocol::Icmp6),
            _ => return Err(Errno::EOPNOTSUPP),
        },
        src: endpoint_of(&r.src, r.af)?,
        dst: endpoint_of(&r.dst, r.af)?,
        redirect: ports.map(|ports| PfRedirect {
            addr: PfAddr::Any,
            ports: Some(ports),
        }),
        keep_state: r.keep_state != 0,
        anchor: (!call.is_empty()).then_some(call),
    })
}

/// A stored rule as DIOCGETRULE copies it out, with its anchor call's name.
fn pf_rule_of(rule: &PfRule) -> pf_rule {
    let mut r: pf_rule = zeroed();
    r.action = (match rule.action {
        PfAction::Pass => PF_PASS,
        PfAction::Block => PF_DROP,
        PfAction::Nat => PF_NAT,
        PfAction::NoNat => PF_NONAT,
        PfAction::Rdr => PF_RDR,
        PfAction::NoRdr => PF_NORDR,
    }) as u8;
    r.direction = (match rule.direction {
        PfDirection::Any => PF_INOUT,
        PfDirection::In => PF_IN,
        PfDirection::Out => PF_OUT,
    }) as u8;
    r.quick = u8::from(rule.quick);
    r.log = if rule.log { PF_LOG as u8 } else { 0 };
    if let Some(ifname) = &rule.interface {
        set_field(&mut r.ifname, ifname);
    }
    r.af = match rule.af {
        None => 0,
        Some(AddressFamily::Inet) => AF_INET as u8,
        Some(AddressFamily::Inet6) => AF_INET6 as u8,
    };
    r.proto = match rule.proto {
        None => 0,
        Some(Protocol::Tcp) => IPPROTO_TCP,
        Some(Protocol::Udp) => IPPROTO_UDP,
        Some(Protocol::Icmp) => IPPROTO_ICMP,
        Some(Protocol::Icmp6) => IPPROTO_ICMPV6,
    };
    r.src = rule_addr_of(&rule.src);
    r.dst = rule_addr_of(&rule.dst);
    r.keep_state = if rule.keep_state { PF_STATE_NORMAL } else { 0 };
    if let Some(ports) = rule.redirect.as_ref().and_then(|r| r.ports) {
        r.rpool.proxy_port = [ports.first, ports.last];
    }
    r
}

/// The active ticket of a ruleset of the anchor at `path` (EINVAL when there is none).
fn active_ticket(m: &Machine, path: &str, ruleset: PfRuleset) -> Result<u32, Errno> {
    let anchor =
        m.pf.anchors
            .get(path.trim_start_matches('/'))
            .ok_or(Errno::EINVAL)?;
    Ok(anchor.rules[ruleset as usize].active_ticket)
}

/// An anchor's elements of a transaction: (index in the array, ruleset).
type AnchorGroup = (String, Vec<(usize, PfRuleset)>);

/// A transaction's elements, grouped by anchor in order of first appearance.
fn by_anchor(elements: &[pfioc_trans_e]) -> Result<Vec<AnchorGroup>, Errno> {
    let mut groups: Vec<AnchorGroup> = Vec::new();
    for (i, e) in elements.iter().enumerate() {
        let ruleset = ruleset_num(e.rs_num)?;
        let anchor = field_str(&e.anchor);
        match groups.iter_mut().find(|(a, _)| *a == anchor) {
            Some((_, list)) => list.push((i, ruleset)),
            None => groups.push((anchor, vec![(i, ruleset)])),
        }
    }
    Ok(groups)
}

/// DIOCXBEGIN, DIOCXCOMMIT, DIOCXROLLBACK: `esize` must be the element's size (ENODEV), `size`
/// within 0..=pf_ioctl_maxcount (EINVAL); the array is copied in, then each anchor's elements
/// make one transaction of the machine (across anchors a commit is not all or nothing here).
///
/// # Safety
/// `arg` points at a pfioc_trans whose array holds `size` elements.
unsafe fn transaction(
    door: &SimSyscalls,
    request: RawRequest,
    arg: *mut c_void,
) -> Result<(), Errno> {
    // SAFETY: the caller's promise.
    let trans: pfioc_trans = unsafe { copyin(arg)? };
    if trans.esize != size_of::<pfioc_trans_e>() as c_int {
        return Err(Errno::ENODEV);
    }
    if !(0..=PF_IOCTL_MAXCOUNT).contains(&trans.size) {
        return Err(Errno::EINVAL);
    }
    let len = trans.size as usize * size_of::<pfioc_trans_e>();
    // SAFETY: the caller's promise: `size` elements at `array`.
    let bytes = unsafe { copyin_bytes(trans.array.cast(), len)? };
    let mut elements: Vec<pfioc_trans_e> = bytes
        .chunks_exact(size_of::<pfioc_trans_e>())
        .filter_map(zelle_sys::from_bytes)
        .collect();
    let groups = by_anchor(&elements)?;
    if request == number::DIOCXBEGIN {
        // No element at all: nothing begins (the machine's begin with no ruleset).
        if groups.is_empty() {
            door.call(Op::PfBegin, &("", &[] as &[PfRuleset]), |m| {
                m.pf_begin("", &[])
            })?;
        }
        for (anchor, list) in &groups {
            let rulesets: Vec<PfRuleset> = list.iter().map(|&(_, r)| r).collect();
            let tx = door.call(Op::PfBegin, &(anchor.as_str(), rulesets.as_slice()), |m| {
                m.pf_begin(anchor, &rulesets)
            })?;
            for (&(i, _), (_, ticket)) in list.iter().zip(&tx.tickets) {
                elements[i].ticket = ticket.0;
            }
        }
        let out: Vec<u8> = elements
            .iter()
            .flat_map(|e| zelle_sys::as_bytes(e).to_vec())
            .collect();
        // SAFETY: the caller's promise.
        return unsafe { copyout_bytes(&out, trans.array.cast()) };
    }
    for (anchor, list) in groups {
        let tx = PfTransaction {
            anchor,
            tickets: list
                .iter()
                .map(|&(i, r)| (r, PfTicket(elements[i].ticket)))
                .collect(),
        };
        if request == number::DIOCXCOMMIT {
            door.call(Op::PfCommit, &(&tx,), |m| m.pf_commit(&tx))?;
        } else {
            door.call(Op::PfRollback, &(&tx,), |m| m.pf_rollback(&tx))?;
        }
    }
    Ok(())
}

/// An ioctl on /dev/pf.
///
/// # Safety
/// `arg` points at the struct `request` names, its inner pointers at what they say.
pub(super) unsafe fn ioctl(
    door: &SimSyscalls,
    writable: bool,
    request: RawRequest,
    arg: *mut c_void,
) -> Result<(), Errno> {
    let modifies = matches!(
        request,
        number::DIOCXBEGIN
            | number::DIOCXCOMMIT
            | number::DIOCXROLLBACK
            | number::DIOCBEGINADDRS
            | number::DIOCADDADDR
            | number::DIOCADDRULE
    );
    // pfioctl: a modifying request on a descriptor opened without write access: EACCES.
    if modifies && !writable {
        return Err(Errno::EACCES);
    }
    // SAFETY (every copyin/copyout below): the caller's promise about `arg`.
    match request {
        number::DIOCXBEGIN | number::DIOCXCOMMIT | number::DIOCXROLLBACK => unsafe {
            transaction(door, request, arg)
        },
        number::DIOCBEGINADDRS => {
            let mut pp = Box::new(unsafe { copyin_arg(ioctl::DIOCBEGINADDRS, arg)? });
            pp.ticket = door.peek(|m| m.pf_begin_addrs().map_err(super::errno_of))?;
            unsafe { copyout(&*pp, arg) }
        }
        number::DIOCADDADDR => {
            let pp = Box::new(unsafe { copyin_arg(ioctl::DIOCADDADDR, arg)? });
            let addr = addr_of(&pp.addr.addr, pp.af)?;
            door.peek(|m| m.pf_add_addr(pp.ticket, &addr).map_err(super::errno_of))
        }
        number::DIOCADDRULE => {
            let pr = Box::new(unsafe { copyin_arg(ioctl::DIOCADDRULE, arg)? });
            let anchor = field_str(&pr.anchor);
            let rule = rule_of(&pr)?;
            let args = (anchor.as_str(), pr.ticket, pr.pool_ticket, rule.to_string());
            door.call(Op::PfAddRule, &args, |m| {
                m.pf_add_rule_ioctl(&anchor, pr.ticket, pr.pool_ticket, &rule)
            })
        }
        number::DIOCGETRULES => {
            let mut pr = Box::new(unsafe { copyin_arg(ioctl::DIOCGETRULES, arg)? });
            let anchor = field_str(&pr.anchor);
            let ruleset = ruleset_of(pr.rule.action)?;
            let rules = door.call(Op::PfRules, &(anchor.as_str(), ruleset), |m| {
                m.pf_rules(&anchor, ruleset)
            })?;
            pr.nr = rules.len() as u32;
            pr.ticket = door.peek(|m| active_ticket(m, &anchor, ruleset))?;
            unsafe { copyout(&*pr, arg) }
        }
        number::DIOCGETRULE => {
            let mut pr = Box::new(unsafe { copyin_arg(ioctl::DIOCGETRULE, arg)? });
            let anchor = field_str(&pr.anchor);
            let ruleset = ruleset_of(pr.rule.action)?;
            let (ticket, nr) = (pr.ticket, pr.nr as usize);
            let rule = door.peek(|m| {
                let rules = m.pf_rules(&anchor, ruleset).map_err(super::errno_of)?;
                // A stale ticket, or no rule at that number: EBUSY.
                if active_ticket(m, &anchor, ruleset)? != ticket {
                    return Err(Errno::EBUSY);
                }
                rules.into_iter().nth(nr).ok_or(Errno::EBUSY)
            })?;
            pr.rule = pf_rule_of(&rule);
            set_field(
                &mut pr.anchor_call,
                rule.anchor.as_deref().unwrap_or_default(),
            );
            unsafe { copyout(&*pr, arg) }
        }
        number::DIOCGETADDRS | number::DIOCGETADDR => {
            let mut pp = Box::new(unsafe { copyin_arg(ioctl::DIOCGETADDRS, arg)? });
            let anchor = field_str(&pp.anchor);
            let ruleset = ruleset_of(pp.r_action)?;
            let (r_num, nr) = (pp.r_num as usize, pp.nr);
            let rule = door.peek(|m| {
                let rules = m.pf_rules(&anchor, ruleset).map_err(super::errno_of)?;
                rules.into_iter().nth(r_num).ok_or(Errno::EBUSY)
            })?;
            let pool: Vec<PfAddr> = rule.redirect.into_iter().map(|r| r.addr).collect();
            if request == number::DIOCGETADDRS {
                pp.nr = pool.len() as u32;
            } else {
                let addr = pool.get(nr as usize).ok_or(Errno::EBUSY)?;
                pp.addr.addr = wrap_of(addr);
            }
            unsafe { copyout(&*pp, arg) }
        }
        number::DIOCGETRULESETS | number::DIOCGETRULESET => {
            let mut rs = Box::new(unsafe { copyin_arg(ioctl::DIOCGETRULESETS, arg)? });
            let anchor = field_str(&rs.path);
            if request == number::DIOCGETRULESETS {
                let names = door.call(Op::PfAnchors, &(anchor.as_str(),), |m| {
                    m.pf_anchors(&anchor)
                })?;
                rs.nr = names.len() as u32;
            } else {
                let nr = rs.nr as usize;
                let name = door.peek(|m| {
                    let names = m.pf_anchors(&anchor).map_err(super::errno_of)?;
                    names.into_iter().nth(nr).ok_or(Errno::EBUSY)
                })?;
                set_field(&mut rs.name, &name);
            }
            unsafe { copyout(&*rs, arg) }
        }
        _ => Err(Errno::ENOTTY),
    }
}
