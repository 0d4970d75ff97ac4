//! Questionnaires over HTTP: the builder's round trips and save, the preview, opening, a kiosk
//! that outlives the staff session and answers with its place, hostile answers refused with
//! nothing stored, results without identity, a closed questionnaire refusing clearly, and a
//! second town that reaches none of it.

#![allow(clippy::unwrap_used)]

use crate::support;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use ricevo_core::survey::{QuestionnaireId, SurveyChannel};
use ricevo_store::{ResponseFilter, Role};
use support::*;

/// A questionnaire of two sections built through the builder's form: a required rating, a
/// single choice shown only for low ratings, a long text.
fn builder_form(csrf: &str, action: &str) -> Vec<(String, String)> {
    let f: Vec<(&str, &str)> = vec![
        ("csrf", csrf),
        ("action", action),
        ("title", "Servizi online 2026"),
        ("kind", "survey"),
        ("office", ""),
        ("service", ""),
        ("s0.it", "Il servizio"),
        ("s0.en", "The service"),
        ("s1.it", "Commenti"),
        ("s1.en", "Comments"),
        ("q0.key", "q1"),
        ("q0.section", "0"),
        ("q0.it", "Quanto sei soddisfatto?"),
        ("q0.en", "How satisfied are you?"),
        ("q0.kind", "rating"),
        ("q0.required", "on"),
        ("q0.options_it", ""),
        ("q0.options_en", ""),
        ("q0.values", ""),
        ("q0.cond", ""),
        ("q1.key", "q2"),
        ("q1.section", "0"),
        ("q1.it", "Che cosa non ha funzionato?"),
        ("q1.en", "What did not work?"),
        ("q1.kind", "single"),
        ("q1.options_it", "L'attesa\nLe informazioni"),
        ("q1.options_en", "The wait\nThe information"),
        ("q1.values", ""),
        ("q1.cond", "q1=1"),
        ("q2.key", "q3"),
        ("q2.section", "1"),
        ("q2.it", "Altro da dirci?"),
        ("q2.en", "Anything else?"),
        ("q2.kind", "long_text"),
        ("q2.options_it", ""),
        ("q2.options_en", ""),
        ("q2.values", ""),
        ("q2.cond", ""),
    ];
    f.into_iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect()
}

async fn post_pairs(app: &App, cookie: &str, uri: &str, pairs: &[(String, String)]) -> Answer {
    let body = pairs.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect::<Vec<_>>().join("&");
    let req = Request::post(uri)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, cookie)
        .body(Body::from(body))
        .unwrap();
    send(app, req).await
}

async fn get_with(app: &App, cookie: &str, uri: &str) -> Answer {
    send(app, Request::get(uri).header(header::COOKIE, cookie).body(Body::empty()).unwrap()).await
}

/// Builds, saves and opens the questionnaire; returns its id.
async fn built_and_open(app: &App, s: &Session) -> QuestionnaireId {
    let list = get(app, s, "/demo/staff/surveys").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert!(list.body.contains("Nuovo questionario"));
    // A round trip adds a question without saving anything.
    let added = post_pairs(app, &s.cookie, "/demo/staff/surveys/new", &builder_form(&s.csrf, "add_question:1")).await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.body);
    assert!(added.body.contains("name=\"q3.key\" value=\"q4\""), "{}", added.body);
    assert!(added.body.contains("Modifiche non ancora salvate"));
    assert!(app.store.questionnaires(app.tenant).await.unwrap().is_empty());
    // A condition on a value the rating cannot take is refused on the builder's page.
    let mut broken = builder_form(&s.csrf, "save");
    broken.iter_mut().find(|(k, _)| k == "q1.cond").unwrap().1 = "q1=7".into();
    let refused = post_pairs(app, &s.cookie, "/demo/staff/surveys/new", &broken).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    assert!(refused.body.contains("la condizione"), "{}", refused.body);
    // A huge title, or a forged question key: refused or dropped, never stored as sent.
    let mut huge = builder_form(&s.csrf, "save");
    huge.iter_mut().find(|(k, _)| k == "title").unwrap().1 = "<b>".repeat(2000);
    let refused = post_pairs(app, &s.cookie, "/demo/staff/surveys/new", &huge).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    assert!(refused.body.contains("troppo lungo") && !refused.body.contains("<b><b>"), "{}", refused.body);
    let mut forged = builder_form(&s.csrf, "save");
    forged.iter_mut().find(|(k, _)| k == "q2.key").unwrap().1 = "<script>".into();
    let dropped = post_pairs(app, &s.cookie, "/demo/staff/surveys/new", &forged).await;
    assert_eq!(dropped.status, StatusCode::SEE_OTHER, "{}", dropped.body);
    let q = app.store.questionnaires(app.tenant).await.unwrap().remove(0);
    assert_eq!(q.definition.questions().count(), 2, "the question with a forged key is dropped");
    let saved = post_pairs(app, &s.cookie, "/demo/staff/surveys/new", &builder_form(&s.csrf, "save")).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let at = saved.headers[header::LOCATION].to_str().unwrap().to_owned();
    let id = QuestionnaireId(at.rsplit('/').next().unwrap().parse().unwrap());
    let show = get(app, s, &at).await;
    assert!(show.body.contains("Bozza") && show.body.contains("Apri alle risposte"), "{}", show.body);
    // The preview shows it as citizens see it and stores nothing.
    let preview = get(app, s, &format!("{at}/preview")).await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.body);
    assert!(preview.body.contains("Quanto sei soddisfatto?") && preview.body.contains("data-show-values=\"1\""));
    let tried = post(app, s, &format!("{at}/preview"), &[("q.q1", "1"), ("q.q2", "o2")]).await;
    assert!(tried.body.contains("Le risposte sono valide"), "{}", tried.body);
    let missing = post(app, s, &format!("{at}/preview"), &[("q.q3", "ciao")]).await;
    assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(missing.body.contains("Rispondi a questa domanda"), "{}", missing.body);
    let opened = post(app, s, &format!("{at}/status"), &[("to", "open")]).await;
    assert_eq!(opened.status, StatusCode::SEE_OTHER, "{}", opened.body);
    // Open: no more editing.
    let edit = get(app, s, &format!("{at}/edit")).await;
    assert_eq!(edit.status, StatusCode::SEE_OTHER);
    id
}

/// Starts a kiosk at Anagrafe; returns the cookies a tablet then holds (kiosk pass, form token).
async fn start_kiosk(app: &App, s: &Session, id: QuestionnaireId) -> String {
    let kiosk = format!("/demo/staff/surveys/{id}/kiosk");
    let setup = get(app, s, &format!("{kiosk}?place=Anagrafe")).await;
    assert_eq!(setup.status, StatusCode::OK, "{}", setup.body);
    assert!(setup.body.contains("value=\"Anagrafe\""), "{}", setup.body);
    let started = post(app, s, &format!("{kiosk}/start"), &[("place", "Anagrafe")]).await;
    assert_eq!(started.status, StatusCode::SEE_OTHER, "{}", started.body);
    let pass = set_cookie(&started.headers, "ricevo_kiosk").unwrap();
    assert!(pass.contains(&format!("Path={kiosk}")) && pass.contains("HttpOnly"), "{pass}");
    // The staff session on the tablet is over.
    assert!(set_cookie(&started.headers, "ricevo_session").unwrap().contains("Max-Age=0"));
    assert_eq!(get(app, s, "/demo/staff").await.status, StatusCode::SEE_OTHER);
    let pass = format!("ricevo_kiosk={}", cookie_value(pass));
    let page = get_with(app, &pass, &kiosk).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("survey-big") && page.body.contains("Anagrafe"), "{}", page.body);
    let csrf = cookie_value(set_cookie(&page.headers, "ricevo_csrf").unwrap());
    format!("{pass}; ricevo_csrf={csrf}")
}

fn csrf_of(cookies: &str) -> String {
    cookies.split("ricevo_csrf=").nth(1).unwrap().to_owned()
}

fn answer(cookies: &str, pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut all = vec![("csrf".to_owned(), csrf_of(cookies))];
    all.extend(pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    all
}

#[tokio::test]
async fn a_questionnaire_is_built_previewed_answered_at_a_kiosk_and_counted() {
    let app = app().await;
    let admin = login(&app, ADMIN).await;
    let id = built_and_open(&app, &admin).await;
    let tablet = start_kiosk(&app, &admin, id).await;
    let kiosk = format!("/demo/staff/surveys/{id}/kiosk");

    let thanks =
        post_pairs(&app, &tablet, &kiosk, &answer(&tablet, &[("q.q1", "1"), ("q.q2", "o1"), ("q.q3", "<b>Lento</b>")]))
            .await;
    assert_eq!(thanks.status, StatusCode::OK, "{}", thanks.body);
    assert!(thanks.body.contains("Grazie!") && thanks.body.contains("data-restart-after=\"6\""), "{}", thanks.body);
    for rating in ["5", "4", "5", "3"] {
        let ok = post_pairs(&app, &tablet, &kiosk, &answer(&tablet, &[("q.q1", rating)])).await;
        assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    }
    let stored = app.store.responses(app.tenant, Some(id), &ResponseFilter::default()).await.unwrap();
    assert_eq!(stored.len(), 5);
    assert!(
        stored
            .iter()
            .all(|r| r.response.channel == SurveyChannel::Kiosk && r.response.place.as_deref() == Some("Anagrafe"))
    );

    // Hostile answers: refused in the user's language, nothing stored.
    let huge = "x".repeat(5000);
    let hostile: [&[(&str, &str)]; 5] = [
        &[("q.q1", "5"), ("q.q3", &huge)],
        &[("q.q1", "5"), ("q.admin", "1")],
        &[("q.q1", "9")],
        &[("q.q1", "2"), ("q.q1", "3")],
        &[("q.q3", "solo testo")],
    ];
    for h in hostile {
        let refused = post_pairs(&app, &tablet, &kiosk, &answer(&tablet, h)).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{h:?}: {}", refused.body);
        assert!(refused.body.contains("alert-danger"), "{}", refused.body);
    }
    let english = format!("{tablet}; lang=en");
    let refused = post_pairs(&app, &english, &kiosk, &answer(&tablet, &[("q.q1", "9")])).await;
    assert!(refused.body.contains("Choose a value from 1 to 5."), "{}", refused.body);
    // Without the form token, or without the pass, nothing either.
    let no_token = post_pairs(&app, &tablet, &kiosk, &[("q.q1".to_owned(), "5".to_owned())]).await;
    assert_eq!(no_token.status, StatusCode::FORBIDDEN);
    let csrf_only = format!("ricevo_csrf={}", csrf_of(&tablet));
    let no_pass = post_pairs(&app, &csrf_only, &kiosk, &answer(&tablet, &[("q.q1", "5")])).await;
    assert_eq!(no_pass.status, StatusCode::FORBIDDEN, "{}", no_pass.body);
    assert_eq!(app.store.responses(app.tenant, Some(id), &ResponseFilter::default()).await.unwrap().len(), 5);

    // Results: counts, average, the text escaped, groups of five broken down.
    let admin = login(&app, ADMIN).await;
    let results = get(&app, &admin, &format!("/demo/staff/surveys/{id}/results")).await;
    assert_eq!(results.status, StatusCode::OK, "{}", results.body);
    assert!(results.body.contains("<strong>5</strong>"), "{}", results.body);
    assert!(results.body.contains("3,6</strong> / 5"), "{}", results.body);
    assert!(results.body.contains("&#60;b&#62;Lento") && !results.body.contains("<b>Lento"), "{}", results.body);
    assert!(results.body.contains("Di persona (postazione)"));
    let csv = get(&app, &admin, &format!("/demo/staff/surveys/{id}/results.csv")).await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.body.contains("\"Quanto sei soddisfatto?\",\"media\",\"5\",\"3.60\""), "{}", csv.body);

    // Closed: the kiosk says so and takes nothing.
    post(&app, &admin, &format!("/demo/staff/surveys/{id}/status"), &[("to", "closed")]).await;
    let closed = get_with(&app, &tablet, &kiosk).await;
    assert_eq!(closed.status, StatusCode::CONFLICT, "{}", closed.body);
    assert!(closed.body.contains("Questionario chiuso"));
    let late = post_pairs(&app, &tablet, &kiosk, &answer(&tablet, &[("q.q1", "5")])).await;
    assert_eq!(late.status, StatusCode::CONFLICT);
    assert_eq!(app.store.responses(app.tenant, Some(id), &ResponseFilter::default()).await.unwrap().len(), 5);

    // Stopped from the questionnaire's page: the tablet holds nothing any more.
    post(&app, &admin, &format!("/demo/staff/surveys/{id}/status"), &[("to", "open")]).await;
    let passes = app.store.kiosk_passes(app.tenant, id, app.state.now()).await.unwrap();
    let stop = post(&app, &admin, &format!("/demo/staff/surveys/{id}/kiosks/{}/stop", passes[0].id), &[]).await;
    assert_eq!(stop.status, StatusCode::SEE_OTHER, "{}", stop.body);
    assert_eq!(get_with(&app, &tablet, &kiosk).await.status, StatusCode::SEE_OTHER, "back to the staff login");
}

#[tokio::test]
async fn another_town_reaches_no_page_no_kiosk_and_no_result_of_this_one() {
    let app = app().await;
    let admin = login(&app, ADMIN).await;
    let id = built_and_open(&app, &admin).await;
    let tablet = start_kiosk(&app, &admin, id).await;
    let altro = altro_town(&app).await;
    app.store.create_user(altro.id, "admin@altro.it", "Admin Altro", Role::Admin, &PASSWORD_HASH, &[]).await.unwrap();
    let theirs = login_to(&app, "altro", "admin@altro.it").await;
    let list = get(&app, &theirs, "/altro/staff/surveys").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(!list.body.contains("Servizi online 2026"));
    for page in ["", "/edit", "/preview", "/results", "/results.csv"] {
        let r = get(&app, &theirs, &format!("/altro/staff/surveys/{id}{page}")).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{page}: {}", r.body);
        assert!(!r.body.contains("Servizi online 2026"));
    }
    let kiosk = get(&app, &theirs, &format!("/altro/staff/surveys/{id}/kiosk")).await;
    assert_eq!(kiosk.status, StatusCode::NOT_FOUND, "{}", kiosk.body);
    for (uri, pairs) in [
        ("/status", vec![("to", "closed")]),
        ("/kiosk/start", vec![("place", "X")]),
        ("/edit", vec![("action", "save")]),
    ] {
        let r = post(&app, &theirs, &format!("/altro/staff/surveys/{id}{uri}"), &pairs).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{uri}: {}", r.body);
    }
    // The demo tablet's pass opens nothing in the other town, and answers nothing there.
    let other = format!("/altro/staff/surveys/{id}/kiosk");
    let cookies = tablet.replace(&format!("Path=/demo/staff/surveys/{id}/kiosk"), "");
    assert_eq!(get_with(&app, &cookies, &other).await.status, StatusCode::SEE_OTHER);
    let r = post_pairs(&app, &cookies, &other, &answer(&tablet, &[("q.q1", "5")])).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    // This town's session is no session there, and the other's none here.
    assert_eq!(get(&app, &theirs, "/demo/staff/surveys").await.status, StatusCode::SEE_OTHER);
    assert!(app.store.responses(altro.id, Some(id), &ResponseFilter::default()).await.unwrap().is_empty());
    assert!(app.store.questionnaires(altro.id).await.unwrap().is_empty());
}

#[tokio::test]
async fn an_operator_runs_a_kiosk_but_neither_builds_nor_reads_results() {
    let app = app().await;
    let admin = login(&app, ADMIN).await;
    let id = built_and_open(&app, &admin).await;
    app.store
        .create_user(app.tenant, "op@esempio.it", "Operatrice", Role::Operator, &PASSWORD_HASH, &[])
        .await
        .unwrap();
    let op = login(&app, "op@esempio.it").await;
    let list = get(&app, &op, "/demo/staff/surveys").await;
    assert!(list.body.contains("Servizi online 2026") && !list.body.contains("Nuovo questionario"), "{}", list.body);
    assert!(
        !list.body.contains(&format!("href=\"/demo/staff/surveys/{id}\"")),
        "an operator gets no link to manage it"
    );
    assert_eq!(get(&app, &op, "/demo/staff/surveys/new").await.status, StatusCode::FORBIDDEN);
    assert_eq!(get(&app, &op, &format!("/demo/staff/surveys/{id}/results")).await.status, StatusCode::FORBIDDEN);
    let setup = get(&app, &op, &format!("/demo/staff/surveys/{id}/kiosk")).await;
    assert_eq!(setup.status, StatusCode::OK, "{}", setup.body);
}
