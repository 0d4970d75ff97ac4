//! The stored rows of the waiting room, meetings, shared documents and walk-in desks, and how
//! they become domain values. The statements that read and write them live in `impl_store!`.

use jiff::civil::{Time, Weekday};
use ricevo_core::hours::{OpeningHours, WeeklyRange};
use ricevo_core::lobby::{Abilities, Entry, EntryKind, EntryStatus, WalkInDesk};
use ricevo_core::{AppointmentId, DocumentId, EntryId, MeetingId, OfficeId, TenantId};

use crate::sql::instant;
use crate::{ChatLine, DocumentMeta, Meeting, Result, StoreError};

/// Columns of `entries` in the order [`entry_from`] reads them.
pub(crate) const ENTRY_COLUMNS: &str = "id, tenant_id, office_id, kind, appointment_id, ticket_number, meeting_id, name, \
     service, booked_start, booked_end, abilities, direct, status, message, arrived_at, admitted_at, joined_at, ended_at, \
     muted";

/// The SQL condition of the place an appointment's citizen holds: an active entry, or one
/// removed from its meeting (only an official can let it back in: arriving again returns it
/// rather than queueing anew, and a cancellation ends it like an active one).
pub(crate) const HELD_PLACE: &str = "(status IN ('waiting', 'held', 'admitted', 'in_meeting', 'removed') \
     OR (status = 'left' AND admitted_at IS NOT NULL AND meeting_id IS NOT NULL))";

/// The SQL condition of an active entry (see `Entry::is_active`): queued, admitted, in the
/// meeting, or left a meeting it may rejoin. The partial unique index
/// `entries_one_active_per_appointment` uses the same condition.
pub(crate) const ACTIVE_ENTRY: &str = "(status IN ('waiting', 'held', 'admitted', 'in_meeting') \
     OR (status = 'left' AND admitted_at IS NOT NULL AND meeting_id IS NOT NULL))";

/// The raw columns of an entry row.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct EntryRow {
    id: i64,
    tenant_id: i64,
    office_id: i64,
    kind: String,
    appointment_id: Option<i64>,
    ticket_number: Option<i32>,
    meeting_id: Option<i64>,
    name: String,
    service: String,
    booked_start: Option<i64>,
    booked_end: Option<i64>,
    abilities: String,
    direct: i32,
    status: String,
    message: Option<String>,
    arrived_at: i64,
    admitted_at: Option<i64>,
    joined_at: Option<i64>,
    ended_at: Option<i64>,
    muted: i32,
}

fn maybe_instant(secs: Option<i64>) -> Result<Option<jiff::Timestamp>> {
    secs.map(instant).transpose()
}

/// Builds an entry from its columns.
pub(crate) fn entry_from(r: EntryRow) -> Result<Entry> {
    Ok(Entry {
        id: EntryId(r.id),
        tenant_id: TenantId(r.tenant_id),
        office_id: OfficeId(r.office_id),
        kind: EntryKind::parse(&r.kind).ok_or_else(|| StoreError::Corrupt(format!("entry kind {}", r.kind)))?,
        appointment_id: r.appointment_id.map(AppointmentId),
        ticket_number: r.ticket_number,
        meeting_id: r.meeting_id.map(MeetingId),
        name: r.name,
        service: r.service,
        booked_start: maybe_instant(r.booked_start)?,
        booked_end: maybe_instant(r.booked_end)?,
        abilities: Abilities::parse(&r.abilities),
        direct: r.direct != 0,
        status: EntryStatus::parse(&r.status)
            .ok_or_else(|| StoreError::Corrupt(format!("entry status {}", r.status)))?,
        message: r.message,
        arrived_at: instant(r.arrived_at)?,
        admitted_at: maybe_instant(r.admitted_at)?,
        joined_at: maybe_instant(r.joined_at)?,
        ended_at: maybe_instant(r.ended_at)?,
        muted: r.muted != 0,
    })
}

/// Columns of `meetings` in the order [`meeting_from`] reads them.
pub(crate) const MEETING_COLUMNS: &str =
    "id, tenant_id, office_id, public_id, appointment_id, started_at, ended_at, node";

/// The raw columns of a meeting row.
pub(crate) type MeetingTuple = (i64, i64, i64, String, Option<i64>, i64, Option<i64>, Option<String>);

/// Builds a meeting from its columns.
pub(crate) fn meeting_from(t: MeetingTuple) -> Result<Meeting> {
    let (id, tenant, office, public_id, appointment, started_at, ended_at, node) = t;
    Ok(Meeting {
        id: MeetingId(id),
        tenant_id: TenantId(tenant),
        office_id: OfficeId(office),
        public_id,
        appointment_id: appointment.map(AppointmentId),
        started_at: instant(started_at)?,
        ended_at: maybe_instant(ended_at)?,
        node,
    })
}

/// Columns of `documents` (without the body) in the order [`document_from`] reads them.
pub(crate) const DOCUMENT_COLUMNS: &str = "id, meeting_id, entry_id, name, content_type, size, created_at";

/// The raw columns of a document row, without the body.
pub(crate) type DocumentTuple = (i64, i64, i64, String, String, i64, i64);

/// Builds a document's description from its columns.
pub(crate) fn document_from(t: DocumentTuple) -> Result<DocumentMeta> {
    let (id, meeting, entry, name, content_type, size, created_at) = t;
    Ok(DocumentMeta {
        id: DocumentId(id),
        meeting_id: MeetingId(meeting),
        entry_id: EntryId(entry),
        name,
        content_type,
        size,
        created_at: instant(created_at)?,
    })
}

/// Columns of `chat_lines` in the order [`chat_line_from`] reads them.
pub(crate) const CHAT_COLUMNS: &str = "id, meeting_id, entry_id, name, text, created_at";

/// The raw columns of a chat line.
pub(crate) type ChatTuple = (i64, i64, i64, String, String, i64);

/// Builds a chat line from its columns.
pub(crate) fn chat_line_from(t: ChatTuple) -> Result<ChatLine> {
    let (id, meeting, entry, name, text, created_at) = t;
    Ok(ChatLine {
        id,
        meeting_id: MeetingId(meeting),
        entry_id: EntryId(entry),
        name,
        text,
        created_at: instant(created_at)?,
    })
}

/// Builds a walk-in desk from the office's flags and its stored ranges (weekday 1-7, minutes).
pub(crate) fn walk_in_from(always_open: i32, desks: i32, ranges: &[(i32, i32, i32)]) -> Result<WalkInDesk> {
    let corrupt = |what: String| StoreError::Corrupt(format!("walk-in desk: {what}"));
    let time = |minute: i32| {
        let (h, m) = (i8::try_from(minute / 60).ok(), i8::try_from(minute % 60).ok());
        h.zip(m).and_then(|(h, m)| Time::new(h, m, 0, 0).ok()).ok_or_else(|| corrupt(format!("minute {minute}")))
    };
    let mut weekly = Vec::with_capacity(ranges.len());
    for &(weekday, start, end) in ranges {
        let day = i8::try_from(weekday)
            .ok()
            .and_then(|d| Weekday::from_monday_one_offset(d).ok())
            .ok_or_else(|| corrupt(format!("weekday {weekday}")))?;
        weekly.push(WeeklyRange::new(day, time(start)?, time(end)?).map_err(|e| corrupt(e.to_string()))?);
    }
    let desks = u16::try_from(desks).map_err(|_| corrupt(format!("desks {desks}")))?;
    let hours = OpeningHours::new(weekly, desks).map_err(|e| corrupt(e.to_string()))?;
    Ok(WalkInDesk { always_open: always_open != 0, hours })
}
