//! The database one bench run works in and throws away: a new PostgreSQL database next to the
//! one `--database-url` names, or a SQLite file in the run's temporary folder.

use std::path::Path;

/// A database made for one run; [`Scratch::remove`] drops it again (PostgreSQL).
#[derive(Debug)]
pub(crate) struct Scratch {
    /// Where the run's store connects.
    pub(crate) url: String,
    /// The server connection that created the database, and its name.
    postgres: Option<(sqlx::PgPool, String)>,
}

impl Scratch {
    /// A new database under `admin_url` (a PostgreSQL server) or, without one, `ricevo.db` in `dir`.
    #[allow(clippy::unwrap_used)]
    pub(crate) async fn create(admin_url: Option<&str>, dir: &Path) -> Scratch {
        match admin_url {
            Some(admin_url) => {
                let name = format!("ricevo_bench_{}", rand::random::<u32>());
                let admin = sqlx::postgres::PgPoolOptions::new().max_connections(1).connect(admin_url).await.unwrap();
                sqlx::query(&format!("CREATE DATABASE {name}")).execute(&admin).await.unwrap();
                let base = admin_url.rsplit_once('/').map(|(b, _)| b).unwrap_or(admin_url);
                Scratch { url: format!("{base}/{name}"), postgres: Some((admin, name)) }
            }
            None => Scratch { url: format!("sqlite://{}", dir.join("ricevo.db").display()), postgres: None },
        }
    }

    /// Whether it is a PostgreSQL database.
    pub(crate) fn is_postgres(&self) -> bool {
        self.postgres.is_some()
    }

    /// The engine's name, for the bench's report.
    pub(crate) fn engine(&self) -> &'static str {
        if self.is_postgres() { "PostgreSQL" } else { "SQLite" }
    }

    /// Drops a PostgreSQL database (its connections too); a SQLite file goes with its folder.
    pub(crate) async fn remove(self) {
        if let Some((admin, name)) = self.postgres {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&admin).await;
        }
    }
}
