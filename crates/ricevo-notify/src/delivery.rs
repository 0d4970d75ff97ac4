//! Where messages go: e-mail to an outbox folder (the embedded default) or to an SMTP server,
//! and the payload format the outbox table stores.

use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use serde::{Deserialize, Serialize};

use ricevo_core::Slug;

use crate::NotifyError;
use crate::email::{OutgoingEmail, to_eml, to_message};

/// One message waiting in the outbox, as its `payload` column holds it (JSON, tagged by
/// `kind`: `"email"` or `"webhook"`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Outgoing {
    /// An e-mail, rendered when the event happened.
    Email(OutgoingEmail),
    /// An e-mail to render when it is delivered: keeps rendering off the request that
    /// caused it. The Message-ID depends only on the notice, so a redelivery carries the same.
    Notice {
        /// Which event it announces.
        email: crate::EmailKind,
        /// What it says.
        notice: Box<crate::AppointmentNotice>,
        /// The From address.
        from: String,
    },
    /// The e-mail with a walk-in ticket's number and personal link, rendered when delivered.
    Ticket {
        /// What it says.
        ticket: Box<crate::TicketNotice>,
        /// The From address.
        from: String,
    },
    /// A survey campaign's e-mail to one contact, rendered when delivered.
    Survey {
        /// What it says, with the contact's personal links.
        survey: Box<crate::SurveyNotice>,
        /// The From address.
        from: String,
    },
    /// A webhook event for one subscription.
    Webhook {
        /// The subscription; looked up at delivery time for its current URL and secret.
        webhook_id: i64,
        /// Stable across retries, so receivers can drop duplicates.
        event_id: String,
        /// The JSON body exactly as it will be signed and sent.
        body: String,
    },
    // ---- channels ----
    /// A message for a citizen, tried on each channel of `route` in turn at delivery: a channel
    /// that refuses this citizen (App IO not allowed, an invalid number, a blocked bot) passes
    /// it to the next; one that is down makes the whole message wait and try again.
    Citizen {
        /// What it says, in every form.
        message: Box<crate::CitizenMessage>,
        /// The channels to try, in order (`ricevo_core::channel::route`).
        route: Vec<ricevo_core::channel::Channel>,
        /// Where the citizen can be reached.
        reach: ricevo_core::channel::Reach,
        /// The e-mail for the e-mail leg, as Ricevo always sent it (an appointment's with its
        /// calendar invite) or the long form's ([`crate::citizen_message::render_email`]);
        /// `None` when the citizen gave no e-mail address.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        email: Option<Box<Outgoing>>,
    },
    // ---- end channels ----
}

impl Outgoing {
    /// The value for the outbox's `kind` column.
    pub fn kind(&self) -> &'static str {
        match self {
            Outgoing::Email(_) | Outgoing::Notice { .. } | Outgoing::Ticket { .. } | Outgoing::Survey { .. } => "email",
            Outgoing::Webhook { .. } => "webhook",
            Outgoing::Citizen { .. } => "citizen",
        }
    }

    /// The value for the outbox's `payload` column.
    pub fn to_payload(&self) -> Result<String, NotifyError> {
        Ok(serde_json::to_string(self)?)
    }

    /// Reads a `payload` column back.
    pub fn from_payload(payload: &str) -> Result<Outgoing, NotifyError> {
        Ok(serde_json::from_str(payload)?)
    }
}

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmtpSecurity {
    /// Plain text: only for a relay on the same machine or a trusted network.
    None,
    /// Plain connection upgraded with STARTTLS, which is required (usually port 587).
    StartTls,
    /// TLS from the first byte (SMTPS, usually port 465).
    Tls,
}

/// Sends e-mails.
#[derive(Debug, Clone)]
pub enum Mailer {
    /// Writes each message as `<dir>/<town slug>/<message id>.eml` (see [`town_outbox_dir`]);
    /// each town's staff pages list their own folder only.
    Outbox {
        /// The root folder; each town's folder is created when its first message is written.
        dir: PathBuf,
    },
    /// Hands each message to an SMTP server.
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
}

/// How long one SMTP command may take.
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

impl Mailer {
    /// A mailer that writes to the outbox folder `dir`.
    pub fn outbox(dir: impl Into<PathBuf>) -> Mailer {
        Mailer::Outbox { dir: dir.into() }
    }

    /// A mailer that sends through the SMTP server at `host:port`, logging in when both a
    /// username and a password are given.
    pub fn smtp(
        host: &str,
        port: u16,
        security: SmtpSecurity,
        username: Option<String>,
        password: Option<String>,
    ) -> Result<Mailer, NotifyError> {
        let builder = match security {
            SmtpSecurity::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host),
            SmtpSecurity::StartTls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)?,
            SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host)?,
        };
        let builder = builder.port(port).timeout(Some(SMTP_TIMEOUT));
        let builder = match (username, password) {
            (Some(user), Some(pass)) => builder.credentials(Credentials::new(user, pass)),
            (None, None) => builder,
            _ => return Err(NotifyError::Invalid("SMTP needs both a username and a password, or neither".into())),
        };
        Ok(Mailer::Smtp(builder.build()))
    }

    /// Delivers one e-mail of the town `town`. Sending the same message to the outbox folder
    /// twice leaves one file, so a redelivery after a crash is harmless.
    pub async fn send(&self, town: &Slug, e: &OutgoingEmail) -> Result<(), NotifyError> {
        match self {
            Mailer::Outbox { dir } => {
                let bytes = to_eml(e)?;
                let dir = town_outbox_dir(dir, town);
                let name = eml_file_name(&e.message_id);
                tokio::task::spawn_blocking(move || write_atomically(&dir, &name, &bytes))
                    .await
                    .map_err(io::Error::other)??;
                Ok(())
            }
            Mailer::Smtp(transport) => {
                transport.send(to_message(e)?).await?;
                Ok(())
            }
        }
    }
}

/// The outbox folder of one town under the outbox root: `<root>/<slug>`. A slug is lowercase
/// letters, digits and dashes, so it is always one plain path segment. E-mails are kept per
/// town because they carry citizens' names, addresses and personal links: a town's staff
/// must see its own and no other's. Files written flat in `<root>` by older versions belong to
/// no known town, so they are shown to none (see [`purge_outbox_dir`]).
pub fn town_outbox_dir(root: &Path, town: &Slug) -> PathBuf {
    root.join(town.as_str())
}

/// The outbox file name for a Message-ID: only characters safe in any file system, never
/// a path separator or a leading dot.
pub fn eml_file_name(message_id: &str) -> String {
    let clean: String = message_id
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '@' | '+') { c } else { '_' })
        .take(150)
        .collect();
    let clean = clean.trim_start_matches('.');
    if clean.is_empty() { "message.eml".to_string() } else { format!("{clean}.eml") }
}

/// Tells temporary files of concurrent writers apart.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Writes `dir/name` so that readers see either no file or the whole file: a temporary file
/// in the same folder is written, flushed to disk and renamed over the target.
fn write_atomically(dir: &Path, name: &str, bytes: &[u8]) -> io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let target = dir.join(name);
    let temp = dir.join(format!(".{name}.{}.{}.tmp", std::process::id(), TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)));
    let written = (|| {
        let mut file = std::fs::File::create_new(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temp, &target)
    })();
    if let Err(e) = written {
        // Best effort: the temporary file is useless now, and the error above is what matters.
        let _ = std::fs::remove_file(&temp);
        return Err(e);
    }
    // Persists the rename itself; not every platform can open a folder, hence best effort.
    if let Ok(folder) = std::fs::File::open(dir) {
        let _ = folder.sync_all();
    }
    Ok(target)
}

/// The `.eml` files of an outbox folder as (file name, size in bytes, modification time),
/// newest first; a folder that does not exist yet is empty.
pub fn list_outbox_dir(dir: &Path) -> io::Result<Vec<(String, u64, SystemTime)>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry?;
        let Ok(name) = entry.file_name().into_string() else { continue };
        if name.starts_with('.') || !name.ends_with(".eml") {
            continue;
        }
        let meta = entry.metadata()?;
        if meta.is_file() {
            files.push((name, meta.len(), meta.modified()?));
        }
    }
    files.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| b.0.cmp(&a.0)));
    Ok(files)
}

/// Deletes the `.eml` files of an outbox folder last written before `before` (and temporary
/// files a crash left behind), so that e-mails do not outlive the town's retention; returns
/// how many files went. Only files directly in `dir` are looked at: purging the outbox root
/// leaves the towns' folders alone. A folder that does not exist yet has nothing to purge.
pub fn purge_outbox_dir(dir: &Path, before: SystemTime) -> io::Result<usize> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    let mut removed = 0;
    for entry in entries {
        let entry = entry?;
        let Ok(name) = entry.file_name().into_string() else { continue };
        if !(name.ends_with(".eml") || (name.starts_with('.') && name.ends_with(".tmp"))) {
            continue;
        }
        let meta = entry.metadata()?;
        if meta.is_file() && meta.modified()? < before {
            match std::fs::remove_file(entry.path()) {
                Ok(()) => removed += 1,
                // Another node's privacy job got there first.
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(removed)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::appointment::tests::sample;
    use crate::email::{EmailKind, render};
    use jiff::Timestamp;
    use ricevo_core::{Lang, Mode};
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    use tokio::net::TcpListener;

    fn email(kind: EmailKind) -> OutgoingEmail {
        render(kind, &sample(Lang::It, Mode::InPerson), "noreply@ricevo.example.it", Timestamp::UNIX_EPOCH)
    }

    #[test]
    fn payloads_are_tagged_by_kind_and_round_trip() {
        let hook = Outgoing::Webhook { webhook_id: 7, event_id: "evt-1".into(), body: "{\"a\":1}".into() };
        let json = hook.to_payload().unwrap();
        assert_eq!(json, r#"{"kind":"webhook","webhook_id":7,"event_id":"evt-1","body":"{\"a\":1}"}"#);
        assert_eq!(Outgoing::from_payload(&json).unwrap(), hook);
        assert_eq!(hook.kind(), "webhook");

        let mail = Outgoing::Email(email(EmailKind::Confirmation));
        let json = mail.to_payload().unwrap();
        assert!(json.starts_with(r#"{"kind":"email","to":"#), "{json}");
        assert_eq!(Outgoing::from_payload(&json).unwrap(), mail);
        assert_eq!(mail.kind(), "email");

        assert!(matches!(Outgoing::from_payload(r#"{"kind":"fax"}"#), Err(NotifyError::Payload(_))));
    }

    #[test]
    fn file_names_are_safe_and_deterministic() {
        assert_eq!(eml_file_name("<abc.confirmation@comune.it>"), "abc.confirmation@comune.it.eml");
        assert_eq!(eml_file_name("<../../etc/passwd>"), "_.._etc_passwd.eml");
        assert_eq!(eml_file_name("..."), "message.eml");
        assert_eq!(eml_file_name(""), "message.eml");
        assert!(eml_file_name(&"x".repeat(1000)).len() <= 154);
    }

    fn town(slug: &str) -> Slug {
        Slug::parse(slug).unwrap()
    }

    #[tokio::test]
    async fn the_outbox_writes_one_file_per_message_even_when_sent_twice() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("outbox");
        let outbox = root.join("prato");
        let mailer = Mailer::outbox(&root);
        let confirmation = email(EmailKind::Confirmation);
        mailer.send(&town("prato"), &confirmation).await.unwrap();
        mailer.send(&town("prato"), &confirmation).await.unwrap();
        let files = list_outbox_dir(&outbox).unwrap();
        assert_eq!(files.len(), 1, "{files:?}");
        assert_eq!(files[0].0, eml_file_name(&confirmation.message_id));
        let written = std::fs::read(outbox.join(&files[0].0)).unwrap();
        assert_eq!(files[0].1, written.len() as u64);
        let text = String::from_utf8(written).unwrap();
        assert!(text.contains(&format!("Message-ID: {}", confirmation.message_id)));
        assert!(text.to_ascii_lowercase().contains("text/calendar; method=request"));
        // No temporary files are left behind.
        assert_eq!(std::fs::read_dir(&outbox).unwrap().count(), 1);

        std::thread::sleep(Duration::from_millis(20));
        mailer.send(&town("prato"), &email(EmailKind::Reminder)).await.unwrap();
        let files = list_outbox_dir(&outbox).unwrap();
        assert_eq!(files.len(), 2);
        assert!(files[0].0.contains(".reminder@"), "newest first: {files:?}");
        assert!(files[0].2 >= files[1].2);
    }

    #[tokio::test]
    async fn each_town_has_its_own_outbox_folder_and_nothing_lands_in_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let mailer = Mailer::outbox(dir.path());
        let confirmation = email(EmailKind::Confirmation);
        mailer.send(&town("prato"), &confirmation).await.unwrap();
        assert_eq!(list_outbox_dir(&town_outbox_dir(dir.path(), &town("prato"))).unwrap().len(), 1);
        assert!(list_outbox_dir(&town_outbox_dir(dir.path(), &town("altro"))).unwrap().is_empty());
        assert!(list_outbox_dir(dir.path()).unwrap().is_empty(), "no file is written flat in the root");
    }

    #[test]
    fn purging_removes_old_e_mails_and_keeps_new_ones_and_other_files() {
        let dir = tempfile::tempdir().unwrap();
        let write_aged = |name: &str, age_days: u64| {
            let path = dir.path().join(name);
            std::fs::write(&path, "x").unwrap();
            let when = SystemTime::now() - Duration::from_secs(age_days * 86_400);
            std::fs::File::options().write(true).open(&path).unwrap().set_modified(when).unwrap();
        };
        write_aged("old.eml", 40);
        write_aged(".old.eml.1.2.tmp", 40);
        write_aged("new.eml", 1);
        write_aged("notes.txt", 40);
        std::fs::create_dir(dir.path().join("prato")).unwrap();
        let cutoff = SystemTime::now() - Duration::from_secs(30 * 86_400);
        assert_eq!(purge_outbox_dir(dir.path(), cutoff).unwrap(), 2);
        let mut left: Vec<String> =
            std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        left.sort();
        assert_eq!(left, ["new.eml", "notes.txt", "prato"]);
        assert_eq!(purge_outbox_dir(&dir.path().join("nope"), cutoff).unwrap(), 0);
    }

    #[test]
    fn listing_a_missing_folder_gives_nothing_and_ignores_other_files() {
        let dir = tempfile::tempdir().unwrap();
        assert!(list_outbox_dir(&dir.path().join("nope")).unwrap().is_empty());
        std::fs::write(dir.path().join("notes.txt"), "x").unwrap();
        std::fs::write(dir.path().join(".half.eml.1.2.tmp"), "x").unwrap();
        std::fs::write(dir.path().join("a.eml"), "hello").unwrap();
        let files = list_outbox_dir(dir.path()).unwrap();
        assert_eq!(files.iter().map(|f| (f.0.as_str(), f.1)).collect::<Vec<_>>(), [("a.eml", 5)]);
    }

    #[test]
    fn smtp_settings_need_both_credentials_or_neither() {
        assert!(Mailer::smtp("127.0.0.1", 2525, SmtpSecurity::None, None, None).is_ok());
        assert!(Mailer::smtp("127.0.0.1", 2525, SmtpSecurity::StartTls, Some("u".into()), Some("p".into())).is_ok());
        let half = Mailer::smtp("127.0.0.1", 2525, SmtpSecurity::Tls, Some("u".into()), None);
        assert!(matches!(half, Err(NotifyError::Invalid(_))));
    }

    /// A minimal SMTP server on loopback that accepts one message and returns its envelope and
    /// data (dot-unstuffed).
    async fn smtp_server() -> (u16, tokio::task::JoinHandle<(String, Vec<String>, String)>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let task = tokio::spawn(async move {
            let (socket, _) = listener.accept().await.unwrap();
            let (read, mut write) = socket.into_split();
            let mut lines = BufReader::new(read);
            write.write_all(b"220 test.local ESMTP\r\n").await.unwrap();
            let (mut from, mut to, mut data) = (String::new(), Vec::new(), String::new());
            loop {
                let mut line = String::new();
                if lines.read_line(&mut line).await.unwrap() == 0 {
                    break;
                }
                let upper = line.to_ascii_uppercase();
                if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                    write.write_all(b"250-test.local\r\n250 8BITMIME\r\n").await.unwrap();
                } else if upper.starts_with("MAIL FROM:") {
                    from = line[10..].trim().to_string();
                    write.write_all(b"250 OK\r\n").await.unwrap();
                } else if upper.starts_with("RCPT TO:") {
                    to.push(line[8..].trim().to_string());
                    write.write_all(b"250 OK\r\n").await.unwrap();
                } else if upper.starts_with("DATA") {
                    write.write_all(b"354 go ahead\r\n").await.unwrap();
                    loop {
                        let mut l = String::new();
                        assert!(lines.read_line(&mut l).await.unwrap() > 0, "connection closed inside DATA");
                        if l == ".\r\n" {
                            break;
                        }
                        data.push_str(l.strip_prefix('.').unwrap_or(&l));
                    }
                    write.write_all(b"250 queued\r\n").await.unwrap();
                } else if upper.starts_with("QUIT") {
                    write.write_all(b"221 bye\r\n").await.unwrap();
                    break;
                } else {
                    write.write_all(b"250 OK\r\n").await.unwrap();
                }
                if !data.is_empty() && upper.starts_with("DATA") {
                    break;
                }
            }
            (from, to, data)
        });
        (port, task)
    }

    #[tokio::test]
    async fn smtp_delivers_the_message_to_a_real_server() {
        let (port, server) = smtp_server().await;
        let mailer = Mailer::smtp("127.0.0.1", port, SmtpSecurity::None, None, None).unwrap();
        let confirmation = email(EmailKind::Confirmation);
        mailer.send(&town("prato"), &confirmation).await.unwrap();
        let (from, to, data) = server.await.unwrap();
        assert_eq!(from, "<noreply@ricevo.example.it>");
        assert_eq!(to, ["<maria.rossi@example.org>"]);
        assert!(data.contains(&format!("Message-ID: {}", confirmation.message_id)), "{data}");
        assert!(data.to_ascii_lowercase().contains("text/calendar; method=request"));
    }

    #[tokio::test]
    async fn an_unreachable_smtp_server_is_an_error() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let mailer = Mailer::smtp("127.0.0.1", port, SmtpSecurity::None, None, None).unwrap();
        let err = mailer.send(&town("prato"), &email(EmailKind::Confirmation)).await.unwrap_err();
        assert!(matches!(err, NotifyError::Smtp(_)), "{err}");
    }
}
