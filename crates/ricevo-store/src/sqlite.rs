//! The embedded engine: one SQLite file in WAL mode.
//!
//! Writes go through a pool of one connection, so SQLite never has to arbitrate between
//! writers (deferred transactions upgrading to write locks would fail with SQLITE_BUSY);
//! reads use their own pool and run beside the writer thanks to WAL.
//! `synchronous=FULL` makes every acknowledged commit survive a power cut.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;
use ricevo_core::slots::Booked;
use ricevo_core::{AppointmentId, Mode, OfficeId, OpeningHours, ServiceId, TenantId, UserId};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

use crate::sql::impl_store;
use crate::*;

/// Ricevo's store on an SQLite file.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    reader: SqlitePool,
    writer: SqlitePool,
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
        Ok(SqliteStore { reader, writer })
    }
}

impl_store!(SqliteStore, sqlx::Sqlite);
