//! Signed and encrypted JSON (JWS, JWE) as the federation uses them, over `josekit`.
//!
//! Every JWT we read comes from the network, so parsing is defensive: a bounded size, exactly
//! the parts a compact serialization has, JSON objects for header and payload, and only the
//! asymmetric algorithms the SPID/CIE rules allow (never `none`, never HMAC).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use josekit::jwk::Jwk;
use serde_json::{Map, Value};
use sha2::Digest;

use crate::IdentityError;

/// A JSON object: a JWT's header or payload.
pub(crate) type Object = Map<String, Value>;

/// The largest JWT we read (statements with many keys and trust marks stay far below).
const MAX_JWT_LEN: usize = 256 * 1024;

/// Decodes a JWS's header and payload WITHOUT checking the signature: only to learn who
/// claims to have signed it and with which key, before verifying it with [`verify`].
pub(crate) fn peek(jwt: &str) -> Result<(Object, Object), IdentityError> {
    if jwt.len() > MAX_JWT_LEN {
        return Err(IdentityError::Malformed("JWT too long".into()));
    }
    let parts: Vec<&str> = jwt.trim().split('.').collect();
    let [header, payload, _signature] = parts.as_slice() else {
        return Err(IdentityError::Malformed("not a signed JWT (three parts)".into()));
    };
    Ok((decode_object(header, "header")?, decode_object(payload, "payload")?))
}

/// Decodes one base64url part as a JSON object.
fn decode_object(part: &str, what: &str) -> Result<Object, IdentityError> {
    let bytes =
        URL_SAFE_NO_PAD.decode(part).map_err(|_| IdentityError::Malformed(format!("JWT {what} is not base64url")))?;
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(IdentityError::Malformed(format!("JWT {what} is not a JSON object"))),
    }
}

/// The keys of a JWKS document (`{"keys": [...]}`), or of a bare array of keys.
pub(crate) fn jwks_keys(jwks: &Value) -> Vec<&Object> {
    let list = match jwks {
        Value::Object(map) => map.get("keys").and_then(Value::as_array),
        Value::Array(list) => Some(list),
        _ => None,
    };
    list.map(|keys| keys.iter().filter_map(Value::as_object).collect()).unwrap_or_default()
}

/// Verifies a JWS with the key of `jwks` its header names (`kid`); returns header and payload.
pub(crate) fn verify(jwt: &str, jwks: &Value) -> Result<(Object, Object), IdentityError> {
    let (header, _) = peek(jwt)?;
    let alg = header.get("alg").and_then(Value::as_str).unwrap_or_default();
    let kid = header
        .get("kid")
        .and_then(Value::as_str)
        .ok_or_else(|| IdentityError::Signature("the JWT header names no key (kid)".into()))?;
    let key = jwks_keys(jwks)
        .into_iter()
        .find(|key| key.get("kid").and_then(Value::as_str) == Some(kid))
        .ok_or_else(|| IdentityError::Signature(format!("unknown key {kid}")))?;
    let jwk = Jwk::from_map(key.clone()).map_err(|e| IdentityError::Signature(format!("key {kid} unusable: {e}")))?;
    let verified = match alg {
        "RS256" => josekit::jws::RS256.verifier_from_jwk(&jwk).map(boxed),
        "RS384" => josekit::jws::RS384.verifier_from_jwk(&jwk).map(boxed),
        "RS512" => josekit::jws::RS512.verifier_from_jwk(&jwk).map(boxed),
        "PS256" => josekit::jws::PS256.verifier_from_jwk(&jwk).map(boxed),
        "PS384" => josekit::jws::PS384.verifier_from_jwk(&jwk).map(boxed),
        "PS512" => josekit::jws::PS512.verifier_from_jwk(&jwk).map(boxed),
        "ES256" => josekit::jws::ES256.verifier_from_jwk(&jwk).map(boxed),
        "ES384" => josekit::jws::ES384.verifier_from_jwk(&jwk).map(boxed),
        "ES512" => josekit::jws::ES512.verifier_from_jwk(&jwk).map(boxed),
        other => return Err(IdentityError::Signature(format!("algorithm {other:?} not allowed"))),
    };
    let verifier = verified.map_err(|e| IdentityError::Signature(format!("key {kid} unusable: {e}")))?;
    let (payload, _) = josekit::jws::deserialize_compact(jwt.trim(), verifier.as_ref())
        .map_err(|e| IdentityError::Signature(e.to_string()))?;
    match serde_json::from_slice::<Value>(&payload) {
        Ok(Value::Object(map)) => Ok((header, map)),
        _ => Err(IdentityError::Malformed("JWT payload is not a JSON object".into())),
    }
}

fn boxed<V: josekit::jws::JwsVerifier + 'static>(v: V) -> Box<dyn josekit::jws::JwsVerifier> {
    Box::new(v)
}

/// Signs `payload` with an RSA private key (RS256), naming the key (`kid`) and, when given,
/// the token type (`typ`) in the header.
pub(crate) fn sign(payload: &Object, key: &Jwk, typ: Option<&str>) -> Result<String, IdentityError> {
    let mut header = josekit::jws::JwsHeader::new();
    if let Some(typ) = typ {
        header.set_token_type(typ);
    }
    if let Some(kid) = key.key_id() {
        header.set_key_id(kid);
    }
    let signer = josekit::jws::RS256
        .signer_from_jwk(key)
        .map_err(|e| IdentityError::Keys(format!("signing key unusable: {e}")))?;
    let bytes = serde_json::to_vec(payload).map_err(|e| IdentityError::Malformed(e.to_string()))?;
    josekit::jws::serialize_compact(&bytes, &header, &signer)
        .map_err(|e| IdentityError::Keys(format!("signing failed: {e}")))
}

/// Decrypts a compact JWE (RSA-OAEP or RSA-OAEP-256 key wrapping) with the private key of
/// `keys` its header names; returns the plaintext.
pub(crate) fn decrypt(jwe: &str, keys: &[&Jwk]) -> Result<Vec<u8>, IdentityError> {
    let jwe = jwe.trim();
    if jwe.len() > MAX_JWT_LEN {
        return Err(IdentityError::Malformed("JWE too long".into()));
    }
    let parts: Vec<&str> = jwe.split('.').collect();
    let [header, _, _, _, _] = parts.as_slice() else {
        return Err(IdentityError::Malformed("not an encrypted JWT (five parts)".into()));
    };
    let header = decode_object(header, "header")?;
    let kid = header.get("kid").and_then(Value::as_str);
    let key = keys
        .iter()
        .find(|key| kid.is_none() || key.key_id() == kid)
        .ok_or_else(|| IdentityError::Signature("encrypted to a key we do not have".into()))?;
    let decrypter = match header.get("alg").and_then(Value::as_str) {
        Some("RSA-OAEP") => josekit::jwe::RSA_OAEP.decrypter_from_jwk(key),
        Some("RSA-OAEP-256") => josekit::jwe::RSA_OAEP_256.decrypter_from_jwk(key),
        other => {
            return Err(IdentityError::Malformed(format!("JWE algorithm {other:?} not allowed")));
        }
    }
    .map_err(|e| IdentityError::Keys(format!("encryption key unusable: {e}")))?;
    let (plain, _) = josekit::jwe::deserialize_compact(jwe, &decrypter)
        .map_err(|e| IdentityError::Signature(format!("cannot decrypt: {e}")))?;
    Ok(plain)
}

/// The RFC 7638 thumbprint of an RSA key: SHA-256 over `{"e","kty","n"}`, base64url.
pub(crate) fn rsa_thumbprint(key: &Jwk) -> Result<String, IdentityError> {
    let e = key.parameter("e").and_then(Value::as_str);
    let n = key.parameter("n").and_then(Value::as_str);
    let (Some(e), Some(n)) = (e, n) else {
        return Err(IdentityError::Keys("RSA key without n or e".into()));
    };
    // The members in lexicographic order, no whitespace (RFC 7638, section 3).
    let canonical = format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#);
    Ok(URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(canonical.as_bytes())))
}

/// The left half of the hash of `value` that `at_hash` carries (OIDC Core 3.1.3.6), the hash
/// chosen by the ID token's algorithm.
pub(crate) fn left_half_hash(alg: &str, value: &str) -> String {
    let digest: Vec<u8> = match alg.get(2..) {
        Some("384") => sha2::Sha384::digest(value.as_bytes()).to_vec(),
        Some("512") => sha2::Sha512::digest(value.as_bytes()).to_vec(),
        _ => sha2::Sha256::digest(value.as_bytes()).to_vec(),
    };
    URL_SAFE_NO_PAD.encode(&digest[..digest.len() / 2])
}

/// base64url without padding.
pub(crate) fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// `count` random bytes as base64url: states, nonces, verifiers, JWT ids.
pub(crate) fn random_token(count: usize) -> String {
    use rand::RngCore;
    let mut bytes = vec![0u8; count];
    rand::rng().fill_bytes(&mut bytes);
    b64(&bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn some_key() -> Jwk {
        let mut jwk = Jwk::generate_rsa_key(2048).expect("key");
        jwk.set_key_use("enc");
        jwk.set_key_id("k1");
        jwk
    }

    /// Strings that look like JWTs: base64url-ish parts, dots, JSON fragments.
    fn jwt_ish() -> impl Strategy<Value = String> {
        let part = prop_oneof![
            "[A-Za-z0-9_-]{0,40}",
            Just("eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0".to_owned()),
            Just("eyJhbGciOiJub25lIn0".to_owned()),
            Just("e30".to_owned()),
            Just("bnVsbA".to_owned()),
            ".{0,20}",
        ];
        prop::collection::vec(part, 0..7).prop_map(|parts| parts.join("."))
    }

    proptest! {
        #[test]
        fn jwt_ish_input_never_panics_the_parsers(input in jwt_ish()) {
            // The fuzz target's own checks: an answer for anything, nothing accepted unsigned.
            crate::fuzzing::tokens(&input);
        }

        #[test]
        fn jwe_ish_input_never_panics_the_decrypter(input in jwt_ish()) {
            let key = KEY.with(|k| k.clone());
            let _ = decrypt(&input, &[&key]);
            let _ = crate::relying_party::read_userinfo(&input, &[&key], &Value::Null);
        }
    }

    thread_local! {
        static KEY: Jwk = some_key();
    }

    #[test]
    fn the_none_and_hmac_algorithms_are_never_accepted() {
        let jwks = json!({"keys": [{"kty": "oct", "kid": "k1", "k": "c2VjcmV0"}]});
        let header = b64(br#"{"alg":"none","kid":"k1"}"#);
        let payload = b64(br#"{"sub":"x"}"#);
        assert!(verify(&format!("{header}.{payload}."), &jwks).is_err());
        let header = b64(br#"{"alg":"HS256","kid":"k1"}"#);
        assert!(verify(&format!("{header}.{payload}.c2lnbmF0dXJl"), &jwks).is_err());
    }

    #[test]
    fn thumbprint_matches_rfc_7638_example() {
        // RFC 7638 section 3.1.
        let jwk = Jwk::from_map(json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29"
        }).as_object().cloned().expect("object")).expect("jwk");
        assert_eq!(rsa_thumbprint(&jwk).expect("thumbprint"), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
    }

    #[test]
    fn fiscal_codes_lose_the_tinit_prefix_and_are_upper_case() {
        assert_eq!(crate::relying_party::fiscal_code("TINIT-rssmra80a01h501u"), "RSSMRA80A01H501U");
        assert_eq!(crate::relying_party::fiscal_code(" tinit-RSSMRA80A01H501U "), "RSSMRA80A01H501U");
        assert_eq!(crate::relying_party::fiscal_code("RSSMRA80A01H501U"), "RSSMRA80A01H501U");
    }
}
