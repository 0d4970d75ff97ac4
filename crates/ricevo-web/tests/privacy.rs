//! A citizen's data on request (GDPR) in the staff pages and the API, and the privacy notice and
//! accessibility statement of the citizen pages: through the real router on a real SQLite store.

#![allow(clippy::unwrap_used)]

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use jiff::Timestamp;
use ricevo_core::lobby::{Abilities, EntryKind};
use ricevo_core::{OfficeId, TenantId};
use ricevo_store::{NewEntry, NewOffice, Role};
use serde_json::{Value, json};

mod support;

use support::*;

const MARIA: &str = "maria.rossi@example.it";

/// A second town, "altro", with an administrator, an office and Maria's walk-in ticket there.
async fn other_town(app: &App) -> TenantId {
    let other = altro_town(app).await;
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
        phone: None,
        telegram_chat_id: None,
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
