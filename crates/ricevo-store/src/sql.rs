//! The SQL both engines share. The statements are written once in a dialect both SQLite and
//! PostgreSQL accept (`$1` parameters, `RETURNING`, integers for instants); `impl_store!`
//! expands them for each engine's concrete types, which keeps sqlx's strict typing without
//! the generic bounds that make shared sqlx code unreadable.

use jiff::Timestamp;
use ricevo_core::service::ServiceRules;
use ricevo_core::{AppointmentId, Lang, Mode, OfficeId, ServiceId, TenantId};

use crate::{Appointment, AppointmentStatus, Result, Service, StoreError};

/// Columns of `appointments` in the order [`appointment_from`] reads them.
pub(crate) const APPOINTMENT_COLUMNS: &str = "id, public_id, tenant_id, office_id, service_id, status, start_at, end_at, \
     occupied_until, mode, citizen_name, citizen_email, citizen_phone, fiscal_code, notes, answers, lang, sequence, \
     created_at, telegram_chat_id";

/// Columns of `services` in the order [`service_from`] reads them.
pub(crate) const SERVICE_COLUMNS: &str = "id, tenant_id, office_id, name, description, duration_minutes, \
     buffer_minutes, modes, min_notice_hours, horizon_days, what_to_bring, questions, active";

// --- Staff accounts and town settings topic: the town's row and the account's row.

/// Columns of `tenants` in the order [`TenantRow`] reads them (`emblem` is whether one is stored).
pub(crate) const TENANT_COLUMNS: &str = "id, slug, name, time_zone, patron_day, contact_email, privacy_notice, \
     retention_days, website, address, pec, languages, privacy_controller, privacy_dpo_contact, privacy_legal_basis, \
     accessibility_statement_url, accessibility_statement_text, disabled_at, \
     (SELECT COUNT(*) FROM tenant_emblems e WHERE e.tenant_id = tenants.id) AS emblem, \
     web_push"; // webpush: the last column

/// The raw columns of a town.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct TenantRow {
    id: i64,
    slug: String,
    name: String,
    time_zone: String,
    patron_day: Option<String>,
    contact_email: String,
    privacy_notice: String,
    retention_days: i32,
    website: String,
    address: String,
    pec: String,
    languages: String,
    privacy_controller: String,
    privacy_dpo_contact: String,
    privacy_legal_basis: String,
    accessibility_statement_url: String,
    accessibility_statement_text: String,
    disabled_at: Option<i64>,
    emblem: i64,
    // ---- webpush ----
    web_push: i32,
    // ---- end webpush ----
}

/// A town from its row.
pub(crate) fn tenant_from(r: TenantRow) -> crate::Tenant {
    crate::Tenant {
        id: TenantId(r.id),
        slug: r.slug,
        name: r.name,
        time_zone: r.time_zone,
        patron_day: r.patron_day,
        contact_email: r.contact_email,
        privacy_notice: r.privacy_notice,
        retention_days: r.retention_days,
        website: r.website,
        address: r.address,
        pec: r.pec,
        languages: crate::languages_from_db(&r.languages),
        emblem: r.emblem > 0,
        privacy_controller: r.privacy_controller,
        privacy_dpo_contact: r.privacy_dpo_contact,
        privacy_legal_basis: r.privacy_legal_basis,
        accessibility_statement_url: r.accessibility_statement_url,
        accessibility_statement_text: r.accessibility_statement_text,
        disabled: r.disabled_at.is_some(),
        // ---- webpush ----
        web_push: r.web_push != 0,
        // ---- end webpush ----
    }
}

/// Columns of `users` in the order [`UserRow`] reads them.
pub(crate) const USER_COLUMNS: &str = "id, tenant_id, email, name, role, password_hash, disabled_at, totp_secret";

/// The raw columns of a staff account.
pub(crate) type UserRow = (i64, i64, String, String, String, String, Option<i64>, Option<String>);

/// An instant from stored Unix seconds.
pub(crate) fn instant(secs: i64) -> Result<Timestamp> {
    Timestamp::from_second(secs).map_err(|e| StoreError::Corrupt(format!("instant {secs}: {e}")))
}

/// The raw columns of an appointment row.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct AppointmentTuple {
    id: i64,
    public_id: String,
    tenant_id: i64,
    office_id: i64,
    service_id: i64,
    status: String,
    start_at: i64,
    end_at: i64,
    occupied_until: i64,
    mode: String,
    citizen_name: String,
    citizen_email: String,
    citizen_phone: Option<String>,
    fiscal_code: Option<String>,
    notes: Option<String>,
    answers: String,
    lang: String,
    sequence: i32,
    created_at: i64,
    telegram_chat_id: Option<i64>,
}

/// Builds an appointment from its columns.
pub(crate) fn appointment_from(r: AppointmentTuple) -> Result<Appointment> {
    Ok(Appointment {
        id: AppointmentId(r.id),
        public_id: r.public_id,
        tenant_id: TenantId(r.tenant_id),
        office_id: OfficeId(r.office_id),
        service_id: ServiceId(r.service_id),
        status: AppointmentStatus::parse(&r.status)
            .ok_or_else(|| StoreError::Corrupt(format!("status {}", r.status)))?,
        start: instant(r.start_at)?,
        end: instant(r.end_at)?,
        occupied_until: instant(r.occupied_until)?,
        mode: Mode::parse(&r.mode).ok_or_else(|| StoreError::Corrupt(format!("mode {}", r.mode)))?,
        citizen_name: r.citizen_name,
        citizen_email: r.citizen_email,
        citizen_phone: r.citizen_phone,
        fiscal_code: r.fiscal_code,
        notes: r.notes,
        answers: serde_json::from_str(&r.answers).map_err(|e| StoreError::Corrupt(format!("answers: {e}")))?,
        lang: Lang::parse(&r.lang).unwrap_or_default(),
        sequence: r.sequence,
        created_at: instant(r.created_at)?,
        telegram_chat_id: r.telegram_chat_id,
    })
}

/// The raw columns of a service row.
pub(crate) type ServiceTuple = (i64, i64, i64, String, String, i32, i32, String, i32, i32, String, String, i32);

/// Builds a service from its columns.
pub(crate) fn service_from(t: ServiceTuple) -> Result<Service> {
    let (id, tenant, office, name, description, duration, buffer, modes, notice, horizon, bring, questions, active) = t;
    let rules = ServiceRules::new(duration, buffer, Mode::parse_list(&modes), notice, horizon)
        .map_err(|e| StoreError::Corrupt(format!("service {id}: {e}")))?;
    Ok(Service {
        id: ServiceId(id),
        tenant_id: TenantId(tenant),
        office_id: OfficeId(office),
        name,
        description,
        rules,
        what_to_bring: bring,
        questions: serde_json::from_str(&questions).map_err(|e| StoreError::Corrupt(format!("questions: {e}")))?,
        active: active != 0,
    })
}

/// Whether an error is a unique-key collision.
pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    e.as_database_error().is_some_and(|d| d.is_unique_violation())
}

/// Maps a unique-key collision to [`StoreError::Duplicate`].
pub(crate) fn duplicate_or(e: sqlx::Error) -> StoreError {
    if is_unique_violation(&e) { StoreError::Duplicate } else { StoreError::Database(e) }
}

/// How often a booking transaction is retried after losing a race for a seat.
pub(crate) const SEAT_RACE_RETRIES: usize = 64;

/// How long a worker owns a message it claimed before another may try it.
pub(crate) const OUTBOX_LEASE: jiff::SignedDuration = jiff::SignedDuration::from_mins(5);

/// The INSERT of `rows` outbox messages at once (8 parameters a row).
pub(crate) fn outbox_insert_sql(rows: usize) -> String {
    let values: Vec<String> = (0..rows)
        .map(|r| {
            let p: Vec<String> = (1..=8).map(|c| format!("${}", r * 8 + c)).collect();
            format!("({})", p.join(", "))
        })
        .collect();
    format!(
        "INSERT INTO outbox (tenant_id, appointment_id, kind, dedupe_key, payload, retractable, due_at, created_at) \
         VALUES {} ON CONFLICT (dedupe_key) DO NOTHING",
        values.join(", ")
    )
}

/// The statements of a booking, shared by the sqlx path of both engines and SQLite's
/// group-commit thread (`sqlite.rs`), so both write the same rows. SQLite numbers `$N`
/// parameters in order of first appearance, which is their numeric order in each of these.
pub(crate) const IDEMPOTENCY_SELECT: &str =
    "SELECT request_hash, status, body FROM idempotency_keys WHERE tenant_id = $1 AND key = $2";
/// Whether a public id is taken (any town: public ids are unique across the instance).
pub(crate) const PUBLIC_ID_TAKEN: &str = "SELECT COUNT(*) FROM appointments WHERE public_id = $1";
/// The seats taken in a range of steps of an office.
pub(crate) const SEATS_TAKEN_SELECT: &str =
    "SELECT step, seat FROM seats WHERE office_id = $1 AND step >= $2 AND step < $3";
/// A new appointment, returning its id (19 parameters, see `book_in`).
pub(crate) const APPOINTMENT_INSERT: &str = "INSERT INTO appointments (public_id, token_hash, tenant_id, office_id, \
     service_id, status, start_at, end_at, occupied_until, mode, citizen_name, citizen_email, citizen_phone, fiscal_code, \
     notes, answers, lang, sequence, created_at, updated_at, booked_via, telegram_chat_id) \
     VALUES ($1, $2, $3, $4, $5, 'booked', $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, 0, $17, $17, $18, $19) \
     RETURNING id";
/// One seat of an appointment.
pub(crate) const SEAT_INSERT: &str =
    "INSERT INTO seats (office_id, step, seat, appointment_id) VALUES ($1, $2, $3, $4)";
/// The answer to replay for an idempotency key.
pub(crate) const IDEMPOTENCY_INSERT: &str = "INSERT INTO idempotency_keys (tenant_id, key, request_hash, status, body, \
     created_at) VALUES ($1, $2, $3, $4, $5, $6)";

/// How many of a citizen's appointments for a service are active: booked or checked in and not
/// yet ended at `$5`, found by any of three keys (`$2`-`$4`, see [`three_keys`]).
pub(crate) const CITIZEN_ACTIVE_COUNT: &str = "SELECT COUNT(DISTINCT k.appointment_id) FROM citizen_keys k \
     JOIN appointments a ON a.id = k.appointment_id WHERE k.service_id = $1 AND k.key IN ($2, $3, $4) \
     AND a.status IN ('booked', 'checked_in') AND a.end_at > $5";
/// One key of a new appointment's citizen.
pub(crate) const CITIZEN_KEY_INSERT: &str =
    "INSERT INTO citizen_keys (service_id, key, appointment_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING";
/// How a new appointment's citizen was verified (SPID, CIE), in the booking's transaction.
pub(crate) const APPOINTMENT_IDENTITY_INSERT: &str =
    "INSERT INTO appointment_identities (appointment_id, tenant_id, kind, verified_at) VALUES ($1, $2, $3, $4)";

/// A citizen's keys as the count's three parameters: missing ones repeat the first, and with
/// no key at all nothing matches.
pub(crate) fn three_keys(keys: &[String]) -> [&str; 3] {
    let first = keys.first().map_or("", String::as_str);
    let at = |i: usize| keys.get(i).map_or(first, String::as_str);
    [first, at(1), at(2)]
}

/// The PostgreSQL advisory-lock ids of a citizen's keys for a service, in the order to take
/// them (sorted, so two bookings sharing keys never wait for each other in a cycle). A stable
/// hash (FNV-1a), the same on every node; a collision only makes two bookings wait in turn.
pub(crate) fn citizen_lock_ids(service: ServiceId, keys: &[String]) -> Vec<i64> {
    let mut ids: Vec<i64> = keys
        .iter()
        .map(|k| {
            let mut h: u64 = 0xcbf2_9ce4_8422_2325;
            for b in format!("citizen:{}:{k}", service.0).bytes() {
                h ^= u64::from(b);
                h = h.wrapping_mul(0x0000_0100_0000_01b3);
            }
            i64::from_ne_bytes(h.to_ne_bytes())
        })
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// A value bound to an audit query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AuditBind {
    /// An integer.
    Int(i64),
    /// A text.
    Text(String),
}

/// Columns of `audit_log` in the order [`audit_from`] reads them.
pub(crate) type AuditTuple =
    (i64, i64, String, Option<i64>, String, String, String, Option<i64>, Option<String>, String, Option<String>);

/// The statement reading a page of a town's audit log, newest first, with its values in order.
/// Each filter narrows by a column that leads one of the audit indexes, so a page is read
/// straight from the index whatever the log's size.
pub(crate) fn audit_query(tenant: TenantId, f: &crate::AuditFilter) -> (String, Vec<AuditBind>) {
    let mut sql = String::from(
        "SELECT id, at, actor_kind, actor_id, actor_name, act, subject_kind, subject_id, citizen_name, detail, source \
         FROM audit_log WHERE tenant_id = $1",
    );
    let mut binds = vec![AuditBind::Int(tenant.0)];
    let mut push = |sql: &mut String, clause: &str, value: AuditBind| {
        binds.push(value);
        sql.push_str(&clause.replace('?', &format!("${}", binds.len())));
    };
    if let Some(act) = f.act {
        push(&mut sql, " AND act = ?", AuditBind::Text(act.code().to_owned()));
    }
    if let Some((kind, id)) = &f.actor {
        push(&mut sql, " AND actor_kind = ?", AuditBind::Text(kind.clone()));
        if let Some(id) = id {
            push(&mut sql, " AND actor_id = ?", AuditBind::Int(*id));
        }
    }
    if let Some(subject) = &f.subject {
        push(&mut sql, " AND subject_kind = ?", AuditBind::Text(subject.kind().to_owned()));
        match subject.id() {
            Some(id) => push(&mut sql, " AND subject_id = ?", AuditBind::Int(id)),
            None => sql.push_str(" AND subject_id IS NULL"),
        }
    }
    if let Some(from) = f.from {
        push(&mut sql, " AND at >= ?", AuditBind::Int(from.as_second()));
    }
    if let Some(until) = f.until {
        push(&mut sql, " AND at < ?", AuditBind::Int(until.as_second()));
    }
    if let Some((at, id)) = f.before {
        // `at <= x` first: a bound the index range starts from (an OR alone would make both
        // engines walk every newer entry before the page).
        push(&mut sql, " AND at <= ?", AuditBind::Int(at.as_second()));
        push(&mut sql, " AND (at < ?", AuditBind::Int(at.as_second()));
        push(&mut sql, " OR id < ?)", AuditBind::Int(id));
    }
    push(&mut sql, " ORDER BY at DESC, id DESC LIMIT ?", AuditBind::Int(f.limit.clamp(1, 500)));
    (sql, binds)
}

/// Builds an audit entry from its columns.
pub(crate) fn audit_from(t: AuditTuple) -> Result<crate::AuditEntry> {
    let (id, at, actor_kind, actor_id, actor_name, act, subject_kind, subject_id, citizen_name, detail, source) = t;
    Ok(crate::AuditEntry {
        id,
        at: instant(at)?,
        actor: ricevo_core::audit::Actor::from_parts(&actor_kind, actor_id, actor_name)
            .ok_or_else(|| StoreError::Corrupt(format!("audit actor {actor_kind}")))?,
        act: ricevo_core::audit::Act::parse(&act).ok_or_else(|| StoreError::Corrupt(format!("audit act {act}")))?,
        subject: ricevo_core::audit::Subject::from_parts(&subject_kind, subject_id)
            .ok_or_else(|| StoreError::Corrupt(format!("audit subject {subject_kind}")))?,
        citizen_name,
        detail,
        source,
    })
}

/// Implements [`crate::Store`] for a store type with `reader` and `writer` pools of engine `$db`.
macro_rules! impl_store {
    ($store:ty, $db:ty) => {
        use $crate::sql::{
            APPOINTMENT_COLUMNS, AppointmentTuple, OUTBOX_LEASE, SEAT_RACE_RETRIES, SERVICE_COLUMNS, ServiceTuple, appointment_from,
            duplicate_or, instant, is_unique_violation, service_from,
        };
        use $crate::lobby::{
            ACTIVE_ENTRY, HELD_PLACE, DOCUMENT_COLUMNS, DocumentTuple, ENTRY_COLUMNS, EntryRow, MEETING_COLUMNS, MeetingTuple,
            document_from, entry_from, meeting_from, walk_in_from, CHAT_COLUMNS, ChatTuple, chat_line_from,
        };
        use ricevo_core::lobby::EntryKind;

        type Tx<'c> = sqlx::Transaction<'c, $db>;

        $crate::privacy::impl_privacy!($store, $db);
        // ---- surveys ----
        $crate::surveys::impl_surveys!($store, $db);
        // ---- end surveys ----
        // ---- feedback ----
        $crate::feedback::impl_feedback!($store, $db);
        // ---- end feedback ----
        // ---- campaigns ----
        $crate::campaigns::impl_campaigns!($store, $db);
        // ---- end campaigns ----
        // ---- reports ----
        $crate::reports::impl_reports!($store, $db);
        // ---- end reports ----
        // ---- channels ----
        $crate::channels::impl_channels!($store, $db);
        // ---- end channels ----
        // ---- webpush ----
        $crate::web_push::impl_web_push!($store, $db);
        // ---- end webpush ----
        // ---- waitlist ----
        $crate::waitlist::impl_waitlist!($store, $db);
        // ---- end waitlist ----
        // ---- telegram ----
        $crate::telegram::impl_telegram!($store, $db);
        // ---- end telegram ----
        // ---- staffoidc ----
        $crate::staff_sign_in::impl_staff_sign_in!($store, $db);
        // ---- end staffoidc ----
        // ---- citizen ----
        $crate::citizen_identity::impl_citizen_identity!($store, $db);
        // ---- end citizen ----
        // ---- council ----
        $crate::council::impl_council!($store, $db);
        // ---- end council ----

        impl $store {
            /// Whether the town still has an enabled administrator, as the transaction sees it
            /// (checked before an account change commits, with the town's row locked).
            async fn has_administrator(tx: &mut Tx<'_>, tenant: TenantId) -> std::result::Result<bool, sqlx::Error> {
                let (admins,): (i64,) = sqlx::query_as(
                    "SELECT COUNT(*) FROM users WHERE tenant_id = $1 AND role = 'admin' AND disabled_at IS NULL",
                )
                .bind(tenant.0)
                .fetch_one(&mut **tx)
                .await?;
                Ok(admins > 0)
            }

            async fn insert_outbox(
                tx: &mut Tx<'_>,
                tenant: TenantId,
                appointment: Option<i64>,
                messages: &[NewOutboxMessage],
                now: Timestamp,
            ) -> std::result::Result<(), sqlx::Error> {
                if messages.is_empty() {
                    return Ok(());
                }
                // One statement for all of a change's messages: each statement is a round trip.
                let sql = $crate::sql::outbox_insert_sql(messages.len());
                let mut q = sqlx::query(&sql);
                for m in messages {
                    q = q
                        .bind(tenant.0)
                        .bind(appointment)
                        .bind(&m.kind)
                        .bind(&m.dedupe_key)
                        .bind(&m.payload)
                        .bind(i32::from(m.retractable))
                        .bind(m.due_at.as_second())
                        .bind(now.as_second());
                }
                q.execute(&mut **tx).await?;
                Ok(())
            }

            // The seats to take for every step of [start, until), or None when a step is full.
            async fn free_seats(
                tx: &mut Tx<'_>,
                office: OfficeId,
                start: Timestamp,
                until: Timestamp,
                desks: u16,
            ) -> std::result::Result<Option<Vec<(i64, i32)>>, sqlx::Error> {
                let wanted = ricevo_core::seats::steps(start, until);
                let taken: Vec<(i64, i32)> = sqlx::query_as($crate::sql::SEATS_TAKEN_SELECT)
                    .bind(office.0)
                    .bind(wanted.start)
                    .bind(wanted.end)
                    .fetch_all(&mut **tx)
                    .await?;
                Ok(ricevo_core::seats::assign(wanted, &taken, desks))
            }

            async fn insert_seats(
                tx: &mut Tx<'_>,
                office: OfficeId,
                appointment: i64,
                assigned: &[(i64, i32)],
            ) -> std::result::Result<(), sqlx::Error> {
                for (step, seat) in assigned {
                    sqlx::query($crate::sql::SEAT_INSERT)
                        .bind(office.0)
                        .bind(step)
                        .bind(seat)
                        .bind(appointment)
                        .execute(&mut **tx)
                        .await?;
                }
                Ok(())
            }

            // Takes seats for every step of [start, occupied_until); false when a step is full.
            async fn take_seats(
                tx: &mut Tx<'_>,
                office: OfficeId,
                appointment: i64,
                start: Timestamp,
                until: Timestamp,
                desks: u16,
            ) -> std::result::Result<bool, sqlx::Error> {
                let Some(assigned) = Self::free_seats(tx, office, start, until, desks).await? else {
                    return Ok(false);
                };
                Self::insert_seats(tx, office, appointment, &assigned).await?;
                Ok(true)
            }

            /// Books inside the caller's transaction; the caller commits on `Booked` and rolls
            /// back otherwise (so a `Full` leaves no appointment row behind). SQLite books on its
            /// group-commit thread instead (`sqlite.rs`), with the same statements.
            #[allow(dead_code)]
            async fn book_in(
                tx: &mut Tx<'_>,
                new: &NewAppointment,
            ) -> std::result::Result<BookOutcome, sqlx::Error> {
                if let Some(idem) = &new.idempotency {
                    let row: Option<(String, i32, String)> = sqlx::query_as($crate::sql::IDEMPOTENCY_SELECT)
                        .bind(new.tenant_id.0)
                        .bind(&idem.key)
                        .fetch_optional(&mut **tx)
                        .await?;
                    if let Some((request_hash, status, body)) = row {
                        return Ok(BookOutcome::Replay(IdempotencyRecord {
                            key: idem.key.clone(),
                            request_hash,
                            status: u16::try_from(status).unwrap_or(500),
                            body,
                        }));
                    }
                }
                // The citizen's quota, under a lock on their keys so that two concurrent bookings
                // of the same person cannot both count one appointment too few.
                if let Some(quota) = new.quota {
                    Self::lock_citizen(tx, new).await?;
                    let [k1, k2, k3] = $crate::sql::three_keys(&new.citizen_keys);
                    let (active,): (i64,) = sqlx::query_as($crate::sql::CITIZEN_ACTIVE_COUNT)
                        .bind(new.service_id.0)
                        .bind(k1)
                        .bind(k2)
                        .bind(k3)
                        .bind(new.now.as_second())
                        .fetch_one(&mut **tx)
                        .await?;
                    if !quota.allows(u64::try_from(active).unwrap_or(0)) {
                        return Ok(BookOutcome::QuotaReached(quota));
                    }
                }
                // Seats first: a full slot answers before anything is written.
                let Some(assigned) =
                    Self::free_seats(tx, new.office_id, new.start, new.occupied_until, new.desks).await?
                else {
                    return Ok(BookOutcome::Full);
                };
                // A short reference code drawn twice is told apart from a seat race.
                let (taken,): (i64,) =
                    sqlx::query_as($crate::sql::PUBLIC_ID_TAKEN).bind(&new.public_id).fetch_one(&mut **tx).await?;
                if taken > 0 {
                    return Ok(BookOutcome::IdTaken);
                }
                let (id,): (i64,) = sqlx::query_as($crate::sql::APPOINTMENT_INSERT)
                    .bind(&new.public_id)
                    .bind(&new.token_hash)
                    .bind(new.tenant_id.0)
                    .bind(new.office_id.0)
                    .bind(new.service_id.0)
                    .bind(new.start.as_second())
                    .bind(new.end.as_second())
                    .bind(new.occupied_until.as_second())
                    .bind(new.mode.as_str())
                    .bind(&new.citizen_name)
                    .bind(&new.citizen_email)
                    .bind(&new.citizen_phone)
                    .bind(&new.fiscal_code)
                    .bind(&new.notes)
                    .bind(new.answers.to_string())
                    .bind(new.lang.code())
                    .bind(new.now.as_second())
                    .bind(new.booked_via.as_str())
                    .bind(new.telegram_chat_id)
                    .fetch_one(&mut **tx)
                    .await?;
                Self::insert_seats(tx, new.office_id, id, &assigned).await?;
                for key in &new.citizen_keys {
                    sqlx::query($crate::sql::CITIZEN_KEY_INSERT)
                        .bind(new.service_id.0)
                        .bind(key)
                        .bind(id)
                        .execute(&mut **tx)
                        .await?;
                }
                if let Some(kind) = &new.verified_identity {
                    sqlx::query($crate::sql::APPOINTMENT_IDENTITY_INSERT)
                        .bind(id)
                        .bind(new.tenant_id.0)
                        .bind(kind)
                        .bind(new.now.as_second())
                        .execute(&mut **tx)
                        .await?;
                }
                Self::insert_outbox(tx, new.tenant_id, Some(id), &new.outbox, new.now).await?;
                if let Some(idem) = &new.idempotency {
                    sqlx::query($crate::sql::IDEMPOTENCY_INSERT)
                        .bind(new.tenant_id.0)
                        .bind(&idem.key)
                        .bind(&idem.request_hash)
                        .bind(i32::from(idem.status))
                        .bind(&idem.body)
                        .bind(new.now.as_second())
                        .execute(&mut **tx)
                        .await?;
                }
                // What was just written, without reading it back.
                Ok(BookOutcome::Booked(Box::new(new.appointment(AppointmentId(id)))))
            }

            /// One booking in a transaction of its own.
            #[allow(dead_code)]
            async fn book_alone(&self, new: &NewAppointment) -> std::result::Result<BookOutcome, sqlx::Error> {
                let mut tx = self.begin_write().await?;
                let outcome = Self::book_in(&mut tx, new).await?;
                if matches!(outcome, BookOutcome::Booked(_)) {
                    tx.commit().await?;
                } else {
                    tx.rollback().await?;
                }
                Ok(outcome)
            }

            async fn try_reschedule(
                &self,
                tenant: TenantId,
                id: AppointmentId,
                expected_sequence: i32,
                to: &Reschedule,
                now: Timestamp,
                outbox: &[NewOutboxMessage],
            ) -> Result<Option<Appointment>> {
                let mut tx = self.begin_write().await?;
                let current: Option<(i64, String, i32)> = sqlx::query_as(
                    "SELECT office_id, status, sequence FROM appointments WHERE tenant_id = $1 AND id = $2",
                )
                .bind(tenant.0)
                .bind(id.0)
                .fetch_optional(&mut *tx)
                .await?;
                let Some((office, status, sequence)) = current else {
                    tx.rollback().await?;
                    return Err(StoreError::NotFound);
                };
                if sequence != expected_sequence
                    || !AppointmentStatus::parse(&status).is_some_and(AppointmentStatus::is_active)
                {
                    tx.rollback().await?;
                    return Err(StoreError::Stale);
                }
                let updated = sqlx::query(
                    "UPDATE appointments SET start_at = $1, end_at = $2, occupied_until = $3, sequence = sequence + 1, \
                     updated_at = $4 WHERE id = $5 AND sequence = $6",
                )
                .bind(to.start.as_second())
                .bind(to.end.as_second())
                .bind(to.occupied_until.as_second())
                .bind(now.as_second())
                .bind(id.0)
                .bind(expected_sequence)
                .execute(&mut *tx)
                .await?;
                if updated.rows_affected() != 1 {
                    tx.rollback().await?;
                    return Err(StoreError::Stale);
                }
                sqlx::query("DELETE FROM seats WHERE appointment_id = $1").bind(id.0).execute(&mut *tx).await?;
                if !Self::take_seats(&mut tx, OfficeId(office), id.0, to.start, to.occupied_until, to.desks).await? {
                    tx.rollback().await?;
                    return Ok(None);
                }
                sqlx::query("DELETE FROM outbox WHERE appointment_id = $1 AND retractable = 1 AND sent_at IS NULL")
                    .bind(id.0)
                    .execute(&mut *tx)
                    .await?;
                Self::insert_outbox(&mut tx, tenant, Some(id.0), outbox, now).await?;
                let row: AppointmentTuple =
                    sqlx::query_as(&format!("SELECT {APPOINTMENT_COLUMNS} FROM appointments WHERE id = $1"))
                        .bind(id.0)
                        .fetch_one(&mut *tx)
                        .await?;
                tx.commit().await?;
                appointment_from(row).map(Some)
            }

            async fn user_from(&self, row: UserRow) -> Result<User> {
                let (id, tenant, email, name, role, password_hash, disabled_at, totp_secret) = row;
                let offices: Vec<(i64,)> =
                    sqlx::query_as("SELECT office_id FROM user_offices WHERE user_id = $1 ORDER BY office_id")
                        .bind(id)
                        .fetch_all(&self.reader)
                        .await?;
                Ok(User {
                    id: UserId(id),
                    tenant_id: TenantId(tenant),
                    email,
                    name,
                    role: Role::parse(&role).ok_or_else(|| StoreError::Corrupt(format!("role {role}")))?,
                    password_hash,
                    offices: offices.into_iter().map(|(o,)| OfficeId(o)).collect(),
                    disabled: disabled_at.is_some(),
                    totp_secret,
                })
            }

            /// Inserts an entry as `status`, checking that its office, appointment and meeting are
            /// the tenant's; `None` when one is not.
            async fn insert_entry(
                tx: &mut Tx<'_>,
                new: &NewEntry,
                status: EntryStatus,
                admitted_at: Option<Timestamp>,
                ticket: Option<(String, i32)>,
                now: Timestamp,
            ) -> std::result::Result<Option<EntryRow>, sqlx::Error> {
                let (ticket_day, ticket_number) = ticket.unzip();
                sqlx::query_as(&format!(
                    "INSERT INTO entries (tenant_id, office_id, kind, appointment_id, ticket_day, ticket_number, \
                     meeting_id, token_hash, name, email, service, booked_start, booked_end, abilities, direct, status, \
                     arrived_at, admitted_at, phone, telegram_chat_id) \
                     SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20 \
                     WHERE EXISTS (SELECT 1 FROM offices WHERE id = $2 AND tenant_id = $1) \
                     AND ($4 IS NULL OR EXISTS (SELECT 1 FROM appointments WHERE id = $4 AND tenant_id = $1)) \
                     AND ($7 IS NULL OR EXISTS (SELECT 1 FROM meetings WHERE id = $7 AND tenant_id = $1)) \
                     RETURNING {ENTRY_COLUMNS}"
                ))
                .bind(new.tenant_id.0)
                .bind(new.office_id.0)
                .bind(new.kind.as_str())
                .bind(new.appointment_id.map(|a| a.0))
                .bind(ticket_day)
                .bind(ticket_number)
                .bind(new.meeting_id.map(|m| m.0))
                .bind(&new.token_hash)
                .bind(&new.name)
                .bind(&new.email)
                .bind(&new.service)
                .bind(new.booked_start.map(|t| t.as_second()))
                .bind(new.booked_end.map(|t| t.as_second()))
                .bind(new.abilities.to_string())
                .bind(i32::from(new.direct))
                .bind(status.as_str())
                .bind(now.as_second())
                .bind(admitted_at.map(|t| t.as_second()))
                .bind(&new.phone)
                .bind(new.telegram_chat_id)
                .fetch_optional(&mut **tx)
                .await
            }

            // One round of `arrive`: the active entry, or a new one (a unique violation means
            // another request created it meanwhile).
            async fn try_arrive(&self, new: &NewEntry, appointment: AppointmentId, now: Timestamp) -> Result<Entry> {
                let mut tx = self.begin_write().await?;
                let existing: Option<EntryRow> = sqlx::query_as(&format!(
                    "SELECT {ENTRY_COLUMNS} FROM entries WHERE tenant_id = $1 AND appointment_id = $2 \
                     AND kind = 'appointment' AND {HELD_PLACE} ORDER BY id DESC LIMIT 1"
                ))
                .bind(new.tenant_id.0)
                .bind(appointment.0)
                .fetch_optional(&mut *tx)
                .await?;
                if let Some(row) = existing {
                    tx.rollback().await?;
                    return entry_from(row);
                }
                // A cancelled (or closed) appointment queues nobody, even when its cancellation
                // committed after the caller looked at it.
                let booked: Option<(String,)> = sqlx::query_as(
                    "SELECT status FROM appointments WHERE tenant_id = $1 AND id = $2",
                )
                .bind(new.tenant_id.0)
                .bind(appointment.0)
                .fetch_optional(&mut *tx)
                .await?;
                match booked {
                    Some((status,)) if status == "booked" || status == "checked_in" => {}
                    Some(_) => {
                        tx.rollback().await?;
                        return Err(StoreError::Stale);
                    }
                    None => {
                        tx.rollback().await?;
                        return Err(StoreError::NotFound);
                    }
                }
                let Some(row) = Self::insert_entry(&mut tx, new, EntryStatus::Waiting, None, None, now).await? else {
                    tx.rollback().await?;
                    return Err(StoreError::NotFound);
                };
                tx.commit().await?;
                entry_from(row)
            }
        }

        impl $store {
            // Writes an entry's transition if its stored status is still `expected`; the rows changed.
            async fn write_entry<'e, E: sqlx::Executor<'e, Database = $db>>(
                exec: E,
                entry: &Entry,
                expected: EntryStatus,
            ) -> Result<u64> {
                let r = sqlx::query(
                    "UPDATE entries SET office_id = $1, meeting_id = $2, name = $3, service = $4, booked_start = $5, \
                     booked_end = $6, abilities = $7, direct = $8, status = $9, message = $10, admitted_at = $11, \
                     joined_at = $12, ended_at = $13, muted = $17 \
                     WHERE tenant_id = $14 AND id = $15 AND status = $16 \
                     AND EXISTS (SELECT 1 FROM offices WHERE id = $1 AND tenant_id = $14) \
                     AND ($2 IS NULL OR EXISTS (SELECT 1 FROM meetings WHERE id = $2 AND tenant_id = $14))",
                )
                .bind(entry.office_id.0)
                .bind(entry.meeting_id.map(|m| m.0))
                .bind(&entry.name)
                .bind(&entry.service)
                .bind(entry.booked_start.map(|t| t.as_second()))
                .bind(entry.booked_end.map(|t| t.as_second()))
                .bind(entry.abilities.to_string())
                .bind(i32::from(entry.direct))
                .bind(entry.status.as_str())
                .bind(&entry.message)
                .bind(entry.admitted_at.map(|t| t.as_second()))
                .bind(entry.joined_at.map(|t| t.as_second()))
                .bind(entry.ended_at.map(|t| t.as_second()))
                .bind(entry.tenant_id.0)
                .bind(entry.id.0)
                .bind(expected.as_str())
                .bind(i32::from(entry.muted))
                .execute(exec)
                .await
                .map_err(duplicate_or)?;
                Ok(r.rows_affected())
            }

            // Why [`Self::write_entry`] changed nothing: `Stale` when the status moved on, else `NotFound`.
            async fn entry_not_written<'e, E: sqlx::Executor<'e, Database = $db>>(
                exec: E,
                entry: &Entry,
                expected: EntryStatus,
            ) -> StoreError {
                let stored: std::result::Result<Option<(String,)>, sqlx::Error> =
                    sqlx::query_as("SELECT status FROM entries WHERE tenant_id = $1 AND id = $2")
                        .bind(entry.tenant_id.0)
                        .bind(entry.id.0)
                        .fetch_optional(exec)
                        .await;
                match stored {
                    Err(e) => e.into(),
                    Ok(Some((status,))) if status != expected.as_str() => StoreError::Stale,
                    // The entry is there as expected: the office or meeting it names is not the tenant's.
                    _ => StoreError::NotFound,
                }
            }

            // Closes an appointment that is still booked or checked in with `status` (done, no-show);
            // one already closed or cancelled stays as it is.
            async fn close_appointment(
                tx: &mut Tx<'_>,
                tenant: TenantId,
                appointment: i64,
                status: AppointmentStatus,
                now: Timestamp,
            ) -> std::result::Result<(), sqlx::Error> {
                sqlx::query(
                    "UPDATE appointments SET status = $1, updated_at = $2 WHERE tenant_id = $3 AND id = $4 \
                     AND status IN ('booked', 'checked_in')",
                )
                .bind(status.as_str())
                .bind(now.as_second())
                .bind(tenant.0)
                .bind(appointment)
                .execute(&mut **tx)
                .await?;
                Ok(())
            }

            /// Ends a meeting (see [`Store::end_meeting`]) and asks `asks` for feedback in the
            /// same transaction.
            async fn end_meeting_with(
                &self,
                tenant: TenantId,
                id: MeetingId,
                now: Timestamp,
                asks: &[$crate::MeetingFeedback],
            ) -> Result<Vec<Entry>> {
                let mut tx = self.begin_write().await?;
                // Only the first end wins: a second one (another node, a double click) finds
                // ended_at set and changes nothing.
                let ended: Option<(Option<i64>,)> = sqlx::query_as(
                    "UPDATE meetings SET ended_at = $1 WHERE tenant_id = $2 AND id = $3 AND ended_at IS NULL \
                     RETURNING appointment_id",
                )
                .bind(now.as_second())
                .bind(tenant.0)
                .bind(id.0)
                .fetch_optional(&mut *tx)
                .await?;
                let Some((appointment,)) = ended else {
                    let exists: Option<(i64,)> = sqlx::query_as("SELECT id FROM meetings WHERE tenant_id = $1 AND id = $2")
                        .bind(tenant.0)
                        .bind(id.0)
                        .fetch_optional(&mut *tx)
                        .await?;
                    tx.rollback().await?;
                    return if exists.is_some() { Ok(Vec::new()) } else { Err(StoreError::NotFound) };
                };
                let rows: Vec<EntryRow> = sqlx::query_as(&format!(
                    "SELECT {ENTRY_COLUMNS} FROM entries WHERE tenant_id = $1 AND meeting_id = $2 ORDER BY id"
                ))
                .bind(tenant.0)
                .bind(id.0)
                .fetch_all(&mut *tx)
                .await?;
                let mut finished = Vec::with_capacity(rows.len());
                for row in rows {
                    let entry = entry_from(row)?;
                    // Entries already final, or that gave up before admission, stay as they are.
                    let Ok(done) = entry.finish(now) else { continue };
                    sqlx::query("UPDATE entries SET status = $1, ended_at = $2 WHERE id = $3 AND status = $4")
                        .bind(done.status.as_str())
                        .bind(done.ended_at.map(|t| t.as_second()))
                        .bind(done.id.0)
                        .bind(entry.status.as_str())
                        .execute(&mut *tx)
                        .await?;
                    finished.push(done);
                }
                if let Some(appointment) = appointment {
                    Self::close_appointment(&mut tx, tenant, appointment, AppointmentStatus::Done, now).await?;
                }
                Self::insert_meeting_feedback(&mut tx, &finished, asks, now).await?;
                tx.commit().await?;
                Ok(finished)
            }
        }

        const TENANT_COLUMNS: &str = $crate::sql::TENANT_COLUMNS;
        use $crate::sql::{TenantRow, tenant_from};

        type OfficeTuple = (i64, i64, String, String, String, String, i32);
        const OFFICE_COLUMNS: &str = "id, tenant_id, name, description, address, contact_email, desks";

        fn office_from(t: OfficeTuple) -> Office {
            let (id, tenant, name, description, address, contact_email, desks) = t;
            Office { id: OfficeId(id), tenant_id: TenantId(tenant), name, description, address, contact_email, desks }
        }

        use $crate::sql::{USER_COLUMNS, UserRow};

        #[async_trait]
        impl Store for $store {
            async fn migrate(&self) -> Result<()> {
                Self::MIGRATOR.run(&self.writer).await?;
                Ok(())
            }

            async fn ping(&self) -> Result<()> {
                sqlx::query("SELECT 1").execute(&self.reader).await?;
                Ok(())
            }

            async fn announce(&self, topic: &str) -> Result<()> {
                self.announce_to_nodes(topic).await
            }

            async fn listen(&self) -> Result<Option<tokio::sync::mpsc::UnboundedReceiver<String>>> {
                self.listen_to_nodes().await
            }

            async fn heartbeat(&self, url: &str, now: Timestamp) -> Result<()> {
                sqlx::query(
                    "INSERT INTO nodes (url, last_seen_ms) VALUES ($1, $2) \
                     ON CONFLICT (url) DO UPDATE SET last_seen_ms = excluded.last_seen_ms",
                )
                .bind(url)
                .bind(now.as_millisecond())
                .execute(&self.writer)
                .await?;
                Ok(())
            }

            async fn node_seen(&self, url: &str) -> Result<Option<Timestamp>> {
                let row: Option<(i64,)> = sqlx::query_as("SELECT last_seen_ms FROM nodes WHERE url = $1")
                    .bind(url)
                    .fetch_optional(&self.reader)
                    .await?;
                row.map(|(ms,)| Timestamp::from_millisecond(ms).map_err(|e| StoreError::Corrupt(e.to_string())))
                    .transpose()
            }

            async fn create_tenant(&self, t: &NewTenant) -> Result<Tenant> {
                let row: TenantRow = sqlx::query_as(&format!(
                    "INSERT INTO tenants (slug, name, time_zone, patron_day, contact_email, privacy_notice, \
                     retention_days, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {TENANT_COLUMNS}"
                ))
                .bind(&t.slug)
                .bind(&t.name)
                .bind(&t.time_zone)
                .bind(&t.patron_day)
                .bind(&t.contact_email)
                .bind(&t.privacy_notice)
                .bind(t.retention_days)
                .bind(Timestamp::now().as_second())
                .fetch_one(&self.writer)
                .await
                .map_err(duplicate_or)?;
                Ok(tenant_from(row))
            }

            async fn update_tenant(&self, id: TenantId, t: &NewTenant) -> Result<()> {
                let r = sqlx::query(
                    "UPDATE tenants SET name = $1, time_zone = $2, patron_day = $3, contact_email = $4, \
                     privacy_notice = $5, retention_days = $6 WHERE id = $7",
                )
                .bind(&t.name)
                .bind(&t.time_zone)
                .bind(&t.patron_day)
                .bind(&t.contact_email)
                .bind(&t.privacy_notice)
                .bind(t.retention_days)
                .bind(id.0)
                .execute(&self.writer)
                .await?;
                if r.rows_affected() == 0 { Err(StoreError::NotFound) } else { Ok(()) }
            }

            async fn tenant_by_slug(&self, slug: &str) -> Result<Option<Tenant>> {
                let row: Option<TenantRow> =
                    sqlx::query_as(&format!("SELECT {TENANT_COLUMNS} FROM tenants WHERE slug = $1"))
                        .bind(slug)
                        .fetch_optional(&self.reader)
                        .await?;
                Ok(row.map(tenant_from))
            }

            async fn tenants(&self) -> Result<Vec<Tenant>> {
                let rows: Vec<TenantRow> =
                    sqlx::query_as(&format!("SELECT {TENANT_COLUMNS} FROM tenants ORDER BY name"))
                        .fetch_all(&self.reader)
                        .await?;
                Ok(rows.into_iter().map(tenant_from).collect())
            }

            async fn create_office(&self, tenant: TenantId, o: &NewOffice) -> Result<Office> {
                let row: OfficeTuple = sqlx::query_as(&format!(
                    "INSERT INTO offices (tenant_id, name, description, address, contact_email, desks) \
                     VALUES ($1, $2, $3, $4, $5, 1) RETURNING {OFFICE_COLUMNS}"
                ))
                .bind(tenant.0)
                .bind(&o.name)
                .bind(&o.description)
                .bind(&o.address)
                .bind(&o.contact_email)
                .fetch_one(&self.writer)
                .await?;
                Ok(office_from(row))
            }

            async fn update_office(&self, tenant: TenantId, id: OfficeId, o: &NewOffice) -> Result<()> {
                let r = sqlx::query(
                    "UPDATE offices SET name = $1, description = $2, address = $3, contact_email = $4 \
                     WHERE tenant_id = $5 AND id = $6",
                )
                .bind(&o.name)
                .bind(&o.description)
                .bind(&o.address)
                .bind(&o.contact_email)
                .bind(tenant.0)
                .bind(id.0)
                .execute(&self.writer)
                .await?;
                if r.rows_affected() == 0 { Err(StoreError::NotFound) } else { Ok(()) }
            }

            async fn offices(&self, tenant: TenantId) -> Result<Vec<Office>> {
                let rows: Vec<OfficeTuple> =
                    sqlx::query_as(&format!("SELECT {OFFICE_COLUMNS} FROM offices WHERE tenant_id = $1 ORDER BY name"))
                        .bind(tenant.0)
                        .fetch_all(&self.reader)
                        .await?;
                Ok(rows.into_iter().map(office_from).collect())
            }

            async fn office(&self, tenant: TenantId, id: OfficeId) -> Result<Option<Office>> {
                let row: Option<OfficeTuple> = sqlx::query_as(&format!(
                    "SELECT {OFFICE_COLUMNS} FROM offices WHERE tenant_id = $1 AND id = $2"
                ))
                .bind(tenant.0)
                .bind(id.0)
                .fetch_optional(&self.reader)
                .await?;
                Ok(row.map(office_from))
            }

            async fn set_hours(&self, tenant: TenantId, office: OfficeId, hours: &OpeningHours) -> Result<()> {
                let mut tx = self.begin_write().await?;
                let r = sqlx::query("UPDATE offices SET desks = $1 WHERE tenant_id = $2 AND id = $3")
                    .bind(i32::from(hours.desks()))
                    .bind(tenant.0)
                    .bind(office.0)
                    .execute(&mut *tx)
                    .await?;
                if r.rows_affected() == 0 {
                    tx.rollback().await?;
                    return Err(StoreError::NotFound);
                }
                sqlx::query("DELETE FROM opening_ranges WHERE office_id = $1").bind(office.0).execute(&mut *tx).await?;
                for range in hours.ranges() {
                    sqlx::query(
                        "INSERT INTO opening_ranges (office_id, weekday, start_minute, end_minute) VALUES ($1, $2, $3, $4)",
                    )
                    .bind(office.0)
                    .bind(i32::from(range.weekday().to_monday_one_offset()))
                    .bind(ricevo_core::hours::minutes_of_day(range.start()))
                    .bind(ricevo_core::hours::minutes_of_day(range.end()))
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn hours(&self, tenant: TenantId, office: OfficeId) -> Result<Vec<RangeRow>> {
                let rows: Vec<(i32, i32, i32)> = sqlx::query_as(
                    "SELECT r.weekday, r.start_minute, r.end_minute FROM opening_ranges r \
                     JOIN offices o ON o.id = r.office_id WHERE o.tenant_id = $1 AND o.id = $2 \
                     ORDER BY r.weekday, r.start_minute",
                )
                .bind(tenant.0)
                .bind(office.0)
                .fetch_all(&self.reader)
                .await?;
                Ok(rows
                    .into_iter()
                    .map(|(weekday, start_minute, end_minute)| RangeRow { weekday, start_minute, end_minute })
                    .collect())
            }

            async fn add_closure(&self, tenant: TenantId, office: OfficeId, c: &ricevo_core::Closure) -> Result<i64> {
                if self.office(tenant, office).await?.is_none() {
                    return Err(StoreError::NotFound);
                }
                let (id,): (i64,) = sqlx::query_as(
                    "INSERT INTO closures (office_id, first_day, last_day, reason) VALUES ($1, $2, $3, $4) RETURNING id",
                )
                .bind(office.0)
                .bind(c.first().to_string())
                .bind(c.last().to_string())
                .bind(c.reason())
                .fetch_one(&self.writer)
                .await?;
                Ok(id)
            }

            async fn delete_closure(&self, tenant: TenantId, office: OfficeId, id: i64) -> Result<()> {
                let r = sqlx::query(
                    "DELETE FROM closures WHERE id = $1 AND office_id = $2 \
                     AND office_id IN (SELECT id FROM offices WHERE tenant_id = $3)",
                )
                .bind(id)
                .bind(office.0)
                .bind(tenant.0)
                .execute(&self.writer)
                .await?;
                if r.rows_affected() == 0 { Err(StoreError::NotFound) } else { Ok(()) }
            }

            async fn closures(&self, tenant: TenantId, office: OfficeId) -> Result<Vec<ClosureRow>> {
                let rows: Vec<(i64, String, String, String)> = sqlx::query_as(
                    "SELECT c.id, c.first_day, c.last_day, c.reason FROM closures c \
                     JOIN offices o ON o.id = c.office_id WHERE o.tenant_id = $1 AND o.id = $2 ORDER BY c.first_day",
                )
                .bind(tenant.0)
                .bind(office.0)
                .fetch_all(&self.reader)
                .await?;
                Ok(rows
                    .into_iter()
                    .map(|(id, first_day, last_day, reason)| ClosureRow { id, first_day, last_day, reason })
                    .collect())
            }

            async fn create_service(&self, tenant: TenantId, s: &NewService) -> Result<Service> {
                if self.office(tenant, s.office_id).await?.is_none() {
                    return Err(StoreError::NotFound);
                }
                let row: ServiceTuple = sqlx::query_as(&format!(
                    "INSERT INTO services (tenant_id, office_id, name, description, duration_minutes, buffer_minutes, \
                     modes, min_notice_hours, horizon_days, what_to_bring, questions, active) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING {SERVICE_COLUMNS}"
                ))
                .bind(tenant.0)
                .bind(s.office_id.0)
                .bind(&s.name)
                .bind(&s.description)
                .bind(s.rules.duration_minutes())
                .bind(s.rules.buffer_minutes())
                .bind(Mode::join(s.rules.modes()))
                .bind(s.rules.min_notice_hours())
                .bind(s.rules.horizon_days())
                .bind(&s.what_to_bring)
                .bind(serde_json::to_string(&s.questions).map_err(|e| StoreError::Corrupt(e.to_string()))?)
                .bind(i32::from(s.active))
                .fetch_one(&self.writer)
                .await?;
                service_from(row)
            }

            async fn update_service(&self, tenant: TenantId, id: ServiceId, s: &NewService) -> Result<()> {
                if self.office(tenant, s.office_id).await?.is_none() {
                    return Err(StoreError::NotFound);
                }
                let r = sqlx::query(
                    "UPDATE services SET office_id = $1, name = $2, description = $3, duration_minutes = $4, \
                     buffer_minutes = $5, modes = $6, min_notice_hours = $7, horizon_days = $8, what_to_bring = $9, \
                     questions = $10, active = $11 WHERE tenant_id = $12 AND id = $13",
                )
                .bind(s.office_id.0)
                .bind(&s.name)
                .bind(&s.description)
                .bind(s.rules.duration_minutes())
                .bind(s.rules.buffer_minutes())
                .bind(Mode::join(s.rules.modes()))
                .bind(s.rules.min_notice_hours())
                .bind(s.rules.horizon_days())
                .bind(&s.what_to_bring)
                .bind(serde_json::to_string(&s.questions).map_err(|e| StoreError::Corrupt(e.to_string()))?)
                .bind(i32::from(s.active))
                .bind(tenant.0)
                .bind(id.0)
                .execute(&self.writer)
                .await?;
                if r.rows_affected() == 0 { Err(StoreError::NotFound) } else { Ok(()) }
            }

            async fn services(&self, tenant: TenantId) -> Result<Vec<Service>> {
                let rows: Vec<ServiceTuple> = sqlx::query_as(&format!(
                    "SELECT {SERVICE_COLUMNS} FROM services WHERE tenant_id = $1 ORDER BY office_id, name"
                ))
                .bind(tenant.0)
                .fetch_all(&self.reader)
                .await?;
                rows.into_iter().map(service_from).collect()
            }

            async fn service(&self, tenant: TenantId, id: ServiceId) -> Result<Option<Service>> {
                let row: Option<ServiceTuple> = sqlx::query_as(&format!(
                    "SELECT {SERVICE_COLUMNS} FROM services WHERE tenant_id = $1 AND id = $2"
                ))
                .bind(tenant.0)
                .bind(id.0)
                .fetch_optional(&self.reader)
                .await?;
                row.map(service_from).transpose()
            }

            async fn booked(
                &self,
                tenant: TenantId,
                office: OfficeId,
                from: Timestamp,
                to: Timestamp,
            ) -> Result<Vec<Booked>> {
                let rows: Vec<(i64, i64)> = sqlx::query_as(
                    "SELECT start_at, occupied_until FROM appointments WHERE tenant_id = $1 AND office_id = $2 \
                     AND status IN ('booked', 'checked_in') AND start_at < $3 AND start_at > $4 AND occupied_until > $5 \
                     UNION ALL SELECT start_at, occupied_until FROM waitlist_offers WHERE tenant_id = $1 \
                     AND office_id = $2 AND state = 'offered' AND start_at < $3 AND start_at > $4 AND occupied_until > $5",
                )
                .bind(tenant.0)
                .bind(office.0)
                .bind(to.as_second())
                // No booking lasts longer than a day (480 minutes plus buffer): this bound lets
                // the (office, start) index skip the office's whole history.
                .bind(from.as_second() - 24 * 3600)
                .bind(from.as_second())
                .fetch_all(&self.reader)
                .await?;
                rows.into_iter().map(|(s, e)| Ok(Booked { start: instant(s)?, end: instant(e)? })).collect()
            }

            async fn taken_seats(
                &self,
                tenant: TenantId,
                office: OfficeId,
                from: Timestamp,
                to: Timestamp,
                except: Option<AppointmentId>,
            ) -> Result<Vec<Booked>> {
                let steps = ricevo_core::seats::steps(from, to);
                let rows: Vec<(i64,)> = sqlx::query_as(
                    "SELECT s.step FROM seats s JOIN offices o ON o.id = s.office_id \
                     WHERE o.tenant_id = $1 AND s.office_id = $2 AND s.step >= $3 AND s.step < $4 \
                     AND COALESCE(s.appointment_id, 0) <> $5",
                )
                .bind(tenant.0)
                .bind(office.0)
                .bind(steps.start)
                .bind(steps.end)
                .bind(except.map_or(-1, |a| a.0))
                .fetch_all(&self.reader)
                .await?;
                let step = ricevo_core::seats::STEP_SECONDS;
                rows.into_iter()
                    .map(|(n,)| Ok(Booked { start: instant(n * step)?, end: instant(n * step + step)? }))
                    .collect()
            }

            async fn book(&self, new: &NewAppointment) -> Result<BookOutcome> {
                for _ in 0..SEAT_RACE_RETRIES {
                    match self.commit_booking(new).await {
                        Ok(outcome) => return Ok(outcome),
                        // Another node took the same seat first: read the seats again.
                        Err(e) if is_unique_violation(&e) => {
                            if let Some(idem) = &new.idempotency {
                                if let Some(first) = self.idempotency(new.tenant_id, &idem.key).await? {
                                    return Ok(BookOutcome::Replay(first));
                                }
                            }
                            tokio::task::yield_now().await;
                        }
                        Err(e) => return Err(e.into()),
                    }
                }
                Err(StoreError::Contended)
            }

            async fn idempotency(&self, tenant: TenantId, key: &str) -> Result<Option<IdempotencyRecord>> {
                let row: Option<(String, i32, String)> = sqlx::query_as($crate::sql::IDEMPOTENCY_SELECT)
                    .bind(tenant.0)
                    .bind(key)
                    .fetch_optional(&self.writer)
                    .await?;
                Ok(row.map(|(request_hash, status, body)| IdempotencyRecord {
                    key: key.to_owned(),
                    request_hash,
                    status: u16::try_from(status).unwrap_or(500),
                    body,
                }))
            }

            async fn appointment_by_token(&self, token_hash: &str) -> Result<Option<Appointment>> {
                let row: Option<AppointmentTuple> =
                    sqlx::query_as(&format!("SELECT {APPOINTMENT_COLUMNS} FROM appointments WHERE token_hash = $1"))
                        .bind(token_hash)
                        .fetch_optional(&self.reader)
                        .await?;
                row.map(appointment_from).transpose()
            }

            async fn appointment(&self, tenant: TenantId, id: AppointmentId) -> Result<Option<Appointment>> {
                let row: Option<AppointmentTuple> = sqlx::query_as(&format!(
                    "SELECT {APPOINTMENT_COLUMNS} FROM appointments WHERE tenant_id = $1 AND id = $2"
                ))
                .bind(tenant.0)
                .bind(id.0)
                .fetch_optional(&self.reader)
                .await?;
                row.map(appointment_from).transpose()
            }

            async fn appointments_between(
                &self,
                tenant: TenantId,
                offices: Option<&[OfficeId]>,
                from: Timestamp,
                to: Timestamp,
            ) -> Result<Vec<Appointment>> {
                let rows: Vec<AppointmentTuple> = sqlx::query_as(&format!(
                    "SELECT {APPOINTMENT_COLUMNS} FROM appointments WHERE tenant_id = $1 AND start_at >= $2 \
                     AND start_at < $3 ORDER BY start_at, id"
                ))
                .bind(tenant.0)
                .bind(from.as_second())
                .bind(to.as_second())
                .fetch_all(&self.reader)
                .await?;
                let all: Vec<Appointment> = rows.into_iter().map(appointment_from).collect::<Result<_>>()?;
                Ok(match offices {
                    Some(list) => all.into_iter().filter(|a| list.contains(&a.office_id)).collect(),
                    None => all,
                })
            }

            async fn search_appointments(&self, tenant: TenantId, needle: &str, limit: i64) -> Result<Vec<Appointment>> {
                let pattern = format!(
                    "%{}%",
                    needle.to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
                );
                // The reference: a short code in its written form, else the text as typed.
                let reference = ricevo_core::reference::ReferenceCode::parse(needle)
                    .map(|c| c.as_str().to_owned())
                    .unwrap_or_else(|| needle.trim().to_owned());
                // A phone number matches by its digits, however it was written; too few digits
                // would match half the town, so then the phone is not searched.
                let digits: String = needle.chars().filter(char::is_ascii_digit).collect();
                let phone_pattern = if digits.len() >= 5 && !needle.chars().any(char::is_alphabetic) {
                    format!("%{digits}%")
                } else {
                    String::new()
                };
                let rows: Vec<AppointmentTuple> = sqlx::query_as(&format!(
                    "SELECT {APPOINTMENT_COLUMNS} FROM appointments WHERE tenant_id = $1 AND anonymised = 0 \
                     AND (LOWER(citizen_name) LIKE $2 ESCAPE '\\' OR LOWER(COALESCE(fiscal_code, '')) LIKE $2 ESCAPE '\\' \
                     OR LOWER(citizen_email) LIKE $2 ESCAPE '\\' OR public_id = $3 \
                     OR ($4 <> '' AND REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(COALESCE(citizen_phone, ''), ' ', ''), \
                     '-', ''), '.', ''), '/', ''), '+', '') LIKE $4)) \
                     ORDER BY start_at DESC LIMIT $5"
                ))
                .bind(tenant.0)
                .bind(pattern)
                .bind(reference)
                .bind(phone_pattern)
                .bind(limit)
                .fetch_all(&self.reader)
                .await?;
                rows.into_iter().map(appointment_from).collect()
            }

            async fn cancel(
                &self,
                tenant: TenantId,
                id: AppointmentId,
                expected_sequence: i32,
                now: Timestamp,
                outbox: &[NewOutboxMessage],
            ) -> Result<Appointment> {
                let mut tx = self.begin_write().await?;
                let r = sqlx::query(
                    "UPDATE appointments SET status = 'cancelled', sequence = sequence + 1, updated_at = $1 \
                     WHERE tenant_id = $2 AND id = $3 AND sequence = $4 AND status IN ('booked', 'checked_in')",
                )
                .bind(now.as_second())
                .bind(tenant.0)
                .bind(id.0)
                .bind(expected_sequence)
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
                sqlx::query("DELETE FROM seats WHERE appointment_id = $1").bind(id.0).execute(&mut *tx).await?;
                sqlx::query("DELETE FROM outbox WHERE appointment_id = $1 AND retractable = 1 AND sent_at IS NULL")
                    .bind(id.0)
                    .execute(&mut *tx)
                    .await?;
                Self::insert_outbox(&mut tx, tenant, Some(id.0), outbox, now).await?;
                // The citizen's place in the waiting room (or meeting) ends with the appointment,
                // through the lobby's own transition, so nobody admits a cancelled appointment.
                let places: Vec<EntryRow> = sqlx::query_as(&format!(
                    "SELECT {ENTRY_COLUMNS} FROM entries WHERE tenant_id = $1 AND appointment_id = $2 \
                     AND kind = 'appointment' AND {HELD_PLACE}"
                ))
                .bind(tenant.0)
                .bind(id.0)
                .fetch_all(&mut *tx)
                .await?;
                for row in places {
                    let mut place = entry_from(row)?;
                    // Compare-and-set like every transition; an official's admission that
                    // committed meanwhile (PostgreSQL reads committed rows) is read again and
                    // cancelled from where it now stands.
                    let mut tries = 0;
                    while let Ok(cancelled) = place.cancel(now) {
                        if Self::write_entry(&mut *tx, &cancelled, place.status).await? == 1 {
                            break;
                        }
                        tries += 1;
                        let again: Option<EntryRow> = sqlx::query_as(&format!(
                            "SELECT {ENTRY_COLUMNS} FROM entries WHERE tenant_id = $1 AND id = $2"
                        ))
                        .bind(tenant.0)
                        .bind(place.id.0)
                        .fetch_optional(&mut *tx)
                        .await?;
                        match again {
                            Some(row) if tries < SEAT_RACE_RETRIES => place = entry_from(row)?,
                            Some(_) => return Err(StoreError::Contended),
                            None => break,
                        }
                    }
                }
                let row: AppointmentTuple =
                    sqlx::query_as(&format!("SELECT {APPOINTMENT_COLUMNS} FROM appointments WHERE id = $1"))
                        .bind(id.0)
                        .fetch_one(&mut *tx)
                        .await?;
                tx.commit().await?;
                appointment_from(row)
            }

            async fn reschedule(
                &self,
                tenant: TenantId,
                id: AppointmentId,
                expected_sequence: i32,
                to: &Reschedule,
                now: Timestamp,
                outbox: &[NewOutboxMessage],
            ) -> Result<Option<Appointment>> {
                for _ in 0..SEAT_RACE_RETRIES {
                    match self.try_reschedule(tenant, id, expected_sequence, to, now, outbox).await {
                        Err(StoreError::Database(e)) if is_unique_violation(&e) => tokio::task::yield_now().await,
                        other => return other,
                    }
                }
                Err(StoreError::Contended)
            }

            async fn set_status(
                &self,
                tenant: TenantId,
                id: AppointmentId,
                from: AppointmentStatus,
                to: AppointmentStatus,
                now: Timestamp,
            ) -> Result<()> {
                if to == AppointmentStatus::Cancelled {
                    return Err(StoreError::Stale);
                }
                let r = sqlx::query(
                    "UPDATE appointments SET status = $1, updated_at = $2 WHERE tenant_id = $3 AND id = $4 \
                     AND status = $5",
                )
                .bind(to.as_str())
                .bind(now.as_second())
                .bind(tenant.0)
                .bind(id.0)
                .bind(from.as_str())
                .execute(&self.writer)
                .await?;
                if r.rows_affected() == 1 {
                    return Ok(());
                }
                let exists: Option<(i64,)> = sqlx::query_as("SELECT id FROM appointments WHERE tenant_id = $1 AND id = $2")
                    .bind(tenant.0)
                    .bind(id.0)
                    .fetch_optional(&self.writer)
                    .await?;
                Err(if exists.is_some() { StoreError::Stale } else { StoreError::NotFound })
            }

            async fn anonymise_before(&self, tenant: TenantId, before: Timestamp) -> Result<u64> {
                // The citizen's keys are personal data too (and an old appointment counts no more).
                sqlx::query(
                    "DELETE FROM citizen_keys WHERE appointment_id IN \
                     (SELECT id FROM appointments WHERE tenant_id = $1 AND start_at < $2)",
                )
                .bind(tenant.0)
                .bind(before.as_second())
                .execute(&self.writer)
                .await?;
                let r = sqlx::query(
                    "UPDATE appointments SET citizen_name = '', citizen_email = '', citizen_phone = NULL, telegram_chat_id = NULL, \
                     fiscal_code = NULL, notes = NULL, answers = '{}', anonymised = 1 \
                     WHERE tenant_id = $1 AND start_at < $2 AND anonymised = 0",
                )
                .bind(tenant.0)
                .bind(before.as_second())
                .execute(&self.writer)
                .await?;
                // Waiting-room entries keep their times (waited, met) for reports, not who they were.
                let entries = sqlx::query(
                    "UPDATE entries SET name = '', email = NULL, phone = NULL, telegram_chat_id = NULL, message = NULL \
                     WHERE tenant_id = $1 AND arrived_at < $2 AND (name <> '' OR email IS NOT NULL OR message IS NOT NULL)",
                )
                .bind(tenant.0)
                .bind(before.as_second())
                .execute(&self.writer)
                .await?;
                Ok(r.rows_affected() + entries.rows_affected())
            }

            async fn purge_idempotency(&self, before: Timestamp) -> Result<u64> {
                let r = sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1")
                    .bind(before.as_second())
                    .execute(&self.writer)
                    .await?;
                Ok(r.rows_affected())
            }

            async fn due_outbox(&self, now: Timestamp, limit: i64) -> Result<Vec<OutboxMessage>> {
                let rows: Vec<(i64, i64, i64, String, String, String, i32)> = sqlx::query_as(
                    "SELECT id, due_at, tenant_id, kind, dedupe_key, payload, attempts FROM outbox \
                     WHERE sent_at IS NULL AND due_at <= $1 ORDER BY due_at, id LIMIT $2",
                )
                .bind(now.as_second())
                .bind(limit)
                .fetch_all(&self.reader)
                .await?;
                let lease_until = (now + OUTBOX_LEASE).as_second();
                let mut claimed = Vec::with_capacity(rows.len());
                if rows.is_empty() {
                    return Ok(claimed);
                }
                let mut tx = self.begin_write().await?;
                for (id, due_at, tenant, kind, dedupe_key, payload, attempts) in rows {
                    // Claim by moving due_at forward only if nobody else did: with several nodes
                    // each message is worked on by one, and a crashed node's claim simply expires.
                    let r = sqlx::query(
                        "UPDATE outbox SET due_at = $1 WHERE id = $2 AND due_at = $3 AND sent_at IS NULL",
                    )
                    .bind(lease_until)
                    .bind(id)
                    .bind(due_at)
                    .execute(&mut *tx)
                    .await?;
                    if r.rows_affected() == 1 {
                        claimed.push(OutboxMessage { id, tenant_id: TenantId(tenant), kind, dedupe_key, payload, attempts });
                    }
                }
                tx.commit().await?;
                Ok(claimed)
            }

            async fn outbox_sent(&self, ids: &[i64], now: Timestamp) -> Result<()> {
                if ids.is_empty() {
                    return Ok(());
                }
                let mut tx = self.begin_write().await?;
                for id in ids {
                    sqlx::query("UPDATE outbox SET sent_at = $1, payload = '{}', last_error = NULL WHERE id = $2")
                        .bind(now.as_second())
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn outbox_failed(&self, id: i64, error: &str, retry_at: Timestamp) -> Result<()> {
                let error: String = error.chars().take(1000).collect();
                sqlx::query("UPDATE outbox SET attempts = attempts + 1, last_error = $1, due_at = $2 WHERE id = $3")
                    .bind(error)
                    .bind(retry_at.as_second())
                    .bind(id)
                    .execute(&self.writer)
                    .await?;
                Ok(())
            }

            async fn outbox_backlog(&self) -> Result<i64> {
                let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL")
                    .fetch_one(&self.reader)
                    .await?;
                Ok(n)
            }

            async fn create_user(
                &self,
                tenant: TenantId,
                email: &str,
                name: &str,
                role: Role,
                password_hash: &str,
                offices: &[OfficeId],
            ) -> Result<User> {
                let mut tx = self.begin_write().await?;
                let (id,): (i64,) = sqlx::query_as(
                    "INSERT INTO users (tenant_id, email, name, role, password_hash, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                )
                .bind(tenant.0)
                .bind(email.to_lowercase())
                .bind(name)
                .bind(role.as_str())
                .bind(password_hash)
                .bind(Timestamp::now().as_second())
                .fetch_one(&mut *tx)
                .await
                .map_err(duplicate_or)?;
                for office in offices {
                    // The office must belong to the same tenant: a grant never crosses towns.
                    let r = sqlx::query(
                        "INSERT INTO user_offices (user_id, office_id) SELECT $1, id FROM offices \
                         WHERE id = $2 AND tenant_id = $3",
                    )
                    .bind(id)
                    .bind(office.0)
                    .bind(tenant.0)
                    .execute(&mut *tx)
                    .await?;
                    if r.rows_affected() != 1 {
                        tx.rollback().await?;
                        return Err(StoreError::NotFound);
                    }
                }
                tx.commit().await?;
                self.user(tenant, UserId(id)).await?.ok_or(StoreError::NotFound)
            }

            async fn user_by_email(&self, tenant: TenantId, email: &str) -> Result<Option<User>> {
                let row: Option<UserRow> = sqlx::query_as(&format!(
                    "SELECT {USER_COLUMNS} FROM users WHERE tenant_id = $1 AND email = $2"
                ))
                .bind(tenant.0)
                .bind(email.trim().to_lowercase())
                .fetch_optional(&self.writer)
                .await?;
                match row {
                    Some(r) => self.user_from(r).await.map(Some),
                    None => Ok(None),
                }
            }

            async fn user(&self, tenant: TenantId, id: UserId) -> Result<Option<User>> {
                let row: Option<UserRow> =
                    sqlx::query_as(&format!("SELECT {USER_COLUMNS} FROM users WHERE tenant_id = $1 AND id = $2"))
                        .bind(tenant.0)
                        .bind(id.0)
                        .fetch_optional(&self.writer)
                        .await?;
                match row {
                    Some(r) => self.user_from(r).await.map(Some),
                    None => Ok(None),
                }
            }

            async fn users(&self, tenant: TenantId) -> Result<Vec<User>> {
                let rows: Vec<UserRow> =
                    sqlx::query_as(&format!("SELECT {USER_COLUMNS} FROM users WHERE tenant_id = $1 ORDER BY name"))
                        .bind(tenant.0)
                        .fetch_all(&self.reader)
                        .await?;
                let mut out = Vec::with_capacity(rows.len());
                for r in rows {
                    out.push(self.user_from(r).await?);
                }
                Ok(out)
            }

            async fn set_password(&self, tenant: TenantId, id: UserId, password_hash: &str) -> Result<()> {
                let r = sqlx::query("UPDATE users SET password_hash = $1 WHERE tenant_id = $2 AND id = $3")
                    .bind(password_hash)
                    .bind(tenant.0)
                    .bind(id.0)
                    .execute(&self.writer)
                    .await?;
                if r.rows_affected() == 0 {
                    return Err(StoreError::NotFound);
                }
                // A new password ends every open session of that account.
                sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(id.0).execute(&self.writer).await?;
                Ok(())
            }

            async fn create_session(&self, token_hash: &str, user: UserId, csrf: &str, expires_at: Timestamp) -> Result<()> {
                sqlx::query("INSERT INTO sessions (token_hash, user_id, csrf_token, expires_at) VALUES ($1, $2, $3, $4)")
                    .bind(token_hash)
                    .bind(user.0)
                    .bind(csrf)
                    .bind(expires_at.as_second())
                    .execute(&self.writer)
                    .await?;
                Ok(())
            }

            async fn session(&self, token_hash: &str, now: Timestamp) -> Result<Option<(User, String)>> {
                let row: Option<(i64, i64, String)> = sqlx::query_as(
                    "SELECT u.tenant_id, u.id, s.csrf_token FROM sessions s JOIN users u ON u.id = s.user_id \
                     WHERE s.token_hash = $1 AND s.expires_at > $2 AND s.pending = 0 AND u.disabled_at IS NULL",
                )
                .bind(token_hash)
                .bind(now.as_second())
                .fetch_optional(&self.writer)
                .await?;
                let Some((tenant, user, csrf)) = row else { return Ok(None) };
                Ok(self.user(TenantId(tenant), UserId(user)).await?.map(|u| (u, csrf)))
            }

            async fn delete_session(&self, token_hash: &str) -> Result<()> {
                sqlx::query("DELETE FROM sessions WHERE token_hash = $1").bind(token_hash).execute(&self.writer).await?;
                Ok(())
            }

            async fn create_api_token(
                &self,
                tenant: TenantId,
                role: Role,
                office: Option<OfficeId>,
                token_hash: &str,
                label: &str,
            ) -> Result<i64> {
                if let Some(o) = office {
                    if self.office(tenant, o).await?.is_none() {
                        return Err(StoreError::NotFound);
                    }
                }
                let (id,): (i64,) = sqlx::query_as(
                    "INSERT INTO api_tokens (tenant_id, role, office_id, token_hash, label, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                )
                .bind(tenant.0)
                .bind(role.as_str())
                .bind(office.map(|o| o.0))
                .bind(token_hash)
                .bind(label)
                .bind(Timestamp::now().as_second())
                .fetch_one(&self.writer)
                .await?;
                Ok(id)
            }

            async fn api_token(&self, token_hash: &str) -> Result<Option<Grant>> {
                let row: Option<(i64, i64, String, Option<i64>, String)> = sqlx::query_as(
                    "SELECT id, tenant_id, role, office_id, label FROM api_tokens WHERE token_hash = $1 \
                     AND revoked_at IS NULL",
                )
                        .bind(token_hash)
                        .fetch_optional(&self.reader)
                        .await?;
                let Some((id, tenant, role, office, label)) = row else { return Ok(None) };
                Ok(Some(Grant {
                    actor: ricevo_core::audit::Actor::Token { id, label },
                    tenant_id: TenantId(tenant),
                    role: Role::parse(&role).ok_or_else(|| StoreError::Corrupt(format!("role {role}")))?,
                    offices: office.map(OfficeId).into_iter().collect(),
                }))
            }

            async fn create_webhook(&self, tenant: TenantId, url: &str, secret: &str) -> Result<Webhook> {
                let (id,): (i64,) = sqlx::query_as(
                    "INSERT INTO webhooks (tenant_id, url, secret, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
                )
                .bind(tenant.0)
                .bind(url)
                .bind(secret)
                .bind(Timestamp::now().as_second())
                .fetch_one(&self.writer)
                .await?;
                Ok(Webhook { id, tenant_id: tenant, url: url.to_owned(), secret: secret.to_owned() })
            }

            async fn webhooks(&self, tenant: TenantId) -> Result<Vec<Webhook>> {
                let rows: Vec<(i64, String, String)> =
                    sqlx::query_as("SELECT id, url, secret FROM webhooks WHERE tenant_id = $1 ORDER BY id")
                        .bind(tenant.0)
                        .fetch_all(&self.reader)
                        .await?;
                Ok(rows.into_iter().map(|(id, url, secret)| Webhook { id, tenant_id: tenant, url, secret }).collect())
            }

            async fn webhook(&self, id: i64) -> Result<Option<Webhook>> {
                let row: Option<(i64, String, String)> =
                    sqlx::query_as("SELECT tenant_id, url, secret FROM webhooks WHERE id = $1")
                        .bind(id)
                        .fetch_optional(&self.reader)
                        .await?;
                Ok(row.map(|(tenant, url, secret)| Webhook { id, tenant_id: TenantId(tenant), url, secret }))
            }

            async fn delete_webhook(&self, tenant: TenantId, id: i64) -> Result<()> {
                let r = sqlx::query("DELETE FROM webhooks WHERE tenant_id = $1 AND id = $2")
                    .bind(tenant.0)
                    .bind(id)
                    .execute(&self.writer)
                    .await?;
                if r.rows_affected() == 0 { Err(StoreError::NotFound) } else { Ok(()) }
            }

            async fn arrive(&self, new: &NewEntry, now: Timestamp) -> Result<Entry> {
                let Some(appointment) = new.appointment_id.filter(|_| new.kind == EntryKind::Appointment) else {
                    return Err(StoreError::NotFound);
                };
                for _ in 0..SEAT_RACE_RETRIES {
                    match self.try_arrive(new, appointment, now).await {
                        // Another tab or node created the entry first: read it on the next round.
                        Err(StoreError::Database(e)) if is_unique_violation(&e) => tokio::task::yield_now().await,
                        other => return other,
                    }
                }
                Err(StoreError::Contended)
            }

            async fn add_entry(&self, new: &NewEntry, now: Timestamp) -> Result<Entry> {
                let (status, admitted_at) =
                    if new.direct { (EntryStatus::Admitted, Some(now)) } else { (EntryStatus::Waiting, None) };
                let mut tx = self.begin_write().await?;
                let row = Self::insert_entry(&mut tx, new, status, admitted_at, None, now).await.map_err(duplicate_or)?;
                let Some(row) = row else {
                    tx.rollback().await?;
                    return Err(StoreError::NotFound);
                };
                tx.commit().await?;
                entry_from(row)
            }

            async fn take_ticket(
                &self,
                new: &NewEntry,
                day: jiff::civil::Date,
                now: Timestamp,
                outbox: &TicketOutbox<'_>,
            ) -> Result<Entry> {
                let mut tx = self.begin_write().await?;
                let office: Option<(i64,)> = sqlx::query_as("SELECT id FROM offices WHERE id = $1 AND tenant_id = $2")
                    .bind(new.office_id.0)
                    .bind(new.tenant_id.0)
                    .fetch_optional(&mut *tx)
                    .await?;
                if office.is_none() {
                    tx.rollback().await?;
                    return Err(StoreError::NotFound);
                }
                let day = day.to_string();
                // One counter row per office and day: concurrent takers queue on its row lock
                // (PostgreSQL) or on the write lock (SQLite), so no number is given twice.
                let (number,): (i32,) = sqlx::query_as(
                    "INSERT INTO ticket_counters (office_id, day, last_number) VALUES ($1, $2, 1) \
                     ON CONFLICT (office_id, day) DO UPDATE SET last_number = ticket_counters.last_number + 1 \
                     RETURNING last_number",
                )
                .bind(new.office_id.0)
                .bind(&day)
                .fetch_one(&mut *tx)
                .await?;
                let ticket = NewEntry { kind: EntryKind::Ticket, ..new.clone() };
                let row = Self::insert_entry(&mut tx, &ticket, EntryStatus::Waiting, None, Some((day, number)), now)
                    .await
                    .map_err(duplicate_or)?;
                let Some(row) = row else {
                    tx.rollback().await?;
                    return Err(StoreError::NotFound);
                };
                Self::insert_outbox(&mut tx, new.tenant_id, None, &outbox(number), now).await?;
                tx.commit().await?;
                entry_from(row)
            }

            async fn entry(&self, tenant: TenantId, id: EntryId) -> Result<Option<Entry>> {
                let row: Option<EntryRow> =
                    sqlx::query_as(&format!("SELECT {ENTRY_COLUMNS} FROM entries WHERE tenant_id = $1 AND id = $2"))
                        .bind(tenant.0)
                        .bind(id.0)
                        .fetch_optional(&self.reader)
                        .await?;
                row.map(entry_from).transpose()
            }

            async fn entry_by_token(&self, token_hash: &str) -> Result<Option<Entry>> {
                let row: Option<EntryRow> =
                    sqlx::query_as(&format!("SELECT {ENTRY_COLUMNS} FROM entries WHERE token_hash = $1"))
                        .bind(token_hash)
                        .fetch_optional(&self.reader)
                        .await?;
                row.map(entry_from).transpose()
            }

            async fn entry_for_appointment(&self, tenant: TenantId, appointment: AppointmentId) -> Result<Option<Entry>> {
                let row: Option<EntryRow> = sqlx::query_as(&format!(
                    "SELECT {ENTRY_COLUMNS} FROM entries WHERE tenant_id = $1 AND appointment_id = $2 \
                     AND kind = 'appointment' ORDER BY id DESC LIMIT 1"
                ))
                .bind(tenant.0)
                .bind(appointment.0)
                .fetch_optional(&self.reader)
                .await?;
                row.map(entry_from).transpose()
            }

            async fn office_entries(&self, tenant: TenantId, office: OfficeId) -> Result<Vec<Entry>> {
                let rows: Vec<EntryRow> = sqlx::query_as(&format!(
                    "SELECT {ENTRY_COLUMNS} FROM entries WHERE tenant_id = $1 AND office_id = $2 AND {ACTIVE_ENTRY} \
                     ORDER BY arrived_at, id"
                ))
                .bind(tenant.0)
                .bind(office.0)
                .fetch_all(&self.reader)
                .await?;
                rows.into_iter().map(entry_from).collect()
            }

            async fn meeting_entries(&self, tenant: TenantId, meeting: MeetingId) -> Result<Vec<Entry>> {
                let rows: Vec<EntryRow> = sqlx::query_as(&format!(
                    "SELECT {ENTRY_COLUMNS} FROM entries WHERE tenant_id = $1 AND meeting_id = $2 ORDER BY id"
                ))
                .bind(tenant.0)
                .bind(meeting.0)
                .fetch_all(&self.reader)
                .await?;
                rows.into_iter().map(entry_from).collect()
            }

            async fn update_entry(&self, entry: &Entry, expected: EntryStatus) -> Result<()> {
                if Self::write_entry(&self.writer, entry, expected).await? == 1 {
                    return Ok(());
                }
                Err(Self::entry_not_written(&self.writer, entry, expected).await)
            }

            async fn update_entry_closing_appointment(
                &self,
                entry: &Entry,
                expected: EntryStatus,
                appointment: AppointmentStatus,
                now: Timestamp,
            ) -> Result<()> {
                let mut tx = self.begin_write().await?;
                if Self::write_entry(&mut *tx, entry, expected).await? != 1 {
                    let err = Self::entry_not_written(&mut *tx, entry, expected).await;
                    tx.rollback().await?;
                    return Err(err);
                }
                if let Some(a) = entry.appointment_id {
                    Self::close_appointment(&mut tx, entry.tenant_id, a.0, appointment, now).await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn create_meeting(
                &self,
                tenant: TenantId,
                office: OfficeId,
                appointment: Option<AppointmentId>,
                public_id: &str,
                node: Option<&str>,
                now: Timestamp,
            ) -> Result<Meeting> {
                let row: Option<MeetingTuple> = sqlx::query_as(&format!(
                    "INSERT INTO meetings (tenant_id, office_id, appointment_id, public_id, started_at, node) \
                     SELECT $1, $2, $3, $4, $5, $6 \
                     WHERE EXISTS (SELECT 1 FROM offices WHERE id = $2 AND tenant_id = $1) \
                     AND ($3 IS NULL OR EXISTS (SELECT 1 FROM appointments WHERE id = $3 AND tenant_id = $1)) \
                     RETURNING {MEETING_COLUMNS}"
                ))
                .bind(tenant.0)
                .bind(office.0)
                .bind(appointment.map(|a| a.0))
                .bind(public_id)
                .bind(now.as_second())
                .bind(node)
                .fetch_optional(&self.writer)
                .await
                .map_err(duplicate_or)?;
                row.map(meeting_from).transpose()?.ok_or(StoreError::NotFound)
            }

            async fn meeting(&self, tenant: TenantId, id: MeetingId) -> Result<Option<Meeting>> {
                let row: Option<MeetingTuple> =
                    sqlx::query_as(&format!("SELECT {MEETING_COLUMNS} FROM meetings WHERE tenant_id = $1 AND id = $2"))
                        .bind(tenant.0)
                        .bind(id.0)
                        .fetch_optional(&self.reader)
                        .await?;
                row.map(meeting_from).transpose()
            }

            async fn open_meetings(&self) -> Result<Vec<Meeting>> {
                let rows: Vec<MeetingTuple> =
                    sqlx::query_as(&format!("SELECT {MEETING_COLUMNS} FROM meetings WHERE ended_at IS NULL ORDER BY id"))
                        .fetch_all(&self.reader)
                        .await?;
                rows.into_iter().map(meeting_from).collect()
            }

            async fn move_meeting(
                &self,
                tenant: TenantId,
                id: MeetingId,
                from: &str,
                to: &str,
                alive_since: Timestamp,
            ) -> Result<Option<Meeting>> {
                // Compare-and-set on the old node, with its death checked in the same statement:
                // two survivors cannot both take the meeting, nor anyone take it from a node
                // whose heartbeat came back meanwhile.
                sqlx::query(
                    "UPDATE meetings SET node = $1 WHERE tenant_id = $2 AND id = $3 AND node = $4 \
                     AND ended_at IS NULL \
                     AND NOT EXISTS (SELECT 1 FROM nodes WHERE url = $4 AND last_seen_ms >= $5)",
                )
                .bind(to)
                .bind(tenant.0)
                .bind(id.0)
                .bind(from)
                .bind(alive_since.as_millisecond())
                .execute(&self.writer)
                .await?;
                let row: Option<MeetingTuple> =
                    sqlx::query_as(&format!("SELECT {MEETING_COLUMNS} FROM meetings WHERE tenant_id = $1 AND id = $2"))
                        .bind(tenant.0)
                        .bind(id.0)
                        .fetch_optional(&self.writer)
                        .await?;
                row.map(meeting_from).transpose()
            }

            async fn end_meeting(&self, tenant: TenantId, id: MeetingId, now: Timestamp) -> Result<Vec<Entry>> {
                self.end_meeting_with(tenant, id, now, &[]).await
            }

            async fn recent_service_seconds(&self, tenant: TenantId, office: OfficeId, limit: i64) -> Result<Vec<i64>> {
                // Citizens only: the official's and invitees' time is not a service time.
                let rows: Vec<(i64,)> = sqlx::query_as(
                    "SELECT ended_at - joined_at FROM entries WHERE tenant_id = $1 AND office_id = $2 \
                     AND status = 'done' AND kind IN ('appointment', 'ticket') \
                     AND joined_at IS NOT NULL AND ended_at IS NOT NULL \
                     ORDER BY ended_at DESC, id DESC LIMIT $3",
                )
                .bind(tenant.0)
                .bind(office.0)
                .bind(limit)
                .fetch_all(&self.reader)
                .await?;
                Ok(rows.into_iter().map(|(s,)| s).collect())
            }

            async fn add_document(
                &self,
                tenant: TenantId,
                meeting: MeetingId,
                entry: EntryId,
                name: &str,
                content_type: &str,
                body: &[u8],
                now: Timestamp,
            ) -> Result<DocumentMeta> {
                let size = i64::try_from(body.len()).map_err(|_| StoreError::Corrupt("document too large".into()))?;
                let row: Option<DocumentTuple> = sqlx::query_as(&format!(
                    "INSERT INTO documents (tenant_id, meeting_id, entry_id, name, content_type, size, body, created_at) \
                     SELECT $1, $2, $3, $4, $5, $6, $7, $8 \
                     WHERE EXISTS (SELECT 1 FROM entries e JOIN meetings m ON m.id = e.meeting_id \
                     WHERE e.id = $3 AND m.id = $2 AND m.tenant_id = $1 AND e.tenant_id = $1 AND m.ended_at IS NULL) \
                     RETURNING {DOCUMENT_COLUMNS}"
                ))
                .bind(tenant.0)
                .bind(meeting.0)
                .bind(entry.0)
                .bind(name)
                .bind(content_type)
                .bind(size)
                .bind(body)
                .bind(now.as_second())
                .fetch_optional(&self.writer)
                .await?;
                row.map(document_from).transpose()?.ok_or(StoreError::NotFound)
            }

            async fn documents(&self, tenant: TenantId, meeting: MeetingId) -> Result<Vec<DocumentMeta>> {
                let rows: Vec<DocumentTuple> = sqlx::query_as(&format!(
                    "SELECT {DOCUMENT_COLUMNS} FROM documents WHERE tenant_id = $1 AND meeting_id = $2 ORDER BY id"
                ))
                .bind(tenant.0)
                .bind(meeting.0)
                .fetch_all(&self.reader)
                .await?;
                rows.into_iter().map(document_from).collect()
            }

            async fn document(
                &self,
                tenant: TenantId,
                meeting: MeetingId,
                id: DocumentId,
            ) -> Result<Option<(DocumentMeta, Vec<u8>)>> {
                let row: Option<(i64, i64, i64, String, String, i64, i64, Vec<u8>)> = sqlx::query_as(&format!(
                    "SELECT {DOCUMENT_COLUMNS}, body FROM documents WHERE tenant_id = $1 AND meeting_id = $2 AND id = $3"
                ))
                .bind(tenant.0)
                .bind(meeting.0)
                .bind(id.0)
                .fetch_optional(&self.reader)
                .await?;
                let Some((id, meeting, entry, name, content_type, size, created_at, body)) = row else {
                    return Ok(None);
                };
                Ok(Some((document_from((id, meeting, entry, name, content_type, size, created_at))?, body)))
            }

            async fn purge_documents(&self, before: Timestamp) -> Result<u64> {
                let r = sqlx::query("DELETE FROM documents WHERE created_at < $1")
                    .bind(before.as_second())
                    .execute(&self.writer)
                    .await?;
                Ok(r.rows_affected())
            }

            async fn add_chat_line(
                &self,
                tenant: TenantId,
                meeting: MeetingId,
                entry: EntryId,
                name: &str,
                text: &str,
                now: Timestamp,
            ) -> Result<ChatLine> {
                let row: Option<ChatTuple> = sqlx::query_as(&format!(
                    "INSERT INTO chat_lines (tenant_id, meeting_id, entry_id, name, text, created_at) \
                     SELECT $1, $2, $3, $4, $5, $6 \
                     WHERE EXISTS (SELECT 1 FROM entries e JOIN meetings m ON m.id = e.meeting_id \
                     WHERE e.id = $3 AND m.id = $2 AND m.tenant_id = $1 AND e.tenant_id = $1 AND m.ended_at IS NULL) \
                     RETURNING {CHAT_COLUMNS}"
                ))
                .bind(tenant.0)
                .bind(meeting.0)
                .bind(entry.0)
                .bind(name)
                .bind(text)
                .bind(now.as_second())
                .fetch_optional(&self.writer)
                .await?;
                row.map(chat_line_from).transpose()?.ok_or(StoreError::NotFound)
            }

            async fn chat_lines(&self, tenant: TenantId, meeting: MeetingId) -> Result<Vec<ChatLine>> {
                let rows: Vec<ChatTuple> = sqlx::query_as(&format!(
                    "SELECT {CHAT_COLUMNS} FROM chat_lines WHERE tenant_id = $1 AND meeting_id = $2 ORDER BY id"
                ))
                .bind(tenant.0)
                .bind(meeting.0)
                .fetch_all(&self.reader)
                .await?;
                rows.into_iter().map(chat_line_from).collect()
            }

            async fn set_walk_in(&self, tenant: TenantId, office: OfficeId, desk: &WalkInDesk) -> Result<()> {
                let mut tx = self.begin_write().await?;
                let r = sqlx::query(
                    "UPDATE offices SET walk_in_always = $1, walk_in_desks = $2 WHERE tenant_id = $3 AND id = $4",
                )
                .bind(i32::from(desk.always_open))
                .bind(i32::from(desk.hours.desks()))
                .bind(tenant.0)
                .bind(office.0)
                .execute(&mut *tx)
                .await?;
                if r.rows_affected() == 0 {
                    tx.rollback().await?;
                    return Err(StoreError::NotFound);
                }
                sqlx::query("DELETE FROM walk_in_ranges WHERE office_id = $1").bind(office.0).execute(&mut *tx).await?;
                for range in desk.hours.ranges() {
                    sqlx::query(
                        "INSERT INTO walk_in_ranges (office_id, weekday, start_minute, end_minute) VALUES ($1, $2, $3, $4)",
                    )
                    .bind(office.0)
                    .bind(i32::from(range.weekday().to_monday_one_offset()))
                    .bind(ricevo_core::hours::minutes_of_day(range.start()))
                    .bind(ricevo_core::hours::minutes_of_day(range.end()))
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn walk_in(&self, tenant: TenantId, office: OfficeId) -> Result<WalkInDesk> {
                let flags: Option<(i32, i32)> =
                    sqlx::query_as("SELECT walk_in_always, walk_in_desks FROM offices WHERE tenant_id = $1 AND id = $2")
                        .bind(tenant.0)
                        .bind(office.0)
                        .fetch_optional(&self.reader)
                        .await?;
                let Some((always_open, desks)) = flags else { return Err(StoreError::NotFound) };
                let ranges: Vec<(i32, i32, i32)> = sqlx::query_as(
                    "SELECT weekday, start_minute, end_minute FROM walk_in_ranges WHERE office_id = $1 \
                     ORDER BY weekday, start_minute",
                )
                .bind(office.0)
                .fetch_all(&self.reader)
                .await?;
                walk_in_from(always_open, desks, &ranges)
            }

            // ---- privacy (the statements are in privacy.rs) ----
            async fn citizen_record(&self, tenant: TenantId, lookup: &$crate::CitizenLookup) -> Result<$crate::CitizenRecord> {
                self.privacy_record(tenant, lookup).await
            }

            async fn erase_citizen(
                &self,
                tenant: TenantId,
                lookup: &$crate::CitizenLookup,
                now: Timestamp,
            ) -> Result<$crate::Erasure> {
                self.privacy_erase(tenant, lookup, now).await
            }

            async fn purge_personal_before(&self, tenant: TenantId, before: Timestamp) -> Result<$crate::RetentionCounts> {
                self.privacy_retention(tenant, before).await
            }

            // --- Audit log ---
            async fn record_audit(&self, e: &NewAuditEntry) -> Result<()> {
                sqlx::query(
                    "INSERT INTO audit_log (tenant_id, at, actor_kind, actor_id, actor_name, act, subject_kind, \
                     subject_id, citizen_name, detail, source) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                )
                .bind(e.tenant_id.0)
                .bind(e.at.as_second())
                .bind(e.actor.kind())
                .bind(e.actor.id())
                .bind(e.actor.name())
                .bind(e.act.code())
                .bind(e.subject.kind())
                .bind(e.subject.id())
                .bind(e.citizen_name.as_deref())
                .bind(&e.detail)
                .bind(e.source.as_deref())
                .execute(&self.writer)
                .await?;
                Ok(())
            }

            async fn audit_log(&self, tenant: TenantId, filter: &AuditFilter) -> Result<Vec<AuditEntry>> {
                let (sql, binds) = $crate::sql::audit_query(tenant, filter);
                let mut q = sqlx::query_as::<_, $crate::sql::AuditTuple>(&sql);
                for b in binds {
                    q = match b {
                        $crate::sql::AuditBind::Int(v) => q.bind(v),
                        $crate::sql::AuditBind::Text(v) => q.bind(v),
                    };
                }
                q.fetch_all(&self.reader).await?.into_iter().map($crate::sql::audit_from).collect()
            }

            async fn purge_audit(&self, before: Timestamp) -> Result<u64> {
                let r = sqlx::query("DELETE FROM audit_log WHERE at < $1")
                    .bind(before.as_second())
                    .execute(&self.writer)
                    .await?;
                Ok(r.rows_affected())
            }

            // --- Staff accounts, second factor, API tokens, town settings and suspension (issue 12).

            async fn update_tenant_settings(&self, id: TenantId, t: &TenantSettings) -> Result<()> {
                let r = sqlx::query(
                    "UPDATE tenants SET name = $1, time_zone = $2, patron_day = $3, contact_email = $4, \
                     retention_days = $5, website = $6, address = $7, pec = $8, languages = $9, \
                     privacy_controller = $10, privacy_dpo_contact = $11, privacy_legal_basis = $12, \
                     accessibility_statement_url = $13, accessibility_statement_text = $14 WHERE id = $15",
                )
                .bind(&t.name)
                .bind(&t.time_zone)
                .bind(&t.patron_day)
                .bind(&t.contact_email)
                .bind(t.retention_days)
                .bind(&t.website)
                .bind(&t.address)
                .bind(&t.pec)
                .bind($crate::languages_to_db(&t.languages))
                .bind(&t.privacy_controller)
                .bind(&t.privacy_dpo_contact)
                .bind(&t.privacy_legal_basis)
                .bind(&t.accessibility_statement_url)
                .bind(&t.accessibility_statement_text)
                .bind(id.0)
                .execute(&self.writer)
                .await?;
                if r.rows_affected() == 0 { Err(StoreError::NotFound) } else { Ok(()) }
            }

            async fn set_emblem(&self, id: TenantId, emblem: Option<(&str, &[u8])>, now: Timestamp) -> Result<()> {
                match emblem {
                    Some((content_type, body)) => {
                        let r = sqlx::query(
                            "INSERT INTO tenant_emblems (tenant_id, content_type, body, updated_at) \
                             SELECT id, $2, $3, $4 FROM tenants WHERE id = $1 \
                             ON CONFLICT (tenant_id) DO UPDATE SET content_type = excluded.content_type, \
                             body = excluded.body, updated_at = excluded.updated_at",
                        )
                        .bind(id.0)
                        .bind(content_type)
                        .bind(body)
                        .bind(now.as_second())
                        .execute(&self.writer)
                        .await?;
                        if r.rows_affected() == 0 { Err(StoreError::NotFound) } else { Ok(()) }
                    }
                    None => {
                        sqlx::query("DELETE FROM tenant_emblems WHERE tenant_id = $1").bind(id.0).execute(&self.writer).await?;
                        Ok(())
                    }
                }
            }

            async fn emblem(&self, id: TenantId) -> Result<Option<(String, Vec<u8>)>> {
                Ok(sqlx::query_as("SELECT content_type, body FROM tenant_emblems WHERE tenant_id = $1")
                    .bind(id.0)
                    .fetch_optional(&self.reader)
                    .await?)
            }

            async fn set_tenant_disabled(&self, id: TenantId, disabled_at: Option<Timestamp>) -> Result<()> {
                let r = sqlx::query("UPDATE tenants SET disabled_at = $1 WHERE id = $2")
                    .bind(disabled_at.map(|t| t.as_second()))
                    .bind(id.0)
                    .execute(&self.writer)
                    .await?;
                if r.rows_affected() == 0 { Err(StoreError::NotFound) } else { Ok(()) }
            }

            async fn update_user(&self, tenant: TenantId, id: UserId, change: &AccountChange) -> Result<User> {
                let mut tx = self.begin_write().await?;
                // Locks the town's row: two administrators demoting each other at once are
                // counted one after the other.
                sqlx::query("UPDATE tenants SET id = id WHERE id = $1").bind(tenant.0).execute(&mut *tx).await?;
                let r = sqlx::query("UPDATE users SET email = $1, name = $2, role = $3 WHERE tenant_id = $4 AND id = $5")
                    .bind(change.email.trim().to_lowercase())
                    .bind(&change.name)
                    .bind(change.role.as_str())
                    .bind(tenant.0)
                    .bind(id.0)
                    .execute(&mut *tx)
                    .await
                    .map_err(duplicate_or)?;
                if r.rows_affected() == 0 {
                    tx.rollback().await?;
                    return Err(StoreError::NotFound);
                }
                sqlx::query("DELETE FROM user_offices WHERE user_id = $1").bind(id.0).execute(&mut *tx).await?;
                if change.role != Role::Admin {
                    for office in &change.offices {
                        let r = sqlx::query(
                            "INSERT INTO user_offices (user_id, office_id) SELECT $1, id FROM offices \
                             WHERE id = $2 AND tenant_id = $3",
                        )
                        .bind(id.0)
                        .bind(office.0)
                        .bind(tenant.0)
                        .execute(&mut *tx)
                        .await?;
                        if r.rows_affected() != 1 {
                            tx.rollback().await?;
                            return Err(StoreError::NotFound);
                        }
                    }
                }
                if !Self::has_administrator(&mut tx, tenant).await? {
                    tx.rollback().await?;
                    return Err(StoreError::LastAdministrator);
                }
                tx.commit().await?;
                self.user(tenant, id).await?.ok_or(StoreError::NotFound)
            }

            async fn set_user_disabled(&self, tenant: TenantId, id: UserId, disabled_at: Option<Timestamp>) -> Result<()> {
                let mut tx = self.begin_write().await?;
                sqlx::query("UPDATE tenants SET id = id WHERE id = $1").bind(tenant.0).execute(&mut *tx).await?;
                let r = sqlx::query("UPDATE users SET disabled_at = $1 WHERE tenant_id = $2 AND id = $3")
                    .bind(disabled_at.map(|t| t.as_second()))
                    .bind(tenant.0)
                    .bind(id.0)
                    .execute(&mut *tx)
                    .await?;
                if r.rows_affected() == 0 {
                    tx.rollback().await?;
                    return Err(StoreError::NotFound);
                }
                if disabled_at.is_some() {
                    if !Self::has_administrator(&mut tx, tenant).await? {
                        tx.rollback().await?;
                        return Err(StoreError::LastAdministrator);
                    }
                    // Its sessions end with it, pending ones too.
                    sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(id.0).execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn set_second_factor(
                &self,
                tenant: TenantId,
                id: UserId,
                secret: Option<&str>,
                recovery_hashes: &[String],
            ) -> Result<()> {
                let mut tx = self.begin_write().await?;
                let r = sqlx::query(
                    "UPDATE users SET totp_secret = $1, totp_last_step = NULL WHERE tenant_id = $2 AND id = $3",
                )
                .bind(secret)
                .bind(tenant.0)
                .bind(id.0)
                .execute(&mut *tx)
                .await?;
                if r.rows_affected() == 0 {
                    tx.rollback().await?;
                    return Err(StoreError::NotFound);
                }
                sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1").bind(id.0).execute(&mut *tx).await?;
                if secret.is_some() {
                    for hash in recovery_hashes {
                        sqlx::query("INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)")
                            .bind(id.0)
                            .bind(hash)
                            .execute(&mut *tx)
                            .await?;
                    }
                }
                tx.commit().await?;
                Ok(())
            }

            async fn take_totp_step(&self, tenant: TenantId, id: UserId, step: i64) -> Result<bool> {
                let r = sqlx::query(
                    "UPDATE users SET totp_last_step = $1 WHERE tenant_id = $2 AND id = $3 \
                     AND totp_secret IS NOT NULL AND (totp_last_step IS NULL OR totp_last_step < $1)",
                )
                .bind(step)
                .bind(tenant.0)
                .bind(id.0)
                .execute(&self.writer)
                .await?;
                Ok(r.rows_affected() == 1)
            }

            async fn use_recovery_code(&self, tenant: TenantId, id: UserId, code_hash: &str) -> Result<bool> {
                let r = sqlx::query(
                    "DELETE FROM recovery_codes WHERE user_id = $1 AND code_hash = $2 \
                     AND user_id IN (SELECT id FROM users WHERE tenant_id = $3 AND totp_secret IS NOT NULL)",
                )
                .bind(id.0)
                .bind(code_hash)
                .bind(tenant.0)
                .execute(&self.writer)
                .await?;
                Ok(r.rows_affected() == 1)
            }

            async fn recovery_codes_left(&self, tenant: TenantId, id: UserId) -> Result<i64> {
                let (n,): (i64,) = sqlx::query_as(
                    "SELECT COUNT(*) FROM recovery_codes r JOIN users u ON u.id = r.user_id \
                     WHERE u.tenant_id = $1 AND u.id = $2",
                )
                .bind(tenant.0)
                .bind(id.0)
                .fetch_one(&self.reader)
                .await?;
                Ok(n)
            }

            async fn create_pending_session(&self, token_hash: &str, user: UserId, expires_at: Timestamp) -> Result<()> {
                sqlx::query(
                    "INSERT INTO sessions (token_hash, user_id, csrf_token, expires_at, pending) VALUES ($1, $2, '', $3, 1)",
                )
                .bind(token_hash)
                .bind(user.0)
                .bind(expires_at.as_second())
                .execute(&self.writer)
                .await?;
                Ok(())
            }

            async fn pending_session(&self, token_hash: &str, now: Timestamp) -> Result<Option<User>> {
                let row: Option<(i64, i64)> = sqlx::query_as(
                    "SELECT u.tenant_id, u.id FROM sessions s JOIN users u ON u.id = s.user_id \
                     WHERE s.token_hash = $1 AND s.expires_at > $2 AND s.pending = 1 AND u.disabled_at IS NULL",
                )
                .bind(token_hash)
                .bind(now.as_second())
                .fetch_optional(&self.writer)
                .await?;
                let Some((tenant, user)) = row else { return Ok(None) };
                self.user(TenantId(tenant), UserId(user)).await
            }

            async fn api_tokens(&self, tenant: TenantId) -> Result<Vec<ApiTokenInfo>> {
                let rows: Vec<(i64, String, String, Option<i64>, i64, Option<i64>, Option<i64>)> = sqlx::query_as(
                    "SELECT id, label, role, office_id, created_at, last_used_at, revoked_at FROM api_tokens \
                     WHERE tenant_id = $1 ORDER BY id DESC",
                )
                .bind(tenant.0)
                .fetch_all(&self.reader)
                .await?;
                rows.into_iter()
                    .map(|(id, label, role, office, created, used, revoked)| {
                        Ok(ApiTokenInfo {
                            id,
                            tenant_id: tenant,
                            label,
                            role: Role::parse(&role).ok_or_else(|| StoreError::Corrupt(format!("role {role}")))?,
                            office: office.map(OfficeId),
                            created_at: instant(created)?,
                            last_used_at: used.map(instant).transpose()?,
                            revoked_at: revoked.map(instant).transpose()?,
                        })
                    })
                    .collect()
            }

            async fn revoke_api_token(&self, tenant: TenantId, id: i64, now: Timestamp) -> Result<()> {
                let r = sqlx::query(
                    "UPDATE api_tokens SET revoked_at = $1 WHERE tenant_id = $2 AND id = $3 AND revoked_at IS NULL",
                )
                .bind(now.as_second())
                .bind(tenant.0)
                .bind(id)
                .execute(&self.writer)
                .await?;
                if r.rows_affected() == 0 { Err(StoreError::NotFound) } else { Ok(()) }
            }

            async fn touch_api_token(&self, token_hash: &str, now: Timestamp) -> Result<()> {
                sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE token_hash = $2")
                    .bind(now.as_second())
                    .bind(token_hash)
                    .execute(&self.writer)
                    .await?;
                Ok(())
            }
            // ---- surveys ----
            async fn create_questionnaire(
                &self,
                tenant: TenantId,
                q: &$crate::NewQuestionnaire,
                now: Timestamp,
            ) -> Result<$crate::StoredQuestionnaire> {
                self.surveys_create(tenant, q, now).await
            }

            async fn update_questionnaire(
                &self,
                tenant: TenantId,
                id: ricevo_core::survey::QuestionnaireId,
                q: &$crate::NewQuestionnaire,
                now: Timestamp,
            ) -> Result<()> {
                self.surveys_update(tenant, id, q, now).await
            }

            async fn set_questionnaire_status(
                &self,
                tenant: TenantId,
                id: ricevo_core::survey::QuestionnaireId,
                status: ricevo_core::survey::SurveyStatus,
                now: Timestamp,
            ) -> Result<()> {
                self.surveys_set_status(tenant, id, status, now).await
            }

            async fn questionnaire(
                &self,
                tenant: TenantId,
                id: ricevo_core::survey::QuestionnaireId,
            ) -> Result<Option<$crate::StoredQuestionnaire>> {
                self.surveys_one(tenant, id).await
            }

            async fn questionnaires(&self, tenant: TenantId) -> Result<Vec<$crate::StoredQuestionnaire>> {
                self.surveys_all(tenant).await
            }

            async fn add_response(&self, r: &$crate::NewResponse) -> Result<i64> {
                self.surveys_add_response(r).await
            }

            async fn responses(
                &self,
                tenant: TenantId,
                questionnaire: Option<ricevo_core::survey::QuestionnaireId>,
                filter: &$crate::ResponseFilter,
            ) -> Result<Vec<$crate::StoredResponse>> {
                self.surveys_responses(tenant, questionnaire, filter).await
            }

            async fn start_kiosk(&self, token_hash: &str, pass: &$crate::KioskPass) -> Result<$crate::KioskPass> {
                self.surveys_start_kiosk(token_hash, pass).await
            }

            async fn kiosk_pass(&self, token_hash: &str, now: Timestamp) -> Result<Option<$crate::KioskPass>> {
                self.surveys_kiosk_pass(token_hash, now).await
            }

            async fn kiosk_passes(
                &self,
                tenant: TenantId,
                questionnaire: ricevo_core::survey::QuestionnaireId,
                now: Timestamp,
            ) -> Result<Vec<$crate::KioskPass>> {
                self.surveys_kiosk_passes(tenant, questionnaire, now).await
            }

            async fn revoke_kiosk_pass(&self, tenant: TenantId, id: i64, now: Timestamp) -> Result<()> {
                self.surveys_revoke_kiosk(tenant, id, now).await
            }
            // ---- end surveys ----
            // ---- feedback (the statements are in feedback.rs) ----
            async fn end_meeting_asking_feedback(
                &self,
                tenant: TenantId,
                id: MeetingId,
                now: Timestamp,
                asks: &[$crate::MeetingFeedback],
            ) -> Result<Vec<Entry>> {
                self.end_meeting_with(tenant, id, now, asks).await
            }
            async fn set_status_asking_feedback(
                &self,
                tenant: TenantId,
                id: AppointmentId,
                from: AppointmentStatus,
                to: AppointmentStatus,
                now: Timestamp,
                ask: &$crate::NewFeedbackRequest,
            ) -> Result<()> {
                self.feedback_set_status(tenant, id, from, to, now, ask).await
            }
            async fn feedback_request(&self, token_hash: &str) -> Result<Option<$crate::FeedbackRequest>> {
                self.feedback_request_by_hash(token_hash).await
            }
            async fn feedback_request_about(
                &self,
                tenant: TenantId,
                subject: $crate::FeedbackSubject,
            ) -> Result<Option<$crate::FeedbackRequest>> {
                self.feedback_request_of(tenant, subject).await
            }
            async fn answer_feedback(
                &self,
                tenant: TenantId,
                token_hash: &str,
                now: Timestamp,
                response: &$crate::NewResponse,
            ) -> Result<$crate::FeedbackAnswer> {
                self.feedback_answer(tenant, token_hash, now, response).await
            }
            async fn ticket_contact(&self, tenant: TenantId, entry: EntryId) -> Result<Option<$crate::TicketContact>> {
                self.feedback_ticket_contact(tenant, entry).await
            }
            // ---- end feedback ----
            // ---- campaigns (the statements are in campaigns.rs) ----
            async fn import_contacts(&self, tenant: TenantId, contacts: &[$crate::NewContact], now: Timestamp) -> Result<$crate::ContactsImported> {
                self.campaigns_import(tenant, contacts, now).await
            }
            async fn contacts(&self, tenant: TenantId, limit: i64) -> Result<Vec<$crate::SurveyContact>> {
                self.campaigns_contacts(tenant, limit).await
            }
            async fn contact_counts(&self, tenant: TenantId) -> Result<$crate::ContactCounts> {
                self.campaigns_contact_counts(tenant).await
            }
            async fn create_campaign(&self, tenant: TenantId, c: &$crate::NewCampaign, now: Timestamp) -> Result<$crate::Campaign> {
                self.campaigns_create(tenant, c, now).await
            }
            async fn campaigns(&self, tenant: TenantId) -> Result<Vec<$crate::Campaign>> {
                self.campaigns_list(tenant).await
            }
            async fn campaign(&self, tenant: TenantId, id: i64) -> Result<Option<$crate::Campaign>> {
                self.campaigns_one(tenant, id).await
            }
            async fn running_campaigns(&self) -> Result<Vec<$crate::Campaign>> {
                self.campaigns_running().await
            }
            async fn set_campaign_status(
                &self,
                tenant: TenantId,
                id: i64,
                from: ricevo_core::campaign::CampaignStatus,
                to: ricevo_core::campaign::CampaignStatus,
                now: Timestamp,
            ) -> Result<u64> {
                self.campaigns_set_status(tenant, id, from, to, now).await
            }
            async fn campaign_queued_since(&self, tenant: TenantId, since: Timestamp) -> Result<i64> {
                self.campaigns_queued_since(tenant, since).await
            }
            async fn pending_recipients(&self, tenant: TenantId, campaign: i64, limit: i64) -> Result<Vec<$crate::PendingRecipient>> {
                self.campaigns_pending(tenant, campaign, limit).await
            }
            async fn queue_campaign_messages(
                &self,
                tenant: TenantId,
                campaign: i64,
                messages: &[$crate::QueuedMessage],
                now: Timestamp,
            ) -> Result<u64> {
                self.campaigns_queue(tenant, campaign, messages, now).await
            }
            async fn sync_campaign(&self, tenant: TenantId, campaign: i64) -> Result<()> {
                self.campaigns_sync(tenant, campaign).await
            }
            async fn campaign_progress(&self, tenant: TenantId, campaign: i64) -> Result<$crate::CampaignProgress> {
                self.campaigns_progress(tenant, campaign).await
            }
            async fn campaign_problems(&self, tenant: TenantId, campaign: i64, limit: i64) -> Result<Vec<$crate::RecipientProblem>> {
                self.campaigns_problems(tenant, campaign, limit).await
            }
            async fn campaign_link(&self, token_hash: &str) -> Result<Option<$crate::CampaignLink>> {
                self.campaigns_link(token_hash).await
            }
            async fn unsubscribe_contact(&self, tenant: TenantId, contact: i64, now: Timestamp) -> Result<bool> {
                self.campaigns_unsubscribe(tenant, contact, now).await
            }
            async fn campaign_bounced(&self, tenant: TenantId, dedupe_key: &str, error: &str, now: Timestamp) -> Result<()> {
                self.campaigns_bounced(tenant, dedupe_key, error, now).await
            }
            async fn answer_campaign(
                &self,
                tenant: TenantId,
                recipient: i64,
                response: &$crate::NewResponse,
                now: Timestamp,
            ) -> Result<()> {
                self.campaigns_answer(tenant, recipient, response, now).await
            }
            // ---- end campaigns ----
            // ---- reports ----
            async fn report_facts(&self, scope: &$crate::ReportScope) -> Result<ricevo_core::report::Facts> {
                self.reports_facts(scope).await
            }
            // ---- end reports ----
            // ---- channels ----
            async fn town_channels(&self, tenant: TenantId) -> Result<Option<$crate::TownChannels>> {
                self.channels_read(tenant).await
            }
            async fn set_town_channels(&self, channels: &$crate::TownChannels) -> Result<()> {
                self.channels_write(channels).await
            }
            async fn town_outbox_failures(&self, tenant: TenantId, limit: i64) -> Result<Vec<$crate::OutboxFailure>> {
                self.channels_failures(tenant, limit).await
            }
            // ---- end channels ----
            // ---- webpush (the statements are in web_push.rs) ----
            async fn add_push_subscription(&self, s: &$crate::NewPushSubscription, now: Timestamp) -> Result<$crate::Subscribed> {
                self.web_push_subscribe(s, now).await
            }
            async fn push_subscriptions_of(
                &self,
                tenant: TenantId,
                entry: EntryId,
                appointment: Option<AppointmentId>,
                now: Timestamp,
            ) -> Result<Vec<$crate::PushSubscription>> {
                self.web_push_subscriptions_of(tenant, entry, appointment, now).await
            }
            async fn push_subscription(&self, id: i64) -> Result<Option<$crate::PushSubscription>> {
                self.web_push_subscription(id).await
            }
            async fn delete_push_subscription(&self, tenant: TenantId, id: i64) -> Result<()> {
                self.web_push_delete(tenant, id).await
            }
            async fn purge_push_subscriptions(&self, now: Timestamp) -> Result<u64> {
                self.web_push_purge(now).await
            }
            async fn set_web_push(&self, tenant: TenantId, on: bool) -> Result<()> {
                self.web_push_set(tenant, on).await
            }
            async fn update_entry_with_outbox(
                &self,
                entry: &Entry,
                expected: EntryStatus,
                outbox: &[NewOutboxMessage],
                now: Timestamp,
            ) -> Result<()> {
                self.web_push_update_entry(entry, expected, outbox, now).await
            }
            // ---- end webpush ----
            // ---- waitlist ----
            async fn join_waitlist(&self, e: &$crate::NewWaitlistEntry) -> Result<$crate::WaitlistEntry> {
                self.waitlist_join(e).await
            }
            async fn waitlist_entry_by_token(&self, token_hash: &str) -> Result<Option<$crate::WaitlistEntry>> {
                if token_hash.is_empty() {
                    return Ok(None);
                }
                self.waitlist_entry_by(None, -1, token_hash).await
            }
            async fn waitlist_entry(&self, tenant: TenantId, id: i64) -> Result<Option<$crate::WaitlistEntry>> {
                self.waitlist_entry_by(Some(tenant), id.max(0), "").await
            }
            async fn waitlist(&self, tenant: TenantId, service: Option<ServiceId>, only_waiting: bool) -> Result<Vec<$crate::WaitlistEntry>> {
                self.waitlist_line(tenant, service, only_waiting).await
            }
            async fn waitlist_offers(&self, tenant: TenantId, service: Option<ServiceId>, entry: Option<i64>) -> Result<Vec<$crate::WaitlistOffer>> {
                self.waitlist_offers_of(tenant, service, entry).await
            }
            async fn offer_waitlist_slot(&self, o: &$crate::NewWaitlistOffer) -> Result<Option<$crate::WaitlistOffer>> {
                self.waitlist_offer(o).await
            }
            async fn close_waitlist_offer(&self, tenant: TenantId, offer: i64, to: ricevo_core::waitlist::OfferState, now: Timestamp) -> Result<bool> {
                self.waitlist_close_offer(tenant, offer, to, now).await
            }
            async fn leave_waitlist(&self, tenant: TenantId, entry: i64, now: Timestamp) -> Result<()> {
                self.waitlist_leave(tenant, entry, now).await
            }
            async fn lapsed_waitlist_offers(&self, now: Timestamp, limit: i64) -> Result<Vec<$crate::WaitlistOffer>> {
                self.waitlist_lapsed(now, limit).await
            }
            async fn accept_waitlist_offer(&self, tenant: TenantId, offer: i64, new: &NewAppointment) -> Result<$crate::AcceptOutcome> {
                self.waitlist_accept(tenant, offer, new).await
            }
            // ---- end waitlist ----
            // ---- telegram ----
            async fn telegram_chat(&self, bot: &str, chat_id: i64, now: Timestamp) -> Result<Option<$crate::ChatState>> {
                self.telegram_chat_state(bot, chat_id, now).await
            }
            async fn save_telegram_chat(&self, chat: &$crate::ChatState) -> Result<()> {
                self.telegram_save_chat(chat).await
            }
            async fn telegram_update_first_seen(&self, bot: &str, update_id: i64, now: Timestamp) -> Result<bool> {
                self.telegram_first_seen(bot, update_id, now).await
            }
            async fn telegram_chat_appointments(
                &self,
                tenant: TenantId,
                chat_id: i64,
                from: Timestamp,
            ) -> Result<Vec<Appointment>> {
                self.telegram_appointments(tenant, chat_id, from).await
            }
            // ---- end telegram ----
            // ---- bench15 ----
            async fn queue_outbox(&self, tenant: TenantId, outbox: &[NewOutboxMessage], now: Timestamp) -> Result<()> {
                let mut tx = self.begin_write().await?;
                // 1,000 rows of 8 parameters stay under both engines' limits on one statement.
                for chunk in outbox.chunks(1000) {
                    Self::insert_outbox(&mut tx, tenant, None, chunk, now).await?;
                }
                tx.commit().await?;
                Ok(())
            }
            // ---- end bench15 ----
            // ---- staffoidc (the statements are in staff_sign_in.rs) ----
            async fn town_identity_provider(&self, tenant: TenantId) -> Result<Option<$crate::TownIdentityProvider>> {
                self.identity_provider_read(tenant).await
            }
            async fn set_town_identity_provider(&self, provider: &$crate::TownIdentityProvider) -> Result<()> {
                self.identity_provider_write(provider).await
            }
            async fn put_provider_sign_in(&self, pending: &$crate::PendingProviderSignIn, now: Timestamp) -> Result<()> {
                self.provider_sign_in_put(pending, now).await
            }
            async fn take_provider_sign_in(
                &self,
                browser_hash: &str,
                now: Timestamp,
            ) -> Result<Option<$crate::PendingProviderSignIn>> {
                self.provider_sign_in_take(browser_hash, now).await
            }
            async fn mark_session_via_provider(&self, token_hash: &str) -> Result<()> {
                self.session_via_provider_mark(token_hash).await
            }
            async fn session_via_provider(&self, token_hash: &str) -> Result<bool> {
                self.session_via_provider_read(token_hash).await
            }
            // ---- end staffoidc ----
            // ---- citizen (the statements are in citizen_identity.rs) ----
            async fn save_sign_in(&self, s: &$crate::NewSignIn, now: Timestamp) -> Result<()> {
                self.identity_save_sign_in(s, now).await
            }
            async fn take_sign_in(&self, state_hash: &str) -> Result<Option<$crate::StoredSignIn>> {
                self.identity_take_sign_in(state_hash).await
            }
            async fn open_citizen_session(&self, s: &$crate::NewCitizenSession, now: Timestamp) -> Result<i64> {
                self.identity_open_session(s, now).await
            }
            async fn citizen_session(&self, tenant: TenantId, token_hash: &str, now: Timestamp) -> Result<Option<$crate::CitizenSession>> {
                self.identity_session(tenant, token_hash, now).await
            }
            async fn close_citizen_session(&self, tenant: TenantId, token_hash: &str) -> Result<Option<$crate::CitizenSession>> {
                self.identity_close_session(tenant, token_hash).await
            }
            async fn purge_citizen_sign_ins(&self, now: Timestamp) -> Result<u64> {
                self.identity_purge(now).await
            }
            async fn verified_appointments(&self, tenant: TenantId, appointments: &[AppointmentId]) -> Result<Vec<(AppointmentId, String)>> {
                self.identity_of_appointments(tenant, appointments).await
            }
            async fn appointments_of_fiscal_code(&self, fiscal_code: &str, since: Timestamp) -> Result<Vec<Appointment>> {
                self.identity_appointments_of(fiscal_code, since).await
            }
            async fn set_service_requires_identity(&self, tenant: TenantId, service: ServiceId, on: bool) -> Result<()> {
                self.identity_set_service_required(tenant, service, on).await
            }
            async fn services_requiring_identity(&self, tenant: TenantId) -> Result<Vec<ServiceId>> {
                self.identity_services_required(tenant).await
            }
            async fn set_verified_max_active(&self, tenant: TenantId, max: Option<u16>) -> Result<()> {
                self.identity_set_verified_max(tenant, max).await
            }
            async fn verified_max_active(&self, tenant: TenantId) -> Result<Option<u16>> {
                self.identity_verified_max(tenant).await
            }
            // ---- end citizen ----
            // ---- council (the statements are in council.rs) ----
            async fn create_council_session(&self, s: &$crate::NewCouncilSession) -> Result<$crate::CouncilSessionFull> {
                self.council_create(s).await
            }
            async fn council_sessions(&self, tenant: TenantId) -> Result<Vec<$crate::CouncilSessionRecord>> {
                self.council_list(tenant).await
            }
            async fn council_session(
                &self,
                tenant: TenantId,
                id: ricevo_core::council::CouncilSessionId,
            ) -> Result<Option<$crate::CouncilSessionFull>> {
                self.council_full(tenant, id).await
            }
            async fn council_member_by_token(&self, tenant: TenantId, token_hash: &str) -> Result<Option<$crate::CouncilMemberRecord>> {
                if token_hash.is_empty() {
                    return Ok(None);
                }
                self.council_member_of_token(tenant, token_hash).await
            }
            async fn set_council_member_token(
                &self,
                tenant: TenantId,
                session: ricevo_core::council::CouncilSessionId,
                member: ricevo_core::council::MemberId,
                token_hash: &str,
            ) -> Result<()> {
                self.council_set_token(tenant, session, member, token_hash).await
            }
            async fn council_events(
                &self,
                tenant: TenantId,
                session: ricevo_core::council::CouncilSessionId,
            ) -> Result<Vec<ricevo_core::council::Event>> {
                self.council_log(tenant, session).await
            }
            async fn append_council_events(&self, a: &$crate::CouncilAppend<'_>) -> Result<()> {
                self.council_append(a).await
            }
            async fn council_votes(
                &self,
                tenant: TenantId,
                session: ricevo_core::council::CouncilSessionId,
            ) -> Result<Vec<(u32, ricevo_core::council::MemberId, ricevo_core::council::Choice)>> {
                self.council_vote_rows(tenant, session).await
            }
            async fn council_recording_keep_days(&self, tenant: TenantId) -> Result<Option<u16>> {
                self.council_keep_days(tenant).await
            }
            async fn set_council_recording_keep_days(&self, tenant: TenantId, days: Option<u16>) -> Result<()> {
                self.council_set_keep_days(tenant, days).await
            }
            async fn council_recordings_due(&self, now: Timestamp) -> Result<Vec<(TenantId, ricevo_core::council::CouncilSessionId)>> {
                self.council_due(now).await
            }
            async fn mark_council_recording_removed(
                &self,
                tenant: TenantId,
                session: ricevo_core::council::CouncilSessionId,
                now: Timestamp,
            ) -> Result<()> {
                self.council_removed(tenant, session, now).await
            }
            // ---- end council ----
        }
    };
}

pub(crate) use impl_store;

#[cfg(test)]
mod tests {
    #[test]
    fn the_outbox_insert_numbers_eight_parameters_a_row() {
        let sql = super::outbox_insert_sql(2);
        assert!(
            sql.contains(
                "VALUES ($1, $2, $3, $4, $5, $6, $7, $8), ($9, $10, $11, $12, $13, $14, $15, $16) ON CONFLICT"
            ),
            "{sql}"
        );
    }
}
