//! The citizen booking journey in a real headless browser (Debian's Chromium driven through
//! chromedriver), with axe-core's WCAG 2.1 A/AA rules run on every citizen page.
//!
//! Needs `chromium`, `chromedriver` and `node_modules/axe-core/axe.min.js` (`scripts/test`
//! installs them). Without them each test says why and passes, except under `CI=true`, where it
//! fails. Run alone with `cargo test -p ricevo --test app browser:: -- --test-threads=1`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr, clippy::print_stdout)]

use crate::support;

use fantoccini::elements::Element;
use fantoccini::{Client, Locator};
use serde_json::json;
use support::{Audit, World, body_text, click_to, current_url, field, fill, html_lang, link, wait_for, with_world};

/// The demo town's service with every mode (video, in person, phone) and no intake question.
pub(crate) const SERVICE: &str = "Cambio di residenza";

/// The budget of the booking form over the wire, cold cache: document plus every resource.
const BOOKING_PAGE_BUDGET: u64 = 150 * 1024;

/// A `<button>` (or submit `<input>`) whose text contains `text`.
pub(crate) async fn button(c: &Client, text: &str) -> Element {
    let xp = format!(
        "//button[{}] | //input[(@type='submit' or @type='button') and {}]",
        support::text_contains(".", text),
        support::text_contains("@value", text)
    );
    wait_for(c, Locator::XPath(&xp)).await
}

/// Waits (bounded) until some element's text contains `text`, and returns the page's text.
pub(crate) async fn wait_for_text(c: &Client, text: &str) -> String {
    let xp = format!("//body//*[{}]", support::text_contains(".", text));
    wait_for(c, Locator::XPath(&xp)).await;
    body_text(c).await
}

/// The first free time of the picker: a link to the booking form.
async fn first_free_time(c: &Client) -> Element {
    wait_for(c, Locator::XPath("(//a[contains(@href, '/book?start=')])[1]")).await
}

/// The accessible name a link offers: `aria-label`, else its text.
async fn accessible_name(e: &Element) -> String {
    match e.attr("aria-label").await.expect("aria-label") {
        Some(l) if !l.trim().is_empty() => l,
        _ => e.text().await.expect("link text"),
    }
}

/// Ticks a checkbox or radio (found by its label) unless it is already checked.
pub(crate) async fn check(c: &Client, label: &str) {
    let input = field(c, label).await;
    if !input.is_selected().await.expect("is selected") {
        input.click().await.expect("click the option");
    }
    assert!(input.is_selected().await.expect("is selected"), "clicking {label:?} did not select it");
}

/// The booking form of the page, for scripts.
async fn booking_form(c: &Client) -> Element {
    wait_for(c, Locator::XPath("//form[@id='form']")).await
}

/// Runs axe on the current page at a phone's size (360×740) and at a PC's (1280×800).
pub(crate) async fn audit_phone_and_pc(c: &Client, w: &World, audit: &mut Audit, page: &str) {
    for (width, height, size) in [(360, 740, "phone"), (1280, 800, "PC")] {
        c.set_window_size(width, height).await.expect("set the window size");
        audit.page(c, &w.tools.axe, &format!("{page} ({size})")).await;
    }
}

/// The texts a journey expects, in one language.
pub(crate) struct Words {
    pub(crate) lang: &'static str,
    pub(crate) name: &'static str,
    pub(crate) email: &'static str,
    pub(crate) mode: &'static str,
    pub(crate) privacy: &'static str,
    pub(crate) submit: &'static str,
    pub(crate) confirm: &'static str,
    pub(crate) summary_title: &'static str,
    pub(crate) errors_title: &'static str,
    pub(crate) booked_title: &'static str,
    pub(crate) booked_status: &'static str,
    pub(crate) cancelled_status: &'static str,
    pub(crate) manage_title: &'static str,
    pub(crate) cancel_link: &'static str,
    pub(crate) cancel_title: &'static str,
    pub(crate) cancel_confirm: &'static str,
    pub(crate) cancelled_title: &'static str,
    pub(crate) move_link: &'static str,
    pub(crate) move_title: &'static str,
    pub(crate) slot_verb: &'static str,
}

pub(crate) const IT: Words = Words {
    lang: "it",
    name: "Nome e cognome",
    email: "E-mail",
    mode: "In presenza, allo sportello",
    privacy: "Ho letto l'informativa sul trattamento dei dati personali",
    submit: "Avanti",
    confirm: "Conferma la prenotazione",
    summary_title: "Riepilogo",
    errors_title: "Controlla questi campi",
    booked_title: "Prenotazione confermata",
    booked_status: "Prenotato",
    cancelled_status: "Annullato",
    manage_title: "Il tuo appuntamento",
    cancel_link: "Annulla l'appuntamento",
    cancel_title: "Vuoi annullare l'appuntamento?",
    cancel_confirm: "Sì, annulla l'appuntamento",
    cancelled_title: "Appuntamento annullato",
    move_link: "Sposta l'appuntamento",
    move_title: "Sposta l'appuntamento",
    slot_verb: "Prenota ",
};

const EN: Words = Words {
    lang: "en",
    name: "Full name",
    email: "E-mail",
    mode: "Video call",
    privacy: "I have read the privacy notice",
    submit: "Next",
    confirm: "Confirm the booking",
    summary_title: "Summary",
    errors_title: "Please check these fields",
    booked_title: "Booking confirmed",
    booked_status: "Booked",
    cancelled_status: "Cancelled",
    manage_title: "Your appointment",
    cancel_link: "Cancel the appointment",
    cancel_title: "Cancel the appointment?",
    cancel_confirm: "Yes, cancel the appointment",
    cancelled_title: "Appointment cancelled",
    move_link: "Move the appointment",
    move_title: "Move the appointment",
    slot_verb: "Book ",
};

/// From the town page at `start` to the booking form of [`SERVICE`]'s first free time, auditing
/// each page; returns the form's URL.
pub(crate) async fn to_booking_form(
    c: &Client,
    w: &World,
    audit: &mut Audit,
    start: &str,
    words: &Words,
    tag: &str,
) -> String {
    c.goto(&w.server.url(start)).await.expect("open the town page");
    link(c, SERVICE).await;
    assert_eq!(html_lang(c).await, words.lang, "<html lang> of the town page {start}");
    audit.page(c, &w.tools.axe, &format!("{tag}town page")).await;

    let service = link(c, SERVICE).await;
    let url = click_to(c, &service, |u| u.contains("/demo/services/")).await;
    assert_eq!(html_lang(c).await, words.lang, "<html lang> of the service page {url}");
    audit.page(c, &w.tools.axe, &format!("{tag}service page")).await;

    let time = first_free_time(c).await;
    let name = accessible_name(&time).await;
    assert!(name.starts_with(words.slot_verb), "a free time's accessible name says what it does, got {name:?}");
    let url = click_to(c, &time, |u| u.contains("/book?start=")).await;
    field(c, words.privacy).await;
    assert_eq!(html_lang(c).await, words.lang, "<html lang> of the booking form {url}");
    audit.page(c, &w.tools.axe, &format!("{tag}booking form")).await;
    url
}

/// Goes through the booking steps (details: mode and privacy; applicant: name and e-mail;
/// the summary) and confirms; returns the manage page's URL. Each step is audited.
async fn book(c: &Client, w: &World, audit: &mut Audit, words: &Words, name: &str, email: &str) -> String {
    check(c, words.mode).await;
    check(c, words.privacy).await;
    button(c, words.submit).await.click().await.expect("on to the applicant's step");
    field(c, words.name).await;
    audit.page(c, &w.tools.axe, &format!("[{}] applicant step", words.lang)).await;
    fill(c, words.name, name).await;
    fill(c, words.email, email).await;
    button(c, words.submit).await.click().await.expect("on to the summary");
    let text = wait_for_text(c, words.confirm).await;
    assert!(text.contains(name) && text.contains(email), "the summary shows who books; it says:\n{text}");
    assert!(text.contains(words.summary_title), "the summary is its own step; it says:\n{text}");
    audit.page(c, &w.tools.axe, &format!("[{}] summary", words.lang)).await;
    let submit = button(c, words.confirm).await;
    let url = click_to(c, &submit, |u| u.contains("/a/") && u.contains("booked=1")).await;
    let text = wait_for_text(c, words.booked_title).await;
    assert!(text.contains(SERVICE), "the manage page names the service; it says:\n{text}");
    assert!(text.contains(name), "the manage page names who booked; it says:\n{text}");
    assert!(text.contains(words.booked_status), "the manage page shows the status; it says:\n{text}");
    url
}

#[tokio::test]
async fn a_citizen_books_an_appointment_in_the_browser_and_every_page_passes_axe() {
    with_world(|w| async move {
        let c = w.driver.session().await;
        let mut audit = Audit::default();
        let form_url = to_booking_form(&c, &w, &mut audit, "/demo", &IT, "").await;

        // Sent empty (the browser's own checks switched off, as on an old browser), the form
        // comes back with an error summary and the fields marked.
        c.execute("arguments[0].noValidate = true;", vec![json!(booking_form(&c).await)]).await.expect("novalidate");
        let submit = button(&c, IT.submit).await;
        submit.click().await.expect("submit the empty form");
        let text = wait_for_text(&c, IT.errors_title).await;
        assert!(
            text.contains("Informativa sulla privacy"),
            "the error summary names the field; the page says:\n{text}"
        );
        let title = c.title().await.expect("title");
        assert!(title.starts_with("Errore"), "a page with errors says so in its title, got {title:?}");
        let invalid = field(&c, IT.privacy).await.attr("aria-invalid").await.expect("aria-invalid");
        assert_eq!(invalid.as_deref(), Some("true"), "the unticked notice is marked invalid");
        let focused = c.execute("return document.activeElement.id", vec![]).await.expect("focused element");
        assert_eq!(focused, json!("errors"), "after a failed submit the focus is on the error summary");
        audit.page(&c, &w.tools.axe, "booking form with errors").await;
        eprintln!("booking form {form_url} re-rendered with errors at {}", current_url(&c).await);

        let manage = book(&c, &w, &mut audit, &IT, "Maria Rossi", "maria.rossi@example.org").await;
        audit.page(&c, &w.tools.axe, "manage page after booking").await;

        let cancel = link(&c, IT.cancel_link).await;
        click_to(&c, &cancel, |u| u.ends_with("/cancel")).await;
        wait_for_text(&c, IT.cancel_title).await;
        audit.page(&c, &w.tools.axe, "cancel confirmation").await;

        let confirm = button(&c, IT.cancel_confirm).await;
        confirm.click().await.expect("confirm the cancellation");
        wait_for_text(&c, IT.cancelled_title).await;
        audit.page(&c, &w.tools.axe, "cancellation done").await;

        // The citizen's link still works and says the appointment is cancelled.
        c.goto(&manage).await.expect("open the manage link again");
        let text = wait_for_text(&c, IT.manage_title).await;
        assert!(text.contains(IT.cancelled_status), "the status says cancelled; the page says:\n{text}");
        assert!(!text.contains(IT.booked_title), "no booking banner once cancelled; the page says:\n{text}");
        assert!(
            !text.contains(IT.cancel_link),
            "a cancelled appointment offers no cancel link; the page says:\n{text}"
        );
        audit.page(&c, &w.tools.axe, "manage page of a cancelled appointment").await;

        audit.assert_clean();
    })
    .await;
}

#[tokio::test]
async fn the_booking_pages_work_in_english_and_in_embed_mode() {
    with_world(|w| async move {
        let c = w.driver.session().await;
        let mut audit = Audit::default();

        // English, asked for in the link of the town page (the browser itself asks for Italian).
        to_booking_form(&c, &w, &mut audit, "/demo?lang=en", &EN, "[en] ").await;
        book(&c, &w, &mut audit, &EN, "John Smith", "john.smith@example.org").await;
        audit.page(&c, &w.tools.axe, "[en] manage page after booking").await;
        let move_link = link(&c, EN.move_link).await;
        click_to(&c, &move_link, |u| u.contains("/move")).await;
        wait_for_text(&c, EN.move_title).await;
        assert_eq!(html_lang(&c).await, "en", "<html lang> of the move page");
        audit.page(&c, &w.tools.axe, "[en] move page").await;

        // Embed mode, in Italian: no header or footer, and every step stays in embed mode.
        let url = to_booking_form(&c, &w, &mut audit, "/demo?embed=1&lang=it", &IT, "[embed] ").await;
        assert!(url.contains("embed=1"), "the booking form stays in embed mode: {url}");
        let chrome = c
            .execute("return document.querySelectorAll('body > header, body > footer').length", vec![])
            .await
            .expect("count header and footer");
        assert_eq!(chrome, json!(0), "an embedded page has no header or footer of its own");
        let manage = book(&c, &w, &mut audit, &IT, "Giulia Bianchi", "giulia.bianchi@example.org").await;
        assert!(manage.contains("embed=1"), "the manage page stays in embed mode: {manage}");
        audit.page(&c, &w.tools.axe, "[embed] manage page after booking").await;
        let cancel = link(&c, IT.cancel_link).await;
        click_to(&c, &cancel, |u| u.contains("/cancel")).await;
        wait_for_text(&c, IT.cancel_title).await;
        audit.page(&c, &w.tools.axe, "[embed] cancel confirmation").await;

        audit.assert_clean();
    })
    .await;
}

// ---- privacy: the town's notice, accessibility statement and walk-in form ----
#[tokio::test]
async fn the_privacy_notice_the_accessibility_statement_and_the_ticket_form_pass_axe() {
    with_world(|w| async move {
        let c = w.driver.session().await;
        let mut audit = Audit::default();
        for (lang, statement, notice, ticket_words) in [
            ("it", "Dichiarazione di accessibilità", "Informativa privacy", "Titolare del trattamento"),
            ("en", "Accessibility statement", "Privacy notice", "Data controller"),
        ] {
            // From the town page's footer, as a citizen finds them.
            c.goto(&w.server.url(&format!("/demo?lang={lang}"))).await.expect("open the town page");
            let to_statement = link(&c, statement).await;
            click_to(&c, &to_statement, |u| u.contains("/demo/accessibilita")).await;
            let text = wait_for_text(&c, statement).await;
            assert!(text.contains("mailto:") || text.contains("urp@esempio.it"), "a feedback address:\n{text}");
            assert_eq!(html_lang(&c).await, lang, "<html lang> of the statement");
            audit.page(&c, &w.tools.axe, &format!("[{lang}] accessibility statement")).await;

            let to_notice = link(&c, notice).await;
            click_to(&c, &to_notice, |u| u.contains("/demo/privacy")).await;
            wait_for_text(&c, ticket_words).await;
            audit.page(&c, &w.tools.axe, &format!("[{lang}] privacy notice")).await;

            c.goto(&w.server.url("/demo/walk-in")).await.expect("open the walk-in desk");
            wait_for_text(&c, ticket_words).await;
            audit.page(&c, &w.tools.axe, &format!("[{lang}] walk-in form with its notice")).await;
        }
        audit.assert_clean();
    })
    .await;
}

/// Asserts every URL the current page loaded, links to for loading, or submits to is on the
/// server's own origin (`data:` URLs are no request and are allowed).
async fn assert_same_origin(c: &Client, origin: &str, page: &str) -> usize {
    let urls = support::requested_urls(c).await;
    let prefix = format!("{origin}/");
    let foreign: Vec<&String> = urls.iter().filter(|u| !u.starts_with(&prefix) && !u.starts_with("data:")).collect();
    assert!(foreign.is_empty(), "the {page} reaches outside {origin}: {foreign:#?}");
    urls.len()
}

#[tokio::test]
async fn no_request_leaves_the_origin() {
    with_world(|w| async move {
        let c = w.driver.session().await;
        let origin = w.server.origin.clone();

        c.goto(&w.server.url("/demo")).await.expect("open the town page");
        let service = link(&c, SERVICE).await;
        let mut seen = assert_same_origin(&c, &origin, "town page").await;
        click_to(&c, &service, |u| u.contains("/demo/services/")).await;
        seen += assert_same_origin(&c, &origin, "service page").await;
        let time = first_free_time(&c).await;
        click_to(&c, &time, |u| u.contains("/book?start=")).await;
        field(&c, IT.privacy).await;
        seen += assert_same_origin(&c, &origin, "booking form").await;
        let mut audit = Audit::default();
        book(&c, &w, &mut audit, &IT, "Luca Verdi", "luca.verdi@example.org").await;
        seen += assert_same_origin(&c, &origin, "manage page").await;
        let cancel = link(&c, IT.cancel_link).await;
        click_to(&c, &cancel, |u| u.ends_with("/cancel")).await;
        seen += assert_same_origin(&c, &origin, "cancel confirmation").await;
        for page in ["/demo?lang=en", "/demo?embed=1"] {
            c.goto(&w.server.url(page)).await.expect("open a town page variant");
            link(&c, SERVICE).await;
            seen += assert_same_origin(&c, &origin, page).await;
        }
        // The pages do load their stylesheet, so the check above had resources to look at.
        assert!(seen > 7, "expected resources beyond the documents themselves, saw {seen} URLs");
    })
    .await;
}

#[tokio::test]
async fn the_booking_form_weighs_less_than_150_kib_on_a_cold_cache() {
    with_world(|w| async move {
        // Find the form's address in one browser...
        let finder = w.driver.session().await;
        finder.goto(&w.server.url("/demo")).await.expect("open the town page");
        let service = link(&finder, SERVICE).await;
        click_to(&finder, &service, |u| u.contains("/demo/services/")).await;
        let href = first_free_time(&finder).await.prop("href").await.expect("href").expect("the time has a link");

        // ...and load it in another, whose fresh profile has an empty cache.
        let c = w.driver.session().await;
        c.goto(&href).await.expect("open the booking form");
        field(&c, IT.privacy).await;
        let (document, resources) = support::transferred(&c).await;
        let total = document + resources.iter().map(|(_, n)| n).sum::<u64>();
        eprintln!("booking form {href}: {total} bytes transferred (document {document} bytes)");
        for (url, n) in &resources {
            eprintln!("    {n:>8} bytes  {url}");
        }
        assert!(document > 0, "the browser reported no transfer size for the document (a cached page?)");
        assert!(
            total < BOOKING_PAGE_BUDGET,
            "the booking form transfers {total} bytes, over the {BOOKING_PAGE_BUDGET}-byte budget: document \
             {document} bytes, resources {resources:#?}"
        );
    })
    .await;
}

// ---- path: the booking steps, the town's frame, the walk-in link, moving with a confirmation ----

/// The text of the step the indicator marks as current.
async fn current_step(c: &Client) -> String {
    wait_for(c, Locator::Css("[aria-current='step']")).await.text().await.expect("the current step's text")
}

/// Whether the page has an element with this `data-element` (the national model's marker).
async fn has_data_element(c: &Client, name: &str) -> bool {
    c.execute("return document.querySelectorAll(`[data-element='${arguments[0]}']`).length > 0", vec![json!(name)])
        .await
        .expect("look for a data-element")
        == json!(true)
}

#[tokio::test]
async fn the_citizen_path_follows_the_model_steps_keeps_the_town_everywhere_and_passes_axe_on_phone_and_pc() {
    with_world(|w| async move {
        let c = w.driver.session().await;
        let mut audit = Audit::default();
        c.goto(&w.server.url("/demo")).await.expect("open the town page");
        link(&c, SERVICE).await;
        for element in ["privacy-policy-link", "accessibility-link", "legal-notes", "service-link"] {
            assert!(has_data_element(&c, element).await, "the town page has data-element={element}");
        }
        audit_phone_and_pc(&c, &w, &mut audit, "town page").await;

        // The walk-in desk, from the town page.
        let desk = wait_for(&c, Locator::Css("a.walk-in-link")).await;
        click_to(&c, &desk, |u| u.contains("/demo/walk-in/")).await;
        wait_for_text(&c, "Prendi il numero").await;
        audit_phone_and_pc(&c, &w, &mut audit, "walk-in desk").await;

        // The legal notes, from the footer.
        c.goto(&w.server.url("/demo")).await.expect("back to the town page");
        let legal = link(&c, "Note legali").await;
        click_to(&c, &legal, |u| u.contains("/demo/note-legali")).await;
        assert!(has_data_element(&c, "legal-notes-section").await, "the legal notes are marked for the checker");
        audit_phone_and_pc(&c, &w, &mut audit, "legal notes").await;

        // Step 2 (the service's picker), then a time at least a week ahead: its waiting room is
        // not open yet when the test looks.
        c.goto(&w.server.url("/demo")).await.expect("back to the town page");
        let service = link(&c, SERVICE).await;
        click_to(&c, &service, |u| u.contains("/demo/services/")).await;
        assert!(has_data_element(&c, "appointment-booking").await, "the service page links the booking");
        assert!(has_data_element(&c, "breadcrumb").await, "the breadcrumb is marked for the checker");
        assert!(current_step(&c).await.contains("Data e orario"), "the service page is step 2");
        audit_phone_and_pc(&c, &w, &mut audit, "service page (step 2)").await;
        let later = link(&c, "Giorni successivi →").await;
        click_to(&c, &later, |u| u.contains("from=")).await;
        let time = first_free_time(&c).await;
        click_to(&c, &time, |u| u.contains("/book?start=")).await;
        assert!(current_step(&c).await.contains("Dettagli appuntamento"), "the form opens on step 3");
        audit_phone_and_pc(&c, &w, &mut audit, "details (step 3)").await;
        check(&c, "Videochiamata").await;
        check(&c, IT.privacy).await;
        button(&c, IT.submit).await.click().await.expect("on to step 4");
        field(&c, IT.name).await;
        assert!(current_step(&c).await.contains("Richiedente"), "then the applicant, step 4");
        audit_phone_and_pc(&c, &w, &mut audit, "applicant (step 4)").await;
        fill(&c, IT.name, "Anna Neri").await;
        fill(&c, IT.email, "anna.neri@example.org").await;
        button(&c, IT.submit).await.click().await.expect("on to the summary");
        wait_for_text(&c, IT.confirm).await;
        assert!(current_step(&c).await.contains("Riepilogo"), "then the summary, step 5");
        audit_phone_and_pc(&c, &w, &mut audit, "summary (step 5)").await;
        // "Modifica" brings the details back as filled; "Avanti" twice returns to the summary.
        button(&c, "Modifica").await.click().await.expect("change the details");
        let video = field(&c, "Videochiamata").await;
        assert!(video.is_selected().await.expect("selected"), "the chosen mode is kept");
        button(&c, IT.submit).await.click().await.expect("on to step 4 again");
        field(&c, IT.name).await;
        button(&c, IT.submit).await.click().await.expect("on to the summary again");
        let confirm = button(&c, IT.confirm).await;
        let manage = click_to(&c, &confirm, |u| u.contains("booked=1")).await;
        wait_for_text(&c, IT.booked_title).await;
        audit_phone_and_pc(&c, &w, &mut audit, "confirmation").await;

        // The waiting room, not open yet: the town's page, its way home, no list of all towns.
        let join = link(&c, "Entra nella sala d'attesa virtuale").await;
        click_to(&c, &join, |u| u.contains("/join")).await;
        let text = wait_for_text(&c, "La sala d'attesa apre").await;
        assert!(text.contains("Comune di Esempio"), "the not-open page keeps the town:\n{text}");
        let home = c.find_all(Locator::Css("a[href='/']")).await.expect("links to the list of towns");
        assert!(home.is_empty(), "the not-open page does not lead to the list of all towns");
        wait_for(&c, Locator::Css("a[href='/demo']")).await;
        audit_phone_and_pc(&c, &w, &mut audit, "waiting room not open yet").await;

        // Moving asks first, old → new.
        c.goto(&manage).await.expect("back to the appointment");
        let move_link = link(&c, IT.move_link).await;
        click_to(&c, &move_link, |u| u.contains("/move")).await;
        // The appointment is on the picker's second page: its own time is marked there.
        let later = link(&c, "Giorni successivi →").await;
        click_to(&c, &later, |u| u.contains("from=")).await;
        let mine = wait_for(&c, Locator::Css(".slot.current")).await.text().await.expect("the current time's text");
        assert!(mine.contains("il tuo orario attuale"), "the current time is marked: {mine:?}");
        audit_phone_and_pc(&c, &w, &mut audit, "move picker").await;
        let new_time = wait_for(&c, Locator::Css("button.slot[name='start']")).await;
        new_time.click().await.expect("choose a new time");
        let text = wait_for_text(&c, "Confermi lo spostamento?").await;
        assert!(text.contains("Orario attuale") && text.contains("Nuovo orario"), "old and new are shown:\n{text}");
        audit_phone_and_pc(&c, &w, &mut audit, "move confirmation").await;
        button(&c, "Sì, sposta l'appuntamento").await.click().await.expect("confirm the move");
        wait_for_text(&c, "Appuntamento spostato").await;

        // Cancelling, and an unknown address inside the town.
        let cancel = link(&c, IT.cancel_link).await;
        click_to(&c, &cancel, |u| u.ends_with("/cancel")).await;
        wait_for_text(&c, IT.cancel_title).await;
        audit_phone_and_pc(&c, &w, &mut audit, "cancel confirmation").await;
        c.goto(&w.server.url("/demo/servizi-che-non-esistono")).await.expect("open a bad link");
        let text = wait_for_text(&c, "Pagina non trovata").await;
        assert!(text.contains("Comune di Esempio"), "a 404 inside the town keeps the town:\n{text}");
        assert!(has_data_element(&c, "privacy-policy-link").await, "and its footer");
        audit_phone_and_pc(&c, &w, &mut audit, "404 inside the town").await;

        audit.assert_clean();
    })
    .await;
}

// ---- every page, phone and PC: a crawler audits what a citizen and an administrator reach ----

/// Books the first free video time of the demo service through the API, so the staff pages
/// that list, show, move and cancel appointments have one to show; returns its manage link
/// and its day (`YYYY-MM-DD`).
async fn booked_through_the_api(w: &World) -> (String, String) {
    let http = reqwest::Client::new();
    let services: serde_json::Value =
        http.get(w.server.url("/api/v1/demo/services")).send().await.unwrap().json().await.unwrap();
    let service = services.as_array().unwrap().iter().find(|s| s["name"] == SERVICE).unwrap()["id"].as_i64().unwrap();
    let slots: serde_json::Value = http
        .get(w.server.url(&format!("/api/v1/demo/services/{service}/slots?mode=video")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let start = slots.as_array().unwrap().first().expect("the demo service offers a time")["start"].clone();
    let body = json!({"service_id": service, "start": start, "mode": "video", "privacy_accepted": true,
        "citizen": {"name": "Lucia Verdi", "email": "lucia@example.it", "phone": "+39 055 1234567"}});
    let resp = http.post(w.server.url("/api/v1/demo/appointments")).json(&body).send().await.unwrap();
    assert_eq!(resp.status(), 201, "book through the API");
    let receipt: serde_json::Value = resp.json().await.unwrap();
    (receipt["manage_url"].as_str().unwrap().to_owned(), start.as_str().unwrap()[..10].to_owned())
}

#[tokio::test]
async fn every_page_a_citizen_or_an_administrator_reaches_by_links_passes_axe_on_a_phone_and_a_pc() {
    with_world(|w| async move {
        let (manage, day) = booked_through_the_api(&w).await;
        let c = w.driver.session().await;
        let mut audit = Audit::default();

        // The citizen: the town's pages, and their own appointment's pages from its link.
        let manage_path =
            manage.split_once("//").and_then(|(_, r)| r.split_once('/')).map(|(_, p)| format!("/{p}")).unwrap();
        let mut citizen = support::crawl_and_audit(&w, &c, &mut audit, &["/demo"], "/demo", 40).await;
        citizen.extend(support::crawl_and_audit(&w, &c, &mut audit, &[&manage_path], "/", 10).await);
        assert!(citizen.iter().any(|p| p.contains("/privacy")), "the privacy notice is linked: {citizen:?}");
        assert!(citizen.len() >= 5, "the crawler reached too few citizen pages: {citizen:?}");

        // The administrator: the sign-in page, then every staff page the menus lead to.
        c.goto(&w.server.url("/demo/staff/login")).await.expect("login page");
        audit.page(&c, &w.tools.axe, "staff sign-in").await;
        support::sign_in_as_demo_admin(&w, &c).await;
        // The booked day first, so its appointment's pages are reached.
        let booked_day = format!("/demo/staff?date={day}");
        let staff =
            support::crawl_and_audit(&w, &c, &mut audit, &[&booked_day, "/demo/staff"], "/demo/staff", 60).await;
        for page in [
            "/staff/desk",
            "/staff/offices",
            "/staff/users",
            "/staff/audit",
            "/staff/book",
            "/staff/appointments/",
            "/staff/reports",
        ] {
            assert!(staff.iter().any(|p| p.contains(page)), "no link led to {page}: {staff:?}");
        }
        eprintln!("audited citizen pages {citizen:?}\nand staff pages {staff:?}");
        audit.assert_clean();
    })
    .await;
}

// ---- staffui: the office's hours grid and the service's intake questions builder ----

/// The value of the input with HTML id `id`.
async fn value_of(c: &Client, id: &str) -> String {
    let v = c
        .execute("const e = document.getElementById(arguments[0]); return e ? e.value : null;", vec![json!(id)])
        .await
        .expect("read a value");
    v.as_str().unwrap_or_else(|| panic!("no input #{id}")).to_owned()
}

/// Sets a time input by id (typing into `<input type=time>` depends on the browser's locale).
async fn set_value(c: &Client, id: &str, value: &str) {
    c.execute("document.getElementById(arguments[0]).value = arguments[1];", vec![json!(id), json!(value)])
        .await
        .expect("set a value");
}

#[tokio::test]
async fn an_admin_copies_a_day_in_the_hours_grid_builds_intake_questions_and_both_pages_pass_axe() {
    with_world(|w| async move {
        let c = w.driver.session().await;
        let mut audit = Audit::default();
        support::sign_in_as_demo_admin(&w, &c).await;
        c.goto(&w.server.url("/demo/staff/offices")).await.expect("offices");
        audit.page(&c, &w.tools.axe, "offices").await;
        let first = wait_for(&c, Locator::XPath("//main//table//a[contains(@href, '/staff/offices/')]")).await;
        let office_url = click_to(&c, &first, |u| u.contains("/staff/offices/")).await;
        audit.page(&c, &w.tools.axe, "office: hours grid and closures").await;

        // Monday gets a second range through the script: no page load, a new row.
        let monday_add = wait_for(&c, Locator::Css("fieldset.weekday[data-day='1'] button[name=add_range]")).await;
        monday_add.click().await.expect("add a range");
        wait_for(&c, Locator::Id("f-d1_from2")).await;
        assert_eq!(current_url(&c).await, office_url, "the script added the row in the page");
        set_value(&c, "f-d1_from2", "14:00").await;
        set_value(&c, "f-d1_to2", "16:00").await;

        // "Copy to other days": Monday onto Saturday, at once with the script.
        wait_for(&c, Locator::Css("fieldset.weekday[data-day='1'] details.copy-day summary"))
            .await
            .click()
            .await
            .expect("open copy");
        wait_for(&c, Locator::Id("copy1-6")).await.click().await.expect("tick Saturday");
        button(&c, "Copia ora").await.click().await.expect("copy now");
        wait_for_text(&c, "Copiato su Sabato").await;
        assert_eq!(
            (value_of(&c, "f-d6_from1").await, value_of(&c, "f-d6_to1").await),
            ("09:00".to_owned(), "12:30".to_owned())
        );
        let saturday_second = c
            .find(Locator::Css("fieldset.weekday[data-day='6'] ol.ranges li:nth-child(2) input"))
            .await
            .expect("a second Saturday row");
        assert_eq!(saturday_second.prop("value").await.unwrap().as_deref(), Some("14:00"));
        assert!(!wait_for(&c, Locator::Id("copy1-6")).await.is_selected().await.unwrap(), "unticked once copied");
        audit.page(&c, &w.tools.axe, "office: a day copied").await;

        // Saved, the grid shows Saturday's two ranges from the server.
        // (The form's first, hidden button is the default one Enter presses.)
        let save = || wait_for(&c, Locator::Css("form[data-hours-grid] > button.btn"));
        save().await.click().await.expect("save hours");
        wait_for(&c, Locator::XPath("//input[@id='f-d6_from2' and @value='14:00']")).await;
        assert_eq!(value_of(&c, "f-d6_to2").await, "16:00");
        assert_eq!(value_of(&c, "f-d1_from2").await, "14:00");

        // A range that ends before it starts: the summary names the day, the range and the field.
        set_value(&c, "f-d3_to1", "08:00").await;
        save().await.click().await.expect("save bad hours");
        wait_for_text(&c, "Mercoledì, fascia 1, chiusura").await;
        audit.page(&c, &w.tools.axe, "office: a refused range").await;

        // A new service with intake questions: one added with the script, moved up, a choice.
        c.goto(&format!("{office_url}/services/new")).await.expect("new service");
        audit.page(&c, &w.tools.axe, "service: intake builder").await;
        fill(&c, "Nome", "Rimborso TARI").await;
        check(&c, "Video").await;
        wait_for(&c, Locator::Id("f-q1_label")).await.send_keys("Numero dell'avviso").await.unwrap();
        let before = c.find_all(Locator::Css("li.question")).await.unwrap().len();
        button(&c, "Aggiungi un'altra domanda").await.click().await.expect("add a question");
        let added = wait_for(&c, Locator::Id("f-q2_label")).await;
        assert_eq!(c.find_all(Locator::Css("li.question")).await.unwrap().len(), before + 1);
        added.send_keys("Quale rata?").await.unwrap();
        let options = wait_for(&c, Locator::Css("li.question:nth-child(2) [data-options]")).await;
        assert!(!options.is_displayed().await.unwrap(), "options hidden for a short text");
        c.find(Locator::Css("#f-q2_type option[value=choice]")).await.unwrap().click().await.unwrap();
        assert!(options.is_displayed().await.unwrap(), "options shown for a choice");
        wait_for(&c, Locator::Id("f-q2_options")).await.send_keys("Prima\nSeconda").await.unwrap();
        c.find(Locator::Css("li.question:nth-child(2) button[name=q_up]")).await.unwrap().click().await.unwrap();
        let first_label = c.find(Locator::Css("li.question:nth-child(1) input[name$=_label]")).await.unwrap();
        assert_eq!(first_label.prop("value").await.unwrap().as_deref(), Some("Quale rata?"));
        audit.page(&c, &w.tools.axe, "service: two questions, moved").await;
        wait_for(&c, Locator::XPath("//form/button[@class='btn' and contains(., 'Crea il servizio')]"))
            .await
            .click()
            .await
            .expect("create");
        let made = wait_for(&c, Locator::XPath("//a[normalize-space(.)='Rimborso TARI']")).await;
        click_to(&c, &made, |u| u.contains("/staff/services/")).await;
        assert_eq!(value_of(&c, "f-q1_label").await, "Quale rata?");
        assert_eq!(value_of(&c, "f-q1_options").await, "Prima\nSeconda");
        assert_eq!(value_of(&c, "f-q2_key").await, "numero_dell_avviso");
        audit.page(&c, &w.tools.axe, "service: saved questions").await;
        audit.assert_clean();
    })
    .await;
}

// ---- webpush ----

/// A walk-in ticket of the demo's URP through the API; returns its join link.
async fn walk_in_ticket(w: &World, name: &str) -> String {
    let http = reqwest::Client::new();
    let offices: serde_json::Value =
        http.get(w.server.url("/api/v1/demo/offices")).send().await.unwrap().json().await.unwrap();
    let urp =
        offices.as_array().unwrap().iter().find(|o| o["name"].as_str().unwrap().starts_with("URP")).unwrap()["id"]
            .as_i64()
            .unwrap();
    let resp = http
        .post(w.server.url(&format!("/api/v1/demo/offices/{urp}/tickets")))
        .json(&json!({"name": name}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201, "take a ticket");
    let ticket: serde_json::Value = resp.json().await.unwrap();
    ticket["join_url"].as_str().unwrap().to_owned()
}

/// The scope of the service worker registered for the current page, once active (`None` when
/// none is after `tries` looks, 100 ms apart).
async fn service_worker_scope(c: &Client, tries: usize) -> Option<String> {
    for _ in 0..tries {
        let scope = c
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 if (!('serviceWorker' in navigator)) { done('unsupported'); return; }
                 navigator.serviceWorker.getRegistration().then(r => done(r && r.active ? r.scope : null), () => done(null));",
                vec![],
            )
            .await
            .expect("ask for the service worker");
        if let Some(scope) = scope.as_str() {
            return Some(scope.to_owned());
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    None
}

#[tokio::test]
async fn the_waiting_room_offers_push_only_when_the_town_enabled_it_and_its_worker_comes_from_the_link_itself() {
    with_world(|w| async move {
        let c = w.driver.session().await;
        let join = walk_in_ticket(&w, "Anna Verdi").await;
        c.goto(&join).await.expect("open the waiting room");
        wait_for(&c, Locator::Id("phase-check")).await;
        // Each test has its own server, whose demo town starts with Web Push off.
        assert!(c.find(Locator::Id("push")).await.is_err(), "no push offer while the town has it off");
        assert_eq!(service_worker_scope(&c, 1).await, None, "no service worker while the town has Web Push off");
        // The administrator turns it on in the town's settings.
        support::sign_in_as_demo_admin(&w, &c).await;
        c.goto(&w.server.url("/demo/staff/settings")).await.expect("settings page");
        wait_for(&c, Locator::Id("f-web-push")).await.click().await.expect("tick web push");
        let save = button(&c, "Salva l'avviso").await;
        click_to(&c, &save, |u| u.contains("/staff/settings")).await;
        let ticked = c
            .execute("return document.getElementById('f-web-push').checked;", vec![])
            .await
            .expect("read the checkbox");
        assert_eq!(ticked, json!(true), "the setting is saved");
        let join = walk_in_ticket(&w, "Bruno Neri").await;
        c.goto(&join).await.expect("open the waiting room again");
        wait_for(&c, Locator::Id("push-subscribe")).await;
        // The worker is registered from the link's own path: its scope is that link alone.
        let scope = service_worker_scope(&c, 50).await.expect("the service worker registers");
        assert_eq!(scope, join.trim_end_matches("join"), "the worker's scope is the link");
        assert!(scope.starts_with(&format!("{}/a/", w.server.origin)), "from our own origin: {scope}");
        let registered = c
            .execute("return document.getElementById('push').getAttribute('data-registered');", vec![])
            .await
            .expect("read the box");
        assert_eq!(registered, json!("true"));
        assert_same_origin(&c, &w.server.origin, "waiting room with Web Push").await;
    })
    .await;
}
// ---- end webpush ----
