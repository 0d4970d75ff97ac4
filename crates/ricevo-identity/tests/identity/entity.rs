//! Our entity configuration, as the trust anchor and providers read it.

use std::sync::Arc;

use ricevo_identity::{RelyingParties, RelyingParty, RelyingPartyKeys};
use serde_json::{Value, json};

use crate::support::{Federation, payload_of, sign, verify_with};

#[tokio::test]
async fn entity_configuration_is_self_signed_with_the_federation_key_and_describes_the_client() {
    let fed = Federation::start().await;
    let mut settings = fed.settings();
    let mark = sign(
        &json!({"iss": fed.anchor.id, "sub": format!("{}/rp", fed.base), "id": "https://registry.example/openid_relying_party/public", "iat": fed.now.as_second()}),
        &fed.anchor.key,
        Some("trust-mark+jwt"),
    );
    settings.trust_marks = vec![mark.clone()];
    let (rp, dir) = fed.relying_party(settings);
    let keys = RelyingPartyKeys::load_or_create(&dir.path().join("rp.json")).expect("same keys");

    let jwt = rp.entity_configuration(fed.now).expect("signed");
    let header = josekit::jwt::decode_header(&jwt).expect("header");
    assert_eq!(header.claim("typ"), Some(&json!("entity-statement+jwt")));
    let ec = verify_with(&jwt, &keys.public_federation_jwks());
    assert_eq!(ec["iss"], rp.entity_id());
    assert_eq!(ec["sub"], rp.entity_id());
    assert!(ec["exp"].as_i64() > ec["iat"].as_i64());
    assert_eq!(ec["jwks"], keys.public_federation_jwks());
    assert_eq!(ec["authority_hints"], json!([fed.anchor.id]));
    assert_eq!(ec["trust_marks"][0]["trust_mark"], mark.as_str());
    assert_eq!(ec["trust_marks"][0]["id"], "https://registry.example/openid_relying_party/public");

    let client = &ec["metadata"]["openid_relying_party"];
    assert_eq!(client["client_id"], rp.entity_id());
    assert_eq!(client["redirect_uris"], json!([format!("{}/rp/accedi/callback", fed.base)]));
    assert_eq!(client["jwks"], keys.public_oidc_jwks());
    assert_eq!(client["response_types"], json!(["code"]));
    assert_eq!(client["grant_types"], json!(["authorization_code"]));
    assert_eq!(client["client_registration_types"], json!(["automatic"]));
    assert_eq!(client["token_endpoint_auth_method"], "private_key_jwt");
    assert_eq!(client["userinfo_encrypted_response_alg"], "RSA-OAEP");
    assert_eq!(client["userinfo_encrypted_response_enc"], "A256CBC-HS512");
    assert_eq!(client["id_token_signed_response_alg"], "RS256");
    assert_eq!(client["client_name"], "Comune di Prova");
    assert_eq!(ec["metadata"]["federation_entity"]["organization_name"], "Comune di Prova");
    assert_eq!(ec["metadata"]["federation_entity"]["contacts"], json!(["ufficio@comune.example.it"]));

    // The federation keys and the OIDC keys are different keys.
    let fed_kids: Vec<&Value> = ec["jwks"]["keys"].as_array().expect("keys").iter().map(|k| &k["kid"]).collect();
    for key in client["jwks"]["keys"].as_array().expect("keys") {
        assert!(!fed_kids.contains(&&key["kid"]));
    }
    // Published without private parts.
    assert!(!payload_of(&jwt).to_string().contains("\"d\":"));
}

#[tokio::test]
async fn an_http_entity_id_is_refused_unless_allowed_for_tests() {
    let fed = Federation::start().await;
    let mut settings = fed.settings();
    settings.allow_http = false;
    let dir = tempfile::tempdir().expect("dir");
    let keys = Arc::new(RelyingPartyKeys::load_or_create(&dir.path().join("k.json")).expect("keys"));
    let refused = RelyingParty::new("http://comune.example.it", keys, settings, reqwest::Client::new());
    assert!(refused.is_err());
}

#[tokio::test]
async fn per_town_relying_parties_are_found_by_slug_and_instance_mode_serves_every_town() {
    let fed = Federation::start().await;
    let (a, _da) = fed.relying_party(fed.settings());
    let (b, _db) = fed.relying_party(fed.settings());
    let b_id = b.entity_id().to_owned();
    let towns = RelyingParties::per_town(vec![("prova".into(), a), ("altra".into(), b)]);
    assert_eq!(towns.for_town("altra").map(|rp| rp.entity_id().to_owned()), Some(b_id));
    assert!(towns.for_town("nessuna").is_none());
    assert!(towns.instance_rp().is_none());

    let (c, _dc) = fed.relying_party(fed.settings());
    let instance = RelyingParties::instance(c);
    assert!(instance.for_town("qualsiasi").is_some());
    assert!(instance.instance_rp().is_some());
}
