//! Reports of the service over a busy town: 1,000,000 appointments over three years, 300,000
//! waiting-room places and walk-in tickets, 200,000 meetings and 200,000 answers (plus a second
//! town's rows in the same tables), read over HTTP from a real `ricevo` server process signed
//! in as the town's administrator. Reports each request's time (median, 95th percentile,
//! worst) measured by the client on loopback, an upper bound of the server's time, and the
//! page's size.
//!
//! The generator pours the rows with one `INSERT … SELECT` per table over a recursive CTE
//! (SQLite) or `generate_series` (PostgreSQL); the mix (channels, modes, statuses, waits,
//! lengths, ratings) comes from the row number, so every run holds the same data.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use ricevo_core::Mode;
use ricevo_core::service::ServiceRules;
use ricevo_store::{NewOffice, NewService};

use crate::booking::{Server, bench_town, free_port};

struct Options {
    server: String,
    database_url: Option<String>,
    appointments: i64,
    answers: i64,
    requests: usize,
}

fn parse(args: &[String]) -> Options {
    let mut o =
        Options { server: String::new(), database_url: None, appointments: 1_000_000, answers: 200_000, requests: 30 };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || it.next().cloned().unwrap_or_default();
        match a.as_str() {
            "--server" => o.server = value(),
            "--database-url" => o.database_url = Some(value()),
            "--appointments" => o.appointments = value().parse().unwrap(),
            "--answers" => o.answers = value().parse().unwrap(),
            "--requests" => o.requests = value().parse().unwrap(),
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

pub(crate) fn run(args: &[String]) {
    let o = parse(args);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(bench(o));
}

enum Raw {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

/// The town's layout for the generator: offices and services have consecutive ids, and
/// service `j` belongs to office `j % offices`.
struct Layout {
    tenant: i64,
    first_office: i64,
    offices: i64,
    first_service: i64,
    services: i64,
}

/// Appointments: 1,000 a day from 08:00 UTC, ten hours, on consecutive days back from `first`.
fn appointments_select(l: &Layout, first: i64) -> String {
    format!(
        "SELECT 'b' || {t} || '-' || i, 'h' || {t} || '-' || i, {t}, {o0} + (i % {ns}) % {no}, {s0} + i % {ns}, \
         CASE WHEN i % 20 < 2 THEN 'cancelled' WHEN i % 20 = 2 THEN 'no_show' WHEN i % 20 < 15 THEN 'done' ELSE 'booked' END, \
         {first} + (i / 1000) * 86400 + (i % 1000) * 36, {first} + (i / 1000) * 86400 + (i % 1000) * 36 + 1200, \
         {first} + (i / 1000) * 86400 + (i % 1000) * 36 + 1200, \
         CASE i % 3 WHEN 0 THEN 'video' WHEN 1 THEN 'in_person' ELSE 'phone' END, \
         'Cittadino ' || i, 'c' || i || '@example.it', '{{}}', 'it', \
         (CASE WHEN i % 20 < 2 THEN 1 ELSE 0 END) + (CASE WHEN i % 17 = 0 THEN 1 ELSE 0 END), \
         {first} + (i / 1000) * 86400 - (1 + i % 30) * 86400, {first} + (i / 1000) * 86400, \
         CASE WHEN i % 10 < 6 THEN 'page' WHEN i % 10 < 8 THEN 'api' WHEN i % 10 < 9 THEN 'staff' ELSE 'unknown' END",
        t = l.tenant,
        o0 = l.first_office,
        no = l.offices,
        s0 = l.first_service,
        ns = l.services,
    )
}

const APPOINTMENTS_INSERT: &str = "INSERT INTO appointments (public_id, token_hash, tenant_id, office_id, service_id, \
     status, start_at, end_at, occupied_until, mode, citizen_name, citizen_email, answers, lang, sequence, created_at, \
     updated_at, booked_via) ";

/// Waiting-room places (three in four for an appointment, one in four a ticket): waits of 0
/// to 15 minutes; one ticket in eight given up.
fn entries_select(l: &Layout, first: i64) -> String {
    format!(
        "SELECT {t}, {o0} + i % {no}, CASE WHEN i % 4 = 0 THEN 'ticket' ELSE 'appointment' END, NULL, \
         'Cittadino ' || i, 'Servizio', '{{}}', CASE WHEN i % 32 = 0 THEN 'left' ELSE 'done' END, \
         {first} + (i / 300) * 86400 + (i % 300) * 120, \
         CASE WHEN i % 32 = 0 THEN NULL ELSE {first} + (i / 300) * 86400 + (i % 300) * 120 + (i * 7) % 900 END",
        t = l.tenant,
        o0 = l.first_office,
        no = l.offices,
    )
}

const ENTRIES_INSERT: &str = "INSERT INTO entries (tenant_id, office_id, kind, appointment_id, name, service, abilities, \
     status, arrived_at, admitted_at) ";

fn meetings_select(l: &Layout, first: i64) -> String {
    format!(
        "SELECT {t}, {o0} + i % {no}, 'm' || {t} || '-' || i, {first} + (i / 200) * 86400 + (i % 200) * 180, \
         {first} + (i / 200) * 86400 + (i % 200) * 180 + 300 + (i * 13) % 1800",
        t = l.tenant,
        o0 = l.first_office,
        no = l.offices,
    )
}

const MEETINGS_INSERT: &str = "INSERT INTO meetings (tenant_id, office_id, public_id, started_at, ended_at) ";

/// Answers: four in five after a contact, the rest at a kiosk; ratings 1 to 5.
fn answers_select(l: &Layout, first: i64) -> String {
    format!(
        "SELECT {t}, NULL, CASE WHEN i % 5 = 0 THEN 'kiosk' ELSE 'after_contact' END, {o0} + (i % {ns}) % {no}, \
         {s0} + i % {ns}, 'video', 1 + (i * 7) % 5, '{{}}', 'it', {first} + (i / 200) * 86400 + (i % 200) * 180",
        t = l.tenant,
        o0 = l.first_office,
        no = l.offices,
        s0 = l.first_service,
        ns = l.services,
    )
}

const ANSWERS_INSERT: &str = "INSERT INTO survey_responses (tenant_id, questionnaire_id, channel, office_id, service_id, \
     mode, rating, answers, lang, submitted_at) ";

impl Raw {
    async fn pour(&self, insert: &str, select: &str, n: i64) {
        match self {
            Raw::Sqlite(p) => {
                let sql = format!(
                    "WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i + 1 < {n}) {insert}{select} FROM s"
                );
                sqlx::query(&sql).execute(p).await.unwrap();
            }
            Raw::Postgres(p) => {
                let sql = format!("{insert}{select} FROM generate_series(0::bigint, {n}::bigint - 1) AS s(i)");
                sqlx::query(&sql).execute(p).await.unwrap();
            }
        }
    }

    async fn analyze(&self) {
        match self {
            Raw::Sqlite(p) => sqlx::query("ANALYZE").execute(p).await.map(|_| ()),
            // Autovacuum would get there in time; the visibility map lets index-only scans skip the table.
            Raw::Postgres(p) => sqlx::query("VACUUM ANALYZE").execute(p).await.map(|_| ()),
        }
        .unwrap();
    }

    /// Pours one town's rows: `n` appointments, 30% as many places, 20% as many meetings,
    /// `answers` answers, all ending around now.
    async fn town(&self, l: &Layout, n: i64, answers: i64) {
        let days = n / 1000 + 1;
        let first = Timestamp::now().as_second() / 86400 * 86400 - days * 86400 + 7 * 3600;
        self.pour(APPOINTMENTS_INSERT, &appointments_select(l, first), n).await;
        let places = n * 3 / 10;
        self.pour(ENTRIES_INSERT, &entries_select(l, first + (days - places / 300) * 86400), places).await;
        let meetings = n / 5;
        self.pour(MEETINGS_INSERT, &meetings_select(l, first + (days - meetings / 200) * 86400), meetings).await;
        self.pour(ANSWERS_INSERT, &answers_select(l, first + (days - answers / 200) * 86400), answers).await;
    }
}

async fn layout(store: &dyn ricevo_store::Store, tenant: &ricevo_store::Tenant, first: ricevo_store::Office) -> Layout {
    let mut offices = vec![first];
    for name in ["Tributi", "Edilizia", "Polizia Municipale"] {
        let o = NewOffice {
            name: name.into(),
            description: String::new(),
            address: String::new(),
            contact_email: "o@bench.it".into(),
        };
        offices.push(store.create_office(tenant.id, &o).await.unwrap());
    }
    let mut services = Vec::new();
    for j in 0..10 {
        let office = &offices[j % offices.len()];
        let s = NewService {
            office_id: office.id,
            name: format!("Servizio {j}"),
            description: String::new(),
            rules: ServiceRules::new(20, 0, vec![Mode::Video, Mode::InPerson, Mode::Phone], 0, 60).unwrap(),
            what_to_bring: String::new(),
            questions: vec![],
            active: true,
        };
        services.push(store.create_service(tenant.id, &s).await.unwrap());
    }
    let consecutive = |ids: Vec<i64>| ids.windows(2).all(|w| w[1] == w[0] + 1);
    assert!(consecutive(offices.iter().map(|o| o.id.0).collect()), "office ids must be consecutive");
    assert!(consecutive(services.iter().map(|s| s.id.0).collect()), "service ids must be consecutive");
    Layout {
        tenant: tenant.id.0,
        first_office: offices[0].id.0,
        offices: offices.len() as i64,
        first_service: services[0].id.0,
        services: services.len() as i64,
    }
}

async fn bench(o: Options) {
    let dir = tempfile::tempdir().unwrap();
    let scratch = crate::scratch::Scratch::create(o.database_url.as_deref(), dir.path()).await;
    let url = scratch.url.clone();
    let engine = scratch.engine();
    let store = ricevo_store::open(&url).await.unwrap();
    let raw = if scratch.is_postgres() {
        Raw::Postgres(sqlx::PgPool::connect(&url).await.unwrap())
    } else {
        Raw::Sqlite(sqlx::SqlitePool::connect(&url).await.unwrap())
    };
    let (tenant, office) = bench_town(&*store).await;
    let town = layout(&*store, &tenant, office).await;
    let seeded = Instant::now();
    raw.town(&town, o.appointments, o.answers).await;
    // A second town with a tenth of the rows, in the same tables.
    let second = store
        .create_tenant(&ricevo_store::NewTenant {
            slug: "altro".into(),
            name: "Comune Altro".into(),
            time_zone: "Europe/Rome".into(),
            patron_day: None,
            contact_email: "urp@altro.it".into(),
            privacy_notice: "x".into(),
            retention_days: 365,
        })
        .await
        .unwrap();
    let second_office = store
        .create_office(
            second.id,
            &NewOffice {
                name: "Anagrafe".into(),
                description: String::new(),
                address: String::new(),
                contact_email: "a@altro.it".into(),
            },
        )
        .await
        .unwrap();
    let other = layout(&*store, &second, second_office).await;
    raw.town(&other, o.appointments / 10, o.answers / 10).await;
    raw.analyze().await;
    eprintln!(
        "seeded {} appointments, {} answers (and a tenth as many in a second town) on {engine} in {:.1} s",
        o.appointments,
        o.answers,
        seeded.elapsed().as_secs_f64()
    );
    drop(store);

    let password = crate::pages::add_admin(&o.server, &url, dir.path());
    let port = free_port();
    let child = Command::new(&o.server)
        .env("RICEVO_DATABASE_URL", &url)
        .env("RICEVO_DATA_DIR", dir.path())
        .env("RICEVO_LISTEN", format!("127.0.0.1:{port}"))
        .env("RICEVO_MEDIA_UDP", format!("127.0.0.1:{}", free_port()))
        .env("RICEVO_RATE_LIMIT_PER_MINUTE", "100000000")
        .env("RICEVO_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let _server = Server(child);
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let ready = Instant::now();
    while http.get(format!("{base}/healthz")).send().await.map(|r| r.status().is_success()).ok() != Some(true) {
        assert!(ready.elapsed() < Duration::from_secs(60), "server did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let cookie = crate::pages::sign_in(&http, &base, &password).await;

    let zone = TimeZone::get("Europe/Rome").unwrap();
    let today = Timestamp::now().to_zoned(zone.clone()).date();
    let back = |days: i64| (Timestamp::now() - SignedDuration::from_hours(24 * days)).to_zoned(zone.clone()).date();
    let year = format!("from={}&to={today}", back(364));
    let all = format!("from={}&to={today}", back(1097));
    let pages = [
        ("page, last 30 days (default)", "/bench/staff/reports".to_owned()),
        ("page, one year", format!("/bench/staff/reports?{year}")),
        ("page, three years (every row)", format!("/bench/staff/reports?{all}")),
        ("page, one office, three years", format!("/bench/staff/reports?{all}&office={}", town.first_office)),
        ("page, one service, three years", format!("/bench/staff/reports?{all}&service={}", town.first_service)),
        ("ODS, every table, three years", format!("/bench/staff/reports/export?{all}&table=all&format=ods")),
    ];
    println!("engine: {engine}; {} requests per page after 3 warm-up requests", o.requests);
    println!("| request | bytes | median ms | p95 ms | max ms |");
    println!("|---|---:|---:|---:|---:|");
    for (name, path) in pages {
        let url = format!("{base}{path}");
        let mut size = 0;
        for _ in 0..3 {
            let resp = http.get(&url).header("cookie", &cookie).send().await.unwrap();
            assert_eq!(resp.status(), reqwest::StatusCode::OK, "{url}");
            size = resp.bytes().await.unwrap().len();
        }
        let mut ms = Vec::with_capacity(o.requests);
        for _ in 0..o.requests {
            let started = Instant::now();
            let resp = http.get(&url).header("cookie", &cookie).send().await.unwrap();
            let _ = resp.bytes().await.unwrap();
            ms.push(started.elapsed().as_secs_f64() * 1000.0);
        }
        ms.sort_by(f64::total_cmp);
        println!(
            "| {name} | {size} | {:.1} | {:.1} | {:.1} |",
            crate::quantile(&ms, 0.5),
            crate::quantile(&ms, 0.95),
            ms[ms.len() - 1]
        );
    }
    drop(_server);
    drop(raw);
    scratch.remove().await;
}
