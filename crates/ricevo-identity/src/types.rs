//! The values the web edge and the desk exchange with this crate.

use serde::{Deserialize, Serialize};

/// The national identity system a provider belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    /// SPID, the public digital identity system (many private providers).
    Spid,
    /// CIE, the electronic identity card (one provider, the Ministry of the Interior).
    Cie,
}

impl ProviderKind {
    /// "spid" or "cie", as in the configuration and in stored sessions.
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::Spid => "spid",
            ProviderKind::Cie => "cie",
        }
    }

    /// The kind [`ProviderKind::as_str`] wrote; `None` for anything else.
    pub fn parse(s: &str) -> Option<ProviderKind> {
        match s {
            "spid" => Some(ProviderKind::Spid),
            "cie" => Some(ProviderKind::Cie),
            _ => None,
        }
    }
}

/// The level of assurance asked of the provider (`acr_values`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum Acr {
    /// SPID level 1: password.
    #[serde(rename = "spid-l1")]
    SpidL1,
    /// SPID level 2: password and a second factor (the default).
    #[default]
    #[serde(rename = "spid-l2")]
    SpidL2,
    /// SPID level 3: a hardware device.
    #[serde(rename = "spid-l3")]
    SpidL3,
}

impl Acr {
    /// The URI sent in `acr_values` and found in the ID token's `acr`.
    pub fn as_uri(self) -> &'static str {
        match self {
            Acr::SpidL1 => "https://www.spid.gov.it/SpidL1",
            Acr::SpidL2 => "https://www.spid.gov.it/SpidL2",
            Acr::SpidL3 => "https://www.spid.gov.it/SpidL3",
        }
    }

    /// Reads "spid-l1", "l2", "SpidL3" or the URI itself.
    pub fn parse(text: &str) -> Option<Acr> {
        let t = text.trim();
        let level =
            t.strip_prefix("https://www.spid.gov.it/").unwrap_or(t).to_ascii_lowercase().replace(['-', '_'], "");
        match level.trim_start_matches("spid") {
            "l1" => Some(Acr::SpidL1),
            "l2" => Some(Acr::SpidL2),
            "l3" => Some(Acr::SpidL3),
            _ => None,
        }
    }
}

/// A provider a citizen may choose on the sign-in page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderChoice {
    /// The provider's entity id (what [`crate::RelyingParty::begin`] takes).
    pub entity_id: String,
    /// SPID or CIE.
    pub kind: ProviderKind,
    /// The provider's name, from its metadata (`organization_name`), else its entity id.
    pub name: String,
    /// The provider's logo, from its metadata, if it publishes one.
    pub logo_uri: Option<String>,
}

/// A sign-in under way: what the callback needs to check the answer. Kept server-side,
/// bound to the browser that started it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct PendingSignIn {
    /// The `state` sent; the callback's must be equal.
    pub state: String,
    /// The `nonce` sent; the ID token's must be equal.
    pub nonce: String,
    /// The PKCE verifier whose S256 challenge was sent.
    pub code_verifier: String,
    /// The provider's entity id.
    pub provider: String,
    /// SPID or CIE.
    pub kind: ProviderKind,
    /// The level asked.
    pub acr: Acr,
    /// When the sign-in started.
    pub created_at: jiff::Timestamp,
}

/// A citizen whose identity a trusted provider vouched for.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct VerifiedIdentity {
    /// SPID or CIE.
    pub kind: ProviderKind,
    /// The provider's entity id.
    pub provider: String,
    /// The provider's subject identifier (`sub`).
    pub subject: String,
    /// The fiscal code, upper case, without the "TINIT-" prefix.
    pub fiscal_code: String,
    /// Given name.
    pub given_name: String,
    /// Family name.
    pub family_name: String,
    /// E-mail, where released.
    pub email: Option<String>,
    /// Phone number, where released.
    pub phone: Option<String>,
    /// The level of assurance the provider states (`acr` of the ID token).
    pub acr: String,
    /// The ID token, kept for the logout hint.
    pub id_token: String,
}
