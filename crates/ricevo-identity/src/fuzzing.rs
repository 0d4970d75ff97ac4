//! Entry points for the fuzz targets in `fuzz/` (not part of the API): every parser of what a
//! provider or a trust anchor sends, reached without a network.

use std::sync::OnceLock;

use josekit::jwk::Jwk;
use serde_json::{Map, Value, json};

use crate::relying_party::{IdTokenCheck, check_id_token, read_userinfo};

/// One RSA key to decrypt with (made once: a key per input would fuzz key generation).
fn decryption_key() -> &'static Jwk {
    static KEY: OnceLock<Jwk> = OnceLock::new();
    KEY.get_or_init(|| {
        let mut jwk = Jwk::generate_rsa_key(2048).unwrap_or_else(|_| Jwk::new("RSA"));
        jwk.set_key_use("enc");
        jwk.set_key_id("k1");
        jwk
    })
}

/// A token as a provider or a federation entity might send it: read as a JWS, an entity
/// statement, an ID token and an encrypted userinfo. Every outcome must be an answer, never a
/// panic; nothing unsigned is accepted.
pub fn tokens(input: &str) {
    let jwks = json!({"keys": [{"kty": "RSA", "kid": "k1", "use": "sig", "n": "AQAB", "e": "AQAB"}]});
    let _ = crate::jose::peek(input);
    assert!(crate::jose::verify(input, &jwks).is_err(), "nothing verifies against a key nobody holds");
    assert!(crate::jose::verify(input, &Value::Null).is_err(), "nothing verifies without keys");
    let check = IdTokenCheck {
        id_token: input,
        access_token: "at",
        provider_jwks: &jwks,
        issuer: "https://op.example.it",
        client_id: "https://rp.example.it",
        nonce: "n",
        now: jiff::Timestamp::UNIX_EPOCH,
    };
    assert!(check_id_token(&check).is_err(), "an ID token signed by nobody's key is refused");
    let key = decryption_key();
    let _ = crate::jose::decrypt(input, &[key]);
    assert!(read_userinfo(input, &[key], &jwks).is_err(), "a userinfo signed by nobody's key is refused");
}

/// A superior's metadata policy applied to a provider's metadata, both as JSON a federation
/// might send: an answer (applied, or refused), never a panic.
pub fn metadata_policy(metadata: &[u8], policy: &[u8]) {
    let (Ok(Value::Object(mut metadata)), Ok(Value::Object(policy))) =
        (serde_json::from_slice::<Value>(metadata), serde_json::from_slice::<Value>(policy))
    else {
        return;
    };
    let policy: Map<String, Value> = policy;
    let _ = crate::policy::apply(&mut metadata, &policy);
}
