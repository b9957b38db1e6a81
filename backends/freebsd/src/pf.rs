//! pf(4) through /dev/pf, anchors and rules only (`sys/netpfil/pf/pf_ioctl.c`): DIOCXBEGIN,
//! DIOCBEGINADDRS + DIOCADDADDR + DIOCADDRULE per rule, DIOCXCOMMIT, DIOCXROLLBACK, and for
//! reading DIOCGETRULES/DIOCGETRULE with DIOCGETADDRS/DIOCGETADDR for a rule's redirect, and
//! DIOCGETRULESETS/DIOCGETRULESET. The `struct pf_rule` is FreeBSD 13/14's (FreeBSD 15 moved
//! these requests to netlink).
//!
//! Like the kernel, this backend takes a transaction on any anchor; that zelle never touches
//! the operator's main ruleset is core's rule (`zelle_core::network::rules::replace_anchor_rules`).

use crate::syscalls::consts::{
    IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP, O_RDWR, PF_NAT_PROXY_PORT_HIGH,
    PF_NAT_PROXY_PORT_LOW, PF_STATE_NORMAL,
};
use crate::{fail, get_cstr, put_cstr, Descriptor, FreeBsd, Syscalls};
use core::ffi::{c_char, c_int};
use core::mem::size_of;
use ipnet::IpNet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use zelle_core::kernel::pf::{
    AddressFamily, PacketFilter, PfAction, PfAddr, PfDirection, PfEndpoint, PfRedirect, PfRule,
    PfRuleset, PfTicket, PfTransaction, PortRange, Protocol,
};
use zelle_core::kernel::Op;
use zelle_core::kernel::{Errno, KResult};
use zelle_sys::ioctl::{self, Request};
use zelle_sys::{
    pf_addr, pf_addr_wrap, pf_rule, pf_rule_addr, pfioc_pooladdr, pfioc_rule, pfioc_ruleset,
    pfioc_trans, pfioc_trans_e, zeroed, AF_INET, AF_INET6, PF_ADDR_ADDRMASK, PF_ADDR_DYNIFTL,
    PF_BINAT, PF_DROP, PF_IN, PF_INOUT, PF_LOG, PF_NAT, PF_NONAT, PF_NORDR, PF_OP_EQ, PF_OP_NONE,
    PF_OP_RRG, PF_OUT, PF_PASS, PF_RDR, PF_SCRUB,
};

const DEV_PF: &core::ffi::CStr = c"/dev/pf";

fn dev_pf<S: Syscalls>(sys: &S) -> Result<Descriptor<'_, S>, Errno> {
    Descriptor::open(sys, DEV_PF, O_RDWR)
}

/// An anchor path into a `MAXPATHLEN` field: a longer one cannot be named (EINVAL, as the
/// kernel refuses a path that does not fit).
fn put_anchor(field: &mut [c_char; 1024], anchor: &str) -> Result<(), Errno> {
    put_cstr(field, anchor).map_err(|_| Errno::EINVAL)
}

/// The `PF_*` action whose ruleset a listing asks for (`pf_get_ruleset_number`).
fn ruleset_action(ruleset: PfRuleset) -> u8 {
    (match ruleset {
        PfRuleset::Scrub => PF_SCRUB,
        PfRuleset::Filter => PF_PASS,
        PfRuleset::Nat => PF_NAT,
        PfRuleset::Binat => PF_BINAT,
        PfRuleset::Rdr => PF_RDR,
    }) as u8
}

fn action_code(action: PfAction) -> u8 {
    (match action {
        PfAction::Pass => PF_PASS,
        PfAction::Block => PF_DROP,
        PfAction::Nat => PF_NAT,
        PfAction::NoNat => PF_NONAT,
        PfAction::Rdr => PF_RDR,
        PfAction::NoRdr => PF_NORDR,
    }) as u8
}

fn action_of(code: u8) -> Option<PfAction> {
    Some(match u32::from(code) {
        PF_PASS => PfAction::Pass,
        PF_DROP => PfAction::Block,
        PF_NAT => PfAction::Nat,
        PF_NONAT => PfAction::NoNat,
        PF_RDR => PfAction::Rdr,
        PF_NORDR => PfAction::NoRdr,
        _ => return None,
    })
}

fn af_code(af: Option<AddressFamily>) -> u8 {
    match af {
        Some(AddressFamily::Inet) => AF_INET as u8,
        Some(AddressFamily::Inet6) => AF_INET6 as u8,
        None => 0,
    }
}

fn pf_addr_of(ip: IpAddr) -> pf_addr {
    let mut a: pf_addr = zeroed();
    let mut octets = [0u8; 16];
    match ip {
        IpAddr::V4(v4) => octets[..4].copy_from_slice(&v4.octets()),
        IpAddr::V6(v6) => octets = v6.octets(),
    }
    a.__bindgen_anon_1.addr8 = octets;
    a
}

fn octets_of(a: &pf_addr) -> [u8; 16] {
    // SAFETY: every byte pattern is a valid [u8; 16].
    unsafe { a.__bindgen_anon_1.addr8 }
}

/// A rule address as `struct pf_addr_wrap`: `any` is an all-zero address and mask; a network
/// its address and mask; `(ifname)` a dynamic interface address.
fn addr_wrap(addr: &PfAddr) -> Result<pf_addr_wrap, Errno> {
    let mut w: pf_addr_wrap = zeroed();
    match addr {
        PfAddr::Any => w.type_ = PF_ADDR_ADDRMASK as u8,
        PfAddr::Net(net) => {
            w.type_ = PF_ADDR_ADDRMASK as u8;
            // Written in place into the union (never a union literal): every byte stays set.
            w.v.a.addr = pf_addr_of(net.addr());
            w.v.a.mask = pf_addr_of(net.netmask());
        }
        PfAddr::Interface(name) => {
            w.type_ = PF_ADDR_DYNIFTL as u8;
            let mut ifname = [0 as c_char; 16];
            put_cstr(&mut ifname, name)?;
            w.v.ifname = ifname;
        }
    }
    Ok(w)
}

/// The family an address and mask of a rule belong to. The kernel's `pf_addr` does not say:
/// the rule's `af` does, and without one an address whose last 12 bytes (and its mask's) are
/// zero is read as IPv4 (so an IPv6 prefix of /32 or shorter in a rule without a family reads
/// back as IPv4: give such rules their family).
fn ip_of_pf(addr: [u8; 16], mask: [u8; 16], af: u8) -> (IpAddr, IpAddr) {
    let v4 = match u32::from(af) {
        AF_INET => true,
        AF_INET6 => false,
        _ => addr[4..].iter().chain(&mask[4..]).all(|&b| b == 0),
    };
    if v4 {
        let four = |o: [u8; 16]| IpAddr::V4(Ipv4Addr::new(o[0], o[1], o[2], o[3]));
        (four(addr), four(mask))
    } else {
        (
            IpAddr::V6(Ipv6Addr::from(addr)),
            IpAddr::V6(Ipv6Addr::from(mask)),
        )
    }
}

fn addr_of_wrap(w: &pf_addr_wrap, af: u8) -> Result<PfAddr, Errno> {
    match u32::from(w.type_) {
        PF_ADDR_ADDRMASK => {
            // SAFETY: every byte pattern is valid for the address struct of the union.
            let (addr, mask) = unsafe { (octets_of(&w.v.a.addr), octets_of(&w.v.a.mask)) };
            if addr == [0; 16] && mask == [0; 16] {
                return Ok(PfAddr::Any);
            }
            let (addr, mask) = ip_of_pf(addr, mask, af);
            let prefix = match mask {
                IpAddr::V4(m) => u32::from(m).leading_ones(),
                IpAddr::V6(m) => u128::from(m).leading_ones(),
            };
            IpNet::new(addr, prefix as u8)
                .map(PfAddr::Net)
                .map_err(|_| Errno::EINVAL)
        }
        // SAFETY: every byte pattern is a valid char array.
        PF_ADDR_DYNIFTL => Ok(PfAddr::Interface(get_cstr(unsafe { &w.v.ifname }))),
        // Tables, no-route and the like: no address the contract can express.
        _ => Err(Errno::EOPNOTSUPP),
    }
}

/// A port range as `struct pf_rule_addr` has it: network order, `=` for one port, `:` (both
/// ends included, `PF_OP_RRG`) for a range.
fn put_ports(ra: &mut pf_rule_addr, ports: Option<PortRange>) {
    match ports {
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
}

fn ports_of(ra: &pf_rule_addr) -> Option<PortRange> {
    let [first, last] = ra.port.map(u16::from_be);
    match u32::from(ra.port_op) {
        PF_OP_EQ => Some(PortRange::single(first)),
        PF_OP_RRG => Some(PortRange { first, last }),
        _ => None,
    }
}

fn rule_addr(end: &PfEndpoint) -> Result<pf_rule_addr, Errno> {
    let mut ra: pf_rule_addr = zeroed();
    ra.addr = addr_wrap(&end.addr)?;
    ra.neg = u8::from(end.negate);
    put_ports(&mut ra, end.ports);
    Ok(ra)
}

fn endpoint_of(ra: &pf_rule_addr, af: u8) -> Result<PfEndpoint, Errno> {
    Ok(PfEndpoint {
        addr: addr_of_wrap(&ra.addr, af)?,
        negate: ra.neg != 0,
        ports: ports_of(ra),
    })
}

fn proto_code(proto: Option<Protocol>) -> u8 {
    match proto {
        None => 0,
        Some(Protocol::Tcp) => IPPROTO_TCP,
        Some(Protocol::Udp) => IPPROTO_UDP,
        Some(Protocol::Icmp) => IPPROTO_ICMP,
        Some(Protocol::Icmp6) => IPPROTO_ICMPV6,
    }
}

/// The redirect's ports in the rule's pool (`rpool.proxy_port`, host order). A nat rule
/// without ports gets pfctl's default source ports, 1024:65535 (a rule with 0:0 would keep
/// the source port, pfctl's `static-port`); reading back, that default is "no ports" again.
fn proxy_ports(rule: &PfRule) -> [u16; 2] {
    match (rule.action, rule.redirect.as_ref().and_then(|r| r.ports)) {
        (_, Some(p)) => [p.first, p.last],
        (PfAction::Nat, None) => [PF_NAT_PROXY_PORT_LOW, PF_NAT_PROXY_PORT_HIGH],
        _ => [0, 0],
    }
}

fn proxy_ports_of(action: PfAction, [first, last]: [u16; 2]) -> Option<PortRange> {
    match (action, first, last) {
        (_, 0, 0) => None,
        (PfAction::Nat, PF_NAT_PROXY_PORT_LOW, PF_NAT_PROXY_PORT_HIGH) => None,
        (_, first, 0) => Some(PortRange::single(first)),
        (_, first, last) => Some(PortRange { first, last }),
    }
}

/// The `struct pf_rule` of a rule: every field the contract has, the rest zero.
pub(crate) fn pf_rule_of(rule: &PfRule) -> Result<pf_rule, Errno> {
    let mut r: pf_rule = zeroed();
    r.action = action_code(rule.action);
    r.direction = (match rule.direction {
        PfDirection::Any => PF_INOUT,
        PfDirection::In => PF_IN,
        PfDirection::Out => PF_OUT,
    }) as u8;
    r.quick = u8::from(rule.quick);
    r.log = if rule.log { PF_LOG as u8 } else { 0 };
    if let Some(ifname) = &rule.interface {
        put_cstr(&mut r.ifname, ifname)?;
    }
    r.af = af_code(rule.af);
    r.proto = proto_code(rule.proto);
    r.src = rule_addr(&rule.src)?;
    r.dst = rule_addr(&rule.dst)?;
    r.keep_state = if rule.keep_state { PF_STATE_NORMAL } else { 0 };
    r.rpool.proxy_port = proxy_ports(rule);
    Ok(r)
}

/// A rule back from DIOCGETRULE, with its anchor call and the pool's first address.
fn rule_of(pr: &pfioc_rule, pool: Option<&pf_addr_wrap>) -> Result<PfRule, Errno> {
    let r = &pr.rule;
    let action = action_of(r.action).ok_or(Errno::EOPNOTSUPP)?;
    let interface = get_cstr(&r.ifname);
    let call = get_cstr(&pr.anchor_call);
    let redirect = match pool {
        Some(addr) => Some(PfRedirect {
            addr: addr_of_wrap(addr, r.af)?,
            ports: proxy_ports_of(action, r.rpool.proxy_port),
        }),
        None => None,
    };
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
            AF_INET => Some(AddressFamily::Inet),
            AF_INET6 => Some(AddressFamily::Inet6),
            _ => None,
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
        redirect,
        keep_state: r.keep_state != 0,
        anchor: (!call.is_empty()).then_some(call),
    })
}

/// The `pfioc_trans_e` array of a transaction: one element per ruleset of the anchor.
fn trans_elements(
    anchor: &str,
    rulesets: &[(PfRuleset, u32)],
) -> Result<Vec<pfioc_trans_e>, Errno> {
    rulesets
        .iter()
        .map(|&(ruleset, ticket)| {
            let mut e: pfioc_trans_e = zeroed();
            e.rs_num = ruleset as c_int;
            put_anchor(&mut e.anchor, anchor)?;
            e.ticket = ticket;
            Ok(e)
        })
        .collect()
}

/// DIOCXBEGIN, DIOCXCOMMIT or DIOCXROLLBACK over `elements`; they hold the tickets after.
fn transaction<S: Syscalls>(
    sys: &S,
    request: Request<pfioc_trans>,
    elements: &mut [pfioc_trans_e],
) -> Result<(), Errno> {
    let dev = dev_pf(sys)?;
    let mut trans: pfioc_trans = zeroed();
    trans.size = c_int::try_from(elements.len()).map_err(|_| Errno::EINVAL)?;
    trans.esize = size_of::<pfioc_trans_e>() as c_int;
    trans.array = elements.as_mut_ptr();
    // SAFETY: pfioc_trans.array points at `size` elements of `esize` bytes, live for the call.
    unsafe { dev.ioctl(request, &mut trans)? };
    Ok(())
}

fn pool_request(anchor: &str) -> Result<Box<pfioc_pooladdr>, Errno> {
    let mut pp: Box<pfioc_pooladdr> = Box::new(zeroed());
    put_anchor(&mut pp.anchor, anchor)?;
    Ok(pp)
}

/// How many times a rule load is tried again after EBUSY, which is also what a stale
/// transaction ticket gives (then every try fails alike, and nothing was added).
const POOL_RETRIES: usize = 3;

fn add_rule<S: Syscalls>(sys: &S, anchor: &str, ticket: u32, rule: &PfRule) -> Result<(), Errno> {
    let dev = dev_pf(sys)?;
    let mut pr: Box<pfioc_rule> = Box::new(zeroed());
    put_anchor(&mut pr.anchor, anchor)?;
    if let Some(call) = &rule.anchor {
        put_anchor(&mut pr.anchor_call, call)?;
    }
    pr.rule = pf_rule_of(rule)?;
    pr.ticket = ticket;
    // The redirect address goes into the kernel's pool buffer first.
    let mut pp = pool_request(anchor)?;
    // SAFETY: pfioc_pooladdr holds no pointer the kernel reads.
    unsafe { dev.ioctl(ioctl::DIOCBEGINADDRS, &mut *pp)? };
    pr.pool_ticket = pp.ticket;
    if let Some(redirect) = &rule.redirect {
        pp.af = match &redirect.addr {
            PfAddr::Net(IpNet::V4(_)) => AF_INET as u8,
            PfAddr::Net(IpNet::V6(_)) => AF_INET6 as u8,
            _ => af_code(rule.af),
        };
        pp.addr.addr = addr_wrap(&redirect.addr)?;
        // SAFETY: as above.
        unsafe { dev.ioctl(ioctl::DIOCADDADDR, &mut *pp)? };
    }
    // SAFETY: pfioc_rule holds no pointer the kernel reads (the rule's are ignored).
    unsafe { dev.ioctl(ioctl::DIOCADDRULE, &mut *pr)? };
    Ok(())
}

fn list_rules<S: Syscalls>(
    sys: &S,
    anchor: &str,
    ruleset: PfRuleset,
) -> Result<Vec<PfRule>, Errno> {
    let dev = dev_pf(sys)?;
    let action = ruleset_action(ruleset);
    let mut pr: Box<pfioc_rule> = Box::new(zeroed());
    put_anchor(&mut pr.anchor, anchor)?;
    pr.rule.action = action;
    // SAFETY: pfioc_rule holds no pointer the kernel reads.
    unsafe { dev.ioctl(ioctl::DIOCGETRULES, &mut *pr)? };
    let (count, ticket) = (pr.nr, pr.ticket);
    let mut rules = Vec::new();
    for nr in 0..count {
        let mut one: Box<pfioc_rule> = Box::new(zeroed());
        put_anchor(&mut one.anchor, anchor)?;
        one.rule.action = action;
        one.ticket = ticket;
        one.nr = nr;
        // SAFETY: as above.
        unsafe { dev.ioctl(ioctl::DIOCGETRULE, &mut *one)? };
        let mut pp = pool_request(anchor)?;
        pp.r_action = action;
        pp.r_num = nr;
        pp.ticket = ticket;
        // SAFETY: pfioc_pooladdr holds no pointer the kernel reads.
        unsafe { dev.ioctl(ioctl::DIOCGETADDRS, &mut *pp)? };
        let pool = if pp.nr > 0 {
            pp.nr = 0;
            // SAFETY: as above.
            unsafe { dev.ioctl(ioctl::DIOCGETADDR, &mut *pp)? };
            Some(pp.addr.addr)
        } else {
            None
        };
        rules.push(rule_of(&one, pool.as_ref())?);
    }
    Ok(rules)
}

fn list_anchors<S: Syscalls>(sys: &S, anchor: &str) -> Result<Vec<String>, Errno> {
    let dev = dev_pf(sys)?;
    let mut rs: Box<pfioc_ruleset> = Box::new(zeroed());
    put_anchor(&mut rs.path, anchor)?;
    // SAFETY: pfioc_ruleset holds no pointer.
    unsafe { dev.ioctl(ioctl::DIOCGETRULESETS, &mut *rs)? };
    let count = rs.nr;
    let mut names = Vec::new();
    for nr in 0..count {
        rs.nr = nr;
        // SAFETY: as above.
        unsafe { dev.ioctl(ioctl::DIOCGETRULESET, &mut *rs)? };
        names.push(get_cstr(&rs.name));
    }
    Ok(names)
}

impl<S: Syscalls> PacketFilter for FreeBsd<S> {
    fn pf_begin(&self, anchor: &str, rulesets: &[PfRuleset]) -> KResult<PfTransaction> {
        let op = Op::PfBegin;
        let asked: Vec<(PfRuleset, u32)> = rulesets.iter().map(|&r| (r, 0)).collect();
        let mut elements = trans_elements(anchor, &asked).map_err(|e| fail(op, e))?;
        transaction(&self.sys, ioctl::DIOCXBEGIN, &mut elements).map_err(|e| fail(op, e))?;
        Ok(PfTransaction {
            anchor: anchor.to_string(),
            tickets: rulesets
                .iter()
                .zip(&elements)
                .map(|(&r, e)| (r, PfTicket(e.ticket)))
                .collect(),
        })
    }

    fn pf_add_rule(&self, transaction: &PfTransaction, rule: &PfRule) -> KResult<()> {
        let op = Op::PfAddRule;
        // A transaction without a ticket for the rule's ruleset has nothing to add it to
        // (a contract rule: EBUSY, as for a stale ticket).
        let ticket = transaction
            .ticket(rule.action.ruleset())
            .ok_or_else(|| fail(op, Errno::EBUSY))?;
        // The kernel keeps one pool buffer per vnet: DIOCBEGINADDRS empties it and bumps the
        // pool ticket (pf_ioctl.c, `V_ticket_pabuf`), so two rules loaded at once flush each
        // other's and DIOCADDRULE answers EBUSY. Load one rule at a time from this process, and
        // try again a few times when another process got in between.
        let _one_at_a_time = self.pf_pool.lock().unwrap_or_else(|e| e.into_inner());
        let mut result = add_rule(&self.sys, &transaction.anchor, ticket.0, rule);
        for _ in 0..POOL_RETRIES {
            match result {
                Err(Errno::EBUSY) => {
                    result = add_rule(&self.sys, &transaction.anchor, ticket.0, rule)
                }
                _ => break,
            }
        }
        result.map_err(|e| fail(op, e))
    }

    fn pf_commit(&self, tx: &PfTransaction) -> KResult<()> {
        let op = Op::PfCommit;
        let tickets: Vec<_> = tx.tickets.iter().map(|&(r, t)| (r, t.0)).collect();
        let mut elements = trans_elements(&tx.anchor, &tickets).map_err(|e| fail(op, e))?;
        transaction(&self.sys, ioctl::DIOCXCOMMIT, &mut elements).map_err(|e| fail(op, e))
    }

    fn pf_rollback(&self, tx: &PfTransaction) -> KResult<()> {
        let op = Op::PfRollback;
        let tickets: Vec<_> = tx.tickets.iter().map(|&(r, t)| (r, t.0)).collect();
        let mut elements = trans_elements(&tx.anchor, &tickets).map_err(|e| fail(op, e))?;
        transaction(&self.sys, ioctl::DIOCXROLLBACK, &mut elements).map_err(|e| fail(op, e))
    }

    fn pf_rules(&self, anchor: &str, ruleset: PfRuleset) -> KResult<Vec<PfRule>> {
        list_rules(&self.sys, anchor, ruleset).map_err(|e| fail(Op::PfRules, e))
    }

    fn pf_anchors(&self, anchor: &str) -> KResult<Vec<String>> {
        list_anchors(&self.sys, anchor).map_err(|e| fail(Op::PfAnchors, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syscalls::MockSyscalls;
    use crate::test_support::{backend, chars, expect_dev_pf, read_at, FD};
    use zelle_core::kernel::KernelError;
    use zelle_sys::as_bytes;

    fn nat() -> PfRule {
        PfRule {
            src: PfEndpoint {
                addr: PfAddr::Net("10.77.0.0/16".parse().unwrap()),
                ..PfEndpoint::any()
            },
            redirect: Some(PfRedirect {
                addr: PfAddr::Net("192.0.2.1/32".parse().unwrap()),
                ports: None,
            }),
            interface: Some("em0".into()),
            ..PfRule::new(PfAction::Nat)
        }
    }

    fn rdr() -> PfRule {
        PfRule {
            af: Some(AddressFamily::Inet),
            proto: Some(Protocol::Tcp),
            dst: PfEndpoint {
                ports: Some(PortRange::single(8080)),
                ..PfEndpoint::any()
            },
            redirect: Some(PfRedirect {
                addr: PfAddr::Net("10.77.0.5/32".parse().unwrap()),
                ports: Some(PortRange {
                    first: 80,
                    last: 90,
                }),
            }),
            ..PfRule::new(PfAction::Rdr)
        }
    }

    /// The transaction array behind a DIOCX* argument.
    ///
    /// # Safety
    /// `arg` points at a pfioc_trans whose array holds `size` elements.
    unsafe fn elements(arg: *mut core::ffi::c_void) -> (pfioc_trans, Vec<pfioc_trans_e>) {
        // SAFETY: the caller's promise.
        let trans: pfioc_trans = unsafe { read_at(arg) };
        let list = (0..trans.size as usize)
            // SAFETY: the caller's promise.
            .map(|i| unsafe { trans.array.add(i).read() })
            .collect();
        (trans, list)
    }

    #[test]
    fn begin_sends_one_element_per_ruleset_and_reads_the_tickets() {
        let mut mock = MockSyscalls::new();
        expect_dev_pf(&mut mock, 1);
        mock.expect_ioctl()
            .withf(|&fd, &req, &arg| {
                // SAFETY: DIOCXBEGIN's argument is a pfioc_trans with its array.
                let (trans, list) = unsafe { elements(arg) };
                fd == FD
                    && req == ioctl::number::DIOCXBEGIN
                    && trans.esize == 1032
                    && list.len() == 2
                    && list.iter().all(|e| e.anchor == chars::<1024>("zelle/web"))
                    && (list[0].rs_num, list[1].rs_num) == (2, 4)
            })
            .times(1)
            .returning(|_, _, arg| {
                // SAFETY: as above.
                let trans: pfioc_trans = unsafe { read_at(arg) };
                for i in 0..2 {
                    // SAFETY: as above.
                    unsafe { (*trans.array.add(i)).ticket = 40 + i as u32 };
                }
                Ok(0)
            });
        let tx = backend(mock)
            .pf_begin("zelle/web", &[PfRuleset::Nat, PfRuleset::Rdr])
            .unwrap();
        assert_eq!(
            tx,
            PfTransaction {
                anchor: "zelle/web".into(),
                tickets: vec![
                    (PfRuleset::Nat, PfTicket(40)),
                    (PfRuleset::Rdr, PfTicket(41))
                ],
            }
        );
    }

    #[test]
    fn commit_and_rollback_send_the_tickets() {
        let tx = PfTransaction {
            anchor: "zelle/web".into(),
            tickets: vec![(PfRuleset::Filter, PfTicket(7))],
        };
        for (request, errno) in [
            (ioctl::DIOCXCOMMIT, Errno::EBUSY),
            (ioctl::DIOCXROLLBACK, Errno::EINVAL),
        ] {
            let mut mock = MockSyscalls::new();
            expect_dev_pf(&mut mock, 1);
            mock.expect_ioctl()
                .withf(move |_, &req, &arg| {
                    // SAFETY: a pfioc_trans with its array.
                    let (_, list) = unsafe { elements(arg) };
                    req == request.number()
                        && list.len() == 1
                        && list[0].ticket == 7
                        && list[0].rs_num == 1
                })
                .returning(move |_, _, _| Err(errno));
            let k = backend(mock);
            let result = if request == ioctl::DIOCXCOMMIT {
                k.pf_commit(&tx)
            } else {
                k.pf_rollback(&tx)
            };
            assert_eq!(result.unwrap_err().code(), Some(errno));
        }
    }

    #[test]
    fn a_rule_goes_as_pool_address_then_rule() {
        let mut mock = MockSyscalls::new();
        expect_dev_pf(&mut mock, 1);
        let mut seq = mockall::Sequence::new();
        mock.expect_ioctl()
            .withf(|_, &req, _| req == ioctl::number::DIOCBEGINADDRS)
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_, _, arg| {
                // SAFETY: a pfioc_pooladdr.
                unsafe { (*arg.cast::<pfioc_pooladdr>()).ticket = 9 };
                Ok(0)
            });
        mock.expect_ioctl()
            .withf(|_, &req, &arg| {
                // SAFETY: a pfioc_pooladdr.
                let pp: pfioc_pooladdr = unsafe { read_at(arg) };
                let want = addr_wrap(&PfAddr::Net("192.0.2.1/32".parse().unwrap())).unwrap();
                req == ioctl::number::DIOCADDADDR
                    && pp.ticket == 9
                    && u32::from(pp.af) == AF_INET
                    && as_bytes(&pp.addr.addr) == as_bytes(&want)
            })
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_, _, _| Ok(0));
        mock.expect_ioctl()
            .withf(|_, &req, &arg| {
                // SAFETY: a pfioc_rule.
                let pr: pfioc_rule = unsafe { read_at(arg) };
                let r = &pr.rule;
                // SAFETY: the union's address struct.
                let (addr, mask) = unsafe {
                    (
                        octets_of(&r.src.addr.v.a.addr),
                        octets_of(&r.src.addr.v.a.mask),
                    )
                };
                req == ioctl::number::DIOCADDRULE
                    && (pr.ticket, pr.pool_ticket) == (40, 9)
                    && pr.anchor == chars::<1024>("zelle/web")
                    && pr.anchor_call[0] == 0
                    && u32::from(r.action) == PF_NAT
                    && r.ifname == chars::<16>("em0")
                    && addr[..4] == [10, 77, 0, 0]
                    && mask[..4] == [255, 255, 0, 0]
                    && addr[4..] == [0; 12]
                    && r.rpool.proxy_port == [1024, 65535]
                    && r.keep_state == 0
            })
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_, _, _| Ok(0));
        let tx = PfTransaction {
            anchor: "zelle/web".into(),
            tickets: vec![(PfRuleset::Nat, PfTicket(40))],
        };
        backend(mock).pf_add_rule(&tx, &nat()).unwrap();
    }

    /// A mock /dev/pf whose DIOCADDRULE answers EBUSY the first `busy` times: what another
    /// loader emptying the pool buffer in between looks like.
    fn pool_raced(busy: usize, loads: usize) -> MockSyscalls {
        let mut mock = MockSyscalls::new();
        expect_dev_pf(&mut mock, loads);
        mock.expect_ioctl()
            .withf(|_, &req, _| {
                req == ioctl::number::DIOCBEGINADDRS || req == ioctl::number::DIOCADDADDR
            })
            .times(2 * loads)
            .returning(|_, _, _| Ok(0));
        let mut answered = 0;
        mock.expect_ioctl()
            .withf(|_, &req, _| req == ioctl::number::DIOCADDRULE)
            .times(loads)
            .returning(move |_, _, _| {
                answered += 1;
                if answered <= busy {
                    Err(Errno::EBUSY)
                } else {
                    Ok(0)
                }
            });
        mock
    }

    #[test]
    fn a_rule_whose_pool_another_loader_flushed_is_loaded_again() {
        let tx = PfTransaction {
            anchor: "zelle/web".into(),
            tickets: vec![(PfRuleset::Nat, PfTicket(40))],
        };
        backend(pool_raced(2, 3)).pf_add_rule(&tx, &nat()).unwrap();
        // A stale transaction ticket stays EBUSY: tried 1 + POOL_RETRIES times, then refused.
        let err = backend(pool_raced(usize::MAX, 1 + POOL_RETRIES))
            .pf_add_rule(&tx, &nat())
            .unwrap_err();
        assert_eq!(err, KernelError::errno(Op::PfAddRule, Errno::EBUSY));
    }

    #[test]
    fn rules_round_trip_through_their_structs() {
        for rule in [
            nat(),
            rdr(),
            PfRule::anchor_call(PfAction::Rdr, "zelle/*"),
            PfRule::new(PfAction::Pass),
        ] {
            let mut pr: pfioc_rule = zeroed();
            pr.rule = pf_rule_of(&rule).unwrap();
            if let Some(call) = &rule.anchor {
                put_anchor(&mut pr.anchor_call, call).unwrap();
            }
            let pool = rule.redirect.as_ref().map(|r| addr_wrap(&r.addr).unwrap());
            assert_eq!(rule_of(&pr, pool.as_ref()).unwrap(), rule);
        }
    }

    #[test]
    fn an_address_without_family_reads_as_ipv4_when_it_fits() {
        let v6 = PfAddr::Net("fd00:1::/48".parse().unwrap());
        let w = addr_wrap(&v6).unwrap();
        assert_eq!(addr_of_wrap(&w, 0).unwrap(), v6);
        let v4 = PfAddr::Net("10.1.2.0/24".parse().unwrap());
        assert_eq!(addr_of_wrap(&addr_wrap(&v4).unwrap(), 0).unwrap(), v4);
        let ifname = PfAddr::Interface("em0".into());
        assert_eq!(
            addr_of_wrap(&addr_wrap(&ifname).unwrap(), 0).unwrap(),
            ifname
        );
    }

    #[test]
    fn listing_reads_each_rule_and_its_pool() {
        let mut mock = MockSyscalls::new();
        expect_dev_pf(&mut mock, 1);
        mock.expect_ioctl()
            .withf(|_, &req, &arg| {
                // SAFETY: a pfioc_rule.
                let pr: pfioc_rule = unsafe { read_at(arg) };
                req == ioctl::number::DIOCGETRULES && u32::from(pr.rule.action) == PF_RDR
            })
            .returning(|_, _, arg| {
                // SAFETY: a pfioc_rule.
                unsafe {
                    (*arg.cast::<pfioc_rule>()).nr = 1;
                    (*arg.cast::<pfioc_rule>()).ticket = 3;
                }
                Ok(0)
            });
        mock.expect_ioctl()
            .withf(|_, &req, &arg| {
                // SAFETY: a pfioc_rule.
                let pr: pfioc_rule = unsafe { read_at(arg) };
                req == ioctl::number::DIOCGETRULE && pr.ticket == 3 && pr.nr == 0
            })
            .returning(|_, _, arg| {
                // SAFETY: a pfioc_rule.
                unsafe { (*arg.cast::<pfioc_rule>()).rule = pf_rule_of(&rdr()).unwrap() };
                Ok(0)
            });
        mock.expect_ioctl()
            .withf(|_, &req, &arg| {
                // SAFETY: a pfioc_pooladdr.
                let pp: pfioc_pooladdr = unsafe { read_at(arg) };
                req == ioctl::number::DIOCGETADDRS
                    && u32::from(pp.r_action) == PF_RDR
                    && pp.r_num == 0
            })
            .returning(|_, _, arg| {
                // SAFETY: a pfioc_pooladdr.
                unsafe { (*arg.cast::<pfioc_pooladdr>()).nr = 1 };
                Ok(0)
            });
        mock.expect_ioctl()
            .withf(|_, &req, _| req == ioctl::number::DIOCGETADDR)
            .returning(|_, _, arg| {
                let addr = addr_wrap(&PfAddr::Net("10.77.0.5/32".parse().unwrap())).unwrap();
                // SAFETY: a pfioc_pooladdr.
                unsafe { (*arg.cast::<pfioc_pooladdr>()).addr.addr = addr };
                Ok(0)
            });
        let rules = backend(mock).pf_rules("zelle/web", PfRuleset::Rdr).unwrap();
        assert_eq!(rules, vec![rdr()]);
    }

    #[test]
    fn anchors_are_listed_by_number() {
        let mut mock = MockSyscalls::new();
        expect_dev_pf(&mut mock, 1);
        mock.expect_ioctl()
            .withf(|_, &req, &arg| {
                // SAFETY: a pfioc_ruleset.
                let rs: pfioc_ruleset = unsafe { read_at(arg) };
                req == ioctl::number::DIOCGETRULESETS && rs.path == chars::<1024>("zelle")
            })
            .returning(|_, _, arg| {
                // SAFETY: a pfioc_ruleset.
                unsafe { (*arg.cast::<pfioc_ruleset>()).nr = 2 };
                Ok(0)
            });
        mock.expect_ioctl()
            .withf(|_, &req, _| req == ioctl::number::DIOCGETRULESET)
            .times(2)
            .returning(|_, _, arg| {
                // SAFETY: a pfioc_ruleset.
                let rs = unsafe { &mut *arg.cast::<pfioc_ruleset>() };
                rs.name = chars(if rs.nr == 0 { "a" } else { "b" });
                Ok(0)
            });
        assert_eq!(backend(mock).pf_anchors("zelle").unwrap(), vec!["a", "b"]);
    }

    #[test]
    fn anchors_that_do_not_fit_and_missing_tickets_make_no_call() {
        let k = backend(MockSyscalls::new());
        let long = "x/".repeat(512);
        assert_eq!(
            k.pf_begin(&long, &[PfRuleset::Nat]).unwrap_err().code(),
            Some(Errno::EINVAL)
        );
        let tx = PfTransaction {
            anchor: "zelle".into(),
            tickets: vec![(PfRuleset::Filter, PfTicket(1))],
        };
        assert_eq!(
            k.pf_add_rule(&tx, &nat()).unwrap_err().code(),
            Some(Errno::EBUSY)
        );
    }

    #[test]
    fn without_pf_loaded_dev_pf_is_missing() {
        let mut mock = MockSyscalls::new();
        mock.expect_open().returning(|_, _| Err(Errno::ENOENT));
        let err = backend(mock).pf_anchors("").unwrap_err();
        assert_eq!(err, KernelError::errno(Op::PfAnchors, Errno::ENOENT));
    }
}
