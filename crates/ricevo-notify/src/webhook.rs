//! Signed webhooks: Ricevo POSTs a JSON event to a URL the town registered, with an
//! HMAC-SHA256 signature so the receiver knows the event came from Ricevo, unchanged.
//!
//! # Verifying a delivery (for receivers)
//! The `Ricevo-Signature` header reads `t=<unix seconds>,v1=<hex>`, where `<hex>` is
//! HMAC-SHA256, keyed with the subscription's secret, of the bytes `"<t>."` followed by the
//! raw request body. A receiver recomputes it over the body exactly as received (before any
//! JSON parsing), compares in constant time, and rejects timestamps more than a few minutes
//! from its own clock so a captured request cannot be replayed later. `Ricevo-Event-Id` is the
//! same on every retry of one event: receivers use it to ignore duplicates.

use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, Mac};
use jiff::Timestamp;
use sha2::Sha256;

use crate::NotifyError;
use crate::destination::{AllowedHosts, CheckedResolver, DestinationError, WebhookUrl};

/// The header carrying `t=<unix>,v1=<hex hmac>`.
pub const SIGNATURE_HEADER: &str = "Ricevo-Signature";
/// The header carrying the event's id, stable across retries.
pub const EVENT_ID_HEADER: &str = "Ricevo-Event-Id";
/// How long a receiver should accept a signature, in seconds either side of its clock.
pub const DEFAULT_TOLERANCE_SECONDS: i64 = 300;
/// How long one delivery may take before it counts as failed.
pub const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);

type HmacSha256 = Hmac<Sha256>;

fn mac(secret: &str, timestamp: i64, body: &[u8]) -> HmacSha256 {
    #[allow(clippy::expect_used)]
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC accepts keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The `Ricevo-Signature` header value for `body` sent at `timestamp` (unix seconds).
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let tag = mac(secret, timestamp, body).finalize().into_bytes();
    format!("t={timestamp},v1={}", hex::encode(tag))
}

/// Whether `header` is a valid signature of `body` under `secret`, made within
/// `tolerance_seconds` of `now` (unix seconds). The comparison takes constant time; any
/// of several `v1=` entries may match (useful while a secret is being rotated).
pub fn verify(secret: &str, header: &str, body: &[u8], now: i64, tolerance_seconds: i64) -> bool {
    let mut timestamp = None;
    let mut candidates = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", v)) => candidates.extend(hex::decode(v).ok()),
            _ => {}
        }
    }
    let Some(t) = timestamp else { return false };
    if now.abs_diff(t) > tolerance_seconds.unsigned_abs() {
        return false;
    }
    // Checks every candidate, so timing does not reveal which one matched.
    candidates.iter().fold(false, |ok, tag| mac(secret, t, body).verify_slice(tag).is_ok() | ok)
}

/// Sends webhooks, to public addresses and the internal hosts the configuration allows only.
#[derive(Debug, Clone)]
pub struct WebhookSender {
    http: reqwest::Client,
    allowed: Arc<AllowedHosts>,
}

impl WebhookSender {
    /// A sender whose HTTP client resolves names itself and connects only to addresses it has
    /// checked (see [`crate::destination`]); no redirects (a redirect could send a signed event
    /// to a host the town never registered, or an internal one), short connect timeout, an
    /// honest user agent.
    pub fn new(allowed: AllowedHosts) -> Result<WebhookSender, NotifyError> {
        let allowed = Arc::new(allowed);
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(Arc::new(CheckedResolver(Arc::clone(&allowed))))
            .connect_timeout(Duration::from_secs(5))
            .timeout(DELIVERY_TIMEOUT)
            .user_agent(concat!("Ricevo-Webhooks/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(WebhookSender { http, allowed })
    }

    /// POSTs `body` (JSON) to `url`, signed with `secret` at `now`; anything but a 2xx answer
    /// within [`DELIVERY_TIMEOUT`] is an error, to be retried later with the same `event_id`.
    /// An address that is, or now resolves to, an internal one not allowed is refused before
    /// any connection, even when it was accepted at registration.
    pub async fn deliver(
        &self,
        url: &str,
        secret: &str,
        event_id: &str,
        body: &str,
        now: Timestamp,
    ) -> Result<(), NotifyError> {
        self.deliver_within(url, secret, event_id, body, now, DELIVERY_TIMEOUT).await
    }

    async fn deliver_within(
        &self,
        url: &str,
        secret: &str,
        event_id: &str,
        body: &str,
        now: Timestamp,
        timeout: Duration,
    ) -> Result<(), NotifyError> {
        let url = WebhookUrl::parse(url).map_err(DestinationError::from)?;
        // The client resolves names through the checking resolver; an IP address in the URL
        // is connected to without resolving, so it is checked here.
        self.allowed.check_literal(&url)?;
        let response = self
            .http
            .post(url.as_str())
            .timeout(timeout)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(SIGNATURE_HEADER, sign(secret, now.as_second(), body.as_bytes()))
            .header(EVENT_ID_HEADER, event_id)
            .body(body.to_owned())
            .send()
            .await
            .map_err(refusal_or_http)?;
        let status = response.status();
        if status.is_success() { Ok(()) } else { Err(NotifyError::WebhookStatus(status.as_u16())) }
    }
}

/// The resolver's refusal travels inside the HTTP client's connection error; it is brought out,
/// so the outbox records why the delivery was refused and not a bare "connection error".
pub(crate) fn refusal_or_http(e: reqwest::Error) -> NotifyError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(&e);
    while let Some(inner) = source {
        if let Some(refused) = inner.downcast_ref::<DestinationError>() {
            return NotifyError::Destination(refused.clone());
        }
        source = inner.source();
    }
    NotifyError::Http(e)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// A sender allowed to reach the test receivers on loopback.
    fn loopback() -> WebhookSender {
        WebhookSender::new(AllowedHosts::parse(["127.0.0.1", "localhost"]).unwrap()).unwrap()
    }

    #[test]
    fn a_signature_verifies_with_the_same_secret_and_body_only() {
        let body = br#"{"event":"appointment.booked"}"#;
        let header = sign("s3cret", 1_790_000_000, body);
        assert!(header.starts_with("t=1790000000,v1="));
        assert_eq!(header.len(), "t=1790000000,v1=".len() + 64);
        assert!(verify("s3cret", &header, body, 1_790_000_010, 300));
        assert!(!verify("other", &header, body, 1_790_000_010, 300));
        assert!(!verify("s3cret", &header, br#"{"event":"appointment.cancelled"}"#, 1_790_000_010, 300));
        assert!(!verify("s3cret", "garbage", body, 1_790_000_010, 300));
        assert!(!verify("s3cret", "v1=00", body, 1_790_000_010, 300));
    }

    #[test]
    fn an_old_or_future_signature_is_rejected() {
        let header = sign("k", 1_000, b"{}");
        assert!(verify("k", &header, b"{}", 1_300, 300));
        assert!(!verify("k", &header, b"{}", 1_301, 300));
        assert!(!verify("k", &header, b"{}", 699, 300));
    }

    #[test]
    fn any_of_several_signatures_may_match() {
        let header = sign("new", 50, b"x");
        let old = sign("old", 50, b"x");
        let both = format!("{header},v1={}", old.split_once("v1=").unwrap().1);
        assert!(verify("old", &both, b"x", 50, 300));
        assert!(verify("new", &both, b"x", 50, 300));
    }

    #[test]
    fn the_signature_matches_an_independently_computed_vector() {
        // Python: hmac.new(b"key", b'1700000000.{"a":1}', hashlib.sha256).hexdigest()
        assert_eq!(
            sign("key", 1_700_000_000, br#"{"a":1}"#),
            "t=1700000000,v1=a438e398bfafc57e4396bb7fc2304422f0f768e965d073ca313cb52e22e6ad03"
        );
    }

    /// What the test server saw.
    struct Seen {
        request_line: String,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    }

    impl Seen {
        fn header(&self, name: &str) -> Option<&str> {
            self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
        }
    }

    /// A one-request HTTP/1.1 server on loopback that answers with `status`.
    async fn serve_once(status: u16) -> (String, tokio::task::JoinHandle<Seen>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hooks/ricevo", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            let head_end = loop {
                let n = socket.read(&mut chunk).await.unwrap();
                assert!(n > 0, "client closed before sending headers");
                buf.extend_from_slice(&chunk[..n]);
                if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    break i;
                }
            };
            let head = String::from_utf8(buf[..head_end].to_vec()).unwrap();
            let mut lines = head.split("\r\n");
            let request_line = lines.next().unwrap().to_string();
            let headers: Vec<(String, String)> = lines
                .filter_map(|l| l.split_once(':'))
                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                .collect();
            let length: usize = headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
                .map(|(_, v)| v.parse().unwrap())
                .unwrap_or(0);
            let mut body = buf[head_end + 4..].to_vec();
            while body.len() < length {
                let n = socket.read(&mut chunk).await.unwrap();
                assert!(n > 0, "client closed mid-body");
                body.extend_from_slice(&chunk[..n]);
            }
            let reply = format!("HTTP/1.1 {status} Whatever\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            socket.write_all(reply.as_bytes()).await.unwrap();
            socket.shutdown().await.unwrap();
            Seen { request_line, headers, body }
        });
        (url, task)
    }

    #[tokio::test]
    async fn a_delivery_posts_signed_json_that_the_receiver_can_verify() {
        let (url, server) = serve_once(204).await;
        let now: Timestamp = "2026-12-01T08:00:00Z".parse().unwrap();
        let body = r#"{"type":"appointment.booked","id":"ap_1","città":"Prato"}"#;
        loopback().deliver(&url, "whsec", "evt-42", body, now).await.unwrap();
        let seen = server.await.unwrap();
        assert_eq!(seen.request_line, "POST /hooks/ricevo HTTP/1.1");
        assert_eq!(seen.body, body.as_bytes());
        assert_eq!(seen.header("content-type"), Some("application/json"));
        assert_eq!(seen.header("ricevo-event-id"), Some("evt-42"));
        assert!(seen.header("user-agent").unwrap().starts_with("Ricevo-Webhooks/"));
        let signature = seen.header("ricevo-signature").unwrap();
        assert!(signature.starts_with(&format!("t={},v1=", now.as_second())));
        assert!(verify("whsec", signature, &seen.body, now.as_second() + 5, DEFAULT_TOLERANCE_SECONDS));
        assert!(!verify("wrong", signature, &seen.body, now.as_second(), DEFAULT_TOLERANCE_SECONDS));
    }

    #[tokio::test]
    async fn a_server_error_is_a_failed_delivery() {
        let (url, server) = serve_once(500).await;
        let err = loopback().deliver(&url, "k", "evt-1", "{}", Timestamp::UNIX_EPOCH).await.unwrap_err();
        assert!(matches!(err, NotifyError::WebhookStatus(500)), "{err}");
        server.await.unwrap();
    }

    #[tokio::test]
    async fn a_redirect_is_not_followed_and_counts_as_failed() {
        let (url, server) = serve_once(302).await;
        let err = loopback().deliver(&url, "k", "evt-1", "{}", Timestamp::UNIX_EPOCH).await.unwrap_err();
        assert!(matches!(err, NotifyError::WebhookStatus(302)), "{err}");
        server.await.unwrap();
    }

    #[tokio::test]
    async fn a_receiver_that_never_answers_times_out() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let hold = tokio::spawn(async move {
            let (socket, _) = listener.accept().await.unwrap();
            tokio::time::sleep(Duration::from_secs(5)).await;
            drop(socket);
        });
        let started = std::time::Instant::now();
        let err = loopback()
            .deliver_within(&url, "k", "e", "{}", Timestamp::UNIX_EPOCH, Duration::from_millis(300))
            .await
            .unwrap_err();
        assert!(matches!(&err, NotifyError::Http(e) if e.is_timeout()), "{err}");
        assert!(started.elapsed() < Duration::from_secs(3));
        hold.abort();
    }

    #[tokio::test]
    async fn a_closed_port_is_a_failed_delivery() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        drop(listener);
        let err = loopback().deliver(&url, "k", "e", "{}", Timestamp::UNIX_EPOCH).await.unwrap_err();
        assert!(matches!(err, NotifyError::Http(_)), "{err}");
    }

    /// Whether someone connected to `listener` (accepted without waiting: a connection made
    /// before this call is already in the backlog).
    fn was_contacted(listener: &std::net::TcpListener) -> bool {
        listener.set_nonblocking(true).unwrap();
        match listener.accept() {
            Ok(_) => true,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => false,
            Err(e) => panic!("{e}"),
        }
    }

    #[tokio::test]
    async fn an_internal_address_not_allowed_is_refused_before_any_connection() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let public_only = WebhookSender::new(AllowedHosts::default()).unwrap();
        for url in [
            format!("http://127.0.0.1:{port}/hook"),
            format!("http://0x7f000001:{port}/hook"),
            format!("http://2130706433:{port}/hook"),
            format!("http://0177.0.0.1:{port}/hook"),
            format!("http://127.1:{port}/hook"),
            format!("http://[::ffff:127.0.0.1]:{port}/hook"),
            format!("http://localhost:{port}/hook"),
        ] {
            let err = public_only.deliver(&url, "k", "e", "{}", Timestamp::UNIX_EPOCH).await.unwrap_err();
            assert!(matches!(err, NotifyError::Destination(DestinationError::Internal { .. })), "{url}: {err}");
            assert!(err.to_string().contains("internal"), "{err}");
            assert!(!err.is_permanent(), "allowing the host later must let the event through");
        }
        assert!(!was_contacted(&listener), "an internal receiver was contacted");
    }

    #[tokio::test]
    async fn the_client_resolves_names_through_the_check_and_reports_why_it_refused() {
        // Past the check of the URL itself, straight to the client: its resolver refuses.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let public_only = WebhookSender::new(AllowedHosts::default()).unwrap();
        let e = public_only.http.post(format!("http://localhost:{port}/")).send().await.unwrap_err();
        let err = refusal_or_http(e);
        assert!(matches!(err, NotifyError::Destination(DestinationError::Internal { .. })), "{err}");
        assert!(!was_contacted(&listener));
    }

    #[tokio::test]
    async fn an_allowed_internal_name_is_resolved_and_reached() {
        let (url, server) = serve_once(204).await;
        let url = url.replace("127.0.0.1", "localhost");
        let sender = WebhookSender::new(AllowedHosts::parse(["localhost"]).unwrap()).unwrap();
        sender.deliver(&url, "k", "evt-1", "{}", Timestamp::UNIX_EPOCH).await.unwrap();
        assert_eq!(server.await.unwrap().request_line, "POST /hooks/ricevo HTTP/1.1");
    }

    #[tokio::test]
    async fn a_malformed_stored_address_fails_for_good() {
        let err = loopback().deliver("ftp://x.it/", "k", "e", "{}", Timestamp::UNIX_EPOCH).await.unwrap_err();
        assert!(matches!(err, NotifyError::Destination(DestinationError::Malformed)), "{err}");
        assert!(err.is_permanent());
    }
}
