//! Citizens signed in with SPID or CIE (issue 16): sign-ins on their way through the identity
//! provider, the short sessions of signed-in citizens, which appointments were booked with a
//! verified identity, the services that ask for one and the town's limit for verified
//! citizens. The statements live in `impl_citizen_identity!`, which both engines expand;
//! `impl_store!` answers the [`crate::Store`] methods with them.
//!
//! Signing in is optional and never needed to book; what it stores is personal data of a short
//! life: a sign-in is consumed once and expires within minutes, a session within half an hour,
//! and both go with the citizen's erasure and the town's retention.

use jiff::Timestamp;
use ricevo_core::TenantId;
use serde::Serialize;

/// A sign-in that went to the identity provider, as the desk stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSignIn {
    /// The town the citizen signs in to.
    pub tenant_id: TenantId,
    /// The hash of the `state` sent to the provider (the key the callback finds it by).
    pub state_hash: String,
    /// The hash of the browser cookie it is bound to.
    pub browser_hash: String,
    /// The relying party's pending sign-in (nonce, PKCE verifier, ...), as JSON.
    pub pending: String,
    /// The page of the town to go back to once signed in.
    pub next_path: String,
    /// When it stops being accepted.
    pub expires_at: Timestamp,
}

/// A sign-in read back (and consumed) by the callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSignIn {
    /// The town it was started in.
    pub tenant_id: TenantId,
    /// The hash of the browser cookie it is bound to.
    pub browser_hash: String,
    /// The relying party's pending sign-in, as JSON.
    pub pending: String,
    /// Where to go back to.
    pub next_path: String,
    /// When it stops being accepted.
    pub expires_at: Timestamp,
}

/// The identity a provider verified, as a session keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SessionIdentity {
    /// `spid` or `cie`.
    pub kind: String,
    /// The provider's entity id.
    pub provider: String,
    /// The provider's subject for the citizen.
    pub subject: String,
    /// The codice fiscale, in capitals.
    pub fiscal_code: String,
    /// The given name.
    pub given_name: String,
    /// The family name.
    pub family_name: String,
    /// The e-mail address, where released.
    pub email: Option<String>,
    /// The phone number, where released.
    pub phone: Option<String>,
    /// The level of assurance the provider reached (an `acr` URI).
    pub acr: String,
    /// The ID token, kept for the provider's logout hint; never exported.
    #[serde(skip)]
    pub id_token: String,
}

/// A new session of a signed-in citizen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCitizenSession {
    /// The town the citizen signed in to.
    pub tenant_id: TenantId,
    /// The hash of the session's token (the cookie holds the token).
    pub token_hash: String,
    /// Who the provider says they are.
    pub identity: SessionIdentity,
    /// When it ends.
    pub expires_at: Timestamp,
}

/// A stored session of a signed-in citizen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CitizenSession {
    /// Its id.
    pub id: i64,
    /// The town the citizen signed in to.
    pub tenant_id: TenantId,
    /// Who the provider says they are.
    pub identity: SessionIdentity,
    /// When it began.
    pub created_at: Timestamp,
    /// When it ends.
    pub expires_at: Timestamp,
}

/// Columns of `citizen_sessions` in the order [`session_from`] reads them.
pub(crate) const SESSION_COLUMNS: &str = "id, tenant_id, kind, provider, subject, fiscal_code, given_name, \
     family_name, email, phone, acr, id_token, created_at, expires_at";

/// The raw columns of a session.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct SessionRow {
    id: i64,
    tenant_id: i64,
    kind: String,
    provider: String,
    subject: String,
    fiscal_code: String,
    given_name: String,
    family_name: String,
    email: Option<String>,
    phone: Option<String>,
    acr: String,
    id_token: String,
    created_at: i64,
    expires_at: i64,
}

/// A session from its columns.
pub(crate) fn session_from(r: SessionRow) -> crate::Result<CitizenSession> {
    Ok(CitizenSession {
        id: r.id,
        tenant_id: TenantId(r.tenant_id),
        identity: SessionIdentity {
            kind: r.kind,
            provider: r.provider,
            subject: r.subject,
            fiscal_code: r.fiscal_code,
            given_name: r.given_name,
            family_name: r.family_name,
            email: r.email,
            phone: r.phone,
            acr: r.acr,
            id_token: r.id_token,
        },
        created_at: crate::sql::instant(r.created_at)?,
        expires_at: crate::sql::instant(r.expires_at)?,
    })
}

macro_rules! impl_citizen_identity {
    ($store:ty, $db:ty) => {
        impl $store {
            async fn identity_save_sign_in(&self, s: &$crate::NewSignIn, now: Timestamp) -> Result<()> {
                sqlx::query(
                    "INSERT INTO citizen_sign_ins (state_hash, tenant_id, browser_hash, pending, next_path, created_at, \
                     expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(&s.state_hash)
                .bind(s.tenant_id.0)
                .bind(&s.browser_hash)
                .bind(&s.pending)
                .bind(&s.next_path)
                .bind(now.as_second())
                .bind(s.expires_at.as_second())
                .execute(&self.writer)
                .await
                .map_err(duplicate_or)?;
                Ok(())
            }

            async fn identity_take_sign_in(&self, state_hash: &str) -> Result<Option<$crate::StoredSignIn>> {
                // Deleted as it is read: a state is good for one callback only, even a refused one.
                let row: Option<(i64, String, String, String, i64)> = sqlx::query_as(
                    "DELETE FROM citizen_sign_ins WHERE state_hash = $1 \
                     RETURNING tenant_id, browser_hash, pending, next_path, expires_at",
                )
                .bind(state_hash)
                .fetch_optional(&self.writer)
                .await?;
                row.map(|r| {
                    Ok($crate::StoredSignIn {
                        tenant_id: TenantId(r.0),
                        browser_hash: r.1,
                        pending: r.2,
                        next_path: r.3,
                        expires_at: instant(r.4)?,
                    })
                })
                .transpose()
            }

            async fn identity_open_session(&self, s: &$crate::NewCitizenSession, now: Timestamp) -> Result<i64> {
                let i = &s.identity;
                let (id,): (i64,) = sqlx::query_as(
                    "INSERT INTO citizen_sessions (token_hash, tenant_id, kind, provider, subject, fiscal_code, given_name, \
                     family_name, email, phone, acr, id_token, created_at, expires_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id",
                )
                .bind(&s.token_hash)
                .bind(s.tenant_id.0)
                .bind(&i.kind)
                .bind(&i.provider)
                .bind(&i.subject)
                .bind(&i.fiscal_code)
                .bind(&i.given_name)
                .bind(&i.family_name)
                .bind(&i.email)
                .bind(&i.phone)
                .bind(&i.acr)
                .bind(&i.id_token)
                .bind(now.as_second())
                .bind(s.expires_at.as_second())
                .fetch_one(&self.writer)
                .await
                .map_err(duplicate_or)?;
                Ok(id)
            }

            async fn identity_session(
                &self,
                tenant: TenantId,
                token_hash: &str,
                now: Timestamp,
            ) -> Result<Option<$crate::CitizenSession>> {
                use $crate::citizen_identity::{SESSION_COLUMNS, SessionRow, session_from};
                // From the writer: a page right after the callback must see the new session.
                let row: Option<SessionRow> = sqlx::query_as(&format!(
                    "SELECT {SESSION_COLUMNS} FROM citizen_sessions WHERE tenant_id = $1 AND token_hash = $2 \
                     AND expires_at > $3"
                ))
                .bind(tenant.0)
                .bind(token_hash)
                .bind(now.as_second())
                .fetch_optional(&self.writer)
                .await?;
                row.map(session_from).transpose()
            }

            async fn identity_close_session(
                &self,
                tenant: TenantId,
                token_hash: &str,
            ) -> Result<Option<$crate::CitizenSession>> {
                use $crate::citizen_identity::{SESSION_COLUMNS, SessionRow, session_from};
                let row: Option<SessionRow> = sqlx::query_as(&format!(
                    "DELETE FROM citizen_sessions WHERE tenant_id = $1 AND token_hash = $2 RETURNING {SESSION_COLUMNS}"
                ))
                .bind(tenant.0)
                .bind(token_hash)
                .fetch_optional(&self.writer)
                .await?;
                row.map(session_from).transpose()
            }

            async fn identity_purge(&self, now: Timestamp) -> Result<u64> {
                let mut gone = sqlx::query("DELETE FROM citizen_sessions WHERE expires_at <= $1")
                    .bind(now.as_second())
                    .execute(&self.writer)
                    .await?
                    .rows_affected();
                gone += sqlx::query("DELETE FROM citizen_sign_ins WHERE expires_at <= $1")
                    .bind(now.as_second())
                    .execute(&self.writer)
                    .await?
                    .rows_affected();
                Ok(gone)
            }

            async fn identity_of_appointments(
                &self,
                tenant: TenantId,
                appointments: &[AppointmentId],
            ) -> Result<Vec<(AppointmentId, String)>> {
                if appointments.is_empty() {
                    return Ok(Vec::new());
                }
                // Ids are integers we hold, not input: written into the statement.
                let ids: Vec<String> = appointments.iter().map(|a| a.0.to_string()).collect();
                let rows: Vec<(i64, String)> = sqlx::query_as(&format!(
                    "SELECT appointment_id, kind FROM appointment_identities WHERE tenant_id = $1 \
                     AND appointment_id IN ({})",
                    ids.join(", ")
                ))
                .bind(tenant.0)
                .fetch_all(&self.writer)
                .await?;
                Ok(rows.into_iter().map(|(a, k)| (AppointmentId(a), k)).collect())
            }

            async fn identity_appointments_of(&self, fiscal_code: &str, since: Timestamp) -> Result<Vec<Appointment>> {
                let rows: Vec<AppointmentTuple> = sqlx::query_as(&format!(
                    "SELECT {APPOINTMENT_COLUMNS} FROM appointments WHERE anonymised = 0 \
                     AND id IN (SELECT appointment_id FROM appointment_identities) \
                     AND UPPER(COALESCE(fiscal_code, '')) = $1 AND end_at > $2 ORDER BY start_at, id"
                ))
                .bind(fiscal_code.trim().to_uppercase())
                .bind(since.as_second())
                .fetch_all(&self.writer)
                .await?;
                rows.into_iter().map(appointment_from).collect()
            }

            async fn identity_set_service_required(&self, tenant: TenantId, service: ServiceId, on: bool) -> Result<()> {
                let r = sqlx::query("UPDATE services SET requires_identity = $1 WHERE tenant_id = $2 AND id = $3")
                    .bind(i32::from(on))
                    .bind(tenant.0)
                    .bind(service.0)
                    .execute(&self.writer)
                    .await?;
                if r.rows_affected() == 0 { Err(StoreError::NotFound) } else { Ok(()) }
            }

            async fn identity_services_required(&self, tenant: TenantId) -> Result<Vec<ServiceId>> {
                let rows: Vec<(i64,)> =
                    sqlx::query_as("SELECT id FROM services WHERE tenant_id = $1 AND requires_identity <> 0 ORDER BY id")
                        .bind(tenant.0)
                        .fetch_all(&self.writer)
                        .await?;
                Ok(rows.into_iter().map(|(id,)| ServiceId(id)).collect())
            }

            async fn identity_set_verified_max(&self, tenant: TenantId, max: Option<u16>) -> Result<()> {
                let r = sqlx::query("UPDATE tenants SET verified_max_active = $1 WHERE id = $2")
                    .bind(max.map(i32::from))
                    .bind(tenant.0)
                    .execute(&self.writer)
                    .await?;
                if r.rows_affected() == 0 { Err(StoreError::NotFound) } else { Ok(()) }
            }

            async fn identity_verified_max(&self, tenant: TenantId) -> Result<Option<u16>> {
                let row: Option<(Option<i32>,)> = sqlx::query_as("SELECT verified_max_active FROM tenants WHERE id = $1")
                    .bind(tenant.0)
                    .fetch_optional(&self.writer)
                    .await?;
                Ok(row.and_then(|(m,)| m).and_then(|m| u16::try_from(m).ok()))
            }
        }
    };
}

pub(crate) use impl_citizen_identity;
