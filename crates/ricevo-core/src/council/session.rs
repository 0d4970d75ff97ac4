//! The session's state machine: commands checked against the rules become events, and events
//! rebuild the state.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;

use super::model::{Choice, Command, Event, EventKind, ItemNo, Member, MemberId, Phase, Role, Setup};
use super::refusal::Refusal;
use super::views::{
    Ballot, FloorView, ItemView, MemberView, Minutes, MinutesItem, MinutesPresence, MinutesSpeech, OpenVoteView,
    Outcome, PublicSnapshot, Quorum, Snapshot, Span, VoteResult,
};

/// The floor holder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Floor {
    member: MemberId,
    since: Timestamp,
    limit_seconds: Option<u32>,
}

/// A vote under way.
#[derive(Debug, Clone, PartialEq, Eq)]
struct OpenVote {
    number: u32,
    item: ItemNo,
    opened_at: Timestamp,
    ballots: BTreeMap<MemberId, Choice>,
    absent: BTreeSet<MemberId>,
    quorum_reached: bool,
}

/// One speech, for the minutes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Speech {
    item: Option<ItemNo>,
    member: MemberId,
    from: Timestamp,
    to: Option<Timestamp>,
}

/// A council session: its setup and everything that happened in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    setup: Setup,
    seq: u64,
    phase: Phase,
    opened_at: Option<Timestamp>,
    closed_at: Option<Timestamp>,
    roll_called: bool,
    presence: BTreeMap<MemberId, Vec<Span>>,
    connected: BTreeSet<MemberId>,
    /// Members whose presence ended because their page disconnected: present again when it
    /// reconnects.
    dropped: BTreeSet<MemberId>,
    item: Option<ItemNo>,
    item_started: BTreeMap<ItemNo, Timestamp>,
    floor: Option<Floor>,
    queue: Vec<MemberId>,
    vote: Option<OpenVote>,
    results: Vec<VoteResult>,
    speeches: Vec<Speech>,
}

impl Session {
    /// A session as scheduled, before anything happened.
    pub fn new(setup: Setup) -> Session {
        Session {
            setup,
            seq: 0,
            phase: Phase::Scheduled,
            opened_at: None,
            closed_at: None,
            roll_called: false,
            presence: BTreeMap::new(),
            connected: BTreeSet::new(),
            dropped: BTreeSet::new(),
            item: None,
            item_started: BTreeMap::new(),
            floor: None,
            queue: Vec::new(),
            vote: None,
            results: Vec::new(),
            speeches: Vec::new(),
        }
    }

    /// The session rebuilt from its setup and its event log, oldest first.
    pub fn replay<'a>(setup: Setup, events: impl IntoIterator<Item = &'a Event>) -> Session {
        let mut session = Session::new(setup);
        for event in events {
            session.record(event);
        }
        session
    }

    /// Checks `command` sent by `actor` (for the system's commands, whoever) against the rules
    /// at `now`. On success the session has moved on, and the events to persist are returned
    /// (possibly none: connecting twice changes nothing).
    pub fn apply(&mut self, now: Timestamp, actor: MemberId, command: Command) -> Result<Vec<Event>, Refusal> {
        let kinds = self.decide(actor, command)?;
        let events: Vec<Event> = kinds.into_iter().map(|kind| Event { at: now, kind }).collect();
        for event in &events {
            self.record(event);
        }
        Ok(events)
    }

    /// The facts the session was scheduled with.
    pub fn setup(&self) -> &Setup {
        &self.setup
    }

    /// How many events the session has.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// Its state.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// A member's seat.
    pub fn member(&self, id: MemberId) -> Option<&Member> {
        self.setup.members.iter().find(|m| m.id == id)
    }

    /// The chair's seat.
    pub fn chair(&self) -> Option<MemberId> {
        self.setup.members.iter().find(|m| m.role == Role::Chair).map(|m| m.id)
    }

    /// Whether `member` is present now.
    pub fn is_present(&self, member: MemberId) -> bool {
        self.presence.get(&member).and_then(|s| s.last()).is_some_and(|s| s.to.is_none())
    }

    /// Whether `member`'s page is connected now.
    pub fn is_connected(&self, member: MemberId) -> bool {
        self.connected.contains(&member)
    }

    /// Who has the floor.
    pub fn floor_holder(&self) -> Option<MemberId> {
        self.floor.map(|f| f.member)
    }

    /// The open vote's ballots so far (member, choice).
    pub fn open_ballots(&self) -> Vec<(MemberId, Choice)> {
        self.vote.as_ref().map(|v| v.ballots.iter().map(|(m, c)| (*m, *c)).collect()).unwrap_or_default()
    }

    /// The closed votes.
    pub fn results(&self) -> &[VoteResult] {
        &self.results
    }

    /// The quorum now.
    pub fn quorum(&self) -> Quorum {
        let voters = self.setup.members.iter().filter(|m| m.role.votes()).count();
        let needed = self.setup.quorum.unwrap_or_else(|| u16::try_from(voters / 2 + 1).unwrap_or(u16::MAX));
        let present = self.setup.members.iter().filter(|m| m.role.votes() && self.is_present(m.id)).count();
        let present = u16::try_from(present).unwrap_or(u16::MAX);
        Quorum { needed, present, reached: present >= needed }
    }

    fn decide(&self, actor: MemberId, command: Command) -> Result<Vec<EventKind>, Refusal> {
        if let Command::Connected { member } | Command::Disconnected { member } = command {
            return self.decide_connection(member, matches!(command, Command::Connected { .. }));
        }
        let me = self.member(actor).ok_or(Refusal::NotMember)?;
        if command.is_chair_only() && me.role != Role::Chair {
            return Err(Refusal::NotChair);
        }
        match self.phase {
            Phase::Closed => return Err(Refusal::SessionClosed),
            Phase::Scheduled if command != Command::Open => return Err(Refusal::NotOpen),
            Phase::Open if command == Command::Open => return Err(Refusal::AlreadyOpen),
            _ => {}
        }
        let mut out = Vec::new();
        match command {
            Command::Open => out.push(EventKind::Opened),
            Command::CallRoll => {
                out.push(EventKind::RollCalled);
                for m in &self.setup.members {
                    let present = self.is_present(m.id);
                    let connected = self.is_connected(m.id);
                    if connected && !present {
                        out.push(EventKind::Present { member: m.id });
                    } else if !connected && present {
                        self.absent_events(m.id, &mut out);
                    }
                }
            }
            Command::MarkPresent { member } => {
                self.member(member).ok_or(Refusal::UnknownMember)?;
                if !self.is_present(member) {
                    out.push(EventKind::Present { member });
                }
            }
            Command::MarkAbsent { member } => {
                self.member(member).ok_or(Refusal::UnknownMember)?;
                if self.is_present(member) {
                    self.absent_events(member, &mut out);
                }
            }
            Command::SetItem { item } => {
                if !self.setup.items.iter().any(|i| i.number == item) {
                    return Err(Refusal::UnknownItem);
                }
                if self.vote.is_some() {
                    return Err(Refusal::VoteOpen);
                }
                if self.item != Some(item) {
                    if let Some(floor) = self.floor {
                        out.push(EventKind::FloorTaken { member: floor.member });
                    }
                    out.push(EventKind::ItemSet { item });
                }
            }
            Command::GiveFloor { member } => {
                self.member(member).ok_or(Refusal::UnknownMember)?;
                if !self.is_present(member) {
                    return Err(Refusal::NotPresent);
                }
                if let Some(floor) = self.floor {
                    if floor.member == member {
                        return Err(Refusal::HasFloor);
                    }
                    out.push(EventKind::FloorTaken { member: floor.member });
                }
                let limit_seconds = self.setup.speech_minutes.map(|m| u32::from(m) * 60);
                out.push(EventKind::FloorGiven { member, limit_seconds });
            }
            Command::TakeFloor => {
                let floor = self.floor.ok_or(Refusal::NoFloor)?;
                if me.role != Role::Chair && floor.member != actor {
                    return Err(Refusal::NotChair);
                }
                out.push(EventKind::FloorTaken { member: floor.member });
            }
            Command::OpenVote => {
                if self.vote.is_some() {
                    return Err(Refusal::VoteOpen);
                }
                let item = self.item.ok_or(Refusal::NoItem)?;
                let number = u32::try_from(self.results.len()).unwrap_or(u32::MAX).saturating_add(1);
                out.push(EventKind::VoteOpened { number, item });
            }
            Command::CloseVote => {
                let vote = self.vote.as_ref().ok_or(Refusal::NoVoteOpen)?;
                out.push(EventKind::VoteClosed { number: vote.number });
            }
            Command::Close => {
                if self.vote.is_some() {
                    return Err(Refusal::VoteOpen);
                }
                if let Some(floor) = self.floor {
                    out.push(EventKind::FloorTaken { member: floor.member });
                }
                out.push(EventKind::Closed);
            }
            Command::RequestFloor => {
                if !self.is_present(actor) {
                    return Err(Refusal::NotPresent);
                }
                if self.floor_holder() == Some(actor) {
                    return Err(Refusal::HasFloor);
                }
                if self.queue.contains(&actor) {
                    return Err(Refusal::AlreadyRequested);
                }
                out.push(EventKind::FloorRequested { member: actor });
            }
            Command::WithdrawRequest => {
                if !self.queue.contains(&actor) {
                    return Err(Refusal::NotRequested);
                }
                out.push(EventKind::RequestWithdrawn { member: actor });
            }
            Command::Vote { choice } => {
                let vote = self.vote.as_ref().ok_or(Refusal::NoVoteOpen)?;
                if !me.role.votes() {
                    return Err(Refusal::NotAVoter);
                }
                if vote.ballots.contains_key(&actor) {
                    return Err(Refusal::AlreadyVoted);
                }
                if vote.absent.contains(&actor) {
                    return Err(Refusal::AbsentFromVote);
                }
                if !self.is_present(actor) {
                    return Err(Refusal::NotPresent);
                }
                out.push(EventKind::VoteCast { number: vote.number, member: actor, choice });
            }
            Command::Connected { .. } | Command::Disconnected { .. } => return Err(Refusal::Malformed),
        }
        Ok(out)
    }

    fn decide_connection(&self, member: MemberId, connected: bool) -> Result<Vec<EventKind>, Refusal> {
        self.member(member).ok_or(Refusal::UnknownMember)?;
        let mut out = Vec::new();
        if self.phase == Phase::Closed || self.is_connected(member) == connected {
            return Ok(out);
        }
        if connected {
            out.push(EventKind::Connected { member });
            if self.phase == Phase::Open && self.dropped.contains(&member) && !self.is_present(member) {
                out.push(EventKind::Present { member });
            }
        } else {
            out.push(EventKind::Disconnected { member });
            if self.phase == Phase::Open && self.is_present(member) {
                self.absent_events(member, &mut out);
            }
        }
        Ok(out)
    }

    /// What a present member's leaving causes: the floor taken, the request withdrawn, absent
    /// for the open vote if they had not voted, absent.
    fn absent_events(&self, member: MemberId, out: &mut Vec<EventKind>) {
        if self.floor_holder() == Some(member) {
            out.push(EventKind::FloorTaken { member });
        }
        if self.queue.contains(&member) {
            out.push(EventKind::RequestWithdrawn { member });
        }
        if let Some(vote) = &self.vote {
            let votes = self.member(member).is_some_and(|m| m.role.votes());
            if votes && !vote.ballots.contains_key(&member) && !vote.absent.contains(&member) {
                out.push(EventKind::AbsentFromVote { number: vote.number, member });
            }
        }
        out.push(EventKind::Absent { member });
    }

    /// Moves the state on by one event. Never fails: the log is the truth, and an event that
    /// does not fit (which `apply` never produces) changes nothing.
    fn record(&mut self, event: &Event) {
        self.seq += 1;
        let at = event.at;
        match &event.kind {
            EventKind::Opened => {
                self.phase = Phase::Open;
                self.opened_at = Some(at);
            }
            EventKind::RollCalled => self.roll_called = true,
            EventKind::Present { member } => {
                if !self.is_present(*member) {
                    self.presence.entry(*member).or_default().push(Span { from: at, to: None });
                }
                self.dropped.remove(member);
            }
            EventKind::Absent { member } => {
                self.end_presence(*member, at);
                self.queue.retain(|m| m != member);
            }
            EventKind::Connected { member } => {
                self.connected.insert(*member);
            }
            EventKind::Disconnected { member } => {
                if self.phase == Phase::Open && self.is_present(*member) {
                    self.dropped.insert(*member);
                }
                self.connected.remove(member);
            }
            EventKind::ItemSet { item } => {
                self.item = Some(*item);
                self.item_started.entry(*item).or_insert(at);
            }
            EventKind::FloorRequested { member } => {
                if !self.queue.contains(member) {
                    self.queue.push(*member);
                }
            }
            EventKind::RequestWithdrawn { member } => self.queue.retain(|m| m != member),
            EventKind::FloorGiven { member, limit_seconds } => {
                self.end_speech(at);
                self.floor = Some(Floor { member: *member, since: at, limit_seconds: *limit_seconds });
                self.queue.retain(|m| m != member);
                self.speeches.push(Speech { item: self.item, member: *member, from: at, to: None });
            }
            EventKind::FloorTaken { .. } => self.end_speech(at),
            EventKind::VoteOpened { number, item } => {
                let quorum_reached = self.quorum().reached;
                self.vote = Some(OpenVote {
                    number: *number,
                    item: *item,
                    opened_at: at,
                    ballots: BTreeMap::new(),
                    absent: BTreeSet::new(),
                    quorum_reached,
                });
            }
            EventKind::VoteCast { number, member, choice } => {
                if let Some(vote) = self.vote.as_mut().filter(|v| v.number == *number) {
                    vote.ballots.entry(*member).or_insert(*choice);
                }
            }
            EventKind::AbsentFromVote { number, member } => {
                if let Some(vote) = self.vote.as_mut().filter(|v| v.number == *number) {
                    vote.absent.insert(*member);
                }
            }
            EventKind::VoteClosed { number } => {
                if self.vote.as_ref().is_some_and(|v| v.number == *number)
                    && let Some(vote) = self.vote.take()
                {
                    let result = self.result_of(&vote, at);
                    self.results.push(result);
                }
            }
            EventKind::Closed => {
                self.end_speech(at);
                let members: Vec<MemberId> = self.presence.keys().copied().collect();
                for member in members {
                    self.end_presence(member, at);
                }
                self.queue.clear();
                self.vote = None;
                self.phase = Phase::Closed;
                self.closed_at = Some(at);
            }
        }
    }

    fn end_presence(&mut self, member: MemberId, at: Timestamp) {
        if let Some(span) = self.presence.get_mut(&member).and_then(|s| s.last_mut())
            && span.to.is_none()
        {
            span.to = Some(at);
        }
    }

    fn end_speech(&mut self, at: Timestamp) {
        if let Some(floor) = self.floor.take()
            && let Some(speech) = self.speeches.iter_mut().rev().find(|s| s.member == floor.member && s.to.is_none())
        {
            speech.to = Some(at);
        }
    }

    fn name_of(&self, member: MemberId) -> String {
        self.member(member).map(|m| m.name.clone()).unwrap_or_default()
    }

    fn item_title(&self, item: ItemNo) -> String {
        self.setup.items.iter().find(|i| i.number == item).map(|i| i.title.clone()).unwrap_or_default()
    }

    fn result_of(&self, vote: &OpenVote, closed_at: Timestamp) -> VoteResult {
        let mut ballots = Vec::new();
        let mut not_voting = Vec::new();
        let (mut in_favour, mut against, mut abstain) = (0u16, 0u16, 0u16);
        for m in &self.setup.members {
            match vote.ballots.get(&m.id) {
                Some(choice) => {
                    match choice {
                        Choice::InFavour => in_favour = in_favour.saturating_add(1),
                        Choice::Against => against = against.saturating_add(1),
                        Choice::Abstain => abstain = abstain.saturating_add(1),
                    }
                    ballots.push(Ballot { member: m.id, name: m.name.clone(), choice: *choice });
                }
                None if m.role.votes() => not_voting.push(m.name.clone()),
                None => {}
            }
        }
        VoteResult {
            number: vote.number,
            item: vote.item,
            item_title: self.item_title(vote.item),
            opened_at: vote.opened_at,
            closed_at,
            in_favour,
            against,
            abstain,
            ballots,
            not_voting,
            quorum_reached: vote.quorum_reached,
            outcome: if in_favour > against { Outcome::Approved } else { Outcome::Rejected },
        }
    }

    fn items(&self) -> Vec<ItemView> {
        self.setup.items.iter().map(|i| ItemView { number: i.number, title: i.title.clone() }).collect()
    }

    /// The session as its members see it.
    pub fn snapshot(&self) -> Snapshot {
        let members = self
            .setup
            .members
            .iter()
            .map(|m| MemberView {
                id: m.id,
                name: m.name.clone(),
                role: m.role,
                votes: m.role.votes(),
                present: self.is_present(m.id),
                connected: self.is_connected(m.id),
                present_since: self
                    .presence
                    .get(&m.id)
                    .and_then(|s| s.last())
                    .filter(|s| s.to.is_none())
                    .map(|s| s.from),
            })
            .collect();
        Snapshot {
            session: self.setup.id,
            seq: self.seq,
            state: self.phase,
            body: self.setup.body,
            body_name: self.setup.body_name.clone(),
            title: self.setup.title.clone(),
            starts_at: self.setup.starts_at,
            opened_at: self.opened_at,
            closed_at: self.closed_at,
            roll_called: self.roll_called,
            items: self.items(),
            item: self.item,
            members,
            chair: self.chair(),
            quorum: self.quorum(),
            floor: self.floor.map(|f| FloorView {
                member: f.member,
                name: self.name_of(f.member),
                since: f.since,
                limit_seconds: f.limit_seconds,
                ends_at: f
                    .limit_seconds
                    .and_then(|s| f.since.checked_add(jiff::SignedDuration::from_secs(i64::from(s))).ok()),
            }),
            queue: self.queue.clone(),
            vote: self.vote.as_ref().map(|v| OpenVoteView {
                number: v.number,
                item: v.item,
                opened_at: v.opened_at,
                voted: v.ballots.keys().copied().collect(),
                absent: v.absent.iter().copied().collect(),
            }),
            results: self.results.clone(),
        }
    }

    /// The session as a viewer sees it.
    pub fn public(&self) -> PublicSnapshot {
        PublicSnapshot {
            session: self.setup.id,
            seq: self.seq,
            state: self.phase,
            body: self.setup.body,
            body_name: self.setup.body_name.clone(),
            title: self.setup.title.clone(),
            starts_at: self.setup.starts_at,
            items: self.items(),
            item: self.item.map(|n| ItemView { number: n, title: self.item_title(n) }),
            speaker: self.floor.map(|f| self.name_of(f.member)),
            speaker_since: self.floor.map(|f| f.since),
            voting: self.vote.is_some(),
            results: self.results.clone(),
        }
    }

    /// The skeleton of the minutes: presences with times, items with speakers and votes.
    pub fn minutes(&self) -> Minutes {
        let presences = self
            .setup
            .members
            .iter()
            .map(|m| MinutesPresence {
                member: m.id,
                name: m.name.clone(),
                role: m.role,
                spans: self.presence.get(&m.id).cloned().unwrap_or_default(),
            })
            .collect();
        let speech =
            |s: &Speech| MinutesSpeech { member: s.member, name: self.name_of(s.member), from: s.from, to: s.to };
        let items = self
            .setup
            .items
            .iter()
            .map(|i| MinutesItem {
                number: i.number,
                title: i.title.clone(),
                discussed_from: self.item_started.get(&i.number).copied(),
                speakers: self.speeches.iter().filter(|s| s.item == Some(i.number)).map(speech).collect(),
                votes: self.results.iter().filter(|r| r.item == i.number).cloned().collect(),
            })
            .collect();
        Minutes {
            session: self.setup.id,
            state: self.phase,
            body: self.setup.body,
            body_name: self.setup.body_name.clone(),
            title: self.setup.title.clone(),
            starts_at: self.setup.starts_at,
            opened_at: self.opened_at,
            closed_at: self.closed_at,
            presences,
            items,
            opening_speakers: self.speeches.iter().filter(|s| s.item.is_none()).map(speech).collect(),
        }
    }
}
