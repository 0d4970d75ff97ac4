//! Ricevo's own relying party (`ricevo_identity::RelyingParty`), registered with the reference
//! trust anchor like any relying party and served by a tiny axum server on loopback (its entity
//! configuration and its callback), signs the test citizen in through spid-cie-oidc's SPID and
//! CIE providers, and refuses what only a real federation can show: a provider the trust anchor
//! does not know, an ID token issued to another relying party, an ID token whose signature
//! does not verify, a wrong nonce, a trust chain used after it expired.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use jiff::{Timestamp, ToSpan};
use ricevo_fakes::federation::Federation;
use ricevo_identity::{
    Acr, FederationSettings, IdentityError, PendingSignIn, ProviderKind, RelyingParty, RelyingPartyKeys, TrustAnchor,
};
use serde::Deserialize;

use crate::browser::Browser;

/// What the callback received.
#[derive(Debug, Clone, Deserialize)]
struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// Ricevo's relying party on a loopback port.
struct Served {
    rp: Arc<RelyingParty>,
    callbacks: Arc<Mutex<Vec<Callback>>>,
    _keys_dir: tempfile::TempDir,
}

#[derive(Clone)]
struct AppState {
    rp: Arc<RelyingParty>,
    callbacks: Arc<Mutex<Vec<Callback>>>,
}

async fn entity_configuration(State(state): State<AppState>) -> impl IntoResponse {
    match state.rp.entity_configuration(Timestamp::now()) {
        Ok(jwt) => (StatusCode::OK, [(header::CONTENT_TYPE, "application/entity-statement+jwt")], jwt).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

async fn callback(State(state): State<AppState>, Query(query): Query<Callback>) -> impl IntoResponse {
    state.callbacks.lock().unwrap().push(query);
    "callback received"
}

/// Makes Ricevo's relying party (keys, registration at the trust anchor, trust mark) and
/// serves it; `providers` are the entity ids it offers.
async fn serve_ricevo_rp(federation: &Federation, providers: Vec<String>) -> Served {
    let keys_dir = tempfile::tempdir().unwrap();
    let keys = Arc::new(RelyingPartyKeys::load_or_create(&keys_dir.path().join("instance.json")).unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let entity_id = format!("http://{}", listener.local_addr().unwrap());
    let trust_mark = federation
        .register_relying_party(&entity_id, &keys.public_federation_jwks())
        .await
        .unwrap_or_else(|e| panic!("register Ricevo's relying party: {e}"));
    let settings = FederationSettings {
        trust_anchors: vec![TrustAnchor {
            entity_id: federation.trust_anchor.clone(),
            jwks: federation.trust_anchor_jwks.clone(),
        }],
        authority_hints: vec![federation.trust_anchor.clone()],
        trust_marks: vec![trust_mark],
        providers,
        acr: Acr::SpidL2,
        allow_http: true,
        contacts: vec!["ops@example.it".to_owned()],
        organization_name: "Comune di Prova".to_owned(),
    };
    let rp = Arc::new(
        RelyingParty::new(&entity_id, keys, settings, reqwest::Client::new())
            .unwrap()
            .with_cie_providers(federation.cie_provider.iter().cloned().collect()),
    );
    assert_eq!(rp.redirect_uri(), format!("{entity_id}/accedi/callback"));
    let callbacks = Arc::new(Mutex::new(Vec::new()));
    let app = Router::new()
        .route("/.well-known/openid-federation", get(entity_configuration))
        .route("/accedi/callback", get(callback))
        .with_state(AppState { rp: rp.clone(), callbacks: callbacks.clone() });
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Served { rp, callbacks, _keys_dir: keys_dir }
}

/// Sends the browser from `rp`'s authorization request through the provider's login and
/// consent; the code the callback got, and the pending sign-in.
async fn sign_in(federation: &Federation, served: &Served, provider: &str) -> (String, PendingSignIn) {
    let (url, pending) =
        served.rp.begin(provider, Timestamp::now()).await.unwrap_or_else(|e| {
            panic!("begin at {provider}: {e}\nprovider log:\n{}", provider_log(federation, provider))
        });
    assert!(
        url.starts_with(&format!("{provider}/oidc/op/authorization?")),
        "to the provider's authorization endpoint: {url}"
    );
    let mut browser = Browser::new();
    let login = browser.get(&url).await;
    assert!(
        login.body.contains("authz_request_object"),
        "the provider accepts Ricevo's request (trust chain, trust mark, signed request object): {login:?}\nprovider log:\n{}",
        provider_log(federation, provider)
    );
    let user = federation.user.clone();
    let done = browser.sign_in_at_provider(&login, &user.username, &user.password).await;
    assert!(
        done.url.starts_with(&served.rp.redirect_uri()),
        "the provider sends the citizen back to the callback: {done:?}"
    );
    let callback = served.callbacks.lock().unwrap().pop().expect("the callback was called");
    assert_eq!(callback.error, None, "no error: {:?}", callback.error_description);
    assert_eq!(callback.state.as_deref(), Some(pending.state.as_str()), "the state comes back");
    (callback.code.expect("a code"), pending)
}

fn provider_log(federation: &Federation, provider: &str) -> String {
    let name = if Some(provider) == federation.cie_provider.as_deref() {
        "cie"
    } else if Some(provider) == federation.untrusted_provider.as_deref() {
        "untrusted"
    } else if provider != federation.spid_provider {
        "forging"
    } else {
        "spid"
    };
    federation.log(name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ricevo_signs_a_citizen_in_through_the_reference_spid_and_cie_providers() {
    let Some(federation) = Federation::start_or_skip("federation Ricevo RP").await else { return };
    let cie = federation.cie_provider.clone().expect("a CIE provider");
    let served = serve_ricevo_rp(&federation, vec![federation.spid_provider.clone(), cie.clone()]).await;
    let user = federation.user.clone();

    let offered = served.rp.providers(Timestamp::now()).await;
    let ids: Vec<&str> = offered.iter().map(|p| p.entity_id.as_str()).collect();
    assert!(ids.contains(&federation.spid_provider.as_str()), "the SPID provider is offered: {offered:?}");
    assert!(ids.contains(&cie.as_str()), "the CIE provider is offered: {offered:?}");

    for (provider, kind) in [(federation.spid_provider.clone(), ProviderKind::Spid), (cie.clone(), ProviderKind::Cie)] {
        let (code, pending) = sign_in(&federation, &served, &provider).await;
        assert_eq!(pending.kind, kind, "{provider}");
        let identity = served
            .rp
            .finish(&pending, &code, Timestamp::now())
            .await
            .unwrap_or_else(|e| panic!("finish at {provider}: {e}\n{}", provider_log(&federation, &provider)));
        assert_eq!(identity.kind, kind);
        assert_eq!(identity.provider, provider);
        assert_eq!(identity.fiscal_code, user.fiscal_code, "upper case, without TINIT-");
        assert_eq!(identity.given_name, user.given_name);
        assert_eq!(identity.family_name, user.family_name);
        assert_eq!(identity.email.as_deref(), Some(user.email.as_str()));
        assert_eq!(identity.phone.as_deref(), Some(user.phone.as_str()), "{provider}: the phone is released");
        assert_eq!(identity.acr, Acr::SpidL2.as_uri());
        assert!(!identity.subject.is_empty() && !identity.id_token.is_empty());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ricevo_refuses_what_the_federation_does_not_vouch_for() {
    let Some(federation) = Federation::start_or_skip("federation Ricevo RP refusals").await else { return };
    let untrusted = federation.untrusted_provider.clone().expect("an unregistered provider");
    let spid = federation.spid_provider.clone();
    let forging = federation.start_forging_provider().await.unwrap_or_else(|e| panic!("{e}"));
    let served = serve_ricevo_rp(&federation, vec![spid.clone(), untrusted.clone(), forging.clone()]).await;

    // A provider the trust anchor does not know: not offered, and no sign-in starts there.
    let offered = served.rp.providers(Timestamp::now()).await;
    assert!(offered.iter().all(|p| p.entity_id != untrusted), "the untrusted provider is not offered: {offered:?}");
    let refused = served.rp.begin(&untrusted, Timestamp::now()).await;
    assert!(
        matches!(refused, Err(IdentityError::Untrusted(_) | IdentityError::TrustChain(_))),
        "refused as untrusted: {refused:?}"
    );

    // A wrong nonce: the ID token's nonce is the one the provider got, not this one.
    let (code, pending) = sign_in(&federation, &served, &spid).await;
    let mut wrong = pending.clone();
    wrong.nonce = "x".repeat(32);
    let refused = served.rp.finish(&wrong, &code, Timestamp::now()).await;
    assert!(matches!(refused, Err(IdentityError::Nonce)), "wrong nonce refused: {refused:?}");

    // An ID token issued to another relying party (the reference provider hands a code's
    // tokens to any client that authenticates): its audience is not us.
    let other = serve_ricevo_rp(&federation, vec![spid.clone()]).await;
    let (other_code, other_pending) = sign_in(&federation, &other, &spid).await;
    let refused = served.rp.finish(&other_pending, &other_code, Timestamp::now()).await;
    assert!(
        matches!(refused, Err(IdentityError::Audience)),
        "an ID token for another relying party is refused: {refused:?}"
    );

    // A provider whose tokens do not verify with the keys its trust chain gives (as a
    // tampered ID token): trusted, but the sign-in is refused.
    let (code, pending) = sign_in(&federation, &served, &forging).await;
    let refused = served.rp.finish(&pending, &code, Timestamp::now()).await;
    assert!(matches!(refused, Err(IdentityError::Signature(_))), "a forged ID token is refused: {refused:?}");

    // A trust chain used after it expired (statements last 2880 minutes here).
    let later = Timestamp::now() + 72.hours();
    let refused = served.rp.begin(&spid, later).await;
    assert!(matches!(refused, Err(IdentityError::ChainExpired)), "an expired trust chain is refused: {refused:?}");
}
