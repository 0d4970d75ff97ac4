//! The staff pages, driven through the real router on a real SQLite store: sign-in, CSRF,
//! roles, town isolation, the day's actions, tokens, webhooks and the outbox.

#![allow(clippy::unwrap_used)]

use std::sync::atomic::Ordering;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use jiff::Timestamp;
use ricevo_core::{AppointmentId, OfficeId};
use ricevo_store::{AppointmentStatus, NewOffice, Role};
use ricevo_web::WebConfig;
use serde_json::{Value, json};

use crate::support;

use support::*;

async fn office(app: &App, name: &str) -> OfficeId {
    app.store.offices(app.tenant).await.unwrap().into_iter().find(|o| o.name == name).unwrap().id
}

async fn add_user(app: &App, email: &str, role: Role, offices: &[OfficeId]) {
    app.store.create_user(app.tenant, email, "Persona di prova", role, &PASSWORD_HASH, offices).await.unwrap();
}

// Moves the app's clock to `local` time of DAY in Rome, such as `09:10`.
fn travel(app: &App, local: &str) {
    let at: Timestamp = format!("{DAY}T{local}:00+01:00").parse().unwrap();
    app.clock.store(at.as_second(), Ordering::SeqCst);
}

async fn status_of(app: &App, id: AppointmentId) -> AppointmentStatus {
    app.store.appointment(app.tenant, id).await.unwrap().unwrap().status
}

async fn seats_at(app: &App, service: &str, time: &str) -> u64 {
    let uri = format!("/api/v1/demo/services/{}/slots?from={DAY}&to={DAY}", service_id(app, service).await);
    let answer = send(app, Request::get(uri).body(Body::empty()).unwrap()).await;
    let slots: Value = serde_json::from_str(&answer.body).unwrap();
    let start = format!("{DAY}T{time}:00+01:00");
    slots
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["start"] == start.as_str())
        .map_or(0, |s| s["available"].as_u64().unwrap())
}

/// Takes a walk-in ticket at `office` through the public API, as a citizen does.
async fn take_ticket(app: &App, office: OfficeId, name: &str) {
    let take = Request::post(format!("/api/v1/demo/offices/{}/tickets", office.0))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(json!({ "name": name }).to_string()))
        .unwrap();
    assert_eq!(send(app, take).await.status, StatusCode::CREATED);
}

#[tokio::test]
async fn signing_in_sets_an_http_only_session_cookie_that_opens_the_day() {
    let app = app().await;
    let answer = try_login(&app, "demo", ADMIN, PASSWORD).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    assert_eq!(answer.headers[header::LOCATION], "/demo/staff");
    let cookie = set_cookie(&answer.headers, "ricevo_session").unwrap();
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=43200"] {
        assert!(cookie.contains(attribute), "{attribute} missing from {cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain HTTP in this configuration: {cookie}");
    // Only the token's hash is stored: the cookie value itself opens the session.
    let s = Session { cookie: format!("ricevo_session={}", cookie_value(cookie)), csrf: String::new() };
    let day = get(&app, &s, "/demo/staff").await;
    assert_eq!(day.status, StatusCode::OK);
    assert!(day.body.contains("Appuntamenti del giorno"));
    assert!(day.body.contains("href=\"/static/ricevo.css\""));
    assert_eq!(day.headers[header::CACHE_CONTROL], "no-store");

    let secure = app_with(WebConfig { secure_cookies: true, ..WebConfig::default() }).await;
    let answer = try_login(&secure, "demo", ADMIN, PASSWORD).await;
    assert!(set_cookie(&answer.headers, "ricevo_session").unwrap().contains("; Secure"));
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_email_get_the_same_generic_message() {
    let app = app().await;
    let wrong = try_login(&app, "demo", ADMIN, "not-the-password").await;
    let unknown = try_login(&app, "demo", "nobody@esempio.it", PASSWORD).await;
    for answer in [&wrong, &unknown] {
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
        assert!(answer.body.contains("E-mail o password non corretti."), "{}", answer.body);
        assert!(set_cookie(&answer.headers, "ricevo_session").is_none());
    }
    // Without the page's own cookie the form is refused (login CSRF).
    let req = Request::post("/demo/staff/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(form_body(&[("login_csrf", "x"), ("email", ADMIN), ("password", PASSWORD)])))
        .unwrap();
    let forged = send(&app, req).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(forged.body.contains("Il modulo di accesso è scaduto"), "{}", forged.body);
    assert!(set_cookie(&forged.headers, "ricevo_session").is_none());
}

#[tokio::test]
async fn the_eleventh_failed_attempt_is_throttled_even_with_the_right_password() {
    let app = app().await;
    for attempt in 1..=10 {
        let answer = try_login(&app, "demo", ADMIN, "guess").await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "attempt {attempt}");
    }
    let throttled = try_login(&app, "demo", ADMIN, "guess").await;
    assert_eq!(throttled.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(throttled.body.contains("riprova tra 15 minuti"), "{}", throttled.body);
    assert_eq!(throttled.headers[header::RETRY_AFTER], "900");
    let right = try_login(&app, "demo", ADMIN, PASSWORD).await;
    assert_eq!(right.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(set_cookie(&right.headers, "ricevo_session").is_none());
}

#[tokio::test]
async fn posts_without_or_with_a_wrong_csrf_token_are_refused_with_403() {
    let app = app().await;
    let id = book(&app, "Cambio di residenza", "09:00", "Maria Rossi").await;
    let s = login(&app, ADMIN).await;
    let uri = format!("/demo/staff/appointments/{}/status", id.0);
    let none = post_raw(&app, &s, &uri, &[("status", "cancelled")]).await;
    assert_eq!(none.status, StatusCode::FORBIDDEN);
    let wrong = post_raw(&app, &s, &uri, &[("csrf", "0123456789"), ("status", "cancelled")]).await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    assert!(wrong.body.contains("Non hai i permessi"), "{}", wrong.body);
    assert_eq!(status_of(&app, id).await, AppointmentStatus::Booked);
    let logout = post_raw(&app, &s, "/demo/staff/logout", &[]).await;
    assert_eq!(logout.status, StatusCode::FORBIDDEN);
    assert_eq!(get(&app, &s, "/demo/staff").await.status, StatusCode::OK, "the session survives");
}

#[tokio::test]
async fn an_operator_sees_only_their_offices_appointments_and_cannot_change_another_office() {
    let app = app().await;
    let anagrafe = office(&app, "Anagrafe").await;
    let tributi = office(&app, "Tributi").await;
    add_user(&app, "operatore@esempio.it", Role::Operator, &[anagrafe]).await;
    let own = book(&app, "Cambio di residenza", "09:00", "Maria Rossi").await;
    let other = book(&app, "TARI / IMU", "09:00", "Giulia Rossi").await;
    let s = login(&app, "operatore@esempio.it").await;

    let day = get(&app, &s, &format!("/demo/staff?date={DAY}")).await;
    assert_eq!(day.status, StatusCode::OK);
    assert!(day.body.contains("Maria Rossi") && day.body.contains("Porto i documenti"));
    assert!(!day.body.contains("Giulia Rossi"), "another office's citizen is shown");
    let found = get(&app, &s, "/demo/staff/search?q=rossi").await;
    assert!(found.body.contains("Maria Rossi") && !found.body.contains("Giulia Rossi"));
    let filtered = get(&app, &s, &format!("/demo/staff?date={DAY}&office={}", tributi.0)).await;
    assert_eq!(filtered.status, StatusCode::FORBIDDEN);

    let done = post(&app, &s, &format!("/demo/staff/appointments/{}/status", other.0), &[("status", "done")]).await;
    assert_eq!(done.status, StatusCode::FORBIDDEN);
    assert_eq!(status_of(&app, other).await, AppointmentStatus::Booked);
    let hours = post(&app, &s, &format!("/demo/staff/offices/{}/hours", tributi.0), &[("desks", "3")]).await;
    assert_eq!(hours.status, StatusCode::FORBIDDEN);
    let uri = format!("/demo/staff/offices/{}/services/new", tributi.0);
    let service = post(&app, &s, &uri, &[("name", "Abusivo"), ("duration", "20"), ("modes", "video")]).await;
    assert_eq!(service.status, StatusCode::FORBIDDEN);
    assert!(!app.store.services(app.tenant).await.unwrap().iter().any(|s| s.name == "Abusivo"));
    // Operators manage no office at all, not even their own.
    assert_eq!(get(&app, &s, "/demo/staff/offices").await.status, StatusCode::FORBIDDEN);
    assert_eq!(get(&app, &s, &format!("/demo/staff/offices/{}", anagrafe.0)).await.status, StatusCode::FORBIDDEN);
    assert_eq!(get(&app, &s, "/demo/staff/users").await.status, StatusCode::FORBIDDEN);

    travel(&app, "08:30");
    let s = login(&app, "operatore@esempio.it").await;
    let checked_in =
        post(&app, &s, &format!("/demo/staff/appointments/{}/status", own.0), &[("status", "checked_in")]).await;
    assert_eq!(checked_in.status, StatusCode::SEE_OTHER);
    assert_eq!(status_of(&app, own).await, AppointmentStatus::CheckedIn);
}

#[tokio::test]
async fn a_manager_edits_their_offices_hours_but_not_another_offices() {
    let app = app().await;
    let tributi = office(&app, "Tributi").await;
    let anagrafe = office(&app, "Anagrafe").await;
    add_user(&app, "manager@esempio.it", Role::Manager, &[tributi]).await;
    let s = login(&app, "manager@esempio.it").await;
    let before = app.store.hours(app.tenant, anagrafe).await.unwrap();

    let offices = get(&app, &s, "/demo/staff/offices").await;
    assert!(offices.body.contains("Tributi") && !offices.body.contains("Anagrafe"));
    let hours =
        [("desks", "2"), ("d1_from1", "08:30"), ("d1_to1", "12:00"), ("d3_from1", "14:00"), ("d3_to1", "16:00")];
    let saved = post(&app, &s, &format!("/demo/staff/offices/{}/hours", tributi.0), &hours).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let rows = app.store.hours(app.tenant, tributi).await.unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!((rows[0].weekday, rows[0].start_minute, rows[0].end_minute), (1, 510, 720));
    assert_eq!(app.store.office(app.tenant, tributi).await.unwrap().unwrap().desks, 2);
    let page = get(&app, &s, &format!("/demo/staff/offices/{}", tributi.0)).await;
    assert!(page.body.contains("value=\"08:30\""));

    let refused = post(&app, &s, &format!("/demo/staff/offices/{}/hours", anagrafe.0), &hours).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(app.store.hours(app.tenant, anagrafe).await.unwrap(), before);

    // A range that ends before it starts is refused on its field, in Italian.
    let bad = [("desks", "1"), ("d2_from1", "12:00"), ("d2_to1", "09:00")];
    let invalid = post(&app, &s, &format!("/demo/staff/offices/{}/hours", tributi.0), &bad).await;
    assert_eq!(invalid.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(invalid.body.contains("id=\"f-d2_to1-error\""), "{}", invalid.body);
    assert!(
        invalid.body.contains("L&#x27;orario di chiusura deve seguire")
            || invalid.body.contains("L&#39;orario di chiusura")
    );
    assert_eq!(app.store.hours(app.tenant, tributi).await.unwrap(), rows, "nothing saved");

    let closure = [("first_day", "2026-12-24"), ("last_day", "2026-12-31"), ("reason", "Chiusura natalizia")];
    let added = post(&app, &s, &format!("/demo/staff/offices/{}/closures", tributi.0), &closure).await;
    assert_eq!(added.status, StatusCode::SEE_OTHER);
    let closures = app.store.closures(app.tenant, tributi).await.unwrap();
    assert_eq!(closures[0].reason, "Chiusura natalizia");
    let uri = format!("/demo/staff/offices/{}/closures/{}/delete", tributi.0, closures[0].id);
    assert_eq!(post(&app, &s, &uri, &[("confirm", "1")]).await.status, StatusCode::SEE_OTHER);
    assert!(app.store.closures(app.tenant, tributi).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_manager_creates_a_service_and_bad_intake_questions_are_reported_on_their_field() {
    let app = app().await;
    let tributi = office(&app, "Tributi").await;
    add_user(&app, "manager@esempio.it", Role::Manager, &[tributi]).await;
    let s = login(&app, "manager@esempio.it").await;
    let uri = format!("/demo/staff/offices/{}/services/new", tributi.0);
    assert_eq!(get(&app, &s, &uri).await.status, StatusCode::OK);
    let mut fields = vec![
        ("name", "Rateizzazione"),
        ("duration", "30"),
        ("buffer", "5"),
        ("notice_hours", "24"),
        ("horizon_days", "60"),
        ("modes", "video"),
        ("modes", "phone"),
        ("active", "1"),
        ("q1_label", "Hai l'avviso?"),
        ("q1_key", "Avviso!"),
        ("q1_type", "yes_no"),
        ("q1_required", "1"),
    ];
    let bad = post(&app, &s, &uri, &fields).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("id=\"f-q1_key-error\"") && bad.body.contains("Domanda 1, chiave"), "{}", bad.body);
    fields[9] = ("q1_key", "avviso");
    let created = post(&app, &s, &uri, &fields).await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    let service =
        app.store.services(app.tenant).await.unwrap().into_iter().find(|s| s.name == "Rateizzazione").unwrap();
    assert_eq!(service.office_id, tributi);
    assert_eq!(service.rules.duration_minutes(), 30);
    assert_eq!(service.questions[0].key, "avviso");
    // An off-grid duration is refused with the core's message on the field.
    fields[1] = ("duration", "7");
    let edit = format!("/demo/staff/services/{}", service.id.0);
    let refused = post(&app, &s, &edit, &fields).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("La durata deve essere tra 5 e 480 minuti"));
    // Another office's service cannot even be opened.
    let cie = service_id(&app, "Carta d'identità elettronica").await;
    assert_eq!(get(&app, &s, &format!("/demo/staff/services/{cie}")).await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn nobody_in_one_town_can_read_or_change_anything_of_another_town() {
    let app = app().await;
    let other = altro_town(&app).await;
    let new_office = NewOffice {
        name: "Ufficio Segreto".into(),
        description: String::new(),
        address: String::new(),
        contact_email: "segreto@altro.it".into(),
    };
    let secret_office = app.store.create_office(other.id, &new_office).await.unwrap();
    app.store.create_user(other.id, "admin@altro.it", "Admin Altro", Role::Admin, &PASSWORD_HASH, &[]).await.unwrap();
    let id = book(&app, "Cambio di residenza", "09:00", "Maria Rossi").await;

    let a = login(&app, ADMIN).await;
    let b = login_to(&app, "altro", "admin@altro.it").await;
    // A's session on B's pages: back to B's login, never data.
    for uri in [
        "/altro/staff",
        "/altro/staff/offices",
        "/altro/staff/users",
        "/altro/staff/outbox",
        "/altro/staff/search?q=se",
    ] {
        let answer = get(&app, &a, uri).await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{uri}");
        assert_eq!(answer.headers[header::LOCATION], "/altro/staff/login");
    }
    let uri = format!("/altro/staff/offices/{}/hours", secret_office.id.0);
    assert_eq!(post(&app, &a, &uri, &[("desks", "5")]).await.status, StatusCode::SEE_OTHER);
    assert_eq!(app.store.office(other.id, secret_office.id).await.unwrap().unwrap().desks, 1);
    // A's own town's URLs with B's ids find nothing.
    assert_eq!(
        get(&app, &a, &format!("/demo/staff/offices/{}", secret_office.id.0)).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(post(&app, &a, &uri.replace("altro", "demo"), &[("desks", "5")]).await.status, StatusCode::NOT_FOUND);
    // And B cannot touch A's appointment, with its own CSRF token or A's.
    for csrf in [&b.csrf, &a.csrf] {
        let s = Session { cookie: b.cookie.clone(), csrf: csrf.clone() };
        let answer =
            post(&app, &s, &format!("/altro/staff/appointments/{}/status", id.0), &[("status", "cancelled")]).await;
        assert_eq!(answer.status, if csrf == &b.csrf { StatusCode::NOT_FOUND } else { StatusCode::FORBIDDEN });
        let answer =
            post(&app, &s, &format!("/demo/staff/appointments/{}/status", id.0), &[("status", "cancelled")]).await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER);
        assert_eq!(answer.headers[header::LOCATION], "/demo/staff/login");
    }
    assert_eq!(status_of(&app, id).await, AppointmentStatus::Booked);
    let b_day = get(&app, &b, &format!("/altro/staff?date={DAY}")).await;
    assert!(!b_day.body.contains("Maria Rossi"));
    let b_offices = get(&app, &b, "/altro/staff/offices").await;
    assert!(b_offices.body.contains("Ufficio Segreto") && !b_offices.body.contains("Anagrafe"));
}

#[tokio::test]
async fn check_in_no_show_done_and_cancel_change_the_status_and_cancel_frees_the_slot() {
    let app = app().await;
    // The registry office has two desks: two bookings fill a slot.
    let first = book(&app, "Cambio di residenza", "09:00", "Anna Bianchi").await;
    let second = book(&app, "Cambio di residenza", "09:00", "Bruno Verdi").await;
    assert_eq!(seats_at(&app, "Cambio di residenza", "09:00").await, 0);
    let third = book(&app, "Cambio di residenza", "09:35", "Carla Neri").await;
    book(&app, "Cambio di residenza", "09:35", "Dario Neri").await;
    assert_eq!(seats_at(&app, "Cambio di residenza", "09:35").await, 0);
    let s = login(&app, ADMIN).await;
    let action = |id: AppointmentId| format!("/demo/staff/appointments/{}/status", id.0);

    // Two days ahead only cancelling makes sense.
    let cancelled = post(&app, &s, &action(third), &[("status", "cancelled")]).await;
    assert_eq!(cancelled.status, StatusCode::SEE_OTHER);
    assert_eq!(status_of(&app, third).await, AppointmentStatus::Cancelled);
    assert_eq!(seats_at(&app, "Cambio di residenza", "09:35").await, 1, "the seat is free again");
    let public_id = app.store.appointment(app.tenant, third).await.unwrap().unwrap().public_id;
    let due = app.store.due_outbox(NOW.parse().unwrap(), 100).await.unwrap();
    assert!(due.iter().any(|m| m.dedupe_key.starts_with(&format!("{public_id}:cancelled:"))), "the citizen is told");
    let twice = post(&app, &s, &action(third), &[("status", "cancelled")]).await;
    assert_eq!(twice.status, StatusCode::CONFLICT);

    travel(&app, "09:10");
    let s = login(&app, ADMIN).await;
    let answer = post(&app, &s, &action(first), &[("status", "checked_in")]).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    assert_eq!(answer.headers[header::LOCATION], format!("/demo/staff?date={DAY}"));
    assert_eq!(status_of(&app, first).await, AppointmentStatus::CheckedIn);
    post(&app, &s, &action(first), &[("status", "done")]).await;
    assert_eq!(status_of(&app, first).await, AppointmentStatus::Done);
    post(&app, &s, &action(second), &[("status", "no_show")]).await;
    assert_eq!(status_of(&app, second).await, AppointmentStatus::NoShow);
    // A finished appointment cannot be checked in again.
    let again = post(&app, &s, &action(first), &[("status", "checked_in")]).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    let day = get(&app, &s, &format!("/demo/staff?date={DAY}")).await;
    assert!(day.body.contains("Annullato") && day.body.contains("Concluso") && day.body.contains("Non presentato"));
}

// What the API refuses, the page refuses too, with the same rule and a message in the user's
// language: a no-show days ahead, a done or no-show appointment brought back.
#[tokio::test]
async fn the_day_page_refuses_the_status_changes_the_api_refuses_and_offers_only_the_allowed_buttons() {
    let app = app().await;
    let anna = book(&app, "Cambio di residenza", "09:00", "Anna Bianchi").await;
    let bruno = book(&app, "Cambio di residenza", "09:00", "Bruno Verdi").await;
    let s = login(&app, ADMIN).await;
    let action = |id: AppointmentId| format!("/demo/staff/appointments/{}/status", id.0);

    let day = get(&app, &s, &format!("/demo/staff?date={DAY}")).await;
    assert!(!day.body.contains("value=\"no_show\""), "no no-show button days ahead");
    assert!(!day.body.contains("value=\"done\""), "no done button days ahead");
    // Cancelling goes through its confirmation page, which asks for the reason.
    assert!(day.body.contains(&format!("/demo/staff/appointments/{}/cancel\"", anna.0)));
    for (status, it) in [("no_show", "Troppo presto"), ("done", "Troppo presto"), ("checked_in", "Troppo presto")] {
        let early = post(&app, &s, &action(anna), &[("status", status)]).await;
        assert_eq!(early.status, StatusCode::CONFLICT, "{status}: {}", early.body);
        assert!(early.body.contains(it), "{status}: {}", early.body);
    }
    let english = send(
        &app,
        Request::post(format!("{}?lang=en", action(anna)))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::COOKIE, &s.cookie)
            .body(Body::from(form_body(&[("csrf", &s.csrf), ("status", "no_show")])))
            .unwrap(),
    )
    .await;
    assert_eq!(english.status, StatusCode::CONFLICT);
    assert!(english.body.contains("Too early: a no-show"), "{}", english.body);
    assert_eq!(status_of(&app, anna).await, AppointmentStatus::Booked);

    travel(&app, "09:10");
    let s = login(&app, ADMIN).await;
    assert_eq!(post(&app, &s, &action(anna), &[("status", "done")]).await.status, StatusCode::SEE_OTHER);
    assert_eq!(post(&app, &s, &action(bruno), &[("status", "no_show")]).await.status, StatusCode::SEE_OTHER);
    // Nothing brings a done appointment back; a no-show is checked in late only before its end.
    for (id, status) in [(anna, "booked"), (anna, "checked_in"), (anna, "no_show"), (bruno, "done"), (bruno, "booked")]
    {
        let back = post(&app, &s, &action(id), &[("status", status)]).await;
        assert!(back.status == StatusCode::CONFLICT || back.status == StatusCode::BAD_REQUEST, "{status}");
    }
    assert_eq!(status_of(&app, anna).await, AppointmentStatus::Done);
    assert_eq!(status_of(&app, bruno).await, AppointmentStatus::NoShow);
    let day = get(&app, &s, &format!("/demo/staff?date={DAY}")).await;
    assert!(day.body.contains("value=\"checked_in\""), "the late arrival can still be checked in");
    travel(&app, "09:31");
    let s = login(&app, ADMIN).await;
    let late = post(&app, &s, &action(bruno), &[("status", "checked_in")]).await;
    assert_eq!(late.status, StatusCode::CONFLICT);
    assert!(late.body.contains("Troppo tardi"), "{}", late.body);
    let day = get(&app, &s, &format!("/demo/staff?date={DAY}")).await;
    assert!(!day.body.contains("name=\"status\""), "no button for what the rule refuses: {}", day.body);
}

#[tokio::test]
async fn an_admin_creates_an_api_token_shown_once_that_opens_the_api() {
    let app = app().await;
    let s = login(&app, ADMIN).await;
    let created =
        post(&app, &s, "/demo/staff/tokens", &[("label", "Portale del Comune"), ("role", "admin"), ("office", "")])
            .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.body);
    let token = secret_of(&created.body);
    assert_eq!(token.len(), 43);
    let api = Request::get("/api/v1/demo/offices")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&app, api).await.status, StatusCode::OK);
    assert!(!get(&app, &s, "/demo/staff/tokens").await.body.contains(&token), "shown only once");
    // An operator token needs an office.
    let refused =
        post(&app, &s, "/demo/staff/tokens", &[("label", "Totem"), ("role", "operator"), ("office", "")]).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("id=\"f-office-error\""));
}

#[tokio::test]
async fn an_admin_adds_a_webhook_whose_secret_is_shown_once_and_can_delete_it() {
    let app = app().await;
    let s = login(&app, ADMIN).await;
    let refused = post(&app, &s, "/demo/staff/webhooks", &[("url", "ftp://portale.esempio.it/hook")]).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("http:// o https://"));
    let created = post(&app, &s, "/demo/staff/webhooks", &[("url", "https://portale.esempio.it/hook")]).await;
    assert_eq!(created.status, StatusCode::OK);
    let secret = secret_of(&created.body);
    let hooks = app.store.webhooks(app.tenant).await.unwrap();
    assert_eq!(hooks.len(), 1);
    assert_eq!((hooks[0].url.as_str(), hooks[0].secret.as_str()), ("https://portale.esempio.it/hook", secret.as_str()));
    let list = get(&app, &s, "/demo/staff/webhooks").await;
    assert!(list.body.contains("https://portale.esempio.it/hook") && !list.body.contains(&secret));
    let deleted = post(&app, &s, &format!("/demo/staff/webhooks/{}/delete", hooks[0].id), &[("confirm", "1")]).await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER);
    assert!(app.store.webhooks(app.tenant).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_webhook_to_an_internal_address_is_refused_unless_the_configuration_allows_its_host() {
    let app = app().await;
    let s = login(&app, ADMIN).await;
    for url in [
        "http://169.254.169.254/latest/meta-data/",
        "http://0x7f000001:8080/hook",
        "http://2130706433/hook",
        "http://0177.0.0.1/hook",
        "http://127.1/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://[fe80::1]/hook",
        "http://localhost:8080/hook",
        "http://10.1.2.3/hook",
        "https://192.168.1.10/hook",
        "http://100.64.0.1/hook",
    ] {
        let refused = post(&app, &s, "/demo/staff/webhooks", &[("url", url)]).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{url}");
        assert!(refused.body.contains("rete interna"), "{url}: {}", refused.body);
    }
    let english = Session { cookie: format!("{}; lang=en", s.cookie), csrf: s.csrf.clone() };
    let refused = post(&app, &english, "/demo/staff/webhooks", &[("url", "http://10.1.2.3/hook")]).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("internal network"), "{}", refused.body);
    assert!(app.store.webhooks(app.tenant).await.unwrap().is_empty());

    let allowed = ricevo_notify::AllowedHosts::parse(["10.1.2.3"]).unwrap();
    let app = app_with(WebConfig { webhook_allow_hosts: allowed, ..WebConfig::default() }).await;
    let s = login(&app, ADMIN).await;
    // 167838211 is 10.1.2.3 written as one number; it is stored in its usual form.
    let created = post(&app, &s, "/demo/staff/webhooks", &[("url", "http://167838211/hook")]).await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.body);
    let hooks = app.store.webhooks(app.tenant).await.unwrap();
    assert_eq!(hooks.iter().map(|h| h.url.as_str()).collect::<Vec<_>>(), ["http://10.1.2.3/hook"]);
    let other = post(&app, &s, "/demo/staff/webhooks", &[("url", "http://10.1.2.4/hook")]).await;
    assert_eq!(other.status, StatusCode::UNPROCESSABLE_ENTITY, "only the listed host is allowed");
}

#[tokio::test]
async fn the_outbox_page_lists_eml_files_and_refuses_names_that_leave_the_folder() {
    let app = app().await;
    std::fs::create_dir_all(app.outbox.join("demo")).unwrap();
    std::fs::write(app.outbox.join("demo/abc.confirmation@ricevo.eml"), "Subject: Conferma\r\n\r\nCiao").unwrap();
    std::fs::write(app.outbox.join("secret.eml"), "not for the web").unwrap();
    std::fs::write(app.dir.path().join("secret.eml"), "not for the web").unwrap();
    let s = login(&app, ADMIN).await;
    let page = get(&app, &s, "/demo/staff/outbox").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("abc.confirmation@ricevo.eml"));
    let file = get(&app, &s, "/demo/staff/outbox/abc.confirmation@ricevo.eml").await;
    assert_eq!(file.status, StatusCode::OK);
    assert_eq!(file.headers[header::CONTENT_TYPE], "message/rfc822");
    assert!(file.body.contains("Subject: Conferma"));
    for uri in [
        "/demo/staff/outbox/..%2Fsecret.eml",
        "/demo/staff/outbox/..%5Csecret.eml",
        "/demo/staff/outbox/..%2F..%2Fsecret.eml",
        "/demo/staff/outbox/t.db",
    ] {
        let answer = get(&app, &s, uri).await;
        assert!(answer.status.is_client_error(), "{uri}: {}", answer.status);
        assert!(!answer.body.contains("not for the web"));
    }
    assert_eq!(get(&app, &s, "/demo/staff/outbox/missing.eml").await.status, StatusCode::NOT_FOUND);
    let anagrafe = office(&app, "Anagrafe").await;
    add_user(&app, "manager@esempio.it", Role::Manager, &[anagrafe]).await;
    let manager = login(&app, "manager@esempio.it").await;
    assert_eq!(get(&app, &manager, "/demo/staff/outbox").await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        get(&app, &manager, "/demo/staff/outbox/abc.confirmation@ricevo.eml").await.status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn one_towns_admin_never_lists_or_downloads_another_towns_e_mails() {
    let app = app().await;
    let other = altro_town(&app).await;
    app.store.create_user(other.id, "admin@altro.it", "Admin Altro", Role::Admin, &PASSWORD_HASH, &[]).await.unwrap();
    // A citizen books in the demo town and the real worker writes the confirmation.
    book(&app, "Cambio di residenza", "09:00", "Maria Rossi").await;
    let worker = ricevo_notify::Worker::new(app.store.clone(), ricevo_notify::Mailer::outbox(&app.outbox)).unwrap();
    assert!(worker.run_once(NOW.parse().unwrap()).await.unwrap() >= 1);
    let written = ricevo_notify::list_outbox_dir(&app.outbox.join("demo")).unwrap();
    assert_eq!(written.len(), 1, "{written:?}");
    let name = written[0].0.clone();
    // An e-mail an older version wrote flat in the shared folder belongs to no known town.
    std::fs::write(app.outbox.join("legacy.confirmation@ricevo.eml"), "To: Maria Rossi").unwrap();

    let a = login(&app, ADMIN).await;
    let mine = get(&app, &a, "/demo/staff/outbox").await;
    assert!(mine.body.contains(&name), "{}", mine.body);
    assert!(!mine.body.contains("legacy.confirmation"), "old flat e-mails are shown to no town");
    let file = get(&app, &a, &format!("/demo/staff/outbox/{name}")).await;
    assert_eq!(file.status, StatusCode::OK);
    assert!(file.body.contains("maria.rossi@example.it"), "{}", file.body);

    let b = login_to(&app, "altro", "admin@altro.it").await;
    let theirs = get(&app, &b, "/altro/staff/outbox").await;
    assert_eq!(theirs.status, StatusCode::OK);
    assert!(!theirs.body.contains(&name) && !theirs.body.contains("legacy.confirmation"), "{}", theirs.body);
    // Guessing the name, or climbing out of the town's folder, finds nothing.
    for uri in [
        format!("/altro/staff/outbox/{name}"),
        "/altro/staff/outbox/legacy.confirmation@ricevo.eml".to_owned(),
        format!("/altro/staff/outbox/..%2Fdemo%2F{name}"),
        "/altro/staff/outbox/..%2Flegacy.confirmation@ricevo.eml".to_owned(),
    ] {
        let answer = get(&app, &b, &uri).await;
        assert!(answer.status.is_client_error(), "{uri}: {}", answer.status);
        assert!(!answer.body.contains("cittadino@example.it") && !answer.body.contains("Maria Rossi"), "{uri}");
    }
    assert_eq!(get(&app, &a, "/demo/staff/outbox/legacy.confirmation@ricevo.eml").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_admin_creates_an_account_whose_one_time_password_signs_in() {
    let app = app().await;
    let anagrafe = office(&app, "Anagrafe").await;
    let s = login(&app, ADMIN).await;
    let id = anagrafe.0.to_string();
    let fields =
        [("name", "Paola Sportello"), ("email", "paola@esempio.it"), ("role", "operator"), ("offices", id.as_str())];
    let created = post(&app, &s, "/demo/staff/users", &fields).await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.body);
    let password = secret_of(&created.body);
    let user = app.store.user_by_email(app.tenant, "paola@esempio.it").await.unwrap().unwrap();
    assert_eq!((user.role, user.offices.as_slice()), (Role::Operator, [anagrafe].as_slice()));
    assert!(ricevo_web::staff::verify_password(&password, &user.password_hash));
    assert!(user.password_hash.starts_with("$argon2id$"));
    let duplicate = post(&app, &s, "/demo/staff/users", &fields).await;
    assert_eq!(duplicate.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(duplicate.body.contains("Esiste già un account"));
    let no_office =
        post(&app, &s, "/demo/staff/users", &[("name", "X"), ("email", "x@esempio.it"), ("role", "manager")]).await;
    assert_eq!(no_office.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(no_office.body.contains("id=\"f-offices-error\""));
}

#[tokio::test]
async fn signing_out_ends_the_session() {
    let app = app().await;
    let s = login(&app, ADMIN).await;
    let out = post(&app, &s, "/demo/staff/logout", &[]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert!(set_cookie(&out.headers, "ricevo_session").unwrap().contains("Max-Age=0"));
    let after = get(&app, &s, "/demo/staff").await;
    assert_eq!(after.status, StatusCode::SEE_OTHER);
    assert_eq!(after.headers[header::LOCATION], "/demo/staff/login");
}

#[tokio::test]
async fn pages_speak_english_on_request_and_search_needs_two_characters() {
    let app = app().await;
    let page = send(&app, Request::get("/demo/staff/login?lang=en").body(Body::empty()).unwrap()).await;
    assert!(page.body.contains("<html lang=\"en\">") && page.body.contains("Staff sign-in"));
    assert!(set_cookie(&page.headers, "lang").unwrap().starts_with("lang=en"));
    let s = login(&app, ADMIN).await;
    let short = get(&app, &s, "/demo/staff/search?q=r&lang=en").await;
    assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(short.body.contains("Type at least 2 characters."));
    let bad_date = get(&app, &s, "/demo/staff?date=25/11/2026").await;
    assert_eq!(bad_date.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad_date.body.contains("Data non valida"));
}

#[tokio::test]
async fn the_desk_offers_no_show_for_each_person_waiting_and_it_ends_their_wait() {
    let app = app().await;
    let urp = office(&app, "URP – Ufficio Relazioni con il Pubblico").await;
    take_ticket(&app, urp, "Anna Neri").await;
    let anna = app.store.office_entries(app.tenant, urp).await.unwrap()[0].id.0;
    let s = login(&app, ADMIN).await;
    let desk = format!("/demo/staff/desk/{}", urp.0);

    let page = get(&app, &s, &desk).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains(&format!("action=\"/demo/staff/waiting/{anna}/no-show\" data-confirm=\"")),
        "a no-show form that asks first: {}",
        page.body
    );
    assert!(page.body.contains("aria-label=\"Non presente: Anna Neri\">Non presente</button>"), "{}", page.body);

    let done = post(&app, &s, &format!("/demo/staff/waiting/{anna}/no-show"), &[]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let stored = app.store.entry(app.tenant, ricevo_core::EntryId(anna)).await.unwrap().unwrap();
    assert_eq!(stored.status, ricevo_core::lobby::EntryStatus::NoShow);
    let page = get(&app, &s, &desk).await;
    assert!(!page.body.contains("Anna Neri"), "the desk no longer lists her");
    let again = post(&app, &s, &format!("/demo/staff/waiting/{anna}/no-show"), &[]).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert!(again.body.contains("non è più in coda"), "{}", again.body);
}

#[tokio::test]
async fn the_day_page_and_the_closure_form_refuse_the_edges_of_the_calendar_with_a_422() {
    let app = app().await;
    let s = login(&app, ADMIN).await;
    for day in ["9999-12-31", "-9999-01-01", "0000-01-01"] {
        let page = get(&app, &s, &format!("/demo/staff?date={day}")).await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{day}: {}", page.body);
        assert!(page.body.contains("Data fuori intervallo") || page.body.contains("Data non valida"), "{}", page.body);
    }
    let english = get(&app, &s, "/demo/staff?date=9999-12-31&lang=en").await;
    assert!(english.body.contains("Date out of range"), "{}", english.body);
    assert_eq!(get(&app, &s, "/demo/staff?date=2199-12-31").await.status, StatusCode::OK);
    let tributi = office(&app, "Tributi").await;
    let closure = [("first_day", "9999-12-30"), ("last_day", "9999-12-31"), ("reason", "Fine dei tempi")];
    let refused = post(&app, &s, &format!("/demo/staff/offices/{}/closures", tributi.0), &closure).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    assert!(refused.body.contains("Data fuori intervallo"), "{}", refused.body);
    assert!(app.store.closures(app.tenant, tributi).await.unwrap().is_empty());
}

// ---- the URP desk: bookings for citizens, reasons, closures over booked days (booking) ----

// The text between `start` and the next `end` after it.
fn between<'a>(body: &'a str, start: &str, end: &str) -> &'a str {
    let at = body.find(start).unwrap_or_else(|| panic!("no {start} in {body}")) + start.len();
    &body[at..at + body[at..].find(end).unwrap()]
}

async fn outbox_payloads(app: &App) -> Vec<(String, String)> {
    let later: Timestamp = "2027-12-01T00:00:00Z".parse().unwrap();
    app.store.due_outbox(later, 200).await.unwrap().into_iter().map(|m| (m.dedupe_key, m.payload)).collect()
}

#[tokio::test]
async fn an_official_books_for_a_citizen_without_e_mail_and_hands_over_the_code_and_the_link() {
    let app = app().await;
    let s = login(&app, ADMIN).await;
    let service = service_id(&app, "Cambio di residenza").await;
    let day = get(&app, &s, &format!("/demo/staff?date={DAY}")).await;
    assert!(day.body.contains(&format!("href=\"/demo/staff/book?date={DAY}\"")), "the day view links the form");
    let form = get(&app, &s, &format!("/demo/staff/book?service={service}&date={DAY}")).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    // Wednesday 25 November, 09:00 in Rome.
    assert!(form.body.contains("value=\"2026-11-25T08:00:00Z\""), "the free times are offered");
    let service = service.to_string();
    let fields = |extra: &[(&'static str, &'static str)]| {
        let mut all = vec![
            ("service", service.clone()),
            ("date", DAY.to_owned()),
            ("start", "2026-11-25T08:00:00Z".to_owned()),
            ("name", "Giuseppe Verdi".to_owned()),
            ("mode", "in_person".to_owned()),
            ("privacy_accepted", "1".to_owned()),
        ];
        all.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
        all
    };
    let as_refs = |all: &[(&'static str, String)]| all.iter().map(|(k, v)| (*k, v.clone())).collect::<Vec<_>>();

    // No e-mail and no phone: the form comes back with the problem, nothing booked.
    let nobody = as_refs(&fields(&[]));
    let nobody: Vec<(&str, &str)> = nobody.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let refused = post(&app, &s, "/demo/staff/book", &nobody).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    assert!(refused.body.contains("numero di telefono"), "{}", refused.body);

    let with_phone = as_refs(&fields(&[("phone", "+39 333 123 4567")]));
    let with_phone: Vec<(&str, &str)> = with_phone.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let done = post(&app, &s, "/demo/staff/book", &with_phone).await;
    assert_eq!(done.status, StatusCode::CREATED, "{}", done.body);
    let code = between(&done.body, "<strong class=\"reference-code\">", "<").to_owned();
    assert_eq!(code.len(), 7, "{code}");
    let link = between(&done.body, "class=\"keep-link\">", "<").to_owned();
    assert!(link.contains("/a/"), "{link}");
    assert!(done.body.contains("non riceverà messaggi"), "the official is told to hand it over");
    assert!(outbox_payloads(&app).await.is_empty(), "no e-mail for a citizen without one");

    // Staff search finds it by code (any case, with or without the dash) and by phone.
    for q in [code.clone(), code.replace('-', "").to_lowercase(), "3331234567".into()] {
        let found = get(&app, &s, &format!("/demo/staff/search?q={}", encode(&q))).await;
        assert!(found.body.contains("Giuseppe Verdi"), "{q}: {}", found.body);
    }

    // Outside hours (Wednesday 15:00): an operator may not, an administrator may.
    let anagrafe = office(&app, "Anagrafe").await;
    add_user(&app, "operatore@esempio.it", Role::Operator, &[anagrafe]).await;
    let late = as_refs(&fields(&[("phone", "0968 81234"), ("outside_hours", "1"), ("override_time", "15:00")]));
    let late: Vec<(&str, &str)> = late.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let op = login(&app, "operatore@esempio.it").await;
    assert_eq!(post(&app, &op, "/demo/staff/book", &late).await.status, StatusCode::FORBIDDEN);
    let booked = post(&app, &s, "/demo/staff/book", &late).await;
    assert_eq!(booked.status, StatusCode::CREATED, "{}", booked.body);
    assert!(booked.body.contains("15:00"));

    // The form carries its own key: sent twice (a reload, a double click), it books once and
    // shows the same booking again; changed and sent with the same key, it is refused.
    let key = hidden(&form.body, "form_key");
    let mut once: Vec<(&str, &str)> =
        with_phone.iter().filter(|(k, _)| *k != "start" && *k != "phone").copied().collect();
    once.extend([("start", "2026-11-25T08:35:00Z"), ("phone", "0968 99999"), ("form_key", key.as_str())]);
    let first = post(&app, &s, "/demo/staff/book", &once).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    let again = post(&app, &s, "/demo/staff/book", &once).await;
    assert_eq!(again.status, StatusCode::CREATED, "{}", again.body);
    let code_of = |body: &str| between(body, "<strong class=\"reference-code\">", "<").to_owned();
    assert_eq!(code_of(&again.body), code_of(&first.body), "the same booking, shown again");
    let from: Timestamp = format!("{DAY}T00:00:00+01:00").parse().unwrap();
    let to: Timestamp = format!("{DAY}T23:59:00+01:00").parse().unwrap();
    let all = app.store.appointments_between(app.tenant, None, from, to).await.unwrap();
    assert_eq!(all.iter().filter(|a| a.citizen_phone.as_deref() == Some("0968 99999")).count(), 1, "booked once");
    let mut changed = once.clone();
    changed.retain(|(k, _)| *k != "name");
    changed.push(("name", "Qualcun Altro"));
    assert_eq!(post(&app, &s, "/demo/staff/book", &changed).await.status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn moving_and_cancelling_from_the_day_view_ask_for_confirmation_and_a_reason_the_citizen_reads() {
    let app = app().await;
    let id = book(&app, "Cambio di residenza", "09:00", "Maria Rossi").await;
    let s = login(&app, ADMIN).await;
    let day = get(&app, &s, &format!("/demo/staff?date={DAY}")).await;
    let cancel = format!("/demo/staff/appointments/{}/cancel", id.0);
    assert!(day.body.contains(&format!("href=\"{cancel}\"")), "{}", day.body);

    let confirm = get(&app, &s, &cancel).await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert!(confirm.body.contains("Torna indietro senza cambiare nulla") && confirm.body.contains("Maria Rossi"));
    assert_eq!(status_of(&app, id).await, AppointmentStatus::Booked, "asking changes nothing");
    let no_reason = post(&app, &s, &cancel, &[("reason", " ")]).await;
    assert_eq!(no_reason.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(no_reason.body.contains("Scrivi il motivo"));
    assert_eq!(status_of(&app, id).await, AppointmentStatus::Booked);

    // Move first: to 10:10 the same day, with a reason.
    let mv = format!("/demo/staff/appointments/{}/move", id.0);
    let form = get(&app, &s, &format!("{mv}?date={DAY}")).await;
    assert!(form.body.contains("value=\"2026-11-25T09:10:00Z\""), "{}", form.body);
    let moved =
        post(&app, &s, &mv, &[("date", DAY), ("start", "2026-11-25T09:10:00Z"), ("reason", "Operatore in ferie")])
            .await;
    assert_eq!(moved.status, StatusCode::SEE_OTHER, "{}", moved.body);
    let a = app.store.appointment(app.tenant, id).await.unwrap().unwrap();
    assert_eq!(a.start, "2026-11-25T09:10:00Z".parse::<Timestamp>().unwrap());

    let done = post(&app, &s, &cancel, &[("reason", "Sciopero del personale")]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    assert_eq!(status_of(&app, id).await, AppointmentStatus::Cancelled);
    let told = outbox_payloads(&app).await;
    let with = |kind: &str, text: &str| told.iter().any(|(k, p)| k.contains(kind) && p.contains(text));
    assert!(with(":moved:", "Operatore in ferie"), "{told:?}");
    assert!(with(":cancelled:", "Sciopero del personale"));
    assert!(with(":cancelled:", &a.public_id), "the code is in the message");
}

#[tokio::test]
async fn a_closure_over_booked_days_shows_who_is_affected_before_saving_and_then_tells_them() {
    let app = app().await;
    let id = book(&app, "Cambio di residenza", "09:00", "Maria Rossi").await;
    let anagrafe = office(&app, "Anagrafe").await;
    let s = login(&app, ADMIN).await;
    let uri = format!("/demo/staff/offices/{}/closures", anagrafe.0);
    let closure = [("first_day", DAY), ("last_day", DAY), ("reason", "Elezioni")];
    let preview = post(&app, &s, &uri, &closure).await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.body);
    assert!(preview.body.contains("Maria Rossi") && preview.body.contains("Salva la chiusura e avvisa i cittadini"));
    assert!(app.store.closures(app.tenant, anagrafe).await.unwrap().is_empty(), "nothing saved before confirming");
    assert_eq!(status_of(&app, id).await, AppointmentStatus::Booked);

    let mut confirmed = closure.to_vec();
    confirmed.push(("confirm", "1"));
    let saved = post(&app, &s, &uri, &confirmed).await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    assert!(saved.body.contains("Chiusura salvata"));
    assert_eq!(app.store.closures(app.tenant, anagrafe).await.unwrap().len(), 1);
    assert_eq!(status_of(&app, id).await, AppointmentStatus::Cancelled);
    let told = outbox_payloads(&app).await;
    let (_, email) = told.iter().find(|(k, _)| k.contains(":cancelled:")).unwrap();
    assert!(email.contains("Elezioni") && email.contains("/demo/services/"), "{email}");

    // A closure over days with nobody booked saves at once.
    let quiet = post(&app, &s, &uri, &[("first_day", "2026-12-01"), ("last_day", "2026-12-01"), ("reason", "")]).await;
    assert_eq!(quiet.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn another_towns_staff_cannot_book_move_cancel_or_find_this_towns_appointments() {
    let app = app().await;
    let other = altro_town(&app).await;
    app.store.create_user(other.id, "admin@altro.it", "Admin Altro", Role::Admin, &PASSWORD_HASH, &[]).await.unwrap();
    let id = book(&app, "Cambio di residenza", "09:00", "Maria Rossi").await;
    let code = app.store.appointment(app.tenant, id).await.unwrap().unwrap().public_id;
    let a = login(&app, ADMIN).await;
    let b = login_to(&app, "altro", "admin@altro.it").await;

    for uri in
        [format!("/altro/staff/appointments/{}/cancel", id.0), format!("/altro/staff/appointments/{}/move", id.0)]
    {
        assert_eq!(get(&app, &b, &uri).await.status, StatusCode::NOT_FOUND, "{uri}");
        let answer = post(&app, &b, &uri, &[("reason", "Tentativo"), ("start", "2026-11-25T09:10:00Z")]).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{uri}");
    }
    // B's booking form offers none of A's services, and refuses one named by id.
    let service = service_id(&app, "Cambio di residenza").await.to_string();
    let form = get(&app, &b, &format!("/altro/staff/book?service={service}&date={DAY}")).await;
    assert!(!form.body.contains("Cambio di residenza"));
    let refused = post(
        &app,
        &b,
        "/altro/staff/book",
        &[
            ("service", &service),
            ("date", DAY),
            ("start", "2026-11-25T08:00:00Z"),
            ("name", "X"),
            ("phone", "0968 81234"),
            ("mode", "in_person"),
            ("privacy_accepted", "1"),
        ],
    )
    .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let found = get(&app, &b, &format!("/altro/staff/search?q={code}")).await;
    assert!(!found.body.contains("Maria Rossi"));
    // A's session on B's new pages is sent to B's login.
    let answer = get(&app, &a, "/altro/staff/book").await;
    assert_eq!(
        (answer.status, answer.headers[header::LOCATION].to_str().unwrap()),
        (StatusCode::SEE_OTHER, "/altro/staff/login")
    );
    assert_eq!(status_of(&app, id).await, AppointmentStatus::Booked);
    assert_eq!(
        app.store
            .appointments_between(other.id, None, NOW.parse().unwrap(), "2027-01-01T00:00:00Z".parse().unwrap())
            .await
            .unwrap()
            .len(),
        0
    );
}

// The audit log page: sign-ins (and failed ones, with their address), status changes and
// account creation are listed by who did them; filters narrow it; only the town's
// administrators read it, and never another town's entries.
#[tokio::test]
async fn the_audit_log_lists_who_did_what_and_only_to_this_towns_administrators() {
    let app = app().await;
    let other = altro_town(&app).await;
    app.store.create_user(other.id, "admin@altro.it", "Admin Altro", Role::Admin, &PASSWORD_HASH, &[]).await.unwrap();
    let registry = office(&app, "Anagrafe").await;
    add_user(&app, "op@esempio.it", Role::Operator, &[registry]).await;
    let id = book(&app, "Cambio di residenza", "09:00", "Maria Rossi").await;

    assert_eq!(try_login(&app, "demo", ADMIN, "sbagliata-del-tutto").await.status, StatusCode::UNAUTHORIZED);
    let s = login(&app, ADMIN).await;
    let cancelled =
        post(&app, &s, &format!("/demo/staff/appointments/{}/status", id.0), &[("status", "cancelled")]).await;
    assert_eq!(cancelled.status, StatusCode::SEE_OTHER);
    let b = login_to(&app, "altro", "admin@altro.it").await;

    let page = get(&app, &s, "/demo/staff/audit").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    for expected in [
        "password errata",
        "Sconosciuto (admin@esempio.it)",
        "Appuntamento annullato",
        "Maria Rossi",
        "booked -&#62; cancelled",
    ] {
        assert!(page.body.contains(expected), "{expected} missing from {}", page.body);
    }
    assert!(!page.body.contains("admin@altro.it"), "another town's sign-in is not this town's");

    // Filtered by act: only the cancellation.
    let only = get(&app, &s, "/demo/staff/audit?act=appointment.cancel").await;
    assert!(only.body.contains("Maria Rossi") && !only.body.contains("password errata"), "{}", only.body);
    // A filter that makes no sense is a 422 in the page's language, not a 500.
    let bad = get(&app, &s, "/demo/staff/audit?act=appointment.delete&from=31-12-2026").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("Azione sconosciuta") && bad.body.contains("Data non valida"), "{}", bad.body);

    // Town B's administrator sees their own sign-in only.
    let theirs = get(&app, &b, "/altro/staff/audit").await;
    assert_eq!(theirs.status, StatusCode::OK);
    assert!(theirs.body.contains("admin@altro.it") && !theirs.body.contains("Maria Rossi"), "{}", theirs.body);
    // B's session on A's log: back to A's sign-in, never A's entries.
    let crossed = get(&app, &b, "/demo/staff/audit").await;
    assert!(!crossed.body.contains("Maria Rossi"));
    assert_ne!(crossed.status, StatusCode::OK);

    // An operator may not read it.
    let op = login(&app, "op@esempio.it").await;
    assert_eq!(get(&app, &op, "/demo/staff/audit").await.status, StatusCode::FORBIDDEN);
}

// The audit log through the API: an administrator's token reads its own town's log, page by
// page with the cursor; an operator's token is refused, another town's token opens nothing,
// and a bad filter is a 422 naming the field.
#[tokio::test]
async fn the_audit_api_gives_an_administrators_token_its_own_towns_log_page_by_page() {
    let app = app().await;
    let s = login(&app, ADMIN).await;
    let token_of = |body: &str| secret_of(body);
    let admin_token = token_of(
        &post(&app, &s, "/demo/staff/tokens", &[("label", "SIEM"), ("role", "admin"), ("office", "")]).await.body,
    );
    let registry = office(&app, "Anagrafe").await.0.to_string();
    let operator_token = token_of(
        &post(&app, &s, "/demo/staff/tokens", &[("label", "Totem"), ("role", "operator"), ("office", &registry)])
            .await
            .body,
    );
    let api = |token: &str, uri: &str| {
        Request::get(uri).header(header::AUTHORIZATION, format!("Bearer {token}")).body(Body::empty()).unwrap()
    };

    let page = send(&app, api(&admin_token, "/api/v1/demo/audit?limit=2")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let first: Value = serde_json::from_str(&page.body).unwrap();
    let entries = first["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    // Newest first: the second token, then the first, both created by the signed-in admin.
    assert_eq!(entries[0]["act"], "token.create");
    assert_eq!(entries[0]["detail"], "Totem, operator");
    assert_eq!(entries[0]["actor_kind"], "staff");
    let next = first["next"].as_str().unwrap();
    let older = send(&app, api(&admin_token, &format!("/api/v1/demo/audit?limit=2&before={next}"))).await;
    let older: Value = serde_json::from_str(&older.body).unwrap();
    assert_eq!(older["entries"][0]["act"], "sign_in", "{older}");
    let only = send(&app, api(&admin_token, "/api/v1/demo/audit?act=sign_in")).await;
    let only: Value = serde_json::from_str(&only.body).unwrap();
    assert!(only["entries"].as_array().unwrap().iter().all(|e| e["act"] == "sign_in"));

    let operator = send(&app, api(&operator_token, "/api/v1/demo/audit")).await;
    assert_eq!(operator.status, StatusCode::FORBIDDEN, "{}", operator.body);
    let bad = send(&app, api(&admin_token, "/api/v1/demo/audit?act=nope&before=x&limit=0")).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    for field in ["\"act\"", "\"before\"", "\"limit\""] {
        assert!(bad.body.contains(field), "{field} in {}", bad.body);
    }

    // Another town: its own token opens only its own (empty) log, and this town's is closed to it.
    let other = altro_town(&app).await;
    app.store.create_user(other.id, "admin@altro.it", "Admin Altro", Role::Admin, &PASSWORD_HASH, &[]).await.unwrap();
    let b = login_to(&app, "altro", "admin@altro.it").await;
    let other_token = token_of(
        &post(&app, &b, "/altro/staff/tokens", &[("label", "Altro"), ("role", "admin"), ("office", "")]).await.body,
    );
    assert_eq!(send(&app, api(&other_token, "/api/v1/demo/audit")).await.status, StatusCode::UNAUTHORIZED);
    let theirs: Value = serde_json::from_str(&send(&app, api(&other_token, "/api/v1/altro/audit")).await.body).unwrap();
    assert!(
        theirs["entries"].as_array().unwrap().iter().all(|e| e["actor_name"] != "SIEM" && e["detail"] != "SIEM, admin")
    );
    assert!(!theirs.to_string().contains("esempio"), "{theirs}");
}

// ---- staffui: the hours grid, the intake questions builder, confirmation steps ----

async fn admin_of_altro(app: &App) -> (ricevo_store::Tenant, Session) {
    let other = altro_town(app).await;
    app.store.create_user(other.id, "admin@altro.it", "Admin Altro", Role::Admin, &PASSWORD_HASH, &[]).await.unwrap();
    let s = login_to(app, "altro", "admin@altro.it").await;
    (other, s)
}

fn ranges(rows: &[ricevo_store::RangeRow], weekday: i32) -> Vec<(i32, i32)> {
    let mut r: Vec<_> = rows.iter().filter(|r| r.weekday == weekday).map(|r| (r.start_minute, r.end_minute)).collect();
    r.sort_unstable();
    r
}

#[tokio::test]
async fn the_hours_grid_saves_several_ranges_a_day_copies_a_day_and_refuses_a_bad_range_by_day_and_field() {
    let app = app().await;
    let tributi = office(&app, "Tributi").await;
    let s = login(&app, ADMIN).await;
    let uri = format!("/demo/staff/offices/{}/hours", tributi.0);
    let week = [
        ("desks", "3"),
        ("d1_from1", "08:30"),
        ("d1_to1", "12:00"),
        ("d1_from2", "14:00"),
        ("d1_to2", "16:00"),
        ("d1_from3", "16:30"),
        ("d1_to3", "17:30"),
        ("d5_from1", "09:00"),
        ("d5_to1", "11:00"),
        // "Copy Monday to Wednesday and Thursday", ticked without a script.
        ("copy1", "3"),
        ("copy1", "4"),
    ];
    let saved = post(&app, &s, &uri, &week).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let rows = app.store.hours(app.tenant, tributi).await.unwrap();
    let monday = vec![(510, 720), (840, 960), (990, 1050)];
    assert_eq!(ranges(&rows, 1), monday, "three ranges on one day are all kept");
    assert_eq!((ranges(&rows, 3), ranges(&rows, 4)), (monday.clone(), monday.clone()));
    assert_eq!(ranges(&rows, 5), vec![(540, 660)]);
    assert!(ranges(&rows, 2).is_empty() && ranges(&rows, 6).is_empty());
    assert_eq!(rows.len(), 10);
    assert_eq!(app.store.office(app.tenant, tributi).await.unwrap().unwrap().desks, 3);

    // The page shows every stored range in its row, so saving it again loses nothing.
    let page = get(&app, &s, &format!("/demo/staff/offices/{}", tributi.0)).await;
    for (id, value) in [("f-d1_from3", "16:30"), ("f-d4_to3", "17:30"), ("f-d5_from1", "09:00")] {
        assert!(page.body.contains(&format!("id=\"{id}\" name=\"{}\" value=\"{value}\"", &id[2..])), "{id}");
    }
    assert!(page.body.contains("name=\"copy1\" value=\"2\""), "copy targets offered");
    assert!(page.body.contains("/static/staff.js?v="));

    // A range that ends before it starts: 422, the message names the day, the range and the
    // field, what was typed is shown again and nothing is saved.
    let bad = [
        ("desks", "3"),
        ("d1_from1", "08:30"),
        ("d1_to1", "12:00"),
        ("d1_from2", "15:00"),
        ("d1_to2", "14:00"),
        ("d6_from1", "09:00"),
        ("d6_to1", "10:00"),
    ];
    let refused = post(&app, &s, &uri, &bad).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("id=\"f-d1_to2-error\""), "{}", refused.body);
    assert!(
        refused.body.contains("Lunedì, fascia 2, chiusura: L&#39;orario di chiusura deve seguire"),
        "{}",
        refused.body
    );
    assert!(refused.body.contains("href=\"#f-d1_to2\""), "the summary links to the field");
    assert!(refused.body.contains("id=\"f-d6_from1\" name=\"d6_from1\" value=\"09:00\""), "typed values kept");
    assert_eq!(app.store.hours(app.tenant, tributi).await.unwrap(), rows, "nothing saved");

    // In English too.
    let english = post(&app, &s, &format!("{uri}?lang=en"), &bad).await;
    assert!(english.body.contains("Monday, range 2, closes: The closing time must come after"), "{}", english.body);

    // Without a script, "add a range" and "remove" show the edited grid again, unsaved.
    let mut add = week.to_vec();
    add.push(("add_range", "5"));
    let added = post(&app, &s, &uri, &add).await;
    assert_eq!(added.status, StatusCode::OK);
    assert!(added.body.contains("id=\"f-d5_from2\""), "a second row for Friday");
    assert!(added.body.contains("non ancora salvata"));
    let mut remove = week.to_vec();
    remove.push(("remove_range", "1-2"));
    let removed = post(&app, &s, &uri, &remove).await;
    assert_eq!(removed.status, StatusCode::OK);
    assert!(removed.body.contains("id=\"f-d1_from2\" name=\"d1_from2\" value=\"16:30\""), "rows renumbered");
    assert_eq!(app.store.hours(app.tenant, tributi).await.unwrap(), rows, "edits are not saves");
}

#[tokio::test]
async fn the_intake_builder_round_trips_every_question_type_and_refuses_bad_rows_by_question_and_field() {
    let app = app().await;
    let tributi = office(&app, "Tributi").await;
    let s = login(&app, ADMIN).await;
    let new = format!("/demo/staff/offices/{}/services/new", tributi.0);
    let form = |questions: &[(&'static str, &'static str)]| {
        let mut f = vec![
            ("name", "Rimborso"),
            ("duration", "20"),
            ("buffer", "5"),
            ("notice_hours", "24"),
            ("horizon_days", "60"),
            ("modes", "video"),
            ("active", "1"),
        ];
        f.extend_from_slice(questions);
        f
    };
    let questions = [
        ("q1_label", "Hai lo SPID?"),
        ("q1_type", "yes_no"),
        ("q1_required", "1"),
        ("q2_label", "Tipo di rimborso"),
        ("q2_type", "choice"),
        ("q2_options", "IMU\r\nTARI\r\n"),
        ("q3_label", "Numero dell'avviso"),
        ("q3_key", "avviso"),
        ("q3_type", "short_text"),
        // The blank row the page always offers is ignored.
        ("q4_label", ""),
        ("q4_key", ""),
        ("q4_type", "short_text"),
        ("q4_options", ""),
    ];
    let created = post(&app, &s, &new, &form(&questions)).await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    let service = app.store.services(app.tenant).await.unwrap().into_iter().find(|s| s.name == "Rimborso").unwrap();
    let stored = json!(service.questions);
    assert_eq!(
        stored,
        json!([
            {"key": "hai_lo_spid", "label": "Hai lo SPID?", "type": "yes_no", "required": true},
            {"key": "tipo_di_rimborso", "label": "Tipo di rimborso", "type": "choice", "options": ["IMU", "TARI"], "required": false},
            {"key": "avviso", "label": "Numero dell'avviso", "type": "short_text", "required": false},
        ])
    );

    // The edit page shows each question in its row (and a blank one); posting it back as it
    // is changes nothing.
    let edit = format!("/demo/staff/services/{}", service.id.0);
    let page = get(&app, &s, &edit).await;
    assert!(page.body.contains("name=\"q2_options\""), "{}", page.body);
    assert!(page.body.contains("IMU\nTARI</textarea>"), "{}", page.body);
    assert!(page.body.contains("<option value=\"choice\" selected>"));
    assert!(page.body.contains("id=\"f-q1_key\" name=\"q1_key\" value=\"hai_lo_spid\""));
    assert!(page.body.contains("id=\"f-q4_label\""), "a blank row to add one");
    assert!(!page.body.contains("JSON"), "nothing to type as JSON");
    let again = [
        ("q1_label", "Hai lo SPID?"),
        ("q1_key", "hai_lo_spid"),
        ("q1_type", "yes_no"),
        ("q1_required", "1"),
        ("q2_label", "Tipo di rimborso"),
        ("q2_key", "tipo_di_rimborso"),
        ("q2_type", "choice"),
        ("q2_options", "IMU\nTARI"),
        ("q3_label", "Numero dell'avviso"),
        ("q3_key", "avviso"),
        ("q3_type", "short_text"),
    ];
    assert_eq!(post(&app, &s, &edit, &form(&again)).await.status, StatusCode::SEE_OTHER);
    let reread = app.store.service(app.tenant, service.id).await.unwrap().unwrap();
    assert_eq!(json!(reread.questions), stored);

    // Moving a question without a script shows the new order, unsaved; saving keeps it.
    let mut up = form(&again);
    up.push(("q_up", "3"));
    let moved = post(&app, &s, &edit, &up).await;
    assert_eq!(moved.status, StatusCode::OK);
    assert!(
        moved.body.contains("id=\"f-q2_label\" name=\"q2_label\" value=\"Numero dell&#39;avviso\""),
        "{}",
        moved.body
    );
    assert_eq!(json!(app.store.service(app.tenant, service.id).await.unwrap().unwrap().questions), stored);

    // Bad rows: a choice without options, a repeated key; each named, nothing saved.
    let bad = [
        ("q1_label", "Hai lo SPID?"),
        ("q1_key", "avviso"),
        ("q1_type", "yes_no"),
        ("q2_label", "Tipo di rimborso"),
        ("q2_type", "choice"),
        ("q2_options", "  \n"),
        ("q3_label", "Numero dell'avviso"),
        ("q3_key", "avviso"),
        ("q3_type", "short_text"),
    ];
    let refused = post(&app, &s, &edit, &form(&bad)).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("id=\"f-q2_options-error\"") && refused.body.contains("Domanda 2, opzioni:"));
    assert!(refused.body.contains("id=\"f-q3_key-error\""), "{}", refused.body);
    assert!(refused.body.contains("Domanda 3, chiave: «avviso» è già la chiave della domanda 1."));
    assert!(refused.body.contains("href=\"#f-q2_options\""));
    assert_eq!(json!(app.store.service(app.tenant, service.id).await.unwrap().unwrap().questions), stored);
}

#[tokio::test]
async fn another_towns_admin_cannot_read_or_change_this_towns_hours_closures_or_questions() {
    let app = app().await;
    let tributi = office(&app, "Tributi").await;
    let a = login(&app, ADMIN).await;
    let closure = [("first_day", "2026-12-07"), ("last_day", "2026-12-08"), ("reason", "Ponte dell'Immacolata")];
    let added = post(&app, &a, &format!("/demo/staff/offices/{}/closures", tributi.0), &closure).await;
    assert_eq!(added.status, StatusCode::SEE_OTHER);
    let closures = app.store.closures(app.tenant, tributi).await.unwrap();
    let hours = app.store.hours(app.tenant, tributi).await.unwrap();
    let cie = service_id(&app, "Carta d'identità elettronica").await;
    let questions = json!(app.store.service(app.tenant, ricevo_core::ServiceId(cie)).await.unwrap().unwrap().questions);
    let (_, b) = admin_of_altro(&app).await;

    let office_page = format!("/altro/staff/offices/{}", tributi.0);
    let closure_uri = format!("{office_page}/closures/{}/delete", closures[0].id);
    let service_page = format!("/altro/staff/services/{cie}");
    for uri in [&office_page, &service_page] {
        let answer = get(&app, &b, uri).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{uri}");
        assert!(!answer.body.contains("Ponte") && !answer.body.contains("Tributi"), "{uri}");
    }
    let grid = [("desks", "9"), ("d7_from1", "09:00"), ("d7_to1", "10:00"), ("copy7", "1")];
    let changes: [(&str, &[(&str, &str)]); 5] = [
        (&format!("{office_page}/hours"), &grid),
        (&format!("{office_page}/hours"), &[("desks", "1"), ("add_range", "1")]),
        (&closure_uri, &[]),
        (&closure_uri, &[("confirm", "1")]),
        (&service_page, &[("name", "X"), ("q1_label", "Rubata?"), ("q1_type", "yes_no")]),
    ];
    for (uri, fields) in changes {
        let answer = post(&app, &b, uri, fields).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{uri} {fields:?}");
        assert!(!answer.body.contains("Ponte") && !answer.body.contains("Tributi"), "{uri}");
    }
    // And A's session does not open B's pages at all.
    assert_eq!(get(&app, &a, &office_page).await.status, StatusCode::SEE_OTHER);
    assert_eq!(app.store.hours(app.tenant, tributi).await.unwrap(), hours);
    assert_eq!(app.store.closures(app.tenant, tributi).await.unwrap(), closures);
    assert_eq!(
        json!(app.store.service(app.tenant, ricevo_core::ServiceId(cie)).await.unwrap().unwrap().questions),
        questions
    );
    assert_eq!(app.store.office(app.tenant, tributi).await.unwrap().unwrap().desks, 1);
}

#[tokio::test]
async fn removing_a_closure_deleting_a_webhook_revoking_a_token_and_disabling_an_account_ask_to_confirm_first() {
    let app = app().await;
    let tributi = office(&app, "Tributi").await;
    add_user(&app, "operatore@esempio.it", Role::Operator, &[tributi]).await;
    let operator =
        app.store.users(app.tenant).await.unwrap().into_iter().find(|u| u.email == "operatore@esempio.it").unwrap();
    let s = login(&app, ADMIN).await;
    let closure = [("first_day", "2026-12-24"), ("last_day", "2026-12-26"), ("reason", "Natale")];
    post(&app, &s, &format!("/demo/staff/offices/{}/closures", tributi.0), &closure).await;
    let c = app.store.closures(app.tenant, tributi).await.unwrap()[0].clone();
    post(&app, &s, "/demo/staff/webhooks", &[("url", "https://portale.esempio.it/hook")]).await;
    let hook = app.store.webhooks(app.tenant).await.unwrap()[0].id;
    post(&app, &s, "/demo/staff/tokens", &[("label", "Portale"), ("role", "admin"), ("office", "")]).await;
    let token = app.store.api_tokens(app.tenant).await.unwrap()[0].id;

    // The office page lists the closure in words, with its reason.
    let page = get(&app, &s, &format!("/demo/staff/offices/{}", tributi.0)).await;
    assert!(page.body.contains("da giovedì 24 dicembre 2026 a sabato 26 dicembre 2026"), "{}", page.body);
    assert!(page.body.contains("Natale"));

    let steps = [
        (
            format!("/demo/staff/offices/{}/closures/{}/delete", tributi.0, c.id),
            "Rimuovere la chiusura di Tributi (da giovedì 24 dicembre 2026",
        ),
        (format!("/demo/staff/webhooks/{hook}/delete"), "Eliminare il webhook https://portale.esempio.it/hook?"),
        (format!("/demo/staff/tokens/{token}/revoke"), "Revocare il token «Portale»?"),
        (format!("/demo/staff/users/{}/disable", operator.id.0), "Disattivare l&#39;account di Persona di prova"),
        (format!("/demo/staff/users/{}/second-factor/reset", operator.id.0), "Azzerare la verifica in due passaggi"),
    ];
    for (uri, question) in &steps {
        let asked = post(&app, &s, uri, &[]).await;
        assert_eq!(asked.status, StatusCode::OK, "{uri}");
        assert!(asked.body.contains(question), "{uri}: {}", asked.body);
        assert!(
            asked.body.contains(&format!("action=\"{uri}\"")) && asked.body.contains("name=\"confirm\" value=\"1\"")
        );
    }
    // Nothing happened yet.
    assert_eq!(app.store.closures(app.tenant, tributi).await.unwrap().len(), 1);
    assert_eq!(app.store.webhooks(app.tenant).await.unwrap().len(), 1);
    assert!(app.store.api_tokens(app.tenant).await.unwrap()[0].revoked_at.is_none());
    assert!(!app.store.user(app.tenant, operator.id).await.unwrap().unwrap().disabled);
    // Confirmed, each happens.
    for (uri, _) in &steps[..4] {
        assert_eq!(post(&app, &s, uri, &[("confirm", "1")]).await.status, StatusCode::SEE_OTHER, "{uri}");
    }
    assert!(app.store.closures(app.tenant, tributi).await.unwrap().is_empty());
    assert!(app.store.webhooks(app.tenant).await.unwrap().is_empty());
    assert!(app.store.api_tokens(app.tenant).await.unwrap()[0].revoked_at.is_some());
    assert!(app.store.user(app.tenant, operator.id).await.unwrap().unwrap().disabled);
    // A revoked token has nothing left to confirm.
    assert_eq!(post(&app, &s, &steps[2].0, &[]).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn staff_tables_write_dates_the_italian_way() {
    let app = app().await;
    book(&app, "Cambio di residenza", "09:00", "Maria Rossi").await;
    let s = login(&app, ADMIN).await;
    let found = get(&app, &s, "/demo/staff/search?q=Rossi").await;
    assert!(found.body.contains("mer 25 nov 2026, 09:00"), "{}", found.body);
    let day = get(&app, &s, &format!("/demo/staff?date={DAY}")).await;
    assert!(day.body.contains("Mercoledì 25 novembre 2026"), "{}", day.body);
    let audit = get(&app, &s, "/demo/staff/audit").await;
    assert!(audit.body.contains(" nov 2026, "), "{}", audit.body);
    let english = get(&app, &s, "/demo/staff/search?q=Rossi&lang=en").await;
    assert!(english.body.contains("Wed 25 Nov 2026, 09:00"), "{}", english.body);
}

// ---- desk: the official's waiting room opens where people wait, with counts on the tabs ----

#[tokio::test]
async fn the_desk_opens_on_the_office_where_people_wait_and_counts_them_on_its_tabs() {
    let app = app().await;
    let s = login(&app, ADMIN).await;
    let anagrafe = office(&app, "Anagrafe").await;
    let urp = office(&app, "URP – Ufficio Relazioni con il Pubblico").await;

    // Nobody waits: the first office in the town's order.
    let empty = get(&app, &s, "/demo/staff/desk").await;
    assert_eq!(empty.status, StatusCode::SEE_OTHER);
    assert_eq!(empty.headers[header::LOCATION], format!("/demo/staff/desk/{}", anagrafe.0));

    // Two people wait at the URP, the last office in that order: the desk opens there.
    for name in ["Anna Neri", "Bruno Gialli"] {
        let take = Request::post(format!("/api/v1/demo/offices/{}/tickets", urp.0))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(json!({ "name": name }).to_string()))
            .unwrap();
        assert_eq!(send(&app, take).await.status, StatusCode::CREATED);
    }
    let busy = get(&app, &s, "/demo/staff/desk").await;
    assert_eq!(busy.headers[header::LOCATION], format!("/demo/staff/desk/{}", urp.0));

    let page = get(&app, &s, &format!("/demo/staff/desk/{}", urp.0)).await;
    assert_eq!(page.status, StatusCode::OK);
    let body = &page.body;
    assert!(
        body.contains(&format!("href=\"/demo/staff/desk/{}\" aria-current=\"page\"", urp.0)),
        "the current tab is marked: {body}"
    );
    assert!(!body.contains(&format!("href=\"/demo/staff/desk/{}\" aria-current", anagrafe.0)));
    assert!(
        body.contains(&format!("data-count-for=\"{}\">2</span><span class=\"sr-only\"> in attesa", urp.0)),
        "{body}"
    );
    assert!(body.contains(&format!("data-count-for=\"{}\">0</span>", anagrafe.0)), "{body}");
    // One "Fai entrare" per person, the rest behind a menu that works without JavaScript, and
    // every meeting opens in the one reused tab.
    assert_eq!(body.matches("<details class=\"row-menu\"").count(), 2);
    assert_eq!(body.matches(">Fai entrare<span class=\"sr-only\">").count(), 2);
    let menu = between(body, "<details class=\"row-menu\"", "</details>");
    for action in ["/hold\"", "/refuse\"", "/transfer\"", "/no-show\""] {
        assert!(menu.contains(action), "{action} is in the menu: {menu}");
    }
    assert!(!body.contains("target=\"_blank\""), "no new tab per admission");
    assert_eq!(body.matches("target=\"ricevo-meeting\"").count(), 3, "call next and each admission");

    // In English too.
    let english = get(&app, &s, &format!("/demo/staff/desk/{}?lang=en", urp.0)).await;
    assert!(english.body.contains("<span class=\"sr-only\"> waiting</span>"), "{}", english.body);
    assert!(english.body.contains(">More actions<"));
}

#[tokio::test]
async fn staff_of_another_town_see_no_counts_and_cannot_act_at_this_towns_desk() {
    let app = app().await;
    let urp = office(&app, "URP – Ufficio Relazioni con il Pubblico").await;
    take_ticket(&app, urp, "Anna Neri").await;
    let anna = app.store.office_entries(app.tenant, urp).await.unwrap()[0].id.0;
    let other = altro_town(&app).await;
    let own = app
        .store
        .create_office(
            other.id,
            &NewOffice {
                name: "Segreteria".into(),
                description: String::new(),
                address: String::new(),
                contact_email: "segreteria@altro.it".into(),
            },
        )
        .await
        .unwrap();
    app.store.create_user(other.id, "admin@altro.it", "Admin Altro", Role::Admin, &PASSWORD_HASH, &[]).await.unwrap();
    let b = login_to(&app, "altro", "admin@altro.it").await;

    // B's desk lists B's offices only, with B's counts.
    let first = get(&app, &b, "/altro/staff/desk").await;
    assert_eq!(first.headers[header::LOCATION], format!("/altro/staff/desk/{}", own.id.0));
    let page = get(&app, &b, &format!("/altro/staff/desk/{}", own.id.0)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.body.contains("Anna Neri") && !page.body.contains(&format!("data-count-for=\"{}\"", urp.0)));
    // A's office through B's town, A's events, A's entry: nothing.
    for uri in [format!("/altro/staff/desk/{}", urp.0), format!("/altro/staff/desk/{}/events", urp.0)] {
        let answer = get(&app, &b, &uri).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{uri}: {}", answer.body);
        assert!(!answer.body.contains("Anna Neri"));
    }
    for action in ["admit", "hold", "refuse", "no-show"] {
        let answer = post(&app, &b, &format!("/altro/staff/waiting/{anna}/{action}"), &[("message", "x")]).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{action}: {}", answer.body);
    }
    let moved =
        post(&app, &b, &format!("/altro/staff/waiting/{anna}/transfer"), &[("office_id", &own.id.0.to_string())]).await;
    assert_eq!(moved.status, StatusCode::NOT_FOUND, "{}", moved.body);
    // A's own URLs with B's session go back to A's login.
    let answer = get(&app, &b, &format!("/demo/staff/desk/{}", urp.0)).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    let stored = app.store.entry(app.tenant, ricevo_core::EntryId(anna)).await.unwrap().unwrap();
    assert_eq!(stored.status, ricevo_core::lobby::EntryStatus::Waiting, "Anna still waits at A's URP");
    assert_eq!(stored.office_id, urp);
}

// ---- channels ----
// A town's administrator configures its channels; keys are never shown back, bad values get
// a worded refusal, and another town's administrator neither reads nor changes them.
#[tokio::test]
async fn an_admin_sets_the_towns_channels_and_another_town_cannot_read_or_change_them() {
    let app = app().await;
    let a = login(&app, ADMIN).await;
    let form = |key: &'static str, url: &'static str| {
        vec![
            ("rank_sms", "1"),
            ("rank_app_io", "2"),
            ("rank_email", "3"),
            ("rank_telegram", "4"),
            ("app_io_enabled", "on"),
            ("app_io_key", key),
            ("sms_enabled", "on"),
            ("sms_url", url),
            ("sms_method", "post_json"),
            ("sms_username", "comune"),
            ("sms_password", "pw-segreta-123"),
            ("sms_to_field", "to"),
            ("sms_text_field", "text"),
            ("sms_sender_field", "from"),
            ("sms_sender", "Comune"),
            ("telegram_bot_token", ""),
        ]
    };
    let refused = post(&app, &a, "/demo/staff/channels", &form("k3y", "ftp://gateway")).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    assert!(refused.body.contains("deve iniziare con https://"), "{}", refused.body);
    let saved =
        post(&app, &a, "/demo/staff/channels", &form("ChiaveDelServizio0123", "https://sms.example.it/send")).await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    let stored = app.store.town_channels(app.tenant).await.unwrap().unwrap();
    assert_eq!(stored.app_io_key.as_deref(), Some("ChiaveDelServizio0123"));
    assert_eq!(stored.order[0], ricevo_core::channel::Channel::Sms);
    let page = get(&app, &a, "/demo/staff/channels").await;
    assert!(!page.body.contains("ChiaveDelServizio0123") && !page.body.contains("pw-segreta-123"), "never shown back");
    assert!(page.body.contains("0123"), "the last characters say which key is stored");
    assert!(page.body.contains("/demo/staff/channels"), "linked from the staff navigation");

    let other = altro_town(&app).await;
    app.store.create_user(other.id, "admin@altro.it", "Admin Altro", Role::Admin, &PASSWORD_HASH, &[]).await.unwrap();
    let b = login_to(&app, "altro", "admin@altro.it").await;
    let theirs = get(&app, &b, "/altro/staff/channels").await;
    assert_eq!(theirs.status, StatusCode::OK);
    assert!(!theirs.body.contains("sms.example.it") && !theirs.body.contains("0123"), "{}", theirs.body);
    // B's session on A's page: sent to a login, never A's settings.
    let other = get(&app, &b, "/demo/staff/channels").await;
    assert!(other.status == StatusCode::SEE_OTHER || other.status.is_client_error(), "{}", other.status);
    assert!(!other.body.contains("sms.example.it"));
    let change = post(&app, &b, "/demo/staff/channels", &form("AltraChiave999", "https://evil.example/send")).await;
    assert!(change.status == StatusCode::SEE_OTHER || change.status.is_client_error(), "{}", change.status);
    assert_eq!(app.store.town_channels(app.tenant).await.unwrap().unwrap(), stored, "a's settings unchanged");
}
// ---- end channels ----
