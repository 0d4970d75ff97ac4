//! The web edge's guards, on real TCP sockets and a real SQLite store: slow and greedy clients,
//! the request timeout (which spares WebSockets and event streams), the "restarting" goodbye
//! of live pages, who may read `/metrics`, who may frame pages, and which links the desk echoes.

#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use jiff::Timestamp;
use ricevo_web::server::ConnectionLimits;
use ricevo_web::{AppState, WebConfig};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

// Monday 23 November 2026, 09:00 in Rome.
const NOW: &str = "2026-11-23T08:00:00Z";
const PASSWORD: &str = "una-password-lunga-1";
const ADMIN: &str = "admin@esempio.it";
const METRICS_TOKEN: &str = "metrics-token-0123456789";
/// A bound on every wait for the server (not an expectation of how fast it is).
const BOUND: Duration = Duration::from_secs(60);

static PASSWORD_HASH: LazyLock<String> = LazyLock::new(|| ricevo_web::staff::hash_password(PASSWORD));

struct Served {
    addr: SocketAddr,
    base: String,
    state: AppState,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

/// The router behind the real accept loop (`ricevo_web::server::serve`) on a loopback port.
async fn serve(config: WebConfig, limits: ConnectionLimits) -> Served {
    let dir = tempfile::tempdir().unwrap();
    let store = ricevo_store::open(&format!("sqlite://{}", dir.path().join("t.db").display())).await.unwrap();
    let hash = PASSWORD_HASH.clone();
    ricevo_web::demo::load(&*store, move |_| hash.clone()).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let base = format!("http://{addr}");
    let config = WebConfig { public_url: base.clone(), rate_limit_per_minute: 100_000, ..config };
    let now: Timestamp = NOW.parse().unwrap();
    let state = AppState::with_clock(store, config, Arc::new(move || now));
    let app = ricevo_web::router(state.clone());
    tokio::spawn(ricevo_web::server::serve(listener, app, limits, std::future::pending()));
    Served { addr, base, state, http: reqwest::Client::new(), _dir: dir }
}

async fn serve_default() -> Served {
    serve(WebConfig::default(), ConnectionLimits::default()).await
}

/// One GET on an open connection, kept alive: the status, or `None` when the server closed
/// the connection without answering.
async fn get_on(stream: &mut TcpStream, path: &str) -> Option<u16> {
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n");
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = tokio::time::timeout(BOUND, stream.read(&mut chunk)).await.expect("an answer or a close").ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf);
        if let Some(end) = text.find("\r\n\r\n") {
            let head = &text[..end];
            let length: usize = head
                .lines()
                .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_owned()))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            if buf.len() >= end + 4 + length {
                return head.get(9..12).and_then(|s| s.parse().ok());
            }
        }
    }
}

/// A connection from the loopback address `ip` (127.0.0.2 is another client than 127.0.0.1).
async fn connect_from(ip: [u8; 4], to: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::from((ip, 0))).unwrap();
    socket.connect(to).await.unwrap()
}

/// Reads until the server closes the connection; what it sent before.
async fn read_to_close(stream: &mut TcpStream) -> String {
    let mut all = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match tokio::time::timeout(BOUND, stream.read(&mut chunk)).await.expect("the server should close") {
            Ok(0) | Err(_) => return String::from_utf8_lossy(&all).into_owned(),
            Ok(n) => all.extend_from_slice(&chunk[..n]),
        }
    }
}

#[tokio::test]
async fn a_client_that_stalls_in_the_middle_of_its_request_line_is_disconnected() {
    let limits = ConnectionLimits { header_read_timeout: Duration::from_millis(300), ..ConnectionLimits::default() };
    let app = serve(WebConfig::default(), limits).await;
    let mut slow = TcpStream::connect(app.addr).await.unwrap();
    slow.write_all(b"GET /healthz HT").await.unwrap();
    // No more bytes: the server hangs up (instead of holding the connection forever).
    let answer = read_to_close(&mut slow).await;
    assert!(!answer.contains("200 OK"), "{answer}");
    // The server itself goes on serving.
    let mut ok = TcpStream::connect(app.addr).await.unwrap();
    assert_eq!(get_on(&mut ok, "/healthz").await, Some(200));
}

#[tokio::test]
async fn one_address_gets_at_most_its_cap_of_connections_and_another_address_is_unaffected() {
    let limits = ConnectionLimits { max_per_address: 3, ..ConnectionLimits::default() };
    let app = serve(WebConfig::default(), limits).await;
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut c = connect_from([127, 0, 0, 1], app.addr).await;
        assert_eq!(get_on(&mut c, "/healthz").await, Some(200));
        held.push(c);
    }
    let mut fourth = connect_from([127, 0, 0, 1], app.addr).await;
    assert_eq!(get_on(&mut fourth, "/healthz").await, None, "the fourth connection is closed unanswered");
    let mut other = connect_from([127, 0, 0, 2], app.addr).await;
    assert_eq!(get_on(&mut other, "/healthz").await, Some(200), "another address has its own count");
    // The held connections still work, and a closed one frees its place.
    assert_eq!(get_on(&mut held[0], "/healthz").await, Some(200));
    drop(held.pop());
    let deadline = tokio::time::Instant::now() + BOUND;
    loop {
        let mut again = connect_from([127, 0, 0, 1], app.addr).await;
        if get_on(&mut again, "/healthz").await == Some(200) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "a closed connection never freed its place");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn an_open_websocket_counts_against_its_address_until_it_closes() {
    let limits = ConnectionLimits { max_per_address: 1, ..ConnectionLimits::default() };
    let app = serve(WebConfig::default(), limits).await;
    let join = ticket_from(&app, [127, 0, 0, 2], "Anna Neri").await;
    let mut ws = websocket(&app, &join).await;
    assert_eq!(next_json(&mut ws).await["type"], "state");
    let mut second = connect_from([127, 0, 0, 1], app.addr).await;
    assert_eq!(get_on(&mut second, "/healthz").await, None, "the socket holds the one place of 127.0.0.1");
}

/// Takes a walk-in ticket at the URP over one plain connection from `ip`; its join URL.
async fn ticket_from(app: &Served, ip: [u8; 4], name: &str) -> String {
    let mut c = connect_from(ip, app.addr).await;
    let offices: Value = serde_json::from_str(&body_of(&mut c, "GET", "/api/v1/demo/offices", "").await).unwrap();
    let urp =
        offices.as_array().unwrap().iter().find(|o| o["name"].as_str().unwrap().starts_with("URP")).unwrap()["id"]
            .as_i64()
            .unwrap();
    let body = json!({"name": name}).to_string();
    let ticket: Value =
        serde_json::from_str(&body_of(&mut c, "POST", &format!("/api/v1/demo/offices/{urp}/tickets"), &body).await)
            .unwrap();
    ticket["join_url"].as_str().unwrap().to_owned()
}

/// One request with `Connection: close`; the response body.
async fn body_of(c: &mut TcpStream, method: &str, path: &str, body: &str) -> String {
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    c.write_all(request.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let n = tokio::time::timeout(BOUND, c.read(&mut chunk)).await.unwrap().unwrap();
        assert!(n > 0, "closed early: {}", String::from_utf8_lossy(&buf));
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf).into_owned();
        if let Some(end) = text.find("\r\n\r\n") {
            let length: usize = text[..end]
                .lines()
                .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_owned()))
                .and_then(|v| v.parse().ok())
                .unwrap();
            if buf.len() >= end + 4 + length {
                return text[end + 4..].to_owned();
            }
        }
    }
}

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>;

async fn websocket(app: &Served, join_url: &str) -> Socket {
    let path = join_url.strip_prefix(&app.base).unwrap().strip_suffix("/join").unwrap();
    let mut req = format!("ws://{}{path}/ws", app.addr).into_client_request().unwrap();
    req.headers_mut().insert("origin", app.base.parse().unwrap());
    tokio_tungstenite::connect_async(req).await.unwrap().0
}

async fn next_json(ws: &mut Socket) -> Value {
    loop {
        let msg = tokio::time::timeout(BOUND, ws.next()).await.expect("a message").expect("open").unwrap();
        if let Message::Text(t) = msg {
            return serde_json::from_str(t.as_str()).unwrap();
        }
    }
}

/// Signs the demo administrator in; the session cookie.
async fn login(app: &Served) -> String {
    let page = app.http.get(format!("{}/demo/staff/login", app.base)).send().await.unwrap();
    let cookie = page
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("ricevo_login_csrf="))
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let body = page.text().await.unwrap();
    let at = body.find("name=\"login_csrf\" value=\"").unwrap() + 25;
    let csrf = &body[at..at + body[at..].find('"').unwrap()];
    let no_redirects = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let answer = no_redirects
        .post(format!("{}/demo/staff/login", app.base))
        .header("cookie", cookie)
        .form(&[("login_csrf", csrf), ("email", ADMIN), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 303);
    answer
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("ricevo_session="))
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

async fn urp(app: &Served) -> i64 {
    let offices: Value =
        app.http.get(format!("{}/api/v1/demo/offices", app.base)).send().await.unwrap().json().await.unwrap();
    offices.as_array().unwrap().iter().find(|o| o["name"].as_str().unwrap().starts_with("URP")).unwrap()["id"]
        .as_i64()
        .unwrap()
}

/// The desk's event stream, read event by event (`event: NAME`).
struct Events {
    resp: reqwest::Response,
    buf: String,
}

impl Events {
    async fn open(app: &Served, cookie: &str, office: i64) -> Events {
        let resp = app
            .http
            .get(format!("{}/demo/staff/desk/{office}/events", app.base))
            .header("cookie", cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        Events { resp, buf: String::new() }
    }

    /// The name of the next event (skipping keep-alive comments); `None` when the stream ended.
    async fn next(&mut self) -> Option<String> {
        loop {
            if let Some(end) = self.buf.find("\n\n") {
                let event: String = self.buf.drain(..end + 2).collect();
                if let Some(name) = event.lines().find_map(|l| l.strip_prefix("event: ")) {
                    return Some(name.to_owned());
                }
                continue;
            }
            let chunk = tokio::time::timeout(BOUND, self.resp.chunk()).await.expect("an event or the end").ok()??;
            self.buf.push_str(&String::from_utf8_lossy(&chunk));
        }
    }
}

#[tokio::test]
async fn the_request_timeout_answers_408_in_italian_but_spares_websockets_and_event_streams() {
    let config = WebConfig { request_timeout: Duration::from_millis(500), ..WebConfig::default() };
    let app = serve(config, ConnectionLimits::default()).await;
    let office = urp(&app).await;
    let join = ticket_from(&app, [127, 0, 0, 1], "Anna Neri").await;
    let mut ws = websocket(&app, &join).await;
    assert_eq!(next_json(&mut ws).await["type"], "state");
    let cookie = login(&app).await;
    let mut events = Events::open(&app, &cookie, office).await;
    assert_eq!(events.next().await.as_deref(), Some("queue"));

    // A body announced and never sent: the request gets 408 once the timeout is over.
    let mut c = TcpStream::connect(app.addr).await.unwrap();
    c.write_all(b"POST /api/v1/demo/appointments HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{")
        .await
        .unwrap();
    let answer = read_to_close_or_answer(&mut c).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("request_timeout") && answer.contains("troppo tempo"), "{answer}");

    // The socket and the stream opened before the timeout elapsed are still alive.
    ws.send(Message::Text(json!({"type": "ping"}).to_string().into())).await.unwrap();
    loop {
        if next_json(&mut ws).await["type"] == "pong" {
            break;
        }
    }
    ticket_from(&app, [127, 0, 0, 1], "Bruno Verdi").await;
    assert_eq!(events.next().await.as_deref(), Some("queue"), "the stream still pushes changes");
}

/// What the server sent until its whole first answer arrived or it closed.
async fn read_to_close_or_answer(stream: &mut TcpStream) -> String {
    let mut all = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = tokio::time::timeout(BOUND, stream.read(&mut chunk)).await.expect("an answer").unwrap_or(0);
        if n == 0 {
            return String::from_utf8_lossy(&all).into_owned();
        }
        all.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&all).into_owned();
        if text.contains("\r\n\r\n") && text.trim_end().ends_with('}') {
            return text;
        }
    }
}

#[tokio::test]
async fn closing_the_hub_tells_sockets_and_dashboards_the_server_restarts_and_ends_them() {
    let app = serve_default().await;
    let office = urp(&app).await;
    let join = ticket_from(&app, [127, 0, 0, 1], "Anna Neri").await;
    let mut ws = websocket(&app, &join).await;
    assert_eq!(next_json(&mut ws).await["type"], "state");
    let cookie = login(&app).await;
    let mut events = Events::open(&app, &cookie, office).await;
    assert_eq!(events.next().await.as_deref(), Some("queue"));

    app.state.hub.close_all();
    let mut told = false;
    let close = loop {
        match tokio::time::timeout(BOUND, ws.next()).await.expect("a message").expect("open").unwrap() {
            Message::Text(t) => told |= serde_json::from_str::<Value>(t.as_str()).unwrap()["type"] == "restarting",
            Message::Close(frame) => break frame.unwrap(),
            _ => {}
        }
    };
    assert!(told, "the page hears \"restarting\" before the socket closes");
    assert_eq!(close.code, CloseCode::Restart, "close code 1012: the page reconnects");
    assert_eq!(events.next().await.as_deref(), Some("restarting"));
    assert_eq!(events.next().await, None, "the dashboard's stream ends");
    tokio::time::timeout(BOUND, app.state.hub.all_closed()).await.expect("every socket and stream ended");
}

#[tokio::test]
async fn metrics_are_not_public_without_a_token_and_need_the_right_bearer_with_one() {
    let open = serve_default().await;
    let resp = open.http.get(format!("{}/metrics", open.base)).send().await.unwrap();
    assert_eq!(resp.status(), 404, "no token configured: /metrics does not exist on the public address");

    let config = WebConfig { metrics_token: Some(METRICS_TOKEN.into()), ..WebConfig::default() };
    let app = serve(config, ConnectionLimits::default()).await;
    let url = format!("{}/metrics", app.base);
    let anonymous = app.http.get(&url).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    assert_eq!(anonymous.headers()["www-authenticate"], "Bearer realm=\"metrics\"");
    assert!(anonymous.text().await.unwrap().contains("Accesso non autorizzato"));
    let wrong = app.http.get(&url).bearer_auth("metrics-token-012345678x").send().await.unwrap();
    assert_eq!(wrong.status(), 401);
    let right = app.http.get(&url).bearer_auth(METRICS_TOKEN).send().await.unwrap();
    assert_eq!(right.status(), 200);
    assert!(right.text().await.unwrap().contains("ricevo_outbox_backlog"));
}

#[tokio::test]
async fn the_separate_metrics_address_serves_metrics_alone_and_asks_for_a_token_when_one_is_set() {
    let app = serve_default().await;
    let private = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = private.local_addr().unwrap();
    let router = ricevo_web::metrics_router(app.state.clone());
    tokio::spawn(ricevo_web::server::serve(private, router, ConnectionLimits::default(), std::future::pending()));
    let metrics = app.http.get(format!("http://{addr}/metrics")).send().await.unwrap();
    assert_eq!(metrics.status(), 200);
    assert!(metrics.text().await.unwrap().contains("ricevo_bookings_total"));
    let page = app.http.get(format!("http://{addr}/demo")).send().await.unwrap();
    assert_eq!(page.status(), 404, "nothing else there");

    let config = WebConfig { metrics_token: Some(METRICS_TOKEN.into()), ..WebConfig::default() };
    let guarded = serve(config, ConnectionLimits::default()).await;
    let private = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = private.local_addr().unwrap();
    let router = ricevo_web::metrics_router(guarded.state.clone());
    tokio::spawn(ricevo_web::server::serve(private, router, ConnectionLimits::default(), std::future::pending()));
    assert_eq!(guarded.http.get(format!("http://{addr}/metrics")).send().await.unwrap().status(), 401);
    let with = guarded.http.get(format!("http://{addr}/metrics")).bearer_auth(METRICS_TOKEN).send().await.unwrap();
    assert_eq!(with.status(), 200);
}

fn csp(resp: &reqwest::Response) -> String {
    resp.headers().get("content-security-policy").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
}

#[tokio::test]
async fn staff_pages_and_everything_else_forbid_framing_while_embed_mode_still_allows_it() {
    let app = serve_default().await;
    let cookie = login(&app).await;
    let office = urp(&app).await;
    let join = ticket_from(&app, [127, 0, 0, 1], "Anna Neri").await;
    for (what, path, with_cookie) in [
        ("the login page", "/demo/staff/login".to_owned(), false),
        ("the day", "/demo/staff".to_owned(), true),
        ("the desk", format!("/demo/staff/desk/{office}"), true),
        ("the waiting room", join.strip_prefix(&app.base).unwrap().to_owned(), false),
        ("the API", "/api/v1/demo/services".to_owned(), false),
        ("a citizen page", "/demo".to_owned(), false),
        ("the waiting room in embed mode", format!("{}?embed=1", join.strip_prefix(&app.base).unwrap()), false),
    ] {
        let mut req = app.http.get(format!("{}{path}", app.base));
        if with_cookie {
            req = req.header("cookie", &cookie);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 200, "{what}");
        let policy = csp(&resp);
        assert!(policy.contains("frame-ancestors 'none'"), "{what}: {policy}");
    }
    let embedded = app.http.get(format!("{}/demo?embed=1", app.base)).send().await.unwrap();
    assert!(csp(&embedded).contains("frame-ancestors *"), "embed mode frames the booking pages");
}

#[tokio::test]
async fn the_desk_echoes_only_a_join_link_of_its_own_origin() {
    let app = serve_default().await;
    let cookie = login(&app).await;
    let office = urp(&app).await;
    let token = "abcdefghijABCDEFGHIJ0123456789-_abcdefghijk";
    let desk = |link: String| {
        let url = format!("{}/demo/staff/desk/{office}", app.base);
        app.http.get(url).query(&[("invited", link)]).header("cookie", &cookie).send()
    };
    let ours = format!("{}/a/{token}/join", app.base);
    let page = desk(ours.clone()).await.unwrap().text().await.unwrap();
    assert!(page.contains(&format!("<code>{ours}</code>")), "our own link is shown");
    let port = app.addr.port();
    for hostile in [
        format!("http://127.0.0.1:{port}.evil.example/a/{token}/join"),
        format!("http://127.0.0.1:{port}@evil.example/a/{token}/join"),
        format!("http://127.0.0.1:{port}/a/{token}/join?then=http://evil.example"),
        format!("https://127.0.0.1:{port}/a/{token}/join"),
    ] {
        let page = desk(hostile.clone()).await.unwrap().text().await.unwrap();
        assert!(!page.contains("evil.example") && !page.contains("<code>"), "{hostile} was echoed");
    }
}
