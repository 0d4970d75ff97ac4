//! The records the store reads and writes.

use jiff::Timestamp;
use ricevo_core::audit::{Act, Actor, Subject};
use ricevo_core::lobby::{Abilities, EntryKind};
use ricevo_core::quota::CitizenQuota;
use ricevo_core::service::{IntakeQuestion, ServiceRules};
use ricevo_core::{AppointmentId, DocumentId, EntryId, Lang, MeetingId, Mode, OfficeId, ServiceId, TenantId, UserId};
use serde::{Deserialize, Serialize};

/// A town served by this instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Tenant {
    /// Its id.
    pub id: TenantId,
    /// The short name in URLs.
    pub slug: String,
    /// The full name, such as "Comune di Esempio".
    pub name: String,
    /// IANA zone, such as `Europe/Rome`.
    pub time_zone: String,
    /// The patron saint's day as `MM-DD`.
    pub patron_day: Option<String>,
    /// Where citizens can write.
    pub contact_email: String,
    /// The privacy notice citizens accept when booking.
    pub privacy_notice: String,
    /// Personal data of appointments older than this is anonymised.
    pub retention_days: i32,
    // --- Town settings (staff accounts and settings topic, migration 0008). Text left empty
    // means "not given"; the settings page validates every value before it is stored.
    /// The town's website (an `https://` or `http://` address), empty if not given.
    pub website: String,
    /// The town hall's postal address.
    pub address: String,
    /// The town's certified e-mail (PEC), empty if not given.
    pub pec: String,
    /// The languages citizens are offered, Italian first; never empty.
    pub languages: Vec<Lang>,
    /// Whether an emblem was uploaded (served from our own origin at `/{slug}/emblem`).
    pub emblem: bool,
    /// Privacy notice: the data controller (usually "Comune di ..." with its address).
    pub privacy_controller: String,
    /// Privacy notice: how to reach the data protection officer (DPO).
    pub privacy_dpo_contact: String,
    /// Privacy notice: the legal basis of the processing (public interest, art. 6.1.e GDPR).
    pub privacy_legal_basis: String,
    /// The accessibility statement's address (AgID form), empty if given as text instead.
    pub accessibility_statement_url: String,
    /// The accessibility statement as text, when the town has no published address for it.
    pub accessibility_statement_text: String,
    /// Suspended by the instance administrator: its pages, staff sign-in and API answer
    /// "service suspended" and no booking is accepted; nothing is deleted.
    pub disabled: bool,
    // ---- webpush ----
    /// Whether citizens in its waiting rooms may ask for a push notification when it is their
    /// turn (off by default; the town's administrator turns it on).
    pub web_push: bool,
    // ---- end webpush ----
}

/// The settings a town's administrators change on the settings page (staff accounts and
/// settings topic); the slug, the emblem and suspension are changed elsewhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantSettings {
    /// The full name.
    pub name: String,
    /// IANA zone.
    pub time_zone: String,
    /// The patron saint's day as `MM-DD`.
    pub patron_day: Option<String>,
    /// Contact e-mail.
    pub contact_email: String,
    /// Retention of personal data, in days.
    pub retention_days: i32,
    /// Website, empty if none.
    pub website: String,
    /// Postal address.
    pub address: String,
    /// PEC, empty if none.
    pub pec: String,
    /// Languages offered (at least one).
    pub languages: Vec<Lang>,
    /// Data controller.
    pub privacy_controller: String,
    /// DPO contact.
    pub privacy_dpo_contact: String,
    /// Legal basis.
    pub privacy_legal_basis: String,
    /// Accessibility statement address.
    pub accessibility_statement_url: String,
    /// Accessibility statement text.
    pub accessibility_statement_text: String,
}

impl TenantSettings {
    /// The settings a town has now, to edit.
    pub fn of(t: &Tenant) -> TenantSettings {
        TenantSettings {
            name: t.name.clone(),
            time_zone: t.time_zone.clone(),
            patron_day: t.patron_day.clone(),
            contact_email: t.contact_email.clone(),
            retention_days: t.retention_days,
            website: t.website.clone(),
            address: t.address.clone(),
            pec: t.pec.clone(),
            languages: t.languages.clone(),
            privacy_controller: t.privacy_controller.clone(),
            privacy_dpo_contact: t.privacy_dpo_contact.clone(),
            privacy_legal_basis: t.privacy_legal_basis.clone(),
            accessibility_statement_url: t.accessibility_statement_url.clone(),
            accessibility_statement_text: t.accessibility_statement_text.clone(),
        }
    }
}

/// The stored spelling of a list of languages: `it,en`.
pub fn languages_to_db(langs: &[Lang]) -> String {
    langs.iter().map(|l| l.code()).collect::<Vec<_>>().join(",")
}

/// Reads the stored spelling of a list of languages; Italian when nothing known is listed.
pub fn languages_from_db(s: &str) -> Vec<Lang> {
    let mut out: Vec<Lang> = Vec::new();
    for l in s.split(',').filter_map(Lang::parse) {
        if !out.contains(&l) {
            out.push(l);
        }
    }
    if out.is_empty() {
        out.push(Lang::It);
    }
    out
}

/// What is needed to create or update a tenant.
#[derive(Debug, Clone, Deserialize)]
pub struct NewTenant {
    /// The short name in URLs.
    pub slug: String,
    /// The full name.
    pub name: String,
    /// IANA zone.
    pub time_zone: String,
    /// The patron saint's day as `MM-DD`.
    pub patron_day: Option<String>,
    /// Contact e-mail.
    pub contact_email: String,
    /// Privacy notice.
    pub privacy_notice: String,
    /// Retention of personal data, in days.
    pub retention_days: i32,
}

/// An office of a town.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Office {
    /// Its id.
    pub id: OfficeId,
    /// Its town.
    pub tenant_id: TenantId,
    /// Name, such as "Anagrafe".
    pub name: String,
    /// What it does.
    pub description: String,
    /// Street address for in-person visits.
    pub address: String,
    /// Contact e-mail.
    pub contact_email: String,
    /// Citizens served at the same time.
    pub desks: i32,
}

/// What is needed to create or update an office.
#[derive(Debug, Clone, Deserialize)]
pub struct NewOffice {
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Address.
    pub address: String,
    /// Contact e-mail.
    pub contact_email: String,
}

/// A weekly opening range as stored: weekday 1 (Monday) to 7, minutes since midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RangeRow {
    /// 1 = Monday ... 7 = Sunday.
    pub weekday: i32,
    /// Opening minute of the day.
    pub start_minute: i32,
    /// Closing minute of the day.
    pub end_minute: i32,
}

/// A closure as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClosureRow {
    /// Its id.
    pub id: i64,
    /// First closed day, `YYYY-MM-DD`.
    pub first_day: String,
    /// Last closed day, inclusive.
    pub last_day: String,
    /// Why.
    pub reason: String,
}

/// A service an office offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Service {
    /// Its id.
    pub id: ServiceId,
    /// Its town.
    pub tenant_id: TenantId,
    /// The office that provides it.
    pub office_id: OfficeId,
    /// Name, such as "Carta d'identità elettronica".
    pub name: String,
    /// Description.
    pub description: String,
    /// Duration, buffer, modes, notice and horizon.
    pub rules: ServiceRules,
    /// What to bring.
    pub what_to_bring: String,
    /// Questions asked when booking.
    pub questions: Vec<IntakeQuestion>,
    /// Whether citizens can book it.
    pub active: bool,
}

/// What is needed to create or update a service.
#[derive(Debug, Clone)]
pub struct NewService {
    /// The office.
    pub office_id: OfficeId,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Rules.
    pub rules: ServiceRules,
    /// What to bring.
    pub what_to_bring: String,
    /// Questions.
    pub questions: Vec<IntakeQuestion>,
    /// Whether citizens can book it.
    pub active: bool,
}

pub use ricevo_core::appointment::AppointmentStatus;

/// A booked appointment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Appointment {
    /// Internal id.
    pub id: AppointmentId,
    /// Random public id, used in the API and calendar UIDs.
    pub public_id: String,
    /// Its town.
    pub tenant_id: TenantId,
    /// Its office.
    pub office_id: OfficeId,
    /// Its service.
    pub service_id: ServiceId,
    /// Where it stands.
    pub status: AppointmentStatus,
    /// Start of the meeting.
    pub start: Timestamp,
    /// End of the meeting.
    pub end: Timestamp,
    /// End of desk occupancy (meeting plus buffer).
    pub occupied_until: Timestamp,
    /// How they meet.
    pub mode: Mode,
    /// Citizen's name (empty once anonymised).
    pub citizen_name: String,
    /// Citizen's e-mail (empty once anonymised).
    /// The citizen's e-mail; empty for a citizen who gave only a phone number.
    pub citizen_email: String,
    /// Citizen's phone.
    pub citizen_phone: Option<String>,
    /// Citizen's codice fiscale.
    pub fiscal_code: Option<String>,
    /// Notes for the office.
    pub notes: Option<String>,
    /// Answers to intake questions (JSON object).
    pub answers: serde_json::Value,
    /// Language for e-mails.
    pub lang: Lang,
    /// Calendar sequence: raised at each change so invites update.
    pub sequence: i32,
    /// When it was booked.
    pub created_at: Timestamp,
    /// The Telegram chat of a citizen who booked through the town's bot.
    pub telegram_chat_id: Option<i64>,
}

/// A message to deliver, written in the same transaction as the change it announces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOutboxMessage {
    /// `email` or `webhook`.
    pub kind: String,
    /// Unique per event and recipient: a second insert with the same key is ignored.
    pub dedupe_key: String,
    /// The rendered message (JSON).
    pub payload: String,
    /// Not before this instant (reminders are scheduled).
    pub due_at: Timestamp,
    /// Dropped if the appointment is cancelled or moved before it is sent (reminders).
    pub retractable: bool,
}

/// A message waiting for delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxMessage {
    /// Its id.
    pub id: i64,
    /// Its town.
    pub tenant_id: TenantId,
    /// `email` or `webhook`.
    pub kind: String,
    /// Unique per event and recipient.
    pub dedupe_key: String,
    /// The rendered message (JSON).
    pub payload: String,
    /// Delivery attempts so far.
    pub attempts: i32,
}

/// A request to book, with everything to write in its transaction.
#[derive(Debug, Clone)]
pub struct NewAppointment {
    /// Town.
    pub tenant_id: TenantId,
    /// Office whose desks it takes.
    pub office_id: OfficeId,
    /// Service.
    pub service_id: ServiceId,
    /// Desks of the office (capacity).
    pub desks: u16,
    /// Random public id.
    pub public_id: String,
    /// Hash of the citizen's link token.
    pub token_hash: String,
    /// Start.
    pub start: Timestamp,
    /// End of the meeting.
    pub end: Timestamp,
    /// End of desk occupancy.
    pub occupied_until: Timestamp,
    /// Mode.
    pub mode: Mode,
    /// Citizen's name.
    pub citizen_name: String,
    /// Citizen's e-mail.
    /// The citizen's e-mail; empty for a citizen who gave only a phone number.
    pub citizen_email: String,
    /// Citizen's phone.
    pub citizen_phone: Option<String>,
    /// Codice fiscale.
    pub fiscal_code: Option<String>,
    /// Notes.
    pub notes: Option<String>,
    /// Answers (JSON object).
    pub answers: serde_json::Value,
    /// Language.
    pub lang: Lang,
    /// Through which channel it is booked (reports count bookings by channel).
    pub booked_via: ricevo_core::report::BookedVia,
    /// Now.
    pub now: Timestamp,
    /// Messages announcing the booking.
    pub outbox: Vec<NewOutboxMessage>,
    /// The client's idempotency key with the request's hash and the response to replay.
    pub idempotency: Option<IdempotencyRecord>,
    /// The normalised keys the citizen is recognised by (`ricevo_core::quota::citizen_keys`),
    /// stored with the appointment so later bookings can count it.
    pub citizen_keys: Vec<String>,
    /// At most this many active appointments of one citizen (any of their keys) for the
    /// service, counted in the booking's transaction; `None`: no limit.
    pub quota: Option<CitizenQuota>,
    /// The Telegram chat of a citizen who booked through the town's bot (messages go there too).
    pub telegram_chat_id: Option<i64>,
    /// How the citizen's identity was verified (`spid`, `cie`) when they booked signed in:
    /// recorded in the booking's own transaction, so a booking is never left without it.
    pub verified_identity: Option<String>,
}

impl NewAppointment {
    /// The appointment this request stores, once the database has given it `id`.
    pub fn appointment(&self, id: AppointmentId) -> Appointment {
        Appointment {
            id,
            public_id: self.public_id.clone(),
            tenant_id: self.tenant_id,
            office_id: self.office_id,
            service_id: self.service_id,
            status: AppointmentStatus::Booked,
            start: self.start,
            end: self.end,
            occupied_until: self.occupied_until,
            mode: self.mode,
            citizen_name: self.citizen_name.clone(),
            citizen_email: self.citizen_email.clone(),
            citizen_phone: self.citizen_phone.clone(),
            fiscal_code: self.fiscal_code.clone(),
            notes: self.notes.clone(),
            answers: self.answers.clone(),
            lang: self.lang,
            sequence: 0,
            created_at: self.now,
            telegram_chat_id: self.telegram_chat_id,
        }
    }
}

/// What a retried request with the same key gets back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRecord {
    /// The client's key.
    pub key: String,
    /// Hash of the request body, to refuse a key reused for another request.
    pub request_hash: String,
    /// HTTP status of the first answer.
    pub status: u16,
    /// Body of the first answer.
    pub body: String,
}

/// The outcome of a booking attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BookOutcome {
    /// Committed.
    Booked(Box<Appointment>),
    /// Some step of the interval has no free seat.
    Full,
    /// The idempotency key was seen before: here is the first answer.
    Replay(IdempotencyRecord),
    /// The citizen already holds as many active appointments for the service as the quota allows.
    QuotaReached(CitizenQuota),
    // ---- reference codes (booking) ----
    /// The public id (a short reference code) is already another appointment's: nothing was
    /// written; draw another code and book again.
    IdTaken,
}

/// A change to an existing appointment.
#[derive(Debug, Clone)]
pub struct Reschedule {
    /// New start.
    pub start: Timestamp,
    /// New end.
    pub end: Timestamp,
    /// New end of occupancy.
    pub occupied_until: Timestamp,
    /// Desks of the office.
    pub desks: u16,
}

/// Staff roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Works the desk of some offices.
    Operator,
    /// Manages some offices (hours, services).
    Manager,
    /// Administers the whole town.
    Admin,
}

impl Role {
    /// Database spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Operator => "operator",
            Role::Manager => "manager",
            Role::Admin => "admin",
        }
    }
    /// Parses the database spelling.
    pub fn parse(s: &str) -> Option<Role> {
        [Role::Operator, Role::Manager, Role::Admin].into_iter().find(|r| r.as_str() == s)
    }
}

/// A staff account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    /// Its id.
    pub id: UserId,
    /// Its town.
    pub tenant_id: TenantId,
    /// Login e-mail.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// argon2id PHC string.
    #[serde(skip)]
    pub password_hash: String,
    /// Offices an operator or manager works for (admins: all).
    pub offices: Vec<OfficeId>,
    /// Disabled by an administrator: cannot sign in, and has no open session.
    pub disabled: bool,
    /// The TOTP secret (base32) once a second factor is confirmed; `None` without one.
    #[serde(skip)]
    pub totp_secret: Option<String>,
}

impl User {
    /// Whether signing in asks for a second factor.
    pub fn has_second_factor(&self) -> bool {
        self.totp_secret.is_some()
    }
}

/// What an administrator changes on an account (staff accounts topic).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountChange {
    /// Login e-mail (unique in the town).
    pub email: String,
    /// Display name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Offices (ignored for administrators).
    pub offices: Vec<OfficeId>,
}

/// An API token as listed: never its secret (staff accounts topic).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiTokenInfo {
    /// Its id.
    pub id: i64,
    /// Its town.
    pub tenant_id: TenantId,
    /// What the integration is.
    pub label: String,
    /// Its role.
    pub role: Role,
    /// The one office it is limited to, if any.
    pub office: Option<OfficeId>,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it was last used (to the minute), if ever.
    pub last_used_at: Option<Timestamp>,
    /// When it was revoked; a revoked token opens nothing.
    pub revoked_at: Option<Timestamp>,
}

/// Who holds an API token or session, for permission checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// Town.
    pub tenant_id: TenantId,
    /// Role.
    pub role: Role,
    /// Offices (ignored for admins).
    pub offices: Vec<OfficeId>,
    /// Who uses it, as the audit log names them.
    pub actor: Actor,
}

impl Grant {
    /// Whether this grant may act on `office`.
    pub fn covers_office(&self, office: OfficeId) -> bool {
        self.role == Role::Admin || self.offices.contains(&office)
    }

    /// Whether this grant may manage `office` (its hours, services, walk-in desk): an
    /// administrator, or a manager of that office.
    pub fn manages_office(&self, office: OfficeId) -> bool {
        self.role == Role::Admin || (self.role == Role::Manager && self.offices.contains(&office))
    }
}

/// A webhook subscription.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Webhook {
    /// Its id.
    pub id: i64,
    /// Town.
    pub tenant_id: TenantId,
    /// Where to POST.
    pub url: String,
    /// HMAC-SHA256 key.
    #[serde(skip)]
    pub secret: String,
}

/// A person arriving in a waiting room or invited into a meeting, before the store gives it an id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEntry {
    /// Town.
    pub tenant_id: TenantId,
    /// The office whose queue (or meeting) it is for.
    pub office_id: OfficeId,
    /// Why the person is here.
    pub kind: EntryKind,
    /// The appointment, for citizens who booked.
    pub appointment_id: Option<AppointmentId>,
    /// The meeting, for invitees and officials.
    pub meeting_id: Option<MeetingId>,
    /// The name staff see.
    pub name: String,
    /// Contact e-mail (tickets); blanked by retention.
    pub email: Option<String>,
    /// The service's name shown to staff (empty for invitees).
    pub service: String,
    /// Booked start, for appointments.
    pub booked_start: Option<Timestamp>,
    /// Booked end, for appointments.
    pub booked_end: Option<Timestamp>,
    /// What the person may do in the meeting.
    pub abilities: Abilities,
    /// Enters its meeting without waiting.
    pub direct: bool,
    /// Hash of the person's own link token (tickets, invitees, officials); appointments use
    /// the appointment's token.
    pub token_hash: Option<String>,
    /// Contact phone number (tickets); blanked by retention like the e-mail.
    pub phone: Option<String>,
    /// The Telegram chat of a ticket taken through the town's bot.
    pub telegram_chat_id: Option<i64>,
}

/// A video meeting of an office.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Meeting {
    /// Internal id.
    pub id: MeetingId,
    /// Town.
    pub tenant_id: TenantId,
    /// The office that holds it.
    pub office_id: OfficeId,
    /// Random public id, for URLs.
    pub public_id: String,
    /// The appointment it serves, if any.
    pub appointment_id: Option<AppointmentId>,
    /// When it was opened.
    pub started_at: Timestamp,
    /// When it was ended (once, for everyone).
    pub ended_at: Option<Timestamp>,
    /// The public URL of the node whose media server carries it (several nodes on one
    /// PostgreSQL: participants who reach another node are sent there).
    pub node: Option<String>,
}

/// A document shared in a meeting, without its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DocumentMeta {
    /// Its id.
    pub id: DocumentId,
    /// The meeting it was shared in.
    pub meeting_id: MeetingId,
    /// Who uploaded it.
    pub entry_id: EntryId,
    /// The file name as uploaded.
    pub name: String,
    /// The media type the content was checked to be.
    pub content_type: String,
    /// Size in bytes.
    pub size: i64,
    /// When it was uploaded.
    pub created_at: Timestamp,
}

/// A line of a meeting's chat, as stored with the case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChatLine {
    /// Its id (lines of a meeting come in id order).
    pub id: i64,
    /// The meeting it was written in.
    pub meeting_id: MeetingId,
    /// Who wrote it.
    pub entry_id: EntryId,
    /// The name they had in the meeting.
    pub name: String,
    /// The line (one line of at most 1000 characters, checked by the desk).
    pub text: String,
    /// When it was written.
    pub created_at: Timestamp,
}

// --- Audit log ---------------------------------------------------------------------------

/// An entry to append to a town's audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAuditEntry {
    /// The town.
    pub tenant_id: TenantId,
    /// When.
    pub at: Timestamp,
    /// Who.
    pub actor: Actor,
    /// What.
    pub act: Act,
    /// To what.
    pub subject: Subject,
    /// The citizen concerned, by name (forgotten by anonymisation and erasure).
    pub citizen_name: Option<String>,
    /// What changed, in a few words (no personal data beyond the citizen's name above).
    pub detail: String,
    /// The client address the act came from, when known.
    pub source: Option<String>,
}

/// An entry of a town's audit log, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    /// Its id (grows with time on one node).
    pub id: i64,
    /// When.
    pub at: Timestamp,
    /// Who.
    pub actor: Actor,
    /// What.
    pub act: Act,
    /// To what.
    pub subject: Subject,
    /// The citizen concerned, by name; `None` once anonymised or erased.
    pub citizen_name: Option<String>,
    /// What changed.
    pub detail: String,
    /// The client address the act came from, when known.
    pub source: Option<String>,
}

/// Which audit entries to read: newest first, all filters optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Only this act.
    pub act: Option<Act>,
    /// Only acts of this actor kind and, if given, this account or token id.
    pub actor: Option<(String, Option<i64>)>,
    /// Only acts on this subject.
    pub subject: Option<Subject>,
    /// Only acts at or after this instant.
    pub from: Option<Timestamp>,
    /// Only acts before this instant.
    pub until: Option<Timestamp>,
    /// Only entries older than this one (`(at, id)` of the last entry of the previous page).
    pub before: Option<(Timestamp, i64)>,
    /// At most this many (the store caps it at 500).
    pub limit: i64,
}
