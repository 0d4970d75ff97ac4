//! A council session end to end in real headless Chromium with fake cameras and microphones:
//! the chair and two councillors open their personal links; the chair opens the session and
//! calls the roll, gives the floor to a councillor who asked for it and takes it back, opens a
//! vote on the item under discussion; both councillors vote and every page shows the result
//! with each member's vote. A second test has a citizen watch the public stream: the floor
//! holder's video decodes in the viewer's page, beside the floor holder's name.
//!
//! The session is scheduled through the front desk on the server's own database (the staff
//! pages that do the same are tested with them). Every wait is bounded and waits for a state.
//! With `RICEVO_COUNCIL_SHOTS=dir` the member pages (chair's, councillor's) are saved as
//! screenshots at a phone's and a PC's size.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr, clippy::print_stdout)]

use crate::support;

use std::time::{Duration, Instant};

use fantoccini::{Client, Locator};
use ricevo_core::audit::Actor;
use ricevo_core::council::{BodyKind, CouncilSessionId, Role as SeatRole};
use ricevo_desk::council::{MemberDraft, MemberLink, SessionDraft};
use serde_json::{Value, json};
use support::{Audit, ELEMENT_WITHIN, World, body_text, wait_for, with_world};

/// Bound for media to flow (WebRTC set-up, the first keyframe, the first segments).
const MEDIA_WITHIN: Duration = Duration::from_secs(60);

/// Schedules a council session on the server's database: the chair, two councillors; their
/// links, in that order.
async fn schedule(w: &World) -> (CouncilSessionId, Vec<MemberLink>) {
    let url = format!("sqlite://{}", w.server.data().join("ricevo.db").display());
    let store = ricevo_store::open(&url).await.expect("open the server's database");
    let tenant = store.tenant_by_slug("demo").await.unwrap().expect("the demo town");
    let settings = ricevo_desk::DeskSettings {
        public_url: w.server.origin.clone(),
        ..ricevo_web::WebConfig::default().desk_settings()
    };
    let desk = ricevo_desk::Desk::new(store, settings);
    let grant = ricevo_store::Grant {
        tenant_id: tenant.id,
        role: ricevo_store::Role::Admin,
        offices: Vec::new(),
        actor: Actor::System,
    };
    let member = |name: &str, role| MemberDraft { name: name.into(), role, email: None };
    let draft = SessionDraft {
        body: BodyKind::Council,
        body_name: "Consiglio comunale".into(),
        title: "Seduta ordinaria".into(),
        starts_at: jiff::Timestamp::now(),
        items: vec!["Approvazione del bilancio di previsione".into(), "Mozione sulla viabilità".into()],
        members: vec![
            member("Anna Presidente", SeatRole::Chair),
            member("Bruno Consigliere", SeatRole::Councillor),
            member("Carla Consigliera", SeatRole::Councillor),
        ],
        quorum: Some(2),
        speech_minutes: Some(5),
    };
    desk.schedule_council(&tenant, &grant, draft, ricevo_core::Lang::It).await.expect("schedule a session")
}

/// Waits (bounded) until the page's last snapshot satisfies `check` (a JS expression over `s`).
async fn wait_for_snapshot(c: &Client, who: &str, check: &str) -> Value {
    let script = format!("const s = window.ricevo && window.ricevo.snapshot(); return s && ({check}) ? s : null;");
    let started = Instant::now();
    loop {
        let v = c.execute(&script, vec![]).await.expect("read the snapshot");
        if !v.is_null() {
            return v;
        }
        assert!(started.elapsed() < ELEMENT_WITHIN, "{who}'s page never saw {check}; it says:\n{}", body_text(c).await);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits (bounded) until the element with `id` says `text`.
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

/// Clicks the enabled button whose text contains `text` (bounded wait, found again if the page
/// re-rendered it meanwhile).
async fn click_button(c: &Client, text: &str) {
    let xp = format!(
        "//button[not(@disabled) and not(ancestor-or-self::*[@hidden]) and {}]",
        support::text_contains(".", text)
    );
    let started = Instant::now();
    loop {
        if let Ok(b) = c.find(Locator::XPath(&xp)).await
            && b.click().await.is_ok()
        {
            return;
        }
        assert!(
            started.elapsed() < ELEMENT_WITHIN,
            "no enabled button {text:?}; the page says:\n{}",
            body_text(c).await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Opens a member's link in a new browser; waits until its socket delivered a snapshot.
async fn open_member(w: &World, link: &MemberLink) -> Client {
    let c = w.driver.session().await;
    c.goto(&link.url).await.expect("open the member's link");
    wait_for_snapshot(&c, &link.name, "true").await;
    c
}

/// Saves the page at a phone's and a PC's size when `RICEVO_COUNCIL_SHOTS` names a directory.
async fn shots(c: &Client, name: &str) {
    let Ok(dir) = std::env::var("RICEVO_COUNCIL_SHOTS") else { return };
    for (w, h) in [(360, 740), (1280, 800)] {
        c.set_window_size(w, h).await.expect("resize");
        tokio::time::sleep(Duration::from_millis(300)).await;
        let png = c.screenshot().await.expect("screenshot");
        std::fs::write(format!("{dir}/{name}-{w}x{h}.png"), png).expect("write screenshot");
    }
    c.set_window_size(1280, 900).await.expect("resize");
}

/// Frames decoded from inbound video on a member's connection.
async fn frames_decoded(c: &Client) -> u64 {
    let script = r#"
        const done = arguments[arguments.length - 1];
        const pc = window.ricevo && window.ricevo.pc();
        if (!pc) { done(0); return; }
        pc.getStats().then(stats => {
          let n = 0;
          stats.forEach(r => { if (r.type === 'inbound-rtp' && r.kind === 'video') n += r.framesDecoded || 0; });
          done(n);
        }, () => done(0));
    "#;
    c.execute_async(script, vec![]).await.expect("getStats").as_u64().unwrap_or(0)
}

/// The chair opens the session, calls the roll and gives the floor to Bruno, who asked for it.
async fn open_and_give_floor(chair: &Client, bruno: &Client, carla: &Client, links: &[MemberLink]) {
    wait_for_snapshot(chair, "the chair", "s.members.filter(m => m.connected).length === 3").await;
    click_button(chair, "Apri la seduta").await;
    for (c, who) in [(chair, "the chair"), (bruno, "Bruno"), (carla, "Carla")] {
        wait_for_snapshot(c, who, "s.state === 'open'").await;
    }
    click_button(chair, "Fai l'appello").await;
    let s = wait_for_snapshot(carla, "Carla", "s.roll_called && s.members.every(m => m.present)").await;
    assert_eq!(s["quorum"]["reached"], true, "{s}");
    wait_for_text_in(bruno, "quorum", "Numero legale raggiunto").await;
    wait_for_text_in(carla, "roll", "presente").await;

    click_button(bruno, "Chiedi la parola").await;
    wait_for_text_in(chair, "queue", "Bruno Consigliere").await;
    let bruno_id = links[1].member.0;
    let give = "//ol[@id='queue']//button[contains(@aria-label, 'Bruno Consigliere')]";
    wait_for(chair, Locator::XPath(give)).await.click().await.expect("give the floor");
    for (c, who) in [(chair, "the chair"), (bruno, "Bruno"), (carla, "Carla")] {
        wait_for_snapshot(c, who, &format!("s.floor && s.floor.member === {bruno_id}")).await;
        wait_for_text_in(c, "floor-holder", "Bruno Consigliere").await;
    }
    wait_for_text_in(carla, "speech-timer", "Intervento").await;
    wait_for_text_in(bruno, "mic-state", "il tuo microfono è aperto").await;
}

#[tokio::test]
async fn a_chair_and_two_councillors_call_the_roll_give_the_floor_and_vote() {
    with_world(|w: World| async move {
        let (_, links) = schedule(&w).await;
        let mut audit = Audit::default();
        let axe = w.tools.axe.clone();
        let chair = open_member(&w, &links[0]).await;
        let bruno = open_member(&w, &links[1]).await;
        let carla = open_member(&w, &links[2]).await;
        // The chair sees the controls, a councillor none of them.
        let shown = "const e = document.getElementById(arguments[0]); return !!e && e.getClientRects().length > 0";
        assert_eq!(chair.execute(shown, vec![json!("chair-h")]).await.unwrap(), json!(true));
        assert_eq!(bruno.execute(shown, vec![json!("chair-h")]).await.unwrap(), json!(false));

        open_and_give_floor(&chair, &bruno, &carla, &links).await;
        audit.page(&chair, &axe, "council room (chair)").await;
        audit.page(&bruno, &axe, "council room (councillor with the floor)").await;
        shots(&chair, "council-chair").await;
        shots(&bruno, "council-member").await;

        // The chair takes the floor back.
        click_button(&chair, "Togli la parola").await;
        for (c, who) in [(&chair, "the chair"), (&bruno, "Bruno"), (&carla, "Carla")] {
            wait_for_snapshot(c, who, "!s.floor").await;
            wait_for_text_in(c, "floor-holder", "Nessuno ha la parola").await;
        }

        // The first item comes under discussion and is voted on.
        click_button(&chair, "Punto successivo").await;
        wait_for_snapshot(&carla, "Carla", "s.item === 1").await;
        click_button(&chair, "Apri la votazione").await;
        wait_for_snapshot(&bruno, "Bruno", "!!s.vote").await;
        wait_for_text_in(&carla, "vote-question", "Approvazione del bilancio").await;
        click_button(&bruno, "Favorevole").await;
        click_button(&carla, "Contrario").await;
        wait_for_snapshot(&chair, "the chair", "s.vote && s.vote.voted.length === 2").await;
        wait_for_text_in(&bruno, "my-vote", "Hai votato: favorevole").await;
        audit.page(&carla, &axe, "council room (open vote)").await;
        shots(&carla, "council-vote").await;
        click_button(&chair, "Chiudi la votazione").await;
        for (c, who) in [(&chair, "the chair"), (&bruno, "Bruno"), (&carla, "Carla")] {
            let s = wait_for_snapshot(c, who, "!s.vote && s.results.length === 1").await;
            assert_eq!(s["results"][0]["in_favour"], 1, "{s}");
            assert_eq!(s["results"][0]["against"], 1, "{s}");
            let text = wait_for_text_in(c, "results", "Favorevoli 1, contrari 1, astenuti 0").await;
            assert!(text.contains("Bruno Consigliere: favorevole"), "{text}");
            assert!(text.contains("Carla Consigliera: contrario"), "{text}");
        }
        shots(&chair, "council-results").await;
        audit.assert_clean();
    })
    .await;
}

/// What the public page's player is doing, for a failure's message.
const PLAYER_STATE: &str = r#"
    const v = document.querySelector('video');
    if (!v) return 'no <video>';
    return JSON.stringify({
        src: v.currentSrc, native: v.canPlayType('application/vnd.apple.mpegurl'), hlsjs: !!window.Hls,
        readyState: v.readyState, networkState: v.networkState, error: v.error && [v.error.code, v.error.message],
        paused: v.paused, time: v.currentTime, buffered: v.buffered.length ? [v.buffered.start(0), v.buffered.end(v.buffered.length - 1)] : [],
    });
"#;

#[tokio::test]
async fn a_viewer_watches_the_floor_holder_on_the_public_page() {
    with_world(|w: World| async move {
        let (session, links) = schedule(&w).await;
        let chair = open_member(&w, &links[0]).await;
        let bruno = open_member(&w, &links[1]).await;
        let carla = open_member(&w, &links[2]).await;
        open_and_give_floor(&chair, &bruno, &carla, &links).await;
        // The members see each other: the chair decodes video through the SFU.
        let started = Instant::now();
        while frames_decoded(&chair).await == 0 {
            assert!(
                started.elapsed() < MEDIA_WITHIN,
                "the chair decoded no video; it says:\n{}",
                body_text(&chair).await
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }

        // A citizen opens the public page: the stream plays (frames decoded) beside the floor
        // holder's name, and the page offers no member's controls.
        let viewer = w.driver.session().await;
        viewer.goto(&w.server.url(&format!("/demo/consiglio/{}", session.0))).await.expect("public page");
        let script = r#"
            const v = document.querySelector('video');
            if (!v) return 0;
            if (v.paused) { v.muted = true; v.play().catch(() => {}); }
            return v.getVideoPlaybackQuality ? v.getVideoPlaybackQuality().totalVideoFrames : 0;
        "#;
        let started = Instant::now();
        loop {
            let frames = viewer.execute(script, vec![]).await.expect("frames").as_u64().unwrap_or(0);
            if frames > 0 {
                break;
            }
            if started.elapsed() > MEDIA_WITHIN {
                let player = viewer.execute(PLAYER_STATE, vec![]).await.expect("player state");
                let playlist = reqwest::get(w.server.url(&format!("/demo/consiglio/{}/live/index.m3u8", session.0)))
                    .await
                    .expect("the playlist");
                panic!(
                    "the viewer decoded no frame of the stream; the player: {player}\nthe playlist ({}):\n{}\nthe page says:\n{}",
                    playlist.status(),
                    playlist.text().await.unwrap_or_default(),
                    body_text(&viewer).await,
                );
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        shots(&viewer, "council-viewer").await;
        let started = Instant::now();
        while !body_text(&viewer).await.contains("Bruno Consigliere") {
            assert!(started.elapsed() < ELEMENT_WITHIN, "the viewer's page never named the floor holder");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let text = body_text(&viewer).await;
        for control in ["Chiedi la parola", "Apri la votazione", "Favorevole"] {
            assert!(!text.contains(control), "the viewer sees the member's control {control:?}");
        }
    })
    .await;
}
