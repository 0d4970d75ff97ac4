//! Web Push (RFC 8030) for the waiting room: "tocca a te" on a citizen's browser through the
//! browser's own push service, and nobody else's.
//!
//! - The server identifies itself with VAPID (RFC 8292): one P-256 key pair per instance
//!   ([`VapidKey`], kept in the data folder), whose public key the pages hand to the browser
//!   when it subscribes, and which signs a short JWT (ES256) on every push, with the push
//!   service's origin as audience.
//! - The payload is encrypted for the one browser that subscribed (RFC 8291, `aes128gcm`
//!   content coding of RFC 8188), by the `web-push-native` crate: the push service carries it
//!   and cannot read it.
//! - [`PushSender`] POSTs it with `TTL` and `Urgency: high` through the same address checks as
//!   webhooks: a push endpoint is an address a citizen's browser gave us, so it must be
//!   `https://` and public (an internal host only if the configuration allows it).

use std::io::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jiff::Timestamp;
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{Signature, SigningKey};
use ricevo_core::Lang;
use ricevo_store::PushSubscription;
use serde::{Deserialize, Serialize};

use crate::NotifyError;
use crate::destination::{AllowedHosts, CheckedResolver, DestinationError, WebhookUrl};

/// How long a push service keeps a notification for a browser that is offline: after a
/// quarter of an hour "it is your turn" is news of the past.
pub const TTL_SECONDS: u64 = 900;
/// How long a VAPID signature is valid (RFC 8292 allows at most 24 hours).
const JWT_VALID_SECONDS: i64 = 12 * 3600;
/// How long one push may take before it counts as failed.
const PUSH_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest push endpoint accepted (real ones are a few hundred characters).
pub const MAX_ENDPOINT_LEN: usize = 500;
/// A browser's public key, base64url: 65 bytes make 87 characters (a few more with padding).
const MAX_P256DH_CHARS: usize = 100;
/// A browser's authentication secret, base64url: 16 bytes make 22 characters.
const MAX_AUTH_CHARS: usize = 32;

/// The instance's VAPID key pair (P-256).
#[derive(Clone)]
pub struct VapidKey {
    signing: SigningKey,
}

impl std::fmt::Debug for VapidKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the private key.
        f.debug_struct("VapidKey").field("public", &self.public_key()).finish()
    }
}

impl VapidKey {
    /// A new random key pair.
    pub fn generate() -> VapidKey {
        let mut bytes = [0u8; 32];
        loop {
            rand::fill(&mut bytes);
            // A 32-byte string is a valid scalar unless it is zero or past the curve's order,
            // which happens with a probability of about 2^-32.
            if let Ok(signing) = SigningKey::from_slice(&bytes) {
                return VapidKey { signing };
            }
        }
    }

    /// The key pair of a private key as stored (base64url of the 32-byte scalar).
    pub fn from_base64(text: &str) -> Result<VapidKey, NotifyError> {
        let bad = || NotifyError::Invalid("the VAPID key file does not hold a P-256 private key".into());
        let bytes = URL_SAFE_NO_PAD.decode(text.trim()).map_err(|_| bad())?;
        Ok(VapidKey { signing: SigningKey::from_slice(&bytes).map_err(|_| bad())? })
    }

    /// The private key as stored.
    fn to_base64(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.signing.to_bytes())
    }

    /// The key pair kept in `path`, made there (readable by this user only) on first use, so
    /// browsers that subscribed keep receiving across restarts.
    pub fn load_or_create(path: &Path) -> Result<VapidKey, NotifyError> {
        match std::fs::read_to_string(path) {
            Ok(text) => return VapidKey::from_base64(&text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
        let key = VapidKey::generate();
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        match options.open(path) {
            Ok(mut file) => {
                file.write_all(key.to_base64().as_bytes())?;
                file.sync_all()?;
                Ok(key)
            }
            // Another node sharing the folder made it first: use theirs.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                VapidKey::from_base64(&std::fs::read_to_string(path)?)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The public key as browsers take it (`applicationServerKey`): the uncompressed point,
    /// base64url without padding.
    pub fn public_key(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.signing.verifying_key().to_encoded_point(false).as_bytes())
    }

    /// The `Authorization` header of a push to `endpoint` (RFC 8292 `vapid` scheme): a JWT
    /// signed with ES256 whose audience is the push service's origin, valid for 12 hours from
    /// `now`, naming `subject` (a `mailto:` or `https:` contact).
    pub fn authorization(&self, endpoint: &WebhookUrl, subject: &str, now: Timestamp) -> String {
        let header = URL_SAFE_NO_PAD.encode(br#"{"typ":"JWT","alg":"ES256"}"#);
        let claims = serde_json::json!({
            "aud": endpoint.origin(),
            "exp": now.as_second() + JWT_VALID_SECONDS,
            "sub": subject,
        });
        let claims = URL_SAFE_NO_PAD.encode(claims.to_string());
        let signed = format!("{header}.{claims}");
        let signature: Signature = self.signing.sign(signed.as_bytes());
        let jwt = format!("{signed}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()));
        format!("vapid t={jwt}, k={}", self.public_key())
    }
}

/// What a browser gave when it subscribed (`PushSubscription.toJSON()`), checked: the endpoint
/// is an `http(s)` address with a host, the keys decode to a P-256 point and 16 bytes. Whether
/// the endpoint may be reached is [`SubscriptionKeys::check_endpoint`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionKeys {
    /// The push service's URL for this browser.
    pub endpoint: WebhookUrl,
    /// The browser's public key, base64url as given.
    pub p256dh: String,
    /// The browser's authentication secret, base64url as given.
    pub auth: String,
}

/// Why a subscription is refused; [`SubscriptionError::message`] words it for the citizen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubscriptionError {
    /// Not an `https://` address with a host (or too long).
    #[error("the push endpoint is not an https:// address")]
    Endpoint,
    /// An address inside a private network, not on the allowed list.
    #[error("the push endpoint is an internal address")]
    Internal,
    /// The public key is not a P-256 point in base64url.
    #[error("the p256dh key is not a P-256 public key")]
    PublicKey,
    /// The secret is not 16 bytes in base64url.
    #[error("the auth secret is not 16 bytes")]
    Auth,
}

impl SubscriptionError {
    /// The field the refusal is about.
    pub fn field(&self) -> &'static str {
        match self {
            SubscriptionError::Endpoint | SubscriptionError::Internal => "endpoint",
            SubscriptionError::PublicKey => "p256dh",
            SubscriptionError::Auth => "auth",
        }
    }

    /// The refusal in `lang`.
    pub fn message(&self, lang: Lang) -> &'static str {
        match (self, lang) {
            (SubscriptionError::Endpoint, Lang::It) => {
                "Il browser ha indicato un servizio di notifiche non valido: serve un indirizzo https://."
            }
            (SubscriptionError::Endpoint, Lang::En) => {
                "The browser gave a push service address that is not valid: an https:// address is needed."
            }
            (SubscriptionError::Internal, Lang::It) => {
                "Il servizio di notifiche indicato dal browser è su una rete interna e non è ammesso."
            }
            (SubscriptionError::Internal, Lang::En) => {
                "The push service the browser gave is on an internal network and is not allowed."
            }
            (SubscriptionError::PublicKey, Lang::It) => "La chiave del browser (p256dh) non è valida.",
            (SubscriptionError::PublicKey, Lang::En) => "The browser's key (p256dh) is not valid.",
            (SubscriptionError::Auth, Lang::It) => "Il segreto del browser (auth) non è valido.",
            (SubscriptionError::Auth, Lang::En) => "The browser's secret (auth) is not valid.",
        }
    }
}

/// Base64url as browsers write it: without padding, though some add it.
fn decode_b64url(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text.trim().trim_end_matches('=')).ok()
}

impl SubscriptionKeys {
    /// Checks what a browser gave (the shape only; see [`SubscriptionKeys::check_endpoint`]).
    /// A plain `http://` endpoint is accepted only for a host `allowed` names (a push service
    /// inside the town's network, the tests' loopback fake).
    pub fn parse(
        endpoint: &str,
        p256dh: &str,
        auth: &str,
        allowed: &AllowedHosts,
    ) -> Result<SubscriptionKeys, SubscriptionError> {
        if endpoint.len() > MAX_ENDPOINT_LEN {
            return Err(SubscriptionError::Endpoint);
        }
        let url = WebhookUrl::parse(endpoint).map_err(|_| SubscriptionError::Endpoint)?;
        if !url.as_str().starts_with("https://") && !allowed.allows_host_of(&url) {
            return Err(SubscriptionError::Endpoint);
        }
        let key = (p256dh.len() <= MAX_P256DH_CHARS).then(|| decode_b64url(p256dh)).flatten();
        if key.is_none_or(|k| k.len() != 65 || p256::PublicKey::from_sec1_bytes(&k).is_err()) {
            return Err(SubscriptionError::PublicKey);
        }
        let secret = (auth.len() <= MAX_AUTH_CHARS).then(|| decode_b64url(auth)).flatten();
        if secret.is_none_or(|s| s.len() != 16) {
            return Err(SubscriptionError::Auth);
        }
        Ok(SubscriptionKeys { endpoint: url, p256dh: p256dh.trim().to_owned(), auth: auth.trim().to_owned() })
    }

    /// Whether the endpoint may be reached now: public, or allowed (DNS answers are checked
    /// again at every push).
    pub async fn check_endpoint(&self, allowed: &AllowedHosts) -> Result<(), SubscriptionError> {
        match allowed.check(&self.endpoint).await {
            Ok(()) => Ok(()),
            Err(DestinationError::Malformed) => Err(SubscriptionError::Endpoint),
            Err(_) => Err(SubscriptionError::Internal),
        }
    }
}

/// What the notification says, as the service worker reads it (JSON, encrypted for the browser).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushNotice {
    /// The notification's title.
    pub title: String,
    /// Its text.
    pub body: String,
    /// The waiting room to open on a click, relative to the service worker's scope (which is
    /// the citizen's own link, `/a/{token}/`): `join`. The link's token is never stored in
    /// clear, so the message names the page and the browser, which holds the link, completes it.
    pub url: String,
    /// Replaces an earlier notification of the same place instead of stacking.
    pub tag: String,
    /// Its language.
    pub lang: Lang,
}

impl PushNotice {
    /// "It is your turn" for place `entry` of `office` in `town`, with the ticket's number if any.
    pub fn your_turn(lang: Lang, town: &str, office: &str, entry: i64, ticket: Option<i32>) -> PushNotice {
        let (title, body) = match (lang, ticket) {
            (Lang::It, Some(n)) => {
                (format!("Tocca a te – {town}"), format!("Numero {n}: {office} ti aspetta. Torna alla sala d'attesa."))
            }
            (Lang::It, None) => {
                (format!("Tocca a te – {town}"), format!("{office} ti aspetta. Torna alla sala d'attesa."))
            }
            (Lang::En, Some(n)) => (
                format!("It's your turn – {town}"),
                format!("Number {n}: {office} is ready for you. Go back to the waiting room."),
            ),
            (Lang::En, None) => {
                (format!("It's your turn – {town}"), format!("{office} is ready for you. Go back to the waiting room."))
            }
        };
        PushNotice { title, body, url: "join".into(), tag: format!("ricevo-turn-{entry}"), lang }
    }

    /// "Your turn is near" for walk-in ticket `ticket` (place `entry`) of `office` in `town`.
    /// It carries the tag of [`PushNotice::your_turn`], which later replaces it.
    pub fn turn_near(lang: Lang, town: &str, office: &str, entry: i64, ticket: i32) -> PushNotice {
        let (title, body) = match lang {
            Lang::It => (
                format!("Tocca quasi a te – {town}"),
                format!("Numero {ticket}: {office} sta per chiamarti. Avvicinati o torna alla sala d'attesa."),
            ),
            Lang::En => (
                format!("Your turn is near – {town}"),
                format!("Number {ticket}: {office} is about to call you. Come closer or go back to the waiting room."),
            ),
        };
        PushNotice { title, body, url: "join".into(), tag: format!("ricevo-turn-{entry}"), lang }
    }
}

/// What the push service said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushOutcome {
    /// Accepted (201, or another 2xx).
    Delivered,
    /// The subscription is gone (404, 410): delete it.
    Gone,
}

/// Sends pushes, to public push services and the internal hosts the configuration allows only.
#[derive(Debug, Clone)]
pub struct PushSender {
    http: reqwest::Client,
    allowed: Arc<AllowedHosts>,
    key: Arc<VapidKey>,
    subject: String,
}

impl PushSender {
    /// A sender signing with `key` and naming `subject` (`mailto:` or `https:`) as the contact
    /// push services may write to; its client resolves names through the address checks and
    /// follows no redirect.
    pub fn new(key: Arc<VapidKey>, subject: String, allowed: AllowedHosts) -> Result<PushSender, NotifyError> {
        let allowed = Arc::new(allowed);
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(Arc::new(CheckedResolver(Arc::clone(&allowed))))
            .connect_timeout(Duration::from_secs(5))
            .timeout(PUSH_TIMEOUT)
            .user_agent(concat!("Ricevo-Push/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(PushSender { http, allowed, key, subject })
    }

    /// Encrypts `notice` for the subscription's browser and POSTs it to its push service.
    /// A 404 or 410 is [`PushOutcome::Gone`]; any other answer but 2xx is an error, to retry.
    pub async fn deliver(
        &self,
        subscription: &PushSubscription,
        notice: &PushNotice,
        now: Timestamp,
    ) -> Result<PushOutcome, NotifyError> {
        let endpoint = WebhookUrl::parse(&subscription.endpoint).map_err(DestinationError::from)?;
        self.allowed.check_literal(&endpoint)?;
        let bad_key = || NotifyError::Invalid("the subscription's keys are not valid".into());
        let public = decode_b64url(&subscription.p256dh).ok_or_else(bad_key)?;
        let public = p256::PublicKey::from_sec1_bytes(&public).map_err(|_| bad_key())?;
        let auth = decode_b64url(&subscription.auth).filter(|a| a.len() == 16).ok_or_else(bad_key)?;
        let auth = web_push_native::Auth::clone_from_slice(&auth);
        let body = serde_json::to_vec(notice)?;
        let encrypted = web_push_native::encrypt(body, &public, &auth)
            .map_err(|e| NotifyError::Invalid(format!("cannot encrypt the push: {e}")))?;
        let response = self
            .http
            .post(endpoint.as_str())
            .header(reqwest::header::AUTHORIZATION, self.key.authorization(&endpoint, &self.subject, now))
            .header(reqwest::header::CONTENT_ENCODING, "aes128gcm")
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .header("TTL", TTL_SECONDS.to_string())
            .header("Urgency", "high")
            .body(encrypted)
            .send()
            .await
            .map_err(crate::webhook::refusal_or_http)?;
        match response.status().as_u16() {
            200..=299 => Ok(PushOutcome::Delivered),
            404 | 410 => Ok(PushOutcome::Gone),
            status => Err(NotifyError::PushStatus(status)),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use p256::ecdsa::VerifyingKey;
    use p256::ecdsa::signature::Verifier as _;
    use p256::elliptic_curve::sec1::ToEncodedPoint as _;

    #[test]
    fn the_key_is_made_once_readable_by_its_owner_only_and_kept_across_restarts() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vapid.key");
        let first = VapidKey::load_or_create(&path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let again = VapidKey::load_or_create(&path).unwrap();
        assert_eq!(first.public_key(), again.public_key(), "a restart keeps the key");
        assert_eq!(URL_SAFE_NO_PAD.decode(first.public_key()).unwrap().len(), 65);
        assert!(!format!("{first:?}").contains(&first.to_base64()), "Debug never shows the private key");
        std::fs::write(dir.path().join("bad.key"), "not a key").unwrap();
        assert!(VapidKey::load_or_create(&dir.path().join("bad.key")).is_err());
    }

    #[test]
    fn the_vapid_header_is_an_es256_jwt_for_the_push_services_origin_that_verifies_with_the_public_key() {
        let key = VapidKey::generate();
        let endpoint = WebhookUrl::parse("https://push.example.net:8443/wpush/v2/abc").unwrap();
        let now: Timestamp = "2026-12-01T08:00:00Z".parse().unwrap();
        let header = key.authorization(&endpoint, "mailto:urp@comune.example.it", now);
        let (t, k) = header.strip_prefix("vapid t=").unwrap().split_once(", k=").unwrap();
        assert_eq!(k, key.public_key());
        let (signed, signature) = t.rsplit_once('.').unwrap();
        let claims = URL_SAFE_NO_PAD.decode(signed.split_once('.').unwrap().1).unwrap();
        let claims: serde_json::Value = serde_json::from_slice(&claims).unwrap();
        assert_eq!(claims["aud"], "https://push.example.net:8443", "the port is part of the origin");
        assert_eq!(claims["exp"], now.as_second() + 12 * 3600);
        assert_eq!(claims["sub"], "mailto:urp@comune.example.it");
        let verifying = VerifyingKey::from_sec1_bytes(&URL_SAFE_NO_PAD.decode(k).unwrap()).unwrap();
        let signature = Signature::from_slice(&URL_SAFE_NO_PAD.decode(signature).unwrap()).unwrap();
        verifying.verify(signed.as_bytes(), &signature).unwrap();
        assert!(verifying.verify(b"something else", &signature).is_err());
    }

    fn browser_keys() -> (p256::SecretKey, String, String) {
        let secret = p256::SecretKey::from_slice(&[7u8; 32]).unwrap();
        let public = URL_SAFE_NO_PAD.encode(secret.public_key().to_encoded_point(false).as_bytes());
        (secret, public, URL_SAFE_NO_PAD.encode([9u8; 16]))
    }

    #[test]
    fn subscriptions_need_https_a_p256_key_and_a_16_byte_secret_and_each_refusal_is_worded() {
        let (_, p256dh, auth) = browser_keys();
        let none = AllowedHosts::default();
        let ok = SubscriptionKeys::parse("https://fcm.googleapis.com/fcm/send/abc", &p256dh, &auth, &none).unwrap();
        assert_eq!(ok.endpoint.as_str(), "https://fcm.googleapis.com/fcm/send/abc");
        let refused = |endpoint: &str, key: &str, secret: &str| {
            SubscriptionKeys::parse(endpoint, key, secret, &none).unwrap_err()
        };
        assert_eq!(refused("http://push.example.net/x", &p256dh, &auth), SubscriptionError::Endpoint);
        assert_eq!(refused("javascript:alert(1)", &p256dh, &auth), SubscriptionError::Endpoint);
        let long = format!("https://push.example.net/{}", "x".repeat(600));
        assert_eq!(refused(&long, &p256dh, &auth), SubscriptionError::Endpoint);
        assert_eq!(refused("https://p.example.net/", "AAAA", &auth), SubscriptionError::PublicKey);
        assert_eq!(refused("https://p.example.net/", &"B".repeat(5000), &auth), SubscriptionError::PublicKey);
        assert_eq!(refused("https://p.example.net/", &p256dh, "c2hvcnQ"), SubscriptionError::Auth);
        assert_eq!(refused("https://p.example.net/", &p256dh, &"A".repeat(400)), SubscriptionError::Auth);
        assert!(SubscriptionError::Endpoint.message(Lang::It).contains("https://"));
        assert!(SubscriptionError::Auth.message(Lang::En).contains("secret"));
        // A loopback fake is reached over plain http only when the configuration allows it.
        let loopback = AllowedHosts::parse(["127.0.0.1"]).unwrap();
        assert!(SubscriptionKeys::parse("http://127.0.0.1:9/push/1", &p256dh, &auth, &loopback).is_ok());
        assert_eq!(refused("http://127.0.0.1:9/push/1", &p256dh, &auth), SubscriptionError::Endpoint);
    }

    #[tokio::test]
    async fn an_internal_endpoint_is_refused_unless_allowed() {
        let (_, p256dh, auth) = browser_keys();
        let none = AllowedHosts::default();
        for endpoint in
            ["https://127.0.0.1/push", "https://169.254.169.254/x", "https://localhost/x", "https://[::1]/x"]
        {
            let keys = SubscriptionKeys::parse(endpoint, &p256dh, &auth, &none).unwrap();
            assert_eq!(keys.check_endpoint(&none).await, Err(SubscriptionError::Internal), "{endpoint}");
        }
    }

    #[test]
    fn the_notice_says_whose_turn_it_is_in_the_citizens_language() {
        let it = PushNotice::your_turn(Lang::It, "Comune di Esempio", "Anagrafe", 12, Some(7));
        assert_eq!(it.title, "Tocca a te – Comune di Esempio");
        assert!(it.body.starts_with("Numero 7: Anagrafe ti aspetta"), "{}", it.body);
        assert_eq!((it.url.as_str(), it.tag.as_str()), ("join", "ricevo-turn-12"));
        let en = PushNotice::your_turn(Lang::En, "Comune di Esempio", "Anagrafe", 12, None);
        assert_eq!(en.title, "It's your turn – Comune di Esempio");
        let (secret, p256dh, auth) = browser_keys();
        // What the browser decrypts is exactly the notice (RFC 8291 round trip).
        let public = p256::PublicKey::from_sec1_bytes(&URL_SAFE_NO_PAD.decode(&p256dh).unwrap()).unwrap();
        let auth = web_push_native::Auth::clone_from_slice(&URL_SAFE_NO_PAD.decode(auth).unwrap());
        let sealed = web_push_native::encrypt(serde_json::to_vec(&en).unwrap(), &public, &auth).unwrap();
        let opened = web_push_native::decrypt(sealed, &secret, &auth).unwrap();
        assert_eq!(serde_json::from_slice::<PushNotice>(&opened).unwrap(), en);
    }
}
