//! The client's address behind reverse proxies we trust.
//!
//! `X-Forwarded-For` is a list each proxy appends the address it saw to, so only its right end
//! was written by our own proxies: everything to the left of it came from the client, who can
//! write anything there. The client is therefore the right-most entry that is not one of our
//! proxies, and only when the connection itself comes from one of them.
//!
//! The standard `Forwarded` header is not read: a proxy appends to one of the two headers and
//! passes the other through untouched, so honouring both would let a client choose its address.

use std::net::{IpAddr, SocketAddr};

use axum::http::HeaderMap;

/// One trusted proxy: an address, or a network in CIDR notation (`10.0.0.0/8`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProxyNet {
    addr: IpAddr,
    prefix: u8,
}

impl ProxyNet {
    /// Parses `192.0.2.1`, `10.0.0.0/8`, `2001:db8::1` or `2001:db8::/32`.
    pub fn parse(s: &str) -> Option<ProxyNet> {
        let s = s.trim();
        let (addr, prefix) = match s.split_once('/') {
            Some((addr, prefix)) => (addr.parse::<IpAddr>().ok()?, Some(prefix.parse::<u8>().ok()?)),
            None => (s.parse::<IpAddr>().ok()?, None),
        };
        let addr = addr.to_canonical();
        let bits = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(bits);
        (prefix <= bits).then_some(ProxyNet { addr, prefix })
    }

    /// Whether `ip` is this proxy or inside this network.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let shift = |bits: u32| if self.prefix == 0 { 0 } else { u128::MAX << (bits - u32::from(self.prefix)) };
        match (self.addr, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = shift(32);
                (u128::from(u32::from(net)) & mask) == (u128::from(u32::from(ip)) & mask)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = shift(128);
                (u128::from(net) & mask) == (u128::from(ip) & mask)
            }
            _ => false,
        }
    }
}

/// Parses a list of trusted proxies (addresses and networks); the unparsable entry on error.
pub fn parse_proxies<'a>(entries: impl IntoIterator<Item = &'a str>) -> Result<Vec<ProxyNet>, String> {
    entries
        .into_iter()
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(|e| ProxyNet::parse(e).ok_or_else(|| e.to_owned()))
        .collect()
}

/// Which peers may tell us the client's address in `X-Forwarded-For`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TrustedProxies<'a> {
    /// Nobody: the client is the peer of the TCP connection.
    #[default]
    None,
    /// Whoever connects is our one reverse proxy (the server is reachable only through it).
    AnyPeer,
    /// These proxies, possibly chained: the connection must come from one of them.
    Listed(&'a [ProxyNet]),
}

impl<'a> TrustedProxies<'a> {
    /// From the settings: a list of proxies names them; without one, `trust_forwarded_for`
    /// trusts whoever connects.
    pub fn of(trust_forwarded_for: bool, listed: &'a [ProxyNet]) -> TrustedProxies<'a> {
        match (trust_forwarded_for, listed) {
            (_, [_, ..]) => TrustedProxies::Listed(listed),
            (true, []) => TrustedProxies::AnyPeer,
            (false, []) => TrustedProxies::None,
        }
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        match self {
            TrustedProxies::None => false,
            TrustedProxies::AnyPeer => true,
            TrustedProxies::Listed(nets) => nets.iter().any(|n| n.contains(ip)),
        }
    }

    /// The client's address: the peer's, unless the peer is a trusted proxy; then the
    /// right-most `X-Forwarded-For` entry that is not a trusted proxy. An entry that is not an
    /// IP address on the way means the header cannot be relied on: the peer's address.
    pub fn client(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> Option<IpAddr> {
        let peer = peer.map(|p| p.to_canonical());
        let peer_trusted = match peer {
            Some(p) => self.trusts(p),
            // No socket (in-process requests): only a blanket trust reads the header.
            None => *self == TrustedProxies::AnyPeer,
        };
        if !peer_trusted {
            return peer;
        }
        let hops: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect();
        let mut client = peer;
        for (i, hop) in hops.iter().rev().enumerate() {
            let Some(ip) = parse_hop(hop) else { return peer };
            client = Some(ip);
            // Our one proxy (blanket trust) speaks only for the last hop.
            let last = matches!(self, TrustedProxies::AnyPeer) && i == 0;
            if last || !self.trusts(ip) {
                break;
            }
        }
        client
    }
}

// `192.0.2.1`, `2001:db8::1`, `[2001:db8::1]`, `192.0.2.1:4711`, `[2001:db8::1]:4711`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let ip = hop
        .parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| hop.strip_prefix('[')?.strip_suffix(']')?.parse().ok())?;
    Some(ip.to_canonical())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn headers(lines: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for line in lines {
            h.append("x-forwarded-for", line.parse().unwrap());
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn without_trust_the_peer_is_the_client_whatever_the_header_says() {
        let h = headers(&["203.0.113.9"]);
        assert_eq!(TrustedProxies::None.client(Some(ip("198.51.100.7")), &h), Some(ip("198.51.100.7")));
        assert_eq!(TrustedProxies::None.client(None, &h), None);
    }

    #[test]
    fn behind_one_proxy_a_spoofed_left_entry_is_ignored_and_the_right_most_wins() {
        // The client wrote "1.2.3.4" itself; our proxy appended the address it really saw.
        let h = headers(&["1.2.3.4, 203.0.113.9"]);
        let proxy = Some(ip("10.0.0.2"));
        assert_eq!(TrustedProxies::AnyPeer.client(proxy, &h), Some(ip("203.0.113.9")));
        // The same over two header lines.
        let h = headers(&["1.2.3.4", "203.0.113.9"]);
        assert_eq!(TrustedProxies::AnyPeer.client(proxy, &h), Some(ip("203.0.113.9")));
        // No header at all: the proxy's own address.
        assert_eq!(TrustedProxies::AnyPeer.client(proxy, &HeaderMap::new()), proxy);
    }

    #[test]
    fn listed_proxies_are_skipped_from_the_right_and_the_first_stranger_is_the_client() {
        let list = parse_proxies(["10.0.0.0/8", "192.0.2.5"]).unwrap();
        let trusted = TrustedProxies::of(false, &list);
        let h = headers(&["1.2.3.4, 203.0.113.9, 10.1.2.3"]);
        assert_eq!(trusted.client(Some(ip("192.0.2.5")), &h), Some(ip("203.0.113.9")));
        // A client pretending, on the left, to be one of our proxies changes nothing: the
        // search stops at the address our proxy saw.
        let h = headers(&["10.9.9.9, 203.0.113.9"]);
        assert_eq!(trusted.client(Some(ip("10.0.0.1")), &h), Some(ip("203.0.113.9")));
    }

    #[test]
    fn a_peer_that_is_not_a_listed_proxy_is_the_client_even_with_a_header() {
        let list = parse_proxies(["10.0.0.1"]).unwrap();
        let trusted = TrustedProxies::of(true, &list);
        let h = headers(&["1.2.3.4"]);
        assert_eq!(trusted.client(Some(ip("203.0.113.9")), &h), Some(ip("203.0.113.9")));
        assert_eq!(trusted.client(None, &h), None, "no socket, no trust");
    }

    #[test]
    fn garbage_in_the_header_falls_back_to_the_peer() {
        let proxy = Some(ip("10.0.0.1"));
        for garbage in ["unknown", "1.2.3.4, not-an-ip", "", "999.1.1.1", "1.2.3.4,"] {
            let h = headers(&[garbage]);
            assert_eq!(TrustedProxies::AnyPeer.client(proxy, &h), proxy, "{garbage:?}");
        }
    }

    #[test]
    fn entries_with_ports_brackets_and_mapped_addresses_are_read_as_addresses() {
        let proxy = Some(ip("::ffff:10.0.0.1"));
        let list = parse_proxies(["10.0.0.1"]).unwrap();
        let trusted = TrustedProxies::of(false, &list);
        for (entry, want) in [
            ("203.0.113.9:4711", "203.0.113.9"),
            ("[2001:db8::1]:4711", "2001:db8::1"),
            ("[2001:db8::1]", "2001:db8::1"),
            ("::ffff:203.0.113.9", "203.0.113.9"),
        ] {
            assert_eq!(trusted.client(proxy, &headers(&[entry])), Some(ip(want)), "{entry}");
        }
    }

    #[test]
    fn networks_parse_and_match_by_prefix() {
        let net = ProxyNet::parse("10.0.0.0/8").unwrap();
        assert!(net.contains(ip("10.255.0.1")));
        assert!(!net.contains(ip("11.0.0.1")));
        assert!(!net.contains(ip("2001:db8::1")));
        let v6 = ProxyNet::parse("2001:db8::/32").unwrap();
        assert!(v6.contains(ip("2001:db8:1::1")));
        assert!(!v6.contains(ip("2001:db9::1")));
        assert!(ProxyNet::parse("0.0.0.0/0").unwrap().contains(ip("8.8.8.8")));
        for bad in ["10.0.0.0/33", "proxy.local", "10.0.0.0/x", ""] {
            assert_eq!(ProxyNet::parse(bad), None, "{bad}");
        }
        assert_eq!(parse_proxies(["10.0.0.1", "nope"]), Err("nope".to_owned()));
        assert_eq!(parse_proxies([" ", ""]), Ok(Vec::new()));
        assert_eq!(TrustedProxies::of(false, &[]), TrustedProxies::None);
        assert_eq!(TrustedProxies::of(true, &[]), TrustedProxies::AnyPeer);
    }
}
