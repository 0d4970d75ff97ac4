//! Staff pages of a busy town: the day view of an office with 200 appointments, and the audit
//! log with 1,000,000 entries (plus another town's), read over HTTP from a real `ricevo`
//! server process signed in as the town's administrator. Reports each page's time per
//! request (median, 95th percentile, worst), measured by the client on loopback: an upper
//! bound of the server's time.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use ricevo_core::hours::{OpeningHours, WeeklyRange};
use ricevo_core::service::ServiceRules;
use ricevo_core::{Lang, Mode};
use ricevo_store::{BookOutcome, NewAppointment, NewService};

use crate::booking::{Server, bench_town, free_port};

struct Options {
    server: String,
    database_url: Option<String>,
    appointments: usize,
    audit_entries: u64,
    requests: usize,
}

fn parse(args: &[String]) -> Options {
    let mut o = Options {
        server: String::new(),
        database_url: None,
        appointments: 200,
        audit_entries: 1_000_000,
        requests: 50,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || it.next().cloned().unwrap_or_default();
        match a.as_str() {
            "--server" => o.server = value(),
            "--database-url" => o.database_url = Some(value()),
            "--appointments" => o.appointments = value().parse().unwrap(),
            "--audit-entries" => o.audit_entries = value().parse().unwrap(),
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

/// The raw pool the audit entries are poured in with, one statement for all of them.
enum Raw {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

/// Seconds between two of `n` entries spread over two years.
fn spacing_secs(n: i64) -> i64 {
    (730 * 86_400 / n.max(1)).max(1)
}

// Entries of town `tenant` spread over the last two years, a mix of acts and authors like a
// town's: sign-ins by ten staff, status changes and cancellations naming a citizen, failed
// sign-ins from unknown addresses.
const AUDIT_SELECT: &str = "SELECT $1, $2 + i * $4, \
     CASE WHEN i % 10 = 0 THEN 'anonymous' ELSE 'staff' END, \
     CASE WHEN i % 10 = 0 THEN NULL ELSE 1 + i % 10 END, \
     'Persona ' || (i % 10), \
     CASE i % 5 WHEN 0 THEN 'sign_in_failed' WHEN 1 THEN 'sign_in' WHEN 2 THEN 'appointment.status' \
                WHEN 3 THEN 'appointment.cancel' ELSE 'entry.admit' END, \
     CASE WHEN i % 5 < 2 THEN 'account' ELSE 'appointment' END, i, \
     CASE WHEN i % 5 < 2 THEN NULL ELSE 'Cittadino ' || i END, 'booked -> done', '192.0.2.1'";

const AUDIT_INSERT: &str = "INSERT INTO audit_log (tenant_id, at, actor_kind, actor_id, actor_name, act, \
     subject_kind, subject_id, citizen_name, detail, source) ";

impl Raw {
    async fn pour_audit(&self, tenant: i64, first: Timestamp, n: u64) {
        let n = i64::try_from(n).unwrap();
        let step = spacing_secs(n);
        match self {
            Raw::Sqlite(p) => {
                let sql = format!(
                    "WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i + 1 < $3) \
                     {AUDIT_INSERT}{AUDIT_SELECT} FROM s"
                );
                sqlx::query(&sql).bind(tenant).bind(first.as_second()).bind(n).bind(step).execute(p).await.unwrap();
                sqlx::query("ANALYZE").execute(p).await.unwrap();
            }
            Raw::Postgres(p) => {
                let sql =
                    format!("{AUDIT_INSERT}{AUDIT_SELECT} FROM generate_series(0::bigint, $3::bigint - 1) AS s(i)");
                sqlx::query(&sql).bind(tenant).bind(first.as_second()).bind(n).bind(step).execute(p).await.unwrap();
                sqlx::query("ANALYZE audit_log").execute(p).await.unwrap();
            }
        }
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

    // The town, its office open 8:00–18:00 every weekday with 10 desks, a 20-minute service.
    let (tenant, office) = bench_town(&*store).await;
    let t = |h, m| Time::new(h, m, 0, 0).unwrap();
    let weekdays = [
        jiff::civil::Weekday::Monday,
        jiff::civil::Weekday::Tuesday,
        jiff::civil::Weekday::Wednesday,
        jiff::civil::Weekday::Thursday,
        jiff::civil::Weekday::Friday,
    ];
    let hours =
        OpeningHours::new(weekdays.iter().map(|d| WeeklyRange::new(*d, t(8, 0), t(18, 0)).unwrap()).collect(), 10)
            .unwrap();
    store.set_hours(tenant.id, office.id, &hours).await.unwrap();
    let service = store
        .create_service(
            tenant.id,
            &NewService {
                office_id: office.id,
                name: "Carta d'identità".into(),
                description: String::new(),
                rules: ServiceRules::new(20, 0, vec![Mode::Video, Mode::InPerson], 0, 400).unwrap(),
                what_to_bring: String::new(),
                questions: vec![],
                active: true,
            },
        )
        .await
        .unwrap();

    // A busy day a week ahead (a weekday): `appointments` bookings, ten at a time from 8:00.
    let zone = TimeZone::get("Europe/Rome").unwrap();
    let mut day: Date = Timestamp::now().to_zoned(zone.clone()).date().checked_add(jiff::Span::new().days(7)).unwrap();
    while !weekdays.contains(&day.weekday()) {
        day = day.tomorrow().unwrap();
    }
    let seeded = Instant::now();
    for i in 0..o.appointments {
        let start = day.to_datetime(t(8, 0)).to_zoned(zone.clone()).unwrap().timestamp()
            + SignedDuration::from_mins(20 * i64::try_from(i / 10).unwrap());
        let new = NewAppointment {
            tenant_id: tenant.id,
            office_id: office.id,
            service_id: service.id,
            desks: 10,
            public_id: format!("bench-{i}-{}", rand::random::<u32>()),
            token_hash: format!("hash-{i}-{}", rand::random::<u64>()),
            start,
            end: start + SignedDuration::from_mins(20),
            occupied_until: start + SignedDuration::from_mins(20),
            mode: if i % 2 == 0 { Mode::Video } else { Mode::InPerson },
            citizen_name: format!("Cittadina {i}"),
            citizen_email: format!("c{i}@example.it"),
            citizen_phone: Some("+39 055 000000".into()),
            fiscal_code: None,
            notes: Some("Porto i documenti richiesti".into()),
            answers: serde_json::json!({}),
            lang: Lang::It,
            booked_via: ricevo_core::report::BookedVia::Page,
            now: Timestamp::now(),
            outbox: Vec::new(),
            idempotency: None,
            citizen_keys: Vec::new(),
            quota: None,
            telegram_chat_id: None,
            verified_identity: None,
        };
        assert!(matches!(store.book(&new).await.unwrap(), BookOutcome::Booked(_)), "appointment {i} not booked");
    }
    let second = store.create_tenant(&second_town()).await.unwrap();
    let two_years_ago = Timestamp::now() - SignedDuration::from_hours(24 * 730);
    raw.pour_audit(tenant.id.0, two_years_ago, o.audit_entries).await;
    raw.pour_audit(second.id.0, two_years_ago, o.audit_entries / 10).await;
    eprintln!(
        "seeded {} appointments and {} + {} audit entries on {engine} in {:.1} s",
        o.appointments,
        o.audit_entries,
        o.audit_entries / 10,
        seeded.elapsed().as_secs_f64()
    );
    drop(store);

    let password = add_admin(&o.server, &url, dir.path());
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
    let cookie = sign_in(&http, &base, &password).await;

    // A cursor in the middle of the log: the page after entry i = n/2.
    let n = i64::try_from(o.audit_entries).unwrap();
    let middle = two_years_ago + SignedDuration::from_secs(n / 2 * spacing_secs(n));
    let a_day_last_year = (Timestamp::now() - SignedDuration::from_hours(24 * 365)).to_zoned(zone.clone()).date();
    let pages = [
        ("day view, 200 appointments", format!("/bench/staff?date={day}&office={}", office.id.0)),
        ("audit log, newest 50", "/bench/staff/audit".to_owned()),
        ("audit log, one act", "/bench/staff/audit?act=appointment.cancel".to_owned()),
        ("audit log, one author", "/bench/staff/audit?who=staff%3A3".to_owned()),
        ("audit log, failed sign-ins", "/bench/staff/audit?who=anonymous".to_owned()),
        ("audit log, one day a year ago", format!("/bench/staff/audit?from={a_day_last_year}&to={a_day_last_year}")),
        ("audit log, page in the middle", format!("/bench/staff/audit?before={}-{}", middle.as_second(), u64::MAX / 4)),
    ];
    println!("engine: {engine}; {} requests per page after 3 warm-up requests", o.requests);
    println!("| page | rows | median ms | p95 ms | max ms |");
    println!("|---|---:|---:|---:|---:|");
    for (name, path) in pages {
        let url = format!("{base}{path}");
        let mut rows = 0;
        for _ in 0..3 {
            let body = get(&http, &url, &cookie).await;
            rows = body.matches("<tr").count().saturating_sub(1);
        }
        assert!(rows > 0, "{name}: the page shows nothing ({url})");
        let mut ms = Vec::with_capacity(o.requests);
        for _ in 0..o.requests {
            let started = Instant::now();
            get(&http, &url, &cookie).await;
            ms.push(started.elapsed().as_secs_f64() * 1000.0);
        }
        ms.sort_by(f64::total_cmp);
        println!(
            "| {name} | {rows} | {:.1} | {:.1} | {:.1} |",
            crate::quantile(&ms, 0.5),
            crate::quantile(&ms, 0.95),
            ms[ms.len() - 1]
        );
    }
    drop(_server);
    drop(raw);
    scratch.remove().await;
}

fn second_town() -> ricevo_store::NewTenant {
    ricevo_store::NewTenant {
        slug: "altro".into(),
        name: "Comune Altro".into(),
        time_zone: "Europe/Rome".into(),
        patron_day: None,
        contact_email: "urp@altro.it".into(),
        privacy_notice: "x".into(),
        retention_days: 365,
    }
}

// The town's administrator, created by the command line as an IT office would; returns the
// generated password it prints.
pub(crate) fn add_admin(server: &str, url: &str, data: &std::path::Path) -> String {
    let out = Command::new(server)
        .args(["user", "add", "--tenant", "bench", "--email", "admin@bench.it", "--name", "Admin", "--role", "admin"])
        .env("RICEVO_DATABASE_URL", url)
        .env("RICEVO_DATA_DIR", data)
        .env("RICEVO_LOG", "warn")
        .output()
        .unwrap();
    assert!(out.status.success(), "user add failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().lines().last().unwrap().to_owned()
}

async fn get(http: &reqwest::Client, url: &str, cookie: &str) -> String {
    let resp = http.get(url).header("cookie", cookie).send().await.unwrap();
    assert_eq!(resp.status(), reqwest::StatusCode::OK, "{url}");
    resp.text().await.unwrap()
}

fn set_cookie(resp: &reqwest::Response, name: &str) -> String {
    resp.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with(&format!("{name}=")))
        .and_then(|c| c.split(';').next())
        .unwrap_or_else(|| panic!("no {name} cookie"))
        .to_owned()
}

pub(crate) async fn sign_in(http: &reqwest::Client, base: &str, password: &str) -> String {
    let page = http.get(format!("{base}/bench/staff/login")).send().await.unwrap();
    let login_cookie = set_cookie(&page, "ricevo_login_csrf");
    let body = page.text().await.unwrap();
    let at = body.find("name=\"login_csrf\" value=\"").unwrap() + 25;
    let csrf = &body[at..at + body[at..].find('"').unwrap()];
    let form = [("login_csrf", csrf), ("email", "admin@bench.it"), ("password", password)];
    let resp = http
        .post(format!("{base}/bench/staff/login"))
        .header("cookie", login_cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(
            form.iter()
                .map(|(k, v)| format!("{k}={}", v.replace('%', "%25").replace('+', "%2B").replace('&', "%26")))
                .collect::<Vec<_>>()
                .join("&"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), reqwest::StatusCode::SEE_OTHER, "sign-in failed");
    set_cookie(&resp, "ricevo_session")
}
