//! The relying party: our entity configuration, the trusted providers, and a sign-in.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use serde_json::{Map, Value, json};
use sha2::Digest;

use crate::jose::{self, Object};
use crate::keys::ENTITY_CONFIGURATION_LIFETIME;
use crate::trust_chain::{self, LEEWAY, ResolvedProvider, Resolver, same_entity};
use crate::{Acr, IdentityError, PendingSignIn, ProviderChoice, ProviderKind, RelyingPartyKeys, VerifiedIdentity};

/// A trust anchor we trust, with its federation keys pinned in the configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct TrustAnchor {
    /// The anchor's entity id.
    pub entity_id: String,
    /// The anchor's federation public keys (`{"keys": [...]}`).
    pub jwks: serde_json::Value,
}

/// How this relying party takes part in the federation.
#[derive(Debug, Clone, PartialEq)]
pub struct FederationSettings {
    /// The trust anchors whose chains we accept.
    pub trust_anchors: Vec<TrustAnchor>,
    /// Our superiors (intermediates or trust anchors), published as `authority_hints`.
    pub authority_hints: Vec<String>,
    /// The trust marks issued to this relying party (JWTs), published in our entity
    /// configuration.
    pub trust_marks: Vec<String>,
    /// The providers offered (entity ids); empty = those the trust anchors list.
    pub providers: Vec<String>,
    /// The level of assurance asked.
    pub acr: Acr,
    /// Only for local tests: entity ids may be `http://` URLs.
    pub allow_http: bool,
    /// Contacts (e-mail addresses) published in our metadata.
    pub contacts: Vec<String>,
    /// The organization's name published in our metadata.
    pub organization_name: String,
}

/// How long a request object and a client assertion are valid.
const ASSERTION_LIFETIME: SignedDuration = SignedDuration::from_secs(120);

/// How long a provider whose chain did not resolve is not asked again.
const FAILURE_CACHE: SignedDuration = SignedDuration::from_secs(60);

/// How long the trust anchors' list of providers is kept.
const LIST_CACHE: SignedDuration = SignedDuration::from_mins(10);

/// How long we wait for a provider's token and userinfo endpoints.
const TIMEOUT: Duration = Duration::from_secs(15);

/// The fiscal number claim of the SPID/CIE attribute registry.
const FISCAL_NUMBER: &str = "https://attributes.eid.gov.it/fiscal_number";
/// SPID's mobile phone attribute (CIE releases the standard `phone_number`).
const SPID_PHONE: &str = "https://attributes.eid.gov.it/phone_number";

/// A relying party of the SPID/CIE OIDC Federation.
///
/// Which providers are CIE: those named with [`RelyingParty::with_cie_providers`] (the
/// configuration's `cie_providers`); every other provider is SPID. The federation's metadata
/// carries no dependable marker of the scheme (SPID and CIE providers publish the same
/// `openid_provider` metadata), and CIE has a single, well-known provider, so naming it is
/// both simple and exact.
#[derive(Debug)]
pub struct RelyingParty {
    entity_id: String,
    keys: Arc<RelyingPartyKeys>,
    settings: FederationSettings,
    http: reqwest::Client,
    cie_providers: Vec<String>,
    chains: Mutex<HashMap<String, CachedChain>>,
    listed: Mutex<Option<(Timestamp, Vec<String>)>>,
}

/// A resolution remembered until it expires.
#[derive(Debug, Clone)]
enum CachedChain {
    Trusted(Arc<ResolvedProvider>),
    Refused { until: Timestamp, error: IdentityError },
}

impl RelyingParty {
    /// A relying party whose entity id is `entity_id` (an `https://` URL without a trailing
    /// slash; `http://` only with `allow_http`).
    pub fn new(
        entity_id: &str,
        keys: Arc<RelyingPartyKeys>,
        settings: FederationSettings,
        http: reqwest::Client,
    ) -> Result<Self, IdentityError> {
        let entity_id = entity_id.trim_end_matches('/').to_owned();
        trust_chain::check_entity_id(&entity_id, settings.allow_http)?;
        if settings.trust_anchors.is_empty() {
            return Err(IdentityError::TrustChain("no trust anchor configured".into()));
        }
        for anchor in &settings.trust_anchors {
            trust_chain::check_entity_id(&anchor.entity_id, settings.allow_http)?;
            if jose::jwks_keys(&anchor.jwks).is_empty() {
                return Err(IdentityError::Keys(format!("trust anchor {} has no keys", anchor.entity_id)));
            }
        }
        for hint in &settings.authority_hints {
            trust_chain::check_entity_id(hint, settings.allow_http)?;
        }
        for mark in &settings.trust_marks {
            let (_, payload) = jose::peek(mark)?;
            if !payload.get("sub").and_then(Value::as_str).is_some_and(|sub| same_entity(sub, &entity_id)) {
                tracing::warn!(entity_id, "a configured trust mark was issued to another entity");
            }
        }
        Ok(RelyingParty {
            entity_id,
            keys,
            settings,
            http,
            cie_providers: Vec::new(),
            chains: Mutex::new(HashMap::new()),
            listed: Mutex::new(None),
        })
    }

    /// Names the providers (entity ids) that are CIE; all others are SPID.
    pub fn with_cie_providers(mut self, providers: Vec<String>) -> Self {
        self.cie_providers = providers;
        self
    }

    /// Our entity id (also our `client_id`).
    pub fn entity_id(&self) -> &str {
        &self.entity_id
    }

    /// Where providers send the citizen back: `{entity_id}/accedi/callback`.
    pub fn redirect_uri(&self) -> String {
        format!("{}/accedi/callback", self.entity_id)
    }

    /// The level of assurance this relying party asks.
    pub fn acr(&self) -> Acr {
        self.settings.acr
    }

    /// Our entity configuration: a JWT signed with the federation key, `typ`
    /// `entity-statement+jwt`, served at `{entity_id}/.well-known/openid-federation`.
    pub fn entity_configuration(&self, now: Timestamp) -> Result<String, IdentityError> {
        let iat = now.as_second();
        let exp = (now + ENTITY_CONFIGURATION_LIFETIME).as_second();
        let trust_marks: Vec<Value> = self
            .settings
            .trust_marks
            .iter()
            .filter_map(|jwt| {
                let (_, payload) = jose::peek(jwt).ok()?;
                let id = ["trust_mark_type", "trust_mark_id", "id"]
                    .iter()
                    .find_map(|k| payload.get(*k).and_then(Value::as_str))?
                    .to_owned();
                Some(json!({ "id": id, "trust_mark_type": id, "trust_mark": jwt }))
            })
            .collect();
        let mut payload = json!({
            "iss": self.entity_id,
            "sub": self.entity_id,
            "iat": iat,
            "exp": exp,
            "jwks": self.keys.public_federation_jwks(),
            "authority_hints": self.settings.authority_hints,
            "metadata": {
                "openid_relying_party": {
                    "client_id": self.entity_id,
                    "client_name": self.settings.organization_name,
                    "organization_name": self.settings.organization_name,
                    "application_type": "web",
                    "redirect_uris": [self.redirect_uri()],
                    "jwks": self.keys.public_oidc_jwks(),
                    "response_types": ["code"],
                    "grant_types": ["authorization_code"],
                    "client_registration_types": ["automatic"],
                    "id_token_signed_response_alg": "RS256",
                    "userinfo_signed_response_alg": "RS256",
                    "userinfo_encrypted_response_alg": "RSA-OAEP",
                    "userinfo_encrypted_response_enc": "A256CBC-HS512",
                    "token_endpoint_auth_method": "private_key_jwt",
                    "contacts": self.settings.contacts,
                },
                "federation_entity": {
                    "organization_name": self.settings.organization_name,
                    "contacts": self.settings.contacts,
                    "homepage_uri": self.entity_id,
                },
            },
        });
        if !trust_marks.is_empty() {
            payload["trust_marks"] = Value::Array(trust_marks);
        }
        jose::sign(&object(payload)?, self.keys.federation_signing_key(now), Some("entity-statement+jwt"))
    }

    /// The providers a citizen may choose: only those whose trust chain resolves (cached
    /// until the chain expires).
    pub async fn providers(&self, now: Timestamp) -> Vec<ProviderChoice> {
        let ids =
            if self.settings.providers.is_empty() { self.listed(now).await } else { self.settings.providers.clone() };
        let mut out = Vec::new();
        for id in ids {
            match self.resolve(&id, now).await {
                Ok(provider) => out.push(self.choice(&provider)),
                Err(e) => {
                    tracing::info!(provider = %id, error = %e, "provider left out: its trust chain does not resolve")
                }
            }
        }
        out
    }

    fn choice(&self, provider: &ResolvedProvider) -> ProviderChoice {
        let text = |map: &Object, key: &str| map.get(key).and_then(Value::as_str).map(str::to_owned);
        let name = text(&provider.metadata, "organization_name")
            .or_else(|| text(&provider.federation_entity, "organization_name"))
            .or_else(|| text(&provider.metadata, "op_name"))
            .unwrap_or_else(|| provider.entity_id.clone());
        let logo_uri = text(&provider.federation_entity, "logo_uri").or_else(|| text(&provider.metadata, "logo_uri"));
        ProviderChoice {
            entity_id: provider.entity_id.clone(),
            kind: self.kind_of(&provider.entity_id),
            name,
            logo_uri,
        }
    }

    fn kind_of(&self, entity_id: &str) -> ProviderKind {
        if self.cie_providers.iter().any(|cie| same_entity(cie, entity_id)) {
            ProviderKind::Cie
        } else {
            ProviderKind::Spid
        }
    }

    /// The entity ids the trust anchors list (cached for a while).
    async fn listed(&self, now: Timestamp) -> Vec<String> {
        if let Some((until, ids)) = self.listed.lock().map(|g| g.clone()).unwrap_or_default()
            && now < until
        {
            return ids;
        }
        let ids = self.resolver(now).listed_providers().await;
        if let Ok(mut slot) = self.listed.lock() {
            *slot = Some((now + LIST_CACHE, ids.clone()));
        }
        ids
    }

    fn resolver(&self, now: Timestamp) -> Resolver<'_> {
        Resolver { http: &self.http, anchors: &self.settings.trust_anchors, allow_http: self.settings.allow_http, now }
    }

    /// The provider's resolved trust chain, from the cache while it has not expired.
    async fn resolve(&self, provider: &str, now: Timestamp) -> Result<Arc<ResolvedProvider>, IdentityError> {
        let key = provider.trim_end_matches('/').to_owned();
        let cached = self.chains.lock().ok().and_then(|c| c.get(&key).cloned());
        match cached {
            Some(CachedChain::Trusted(chain)) if now < chain.exp => return Ok(chain),
            Some(CachedChain::Refused { until, error }) if now < until => return Err(error),
            _ => {}
        }
        let resolved = self.resolver(now).resolve(provider).await.map(Arc::new);
        if let Ok(chain) = &resolved {
            tracing::info!(
                provider = %chain.entity_id,
                trust_anchor = %chain.trust_anchor,
                trust_marks = ?chain.trust_mark_ids,
                exp = %chain.exp,
                "provider's trust chain resolved"
            );
        }
        let entry = match &resolved {
            Ok(chain) => CachedChain::Trusted(chain.clone()),
            Err(error) => CachedChain::Refused { until: now + FAILURE_CACHE, error: error.clone() },
        };
        if let Ok(mut chains) = self.chains.lock() {
            chains.insert(key, entry);
        }
        resolved
    }

    /// Starts a sign-in with `provider` (an entity id): the URL to send the browser to, and
    /// what the callback will need.
    pub async fn begin(&self, provider: &str, now: Timestamp) -> Result<(String, PendingSignIn), IdentityError> {
        if !self.settings.providers.is_empty() && !self.settings.providers.iter().any(|p| same_entity(p, provider)) {
            return Err(IdentityError::Untrusted(format!("{provider} is not among the configured providers")));
        }
        let chain = self.resolve(provider, now).await?;
        let authorization_endpoint = endpoint(&chain.metadata, "authorization_endpoint", self.settings.allow_http)?;
        let kind = self.kind_of(&chain.entity_id);
        let pending = PendingSignIn {
            state: jose::random_token(32),
            nonce: jose::random_token(32),
            code_verifier: jose::random_token(48),
            provider: chain.entity_id.clone(),
            kind,
            acr: self.settings.acr,
            created_at: now,
        };
        let code_challenge = jose::b64(&sha2::Sha256::digest(pending.code_verifier.as_bytes()));
        let scope = "openid";
        let request = json!({
            "iss": self.entity_id,
            "aud": [chain.entity_id, authorization_endpoint],
            "client_id": self.entity_id,
            "response_type": "code",
            "scope": scope,
            "redirect_uri": self.redirect_uri(),
            "state": pending.state,
            "nonce": pending.nonce,
            "code_challenge": code_challenge,
            "code_challenge_method": "S256",
            "acr_values": self.settings.acr.as_uri(),
            "prompt": "consent login",
            "claims": requested_claims(),
            "iat": now.as_second(),
            "exp": (now + ASSERTION_LIFETIME).as_second(),
            "jti": jose::random_token(16),
        });
        let request = jose::sign(&object(request)?, self.keys.oidc_signing_key(now), None)?;
        let url = trust_chain::with_query(
            &authorization_endpoint,
            &[
                ("client_id", self.entity_id.as_str()),
                ("response_type", "code"),
                ("scope", scope),
                ("code_challenge", code_challenge.as_str()),
                ("code_challenge_method", "S256"),
                ("request", request.as_str()),
            ],
            self.settings.allow_http,
        )?;
        Ok((url, pending))
    }

    /// Finishes a sign-in: exchanges `code` for tokens, checks the ID token, reads the
    /// userinfo. The caller has already compared the callback's `state` with
    /// `pending.state` (and refused an `error` answer).
    pub async fn finish(
        &self,
        pending: &PendingSignIn,
        code: &str,
        now: Timestamp,
    ) -> Result<VerifiedIdentity, IdentityError> {
        let chain = self.resolve(&pending.provider, now).await?;
        let provider_jwks = self.provider_oidc_jwks(&chain).await?;
        let token_endpoint = endpoint(&chain.metadata, "token_endpoint", self.settings.allow_http)?;
        let tokens = self.token_request(pending, code, &token_endpoint, now).await?;
        let id_token = text_claim(&tokens, "id_token").ok_or(IdentityError::MissingClaim("id_token"))?;
        let access_token = text_claim(&tokens, "access_token").ok_or(IdentityError::MissingClaim("access_token"))?;
        let claims = check_id_token(&IdTokenCheck {
            id_token: &id_token,
            access_token: &access_token,
            provider_jwks: &provider_jwks,
            issuer: &chain.entity_id,
            client_id: &self.entity_id,
            nonce: &pending.nonce,
            now,
        })?;
        let subject = text_claim(&claims, "sub").ok_or(IdentityError::MissingClaim("sub"))?;
        let userinfo_endpoint = endpoint(&chain.metadata, "userinfo_endpoint", self.settings.allow_http)?;
        let userinfo = self.userinfo(&userinfo_endpoint, &access_token, &provider_jwks).await?;
        check_userinfo(&userinfo, &subject, &chain.entity_id, &self.entity_id)?;
        identity_from(pending, &chain.entity_id, &subject, &claims, &userinfo, id_token)
    }

    /// The provider's OIDC keys: inline `jwks`, else `signed_jwks_uri` (verified with its
    /// federation keys), else `jwks_uri`.
    async fn provider_oidc_jwks(&self, chain: &ResolvedProvider) -> Result<Value, IdentityError> {
        if let Some(jwks) = chain.metadata.get("jwks").filter(|j| !jose::jwks_keys(j).is_empty()) {
            return Ok(jwks.clone());
        }
        if let Some(uri) = chain.metadata.get("signed_jwks_uri").and_then(Value::as_str) {
            let body = self.get(uri).await?;
            let (_, payload) = jose::verify(&body, &chain.federation_jwks)?;
            return Ok(Value::Object(payload));
        }
        if let Some(uri) = chain.metadata.get("jwks_uri").and_then(Value::as_str) {
            let body = self.get(uri).await?;
            return serde_json::from_str(&body).map_err(|_| IdentityError::Malformed("jwks_uri: not JSON".into()));
        }
        Err(IdentityError::TrustChain(format!("{} publishes no OIDC keys", chain.entity_id)))
    }

    async fn get(&self, url: &str) -> Result<String, IdentityError> {
        trust_chain::fetch_text(&self.http, url, self.settings.allow_http, IdentityError::Network).await
    }

    /// The token request, authenticated with `private_key_jwt`.
    async fn token_request(
        &self,
        pending: &PendingSignIn,
        code: &str,
        token_endpoint: &str,
        now: Timestamp,
    ) -> Result<Object, IdentityError> {
        let assertion = json!({
            "iss": self.entity_id,
            "sub": self.entity_id,
            "aud": token_endpoint,
            "iat": now.as_second(),
            "exp": (now + ASSERTION_LIFETIME).as_second(),
            "jti": jose::random_token(16),
        });
        let assertion = jose::sign(&object(assertion)?, self.keys.oidc_signing_key(now), None)?;
        let redirect_uri = self.redirect_uri();
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri.as_str()),
            ("client_id", self.entity_id.as_str()),
            ("state", pending.state.as_str()),
            ("code_verifier", pending.code_verifier.as_str()),
            ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
            ("client_assertion", assertion.as_str()),
        ];
        let response = self
            .http
            .post(token_endpoint)
            .form(&form)
            .timeout(TIMEOUT)
            .send()
            .await
            .map_err(|e| IdentityError::Network(format!("{token_endpoint}: {e}")))?;
        let status = response.status();
        let body = trust_chain::read_body(response, token_endpoint).await?;
        let json: Value = serde_json::from_str(&body)
            .map_err(|_| IdentityError::Malformed(format!("token endpoint answered {status} without JSON")))?;
        if let Some(error) = json.get("error").and_then(Value::as_str) {
            return Err(IdentityError::Provider {
                error: error.to_owned(),
                description: json.get("error_description").and_then(Value::as_str).unwrap_or_default().to_owned(),
            });
        }
        if !status.is_success() {
            return Err(IdentityError::Provider { error: status.as_u16().to_string(), description: String::new() });
        }
        match json {
            Value::Object(map) => Ok(map),
            _ => Err(IdentityError::Malformed("token response is not an object".into())),
        }
    }

    /// The userinfo: a JWE to our encryption key wrapping a JWS of the provider.
    async fn userinfo(
        &self,
        endpoint: &str,
        access_token: &str,
        provider_jwks: &Value,
    ) -> Result<Object, IdentityError> {
        let response = self
            .http
            .get(endpoint)
            .bearer_auth(access_token)
            .timeout(TIMEOUT)
            .send()
            .await
            .map_err(|e| IdentityError::Network(format!("{endpoint}: {e}")))?;
        if !response.status().is_success() {
            return Err(IdentityError::Provider {
                error: response.status().as_u16().to_string(),
                description: "userinfo".into(),
            });
        }
        let body = trust_chain::read_body(response, endpoint).await?;
        read_userinfo(&body, &self.keys.decryption_keys(), provider_jwks)
    }

    /// The provider's logout URL (its `end_session_endpoint`) for `identity`, coming back to
    /// `post_logout_redirect`; `None` when the provider offers none.
    pub async fn logout_url(&self, identity: &VerifiedIdentity, post_logout_redirect: &str) -> Option<String> {
        let chain = self.resolve(&identity.provider, Timestamp::now()).await.ok()?;
        let end_session = endpoint(&chain.metadata, "end_session_endpoint", self.settings.allow_http).ok()?;
        trust_chain::with_query(
            &end_session,
            &[
                ("id_token_hint", identity.id_token.as_str()),
                ("post_logout_redirect_uri", post_logout_redirect),
                ("client_id", self.entity_id.as_str()),
            ],
            self.settings.allow_http,
        )
        .ok()
    }
}

/// The claims we ask for: the same for SPID and CIE. The phone is asked under both names
/// (SPID's attribute URI and the standard claim CIE uses): each scheme ignores the other's.
fn requested_claims() -> Value {
    let mut userinfo = Map::new();
    for claim in ["given_name", "family_name", "email", FISCAL_NUMBER, "phone_number", SPID_PHONE] {
        userinfo.insert(claim.to_owned(), Value::Null);
    }
    json!({ "userinfo": userinfo })
}

/// A JSON value built with `json!({...})` as the object it is.
fn object(value: Value) -> Result<Object, IdentityError> {
    match value {
        Value::Object(map) => Ok(map),
        _ => Err(IdentityError::Malformed("not a JSON object".into())),
    }
}

fn text_claim(map: &Object, claim: &str) -> Option<String> {
    map.get(claim).and_then(Value::as_str).map(str::to_owned)
}

/// A provider endpoint from its metadata, which must be a URL we may call.
fn endpoint(metadata: &Object, name: &str, allow_http: bool) -> Result<String, IdentityError> {
    let url = metadata
        .get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| IdentityError::TrustChain(format!("the provider's metadata has no {name}")))?;
    trust_chain::check_url(url, allow_http)?;
    Ok(url.to_owned())
}

/// What an ID token is checked against.
pub(crate) struct IdTokenCheck<'a> {
    pub id_token: &'a str,
    pub access_token: &'a str,
    pub provider_jwks: &'a Value,
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub nonce: &'a str,
    pub now: Timestamp,
}

/// Checks an ID token (OIDC Core 3.1.3.7 and the SPID/CIE rules): signature by the
/// provider's keys from the trust chain, issuer, audience, expiry, nonce, `at_hash`.
pub(crate) fn check_id_token(check: &IdTokenCheck<'_>) -> Result<Object, IdentityError> {
    let (header, claims) = jose::verify(check.id_token, check.provider_jwks)?;
    let iss = claims.get("iss").and_then(Value::as_str).unwrap_or_default();
    if !same_entity(iss, check.issuer) {
        return Err(IdentityError::Issuer);
    }
    let audiences = trust_chain::strings(claims.get("aud"));
    if !audiences.iter().any(|aud| same_entity(aud, check.client_id)) {
        return Err(IdentityError::Audience);
    }
    if let Some(azp) = claims.get("azp").and_then(Value::as_str)
        && !same_entity(azp, check.client_id)
    {
        return Err(IdentityError::Audience);
    }
    let exp = trust_chain::timestamp(&claims, "exp")?.ok_or(IdentityError::MissingClaim("exp"))?;
    let iat = trust_chain::timestamp(&claims, "iat")?.ok_or(IdentityError::MissingClaim("iat"))?;
    if exp + LEEWAY <= check.now || iat > check.now + LEEWAY {
        return Err(IdentityError::Expired);
    }
    if claims.get("nonce").and_then(Value::as_str) != Some(check.nonce) {
        return Err(IdentityError::Nonce);
    }
    let alg = header.get("alg").and_then(Value::as_str).unwrap_or("RS256");
    let at_hash = claims.get("at_hash").and_then(Value::as_str).ok_or(IdentityError::AtHash)?;
    if at_hash != jose::left_half_hash(alg, check.access_token) {
        return Err(IdentityError::AtHash);
    }
    Ok(claims)
}

/// Reads the userinfo answer: decrypts the JWE with one of our keys, verifies the JWS inside
/// with the provider's keys.
pub(crate) fn read_userinfo(
    body: &str,
    our_keys: &[&josekit::jwk::Jwk],
    provider_jwks: &Value,
) -> Result<Object, IdentityError> {
    let plain = jose::decrypt(body, our_keys)?;
    let jws = String::from_utf8(plain).map_err(|_| IdentityError::Malformed("userinfo is not text".into()))?;
    let (_, claims) = jose::verify(&jws, provider_jwks)?;
    Ok(claims)
}

/// The userinfo is about the ID token's subject, from the provider, for us.
fn check_userinfo(userinfo: &Object, subject: &str, issuer: &str, client_id: &str) -> Result<(), IdentityError> {
    if userinfo.get("sub").and_then(Value::as_str) != Some(subject) {
        return Err(IdentityError::Malformed("userinfo is about another subject".into()));
    }
    if let Some(iss) = userinfo.get("iss").and_then(Value::as_str)
        && !same_entity(iss, issuer)
    {
        return Err(IdentityError::Issuer);
    }
    if userinfo.contains_key("aud")
        && !trust_chain::strings(userinfo.get("aud")).iter().any(|a| same_entity(a, client_id))
    {
        return Err(IdentityError::Audience);
    }
    Ok(())
}

/// The verified identity from the ID token's and userinfo's claims.
fn identity_from(
    pending: &PendingSignIn,
    provider: &str,
    subject: &str,
    id_claims: &Object,
    userinfo: &Object,
    id_token: String,
) -> Result<VerifiedIdentity, IdentityError> {
    let find = |names: &[&str]| {
        names.iter().find_map(|name| {
            userinfo
                .get(*name)
                .or_else(|| id_claims.get(*name))
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        })
    };
    let fiscal = find(&[FISCAL_NUMBER, "fiscal_number"]).ok_or(IdentityError::MissingClaim("fiscal_number"))?;
    Ok(VerifiedIdentity {
        kind: pending.kind,
        provider: provider.to_owned(),
        subject: subject.to_owned(),
        fiscal_code: fiscal_code(&fiscal),
        given_name: find(&["given_name"]).ok_or(IdentityError::MissingClaim("given_name"))?,
        family_name: find(&["family_name"]).ok_or(IdentityError::MissingClaim("family_name"))?,
        email: find(&["email"]),
        phone: find(&[SPID_PHONE, "phone_number"]),
        acr: id_claims.get("acr").and_then(Value::as_str).unwrap_or_default().to_owned(),
        id_token,
    })
}

/// "TINIT-rssmra80a01h501u" → "RSSMRA80A01H501U".
pub(crate) fn fiscal_code(value: &str) -> String {
    let upper = value.trim().to_uppercase();
    upper.strip_prefix("TINIT-").unwrap_or(&upper).to_owned()
}

/// The instance's relying parties: one for the whole instance, or one per town.
#[derive(Debug)]
pub struct RelyingParties {
    mode: Mode,
}

#[derive(Debug)]
enum Mode {
    /// One relying party (entity id = the instance's public URL) for every town.
    Instance(Box<RelyingParty>),
    /// One relying party per town (entity id = `{public_url}/{slug}`).
    PerTown(Vec<(String, RelyingParty)>),
}

impl RelyingParties {
    /// One relying party for the whole instance.
    pub fn instance(rp: RelyingParty) -> Self {
        RelyingParties { mode: Mode::Instance(Box::new(rp)) }
    }

    /// One relying party per town, by town slug.
    pub fn per_town(rps: Vec<(String, RelyingParty)>) -> Self {
        RelyingParties { mode: Mode::PerTown(rps) }
    }

    /// The relying party that serves `slug`: in instance mode the instance's, for every town.
    pub fn for_town(&self, slug: &str) -> Option<&RelyingParty> {
        match &self.mode {
            Mode::Instance(rp) => Some(rp),
            Mode::PerTown(rps) => rps.iter().find(|(s, _)| s == slug).map(|(_, rp)| rp),
        }
    }

    /// The instance's relying party; `None` in per-town mode.
    pub fn instance_rp(&self) -> Option<&RelyingParty> {
        match &self.mode {
            Mode::Instance(rp) => Some(rp),
            Mode::PerTown(_) => None,
        }
    }
}
