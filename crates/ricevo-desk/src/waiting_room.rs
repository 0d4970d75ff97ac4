//! The waiting room: what a link opens, a booked citizen's arrival within the join window, and
//! what officials do to the queue (admit, hold, refuse, mark as not present, transfer, call the
//! next one). Each action on a queued place reads it, asks the pure state machine
//! (`ricevo_core::lobby`) for the next state, writes it only if nobody changed it meanwhile, and
//! then tells the open pages (all through one private `apply`).
//!
//! An official acts only on what their grant covers: [`Desk::entry_for`] and
//! [`Desk::meeting_for`] check it and hand out a [`Granted`] value, which is what the actions
//! take, so no channel can act on an entry or meeting it did not check.

use std::ops::Deref;

use jiff::{SignedDuration, Timestamp};
use ricevo_core::audit::{Act, Actor, Subject};
use ricevo_core::lobby::{self, Abilities, Entry, EntryKind, EntryStatus, JoinWindow, TransitionError};
use ricevo_core::{EntryId, Lang, MeetingId, Mode, OfficeId};
use ricevo_store::{Appointment, AppointmentStatus, Grant, Meeting, NewEntry, StoreError, Tenant};

use crate::audit::Record;
use crate::{Desk, DeskError, tokens};

/// The service time assumed until an office has finished enough meetings to measure its own.
pub const DEFAULT_SERVICE_MINUTES: i64 = 15;

/// Longest message an official may send to someone waiting.
pub const MAX_MESSAGE_CHARS: usize = 500;

/// Something of a town that a staff grant may act on, as the desk checked it (see
/// [`Desk::entry_for`], [`Desk::meeting_for`]). Only the desk makes one.
#[derive(Debug, Clone)]
pub struct Granted<T> {
    value: T,
    actor: Actor,
}

impl<T> Granted<T> {
    /// The checked value.
    pub fn into_inner(self) -> T {
        self.value
    }

    /// Who was granted it (for the audit log).
    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    // Only the desk's checks grant.
    pub(crate) fn new(value: T, actor: Actor) -> Granted<T> {
        Granted { value, actor }
    }
}

impl<T> Deref for Granted<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

/// Whether `grant` (of its own town) works the desk of `office` in `tenant`.
pub(crate) fn covers(grant: &Grant, tenant: &Tenant, office: OfficeId) -> bool {
    grant.tenant_id == tenant.id && grant.covers_office(office)
}

/// Whether `grant` manages `office` (its settings): an administrator, or a manager of it.
pub fn manages(grant: &Grant, tenant: &Tenant, office: OfficeId) -> bool {
    grant.tenant_id == tenant.id && grant.manages_office(office)
}

/// What a link token opens.
#[derive(Debug)]
pub enum Link {
    /// The citizen's link of a booked appointment.
    Appointment(Tenant, Box<Appointment>),
    /// A walk-in ticket's, an invitee's or the official's link.
    Entry(Tenant, Box<Entry>),
}

/// A link with its place in the waiting room.
#[derive(Debug)]
pub struct Opened {
    /// The town.
    pub tenant: Tenant,
    /// The place.
    pub entry: Entry,
}

/// Why an appointment's link does not open the waiting room now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closed {
    /// Not a video appointment, or cancelled, or the office's decision on it stands.
    NotVideo,
    /// Opens at this instant.
    TooEarly(Timestamp),
    /// The slot is over.
    Over,
}

/// A checked message from the office: one line of at most [`MAX_MESSAGE_CHARS`], `None` when
/// empty; `Invalid` (worded in `lang`) otherwise.
pub fn office_message(raw: Option<&str>, lang: Lang) -> Result<Option<String>, DeskError> {
    let Some(raw) = raw.map(str::trim).filter(|s| !s.is_empty()) else { return Ok(None) };
    ricevo_core::text::single_line(raw, MAX_MESSAGE_CHARS)
        .map(Some)
        .map_err(|e| DeskError::Invalid(e.message(lang).to_owned()))
}

/// What an entry's new status means for its booked appointment: a person marked not present
/// in the waiting room did not attend the appointment either.
fn appointment_outcome(status: EntryStatus) -> Option<AppointmentStatus> {
    match status {
        EntryStatus::NoShow => Some(AppointmentStatus::NoShow),
        _ => None,
    }
}

impl Desk {
    /// What a link token opens (`NotFound` for anything we did not issue).
    pub async fn resolve(&self, token: &str) -> Result<Link, DeskError> {
        if !tokens::looks_like_token(token) {
            return Err(DeskError::NotFound);
        }
        let hash = tokens::hash(token);
        if let Some(a) = self.store.appointment_by_token(&hash).await? {
            let t = self.town_by_id(a.tenant_id).await?;
            return Ok(Link::Appointment(t, Box::new(a)));
        }
        let e = self.store.entry_by_token(&hash).await?.ok_or(DeskError::NotFound)?;
        let t = self.town_by_id(e.tenant_id).await?;
        Ok(Link::Entry(t, Box::new(e)))
    }

    /// The place of a link that has already arrived (`NotFound` before arrival).
    pub async fn open(&self, token: &str) -> Result<Opened, DeskError> {
        match self.resolve(token).await? {
            Link::Entry(tenant, entry) => Ok(Opened { tenant, entry: *entry }),
            Link::Appointment(tenant, a) => {
                let entry = self.store.entry_for_appointment(tenant.id, a.id).await?.ok_or(DeskError::NotFound)?;
                Ok(Opened { tenant, entry })
            }
        }
    }

    /// Whether an appointment's link opens the waiting room now, given the citizen's latest
    /// place: only a video appointment still booked, within its join window, or at any time
    /// for someone already admitted into a meeting that goes on (they come back even after the
    /// slot's end). `None`: it opens.
    pub fn closed(&self, a: &Appointment, existing: Option<&Entry>) -> Option<Closed> {
        if a.mode != Mode::Video || !a.status.is_active() {
            return Some(Closed::NotVideo);
        }
        if existing.is_some_and(|e| e.was_admitted() && e.is_active()) {
            return None;
        }
        let open_before = SignedDuration::from_mins(self.settings.join_open_minutes);
        match lobby::join_window(a.start, a.end, self.now(), open_before) {
            JoinWindow::TooEarly { opens_at } => Some(Closed::TooEarly(opens_at)),
            JoinWindow::Over => Some(Closed::Over),
            JoinWindow::Open => None,
        }
    }

    /// What an appointment's link shows before the citizen arrives, without recording
    /// anything: their latest place if any, or why the waiting room is closed now.
    pub async fn look_in(&self, tenant: &Tenant, a: &Appointment) -> Result<Result<Option<Entry>, Closed>, DeskError> {
        let existing = self.store.entry_for_appointment(tenant.id, a.id).await?;
        Ok(match self.closed(a, existing.as_ref()) {
            Some(why) => Err(why),
            None => Ok(existing),
        })
    }

    /// The waiting-room place of an appointment's citizen: the existing one, or a new arrival
    /// when the join window is open (the office's dashboards hear it).
    pub async fn arrive(&self, tenant: &Tenant, a: &Appointment) -> Result<Result<Entry, Closed>, DeskError> {
        let existing = self.store.entry_for_appointment(tenant.id, a.id).await?;
        if let Some(why) = self.closed(a, existing.as_ref()) {
            return Ok(Err(why));
        }
        if let Some(e) = existing {
            if e.was_admitted() && e.is_active() {
                return Ok(Ok(e));
            }
            if matches!(
                e.status,
                EntryStatus::Refused | EntryStatus::Done | EntryStatus::Removed | EntryStatus::Cancelled
            ) {
                // The office's decision stands: reopening the link does not queue again.
                return Ok(Err(Closed::NotVideo));
            }
        }
        let now = self.now();
        let service = self.store.service(tenant.id, a.service_id).await?.map(|s| s.name).unwrap_or_default();
        let new = NewEntry {
            tenant_id: tenant.id,
            office_id: a.office_id,
            kind: EntryKind::Appointment,
            appointment_id: Some(a.id),
            meeting_id: None,
            name: a.citizen_name.clone(),
            email: None,
            service,
            booked_start: Some(a.start),
            booked_end: Some(a.end),
            abilities: Abilities::citizen(),
            direct: false,
            token_hash: None,
            phone: None,
            telegram_chat_id: None,
        };
        // Returns the queued place, or a new one for someone who gave up the queue earlier.
        let entry = self.store.arrive(&new, now).await?;
        self.office_changed(entry.office_id);
        Ok(Ok(entry))
    }

    /// An office of this town that `grant` works the desk of (`NotFound`, `Forbidden`).
    pub async fn desk_office(
        &self,
        tenant: &Tenant,
        grant: &Grant,
        office: OfficeId,
    ) -> Result<Granted<ricevo_store::Office>, DeskError> {
        let o = self.store.office(tenant.id, office).await?.ok_or(DeskError::NotFound)?;
        if !covers(grant, tenant, o.id) {
            return Err(DeskError::Forbidden);
        }
        Ok(Granted::new(o, grant.actor.clone()))
    }

    /// An office's queue and meetings in service order: queued first, then those admitted.
    pub async fn office_queue(
        &self,
        tenant: &Tenant,
        grant: &Grant,
        office: OfficeId,
    ) -> Result<Vec<Entry>, DeskError> {
        let office = self.desk_office(tenant, grant, office).await?;
        let entries = self.store.office_entries(tenant.id, office.id).await?;
        let mut ordered: Vec<Entry> = lobby::queue_order(&entries).into_iter().cloned().collect();
        ordered.extend(entries.iter().filter(|e| !e.status.is_queued() && e.kind != EntryKind::Official).cloned());
        Ok(ordered)
    }

    /// A place in this town's waiting rooms that `grant` may act on (`NotFound`, `Forbidden`
    /// outside its offices).
    pub async fn entry_for(&self, tenant: &Tenant, grant: &Grant, id: EntryId) -> Result<Granted<Entry>, DeskError> {
        let e = self.store.entry(tenant.id, id).await?.ok_or(DeskError::NotFound)?;
        if !covers(grant, tenant, e.office_id) {
            return Err(DeskError::Forbidden);
        }
        Ok(Granted::new(e, grant.actor.clone()))
    }

    /// Applies an official's transition to an entry: asks the state machine for the next value
    /// (`NotQueued` when the action makes no sense any more), writes it only if the stored
    /// status is still the one read (`Conflict` otherwise), together with what it means for the
    /// appointment in the same transaction, then tells the person's page and the office's
    /// dashboards.
    async fn apply(
        &self,
        entry: Entry,
        transition: impl FnOnce(&Entry, Timestamp) -> Result<Entry, TransitionError>,
    ) -> Result<Entry, DeskError> {
        self.apply_with(entry, transition, Vec::new()).await
    }

    /// [`Desk::apply`] that also queues `outbox` in the transaction of the change.
    async fn apply_with(
        &self,
        entry: Entry,
        transition: impl FnOnce(&Entry, Timestamp) -> Result<Entry, TransitionError>,
        outbox: Vec<ricevo_store::NewOutboxMessage>,
    ) -> Result<Entry, DeskError> {
        let now = self.now();
        let after = transition(&entry, now).map_err(|_| DeskError::NotQueued)?;
        let written = match (after.appointment_id, appointment_outcome(after.status)) {
            (Some(_), Some(outcome)) => {
                self.store.update_entry_closing_appointment(&after, entry.status, outcome, now).await
            }
            // ---- webpush ----
            _ if !outbox.is_empty() => self.store.update_entry_with_outbox(&after, entry.status, &outbox, now).await,
            // ---- end webpush ----
            _ => self.store.update_entry(&after, entry.status).await,
        };
        match written {
            Ok(()) => {}
            Err(StoreError::Stale) => return Err(DeskError::Conflict),
            Err(e) => return Err(e.into()),
        }
        self.entry_changed(after.id);
        self.office_changed(after.office_id);
        Ok(after)
    }

    /// Lets a waiting person in: opens their meeting (or uses the one they were invited to or
    /// removed from, only while it lasts).
    pub async fn admit(&self, entry: Granted<Entry>) -> Result<(Entry, MeetingId), DeskError> {
        let actor = entry.actor().clone();
        let (admitted, meeting) = self.admit_entry(entry.into_inner()).await?;
        self.record_entry(actor, Act::EntryAdmitted, &admitted, String::new()).await;
        Ok((admitted, meeting))
    }

    /// Records an official's act on a place in the audit log.
    async fn record_entry(&self, actor: Actor, act: Act, e: &Entry, detail: String) {
        let record = Record::new(act, Subject::Entry(e.id)).citizen(&e.name).detail(detail);
        self.record_as(e.tenant_id, actor, record).await
    }

    async fn admit_entry(&self, entry: Entry) -> Result<(Entry, MeetingId), DeskError> {
        let now = self.now();
        let meeting = match entry.meeting_id {
            Some(_) if self.open_meeting_of(&entry).await?.is_none() => return Err(DeskError::NotQueued),
            Some(m) => m,
            None => {
                let public_id = tokens::new_public_id();
                let node = Some(self.settings.node());
                self.store
                    .create_meeting(entry.tenant_id, entry.office_id, entry.appointment_id, &public_id, node, now)
                    .await?
                    .id
            }
        };
        // ---- webpush ---- "tocca a te" to the browsers that asked, in the admission's transaction.
        let mut pushes = self.turn_pushes(&entry, now).await;
        // ---- end webpush ----
        // ---- turnnear ---- the ticket now one place from the desk hears its turn is near.
        pushes.extend(self.turn_near_rows(&entry, now).await);
        // ---- end turnnear ----
        let admitted = self.apply_with(entry, |e, _| e.admit(meeting, now), pushes).await?;
        Ok((admitted, meeting))
    }

    /// Asks a waiting person to wait, with a message they see (see [`office_message`]).
    pub async fn hold(&self, entry: Granted<Entry>, message: Option<String>) -> Result<Entry, DeskError> {
        let actor = entry.actor().clone();
        let held = self.apply(entry.into_inner(), |e, now| e.hold(message.unwrap_or_default(), now)).await?;
        self.record_entry(actor, Act::EntryHeld, &held, String::new()).await;
        Ok(held)
    }

    /// Refuses a waiting person, with a message they see (see [`office_message`]).
    pub async fn refuse(&self, entry: Granted<Entry>, message: Option<String>) -> Result<Entry, DeskError> {
        let actor = entry.actor().clone();
        let refused = self.apply(entry.into_inner(), |e, now| e.refuse(message.unwrap_or_default(), now)).await?;
        self.record_entry(actor, Act::EntryRefused, &refused, String::new()).await;
        Ok(refused)
    }

    /// Marks a queued person as not present (they did not answer, or their page is closed):
    /// their wait ends, and a booked appointment becomes a no-show in the same transaction.
    pub async fn no_show(&self, entry: Granted<Entry>) -> Result<Entry, DeskError> {
        let actor = entry.actor().clone();
        let absent = self.apply(entry.into_inner(), Entry::no_show).await?;
        self.record_entry(actor, Act::EntryNoShow, &absent, String::new()).await;
        Ok(absent)
    }

    /// Moves a waiting person to another office of the same town (they keep their arrival
    /// time); both offices' dashboards hear it.
    pub async fn transfer(&self, entry: Granted<Entry>, to: OfficeId) -> Result<Entry, DeskError> {
        let actor = entry.actor().clone();
        let entry = entry.into_inner();
        self.store.office(entry.tenant_id, to).await?.ok_or(DeskError::NotFound)?;
        let from = entry.office_id;
        let moved = self.apply(entry, |e, now| e.transfer(to, now)).await?;
        self.office_changed(from);
        self.record_entry(actor, Act::EntryTransferred, &moved, format!("office {} -> {}", from.0, to.0)).await;
        Ok(moved)
    }

    /// Admits the next person in line of an office: people whose page is open on this node
    /// come first.
    pub async fn call_next(
        &self,
        tenant: &Tenant,
        grant: &Grant,
        office: OfficeId,
    ) -> Result<(Entry, MeetingId), DeskError> {
        let office = self.desk_office(tenant, grant, office).await?;
        let entries = self.store.office_entries(tenant.id, office.id).await?;
        let order = lobby::queue_order(&entries);
        let next = order
            .iter()
            .find(|e| e.status == EntryStatus::Waiting && self.live.is_connected(e.id))
            .or_else(|| order.iter().find(|e| e.status == EntryStatus::Waiting))
            .or_else(|| order.first())
            .map(|e| (*e).clone())
            .ok_or(DeskError::NobodyWaiting)?;
        let (admitted, meeting) = self.admit_entry(next).await?;
        self.record_entry(office.actor().clone(), Act::EntryAdmitted, &admitted, "call next".into()).await;
        Ok((admitted, meeting))
    }

    /// The meeting of an entry, if it has one and it has not ended.
    pub async fn open_meeting_of(&self, e: &Entry) -> Result<Option<Meeting>, DeskError> {
        let Some(id) = e.meeting_id else { return Ok(None) };
        Ok(self.store.meeting(e.tenant_id, id).await?.filter(|m| m.ended_at.is_none()))
    }

    /// The wait estimate for a queued entry now: `(position, minutes)`.
    pub async fn estimate(&self, e: &Entry) -> Result<(Option<usize>, i64), DeskError> {
        let now = self.now();
        let entries = self.store.office_entries(e.tenant_id, e.office_id).await?;
        let position = lobby::position(&entries, e.id);
        let recent = self.store.recent_service_seconds(e.tenant_id, e.office_id, 20).await?;
        let desks =
            self.store.office(e.tenant_id, e.office_id).await?.and_then(|o| u16::try_from(o.desks).ok()).unwrap_or(1);
        let wait = lobby::estimate_entry_wait(e, position.unwrap_or(0), &recent, desks, DEFAULT_SERVICE_MINUTES, now);
        Ok((position, (wait.as_secs().max(0) + 59) / 60))
    }

    /// The person leaves the queue or the meeting on purpose (a place that already ended stays
    /// as it is). `Conflict` when it changed meanwhile.
    pub async fn leave(&self, e: &Entry) -> Result<(), DeskError> {
        let Ok(left) = e.leave(self.now()) else { return Ok(()) };
        match self.store.update_entry(&left, e.status).await {
            Ok(()) => Ok(()),
            Err(StoreError::Stale) => Err(DeskError::Conflict),
            Err(err) => Err(err.into()),
        }
    }
}

/// The office a desk opens on: the one with most people waiting (the first of those on a tie),
/// else the first; `None` without offices.
pub fn busiest_office(counts: &[(ricevo_store::Office, usize)]) -> Option<OfficeId> {
    let most = counts.iter().map(|(_, n)| *n).max()?;
    counts.iter().find(|(_, n)| *n == most).map(|(o, _)| o.id)
}

impl Desk {
    /// The offices of the town whose desk `grant` works, in the town's order, each with how
    /// many people wait in its queue (waiting or held: the queue's rows before "Fai entrare").
    pub async fn desk_offices(
        &self,
        tenant: &Tenant,
        grant: &Grant,
    ) -> Result<Vec<(ricevo_store::Office, usize)>, DeskError> {
        let mut out = Vec::new();
        for office in self.store.offices(tenant.id).await?.into_iter().filter(|o| covers(grant, tenant, o.id)) {
            let entries = self.store.office_entries(tenant.id, office.id).await?;
            let waiting = lobby::queue_order(&entries).len();
            out.push((office, waiting));
        }
        Ok(out)
    }
}
