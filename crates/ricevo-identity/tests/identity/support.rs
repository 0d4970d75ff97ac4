//! A small federation for the tests: a trust anchor, an optional intermediate and OpenID
//! providers, all served from one loopback HTTP server, every statement really signed (RSA,
//! josekit) the way the SPID/CIE rules want it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use jiff::{SignedDuration, Timestamp};
use josekit::jwk::Jwk;
use ricevo_identity::{Acr, FederationSettings, RelyingParty, RelyingPartyKeys, TrustAnchor};
use serde_json::{Value, json};

/// What the server answers at a path (for a fetch endpoint: at `path#sub`).
#[derive(Clone)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) content_type: &'static str,
    pub(crate) body: String,
}

#[derive(Clone, Default)]
struct Shared {
    answers: Arc<Mutex<HashMap<String, Answer>>>,
    posted: Arc<Mutex<Vec<(String, String)>>>,
}

/// An entity of the test federation with its federation key.
#[derive(Clone)]
pub(crate) struct Entity {
    pub(crate) id: String,
    pub(crate) key: Jwk,
}

impl Entity {
    pub(crate) fn jwks(&self) -> Value {
        public_jwks(&[&self.key])
    }
}

/// The running test federation.
pub(crate) struct Federation {
    pub(crate) base: String,
    pub(crate) now: Timestamp,
    pub(crate) anchor: Entity,
    pub(crate) provider: Entity,
    /// The provider's OIDC signing key (ID tokens, userinfo).
    pub(crate) provider_oidc: Jwk,
    shared: Shared,
}

pub(crate) fn new_key(use_: &str) -> Jwk {
    let mut jwk = Jwk::generate_rsa_key(2048).expect("rsa key");
    jwk.set_key_use(use_);
    let kid = format!("k{}", rand_suffix());
    jwk.set_key_id(kid);
    jwk
}

fn rand_suffix() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed).to_string()
}

pub(crate) fn public_jwks(keys: &[&Jwk]) -> Value {
    let keys: Vec<Value> = keys
        .iter()
        .map(|k| {
            // josekit's public key keeps `use`, `n`, `e`, not the `kid`.
            let mut public = k.to_public_key().expect("public");
            public.set_key_id(k.key_id().expect("kid"));
            Value::Object(public.as_ref().clone())
        })
        .collect();
    json!({ "keys": keys })
}

/// Signs `payload` with RS256, `kid` and optional `typ` in the header.
pub(crate) fn sign(payload: &Value, key: &Jwk, typ: Option<&str>) -> String {
    let mut header = josekit::jws::JwsHeader::new();
    if let Some(typ) = typ {
        header.set_token_type(typ);
    }
    header.set_key_id(key.key_id().expect("kid"));
    let signer = josekit::jws::RS256.signer_from_jwk(key).expect("signer");
    josekit::jws::serialize_compact(payload.to_string().as_bytes(), &header, &signer).expect("signed")
}

/// Encrypts `plain` to `public_key` (RSA-OAEP, A256CBC-HS512), as providers encrypt userinfo.
pub(crate) fn encrypt(plain: &str, public_key: &Value) -> String {
    let jwk = Jwk::from_map(public_key.as_object().expect("object").clone()).expect("jwk");
    let mut header = josekit::jwe::JweHeader::new();
    header.set_algorithm("RSA-OAEP");
    header.set_content_encryption("A256CBC-HS512");
    header.set_key_id(jwk.key_id().expect("kid"));
    let encrypter = josekit::jwe::RSA_OAEP.encrypter_from_jwk(&jwk).expect("encrypter");
    josekit::jwe::serialize_compact(plain.as_bytes(), &header, &encrypter).expect("encrypted")
}

/// Decodes a JWT's payload without checking it (the tests look inside what the RP sent).
pub(crate) fn payload_of(jwt: &str) -> Value {
    use base64::Engine;
    let part = jwt.split('.').nth(1).expect("payload part");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).expect("base64");
    serde_json::from_slice(&bytes).expect("json")
}

/// Verifies an RS256 JWS with one key of `jwks`; the payload.
pub(crate) fn verify_with(jwt: &str, jwks: &Value) -> Value {
    let header = josekit::jwt::decode_header(jwt).expect("header");
    let kid = header.claim("kid").and_then(Value::as_str).expect("kid").to_owned();
    let key =
        jwks["keys"].as_array().expect("keys").iter().find(|k| k["kid"] == kid.as_str()).expect("key named by kid");
    let jwk = Jwk::from_map(key.as_object().expect("object").clone()).expect("jwk");
    let verifier = josekit::jws::RS256.verifier_from_jwk(&jwk).expect("verifier");
    let (payload, _) = josekit::jws::deserialize_compact(jwt, &verifier).expect("valid signature");
    serde_json::from_slice(&payload).expect("json")
}

impl Federation {
    /// A trust anchor at `/ta` and a provider at `/op` whose chain resolves.
    pub(crate) async fn start() -> Federation {
        let shared = Shared::default();
        let app = axum::Router::new().fallback(answer).with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let now = Timestamp::now();
        let fed = Federation {
            anchor: Entity { id: format!("{base}/ta"), key: new_key("sig") },
            provider: Entity { id: format!("{base}/op"), key: new_key("sig") },
            provider_oidc: new_key("sig"),
            base,
            now,
            shared,
        };
        fed.publish_anchor(&fed.anchor, &[fed.provider.id.clone()]);
        fed.publish_provider(&fed.provider, &fed.provider_oidc, &[fed.anchor.id.clone()]);
        fed.register(&fed.anchor, &fed.provider, json!({}), fed.now + SignedDuration::from_hours(24));
        fed
    }

    pub(crate) fn set(&self, key: &str, status: u16, content_type: &'static str, body: String) {
        self.shared.answers.lock().expect("lock").insert(key.to_owned(), Answer { status, content_type, body });
    }

    /// The form bodies POSTed to `path`.
    pub(crate) fn posted(&self, path: &str) -> Vec<String> {
        self.shared.posted.lock().expect("lock").iter().filter(|(p, _)| p == path).map(|(_, b)| b.clone()).collect()
    }

    fn path_of(&self, id: &str) -> String {
        id.strip_prefix(&self.base).expect("entity on this server").to_owned()
    }

    /// Publishes a trust anchor's (or intermediate's) entity configuration, self-signed, with
    /// its fetch and list endpoints; `listed` are the providers its list endpoint names.
    pub(crate) fn publish_anchor(&self, anchor: &Entity, listed: &[String]) {
        self.publish_authority(anchor, &[], listed);
    }

    /// An intermediate: like an anchor, with authority hints.
    pub(crate) fn publish_authority(&self, entity: &Entity, hints: &[String], listed: &[String]) {
        let ec = json!({
            "iss": entity.id, "sub": entity.id,
            "iat": self.now.as_second(), "exp": (self.now + SignedDuration::from_hours(48)).as_second(),
            "jwks": entity.jwks(),
            "authority_hints": hints,
            "metadata": { "federation_entity": {
                "organization_name": "Test authority",
                "federation_fetch_endpoint": format!("{}/fetch", entity.id),
                "federation_list_endpoint": format!("{}/list", entity.id),
            }},
        });
        let path = self.path_of(&entity.id);
        self.set(
            &format!("{path}/.well-known/openid-federation"),
            200,
            "application/entity-statement+jwt",
            sign(&ec, &entity.key, Some("entity-statement+jwt")),
        );
        self.set(&format!("{path}/list"), 200, "application/json", json!(listed).to_string());
    }

    /// The `openid_provider` metadata of a provider at `id`.
    pub(crate) fn provider_metadata(&self, id: &str, oidc: &Jwk) -> Value {
        json!({
            "issuer": id,
            "organization_name": "Provider di prova",
            "authorization_endpoint": format!("{id}/authorization"),
            "token_endpoint": format!("{id}/token"),
            "userinfo_endpoint": format!("{id}/userinfo"),
            "end_session_endpoint": format!("{id}/logout"),
            "jwks": public_jwks(&[oidc]),
            "response_types_supported": ["code"],
            "acr_values_supported": ["https://www.spid.gov.it/SpidL1", "https://www.spid.gov.it/SpidL2"],
            "id_token_signing_alg_values_supported": ["RS256", "ES256"],
        })
    }

    /// Publishes a provider's entity configuration with the given metadata.
    pub(crate) fn publish_provider_with(&self, provider: &Entity, metadata: Value, hints: &[String]) {
        let ec = json!({
            "iss": provider.id, "sub": provider.id,
            "iat": self.now.as_second(), "exp": (self.now + SignedDuration::from_hours(48)).as_second(),
            "jwks": provider.jwks(),
            "authority_hints": hints,
            "metadata": {
                "openid_provider": metadata,
                "federation_entity": { "organization_name": "Provider di prova", "logo_uri": format!("{}/logo.svg", provider.id) },
            },
        });
        let path = self.path_of(&provider.id);
        self.set(
            &format!("{path}/.well-known/openid-federation"),
            200,
            "application/entity-statement+jwt",
            sign(&ec, &provider.key, Some("entity-statement+jwt")),
        );
    }

    pub(crate) fn publish_provider(&self, provider: &Entity, oidc: &Jwk, hints: &[String]) {
        self.publish_provider_with(provider, self.provider_metadata(&provider.id, oidc), hints);
    }

    /// The superior's subordinate statement about `subject` (its registered keys), with a
    /// metadata policy for `openid_provider` and an expiry.
    pub(crate) fn register(&self, superior: &Entity, subject: &Entity, policy: Value, exp: Timestamp) {
        self.register_keys(superior, subject, subject.jwks(), policy, exp);
    }

    pub(crate) fn register_keys(
        &self,
        superior: &Entity,
        subject: &Entity,
        jwks: Value,
        policy: Value,
        exp: Timestamp,
    ) {
        let mut statement = json!({
            "iss": superior.id, "sub": subject.id,
            "iat": self.now.as_second(), "exp": exp.as_second(),
            "jwks": jwks,
        });
        if policy.as_object().is_some_and(|p| !p.is_empty()) {
            statement["metadata_policy"] = json!({ "openid_provider": policy });
        }
        let path = self.path_of(&superior.id);
        self.set(
            &format!("{path}/fetch#{}", subject.id),
            200,
            "application/entity-statement+jwt",
            sign(&statement, &superior.key, Some("entity-statement+jwt")),
        );
    }

    /// Settings that trust this federation's anchor, and only the default provider.
    pub(crate) fn settings(&self) -> FederationSettings {
        FederationSettings {
            trust_anchors: vec![TrustAnchor { entity_id: self.anchor.id.clone(), jwks: self.anchor.jwks() }],
            authority_hints: vec![self.anchor.id.clone()],
            trust_marks: Vec::new(),
            providers: Vec::new(),
            acr: Acr::SpidL2,
            allow_http: true,
            contacts: vec!["ufficio@comune.example.it".into()],
            organization_name: "Comune di Prova".into(),
        }
    }

    pub(crate) fn relying_party(&self, settings: FederationSettings) -> (RelyingParty, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("temp dir");
        let keys = RelyingPartyKeys::load_or_create(&dir.path().join("rp.json")).expect("keys");
        let rp = RelyingParty::new(&format!("{}/rp", self.base), Arc::new(keys), settings, reqwest::Client::new())
            .expect("relying party");
        (rp, dir)
    }
}

async fn answer(
    State(shared): State<Shared>,
    method: Method,
    uri: Uri,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    if method == Method::POST {
        shared.posted.lock().expect("lock").push((path.clone(), String::from_utf8_lossy(&body).into_owned()));
    }
    let key = match query.get("sub") {
        Some(sub) => format!("{path}#{sub}"),
        None => path,
    };
    let found = shared.answers.lock().expect("lock").get(&key).cloned();
    match found {
        Some(a) => (
            StatusCode::from_u16(a.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            [("content-type", a.content_type)],
            a.body,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}
