//! A push service on loopback, as RFC 8030 describes one, for the Web Push tests: it takes a
//! POST to a subscription's endpoint, checks the VAPID header (RFC 8292: an ES256 JWT whose
//! audience is this service's origin, signed by the key the header names, which must be the
//! application server key the browser subscribed with), decrypts the RFC 8291 payload with the
//! private key of the browser the test plays, and records what it read. It can be switched
//! "down" (503) or made to say a subscription is gone (410).
//!
//! It moves to the dev-only crate `ricevo-fakes` once that crate exists on this branch.

#![allow(clippy::unwrap_used, dead_code, unreachable_pub)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

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

struct Browser {
    secret: p256::SecretKey,
    auth: [u8; 16],
}

struct Inner {
    /// The application server key browsers subscribe with (base64url).
    server_key: String,
    browsers: HashMap<String, Browser>,
    received: Vec<Received>,
    refused: Vec<String>,
    mode: Mode,
}

/// The running service.
#[derive(Clone)]
pub struct PushService {
    /// `http://127.0.0.1:PORT`.
    pub origin: String,
    inner: Arc<Mutex<Inner>>,
}

impl PushService {
    /// Starts the service on a loopback port; browsers subscribe with `server_key` (the
    /// VAPID public key, base64url).
    pub async fn start(server_key: &str) -> PushService {
        let inner = Arc::new(Mutex::new(Inner {
            server_key: server_key.to_owned(),
            browsers: HashMap::new(),
            received: Vec::new(),
            refused: Vec::new(),
            mode: Mode::Up,
        }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let origin = format!("http://{}", listener.local_addr().unwrap());
        let service = PushService { origin, inner };
        let app = Router::new().route("/push/{id}", post(push)).with_state(service.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        service
    }

    /// A new browser subscribes: fresh P-256 keys and secret, a new endpoint.
    pub fn subscribe(&self) -> Subscription {
        let mut inner = self.inner.lock().unwrap();
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
        self.inner.lock().unwrap().mode = mode;
    }

    /// The pushes accepted so far.
    pub fn received(&self) -> Vec<Received> {
        self.inner.lock().unwrap().received.clone()
    }

    /// Why pushes were refused (a bad VAPID header, an undecryptable body).
    pub fn refused(&self) -> Vec<String> {
        self.inner.lock().unwrap().refused.clone()
    }
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

async fn push(
    State(service): State<PushService>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let mut inner = service.inner.lock().unwrap();
    match inner.mode {
        Mode::Down => return StatusCode::SERVICE_UNAVAILABLE,
        Mode::Gone => return StatusCode::GONE,
        Mode::Up => {}
    }
    if let Err(why) = check_vapid(&headers, &inner.server_key, &service.origin) {
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
