//! The after-contact feedback pages through the real router on a real SQLite store: the link
//! of the follow-up e-mail (`/{town}/feedback/{token}`) in Italian and English, its refusals
//! (another town's, unknown, expired, answered, without the form token), hostile answers (huge
//! text, markup, forged fields) that change nothing, and the call's closing page, which asks a
//! citizen at once through their own link and never an official.

#![allow(clippy::unwrap_used)]

use crate::support;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use jiff::Timestamp;
use ricevo_core::audit::Actor;
use ricevo_core::lobby::WalkInDesk;
use ricevo_core::{AppointmentStatus, Lang};
use ricevo_store::{CitizenLookup, FeedbackSubject, Grant, ResponseFilter, Role};
use support::*;

fn set_now(app: &App, at: &str) {
    app.clock.store(at.parse::<Timestamp>().unwrap().as_second(), std::sync::atomic::Ordering::SeqCst);
}

fn admin(app: &App) -> Grant {
    Grant { tenant_id: app.tenant, role: Role::Admin, offices: Vec::new(), actor: Actor::System }
}

/// An appointment of the demo town booked and marked done; the token of its feedback link.
async fn done_appointment(app: &App, citizen: &str) -> String {
    let id = book(app, "Cambio di residenza", "09:00", citizen).await;
    set_now(app, "2026-11-25T09:00:00Z");
    let demo = app.state.desk.town("demo").await.unwrap();
    let a = app.store.appointment(app.tenant, id).await.unwrap().unwrap();
    app.state.desk.change_status(&demo, &admin(app), &a, AppointmentStatus::Done).await.unwrap();
    let email = a.citizen_email.clone();
    link_token(app, &email).await
}

/// The feedback link's token in the outbox e-mail to `email`.
async fn link_token(app: &App, email: &str) -> String {
    let record = app.store.citizen_record(app.tenant, &CitizenLookup::Email(email.into())).await.unwrap();
    let payload =
        record.messages.iter().find(|m| m.payload.contains("/feedback/")).expect("a feedback e-mail").payload.clone();
    let at = payload.find("/demo/feedback/").unwrap() + "/demo/feedback/".len();
    payload[at..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect()
}

async fn get_page(app: &App, uri: &str) -> Answer {
    send(app, Request::get(uri).body(Body::empty()).unwrap()).await
}

/// Opens the page (for its form token and cookie) and posts `pairs` with them.
async fn answer(app: &App, page_uri: &str, post_uri: &str, pairs: &[(&str, &str)]) -> Answer {
    let page = get_page(app, page_uri).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let csrf = hidden(&page.body, "csrf");
    let cookie = cookie_value(set_cookie(&page.headers, "ricevo_csrf").unwrap());
    let mut all = vec![("csrf", csrf.as_str())];
    all.extend_from_slice(pairs);
    let req = Request::post(post_uri)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, format!("ricevo_csrf={cookie}"))
        .body(Body::from(form_body(&all)))
        .unwrap();
    send(app, req).await
}

async fn responses(app: &App) -> Vec<ricevo_store::StoredResponse> {
    app.store.responses(app.tenant, None, &ResponseFilter::default()).await.unwrap()
}

#[tokio::test]
async fn the_link_shows_the_questions_in_italian_and_english_and_stores_one_anonymous_answer() {
    let app = app().await;
    let token = done_appointment(&app, "Giulia Neri").await;
    let uri = format!("/demo/feedback/{token}");

    let it = get_page(&app, &uri).await;
    assert_eq!(it.status, StatusCode::OK, "{}", it.body);
    assert!(it.body.contains("è andata?"), "{}", it.body);
    assert!(it.body.contains("Dove hai incontrato le maggiori difficoltà?"));
    assert!(it.body.contains("Quali sono stati gli aspetti che hai preferito?"));
    assert!(it.body.contains("Cambio di residenza"), "the service is named");
    assert!(it.body.contains("name=\"q.rating\""));
    assert!(!it.body.contains("Giulia"), "no identity on the page");
    let en = get_page(&app, &format!("{uri}?lang=en")).await;
    assert_eq!(en.status, StatusCode::OK);
    assert!(en.body.contains("How did it go?"), "{}", en.body);

    let thanks =
        answer(&app, &uri, &uri, &[("q.rating", "4"), ("q.liked", "clear"), ("q.details", "Gentili e veloci")]).await;
    assert_eq!(thanks.status, StatusCode::OK, "{}", thanks.body);
    assert!(thanks.body.contains("Grazie!"), "{}", thanks.body);
    let stored = responses(&app).await;
    assert_eq!(stored.len(), 1);
    let r = &stored[0].response;
    assert_eq!(r.channel, ricevo_core::survey::SurveyChannel::AfterContact);
    assert_eq!(r.rating, Some(4));
    assert_eq!(r.mode.as_deref(), Some("video"));
    assert!(r.office_id.is_some() && r.service_id.is_some());
    let json = serde_json::to_string(&r.answers).unwrap();
    assert!(!json.contains("Giulia") && !json.contains("example.it"), "{json}");

    // Twice: refused with a clear message, nothing more stored.
    let again = answer_after(&app, &uri, &[("q.rating", "1")]).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
    assert!(again.body.contains("Hai già risposto, grazie"), "{}", again.body);
    let page = get_page(&app, &format!("{uri}?lang=en")).await;
    assert_eq!(page.status, StatusCode::CONFLICT);
    assert!(page.body.contains("You have already answered"), "{}", page.body);
    assert_eq!(responses(&app).await.len(), 1);
}

/// Posts with a form token of its own (an answered link shows no form to take one from).
async fn answer_after(app: &App, uri: &str, pairs: &[(&str, &str)]) -> Answer {
    let csrf = ricevo_desk::tokens::new_token();
    let mut all = vec![("csrf", csrf.as_str())];
    all.extend_from_slice(pairs);
    let req = Request::post(uri)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, format!("ricevo_csrf={csrf}"))
        .body(Body::from(form_body(&all)))
        .unwrap();
    send(app, req).await
}

#[tokio::test]
async fn another_towns_unknown_and_expired_links_are_refused_in_the_users_language() {
    let app = app().await;
    altro_town(&app).await;
    let token = done_appointment(&app, "Paolo Gialli").await;

    let other = get_page(&app, &format!("/altro/feedback/{token}")).await;
    assert_eq!(other.status, StatusCode::NOT_FOUND, "another town's link");
    assert!(other.body.contains("non trovata"), "{}", other.body);
    assert!(!other.body.contains("Dove hai incontrato"));
    let unknown = get_page(&app, &format!("/demo/feedback/{}?lang=en", ricevo_desk::tokens::new_token())).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert!(unknown.body.contains("not found"), "{}", unknown.body);
    let garbage = get_page(&app, "/demo/feedback/%3Cscript%3E").await;
    assert_eq!(garbage.status, StatusCode::NOT_FOUND);
    assert!(!garbage.body.contains("<script>"));

    // Without the form token nothing is stored.
    let uri = format!("/demo/feedback/{token}");
    let req = Request::post(&uri)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(form_body(&[("q.rating", "5")])))
        .unwrap();
    assert_eq!(send(&app, req).await.status, StatusCode::FORBIDDEN);
    assert!(responses(&app).await.is_empty());

    // Thirty days later (the default validity) the link has expired.
    set_now(&app, "2026-12-25T09:00:01Z");
    let expired = get_page(&app, &uri).await;
    assert_eq!(expired.status, StatusCode::GONE, "{}", expired.body);
    assert!(expired.body.contains("Il link è scaduto"), "{}", expired.body);
    let expired_en = get_page(&app, &format!("{uri}?lang=en")).await;
    assert!(expired_en.body.contains("The link has expired"));
    assert!(responses(&app).await.is_empty());
}

#[tokio::test]
async fn hostile_answers_get_a_clear_message_and_change_nothing() {
    let app = app().await;
    let token = done_appointment(&app, "Marta Blu").await;
    let uri = format!("/demo/feedback/{token}");

    let huge = "x".repeat(5000);
    let too_long = answer(&app, &uri, &uri, &[("q.rating", "5"), ("q.liked", "clear"), ("q.details", &huge)]).await;
    assert_eq!(too_long.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", too_long.body);
    let forged = answer(&app, &uri, &uri, &[("q.rating", "5"), ("q.admin", "1")]).await;
    assert_eq!(forged.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", forged.body);
    let out_of_range = answer(&app, &uri, &uri, &[("q.rating", "9")]).await;
    assert_eq!(out_of_range.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", out_of_range.body);
    let missing = answer(&app, &uri, &uri, &[("q.details", "niente voto")]).await;
    assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", missing.body);
    let markup = "<script>alert(1)</script><b>ciao</b>";
    let shown_again = answer(&app, &uri, &uri, &[("q.rating", "9"), ("q.details", markup)]).await;
    assert_eq!(shown_again.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(!shown_again.body.contains("<script>alert"), "markup is escaped when shown again");
    let body_limit = "y".repeat(70 * 1024);
    let too_big = answer(&app, &uri, &uri, &[("q.rating", "5"), ("q.details", &body_limit)]).await;
    assert_eq!(too_big.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(responses(&app).await.is_empty(), "nothing stored by any of them");

    // Markup within the limits is kept as text, never as markup on a page.
    let ok =
        answer(&app, &uri, &uri, &[("q.rating", "2"), ("q.difficulties", "technical"), ("q.details", markup)]).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    assert!(!ok.body.contains("<script>alert"));
    let stored = responses(&app).await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].response.rating, Some(2));
}

#[tokio::test]
async fn the_closing_page_of_a_served_ticket_asks_at_once_through_the_citizens_own_link() {
    let app = app().await;
    let demo = app.state.desk.town("demo").await.unwrap();
    let office = app.store.offices(app.tenant).await.unwrap().remove(0);
    let always = WalkInDesk { always_open: true, hours: ricevo_core::OpeningHours::new(Vec::new(), 1).unwrap() };
    app.store.set_walk_in(app.tenant, office.id, &always).await.unwrap();
    let (ticket, link) = app
        .state
        .desk
        .take_ticket(&demo, &office, "Rosa Viola", Some("rosa@example.it"), "10.0.0.9", Lang::It)
        .await
        .unwrap();
    let token = link.trim_end_matches("/join").rsplit('/').next().unwrap().to_owned();
    let granted = app.state.desk.entry_for(&demo, &admin(&app), ticket.id).await.unwrap();
    let (_, meeting) = app.state.desk.admit(granted).await.unwrap();
    let m = app.state.desk.meeting_for(&demo, &admin(&app), meeting).await.unwrap();
    let (official, official_link) = app
        .state
        .desk
        .invite(
            &m,
            "Operatore".into(),
            ricevo_core::lobby::EntryKind::Official,
            ricevo_core::Abilities::official(),
            true,
        )
        .await
        .unwrap();
    let official_token = official_link.trim_end_matches("/join").rsplit('/').next().unwrap().to_owned();
    set_now(&app, "2026-11-23T08:20:00Z");
    app.state.desk.end_meeting(&m).await.unwrap();

    let join = format!("/a/{token}/join");
    let closing = get_page(&app, &join).await;
    assert_eq!(closing.status, StatusCode::OK, "{}", closing.body);
    assert!(closing.body.contains("Incontro terminato"), "{}", closing.body);
    assert!(closing.body.contains("id=\"feedback-form\""), "{}", closing.body);
    assert!(closing.body.contains(&format!("action=\"/a/{token}/feedback\"")));
    let request_token = link_token(&app, "rosa@example.it").await;
    assert!(!closing.body.contains(&request_token), "the request's own token never reaches a page");
    // The official's link closes without any form.
    let theirs = get_page(&app, &format!("/a/{official_token}/join")).await;
    assert_eq!(theirs.status, StatusCode::OK);
    assert!(!theirs.body.contains("feedback-form"), "{}", theirs.body);
    let _ = official;

    let thanks = answer(&app, &join, &format!("/a/{token}/feedback"), &[("q.rating", "5"), ("q.liked", "clear")]).await;
    assert_eq!(thanks.status, StatusCode::OK, "{}", thanks.body);
    let stored = responses(&app).await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].response.mode.as_deref(), Some("walk_in"));
    assert_eq!(stored[0].response.duration_seconds, Some(20 * 60));
    // Answered here: the follow-up e-mail, not sent yet, is withdrawn.
    let held = app.store.citizen_record(app.tenant, &CitizenLookup::Email("rosa@example.it".into())).await.unwrap();
    assert!(held.messages.iter().all(|m| !m.payload.contains("/feedback/")), "{:?}", held.messages);
    let r = app.store.feedback_request_about(app.tenant, FeedbackSubject::Entry(ticket.id)).await.unwrap().unwrap();
    assert!(r.answered_at.is_some());
    // The closing page now thanks instead of asking again; a second post is refused.
    let after = get_page(&app, &join).await;
    assert!(after.body.contains("Hai già risposto"), "{}", after.body);
    assert!(!after.body.contains("feedback-form"));
    let official_post = answer_after(&app, &format!("/a/{official_token}/feedback"), &[("q.rating", "1")]).await;
    assert_eq!(official_post.status, StatusCode::NOT_FOUND, "an official's link answers nothing");
    assert_eq!(responses(&app).await.len(), 1);
}
