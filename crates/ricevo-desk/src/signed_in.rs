//! What a citizen gets from signing in with SPID or CIE (issue 16): never needed to book, it
//! fills the booking form with the verified identity (the codice fiscale cannot be changed),
//! lets the official see that the identity was verified, holds a verified citizen to the town's
//! limit of active appointments per service, opens the services a town books only for a
//! verified identity, and shows the citizen their appointments in every town of the instance,
//! which they may cancel or move on the strength of the session alone.
//!
//! The protocol (trust chains, tokens, signatures) is `ricevo_identity`'s; the desk stores the
//! sign-in while the citizen is at the provider, bound to their browser and consumed once, and
//! the session that follows, short and bound to one town.

use std::collections::HashMap;

use jiff::{SignedDuration, Timestamp};
use ricevo_core::audit::{Act, Actor, Subject};
use ricevo_core::{AppointmentId, Lang, ServiceId, quota};
use ricevo_identity::{PendingSignIn, ProviderKind, VerifiedIdentity};
use ricevo_store::{Appointment, CitizenSession, Grant, NewCitizenSession, NewSignIn, SessionIdentity, Tenant};

use crate::accounts::same_bytes;
use crate::audit::Record;
use crate::booking::{Booker, BookingRequest, BookingResult};
use crate::{Desk, DeskError, tokens};

/// How long a signed-in citizen stays signed in (the cookie also ends with the browser).
pub const SESSION_LENGTH: SignedDuration = SignedDuration::from_mins(30);

/// How long a citizen may take at the identity provider before the sign-in is refused.
pub const SIGN_IN_LENGTH: SignedDuration = SignedDuration::from_mins(10);

/// How far back "my appointments" looks: those that ended within this time still show.
pub const MINE_LOOK_BACK: SignedDuration = SignedDuration::from_hours(24);

/// Why the callback of a sign-in is refused before the provider's answer is even read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInRefusal {
    /// No sign-in has this state: never started, already used (a replay), or purged.
    UnknownState,
    /// The sign-in was started in another browser (its cookie is missing or different).
    OtherBrowser,
    /// The citizen took too long at the provider.
    Expired,
    /// The sign-in was started in another town than the callback's.
    OtherTown,
}

/// A sign-in the callback may finish: the town, what the relying party needs, where to go.
#[derive(Debug, Clone)]
pub struct ResumedSignIn {
    /// The town it was started in.
    pub tenant: Tenant,
    /// What the relying party stored when it sent the citizen to the provider.
    pub pending: PendingSignIn,
    /// The page of the town to go back to.
    pub next: String,
}

/// One of a signed-in citizen's appointments, in whichever town.
#[derive(Debug, Clone)]
pub struct MyAppointment {
    /// The town.
    pub tenant: Tenant,
    /// The appointment.
    pub appointment: Appointment,
    /// The service's name.
    pub service: String,
    /// The office's name.
    pub office: String,
}

/// The identity a session keeps, from what the provider verified.
pub fn session_identity(identity: &VerifiedIdentity) -> SessionIdentity {
    SessionIdentity {
        kind: identity.kind.as_str().to_owned(),
        provider: identity.provider.clone(),
        subject: identity.subject.clone(),
        fiscal_code: identity.fiscal_code.trim().to_uppercase(),
        given_name: identity.given_name.clone(),
        family_name: identity.family_name.clone(),
        email: identity.email.clone(),
        phone: identity.phone.clone(),
        acr: identity.acr.clone(),
        id_token: identity.id_token.clone(),
    }
}

/// Whether `path` is a page of `tenant` a sign-in may return to (no other site, no other town).
pub fn is_return_path(slug: &str, path: &str) -> bool {
    let town = format!("/{slug}");
    (path == town || path.starts_with(&format!("{town}/")) || path.starts_with(&format!("{town}?")))
        && !path.contains("//")
        && !path.contains('\\')
        && !path.chars().any(char::is_control)
}

impl Desk {
    /// Stores a sign-in the relying party just began, bound to the browser whose cookie value
    /// is `browser`, to return to `next` (the town's page when `next` is not one of its own).
    pub async fn remember_sign_in(
        &self,
        tenant: &Tenant,
        pending: &PendingSignIn,
        browser: &str,
        next: &str,
    ) -> Result<(), DeskError> {
        let now = self.now();
        let next = if is_return_path(&tenant.slug, next) { next.to_owned() } else { format!("/{}", tenant.slug) };
        let json = serde_json::to_string(pending).map_err(|e| DeskError::Internal(e.to_string()))?;
        let sign_in = NewSignIn {
            tenant_id: tenant.id,
            state_hash: tokens::hash(&pending.state),
            browser_hash: tokens::hash(browser),
            pending: json,
            next_path: next,
            expires_at: now + SIGN_IN_LENGTH,
        };
        self.store.save_sign_in(&sign_in, now).await?;
        // Sign-ins abandoned at the provider go with the next one.
        if let Err(e) = self.store.purge_citizen_sign_ins(now).await {
            tracing::warn!(error = %e, "could not purge expired sign-ins");
        }
        Ok(())
    }

    /// Takes the sign-in of `state` for its callback: consumed whatever the outcome, so a state
    /// is good once; refused when `browser` (the cookie's value) is not the one that started it,
    /// when it expired, or when `town` (a town's own callback) is not the town that started it.
    pub async fn resume_sign_in(
        &self,
        town: Option<&Tenant>,
        state: &str,
        browser: Option<&str>,
    ) -> Result<ResumedSignIn, SignInRefusal> {
        let now = self.now();
        if state.is_empty() || state.len() > 512 {
            return Err(SignInRefusal::UnknownState);
        }
        let stored = match self.store.take_sign_in(&tokens::hash(state)).await {
            Ok(Some(s)) => s,
            Ok(None) => return Err(SignInRefusal::UnknownState),
            Err(e) => {
                tracing::error!(error = %e, "could not read a sign-in");
                return Err(SignInRefusal::UnknownState);
            }
        };
        if let Some(t) = town
            && t.id != stored.tenant_id
        {
            return Err(SignInRefusal::OtherTown);
        }
        let same_browser =
            browser.is_some_and(|b| same_bytes(tokens::hash(b).as_bytes(), stored.browser_hash.as_bytes()));
        if !same_browser {
            return Err(SignInRefusal::OtherBrowser);
        }
        if stored.expires_at <= now {
            return Err(SignInRefusal::Expired);
        }
        let pending: PendingSignIn = serde_json::from_str(&stored.pending).map_err(|e| {
            tracing::error!(error = %e, "a stored sign-in could not be read");
            SignInRefusal::UnknownState
        })?;
        let tenant = self.town_by_id(stored.tenant_id).await.map_err(|_| SignInRefusal::UnknownState)?;
        Ok(ResumedSignIn { tenant, pending, next: stored.next_path })
    }

    /// Signs a citizen whose identity a provider verified in to `tenant`: returns the session's
    /// token (for the cookie; only its hash is stored).
    pub async fn open_citizen_session(
        &self,
        tenant: &Tenant,
        identity: &VerifiedIdentity,
        now: Timestamp,
    ) -> Result<String, DeskError> {
        let token = tokens::new_token();
        let session = NewCitizenSession {
            tenant_id: tenant.id,
            token_hash: tokens::hash(&token),
            identity: session_identity(identity),
            expires_at: now + SESSION_LENGTH,
        };
        self.store.open_citizen_session(&session, now).await?;
        tracing::info!(tenant = %tenant.slug, kind = identity.kind.as_str(), "citizen signed in");
        if let Err(e) = self.store.purge_citizen_sign_ins(now).await {
            tracing::warn!(error = %e, "could not purge expired citizen sessions");
        }
        Ok(token)
    }

    /// The town's live session of a cookie's token, if any.
    pub async fn citizen_session(&self, tenant: &Tenant, token: &str) -> Result<Option<CitizenSession>, DeskError> {
        if !tokens::looks_like_token(token) {
            return Ok(None);
        }
        Ok(self.store.citizen_session(tenant.id, &tokens::hash(token), self.now()).await?)
    }

    /// Ends the town's session of a cookie's token; returns what it was (for the provider's
    /// logout).
    pub async fn close_citizen_session(
        &self,
        tenant: &Tenant,
        token: &str,
    ) -> Result<Option<CitizenSession>, DeskError> {
        if !tokens::looks_like_token(token) {
            return Ok(None);
        }
        let closed = self.store.close_citizen_session(tenant.id, &tokens::hash(token)).await?;
        if closed.is_some() {
            tracing::info!(tenant = %tenant.slug, "citizen signed out");
        }
        Ok(closed)
    }

    /// Whether the town's service books only for a verified identity.
    pub async fn service_requires_identity(&self, tenant: &Tenant, service: ServiceId) -> Result<bool, DeskError> {
        Ok(self.store.services_requiring_identity(tenant.id).await?.contains(&service))
    }

    /// The town's services that book only for a verified identity.
    pub async fn services_requiring_identity(&self, tenant: &Tenant) -> Result<Vec<ServiceId>, DeskError> {
        Ok(self.store.services_requiring_identity(tenant.id).await?)
    }

    /// Sets whether a service books only for a verified identity (who may change the service).
    pub async fn set_service_requires_identity(
        &self,
        tenant: &Tenant,
        grant: &Grant,
        service: ServiceId,
        on: bool,
    ) -> Result<(), DeskError> {
        let (service, _) = self.managed_service(tenant, grant, service).await?;
        self.store.set_service_requires_identity(tenant.id, service.id, on).await?;
        let detail = if on { "requires a verified identity" } else { "no verified identity required" };
        tracing::info!(tenant = %tenant.slug, service = %service.id, on, "service identity requirement");
        self.record(grant, Record::new(Act::OfficeChanged, Subject::Service(service.id)).detail(detail)).await;
        Ok(())
    }

    /// Sets how many active appointments per service a verified citizen may hold in the town
    /// (administrators; `None`: the instance's setting).
    pub async fn set_verified_max_active(
        &self,
        tenant: &Tenant,
        grant: &Grant,
        max: Option<u16>,
    ) -> Result<(), DeskError> {
        crate::staff::require_admin(tenant, grant)?;
        let max = max.map(|m| m.clamp(1, 100));
        self.store.set_verified_max_active(tenant.id, max).await?;
        let detail = match max {
            Some(m) => format!("verified citizens: at most {m} active appointments per service"),
            None => "verified citizens: the instance's limit".to_owned(),
        };
        self.record(grant, Record::new(Act::SettingsChanged, Subject::Town).detail(detail)).await;
        Ok(())
    }

    /// The limit of active appointments per service for a verified citizen of the town.
    pub async fn verified_quota(&self, tenant: &Tenant) -> Result<quota::CitizenQuota, DeskError> {
        let max = self.store.verified_max_active(tenant.id).await?.unwrap_or(self.settings.max_active_per_citizen);
        Ok(quota::CitizenQuota::new(if max == 0 { quota::DEFAULT_MAX_ACTIVE } else { max }))
    }

    /// Books for a signed-in citizen: the codice fiscale is the verified one whatever the form
    /// says, the town's limit for verified citizens applies, a service that asks for a verified
    /// identity accepts it, and the appointment records how the identity was verified.
    pub async fn book_verified(
        &self,
        tenant: &Tenant,
        mut req: BookingRequest,
        lang: Lang,
        session: &CitizenSession,
    ) -> Result<BookingResult, DeskError> {
        if session.tenant_id != tenant.id || session.expires_at <= self.now() {
            return Err(DeskError::Unauthorized);
        }
        req.input.fiscal_code = Some(session.identity.fiscal_code.clone());
        // The verified mark is written in the booking's own transaction.
        // A stored session of no known kind cannot vouch for anybody: sign in again.
        let kind = ProviderKind::parse(&session.identity.kind).ok_or(DeskError::Unauthorized)?;
        self.book_as(tenant, req, lang, Booker::Verified { kind }).await
    }

    /// How the town's appointments among `ids` were verified (`spid`, `cie`); the others are
    /// missing from the map.
    pub async fn verified_identities(
        &self,
        tenant: &Tenant,
        ids: &[AppointmentId],
    ) -> Result<HashMap<AppointmentId, String>, DeskError> {
        Ok(self.store.verified_appointments(tenant.id, ids).await?.into_iter().collect())
    }

    /// The signed-in citizen's appointments in every town of the instance (by the verified
    /// codice fiscale), those not ended more than a day ago, earliest first.
    pub async fn my_appointments(&self, session: &CitizenSession) -> Result<Vec<MyAppointment>, DeskError> {
        let found = self.appointments_of(session).await?;
        let mut out = Vec::with_capacity(found.len());
        for a in found {
            out.push(self.with_names(a).await?);
        }
        Ok(out)
    }

    /// One of the signed-in citizen's appointments by its reference, in any town; `NotFound`
    /// for anybody else's.
    pub async fn my_appointment(&self, session: &CitizenSession, reference: &str) -> Result<MyAppointment, DeskError> {
        let wanted = reference.trim().to_uppercase();
        let found = self.appointments_of(session).await?.into_iter().find(|a| a.public_id.to_uppercase() == wanted);
        // Only the one asked for gets its town, service and office looked up.
        self.with_names(found.ok_or(DeskError::NotFound)?).await
    }

    // The session's appointments, as stored.
    async fn appointments_of(&self, session: &CitizenSession) -> Result<Vec<Appointment>, DeskError> {
        let since = self.now() - MINE_LOOK_BACK;
        Ok(self.store.appointments_of_fiscal_code(&session.identity.fiscal_code, since).await?)
    }

    // An appointment with its town, and its service's and office's names.
    async fn with_names(&self, a: Appointment) -> Result<MyAppointment, DeskError> {
        let tenant = self.town_by_id(a.tenant_id).await?;
        let service = self.store.service(tenant.id, a.service_id).await?.map(|s| s.name).unwrap_or_default();
        let office = self.store.office(tenant.id, a.office_id).await?.map(|o| o.name).unwrap_or_default();
        Ok(MyAppointment { tenant, appointment: a, service, office })
    }

    /// Cancels one of the signed-in citizen's appointments, on the strength of the session.
    pub async fn cancel_mine(&self, session: &CitizenSession, reference: &str) -> Result<Appointment, DeskError> {
        let mine = self.my_appointment(session, reference).await?;
        let done = self.cancel(&mine.tenant, &mine.appointment).await?;
        let record = Record::new(Act::AppointmentCancelled, Subject::Appointment(mine.appointment.id))
            .citizen(&mine.appointment.citizen_name)
            .detail(format!("by the citizen signed in with {}", session.identity.kind));
        self.record_as(mine.tenant.id, Actor::Citizen, record).await;
        Ok(done)
    }

    /// Moves one of the signed-in citizen's appointments to `start`, on the strength of the
    /// session (`Unavailable` with alternatives when that time is taken).
    pub async fn move_mine(
        &self,
        session: &CitizenSession,
        reference: &str,
        start: Timestamp,
    ) -> Result<Appointment, DeskError> {
        let mine = self.my_appointment(session, reference).await?;
        let moved = self.reschedule(&mine.tenant, &mine.appointment, None, start).await?;
        let record = Record::new(Act::AppointmentMoved, Subject::Appointment(mine.appointment.id))
            .citizen(&mine.appointment.citizen_name)
            .detail(format!("by the citizen signed in with {}", session.identity.kind));
        self.record_as(mine.tenant.id, Actor::Citizen, record).await;
        Ok(moved)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sign_in_returns_only_to_a_page_of_its_own_town() {
        assert!(is_return_path("borgo", "/borgo"));
        assert!(is_return_path("borgo", "/borgo/servizi/3/prenota?start=2030-01-01T10%3A00%3A00%2B01%3A00"));
        for bad in
            ["/altro", "//evil.example/borgo/", "https://evil.example/borgo", "/borgo//x", "/borgox", "/borgo\\x"]
        {
            assert!(!is_return_path("borgo", bad), "{bad}");
        }
    }
}
