//! Where a booking is decided: offering slots, booking (idempotent, under the citizen's quota
//! and the source's hourly budget), cancelling, moving, and the status changes officials make.
//! Each loads the facts, asks the core (`ricevo_core::slots`, `ricevo_core::appointment`), and
//! commits through the store together with the messages that announce the change.

use crate::audit::Record;
use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp, ToSpan};
use ricevo_core::EntryStatus;
use ricevo_core::appointment::{AppointmentStatus, Timing};
use ricevo_core::audit::{Act, Subject};
use ricevo_core::citizen::{BookingDetails, BookingInput, check_booking};
use ricevo_core::report::BookedVia;
use ricevo_core::slots::{self, Slot, SlotRefusal};
use ricevo_core::{Lang, ServiceId, quota};
use ricevo_store::{
    Appointment, BookOutcome, Grant, IdempotencyRecord, NewAppointment, Office, Reschedule, Service, StoreError, Tenant,
};
use serde::Serialize;

use crate::catalogue::ServiceContext;
use crate::messages::{Change, Links, Told};
use crate::town::rfc3339;
use crate::{Desk, DeskError, tokens};

/// The longest date range one slot query may cover.
pub const MAX_SLOT_RANGE_DAYS: i64 = 62;

/// How far ahead a manager's override may book (past it, the service's horizon answers).
const OVERRIDE_DAYS: i64 = 366;

/// How often a booking draws a new reference code after drawing one already taken.
const REFERENCE_DRAWS: usize = 8;

/// Who books: the citizen, or an official for them (see `on_behalf`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Booker {
    /// The citizen on the booking pages, under the source's hourly budget.
    Citizen,
    /// The citizen (or the town's portal for them) through the JSON API, under the same budget.
    Api,
    /// An official on the citizen's behalf: no hourly budget (they are signed in), and with
    /// `outside_hours` the opening hours, notice and horizon do not bind (seats still do).
    Staff {
        /// Whether a manager of the office books outside the bookable slots.
        outside_hours: bool,
    },
    /// The citizen through the Telegram bot, under the same budget; messages reach the chat.
    Telegram {
        /// The chat's id.
        chat: i64,
    },
    // ---- citizen ----
    /// The citizen on the booking pages, signed in with SPID or CIE (`signed_in`): the same
    /// budget, the town's limit for verified citizens, and the services that ask for it.
    Verified {
        /// Whether SPID or CIE verified them (recorded with the appointment).
        kind: ricevo_identity::ProviderKind,
    },
    // ---- end citizen ----
}

/// A citizen's request to book, as a channel parsed it.
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
    /// Who asks, for the hourly budget of bookings (a client address, a chat).
    pub source: String,
}

/// The answer to a successful booking, as the citizen and the API see it (and as an
/// idempotent retry gets it again).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BookingReceipt {
    /// The appointment's reference code, short and readable aloud (`K7M-4QP`): in every
    /// message, and what staff search finds it by.
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

/// How a booking attempt ended well.
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

impl Booker {
    // How the booking is recorded for the reports.
    fn via(self) -> BookedVia {
        match self {
            Booker::Citizen | Booker::Verified { .. } => BookedVia::Page,
            Booker::Api => BookedVia::Api,
            Booker::Staff { .. } => BookedVia::Staff,
            Booker::Telegram { .. } => BookedVia::Telegram,
        }
    }

    // The chat its messages reach, for a booking made through Telegram.
    fn telegram_chat(self) -> Option<i64> {
        match self {
            Booker::Telegram { chat } => Some(chat),
            _ => None,
        }
    }

    // How the citizen was verified, for a booking made signed in with SPID or CIE.
    fn verified_identity(self) -> Option<String> {
        match self {
            Booker::Verified { kind } => Some(kind.as_str().to_owned()),
            _ => None,
        }
    }
}

fn timing(a: &Appointment, now: Timestamp) -> Timing {
    Timing { start: a.start, end: a.end, now }
}

impl Desk {
    /// The slots of a service between two local days.
    pub async fn slots_between(
        &self,
        tenant: &Tenant,
        service: &Service,
        office: &Office,
        from: Date,
        to: Date,
    ) -> Result<Vec<Slot>, DeskError> {
        let now = self.now();
        let facts = self.office_facts(tenant, office).await?;
        let window_start = from.to_zoned(facts.zone.clone()).map(|z| z.timestamp()).unwrap_or(now);
        let window_end = to
            .checked_add(2.days())
            .ok()
            .and_then(|d| d.to_zoned(facts.zone.clone()).ok())
            .map(|z| z.timestamp())
            .unwrap_or(now);
        let booked =
            self.store.booked(tenant.id, office.id, window_start - SignedDuration::from_hours(24), window_end).await?;
        let q = facts.slot_query(&service.rules, &booked, now, from, to);
        Ok(slots::compute(&q))
    }

    /// Checks and books, writing the confirmation, the reminder and the webhooks in one
    /// transaction. `lang` is the language of the field messages.
    pub async fn book(&self, tenant: &Tenant, req: BookingRequest, lang: Lang) -> Result<BookingResult, DeskError> {
        self.book_as(tenant, req, lang, Booker::Citizen).await
    }

    /// [`Desk::book`] through the JSON API: the same rules, recorded as booked through the API.
    pub async fn book_through_api(
        &self,
        tenant: &Tenant,
        req: BookingRequest,
        lang: Lang,
    ) -> Result<BookingResult, DeskError> {
        self.book_as(tenant, req, lang, Booker::Api).await
    }

    /// [`Desk::book`] for the citizen or for an official booking on their behalf.
    pub(crate) async fn book_as(
        &self,
        tenant: &Tenant,
        req: BookingRequest,
        lang: Lang,
        booker: Booker,
    ) -> Result<BookingResult, DeskError> {
        let now = self.now();
        if let Some((key, hash)) = &req.idempotency
            && let Some(first) = self.store.idempotency(tenant.id, key).await?
        {
            return if &first.request_hash == hash {
                Ok(BookingResult::Replay(first))
            } else {
                Err(DeskError::IdempotencyMismatch)
            };
        }
        let ctx = self.service_context(tenant, req.service_id).await?;
        let (service, office, facts) = (&ctx.service, &ctx.office, &ctx.facts);
        // ---- citizen ---- A service the town books only for a verified identity: a citizen not
        // signed in is refused (an official books for someone whose identity they checked).
        if matches!(booker, Booker::Citizen | Booker::Api | Booker::Telegram { .. })
            && self.store.services_requiring_identity(tenant.id).await?.contains(&service.id)
        {
            return Err(DeskError::IdentityRequired);
        }
        // ---- end citizen ----
        let details = check_booking(&req.input, &service.rules, &service.questions, lang).map_err(DeskError::Fields)?;
        let day = req.start.to_zoned(facts.zone.clone()).date();
        // Only the seats of the wanted interval decide; the database re-checks them on commit.
        let booked_now = self
            .store
            .taken_seats(tenant.id, office.id, req.start, req.start + service.rules.occupancy(), None)
            .await?;
        let q = facts.slot_query(&service.rules, &booked_now, now, day, day);
        let slot = match (slots::check_start(&q, req.start), booker) {
            (Ok(slot), _) => slot,
            // A manager's override: any future time on the five-minute grid, the seats decide.
            (Err(reason), Booker::Staff { outside_hours: true })
                if reason != SlotRefusal::Full
                    && req.start >= now
                    && req.start < now + SignedDuration::from_hours(24 * OVERRIDE_DAYS)
                    && req.start.as_second() % 300 == 0 =>
            {
                let start = req.start.to_zoned(facts.zone.clone());
                let end =
                    start.checked_add(service.rules.duration()).map_err(|e| DeskError::Internal(e.to_string()))?;
                Slot { start, end, available: 1 }
            }
            (Err(reason), _) => return Err(self.unavailable(tenant, service, office, day, req.start, reason).await),
        };
        if let Booker::Staff { .. } = booker {
            return self.commit(tenant, &req, &ctx, details, slot, day, now, booker).await;
        }
        // The source's budget is spent only by a booking that gets stored (given back
        // otherwise), and taken before the commit so that a burst of concurrent requests
        // cannot all pass.
        if !self.booking_budget.allow(&req.source, now) {
            self.booking_budget.give_back(&req.source, now);
            tracing::warn!(tenant = %tenant.slug, source = %req.source, "booking budget spent");
            return Err(DeskError::BudgetSpent { retry_after_seconds: self.booking_budget.retry_after(now) });
        }
        let result = self.commit(tenant, &req, &ctx, details, slot, day, now, booker).await;
        if !matches!(result, Ok(BookingResult::Booked { .. })) {
            self.booking_budget.give_back(&req.source, now);
        }
        result
    }

    // Stores a checked booking with its messages, under the citizen's quota.
    #[allow(clippy::too_many_arguments)]
    async fn commit(
        &self,
        tenant: &Tenant,
        req: &BookingRequest,
        ctx: &ServiceContext,
        details: BookingDetails,
        slot: Slot,
        day: Date,
        now: Timestamp,
        booker: Booker,
    ) -> Result<BookingResult, DeskError> {
        for _ in 0..REFERENCE_DRAWS {
            if let Some(result) = self.commit_once(tenant, req, ctx, &details, &slot, day, now, booker).await? {
                return Ok(result);
            }
        }
        Err(DeskError::Internal("no free reference code after several draws".into()))
    }

    // One attempt with a freshly drawn reference code: `None` if the code was taken.
    #[allow(clippy::too_many_arguments)]
    async fn commit_once(
        &self,
        tenant: &Tenant,
        req: &BookingRequest,
        ctx: &ServiceContext,
        details: &BookingDetails,
        slot: &Slot,
        day: Date,
        now: Timestamp,
        booker: Booker,
    ) -> Result<Option<BookingResult>, DeskError> {
        let (service, office, facts) = (&ctx.service, &ctx.office, &ctx.facts);
        let token = tokens::new_token();
        let public_id = tokens::new_reference();
        let links = self.links(&token, details.mode);
        let receipt = BookingReceipt {
            id: public_id.clone(),
            status: "booked".into(),
            start: rfc3339(&slot.start),
            end: rfc3339(&slot.end),
            manage_url: links.manage.clone(),
            join_url: links.join.clone(),
            ics_url: links.ics.clone(),
        };
        let max_active = self.settings.max_active_per_citizen;
        // ---- citizen ---- A verified citizen: the town's own limit (keyed, as every quota, by
        // the codice fiscale among the citizen's keys: here the verified one).
        let quota = match booker {
            Booker::Verified { .. } => Some(self.verified_quota(tenant).await?),
            _ => (max_active > 0).then(|| quota::CitizenQuota::new(max_active)),
        };
        // ---- end citizen ----
        let mut new = NewAppointment {
            notes: details.notes.clone(),
            answers: serde_json::to_value(&details.answers).unwrap_or_default(),
            booked_via: booker.via(),
            idempotency: req.idempotency.as_ref().map(|(key, hash)| IdempotencyRecord {
                key: key.clone(),
                request_hash: hash.clone(),
                status: 201,
                body: serde_json::to_string(&receipt).unwrap_or_default(),
            }),
            quota,
            telegram_chat_id: booker.telegram_chat(),
            verified_identity: booker.verified_identity(),
            ..new_appointment(tenant, office, service, facts.hours.desks(), slot, details, &token, public_id, now)
        };
        // The messages announce the appointment as it will be stored (its id is not needed).
        let to_be = new.appointment(ricevo_core::AppointmentId(0));
        new.outbox = self.announcements(tenant, office, service, &to_be, &links, Change::Created, now).await?;
        match self.store.book(&new).await? {
            BookOutcome::Booked(stored) => {
                self.counters.booking_committed();
                tracing::info!(tenant = %tenant.slug, appointment = %stored.public_id, "booked");
                Ok(Some(BookingResult::Booked { receipt, token }))
            }
            BookOutcome::IdTaken => {
                tracing::info!(tenant = %tenant.slug, "reference code drawn twice, drawing again");
                Ok(None)
            }
            BookOutcome::Replay(first) => {
                if Some(&first.request_hash) == req.idempotency.as_ref().map(|(_, h)| h) {
                    Ok(Some(BookingResult::Replay(first)))
                } else {
                    Err(DeskError::IdempotencyMismatch)
                }
            }
            BookOutcome::QuotaReached(quota) => {
                tracing::info!(tenant = %tenant.slug, service = %service.id, "citizen quota reached");
                Err(DeskError::CitizenLimit(quota.max()))
            }
            BookOutcome::Full => {
                self.counters.booking_conflict();
                Err(self.unavailable(tenant, service, office, day, req.start, SlotRefusal::Full).await)
            }
        }
    }

    // The refusal of a wanted start, with up to five free slots from the day before to a week
    // after (or the storage failure met while looking for them).
    async fn unavailable(
        &self,
        tenant: &Tenant,
        service: &Service,
        office: &Office,
        day: Date,
        wanted: Timestamp,
        reason: SlotRefusal,
    ) -> DeskError {
        let from = day.checked_sub(1.day()).unwrap_or(day);
        let to = day.checked_add(7.days()).unwrap_or(day);
        match self.slots_between(tenant, service, office, from, to).await {
            Ok(around) => DeskError::Unavailable { reason, alternatives: slots::nearest_free(&around, wanted, 5) },
            Err(e) => e,
        }
    }

    /// Cancels an appointment (citizen or staff), announcing it; the citizen's place in the
    /// waiting room ends in the same write, and their open page hears it.
    pub async fn cancel(&self, tenant: &Tenant, a: &Appointment) -> Result<Appointment, DeskError> {
        self.cancel_told(tenant, a, &Told::default()).await
    }

    /// [`Desk::cancel`] with what the office tells the citizen (a reason, where to rebook).
    pub(crate) async fn cancel_told(
        &self,
        tenant: &Tenant,
        a: &Appointment,
        told: &Told,
    ) -> Result<Appointment, DeskError> {
        let now = self.now();
        // The one rule for status changes; for a citizen, any refusal means it is over already.
        if a.status.transition(AppointmentStatus::Cancelled, timing(a, now)).is_err() {
            return Err(DeskError::NotActive);
        }
        let office = self.store.office(tenant.id, a.office_id).await?.ok_or(DeskError::NotFound)?;
        let service = self.store.service(tenant.id, a.service_id).await?.ok_or(DeskError::NotFound)?;
        // The link token is not stored in clear: the cancellation e-mail carries no links.
        let links = Links::none();
        let mut next = a.clone();
        next.sequence += 1;
        let outbox =
            self.announcements_told(tenant, &office, &service, &next, &links, Change::Cancelled, told, now).await?;
        let done = self.store.cancel(tenant.id, a.id, a.sequence, now, &outbox).await?;
        self.appointment_cancelled(tenant, a).await;
        tracing::info!(tenant = %tenant.slug, appointment = %a.public_id, "cancelled");
        // The freed seats go to the service's waitlist, if anyone waits.
        self.slot_freed(tenant, a.office_id).await;
        Ok(done)
    }

    // The citizen's page hears that the appointment is cancelled and closes; the SFU lets them go.
    async fn appointment_cancelled(&self, tenant: &Tenant, a: &Appointment) {
        match self.store.entry_for_appointment(tenant.id, a.id).await {
            Ok(Some(e)) if e.status == EntryStatus::Cancelled => {
                self.live.left_media(e.id);
                self.entry_changed(e.id);
                self.office_changed(e.office_id);
            }
            Ok(_) => {}
            Err(err) => tracing::warn!(error = %err, "could not tell a cancelled appointment's page"),
        }
    }

    /// Changes an appointment's status for staff, the same way from every channel: the core's
    /// rule (`AppointmentStatus::transition`) decides, a cancellation frees the seats and tells
    /// the citizen, and every other change is written only over the status it was decided
    /// from (`Conflict` when it changed meanwhile).
    pub async fn change_status(
        &self,
        tenant: &Tenant,
        grant: &Grant,
        a: &Appointment,
        to: AppointmentStatus,
    ) -> Result<Appointment, DeskError> {
        let now = self.now();
        a.status.transition(to, timing(a, now)).map_err(DeskError::StatusChange)?;
        let changed = if to == AppointmentStatus::Cancelled {
            self.cancel(tenant, a).await?
        } else {
            // Done also asks the citizen for feedback, in the same transaction.
            match self.write_status(tenant, a, to, now).await {
                Ok(()) => {}
                Err(StoreError::Stale) => return Err(DeskError::Conflict),
                Err(e) => return Err(e.into()),
            }
            Appointment { status: to, ..a.clone() }
        };
        let act = if to == AppointmentStatus::Cancelled { Act::AppointmentCancelled } else { Act::AppointmentStatus };
        let record = Record::new(act, Subject::Appointment(a.id)).citizen(&a.citizen_name).detail(format!(
            "{} -> {}",
            a.status.as_str(),
            to.as_str()
        ));
        self.record(grant, record).await;
        Ok(changed)
    }

    /// Moves an appointment to `start` if that slot is free (`Unavailable` with alternatives
    /// if not). `token` is the citizen's link token when the citizen moves it, so that the
    /// e-mail carries their links.
    pub async fn reschedule(
        &self,
        tenant: &Tenant,
        a: &Appointment,
        token: Option<&str>,
        start: Timestamp,
    ) -> Result<Appointment, DeskError> {
        self.reschedule_told(tenant, a, token, start, &Told::default()).await
    }

    /// [`Desk::reschedule`] with what the office tells the citizen.
    pub(crate) async fn reschedule_told(
        &self,
        tenant: &Tenant,
        a: &Appointment,
        token: Option<&str>,
        start: Timestamp,
        told: &Told,
    ) -> Result<Appointment, DeskError> {
        let now = self.now();
        if !a.status.is_active() {
            return Err(DeskError::NotActive);
        }
        let (service, office) = self.service_and_office(tenant, a.service_id).await?;
        let facts = self.office_facts(tenant, &office).await?;
        let day = start.to_zoned(facts.zone.clone()).date();
        // Only the seats of the wanted interval decide, without the appointment's own seats.
        let booked =
            self.store.taken_seats(tenant.id, office.id, start, start + service.rules.occupancy(), Some(a.id)).await?;
        let q = facts.slot_query(&service.rules, &booked, now, day, day);
        let slot = match slots::check_start(&q, start) {
            Ok(s) => s,
            Err(reason) => return Err(self.unavailable(tenant, &service, &office, day, start, reason).await),
        };
        let mut next = a.clone();
        next.start = slot.start.timestamp();
        next.end = slot.end.timestamp();
        next.occupied_until = next.start + service.rules.occupancy();
        next.sequence += 1;
        let links = match token {
            Some(t) => self.links(t, a.mode),
            None => Links::none(),
        };
        let outbox =
            self.announcements_told(tenant, &office, &service, &next, &links, Change::Moved, told, now).await?;
        let to = Reschedule {
            start: next.start,
            end: next.end,
            occupied_until: next.occupied_until,
            desks: facts.hours.desks(),
        };
        match self.store.reschedule(tenant.id, a.id, a.sequence, &to, now, &outbox).await? {
            Some(moved) => {
                // The seats it left go to the service's waitlist, if anyone waits.
                self.slot_freed(tenant, a.office_id).await;
                Ok(moved)
            }
            None => Err(self.unavailable(tenant, &service, &office, day, start, SlotRefusal::Full).await),
        }
    }

    /// The appointment a citizen's link token opens, with its town.
    pub async fn appointment_by_token(&self, token: &str) -> Result<(Tenant, Appointment), DeskError> {
        if !tokens::looks_like_token(token) {
            return Err(DeskError::NotFound);
        }
        let a = self.store.appointment_by_token(&tokens::hash(token)).await?.ok_or(DeskError::NotFound)?;
        let t = self.town_by_id(a.tenant_id).await?;
        Ok((t, a))
    }
}

impl Desk {
    /// An appointment of this town that `grant` may act on (`Forbidden` outside its offices).
    pub async fn appointment_for(
        &self,
        tenant: &Tenant,
        grant: &ricevo_store::Grant,
        id: ricevo_core::AppointmentId,
    ) -> Result<Appointment, DeskError> {
        let a = self.store.appointment(tenant.id, id).await?.ok_or(DeskError::NotFound)?;
        if !grant.covers_office(a.office_id) {
            return Err(DeskError::Forbidden);
        }
        Ok(a)
    }
}

impl Desk {
    /// The services citizens may book in this town, in the catalogue's order.
    pub async fn bookable_services(&self, tenant: &Tenant) -> Result<Vec<Service>, DeskError> {
        Ok(self.store.services(tenant.id).await?.into_iter().filter(|s| s.active).collect())
    }

    /// The appointments of one local day that `grant` may see: an administrator every
    /// office's (or the one asked for), anyone else only those of their own offices (none for
    /// an office they do not cover). Earliest first.
    pub async fn appointments_of_day(
        &self,
        tenant: &Tenant,
        grant: &ricevo_store::Grant,
        day: Date,
        office: Option<ricevo_core::OfficeId>,
    ) -> Result<Vec<Appointment>, DeskError> {
        use ricevo_store::Role;
        let zone = crate::town::zone_of(tenant);
        let start = day.to_zoned(zone.clone()).map_err(|e| DeskError::Internal(e.to_string()))?.timestamp();
        let end = day
            .checked_add(1.day())
            .and_then(|d| d.to_zoned(zone))
            .map_err(|e| DeskError::Internal(e.to_string()))?
            .timestamp();
        let offices: Option<Vec<ricevo_core::OfficeId>> = match (grant.role, office) {
            (Role::Admin, None) => None,
            (Role::Admin, Some(o)) => Some(vec![o]),
            (_, None) => Some(grant.offices.clone()),
            (_, Some(o)) if grant.covers_office(o) => Some(vec![o]),
            (_, Some(_)) => Some(Vec::new()),
        };
        Ok(self.store.appointments_between(tenant.id, offices.as_deref(), start, end).await?)
    }
}

/// What every booking of `slot` by the citizen of `details` stores, whichever path made it (the
/// booking page and API, the bot, a waitlist offer): the caller sets the rest (notes, answers,
/// channel, quota, idempotency, chat) with struct update syntax.
#[allow(clippy::too_many_arguments)]
pub(crate) fn new_appointment(
    tenant: &Tenant,
    office: &Office,
    service: &Service,
    desks: u16,
    slot: &Slot,
    details: &BookingDetails,
    token: &str,
    public_id: String,
    now: Timestamp,
) -> NewAppointment {
    NewAppointment {
        tenant_id: tenant.id,
        office_id: office.id,
        service_id: service.id,
        desks,
        public_id,
        token_hash: tokens::hash(token),
        start: slot.start.timestamp(),
        end: slot.end.timestamp(),
        occupied_until: slot.start.timestamp() + service.rules.occupancy(),
        mode: details.mode,
        citizen_name: details.citizen.name.as_str().to_owned(),
        citizen_email: details.citizen.email.as_ref().map(|e| e.as_str().to_owned()).unwrap_or_default(),
        citizen_phone: details.citizen.phone.as_ref().map(|p| p.as_str().to_owned()),
        fiscal_code: details.citizen.fiscal_code.as_ref().map(|c| c.as_str().to_owned()),
        notes: None,
        answers: serde_json::json!({}),
        lang: details.lang,
        booked_via: BookedVia::Page,
        now,
        outbox: Vec::new(),
        idempotency: None,
        citizen_keys: quota::citizen_keys(&details.citizen),
        quota: None,
        telegram_chat_id: None,
        verified_identity: None,
    }
}
