//! Questionnaires in a real headless browser: the builder (a round trip, then save), the
//! preview whose conditional question appears only after the answer it depends on, a kiosk
//! that thanks and starts over by itself, and the results, each page audited with axe-core on a
//! phone and a PC. With `RICEVO_SURVEY_SHOTS=dir` it also saves screenshots of each page at
//! 360×740 and 1280×800.
//!
//! Needs what `browser.rs` needs; run alone with `cargo test -p ricevo --test app surveys::`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use crate::support;

use fantoccini::{Client, Locator};
use serde_json::json;
use support::{Audit, current_url, wait_for, wait_for_url, with_world};

/// Saves the current page at a phone's and a PC's size when `RICEVO_SURVEY_SHOTS` names a folder.
/// `at`: the id of an element to scroll to first.
async fn shoot(c: &Client, name: &str, at: Option<&str>) {
    let Ok(dir) = std::env::var("RICEVO_SURVEY_SHOTS") else { return };
    for (w, h) in [(360, 740), (1280, 800)] {
        c.set_window_size(w, h).await.expect("resize");
        if let Some(id) = at {
            c.execute("document.getElementById(arguments[0]).scrollIntoView();", vec![json!(id)])
                .await
                .expect("scroll");
        }
        let png = c.screenshot().await.expect("screenshot");
        std::fs::write(format!("{dir}/{name}-{w}x{h}.png"), png).expect("write screenshot");
    }
    c.set_window_size(1280, 900).await.expect("resize");
}

async fn set_value(c: &Client, id: &str, value: &str) {
    c.execute("document.getElementById(arguments[0]).value = arguments[1];", vec![json!(id), json!(value)])
        .await
        .expect("set a value");
}

async fn click(c: &Client, css: &str) {
    wait_for(c, Locator::Css(css)).await.click().await.unwrap_or_else(|e| panic!("click {css}: {e}"));
}

async fn is_hidden(c: &Client, id: &str) -> bool {
    c.execute("return document.getElementById(arguments[0]).hidden;", vec![json!(id)])
        .await
        .expect("read hidden")
        .as_bool()
        .unwrap_or(false)
}

#[tokio::test]
async fn a_questionnaire_is_built_previewed_run_at_a_kiosk_and_read_and_every_page_passes_axe() {
    with_world(|w| async move {
        let c = w.driver.session().await;
        let mut audit = Audit::default();
        let axe = w.tools.axe.clone();
        support::sign_in_as_demo_admin(&w, &c).await;

        c.goto(&w.server.url("/demo/staff/surveys/new")).await.expect("builder");
        wait_for(&c, Locator::Id("b-title")).await.send_keys("Sportelli 2026").await.expect("title");
        set_value(&c, "b-q0-it", "Quanto sei soddisfatto dello sportello?").await;
        set_value(&c, "b-q0-en", "How satisfied are you with the counter?").await;
        // A round trip adds a question; what was typed stays.
        click(&c, "button[value='add_question:0']").await;
        wait_for(&c, Locator::Id("b-q1-it")).await;
        assert_eq!(
            c.execute("return document.getElementById('b-title').value", vec![]).await.unwrap(),
            json!("Sportelli 2026")
        );
        set_value(&c, "b-q1-it", "Che cosa è andato storto?").await;
        set_value(&c, "b-q1-oit", "L'attesa\nLe informazioni").await;
        set_value(&c, "b-q1-oen", "The wait\nThe information").await;
        set_value(&c, "b-q1-cond", "q1=1").await;
        audit.page(&c, &axe, "survey builder").await;
        // On a phone the builder reflows: nothing scrolls sideways.
        c.set_window_size(360, 740).await.expect("resize");
        let widths = c
            .execute("return [document.documentElement.scrollWidth, document.documentElement.clientWidth];", vec![])
            .await
            .expect("measure");
        assert!(widths[0].as_u64() <= widths[1].as_u64(), "the builder scrolls sideways on a phone: {widths}");
        shoot(&c, "builder", Some("b-q0-it")).await;
        click(&c, ".builder-bar button[value=save]").await;
        let show = wait_for_url(&c, "/new", |u| !u.ends_with("/new")).await;
        audit.page(&c, &axe, "questionnaire").await;

        c.goto(&format!("{show}/preview")).await.expect("preview");
        wait_for(&c, Locator::Id("q-q1-1")).await;
        assert!(is_hidden(&c, "q-q2-block").await, "the conditional question waits for its answer");
        click(&c, "label[for='q-q1-1']").await;
        assert!(!is_hidden(&c, "q-q2-block").await, "a rating of 1 shows it");
        audit.page(&c, &axe, "survey preview").await;
        shoot(&c, "preview", None).await;

        c.goto(&show).await.expect("questionnaire");
        click(&c, "form[action$='/status'] button").await;
        wait_for(&c, Locator::XPath("//a[contains(@href, '/kiosk')]")).await;
        c.goto(&format!("{show}/kiosk?place=Anagrafe")).await.expect("kiosk setup");
        audit.page(&c, &axe, "kiosk setup").await;
        click(&c, "main form button[type=submit]").await;
        wait_for(&c, Locator::Css("form.survey-kiosk")).await;
        audit.page(&c, &axe, "kiosk").await;
        shoot(&c, "kiosk", None).await;
        click(&c, "label[for='q-q1-5']").await;
        click(&c, "button.survey-send").await;
        wait_for(&c, Locator::Css(".survey-thanks")).await;
        audit.page(&c, &axe, "kiosk thanks").await;
        shoot(&c, "kiosk-thanks", None).await;
        // It starts over by itself (bounded wait for the form to come back).
        let kiosk_url = current_url(&c).await;
        wait_for(&c, Locator::Css("form.survey-kiosk")).await;
        assert!(kiosk_url.ends_with("/kiosk"), "{kiosk_url}");

        support::sign_in_as_demo_admin(&w, &c).await;
        c.goto(&format!("{show}/results")).await.expect("results");
        wait_for(&c, Locator::Css("section.survey-result")).await;
        audit.page(&c, &axe, "survey results").await;
        shoot(&c, "results", Some("r-q1")).await;
        c.goto(&w.server.url("/demo/staff/surveys")).await.expect("list");
        audit.page(&c, &axe, "survey list").await;
        audit.assert_clean();
    })
    .await;
}
