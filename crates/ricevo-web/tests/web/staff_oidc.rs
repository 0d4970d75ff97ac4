//! Staff sign-in through the town's own OpenID Connect provider (issue 16), against a real
//! provider: npm's `oidc-provider` (tests/oidc-provider/server.mjs) on a loopback port, its
//! login and consent pages filled in over HTTP as a browser would, Ricevo behind its real accept
//! loop. Without node or the package (and npm cannot install it) the tests say why and pass,
//! except under `CI=true`, where they fail.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use ricevo_core::OfficeId;
use ricevo_core::audit::Act;
use ricevo_store::{AuditFilter, Role, RoleMapping, Store, Tenant, TownIdentityProvider};
use ricevo_web::server::ConnectionLimits;
use ricevo_web::{AppState, WebConfig};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::Mutex;

use crate::support::{self, ADMIN, NOW, PASSWORD_HASH};

const DEMO_SECRET: &str = "demo-client-secret-0123456789abcdef";
const ALTRO_SECRET: &str = "altro-client-secret-0123456789abcdef";

/// Whether this run is CI, where a missing tool is a failure, not a skip.
fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true"))
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

// `npm ci` once per test run, when the package is missing (scripts/test does it too).
static INSTALL: Mutex<Option<Result<(), String>>> = Mutex::const_new(None);

async fn provider_package() -> Result<(), String> {
    let mut done = INSTALL.lock().await;
    if let Some(result) = done.as_ref() {
        return result.clone();
    }
    let result = async {
        let node = tokio::process::Command::new("node").arg("--version").output().await;
        if !node.is_ok_and(|o| o.status.success()) {
            return Err("node is not installed".to_owned());
        }
        let root = workspace();
        if root.join("node_modules/oidc-provider/package.json").exists() {
            return Ok(());
        }
        let out = tokio::process::Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--silent"])
            .current_dir(&root)
            .output()
            .await
            .map_err(|e| format!("npm cannot run: {e}"))?;
        if !out.status.success() || !root.join("node_modules/oidc-provider/package.json").exists() {
            return Err(format!("npm ci did not install oidc-provider: {}", String::from_utf8_lossy(&out.stderr)));
        }
        Ok(())
    }
    .await;
    *done = Some(result.clone());
    result
}

/// Skips (with a warning) or, under `CI=true`, fails.
fn unavailable(why: &str) {
    assert!(!under_ci(), "{why} (CI=true: a skipped staff sign-in test is a failure)");
    eprintln!("SKIPPED: staff sign-in through a real OpenID provider: {why}");
}

/// Ricevo on a loopback port, two towns, and a real OpenID provider with a client for each.
struct World {
    base: String,
    issuer: String,
    store: Arc<dyn Store>,
    state: AppState,
    demo: Tenant,
    altro: Tenant,
    _provider: tokio::process::Child,
    // Held open: a provider writing to a closed pipe would die.
    _provider_out: tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
    _dir: tempfile::TempDir,
}

async fn world() -> Option<World> {
    if let Err(why) = provider_package().await {
        unavailable(&why);
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let store = ricevo_store::open(&format!("sqlite://{}", dir.path().join("t.db").display())).await.unwrap();
    let hash = PASSWORD_HASH.clone();
    let demo = ricevo_web::demo::load(&*store, move |_| hash.clone()).await.unwrap().tenant;
    let altro = store
        .create_tenant(&ricevo_store::NewTenant {
            slug: "altro".into(),
            name: "Comune Altro".into(),
            time_zone: "Europe/Rome".into(),
            patron_day: None,
            contact_email: "urp@altro.it".into(),
            privacy_notice: "Informativa".into(),
            retention_days: 365,
        })
        .await
        .unwrap();
    store.create_user(altro.id, "admin@altro.it", "Admin Altro", Role::Admin, &PASSWORD_HASH, &[]).await.unwrap();
    store.create_user(altro.id, "bruno@altro.it", "Bruno Altro", Role::Operator, &PASSWORD_HASH, &[]).await.unwrap();

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let clients = serde_json::json!([
        {"client_id": "ricevo-demo", "client_secret": DEMO_SECRET,
         "redirect_uris": [format!("{base}/demo/staff/login/oidc/callback")]},
        {"client_id": "ricevo-altro", "client_secret": ALTRO_SECRET,
         "redirect_uris": [format!("{base}/altro/staff/login/oidc/callback")]},
    ]);
    let mut child = tokio::process::Command::new("node")
        .arg(workspace().join("crates/ricevo-web/tests/oidc-provider/server.mjs"))
        .env("CLIENTS", clients.to_string())
        .current_dir(workspace())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(
            std::fs::File::create(dir.path().join("provider.log")).map(Stdio::from).unwrap_or_else(|_| Stdio::null()),
        )
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let ready = tokio::time::timeout(Duration::from_secs(60), lines.next_line()).await;
    let issuer = match ready {
        Ok(Ok(Some(line))) if line.starts_with("READY ") => line["READY ".len()..].trim().to_owned(),
        other => {
            unavailable(&format!("oidc-provider did not start: {other:?}"));
            return None;
        }
    };

    // The provider runs on this machine: the instance allows its loopback address, as it
    // would have to for a provider on its own network.
    let config = WebConfig {
        public_url: base.clone(),
        rate_limit_per_minute: 100_000,
        webhook_allow_hosts: ricevo_notify::AllowedHosts::parse(["127.0.0.1"]).unwrap(),
        ..WebConfig::default()
    };
    let now: Timestamp = NOW.parse().unwrap();
    let state = AppState::with_clock(store.clone(), config, Arc::new(move || now));
    let app = ricevo_web::router(state.clone());
    tokio::spawn(ricevo_web::server::serve(listener, app, ConnectionLimits::default(), std::future::pending()));
    Some(World { base, issuer, store, state, demo, altro, _provider: child, _provider_out: lines, _dir: dir })
}

impl World {
    /// Configures `town`'s provider straight in the store (the page has its own test).
    async fn configure(&self, town: &Tenant, domains: &[&str], mappings: Vec<RoleMapping>, create_unknown: bool) {
        let (client_id, secret) =
            if town.id == self.demo.id { ("ricevo-demo", DEMO_SECRET) } else { ("ricevo-altro", ALTRO_SECRET) };
        let p = TownIdentityProvider {
            tenant_id: town.id,
            issuer_url: self.issuer.clone(),
            client_id: client_id.into(),
            client_secret: Some(secret.into()),
            email_domains: domains.iter().map(|d| (*d).to_owned()).collect(),
            groups_claim: "groups".into(),
            mappings,
            create_unknown,
            passwords_off: false,
            updated_at: NOW.parse().unwrap(),
        };
        self.store.set_town_identity_provider(&p).await.unwrap();
    }

    async fn first_office(&self) -> OfficeId {
        self.store.offices(self.demo.id).await.unwrap()[0].id
    }

    async fn audit(&self, town: &Tenant, act: Act) -> Vec<String> {
        let filter = AuditFilter { act: Some(act), limit: 100, ..AuditFilter::default() };
        self.store
            .audit_log(town.id, &filter)
            .await
            .unwrap()
            .into_iter()
            .map(|e| format!("{} {}", e.actor.name(), e.detail))
            .collect()
    }
}

/// A browser: follows nothing by itself, keeps cookies per origin (paths ignored, so a cookie
/// a real browser would keep from a path is still sent: the server's own checks must hold).
struct Browser {
    http: reqwest::Client,
    jar: HashMap<String, HashMap<String, String>>,
}

#[derive(Debug)]
struct Page {
    status: u16,
    location: Option<String>,
    body: String,
    set_cookies: Vec<String>,
}

fn origin_of(url: &str) -> String {
    let u = url::Url::parse(url).unwrap();
    format!("{}://{}", u.scheme(), u.host_str().unwrap()) + &u.port().map(|p| format!(":{p}")).unwrap_or_default()
}

impl Browser {
    fn new() -> Browser {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        Browser { http, jar: HashMap::new() }
    }

    fn set(&mut self, origin: &str, name: &str, value: &str) {
        self.jar.entry(origin.to_owned()).or_default().insert(name.to_owned(), value.to_owned());
    }

    async fn send(&mut self, req: reqwest::RequestBuilder, url: &str) -> Page {
        let origin = origin_of(url);
        let cookies = self.jar.get(&origin).map(|c| c.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>());
        let req = match cookies {
            Some(c) if !c.is_empty() => req.header("cookie", c.join("; ")),
            _ => req,
        };
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let set_cookies: Vec<String> =
            resp.headers().get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()).map(str::to_owned).collect();
        for c in &set_cookies {
            let pair = c.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            let gone = c.to_ascii_lowercase().contains("max-age=0") || c.contains("expires=Thu, 01 Jan 1970");
            let jar = self.jar.entry(origin.clone()).or_default();
            if gone || value.is_empty() {
                jar.remove(name.trim());
            } else {
                jar.insert(name.trim().to_owned(), value.to_owned());
            }
        }
        let location = resp
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(|l| url::Url::parse(url).unwrap().join(l).unwrap().to_string());
        let body = resp.text().await.unwrap_or_default();
        Page { status, location, body, set_cookies }
    }

    async fn get(&mut self, url: &str) -> Page {
        let req = self.http.get(url);
        self.send(req, url).await
    }

    async fn post(&mut self, url: &str, pairs: &[(String, String)]) -> Page {
        let req = self.http.post(url).form(pairs);
        self.send(req, url).await
    }

    /// Follows redirects until a page, or until the next one is `stop` (returned unvisited).
    async fn follow(&mut self, mut page: Page, stop: &str) -> Result<Page, String> {
        for _ in 0..20 {
            let Some(next) = page.location.clone().filter(|_| (300..400).contains(&page.status)) else {
                return Ok(page);
            };
            if next.contains(stop) {
                return Err(next);
            }
            page = self.get(&next).await;
        }
        panic!("too many redirects");
    }
}

/// The first form of a provider page: its action and its fields (hidden ones as given, the
/// login form's login and password filled in).
fn provider_form(body: &str, page_url: &str, login: &str) -> (String, Vec<(String, String)>) {
    let form = &body[body.find("<form").unwrap_or_else(|| panic!("no form in {body}"))..];
    let action = attr(form, "action").unwrap();
    let action = url::Url::parse(page_url).unwrap().join(&action).unwrap().to_string();
    let form = &form[..form.find("</form>").unwrap()];
    let mut fields = Vec::new();
    for input in form.split("<input").skip(1) {
        let tag = &input[..input.find('>').unwrap()];
        let Some(name) = attr(tag, "name") else { continue };
        let value = match name.as_str() {
            "login" => login.to_owned(),
            "password" => "any-password".to_owned(),
            _ => attr(tag, "value").unwrap_or_default(),
        };
        fields.push((name, value));
    }
    (action, fields)
}

fn attr(tag: &str, name: &str) -> Option<String> {
    let at = tag.find(&format!("{name}=\""))? + name.len() + 2;
    let rest = &tag[at..];
    Some(rest[..rest.find('"')?].replace("&amp;", "&"))
}

/// Starts a sign-in at `slug`, signs in at the provider as `login` and consents: the callback
/// URL the provider sends the browser to, not yet visited.
async fn through_provider(b: &mut Browser, w: &World, slug: &str, login: &str) -> String {
    let start = b.get(&format!("{}/{slug}/staff/login/oidc", w.base)).await;
    assert_eq!(start.status, 303, "{}", start.body);
    assert!(start.location.as_deref().unwrap().starts_with(&w.issuer), "{start:?}");
    let mut url = start.location.clone().unwrap();
    let mut page = match b.follow(start, "/staff/login/oidc/callback").await {
        Ok(p) => p,
        Err(callback) => return callback,
    };
    for _ in 0..4 {
        assert_eq!(page.status, 200, "provider page: {}", page.body);
        let (action, fields) = provider_form(&page.body, &url, login);
        url = action.clone();
        let posted = b.post(&action, &fields).await;
        page = match b.follow(posted, "/staff/login/oidc/callback").await {
            Ok(p) => p,
            Err(callback) => return callback,
        };
    }
    panic!("the provider never sent the browser back: {}", page.body);
}

/// A whole sign-in at `slug` as `login`: the callback's answer.
async fn sign_in(b: &mut Browser, w: &World, slug: &str, login: &str) -> Page {
    let callback = through_provider(b, w, slug, login).await;
    b.get(&callback).await
}

fn session_of(page: &Page) -> Option<String> {
    page.set_cookies
        .iter()
        .find(|c| c.starts_with("ricevo_session=") && !c.starts_with("ricevo_session=;"))
        .map(|c| support::cookie_value(c))
}

#[tokio::test]
async fn signing_in_through_the_towns_provider_opens_a_session() {
    let Some(w) = world().await else { return };
    w.configure(&w.demo, &["esempio.it"], Vec::new(), false).await;
    let mut b = Browser::new();
    let login = b.get(&format!("{}/demo/staff/login", w.base)).await;
    assert!(
        login.body.contains("Accedi con l&#39;account del Comune")
            || login.body.contains("Accedi con l'account del Comune")
    );
    assert!(login.body.contains("name=\"password\""), "passwords stay on by default");

    let answer = sign_in(&mut b, &w, "demo", "admin").await;
    assert_eq!(answer.status, 303, "{}", answer.body);
    assert_eq!(answer.location.as_deref(), Some(format!("{}/demo/staff", w.base).as_str()));
    let token = session_of(&answer).expect("a session cookie");
    let day = b.get(&format!("{}/demo/staff", w.base)).await;
    assert_eq!(day.status, 200, "{}", day.body);
    assert!(day.body.contains("Amministratore"));
    assert!(w.store.session_via_provider(&ricevo_desk::tokens::hash(&token)).await.unwrap());
    let signed = w.audit(&w.demo, Act::SignIn).await;
    assert!(signed.iter().any(|s| s.contains("admin@esempio.it") && s.contains("identity provider")), "{signed:?}");
}

#[tokio::test]
async fn an_email_domain_the_town_does_not_allow_is_refused_in_the_pages_language() {
    let Some(w) = world().await else { return };
    w.configure(&w.demo, &["esempio.it"], Vec::new(), true).await;
    let mut b = Browser::new();
    let answer = sign_in(&mut b, &w, "demo", "mario").await;
    assert_eq!(answer.status, 403, "{}", answer.body);
    assert!(answer.body.contains("Il dominio del tuo indirizzo e-mail"), "{}", answer.body);
    assert!(session_of(&answer).is_none());
    let origin = origin_of(&w.base);
    b.set(&origin, "lang", "en");
    let answer = sign_in(&mut b, &w, "demo", "mario").await;
    assert_eq!(answer.status, 403);
    assert!(answer.body.contains("domain is not one of the town"), "{}", answer.body);
    let refused = w.audit(&w.demo, Act::SignInFailed).await;
    assert!(refused.iter().any(|s| s.contains("mario@altrove.it") && s.contains("domain not allowed")), "{refused:?}");
}

#[tokio::test]
async fn an_unknown_person_whose_groups_map_to_no_role_is_refused() {
    let Some(w) = world().await else { return };
    let office = w.first_office().await;
    let mapping = RoleMapping { value: "anagrafe".into(), role: Role::Operator, offices: vec![office] };
    w.configure(&w.demo, &["esempio.it"], vec![mapping], true).await;
    let mut b = Browser::new();
    let answer = sign_in(&mut b, &w, "demo", "ugo").await;
    assert_eq!(answer.status, 403, "{}", answer.body);
    assert!(answer.body.contains("Non hai un account del personale in questo Comune"), "{}", answer.body);
    assert!(w.store.user_by_email(w.demo.id, "ugo@esempio.it").await.unwrap().is_none());
}

#[tokio::test]
async fn a_mapped_group_creates_the_account_with_its_role_and_offices() {
    let Some(w) = world().await else { return };
    let office = w.first_office().await;
    let mapping = RoleMapping { value: "anagrafe".into(), role: Role::Operator, offices: vec![office] };
    w.configure(&w.demo, &["esempio.it"], vec![mapping], true).await;
    let mut b = Browser::new();
    let answer = sign_in(&mut b, &w, "demo", "anna").await;
    assert_eq!(answer.status, 303, "{}", answer.body);
    let anna = w.store.user_by_email(w.demo.id, "anna@esempio.it").await.unwrap().expect("created");
    assert_eq!(anna.role, Role::Operator);
    assert_eq!(anna.offices, vec![office]);
    assert_eq!(anna.name, "Anna Anagrafe", "the name comes from userinfo");
    let day = b.get(&format!("{}/demo/staff", w.base)).await;
    assert_eq!(day.status, 200);
    let created = w.audit(&w.demo, Act::AccountCreated).await;
    assert!(created.iter().any(|s| s.contains("anna@esempio.it") && s.contains("group anagrafe")), "{created:?}");

    // At the next sign-in, role and offices follow the group's mapping.
    let manager = RoleMapping { value: "anagrafe".into(), role: Role::Manager, offices: vec![office] };
    w.configure(&w.demo, &["esempio.it"], vec![manager], false).await;
    let answer = sign_in(&mut Browser::new(), &w, "demo", "anna").await;
    assert_eq!(answer.status, 303, "the account now exists: {}", answer.body);
    let anna = w.store.user_by_email(w.demo.id, "anna@esempio.it").await.unwrap().unwrap();
    assert_eq!(anna.role, Role::Manager);
    // Without a mapping, an existing account keeps what its administrators gave it.
    w.configure(&w.demo, &["esempio.it"], Vec::new(), false).await;
    let answer = sign_in(&mut Browser::new(), &w, "demo", "anna").await;
    assert_eq!(answer.status, 303);
    assert_eq!(w.store.user_by_email(w.demo.id, "anna@esempio.it").await.unwrap().unwrap().role, Role::Manager);
}

#[tokio::test]
async fn an_email_the_provider_says_is_unverified_is_refused() {
    let Some(w) = world().await else { return };
    w.configure(&w.demo, &["esempio.it"], Vec::new(), false).await;
    w.store.create_user(w.demo.id, "nina@esempio.it", "Nina", Role::Operator, &PASSWORD_HASH, &[]).await.unwrap();
    let answer = sign_in(&mut Browser::new(), &w, "demo", "nina").await;
    assert_eq!(answer.status, 403, "{}", answer.body);
    assert!(answer.body.contains("non è verificato"), "{}", answer.body);
    assert!(session_of(&answer).is_none());
}

#[tokio::test]
async fn a_disabled_account_is_refused() {
    let Some(w) = world().await else { return };
    w.configure(&w.demo, &["esempio.it"], Vec::new(), false).await;
    let dora =
        w.store.create_user(w.demo.id, "dora@esempio.it", "Dora", Role::Operator, &PASSWORD_HASH, &[]).await.unwrap();
    w.store.set_user_disabled(w.demo.id, dora.id, Some(NOW.parse().unwrap())).await.unwrap();
    let answer = sign_in(&mut Browser::new(), &w, "demo", "dora").await;
    assert_eq!(answer.status, 403, "{}", answer.body);
    assert!(answer.body.contains("Questo account è disattivato"), "{}", answer.body);
    assert!(session_of(&answer).is_none());
    let refused = w.audit(&w.demo, Act::SignInFailed).await;
    assert!(refused.iter().any(|s| s.contains("account disabled")), "{refused:?}");
}

#[tokio::test]
async fn a_wrong_state_or_a_replayed_callback_is_refused() {
    let Some(w) = world().await else { return };
    w.configure(&w.demo, &["esempio.it"], Vec::new(), false).await;
    let mut b = Browser::new();
    let callback = through_provider(&mut b, &w, "demo", "admin").await;
    let forged = url::Url::parse_with_params(
        &callback[..callback.find('?').unwrap()],
        url::Url::parse(&callback).unwrap().query_pairs().map(|(k, v)| {
            if k == "state" { (k.into_owned(), "not-the-state".to_owned()) } else { (k.into_owned(), v.into_owned()) }
        }),
    )
    .unwrap();
    let answer = b.get(forged.as_str()).await;
    assert_eq!(answer.status, 400, "{}", answer.body);
    assert!(answer.body.contains("non è stato avviato da questo browser"), "{}", answer.body);
    // The pending sign-in went with the forged answer: the real one is refused too.
    let answer = b.get(&callback).await;
    assert_eq!(answer.status, 400, "{}", answer.body);
    assert!(session_of(&answer).is_none());

    // A sign-in cannot be used from another browser, nor replayed once it worked.
    let callback = through_provider(&mut b, &w, "demo", "admin").await;
    let answer = Browser::new().get(&callback).await;
    assert_eq!(answer.status, 400, "another browser has no pending sign-in: {}", answer.body);
    let first = b.get(&callback).await;
    assert_eq!(first.status, 303, "{}", first.body);
    let binding = b.jar[&origin_of(&w.base)].get("ricevo_provider_sign_in").cloned();
    assert!(binding.is_none(), "the binding cookie is cleared");
    let replay = b.get(&callback).await;
    assert_eq!(replay.status, 400, "{}", replay.body);
    assert!(session_of(&replay).is_none());
}

#[tokio::test]
async fn another_towns_provider_and_callbacks_cannot_sign_into_this_town() {
    let Some(w) = world().await else { return };
    // Both towns allow altro.it, so only the town's own accounts tell them apart.
    w.configure(&w.demo, &["esempio.it", "altro.it"], Vec::new(), false).await;
    w.configure(&w.altro, &["altro.it"], Vec::new(), false).await;

    // Bruno has an account in Altro only: Altro signs him in, Demo does not.
    let answer = sign_in(&mut Browser::new(), &w, "altro", "bruno").await;
    assert_eq!(answer.status, 303, "{}", answer.body);
    assert_eq!(answer.location.as_deref(), Some(format!("{}/altro/staff", w.base).as_str()));
    let mut b = Browser::new();
    let answer = sign_in(&mut b, &w, "demo", "bruno").await;
    assert_eq!(answer.status, 403, "{}", answer.body);
    assert!(session_of(&answer).is_none());

    // A sign-in started at Altro, its answer brought to Demo's callback (with Altro's cookie
    // sent along, as this jar does): refused, and Altro's pending sign-in is spent.
    let mut b = Browser::new();
    let callback = through_provider(&mut b, &w, "altro", "bruno").await;
    let at_demo = callback.replace("/altro/staff/login/oidc/callback", "/demo/staff/login/oidc/callback");
    let answer = b.get(&at_demo).await;
    assert_eq!(answer.status, 400, "{}", answer.body);
    assert!(session_of(&answer).is_none());
    let answer = b.get(&callback).await;
    assert_eq!(answer.status, 400, "{}", answer.body);

    // And the other way: Demo's admin, through Demo's client, at Altro's callback.
    let mut b = Browser::new();
    let callback = through_provider(&mut b, &w, "demo", "admin").await;
    let answer = b.get(&callback.replace("/demo/", "/altro/")).await;
    assert_eq!(answer.status, 400, "{}", answer.body);
    assert!(session_of(&answer).is_none());
    let refused = w.audit(&w.altro, Act::SignInFailed).await;
    assert!(refused.iter().any(|s| s.contains("state does not match")), "{refused:?}");
}

#[tokio::test]
async fn passwords_go_off_only_for_an_administrator_who_came_through_the_provider() {
    let Some(w) = world().await else { return };
    w.configure(&w.demo, &["esempio.it"], Vec::new(), false).await;
    let fields = |csrf: &str, off: bool| {
        let mut f = vec![
            ("csrf".to_owned(), csrf.to_owned()),
            ("issuer_url".to_owned(), w.issuer.clone()),
            ("client_id".to_owned(), "ricevo-demo".to_owned()),
            ("client_secret".to_owned(), String::new()),
            ("email_domains".to_owned(), "esempio.it".to_owned()),
            ("groups_claim".to_owned(), "groups".to_owned()),
            ("mappings".to_owned(), String::new()),
        ];
        if off {
            f.push(("passwords_off".to_owned(), "on".to_owned()));
        }
        f
    };
    // Signed in with a password: refused.
    let mut pw = Browser::new();
    let origin = origin_of(&w.base);
    let app_session = password_session(&w).await;
    pw.set(&origin, "ricevo_session", &app_session.0);
    let refused = pw.post(&format!("{}/demo/staff/sign-in", w.base), &fields(&app_session.1, true)).await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(
        refused.body.contains("accedi prima con l&#39;account del Comune")
            || refused.body.contains("accedi prima con l'account del Comune"),
        "{}",
        refused.body
    );

    // Signed in through the provider: done.
    let mut b = Browser::new();
    let answer = sign_in(&mut b, &w, "demo", "admin").await;
    assert_eq!(answer.status, 303);
    let page = b.get(&format!("{}/demo/staff/sign-in", w.base)).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("••••cdef"), "the secret shows as its last four characters only");
    assert!(!page.body.contains(DEMO_SECRET));
    let csrf = support::hidden(&page.body, "csrf");
    let saved = b.post(&format!("{}/demo/staff/sign-in", w.base), &fields(&csrf, true)).await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    let stored = w.store.town_identity_provider(w.demo.id).await.unwrap().unwrap();
    assert!(stored.passwords_off);
    assert_eq!(stored.client_secret.as_deref(), Some(DEMO_SECRET), "a blank secret keeps the stored one");
    // Sessions opened with a password end with that change; the provider's goes on.
    let old = pw.get(&format!("{}/demo/staff/sign-in", w.base)).await;
    assert_ne!(old.status, 200, "a password session ends when passwords go off: {}", old.body);
    let still = b.get(&format!("{}/demo/staff/sign-in", w.base)).await;
    assert_eq!(still.status, 200, "{}", still.body);

    // The login page offers the town's account only, and a password is refused.
    let login = Browser::new().get(&format!("{}/demo/staff/login", w.base)).await;
    assert!(!login.body.contains("name=\"password\""), "{}", login.body);
    assert!(login.body.contains("/demo/staff/login/oidc"));
    let pairs = [("email".to_owned(), ADMIN.to_owned()), ("password".to_owned(), support::PASSWORD.to_owned())];
    let tried = Browser::new().post(&format!("{}/demo/staff/login", w.base), &pairs).await;
    assert_eq!(tried.status, 403, "{}", tried.body);
    assert!(session_of(&tried).is_none());
    assert!(
        tried.body.contains("disattivato l&#39;accesso con password")
            || tried.body.contains("disattivato l'accesso con password"),
        "{}",
        tried.body
    );
    // Another town keeps its passwords.
    let altro = Browser::new().get(&format!("{}/altro/staff/login", w.base)).await;
    assert!(altro.body.contains("name=\"password\""));
    let changes = w.audit(&w.demo, Act::SettingsChanged).await;
    assert!(changes.iter().any(|s| s.contains("passwords off")), "{changes:?}");
    assert!(changes.iter().all(|s| !s.contains(DEMO_SECRET)), "{changes:?}");
}

/// A password session of Demo's administrator: (session token, CSRF token).
async fn password_session(w: &World) -> (String, String) {
    let s = support::login(&support_app(w), ADMIN).await;
    (s.cookie.trim_start_matches("ricevo_session=").to_owned(), s.csrf)
}

/// The world's router as `support` drives it (no socket).
fn support_app(w: &World) -> support::App {
    support::App {
        router: ricevo_web::router(w.state.clone()),
        store: w.store.clone(),
        clock: Arc::new(std::sync::atomic::AtomicI64::new(NOW.parse::<Timestamp>().unwrap().as_second())),
        tenant: w.demo.id,
        outbox: PathBuf::new(),
        state: w.state.clone(),
        dir: tempfile::tempdir().unwrap(),
    }
}

#[tokio::test]
async fn the_sign_in_page_is_for_administrators_and_shows_each_town_its_own() {
    let Some(w) = world().await else { return };
    w.configure(&w.altro, &["altro.it"], Vec::new(), false).await;
    let app = support_app(&w);
    let admin = support::login(&app, ADMIN).await;
    let page = support::get(&app, &admin, "/demo/staff/sign-in").await;
    assert_eq!(page.status, axum::http::StatusCode::OK, "{}", page.body);
    assert!(!page.body.contains("ricevo-altro"), "another town's settings never show");
    assert!(page.body.contains(&format!("{}/demo/staff/login/oidc/callback", w.base)));
    assert!(page.body.contains("href=\"/demo/staff/sign-in\""), "linked from the staff menu");

    // No CSRF token: refused. A bad issuer: refused with the field named.
    let forged = support::post_raw(&app, &admin, "/demo/staff/sign-in", &[("issuer_url", "https://x.it")]).await;
    assert_eq!(forged.status, axum::http::StatusCode::FORBIDDEN);
    let bad = support::post(
        &app,
        &admin,
        "/demo/staff/sign-in",
        &[("issuer_url", "http://login.esempio.it"), ("client_id", "x"), ("email_domains", "esempio.it")],
    )
    .await;
    assert_eq!(bad.status, axum::http::StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("https://"), "{}", bad.body);
    let internal = [("issuer_url", "https://10.1.2.3/realms/x"), ("client_id", "x"), ("email_domains", "esempio.it")];
    let bad = support::post(&app, &admin, "/demo/staff/sign-in", &internal).await;
    assert_eq!(bad.status, axum::http::StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("rete interna"), "{}", bad.body);
    let bad = support::post(
        &app,
        &admin,
        "/demo/staff/sign-in",
        &[
            ("issuer_url", &w.issuer),
            ("client_id", "ricevo-demo"),
            ("email_domains", "esempio.it"),
            ("mappings", "anagrafe = capo"),
        ],
    )
    .await;
    assert_eq!(bad.status, axum::http::StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("GRUPPO = ruolo"), "{}", bad.body);

    let office = w.first_office().await;
    let mappings = format!("anagrafe = operator: {}\nricevo-admin = admin", office.0);
    let ok = support::post(
        &app,
        &admin,
        "/demo/staff/sign-in",
        &[
            ("issuer_url", &w.issuer),
            ("client_id", "ricevo-demo"),
            ("client_secret", DEMO_SECRET),
            ("email_domains", "esempio.it"),
            ("mappings", &mappings),
            ("create_unknown", "on"),
        ],
    )
    .await;
    assert_eq!(ok.status, axum::http::StatusCode::OK, "{}", ok.body);
    let stored = w.store.town_identity_provider(w.demo.id).await.unwrap().unwrap();
    assert_eq!(stored.mappings.len(), 2);
    assert!(stored.create_unknown);
    assert_eq!(w.store.town_identity_provider(w.altro.id).await.unwrap().unwrap().client_id, "ricevo-altro");

    // The page's settings work: Anna signs in and gets her account.
    let answer = sign_in(&mut Browser::new(), &w, "demo", "anna").await;
    assert_eq!(answer.status, 303, "{}", answer.body);

    // An operator may not see the page.
    let anna = w.store.user_by_email(w.demo.id, "anna@esempio.it").await.unwrap().unwrap();
    w.store.set_password(w.demo.id, anna.id, &PASSWORD_HASH).await.unwrap();
    let operator = support::login(&app, "anna@esempio.it").await;
    let page = support::get(&app, &operator, "/demo/staff/sign-in").await;
    assert_eq!(page.status, axum::http::StatusCode::FORBIDDEN);
}
