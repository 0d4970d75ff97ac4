//! What the web tests share: the demo town on a real SQLite store behind the real router, a
//! clock the test moves, staff sign-in with its cookies and CSRF tokens, and booking through the
//! public API.

#![allow(clippy::unwrap_used, dead_code, unreachable_pub)]

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, LazyLock};

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use jiff::Timestamp;
use ricevo_core::{AppointmentId, TenantId};
use ricevo_store::{NewTenant, Store, Tenant};
use ricevo_web::{AppState, WebConfig};
use serde_json::json;
use tower::ServiceExt;

// Monday 23 November 2026, 09:00 in Rome.
pub const NOW: &str = "2026-11-23T08:00:00Z";
pub const PASSWORD: &str = "una-password-lunga-1";
pub const ADMIN: &str = "admin@esempio.it";
// Wednesday 25 November 2026.
pub const DAY: &str = "2026-11-25";

// One argon2id hash for every account of every test (hashing is slow in debug builds).
pub static PASSWORD_HASH: LazyLock<String> = LazyLock::new(|| ricevo_web::staff::hash_password(PASSWORD));

pub struct App {
    pub router: Router,
    pub store: Arc<dyn Store>,
    // The instant the app reads as now, in Unix seconds (tests travel with it).
    pub clock: Arc<AtomicI64>,
    pub tenant: TenantId,
    pub outbox: std::path::PathBuf,
    pub state: AppState,
    pub dir: tempfile::TempDir,
}

pub struct Session {
    pub cookie: String,
    pub csrf: String,
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

pub async fn app_with(mut config: WebConfig) -> App {
    let dir = tempfile::tempdir().unwrap();
    let outbox = dir.path().join("outbox");
    std::fs::create_dir_all(&outbox).unwrap();
    config.outbox_dir = Some(outbox.clone());
    let store = ricevo_store::open(&format!("sqlite://{}", dir.path().join("t.db").display())).await.unwrap();
    let hash = PASSWORD_HASH.clone();
    let demo = ricevo_web::demo::load(&*store, move |_| hash.clone()).await.unwrap();
    let clock = Arc::new(AtomicI64::new(NOW.parse::<Timestamp>().unwrap().as_second()));
    let read = clock.clone();
    let state = AppState::with_clock(
        store.clone(),
        config,
        Arc::new(move || Timestamp::from_second(read.load(Ordering::SeqCst)).unwrap()),
    );
    App { router: ricevo_web::router(state.clone()), store, clock, tenant: demo.tenant.id, outbox, state, dir }
}

pub async fn app() -> App {
    app_with(WebConfig::default()).await
}

pub async fn send(app: &App, req: Request<Body>) -> Answer {
    let resp = app.router.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20).await.unwrap();
    Answer { status, headers, body: String::from_utf8_lossy(&bytes).into_owned() }
}

pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") }
        })
        .collect()
}

pub fn form_body(pairs: &[(&str, &str)]) -> String {
    pairs.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect::<Vec<_>>().join("&")
}

pub fn set_cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with(&format!("{name}=")))
}

pub fn cookie_value(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().split_once('=').unwrap().1.to_owned()
}

// The value of the first `<input ... name="NAME" value="...">` of a page.
pub fn hidden(body: &str, name: &str) -> String {
    let at = body.find(&format!("name=\"{name}\" value=\"")).unwrap_or_else(|| panic!("no {name} field in {body}"));
    let rest = &body[at + name.len() + 15..];
    rest[..rest.find('"').unwrap()].to_owned()
}

// The secret a page shows once.
pub fn secret_of(body: &str) -> String {
    let at = body.find("<code class=\"secret-value\">").unwrap_or_else(|| panic!("no secret in {body}"));
    let rest = &body[at + 27..];
    rest[..rest.find('<').unwrap()].to_owned()
}

pub async fn try_login(app: &App, slug: &str, email: &str, password: &str) -> Answer {
    let page = send(app, Request::get(format!("/{slug}/staff/login")).body(Body::empty()).unwrap()).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let login_csrf = hidden(&page.body, "login_csrf");
    let cookie = cookie_value(set_cookie(&page.headers, "ricevo_login_csrf").unwrap());
    let req = Request::post(format!("/{slug}/staff/login"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, format!("ricevo_login_csrf={cookie}"))
        .body(Body::from(form_body(&[("login_csrf", &login_csrf), ("email", email), ("password", password)])))
        .unwrap();
    send(app, req).await
}

pub async fn login_to(app: &App, slug: &str, email: &str) -> Session {
    let answer = try_login(app, slug, email, PASSWORD).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    let cookie = format!("ricevo_session={}", cookie_value(set_cookie(&answer.headers, "ricevo_session").unwrap()));
    let day =
        send(app, Request::get(format!("/{slug}/staff")).header(header::COOKIE, &cookie).body(Body::empty()).unwrap())
            .await;
    assert_eq!(day.status, StatusCode::OK, "{}", day.body);
    Session { csrf: hidden(&day.body, "csrf"), cookie }
}

pub async fn login(app: &App, email: &str) -> Session {
    login_to(app, "demo", email).await
}

pub async fn get(app: &App, s: &Session, uri: &str) -> Answer {
    send(app, Request::get(uri).header(header::COOKIE, &s.cookie).body(Body::empty()).unwrap()).await
}

pub async fn post_raw(app: &App, s: &Session, uri: &str, pairs: &[(&str, &str)]) -> Answer {
    let req = Request::post(uri)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, &s.cookie)
        .body(Body::from(form_body(pairs)))
        .unwrap();
    send(app, req).await
}

pub async fn post(app: &App, s: &Session, uri: &str, pairs: &[(&str, &str)]) -> Answer {
    let mut all = vec![("csrf", s.csrf.as_str())];
    all.extend_from_slice(pairs);
    post_raw(app, s, uri, &all).await
}

pub async fn service_id(app: &App, name: &str) -> i64 {
    app.store.services(app.tenant).await.unwrap().into_iter().find(|s| s.name == name).unwrap().id.0
}

// Books through the public API; returns the appointment's internal id.
pub async fn book(app: &App, service: &str, time: &str, citizen: &str) -> AppointmentId {
    let body = json!({
        "service_id": service_id(app, service).await,
        "start": format!("{DAY}T{time}:00+01:00"),
        "mode": "video",
        "citizen": {"name": citizen, "email": format!("{}@example.it", citizen.to_lowercase().replace(' ', "."))},
        "notes": "Porto i documenti",
        "privacy_accepted": true
    });
    let req = Request::post("/api/v1/demo/appointments")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let answer = send(app, req).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
    let from: Timestamp = format!("{DAY}T00:00:00+01:00").parse().unwrap();
    let to: Timestamp = format!("{DAY}T23:59:00+01:00").parse().unwrap();
    let all = app.store.appointments_between(app.tenant, None, from, to).await.unwrap();
    all.into_iter().filter(|a| a.citizen_name == citizen).map(|a| a.id).max().unwrap()
}

/// A second town, "altro" (Comune Altro), empty: for proving that nothing of one town reaches
/// another.
pub async fn altro_town(app: &App) -> Tenant {
    let new = NewTenant {
        slug: "altro".into(),
        name: "Comune Altro".into(),
        time_zone: "Europe/Rome".into(),
        patron_day: None,
        contact_email: "urp@altro.it".into(),
        privacy_notice: "Informativa".into(),
        retention_days: 365,
    };
    app.store.create_tenant(&new).await.unwrap()
}
