//! The members' session room of a council session on a real SQLite store and a real TCP
//! socket: a member's link opens its own session only, in its own town only; the socket
//! pushes each change to the session's members and to nobody else, and refuses hostile input
//! (bad JSON, oversized messages, the system's commands, the chair's commands from a member)
//! with a clear message, staying open.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use jiff::Timestamp;
use ricevo_core::audit::Actor;
use ricevo_core::council::{BodyKind, CouncilSessionId, Role as SeatRole};
use ricevo_desk::council::{MemberDraft, MemberLink, SessionDraft};
use ricevo_store::{Grant, Role, Tenant};
use ricevo_web::{AppState, WebConfig};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const NOW: &str = "2026-11-23T08:00:00Z";

/// Bound for one message to arrive (a state, never a timing assertion).
const WITHIN: Duration = Duration::from_secs(10);

struct App {
    base: String,
    state: AppState,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

impl App {
    async fn start() -> App {
        let dir = tempfile::tempdir().unwrap();
        let store = ricevo_store::open(&format!("sqlite://{}", dir.path().join("t.db").display())).await.unwrap();
        ricevo_web::demo::load(&*store, |pw| format!("plain:{pw}")).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let config = WebConfig { public_url: base.clone(), rate_limit_per_minute: 100_000, ..WebConfig::default() };
        let now = NOW.parse::<Timestamp>().unwrap();
        let state = AppState::with_clock(store, config, Arc::new(move || now));
        let router = ricevo_web::router(state.clone());
        tokio::spawn(async move {
            axum::serve(listener, router.into_make_service_with_connect_info::<std::net::SocketAddr>()).await.unwrap();
        });
        App { base, state, http: reqwest::Client::new(), _dir: dir }
    }

    async fn town(&self, slug: &str) -> Tenant {
        if let Some(t) = self.state.store.tenant_by_slug(slug).await.unwrap() {
            return t;
        }
        let new = ricevo_store::NewTenant {
            slug: slug.into(),
            name: format!("Comune di {slug}"),
            time_zone: "Europe/Rome".into(),
            patron_day: None,
            contact_email: format!("urp@{slug}.it"),
            privacy_notice: "x".into(),
            retention_days: 365,
        };
        self.state.store.create_tenant(&new).await.unwrap()
    }

    /// Schedules a council session in `town` with a chair and two councillors; their links.
    async fn session(&self, town: &Tenant, title: &str) -> (CouncilSessionId, Vec<MemberLink>) {
        let grant = Grant { tenant_id: town.id, role: Role::Admin, offices: Vec::new(), actor: Actor::System };
        let member = |name: &str, role| MemberDraft { name: name.into(), role, email: None };
        let draft = SessionDraft {
            body: BodyKind::Council,
            body_name: "Consiglio comunale".into(),
            title: title.into(),
            starts_at: "2026-11-23T17:00:00Z".parse().unwrap(),
            items: vec!["Approvazione del bilancio".into(), "Varie ed eventuali".into()],
            members: vec![
                member("Anna Presidente", SeatRole::Chair),
                member("Bruno Consigliere", SeatRole::Councillor),
                member("Carla Consigliera", SeatRole::Councillor),
            ],
            quorum: None,
            speech_minutes: Some(5),
        };
        self.state.desk.schedule_council(town, &grant, draft, ricevo_core::Lang::It).await.unwrap()
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn get(&self, path: &str) -> (u16, String) {
        let resp = self.http.get(self.url(path)).header("accept-language", "it").send().await.unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    }

    /// Opens the member socket at `path` (the page's path plus `/ws`).
    async fn socket(&self, path: &str) -> Result<Socket, u16> {
        let url = format!("{}/ws", self.url(path).replacen("http://", "ws://", 1));
        let req = url.into_client_request().unwrap();
        match tokio_tungstenite::connect_async(req).await {
            Ok((ws, _)) => Ok(ws),
            Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => Err(resp.status().as_u16()),
            Err(e) => panic!("socket: {e}"),
        }
    }
}

/// The `/{town}/consiglio/membro/{token}` path of a member's link.
fn path_of(link: &MemberLink, base: &str) -> String {
    link.url.strip_prefix(base).unwrap_or(&link.url).to_owned()
}

/// The next JSON message of `type` (other types are skipped), within [`WITHIN`].
async fn next_of(ws: &mut Socket, kind: &str) -> Value {
    let wait = async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Text(t))) => {
                    let v: Value = serde_json::from_str(&t).unwrap();
                    if v["type"] == kind {
                        return v;
                    }
                }
                Some(Ok(_)) => {}
                other => panic!("the socket ended while waiting for {kind}: {other:?}"),
            }
        }
    };
    tokio::time::timeout(WITHIN, wait).await.unwrap_or_else(|_| panic!("no {kind} message"))
}

/// The next JSON message, whatever its type, within [`WITHIN`].
async fn next_any(ws: &mut Socket) -> Value {
    let wait = async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Text(t))) => return serde_json::from_str::<Value>(&t).unwrap(),
                Some(Ok(_)) => {}
                other => panic!("the socket ended: {other:?}"),
            }
        }
    };
    tokio::time::timeout(WITHIN, wait).await.expect("a message")
}

/// The next snapshot whose `check` holds (earlier ones are skipped).
async fn snapshot_where(ws: &mut Socket, check: impl Fn(&Value) -> bool) -> Value {
    loop {
        let m = next_of(ws, "snapshot").await;
        if check(&m["snapshot"]) {
            return m["snapshot"].clone();
        }
    }
}

async fn say(ws: &mut Socket, v: Value) {
    ws.send(Message::Text(v.to_string().into())).await.unwrap();
}

#[tokio::test]
async fn a_member_link_opens_its_own_session_in_its_own_town_only() {
    let app = App::start().await;
    let demo = app.town("demo").await;
    let other = app.town("altro").await;
    let (_, links) = app.session(&demo, "Seduta ordinaria di novembre").await;
    let chair = path_of(&links[0], &app.base);
    let bruno = path_of(&links[1], &app.base);
    assert!(chair.starts_with("/demo/consiglio/membro/"), "{chair}");

    // The chair's page shows the session and the chair's controls; a member's shows no controls.
    let (status, page) = app.get(&chair).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Seduta ordinaria di novembre"), "{page}");
    assert!(page.contains("id=\"chair-h\""), "the chair sees the controls");
    let (status, page) = app.get(&bruno).await;
    assert_eq!(status, 200);
    assert!(page.contains("Bruno Consigliere"));
    assert!(!page.contains("id=\"chair-h\""), "a member sees no chair's controls");
    assert!(page.contains("Chiedi la parola"));

    // The same token under another town's slug, a token that does not exist, a broken one: 404,
    // for the page and for the socket alike.
    let token = bruno.rsplit('/').next().unwrap();
    for path in [
        format!("/{}/consiglio/membro/{token}", other.slug),
        "/demo/consiglio/membro/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".to_owned(),
        "/demo/consiglio/membro/x".to_owned(),
        format!("/nessuno/consiglio/membro/{token}"),
    ] {
        let (status, _) = app.get(&path).await;
        assert_eq!(status, 404, "{path}");
        assert_eq!(app.socket(&path).await.err(), Some(404), "socket of {path}");
    }
    // English by the usual language switch.
    let (status, page) = app.get(&format!("{bruno}?lang=en")).await;
    assert_eq!(status, 200);
    assert!(page.contains("Ask for the floor"));
}

#[tokio::test]
async fn the_socket_refuses_hostile_input_and_pushes_changes_to_the_session_only() {
    let app = App::start().await;
    let demo = app.town("demo").await;
    let (first, links) = app.session(&demo, "Prima seduta").await;
    let (second, others) = app.session(&demo, "Seconda seduta").await;
    let mut chair = app.socket(&path_of(&links[0], &app.base)).await.unwrap();
    let mut bruno = app.socket(&path_of(&links[1], &app.base)).await.unwrap();
    let mut stranger = app.socket(&path_of(&others[1], &app.base)).await.unwrap();
    // Connecting is presence: each socket hears its session's snapshot.
    let s = snapshot_where(&mut bruno, |s| {
        s["members"].as_array().unwrap().iter().filter(|m| m["connected"] == true).count() == 2
    })
    .await;
    assert_eq!(s["session"], first.0);
    let s = next_of(&mut stranger, "snapshot").await;
    assert_eq!(s["snapshot"]["session"], second.0);

    // Hostile input: each gets a clear refusal and the socket stays open.
    let refusals = [
        (Message::Text("non è json".into()), "JSON"),
        (Message::Text("x".repeat(100 * 1024).into()), "troppo lungo"),
        (Message::Binary(vec![1, 2, 3].into()), "binari"),
        (Message::Text(json!({"do": "connected", "member": links[0].member.0}).to_string().into()), "pagina"),
        (Message::Text(json!({"do": "disconnected", "member": links[0].member.0}).to_string().into()), "pagina"),
        (Message::Text(json!({"do": "open"}).to_string().into()), "presidente"),
        (Message::Text(json!({"do": "give_floor", "member": links[1].member.0}).to_string().into()), "presidente"),
        (Message::Text(json!({"do": "vote", "choice": "forse"}).to_string().into()), "comando"),
        (Message::Text(json!({"do": "fly"}).to_string().into()), "comando"),
        (Message::Text(json!({"type": "view", "large": "all"}).to_string().into()), ""),
        (Message::Text(json!({"type": "teleport"}).to_string().into()), "sconosciuto"),
    ];
    for (message, words) in refusals {
        bruno.send(message).await.unwrap();
        let e = next_of(&mut bruno, "error").await;
        let text = e["message"].as_str().unwrap();
        assert!(!text.is_empty() && text.contains(words), "refusal {text:?} should mention {words:?}");
    }
    // A vote before any vote is open is refused by the session's rules, in words.
    say(&mut bruno, json!({"do": "vote", "choice": "favorevole"})).await;
    let e = next_of(&mut bruno, "error").await;
    assert!(!e["message"].as_str().unwrap().is_empty());

    // The chair opens the session and gives Bruno the floor: both members hear it.
    say(&mut chair, json!({"do": "open"})).await;
    snapshot_where(&mut bruno, |s| s["state"] == "open").await;
    say(&mut chair, json!({"do": "call_roll"})).await;
    snapshot_where(&mut bruno, |s| s["roll_called"] == true).await;
    say(&mut bruno, json!({"do": "request_floor"})).await;
    snapshot_where(&mut chair, |s| s["queue"] == json!([links[1].member.0])).await;
    say(&mut chair, json!({"do": "give_floor", "member": links[1].member.0})).await;
    let s = snapshot_where(&mut bruno, |s| !s["floor"].is_null()).await;
    assert_eq!(s["floor"]["name"], "Bruno Consigliere");

    // The other session's member heard none of it: the next message it receives answers its
    // own act, refused by its own
    // session's rules (it is not open), not a snapshot of the first session.
    say(&mut stranger, json!({"do": "request_floor"})).await;
    let m = next_any(&mut stranger).await;
    assert_eq!(m["type"], "error", "a socket hears only its own session: {m}");
}

#[tokio::test]
async fn a_vote_cannot_be_cast_twice_and_its_result_reaches_every_member() {
    let app = App::start().await;
    let demo = app.town("demo").await;
    let (_, links) = app.session(&demo, "Seduta con voto").await;
    let mut chair = app.socket(&path_of(&links[0], &app.base)).await.unwrap();
    let mut bruno = app.socket(&path_of(&links[1], &app.base)).await.unwrap();
    snapshot_where(&mut chair, |s| {
        s["members"].as_array().unwrap().iter().filter(|m| m["connected"] == true).count() == 2
    })
    .await;
    for c in [json!({"do": "open"}), json!({"do": "call_roll"}), json!({"do": "set_item", "item": 1})] {
        say(&mut chair, c).await;
    }
    snapshot_where(&mut chair, |s| s["item"] == 1).await;
    say(&mut chair, json!({"do": "open_vote"})).await;
    snapshot_where(&mut bruno, |s| !s["vote"].is_null()).await;
    say(&mut bruno, json!({"do": "vote", "choice": "favorevole"})).await;
    snapshot_where(&mut bruno, |s| s["vote"]["voted"] == json!([links[1].member.0])).await;
    say(&mut bruno, json!({"do": "vote", "choice": "contrario"})).await;
    let e = next_of(&mut bruno, "error").await;
    assert!(!e["message"].as_str().unwrap().is_empty(), "a second vote is refused in words");
    say(&mut chair, json!({"do": "close_vote"})).await;
    let s = snapshot_where(&mut bruno, |s| !s["results"].as_array().unwrap().is_empty()).await;
    let result = &s["results"][0];
    assert_eq!(result["in_favour"], 1);
    assert_eq!(result["ballots"][0]["name"], "Bruno Consigliere");
    assert_eq!(result["ballots"][0]["choice"], "favorevole");
    // Carla never connected: she is not among those who voted.
    assert!(result["ballots"].as_array().unwrap().iter().all(|b| b["name"] != "Carla Consigliera"));
}
