//! The session's rules, one by one, and a property over random command sequences.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use jiff::{SignedDuration, Timestamp};
use proptest::prelude::*;

use super::*;

const CHAIR: MemberId = MemberId(1);
const MAYOR: MemberId = MemberId(2);
const ROSSI: MemberId = MemberId(3);
const SECRETARY: MemberId = MemberId(4);

fn setup() -> Setup {
    let member = |id, name: &str, role| Member { id, name: name.into(), role };
    Setup {
        id: CouncilSessionId(7),
        body: BodyKind::Council,
        body_name: "Consiglio comunale".into(),
        title: "Seduta ordinaria".into(),
        starts_at: t0(),
        items: vec![
            AgendaItem { number: ItemNo(1), title: "Verbali".into() },
            AgendaItem { number: ItemNo(2), title: "Bilancio".into() },
        ],
        members: vec![
            member(CHAIR, "Anna Presidente", Role::Chair),
            member(MAYOR, "Bruno Sindaco", Role::Mayor),
            member(ROSSI, "Carla Rossi", Role::Councillor),
            member(SECRETARY, "Dario Segretario", Role::Secretary),
        ],
        quorum: None,
        speech_minutes: Some(5),
    }
}

fn t0() -> Timestamp {
    "2026-12-07T17:00:00Z".parse().unwrap()
}

fn at(minutes: i64) -> Timestamp {
    t0() + SignedDuration::from_mins(minutes)
}

/// A session open with the roll called: everyone connected and present.
fn running() -> Session {
    let mut s = Session::new(setup());
    for m in [CHAIR, MAYOR, ROSSI, SECRETARY] {
        s.apply(at(0), m, Command::Connected { member: m }).unwrap();
    }
    s.apply(at(1), CHAIR, Command::Open).unwrap();
    s.apply(at(1), CHAIR, Command::CallRoll).unwrap();
    s
}

#[test]
fn commands_read_the_sockets_json() {
    let c: Command = serde_json::from_str(r#"{"do":"give_floor","member":3}"#).unwrap();
    assert_eq!(c, Command::GiveFloor { member: ROSSI });
    let c: Command = serde_json::from_str(r#"{"do":"vote","choice":"favorevole"}"#).unwrap();
    assert_eq!(c, Command::Vote { choice: Choice::InFavour });
    let c: Command = serde_json::from_str(r#"{"do":"set_item","item":2}"#).unwrap();
    assert_eq!(c, Command::SetItem { item: ItemNo(2) });
    assert_eq!(serde_json::to_string(&Command::CallRoll).unwrap(), r#"{"do":"call_roll"}"#);
    for bad in [
        r#"{"do":"vote","choice":"yes"}"#,
        r#"{"do":"vote"}"#,
        r#"{"do":"drop_table"}"#,
        r#"{"do":"give_floor","member":"3"}"#,
        r#"{"do":"give_floor","member":3,"extra":1}"#,
        r#"[]"#,
    ] {
        assert!(serde_json::from_str::<Command>(bad).is_err(), "{bad}");
    }
    assert!(Command::Connected { member: ROSSI }.is_system());
    assert!(!Command::RequestFloor.is_system());
}

#[test]
fn events_round_trip_as_json() {
    let e = Event { at: at(3), kind: EventKind::VoteCast { number: 1, member: ROSSI, choice: Choice::Against } };
    let json = serde_json::to_string(&e).unwrap();
    assert!(json.contains(r#""event":"vote_cast""#), "{json}");
    assert!(json.contains(r#""choice":"contrario""#), "{json}");
    assert_eq!(serde_json::from_str::<Event>(&json).unwrap(), e);
}

#[test]
fn only_the_chair_runs_the_session() {
    let mut s = Session::new(setup());
    assert_eq!(s.apply(at(0), ROSSI, Command::Open), Err(Refusal::NotChair));
    assert_eq!(s.apply(at(0), CHAIR, Command::CallRoll), Err(Refusal::NotOpen));
    assert_eq!(s.apply(at(0), MemberId(99), Command::RequestFloor), Err(Refusal::NotMember));
    s.apply(at(0), CHAIR, Command::Open).unwrap();
    assert_eq!(s.apply(at(0), CHAIR, Command::Open), Err(Refusal::AlreadyOpen));
    for c in [
        Command::CallRoll,
        Command::MarkPresent { member: ROSSI },
        Command::SetItem { item: ItemNo(1) },
        Command::GiveFloor { member: ROSSI },
        Command::OpenVote,
        Command::CloseVote,
        Command::Close,
    ] {
        assert_eq!(s.apply(at(1), MAYOR, c), Err(Refusal::NotChair), "{c:?}");
    }
    assert_eq!(s.phase(), Phase::Open);
}

#[test]
fn the_roll_marks_the_connected_present_with_times_and_shows_the_quorum() {
    let mut s = Session::new(setup());
    s.apply(at(0), CHAIR, Command::Connected { member: CHAIR }).unwrap();
    s.apply(at(0), MAYOR, Command::Connected { member: MAYOR }).unwrap();
    s.apply(at(1), CHAIR, Command::Open).unwrap();
    let events = s.apply(at(2), CHAIR, Command::CallRoll).unwrap();
    assert_eq!(events.len(), 3, "{events:?}");
    assert!(s.is_present(CHAIR) && s.is_present(MAYOR) && !s.is_present(ROSSI));
    // Three voting members: two needed.
    assert_eq!(s.quorum(), Quorum { needed: 2, present: 2, reached: true });
    s.apply(at(3), CHAIR, Command::MarkPresent { member: ROSSI }).unwrap();
    s.apply(at(9), CHAIR, Command::MarkAbsent { member: MAYOR }).unwrap();
    let snap = s.snapshot();
    assert_eq!(snap.quorum.present, 2);
    let mayor = snap.members.iter().find(|m| m.id == MAYOR).unwrap();
    assert!(!mayor.present && mayor.connected);
    let minutes = s.minutes();
    let spans = &minutes.presences.iter().find(|p| p.member == MAYOR).unwrap().spans;
    assert_eq!(spans, &[Span { from: at(2), to: Some(at(9)) }]);
}

#[test]
fn the_floor_goes_to_one_member_at_a_time_with_a_queue_and_a_timer() {
    let mut s = running();
    s.apply(at(2), CHAIR, Command::SetItem { item: ItemNo(1) }).unwrap();
    s.apply(at(2), ROSSI, Command::RequestFloor).unwrap();
    assert_eq!(s.apply(at(2), ROSSI, Command::RequestFloor), Err(Refusal::AlreadyRequested));
    s.apply(at(2), MAYOR, Command::RequestFloor).unwrap();
    assert_eq!(s.snapshot().queue, vec![ROSSI, MAYOR]);
    s.apply(at(3), CHAIR, Command::GiveFloor { member: ROSSI }).unwrap();
    let floor = s.snapshot().floor.unwrap();
    assert_eq!((floor.member, floor.since, floor.ends_at), (ROSSI, at(3), Some(at(8))));
    assert_eq!(s.snapshot().queue, vec![MAYOR]);
    assert_eq!(s.public().speaker.as_deref(), Some("Carla Rossi"));
    // Giving the floor to the next ends the speech.
    s.apply(at(6), CHAIR, Command::GiveFloor { member: MAYOR }).unwrap();
    assert_eq!(s.apply(at(7), ROSSI, Command::TakeFloor), Err(Refusal::NotChair), "not hers any more");
    s.apply(at(7), MAYOR, Command::TakeFloor).unwrap();
    assert_eq!(s.floor_holder(), None);
    assert_eq!(s.apply(at(7), CHAIR, Command::TakeFloor), Err(Refusal::NoFloor));
    s.apply(at(8), ROSSI, Command::RequestFloor).unwrap();
    s.apply(at(8), ROSSI, Command::WithdrawRequest).unwrap();
    assert_eq!(s.apply(at(8), ROSSI, Command::WithdrawRequest), Err(Refusal::NotRequested));
    let item = &s.minutes().items[0];
    let speakers: Vec<_> = item.speakers.iter().map(|sp| (sp.name.as_str(), sp.from, sp.to)).collect();
    assert_eq!(speakers, [("Carla Rossi", at(3), Some(at(6))), ("Bruno Sindaco", at(6), Some(at(7)))]);
    // An absent member gets no floor.
    s.apply(at(9), CHAIR, Command::MarkAbsent { member: ROSSI }).unwrap();
    assert_eq!(s.apply(at(9), CHAIR, Command::GiveFloor { member: ROSSI }), Err(Refusal::NotPresent));
    assert_eq!(s.apply(at(9), ROSSI, Command::RequestFloor), Err(Refusal::NotPresent));
}

#[test]
fn a_vote_is_cast_once_by_present_voters_and_shown_when_closed() {
    let mut s = running();
    assert_eq!(s.apply(at(2), CHAIR, Command::OpenVote), Err(Refusal::NoItem));
    s.apply(at(2), CHAIR, Command::SetItem { item: ItemNo(2) }).unwrap();
    assert_eq!(s.apply(at(2), ROSSI, Command::Vote { choice: Choice::InFavour }), Err(Refusal::NoVoteOpen));
    s.apply(at(3), CHAIR, Command::OpenVote).unwrap();
    assert_eq!(s.apply(at(3), CHAIR, Command::OpenVote), Err(Refusal::VoteOpen));
    assert_eq!(s.apply(at(3), CHAIR, Command::SetItem { item: ItemNo(1) }), Err(Refusal::VoteOpen));
    s.apply(at(4), ROSSI, Command::Vote { choice: Choice::Against }).unwrap();
    assert_eq!(s.apply(at(4), ROSSI, Command::Vote { choice: Choice::InFavour }), Err(Refusal::AlreadyVoted));
    assert_eq!(s.apply(at(4), SECRETARY, Command::Vote { choice: Choice::InFavour }), Err(Refusal::NotAVoter));
    s.apply(at(4), CHAIR, Command::Vote { choice: Choice::InFavour }).unwrap();
    s.apply(at(4), MAYOR, Command::Vote { choice: Choice::InFavour }).unwrap();
    // While open, members see who voted, not how.
    let open = s.snapshot().vote.unwrap();
    assert_eq!(open.voted, vec![CHAIR, MAYOR, ROSSI]);
    assert!(s.snapshot().results.is_empty() && s.public().results.is_empty() && s.public().voting);
    assert_eq!(s.apply(at(5), CHAIR, Command::Close), Err(Refusal::VoteOpen));
    s.apply(at(5), CHAIR, Command::CloseVote).unwrap();
    assert_eq!(s.apply(at(5), MAYOR, Command::Vote { choice: Choice::Against }), Err(Refusal::NoVoteOpen));
    let result = &s.public().results[0];
    assert_eq!((result.in_favour, result.against, result.abstain), (2, 1, 0));
    assert_eq!(result.outcome, Outcome::Approved);
    assert_eq!(result.item_title, "Bilancio");
    let ballots: Vec<_> = result.ballots.iter().map(|b| (b.name.as_str(), b.choice)).collect();
    assert_eq!(
        ballots,
        [("Anna Presidente", Choice::InFavour), ("Bruno Sindaco", Choice::InFavour), ("Carla Rossi", Choice::Against)]
    );
    assert_eq!(s.minutes().items[1].votes.len(), 1);
    s.apply(at(6), CHAIR, Command::Close).unwrap();
    assert_eq!(s.apply(at(6), ROSSI, Command::RequestFloor), Err(Refusal::SessionClosed));
    assert_eq!(s.minutes().closed_at, Some(at(6)));
    assert!(s.minutes().presences.iter().all(|p| p.spans.iter().all(|sp| sp.to.is_some())));
}

#[test]
fn a_member_who_drops_out_before_voting_is_absent_for_that_vote() {
    let mut s = running();
    s.apply(at(2), CHAIR, Command::SetItem { item: ItemNo(1) }).unwrap();
    s.apply(at(2), CHAIR, Command::GiveFloor { member: ROSSI }).unwrap();
    s.apply(at(3), CHAIR, Command::OpenVote).unwrap();
    s.apply(at(3), MAYOR, Command::Vote { choice: Choice::Abstain }).unwrap();
    let events = s.apply(at(4), ROSSI, Command::Disconnected { member: ROSSI }).unwrap();
    let kinds: Vec<_> = events.iter().map(|e| e.kind.clone()).collect();
    assert_eq!(
        kinds,
        [
            EventKind::Disconnected { member: ROSSI },
            EventKind::FloorTaken { member: ROSSI },
            EventKind::AbsentFromVote { number: 1, member: ROSSI },
            EventKind::Absent { member: ROSSI },
        ]
    );
    // The mayor, who had voted, drops out too: the vote stands.
    s.apply(at(4), MAYOR, Command::Disconnected { member: MAYOR }).unwrap();
    // Back before the vote closes: present again, but absent for this vote.
    s.apply(at(5), ROSSI, Command::Connected { member: ROSSI }).unwrap();
    assert!(s.is_present(ROSSI));
    assert_eq!(s.apply(at(5), ROSSI, Command::Vote { choice: Choice::InFavour }), Err(Refusal::AbsentFromVote));
    s.apply(at(6), CHAIR, Command::CloseVote).unwrap();
    let result = &s.results()[0];
    assert_eq!(result.ballots.len(), 1);
    assert_eq!(result.abstain, 1);
    assert_eq!(result.not_voting, vec!["Anna Presidente".to_owned(), "Carla Rossi".to_owned()]);
    // Connecting twice changes nothing; a seat of no one is refused.
    assert_eq!(s.apply(at(7), ROSSI, Command::Connected { member: ROSSI }), Ok(vec![]));
    assert_eq!(s.apply(at(7), CHAIR, Command::Connected { member: MemberId(42) }), Err(Refusal::UnknownMember));
}

#[test]
fn replaying_the_log_gives_the_same_session() {
    let mut s = running();
    let mut log = Vec::new();
    let mut fresh = Session::new(setup());
    for m in [CHAIR, MAYOR, ROSSI, SECRETARY] {
        log.extend(fresh.apply(at(0), m, Command::Connected { member: m }).unwrap());
    }
    log.extend(fresh.apply(at(1), CHAIR, Command::Open).unwrap());
    log.extend(fresh.apply(at(1), CHAIR, Command::CallRoll).unwrap());
    for (who, c) in [
        (CHAIR, Command::SetItem { item: ItemNo(1) }),
        (ROSSI, Command::RequestFloor),
        (CHAIR, Command::GiveFloor { member: ROSSI }),
        (CHAIR, Command::OpenVote),
        (ROSSI, Command::Vote { choice: Choice::InFavour }),
        (CHAIR, Command::CloseVote),
    ] {
        s.apply(at(2), who, c).unwrap();
        log.extend(fresh.apply(at(2), who, c).unwrap());
    }
    assert_eq!(s, fresh);
    let replayed = Session::replay(setup(), &log);
    assert_eq!(replayed, s);
    assert_eq!(replayed.seq(), u64::try_from(log.len()).unwrap());
    assert_eq!(replayed.snapshot(), s.snapshot());
}

#[test]
fn refusals_speak_italian_and_english() {
    assert_eq!(Refusal::AlreadyVoted.message(crate::Lang::It), "Hai già votato.");
    assert_eq!(Refusal::AlreadyVoted.message(crate::Lang::En), "You have already voted.");
    assert_eq!(Refusal::NotChair.code(), "not_chair");
}

fn any_command() -> impl Strategy<Value = (i64, Command)> {
    let member = (1i64..=5).prop_map(MemberId);
    let choice = prop::sample::select(Choice::ALL.to_vec());
    let command = prop_oneof![
        Just(Command::Open),
        Just(Command::CallRoll),
        member.clone().prop_map(|member| Command::MarkPresent { member }),
        member.clone().prop_map(|member| Command::MarkAbsent { member }),
        (0u16..=3).prop_map(|n| Command::SetItem { item: ItemNo(n) }),
        member.clone().prop_map(|member| Command::GiveFloor { member }),
        Just(Command::TakeFloor),
        Just(Command::OpenVote),
        Just(Command::OpenVote),
        Just(Command::CloseVote),
        Just(Command::Close),
        Just(Command::RequestFloor),
        Just(Command::WithdrawRequest),
        choice.clone().prop_map(|choice| Command::Vote { choice }),
        choice.prop_map(|choice| Command::Vote { choice }),
        member.clone().prop_map(|member| Command::Connected { member }),
        member.prop_map(|member| Command::Disconnected { member }),
    ];
    (1i64..=5, command)
}

proptest! {
    /// Whatever members send, in any order: nobody votes twice in a vote, nobody votes while
    /// absent, without a voting role or outside an open vote, and each result's counts are
    /// its recorded ballots; the log replays to the same session.
    #[test]
    fn votes_are_never_cast_twice_absent_or_after_closing(
        start_running in any::<bool>(),
        commands in prop::collection::vec(any_command(), 0..200),
    ) {
        let mut s = Session::new(setup());
        let mut log = Vec::new();
        // Half the cases start with the session open and everyone present, so votes happen.
        if start_running {
            for m in [CHAIR, MAYOR, ROSSI, SECRETARY] {
                log.extend(s.apply(at(0), m, Command::Connected { member: m }).unwrap());
            }
            log.extend(s.apply(at(0), CHAIR, Command::Open).unwrap());
            log.extend(s.apply(at(0), CHAIR, Command::CallRoll).unwrap());
            log.extend(s.apply(at(0), CHAIR, Command::SetItem { item: ItemNo(1) }).unwrap());
        }
        for (i, (actor, command)) in commands.into_iter().enumerate() {
            let now = at(i64::try_from(i).unwrap());
            let actor = MemberId(actor);
            let before = s.clone();
            match s.apply(now, actor, command) {
                Ok(events) => {
                    for e in &events {
                        if let EventKind::VoteCast { number, member, .. } = e.kind {
                            prop_assert_eq!(member, actor);
                            prop_assert!(before.phase() == Phase::Open);
                            prop_assert!(before.is_present(member), "voted while absent");
                            prop_assert!(before.member(member).unwrap().role.votes());
                            let open = before.snapshot().vote;
                            prop_assert!(open.as_ref().is_some_and(|v| v.number == number), "no vote open");
                            let open = open.unwrap();
                            prop_assert!(!open.voted.contains(&member), "voted twice");
                            prop_assert!(!open.absent.contains(&member), "absent for the vote");
                        }
                    }
                    log.extend(events);
                }
                Err(_) => prop_assert_eq!(&s, &before, "a refusal changes nothing"),
            }
        }
        for r in s.results() {
            let count = |c: Choice| u16::try_from(r.ballots.iter().filter(|b| b.choice == c).count()).unwrap();
            prop_assert_eq!(r.in_favour, count(Choice::InFavour));
            prop_assert_eq!(r.against, count(Choice::Against));
            prop_assert_eq!(r.abstain, count(Choice::Abstain));
            let mut voters: Vec<_> = r.ballots.iter().map(|b| b.member).collect();
            voters.dedup();
            prop_assert_eq!(voters.len(), r.ballots.len());
            let casts = log.iter().filter(|e| matches!(e.kind, EventKind::VoteCast { number, .. } if number == r.number)).count();
            prop_assert_eq!(casts, r.ballots.len());
        }
        prop_assert_eq!(Session::replay(setup(), &log), s);
    }
}
