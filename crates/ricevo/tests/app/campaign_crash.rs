//! A survey campaign's delivery survives SIGKILL: the real binary delivers a campaign of a few
//! hundred contacts at a high rate, is killed in the middle, restarts, and in the end every
//! contact got exactly one message, carrying the one personal link the store knows for them.

#![allow(clippy::unwrap_used, clippy::print_stderr)]

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use ricevo_core::Lang;
use ricevo_core::campaign::CampaignStatus;
use ricevo_store::{NewCampaign, NewContact, NewTenant};

const CONTACTS: usize = 400;

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn start(data: &Path) -> Server {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_ricevo"))
        .env("RICEVO_DATA_DIR", data)
        .env("RICEVO_LISTEN", format!("127.0.0.1:{port}"))
        .env("RICEVO_CAMPAIGN_MESSAGES_PER_MINUTE", "100000")
        .env("RICEVO_LOG", "warn")
        .env("RICEVO_MEDIA_UDP", "127.0.0.1:0")
        .env_remove("RICEVO_CONFIG")
        .env_remove("RICEVO_DATABASE_URL")
        .env_remove("RICEVO_SMTP_HOST")
        .stdout(Stdio::null())
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    Server(child)
}

/// The e-mails written so far in the town's outbox folder.
fn emails(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                .collect()
        })
        .unwrap_or_default()
}

/// A header's value, unfolded.
fn header(eml: &str, name: &str) -> Option<String> {
    let head = eml.split("\r\n\r\n").next()?;
    let mut value: Option<String> = None;
    for line in head.split("\r\n") {
        if let Some(v) = value.as_mut() {
            if line.starts_with([' ', '\t']) {
                v.push_str(line.trim_start());
                continue;
            }
            break;
        }
        if let Some(rest) = line.strip_prefix(&format!("{name}: ")) {
            value = Some(rest.to_owned());
        }
    }
    value
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_contact_gets_exactly_one_message_after_a_sigkill_in_the_middle_of_delivery() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let url = format!("sqlite://{}", data.join("ricevo.db").display());

    // The town, its list and a running campaign, written before the server starts.
    let store = ricevo_store::open(&url).await.unwrap();
    let town = store
        .create_tenant(&NewTenant {
            slug: "prato".into(),
            name: "Comune di Prato".into(),
            time_zone: "Europe/Rome".into(),
            patron_day: None,
            contact_email: "urp@comune.prato.example".into(),
            privacy_notice: "Informativa".into(),
            retention_days: 365,
        })
        .await
        .unwrap();
    let list: Vec<NewContact> = (0..CONTACTS)
        .map(|i| NewContact {
            email: format!("cittadino{i}@example.org"),
            name: format!("Cittadino {i}"),
            consent_date: "2024-01-01".into(),
            lang: if i.is_multiple_of(3) { Lang::En } else { Lang::It },
        })
        .collect();
    let now = Timestamp::now();
    store.import_contacts(town.id, &list, now).await.unwrap();
    let campaign = store
        .create_campaign(
            town.id,
            &NewCampaign {
                questionnaire_id: 1,
                title: "Servizi online".into(),
                subject_it: "Com'è andata?".into(),
                subject_en: "How did it go?".into(),
                intro_it: "Ciao".into(),
                intro_en: "Hello".into(),
            },
            now,
        )
        .await
        .unwrap();
    store.set_campaign_status(town.id, campaign.id, CampaignStatus::Draft, CampaignStatus::Running, now).await.unwrap();
    drop(store);

    let outbox = data.join("outbox").join("prato");
    let mut server = start(&data);
    // Bounded waits for progress, not timing assertions.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let n = emails(&outbox).len();
        if n >= 20 {
            break;
        }
        assert!(Instant::now() < deadline, "no delivery started");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.0.kill().unwrap();
    server.0.wait().unwrap();
    let at_kill = emails(&outbox).len();
    eprintln!("killed with {at_kill} of {CONTACTS} e-mails written");

    // The killed worker had claimed a batch for five minutes (the outbox's lease: a crashed
    // node's claim expires, and another delivers it). Stand in for those five minutes.
    let db = rusqlite::Connection::open(data.join("ricevo.db")).unwrap();
    let claimed =
        db.execute("UPDATE outbox SET due_at = ?1 WHERE sent_at IS NULL", [Timestamp::now().as_second()]).unwrap();
    drop(db);
    eprintln!("{claimed} messages were queued or claimed but not delivered at the kill");

    let _server = start(&data);
    let store = ricevo_store::open(&url).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(180);
    // Delivered means written and recorded as sent: a file can appear a moment before its row
    // is marked, and stopping the server in that moment would leave the row to send again.
    while emails(&outbox).len() < CONTACTS || store.outbox_backlog().await.unwrap() > 0 {
        assert!(Instant::now() < deadline, "only {} of {CONTACTS} delivered after the restart", emails(&outbox).len());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(_server);

    // One file per contact, each with the one link the store holds for that contact.
    let ids: HashMap<i64, String> =
        store.contacts(town.id, 10_000).await.unwrap().into_iter().map(|c| (c.id, c.email)).collect();
    assert_eq!(ids.len(), CONTACTS);
    let files = emails(&outbox);
    assert_eq!(files.len(), CONTACTS, "exactly one e-mail per contact");
    let mut reached = HashSet::new();
    for f in &files {
        let eml = std::fs::read_to_string(f).unwrap();
        let to = header(&eml, "To").unwrap();
        let link = header(&eml, "List-Unsubscribe").unwrap();
        let token = link.trim_matches(['<', '>']).rsplit('/').next().unwrap().to_owned();
        let found = store.campaign_link(&ricevo_desk::tokens::hash(&token)).await.unwrap();
        let found = found.unwrap_or_else(|| panic!("{} carries a link the store does not know", f.display()));
        assert_eq!(found.campaign.id, campaign.id);
        assert!(to.contains(&ids[&found.contact_id]), "{to} got {}'s link", ids[&found.contact_id]);
        assert!(reached.insert(found.contact_id), "contact {} twice", found.contact_id);
    }
    assert_eq!(reached.len(), CONTACTS, "none forgotten");
    let p = store.campaign_progress(town.id, campaign.id).await.unwrap();
    assert_eq!((p.recipients, p.queued), (CONTACTS as i64, CONTACTS as i64));
    assert_eq!(store.outbox_backlog().await.unwrap(), 0);
    let leftovers: Vec<_> = std::fs::read_dir(&outbox)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    // A temporary file the kill interrupted is harmless (never listed, purged by retention).
    eprintln!("{} temporary files left by the kill", leftovers.len());
}
