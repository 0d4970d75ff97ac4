//! Why a sign-in, a trust chain or a key file was refused.

/// Every refusal of this crate. Displayed in English for the logs; the web edge words it for
/// citizens.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdentityError {
    /// The provider is not one we trust: its chain reaches none of our trust anchors.
    #[error("untrusted provider: {0}")]
    Untrusted(String),
    /// A statement of the trust chain is missing, malformed or inconsistent.
    #[error("trust chain: {0}")]
    TrustChain(String),
    /// The trust chain has expired (a statement's `exp` is in the past).
    #[error("the trust chain has expired")]
    ChainExpired,
    /// A signature did not verify, or was made with a key we do not know.
    #[error("bad signature: {0}")]
    Signature(String),
    /// The ID token (or userinfo) was issued by someone other than the provider.
    #[error("the token's issuer is not the provider")]
    Issuer,
    /// The ID token was not issued to us.
    #[error("the token's audience is not this relying party")]
    Audience,
    /// The ID token's nonce is not the one we sent.
    #[error("the token's nonce is not the one sent")]
    Nonce,
    /// The callback's state is not the one we sent.
    #[error("the callback's state is not the one sent")]
    State,
    /// The token has expired, or was issued in the future.
    #[error("the token has expired or is not yet valid")]
    Expired,
    /// The ID token's `at_hash` does not match the access token.
    #[error("the ID token's at_hash does not match the access token")]
    AtHash,
    /// The provider answered with an OAuth error.
    #[error("the provider refused: {error}: {description}")]
    Provider {
        /// The OAuth `error` code.
        error: String,
        /// The provider's `error_description`, empty when it gave none.
        description: String,
    },
    /// A claim we need was not released.
    #[error("missing claim {0}")]
    MissingClaim(&'static str),
    /// The provider or a federation entity could not be reached.
    #[error("network: {0}")]
    Network(String),
    /// Something that should be JSON, a JWT or a URL is not.
    #[error("malformed: {0}")]
    Malformed(String),
    /// The key file could not be read, written or understood.
    #[error("keys: {0}")]
    Keys(String),
    /// Sign-in with SPID/CIE is not configured (or not for this town).
    #[error("SPID/CIE sign-in is not configured")]
    NotConfigured,
}
