//! Staff accounts, the second factor, API tokens, the town's settings and a suspended town,
//! through the real router on a real SQLite store: a real sign-in with a TOTP code, a replay
//! refused, a recovery code once, a disabled account thrown out at once, and a second town
//! that can neither see nor change any of it.

#![allow(clippy::unwrap_used)]

use std::sync::atomic::Ordering;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use jiff::Timestamp;
use ricevo_core::TenantId;
use ricevo_desk::second_factor::{code_at, decode_secret, step_of};
use ricevo_store::Role;

use crate::support;

use support::*;

async fn add_user(app: &App, tenant: TenantId, email: &str, role: Role) -> ricevo_core::UserId {
    app.store.create_user(tenant, email, "Persona di prova", role, &PASSWORD_HASH, &[]).await.unwrap().id
}

async fn second_town(app: &App) -> TenantId {
    let t = altro_town(app).await;
    add_user(app, t.id, "admin@altro.it", Role::Admin).await;
    t.id
}

fn now(app: &App) -> Timestamp {
    Timestamp::from_second(app.clock.load(Ordering::SeqCst)).unwrap()
}

fn later(app: &App, seconds: i64) {
    app.clock.fetch_add(seconds, Ordering::SeqCst);
}

// Sends the second step of signing in with the pending cookie of `first`.
async fn send_code(app: &App, first: &Answer, code: &str) -> Answer {
    let pending = cookie_value(set_cookie(&first.headers, "ricevo_pending").unwrap());
    let req = Request::post("/demo/staff/login/code")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, format!("ricevo_pending={pending}"))
        .body(Body::from(form_body(&[("code", code)])))
        .unwrap();
    send(app, req).await
}

#[tokio::test]
async fn signing_in_with_a_second_factor_asks_for_the_code_refuses_a_replay_and_takes_a_recovery_code_once() {
    let app = app().await;
    let s = login(&app, ADMIN).await;
    let page = get(&app, &s, "/demo/staff/account/second-factor").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("<svg") && page.body.contains("otpauth://totp/"), "{}", page.body);
    let secret_text = hidden(&page.body, "secret");
    let secret = decode_secret(&secret_text).unwrap();

    let wrong = post(&app, &s, "/demo/staff/account/second-factor", &[("secret", &secret_text), ("code", "12")]).await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", wrong.body);
    assert!(wrong.body.contains("Codice non valido"), "{}", wrong.body);
    let code = code_at(&secret, step_of(now(&app)), 6);
    let done = post(&app, &s, "/demo/staff/account/second-factor", &[("secret", &secret_text), ("code", &code)]).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    let recovery = secret_of(&done.body);
    assert_eq!(recovery.len(), 11, "{recovery}");

    // The password alone now opens a pending session only: no page.
    let first = try_login(&app, "demo", ADMIN, PASSWORD).await;
    assert_eq!(first.status, StatusCode::SEE_OTHER, "{}", first.body);
    assert_eq!(first.headers[header::LOCATION], "/demo/staff/login/code");
    assert!(set_cookie(&first.headers, "ricevo_session").is_none());
    let pending = cookie_value(set_cookie(&first.headers, "ricevo_pending").unwrap());
    let sneaky = Session { cookie: format!("ricevo_session={pending}"), csrf: String::new() };
    assert_eq!(
        get(&app, &sneaky, "/demo/staff").await.status,
        StatusCode::SEE_OTHER,
        "a pending session is no session"
    );

    // The code that confirmed the enrolment was spent; the next step's code opens the session.
    let replay = send_code(&app, &first, &code).await;
    assert_eq!(replay.status, StatusCode::UNAUTHORIZED, "{}", replay.body);
    assert!(replay.body.contains("già usato"), "{}", replay.body);
    later(&app, 30);
    let next = code_at(&secret, step_of(now(&app)), 6);
    let opened = send_code(&app, &first, &next).await;
    assert_eq!(opened.status, StatusCode::SEE_OTHER, "{}", opened.body);
    assert_eq!(opened.headers[header::LOCATION], "/demo/staff");
    let session = cookie_value(set_cookie(&opened.headers, "ricevo_session").unwrap());
    let signed = Session { cookie: format!("ricevo_session={session}"), csrf: String::new() };
    assert_eq!(get(&app, &signed, "/demo/staff").await.status, StatusCode::OK);

    // Signing in again within the same step: the same code is a replay.
    let again = try_login(&app, "demo", ADMIN, PASSWORD).await;
    assert_eq!(send_code(&app, &again, &next).await.status, StatusCode::UNAUTHORIZED);
    // A recovery code works instead, once.
    let with_recovery = send_code(&app, &again, &recovery).await;
    assert_eq!(with_recovery.status, StatusCode::SEE_OTHER, "{}", with_recovery.body);
    let third = try_login(&app, "demo", ADMIN, PASSWORD).await;
    assert_eq!(send_code(&app, &third, &recovery).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_disabled_account_is_thrown_out_at_once_and_the_last_administrator_stays() {
    let app = app().await;
    let altro = second_town(&app).await;
    let operator = add_user(&app, app.tenant, "operatore@esempio.it", Role::Operator).await;
    let admin = login(&app, ADMIN).await;
    let op = login(&app, "operatore@esempio.it").await;
    assert_eq!(get(&app, &op, "/demo/staff").await.status, StatusCode::OK);

    let users = get(&app, &admin, "/demo/staff/users").await;
    assert!(users.body.contains(&format!("/demo/staff/users/{}", operator.0)), "{}", users.body);
    let disabled = post(&app, &admin, &format!("/demo/staff/users/{}/disable", operator.0), &[("confirm", "1")]).await;
    assert_eq!(disabled.status, StatusCode::SEE_OTHER, "{}", disabled.body);
    assert_eq!(get(&app, &op, "/demo/staff").await.status, StatusCode::SEE_OTHER, "signed out at once");
    let refused = try_login(&app, "demo", "operatore@esempio.it", PASSWORD).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(refused.body.contains("account è disattivato"), "{}", refused.body);
    assert!(set_cookie(&refused.headers, "ricevo_session").is_none());
    post(&app, &admin, &format!("/demo/staff/users/{}/enable", operator.0), &[]).await;
    assert_eq!(try_login(&app, "demo", "operatore@esempio.it", PASSWORD).await.status, StatusCode::SEE_OTHER);

    // The only administrator can neither demote nor disable themself.
    let me = app.store.user_by_email(app.tenant, ADMIN).await.unwrap().unwrap().id;
    let demote = post(
        &app,
        &admin,
        &format!("/demo/staff/users/{}", me.0),
        &[("name", "Capo"), ("email", ADMIN), ("role", "operator"), ("offices", "1")],
    )
    .await;
    assert_eq!(demote.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", demote.body);
    assert!(demote.body.contains("senza un amministratore attivo"), "{}", demote.body);
    let alone = post(&app, &admin, &format!("/demo/staff/users/{}/disable", me.0), &[("confirm", "1")]).await;
    assert!(alone.body.contains("senza un amministratore attivo"), "{}", alone.body);
    assert!(!app.store.user(app.tenant, me).await.unwrap().unwrap().disabled);

    // The other town's administrator reaches none of it.
    let other = login_to(&app, "altro", "admin@altro.it").await;
    assert_eq!(get(&app, &other, &format!("/altro/staff/users/{}", operator.0)).await.status, StatusCode::NOT_FOUND);
    let cross = post(&app, &other, &format!("/altro/staff/users/{}/disable", operator.0), &[("confirm", "1")]).await;
    assert_eq!(cross.status, StatusCode::NOT_FOUND);
    assert_eq!(get(&app, &other, &format!("/demo/staff/users/{}", operator.0)).await.status, StatusCode::SEE_OTHER);
    assert!(!app.store.user(app.tenant, operator).await.unwrap().unwrap().disabled);
    let _ = altro;
}

#[tokio::test]
async fn own_password_change_needs_the_current_password_and_signs_out() {
    let app = app().await;
    let s = login(&app, ADMIN).await;
    let bad =
        post(&app, &s, "/demo/staff/account/password", &[("current_password", "sbagliata"), ("new_password", "corta")])
            .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("La password attuale non è corretta.") && bad.body.contains("almeno 12"), "{}", bad.body);
    let ok = post(
        &app,
        &s,
        "/demo/staff/account/password",
        &[("current_password", PASSWORD), ("new_password", "un'altra password lunga")],
    )
    .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    assert_eq!(get(&app, &s, "/demo/staff").await.status, StatusCode::SEE_OTHER);
    assert_eq!(try_login(&app, "demo", ADMIN, "un'altra password lunga").await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn tokens_are_listed_with_their_last_use_and_a_revoked_one_is_refused_at_once() {
    let app = app().await;
    second_town(&app).await;
    let s = login(&app, ADMIN).await;
    let created =
        post(&app, &s, "/demo/staff/tokens", &[("label", "Portale"), ("role", "admin"), ("office", "")]).await;
    let token = secret_of(&created.body);
    let api = |t: &str| {
        Request::get("/api/v1/demo/offices")
            .header(header::AUTHORIZATION, format!("Bearer {t}"))
            .body(Body::empty())
            .unwrap()
    };
    let list = get(&app, &s, "/demo/staff/tokens").await;
    assert!(list.body.contains("Portale") && list.body.contains("mai"), "{}", list.body);
    assert!(!list.body.contains(&token), "the secret is shown once only");
    let used = send(&app, api(&token)).await;
    assert!(used.status.is_success() || used.status == StatusCode::NOT_FOUND, "{} {}", used.status, used.body);
    let id = app.store.api_tokens(app.tenant).await.unwrap()[0].id;
    assert!(app.store.api_tokens(app.tenant).await.unwrap()[0].last_used_at.is_some());

    // The other town cannot revoke it.
    let other = login_to(&app, "altro", "admin@altro.it").await;
    assert_eq!(
        post(&app, &other, &format!("/altro/staff/tokens/{id}/revoke"), &[]).await.status,
        StatusCode::NOT_FOUND
    );
    assert!(!get(&app, &other, "/altro/staff/tokens").await.body.contains("Portale"));
    let revoked = post(&app, &s, &format!("/demo/staff/tokens/{id}/revoke"), &[("confirm", "1")]).await;
    assert_eq!(revoked.status, StatusCode::SEE_OTHER);
    assert_eq!(send(&app, api(&token)).await.status, StatusCode::UNAUTHORIZED);
    assert!(get(&app, &s, "/demo/staff/tokens").await.body.contains("Revocato"));
}

#[tokio::test]
async fn the_settings_page_refuses_bad_values_in_the_users_language_and_saves_good_ones() {
    let app = app().await;
    second_town(&app).await;
    let s = login(&app, ADMIN).await;
    let page = get(&app, &s, "/demo/staff/settings").await;
    assert_eq!(page.status, StatusCode::OK);
    let good = [
        ("name", "Comune di Esempio"),
        ("website", "https://www.comune.esempio.it"),
        ("address", "Piazza Grande 1"),
        ("pec", "protocollo@pec.esempio.it"),
        ("contact_email", "urp@esempio.it"),
        ("time_zone", "Europe/Rome"),
        ("patron_day", "06-24"),
        ("retention_days", "365"),
        ("privacy_controller", "Comune di Esempio"),
        ("privacy_dpo_contact", "dpo@esempio.it"),
        ("privacy_legal_basis", "Art. 6.1.e GDPR"),
        ("accessibility_statement_url", ""),
        ("accessibility_statement_text", "Conforme in parte."),
        ("languages", "it"),
    ];
    let mut bad = good.to_vec();
    bad[1] = ("website", "javascript:alert(1)");
    bad[6] = ("patron_day", "13-40");
    bad[7] = ("retention_days", "mille");
    let refused = post(&app, &s, "/demo/staff/settings?lang=en", &bad).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    for m in ["Invalid website", "MM-DD", "between 1 and 3650"] {
        assert!(refused.body.contains(m), "{m}: {}", refused.body);
    }
    let saved = post(&app, &s, "/demo/staff/settings", &good).await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    assert!(saved.body.contains("Impostazioni salvate."));
    let t = app.store.tenant_by_slug("demo").await.unwrap().unwrap();
    assert_eq!((t.pec.as_str(), t.languages.len()), ("protocollo@pec.esempio.it", 1));
    assert_eq!(app.store.tenant_by_slug("altro").await.unwrap().unwrap().pec, "", "the other town is untouched");
    // Operators do not see it; the other town's administrator gets their own town's settings only.
    add_user(&app, app.tenant, "operatore@esempio.it", Role::Operator).await;
    let op = login(&app, "operatore@esempio.it").await;
    assert_eq!(get(&app, &op, "/demo/staff/settings").await.status, StatusCode::FORBIDDEN);
    let other = login_to(&app, "altro", "admin@altro.it").await;
    assert!(!get(&app, &other, "/altro/staff/settings").await.body.contains("protocollo@pec.esempio.it"));
    assert_eq!(post(&app, &other, "/demo/staff/settings", &good).await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_suspended_town_answers_service_suspended_on_every_channel_and_comes_back_whole() {
    let app = app().await;
    second_town(&app).await;
    let s = login(&app, ADMIN).await;
    app.state.desk.set_town_disabled("demo", true).await.unwrap();
    let citizen = send(&app, Request::get("/demo").header("accept-language", "en").body(Body::empty()).unwrap()).await;
    assert_eq!(citizen.status, StatusCode::SERVICE_UNAVAILABLE, "{}", citizen.body);
    assert!(citizen.body.contains("Service suspended"), "{}", citizen.body);
    let api = send(&app, Request::get("/api/v1/demo/services").body(Body::empty()).unwrap()).await;
    assert_eq!(api.status, StatusCode::SERVICE_UNAVAILABLE, "{}", api.body);
    assert!(api.body.contains("town_suspended") && api.body.contains("Servizio sospeso"), "{}", api.body);
    let staff = get(&app, &s, "/demo/staff").await;
    assert_eq!(staff.status, StatusCode::SERVICE_UNAVAILABLE);
    let sign_in = send(&app, Request::get("/demo/staff/login").body(Body::empty()).unwrap()).await;
    assert_eq!(sign_in.status, StatusCode::SERVICE_UNAVAILABLE);
    let booking = Request::post("/api/v1/demo/appointments")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{}"))
        .unwrap();
    assert_eq!(send(&app, booking).await.status, StatusCode::SERVICE_UNAVAILABLE, "no booking accepted");
    // The other town carries on.
    assert_eq!(send(&app, Request::get("/altro").body(Body::empty()).unwrap()).await.status, StatusCode::OK);

    app.state.desk.set_town_disabled("demo", false).await.unwrap();
    assert_eq!(get(&app, &s, "/demo/staff").await.status, StatusCode::OK, "the session survived");
    assert_eq!(send(&app, Request::get("/demo").body(Body::empty()).unwrap()).await.status, StatusCode::OK);
}

async fn upload(app: &App, s: &Session, slug: &str, bytes: &[u8]) -> Answer {
    let boundary = "XyZ0123boundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"emblem\"; filename=\"stemma\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let req = Request::post(format!("/{slug}/staff/settings/emblem?csrf={}", s.csrf))
        .header(header::CONTENT_TYPE, format!("multipart/form-data; boundary={boundary}"))
        .header(header::COOKIE, &s.cookie)
        .body(Body::from(body))
        .unwrap();
    send(app, req).await
}

#[tokio::test]
async fn an_uploaded_emblem_is_sniffed_served_from_our_origin_and_shown_in_the_towns_header() {
    let app = app().await;
    second_town(&app).await;
    let s = login(&app, ADMIN).await;
    let svg = br##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><circle cx="5" cy="5" r="4" fill="#06c"/></svg>"##;
    let evil = br#"<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><circle r="4"/></svg>"#;
    let refused = upload(&app, &s, "demo", evil).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    assert!(refused.body.contains("senza script"), "{}", refused.body);
    let forged = Session { cookie: s.cookie.clone(), csrf: "forged".into() };
    assert_eq!(upload(&app, &forged, "demo", svg).await.status, StatusCode::FORBIDDEN);

    assert_eq!(upload(&app, &s, "demo", svg).await.status, StatusCode::SEE_OTHER);
    let served = send(&app, Request::get("/demo/emblem").body(Body::empty()).unwrap()).await;
    assert_eq!(served.status, StatusCode::OK);
    assert_eq!(served.headers[header::CONTENT_TYPE], "image/svg+xml");
    assert!(served.headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap().contains("sandbox"));
    assert_eq!(served.body.as_bytes(), svg);
    let town = send(&app, Request::get("/demo").body(Body::empty()).unwrap()).await;
    assert!(town.body.contains("<img class=\"emblem\" src=\"/demo/emblem\""), "{}", town.body);

    // The other town has none, and its administrator cannot upload one into this town.
    assert_eq!(
        send(&app, Request::get("/altro/emblem").body(Body::empty()).unwrap()).await.status,
        StatusCode::NOT_FOUND
    );
    assert!(!send(&app, Request::get("/altro").body(Body::empty()).unwrap()).await.body.contains("emblem"));
    let other = login_to(&app, "altro", "admin@altro.it").await;
    assert_eq!(
        upload(&app, &other, "demo", b"\x89PNG\r\n\x1a\nx").await.status,
        StatusCode::SEE_OTHER,
        "to the sign-in"
    );
    let still = send(&app, Request::get("/demo/emblem").body(Body::empty()).unwrap()).await;
    assert_eq!(still.body.as_bytes(), svg);
}
