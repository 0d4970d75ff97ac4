//! What the desk's tests share: a store on each engine (SQLite in a temporary folder, and
//! PostgreSQL in a schema of its own, required under `CI=true`), desks with a clock standing
//! still or moved by the test, a town made by the desk as the command line makes one, and a
//! town ready to book with one office and one service.

#![allow(clippy::unwrap_used, clippy::needless_pass_by_value, dead_code, unreachable_pub)]

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use jiff::Timestamp;
use jiff::civil::{Time, Weekday};
use ricevo_core::Email;
use ricevo_core::hours::{OpeningHours, WeeklyRange};
use ricevo_core::service::ServiceRules;
use ricevo_core::{Lang, Mode};
use ricevo_desk::staff::town_administrator;
use ricevo_desk::{Desk, DeskError, DeskSettings};
use ricevo_store::testing::TestSchema;
use ricevo_store::{Grant, NewOffice, NewService, NewTenant, Office, Service, Store, Tenant};

/// A migrated store on one engine, kept alive as long as this is.
pub struct Engine {
    /// `sqlite` or `postgres`.
    pub name: &'static str,
    /// The store.
    pub store: Arc<dyn Store>,
    _dir: Option<tempfile::TempDir>,
    _schema: Option<TestSchema>,
}

/// A fresh store on SQLite, and one on PostgreSQL when a server is reachable (always under
/// `CI=true`, where a missing server fails the test).
pub async fn engines() -> Vec<Engine> {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = ricevo_store::open(&format!("sqlite://{}", dir.path().join("desk.db").display())).await.unwrap();
    sqlite.migrate().await.unwrap();
    let mut all = vec![Engine { name: "sqlite", store: sqlite, _dir: Some(dir), _schema: None }];
    if let Some(schema) = TestSchema::create("desk").await {
        let pg = schema.node().await;
        pg.migrate().await.unwrap();
        all.push(Engine { name: "postgres", store: pg, _dir: None, _schema: Some(schema) });
    }
    all
}

/// What a test town `slug` is made of: Rome's zone, no patron day, a year's retention.
pub fn new_tenant(slug: &str) -> NewTenant {
    NewTenant {
        slug: slug.into(),
        name: format!("Comune di {slug}"),
        time_zone: "Europe/Rome".into(),
        patron_day: None,
        contact_email: format!("urp@{slug}.example"),
        privacy_notice: "Informativa".into(),
        retention_days: 365,
    }
}

/// A clock the test moves.
#[derive(Clone)]
pub struct TestClock(Arc<AtomicI64>);

impl TestClock {
    /// Moves to an RFC 3339 instant.
    pub fn set(&self, to: &str) {
        self.0.store(to.parse::<Timestamp>().unwrap().as_second(), Ordering::SeqCst);
    }
}

/// A desk on `store` whose clock starts at `now` (RFC 3339).
pub fn desk_at(store: &Arc<dyn Store>, settings: DeskSettings, now: &str) -> (Desk, TestClock) {
    let clock = TestClock(Arc::new(AtomicI64::new(now.parse::<Timestamp>().unwrap().as_second())));
    let read = clock.0.clone();
    let desk = Desk::with_clock(
        store.clone(),
        settings,
        Arc::new(move || Timestamp::from_second(read.load(Ordering::SeqCst)).unwrap()),
    );
    (desk, clock)
}

/// A town with what a test books: one office open Monday to Friday 9:00-12:30 with `desks`
/// desks, and one 30-minute service (video or in person, two hours' notice, 60 days ahead).
pub struct Town {
    pub tenant: Tenant,
    pub office: Office,
    pub service: Service,
}

/// Creates the town `slug` with its office and service.
pub async fn town(store: &dyn Store, slug: &str, desks: u16) -> Town {
    let tenant = store.create_tenant(&new_tenant(slug)).await.unwrap();
    let office = store
        .create_office(
            tenant.id,
            &NewOffice {
                name: "Anagrafe".into(),
                description: "Servizi demografici".into(),
                address: "Piazza del Municipio 1".into(),
                contact_email: format!("anagrafe@{slug}.example"),
            },
        )
        .await
        .unwrap();
    let t = |h: i8, m: i8| Time::new(h, m, 0, 0).unwrap();
    let days = [Weekday::Monday, Weekday::Tuesday, Weekday::Wednesday, Weekday::Thursday, Weekday::Friday];
    let ranges = days.iter().map(|d| WeeklyRange::new(*d, t(9, 0), t(12, 30)).unwrap()).collect();
    store.set_hours(tenant.id, office.id, &OpeningHours::new(ranges, desks).unwrap()).await.unwrap();
    let service = store
        .create_service(
            tenant.id,
            &NewService {
                office_id: office.id,
                name: "Carta d'identità".into(),
                description: "Rilascio della CIE".into(),
                rules: ServiceRules::new(30, 0, vec![Mode::Video, Mode::InPerson], 2, 60).unwrap(),
                what_to_bring: "Una fototessera".into(),
                questions: Vec::new(),
                active: true,
            },
        )
        .await
        .unwrap();
    Town { tenant, office, service }
}

/// What a citizen types to book, with privacy accepted.
pub fn citizen(name: &str, email: &str) -> ricevo_core::citizen::BookingInput {
    ricevo_core::citizen::BookingInput {
        name: name.into(),
        email: email.into(),
        phone: None,
        fiscal_code: None,
        mode: "video".into(),
        notes: None,
        answers: Default::default(),
        privacy_accepted: true,
        lang: Lang::It,
    }
}

/// Monday 7 December 2026, 08:00 in Rome: the tests' "now".
pub fn now() -> Timestamp {
    "2026-12-07T07:00:00Z".parse().unwrap()
}

/// A desk on `store` whose clock stands at [`now`].
pub fn desk(store: &Arc<dyn Store>, settings: DeskSettings) -> Desk {
    Desk::with_clock(store.clone(), settings, Arc::new(now))
}

/// A new town `slug` with its first administrator, created by the desk; the administrator's
/// authority with it.
pub async fn new_town(desk: &Desk, slug: &str) -> (Tenant, Grant) {
    let new = new_tenant(slug);
    let admin = Email::parse(&format!("admin@{slug}.example")).unwrap();
    let (tenant, password) = desk.create_town(&new, &admin).await.unwrap();
    let user = desk.store().user_by_email(tenant.id, admin.as_str()).await.unwrap().unwrap();
    assert!(ricevo_desk::staff::verify_password(&password, &user.password_hash), "the first password opens it");
    let grant = town_administrator(tenant.id);
    (tenant, grant)
}

/// Whether the desk refused for lack of rights.
pub fn forbidden<T>(r: Result<T, DeskError>) -> bool {
    matches!(r, Err(DeskError::Forbidden))
}

/// Whether the desk found no such thing (in this town).
pub fn not_found<T>(r: Result<T, DeskError>) -> bool {
    matches!(r, Err(DeskError::NotFound))
}
