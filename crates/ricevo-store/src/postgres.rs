//! The engine for several nodes: PostgreSQL.
//!
//! Transactions run at READ COMMITTED; the `seats` primary key is what stops two nodes from
//! giving away the same seat (the loser of the race gets a unique violation and retries).

use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;
use ricevo_core::lobby::{Entry, EntryStatus, WalkInDesk};
use ricevo_core::slots::Booked;
use ricevo_core::{
    AppointmentId, DocumentId, EntryId, MeetingId, Mode, OfficeId, OpeningHours, ServiceId, TenantId, UserId,
};
use sqlx::postgres::{PgPool, PgPoolOptions};

use crate::sql::impl_store;
use crate::*;

/// Ricevo's store on PostgreSQL.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    reader: PgPool,
    writer: PgPool,
}

impl PostgresStore {
    const MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

    /// Connects to `url`, such as `postgres://ricevo@db/ricevo`.
    pub async fn open(url: &str) -> Result<PostgresStore> {
        let pool =
            PgPoolOptions::new().max_connections(16).acquire_timeout(Duration::from_secs(10)).connect(url).await?;
        Ok(PostgresStore { reader: pool.clone(), writer: pool })
    }

    async fn begin_write(&self) -> std::result::Result<sqlx::Transaction<'static, sqlx::Postgres>, sqlx::Error> {
        self.writer.begin().await
    }

    // Each booking commits on its own: PostgreSQL's group commit does the batching.
    async fn commit_booking(&self, new: &NewAppointment) -> std::result::Result<BookOutcome, sqlx::Error> {
        self.book_alone(new).await
    }

    /// Uses an existing pool (tests give each case its own schema this way).
    pub fn from_pool(pool: PgPool) -> PostgresStore {
        PostgresStore { reader: pool.clone(), writer: pool }
    }
}

impl_store!(PostgresStore, sqlx::Postgres);
