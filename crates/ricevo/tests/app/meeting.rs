//! The virtual office end to end in real headless Chromium with a fake camera and microphone:
//! a citizen takes a ticket at the demo town's walk-in desk, checks devices and waits; the
//! official signs in, sees them on the dashboard and admits them; both sides decode each
//! other's video and audio through the embedded SFU; a shared screen and a document arrive; a
//! second citizen's link cannot enter the meeting; a reload goes straight back in.
//!
//! Needs `chromium` and `chromedriver` (`scripts/test` installs them); under `CI=true` a missing
//! browser fails. Every wait is bounded and waits for a state, never asserts on time.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr, clippy::print_stdout)]

use crate::support;

use std::time::{Duration, Instant};

use fantoccini::{Client, Locator};
use serde_json::{Value, json};
use support::{Audit, ELEMENT_WITHIN, World, body_text, current_url, wait_for, with_world, with_world_env};

/// The budget of the waiting room and meeting page over the wire, cold cache, with every
/// script and style (it is one page: the meeting opens in place after admission).
const ROOM_PAGE_BUDGET: u64 = 200 * 1024;

/// Bound for media to flow after a step (WebRTC set-up plus the first keyframe).
const MEDIA_WITHIN: Duration = Duration::from_secs(45);

/// What a page's peer connection receives, from `getStats()`.
#[derive(Debug, Default)]
struct Received {
    /// Frames decoded per inbound video stream.
    video_frames: Vec<u64>,
    /// Total audio energy per inbound audio stream.
    audio_energy: Vec<f64>,
    /// `connectionState`.
    state: String,
}

async fn received(c: &Client) -> Received {
    let script = r#"
        const done = arguments[arguments.length - 1];
        const pc = window.ricevo && window.ricevo.pc();
        if (!pc) { done(null); return; }
        pc.getStats().then(stats => {
          const out = { video: [], audio: [], state: pc.connectionState };
          stats.forEach(r => {
            if (r.type !== 'inbound-rtp') return;
            if (r.kind === 'video') out.video.push(r.framesDecoded || 0);
            if (r.kind === 'audio') out.audio.push(r.totalAudioEnergy || 0);
          });
          done(out);
        }, () => done(null));
    "#;
    match c.execute_async(script, vec![]).await.expect("getStats") {
        Value::Null => Received::default(),
        v => Received {
            video_frames: v["video"].as_array().unwrap().iter().map(|x| x.as_u64().unwrap_or(0)).collect(),
            audio_energy: v["audio"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap_or(0.0)).collect(),
            state: v["state"].as_str().unwrap_or("").to_owned(),
        },
    }
}

/// Waits (bounded) until `c` decodes video from at least `videos` streams and hears audio.
async fn wait_for_media(c: &Client, who: &str, videos: usize) -> Received {
    let started = Instant::now();
    loop {
        let r = received(c).await;
        let decoding = r.video_frames.iter().filter(|f| **f > 0).count();
        let hearing = r.audio_energy.iter().any(|e| *e > 0.0);
        if decoding >= videos && hearing {
            return r;
        }
        assert!(
            started.elapsed() < MEDIA_WITHIN,
            "{who} did not decode {videos} video stream(s) and audio within {MEDIA_WITHIN:?}: {r:?}\npage says:\n{}",
            body_text(c).await
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Waits (bounded) until the page's script says it is in `phase`.
async fn wait_for_phase(c: &Client, phase: &str) {
    let started = Instant::now();
    loop {
        let now = c.execute("return window.ricevo ? window.ricevo.state : ''", vec![]).await.expect("state");
        if now.as_str() == Some(phase) {
            return;
        }
        assert!(
            started.elapsed() < ELEMENT_WITHIN,
            "the page did not reach {phase:?} (it is {now:?}); it says:\n{}",
            body_text(c).await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits (bounded) until the element with `id` contains `text`.
async fn wait_for_text_in(c: &Client, id: &str, text: &str) -> String {
    let started = Instant::now();
    loop {
        let got = c
            .execute("const e = document.getElementById(arguments[0]); return e ? e.innerText : ''", vec![json!(id)])
            .await
            .expect("read text");
        let got = got.as_str().unwrap_or("").to_owned();
        if got.contains(text) {
            return got;
        }
        assert!(started.elapsed() < ELEMENT_WITHIN, "#{id} never said {text:?}; it says {got:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Clicks the element at `xpath`, finding it again if the live dashboard replaced it meanwhile.
async fn click_retrying(c: &Client, xpath: &str) {
    let started = Instant::now();
    loop {
        let e = wait_for(c, Locator::XPath(xpath)).await;
        match e.click().await {
            Ok(()) => return,
            Err(err) => assert!(started.elapsed() < ELEMENT_WITHIN, "cannot click {xpath}: {err}"),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn click_id(c: &Client, id: &str) {
    wait_for(c, Locator::Id(id)).await.click().await.unwrap_or_else(|e| panic!("click #{id}: {e}"));
}

/// Takes a walk-in ticket through the public API; returns the join URL.
async fn ticket(w: &World, name: &str) -> String {
    let office = urp_office(w).await;
    let resp = reqwest::Client::new()
        .post(w.server.url(&format!("/api/v1/demo/offices/{office}/tickets")))
        .json(&json!({ "name": name }))
        .send()
        .await
        .expect("take a ticket");
    assert_eq!(resp.status(), 201);
    let body: Value = resp.json().await.expect("ticket JSON");
    assert!(body["ticket_number"].as_i64().unwrap() >= 1);
    body["join_url"].as_str().unwrap().to_owned()
}

/// The demo town's URP office, whose walk-in desk is always open.
async fn urp_office(w: &World) -> i64 {
    let offices: Value =
        reqwest::get(w.server.url("/api/v1/demo/offices")).await.expect("offices").json().await.expect("JSON");
    let urp = offices.as_array().unwrap().iter().find(|o| o["name"].as_str().unwrap().starts_with("URP")).unwrap();
    assert_eq!(urp["walk_in_open"], true);
    urp["id"].as_i64().unwrap()
}

/// Signs the demo administrator in and opens the URP dashboard.
async fn official_dashboard(w: &World, c: &Client) {
    c.goto(&w.server.url("/demo/staff/login")).await.expect("login page");
    let email = wait_for(c, Locator::Css("input[name=email]")).await;
    email.send_keys("admin@esempio.it").await.expect("type e-mail");
    let password = wait_for(c, Locator::Css("input[name=password]")).await;
    password.send_keys(&w.server.admin_password()).await.expect("type password");
    wait_for(c, Locator::Css("form.login button[type=submit]")).await.click().await.expect("sign in");
    support::wait_for_url(c, "login", |u| !u.contains("/login")).await;
    let office = urp_office(w).await;
    c.goto(&w.server.url(&format!("/demo/staff/desk/{office}"))).await.expect("dashboard");
}

/// The browser tab an admission opened beside `desk` (bounded wait).
async fn meeting_tab(official: &Client, desk: &fantoccini::wd::WindowHandle) -> fantoccini::wd::WindowHandle {
    let started = Instant::now();
    loop {
        let windows = official.windows().await.expect("windows");
        if let Some(w) = windows.into_iter().find(|h| h != desk) {
            return w;
        }
        assert!(started.elapsed() < ELEMENT_WITHIN, "admitting opened no meeting tab");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The bytes a page downloads from a link, fetched inside the page (its cookies and origin).
async fn fetch_bytes(c: &Client, href: &str) -> Vec<u8> {
    let script = r#"
        const done = arguments[arguments.length - 1];
        fetch(arguments[0]).then(r => r.arrayBuffer()).then(b => done(Array.from(new Uint8Array(b))), e => done(String(e)));
    "#;
    let v = c.execute_async(script, vec![json!(href)]).await.expect("fetch in page");
    v.as_array().unwrap_or_else(|| panic!("download failed: {v}")).iter().map(|b| b.as_u64().unwrap() as u8).collect()
}

#[tokio::test]
async fn citizen_and_official_meet_by_video_share_a_screen_and_a_document_and_the_gate_holds() {
    with_world(|w: World| async move {
        // The citizen takes a ticket on the walk-in page.
        let mut audit = Audit::default();
        let axe = w.tools.axe.clone();
        let citizen = w.driver.session().await;
        citizen.goto(&w.server.url("/demo/walk-in")).await.expect("walk-in page");
        audit.page(&citizen, &axe, "walk-in desk").await;
        wait_for(&citizen, Locator::Css("input[name=name]")).await.send_keys("Lucia Bianchi").await.expect("name");
        wait_for(&citizen, Locator::Css("form button[type=submit]")).await.click().await.expect("take a ticket");
        support::wait_for_url(&citizen, "walk-in", |u| u.contains("/join")).await;
        // Device check: the fake camera shows in the preview, then into the waiting room.
        wait_for_phase(&citizen, "check").await;
        wait_for_text_in(&citizen, "device-status", "funzionano").await;
        audit.page(&citizen, &axe, "device check").await;
        click_id(&citizen, "go-full").await;
        wait_for_phase(&citizen, "waiting").await;
        let status = wait_for_text_in(&citizen, "wait-position", "Sei il prossimo").await;
        audit.page(&citizen, &axe, "waiting room").await;
        assert!(status.contains("prossimo"), "{status}");
        assert!(
            citizen.execute("return window.ricevo.pc() === null", vec![]).await.unwrap().as_bool().unwrap(),
            "no media before admission"
        );

        // The official sees Lucia on the dashboard, live, and admits her: the meeting opens
        // in the browser tab kept for meetings (one named tab, reused by every admission).
        let official = w.driver.session().await;
        official_dashboard(&w, &official).await;
        wait_for_text_in(&official, "queue", "Lucia Bianchi").await;
        audit.page(&official, &axe, "official's dashboard").await;
        let dashboard = official.window().await.expect("dashboard window");
        click_retrying(&official, "//tr[.//th[contains(., 'Lucia Bianchi')]]//button[contains(., 'Fai entrare')]")
            .await;
        let meeting_tab = meeting_tab(&official, &dashboard).await;
        official.switch_to_window(meeting_tab).await.expect("switch to the meeting");
        wait_for_phase(&official, "meeting").await;
        wait_for_phase(&citizen, "meeting").await;

        // Each side decodes the other's video and hears the other's audio.
        let seen_by_official = wait_for_media(&official, "the official", 1).await;
        let seen_by_citizen = wait_for_media(&citizen, "the citizen", 1).await;
        assert_eq!(seen_by_official.state, "connected");
        assert_eq!(seen_by_citizen.state, "connected");
        let metrics = reqwest::Client::new()
            .get(w.server.url("/metrics"))
            .bearer_auth(support::METRICS_TOKEN)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let metric = |name: &str| -> u64 {
            metrics.lines().find_map(|l| l.strip_prefix(&format!("{name} "))).unwrap().trim().parse().unwrap()
        };
        assert_eq!(metric("ricevo_media_rooms"), 1, "{metrics}");
        assert_eq!(metric("ricevo_media_participants"), 2);
        assert!(metric("ricevo_media_packets_forwarded_total") > 0);
        wait_for_text_in(&official, "participants", "Lucia Bianchi").await;
        // A control the page hides is not on screen, whatever its class sets (`.btn` is a
        // flex box): the citizen sees no "end for everyone", the official no "ask to speak".
        let shown = |id: &'static str| format!("return document.getElementById('{id}').getClientRects().length > 0");
        for (page, who, id) in [(&citizen, "citizen", "end"), (&official, "official", "ask-to-speak")] {
            let visible = page.execute(&shown(id), vec![]).await.unwrap();
            assert_eq!(visible, json!(false), "the {who} sees #{id}");
        }
        assert_eq!(official.execute(&shown("end"), vec![]).await.unwrap(), json!(true), "the official ends meetings");
        audit.page(&citizen, &axe, "meeting (citizen)").await;
        audit.page(&official, &axe, "meeting (official)").await;

        // Chat reaches the other side (the chat opens as a panel over the call).
        click_id(&citizen, "open-chat").await;
        wait_for(&citizen, Locator::Id("chat-text")).await.send_keys("Buongiorno, ho la ricevuta").await.unwrap();
        wait_for(&citizen, Locator::Css("#chat-form button[type=submit]")).await.click().await.unwrap();
        wait_for_text_in(&official, "chat-log", "Buongiorno, ho la ricevuta").await;

        // A second citizen's link stays in the waiting room and cannot join the meeting,
        // not even by sending an offer by hand.
        let intruder_url = ticket(&w, "Carlo Verdi").await;
        let intruder = w.driver.session().await;
        intruder.goto(&intruder_url).await.expect("second join link");
        wait_for_phase(&intruder, "check").await;
        click_id(&intruder, "go-none").await;
        wait_for_phase(&intruder, "waiting").await;
        wait_for_text_in(&intruder, "wait-status", "Attendi").await;
        // A fresh browser opening a join link: everything the waiting room and meeting need.
        let (document, resources) = support::transferred(&intruder).await;
        let total = document + resources.iter().map(|(_, n)| n).sum::<u64>();
        eprintln!("waiting room + meeting page, cold cache: {total} bytes ({document} document, {resources:?})");
        assert!(document > 0 && resources.iter().any(|(u, n)| u.contains("room.js") && *n > 0), "{resources:?}");
        assert!(total < ROOM_PAGE_BUDGET, "the room page weighs {total} bytes, over {ROOM_PAGE_BUDGET}");
        for u in support::requested_urls(&intruder).await {
            assert!(u.starts_with(&w.server.origin), "a request left the origin: {u}");
        }
        let refused = intruder
            .execute_async(
                r#"
                const done = arguments[arguments.length - 1];
                const data = JSON.parse(document.getElementById('room-data').textContent);
                const ws = new WebSocket('ws://' + location.host + data.ws);
                const seen = [];
                ws.onmessage = e => {
                  const m = JSON.parse(e.data);
                  seen.push(m.type);
                  if (m.type === 'state') ws.send(JSON.stringify({type: 'offer', sdp: 'v=0\r\n'}));
                  if (m.type === 'error') { done({error: m.message, seen: seen}); ws.close(); }
                };
                setTimeout(() => done({error: null, seen: seen}), 15000);
                "#,
                vec![],
            )
            .await
            .expect("hand-made offer");
        assert_eq!(refused["error"], "non sei ancora stato ammesso", "{refused}");
        let seen: Vec<&str> = refused["seen"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
        assert!(
            !seen.iter().any(|t| ["admitted", "participants", "chat", "document", "offer", "answer"].contains(t)),
            "{seen:?}"
        );
        assert!(intruder.execute("return window.ricevo.pc() === null", vec![]).await.unwrap().as_bool().unwrap());
        let people = wait_for_text_in(&official, "participants", "Lucia").await;
        assert!(!people.contains("Carlo"), "the second citizen is not in the meeting: {people}");

        // The citizen shares her screen: the official decodes a second video stream.
        click_id(&citizen, "share").await;
        wait_for_text_in(&citizen, "share", "Interrompi").await;
        wait_for_media(&official, "the official (screen)", 2).await;

        // A document uploaded by the citizen arrives intact at the official.
        let document: Vec<u8> =
            b"%PDF-1.4\n% Ricevo test document\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n".to_vec();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ricevuta.pdf");
        std::fs::write(&path, &document).unwrap();
        click_id(&citizen, "open-documents").await;
        let input = wait_for(&citizen, Locator::Id("document-file")).await;
        input.send_keys(path.to_str().unwrap()).await.expect("choose the file");
        wait_for(&citizen, Locator::Css("#documents-form button[type=submit]")).await.click().await.expect("upload");
        wait_for_text_in(&citizen, "document-status", "inviato").await;
        click_id(&official, "open-documents").await;
        let link = wait_for(&official, Locator::Css("#documents a")).await;
        assert_eq!(link.text().await.unwrap(), "ricevuta.pdf");
        let href = link.attr("href").await.unwrap().unwrap();
        assert_eq!(fetch_bytes(&official, &href).await, document, "the document arrives byte for byte");
        // The second citizen's link cannot download it.
        let status = intruder
            .execute_async(
                "const done = arguments[arguments.length - 1]; fetch(arguments[0]).then(r => done(r.status));",
                vec![json!(href)],
            )
            .await
            .unwrap();
        assert_eq!(status, 404, "another link's documents are not reachable");

        // A reload of the citizen's page goes straight back into the meeting.
        citizen.refresh().await.expect("reload");
        wait_for_phase(&citizen, "meeting").await;
        let hidden = citizen.execute("return document.getElementById('phase-waiting').hidden", vec![]).await.unwrap();
        assert_eq!(hidden, true, "no waiting room after a reload");
        wait_for_media(&citizen, "the citizen after reload", 1).await;
        assert!(current_url(&citizen).await.contains("/join"));

        // The official mutes the citizen, then ends the meeting: both see the closing page.
        click_id(&official, "open-people").await;
        click_retrying(&official, "//ul[@id='participants']//button[contains(., 'Spegni microfono a')]").await;
        wait_for_text_in(&citizen, "notice", "ha spento il tuo microfono").await;
        click_id(&official, "end").await;
        official.accept_alert().await.expect("confirm ending");
        // The citizen's page goes to the closing page, which asks for feedback at once.
        wait_for(&citizen, Locator::Id("feedback-form")).await;
        citizen.refresh().await.expect("reload after the end");
        let text = body_text(&citizen).await;
        assert!(text.contains("Incontro terminato"), "an ended meeting's link shows the closing page: {text}");
        audit.assert_clean();
    })
    .await;
}

// ---- call: the call screen (issue 13) ----

/// The citizen's whole call page (HTML, CSS, JavaScript, compressed as served, cold cache).
const CITIZEN_CALL_BUDGET: u64 = 30 * 1024;

/// Waits (bounded) until `script` returns true in the page.
async fn wait_until(c: &Client, what: &str, script: &str) {
    let started = Instant::now();
    loop {
        if c.execute(script, vec![]).await.expect(what).as_bool() == Some(true) {
            return;
        }
        assert!(started.elapsed() < ELEMENT_WITHIN, "{what} never happened; the page says:\n{}", body_text(c).await);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Presses one key as a keyboard does, on whatever has the focus (WebDriver key codes: Tab,
/// Enter, Escape).
async fn press(c: &Client, key: char) {
    use fantoccini::actions::{InputSource, KeyAction, KeyActions};
    let keys =
        KeyActions::new("keyboard".into()).then(KeyAction::Down { value: key }).then(KeyAction::Up { value: key });
    c.perform_actions(keys).await.expect("press a key");
}

const TAB: char = '\u{E004}';
const ENTER: char = '\u{E007}';
const ESCAPE: char = '\u{E00C}';

/// The id of the focused element and whether its focus is drawn (an outline, as
/// `:focus-visible` gives keyboard users).
async fn focused(c: &Client) -> (String, bool) {
    let v = c
        .execute(
            "const e = document.activeElement; const s = getComputedStyle(e); \
             return [e.id || e.tagName, s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2];",
            vec![],
        )
        .await
        .expect("focus");
    (v[0].as_str().unwrap_or("").to_owned(), v[1].as_bool().unwrap_or(false))
}

#[tokio::test]
async fn the_call_is_a_screen_citizens_see_no_official_controls_hear_their_turn_and_keep_the_chat() {
    with_world(|w: World| async move {
        let mut audit = Audit::default();
        let axe = w.tools.axe.clone();
        let join = ticket(&w, "Giulia Conti").await;
        let citizen = w.driver.session().await;
        citizen.goto(&join).await.expect("join link");
        wait_for_phase(&citizen, "check").await;
        // The whole page a citizen's phone downloads for the call, compressed as served.
        let (document, resources) = support::transferred(&citizen).await;
        let total = document + resources.iter().map(|(_, n)| n).sum::<u64>();
        eprintln!("citizen's call page, cold cache: {total} bytes ({document} document, {resources:?})");
        assert!(resources.iter().any(|(u, n)| u.contains("room.js") && *n > 0), "{resources:?}");
        assert!(total < CITIZEN_CALL_BUDGET, "the call page weighs {total} bytes, over {CITIZEN_CALL_BUDGET}");
        // A phone browser that cannot share a screen (no getDisplayMedia) gets no share button.
        citizen.execute("MediaDevices.prototype.getDisplayMedia = undefined;", vec![]).await.unwrap();
        wait_for_text_in(&citizen, "device-status", "funzionano").await;
        click_id(&citizen, "go-full").await;
        wait_for_phase(&citizen, "waiting").await;
        wait_until(&citizen, "no admitted cue while waiting", "return window.ricevo.cues.admitted === 0").await;

        let official = w.driver.session().await;
        official_dashboard(&w, &official).await;
        wait_for_text_in(&official, "queue", "Giulia Conti").await;
        let dashboard = official.window().await.expect("dashboard window");
        click_retrying(&official, "//tr[.//th[contains(., 'Giulia Conti')]]//button[contains(., 'Fai entrare')]").await;
        let meeting_tab = meeting_tab(&official, &dashboard).await;
        official.switch_to_window(meeting_tab).await.expect("switch to the meeting");
        wait_for_phase(&official, "meeting").await;

        // The admitted cue: a tone (counted), the tab's title, a clear heading with the focus.
        wait_for_phase(&citizen, "meeting").await;
        let cue = citizen
            .execute(
                "return [window.ricevo.cues.admitted, document.title, document.activeElement.id, \
                 document.getElementById('meeting-h').textContent]",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(cue[0], 1, "{cue}");
        assert!(cue[1].as_str().unwrap().starts_with("Tocca a te"), "{cue}");
        assert_eq!(cue[2], "meeting-h", "{cue}");
        assert!(cue[3].as_str().unwrap().contains("Tocca a te"), "{cue}");
        assert_eq!(official.execute("return window.ricevo.cues.admitted", vec![]).await.unwrap(), 0);

        // The citizen never sees an official's control nor the case; the official does.
        wait_for_text_in(&citizen, "participants", "Amministratore").await;
        wait_for_text_in(&official, "participants", "Giulia Conti").await;
        let shown = |id: &str| format!("return document.getElementById('{id}').getClientRects().length > 0");
        for id in ["end", "open-case", "share", "panel-case"] {
            assert_eq!(citizen.execute(&shown(id), vec![]).await.unwrap(), json!(false), "the citizen sees #{id}");
        }
        let citizen_view = citizen
            .execute(
                "return [document.querySelectorAll('#participants button').length, \
                 document.getElementById('case').textContent]",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(citizen_view, json!([0, ""]), "no moderation buttons and no case on the citizen's page");
        for id in ["end", "open-case", "share"] {
            assert_eq!(official.execute(&shown(id), vec![]).await.unwrap(), json!(true), "the official lacks #{id}");
        }
        // On a desk-sized screen the case is beside the call from the start.
        let case = wait_for_text_in(&official, "case", "Giulia Conti").await;
        assert!(case.contains("Numero"), "the ticket number is in the case: {case}");
        wait_until(
            &official,
            "moderation buttons",
            "return document.querySelectorAll('#participants button').length >= 2",
        )
        .await;

        // The official shares a screen: the citizen sees it whole (contain, not cover) and large.
        click_id(&official, "share").await;
        wait_until(
            &citizen,
            "a shared screen tile",
            "return !!document.querySelector('#tiles .tile.screen:not(.idle) video')",
        )
        .await;
        let screen = citizen
            .execute(
                "const v = document.querySelector('#tiles .tile.screen video'); \
                 const stage = document.getElementById('tiles'); \
                 return [getComputedStyle(v).objectFit, v.getBoundingClientRect().width, stage.clientWidth, \
                         document.documentElement.scrollHeight <= window.innerHeight];",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(screen[0], "contain", "{screen}");
        assert!(
            screen[1].as_f64().unwrap() >= screen[2].as_f64().unwrap() - 40.0,
            "the screen spans the stage: {screen}"
        );
        assert_eq!(screen[3], true, "the call fits the window without a page scroll: {screen}");
        audit.page(&citizen, &axe, "call (citizen, a screen shared)").await;
        audit.page(&official, &axe, "call (official, case panel open)").await;

        // Keyboard only: Tab reaches every control of the bar, each with a visible focus.
        citizen.execute("document.getElementById('meeting-h').focus()", vec![]).await.unwrap();
        let mut reached = Vec::new();
        for _ in 0..20 {
            press(&citizen, TAB).await;
            let (id, drawn) = focused(&citizen).await;
            // Past the last control the focus leaves the page (the browser's own controls).
            if id == "BODY" || reached.contains(&id) {
                break;
            }
            assert!(drawn, "the focus on #{id} is not visible");
            reached.push(id);
        }
        for id in ["mic", "cam", "open-chat", "open-documents", "open-people", "leave"] {
            assert!(reached.iter().any(|r| r == id), "Tab never reached #{id}: {reached:?}");
        }
        assert!(
            !reached.iter().any(|r| r == "end" || r == "share"),
            "hidden controls are not in the tab order: {reached:?}"
        );
        // The chat opens from the keyboard with the focus inside, sends, and Escape closes it
        // and gives the focus back to its button.
        citizen.execute("document.getElementById('open-chat').focus()", vec![]).await.unwrap();
        press(&citizen, ENTER).await;
        wait_until(&citizen, "focus in the chat", "return document.activeElement.id === 'chat-text'").await;
        audit.page(&citizen, &axe, "call (citizen, chat panel open)").await;
        // The same on a phone's screen: the panel is a sheet over the call, the bar stays.
        citizen.set_window_size(360, 740).await.expect("phone size");
        audit.page(&citizen, &axe, "call (citizen, phone, chat panel open)").await;
        let bar = citizen
            .execute(
                "const r = document.querySelector('.bar').getBoundingClientRect(); \
                 return [r.bottom <= window.innerHeight + 1, \
                         [...document.querySelectorAll('.bar button')].filter(b => b.getClientRects().length) \
                           .every(b => b.offsetWidth >= 44 && b.offsetHeight >= 44)];",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(bar, json!([true, true]), "the bar is on screen with 44px targets");
        citizen.active_element().await.unwrap().send_keys("Ho portato il modulo firmato").await.unwrap();
        press(&citizen, ENTER).await;
        wait_for_text_in(&official, "chat-log", "Ho portato il modulo firmato").await;
        // The official, whose chat is closed, sees the count of unread lines on its button.
        let badge = wait_for_text_in(&official, "open-chat", "1").await;
        assert!(badge.contains("non letti") || badge.contains('1'), "{badge}");
        press(&citizen, ESCAPE).await;
        wait_until(
            &citizen,
            "Escape closes the chat",
            "return document.getElementById('panel-chat').hidden && document.activeElement.id === 'open-chat'",
        )
        .await;
        click_id(&official, "open-chat").await;
        wait_until(&official, "the count clears", "return document.querySelector('#open-chat .badge').hidden").await;
        audit.page(&official, &axe, "call (official, chat panel open)").await;

        // The chat is kept with the meeting: a reload shows it again, without a second cue.
        citizen.refresh().await.expect("reload");
        wait_for_phase(&citizen, "meeting").await;
        wait_for_text_in(&citizen, "chat-log", "Ho portato il modulo firmato").await;
        assert_eq!(citizen.execute("return window.ricevo.cues.admitted", vec![]).await.unwrap(), 0);
        audit.assert_clean();
    })
    .await;
}

// ---- desk: opens where people wait, counts on the tabs, one reused meeting tab, a meeting everyone left closes ----

/// Bound for a deserted meeting to close: a 2-second grace plus a sweep every second, on a busy
/// machine.
const DESERTED_WITHIN: Duration = Duration::from_secs(90);

/// A citizen's page in the waiting room of a walk-in ticket (no camera needed).
async fn waiting_citizen(w: &World, name: &str) -> (Client, String) {
    let join = ticket(w, name).await;
    let c = w.driver.session().await;
    c.goto(&join).await.expect("join link");
    wait_for_phase(&c, "check").await;
    click_id(&c, "go-none").await;
    wait_for_phase(&c, "waiting").await;
    (c, join)
}

/// The text of the element matching `css`, or "" when there is none.
async fn text_of(c: &Client, css: &str) -> String {
    let v = c
        .execute("const e = document.querySelector(arguments[0]); return e ? e.textContent : ''", vec![json!(css)])
        .await
        .expect("read text");
    v.as_str().unwrap_or("").to_owned()
}

/// Waits (bounded by `within`) until `check` holds for the text of `css`.
async fn wait_for_css_text(c: &Client, css: &str, within: Duration, check: impl Fn(&str) -> bool) -> String {
    let started = Instant::now();
    loop {
        let got = text_of(c, css).await;
        if check(&got) {
            return got;
        }
        assert!(started.elapsed() < within, "{css} never got there; it says {got:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn the_desk_opens_where_people_wait_admits_into_one_reused_tab_and_a_meeting_everyone_left_closes() {
    with_world_env(&[("RICEVO_EMPTY_MEETING_GRACE_SECONDS", "2")], |w: World| async move {
        let mut audit = Audit::default();
        let axe = w.tools.axe.clone();
        let urp = urp_office(&w).await;
        // People wait only at the URP, the last of the demo's offices in the town's order.
        let (anna, _) = waiting_citizen(&w, "Anna Neri").await;
        let (bruno, bruno_join) = waiting_citizen(&w, "Bruno Gialli").await;
        wait_for_text_in(&bruno, "wait-position", "2").await;

        // The official signs in and opens "the desk": it opens on the URP, with its count.
        let official = w.driver.session().await;
        official.goto(&w.server.url("/demo/staff/login")).await.expect("login page");
        wait_for(&official, Locator::Css("input[name=email]")).await.send_keys("admin@esempio.it").await.unwrap();
        let password = wait_for(&official, Locator::Css("input[name=password]")).await;
        password.send_keys(&w.server.admin_password()).await.unwrap();
        wait_for(&official, Locator::Css("form.login button[type=submit]")).await.click().await.unwrap();
        support::wait_for_url(&official, "login", |u| !u.contains("/login")).await;
        official.goto(&w.server.url("/demo/staff/desk")).await.expect("the desk");
        support::wait_for_url(&official, "desk", |u| u.ends_with(&format!("/desk/{urp}"))).await;
        let count = format!("[data-count-for='{urp}']");
        assert_eq!(text_of(&official, &count).await, "2", "two wait at the URP");
        let current = text_of(&official, ".desk-tabs a[aria-current=page]").await;
        assert!(current.starts_with("URP"), "the URP tab is the current one: {current}");
        let others: Vec<String> = official
            .execute(
                "return Array.from(document.querySelectorAll('.desk-tabs a:not([aria-current]) .count')).map(e => e.textContent)",
                vec![],
            )
            .await
            .unwrap()
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect();
        assert!(!others.is_empty() && others.iter().all(|n| n == "0"), "nobody waits elsewhere: {others:?}");
        wait_for_text_in(&official, "queue", "Bruno Gialli").await;

        // The menu of the rest opens from the keyboard, and the desk passes axe with it open,
        // on a PC and on a phone.
        let summary = "//tr[.//th[contains(., 'Anna Neri')]]//summary";
        wait_for(&official, Locator::XPath(summary)).await.send_keys("\u{e00d}").await.expect("space on the menu");
        let open = official.execute("return !!document.querySelector('details.row-menu[open]')", vec![]).await.unwrap();
        assert_eq!(open, json!(true), "the menu opens with the keyboard");
        audit.page(&official, &axe, "desk with a menu open (PC)").await;
        official.set_window_size(360, 740).await.expect("phone size");
        audit.page(&official, &axe, "desk with a menu open (phone)").await;
        official.set_window_size(1280, 800).await.expect("PC size");
        // Escape closes it.
        official.active_element().await.unwrap().send_keys("\u{e00c}").await.unwrap();
        let open = official.execute("return !!document.querySelector('details.row-menu[open]')", vec![]).await.unwrap();
        assert_eq!(open, json!(false), "Escape closes the menu");

        // Two admissions: the meeting opens in one named tab, reused the second time.
        let desk = official.window().await.unwrap();
        click_retrying(&official, "//tr[.//th[contains(., 'Anna Neri')]]//button[contains(., 'Fai entrare')]").await;
        let meeting_tab = meeting_tab(&official, &desk).await;
        assert_eq!(official.windows().await.unwrap().len(), 2, "the desk and one meeting tab");
        wait_for_phase(&anna, "meeting").await;
        // Bruno hears at once that he is next, and the tab's count follows.
        wait_for_text_in(&bruno, "wait-position", "Sei il prossimo").await;
        wait_for_css_text(&official, &count, ELEMENT_WITHIN, |t| t == "1").await;
        click_retrying(&official, "//tr[.//th[contains(., 'Bruno Gialli')]]//button[contains(., 'Fai entrare')]").await;
        wait_for_phase(&bruno, "meeting").await;
        let windows = official.windows().await.unwrap();
        assert_eq!(windows.len(), 2, "the second admission reused the meeting tab");
        official.switch_to_window(meeting_tab).await.unwrap();
        wait_for_phase(&official, "meeting").await;
        wait_for_text_in(&official, "participants", "Bruno Gialli").await;

        // Everyone leaves Bruno's meeting: it closes by itself, the desk drops its row and his
        // place ends. Anna, still connected in hers, keeps hers.
        official.close_window().await.expect("close the meeting tab");
        official.switch_to_window(desk).await.unwrap();
        bruno.goto("about:blank").await.unwrap();
        wait_for_css_text(&official, "#queue", DESERTED_WITHIN, |t| !t.contains("Bruno Gialli")).await;
        let queue = text_of(&official, "#queue").await;
        assert!(queue.contains("Anna Neri"), "a meeting with someone in it stays: {queue}");
        bruno.goto(&bruno_join).await.unwrap();
        let text = body_text(&bruno).await;
        assert!(text.contains("Incontro terminato"), "his link shows the closing page: {text}");
        audit.page(&official, &axe, "desk after a meeting closed by itself").await;
        audit.assert_clean();
    })
    .await;
}
