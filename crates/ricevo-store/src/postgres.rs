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
use sqlx::postgres::{PgListener, PgPool, PgPoolOptions};

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

    // Serialises the bookings of one citizen for one service across nodes until the
    // transaction ends (READ COMMITTED alone would let two of them count the same total).
    async fn lock_citizen(
        tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
        new: &NewAppointment,
    ) -> std::result::Result<(), sqlx::Error> {
        for id in crate::sql::citizen_lock_ids(new.service_id, &new.citizen_keys) {
            sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(id).execute(&mut **tx).await?;
        }
        Ok(())
    }

    /// The notification channel of this database schema: nodes of one installation share it,
    /// installations in other schemas of the same server (and parallel tests) do not.
    async fn channel(&self) -> Result<String> {
        let schema: String = sqlx::query_scalar("SELECT current_schema()").fetch_one(&self.reader).await?;
        let safe: String = schema.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_').take(48).collect();
        Ok(format!("ricevo_{safe}"))
    }

    async fn announce_to_nodes(&self, topic: &str) -> Result<()> {
        let channel = self.channel().await?;
        sqlx::query("SELECT pg_notify($1, $2)").bind(channel).bind(topic).execute(&self.writer).await?;
        Ok(())
    }

    async fn listen_to_nodes(&self) -> Result<Option<tokio::sync::mpsc::UnboundedReceiver<String>>> {
        let channel = self.channel().await?;
        let mut listener = PgListener::connect_with(&self.reader).await?;
        listener.listen(&channel).await?;
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            loop {
                // recv reconnects by itself after a dropped connection (announcements made
                // meanwhile are lost; the pages' periodic refresh covers them).
                match listener.recv().await {
                    Ok(n) => {
                        if tx.send(n.payload().to_owned()).is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        if tx.is_closed() {
                            return;
                        }
                        tracing::warn!(error = %e, "listening to other nodes failed; retrying");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            }
        });
        Ok(Some(rx))
    }

    /// Uses an existing pool (tests give each case its own schema this way).
    pub fn from_pool(pool: PgPool) -> PostgresStore {
        PostgresStore { reader: pool.clone(), writer: pool }
    }
}

impl_store!(PostgresStore, sqlx::Postgres);
