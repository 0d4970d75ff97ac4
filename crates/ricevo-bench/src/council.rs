//! A council session on the SFU, next to today's two-person meetings, in one run.
//!
//! The media server runs in this process (`ricevo_media::MediaServer`, its own thread and UDP
//! socket on loopback); simulated members are str0m clients in RTP mode on their own UDP
//! sockets, signalling through the server's API directly (no web layer). Two phases, one
//! after the other on the same server:
//!
//! 1. today's meetings: `--pairs` two-person meetings, not opened (10 per room, VP8 and H.264
//!    offered), each client sending Opus-like audio (50 packets/s) and VP8-like video at
//!    `--video-kbps` (the shape of `ricevo-bench media`);
//! 2. a council: one room opened with capacity 50, simulcast H.264 and a stream feed, with
//!    `--members` members each sending audio and three H.264 layers (rids q, h, f; synthetic
//!    slices with real NAL, STAP-A and FU-A headers, an IDR every `--keyframe-seconds` and on
//!    request). Every member views the chair and the floor holder large and `--tiles` others
//!    as small tiles; only the chair's and the floor holder's microphones are open; the
//!    stream shows the floor holder with both voices (its feed is drained by a thread that
//!    counts what arrives, standing in for the packager).
//!
//! Reported per phase: packets forwarded per second (counted by the receivers), loss (gaps in
//! the receivers' sequence numbers: each forwarded stream is continuous, so a gap is a lost
//! packet), the media thread's CPU time per forwarded packet, and the load generator's CPU.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ricevo_media::{
    Feed, FeedMessage, MediaConfig, MediaEvent, MediaServer, ParticipantId, Permissions, RoomId, RoomOptions, View,
};
use str0m::change::{SdpAnswer, SdpOffer};
use str0m::config::{CryptoProvider, DtlsCert};
use str0m::media::{Direction, MediaKind, Mid, Pt, Rid, Simulcast, SimulcastLayer};
use str0m::net::{Protocol, Receive};
use str0m::rtp::RtpWrite;
use str0m::{Candidate, Event, Input, Output, Rtc};
use tokio::net::UdpSocket;

use crate::media::{clock_ticks, cpu_ticks, machine_busy_ticks, udp_errors};

const AUDIO_INTERVAL: Duration = Duration::from_millis(20);
const AUDIO_BYTES: usize = 100;
/// Payload bytes per video packet (with headers, SRTP and UDP/IP about 1,230 bytes).
const VIDEO_PAYLOAD_BYTES: usize = 1180;
const RIDS: [&str; 3] = ["q", "h", "f"];
const RECV_BATCH: usize = 64;

struct Options {
    pairs: usize,
    members: usize,
    tiles: usize,
    seconds: u64,
    warmup: u64,
    council_warmup: u64,
    video_kbps: u64,
    layer_kbps: [u64; 3],
    fps: u64,
    keyframe_seconds: u64,
    threads: usize,
}

fn parse(args: &[String]) -> Options {
    let mut o = Options {
        pairs: 15,
        members: 30,
        tiles: 9,
        seconds: 20,
        warmup: 5,
        council_warmup: 20,
        video_kbps: 1500,
        layer_kbps: [100, 300, 900],
        fps: 30,
        keyframe_seconds: 3,
        threads: 2,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let value = it.next().and_then(|v| v.parse::<u64>().ok()).unwrap_or_else(|| {
            eprintln!("{a} needs a number");
            std::process::exit(2);
        });
        match a.as_str() {
            "--pairs" => o.pairs = value as usize,
            "--members" => o.members = (value as usize).clamp(3, 50),
            "--tiles" => o.tiles = value as usize,
            "--seconds" => o.seconds = value,
            "--warmup" => o.warmup = value,
            "--council-warmup" => o.council_warmup = value,
            "--video-kbps" => o.video_kbps = value,
            "--low-kbps" => o.layer_kbps[0] = value,
            "--mid-kbps" => o.layer_kbps[1] = value,
            "--high-kbps" => o.layer_kbps[2] = value,
            "--fps" => o.fps = value.max(1),
            "--keyframe-seconds" => o.keyframe_seconds = value.max(1),
            "--threads" => o.threads = (value as usize).max(1),
            other => {
                eprintln!("unknown option {other}");
                std::process::exit(2);
            }
        }
    }
    o
}

pub(crate) fn run(args: &[String]) {
    let o = parse(args);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(o.threads).enable_all().build().unwrap();
    rt.block_on(bench(o));
}

/// What a client sends: VP8 at one rate, or three H.264 layers.
#[derive(Debug, Clone, Copy)]
enum Video {
    Vp8 { kbps: u64 },
    Simulcast { kbps: [u64; 3] },
}

/// One client's counters.
#[derive(Debug, Default)]
struct Counters {
    connected: AtomicBool,
    /// RTP packets written: [audio, video].
    sent: [AtomicU64; 2],
    /// RTP packets received: [audio, video].
    received: [AtomicU64; 2],
    /// Packets missing from the received streams (sequence gaps).
    missing: AtomicU64,
    /// Video packets received by layer (council: the synthetic slices name theirs).
    layers: [AtomicU64; 3],
    keyframe_requests: AtomicU64,
}

#[derive(Debug, Clone, Copy, Default)]
struct Snapshot {
    sent: [u64; 2],
    received: [u64; 2],
    missing: u64,
    layers: [u64; 3],
    keyframe_requests: u64,
}

impl Counters {
    fn snapshot(&self) -> Snapshot {
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        Snapshot {
            sent: [l(&self.sent[0]), l(&self.sent[1])],
            received: [l(&self.received[0]), l(&self.received[1])],
            missing: l(&self.missing),
            layers: [l(&self.layers[0]), l(&self.layers[1]), l(&self.layers[2])],
            keyframe_requests: l(&self.keyframe_requests),
        }
    }
}

fn total(snapshots: &[Snapshot]) -> Snapshot {
    let mut t = Snapshot::default();
    for s in snapshots {
        for k in 0..2 {
            t.sent[k] += s.sent[k];
            t.received[k] += s.received[k];
        }
        for k in 0..3 {
            t.layers[k] += s.layers[k];
        }
        t.missing += s.missing;
        t.keyframe_requests += s.keyframe_requests;
    }
    t
}

fn minus(a: Snapshot, b: Snapshot) -> Snapshot {
    Snapshot {
        sent: [a.sent[0] - b.sent[0], a.sent[1] - b.sent[1]],
        received: [a.received[0] - b.received[0], a.received[1] - b.received[1]],
        missing: a.missing - b.missing,
        layers: [a.layers[0] - b.layers[0], a.layers[1] - b.layers[1], a.layers[2] - b.layers[2]],
        keyframe_requests: a.keyframe_requests - b.keyframe_requests,
    }
}

struct Shared {
    server: MediaServer,
    crypto: Arc<CryptoProvider>,
    cert: Option<DtlsCert>,
    stop: AtomicBool,
    fps: u64,
    keyframe_every: u64,
    errors: Mutex<Vec<String>>,
}

async fn bench(o: Options) {
    let server = MediaServer::start(MediaConfig {
        udp_listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        public_ips: Vec::new(),
        tcp_listen: None,
    })
    .unwrap();
    let crypto = Arc::new(str0m::crypto::from_feature_flags());
    let cert = crypto.dtls_provider.generate_certificate();
    let media_tid = media_thread();
    println!(
        "council bench: media server in process on {} (media thread {:?}), {} generator thread(s), {} CPUs",
        server.udp_addr(),
        media_tid,
        o.threads,
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0)
    );

    // Phase 1: today's two-person meetings.
    let shared = Arc::new(Shared {
        server: server.clone(),
        crypto: crypto.clone(),
        cert: cert.clone(),
        stop: AtomicBool::new(false),
        fps: o.fps,
        keyframe_every: o.fps * o.keyframe_seconds,
        errors: Mutex::new(Vec::new()),
    });
    let mut plans = Vec::new();
    for m in 0..o.pairs {
        for p in 0..2 {
            plans.push((RoomId(1 + m as i64), ParticipantId(1 + (2 * m + p) as i64)));
        }
    }
    let no_feed = [AtomicU64::new(0), AtomicU64::new(0)];
    let phase =
        run_phase(&shared, &plans, Video::Vp8 { kbps: o.video_kbps }, o.warmup, o.seconds, media_tid, &no_feed).await;
    report(&format!("today: {} two-person meetings, VP8 {} kbit/s", o.pairs, o.video_kbps), &phase);
    for m in 0..o.pairs {
        server.close_room(RoomId(1 + m as i64));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;

    // Phase 2: the council.
    let shared = Arc::new(Shared {
        server: server.clone(),
        crypto,
        cert,
        stop: AtomicBool::new(false),
        fps: o.fps,
        keyframe_every: o.fps * o.keyframe_seconds,
        errors: Mutex::new(Vec::new()),
    });
    let room = RoomId(1000);
    let (feed, packager) = Feed::channel(8192);
    let fed = Arc::new([AtomicU64::new(0), AtomicU64::new(0)]);
    let feed_done = Arc::new(AtomicBool::new(false));
    let drain = {
        let (fed, done) = (fed.clone(), feed_done.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                match packager.try_recv() {
                    Some(FeedMessage::Packet(p)) => {
                        fed[usize::from(p.kind == ricevo_media::StreamKind::Video)].fetch_add(1, Ordering::Relaxed);
                    }
                    Some(_) => {}
                    None => std::thread::sleep(Duration::from_millis(2)),
                }
            }
        })
    };
    server.open_room(room, RoomOptions { capacity: 50, simulcast_h264: true, stream: Some(feed) });
    let members: Vec<ParticipantId> = (0..o.members).map(|i| ParticipantId(1001 + i as i64)).collect();
    let (chair, floor) = (members[0], members[1]);
    for who in &members {
        let large: Vec<ParticipantId> = [chair, floor].into_iter().filter(|p| p != who).collect();
        let small: Vec<ParticipantId> = members
            .iter()
            .cycle()
            .skip_while(|p| *p != who)
            .skip(1)
            .filter(|p| *p != who && !large.contains(p) && **p != chair && **p != floor)
            .take(o.tiles)
            .copied()
            .collect();
        server.set_view(*who, View { large, small });
        server.set_muted(*who, *who != chair && *who != floor);
    }
    server.set_stream_sources(room, Some(floor), vec![chair, floor]);
    let plans: Vec<(RoomId, ParticipantId)> = members.iter().map(|m| (room, *m)).collect();
    let video = Video::Simulcast { kbps: o.layer_kbps };
    let phase = run_phase(&shared, &plans, video, o.council_warmup, o.seconds, media_tid, &fed).await;
    let window = phase.window;
    report(
        &format!(
            "council: {} members, H.264 simulcast q/h/f {}/{}/{} kbit/s, views: 2 large + {} small tiles, 2 open mics",
            o.members, o.layer_kbps[0], o.layer_kbps[1], o.layer_kbps[2], o.tiles
        ),
        &phase,
    );
    feed_done.store(true, Ordering::Relaxed);
    let _ = drain.join();
    println!(
        "  stream feed: {:.0} video and {:.0} audio packets/s (the floor holder's top layer and two voices)",
        phase.fed[1] as f64 / window,
        phase.fed[0] as f64 / window,
    );
    server.close_room(room);
}

struct Phase {
    window: f64,
    delta: Snapshot,
    clients: usize,
    media_cpu: Option<f64>,
    process_cpu: f64,
    other_cpu: f64,
    udp_drops: [u64; 2],
    errors: Vec<String>,
    connected_in: f64,
    flowing: usize,
    /// Packets that reached the stream's feed in the window: [audio, video].
    fed: [u64; 2],
}

async fn run_phase(
    shared: &Arc<Shared>,
    plans: &[(RoomId, ParticipantId)],
    video: Video,
    warmup: u64,
    seconds: u64,
    media_tid: Option<u32>,
    fed: &[AtomicU64; 2],
) -> Phase {
    let started = Instant::now();
    let counters: Vec<Arc<Counters>> = plans.iter().map(|_| Arc::new(Counters::default())).collect();
    let mut tasks = Vec::new();
    for (i, (room, who)) in plans.iter().enumerate() {
        let (c, shared, room, who) = (counters[i].clone(), shared.clone(), *room, *who);
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(20 * i as u64)).await;
            if let Err(e) = Box::pin(participant(room, who, video, c, shared.clone())).await {
                let mut errors = shared.errors.lock().unwrap();
                if errors.len() < 100 {
                    errors.push(format!("{who:?}: {e}"));
                }
            }
        }));
    }
    let flows = |c: &Arc<Counters>| {
        let s = c.snapshot();
        c.connected.load(Ordering::Relaxed) && s.received[0] > 0 && s.received[1] > 0
    };
    while !counters.iter().all(flows) && started.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let connected_in = started.elapsed().as_secs_f64();
    let flowing = counters.iter().filter(|c| flows(c)).count();
    tokio::time::sleep(Duration::from_secs(warmup)).await;

    // The media thread names itself once it runs: looked up now, not at start.
    let media_tid = media_tid.or_else(media_thread);
    let clk = clock_ticks();
    let media = |tid: Option<u32>| tid.map(|t| cpu_ticks(&format!("/proc/self/task/{t}/stat")));
    let snap = |counters: &[Arc<Counters>]| total(&counters.iter().map(|c| c.snapshot()).collect::<Vec<_>>());
    let (t0, before, media0, me0, busy0, udp0) = (
        Instant::now(),
        snap(&counters),
        media(media_tid),
        cpu_ticks("/proc/self/stat"),
        machine_busy_ticks(),
        udp_errors(),
    );
    let fed0 = [fed[0].load(Ordering::Relaxed), fed[1].load(Ordering::Relaxed)];
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let fed1 = [fed[0].load(Ordering::Relaxed), fed[1].load(Ordering::Relaxed)];
    let (t1, after, media1, me1, busy1, udp1) = (
        Instant::now(),
        snap(&counters),
        media(media_tid),
        cpu_ticks("/proc/self/stat"),
        machine_busy_ticks(),
        udp_errors(),
    );
    shared.stop.store(true, Ordering::Relaxed);
    for t in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(5), t).await;
    }
    let secs = |ticks: u64| ticks as f64 / clk;
    let window = (t1 - t0).as_secs_f64();
    if std::env::var_os("COUNCIL_DEBUG").is_some() {
        for (c, (_, who)) in counters.iter().zip(plans) {
            let s = c.snapshot();
            eprintln!("{who:?}: received audio {} video {} layers {:?}", s.received[0], s.received[1], s.layers);
        }
    }
    let process_cpu = secs(me1 - me0);
    Phase {
        window,
        delta: minus(after, before),
        clients: plans.len(),
        media_cpu: media0.zip(media1).map(|(a, b)| secs(b - a)),
        process_cpu,
        other_cpu: (secs(busy1 - busy0) - process_cpu).max(0.0),
        udp_drops: [udp1[0] - udp0[0], udp1[1] - udp0[1]],
        errors: shared.errors.lock().unwrap().clone(),
        connected_in,
        flowing,
        fed: [fed1[0] - fed0[0], fed1[1] - fed0[1]],
    }
}

fn report(title: &str, p: &Phase) {
    let d = &p.delta;
    let forwarded = d.received[0] + d.received[1];
    let loss = if forwarded + d.missing == 0 { 0.0 } else { 100.0 * d.missing as f64 / (forwarded + d.missing) as f64 };
    let per_packet = |cpu: f64| if forwarded == 0 { f64::NAN } else { cpu * 1e6 / forwarded as f64 };
    let w = p.window;
    println!("{title}");
    println!(
        "  {} clients, {} receiving audio and video {:.1} s after the first join; window {w:.1} s",
        p.clients, p.flowing, p.connected_in
    );
    println!(
        "  sent by clients: {:.0} pkt/s (audio {:.0}, video {:.0}); forwarded (received): {:.0} pkt/s (audio {:.0}, video {:.0})",
        (d.sent[0] + d.sent[1]) as f64 / w,
        d.sent[0] as f64 / w,
        d.sent[1] as f64 / w,
        forwarded as f64 / w,
        d.received[0] as f64 / w,
        d.received[1] as f64 / w,
    );
    if d.layers.iter().any(|l| *l > 0) {
        println!(
            "  video received by layer q/h/f: {:.0}/{:.0}/{:.0} pkt/s",
            d.layers[0] as f64 / w,
            d.layers[1] as f64 / w,
            d.layers[2] as f64 / w
        );
    }
    let media = p.media_cpu.unwrap_or(f64::NAN);
    println!(
        "  loss {loss:.3}% ({} packets missing); media thread CPU {media:.2} s ({:.0}% of a core) = {:.2} us per forwarded packet",
        d.missing,
        100.0 * media / w,
        per_packet(media)
    );
    println!(
        "  generator (this process without the media thread) {:.0}% of a core; other processes {:.0}%; kernel UDP drops (rcvbuf, sndbuf) {}, {}; keyframe requests {}; errors {}{}",
        100.0 * (p.process_cpu - media) / w,
        100.0 * p.other_cpu / w,
        p.udp_drops[0],
        p.udp_drops[1],
        d.keyframe_requests,
        p.errors.len(),
        p.errors.first().map(|e| format!(" (first: {e})")).unwrap_or_default()
    );
    println!(
        "  | {title} | {:.0} | {loss:.3}% | {:.2} | {:.0}% |",
        forwarded as f64 / w,
        per_packet(media),
        100.0 * media / w
    );
}

/// The media thread of this process.
fn media_thread() -> Option<u32> {
    std::fs::read_dir("/proc/self/task").ok()?.flatten().find_map(|t| {
        let comm = std::fs::read_to_string(t.path().join("comm")).ok()?;
        (comm.trim() == "ricevo-media").then(|| t.file_name().to_string_lossy().parse().ok())?
    })
}

struct Client {
    rtc: Rtc,
    socket: UdpSocket,
    local: SocketAddr,
    audio: Mid,
    camera: Mid,
    video: Video,
    pts: Option<(Pt, Pt)>,
    connected: bool,
    counters: Arc<Counters>,
    start: Instant,
    next_audio: Instant,
    next_video: Instant,
    frame_interval: Duration,
    keyframe_every: u64,
    frame: u64,
    seq: [u64; 4],
    force_keyframe: [bool; 3],
    filler: Arc<[u8]>,
    last_seq: HashMap<u32, u64>,
}

async fn participant(
    room: RoomId,
    who: ParticipantId,
    video: Video,
    counters: Arc<Counters>,
    shared: Arc<Shared>,
) -> Result<(), String> {
    let socket = UdpSocket::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
    let _ = socket2::SockRef::from(&socket).set_recv_buffer_size(1 << 20);
    let local = socket.local_addr().map_err(|e| e.to_string())?;
    let now = Instant::now();
    let mut builder = Rtc::builder().set_crypto_provider(shared.crypto.clone()).clear_codecs().enable_opus(true);
    builder = match video {
        Video::Vp8 { .. } => builder.enable_vp8(true),
        Video::Simulcast { .. } => builder.enable_h264(true),
    };
    if let Some(cert) = &shared.cert {
        builder = builder.set_dtls_cert(cert.clone());
    }
    let mut rtc = builder.set_rtp_mode(true).build(now);
    rtc.add_local_candidate(Candidate::host(local, "udp").map_err(|e| e.to_string())?);
    let simulcast = matches!(video, Video::Simulcast { .. }).then(|| {
        let mut s = Simulcast::new();
        for rid in RIDS {
            s.add_send_layer(SimulcastLayer::new(rid));
        }
        s
    });
    let mut api = rtc.sdp_api();
    let audio = api.add_media(MediaKind::Audio, Direction::SendRecv, None, None, None);
    let camera = api.add_media(MediaKind::Video, Direction::SendRecv, None, None, simulcast);
    let (offer, pending) = api.apply().ok_or("no offer")?;
    let joined = shared
        .server
        .join(room, who, offer.to_sdp_string(), Permissions::ALL)
        .await
        .map_err(|e| format!("join: {e}"))?;
    let answer = SdpAnswer::from_sdp_string(&joined.answer_sdp).map_err(|e| e.to_string())?;
    rtc.sdp_api().accept_answer(pending, answer).map_err(|e| e.to_string())?;
    let mut events = joined.events;
    let jitter = Duration::from_micros(rand::random_range(0..20_000));
    let mut client = Client {
        rtc,
        socket,
        local,
        audio,
        camera,
        video,
        pts: None,
        connected: false,
        counters,
        start: now,
        next_audio: now + jitter,
        next_video: now + jitter,
        frame_interval: Duration::from_secs_f64(1.0 / shared.fps as f64),
        keyframe_every: shared.keyframe_every.max(1),
        frame: 0,
        seq: std::array::from_fn(|_| u64::from(rand::random::<u16>() / 2)),
        force_keyframe: [false; 3],
        filler: (0..65_536).map(|_| rand::random::<u8>()).collect::<Vec<u8>>().into(),
        last_seq: HashMap::new(),
    };
    let mut buf = vec![0u8; 2048];
    let mut timeout = now;
    let result = loop {
        if shared.stop.load(Ordering::Relaxed) {
            break Ok(());
        }
        let now = Instant::now();
        if client.connected {
            client.send_media(now);
        }
        if now >= timeout
            && let Err(e) = client.rtc.handle_input(Input::Timeout(now))
        {
            break Err(format!("rtc: {e}"));
        }
        timeout = match client.drive() {
            Ok(t) => t,
            Err(e) => break Err(e),
        };
        let mut wake = timeout.min(now + Duration::from_millis(50));
        if client.connected {
            wake = wake.min(client.next_audio).min(client.next_video);
        }
        tokio::select! {
            biased;
            ready = client.socket.readable() => {
                if let Err(e) = ready.map_err(|e| e.to_string()).and_then(|()| client.receive(&mut buf)) {
                    break Err(e);
                }
            }
            event = events.recv() => match event {
                Some(MediaEvent::Offer { sdp }) => {
                    let offer = SdpOffer::from_sdp_string(&sdp).map_err(|e| e.to_string());
                    let answer = offer.and_then(|o| client.rtc.sdp_api().accept_offer(o).map_err(|e| e.to_string()));
                    match answer {
                        Ok(answer) => {
                            if let Err(e) = shared.server.answer(who, answer.to_sdp_string()).await {
                                break Err(format!("answer: {e}"));
                            }
                        }
                        Err(e) => break Err(format!("server offer: {e}")),
                    }
                }
                Some(_) => {}
                None => break Err("the server ended the session".into()),
            },
            _ = tokio::time::sleep_until(tokio::time::Instant::from_std(wake)) => {}
        }
    };
    shared.server.leave(who);
    result
}

impl Client {
    fn receive(&mut self, buf: &mut [u8]) -> Result<(), String> {
        for _ in 0..RECV_BATCH {
            let (n, source) = match self.socket.try_recv_from(buf) {
                Ok(r) => r,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) => return Err(format!("udp receive: {e}")),
            };
            let Some(Ok(contents)) = buf.get(..n).map(|d| d.try_into()) else { continue };
            let input = Input::Receive(
                Instant::now(),
                Receive { proto: Protocol::Udp, source, destination: self.local, contents },
            );
            self.rtc.handle_input(input).map_err(|e| format!("rtc input: {e}"))?;
            // In RTP mode the `Rtc` holds one received packet: take it before the next one.
            self.drive()?;
        }
        Ok(())
    }

    fn drive(&mut self) -> Result<Instant, String> {
        loop {
            match self.rtc.poll_output().map_err(|e| format!("rtc: {e}"))? {
                Output::Timeout(at) => return Ok(at),
                Output::Transmit(t) => match self.socket.try_send_to(&t.contents, t.destination) {
                    Ok(_) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                    Err(e) => return Err(format!("udp send: {e}")),
                },
                Output::Event(Event::Connected) => {
                    self.connected = true;
                    let pt = |mid: Mid| self.rtc.media(mid).and_then(|m| m.remote_pts().first().copied());
                    self.pts = pt(self.audio).zip(pt(self.camera));
                    self.counters.connected.store(true, Ordering::Relaxed);
                }
                Output::Event(Event::RtpPacket(packet)) => {
                    let audio = self.pts.is_some_and(|(a, _)| a == packet.header.payload_type);
                    self.counters.received[usize::from(!audio)].fetch_add(1, Ordering::Relaxed);
                    if !audio && let Some(layer) = slice_layer(&packet.payload) {
                        self.counters.layers[layer].fetch_add(1, Ordering::Relaxed);
                    }
                    let seq = *packet.seq_no;
                    let last = self.last_seq.entry(*packet.header.ssrc).or_insert(seq);
                    if seq > *last + 1 {
                        self.counters.missing.fetch_add(seq - *last - 1, Ordering::Relaxed);
                    }
                    *last = (*last).max(seq);
                }
                Output::Event(Event::KeyframeRequest(request)) => {
                    self.counters.keyframe_requests.fetch_add(1, Ordering::Relaxed);
                    let layer = request.rid.and_then(|rid| RIDS.iter().position(|n| **n == *rid)).unwrap_or(0);
                    self.force_keyframe[layer] = true;
                }
                Output::Event(_) => {}
            }
        }
    }

    fn write(&mut self, mid: Mid, rid: Option<Rid>, write: RtpWrite) {
        let mut api = self.rtc.direct_api();
        if let Some(stream) = api.stream_tx_by_mid(mid, rid) {
            stream.write_rtp(write);
        }
    }

    fn send_media(&mut self, now: Instant) {
        let Some((audio_pt, video_pt)) = self.pts else { return };
        // A generator that fell far behind skips ahead rather than bursting.
        if now.saturating_duration_since(self.next_audio) > Duration::from_millis(200) {
            self.next_audio = now;
        }
        while self.next_audio <= now {
            let at = self.next_audio;
            self.next_audio += AUDIO_INTERVAL;
            let elapsed = at.saturating_duration_since(self.start);
            let mut data = Vec::with_capacity(AUDIO_BYTES);
            data.push(0x78);
            data.extend_from_slice(&self.filler[(elapsed.as_millis() as usize) % 60_000..][..AUDIO_BYTES - 1]);
            let time = (elapsed.as_micros() * 48 / 1000) as u32;
            self.seq[3] += 1;
            self.write(self.audio, None, RtpWrite::new(audio_pt, self.seq[3].into(), time, at, data));
            self.counters.sent[0].fetch_add(1, Ordering::Relaxed);
        }
        if now.saturating_duration_since(self.next_video) > Duration::from_millis(200) {
            self.next_video = now;
        }
        while self.next_video <= now {
            let at = self.next_video;
            self.next_video += self.frame_interval;
            let n = self.frame;
            self.frame += 1;
            let periodic = n.is_multiple_of(self.keyframe_every);
            let time = (at.saturating_duration_since(self.start).as_micros() * 90 / 1000) as u32;
            let fps = (1.0 / self.frame_interval.as_secs_f64()).max(1.0);
            match self.video {
                Video::Vp8 { kbps } => {
                    let key = periodic || self.force_keyframe[0];
                    self.force_keyframe[0] = false;
                    let size = frame_bytes(kbps, fps, key);
                    let mut payloads = Vec::new();
                    for (i, chunk) in self.filler[..size.min(60_000)].chunks(VIDEO_PAYLOAD_BYTES).enumerate() {
                        let mut p = Vec::with_capacity(chunk.len() + 1);
                        p.push(if i == 0 { 0x10 } else { 0x00 });
                        p.extend_from_slice(chunk);
                        if i == 0 {
                            p[1] = if key { 0x00 } else { 0x01 };
                        }
                        payloads.push(p);
                    }
                    self.write_frame(None, video_pt, 0, time, at, payloads);
                }
                Video::Simulcast { kbps } => {
                    for (layer, rate) in kbps.iter().enumerate() {
                        let key = periodic || self.force_keyframe[layer];
                        self.force_keyframe[layer] = false;
                        let size = frame_bytes(*rate, fps, key);
                        let payloads = h264_frame(key, size, layer as u8, &self.filler, n);
                        // Each layer has its own timestamp base, as browsers' do.
                        let ts = time.wrapping_add(0x1000_0000 * layer as u32);
                        self.write_frame(Some(Rid::from(RIDS[layer])), video_pt, layer, ts, at, payloads);
                    }
                }
            }
        }
    }

    fn write_frame(&mut self, rid: Option<Rid>, pt: Pt, layer: usize, ts: u32, at: Instant, payloads: Vec<Vec<u8>>) {
        let last = payloads.len().saturating_sub(1);
        for (i, payload) in payloads.into_iter().enumerate() {
            self.seq[layer] += 1;
            let write = RtpWrite::new(pt, self.seq[layer].into(), ts, at, payload).marker(i == last).nackable(true);
            self.write(self.camera, rid, write);
            self.counters.sent[1].fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Bytes of a frame at `kbps` and `fps`: a keyframe is five times a delta frame, and one
/// keyframe every three seconds keeps the average near the rate.
fn frame_bytes(kbps: u64, fps: f64, key: bool) -> usize {
    let per_frame = kbps as f64 * 1000.0 / 8.0 / fps;
    let delta = per_frame * (3.0 * fps) / (3.0 * fps + 4.0);
    (if key { delta * 5.0 } else { delta }).max(100.0) as usize
}

/// A synthetic H.264 frame as RTP payloads (RFC 6184, packetization mode 1): a keyframe
/// starts with a STAP-A carrying an SPS and a PPS, then the IDR slice; a delta frame is a
/// non-IDR slice. Slices larger than a packet go as FU-A fragments. The byte after the NAL
/// header(s) names the layer (for the receivers' counts).
fn h264_frame(key: bool, size: usize, layer: u8, filler: &[u8], n: u64) -> Vec<Vec<u8>> {
    let mut payloads = Vec::new();
    if key {
        let sps = [0x67, 0x42, 0xe0, 0x1f, layer];
        let pps = [0x68, 0xce, 0x3c, 0x80];
        let mut stap = vec![0x78];
        for unit in [&sps[..], &pps[..]] {
            stap.extend_from_slice(&(unit.len() as u16).to_be_bytes());
            stap.extend_from_slice(unit);
        }
        payloads.push(stap);
    }
    let nal_header: u8 = if key { 0x65 } else { 0x41 };
    let offset = (n as usize * 7919) % (filler.len() / 2);
    let body = &filler[offset..offset + size.min(filler.len() / 2)];
    if body.len() + 2 <= VIDEO_PAYLOAD_BYTES {
        let mut p = vec![nal_header, layer];
        p.extend_from_slice(body);
        payloads.push(p);
        return payloads;
    }
    let chunks: Vec<&[u8]> = body.chunks(VIDEO_PAYLOAD_BYTES - 3).collect();
    let last = chunks.len() - 1;
    for (i, chunk) in chunks.iter().enumerate() {
        // FU indicator (NRI of the slice, type 28), FU header (S, E, the slice's type).
        let indicator = (nal_header & 0x60) | 28;
        let mut header = nal_header & 0x1f;
        if i == 0 {
            header |= 0x80;
        }
        if i == last {
            header |= 0x40;
        }
        let mut p = Vec::with_capacity(chunk.len() + 3);
        p.extend_from_slice(&[indicator, header, layer]);
        p.extend_from_slice(chunk);
        payloads.push(p);
    }
    payloads
}

/// The layer a synthetic slice names (see [`h264_frame`]); `None` for a STAP-A or VP8.
fn slice_layer(payload: &[u8]) -> Option<usize> {
    let layer = match payload {
        [0x7c | 0x5c, _, layer, ..] => *layer,
        [0x65 | 0x41, layer, ..] => *layer,
        _ => return None,
    };
    (usize::from(layer) < 3).then_some(usize::from(layer))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthetic_h264_frames_have_real_nal_headers() {
        let filler: Vec<u8> = (0..65_536u32).map(|i| (i % 251) as u8).collect();
        let key = h264_frame(true, 5000, 2, &filler, 0);
        assert_eq!(key[0][0], 0x78, "STAP-A first");
        assert_eq!(&key[0][3..5], &[0x67, 0x42], "with the SPS");
        assert_eq!(key[1][..2], [0x7c, 0x85], "the IDR starts an FU-A");
        assert_eq!(key.last().unwrap()[1], 0x45, "and ends it");
        assert_eq!(slice_layer(&key[1]), Some(2));
        let delta = h264_frame(false, 300, 0, &filler, 1);
        assert_eq!(delta.len(), 1);
        assert_eq!(delta[0][0], 0x41);
        assert_eq!(slice_layer(&delta[0]), Some(0));
        let big_delta = h264_frame(false, 3000, 1, &filler, 2);
        assert_eq!(big_delta[0][..2], [0x5c, 0x81]);
        assert_eq!(slice_layer(&big_delta[1]), Some(1));
    }
}
