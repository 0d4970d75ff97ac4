//! Council rooms in virtual time: str0m peers in RTP mode that send their camera as three
//! H.264 simulcast layers (rids `q`, `h`, `f`) and Opus audio, exchanging datagrams with the
//! [`Sfu`] in memory.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{HashMap, VecDeque};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ricevo_stream::{Feed, FeedMessage, FeedReceiver, MediaKind as FeedKind};
use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::media::{Direction, MediaKind, Mid, Pt, Rid, Simulcast, SimulcastLayer};
use str0m::net::{Protocol, Receive};
use str0m::rtp::RtpWrite;
use str0m::{Candidate, Event, Input, Output, Rtc};

use crate::{MediaError, MediaEvent, ParticipantId, Permissions, RoomId, RoomOptions, Sfu, SfuConfig, SfuInput};
use crate::{SfuOutput, Source, View};

/// One video frame (and one audio packet) per tick.
const TICK: Duration = Duration::from_millis(33);
const RIDS: [&str; 3] = ["q", "h", "f"];
/// Payload bytes of each layer's packets, and packets per frame: about 50, 100 and 200 kbit/s
/// with headers (all three of two others' top layers fit in a receiver's first estimate).
const LAYER_SHAPE: [(usize, usize); 3] = [(150, 1), (350, 1), (350, 2)];
/// A keyframe on every layer this often (and whenever a layer is asked for one).
const KEYFRAME_EVERY: u64 = 150;
const ROOM: RoomId = RoomId(7);

/// A packet a peer received.
#[derive(Debug, Clone)]
struct Got {
    at: Instant,
    mid: Mid,
    seq: u64,
    timestamp: u32,
    payload: Vec<u8>,
}

impl Got {
    /// Sender and layer named in a video payload (the test's own layout).
    fn sender_and_layer(&self) -> Option<(u8, u8)> {
        named(&self.payload)
    }
}

/// Sender and layer of a video payload made by [`Peer::send_tick`].
fn named(payload: &[u8]) -> Option<(u8, u8)> {
    match payload {
        [0x78, _, _, 0x67, _, who, layer, ..] => Some((*who, *layer)),
        [_, who, layer, ..] => Some((*who, *layer)),
        _ => None,
    }
}

/// Whether a payload starts a keyframe: a STAP-A with the SPS, or an IDR.
fn keyframe(payload: &[u8]) -> bool {
    matches!(payload.first(), Some(0x78 | 0x65))
}

#[derive(Debug)]
struct Peer {
    who: ParticipantId,
    rtc: Rtc,
    addr: SocketAddr,
    audio: Mid,
    camera: Mid,
    initial: Option<SdpPendingOffer>,
    connected: bool,
    sending: bool,
    /// Whose camera or microphone arrives on which mid.
    tracks: HashMap<Mid, (ParticipantId, Source)>,
    got: Vec<Got>,
    keyframe_requests: Vec<(Mid, Option<Rid>)>,
    /// Layers that must send a keyframe at the next tick.
    force_keyframe: [bool; 3],
    /// Answers keyframe requests (else keyframes come only every [`KEYFRAME_EVERY`] frames).
    honours_requests: bool,
    frame: u64,
    seq: [u64; 4],
    timeout: Instant,
    start: Instant,
}

impl Peer {
    fn new(who: i64, now: Instant) -> (Peer, String) {
        let addr = SocketAddr::from((Ipv4Addr::new(10, 0, 2, who as u8), 6000));
        let mut rtc = Rtc::builder()
            .set_crypto_provider(Arc::new(str0m::crypto::from_feature_flags()))
            .clear_codecs()
            .enable_opus(true)
            .enable_vp8(true)
            .enable_h264(true)
            .set_rtp_mode(true)
            .build(now);
        rtc.add_local_candidate(Candidate::host(addr, "udp").unwrap());
        let mut simulcast = Simulcast::new();
        for rid in RIDS {
            simulcast.add_send_layer(SimulcastLayer::new(rid));
        }
        let mut api = rtc.sdp_api();
        let audio = api.add_media(MediaKind::Audio, Direction::SendRecv, None, None, None);
        let camera = api.add_media(MediaKind::Video, Direction::SendRecv, None, None, Some(simulcast));
        let (offer, pending) = api.apply().unwrap();
        let peer = Peer {
            who: ParticipantId(who),
            rtc,
            addr,
            audio,
            camera,
            initial: Some(pending),
            connected: false,
            sending: true,
            tracks: HashMap::new(),
            got: Vec::new(),
            keyframe_requests: Vec::new(),
            force_keyframe: [false; 3],
            honours_requests: true,
            frame: 0,
            seq: [1000, 20_000, 30_000, 40_000],
            timeout: now,
            start: now,
        };
        (peer, offer.to_sdp_string())
    }

    fn on_event(&mut self, event: MediaEvent) -> Option<String> {
        match event {
            MediaEvent::Offer { sdp } => {
                let offer = SdpOffer::from_sdp_string(&sdp).unwrap();
                Some(self.rtc.sdp_api().accept_offer(offer).unwrap().to_sdp_string())
            }
            MediaEvent::Track { mid, from, source, .. } => {
                self.tracks.insert(Mid::from(mid.as_str()), (from, source));
                None
            }
            _ => None,
        }
    }

    fn poll(&mut self, now: Instant) -> Vec<(SocketAddr, Vec<u8>)> {
        let mut out = Vec::new();
        loop {
            match self.rtc.poll_output().unwrap() {
                Output::Transmit(t) => out.push((t.source, t.contents.to_vec())),
                Output::Timeout(t) => {
                    self.timeout = t;
                    return out;
                }
                Output::Event(Event::Connected) => self.connected = true,
                Output::Event(Event::RtpPacket(p)) => {
                    let Some(mid) = self.rtc.direct_api().stream_rx(&p.header.ssrc).map(|s| s.mid()) else {
                        continue;
                    };
                    self.got.push(Got {
                        at: now,
                        mid,
                        seq: *p.seq_no,
                        timestamp: p.header.timestamp,
                        payload: p.payload.to_vec(),
                    });
                }
                Output::Event(Event::KeyframeRequest(r)) => {
                    if let Some(i) = r.rid.and_then(|rid| RIDS.iter().position(|n| **n == *rid))
                        && self.honours_requests
                    {
                        self.force_keyframe[i] = true;
                    }
                    self.keyframe_requests.push((r.mid, r.rid));
                }
                Output::Event(_) => {}
            }
        }
    }

    fn pt(&self, mid: Mid) -> Option<Pt> {
        self.rtc.media(mid)?.remote_pts().first().copied()
    }

    /// One audio packet and one frame on each layer; each layer has its own sequence numbers
    /// and timestamp base, as browsers' layers do.
    fn send_tick(&mut self, now: Instant) {
        if !self.connected || !self.sending {
            return;
        }
        let (Some(audio_pt), Some(video_pt)) = (self.pt(self.audio), self.pt(self.camera)) else {
            return;
        };
        let n = self.frame;
        self.frame += 1;
        let who = self.who.0 as u8;
        let elapsed = now.saturating_duration_since(self.start);
        let audio_ts = (elapsed.as_micros() * 48 / 1000) as u32;
        self.seq[3] += 1;
        let audio = RtpWrite::new(audio_pt, self.seq[3].into(), audio_ts, now, vec![0xA0, who, n as u8]);
        let mut api = self.rtc.direct_api();
        if let Some(stream) = api.stream_tx_by_mid(self.audio, None) {
            stream.write_rtp(audio);
        }
        for (layer, rid) in RIDS.iter().enumerate() {
            let key = n.is_multiple_of(KEYFRAME_EVERY) || self.force_keyframe[layer];
            self.force_keyframe[layer] = false;
            let (size, count) = LAYER_SHAPE[layer];
            let ts = (elapsed.as_micros() * 90 / 1000) as u32 + 1_000_000 * layer as u32 + 7919 * u32::from(who);
            let mut payloads = Vec::new();
            if key {
                payloads.push(vec![0x78, 0, 4, 0x67, 0x42, who, layer as u8, 0, 2, 0x68, 0xce]);
            }
            for i in 0..count {
                let mut p = vec![0u8; size];
                p[0] = if key && i == 0 { 0x65 } else { 0x41 };
                p[1] = who;
                p[2] = layer as u8;
                p[3] = n as u8;
                payloads.push(p);
            }
            let last = payloads.len() - 1;
            let mut api = self.rtc.direct_api();
            let Some(stream) = api.stream_tx_by_mid(self.camera, Some(Rid::from(*rid))) else {
                continue;
            };
            for (i, payload) in payloads.into_iter().enumerate() {
                self.seq[layer] += 1;
                let write = RtpWrite::new(video_pt, self.seq[layer].into(), ts, now, payload);
                stream.write_rtp(write.marker(i == last).nackable(true));
            }
        }
    }

    /// The mid on which this peer receives `from`'s `source`.
    fn mid_of(&self, from: i64, source: Source) -> Option<Mid> {
        self.tracks.iter().find(|(_, (f, s))| f.0 == from && *s == source).map(|(mid, _)| *mid)
    }

    /// Video packets received from `from` since `since`, as (sender, layer).
    fn video_from(&self, from: i64, since: Instant) -> Vec<Got> {
        let Some(mid) = self.mid_of(from, Source::Camera) else {
            return Vec::new();
        };
        self.got.iter().filter(|g| g.mid == mid && g.at >= since).cloned().collect()
    }

    /// The layers of `from`'s camera received since `since`.
    fn layers_from(&self, from: i64, since: Instant) -> Vec<u8> {
        let mut layers: Vec<u8> =
            self.video_from(from, since).iter().filter_map(|g| g.sender_and_layer()).map(|(_, l)| l).collect();
        layers.dedup();
        layers
    }
}

#[derive(Debug)]
struct World {
    now: Instant,
    sfu: Sfu,
    sfu_addr: SocketAddr,
    peers: Vec<Peer>,
    to_sfu: VecDeque<(SocketAddr, Vec<u8>)>,
    to_peers: Vec<(Instant, SocketAddr, SocketAddr, Vec<u8>)>,
    sfu_timeout: Instant,
    next_tick: Instant,
    /// Bottlenecks on peers' downlinks (bit/s); datagrams queued over 200 ms are dropped.
    downlinks: HashMap<SocketAddr, u64>,
    link_free_at: HashMap<SocketAddr, Instant>,
}

impl World {
    fn new() -> World {
        let now = Instant::now();
        let sfu_addr = SocketAddr::from((Ipv4Addr::new(10, 0, 0, 1), 3479));
        World {
            now,
            sfu: Sfu::new(SfuConfig { candidates: vec![sfu_addr], tcp_candidates: Vec::new() }, now),
            sfu_addr,
            peers: Vec::new(),
            to_sfu: VecDeque::new(),
            to_peers: Vec::new(),
            sfu_timeout: now,
            next_tick: now,
            downlinks: HashMap::new(),
            link_free_at: HashMap::new(),
        }
    }

    /// A council room with a feed, and `members` peers in it.
    fn council(members: &[i64], feed: Option<Feed>) -> World {
        let mut world = World::new();
        world.sfu.open_room(ROOM, RoomOptions { capacity: 50, simulcast_h264: true, stream: feed });
        for who in members {
            world.join(*who).unwrap();
        }
        assert!(world.run_until(Duration::from_secs(5), |w| w.peers.iter().all(|p| p.connected)));
        world
    }

    fn join(&mut self, who: i64) -> Result<(), MediaError> {
        let (mut peer, offer) = Peer::new(who, self.now);
        let answer = self.sfu.join(self.now, ROOM, ParticipantId(who), &offer, Permissions::ALL)?;
        let pending = peer.initial.take().unwrap();
        peer.rtc.sdp_api().accept_answer(pending, SdpAnswer::from_sdp_string(&answer).unwrap()).unwrap();
        self.peers.push(peer);
        Ok(())
    }

    fn peer(&self, who: i64) -> &Peer {
        self.peers.iter().find(|p| p.who.0 == who).unwrap()
    }

    fn peer_mut(&mut self, who: i64) -> &mut Peer {
        self.peers.iter_mut().find(|p| p.who.0 == who).unwrap()
    }

    fn run(&mut self, duration: Duration) {
        let end = self.now + duration;
        while self.now < end {
            self.step();
        }
    }

    fn run_until(&mut self, limit: Duration, done: impl Fn(&World) -> bool) -> bool {
        let end = self.now + limit;
        while self.now < end {
            if done(self) {
                return true;
            }
            self.step();
        }
        done(self)
    }

    fn step(&mut self) {
        self.exchange();
        let mut next = self.sfu_timeout.min(self.next_tick);
        for peer in &self.peers {
            next = next.min(peer.timeout);
        }
        for (at, ..) in &self.to_peers {
            next = next.min(*at);
        }
        self.now = next.max(self.now + Duration::from_micros(500));
        let now = self.now;
        if now >= self.next_tick {
            self.next_tick = now + TICK;
            for peer in &mut self.peers {
                peer.send_tick(now);
            }
        }
        self.sfu.handle_input(SfuInput::Timeout(now));
        for peer in &mut self.peers {
            if peer.timeout <= now {
                peer.rtc.handle_input(Input::Timeout(now)).unwrap();
            }
        }
        self.exchange();
    }

    fn exchange(&mut self) {
        loop {
            self.drain_sfu();
            let now = self.now;
            for peer in &mut self.peers {
                for (source, data) in peer.poll(now) {
                    self.to_sfu.push_back((source, data));
                }
            }
            let due = self.to_peers.iter().any(|(at, ..)| *at <= now);
            if self.to_sfu.is_empty() && !due {
                return;
            }
            while let Some((source, data)) = self.to_sfu.pop_front() {
                let contents = data.as_slice().try_into().unwrap();
                let receive = Receive { proto: Protocol::Udp, source, destination: self.sfu_addr, contents };
                self.sfu.handle_input(SfuInput::Receive(now, receive));
            }
            let (due, later): (Vec<_>, Vec<_>) =
                std::mem::take(&mut self.to_peers).into_iter().partition(|(at, ..)| *at <= now);
            self.to_peers = later;
            for (_, source, destination, data) in due {
                let Some(peer) = self.peers.iter_mut().find(|p| p.addr == destination) else {
                    continue;
                };
                let contents = data.as_slice().try_into().unwrap();
                let receive = Receive { proto: Protocol::Udp, source, destination, contents };
                peer.rtc.handle_input(Input::Receive(now, receive)).unwrap();
                // In RTP mode the `Rtc` holds one received packet: taken before the next one.
                for (source, data) in peer.poll(now) {
                    self.to_sfu.push_back((source, data));
                }
            }
        }
    }

    fn drain_sfu(&mut self) {
        loop {
            match self.sfu.poll_output() {
                SfuOutput::Transmit(t) => {
                    let mut at = self.now;
                    if let Some(bps) = self.downlinks.get(&t.destination) {
                        let free = self.link_free_at.get(&t.destination).copied().unwrap_or(at).max(at);
                        if free.saturating_duration_since(at) > Duration::from_millis(200) {
                            continue;
                        }
                        at = free + Duration::from_secs_f64(t.contents.len() as f64 * 8.0 / *bps as f64);
                        self.link_free_at.insert(t.destination, at);
                    }
                    self.to_peers.push((at, t.source, t.destination, t.contents.to_vec()));
                }
                SfuOutput::Event(who, event) => {
                    let Some(peer) = self.peers.iter_mut().find(|p| p.who == who) else {
                        continue;
                    };
                    if let Some(answer) = peer.on_event(event) {
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

fn view(large: &[i64], small: &[i64]) -> View {
    View {
        large: large.iter().map(|p| ParticipantId(*p)).collect(),
        small: small.iter().map(|p| ParticipantId(*p)).collect(),
    }
}

/// Whether `to` has received video of `from` on exactly `layer` over the last half second.
fn steady_on(w: &World, to: i64, from: i64, layer: u8) -> bool {
    let since = w.now - Duration::from_millis(500);
    w.peer(to).layers_from(from, since) == [layer]
}

/// Checks that the packets of one receiver's stream are numbered without a gap or a repeat
/// and that timestamps never go back.
fn assert_continuous(got: &[Got]) {
    let mut sorted: Vec<&Got> = got.iter().collect();
    sorted.sort_by_key(|g| g.seq);
    sorted.dedup_by_key(|g| g.seq);
    for pair in sorted.windows(2) {
        assert_eq!(pair[1].seq, pair[0].seq + 1, "a gap in the receiver's sequence numbers");
        let step = pair[1].timestamp.wrapping_sub(pair[0].timestamp);
        assert!(step < 90_000, "timestamps go back or jump: {} then {}", pair[0].timestamp, pair[1].timestamp);
    }
}

#[test]
fn an_opened_room_admits_its_capacity_and_offers_opus_and_h264_only() {
    let now = Instant::now();
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, 3479));
    let mut sfu = Sfu::new(SfuConfig { candidates: vec![addr], tcp_candidates: vec![] }, now);
    sfu.open_room(ROOM, RoomOptions { capacity: 3, simulcast_h264: true, stream: None });
    for who in 1..=3 {
        let (_, offer) = Peer::new(who, now);
        let answer = sfu.join(now, ROOM, ParticipantId(who), &offer, Permissions::ALL).unwrap();
        assert!(answer.contains("H264/90000") && answer.contains("opus/48000"), "{answer}");
        assert!(!answer.contains("VP8") && !answer.contains("packetization-mode=0"), "{answer}");
        assert!(answer.contains("a=simulcast:recv q;h;f"), "{answer}");
    }
    let (_, offer) = Peer::new(4, now);
    let refused = sfu.join(now, ROOM, ParticipantId(4), &offer, Permissions::ALL);
    assert!(matches!(refused, Err(MediaError::RoomFull)), "{refused:?}");
    // A room never opened: ten as before, with VP8.
    for who in 11..=20 {
        let (_, offer) = Peer::new(who, now);
        let answer = sfu.join(now, RoomId(8), ParticipantId(who), &offer, Permissions::ALL).unwrap();
        assert!(answer.contains("VP8/90000"));
    }
    let (_, offer) = Peer::new(21, now);
    assert!(matches!(sfu.join(now, RoomId(8), ParticipantId(21), &offer, Permissions::ALL), Err(MediaError::RoomFull)));
    // Closing forgets the options: the room is an ordinary one again.
    sfu.close_room(now, ROOM);
    let (_, offer) = Peer::new(1, now);
    assert!(sfu.join(now, ROOM, ParticipantId(1), &offer, Permissions::ALL).unwrap().contains("VP8/90000"));
}

#[test]
fn each_receiver_gets_one_layer_of_each_source_its_view_shows() {
    let mut world = World::council(&[1, 2, 3, 4], None);
    // Without a view: everyone's top layer.
    assert!(world.run_until(Duration::from_secs(5), |w| steady_on(w, 4, 1, 2) && steady_on(w, 4, 3, 2)));
    world.sfu.set_view(ParticipantId(4), view(&[1], &[2]));
    assert!(world.run_until(Duration::from_secs(5), |w| steady_on(w, 4, 1, 2) && steady_on(w, 4, 2, 0)));
    // C is not on D's screen: none of its video, though its audio flows.
    let since = world.now;
    world.run(Duration::from_secs(1));
    let d = world.peer(4);
    assert!(d.video_from(3, since).is_empty());
    let audio_of_c = d.mid_of(3, Source::Microphone).unwrap();
    assert!(d.got.iter().filter(|g| g.mid == audio_of_c && g.at >= since).count() >= 25);
    // The others' views are their own: A still gets B's and C's top layers.
    assert!(steady_on(&world, 1, 2, 2) && steady_on(&world, 1, 3, 2));
    // Each receiver's stream of a source is one continuous stream.
    for from in [1, 2] {
        assert_continuous(&world.peer(4).video_from(from, world.now - Duration::from_secs(5)));
    }
}

#[test]
fn a_layer_switch_waits_for_a_keyframe_and_the_receiver_sees_one_continuous_stream() {
    let mut world = World::council(&[1, 2, 3], None);
    world.sfu.set_view(ParticipantId(3), view(&[1], &[2]));
    assert!(world.run_until(Duration::from_secs(5), |w| steady_on(w, 3, 1, 2) && steady_on(w, 3, 2, 0)));
    let start = world.now - Duration::from_secs(1);
    for peer in &mut world.peers {
        peer.keyframe_requests.clear();
        // Keyframes come late (every 5 s), so the wait shows.
        peer.honours_requests = false;
    }
    // The floor passes from A to B.
    let switch = world.now;
    world.sfu.set_view(ParticipantId(3), view(&[2], &[1]));
    assert!(world.run_until(Duration::from_secs(7), |w| steady_on(w, 3, 1, 0) && steady_on(w, 3, 2, 2)));
    // The new layers were asked for keyframes.
    let asked = |w: &World, who: i64, rid: &str| {
        w.peer(who).keyframe_requests.iter().any(|(_, r)| r.is_some_and(|r| *r == *rid))
    };
    assert!(asked(&world, 1, "q") && asked(&world, 2, "f"));
    for from in [1u8, 2] {
        let got = world.peer(3).video_from(i64::from(from), start);
        // The old layer went on after the view changed, up to the new layer's keyframe.
        let first_new = got
            .iter()
            .position(|g| g.at > switch && named(&g.payload).map(|n| n.1) != got[0].sender_and_layer().map(|n| n.1))
            .unwrap();
        assert!(got[..first_new].iter().any(|g| g.at > switch), "the old layer stopped before the switch");
        assert!(keyframe(&got[first_new].payload), "the new layer starts with a keyframe");
        assert!(
            got[first_new..]
                .iter()
                .all(|g| g.sender_and_layer().map(|n| n.1) == got[first_new].sender_and_layer().map(|n| n.1))
        );
        assert!(got.iter().all(|g| g.sender_and_layer().map(|n| n.0) == Some(from)));
        assert_continuous(&got);
    }
}

#[test]
fn a_weak_downlink_gets_lower_layers_before_it_loses_video() {
    let mut world = World::council(&[1, 2, 3, 4], None);
    world.sfu.set_view(ParticipantId(4), view(&[1], &[2, 3]));
    assert!(world.run_until(Duration::from_secs(5), |w| steady_on(w, 4, 1, 2)));
    // D's link carries 260 kbit/s: A's top layer and B's and C's lowest with the audio are
    // about 350.
    let d = world.peer(4).addr;
    world.downlinks.insert(d, 260_000);
    assert!(
        world.run_until(Duration::from_secs(15), |w| steady_on(w, 4, 1, 1) || steady_on(w, 4, 1, 0)),
        "A's video at D did not step down"
    );
    // D still gets video: the small tiles and A's lower layer, not audio only.
    assert_eq!(world.sfu.receives_video(ParticipantId(4)), Some(true));
    let since = world.now - Duration::from_millis(500);
    assert!(!world.peer(4).video_from(2, since).is_empty());
    // A healthy receiver is not affected.
    assert!(steady_on(&world, 2, 1, 2));
}

/// Everything the feed got so far.
fn drain(feed: &FeedReceiver) -> Vec<FeedMessage> {
    std::iter::from_fn(|| feed.try_recv()).collect()
}

#[test]
fn the_stream_gets_the_shown_cameras_top_layer_and_the_chosen_microphones_only() {
    let (feed, packager) = Feed::channel(100_000);
    let mut world = World::council(&[1, 2, 3], Some(feed));
    world.run(Duration::from_secs(1));
    assert!(drain(&packager).is_empty(), "nothing goes to the stream before its sources are chosen");
    world.sfu.set_stream_sources(ROOM, Some(ParticipantId(1)), &[ParticipantId(1), ParticipantId(2)]);
    world.run(Duration::from_secs(2));
    let messages = drain(&packager);
    assert!(matches!(messages.first(), Some(FeedMessage::Show { video: 1 })));
    let packets: Vec<_> = messages
        .iter()
        .filter_map(|m| match m {
            FeedMessage::Packet(p) => Some(p),
            _ => None,
        })
        .collect();
    let video: Vec<_> = packets.iter().filter(|p| p.kind == FeedKind::Video).collect();
    assert!(video.len() >= 100, "{}", video.len());
    assert!(video.iter().all(|p| p.source == 1 && named(&p.payload) == Some((1, 2))), "A's top layer only");
    assert!(keyframe(&video[0].payload), "the stream starts at a keyframe");
    for pair in video.windows(2) {
        assert_eq!(pair[1].sequence, pair[0].sequence.wrapping_add(1));
    }
    let mut voices: Vec<u64> = packets.iter().filter(|p| p.kind == FeedKind::Audio).map(|p| p.source).collect();
    voices.sort_unstable();
    voices.dedup();
    assert_eq!(voices, [1, 2]);

    // A muted microphone is not heard on the stream either.
    world.sfu.set_muted(ParticipantId(2), true);
    world.run(Duration::from_millis(500));
    drain(&packager);
    world.run(Duration::from_secs(1));
    let audio: Vec<u64> = drain(&packager)
        .iter()
        .filter_map(|m| match m {
            FeedMessage::Packet(p) if p.kind == FeedKind::Audio => Some(p.source),
            _ => None,
        })
        .collect();
    assert!(!audio.is_empty() && audio.iter().all(|s| *s == 1));

    // The packager wants a keyframe: A's top layer is asked for one.
    world.peer_mut(1).keyframe_requests.clear();
    packager.want_keyframe(true);
    assert!(world.run_until(Duration::from_secs(2), |w| {
        w.peer(1).keyframe_requests.iter().any(|(_, rid)| rid.is_some_and(|r| *r == *"f"))
    }));
    packager.want_keyframe(false);

    // The floor passes to C: Show, then C's camera from its keyframe on; A's stops there.
    drain(&packager);
    world.sfu.set_stream_sources(ROOM, Some(ParticipantId(3)), &[ParticipantId(1), ParticipantId(3)]);
    world.run(Duration::from_secs(2));
    let messages = drain(&packager);
    assert!(matches!(messages.first(), Some(FeedMessage::Show { video: 3 })));
    let video: Vec<_> = messages
        .iter()
        .filter_map(|m| match m {
            FeedMessage::Packet(p) if p.kind == FeedKind::Video => Some(p),
            _ => None,
        })
        .collect();
    let first_c = video.iter().position(|p| p.source == 3).unwrap();
    assert!(keyframe(&video[first_c].payload));
    assert!(video[first_c..].iter().all(|p| p.source == 3 && named(&p.payload) == Some((3, 2))));
    assert!(video[..first_c].iter().all(|p| p.source == 1));

    // Closing the room ends the stream.
    world.sfu.close_room(world.now, ROOM);
    assert!(matches!(drain(&packager).last(), Some(FeedMessage::End)));
}
