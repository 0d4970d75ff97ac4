//! A webhook (or any outgoing HTTP) address an administrator typed, checked for its shape:
//! read the way browsers do (the WHATWG URL standard, through the `url` crate), so odd
//! spellings of an IPv4 address (`0x7f000001`, `2130706433`, `0177.0.0.1`, `127.1`) are the
//! address they mean, not a host name. Whether the address may be reached (not an internal
//! network) is decided where names are resolved, in `ricevo-notify`.

use url::{Host, Url};

/// The longest webhook address accepted.
pub const MAX_URL_LEN: usize = 500;

/// Not an `http://` or `https://` address with a host, or too long, or with spaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not an http:// or https:// address with a host")]
pub struct MalformedUrl;

/// A webhook address: `http` or `https`, a host, at most [`MAX_URL_LEN`] characters, in the
/// URL standard's normal form (so `http://0x7f000001/` reads `http://127.0.0.1/`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookUrl(Url);

impl WebhookUrl {
    /// Checks the shape of an address; whether it may be reached is [`AllowedHosts::check`].
    pub fn parse(raw: &str) -> Result<WebhookUrl, MalformedUrl> {
        let raw = raw.trim();
        // The URL standard drops tabs and newlines inside an address silently; a pasted
        // address with such characters is more likely a mistake than meant.
        if raw.len() > MAX_URL_LEN || raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(MalformedUrl);
        }
        // The URL standard forgives `https:host` and `https:///host`; an address typed like
        // that is a mistake to point out, not to guess at.
        let lower = raw.get(..8).unwrap_or(raw).to_ascii_lowercase();
        let rest = if lower.starts_with("https://") {
            &raw[8..]
        } else if lower.starts_with("http://") {
            &raw[7..]
        } else {
            return Err(MalformedUrl);
        };
        if rest.starts_with(['/', '\\']) {
            return Err(MalformedUrl);
        }
        let url = Url::parse(raw).map_err(|_| MalformedUrl)?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
            return Err(MalformedUrl);
        }
        Ok(WebhookUrl(url))
    }

    /// The address in normal form.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The host as written in the normal form (IPv6 in brackets).
    pub fn host_str(&self) -> &str {
        self.0.host_str().unwrap_or_default()
    }

    /// The host: a name, or an IP address when the URL gives one.
    pub fn host(&self) -> Option<Host<&str>> {
        self.0.host()
    }

    /// The origin (`https://push.example.net:8443`, the port only when not the scheme's
    /// default): a VAPID signature's audience.
    pub fn origin(&self) -> String {
        self.0.origin().ascii_serialization()
    }
}

impl std::fmt::Display for WebhookUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
