//! Media under load: simulated participants (str0m clients, no browser) in video meetings
//! against a real `ricevo` server process.
//!
//! Each meeting is made the way the office makes one: a walk-in ticket at the URP desk,
//! admitted through the API (which opens the meeting), and direct invitations for the other
//! participants. Every participant is a str0m `Rtc` on its own UDP socket that signals over the
//! meeting's WebSocket like the browser page does (an initial offer with microphone, camera and
//! screen m-lines, then answers to the server's offers), sends Opus-like audio (50 packets/s)
//! and VP8-like 720p video, and counts what it receives.
//!
//! Reported: packets forwarded per second (counted by the receivers), loss across the SFU
//! (sent versus received, taking the fan-out into account), server CPU time per forwarded packet
//! (utime+stime of the server process, and of its media thread alone, over the measuring
//! window), server memory (VmRSS/VmHWM), and the load generator's own CPU.
//!
//! The server is started here (`--server PATH`), or already running: a Ricevo (`--url`,
//! `--api-token`, `--pid`) or a Janus with the VideoRoom plugin (`--janus ws://HOST:8188 --pid`;
//! see `janus.rs`: same media, same counters, Janus's own signalling). `--bind` sets the
//! clients' local address (Janus does not use 127.0.0.1; `bench/compare-janus.sh` runs both in a
//! network namespace).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::config::{CryptoProvider, DtlsCert};
use str0m::format::Codec;
use str0m::media::{Direction, MediaKind, Mid};
use str0m::net::{Protocol, Receive};
use str0m::rtp::RtpWrite;
use str0m::{Candidate, Event, IceConnectionState, Input, Output, Rtc};
use tokio::net::UdpSocket;
use tokio_tungstenite::tungstenite::Message;

mod janus;

/// Audio: one 20 ms Opus frame per packet.
const AUDIO_INTERVAL: Duration = Duration::from_millis(20);
/// Bytes of one audio frame (Opus at ~32 kbit/s plus a little).
const AUDIO_BYTES: usize = 100;
/// Longest a client may fall behind its media clock before it skips frames (and counts them).
const MAX_LAG: Duration = Duration::from_millis(200);
/// Bytes of VP8 data per RTP packet (with headers, SRTP and UDP/IP the datagrams come to
/// about 1,230 bytes, like a browser's).
const VIDEO_PAYLOAD_BYTES: usize = 1180;
/// Datagrams read per wake-up before the client looks at its timers again.
const RECV_BATCH: usize = 64;

struct Options {
    /// The `ricevo` binary to start (`--server`), or empty when the bench targets a running
    /// server (`--url` for Ricevo, `--janus` for Janus).
    server: String,
    /// A running Ricevo (`--url http://HOST:PORT`, with `--api-token` and `--pid`).
    url: String,
    api_token: String,
    /// A running Janus with the VideoRoom plugin (`--janus ws://HOST:8188`, with `--pid`).
    janus: String,
    /// The server process whose CPU and memory are read from `/proc` (with `--url`/`--janus`).
    pid: Option<u32>,
    /// The local address of the clients' UDP sockets (`--bind`, default 127.0.0.1).
    bind: std::net::IpAddr,
    meetings: usize,
    participants: usize,
    seconds: u64,
    warmup: u64,
    video_kbps: u64,
    fps: u64,
    keyframe_seconds: u64,
    threads: usize,
}

fn parse(args: &[String]) -> Options {
    let mut o = Options {
        server: String::new(),
        url: String::new(),
        api_token: String::new(),
        janus: String::new(),
        pid: None,
        bind: std::net::IpAddr::from([127, 0, 0, 1]),
        meetings: 10,
        participants: 2,
        seconds: 20,
        warmup: 5,
        video_kbps: 1500,
        fps: 30,
        keyframe_seconds: 3,
        threads: 1,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || it.next().cloned().unwrap_or_default();
        let number = |v: String, name: &str| -> u64 {
            v.parse().unwrap_or_else(|_| {
                eprintln!("{name} needs a number");
                std::process::exit(2);
            })
        };
        match a.as_str() {
            "--server" => o.server = value(),
            "--url" => o.url = value().trim_end_matches('/').to_owned(),
            "--api-token" => o.api_token = value(),
            "--janus" => o.janus = value(),
            "--pid" => o.pid = Some(number(value(), a) as u32),
            "--bind" => {
                o.bind = value().parse().unwrap_or_else(|_| {
                    eprintln!("--bind needs an IP address");
                    std::process::exit(2);
                })
            }
            "--meetings" => o.meetings = number(value(), a) as usize,
            "--participants" => o.participants = number(value(), a) as usize,
            "--seconds" => o.seconds = number(value(), a),
            "--warmup" => o.warmup = number(value(), a),
            "--video-kbps" => o.video_kbps = number(value(), a),
            "--fps" => o.fps = number(value(), a).max(1),
            "--keyframe-seconds" => o.keyframe_seconds = number(value(), a),
            "--threads" => o.threads = (number(value(), a) as usize).max(1),
            other => {
                eprintln!("unknown option {other}");
                std::process::exit(2);
            }
        }
    }
    let targets = [&o.server, &o.url, &o.janus].iter().filter(|t| !t.is_empty()).count();
    if targets != 1 {
        eprintln!(
            "one of: --server PATH (the ricevo binary to start; build it with cargo build --release), \
             --url URL --api-token T --pid P (a running Ricevo), --janus ws://HOST:PORT --pid P (a running Janus)"
        );
        std::process::exit(2);
    }
    if o.server.is_empty() && o.pid.is_none() || !o.url.is_empty() && o.api_token.is_empty() {
        eprintln!("--url needs --api-token and --pid; --janus needs --pid (the server process, for /proc)");
        std::process::exit(2);
    }
    if !(1..=1000).contains(&o.meetings) || !(1..=ricevo_media::MAX_PARTICIPANTS_PER_ROOM).contains(&o.participants) {
        eprintln!("--meetings 1..=1000, --participants 1..={}", ricevo_media::MAX_PARTICIPANTS_PER_ROOM);
        std::process::exit(2);
    }
    o
}

/// The server process; killed when dropped.
struct Server {
    child: Child,
    log: std::path::PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The last lines of the server's log, for error messages.
    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// What each participant sends, the same for all.
#[derive(Debug, Clone, Copy)]
struct Shape {
    video_bytes_per_frame: usize,
    keyframe_bytes: usize,
    frame_interval: Duration,
    keyframe_every: u64,
}

impl Shape {
    fn new(o: &Options) -> Shape {
        let per_second = (o.video_kbps * 1000 / 8) as f64;
        let frames = o.fps as f64;
        // A keyframe is five delta frames' worth; the average over a keyframe interval meets
        // the bitrate.
        let keyframe_every = (o.keyframe_seconds * o.fps).max(1);
        let per_interval = per_second * keyframe_every as f64 / frames;
        let delta = per_interval / (keyframe_every as f64 + 4.0);
        Shape {
            video_bytes_per_frame: delta as usize,
            keyframe_bytes: (delta * 5.0) as usize,
            frame_interval: Duration::from_secs_f64(1.0 / frames),
            keyframe_every,
        }
    }
}

/// One participant's counters, written by its client task and read by the main task.
#[derive(Debug, Default)]
struct Counters {
    connected: AtomicBool,
    /// RTP packets sent: [audio, video, other (retransmissions)].
    sent: [AtomicU64; 3],
    /// RTP packets received: [audio, video, other (retransmissions, padding, probes)].
    received: [AtomicU64; 3],
    /// Frames received after depacketizing: [audio, video].
    frames: [AtomicU64; 2],
    /// Sequence gaps seen on incoming streams (a packet missing when the next one arrived).
    gaps: AtomicU64,
    keyframes_sent: AtomicU64,
    keyframe_requests: AtomicU64,
    /// Datagrams the client could not send (socket buffer full).
    send_drops: AtomicU64,
    /// Frames skipped because the client fell behind its media clock.
    lagged: AtomicU64,
}

#[derive(Debug, Clone, Copy, Default)]
struct Snapshot {
    sent: [u64; 3],
    received: [u64; 3],
    frames: [u64; 2],
    gaps: u64,
    keyframes_sent: u64,
    keyframe_requests: u64,
    send_drops: u64,
    lagged: u64,
}

impl Counters {
    fn snapshot(&self) -> Snapshot {
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        Snapshot {
            sent: [l(&self.sent[0]), l(&self.sent[1]), l(&self.sent[2])],
            received: [l(&self.received[0]), l(&self.received[1]), l(&self.received[2])],
            frames: [l(&self.frames[0]), l(&self.frames[1])],
            gaps: l(&self.gaps),
            keyframes_sent: l(&self.keyframes_sent),
            keyframe_requests: l(&self.keyframe_requests),
            send_drops: l(&self.send_drops),
            lagged: l(&self.lagged),
        }
    }
}

impl std::ops::Sub for Snapshot {
    type Output = Snapshot;
    fn sub(self, b: Snapshot) -> Snapshot {
        let d3 = |x: [u64; 3], y: [u64; 3]| [x[0] - y[0], x[1] - y[1], x[2] - y[2]];
        Snapshot {
            sent: d3(self.sent, b.sent),
            received: d3(self.received, b.received),
            frames: [self.frames[0] - b.frames[0], self.frames[1] - b.frames[1]],
            gaps: self.gaps - b.gaps,
            keyframes_sent: self.keyframes_sent - b.keyframes_sent,
            keyframe_requests: self.keyframe_requests - b.keyframe_requests,
            send_drops: self.send_drops - b.send_drops,
            lagged: self.lagged - b.lagged,
        }
    }
}

/// Shared by all client tasks.
struct Control {
    stop: AtomicBool,
    /// No client runs past this, whatever happens.
    deadline: Instant,
    /// Ricevo's WebSocket base (`ws://HOST:PORT`), or Janus's API (`ws://HOST:8188`).
    ws_base: String,
    /// The clients' local address.
    bind: std::net::IpAddr,
    crypto: Arc<CryptoProvider>,
    cert: Option<DtlsCert>,
    shape: Shape,
    errors: Mutex<Vec<String>>,
    /// Janus: each meeting's publisher ids by participant, 0 until that publisher's connection
    /// is up (subscribers wait for them). Empty for Ricevo.
    feeds: Vec<Vec<AtomicU64>>,
}

impl Control {
    fn error(&self, message: String) {
        let mut errors = self.errors.lock().unwrap();
        if errors.len() < 1000 {
            errors.push(message);
        }
    }
}

/// How one participant joins its meeting.
enum Join {
    /// Ricevo: the token of the participant's `/a/{token}/join` link.
    Ricevo(String),
    /// Janus: the VideoRoom room.
    Janus(u64),
}

struct Plan {
    meeting: usize,
    /// The participant's place in its meeting.
    slot: usize,
    join: Join,
}

pub(crate) fn run(args: &[String]) {
    let o = parse(args);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(o.threads).enable_all().build().unwrap();
    rt.block_on(bench(o));
}

/// The token of a `/a/{token}/join` link.
fn token_of(join_url: &str) -> String {
    join_url.split("/a/").nth(1).and_then(|rest| rest.split('/').next()).unwrap_or_default().to_owned()
}

/// Starts the server on an empty data folder (the demo town); returns it and an admin API token.
/// `RICEVO_LOG` passes through (default `warn`); the server's log is `server.log` in the folder.
fn start_server(o: &Options, dir: &Path, port: u16) -> (Server, String) {
    let envs = |c: &mut Command| {
        c.env("RICEVO_DATA_DIR", dir)
            .env("RICEVO_LISTEN", format!("127.0.0.1:{port}"))
            .env("RICEVO_MEDIA_UDP", "127.0.0.1:0")
            .env("RICEVO_RATE_LIMIT_PER_MINUTE", "1000000")
            // Every simulated participant comes from 127.0.0.1: no cap per address.
            .env("RICEVO_MAX_CONNECTIONS_PER_ADDRESS", "0")
            .env("RICEVO_METRICS_TOKEN", metrics_token())
            .env("RICEVO_LOG", std::env::var("RICEVO_LOG").unwrap_or_else(|_| "warn".into()));
    };
    // Load the demo town and make an API token before the server runs (one SQLite writer).
    let mut demo = Command::new(&o.server);
    envs(&mut demo);
    let out = demo.arg("demo").output().unwrap();
    assert!(out.status.success(), "ricevo demo failed: {}", String::from_utf8_lossy(&out.stderr));
    let mut token = Command::new(&o.server);
    envs(&mut token);
    let out = token.args(["token", "add", "--tenant", "demo", "--role", "admin"]).output().unwrap();
    assert!(out.status.success(), "ricevo token add failed: {}", String::from_utf8_lossy(&out.stderr));
    let api_token = String::from_utf8_lossy(&out.stdout).trim().to_owned();

    let log = dir.join("server.log");
    let mut serve = Command::new(&o.server);
    envs(&mut serve);
    let child = serve.stdout(Stdio::null()).stderr(std::fs::File::create(&log).unwrap()).spawn().unwrap();
    (Server { child, log }, api_token)
}

async fn bench(o: Options) {
    let dir = tempfile::tempdir().unwrap();
    let http = reqwest::Client::new();
    // The server: started here (--server), or already running (--url, --janus).
    let mut server = None;
    let (plans, pid, base, ws_base, janus_rooms) = if o.janus.is_empty() {
        let (base, api_token, pid) = if o.url.is_empty() {
            let port = free_port();
            let (started, api_token) = start_server(&o, dir.path(), port);
            let pid = started.pid();
            server = Some(started);
            (format!("http://127.0.0.1:{port}"), api_token, pid)
        } else {
            (o.url.clone(), o.api_token.clone(), o.pid.unwrap_or_default())
        };
        let ready = Instant::now();
        while http.get(format!("{base}/healthz")).send().await.map(|r| r.status().is_success()).ok() != Some(true) {
            assert!(
                ready.elapsed() < Duration::from_secs(60),
                "server did not start:\n{}",
                server.as_ref().map(Server::log_tail).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // The meetings: a ticket at the URP, admitted, and invitations for the others.
        let plans = make_meetings(&o, &http, &base, &api_token).await;
        let ws_base = base.replacen("http", "ws", 1);
        (plans, pid, Some(base), ws_base, Vec::new())
    } else {
        // Janus: one VideoRoom room per meeting, made over its API (and destroyed at the end).
        let rooms = janus::create_rooms(&o.janus, o.meetings, o.participants).await.unwrap_or_else(|e| {
            eprintln!("janus: {e}");
            std::process::exit(1);
        });
        let plans = rooms
            .iter()
            .enumerate()
            .flat_map(|(m, room)| {
                (0..o.participants).map(move |p| Plan { meeting: m, slot: p, join: Join::Janus(*room) })
            })
            .collect();
        (plans, o.pid.unwrap_or_default(), None, o.janus.clone(), rooms)
    };
    let server_name = if o.janus.is_empty() { "ricevo" } else { "janus" };
    println!(
        "media: {} meetings x {} participants ({} clients on {} generator thread(s)), {server_name} pid {pid}",
        o.meetings,
        o.participants,
        plans.len(),
        o.threads,
    );

    let shape = Shape::new(&o);
    let crypto = Arc::new(str0m::crypto::from_feature_flags());
    let cert = crypto.dtls_provider.generate_certificate();
    let connect_budget = Duration::from_secs(30 + plans.len() as u64 / 5);
    let run_for = connect_budget + Duration::from_secs(o.warmup + o.seconds + 10);
    let feeds = if o.janus.is_empty() {
        Vec::new()
    } else {
        (0..o.meetings).map(|_| (0..o.participants).map(|_| AtomicU64::new(0)).collect()).collect()
    };
    let control = Arc::new(Control {
        stop: AtomicBool::new(false),
        deadline: Instant::now() + run_for,
        ws_base,
        bind: o.bind,
        crypto,
        cert,
        shape,
        errors: Mutex::new(Vec::new()),
        feeds,
    });
    let counters: Vec<Arc<Counters>> = plans.iter().map(|_| Arc::new(Counters::default())).collect();
    let mut tasks = Vec::new();
    for (i, plan) in plans.iter().enumerate() {
        let (c, control) = (counters[i].clone(), control.clone());
        let (meeting, slot) = (plan.meeting, plan.slot);
        let join = match &plan.join {
            Join::Ricevo(token) => Join::Ricevo(token.clone()),
            Join::Janus(room) => Join::Janus(*room),
        };
        // Spread the joins (and everyone's media clock) over time.
        let delay = Duration::from_millis(10 * i as u64);
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let result = match join {
                Join::Ricevo(token) => Box::pin(participant(token, c, control.clone())).await,
                Join::Janus(room) => Box::pin(janus::participant(room, meeting, slot, c, control.clone())).await,
            };
            if let Err(e) = result {
                control.error(format!("participant {i}: {e}"));
            }
        }));
    }

    // Wait until every participant receives audio and video from the others.
    let connect_start = Instant::now();
    let everyone_flows = |counters: &[Arc<Counters>]| {
        counters.iter().all(|c| {
            let s = c.snapshot();
            c.connected.load(Ordering::Relaxed) && (o.participants < 2 || (s.frames[0] > 0 && s.frames[1] > 0))
        })
    };
    while !everyone_flows(&counters) {
        if connect_start.elapsed() > connect_budget {
            let flowing = counters.iter().filter(|c| c.snapshot().frames[1] > 0).count();
            eprintln!("only {flowing} of {} participants receive video; measuring anyway", counters.len());
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let connected_in = connect_start.elapsed();
    tokio::time::sleep(Duration::from_secs(o.warmup)).await;

    // The measuring window.
    let media_tid = media_thread(pid);
    let clk = clock_ticks();
    let sum = |counters: &[Arc<Counters>]| counters.iter().map(|c| c.snapshot()).collect::<Vec<_>>();
    let (t0, before) = (Instant::now(), sum(&counters));
    let (server0, media0, me0) = (
        cpu_ticks(&format!("/proc/{pid}/stat")),
        media_tid.map(|t| cpu_ticks(&format!("/proc/{pid}/task/{t}/stat"))),
        cpu_ticks("/proc/self/stat"),
    );
    let metrics0 = match &base {
        Some(base) => metrics(&http, base).await,
        None => None,
    };
    let (udp0, busy0, drops0) = (udp_errors(), machine_busy_ticks(), socket_drops(pid));
    tokio::time::sleep(Duration::from_secs(o.seconds)).await;
    let (udp1, busy1, drops1) = (udp_errors(), machine_busy_ticks(), socket_drops(pid));
    let (server1, media1, me1) = (
        cpu_ticks(&format!("/proc/{pid}/stat")),
        media_tid.map(|t| cpu_ticks(&format!("/proc/{pid}/task/{t}/stat"))),
        cpu_ticks("/proc/self/stat"),
    );
    let (t1, after) = (Instant::now(), sum(&counters));
    let metrics1 = match &base {
        Some(base) => metrics(&http, base).await,
        None => None,
    };
    let memory = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    control.stop.store(true, Ordering::Relaxed);
    for t in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(10), t).await;
    }
    if !janus_rooms.is_empty()
        && let Err(e) = janus::destroy_rooms(&o.janus, &janus_rooms).await
    {
        eprintln!("janus: destroying the rooms: {e}");
    }

    let window = (t1 - t0).as_secs_f64();
    let deltas: Vec<Snapshot> = after.iter().zip(&before).map(|(a, b)| *a - *b).collect();
    // What each receiver should have got: everything the others in its meeting sent.
    let (mut expected, mut received, mut sent) = ([0u64; 2], [0u64; 2], [0u64; 3]);
    let mut other_received = 0;
    for (i, d) in deltas.iter().enumerate() {
        for k in 0..2 {
            received[k] += d.received[k];
            expected[k] += plans
                .iter()
                .enumerate()
                .filter(|(j, p)| *j != i && p.meeting == plans[i].meeting)
                .map(|(j, _)| deltas[j].sent[k])
                .sum::<u64>();
        }
        for (k, s) in sent.iter_mut().enumerate() {
            *s += d.sent[k];
        }
        other_received += d.received[2];
    }
    let total = |f: fn(&Snapshot) -> u64| deltas.iter().map(f).sum::<u64>();
    let forwarded = received[0] + received[1];
    let loss = |r: u64, e: u64| if e == 0 { 0.0 } else { 100.0 * (e as f64 - r as f64) / e as f64 };
    let secs = |ticks: u64| ticks as f64 / clk;
    let server_cpu = secs(server1 - server0);
    let media_cpu = media0.zip(media1).map(|(a, b)| secs(b - a));
    let me_cpu = secs(me1 - me0);
    let per_packet = |cpu: f64| if forwarded == 0 { f64::NAN } else { cpu * 1e6 / forwarded as f64 };
    let kb = |key: &str| {
        memory
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let errors = control.errors.lock().unwrap().clone();

    println!(
        "shape: audio {AUDIO_BYTES} B every 20 ms; video {} kbit/s at {} fps ({} B delta frames, {} B keyframes every {} s)",
        o.video_kbps, o.fps, shape.video_bytes_per_frame, shape.keyframe_bytes, o.keyframe_seconds
    );
    println!(
        "everyone received audio and video {:.1} s after the first join; warm-up {} s; window {window:.1} s",
        connected_in.as_secs_f64(),
        o.warmup
    );
    println!(
        "sent by clients: {:.0} media pkt/s (audio {:.0}, video {:.0}), retransmissions {:.0}/s",
        (sent[0] + sent[1]) as f64 / window,
        sent[0] as f64 / window,
        sent[1] as f64 / window,
        sent[2] as f64 / window
    );
    println!(
        "forwarded (received by clients): {:.0} media pkt/s (audio {:.0}, video {:.0}); expected {:.0}/s; \
         other RTP (rtx, padding) {:.0}/s; frames {:.0}/s (video {:.0}/s), sequence gaps {}",
        forwarded as f64 / window,
        received[0] as f64 / window,
        received[1] as f64 / window,
        (expected[0] + expected[1]) as f64 / window,
        other_received as f64 / window,
        (total(|d| d.frames[0]) + total(|d| d.frames[1])) as f64 / window,
        total(|d| d.frames[1]) as f64 / window,
        total(|d| d.gaps)
    );
    if let (Some(a), Some(b)) = (metrics0, metrics1) {
        println!("server /metrics media packets forwarded: {:.0}/s", (b - a) / window);
    }
    println!(
        "loss: {:.3}% (audio {:.3}%, video {:.3}%)",
        loss(forwarded, expected[0] + expected[1]),
        loss(received[0], expected[0]),
        loss(received[1], expected[1])
    );
    println!(
        "server CPU: {:.2} s in {window:.1} s ({:.0}% of one core) = {:.2} us per forwarded packet{}",
        server_cpu,
        100.0 * server_cpu / window,
        per_packet(server_cpu),
        match media_cpu {
            Some(m) =>
                format!("; media thread {m:.2} s ({:.0}%) = {:.2} us per packet", 100.0 * m / window, per_packet(m)),
            None => String::new(),
        }
    );
    println!(
        "kernel UDP drops on this machine (RcvbufErrors, SndbufErrors): {}, {} (full receive buffers: \
         server's sockets {}, others {}); CPU used by other processes meanwhile: {:.0}% of one core (of 200%)",
        udp1[0] - udp0[0],
        udp1[1] - udp0[1],
        drops1[0].saturating_sub(drops0[0]),
        drops1[1].saturating_sub(drops0[1]),
        (100.0 * (secs(busy1 - busy0) - server_cpu - me_cpu) / window).max(0.0)
    );
    println!("server memory: VmRSS {} MiB, VmHWM {} MiB", kb("VmRSS:") / 1024, kb("VmHWM:") / 1024);
    println!(
        "generator CPU: {me_cpu:.2} s ({:.0}% of one core) on {} thread(s); keyframes sent {}, keyframe requests {}, \
         send drops {}, frames skipped for lag {}",
        100.0 * me_cpu / window,
        o.threads,
        total(|d| d.keyframes_sent),
        total(|d| d.keyframe_requests),
        total(|d| d.send_drops),
        total(|d| d.lagged)
    );
    if !errors.is_empty() {
        println!("{} client errors, first: {}", errors.len(), errors[0]);
    }
    println!(
        "| {} x {} | {:.0} | {:.3}% | {:.1} | {:.1} | {:.0}% | {} / {} MiB | {:.0}% |",
        o.meetings,
        o.participants,
        forwarded as f64 / window,
        loss(forwarded, expected[0] + expected[1]),
        per_packet(server_cpu),
        media_cpu.map(per_packet).unwrap_or(f64::NAN),
        100.0 * server_cpu / window,
        kb("VmRSS:") / 1024,
        kb("VmHWM:") / 1024,
        100.0 * me_cpu / window,
    );
    // One line for scripts (bench/compare-janus.sh). `skipped_pct`: the share of the frames due
    // in the window that the clients skipped because the generator fell behind (the offered load
    // was then lower than asked, whatever the loss).
    let frames_due = plans.len() as f64 * window * (1.0 / AUDIO_INTERVAL.as_secs_f64() + o.fps as f64);
    println!(
        "result server={server_name} meetings={} participants={} pkt_s={:.0} loss_pct={:.3} us_per_pkt={:.2} \
         cpu_pct={:.0} rss_mib={} gen_cpu_pct={:.0} errors={} skipped_pct={:.2}",
        o.meetings,
        o.participants,
        forwarded as f64 / window,
        loss(forwarded, expected[0] + expected[1]),
        per_packet(server_cpu),
        100.0 * server_cpu / window,
        kb("VmRSS:") / 1024,
        100.0 * me_cpu / window,
        errors.len(),
        100.0 * total(|d| d.lagged) as f64 / frames_due.max(1.0),
    );
    drop(server);
}

async fn json_or_die(r: reqwest::Result<reqwest::Response>, what: &str) -> Value {
    let r = r.unwrap_or_else(|e| panic!("{what}: {e}"));
    let status = r.status();
    let body = r.text().await.unwrap_or_default();
    assert!(status.is_success(), "{what}: {status} {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{what}: {e}: {body}"))
}

async fn make_meetings(o: &Options, http: &reqwest::Client, base: &str, api_token: &str) -> Vec<Plan> {
    let offices = json_or_die(http.get(format!("{base}/api/v1/demo/offices")).send().await, "offices").await;
    let urp = offices
        .as_array()
        .and_then(|list| list.iter().find(|o| o["name"].as_str().is_some_and(|n| n.starts_with("URP"))))
        .and_then(|o| o["id"].as_i64())
        .expect("the demo town has a URP office");
    let bearer = format!("Bearer {api_token}");
    let mut plans = Vec::new();
    for m in 0..o.meetings {
        let ticket = json_or_die(
            http.post(format!("{base}/api/v1/demo/offices/{urp}/tickets"))
                .header("content-type", "application/json")
                .body(json!({"name": format!("Cittadino {m}")}).to_string())
                .send()
                .await,
            "ticket",
        )
        .await;
        let number = ticket["ticket_number"].as_i64();
        let waiting = json_or_die(
            http.get(format!("{base}/api/v1/demo/offices/{urp}/waiting")).header("authorization", &bearer).send().await,
            "waiting",
        )
        .await;
        let entry = waiting
            .as_array()
            .and_then(|l| l.iter().find(|e| e["ticket_number"].as_i64() == number && e["status"] == "waiting"))
            .and_then(|e| e["entry_id"].as_i64())
            .expect("the ticket waits at the URP");
        let admitted = json_or_die(
            http.post(format!("{base}/api/v1/demo/waiting/{entry}/admit"))
                .header("authorization", &bearer)
                .send()
                .await,
            "admit",
        )
        .await;
        let meeting = admitted["meeting_id"].as_i64().expect("meeting id");
        let token = token_of(ticket["join_url"].as_str().unwrap_or_default());
        plans.push(Plan { meeting: m, slot: 0, join: Join::Ricevo(token) });
        for p in 1..o.participants {
            let invitation = json_or_die(
                http.post(format!("{base}/api/v1/demo/meetings/{meeting}/invite"))
                    .header("authorization", &bearer)
                    .header("content-type", "application/json")
                    .body(json!({"name": format!("Ospite {m}-{p}"), "role": "participant", "direct": true}).to_string())
                    .send()
                    .await,
                "invite",
            )
            .await;
            let token = token_of(invitation["join_url"].as_str().unwrap_or_default());
            plans.push(Plan { meeting: m, slot: p, join: Join::Ricevo(token) });
        }
    }
    plans
}

/// The bearer token of `/metrics`: the server's `RICEVO_METRICS_TOKEN` (`--url`), or the one
/// given to the server started here.
fn metrics_token() -> String {
    std::env::var("RICEVO_METRICS_TOKEN").unwrap_or_else(|_| "ricevo-bench-metrics-token".into())
}

/// The server's own count of forwarded media packets, if its `/metrics` has one.
async fn metrics(http: &reqwest::Client, base: &str) -> Option<f64> {
    let resp = http.get(format!("{base}/metrics")).bearer_auth(metrics_token()).send().await.ok()?;
    let text = resp.text().await.ok()?;
    text.lines()
        .find(|l| l.starts_with("ricevo_media_packets_forwarded"))
        .and_then(|l| l.split_whitespace().last())
        .and_then(|v| v.parse().ok())
}

/// utime + stime (clock ticks) from a `/proc/.../stat` file.
pub(crate) fn cpu_ticks(path: &str) -> u64 {
    let stat = std::fs::read_to_string(path).unwrap_or_default();
    // Fields after the command name (which may hold spaces) start at field 3.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |n: usize| fields.get(n - 3).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    field(14) + field(15)
}

/// Busy clock ticks of all CPUs (everything but idle and iowait), from `/proc/stat`.
pub(crate) fn machine_busy_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let cpu: Vec<u64> =
        stat.lines().next().unwrap_or("").split_whitespace().skip(1).filter_map(|v| v.parse().ok()).collect();
    // user nice system idle iowait irq softirq steal (guest time is already in user).
    cpu.iter().take(8).enumerate().filter(|(i, _)| *i != 3 && *i != 4).map(|(_, v)| v).sum()
}

/// Datagrams dropped by the kernel for full receive buffers: [on the server's sockets, on all
/// others] (the `drops` column of `/proc/net/udp`, sockets told apart by inode).
fn socket_drops(pid: u32) -> [u64; 2] {
    let server: std::collections::HashSet<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|dir| {
            dir.flatten()
                .filter_map(|fd| std::fs::read_link(fd.path()).ok())
                .filter_map(|l| l.to_str()?.strip_prefix("socket:[")?.strip_suffix(']').map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let table = std::fs::read_to_string("/proc/net/udp").unwrap_or_default();
    let mut drops = [0, 0];
    for line in table.lines().skip(1) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (Some(inode), Some(n)) = (fields.get(9), fields.last().and_then(|d| d.parse::<u64>().ok())) else {
            continue;
        };
        drops[usize::from(!server.contains(*inode))] += n;
    }
    drops
}

/// The kernel's UDP `RcvbufErrors` and `SndbufErrors` (datagrams dropped for full socket buffers).
pub(crate) fn udp_errors() -> [u64; 2] {
    let snmp = std::fs::read_to_string("/proc/net/snmp").unwrap_or_default();
    let mut udp = snmp.lines().filter(|l| l.starts_with("Udp: "));
    let (Some(names), Some(values)) = (udp.next(), udp.next()) else { return [0, 0] };
    let find = |name: &str| {
        names.split_whitespace().position(|n| n == name).and_then(|i| values.split_whitespace().nth(i)?.parse().ok())
    };
    [find("RcvbufErrors").unwrap_or(0), find("SndbufErrors").unwrap_or(0)]
}

pub(crate) fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

/// The thread id of the server's media thread.
fn media_thread(pid: u32) -> Option<u32> {
    std::fs::read_dir(format!("/proc/{pid}/task")).ok()?.flatten().find_map(|t| {
        let comm = std::fs::read_to_string(t.path().join("comm")).ok()?;
        (comm.trim() == "ricevo-media").then(|| t.file_name().to_string_lossy().parse().ok())?
    })
}

/// RTP (not RTCP, STUN or DTLS) by the first two bytes (RFC 7983, RFC 5761).
fn rtp_pt(datagram: &[u8]) -> Option<u8> {
    match datagram {
        [first, second, ..] if (128..=191).contains(first) && !(192..=223).contains(second) => Some(second & 0x7f),
        _ => None,
    }
}

/// One simulated browser.
struct Client {
    rtc: Rtc,
    socket: UdpSocket,
    local: SocketAddr,
    audio: Mid,
    camera: Mid,
    initial: Option<SdpPendingOffer>,
    answered: bool,
    connected: bool,
    /// Negotiated payload types: [audio, video, video retransmission].
    pts: Option<[u8; 3]>,
    counters: Arc<Counters>,
    shape: Shape,
    start: Instant,
    next_audio: Instant,
    next_video: Instant,
    frame: u64,
    audio_seq: u64,
    video_seq: u64,
    force_keyframe: bool,
    filler: Arc<[u8]>,
    /// The last sequence number seen on each incoming stream, to count gaps.
    last_seq: HashMap<u32, u64>,
}

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;
type WsSink = futures_util::stream::SplitSink<Ws, Message>;

async fn send_json(ws: &mut WsSink, value: Value) -> Result<(), String> {
    ws.send(Message::Text(value.to_string().into())).await.map_err(|e| format!("websocket send: {e}"))
}

async fn participant(token: String, counters: Arc<Counters>, control: Arc<Control>) -> Result<(), String> {
    let (socket, local) = client_socket(&control).await?;
    let url = format!("{}/a/{token}/ws", control.ws_base);
    let (ws, _) = tokio_tungstenite::connect_async(url.as_str()).await.map_err(|e| format!("websocket: {e}"))?;
    // The signalling is read by its own task: polling the WebSocket in the media loop below
    // would make tungstenite clear its read buffer on every turn (most of the generator's CPU).
    let (mut ws, mut ws_read) = ws.split();
    let (ws_messages, mut signalling) = tokio::sync::mpsc::unbounded_channel();
    let reader = tokio::spawn(async move {
        while let Some(message) = ws_read.next().await {
            let end = matches!(message, Ok(Message::Close(_)) | Err(_));
            if ws_messages.send(message).is_err() || end {
                break;
            }
        }
    });

    let now = Instant::now();
    let mut rtc = new_rtc(&control, now);
    rtc.add_local_candidate(Candidate::host(local, "udp").map_err(|e| e.to_string())?);
    let mut api = rtc.sdp_api();
    let audio = api.add_media(MediaKind::Audio, Direction::SendRecv, None, None, None);
    let camera = api.add_media(MediaKind::Video, Direction::SendRecv, None, None, None);
    let _screen = api.add_media(MediaKind::Video, Direction::SendOnly, None, None, None);
    let (offer, pending) = api.apply().ok_or("no offer")?;
    let offer = offer.to_sdp_string();
    let mut client = Client::new(rtc, socket, local, [audio, camera], Some(pending), counters, &control, now);
    let mut offered = false;
    let mut buf = vec![0u8; 2048];
    let mut timeout = now;
    let result = loop {
        let now = Instant::now();
        if control.stop.load(Ordering::Relaxed) || now >= control.deadline {
            break Ok(());
        }
        let wake = match client.turn(now, &mut timeout) {
            Ok(wake) => wake,
            Err(e) => break Err(e),
        };
        tokio::select! {
            biased;
            ready = client.socket.readable() => {
                if let Err(e) = ready {
                    break Err(format!("udp: {e}"));
                }
                if let Err(e) = client.receive(&mut buf) {
                    break Err(e);
                }
            }
            message = signalling.recv() => {
                let text = match message {
                    Some(Ok(Message::Text(text))) => text,
                    Some(Ok(Message::Close(_))) | None => break Err("websocket closed".into()),
                    Some(Ok(_)) => continue,
                    Some(Err(e)) => break Err(format!("websocket: {e}")),
                };
                let Ok(message) = serde_json::from_str::<Value>(text.as_str()) else {
                    break Err(format!("bad message {text}"));
                };
                match message["type"].as_str().unwrap_or_default() {
                    "admitted" if !offered => {
                        offered = true;
                        if let Err(e) = send_json(&mut ws, json!({"type": "offer", "sdp": offer})).await {
                            break Err(e);
                        }
                    }
                    "answer" => {
                        let Some(pending) = client.initial.take() else {
                            break Err("an answer without an offer".into());
                        };
                        let answer = SdpAnswer::from_sdp_string(message["sdp"].as_str().unwrap_or_default())
                            .map_err(|e| e.to_string());
                        match answer.and_then(|a| client.rtc.sdp_api().accept_answer(pending, a).map_err(|e| e.to_string())) {
                            Ok(()) => client.answered = true,
                            Err(e) => break Err(format!("answer: {e}")),
                        }
                    }
                    "offer" => {
                        let offer = SdpOffer::from_sdp_string(message["sdp"].as_str().unwrap_or_default())
                            .map_err(|e| e.to_string());
                        let answer = match offer.and_then(|o| client.rtc.sdp_api().accept_offer(o).map_err(|e| e.to_string())) {
                            Ok(a) => a,
                            Err(e) => break Err(format!("server offer: {e}")),
                        };
                        if let Err(e) = send_json(&mut ws, json!({"type": "answer", "sdp": answer.to_sdp_string()})).await {
                            break Err(e);
                        }
                    }
                    "error" => control.error(format!("server said: {}", message["message"])),
                    "ended" | "removed" | "refused" => break Err(format!("server sent {}", message["type"])),
                    _ => {}
                }
            }
            _ = tokio::time::sleep_until(tokio::time::Instant::from_std(wake)) => {}
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        let _ = send_json(&mut ws, json!({"type": "leave"})).await;
        let _ = ws.close().await;
    })
    .await;
    reader.abort();
    result
}

/// A UDP socket for one client's connection, on `--bind`.
async fn client_socket(control: &Control) -> Result<(UdpSocket, SocketAddr), String> {
    let socket = UdpSocket::bind((control.bind, 0)).await.map_err(|e| e.to_string())?;
    // Like a browser's: room for a burst while the generator thread is busy elsewhere.
    let _ = socket2::SockRef::from(&socket).set_recv_buffer_size(1 << 20);
    let local = socket.local_addr().map_err(|e| e.to_string())?;
    Ok((socket, local))
}

/// A client's `Rtc`: Opus and VP8, SRTP like a browser, RTP mode.
fn new_rtc(control: &Control, now: Instant) -> Rtc {
    let mut builder = Rtc::builder()
        .set_crypto_provider(control.crypto.clone())
        .clear_codecs()
        .enable_opus(true)
        .enable_vp8(true)
        // Like the server: RTP in and out, no frame assembly (keeps the generator light; the
        // video is packetized here the way a VP8 encoder's RTP sender does it).
        .set_rtp_mode(true);
    if let Some(cert) = &control.cert {
        builder = builder.set_dtls_cert(cert.clone());
    }
    builder.build(now)
}

impl Client {
    /// `sends`: the mids of the microphone and camera this client sends on (once its offer is
    /// answered); a client that only receives never gets `answered` and sends nothing.
    #[allow(clippy::too_many_arguments)]
    fn new(
        rtc: Rtc,
        socket: UdpSocket,
        local: SocketAddr,
        sends: [Mid; 2],
        initial: Option<SdpPendingOffer>,
        counters: Arc<Counters>,
        control: &Control,
        now: Instant,
    ) -> Client {
        let jitter = Duration::from_micros(rand::random_range(0..20_000));
        let filler: Arc<[u8]> = (0..65_536).map(|_| rand::random::<u8>()).collect::<Vec<u8>>().into();
        Client {
            rtc,
            socket,
            local,
            audio: sends[0],
            camera: sends[1],
            initial,
            answered: false,
            connected: false,
            pts: None,
            counters,
            shape: control.shape,
            start: now,
            next_audio: now + jitter,
            next_video: now + jitter,
            frame: 0,
            audio_seq: u64::from(rand::random::<u16>() / 2),
            video_seq: u64::from(rand::random::<u16>() / 2),
            force_keyframe: false,
            filler,
            last_seq: HashMap::new(),
        }
    }

    /// One turn of the media loop: sends the media that is due, runs the `Rtc`'s timers and
    /// sends what it wants sent; returns when to wake up next (`timeout`: the `Rtc`'s own).
    fn turn(&mut self, now: Instant, timeout: &mut Instant) -> Result<Instant, String> {
        if self.connected && self.answered {
            self.send_media(now);
        }
        if now >= *timeout {
            self.rtc.handle_input(Input::Timeout(now)).map_err(|e| format!("rtc timeout: {e}"))?;
        }
        *timeout = self.drive()?;
        let mut wake = (*timeout).min(now + Duration::from_millis(100));
        if self.connected && self.answered {
            wake = wake.min(self.next_audio).min(self.next_video);
        }
        Ok(wake)
    }

    /// Reads what has arrived (up to a batch) into the `Rtc`.
    fn receive(&mut self, buf: &mut [u8]) -> Result<(), String> {
        for _ in 0..RECV_BATCH {
            let (n, source) = match self.socket.try_recv_from(buf) {
                Ok(r) => r,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) => return Err(format!("udp receive: {e}")),
            };
            let Some(datagram) = buf.get(..n) else { continue };
            if let (Some(pt), Some(pts)) = (rtp_pt(datagram), self.pts) {
                let k = if pt == pts[0] {
                    0
                } else if pt == pts[1] {
                    1
                } else {
                    2
                };
                self.counters.received[k].fetch_add(1, Ordering::Relaxed);
            }
            let Ok(contents) = datagram.try_into() else { continue };
            let input = Input::Receive(
                Instant::now(),
                Receive { proto: Protocol::Udp, source, destination: self.local, contents },
            );
            if let Err(e) = self.rtc.handle_input(input) {
                return Err(format!("rtc input: {e}"));
            }
            // In RTP mode the `Rtc` holds one received packet: take it before the next one.
            self.drive()?;
        }
        Ok(())
    }

    /// Sends what the `Rtc` wants sent and handles its events; returns its next timeout.
    fn drive(&mut self) -> Result<Instant, String> {
        loop {
            match self.rtc.poll_output().map_err(|e| format!("rtc: {e}"))? {
                Output::Timeout(at) => return Ok(at),
                Output::Transmit(t) => {
                    if let (Some(pt), Some(pts)) = (rtp_pt(&t.contents), self.pts) {
                        let k = if pt == pts[0] {
                            0
                        } else if pt == pts[1] {
                            1
                        } else {
                            2
                        };
                        self.counters.sent[k].fetch_add(1, Ordering::Relaxed);
                    }
                    match self.socket.try_send_to(&t.contents, t.destination) {
                        Ok(_) => {}
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                            self.counters.send_drops.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(e) => return Err(format!("udp send: {e}")),
                    }
                }
                Output::Event(event) => match event {
                    Event::Connected => {
                        self.connected = true;
                        self.pts = self.payload_types();
                        self.counters.connected.store(true, Ordering::Relaxed);
                    }
                    Event::IceConnectionStateChange(IceConnectionState::Disconnected) => {
                        return Err("ICE disconnected".into());
                    }
                    Event::RtpPacket(packet) => {
                        let audio = self.pts.is_some_and(|p| *packet.header.payload_type == p[0]);
                        // Audio packets are frames; a video frame ends with the marker bit.
                        if audio || packet.header.marker {
                            self.counters.frames[usize::from(!audio)].fetch_add(1, Ordering::Relaxed);
                        }
                        let seq = *packet.seq_no;
                        let last = self.last_seq.entry(*packet.header.ssrc).or_insert(seq);
                        if seq > *last + 1 {
                            self.counters.gaps.fetch_add(1, Ordering::Relaxed);
                        }
                        *last = (*last).max(seq);
                    }
                    Event::KeyframeRequest(_) => {
                        self.counters.keyframe_requests.fetch_add(1, Ordering::Relaxed);
                        self.force_keyframe = true;
                    }
                    _ => {}
                },
            }
        }
    }

    /// The negotiated payload types: [Opus, VP8, VP8 retransmission].
    fn payload_types(&self) -> Option<[u8; 3]> {
        let config = self.rtc.codec_config();
        let audio = config.find(|p| p.spec().codec == Codec::Opus)?.pt();
        let video = config.find(|p| p.spec().codec == Codec::Vp8)?;
        Some([*audio, *video.pt(), video.resend().map_or(255, |p| *p)])
    }

    /// Queues one RTP packet on the stream of `mid`.
    fn write_rtp(&mut self, mid: Mid, write: RtpWrite) {
        let mut api = self.rtc.direct_api();
        if let Some(stream) = api.stream_tx_by_mid(mid, None) {
            stream.write_rtp(write);
        }
    }

    /// Writes the audio and video frames that are due.
    fn send_media(&mut self, now: Instant) {
        let Some(pts) = self.pts else { return };
        if now.saturating_duration_since(self.next_audio) > MAX_LAG {
            let behind = now.duration_since(self.next_audio);
            self.counters.lagged.fetch_add((behind.as_millis() / 20) as u64, Ordering::Relaxed);
            self.next_audio = now;
        }
        while self.next_audio <= now {
            let at = self.next_audio;
            self.next_audio += AUDIO_INTERVAL;
            let elapsed = at.saturating_duration_since(self.start);
            let mut data = Vec::with_capacity(AUDIO_BYTES);
            data.push(0x78); // Opus TOC: CELT-only fullband, 20 ms, one frame.
            data.extend_from_slice(&self.filler[(elapsed.as_millis() as usize) % 60_000..][..AUDIO_BYTES - 1]);
            let time = (elapsed.as_micros() * 48 / 1000) as u32;
            self.audio_seq += 1;
            self.write_rtp(self.audio, RtpWrite::new(pts[0].into(), self.audio_seq.into(), time, at, data));
        }
        if now.saturating_duration_since(self.next_video) > MAX_LAG {
            let behind = now.duration_since(self.next_video);
            self.counters
                .lagged
                .fetch_add((behind.as_secs_f64() / self.shape.frame_interval.as_secs_f64()) as u64, Ordering::Relaxed);
            self.next_video = now;
        }
        while self.next_video <= now {
            let at = self.next_video;
            self.next_video += self.shape.frame_interval;
            let n = self.frame;
            self.frame += 1;
            let key = self.force_keyframe || n.is_multiple_of(self.shape.keyframe_every);
            self.force_keyframe = false;
            let size = if key {
                self.counters.keyframes_sent.fetch_add(1, Ordering::Relaxed);
                self.shape.keyframe_bytes
            } else {
                // ±20% around the average, like an encoder's frames.
                let base = self.shape.video_bytes_per_frame;
                base * 4 / 5 + rand::random_range(0..=base * 2 / 5)
            };
            let data = vp8_frame(key, size.max(16), &self.filler, n);
            let time = (at.saturating_duration_since(self.start).as_micros() * 90 / 1000) as u32;
            // RFC 7741: a one-byte payload descriptor, S set on the frame's first packet; the
            // marker bit on its last.
            let chunks: Vec<&[u8]> = data.chunks(VIDEO_PAYLOAD_BYTES).collect();
            let last = chunks.len().saturating_sub(1);
            for (i, chunk) in chunks.iter().enumerate() {
                let mut payload = Vec::with_capacity(chunk.len() + 1);
                payload.push(if i == 0 { 0x10 } else { 0x00 });
                payload.extend_from_slice(chunk);
                self.video_seq += 1;
                let write = RtpWrite::new(pts[1].into(), self.video_seq.into(), time, at, payload);
                self.write_rtp(self.camera, write.marker(i == last).nackable(true));
            }
        }
    }
}

/// A VP8-shaped frame of `size` bytes: a real frame tag (and keyframe start code and 1280x720
/// dimensions) in front of incompressible filler.
fn vp8_frame(key: bool, size: usize, filler: &[u8], n: u64) -> Vec<u8> {
    let mut data = Vec::with_capacity(size);
    let first_partition = (size / 4) as u32;
    // Frame tag: bit 0 = inter frame, bits 1-3 version 0, bit 4 show_frame, bits 5.. first
    // partition size.
    let tag = u32::from(!key) | 0x10 | (first_partition << 5);
    data.extend_from_slice(&tag.to_le_bytes()[..3]);
    if key {
        data.extend_from_slice(&[0x9d, 0x01, 0x2a]);
        data.extend_from_slice(&1280u16.to_le_bytes());
        data.extend_from_slice(&720u16.to_le_bytes());
    }
    let offset = (n as usize * 7919) % (filler.len() / 2);
    let mut remaining = size - data.len();
    let mut at = offset;
    while remaining > 0 {
        let chunk = remaining.min(filler.len() - at);
        data.extend_from_slice(&filler[at..at + chunk]);
        remaining -= chunk;
        at = 0;
    }
    data
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_look_like_vp8_and_have_the_asked_size() {
        let filler: Vec<u8> = (0..65_536u32).map(|i| (i % 251) as u8).collect();
        let key = vp8_frame(true, 30_000, &filler, 0);
        assert_eq!(key.len(), 30_000);
        assert_eq!(key[0] & 1, 0, "keyframe bit");
        assert_eq!(&key[3..6], &[0x9d, 0x01, 0x2a]);
        let delta = vp8_frame(false, 6_000, &filler, 1);
        assert_eq!(delta.len(), 6_000);
        assert_eq!(delta[0] & 1, 1);
    }

    #[test]
    fn the_shape_meets_the_bitrate() {
        let o = Options {
            server: String::new(),
            url: String::new(),
            api_token: String::new(),
            janus: String::new(),
            pid: None,
            bind: std::net::IpAddr::from([127, 0, 0, 1]),
            meetings: 1,
            participants: 2,
            seconds: 1,
            warmup: 0,
            video_kbps: 1500,
            fps: 30,
            keyframe_seconds: 3,
            threads: 1,
        };
        let s = Shape::new(&o);
        let per_interval = s.keyframe_bytes + s.video_bytes_per_frame * (s.keyframe_every as usize - 1);
        let bits_per_second = per_interval as f64 * 8.0 / 3.0;
        assert!((bits_per_second - 1_500_000.0).abs() < 5_000.0, "{bits_per_second}");
        assert_eq!(token_of("http://127.0.0.1:1/a/abc-DEF_1/join"), "abc-DEF_1");
        assert_eq!(rtp_pt(&[0x80, 96 | 0x80, 0, 1]), Some(96));
        assert_eq!(rtp_pt(&[0x80, 200, 0, 6]), None);
    }
}
