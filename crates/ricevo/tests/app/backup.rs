//! `ricevo backup` under booking load and `ricevo restore` into a new data dir: every booking
//! acknowledged (201) before the backup started is found by a server on the restored data,
//! with the e-mails already written and the other towns; the restored database passes
//! SQLite's integrity check. And the refusals: an existing file, a running server, an
//! existing database, PostgreSQL.

#![allow(clippy::unwrap_used, clippy::print_stderr)]

use crate::support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// Runs `ricevo ARGS` on the data dir `data`.
fn ricevo(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ricevo"))
        .args(args)
        .env("RICEVO_DATA_DIR", data)
        .env("RICEVO_LOG", "warn")
        .env_remove("RICEVO_CONFIG")
        .env_remove("RICEVO_DATABASE_URL")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn stdout(out: &Output) -> String {
    assert!(out.status.success(), "ricevo failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn refused(out: &Output) -> String {
    assert!(!out.status.success(), "ricevo should have refused; it said: {}", String::from_utf8_lossy(&out.stdout));
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Every file under `dir`, as (path relative to `dir`, content), sorted.
fn files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for e in entries {
            let path = e.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else if !path.file_name().unwrap().to_string_lossy().starts_with('.') {
                out.push((path.strip_prefix(root).unwrap().to_owned(), std::fs::read(&path).unwrap()));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// A server on `data` that lets every client of 127.0.0.1 book as much as it likes.
fn server_on(data: &Path) -> support::Server {
    support::Server::start_with(&[
        ("RICEVO_DATA_DIR", data.to_str().unwrap()),
        ("RICEVO_RATE_LIMIT_PER_MINUTE", "1000000"),
        ("RICEVO_BOOKINGS_PER_HOUR_PER_ADDRESS", "1000000"),
    ])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_under_booking_load_restores_every_acknowledged_booking() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = server_on(&data);
    // A second town: the backup is the whole instance, not one town.
    let second = ricevo(
        &data,
        &[
            "tenant",
            "add",
            "--slug",
            "borgo",
            "--name",
            "Comune di Borgo",
            "--email",
            "urp@borgo.example.it",
            "--admin-email",
            "admin@borgo.example.it",
        ],
    );
    stdout(&second);

    let http = reqwest::Client::new();
    // Every video slot of every demo service over the longest range the API gives: room for
    // bookings to go on while the backup runs.
    let services: Value = http.get(server.url("/api/v1/demo/services")).send().await.unwrap().json().await.unwrap();
    let today = jiff::Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC).date();
    let to = today.checked_add(jiff::ToSpan::days(60)).unwrap();
    let mut offers = Vec::new();
    for service in services.as_array().unwrap() {
        let id = service["id"].as_i64().unwrap();
        let slots: Value = http
            .get(server.url(&format!("/api/v1/demo/services/{id}/slots?mode=video&to={to}")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        for slot in slots.as_array().unwrap() {
            offers.push((id, slot["start"].as_str().unwrap().to_owned()));
        }
    }
    assert!(offers.len() >= 100, "the demo town should offer video slots: {}", offers.len());
    let offers = Arc::new(offers);

    // Eight clients book until told to stop (bounded in count too); each 201 is remembered.
    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let mut clients = Vec::new();
    for c in 0..8u32 {
        let (http, base, offers, acknowledged, stop) =
            (http.clone(), server.origin.clone(), offers.clone(), acknowledged.clone(), stop.clone());
        clients.push(tokio::spawn(async move {
            for n in 0..2000u32 {
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                let (service, start) = &offers[rand::random_range(0..offers.len())];
                let body = json!({"service_id": service, "start": start, "mode": "video", "privacy_accepted": true,
                    "citizen": {"name": format!("Cittadino {c}-{n}"), "email": format!("c{c}n{n}@example.it")}});
                let resp = http.post(format!("{base}/api/v1/demo/appointments")).json(&body).send().await.unwrap();
                if resp.status() == reqwest::StatusCode::CREATED {
                    let receipt: Value = resp.json().await.unwrap();
                    let token = receipt["manage_url"].as_str().unwrap().rsplit('/').next().unwrap().to_owned();
                    acknowledged.lock().unwrap().push(token);
                }
            }
        }));
    }
    // Start the backup once bookings flow (a bounded wait for readiness, not a timing claim).
    let deadline = Instant::now() + Duration::from_secs(120);
    while acknowledged.lock().unwrap().len() < 30 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // And once the outbox worker wrote some confirmations, so the backup has e-mails to carry.
    let outbox = data.join("outbox");
    while files(&outbox).len() < 5 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let before: Vec<String> = acknowledged.lock().unwrap().clone();
    let mails_before = files(&outbox);
    assert!(before.len() >= 30, "too few bookings before the backup: {}", before.len());
    assert!(mails_before.len() >= 5, "too few e-mails written before the backup: {}", mails_before.len());

    let archive = dir.path().join("ricevo-backup.tar");
    let out = {
        let (data, archive) = (data.clone(), archive.clone());
        tokio::task::spawn_blocking(move || ricevo(&data, &["backup", "--to", archive.to_str().unwrap()]))
            .await
            .unwrap()
    };
    let during = acknowledged.lock().unwrap().len() - before.len();
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.await.unwrap();
    }
    let said = stdout(&out);
    assert!(said.contains("backup written"), "{said}");
    eprintln!("{} bookings acknowledged before the backup, {during} while it ran; {said}", before.len());

    // The backup is one file, and is never overwritten by accident.
    let e = refused(&ricevo(&data, &["backup", "--to", archive.to_str().unwrap()]));
    assert!(e.contains("already exists") && e.contains("--force"), "{e}");
    // The running server's database is not replaced, not even with --force.
    let e = refused(&ricevo(&data, &["restore", "--from", archive.to_str().unwrap(), "--force"]));
    assert!(e.contains("stop it first"), "{e}");

    let restored = dir.path().join("restored");
    let said = stdout(&ricevo(&restored, &["restore", "--from", archive.to_str().unwrap()]));
    assert!(said.contains("restored"), "{said}");
    let db = rusqlite::Connection::open(restored.join("ricevo.db")).unwrap();
    let check: String = db.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(check, "ok");
    drop(db);
    // The e-mails written before the backup came along, byte for byte.
    let restored_mails = files(&restored.join("outbox"));
    for mail in &mails_before {
        assert!(restored_mails.contains(mail), "e-mail {} is missing from the restore", mail.0.display());
    }

    // A server on the restored data finds every acknowledged booking, and the second town.
    drop(server);
    let server = server_on(&restored);
    for token in &before {
        let resp = http.get(server.url(&format!("/api/v1/appointments/{token}"))).send().await.unwrap();
        assert_eq!(resp.status(), reqwest::StatusCode::OK, "a booking acknowledged before the backup is missing");
        let view: Value = resp.json().await.unwrap();
        assert_eq!(view["status"], "booked");
    }
    let borgo = http.get(server.url("/api/v1/borgo/services")).send().await.unwrap();
    assert_eq!(borgo.status(), reqwest::StatusCode::OK, "the second town is missing from the restore");
    let nowhere = http.get(server.url("/api/v1/nowhere/services")).send().await.unwrap();
    assert_eq!(nowhere.status(), reqwest::StatusCode::NOT_FOUND);

    // Restoring over a database a server holds is refused; stopped, it needs --force.
    let e = refused(&ricevo(&restored, &["restore", "--from", archive.to_str().unwrap()]));
    assert!(e.contains("stop it first"), "{e}");
    drop(server);
    let e = refused(&ricevo(&restored, &["restore", "--from", archive.to_str().unwrap()]));
    assert!(e.contains("already exists") && e.contains("--force"), "{e}");
    let said = stdout(&ricevo(&restored, &["restore", "--from", archive.to_str().unwrap(), "--force"]));
    assert!(said.contains("is kept as"), "{said}");
}

#[test]
fn backup_and_restore_refuse_postgresql_and_name_its_tools() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("b.tar");
    for (command, tool) in [("backup", "pg_dump"), ("restore", "pg_restore")] {
        let flag = if command == "backup" { "--to" } else { "--from" };
        let out = Command::new(env!("CARGO_BIN_EXE_ricevo"))
            .args([command, flag, archive.to_str().unwrap()])
            .env("RICEVO_DATA_DIR", dir.path())
            .env("RICEVO_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")
            .env("RICEVO_LOG", "warn")
            .env_remove("RICEVO_CONFIG")
            .output()
            .unwrap();
        let e = refused(&out);
        assert!(e.contains(tool), "{command}: {e}");
    }
    assert!(!archive.exists());
}
