//! Booking through Telegram, end to end: the real router and desk on a real SQLite store, and
//! a fake Telegram Bot API on loopback (`ricevo_fakes::telegram`) that records what the bot
//! sends. Updates reach the bot by the webhook (with its secret-token header) or by long
//! polling the fake's `getUpdates`.

#![allow(clippy::unwrap_used)]

use crate::support;

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use ricevo_core::service::ServiceRules;
use ricevo_core::{AppointmentStatus, Mode};
use ricevo_fakes::telegram::{self as fake, TelegramFake};
use ricevo_notify::telegram::{BotApi, TelegramConfig};
use ricevo_store::{NewOffice, NewService, Tenant, TownChannels};
use ricevo_web::WebConfig;
use serde_json::Value;
use support::{Answer, App, send};

const DEMO_TOKEN: &str = "111:demo-token";
const DEMO_SECRET: &str = "demo-webhook-secret";
const ALTRO_TOKEN: &str = "222:altro-token";
const ALTRO_SECRET: &str = "altro-webhook-secret";
const CHAT: i64 = 4242;

struct Bots {
    app: App,
    telegram: TelegramFake,
    base: String,
    altro: Tenant,
    next_update: std::sync::atomic::AtomicI64,
}

// The demo town and a second town, "altro" (one office, one service), each with its own bot
// in webhook mode; the Bot API is the fake.
async fn bots() -> Bots {
    let (base, telegram) = fake::start().await;
    telegram.add_bot(DEMO_TOKEN);
    telegram.add_bot(ALTRO_TOKEN);
    let config = WebConfig {
        public_url: "https://ricevo.example".into(),
        telegram: TelegramConfig { api_url: base.clone(), instance: None },
        ..WebConfig::default()
    };
    let app = support::app_with(config).await;
    let altro = support::altro_town(&app).await;
    let office = app
        .store
        .create_office(
            altro.id,
            &NewOffice {
                name: "Ufficio di Altro".into(),
                description: String::new(),
                address: "Piazza 1".into(),
                contact_email: "ufficio@altro.it".into(),
            },
        )
        .await
        .unwrap();
    use jiff::civil::Weekday::{Friday, Monday, Thursday, Tuesday, Wednesday};
    let t = |h| jiff::civil::Time::new(h, 0, 0, 0).unwrap();
    let ranges = [Monday, Tuesday, Wednesday, Thursday, Friday]
        .into_iter()
        .map(|d| ricevo_core::WeeklyRange::new(d, t(9), t(12)).unwrap())
        .collect();
    app.store.set_hours(altro.id, office.id, &ricevo_core::OpeningHours::new(ranges, 1).unwrap()).await.unwrap();
    app.store
        .create_service(
            altro.id,
            &NewService {
                office_id: office.id,
                name: "Servizio di Altro".into(),
                description: String::new(),
                rules: ServiceRules::new(20, 10, vec![Mode::Video], 0, 60).unwrap(),
                what_to_bring: String::new(),
                questions: vec![],
                active: true,
            },
        )
        .await
        .unwrap();
    for (town, token, secret) in [(app.tenant, DEMO_TOKEN, DEMO_SECRET), (altro.id, ALTRO_TOKEN, ALTRO_SECRET)] {
        let channels = TownChannels {
            telegram_enabled: true,
            telegram_bot_token: Some(token.into()),
            telegram_webhook_secret: Some(secret.into()),
            ..TownChannels::none(town)
        };
        app.store.set_town_channels(&channels).await.unwrap();
    }
    Bots { app, telegram, base, altro, next_update: std::sync::atomic::AtomicI64::new(1) }
}

impl Bots {
    // Posts an update (with the next update id) to a town's webhook with the given secret.
    async fn post(&self, slug: &str, secret: Option<&str>, mut update: Value) -> (i64, Answer) {
        let id = self.next_update.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        update["update_id"] = id.into();
        (id, self.post_raw(slug, secret, update.to_string()).await)
    }

    async fn post_raw(&self, slug: &str, secret: Option<&str>, body: String) -> Answer {
        let mut req =
            Request::post(format!("/telegram/{slug}/webhook")).header(header::CONTENT_TYPE, "application/json");
        if let Some(s) = secret {
            req = req.header("X-Telegram-Bot-Api-Secret-Token", s);
        }
        send(&self.app, req.body(Body::from(body)).unwrap()).await
    }

    // The citizen of CHAT types to the demo bot; returns the bot's last message.
    async fn say(&self, text: &str) -> Value {
        let (_, answer) = self.post("demo", Some(DEMO_SECRET), fake::text_update(CHAT, "en", text)).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        self.last(DEMO_TOKEN)
    }

    // Presses the button of the bot's last message whose label contains `label`.
    async fn press(&self, label: &str) -> Value {
        let data = button(&self.last(DEMO_TOKEN), label);
        let (_, answer) = self.post("demo", Some(DEMO_SECRET), fake::button_update(CHAT, "en", &data)).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        self.last(DEMO_TOKEN)
    }

    fn last(&self, token: &str) -> Value {
        self.telegram.sent(token, CHAT).last().cloned().unwrap_or(Value::Null)
    }
}

fn text(message: &Value) -> &str {
    message["text"].as_str().unwrap_or("")
}

fn labels(message: &Value) -> Vec<String> {
    let rows = message["reply_markup"]["inline_keyboard"].as_array().cloned().unwrap_or_default();
    rows.iter()
        .flat_map(|r| r.as_array().cloned().unwrap_or_default())
        .map(|b| b["text"].as_str().unwrap().to_owned())
        .collect()
}

fn button(message: &Value, label: &str) -> String {
    let rows = message["reply_markup"]["inline_keyboard"].as_array().cloned().unwrap_or_default();
    let found = rows
        .iter()
        .flat_map(|r| r.as_array().cloned().unwrap_or_default())
        .find(|b| b["text"].as_str().unwrap().contains(label));
    found.unwrap_or_else(|| panic!("no button {label:?} in {message}"))["callback_data"].as_str().unwrap().to_owned()
}

// The first button of the message (the earliest day or time).
fn first_button(message: &Value) -> String {
    labels(message).into_iter().next().unwrap_or_else(|| panic!("no buttons in {message}"))
}

#[tokio::test]
async fn a_citizen_books_cancels_and_takes_a_ticket_entirely_through_the_bot() {
    let b = bots().await;
    let menu = b.say("/start").await;
    assert!(text(&menu).contains("what would you like to do"), "{menu}");
    // The switch to Italian and back.
    let italian = b.press("Italiano").await;
    assert!(text(&italian).contains("che cosa vuoi fare"), "{italian}");
    b.press("English").await;

    let offices = b.press("Book an appointment").await;
    assert!(labels(&offices).iter().any(|l| l == "Anagrafe"), "{offices}");
    let services = b.press("Anagrafe").await;
    // The identity card asks a required question only the booking page asks: not offered here.
    assert_eq!(labels(&services)[..1], ["Cambio di residenza".to_owned()], "{services}");
    b.press("Cambio di residenza").await;
    let days = b.press("In person").await;
    let day = first_button(&days);
    let times = b.press(&day).await;
    let time = first_button(&times);
    let ask_name = b.press(&time).await;
    assert!(text(&ask_name).contains("name"), "{ask_name}");
    let ask_contact = b.say("Anna Rossi").await;
    assert_eq!(ask_contact["reply_markup"]["keyboard"][0][0]["request_contact"], true, "{ask_contact}");
    // The phone number shared with Telegram's button.
    let (_, shared) = b.post("demo", Some(DEMO_SECRET), fake::contact_update(CHAT, "+39 333 1234567", CHAT)).await;
    assert_eq!(shared.status, StatusCode::OK);
    let privacy = b.last(DEMO_TOKEN);
    assert!(text(&privacy).contains("https://ricevo.example/demo/privacy"), "{privacy}");
    let summary = b.press("I have read").await;
    assert!(text(&summary).contains("Anna Rossi, +39 333 1234567"), "{summary}");
    let booked = b.press("Confirm").await;
    assert!(text(&booked).starts_with("Booked: Cambio di residenza"), "{booked}");

    // The appointment is in the store, for this chat, booked through the bot.
    let now = b.app.state.now();
    let mine = b.app.store.telegram_chat_appointments(b.app.tenant, CHAT, now).await.unwrap();
    assert_eq!(mine.len(), 1);
    let a = &mine[0];
    assert_eq!((a.citizen_name.as_str(), a.citizen_phone.as_deref()), ("Anna Rossi", Some("+39 333 1234567")));
    assert!(text(&booked).contains(&a.public_id), "{booked}");
    // Every pressed button was answered, so the citizen's app stops its spinner.
    let answered = b.telegram.calls().iter().filter(|c| c.method == "answerCallbackQuery").count();
    assert!(answered >= 9, "{answered}");

    // Moved to another day, from the list of the chat's appointments.
    let listed = b.press("Menu").await;
    assert!(text(&listed).contains("what would you like"), "{listed}");
    let mine_msg = b.press("My appointments").await;
    assert!(text(&mine_msg).contains(&a.public_id), "{mine_msg}");
    let days = b.press("🔁").await;
    let other_day = labels(&days).into_iter().find(|d| *d != day).unwrap();
    let times = b.press(&other_day).await;
    let moved = b.press(&first_button(&times)).await;
    assert!(text(&moved).starts_with(&format!("Appointment {} moved to {other_day}", a.public_id)), "{moved}");
    let stored = b.app.store.appointment(b.app.tenant, a.id).await.unwrap().unwrap();
    assert!(stored.start > a.start && stored.status == AppointmentStatus::Booked);

    // Cancelling asks first.
    b.press("Menu").await;
    let mine_msg = b.press("My appointments").await;
    assert!(text(&mine_msg).contains(&a.public_id), "{mine_msg}");
    let ask = b.press("❌").await;
    assert!(text(&ask).starts_with("Cancel Cambio di residenza"), "{ask}");
    let cancelled = b.press("Yes, cancel").await;
    assert_eq!(text(&cancelled), format!("Appointment {} cancelled.", a.public_id));
    let stored = b.app.store.appointment(b.app.tenant, a.id).await.unwrap().unwrap();
    assert_eq!(stored.status, AppointmentStatus::Cancelled);

    // A walk-in ticket at the URP, whose desk is always open.
    b.press("Menu").await;
    let offices = b.press("Take a ticket").await;
    assert_eq!(labels(&offices)[..1], ["URP – Ufficio Relazioni con il Pubblico".to_owned()], "{offices}");
    b.press("URP").await;
    let ticket = b.say("Mario Bianchi").await;
    assert!(text(&ticket).starts_with("Your number: 1 (URP"), "{ticket}");
    assert!(text(&ticket).contains("https://ricevo.example/a/"), "{ticket}");

    // What the town tells the citizen (booked, moved, cancelled) goes through the outbox on
    // the citizen's channel: this chat, since the town sends by Telegram only and the citizen
    // gave no e-mail. The real worker hands each to the Bot API with the town's token, once.
    let before = b.telegram.sent(DEMO_TOKEN, CHAT).len();
    let senders =
        ricevo_notify::ChannelSenders::at("http://127.0.0.1:9", &b.base, ricevo_notify::AllowedHosts::default())
            .unwrap();
    let worker = ricevo_notify::Worker::new(b.app.store.clone(), ricevo_notify::Mailer::outbox(b.app.dir.path()))
        .unwrap()
        .with_channels(senders);
    let now = b.app.state.now();
    worker.run_once(now + jiff::SignedDuration::from_secs(1)).await.unwrap();
    worker.run_once(now + jiff::SignedDuration::from_secs(2)).await.unwrap();
    let told: Vec<String> = b.telegram.sent(DEMO_TOKEN, CHAT)[before..].iter().map(|m| text(m).to_owned()).collect();
    let when = a.start.to_zoned(jiff::tz::TimeZone::get("Europe/Rome").unwrap()).strftime("%d/%m %H:%M").to_string();
    for (what, count) in [("appointment confirmed", 1), ("appointment moved", 1), ("cancelled", 1)] {
        assert_eq!(told.iter().filter(|t| t.contains(what)).count(), count, "{what} in {told:?}");
    }
    assert!(told.iter().any(|t| t.contains("appointment confirmed") && t.contains(&when)), "{told:?}");
    // The booking's message carries the link to manage it (a change made later from the chat
    // is managed from the chat: the town keeps only the link's hash).
    assert!(told[0].contains("https://ricevo.example/a/"), "{told:?}");
}

#[tokio::test]
async fn hostile_updates_are_refused_and_change_nothing() {
    let b = bots().await;
    let start = |id: i64| {
        let mut u = fake::text_update(CHAT, "en", "/start");
        u["update_id"] = id.into();
        u.to_string()
    };
    // Without the secret, with a wrong one, with the other town's: refused before anything runs.
    assert_eq!(b.post_raw("demo", None, start(500)).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(b.post_raw("demo", Some("guess"), start(500)).await.status, StatusCode::FORBIDDEN);
    assert_eq!(b.post_raw("demo", Some(ALTRO_SECRET), start(500)).await.status, StatusCode::FORBIDDEN);
    assert_eq!(b.post_raw("nowhere", Some(DEMO_SECRET), start(500)).await.status, StatusCode::NOT_FOUND);
    assert!(b.telegram.calls().is_empty(), "nothing sent for forged updates");
    // The refused update id was not even recorded: the real delivery of it is handled.
    assert_eq!(b.post_raw("demo", Some(DEMO_SECRET), start(500)).await.status, StatusCode::OK);
    assert_eq!(b.telegram.sent(DEMO_TOKEN, CHAT).len(), 1);
    // A replay of the same update id changes nothing and sends nothing.
    assert_eq!(b.post_raw("demo", Some(DEMO_SECRET), start(500)).await.status, StatusCode::OK);
    assert_eq!(b.telegram.sent(DEMO_TOKEN, CHAT).len(), 1);

    // A body over the cap is refused unread; a long text inside it is refused in words.
    let huge = fake::text_update(CHAT, "en", &"x".repeat(40_000));
    assert_eq!(b.post("demo", Some(DEMO_SECRET), huge).await.1.status, StatusCode::PAYLOAD_TOO_LARGE);
    let long = b.say(&"x".repeat(5_000)).await;
    assert!(text(&long).contains("too long"), "{long}");
    assert_eq!(b.post_raw("demo", Some(DEMO_SECRET), "{not json".into()).await.status, StatusCode::BAD_REQUEST);

    // Forged and unknown button data: refused in words, and the conversation stays where it was.
    b.press("Menu").await;
    b.press("Book an appointment").await;
    for forged in ["1o:999999", "2o:1", "1zz:1", "'; DROP TABLE appointments; --", ""] {
        let (_, answer) = b.post("demo", Some(DEMO_SECRET), fake::button_update(CHAT, "en", forged)).await;
        assert_eq!(answer.status, StatusCode::OK);
        let said = b.last(DEMO_TOKEN);
        assert!(text(&said).contains("not valid") || text(&said).contains("no longer available"), "{forged}: {said}");
    }
    // The office list of before still answers.
    let offices =
        b.telegram.sent(DEMO_TOKEN, CHAT).into_iter().rev().find(|m| text(m) == "Choose the office.").unwrap();
    let data = button(&offices, "Tributi");
    b.post("demo", Some(DEMO_SECRET), fake::button_update(CHAT, "en", &data)).await;
    assert_eq!(labels(&b.last(DEMO_TOKEN))[..1], ["TARI / IMU".to_owned()]);
    // Nothing was booked by any of it.
    let now = b.app.state.now();
    assert!(b.app.store.telegram_chat_appointments(b.app.tenant, CHAT, now).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_chat_with_one_towns_bot_never_sees_or_books_another_towns_offices() {
    let b = bots().await;
    let (_, answer) = b.post("altro", Some(ALTRO_SECRET), fake::text_update(CHAT, "en", "/start")).await;
    assert_eq!(answer.status, StatusCode::OK);
    let menu = b.last(ALTRO_TOKEN);
    assert!(text(&menu).starts_with("Comune Altro"), "{menu}");
    let data = button(&menu, "Book");
    b.post("altro", Some(ALTRO_SECRET), fake::button_update(CHAT, "en", &data)).await;
    let offices = b.last(ALTRO_TOKEN);
    assert_eq!(labels(&offices)[..1], ["Ufficio di Altro".to_owned()], "{offices}");
    // Town A's office, forged into town B's bot: not offered.
    let anagrafe = b.app.store.offices(b.app.tenant).await.unwrap().into_iter().find(|o| o.name == "Anagrafe").unwrap();
    let forged = ricevo_core::chat_booking::Callback::Office(anagrafe.id.0).encode();
    b.post("altro", Some(ALTRO_SECRET), fake::button_update(CHAT, "en", &forged)).await;
    assert_eq!(text(&b.last(ALTRO_TOKEN)), "This choice is no longer available.");
    // The same chat with town A's bot is another conversation, which started at the menu.
    assert!(b.telegram.sent(DEMO_TOKEN, CHAT).is_empty());
    let demo_menu = b.say("/start").await;
    assert!(text(&demo_menu).starts_with("Comune di Esempio"), "{demo_menu}");
    // Town B's secret never opened town A's webhook, and B's bot never spoke for A.
    assert!(b.telegram.sent(ALTRO_TOKEN, CHAT).iter().all(|m| !text(m).contains("Esempio")));
}

#[tokio::test]
async fn the_bots_loop_sets_webhooks_and_long_polls_the_others() {
    let b = bots().await;
    // The second town's bot has no webhook secret: it is long-polled.
    let mut polled = b.app.store.town_channels(b.altro.id).await.unwrap().unwrap();
    polled.telegram_webhook_secret = None;
    b.app.store.set_town_channels(&polled).await.unwrap();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let bots_loop = tokio::spawn(ricevo_web::telegram::run_bots(b.app.state.clone(), stop_rx));
    let id = b.telegram.push_update(ALTRO_TOKEN, fake::text_update(CHAT, "it", "/start"));
    let answered = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            if let Some(m) = b.telegram.sent(ALTRO_TOKEN, CHAT).first() {
                break m.clone();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the polled update is answered");
    assert!(text(&answered).starts_with("Comune Altro: che cosa vuoi fare?"), "{answered}");
    // The demo bot's webhook is set with its secret token.
    let hook = b.telegram.webhook(DEMO_TOKEN).unwrap();
    assert_eq!(hook, ("https://ricevo.example/telegram/demo/webhook".to_owned(), Some(DEMO_SECRET.to_owned())));
    stop_tx.send(true).unwrap();
    bots_loop.await.unwrap();
    // The next getUpdates confirmed the handled update (offset past its id): nothing waits.
    let api = BotApi::new(&b.base).unwrap();
    let left = api.get_updates(ALTRO_TOKEN, Some(id + 1), 0).await.unwrap();
    assert!(left.is_empty(), "{left:?}");
}
