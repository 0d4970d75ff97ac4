//! `ricevo report --towns a,b`: the instance administrator compares towns side by side, on the
//! real binary and a real SQLite database; each town's column holds only its own figures, and
//! bad input stops with a clear message.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Output};

use jiff::{SignedDuration, Timestamp};
use ricevo_core::Mode;
use ricevo_core::report::BookedVia;
use ricevo_core::service::ServiceRules;
use ricevo_store::{BookOutcome, NewAppointment, NewOffice, NewService, Store};

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

async fn book(store: &dyn Store, tenant: &str, start: Timestamp, via: BookedVia) {
    let t = store.tenant_by_slug(tenant).await.unwrap().unwrap();
    let service = store.services(t.id).await.unwrap().remove(0);
    let new = NewAppointment {
        desks: 10,
        booked_via: via,
        ..ricevo_store::testing::appointment(t.id, service.office_id, service.id, start)
    };
    assert!(matches!(store.book(&new).await.unwrap(), BookOutcome::Booked(_)));
}

#[tokio::test]
async fn the_instance_administrator_compares_towns_side_by_side() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    assert!(ricevo(&data, &["demo"]).status.success());
    let args = ["tenant", "add", "--slug", "altro", "--name", "Comune Altro", "--email", "u@altro.it"];
    let added = ricevo(&data, &[&args[..], &["--admin-email", "a@altro.it"]].concat());
    assert!(added.status.success(), "{}", String::from_utf8_lossy(&added.stderr));

    let store = ricevo_store::open(&format!("sqlite://{}", data.join("ricevo.db").display())).await.unwrap();
    let altro = store.tenant_by_slug("altro").await.unwrap().unwrap();
    let office = NewOffice {
        name: "Ufficio Altro".into(),
        description: String::new(),
        address: String::new(),
        contact_email: "u@altro.it".into(),
    };
    let office = store.create_office(altro.id, &office).await.unwrap();
    let service = NewService {
        office_id: office.id,
        name: "Servizio".into(),
        description: String::new(),
        rules: ServiceRules::new(20, 0, vec![Mode::Video], 0, 60).unwrap(),
        what_to_bring: String::new(),
        questions: vec![],
        active: true,
    };
    store.create_service(altro.id, &service).await.unwrap();
    // Two days ago, at distinct times: six through the API in the demo town, two by staff in
    // the other.
    let base = Timestamp::now() - SignedDuration::from_hours(48);
    for i in 0..6 {
        book(&*store, "demo", base + SignedDuration::from_mins(30 * i), BookedVia::Api).await;
    }
    for i in 0..2 {
        book(&*store, "altro", base + SignedDuration::from_mins(30 * i), BookedVia::Staff).await;
    }

    let out = ricevo(&data, &["report", "--towns", "demo,altro"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let csv = String::from_utf8(out.stdout).unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("figure,demo,altro"));
    assert!(csv.contains("\nappointments,6,2\n"), "{csv}");
    assert!(csv.contains("\nchannel_api,6,0\n") && csv.contains("\nchannel_staff,0,2\n"), "{csv}");
    assert!(!csv.contains("Maria"), "no citizen in the comparison");

    let out = ricevo(&data, &["report", "--towns", "altro", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["towns"]["altro"]["town"]["appointments"], 2);
    assert!(json["towns"].get("demo").is_none());

    for (args, message) in [
        (vec!["report", "--towns", "demo,nessuno"], "no town with slug \"nessuno\""),
        (vec!["report", "--towns", "demo", "--from", "2026-12-01", "--to", "2026-01-01"], "comes after the last"),
        (vec!["report", "--towns", "demo", "--from", "2020-01-01", "--to", "2026-01-01"], "at most 1098 days"),
        (vec!["report", "--towns", "demo", "--format", "xml"], "possible values: csv, json"),
    ] {
        let out = ricevo(&data, &args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && err.contains(message), "{args:?}: {err}");
    }
}
