//! The `/api/v1` contract, driven through the real router on a real SQLite store.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use jiff::Timestamp;
use ricevo_store::Role;
use ricevo_web::{AppState, WebConfig};
use serde_json::{Value, json};
use tower::ServiceExt;

// Monday 23 November 2026, 09:00 in Rome.
const NOW: &str = "2026-11-23T08:00:00Z";

struct App {
    router: Router,
    state: AppState,
    // The instant the app reads as now, in Unix seconds (tests travel with it).
    clock: Arc<AtomicI64>,
    _dir: tempfile::TempDir,
}

async fn app_with(config: WebConfig) -> App {
    let dir = tempfile::tempdir().unwrap();
    let store = ricevo_store::open(&format!("sqlite://{}", dir.path().join("t.db").display())).await.unwrap();
    ricevo_web::demo::load(&*store, |pw| format!("plain:{pw}")).await.unwrap();
    let clock = Arc::new(AtomicI64::new(NOW.parse::<Timestamp>().unwrap().as_second()));
    let read = clock.clone();
    let state = AppState::with_clock(
        store,
        config,
        Arc::new(move || Timestamp::from_second(read.load(Ordering::SeqCst)).unwrap()),
    );
    App { router: ricevo_web::router(state.clone()), state, clock, _dir: dir }
}

async fn app() -> App {
    app_with(WebConfig::default()).await
}

async fn send(app: &App, req: Request<Body>) -> (StatusCode, Value) {
    let resp = app.router.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20).await.unwrap();
    let value =
        serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
    (status, value)
}

// Moves the app's clock to an RFC 3339 instant.
fn travel(app: &App, to: &str) {
    app.clock.store(to.parse::<Timestamp>().unwrap().as_second(), Ordering::SeqCst);
}

fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).unwrap()
}

fn post_json(uri: &str, body: &Value) -> Request<Body> {
    post_raw(uri, body.to_string())
}

fn post_raw(uri: &str, body: impl Into<Body>) -> Request<Body> {
    Request::post(uri).header(header::CONTENT_TYPE, "application/json").body(body.into()).unwrap()
}

async fn service_id(app: &App, name: &str) -> i64 {
    let (_, list) = send(app, get("/api/v1/demo/services")).await;
    list.as_array().unwrap().iter().find(|s| s["name"] == name).unwrap()["id"].as_i64().unwrap()
}

fn booking(service_id: i64, start: &str, name: &str) -> Value {
    json!({
        "service_id": service_id,
        "start": start,
        "mode": "video",
        "citizen": {"name": name, "email": "maria@example.it", "fiscal_code": "RSSMRA85T10A562S"},
        "notes": "Porto i documenti",
        "privacy_accepted": true
    })
}

#[tokio::test]
async fn services_are_listed_with_their_office_duration_and_modes() {
    let app = app().await;
    let (status, list) = send(&app, get("/api/v1/demo/services")).await;
    assert_eq!(status, StatusCode::OK);
    let residence = list.as_array().unwrap().iter().find(|s| s["name"] == "Cambio di residenza").unwrap();
    assert_eq!(residence["office_name"], "Anagrafe");
    assert_eq!(residence["duration_minutes"], 30);
    assert_eq!(residence["modes"], json!(["video", "in_person", "phone"]));
    assert!(residence["office_id"].is_i64());
    assert_eq!(send(&app, get("/api/v1/nowhere/services")).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn slots_carry_the_local_offset_and_the_seats_left() {
    let app = app().await;
    let id = service_id(&app, "Cambio di residenza").await;
    let (status, slots) =
        send(&app, get(&format!("/api/v1/demo/services/{id}/slots?from=2026-11-25&to=2026-11-25"))).await;
    assert_eq!(status, StatusCode::OK);
    let slots = slots.as_array().unwrap();
    assert_eq!(
        slots[0],
        json!({"start": "2026-11-25T09:00:00+01:00", "end": "2026-11-25T09:30:00+01:00", "available": 2})
    );
    // 30 minutes + 5 buffer from 09:00 to 12:30: six slots.
    assert_eq!(slots.len(), 6);
    // A video-only query on a service without video returns nothing; an unknown mode is a 422.
    let cie = service_id(&app, "Carta d'identità elettronica").await;
    let (status, none) =
        send(&app, get(&format!("/api/v1/demo/services/{cie}/slots?from=2026-11-25&to=2026-11-25&mode=video"))).await;
    assert_eq!((status, none), (StatusCode::OK, json!([])));
    let (status, body) = send(&app, get(&format!("/api/v1/demo/services/{id}/slots?mode=fax"))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["fields"][0]["field"], "mode");
    // Summer time: a June slot is at +02:00.
    let (_, june) = send(&app, get(&format!("/api/v1/demo/services/{id}/slots?from=2026-12-01&to=2026-12-01"))).await;
    assert!(june[0]["start"].as_str().unwrap().ends_with("+01:00"));
}

#[tokio::test]
async fn a_booking_answers_201_with_links_and_can_be_read_moved_and_cancelled_by_its_token() {
    let app = app().await;
    let id = service_id(&app, "Cambio di residenza").await;
    let (status, receipt) =
        send(&app, post_json("/api/v1/demo/appointments", &booking(id, "2026-11-25T09:00:00+01:00", "Maria Rossi")))
            .await;
    assert_eq!(status, StatusCode::CREATED, "{receipt}");
    assert_eq!(receipt["status"], "booked");
    assert_eq!(receipt["start"], "2026-11-25T09:00:00+01:00");
    assert_eq!(receipt["end"], "2026-11-25T09:30:00+01:00");
    let manage = receipt["manage_url"].as_str().unwrap();
    assert!(manage.starts_with("http://127.0.0.1:8080/a/"));
    let token = manage.rsplit('/').next().unwrap();
    assert_eq!(receipt["join_url"].as_str().unwrap(), format!("{manage}/join"));
    assert_eq!(receipt["ics_url"].as_str().unwrap(), format!("{manage}/invite.ics"));

    let (status, view) = send(&app, get(&format!("/api/v1/appointments/{token}"))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!((view["citizen_name"].as_str(), view["office_name"].as_str()), (Some("Maria Rossi"), Some("Anagrafe")));

    let (status, moved) = send(
        &app,
        post_json(&format!("/api/v1/appointments/{token}/move"), &json!({"start": "2026-11-26T10:45:00+01:00"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{moved}");
    assert_eq!(moved["start"], "2026-11-26T10:45:00+01:00");

    let (status, cancelled) = send(&app, post_json(&format!("/api/v1/appointments/{token}/cancel"), &json!({}))).await;
    assert_eq!((status, cancelled["status"].as_str()), (StatusCode::OK, Some("cancelled")));
    let (status, again) = send(&app, post_json(&format!("/api/v1/appointments/{token}/cancel"), &json!({}))).await;
    assert_eq!(status, StatusCode::CONFLICT, "{again}");

    // Confirmation, move and cancellation e-mails are waiting in the outbox; the reminders were withdrawn.
    assert_eq!(app.state.store.outbox_backlog().await.unwrap(), 3);
    let (status, _) = send(&app, get("/api/v1/appointments/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn in_person_appointments_have_no_join_link() {
    let app = app().await;
    let id = service_id(&app, "Carta d'identità elettronica").await;
    let mut body = booking(id, "2026-11-25T09:00:00+01:00", "Luca Bianchi");
    body["mode"] = json!("in_person");
    body["answers"] = json!({"tipo": "Rinnovo"});
    let (status, receipt) = send(&app, post_json("/api/v1/demo/appointments", &body)).await;
    assert_eq!(status, StatusCode::CREATED, "{receipt}");
    assert!(receipt.get("join_url").is_none());
}

#[tokio::test]
async fn the_last_seats_go_to_exactly_as_many_concurrent_requests_as_there_are_desks() {
    // Sixteen different citizens from one address: only the seats may refuse them.
    let app = app_with(WebConfig { bookings_per_hour_per_address: 100, ..WebConfig::default() }).await;
    let id = service_id(&app, "Cambio di residenza").await;
    let requests = (0..16).map(|n| {
        let router = app.router.clone();
        let mut body = booking(id, "2026-11-25T09:00:00+01:00", &format!("Cittadino {n}"));
        body["citizen"] = json!({"name": format!("Cittadino {n}"), "email": format!("c{n}@example.it")});
        async move {
            let resp = router.oneshot(post_json("/api/v1/demo/appointments", &body)).await.unwrap();
            let status = resp.status();
            let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20).await.unwrap();
            (status, serde_json::from_slice::<Value>(&bytes).unwrap())
        }
    });
    let answers: Vec<(StatusCode, Value)> = futures::future::join_all(requests).await;
    let created = answers.iter().filter(|(s, _)| *s == StatusCode::CREATED).count();
    let conflicts: Vec<&Value> = answers.iter().filter(|(s, _)| *s == StatusCode::CONFLICT).map(|(_, b)| b).collect();
    assert_eq!((created, conflicts.len()), (2, 14), "Anagrafe has two desks: {answers:?}");
    let alternatives = conflicts[0]["alternatives"].as_array().unwrap();
    assert!(!alternatives.is_empty());
    assert!(alternatives.iter().all(|a| a["start"] != "2026-11-25T09:00:00+01:00"));
    assert_eq!(conflicts[0]["reason"], "full");
}

#[tokio::test]
async fn a_retried_request_with_the_same_idempotency_key_returns_the_first_answer() {
    let app = app().await;
    let id = service_id(&app, "Cambio di residenza").await;
    let body = booking(id, "2026-11-25T09:35:00+01:00", "Maria Rossi");
    let with_key = |b: &Value| {
        Request::post("/api/v1/demo/appointments")
            .header(header::CONTENT_TYPE, "application/json")
            .header("Idempotency-Key", "portale-42")
            .body(Body::from(b.to_string()))
            .unwrap()
    };
    let (s1, first) = send(&app, with_key(&body)).await;
    let (s2, second) = send(&app, with_key(&body)).await;
    assert_eq!((s1, s2), (StatusCode::CREATED, StatusCode::CREATED));
    assert_eq!(first, second);
    let (_, slots) = send(&app, get(&format!("/api/v1/demo/services/{id}/slots?from=2026-11-25&to=2026-11-25"))).await;
    assert_eq!(slots[1]["available"], 1, "only one seat was taken: {slots}");
    let mut other = body.clone();
    other["citizen"]["name"] = json!("Someone Else");
    let (s3, err) = send(&app, with_key(&other)).await;
    assert_eq!((s3, err["error"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("idempotency_key_reused")));
}

#[tokio::test]
async fn every_field_problem_is_answered_422_with_its_field_and_a_message_in_the_language_asked() {
    let app = app().await;
    let id = service_id(&app, "Cambio di residenza").await;
    let body = json!({"service_id": id, "start": "2026-11-25T09:00:00+01:00", "mode": "fax",
        "citizen": {"name": "", "email": "nope", "fiscal_code": "RSSMRA85T10A562X", "phone": "abc"}, "privacy_accepted": false});
    let (status, err) = send(&app, post_json("/api/v1/demo/appointments", &body)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<&str> = err["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
    for f in ["citizen.name", "citizen.email", "citizen.fiscal_code", "citizen.phone", "mode", "privacy_accepted"] {
        assert!(fields.contains(&f), "{f} missing in {fields:?}");
    }
    assert!(err["message"].as_str().unwrap().contains("campi"), "Italian by default: {err}");
    let english = Request::post("/api/v1/demo/appointments")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::ACCEPT_LANGUAGE, "en-GB,en;q=0.9")
        .body(Body::from(body.to_string()))
        .unwrap();
    let (_, err_en) = send(&app, english).await;
    assert!(err_en["message"].as_str().unwrap().contains("fields"), "{err_en}");
}

#[tokio::test]
async fn hostile_input_gets_a_4xx_and_never_a_5xx() {
    let app = app().await;
    let id = service_id(&app, "Cambio di residenza").await;
    let huge = "x".repeat(10_000);
    let mut cases: Vec<(Request<Body>, &[StatusCode])> = vec![
        (post_raw("/api/v1/demo/appointments", "{not json"), &[StatusCode::BAD_REQUEST]),
        (post_raw("/api/v1/demo/appointments", ""), &[StatusCode::BAD_REQUEST]),
        (post_raw("/api/v1/demo/appointments", "[]"), &[StatusCode::UNPROCESSABLE_ENTITY]),
        (post_json("/api/v1/demo/appointments", &json!({"service_id": "uno"})), &[StatusCode::UNPROCESSABLE_ENTITY]),
        (
            post_json("/api/v1/demo/appointments", &json!({"service_id": id, "citizen": "Maria"})),
            &[StatusCode::UNPROCESSABLE_ENTITY],
        ),
        (post_raw("/api/v1/demo/appointments", "x".repeat(200_000)), &[StatusCode::PAYLOAD_TOO_LARGE]),
        (get("/api/v1/demo/services/1%27%20OR%201=1/slots"), &[StatusCode::NOT_FOUND]),
        (get("/api/v1/demo'%3B%20DROP%20TABLE%20tenants--/services"), &[StatusCode::NOT_FOUND]),
        (get(&format!("/api/v1/demo/services/{id}/slots?from=2026-02-30")), &[StatusCode::UNPROCESSABLE_ENTITY]),
        (
            get(&format!("/api/v1/demo/services/{id}/slots?from=2026-12-01&to=2026-11-01")),
            &[StatusCode::UNPROCESSABLE_ENTITY],
        ),
        (
            get(&format!("/api/v1/demo/services/{id}/slots?from=2026-01-01&to=2027-12-31")),
            &[StatusCode::UNPROCESSABLE_ENTITY],
        ),
        (get(&format!("/api/v1/demo/services/{id}/slots?from=99999-01-01")), &[StatusCode::UNPROCESSABLE_ENTITY]),
        (get("/api/v1/demo/services/999999999999999999999/slots"), &[StatusCode::NOT_FOUND]),
        (get("/api/v1/appointments/..%2F..%2Fetc%2Fpasswd"), &[StatusCode::NOT_FOUND]),
        (
            post_json("/api/v1/appointments/short/move", &json!({"start": "2026-11-25T09:00:00+01:00"})),
            &[StatusCode::NOT_FOUND],
        ),
        (get("/api/v1/does/not/exist/at/all"), &[StatusCode::NOT_FOUND]),
    ];
    let starts: [(&str, StatusCode); 7] = [
        ("2020-01-01T09:00:00+01:00", StatusCode::UNPROCESSABLE_ENTITY), // the past
        ("2027-11-24T09:00:00+01:00", StatusCode::UNPROCESSABLE_ENTITY), // a year ahead
        ("2026-11-25T09:07:00+01:00", StatusCode::UNPROCESSABLE_ENTITY), // off the grid
        ("2026-11-28T09:00:00+01:00", StatusCode::UNPROCESSABLE_ENTITY), // a Saturday
        ("2026-12-08T09:00:00+01:00", StatusCode::UNPROCESSABLE_ENTITY), // a holiday
        ("yesterday", StatusCode::UNPROCESSABLE_ENTITY),                 // not a time
        ("2026-13-45T99:00:00+01:00", StatusCode::UNPROCESSABLE_ENTITY), // not a date
    ];
    for (start, _) in &starts {
        cases.push((
            post_json("/api/v1/demo/appointments", &booking(id, start, "Maria Rossi")),
            &[StatusCode::UNPROCESSABLE_ENTITY],
        ));
    }
    for name in [huge.as_str(), "Maria\u{0}Rossi", "Ma\u{202E}ria", "\u{7}\u{8}"] {
        cases.push((
            post_json("/api/v1/demo/appointments", &booking(id, "2026-11-25T09:00:00+01:00", name)),
            &[StatusCode::UNPROCESSABLE_ENTITY],
        ));
    }
    for (req, expected) in cases {
        let label = format!("{} {}", req.method(), req.uri());
        let (status, body) = send(&app, req).await;
        assert!(expected.contains(&status), "{label}: got {status} {body}");
        assert!(status.is_client_error(), "{label}");
        if status != StatusCode::PAYLOAD_TOO_LARGE {
            assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()), "{label}: a message is owed: {body}");
        }
    }
    // SQL and HTML in a name are just text: stored as given, harmless.
    let (status, receipt) = send(
        &app,
        post_json(
            "/api/v1/demo/appointments",
            &booking(id, "2026-11-25T09:00:00+01:00", "Robert'); DROP TABLE appointments;-- <b>x</b>"),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{receipt}");
    let token = receipt["manage_url"].as_str().unwrap().rsplit('/').next().unwrap().to_owned();
    let (_, view) = send(&app, get(&format!("/api/v1/appointments/{token}"))).await;
    assert_eq!(view["citizen_name"], "Robert'); DROP TABLE appointments;-- <b>x</b>");
}

#[tokio::test]
async fn staff_endpoints_need_a_token_of_the_same_town_and_respect_offices() {
    let app = app().await;
    let store = app.state.store.clone();
    let demo = store.tenant_by_slug("demo").await.unwrap().unwrap();
    let offices = store.offices(demo.id).await.unwrap();
    let anagrafe = offices.iter().find(|o| o.name == "Anagrafe").unwrap();
    let tributi = offices.iter().find(|o| o.name == "Tributi").unwrap();
    let issue = |role, office: Option<ricevo_core::OfficeId>| {
        let store = store.clone();
        async move {
            let token = ricevo_desk::tokens::new_token();
            store.create_api_token(demo.id, role, office, &ricevo_desk::tokens::hash(&token), "t").await.unwrap();
            token
        }
    };
    let admin = issue(Role::Admin, None).await;
    let operator = issue(Role::Operator, Some(tributi.id)).await;
    let id = service_id(&app, "Cambio di residenza").await;
    let (_, receipt) =
        send(&app, post_json("/api/v1/demo/appointments", &booking(id, "2026-11-25T09:00:00+01:00", "Maria Rossi")))
            .await;
    assert!(receipt["id"].is_string());

    let authed = |uri: &str, token: &str| {
        Request::get(uri).header(header::AUTHORIZATION, format!("Bearer {token}")).body(Body::empty()).unwrap()
    };
    assert_eq!(send(&app, get("/api/v1/demo/day?date=2026-11-25")).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(send(&app, authed("/api/v1/demo/day?date=2026-11-25", "wrong")).await.0, StatusCode::UNAUTHORIZED);
    let (status, day) = send(&app, authed("/api/v1/demo/day?date=2026-11-25", &admin)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(day.as_array().unwrap().len(), 1);
    assert_eq!(day[0]["office_id"], anagrafe.id.0);
    let (_, theirs) = send(&app, authed("/api/v1/demo/day?date=2026-11-25", &operator)).await;
    assert_eq!(theirs, json!([]), "a Tributi operator does not see Anagrafe");
    let (_, visible) = send(&app, authed("/api/v1/demo/offices", &operator)).await;
    assert_eq!(visible.as_array().unwrap().len(), 1);

    let appointment_id = day[0]["id"].as_i64().unwrap();
    let status_req = |token: &str, status: &str| {
        Request::post(format!("/api/v1/demo/appointments/{appointment_id}/status"))
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(json!({"status": status}).to_string()))
            .unwrap()
    };
    assert_eq!(send(&app, status_req(&operator, "no_show")).await.0, StatusCode::FORBIDDEN);
    // Two days ahead the citizen cannot have arrived.
    let (status, early) = send(&app, status_req(&admin, "checked_in")).await;
    assert_eq!((status, early["error"].as_str()), (StatusCode::CONFLICT, Some("status_change_too_early")));
    assert_eq!(send(&app, status_req(&admin, "teleported")).await.0, StatusCode::UNPROCESSABLE_ENTITY);

    // Staff move an appointment too; an operator of another office may not.
    let move_req = |token: &str, start: &str| {
        Request::post(format!("/api/v1/demo/appointments/{appointment_id}/move"))
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(json!({"start": start}).to_string()))
            .unwrap()
    };
    assert_eq!(send(&app, move_req(&operator, "2026-11-26T09:00:00+01:00")).await.0, StatusCode::FORBIDDEN);
    let (status, moved) = send(&app, move_req(&admin, "2026-11-26T09:00:00+01:00")).await;
    assert_eq!((status, moved["start"].as_str()), (StatusCode::OK, Some("2026-11-26T09:00:00+01:00")), "{moved}");
    let (status, refused) = send(&app, move_req(&admin, "2026-11-28T09:00:00+01:00")).await;
    assert_eq!((status, refused["reason"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("not_a_slot")));

    // A token of another town opens nothing here.
    let other = store
        .create_tenant(&ricevo_store::NewTenant {
            slug: "altro".into(),
            name: "Altro".into(),
            time_zone: "Europe/Rome".into(),
            patron_day: None,
            contact_email: "a@b.it".into(),
            privacy_notice: "x".into(),
            retention_days: 365,
        })
        .await
        .unwrap();
    let foreign = ricevo_desk::tokens::new_token();
    store.create_api_token(other.id, Role::Admin, None, &ricevo_desk::tokens::hash(&foreign), "t").await.unwrap();
    assert_eq!(send(&app, authed("/api/v1/demo/day?date=2026-11-25", &foreign)).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(send(&app, status_req(&foreign, "done")).await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_change_to_the_catalogue_is_seen_by_the_next_booking_once_forgotten() {
    let app = app().await;
    let id = service_id(&app, "Cambio di residenza").await;
    let (status, _) =
        send(&app, post_json("/api/v1/demo/appointments", &booking(id, "2026-11-25T09:00:00+01:00", "Anna"))).await;
    assert_eq!(status, StatusCode::CREATED);
    // The office closes that Wednesday; staff handlers call forget() after every change.
    let store = app.state.store.clone();
    let demo = store.tenant_by_slug("demo").await.unwrap().unwrap();
    let service = store.service(demo.id, ricevo_core::ServiceId(id)).await.unwrap().unwrap();
    let day: jiff::civil::Date = "2026-11-25".parse().unwrap();
    let closure = ricevo_core::Closure::new(day, day, "Sciopero".into()).unwrap();
    store.add_closure(demo.id, service.office_id, &closure).await.unwrap();
    app.state.desk.catalogue().forget();
    let (status, refused) =
        send(&app, post_json("/api/v1/demo/appointments", &booking(id, "2026-11-25T09:35:00+01:00", "Bruno"))).await;
    assert_eq!(
        (status, refused["reason"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("not_a_slot")),
        "{refused}"
    );
}

#[tokio::test]
async fn the_openapi_document_health_and_metrics_are_served() {
    let app =
        app_with(WebConfig { metrics_token: Some("metrics-token-0123456789".into()), ..WebConfig::default() }).await;
    let (status, doc) = send(&app, get("/api/v1/openapi.json")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/api/v1/{tenant}/services",
        "/api/v1/{tenant}/services/{service_id}/slots",
        "/api/v1/{tenant}/appointments",
        "/api/v1/appointments/{token}/move",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} missing");
    }
    assert_eq!(send(&app, get("/healthz")).await.0, StatusCode::OK);
    let id = service_id(&app, "Cambio di residenza").await;
    send(&app, post_json("/api/v1/demo/appointments", &booking(id, "2026-11-25T09:00:00+01:00", "Maria Rossi"))).await;
    let metrics = Request::get("/metrics").header(header::AUTHORIZATION, "Bearer metrics-token-0123456789");
    let (status, text) = send(&app, metrics.body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    let text = text.as_str().unwrap();
    assert!(text.contains("ricevo_bookings_total 1"), "{text}");
    assert!(text.contains("ricevo_outbox_backlog 2"), "confirmation and reminder: {text}");
    assert!(text.contains("ricevo_http_request_duration_seconds_count"));
}

#[tokio::test]
async fn a_client_over_its_budget_gets_429_with_retry_after() {
    let app = app_with(WebConfig { rate_limit_per_minute: 5, ..WebConfig::default() }).await;
    for _ in 0..5 {
        assert_eq!(send(&app, get("/api/v1/demo/services")).await.0, StatusCode::OK);
    }
    let resp = app.router.clone().oneshot(get("/api/v1/demo/services")).await.unwrap();
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(resp.headers()[header::RETRY_AFTER], "60");
    assert_eq!(send(&app, get("/healthz")).await.0, StatusCode::OK, "probes are not limited");
}

// An admin token and the id of a fresh booking of Cambio di residenza at `start`.
async fn staff_booking(app: &App, start: &str, name: &str) -> (String, i64) {
    let store = app.state.store.clone();
    let demo = store.tenant_by_slug("demo").await.unwrap().unwrap();
    let token = ricevo_desk::tokens::new_token();
    store.create_api_token(demo.id, Role::Admin, None, &ricevo_desk::tokens::hash(&token), "t").await.unwrap();
    let id = service_id(app, "Cambio di residenza").await;
    let mut body = booking(id, start, name);
    body["citizen"] = json!({"name": name, "email": format!("{}@example.it", name.to_lowercase().replace(' ', "."))});
    let (status, receipt) = send(app, post_json("/api/v1/demo/appointments", &body)).await;
    assert_eq!(status, StatusCode::CREATED, "{receipt}");
    let day = &start[..10];
    let (_, list) = send(
        app,
        Request::get(format!("/api/v1/demo/day?date={day}"))
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    let appt = list.as_array().unwrap().iter().find(|a| a["public_id"] == receipt["id"]).unwrap()["id"].as_i64();
    (token, appt.unwrap())
}

fn status_change(token: &str, id: i64, status: &str, lang: &str) -> Request<Body> {
    Request::post(format!("/api/v1/demo/appointments/{id}/status"))
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::ACCEPT_LANGUAGE, lang)
        .body(Body::from(json!({"status": status}).to_string()))
        .unwrap()
}

#[tokio::test]
async fn the_api_refuses_a_no_show_days_ahead_and_never_brings_a_done_or_no_show_appointment_back() {
    let app = app().await;
    let (token, anna) = staff_booking(&app, "2026-11-25T09:00:00+01:00", "Anna Bianchi").await;
    let (_, bruno) = staff_booking(&app, "2026-11-25T09:00:00+01:00", "Bruno Verdi").await;
    let (status, early) = send(&app, status_change(&token, anna, "no_show", "it")).await;
    assert_eq!((status, early["error"].as_str()), (StatusCode::CONFLICT, Some("status_change_too_early")));
    assert!(early["message"].as_str().unwrap().starts_with("Troppo presto"), "{early}");
    let (_, english) = send(&app, status_change(&token, anna, "done", "en")).await;
    assert!(english["message"].as_str().unwrap().starts_with("Too early"), "{english}");
    let (status, _) = send(&app, status_change(&token, anna, "booked", "it")).await;
    assert_eq!(status, StatusCode::CONFLICT);

    travel(&app, "2026-11-25T09:10:00+01:00");
    let (status, done) = send(&app, status_change(&token, anna, "done", "it")).await;
    assert_eq!((status, done["status"].as_str()), (StatusCode::OK, Some("done")), "{done}");
    let (status, gone) = send(&app, status_change(&token, bruno, "no_show", "it")).await;
    assert_eq!((status, gone["status"].as_str()), (StatusCode::OK, Some("no_show")), "{gone}");
    for (id, to) in [(anna, "checked_in"), (anna, "no_show"), (anna, "cancelled"), (anna, "done"), (bruno, "done")] {
        let (status, body) = send(&app, status_change(&token, id, to, "it")).await;
        assert_eq!(status, StatusCode::CONFLICT, "{to}: {body}");
        assert!(body["error"].as_str().unwrap().starts_with("status_"), "{body}");
    }
    // The one way back: a no-show who turns up late, before the end.
    let (status, late) = send(&app, status_change(&token, bruno, "checked_in", "it")).await;
    assert_eq!((status, late["status"].as_str()), (StatusCode::OK, Some("checked_in")), "{late}");
    let demo = app.state.store.tenant_by_slug("demo").await.unwrap().unwrap();
    let stored = app.state.store.appointment(demo.id, ricevo_core::AppointmentId(anna)).await.unwrap().unwrap();
    assert_eq!(stored.status, ricevo_store::AppointmentStatus::Done);
}

// Every endpoint that takes a day or an instant answers 422 in the user's language for dates
// at the edges of the calendar, where adding a day or entering a zone fails, never a 500.
#[tokio::test]
async fn every_endpoint_that_takes_a_date_refuses_the_edges_of_the_calendar_with_a_422() {
    let app = app().await;
    let (token, appt) = staff_booking(&app, "2026-11-25T09:00:00+01:00", "Anna Bianchi").await;
    let id = service_id(&app, "Cambio di residenza").await;
    let (_, receipt) =
        send(&app, post_json("/api/v1/demo/appointments", &booking(id, "2026-11-25T09:35:00+01:00", "Maria Rossi")))
            .await;
    let citizen = receipt["manage_url"].as_str().unwrap().rsplit('/').next().unwrap().to_owned();
    let authed = |req: axum::http::request::Builder| req.header(header::AUTHORIZATION, format!("Bearer {token}"));
    for (day, instant) in [
        ("9999-12-31", "9999-12-31T23:59:59Z"),
        ("-9999-01-01", "-009999-01-01T00:00:00Z"),
        ("0000-01-01", "0000-01-01T00:00:00Z"),
        ("2200-01-01", "2200-01-01T09:00:00+01:00"),
    ] {
        let lang = if day.starts_with('9') { "en" } else { "it" };
        let requests = vec![
            ("date", authed(Request::get(format!("/api/v1/demo/day?date={day}"))).body(Body::empty()).unwrap()),
            ("from", Request::get(format!("/api/v1/demo/services/{id}/slots?from={day}")).body(Body::empty()).unwrap()),
            (
                "to",
                Request::get(format!("/api/v1/demo/services/{id}/slots?from=2026-11-25&to={day}"))
                    .body(Body::empty())
                    .unwrap(),
            ),
            ("start", post_json("/api/v1/demo/appointments", &booking(id, instant, "Carla Neri"))),
            ("start", post_json(&format!("/api/v1/appointments/{citizen}/move"), &json!({"start": instant}))),
            (
                "start",
                authed(Request::post(format!("/api/v1/demo/appointments/{appt}/move")))
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(Body::from(json!({"start": instant}).to_string()))
                    .unwrap(),
            ),
        ];
        for (field, mut req) in requests {
            let uri = req.uri().to_string();
            req.headers_mut().insert(header::ACCEPT_LANGUAGE, lang.parse().unwrap());
            let (status, body) = send(&app, req).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{uri} with {day}: {body}");
            let named = body["fields"].as_array().unwrap().iter().find(|f| f["field"] == field);
            let message = named.unwrap_or_else(|| panic!("{uri}: no {field} in {body}"))["message"].as_str().unwrap();
            let expected = if lang == "en" { "Invalid" } else { "non valid" };
            let out_of_range = if lang == "en" { "out of range" } else { "fuori intervallo" };
            assert!(message.contains(expected) || message.contains(out_of_range), "{uri}: {message}");
        }
    }
    // The window's last day is served, and its next-day sums do not fail.
    let (status, _) =
        send(&app, authed(Request::get("/api/v1/demo/day?date=2199-12-31")).body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    let (status, slots) =
        send(&app, get(&format!("/api/v1/demo/services/{id}/slots?from=2199-12-31&to=2199-12-31"))).await;
    assert_eq!((status, slots), (StatusCode::OK, json!([])));
}

#[tokio::test]
async fn a_query_that_cannot_be_read_is_a_json_400_in_the_users_language() {
    let app = app().await;
    // Larger than any id: axum's Query used to answer this in plain English text.
    let (status, body) = send(&app, get("/api/v1/demo/day?office_id=9223372036854775808")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "bad_request", "{body}");
    assert!(body["message"].as_str().unwrap().starts_with("Richiesta non valida"), "{body}");
    let id = service_id(&app, "Cambio di residenza").await;
    let req = Request::get(format!("/api/v1/demo/services/{id}/slots?from=2026-11-25&from=2026-11-26"))
        .header(header::ACCEPT_LANGUAGE, "en")
        .body(Body::empty())
        .unwrap();
    let (status, body) = send(&app, req).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["message"].as_str().unwrap().starts_with("Invalid request"), "{body}");
}

#[tokio::test]
async fn refusals_made_before_a_handler_runs_are_json_too() {
    let app = app().await;
    // A path segment that is not UTF-8: axum's Path answered in plain text.
    let (status, body) = send(&app, get("/api/v1/appointments/%FF")).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("bad_request")), "{body}");
    // A body over the limit: axum's body limit answered in plain text.
    let name = "a".repeat(ricevo_web::MAX_BODY_BYTES);
    let req = Request::post("/api/v1/demo/offices/1/tickets")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::ACCEPT_LANGUAGE, "en")
        .body(Body::from(json!({ "name": name }).to_string()))
        .unwrap();
    let (status, body) = send(&app, req).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        (body["error"].as_str(), body["message"].as_str()),
        (Some("request_too_large"), Some("The request is too large."))
    );
}

fn from_address(mut req: Request<Body>, ip: &str) -> Request<Body> {
    let addr: std::net::SocketAddr = format!("{ip}:40000").parse().unwrap();
    req.extensions_mut().insert(axum::extract::ConnectInfo(addr));
    req
}

fn citizen_booking(id: i64, start: &str, n: u32) -> Value {
    let mut body = booking(id, start, &format!("Cittadino {n}"));
    body["citizen"] = json!({"name": format!("Cittadino {n}"), "email": format!("c{n}@example.it")});
    body
}

// 120 bookings with made-up addresses from one address used to empty a service's week.
#[tokio::test]
async fn an_address_over_its_hourly_booking_budget_gets_429_with_retry_after_until_the_hour_ends() {
    let app = app_with(WebConfig { bookings_per_hour_per_address: 3, ..WebConfig::default() }).await;
    let id = service_id(&app, "Cambio di residenza").await;
    let spammer = "203.0.113.7";
    // An attempt that stores nothing (a time the office is closed) spends nothing.
    let (status, _) = send(
        &app,
        from_address(
            post_json("/api/v1/demo/appointments", &citizen_booking(id, "2026-11-28T09:00:00+01:00", 0)),
            spammer,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    for (n, start) in
        ["2026-11-25T09:00:00+01:00", "2026-11-25T09:35:00+01:00", "2026-11-25T10:10:00+01:00"].iter().enumerate()
    {
        let req =
            from_address(post_json("/api/v1/demo/appointments", &citizen_booking(id, start, n as u32 + 1)), spammer);
        assert_eq!(send(&app, req).await.0, StatusCode::CREATED, "booking {n}");
    }
    let req = from_address(
        post_json("/api/v1/demo/appointments", &citizen_booking(id, "2026-11-25T10:45:00+01:00", 9)),
        spammer,
    );
    let resp = app.router.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(resp.headers()[header::RETRY_AFTER], "3600", "the hour started at 08:00:00Z");
    let body: Value = serde_json::from_slice(&axum::body::to_bytes(resp.into_body(), 1 << 20).await.unwrap()).unwrap();
    assert_eq!(body["error"], "too_many_bookings");
    assert!(body["message"].as_str().unwrap().contains("riprova tra 60 minuti"), "{body}");
    // Another address has its own budget; the next hour, this one has its budget again.
    let other = from_address(
        post_json("/api/v1/demo/appointments", &citizen_booking(id, "2026-11-25T10:45:00+01:00", 10)),
        "198.51.100.1",
    );
    assert_eq!(send(&app, other).await.0, StatusCode::CREATED);
    travel(&app, "2026-11-23T09:00:00Z");
    let again = from_address(
        post_json("/api/v1/demo/appointments", &citizen_booking(id, "2026-11-25T11:20:00+01:00", 11)),
        spammer,
    );
    assert_eq!(send(&app, again).await.0, StatusCode::CREATED);
}

#[tokio::test]
async fn a_citizen_holding_two_active_appointments_of_a_service_is_refused_a_third_by_any_of_their_keys() {
    let app = app().await;
    let id = service_id(&app, "Cambio di residenza").await;
    let person = |start: &str, email: &str, cf: Option<&str>| {
        let mut body = booking(id, start, "Maria Rossi");
        body["citizen"] = json!({"name": "Maria Rossi", "email": email, "fiscal_code": cf});
        body
    };
    let (status, first) = send(
        &app,
        post_json(
            "/api/v1/demo/appointments",
            &person("2026-11-25T09:00:00+01:00", "maria@example.it", Some("RSSMRA85T10A562S")),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let (status, _) = send(
        &app,
        post_json(
            "/api/v1/demo/appointments",
            &person("2026-11-26T09:00:00+01:00", "Maria+bis@Example.it", Some("RSSMRA85T10A562S")),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    // Another e-mail, but the same codice fiscale: the same person.
    let third = person("2026-11-27T09:00:00+01:00", "altra@example.it", Some("rssmra85t10a562s"));
    let (status, refused) = send(&app, post_json("/api/v1/demo/appointments", &third)).await;
    assert_eq!((status, refused["error"].as_str()), (StatusCode::CONFLICT, Some("citizen_limit")), "{refused}");
    assert!(refused["message"].as_str().unwrap().starts_with("Hai già 2 appuntamenti attivi per questo servizio"));
    // The same e-mail written otherwise, without the codice fiscale: the same person too.
    let fourth = person("2026-11-27T09:00:00+01:00", "MARIA+x@EXAMPLE.IT", None);
    let (status, refused) = send(&app, post_json("/api/v1/demo/appointments", &fourth)).await;
    assert_eq!((status, refused["error"].as_str()), (StatusCode::CONFLICT, Some("citizen_limit")), "{refused}");
    let mut english = post_json("/api/v1/demo/appointments", &third);
    english.headers_mut().insert(header::ACCEPT_LANGUAGE, "en".parse().unwrap());
    let (_, refused) = send(&app, english).await;
    assert!(refused["message"].as_str().unwrap().starts_with("You already have 2 active appointments"), "{refused}");
    // Another service is another count; a cancellation makes room again.
    let tari = service_id(&app, "TARI / IMU").await;
    let mut other = third.clone();
    other["service_id"] = json!(tari);
    // A phone appointment gives the number to call.
    other["mode"] = json!("phone");
    other["citizen"]["phone"] = json!("0968 81234");
    let (_, slots) =
        send(&app, get(&format!("/api/v1/demo/services/{tari}/slots?from=2026-11-25&to=2026-11-30"))).await;
    other["start"] = slots[0]["start"].clone();
    let (status, body) = send(&app, post_json("/api/v1/demo/appointments", &other)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let token = first["manage_url"].as_str().unwrap().rsplit('/').next().unwrap().to_owned();
    assert_eq!(
        send(&app, post_json(&format!("/api/v1/appointments/{token}/cancel"), &json!({}))).await.0,
        StatusCode::OK
    );
    assert_eq!(send(&app, post_json("/api/v1/demo/appointments", &third)).await.0, StatusCode::CREATED);
}

// ---- citizens without e-mail and bookings on their behalf (booking) ----

fn on_behalf(token: &str, body: &Value) -> Request<Body> {
    Request::post("/api/v1/demo/appointments/on-behalf")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

#[tokio::test]
async fn a_citizen_without_e_mail_books_by_phone_and_gets_a_short_code_and_a_phone_meeting_needs_the_number() {
    let app = app().await;
    let id = service_id(&app, "Cambio di residenza").await;
    let mut body = booking(id, "2026-11-25T09:00:00+01:00", "Giuseppe Verdi");
    body["citizen"] = json!({"name": "Giuseppe Verdi", "phone": "+39 333 123 4567"});
    body["mode"] = json!("in_person");
    let (status, receipt) = send(&app, post_json("/api/v1/demo/appointments", &body)).await;
    assert_eq!(status, StatusCode::CREATED, "{receipt}");
    let code = receipt["id"].as_str().unwrap();
    assert!(ricevo_core::reference::ReferenceCode::parse(code).is_some_and(|c| c.as_str() == code), "{code}");
    // Nobody to reach, or a phone meeting without a number: 422 on the field, in Italian.
    body["citizen"] = json!({"name": "Nessuno"});
    body["start"] = json!("2026-11-25T09:35:00+01:00");
    let (status, refused) = send(&app, post_json("/api/v1/demo/appointments", &body)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(refused["fields"][0]["field"], "citizen.email", "{refused}");
    body["citizen"] = json!({"name": "Maria", "email": "maria@example.it"});
    body["mode"] = json!("phone");
    let (status, refused) = send(&app, post_json("/api/v1/demo/appointments", &body)).await;
    assert_eq!(
        (status, refused["fields"][0]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("citizen.phone"))
    );
}

#[tokio::test]
async fn staff_book_on_a_citizens_behalf_by_token_and_only_a_manager_books_outside_hours() {
    let app = app().await;
    let store = app.state.store.clone();
    let demo = store.tenant_by_slug("demo").await.unwrap().unwrap();
    let anagrafe = store.offices(demo.id).await.unwrap().into_iter().find(|o| o.name == "Anagrafe").unwrap();
    let issue = |role, office: Option<ricevo_core::OfficeId>| {
        let store = store.clone();
        async move {
            let token = ricevo_desk::tokens::new_token();
            store.create_api_token(demo.id, role, office, &ricevo_desk::tokens::hash(&token), "t").await.unwrap();
            token
        }
    };
    let operator = issue(Role::Operator, Some(anagrafe.id)).await;
    let manager = issue(Role::Manager, Some(anagrafe.id)).await;
    let id = service_id(&app, "Cambio di residenza").await;
    let mut body = booking(id, "2026-11-25T09:00:00+01:00", "Anna Neri");
    body["citizen"] = json!({"name": "Anna Neri", "phone": "0968 81234"});
    body["mode"] = json!("phone");

    let (status, _) = send(&app, post_json("/api/v1/demo/appointments/on-behalf", &body)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a token is required");
    let (status, receipt) = send(&app, on_behalf(&operator, &body)).await;
    assert_eq!(status, StatusCode::CREATED, "{receipt}");
    assert!(receipt["manage_url"].as_str().unwrap().contains("/a/"), "the link to hand over: {receipt}");

    // Wednesday 15:00 is outside the office's hours.
    body["start"] = json!("2026-11-25T15:00:00+01:00");
    let (status, refused) = send(&app, on_behalf(&operator, &body)).await;
    assert_eq!((status, refused["reason"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("not_a_slot")));
    body["outside_hours"] = json!(true);
    assert_eq!(send(&app, on_behalf(&operator, &body)).await.0, StatusCode::FORBIDDEN);
    let (status, late) = send(&app, on_behalf(&manager, &body)).await;
    assert_eq!((status, late["start"].as_str()), (StatusCode::CREATED, Some("2026-11-25T15:00:00+01:00")), "{late}");

    // A move and a cancellation with a reason the citizen is told; a bad reason is a 422.
    let (_, day) = send(
        &app,
        Request::get("/api/v1/demo/day?date=2026-11-25")
            .header(header::AUTHORIZATION, format!("Bearer {manager}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    let appt =
        day.as_array().unwrap().iter().find(|a| a["public_id"] == receipt["id"]).unwrap()["id"].as_i64().unwrap();
    let act = |path: &str, body: Value| {
        Request::post(format!("/api/v1/demo/appointments/{appt}/{path}"))
            .header(header::AUTHORIZATION, format!("Bearer {manager}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap()
    };
    let (status, bad) = send(&app, act("status", json!({"status": "cancelled", "reason": "a\nb"}))).await;
    assert_eq!((status, bad["fields"][0]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("reason")));
    let (status, moved) =
        send(&app, act("move", json!({"start": "2026-11-26T09:00:00+01:00", "reason": "Sportello chiuso per guasto"})))
            .await;
    assert_eq!(status, StatusCode::OK, "{moved}");
    let (status, cancelled) = send(&app, act("status", json!({"status": "cancelled", "reason": "Sciopero"}))).await;
    assert_eq!((status, cancelled["status"].as_str()), (StatusCode::OK, Some("cancelled")), "{cancelled}");

    // Another town's token books nothing here.
    let other = store
        .create_tenant(&ricevo_store::NewTenant {
            slug: "altro".into(),
            name: "Altro".into(),
            time_zone: "Europe/Rome".into(),
            patron_day: None,
            contact_email: "a@b.it".into(),
            privacy_notice: "x".into(),
            retention_days: 365,
        })
        .await
        .unwrap();
    let foreign = ricevo_desk::tokens::new_token();
    store.create_api_token(other.id, Role::Admin, None, &ricevo_desk::tokens::hash(&foreign), "t").await.unwrap();
    body["start"] = json!("2026-11-25T10:10:00+01:00");
    assert_eq!(send(&app, on_behalf(&foreign, &body)).await.0, StatusCode::UNAUTHORIZED);
}
