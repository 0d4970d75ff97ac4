//! Council sessions (issue 17) through the desk, on each engine: who may schedule, what a
//! member's link opens (its own session in its own town only), the vote's gates (once, while
//! open, present), chair-only commands, dropping out before voting, and acts from many
//! members at once losing nothing.

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use ricevo_core::council::{
    BodyKind, Choice, Command, CouncilSessionId, ItemNo, MemberId, Outcome, Phase, Refusal, Role,
};
use ricevo_desk::council::{CouncilSeat, CouncilSettings, MemberDraft, MemberLink, SessionDraft};
use ricevo_desk::{Desk, DeskError, DeskSettings};
use ricevo_store::{Grant, Role as StaffRole, Store, Tenant};

use crate::support::{Engine, desk, engines, forbidden, new_town, not_found, now};

fn draft(names: &[(&str, Role, Option<&str>)]) -> SessionDraft {
    SessionDraft {
        body: BodyKind::Council,
        body_name: String::new(),
        title: "Seduta ordinaria".into(),
        starts_at: now() + SignedDuration::from_hours(10),
        items: vec!["Approvazione dei verbali".into(), "Bilancio di previsione 2027".into()],
        members: names
            .iter()
            .map(|(name, role, email)| MemberDraft {
                name: (*name).into(),
                role: *role,
                email: email.map(str::to_owned),
            })
            .collect(),
        quorum: None,
        speech_minutes: Some(5),
    }
}

fn council() -> SessionDraft {
    draft(&[
        ("Anna Presidente", Role::Chair, Some("anna@esempio.it")),
        ("Bruno Sindaco", Role::Mayor, None),
        ("Carla Rossi", Role::Councillor, Some("carla@esempio.it")),
        ("Dario Bianchi", Role::Councillor, None),
        ("Elena Segretaria", Role::Secretary, None),
    ])
}

fn token(link: &MemberLink) -> &str {
    link.url.rsplit('/').next().unwrap()
}

fn grant(tenant: &Tenant, role: StaffRole) -> Grant {
    Grant { tenant_id: tenant.id, role, offices: Vec::new(), actor: ricevo_core::audit::Actor::System }
}

/// A scheduled session: its id and each member's seat, in the draft's order.
async fn scheduled(
    desk: &Desk,
    tenant: &Tenant,
    admin: &Grant,
) -> (CouncilSessionId, Vec<CouncilSeat>, Vec<MemberLink>) {
    let (id, links) = desk.schedule_council(tenant, admin, council(), ricevo_core::Lang::It).await.unwrap();
    let mut seats = Vec::new();
    for l in &links {
        seats.push(desk.council_member(tenant, token(l)).await.unwrap());
    }
    (id, seats, links)
}

/// Everyone connected, the session open and the roll called.
async fn open_with_everyone(desk: &Desk, seats: &[CouncilSeat]) {
    for s in seats {
        desk.council_presence(s, true).await.unwrap();
    }
    desk.council_act(&seats[0], Command::Open).await.unwrap();
    let snap = desk.council_act(&seats[0], Command::CallRoll).await.unwrap();
    assert!(snap.members.iter().all(|m| m.present), "{snap:?}");
    assert!(snap.quorum.reached);
}

fn refused<T: std::fmt::Debug>(r: Result<T, DeskError>) -> Refusal {
    match r {
        Err(DeskError::Council(refusal)) => refusal,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

async fn each_engine() -> Vec<(Engine, Desk)> {
    engines()
        .await
        .into_iter()
        .map(|e| {
            let d = desk(&e.store, DeskSettings::default());
            (e, d)
        })
        .collect()
}

#[tokio::test]
async fn administrators_and_managers_schedule_and_members_get_their_links() {
    for (engine, desk) in each_engine().await {
        let (town, admin) = new_town(&desk, "serrastretta").await;
        let (other, other_admin) = new_town(&desk, "altrove").await;
        assert!(forbidden(
            desk.schedule_council(&town, &grant(&town, StaffRole::Operator), council(), ricevo_core::Lang::It).await
        ));
        assert!(forbidden(desk.schedule_council(&town, &other_admin, council(), ricevo_core::Lang::It).await));
        let (id, links) = desk
            .schedule_council(&town, &grant(&town, StaffRole::Manager), council(), ricevo_core::Lang::En)
            .await
            .unwrap();
        assert_eq!(links.len(), 5, "{}", engine.name);
        assert!(links.iter().all(|l| l.url.starts_with("http://127.0.0.1:8080/serrastretta/consiglio/membro/")));
        assert_eq!(
            links.iter().filter(|l| l.emailed).map(|l| l.name.as_str()).collect::<Vec<_>>(),
            ["Anna Presidente", "Carla Rossi"]
        );
        // The e-mails carry the links, through the outbox.
        let mails: Vec<_> = engine
            .store
            .due_outbox(now() + SignedDuration::from_mins(1), 100)
            .await
            .unwrap()
            .into_iter()
            .filter(|m| m.dedupe_key.starts_with("council-link:"))
            .collect();
        assert_eq!(mails.len(), 2);
        assert!(mails.iter().any(|m| m.payload.contains(&links[2].url) && m.payload.contains("carla@esempio.it")));
        // A wrong draft: every problem at once.
        let mut bad = draft(&[("Anna", Role::Chair, Some("not-an-address")), ("Bruno", Role::Chair, None)]);
        bad.title = " ".into();
        bad.quorum = Some(9);
        match desk.schedule_council(&town, &admin, bad, ricevo_core::Lang::It).await {
            Err(DeskError::Fields(f)) => {
                let names: Vec<_> = f.iter().map(|e| e.field.as_str()).collect();
                assert_eq!(names, ["title", "members", "members.0.email", "quorum"], "{f:?}");
            }
            other => panic!("{other:?}"),
        }
        let crowd: Vec<(String, Role)> = (0..51)
            .map(|i| (format!("Consigliere {i}"), if i == 0 { Role::Chair } else { Role::Councillor }))
            .collect();
        let crowd: Vec<(&str, Role, Option<&str>)> = crowd.iter().map(|(n, r)| (n.as_str(), *r, None)).collect();
        assert!(matches!(
            desk.schedule_council(&town, &admin, draft(&crowd), ricevo_core::Lang::It).await,
            Err(DeskError::Fields(_))
        ));
        // The lists are each town's own.
        assert_eq!(desk.council_sessions(&town).await.unwrap().len(), 1);
        assert!(desk.council_sessions(&other).await.unwrap().is_empty());
        assert!(not_found(desk.council_session(&other, id).await));
        assert!(not_found(desk.council_minutes(&other, id).await));
        assert!(not_found(desk.council_public(&other, id).await));
        let view = desk.council_session(&town, id).await.unwrap();
        assert_eq!(view.summary.state, Phase::Scheduled);
        assert_eq!(view.setup.body_name, "Consiglio comunale");
        assert_eq!(view.emails[0].1.as_deref(), Some("anna@esempio.it"));
        // A new link replaces the old one.
        let carla = links[2].member;
        assert!(forbidden(desk.council_new_link(&town, &grant(&town, StaffRole::Operator), id, carla).await));
        assert!(not_found(desk.council_new_link(&other, &other_admin, id, carla).await));
        let fresh = desk.council_new_link(&town, &admin, id, carla).await.unwrap();
        assert!(fresh.emailed);
        assert!(not_found(desk.council_member(&town, token(&links[2])).await));
        assert_eq!(desk.council_member(&town, token(&fresh)).await.unwrap().member, carla);
    }
}

#[tokio::test]
async fn a_members_link_opens_its_own_session_in_its_own_town_only() {
    for (engine, desk) in each_engine().await {
        let (town, admin) = new_town(&desk, "serrastretta").await;
        let (other, other_admin) = new_town(&desk, "altrove").await;
        let (id, _, links) = scheduled(&desk, &town, &admin).await;
        let (other_id, _, _) = scheduled(&desk, &other, &other_admin).await;
        let seat = desk.council_member(&town, token(&links[1])).await.unwrap();
        assert_eq!(
            (seat.session, seat.member, seat.role, seat.name.as_str()),
            (id, links[1].member, Role::Mayor, "Bruno Sindaco")
        );
        assert_ne!(id, other_id, "{}", engine.name);
        assert!(not_found(desk.council_member(&other, token(&links[1])).await), "another town's link opens nothing");
        assert!(not_found(desk.council_member(&town, "../../etc/passwd").await));
        assert!(not_found(desk.council_member(&town, &"A".repeat(43)).await));
        // A seat made up for another session is refused by the store's scope.
        let forged = CouncilSeat { session: other_id, ..seat.clone() };
        assert!(desk.council_act(&forged, Command::RequestFloor).await.is_err());
        let forged = CouncilSeat { tenant: other.id, ..seat };
        assert!(not_found(desk.council_act(&forged, Command::RequestFloor).await));
    }
}

#[tokio::test]
async fn votes_are_cast_once_while_open_by_present_members_and_only_the_chair_runs_it() {
    for (engine, desk) in each_engine().await {
        let (town, admin) = new_town(&desk, "serrastretta").await;
        let (id, seats, _) = scheduled(&desk, &town, &admin).await;
        let (chair, mayor, carla, dario, secretary) = (&seats[0], &seats[1], &seats[2], &seats[3], &seats[4]);
        assert_eq!(refused(desk.council_act(mayor, Command::Open).await), Refusal::NotChair);
        open_with_everyone(&desk, &seats).await;
        for c in [
            Command::CallRoll,
            Command::SetItem { item: ItemNo(1) },
            Command::OpenVote,
            Command::Close,
            Command::GiveFloor { member: carla.member },
        ] {
            assert_eq!(refused(desk.council_act(carla, c).await), Refusal::NotChair, "{c:?}");
        }
        assert_eq!(
            refused(desk.council_act(carla, Command::Disconnected { member: dario.member }).await),
            Refusal::Malformed
        );
        desk.council_act(chair, Command::SetItem { item: ItemNo(2) }).await.unwrap();
        desk.council_act(carla, Command::RequestFloor).await.unwrap();
        let snap = desk.council_act(chair, Command::GiveFloor { member: carla.member }).await.unwrap();
        assert_eq!(snap.floor.unwrap().name, "Carla Rossi");
        let public = desk.council_public(&town, id).await.unwrap();
        assert_eq!(
            (public.speaker.as_deref(), public.item.unwrap().title.as_str()),
            (Some("Carla Rossi"), "Bilancio di previsione 2027")
        );
        desk.council_act(chair, Command::TakeFloor).await.unwrap();
        desk.council_act(chair, Command::MarkAbsent { member: dario.member }).await.unwrap();
        desk.council_act(chair, Command::OpenVote).await.unwrap();
        desk.council_act(carla, Command::Vote { choice: Choice::Against }).await.unwrap();
        assert_eq!(
            refused(desk.council_act(carla, Command::Vote { choice: Choice::InFavour }).await),
            Refusal::AlreadyVoted
        );
        assert_eq!(
            refused(desk.council_act(dario, Command::Vote { choice: Choice::InFavour }).await),
            Refusal::NotPresent
        );
        assert_eq!(
            refused(desk.council_act(secretary, Command::Vote { choice: Choice::InFavour }).await),
            Refusal::NotAVoter
        );
        desk.council_act(chair, Command::Vote { choice: Choice::InFavour }).await.unwrap();
        desk.council_act(mayor, Command::Vote { choice: Choice::InFavour }).await.unwrap();
        let snap = desk.council_act(chair, Command::CloseVote).await.unwrap();
        assert_eq!(
            refused(desk.council_act(dario, Command::Vote { choice: Choice::InFavour }).await),
            Refusal::NoVoteOpen
        );
        let result = &snap.results[0];
        assert_eq!((result.in_favour, result.against, result.outcome), (2, 1, Outcome::Approved), "{}", engine.name);
        assert_eq!(result.not_voting, vec!["Dario Bianchi".to_owned()]);
        assert_eq!(desk.council_public(&town, id).await.unwrap().results, snap.results);
        // The votes table holds each vote once.
        let votes = engine.store.council_votes(town.id, id).await.unwrap();
        assert_eq!(
            votes,
            vec![
                (1, chair.member, Choice::InFavour),
                (1, mayor.member, Choice::InFavour),
                (1, carla.member, Choice::Against)
            ]
        );
        desk.council_act(chair, Command::Close).await.unwrap();
        assert_eq!(refused(desk.council_act(carla, Command::RequestFloor).await), Refusal::SessionClosed);
        let minutes = desk.council_minutes(&town, id).await.unwrap();
        assert_eq!(minutes.state, Phase::Closed);
        assert_eq!(minutes.items[1].speakers.len(), 1);
        assert_eq!(minutes.items[1].votes[0].ballots.len(), 3);
        assert_eq!(desk.council_sessions(&town).await.unwrap()[0].state, Phase::Closed);
    }
}

#[tokio::test]
async fn a_member_who_disconnects_before_voting_is_absent_for_that_vote() {
    for (engine, desk) in each_engine().await {
        let (town, admin) = new_town(&desk, "serrastretta").await;
        let (id, seats, _) = scheduled(&desk, &town, &admin).await;
        open_with_everyone(&desk, &seats).await;
        let (chair, mayor, carla) = (&seats[0], &seats[1], &seats[2]);
        desk.council_act(chair, Command::SetItem { item: ItemNo(1) }).await.unwrap();
        desk.council_act(chair, Command::OpenVote).await.unwrap();
        desk.council_act(mayor, Command::Vote { choice: Choice::InFavour }).await.unwrap();
        let snap = desk.council_presence(carla, false).await.unwrap();
        assert_eq!(snap.vote.unwrap().absent, vec![carla.member], "{}", engine.name);
        desk.council_presence(mayor, false).await.unwrap();
        // Back before the vote closes: present again, still absent for this vote.
        let snap = desk.council_presence(carla, true).await.unwrap();
        assert!(snap.members.iter().find(|m| m.id == carla.member).unwrap().present);
        assert_eq!(
            refused(desk.council_act(carla, Command::Vote { choice: Choice::Against }).await),
            Refusal::AbsentFromVote
        );
        let snap = desk.council_act(chair, Command::CloseVote).await.unwrap();
        assert_eq!(snap.results[0].ballots.len(), 1, "the mayor's vote stands");
        let minutes = desk.council_minutes(&town, id).await.unwrap();
        let spans = &minutes.presences.iter().find(|p| p.member == carla.member).unwrap().spans;
        assert_eq!(spans.len(), 2, "{spans:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acts_from_many_members_at_once_lose_nothing_and_a_vote_counts_once() {
    for (engine, desk) in each_engine().await {
        let (town, admin) = new_town(&desk, "serrastretta").await;
        let mut names: Vec<(String, Role)> = vec![("Presidente".into(), Role::Chair)];
        names.extend((1..=20).map(|i| (format!("Consigliere {i}"), Role::Councillor)));
        let members: Vec<(&str, Role, Option<&str>)> = names.iter().map(|(n, r)| (n.as_str(), *r, None)).collect();
        let (id, links) = desk.schedule_council(&town, &admin, draft(&members), ricevo_core::Lang::It).await.unwrap();
        let mut seats = Vec::new();
        for l in &links {
            seats.push(desk.council_member(&town, token(l)).await.unwrap());
        }
        // Everyone connects at once.
        let joins = seats.iter().cloned().map(|s| {
            let d = desk.clone();
            tokio::spawn(async move { d.council_presence(&s, true).await })
        });
        for j in futures_join(joins).await {
            j.unwrap();
        }
        desk.council_act(&seats[0], Command::Open).await.unwrap();
        let snap = desk.council_act(&seats[0], Command::CallRoll).await.unwrap();
        assert_eq!(snap.quorum.present, 21, "{}", engine.name);
        desk.council_act(&seats[0], Command::SetItem { item: ItemNo(1) }).await.unwrap();
        desk.council_act(&seats[0], Command::OpenVote).await.unwrap();
        // Each councillor votes twice at once (two tabs, or two nodes): one counts.
        let votes = seats[1..].iter().cloned().flat_map(|s| {
            [Choice::InFavour, Choice::Against].map(|choice| {
                let d = desk.clone();
                let s = s.clone();
                tokio::spawn(async move { d.council_act(&s, Command::Vote { choice }).await })
            })
        });
        let outcomes = futures_join(votes).await;
        let ok = outcomes.iter().filter(|r| r.is_ok()).count();
        let twice = outcomes.iter().filter(|r| matches!(r, Err(DeskError::Council(Refusal::AlreadyVoted)))).count();
        assert_eq!((ok, twice), (20, 20), "{outcomes:?}");
        let snap = desk.council_act(&seats[0], Command::CloseVote).await.unwrap();
        let r = &snap.results[0];
        assert_eq!(usize::from(r.in_favour + r.against + r.abstain), 20);
        assert_eq!(r.ballots.len(), 20);
        assert_eq!(engine.store.council_votes(town.id, id).await.unwrap().len(), 20);
        // Everyone asks for the floor at once: every request is in the queue.
        let asks = seats[1..].iter().cloned().map(|s| {
            let d = desk.clone();
            tokio::spawn(async move { d.council_act(&s, Command::RequestFloor).await })
        });
        for r in futures_join(asks).await {
            r.unwrap();
        }
        let snap = desk.council_snapshot(&seats[0]).await.unwrap();
        assert_eq!(snap.queue.len(), 20);
        let log = engine.store.council_events(town.id, id).await.unwrap();
        assert_eq!(u64::try_from(log.len()).unwrap(), snap.seq, "one contiguous log");
    }
}

/// Awaits spawned tasks in order.
async fn futures_join<T: Send + 'static>(tasks: impl IntoIterator<Item = tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut out = Vec::new();
    for t in tasks.into_iter().collect::<Vec<_>>() {
        out.push(t.await.unwrap());
    }
    out
}

#[tokio::test]
async fn recordings_are_kept_per_the_towns_setting() {
    for (engine, desk) in each_engine().await {
        let (town, admin) = new_town(&desk, "serrastretta").await;
        let (other, _) = new_town(&desk, "altrove").await;
        assert_eq!(desk.council_settings(&town).await.unwrap(), CouncilSettings { recording_keep_days: None });
        assert!(forbidden(
            desk.set_council_settings(
                &town,
                &grant(&town, StaffRole::Operator),
                CouncilSettings { recording_keep_days: Some(1) }
            )
            .await
        ));
        assert!(forbidden(
            desk.set_council_settings(
                &town,
                &grant(&other, StaffRole::Admin),
                CouncilSettings { recording_keep_days: Some(1) }
            )
            .await
        ));
        assert!(matches!(
            desk.set_council_settings(&town, &admin, CouncilSettings { recording_keep_days: Some(40_000) }).await,
            Err(DeskError::Fields(_))
        ));
        desk.set_council_settings(
            &town,
            &grant(&town, StaffRole::Manager),
            CouncilSettings { recording_keep_days: Some(0) },
        )
        .await
        .unwrap();
        assert_eq!(desk.council_settings(&other).await.unwrap().recording_keep_days, None, "{}", engine.name);
        let (id, seats, _) = scheduled(&desk, &town, &admin).await;
        open_with_everyone(&desk, &seats).await;
        assert!(desk.council_recordings_due().await.unwrap().is_empty(), "not closed yet");
        desk.council_act(&seats[0], Command::Close).await.unwrap();
        assert_eq!(desk.council_recordings_due().await.unwrap(), vec![(town.id, id)]);
        assert!(desk.council_recording_kept(&town, id).await.unwrap());
        desk.council_recording_removed(town.id, id).await.unwrap();
        assert!(!desk.council_recording_kept(&town, id).await.unwrap());
        assert!(desk.council_recordings_due().await.unwrap().is_empty());
        let _: (&Arc<dyn Store>, Timestamp, MemberId) = (&engine.store, now(), MemberId(0));
    }
}
