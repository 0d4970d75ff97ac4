//! A closure over days that already have appointments: whoever manages the office first sees
//! who is affected ([`Desk::closure_preview`]); saving it ([`Desk::close_and_tell`]) cancels
//! each of those appointments and tells the citizen why, with a link to book again and the
//! nearest free times the slot engine finds once the office is closed. Nobody stays booked on a
//! closed day without knowing.
//!
//! The closure is stored first, so nobody books the closed days meanwhile; then the
//! appointments still active on them are read again and cancelled one by one, each with its
//! message in the same write. An appointment already cancelled or moved meanwhile is skipped.

use jiff::ToSpan;
use jiff::civil::Date;
use ricevo_core::audit::{Act, Subject};
use ricevo_core::slots;
use ricevo_core::{Lang, OfficeId};
use ricevo_store::{Appointment, Grant, Office, Tenant};

use crate::audit::Record;
use crate::messages::Told;
use crate::offices::{ClosurePlan, check_closure};
use crate::town::zone_of;
use crate::{Desk, DeskError};

/// How many free times a cancelled citizen is offered.
const REBOOK_TIMES: usize = 3;
/// How far after the closure the free times are looked for.
const REBOOK_DAYS_AFTER: i64 = 21;

/// What saving a closure did.
#[derive(Debug, Clone)]
pub struct ClosureSaved {
    /// The closure's id.
    pub closure_id: i64,
    /// The appointments cancelled because of it (each citizen was told).
    pub cancelled: Vec<Appointment>,
}

impl Desk {
    /// The active appointments of an office on the days a closure would close, earliest first
    /// (`Forbidden` unless `grant` manages the office; the plan is checked as on save).
    pub async fn closure_preview(
        &self,
        tenant: &Tenant,
        grant: &Grant,
        id: OfficeId,
        plan: &ClosurePlan,
        lang: Lang,
    ) -> Result<Vec<Appointment>, DeskError> {
        let office = self.managed_office(tenant, grant, id).await?;
        check_closure(plan, lang).map_err(DeskError::Fields)?;
        self.active_on(tenant, &office, plan.first, plan.last).await
    }

    /// Saves a closure and cancels every appointment on its days, telling each citizen the
    /// reason and where to book again.
    pub async fn close_and_tell(
        &self,
        tenant: &Tenant,
        grant: &Grant,
        id: OfficeId,
        plan: &ClosurePlan,
        lang: Lang,
    ) -> Result<ClosureSaved, DeskError> {
        let closure_id = self.add_closure(tenant, grant, id, plan, lang).await?;
        let office = self.managed_office(tenant, grant, id).await?;
        let mut cancelled = Vec::new();
        for a in self.active_on(tenant, &office, plan.first, plan.last).await? {
            let told = self.rebooking(tenant, &office, &a, plan).await?;
            match self.cancel_told(tenant, &a, &told).await {
                Ok(done) => {
                    let detail = format!(
                        "{} -> cancelled by the closure of {} to {}: {}",
                        a.status.as_str(),
                        plan.first,
                        plan.last,
                        told.reason.as_deref().unwrap_or_default()
                    );
                    let record = Record::new(Act::AppointmentCancelled, Subject::Appointment(a.id))
                        .citizen(&a.citizen_name)
                        .detail(detail);
                    self.record(grant, record).await;
                    cancelled.push(done);
                }
                // Cancelled or moved meanwhile: its citizen heard of that change instead.
                Err(DeskError::NotActive | DeskError::Conflict) => {}
                Err(e) => return Err(e),
            }
        }
        tracing::info!(tenant = %tenant.slug, office = %office.id, closure = closure_id, cancelled = cancelled.len(), "closure saved, citizens told");
        Ok(ClosureSaved { closure_id, cancelled })
    }

    // The appointments still holding a seat on the local days `first..=last`.
    async fn active_on(
        &self,
        tenant: &Tenant,
        office: &Office,
        first: Date,
        last: Date,
    ) -> Result<Vec<Appointment>, DeskError> {
        let zone = zone_of(tenant);
        let start = first.to_zoned(zone.clone()).map_err(|e| DeskError::Internal(e.to_string()))?.timestamp();
        let end = last
            .checked_add(1.day())
            .and_then(|d| d.to_zoned(zone))
            .map_err(|e| DeskError::Internal(e.to_string()))?
            .timestamp();
        let list = self.store.appointments_between(tenant.id, Some(&[office.id]), start, end).await?;
        Ok(list.into_iter().filter(|a| a.status.is_active()).collect())
    }

    // What a citizen cancelled by a closure is told: the reason, the service's booking page and
    // the free times nearest to the one they had, as the office is now (closure included).
    async fn rebooking(
        &self,
        tenant: &Tenant,
        office: &Office,
        a: &Appointment,
        plan: &ClosurePlan,
    ) -> Result<Told, DeskError> {
        let reason = match plan.reason.trim() {
            "" => match a.lang {
                Lang::It => "l'ufficio è chiuso in quel giorno".to_owned(),
                Lang::En => "the office is closed on that day".to_owned(),
            },
            r => r.to_owned(),
        };
        let Some(service) = self.store.service(tenant.id, a.service_id).await? else {
            return Ok(Told { reason: Some(reason), ..Told::default() });
        };
        let zone = zone_of(tenant);
        let today = self.now().to_zoned(zone.clone()).date();
        let from = today.max(plan.first);
        let to = plan.last.checked_add(REBOOK_DAYS_AFTER.days()).unwrap_or(plan.last);
        let to = to.min(from.checked_add((crate::booking::MAX_SLOT_RANGE_DAYS - 1).days()).unwrap_or(to));
        let free =
            if service.active { self.slots_between(tenant, &service, office, from, to).await? } else { Vec::new() };
        let nearest = slots::nearest_free(&free, a.start, REBOOK_TIMES);
        Ok(Told {
            reason: Some(reason),
            rebook_url: service.active.then(|| {
                format!("{}/{}/services/{}", self.settings.public_url.trim_end_matches('/'), tenant.slug, service.id.0)
            }),
            rebook_times: nearest.iter().map(|s| ricevo_notify::human_datetime(a.lang, &s.start)).collect(),
        })
    }
}
