//! What an official does for a citizen who phones or walks in (the URP desk): book on their
//! behalf, and move or cancel their appointment with a reason the citizen is told.
//!
//! A booking by an official is the citizen's booking ([`Desk::book`]'s rules, seats and
//! quota), without the hourly budget meant for anonymous sources. A manager of the office (or
//! an administrator) may book outside the bookable slots: closed hours, a holiday, inside the
//! minimum notice or beyond the horizon; never in the past, and never on a taken seat, since
//! the store assigns seats the same way for every booking.

use jiff::Timestamp;
use ricevo_core::audit::{Act, Subject};
use ricevo_core::citizen::BookingInput;
use ricevo_core::reason::Reason;
use ricevo_core::{AppointmentId, Lang, ServiceId};
use ricevo_store::{Appointment, Grant, Tenant};

use crate::audit::Record;
use crate::booking::{Booker, BookingRequest, BookingResult};
use crate::messages::Told;
use crate::{Desk, DeskError};

/// An official's booking for a citizen, as a channel parsed it.
#[derive(Debug, Clone)]
pub struct StaffBooking {
    /// The service.
    pub service_id: ServiceId,
    /// The chosen start.
    pub start: Timestamp,
    /// What the citizen told the official.
    pub input: BookingInput,
    /// Book outside the bookable slots (managers and administrators of the office only).
    pub outside_hours: bool,
    /// The client's idempotency key and the hash of its request (API).
    pub idempotency: Option<(String, String)>,
}

impl Desk {
    /// Books for a citizen on an official's behalf (`Forbidden` outside the official's offices,
    /// or for an override by someone who does not manage the office). The citizen's link comes
    /// back in the result (for the official to hand over) and, if they gave an e-mail, goes to
    /// them in the confirmation.
    pub async fn book_on_behalf(
        &self,
        tenant: &Tenant,
        grant: &Grant,
        req: StaffBooking,
        lang: Lang,
    ) -> Result<BookingResult, DeskError> {
        if grant.tenant_id != tenant.id {
            return Err(DeskError::Forbidden);
        }
        let (_, office) = self.service_and_office(tenant, req.service_id).await?;
        if !grant.covers_office(office.id) || (req.outside_hours && !grant.manages_office(office.id)) {
            return Err(DeskError::Forbidden);
        }
        let booking = BookingRequest {
            service_id: req.service_id,
            start: req.start,
            input: req.input,
            idempotency: req.idempotency,
            source: "staff".into(),
        };
        let name = booking.input.name.trim().to_owned();
        let result = self.book_as(tenant, booking, lang, Booker::Staff { outside_hours: req.outside_hours }).await?;
        if let BookingResult::Booked { receipt, token } = &result {
            tracing::info!(tenant = %tenant.slug, appointment = %receipt.id, outside_hours = req.outside_hours, "booked by staff");
            let id = self.store.appointment_by_token(&crate::tokens::hash(token)).await?.map(|a| a.id);
            if let Some(id) = id {
                let detail = format!(
                    "{} {}{}",
                    receipt.id,
                    receipt.start,
                    if req.outside_hours { ", outside hours" } else { "" }
                );
                let record =
                    Record::new(Act::AppointmentBooked, Subject::Appointment(id)).citizen(&name).detail(detail);
                self.record(grant, record).await;
            }
        }
        Ok(result)
    }

    /// Cancels an appointment for an official, telling the citizen why.
    pub async fn cancel_with_reason(
        &self,
        tenant: &Tenant,
        grant: &Grant,
        id: AppointmentId,
        reason: &Reason,
    ) -> Result<Appointment, DeskError> {
        let a = self.appointment_for(tenant, grant, id).await?;
        let told = Told { reason: Some(reason.as_str().to_owned()), ..Told::default() };
        let done = self.cancel_told(tenant, &a, &told).await?;
        tracing::info!(tenant = %tenant.slug, appointment = %a.public_id, "cancelled by staff with a reason");
        let record = Record::new(Act::AppointmentCancelled, Subject::Appointment(a.id))
            .citizen(&a.citizen_name)
            .detail(format!("{} -> cancelled: {}", a.status.as_str(), reason.as_str()));
        self.record(grant, record).await;
        Ok(done)
    }

    /// Moves an appointment for an official to `start` (the same rules as the citizen's own
    /// move), telling the citizen why when a reason is given.
    pub async fn move_with_reason(
        &self,
        tenant: &Tenant,
        grant: &Grant,
        id: AppointmentId,
        start: Timestamp,
        reason: Option<&Reason>,
    ) -> Result<Appointment, DeskError> {
        let a = self.appointment_for(tenant, grant, id).await?;
        let told = Told { reason: reason.map(|r| r.as_str().to_owned()), ..Told::default() };
        let moved = self.reschedule_told(tenant, &a, None, start, &told).await?;
        tracing::info!(tenant = %tenant.slug, appointment = %a.public_id, "moved by staff");
        let zone = crate::town::zone_of(tenant);
        let mut detail = format!(
            "{} -> {}",
            crate::town::rfc3339(&a.start.to_zoned(zone.clone())),
            crate::town::rfc3339(&moved.start.to_zoned(zone))
        );
        if let Some(r) = reason {
            detail.push_str(&format!(": {}", r.as_str()));
        }
        let record =
            Record::new(Act::AppointmentMoved, Subject::Appointment(a.id)).citizen(&a.citizen_name).detail(detail);
        self.record(grant, record).await;
        Ok(moved)
    }
}
