//! The relying party's key pairs and the file that keeps them.
//!
//! Three RSA-2048 key pairs, as the SPID/CIE OIDC Federation rules want the federation keys
//! apart from the OIDC ones: the **federation** key signs our entity configuration (its public
//! half is what the trust anchor or intermediate registers at onboarding); the **OIDC signing**
//! key signs request objects and client assertions; the **OIDC encryption** key is the one
//! providers encrypt userinfo to. Each key's `kid` is its RFC 7638 thumbprint.
//!
//! ## Rotation
//! Whoever verifies our signatures holds our public keys in a cache: a provider keeps our
//! resolved trust chain (with our OIDC keys in its metadata) until the chain expires, at most
//! [`ENTITY_CONFIGURATION_LIFETIME`] after our entity configuration was issued; the trust
//! anchor holds our federation key from onboarding. So [`RelyingPartyKeys::rotate`] makes new
//! keys and keeps the previous ones (private parts too) for a [`ROLLOVER`] period:
//! - both generations' public keys are published (entity configuration `jwks`, metadata
//!   `jwks`) from the moment of rotation;
//! - we keep **signing with the previous keys** for the first half of the period, so no cache
//!   meets a `kid` it has not seen yet; then the new keys sign;
//! - userinfo encrypted to either encryption key is decrypted;
//! - after the period the previous keys are dropped (when the file is next loaded or rotated).
//!
//! The new federation key must reach the trust anchor within the first half of the period:
//! `ricevo identity keys` prints both generations' public federation keys for that.

use std::path::Path;

use jiff::{SignedDuration, Timestamp};
use josekit::jwk::Jwk;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::IdentityError;
use crate::jose;

/// How long our entity configuration is valid (`exp - iat`), hence the longest anyone caches
/// the keys it publishes.
pub const ENTITY_CONFIGURATION_LIFETIME: SignedDuration = SignedDuration::from_hours(24);

/// How long the previous keys stay after a rotation: published throughout, used to sign for
/// the first half (one entity-configuration lifetime), dropped at the end.
pub const ROLLOVER: SignedDuration = SignedDuration::from_hours(48);

/// The relying party's three RSA key pairs: the federation key (signs the entity
/// configuration), the OIDC signing key (request objects, client assertions) and the OIDC
/// encryption key (the provider encrypts userinfo to it).
#[derive(Debug)]
pub struct RelyingPartyKeys {
    current: Generation,
    /// The keys before the last rotation, while the rollover lasts.
    previous: Option<Generation>,
}

/// One generation of the three keys.
#[derive(Debug, Clone)]
struct Generation {
    created_at: Timestamp,
    federation: Jwk,
    oidc_signing: Jwk,
    oidc_encryption: Jwk,
}

/// The key file: JSON with the private keys (mode 0600).
#[derive(Serialize, Deserialize)]
struct KeyFile {
    current: StoredGeneration,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    previous: Option<StoredGeneration>,
}

#[derive(Serialize, Deserialize)]
struct StoredGeneration {
    created_at: Timestamp,
    federation: Map<String, Value>,
    oidc_signing: Map<String, Value>,
    oidc_encryption: Map<String, Value>,
}

impl RelyingPartyKeys {
    /// Loads the keys from `path`, or creates them there (file mode 0600, a JSON document
    /// with the private parts) when the file does not exist. Previous keys whose rollover is
    /// over are dropped.
    pub fn load_or_create(path: &Path) -> Result<Self, IdentityError> {
        Self::load_or_create_at(path, Timestamp::now())
    }

    /// [`Self::load_or_create`] at a given time.
    pub fn load_or_create_at(path: &Path, now: Timestamp) -> Result<Self, IdentityError> {
        match std::fs::read(path) {
            Ok(bytes) => {
                let mut keys =
                    Self::from_json(&bytes).map_err(|e| IdentityError::Keys(format!("{}: {e}", path.display())))?;
                if keys.previous.is_some() && keys.current.created_at + ROLLOVER <= now {
                    keys.previous = None;
                    keys.save(path)?;
                }
                Ok(keys)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let keys = RelyingPartyKeys { current: Generation::generate(now)?, previous: None };
                keys.save(path)?;
                Ok(keys)
            }
            Err(e) => Err(IdentityError::Keys(format!("{}: {e}", path.display()))),
        }
    }

    /// Replaces the keys in `path` with new ones; the previous public keys stay published
    /// (and the previous keys keep signing for half of it) for the [`ROLLOVER`] period, so
    /// that those who cached them still verify. Creates the file when there is none.
    pub fn rotate(path: &Path) -> Result<Self, IdentityError> {
        Self::rotate_at(path, Timestamp::now())
    }

    /// [`Self::rotate`] at a given time.
    pub fn rotate_at(path: &Path, now: Timestamp) -> Result<Self, IdentityError> {
        let old = Self::load_or_create_at(path, now)?;
        let keys = RelyingPartyKeys { current: Generation::generate(now)?, previous: Some(old.current) };
        keys.save(path)?;
        Ok(keys)
    }

    /// The public federation keys as a JWKS (`{"keys": [...]}`): what the trust anchor or
    /// intermediate registers at onboarding. During a rollover, both generations.
    pub fn public_federation_jwks(&self) -> Value {
        self.public_jwks(|g| &g.federation)
    }

    /// The public OIDC keys (signing and encryption) as a JWKS: the `jwks` of our
    /// `openid_relying_party` metadata. During a rollover, both generations.
    pub fn public_oidc_jwks(&self) -> Value {
        let mut keys = Vec::new();
        for generation in self.generations() {
            keys.push(public(&generation.oidc_signing));
            keys.push(public(&generation.oidc_encryption));
        }
        json!({ "keys": keys })
    }

    fn public_jwks(&self, pick: impl Fn(&Generation) -> &Jwk) -> Value {
        let keys: Vec<Value> = self.generations().map(|g| public(pick(g))).collect();
        json!({ "keys": keys })
    }

    fn generations(&self) -> impl Iterator<Item = &Generation> {
        std::iter::once(&self.current).chain(self.previous.iter())
    }

    /// The generation that signs at `now`: the previous one during the first half of a
    /// rollover, else the current one.
    fn signing_generation(&self, now: Timestamp) -> &Generation {
        match &self.previous {
            Some(previous) if now < self.current.created_at + ENTITY_CONFIGURATION_LIFETIME => previous,
            _ => &self.current,
        }
    }

    /// The key that signs our entity configuration at `now`.
    pub(crate) fn federation_signing_key(&self, now: Timestamp) -> &Jwk {
        &self.signing_generation(now).federation
    }

    /// The key that signs request objects and client assertions at `now`.
    pub(crate) fn oidc_signing_key(&self, now: Timestamp) -> &Jwk {
        &self.signing_generation(now).oidc_signing
    }

    /// Every encryption key we still hold (userinfo may be encrypted to any of them).
    pub(crate) fn decryption_keys(&self) -> Vec<&Jwk> {
        self.generations().map(|g| &g.oidc_encryption).collect()
    }

    fn from_json(bytes: &[u8]) -> Result<Self, String> {
        let file: KeyFile = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        Ok(RelyingPartyKeys {
            current: Generation::from_stored(file.current)?,
            previous: file.previous.map(Generation::from_stored).transpose()?,
        })
    }

    /// Writes the file with mode 0600, through a temporary file renamed over the old one so
    /// a crash never leaves half a key file.
    fn save(&self, path: &Path) -> Result<(), IdentityError> {
        let file =
            KeyFile { current: self.current.to_stored(), previous: self.previous.as_ref().map(Generation::to_stored) };
        let bytes = serde_json::to_vec_pretty(&file).map_err(|e| IdentityError::Keys(e.to_string()))?;
        let io = |e: std::io::Error| IdentityError::Keys(format!("{}: {e}", path.display()));
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let tmp = path.with_extension("json.tmp");
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        {
            use std::io::Write;
            let mut out = options.open(&tmp).map_err(io)?;
            out.write_all(&bytes).map_err(io)?;
            out.sync_all().map_err(io)?;
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600)).map_err(io)?;
        }
        std::fs::rename(&tmp, path).map_err(io)
    }
}

impl Generation {
    fn generate(now: Timestamp) -> Result<Self, IdentityError> {
        Ok(Generation {
            created_at: now,
            federation: new_key("sig")?,
            oidc_signing: new_key("sig")?,
            oidc_encryption: new_key("enc")?,
        })
    }

    fn from_stored(stored: StoredGeneration) -> Result<Self, String> {
        let load = |map: Map<String, Value>, use_: &str| -> Result<Jwk, String> {
            let jwk = Jwk::from_map(map).map_err(|e| e.to_string())?;
            if jwk.key_type() != "RSA" || jwk.parameter("d").is_none() || jwk.key_use() != Some(use_) {
                return Err(format!("not an RSA private key for {use_}"));
            }
            Ok(jwk)
        };
        Ok(Generation {
            created_at: stored.created_at,
            federation: load(stored.federation, "sig")?,
            oidc_signing: load(stored.oidc_signing, "sig")?,
            oidc_encryption: load(stored.oidc_encryption, "enc")?,
        })
    }

    fn to_stored(&self) -> StoredGeneration {
        StoredGeneration {
            created_at: self.created_at,
            federation: self.federation.as_ref().clone(),
            oidc_signing: self.oidc_signing.as_ref().clone(),
            oidc_encryption: self.oidc_encryption.as_ref().clone(),
        }
    }
}

/// A new RSA-2048 key for `use_` ("sig" or "enc"), its `kid` the RFC 7638 thumbprint.
fn new_key(use_: &str) -> Result<Jwk, IdentityError> {
    let mut jwk = Jwk::generate_rsa_key(2048).map_err(|e| IdentityError::Keys(e.to_string()))?;
    jwk.set_key_use(use_);
    let kid = jose::rsa_thumbprint(&jwk)?;
    jwk.set_key_id(kid);
    Ok(jwk)
}

/// The public half of a key, with its `kid` and `use` (providers pick our encryption key by
/// `use`), and `alg` for the signing keys.
fn public(key: &Jwk) -> Value {
    let mut out = Map::new();
    out.insert("kty".into(), json!("RSA"));
    for name in ["kid", "use", "n", "e"] {
        if let Some(value) = key.parameter(name) {
            out.insert(name.into(), value.clone());
        }
    }
    if key.key_use() == Some("sig") {
        out.insert("alg".into(), json!("RS256"));
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kids(jwks: &Value) -> Vec<String> {
        jose::jwks_keys(jwks).iter().filter_map(|k| k.get("kid").and_then(Value::as_str).map(str::to_owned)).collect()
    }

    #[test]
    fn keys_are_created_once_in_a_private_file_and_loaded_again() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("identity/instance.json");
        let now: Timestamp = "2026-12-01T10:00:00Z".parse().expect("time");
        let created = RelyingPartyKeys::load_or_create_at(&path, now).expect("created");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("file").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let loaded = RelyingPartyKeys::load_or_create_at(&path, now).expect("loaded");
        assert_eq!(created.public_federation_jwks(), loaded.public_federation_jwks());
        assert_eq!(created.public_oidc_jwks(), loaded.public_oidc_jwks());
        let fed = kids(&created.public_federation_jwks());
        let oidc = kids(&created.public_oidc_jwks());
        assert_eq!(fed.len(), 1);
        assert_eq!(oidc.len(), 2);
        assert!(!oidc.contains(&fed[0]), "federation and OIDC keys are separate");
        // Published keys carry no private part.
        let text = created.public_oidc_jwks().to_string();
        assert!(!text.contains("\"d\"") && !text.contains("\"p\""));
        // The kid is the RFC 7638 thumbprint of the public key.
        let jwk = Jwk::from_map(jose::jwks_keys(&created.public_federation_jwks())[0].clone()).expect("jwk");
        assert_eq!(jose::rsa_thumbprint(&jwk).expect("thumbprint"), fed[0]);
    }

    #[test]
    fn after_rotation_the_previous_keys_sign_then_retire() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("keys.json");
        let t0: Timestamp = "2026-12-01T10:00:00Z".parse().expect("time");
        let old = RelyingPartyKeys::load_or_create_at(&path, t0).expect("created");
        let old_kid = old.federation_signing_key(t0).key_id().map(str::to_owned);

        let t1 = t0 + SignedDuration::from_hours(1);
        let rotated = RelyingPartyKeys::rotate_at(&path, t1).expect("rotated");
        assert_eq!(kids(&rotated.public_federation_jwks()).len(), 2, "both generations published");
        assert_eq!(kids(&rotated.public_oidc_jwks()).len(), 4);
        // During the first half of the rollover the previous keys still sign.
        assert_eq!(rotated.federation_signing_key(t1).key_id().map(str::to_owned), old_kid);
        let later = t1 + ENTITY_CONFIGURATION_LIFETIME;
        assert_ne!(rotated.federation_signing_key(later).key_id().map(str::to_owned), old_kid);
        assert_eq!(rotated.decryption_keys().len(), 2);

        // After the rollover, loading drops the previous keys.
        let done = RelyingPartyKeys::load_or_create_at(&path, t1 + ROLLOVER).expect("loaded");
        assert_eq!(kids(&done.public_federation_jwks()).len(), 1);
        assert!(!kids(&done.public_federation_jwks()).contains(old_kid.as_ref().expect("kid")));
    }

    #[test]
    fn a_damaged_key_file_is_refused_not_replaced() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("keys.json");
        std::fs::write(&path, b"{\"current\": 3}").expect("write");
        let err = RelyingPartyKeys::load_or_create(&path).expect_err("refused");
        assert!(matches!(err, IdentityError::Keys(_)));
        assert_eq!(std::fs::read(&path).expect("still there"), b"{\"current\": 3}");
    }
}
