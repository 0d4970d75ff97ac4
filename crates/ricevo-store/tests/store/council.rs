//! Council sessions (issue 17) on SQLite and PostgreSQL alike: a session and its seats are its
//! town's only, a member's token opens their seat in their town only, the event log refuses a
//! second append after the same event, the votes table refuses a second vote, and the
//! recording settings are per town.

#![allow(clippy::unwrap_used, clippy::print_stderr)]

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use ricevo_core::council::{BodyKind, Choice, CouncilSessionId, Event, EventKind, MemberId, Phase, Role};
use ricevo_store::*;

struct Fixture {
    store: Arc<dyn Store>,
    _guard: Box<dyn std::any::Any + Send>,
}

async fn sqlite() -> Option<Fixture> {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&format!("sqlite://{}", dir.path().join("test.db").display())).await.unwrap();
    Some(Fixture { store, _guard: Box::new(dir) })
}

async fn postgres() -> Option<Fixture> {
    let schema = ricevo_store::testing::TestSchema::create("council").await?;
    let store = schema.node().await;
    store.migrate().await.unwrap();
    Some(Fixture { store, _guard: Box::new(schema) })
}

async fn town(store: &dyn Store, slug: &str) -> Tenant {
    store
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
        .unwrap()
}

fn now() -> Timestamp {
    "2026-12-01T18:00:00Z".parse().unwrap()
}

fn draft(tenant: &Tenant, tag: &str) -> NewCouncilSession {
    let member = |name: &str, role, email: Option<&str>| NewCouncilMember {
        name: name.into(),
        role,
        email: email.map(str::to_owned),
        token_hash: format!("{tag}-{name}"),
    };
    NewCouncilSession {
        tenant_id: tenant.id,
        body: BodyKind::Council,
        body_name: "Consiglio comunale".into(),
        title: format!("Seduta {tag}"),
        starts_at: now() + SignedDuration::from_hours(24),
        items: vec!["Approvazione verbali".into(), "Bilancio di previsione".into()],
        members: vec![
            member("Anna", Role::Chair, Some("anna@esempio.it")),
            member("Bruno", Role::Councillor, None),
            member("Carla", Role::Secretary, None),
        ],
        quorum: Some(2),
        speech_minutes: Some(5),
        outbox: Vec::new(),
        now: now(),
    }
}

fn ev(kind: EventKind) -> Event {
    Event { at: now(), kind }
}

async fn a_session_and_its_seats_are_its_towns_only(f: Fixture) {
    let store = &*f.store;
    let a = town(store, "uno").await;
    let b = town(store, "due").await;
    let full = store.create_council_session(&draft(&a, "a")).await.unwrap();
    store.create_council_session(&draft(&b, "b")).await.unwrap();
    assert_eq!(full.items.len(), 2);
    assert_eq!(full.items[1].title, "Bilancio di previsione");
    assert_eq!(full.members.iter().map(|m| m.name.as_str()).collect::<Vec<_>>(), ["Anna", "Bruno", "Carla"]);
    assert_eq!(full.session.state, Phase::Scheduled);
    let read = store.council_session(a.id, full.session.id).await.unwrap().unwrap();
    assert_eq!(read, full);
    assert!(store.council_session(b.id, full.session.id).await.unwrap().is_none(), "another town sees nothing");
    assert_eq!(store.council_sessions(a.id).await.unwrap().len(), 1);
    assert_eq!(store.council_sessions(b.id).await.unwrap()[0].title, "Seduta b");
    // A token opens its seat in its own town only.
    let seat = store.council_member_by_token(a.id, "a-Bruno").await.unwrap().unwrap();
    assert_eq!((seat.name.as_str(), seat.role, seat.session_id), ("Bruno", Role::Councillor, full.session.id));
    assert!(store.council_member_by_token(b.id, "a-Bruno").await.unwrap().is_none());
    assert!(store.council_member_by_token(a.id, "").await.unwrap().is_none());
    // A new token replaces the old one.
    store.set_council_member_token(a.id, full.session.id, seat.id, "a-Bruno-2").await.unwrap();
    assert!(store.council_member_by_token(a.id, "a-Bruno").await.unwrap().is_none());
    assert_eq!(store.council_member_by_token(a.id, "a-Bruno-2").await.unwrap().unwrap().id, seat.id);
    assert!(matches!(
        store.set_council_member_token(b.id, full.session.id, seat.id, "x").await,
        Err(StoreError::NotFound)
    ));
    // The other town's log cannot be read or written through this session's id.
    let append = CouncilAppend {
        tenant_id: b.id,
        session_id: full.session.id,
        after: 0,
        events: &[ev(EventKind::Opened)],
        outbox: &[],
        now: now(),
    };
    assert!(matches!(store.append_council_events(&append).await, Err(StoreError::NotFound)));
    assert!(store.council_events(a.id, full.session.id).await.unwrap().is_empty());
}

async fn the_log_takes_one_append_after_an_event_and_one_vote_per_member(f: Fixture) {
    let store = &*f.store;
    let a = town(store, "uno").await;
    let full = store.create_council_session(&draft(&a, "a")).await.unwrap();
    let id = full.session.id;
    let (anna, bruno) = (full.members[0].id, full.members[1].id);
    let append = |after, events: &'static [Event]| CouncilAppend {
        tenant_id: a.id,
        session_id: id,
        after,
        events,
        outbox: &[],
        now: now(),
    };
    let opened: &'static [Event] =
        Box::leak(Box::new([ev(EventKind::Opened), ev(EventKind::Present { member: anna })]));
    store.append_council_events(&append(0, opened)).await.unwrap();
    assert_eq!(store.council_sessions(a.id).await.unwrap()[0].state, Phase::Open);
    // A second writer that saw nothing appends after the same event: refused, nothing written.
    let late: &'static [Event] = Box::leak(Box::new([ev(EventKind::RollCalled)]));
    assert!(matches!(store.append_council_events(&append(0, late)).await, Err(StoreError::Stale)));
    assert!(matches!(store.append_council_events(&append(1, late)).await, Err(StoreError::Stale)));
    store.append_council_events(&append(2, late)).await.unwrap();
    let votes: &'static [Event] = Box::leak(Box::new([
        ev(EventKind::VoteOpened { number: 1, item: ricevo_core::council::ItemNo(1) }),
        ev(EventKind::VoteCast { number: 1, member: bruno, choice: Choice::InFavour }),
    ]));
    store.append_council_events(&append(3, votes)).await.unwrap();
    // A second vote of the same member in the same vote hits the key, even with a fresh seq.
    let again: &'static [Event] =
        Box::leak(Box::new([ev(EventKind::VoteCast { number: 1, member: bruno, choice: Choice::Against })]));
    assert!(matches!(store.append_council_events(&append(5, again)).await, Err(StoreError::Duplicate)));
    // A vote for a seat of no such session is refused.
    let stranger: &'static [Event] = Box::leak(Box::new([ev(EventKind::VoteCast {
        number: 1,
        member: MemberId(999_999),
        choice: Choice::Abstain,
    })]));
    assert!(store.append_council_events(&append(5, stranger)).await.is_err());
    let closed: &'static [Event] =
        Box::leak(Box::new([ev(EventKind::VoteClosed { number: 1 }), ev(EventKind::Closed)]));
    store.append_council_events(&append(5, closed)).await.unwrap();
    let log = store.council_events(a.id, id).await.unwrap();
    assert_eq!(log.len(), 7);
    assert_eq!(log[0].kind, EventKind::Opened);
    assert_eq!(log[4].kind, EventKind::VoteCast { number: 1, member: bruno, choice: Choice::InFavour });
    assert_eq!(store.council_votes(a.id, id).await.unwrap(), vec![(1, bruno, Choice::InFavour)]);
    let record = store.council_session(a.id, id).await.unwrap().unwrap().session;
    assert_eq!((record.state, record.closed_at), (Phase::Closed, Some(now())));
}

async fn recordings_are_kept_per_each_towns_setting(f: Fixture) {
    let store = &*f.store;
    let a = town(store, "uno").await;
    let b = town(store, "due").await;
    let c = town(store, "tre").await;
    assert_eq!(store.council_recording_keep_days(a.id).await.unwrap(), None, "forever by default");
    store.set_council_recording_keep_days(a.id, Some(0)).await.unwrap();
    store.set_council_recording_keep_days(b.id, Some(30)).await.unwrap();
    store.set_council_recording_keep_days(b.id, Some(7)).await.unwrap();
    assert_eq!(store.council_recording_keep_days(a.id).await.unwrap(), Some(0));
    assert_eq!(store.council_recording_keep_days(b.id).await.unwrap(), Some(7));
    assert!(matches!(
        store.set_council_recording_keep_days(ricevo_core::TenantId(999_999), None).await,
        Err(StoreError::NotFound)
    ));
    let mut closed = Vec::new();
    for t in [&a, &b, &c] {
        let s = store.create_council_session(&draft(t, &t.slug)).await.unwrap().session.id;
        let events = [ev(EventKind::Opened), ev(EventKind::Closed)];
        let append =
            CouncilAppend { tenant_id: t.id, session_id: s, after: 0, events: &events, outbox: &[], now: now() };
        store.append_council_events(&append).await.unwrap();
        closed.push(s);
    }
    let due = store.council_recordings_due(now()).await.unwrap();
    assert_eq!(due, vec![(a.id, closed[0])], "0 days: due at once; 7 days and forever: not yet");
    let week = now() + SignedDuration::from_hours(7 * 24);
    assert_eq!(store.council_recordings_due(week).await.unwrap().len(), 2);
    store.mark_council_recording_removed(a.id, closed[0], week).await.unwrap();
    assert_eq!(store.council_recordings_due(week).await.unwrap(), vec![(b.id, closed[1])]);
    assert!(matches!(store.mark_council_recording_removed(b.id, closed[0], week).await, Err(StoreError::NotFound)));
    let removed = store.council_session(a.id, closed[0]).await.unwrap().unwrap().session;
    assert_eq!(removed.recording_removed_at, Some(week));
    let _ = CouncilSessionId(0);
}

#[tokio::test]
async fn a_session_and_its_seats_are_its_towns_only_on_sqlite() {
    a_session_and_its_seats_are_its_towns_only(sqlite().await.unwrap()).await;
}

#[tokio::test]
async fn a_session_and_its_seats_are_its_towns_only_on_postgres() {
    let Some(f) = postgres().await else { return };
    a_session_and_its_seats_are_its_towns_only(f).await;
}

#[tokio::test]
async fn the_log_takes_one_append_after_an_event_and_one_vote_per_member_on_sqlite() {
    the_log_takes_one_append_after_an_event_and_one_vote_per_member(sqlite().await.unwrap()).await;
}

#[tokio::test]
async fn the_log_takes_one_append_after_an_event_and_one_vote_per_member_on_postgres() {
    let Some(f) = postgres().await else { return };
    the_log_takes_one_append_after_an_event_and_one_vote_per_member(f).await;
}

#[tokio::test]
async fn recordings_are_kept_per_each_towns_setting_on_sqlite() {
    recordings_are_kept_per_each_towns_setting(sqlite().await.unwrap()).await;
}

#[tokio::test]
async fn recordings_are_kept_per_each_towns_setting_on_postgres() {
    let Some(f) = postgres().await else { return };
    recordings_are_kept_per_each_towns_setting(f).await;
}
