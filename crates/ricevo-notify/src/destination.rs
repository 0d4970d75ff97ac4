//! Where a webhook may be sent. A town's administrator types the address, and Ricevo's server
//! then POSTs to it from inside the town's network: an address on that network (a cloud's
//! metadata service at 169.254.169.254, an intranet server, Ricevo's own node on loopback)
//! would turn webhooks into a way to reach machines the administrator cannot reach from
//! outside. So internal addresses are refused unless the system administrator lists the host
//! in the configuration, both when a webhook is registered and again at every delivery, since
//! a name's DNS answer can change between the two.
//!
//! Addresses are read the way browsers do (the WHATWG URL standard, through the `url` crate),
//! so odd spellings of an IPv4 address (`0x7f000001`, `2130706433`, `0177.0.0.1`, `127.1`) are
//! the address they mean, not a host name.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use url::Host;

pub use ricevo_core::webhook::{MAX_URL_LEN, WebhookUrl};
/// How long a name lookup may take.
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a webhook address is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DestinationError {
    /// Not an `http://` or `https://` address with a host, or too long, or with spaces.
    #[error("not an http:// or https:// address with a host")]
    Malformed,
    /// The host is, or resolves to, an address inside a private network, and is not on the
    /// configuration's list of allowed internal hosts.
    #[error("{host} is an internal address ({address}) that is not on the allowed list")]
    Internal {
        /// The host as written in the address.
        host: String,
        /// The internal address it is or resolves to.
        address: String,
    },
    /// The name could not be resolved.
    #[error("cannot resolve {host}: {reason}")]
    Unresolved {
        /// The host name.
        host: String,
        /// Why.
        reason: String,
    },
}

impl From<ricevo_core::webhook::MalformedUrl> for DestinationError {
    fn from(_: ricevo_core::webhook::MalformedUrl) -> Self {
        DestinationError::Malformed
    }
}

// ---- webpush ----
impl AllowedHosts {
    /// Whether the configuration names this address's host (as a name or an IP address).
    pub fn allows_host_of(&self, url: &WebhookUrl) -> bool {
        match url.host() {
            Some(Host::Domain(name)) => self.allows_name(name),
            Some(Host::Ipv4(ip)) => self.allows_ip(IpAddr::V4(ip)),
            Some(Host::Ipv6(ip)) => self.allows_ip(IpAddr::V6(ip)),
            None => false,
        }
    }
}
// ---- end webpush ----

/// Whether an address belongs to a network that is not the public Internet: loopback,
/// private (RFC 1918), carrier-grade NAT, link-local, unique local, unspecified, multicast,
/// broadcast, reserved, documentation and benchmarking ranges. An IPv6 address that carries an
/// IPv4 one (IPv4-mapped, IPv4-compatible, NAT64, 6to4) is judged by the IPv4 address.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_internal_v4(v4),
        IpAddr::V6(v6) => is_internal_v6(v6),
    }
}

fn is_internal_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    a == 0                                      // "this network", 0.0.0.0/8
        || a == 10                              // private
        || a == 127                             // loopback
        || (a == 100 && (64..128).contains(&b)) // carrier-grade NAT, 100.64.0.0/10
        || (a == 169 && b == 254)               // link-local, cloud metadata services
        || (a == 172 && (16..32).contains(&b))  // private
        || (a == 192 && b == 168)               // private
        || (a == 192 && b == 0 && c == 0)       // IETF protocol assignments
        || (a == 192 && b == 0 && c == 2)       // documentation
        || (a == 198 && (18..20).contains(&b))  // benchmarking, 198.18.0.0/15
        || (a == 198 && b == 51 && c == 100)    // documentation
        || (a == 203 && b == 0 && c == 113)     // documentation
        || a >= 224 // multicast, reserved, broadcast
}

fn is_internal_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    let embedded_v4 = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_internal_v4(v4);
    }
    match s {
        // Unspecified and loopback.
        [0, 0, 0, 0, 0, 0, 0, 0] | [0, 0, 0, 0, 0, 0, 0, 1] => true,
        // IPv4-compatible (deprecated, but some stacks still route it).
        [0, 0, 0, 0, 0, 0, hi, lo] => is_internal_v4(embedded_v4(hi, lo)),
        // NAT64 well-known prefix: the IPv4 address is in the last 32 bits.
        [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => is_internal_v4(embedded_v4(hi, lo)),
        // NAT64 local-use prefix 64:ff9b:1::/48: translated inside the operator's network.
        [0x64, 0xff9b, 1, ..] => true,
        // Discard-only, 100::/64.
        [0x100, 0, 0, 0, ..] => true,
        // Documentation 2001:db8::/32, benchmarking 2001:2::/48.
        [0x2001, 0xdb8, ..] | [0x2001, 2, 0, ..] => true,
        // 6to4: the IPv4 address is in bits 16 to 48.
        [0x2002, hi, lo, ..] => is_internal_v4(embedded_v4(hi, lo)),
        // Unique local fc00::/7, link-local fe80::/10, old site-local fec0::/10, multicast ff00::/8.
        [first, ..] => {
            (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || (first & 0xffc0) == 0xfec0
                || (first & 0xff00) == 0xff00
        }
    }
}

/// A host name that always means this machine (RFC 6761), whatever DNS says.
fn is_loopback_name(name: &str) -> bool {
    let name = name.trim_end_matches('.');
    name == "localhost" || name.ends_with(".localhost")
}

/// The internal hosts the system administrator allows webhooks to reach (the configuration's
/// `[webhooks] allow_hosts`): host names, matched exactly, and IP addresses. Empty by default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowedHosts {
    names: Vec<String>,
    ips: Vec<IpAddr>,
}

impl AllowedHosts {
    /// Reads the entries: each a host name (`erp.comune.local`) or an IP address (`10.1.2.3`,
    /// `fd00::1`, `[fd00::1]`), without scheme, port or path.
    pub fn parse<S: AsRef<str>>(entries: impl IntoIterator<Item = S>) -> Result<AllowedHosts, String> {
        let mut allowed = AllowedHosts::default();
        for entry in entries {
            let entry = entry.as_ref().trim();
            if entry.is_empty() {
                continue;
            }
            if let Ok(ip) = entry.parse::<IpAddr>() {
                allowed.ips.push(ip);
                continue;
            }
            match Host::parse(entry) {
                Ok(Host::Ipv4(ip)) => allowed.ips.push(IpAddr::V4(ip)),
                Ok(Host::Ipv6(ip)) => allowed.ips.push(IpAddr::V6(ip)),
                Ok(Host::Domain(name)) if !name.contains([':', '/', '@', '?', '#']) => {
                    allowed.names.push(name.trim_end_matches('.').to_owned());
                }
                _ => return Err(format!("{entry:?} is not a host name or an IP address")),
            }
        }
        Ok(allowed)
    }

    /// Whether nothing is allowed (the default).
    pub fn is_empty(&self) -> bool {
        self.names.is_empty() && self.ips.is_empty()
    }

    fn allows_name(&self, name: &str) -> bool {
        let name = name.trim_end_matches('.');
        self.names.iter().any(|n| n.eq_ignore_ascii_case(name))
    }

    fn allows_ip(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.ips.iter().any(|allowed| canonical(*allowed) == ip)
    }

    /// The check that needs no DNS: an address given as an IP, or a name that always means
    /// this machine, must be public or allowed. Names are checked when resolved.
    pub fn check_literal(&self, url: &WebhookUrl) -> Result<(), DestinationError> {
        let refuse = |address: String| Err(DestinationError::Internal { host: url.host_str().to_owned(), address });
        match url.host() {
            Some(Host::Ipv4(ip)) if is_internal_v4(ip) && !self.allows_ip(IpAddr::V4(ip)) => refuse(ip.to_string()),
            Some(Host::Ipv6(ip)) if is_internal_v6(ip) && !self.allows_ip(IpAddr::V6(ip)) => refuse(ip.to_string()),
            Some(Host::Domain(name)) if is_loopback_name(name) && !self.allows_name(name) => refuse("loopback".into()),
            Some(_) => Ok(()),
            None => Err(DestinationError::Malformed),
        }
    }

    /// Whether the addresses `host` resolved to may all be reached: every one must be public or
    /// allowed (one internal address among public ones is enough to refuse, since the client
    /// may pick any of them), unless the name itself is allowed.
    pub fn check_resolved(&self, host: &str, addresses: &[IpAddr]) -> Result<(), DestinationError> {
        if self.allows_name(host) {
            return Ok(());
        }
        if is_loopback_name(host) {
            return Err(DestinationError::Internal { host: host.to_owned(), address: "loopback".into() });
        }
        match addresses.iter().find(|ip| is_internal(**ip) && !self.allows_ip(**ip)) {
            Some(ip) => Err(DestinationError::Internal { host: host.to_owned(), address: ip.to_string() }),
            None => Ok(()),
        }
    }

    /// Resolves `host` and returns its addresses (with port 0, for the HTTP client to fill in),
    /// all checked by [`AllowedHosts::check_resolved`].
    pub async fn resolve(&self, host: &str) -> Result<Vec<SocketAddr>, DestinationError> {
        let unresolved = |reason: String| DestinationError::Unresolved { host: host.to_owned(), reason };
        let found = tokio::time::timeout(LOOKUP_TIMEOUT, tokio::net::lookup_host((host, 0)))
            .await
            .map_err(|_| unresolved("timed out".into()))?
            .map_err(|e| unresolved(e.to_string()))?;
        let addresses: Vec<SocketAddr> = found.collect();
        if addresses.is_empty() {
            return Err(unresolved("no address".into()));
        }
        let ips: Vec<IpAddr> = addresses.iter().map(SocketAddr::ip).collect();
        self.check_resolved(host, &ips)?;
        Ok(addresses)
    }

    /// The check when a webhook is registered: the address's IP or, for a name, every address
    /// it resolves to now. A name that does not resolve yet is accepted: the receiver may not
    /// be set up yet, and every delivery checks again.
    pub async fn check(&self, url: &WebhookUrl) -> Result<(), DestinationError> {
        self.check_literal(url)?;
        if let Some(Host::Domain(name)) = url.host() {
            match self.resolve(name).await {
                Ok(_) | Err(DestinationError::Unresolved { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

/// An IPv4-mapped IPv6 address as the IPv4 address it carries, so the allowed list matches
/// either spelling.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The HTTP client's name resolver for webhooks: it resolves, checks every address, and hands
/// the client exactly the checked addresses, so a DNS answer that changes between the check
/// and the connection (DNS rebinding) cannot lead to an internal host.
#[derive(Debug)]
pub(crate) struct CheckedResolver(pub(crate) Arc<AllowedHosts>);

impl reqwest::dns::Resolve for CheckedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allowed = Arc::clone(&self.0);
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addresses = allowed.resolve(&host).await?;
            Ok(Box::new(addresses.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn url(raw: &str) -> WebhookUrl {
        WebhookUrl::parse(raw).unwrap()
    }

    fn none() -> AllowedHosts {
        AllowedHosts::default()
    }

    #[test]
    fn webhook_addresses_must_be_http_or_https_with_a_host() {
        assert_eq!(url(" https://portale.esempio.it/hook ").as_str(), "https://portale.esempio.it/hook");
        assert_eq!(url("HTTPS://Portale.Esempio.IT").as_str(), "https://portale.esempio.it/");
        for bad in [
            "ftp://x.it",
            "javascript:alert(1)",
            "https://",
            "https:///path",
            "https:\\\\x.it",
            "http:x.it",
            "https://a b.it",
            "x.it",
            "https://a.it/\tx",
            "file:///etc/passwd",
        ] {
            assert_eq!(
                WebhookUrl::parse(bad).map_err(DestinationError::from),
                Err(DestinationError::Malformed),
                "{bad:?}"
            );
        }
        assert!(WebhookUrl::parse(&format!("https://a.it/{}", "x".repeat(500))).is_err());
    }

    #[test]
    fn odd_spellings_of_an_ipv4_address_are_read_as_that_address() {
        for (raw, normal) in [
            ("http://0x7f000001/", "http://127.0.0.1/"),
            ("http://2130706433/", "http://127.0.0.1/"),
            ("http://0177.0.0.1/", "http://127.0.0.1/"),
            ("http://127.1/", "http://127.0.0.1/"),
            ("http://0x7f.1/", "http://127.0.0.1/"),
            ("http://[::ffff:127.0.0.1]/", "http://[::ffff:7f00:1]/"),
            ("http://169.254.169.254/latest/meta-data/", "http://169.254.169.254/latest/meta-data/"),
        ] {
            let u = url(raw);
            assert_eq!(u.as_str(), normal, "{raw}");
            assert!(
                matches!(none().check_literal(&u), Err(DestinationError::Internal { .. })),
                "{raw} must be refused"
            );
        }
    }

    #[test]
    fn loopback_private_link_local_and_other_non_public_addresses_are_internal() {
        for ip in [
            "0.0.0.0",
            "10.1.2.3",
            "100.64.0.1",
            "100.127.255.254",
            "127.0.0.1",
            "127.255.255.255",
            "169.254.169.254",
            "172.16.0.1",
            "172.31.255.255",
            "192.0.0.8",
            "192.0.2.1",
            "192.168.1.1",
            "198.18.0.1",
            "198.19.255.255",
            "198.51.100.7",
            "203.0.113.9",
            "224.0.0.1",
            "240.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b:1::1",
            "100::1",
            "2001:db8::1",
            "2002:7f00:1::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "febf::1",
            "fec0::1",
            "ff02::1",
        ] {
            assert!(is_internal(ip.parse().unwrap()), "{ip} is internal");
        }
        for ip in [
            "1.1.1.1",
            "8.8.8.8",
            "100.63.255.255",
            "100.128.0.0",
            "172.15.255.255",
            "172.32.0.0",
            "192.169.0.1",
            "198.20.0.1",
            "223.255.255.255",
            "2a00:1450:4002::200e",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:808:808::1",
        ] {
            assert!(!is_internal(ip.parse().unwrap()), "{ip} is public");
        }
    }

    #[test]
    fn localhost_names_are_internal_whatever_dns_says() {
        for raw in ["http://localhost/", "http://LOCALHOST.:8080/", "http://ricevo.localhost/"] {
            assert!(matches!(none().check_literal(&url(raw)), Err(DestinationError::Internal { .. })), "{raw}");
        }
        assert!(none().check_resolved("localhost", &["8.8.8.8".parse().unwrap()]).is_err());
        assert!(none().check_literal(&url("https://portale.esempio.it/")).is_ok());
        assert!(none().check_literal(&url("https://8.8.8.8/")).is_ok());
    }

    #[test]
    fn one_internal_address_among_public_ones_refuses_the_name() {
        let ips: Vec<IpAddr> = vec!["8.8.8.8".parse().unwrap(), "10.0.0.5".parse().unwrap()];
        let refused = none().check_resolved("rebind.example", &ips);
        assert_eq!(
            refused,
            Err(DestinationError::Internal { host: "rebind.example".into(), address: "10.0.0.5".into() })
        );
        assert!(none().check_resolved("public.example", &ips[..1]).is_ok());
    }

    #[test]
    fn allowed_hosts_open_exactly_the_listed_names_and_addresses() {
        let allowed = AllowedHosts::parse(["ERP.comune.local.", " 10.1.2.3 ", "[fd00::1]", "0x7f000001", ""]).unwrap();
        assert!(!allowed.is_empty());
        assert!(allowed.check_literal(&url("http://10.1.2.3:8080/hook")).is_ok());
        assert!(allowed.check_literal(&url("http://167838211/hook")).is_ok(), "10.1.2.3 in another spelling");
        assert!(allowed.check_literal(&url("http://[::ffff:10.1.2.3]/")).is_ok());
        assert!(allowed.check_literal(&url("http://127.0.0.1/")).is_ok());
        assert!(allowed.check_literal(&url("http://[fd00::1]/")).is_ok());
        assert!(allowed.check_literal(&url("http://10.1.2.4/")).is_err());
        assert!(allowed.check_literal(&url("http://[fd00::2]/")).is_err());
        let internal: Vec<IpAddr> = vec!["10.9.9.9".parse().unwrap()];
        assert!(allowed.check_resolved("erp.comune.local", &internal).is_ok());
        assert!(allowed.check_resolved("erp.comune.local.", &internal).is_ok());
        assert!(allowed.check_resolved("other.comune.local", &internal).is_err());
        assert!(allowed.check_resolved("other.comune.local", &["10.1.2.3".parse().unwrap()]).is_ok());
        for bad in ["http://erp.local", "erp.local:8080", "erp.local/x", "a b"] {
            assert!(AllowedHosts::parse([bad]).is_err(), "{bad:?}");
        }
        assert!(AllowedHosts::parse(Vec::<String>::new()).unwrap().is_empty());
    }

    #[tokio::test]
    async fn registration_refuses_a_name_that_resolves_to_loopback_and_accepts_an_unknown_one() {
        let refused = none().check(&url("http://localhost:8080/hook")).await;
        assert!(matches!(refused, Err(DestinationError::Internal { .. })), "{refused:?}");
        // `.invalid` never resolves (RFC 6761): the receiver may not exist yet; deliveries check.
        assert!(none().check(&url("https://receiver.invalid/hook")).await.is_ok());
        let allowed = AllowedHosts::parse(["localhost"]).unwrap();
        assert!(allowed.check(&url("http://localhost:8080/hook")).await.is_ok());
    }

    /// The spellings the URL standard accepts for one IPv4 address.
    fn spellings(ip: u32) -> Vec<String> {
        let [a, b, c, d] = ip.to_be_bytes();
        vec![
            ip.to_string(),
            format!("0x{ip:x}"),
            format!("0{ip:o}"),
            format!("0{a:o}.0{b:o}.0{c:o}.0{d:o}"),
            format!("0x{a:x}.0x{b:x}.0x{c:x}.0x{d:x}"),
            format!("{a}.{}", (u32::from(b) << 16) | (u32::from(c) << 8) | u32::from(d)),
            format!("{a}.{b}.{}", (u32::from(c) << 8) | u32::from(d)),
            format!("[::ffff:{a}.{b}.{c}.{d}]"),
        ]
    }

    proptest! {
        #[test]
        fn every_spelling_of_an_address_gets_the_same_verdict(ip in any::<u32>()) {
            let expected = is_internal_v4(Ipv4Addr::from(ip));
            for spelling in spellings(ip) {
                let u = url(&format!("http://{spelling}/hook"));
                prop_assert_eq!(none().check_literal(&u).is_err(), expected, "{}", spelling);
            }
        }

        #[test]
        fn every_spelling_of_a_loopback_or_private_address_is_refused(
            ip in prop_oneof![0x7f00_0000u32..=0x7fff_ffff, 0x0a00_0000u32..=0x0aff_ffff, 0xc0a8_0000u32..=0xc0a8_ffff, 0xa9fe_0000u32..=0xa9fe_ffff]
        ) {
            for spelling in spellings(ip) {
                let u = url(&format!("http://{spelling}/hook"));
                prop_assert!(matches!(none().check_literal(&u), Err(DestinationError::Internal { .. })), "{}", spelling);
            }
        }
    }
}
