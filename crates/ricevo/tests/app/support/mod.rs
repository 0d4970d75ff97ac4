//! The browser harness: the `ricevo` server on an empty data directory (so it serves the demo
//! town), `chromedriver` driving Debian's headless Chromium, and axe-core injected into pages.
//!
//! Every child process is owned by a guard that kills it on drop; every wait is bounded and only
//! waits for readiness (no assertion is about time).

#![allow(dead_code, unreachable_pub)]

use std::fmt::Write as _;
use std::fs::File;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::wd::TimeoutConfiguration;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

/// How long the server and chromedriver get to become ready (a bound, not an expectation).
const READY_WITHIN: Duration = Duration::from_secs(30);
/// How long to wait for an element or a navigation.
pub const ELEMENT_WITHIN: Duration = Duration::from_secs(20);

/// The bearer token the test server's `/metrics` asks for.
pub const METRICS_TOKEN: &str = "browser-tests-metrics-token";

/// The WCAG 2.1 A and AA rule sets of axe-core.
pub const WCAG_TAGS: [&str; 4] = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"];

/// Whether this run is CI, where a missing browser is a failure, not a skip.
fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true"))
}

/// Finds a program on `PATH`.
fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(program)).find(|p| p.is_file())
}

/// What the browser tests need from the machine.
#[derive(Debug, Clone)]
pub struct Tools {
    /// The Chromium binary.
    pub chromium: PathBuf,
    /// The chromedriver binary.
    pub chromedriver: PathBuf,
    /// The source of `axe.min.js`.
    pub axe: Arc<String>,
}

/// Finds Chromium, chromedriver and axe-core; `None` (after saying why) when one is missing,
/// except under `CI=true`, where a missing tool fails the test.
pub fn tools() -> Option<Tools> {
    let chromium = which("chromium").or_else(|| Some(PathBuf::from("/usr/bin/chromium")).filter(|p| p.is_file()));
    let chromedriver = which("chromedriver");
    let axe_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../node_modules/axe-core/axe.min.js");
    let axe = std::fs::read_to_string(&axe_path).ok();
    let mut missing = Vec::new();
    if chromium.is_none() {
        missing.push("chromium (apt-get install chromium)".to_owned());
    }
    if chromedriver.is_none() {
        missing.push("chromedriver (apt-get install chromium-driver)".to_owned());
    }
    if axe.is_none() {
        missing.push(format!("axe-core at {} (npm ci, or scripts/test)", axe_path.display()));
    }
    match (chromium, chromedriver, axe) {
        (Some(chromium), Some(chromedriver), Some(axe)) => Some(Tools { chromium, chromedriver, axe: Arc::new(axe) }),
        _ => {
            let why = format!("browser test needs {}", missing.join(", "));
            if under_ci() {
                panic!("{why} (CI=true: a skipped browser test is a failure)");
            }
            eprintln!("SKIPPED: {why}");
            None
        }
    }
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    l.local_addr().expect("local address").port()
}

/// The last lines of a log file, for failure messages.
fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

/// A child process killed when dropped.
#[derive(Debug)]
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A plain HTTP/1.1 GET on loopback: the status code, or `None` if nobody answered.
pub fn http_status(port: u16, path: &str) -> Option<u16> {
    let mut s = TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_secs(2)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n").ok()?;
    let mut head = [0u8; 12];
    s.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

/// `ricevo` serving an empty data directory (so the demo town `/demo`).
#[derive(Debug)]
pub struct Server {
    guard: Guard,
    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub origin: String,
    log: PathBuf,
    data: PathBuf,
    _dir: tempfile::TempDir,
}

impl Server {
    /// Starts the server and waits until `/healthz` answers 200.
    pub fn start() -> Server {
        Server::start_with(&[])
    }

    /// Starts the server with more environment variables (settings) and waits until
    /// `/healthz` answers 200.
    pub fn start_with(env: &[(&str, &str)]) -> Server {
        let dir = tempfile::tempdir().expect("temporary data directory");
        Server::start_in(dir, free_port(), env)
    }

    /// Starts the server on `port` with its data in `dir/data` (which a command may have
    /// prepared, see [`ricevo_command`]), and waits until `/healthz` answers 200.
    pub fn start_in(dir: tempfile::TempDir, port: u16, env: &[(&str, &str)]) -> Server {
        let log = dir.path().join("ricevo.log");
        let out = File::create(&log).expect("server log");
        let err = out.try_clone().expect("server log");
        let data = dir.path().join("data");
        let child = Command::new(env!("CARGO_BIN_EXE_ricevo"))
            .env("RICEVO_DATA_DIR", &data)
            .env("RICEVO_LISTEN", format!("127.0.0.1:{port}"))
            // RICEVO_TEST_SERVER_LOG=info (or a filter) to see more of the server when a test fails.
            .env("RICEVO_LOG", std::env::var("RICEVO_TEST_SERVER_LOG").unwrap_or_else(|_| "warn".into()))
            // Each server its own media port: tests run side by side.
            .env("RICEVO_MEDIA_UDP", "127.0.0.1:0")
            .env("RICEVO_METRICS_TOKEN", METRICS_TOKEN)
            .env_remove("RICEVO_CONFIG")
            .env_remove("RICEVO_DATABASE_URL")
            .env_remove("RICEVO_SMTP_HOST")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("start the ricevo binary");
        let mut server =
            Server { guard: Guard(child), origin: format!("http://127.0.0.1:{port}"), log, data, _dir: dir };
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = server.guard.0.try_wait() {
                panic!("ricevo exited before answering /healthz ({status}); its output:\n{}", tail(&server.log));
            }
            if http_status(port, "/healthz") == Some(200) {
                return server;
            }
            assert!(
                started.elapsed() < READY_WITHIN,
                "ricevo did not answer /healthz with 200 within {READY_WITHIN:?}; its output:\n{}",
                tail(&server.log)
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// An absolute URL on this server.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.origin)
    }

    /// The server's data dir (for commands run on it).
    pub fn data(&self) -> &Path {
        &self.data
    }

    /// What the server printed so far.
    pub fn log(&self) -> String {
        tail(&self.log)
    }

    /// Runs a `ricevo` command on this server's data (`token add ...`); its standard output.
    pub fn cli(&self, args: &[&str]) -> String {
        ricevo_command(&self.data, &[], args)
    }

    /// The demo administrator's password, printed once at start.
    pub fn admin_password(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        text.lines()
            .find_map(|l| l.split_once("  password ").map(|(_, p)| p.trim().to_owned()))
            .unwrap_or_else(|| panic!("the server printed no admin password:\n{}", self.log()))
    }
}

/// Runs a `ricevo` command on the data dir `data` with more environment variables (settings);
/// its standard output. Panics, with what it printed, when it fails.
pub fn ricevo_command(data: &Path, env: &[(&str, &str)], args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_ricevo"))
        .args(args)
        .env("RICEVO_DATA_DIR", data)
        .env("RICEVO_LOG", "warn")
        .env_remove("RICEVO_CONFIG")
        .env_remove("RICEVO_DATABASE_URL")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("run the ricevo binary");
    assert!(out.status.success(), "ricevo {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("UTF-8 output").trim().to_owned()
}

/// `chromedriver` on a free loopback port.
#[derive(Debug)]
pub struct Driver {
    guard: Guard,
    url: String,
    chromium: PathBuf,
    sessions: Arc<Mutex<Vec<Client>>>,
    log: PathBuf,
    dir: tempfile::TempDir,
}

impl Driver {
    /// Starts chromedriver and waits until it accepts connections.
    pub fn start(tools: &Tools) -> Driver {
        let dir = tempfile::tempdir().expect("temporary browser directory");
        let port = free_port();
        let log = dir.path().join("chromedriver.log");
        let out = File::create(&log).expect("chromedriver log");
        let err = out.try_clone().expect("chromedriver log");
        let child = Command::new(&tools.chromedriver)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("start chromedriver");
        let mut driver = Driver {
            guard: Guard(child),
            url: format!("http://127.0.0.1:{port}"),
            chromium: tools.chromium.clone(),
            sessions: Arc::default(),
            log,
            dir,
        };
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = driver.guard.0.try_wait() {
                panic!("chromedriver exited at start ({status}); its output:\n{}", tail(&driver.log));
            }
            if http_status(port, "/status") == Some(200) {
                return driver;
            }
            assert!(
                started.elapsed() < READY_WITHIN,
                "chromedriver did not start within {READY_WITHIN:?}; its output:\n{}",
                tail(&driver.log)
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// A new headless Chromium with its own fresh profile (so an empty cache), asking for
    /// Italian pages like a browser set up in Italy.
    pub async fn session(&self) -> Client {
        let n = self.sessions.lock().expect("sessions").len();
        let profile = self.dir.path().join(format!("profile-{n}"));
        let caps = json!({
            "browserName": "chrome",
            "pageLoadStrategy": "normal",
            "goog:chromeOptions": {
                "binary": self.chromium,
                "args": [
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-quic",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--disable-dev-shm-usage",
                    format!("--user-data-dir={}", profile.display()),
                    "--window-size=1280,900",
                    // A fake camera and microphone, granted without a prompt; screen capture
                    // picks a fake screen; media plays without a click.
                    "--use-fake-device-for-media-stream",
                    "--use-fake-ui-for-media-stream",
                    "--auto-select-desktop-capture-source=Entire screen",
                    "--autoplay-policy=no-user-gesture-required",
                    "--lang=it-IT",
                    "--accept-lang=it-IT,it",
                ],
                "prefs": { "intl.accept_languages": "it-IT,it" },
            },
        });
        let Value::Object(caps) = caps else { unreachable!("capabilities are an object") };
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client =
            ClientBuilder::new(connector).capabilities(caps).connect(&self.url).await.unwrap_or_else(|e| {
                panic!("cannot open a Chromium session: {e}; chromedriver said:\n{}", tail(&self.log))
            });
        client
            .update_timeouts(TimeoutConfiguration::new(
                Some(Duration::from_secs(60)),
                Some(Duration::from_secs(60)),
                Some(Duration::ZERO),
            ))
            .await
            .expect("set timeouts");
        self.sessions.lock().expect("sessions").push(client.clone());
        client
    }

    /// Ends every session this driver opened (so no Chromium outlives the test).
    pub async fn close_all(&self) {
        let sessions: Vec<Client> = std::mem::take(&mut *self.sessions.lock().expect("sessions"));
        for c in sessions {
            let _ = c.close().await;
        }
    }
}

/// One test's world: a server, a driver, and the tools.
#[derive(Debug, Clone)]
pub struct World {
    /// The server under test.
    pub server: Arc<Server>,
    /// The chromedriver.
    pub driver: Arc<Driver>,
    /// axe-core and the browser.
    pub tools: Tools,
}

/// Serialises the browser tests of this binary.
static ONE_BROWSER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Runs `body` against a fresh server and chromedriver, then closes every browser session,
/// whether `body` passed or panicked (the panic is then re-raised). Returns without running
/// `body` when the browser tools are missing (outside CI).
pub async fn with_world<F, Fut>(body: F)
where
    F: FnOnce(World) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    with_world_env(&[], body).await
}

/// [`with_world`] with a server started with more environment variables (settings).
pub async fn with_world_env<F, Fut>(env: &[(&str, &str)], body: F)
where
    F: FnOnce(World) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some(tools) = tools() else { return };
    // One browser at a time, even when the harness runs these tests in parallel (the machines
    // have two cores); a test that panicked leaves the lock usable.
    let _one_at_a_time = ONE_BROWSER.lock().await;
    // Both only wait for readiness, before anything else runs on this runtime.
    let server = Server::start_with(env);
    run_world(tools, server, body).await;
}

/// [`with_world`] with a server the test started itself (after preparing its data), and the
/// browser tools it found with [`tools`].
pub async fn with_server_world<F, Fut>(tools: Tools, server: Server, body: F)
where
    F: FnOnce(World) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let _one_at_a_time = ONE_BROWSER.lock().await;
    run_world(tools, server, body).await;
}

async fn run_world<F, Fut>(tools: Tools, server: Server, body: F)
where
    F: FnOnce(World) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let server = Arc::new(server);
    let driver = Arc::new(Driver::start(&tools));
    let world = World { server: server.clone(), driver: driver.clone(), tools };
    let outcome = tokio::spawn(body(world)).await;
    driver.close_all().await;
    if let Err(e) = outcome {
        if e.is_panic() {
            eprintln!("--- ricevo's output ---\n{}", server.log());
            std::panic::resume_unwind(e.into_panic());
        }
        panic!("test body did not finish: {e}");
    }
}

// ---------------------------------------------------------------------------------------------
// Pages and elements

/// An XPath string literal for any text (quotes included).
pub fn xpath_literal(s: &str) -> String {
    if !s.contains('\'') {
        format!("'{s}'")
    } else if !s.contains('"') {
        format!("\"{s}\"")
    } else {
        let parts: Vec<String> = s.split('\'').map(|p| format!("'{p}'")).collect();
        format!("concat({})", parts.join(", \"'\", "))
    }
}

/// An XPath expression: the lower-cased, whitespace-normalised text of `what` contains `text`.
pub fn text_contains(what: &str, text: &str) -> String {
    const UPPER: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZÀÈÉÌÒÙ";
    const LOWER: &str = "abcdefghijklmnopqrstuvwxyzàèéìòù";
    format!(
        "contains(translate(normalize-space({what}), '{UPPER}', '{LOWER}'), {})",
        xpath_literal(&text.to_lowercase())
    )
}

/// Waits (bounded) for an element.
pub async fn wait_for(c: &Client, locator: Locator<'_>) -> Element {
    let what = format!("{locator:?}");
    match c.wait().at_most(ELEMENT_WITHIN).for_element(locator).await {
        Ok(e) => e,
        Err(e) => {
            let url = c.current_url().await.map(|u| u.to_string()).unwrap_or_default();
            let body = body_text(c).await;
            panic!("no element {what} on {url} ({e}); the page says:\n{body}")
        }
    }
}

/// A link whose visible text or accessible name (`aria-label`) contains `text` (any case).
pub async fn link(c: &Client, text: &str) -> Element {
    let xp = format!("//a[{} or {}]", text_contains(".", text), text_contains("@aria-label", text));
    wait_for(c, Locator::XPath(&xp)).await
}

/// The form control labelled `label`: the `<label>` whose text contains `label` (any case),
/// then its `for` id, or the control inside it.
pub async fn field(c: &Client, label: &str) -> Element {
    let xp = format!("//label[{}]", text_contains(".", label));
    let mut l = wait_for(c, Locator::XPath(&xp)).await;
    // A label that says exactly this wins over one that merely contains it.
    let exact = format!("//label[normalize-space(.)={}]", xpath_literal(label));
    if let Ok(e) = c.find(Locator::XPath(&exact)).await {
        l = e;
    }
    match l.attr("for").await.expect("label's for") {
        Some(id) if !id.is_empty() => c
            .find(Locator::Id(&id))
            .await
            .unwrap_or_else(|e| panic!("label {label:?} points to id {id:?}, which is not on the page: {e}")),
        _ => l
            .find(Locator::Css("input, select, textarea"))
            .await
            .unwrap_or_else(|e| panic!("label {label:?} has neither a for= nor a control inside: {e}")),
    }
}

/// Types into the control labelled `label` (after clearing it).
pub async fn fill(c: &Client, label: &str, value: &str) {
    let f = field(c, label).await;
    f.clear().await.expect("clear field");
    f.send_keys(value).await.expect("type into field");
}

/// The visible text of the page.
pub async fn body_text(c: &Client) -> String {
    match c.execute("return document.body ? document.body.innerText : ''", vec![]).await {
        Ok(Value::String(s)) => s,
        _ => String::new(),
    }
}

/// The page's `<html lang>`.
pub async fn html_lang(c: &Client) -> String {
    match c.execute("return document.documentElement.lang", vec![]).await {
        Ok(Value::String(s)) => s,
        _ => String::new(),
    }
}

/// The current URL.
pub async fn current_url(c: &Client) -> String {
    c.current_url().await.expect("current url").to_string()
}

/// Clicks `e` and waits (bounded) until the URL satisfies `arrived`; returns the URL.
pub async fn click_to(c: &Client, e: &Element, arrived: impl Fn(&str) -> bool) -> String {
    let before = current_url(c).await;
    e.click().await.expect("click");
    wait_for_url(c, &before, arrived).await
}

/// Waits (bounded) until the URL satisfies `arrived` and the document has loaded.
pub async fn wait_for_url(c: &Client, before: &str, arrived: impl Fn(&str) -> bool) -> String {
    let started = Instant::now();
    loop {
        let now = current_url(c).await;
        let ready = c.execute("return document.readyState", vec![]).await.ok();
        if arrived(&now) && ready.as_ref().and_then(Value::as_str) == Some("complete") {
            return now;
        }
        if started.elapsed() > ELEMENT_WITHIN {
            let body = body_text(c).await;
            panic!("from {before} the browser did not reach the expected page; it is on {now}, which says:\n{body}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

// ---------------------------------------------------------------------------------------------
// Accessibility

/// One axe-core violation, as reported.
#[derive(Debug, Clone)]
pub struct Violation {
    /// The page (a label chosen by the test).
    pub page: String,
    /// The rule id (e.g. `color-contrast`).
    pub id: String,
    /// `minor`, `moderate`, `serious` or `critical`.
    pub impact: String,
    /// The rule's one-line help and its URL.
    pub help: String,
    /// Each failing node: CSS target and what to fix.
    pub nodes: Vec<String>,
}

/// Formats violations for a failure message or the log.
pub fn describe(violations: &[Violation]) -> String {
    let mut out = String::new();
    for v in violations {
        let _ = writeln!(out, "[{}] {} ({}): {}", v.page, v.id, v.impact, v.help);
        for n in &v.nodes {
            let _ = writeln!(out, "    {n}");
        }
    }
    out
}

const AXE_RUN: &str = r#"
const done = arguments[arguments.length - 1];
const tags = arguments[0];
axe.run(document, { runOnly: { type: "tag", values: tags }, resultTypes: ["violations", "incomplete"] })
  .then(function (r) {
    done({
      violations: r.violations.map(function (v) {
        return {
          id: v.id, impact: v.impact || "", help: v.help + " <" + v.helpUrl + ">",
          nodes: v.nodes.map(function (n) {
            const html = n.html.length > 240 ? n.html.slice(0, 240) + "…" : n.html;
            return n.target.join(" ") + " :: " + html + " :: " + (n.failureSummary || "").replace(/\s+/g, " ");
          }),
        };
      }),
      incomplete: r.incomplete.map(function (v) {
        return v.id + " at " + v.nodes.map(function (n) { return n.target.join(" "); }).join(", ");
      }),
      passes: r.passes.length,
    });
  })
  .catch(function (e) { done({ error: String(e && e.stack || e) }); });
"#;

/// Runs axe-core's WCAG 2.1 A/AA rules on the current page (axe is injected from the local
/// file with WebDriver's execute, never loaded from a URL) and returns every violation. All of
/// them are printed to stderr, whatever their impact.
pub async fn axe(c: &Client, axe_source: &str, page: &str) -> Vec<Violation> {
    let present = c.execute("return typeof window.axe === 'object'", vec![]).await.expect("probe axe");
    if present != Value::Bool(true) {
        c.execute(axe_source, vec![]).await.expect("inject axe-core");
    }
    let result = c.execute_async(AXE_RUN, vec![json!(WCAG_TAGS)]).await.expect("run axe-core");
    if let Some(e) = result.get("error") {
        panic!("axe-core failed on {page}: {e}");
    }
    let str_of = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
    let violations: Vec<Violation> = result
        .get("violations")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|v| Violation {
            page: page.to_owned(),
            id: str_of(v, "id"),
            impact: str_of(v, "impact"),
            help: str_of(v, "help"),
            nodes: v
                .get("nodes")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|n| n.as_str().map(str::to_owned))
                .collect(),
        })
        .collect();
    let passes = result.get("passes").and_then(Value::as_u64).unwrap_or(0);
    assert!(passes > 0, "axe-core checked no rule on {page}: is it the right axe-core? {result}");
    let incomplete = result.get("incomplete").cloned().unwrap_or(Value::Null);
    if violations.is_empty() {
        eprintln!("axe [{page}]: no WCAG 2.1 A/AA violation (needs review: {incomplete})");
    } else {
        eprintln!(
            "axe [{page}]: {} violation(s) (needs review: {incomplete}):\n{}",
            violations.len(),
            describe(&violations)
        );
    }
    violations
}

/// Collects axe results over a journey and asserts at the end, so one run reports every page.
#[derive(Debug, Default)]
pub struct Audit {
    all: Vec<Violation>,
    pages: Vec<String>,
}

impl Audit {
    /// Audits the current page twice: at a phone's size (360×740) and at a PC's (1280×900, the
    /// size sessions open at, which it is left at), since a layout that reflows can hide a
    /// control or shrink a target at one size only.
    pub async fn page(&mut self, c: &Client, axe_source: &str, page: &str) {
        let url = c.current_url().await.map(|u| u.to_string()).unwrap_or_default();
        for (size, width, height) in [("phone", 360, 740), ("PC", 1280, 900)] {
            c.set_window_size(width, height).await.expect("resize the browser window");
            let label = format!("{page} [{size}] {url}");
            self.all.extend(axe(c, axe_source, &label).await);
            self.pages.push(label);
        }
    }

    /// Fails if any page had any WCAG 2.1 A/AA violation, whatever axe-core calls its impact;
    /// the message lists every one.
    pub fn assert_clean(&self) {
        assert!(!self.pages.is_empty(), "no page was audited");
        assert!(
            self.all.is_empty(),
            "{} WCAG 2.1 A/AA violation(s) on {} audited page views; every violation:\n{}",
            self.all.len(),
            self.pages.len(),
            describe(&self.all)
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Network

/// Every URL the current page fetched or points a fetch at: the document, resource-timing
/// entries, and the `src`/`href`/`action`/`poster` of elements that load or submit.
pub async fn requested_urls(c: &Client) -> Vec<String> {
    let script = r#"
const urls = [location.href];
for (const e of performance.getEntriesByType("navigation")) urls.push(e.name);
for (const e of performance.getEntriesByType("resource")) urls.push(e.name);
for (const el of document.querySelectorAll("script[src], img[src], iframe[src], audio[src], video[src], source[src], track[src], embed[src], input[type=image][src]")) urls.push(el.src);
for (const el of document.querySelectorAll("link[href]")) urls.push(el.href);
for (const el of document.querySelectorAll("form")) urls.push(el.action);
for (const el of document.querySelectorAll("video[poster]")) urls.push(el.poster);
for (const el of document.querySelectorAll("object[data]")) urls.push(el.data);
return urls;
"#;
    let v = c.execute(script, vec![]).await.expect("list requested URLs");
    v.as_array().into_iter().flatten().filter_map(|u| u.as_str().map(str::to_owned)).collect()
}

/// What the current page cost over the wire, per the Resource Timing API:
/// (the document's `transferSize`, each resource's URL and `transferSize`).
pub async fn transferred(c: &Client) -> (u64, Vec<(String, u64)>) {
    let script = r#"
const nav = performance.getEntriesByType("navigation")[0];
return {
  document: nav ? nav.transferSize : 0,
  resources: performance.getEntriesByType("resource").map(function (e) { return [e.name, e.transferSize]; }),
};
"#;
    let v = c.execute(script, vec![]).await.expect("read resource timing");
    let document = v.get("document").and_then(Value::as_u64).unwrap_or(0);
    let resources = v
        .get("resources")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|r| Some((r.get(0)?.as_str()?.to_owned(), r.get(1)?.as_u64().unwrap_or(0))))
        .collect();
    (document, resources)
}

// ---------------------------------------------------------------------------------------------
// Staff sign-in and crawling

/// Signs the demo town's administrator in (password only: the demo administrator has no second
/// factor) and waits until the browser has left the sign-in page.
pub async fn sign_in_as_demo_admin(w: &World, c: &Client) {
    c.goto(&w.server.url("/demo/staff/login")).await.expect("login page");
    wait_for(c, Locator::Css("input[name=email]")).await.send_keys("admin@esempio.it").await.expect("type e-mail");
    let password = wait_for(c, Locator::Css("input[name=password]")).await;
    password.send_keys(&w.server.admin_password()).await.expect("type password");
    wait_for(c, Locator::Css("form.login button[type=submit]")).await.click().await.expect("sign in");
    wait_for_url(c, "login", |u| !u.contains("/login")).await;
}

/// The same-origin links of the current page whose path starts with `prefix`, without their
/// fragment, that a crawler may follow: GET links only (a link never changes anything here),
/// never signing out or downloading a file.
pub async fn links_under(c: &Client, prefix: &str) -> Vec<String> {
    let script = r#"
const prefix = arguments[0];
const out = [];
for (const a of document.querySelectorAll("a[href]")) {
  const u = new URL(a.href, location.href);
  if (u.origin !== location.origin || !u.pathname.startsWith(prefix) || a.hasAttribute("download")) continue;
  u.hash = "";
  out.push(u.pathname + u.search);
}
return out;
"#;
    let v = c.execute(script, vec![json!(prefix)]).await.expect("list links");
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|u| u.as_str().map(str::to_owned))
        .filter(|u| !u.contains("logout") && !u.contains("export") && !u.ends_with(".csv") && !u.ends_with(".ics"))
        .collect()
}

/// Visits every page reachable by links from `starts` whose path starts with `prefix`
/// (breadth first, at most `limit` pages, one page per distinct shape so a list of a hundred
/// appointments costs one visit), auditing each with axe at both sizes; returns the paths
/// visited.
pub async fn crawl_and_audit(
    w: &World,
    c: &Client,
    audit: &mut Audit,
    starts: &[&str],
    prefix: &str,
    limit: usize,
) -> Vec<String> {
    // "/demo/staff/appointments/17/move" and ".../18/move" are one shape, and so are
    // "/demo/staff?date=2026-12-07" and "?date=2026-12-08": the query's keys count, not values.
    fn shape(path: &str) -> String {
        let (path, query) = path.split_once('?').unwrap_or((path, ""));
        let path =
            path.split('/').map(|p| if !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()) { "N" } else { p });
        let mut keys: Vec<&str> = query.split('&').filter_map(|kv| kv.split('=').next()).collect();
        keys.sort_unstable();
        format!("{}?{}", path.collect::<Vec<_>>().join("/"), keys.join("&"))
    }
    let mut seen_shapes = std::collections::HashSet::new();
    let mut queue: std::collections::VecDeque<String> = starts.iter().map(|s| (*s).to_owned()).collect();
    let mut visited = Vec::new();
    while let Some(path) = queue.pop_front() {
        if visited.len() >= limit || !seen_shapes.insert(shape(&path)) {
            continue;
        }
        c.goto(&w.server.url(&path)).await.unwrap_or_else(|e| panic!("open {path}: {e}"));
        let status = c
            .execute("return performance.getEntriesByType('navigation')[0].responseStatus || 0", vec![])
            .await
            .ok()
            .and_then(|v| v.as_u64())
            .unwrap_or(0);
        assert!(status < 500, "{path} answered {status}:\n{}", body_text(c).await);
        audit.page(c, &w.tools.axe, &path).await;
        visited.push(path);
        queue.extend(links_under(c, prefix).await);
    }
    visited
}
