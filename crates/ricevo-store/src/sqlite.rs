//! The embedded engine: one SQLite file in WAL mode.
//!
//! Writes go through a pool of one connection, so SQLite never has to arbitrate between
//! writers (deferred transactions upgrading to write locks would fail with SQLITE_BUSY);
//! reads use their own pool and run beside the writer thanks to WAL.
//! `synchronous=FULL` makes every acknowledged commit survive a power cut. To keep that
//! guarantee and still book thousands of appointments a second, concurrent bookings are
//! committed together (group commit): one transaction and one fsync for the batch, and no
//! caller hears "booked" before that fsync.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;
use ricevo_core::lobby::{Entry, EntryStatus, WalkInDesk};
use ricevo_core::slots::Booked;
use ricevo_core::{
    AppointmentId, DocumentId, EntryId, MeetingId, Mode, OfficeId, OpeningHours, ServiceId, TenantId, UserId,
};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use tokio::sync::{mpsc, oneshot};

use crate::sql::impl_store;
use crate::*;

/// Most bookings committed in one transaction.
const MAX_GROUP: usize = 256;

type BookingReply = oneshot::Sender<std::result::Result<BookOutcome, sqlx::Error>>;

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
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let writer = SqlitePoolOptions::new().max_connections(1).connect_with(options.clone()).await?;
        let reader = SqlitePoolOptions::new().max_connections(4).connect_with(options).await?;
        let (group, queue) = mpsc::channel(4 * MAX_GROUP);
        tokio::spawn(group_commit(writer.clone(), queue));
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

    async fn commit_booking(&self, new: &NewAppointment) -> std::result::Result<BookOutcome, sqlx::Error> {
        let (reply, answer) = oneshot::channel();
        if self.group.send((new.clone(), reply)).await.is_err() {
            return Err(sqlx::Error::PoolClosed);
        }
        answer.await.unwrap_or(Err(sqlx::Error::PoolClosed))
    }
}

// Takes whatever bookings are waiting, commits them in one transaction, answers each.
async fn group_commit(writer: SqlitePool, mut queue: mpsc::Receiver<(NewAppointment, BookingReply)>) {
    while let Some(first) = queue.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_GROUP {
            match queue.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let results = commit_group(&writer, batch.iter().map(|(new, _)| new)).await;
        for ((_, reply), result) in batch.into_iter().zip(results) {
            let _ = reply.send(result);
        }
    }
}

async fn commit_group<'a>(
    writer: &SqlitePool,
    batch: impl ExactSizeIterator<Item = &'a NewAppointment>,
) -> Vec<std::result::Result<BookOutcome, sqlx::Error>> {
    let size = batch.len();
    let failed = |e: &sqlx::Error, n: usize| (0..n).map(|_| Err(sqlx::Error::Protocol(e.to_string()))).collect();
    let mut tx = match writer.begin_with("BEGIN IMMEDIATE").await {
        Ok(tx) => tx,
        Err(e) => return failed(&e, size),
    };
    let mut results = Vec::with_capacity(size);
    for new in batch {
        // A booking that cannot fail half-way needs no savepoint: a full slot is found before
        // anything is written. One with an idempotency key can collide with a twin in the same
        // group, so it gets a savepoint that undoes it alone.
        if new.idempotency.is_none() {
            match SqliteStore::book_in(&mut tx, new).await {
                Ok(outcome) => results.push(Ok(outcome)),
                Err(e) => {
                    // Something wrote half a booking: nothing of this group may be committed.
                    let _ = tx.rollback().await;
                    return failed(&e, size);
                }
            }
            continue;
        }
        let mut savepoint = match sqlx::Acquire::begin(&mut *tx).await {
            Ok(sp) => sp,
            Err(e) => {
                results.push(Err(e));
                continue;
            }
        };
        let outcome = SqliteStore::book_in(&mut savepoint, new).await;
        let result = match outcome {
            Ok(BookOutcome::Booked(a)) => savepoint.commit().await.map(|()| BookOutcome::Booked(a)),
            other => {
                let _ = savepoint.rollback().await;
                other
            }
        };
        results.push(result);
    }
    if let Err(e) = tx.commit().await {
        // Nothing of the batch is durable: nobody may hear "booked".
        return failed(&e, size);
    }
    results
}

impl_store!(SqliteStore, sqlx::Sqlite);
