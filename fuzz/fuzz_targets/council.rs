//! What a council member's socket sends (`ricevo_core::council::Command` as JSON), applied by
//! members of every role to one session: lines of `<member 1-5> <JSON>`. Only what the socket
//! accepts reaches the session (system commands are the desk's); whatever is refused, the
//! session's rules hold: nobody votes twice, a ballot belongs to a voting member, the counts
//! equal the ballots, and replaying the accepted events rebuilds the same session.
#![no_main]

use jiff::{SignedDuration, Timestamp};
use libfuzzer_sys::fuzz_target;
use ricevo_core::council::{
    AgendaItem, BodyKind, Command, CouncilSessionId, ItemNo, Member, MemberId, Role, Session, Setup,
};

fn setup() -> Setup {
    let member = |id, name: &str, role| Member { id: MemberId(id), name: name.into(), role };
    Setup {
        id: CouncilSessionId(1),
        body: BodyKind::Council,
        body_name: "Consiglio comunale".into(),
        title: "Seduta".into(),
        starts_at: Timestamp::UNIX_EPOCH,
        items: vec![
            AgendaItem { number: ItemNo(1), title: "Verbali".into() },
            AgendaItem { number: ItemNo(2), title: "Bilancio".into() },
        ],
        members: vec![
            member(1, "Presidente", Role::Chair),
            member(2, "Sindaco", Role::Mayor),
            member(3, "Consigliera", Role::Councillor),
            member(4, "Segretario", Role::Secretary),
            member(5, "Invitato", Role::Invited),
        ],
        quorum: None,
        speech_minutes: Some(5),
    }
}

fuzz_target!(|text: &str| {
    let mut session = Session::new(setup());
    let mut events = Vec::new();
    let mut now = Timestamp::UNIX_EPOCH;
    for member in 1..=5 {
        // Everyone connects first (as the desk does on a socket's opening).
        let connected = session.apply(now, MemberId(member), Command::Connected { member: MemberId(member) });
        events.extend(connected.unwrap_or_default());
    }
    for line in text.lines().take(200) {
        let Some((who, json)) = line.split_once(' ') else { continue };
        let Ok(who) = who.parse::<i64>() else { continue };
        let Ok(command) = serde_json::from_str::<Command>(json) else { continue };
        if matches!(command, Command::Connected { .. } | Command::Disconnected { .. }) && who != 0 {
            continue;
        }
        now += SignedDuration::from_secs(7);
        if let Ok(happened) = session.apply(now, MemberId(who), command) {
            events.extend(happened);
        }
        for result in session.results() {
            let counted = u32::from(result.in_favour) + u32::from(result.against) + u32::from(result.abstain);
            assert_eq!(counted as usize, result.ballots.len(), "{result:?}");
        }
        let ballots = session.open_ballots();
        let mut voters: Vec<MemberId> = ballots.iter().map(|(m, _)| *m).collect();
        voters.sort();
        voters.dedup();
        assert_eq!(voters.len(), ballots.len(), "a member voted twice: {ballots:?}");
        for voter in voters {
            assert!(session.member(voter).is_some_and(|m| m.role.votes()), "{voter:?} may not vote");
        }
    }
    let replayed = Session::replay(setup(), &events);
    assert_eq!(replayed.snapshot(), session.snapshot());
});
