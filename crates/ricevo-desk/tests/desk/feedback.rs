//! After-contact feedback, run against the desk on SQLite and PostgreSQL: each trigger (a video
//! meeting ended, a walk-in ticket served, an appointment marked done) makes one request per
//! contact with its follow-up e-mail, in the same transaction; links of another town, unknown
//! or expired links are refused.

#![allow(clippy::unwrap_used, clippy::print_stderr)]

use jiff::{SignedDuration, Timestamp};
use ricevo_core::audit::Actor;
use ricevo_core::feedback::{ContactMode, Refusal, answerable};
use ricevo_core::lobby::{Abilities, EntryKind, WalkInDesk};
use ricevo_core::{Lang, Mode};
use ricevo_desk::{Desk, DeskError, DeskSettings, SurveySettings, tokens};
use ricevo_store::{
    Appointment, AppointmentStatus, BookOutcome, CitizenLookup, FeedbackSubject, Grant, NewAppointment, Role, Store,
};

use crate::support;

use support::{TestClock, Town, desk_at, engines, town};

// Monday 7 December 2026, 10:00 in Rome.
const NOW: &str = "2026-12-07T09:00:00Z";

fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn operator(town: &Town) -> Grant {
    let actor = Actor::Staff { id: ricevo_core::UserId(7), name: "Operatrice".into() };
    Grant { tenant_id: town.tenant.id, role: Role::Operator, offices: vec![town.office.id], actor }
}

/// An appointment of `mode` at `start` (30 minutes) for `email` (in `lang`).
async fn appointment(store: &dyn Store, town: &Town, start: &str, mode: Mode, email: &str, lang: Lang) -> Appointment {
    let start = at(start);
    let new = NewAppointment {
        desks: 10,
        public_id: tokens::new_public_id(),
        token_hash: tokens::hash(&tokens::new_token()),
        end: start + SignedDuration::from_mins(30),
        occupied_until: start + SignedDuration::from_mins(30),
        mode,
        citizen_email: email.into(),
        lang,
        now: at("2026-12-01T00:00:00Z"),
        ..ricevo_store::testing::appointment(town.tenant.id, town.office.id, town.service.id, start)
    };
    match store.book(&new).await.unwrap() {
        BookOutcome::Booked(a) => *a,
        other => panic!("not booked: {other:?}"),
    }
}

fn settings() -> DeskSettings {
    DeskSettings {
        public_url: "https://ricevo.example.it".into(),
        surveys: SurveySettings { feedback_link_days: 10, ..SurveySettings::default() },
        ..DeskSettings::default()
    }
}

/// The feedback e-mails the outbox holds about `email`'s records: (key, due, link token).
async fn feedback_mail(store: &dyn Store, town: &Town, email: &str) -> Vec<(String, Timestamp, String)> {
    let record = store.citizen_record(town.tenant.id, &CitizenLookup::Email(email.into())).await.unwrap();
    let mut out = Vec::new();
    for m in record.messages {
        let Some(i) = m.payload.find("/feedback/") else { continue };
        let token: String = m.payload[i + "/feedback/".len()..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect();
        out.push((dedupe_of(store, town, &token).await, m.due_at, token));
    }
    out
}

// The outbox key is not in the export; the request knows its subject, which is enough here.
async fn dedupe_of(store: &dyn Store, town: &Town, token: &str) -> String {
    let r = store.feedback_request(&tokens::hash(token)).await.unwrap().unwrap();
    assert_eq!(r.tenant_id, town.tenant.id);
    match (r.appointment_id, r.entry_id) {
        (Some(a), _) => format!("appointment:{}", a.0),
        (_, Some(e)) => format!("entry:{}", e.0),
        _ => panic!("a request without subject"),
    }
}

/// Admits `entry` now and returns the meeting opened for it.
async fn admit(desk: &Desk, town: &Town, entry: ricevo_core::EntryId) -> ricevo_core::MeetingId {
    let granted = desk.entry_for(&town.tenant, &operator(town), entry).await.unwrap();
    desk.admit(granted).await.unwrap().1
}

async fn end(desk: &Desk, town: &Town, meeting: ricevo_core::MeetingId) {
    let m = desk.meeting_for(&town.tenant, &operator(town), meeting).await.unwrap();
    desk.end_meeting(&m).await.unwrap();
}

#[tokio::test]
async fn a_video_meeting_that_ends_asks_its_citizen_once_and_the_email_waits_for_the_closing_page() {
    for engine in engines().await {
        eprintln!("engine: {}", engine.name);
        let store = engine.store.clone();
        let (desk, clock) = desk_at(&store, settings(), NOW);
        let town = town(&*store, "borgo", 1).await;
        let a = appointment(&*store, &town, "2026-12-07T09:10:00Z", Mode::Video, "maria@example.it", Lang::En).await;
        clock.set("2026-12-07T09:05:00Z");
        let entry = desk.arrive(&town.tenant, &a).await.unwrap().unwrap();
        clock.set("2026-12-07T09:12:00Z");
        let meeting = admit(&desk, &town, entry.id).await;
        // An invitee in the same meeting is never asked.
        let m = desk.meeting_for(&town.tenant, &operator(&town), meeting).await.unwrap();
        let (guest, _) =
            desk.invite(&m, "Interprete".into(), EntryKind::Invitee, Abilities::citizen(), true).await.unwrap();
        clock.set("2026-12-07T09:30:00Z");
        end(&desk, &town, meeting).await;

        let r =
            store.feedback_request_about(town.tenant.id, FeedbackSubject::Appointment(a.id)).await.unwrap().unwrap();
        assert_eq!(r.mode, ContactMode::Video);
        assert_eq!(r.office_id, town.office.id);
        assert_eq!(r.service_id, Some(town.service.id));
        assert_eq!(r.measures.wait_seconds, Some(7 * 60), "from arrival to admission");
        assert_eq!(r.measures.duration_seconds, Some(18 * 60), "from admission to the end");
        assert_eq!(r.expires_at, at("2026-12-17T09:30:00Z"), "feedback_link_days later");
        assert!(
            store.feedback_request_about(town.tenant.id, FeedbackSubject::Entry(guest.id)).await.unwrap().is_none()
        );

        // One e-mail, in the citizen's language, due after the closing page had its chance.
        let mail = feedback_mail(&*store, &town, "maria@example.it").await;
        assert_eq!(mail.len(), 1, "{mail:?}");
        assert_eq!(mail[0].1, at("2026-12-07T10:00:00Z"));
        let (_, opened) = desk.feedback_by_token("borgo", &mail[0].2).await.unwrap();
        assert_eq!(opened, r, "the e-mail's link opens the request");
        let record = store.citizen_record(town.tenant.id, &CitizenLookup::Email("maria@example.it".into())).await;
        let payload =
            &record.unwrap().messages.iter().find(|m| m.payload.contains("/feedback/")).unwrap().payload.clone();
        assert!(payload.contains("How did it go"), "English, as booked: {payload}");

        // Ending again (another node, a double click) asks nobody twice.
        let ended = store.meeting(town.tenant.id, meeting).await.unwrap().unwrap();
        let again = store.end_meeting_asking_feedback(town.tenant.id, meeting, desk.now(), &[]).await.unwrap();
        assert!(again.is_empty());
        assert!(ended.ended_at.is_some());
        assert_eq!(feedback_mail(&*store, &town, "maria@example.it").await.len(), 1);

        // The closing page of the citizen's own place finds it; an invitee's finds none.
        let done = store.entry(town.tenant.id, entry.id).await.unwrap().unwrap();
        assert_eq!(desk.closing_feedback(&town.tenant, &done).await.unwrap(), Some(r.clone()));
        let guest = store.entry(town.tenant.id, guest.id).await.unwrap().unwrap();
        assert_eq!(desk.closing_feedback(&town.tenant, &guest).await.unwrap(), None);
    }
}

#[tokio::test]
async fn a_walk_in_ticket_served_is_asked_and_its_email_goes_with_the_ticket() {
    for engine in engines().await {
        eprintln!("engine: {}", engine.name);
        let store = engine.store.clone();
        let (desk, clock) = desk_at(&store, settings(), NOW);
        let town = town(&*store, "borgo", 1).await;
        let always = WalkInDesk { always_open: true, hours: ricevo_core::OpeningHours::new(Vec::new(), 1).unwrap() };
        store.set_walk_in(town.tenant.id, town.office.id, &always).await.unwrap();
        let (with_mail, _) = desk
            .take_ticket(&town.tenant, &town.office, "Mario Bianchi", Some("mario@example.it"), "10.0.0.1", Lang::It)
            .await
            .unwrap();
        let (without, _) =
            desk.take_ticket(&town.tenant, &town.office, "Anna Verdi", None, "10.0.0.2", Lang::It).await.unwrap();
        for (n, e) in [with_mail.clone(), without.clone()].iter().enumerate() {
            clock.set(&format!("2026-12-07T09:{}0:00Z", n + 1));
            let meeting = admit(&desk, &town, e.id).await;
            clock.set(&format!("2026-12-07T09:{}5:00Z", n + 1));
            end(&desk, &town, meeting).await;
        }
        let r =
            store.feedback_request_about(town.tenant.id, FeedbackSubject::Entry(with_mail.id)).await.unwrap().unwrap();
        assert_eq!(r.mode, ContactMode::WalkIn);
        assert_eq!((r.appointment_id, r.service_id), (None, None));
        assert_eq!(r.measures.wait_seconds, Some(10 * 60));
        assert_eq!(r.measures.duration_seconds, Some(5 * 60));
        let mail = feedback_mail(&*store, &town, "mario@example.it").await;
        assert_eq!(mail.len(), 1, "found with the ticket, so erased with it: {mail:?}");
        assert_eq!(mail[0].0, format!("entry:{}", with_mail.id.0));
        // No address, no e-mail; the closing page still asks.
        let r2 = store.feedback_request_about(town.tenant.id, FeedbackSubject::Entry(without.id)).await.unwrap();
        assert!(r2.is_some());
        let served = store.entry(town.tenant.id, without.id).await.unwrap().unwrap();
        assert!(desk.closing_feedback(&town.tenant, &served).await.unwrap().is_some());

        // Erasing the citizen takes the request and its e-mail with it.
        let gone = store
            .erase_citizen(town.tenant.id, &CitizenLookup::Email("mario@example.it".into()), desk.now())
            .await
            .unwrap();
        assert!(matches!(gone, ricevo_store::Erasure::Erased(_)));
        assert!(
            store.feedback_request_about(town.tenant.id, FeedbackSubject::Entry(with_mail.id)).await.unwrap().is_none()
        );
        assert!(store.feedback_request(&tokens::hash(&mail[0].2)).await.unwrap().is_none(), "the link opens nothing");
    }
}

#[tokio::test]
async fn an_appointment_marked_done_asks_by_email_at_once_and_only_once() {
    for engine in engines().await {
        eprintln!("engine: {}", engine.name);
        let store = engine.store.clone();
        let (desk, clock) = desk_at(&store, settings(), NOW);
        let town = town(&*store, "borgo", 1).await;
        let a = appointment(&*store, &town, "2026-12-07T09:00:00Z", Mode::InPerson, "lucia@example.it", Lang::It).await;
        clock.set("2026-12-07T09:20:00Z");
        let grant = operator(&town);
        let checked = desk.change_status(&town.tenant, &grant, &a, AppointmentStatus::CheckedIn).await.unwrap();
        assert!(
            store.feedback_request_about(town.tenant.id, FeedbackSubject::Appointment(a.id)).await.unwrap().is_none()
        );
        clock.set("2026-12-07T09:40:00Z");
        desk.change_status(&town.tenant, &grant, &checked, AppointmentStatus::Done).await.unwrap();

        let r =
            store.feedback_request_about(town.tenant.id, FeedbackSubject::Appointment(a.id)).await.unwrap().unwrap();
        assert_eq!(r.mode, ContactMode::InPerson);
        assert_eq!((r.measures.wait_seconds, r.measures.duration_seconds), (None, None), "not measured in person");
        let mail = feedback_mail(&*store, &town, "lucia@example.it").await;
        assert_eq!(mail.len(), 1);
        assert_eq!(mail[0].1, at("2026-12-07T09:40:00Z"), "no closing page: at once");
        let payload = store
            .citizen_record(town.tenant.id, &CitizenLookup::Email("lucia@example.it".into()))
            .await
            .unwrap()
            .messages
            .into_iter()
            .find(|m| m.payload.contains("/feedback/"))
            .unwrap()
            .payload;
        assert!(payload.contains("Ci aiuti a migliorarli?"), "Italian, tu: {payload}");
        assert!(payload.contains("https://ricevo.example.it/borgo/feedback/"), "{payload}");

        // Marking it done twice is refused by the rule; the store's one-per-appointment rule
        // holds even when a second request is written for it.
        let again = desk
            .change_status(
                &town.tenant,
                &grant,
                &Appointment { status: AppointmentStatus::Done, ..a.clone() },
                AppointmentStatus::Done,
            )
            .await;
        assert!(matches!(again, Err(DeskError::StatusChange(_))), "{again:?}");
        let second = ricevo_store::NewFeedbackRequest {
            token_hash: tokens::hash(&tokens::new_token()),
            tenant_id: town.tenant.id,
            appointment_id: Some(a.id),
            entry_id: None,
            office_id: town.office.id,
            service_id: Some(town.service.id),
            mode: ContactMode::InPerson,
            measures: Default::default(),
            expires_at: at("2026-12-31T00:00:00Z"),
            outbox: None,
        };
        let back = store
            .set_status_asking_feedback(
                town.tenant.id,
                a.id,
                AppointmentStatus::Done,
                AppointmentStatus::NoShow,
                desk.now(),
                &second,
            )
            .await;
        assert!(back.is_ok(), "{back:?}");
        assert!(store.feedback_request(&second.token_hash).await.unwrap().is_none(), "still the first request only");
        assert_eq!(
            store.feedback_request_about(town.tenant.id, FeedbackSubject::Appointment(a.id)).await.unwrap().unwrap(),
            r
        );
    }
}

#[tokio::test]
async fn an_anonymised_citizen_gets_no_email() {
    for engine in engines().await {
        eprintln!("engine: {}", engine.name);
        let store = engine.store.clone();
        let (desk, clock) = desk_at(&store, settings(), NOW);
        let town = town(&*store, "borgo", 1).await;
        let a = appointment(&*store, &town, "2026-12-07T09:00:00Z", Mode::Phone, "pietro@example.it", Lang::It).await;
        clock.set("2026-12-07T09:40:00Z");
        store.anonymise_before(town.tenant.id, at("2026-12-07T09:35:00Z")).await.unwrap();
        let a = store.appointment(town.tenant.id, a.id).await.unwrap().unwrap();
        assert!(a.citizen_email.is_empty());
        desk.change_status(&town.tenant, &operator(&town), &a, AppointmentStatus::Done).await.unwrap();
        let r =
            store.feedback_request_about(town.tenant.id, FeedbackSubject::Appointment(a.id)).await.unwrap().unwrap();
        assert_eq!(r.mode, ContactMode::Phone);
        let due = store.due_outbox(at("2027-01-01T00:00:00Z"), 100).await.unwrap();
        assert!(due.iter().all(|m| !m.payload.contains("/feedback/")), "{due:?}");
    }
}

#[tokio::test]
async fn a_link_opens_only_in_its_own_town_and_stops_taking_answers_when_it_expires() {
    for engine in engines().await {
        eprintln!("engine: {}", engine.name);
        let store = engine.store.clone();
        let (desk, clock): (Desk, TestClock) = desk_at(&store, settings(), NOW);
        let town = town(&*store, "borgo", 1).await;
        let _other = support::town(&*store, "altrove", 1).await;
        let a = appointment(&*store, &town, "2026-12-07T09:00:00Z", Mode::InPerson, "gio@example.it", Lang::It).await;
        clock.set("2026-12-07T09:40:00Z");
        desk.change_status(&town.tenant, &operator(&town), &a, AppointmentStatus::Done).await.unwrap();
        let token = feedback_mail(&*store, &town, "gio@example.it").await.remove(0).2;

        let (tenant, r) = desk.feedback_by_token("borgo", &token).await.unwrap();
        assert_eq!(tenant.id, town.tenant.id);
        assert!(
            matches!(desk.feedback_by_token("altrove", &token).await, Err(DeskError::NotFound)),
            "another town's link"
        );
        assert!(matches!(desk.feedback_by_token("borgo", &tokens::new_token()).await, Err(DeskError::NotFound)));
        assert!(matches!(desk.feedback_by_token("borgo", "../../etc").await, Err(DeskError::NotFound)));
        assert!(matches!(desk.feedback_by_token("nowhere", &token).await, Err(DeskError::NotFound)));

        assert_eq!(answerable(r.answered_at, r.expires_at, desk.now()), Ok(()));
        clock.set("2026-12-17T09:40:00Z");
        assert_eq!(answerable(r.answered_at, r.expires_at, desk.now()), Err(Refusal::Expired), "ten days later");
    }
}

/// A town's extra feedback questions: one yes/no question `key`.
fn extra(key: &str) -> ricevo_core::survey::Questionnaire {
    use ricevo_core::survey::{Bilingual, Question, QuestionKey, QuestionKind, Questionnaire, Section};
    Questionnaire {
        sections: vec![Section {
            title: Bilingual::new("Il Comune chiede", "The town asks"),
            questions: vec![Question {
                key: QuestionKey::parse(key).unwrap(),
                label: Bilingual::new("Torneresti?", "Would you come back?"),
                help: None,
                kind: QuestionKind::YesNo,
                required: false,
                show_if: None,
            }],
        }],
    }
}

#[tokio::test]
async fn the_town_adds_its_own_questions_and_a_request_takes_one_answer_only() {
    use ricevo_core::survey::{SurveyKind, SurveyStatus};
    use ricevo_store::NewQuestionnaire;
    for engine in engines().await {
        eprintln!("engine: {}", engine.name);
        let store = engine.store.clone();
        let (desk, clock) = desk_at(&store, settings(), NOW);
        let town = town(&*store, "borgo", 1).await;
        let other = support::town(&*store, "altrove", 1).await;
        let a = appointment(&*store, &town, "2026-12-07T09:00:00Z", Mode::InPerson, "eva@example.it", Lang::It).await;
        clock.set("2026-12-07T09:40:00Z");
        desk.change_status(&town.tenant, &operator(&town), &a, AppointmentStatus::Done).await.unwrap();
        let token = feedback_mail(&*store, &town, "eva@example.it").await.remove(0).2;
        let (_, r) = desk.feedback_by_token("borgo", &token).await.unwrap();

        // Only the built-in questions, until the town opens extra ones: for the town, then
        // for the office, then for the service (the most specific wins); another town's and
        // drafts never count.
        let (q, id) = desk.feedback_questions(&r).await.unwrap();
        assert_eq!((q, id), (ricevo_core::survey::Questionnaire::feedback_default(), None));
        let make = |office, service, key: &str| NewQuestionnaire {
            title: format!("Extra {key}"),
            kind: SurveyKind::Feedback,
            office_id: office,
            service_id: service,
            definition: extra(key),
        };
        let theirs =
            store.create_questionnaire(other.tenant.id, &make(None, None, "theirs"), desk.now()).await.unwrap();
        store.set_questionnaire_status(other.tenant.id, theirs.id, SurveyStatus::Open, desk.now()).await.unwrap();
        store.create_questionnaire(town.tenant.id, &make(None, None, "draft"), desk.now()).await.unwrap();
        assert_eq!(desk.feedback_questions(&r).await.unwrap().1, None);
        for (office, service, key) in [
            (None, None, "town"),
            (Some(town.office.id), None, "office"),
            (Some(town.office.id), Some(town.service.id), "service"),
        ] {
            let q = store.create_questionnaire(town.tenant.id, &make(office, service, key), desk.now()).await.unwrap();
            store.set_questionnaire_status(town.tenant.id, q.id, SurveyStatus::Open, desk.now()).await.unwrap();
            let (asked, id) = desk.feedback_questions(&r).await.unwrap();
            assert_eq!(id, Some(q.id), "{key}");
            assert!(asked.question(key).is_some() && asked.question("rating").is_some(), "{key}");
        }

        // One answer: the second is refused, and nothing more is stored.
        let (q, id) = desk.feedback_questions(&r).await.unwrap();
        let pairs = vec![("rating".to_owned(), "5".to_owned()), ("service".to_owned(), "yes".to_owned())];
        let answers = q.read_answers(&pairs).unwrap();
        let first = desk.answer_feedback(&r, &q, id, answers.clone(), Lang::It).await.unwrap();
        assert!(first.is_ok(), "{first:?}");
        let (_, r) = desk.feedback_by_token("borgo", &token).await.unwrap();
        assert!(r.answered_at.is_some());
        assert_eq!(desk.answer_feedback(&r, &q, id, answers.clone(), Lang::It).await.unwrap(), Err(Refusal::Answered));
        let stale = ricevo_store::FeedbackRequest { answered_at: None, ..r.clone() };
        assert_eq!(
            desk.answer_feedback(&stale, &q, id, answers, Lang::It).await.unwrap(),
            Err(Refusal::Answered),
            "a page read before the first answer is refused by the store too"
        );
        let stored = store.responses(town.tenant.id, id, &ricevo_store::ResponseFilter::default()).await.unwrap();
        assert_eq!(stored.len(), 1);
        assert_eq!(stored[0].response.rating, Some(5));
        assert_eq!(stored[0].response.channel, ricevo_core::survey::SurveyChannel::AfterContact);
        assert!(
            store.responses(other.tenant.id, None, &ricevo_store::ResponseFilter::default()).await.unwrap().is_empty()
        );
    }
}

#[tokio::test]
async fn an_expired_request_takes_no_answer() {
    for engine in engines().await {
        eprintln!("engine: {}", engine.name);
        let store = engine.store.clone();
        let (desk, clock) = desk_at(&store, settings(), NOW);
        let town = town(&*store, "borgo", 1).await;
        let a = appointment(&*store, &town, "2026-12-07T09:00:00Z", Mode::InPerson, "ugo@example.it", Lang::En).await;
        clock.set("2026-12-07T09:40:00Z");
        desk.change_status(&town.tenant, &operator(&town), &a, AppointmentStatus::Done).await.unwrap();
        let token = feedback_mail(&*store, &town, "ugo@example.it").await.remove(0).2;
        let (_, r) = desk.feedback_by_token("borgo", &token).await.unwrap();
        clock.set("2026-12-17T09:40:00Z");
        let (q, id) = desk.feedback_questions(&r).await.unwrap();
        let answers = q.read_answers(&[("rating".to_owned(), "3".to_owned())]).unwrap();
        assert_eq!(desk.answer_feedback(&r, &q, id, answers, Lang::En).await.unwrap(), Err(Refusal::Expired));
        assert!(
            store.responses(town.tenant.id, None, &ricevo_store::ResponseFilter::default()).await.unwrap().is_empty()
        );
    }
}
