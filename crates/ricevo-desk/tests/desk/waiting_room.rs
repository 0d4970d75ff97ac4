//! The waiting room, the walk-in desk and meetings, run against the desk directly (no HTTP) on
//! SQLite and PostgreSQL alike.
//!
//! PostgreSQL is reached at `RICEVO_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`); each test gets its own schema and drops it.
//! Without a server the PostgreSQL cases are skipped, except under `CI=true`, where they fail.

#![allow(clippy::unwrap_used, clippy::print_stderr)]

use ricevo_core::audit::{Act, Actor, Subject};
use std::collections::HashSet;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use jiff::{SignedDuration, Timestamp};
use ricevo_core::hours::{OpeningHours, WeeklyRange};
use ricevo_core::lobby::{Abilities, Entry, EntryKind, EntryStatus, WalkInDesk};
use ricevo_core::service::ServiceRules;
use ricevo_core::{EntryId, Lang, MeetingId, Mode, OfficeId};
use ricevo_desk::meetings::Moderation;
use ricevo_desk::waiting_room::{Closed, Link, office_message};
use ricevo_desk::{Desk, DeskError, DeskSettings, Live, tokens};
use ricevo_store::{
    Appointment, AppointmentStatus, BookOutcome, Grant, NewAppointment, NewOffice, NewService, NewTenant, Office, Role,
    Store, Tenant,
};

use crate::support;

use support::engines;

// Monday 23 November 2026, 09:00 in Rome.
const NOW: &str = "2026-11-23T08:00:00Z";

/// This node's live side as a test sees it: who is connected, and every call in order.
#[derive(Debug, Default)]
struct Recorder {
    connected: Mutex<HashSet<EntryId>>,
    calls: Mutex<Vec<String>>,
}

impl Recorder {
    fn connect(&self, e: EntryId) {
        self.connected.lock().unwrap().insert(e);
    }
    fn heard(&self, call: &str) -> bool {
        self.calls.lock().unwrap().iter().any(|c| c == call)
    }
    fn forget(&self) {
        self.calls.lock().unwrap().clear();
    }
    fn note(&self, call: String) {
        self.calls.lock().unwrap().push(call);
    }
}

impl Live for Recorder {
    fn is_connected(&self, entry: EntryId) -> bool {
        self.connected.lock().unwrap().contains(&entry)
    }
    fn entry_changed(&self, entry: EntryId) {
        self.note(format!("entry:{}", entry.0));
    }
    fn office_changed(&self, office: OfficeId) {
        self.note(format!("office:{}", office.0));
    }
    fn left_media(&self, entry: EntryId) {
        self.note(format!("left_media:{}", entry.0));
    }
    fn meeting_ended(&self, meeting: MeetingId) {
        self.note(format!("meeting_ended:{}", meeting.0));
    }
}

/// A desk on `store` with a clock the test moves and a recording live side.
struct Front {
    desk: Desk,
    store: Arc<dyn Store>,
    clock: Arc<AtomicI64>,
    live: Arc<Recorder>,
}

impl Front {
    fn new(store: Arc<dyn Store>, settings: DeskSettings) -> Front {
        let clock = Arc::new(AtomicI64::new(at(NOW).as_second()));
        let read = clock.clone();
        let live = Arc::new(Recorder::default());
        let desk = Desk::with_clock(
            store.clone(),
            settings,
            Arc::new(move || Timestamp::from_second(read.load(Ordering::SeqCst)).unwrap()),
        )
        .with_live(live.clone());
        Front { desk, store, clock, live }
    }

    fn set_now(&self, when: &str) {
        self.clock.store(at(when).as_second(), Ordering::SeqCst);
    }
}

fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

/// A town with two offices (Anagrafe with a video service, Tributi) open on Mondays 9–12.
struct Town {
    tenant: Tenant,
    anagrafe: Office,
    tributi: Office,
    service: ricevo_core::ServiceId,
}

async fn town(store: &dyn Store, slug: &str) -> Town {
    let tenant = store
        .create_tenant(&NewTenant {
            slug: slug.into(),
            name: format!("Comune di {slug}"),
            time_zone: "Europe/Rome".into(),
            patron_day: Some("06-24".into()),
            contact_email: format!("urp@{slug}.it"),
            privacy_notice: "Informativa".into(),
            retention_days: 365,
        })
        .await
        .unwrap();
    let mut offices = Vec::new();
    for name in ["Anagrafe", "Tributi"] {
        let o = store
            .create_office(
                tenant.id,
                &NewOffice {
                    name: name.into(),
                    description: String::new(),
                    address: "Piazza del Comune 1".into(),
                    contact_email: format!("{}@{slug}.it", name.to_lowercase()),
                },
            )
            .await
            .unwrap();
        let t = |h, m| jiff::civil::Time::new(h, m, 0, 0).unwrap();
        let hours =
            OpeningHours::new(vec![WeeklyRange::new(jiff::civil::Weekday::Monday, t(9, 0), t(12, 0)).unwrap()], 1)
                .unwrap();
        store.set_hours(tenant.id, o.id, &hours).await.unwrap();
        offices.push(store.office(tenant.id, o.id).await.unwrap().unwrap());
    }
    let tributi = offices.pop().unwrap();
    let anagrafe = offices.pop().unwrap();
    let service = store
        .create_service(
            tenant.id,
            &NewService {
                office_id: anagrafe.id,
                name: "Carta d'identità elettronica".into(),
                description: String::new(),
                rules: ServiceRules::new(20, 10, vec![Mode::Video, Mode::InPerson], 0, 60).unwrap(),
                what_to_bring: String::new(),
                questions: vec![],
                active: true,
            },
        )
        .await
        .unwrap();
    Town { tenant, anagrafe, tributi, service: service.id }
}

/// A video appointment at `start` (20 minutes) with its citizen's link token.
async fn appointment(store: &dyn Store, town: &Town, start: &str, n: u32) -> (Appointment, String) {
    let token = tokens::new_token();
    let start = at(start);
    let new = NewAppointment {
        desks: 10,
        public_id: tokens::new_public_id(),
        token_hash: tokens::hash(&token),
        occupied_until: start + SignedDuration::from_mins(30),
        citizen_name: format!("Cittadino {n}"),
        citizen_email: format!("c{n}@example.it"),
        now: at("2026-11-01T00:00:00Z"),
        ..ricevo_store::testing::appointment(town.tenant.id, town.anagrafe.id, town.service, start)
    };
    match store.book(&new).await.unwrap() {
        BookOutcome::Booked(a) => (*a, token),
        other => panic!("not booked: {other:?}"),
    }
}

fn operator(town: &Town, office: OfficeId) -> Grant {
    let actor = Actor::Staff { id: ricevo_core::UserId(41), name: "Operatrice <op@borgo.it>".into() };
    Grant { tenant_id: town.tenant.id, role: Role::Operator, offices: vec![office], actor }
}

fn admin(town: &Town) -> Grant {
    Grant { tenant_id: town.tenant.id, role: Role::Admin, offices: Vec::new(), actor: Actor::System }
}

/// A second town on the same store.
async fn town_two(f: &Front) -> Town {
    town(&*f.store, "altrove").await
}

/// A citizen of `town` arrived in the Anagrafe waiting room for an appointment at `start`.
async fn arrived(f: &Front, town: &Town, start: &str, n: u32) -> (Appointment, Entry) {
    let (a, _) = appointment(&*f.store, town, start, n).await;
    let e = f.desk.arrive(&town.tenant, &a).await.unwrap().unwrap();
    (a, e)
}

#[tokio::test]
async fn a_booked_citizen_arrives_only_within_the_join_window() {
    for engine in engines().await {
        eprintln!("engine: {}", engine.name);
        let f = Front::new(engine.store.clone(), DeskSettings::default());
        let town = town(&*f.store, "borgo").await;
        let (a, token) = appointment(&*f.store, &town, "2026-11-23T08:30:00Z", 1).await;

        // The link opens the appointment, but no place before arrival.
        assert!(matches!(f.desk.resolve(&token).await.unwrap(), Link::Appointment(_, ref x) if x.id == a.id));
        assert!(matches!(f.desk.open(&token).await, Err(DeskError::NotFound)));
        assert!(matches!(f.desk.resolve("not-a-token").await, Err(DeskError::NotFound)));

        // 30 minutes early: the room opens 15 minutes before the start.
        let early = f.desk.arrive(&town.tenant, &a).await.unwrap();
        assert_eq!(early.unwrap_err(), Closed::TooEarly(at("2026-11-23T08:15:00Z")));
        assert_eq!(
            f.desk.look_in(&town.tenant, &a).await.unwrap().unwrap_err(),
            Closed::TooEarly(at("2026-11-23T08:15:00Z"))
        );
        assert!(f.store.entry_for_appointment(town.tenant.id, a.id).await.unwrap().is_none(), "nothing recorded");

        // Inside the window: a place in the queue, and the office's dashboards hear it.
        f.set_now("2026-11-23T08:20:00Z");
        assert!(f.desk.look_in(&town.tenant, &a).await.unwrap().unwrap().is_none(), "looking records nothing");
        let e = f.desk.arrive(&town.tenant, &a).await.unwrap().unwrap();
        assert_eq!(e.status, EntryStatus::Waiting);
        assert_eq!(e.office_id, town.anagrafe.id);
        assert!(f.live.heard(&format!("office:{}", town.anagrafe.id.0)));
        let again = f.desk.arrive(&town.tenant, &a).await.unwrap().unwrap();
        assert_eq!(again.id, e.id, "arriving twice keeps the place");
        assert_eq!(f.desk.open(&token).await.unwrap().entry.id, e.id);
        let (position, _) = f.desk.estimate(&e).await.unwrap();
        assert_eq!(position, Some(0));

        // After the slot's end the room is closed to someone never admitted.
        let (late, _) = appointment(&*f.store, &town, "2026-11-23T08:40:00Z", 2).await;
        f.set_now("2026-11-23T09:05:00Z");
        assert_eq!(f.desk.arrive(&town.tenant, &late).await.unwrap().unwrap_err(), Closed::Over);
    }
}

#[tokio::test]
async fn officials_hold_admit_refuse_and_mark_not_present() {
    for engine in engines().await {
        eprintln!("engine: {}", engine.name);
        let f = Front::new(engine.store.clone(), DeskSettings::default());
        let town = town(&*f.store, "borgo").await;
        let grant = operator(&town, town.anagrafe.id);
        f.set_now("2026-11-23T08:25:00Z");
        let (_, first) = arrived(&f, &town, "2026-11-23T08:30:00Z", 1).await;
        let (_, second) = arrived(&f, &town, "2026-11-23T08:30:00Z", 2).await;
        let (third_a, third) = arrived(&f, &town, "2026-11-23T08:30:00Z", 3).await;

        // Hold with a message the person sees, then admit into a new meeting.
        let message = office_message(Some("  Un momento, arrivo.  "), Lang::It).unwrap();
        let held = f.desk.hold(f.desk.entry_for(&town.tenant, &grant, first.id).await.unwrap(), message).await.unwrap();
        assert_eq!(held.status, EntryStatus::Held);
        assert_eq!(held.message.as_deref(), Some("Un momento, arrivo."));
        assert!(f.live.heard(&format!("entry:{}", first.id.0)));
        let (admitted, meeting) =
            f.desk.admit(f.desk.entry_for(&town.tenant, &grant, first.id).await.unwrap()).await.unwrap();
        assert_eq!(admitted.status, EntryStatus::Admitted);
        assert_eq!(admitted.meeting_id, Some(meeting));
        assert!(f.desk.open_meeting_of(&admitted).await.unwrap().is_some());

        // Refuse, with a message; a refused person cannot be refused or admitted again.
        let refused = f
            .desk
            .refuse(f.desk.entry_for(&town.tenant, &grant, second.id).await.unwrap(), Some("Documenti mancanti".into()))
            .await
            .unwrap();
        assert_eq!(refused.status, EntryStatus::Refused);
        let again = f.desk.admit(f.desk.entry_for(&town.tenant, &grant, second.id).await.unwrap()).await;
        assert!(matches!(again, Err(DeskError::NotQueued)), "{again:?}");

        // Not present: the wait ends and the appointment becomes a no-show in the same write.
        let gone = f.desk.no_show(f.desk.entry_for(&town.tenant, &grant, third.id).await.unwrap()).await.unwrap();
        assert_eq!(gone.status, EntryStatus::NoShow);
        let a = f.store.appointment(town.tenant.id, third_a.id).await.unwrap().unwrap();
        assert_eq!(a.status, AppointmentStatus::NoShow);

        // A stale read loses to the change made meanwhile.
        let (_, fourth) = arrived(&f, &town, "2026-11-23T08:30:00Z", 4).await;
        let read_once = f.desk.entry_for(&town.tenant, &grant, fourth.id).await.unwrap();
        f.desk.hold(f.desk.entry_for(&town.tenant, &grant, fourth.id).await.unwrap(), None).await.unwrap();
        assert!(matches!(f.desk.hold(read_once, None).await, Err(DeskError::Conflict)));

        // An office's message is one line of at most 500 characters.
        assert!(matches!(office_message(Some("una\nriga"), Lang::It), Err(DeskError::Invalid(_))));
        assert!(matches!(office_message(Some(&"x".repeat(501)), Lang::En), Err(DeskError::Invalid(_))));
        assert_eq!(office_message(Some("   "), Lang::It).unwrap(), None);

        // The queue lists who waits first, then those admitted.
        let queue = f.desk.office_queue(&town.tenant, &grant, town.anagrafe.id).await.unwrap();
        assert_eq!(queue.first().map(|e| e.id), Some(fourth.id));
        assert!(queue.iter().any(|e| e.id == first.id));

        // Each act is in the town's audit log, by the operator, naming the citizen; only an
        // administrator of this town reads it.
        let log = f.desk.audit_log(&admin(&town), town.tenant.id, Default::default()).await.unwrap();
        let acts: Vec<_> = log.iter().rev().map(|e| (e.act, e.subject.clone(), e.citizen_name.clone())).collect();
        let named = |n: u32| Some(format!("Cittadino {n}"));
        assert_eq!(
            acts,
            [
                (Act::EntryHeld, Subject::Entry(first.id), named(1)),
                (Act::EntryAdmitted, Subject::Entry(first.id), named(1)),
                (Act::EntryRefused, Subject::Entry(second.id), named(2)),
                (Act::EntryNoShow, Subject::Entry(third.id), named(3)),
                (Act::EntryHeld, Subject::Entry(fourth.id), named(4)),
            ]
        );
        assert!(log.iter().all(|e| e.actor == grant.actor));
        assert!(matches!(
            f.desk.audit_log(&grant, town.tenant.id, Default::default()).await,
            Err(DeskError::Forbidden)
        ));
        let elsewhere = town_two(&f).await;
        assert!(matches!(
            f.desk.audit_log(&admin(&elsewhere), town.tenant.id, Default::default()).await,
            Err(DeskError::Forbidden)
        ));
        assert!(
            f.desk.audit_log(&admin(&elsewhere), elsewhere.tenant.id, Default::default()).await.unwrap().is_empty()
        );
    }
}

#[tokio::test]
async fn a_waiting_person_is_transferred_to_another_office_of_the_town_only() {
    for engine in engines().await {
        eprintln!("engine: {}", engine.name);
        let f = Front::new(engine.store.clone(), DeskSettings::default());
        let town = town(&*f.store, "borgo").await;
        let other = self::town(&*f.store, "altrove").await;
        let grant = admin(&town);
        f.set_now("2026-11-23T08:25:00Z");
        let (_, e) = arrived(&f, &town, "2026-11-23T08:30:00Z", 1).await;

        // Not to an office of another town, whatever its id.
        let refused =
            f.desk.transfer(f.desk.entry_for(&town.tenant, &grant, e.id).await.unwrap(), other.tributi.id).await;
        assert!(matches!(refused, Err(DeskError::NotFound)), "{refused:?}");

        f.live.forget();
        let moved = f
            .desk
            .transfer(f.desk.entry_for(&town.tenant, &grant, e.id).await.unwrap(), town.tributi.id)
            .await
            .unwrap();
        assert_eq!(moved.office_id, town.tributi.id);
        assert_eq!(moved.arrived_at, e.arrived_at, "they keep their arrival time");
        assert!(f.live.heard(&format!("office:{}", town.anagrafe.id.0)));
        assert!(f.live.heard(&format!("office:{}", town.tributi.id.0)));
        let tributi = f.desk.office_queue(&town.tenant, &grant, town.tributi.id).await.unwrap();
        assert_eq!(tributi.iter().map(|x| x.id).collect::<Vec<_>>(), vec![e.id]);
        assert!(f.desk.office_queue(&town.tenant, &grant, town.anagrafe.id).await.unwrap().is_empty());

        // An operator of Anagrafe no longer reaches them.
        let anagrafe_only = operator(&town, town.anagrafe.id);
        assert!(matches!(f.desk.entry_for(&town.tenant, &anagrafe_only, e.id).await, Err(DeskError::Forbidden)));
    }
}

#[tokio::test]
async fn call_next_prefers_a_page_that_is_open_then_the_line() {
    for engine in engines().await {
        eprintln!("engine: {}", engine.name);
        let f = Front::new(engine.store.clone(), DeskSettings::default());
        let town = town(&*f.store, "borgo").await;
        let grant = operator(&town, town.anagrafe.id);
        f.set_now("2026-11-23T08:25:00Z");
        let (_, first) = arrived(&f, &town, "2026-11-23T08:30:00Z", 1).await;
        f.set_now("2026-11-23T08:26:00Z");
        let (_, second) = arrived(&f, &town, "2026-11-23T08:30:00Z", 2).await;
        f.live.connect(second.id);

        let (called, meeting) = f.desk.call_next(&town.tenant, &grant, town.anagrafe.id).await.unwrap();
        assert_eq!(called.id, second.id, "the open page comes first");
        assert_eq!(called.meeting_id, Some(meeting));
        let (called, _) = f.desk.call_next(&town.tenant, &grant, town.anagrafe.id).await.unwrap();
        assert_eq!(called.id, first.id, "then whoever is next in line");
        let none = f.desk.call_next(&town.tenant, &grant, town.anagrafe.id).await;
        assert!(matches!(none, Err(DeskError::NobodyWaiting)), "{none:?}");

        // Only for an office the grant covers.
        let tributi_only = operator(&town, town.tributi.id);
        let refused = f.desk.call_next(&town.tenant, &tributi_only, town.anagrafe.id).await;
        assert!(matches!(refused, Err(DeskError::Forbidden)), "{refused:?}");
    }
}

#[tokio::test]
async fn walk_in_tickets_are_numbered_budgeted_and_only_taken_while_the_desk_is_open() {
    for engine in engines().await {
        eprintln!("engine: {}", engine.name);
        let settings = DeskSettings { tickets_per_hour_per_source: 2, ..DeskSettings::default() };
        let f = Front::new(engine.store.clone(), settings);
        let town = town(&*f.store, "borgo").await;

        // A closed desk (never set) takes no ticket.
        let closed = f.desk.take_ticket(&town.tenant, &town.anagrafe, "Mario Rossi", None, "10.0.0.1", Lang::It).await;
        assert!(matches!(closed, Err(DeskError::WalkInClosed)), "{closed:?}");
        assert!(!f.desk.walk_in_open(&town.tenant, &town.anagrafe).await.unwrap());

        // Only a manager of the office (or an administrator) opens it.
        let always = WalkInDesk { always_open: true, hours: OpeningHours::new(Vec::new(), 1).unwrap() };
        let by_operator =
            f.desk.set_walk_in(&town.tenant, &operator(&town, town.anagrafe.id), town.anagrafe.id, &always).await;
        assert!(matches!(by_operator, Err(DeskError::Forbidden)), "{by_operator:?}");
        let other_manager = Grant {
            tenant_id: town.tenant.id,
            role: Role::Manager,
            offices: vec![town.tributi.id],
            actor: Actor::System,
        };
        let by_other = f.desk.set_walk_in(&town.tenant, &other_manager, town.anagrafe.id, &always).await;
        assert!(matches!(by_other, Err(DeskError::Forbidden)), "{by_other:?}");
        let manager = Grant {
            tenant_id: town.tenant.id,
            role: Role::Manager,
            offices: vec![town.anagrafe.id],
            actor: Actor::System,
        };
        f.desk.set_walk_in(&town.tenant, &manager, town.anagrafe.id, &always).await.unwrap();
        assert!(f.desk.walk_in_open(&town.tenant, &town.anagrafe).await.unwrap());

        // Bad fields are refused before anything is counted.
        let bad =
            f.desk.take_ticket(&town.tenant, &town.anagrafe, "", Some("not-an-email"), "10.0.0.1", Lang::En).await;
        match bad {
            Err(DeskError::Fields(fields)) => assert_eq!(fields[0].field, "name"),
            other => panic!("{other:?}"),
        }

        // Numbered in order; the e-mail with the link goes out with the ticket.
        let (one, link) = f
            .desk
            .take_ticket(&town.tenant, &town.anagrafe, "Mario Rossi", Some("mario@example.it"), "10.0.0.1", Lang::It)
            .await
            .unwrap();
        assert_eq!(one.ticket_number, Some(1));
        assert_eq!(one.kind, EntryKind::Ticket);
        assert!(link.ends_with("/join"));
        let token = link.trim_end_matches("/join").rsplit('/').next().unwrap();
        assert_eq!(f.desk.open(token).await.unwrap().entry.id, one.id, "the link opens the ticket's place");
        let outbox = f.store.due_outbox(f.desk.now(), 100).await.unwrap();
        assert!(
            outbox.iter().any(|m| m.payload.contains("mario@example.it") && m.dedupe_key.contains(":1:email")),
            "{outbox:?}"
        );
        let (two, _) =
            f.desk.take_ticket(&town.tenant, &town.anagrafe, "Anna Bianchi", None, "10.0.0.1", Lang::It).await.unwrap();
        assert_eq!(two.ticket_number, Some(2));

        // The source's budget is spent; another source still takes the next number.
        let spent = f.desk.take_ticket(&town.tenant, &town.anagrafe, "Terzo Verdi", None, "10.0.0.1", Lang::It).await;
        assert!(matches!(spent, Err(DeskError::BudgetSpent { retry_after_seconds }) if retry_after_seconds > 0));
        let (three, _) =
            f.desk.take_ticket(&town.tenant, &town.anagrafe, "Terzo Verdi", None, "10.0.0.2", Lang::It).await.unwrap();
        assert_eq!(three.ticket_number, Some(3));

        // The tickets wait in the same queue as booked citizens.
        let queue = f.desk.office_queue(&town.tenant, &admin(&town), town.anagrafe.id).await.unwrap();
        assert_eq!(queue.iter().map(|e| e.id).collect::<Vec<_>>(), vec![one.id, two.id, three.id]);
    }
}

#[tokio::test]
async fn an_invitee_joins_the_meeting_and_ending_it_closes_it_for_everyone() {
    for engine in engines().await {
        eprintln!("engine: {}", engine.name);
        let f = Front::new(engine.store.clone(), DeskSettings::default());
        let town = town(&*f.store, "borgo").await;
        let grant = operator(&town, town.anagrafe.id);
        f.set_now("2026-11-23T08:25:00Z");
        let (a, citizen) = arrived(&f, &town, "2026-11-23T08:30:00Z", 1).await;
        let (_, meeting_id) =
            f.desk.admit(f.desk.entry_for(&town.tenant, &grant, citizen.id).await.unwrap()).await.unwrap();
        let meeting = f.desk.open_meeting_for(&town.tenant, &grant, meeting_id).await.unwrap();

        let (kind, abilities) = ricevo_desk::meetings::role_abilities("viewer").unwrap();
        let (guest, link) = f.desk.invite(&meeting, "Interprete".into(), kind, abilities, true).await.unwrap();
        assert_eq!(guest.kind, EntryKind::Invitee);
        assert_eq!(guest.meeting_id, Some(meeting_id));
        let token = link.trim_end_matches("/join").rsplit('/').next().unwrap();
        assert!(matches!(f.desk.resolve(token).await.unwrap(), Link::Entry(_, ref e) if e.id == guest.id));

        // The citizen's media join: decided before the media server answers, recorded after.
        let before = f.store.entry(town.tenant.id, citizen.id).await.unwrap().unwrap();
        let joined = f.desk.joining_media(&before).unwrap().unwrap();
        f.desk.record_joined(&before, &joined).await.unwrap();
        f.desk.record_joined(&before, &joined).await.unwrap();
        let in_meeting = f.store.entry(town.tenant.id, citizen.id).await.unwrap().unwrap();
        assert_eq!(in_meeting.status, EntryStatus::InMeeting, "a second connection's record is no error");
        assert!(f.desk.joining_media(&in_meeting).unwrap().is_none());

        // The official's own link, and their moderation from inside the meeting.
        let (official, _) = f
            .desk
            .invite(&meeting, "Operatore".into(), EntryKind::Official, Abilities::official(), true)
            .await
            .unwrap();
        let muted = f.desk.moderate(&official, citizen.id, Moderation::Mute).await.unwrap();
        assert!(muted.muted);
        let guest_now = f.store.entry(town.tenant.id, guest.id).await.unwrap().unwrap();
        let by_guest = f.desk.moderate(&guest_now, citizen.id, Moderation::Unmute).await;
        assert!(matches!(by_guest, Err(DeskError::Forbidden)), "a viewer does not moderate: {by_guest:?}");
        f.live.forget();
        let removed = f.desk.moderate(&official, citizen.id, Moderation::Remove).await.unwrap();
        assert_eq!(removed.status, EntryStatus::Removed);
        assert!(f.live.heard(&format!("left_media:{}", citizen.id.0)));
        assert!(f.live.heard(&format!("entry:{}", citizen.id.0)));
        let back = f.desk.readmit(&official, citizen.id).await.unwrap();
        assert_eq!(back.status, EntryStatus::Admitted);
        assert!(back.muted, "the mute outlives the re-admission");
        assert!(matches!(f.desk.readmit(&official, citizen.id).await, Err(DeskError::NotFound)));
        let removed_again = f.desk.moderate(&official, citizen.id, Moderation::Remove).await.unwrap();
        let late_join = f.desk.record_joined(&back, &Entry { status: EntryStatus::InMeeting, ..back.clone() }).await;
        assert!(matches!(late_join, Err(DeskError::Conflict)), "removed meanwhile: {late_join:?}");
        f.desk.readmit(&official, removed_again.id).await.unwrap();

        // Documents: shared by who may, typed by their bytes, read by the meeting's people.
        let citizen_link = ricevo_desk::waiting_room::Opened {
            tenant: town.tenant.clone(),
            entry: f.store.entry(town.tenant.id, citizen.id).await.unwrap().unwrap(),
        };
        let (_, doc) = f.desk.add_document(&citizen_link, "carta%20identit%C3%A0.pdf", b"%PDF-1.7\n").await.unwrap();
        assert_eq!(doc.name, "carta identità.pdf");
        let exe = f.desk.add_document(&citizen_link, "x.exe", b"MZ\x90\0\x03\0").await;
        assert!(matches!(exe, Err(DeskError::UnsupportedDocument)), "{exe:?}");
        let too_big = f.desk.may_upload(&citizen_link.entry, Some(100 * 1024 * 1024)).await;
        assert!(matches!(too_big, Err(DeskError::DocumentTooLarge(20))), "{too_big:?}");
        let guest_link = ricevo_desk::waiting_room::Opened { tenant: town.tenant.clone(), entry: guest_now };
        assert!(matches!(f.desk.may_upload(&guest_link.entry, None).await, Err(DeskError::Forbidden)));
        assert_eq!(f.desk.link_document(&guest_link, doc.id).await.unwrap().1, b"%PDF-1.7\n");

        // Ending: everyone's place done, the appointment done, media closed.
        f.live.forget();
        f.desk.end_meeting(&meeting).await.unwrap();
        assert!(f.live.heard(&format!("meeting_ended:{}", meeting_id.0)));
        for id in [citizen.id, guest.id, official.id] {
            assert!(f.live.heard(&format!("entry:{}", id.0)), "{id:?} hears the end");
            let e = f.store.entry(town.tenant.id, id).await.unwrap().unwrap();
            assert_eq!(e.status, EntryStatus::Done, "{id:?}");
        }
        assert_eq!(f.store.appointment(town.tenant.id, a.id).await.unwrap().unwrap().status, AppointmentStatus::Done);
        assert!(matches!(f.desk.open_meeting_for(&town.tenant, &grant, meeting_id).await, Err(DeskError::NotActive)));
        // The office keeps the documents after the meeting; a participant's link no longer reads them.
        let ended = f.desk.meeting_for(&town.tenant, &grant, meeting_id).await.unwrap();
        let late = f.desk.invite(&ended, "Ritardatario".into(), kind, abilities, false).await;
        assert!(matches!(late, Err(DeskError::NotActive)), "{late:?}");
        assert!(f.desk.meeting_document(&ended, doc.id).await.is_ok());
        let guest_link = ricevo_desk::waiting_room::Opened {
            tenant: town.tenant.clone(),
            entry: f.store.entry(town.tenant.id, guest.id).await.unwrap().unwrap(),
        };
        assert!(matches!(f.desk.link_document(&guest_link, doc.id).await, Err(DeskError::NotFound)));
    }
}

#[tokio::test]
async fn an_operator_acts_only_on_the_offices_of_their_grant() {
    for engine in engines().await {
        eprintln!("engine: {}", engine.name);
        let f = Front::new(engine.store.clone(), DeskSettings::default());
        let town = town(&*f.store, "borgo").await;
        f.set_now("2026-11-23T08:25:00Z");
        let (_, e) = arrived(&f, &town, "2026-11-23T08:30:00Z", 1).await;
        let (_, meeting) =
            f.desk.admit(f.desk.entry_for(&town.tenant, &admin(&town), e.id).await.unwrap()).await.unwrap();
        let (_, waiting) = arrived(&f, &town, "2026-11-23T08:30:00Z", 2).await;

        let tributi = operator(&town, town.tributi.id);
        assert!(matches!(f.desk.entry_for(&town.tenant, &tributi, waiting.id).await, Err(DeskError::Forbidden)));
        assert!(matches!(
            f.desk.office_queue(&town.tenant, &tributi, town.anagrafe.id).await,
            Err(DeskError::Forbidden)
        ));
        assert!(matches!(f.desk.meeting_for(&town.tenant, &tributi, meeting).await, Err(DeskError::Forbidden)));
        assert!(matches!(f.desk.entry_for(&town.tenant, &tributi, EntryId(999_999)).await, Err(DeskError::NotFound)));
        let still = f.store.entry(town.tenant.id, waiting.id).await.unwrap().unwrap();
        assert_eq!(still.status, EntryStatus::Waiting);
    }
}

#[tokio::test]
async fn an_official_of_another_town_cannot_reach_this_towns_places_or_meetings() {
    for engine in engines().await {
        eprintln!("engine: {}", engine.name);
        let f = Front::new(engine.store.clone(), DeskSettings::default());
        let a_town = town(&*f.store, "borgo").await;
        let b_town = town(&*f.store, "altrove").await;
        f.set_now("2026-11-23T08:25:00Z");
        let (_, admitted) = arrived(&f, &a_town, "2026-11-23T08:30:00Z", 1).await;
        let (_, meeting) =
            f.desk.admit(f.desk.entry_for(&a_town.tenant, &admin(&a_town), admitted.id).await.unwrap()).await.unwrap();
        let (_, waiting) = arrived(&f, &a_town, "2026-11-23T08:30:00Z", 2).await;

        // B's administrator, in B's town, with A's valid ids: nothing there.
        let b_admin = admin(&b_town);
        assert!(matches!(f.desk.entry_for(&b_town.tenant, &b_admin, waiting.id).await, Err(DeskError::NotFound)));
        assert!(matches!(f.desk.meeting_for(&b_town.tenant, &b_admin, meeting).await, Err(DeskError::NotFound)));
        assert!(matches!(
            f.desk.call_next(&b_town.tenant, &b_admin, a_town.anagrafe.id).await,
            Err(DeskError::NotFound)
        ));
        assert!(matches!(
            f.desk.office_queue(&b_town.tenant, &b_admin, a_town.anagrafe.id).await,
            Err(DeskError::NotFound)
        ));
        let b_closed = WalkInDesk { always_open: true, hours: OpeningHours::new(Vec::new(), 1).unwrap() };
        assert!(matches!(
            f.desk.set_walk_in(&b_town.tenant, &b_admin, a_town.anagrafe.id, &b_closed).await,
            Err(DeskError::NotFound)
        ));

        // B's grant presented with A's town: refused, not served.
        assert!(matches!(f.desk.entry_for(&a_town.tenant, &b_admin, waiting.id).await, Err(DeskError::Forbidden)));
        assert!(matches!(f.desk.meeting_for(&a_town.tenant, &b_admin, meeting).await, Err(DeskError::Forbidden)));
        assert!(matches!(
            f.desk.call_next(&a_town.tenant, &b_admin, a_town.anagrafe.id).await,
            Err(DeskError::Forbidden)
        ));
        assert!(matches!(
            f.desk.set_walk_in(&a_town.tenant, &b_admin, a_town.anagrafe.id, &b_closed).await,
            Err(DeskError::Forbidden)
        ));

        // B's official inside B's own meeting cannot moderate A's participant.
        let (_, b_citizen) = arrived(&f, &b_town, "2026-11-23T08:30:00Z", 3).await;
        let (_, b_meeting) =
            f.desk.admit(f.desk.entry_for(&b_town.tenant, &b_admin, b_citizen.id).await.unwrap()).await.unwrap();
        let b_meeting = f.desk.open_meeting_for(&b_town.tenant, &b_admin, b_meeting).await.unwrap();
        let (b_official, _) = f
            .desk
            .invite(&b_meeting, "Operatore B".into(), EntryKind::Official, Abilities::official(), true)
            .await
            .unwrap();
        let reach = f.desk.moderate(&b_official, admitted.id, Moderation::Remove).await;
        assert!(matches!(reach, Err(DeskError::NotFound)), "{reach:?}");

        // A's places are untouched.
        let a_waiting = f.store.entry(a_town.tenant.id, waiting.id).await.unwrap().unwrap();
        assert_eq!(a_waiting.status, EntryStatus::Waiting);
        let a_admitted = f.store.entry(a_town.tenant.id, admitted.id).await.unwrap().unwrap();
        assert_eq!(a_admitted.status, EntryStatus::Admitted);
        assert!(a_town.tenant.id != b_town.tenant.id);
    }
}

// ---- desk: a meeting everyone left closes by itself ----

#[tokio::test]
async fn a_meeting_everyone_left_closes_after_the_grace_as_if_the_official_ended_it() {
    for engine in engines().await {
        eprintln!("engine: {}", engine.name);
        let settings = DeskSettings { empty_meeting_grace: SignedDuration::from_secs(120), ..DeskSettings::default() };
        let f = Front::new(engine.store.clone(), settings);
        let town = town(&*f.store, "borgo").await;
        let grant = operator(&town, town.anagrafe.id);
        f.set_now("2026-11-23T08:25:00Z");
        let (a, citizen) = arrived(&f, &town, "2026-11-23T08:30:00Z", 1).await;
        let (_, meeting_id) =
            f.desk.admit(f.desk.entry_for(&town.tenant, &grant, citizen.id).await.unwrap()).await.unwrap();
        let meeting = f.desk.open_meeting_for(&town.tenant, &grant, meeting_id).await.unwrap();
        let (official, _) = f
            .desk
            .invite(&meeting, "Operatore".into(), EntryKind::Official, Abilities::official(), true)
            .await
            .unwrap();
        // An invitee still waiting to be let in does not keep the meeting open.
        let (guest, _) =
            f.desk.invite(&meeting, "Tecnico".into(), EntryKind::Invitee, Abilities::citizen(), false).await.unwrap();
        f.live.connect(guest.id);
        let open = f.desk.open_meetings().await.unwrap();
        assert!(open.iter().any(|m| m.id == meeting_id), "listed while it lasts");
        let mut vacancies = ricevo_desk::deserted::Vacancies::default();

        // Both connected: it stays, however long.
        f.live.connect(citizen.id);
        f.live.connect(official.id);
        for now in ["2026-11-23T08:26:00Z", "2026-11-23T09:30:00Z"] {
            f.set_now(now);
            assert!(!f.desk.close_if_deserted(&meeting, &mut vacancies).await.unwrap());
        }

        // Both gone (their pages closed): the grace runs from the first look.
        f.live.connected.lock().unwrap().retain(|e| *e == guest.id);
        f.set_now("2026-11-23T09:31:00Z");
        assert!(!f.desk.close_if_deserted(&meeting, &mut vacancies).await.unwrap());
        f.set_now("2026-11-23T09:32:59Z");
        assert!(!f.desk.close_if_deserted(&meeting, &mut vacancies).await.unwrap());
        assert!(f.desk.open_meeting_for(&town.tenant, &grant, meeting_id).await.is_ok(), "still open within the grace");
        f.live.forget();
        f.set_now("2026-11-23T09:33:00Z");
        assert!(f.desk.close_if_deserted(&meeting, &mut vacancies).await.unwrap(), "closed after the grace");

        // Closed as the official's end closes it.
        assert!(f.live.heard(&format!("meeting_ended:{}", meeting_id.0)));
        assert!(f.live.heard(&format!("office:{}", town.anagrafe.id.0)), "the dashboards drop the row");
        for id in [citizen.id, official.id] {
            assert!(f.live.heard(&format!("entry:{}", id.0)));
            assert_eq!(f.store.entry(town.tenant.id, id).await.unwrap().unwrap().status, EntryStatus::Done);
        }
        assert_eq!(f.store.appointment(town.tenant.id, a.id).await.unwrap().unwrap().status, AppointmentStatus::Done);
        assert!(matches!(f.desk.open_meeting_for(&town.tenant, &grant, meeting_id).await, Err(DeskError::NotActive)));
        assert!(!f.desk.open_meetings().await.unwrap().iter().any(|m| m.id == meeting_id));
        let log = f
            .desk
            .audit_log(
                &admin(&town),
                town.tenant.id,
                ricevo_store::AuditFilter { act: Some(Act::MeetingEnded), ..Default::default() },
            )
            .await
            .unwrap();
        assert_eq!(log.len(), 1, "{log:?}");
        assert_eq!(log[0].actor, Actor::System);
        assert_eq!(log[0].subject, Subject::Meeting(meeting_id));
        assert_eq!(log[0].detail, ricevo_desk::deserted::EVERYONE_LEFT);
        // A second look (another node, the next sweep) changes nothing.
        let again = f.desk.meeting_for(&town.tenant, &grant, meeting_id).await.unwrap().into_inner();
        assert!(!f.desk.close_if_deserted(&again, &mut vacancies).await.unwrap());
    }
}

/// The `turn-near:` rows newly due in the outbox naming one of `tickets`, as (dedupe key,
/// payload). Reading claims them (as the worker would), so each row is seen once.
async fn turn_near_rows(f: &Front, tickets: &[&Entry]) -> Vec<(i64, String, ricevo_notify::Outgoing)> {
    let keys: Vec<String> = tickets.iter().map(|e| ricevo_desk::turn_near::turn_near_key(e)).collect();
    let due = f.store.due_outbox(f.desk.now(), 500).await.unwrap();
    due.into_iter()
        .filter(|m| keys.contains(&m.dedupe_key))
        .map(|m| (m.id, m.dedupe_key, ricevo_notify::Outgoing::from_payload(&m.payload).unwrap()))
        .collect()
}

#[tokio::test]
async fn the_ticket_one_place_from_the_desk_hears_once_that_its_turn_is_near_through_its_own_channel() {
    use ricevo_core::channel::{Channel, TelegramChat};
    for engine in engines().await {
        eprintln!("engine: {}", engine.name);
        let f = Front::new(engine.store.clone(), DeskSettings::default());
        let always = WalkInDesk { always_open: true, hours: OpeningHours::new(Vec::new(), 1).unwrap() };
        let a = town(&*f.store, "borgo").await;
        let b = town(&*f.store, "altrove").await;
        for t in [&a, &b] {
            f.desk.set_walk_in(&t.tenant, &admin(t), t.anagrafe.id, &always).await.unwrap();
        }
        // Town A lets its bot write to citizens; town B keeps e-mail only.
        let telegram =
            ricevo_store::TownChannels { telegram_enabled: true, ..ricevo_store::TownChannels::none(a.tenant.id) };
        f.store.set_town_channels(&telegram).await.unwrap();

        let ticket = |t: &Town, name: &'static str, email: Option<&'static str>, source: &'static str| {
            let (tenant, office) = (t.tenant.clone(), t.anagrafe.clone());
            let desk = &f.desk;
            async move { desk.take_ticket(&tenant, &office, name, email, source, Lang::It).await.unwrap().0 }
        };
        let one = ticket(&a, "Mario Rossi", Some("mario@example.it"), "10.0.0.1").await;
        let two = ticket(&a, "Anna Bianchi", Some("anna@example.it"), "10.0.0.2").await;
        let (three, _) = f
            .desk
            .take_ticket_for_chat(&a.tenant, &a.anagrafe, "Terzo Verdi", 4242, "telegram:4242", Lang::It)
            .await
            .unwrap();
        let four = ticket(&a, "Quarta Neri", None, "10.0.0.4").await;
        let b_one = ticket(&b, "Bruno Uno", Some("bruno@example.it"), "10.0.1.1").await;
        let b_two = ticket(&b, "Bice Due", Some("bice@example.it"), "10.0.1.2").await;
        let a_tickets = [&one, &two, &three, &four];
        assert!(turn_near_rows(&f, &a_tickets).await.is_empty(), "taking tickets tells nobody");

        // B's queue moves: B's second ticket is next, and nobody of A hears anything.
        let (called, _) = f.desk.call_next(&b.tenant, &admin(&b), b.anagrafe.id).await.unwrap();
        assert_eq!(called.id, b_one.id);
        assert!(turn_near_rows(&f, &a_tickets).await.is_empty(), "another town's queue tells A's tickets nothing");
        assert!(turn_near_rows(&f, &[&b_two]).await.is_empty(), "next in line is no longer 'near'");

        // A calls its first: two is next, three (taken from the chat) is one place away.
        let (called, _) = f.desk.call_next(&a.tenant, &admin(&a), a.anagrafe.id).await.unwrap();
        assert_eq!(called.id, one.id);
        let mut told = turn_near_rows(&f, &a_tickets).await;
        assert_eq!(told.len(), 1, "{told:?}");
        assert_eq!(told[0].1, ricevo_desk::turn_near::turn_near_key(&three));
        match &told[0].2 {
            ricevo_notify::Outgoing::Citizen { message, route, reach, .. } => {
                assert_eq!(route, &vec![Channel::Telegram], "the chat is the ticket's only channel");
                assert_eq!(reach.telegram_chat, Some(TelegramChat(4242)));
                assert_eq!(message.town, "Comune di borgo");
                assert!(message.subject.contains("numero 3"), "{}", message.subject);
            }
            other => panic!("{other:?}"),
        }

        // The open page of four comes first: three is again one place away, and is not told twice.
        f.live.connect(four.id);
        let (called, _) = f.desk.call_next(&a.tenant, &admin(&a), a.anagrafe.id).await.unwrap();
        assert_eq!(called.id, four.id);
        let (called, _) = f.desk.call_next(&a.tenant, &admin(&a), a.anagrafe.id).await.unwrap();
        assert_eq!(called.id, two.id);
        // Unsent, the one row comes due again after its claim lapses; there is no second row.
        told.extend(turn_near_rows(&f, &a_tickets).await);
        f.set_now("2026-11-23T09:00:00Z");
        told.extend(turn_near_rows(&f, &a_tickets).await);
        assert!(told.iter().all(|(id, _, _)| *id == told[0].0), "never twice: {told:?}");
    }
}
