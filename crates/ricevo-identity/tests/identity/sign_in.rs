//! A sign-in: the authorization request we send, and every check of what comes back.

use jiff::{SignedDuration, Timestamp};
use ricevo_identity::{IdentityError, PendingSignIn, ProviderKind, RelyingParty};
use serde_json::{Value, json};
use sha2::Digest;

use crate::support::{Federation, encrypt, payload_of, sign, verify_with};

/// What the provider's token endpoint and userinfo will say; the tests spoil one thing each.
struct Answers {
    id_token: Value,
    userinfo: Value,
    access_token: String,
}

fn good_answers(fed: &Federation, rp: &RelyingParty, pending: &PendingSignIn, now: Timestamp) -> Answers {
    let access_token = sign(
        &json!({"iss": fed.provider.id, "sub": "utente-1", "jti": "at-1", "exp": (now + SignedDuration::from_mins(5)).as_second()}),
        &fed.provider_oidc,
        Some("at+jwt"),
    );
    let at_hash = half_hash(&access_token);
    Answers {
        id_token: json!({
            "iss": fed.provider.id,
            "sub": "utente-1",
            "aud": [rp.entity_id()],
            "iat": now.as_second(),
            "exp": (now + SignedDuration::from_mins(5)).as_second(),
            "nonce": pending.nonce,
            "at_hash": at_hash,
            "acr": "https://www.spid.gov.it/SpidL2",
            "jti": "id-1",
        }),
        userinfo: json!({
            "iss": fed.provider.id,
            "aud": rp.entity_id(),
            "sub": "utente-1",
            "given_name": "Mario",
            "family_name": "Rossi",
            "email": "mario.rossi@example.it",
            "https://attributes.eid.gov.it/fiscal_number": "TINIT-rssmra80a01h501u",
            "https://attributes.eid.gov.it/phone_number": "+393331234567",
        }),
        access_token,
    }
}

fn half_hash(value: &str) -> String {
    use base64::Engine;
    let digest = sha2::Sha256::digest(value.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..16])
}

/// Serves `answers` at the provider's token and userinfo endpoints, the userinfo encrypted to
/// the relying party's encryption key.
fn serve(fed: &Federation, rp_oidc_jwks: &Value, answers: &Answers, id_token: String) {
    fed.set(
        "/op/token",
        200,
        "application/json",
        json!({"access_token": answers.access_token, "id_token": id_token, "token_type": "Bearer", "expires_in": 300})
            .to_string(),
    );
    let enc_key =
        rp_oidc_jwks["keys"].as_array().expect("keys").iter().find(|k| k["use"] == "enc").expect("enc key").clone();
    let jws = sign(&answers.userinfo, &fed.provider_oidc, None);
    fed.set("/op/userinfo", 200, "application/jwt", encrypt(&jws, &enc_key));
}

struct Run {
    fed: Federation,
    rp: RelyingParty,
    oidc_jwks: Value,
    pending: PendingSignIn,
    url: String,
    _dir: tempfile::TempDir,
}

async fn started() -> Run {
    let fed = Federation::start().await;
    let (rp, dir) = fed.relying_party(fed.settings());
    let keys = ricevo_identity::RelyingPartyKeys::load_or_create(&dir.path().join("rp.json")).expect("keys");
    let (url, pending) = rp.begin(&fed.provider.id, fed.now).await.expect("begins");
    Run { oidc_jwks: keys.public_oidc_jwks(), fed, rp, pending, url, _dir: dir }
}

/// Runs the callback with the good answers, spoiled by `spoil` (on the ID token's claims) and
/// signed by `resign` (or the provider's key).
async fn finish_with(spoil: impl FnOnce(&mut Answers)) -> Result<ricevo_identity::VerifiedIdentity, IdentityError> {
    let run = started().await;
    let mut answers = good_answers(&run.fed, &run.rp, &run.pending, run.fed.now);
    spoil(&mut answers);
    let id_token = sign(&answers.id_token, &run.fed.provider_oidc, None);
    serve(&run.fed, &run.oidc_jwks, &answers, id_token);
    run.rp.finish(&run.pending, "codice-1", run.fed.now).await
}

fn query(url: &str) -> Vec<(String, String)> {
    url::Url::parse(url).expect("url").query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

#[tokio::test]
async fn the_authorization_request_is_a_signed_request_object_with_pkce() {
    let run = started().await;
    let params = query(&run.url);
    let get = |name: &str| params.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default();
    let names: Vec<&str> = params.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names, ["client_id", "response_type", "scope", "code_challenge", "code_challenge_method", "request"]);
    assert_eq!(get("client_id"), run.rp.entity_id());
    assert_eq!(get("response_type"), "code");
    assert_eq!(get("scope"), "openid");
    assert_eq!(get("code_challenge_method"), "S256");
    let challenge = {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(sha2::Sha256::digest(run.pending.code_verifier.as_bytes()))
    };
    assert_eq!(get("code_challenge"), challenge);
    assert!(run.pending.nonce.len() >= 32 && run.pending.state.len() >= 32);
    assert!(run.pending.code_verifier.len() >= 43);

    // The request object is signed with our OIDC signing key and carries the whole request.
    let request = verify_with(&get("request"), &run.oidc_jwks);
    assert_eq!(request["iss"], run.rp.entity_id());
    assert!(request.get("sub").is_none(), "no sub: a request object must not pass for a client assertion");
    assert_eq!(request["aud"], json!([run.fed.provider.id, format!("{}/authorization", run.fed.provider.id)]));
    assert_eq!(request["client_id"], run.rp.entity_id());
    assert_eq!(request["response_type"], "code");
    assert_eq!(request["redirect_uri"], run.rp.redirect_uri());
    assert_eq!(request["state"], run.pending.state.as_str());
    assert_eq!(request["nonce"], run.pending.nonce.as_str());
    assert_eq!(request["code_challenge"], challenge.as_str());
    assert_eq!(request["acr_values"], "https://www.spid.gov.it/SpidL2");
    assert_eq!(request["prompt"], "consent login");
    assert!(
        request["claims"]["userinfo"]
            .as_object()
            .expect("claims")
            .contains_key("https://attributes.eid.gov.it/fiscal_number")
    );
    assert!(request["exp"].as_i64() > request["iat"].as_i64());
    assert!(request["jti"].as_str().is_some_and(|j| !j.is_empty()));
    assert_eq!(run.pending.kind, ProviderKind::Spid);
    assert_eq!(run.pending.provider, run.fed.provider.id);
}

#[tokio::test]
async fn a_good_answer_gives_the_verified_identity_and_the_token_request_is_authenticated() {
    let run = started().await;
    let answers = good_answers(&run.fed, &run.rp, &run.pending, run.fed.now);
    let id_token = sign(&answers.id_token, &run.fed.provider_oidc, None);
    serve(&run.fed, &run.oidc_jwks, &answers, id_token.clone());
    let who = run.rp.finish(&run.pending, "codice-1", run.fed.now).await.expect("verified");
    assert_eq!(who.fiscal_code, "RSSMRA80A01H501U");
    assert_eq!(who.given_name, "Mario");
    assert_eq!(who.family_name, "Rossi");
    assert_eq!(who.email.as_deref(), Some("mario.rossi@example.it"));
    assert_eq!(who.phone.as_deref(), Some("+393331234567"));
    assert_eq!(who.subject, "utente-1");
    assert_eq!(who.provider, run.fed.provider.id);
    assert_eq!(who.kind, ProviderKind::Spid);
    assert_eq!(who.acr, "https://www.spid.gov.it/SpidL2");
    assert_eq!(who.id_token, id_token);

    // The token request: private_key_jwt signed with our OIDC key, PKCE verifier, the code.
    let posted = run.fed.posted("/op/token");
    assert_eq!(posted.len(), 1);
    let form: Vec<(String, String)> = url::form_urlencoded::parse(posted[0].as_bytes()).into_owned().collect();
    let get = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default();
    assert_eq!(get("grant_type"), "authorization_code");
    assert_eq!(get("code"), "codice-1");
    assert_eq!(get("code_verifier"), run.pending.code_verifier);
    assert_eq!(get("redirect_uri"), run.rp.redirect_uri());
    assert_eq!(get("client_assertion_type"), "urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
    let assertion = verify_with(&get("client_assertion"), &run.oidc_jwks);
    assert_eq!(assertion["iss"], run.rp.entity_id());
    assert_eq!(assertion["sub"], run.rp.entity_id());
    assert_eq!(assertion["aud"], format!("{}/token", run.fed.provider.id));
    assert!(assertion["jti"].as_str().is_some());

    // Logout goes through the provider's end_session_endpoint with the ID token as hint.
    let logout = run.rp.logout_url(&who, "https://comune.example.it/prova").await.expect("provider logout");
    assert!(logout.starts_with(&format!("{}/logout?", run.fed.provider.id)));
    let params = query(&logout);
    assert!(params.contains(&("id_token_hint".into(), id_token)));
    assert!(params.contains(&("post_logout_redirect_uri".into(), "https://comune.example.it/prova".into())));
}

#[tokio::test]
async fn a_tampered_id_token_is_refused() {
    let run = started().await;
    let answers = good_answers(&run.fed, &run.rp, &run.pending, run.fed.now);
    let signed = sign(&answers.id_token, &run.fed.provider_oidc, None);
    // Another subject put in the payload, the provider's signature kept.
    let mut forged = answers.id_token.clone();
    forged["sub"] = json!("someone-else");
    let parts: Vec<&str> = signed.split('.').collect();
    let body = {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(forged.to_string())
    };
    let tampered = format!("{}.{}.{}", parts[0], body, parts[2]);
    serve(&run.fed, &run.oidc_jwks, &answers, tampered);
    let refused = run.rp.finish(&run.pending, "codice-1", run.fed.now).await.expect_err("tampered");
    assert!(matches!(refused, IdentityError::Signature(_)), "{refused:?}");
}

#[tokio::test]
async fn an_id_token_signed_by_another_key_is_refused() {
    let run = started().await;
    let answers = good_answers(&run.fed, &run.rp, &run.pending, run.fed.now);
    let mut stranger = crate::support::new_key("sig");
    stranger.set_key_id(run.fed.provider_oidc.key_id().expect("kid"));
    let id_token = sign(&answers.id_token, &stranger, None);
    serve(&run.fed, &run.oidc_jwks, &answers, id_token);
    let refused = run.rp.finish(&run.pending, "codice-1", run.fed.now).await.expect_err("bad key");
    assert!(matches!(refused, IdentityError::Signature(_)), "{refused:?}");
}

#[tokio::test]
async fn a_wrong_nonce_is_refused() {
    let refused = finish_with(|a| a.id_token["nonce"] = json!("replayed-nonce-0123456789abcdefghij")).await;
    assert_eq!(refused.expect_err("nonce"), IdentityError::Nonce);
}

#[tokio::test]
async fn a_wrong_audience_is_refused() {
    let refused = finish_with(|a| a.id_token["aud"] = json!(["https://another-client.example.it"])).await;
    assert_eq!(refused.expect_err("aud"), IdentityError::Audience);
}

#[tokio::test]
async fn a_wrong_issuer_is_refused() {
    let refused = finish_with(|a| a.id_token["iss"] = json!("https://another-provider.example.it")).await;
    assert_eq!(refused.expect_err("iss"), IdentityError::Issuer);
}

#[tokio::test]
async fn an_expired_id_token_is_refused() {
    let refused = finish_with(|a| {
        let exp = a.id_token["iat"].as_i64().expect("iat") - 600;
        a.id_token["exp"] = json!(exp);
        a.id_token["iat"] = json!(exp - 300);
    })
    .await;
    assert_eq!(refused.expect_err("expired"), IdentityError::Expired);
}

#[tokio::test]
async fn a_bad_at_hash_is_refused() {
    let refused = finish_with(|a| a.id_token["at_hash"] = json!(half_hash("another access token"))).await;
    assert_eq!(refused.expect_err("at_hash"), IdentityError::AtHash);
    let missing = finish_with(|a| {
        a.id_token.as_object_mut().expect("object").remove("at_hash");
    })
    .await;
    assert_eq!(missing.expect_err("at_hash"), IdentityError::AtHash);
}

#[tokio::test]
async fn userinfo_about_another_subject_is_refused() {
    let refused = finish_with(|a| a.userinfo["sub"] = json!("utente-2")).await;
    assert!(matches!(refused, Err(IdentityError::Malformed(_))), "{refused:?}");
}

#[tokio::test]
async fn userinfo_without_fiscal_number_is_refused() {
    let refused = finish_with(|a| {
        a.userinfo.as_object_mut().expect("object").remove("https://attributes.eid.gov.it/fiscal_number");
    })
    .await;
    assert_eq!(refused.expect_err("missing"), IdentityError::MissingClaim("fiscal_number"));
}

#[tokio::test]
async fn plain_json_userinfo_is_refused() {
    let run = started().await;
    let answers = good_answers(&run.fed, &run.rp, &run.pending, run.fed.now);
    let id_token = sign(&answers.id_token, &run.fed.provider_oidc, None);
    serve(&run.fed, &run.oidc_jwks, &answers, id_token);
    run.fed.set("/op/userinfo", 200, "application/json", answers.userinfo.to_string());
    let refused = run.rp.finish(&run.pending, "codice-1", run.fed.now).await.expect_err("not encrypted");
    assert!(matches!(refused, IdentityError::Malformed(_)), "{refused:?}");
}

#[tokio::test]
async fn the_providers_refusal_is_reported_as_its_error() {
    let run = started().await;
    run.fed.set(
        "/op/token",
        400,
        "application/json",
        json!({"error": "invalid_grant", "error_description": "code expired"}).to_string(),
    );
    let refused = run.rp.finish(&run.pending, "codice-1", run.fed.now).await.expect_err("refused");
    assert_eq!(refused, IdentityError::Provider { error: "invalid_grant".into(), description: "code expired".into() });
}

#[tokio::test]
async fn a_provider_outside_the_configured_list_cannot_be_started() {
    let fed = Federation::start().await;
    let mut settings = fed.settings();
    settings.providers = vec![format!("{}/another", fed.base)];
    let (rp, _dir) = fed.relying_party(settings);
    assert!(matches!(rp.begin(&fed.provider.id, fed.now).await, Err(IdentityError::Untrusted(_))));
}

#[tokio::test]
async fn during_a_key_rollover_the_previous_keys_sign_and_userinfo_to_either_key_is_read() {
    let fed = Federation::start().await;
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("rp.json");
    let before = ricevo_identity::RelyingPartyKeys::load_or_create_at(&path, fed.now - SignedDuration::from_hours(30))
        .expect("keys");
    let old_oidc = before.public_oidc_jwks();
    let rotated = ricevo_identity::RelyingPartyKeys::rotate_at(&path, fed.now).expect("rotated");
    let rp = RelyingParty::new(
        &format!("{}/rp", fed.base),
        std::sync::Arc::new(rotated),
        fed.settings(),
        reqwest::Client::new(),
    )
    .expect("rp");
    // Providers that cached our old metadata still verify the request object: the previous
    // OIDC key signs during the first half of the rollover.
    let (url, pending) = rp.begin(&fed.provider.id, fed.now).await.expect("begins");
    let request = query(&url).into_iter().find(|(k, _)| k == "request").expect("request").1;
    verify_with(&request, &old_oidc);
    // A provider that encrypts userinfo to the previous encryption key is still read.
    let answers = good_answers(&fed, &rp, &pending, fed.now);
    let id_token = sign(&answers.id_token, &fed.provider_oidc, None);
    serve(&fed, &old_oidc, &answers, id_token);
    let who = rp.finish(&pending, "codice-1", fed.now).await.expect("verified");
    assert_eq!(who.fiscal_code, "RSSMRA80A01H501U");
    // Our entity configuration publishes both generations.
    let ec = payload_of(&rp.entity_configuration(fed.now).expect("ec"));
    assert_eq!(ec["jwks"]["keys"].as_array().expect("keys").len(), 2);
    assert_eq!(ec["metadata"]["openid_relying_party"]["jwks"]["keys"].as_array().expect("keys").len(), 4);
}
