//! `ricevo citizen export|erase` on the real binary and a real SQLite database: one town's
//! citizen only, JSON on standard output, and an erasure that needs `--yes` and waits for
//! appointments still to come.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Output};

use jiff::{SignedDuration, Timestamp};
use ricevo_core::lobby::{Abilities, EntryKind};
use ricevo_store::{BookOutcome, NewAppointment, NewEntry, NewOffice, NewOutboxMessage, Store};
use serde_json::Value;

const MARIA: &str = "maria.rossi@example.it";

fn ricevo(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ricevo"))
        .args(args)
        .env("RICEVO_DATA_DIR", data)
        .env("RICEVO_LOG", "warn")
        .env("RICEVO_MEDIA_UDP", "127.0.0.1:0")
        .env_remove("RICEVO_DATABASE_URL")
        .env_remove("RICEVO_CONFIG")
        .output()
        .unwrap()
}

fn json_of(out: &Output) -> Value {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

async fn book(store: &dyn Store, tenant: &str, start: Timestamp) -> String {
    let t = store.tenant_by_slug(tenant).await.unwrap().unwrap();
    let service = store.services(t.id).await.unwrap().remove(0);
    let n = rand::random::<u64>();
    let new = NewAppointment {
        public_id: format!("pub-{n}"),
        token_hash: format!("hash-{n}"),
        citizen_email: MARIA.into(),
        citizen_phone: Some("333 123 4567".into()),
        now: start - SignedDuration::from_hours(72),
        outbox: vec![NewOutboxMessage {
            kind: "email".into(),
            dedupe_key: format!("confirm-{n}"),
            payload: "{}".into(),
            due_at: start,
            retractable: false,
        }],
        ..ricevo_store::testing::appointment(t.id, service.office_id, service.id, start)
    };
    match store.book(&new).await.unwrap() {
        BookOutcome::Booked(a) => a.public_id,
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn the_command_line_exports_and_erases_one_towns_citizen() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    assert!(ricevo(&data, &["demo"]).status.success());
    let added = ricevo(
        &data,
        &[
            "tenant",
            "add",
            "--slug",
            "altro",
            "--name",
            "Comune Altro",
            "--email",
            "urp@altro.it",
            "--admin-email",
            "a@altro.it",
        ],
    );
    assert!(added.status.success(), "{}", String::from_utf8_lossy(&added.stderr));

    let store = ricevo_store::open(&format!("sqlite://{}", data.join("ricevo.db").display())).await.unwrap();
    let now = Timestamp::now();
    let past = book(&*store, "demo", now - SignedDuration::from_hours(48)).await;
    let future = book(&*store, "demo", now + SignedDuration::from_hours(48)).await;
    let altro = store.tenant_by_slug("altro").await.unwrap().unwrap();
    let office = NewOffice {
        name: "Ufficio Altro".into(),
        description: String::new(),
        address: String::new(),
        contact_email: "u@altro.it".into(),
    };
    let office = store.create_office(altro.id, &office).await.unwrap();
    let ticket = NewEntry {
        tenant_id: altro.id,
        office_id: office.id,
        kind: EntryKind::Ticket,
        appointment_id: None,
        meeting_id: None,
        name: "Maria di Altro".into(),
        email: Some(MARIA.into()),
        service: String::new(),
        booked_start: None,
        booked_end: None,
        abilities: Abilities::citizen(),
        direct: false,
        token_hash: Some("ticket-cli".into()),
        phone: None,
        telegram_chat_id: None,
    };
    store.take_ticket(&ticket, now.to_zoned(jiff::tz::TimeZone::UTC).date(), now, &|_| Vec::new()).await.unwrap();

    let ours = json_of(&ricevo(&data, &["citizen", "export", "--tenant", "demo", "--phone", "+39 333 1234567"]));
    let codes: Vec<&str> = ours["appointments"].as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap()).collect();
    assert_eq!(codes, [future.as_str(), past.as_str()], "newest first");
    assert!(ours["waiting_room"].as_array().unwrap().is_empty(), "altro's ticket is not demo's");
    let theirs = json_of(&ricevo(&data, &["citizen", "export", "--tenant", "altro", "--email", MARIA]));
    assert_eq!(theirs["waiting_room"][0]["name"], "Maria di Altro");
    assert!(theirs["appointments"].as_array().unwrap().is_empty());

    // One key only, a checked one, and a town that exists.
    assert!(
        !ricevo(&data, &["citizen", "export", "--tenant", "demo", "--email", MARIA, "--phone", "333"]).status.success()
    );
    let bad = ricevo(&data, &["citizen", "export", "--tenant", "demo", "--fiscal-code", "XYZ"]);
    assert!(!bad.status.success() && String::from_utf8_lossy(&bad.stderr).contains("fiscal_code"));
    let none = ricevo(&data, &["citizen", "export", "--tenant", "nessuno", "--email", MARIA]);
    assert!(String::from_utf8_lossy(&none.stderr).contains("no town"));

    let unconfirmed = ricevo(&data, &["citizen", "erase", "--tenant", "demo", "--email", MARIA]);
    assert!(!unconfirmed.status.success() && String::from_utf8_lossy(&unconfirmed.stderr).contains("--yes"));
    let refused = ricevo(&data, &["citizen", "erase", "--tenant", "demo", "--email", MARIA, "--yes"]);
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(
        !refused.status.success() && message.contains(&future) && message.contains("cancel them first"),
        "{message}"
    );

    let t = store.tenant_by_slug("demo").await.unwrap().unwrap();
    let pending = store.search_appointments(t.id, "maria", 10).await.unwrap();
    let pending = pending.into_iter().find(|a| a.public_id == future).unwrap();
    store.cancel(t.id, pending.id, pending.sequence, now, &[]).await.unwrap();
    let erased = json_of(&ricevo(&data, &["citizen", "erase", "--tenant", "demo", "--email", MARIA, "--yes"]));
    assert_eq!(erased["appointments"], 2);
    let after = json_of(&ricevo(&data, &["citizen", "export", "--tenant", "demo", "--email", MARIA]));
    assert!(after["appointments"].as_array().unwrap().is_empty());
    let theirs = json_of(&ricevo(&data, &["citizen", "export", "--tenant", "altro", "--email", MARIA]));
    assert_eq!(theirs["waiting_room"][0]["name"], "Maria di Altro", "altro's data stays");
}
