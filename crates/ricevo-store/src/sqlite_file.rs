//! The SQLite database as one file, for `ricevo backup` and `ricevo restore`: a consistent
//! snapshot taken while the server keeps writing, an integrity check, and whether another
//! process (a running server) holds the file.
//!
//! Each function opens a connection of its own (`rusqlite`, blocking: call it off the async
//! runtime) and closes it before returning.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OpenFlags};

/// How long the snapshot waits for a lock (WAL readers rarely wait: only during recovery).
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Why an operation on the database file failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SqliteFileError {
    /// Another process has the database open (a running `ricevo serve`).
    #[error("{0} is in use by another process: stop the server first")]
    InUse(PathBuf),
    /// The path cannot be handed to SQLite.
    #[error("{0}: the path is not valid UTF-8")]
    NotUtf8(PathBuf),
    /// SQLite refused or failed.
    #[error("{path}: {source}")]
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// What SQLite said.
        source: rusqlite::Error,
    },
}

fn sqlite_error(path: &Path) -> impl FnOnce(rusqlite::Error) -> SqliteFileError + '_ {
    move |source| SqliteFileError::Sqlite { path: path.to_owned(), source }
}

// An existing file only: a typo in the path must not create an empty database.
fn open_existing(path: &Path) -> Result<Connection, SqliteFileError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    Connection::open_with_flags(path, flags).map_err(sqlite_error(path))
}

/// Writes a consistent copy of `database` to the new file `into` (`VACUUM INTO`) while other
/// processes keep reading and writing it: the copy is one read transaction, which in WAL mode
/// never blocks a writer. The copy is compacted and complete in itself (no `-wal` beside it).
pub fn snapshot(database: &Path, into: &Path) -> Result<(), SqliteFileError> {
    let target = into.to_str().ok_or_else(|| SqliteFileError::NotUtf8(into.to_owned()))?;
    let connection = open_existing(database)?;
    connection.busy_timeout(BUSY_TIMEOUT).map_err(sqlite_error(database))?;
    connection.execute("VACUUM INTO ?1", [target]).map_err(sqlite_error(database))?;
    Ok(())
}

/// The problems `PRAGMA integrity_check` finds in `database`; empty when it answers `ok`.
pub fn integrity_problems(database: &Path) -> Result<Vec<String>, SqliteFileError> {
    let connection = open_existing(database)?;
    connection.busy_timeout(BUSY_TIMEOUT).map_err(sqlite_error(database))?;
    let mut statement = connection.prepare("PRAGMA integrity_check").map_err(sqlite_error(database))?;
    let rows = statement
        .query_map([], |row| row.get::<_, String>(0))
        .map_err(sqlite_error(database))?
        .collect::<Result<Vec<String>, _>>()
        .map_err(sqlite_error(database))?;
    Ok(rows.into_iter().filter(|r| r != "ok").collect())
}

/// Checks that no other process has `database` open, and folds its write-ahead log into the
/// file, so that the file alone is the whole database and may be moved aside.
///
/// A server keeps its connections open for its whole life, and in WAL mode each of them holds
/// a shared lock; an exclusive lock is therefore refused while any server runs on the file.
/// The lock is released on return: a server started after this check is not kept out.
pub fn check_unused(database: &Path) -> Result<(), SqliteFileError> {
    let connection = open_existing(database)?;
    // No waiting: a held lock means a live process, not a short transaction to wait out.
    connection.busy_timeout(Duration::ZERO).map_err(sqlite_error(database))?;
    let in_use = |e: rusqlite::Error| match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => SqliteFileError::InUse(database.to_owned()),
        _ => SqliteFileError::Sqlite { path: database.to_owned(), source: e },
    };
    connection.pragma_update(None, "locking_mode", "EXCLUSIVE").map_err(in_use)?;
    connection.execute_batch("BEGIN EXCLUSIVE; COMMIT;").map_err(in_use)?;
    // TRUNCATE: every frame copied into the file and the log emptied.
    connection.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())).map_err(in_use)?;
    connection.close().map_err(|(_, e)| in_use(e))?;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn database(dir: &Path) -> (PathBuf, Connection) {
        let path = dir.join("ricevo.db");
        let c = Connection::open(&path).unwrap();
        c.pragma_update(None, "journal_mode", "WAL").unwrap();
        c.execute_batch("CREATE TABLE t(x INTEGER); INSERT INTO t VALUES (1), (2), (3);").unwrap();
        (path, c)
    }

    #[test]
    fn a_snapshot_taken_while_a_connection_is_open_has_every_committed_row_and_checks_ok() {
        let dir = tempfile::tempdir().unwrap();
        let (path, open) = database(dir.path());
        let copy = dir.path().join("copy.db");
        snapshot(&path, &copy).unwrap();
        drop(open);
        let c = Connection::open(&copy).unwrap();
        let n: i64 = c.query_row("SELECT count(*) FROM t", [], |r| r.get(0)).unwrap();
        assert_eq!(n, 3);
        assert!(integrity_problems(&copy).unwrap().is_empty());
    }

    #[test]
    fn a_database_another_connection_holds_is_in_use_and_free_once_it_closes() {
        let dir = tempfile::tempdir().unwrap();
        let (path, open) = database(dir.path());
        assert!(matches!(check_unused(&path), Err(SqliteFileError::InUse(_))));
        drop(open);
        check_unused(&path).unwrap();
        // Folded into the file: nothing left in a log beside it.
        let wal = dir.path().join("ricevo.db-wal");
        assert!(!wal.exists() || std::fs::metadata(&wal).unwrap().len() == 0);
    }

    #[test]
    fn a_missing_database_is_an_error_not_a_new_empty_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nothing.db");
        assert!(snapshot(&path, &dir.path().join("copy.db")).is_err());
        assert!(integrity_problems(&path).is_err());
        assert!(!path.exists());
    }
}
