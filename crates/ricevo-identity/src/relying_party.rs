//! The relying party: our entity configuration, the trusted providers, and a sign-in.

use std::sync::Arc;

use jiff::Timestamp;

use crate::{Acr, IdentityError, PendingSignIn, ProviderChoice, RelyingPartyKeys, VerifiedIdentity};

/// A trust anchor we trust, with its federation keys pinned in the configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct TrustAnchor {
    /// The anchor's entity id.
    pub entity_id: String,
    /// The anchor's federation public keys (`{"keys": [...]}`).
    pub jwks: serde_json::Value,
}

/// How this relying party takes part in the federation.
#[derive(Debug, Clone, PartialEq)]
pub struct FederationSettings {
    /// The trust anchors whose chains we accept.
    pub trust_anchors: Vec<TrustAnchor>,
    /// Our superiors (intermediates or trust anchors), published as `authority_hints`.
    pub authority_hints: Vec<String>,
    /// The trust marks issued to this relying party (JWTs), published in our entity
    /// configuration.
    pub trust_marks: Vec<String>,
    /// The providers offered (entity ids); empty = those the trust anchors list.
    pub providers: Vec<String>,
    /// The level of assurance asked.
    pub acr: Acr,
    /// Only for local tests: entity ids may be `http://` URLs.
    pub allow_http: bool,
    /// Contacts (e-mail addresses) published in our metadata.
    pub contacts: Vec<String>,
    /// The organization's name published in our metadata.
    pub organization_name: String,
}

/// A relying party of the SPID/CIE OIDC Federation.
#[derive(Debug)]
pub struct RelyingParty {
    entity_id: String,
    #[allow(dead_code)]
    keys: Arc<RelyingPartyKeys>,
    #[allow(dead_code)]
    settings: FederationSettings,
    #[allow(dead_code)]
    http: reqwest::Client,
}

impl RelyingParty {
    /// A relying party whose entity id is `entity_id` (an `https://` URL without a trailing
    /// slash; `http://` only with `allow_http`).
    pub fn new(
        entity_id: &str,
        keys: Arc<RelyingPartyKeys>,
        settings: FederationSettings,
        http: reqwest::Client,
    ) -> Result<Self, IdentityError> {
        Ok(RelyingParty { entity_id: entity_id.trim_end_matches('/').to_owned(), keys, settings, http })
    }

    /// Our entity id (also our `client_id`).
    pub fn entity_id(&self) -> &str {
        &self.entity_id
    }

    /// Where providers send the citizen back: `{entity_id}/accedi/callback`.
    pub fn redirect_uri(&self) -> String {
        format!("{}/accedi/callback", self.entity_id)
    }

    /// Our entity configuration: a JWT signed with the federation key, `typ`
    /// `entity-statement+jwt`, served at `{entity_id}/.well-known/openid-federation`.
    pub fn entity_configuration(&self, now: Timestamp) -> Result<String, IdentityError> {
        let _ = now;
        Err(IdentityError::NotConfigured)
    }

    /// The providers a citizen may choose: only those whose trust chain resolves (cached
    /// until the chain expires).
    pub async fn providers(&self, now: Timestamp) -> Vec<ProviderChoice> {
        let _ = now;
        Vec::new()
    }

    /// Starts a sign-in with `provider` (an entity id): the URL to send the browser to, and
    /// what the callback will need.
    pub async fn begin(&self, provider: &str, now: Timestamp) -> Result<(String, PendingSignIn), IdentityError> {
        let _ = (provider, now);
        Err(IdentityError::NotConfigured)
    }

    /// Finishes a sign-in: exchanges `code` for tokens, checks the ID token, reads the
    /// userinfo. The caller has already compared the callback's `state` with
    /// `pending.state`.
    pub async fn finish(
        &self,
        pending: &PendingSignIn,
        code: &str,
        now: Timestamp,
    ) -> Result<VerifiedIdentity, IdentityError> {
        let _ = (pending, code, now);
        Err(IdentityError::NotConfigured)
    }

    /// The provider's logout URL (its `end_session_endpoint`) for `identity`, coming back to
    /// `post_logout_redirect`; `None` when the provider offers none.
    pub async fn logout_url(&self, identity: &VerifiedIdentity, post_logout_redirect: &str) -> Option<String> {
        let _ = (identity, post_logout_redirect);
        None
    }
}

/// The instance's relying parties: one for the whole instance, or one per town.
#[derive(Debug)]
pub struct RelyingParties {
    mode: Mode,
}

#[derive(Debug)]
enum Mode {
    /// One relying party (entity id = the instance's public URL) for every town.
    Instance(RelyingParty),
    /// One relying party per town (entity id = `{public_url}/{slug}`).
    PerTown(Vec<(String, RelyingParty)>),
}

impl RelyingParties {
    /// One relying party for the whole instance.
    pub fn instance(rp: RelyingParty) -> Self {
        RelyingParties { mode: Mode::Instance(rp) }
    }

    /// One relying party per town, by town slug.
    pub fn per_town(rps: Vec<(String, RelyingParty)>) -> Self {
        RelyingParties { mode: Mode::PerTown(rps) }
    }

    /// The relying party that serves `slug`: in instance mode the instance's, for every town.
    pub fn for_town(&self, slug: &str) -> Option<&RelyingParty> {
        match &self.mode {
            Mode::Instance(rp) => Some(rp),
            Mode::PerTown(rps) => rps.iter().find(|(s, _)| s == slug).map(|(_, rp)| rp),
        }
    }

    /// The instance's relying party; `None` in per-town mode.
    pub fn instance_rp(&self) -> Option<&RelyingParty> {
        match &self.mode {
            Mode::Instance(rp) => Some(rp),
            Mode::PerTown(_) => None,
        }
    }
}
