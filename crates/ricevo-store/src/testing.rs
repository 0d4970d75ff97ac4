//! For tests of this and other crates: a PostgreSQL schema of one's own, dropped afterwards,
//! and as many store "nodes" on it as a test wants; and [`appointment`], the booking a test
//! stores, with every field a test does not care about filled in. Built only with the
//! `testing` feature.
//!
//! The server is `RICEVO_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/test`).
//! Without one, [`TestSchema::create`] says why and returns `None`, except under `CI=true`,
//! where a test that would skip fails instead.

#![allow(clippy::print_stderr)]

use std::sync::Arc;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::{NewAppointment, PostgresStore, Store};

/// A schema of one test; dropped (with the test's connections ended) when this is dropped.
#[derive(Debug)]
pub struct TestSchema {
    url: String,
    name: String,
}

impl TestSchema {
    /// Creates a fresh schema, or `None` (outside CI) when PostgreSQL is not reachable.
    ///
    /// # Panics
    /// Under `CI=true` without PostgreSQL, or when the server refuses to create a schema.
    pub async fn create(prefix: &str) -> Option<TestSchema> {
        let url = std::env::var("RICEVO_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
        let admin = match PgPoolOptions::new().max_connections(1).connect(&url).await {
            Ok(p) => p,
            Err(e) if std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true")) => {
                panic!("PostgreSQL is required under CI=true: {e}")
            }
            Err(e) => {
                eprintln!("SKIPPED: PostgreSQL case: {e}");
                return None;
            }
        };
        let name = format!("{prefix}_{}", rand::random::<u64>());
        if let Err(e) = sqlx::query(&format!("CREATE SCHEMA {name}")).execute(&admin).await {
            panic!("cannot create test schema {name}: {e}");
        }
        Some(TestSchema { url, name })
    }

    /// The connection URL of this schema, for a server process of its own
    /// (`RICEVO_DATABASE_URL`): its connections use the schema and carry its tag.
    pub fn url(&self) -> String {
        let join = if self.url.contains('?') { '&' } else { '?' };
        format!("{}{join}options[search_path]={name}&application_name={name}", self.url, name = self.name)
    }

    /// A store on this schema: one more server node. Migrate once with the first node.
    ///
    /// # Panics
    /// When the connection fails.
    pub async fn node(&self) -> Arc<dyn Store> {
        let options: PgConnectOptions = match self.url.parse() {
            Ok(o) => o,
            Err(e) => panic!("bad RICEVO_TEST_POSTGRES_URL: {e}"),
        };
        let schema = self.name.clone();
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .after_connect(move |conn, _| {
                let schema = schema.clone();
                Box::pin(async move {
                    sqlx::Executor::execute(conn, format!("SET search_path TO {schema}").as_str()).await?;
                    Ok(())
                })
            })
            // Tagged, so the drop can end connections a test's runtime left behind.
            .connect_with(options.application_name(&self.name))
            .await;
        match pool {
            Ok(pool) => Arc::new(PostgresStore::from_pool(pool)),
            Err(e) => panic!("cannot connect to the test schema {}: {e}", self.name),
        }
    }
}

impl Drop for TestSchema {
    fn drop(&mut self) {
        let (url, name) = (self.url.clone(), self.name.clone());
        // In a thread of its own: the test's runtime may be shutting down.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
            rt.block_on(async {
                if let Ok(pool) = PgPoolOptions::new().max_connections(1).connect(&url).await {
                    let _ = sqlx::query(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                         WHERE application_name = $1 AND pid <> pg_backend_pid()",
                    )
                    .bind(&name)
                    .execute(&pool)
                    .await;
                    let _ = sqlx::query(&format!("DROP SCHEMA IF EXISTS {name} CASCADE")).execute(&pool).await;
                }
            });
        })
        .join();
    }
}

/// A booking of `service` (at `office`, of `tenant`) at `start` for a test to store: 20
/// minutes by video for Maria Rossi (maria@example.it, Italian) through the booking page, one
/// desk, booked a day before, with a reference and link hash of its own and nothing else (no
/// messages, keys, quota or idempotency). Tests change what matters to them with
/// `NewAppointment { field, ..appointment(..) }`.
pub fn appointment(
    tenant: ricevo_core::TenantId,
    office: ricevo_core::OfficeId,
    service: ricevo_core::ServiceId,
    start: jiff::Timestamp,
) -> NewAppointment {
    use std::sync::atomic::{AtomicU64, Ordering};
    // Unique within the process (tests share databases only within one).
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let ends = start + jiff::SignedDuration::from_mins(20);
    NewAppointment {
        tenant_id: tenant,
        office_id: office,
        service_id: service,
        desks: 1,
        public_id: format!("test-{n}"),
        token_hash: format!("test-hash-{n}"),
        start,
        end: ends,
        occupied_until: ends,
        mode: ricevo_core::Mode::Video,
        citizen_name: "Maria Rossi".into(),
        citizen_email: "maria@example.it".into(),
        citizen_phone: None,
        fiscal_code: None,
        notes: None,
        answers: serde_json::json!({}),
        lang: ricevo_core::Lang::It,
        booked_via: ricevo_core::report::BookedVia::Page,
        now: start - jiff::SignedDuration::from_hours(24),
        outbox: Vec::new(),
        idempotency: None,
        citizen_keys: Vec::new(),
        quota: None,
        telegram_chat_id: None,
        verified_identity: None,
    }
}
