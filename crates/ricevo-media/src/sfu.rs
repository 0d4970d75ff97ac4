//! The room router: a sans-IO selective forwarding unit.
//!
//! The router never touches a socket or a clock. Its driver feeds it received datagrams and
//! the current time ([`Sfu::handle_input`]), calls its commands (join, answer, leave, ...),
//! and drains [`Sfu::poll_output`] until it returns [`SfuOutput::Timeout`]: the datagrams to
//! send, the events for each participant, and when to wake it next. Tests drive it in virtual
//! time with str0m peers in memory.

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ricevo_stream::{Feed, FeedMessage, StreamPacket};
use str0m::change::{SdpAnswer, SdpOffer};
use str0m::config::{CryptoProvider, DtlsCert};
use str0m::media::{Direction, MediaKind, Mid};
use str0m::net::{Receive, TcpType, Transmit};
use str0m::rtp::{ExtensionValues, RtpPacket, RtpWrite, Ssrc};
use str0m::{Candidate, Event, IceConnectionState, Input, Output, Rtc};

use crate::bandwidth::{Demand, VideoGate, allocate};
use crate::participant::{
    IdMap, OutState, Participant, SequenceRewrite, Slot, SlotState, TrackOut, offered_slots, offered_sources,
    rtp_payload_type,
};
use crate::simulcast::{LayerForward, is_keyframe_start};
use crate::{
    MAX_PARTICIPANTS_PER_ROOM, MediaError, MediaEvent, MediaStats, ParticipantId, Permissions, RoomId, RoomOptions,
    Source, TrackKind, View,
};

/// How often each session reports what it sent and what its receiver reports said (the
/// bandwidth estimate's input).
const STATS_INTERVAL: Duration = Duration::from_secs(1);
/// Wake-up when nothing at all is scheduled.
const IDLE_WAKE: Duration = Duration::from_secs(1);
/// How often the simulcast layers each receiver gets are chosen again (its bandwidth estimate
/// and the senders' layers change), at most.
const ALLOCATION_INTERVAL: Duration = Duration::from_millis(500);

/// An opened room: its options and the stream's state.
#[derive(Debug)]
struct RoomState {
    capacity: usize,
    simulcast_h264: bool,
    stream: Option<StreamTap>,
}

/// What goes to the room's stream.
#[derive(Debug)]
struct StreamTap {
    feed: Feed,
    /// Whose camera the stream shows.
    video: Option<ParticipantId>,
    /// The layer of the shown camera forwarded (its top layer) and the stream's numbers.
    layer: LayerForward,
    /// The camera shown before, still forwarded until the new one's first keyframe.
    previous: Option<(ParticipantId, LayerForward)>,
    /// Whose microphones the stream carries.
    audio: Vec<ParticipantId>,
}

/// How the router presents itself to browsers.
#[derive(Debug, Clone)]
pub struct SfuConfig {
    /// UDP host candidates announced in every answer (the addresses browsers send media to).
    pub candidates: Vec<SocketAddr>,
    /// Passive TCP host candidates announced too (RFC 6544; packets framed as RFC 4571).
    pub tcp_candidates: Vec<SocketAddr>,
}

/// What the router wants done; drain with [`Sfu::poll_output`] until `Timeout`.
#[derive(Debug)]
pub enum SfuOutput {
    /// A datagram to send.
    Transmit(Transmit),
    /// An event for one participant's signalling.
    Event(ParticipantId, MediaEvent),
    /// Nothing more to do until this time (or until new input).
    Timeout(Instant),
}

/// Input from the network or the clock.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // like str0m's `Input`: built on the stack, never stored
pub enum SfuInput<'a> {
    /// Time has passed.
    Timeout(Instant),
    /// A datagram arrived.
    Receive(Instant, Receive<'a>),
}

/// How much state the router holds: for tests and diagnostics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Footprint {
    /// Participants in all rooms.
    pub participants: usize,
    /// Rooms with at least one participant.
    pub rooms: usize,
    /// Tracks received from browsers.
    pub tracks_in: usize,
    /// Tracks sent (or being negotiated) towards browsers.
    pub tracks_out: usize,
    /// Remote addresses remembered for demultiplexing.
    pub addresses: usize,
}

/// The selective forwarding unit: rooms of participants whose media it forwards to each other.
#[derive(Debug)]
pub struct Sfu {
    config: SfuConfig,
    crypto: Arc<CryptoProvider>,
    cert: Option<DtlsCert>,
    gate: VideoGate,
    participants: IdMap<ParticipantId, Participant>,
    rooms: IdMap<RoomId, Vec<ParticipantId>>,
    /// Rooms opened with options (see [`Sfu::open_room`]), until closed.
    room_states: IdMap<RoomId, RoomState>,
    /// Views set for participants; like mutes, they outlive a new session.
    views: HashMap<ParticipantId, View>,
    /// Participants the official muted. Kept apart from their session, so a new offer (a
    /// renegotiation, a reload: `join` replaces the session) does not lift the mute; only
    /// `set_muted(.., false)` or the room's closing does.
    muted: HashSet<ParticipantId>,
    /// Which participant a remote address belongs to (filled when its `Rtc` accepts a packet).
    addresses: HashMap<SocketAddr, ParticipantId>,
    /// Participants whose `Rtc` may have output (a stack; `Participant::ready` dedups).
    ready: Vec<ParticipantId>,
    events: VecDeque<(ParticipantId, MediaEvent)>,
    /// Datagrams produced while handling input, sent before anything else.
    transmits: VecDeque<Transmit>,
    due: Vec<ParticipantId>,
    now: Instant,
    stats: MediaStats,
}

impl Sfu {
    /// A router with no rooms yet.
    pub fn new(config: SfuConfig, now: Instant) -> Sfu {
        let crypto = Arc::new(str0m::crypto::from_feature_flags());
        // One certificate for every session: generating a key per participant costs time on
        // the media thread and buys nothing (the fingerprint travels in each answer).
        let cert = crypto.dtls_provider.generate_certificate();
        Sfu {
            config,
            crypto,
            cert,
            gate: VideoGate::default(),
            participants: IdMap::default(),
            rooms: IdMap::default(),
            room_states: IdMap::default(),
            views: HashMap::new(),
            muted: HashSet::new(),
            addresses: HashMap::new(),
            ready: Vec::new(),
            events: VecDeque::new(),
            transmits: VecDeque::new(),
            due: Vec::new(),
            now,
            stats: MediaStats::default(),
        }
    }

    /// Adds `who` to `room` with the browser's offer and returns the SDP answer. A participant
    /// that is already in a room (a reload, a dropped connection) is replaced.
    ///
    /// Receive-only m-lines in the offer are kept as slots for the others' tracks: those
    /// already in the room are placed on them right away (their `Track` events follow the
    /// answer), so their media flow without a second negotiation; tracks that find no slot
    /// come in a server offer, as do tracks on slots that were used before.
    pub fn join(
        &mut self,
        now: Instant,
        room: RoomId,
        who: ParticipantId,
        offer_sdp: &str,
        permissions: Permissions,
    ) -> Result<String, MediaError> {
        self.advance(now);
        let offer =
            browser_sdp(|| SdpOffer::from_sdp_string(offer_sdp))?.map_err(|e| MediaError::Sdp(e.to_string()))?;
        let others = self.rooms.get(&room).map_or(0, |members| members.iter().filter(|m| **m != who).count());
        let state = self.room_states.get(&room);
        let capacity = state.map_or(MAX_PARTICIPANTS_PER_ROOM, |s| s.capacity);
        if others >= capacity {
            return Err(MediaError::RoomFull);
        }

        let mut rtc = self.new_rtc(now, state.is_some_and(|s| s.simulcast_h264));
        let udp = self.config.candidates.iter().map(|addr| (*addr, Candidate::host(*addr, "udp")));
        let tcp = self
            .config
            .tcp_candidates
            .iter()
            .map(|addr| (*addr, Candidate::builder().tcp().host(*addr).tcptype(TcpType::Passive).build()));
        for (addr, candidate) in udp.chain(tcp) {
            match candidate {
                Ok(candidate) => {
                    rtc.add_local_candidate(candidate);
                }
                Err(e) => tracing::warn!("candidate {addr} refused: {e}"),
            }
        }
        // The Rtc is new and dropped if str0m panics: nothing shared is left half-changed.
        let answer = browser_sdp(|| rtc.sdp_api().accept_offer(offer))??.to_sdp_string();
        // With no codec in common, str0m answers with m-lines that list no format, which no
        // browser (nor str0m itself) reads: refuse the offer with an error the page can show.
        if SdpAnswer::from_sdp_string(&answer).is_err() {
            return Err(MediaError::Sdp("no audio or video format in common".into()));
        }

        if self.participants.contains_key(&who) {
            self.leave(now, who);
        }
        // Events still queued for an earlier session of this participant mean nothing now.
        self.events.retain(|(to, _)| *to != who);

        // Slots are the receive-only lines str0m now sends on.
        let slots = offered_slots(offer_sdp)
            .into_iter()
            .filter(|(mid, _)| rtc.media(*mid).is_some_and(|m| m.direction() == Direction::SendOnly))
            .map(|(mid, kind)| Slot { mid, kind, state: SlotState::Fresh })
            .collect();
        let mut participant = Participant::new(who, room, rtc, permissions, offered_sources(offer_sdp), slots, now);
        participant.muted = self.muted.contains(&who);
        participant.view = self.views.get(&who).cloned();
        let members = self.rooms.entry(room).or_default();
        for other in members.iter() {
            let Some(other) = self.participants.get(other) else {
                continue;
            };
            for track in &other.tracks_in {
                if other.may_send(track.source)
                    && let Some(event) =
                        participant.add_track_out(new_track_out(other.id, track.mid, track.kind, track.source))
                {
                    self.events.push_back((who, event));
                }
            }
        }
        members.push(who);
        self.participants.insert(who, participant);
        self.allocate_layers(who);
        self.mark_ready(who);
        tracing::info!(room = room.0, participant = who.0, "joined");
        Ok(answer)
    }

    /// Applies the browser's answer to the last server offer sent to `who`.
    pub fn answer(&mut self, now: Instant, who: ParticipantId, answer_sdp: &str) -> Result<(), MediaError> {
        self.advance(now);
        let answer =
            browser_sdp(|| SdpAnswer::from_sdp_string(answer_sdp))?.map_err(|e| MediaError::Sdp(e.to_string()))?;
        let participant = self.participants.get_mut(&who).ok_or(MediaError::UnknownParticipant)?;
        let pending = participant.pending.take().ok_or(MediaError::NoPendingOffer)?;
        match browser_sdp(|| participant.rtc.sdp_api().accept_answer(pending, answer)) {
            Ok(accepted) => accepted?,
            // The session may be half-changed: it ends, and the page can join again.
            Err(refused) => {
                self.leave(now, who);
                return Err(refused);
            }
        }

        let mut opened = Vec::new();
        let slots = &mut participant.slots;
        participant.tracks_out.retain_mut(|track| match track.state {
            OutState::Negotiating => {
                track.state = OutState::Open;
                if track.kind == TrackKind::Video {
                    opened.push((track.from, track.from_mid));
                }
                true
            }
            OutState::NegotiatingStop => {
                // A slot's line is inactive now, free for the next track of its kind.
                if let Some(slot) = slots.iter_mut().find(|s| Some(s.mid) == track.mid) {
                    slot.state = SlotState::Idle;
                }
                false
            }
            OutState::ToOpen | OutState::Open => true,
        });
        if !participant.connected {
            // Asked for when the connection is up: a keyframe now would arrive before it.
            opened.clear();
        }
        // Anything that changed while this offer was out goes in the next one.
        participant.needs_offer =
            participant.tracks_out.iter().any(|t| t.state == OutState::ToOpen || (t.gone && t.state == OutState::Open));
        self.mark_ready(who);
        // A receiver that just opened a video track needs a keyframe to start decoding.
        for (from, mid) in opened {
            self.request_keyframe(from, mid, None);
        }
        self.allocate_layers(who);
        Ok(())
    }

    /// Removes `who` from its room and frees its session; the others' tracks from it end.
    pub fn leave(&mut self, now: Instant, who: ParticipantId) {
        self.advance(now);
        let Some(mut participant) = self.participants.remove(&who) else {
            return;
        };
        participant.rtc.disconnect();
        self.addresses.retain(|_, p| *p != who);
        self.ready.retain(|p| *p != who);
        self.events.retain(|(to, _)| *to != who);
        let room = participant.room;
        if let Some(members) = self.rooms.get_mut(&room) {
            members.retain(|m| *m != who);
            if members.is_empty() {
                self.rooms.remove(&room);
            }
        }
        let members = self.rooms.get(&room).cloned().unwrap_or_default();
        for member in members {
            let Some(other) = self.participants.get_mut(&member) else {
                continue;
            };
            let mut changed = false;
            other.tracks_out.retain_mut(|track| {
                if track.from != who {
                    return true;
                }
                changed = true;
                if track.state == OutState::ToOpen {
                    // Never offered: nothing to stop in the browser.
                    return false;
                }
                track.gone = true;
                true
            });
            if changed {
                other.needs_offer = true;
                self.mark_ready(member);
            }
        }
        tracing::info!(room = room.0, participant = who.0, "left");
    }

    /// Removes everyone from `room` and forgets its options (the stream's feed is told the
    /// end); returns who was in it.
    pub fn close_room(&mut self, now: Instant, room: RoomId) -> Vec<ParticipantId> {
        let members = self.rooms.get(&room).cloned().unwrap_or_default();
        for member in &members {
            self.leave(now, *member);
            self.muted.remove(member);
            self.views.remove(member);
        }
        if let Some(tap) = self.room_states.remove(&room).and_then(|s| s.stream) {
            tap.feed.send(FeedMessage::End);
        }
        members
    }

    /// Sets up `room` (see [`RoomOptions`]), before anyone joins it; kept until
    /// [`Sfu::close_room`]. Opening it again replaces the options; the stream then starts
    /// with no sources (and the feed replaced is told the end).
    pub fn open_room(&mut self, room: RoomId, options: RoomOptions) {
        let RoomOptions { capacity, simulcast_h264, stream } = options;
        let stream = stream.map(|feed| StreamTap {
            feed,
            video: None,
            layer: LayerForward::default(),
            previous: None,
            audio: Vec::new(),
        });
        let state = RoomState { capacity, simulcast_h264, stream };
        if let Some(old) = self.room_states.insert(room, state).and_then(|s| s.stream) {
            old.feed.send(FeedMessage::End);
        }
    }

    /// Chooses whose video `who` receives and at which layer (see [`View`]); kept across a new
    /// session of `who` until its room closes.
    pub fn set_view(&mut self, who: ParticipantId, view: View) {
        if let Some(participant) = self.participants.get_mut(&who) {
            participant.view = Some(view.clone());
        }
        self.views.insert(who, view);
        self.allocate_layers(who);
    }

    /// Chooses the stream's video source (its camera's top layer) and audio sources (their
    /// microphones, unless muted) in an opened `room` with a feed. A new video source is
    /// announced to the packager with [`FeedMessage::Show`] and asked for a keyframe; the one
    /// before goes on until that keyframe arrives.
    pub fn set_stream_sources(&mut self, room: RoomId, video: Option<ParticipantId>, audio: &[ParticipantId]) {
        let Some(tap) = self.room_states.get_mut(&room).and_then(|s| s.stream.as_mut()) else {
            return;
        };
        tap.audio = audio.to_vec();
        if tap.video == video {
            return;
        }
        let old = tap.video.take().map(|old| (old, std::mem::take(&mut tap.layer)));
        // Keep showing the old camera only while it has shown something.
        tap.previous = old.filter(|(_, layer)| layer.current().is_some());
        tap.video = video;
        let Some(shown) = video else {
            tap.previous = None;
            return;
        };
        tap.feed.send(FeedMessage::Show { video: shown.0 as u64 });
        let now = self.now;
        let cameras: Vec<(Mid, Option<usize>)> = self
            .participants
            .get(&shown)
            .map(|p| {
                p.tracks_in.iter().filter(|t| t.source == Source::Camera).map(|t| (t.mid, t.top_layer(now))).collect()
            })
            .unwrap_or_default();
        for (mid, layer) in cameras {
            if let Some(tap) = self.room_states.get_mut(&room).and_then(|s| s.stream.as_mut()) {
                tap.layer.set_target(layer.or(Some(0)));
            }
            self.request_keyframe(shown, mid, layer);
        }
    }

    /// Chooses the simulcast layer of each source `who` receives: the view's wish (large: the
    /// top layer; small: the lowest; not listed: none), within its downlink estimate (see
    /// [`allocate`]), among the layers that flow. A track whose layer changes asks its sender
    /// for a keyframe of the new layer; the switch happens there.
    fn allocate_layers(&mut self, who: ParticipantId) {
        let now = self.now;
        let Some(receiver) = self.participants.get(&who) else {
            return;
        };
        // (index in tracks_out, rank in the view, demand)
        let mut wants: Vec<(usize, usize, Demand)> = Vec::new();
        let mut unseen: Vec<usize> = Vec::new();
        for (i, track) in receiver.tracks_out.iter().enumerate() {
            if track.kind != TrackKind::Video || track.gone {
                continue;
            }
            let Some(source) = self.participants.get(&track.from).and_then(|p| p.track_in(track.from_mid)) else {
                continue;
            };
            if source.layers.is_empty() {
                continue;
            }
            let top = source.layers.len() - 1;
            let rank_and_layer = match &receiver.view {
                None => Some((0, top)),
                Some(view) => {
                    let large = view.large.iter().position(|p| *p == track.from);
                    let small = view.small.iter().position(|p| *p == track.from);
                    match (large, small) {
                        (Some(rank), _) => Some((rank, top)),
                        (None, Some(rank)) => Some((view.large.len() + rank, 0)),
                        (None, None) => None,
                    }
                }
            };
            let Some((rank, wanted)) = rank_and_layer else {
                unseen.push(i);
                continue;
            };
            let demand = Demand {
                wanted,
                rates: source.layers.iter().map(|l| l.bps()).collect(),
                active: source.layers.iter().map(|l| l.active(now)).collect(),
            };
            wants.push((i, rank, demand));
        }
        wants.sort_by_key(|(_, rank, _)| *rank);
        let demands: Vec<Demand> = wants.iter().map(|(_, _, d)| d.clone()).collect();
        let chosen = if receiver.receives_video() {
            allocate(receiver.downlink.bps(), &demands)
        } else {
            vec![None; demands.len()]
        };
        let targets = wants.iter().map(|(i, _, _)| *i).zip(chosen).chain(unseen.into_iter().map(|i| (i, None)));
        let mut asks = Vec::new();
        let Some(receiver) = self.participants.get_mut(&who) else {
            return;
        };
        receiver.next_allocation = now + ALLOCATION_INTERVAL;
        for (i, target) in targets {
            let Some(track) = receiver.tracks_out.get_mut(i) else {
                continue;
            };
            // A switch still waiting for its keyframe asks again (the first request may have
            // gone before the layer's first packet).
            if track.layer.set_target(target) || track.layer.switching() {
                asks.push((track.from, track.from_mid, target));
            }
        }
        for (from, mid, layer) in asks {
            self.request_keyframe(from, mid, layer);
        }
    }

    /// Stops (or resumes) forwarding `who`'s microphone to the others, until told otherwise:
    /// the mute outlives a new session of `who` (see [`Sfu::join`]).
    pub fn set_muted(&mut self, who: ParticipantId, muted: bool) {
        if muted {
            self.muted.insert(who);
        } else {
            self.muted.remove(&who);
        }
        if let Some(participant) = self.participants.get_mut(&who) {
            participant.muted = muted;
        }
    }

    /// Stops (or resumes) forwarding any video to `who`.
    pub fn set_audio_only(&mut self, who: ParticipantId, on: bool) {
        let Some(participant) = self.participants.get_mut(&who) else {
            return;
        };
        let was_receiving = participant.receives_video();
        participant.audio_only = on;
        if !was_receiving && participant.receives_video() {
            self.request_keyframes_for(who);
        }
    }

    /// Rooms, participants and traffic so far.
    pub fn stats(&self) -> MediaStats {
        MediaStats { rooms: self.rooms.len() as u64, participants: self.participants.len() as u64, ..self.stats }
    }

    /// How much state the router holds right now.
    pub fn footprint(&self) -> Footprint {
        Footprint {
            participants: self.participants.len(),
            rooms: self.rooms.len(),
            tracks_in: self.participants.values().map(|p| p.tracks_in.len()).sum(),
            tracks_out: self.participants.values().map(|p| p.tracks_out.len()).sum(),
            addresses: self.addresses.len(),
        }
    }

    /// Whether video is forwarded to `who` now (not audio-only, bandwidth sufficient); `None`
    /// when `who` is not in a room.
    pub fn receives_video(&self, who: ParticipantId) -> Option<bool> {
        self.participants.get(&who).map(Participant::receives_video)
    }

    /// Whether `who` is in a room.
    pub fn contains(&self, who: ParticipantId) -> bool {
        self.participants.contains_key(&who)
    }

    /// Feeds a received datagram or the passing of time. A datagram no participant accepts
    /// is dropped.
    pub fn handle_input(&mut self, input: SfuInput<'_>) {
        match input {
            SfuInput::Timeout(now) => {
                self.advance(now);
                // A reused buffer: this runs after every datagram.
                let mut due = std::mem::take(&mut self.due);
                due.clear();
                due.extend(self.participants.values().filter(|p| p.next_timeout <= now).map(|p| p.id));
                for &id in &due {
                    if let Some(participant) = self.participants.get_mut(&id) {
                        match participant.rtc.handle_input(Input::Timeout(now)) {
                            Ok(()) => participant.timers_ran(),
                            Err(e) => {
                                tracing::warn!(participant = id.0, "timeout failed: {e}");
                                participant.rtc.disconnect();
                            }
                        }
                        self.mark_ready(id);
                    }
                }
                self.due = due;
            }
            SfuInput::Receive(now, receive) => {
                self.advance(now);
                // Bytes received are counted by the driver: the parsed datagram hides its size.
                self.stats.datagrams_received += 1;
                let input = Input::Receive(now, receive);
                let Some(id) = self.owner_of(&input) else {
                    tracing::trace!("no participant accepts a datagram");
                    return;
                };
                if let Some(participant) = self.participants.get_mut(&id) {
                    // str0m runs the session's timers after each received datagram.
                    match participant.rtc.handle_input(input) {
                        Ok(()) => participant.timers_ran(),
                        Err(e) => tracing::debug!(participant = id.0, "bad input: {e}"),
                    }
                    self.take_output(id);
                    self.mark_ready(id);
                }
            }
        }
    }

    /// Handles what one datagram produced in `id`'s session right away: in RTP mode an `Rtc`
    /// holds a single received packet, which the next datagram would replace. Datagrams to
    /// send wait in `transmits` for [`Sfu::poll_output`].
    fn take_output(&mut self, id: ParticipantId) {
        let now = self.now;
        loop {
            let Some(participant) = self.participants.get_mut(&id) else {
                return;
            };
            if !participant.rtc.is_alive() {
                return;
            }
            match participant.rtc.poll_output() {
                Ok(Output::Transmit(transmit)) => {
                    participant.sent(&transmit.contents);
                    self.count_sent(&transmit);
                    self.transmits.push_back(transmit);
                }
                Ok(Output::Timeout(at)) => {
                    participant.next_timeout = participant.next_run(at, now);
                    return;
                }
                Ok(Output::Event(event)) => self.handle_event(id, event),
                Err(e) => {
                    tracing::warn!(participant = id.0, "session failed: {e}");
                    participant.rtc.disconnect();
                    return;
                }
            }
        }
    }

    /// The next thing to do. Call until it returns [`SfuOutput::Timeout`].
    pub fn poll_output(&mut self) -> SfuOutput {
        loop {
            if let Some((to, event)) = self.events.pop_front() {
                return SfuOutput::Event(to, event);
            }
            if let Some(transmit) = self.transmits.pop_front() {
                return SfuOutput::Transmit(transmit);
            }
            let Some(&id) = self.ready.last() else {
                return SfuOutput::Timeout(self.next_timeout());
            };
            let Some(participant) = self.participants.get_mut(&id) else {
                self.ready.pop();
                continue;
            };
            if !participant.rtc.is_alive() {
                tracing::info!(participant = id.0, "session ended");
                let now = self.now;
                self.leave(now, id);
                self.events.push_back((id, MediaEvent::Disconnected));
                continue;
            }
            if participant.needs_offer && participant.pending.is_none() {
                offer(participant, &mut self.events);
                continue;
            }
            match participant.rtc.poll_output() {
                Ok(Output::Transmit(transmit)) => {
                    participant.sent(&transmit.contents);
                    self.count_sent(&transmit);
                    return SfuOutput::Transmit(transmit);
                }
                Ok(Output::Timeout(at)) => {
                    participant.next_timeout = participant.next_run(at, self.now);
                    participant.ready = false;
                    self.ready.pop();
                }
                Ok(Output::Event(event)) => self.handle_event(id, event),
                Err(e) => {
                    tracing::warn!(participant = id.0, "session failed: {e}");
                    participant.rtc.disconnect();
                }
            }
        }
    }

    fn advance(&mut self, now: Instant) {
        self.now = self.now.max(now);
    }

    /// A session for a browser: Opus, VP8 and H.264; or, for `h264_only` (a council room
    /// whose stream is packaged without decoding), Opus and H.264 in packetization mode 1 only.
    fn new_rtc(&self, now: Instant, h264_only: bool) -> Rtc {
        let mut builder =
            Rtc::builder().set_ice_lite(true).set_crypto_provider(self.crypto.clone()).clear_codecs().enable_opus(true);
        builder = if h264_only {
            let codecs = builder.codec_config();
            // The browsers' usual H.264 profiles (constrained baseline first), each with its
            // retransmission type, as str0m numbers them, non-interleaved mode only.
            for (pt, rtx, profile) in
                [(108, 109, 0x42e01f), (127, 121, 0x42001f), (123, 119, 0x4d001f), (114, 115, 0x64001f)]
            {
                codecs.add_h264(pt.into(), Some(rtx.into()), true, profile);
            }
            builder
        } else {
            builder.enable_vp8(true).enable_h264(true)
        };
        builder = builder
            // The downlink estimate comes from receiver reports (see `bandwidth`), not from
            // str0m's TWCC estimator, whose pacer costs a timer run per forwarded packet.
            .set_stats_interval(Some(STATS_INTERVAL))
            // RTP pass-through: packets are forwarded as they arrive, not reassembled into
            // frames and cut up again for every receiver.
            .set_rtp_mode(true);
        if let Some(cert) = &self.cert {
            builder = builder.set_dtls_cert(cert.clone());
        }
        builder.build(now)
    }

    fn mark_ready(&mut self, id: ParticipantId) {
        if let Some(participant) = self.participants.get_mut(&id)
            && !participant.ready
        {
            participant.ready = true;
            self.ready.push(id);
        }
    }

    fn next_timeout(&self) -> Instant {
        self.participants.values().map(|p| p.next_timeout).min().unwrap_or(self.now + IDLE_WAKE)
    }

    /// Finds the participant a datagram belongs to: by its source address when known, else by
    /// asking each session (STUN carries the ICE username; a new address is then remembered).
    fn owner_of(&mut self, input: &Input<'_>) -> Option<ParticipantId> {
        let Input::Receive(_, receive) = input else {
            return None;
        };
        if let Some(id) = self.addresses.get(&receive.source)
            && let Some(participant) = self.participants.get(id)
            && participant.rtc.accepts(input)
        {
            return Some(*id);
        }
        let id = self.participants.values().find(|p| p.rtc.accepts(input)).map(|p| p.id)?;
        self.addresses.insert(receive.source, id);
        Some(id)
    }

    fn handle_event(&mut self, id: ParticipantId, event: Event) {
        match event {
            Event::Connected => {
                self.events.push_back((id, MediaEvent::Connected));
                if let Some(participant) = self.participants.get_mut(&id) {
                    participant.connected = true;
                }
                // Video placed on this receiver before its connection was up starts with a
                // keyframe now.
                self.request_keyframes_for(id);
            }
            Event::IceConnectionStateChange(IceConnectionState::Disconnected) => {
                self.events.push_back((id, MediaEvent::Disconnected));
            }
            Event::MediaAdded(added) if added.direction.is_receiving() => {
                self.track_added(id, added.mid, added.kind);
            }
            Event::RtpPacket(packet) => self.forward(id, &packet),
            Event::KeyframeRequest(request) => {
                let Some(participant) = self.participants.get(&id) else {
                    return;
                };
                let Some(track) = participant.tracks_out.iter().find(|t| t.mid == Some(request.mid)) else {
                    return;
                };
                let (from, from_mid) = (track.from, track.from_mid);
                // A simulcast source: the layer this receiver gets (or is switching to).
                let layer = track.layer.target().or(track.layer.current());
                self.request_keyframe(from, from_mid, layer);
            }
            Event::MediaEgressStats(stats) => {
                if self.participants.get(&id).is_some_and(|p| p.next_allocation <= self.now) {
                    self.allocate_layers(id);
                }
                let Some(loss) = stats.loss else {
                    return;
                };
                let gate = self.gate;
                let now = self.now;
                let Some(participant) = self.participants.get_mut(&id) else {
                    return;
                };
                participant.downlink.update(now, loss, stats.rtt);
                let estimate = participant.downlink.bps();
                let was_receiving = participant.receives_video();
                participant.bwe_video = gate.video_allowed(participant.bwe_video, estimate);
                if was_receiving != participant.receives_video() {
                    tracing::info!(
                        participant = id.0,
                        estimate,
                        loss,
                        video = participant.receives_video(),
                        "bandwidth switched video"
                    );
                    if participant.receives_video() {
                        self.request_keyframes_for(id);
                    }
                    self.allocate_layers(id);
                }
            }
            _ => {}
        }
    }

    /// A browser sends a new track: offer it to everyone else in the room.
    fn track_added(&mut self, id: ParticipantId, mid: Mid, kind: MediaKind) {
        let Some(participant) = self.participants.get_mut(&id) else {
            return;
        };
        let Some(track) = participant.add_track_in(mid, kind) else {
            return;
        };
        let (kind, source) = (track.kind, track.source);
        if !participant.may_send(source) {
            return;
        }
        let room = participant.room;
        let members = self.rooms.get(&room).cloned().unwrap_or_default();
        for member in members {
            if member == id {
                continue;
            }
            if let Some(other) = self.participants.get_mut(&member) {
                if let Some(event) = other.add_track_out(new_track_out(id, mid, kind, source)) {
                    // On a slot: flowing already, no offer needed.
                    self.events.push_back((member, event));
                }
                self.mark_ready(member);
                if kind == TrackKind::Video {
                    self.allocate_layers(member);
                }
            }
        }
    }

    /// Passes one RTP packet from `from` to everyone in its room who receives that track. The
    /// payload goes out as it arrived (no depacketizing and packetizing per receiver); only the
    /// payload type, SSRC and sequence number are the receiver's own (and, for a simulcast
    /// layer, the timestamp: see [`LayerForward`]). Each receiver's `Rtc` keeps what it sent
    /// for retransmissions (NACK) and bandwidth probing.
    fn forward(&mut self, from: ParticipantId, packet: &RtpPacket) {
        let now = self.now;
        let Some(sender) = self.participants.get_mut(&from) else {
            return;
        };
        let Some((mid, rid)) = sender.stream_of_ssrc(packet.header.ssrc) else {
            return;
        };
        let Some(params) = sender.rtc.codec_config().find(|p| p.pt() == packet.header.payload_type).copied() else {
            return;
        };
        let Some(track) = sender.track_in_mut(mid) else {
            return;
        };
        let (kind, source) = (track.kind, track.source);
        // A simulcast layer: counted for the bandwidth allocation.
        let layer = rid.and_then(|rid| track.layer_of(rid));
        if let Some(stats) = layer.and_then(|l| track.layers.get_mut(l)) {
            stats.packet(now, packet.payload.len());
        }
        let layered = !track.layers.is_empty();
        let top = track.top_layer(now);
        if layered && layer.is_none() {
            return;
        }
        if !sender.forwards(source) {
            return;
        }
        let room = sender.room;
        let video = kind == TrackKind::Video;
        let keyframe = video && is_keyframe_start(params.spec().codec, &packet.payload);
        if let Some(tap) = self.room_states.get_mut(&room).and_then(|s| s.stream.as_mut())
            && let Some(ask) = tap.take(from, source, layer, top, keyframe, packet, now)
        {
            self.request_keyframe(from, mid, ask);
        }
        let Some(members) = self.rooms.get(&room) else {
            return;
        };
        let header = &packet.header;
        let clock_rate = params.spec().clock_rate.get();
        let mut ext_vals = ExtensionValues::default();
        ext_vals.audio_level = header.ext_vals.audio_level;
        ext_vals.voice_activity = header.ext_vals.voice_activity;
        ext_vals.video_orientation = header.ext_vals.video_orientation;
        for member in members {
            if *member == from {
                continue;
            }
            let Some(receiver) = self.participants.get_mut(member) else {
                continue;
            };
            let receives = !video || (receiver.receives_video() && receiver.sees(from));
            let Some(track) = receiver
                .tracks_out
                .iter_mut()
                .find(|t| t.from == from && t.from_mid == mid && t.state == OutState::Open && !t.gone)
            else {
                continue;
            };
            let Some(out_mid) = track.mid else {
                continue;
            };
            let (seq_no, timestamp) = match layer {
                // One layer per receiver, chosen by `allocate_layers`.
                Some(layer) => {
                    let Some(out) =
                        track.layer.accept(layer, keyframe, *packet.seq_no, header.timestamp, now, clock_rate)
                    else {
                        continue;
                    };
                    (out.seq.into(), out.timestamp)
                }
                None => {
                    if !receives {
                        // The receiver's stream goes on without a gap when video resumes.
                        track.sequence.skip();
                        continue;
                    }
                    let Some(seq_no) = track.sequence.rewrite(packet.seq_no) else {
                        continue;
                    };
                    (seq_no, header.timestamp)
                }
            };
            let pt = match track.pt {
                Some((incoming, outgoing)) if incoming == header.payload_type => outgoing,
                _ => {
                    let Some(pt) = receiver.rtc.codec_config().match_params(params).map(|p| p.pt()) else {
                        continue;
                    };
                    track.pt = Some((header.payload_type, pt));
                    pt
                }
            };
            let mut api = receiver.rtc.direct_api();
            let Some(stream) = api.stream_tx_by_mid(out_mid, None) else {
                continue;
            };
            stream.write_rtp(
                RtpWrite::new(pt, seq_no, timestamp, packet.timestamp, packet.payload.clone())
                    .marker(header.marker)
                    .ext_vals(ext_vals.clone())
                    .nackable(video),
            );
            receiver.written();
            // Audio packets are whole frames; a video frame ends with the marker bit.
            if !video || header.marker {
                self.stats.frames_forwarded += 1;
            }
            if !receiver.ready {
                receiver.ready = true;
                self.ready.push(*member);
            }
        }
    }

    /// Asks `from` for a keyframe of its track `mid` (of `layer`, on a simulcast track; the
    /// top one when `None`).
    fn request_keyframe(&mut self, from: ParticipantId, mid: Mid, layer: Option<usize>) {
        let now = self.now;
        if let Some(sender) = self.participants.get_mut(&from)
            && sender.request_keyframe(mid, layer, now)
        {
            self.mark_ready(from);
        }
    }

    /// Asks the senders of every video track `who` receives for a keyframe.
    fn request_keyframes_for(&mut self, who: ParticipantId) {
        let Some(participant) = self.participants.get(&who) else {
            return;
        };
        let sources: Vec<(ParticipantId, Mid, Option<usize>)> = participant
            .tracks_out
            .iter()
            .filter(|t| t.kind == TrackKind::Video && t.state == OutState::Open)
            .map(|t| (t.from, t.from_mid, t.layer.target()))
            .collect();
        for (from, mid, layer) in sources {
            self.request_keyframe(from, mid, layer);
        }
    }

    fn count_sent(&mut self, transmit: &Transmit) {
        let len = transmit.contents.len() as u64;
        self.stats.datagrams_sent += 1;
        self.stats.bytes_sent += len;
        if is_rtp(&transmit.contents) {
            self.stats.packets_forwarded += 1;
            self.stats.bytes_forwarded += len;
        }
    }
}

impl StreamTap {
    /// Passes a packet of `from`'s `source` to the feed if the stream carries it: the shown
    /// camera's top layer (`layer` of the packet, `top` of its track; a layer switch waits for
    /// a keyframe, and the numbers stay continuous), the camera shown before until then, and
    /// the chosen microphones. Returns the layer to ask a keyframe of, if one is wanted (a
    /// layer switch, or the packager waiting for one).
    #[allow(clippy::too_many_arguments)]
    fn take(
        &mut self,
        from: ParticipantId,
        source: Source,
        layer: Option<usize>,
        top: Option<usize>,
        keyframe: bool,
        packet: &RtpPacket,
        now: Instant,
    ) -> Option<Option<usize>> {
        let header = &packet.header;
        let packet_of = |kind, sequence: u64, rtp_timestamp| {
            FeedMessage::Packet(StreamPacket {
                kind,
                source: from.0 as u64,
                rtp_timestamp,
                sequence: sequence as u16,
                marker: header.marker,
                payload: packet.payload.to_vec(),
                arrived: packet.timestamp,
                audio_level: header.ext_vals.audio_level,
            })
        };
        match source {
            Source::Microphone if self.audio.contains(&from) => {
                self.feed.send(packet_of(ricevo_stream::MediaKind::Audio, *packet.seq_no, header.timestamp));
                None
            }
            Source::Camera if self.video == Some(from) => {
                let mut ask = None;
                let (seq, timestamp) = match layer {
                    Some(layer) => {
                        if self.layer.target() != top && self.layer.set_target(top) {
                            ask = Some(top);
                        }
                        let out =
                            self.layer.accept(layer, keyframe, *packet.seq_no, header.timestamp, now, VIDEO_CLOCK)?;
                        (out.seq, out.timestamp)
                    }
                    None => (*packet.seq_no, header.timestamp),
                };
                if keyframe {
                    // The new camera shows: the old one stops.
                    self.previous = None;
                }
                self.feed.send(packet_of(ricevo_stream::MediaKind::Video, seq, timestamp));
                if ask.is_none() && self.feed.keyframe_wanted() {
                    ask = Some(self.layer.current().or(top));
                }
                ask
            }
            Source::Camera => {
                let (previous, forward) = self.previous.as_mut().filter(|(p, _)| *p == from)?;
                let _ = previous;
                let (seq, timestamp) = match layer {
                    Some(layer) => {
                        let out = forward.accept(layer, false, *packet.seq_no, header.timestamp, now, VIDEO_CLOCK)?;
                        (out.seq, out.timestamp)
                    }
                    None => (*packet.seq_no, header.timestamp),
                };
                self.feed.send(packet_of(ricevo_stream::MediaKind::Video, seq, timestamp));
                None
            }
            _ => None,
        }
    }
}

/// The RTP clock of video (every video codec WebRTC uses).
const VIDEO_CLOCK: u32 = 90_000;

fn new_track_out(from: ParticipantId, from_mid: Mid, kind: TrackKind, source: Source) -> TrackOut {
    TrackOut {
        mid: None,
        from,
        from_mid,
        kind,
        source,
        state: OutState::ToOpen,
        gone: false,
        sequence: SequenceRewrite::default(),
        pt: None,
        layer: LayerForward::default(),
    }
}

/// Creates the server offer that adds new tracks and stops ended ones, and queues it (after
/// the `Track`/`TrackEnded` events that explain it) for the participant.
fn offer(participant: &mut Participant, events: &mut VecDeque<(ParticipantId, MediaEvent)>) {
    participant.needs_offer = false;
    let who = participant.id;
    // New tracks take idle slots first, each with a new SSRC (set before the offer is written,
    // which announces it).
    let mut reused = Vec::new();
    for track in participant.tracks_out.iter_mut().filter(|t| t.state == OutState::ToOpen && t.mid.is_none()) {
        let Some(slot) = participant.slots.iter_mut().find(|s| s.kind == track.kind && s.state == SlotState::Idle)
        else {
            continue;
        };
        slot.state = SlotState::Busy;
        track.mid = Some(slot.mid);
        reused.push(slot.mid);
    }
    for mid in &reused {
        renew_ssrc(&mut participant.rtc, *mid);
    }
    let mut api = participant.rtc.sdp_api();
    let mut announced = Vec::new();
    for track in &mut participant.tracks_out {
        match track.state {
            OutState::ToOpen => {
                let kind = match track.kind {
                    TrackKind::Audio => MediaKind::Audio,
                    TrackKind::Video => MediaKind::Video,
                };
                let mid = if let Some(mid) = track.mid {
                    api.set_direction(mid, Direction::SendOnly);
                    mid
                } else {
                    api.add_media(
                        kind,
                        Direction::SendOnly,
                        Some(format!("p{}", track.from.0)),
                        Some(format!("p{}-{}", track.from.0, track.source.as_str())),
                        None,
                    )
                };
                track.mid = Some(mid);
                track.state = OutState::Negotiating;
                announced.push(MediaEvent::Track {
                    mid: mid.to_string(),
                    from: track.from,
                    kind: track.kind,
                    source: track.source,
                });
            }
            OutState::Open if track.gone => {
                if let Some(mid) = track.mid {
                    if participant.slots.iter().any(|s| s.mid == mid) {
                        // A slot is kept for the next track: inactive, not stopped.
                        api.set_direction(mid, Direction::Inactive);
                    } else {
                        api.stop_media(mid);
                    }
                    announced.push(MediaEvent::TrackEnded { mid: mid.to_string() });
                }
                track.state = OutState::NegotiatingStop;
            }
            _ => {}
        }
    }
    let Some((offer, pending)) = api.apply() else {
        return;
    };
    participant.pending = Some(pending);
    for event in announced {
        events.push_back((who, event));
    }
    events.push_back((who, MediaEvent::Offer { sdp: offer.to_sdp_string() }));
}

/// Gives the stream sent on `mid` new SSRCs (main and RTX) that no stream of the session uses:
/// the browser then starts a new receive stream rather than continuing the last track's
/// sequence numbers and timestamps.
fn renew_ssrc(rtc: &mut Rtc, mid: Mid) {
    let mut api = rtc.direct_api();
    let Some(stream) = api.stream_tx_by_mid(mid, None) else {
        return;
    };
    let mut candidate = *stream.ssrc();
    let had_rtx = stream.rtx().is_some();
    let mut next = || {
        loop {
            // A full-period step (odd, modulo 2^32): no value repeats before all were tried.
            candidate = candidate.wrapping_add(0x9E37_79B9);
            let ssrc = Ssrc::from(candidate);
            if candidate != 0 && api.stream_tx(&ssrc).is_none() && api.stream_rx(&ssrc).is_none() {
                return ssrc;
            }
        }
    };
    let ssrc = next();
    let rtx = had_rtx.then(&mut next);
    api.reset_stream_tx(mid, None, ssrc, rtx);
}

/// RTP (not RTCP, STUN or DTLS) by the first two bytes, as RFC 7983 and RFC 5761 demultiplex.
/// Runs str0m on SDP a browser sent. str0m asserts on some inputs (an offer that gives one
/// payload type two sets of parameters panics in `accept_offer`); a panic here would stop the
/// media thread and every meeting on it, so it becomes a refusal of this one SDP instead.
fn browser_sdp<T>(read: impl FnOnce() -> T) -> Result<T, MediaError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(read))
        .map_err(|_| MediaError::Sdp("the SDP was refused by the WebRTC library".into()))
}

fn is_rtp(datagram: &[u8]) -> bool {
    rtp_payload_type(datagram).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A browser's audio-only offer whose one codec is `codec`.
    fn audio_offer(codec: &str) -> String {
        [
            "v=0",
            "o=- 4611731400430051336 2 IN IP4 127.0.0.1",
            "s=-",
            "t=0 0",
            "a=group:BUNDLE 0",
            "m=audio 9 UDP/TLS/RTP/SAVPF 111",
            "c=IN IP4 0.0.0.0",
            "a=ice-ufrag:Zq4b",
            "a=ice-pwd:mIbjaHS8oT9PsYlqZfV5AlQ6",
            "a=fingerprint:sha-256 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB:3E:4A:B0:7E:56:2E:6F:12:8D:A8:A0:51",
            "a=setup:actpass",
            "a=mid:0",
            "a=sendrecv",
            "a=rtcp-mux",
            &format!("a=rtpmap:111 {codec}"),
            "a=ssrc:3001 cname:b2Q0Zk9yWm1hc3Rlcg==",
            "",
        ]
        .join("\r\n")
    }

    #[test]
    fn an_offer_str0m_panics_on_is_refused_and_the_router_goes_on() {
        // Found by the `sdp` fuzz target: two video lines giving payload type 102 different
        // H.264 parameters make str0m's accept_offer assert ("Pt locked multiple times").
        let video = |mid: &str, direction: &str, fmtp: &str| {
            [
                "m=video 9 UDP/TLS/RTP/SAVPF 102",
                "c=IN IP4 0.0.0.0",
                "a=ice-ufrag:Zq4b",
                "a=ice-pwd:mIbjaHS8oT9PsYlqZfV5AlQ6",
                "a=fingerprint:sha-256 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB:3E:4A:B0:7E:56:2E:6F:12:8D:A8:A0:51",
                "a=setup:actpass",
                &format!("a=mid:{mid}"),
                &format!("a={direction}"),
                "a=rtcp-mux",
                "a=rtpmap:102 H264/90000",
                &format!("a=fmtp:102 {fmtp}"),
            ]
            .join("\r\n")
        };
        let offer = [
            "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1".to_owned(),
            video("0", "sendrecv", "profile-level-id=42001f"),
            video("1", "recvonly", "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f"),
            String::new(),
        ]
        .join("\r\n");
        let now = Instant::now();
        let addr: SocketAddr = "127.0.0.1:3478".parse().expect("an address");
        let mut sfu = Sfu::new(SfuConfig { candidates: vec![addr], tcp_candidates: vec![] }, now);
        let refused = sfu.join(now, RoomId(1), ParticipantId(1), &offer, Permissions::ALL);
        assert!(matches!(refused, Err(MediaError::Sdp(_))), "{refused:?}");
        assert_eq!(sfu.footprint(), Footprint::default());
        let joined = sfu.join(now, RoomId(1), ParticipantId(2), &audio_offer("opus/48000/2"), Permissions::ALL);
        assert!(joined.is_ok(), "{joined:?}");
    }

    #[test]
    fn an_offer_with_no_codec_in_common_is_refused_and_leaves_nothing_behind() {
        // Found by the `sdp` fuzz target: three-channel Opus was answered with an SDP that
        // lists no format, which the browser cannot read.
        let now = Instant::now();
        let addr: SocketAddr = "127.0.0.1:3478".parse().expect("an address");
        let mut sfu = Sfu::new(SfuConfig { candidates: vec![addr], tcp_candidates: vec![] }, now);
        let refused = sfu.join(now, RoomId(1), ParticipantId(1), &audio_offer("opus/48000/3"), Permissions::ALL);
        assert!(matches!(refused, Err(MediaError::Sdp(_))), "{refused:?}");
        assert_eq!(sfu.footprint(), Footprint::default());
        let answer = sfu.join(now, RoomId(1), ParticipantId(1), &audio_offer("opus/48000/2"), Permissions::ALL);
        assert!(answer.is_ok_and(|a| SdpAnswer::from_sdp_string(&a).is_ok()));
    }

    #[test]
    fn rtp_is_told_from_rtcp_stun_and_dtls() {
        assert!(is_rtp(&[0x80, 96, 0, 1]));
        assert!(is_rtp(&[0x90, 0xE0, 0, 1])); // marker bit set, PT 96
        assert!(!is_rtp(&[0x80, 200, 0, 6])); // RTCP sender report
        assert!(!is_rtp(&[0x00, 0x01, 0, 0])); // STUN binding request
        assert!(!is_rtp(&[22, 0xFE, 0xFD])); // DTLS handshake
        assert!(!is_rtp(&[]));
    }
}
