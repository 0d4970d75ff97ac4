//! Ricevo's storage: one [`Store`] trait, implemented on SQLite (the embedded default) and on
//! PostgreSQL (several nodes). Each engine has its own migrations; the same behavioural tests
//! run against both.
//!
//! Every query is scoped by tenant. Double booking is made impossible by the `seats` table:
//! one row per (office, five-minute step, seat) under a primary key (see `ricevo_core::seats`).

mod lobby;
mod model;
mod postgres;
mod privacy;
mod sql;
mod sqlite;
// ---- surveys ----
pub mod surveys;
// ---- end surveys ----
// ---- feedback ----
mod feedback;
pub use feedback::{
    FeedbackAnswer, FeedbackRequest, FeedbackSubject, MeetingFeedback, NewFeedbackRequest, TicketContact,
};
// ---- end feedback ----
// ---- campaigns ----
mod campaigns;
pub use campaigns::{
    Campaign, CampaignLink, CampaignProgress, ContactCounts, ContactsImported, NewCampaign, NewContact,
    PendingRecipient, QueuedMessage, RecipientProblem, SurveyContact,
};
// ---- end campaigns ----
// ---- reports ----
mod reports;
pub use reports::ReportScope;
// ---- end reports ----
// ---- channels ----
mod channels;
pub use channels::{OutboxFailure, SmsGateway, SmsMethod, TownChannels};
// ---- end channels ----
// ---- webpush ----
pub mod web_push;
pub use web_push::{MAX_SUBSCRIPTIONS_PER_ENTRY, NewPushSubscription, PushSubscription, Subscribed};
// ---- end webpush ----
// ---- waitlist ----
mod waitlist;
pub use waitlist::{AcceptOutcome, NewWaitlistEntry, NewWaitlistOffer, WaitlistEntry, WaitlistOffer};
// ---- end waitlist ----
// ---- telegram ----
pub mod telegram;
pub use telegram::ChatState;
// ---- end telegram ----
// ---- staffoidc ----
pub mod staff_sign_in;
pub use staff_sign_in::{PendingProviderSignIn, RoleMapping, TownIdentityProvider};
// ---- end staffoidc ----
// ---- citizen ----
pub mod citizen_identity;
pub use citizen_identity::{CitizenSession, NewCitizenSession, NewSignIn, SessionIdentity, StoredSignIn};
// ---- end citizen ----
// ---- council ----
pub mod council;
pub use council::{
    CouncilAppend, CouncilMemberRecord, CouncilSessionFull, CouncilSessionRecord, NewCouncilMember, NewCouncilSession,
};
// ---- end council ----
// Backup and restore (operating it): the SQLite file as a whole.
pub mod sqlite_file;
#[cfg(feature = "testing")]
pub mod testing;

use std::sync::Arc;

use async_trait::async_trait;
use jiff::Timestamp;
use ricevo_core::lobby::{Entry, EntryStatus, WalkInDesk};
use ricevo_core::slots::Booked;
use ricevo_core::survey::{QuestionnaireId, SurveyStatus};
use ricevo_core::{AppointmentId, DocumentId, EntryId, MeetingId, OfficeId, OpeningHours, ServiceId, TenantId, UserId};

pub use model::*;
pub use postgres::PostgresStore;
pub use privacy::{CitizenEntry, CitizenLookup, CitizenRecord, Erasure, ErasureCounts, HeldMessage, RetentionCounts};
pub use sqlite::SqliteStore;
// ---- surveys ----
pub use surveys::{KioskPass, NewQuestionnaire, NewResponse, ResponseFilter, StoredQuestionnaire, StoredResponse};
// ---- end surveys ----

/// The one error type of the storage boundary.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database refused or failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A migration failed.
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A unique value (slug, e-mail, ...) already exists.
    #[error("already exists")]
    Duplicate,
    /// The record does not exist (or belongs to another tenant).
    #[error("not found")]
    NotFound,
    /// The record changed since it was read; read it again and retry.
    #[error("changed concurrently")]
    Stale,
    /// Too many concurrent writers raced for the same seats; try again shortly.
    #[error("too much contention, try again")]
    Contended,
    /// A stored value could not be read back (a bug or a hand-edited database).
    #[error("corrupt stored value: {0}")]
    Corrupt(String),
    /// The change would leave the town without an enabled administrator.
    #[error("the town would have no enabled administrator")]
    LastAdministrator,
    /// The URL names no engine we support.
    #[error("unsupported database URL (use sqlite:// or postgres://)")]
    UnsupportedUrl,
}

/// Shorthand for results of this crate.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The messages to queue with a walk-in ticket, built from the ticket's number once the
/// transaction has assigned it (none: `&|_| Vec::new()`).
pub type TicketOutbox<'a> = dyn Fn(i32) -> Vec<NewOutboxMessage> + Send + Sync + 'a;

/// Everything Ricevo keeps.
#[async_trait]
pub trait Store: Send + Sync + std::fmt::Debug + 'static {
    /// Brings the schema up to date.
    async fn migrate(&self) -> Result<()>;
    /// Whether the database answers.
    async fn ping(&self) -> Result<()>;
    /// Tells every node sharing this database that `topic` changed (PostgreSQL `NOTIFY`). An
    /// SQLite database has one node, so there is nobody else to tell.
    async fn announce(&self, topic: &str) -> Result<()>;
    /// Records the heartbeat of the node at `url` (see `ricevo_core::nodes`).
    async fn heartbeat(&self, url: &str, now: Timestamp) -> Result<()>;
    /// The last heartbeat of the node at `url`; `None` if it never recorded one.
    async fn node_seen(&self, url: &str) -> Result<Option<Timestamp>>;
    /// The topics other nodes announce (PostgreSQL `LISTEN`, reconnecting when the connection
    /// drops); `None` when this engine serves one node only.
    async fn listen(&self) -> Result<Option<tokio::sync::mpsc::UnboundedReceiver<String>>>;

    /// Creates a tenant; `Duplicate` if the slug is taken.
    async fn create_tenant(&self, t: &NewTenant) -> Result<Tenant>;
    /// Updates a tenant's settings (not its slug).
    async fn update_tenant(&self, id: TenantId, t: &NewTenant) -> Result<()>;
    /// Finds a tenant by slug.
    async fn tenant_by_slug(&self, slug: &str) -> Result<Option<Tenant>>;
    /// Every tenant.
    async fn tenants(&self) -> Result<Vec<Tenant>>;

    /// Creates an office with one desk and no hours.
    async fn create_office(&self, tenant: TenantId, o: &NewOffice) -> Result<Office>;
    /// Updates an office's description.
    async fn update_office(&self, tenant: TenantId, id: OfficeId, o: &NewOffice) -> Result<()>;
    /// The offices of a tenant, by name.
    async fn offices(&self, tenant: TenantId) -> Result<Vec<Office>>;
    /// One office of a tenant.
    async fn office(&self, tenant: TenantId, id: OfficeId) -> Result<Option<Office>>;
    /// Replaces an office's weekly hours and desk count.
    async fn set_hours(&self, tenant: TenantId, office: OfficeId, hours: &OpeningHours) -> Result<()>;
    /// An office's weekly hours as stored.
    async fn hours(&self, tenant: TenantId, office: OfficeId) -> Result<Vec<RangeRow>>;
    /// Adds a closure; returns its id.
    async fn add_closure(&self, tenant: TenantId, office: OfficeId, c: &ricevo_core::Closure) -> Result<i64>;
    /// Removes a closure.
    async fn delete_closure(&self, tenant: TenantId, office: OfficeId, id: i64) -> Result<()>;
    /// An office's closures.
    async fn closures(&self, tenant: TenantId, office: OfficeId) -> Result<Vec<ClosureRow>>;

    /// Creates a service.
    async fn create_service(&self, tenant: TenantId, s: &NewService) -> Result<Service>;
    /// Updates a service.
    async fn update_service(&self, tenant: TenantId, id: ServiceId, s: &NewService) -> Result<()>;
    /// The services of a tenant.
    async fn services(&self, tenant: TenantId) -> Result<Vec<Service>>;
    /// One service of a tenant.
    async fn service(&self, tenant: TenantId, id: ServiceId) -> Result<Option<Service>>;

    /// Desk intervals of an office's active appointments, and of the slots open waitlist offers
    /// hold, that overlap `[from, to)`.
    async fn booked(&self, tenant: TenantId, office: OfficeId, from: Timestamp, to: Timestamp) -> Result<Vec<Booked>>;
    /// The seats taken in `[from, to)`, one five-minute interval per seat and step, read from
    /// the seats table (cheap whatever the office's history); `except` leaves out one
    /// appointment's own seats (for moving it).
    async fn taken_seats(
        &self,
        tenant: TenantId,
        office: OfficeId,
        from: Timestamp,
        to: Timestamp,
        except: Option<AppointmentId>,
    ) -> Result<Vec<Booked>>;
    /// Books atomically: seats, appointment, outbox messages and idempotency record, or nothing.
    async fn book(&self, new: &NewAppointment) -> Result<BookOutcome>;
    /// The first answer stored under an idempotency key.
    async fn idempotency(&self, tenant: TenantId, key: &str) -> Result<Option<IdempotencyRecord>>;
    /// The appointment a citizen's link token opens.
    async fn appointment_by_token(&self, token_hash: &str) -> Result<Option<Appointment>>;
    /// One appointment of a tenant.
    async fn appointment(&self, tenant: TenantId, id: AppointmentId) -> Result<Option<Appointment>>;
    /// Appointments of a tenant starting in `[from, to)`, optionally only for some offices.
    async fn appointments_between(
        &self,
        tenant: TenantId,
        offices: Option<&[OfficeId]>,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<Appointment>>;
    /// Appointments whose citizen's name, e-mail or codice fiscale contains `needle`
    /// (case-insensitive), whose phone number contains its digits (at least five, spaces and
    /// signs ignored), or whose reference is `needle` (a short code in any case, with or
    /// without its dash; an older 16-character public id as written).
    async fn search_appointments(&self, tenant: TenantId, needle: &str, limit: i64) -> Result<Vec<Appointment>>;
    /// Cancels an active appointment whose sequence is still `expected_sequence`, frees its
    /// seats, drops its retractable messages, queues `outbox` and ends the citizen's place in
    /// the waiting room or meeting (`Entry::cancel`), in one transaction. `Stale` if it changed.
    async fn cancel(
        &self,
        tenant: TenantId,
        id: AppointmentId,
        expected_sequence: i32,
        now: Timestamp,
        outbox: &[NewOutboxMessage],
    ) -> Result<Appointment>;
    /// Moves an active appointment; `Ok(None)` when the new time is full.
    async fn reschedule(
        &self,
        tenant: TenantId,
        id: AppointmentId,
        expected_sequence: i32,
        to: &Reschedule,
        now: Timestamp,
        outbox: &[NewOutboxMessage],
    ) -> Result<Option<Appointment>>;
    /// Writes a status change the core allowed (`AppointmentStatus::transition`: check-in,
    /// done, no-show; cancel goes through [`Store::cancel`], which frees the seats). Compare and
    /// set in one statement: succeeds only if the stored status is still `from`, else `Stale`
    /// (a concurrent change won); `NotFound` if the appointment is not the tenant's.
    async fn set_status(
        &self,
        tenant: TenantId,
        id: AppointmentId,
        from: AppointmentStatus,
        to: AppointmentStatus,
        now: Timestamp,
    ) -> Result<()>;
    /// Replaces personal data of appointments that started before `before`, and the names and
    /// e-mails of waiting-room entries that arrived before it (their durations stay for
    /// reports); returns how many records were anonymised.
    async fn anonymise_before(&self, tenant: TenantId, before: Timestamp) -> Result<u64>;
    /// Forgets idempotency records older than `before`.
    async fn purge_idempotency(&self, before: Timestamp) -> Result<u64>;

    /// Claims messages due at `now`, oldest first, for five minutes (one node per message).
    async fn due_outbox(&self, now: Timestamp, limit: i64) -> Result<Vec<OutboxMessage>>;
    /// Marks messages delivered, in one transaction, and forgets their bodies (they may hold
    /// a link token).
    async fn outbox_sent(&self, ids: &[i64], now: Timestamp) -> Result<()>;
    /// Records a failed attempt and when to try again.
    async fn outbox_failed(&self, id: i64, error: &str, retry_at: Timestamp) -> Result<()>;
    /// Messages not yet delivered.
    async fn outbox_backlog(&self) -> Result<i64>;

    /// Creates a staff account.
    async fn create_user(
        &self,
        tenant: TenantId,
        email: &str,
        name: &str,
        role: Role,
        password_hash: &str,
        offices: &[OfficeId],
    ) -> Result<User>;
    /// Finds a staff account by e-mail within a tenant.
    async fn user_by_email(&self, tenant: TenantId, email: &str) -> Result<Option<User>>;
    /// One staff account.
    async fn user(&self, tenant: TenantId, id: UserId) -> Result<Option<User>>;
    /// The staff of a tenant.
    async fn users(&self, tenant: TenantId) -> Result<Vec<User>>;
    /// Replaces a password hash.
    async fn set_password(&self, tenant: TenantId, id: UserId, password_hash: &str) -> Result<()>;
    /// Opens a login session.
    async fn create_session(&self, token_hash: &str, user: UserId, csrf: &str, expires_at: Timestamp) -> Result<()>;
    /// The user and CSRF token of a live session.
    async fn session(&self, token_hash: &str, now: Timestamp) -> Result<Option<(User, String)>>;
    /// Ends a session.
    async fn delete_session(&self, token_hash: &str) -> Result<()>;

    /// Creates an API token for an integration.
    async fn create_api_token(
        &self,
        tenant: TenantId,
        role: Role,
        office: Option<OfficeId>,
        token_hash: &str,
        label: &str,
    ) -> Result<i64>;
    /// What an API token may do.
    async fn api_token(&self, token_hash: &str) -> Result<Option<Grant>>;

    /// Adds a webhook subscription.
    async fn create_webhook(&self, tenant: TenantId, url: &str, secret: &str) -> Result<Webhook>;
    /// A tenant's webhooks.
    async fn webhooks(&self, tenant: TenantId) -> Result<Vec<Webhook>>;
    /// One webhook.
    async fn webhook(&self, id: i64) -> Result<Option<Webhook>>;
    /// Removes a webhook.
    async fn delete_webhook(&self, tenant: TenantId, id: i64) -> Result<()>;

    /// An appointment's citizen arrives: returns the appointment's active entry (queued,
    /// admitted, in the meeting or able to rejoin it) or its removal from a meeting (only an
    /// official lets them back), or creates one, Waiting. A citizen who gave up the queue, or
    /// whose entry is final, gets a new entry while the appointment is booked or checked in;
    /// `Stale` once it is cancelled or closed. `NotFound` if the office or appointment is not
    /// the tenant's, or `new` names no appointment.
    async fn arrive(&self, new: &NewEntry, now: Timestamp) -> Result<Entry>;
    /// Creates an entry as given: Admitted (admitted now) when `direct`, else Waiting.
    /// `NotFound` if the office, appointment or meeting is not the tenant's.
    async fn add_entry(&self, new: &NewEntry, now: Timestamp) -> Result<Entry>;
    /// Takes the next ticket of the office for the civil day `day` (numbers start at 1 each day,
    /// are never reused, and are unique even with concurrent takers on several nodes) and
    /// creates its Waiting entry, with the outbox messages `outbox` builds from the number, in
    /// one transaction.
    async fn take_ticket(
        &self,
        new: &NewEntry,
        day: jiff::civil::Date,
        now: Timestamp,
        outbox: &TicketOutbox<'_>,
    ) -> Result<Entry>;
    /// One entry of a tenant.
    async fn entry(&self, tenant: TenantId, id: EntryId) -> Result<Option<Entry>>;
    /// The entry a ticket's, invitee's or official's link token opens.
    async fn entry_by_token(&self, token_hash: &str) -> Result<Option<Entry>>;
    /// The latest citizen entry of an appointment (any status).
    async fn entry_for_appointment(&self, tenant: TenantId, appointment: AppointmentId) -> Result<Option<Entry>>;
    /// Entries of an office that are active: queued, admitted, in a meeting, or left a meeting
    /// they may rejoin; by arrival.
    async fn office_entries(&self, tenant: TenantId, office: OfficeId) -> Result<Vec<Entry>>;
    /// Every entry of a meeting (any status), by id.
    async fn meeting_entries(&self, tenant: TenantId, meeting: MeetingId) -> Result<Vec<Entry>>;
    /// Writes a transition: succeeds only if the stored status is still `expected` (else
    /// `Stale`); `NotFound` if the entry, or the office or meeting it now names, is not the tenant's.
    async fn update_entry(&self, entry: &Entry, expected: EntryStatus) -> Result<()>;
    /// Writes a transition like [`Store::update_entry`] and, in the same transaction, closes the
    /// entry's appointment (if it has one that is still booked or checked in) with `appointment`:
    /// a no-show in the waiting room is a no-show of the appointment. Nothing is written when
    /// the entry's status is no longer `expected`.
    async fn update_entry_closing_appointment(
        &self,
        entry: &Entry,
        expected: EntryStatus,
        appointment: AppointmentStatus,
        now: Timestamp,
    ) -> Result<()>;
    /// Opens a meeting of an office; `Duplicate` if `public_id` is taken, `NotFound` if the
    /// office or appointment is not the tenant's.
    async fn create_meeting(
        &self,
        tenant: TenantId,
        office: OfficeId,
        appointment: Option<AppointmentId>,
        public_id: &str,
        node: Option<&str>,
        now: Timestamp,
    ) -> Result<Meeting>;
    /// One meeting of a tenant.
    async fn meeting(&self, tenant: TenantId, id: MeetingId) -> Result<Option<Meeting>>;
    /// Every meeting that has not ended, of every tenant, oldest first (the sweep that closes
    /// meetings everyone left).
    async fn open_meetings(&self) -> Result<Vec<Meeting>>;
    /// Moves an open meeting from the node `from` to the node `to`, in one conditional update:
    /// only if it is still on `from` and `from`'s last heartbeat is older than `alive_since` (or
    /// missing), so of several nodes trying at once one wins, and a live node keeps its
    /// meetings. Returns the meeting as it stands afterwards (moved or not).
    async fn move_meeting(
        &self,
        tenant: TenantId,
        id: MeetingId,
        from: &str,
        to: &str,
        alive_since: Timestamp,
    ) -> Result<Option<Meeting>>;
    /// Ends the meeting in one transaction: sets its end, finishes every entry of it
    /// (`Entry::finish`), and marks its appointment done. Returns the finished entries; ending
    /// twice is a no-op that returns none.
    async fn end_meeting(&self, tenant: TenantId, id: MeetingId, now: Timestamp) -> Result<Vec<Entry>>;
    /// Service times (seconds met) of the office's last `limit` finished entries, newest first.
    async fn recent_service_seconds(&self, tenant: TenantId, office: OfficeId, limit: i64) -> Result<Vec<i64>>;
    /// Stores a document uploaded by `entry`, a participant of `meeting`; `NotFound` otherwise.
    #[allow(clippy::too_many_arguments)]
    async fn add_document(
        &self,
        tenant: TenantId,
        meeting: MeetingId,
        entry: EntryId,
        name: &str,
        content_type: &str,
        body: &[u8],
        now: Timestamp,
    ) -> Result<DocumentMeta>;
    /// The documents of a meeting, oldest first.
    async fn documents(&self, tenant: TenantId, meeting: MeetingId) -> Result<Vec<DocumentMeta>>;
    /// One document of a meeting with its bytes.
    async fn document(
        &self,
        tenant: TenantId,
        meeting: MeetingId,
        id: DocumentId,
    ) -> Result<Option<(DocumentMeta, Vec<u8>)>>;
    /// Retention: deletes documents uploaded before `before`; returns how many.
    async fn purge_documents(&self, before: Timestamp) -> Result<u64>;
    /// Stores a chat line `entry` wrote in `meeting` (both the town's, the meeting going on);
    /// `NotFound` otherwise.
    async fn add_chat_line(
        &self,
        tenant: TenantId,
        meeting: MeetingId,
        entry: EntryId,
        name: &str,
        text: &str,
        now: Timestamp,
    ) -> Result<ChatLine>;
    /// The chat of a meeting, oldest first.
    async fn chat_lines(&self, tenant: TenantId, meeting: MeetingId) -> Result<Vec<ChatLine>>;
    /// Replaces an office's walk-in desk (always open, weekly hours and desks).
    async fn set_walk_in(&self, tenant: TenantId, office: OfficeId, desk: &WalkInDesk) -> Result<()>;
    /// An office's walk-in desk (closed unless set); `NotFound` if the office is not the tenant's.
    async fn walk_in(&self, tenant: TenantId, office: OfficeId) -> Result<WalkInDesk>;

    // ---- privacy: GDPR access and erasure, retention of everything personal (privacy.rs) ----
    /// Everything the town holds about one citizen: appointments, waiting-room places and
    /// tickets, documents, chat, messages in the outbox. Never another town's.
    async fn citizen_record(&self, tenant: TenantId, lookup: &CitizenLookup) -> Result<CitizenRecord>;
    /// Erases one citizen's data in one transaction: appointments anonymised (as retention
    /// does), places' names and e-mails removed, documents, chat and outbox messages deleted.
    /// Changes nothing and lists them when some appointment is still to come.
    async fn erase_citizen(&self, tenant: TenantId, lookup: &CitizenLookup, now: Timestamp) -> Result<Erasure>;
    /// Retention beyond [`Store::anonymise_before`]: deletes the town's outbox rows,
    /// documents and chat lines created before `before`, and blanks the citizen's name in its audit entries
    /// older than that (the entries themselves go by the audit log's own retention).
    async fn purge_personal_before(&self, tenant: TenantId, before: Timestamp) -> Result<RetentionCounts>;
    // --- Audit log ---
    /// Appends an entry to its town's audit log.
    async fn record_audit(&self, entry: &NewAuditEntry) -> Result<()>;
    /// A page of a town's audit log, newest first.
    async fn audit_log(&self, tenant: TenantId, filter: &AuditFilter) -> Result<Vec<AuditEntry>>;
    /// Retention of the audit log itself: deletes entries older than `before`; returns how many.
    async fn purge_audit(&self, before: Timestamp) -> Result<u64>;

    // --- Staff accounts, second factor, API tokens, town settings and suspension (issue 12).

    /// Replaces a town's settings; `NotFound` for no such town.
    async fn update_tenant_settings(&self, id: TenantId, s: &TenantSettings) -> Result<()>;
    /// Stores (`Some((content_type, bytes))`) or removes (`None`) a town's emblem.
    async fn set_emblem(&self, id: TenantId, emblem: Option<(&str, &[u8])>, now: Timestamp) -> Result<()>;
    /// A town's emblem: its media type and bytes.
    async fn emblem(&self, id: TenantId) -> Result<Option<(String, Vec<u8>)>>;
    /// Suspends (`Some(now)`) or restores (`None`) a town; `NotFound` for no such town.
    async fn set_tenant_disabled(&self, id: TenantId, disabled_at: Option<Timestamp>) -> Result<()>;
    /// Changes an account's e-mail, name, role and offices in one transaction. `Duplicate` when
    /// the e-mail is another account's, `NotFound` for an account or office of another town,
    /// `LastAdministrator` when the town would be left without an enabled administrator.
    async fn update_user(&self, tenant: TenantId, id: UserId, change: &AccountChange) -> Result<User>;
    /// Disables (`Some(now)`, ending its sessions in the same transaction) or re-enables
    /// (`None`) an account; `LastAdministrator` when the town would be left without one.
    async fn set_user_disabled(&self, tenant: TenantId, id: UserId, disabled_at: Option<Timestamp>) -> Result<()>;
    /// Sets (`Some(secret)`, with the hashes of fresh recovery codes) or removes (`None`, with
    /// its recovery codes) an account's second factor.
    async fn set_second_factor(
        &self,
        tenant: TenantId,
        id: UserId,
        secret: Option<&str>,
        recovery_hashes: &[String],
    ) -> Result<()>;
    /// Records that the TOTP time step `step` was used: false when it (or a later one) was
    /// already used, so a code is never accepted twice.
    async fn take_totp_step(&self, tenant: TenantId, id: UserId, step: i64) -> Result<bool>;
    /// Uses up one recovery code by its hash: false when the account has no such unused code.
    async fn use_recovery_code(&self, tenant: TenantId, id: UserId, code_hash: &str) -> Result<bool>;
    /// How many unused recovery codes an account has.
    async fn recovery_codes_left(&self, tenant: TenantId, id: UserId) -> Result<i64>;
    /// Opens a session that waits for the second factor: it opens no page.
    async fn create_pending_session(&self, token_hash: &str, user: UserId, expires_at: Timestamp) -> Result<()>;
    /// The enabled account a live pending session belongs to.
    async fn pending_session(&self, token_hash: &str, now: Timestamp) -> Result<Option<User>>;
    /// A town's API tokens (revoked ones too), newest first.
    async fn api_tokens(&self, tenant: TenantId) -> Result<Vec<ApiTokenInfo>>;
    /// Revokes a town's API token at once; `NotFound` for another town's or a revoked one.
    async fn revoke_api_token(&self, tenant: TenantId, id: i64, now: Timestamp) -> Result<()>;
    /// Records that a token was used at `now`.
    async fn touch_api_token(&self, token_hash: &str, now: Timestamp) -> Result<()>;
    // ---- surveys ----
    /// Creates a questionnaire as a draft; `NotFound` if its office or service is not the town's.
    async fn create_questionnaire(
        &self,
        tenant: TenantId,
        q: &NewQuestionnaire,
        now: Timestamp,
    ) -> Result<StoredQuestionnaire>;
    /// Replaces a questionnaire's title, kind, office, service and definition (not its status);
    /// `NotFound` for another town's.
    async fn update_questionnaire(
        &self,
        tenant: TenantId,
        id: QuestionnaireId,
        q: &NewQuestionnaire,
        now: Timestamp,
    ) -> Result<()>;
    /// Sets a questionnaire's status (draft, open, closed); `NotFound` for another town's.
    async fn set_questionnaire_status(
        &self,
        tenant: TenantId,
        id: QuestionnaireId,
        status: SurveyStatus,
        now: Timestamp,
    ) -> Result<()>;
    /// One questionnaire of a town.
    async fn questionnaire(&self, tenant: TenantId, id: QuestionnaireId) -> Result<Option<StoredQuestionnaire>>;
    /// A town's questionnaires (both kinds), newest first.
    async fn questionnaires(&self, tenant: TenantId) -> Result<Vec<StoredQuestionnaire>>;
    /// Stores a response given at a kiosk or by link, in one transaction with the check that
    /// its questionnaire is the town's (`NotFound`) and open (`Stale`).
    async fn add_response(&self, r: &NewResponse) -> Result<i64>;
    /// Responses to one questionnaire of the town (`None`: the built-in after-contact feedback),
    /// newest first, as `filter` narrows them.
    async fn responses(
        &self,
        tenant: TenantId,
        questionnaire: Option<QuestionnaireId>,
        filter: &ResponseFilter,
    ) -> Result<Vec<StoredResponse>>;
    /// Starts a kiosk: stores `pass` (its `id` is ignored) under `token_hash`; `NotFound` if the
    /// questionnaire is not the town's.
    async fn start_kiosk(&self, token_hash: &str, pass: &KioskPass) -> Result<KioskPass>;
    /// The kiosk pass a token opens, unless revoked or expired at `now`.
    async fn kiosk_pass(&self, token_hash: &str, now: Timestamp) -> Result<Option<KioskPass>>;
    /// The live kiosk passes of a questionnaire of the town, oldest first.
    async fn kiosk_passes(
        &self,
        tenant: TenantId,
        questionnaire: QuestionnaireId,
        now: Timestamp,
    ) -> Result<Vec<KioskPass>>;
    /// Stops a kiosk of the town at once; `NotFound` for another town's or a stopped one.
    async fn revoke_kiosk_pass(&self, tenant: TenantId, id: i64, now: Timestamp) -> Result<()>;
    // ---- end surveys ----
    // ---- feedback ----
    /// [`Store::end_meeting`] that also, in the same transaction, makes the feedback request
    /// (with its follow-up e-mail) of each citizen in `asks` whose place the end finishes: one
    /// per appointment or ticket, so ending twice or a second trigger asks nobody twice.
    async fn end_meeting_asking_feedback(
        &self,
        tenant: TenantId,
        id: MeetingId,
        now: Timestamp,
        asks: &[MeetingFeedback],
    ) -> Result<Vec<Entry>>;
    /// [`Store::set_status`] that also, in the same transaction, makes the appointment's
    /// feedback request `ask` with its follow-up e-mail (nothing new if it already has one).
    async fn set_status_asking_feedback(
        &self,
        tenant: TenantId,
        id: AppointmentId,
        from: AppointmentStatus,
        to: AppointmentStatus,
        now: Timestamp,
        ask: &NewFeedbackRequest,
    ) -> Result<()>;
    /// The feedback request a link token's hash opens, of any town (the caller checks the town).
    async fn feedback_request(&self, token_hash: &str) -> Result<Option<FeedbackRequest>>;
    /// The feedback request of one of the town's appointments or tickets, read from the
    /// primary (the closing page reads it right after the meeting ended).
    async fn feedback_request_about(
        &self,
        tenant: TenantId,
        subject: FeedbackSubject,
    ) -> Result<Option<FeedbackRequest>>;
    /// Answers the town's request `token_hash` in one transaction: marks it answered, stores
    /// `response` and withdraws its follow-up e-mail if not sent yet; `Refused` (nothing
    /// written) when answered already or expired, `NotFound` for no such request of the town.
    async fn answer_feedback(
        &self,
        tenant: TenantId,
        token_hash: &str,
        now: Timestamp,
        response: &NewResponse,
    ) -> Result<FeedbackAnswer>;
    /// Where a walk-in ticket's follow-up goes: its address, day and number.
    async fn ticket_contact(&self, tenant: TenantId, entry: EntryId) -> Result<Option<TicketContact>>;
    // ---- end feedback ----
    // ---- campaigns ----
    /// Adds or updates a town's contacts in one transaction (an address is a contact once per
    /// town); an unsubscribed address stays unsubscribed.
    async fn import_contacts(
        &self,
        tenant: TenantId,
        contacts: &[NewContact],
        now: Timestamp,
    ) -> Result<ContactsImported>;
    /// A town's contacts, last imported first.
    async fn contacts(&self, tenant: TenantId, limit: i64) -> Result<Vec<SurveyContact>>;
    /// How many contacts a town has, and how many unsubscribed.
    async fn contact_counts(&self, tenant: TenantId) -> Result<ContactCounts>;
    /// Creates a campaign, as a draft.
    async fn create_campaign(&self, tenant: TenantId, c: &NewCampaign, now: Timestamp) -> Result<Campaign>;
    /// A town's campaigns, newest first.
    async fn campaigns(&self, tenant: TenantId) -> Result<Vec<Campaign>>;
    /// One campaign of a town.
    async fn campaign(&self, tenant: TenantId, id: i64) -> Result<Option<Campaign>>;
    /// Every running campaign of every town (the sender's work).
    async fn running_campaigns(&self) -> Result<Vec<Campaign>>;
    /// Moves a campaign from `from` to `to` (`Stale` if it is no longer `from`); starting it
    /// makes every subscribed contact a recipient in the same transaction. Returns how many
    /// recipients were added.
    async fn set_campaign_status(
        &self,
        tenant: TenantId,
        id: i64,
        from: ricevo_core::campaign::CampaignStatus,
        to: ricevo_core::campaign::CampaignStatus,
        now: Timestamp,
    ) -> Result<u64>;
    /// How many campaign messages the town queued since `since` (its rate).
    async fn campaign_queued_since(&self, tenant: TenantId, since: Timestamp) -> Result<i64>;
    /// Up to `limit` recipients of a campaign not queued yet, still subscribed, in order.
    async fn pending_recipients(&self, tenant: TenantId, campaign: i64, limit: i64) -> Result<Vec<PendingRecipient>>;
    /// Queues messages in one transaction: each recipient still unqueued and subscribed is
    /// marked queued with its token's hash, and its message goes into the outbox. Nothing
    /// when the campaign is not running. Returns how many were queued.
    async fn queue_campaign_messages(
        &self,
        tenant: TenantId,
        campaign: i64,
        messages: &[QueuedMessage],
        now: Timestamp,
    ) -> Result<u64>;
    /// Copies what the outbox knows (delivered, last error) into the campaign's recipients.
    async fn sync_campaign(&self, tenant: TenantId, campaign: i64) -> Result<()>;
    /// A campaign's figures.
    async fn campaign_progress(&self, tenant: TenantId, campaign: i64) -> Result<CampaignProgress>;
    /// Recipients whose message failed or bounced.
    async fn campaign_problems(&self, tenant: TenantId, campaign: i64, limit: i64) -> Result<Vec<RecipientProblem>>;
    /// What a personal campaign link opens.
    async fn campaign_link(&self, token_hash: &str) -> Result<Option<CampaignLink>>;
    /// Unsubscribes a contact at once and drops their campaign messages not yet sent; false
    /// when they had already unsubscribed.
    async fn unsubscribe_contact(&self, tenant: TenantId, contact: i64, now: Timestamp) -> Result<bool>;
    /// The mail system refused a campaign message for good (the outbox row's key).
    async fn campaign_bounced(&self, tenant: TenantId, dedupe_key: &str, error: &str, now: Timestamp) -> Result<()>;
    /// Stores a campaign answer and marks its recipient answered, in one transaction; `Stale`
    /// when they already answered or the campaign no longer takes answers.
    async fn answer_campaign(
        &self,
        tenant: TenantId,
        recipient: i64,
        response: &NewResponse,
        now: Timestamp,
    ) -> Result<()>;
    // ---- end campaigns ----
    // ---- reports ----
    /// The grouped counts of a report of the service (`ricevo_core::report::build` folds them).
    async fn report_facts(&self, scope: &ReportScope) -> Result<ricevo_core::report::Facts>;
    // ---- end reports ----
    // ---- channels ----
    /// The town's channel settings; `None` when it has configured none (e-mail only).
    async fn town_channels(&self, tenant: TenantId) -> Result<Option<TownChannels>>;
    /// Writes the town's channel settings (`channels.tenant_id` names the town), replacing
    /// what was there.
    async fn set_town_channels(&self, channels: &TownChannels) -> Result<()>;
    /// The town's messages that failed and are not delivered yet, next attempt first.
    async fn town_outbox_failures(&self, tenant: TenantId, limit: i64) -> Result<Vec<OutboxFailure>>;
    // ---- end channels ----
    // ---- webpush ----
    /// Stores a browser's push subscription for a place of the town still in the queue
    /// (`NotFound` otherwise), or renews the keys of the one it already has from that browser;
    /// `TooMany` once the place has [`MAX_SUBSCRIPTIONS_PER_ENTRY`].
    async fn add_push_subscription(&self, s: &NewPushSubscription, now: Timestamp) -> Result<Subscribed>;
    /// The live subscriptions of a place of the town, and of the other places of its
    /// appointment (a citizen who came back to the queue); one per browser.
    async fn push_subscriptions_of(
        &self,
        tenant: TenantId,
        entry: EntryId,
        appointment: Option<AppointmentId>,
        now: Timestamp,
    ) -> Result<Vec<PushSubscription>>;
    /// One subscription, of any town (the outbox worker checks the town).
    async fn push_subscription(&self, id: i64) -> Result<Option<PushSubscription>>;
    /// Deletes a subscription of the town (the push service said it is gone).
    async fn delete_push_subscription(&self, tenant: TenantId, id: i64) -> Result<()>;
    /// Deletes the subscriptions whose visit ended or that expired; returns how many.
    async fn purge_push_subscriptions(&self, now: Timestamp) -> Result<u64>;
    /// Turns the town's Web Push on or off; `NotFound` for no such town.
    async fn set_web_push(&self, tenant: TenantId, on: bool) -> Result<()>;
    /// [`Store::update_entry`] that also queues `outbox` (the place's appointment named on
    /// the rows) in the same transaction.
    async fn update_entry_with_outbox(
        &self,
        entry: &Entry,
        expected: EntryStatus,
        outbox: &[NewOutboxMessage],
        now: Timestamp,
    ) -> Result<()>;
    // ---- end webpush ----
    // ---- waitlist ----
    /// Puts a citizen on a service's waitlist; `Duplicate` when one of their keys is already
    /// waiting for it, `NotFound` when the service is not the town's office's.
    async fn join_waitlist(&self, e: &NewWaitlistEntry) -> Result<WaitlistEntry>;
    /// The entry a waitlist link token opens (any town): the entry's own, or an offer's.
    async fn waitlist_entry_by_token(&self, token_hash: &str) -> Result<Option<WaitlistEntry>>;
    /// One waitlist entry of a town.
    async fn waitlist_entry(&self, tenant: TenantId, id: i64) -> Result<Option<WaitlistEntry>>;
    /// A town's waitlist entries (one service's, or all), in line order per service: by
    /// joining time, then id; `only_waiting` leaves out those served or gone.
    async fn waitlist(
        &self,
        tenant: TenantId,
        service: Option<ServiceId>,
        only_waiting: bool,
    ) -> Result<Vec<WaitlistEntry>>;
    /// A town's offers (of one service or one entry), oldest first.
    async fn waitlist_offers(
        &self,
        tenant: TenantId,
        service: Option<ServiceId>,
        entry: Option<i64>,
    ) -> Result<Vec<WaitlistOffer>>;
    /// Makes an offer: holds the slot's seats, records the offer and queues its messages in one
    /// transaction. `None` when the slot is no longer free or the entry no longer waits or
    /// already holds an open offer.
    async fn offer_waitlist_slot(&self, o: &NewWaitlistOffer) -> Result<Option<WaitlistOffer>>;
    /// Closes an open offer as declined (while held) or expired (once lapsed) and releases its
    /// hold; false when it was not open (or not lapsed, for expiry).
    async fn close_waitlist_offer(
        &self,
        tenant: TenantId,
        offer: i64,
        to: ricevo_core::waitlist::OfferState,
        now: Timestamp,
    ) -> Result<bool>;
    /// Takes a waiting entry off the list, declining its open offer; `Stale` if not waiting.
    async fn leave_waitlist(&self, tenant: TenantId, entry: i64, now: Timestamp) -> Result<()>;
    /// Open offers whose hold lapsed by `now`, every town, soonest first.
    async fn lapsed_waitlist_offers(&self, now: Timestamp, limit: i64) -> Result<Vec<WaitlistOffer>>;
    /// Accepts an open, unexpired offer and books `new` on its slot, in one transaction; of
    /// many concurrent calls exactly one books.
    async fn accept_waitlist_offer(&self, tenant: TenantId, offer: i64, new: &NewAppointment) -> Result<AcceptOutcome>;
    // ---- end waitlist ----
    // ---- telegram ----
    /// The conversation of `chat_id` with `bot`, unless it lapsed at `now`.
    async fn telegram_chat(&self, bot: &str, chat_id: i64, now: Timestamp) -> Result<Option<ChatState>>;
    /// Stores a chat's conversation (and drops the bot's lapsed ones).
    async fn save_telegram_chat(&self, chat: &ChatState) -> Result<()>;
    /// Records that `bot` handles update `update_id`: true the first time, false for a replay.
    async fn telegram_update_first_seen(&self, bot: &str, update_id: i64, now: Timestamp) -> Result<bool>;
    /// The town's appointments booked from `chat_id` that end after `from`, earliest first.
    async fn telegram_chat_appointments(
        &self,
        tenant: TenantId,
        chat_id: i64,
        from: Timestamp,
    ) -> Result<Vec<Appointment>>;
    // ---- end telegram ----
    // ---- bench15 ----
    /// Queues messages that belong to no appointment (a bulk of reminders the desk rendered),
    /// all in one transaction; a key already queued is ignored.
    async fn queue_outbox(&self, tenant: TenantId, outbox: &[NewOutboxMessage], now: Timestamp) -> Result<()>;
    // ---- end bench15 ----
    // ---- staffoidc ----
    /// The town's OpenID Connect provider for staff sign-in, if it configured one.
    async fn town_identity_provider(&self, tenant: TenantId) -> Result<Option<TownIdentityProvider>>;
    /// Writes the town's provider settings (`provider.tenant_id` names the town), replacing
    /// what was there; `NotFound` for no such town.
    async fn set_town_identity_provider(&self, provider: &TownIdentityProvider) -> Result<()>;
    /// Stores a sign-in sent to the provider (replacing the browser's earlier one) and drops
    /// the lapsed ones.
    async fn put_provider_sign_in(&self, pending: &PendingProviderSignIn, now: Timestamp) -> Result<()>;
    /// Takes (deletes and returns) the browser's pending sign-in, unless it lapsed: a second
    /// call gets `None`.
    async fn take_provider_sign_in(&self, browser_hash: &str, now: Timestamp) -> Result<Option<PendingProviderSignIn>>;
    /// Marks a session as opened through the town's provider.
    async fn mark_session_via_provider(&self, token_hash: &str) -> Result<()>;
    /// Whether a session was opened through the town's provider.
    async fn session_via_provider(&self, token_hash: &str) -> Result<bool>;
    // ---- end staffoidc ----
    // ---- citizen ----
    /// Stores a sign-in on its way through the identity provider; `Duplicate` for a state
    /// already stored.
    async fn save_sign_in(&self, s: &NewSignIn, now: Timestamp) -> Result<()>;
    /// Takes (reads and deletes) the sign-in of a state's hash, of any town and even expired:
    /// the caller checks both; a state is consumed by its first callback.
    async fn take_sign_in(&self, state_hash: &str) -> Result<Option<StoredSignIn>>;
    /// Opens a signed-in citizen's session; returns its id.
    async fn open_citizen_session(&self, s: &NewCitizenSession, now: Timestamp) -> Result<i64>;
    /// The town's unexpired session of a token's hash.
    async fn citizen_session(
        &self,
        tenant: TenantId,
        token_hash: &str,
        now: Timestamp,
    ) -> Result<Option<CitizenSession>>;
    /// Ends (deletes) the town's session of a token's hash, returning it if there was one.
    async fn close_citizen_session(&self, tenant: TenantId, token_hash: &str) -> Result<Option<CitizenSession>>;
    /// Deletes expired sessions and sign-ins; returns how many.
    async fn purge_citizen_sign_ins(&self, now: Timestamp) -> Result<u64>;
    /// Which of the town's appointments were booked with a verified identity, and how.
    async fn verified_appointments(
        &self,
        tenant: TenantId,
        appointments: &[AppointmentId],
    ) -> Result<Vec<(AppointmentId, String)>>;
    /// The appointments of every town booked signed in with the verified codice fiscale
    /// `fiscal_code` and that end after `since`, earliest first (what a signed-in citizen sees
    /// as theirs). A booking made without signing in is never listed, even with the same code:
    /// whoever typed it may not be its holder, and their details are not the holder's to see.
    async fn appointments_of_fiscal_code(&self, fiscal_code: &str, since: Timestamp) -> Result<Vec<Appointment>>;
    /// Sets whether the town's service books only for a verified identity.
    async fn set_service_requires_identity(&self, tenant: TenantId, service: ServiceId, on: bool) -> Result<()>;
    /// The town's services that book only for a verified identity.
    async fn services_requiring_identity(&self, tenant: TenantId) -> Result<Vec<ServiceId>>;
    /// Sets how many active appointments per service a verified citizen may hold in the town
    /// (`None`: the instance's setting).
    async fn set_verified_max_active(&self, tenant: TenantId, max: Option<u16>) -> Result<()>;
    /// The town's own limit for verified citizens, if it set one.
    async fn verified_max_active(&self, tenant: TenantId) -> Result<Option<u16>>;
    // ---- end citizen ----
    // ---- council ----
    /// Stores a new council session with its agenda and members (tokens as hashes); returns it
    /// with the members' seats in order. `NotFound` for no such town, `Duplicate` for a token
    /// hash already used.
    async fn create_council_session(&self, s: &NewCouncilSession) -> Result<CouncilSessionFull>;
    /// The town's council sessions, the latest called for first.
    async fn council_sessions(&self, tenant: TenantId) -> Result<Vec<CouncilSessionRecord>>;
    /// One of the town's council sessions with its agenda and members.
    async fn council_session(
        &self,
        tenant: TenantId,
        id: ricevo_core::council::CouncilSessionId,
    ) -> Result<Option<CouncilSessionFull>>;
    /// The seat a member's link token (its hash) opens in this town.
    async fn council_member_by_token(&self, tenant: TenantId, token_hash: &str) -> Result<Option<CouncilMemberRecord>>;
    /// Replaces a member's link token (the old link stops working); `NotFound` for no such
    /// seat in the town's session.
    async fn set_council_member_token(
        &self,
        tenant: TenantId,
        session: ricevo_core::council::CouncilSessionId,
        member: ricevo_core::council::MemberId,
        token_hash: &str,
    ) -> Result<()>;
    /// A session's event log, oldest first (empty for another town's session).
    async fn council_events(
        &self,
        tenant: TenantId,
        session: ricevo_core::council::CouncilSessionId,
    ) -> Result<Vec<ricevo_core::council::Event>>;
    /// Appends events after the `after`-th, in one transaction with their votes, the session's
    /// state and messages: `Stale` when another writer appended after it first (replay and
    /// retry), `Duplicate` for a member's second vote in one vote, `NotFound` for another
    /// town's session.
    async fn append_council_events(&self, a: &CouncilAppend<'_>) -> Result<()>;
    /// The votes cast in a session: (vote number, member, choice), by vote and member.
    async fn council_votes(
        &self,
        tenant: TenantId,
        session: ricevo_core::council::CouncilSessionId,
    ) -> Result<Vec<(u32, ricevo_core::council::MemberId, ricevo_core::council::Choice)>>;
    /// Days the town keeps a session's recording after it closes (`None`: forever).
    async fn council_recording_keep_days(&self, tenant: TenantId) -> Result<Option<u16>>;
    /// Sets the days the town keeps recordings; `NotFound` for no such town.
    async fn set_council_recording_keep_days(&self, tenant: TenantId, days: Option<u16>) -> Result<()>;
    /// Closed sessions (any town) whose recording is due for removal at `now` and still kept.
    async fn council_recordings_due(
        &self,
        now: Timestamp,
    ) -> Result<Vec<(TenantId, ricevo_core::council::CouncilSessionId)>>;
    /// Records that a session's recording was removed (the first time counts).
    async fn mark_council_recording_removed(
        &self,
        tenant: TenantId,
        session: ricevo_core::council::CouncilSessionId,
        now: Timestamp,
    ) -> Result<()>;
    // ---- end council ----
}

/// Opens the store a URL names (`sqlite://...` or `postgres://...`) and migrates it.
pub async fn open(url: &str) -> Result<Arc<dyn Store>> {
    let store: Arc<dyn Store> = if url.starts_with("sqlite:") {
        Arc::new(SqliteStore::open(url).await?)
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Arc::new(PostgresStore::open(url).await?)
    } else {
        return Err(StoreError::UnsupportedUrl);
    };
    store.migrate().await?;
    Ok(store)
}
