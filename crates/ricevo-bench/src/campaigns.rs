//! `ricevo-bench campaigns [--database-url postgres://...] [--contacts N] [--runs R]`: Prato's
//! case, a survey campaign to 34,000 contacts. Each run starts from an empty database: the
//! contact file (CSV as an Italian spreadsheet exports it) is read and imported, the campaign is
//! started (every contact becomes a recipient), and every message is queued into the outbox
//! (a personal token per contact, its hash on the recipient, the e-mail's payload in the
//! outbox, each batch in one transaction) as the sender does without a rate limit. Reports
//! each phase's median over the runs and the queueing throughput.

use std::sync::Arc;
use std::time::Instant;

use jiff::Timestamp;
use ricevo_core::audit::Actor;
use ricevo_core::campaign::CampaignAction;
use ricevo_core::survey::{Questionnaire, SurveyKind, SurveyStatus};
use ricevo_core::{Lang, TenantId};
use ricevo_desk::{Desk, DeskSettings};
use ricevo_store::{Grant, NewQuestionnaire, NewTenant, Role, Store};

struct Options {
    database_url: Option<String>,
    contacts: usize,
    runs: usize,
}

pub(crate) fn run(args: &[String]) {
    let mut o = Options { database_url: None, contacts: 34_000, runs: 3 };
    let mut i = 0;
    while i < args.len() {
        let value = args.get(i + 1).cloned().unwrap_or_default();
        match args[i].as_str() {
            "--database-url" => o.database_url = Some(value),
            "--contacts" => o.contacts = value.parse().unwrap(),
            "--runs" => o.runs = value.parse::<usize>().unwrap().max(1),
            other => panic!("unknown option {other}"),
        }
        i += 2;
    }
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(bench(o));
}

/// The contact list as a town's spreadsheet exports it: BOM, `;`, Italian dates.
fn csv(n: usize) -> Vec<u8> {
    let mut out = String::from("\u{feff}Nome;E-mail;Data consenso;Lingua\r\n");
    for i in 0..n {
        let lang = if i % 10 == 0 { "en" } else { "it" };
        out.push_str(&format!("Cittadino {i};cittadino.{i}@example.org;{:02}/03/2024;{lang}\r\n", i % 28 + 1));
    }
    out.into_bytes()
}

struct Times {
    import: f64,
    start: f64,
    queue: f64,
}

async fn one_run(o: &Options, file: &[u8]) -> Times {
    let dir = tempfile::tempdir().unwrap();
    let scratch = crate::scratch::Scratch::create(o.database_url.as_deref(), dir.path()).await;
    let url = scratch.url.clone();
    let store: Arc<dyn Store> = ricevo_store::open(&url).await.unwrap();
    let tenant = store
        .create_tenant(&NewTenant {
            slug: "prato".into(),
            name: "Comune di Prato".into(),
            time_zone: "Europe/Rome".into(),
            patron_day: Some("12-26".into()),
            contact_email: "urp@comune.prato.example".into(),
            privacy_notice: "Informativa".into(),
            retention_days: 365,
        })
        .await
        .unwrap();
    let desk = Desk::new(store.clone(), DeskSettings::default());
    let grant = Grant { tenant_id: tenant.id, role: Role::Admin, offices: Vec::new(), actor: Actor::System };
    let now = Timestamp::now();
    let q = store
        .create_questionnaire(
            tenant.id,
            &NewQuestionnaire {
                title: "Servizi online".into(),
                kind: SurveyKind::Survey,
                office_id: None,
                service_id: None,
                definition: Questionnaire::feedback_default(),
            },
            now,
        )
        .await
        .unwrap();
    store.set_questionnaire_status(tenant.id, q.id, SurveyStatus::Open, now).await.unwrap();

    let t = Instant::now();
    let (read, done) = desk.import_contacts(&tenant, &grant, file, Lang::It).await.unwrap();
    let import = t.elapsed().as_secs_f64();
    assert_eq!(read.contacts.len(), o.contacts);
    assert_eq!(done.added as usize, o.contacts);

    let draft = ricevo_store::NewCampaign {
        questionnaire_id: q.id.0,
        title: "Servizi online".into(),
        subject_it: "Ci aiuti a migliorare i servizi online?".into(),
        subject_en: "Will you help us improve our online services?".into(),
        intro_it: "ti scriviamo perché sei nella lista dei contatti del Comune.".into(),
        intro_en: "we are writing because you are on the town's contact list.".into(),
    };
    let c = desk.create_campaign(&tenant, &grant, &draft, Lang::It).await.unwrap();
    let t = Instant::now();
    desk.campaign_action(&tenant, &grant, c.id, CampaignAction::Start, Lang::It).await.unwrap();
    let start = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let queued = desk.queue_campaign(&tenant, &c, i64::MAX, Timestamp::now()).await.unwrap();
    let queue = t.elapsed().as_secs_f64();
    assert_eq!(queued as usize, o.contacts);
    assert_eq!(store.outbox_backlog().await.unwrap() as usize, o.contacts);
    let p = store.campaign_progress(TenantId(tenant.id.0), c.id).await.unwrap();
    assert_eq!((p.recipients as usize, p.queued as usize), (o.contacts, o.contacts));

    drop(desk);
    drop(store);
    scratch.remove().await;
    Times { import, start, queue }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    crate::quantile(&v, 0.5)
}

async fn bench(o: Options) {
    let engine = if o.database_url.is_some() { "PostgreSQL" } else { "SQLite" };
    let file = csv(o.contacts);
    println!("campaign of {} contacts on {engine}, {} runs ({} KB of CSV)", o.contacts, o.runs, file.len() / 1024);
    let mut all = Vec::new();
    for run in 1..=o.runs {
        let t = one_run(&o, &file).await;
        println!(
            "run {run}: import {:.2} s, start {:.2} s, queue into the outbox {:.2} s ({:.0} messages/s), total {:.2} s",
            t.import,
            t.start,
            t.queue,
            o.contacts as f64 / t.queue,
            t.import + t.start + t.queue
        );
        all.push(t);
    }
    let import = median(all.iter().map(|t| t.import).collect());
    let start = median(all.iter().map(|t| t.start).collect());
    let queue = median(all.iter().map(|t| t.queue).collect());
    let total = median(all.iter().map(|t| t.import + t.start + t.queue).collect());
    println!(
        "median: import {import:.2} s, start {start:.2} s, queue {queue:.2} s ({:.0} messages/s), total {total:.2} s (target < 10 s)",
        o.contacts as f64 / queue
    );
}
