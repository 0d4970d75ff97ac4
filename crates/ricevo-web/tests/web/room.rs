//! The virtual office's HTTP and WebSocket edge on a real SQLite store and a real TCP socket:
//! the staff API shapes, walk-in tickets, the join window of booked appointments, documents,
//! and hostile input on the WebSocket.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use jiff::Timestamp;
use ricevo_core::lobby::EntryStatus;
use ricevo_store::Role;
use ricevo_web::{AppState, WebConfig};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

// Monday 23 November 2026, 09:00 in Rome.
const NOW: &str = "2026-11-23T08:00:00Z";

struct App {
    base: String,
    state: AppState,
    clock: Arc<AtomicI64>,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl App {
    async fn start(config: WebConfig) -> App {
        App::launch(config, None).await
    }

    /// An app with the embedded SFU on a loopback port, so offers are answered.
    async fn with_media(config: WebConfig) -> App {
        let media = ricevo_media::MediaServer::start(ricevo_media::MediaConfig {
            udp_listen: "127.0.0.1:0".parse().unwrap(),
            public_ips: Vec::new(),
            tcp_listen: None,
        })
        .unwrap();
        App::launch(config, Some(media)).await
    }

    async fn launch(config: WebConfig, media: Option<ricevo_media::MediaServer>) -> App {
        let dir = tempfile::tempdir().unwrap();
        let store = ricevo_store::open(&format!("sqlite://{}", dir.path().join("t.db").display())).await.unwrap();
        ricevo_web::demo::load(&*store, |pw| format!("plain:{pw}")).await.unwrap();
        let clock = Arc::new(AtomicI64::new(NOW.parse::<Timestamp>().unwrap().as_second()));
        let read = clock.clone();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let config = WebConfig { public_url: base.clone(), rate_limit_per_minute: 100_000, ..config };
        let state = AppState::with_clock(
            store,
            config,
            Arc::new(move || Timestamp::from_second(read.load(Ordering::SeqCst)).unwrap()),
        );
        let state = match media {
            Some(media) => state.with_media(media),
            None => state,
        };
        let router = ricevo_web::router(state.clone());
        tokio::spawn(async move {
            axum::serve(listener, router.into_make_service_with_connect_info::<std::net::SocketAddr>()).await.unwrap();
        });
        App { base, state, clock, http: reqwest::Client::new(), _dir: dir }
    }

    /// A second town, for the isolation checks.
    async fn other_town(&self) -> ricevo_store::Tenant {
        let new = ricevo_store::NewTenant {
            slug: "altro".into(),
            name: "Comune di Altro".into(),
            time_zone: "Europe/Rome".into(),
            patron_day: None,
            contact_email: "urp@altro.it".into(),
            privacy_notice: "x".into(),
            retention_days: 365,
        };
        self.state.store.create_tenant(&new).await.unwrap()
    }

    fn set_now(&self, at: &str) {
        self.clock.store(at.parse::<Timestamp>().unwrap().as_second(), Ordering::SeqCst);
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn office(&self, prefix: &str) -> i64 {
        let list: Value = self.http.get(self.url("/api/v1/demo/offices")).send().await.unwrap().json().await.unwrap();
        list.as_array().unwrap().iter().find(|o| o["name"].as_str().unwrap().starts_with(prefix)).unwrap()["id"]
            .as_i64()
            .unwrap()
    }

    async fn token(&self, role: Role, office: Option<i64>) -> String {
        let demo = self.state.store.tenant_by_slug("demo").await.unwrap().unwrap();
        let token = ricevo_desk::tokens::new_token();
        self.state
            .store
            .create_api_token(demo.id, role, office.map(ricevo_core::OfficeId), &ricevo_desk::tokens::hash(&token), "t")
            .await
            .unwrap();
        token
    }

    async fn ticket(&self, office: i64, name: &str) -> (i64, String) {
        let resp = self
            .http
            .post(self.url(&format!("/api/v1/demo/offices/{office}/tickets")))
            .json(&json!({"name": name, "email": "cittadino@example.it"}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201);
        let body: Value = resp.json().await.unwrap();
        (body["ticket_number"].as_i64().unwrap(), body["join_url"].as_str().unwrap().to_owned())
    }

    async fn staff(&self, token: &str, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self.http.request(method, self.url(path)).bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    async fn waiting(&self, token: &str, office: i64) -> Vec<Value> {
        let (status, list) =
            self.staff(token, reqwest::Method::GET, &format!("/api/v1/demo/offices/{office}/waiting"), None).await;
        assert_eq!(status, 200, "{list}");
        list.as_array().unwrap().clone()
    }
}

/// The `/a/{token}` path of a join URL, without `/join`.
fn link_path(join_url: &str, base: &str) -> String {
    join_url.strip_prefix(base).unwrap().strip_suffix("/join").unwrap().to_owned()
}

#[tokio::test]
async fn the_staff_api_lists_holds_refuses_transfers_calls_next_invites_and_ends() {
    let app = App::start(WebConfig::default()).await;
    let urp = app.office("URP").await;
    let tributi = app.office("Tributi").await;
    let admin = app.token(Role::Admin, None).await;

    let (n1, _) = app.ticket(urp, "Anna Neri").await;
    let (n2, _) = app.ticket(urp, "Bruno Gialli").await;
    let (n3, _) = app.ticket(urp, "Chiara Blu").await;
    assert_eq!((n1, n2, n3), (1, 2, 3), "tickets are numbered per office and day");

    let list = app.waiting(&admin, urp).await;
    let names: Vec<&str> = list.iter().map(|e| e["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Anna Neri", "Bruno Gialli", "Chiara Blu"], "service order is arrival order for tickets");
    for e in &list {
        assert_eq!(e["kind"], "ticket");
        assert_eq!(e["status"], "waiting");
        assert!(e["waiting_since"].as_str().unwrap().ends_with("+01:00"), "local RFC 3339: {e}");
        assert!(e["booked_start"].is_null());
    }
    let id = |i: usize| list[i]["entry_id"].as_i64().unwrap();

    let (status, held) = app
        .staff(
            &admin,
            reqwest::Method::POST,
            &format!("/api/v1/demo/waiting/{}/hold", id(0)),
            Some(json!({"message": "Arrivo tra 10 minuti"})),
        )
        .await;
    assert_eq!(status, 200, "{held}");
    assert_eq!(held["status"], "held");
    assert_eq!(held["message"], "Arrivo tra 10 minuti");

    let (status, refused) = app
        .staff(
            &admin,
            reqwest::Method::POST,
            &format!("/api/v1/demo/waiting/{}/refuse", id(1)),
            Some(json!({"message": "Ufficio sbagliato"})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(refused["status"], "refused");
    // A refused person cannot be admitted afterwards.
    let (status, _) =
        app.staff(&admin, reqwest::Method::POST, &format!("/api/v1/demo/waiting/{}/admit", id(1)), None).await;
    assert_eq!(status, 409);

    let (status, moved) = app
        .staff(
            &admin,
            reqwest::Method::POST,
            &format!("/api/v1/demo/waiting/{}/transfer", id(2)),
            Some(json!({"office_id": tributi})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(moved["status"], "waiting");
    assert_eq!(app.waiting(&admin, tributi).await.len(), 1, "the transferred person waits at Tributi");

    // Call next admits the one left in line (the held one).
    let (status, admitted) =
        app.staff(&admin, reqwest::Method::POST, &format!("/api/v1/demo/offices/{urp}/call-next"), None).await;
    assert_eq!(status, 200, "{admitted}");
    assert_eq!(admitted["entry_id"].as_i64().unwrap(), id(0));
    let meeting = admitted["meeting_id"].as_i64().unwrap();
    let (status, body) =
        app.staff(&admin, reqwest::Method::POST, &format!("/api/v1/demo/offices/{urp}/call-next"), None).await;
    assert_eq!((status, body["error"].as_str()), (409, Some("nobody_waiting")));

    let (status, invited) = app
        .staff(
            &admin,
            reqwest::Method::POST,
            &format!("/api/v1/demo/meetings/{meeting}/invite"),
            Some(json!({"name": "Ing. Paolo Sala", "role": "speaker", "direct": true})),
        )
        .await;
    assert_eq!(status, 201, "{invited}");
    let join = invited["join_url"].as_str().unwrap();
    assert!(join.starts_with(&app.base) && join.ends_with("/join"));
    let page = app.http.get(join).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("\"admitted\":true"), "a direct invitee enters without waiting");
    let (status, bad) = app
        .staff(
            &admin,
            reqwest::Method::POST,
            &format!("/api/v1/demo/meetings/{meeting}/invite"),
            Some(json!({"name": "X Y", "role": "moderate"})),
        )
        .await;
    assert_eq!(status, 422, "{bad}");

    let (status, _) =
        app.staff(&admin, reqwest::Method::POST, &format!("/api/v1/demo/meetings/{meeting}/end"), None).await;
    assert_eq!(status, 204);
    let page = app.http.get(join).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Incontro terminato"), "an ended meeting's link shows the closing page");
    let (status, _) = app
        .staff(
            &admin,
            reqwest::Method::POST,
            &format!("/api/v1/demo/meetings/{meeting}/invite"),
            Some(json!({"name": "Tardi Ritardo"})),
        )
        .await;
    assert_eq!(status, 409, "no invitations into an ended meeting");
}

#[tokio::test]
async fn staff_of_another_office_or_town_cannot_touch_the_queue() {
    let app = App::start(WebConfig::default()).await;
    let urp = app.office("URP").await;
    let tributi = app.office("Tributi").await;
    app.ticket(urp, "Anna Neri").await;
    let other_office = app.token(Role::Operator, Some(tributi)).await;
    let (status, _) =
        app.staff(&other_office, reqwest::Method::GET, &format!("/api/v1/demo/offices/{urp}/waiting"), None).await;
    assert_eq!(status, 403);
    let (status, _) =
        app.staff(&other_office, reqwest::Method::POST, &format!("/api/v1/demo/offices/{urp}/call-next"), None).await;
    assert_eq!(status, 403);
    let resp = app.http.get(app.url(&format!("/api/v1/demo/offices/{urp}/waiting"))).send().await.unwrap();
    assert_eq!(resp.status(), 401, "no token, no queue");
    let admin = app.token(Role::Admin, None).await;
    let entry = app.waiting(&admin, urp).await[0]["entry_id"].as_i64().unwrap();
    let (status, body) =
        app.staff(&other_office, reqwest::Method::POST, &format!("/api/v1/demo/waiting/{entry}/admit"), None).await;
    assert_eq!(status, 403, "{body}");
}

#[tokio::test]
async fn tickets_are_refused_when_the_desk_is_closed_or_the_name_is_bad() {
    let app = App::start(WebConfig::default()).await;
    let anagrafe = app.office("Anagrafe").await;
    let resp = app
        .http
        .post(app.url(&format!("/api/v1/demo/offices/{anagrafe}/tickets")))
        .json(&json!({"name": "Anna Neri"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 409, "Anagrafe has no walk-in desk");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "walk_in_closed");
    assert!(body["message"].as_str().unwrap().contains("chiuso"), "{body}");

    let urp = app.office("URP").await;
    for bad in [
        json!({"name": ""}),
        json!({"name": "x".repeat(500)}),
        json!({"name": "Anna", "email": "not-an-email"}),
        json!({"name": 42}),
    ] {
        let resp =
            app.http.post(app.url(&format!("/api/v1/demo/offices/{urp}/tickets"))).json(&bad).send().await.unwrap();
        assert!(resp.status().is_client_error(), "{bad} → {}", resp.status());
    }
    let resp = app
        .http
        .post(app.url(&format!("/api/v1/demo/offices/{urp}/tickets")))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
}

#[tokio::test]
async fn an_address_over_its_hourly_ticket_budget_gets_429_with_retry_after() {
    let app = App::start(WebConfig { tickets_per_hour_per_address: 2, ..WebConfig::default() }).await;
    let urp = app.office("URP").await;
    app.ticket(urp, "Anna Neri").await;
    app.ticket(urp, "Bruno Gialli").await;
    let resp = app
        .http
        .post(app.url(&format!("/api/v1/demo/offices/{urp}/tickets")))
        .json(&json!({"name": "Chiara Blu"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 429);
    assert_eq!(resp.headers()["retry-after"], "3600");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "too_many_bookings");
    assert!(body["message"].as_str().unwrap().contains("biglietti"), "{body}");
}

/// The e-mails due in the outbox, rendered as the worker would send them.
async fn due_emails(app: &App) -> Vec<ricevo_notify::OutgoingEmail> {
    let due = app.state.store.due_outbox(app.state.now(), 100).await.unwrap();
    due.iter()
        .filter(|m| m.kind == "email")
        .map(|m| match ricevo_notify::Outgoing::from_payload(&m.payload).unwrap() {
            ricevo_notify::Outgoing::Ticket { ticket, from } => ricevo_notify::render_ticket(&ticket, &from),
            ricevo_notify::Outgoing::Notice { email, notice, from } => {
                ricevo_notify::render(email, &notice, &from, app.state.now())
            }
            other => panic!("not an e-mail: {other:?}"),
        })
        .collect()
}

#[tokio::test]
async fn a_ticket_with_an_email_queues_its_link_in_the_citizens_language_and_one_without_queues_nothing() {
    let app = App::start(WebConfig::default()).await;
    let urp = app.office("URP").await;
    let backlog = app.state.store.outbox_backlog().await.unwrap();

    let resp = app
        .http
        .post(app.url(&format!("/api/v1/demo/offices/{urp}/tickets")))
        .json(&json!({"name": "Anna Neri"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    assert_eq!(app.state.store.outbox_backlog().await.unwrap(), backlog, "no e-mail given, nothing queued");

    let take = |email: &'static str, lang: &'static str| {
        app.http
            .post(app.url(&format!("/api/v1/demo/offices/{urp}/tickets")))
            .header("accept-language", lang)
            .json(&json!({"name": "Bruno Gialli", "email": email}))
            .send()
    };
    let resp = take("bruno@example.it", "it-IT").await.unwrap();
    assert_eq!(resp.status(), 201);
    let it: Value = resp.json().await.unwrap();
    let resp = take("bruno.en@example.org", "en").await.unwrap();
    assert_eq!(resp.status(), 201);
    let en: Value = resp.json().await.unwrap();
    assert_eq!(app.state.store.outbox_backlog().await.unwrap(), backlog + 2);

    let emails = due_emails(&app).await;
    let to = |address: &str| -> Vec<&ricevo_notify::OutgoingEmail> {
        emails.iter().filter(|e| e.to.contains(&format!("<{address}>"))).collect()
    };
    let (mail_it, mail_en) = (to("bruno@example.it"), to("bruno.en@example.org"));
    assert_eq!((mail_it.len(), mail_en.len()), (1, 1), "one e-mail to each address");
    let (mail_it, mail_en) = (mail_it[0], mail_en[0]);

    let (n, join) = (it["ticket_number"].as_i64().unwrap(), it["join_url"].as_str().unwrap());
    assert_eq!(n, 2);
    assert!(join.starts_with(&app.base) && join.ends_with("/join"), "{join}");
    assert!(
        mail_it.subject.starts_with("Il tuo numero per URP") && mail_it.subject.ends_with(": 2"),
        "{}",
        mail_it.subject
    );
    assert!(mail_it.text.contains(join) && mail_it.html.contains(join), "{}", mail_it.text);
    assert!(mail_it.text.contains("sala d'attesa virtuale") && mail_it.text.contains("non condividerlo"));

    let join_en = en["join_url"].as_str().unwrap();
    assert_ne!(join_en, join, "each ticket has its own link");
    assert!(
        mail_en.subject.starts_with("Your number for URP") && mail_en.subject.ends_with(": 3"),
        "{}",
        mail_en.subject
    );
    assert!(mail_en.text.contains(join_en) && !mail_en.text.contains(join));

    // The link in the e-mail opens the citizen's own waiting room.
    let page = app.http.get(join).send().await.unwrap();
    assert_eq!(page.status(), 200);
}

/// Books Maria Rossi a video appointment on Tuesday 24 November 2026 at 10:10 (Rome) for the
/// registry office's change of residence; returns her join link.
async fn book_video_appointment(app: &App) -> String {
    let services: Value = app.http.get(app.url("/api/v1/demo/services")).send().await.unwrap().json().await.unwrap();
    let service = services.as_array().unwrap().iter().find(|s| s["name"] == "Cambio di residenza").unwrap()["id"]
        .as_i64()
        .unwrap();
    let booking = json!({
        "service_id": service, "start": "2026-11-24T10:10:00+01:00", "mode": "video",
        "citizen": {"name": "Maria Rossi", "email": "maria@example.it"}, "privacy_accepted": true
    });
    let resp = app.http.post(app.url("/api/v1/demo/appointments")).json(&booking).send().await.unwrap();
    let status = resp.status();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(status, 201, "{body}");
    body["join_url"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_booked_video_appointment_opens_its_waiting_room_fifteen_minutes_before() {
    let app = App::start(WebConfig::default()).await;
    let join = book_video_appointment(&app).await;

    let early = app.http.get(&join).send().await.unwrap().text().await.unwrap();
    assert!(
        early.contains("Torna su questo link") && early.contains("martedì 24 novembre"),
        "a day early the page says when to come back"
    );
    assert!(!early.contains("room.js"), "no meeting script before the window");

    app.set_now("2026-11-24T08:56:00Z"); // 09:56 in Rome
    let open = app.http.get(&join).send().await.unwrap().text().await.unwrap();
    assert!(open.contains("room.js") && open.contains("\"admitted\":false"), "14 minutes before, the room opens");

    // Arriving over the socket queues the citizen with the booked time.
    let (mut ws, _) = tokio_tungstenite::connect_async(ws_url(&app, &join)).await.unwrap();
    let state = next_json(&mut ws).await;
    assert_eq!(state["type"], "state");
    assert_eq!(state["status"], "waiting");
    assert_eq!(state["early_minutes"], 14);
    let admin = app.token(Role::Admin, None).await;
    let anagrafe = app.office("Anagrafe").await;
    let list = app.waiting(&admin, anagrafe).await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["kind"], "appointment");
    assert_eq!(list[0]["service"], "Cambio di residenza");
    assert_eq!(list[0]["booked_start"], "2026-11-24T10:10:00+01:00");
    assert_eq!(list[0]["connected"], true);

    app.set_now("2026-11-24T09:41:00Z"); // 10:41, after the slot's end, not admitted
    let over = app.http.get(&join).send().await.unwrap().text().await.unwrap();
    assert!(over.contains("è passato"), "after the slot the page says it is over");
}

fn ws_url(app: &App, join_url: &str) -> String {
    format!("ws://{}{}/ws", app.base.strip_prefix("http://").unwrap(), link_path(join_url, &app.base))
}

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn next_json(ws: &mut Socket) -> Value {
    loop {
        let msg =
            tokio::time::timeout(Duration::from_secs(10), ws.next()).await.expect("a message").expect("open").unwrap();
        if let Message::Text(t) = msg {
            return serde_json::from_str(t.as_str()).unwrap();
        }
    }
}

#[tokio::test]
async fn hostile_messages_on_the_socket_get_errors_or_a_closed_socket_never_a_panic() {
    let app = App::start(WebConfig::default()).await;
    let urp = app.office("URP").await;
    let (_, join) = app.ticket(urp, "Anna Neri").await;
    let (mut ws, _) = tokio_tungstenite::connect_async(ws_url(&app, &join)).await.unwrap();
    assert_eq!(next_json(&mut ws).await["type"], "state");

    let hostile = [
        "not json at all".to_owned(),
        "{\"type\": 42}".to_owned(),
        json!({"type": "offer", "sdp": 123}).to_string(),
        json!({"type": "offer", "sdp": "v=0\r\n"}).to_string(),
        json!({"type": "mute", "entry_id": 1}).to_string(),
        json!({"type": "remove", "entry_id": "everyone"}).to_string(),
        json!({"type": "end"}).to_string(),
        json!({"type": "chat", "text": "<script>alert(1)</script>"}).to_string(),
        json!({"type": "unknown_kind"}).to_string(),
        "[]".to_owned(),
    ];
    for text in &hostile {
        ws.send(Message::Text(text.clone().into())).await.unwrap();
        let reply = next_json(&mut ws).await;
        assert_eq!(reply["type"], "error", "{text} → {reply}");
        assert!(!reply["message"].as_str().unwrap().is_empty());
    }
    // Too many bad messages close the socket.
    let mut closed = false;
    for _ in 0..20 {
        if ws.send(Message::Text("nope".into())).await.is_err() {
            closed = true;
            break;
        }
        match tokio::time::timeout(Duration::from_secs(10), ws.next()).await.unwrap() {
            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => {
                closed = true;
                break;
            }
            _ => {}
        }
    }
    assert!(closed, "a socket that keeps sending garbage is closed");

    // A flood of valid messages is cut off too.
    let (mut ws, _) = tokio_tungstenite::connect_async(ws_url(&app, &join)).await.unwrap();
    assert_eq!(next_json(&mut ws).await["type"], "state");
    let mut sent = 0;
    for _ in 0..2000 {
        if ws.send(Message::Text(json!({"type": "ping"}).to_string().into())).await.is_err() {
            break;
        }
        sent += 1;
    }
    let mut ended = false;
    while let Ok(Some(msg)) = tokio::time::timeout(Duration::from_secs(10), ws.next()).await {
        if matches!(msg, Ok(Message::Close(_)) | Err(_)) {
            ended = true;
            break;
        }
    }
    assert!(ended, "a flood of {sent} messages closes the socket");

    // The server is fine, and the link still works.
    let health = app.http.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let (mut ws, _) = tokio_tungstenite::connect_async(ws_url(&app, &join)).await.unwrap();
    assert_eq!(next_json(&mut ws).await["type"], "state");
    // An oversized frame is refused without harm.
    let _ = ws.send(Message::Text("x".repeat(200_000).into())).await;
    assert_eq!(app.http.get(app.url("/healthz")).send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn sockets_from_other_origins_and_unknown_links_are_refused() {
    let app = App::start(WebConfig::default()).await;
    let urp = app.office("URP").await;
    let (_, join) = app.ticket(urp, "Anna Neri").await;
    let mut req = ws_url(&app, &join).into_client_request().unwrap();
    req.headers_mut().insert("origin", "https://evil.example".parse().unwrap());
    assert!(tokio_tungstenite::connect_async(req).await.is_err(), "a page of another site cannot open the socket");
    let unknown = format!("ws://{}/a/{}/ws", app.base.strip_prefix("http://").unwrap(), "A".repeat(43));
    assert!(tokio_tungstenite::connect_async(unknown).await.is_err());
    let resp = app.http.get(app.url(&format!("/a/{}/join", "A".repeat(43)))).send().await.unwrap();
    assert_eq!(resp.status(), 404);
}

#[tokio::test]
async fn documents_are_checked_by_content_and_size_and_stay_inside_their_meeting() {
    let app = App::start(WebConfig { max_document_bytes: 4096, ..WebConfig::default() }).await;
    let urp = app.office("URP").await;
    let admin = app.token(Role::Admin, None).await;
    let (_, join) = app.ticket(urp, "Anna Neri").await;
    let (_, other) = app.ticket(urp, "Bruno Gialli").await;
    let path = link_path(&join, &app.base);
    let upload = |body: Vec<u8>, name: &'static str, path: String| {
        let http = app.http.clone();
        let url = app.url(&format!("{path}/documents"));
        async move {
            let resp = http.post(url).header("x-file-name", name).body(body).send().await.unwrap();
            (resp.status().as_u16(), resp.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let pdf = b"%PDF-1.4\nciao\n%%EOF\n".to_vec();
    let (status, _) = upload(pdf.clone(), "a.pdf", path.clone()).await;
    assert_eq!(status, 403, "no documents before admission");

    let list = app.waiting(&admin, urp).await;
    let anna = list.iter().find(|e| e["name"] == "Anna Neri").unwrap()["entry_id"].as_i64().unwrap();
    let (status, _) =
        app.staff(&admin, reqwest::Method::POST, &format!("/api/v1/demo/waiting/{anna}/admit"), None).await;
    assert_eq!(status, 200);

    let (status, doc) = upload(pdf.clone(), "ricevuta%20TARI.pdf", path.clone()).await;
    assert_eq!(status, 201, "{doc}");
    assert_eq!(doc["name"], "ricevuta TARI.pdf");
    let (status, body) = upload(b"MZ\x90\x00\x03 an executable".to_vec(), "innocuo.pdf", path.clone()).await;
    assert_eq!((status, body["error"].as_str()), (415, Some("unsupported_document")));
    let (status, body) = upload(vec![b'a'; 5000], "big.txt", path.clone()).await;
    assert_eq!(status, 413, "{body}");

    let url = app.url(&format!("{path}/{}", doc["url"].as_str().unwrap()));
    let resp = app.http.get(&url).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/pdf");
    assert!(resp.headers()["content-disposition"].to_str().unwrap().starts_with("attachment"));
    assert_eq!(resp.bytes().await.unwrap().to_vec(), pdf);
    let other_path = link_path(&other, &app.base);
    let resp = app.http.get(app.url(&format!("{other_path}/{}", doc["url"].as_str().unwrap()))).send().await.unwrap();
    assert_eq!(resp.status(), 404, "another citizen's link cannot read the meeting's documents");
}

#[tokio::test]
async fn no_show_ends_a_wait_tells_the_citizens_page_and_only_staff_of_the_office_may_mark_it() {
    let app = App::start(WebConfig::default()).await;
    let urp = app.office("URP").await;
    let tributi = app.office("Tributi").await;
    let admin = app.token(Role::Admin, None).await;
    let (_, join) = app.ticket(urp, "Anna Neri").await;
    app.ticket(urp, "Bruno Gialli").await;
    let list = app.waiting(&admin, urp).await;
    let anna = list[0]["entry_id"].as_i64().unwrap();
    let path = format!("/api/v1/demo/waiting/{anna}/no-show");

    // Anna's waiting page is open.
    let (mut ws, _) = tokio_tungstenite::connect_async(ws_url(&app, &join)).await.unwrap();
    assert_eq!(next_json(&mut ws).await["status"], "waiting");

    let resp = app.http.post(app.url(&path)).send().await.unwrap();
    assert_eq!(resp.status(), 401, "no token, no action");
    let other_office = app.token(Role::Operator, Some(tributi)).await;
    let (status, body) = app.staff(&other_office, reqwest::Method::POST, &path, None).await;
    assert_eq!(status, 403, "{body}");

    let (status, gone) = app.staff(&admin, reqwest::Method::POST, &path, None).await;
    assert_eq!(status, 200, "{gone}");
    assert_eq!((gone["entry_id"].as_i64(), gone["status"].as_str()), (Some(anna), Some("no_show")));
    // The page hears that its wait is over (queue estimates may come first).
    let told = loop {
        let m = next_json(&mut ws).await;
        if m["type"] != "state" {
            break m;
        }
    };
    assert_eq!(told["type"], "no_show", "{told}");

    let names: Vec<String> =
        app.waiting(&admin, urp).await.iter().map(|e| e["name"].as_str().unwrap().to_owned()).collect();
    assert_eq!(names, ["Bruno Gialli"], "the queue no longer shows her");
    let demo = app.state.store.tenant_by_slug("demo").await.unwrap().unwrap();
    let stored = app.state.store.entry(demo.id, ricevo_core::EntryId(anna)).await.unwrap().unwrap();
    assert_eq!(stored.status, ricevo_core::lobby::EntryStatus::NoShow);
    assert_eq!(stored.ended_at, Some(app.state.now()));

    // Twice is a conflict, said in the caller's language.
    let (status, again) = app.staff(&admin, reqwest::Method::POST, &path, None).await;
    assert_eq!((status, again["error"].as_str()), (409, Some("not_queued")), "{again}");
    assert!(again["message"].as_str().unwrap().contains("non è più in coda"), "{again}");
    let resp = app.http.post(app.url(&path)).bearer_auth(&admin).header("accept-language", "en").send().await.unwrap();
    assert_eq!(resp.status(), 409);
    let again: Value = resp.json().await.unwrap();
    assert!(again["message"].as_str().unwrap().contains("no longer in the queue"), "{again}");

    // Reopening her link says why the wait ended.
    let page = app.http.get(&join).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("non risultavi presente"), "the closed wait explains itself");
}

#[tokio::test]
async fn a_no_show_in_the_waiting_room_marks_the_booked_appointment_no_show_too() {
    let app = App::start(WebConfig::default()).await;
    let join = book_video_appointment(&app).await;
    app.set_now("2026-11-24T09:05:00Z"); // 10:05 in Rome
    let (mut ws, _) = tokio_tungstenite::connect_async(ws_url(&app, &join)).await.unwrap();
    assert_eq!(next_json(&mut ws).await["status"], "waiting");
    drop(ws);

    let admin = app.token(Role::Admin, None).await;
    let anagrafe = app.office("Anagrafe").await;
    let list = app.waiting(&admin, anagrafe).await;
    assert_eq!(list[0]["kind"], "appointment");
    let entry = list[0]["entry_id"].as_i64().unwrap();
    let (status, body) =
        app.staff(&admin, reqwest::Method::POST, &format!("/api/v1/demo/waiting/{entry}/no-show"), None).await;
    assert_eq!(status, 200, "{body}");

    let demo = app.state.store.tenant_by_slug("demo").await.unwrap().unwrap();
    let stored = app.state.store.entry(demo.id, ricevo_core::EntryId(entry)).await.unwrap().unwrap();
    assert_eq!(stored.status, ricevo_core::lobby::EntryStatus::NoShow);
    let appointment = app.state.store.appointment(demo.id, stored.appointment_id.unwrap()).await.unwrap().unwrap();
    assert_eq!(appointment.status, ricevo_store::AppointmentStatus::NoShow);
    // Reopening the link within the slot does not queue her again.
    let page = app.http.get(&join).send().await.unwrap().text().await.unwrap();
    assert!(!page.contains("room.js"), "no waiting room for a no-show");
    assert!(app.waiting(&admin, anagrafe).await.is_empty());
}

/// A real browser's kind of offer (microphone and camera), made by str0m.
fn browser_offer() -> String {
    use str0m::media::{Direction, MediaKind};
    let crypto = Arc::new(str0m::crypto::from_feature_flags());
    let mut rtc = str0m::Rtc::builder().set_crypto_provider(crypto).build(std::time::Instant::now());
    rtc.add_local_candidate(str0m::Candidate::host("127.0.0.1:9".parse().unwrap(), "udp").unwrap());
    let mut api = rtc.sdp_api();
    api.add_media(MediaKind::Audio, Direction::SendRecv, None, None, None);
    api.add_media(MediaKind::Video, Direction::SendRecv, None, None, None);
    let (offer, _) = api.apply().unwrap();
    json!({"type": "offer", "sdp": offer.to_sdp_string()}).to_string()
}

/// The next message of type `kind`, skipping others (queue estimates, participant lists).
async fn until(ws: &mut Socket, kind: &str) -> Value {
    loop {
        let m = next_json(ws).await;
        if m["type"] == kind {
            return m;
        }
    }
}

/// Every message until the server closes the socket (or stays silent for ten seconds).
async fn rest_of(ws: &mut Socket) -> Vec<Value> {
    let mut seen = Vec::new();
    while let Ok(Some(Ok(msg))) = tokio::time::timeout(Duration::from_secs(10), ws.next()).await {
        match msg {
            Message::Text(t) => seen.push(serde_json::from_str(t.as_str()).unwrap()),
            Message::Close(_) => break,
            _ => {}
        }
    }
    seen
}

/// A meeting of the URP: Anna's ticket admitted, and an official who entered it directly.
struct Met {
    anna: String,
    anna_id: i64,
    official: String,
    meeting: i64,
    admin: String,
}

async fn meeting_with_official(app: &App) -> Met {
    let urp = app.office("URP").await;
    let admin = app.token(Role::Admin, None).await;
    let (_, anna) = app.ticket(urp, "Anna Neri").await;
    let list = app.waiting(&admin, urp).await;
    let anna_id = list.iter().find(|e| e["name"] == "Anna Neri").unwrap()["entry_id"].as_i64().unwrap();
    let (status, admitted) =
        app.staff(&admin, reqwest::Method::POST, &format!("/api/v1/demo/waiting/{anna_id}/admit"), None).await;
    assert_eq!(status, 200, "{admitted}");
    let meeting = admitted["meeting_id"].as_i64().unwrap();
    let (status, invited) = app
        .staff(
            &admin,
            reqwest::Method::POST,
            &format!("/api/v1/demo/meetings/{meeting}/invite"),
            Some(json!({"name": "Operatrice Bianchi", "role": "official", "direct": true})),
        )
        .await;
    assert_eq!(status, 201, "{invited}");
    Met { anna, anna_id, official: invited["join_url"].as_str().unwrap().to_owned(), meeting, admin }
}

/// Opens a link's socket, waits to be admitted and sends an offer; returns once answered.
async fn join_media(app: &App, join: &str) -> Socket {
    let (mut ws, _) = tokio_tungstenite::connect_async(ws_url(app, join)).await.unwrap();
    until(&mut ws, "admitted").await;
    ws.send(Message::Text(browser_offer().into())).await.unwrap();
    until(&mut ws, "answer").await;
    ws
}

async fn stored(app: &App, entry: i64) -> ricevo_core::lobby::Entry {
    let demo = app.state.store.tenant_by_slug("demo").await.unwrap().unwrap();
    app.state.store.entry(demo.id, ricevo_core::EntryId(entry)).await.unwrap().unwrap()
}

async fn upload_pdf(app: &App, join: &str) -> (u16, Value) {
    let url = app.url(&format!("{}/documents", link_path(join, &app.base)));
    let resp = app.http.post(url).header("x-file-name", "ricevuta.pdf").body(b"%PDF-1.4\nok\n".to_vec()).send().await;
    let resp = resp.unwrap();
    (resp.status().as_u16(), resp.json::<Value>().await.unwrap_or(Value::Null))
}

async fn download(app: &App, join: &str, doc: &Value) -> u16 {
    let url = app.url(&format!("{}/{}", link_path(join, &app.base), doc["url"].as_str().unwrap()));
    app.http.get(url).send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn a_removed_participant_loses_media_and_documents_on_the_same_socket_and_on_a_reload_until_admitted_again() {
    let app = App::with_media(WebConfig::default()).await;
    let m = meeting_with_official(&app).await;
    let mut anna = join_media(&app, &m.anna).await;
    let (status, doc) = upload_pdf(&app, &m.anna).await;
    assert_eq!(status, 201, "{doc}");
    let mut official = join_media(&app, &m.official).await;

    official.send(Message::Text(json!({"type": "remove", "entry_id": m.anna_id}).to_string().into())).await.unwrap();
    until(&mut anna, "removed").await;
    let listed = until(&mut official, "removed_participant").await;
    assert_eq!((listed["entry_id"].as_i64(), listed["name"].as_str()), (Some(m.anna_id), Some("Anna Neri")));
    // The same socket offers again: no answer comes, and the server closes it.
    let _ = anna.send(Message::Text(browser_offer().into())).await;
    let rest = rest_of(&mut anna).await;
    assert!(rest.iter().all(|m| m["type"] != "answer"), "a removed participant was answered: {rest:?}");

    assert_eq!(stored(&app, m.anna_id).await.status, EntryStatus::Removed);
    // A reload does not let her back in.
    let page = app.http.get(&m.anna).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("ti ha fatto uscire") && !page.contains("room.js"), "the page says she was removed");
    assert!(tokio_tungstenite::connect_async(ws_url(&app, &m.anna)).await.is_err(), "her socket is refused");
    // Nor do the meeting's documents.
    assert_eq!(upload_pdf(&app, &m.anna).await.0, 403);
    assert_eq!(download(&app, &m.anna, &doc).await, 404);
    assert_eq!(download(&app, &m.official, &doc).await, 200);

    // Until the official admits her again, into the same meeting (the staff API's admit
    // does the same), and only once.
    official.send(Message::Text(json!({"type": "readmit", "entry_id": m.anna_id}).to_string().into())).await.unwrap();
    assert_eq!(until(&mut official, "readmitted").await["entry_id"].as_i64(), Some(m.anna_id));
    let back = stored(&app, m.anna_id).await;
    assert_eq!((back.status, back.meeting_id), (EntryStatus::Admitted, Some(ricevo_core::MeetingId(m.meeting))));
    let (status, _) =
        app.staff(&m.admin, reqwest::Method::POST, &format!("/api/v1/demo/waiting/{}/admit", m.anna_id), None).await;
    assert_eq!(status, 409);
    let _anna = join_media(&app, &m.anna).await;
    assert_eq!(download(&app, &m.anna, &doc).await, 200);
}

#[tokio::test]
async fn an_officials_mute_is_stored_holds_through_a_reload_and_new_offer_and_only_the_official_lifts_it() {
    let app = App::with_media(WebConfig::default()).await;
    let m = meeting_with_official(&app).await;
    let mut anna = join_media(&app, &m.anna).await;
    let mut official = join_media(&app, &m.official).await;
    let anna_in = |list: &Value| list["list"].as_array().unwrap().iter().find(|p| p["entry_id"] == m.anna_id).cloned();

    official.send(Message::Text(json!({"type": "mute", "entry_id": m.anna_id}).to_string().into())).await.unwrap();
    until(&mut anna, "muted").await;
    assert!(stored(&app, m.anna_id).await.muted);

    // She reloads: the page offers again on a new socket; the meeting still lists her as muted.
    drop(anna);
    let mut anna = join_media(&app, &m.anna).await;
    let list = until(&mut anna, "participants").await;
    assert_eq!(anna_in(&list).unwrap()["muted"], true, "{list}");
    // She may ask to speak; the official hears it.
    anna.send(Message::Text(json!({"type": "ask_to_speak"}).to_string().into())).await.unwrap();
    let asked = until(&mut official, "asks_to_speak").await;
    assert_eq!((asked["entry_id"].as_i64(), asked["name"].as_str()), (Some(m.anna_id), Some("Anna Neri")));
    // She cannot unmute herself; the official can.
    anna.send(Message::Text(json!({"type": "unmute", "entry_id": m.anna_id}).to_string().into())).await.unwrap();
    assert_eq!(until(&mut anna, "error").await["type"], "error");
    assert!(stored(&app, m.anna_id).await.muted);
    official.send(Message::Text(json!({"type": "unmute", "entry_id": m.anna_id}).to_string().into())).await.unwrap();
    until(&mut anna, "unmuted").await;
    assert!(!stored(&app, m.anna_id).await.muted);
}

#[tokio::test]
async fn after_the_meeting_ends_only_its_official_still_reads_its_documents() {
    let app = App::with_media(WebConfig::default()).await;
    let m = meeting_with_official(&app).await;
    let (status, doc) = upload_pdf(&app, &m.anna).await;
    assert_eq!(status, 201, "{doc}");
    assert_eq!(download(&app, &m.anna, &doc).await, 200);
    let (status, body) =
        app.staff(&m.admin, reqwest::Method::POST, &format!("/api/v1/demo/meetings/{}/end", m.meeting), None).await;
    assert!(status < 300, "{body}");
    assert_eq!(download(&app, &m.anna, &doc).await, 404, "the citizen's rights ended with the meeting");
    assert_eq!(download(&app, &m.official, &doc).await, 200, "the office keeps the case's documents");

    // So do the office's staff, through the API; not another office's, nor another town's.
    let path = format!("/api/v1/demo/meetings/{}/documents/{}", m.meeting, doc["id"]);
    let resp = app.http.get(app.url(&path)).bearer_auth(&m.admin).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-disposition"].to_str().unwrap().starts_with("attachment"));
    assert_eq!(resp.bytes().await.unwrap().as_ref(), b"%PDF-1.4\nok\n");
    let urp = app.office("URP").await;
    let urp_operator = app.token(Role::Operator, Some(urp)).await;
    assert_eq!(app.staff(&urp_operator, reqwest::Method::GET, &path, None).await.0, 200);
    let tributi = app.token(Role::Operator, Some(app.office("Tributi").await)).await;
    assert_eq!(app.staff(&tributi, reqwest::Method::GET, &path, None).await.0, 403);
    let other = app.other_town().await;
    let foreign = ricevo_desk::tokens::new_token();
    let hash = ricevo_desk::tokens::hash(&foreign);
    app.state.store.create_api_token(other.id, Role::Admin, None, &hash, "t").await.unwrap();
    assert_eq!(app.staff(&foreign, reqwest::Method::GET, &path, None).await.0, 401, "a token of another town");
    let theirs = format!("/api/v1/altro/meetings/{}/documents/{}", m.meeting, doc["id"]);
    assert_eq!(app.staff(&foreign, reqwest::Method::GET, &theirs, None).await.0, 404, "not in their town");
    assert_eq!(
        app.staff(&m.admin, reqwest::Method::GET, &path.replace("/documents/", "/documents/9"), None).await.0,
        404
    );
}

/// Sends the request head with `body_start`, then stops sending (half-closes), and returns the
/// answer's status. A server that reads the body first sees it cut short (400); one that checks
/// first answers from the head alone.
async fn post_and_stop(app: &App, path: &str, headers: &str, body_start: &[u8]) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = app.base.strip_prefix("http://").unwrap();
    let mut tcp = tokio::net::TcpStream::connect(host).await.unwrap();
    let head = format!("POST {path} HTTP/1.1\r\nhost: {host}\r\nx-file-name: a.pdf\r\n{headers}\r\n");
    tcp.write_all(&[head.as_bytes(), body_start].concat()).await.unwrap();
    tcp.shutdown().await.unwrap();
    let mut answer = Vec::new();
    let _ = tcp.read_to_end(&mut answer).await;
    let answer = String::from_utf8_lossy(&answer);
    answer.split(' ').nth(1).and_then(|code| code.parse().ok()).unwrap_or_else(|| panic!("no answer: {answer:?}"))
}

#[tokio::test]
async fn uploads_are_refused_before_the_body_is_read_and_an_oversized_one_leaves_nothing_behind() {
    let spool = tempfile::tempdir().unwrap();
    let config = WebConfig { max_document_bytes: 4096, spool_dir: spool.path().to_owned(), ..WebConfig::default() };
    let app = App::start(config).await;
    let twenty_mib = format!("content-length: {}\r\n", 20 * 1024 * 1024);
    let kib = vec![b'%'; 1024];

    // A made-up link: refused from the head, 20 MiB declared and 1 KiB sent.
    let made_up = format!("/a/{}/documents", "A".repeat(43));
    assert_eq!(post_and_stop(&app, &made_up, &twenty_mib, &kib).await, 404);
    // A citizen still waiting has no right to upload.
    let urp = app.office("URP").await;
    let (_, bruno) = app.ticket(urp, "Bruno Gialli").await;
    let waiting = format!("{}/documents", link_path(&bruno, &app.base));
    assert_eq!(post_and_stop(&app, &waiting, &twenty_mib, &kib).await, 403);

    let m = meeting_with_official(&app).await;
    let anna = format!("{}/documents", link_path(&m.anna, &app.base));
    // Admitted, but declaring more than the limit: refused from the head too.
    assert_eq!(post_and_stop(&app, &anna, &twenty_mib, &kib).await, 413);
    // Sent in chunks with no length: counted as it arrives, refused past the limit.
    let mut chunked = Vec::new();
    for _ in 0..3 {
        chunked.extend_from_slice(format!("{:x}\r\n", 2048).as_bytes());
        chunked.extend_from_slice(&[b'%'; 2048]);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    assert_eq!(post_and_stop(&app, &anna, "transfer-encoding: chunked\r\n", &chunked).await, 413);
    let demo = app.state.store.tenant_by_slug("demo").await.unwrap().unwrap();
    let docs = app.state.store.documents(demo.id, ricevo_core::MeetingId(m.meeting)).await.unwrap();
    assert!(docs.is_empty(), "nothing stored: {docs:?}");
    assert_eq!(std::fs::read_dir(spool.path()).unwrap().count(), 0, "no spool file left behind");

    // A document within the limit is stored, its name without the bidirectional override,
    // and its spool file is gone too.
    let resp = app
        .http
        .post(app.url(&anna))
        .header("x-file-name", "fattura%E2%80%AEfdp.exe")
        .body(b"%PDF-1.4\nok\n".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let doc: Value = resp.json().await.unwrap();
    assert_eq!(doc["name"], "fatturafdp.exe");
    assert_eq!(std::fs::read_dir(spool.path()).unwrap().count(), 0);
}

#[tokio::test]
async fn a_cancelled_appointment_leaves_the_waiting_room_and_its_link_is_admitted_to_nothing() {
    let app = App::start(WebConfig::default()).await;
    let join = book_video_appointment(&app).await;
    app.set_now("2026-11-24T09:05:00Z"); // 10:05 in Rome
    let (mut ws, _) = tokio_tungstenite::connect_async(ws_url(&app, &join)).await.unwrap();
    assert_eq!(next_json(&mut ws).await["status"], "waiting");
    let admin = app.token(Role::Admin, None).await;
    let anagrafe = app.office("Anagrafe").await;
    let entry = app.waiting(&admin, anagrafe).await[0]["entry_id"].as_i64().unwrap();

    let token = link_path(&join, &app.base).strip_prefix("/a/").unwrap().to_owned();
    let resp = app.http.post(app.url(&format!("/api/v1/appointments/{token}/cancel"))).json(&json!({})).send().await;
    assert_eq!(resp.unwrap().status(), 200);

    // Her page hears it, the queue no longer holds her, and nobody can admit her.
    until(&mut ws, "cancelled").await;
    assert_eq!(stored(&app, entry).await.status, EntryStatus::Cancelled);
    assert!(app.waiting(&admin, anagrafe).await.is_empty());
    let (status, body) =
        app.staff(&admin, reqwest::Method::POST, &format!("/api/v1/demo/waiting/{entry}/admit"), None).await;
    assert_eq!(status, 409, "{body}");
    // Her link opens no socket and takes no document.
    assert!(tokio_tungstenite::connect_async(ws_url(&app, &join)).await.is_err());
    assert_eq!(upload_pdf(&app, &join).await.0, 403);
}

// ---- call: the citizen's case, the kept chat, the refused page (issue 13) ----

/// Opens a link's socket and returns its `admitted` message and the socket, after an offer was
/// answered.
async fn admitted_and_joined(app: &App, join: &str) -> (Value, Socket) {
    let (mut ws, _) = tokio_tungstenite::connect_async(ws_url(app, join)).await.unwrap();
    let admitted = until(&mut ws, "admitted").await;
    ws.send(Message::Text(browser_offer().into())).await.unwrap();
    until(&mut ws, "answer").await;
    (admitted, ws)
}

#[tokio::test]
async fn only_the_official_gets_the_citizens_case_and_the_chat_is_kept_with_the_meeting_of_its_town() {
    let app = App::with_media(WebConfig::default()).await;
    let m = meeting_with_official(&app).await;
    let (anna_admitted, mut anna) = admitted_and_joined(&app, &m.anna).await;
    let (official_admitted, mut official) = admitted_and_joined(&app, &m.official).await;
    // The case goes to whoever may moderate, and never reaches the citizen's page.
    assert!(anna_admitted.get("case").is_none(), "the citizen's page got the case: {anna_admitted}");
    assert!(!anna_admitted.to_string().contains("cittadino@example.it"), "{anna_admitted}");
    let case = &official_admitted["case"];
    assert_eq!(case["name"], "Anna Neri", "{official_admitted}");
    assert!(case["ticket"].as_i64().unwrap() >= 1, "{case}");

    // A chat line is stored before it is sent, and a page that joins again hears it.
    anna.send(Message::Text(json!({"type": "chat", "text": "Ho la ricevuta"}).to_string().into())).await.unwrap();
    let line = until(&mut official, "chat").await;
    assert_eq!((line["from"].as_str(), line["text"].as_str()), (Some("Anna Neri"), Some("Ho la ricevuta")));
    assert_eq!(line["entry_id"].as_i64(), Some(m.anna_id));
    let demo = app.state.store.tenant_by_slug("demo").await.unwrap().unwrap();
    let meeting = ricevo_core::MeetingId(m.meeting);
    let kept = app.state.store.chat_lines(demo.id, meeting).await.unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!((kept[0].text.as_str(), kept[0].id), ("Ho la ricevuta", line["id"].as_i64().unwrap()));
    drop(anna);
    let (_, mut again) = admitted_and_joined(&app, &m.anna).await;
    let history = until(&mut again, "chat_history").await;
    assert_eq!(history["lines"][0]["text"], "Ho la ricevuta", "{history}");
    // A line too long is refused, and nothing is kept.
    let long = "a".repeat(1001);
    again.send(Message::Text(json!({"type": "chat", "text": long}).to_string().into())).await.unwrap();
    assert!(until(&mut again, "error").await["message"].as_str().unwrap().contains("1000"));
    assert_eq!(app.state.store.chat_lines(demo.id, meeting).await.unwrap().len(), 1);

    // Another town never reads it, nor writes into it, nor finds it in its citizen's export.
    let other = app.other_town().await;
    assert!(app.state.store.chat_lines(other.id, meeting).await.unwrap().is_empty());
    let written = app
        .state
        .store
        .add_chat_line(other.id, meeting, ricevo_core::EntryId(m.anna_id), "X", "intruso", app.state.now())
        .await;
    assert!(matches!(written, Err(ricevo_store::StoreError::NotFound)), "{written:?}");
    let by_email = ricevo_store::CitizenLookup::Email("cittadino@example.it".into());
    let ours = app.state.store.citizen_record(demo.id, &by_email).await.unwrap();
    assert_eq!(ours.chat.iter().map(|l| l.text.as_str()).collect::<Vec<_>>(), ["Ho la ricevuta"]);
    assert!(app.state.store.citizen_record(other.id, &by_email).await.unwrap().chat.is_empty());
    let foreign = ricevo_desk::tokens::new_token();
    let hash = ricevo_desk::tokens::hash(&foreign);
    app.state.store.create_api_token(other.id, Role::Admin, None, &hash, "t").await.unwrap();
    let body = json!({"email": "cittadino@example.it"});
    let (status, theirs) =
        app.staff(&foreign, reqwest::Method::POST, "/api/v1/altro/citizens/export", Some(body.clone())).await;
    assert!(status == 200 || status == 404, "{status} {theirs}");
    assert!(!theirs.to_string().contains("Ho la ricevuta"), "{theirs}");
    let (status, export) =
        app.staff(&m.admin, reqwest::Method::POST, "/api/v1/demo/citizens/export", Some(body.clone())).await;
    assert_eq!(status, 200, "{export}");
    assert_eq!(export["chat"][0]["text"], "Ho la ricevuta", "{export}");

    // The town's retention removes the chat with the case.
    let later = app.state.now() + jiff::SignedDuration::from_hours(1);
    let gone = app.state.store.purge_personal_before(demo.id, later).await.unwrap();
    assert_eq!(gone.chat_lines, 1);
    assert!(app.state.store.chat_lines(demo.id, meeting).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_refused_citizen_sees_the_offices_message_and_what_to_do_next_not_meeting_over() {
    let app = App::start(WebConfig::default()).await;
    let urp = app.office("URP").await;
    let admin = app.token(Role::Admin, None).await;
    let (_, join) = app.ticket(urp, "Anna Neri").await;
    let (mut ws, _) = tokio_tungstenite::connect_async(ws_url(&app, &join)).await.unwrap();
    assert_eq!(next_json(&mut ws).await["status"], "waiting");
    let anna = app.waiting(&admin, urp).await[0]["entry_id"].as_i64().unwrap();
    let (status, body) = app
        .staff(
            &admin,
            reqwest::Method::POST,
            &format!("/api/v1/demo/waiting/{anna}/refuse"),
            Some(json!({"message": "Oggi chiudiamo prima: torna domani."})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let told = until(&mut ws, "refused").await;
    assert_eq!(told["message"], "Oggi chiudiamo prima: torna domani.");
    let page = app.http.get(&join).send().await.unwrap().text().await.unwrap();
    assert!(
        page.contains("L&#39;ufficio non può riceverti ora") || page.contains("L'ufficio non può riceverti ora"),
        "{page}"
    );
    assert!(page.contains("Oggi chiudiamo prima: torna domani."), "the office's message is shown");
    assert!(page.contains("Prenota un nuovo appuntamento") && page.contains("href=\"/demo\""), "{page}");
    assert!(page.contains(&format!("/demo/walk-in/{urp}")), "the open walk-in desk is offered: {page}");
    assert!(page.contains("Comune di Esempio"), "the page keeps the town's identity");
    assert!(!page.contains("Incontro terminato") && !page.contains("room.js"), "{page}");
}

// ---- desk: positions follow the queue at once, and a transfer names the new office ----

/// The next message of a socket, which must be a `state`.
async fn next_state(ws: &mut Socket) -> Value {
    let m = next_json(ws).await;
    assert_eq!(m["type"], "state", "{m}");
    m
}

#[tokio::test]
async fn waiting_pages_hear_their_new_position_right_after_the_queue_changes_and_a_transfer_names_the_office() {
    let app = App::start(WebConfig::default()).await;
    let urp = app.office("URP").await;
    let tributi = app.office("Tributi").await;
    let admin = app.token(Role::Admin, None).await;
    app.ticket(urp, "Anna Neri").await;
    let (_, bruno) = app.ticket(urp, "Bruno Gialli").await;
    let (_, chiara) = app.ticket(urp, "Chiara Blu").await;
    let list = app.waiting(&admin, urp).await;
    let id = |i: usize| list[i]["entry_id"].as_i64().unwrap();
    let post = |path: String, body: Option<Value>| {
        let app = &app;
        let admin = &admin;
        async move {
            let (status, answer) = app.staff(admin, reqwest::Method::POST, &path, body).await;
            assert_eq!(status, 200, "{path}: {answer}");
        }
    };
    // Chiara is sent to Tributi before her page opens: she is first there.
    post(format!("/api/v1/demo/waiting/{}/transfer", id(2)), Some(json!({"office_id": tributi}))).await;

    let (mut bruno_ws, _) = tokio_tungstenite::connect_async(ws_url(&app, &bruno)).await.unwrap();
    let first = next_state(&mut bruno_ws).await;
    assert_eq!(first["position"], 1, "Anna is ahead: {first}");
    assert!(first["office"].as_str().unwrap().starts_with("URP"), "{first}");
    assert!(first["notice"].is_null());
    let (mut chiara_ws, _) = tokio_tungstenite::connect_async(ws_url(&app, &chiara)).await.unwrap();
    let first = next_state(&mut chiara_ws).await;
    assert_eq!(first["position"], 0, "{first}");
    assert!(first["office"].as_str().unwrap().contains("Tributi"), "{first}");

    // Anna is let in: the very next thing Bruno's page hears is that he is next (the periodic
    // refresh is 30 s away; this comes from the queue's change).
    post(format!("/api/v1/demo/waiting/{}/admit", id(0)), None).await;
    let now = next_state(&mut bruno_ws).await;
    assert_eq!(now["position"], 0, "{now}");

    // Bruno is sent to Tributi: his page is told the new office in words, and Chiara, who
    // arrived after him, hears at once that he is ahead of her now.
    post(format!("/api/v1/demo/waiting/{}/transfer", id(1)), Some(json!({"office_id": tributi}))).await;
    let moved = next_state(&mut bruno_ws).await;
    assert!(moved["office"].as_str().unwrap().contains("Tributi"), "{moved}");
    let notice = moved["notice"].as_str().unwrap_or_else(|| panic!("a notice: {moved}"));
    assert!(notice.contains("Tributi") && notice.contains("spostata"), "{notice}");
    assert_eq!(moved["position"], 0, "he arrived before Chiara: {moved}");
    let behind = next_state(&mut chiara_ws).await;
    assert_eq!(behind["position"], 1, "{behind}");

    // Bruno's page now follows Tributi's queue: when he is let in, Chiara is next at once.
    post(format!("/api/v1/demo/waiting/{}/admit", id(1)), None).await;
    until(&mut bruno_ws, "admitted").await;
    let next = next_state(&mut chiara_ws).await;
    assert_eq!(next["position"], 0, "{next}");
}

// ---- the walk-in ticket's number, large on the citizen's page ----

#[tokio::test]
async fn a_walk_in_citizens_page_shows_their_ticket_number_large_and_a_booked_citizens_page_shows_none() {
    let app = App::start(WebConfig::default()).await;
    let urp = app.office("URP").await;
    app.ticket(urp, "Primo Arrivato").await;
    let (number, join) = app.ticket(urp, "Lucia Bianchi").await;
    assert!(number >= 2, "a second ticket has a later number: {number}");
    let page = app.http.get(&join).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    let big = format!("<span class=\"ticket-number\">{number}</span>");
    assert!(html.contains(&big), "the number {number} is not shown large:\n{html}");
    assert!(html.contains("Il tuo numero"), "{html}");

    let booked = book_video_appointment(&app).await;
    app.set_now("2026-11-24T08:56:00Z"); // its waiting room is open
    let html = app.http.get(&booked).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("room.js"), "the booked citizen's waiting room:\n{html}");
    assert!(!html.contains("ticket-number"), "a booked appointment has no ticket number:\n{html}");
}
