//! The waitlist's use cases: joining and leaving a service's list, offering freed slots to the
//! next citizens in line, letting lapsed offers pass to the next, confirming (which books
//! through the booking rules and the usual messages) and the staff's view of each list.
//!
//! Every use case that frees seats (cancel, move, an office's hours or desks changed, a closure
//! removed) calls [`Desk::slot_freed`] after its commit. Offers are made by
//! [`Desk::offer_free_slots`]: for each free slot of the service, soonest first, the core's
//! `next_in_line` picks the first waiting citizen by joining time whom it suits; the store
//! holds the slot's seats for them in the same transaction as the offer and its message.
//! Lapsed holds are released by [`Desk::expire_offers`], which the binary runs every few
//! seconds (a loop rather than a lazy check on read: the next citizen in line must be told
//! even when nobody opens a page).

use jiff::{Timestamp, ToSpan};
use ricevo_core::citizen::{BookingInput, check_booking};
use ricevo_core::slots;
use ricevo_core::waitlist::{self, HoldLength, OfferState, Preferences, TimeRange, Waiting, Weekdays};
use ricevo_core::{Lang, OfficeId, ServiceId, quota};
use ricevo_store::{
    AcceptOutcome, BookOutcome, Grant, NewAppointment, NewOutboxMessage, NewWaitlistEntry, NewWaitlistOffer, Service,
    StoreError, Tenant, WaitlistEntry, WaitlistOffer,
};

use crate::booking::BookingReceipt;
use crate::town::{rfc3339, zone_of};
use crate::{Desk, DeskError, tokens};

/// How many lapsed offers one sweep handles.
const SWEEP_BATCH: i64 = 200;

/// How often the sweeper looks for lapsed holds: a held time stays blocked at most this much
/// past its end.
pub const SWEEP_INTERVAL: std::time::Duration = std::time::Duration::from_secs(10);

/// Releases lapsed holds and offers their times to the next in line, every
/// [`SWEEP_INTERVAL`], until `shutdown` turns true. Several nodes may sweep at once: closing an
/// offer is a compare and set, so each lapses once.
pub async fn run_sweeper(desk: Desk, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    loop {
        if *shutdown.borrow_and_update() {
            break;
        }
        match desk.expire_offers().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(lapsed = n, "waitlist holds lapsed and passed on"),
            Err(e) => tracing::warn!(error = %e, "waitlist sweep failed"),
        }
        tokio::select! {
            () = tokio::time::sleep(SWEEP_INTERVAL) => {}
            changed = shutdown.changed() => {
                if changed.is_err() {
                    break;
                }
            }
        }
    }
}

/// What a citizen asks for when joining a service's waitlist, as a channel parsed it.
#[derive(Debug, Clone)]
pub struct JoinRequest {
    /// The service.
    pub service_id: ServiceId,
    /// Name and contact, as typed (checked like a booking's).
    pub input: BookingInput,
    /// Weekday numbers, 1 = Monday.
    pub weekdays: Vec<i8>,
    /// Time ranges `(from, to)` as `HH:MM`; empty: any time.
    pub ranges: Vec<(String, String)>,
    /// The link token of the citizen's current appointment, when they want an earlier time.
    pub earlier_than_token: Option<String>,
}

/// A citizen on a waitlist, as their link opens it.
#[derive(Debug, Clone)]
pub struct WaitlistView {
    /// The entry.
    pub entry: WaitlistEntry,
    /// Its service.
    pub service: Service,
    /// Its office's name.
    pub office_name: String,
    /// The open offer, if any (with its hold still running).
    pub offer: Option<WaitlistOffer>,
    /// Citizens ahead of them in line (waiting, joined earlier).
    pub ahead: usize,
}

/// One service's list for staff, in line order.
#[derive(Debug, Clone)]
pub struct ServiceLine {
    /// The service's id.
    pub service_id: ServiceId,
    /// Its name.
    pub service_name: String,
    /// Its office.
    pub office_id: OfficeId,
    /// Everyone waiting, first in line first, with their latest offer.
    pub waiting: Vec<LineEntry>,
}

/// A waiting citizen as staff see them.
#[derive(Debug, Clone)]
pub struct LineEntry {
    /// Place in line, from 1.
    pub place: usize,
    /// The citizen's name.
    pub citizen_name: String,
    /// When they joined.
    pub joined_at: Timestamp,
    /// The weekdays that suit them (1 = Monday).
    pub weekdays: Vec<i8>,
    /// The hours that suit them (`09:00-12:00`), empty: any.
    pub ranges: Vec<String>,
    /// Offers made to them, oldest first: slot start, state, hold end.
    pub offers: Vec<(Timestamp, OfferState, Timestamp)>,
}

impl Desk {
    /// How long an offer holds its slot on this instance.
    pub fn waitlist_hold(&self) -> HoldLength {
        self.waitlist_hold
    }

    /// The same desk with offers holding their slot for `hold`.
    pub fn with_waitlist_hold(mut self, hold: HoldLength) -> Desk {
        self.waitlist_hold = hold;
        self
    }

    /// Whether the service has any free time within its booking horizon (the booking page
    /// invites to the waitlist when not). A storage failure answers "yes", the quieter guess.
    pub async fn free_time_in_horizon(
        &self,
        tenant: &Tenant,
        service: &Service,
        office: &ricevo_store::Office,
    ) -> bool {
        let zone = zone_of(tenant);
        let today = self.now().to_zoned(zone).date();
        let last = today.checked_add(i64::from(service.rules.horizon_days()).days()).unwrap_or(today);
        match self.slots_between(tenant, service, office, today, last).await {
            Ok(slots) => slots.iter().any(|s| s.available > 0),
            Err(_) => true,
        }
    }

    /// Puts a citizen on a service's waitlist (checked like a booking's contact details, and
    /// their days and hours; `Invalid` worded in `lang`). One waiting entry per citizen and
    /// service: `Duplicate` otherwise. Returns the entry and its link token.
    pub async fn join_waitlist(
        &self,
        tenant: &Tenant,
        req: JoinRequest,
        lang: Lang,
    ) -> Result<(WaitlistEntry, String), DeskError> {
        let now = self.now();
        let ctx = self.service_context(tenant, req.service_id).await?;
        let service = &ctx.service;
        // ---- citizen ---- The waitlist books on its own when a seat frees: a service asking
        // for SPID or CIE has none (its offer would book without a verified identity).
        if self.store.services_requiring_identity(tenant.id).await?.contains(&service.id) {
            return Err(DeskError::IdentityRequired);
        }
        // ---- end citizen ----
        let details = check_booking(&req.input, &service.rules, &[], lang).map_err(DeskError::Fields)?;
        let invalid = |e: waitlist::PreferenceError| DeskError::Invalid(e.message(lang).to_owned());
        let weekdays = Weekdays::parse(&req.weekdays).map_err(invalid)?;
        let ranges = req
            .ranges
            .iter()
            .filter(|(a, b)| !(a.trim().is_empty() && b.trim().is_empty()))
            .map(|(a, b)| TimeRange::parse(a, b))
            .collect::<Result<Vec<_>, _>>()
            .map_err(invalid)?;
        // "Earlier than my appointment": the citizen's own link names it; it must be theirs,
        // of this town and service, and still to come.
        let (earlier_than, replaces) = match req.earlier_than_token.as_deref().filter(|t| !t.is_empty()) {
            Some(token) => {
                let (town, a) = self.appointment_by_token(token).await?;
                if town.id != tenant.id || a.service_id != service.id || !a.status.is_active() || a.start <= now {
                    return Err(DeskError::NotFound);
                }
                (Some(a.start), Some(a.id))
            }
            None => (None, None),
        };
        let preferences = Preferences::new(weekdays, ranges, earlier_than).map_err(invalid)?;
        let token = tokens::new_token();
        let new = NewWaitlistEntry {
            tenant_id: tenant.id,
            office_id: ctx.office.id,
            service_id: service.id,
            citizen_name: details.citizen.name.as_str().to_owned(),
            citizen_email: details.citizen.email.as_ref().map(|e| e.as_str().to_owned()).unwrap_or_default(),
            citizen_phone: details.citizen.phone.as_ref().map(|p| p.as_str().to_owned()),
            fiscal_code: details.citizen.fiscal_code.as_ref().map(|c| c.as_str().to_owned()),
            telegram_chat_id: None,
            mode: details.mode,
            lang: details.lang,
            preferences,
            replaces,
            citizen_keys: quota::citizen_keys(&details.citizen),
            token_hash: tokens::hash(&token),
            now,
        };
        let entry = self.store.join_waitlist(&new).await?;
        tracing::info!(tenant = %tenant.slug, service = %service.id, entry = entry.id, "joined the waitlist");
        // A slot that suits them may be free already (an earlier time, say).
        self.offer_free_slots_logged(tenant, service.id).await;
        Ok((entry, token))
    }

    /// What a waitlist link opens: the entry, its service, its open offer and its place.
    pub async fn waitlist_by_token(&self, tenant: &Tenant, token: &str) -> Result<WaitlistView, DeskError> {
        if !tokens::looks_like_token(token) {
            return Err(DeskError::NotFound);
        }
        let entry = self.store.waitlist_entry_by_token(&tokens::hash(token)).await?.ok_or(DeskError::NotFound)?;
        // A link of another town opens nothing here.
        if entry.tenant_id != tenant.id {
            return Err(DeskError::NotFound);
        }
        let service = self.store.service(tenant.id, entry.service_id).await?.ok_or(DeskError::NotFound)?;
        let office_name = self.store.office(tenant.id, entry.office_id).await?.map(|o| o.name).unwrap_or_default();
        let now = self.now();
        let offer = self
            .store
            .waitlist_offers(tenant.id, None, Some(entry.id))
            .await?
            .into_iter()
            .find(|o| o.state == OfferState::Offered && o.expires_at > now);
        let line = self.store.waitlist(tenant.id, Some(entry.service_id), true).await?;
        let ahead = line.iter().take_while(|e| e.id != entry.id).count();
        Ok(WaitlistView { entry, service, office_name, offer, ahead })
    }

    /// The citizen leaves the list from their link (declining an open offer, whose slot
    /// passes to the next in line).
    pub async fn leave_waitlist(&self, tenant: &Tenant, token: &str) -> Result<(), DeskError> {
        let view = self.waitlist_by_token(tenant, token).await?;
        match self.store.leave_waitlist(tenant.id, view.entry.id, self.now()).await {
            Ok(()) => {}
            Err(StoreError::Stale) => return Err(DeskError::NotActive),
            Err(e) => return Err(e.into()),
        }
        self.offer_free_slots_logged(tenant, view.entry.service_id).await;
        Ok(())
    }

    /// The citizen declines the offer on their link: the hold ends and the slot passes on; they
    /// stay in line for other times.
    pub async fn decline_offer(&self, tenant: &Tenant, token: &str) -> Result<(), DeskError> {
        let view = self.waitlist_by_token(tenant, token).await?;
        let offer = view.offer.ok_or(DeskError::NotActive)?;
        if !self.store.close_waitlist_offer(tenant.id, offer.id, OfferState::Declined, self.now()).await? {
            return Err(DeskError::NotActive);
        }
        self.offer_free_slots_logged(tenant, view.entry.service_id).await;
        Ok(())
    }

    /// The citizen confirms the offer on their link: books the held slot through the booking
    /// rules (the slot check, the citizen's quota, the confirmation and reminder messages) in
    /// the transaction that accepts the offer. Of many confirmations racing, one books; the
    /// others get `NotActive`. An appointment the entry replaces is then cancelled.
    pub async fn confirm_offer(&self, tenant: &Tenant, token: &str) -> Result<(BookingReceipt, String), DeskError> {
        let now = self.now();
        let view = self.waitlist_by_token(tenant, token).await?;
        let offer = view.offer.ok_or(DeskError::NotActive)?;
        let entry = &view.entry;
        let ctx = self.service_context(tenant, entry.service_id).await?;
        let (service, office, facts) = (&ctx.service, &ctx.office, &ctx.facts);
        // The same checks as a booking's: the contact details, and the slot's rules (notice,
        // horizon, hours) with only the seats of others counted: the hold is this offer's.
        let input = BookingInput {
            name: entry.citizen_name.clone(),
            email: entry.citizen_email.clone(),
            phone: entry.citizen_phone.clone(),
            fiscal_code: entry.fiscal_code.clone(),
            mode: entry.mode.as_str().to_owned(),
            notes: None,
            answers: Default::default(),
            privacy_accepted: true,
            lang: entry.lang,
        };
        let details = check_booking(&input, &service.rules, &[], entry.lang).map_err(DeskError::Fields)?;
        let q = facts.slot_query(
            &service.rules,
            &[],
            now,
            offer.start.to_zoned(facts.zone.clone()).date(),
            offer.start.to_zoned(facts.zone.clone()).date(),
        );
        let slot = slots::check_start(&q, offer.start)
            .map_err(|reason| DeskError::Unavailable { reason, alternatives: Vec::new() })?;
        let max_active = self.settings.max_active_per_citizen;
        for _ in 0..8 {
            let token = tokens::new_token();
            let public_id = tokens::new_reference();
            let links = self.links(&token, details.mode);
            let mut new = NewAppointment {
                telegram_chat_id: entry.telegram_chat_id,
                verified_identity: None,
                // The appointment this one replaces is still active until it is cancelled
                // below: it does not count against the citizen's quota.
                quota: (max_active > 0 && entry.replaces.is_none()).then(|| quota::CitizenQuota::new(max_active)),
                ..crate::booking::new_appointment(
                    tenant,
                    office,
                    service,
                    facts.hours.desks(),
                    &slot,
                    &details,
                    &token,
                    public_id.clone(),
                    now,
                )
            };
            let to_be = new.appointment(ricevo_core::AppointmentId(0));
            new.outbox = self
                .announcements(tenant, office, service, &to_be, &links, crate::messages::Change::Created, now)
                .await?;
            match self.store.accept_waitlist_offer(tenant.id, offer.id, &new).await? {
                AcceptOutcome::Booked(a) => {
                    self.counters.booking_committed();
                    tracing::info!(tenant = %tenant.slug, appointment = %a.public_id, "booked from the waitlist");
                    if let Some(old) = entry.replaces
                        && let Some(old) = self.store.appointment(tenant.id, old).await?
                        && old.status.is_active()
                        && let Err(e) = self.cancel(tenant, &old).await
                    {
                        tracing::warn!(error = %e, "the appointment an offer replaced could not be cancelled");
                    }
                    let receipt = BookingReceipt {
                        id: public_id,
                        status: "booked".into(),
                        start: rfc3339(&slot.start),
                        end: rfc3339(&slot.end),
                        manage_url: links.manage.clone(),
                        join_url: links.join.clone(),
                        ics_url: links.ics.clone(),
                    };
                    return Ok((receipt, token));
                }
                AcceptOutcome::Decided(_) | AcceptOutcome::Lapsed => return Err(DeskError::NotActive),
                AcceptOutcome::Refused(BookOutcome::IdTaken) => continue,
                AcceptOutcome::Refused(BookOutcome::QuotaReached(q)) => return Err(DeskError::CitizenLimit(q.max())),
                AcceptOutcome::Refused(_) => {
                    return Err(DeskError::Unavailable { reason: slots::SlotRefusal::Full, alternatives: Vec::new() });
                }
            }
        }
        Err(DeskError::Internal("no free reference code after several draws".into()))
    }

    /// Seats of `office` were freed (a cancellation, a move, more desks or hours, a closure
    /// removed): its services' waitlists are offered the free slots. Never fails the caller's
    /// use case: a failure is logged, and the next sweep tries again.
    pub async fn slot_freed(&self, tenant: &Tenant, office: OfficeId) {
        let services = match self.store.services(tenant.id).await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "waitlist: could not read the services");
                return;
            }
        };
        for s in services.into_iter().filter(|s| s.office_id == office && s.active) {
            self.offer_free_slots_logged(tenant, s.id).await;
        }
    }

    async fn offer_free_slots_logged(&self, tenant: &Tenant, service: ServiceId) {
        if let Err(e) = self.offer_free_slots(tenant, service).await {
            tracing::warn!(error = %e, tenant = %tenant.slug, service = %service, "waitlist: offering failed");
        }
    }

    /// Offers the service's free slots, soonest first, each to the first waiting citizen (by
    /// joining time) whom it suits, who holds no open offer and did not already let that slot
    /// go; returns how many offers were made.
    pub async fn offer_free_slots(&self, tenant: &Tenant, service_id: ServiceId) -> Result<usize, DeskError> {
        let now = self.now();
        let entries = self.store.waitlist(tenant.id, Some(service_id), true).await?;
        if entries.is_empty() {
            return Ok(0);
        }
        let offers = self.store.waitlist_offers(tenant.id, Some(service_id), None).await?;
        let mut line: Vec<Waiting> = entries
            .iter()
            .map(|e| Waiting {
                id: e.id,
                joined_at: e.created_at,
                preferences: e.preferences.clone(),
                holds_offer: offers.iter().any(|o| o.entry_id == e.id && o.state == OfferState::Offered),
            })
            .collect();
        let ctx = self.service_context(tenant, service_id).await?;
        let (service, office, facts) = (&ctx.service, &ctx.office, &ctx.facts);
        let today = now.to_zoned(facts.zone.clone()).date();
        let last = today.checked_add(i64::from(service.rules.horizon_days()).days()).unwrap_or(today);
        let free = self.slots_between(tenant, service, office, today, last).await?;
        let mut made = 0;
        for slot in free.into_iter().filter(|s| s.available > 0) {
            if line.iter().all(|w| w.holds_offer) {
                break;
            }
            let start = slot.start.timestamp();
            let passed: Vec<i64> = offers
                .iter()
                .filter(|o| o.start == start && matches!(o.state, OfferState::Declined | OfferState::Expired))
                .map(|o| o.entry_id)
                .collect();
            for _ in 0..slot.available {
                let Some(next) = waitlist::next_in_line(&line, &slot.start, &passed).map(|w| w.id) else {
                    break;
                };
                let Some(entry) = entries.iter().find(|e| e.id == next) else { break };
                if let Some(w) = line.iter_mut().find(|w| w.id == next) {
                    w.holds_offer = true;
                }
                let expires_at = self.waitlist_hold.expires_at(now);
                // The offer's own link, which lives only in its message (the store keeps its hash).
                let token = tokens::new_token();
                let link = self.waitlist_link(tenant, &token);
                let outbox = self
                    .offer_messages(tenant, entry, service, &office.name, &slot.start, expires_at, &link, now)
                    .await?;
                let new = NewWaitlistOffer {
                    tenant_id: tenant.id,
                    entry_id: entry.id,
                    office_id: office.id,
                    service_id: service.id,
                    desks: facts.hours.desks(),
                    start,
                    end: slot.end.timestamp(),
                    occupied_until: start + service.rules.occupancy(),
                    expires_at,
                    token_hash: tokens::hash(&token),
                    outbox,
                    now,
                };
                if self.store.offer_waitlist_slot(&new).await?.is_some() {
                    made += 1;
                    tracing::info!(tenant = %tenant.slug, entry = entry.id, "waitlist offer made");
                } else {
                    break;
                }
            }
        }
        Ok(made)
    }

    /// Ends every offer whose hold lapsed, releasing its seats, and offers the slots again to
    /// the next in line; returns how many lapsed. The binary calls it every few seconds.
    pub async fn expire_offers(&self) -> Result<usize, DeskError> {
        let now = self.now();
        let lapsed = self.store.lapsed_waitlist_offers(now, SWEEP_BATCH).await?;
        let mut done = 0;
        let mut services: Vec<(ricevo_core::TenantId, ServiceId)> = Vec::new();
        for o in &lapsed {
            if self.store.close_waitlist_offer(o.tenant_id, o.id, OfferState::Expired, now).await? {
                done += 1;
                if !services.contains(&(o.tenant_id, o.service_id)) {
                    services.push((o.tenant_id, o.service_id));
                }
            }
        }
        for (tenant_id, service) in services {
            let Ok(tenant) = self.town_by_id(tenant_id).await else { continue };
            self.offer_free_slots_logged(&tenant, service).await;
        }
        Ok(done)
    }

    /// Each service's waitlist in line order with the offers made, for staff: an
    /// administrator sees every office's, anyone else their own offices'.
    pub async fn waitlists_for_staff(&self, tenant: &Tenant, grant: &Grant) -> Result<Vec<ServiceLine>, DeskError> {
        let services = self.store.services(tenant.id).await?;
        let entries = self.store.waitlist(tenant.id, None, true).await?;
        let offers = self.store.waitlist_offers(tenant.id, None, None).await?;
        let mut lines = Vec::new();
        for s in services.into_iter().filter(|s| grant.covers_office(s.office_id)) {
            let waiting: Vec<LineEntry> = entries
                .iter()
                .filter(|e| e.service_id == s.id)
                .enumerate()
                .map(|(i, e)| LineEntry {
                    place: i + 1,
                    citizen_name: e.citizen_name.clone(),
                    joined_at: e.created_at,
                    weekdays: e.preferences.weekdays.numbers(),
                    ranges: e.preferences.ranges.iter().map(|r| r.label()).collect(),
                    offers: offers
                        .iter()
                        .filter(|o| o.entry_id == e.id)
                        .map(|o| (o.start, o.state, o.expires_at))
                        .collect(),
                })
                .collect();
            lines.push(ServiceLine { service_id: s.id, service_name: s.name.clone(), office_id: s.office_id, waiting });
        }
        Ok(lines)
    }

    // The message offering the slot, in the citizen's language, with the link that confirms.
    #[allow(clippy::too_many_arguments)]
    async fn offer_messages(
        &self,
        tenant: &Tenant,
        entry: &WaitlistEntry,
        service: &Service,
        office_name: &str,
        start: &jiff::Zoned,
        expires_at: Timestamp,
        link: &str,
        now: Timestamp,
    ) -> Result<Vec<NewOutboxMessage>, DeskError> {
        // Through the citizen's channel (e-mail, App IO, SMS or Telegram, in the town's order),
        // once per offer.
        let _ = (office_name, expires_at);
        let reach = ricevo_core::channel::Reach::of(
            &entry.citizen_email,
            entry.citizen_phone.as_deref(),
            entry.fiscal_code.as_deref(),
            entry.telegram_chat_id,
        );
        let message = ricevo_notify::CitizenMessage::waitlist_offer(
            entry.lang,
            &tenant.name,
            &service.name,
            start,
            link,
            u32::from(self.waitlist_hold.as_minutes()),
        );
        let key = format!("waitlist-offer:{}:{}:{}", entry.id, start.timestamp().as_second(), now.as_second());
        self.citizen_message_rows(tenant, &reach, &message, &key, now).await
    }

    /// The address of a waitlist link token's page.
    pub fn waitlist_link(&self, tenant: &Tenant, token: &str) -> String {
        format!("{}/{}/lista-attesa/{token}", self.settings.public_url.trim_end_matches('/'), tenant.slug)
    }
}
