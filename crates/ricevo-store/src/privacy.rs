//! What a town holds about one citizen (GDPR art. 15 access, art. 17 erasure) and the
//! retention of everything else that holds personal data. The statements live in
//! `impl_privacy!`, which both engines expand; `impl_store!` answers the [`crate::Store`]
//! methods with them.
//!
//! A citizen is found by one key, within one town only: an e-mail address (appointments and
//! walk-in tickets), a phone number or a codice fiscale (appointments). What their
//! appointments link to (waiting-room places, meetings' documents and chat, queued messages)
//! follows.

use jiff::Timestamp;
use ricevo_core::{AppointmentId, EntryId, OfficeId};
use serde::Serialize;

use crate::{Appointment, ChatLine, DocumentMeta};

/// How a citizen is looked up, already normalised by the caller (`ricevo_desk::privacy`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CitizenLookup {
    /// An e-mail address, compared without regard to case.
    Email(String),
    /// A phone number as its digits without Italy's prefix (`ricevo_core::quota::normal_phone`),
    /// or `+` and the digits of a foreign number; matched however it was written.
    Phone(String),
    /// A codice fiscale in capitals.
    FiscalCode(String),
}

impl CitizenLookup {
    /// The three values the appointment's column is compared with (`$2`, `$3`, `$4`).
    pub(crate) fn values(&self) -> [String; 3] {
        match self {
            CitizenLookup::Email(e) => {
                let e = e.trim().to_lowercase();
                [e.clone(), e.clone(), e]
            }
            CitizenLookup::FiscalCode(cf) => {
                let cf = cf.trim().to_uppercase();
                [cf.clone(), cf.clone(), cf]
            }
            CitizenLookup::Phone(p) => match p.strip_prefix('+') {
                // A foreign number, written with + or 00.
                Some(digits) => [p.clone(), format!("00{digits}"), p.clone()],
                None => [p.clone(), format!("+39{p}"), format!("0039{p}")],
            },
        }
    }

    /// The SQL condition on `appointments` that selects the citizen's (with `$1` the town).
    pub(crate) fn appointment_condition(&self) -> &'static str {
        match self {
            CitizenLookup::Email(_) => "tenant_id = $1 AND anonymised = 0 AND LOWER(citizen_email) IN ($2, $3, $4)",
            CitizenLookup::FiscalCode(_) => {
                "tenant_id = $1 AND anonymised = 0 AND UPPER(COALESCE(fiscal_code, '')) IN ($2, $3, $4)"
            }
            // People write numbers with spaces, dots, dashes, slashes and brackets.
            CitizenLookup::Phone(_) => {
                "tenant_id = $1 AND anonymised = 0 AND REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(\
                 COALESCE(citizen_phone, ''), ' ', ''), '.', ''), '-', ''), '/', ''), '(', ''), ')', '') IN ($2, $3, $4)"
            }
        }
    }

    /// The SQL condition on `waitlist_entries` that selects the citizen's (with `$1` the town):
    /// the same columns as an appointment's, without its anonymised flag (entries are deleted).
    pub(crate) fn waitlist_condition(&self) -> String {
        self.appointment_condition().replace(" AND anonymised = 0", "")
    }

    // ---- citizen ----
    /// The SQL condition on `citizen_sessions` that selects the citizen's (with `$1` the town):
    /// the same comparisons as an appointment's, on the identity the provider released.
    pub(crate) fn session_condition(&self) -> String {
        self.waitlist_condition().replace("citizen_email", "email").replace("citizen_phone", "phone")
    }
    // ---- end citizen ----

    /// The SQL condition on `entries` that selects the citizen's places: those of their
    /// appointments, and for an e-mail the tickets and invitations sent to it.
    pub(crate) fn entry_condition(&self) -> String {
        let of_appointments =
            format!("appointment_id IN (SELECT id FROM appointments WHERE {})", self.appointment_condition());
        match self {
            CitizenLookup::Email(_) => {
                format!("tenant_id = $1 AND (LOWER(COALESCE(email, '')) IN ($2, $3, $4) OR {of_appointments})")
            }
            _ => format!("tenant_id = $1 AND {of_appointments}"),
        }
    }

    /// The meetings of the citizen's appointments, as a subquery (with `$1` the town).
    fn appointment_meetings(&self) -> String {
        format!(
            "SELECT id FROM meetings WHERE tenant_id = $1 AND appointment_id IN (SELECT id FROM appointments WHERE {})",
            self.appointment_condition()
        )
    }

    /// The SQL condition on `documents` that selects those the citizen shared or that were
    /// shared in their appointments' meetings: what the export lists and the erasure deletes.
    pub(crate) fn document_condition(&self) -> String {
        format!(
            "tenant_id = $1 AND (entry_id IN (SELECT id FROM entries WHERE {}) OR meeting_id IN ({}))",
            self.entry_condition(),
            self.appointment_meetings()
        )
    }

    /// The SQL condition on `chat_lines` that selects the chat of every meeting the citizen was
    /// in: what the export lists and the erasure deletes.
    pub(crate) fn chat_condition(&self) -> String {
        format!(
            "tenant_id = $1 AND (meeting_id IN (SELECT meeting_id FROM entries WHERE {}) OR meeting_id IN ({}))",
            self.entry_condition(),
            self.appointment_meetings()
        )
    }
}

/// A waiting-room place, walk-in ticket or invitation of a citizen, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CitizenEntry {
    /// Its id.
    pub id: EntryId,
    /// The office.
    pub office_id: OfficeId,
    /// `appointment`, `ticket`, `invitee` or `official`.
    pub kind: String,
    /// The appointment it belongs to.
    pub appointment_id: Option<AppointmentId>,
    /// A ticket's civil day (`YYYY-MM-DD`).
    pub ticket_day: Option<String>,
    /// A ticket's number.
    pub ticket_number: Option<i32>,
    /// The name staff saw.
    pub name: String,
    /// The e-mail the ticket or invitation was sent to.
    pub email: Option<String>,
    /// The service's name.
    pub service: String,
    /// Its status (`waiting`, `done`, ...).
    pub status: String,
    /// What an official wrote to the citizen.
    pub message: Option<String>,
    /// When the citizen arrived.
    pub arrived_at: Timestamp,
    /// When the place ended.
    pub ended_at: Option<Timestamp>,
}

/// A message to the citizen the outbox still holds (its body is forgotten once delivered).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HeldMessage {
    /// Its id.
    pub id: i64,
    /// `email`, `ticket`, `webhook`, ...
    pub kind: String,
    /// The appointment it is about.
    pub appointment_id: Option<AppointmentId>,
    /// When it was queued.
    pub created_at: Timestamp,
    /// When it is (or was) due.
    pub due_at: Timestamp,
    /// When it was delivered; `None` while it waits.
    pub sent_at: Option<Timestamp>,
    /// The stored body (JSON); `{}` once delivered.
    pub payload: String,
}

/// Everything a town holds about one citizen.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CitizenRecord {
    /// Their appointments, newest first.
    pub appointments: Vec<Appointment>,
    /// Their waiting-room places and tickets, newest first.
    pub entries: Vec<CitizenEntry>,
    /// Documents they shared, or that were shared in their appointments' meetings.
    pub documents: Vec<DocumentMeta>,
    /// Messages about them still in the outbox.
    pub messages: Vec<HeldMessage>,
    /// The chat of the meetings they were in (what they and the office wrote there).
    pub chat: Vec<ChatLine>,
    /// Their entry in the town's survey contact list (found by e-mail only).
    pub contacts: Vec<crate::SurveyContact>,
    // ---- citizen ----
    /// Their open sessions signed in with SPID or CIE (the identity the provider released).
    pub sessions: Vec<crate::CitizenSession>,
    /// Which of their appointments were booked with a verified identity, and how (`spid`, `cie`).
    pub verified: Vec<(AppointmentId, String)>,
    // ---- end citizen ----
}

impl CitizenRecord {
    /// Whether the town holds nothing about the citizen.
    pub fn is_empty(&self) -> bool {
        self.appointments.is_empty()
            && self.entries.is_empty()
            && self.documents.is_empty()
            && self.messages.is_empty()
            && self.chat.is_empty()
            && self.contacts.is_empty()
            && self.sessions.is_empty()
    }
}

/// What an erasure removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ErasureCounts {
    /// Appointments anonymised.
    pub appointments: u64,
    /// Waiting-room places and tickets whose name and e-mail were removed.
    pub entries: u64,
    /// Documents deleted.
    pub documents: u64,
    /// Outbox messages deleted.
    pub messages: u64,
    /// Audit log entries about their appointments and places whose citizen name was removed.
    pub audit_names: u64,
    /// Chat lines deleted.
    pub chat_lines: u64,
    /// Survey contacts deleted (with their campaign rows and unsent campaign e-mails).
    pub contacts: u64,
}

/// The answer of [`crate::Store::erase_citizen`].
#[derive(Debug, Clone, PartialEq)]
pub enum Erasure {
    /// Done, in one transaction.
    Erased(ErasureCounts),
    /// Nothing was changed: these appointments are still to come and must be cancelled first
    /// (so the seats are freed and the citizen is told through the usual path).
    ActiveAppointments(Vec<Appointment>),
}

/// What one retention round removed besides the anonymised appointments and places.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RetentionCounts {
    /// Outbox rows (queued or delivered) deleted.
    pub messages: u64,
    /// Documents deleted.
    pub documents: u64,
    /// Audit entries whose citizen name was blanked.
    pub audit_names: u64,
    /// Chat lines deleted.
    pub chat_lines: u64,
    /// Survey contacts last imported before the cut-off, deleted.
    pub contacts: u64,
}

/// The statements of this module for one engine: inherent methods of `$store` that
/// `impl_store!`'s [`crate::Store`] methods call.
macro_rules! impl_privacy {
    ($store:ty, $db:ty) => {
        impl $store {
            /// A statement about one citizen: `$1` the town, `$2` to `$4` the lookup's values
            /// (`CitizenLookup::values`).
            fn citizen_query<'q>(
                sql: &'q str,
                tenant: TenantId,
                values: &'q [String; 3],
            ) -> sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments<'q>> {
                let [a, b, c] = values;
                sqlx::query(sql).bind(tenant.0).bind(a).bind(b).bind(c)
            }

            /// [`Self::citizen_query`], reading rows of type `O`.
            fn citizen_query_as<'q, O>(
                sql: &'q str,
                tenant: TenantId,
                values: &'q [String; 3],
            ) -> sqlx::query::QueryAs<'q, $db, O, <$db as sqlx::Database>::Arguments<'q>>
            where
                O: for<'r> sqlx::FromRow<'r, <$db as sqlx::Database>::Row>,
            {
                let [a, b, c] = values;
                sqlx::query_as(sql).bind(tenant.0).bind(a).bind(b).bind(c)
            }

            async fn privacy_entries(
                &self,
                tenant: TenantId,
                lookup: &$crate::CitizenLookup,
            ) -> Result<Vec<$crate::CitizenEntry>> {
                type Row = (
                    i64,
                    i64,
                    String,
                    Option<i64>,
                    Option<String>,
                    Option<i32>,
                    String,
                    Option<String>,
                    String,
                    String,
                    Option<String>,
                    i64,
                    Option<i64>,
                );
                let values = lookup.values();
                let rows: Vec<Row> = Self::citizen_query_as(&format!(
                    "SELECT id, office_id, kind, appointment_id, ticket_day, ticket_number, name, email, service, \
                     status, message, arrived_at, ended_at FROM entries WHERE {} ORDER BY arrived_at DESC, id DESC",
                    lookup.entry_condition()
                ), tenant, &values)
                .fetch_all(&self.reader)
                .await?;
                rows.into_iter()
                    .map(|r| {
                        Ok($crate::CitizenEntry {
                            id: ricevo_core::EntryId(r.0),
                            office_id: OfficeId(r.1),
                            kind: r.2,
                            appointment_id: r.3.map(AppointmentId),
                            ticket_day: r.4,
                            ticket_number: r.5,
                            name: r.6,
                            email: r.7,
                            service: r.8,
                            status: r.9,
                            message: r.10,
                            arrived_at: instant(r.11)?,
                            ended_at: r.12.map(instant).transpose()?,
                        })
                    })
                    .collect()
            }

            /// The outbox rows about the citizen: those of their appointments, and a ticket's
            /// e-mail (its key names the office, day and number: `ticket:O:D:N:email`).
            fn privacy_outbox_condition(entries: &[$crate::CitizenEntry]) -> (String, Vec<String>) {
                let mut patterns = Vec::new();
                for e in entries {
                    if let (Some(day), Some(n)) = (&e.ticket_day, e.ticket_number) {
                        patterns.push(format!("ticket:{}:{day}:{n}:%", e.office_id.0));
                    }
                }
                let mut sql = String::new();
                for i in 0..patterns.len() {
                    sql.push_str(&format!(" OR dedupe_key LIKE ${}", i + 5));
                }
                (sql, patterns)
            }

            async fn privacy_record(
                &self,
                tenant: TenantId,
                lookup: &$crate::CitizenLookup,
            ) -> Result<$crate::CitizenRecord> {
                let values = lookup.values();
                let cond = lookup.appointment_condition();
                let rows: Vec<AppointmentTuple> = Self::citizen_query_as(&format!(
                    "SELECT {APPOINTMENT_COLUMNS} FROM appointments WHERE {cond} ORDER BY start_at DESC, id DESC"
                ), tenant, &values)
                .fetch_all(&self.reader)
                .await?;
                let appointments = rows.into_iter().map(appointment_from).collect::<Result<Vec<_>>>()?;
                let entries = self.privacy_entries(tenant, lookup).await?;
                let docs: Vec<DocumentTuple> = Self::citizen_query_as(
                    &format!("SELECT {DOCUMENT_COLUMNS} FROM documents WHERE {} ORDER BY id", lookup.document_condition()),
                    tenant,
                    &values,
                )
                .fetch_all(&self.reader)
                .await?;
                let documents = docs.into_iter().map(document_from).collect::<Result<Vec<_>>>()?;
                let lines: Vec<$crate::lobby::ChatTuple> = Self::citizen_query_as(
                    &format!(
                        "SELECT {} FROM chat_lines WHERE {} ORDER BY id",
                        $crate::lobby::CHAT_COLUMNS,
                        lookup.chat_condition()
                    ),
                    tenant,
                    &values,
                )
                .fetch_all(&self.reader)
                .await?;
                let chat = lines.into_iter().map($crate::lobby::chat_line_from).collect::<Result<Vec<_>>>()?;
                let (tickets, patterns) = Self::privacy_outbox_condition(&entries);
                let sql = format!(
                    "SELECT id, kind, appointment_id, created_at, due_at, sent_at, payload FROM outbox \
                     WHERE tenant_id = $1 AND (appointment_id IN (SELECT id FROM appointments WHERE {cond}){tickets}) \
                     ORDER BY id"
                );
                let mut q = Self::citizen_query_as::<(i64, String, Option<i64>, i64, i64, Option<i64>, String)>(
                    &sql, tenant, &values,
                );
                for p in &patterns {
                    q = q.bind(p);
                }
                let messages = q
                    .fetch_all(&self.reader)
                    .await?
                    .into_iter()
                    .map(|r| {
                        Ok($crate::HeldMessage {
                            id: r.0,
                            kind: r.1,
                            appointment_id: r.2.map(AppointmentId),
                            created_at: instant(r.3)?,
                            due_at: instant(r.4)?,
                            sent_at: r.5.map(instant).transpose()?,
                            payload: r.6,
                        })
                    })
                    .collect::<Result<Vec<_>>>()?;
                let contacts = match lookup {
                    $crate::CitizenLookup::Email(e) => self.campaigns_citizen_contacts(tenant, e).await?,
                    _ => Vec::new(),
                };
                // ---- citizen ----
                let session_rows: Vec<$crate::citizen_identity::SessionRow> = Self::citizen_query_as(
                    &format!(
                        "SELECT {} FROM citizen_sessions WHERE {} ORDER BY id",
                        $crate::citizen_identity::SESSION_COLUMNS,
                        lookup.session_condition()
                    ),
                    tenant,
                    &values,
                )
                .fetch_all(&self.reader)
                .await?;
                let sessions =
                    session_rows.into_iter().map($crate::citizen_identity::session_from).collect::<Result<Vec<_>>>()?;
                let ids: Vec<AppointmentId> = appointments.iter().map(|a| a.id).collect();
                let verified = self.identity_of_appointments(tenant, &ids).await?;
                // ---- end citizen ----
                Ok($crate::CitizenRecord { appointments, entries, documents, messages, chat, contacts, sessions, verified })
            }

            async fn privacy_erase(
                &self,
                tenant: TenantId,
                lookup: &$crate::CitizenLookup,
                now: Timestamp,
            ) -> Result<$crate::Erasure> {
                let values = lookup.values();
                let cond = lookup.appointment_condition();
                let entries = self.privacy_entries(tenant, lookup).await?;
                let (tickets, patterns) = Self::privacy_outbox_condition(&entries);
                let mut tx = self.begin_write().await?;
                // Still to come: cancelled first, through the path that frees the seats and
                // tells the citizen. Checked inside the transaction, so a booking made since
                // the page was read is not anonymised while it still holds seats.
                let active: Vec<AppointmentTuple> = Self::citizen_query_as(&format!(
                    "SELECT {APPOINTMENT_COLUMNS} FROM appointments WHERE {cond} \
                     AND status IN ('booked', 'checked_in') AND end_at > $5 ORDER BY start_at"
                ), tenant, &values)
                .bind(now.as_second())
                .fetch_all(&mut *tx)
                .await?;
                if !active.is_empty() {
                    tx.rollback().await?;
                    let list = active.into_iter().map(appointment_from).collect::<Result<Vec<_>>>()?;
                    return Ok($crate::Erasure::ActiveAppointments(list));
                }
                let mut counts = $crate::ErasureCounts::default();
                // Outbox rows and documents first: they are found through the appointments'
                // personal data, which the anonymisation below removes.
                let sql = format!(
                    "DELETE FROM outbox WHERE tenant_id = $1 AND \
                     (appointment_id IN (SELECT id FROM appointments WHERE {cond}){tickets})"
                );
                let mut q = Self::citizen_query(&sql, tenant, &values);
                for p in &patterns {
                    q = q.bind(p);
                }
                counts.messages = q.execute(&mut *tx).await?.rows_affected();
                let entry_cond = lookup.entry_condition();
                // Their feedback links stop working (the answers hold no identity and stay).
                Self::citizen_query(&$crate::feedback::erase_sql(cond, &entry_cond), tenant, &values)
                    .execute(&mut *tx)
                    .await?;
                // ---- waitlist ---- The conversations of the chats the citizen booked or waited
                // from (a half-typed name or number), found before those chats are forgotten below;
                // then the citizen's waitlist entries, with their offers and the seats they hold.
                let waitlist_cond = lookup.waitlist_condition();
                Self::citizen_query(&format!(
                    "DELETE FROM telegram_chats WHERE tenant_id = $1 AND chat_id IN (\
                     SELECT telegram_chat_id FROM appointments WHERE {cond} AND telegram_chat_id IS NOT NULL \
                     UNION SELECT telegram_chat_id FROM entries WHERE {entry_cond} AND telegram_chat_id IS NOT NULL \
                     UNION SELECT telegram_chat_id FROM waitlist_entries WHERE {waitlist_cond} AND telegram_chat_id IS NOT NULL)"
                ), tenant, &values)
                .execute(&mut *tx)
                .await?;
                Self::citizen_query(&format!("DELETE FROM waitlist_entries WHERE {waitlist_cond}"), tenant, &values)
                    .execute(&mut *tx)
                    .await?;
                // ---- end waitlist ----
                // ---- webpush ---- (before the places lose the e-mail that finds them)
                Self::citizen_query(&$crate::web_push::erase_sql(&entry_cond), tenant, &values)
                    .execute(&mut *tx)
                    .await?;
                // ---- end webpush ----
                // ---- citizen ---- Their sessions signed in with SPID or CIE, and the marks of
                // their appointments' verified identity.
                Self::citizen_query(&format!("DELETE FROM citizen_sessions WHERE {}", lookup.session_condition()), tenant, &values)
                    .execute(&mut *tx)
                    .await?;
                Self::citizen_query(&format!(
                    "DELETE FROM appointment_identities WHERE tenant_id = $1 AND appointment_id IN (SELECT id FROM appointments WHERE {cond})"
                ), tenant, &values)
                .execute(&mut *tx)
                .await?;
                // ---- end citizen ----
                counts.documents =
                    Self::citizen_query(&format!("DELETE FROM documents WHERE {}", lookup.document_condition()), tenant, &values)
                        .execute(&mut *tx)
                .await?
                .rows_affected();
                counts.chat_lines =
                    Self::citizen_query(&format!("DELETE FROM chat_lines WHERE {}", lookup.chat_condition()), tenant, &values)
                        .execute(&mut *tx)
                .await?
                .rows_affected();
                // The audit log keeps the acts, not who they were done to.
                counts.audit_names = Self::citizen_query(&format!(
                    "UPDATE audit_log SET citizen_name = NULL WHERE tenant_id = $1 AND citizen_name IS NOT NULL AND \
                     ((subject_kind = 'appointment' AND subject_id IN (SELECT id FROM appointments WHERE {cond})) \
                      OR (subject_kind = 'entry' AND subject_id IN (SELECT id FROM entries WHERE {entry_cond})))"
                ), tenant, &values)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                counts.entries = Self::citizen_query(&format!(
                    "UPDATE entries SET name = '', email = NULL, phone = NULL, telegram_chat_id = NULL, message = NULL WHERE {entry_cond}"
                ), tenant, &values)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                Self::citizen_query(&format!(
                    "DELETE FROM citizen_keys WHERE appointment_id IN (SELECT id FROM appointments WHERE {cond})"
                ), tenant, &values)
                .execute(&mut *tx)
                .await?;
                // As the retention job anonymises (`anonymise_before`): the times stay for reports.
                counts.appointments = Self::citizen_query(&format!(
                    "UPDATE appointments SET citizen_name = '', citizen_email = '', citizen_phone = NULL, telegram_chat_id = NULL, \
                     fiscal_code = NULL, notes = NULL, answers = '{{}}', anonymised = 1, updated_at = $5 WHERE {cond}"
                ), tenant, &values)
                .bind(now.as_second())
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if let $crate::CitizenLookup::Email(e) = lookup {
                    counts.contacts =
                        Self::campaigns_delete_contacts(&mut tx, tenant, "email = $2", 0, Some(&e.trim().to_lowercase())).await?;
                }
                tx.commit().await?;
                Ok($crate::Erasure::Erased(counts))
            }

            async fn privacy_retention(&self, tenant: TenantId, before: Timestamp) -> Result<$crate::RetentionCounts> {
                let mut tx = self.begin_write().await?;
                // Delivered rows keep only their key; queued ones this old will not be
                // delivered any more and still hold the citizen's address and link.
                let messages = sqlx::query("DELETE FROM outbox WHERE tenant_id = $1 AND created_at < $2")
                    .bind(tenant.0)
                    .bind(before.as_second())
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                let documents = sqlx::query("DELETE FROM documents WHERE tenant_id = $1 AND created_at < $2")
                    .bind(tenant.0)
                    .bind(before.as_second())
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                sqlx::query("DELETE FROM feedback_requests WHERE tenant_id = $1 AND created_at < $2")
                    .bind(tenant.0)
                    .bind(before.as_second())
                    .execute(&mut *tx)
                    .await?;
                let chat_lines = sqlx::query("DELETE FROM chat_lines WHERE tenant_id = $1 AND created_at < $2")
                    .bind(tenant.0)
                    .bind(before.as_second())
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                // The audit log has its own retention; past the town's, its entries keep the act
                // and forget the citizen's name.
                let audit_names = sqlx::query(
                    "UPDATE audit_log SET citizen_name = NULL WHERE tenant_id = $1 AND at < $2 AND citizen_name IS NOT NULL",
                )
                .bind(tenant.0)
                .bind(before.as_second())
                .execute(&mut *tx)
                .await?
                .rows_affected();
                let contacts =
                    Self::campaigns_delete_contacts(&mut tx, tenant, "imported_at < $2", before.as_second(), None).await?;
                // ---- waitlist ---- Entries no longer waiting (served, left), and chats' half-made
                // conversations, past the town's retention.
                sqlx::query("DELETE FROM waitlist_entries WHERE tenant_id = $1 AND status <> 'waiting' AND updated_at < $2")
                    .bind(tenant.0)
                    .bind(before.as_second())
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("DELETE FROM telegram_chats WHERE tenant_id = $1 AND updated_at < $2")
                    .bind(tenant.0)
                    .bind(before.as_second())
                    .execute(&mut *tx)
                    .await?;
                // ---- end waitlist ----
                // ---- webpush ----
                sqlx::query("DELETE FROM push_subscriptions WHERE tenant_id = $1 AND created_at < $2")
                    .bind(tenant.0)
                    .bind(before.as_second())
                    .execute(&mut *tx)
                    .await?;
                // ---- end webpush ----
                // ---- citizen ---- Sessions and sign-ins are short; any older than the cut-off
                // are gone, and anonymised appointments lose their verified mark.
                sqlx::query("DELETE FROM citizen_sessions WHERE tenant_id = $1 AND created_at < $2")
                    .bind(tenant.0)
                    .bind(before.as_second())
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("DELETE FROM citizen_sign_ins WHERE tenant_id = $1 AND created_at < $2")
                    .bind(tenant.0)
                    .bind(before.as_second())
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(
                    "DELETE FROM appointment_identities WHERE tenant_id = $1 AND appointment_id IN \
                     (SELECT id FROM appointments WHERE tenant_id = $1 AND anonymised = 1)",
                )
                .bind(tenant.0)
                .execute(&mut *tx)
                .await?;
                // ---- end citizen ----
                tx.commit().await?;
                Ok($crate::RetentionCounts { messages, documents, audit_names, chat_lines, contacts })
            }
        }
    };
}

pub(crate) use impl_privacy;
