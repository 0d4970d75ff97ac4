//! Booking under load: concurrent clients over HTTP against a real `ricevo` server process.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use jiff::civil::Time;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use ricevo_core::hours::{OpeningHours, WeeklyRange};
use ricevo_core::service::ServiceRules;
use ricevo_core::slots::{SlotQuery, compute};
use ricevo_core::{Mode, seats};
use ricevo_store::{NewOffice, NewService, NewTenant};

struct Options {
    server: String,
    database_url: Option<String>,
    clients: usize,
    requests: usize,
    seats: usize,
    desks: u16,
}

fn parse(args: &[String]) -> Options {
    let mut o =
        Options { server: String::new(), database_url: None, clients: 64, requests: 20_000, seats: 0, desks: 4 };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || it.next().cloned().unwrap_or_default();
        match a.as_str() {
            "--server" => o.server = value(),
            "--database-url" => o.database_url = Some(value()),
            "--clients" => o.clients = value().parse().unwrap_or(64),
            "--requests" => o.requests = value().parse().unwrap_or(20_000),
            "--seats" => o.seats = value().parse().unwrap_or(0),
            "--desks" => o.desks = value().parse().unwrap_or(4),
            other => {
                eprintln!("unknown option {other}");
                std::process::exit(2);
            }
        }
    }
    if o.server.is_empty() {
        eprintln!("--server PATH to the ricevo binary is required (build it with cargo build --release)");
        std::process::exit(2);
    }
    o
}

/// A server process, stopped when dropped.
pub(crate) struct Server(pub(crate) Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A free TCP port on loopback.
/// The benches' town, "bench", with its one office, "Sportello" (hours and services are each
/// bench's own).
pub(crate) async fn bench_town(store: &dyn ricevo_store::Store) -> (ricevo_store::Tenant, ricevo_store::Office) {
    let tenant = store
        .create_tenant(&NewTenant {
            slug: "bench".into(),
            name: "Comune del Banco di Prova".into(),
            time_zone: "Europe/Rome".into(),
            patron_day: None,
            contact_email: "urp@bench.it".into(),
            privacy_notice: "x".into(),
            retention_days: 365,
        })
        .await
        .unwrap();
    let office = store
        .create_office(
            tenant.id,
            &NewOffice {
                name: "Sportello".into(),
                description: String::new(),
                address: String::new(),
                contact_email: "s@bench.it".into(),
            },
        )
        .await
        .unwrap();
    (tenant, office)
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

pub(crate) fn run(args: &[String]) {
    let o = parse(args);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(bench(o));
}

async fn bench(o: Options) {
    let dir = tempfile::tempdir().unwrap();
    let scratch = crate::scratch::Scratch::create(o.database_url.as_deref(), dir.path()).await;
    let url = scratch.url.clone();
    let engine = scratch.engine();

    // A town with one office open all day, every day, and a five-minute service.
    let store = ricevo_store::open(&url).await.unwrap();
    let (tenant, office) = bench_town(&*store).await;
    let days = [
        jiff::civil::Weekday::Monday,
        jiff::civil::Weekday::Tuesday,
        jiff::civil::Weekday::Wednesday,
        jiff::civil::Weekday::Thursday,
        jiff::civil::Weekday::Friday,
        jiff::civil::Weekday::Saturday,
        jiff::civil::Weekday::Sunday,
    ];
    let t = |h, m| Time::new(h, m, 0, 0).unwrap();
    let hours =
        OpeningHours::new(days.iter().map(|d| WeeklyRange::new(*d, t(0, 0), t(23, 55)).unwrap()).collect(), o.desks)
            .unwrap();
    store.set_hours(tenant.id, office.id, &hours).await.unwrap();
    let rules = ServiceRules::new(5, 0, vec![Mode::Video], 0, 400).unwrap();
    let service = store
        .create_service(
            tenant.id,
            &NewService {
                office_id: office.id,
                name: "Prova".into(),
                description: String::new(),
                rules: rules.clone(),
                what_to_bring: String::new(),
                questions: vec![],
                active: true,
            },
        )
        .await
        .unwrap();

    // The slots the server will offer, computed with the same core.
    let zone = TimeZone::get("Europe/Rome").unwrap();
    let now = Timestamp::now();
    let from = now.to_zoned(zone.clone()).date().checked_add(1.day()).unwrap();
    let to = from.checked_add(300.days()).unwrap();
    let q = SlotQuery {
        zone: &zone,
        hours: &hours,
        closures: &[],
        patron: None,
        service: &rules,
        booked: &[],
        now,
        from,
        to,
    };
    let starts: Vec<String> =
        compute(&q).iter().map(|s| s.start.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string()).collect();

    let port = free_port();
    let child = Command::new(&o.server)
        .env("RICEVO_DATABASE_URL", &url)
        .env("RICEVO_DATA_DIR", dir.path())
        .env("RICEVO_LISTEN", format!("127.0.0.1:{port}"))
        .env("RICEVO_RATE_LIMIT_PER_MINUTE", "100000000")
        // Every simulated client comes from 127.0.0.1: no cap per address.
        .env("RICEVO_MAX_CONNECTIONS_PER_ADDRESS", "0")
        // Every simulated client books from 127.0.0.1: lift the per-address budget.
        .env("RICEVO_BOOKINGS_PER_HOUR_PER_ADDRESS", "100000000")
        .env("RICEVO_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let server = Server(child);
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::builder().pool_max_idle_per_host(o.clients).build().unwrap();
    let ready = Instant::now();
    while http.get(format!("{base}/healthz")).send().await.map(|r| r.status().is_success()).ok() != Some(true) {
        assert!(ready.elapsed() < Duration::from_secs(60), "server did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let starts = Arc::new(starts);
    let next = Arc::new(AtomicUsize::new(0));
    let created = Arc::new(AtomicUsize::new(0));
    let conflicts = Arc::new(AtomicUsize::new(0));
    let others = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..o.clients {
        let (http, base, starts, next) = (http.clone(), base.clone(), starts.clone(), next.clone());
        let (created, conflicts, others) = (created.clone(), conflicts.clone(), others.clone());
        let (requests, seats_wanted, desks, service_id) = (o.requests, o.seats, usize::from(o.desks), service.id.0);
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= requests {
                    break;
                }
                // Throughput: every slot gets exactly `desks` requests. Contention: few slots for all.
                let slot = if seats_wanted == 0 { i / desks } else { rand::random_range(0..seats_wanted) };
                let body = serde_json::json!({
                    "service_id": service_id,
                    "start": starts[slot % starts.len()],
                    "mode": "video",
                    "citizen": {"name": format!("Cittadino {i}"), "email": format!("c{i}@bench.it")},
                    "privacy_accepted": true
                });
                let t0 = Instant::now();
                let status = http
                    .post(format!("{base}/api/v1/bench/appointments"))
                    .header("content-type", "application/json")
                    .body(body.to_string())
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
                    .unwrap_or(0);
                latencies.push(t0.elapsed().as_secs_f64() * 1e3);
                match status {
                    201 => created.fetch_add(1, Ordering::Relaxed),
                    409 => conflicts.fetch_add(1, Ordering::Relaxed),
                    _ => others.fetch_add(1, Ordering::Relaxed),
                };
            }
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await.unwrap());
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort_by(f64::total_cmp);
    drop(server);

    // Double bookings: any five-minute step holding more active bookings than desks.
    let window_end = Timestamp::now() + jiff::SignedDuration::from_hours(24 * 400);
    let booked = store.booked(tenant.id, office.id, Timestamp::UNIX_EPOCH, window_end).await.unwrap();
    let mut per_step = std::collections::HashMap::<i64, u16>::new();
    for b in &booked {
        for step in seats::steps(b.start, b.end) {
            *per_step.entry(step).or_default() += 1;
        }
    }
    let double = per_step.values().filter(|&&n| n > o.desks).count();
    let created = created.load(Ordering::Relaxed);
    println!(
        "booking [{engine}]: {} clients, {} requests, {} desks, {}: {created} created, {} conflicts, {} other; \
         {:.0} bookings/s committed; latency p50 {:.1} ms, p99 {:.1} ms; stored {}; double bookings {double}",
        o.clients,
        o.requests,
        o.desks,
        if o.seats == 0 {
            "every slot wanted by exactly `desks` clients".to_owned()
        } else {
            format!("{} contested slots", o.seats)
        },
        conflicts.load(Ordering::Relaxed),
        others.load(Ordering::Relaxed),
        created as f64 / elapsed,
        crate::quantile(&latencies, 0.5),
        crate::quantile(&latencies, 0.99),
        booked.len(),
    );
    assert_eq!(booked.len(), created, "every 201 is stored, nothing else");
    assert_eq!(double, 0, "double bookings found");
    drop(store);
    scratch.remove().await;
}
