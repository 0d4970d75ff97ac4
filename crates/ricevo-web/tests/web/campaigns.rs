//! Survey campaigns through the real router: the contact import (preview, refused lines,
//! hostile files), campaigns started, paused and finished, the personal link's questionnaire
//! answered once, the unsubscribe honoured at once, and a second town that sees none of it.

#![allow(clippy::unwrap_used)]

use crate::support;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use ricevo_core::survey::{Questionnaire, SurveyChannel, SurveyKind, SurveyStatus};
use ricevo_store::{NewQuestionnaire, ResponseFilter, Role};
use support::*;

const BOUNDARY: &str = "XcampaignsX";

fn multipart(file: &[u8], action: &str) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(
        format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"action\"\r\n\r\n{action}\r\n").as_bytes(),
    );
    body.extend_from_slice(
        format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"c.csv\"\r\nContent-Type: text/csv\r\n\r\n")
            .as_bytes(),
    );
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    body
}

async fn upload(app: &App, s: &Session, slug: &str, csrf: &str, file: &[u8], action: &str) -> Answer {
    let req = Request::post(format!("/{slug}/staff/contacts?csrf={csrf}"))
        .header(header::CONTENT_TYPE, format!("multipart/form-data; boundary={BOUNDARY}"))
        .header(header::COOKIE, &s.cookie)
        .body(Body::from(multipart(file, action)))
        .unwrap();
    send(app, req).await
}

async fn altro_admin(app: &App) -> Session {
    let altro = altro_town(app).await;
    app.store.create_user(altro.id, "admin@altro.it", "Admin Altro", Role::Admin, &PASSWORD_HASH, &[]).await.unwrap();
    login_to(app, "altro", "admin@altro.it").await
}

async fn open_questionnaire(app: &App) -> i64 {
    let now = app.state.now();
    let q = app
        .store
        .create_questionnaire(
            app.tenant,
            &NewQuestionnaire {
                title: "Servizi online".into(),
                kind: SurveyKind::Survey,
                office_id: None,
                service_id: None,
                definition: Questionnaire::feedback_default(),
            },
            now,
        )
        .await
        .unwrap();
    app.store.set_questionnaire_status(app.tenant, q.id, SurveyStatus::Open, now).await.unwrap();
    q.id.0
}

/// The personal tokens of the messages waiting in the outbox, by address.
async fn tokens(app: &App) -> Vec<(String, String)> {
    let due = app.store.due_outbox(app.state.now(), 1000).await.unwrap();
    due.iter()
        .filter_map(|m| match ricevo_notify::Outgoing::from_payload(&m.payload).unwrap() {
            ricevo_notify::Outgoing::Survey { survey, .. } => {
                Some((survey.email.clone(), survey.answer_url.rsplit('/').next().unwrap().to_owned()))
            }
            _ => None,
        })
        .collect()
}

async fn citizen_get(app: &App, uri: &str) -> (Answer, String) {
    let a = send(app, Request::get(uri).body(Body::empty()).unwrap()).await;
    let csrf = set_cookie(&a.headers, "ricevo_csrf").map(cookie_value).unwrap_or_default();
    (a, csrf)
}

async fn citizen_post(app: &App, uri: &str, cookie: &str, pairs: &[(&str, &str)]) -> Answer {
    let mut all = vec![("csrf", cookie)];
    all.extend_from_slice(pairs);
    let req = Request::post(uri)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, format!("ricevo_csrf={cookie}"))
        .body(Body::from(form_body(&all)))
        .unwrap();
    send(app, req).await
}

const LIST: &str = "\u{feff}Nome;E-mail;Data consenso;Lingua\r\n\
    Maria Rossi;maria@example.org;01/03/2024;it\r\n\
    <script>alert(1)</script>;john@example.org;2024-03-02;en\r\n\
    Senza consenso;nocons@example.org;;it\r\n\
    Indirizzo rotto;not-an-address;01/03/2024;it\r\n\
    Doppio;MARIA@example.org;01/03/2024;it\r\n\
    Luca Bianchi;luca@example.org;02/03/2024;it\r\n";

#[tokio::test]
async fn contacts_are_previewed_with_every_refused_line_then_imported_and_no_other_town_sees_them() {
    let app = app().await;
    let admin = login(&app, ADMIN).await;
    let altro = altro_admin(&app).await;

    let page = get(&app, &admin, "/demo/staff/contacts").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("enctype=\"multipart/form-data\""));

    let preview = upload(&app, &admin, "demo", &admin.csrf, LIST.as_bytes(), "preview").await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.body);
    assert!(preview.body.contains("Anteprima: niente è stato ancora salvato"), "{}", preview.body);
    for needle in [
        "<td>4</td><td>manca la data del consenso</td>",
        "<td>5</td><td>indirizzo e-mail mancante o non valido</td>",
        "<td>6</td><td>indirizzo già presente alla riga 2</td>",
    ] {
        assert!(preview.body.contains(needle), "missing {needle} in {}", preview.body);
    }
    assert_eq!(app.store.contact_counts(app.tenant).await.unwrap().total, 0, "a preview stores nothing");

    let forged = upload(&app, &admin, "demo", "forged", LIST.as_bytes(), "import").await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let cross = upload(&app, &altro, "demo", &altro.csrf, LIST.as_bytes(), "import").await;
    assert_eq!(cross.status, StatusCode::SEE_OTHER, "another town's session is no session here");

    let done = upload(&app, &admin, "demo", &admin.csrf, LIST.as_bytes(), "import").await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert!(done.body.contains("Importazione fatta"));
    assert!(!done.body.contains("<script>alert(1)</script>"), "markup in a name is escaped");
    assert!(
        done.body.contains("script&#62;alert(1)&#60;/script&#62;") || done.body.contains("&lt;script&gt;alert(1)"),
        "{}",
        done.body
    );
    assert_eq!(app.store.contact_counts(app.tenant).await.unwrap().total, 3);

    let theirs = get(&app, &altro, "/altro/staff/contacts").await;
    assert_eq!(theirs.status, StatusCode::OK);
    assert!(!theirs.body.contains("maria@example.org"), "another town's contacts are never shown");
    assert_eq!(get(&app, &altro, "/demo/staff/contacts").await.status, StatusCode::SEE_OTHER);

    // Hostile files: binary junk, an empty file, a file over the limit: a message, never a 500.
    let junk = upload(&app, &admin, "demo", &admin.csrf, &[0xff, 0xfe, 0x00, 0x22, 0x0a, 0x22], "preview").await;
    assert!(junk.status == StatusCode::OK || junk.status == StatusCode::UNPROCESSABLE_ENTITY, "{}", junk.status);
    let empty = upload(&app, &admin, "demo", &admin.csrf, b"", "import").await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    let huge = vec![b'a'; ricevo_web::campaigns::MAX_CONTACTS_BYTES + 10];
    let too_big = upload(&app, &admin, "demo", &admin.csrf, &huge, "import").await;
    assert!(too_big.status.is_client_error(), "{}", too_big.status);
    assert_eq!(app.store.contact_counts(app.tenant).await.unwrap().total, 3);

    // Operators may not see the list.
    let demo = app.store.tenant_by_slug("demo").await.unwrap().unwrap();
    app.store
        .create_user(demo.id, "operatore@esempio.it", "Operatore", Role::Operator, &PASSWORD_HASH, &[])
        .await
        .unwrap();
    let operator = get(&app, &login(&app, "operatore@esempio.it").await, "/demo/staff/contacts").await;
    assert_eq!(operator.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_campaign_is_answered_once_per_link_unsubscribes_at_once_and_closes_clearly() {
    let app = app().await;
    let admin = login(&app, ADMIN).await;
    let altro = altro_admin(&app).await;
    let questionnaire = open_questionnaire(&app).await;
    upload(&app, &admin, "demo", &admin.csrf, LIST.as_bytes(), "import").await;

    // Another town cannot send this town's questionnaire.
    let q = questionnaire.to_string();
    let fields = [
        ("questionnaire", q.as_str()),
        ("title", "Servizi online 2026"),
        ("subject_it", "Com'è andata?"),
        ("intro_it", "Ti chiediamo due minuti."),
        ("subject_en", ""),
        ("intro_en", ""),
    ];
    let theirs = post(&app, &altro, "/altro/staff/campaigns", &fields).await;
    assert_eq!(theirs.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", theirs.body);
    let created = post(&app, &admin, "/demo/staff/campaigns", &fields).await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    let page_uri = created.headers[header::LOCATION].to_str().unwrap().to_owned();
    let id = page_uri.rsplit('/').next().unwrap().to_owned();
    assert!(get(&app, &admin, "/demo/staff/campaigns").await.body.contains("Servizi online 2026"));
    assert!(!get(&app, &altro, "/altro/staff/campaigns").await.body.contains("Servizi online 2026"));
    assert_eq!(get(&app, &altro, &format!("/altro/staff/campaigns/{id}")).await.status, StatusCode::NOT_FOUND);
    let start = post(&app, &altro, &format!("/altro/staff/campaigns/{id}/start"), &[]).await;
    assert_eq!(start.status, StatusCode::NOT_FOUND);

    let start = post(&app, &admin, &format!("/demo/staff/campaigns/{id}/start"), &[]).await;
    assert_eq!(start.status, StatusCode::SEE_OTHER, "{}", start.body);
    let again = post(&app, &admin, &format!("/demo/staff/campaigns/{id}/start"), &[]).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(app.state.desk.send_campaigns(app.state.now()).await.unwrap(), 3);
    assert_eq!(app.state.desk.send_campaigns(app.state.now()).await.unwrap(), 0, "never twice");
    let page = get(&app, &admin, &page_uri).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("<dt>In coda (consegnati alla posta in uscita)</dt><dd>3</dd>"), "{}", page.body);
    let figures = get(&app, &admin, &format!("{page_uri}/figures")).await;
    assert!(figures.body.contains("<dd>3</dd>"));

    let links = tokens(&app).await;
    let token_of = |who: &str| links.iter().find(|(e, _)| e == who).unwrap().1.clone();
    let maria = token_of("maria@example.org");
    let (form, cookie) = citizen_get(&app, &format!("/demo/sondaggio/{maria}")).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    assert!(form.body.contains("Quanto è stato facile usare questo servizio?"), "{}", form.body);
    assert!(form.body.contains("Ti chiediamo due minuti."));
    // Another town's address, a forged token: nothing.
    assert_eq!(citizen_get(&app, &format!("/altro/sondaggio/{maria}")).await.0.status, StatusCode::NOT_FOUND);
    let forged = "A".repeat(43);
    assert_eq!(citizen_get(&app, &format!("/demo/sondaggio/{forged}")).await.0.status, StatusCode::NOT_FOUND);
    assert_eq!(citizen_get(&app, "/demo/sondaggio/..%2F..%2Fetc").await.0.status, StatusCode::NOT_FOUND);

    // A hostile answer is refused and changes nothing; a good one is stored once.
    let uri = format!("/demo/sondaggio/{maria}");
    let bad = citizen_post(&app, &uri, &cookie, &[("q.rating", "9")]).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    let huge = "x".repeat(5000);
    let long = citizen_post(&app, &uri, &cookie, &[("q.rating", "5"), ("q.details", &huge)]).await;
    assert_eq!(long.status, StatusCode::UNPROCESSABLE_ENTITY);
    let no_csrf = citizen_post(&app, &uri, "wrong", &[("q.rating", "5")]).await;
    assert_eq!(no_csrf.status, StatusCode::FORBIDDEN);
    let ok =
        citizen_post(&app, &uri, &cookie, &[("q.rating", "5"), ("q.liked", "clear"), ("q.details", "<b>bene</b>")])
            .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    assert!(ok.body.contains("Grazie!"));
    let twice = citizen_post(&app, &uri, &cookie, &[("q.rating", "1")]).await;
    assert_eq!(twice.status, StatusCode::CONFLICT);
    assert!(twice.body.contains("Hai già risposto"));
    assert!(citizen_get(&app, &uri).await.0.body.contains("Hai già risposto"));
    let filter = ResponseFilter::default();
    let stored = app
        .store
        .responses(app.tenant, Some(ricevo_core::survey::QuestionnaireId(questionnaire)), &filter)
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].response.channel, SurveyChannel::Email);
    assert_eq!(stored[0].response.rating, Some(5));

    // Unsubscribing: a page with a button (scanners do not press it), then at once.
    let luca = token_of("luca@example.org");
    let confirm = citizen_get(&app, &format!("/demo/disiscriviti/{luca}")).await.0;
    assert_eq!(confirm.status, StatusCode::OK);
    assert!(confirm.body.contains("Disiscrivimi"));
    assert_eq!(app.store.contact_counts(app.tenant).await.unwrap().unsubscribed, 0, "a GET changes nothing");
    assert_eq!(
        send(&app, Request::post(format!("/altro/disiscriviti/{luca}")).body(Body::empty()).unwrap()).await.status,
        StatusCode::NOT_FOUND
    );
    // RFC 8058 one-click, as a mail client sends it: no cookie, no form token.
    let one_click = Request::post(format!("/demo/disiscriviti/{luca}"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("List-Unsubscribe=One-Click"))
        .unwrap();
    let done = send(&app, one_click).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert_eq!(app.store.contact_counts(app.tenant).await.unwrap().unsubscribed, 1);
    assert!(tokens(&app).await.iter().all(|(e, _)| e != "luca@example.org"), "their waiting e-mail went");

    // Paused: links still answer; finished: a clear message, nothing stored.
    post(&app, &admin, &format!("/demo/staff/campaigns/{id}/pause"), &[]).await;
    let john = token_of("john@example.org");
    let (paused, cookie) = citizen_get(&app, &format!("/demo/sondaggio/{john}")).await;
    assert_eq!(paused.status, StatusCode::OK);
    let finish = post(&app, &admin, &format!("/demo/staff/campaigns/{id}/finish"), &[]).await;
    assert_eq!(finish.status, StatusCode::SEE_OTHER);
    let (closed, _) = citizen_get(&app, &format!("/demo/sondaggio/{john}")).await;
    assert_eq!(closed.status, StatusCode::GONE);
    assert!(closed.body.contains("Questionario chiuso"));
    let late = citizen_post(&app, &format!("/demo/sondaggio/{john}"), &cookie, &[("q.rating", "4")]).await;
    assert_eq!(late.status, StatusCode::GONE);
    assert_eq!(
        app.store
            .responses(app.tenant, Some(ricevo_core::survey::QuestionnaireId(questionnaire)), &filter)
            .await
            .unwrap()
            .len(),
        1
    );
    let page = get(&app, &admin, &page_uri).await;
    assert!(
        page.body.contains("<dt>Risposte</dt><dd>1</dd>") && page.body.contains("<dt>Disiscritti</dt><dd>1</dd>"),
        "{}",
        page.body
    );
}
