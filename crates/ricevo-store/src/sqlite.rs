//! The embedded engine: one SQLite file in WAL mode.
//!
//! Writes go through a pool of one connection, so SQLite never has to arbitrate between
//! this process's writers (deferred transactions upgrading to write locks would fail with
//! SQLITE_BUSY); reads use their own pool and run beside the writer thanks to WAL.
//! `synchronous=FULL` makes every acknowledged commit survive a power cut. To keep that
//! guarantee and still book thousands of appointments a second, concurrent bookings are
//! committed together (group commit): one transaction and one fsync for the batch, and no
//! caller hears "booked" before that fsync.
//!
//! The batch runs on a thread of its own that owns a `rusqlite` connection to the same file
//! with its statements prepared once: sqlx's SQLite driver hands every statement to its
//! connection thread and back, a wake-up of two threads per statement and some ten
//! statements per booking, which was most of the booking path's CPU. Here a batch of
//! bookings costs one hand-off. The batch holds the writer pool's connection while it runs,
//! so the other writes of this process wait their turn in the pool (fairly) instead of
//! polling SQLite's lock; another process on the same file is kept out by the lock itself
//! (`BEGIN IMMEDIATE`, `busy_timeout`).

use std::borrow::Cow;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;
use ricevo_core::lobby::{Entry, EntryStatus, WalkInDesk};
use ricevo_core::slots::Booked;
use ricevo_core::{
    AppointmentId, DocumentId, EntryId, MeetingId, Mode, OfficeId, OpeningHours, ServiceId, TenantId, UserId,
};
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use tokio::sync::{mpsc, oneshot};

use crate::sql::{
    APPOINTMENT_IDENTITY_INSERT, APPOINTMENT_INSERT, CITIZEN_ACTIVE_COUNT, CITIZEN_KEY_INSERT, IDEMPOTENCY_INSERT,
    IDEMPOTENCY_SELECT, PUBLIC_ID_TAKEN, SEAT_INSERT, SEATS_TAKEN_SELECT, impl_store, outbox_insert_sql, three_keys,
};
use crate::*;

/// Most bookings committed in one transaction.
const MAX_GROUP: usize = 256;

/// How long a writer waits for another process's write lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

type Booking = std::result::Result<BookOutcome, sqlx::Error>;
type BookingReply = oneshot::Sender<Booking>;
/// Bookings for the group-commit thread, and where it sends their answers (in order).
type Batch = (Vec<NewAppointment>, oneshot::Sender<Vec<Booking>>);

/// Ricevo's store on an SQLite file.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    reader: SqlitePool,
    writer: SqlitePool,
    group: mpsc::Sender<(NewAppointment, BookingReply)>,
}

impl SqliteStore {
    const MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

    /// Opens (creating if needed) the database at `url`, such as `sqlite://data/ricevo.db`.
    pub async fn open(url: &str) -> Result<SqliteStore> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true);
        // A local connection does not go away: no need to test it on every acquire.
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            .connect_with(options.clone())
            .await?;
        let reader = SqlitePoolOptions::new().max_connections(4).connect_with(options.clone()).await?;
        // The file the writer opened, as SQLite resolved it (empty for an in-memory database).
        let (file,): (String,) =
            sqlx::query_as("SELECT file FROM pragma_database_list WHERE name = 'main'").fetch_one(&writer).await?;
        let connection = if file.is_empty() {
            open_group_connection(options.get_filename(), true)
        } else {
            open_group_connection(std::path::Path::new(&file), false)
        }?;
        let (batches, thread_queue) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("sqlite-group-commit".into())
            .spawn(move || commit_thread(connection, &thread_queue))
            .map_err(sqlx::Error::Io)?;
        let (group, queue) = mpsc::channel(4 * MAX_GROUP);
        tokio::spawn(group_commit(writer.clone(), queue, batches));
        Ok(SqliteStore { reader, writer, group })
    }

    // IMMEDIATE takes the write lock at BEGIN, so a transaction that reads before it writes
    // waits for another process's writer instead of failing on a stale snapshot.
    async fn begin_write(&self) -> std::result::Result<sqlx::Transaction<'static, sqlx::Sqlite>, sqlx::Error> {
        self.writer.begin_with("BEGIN IMMEDIATE").await
    }

    // One process is the only node of an SQLite file: nobody to tell, nothing to hear.
    async fn announce_to_nodes(&self, _topic: &str) -> Result<()> {
        Ok(())
    }

    async fn listen_to_nodes(&self) -> Result<Option<tokio::sync::mpsc::UnboundedReceiver<String>>> {
        Ok(None)
    }

    // Nothing to lock: SQLite has one writer at a time (`BEGIN IMMEDIATE`, and the
    // group-commit thread books one after the other).
    #[allow(dead_code)]
    async fn lock_citizen(
        _tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
        _new: &NewAppointment,
    ) -> std::result::Result<(), sqlx::Error> {
        Ok(())
    }

    async fn commit_booking(&self, new: &NewAppointment) -> std::result::Result<BookOutcome, sqlx::Error> {
        let (reply, answer) = oneshot::channel();
        if self.group.send((new.clone(), reply)).await.is_err() {
            return Err(sqlx::Error::PoolClosed);
        }
        answer.await.unwrap_or(Err(sqlx::Error::PoolClosed))
    }
}

// Takes whatever bookings are waiting, commits them in one transaction, answers each.
async fn group_commit(
    writer: SqlitePool,
    mut queue: mpsc::Receiver<(NewAppointment, BookingReply)>,
    thread: std::sync::mpsc::Sender<Batch>,
) {
    while let Some((first, reply)) = queue.recv().await {
        let mut batch = vec![first];
        let mut replies = vec![reply];
        while batch.len() < MAX_GROUP {
            match queue.try_recv() {
                Ok((next, reply)) => {
                    batch.push(next);
                    replies.push(reply);
                }
                Err(_) => break,
            }
        }
        let results = commit_on_thread(&writer, &thread, batch).await;
        for (reply, result) in replies.into_iter().zip(results) {
            let _ = reply.send(result);
        }
    }
}

// Runs a batch on the group-commit thread while holding the writer pool's connection.
async fn commit_on_thread(
    writer: &SqlitePool,
    thread: &std::sync::mpsc::Sender<Batch>,
    batch: Vec<NewAppointment>,
) -> Vec<Booking> {
    let size = batch.len();
    let _turn = match writer.acquire().await {
        Ok(connection) => connection,
        Err(e) => return failed(&e, size),
    };
    let (done, answers) = oneshot::channel();
    if thread.send((batch, done)).is_err() {
        return failed(&sqlx::Error::PoolClosed, size);
    }
    answers.await.unwrap_or_else(|_| failed(&sqlx::Error::PoolClosed, size))
}

// The group-commit thread: runs each batch it is given until the store is dropped.
fn commit_thread(mut connection: Connection, batches: &std::sync::mpsc::Receiver<Batch>) {
    let outbox_sql = outbox_insert_sql(1);
    while let Ok((batch, done)) = batches.recv() {
        let _ = done.send(commit_group(&mut connection, &batch, &outbox_sql));
    }
}

// The group-commit connection: the same file and the same durability as the pools.
fn open_group_connection(path: &std::path::Path, in_memory: bool) -> std::result::Result<Connection, sqlx::Error> {
    let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_URI
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    if in_memory {
        // sqlx names its in-memory databases and shares them through the shared cache.
        flags |= OpenFlags::SQLITE_OPEN_MEMORY | OpenFlags::SQLITE_OPEN_SHARED_CACHE;
    }
    let connection = Connection::open_with_flags(path, flags).map_err(database_error)?;
    connection.busy_timeout(BUSY_TIMEOUT).map_err(database_error)?;
    if !in_memory {
        let mode: String =
            connection.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0)).map_err(database_error)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(sqlx::Error::Configuration(format!("journal_mode is {mode}, not WAL").into()));
        }
    }
    // Per connection: every commit is fsynced before it is acknowledged.
    connection.pragma_update(None, "synchronous", "FULL").map_err(database_error)?;
    connection.pragma_update(None, "foreign_keys", "ON").map_err(database_error)?;
    connection.set_prepared_statement_cache_capacity(32);
    Ok(connection)
}

// Every booking of a batch that cannot be committed gets the same error.
fn failed(e: &dyn std::fmt::Display, n: usize) -> Vec<Booking> {
    (0..n).map(|_| Err(sqlx::Error::Protocol(e.to_string()))).collect()
}

// Runs one cached statement that returns no rows.
fn run(connection: &Connection, sql: &str) -> rusqlite::Result<()> {
    connection.prepare_cached(sql)?.execute([])?;
    Ok(())
}

// Rolls back whatever of the batch's transaction SQLite has not already rolled back.
fn abort(connection: &Connection) {
    if !connection.is_autocommit()
        && let Err(e) = run(connection, "ROLLBACK")
    {
        tracing::error!(error = %e, "rolling back a booking batch failed");
    }
}

/// Commits a batch of bookings in one transaction and answers each, in order. A failure
/// half-way rolls back the whole batch and every booking of it fails: nobody hears "booked"
/// unless the commit, and its fsync, succeeded.
fn commit_group(connection: &mut Connection, batch: &[NewAppointment], outbox_sql: &str) -> Vec<Booking> {
    let size = batch.len();
    abort(connection);
    if let Err(e) = run(connection, "BEGIN IMMEDIATE") {
        return failed(&e, size);
    }
    let mut results = Vec::with_capacity(size);
    for new in batch {
        match book_one(connection, new, outbox_sql) {
            Ok(result) => results.push(result),
            Err(e) => {
                abort(connection);
                return failed(&e, size);
            }
        }
    }
    if let Err(e) = run(connection, "COMMIT") {
        // Nothing of the batch is durable: nobody may hear "booked".
        abort(connection);
        return failed(&e, size);
    }
    results
}

/// One booking of a batch: `Ok` with its answer, or `Err` when the whole batch must be
/// rolled back.
fn book_one(connection: &Connection, new: &NewAppointment, outbox_sql: &str) -> rusqlite::Result<Booking> {
    // A booking that cannot fail half-way needs no savepoint: a full slot is found before
    // anything is written, so an error here means the batch's transaction is broken.
    if new.idempotency.is_none() {
        return book_in(connection, new, outbox_sql).map(Ok);
    }
    // One with an idempotency key gets a savepoint that undoes it alone if its writes collide
    // on a unique key; its caller, hearing of the collision, retries and finds the first
    // answer. (A twin earlier in the same batch is already found by the key's SELECT.)
    run(connection, "SAVEPOINT booking")?;
    match book_in(connection, new, outbox_sql) {
        Ok(BookOutcome::Booked(appointment)) => {
            run(connection, "RELEASE booking")?;
            Ok(Ok(BookOutcome::Booked(appointment)))
        }
        outcome => {
            // This fails, and so fails the batch, if SQLite gave up the whole transaction.
            run(connection, "ROLLBACK TO booking")?;
            run(connection, "RELEASE booking")?;
            Ok(outcome.map_err(database_error))
        }
    }
}

/// Books inside the batch's transaction, with the statements `impl_store!`'s `book_in` uses.
fn book_in(connection: &Connection, new: &NewAppointment, outbox_sql: &str) -> rusqlite::Result<BookOutcome> {
    if let Some(idem) = &new.idempotency {
        let first = connection
            .prepare_cached(IDEMPOTENCY_SELECT)?
            .query_row(params![new.tenant_id.0, idem.key], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i32>(1)?, r.get::<_, String>(2)?))
            })
            .optional()?;
        if let Some((request_hash, status, body)) = first {
            return Ok(BookOutcome::Replay(IdempotencyRecord {
                key: idem.key.clone(),
                request_hash,
                status: u16::try_from(status).unwrap_or(500),
                body,
            }));
        }
    }
    // The citizen's quota: earlier bookings of the batch are visible here, in its transaction.
    if let Some(quota) = new.quota {
        let [k1, k2, k3] = three_keys(&new.citizen_keys);
        let active: i64 = connection
            .prepare_cached(CITIZEN_ACTIVE_COUNT)?
            .query_row(params![new.service_id.0, k1, k2, k3, new.now.as_second()], |r| r.get(0))?;
        if !quota.allows(u64::try_from(active).unwrap_or(0)) {
            return Ok(BookOutcome::QuotaReached(quota));
        }
    }
    // Seats first: a full slot answers before anything is written.
    let wanted = ricevo_core::seats::steps(new.start, new.occupied_until);
    let taken = connection
        .prepare_cached(SEATS_TAKEN_SELECT)?
        .query_map(params![new.office_id.0, wanted.start, wanted.end], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<Vec<(i64, i32)>>>()?;
    let Some(assigned) = ricevo_core::seats::assign(wanted, &taken, new.desks) else {
        return Ok(BookOutcome::Full);
    };
    // A short reference code drawn twice is told apart from a seat race (and fails nobody else).
    let id_taken: i64 = connection.prepare_cached(PUBLIC_ID_TAKEN)?.query_row(params![new.public_id], |r| r.get(0))?;
    if id_taken > 0 {
        return Ok(BookOutcome::IdTaken);
    }
    let id: i64 = connection.prepare_cached(APPOINTMENT_INSERT)?.query_row(
        params![
            new.public_id,
            new.token_hash,
            new.tenant_id.0,
            new.office_id.0,
            new.service_id.0,
            new.start.as_second(),
            new.end.as_second(),
            new.occupied_until.as_second(),
            new.mode.as_str(),
            new.citizen_name,
            new.citizen_email,
            new.citizen_phone,
            new.fiscal_code,
            new.notes,
            new.answers.to_string(),
            new.lang.code(),
            new.now.as_second(),
            new.booked_via.as_str(),
            new.telegram_chat_id,
        ],
        |r| r.get(0),
    )?;
    let mut seat = connection.prepare_cached(SEAT_INSERT)?;
    for (step, n) in &assigned {
        seat.execute(params![new.office_id.0, step, n, id])?;
    }
    let mut key = connection.prepare_cached(CITIZEN_KEY_INSERT)?;
    for k in &new.citizen_keys {
        key.execute(params![new.service_id.0, k, id])?;
    }
    if let Some(kind) = &new.verified_identity {
        connection.prepare_cached(APPOINTMENT_IDENTITY_INSERT)?.execute(params![
            id,
            new.tenant_id.0,
            kind,
            new.now.as_second()
        ])?;
    }
    let mut outbox = connection.prepare_cached(outbox_sql)?;
    for m in &new.outbox {
        outbox.execute(params![
            new.tenant_id.0,
            id,
            m.kind,
            m.dedupe_key,
            m.payload,
            i32::from(m.retractable),
            m.due_at.as_second(),
            new.now.as_second(),
        ])?;
    }
    if let Some(idem) = &new.idempotency {
        connection.prepare_cached(IDEMPOTENCY_INSERT)?.execute(params![
            new.tenant_id.0,
            idem.key,
            idem.request_hash,
            i32::from(idem.status),
            idem.body,
            new.now.as_second(),
        ])?;
    }
    // What was just written, without reading it back.
    Ok(BookOutcome::Booked(Box::new(new.appointment(AppointmentId(id)))))
}

/// An error of the group-commit connection, reported the way sqlx reports database errors,
/// so the shared code (`is_unique_violation`, the retry in `book`) treats both alike.
#[derive(Debug)]
struct GroupCommitError {
    error: rusqlite::Error,
    message: String,
}

fn database_error(error: rusqlite::Error) -> sqlx::Error {
    let message = error.to_string();
    sqlx::Error::Database(Box::new(GroupCommitError { error, message }))
}

impl std::fmt::Display for GroupCommitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for GroupCommitError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

impl sqlx::error::DatabaseError for GroupCommitError {
    fn message(&self) -> &str {
        &self.message
    }

    fn code(&self) -> Option<Cow<'_, str>> {
        self.error.sqlite_error().map(|e| e.extended_code.to_string().into())
    }

    fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
        self
    }

    fn kind(&self) -> sqlx::error::ErrorKind {
        use rusqlite::ffi;
        use sqlx::error::ErrorKind;
        match self.error.sqlite_error().map(|e| e.extended_code) {
            Some(ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY) => ErrorKind::UniqueViolation,
            Some(ffi::SQLITE_CONSTRAINT_FOREIGNKEY) => ErrorKind::ForeignKeyViolation,
            Some(ffi::SQLITE_CONSTRAINT_NOTNULL) => ErrorKind::NotNullViolation,
            Some(ffi::SQLITE_CONSTRAINT_CHECK) => ErrorKind::CheckViolation,
            _ => ErrorKind::Other,
        }
    }
}

impl_store!(SqliteStore, sqlx::Sqlite);

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use jiff::SignedDuration;
    use ricevo_core::hours::WeeklyRange;
    use ricevo_core::service::ServiceRules;
    use ricevo_core::{Lang, Mode};

    use super::*;
    use crate::sql::is_unique_violation;

    #[derive(Clone, Copy)]
    struct Ids {
        tenant: TenantId,
        office: OfficeId,
        service: ServiceId,
    }

    struct Town {
        store: SqliteStore,
        ids: Ids,
        // A connection like the group-commit thread's, to run batches by hand.
        connection: Connection,
        _dir: tempfile::TempDir,
    }

    // A town whose office opens on Mondays from 9 to 12 with `desks` desks.
    async fn setup(store: &SqliteStore, desks: u16) -> Ids {
        store.migrate().await.unwrap();
        let tenant = store
            .create_tenant(&NewTenant {
                slug: "prato".into(),
                name: "Comune di Prato".into(),
                time_zone: "Europe/Rome".into(),
                patron_day: None,
                contact_email: "urp@prato.it".into(),
                privacy_notice: String::new(),
                retention_days: 365,
            })
            .await
            .unwrap();
        let office = store
            .create_office(
                tenant.id,
                &NewOffice {
                    name: "Anagrafe".into(),
                    description: String::new(),
                    address: String::new(),
                    contact_email: "a@prato.it".into(),
                },
            )
            .await
            .unwrap();
        let t = |h| jiff::civil::Time::new(h, 0, 0, 0).unwrap();
        let hours =
            OpeningHours::new(vec![WeeklyRange::new(jiff::civil::Weekday::Monday, t(9), t(12)).unwrap()], desks)
                .unwrap();
        store.set_hours(tenant.id, office.id, &hours).await.unwrap();
        let service = store
            .create_service(
                tenant.id,
                &NewService {
                    office_id: office.id,
                    name: "CIE".into(),
                    description: String::new(),
                    rules: ServiceRules::new(20, 10, vec![Mode::Video], 0, 60).unwrap(),
                    what_to_bring: String::new(),
                    questions: vec![],
                    active: true,
                },
            )
            .await
            .unwrap();
        Ids { tenant: tenant.id, office: office.id, service: service.id }
    }

    async fn town(desks: u16) -> Town {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let store = SqliteStore::open(&format!("sqlite://{}", path.display())).await.unwrap();
        let ids = setup(&store, desks).await;
        let connection = open_group_connection(&path, false).unwrap();
        Town { store, ids, connection, _dir: dir }
    }

    // Monday 30 November 2026, 09:00 in Rome, for 20 minutes and a 10-minute buffer.
    fn booking(ids: Ids, desks: u16, n: u32, key: Option<&str>) -> NewAppointment {
        let start: Timestamp = "2026-11-30T08:00:00Z".parse().unwrap();
        let now: Timestamp = "2026-11-01T00:00:00Z".parse().unwrap();
        NewAppointment {
            tenant_id: ids.tenant,
            office_id: ids.office,
            service_id: ids.service,
            desks,
            public_id: format!("pub-{n}"),
            token_hash: format!("hash-{n}"),
            start,
            end: start + SignedDuration::from_mins(20),
            occupied_until: start + SignedDuration::from_mins(30),
            mode: Mode::Video,
            citizen_name: format!("Cittadino {n}"),
            citizen_email: format!("c{n}@example.it"),
            citizen_phone: None,
            fiscal_code: None,
            notes: None,
            answers: serde_json::json!({}),
            lang: Lang::It,
            booked_via: ricevo_core::report::BookedVia::Page,
            now,
            outbox: vec![NewOutboxMessage {
                kind: "email".into(),
                dedupe_key: format!("confirm-{n}"),
                payload: "{}".into(),
                due_at: now,
                retractable: false,
            }],
            idempotency: key.map(|k| IdempotencyRecord {
                key: k.into(),
                request_hash: format!("h-{n}"),
                status: 201,
                body: format!("{{\"n\":{n}}}"),
            }),
            citizen_keys: Vec::new(),
            quota: None,
            telegram_chat_id: None,
            verified_identity: None,
        }
    }

    async fn stored(store: &SqliteStore, ids: Ids) -> Vec<String> {
        let from: Timestamp = "2026-11-30T00:00:00Z".parse().unwrap();
        let mut public: Vec<String> = store
            .appointments_between(ids.tenant, None, from, from + SignedDuration::from_hours(24))
            .await
            .unwrap()
            .into_iter()
            .map(|a| a.public_id)
            .collect();
        public.sort();
        public
    }

    async fn seats_taken(town: &Town) -> usize {
        let from: Timestamp = "2026-11-30T00:00:00Z".parse().unwrap();
        let to = from + SignedDuration::from_hours(24);
        town.store.taken_seats(town.ids.tenant, town.ids.office, from, to, None).await.unwrap().len()
    }

    fn run_batch(town: &mut Town, batch: &[NewAppointment]) -> Vec<Booking> {
        commit_group(&mut town.connection, batch, &outbox_insert_sql(1))
    }

    #[tokio::test]
    async fn a_keyed_booking_that_collides_undoes_itself_alone_and_a_twin_replays() {
        let mut town = town(3).await;
        let ids = town.ids;
        // c's token collides with b's: c alone is undone, and says why.
        let mut c = booking(ids, 3, 3, Some("k-2"));
        c.token_hash = "hash-2".into();
        let batch = [booking(ids, 3, 1, Some("k-1")), booking(ids, 3, 11, Some("k-1")), booking(ids, 3, 2, None), c];
        let results = run_batch(&mut town, &batch);
        assert!(matches!(results[0], Ok(BookOutcome::Booked(_))));
        match &results[1] {
            Ok(BookOutcome::Replay(first)) => assert_eq!((first.status, first.body.as_str()), (201, "{\"n\":1}")),
            other => panic!("the twin should replay the first answer, got {other:?}"),
        }
        assert!(matches!(results[2], Ok(BookOutcome::Booked(_))));
        match &results[3] {
            Err(e) => assert!(is_unique_violation(e), "a collision is reported as one: {e}"),
            other => panic!("the colliding booking should fail, got {other:?}"),
        }
        assert_eq!(stored(&town.store, ids).await, ["pub-1", "pub-2"]);
        // 08:00 to 08:30 is six steps a booking.
        assert_eq!(seats_taken(&town).await, 12);
        assert!(town.store.idempotency(ids.tenant, "k-1").await.unwrap().is_some());
        assert!(town.store.idempotency(ids.tenant, "k-2").await.unwrap().is_none(), "c left nothing behind");
    }

    #[tokio::test]
    async fn a_failure_half_way_through_an_unkeyed_booking_fails_the_whole_batch() {
        let mut town = town(3).await;
        let ids = town.ids;
        let mut twin = booking(ids, 3, 2, None);
        twin.token_hash = "hash-1".into();
        let batch = [booking(ids, 3, 1, None), booking(ids, 3, 3, Some("k")), twin];
        let results = run_batch(&mut town, &batch);
        assert!(results.iter().all(Result::is_err), "nobody may hear booked: {results:?}");
        assert!(stored(&town.store, ids).await.is_empty());
        assert_eq!(seats_taken(&town).await, 0);
        assert!(town.store.idempotency(ids.tenant, "k").await.unwrap().is_none());
        // The connection takes the next batch.
        let results = run_batch(&mut town, &[booking(ids, 3, 1, None)]);
        assert!(matches!(results[0], Ok(BookOutcome::Booked(_))));
    }

    #[tokio::test]
    async fn a_full_slot_answers_full_and_writes_nothing() {
        let mut town = town(1).await;
        let ids = town.ids;
        let results = run_batch(&mut town, &[booking(ids, 1, 1, None), booking(ids, 1, 2, Some("k"))]);
        assert!(matches!(results[0], Ok(BookOutcome::Booked(_))));
        assert!(matches!(results[1], Ok(BookOutcome::Full)));
        assert_eq!(stored(&town.store, ids).await, ["pub-1"]);
        assert!(town.store.idempotency(ids.tenant, "k").await.unwrap().is_none());
    }

    #[tokio::test]
    async fn a_batch_waits_for_the_other_writes_of_the_process() {
        let town = town(3).await;
        // While another write holds the writer's connection, a batch does not start.
        let held = town.store.writer.acquire().await.unwrap();
        let store = town.store.clone();
        let new = booking(town.ids, 3, 1, None);
        let pending = tokio::spawn(async move { store.commit_booking(&new).await });
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!pending.is_finished(), "the batch must wait for its turn");
        drop(held);
        assert!(matches!(pending.await.unwrap(), Ok(BookOutcome::Booked(_))));
        assert_eq!(stored(&town.store, town.ids).await, ["pub-1"]);
    }

    #[tokio::test]
    async fn an_in_memory_database_books_where_it_reads() {
        let store = SqliteStore::open("sqlite::memory:").await.unwrap();
        let ids = setup(&store, 3).await;
        assert!(matches!(store.book(&booking(ids, 3, 1, None)).await.unwrap(), BookOutcome::Booked(_)));
        assert_eq!(stored(&store, ids).await, ["pub-1"]);
    }
}
