//! Web Push for the waiting room, end to end on a real SQLite store, the real router and the
//! real outbox worker, with a push service on loopback that checks VAPID and decrypts what it
//! gets as the citizen's browser would: a citizen subscribes from their own link, the official
//! lets them in, and exactly one "tocca a te" arrives, in their language, after the service
//! comes back if it was down; a gone subscription is deleted; towns never reach each other.

#![allow(clippy::unwrap_used)]

use crate::support;

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use jiff::Timestamp;
use ricevo_core::{EntryId, Lang};
use ricevo_fakes::push::{Mode, PushService};
use ricevo_notify::{AllowedHosts, Mailer, PushSender, VapidKey, WebhookSender, Worker};
use ricevo_store::{NewOffice, Role, Tenant};
use ricevo_web::WebConfig;
use serde_json::{Value, json};
use support::{Answer, App, send};

struct Setup {
    app: App,
    push: PushService,
    worker: Worker,
}

async fn setup() -> Setup {
    let vapid = Arc::new(VapidKey::generate());
    // The fake runs on loopback over plain http: the configuration allows that host, as a town
    // would allow a push relay inside its own network.
    let allowed = AllowedHosts::parse(["127.0.0.1"]).unwrap();
    let config = WebConfig {
        web_push_key: Some(vapid.public_key()),
        webhook_allow_hosts: allowed.clone(),
        ..WebConfig::default()
    };
    let app = support::app_with(config).await;
    let (_, push) = ricevo_fakes::push::start(&vapid.public_key()).await;
    let sender = PushSender::new(vapid, "mailto:urp@esempio.it".into(), allowed.clone()).unwrap();
    let worker =
        Worker::with_webhooks(app.store.clone(), Mailer::outbox(&app.outbox), WebhookSender::new(allowed).unwrap())
            .with_push(sender);
    Setup { app, push, worker }
}

fn now(app: &App) -> Timestamp {
    Timestamp::from_second(app.clock.load(Ordering::SeqCst)).unwrap()
}

fn later(app: &App, seconds: i64) {
    app.clock.fetch_add(seconds, Ordering::SeqCst);
}

async fn town(app: &App, slug: &str) -> Tenant {
    app.store.tenant_by_slug(slug).await.unwrap().unwrap()
}

/// The office of `town` whose walk-in desk is always open (the demo's URP; a new one elsewhere).
async fn walk_in_office(app: &App, t: &Tenant) -> ricevo_store::Office {
    let offices = app.store.offices(t.id).await.unwrap();
    if let Some(urp) = offices.iter().find(|o| o.name.starts_with("URP")) {
        return urp.clone();
    }
    let new = NewOffice {
        name: "URP".into(),
        description: String::new(),
        address: "Piazza 1".into(),
        contact_email: format!("urp@{}.it", t.slug),
    };
    let office = app.store.create_office(t.id, &new).await.unwrap();
    let always = ricevo_core::lobby::WalkInDesk { always_open: true, ..Default::default() };
    app.store.set_walk_in(t.id, office.id, &always).await.unwrap();
    office
}

/// A walk-in ticket of `slug` taken by `name`: its place and its link's path (`/a/{token}`).
async fn ticket(app: &App, slug: &str, name: &str) -> (EntryId, String) {
    let t = town(app, slug).await;
    let office = walk_in_office(app, &t).await;
    let (entry, join_url) =
        app.state.desk.take_ticket(&t, &office, name, None, &format!("test-{name}"), Lang::It).await.unwrap();
    let path = join_url.strip_prefix(&app.state.config.public_url).unwrap().strip_suffix("/join").unwrap().to_owned();
    (entry.id, path)
}

async fn subscribe(app: &App, link: &str, lang: &str, body: &str) -> Answer {
    let req = Request::post(format!("{link}/push?lang={lang}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_owned()))
        .unwrap();
    send(app, req).await
}

async fn get(app: &App, uri: &str) -> Answer {
    send(app, Request::get(uri).body(Body::empty()).unwrap()).await
}

/// A staff API token of `slug` (administrator).
async fn staff_token(app: &App, slug: &str) -> String {
    let t = town(app, slug).await;
    let token = ricevo_desk::tokens::new_token();
    app.store.create_api_token(t.id, Role::Admin, None, &ricevo_desk::tokens::hash(&token), "t").await.unwrap();
    token
}

async fn admit(app: &App, token: &str, slug: &str, entry: EntryId) -> StatusCode {
    let req = Request::post(format!("/api/v1/{slug}/waiting/{}/admit", entry.0))
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    send(app, req).await.status
}

fn error_json(a: &Answer) -> Value {
    serde_json::from_str(&a.body).unwrap_or_else(|_| panic!("not JSON: {}", a.body))
}

#[tokio::test]
async fn a_citizen_who_subscribed_is_pushed_once_in_their_language_when_let_in_even_after_the_service_was_down() {
    let Setup { app, push, worker } = setup().await;
    let (anna, anna_link) = ticket(&app, "demo", "Anna Verdi").await;
    // Off by default: no button, and the endpoint refuses.
    assert!(!get(&app, &format!("{anna_link}/join")).await.body.contains("push-subscribe"));
    let browser = push.subscribe();
    assert_eq!(subscribe(&app, &anna_link, "it", &browser.json.to_string()).await.status, StatusCode::NOT_FOUND);

    // The administrator turns it on in the town's settings page.
    let admin = support::login(&app, support::ADMIN).await;
    let saved = support::post(&app, &admin, "/demo/staff/settings/web-push", &[("web_push", "on")]).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let settings = support::get(&app, &admin, "/demo/staff/settings").await;
    assert!(settings.body.contains(r#"name="web_push" value="on" checked"#), "{}", settings.body);
    let page = get(&app, &format!("{anna_link}/join")).await;
    assert!(page.body.contains("Avvisami quando tocca a me") && page.body.contains("/web-push.js"), "{}", page.body);
    let worker_script = get(&app, &format!("{anna_link}/push-sw.js")).await;
    assert_eq!(worker_script.status, StatusCode::OK);
    assert!(worker_script.headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/javascript"));
    assert!(worker_script.body.contains("notificationclick"));

    let answer = subscribe(&app, &anna_link, "it", &browser.json.to_string()).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
    let (john, john_link) = ticket(&app, "demo", "John Smith").await;
    let johns_browser = push.subscribe();
    assert_eq!(subscribe(&app, &john_link, "en", &johns_browser.json.to_string()).await.status, StatusCode::CREATED);

    // Nothing goes out before the official lets anyone in.
    worker.run_once(now(&app)).await.unwrap();
    assert!(push.received().is_empty());
    let staff = staff_token(&app, "demo").await;
    assert_eq!(admit(&app, &staff, "demo", anna).await, StatusCode::OK);
    worker.run_once(now(&app)).await.unwrap();
    let got = push.received();
    assert_eq!(got.len(), 1, "exactly one push: {got:?} refused {:?}", push.refused());
    assert_eq!(got[0].subscription, browser.id);
    assert_eq!(got[0].payload["title"], "Tocca a te – Comune di Esempio");
    assert!(got[0].payload["body"].as_str().unwrap().contains("sala d'attesa"), "{}", got[0].payload);
    assert_eq!(got[0].payload["lang"], "it");
    // The link: the notice names the page, relative to the service worker's scope (the link).
    assert_eq!(format!("{anna_link}/{}", got[0].payload["url"].as_str().unwrap()), format!("{anna_link}/join"));
    assert_eq!((got[0].ttl.as_deref(), got[0].urgency.as_deref()), (Some("900"), Some("high")));

    // The push service is down when John is let in: retried with backoff, then delivered once.
    push.set_mode(Mode::Down);
    assert_eq!(admit(&app, &staff, "demo", john).await, StatusCode::OK);
    worker.run_once(now(&app)).await.unwrap();
    assert_eq!(push.received().len(), 1, "nothing new while the service is down");
    push.set_mode(Mode::Up);
    worker.run_once(now(&app)).await.unwrap();
    assert_eq!(push.received().len(), 1, "the retry waits for its backoff");
    later(&app, 31);
    worker.run_once(now(&app)).await.unwrap();
    later(&app, 3600);
    worker.run_once(now(&app)).await.unwrap();
    let got = push.received();
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[1].subscription, johns_browser.id);
    assert_eq!(got[1].payload["title"], "It's your turn – Comune di Esempio");
    assert_eq!(got[1].payload["lang"], "en");
    assert!(push.refused().is_empty(), "{:?}", push.refused());

    // Admitted places cannot be subscribed for any more; nothing is pushed twice.
    let late = subscribe(&app, &anna_link, "it", &push.subscribe().json.to_string()).await;
    assert_eq!(late.status, StatusCode::CONFLICT, "{}", late.body);
    worker.run_once(now(&app)).await.unwrap();
    assert_eq!(push.received().len(), 2);
}

#[tokio::test]
async fn a_gone_subscription_is_deleted_and_bad_subscriptions_get_a_clear_refusal_in_the_users_language() {
    let Setup { app, push, worker } = setup().await;
    app.store.set_web_push(app.tenant, true).await.unwrap();
    let (anna, link) = ticket(&app, "demo", "Anna Verdi").await;

    let good = push.subscribe().json;
    let with = |path: &str, value: Value| {
        let mut body = good.clone();
        let mut at = &mut body;
        let parts: Vec<&str> = path.split('.').collect();
        for p in &parts[..parts.len() - 1] {
            at = &mut at[*p];
        }
        at[parts[parts.len() - 1]] = value;
        body.to_string()
    };
    let refused = subscribe(&app, &link, "it", &with("endpoint", json!("http://push.example.net/x"))).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    let body = error_json(&refused);
    assert_eq!(body["fields"][0]["field"], "endpoint");
    assert!(body["fields"][0]["message"].as_str().unwrap().contains("https://"), "{body}");
    let internal = subscribe(&app, &link, "it", &with("endpoint", json!("https://10.1.2.3/push/x"))).await;
    assert_eq!(internal.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(error_json(&internal)["fields"][0]["message"].as_str().unwrap().contains("rete interna"));
    let huge = subscribe(&app, &link, "en", &with("keys.p256dh", json!("B".repeat(5000)))).await;
    assert_eq!(huge.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_json(&huge)["fields"][0]["message"], "The browser's key (p256dh) is not valid.");
    let secret = subscribe(&app, &link, "en", &with("keys.auth", json!("c2hvcnQ"))).await;
    assert_eq!(error_json(&secret)["fields"][0]["field"], "auth");
    assert_eq!(subscribe(&app, &link, "en", "{not json").await.status, StatusCode::BAD_REQUEST);
    assert_eq!(subscribe(&app, "/a/not-a-token", "it", &good.to_string()).await.status, StatusCode::NOT_FOUND);
    let forged = Request::post(format!("{link}/push"))
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::ORIGIN, "https://evil.example")
        .header(header::HOST, "127.0.0.1:8080")
        .body(Body::from(good.to_string()))
        .unwrap();
    assert_eq!(send(&app, forged).await.status, StatusCode::FORBIDDEN);
    assert!(
        app.store.push_subscriptions_of(app.tenant, anna, None, now(&app)).await.unwrap().is_empty(),
        "nothing refused was stored"
    );

    // The browser unsubscribed: the push service answers 410 and the subscription goes.
    assert_eq!(subscribe(&app, &link, "it", &good.to_string()).await.status, StatusCode::CREATED);
    let stored = app.store.push_subscriptions_of(app.tenant, anna, None, now(&app)).await.unwrap();
    assert_eq!(stored.len(), 1);
    push.set_mode(Mode::Gone);
    assert_eq!(admit(&app, &staff_token(&app, "demo").await, "demo", anna).await, StatusCode::OK);
    worker.run_once(now(&app)).await.unwrap();
    assert!(app.store.push_subscription(stored[0].id).await.unwrap().is_none(), "410 deletes the subscription");
    assert_eq!(app.store.outbox_backlog().await.unwrap(), 0, "and the push is not retried");
    assert!(push.received().is_empty());
}

#[tokio::test]
async fn towns_keep_their_own_pushes_and_a_town_with_web_push_off_offers_nothing() {
    let Setup { app, push, worker } = setup().await;
    support::altro_town(&app).await;
    app.store.set_web_push(app.tenant, true).await.unwrap();
    let (anna, anna_link) = ticket(&app, "demo", "Anna Verdi").await;
    let (gino, gino_link) = ticket(&app, "altro", "Gino Neri").await;

    // Altro has Web Push off: no button, no service worker, the endpoint refuses.
    let page = get(&app, &format!("{gino_link}/join")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.body.contains("push-subscribe") && !page.body.contains("web-push.js"));
    assert_eq!(get(&app, &format!("{gino_link}/push-sw.js")).await.status, StatusCode::NOT_FOUND);
    let ginos_browser = push.subscribe();
    assert_eq!(subscribe(&app, &gino_link, "it", &ginos_browser.json.to_string()).await.status, StatusCode::NOT_FOUND);
    let annas_browser = push.subscribe();
    assert_eq!(subscribe(&app, &anna_link, "it", &annas_browser.json.to_string()).await.status, StatusCode::CREATED);

    // Altro's staff cannot let Anna in, through either town's address: nothing is pushed.
    let altro_staff = staff_token(&app, "altro").await;
    assert_eq!(admit(&app, &altro_staff, "altro", anna).await, StatusCode::NOT_FOUND);
    assert_eq!(admit(&app, &altro_staff, "demo", anna).await, StatusCode::UNAUTHORIZED);
    worker.run_once(now(&app)).await.unwrap();
    assert!(push.received().is_empty());

    // Altro turns it on; each town's admission reaches its own citizen only.
    app.store.set_web_push(town(&app, "altro").await.id, true).await.unwrap();
    app.state.desk.catalogue().forget();
    assert_eq!(subscribe(&app, &gino_link, "it", &ginos_browser.json.to_string()).await.status, StatusCode::CREATED);
    let altro = town(&app, "altro").await;
    assert!(app.store.push_subscriptions_of(altro.id, anna, None, now(&app)).await.unwrap().is_empty());
    assert_eq!(admit(&app, &altro_staff, "altro", gino).await, StatusCode::OK);
    worker.run_once(now(&app)).await.unwrap();
    let got = push.received();
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].subscription, ginos_browser.id);
    assert_eq!(got[0].payload["title"], "Tocca a te – Comune Altro");
    assert_eq!(admit(&app, &staff_token(&app, "demo").await, "demo", anna).await, StatusCode::OK);
    worker.run_once(now(&app)).await.unwrap();
    let got = push.received();
    assert_eq!(got.iter().map(|r| r.subscription.as_str()).collect::<Vec<_>>(), [&ginos_browser.id, &annas_browser.id]);
    assert_eq!(got[1].payload["title"], "Tocca a te – Comune di Esempio");
}
