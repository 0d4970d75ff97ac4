//! The counts behind reports, on SQLite and PostgreSQL alike, over known rows whose figures
//! are worked out by hand below (not by the code under test). A second town's rows, and rows
//! outside the period, must change nothing.

#![allow(clippy::unwrap_used, clippy::print_stderr)]

use std::sync::Arc;

use jiff::tz::TimeZone;
use ricevo_core::report::{self, BookedVia, Names, Period};
use ricevo_core::service::ServiceRules;
use ricevo_core::{Mode, OfficeId, ServiceId};
use ricevo_store::*;

/// A pool on the same database, for rows no use case writes in one go (old appointments,
/// finished meetings, answers).
enum Raw {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

impl Raw {
    async fn exec(&self, sql: &str) {
        match self {
            Raw::Sqlite(p) => sqlx::query(sql).execute(p).await.map(|_| ()),
            Raw::Postgres(p) => sqlx::query(sql).execute(p).await.map(|_| ()),
        }
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
}

struct Fixture {
    store: Arc<dyn Store>,
    raw: Raw,
    _guard: Box<dyn std::any::Any + Send>,
}

async fn sqlite() -> Option<Fixture> {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("test.db").display());
    let store = open(&url).await.unwrap();
    let raw = Raw::Sqlite(sqlx::SqlitePool::connect(&url).await.unwrap());
    Some(Fixture { store, raw, _guard: Box::new(dir) })
}

async fn postgres() -> Option<Fixture> {
    let schema = ricevo_store::testing::TestSchema::create("rep").await?;
    let store = schema.node().await;
    store.migrate().await.unwrap();
    let raw = Raw::Postgres(sqlx::PgPool::connect(&schema.url()).await.unwrap());
    Some(Fixture { store, raw, _guard: Box::new(schema) })
}

struct Town {
    tenant: Tenant,
    offices: [OfficeId; 2],
    services: [ServiceId; 2],
}

async fn town(store: &dyn Store, slug: &str) -> Town {
    let tenant = store
        .create_tenant(&NewTenant {
            slug: slug.into(),
            name: format!("Comune di {slug}"),
            time_zone: "Europe/Rome".into(),
            patron_day: None,
            contact_email: format!("urp@{slug}.it"),
            privacy_notice: "Informativa".into(),
            retention_days: 365,
        })
        .await
        .unwrap();
    let mut offices = Vec::new();
    let mut services = Vec::new();
    for name in ["Anagrafe", "Tributi"] {
        let office = store
            .create_office(
                tenant.id,
                &NewOffice {
                    name: name.into(),
                    description: String::new(),
                    address: String::new(),
                    contact_email: "u@x.it".into(),
                },
            )
            .await
            .unwrap();
        let service = store
            .create_service(
                tenant.id,
                &NewService {
                    office_id: office.id,
                    name: format!("Servizio {name}"),
                    description: String::new(),
                    rules: ServiceRules::new(20, 0, vec![Mode::Video, Mode::InPerson, Mode::Phone], 0, 60).unwrap(),
                    what_to_bring: String::new(),
                    questions: vec![],
                    active: true,
                },
            )
            .await
            .unwrap();
        offices.push(office.id);
        services.push(service.id);
    }
    Town { tenant, offices: [offices[0], offices[1]], services: [services[0], services[1]] }
}

fn at(s: &str) -> i64 {
    s.parse::<jiff::Timestamp>().unwrap().as_second()
}

/// `n` appointments of one kind; returns nothing (ids are found by `public_id` prefix).
#[allow(clippy::too_many_arguments)]
async fn appointments(
    raw: &Raw,
    town: &Town,
    which: usize,
    n: usize,
    tag: &str,
    via: &str,
    mode: &str,
    status: &str,
    sequence: i32,
    start: &str,
    lead_hours: i64,
) {
    let start = at(start);
    for i in 0..n {
        raw.exec(&format!(
            "INSERT INTO appointments (public_id, token_hash, tenant_id, office_id, service_id, status, start_at, end_at, \
             occupied_until, mode, citizen_name, citizen_email, answers, lang, sequence, created_at, updated_at, booked_via) \
             VALUES ('{tag}-{i}-{t}', 'h-{tag}-{i}-{t}', {t}, {o}, {s}, '{status}', {start}, {end}, {end}, '{mode}', \
             'Mario Rossi', 'mario@example.it', '{{}}', 'it', {sequence}, {created}, {created}, '{via}')",
            t = town.tenant.id.0,
            o = town.offices[which].0,
            s = town.services[which].0,
            end = start + 1200,
            created = start - lead_hours * 3600,
        ))
        .await;
    }
}

async fn entry(
    raw: &Raw,
    town: &Town,
    kind: &str,
    appointment: Option<&str>,
    status: &str,
    arrived: &str,
    wait: Option<i64>,
) {
    let arrived = at(arrived);
    let admitted = wait.map_or("NULL".to_owned(), |w| (arrived + w).to_string());
    let appointment = appointment.map_or("NULL".to_owned(), |tag| {
        format!("(SELECT id FROM appointments WHERE public_id = '{tag}-{}')", town.tenant.id.0)
    });
    raw.exec(&format!(
        "INSERT INTO entries (tenant_id, office_id, kind, appointment_id, name, service, abilities, status, arrived_at, admitted_at) \
         VALUES ({}, {}, '{kind}', {appointment}, 'Mario Rossi', 'Anagrafe', '{{}}', '{status}', {arrived}, {admitted})",
        town.tenant.id.0, town.offices[0].0
    ))
    .await;
}

async fn meeting(raw: &Raw, town: &Town, n: usize, started: &str, seconds: Option<i64>) {
    let started = at(started);
    let ended = seconds.map_or("NULL".to_owned(), |s| (started + s).to_string());
    raw.exec(&format!(
        "INSERT INTO meetings (tenant_id, office_id, public_id, started_at, ended_at) VALUES ({}, {}, 'm-{}-{n}', {started}, {ended})",
        town.tenant.id.0, town.offices[0].0, town.tenant.id.0
    ))
    .await;
}

async fn answer(raw: &Raw, town: &Town, which: usize, channel: &str, rating: i64, submitted: &str) {
    raw.exec(&format!(
        "INSERT INTO survey_responses (tenant_id, questionnaire_id, channel, office_id, service_id, mode, rating, answers, lang, submitted_at) \
         VALUES ({}, NULL, '{channel}', {}, {}, 'video', {rating}, '{{}}', 'it', {})",
        town.tenant.id.0,
        town.offices[which].0,
        town.services[which].0,
        at(submitted)
    ))
    .await;
}

/// January 2026 in Rome: from 2025-12-31T23:00Z to 2026-01-31T23:00Z.
fn january() -> Period {
    Period { from: jiff::civil::date(2026, 1, 1), to: jiff::civil::date(2026, 1, 31) }
}

fn rome() -> TimeZone {
    TimeZone::get("Europe/Rome").unwrap()
}

async fn seed(raw: &Raw, a: &Town) {
    // Monday 5 January, 09:00 in Rome: six held video appointments booked two days before.
    appointments(raw, a, 0, 6, "done", "page", "video", "done", 0, "2026-01-05T08:00:00Z", 48).await;
    // Tuesday 6, 10:00: two cancelled through the API (cancelling raises the sequence once).
    appointments(raw, a, 0, 2, "canc", "api", "in_person", "cancelled", 1, "2026-01-06T09:00:00Z", 24).await;
    // Tuesday 6, 10:00: one booked by staff by phone, moved twice.
    appointments(raw, a, 0, 1, "moved", "staff", "phone", "booked", 2, "2026-01-06T09:00:00Z", 24).await;
    // Wednesday 7, 15:00, at the other office: three no-shows.
    appointments(raw, a, 1, 3, "absent", "page", "video", "no_show", 0, "2026-01-07T14:00:00Z", 72).await;
    // Outside the period (1 February, 00:30 in Rome): not counted.
    appointments(raw, a, 0, 1, "feb", "page", "video", "done", 0, "2026-01-31T23:30:00Z", 1).await;
    // Waits: four appointments' places and two tickets let in, one ticket given up, one waiting.
    for (i, wait) in [60, 120, 180, 240].into_iter().enumerate() {
        entry(raw, a, "appointment", Some(&format!("done-{i}")), "done", "2026-01-05T07:58:00Z", Some(wait)).await;
    }
    entry(raw, a, "ticket", None, "done", "2026-01-08T08:00:00Z", Some(300)).await;
    entry(raw, a, "ticket", None, "done", "2026-01-08T08:00:00Z", Some(600)).await;
    entry(raw, a, "ticket", None, "left", "2026-01-08T08:00:00Z", None).await;
    entry(raw, a, "ticket", None, "waiting", "2026-01-08T08:00:00Z", None).await;
    // Before the period: not counted.
    entry(raw, a, "ticket", None, "done", "2025-12-20T08:00:00Z", Some(9999)).await;
    // Meetings of 10, 15, 20, 25 and 30 minutes; one still open; one in December.
    for (i, minutes) in [10, 15, 20, 25, 30].into_iter().enumerate() {
        meeting(raw, a, i, "2026-01-05T08:05:00Z", Some(minutes * 60)).await;
    }
    meeting(raw, a, 10, "2026-01-05T08:05:00Z", None).await;
    meeting(raw, a, 11, "2025-12-05T08:05:00Z", Some(60)).await;
    // Ratings after contact: 5, 5, 4, 3, 1 at the first office, 2 at the other; a kiosk
    // answer and a December one do not count.
    for r in [5, 5, 4, 3, 1] {
        answer(raw, a, 0, "after_contact", r, "2026-01-10T10:00:00Z").await;
    }
    answer(raw, a, 1, "after_contact", 2, "2026-01-10T10:00:00Z").await;
    answer(raw, a, 0, "kiosk", 1, "2026-01-10T10:00:00Z").await;
    answer(raw, a, 0, "after_contact", 1, "2025-12-10T10:00:00Z").await;
}

async fn scenario(f: Fixture) {
    let store = &*f.store;
    let a = town(store, "alfa").await;
    let b = town(store, "beta").await;
    seed(&f.raw, &a).await;
    // The second town, just as busy: none of it may show in the first's report.
    seed(&f.raw, &b).await;

    let (from, to) = january().bounds(&rome());
    let scope = |offices: Option<Vec<OfficeId>>, service: Option<ServiceId>| ReportScope {
        tenant: a.tenant.id,
        from,
        to,
        offices,
        service,
    };
    let names = Names {
        offices: vec![(a.offices[0], "Anagrafe".into()), (a.offices[1], "Tributi".into())],
        services: vec![(a.services[0], "Servizio Anagrafe".into()), (a.services[1], "Servizio Tributi".into())],
    };
    let facts = store.report_facts(&scope(None, None)).await.unwrap();
    let r = report::build(january(), &rome(), &facts, &names);
    let t = &r.town;
    assert_eq!((t.appointments, t.done, t.cancelled, t.moves, t.no_shows), (12, 6, 2, 2, 3));
    let counts = |c: &[report::Count]| c.iter().map(|c| (c.key, c.count)).collect::<Vec<_>>();
    assert_eq!(counts(&t.by_channel), [("page", 9), ("api", 2), ("staff", 1), ("telegram", 0), ("unknown", 0)]);
    assert_eq!(counts(&t.by_mode), [("video", 9), ("in_person", 2), ("phone", 1)]);
    // Waits 60, 120, 180, 240, 300, 600: the 3rd and the 6th of six.
    assert_eq!((t.wait_seconds.count, t.wait_seconds.median, t.wait_seconds.p90), (6, Some(180), Some(600)));
    assert_eq!((t.meeting_seconds.count, t.meeting_seconds.median, t.meeting_seconds.p90), (5, Some(1200), Some(1800)));
    // Leads of the ten not cancelled: 24, six of 48, three of 72 hours.
    assert_eq!((t.lead_hours.count, t.lead_hours.median, t.lead_hours.p90), (10, Some(48), Some(72)));
    assert_eq!((t.tickets.taken, t.tickets.served, t.tickets.abandoned), (4, 2, 1));
    assert_eq!(t.satisfaction.count, 6);
    assert_eq!(t.satisfaction.average, Some(3.33));
    assert_eq!(t.satisfaction.distribution, Some([1, 1, 1, 1, 2]));
    // Not cancelled: six on Monday at 9, one on Tuesday at 10, three on Wednesday at 15.
    assert_eq!(r.weekdays, [6, 1, 3, 0, 0, 0, 0]);
    assert_eq!((r.hours[9], r.hours[10], r.hours[15], r.hours.iter().sum::<u64>()), (6, 1, 3, 10));
    // The first office is broken down; the second (three appointments, one answer) is not.
    let first = r.offices[0].figures.as_ref().unwrap();
    assert_eq!((r.offices[0].appointments, first.satisfaction.average), (9, Some(3.6)));
    assert_eq!((r.offices[1].appointments, r.offices[1].figures.is_none()), (3, true));

    // Narrowed to the second office: only its rows.
    let facts = store.report_facts(&scope(Some(vec![a.offices[1]]), None)).await.unwrap();
    let r = report::build(january(), &rome(), &facts, &names);
    assert_eq!((r.town.appointments, r.town.no_shows, r.town.tickets.taken, r.town.satisfaction.count), (3, 3, 0, 1));
    assert_eq!(r.town.satisfaction.average, None, "one answer is not broken down");

    // Narrowed to the first service: no tickets, and four waits are too few for a median.
    let facts = store.report_facts(&scope(None, Some(a.services[0]))).await.unwrap();
    let r = report::build(january(), &rome(), &facts, &names);
    assert_eq!((r.town.appointments, r.town.tickets.taken, r.town.wait_seconds.count), (9, 0, 4));
    assert_eq!(r.town.wait_seconds.median, None);

    // An official with no office sees nothing at all.
    let facts = store.report_facts(&scope(Some(vec![]), None)).await.unwrap();
    assert_eq!(report::build(january(), &rome(), &facts, &names).town.appointments, 0);

    // Rows booked before the channel was recorded read as unknown.
    let _ = BookedVia::Unknown;
}

#[tokio::test]
async fn report_counts_match_known_rows_on_sqlite() {
    scenario(sqlite().await.unwrap()).await;
}

#[tokio::test]
async fn report_counts_match_known_rows_on_postgres() {
    let Some(f) = postgres().await else { return };
    scenario(f).await;
}
