//! SIGTERM with browsers connected: the real binary tells its live pages (a waiting room's
//! WebSocket, a desk's event stream) that it is restarting, and exits within its grace, even
//! while a client holds a half-sent request open; a real browser's waiting room says so and
//! comes back by itself to the next process, and so does a desk.

#![allow(clippy::unwrap_used, clippy::print_stderr)]

use crate::support;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

/// A bound on every wait (not an expectation of how fast anything is).
const BOUND: Duration = Duration::from_secs(60);

struct Server {
    child: Child,
    base: String,
    stdout: std::path::PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

async fn start(data: &Path) -> Server {
    start_on(data, free_port()).await
}

async fn start_on(data: &Path, port: u16) -> Server {
    let stdout = data.join("stdout.txt");
    let child = Command::new(env!("CARGO_BIN_EXE_ricevo"))
        .env("RICEVO_DATA_DIR", data.join("data"))
        .env("RICEVO_LISTEN", format!("127.0.0.1:{port}"))
        .env("RICEVO_LOG", "warn")
        .env("RICEVO_MEDIA_UDP", "127.0.0.1:0")
        // A stalled request must not be closed by the header timeout first: the grace ends it.
        .env("RICEVO_HEADER_READ_TIMEOUT_SECONDS", "3600")
        .env("RICEVO_SHUTDOWN_GRACE_SECONDS", "2")
        .env_remove("RICEVO_CONFIG")
        .env_remove("RICEVO_DATABASE_URL")
        .env_remove("RICEVO_SMTP_HOST")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout).unwrap())
        .spawn()
        .unwrap();
    let server = Server { child, base: format!("http://127.0.0.1:{port}"), stdout };
    let http = reqwest::Client::new();
    let deadline = Instant::now() + BOUND;
    loop {
        if let Ok(r) = http.get(format!("{}/healthz", server.base)).send().await
            && r.status().is_success()
        {
            return server;
        }
        assert!(Instant::now() < deadline, "the server did not become ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn cookie(resp: &reqwest::Response, name: &str) -> String {
    resp.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with(&format!("{name}=")))
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

/// Signs the demo administrator in with the password the server printed; the session cookie.
async fn login(server: &Server) -> String {
    let printed = std::fs::read_to_string(&server.stdout).unwrap();
    let password = printed.lines().find_map(|l| l.split_once("  password ").map(|(_, p)| p.trim())).unwrap();
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let page = http.get(format!("{}/demo/staff/login", server.base)).send().await.unwrap();
    let login_cookie = cookie(&page, "ricevo_login_csrf");
    let body = page.text().await.unwrap();
    let at = body.find("name=\"login_csrf\" value=\"").unwrap() + 25;
    let csrf = &body[at..at + body[at..].find('"').unwrap()];
    let answer = http
        .post(format!("{}/demo/staff/login", server.base))
        .header("cookie", login_cookie)
        .form(&[("login_csrf", csrf), ("email", "admin@esempio.it"), ("password", password)])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 303);
    cookie(&answer, "ricevo_session")
}

/// The name of the next server-sent event (keep-alive comments skipped); `None` at the end.
async fn next_event(resp: &mut reqwest::Response, buf: &mut String) -> Option<String> {
    loop {
        if let Some(end) = buf.find("\n\n") {
            let event: String = buf.drain(..end + 2).collect();
            if let Some(name) = event.lines().find_map(|l| l.strip_prefix("event: ")) {
                return Some(name.to_owned());
            }
            continue;
        }
        let chunk = tokio::time::timeout(BOUND, resp.chunk()).await.expect("an event or the end").ok()??;
        buf.push_str(&String::from_utf8_lossy(&chunk));
    }
}

/// Takes a ticket at the demo town's URP walk-in desk: the office's id and the ticket.
async fn urp_ticket(http: &reqwest::Client, base: &str, name: &str) -> (i64, Value) {
    let offices: Value = http.get(format!("{base}/api/v1/demo/offices")).send().await.unwrap().json().await.unwrap();
    let urp =
        offices.as_array().unwrap().iter().find(|o| o["name"].as_str().unwrap().starts_with("URP")).unwrap()["id"]
            .as_i64()
            .unwrap();
    let ticket: Value = http
        .post(format!("{base}/api/v1/demo/offices/{urp}/tickets"))
        .json(&json!({ "name": name }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (urp, ticket)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_sigterm_live_pages_hear_restarting_and_the_process_exits_despite_a_stalled_client() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = start(dir.path()).await;
    let http = reqwest::Client::new();

    // A citizen waiting at the URP's walk-in desk, with the waiting room's socket open.
    let (urp, ticket) = urp_ticket(&http, &server.base, "Anna Neri").await;
    let join = ticket["join_url"].as_str().unwrap();
    let path = join.strip_prefix(&server.base).unwrap().strip_suffix("/join").unwrap();
    let mut req =
        format!("ws://{}{path}/ws", server.base.strip_prefix("http://").unwrap()).into_client_request().unwrap();
    req.headers_mut().insert("origin", server.base.parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();

    // The official's desk, live over Server-Sent Events.
    let session = login(&server).await;
    let mut events = http
        .get(format!("{}/demo/staff/desk/{urp}/events", server.base))
        .header("cookie", session)
        .send()
        .await
        .unwrap();
    assert_eq!(events.status(), 200);
    let mut buf = String::new();
    assert_eq!(next_event(&mut events, &mut buf).await.as_deref(), Some("queue"));

    // A client that sent half a request and stalls.
    let mut stalled = tokio::net::TcpStream::connect(server.base.strip_prefix("http://").unwrap()).await.unwrap();
    stalled.write_all(b"GET /demo HT").await.unwrap();

    let pid = server.child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());

    let mut told = false;
    let close = loop {
        match tokio::time::timeout(BOUND, ws.next()).await.expect("a message").expect("the socket is open").unwrap() {
            Message::Text(t) => told |= serde_json::from_str::<Value>(t.as_str()).unwrap()["type"] == "restarting",
            Message::Close(frame) => break frame.expect("a close frame with a code"),
            _ => {}
        }
    };
    assert!(told, "the waiting room hears \"restarting\"");
    assert_eq!(close.code, CloseCode::Restart, "close code 1012: the page reconnects");
    assert_eq!(next_event(&mut events, &mut buf).await.as_deref(), Some("restarting"));
    assert_eq!(next_event(&mut events, &mut buf).await, None, "the desk's stream ends");

    let deadline = Instant::now() + BOUND;
    let status = loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the process is still running after SIGTERM");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "a clean exit: {status}");
    drop(stalled);
}

/// Takes a walk-in ticket at the office.
async fn take_ticket(base: &str, office: i64, name: &str) {
    let resp = reqwest::Client::new()
        .post(format!("{base}/api/v1/demo/offices/{office}/tickets"))
        .json(&json!({ "name": name }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
}

/// Signs the demo administrator in, in the browser, and opens the office's desk.
async fn sign_in_to_desk(server: &Server, c: &fantoccini::Client, office: i64) {
    use fantoccini::Locator;
    let printed = std::fs::read_to_string(&server.stdout).unwrap();
    let password = printed.lines().find_map(|l| l.split_once("  password ").map(|(_, p)| p.trim())).unwrap();
    c.goto(&format!("{}/demo/staff/login", server.base)).await.unwrap();
    support::wait_for(c, Locator::Css("input[name=email]")).await.send_keys("admin@esempio.it").await.unwrap();
    support::wait_for(c, Locator::Css("input[name=password]")).await.send_keys(password).await.unwrap();
    support::wait_for(c, Locator::Css("form.login button[type=submit]")).await.click().await.unwrap();
    support::wait_for_url(c, "login", |u| !u.contains("/login")).await;
    c.goto(&format!("{}/demo/staff/desk/{office}", server.base)).await.unwrap();
    support::wait_for(c, Locator::Id("queue")).await;
}

/// Runs `script` in the page until it returns true (bounded).
async fn until(c: &fantoccini::Client, what: &str, script: &str) {
    let deadline = Instant::now() + BOUND;
    loop {
        if c.execute(script, vec![]).await.unwrap() == Value::Bool(true) {
            return;
        }
        assert!(Instant::now() < deadline, "{what}; the page says:\n{}", support::body_text(c).await);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiting_room_and_a_desk_in_a_browser_hear_the_restart_and_come_back_to_the_next_process_by_themselves() {
    let Some(tools) = support::tools() else { return };
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut first = start_on(dir.path(), port).await;
    let http = reqwest::Client::new();
    let (urp, ticket) = urp_ticket(&http, &first.base, "Anna Neri").await;
    let join = ticket["join_url"].as_str().unwrap().to_owned();

    let driver = support::Driver::start(&tools);
    let c = driver.session().await;
    c.goto(&join).await.unwrap();
    support::wait_for(&c, fantoccini::Locator::Id("go-none")).await.click().await.unwrap();
    until(&c, "the waiting room did not open", "return window.ricevo.state === 'waiting'").await;
    // The official's desk, live: a new arrival shows up through its event stream.
    let desk = driver.session().await;
    sign_in_to_desk(&first, &desk, urp).await;
    take_ticket(&first.base, urp, "Bruno Verdi").await;
    until(
        &desk,
        "the desk is not live",
        "return document.getElementById('queue').textContent.indexOf('Bruno Verdi') >= 0",
    )
    .await;

    let pid = first.child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    until(
        &c,
        "the page did not say the service restarts",
        "return document.getElementById('connection').textContent.indexOf('riavvia') >= 0",
    )
    .await;
    until(
        &desk,
        "the desk did not say the service restarts",
        "return document.getElementById('desk-status').textContent.indexOf('riavvia') >= 0",
    )
    .await;
    let deadline = Instant::now() + BOUND;
    while first.child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "the first process is still running after SIGTERM");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // The next process, on the same port and data: the page finds it without a reload.
    let out = Command::new(env!("CARGO_BIN_EXE_ricevo"))
        .args(["token", "add", "--tenant", "demo", "--role", "admin"])
        .env("RICEVO_DATA_DIR", dir.path().join("data"))
        .env("RICEVO_LOG", "warn")
        .env("RICEVO_MEDIA_UDP", "127.0.0.1:0")
        .env_remove("RICEVO_DATABASE_URL")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let second = start_on(dir.path(), port).await;
    let deadline = Instant::now() + BOUND;
    loop {
        let list: Value = http
            .get(format!("{}/api/v1/demo/offices/{urp}/waiting", second.base))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let anna = list.as_array().unwrap().iter().find(|e| e["name"] == "Anna Neri").cloned().unwrap();
        if anna["connected"] == true {
            break;
        }
        assert!(Instant::now() < deadline, "the page never reconnected: {anna}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    take_ticket(&second.base, urp, "Carla Russo").await;
    until(
        &desk,
        "the desk did not come back to the next process",
        "return document.getElementById('queue').textContent.indexOf('Carla Russo') >= 0",
    )
    .await;
    until(
        &c,
        "the page still says it is reconnecting",
        "return window.ricevo.state === 'waiting' && document.getElementById('connection').textContent === ''",
    )
    .await;
    driver.close_all().await;
}
