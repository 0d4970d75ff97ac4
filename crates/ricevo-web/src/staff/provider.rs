//! The OpenID Connect conversation with a town's own identity provider (issue 16), through the
//! `openidconnect` crate: discovery, the authorization code flow with PKCE (S256), `state` and
//! `nonce`, the ID token's checks (signature by the provider's published keys, issuer, audience,
//! expiry, nonce, `at_hash`), and userinfo when the ID token lacks a claim we need.
//!
//! It answers [`ProviderClaims`]; what they open is the desk's business
//! ([`ricevo_desk::staff_sign_in`]).

use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::Duration;

use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreErrorResponseType, CoreGenderClaim, CoreJsonWebKey,
    CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm, CoreProviderMetadata, CoreResponseType,
    CoreRevocableToken, CoreRevocationErrorResponse, CoreTokenIntrospectionResponse, CoreTokenType,
};
use openidconnect::{
    AccessTokenHash, AdditionalClaims, AuthenticationFlow, AuthorizationCode, Client, ClientId, ClientSecret,
    CsrfToken, EmptyExtraTokenFields, EndpointMaybeSet, EndpointNotSet, EndpointSet, IdTokenFields, IssuerUrl, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, StandardErrorResponse,
    StandardTokenResponse, TokenResponse, UserInfoClaims,
};
use ricevo_desk::staff_sign_in::ProviderClaims;
use ricevo_notify::{AllowedHosts, WebhookUrl};
use ricevo_store::TownIdentityProvider;
use serde_json::Value;

/// The claims besides the standard ones (the groups claim among them, whatever its name).
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
struct OtherClaims {
    #[serde(flatten)]
    all: HashMap<String, Value>,
}

impl AdditionalClaims for OtherClaims {}

type IdFields = IdTokenFields<
    OtherClaims,
    EmptyExtraTokenFields,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;
type Tokens = StandardTokenResponse<IdFields, CoreTokenType>;
type ProviderClient = Client<
    OtherClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    Tokens,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// Why the provider did not vouch for anyone (in English, for the log; the page words it).
#[derive(Debug, thiserror::Error)]
pub(crate) enum ProviderError {
    /// The settings cannot make a client (a malformed issuer or redirect address).
    #[error("settings: {0}")]
    Settings(String),
    /// Discovery failed (unreachable, or a document that does not describe this issuer).
    #[error("discovery: {0}")]
    Discovery(String),
    /// The token request failed.
    #[error("token request: {0}")]
    Token(String),
    /// The ID token is missing or failed a check.
    #[error("ID token: {0}")]
    IdToken(String),
    /// The userinfo request failed.
    #[error("userinfo: {0}")]
    UserInfo(String),
}

/// A sign-in sent to the provider: where the browser goes, and what must come back.
#[derive(Debug)]
pub(crate) struct Begun {
    /// The provider's authorization URL.
    pub(crate) url: String,
    /// The `state` sent.
    pub(crate) state: String,
    /// The `nonce` the ID token must carry.
    pub(crate) nonce: String,
    /// The PKCE verifier for the token request.
    pub(crate) code_verifier: String,
}

// One HTTP client for every town's provider: no redirects followed (a provider answers the
// documented URLs itself; following redirects would let one steer us elsewhere), short timeouts.
fn http() -> Result<&'static reqwest::Client, ProviderError> {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    if let Some(c) = CLIENT.get() {
        return Ok(c);
    }
    let c = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(15))
        .build()
        .map_err(|e| ProviderError::Settings(format!("HTTP client: {e}")))?;
    Ok(CLIENT.get_or_init(|| c))
}

// Every cause of an error, for the log.
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cause = c.source();
    }
    out
}

async fn client(
    p: &TownIdentityProvider,
    redirect: &str,
    allowed: &AllowedHosts,
) -> Result<ProviderClient, ProviderError> {
    // Checked again at each use: the name may point elsewhere since the settings were saved.
    let url = WebhookUrl::parse(&p.issuer_url).map_err(|e| ProviderError::Settings(e.to_string()))?;
    allowed.check(&url).await.map_err(|e| ProviderError::Settings(e.to_string()))?;
    let issuer = IssuerUrl::new(p.issuer_url.clone()).map_err(|e| ProviderError::Settings(e.to_string()))?;
    // The crate checks that the document's issuer is exactly the one asked for.
    let metadata =
        CoreProviderMetadata::discover_async(issuer, http()?).await.map_err(|e| ProviderError::Discovery(chain(&e)))?;
    let redirect = RedirectUrl::new(redirect.to_owned()).map_err(|e| ProviderError::Settings(e.to_string()))?;
    let secret = p.client_secret.clone().filter(|s| !s.is_empty()).map(ClientSecret::new);
    Ok(ProviderClient::from_provider_metadata(metadata, ClientId::new(p.client_id.clone()), secret)
        .set_redirect_uri(redirect))
}

/// Starts a sign-in: the provider's authorization URL (scopes `openid email profile`, PKCE S256,
/// fresh `state` and `nonce`) and what the callback needs to check the answer.
pub(crate) async fn begin(
    p: &TownIdentityProvider,
    redirect: &str,
    allowed: &AllowedHosts,
) -> Result<Begun, ProviderError> {
    let client = client(p, redirect, allowed).await?;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state, nonce) = client
        .authorize_url(
            AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("profile".into()))
        .set_pkce_challenge(challenge)
        .url();
    Ok(Begun {
        url: url.to_string(),
        state: state.secret().clone(),
        nonce: nonce.secret().clone(),
        code_verifier: verifier.secret().clone(),
    })
}

/// The values of `claim` in a set of claims: a list of strings, or one string.
fn claim_values(all: &HashMap<String, Value>, claim: &str) -> Vec<String> {
    match all.get(claim) {
        Some(Value::Array(items)) => items.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect(),
        Some(Value::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

/// Ends a sign-in: exchanges `code` (with the PKCE verifier), verifies the ID token against the
/// provider's keys and the `nonce`, checks `at_hash`, and reads e-mail, name and groups, from
/// userinfo where the ID token lacks them.
pub(crate) async fn finish(
    p: &TownIdentityProvider,
    redirect: &str,
    nonce: &str,
    code_verifier: &str,
    code: &str,
    allowed: &AllowedHosts,
) -> Result<ProviderClaims, ProviderError> {
    let client = client(p, redirect, allowed).await?;
    let http = http()?;
    let tokens = client
        .exchange_code(AuthorizationCode::new(code.to_owned()))
        .map_err(|e| ProviderError::Token(chain(&e)))?
        .set_pkce_verifier(PkceCodeVerifier::new(code_verifier.to_owned()))
        .request_async(http)
        .await
        .map_err(|e| ProviderError::Token(chain(&e)))?;
    let id_token = tokens.id_token().ok_or_else(|| ProviderError::IdToken("none in the token response".into()))?;
    let verifier = client.id_token_verifier();
    let nonce = Nonce::new(nonce.to_owned());
    let claims = id_token.claims(&verifier, &nonce).map_err(|e| ProviderError::IdToken(chain(&e)))?;
    if let Some(expected) = claims.access_token_hash() {
        let alg = id_token.signing_alg().map_err(|e| ProviderError::IdToken(chain(&e)))?;
        let key = id_token.signing_key(&verifier).map_err(|e| ProviderError::IdToken(chain(&e)))?;
        let actual = AccessTokenHash::from_token(tokens.access_token(), alg, key)
            .map_err(|e| ProviderError::IdToken(chain(&e)))?;
        if actual != *expected {
            return Err(ProviderError::IdToken("at_hash does not match the access token".into()));
        }
    }
    let mut out = ProviderClaims {
        issuer: claims.issuer().to_string(),
        subject: claims.subject().to_string(),
        email: claims.email().map(|e| e.to_string()),
        email_verified: claims.email_verified(),
        name: claims.name().and_then(|n| n.get(None)).map(|n| n.to_string()),
        groups: claim_values(&claims.additional_claims().all, &p.groups_claim),
    };
    let has_groups = claims.additional_claims().all.contains_key(&p.groups_claim);
    if out.email.is_none() || out.name.is_none() || !has_groups {
        // Many providers put profile claims in userinfo only (scopes other than `openid`).
        let subject = claims.subject().clone();
        if let Ok(request) = client.user_info(tokens.access_token().clone(), Some(subject)) {
            let info: UserInfoClaims<OtherClaims, CoreGenderClaim> =
                request.request_async(http).await.map_err(|e| ProviderError::UserInfo(chain(&e)))?;
            if out.email.is_none() {
                out.email = info.email().map(|e| e.to_string());
                out.email_verified = info.email_verified();
            }
            if out.name.is_none() {
                out.name = info.name().and_then(|n| n.get(None)).map(|n| n.to_string());
            }
            if !has_groups {
                out.groups = claim_values(&info.additional_claims().all, &p.groups_claim);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_groups_claim_may_be_a_list_or_one_string() {
        let mut all = HashMap::new();
        all.insert("groups".to_owned(), serde_json::json!(["a", 1, "b"]));
        all.insert("role".to_owned(), serde_json::json!("admins"));
        assert_eq!(claim_values(&all, "groups"), vec!["a".to_owned(), "b".to_owned()]);
        assert_eq!(claim_values(&all, "role"), vec!["admins".to_owned()]);
        assert!(claim_values(&all, "missing").is_empty());
    }
}
