//! `ricevo backup` and `ricevo restore`: the SQLite database and the outbox folder in one tar
//! file, taken while the server runs, and brought back into a data dir where no server runs.
//!
//! The archive (plain tar, so `tar tf` lists it) holds, in this order:
//! - `ricevo-backup.json`: what this is (format, Ricevo's version, when it was taken);
//! - `ricevo.db`: a consistent snapshot of the database (`VACUUM INTO`, one read transaction:
//!   every booking acknowledged before it started is in it). Shared documents live in the
//!   database, so they come with it;
//! - `outbox/<town>/<message>.eml`: the e-mail files written without SMTP, read after the
//!   snapshot, so any e-mail the snapshot counts as written is among them.
//!
//! PostgreSQL has its own tools (pg_dump and pg_restore): both commands refuse and say so.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Component, Path, PathBuf};

use ricevo_store::sqlite_file::{self, SqliteFileError};
use serde::{Deserialize, Serialize};

use crate::config::Config;

/// The name of the description at the head of the archive.
const MANIFEST: &str = "ricevo-backup.json";
/// The database's name in the archive.
const DATABASE: &str = "ricevo.db";
/// The outbox folder's name in the archive.
const OUTBOX: &str = "outbox";
/// The archive layout this version writes and reads.
const FORMAT: u32 = 1;

/// The description at the head of the archive.
#[derive(Debug, Serialize, Deserialize)]
struct Manifest {
    /// `"ricevo-backup"`: tells our archives from any other tar.
    kind: String,
    /// The layout (see [`FORMAT`]).
    format: u32,
    /// The version of Ricevo that took it.
    ricevo_version: String,
    /// When the snapshot was taken (RFC 3339, UTC).
    taken_at: String,
}

/// What a backup or a restore did, for the operator.
#[derive(Debug)]
pub(crate) struct Done {
    /// The archive written or read.
    pub(crate) archive: PathBuf,
    /// The database written or read.
    pub(crate) database: PathBuf,
    /// Outbox files copied.
    pub(crate) outbox_files: usize,
    /// Where the replaced database was moved (restore `--force` over an existing one).
    pub(crate) replaced: Option<PathBuf>,
}

/// The SQLite file of the configured database; for PostgreSQL, the refusal pointing to
/// `pg_tool` (pg_dump or pg_restore).
fn sqlite_path(config: &Config, pg_tool: &str) -> Result<PathBuf, String> {
    let url = config.database_url();
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Err(format!(
            "the database is PostgreSQL: use {pg_tool} (see \"Operating\" in the README); \
             this command copies the SQLite database only"
        ));
    }
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")).unwrap_or(&url);
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path.contains(":memory:") {
        return Err("the database is in memory: there is nothing on disk to copy".into());
    }
    Ok(PathBuf::from(path))
}

/// A working folder beside the destination (same file system, so the final step is a rename),
/// removed with whatever is left in it when dropped.
#[derive(Debug)]
struct Staging(PathBuf);

impl Staging {
    fn create(path: PathBuf) -> Result<Staging, String> {
        std::fs::create_dir(&path).map_err(|e| format!("cannot create the working folder {}: {e}", path.display()))?;
        Ok(Staging(path))
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Makes a rename or a new file in `dir` survive a power cut (best effort: not every platform
/// can open a folder).
fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// The parent folder of `path`, `.` for a bare file name.
fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// `ricevo backup --to FILE [--force]`.
pub(crate) fn backup(config: &Config, to: &Path, force: bool) -> Result<Done, String> {
    let database = sqlite_path(config, "pg_dump")?;
    if !database.is_file() {
        return Err(format!(
            "no database at {}: nothing to back up (is RICEVO_DATA_DIR or --config right?)",
            database.display()
        ));
    }
    if to.is_dir() {
        return Err(format!("{} is a folder: name the file to write, such as ricevo-backup.tar", to.display()));
    }
    if to.exists() && !force {
        return Err(format!("{} already exists: choose another name, or add --force to replace it", to.display()));
    }
    let folder = parent_of(to);
    if !folder.is_dir() {
        return Err(format!("the folder {} does not exist", folder.display()));
    }
    let name = to.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "backup".into());
    let staging = Staging::create(folder.join(format!(".{name}.partial-{}", std::process::id())))?;

    let taken_at = jiff::Timestamp::now();
    let snapshot = staging.0.join(DATABASE);
    sqlite_file::snapshot(&database, &snapshot).map_err(|e| format!("cannot copy the database: {e}"))?;
    let problems = sqlite_file::integrity_problems(&snapshot).map_err(|e| e.to_string())?;
    if !problems.is_empty() {
        return Err(format!(
            "the copy of {} fails SQLite's integrity check, so the database itself may be damaged: {}",
            database.display(),
            problems.join("; ")
        ));
    }

    let archive = staging.0.join("backup.tar");
    let file = File::create_new(&archive).map_err(|e| format!("cannot write {}: {e}", archive.display()))?;
    let mut tar = tar::Builder::new(BufWriter::new(file));
    let manifest = Manifest {
        kind: "ricevo-backup".into(),
        format: FORMAT,
        ricevo_version: env!("CARGO_PKG_VERSION").into(),
        taken_at: taken_at.to_string(),
    };
    let write_err = |e: std::io::Error| format!("cannot write the backup: {e}");
    let manifest = serde_json::to_vec_pretty(&manifest).map_err(|e| e.to_string())?;
    let mut header = tar::Header::new_gnu();
    header.set_size(manifest.len() as u64);
    header.set_mode(0o644);
    header.set_mtime(taken_at.as_second().max(0).unsigned_abs());
    header.set_cksum();
    tar.append_data(&mut header, MANIFEST, manifest.as_slice()).map_err(write_err)?;
    tar.append_path_with_name(&snapshot, DATABASE).map_err(write_err)?;
    std::fs::remove_file(&snapshot).map_err(write_err)?;
    let outbox_files = append_outbox(&mut tar, &config.outbox_dir(), Path::new(OUTBOX))?;
    let mut writer = tar.into_inner().map_err(write_err)?;
    writer.flush().map_err(write_err)?;
    let file = writer.into_inner().map_err(|e| write_err(e.into_error()))?;
    file.sync_all().map_err(write_err)?;
    drop(file);

    if force {
        std::fs::rename(&archive, to).map_err(|e| format!("cannot write {}: {e}", to.display()))?;
    } else {
        // A link fails if the name was taken meanwhile: no backup is ever overwritten by chance.
        match std::fs::hard_link(&archive, to) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(format!("{} already exists: add --force to replace it", to.display()));
            }
            // Some backup shares (SMB, FAT) have no hard links: check, then rename.
            Err(_) if !to.exists() => {
                std::fs::rename(&archive, to).map_err(|e| format!("cannot write {}: {e}", to.display()))?;
            }
            Err(_) => return Err(format!("{} already exists: add --force to replace it", to.display())),
        }
    }
    sync_dir(folder);
    Ok(Done { archive: to.to_owned(), database, outbox_files, replaced: None })
}

/// Adds the files under `dir` (recursively) as `name/...`; a missing folder adds nothing.
/// Temporary files (a leading dot) are half-written e-mails and are left out; a file deleted
/// while we walk (the retention job) is skipped.
fn append_outbox<W: Write>(tar: &mut tar::Builder<W>, dir: &Path, name: &Path) -> Result<usize, String> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(format!("cannot read {}: {e}", dir.display())),
    };
    let mut entries: Vec<_> =
        entries.collect::<Result<_, _>>().map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    entries.sort_by_key(std::fs::DirEntry::file_name);
    let mut count = 0;
    for entry in entries {
        let file_name = entry.file_name();
        if file_name.to_string_lossy().starts_with('.') {
            continue;
        }
        let path = entry.path();
        let Ok(kind) = entry.file_type() else { continue };
        if kind.is_dir() {
            count += append_outbox(tar, &path, &name.join(&file_name))?;
        } else if kind.is_file() {
            let mut file = match File::open(&path) {
                Ok(f) => f,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
            };
            tar.append_file(name.join(&file_name), &mut file)
                .map_err(|e| format!("cannot add {} to the backup: {e}", path.display()))?;
            count += 1;
        }
    }
    Ok(count)
}

/// Where an archive entry goes under the restore's working folder; `None` for a name that is
/// not ours or climbs out (`..`, absolute).
fn entry_target(name: &Path) -> Option<PathBuf> {
    if !name.components().all(|c| matches!(c, Component::Normal(_))) {
        return None;
    }
    if name == Path::new(DATABASE) {
        return Some(name.to_owned());
    }
    (name.starts_with(OUTBOX) && name.components().count() > 1).then(|| name.to_owned())
}

/// `ricevo restore --from FILE [--force]`.
pub(crate) fn restore(config: &Config, from: &Path, force: bool) -> Result<Done, String> {
    let database = sqlite_path(config, "pg_restore")?;
    let file = File::open(from).map_err(|e| format!("cannot read {}: {e}", from.display()))?;
    // Refuse early, before unpacking anything: a server on the database, or one to keep.
    if database.exists() {
        refuse_replacing(&database, force)?;
    }
    let folder = parent_of(&database);
    std::fs::create_dir_all(folder).map_err(|e| format!("cannot create {}: {e}", folder.display()))?;
    let staging = Staging::create(folder.join(format!(".restore-{}", std::process::id())))?;

    let not_ours = || format!("{} is not a Ricevo backup (ricevo backup --to FILE writes one)", from.display());
    let mut archive = tar::Archive::new(std::io::BufReader::new(file));
    let mut entries = archive.entries().map_err(|e| format!("{}: {e}", not_ours()))?;
    // The description comes first; anything else is some other tar.
    let mut first = entries.next().ok_or_else(not_ours)?.map_err(|e| format!("{}: {e}", not_ours()))?;
    if first.path().ok().as_deref() != Some(Path::new(MANIFEST)) {
        return Err(not_ours());
    }
    let manifest: Manifest = serde_json::from_reader(&mut first).map_err(|e| format!("{}: {e}", not_ours()))?;
    if manifest.kind != "ricevo-backup" {
        return Err(not_ours());
    }
    if manifest.format != FORMAT {
        return Err(format!(
            "{} has backup format {} (Ricevo {}); this Ricevo reads format {FORMAT}",
            from.display(),
            manifest.format,
            manifest.ricevo_version
        ));
    }
    let mut has_database = false;
    let mut outbox = Vec::new();
    for entry in entries {
        let mut entry = entry.map_err(|e| format!("cannot read {}: {e}", from.display()))?;
        let name = entry.path().map_err(|e| format!("{}: {e}", not_ours()))?.into_owned();
        let kind = entry.header().entry_type();
        if kind.is_dir() {
            continue;
        }
        let target = match entry_target(&name) {
            Some(t) if kind.is_file() => t,
            _ => return Err(format!("{}: unexpected entry {}", not_ours(), name.display())),
        };
        let path = staging.0.join(&target);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        // Keeps the modification time: the retention job deletes e-mail files by their age.
        entry.unpack(&path).map_err(|e| format!("cannot unpack {} from {}: {e}", name.display(), from.display()))?;
        if target == Path::new(DATABASE) {
            has_database = true;
        } else {
            outbox.push(target);
        }
    }
    if !has_database {
        return Err(format!("{} holds no database: {}", from.display(), not_ours()));
    }
    let unpacked = staging.0.join(DATABASE);
    File::open(&unpacked)
        .and_then(|f| f.sync_all())
        .map_err(|e| format!("cannot write {}: {e}", unpacked.display()))?;
    let problems = sqlite_file::integrity_problems(&unpacked).map_err(|e| e.to_string())?;
    if !problems.is_empty() {
        return Err(format!(
            "the database in {} fails SQLite's integrity check: {}",
            from.display(),
            problems.join("; ")
        ));
    }

    // Checked again at the last moment: a server may have started while we unpacked.
    let replaced = if database.exists() {
        refuse_replacing(&database, force)?;
        let aside = database.with_file_name(format!(
            "{}.before-restore-{}",
            database.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
            jiff::Timestamp::now().strftime("%Y%m%dT%H%M%SZ")
        ));
        std::fs::rename(&database, &aside)
            .map_err(|e| format!("cannot move {} aside to {}: {e}", database.display(), aside.display()))?;
        Some(aside)
    } else {
        None
    };
    // A log left beside the old file would be replayed into the restored one.
    for suffix in ["-wal", "-shm"] {
        let mut side = database.clone().into_os_string();
        side.push(suffix);
        let side = PathBuf::from(side);
        match std::fs::remove_file(&side) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("cannot remove {}: {e}", side.display())),
        }
    }
    give_to_owner_of(&unpacked, folder);
    std::fs::rename(&unpacked, &database)
        .map_err(|e| format!("cannot move the restored database to {}: {e}", database.display()))?;
    sync_dir(folder);

    // E-mail files: added beside those already there; one of the same name is kept unless --force.
    let outbox_dir = config.outbox_dir();
    let mut outbox_files = 0;
    for target in outbox {
        let Ok(relative) = target.strip_prefix(OUTBOX) else { continue };
        let destination = outbox_dir.join(relative);
        if destination.exists() && !force {
            continue;
        }
        if let Some(parent) = destination.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
            give_to_owner_of(&outbox_dir, folder);
            give_to_owner_of(parent, folder);
        }
        let source = staging.0.join(&target);
        give_to_owner_of(&source, folder);
        // Across file systems (a separate outbox mount) a rename fails: copy instead.
        if std::fs::rename(&source, &destination).is_err() {
            std::fs::copy(&source, &destination).map_err(|e| format!("cannot write {}: {e}", destination.display()))?;
        }
        outbox_files += 1;
    }
    Ok(Done { archive: from.to_owned(), database, outbox_files, replaced })
}

/// Gives `file` the owner of `folder` (the data dir) when they differ, so a restore run as root
/// leaves files the server's user can write. Best effort: without the right to change owners, nothing
/// changes (and a user restoring their own data dir needs none).
fn give_to_owner_of(file: &Path, folder: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let (Ok(f), Ok(d)) = (std::fs::metadata(file), std::fs::metadata(folder)) else { return };
        if (f.uid(), f.gid()) != (d.uid(), d.gid()) {
            let _ = std::os::unix::fs::chown(file, Some(d.uid()), Some(d.gid()));
        }
    }
}

/// Refuses to replace `database` while a server holds it, and without `--force`.
fn refuse_replacing(database: &Path, force: bool) -> Result<(), String> {
    sqlite_file::check_unused(database).map_err(|e| match e {
        SqliteFileError::InUse(_) => {
            format!("a server is using {}: stop it first (systemctl stop ricevo), then restore", database.display())
        }
        other => format!("cannot check {}: {other}", database.display()),
    })?;
    if !force {
        return Err(format!(
            "{} already exists: add --force to replace it (it is kept beside as {}.before-restore-TIME)",
            database.display(),
            database.display()
        ));
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn config(env: &[(&str, &str)]) -> Config {
        let env: std::collections::HashMap<String, String> =
            env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        Config::load(None, |k| env.get(k).cloned()).unwrap()
    }

    #[test]
    fn postgresql_is_refused_with_the_name_of_its_own_tool() {
        let c = config(&[("RICEVO_DATABASE_URL", "postgres://ricevo@db/ricevo")]);
        let dir = tempfile::tempdir().unwrap();
        let e = backup(&c, &dir.path().join("b.tar"), false).unwrap_err();
        assert!(e.contains("pg_dump"), "{e}");
        let e = restore(&c, &dir.path().join("b.tar"), false).unwrap_err();
        assert!(e.contains("pg_restore"), "{e}");
    }

    #[test]
    fn the_sqlite_file_comes_from_the_url_or_the_data_dir() {
        let c = config(&[("RICEVO_DATA_DIR", "/var/lib/ricevo")]);
        assert_eq!(sqlite_path(&c, "pg_dump").unwrap(), PathBuf::from("/var/lib/ricevo/ricevo.db"));
        let c = config(&[("RICEVO_DATABASE_URL", "sqlite://./x/r.db?mode=rwc")]);
        assert_eq!(sqlite_path(&c, "pg_dump").unwrap(), PathBuf::from("./x/r.db"));
        let c = config(&[("RICEVO_DATABASE_URL", "sqlite::memory:")]);
        assert!(sqlite_path(&c, "pg_dump").unwrap_err().contains("memory"));
    }

    #[test]
    fn only_the_database_and_outbox_files_may_be_unpacked() {
        assert_eq!(entry_target(Path::new("ricevo.db")), Some(PathBuf::from("ricevo.db")));
        assert_eq!(entry_target(Path::new("outbox/demo/a.eml")), Some(PathBuf::from("outbox/demo/a.eml")));
        assert_eq!(entry_target(Path::new("outbox/../../etc/passwd")), None);
        assert_eq!(entry_target(Path::new("/etc/passwd")), None);
        assert_eq!(entry_target(Path::new("outbox")), None);
        assert_eq!(entry_target(Path::new("other.db")), None);
    }

    #[test]
    fn a_backup_never_replaces_a_file_without_force_and_a_missing_database_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let c = config(&[("RICEVO_DATA_DIR", data.to_str().unwrap())]);
        let to = dir.path().join("b.tar");
        let e = backup(&c, &to, false).unwrap_err();
        assert!(e.contains("no database"), "{e}");
        std::fs::create_dir_all(&data).unwrap();
        let db = rusqlite::Connection::open(data.join("ricevo.db")).unwrap();
        db.execute_batch("PRAGMA journal_mode=WAL; CREATE TABLE t(x); INSERT INTO t VALUES (42);").unwrap();
        std::fs::write(&to, b"precious").unwrap();
        let e = backup(&c, &to, false).unwrap_err();
        assert!(e.contains("--force"), "{e}");
        assert_eq!(std::fs::read(&to).unwrap(), b"precious");
        backup(&c, &to, true).unwrap();
        assert_ne!(std::fs::read(&to).unwrap(), b"precious");
        // No working folder left behind.
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(left.len(), 2, "{left:?}");
        // A tar that is not ours is refused by name.
        let other = dir.path().join("other.tar");
        let mut t = tar::Builder::new(File::create(&other).unwrap());
        let mut h = tar::Header::new_gnu();
        h.set_size(2);
        h.set_cksum();
        t.append_data(&mut h, "ricevo.db", &b"hi"[..]).unwrap();
        t.finish().unwrap();
        let fresh = config(&[("RICEVO_DATA_DIR", dir.path().join("fresh").to_str().unwrap())]);
        let e = restore(&fresh, &other, false).unwrap_err();
        assert!(e.contains("not a Ricevo backup"), "{e}");
        // While a connection holds the database, even --force does not replace it.
        let e = restore(&c, &to, true).unwrap_err();
        assert!(e.contains("stop it first"), "{e}");
        drop(db);
        let e = restore(&c, &to, false).unwrap_err();
        assert!(e.contains("--force"), "{e}");
        let done = restore(&c, &to, true).unwrap();
        assert!(done.replaced.as_ref().is_some_and(|p| p.exists()));
        let db = rusqlite::Connection::open(data.join("ricevo.db")).unwrap();
        let x: i64 = db.query_row("SELECT x FROM t", [], |r| r.get(0)).unwrap();
        assert_eq!(x, 42);
    }
}
