//! A push service on loopback, as RFC 8030 describes one, for the Web Push tests: it takes a
//! POST to a subscription's endpoint, checks the VAPID header (RFC 8292: an ES256 JWT whose
//! audience is this service's origin, signed by the key the header names, which must be the
//! application server key the browser subscribed with), decrypts the RFC 8291 payload with the
//! private key of the browser the test plays, and records what it read. It can be switched
//! "down" (503) or made to say a subscription is gone (410).
//!
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::ecdsa::signature::Verifier as _;
use p256::ecdsa::{Signature, VerifyingKey};
use p256::elliptic_curve::sec1::ToEncodedPoint as _;
use serde_json::{Value, json};

/// How the service answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// 201 Created, the push recorded.
    Up,
    /// 503, nothing recorded: the service is down for a while.
    Down,
    /// 410 Gone for every subscription: the browser unsubscribed.
    Gone,
}

/// One push the service accepted, decrypted.
#[derive(Debug, Clone)]
pub struct Received {
    /// The subscription's id in the endpoint (`/push/{id}`).
    pub subscription: String,
    /// The decrypted payload.
    pub payload: Value,
    /// The `TTL` header.
    pub ttl: Option<String>,
    /// The `Urgency` header.
    pub urgency: Option<String>,
}

/// A browser's subscription, as `PushSubscription.toJSON()` gives it.
#[derive(Debug, Clone)]
pub struct Subscription {
    /// The id in the endpoint.
    pub id: String,
    /// The endpoint.
    pub endpoint: String,
    /// `toJSON()`.
    pub json: Value,
}

#[derive(Debug)]
struct Browser {
    secret: p256::SecretKey,
    auth: [u8; 16],
}

#[derive(Debug)]
struct Inner {
    /// The application server key browsers subscribe with (base64url).
    server_key: String,
    browsers: HashMap<String, Browser>,
    received: Vec<Received>,
    refused: Vec<String>,
    mode: Mode,
}

/// The running service.
#[derive(Debug, Clone)]
pub struct PushService {
    /// `http://127.0.0.1:PORT`.
    pub origin: String,
    inner: Arc<Mutex<Inner>>,
}

impl PushService {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A test that panicked while holding the lock leaves data worth reading.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A new browser subscribes: fresh P-256 keys and secret, a new endpoint.
    pub fn subscribe(&self) -> Subscription {
        let mut inner = self.lock();
        let id = format!("s{}", inner.browsers.len() + 1);
        let secret = loop {
            let mut bytes = [0u8; 32];
            rand::fill(&mut bytes);
            if let Ok(secret) = p256::SecretKey::from_slice(&bytes) {
                break secret;
            }
        };
        let mut auth = [0u8; 16];
        rand::fill(&mut auth);
        let p256dh = URL_SAFE_NO_PAD.encode(secret.public_key().to_encoded_point(false).as_bytes());
        let endpoint = format!("{}/push/{id}", self.origin);
        let json = json!({
            "endpoint": endpoint,
            "expirationTime": null,
            "keys": {"p256dh": p256dh, "auth": URL_SAFE_NO_PAD.encode(auth)},
        });
        inner.browsers.insert(id.clone(), Browser { secret, auth });
        Subscription { id, endpoint, json }
    }

    /// Switches how the service answers.
    pub fn set_mode(&self, mode: Mode) {
        self.lock().mode = mode;
    }

    /// The pushes accepted so far.
    pub fn received(&self) -> Vec<Received> {
        self.lock().received.clone()
    }

    /// Why pushes were refused (a bad VAPID header, an undecryptable body).
    pub fn refused(&self) -> Vec<String> {
        self.lock().refused.clone()
    }
}

/// Starts a push service on a loopback port, for browsers that subscribe with `server_key`
/// (the VAPID public key, base64url); returns its origin (`http://127.0.0.1:PORT`) and the
/// handle to subscribe browsers, read what arrived and switch its behaviour.
pub async fn start(server_key: &str) -> (String, PushService) {
    let inner = Arc::new(Mutex::new(Inner {
        server_key: server_key.to_owned(),
        browsers: HashMap::new(),
        received: Vec::new(),
        refused: Vec::new(),
        mode: Mode::Up,
    }));
    // The router needs the handle and the handle needs the origin: the origin is filled in
    // once the port is bound, before any request can arrive.
    let origin = Arc::new(Mutex::new(String::new()));
    let router = Router::new().route("/push/{id}", post(push)).with_state((inner.clone(), origin.clone()));
    let base = crate::serve(router).await;
    *origin.lock().unwrap_or_else(PoisonError::into_inner) = base.clone();
    (base.clone(), PushService { origin: base, inner })
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

/// The RFC 8292 check: `vapid t=<jwt>, k=<key>` with the subscribed key, a valid ES256
/// signature, this service's origin as audience, an expiry and a contact.
fn check_vapid(headers: &HeaderMap, server_key: &str, origin: &str) -> Result<(), String> {
    let auth = header(headers, "authorization").ok_or("no Authorization")?;
    let rest = auth.strip_prefix("vapid ").ok_or("not the vapid scheme")?;
    let mut token = None;
    let mut key = None;
    for part in rest.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => token = Some(v.to_owned()),
            Some(("k", v)) => key = Some(v.to_owned()),
            _ => {}
        }
    }
    let (token, key) = (token.ok_or("no t=")?, key.ok_or("no k=")?);
    if key != server_key {
        return Err("k is not the key the browser subscribed with".into());
    }
    let (signed, signature) = token.rsplit_once('.').ok_or("no signature")?;
    let (head, claims) = signed.split_once('.').ok_or("no claims")?;
    let head: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(head).map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
    if head["alg"] != "ES256" {
        return Err(format!("alg {}", head["alg"]));
    }
    let verifying = VerifyingKey::from_sec1_bytes(&URL_SAFE_NO_PAD.decode(&key).map_err(|e| e.to_string())?)
        .map_err(|e| e.to_string())?;
    let signature = Signature::from_slice(&URL_SAFE_NO_PAD.decode(signature).map_err(|e| e.to_string())?)
        .map_err(|e| e.to_string())?;
    verifying.verify(signed.as_bytes(), &signature).map_err(|_| "bad signature".to_owned())?;
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(claims).map_err(|e| e.to_string())?)
        .map_err(|e| e.to_string())?;
    if claims["aud"] != origin {
        return Err(format!("aud {} is not {origin}", claims["aud"]));
    }
    if !claims["exp"].is_i64()
        || !claims["sub"].as_str().is_some_and(|s| s.starts_with("mailto:") || s.starts_with("https:"))
    {
        return Err(format!("claims {claims}"));
    }
    Ok(())
}

type Shared = (Arc<Mutex<Inner>>, Arc<Mutex<String>>);

async fn push(
    State((inner, origin)): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let origin = origin.lock().unwrap_or_else(PoisonError::into_inner).clone();
    let mut inner = inner.lock().unwrap_or_else(PoisonError::into_inner);
    match inner.mode {
        Mode::Down => return StatusCode::SERVICE_UNAVAILABLE,
        Mode::Gone => return StatusCode::GONE,
        Mode::Up => {}
    }
    if let Err(why) = check_vapid(&headers, &inner.server_key, &origin) {
        inner.refused.push(why);
        return StatusCode::UNAUTHORIZED;
    }
    if header(&headers, "content-encoding").as_deref() != Some("aes128gcm") {
        inner.refused.push("content-encoding is not aes128gcm".into());
        return StatusCode::BAD_REQUEST;
    }
    let Some(browser) = inner.browsers.get(&id) else { return StatusCode::NOT_FOUND };
    let auth = web_push_native::Auth::clone_from_slice(&browser.auth);
    let payload = match web_push_native::decrypt(body.to_vec(), &browser.secret, &auth) {
        Ok(plain) => serde_json::from_slice(&plain).unwrap_or(Value::Null),
        Err(e) => {
            inner.refused.push(format!("cannot decrypt: {e}"));
            return StatusCode::BAD_REQUEST;
        }
    };
    let received =
        Received { subscription: id, payload, ttl: header(&headers, "ttl"), urgency: header(&headers, "urgency") };
    inner.received.push(received);
    StatusCode::CREATED
}
