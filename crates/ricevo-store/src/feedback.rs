//! After-contact feedback requests (`feedback_requests`, see `ricevo_core::feedback`): made in
//! the same transaction as the change that ends the contact (a meeting ended, an appointment
//! marked done) together with the follow-up e-mail, answered once in one transaction with the
//! anonymous answer. The statements live in `impl_feedback!`, which both engines expand.

use jiff::Timestamp;
use ricevo_core::feedback::{ContactMode, Measures};
use ricevo_core::{AppointmentId, EntryId, OfficeId, ServiceId, TenantId};

use crate::NewOutboxMessage;

/// A feedback request to make, with its follow-up e-mail (none when the citizen gave no address).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFeedbackRequest {
    /// The link token's hash (`ricevo_desk::tokens::hash`).
    pub token_hash: String,
    /// The town.
    pub tenant_id: TenantId,
    /// The appointment it is about (one request per appointment).
    pub appointment_id: Option<AppointmentId>,
    /// The walk-in ticket it is about (one request per ticket).
    pub entry_id: Option<EntryId>,
    /// The office.
    pub office_id: OfficeId,
    /// The service; none for a walk-in ticket.
    pub service_id: Option<ServiceId>,
    /// How the contact happened.
    pub mode: ContactMode,
    /// The wait and the length where known. For a meeting the store measures the citizen's
    /// finished place itself, in the transaction that ends it.
    pub measures: Measures,
    /// When the link stops working.
    pub expires_at: Timestamp,
    /// The follow-up e-mail with the link.
    pub outbox: Option<NewOutboxMessage>,
}

/// What to ask each citizen of a meeting that ends, by their place in it: only places the end
/// actually finishes are asked (a meeting ended twice asks nobody twice).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeetingFeedback {
    /// The citizen's place in the meeting.
    pub entry_id: EntryId,
    /// The request, measured by the store from the finished place.
    pub request: NewFeedbackRequest,
}

/// A feedback request as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedbackRequest {
    /// The link token's hash.
    pub token_hash: String,
    /// The town.
    pub tenant_id: TenantId,
    /// The appointment it is about.
    pub appointment_id: Option<AppointmentId>,
    /// The walk-in ticket it is about.
    pub entry_id: Option<EntryId>,
    /// The office.
    pub office_id: OfficeId,
    /// The service, if any.
    pub service_id: Option<ServiceId>,
    /// How the contact happened.
    pub mode: ContactMode,
    /// The wait and the length where known.
    pub measures: Measures,
    /// When the link stops working.
    pub expires_at: Timestamp,
    /// When it was answered.
    pub answered_at: Option<Timestamp>,
    /// When it was made.
    pub created_at: Timestamp,
}

/// What a request is about, to find it from the citizen's own link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedbackSubject {
    /// A booked appointment.
    Appointment(AppointmentId),
    /// A walk-in ticket's place.
    Entry(EntryId),
}

/// Where a walk-in ticket's follow-up goes, read from its place.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TicketContact {
    /// The address the ticket was sent to, if the citizen gave one (none once erased).
    pub email: Option<String>,
    /// The ticket's civil day (`YYYY-MM-DD`).
    pub day: Option<String>,
    /// The ticket's number.
    pub number: Option<i32>,
    /// The phone number the ticket was taken with, if any (none once erased).
    pub phone: Option<String>,
    /// The Telegram chat the ticket was taken from, if any (none once erased).
    pub telegram_chat_id: Option<i64>,
}

/// The answer of [`crate::Store::answer_feedback`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedbackAnswer {
    /// Stored, with the response's id; the follow-up e-mail, if not sent yet, is withdrawn.
    Stored(i64),
    /// Nothing was stored: answered already, or expired.
    Refused(ricevo_core::feedback::Refusal),
}

/// Columns of `feedback_requests` in the order [`request_from`] reads them.
pub(crate) const REQUEST_COLUMNS: &str = "token_hash, tenant_id, appointment_id, entry_id, office_id, service_id, mode, \
     wait_seconds, duration_seconds, expires_at, answered_at, created_at";

/// The raw columns of a request.
pub(crate) type RequestRow =
    (String, i64, Option<i64>, Option<i64>, i64, Option<i64>, String, Option<i64>, Option<i64>, i64, Option<i64>, i64);

/// A request from its columns.
pub(crate) fn request_from(r: RequestRow) -> crate::Result<FeedbackRequest> {
    Ok(FeedbackRequest {
        token_hash: r.0,
        tenant_id: TenantId(r.1),
        appointment_id: r.2.map(AppointmentId),
        entry_id: r.3.map(EntryId),
        office_id: OfficeId(r.4),
        service_id: r.5.map(ServiceId),
        mode: ContactMode::parse(&r.6).ok_or_else(|| crate::StoreError::Corrupt(format!("feedback mode {}", r.6)))?,
        measures: Measures { wait_seconds: r.7, duration_seconds: r.8 },
        expires_at: crate::sql::instant(r.9)?,
        answered_at: r.10.map(crate::sql::instant).transpose()?,
        created_at: crate::sql::instant(r.11)?,
    })
}

/// The condition on `feedback_requests` that selects a citizen's, for their erasure: those of
/// their appointments and of their places (`appointments` and `entries` conditions of
/// `CitizenLookup`, with `$1` the town).
pub(crate) fn erase_sql(appointment_condition: &str, entry_condition: &str) -> String {
    format!(
        "DELETE FROM feedback_requests WHERE tenant_id = $1 AND \
         (appointment_id IN (SELECT id FROM appointments WHERE {appointment_condition}) \
          OR entry_id IN (SELECT id FROM entries WHERE {entry_condition}))"
    )
}

/// The statements of this module for one engine: inherent methods of `$store` that
/// `impl_store!`'s [`crate::Store`] methods call.
macro_rules! impl_feedback {
    ($store:ty, $db:ty) => {
        impl $store {
            /// Makes a request and queues its follow-up e-mail inside the caller's
            /// transaction; false (and nothing queued) when the appointment or ticket already
            /// has one.
            async fn insert_feedback_request(
                tx: &mut Tx<'_>,
                r: &$crate::NewFeedbackRequest,
                now: Timestamp,
            ) -> std::result::Result<bool, sqlx::Error> {
                let made: Option<(String,)> = sqlx::query_as(
                    "INSERT INTO feedback_requests (token_hash, tenant_id, appointment_id, entry_id, office_id, \
                     service_id, mode, wait_seconds, duration_seconds, expires_at, outbox_key, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
                     ON CONFLICT DO NOTHING RETURNING token_hash",
                )
                .bind(&r.token_hash)
                .bind(r.tenant_id.0)
                .bind(r.appointment_id.map(|a| a.0))
                .bind(r.entry_id.map(|e| e.0))
                .bind(r.office_id.0)
                .bind(r.service_id.map(|s| s.0))
                .bind(r.mode.as_str())
                .bind(r.measures.wait_seconds)
                .bind(r.measures.duration_seconds)
                .bind(r.expires_at.as_second())
                .bind(r.outbox.as_ref().map(|m| m.dedupe_key.as_str()))
                .bind(now.as_second())
                .fetch_optional(&mut **tx)
                .await?;
                if made.is_none() {
                    return Ok(false);
                }
                if let Some(m) = &r.outbox {
                    let appointment = r.appointment_id.map(|a| a.0);
                    Self::insert_outbox(tx, r.tenant_id, appointment, std::slice::from_ref(m), now).await?;
                }
                Ok(true)
            }

            /// The requests for the citizens of a meeting whose places the end just finished,
            /// each measured from its finished place.
            async fn insert_meeting_feedback(
                tx: &mut Tx<'_>,
                finished: &[Entry],
                asks: &[$crate::MeetingFeedback],
                now: Timestamp,
            ) -> std::result::Result<(), sqlx::Error> {
                for ask in asks {
                    let Some(entry) = finished.iter().find(|e| e.id == ask.entry_id) else { continue };
                    let request = $crate::NewFeedbackRequest {
                        measures: ricevo_core::feedback::Measures::of_entry(entry),
                        ..ask.request.clone()
                    };
                    Self::insert_feedback_request(tx, &request, now).await?;
                }
                Ok(())
            }

            async fn feedback_set_status(
                &self,
                tenant: TenantId,
                id: AppointmentId,
                from: AppointmentStatus,
                to: AppointmentStatus,
                now: Timestamp,
                ask: &$crate::NewFeedbackRequest,
            ) -> Result<()> {
                if to == AppointmentStatus::Cancelled {
                    return Err(StoreError::Stale);
                }
                let mut tx = self.begin_write().await?;
                let r = sqlx::query(
                    "UPDATE appointments SET status = $1, updated_at = $2 WHERE tenant_id = $3 AND id = $4 \
                     AND status = $5",
                )
                .bind(to.as_str())
                .bind(now.as_second())
                .bind(tenant.0)
                .bind(id.0)
                .bind(from.as_str())
                .execute(&mut *tx)
                .await?;
                if r.rows_affected() != 1 {
                    let exists: Option<(i64,)> =
                        sqlx::query_as("SELECT id FROM appointments WHERE tenant_id = $1 AND id = $2")
                            .bind(tenant.0)
                            .bind(id.0)
                            .fetch_optional(&mut *tx)
                            .await?;
                    tx.rollback().await?;
                    return Err(if exists.is_some() { StoreError::Stale } else { StoreError::NotFound });
                }
                if ask.tenant_id == tenant && ask.appointment_id == Some(id) {
                    Self::insert_feedback_request(&mut tx, ask, now).await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn feedback_request_by_hash(&self, token_hash: &str) -> Result<Option<$crate::FeedbackRequest>> {
                let row: Option<$crate::feedback::RequestRow> = sqlx::query_as(&format!(
                    "SELECT {} FROM feedback_requests WHERE token_hash = $1",
                    $crate::feedback::REQUEST_COLUMNS
                ))
                .bind(token_hash)
                .fetch_optional(&self.reader)
                .await?;
                row.map($crate::feedback::request_from).transpose()
            }

            async fn feedback_request_of(
                &self,
                tenant: TenantId,
                subject: $crate::FeedbackSubject,
            ) -> Result<Option<$crate::FeedbackRequest>> {
                let (column, id) = match subject {
                    $crate::FeedbackSubject::Appointment(a) => ("appointment_id", a.0),
                    $crate::FeedbackSubject::Entry(e) => ("entry_id", e.0),
                };
                let row: Option<$crate::feedback::RequestRow> = sqlx::query_as(&format!(
                    "SELECT {} FROM feedback_requests WHERE tenant_id = $1 AND {column} = $2",
                    $crate::feedback::REQUEST_COLUMNS
                ))
                .bind(tenant.0)
                .bind(id)
                .fetch_optional(&self.writer)
                .await?;
                row.map($crate::feedback::request_from).transpose()
            }

            /// Answers a request in one transaction: marks it answered (only if it is still
            /// unanswered and unexpired, in the same statement, so of two concurrent answers one
            /// wins), stores the response, and withdraws the follow-up e-mail not sent yet.
            async fn feedback_answer(
                &self,
                tenant: TenantId,
                token_hash: &str,
                now: Timestamp,
                response: &$crate::NewResponse,
            ) -> Result<$crate::FeedbackAnswer> {
                let mut tx = self.begin_write().await?;
                let marked: Option<(Option<String>,)> = sqlx::query_as(
                    "UPDATE feedback_requests SET answered_at = $1 WHERE tenant_id = $2 AND token_hash = $3 \
                     AND answered_at IS NULL AND expires_at > $1 RETURNING outbox_key",
                )
                .bind(now.as_second())
                .bind(tenant.0)
                .bind(token_hash)
                .fetch_optional(&mut *tx)
                .await?;
                let Some((outbox_key,)) = marked else {
                    let row: Option<(Option<i64>,)> = sqlx::query_as(
                        "SELECT answered_at FROM feedback_requests WHERE tenant_id = $1 AND token_hash = $2",
                    )
                    .bind(tenant.0)
                    .bind(token_hash)
                    .fetch_optional(&mut *tx)
                    .await?;
                    tx.rollback().await?;
                    return match row {
                        None => Err(StoreError::NotFound),
                        Some((Some(_),)) => {
                            Ok($crate::FeedbackAnswer::Refused(ricevo_core::feedback::Refusal::Answered))
                        }
                        Some((None,)) => Ok($crate::FeedbackAnswer::Refused(ricevo_core::feedback::Refusal::Expired)),
                    };
                };
                let id = Self::insert_response(&mut tx, response).await?;
                if let Some(key) = outbox_key {
                    sqlx::query("DELETE FROM outbox WHERE dedupe_key = $1 AND retractable = 1 AND sent_at IS NULL")
                        .bind(key)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok($crate::FeedbackAnswer::Stored(id))
            }

            async fn feedback_ticket_contact(
                &self,
                tenant: TenantId,
                entry: EntryId,
            ) -> Result<Option<$crate::TicketContact>> {
                type Row = (Option<String>, Option<String>, Option<i32>, Option<String>, Option<i64>);
                let row: Option<Row> = sqlx::query_as(
                    "SELECT email, ticket_day, ticket_number, phone, telegram_chat_id FROM entries \
                     WHERE tenant_id = $1 AND id = $2",
                )
                .bind(tenant.0)
                .bind(entry.0)
                .fetch_optional(&self.reader)
                .await?;
                Ok(row.map(|(email, day, number, phone, telegram_chat_id)| $crate::TicketContact {
                    email: email.filter(|e| !e.trim().is_empty()),
                    day,
                    number,
                    phone: phone.filter(|p| !p.trim().is_empty()),
                    telegram_chat_id,
                }))
            }
        }
    };
}

pub(crate) use impl_feedback;
