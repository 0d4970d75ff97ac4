//! The SPID/CIE OpenID Connect Federation, run locally for tests with its reference
//! implementation, `spid-cie-oidc` 1.6.3 from PyPI (Django apps), configured by our own Django
//! project in `crates/ricevo-fakes/federation/`: a trust anchor, a SPID OpenID provider and a
//! CIE one registered with it, and a provider the trust anchor does not know (for the
//! "untrusted provider" refusal). Each entity is one Python process on a free loopback port,
//! with its own SQLite database and keys made at start in a temporary directory.
//!
//! The package is installed, pinned (`federation/requirements.txt`), into `.venv-spid/` at the
//! workspace root, which this module creates on first use (`python3 -m venv`, `pip install`).
//!
//! What the package asks of a relying party, and where our local federation departs from the
//! published SPID/CIE rules (plain http on 127.0.0.1), is written in `federation/README.md`.
//!
//! ```no_run
//! # async fn demo() {
//! use ricevo_fakes::federation::Federation;
//! let Some(federation) = Federation::start_or_skip("my test").await else { return };
//! // serve the relying party's entity configuration at {entity_id}/.well-known/openid-federation, then:
//! # let (entity_id, jwks) = (String::new(), serde_json::json!({}));
//! let trust_mark = federation.register_relying_party(&entity_id, &jwks).await.unwrap();
//! # }
//! ```

use std::fmt;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command as StdCommand, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::process::{Child, Command};

/// The spid-cie-oidc release the federation runs.
pub const SPID_CIE_OIDC_VERSION: &str = "1.6.3";
/// Longest the virtual environment may take to install.
const INSTALL_BOUND: Duration = Duration::from_secs(900);
/// Longest one entity may take to make its database and keys and answer (a bound, not an
/// expectation: it takes seconds).
const START_BOUND: Duration = Duration::from_secs(120);
/// Longest one request to the harness may take.
const REQUEST_BOUND: Duration = Duration::from_secs(30);

/// The citizen every provider of the federation knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestCitizen {
    /// The username on the providers' login form.
    pub username: String,
    /// The password on the providers' login form.
    pub password: String,
    /// The fiscal number as SPID releases it: `TINIT-` and the fiscal code.
    pub fiscal_number: String,
    /// The fiscal code alone (`RSSMRA85T10A562S`).
    pub fiscal_code: String,
    /// Given name.
    pub given_name: String,
    /// Family name.
    pub family_name: String,
    /// E-mail address.
    pub email: String,
    /// Mobile phone, international form.
    pub phone: String,
}

/// Why the federation could not be started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartError {
    /// It cannot run on this machine: no `python3`, or the package registry out of reach.
    /// Tests skip, except under `CI=true`.
    Unavailable(String),
    /// It was installed but did not come up: a bug of the harness or of the package.
    Broken(String),
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unavailable(why) => write!(f, "the federation cannot run here: {why}"),
            Self::Broken(why) => write!(f, "the federation did not start: {why}"),
        }
    }
}

/// A running local federation. Its processes are killed when it is dropped.
pub struct Federation {
    /// The trust anchor's entity id (`http://127.0.0.1:PORT`, no final `/`, as every entity id here).
    pub trust_anchor: String,
    /// The trust anchor's public federation keys (`{"keys": [...]}`), as a relying party is
    /// configured with them.
    pub trust_anchor_jwks: Value,
    /// The SPID provider's entity id, registered with the trust anchor.
    pub spid_provider: String,
    /// The CIE provider's entity id (profile "cie"), registered with the trust anchor.
    pub cie_provider: Option<String>,
    /// A SPID provider that names the trust anchor as its authority but is not registered
    /// with it: its trust chain does not resolve.
    pub untrusted_provider: Option<String>,
    /// The trust mark id the providers require of a relying party.
    pub relying_party_trust_mark_id: String,
    /// The citizen the providers know.
    pub user: TestCitizen,
    register_token: String,
    python: PathBuf,
    dir: tempfile::TempDir,
    children: Mutex<Vec<(String, Child)>>,
}

impl fmt::Debug for Federation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Federation")
            .field("trust_anchor", &self.trust_anchor)
            .field("spid_provider", &self.spid_provider)
            .field("cie_provider", &self.cie_provider)
            .field("untrusted_provider", &self.untrusted_provider)
            .finish_non_exhaustive()
    }
}

impl Drop for Federation {
    fn drop(&mut self) {
        let children = match self.children.get_mut() {
            Ok(children) => children,
            Err(poisoned) => poisoned.into_inner(),
        };
        for (_, child) in children.iter_mut() {
            let _ = child.start_kill();
        }
    }
}

/// Whether this run is CI, where a federation that cannot run is a failure, not a skip.
fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true"))
}

/// The workspace root (where `.venv-spid/` lives).
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Our Django project.
fn project_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("federation")
}

/// A loopback port free right now.
fn free_port() -> Result<u16, StartError> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| StartError::Broken(format!("bind loopback: {e}")))?;
    listener.local_addr().map(|a| a.port()).map_err(|e| StartError::Broken(e.to_string()))
}

/// Runs a command to its end within `bound`, its output into `log`.
fn run(cmd: &mut StdCommand, bound: Duration, log: &Path) -> Result<(), String> {
    let out = std::fs::File::create(log).map_err(|e| e.to_string())?;
    let err = out.try_clone().map_err(|e| e.to_string())?;
    let mut child =
        cmd.stdin(Stdio::null()).stdout(out).stderr(err).spawn().map_err(|e| format!("cannot start {cmd:?}: {e}"))?;
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break status;
        }
        if started.elapsed() > bound {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("{cmd:?} was stopped after {bound:?}:\n{}", tail(log)));
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    if status.success() { Ok(()) } else { Err(format!("{cmd:?} failed ({status}):\n{}", tail(log))) }
}

/// The last lines of a log file.
fn tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

/// The Python of `.venv-spid/` with the pinned package, installed if needed. One installer at
/// a time, across test processes (a lock file next to the environment).
fn python() -> Result<PathBuf, StartError> {
    let root = workspace_root();
    let venv = root.join(".venv-spid");
    let python = venv.join("bin/python");
    let has_pinned = |python: &Path| {
        StdCommand::new(python)
            .args(["-c", "import importlib.metadata as m; print(m.version('spid-cie-oidc'))"])
            .output()
            .is_ok_and(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).trim() == SPID_CIE_OIDC_VERSION)
    };
    if has_pinned(&python) {
        return Ok(python);
    }
    let lock = std::fs::File::create(root.join(".venv-spid.lock"))
        .map_err(|e| StartError::Broken(format!("cannot create the install lock: {e}")))?;
    lock.lock().map_err(|e| StartError::Broken(format!("cannot take the install lock: {e}")))?;
    if has_pinned(&python) {
        return Ok(python);
    }
    let log = std::env::temp_dir().join(format!("ricevo-venv-spid-{}.log", std::process::id()));
    if !venv.join("bin/pip").is_file() {
        run(StdCommand::new("python3").args(["-m", "venv"]).arg(&venv), INSTALL_BOUND, &log)
            .map_err(|e| StartError::Unavailable(format!("python3 -m venv: {e}")))?;
    }
    run(
        StdCommand::new(venv.join("bin/pip"))
            .args(["install", "--disable-pip-version-check", "--no-input", "-r"])
            .arg(project_dir().join("requirements.txt")),
        INSTALL_BOUND,
        &log,
    )
    .map_err(|e| StartError::Unavailable(format!("pip install spid-cie-oidc=={SPID_CIE_OIDC_VERSION}: {e}")))?;
    if has_pinned(&python) {
        Ok(python)
    } else {
        Err(StartError::Broken(format!("spid-cie-oidc {SPID_CIE_OIDC_VERSION} is not importable after install")))
    }
}

/// What one entity's `harness.py` is told.
struct Entity<'a> {
    name: &'a str,
    role: &'a str,
    profile: &'a str,
    unregistered: bool,
    forge_tokens: bool,
    providers: Option<Value>,
}

impl Federation {
    /// Installs (first time) and starts the federation; returns when every entity answers.
    pub async fn start() -> Result<Federation, StartError> {
        let python = tokio::task::spawn_blocking(python)
            .await
            .map_err(|e| StartError::Broken(format!("the installer panicked: {e}")))??;
        let dir = tempfile::Builder::new()
            .prefix("ricevo-federation-")
            .tempdir()
            .map_err(|e| StartError::Broken(format!("a temporary directory: {e}")))?;
        let register_token = format!("{:032x}", rand::random::<u128>());
        let ta_port = free_port()?;
        let mut federation = Federation {
            trust_anchor: format!("http://127.0.0.1:{ta_port}"),
            trust_anchor_jwks: Value::Null,
            spid_provider: String::new(),
            cie_provider: None,
            untrusted_provider: None,
            relying_party_trust_mark_id: String::new(),
            user: TestCitizen {
                username: String::new(),
                password: String::new(),
                fiscal_number: String::new(),
                fiscal_code: String::new(),
                given_name: String::new(),
                family_name: String::new(),
                email: String::new(),
                phone: String::new(),
            },
            register_token,
            python,
            dir,
            children: Mutex::new(Vec::new()),
        };
        let ta = Entity {
            name: "ta",
            role: "ta",
            profile: "spid",
            unregistered: false,
            forge_tokens: false,
            providers: None,
        };
        federation.spawn(&ta, ta_port)?;
        let anchor = federation.trust_anchor.clone();
        federation.wait_ready("ta", &anchor).await?;
        let ta_info = federation.entity_info("ta")?;
        federation.trust_anchor_jwks = ta_info["jwks"].clone();
        federation.relying_party_trust_mark_id = format!("{}/openid_relying_party/public/", federation.trust_anchor);

        let providers = [
            Entity {
                name: "spid",
                role: "op",
                profile: "spid",
                unregistered: false,
                forge_tokens: false,
                providers: None,
            },
            Entity {
                name: "cie",
                role: "op",
                profile: "cie",
                unregistered: false,
                forge_tokens: false,
                providers: None,
            },
            Entity {
                name: "untrusted",
                role: "op",
                profile: "spid",
                unregistered: true,
                forge_tokens: false,
                providers: None,
            },
        ];
        let mut started = Vec::new();
        for provider in &providers {
            let port = free_port()?;
            federation.spawn(provider, port)?;
            started.push((provider.name, format!("http://127.0.0.1:{port}")));
        }
        for (name, entity_id) in &started {
            federation.wait_ready(name, entity_id).await?;
        }
        for (name, entity_id) in started {
            match name {
                "spid" => federation.spid_provider = entity_id,
                "cie" => federation.cie_provider = Some(entity_id),
                _ => federation.untrusted_provider = Some(entity_id),
            }
        }
        let citizen = &federation.entity_info("spid")?["citizen"];
        let field = |k: &str| citizen[k].as_str().unwrap_or_default().to_owned();
        federation.user = TestCitizen {
            username: field("username"),
            password: field("password"),
            fiscal_number: field("fiscal_number"),
            fiscal_code: field("fiscal_number").trim_start_matches("TINIT-").to_owned(),
            given_name: field("given_name"),
            family_name: field("family_name"),
            email: field("email"),
            phone: field("phone_number"),
        };
        Ok(federation)
    }

    /// Starts the federation for `test`; `None` (with a warning) when it cannot run here.
    /// Panics when it is broken, and under `CI=true` also when it cannot run here.
    pub async fn start_or_skip(test: &str) -> Option<Federation> {
        match Self::start().await {
            Ok(federation) => Some(federation),
            Err(StartError::Unavailable(why)) => {
                assert!(!under_ci(), "{test}: {why} (CI=true: a skipped federation test is a failure)");
                #[allow(clippy::print_stderr)]
                {
                    eprintln!("SKIPPED: {test}: {why}");
                }
                None
            }
            Err(broken) => panic!("{test}: {broken}"),
        }
    }

    /// Registers a relying party as a descendant of the trust anchor, as the federation's
    /// onboarding does once the registry accepted it: the trust anchor then publishes a
    /// subordinate statement for `entity_id` with `federation_jwks` (`{"keys": [...]}`) and
    /// issues it the trust mark `relying_party_trust_mark_id`, which is returned (a JWT). The
    /// relying party must show it in its entity configuration's `trust_marks`
    /// (`{"id": relying_party_trust_mark_id, "trust_mark": JWT}`) and name the trust anchor in
    /// its `authority_hints`. `entity_id` must be the relying party's `client_id` exactly.
    pub async fn register_relying_party(&self, entity_id: &str, federation_jwks: &Value) -> Result<String, String> {
        let answer = self.register(entity_id, federation_jwks, "openid_relying_party").await?;
        answer["trust_mark"].as_str().map(str::to_owned).ok_or_else(|| format!("no trust mark in {answer}"))
    }

    async fn register(&self, entity_id: &str, jwks: &Value, kind: &str) -> Result<Value, String> {
        let body = json!({ "sub": entity_id, "jwks": jwks, "type": kind, "name": entity_id });
        let http = reqwest::Client::builder().timeout(REQUEST_BOUND).build().map_err(|e| e.to_string())?;
        let response = http
            .post(format!("{}/_ricevo/register", self.trust_anchor))
            .bearer_auth(&self.register_token)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .map_err(|e| format!("register {entity_id}: {e}"))?;
        let status = response.status();
        let text = response.text().await.map_err(|e| e.to_string())?;
        if !status.is_success() {
            return Err(format!("register {entity_id}: {status}: {text}"));
        }
        serde_json::from_str(&text).map_err(|e| format!("register {entity_id}: {e}: {text}"))
    }

    /// Starts the package's own relying party (profile "spid", knowing the SPID and CIE
    /// providers), registered with the trust anchor like any relying party; its entity id.
    /// Sign-in begins at `{entity_id}/oidc/rp/authorization?provider={op}&profile=spid` and
    /// ends on `{entity_id}/oidc/rp/echo_attributes`, which lists the attributes it received.
    /// It proves the federation works without Ricevo's relying party.
    pub async fn start_reference_relying_party(&self) -> Result<String, String> {
        let mut providers = json!({ "spid": [self.spid_provider] });
        if let Some(cie) = &self.cie_provider {
            providers["cie"] = json!([cie]);
        }
        let rp = Entity {
            name: "rp",
            role: "rp",
            profile: "spid",
            unregistered: false,
            forge_tokens: false,
            providers: Some(providers),
        };
        let port = free_port().map_err(|e| e.to_string())?;
        self.spawn(&rp, port).map_err(|e| e.to_string())?;
        let entity_id = format!("http://127.0.0.1:{port}");
        self.wait_ready("rp", &entity_id).await.map_err(|e| e.to_string())?;
        Ok(entity_id)
    }

    /// Starts a SPID provider registered with the trust anchor (its trust chain resolves)
    /// whose ID tokens and userinfo are signed with a key other than the one its metadata
    /// publishes under the same `kid`: every token it issues fails signature verification, as
    /// a tampered one would. Its entity id; its log is "forging".
    pub async fn start_forging_provider(&self) -> Result<String, String> {
        let forging = Entity {
            name: "forging",
            role: "op",
            profile: "spid",
            unregistered: false,
            forge_tokens: true,
            providers: None,
        };
        let port = free_port().map_err(|e| e.to_string())?;
        self.spawn(&forging, port).map_err(|e| e.to_string())?;
        let entity_id = format!("http://127.0.0.1:{port}");
        self.wait_ready("forging", &entity_id).await.map_err(|e| e.to_string())?;
        Ok(entity_id)
    }

    /// The log of one entity ("ta", "spid", "cie", "untrusted", "rp", "forging"), to explain a
    /// failure.
    pub fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(format!("{name}.log"))).unwrap_or_default()
    }

    fn spawn(&self, entity: &Entity<'_>, port: u16) -> Result<(), StartError> {
        let log_path = self.dir.path().join(format!("{}.log", entity.name));
        let log = std::fs::File::create(&log_path).map_err(|e| StartError::Broken(e.to_string()))?;
        let log_err = log.try_clone().map_err(|e| StartError::Broken(e.to_string()))?;
        let mut cmd = Command::new(&self.python);
        cmd.arg(project_dir().join("harness.py"))
            .args(["--role", entity.role, "--profile", entity.profile, "--port", &port.to_string()])
            .arg("--dir")
            .arg(self.dir.path().join(entity.name))
            .args(["--trust-anchor", &self.trust_anchor]);
        if entity.unregistered {
            cmd.arg("--unregistered");
        }
        if entity.forge_tokens {
            cmd.arg("--forge-tokens");
        }
        if let Some(providers) = &entity.providers {
            cmd.args(["--providers", &providers.to_string()]);
        }
        cmd.env("RICEVO_FED_REGISTER_TOKEN", &self.register_token)
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env("PYTHONUNBUFFERED", "1")
            .current_dir(project_dir())
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .kill_on_drop(true);
        let child = cmd.spawn().map_err(|e| StartError::Broken(format!("cannot start harness.py: {e}")))?;
        self.children.lock().unwrap_or_else(|p| p.into_inner()).push((entity.name.to_owned(), child));
        Ok(())
    }

    /// Waits until `entity_id` serves its entity configuration; fails early if its process ends.
    async fn wait_ready(&self, name: &str, entity_id: &str) -> Result<(), StartError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| StartError::Broken(e.to_string()))?;
        let url = format!("{entity_id}/.well-known/openid-federation");
        let started = Instant::now();
        loop {
            if let Ok(response) = http.get(&url).send().await
                && response.status().is_success()
            {
                return Ok(());
            }
            let exited = {
                let mut children = self.children.lock().unwrap_or_else(|p| p.into_inner());
                children.iter_mut().find(|(n, _)| n == name).and_then(|(_, child)| child.try_wait().ok().flatten())
            };
            if let Some(status) = exited {
                return Err(StartError::Broken(format!("{name} ended ({status}):\n{}", self.log_tail(name))));
            }
            if started.elapsed() > START_BOUND {
                return Err(StartError::Broken(format!(
                    "{name} did not answer at {url} within {START_BOUND:?}:\n{}",
                    self.log_tail(name)
                )));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    fn log_tail(&self, name: &str) -> String {
        tail(&self.dir.path().join(format!("{name}.log")))
    }

    /// What an entity wrote about itself at start (`entity.json`).
    fn entity_info(&self, name: &str) -> Result<Value, StartError> {
        let path = self.dir.path().join(name).join("entity.json");
        let text =
            std::fs::read_to_string(&path).map_err(|e| StartError::Broken(format!("{}: {e}", path.display())))?;
        serde_json::from_str(&text).map_err(|e| StartError::Broken(format!("{}: {e}", path.display())))
    }
}
