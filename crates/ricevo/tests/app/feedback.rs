//! After-contact feedback end to end in real headless Chromium: a citizen takes a walk-in
//! ticket and waits, the office admits them and ends the meeting (through the staff API), the
//! citizen's page goes at once to the call's closing page with the feedback form, and the
//! answer given there is stored, anonymous, once. The feedback page of the e-mail's link, the
//! closing page and the thank-you page pass axe on a phone and a PC.
//!
//! Needs `chromium` and `chromedriver`; under `CI=true` a missing browser fails. Every wait is
//! bounded and waits for a state, never asserts on time.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use crate::support;

use std::time::{Duration, Instant};

use fantoccini::{Client, Locator};
use serde_json::{Value, json};
use support::{Audit, ELEMENT_WITHIN, World, body_text, wait_for, with_world};

async fn wait_for_phase(c: &Client, phase: &str) {
    let started = Instant::now();
    loop {
        let now = c.execute("return window.ricevo ? window.ricevo.state : ''", vec![]).await.expect("state");
        if now.as_str() == Some(phase) {
            return;
        }
        assert!(started.elapsed() < ELEMENT_WITHIN, "not in {phase:?} but {now:?}:\n{}", body_text(c).await);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn wait_for_body(c: &Client, text: &str) -> String {
    let started = Instant::now();
    loop {
        let body = body_text(c).await;
        if body.contains(text) {
            return body;
        }
        assert!(started.elapsed() < ELEMENT_WITHIN, "the page never said {text:?}:\n{body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The demo town's URP office, whose walk-in desk is always open.
async fn urp_office(w: &World) -> i64 {
    let offices: Value =
        reqwest::get(w.server.url("/api/v1/demo/offices")).await.expect("offices").json().await.expect("JSON");
    let urp = offices.as_array().unwrap().iter().find(|o| o["name"].as_str().unwrap().starts_with("URP")).unwrap();
    urp["id"].as_i64().unwrap()
}

async fn staff(w: &World, token: &str, path: &str) -> Value {
    let resp = reqwest::Client::new().post(w.server.url(path)).bearer_auth(token).send().await.expect("staff API");
    let status = resp.status();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "{path}: {status} {body}");
    body
}

#[tokio::test]
async fn a_citizen_answers_the_feedback_on_the_closing_page_as_soon_as_the_meeting_ends() {
    with_world(|w: World| async move {
        let mut audit = Audit::default();
        let axe = w.tools.axe.clone();
        let token = w.server.cli(&["token", "add", "--tenant", "demo", "--role", "admin", "--label", "prova"]);
        let token = token.split_whitespace().last().unwrap().to_owned();
        let office = urp_office(&w).await;
        let resp = reqwest::Client::new()
            .post(w.server.url(&format!("/api/v1/demo/offices/{office}/tickets")))
            .json(&json!({"name": "Lucia Bianchi", "email": "lucia@example.it"}))
            .send()
            .await
            .expect("take a ticket");
        assert_eq!(resp.status(), 201);
        let join_url = resp.json::<Value>().await.unwrap()["join_url"].as_str().unwrap().to_owned();

        let citizen = w.driver.session().await;
        citizen.goto(&join_url).await.expect("join page");
        wait_for_phase(&citizen, "check").await;
        wait_for(&citizen, Locator::Id("go-none")).await.click().await.expect("without devices");
        wait_for_phase(&citizen, "waiting").await;

        // The office calls her in, then ends the meeting.
        let admitted = staff(&w, &token, &format!("/api/v1/demo/offices/{office}/call-next")).await;
        let meeting = admitted["meeting_id"].as_i64().unwrap_or_else(|| panic!("{admitted}"));
        wait_for_phase(&citizen, "meeting").await;
        staff(&w, &token, &format!("/api/v1/demo/meetings/{meeting}/end")).await;

        // Her page goes to the closing page, which asks at once.
        let closing = wait_for_body(&citizen, "Com'è andata?").await;
        assert!(closing.contains("Incontro terminato"), "{closing}");
        wait_for(&citizen, Locator::Id("feedback-form")).await;
        audit.page(&citizen, &axe, "closing page with the feedback form").await;

        // The follow-up e-mail's link shows the same questions on the town's page.
        let db = ricevo_store::open(&format!("sqlite://{}", w.server.data().join("ricevo.db").display()))
            .await
            .expect("the server's database");
        let demo = db.tenant_by_slug("demo").await.unwrap().unwrap();
        let record =
            db.citizen_record(demo.id, &ricevo_store::CitizenLookup::Email("lucia@example.it".into())).await.unwrap();
        let payload = record.messages.iter().find(|m| m.payload.contains("/feedback/")).unwrap().payload.clone();
        let at = payload.find("/demo/feedback/").unwrap();
        let link: String = payload[at..].chars().take_while(|c| !matches!(c, '"' | '\\' | ' ' | '<')).collect();
        let page = w.driver.session().await;
        page.goto(&w.server.url(&link)).await.expect("feedback page");
        wait_for_body(&page, "Quanto è stato facile").await;
        audit.page(&page, &axe, "feedback page").await;

        // She answers on the closing page: four stars, what she liked, a comment.
        wait_for(&citizen, Locator::Css("label[for='q-rating-4']")).await.click().await.expect("rating 4");
        let liked = wait_for(&citizen, Locator::Css("input[name='q.liked']")).await;
        let liked_id = liked.attr("id").await.unwrap().unwrap();
        wait_for(&citizen, Locator::Css(&format!("label[for='{liked_id}']"))).await.click().await.expect("liked");
        let comment = wait_for(&citizen, Locator::Id("q-details")).await;
        comment.send_keys("Gentili e veloci").await.expect("comment");
        wait_for(&citizen, Locator::Css("#feedback-form button[type=submit]")).await.click().await.expect("send");
        wait_for_body(&citizen, "La tua risposta è stata registrata").await;
        audit.page(&citizen, &axe, "thank-you page").await;

        let stored = db.responses(demo.id, None, &ricevo_store::ResponseFilter::default()).await.unwrap();
        assert_eq!(stored.len(), 1, "one answer");
        let r = &stored[0].response;
        assert_eq!(r.rating, Some(4));
        assert_eq!(r.mode.as_deref(), Some("walk_in"));
        assert!(r.wait_seconds.is_some() && r.duration_seconds.is_some(), "{r:?}");
        let json = serde_json::to_string(&r.answers).unwrap();
        assert!(json.contains("Gentili e veloci") && !json.contains("Lucia"), "{json}");
        // Answered there: the e-mail is withdrawn and the link says so.
        page.refresh().await.expect("reload the e-mail's link");
        wait_for_body(&page, "Hai già risposto").await;
        audit.assert_clean();
    })
    .await;
}
