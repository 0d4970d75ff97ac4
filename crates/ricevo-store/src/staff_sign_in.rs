//! Staff sign-in with the town's own OpenID Connect provider (issue 16): the town's provider
//! settings (one row per town in `town_identity_providers`), the sign-ins sent to the provider
//! and not back yet (`staff_provider_sign_ins`, used once), and whether a session was opened
//! through the provider. The statements live in `impl_staff_sign_in!`, which both engines expand.

use jiff::Timestamp;
use ricevo_core::{OfficeId, TenantId};

use crate::Role;

/// A value of the provider's groups claim and what it grants.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RoleMapping {
    /// The group (or other claim value) as the provider sends it.
    pub value: String,
    /// The role it grants.
    pub role: Role,
    /// The offices it grants (ignored for administrators).
    pub offices: Vec<OfficeId>,
}

/// A town's OpenID Connect provider for staff sign-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TownIdentityProvider {
    /// The town.
    pub tenant_id: TenantId,
    /// The provider's issuer (discovery at `{issuer}/.well-known/openid-configuration`).
    pub issuer_url: String,
    /// Ricevo's client id at the provider.
    pub client_id: String,
    /// Ricevo's client secret at the provider.
    pub client_secret: Option<String>,
    /// The e-mail domains whose staff may sign in (lower case).
    pub email_domains: Vec<String>,
    /// The claim that holds the groups (`groups` unless told).
    pub groups_claim: String,
    /// Groups to role and offices, first match wins.
    pub mappings: Vec<RoleMapping>,
    /// Whether staff without an account get one on first sign-in (only when a mapping grants
    /// them a role).
    pub create_unknown: bool,
    /// Whether the town's staff sign in through the provider only.
    pub passwords_off: bool,
    /// When last changed.
    pub updated_at: Timestamp,
}

/// A sign-in sent to the provider, waiting for the browser to come back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingProviderSignIn {
    /// The hash of the browser cookie's token it is bound to.
    pub browser_hash: String,
    /// The town it signs into.
    pub tenant_id: TenantId,
    /// The `state` sent to the provider.
    pub state: String,
    /// The `nonce` the ID token must carry.
    pub nonce: String,
    /// The PKCE verifier.
    pub code_verifier: String,
    /// When it lapses.
    pub expires_at: Timestamp,
}

/// The columns of `town_identity_providers` in the order [`ProviderRow`] reads them.
pub(crate) const PROVIDER_COLUMNS: &str = "tenant_id, issuer_url, client_id, client_secret, email_domains, \
     groups_claim, role_mappings, create_unknown, passwords_off, updated_at";

/// The raw columns of a town's provider settings.
pub(crate) type ProviderRow = (i64, String, String, Option<String>, String, String, String, i32, i32, i64);

/// A town's provider settings from their row.
pub(crate) fn provider_from(r: ProviderRow) -> crate::Result<TownIdentityProvider> {
    let (tenant_id, issuer_url, client_id, client_secret, domains, groups_claim, mappings, create, off, updated) = r;
    Ok(TownIdentityProvider {
        tenant_id: TenantId(tenant_id),
        issuer_url,
        client_id,
        client_secret,
        email_domains: domains.split_whitespace().map(str::to_owned).collect(),
        groups_claim,
        mappings: serde_json::from_str(&mappings)
            .map_err(|e| crate::StoreError::Corrupt(format!("role mappings: {e}")))?,
        create_unknown: create != 0,
        passwords_off: off != 0,
        updated_at: crate::sql::instant(updated)?,
    })
}

/// Implements the statements of staff provider sign-in for a store type with `reader` and
/// `writer` pools.
macro_rules! impl_staff_sign_in {
    ($store:ty, $db:ty) => {
        impl $store {
            async fn identity_provider_read(&self, tenant: TenantId) -> Result<Option<$crate::TownIdentityProvider>> {
                let row: Option<$crate::staff_sign_in::ProviderRow> = sqlx::query_as(&format!(
                    "SELECT {} FROM town_identity_providers WHERE tenant_id = $1",
                    $crate::staff_sign_in::PROVIDER_COLUMNS
                ))
                .bind(tenant.0)
                .fetch_optional(&self.writer)
                .await?;
                row.map($crate::staff_sign_in::provider_from).transpose()
            }

            async fn identity_provider_write(&self, p: &$crate::TownIdentityProvider) -> Result<()> {
                let mappings =
                    serde_json::to_string(&p.mappings).map_err(|e| StoreError::Corrupt(format!("role mappings: {e}")))?;
                let mut tx = self.writer.begin().await?;
                let written = sqlx::query(
                    "INSERT INTO town_identity_providers (tenant_id, issuer_url, client_id, client_secret, \
                     email_domains, groups_claim, role_mappings, create_unknown, passwords_off, updated_at) \
                     SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10 WHERE EXISTS (SELECT 1 FROM tenants WHERE id = $1) \
                     ON CONFLICT (tenant_id) DO UPDATE SET issuer_url = excluded.issuer_url, \
                     client_id = excluded.client_id, client_secret = excluded.client_secret, \
                     email_domains = excluded.email_domains, groups_claim = excluded.groups_claim, \
                     role_mappings = excluded.role_mappings, create_unknown = excluded.create_unknown, \
                     passwords_off = excluded.passwords_off, updated_at = excluded.updated_at",
                )
                .bind(p.tenant_id.0)
                .bind(&p.issuer_url)
                .bind(&p.client_id)
                .bind(&p.client_secret)
                .bind(p.email_domains.join(" "))
                .bind(&p.groups_claim)
                .bind(mappings)
                .bind(i32::from(p.create_unknown))
                .bind(i32::from(p.passwords_off))
                .bind(p.updated_at.as_second())
                .execute(&mut *tx)
                .await?;
                if written.rows_affected() == 0 {
                    return Err(StoreError::NotFound);
                }
                if p.passwords_off {
                    // Passwords off means off now: the town's sessions opened with a password end
                    // with the same change, not when they would have expired.
                    sqlx::query(
                        "DELETE FROM sessions WHERE via_provider = 0 \
                         AND user_id IN (SELECT id FROM users WHERE tenant_id = $1)",
                    )
                    .bind(p.tenant_id.0)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn provider_sign_in_put(&self, p: &$crate::PendingProviderSignIn, now: Timestamp) -> Result<()> {
                let mut tx = self.begin_write().await?;
                // Lapsed ones go as new ones come: the table holds minutes of sign-ins at most.
                sqlx::query("DELETE FROM staff_provider_sign_ins WHERE expires_at <= $1")
                    .bind(now.as_second())
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(
                    "INSERT INTO staff_provider_sign_ins (browser_hash, tenant_id, state, nonce, code_verifier, expires_at) \
                     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (browser_hash) DO UPDATE SET \
                     tenant_id = excluded.tenant_id, state = excluded.state, nonce = excluded.nonce, \
                     code_verifier = excluded.code_verifier, expires_at = excluded.expires_at",
                )
                .bind(&p.browser_hash)
                .bind(p.tenant_id.0)
                .bind(&p.state)
                .bind(&p.nonce)
                .bind(&p.code_verifier)
                .bind(p.expires_at.as_second())
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn provider_sign_in_take(
                &self,
                browser_hash: &str,
                now: Timestamp,
            ) -> Result<Option<$crate::PendingProviderSignIn>> {
                // Deleted as it is read: a callback is answered once, whatever it brings.
                let row: Option<(String, i64, String, String, String, i64)> = sqlx::query_as(
                    "DELETE FROM staff_provider_sign_ins WHERE browser_hash = $1 \
                     RETURNING browser_hash, tenant_id, state, nonce, code_verifier, expires_at",
                )
                .bind(browser_hash)
                .fetch_optional(&self.writer)
                .await?;
                let Some((browser_hash, tenant, state, nonce, code_verifier, expires_at)) = row else { return Ok(None) };
                let expires_at = instant(expires_at)?;
                if expires_at <= now {
                    return Ok(None);
                }
                Ok(Some($crate::PendingProviderSignIn {
                    browser_hash,
                    tenant_id: TenantId(tenant),
                    state,
                    nonce,
                    code_verifier,
                    expires_at,
                }))
            }

            async fn session_via_provider_mark(&self, token_hash: &str) -> Result<()> {
                sqlx::query("UPDATE sessions SET via_provider = 1 WHERE token_hash = $1")
                    .bind(token_hash)
                    .execute(&self.writer)
                    .await?;
                Ok(())
            }

            async fn session_via_provider_read(&self, token_hash: &str) -> Result<bool> {
                let row: Option<(i32,)> = sqlx::query_as("SELECT via_provider FROM sessions WHERE token_hash = $1")
                    .bind(token_hash)
                    .fetch_optional(&self.writer)
                    .await?;
                Ok(row.is_some_and(|(v,)| v != 0))
            }
        }
    };
}

pub(crate) use impl_staff_sign_in;
