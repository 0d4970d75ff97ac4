//! The relying party's key pairs and the file that keeps them.

use std::path::Path;

use crate::IdentityError;

/// The relying party's three RSA key pairs: the federation key (signs the entity
/// configuration), the OIDC signing key (request objects, client assertions) and the OIDC
/// encryption key (the provider encrypts userinfo to it).
#[derive(Debug)]
pub struct RelyingPartyKeys {
    _private: (),
}

impl RelyingPartyKeys {
    /// Loads the keys from `path`, or creates them there (file mode 0600, a JSON document
    /// with the private parts) when the file does not exist.
    pub fn load_or_create(path: &Path) -> Result<Self, IdentityError> {
        let _ = path;
        Err(IdentityError::NotConfigured)
    }

    /// Replaces the keys in `path` with new ones; the previous public keys stay published
    /// beside the new ones for a while, so that those who cached them still verify.
    pub fn rotate(path: &Path) -> Result<Self, IdentityError> {
        let _ = path;
        Err(IdentityError::NotConfigured)
    }

    /// The public federation keys as a JWKS (`{"keys": [...]}`): what the trust anchor or
    /// intermediate registers at onboarding.
    pub fn public_federation_jwks(&self) -> serde_json::Value {
        serde_json::json!({ "keys": [] })
    }

    /// The public OIDC keys (signing and encryption) as a JWKS: the `jwks` of our
    /// `openid_relying_party` metadata.
    pub fn public_oidc_jwks(&self) -> serde_json::Value {
        serde_json::json!({ "keys": [] })
    }
}
