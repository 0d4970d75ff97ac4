//! Trust chain resolution (OpenID Federation 1.0 section 10, as the SPID/CIE rules use it).
//!
//! A provider is trusted only through a chain of signed statements that ends at one of the
//! trust anchors of our configuration, whose keys are pinned there (never taken from the
//! network). From the provider's entity configuration we climb its `authority_hints`: for each
//! superior we fetch its entity configuration, then the *subordinate statement* it issues
//! about the entity below (its `federation_fetch_endpoint?sub=...`). Each subordinate
//! statement is signed by the superior and carries the subordinate's federation keys, which
//! must verify the subordinate's own entity configuration. Every statement's `exp` must be in
//! the future; the chain expires with the first of them. The provider's metadata is then its
//! own, constrained by the superiors' metadata policies (see [`crate::policy`]).

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use serde_json::{Map, Value};

use crate::jose::{self, Object};
use crate::relying_party::TrustAnchor;
use crate::{IdentityError, policy};

/// How far clocks may disagree when comparing `iat` and `exp`.
pub(crate) const LEEWAY: SignedDuration = SignedDuration::from_secs(60);

/// At most this many intermediates between a provider and a trust anchor.
const MAX_INTERMEDIATES: usize = 2;

/// The largest document we read from a federation entity.
const MAX_BODY: usize = 1024 * 1024;

/// How long we wait for a federation entity.
const TIMEOUT: Duration = Duration::from_secs(10);

/// A provider whose trust chain resolved.
#[derive(Debug, Clone)]
pub(crate) struct ResolvedProvider {
    /// The provider's entity id, as its entity configuration states it.
    pub entity_id: String,
    /// The trust anchor the chain ends at.
    pub trust_anchor: String,
    /// When the chain expires (the earliest `exp` of its statements).
    pub exp: Timestamp,
    /// The provider's `openid_provider` metadata, policies applied.
    pub metadata: Object,
    /// The provider's `federation_entity` metadata, if any (name, logo).
    pub federation_entity: Object,
    /// The provider's federation keys (from the superior's statement).
    pub federation_jwks: Value,
    /// The ids of the trust marks its entity configuration carries.
    pub trust_mark_ids: Vec<String>,
}

/// One verified entity statement.
#[derive(Debug, Clone)]
struct Statement {
    jwt: String,
    payload: Object,
    exp: Timestamp,
}

impl Statement {
    fn jwks(&self) -> Value {
        self.payload.get("jwks").cloned().unwrap_or(Value::Null)
    }

    fn sub(&self) -> &str {
        self.payload.get("sub").and_then(Value::as_str).unwrap_or_default()
    }

    fn authority_hints(&self) -> Vec<String> {
        strings(self.payload.get("authority_hints"))
    }

    fn federation_entity(&self) -> Object {
        self.payload
            .get("metadata")
            .and_then(|m| m.get("federation_entity"))
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default()
    }

    fn endpoint(&self, name: &str) -> Option<String> {
        self.federation_entity().get(name).and_then(Value::as_str).map(str::to_owned)
    }
}

/// The superiors' statements from the provider up, and the earliest expiry met on the way.
struct Path {
    /// Subordinate statements: [0] issued by the provider's superior ... last by the anchor.
    statements: Vec<Statement>,
    exp: Timestamp,
    anchor: String,
}

/// Resolves trust chains over HTTP.
pub(crate) struct Resolver<'a> {
    pub http: &'a reqwest::Client,
    pub anchors: &'a [TrustAnchor],
    pub allow_http: bool,
    pub now: Timestamp,
}

impl Resolver<'_> {
    /// The provider `subject`, if its chain reaches one of our trust anchors.
    pub(crate) async fn resolve(&self, subject: &str) -> Result<ResolvedProvider, IdentityError> {
        check_entity_id(subject, self.allow_http)?;
        let ec = self.entity_configuration(subject, None).await?;
        let path = self.climb(&ec, 0).await?;
        let exp = path.exp.min(ec.exp);
        if exp <= self.now {
            return Err(IdentityError::ChainExpired);
        }
        let metadata = resolved_metadata(&ec, &path.statements, "openid_provider")?;
        let federation_jwks = path.statements.first().map(Statement::jwks).unwrap_or(Value::Null);
        let trust_mark_ids = ec
            .payload
            .get("trust_marks")
            .and_then(Value::as_array)
            .map(|marks| {
                marks
                    .iter()
                    .filter_map(|m| {
                        ["trust_mark_type", "trust_mark_id", "id"]
                            .iter()
                            .find_map(|k| m.get(*k).and_then(Value::as_str))
                            .map(str::to_owned)
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(ResolvedProvider {
            entity_id: ec.sub().to_owned(),
            trust_anchor: path.anchor,
            exp,
            metadata,
            federation_entity: ec.federation_entity(),
            federation_jwks,
            trust_mark_ids,
        })
    }

    /// The entity ids the trust anchors list as OpenID providers (their
    /// `federation_list_endpoint?entity_type=openid_provider`).
    pub(crate) async fn listed_providers(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for anchor in self.anchors {
            let listed = async {
                let ec = self.entity_configuration(&anchor.entity_id, Some(&anchor.jwks)).await?;
                let endpoint = ec
                    .endpoint("federation_list_endpoint")
                    .ok_or_else(|| IdentityError::TrustChain("no federation_list_endpoint".into()))?;
                let url = with_query(&endpoint, &[("entity_type", "openid_provider")], self.allow_http)?;
                let body = self.get(&url).await?;
                let ids: Vec<String> = serde_json::from_str(&body)
                    .map_err(|_| IdentityError::Malformed("list endpoint: not a list of entity ids".into()))?;
                Ok::<_, IdentityError>(ids)
            }
            .await;
            match listed {
                Ok(ids) => {
                    for id in ids {
                        if !out.contains(&id) {
                            out.push(id);
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(anchor = %anchor.entity_id, error = %e, "cannot list the trust anchor's providers")
                }
            }
        }
        out
    }

    /// Climbs from `entity` (already verified by its own keys or its superior's statement) to
    /// a trust anchor; depth-first over its authority hints.
    async fn climb(&self, entity: &Statement, depth: usize) -> Result<Path, IdentityError> {
        let mut failure: Option<IdentityError> = None;
        for hint in entity.authority_hints() {
            let attempt = self.climb_through(entity, &hint, depth).await;
            match attempt {
                Ok(path) => return Ok(path),
                Err(e) => {
                    tracing::debug!(subject = entity.sub(), superior = %hint, error = %e, "trust path refused");
                    // Keep the most telling reason: an expiry or a bad signature says more
                    // than "not trusted".
                    if failure.as_ref().is_none_or(|f| matches!(f, IdentityError::Untrusted(_))) {
                        failure = Some(e);
                    }
                }
            }
        }
        Err(failure
            .unwrap_or_else(|| IdentityError::Untrusted(format!("{} reaches none of our trust anchors", entity.sub()))))
    }

    async fn climb_through(&self, entity: &Statement, hint: &str, depth: usize) -> Result<Path, IdentityError> {
        check_entity_id(hint, self.allow_http)?;
        let anchor = self.anchors.iter().find(|a| same_entity(&a.entity_id, hint));
        if anchor.is_none() && depth >= MAX_INTERMEDIATES {
            return Err(IdentityError::Untrusted(format!("{} reaches none of our trust anchors", entity.sub())));
        }
        let superior = self.entity_configuration(hint, anchor.map(|a| &a.jwks)).await?;
        let statement = self.subordinate_statement(&superior, entity.sub()).await?;
        // The superior vouches for the subordinate's federation keys: they must be the ones
        // that signed the subordinate's entity configuration.
        jose::verify(&entity.jwt, &statement.jwks()).map_err(|e| {
            IdentityError::Signature(format!("{} not signed by the keys {hint} registered: {e}", entity.sub()))
        })?;
        let exp = statement.exp.min(superior.exp);
        match anchor {
            Some(anchor) => Ok(Path { statements: vec![statement], exp, anchor: anchor.entity_id.clone() }),
            None => {
                let mut path = Box::pin(self.climb(&superior, depth + 1)).await?;
                path.statements.insert(0, statement);
                path.exp = path.exp.min(exp);
                Ok(path)
            }
        }
    }

    /// Fetches and verifies `subject`'s entity configuration: with `pinned` keys for a trust
    /// anchor, else with the keys it states itself (a superior's statement confirms them).
    async fn entity_configuration(&self, subject: &str, pinned: Option<&Value>) -> Result<Statement, IdentityError> {
        let url = format!("{}/.well-known/openid-federation", subject.trim_end_matches('/'));
        let jwt = self.get(&url).await?;
        let (_, claimed) = jose::peek(&jwt)?;
        let own_keys = claimed.get("jwks").cloned().unwrap_or(Value::Null);
        let keys = pinned.unwrap_or(&own_keys);
        let statement = verify_statement(&jwt, keys, Some(subject), subject, self.now)?;
        Ok(statement)
    }

    /// Fetches the statement `superior` issues about `subject` and verifies it with the
    /// superior's keys.
    async fn subordinate_statement(&self, superior: &Statement, subject: &str) -> Result<Statement, IdentityError> {
        let endpoint = superior.endpoint("federation_fetch_endpoint").ok_or_else(|| {
            IdentityError::TrustChain(format!("{} publishes no federation_fetch_endpoint", superior.sub()))
        })?;
        let url = with_query(&endpoint, &[("sub", subject)], self.allow_http)?;
        let jwt = self.get(&url).await?;
        verify_statement(&jwt, &superior.jwks(), Some(superior.sub()), subject, self.now)
    }

    async fn get(&self, url: &str) -> Result<String, IdentityError> {
        // A statement the federation does not serve breaks the chain.
        fetch_text(self.http, url, self.allow_http, IdentityError::TrustChain).await
    }
}

/// GETs `url` (checked by [`check_url`]) as text, within [`TIMEOUT`] and [`MAX_BODY`]; an
/// answer other than 2xx becomes `refused(what happened)`.
pub(crate) async fn fetch_text(
    http: &reqwest::Client,
    url: &str,
    allow_http: bool,
    refused: fn(String) -> IdentityError,
) -> Result<String, IdentityError> {
    check_url(url, allow_http)?;
    let response =
        http.get(url).timeout(TIMEOUT).send().await.map_err(|e| IdentityError::Network(format!("{url}: {e}")))?;
    if !response.status().is_success() {
        return Err(refused(format!("{url} answered {}", response.status())));
    }
    read_body(response, url).await
}

/// Reads a response body of at most [`MAX_BODY`] bytes as text.
pub(crate) async fn read_body(response: reqwest::Response, url: &str) -> Result<String, IdentityError> {
    if response.content_length().is_some_and(|len| len > MAX_BODY as u64) {
        return Err(IdentityError::Malformed(format!("{url}: answer too large")));
    }
    let bytes = response.bytes().await.map_err(|e| IdentityError::Network(format!("{url}: {e}")))?;
    if bytes.len() > MAX_BODY {
        return Err(IdentityError::Malformed(format!("{url}: answer too large")));
    }
    String::from_utf8(bytes.to_vec()).map_err(|_| IdentityError::Malformed(format!("{url}: not text")))
}

/// Verifies an entity statement: `typ`, signature by `keys`, issuer, subject, `iat`, `exp`.
fn verify_statement(
    jwt: &str,
    keys: &Value,
    issuer: Option<&str>,
    subject: &str,
    now: Timestamp,
) -> Result<Statement, IdentityError> {
    let (header, _) = jose::peek(jwt)?;
    if header.get("typ").and_then(Value::as_str) != Some("entity-statement+jwt") {
        return Err(IdentityError::TrustChain(format!("statement about {subject} is not typ entity-statement+jwt")));
    }
    let (_, payload) = jose::verify(jwt, keys)?;
    let iss = payload.get("iss").and_then(Value::as_str).unwrap_or_default();
    let sub = payload.get("sub").and_then(Value::as_str).unwrap_or_default();
    if issuer.is_some_and(|expected| !same_entity(iss, expected)) {
        return Err(IdentityError::TrustChain(format!(
            "statement issued by {iss}, expected {}",
            issuer.unwrap_or_default()
        )));
    }
    if !same_entity(sub, subject) {
        return Err(IdentityError::TrustChain(format!("statement about {sub}, expected {subject}")));
    }
    let exp = timestamp(&payload, "exp")?.ok_or_else(|| IdentityError::TrustChain("statement without exp".into()))?;
    if exp <= now {
        return Err(IdentityError::ChainExpired);
    }
    if let Some(iat) = timestamp(&payload, "iat")?
        && iat > now + LEEWAY
    {
        return Err(IdentityError::TrustChain(format!("statement about {subject} issued in the future")));
    }
    Ok(Statement { jwt: jwt.trim().to_owned(), payload, exp })
}

/// The subject's metadata of `entity_type`, with the superiors' metadata policies applied
/// (the trust anchor's first) and the immediate superior's `metadata` override, if any.
fn resolved_metadata(ec: &Statement, statements: &[Statement], entity_type: &str) -> Result<Object, IdentityError> {
    let mut metadata = ec
        .payload
        .get("metadata")
        .and_then(|m| m.get(entity_type))
        .and_then(Value::as_object)
        .cloned()
        .ok_or_else(|| IdentityError::TrustChain(format!("{} has no {entity_type} metadata", ec.sub())))?;
    if let Some(over) = statements
        .first()
        .and_then(|s| s.payload.get("metadata"))
        .and_then(|m| m.get(entity_type))
        .and_then(Value::as_object)
    {
        for (k, v) in over {
            metadata.insert(k.clone(), v.clone());
        }
    }
    for statement in statements.iter().rev() {
        let Some(policy) =
            statement.payload.get("metadata_policy").and_then(|p| p.get(entity_type)).and_then(Value::as_object)
        else {
            continue;
        };
        policy::apply(&mut metadata, policy).map_err(|e| {
            IdentityError::TrustChain(format!(
                "metadata policy of {}: {e}",
                statement.payload.get("iss").and_then(Value::as_str).unwrap_or_default()
            ))
        })?;
    }
    Ok(metadata)
}

/// A numeric date claim (seconds since the epoch).
pub(crate) fn timestamp(payload: &Map<String, Value>, claim: &str) -> Result<Option<Timestamp>, IdentityError> {
    match payload.get(claim) {
        None => Ok(None),
        Some(value) => value
            .as_i64()
            .or_else(|| value.as_f64().map(|f| f as i64))
            .and_then(|secs| Timestamp::from_second(secs).ok())
            .map(Some)
            .ok_or_else(|| IdentityError::Malformed(format!("{claim} is not a date"))),
    }
}

/// A list of strings (a single string is a list of one).
pub(crate) fn strings(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        _ => Vec::new(),
    }
}

/// Two entity ids name the same entity (a trailing slash is not significant).
pub(crate) fn same_entity(a: &str, b: &str) -> bool {
    a.trim_end_matches('/') == b.trim_end_matches('/')
}

/// An entity id is an `https` URL (or `http` when allowed, for local tests) without query
/// or fragment.
pub(crate) fn check_entity_id(id: &str, allow_http: bool) -> Result<(), IdentityError> {
    let url = check_url(id, allow_http)?;
    if url.query().is_some() || url.fragment().is_some() {
        return Err(IdentityError::Malformed(format!("entity id {id} has a query or fragment")));
    }
    Ok(())
}

/// A URL we may call: `https`, or `http` when allowed.
pub(crate) fn check_url(text: &str, allow_http: bool) -> Result<url::Url, IdentityError> {
    let url = url::Url::parse(text).map_err(|_| IdentityError::Malformed(format!("{text} is not a URL")))?;
    let scheme_ok = url.scheme() == "https" || (allow_http && url.scheme() == "http");
    if !scheme_ok || url.host_str().is_none() {
        return Err(IdentityError::Malformed(format!("{text} is not an https URL")));
    }
    Ok(url)
}

/// `base` with `pairs` appended to its query.
pub(crate) fn with_query(base: &str, pairs: &[(&str, &str)], allow_http: bool) -> Result<String, IdentityError> {
    let mut url = check_url(base, allow_http)?;
    url.query_pairs_mut().extend_pairs(pairs);
    Ok(url.to_string())
}
