//! The command line: `serve` (default), `migrate`, `demo`, `tenant`, `user`, `token`, `citizen`,
//! `check-config`, `backup`, `restore`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand, ValueEnum};
use ricevo_core::OfficeId;
use ricevo_desk::staff::{NewAccount, town_administrator};
use ricevo_desk::{Desk, DeskError, DeskSettings};
use ricevo_store::{Role, Store};

use crate::config::Config;

/// Ricevo: the virtual reception desk for city halls.
#[derive(Debug, Parser)]
#[command(name = "ricevo", version, about)]
struct Cli {
    /// Configuration file (TOML); see ricevo.example.toml.
    #[arg(long, global = true, env = "RICEVO_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve pages, API and e-mail delivery (the default).
    Serve,
    /// Bring the database schema up to date and exit.
    Migrate,
    /// Load the demo town "Comune di Esempio" (slug `demo`) if it is not there.
    Demo,
    /// Towns.
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Staff accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// API tokens for integrations.
    #[command(subcommand)]
    Token(TokenCommand),
    /// A citizen's data on request (GDPR): export or erase.
    #[command(subcommand)]
    Citizen(crate::citizen::CitizenCommand),
    /// Check the configuration and the database connection, then exit.
    CheckConfig,
    /// Compare towns' reports of the service side by side (the instance administrator).
    Report(crate::report::ReportArgs),
    // --- Audit log ---
    /// Print a town's audit log, newest first, one JSON object per line (the API's
    /// `AuditEntryView`).
    Audit {
        /// Town slug.
        #[arg(long)]
        tenant: String,
        /// Only this act, such as `appointment.cancel` or `sign_in_failed`.
        #[arg(long)]
        act: Option<String>,
        /// Only this author: `staff:<account id>`, `token`, `official`, `citizen`, `anonymous`
        /// or `system`.
        #[arg(long)]
        who: Option<String>,
        /// Only acts at or after this instant (RFC 3339, such as 2026-12-01T00:00:00Z).
        #[arg(long)]
        since: Option<String>,
        /// Only acts before this instant (RFC 3339).
        #[arg(long)]
        until: Option<String>,
        /// At most this many entries (1 to 100000).
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
    // --- Operating it: backup and restore (crates/ricevo/src/backup.rs) ---
    /// Copy the SQLite database and the outbox folder into one tar file, while the server runs.
    Backup {
        /// The file to write; an existing file is refused unless --force.
        #[arg(long)]
        to: PathBuf,
        /// Replace the file if it exists.
        #[arg(long)]
        force: bool,
    },
    /// Bring a backup back into the data dir (stop the server first).
    Restore {
        /// The file `ricevo backup` wrote.
        #[arg(long)]
        from: PathBuf,
        /// Replace an existing database (it is kept beside, renamed `.before-restore-TIME`).
        #[arg(long)]
        force: bool,
    },
    // ---- ident ----
    /// SPID/CIE sign-in: the relying party's keys.
    #[command(subcommand)]
    Identity(crate::identity::IdentityCommand),
    // ---- end ident ----
}

#[derive(Debug, Subcommand)]
enum TenantCommand {
    /// Create a town with its first administrator; prints the administrator's password.
    Add {
        /// Short name in URLs, such as `prato`.
        #[arg(long)]
        slug: String,
        /// Full name, such as "Comune di Prato".
        #[arg(long)]
        name: String,
        /// Contact e-mail shown to citizens and used as the From address.
        #[arg(long)]
        email: String,
        /// The administrator's login e-mail.
        #[arg(long)]
        admin_email: String,
        /// IANA time zone.
        #[arg(long, default_value = "Europe/Rome")]
        time_zone: String,
        /// Patron saint's day, `MM-DD` (a local holiday).
        #[arg(long)]
        patron_day: Option<String>,
        /// Days after which personal data of appointments is anonymised.
        #[arg(long, default_value_t = 365)]
        retention_days: i32,
    },
    /// List every town: slug, state (active or suspended) and name, tab-separated.
    List,
    /// Suspend a town: its pages, staff sign-in and API answer "service suspended"; no data is lost.
    Disable {
        /// Town slug.
        #[arg(long)]
        slug: String,
    },
    /// Restore a suspended town.
    Enable {
        /// Town slug.
        #[arg(long)]
        slug: String,
    },
    /// Turn password sign-in back on for a town whose identity provider is gone for good.
    PasswordsOn {
        /// Town slug.
        #[arg(long)]
        slug: String,
    },
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Create a staff account; prints its generated password.
    Add {
        /// Town slug.
        #[arg(long)]
        tenant: String,
        /// Login e-mail.
        #[arg(long)]
        email: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// Role.
        #[arg(long, value_enum)]
        role: RoleArg,
        /// Office ids (for managers and operators); repeat for several.
        #[arg(long = "office")]
        offices: Vec<i64>,
    },
    /// Set a new generated password for an account and print it (ends its sessions).
    Password {
        /// Town slug.
        #[arg(long)]
        tenant: String,
        /// Login e-mail.
        #[arg(long)]
        email: String,
    },
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Create an API token and print it (and nothing else) on standard output.
    Add {
        /// Town slug.
        #[arg(long)]
        tenant: String,
        /// Role of the token.
        #[arg(long, value_enum)]
        role: RoleArg,
        /// Limit the token to one office.
        #[arg(long)]
        office: Option<i64>,
        /// A label to recognise it.
        #[arg(long, default_value = "cli")]
        label: String,
    },
    /// List a town's API tokens (never their secrets): id, role, office, created, last used,
    /// state and label, tab-separated.
    List {
        /// Town slug.
        #[arg(long)]
        tenant: String,
    },
    /// Revoke an API token at once.
    Revoke {
        /// Town slug.
        #[arg(long)]
        tenant: String,
        /// The token's id (see `token list`).
        #[arg(long)]
        id: i64,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum RoleArg {
    Admin,
    Manager,
    Operator,
}

impl From<RoleArg> for Role {
    fn from(r: RoleArg) -> Role {
        match r {
            RoleArg::Admin => Role::Admin,
            RoleArg::Manager => Role::Manager,
            RoleArg::Operator => Role::Operator,
        }
    }
}

/// Runs the command line and returns the process exit code.
pub(crate) fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    let config = match Config::load(cli.config.as_deref(), |k| std::env::var(k).ok()) {
        Ok(c) => c,
        Err(e) => return fail(&format!("configuration: {e}")),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => return fail(&format!("cannot start the runtime: {e}")),
    };
    let result = runtime.block_on(run(cli.command.unwrap_or(Command::Serve), config));
    // Whatever still runs (a connection past the shutdown grace) must not hold the exit up.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => fail(&message),
    }
}

#[allow(clippy::print_stderr)]
fn fail(message: &str) -> ExitCode {
    eprintln!("ricevo: {message}");
    ExitCode::FAILURE
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("RICEVO_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    // Logs go to standard error: standard output carries what commands print (tokens, passwords).
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}

/// Opens the configured database (creating the data dir for SQLite) and migrates it.
pub(crate) async fn open_store(config: &Config) -> Result<Arc<dyn Store>, String> {
    let url = config.database_url();
    if url.starts_with("sqlite:") {
        std::fs::create_dir_all(&config.data_dir)
            .map_err(|e| format!("cannot create the data directory {}: {e}", config.data_dir.display()))?;
    }
    ricevo_store::open(&url).await.map_err(|e| format!("database {}: {e}", redact(&url)))
}

// Hides a password in a database URL before printing it.
fn redact(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// The front desk over the configured database: the command line acts through the same use
/// cases as the pages, as the administrator of the town it names.
async fn open_desk(config: &Config) -> Result<Desk, String> {
    let store = open_store(config).await?;
    let settings = DeskSettings {
        public_url: config.public_url(),
        webhook_allow_hosts: config.webhook_allow_hosts().map_err(|e| e.to_string())?,
        ..DeskSettings::default()
    };
    Ok(Desk::new(store, settings))
}

/// The audit filter the command line's options name, or what is wrong with them.
fn audit_filter(
    act: Option<&str>,
    who: Option<&str>,
    since: Option<&str>,
    until: Option<&str>,
    limit: i64,
) -> Result<ricevo_store::AuditFilter, String> {
    if !(1..=100_000).contains(&limit) {
        return Err("--limit must be between 1 and 100000".into());
    }
    let instant = |name: &str, v: Option<&str>| {
        v.map(|v| ricevo_web::request::parse_instant(v).ok_or(format!("--{name} {v:?} is not an RFC 3339 instant")))
            .transpose()
    };
    Ok(ricevo_store::AuditFilter {
        act: act.map(|a| ricevo_core::audit::Act::parse(a).ok_or(format!("--act {a:?} names no act"))).transpose()?,
        actor: who
            .map(|w| ricevo_web::audit_api::parse_who(w).ok_or(format!("--who {w:?} names no author")))
            .transpose()?,
        from: instant("since", since)?,
        until: instant("until", until)?,
        ..ricevo_store::AuditFilter::default()
    })
}

async fn town(desk: &Desk, slug: &str) -> Result<ricevo_store::Tenant, String> {
    desk.town(slug).await.map_err(|e| match e {
        DeskError::NotFound => format!("no town with slug {slug:?}"),
        other => other.to_string(),
    })
}

#[allow(clippy::print_stdout)]
async fn run(command: Command, config: Config) -> Result<(), String> {
    match command {
        Command::Serve => crate::serve::serve(config).await,
        Command::Migrate => {
            open_store(&config).await?;
            tracing::info!("database schema is up to date");
            Ok(())
        }
        Command::Demo => {
            let store = open_store(&config).await?;
            match load_demo(&*store).await? {
                Some(password) => {
                    println!("demo town loaded: admin {} password {password}", ricevo_web::demo::DEMO_ADMIN_EMAIL)
                }
                None => println!("the demo town is already there"),
            }
            Ok(())
        }
        Command::Tenant(TenantCommand::Add {
            slug,
            name,
            email,
            admin_email,
            time_zone,
            patron_day,
            retention_days,
        }) => {
            let slug = ricevo_core::Slug::parse(&slug).map_err(|_| {
                format!(
                    "slug: use lowercase letters, digits and dashes, and none of {:?}",
                    ricevo_core::text::RESERVED_SLUGS
                )
            })?;
            let email = ricevo_core::Email::parse(&email).map_err(|e| format!("e-mail: {e}"))?;
            let admin_email = ricevo_core::Email::parse(&admin_email).map_err(|e| format!("admin e-mail: {e}"))?;
            let name = ricevo_core::text::single_line(&name, 200).map_err(|e| format!("name: {e}"))?;
            jiff::tz::TimeZone::get(&time_zone).map_err(|_| format!("unknown time zone {time_zone:?}"))?;
            if let Some(p) = &patron_day {
                ricevo_core::holidays::PatronDay::parse(p).ok_or_else(|| format!("patron day {p:?}: use MM-DD"))?;
            }
            if !(1..=3650).contains(&retention_days) {
                return Err("retention days: between 1 and 3650".into());
            }
            let desk = open_desk(&config).await?;
            let new = ricevo_store::NewTenant {
                slug: slug.as_str().to_owned(),
                name,
                time_zone,
                patron_day,
                contact_email: email.as_str().to_owned(),
                privacy_notice: format!(
                    "I dati personali sono trattati dal Comune al solo fine di gestire l'appuntamento (Reg. UE 2016/679) \
                         e resi anonimi dopo {retention_days} giorni. Contatti: {email}."
                ),
                retention_days,
            };
            let (_, password) = desk.create_town(&new, &admin_email).await.map_err(|e| match e {
                DeskError::Duplicate => format!("a town with slug {slug} already exists"),
                other => other.to_string(),
            })?;
            println!("{password}");
            Ok(())
        }
        Command::User(UserCommand::Add { tenant, email, name, role, offices }) => {
            let desk = open_desk(&config).await?;
            let t = town(&desk, &tenant).await?;
            let email = ricevo_core::Email::parse(&email).map_err(|e| format!("e-mail: {e}"))?;
            let offices: Vec<OfficeId> = offices.into_iter().map(OfficeId).collect();
            let new = NewAccount { email, name, role: role.into(), offices };
            let (_, password) =
                desk.create_account(&t, &town_administrator(t.id), &new).await.map_err(|e| match e {
                    DeskError::Duplicate => "an account with this e-mail already exists".to_owned(),
                    DeskError::NotFound => "an office id does not belong to this town".to_owned(),
                    other => other.to_string(),
                })?;
            println!("{password}");
            Ok(())
        }
        Command::User(UserCommand::Password { tenant, email }) => {
            let desk = open_desk(&config).await?;
            let t = town(&desk, &tenant).await?;
            let user = desk
                .store()
                .user_by_email(t.id, &email)
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("no account {email} in {tenant}"))?;
            let (_, password) =
                desk.reset_password(&t, &town_administrator(t.id), user.id).await.map_err(|e| e.to_string())?;
            println!("{password}");
            Ok(())
        }
        Command::Token(TokenCommand::Add { tenant, role, office, label }) => {
            let desk = open_desk(&config).await?;
            let t = town(&desk, &tenant).await?;
            let token = desk
                .create_api_token(&t, &town_administrator(t.id), role.into(), office.map(OfficeId), &label)
                .await
                .map_err(|e| match e {
                    DeskError::NotFound => format!("office {office:?} does not belong to {tenant}"),
                    other => other.to_string(),
                })?;
            println!("{token}");
            Ok(())
        }
        // --- Audit log ---
        Command::Audit { tenant, act, who, since, until, limit } => {
            let desk = open_desk(&config).await?;
            let t = town(&desk, &tenant).await?;
            let filter = audit_filter(act.as_deref(), who.as_deref(), since.as_deref(), until.as_deref(), limit)?;
            let mut left = limit;
            let mut before = None;
            // Pages of at most 500, the store's own page limit, until `limit` are printed.
            while left > 0 {
                let page = ricevo_store::AuditFilter { before, limit: left.min(500), ..filter.clone() };
                let entries = desk.audit_log(&town_administrator(t.id), t.id, page).await.map_err(|e| e.to_string())?;
                for e in &entries {
                    let line = serde_json::to_string(&ricevo_web::audit_api::view(e)).map_err(|e| e.to_string())?;
                    println!("{line}");
                }
                let Some(last) = entries.last() else { break };
                before = Some((last.at, last.id));
                left -= i64::try_from(entries.len()).unwrap_or(left);
                if entries.len() < 500 {
                    break;
                }
            }
            Ok(())
        }
        Command::Report(args) => {
            let desk = open_desk(&config).await?;
            println!("{}", crate::report::run(&desk, &args).await?);
            Ok(())
        }
        Command::Citizen(command) => {
            let desk = open_desk(&config).await?;
            let t = town(&desk, command.tenant()).await?;
            println!("{}", crate::citizen::run(&desk, &t, &command).await?);
            Ok(())
        }
        // --- Staff accounts, tokens and towns (issue 12) ---
        Command::Token(TokenCommand::List { tenant }) => {
            let desk = open_desk(&config).await?;
            let t = town(&desk, &tenant).await?;
            let listed = desk.api_tokens(&t, &town_administrator(t.id)).await.map_err(|e| e.to_string())?;
            let when = |ts: jiff::Timestamp| ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
            for tok in listed {
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    tok.id,
                    tok.role.as_str(),
                    tok.office.map(|o| o.0.to_string()).unwrap_or_else(|| "-".into()),
                    when(tok.created_at),
                    tok.last_used_at.map(when).unwrap_or_else(|| "never".into()),
                    if tok.revoked_at.is_some() { "revoked" } else { "active" },
                    tok.label
                );
            }
            Ok(())
        }
        Command::Token(TokenCommand::Revoke { tenant, id }) => {
            let desk = open_desk(&config).await?;
            let t = town(&desk, &tenant).await?;
            desk.revoke_api_token(&t, &town_administrator(t.id), id).await.map_err(|e| match e {
                DeskError::NotFound => format!("no active token {id} in {tenant}"),
                other => other.to_string(),
            })?;
            println!("token {id} revoked");
            Ok(())
        }
        Command::Tenant(TenantCommand::List) => {
            let desk = open_desk(&config).await?;
            for t in desk.all_towns().await.map_err(|e| e.to_string())? {
                println!("{}\t{}\t{}", t.slug, if t.disabled { "suspended" } else { "active" }, t.name);
            }
            Ok(())
        }
        Command::Tenant(TenantCommand::Disable { slug }) => suspend(&config, &slug, true).await,
        Command::Tenant(TenantCommand::Enable { slug }) => suspend(&config, &slug, false).await,
        Command::Tenant(TenantCommand::PasswordsOn { slug }) => passwords_on(&config, &slug).await,
        // --- Operating it: backup and restore ---
        Command::Backup { to, force } => {
            let done = blocking(config, move |c| crate::backup::backup(c, &to, force)).await?;
            println!(
                "backup written to {}: database {} and {} outbox file(s)",
                done.archive.display(),
                done.database.display(),
                done.outbox_files
            );
            Ok(())
        }
        Command::Restore { from, force } => {
            let done = blocking(config, move |c| crate::backup::restore(c, &from, force)).await?;
            println!(
                "restored {} into {} with {} outbox file(s)",
                done.archive.display(),
                done.database.display(),
                done.outbox_files
            );
            if let Some(old) = done.replaced {
                println!("the database it replaced is kept as {}", old.display());
            }
            Ok(())
        }
        Command::CheckConfig => {
            let store = open_store(&config).await?;
            store.ping().await.map_err(|e| e.to_string())?;
            println!(
                "configuration ok: listen {}, database {}, e-mail {}",
                config.listen,
                redact(&config.database_url()),
                match &config.smtp {
                    Some(s) => format!("SMTP {}:{}", s.host, s.port),
                    None => format!("outbox folder {}", config.outbox_dir().display()),
                }
            );
            Ok(())
        }
        // ---- ident ----
        Command::Identity(command) => blocking(config, move |c| crate::identity::run(&command, c)).await,
        // ---- end ident ----
    }
}

/// Runs file work (backup, restore) off the async runtime's threads.
async fn blocking<T: Send + 'static>(
    config: Config,
    work: impl FnOnce(&Config) -> Result<T, String> + Send + 'static,
) -> Result<T, String> {
    tokio::task::spawn_blocking(move || work(&config)).await.map_err(|e| format!("interrupted: {e}"))?
}

// Suspends or restores a town and says how it stands.
#[allow(clippy::print_stdout)]
async fn suspend(config: &Config, slug: &str, disable: bool) -> Result<(), String> {
    let desk = open_desk(config).await?;
    let t = desk.set_town_disabled(slug, disable).await.map_err(|e| match e {
        DeskError::NotFound => format!("no town with slug {slug:?}"),
        other => other.to_string(),
    })?;
    println!("{} {}", t.slug, if t.disabled { "suspended" } else { "active" });
    Ok(())
}

// Turns a town's password sign-in back on and says so.
#[allow(clippy::print_stdout)]
async fn passwords_on(config: &Config, slug: &str) -> Result<(), String> {
    let desk = open_desk(config).await?;
    let t = desk.turn_passwords_on(slug).await.map_err(|e| match e {
        DeskError::NotFound => format!("no town with slug {slug:?}"),
        other => other.to_string(),
    })?;
    println!("{} passwords on", t.slug);
    Ok(())
}

/// Loads the demo town unless a town with its slug exists; returns the admin password if loaded.
pub(crate) async fn load_demo(store: &dyn Store) -> Result<Option<String>, String> {
    if store.tenant_by_slug(ricevo_web::demo::DEMO_SLUG).await.map_err(|e| e.to_string())?.is_some() {
        return Ok(None);
    }
    let demo = ricevo_web::demo::load(store, ricevo_desk::staff::hash_password).await.map_err(|e| e.to_string())?;
    Ok(Some(demo.admin_password))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_passwords_are_hidden_in_messages() {
        assert_eq!(redact("postgres://ricevo:s3cret@db/ricevo"), "postgres://ricevo:***@db/ricevo");
        assert_eq!(redact("postgres://postgres@127.0.0.1/test"), "postgres://postgres@127.0.0.1/test");
        assert_eq!(redact("sqlite://./data/ricevo.db"), "sqlite://./data/ricevo.db");
    }
}
