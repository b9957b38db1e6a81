//! The contents of a container's /etc/resolv.conf and /etc/hosts. The caller writes them;
//! core does no I/O.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Resolver settings for a container.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Dns {
    pub nameservers: Vec<IpAddr>,
    pub search: Vec<String>,
    pub options: Vec<String>,
}

impl Dns {
    /// Read the host's resolv.conf. Loopback name servers (a local unbound or dnsmasq) are
    /// dropped: a container's own network stack cannot reach the host's loopback.
    pub fn from_resolv_conf(text: &str) -> Dns {
        let mut dns = Dns::default();
        let mut domain = None;
        for line in text.lines() {
            let line = line.split(['#', ';']).next().unwrap_or_default();
            let mut words = line.split_whitespace();
            match words.next() {
                Some("nameserver") => {
                    let server = words.next().and_then(|w| w.parse::<IpAddr>().ok());
                    if let Some(server) = server.filter(|s| !s.is_loopback()) {
                        dns.nameservers.push(server);
                    }
                }
                Some("search") => dns.search = words.map(str::to_string).collect(),
                Some("domain") => domain = words.next().map(str::to_string),
                Some("options") => dns.options.extend(words.map(str::to_string)),
                _ => {}
            }
        }
        // resolv.conf(5): the last of `domain` and `search` wins; keep it simple and let
        // `search` win when both are given.
        if dns.search.is_empty() {
            dns.search.extend(domain);
        }
        dns
    }

    /// The file's text.
    pub fn resolv_conf(&self) -> String {
        let mut out = String::from("# written by zelle\n");
        if !self.search.is_empty() {
            out.push_str(&format!("search {}\n", self.search.join(" ")));
        }
        for server in &self.nameservers {
            out.push_str(&format!("nameserver {server}\n"));
        }
        if !self.options.is_empty() {
            out.push_str(&format!("options {}\n", self.options.join(" ")));
        }
        out
    }
}

/// A container's /etc/hosts: localhost, and its hostname on its own addresses.
pub fn hosts_file(hostname: &str, address: Ipv4Addr, address6: Option<Ipv6Addr>) -> String {
    let mut out = String::from("# written by zelle\n::1\t\tlocalhost\n127.0.0.1\tlocalhost\n");
    if !hostname.is_empty() {
        out.push_str(&format!("{address}\t{hostname}\n"));
        if let Some(address6) = address6 {
            out.push_str(&format!("{address6}\t{hostname}\n"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_servers_are_dropped_and_the_rest_kept() {
        let host = "# comment\ndomain lan\nnameserver 127.0.0.1\nnameserver 192.0.2.53 # isp\n\
                    nameserver ::1\nnameserver 2001:db8::53\noptions edns0 ndots:2\n";
        let dns = Dns::from_resolv_conf(host);
        assert_eq!(
            dns.resolv_conf(),
            "# written by zelle\nsearch lan\nnameserver 192.0.2.53\nnameserver 2001:db8::53\n\
             options edns0 ndots:2\n"
        );
    }

    #[test]
    fn hosts_names_the_container_on_both_families() {
        let text = hosts_file("web", Ipv4Addr::new(10, 77, 0, 2), "fd00::2".parse().ok());
        assert!(
            text.contains("10.77.0.2\tweb\n") && text.contains("fd00::2\tweb\n"),
            "{text}"
        );
        assert!(!hosts_file("", Ipv4Addr::new(10, 77, 0, 2), None).contains("10.77.0.2"));
    }
}
