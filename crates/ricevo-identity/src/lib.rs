//! Ricevo as a relying party of the SPID/CIE OpenID Connect Federation.
//!
//! The Italian technical rules ("SPID/CIE OIDC Federation") make every party a federation
//! entity: it publishes a signed *entity configuration* at `/.well-known/openid-federation`,
//! and trusts another entity only through a *trust chain* of signed statements that ends at a
//! trust anchor whose keys it knows in advance. This crate is that relying party:
//!
//! - [`RelyingPartyKeys`]: the three key pairs (federation signing, OIDC signing, OIDC
//!   encryption), kept in a file of the data dir;
//! - [`RelyingParty`]: our entity configuration, the providers whose trust chain resolves, the
//!   authorization request (signed request object, PKCE, `state`, `nonce`) and its callback
//!   (token request with `private_key_jwt`, ID token checks, encrypted userinfo);
//! - [`RelyingParties`]: one relying party for the instance, or one per town.
//!
//! Everything here takes `now` from the caller; the only I/O is HTTP through the
//! `reqwest::Client` the caller hands in.
#![deny(missing_docs)]

mod error;
#[doc(hidden)]
pub mod fuzzing;
mod jose;
mod keys;
mod policy;
mod relying_party;
mod trust_chain;
mod types;

pub use error::IdentityError;
pub use keys::{ENTITY_CONFIGURATION_LIFETIME, ROLLOVER, RelyingPartyKeys};
pub use relying_party::{FederationSettings, RelyingParties, RelyingParty, TrustAnchor};
pub use types::{Acr, PendingSignIn, ProviderChoice, ProviderKind, VerifiedIdentity};
