//! Unguessable link tokens for citizens and API clients, stored only as hashes.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// A new token with 256 random bits, URL-safe.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A new public id (96 random bits): not a secret, but not guessable or countable either.
pub fn new_public_id() -> String {
    let mut bytes = [0u8; 12];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A new reference code (`K7M-4QP`), the public id of appointments booked from now on: short
/// and readable aloud. Not unique by itself: the store says when it is taken (`IdTaken`).
pub fn new_reference() -> String {
    ricevo_core::reference::ReferenceCode::from_random(rand::rng().next_u64()).as_str().to_owned()
}

/// The stored form of a token: its SHA-256, hex. A leaked database opens no appointment.
pub fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Whether a string could be a token we issued (cheap check before touching the database).
pub fn looks_like_token(s: &str) -> bool {
    s.len() == 43 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_hash_deterministically() {
        let a = new_token();
        let b = new_token();
        assert_ne!(a, b);
        assert!(looks_like_token(&a), "{a}");
        assert_eq!(hash(&a), hash(&a));
        assert_ne!(hash(&a), hash(&b));
        assert_eq!(hash(&a).len(), 64);
        assert!(!looks_like_token("../../etc/passwd"));
        assert_eq!(new_public_id().len(), 16);
        let code = new_reference();
        assert_eq!(ricevo_core::reference::ReferenceCode::parse(&code).map(|c| c.as_str().to_owned()), Some(code));
    }
}
