//! Socket addresses to and from the kernel's bytes (`sockaddr_in`, `sockaddr_in6`,
//! `sockaddr_dl` of `netinet/in.h`, `net/if_dl.h`), always through the generated structs.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use zelle_sys::{as_bytes, from_bytes, in6_addr, sockaddr, sockaddr_dl, sockaddr_in, sockaddr_in6};
use zelle_sys::{zeroed, AF_INET, AF_INET6, AF_LINK};

pub(crate) fn sin(addr: Ipv4Addr) -> sockaddr_in {
    let mut sa: sockaddr_in = zeroed();
    sa.sin_len = core::mem::size_of::<sockaddr_in>() as u8;
    sa.sin_family = AF_INET as u8;
    sa.sin_addr.s_addr = u32::from_ne_bytes(addr.octets());
    sa
}

pub(crate) fn in6(addr: Ipv6Addr) -> in6_addr {
    let mut a: in6_addr = zeroed();
    a.__u6_addr.__u6_addr8 = addr.octets();
    a
}

pub(crate) fn sin6(addr: Ipv6Addr) -> sockaddr_in6 {
    let mut sa: sockaddr_in6 = zeroed();
    sa.sin6_len = core::mem::size_of::<sockaddr_in6>() as u8;
    sa.sin6_family = AF_INET6 as u8;
    sa.sin6_addr = in6(addr);
    sa
}

/// A `sockaddr_in` in the generic 16-byte `struct sockaddr` of an ifreq.
pub(crate) fn sin_as_sockaddr(addr: Ipv4Addr) -> sockaddr {
    from_bytes(as_bytes(&sin(addr))).unwrap_or_else(zeroed)
}

pub(crate) fn ip_bytes(addr: IpAddr) -> Vec<u8> {
    match addr {
        IpAddr::V4(a) => as_bytes(&sin(a)).to_vec(),
        IpAddr::V6(a) => as_bytes(&sin6(a)).to_vec(),
    }
}

/// `SA_SIZE` (`net/route.h`): a sockaddr's room in a routing message, rounded up to a long;
/// an empty one still takes a long.
pub(crate) fn sa_size(sa_len: usize) -> usize {
    const LONG: usize = core::mem::size_of::<core::ffi::c_long>();
    if sa_len == 0 {
        LONG
    } else {
        1 + ((sa_len - 1) | (LONG - 1))
    }
}

/// The struct `T` from a sockaddr's bytes that may be cut short (the kernel trims trailing
/// zeros of masks in routing messages): missing bytes read as zero.
fn padded<T: zelle_sys::Zeroed>(bytes: &[u8]) -> T {
    let mut buf = vec![0u8; core::mem::size_of::<T>()];
    let n = bytes.len().min(buf.len());
    buf[..n].copy_from_slice(&bytes[..n]);
    from_bytes(&buf).unwrap_or_else(zeroed)
}

/// The address of an AF_INET or AF_INET6 sockaddr.
pub(crate) fn ip_of(bytes: &[u8]) -> Option<IpAddr> {
    match u32::from(*bytes.get(1)?) {
        AF_INET => {
            let sa: sockaddr_in = padded(bytes);
            Some(IpAddr::V4(Ipv4Addr::from(sa.sin_addr.s_addr.to_ne_bytes())))
        }
        AF_INET6 => {
            let sa: sockaddr_in6 = padded(bytes);
            // SAFETY: every byte pattern is a valid [u8; 16].
            let octets = unsafe { sa.sin6_addr.__u6_addr.__u6_addr8 };
            Some(IpAddr::V6(Ipv6Addr::from(octets)))
        }
        _ => None,
    }
}

/// The prefix length of a netmask read as the family `like` has (a trimmed or empty mask in a
/// routing message carries no family of its own).
pub(crate) fn prefix_of(mask: &[u8], like: IpAddr) -> u8 {
    let ones = match like {
        IpAddr::V4(_) => {
            let sa: sockaddr_in = padded(mask);
            u32::from_be_bytes(sa.sin_addr.s_addr.to_ne_bytes()).leading_ones()
        }
        IpAddr::V6(_) => {
            let sa: sockaddr_in6 = padded(mask);
            // SAFETY: every byte pattern is a valid [u8; 16].
            u128::from_be_bytes(unsafe { sa.sin6_addr.__u6_addr.__u6_addr8 }).leading_ones()
        }
    };
    ones as u8
}

/// A link-level address: (interface index, type, name).
pub(crate) fn link_of(bytes: &[u8]) -> Option<(u16, u8, String)> {
    if u32::from(*bytes.get(1)?) != AF_LINK {
        return None;
    }
    let sdl: sockaddr_dl = padded(bytes);
    let nlen = usize::from(sdl.sdl_nlen).min(sdl.sdl_data.len());
    let name: Vec<u8> = sdl.sdl_data[..nlen].iter().map(|&c| c as u8).collect();
    Some((
        sdl.sdl_index,
        sdl.sdl_type,
        String::from_utf8_lossy(&name).into_owned(),
    ))
}

/// A `sockaddr_dl` naming an interface by name only (index 0), for a gateway the backend could
/// not find: the kernel resolves it or refuses.
pub(crate) fn link_named(name: &str) -> Vec<u8> {
    let mut sdl: sockaddr_dl = zeroed();
    sdl.sdl_len = core::mem::size_of::<sockaddr_dl>() as u8;
    sdl.sdl_family = AF_LINK as u8;
    let n = name.len().min(sdl.sdl_data.len());
    for (dst, &src) in sdl.sdl_data.iter_mut().zip(&name.as_bytes()[..n]) {
        *dst = src as core::ffi::c_char;
    }
    sdl.sdl_nlen = n as u8;
    as_bytes(&sdl).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_round_trip_through_their_bytes() {
        for ip in ["10.1.2.3", "fd00::1"] {
            let ip: IpAddr = ip.parse().unwrap();
            assert_eq!(ip_of(&ip_bytes(ip)), Some(ip));
        }
    }

    #[test]
    fn trimmed_masks_read_as_their_prefix() {
        let v4 = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
        // A /24 mask as the radix tree keeps it: sa_len 7, family 0.
        assert_eq!(prefix_of(&[7, 0, 0, 0, 255, 255, 255], v4), 24);
        assert_eq!(prefix_of(&[], v4), 0);
        let v6 = IpAddr::V6(Ipv6Addr::UNSPECIFIED);
        assert_eq!(prefix_of(&ip_bytes("ffff:ffff::".parse().unwrap()), v6), 32);
    }

    #[test]
    fn sa_size_rounds_to_a_long() {
        assert_eq!(
            [sa_size(0), sa_size(16), sa_size(28), sa_size(54)],
            [8, 16, 32, 56]
        );
    }
}
