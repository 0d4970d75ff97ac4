//! Messages on the channel that reaches the citizen (issue 15), end to end on SQLite and
//! PostgreSQL: a booking through the desk writes its outbox rows, the real outbox worker
//! delivers them, and local fakes of App IO and an SMS gateway on loopback (following their
//! published contracts) record what arrived.

#![allow(clippy::unwrap_used)]

use crate::support;

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use ricevo_core::Lang;
use ricevo_core::channel::Channel;
use ricevo_desk::booking::{BookingRequest, BookingResult};
use ricevo_desk::{Desk, DeskSettings};
use ricevo_notify::{AllowedHosts, ChannelSenders, Mailer, Worker, list_outbox_dir};
use ricevo_store::{SmsGateway, SmsMethod, Store, TownChannels};
use support::{citizen, desk, engines, now, town};

const FISCAL_CODE: &str = "RSSMRA85T10A562S";

fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

/// Wednesday 9 December 2026 (the 8th is a holiday) from 09:00 in Rome, every half hour.
fn wednesday(slot: i64) -> Timestamp {
    at("2026-12-09T08:00:00Z") + SignedDuration::from_mins(30 * slot)
}

struct Fakes {
    app_io_url: String,
    app_io: ricevo_fakes::app_io::AppIo,
    sms_url: String,
    sms: ricevo_fakes::sms::Sms,
}

async fn fakes() -> Fakes {
    let (app_io_url, app_io) = ricevo_fakes::app_io::start().await;
    let (sms_url, sms) = ricevo_fakes::sms::start().await;
    Fakes { app_io_url, app_io, sms_url, sms }
}

/// The real worker, writing e-mails into `dir` and reaching the fakes (on loopback, allowed).
fn worker(store: &Arc<dyn Store>, fakes: &Fakes, dir: &std::path::Path) -> Worker {
    let allowed = AllowedHosts::parse(["127.0.0.1"]).unwrap();
    let senders = ChannelSenders::at(&fakes.app_io_url, "http://127.0.0.1:9", allowed).unwrap();
    Worker::new(store.clone(), Mailer::outbox(dir)).unwrap().with_channels(senders)
}

/// A town's settings: App IO with `key` and the fake SMS gateway, in `order`.
fn settings(tenant: &ricevo_store::Tenant, fakes: &Fakes, key: &str, order: Vec<Channel>) -> TownChannels {
    TownChannels {
        order,
        app_io_enabled: true,
        app_io_key: Some(key.into()),
        sms_enabled: true,
        sms: SmsGateway {
            url: format!("{}/api/send", fakes.sms_url),
            method: SmsMethod::PostForm,
            username: Some(format!("user-{}", tenant.slug)),
            password: Some("secret".into()),
            to_field: "recipient".into(),
            text_field: "message".into(),
            sender_field: "sender".into(),
            sender: "Comune".into(),
        },
        ..TownChannels::none(tenant.id)
    }
}

async fn book(desk: &Desk, town: &support::Town, slot: i64, email: &str, phone: Option<&str>, cf: Option<&str>) {
    let mut input = citizen("Maria Rossi", email);
    input.phone = phone.map(str::to_owned);
    input.fiscal_code = cf.map(str::to_owned);
    input.mode = "in_person".into();
    let req = BookingRequest {
        service_id: town.service.id,
        start: wednesday(slot),
        input,
        idempotency: None,
        source: format!("203.0.113.{slot}"),
    };
    let result = desk.book(&town.tenant, req, Lang::It).await.unwrap();
    assert!(matches!(result, BookingResult::Booked { .. }), "{result:?}");
}

/// Delivers what is due just after the bookings (the confirmations, not the reminders).
async fn deliver(worker: &Worker) -> usize {
    worker.run_once(now() + SignedDuration::from_secs(1)).await.unwrap()
}

#[tokio::test]
async fn a_phone_only_citizen_gets_an_sms_and_app_io_refused_falls_back_with_each_town_using_its_own_keys() {
    for engine in engines().await {
        let f = fakes().await;
        f.app_io.accept_keys(&["key-of-a", "key-of-b"]);
        let dir = tempfile::tempdir().unwrap();
        let a = town(&*engine.store, "uno", 5).await;
        let b = town(&*engine.store, "due", 5).await;
        let order = vec![Channel::AppIo, Channel::Sms, Channel::Email, Channel::Telegram];
        engine.store.set_town_channels(&settings(&a.tenant, &f, "key-of-a", order.clone())).await.unwrap();
        engine.store.set_town_channels(&settings(&b.tenant, &f, "key-of-b", order)).await.unwrap();
        let desk = desk(&engine.store, DeskSettings::default());
        let worker = worker(&engine.store, &f, dir.path());

        // Only a phone number: one SMS, to the number in international form, with the link.
        book(&desk, &a, 0, "", Some("333 123 4567"), None).await;
        assert_eq!(deliver(&worker).await, 1, "{}", engine.name);
        let sms = f.sms.received();
        assert_eq!(sms.len(), 1, "{}", engine.name);
        assert_eq!(sms[0].fields["recipient"], "+393331234567");
        assert_eq!(sms[0].fields["sender"], "Comune");
        let text = &sms[0].fields["message"];
        assert!(text.starts_with("Comune di uno: appuntamento confermato mer 9/12 09:00"), "{text}");
        assert!(text.contains("/a/"), "ends with the link to the appointment: {text}");
        assert!(ricevo_core::channel::sms_parts(text) == 1, "{text}");
        assert!(sms[0].authorization.as_deref().unwrap().starts_with("Basic "));
        assert!(f.app_io.messages().is_empty());

        // App IO first, but this citizen refuses the service: the same delivery falls back to
        // the next channel the citizen gave (e-mail here), and App IO gets no message.
        f.app_io.set_sender_allowed(FISCAL_CODE, false);
        book(&desk, &a, 1, "maria@example.org", None, Some(FISCAL_CODE)).await;
        assert_eq!(deliver(&worker).await, 1);
        assert!(f.app_io.messages().is_empty(), "{}: no message to a citizen who refused", engine.name);
        assert_eq!(f.app_io.profile_lookups(), [("key-of-a".to_owned(), FISCAL_CODE.to_owned())]);
        let mails = list_outbox_dir(&dir.path().join("uno")).unwrap();
        assert_eq!(mails.len(), 1, "{}: the e-mail went instead", engine.name);
        let eml = std::fs::read_to_string(dir.path().join("uno").join(&mails[0].0)).unwrap();
        assert!(eml.to_ascii_lowercase().contains("text/calendar"), "the e-mail leg keeps its calendar invite");
        assert_eq!(f.sms.received().len(), 1, "no SMS: the citizen gave no number");

        // Allowed: App IO takes it, with the town's own key, App IO's length rules and the
        // appointment's start as due date; town b's messages go with b's key only.
        f.app_io.set_sender_allowed(FISCAL_CODE, true);
        book(&desk, &a, 2, "maria.rossi@example.org", Some("333 000 0001"), Some(FISCAL_CODE)).await;
        book(&desk, &b, 2, "", Some("333 999 9999"), Some(FISCAL_CODE)).await;
        assert_eq!(deliver(&worker).await, 2);
        let got = f.app_io.messages();
        assert_eq!(got.len(), 2, "{}", engine.name);
        let keys: Vec<(&str, &str)> =
            got.iter().map(|m| (m.key.as_str(), m.body["content"]["subject"].as_str().unwrap())).collect();
        assert!(keys.contains(&("key-of-a", "Appuntamento confermato: Carta d'identità")), "{keys:?}");
        assert!(keys.iter().all(|(k, _)| ["key-of-a", "key-of-b"].contains(k)));
        assert_eq!(got.iter().filter(|m| m.key == "key-of-b").count(), 1, "b's message, b's key");
        for m in &got {
            let markdown = m.body["content"]["markdown"].as_str().unwrap();
            assert!((80..=10_000).contains(&markdown.chars().count()));
            assert_eq!(m.body["content"]["due_date"], "2026-12-09T09:00:00.000Z");
            assert_eq!(m.body["time_to_live"], 3600);
            assert!(markdown.contains("/a/"), "a link to manage it: {markdown}");
        }
        assert_eq!(f.sms.received().len(), 1, "App IO took it: no SMS on top");
        assert_eq!(list_outbox_dir(&dir.path().join("due")).unwrap().len(), 0);
    }
}

#[tokio::test]
async fn a_gateway_down_for_a_while_delivers_each_message_exactly_once_when_it_returns() {
    for engine in engines().await {
        let f = fakes().await;
        let dir = tempfile::tempdir().unwrap();
        let a = town(&*engine.store, "uno", 5).await;
        let mut only_sms = settings(&a.tenant, &f, "key-of-a", vec![Channel::Sms, Channel::Email]);
        only_sms.app_io_enabled = false;
        engine.store.set_town_channels(&only_sms).await.unwrap();
        // Reminders an hour before: none falls due while the test moves its clock.
        let desk = desk(&engine.store, DeskSettings { reminder_hours: 1, ..DeskSettings::default() });
        let worker = worker(&engine.store, &f, dir.path());
        book(&desk, &a, 0, "", Some("+39 333 765 4321"), None).await;
        book(&desk, &a, 1, "", Some("+39 333 765 4322"), None).await;

        f.sms.set_down(true);
        let mut t = now() + SignedDuration::from_secs(1);
        for _ in 0..3 {
            worker.run_once(t).await.unwrap();
            t += SignedDuration::from_hours(1);
        }
        assert_eq!(f.sms.count(), 0);
        assert!(f.sms.down_answers() >= 2, "tried, and waited with backoff");
        // The failures are visible to the town, with the channel and the error.
        let failures = engine.store.town_outbox_failures(a.tenant.id, 10).await.unwrap();
        assert_eq!(failures.len(), 2, "{}: {failures:?}", engine.name);
        assert!(failures[0].last_error.contains("sms") && failures[0].last_error.contains("503"), "{failures:?}");

        f.sms.set_down(false);
        for _ in 0..3 {
            worker.run_once(t).await.unwrap();
            t += SignedDuration::from_hours(1);
        }
        let to: Vec<String> = f.sms.received().iter().map(|r| r.fields["recipient"].clone()).collect();
        assert_eq!(to.len(), 2, "{}: each once: {to:?}", engine.name);
        assert!(to.contains(&"+393337654321".to_owned()) && to.contains(&"+393337654322".to_owned()));
        assert!(engine.store.town_outbox_failures(a.tenant.id, 10).await.unwrap().is_empty());
    }
}
