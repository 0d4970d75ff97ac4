//! A node dies under a meeting and a waiting room: two real `ricevo` processes on one
//! PostgreSQL schema behind a load balancer (a TCP forwarder in this test that, like a health
//! checking balancer, sends each connection to node A while it accepts, else to node B), and
//! headless Chromium pages with a fake camera and microphone.
//!
//! On node A: a citizen waits second in line, a citizen and an official meet by video (the
//! official's page on node A's own address, where node B sent it). Node A is killed (SIGKILL).
//! Then the waiting citizen's page reconnects through the balancer to node B and keeps her
//! place; the meeting moves to node B (nobody goes back to the waiting room) and media flow
//! again between both participants; a booking made before the kill is intact and booking goes
//! on.
//!
//! Needs PostgreSQL (RICEVO_TEST_POSTGRES_URL, default postgres://postgres@127.0.0.1:5432/test),
//! `chromium` and `chromedriver`; skipped without them, except under `CI=true`, where that fails.
//! Every wait is bounded and waits for a state; the time from reconnecting to meeting again is
//! measured and printed, not asserted (machines are noisy).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use crate::support;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fantoccini::{Client, Locator};
use ricevo_core::{EntryId, MeetingId};
use ricevo_store::Role;
use serde_json::{Value, json};
use support::{Driver, body_text, current_url, http_status, wait_for};

/// Bound for anything to happen after a step (a bound, not an expectation).
const WITHIN: Duration = Duration::from_secs(60);

/// One `ricevo` process, killed with SIGKILL when dropped.
struct Node {
    child: Child,
    /// Its own address (`RICEVO_NODE_URL`).
    url: String,
    log: PathBuf,
}

impl Node {
    fn kill(&mut self) {
        // std's kill is SIGKILL on Unix: no shutdown runs.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Starts a node on the shared database and waits until it answers.
fn start_node(name: &str, dir: &Path, database: &str, public: &str) -> Node {
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let log = dir.join(format!("{name}.log"));
    let out = File::create(&log).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_ricevo"))
        .env("RICEVO_DATA_DIR", dir.join(name))
        .env("RICEVO_DATABASE_URL", database)
        .env("RICEVO_LISTEN", format!("127.0.0.1:{port}"))
        .env("RICEVO_PUBLIC_URL", public)
        .env("RICEVO_NODE_URL", &url)
        .env("RICEVO_RATE_LIMIT_PER_MINUTE", "1000000")
        .env("RICEVO_METRICS_TOKEN", support::METRICS_TOKEN)
        .env("RICEVO_LOG", "info")
        // Each node its own media port.
        .env("RICEVO_MEDIA_UDP", "127.0.0.1:0")
        .env_remove("RICEVO_CONFIG")
        .env_remove("RICEVO_SMTP_HOST")
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .unwrap();
    let mut node = Node { child, url, log };
    let started = Instant::now();
    while http_status(port, "/healthz") != Some(200) {
        if let Ok(Some(status)) = node.child.try_wait() {
            panic!("node {name} exited ({status}):\n{}", node.log());
        }
        assert!(started.elapsed() < WITHIN, "node {name} did not start:\n{}", node.log());
        std::thread::sleep(Duration::from_millis(100));
    }
    node
}

/// The balancer: each connection goes to `a` while it accepts connections, else to `b`.
/// Returns when it first sent a connection to `b` (the clients reconnecting).
fn balancer(listener: tokio::net::TcpListener, a: &str, b: &str) -> Arc<Mutex<Option<Instant>>> {
    let first_to_b = Arc::new(Mutex::new(None));
    let seen = first_to_b.clone();
    let authority = |u: &str| u.strip_prefix("http://").unwrap().to_owned();
    let (a, b) = (authority(a), authority(b));
    tokio::spawn(async move {
        loop {
            let Ok((mut client, _)) = listener.accept().await else { return };
            let (a, b, seen) = (a.clone(), b.clone(), seen.clone());
            tokio::spawn(async move {
                let upstream = match tokio::net::TcpStream::connect(&a).await {
                    Ok(s) => Ok(s),
                    Err(_) => {
                        seen.lock().unwrap().get_or_insert_with(Instant::now);
                        tokio::net::TcpStream::connect(&b).await
                    }
                };
                if let Ok(mut upstream) = upstream {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                }
            });
        }
    });
    first_to_b
}

/// What a page's current peer connection decodes: frames per inbound video stream, and
/// whether any inbound audio has energy.
async fn decoding(c: &Client) -> (Vec<u64>, bool) {
    let script = r#"
        const done = arguments[arguments.length - 1];
        const pc = window.ricevo && window.ricevo.pc();
        if (!pc) { done(null); return; }
        pc.getStats().then(stats => {
          const out = { video: [], audio: false };
          stats.forEach(r => {
            if (r.type !== 'inbound-rtp') return;
            if (r.kind === 'video') out.video.push(r.framesDecoded || 0);
            if (r.kind === 'audio' && (r.totalAudioEnergy || 0) > 0) out.audio = true;
          });
          done(out);
        }, () => done(null));
    "#;
    match c.execute_async(script, vec![]).await.expect("getStats") {
        Value::Null => (Vec::new(), false),
        v => (
            v["video"].as_array().unwrap().iter().map(|x| x.as_u64().unwrap_or(0)).collect(),
            v["audio"].as_bool().unwrap_or(false),
        ),
    }
}

/// Whether the page decodes video and hears audio on a peer connection other than the one
/// saved in `window.__before` (so on a connection made after the kill).
async fn media_again(c: &Client) -> bool {
    let fresh = c
        .execute("return !!(window.ricevo && window.ricevo.pc() && window.ricevo.pc() !== window.__before)", vec![])
        .await
        .unwrap_or(Value::Bool(false));
    if fresh != Value::Bool(true) {
        return false;
    }
    let (video, audio) = decoding(c).await;
    video.iter().any(|f| *f > 0) && audio
}

async fn wait_for_media(c: &Client, who: &str) {
    let started = Instant::now();
    loop {
        let (video, audio) = decoding(c).await;
        if video.iter().any(|f| *f > 0) && audio {
            return;
        }
        assert!(started.elapsed() < WITHIN, "{who} receives no media: {video:?} {audio}\n{}", body_text(c).await);
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn wait_for_phase(c: &Client, phase: &str) {
    let started = Instant::now();
    loop {
        let now = c.execute("return window.ricevo ? window.ricevo.state : ''", vec![]).await.unwrap_or(Value::Null);
        if now.as_str() == Some(phase) {
            return;
        }
        assert!(started.elapsed() < WITHIN, "not in {phase:?} but {now:?}:\n{}", body_text(c).await);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn text_of(c: &Client, id: &str) -> String {
    let v = c
        .execute("const e = document.getElementById(arguments[0]); return e ? e.innerText : ''", vec![json!(id)])
        .await
        .unwrap_or(Value::Null);
    v.as_str().unwrap_or("").to_owned()
}

async fn click_id(c: &Client, id: &str) {
    wait_for(c, Locator::Id(id)).await.click().await.unwrap_or_else(|e| panic!("click #{id}: {e}"));
}

/// Books the first free video slot of the demo's residence service; returns the manage token.
/// The JSON answer to a request that must succeed at the HTTP level.
async fn json_of(req: reqwest::RequestBuilder) -> Value {
    req.send().await.unwrap().json().await.unwrap()
}

async fn book(http: &reqwest::Client, base: &str, name: &str) -> String {
    let services: Value = http.get(format!("{base}/api/v1/demo/services")).send().await.unwrap().json().await.unwrap();
    let service = services.as_array().unwrap().iter().find(|s| s["name"] == "Cambio di residenza").unwrap()["id"]
        .as_i64()
        .unwrap();
    let slots: Value =
        http.get(format!("{base}/api/v1/demo/services/{service}/slots")).send().await.unwrap().json().await.unwrap();
    for slot in slots.as_array().unwrap().iter().rev() {
        let body = json!({"service_id": service, "start": slot["start"], "mode": "video", "privacy_accepted": true,
            "citizen": {"name": name, "email": "cittadino@example.it"}});
        let resp = http.post(format!("{base}/api/v1/demo/appointments")).json(&body).send().await.unwrap();
        if resp.status() == reqwest::StatusCode::CREATED {
            let receipt: Value = resp.json().await.unwrap();
            return receipt["manage_url"].as_str().unwrap().rsplit('/').next().unwrap().to_owned();
        }
    }
    panic!("no slot could be booked: {slots}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_nodes_meeting_moves_to_the_survivor_with_media_and_its_waiting_citizen_keeps_her_place() {
    let Some(schema) = ricevo_store::testing::TestSchema::create("f").await else { return };
    let Some(tools) = support::tools() else { return };
    let dir = tempfile::tempdir().unwrap();
    let database = schema.url();
    // The balancer's address is the public one of both nodes.
    let lb_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let lb = format!("http://{}", lb_listener.local_addr().unwrap());
    // Node A first (it migrates the schema and loads the demo town), then node B.
    let mut node_a = start_node("a", dir.path(), &database, &lb);
    let node_b = start_node("b", dir.path(), &database, &lb);
    let first_to_b = balancer(lb_listener, &node_a.url, &node_b.url);

    let store = schema.node().await;
    let demo = store.tenant_by_slug("demo").await.unwrap().unwrap();
    let token = ricevo_desk::tokens::new_token();
    store.create_api_token(demo.id, Role::Admin, None, &ricevo_desk::tokens::hash(&token), "failover").await.unwrap();
    let http = reqwest::Client::new();
    let offices: Value = http.get(format!("{lb}/api/v1/demo/offices")).send().await.unwrap().json().await.unwrap();
    let urp =
        offices.as_array().unwrap().iter().find(|o| o["name"].as_str().unwrap().starts_with("URP")).unwrap()["id"]
            .as_i64()
            .unwrap();
    let booking = book(&http, &lb, "Prenotata Prima").await;

    // Three tickets: Mario will meet, Anna and Luisa wait (Luisa second, with her page open).
    let mut joins = Vec::new();
    for name in ["Mario Rossi", "Anna Neri", "Luisa Verdi"] {
        let t =
            json_of(http.post(format!("{lb}/api/v1/demo/offices/{urp}/tickets")).json(&json!({"name": name}))).await;
        joins.push(t["join_url"].as_str().unwrap().to_owned());
    }
    let driver = Arc::new(Driver::start(&tools));
    let pages = driver.clone();
    let body = async move {
        let driver = pages;
        let mario = driver.session().await;
        mario.goto(&joins[0]).await.unwrap();
        wait_for_phase(&mario, "check").await;
        click_id(&mario, "go-full").await;
        wait_for_phase(&mario, "waiting").await;
        let luisa = driver.session().await;
        luisa.goto(&joins[2]).await.unwrap();
        wait_for_phase(&luisa, "check").await;
        click_id(&luisa, "go-none").await;
        wait_for_phase(&luisa, "waiting").await;

        // Mario is admitted (on node A, where the balancer sends everything now).
        let list = json_of(http.get(format!("{lb}/api/v1/demo/offices/{urp}/waiting")).bearer_auth(&token)).await;
        let id_of = |name: &str| {
            list.as_array().unwrap().iter().find(|e| e["name"] == name).unwrap()["entry_id"].as_i64().unwrap()
        };
        let (mario_id, luisa_id) = (id_of("Mario Rossi"), id_of("Luisa Verdi"));
        let admitted =
            json_of(http.post(format!("{lb}/api/v1/demo/waiting/{mario_id}/admit")).bearer_auth(&token)).await;
        let meeting = admitted["meeting_id"].as_i64().unwrap();
        assert_eq!(
            store.meeting(demo.id, MeetingId(meeting)).await.unwrap().unwrap().node.as_deref(),
            Some(node_a.url.as_str())
        );
        // The official's link, opened on node B: sent to node A, where the meeting's media are.
        let invited = json_of(
            http.post(format!("{lb}/api/v1/demo/meetings/{meeting}/invite"))
                .bearer_auth(&token)
                .json(&json!({"name": "Operatrice Comunale", "role": "official", "direct": true})),
        )
        .await;
        let official_link = invited["join_url"].as_str().unwrap().replace(&lb, &node_b.url);
        let official = driver.session().await;
        official.goto(&official_link).await.unwrap();
        wait_for_phase(&official, "meeting").await;
        assert!(current_url(&official).await.starts_with(&node_a.url), "node B sent the official to node A");
        wait_for_phase(&mario, "meeting").await;
        wait_for_media(&mario, "Mario").await;
        wait_for_media(&official, "the official").await;
        // Her place in line now (Mario is out of the queue): the office's list, queued first.
        let list = json_of(http.get(format!("{lb}/api/v1/demo/offices/{urp}/waiting")).bearer_auth(&token)).await;
        let queued: Vec<&Value> = list.as_array().unwrap().iter().filter(|e| e["status"] == "waiting").collect();
        let place = queued.iter().position(|e| e["entry_id"] == luisa_id).unwrap() + 1;
        assert_eq!(place, 2, "behind Anna");
        let luisa_place = format!("Posizione in coda: {place}.");
        let luisa_before = store.entry(demo.id, EntryId(luisa_id)).await.unwrap().unwrap();

        // Node A dies. What the pages show from now on comes from node B.
        for page in [&mario, &official, &luisa] {
            page.execute(
                "window.__before = window.ricevo.pc(); document.getElementById('wait-position').textContent = '';",
                vec![],
            )
            .await
            .unwrap();
        }
        let killed = Instant::now();
        node_a.kill();

        // Luisa's page reconnects through the balancer to node B: her place is the same.
        let started = Instant::now();
        while text_of(&luisa, "wait-position").await.is_empty() {
            assert!(started.elapsed() < WITHIN, "Luisa's page did not come back:\n{}", body_text(&luisa).await);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(text_of(&luisa, "wait-position").await, luisa_place, "Luisa keeps her place");
        let luisa_after = store.entry(demo.id, EntryId(luisa_id)).await.unwrap().unwrap();
        assert_eq!(
            (luisa_after.status, luisa_after.arrived_at, luisa_after.office_id),
            (luisa_before.status, luisa_before.arrived_at, luisa_before.office_id)
        );

        // Mario's page (on the public address) reconnects to node B; the official's page (on
        // node A's address) goes to the public address and so to node B. Both meet again.
        let mut mario_back = None;
        let mut official_back = None;
        while mario_back.is_none() || official_back.is_none() {
            if mario_back.is_none() && media_again(&mario).await {
                mario_back = Some(killed.elapsed());
            }
            if official_back.is_none() && media_again(&official).await {
                official_back = Some(killed.elapsed());
            }
            assert!(
                killed.elapsed() < WITHIN,
                "the meeting did not come back: Mario {mario_back:?}, official {official_back:?}\nMario's page:\n{}\nofficial's page:\n{}\nnode B:\n{}",
                body_text(&mario).await,
                body_text(&official).await,
                node_b.log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(current_url(&official).await.starts_with(&lb), "the official's page moved to the public address");
        for page in [&mario, &official] {
            assert_eq!(
                page.execute("return window.ricevo.state", vec![]).await.unwrap(),
                "meeting",
                "nobody went back to the waiting room"
            );
        }
        let moved = store.meeting(demo.id, MeetingId(meeting)).await.unwrap().unwrap();
        assert_eq!(moved.node.as_deref(), Some(node_b.url.as_str()), "the meeting lives on node B");
        assert!(moved.ended_at.is_none());
        let mario_entry = store.entry(demo.id, EntryId(mario_id)).await.unwrap().unwrap();
        assert_eq!(mario_entry.meeting_id, Some(MeetingId(meeting)));
        assert_eq!(mario_entry.status, ricevo_core::EntryStatus::InMeeting);
        let metrics = http
            .get(format!("{}/metrics", node_b.url))
            .bearer_auth(support::METRICS_TOKEN)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(metrics.lines().any(|l| l == "ricevo_media_participants 2"), "both on node B's SFU:\n{metrics}");

        // Bookings: the one made before the kill is there, and booking goes on.
        let resp = http.get(format!("{lb}/api/v1/appointments/{booking}")).send().await.unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.json::<Value>().await.unwrap()["status"], "booked");
        book(&http, &lb, "Prenotata Dopo").await;

        let reconnected = first_to_b.lock().unwrap().map(|t| t.duration_since(killed));
        let together = mario_back.max(official_back).unwrap();
        eprintln!(
            "failover: kill -> first reconnection to node B {reconnected:?}; Mario's media again after {:?}, \
             the official's after {:?}; from reconnecting to meeting again: {:?}",
            mario_back.unwrap(),
            official_back.unwrap(),
            reconnected.map(|r| together.saturating_sub(r))
        );
    };
    let outcome = tokio::spawn(body).await;
    driver.close_all().await;
    drop(schema);
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}
