//! `ricevo-bench reminders [--database-url postgres://...] [--count N]` (issue 15): 10,000
//! reminders to citizens who gave only a phone number, queued through the desk's real path
//! (`Desk::citizen_message_rows` along the town's channel settings, written to the outbox in
//! transactions of 1,000) and handed by the real outbox `Worker` to a local fake SMS gateway on
//! loopback. Reports the time to queue, the delivery throughput, how many messages the gateway
//! took (must be exactly N, each number once, else the process exits 1) and the peak RSS.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;

use jiff::{SignedDuration, Timestamp};
use ricevo_core::channel::{Channel, PhoneNumber, Reach};
use ricevo_core::{Lang, Mode};
use ricevo_desk::{Desk, DeskSettings};
use ricevo_notify::{AllowedHosts, AppointmentNotice, ChannelSenders, CitizenMessage, Mailer, Worker};
use ricevo_store::{NewTenant, SmsGateway, SmsMethod, Store, TownChannels};

struct Options {
    database_url: Option<String>,
    count: usize,
}

pub(crate) fn run(args: &[String]) {
    let mut o = Options { database_url: None, count: 10_000 };
    let mut i = 0;
    while i < args.len() {
        let value = args.get(i + 1).cloned().unwrap_or_default();
        match args[i].as_str() {
            "--database-url" => o.database_url = Some(value),
            "--count" => o.count = value.parse().unwrap(),
            other => panic!("unknown option {other}"),
        }
        i += 2;
    }
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    if !rt.block_on(bench(o)) {
        std::process::exit(1);
    }
}

/// The process's peak resident set (VmHWM), in MiB; 0 where /proc is missing.
fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

/// The `i`-th citizen's number, as people write it.
fn phone(i: usize) -> String {
    format!("+39 333 {i:07}")
}

async fn bench(o: Options) -> bool {
    let dir = tempfile::tempdir().unwrap();
    let scratch = crate::scratch::Scratch::create(o.database_url.as_deref(), dir.path()).await;
    let store: Arc<dyn Store> = ricevo_store::open(&scratch.url).await.unwrap();
    let ok = one_run(&o, scratch.engine(), &store, dir.path()).await;
    drop(store);
    scratch.remove().await;
    ok
}

async fn one_run(o: &Options, engine: &str, store: &Arc<dyn Store>, dir: &std::path::Path) -> bool {
    let (sms_url, sms) = ricevo_fakes::sms::start().await;
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
    store
        .set_town_channels(&TownChannels {
            order: vec![Channel::Sms, Channel::Email],
            sms_enabled: true,
            sms: SmsGateway {
                url: format!("{sms_url}/api/send"),
                method: SmsMethod::PostForm,
                username: Some("prato".into()),
                password: Some("secret".into()),
                to_field: "recipient".into(),
                text_field: "message".into(),
                sender_field: "sender".into(),
                sender: "Comune".into(),
            },
            ..TownChannels::none(tenant.id)
        })
        .await
        .unwrap();
    let desk = Desk::new(store.clone(), DeskSettings::default());
    println!("{} reminders by SMS on {engine}", o.count);

    // Queue: one reminder per citizen, rendered and routed by the desk, 1,000 rows a transaction.
    let now = Timestamp::now();
    let zone = jiff::tz::TimeZone::get("Europe/Rome").unwrap();
    let t = Instant::now();
    let mut rows = Vec::with_capacity(1000);
    for i in 0..o.count {
        let start = (now + SignedDuration::from_hours(24) + SignedDuration::from_mins((i % 96) as i64 * 5))
            .to_zoned(zone.clone());
        let notice = AppointmentNotice {
            uid: format!("bench-{i}@ricevo.example"),
            sequence: 0,
            tenant_name: tenant.name.clone(),
            tenant_email: tenant.contact_email.clone(),
            office_name: "Anagrafe".into(),
            office_address: "Piazza del Comune 2".into(),
            service_name: "Carta d'identità".into(),
            what_to_bring: String::new(),
            end: start.checked_add(SignedDuration::from_mins(15)).unwrap(),
            start,
            mode: Mode::InPerson,
            citizen_name: format!("Cittadino {i}"),
            citizen_email: String::new(),
            manage_url: format!("https://ricevo.example/a/{i}"),
            cancel_url: format!("https://ricevo.example/a/{i}/cancel"),
            join_url: None,
            lang: if i % 10 == 0 { Lang::En } else { Lang::It },
            reference: format!("B{i:06}"),
            reason: None,
            rebook_url: None,
            rebook_times: Vec::new(),
        };
        let reach = Reach::of("", Some(&phone(i)), None, None);
        let message = CitizenMessage::reminder(&notice);
        rows.extend(
            desk.citizen_message_rows(&tenant, &reach, &message, &format!("bench:{i}:reminder"), now).await.unwrap(),
        );
        if rows.len() >= 1000 || i + 1 == o.count {
            store.queue_outbox(tenant.id, &rows, now).await.unwrap();
            rows.clear();
        }
    }
    let queue = t.elapsed().as_secs_f64();
    let backlog = store.outbox_backlog().await.unwrap() as usize;
    println!("queue: {queue:.2} s ({:.0} messages/s), backlog {backlog}", o.count as f64 / queue);

    // Deliver: the real worker, round after round, until nothing is due.
    let allowed = AllowedHosts::parse(["127.0.0.1"]).unwrap();
    let senders = ChannelSenders::at("http://127.0.0.1:9", "http://127.0.0.1:9", allowed).unwrap();
    let worker = Worker::new(store.clone(), Mailer::outbox(dir)).unwrap().with_channels(senders);
    let t = Instant::now();
    let mut rounds = 0;
    loop {
        let handled = worker.run_once(Timestamp::now()).await.unwrap();
        if handled == 0 {
            break;
        }
        rounds += 1;
    }
    let deliver = t.elapsed().as_secs_f64();
    let received = sms.received();
    let left = store.outbox_backlog().await.unwrap();
    let distinct: HashSet<&str> =
        received.iter().filter_map(|r| r.fields.get("recipient").map(String::as_str)).collect();
    let every_number = (0..o.count).all(|i| distinct.contains(PhoneNumber::parse(&phone(i)).unwrap().as_str()));
    let all_once = received.len() == o.count && distinct.len() == o.count && every_number;
    println!(
        "deliver: {deliver:.2} s in {rounds} rounds ({:.0} messages/s), backlog left {left}",
        received.len() as f64 / deliver
    );
    println!(
        "gateway received: {} messages, {} distinct numbers (expected {} each once)",
        received.len(),
        distinct.len(),
        o.count
    );
    println!("peak RSS (VmHWM): {:.1} MiB", peak_rss_mib());
    if !all_once || left != 0 {
        println!("FAIL: the gateway must take every reminder exactly once");
        return false;
    }
    true
}
