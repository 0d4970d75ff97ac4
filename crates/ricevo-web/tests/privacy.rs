//! A citizen's data on request (GDPR) in the staff pages and the API, and the privacy notice and
//! accessibility statement of the citizen pages: through the real router on a real SQLite store.

#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, LazyLock};

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use jiff::Timestamp;
use ricevo_core::lobby::{Abilities, EntryKind};
use ricevo_core::{AppointmentId, OfficeId, TenantId};
use ricevo_store::{NewEntry, NewOffice, NewTenant, Role, Store};
use ricevo_web::{AppState, WebConfig};
use serde_json::{Value, json};
use tower::ServiceExt;

// Monday 23 November 2026, 09:00 in Rome.
const NOW: &str = "2026-11-23T08:00:00Z";
const PASSWORD: &str = "una-password-lunga-1";
const ADMIN: &str = "admin@esempio.it";
// Wednesday 25 November 2026.
const DAY: &str = "2026-11-25";

// One argon2id hash for every account of every test (hashing is slow in debug builds).
static PASSWORD_HASH: LazyLock<String> = LazyLock::new(|| ricevo_web::staff::hash_password(PASSWORD));

struct App {
    router: Router,
    store: Arc<dyn Store>,
    tenant: TenantId,
    _dir: tempfile::TempDir,
}

struct Session {
    cookie: String,
    csrf: String,
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

async fn app_with(mut config: WebConfig) -> App {
    let dir = tempfile::tempdir().unwrap();
    let outbox = dir.path().join("outbox");
    std::fs::create_dir_all(&outbox).unwrap();
    config.outbox_dir = Some(outbox);
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
    App { router: ricevo_web::router(state), store, tenant: demo.tenant.id, _dir: dir }
}

async fn app() -> App {
    app_with(WebConfig::default()).await
}

async fn send(app: &App, req: Request<Body>) -> Answer {
    let resp = app.router.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20).await.unwrap();
    Answer { status, headers, body: String::from_utf8_lossy(&bytes).into_owned() }
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") }
        })
        .collect()
}

fn form_body(pairs: &[(&str, &str)]) -> String {
    pairs.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect::<Vec<_>>().join("&")
}

fn set_cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with(&format!("{name}=")))
}

fn cookie_value(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().split_once('=').unwrap().1.to_owned()
}

// The value of the first `<input ... name="NAME" value="...">` of a page.
fn hidden(body: &str, name: &str) -> String {
    let at = body.find(&format!("name=\"{name}\" value=\"")).unwrap_or_else(|| panic!("no {name} field in {body}"));
    let rest = &body[at + name.len() + 15..];
    rest[..rest.find('"').unwrap()].to_owned()
}

async fn try_login(app: &App, slug: &str, email: &str, password: &str) -> Answer {
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

async fn login_to(app: &App, slug: &str, email: &str) -> Session {
    let answer = try_login(app, slug, email, PASSWORD).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    let cookie = format!("ricevo_session={}", cookie_value(set_cookie(&answer.headers, "ricevo_session").unwrap()));
    let day =
        send(app, Request::get(format!("/{slug}/staff")).header(header::COOKIE, &cookie).body(Body::empty()).unwrap())
            .await;
    assert_eq!(day.status, StatusCode::OK, "{}", day.body);
    Session { csrf: hidden(&day.body, "csrf"), cookie }
}

async fn login(app: &App, email: &str) -> Session {
    login_to(app, "demo", email).await
}

async fn get(app: &App, s: &Session, uri: &str) -> Answer {
    send(app, Request::get(uri).header(header::COOKIE, &s.cookie).body(Body::empty()).unwrap()).await
}

async fn post_raw(app: &App, s: &Session, uri: &str, pairs: &[(&str, &str)]) -> Answer {
    let req = Request::post(uri)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, &s.cookie)
        .body(Body::from(form_body(pairs)))
        .unwrap();
    send(app, req).await
}

async fn post(app: &App, s: &Session, uri: &str, pairs: &[(&str, &str)]) -> Answer {
    let mut all = vec![("csrf", s.csrf.as_str())];
    all.extend_from_slice(pairs);
    post_raw(app, s, uri, &all).await
}

async fn service_id(app: &App, name: &str) -> i64 {
    app.store.services(app.tenant).await.unwrap().into_iter().find(|s| s.name == name).unwrap().id.0
}

// Books through the public API; returns the appointment's internal id.
async fn book(app: &App, service: &str, time: &str, citizen: &str) -> AppointmentId {
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

const MARIA: &str = "maria.rossi@example.it";

/// A second town, "altro", with an administrator, an office and Maria's walk-in ticket there.
async fn other_town(app: &App) -> TenantId {
    let other = app
        .store
        .create_tenant(&NewTenant {
            slug: "altro".into(),
            name: "Comune Altro".into(),
            time_zone: "Europe/Rome".into(),
            patron_day: None,
            contact_email: "urp@altro.it".into(),
            privacy_notice: "Informativa".into(),
            retention_days: 365,
        })
        .await
        .unwrap();
    let new_office = NewOffice {
        name: "Ufficio Segreto".into(),
        description: String::new(),
        address: String::new(),
        contact_email: "segreto@altro.it".into(),
    };
    let office = app.store.create_office(other.id, &new_office).await.unwrap();
    app.store.create_user(other.id, "admin@altro.it", "Admin Altro", Role::Admin, &PASSWORD_HASH, &[]).await.unwrap();
    let ticket = NewEntry {
        tenant_id: other.id,
        office_id: office.id,
        kind: EntryKind::Ticket,
        appointment_id: None,
        meeting_id: None,
        name: "Maria Rossi di Altro".into(),
        email: Some(MARIA.into()),
        service: String::new(),
        booked_start: None,
        booked_end: None,
        abilities: Abilities::citizen(),
        direct: false,
        token_hash: Some("ticket-altro".into()),
    };
    let now: Timestamp = NOW.parse().unwrap();
    app.store.take_ticket(&ticket, jiff::civil::date(2026, 11, 23), now, &|_| Vec::new()).await.unwrap();
    other.id
}

async fn api_token(app: &App, tenant: TenantId, role: Role, office: Option<OfficeId>) -> String {
    let token = ricevo_desk::tokens::new_token();
    app.store.create_api_token(tenant, role, office, &ricevo_desk::tokens::hash(&token), "test").await.unwrap();
    token
}

async fn api(app: &App, token: &str, uri: &str, body: &Value) -> (StatusCode, Value) {
    let req = Request::post(uri)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::from(body.to_string()))
        .unwrap();
    let answer = send(app, req).await;
    (answer.status, serde_json::from_str(&answer.body).unwrap_or(Value::Null))
}

#[tokio::test]
async fn an_administrator_reads_downloads_and_erases_a_citizen_of_their_own_town_only() {
    let app = app().await;
    other_town(&app).await;
    let id = book(&app, "Cambio di residenza", "09:00", "Maria Rossi").await;
    let code = app.store.appointment(app.tenant, id).await.unwrap().unwrap().public_id;
    let a = login(&app, ADMIN).await;
    let b = login_to(&app, "altro", "admin@altro.it").await;

    let form = get(&app, &a, "/demo/staff/privacy").await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    assert!(form.body.contains("/demo/accessibilita"), "the staff footer links the statement");
    let found = post(&app, &a, "/demo/staff/privacy", &[("by", "email"), ("value", "Maria.Rossi@example.it")]).await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.body);
    assert!(found.body.contains(&code) && found.body.contains("Porto i documenti"), "{}", found.body);
    assert!(!found.body.contains("Maria Rossi di Altro"), "another town's ticket never shows");
    let theirs = post(&app, &b, "/altro/staff/privacy", &[("by", "email"), ("value", MARIA)]).await;
    assert!(theirs.body.contains("Maria Rossi di Altro") && !theirs.body.contains(&code), "{}", theirs.body);
    // A's session on B's pages is no session there; B's never reaches A's citizen.
    let crossed = post(&app, &a, "/altro/staff/privacy", &[("by", "email"), ("value", MARIA)]).await;
    assert_eq!(crossed.status, StatusCode::SEE_OTHER);
    let crossed = post(
        &app,
        &a,
        "/altro/staff/privacy/erase",
        &[("by", "email"), ("value", MARIA), ("step", "erase"), ("confirm", "yes")],
    )
    .await;
    assert_eq!(crossed.status, StatusCode::SEE_OTHER);

    let bad = post(&app, &a, "/demo/staff/privacy", &[("by", "fiscal_code"), ("value", "RSSMRA85T10A562X")]).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("codice fiscale"), "{}", bad.body);

    let json = post(&app, &a, "/demo/staff/privacy/export", &[("by", "email"), ("value", MARIA)]).await;
    assert_eq!(json.status, StatusCode::OK);
    assert!(json.headers[header::CONTENT_DISPOSITION].to_str().unwrap().starts_with("attachment"));
    let export: Value = serde_json::from_str(&json.body).unwrap();
    assert_eq!(export["appointments"][0]["id"], code.as_str());
    assert_eq!(export["appointments"][0]["email"], MARIA);
    assert!(!export["messages"].as_array().unwrap().is_empty(), "the confirmation waits in the outbox");

    // Erasure: a confirmation first; the box must be ticked; an appointment to come refuses it.
    let confirm = post(&app, &a, "/demo/staff/privacy/erase", &[("by", "email"), ("value", MARIA)]).await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert!(confirm.body.contains("name=\"confirm\"") && confirm.body.contains(&code), "{}", confirm.body);
    let unticked =
        post(&app, &a, "/demo/staff/privacy/erase", &[("by", "email"), ("value", MARIA), ("step", "erase")]).await;
    assert_eq!(unticked.status, StatusCode::UNPROCESSABLE_ENTITY);
    let erase = [("by", "email"), ("value", MARIA), ("step", "erase"), ("confirm", "yes")];
    let refused = post(&app, &a, "/demo/staff/privacy/erase", &erase).await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert!(refused.body.contains("annullali prima") && refused.body.contains(&code), "{}", refused.body);
    assert_eq!(app.store.appointment(app.tenant, id).await.unwrap().unwrap().citizen_email, MARIA, "nothing changed");

    app.store.cancel(app.tenant, id, 0, NOW.parse().unwrap(), &[]).await.unwrap();
    let done = post(&app, &a, "/demo/staff/privacy/erase", &erase).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert!(done.body.contains("Dati cancellati"), "{}", done.body);
    let after = app.store.appointment(app.tenant, id).await.unwrap().unwrap();
    assert_eq!((after.citizen_name.as_str(), after.citizen_email.as_str()), ("", ""));
    let again = post(&app, &a, "/demo/staff/privacy", &[("by", "email"), ("value", MARIA)]).await;
    assert!(again.body.contains("non conserva dati"), "{}", again.body);
    let theirs = post(&app, &b, "/altro/staff/privacy", &[("by", "email"), ("value", MARIA)]).await;
    assert!(theirs.body.contains("Maria Rossi di Altro"), "town altro's ticket is altro's to erase");
}

#[tokio::test]
async fn only_administrators_reach_the_privacy_page() {
    let app = app().await;
    let office = app.store.offices(app.tenant).await.unwrap()[0].id;
    app.store
        .create_user(app.tenant, "op@esempio.it", "Operatrice", Role::Operator, &PASSWORD_HASH, &[office])
        .await
        .unwrap();
    let op = login(&app, "op@esempio.it").await;
    assert_eq!(get(&app, &op, "/demo/staff/privacy").await.status, StatusCode::FORBIDDEN);
    let posted = post(&app, &op, "/demo/staff/privacy", &[("by", "email"), ("value", MARIA)]).await;
    assert_eq!(posted.status, StatusCode::FORBIDDEN);
    assert!(!get(&app, &op, "/demo/staff").await.body.contains("/demo/staff/privacy"), "not in an operator's menu");
    let a = login(&app, ADMIN).await;
    assert!(get(&app, &a, "/demo/staff").await.body.contains("/demo/staff/privacy"), "in an administrator's menu");
}

#[tokio::test]
async fn the_api_exports_and_erases_for_an_administrators_token_of_the_town_only() {
    let app = app().await;
    let other = other_town(&app).await;
    let id = book(&app, "Cambio di residenza", "09:00", "Maria Rossi").await;
    let admin = api_token(&app, app.tenant, Role::Admin, None).await;
    let office = app.store.offices(app.tenant).await.unwrap()[0].id;
    let operator = api_token(&app, app.tenant, Role::Operator, Some(office)).await;
    let theirs = api_token(&app, other, Role::Admin, None).await;
    let key = json!({"phone": null, "email": MARIA});

    let (status, body) = api(&app, &admin, "/api/v1/demo/citizens/export", &key).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["appointments"].as_array().unwrap().len(), 1);
    assert!(body["waiting_room"].as_array().unwrap().is_empty(), "altro's ticket is not demo's");
    let (status, body) = api(&app, &theirs, "/api/v1/altro/citizens/export", &key).await;
    assert_eq!((status, body["appointments"].as_array().unwrap().len()), (StatusCode::OK, 0));
    assert_eq!(body["waiting_room"][0]["name"], "Maria Rossi di Altro");
    assert_eq!(api(&app, &theirs, "/api/v1/demo/citizens/export", &key).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(api(&app, &theirs, "/api/v1/demo/citizens/erase", &key).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(api(&app, &operator, "/api/v1/demo/citizens/export", &key).await.0, StatusCode::FORBIDDEN);
    assert_eq!(api(&app, &operator, "/api/v1/demo/citizens/erase", &key).await.0, StatusCode::FORBIDDEN);

    let (status, body) = api(&app, &admin, "/api/v1/demo/citizens/export", &json!({})).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("bad_request")));
    let both = json!({"email": MARIA, "fiscal_code": "RSSMRA85T10A562S"});
    assert_eq!(api(&app, &admin, "/api/v1/demo/citizens/export", &both).await.0, StatusCode::BAD_REQUEST);
    let (status, body) = api(&app, &admin, "/api/v1/demo/citizens/export", &json!({"phone": "abc"})).await;
    assert_eq!((status, body["fields"][0]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("phone")));

    let (status, body) = api(&app, &admin, "/api/v1/demo/citizens/erase", &key).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::CONFLICT, Some("citizen_has_appointments_to_come")));
    app.store.cancel(app.tenant, id, 0, NOW.parse().unwrap(), &[]).await.unwrap();
    let (status, body) = api(&app, &admin, "/api/v1/demo/citizens/erase", &key).await;
    assert_eq!((status, body["appointments"].as_u64()), (StatusCode::OK, Some(1)), "{body}");
    let (_, body) = api(&app, &theirs, "/api/v1/altro/citizens/export", &key).await;
    assert_eq!(body["waiting_room"][0]["name"], "Maria Rossi di Altro", "altro's data stays");
}

#[tokio::test]
async fn the_town_privacy_notice_and_accessibility_statement_are_linked_from_the_forms_and_footers() {
    let app = app().await;
    let page = |uri: &'static str| send(&app, Request::get(uri).body(Body::empty()).unwrap());
    let notice = page("/demo/privacy").await;
    assert_eq!(notice.status, StatusCode::OK);
    for words in [
        "Titolare del trattamento",
        "Comune di Esempio",
        "Responsabile della protezione dei dati",
        "interesse pubblico",
        "non si basa sul consenso",
        "Il Comune di Esempio, titolare",
    ] {
        assert!(notice.body.contains(words), "{words} missing from {}", notice.body);
    }
    let english = page("/demo/privacy?lang=en").await;
    assert!(english.body.contains("Data controller") && english.body.contains("not based on consent"));
    let statement = page("/demo/accessibilita").await;
    assert_eq!(statement.status, StatusCode::OK);
    for words in [
        "Dichiarazione di accessibilità",
        "parzialmente conforme",
        "Meccanismo di feedback",
        "mailto:urp@esempio.it",
        "procedura-attuazione",
    ] {
        assert!(statement.body.contains(words), "{words} missing from {}", statement.body);
    }
    assert!(page("/demo/accessibilita?lang=en").await.body.contains("Feedback mechanism"));
    assert_eq!(page("/nessuno/accessibilita").await.status, StatusCode::NOT_FOUND);
    assert_eq!(page("/nessuno/privacy").await.status, StatusCode::NOT_FOUND);

    let town = page("/demo").await;
    assert!(town.body.contains("href=\"/demo/accessibilita\"") && town.body.contains("href=\"/demo/privacy\""));
    let service = service_id(&app, "Cambio di residenza").await;
    let uri = format!("/demo/services/{service}/book?start={DAY}T09:00:00%2B01:00");
    let form = send(&app, Request::get(uri).body(Body::empty()).unwrap()).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    assert!(
        form.body.contains("Ho letto l&#39;informativa sul trattamento dei dati personali")
            || form.body.contains("Ho letto l'informativa sul trattamento dei dati personali"),
        "{}",
        form.body
    );
    assert!(!form.body.contains("accetto il trattamento"), "not consent");
    assert!(form.body.contains("Titolare del trattamento") && form.body.contains("href=\"/demo/privacy\""));
    let walk_in = page("/demo/walk-in").await;
    assert!(
        walk_in.body.contains("Titolare del trattamento") && walk_in.body.contains("href=\"/demo/privacy\""),
        "{}",
        walk_in.body
    );
}

#[tokio::test]
async fn the_notice_and_statement_use_what_the_town_set_and_only_that_towns() {
    let app = app().await;
    other_town(&app).await;
    let demo = app.store.tenant_by_slug("demo").await.unwrap().unwrap();
    let mut settings = ricevo_store::TenantSettings::of(&demo);
    settings.privacy_controller = "Comune di Esempio, Piazza Grande 1".into();
    settings.pec = "protocollo@pec.esempio.it".into();
    settings.privacy_dpo_contact = "Studio DPO Srl, dpo@esempio.it".into();
    settings.privacy_legal_basis = "Art. 6, par. 1, lett. e) GDPR e D.Lgs. 267/2000.".into();
    settings.accessibility_statement_url = "https://form.agid.gov.it/view/esempio".into();
    app.store.update_tenant_settings(demo.id, &settings).await.unwrap();

    let page = |uri: &'static str| send(&app, Request::get(uri).body(Body::empty()).unwrap());
    let notice = page("/demo/privacy").await;
    for words in [
        "Comune di Esempio, Piazza Grande 1, protocollo@pec.esempio.it",
        "Studio DPO Srl, dpo@esempio.it",
        "D.Lgs. 267/2000",
    ] {
        assert!(notice.body.contains(words), "{words} missing from {}", notice.body);
    }
    let walk_in = page("/demo/walk-in").await;
    assert!(walk_in.body.contains("Studio DPO Srl"), "the short notice too");
    let statement = page("/demo/accessibilita").await;
    assert!(statement.body.contains("href=\"https://form.agid.gov.it/view/esempio\""), "{}", statement.body);
    assert!(statement.body.contains("Meccanismo di feedback"), "the feedback mechanism stays");
    // The other town's pages say nothing of demo's settings.
    let theirs = page("/altro/privacy").await;
    assert!(theirs.body.contains("Comune Altro") && !theirs.body.contains("Studio DPO Srl"));
    let theirs = page("/altro/accessibilita").await;
    assert!(theirs.body.contains("parzialmente conforme") && !theirs.body.contains("form.agid.gov.it/view/esempio"));
}
