//! The booking journey shared by the API and the citizen pages: load the facts, ask the core,
//! commit through the store with the messages that announce the change.

use std::sync::Arc;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, ToSpan};
use ricevo_core::appointment::{AppointmentStatus, Timing};
use ricevo_core::citizen::{BookingDetails, BookingInput, FieldError, check_booking};
use ricevo_core::holidays::PatronDay;
use ricevo_core::hours::{Closure, OpeningHours, WeeklyRange};
use ricevo_core::slots::{self, Slot, SlotQuery, SlotRefusal};
use ricevo_core::{Lang, Mode, ServiceId, quota};
use ricevo_notify::{AppointmentNotice, EmailKind, Outgoing};
use ricevo_store::{
    Appointment, BookOutcome, IdempotencyRecord, NewAppointment, NewOutboxMessage, Office, Reschedule, Service,
    StoreError, Tenant,
};
use serde::Serialize;

use crate::api::rfc3339;
use crate::catalogue::ServiceContext;
use crate::error::ApiError;
use crate::state::AppState;
use crate::tokens;

/// The longest date range one slot query may cover.
pub const MAX_SLOT_RANGE_DAYS: i64 = 62;

/// What the slot engine needs about one office.
#[derive(Debug)]
pub struct OfficeFacts {
    /// The tenant's zone.
    pub zone: TimeZone,
    /// Weekly hours and desks.
    pub hours: OpeningHours,
    /// Closures.
    pub closures: Vec<Closure>,
    /// The patron saint's day.
    pub patron: Option<PatronDay>,
}

/// The tenant's time zone, falling back to Rome for a zone the database does not know.
pub fn zone_of(tenant: &Tenant) -> TimeZone {
    TimeZone::get(&tenant.time_zone).unwrap_or_else(|_| TimeZone::get("Europe/Rome").unwrap_or(TimeZone::UTC))
}

/// Loads an office's hours, closures and the tenant's holidays.
pub async fn office_facts(state: &AppState, tenant: &Tenant, office: &Office) -> Result<OfficeFacts, ApiError> {
    let ranges = state.store.hours(tenant.id, office.id).await?;
    let mut weekly = Vec::new();
    for r in ranges {
        let t = |m: i32| jiff::civil::Time::new((m / 60) as i8, (m % 60) as i8, 0, 0);
        let weekday = jiff::civil::Weekday::from_monday_one_offset(r.weekday as i8);
        if let (Ok(wd), Ok(s), Ok(e)) = (weekday, t(r.start_minute), t(r.end_minute))
            && let Ok(range) = WeeklyRange::new(wd, s, e)
        {
            weekly.push(range);
        }
    }
    let desks = u16::try_from(office.desks).unwrap_or(1).max(1);
    let hours = OpeningHours::new(weekly, desks)
        .or_else(|_| OpeningHours::new(Vec::new(), desks))
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let closures = state
        .store
        .closures(tenant.id, office.id)
        .await?
        .into_iter()
        .filter_map(|c| Closure::new(c.first_day.parse().ok()?, c.last_day.parse().ok()?, c.reason).ok())
        .collect();
    Ok(OfficeFacts {
        zone: zone_of(tenant),
        hours,
        closures,
        patron: tenant.patron_day.as_deref().and_then(PatronDay::parse),
    })
}

/// A service with its office, both of one tenant; 404 otherwise.
pub async fn service_and_office(
    state: &AppState,
    tenant: &Tenant,
    service_id: ServiceId,
    lang: Lang,
) -> Result<(Service, Office), ApiError> {
    let service = state
        .store
        .service(tenant.id, service_id)
        .await?
        .filter(|s| s.active)
        .ok_or_else(|| ApiError::not_found_service(lang))?;
    let office =
        state.store.office(tenant.id, service.office_id).await?.ok_or_else(|| ApiError::not_found_service(lang))?;
    Ok((service, office))
}

/// A bookable service with its office and the office's facts, from the catalogue memory.
pub async fn service_context(
    state: &AppState,
    tenant: &Tenant,
    service_id: ServiceId,
    lang: Lang,
) -> Result<Arc<ServiceContext>, ApiError> {
    if let Some(ctx) = state.catalogue.service(tenant.id, service_id) {
        return Ok(ctx);
    }
    let (service, office) = service_and_office(state, tenant, service_id, lang).await?;
    let facts = office_facts(state, tenant, &office).await?;
    let ctx = Arc::new(ServiceContext { service, office, facts });
    state.catalogue.keep_service(tenant.id, ctx.clone());
    Ok(ctx)
}

/// A town's webhook subscriptions, from the catalogue memory.
pub async fn webhooks(state: &AppState, tenant: &Tenant) -> Result<Arc<Vec<ricevo_store::Webhook>>, ApiError> {
    if let Some(hooks) = state.catalogue.webhooks(tenant.id) {
        return Ok(hooks);
    }
    let hooks = Arc::new(state.store.webhooks(tenant.id).await?);
    state.catalogue.keep_webhooks(tenant.id, hooks.clone());
    Ok(hooks)
}

/// Computes the slots of a service between two local days.
pub async fn slots_between(
    state: &AppState,
    tenant: &Tenant,
    service: &Service,
    office: &Office,
    from: Date,
    to: Date,
    now: Timestamp,
) -> Result<Vec<Slot>, ApiError> {
    let facts = office_facts(state, tenant, office).await?;
    let window_start = from.to_zoned(facts.zone.clone()).map(|z| z.timestamp()).unwrap_or(now);
    let window_end = to
        .checked_add(2.days())
        .ok()
        .and_then(|d| d.to_zoned(facts.zone.clone()).ok())
        .map(|z| z.timestamp())
        .unwrap_or(now);
    let booked =
        state.store.booked(tenant.id, office.id, window_start - SignedDuration::from_hours(24), window_end).await?;
    let q = SlotQuery {
        zone: &facts.zone,
        hours: &facts.hours,
        closures: &facts.closures,
        patron: facts.patron,
        service: &service.rules,
        booked: &booked,
        now,
        from,
        to,
    };
    Ok(slots::compute(&q))
}

/// A citizen's request to book, as parsed from the API or the form.
#[derive(Debug, Clone)]
pub struct BookingRequest {
    /// The service.
    pub service_id: ServiceId,
    /// The chosen start.
    pub start: Timestamp,
    /// Everything the citizen typed.
    pub input: BookingInput,
    /// The client's idempotency key and the hash of its request.
    pub idempotency: Option<(String, String)>,
    /// The client's address (`crate::client_key`), which has a budget of bookings per hour.
    pub client: String,
}

/// The answer to a successful booking, as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BookingReceipt {
    /// Public id of the appointment.
    pub id: String,
    /// `booked`.
    pub status: String,
    /// Start, RFC 3339 with the local offset.
    pub start: String,
    /// End, RFC 3339 with the local offset.
    pub end: String,
    /// Where the citizen views, cancels or moves it.
    pub manage_url: String,
    /// Where the citizen joins the video meeting (video only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub join_url: Option<String>,
    /// The calendar invite.
    pub ics_url: String,
}

/// How a booking attempt ended.
#[derive(Debug)]
pub enum BookingResult {
    /// Booked now.
    Booked {
        /// The receipt to show.
        receipt: BookingReceipt,
        /// The citizen's link token (for the confirmation page).
        token: String,
    },
    /// The same idempotency key was used before: the first answer.
    Replay(IdempotencyRecord),
}

/// Every way a booking can be refused.
#[derive(Debug)]
pub enum BookingRefusal {
    /// Some fields are wrong.
    Fields(Vec<FieldError>),
    /// The time cannot be booked; nearby free slots.
    Unavailable {
        /// Why.
        reason: SlotRefusal,
        /// Up to five free slots near the wanted time.
        alternatives: Vec<Slot>,
    },
    /// Anything else (not found, storage failure...).
    Api(ApiError),
}

impl From<ApiError> for BookingRefusal {
    fn from(e: ApiError) -> Self {
        BookingRefusal::Api(e)
    }
}

impl From<StoreError> for BookingRefusal {
    fn from(e: StoreError) -> Self {
        BookingRefusal::Api(e.into())
    }
}

/// Checks and books, writing the confirmation, the reminder and the webhooks in one transaction.
pub async fn book(
    state: &AppState,
    tenant: &Tenant,
    req: BookingRequest,
    lang: Lang,
    now: Timestamp,
) -> Result<BookingResult, BookingRefusal> {
    if let Some((key, hash)) = &req.idempotency
        && let Some(first) = state.store.idempotency(tenant.id, key).await?
    {
        return if &first.request_hash == hash {
            Ok(BookingResult::Replay(first))
        } else {
            Err(ApiError::IdempotencyMismatch(lang).into())
        };
    }
    let ctx = service_context(state, tenant, req.service_id, lang).await?;
    let (service, office, facts) = (&ctx.service, &ctx.office, &ctx.facts);
    let details =
        check_booking(&req.input, &service.rules, &service.questions, lang).map_err(BookingRefusal::Fields)?;
    let day = req.start.to_zoned(facts.zone.clone()).date();
    // Only the seats of the wanted interval decide; the database re-checks them on commit.
    let booked_now =
        state.store.taken_seats(tenant.id, office.id, req.start, req.start + service.rules.occupancy(), None).await?;
    let q = SlotQuery {
        zone: &facts.zone,
        hours: &facts.hours,
        closures: &facts.closures,
        patron: facts.patron,
        service: &service.rules,
        booked: &booked_now,
        now,
        from: day,
        to: day,
    };
    let slot = match slots::check_start(&q, req.start) {
        Ok(slot) => slot,
        Err(reason) => {
            let around = slots_around(state, tenant, service, office, day, now).await?;
            return Err(BookingRefusal::Unavailable {
                reason,
                alternatives: slots::nearest_free(&around, req.start, 5),
            });
        }
    };
    // The address's budget is spent only by a booking that gets stored (given back otherwise),
    // and taken before the commit so that a burst of concurrent requests cannot all pass.
    if !state.booking_budget.allow(&req.client, now) {
        state.booking_budget.give_back(&req.client, now);
        tracing::warn!(tenant = %tenant.slug, client = %req.client, "booking budget spent");
        return Err(ApiError::TooManyBookings(lang, state.booking_budget.retry_after(now)).into());
    }
    let result = commit(state, tenant, &req, &ctx, details, slot, day, lang, now).await;
    if !matches!(result, Ok(BookingResult::Booked { .. })) {
        state.booking_budget.give_back(&req.client, now);
    }
    result
}

// Stores a checked booking with its messages, under the citizen's quota.
#[allow(clippy::too_many_arguments)]
async fn commit(
    state: &AppState,
    tenant: &Tenant,
    req: &BookingRequest,
    ctx: &ServiceContext,
    details: BookingDetails,
    slot: Slot,
    day: Date,
    lang: Lang,
    now: Timestamp,
) -> Result<BookingResult, BookingRefusal> {
    let (service, office, facts) = (&ctx.service, &ctx.office, &ctx.facts);
    let token = tokens::new_token();
    let public_id = tokens::new_public_id();
    let links = Links::new(state, &token, details.mode);
    let receipt = BookingReceipt {
        id: public_id.clone(),
        status: "booked".into(),
        start: rfc3339(&slot.start),
        end: rfc3339(&slot.end),
        manage_url: links.manage.clone(),
        join_url: links.join.clone(),
        ics_url: links.ics.clone(),
    };
    let mut new = NewAppointment {
        tenant_id: tenant.id,
        office_id: office.id,
        service_id: service.id,
        desks: facts.hours.desks(),
        public_id,
        token_hash: tokens::hash(&token),
        start: slot.start.timestamp(),
        end: slot.end.timestamp(),
        occupied_until: slot.start.timestamp() + service.rules.occupancy(),
        mode: details.mode,
        citizen_name: details.citizen.name.as_str().to_owned(),
        citizen_email: details.citizen.email.as_str().to_owned(),
        citizen_phone: details.citizen.phone.as_ref().map(|p| p.as_str().to_owned()),
        fiscal_code: details.citizen.fiscal_code.as_ref().map(|c| c.as_str().to_owned()),
        notes: details.notes.clone(),
        answers: serde_json::to_value(&details.answers).unwrap_or_default(),
        lang: details.lang,
        now,
        outbox: Vec::new(),
        idempotency: req.idempotency.as_ref().map(|(key, hash)| IdempotencyRecord {
            key: key.clone(),
            request_hash: hash.clone(),
            status: 201,
            body: serde_json::to_string(&receipt).unwrap_or_default(),
        }),
        citizen_keys: quota::citizen_keys(&details.citizen),
        quota: (state.config.max_active_per_citizen > 0)
            .then(|| quota::CitizenQuota::new(state.config.max_active_per_citizen)),
    };
    // The messages announce the appointment as it will be stored (its id is not needed).
    let to_be = new.appointment(ricevo_core::AppointmentId(0));
    new.outbox = announcements(state, tenant, office, service, &to_be, &links, Change::Created, now).await?;
    match state.store.book(&new).await? {
        BookOutcome::Booked(stored) => {
            state.metrics.booking_committed();
            tracing::info!(tenant = %tenant.slug, appointment = %stored.public_id, "booked");
            Ok(BookingResult::Booked { receipt, token })
        }
        BookOutcome::Replay(first) => {
            if Some(&first.request_hash) == req.idempotency.as_ref().map(|(_, h)| h) {
                Ok(BookingResult::Replay(first))
            } else {
                Err(ApiError::IdempotencyMismatch(lang).into())
            }
        }
        BookOutcome::QuotaReached(quota) => {
            tracing::info!(tenant = %tenant.slug, service = %service.id, "citizen quota reached");
            Err(ApiError::CitizenLimit(lang, quota.max()).into())
        }
        BookOutcome::Full => {
            state.metrics.booking_conflict();
            let slots = slots_around(state, tenant, service, office, day, now).await?;
            Err(BookingRefusal::Unavailable {
                reason: SlotRefusal::Full,
                alternatives: slots::nearest_free(&slots, req.start, 5),
            })
        }
    }
}

// Slots from the day before to a week after `day`, to offer alternatives.
async fn slots_around(
    state: &AppState,
    tenant: &Tenant,
    service: &Service,
    office: &Office,
    day: Date,
    now: Timestamp,
) -> Result<Vec<Slot>, ApiError> {
    let from = day.checked_sub(1.day()).unwrap_or(day);
    let to = day.checked_add(7.days()).unwrap_or(day);
    slots_between(state, tenant, service, office, from, to, now).await
}

/// The citizen's links for one appointment.
#[derive(Debug, Clone)]
pub struct Links {
    /// View, cancel, move.
    pub manage: String,
    /// One-click cancel (asks for confirmation, never cancels on GET).
    pub cancel: String,
    /// Video meeting.
    pub join: Option<String>,
    /// Calendar file.
    pub ics: String,
}

impl Links {
    /// No links: for messages caused by the office, which holds only the token's hash.
    pub fn none() -> Links {
        Links { manage: String::new(), cancel: String::new(), join: None, ics: String::new() }
    }

    /// The links a token opens.
    pub fn new(state: &AppState, token: &str, mode: Mode) -> Links {
        let base = &state.config.public_url;
        Links {
            manage: token_link(base, token, ""),
            cancel: token_link(base, token, "/cancel"),
            join: (mode == Mode::Video).then(|| token_link(base, token, "/join")),
            ics: token_link(base, token, "/invite.ics"),
        }
    }
}

/// The address of a link token's page `rest` (`""`, `"/join"`, ...) under `base`, the public
/// or a node's URL; a `base` ending in `/` gives no double slash.
pub(crate) fn token_link(base: &str, token: &str, rest: &str) -> String {
    format!("{}/a/{token}{rest}", base.trim_end_matches('/'))
}

/// What happened to an appointment, for the messages that announce it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Booked.
    Created,
    /// Moved to another time.
    Moved,
    /// Cancelled.
    Cancelled,
}

impl Change {
    fn event(self) -> &'static str {
        match self {
            Change::Created => "appointment.created",
            Change::Moved => "appointment.moved",
            Change::Cancelled => "appointment.cancelled",
        }
    }
}

/// Everything an e-mail about `appointment` needs.
pub fn notice(
    tenant: &Tenant,
    office: &Office,
    service: &Service,
    a: &Appointment,
    links: &Links,
) -> AppointmentNotice {
    let zone = zone_of(tenant);
    AppointmentNotice {
        uid: format!("{}@ricevo", a.public_id),
        sequence: a.sequence,
        tenant_name: tenant.name.clone(),
        tenant_email: tenant.contact_email.clone(),
        office_name: office.name.clone(),
        office_address: office.address.clone(),
        service_name: service.name.clone(),
        what_to_bring: service.what_to_bring.clone(),
        start: a.start.to_zoned(zone.clone()),
        end: a.end.to_zoned(zone),
        mode: a.mode,
        citizen_name: a.citizen_name.clone(),
        citizen_email: a.citizen_email.clone(),
        manage_url: links.manage.clone(),
        cancel_url: links.cancel.clone(),
        join_url: links.join.clone(),
        lang: a.lang,
    }
}

/// The From address of a town's e-mails: the instance's sending address if configured, else
/// the town's own.
pub fn mail_from(state: &AppState, tenant: &Tenant) -> String {
    state.config.mail_from.clone().unwrap_or_else(|| tenant.contact_email.clone())
}

/// The outbox rows announcing a change: the e-mail, a reminder if the meeting is far enough
/// ahead, and one webhook per subscription.
#[allow(clippy::too_many_arguments)]
pub async fn announcements(
    state: &AppState,
    tenant: &Tenant,
    office: &Office,
    service: &Service,
    a: &Appointment,
    links: &Links,
    change: Change,
    now: Timestamp,
) -> Result<Vec<NewOutboxMessage>, ApiError> {
    let n = notice(tenant, office, service, a, links);
    let from = mail_from(state, tenant);
    let mut out = Vec::new();
    let kind = match change {
        Change::Created => EmailKind::Confirmation,
        Change::Moved => EmailKind::Moved,
        Change::Cancelled => EmailKind::Cancelled,
    };
    let email = Outgoing::Notice { email: kind, notice: Box::new(n.clone()), from: from.clone() };
    out.push(NewOutboxMessage {
        kind: "email".into(),
        dedupe_key: format!("{}:{}:{}", a.public_id, kind.as_str(), a.sequence),
        payload: email.to_payload().map_err(|e| ApiError::Internal(e.to_string()))?,
        due_at: now,
        retractable: false,
    });
    let remind_at = a.start - SignedDuration::from_hours(i64::from(state.config.reminder_hours));
    if change != Change::Cancelled && remind_at > now {
        let reminder = Outgoing::Notice { email: EmailKind::Reminder, notice: Box::new(n.clone()), from: from.clone() };
        out.push(NewOutboxMessage {
            kind: "email".into(),
            dedupe_key: format!("{}:reminder:{}", a.public_id, a.sequence),
            payload: reminder.to_payload().map_err(|e| ApiError::Internal(e.to_string()))?,
            due_at: remind_at,
            retractable: true,
        });
    }
    let zone = zone_of(tenant);
    for hook in webhooks(state, tenant).await?.iter() {
        let event_id = format!("{}:{}:{}", a.public_id, change.event(), a.sequence);
        let body = serde_json::json!({
            "id": event_id,
            "type": change.event(),
            "created_at": now.to_string(),
            "tenant": tenant.slug,
            "appointment": {
                "id": a.public_id,
                "service_id": a.service_id,
                "office_id": a.office_id,
                "status": if change == Change::Cancelled { "cancelled" } else { "booked" },
                "start": rfc3339(&a.start.to_zoned(zone.clone())),
                "end": rfc3339(&a.end.to_zoned(zone.clone())),
                "mode": a.mode,
            }
        });
        let outgoing = Outgoing::Webhook { webhook_id: hook.id, event_id: event_id.clone(), body: body.to_string() };
        out.push(NewOutboxMessage {
            kind: "webhook".into(),
            dedupe_key: format!("{event_id}:hook{}", hook.id),
            payload: outgoing.to_payload().map_err(|e| ApiError::Internal(e.to_string()))?,
            due_at: now,
            retractable: false,
        });
    }
    Ok(out)
}

/// Cancels an appointment (citizen or staff), announcing it.
pub async fn cancel(
    state: &AppState,
    tenant: &Tenant,
    a: &Appointment,
    now: Timestamp,
    lang: Lang,
) -> Result<Appointment, ApiError> {
    // The one rule for status changes; for a citizen, any refusal means it is over already.
    if a.status.transition(AppointmentStatus::Cancelled, timing(a, now)).is_err() {
        return Err(ApiError::NotActive(lang));
    }
    let office = state.store.office(tenant.id, a.office_id).await?.ok_or(ApiError::NotFound(lang))?;
    let service = state.store.service(tenant.id, a.service_id).await?.ok_or(ApiError::NotFound(lang))?;
    // The link token is not stored in clear: the cancellation e-mail carries no links.
    let links = Links::none();
    let mut next = a.clone();
    next.sequence += 1;
    let outbox = announcements(state, tenant, &office, &service, &next, &links, Change::Cancelled, now).await?;
    let done = state.store.cancel(tenant.id, a.id, a.sequence, now, &outbox).await?;
    crate::room::appointment_cancelled(state, tenant, a.id).await;
    tracing::info!(tenant = %tenant.slug, appointment = %a.public_id, "cancelled");
    Ok(done)
}

fn timing(a: &Appointment, now: Timestamp) -> Timing {
    Timing { start: a.start, end: a.end, now }
}

/// Changes an appointment's status for staff, the same way from the pages and the API: the
/// core's rule (`AppointmentStatus::transition`) decides, a cancellation frees the seats and
/// tells the citizen, and every other change is written only over the status it was decided
/// from (a concurrent change answers 409).
pub async fn change_status(
    state: &AppState,
    tenant: &Tenant,
    a: &Appointment,
    to: AppointmentStatus,
    now: Timestamp,
    lang: Lang,
) -> Result<Appointment, ApiError> {
    a.status.transition(to, timing(a, now)).map_err(|e| ApiError::StatusChange(lang, e))?;
    if to == AppointmentStatus::Cancelled {
        return cancel(state, tenant, a, now, lang).await;
    }
    match state.store.set_status(tenant.id, a.id, a.status, to, now).await {
        Ok(()) => {}
        Err(StoreError::Stale) => return Err(ApiError::Conflict(lang)),
        Err(e) => return Err(e.into()),
    }
    Ok(Appointment { status: to, ..a.clone() })
}

/// Moves an appointment to `start` if that slot is free; `Err(Unavailable)` with alternatives if not.
pub async fn reschedule(
    state: &AppState,
    tenant: &Tenant,
    a: &Appointment,
    token: Option<&str>,
    start: Timestamp,
    now: Timestamp,
    lang: Lang,
) -> Result<Appointment, BookingRefusal> {
    if !a.status.is_active() {
        return Err(ApiError::NotActive(lang).into());
    }
    let (service, office) = service_and_office(state, tenant, a.service_id, lang).await?;
    let facts = office_facts(state, tenant, &office).await?;
    let day = start.to_zoned(facts.zone.clone()).date();
    // Only the seats of the wanted interval decide, without the appointment's own seats.
    let booked =
        state.store.taken_seats(tenant.id, office.id, start, start + service.rules.occupancy(), Some(a.id)).await?;
    let q = SlotQuery {
        zone: &facts.zone,
        hours: &facts.hours,
        closures: &facts.closures,
        patron: facts.patron,
        service: &service.rules,
        booked: &booked,
        now,
        from: day,
        to: day,
    };
    let slot = match slots::check_start(&q, start) {
        Ok(s) => s,
        Err(reason) => {
            let around = slots_around(state, tenant, &service, &office, day, now).await?;
            return Err(BookingRefusal::Unavailable { reason, alternatives: slots::nearest_free(&around, start, 5) });
        }
    };
    let mut next = a.clone();
    next.start = slot.start.timestamp();
    next.end = slot.end.timestamp();
    next.occupied_until = next.start + service.rules.occupancy();
    next.sequence += 1;
    let links = match token {
        Some(t) => Links::new(state, t, a.mode),
        None => Links::none(),
    };
    let outbox = announcements(state, tenant, &office, &service, &next, &links, Change::Moved, now).await?;
    let to = Reschedule {
        start: next.start,
        end: next.end,
        occupied_until: next.occupied_until,
        desks: facts.hours.desks(),
    };
    match state.store.reschedule(tenant.id, a.id, a.sequence, &to, now, &outbox).await? {
        Some(moved) => Ok(moved),
        None => {
            let around = slots_around(state, tenant, &service, &office, day, now).await?;
            Err(BookingRefusal::Unavailable {
                reason: SlotRefusal::Full,
                alternatives: slots::nearest_free(&around, start, 5),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::token_link;

    #[test]
    fn token_links_have_one_slash_whatever_the_base_ends_with() {
        assert_eq!(token_link("https://comune.example", "t0k", "/join"), "https://comune.example/a/t0k/join");
        assert_eq!(token_link("https://comune.example/ricevo/", "t0k", ""), "https://comune.example/ricevo/a/t0k");
    }
}
