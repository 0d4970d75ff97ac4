//! Browser stand-ins (str0m `Rtc`s) and a virtual-time world that wires them to an `Sfu`.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::collections::{HashMap, VecDeque};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ricevo_media::{MediaEvent, ParticipantId, Permissions, RoomId, Sfu, SfuConfig, SfuInput, SfuOutput, Source};
use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::format::Codec;
use str0m::media::{Direction, KeyframeRequest, KeyframeRequestKind, MediaKind, MediaTime, Mid};
use str0m::net::{Protocol, Receive, Transmit};
use str0m::{Candidate, Event, Input, Output, Rtc};

/// Media is sent in ticks of this length (one audio frame and one video frame per tick).
pub const TICK: Duration = Duration::from_millis(20);
/// How long the tests over real sockets wait for anything: a broken build fails instead of
/// hanging; success never waits for it.
pub const GIVE_UP: Duration = Duration::from_secs(60);

/// Drives clients over real sockets: calls `turn` about every millisecond, with `true` once
/// every [`TICK`] (the clients then send a tick of media), until it returns true; fails with
/// `what` after [`GIVE_UP`].
pub fn drive_until(what: &str, mut turn: impl FnMut(bool) -> bool) {
    let started = Instant::now();
    let mut next_tick = started;
    loop {
        assert!(started.elapsed() < GIVE_UP, "{what}");
        let tick = Instant::now() >= next_tick;
        if tick {
            next_tick += TICK;
        }
        if turn(tick) {
            return;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// A frame a client received, attributed through the `Track` events.
#[derive(Debug, Clone)]
pub struct Frame {
    pub from: ParticipantId,
    pub source: Source,
    pub data: Vec<u8>,
}

/// A browser stand-in: offers microphone, camera and screen like the real page does.
#[derive(Debug)]
pub struct Client {
    pub who: ParticipantId,
    pub rtc: Rtc,
    pub addr: SocketAddr,
    pub audio: Mid,
    pub camera: Mid,
    pub screen: Mid,
    initial: Option<SdpPendingOffer>,
    /// Whose track arrives on which of this client's mids (from `Track` events).
    pub tracks: HashMap<Mid, (ParticipantId, Source)>,
    pub ended: Vec<Mid>,
    pub frames: Vec<Frame>,
    pub keyframe_requests: Vec<KeyframeRequest>,
    pub events: Vec<MediaEvent>,
    pub connected: bool,
    /// Sends media every tick once connected.
    pub sending: bool,
    pub sent_ticks: u64,
    /// The camera's codec: VP8 unless a test picks H.264.
    pub video_codec: Codec,
    /// Bytes of each VP8 camera frame (300, one RTP packet, unless a test wants more).
    pub video_bytes: usize,
    pub timeout: Instant,
    start: Instant,
}

impl Client {
    /// A client on `addr` and its initial offer.
    pub fn new(who: ParticipantId, addr: SocketAddr, now: Instant) -> (Client, String) {
        Client::with_candidate(who, Candidate::host(addr, "udp").unwrap(), now)
    }

    /// A client with the given local candidate (its address is the client's) and its offer.
    pub fn with_candidate(who: ParticipantId, candidate: Candidate, now: Instant) -> (Client, String) {
        Client::with_slots(who, candidate, now, 0)
    }

    /// Like [`Client::with_candidate`], and the offer also has receive-only m-lines (one audio
    /// and two video each) for `others` other participants, as the page makes them.
    pub fn with_slots(who: ParticipantId, candidate: Candidate, now: Instant, others: usize) -> (Client, String) {
        let addr = candidate.addr();
        let mut rtc = Rtc::builder().set_crypto_provider(Arc::new(str0m::crypto::from_feature_flags())).build(now);
        rtc.add_local_candidate(candidate);
        let mut api = rtc.sdp_api();
        let audio = api.add_media(MediaKind::Audio, Direction::SendRecv, None, None, None);
        let camera = api.add_media(MediaKind::Video, Direction::SendRecv, None, None, None);
        let screen = api.add_media(MediaKind::Video, Direction::SendOnly, None, None, None);
        for _ in 0..others {
            api.add_media(MediaKind::Audio, Direction::RecvOnly, None, None, None);
            api.add_media(MediaKind::Video, Direction::RecvOnly, None, None, None);
            api.add_media(MediaKind::Video, Direction::RecvOnly, None, None, None);
        }
        let (offer, pending) = api.apply().unwrap();
        let client = Client {
            who,
            rtc,
            addr,
            audio,
            camera,
            screen,
            initial: Some(pending),
            tracks: HashMap::new(),
            ended: Vec::new(),
            frames: Vec::new(),
            keyframe_requests: Vec::new(),
            events: Vec::new(),
            connected: false,
            sending: true,
            sent_ticks: 0,
            video_codec: Codec::Vp8,
            video_bytes: 300,
            timeout: now,
            start: now,
        };
        (client, offer.to_sdp_string())
    }

    /// Applies the server's answer to the initial offer.
    pub fn accept_answer(&mut self, answer_sdp: &str) {
        let pending = self.initial.take().unwrap();
        let answer = SdpAnswer::from_sdp_string(answer_sdp).unwrap();
        self.rtc.sdp_api().accept_answer(pending, answer).unwrap();
    }

    /// Handles a server event; returns the answer to send back for an offer.
    pub fn on_event(&mut self, event: MediaEvent) -> Option<String> {
        let reply = match &event {
            MediaEvent::Offer { sdp } => {
                let offer = SdpOffer::from_sdp_string(sdp).unwrap();
                let answer = self.rtc.sdp_api().accept_offer(offer).unwrap();
                Some(answer.to_sdp_string())
            }
            MediaEvent::Track { mid, from, source, .. } => {
                self.tracks.insert(Mid::from(mid.as_str()), (*from, *source));
                None
            }
            MediaEvent::TrackEnded { mid } => {
                self.ended.push(Mid::from(mid.as_str()));
                None
            }
            MediaEvent::Connected | MediaEvent::Disconnected => None,
        };
        self.events.push(event);
        reply
    }

    /// Polls the `Rtc` until it waits; returns the datagrams to send.
    pub fn poll(&mut self) -> Vec<Transmit> {
        let mut out = Vec::new();
        loop {
            match self.rtc.poll_output().unwrap() {
                Output::Transmit(t) => out.push(t),
                Output::Timeout(t) => {
                    self.timeout = t;
                    return out;
                }
                Output::Event(event) => self.on_rtc_event(event),
            }
        }
    }

    fn on_rtc_event(&mut self, event: Event) {
        match event {
            Event::Connected => self.connected = true,
            Event::MediaData(data) => {
                let Some((from, source)) = self.tracks.get(&data.mid).copied() else {
                    panic!("{:?} got media on unannounced mid {:?}", self.who, data.mid);
                };
                self.frames.push(Frame { from, source, data: data.data.to_vec() });
            }
            Event::KeyframeRequest(request) => self.keyframe_requests.push(request),
            _ => {}
        }
    }

    /// Writes one tick of media: an audio frame and a camera frame that name the sender.
    pub fn send_tick(&mut self, now: Instant) {
        if !self.connected || !self.sending {
            return;
        }
        let n = self.sent_ticks;
        self.sent_ticks += 1;
        let elapsed = now.saturating_duration_since(self.start);
        let who = self.who.0 as u8;
        let audio_payload = vec![0xA0, who, (n % 251) as u8, 1, 2, 3, 4, 5];
        let video_payload = match self.video_codec {
            Codec::H264 => {
                // Annex B: one NAL unit (IDR every 50th frame, else a non-IDR slice).
                let mut nal = vec![0u8; 304];
                nal[..4].copy_from_slice(&[0, 0, 0, 1]);
                nal[4] = if n.is_multiple_of(50) { 0x65 } else { 0x41 };
                nal[5] = 0xB0;
                nal[6] = who;
                nal
            }
            _ => {
                let mut frame = vec![0u8; self.video_bytes.max(3)];
                // VP8: bit 0 of the first byte clear marks a keyframe; every 50th frame is one.
                frame[0] = if n.is_multiple_of(50) { 0x00 } else { 0x01 };
                frame[1] = 0xB0;
                frame[2] = who;
                frame
            }
        };
        self.write(
            self.audio,
            Codec::Opus,
            now,
            MediaTime::from(elapsed).rebase(str0m::media::Frequency::FORTY_EIGHT_KHZ),
            audio_payload,
        );
        self.write(
            self.camera,
            self.video_codec,
            now,
            MediaTime::from(elapsed).rebase(str0m::media::Frequency::NINETY_KHZ),
            video_payload,
        );
    }

    fn write(&mut self, mid: Mid, codec: Codec, now: Instant, time: MediaTime, data: Vec<u8>) {
        let Some(writer) = self.rtc.writer(mid) else {
            return;
        };
        let pt = writer.payload_params().find(|p| p.spec().codec == codec).map(|p| p.pt()).unwrap();
        writer.write(pt, now, time, data).unwrap();
    }

    /// Asks the server for a keyframe on one of the tracks this client receives.
    pub fn request_keyframe(&mut self, mid: Mid) {
        let mut writer = self.rtc.writer(mid).unwrap();
        writer.request_keyframe(None, KeyframeRequestKind::Pli).unwrap();
    }

    /// Frames received from `from`'s `source`.
    pub fn frames_from(&self, from: ParticipantId, source: Source) -> usize {
        self.frames.iter().filter(|f| f.from == from && f.source == source).count()
    }

    /// Whether this client has decoded at least `frames` microphone and camera frames of `from`.
    pub fn hears_and_sees(&self, from: ParticipantId, frames: usize) -> bool {
        self.frames_from(from, Source::Microphone) >= frames && self.frames_from(from, Source::Camera) >= frames
    }

    /// The mid on which this client receives `from`'s `source`.
    pub fn mid_of(&self, from: ParticipantId, source: Source) -> Option<Mid> {
        self.tracks
            .iter()
            .find(|(mid, (f, s))| *f == from && *s == source && !self.ended.contains(mid))
            .map(|(mid, _)| *mid)
    }
}

/// Clients and an `Sfu` exchanging datagrams in memory, in virtual time.
#[derive(Debug)]
pub struct World {
    pub now: Instant,
    pub sfu: Sfu,
    pub sfu_addr: SocketAddr,
    pub clients: Vec<Client>,
    to_sfu: VecDeque<(SocketAddr, Vec<u8>)>,
    /// Datagrams on their way to clients: (delivery time, source, destination, bytes).
    to_clients: Vec<(Instant, SocketAddr, SocketAddr, Vec<u8>)>,
    sfu_timeout: Instant,
    next_tick: Instant,
    /// Datagrams addressed to nobody (e.g. to a client that left).
    pub dropped: usize,
    /// Clients whose downlink is a bottleneck of this many bits per second (a bad connection):
    /// datagrams queue behind each other and are dropped when the queue holds over 300 ms.
    pub downlinks: HashMap<SocketAddr, u64>,
    /// When each bottleneck finishes sending what is queued on it.
    link_free_at: HashMap<SocketAddr, Instant>,
    /// When each RTP datagram from a client reached the router.
    pub rtp_in: Vec<Instant>,
    /// RTP datagrams the router sent towards clients.
    pub rtp_out: usize,
}

impl World {
    pub fn new() -> World {
        let now = Instant::now();
        let sfu_addr = SocketAddr::from((Ipv4Addr::new(10, 0, 0, 1), 3479));
        World {
            now,
            sfu: Sfu::new(SfuConfig { candidates: vec![sfu_addr], tcp_candidates: Vec::new() }, now),
            sfu_addr,
            clients: Vec::new(),
            to_sfu: VecDeque::new(),
            to_clients: Vec::new(),
            sfu_timeout: now,
            next_tick: now,
            dropped: 0,
            downlinks: HashMap::new(),
            link_free_at: HashMap::new(),
            rtp_in: Vec::new(),
            rtp_out: 0,
        }
    }

    /// A new client joins `room`; returns its index in `clients`.
    pub fn join(&mut self, room: i64, who: i64, permissions: Permissions) -> usize {
        self.join_with_slots(room, who, permissions, 0)
    }

    /// A new client joins `room` with receive-only m-lines for `others` participants.
    pub fn join_with_slots(&mut self, room: i64, who: i64, permissions: Permissions, others: usize) -> usize {
        let addr = SocketAddr::from((Ipv4Addr::new(10, 0, 1, who as u8), 5000));
        let candidate = Candidate::host(addr, "udp").unwrap();
        let (mut client, offer) = Client::with_slots(ParticipantId(who), candidate, self.now, others);
        let answer = self.sfu.join(self.now, RoomId(room), ParticipantId(who), &offer, permissions).unwrap();
        client.accept_answer(&answer);
        self.clients.push(client);
        self.clients.len() - 1
    }

    pub fn client(&self, who: i64) -> &Client {
        self.clients.iter().find(|c| c.who.0 == who).unwrap()
    }

    pub fn client_mut(&mut self, who: i64) -> &mut Client {
        self.clients.iter_mut().find(|c| c.who.0 == who).unwrap()
    }

    /// The client leaves: the router forgets it and its stand-in stops.
    pub fn leave(&mut self, who: i64) {
        self.sfu.leave(self.now, ParticipantId(who));
        self.clients.retain(|c| c.who.0 != who);
    }

    /// Runs for `duration` of virtual time.
    pub fn run(&mut self, duration: Duration) {
        let end = self.now + duration;
        while self.now < end {
            self.step();
        }
    }

    /// Runs until `done` holds or `limit` of virtual time passes; returns whether it held.
    pub fn run_until(&mut self, limit: Duration, done: impl Fn(&World) -> bool) -> bool {
        let end = self.now + limit;
        while self.now < end {
            if done(self) {
                return true;
            }
            self.step();
        }
        done(self)
    }

    /// Exchanges everything due now, then moves time to the next thing anyone waits for.
    pub fn step(&mut self) {
        self.exchange();
        let mut next = self.sfu_timeout.min(self.next_tick);
        for client in &self.clients {
            next = next.min(client.timeout);
        }
        for (at, ..) in &self.to_clients {
            next = next.min(*at);
        }
        // Never stand still: str0m may ask to be woken "now" repeatedly.
        self.now = next.max(self.now + Duration::from_micros(500));
        if self.now >= self.next_tick {
            self.next_tick = self.now + TICK;
            let now = self.now;
            for client in &mut self.clients {
                client.send_tick(now);
            }
        }
        let now = self.now;
        self.sfu.handle_input(SfuInput::Timeout(now));
        for client in &mut self.clients {
            if client.timeout <= now {
                client.rtc.handle_input(Input::Timeout(now)).unwrap();
            }
        }
        self.exchange();
    }

    /// Delivers datagrams and signalling until everyone is quiet at the current time.
    fn exchange(&mut self) {
        loop {
            self.drain_sfu();
            for client in &mut self.clients {
                for t in client.poll() {
                    assert_eq!(t.destination, self.sfu_addr);
                    self.to_sfu.push_back((t.source, t.contents.to_vec()));
                }
            }
            let now = self.now;
            let due = self.to_clients.iter().any(|(at, ..)| *at <= now);
            if self.to_sfu.is_empty() && !due {
                return;
            }
            while let Some((source, data)) = self.to_sfu.pop_front() {
                if is_rtp(&data) {
                    self.rtp_in.push(now);
                }
                let receive = Receive {
                    proto: Protocol::Udp,
                    source,
                    destination: self.sfu_addr,
                    contents: data.as_slice().try_into().unwrap(),
                };
                self.sfu.handle_input(SfuInput::Receive(now, receive));
            }
            let (due, later): (Vec<_>, Vec<_>) =
                std::mem::take(&mut self.to_clients).into_iter().partition(|(at, ..)| *at <= now);
            self.to_clients = later;
            for (_, source, destination, data) in due {
                let Some(client) = self.clients.iter_mut().find(|c| c.addr == destination) else {
                    self.dropped += 1;
                    continue;
                };
                let receive = Receive {
                    proto: Protocol::Udp,
                    source,
                    destination,
                    contents: data.as_slice().try_into().unwrap(),
                };
                client.rtc.handle_input(Input::Receive(now, receive)).unwrap();
            }
        }
    }

    /// Puts a datagram from the router on the wire towards a client.
    fn send_to_client(&mut self, source: SocketAddr, destination: SocketAddr, data: Vec<u8>) {
        let mut at = self.now;
        if let Some(bps) = self.downlinks.get(&destination) {
            let free = self.link_free_at.get(&destination).copied().unwrap_or(self.now).max(self.now);
            if free.saturating_duration_since(self.now) > Duration::from_millis(300) {
                self.dropped += 1;
                return;
            }
            at = free + Duration::from_secs_f64(data.len() as f64 * 8.0 / *bps as f64);
            self.link_free_at.insert(destination, at);
        }
        self.to_clients.push((at, source, destination, data));
    }

    fn drain_sfu(&mut self) {
        loop {
            match self.sfu.poll_output() {
                SfuOutput::Transmit(t) => {
                    self.rtp_out += usize::from(is_rtp(&t.contents));
                    self.send_to_client(t.source, t.destination, t.contents.to_vec());
                }
                SfuOutput::Event(who, event) => {
                    let Some(client) = self.clients.iter_mut().find(|c| c.who == who) else {
                        continue;
                    };
                    if let Some(answer) = client.on_event(event) {
                        self.sfu.answer(self.now, who, &answer).unwrap();
                    }
                }
                SfuOutput::Timeout(t) => {
                    self.sfu_timeout = t;
                    return;
                }
            }
        }
    }
}

/// RTP (not RTCP, STUN or DTLS) by its first two bytes (RFC 7983, RFC 5761).
fn is_rtp(datagram: &[u8]) -> bool {
    matches!(datagram, [first, second, ..] if (128..=191).contains(first) && !(192..=223).contains(second))
}
