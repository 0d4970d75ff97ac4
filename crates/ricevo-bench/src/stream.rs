//! `ricevo-bench stream-viewers`: LL-HLS viewers of one live stream on loopback.
//!
//! Each viewer behaves like an LL-HLS player (hls.js, AVPlayer): it loads the playlist and the
//! init segment, starts three parts behind the live edge, then alternates blocking playlist
//! reloads (`_HLS_msn`/`_HLS_part` of the next part) with fetching each listed part. It reports
//! how far behind the live edge viewers fell (in segments), request latency percentiles and
//! errors. Without `--url` it hosts the stream itself: ricevo-stream fed with synthetic H.264
//! and Opus packets at real time (two cameras, the shown one switching every 15 s) behind a
//! minimal HTTP server on 127.0.0.1 answering as the public pages' HLS routes do.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use ricevo_stream::synthetic::{Camera, Microphone};
use ricevo_stream::{FeedMessage, HlsFile, Live, LiveOptions, PLAYLIST};
use tokio::sync::Mutex;

const MAX_VIEWERS: usize = 20_000;
const MAX_SECONDS: u64 = 3_600;

#[derive(Debug)]
struct Options {
    url: Option<String>,
    viewers: usize,
    seconds: u64,
    /// The server process (with `--url`), for CPU and memory from /proc.
    pid: Option<u32>,
    /// Synthetic video bitrate of the self-hosted stream.
    video_kbps: usize,
}

fn parse(args: &[String]) -> Options {
    let mut o = Options { url: None, viewers: 100, seconds: 30, pid: None, video_kbps: 1500 };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_else(|| usage(&format!("{flag} needs a value")));
        let number = || value.parse::<u64>().unwrap_or_else(|_| usage(&format!("{flag}: not a number")));
        match flag.as_str() {
            "--url" => o.url = Some(value.clone()),
            "--viewers" => o.viewers = number() as usize,
            "--seconds" => o.seconds = number(),
            "--pid" => o.pid = Some(number() as u32),
            "--video-kbps" => o.video_kbps = number() as usize,
            _ => usage(&format!("unknown flag {flag}")),
        }
    }
    if o.viewers == 0 || o.viewers > MAX_VIEWERS {
        usage(&format!("--viewers must be 1..={MAX_VIEWERS}"));
    }
    if o.seconds == 0 || o.seconds > MAX_SECONDS {
        usage(&format!("--seconds must be 1..={MAX_SECONDS}"));
    }
    if let Some(url) = &o.url {
        let host = url.strip_prefix("http://").and_then(|r| r.split(['/', ':']).next()).unwrap_or("");
        if !(host == "localhost" || host.starts_with("127.") || url.starts_with("http://[::1]")) {
            usage("--url must be http:// on loopback (127.0.0.0/8, [::1], localhost)");
        }
    }
    o
}

fn usage(message: &str) -> ! {
    eprintln!(
        "{message}\nusage: ricevo-bench stream-viewers [--url http://127.0.0.1:PORT/.../index.m3u8 [--pid P]] \
         [--viewers N] [--seconds S] [--video-kbps K]"
    );
    std::process::exit(2);
}

pub(crate) fn run(args: &[String]) {
    let o = parse(args);
    let hosted = if o.url.is_none() { Some(SelfHosted::start(o.video_kbps)) } else { None };
    let url = o.url.clone().or_else(|| hosted.as_ref().map(|h| h.url.clone())).unwrap_or_default();
    let runtime = tokio::runtime::Builder::new_multi_thread().thread_name("viewers").enable_all().build().unwrap();
    runtime.block_on(bench(&o, &url, hosted.as_ref()));
    if let Some(hosted) = hosted {
        hosted.stop();
    }
}

/// ricevo-stream behind a minimal HTTP server, on its own runtime and threads.
struct SelfHosted {
    url: String,
    stop: Arc<AtomicBool>,
    feeder: std::thread::JoinHandle<()>,
    runtime: tokio::runtime::Runtime,
}

impl SelfHosted {
    fn start(video_kbps: usize) -> SelfHosted {
        let (feed, live) = ricevo_stream::start(LiveOptions::default()).unwrap();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("stream-server")
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
        let port = listener.local_addr().unwrap().port();
        let app = axum::Router::new().route("/live/{file}", axum::routing::get(serve)).with_state(live);
        runtime.spawn(async move { axum::serve(listener, app).await });
        let stop = Arc::new(AtomicBool::new(false));
        let feeder = std::thread::Builder::new()
            .name("feeder".into())
            .spawn({
                let stop = stop.clone();
                move || synthetic_session(&feed, &stop, video_kbps)
            })
            .unwrap();
        SelfHosted { url: format!("http://127.0.0.1:{port}/live/{PLAYLIST}"), stop, feeder, runtime }
    }

    fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.feeder.join();
        self.runtime.shutdown_timeout(Duration::from_secs(1));
    }
}

/// Two members at 30 fps and 50 audio packets/s, at real time; the shown camera switches every
/// 15 s and cameras answer keyframe requests after 3 frames (about 100 ms).
fn synthetic_session(feed: &ricevo_stream::Feed, stop: &AtomicBool, video_kbps: usize) {
    let slice = video_kbps * 1000 / 8 / 30;
    let mut cameras = [Camera::new(1, 1280, 720, slice), Camera::new(2, 1280, 720, slice)];
    let mut mics = [Microphone::new(1), Microphone::new(2)];
    let mut pending = [None::<u32>; 2];
    let start = Instant::now();
    let mut shown = 1u64;
    feed.send(FeedMessage::Show { video: shown });
    let mut tick = 0u64; // 10 ms ticks
    while !stop.load(Ordering::Relaxed) {
        let at = start + Duration::from_millis(tick * 10);
        if let Some(wait) = at.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let now = Instant::now();
        let millis = tick * 10;
        if millis > 0 && millis.is_multiple_of(15_000) {
            shown = 3 - shown;
            feed.send(FeedMessage::Show { video: shown });
        }
        // Frame n of 30 fps falls in the tick containing n*100/3 ms.
        if (millis * 3) / 100 != ((millis + 10) * 3) / 100 || millis == 0 {
            let wanted = feed.keyframe_wanted();
            for (i, camera) in cameras.iter_mut().enumerate() {
                if wanted && pending[i].is_none() && i as u64 + 1 == shown {
                    pending[i] = Some(3);
                }
                let keyframe = match &mut pending[i] {
                    Some(0) => {
                        pending[i] = None;
                        true
                    }
                    Some(n) => {
                        *n -= 1;
                        false
                    }
                    None => false,
                };
                for packet in camera.frame(keyframe, now) {
                    feed.send(FeedMessage::Packet(packet));
                }
            }
        }
        if millis.is_multiple_of(20) {
            for (i, mic) in mics.iter_mut().enumerate() {
                let level = if i as u64 + 1 == shown { -25 } else { -70 };
                feed.send(FeedMessage::Packet(mic.packet(level, 100, now)));
            }
        }
        tick += 1;
    }
    feed.send(FeedMessage::End);
}

/// The HLS route as the public pages serve it: playlist with blocking reload, init, parts, segments.
async fn serve(
    State(live): State<Live>,
    Path(file): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let answer = |result: Result<bytes::Bytes, ricevo_stream::StreamError>, kind: &'static str| match result {
        Ok(body) => ([(header::CONTENT_TYPE, kind)], body).into_response(),
        Err(e) => {
            (StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), e.message()).into_response()
        }
    };
    match HlsFile::parse(&file) {
        Some(HlsFile::Playlist) => {
            let msn = query.get("_HLS_msn").and_then(|v| v.parse().ok());
            let part = query.get("_HLS_part").and_then(|v| v.parse().ok());
            answer(live.playlist(msn, part).await.map(bytes::Bytes::from), "application/vnd.apple.mpegurl")
        }
        Some(HlsFile::Init) => answer(live.init().ok_or(ricevo_stream::StreamError::NotFound), "video/mp4"),
        Some(HlsFile::Segment(msn)) => answer(live.segment(msn).await, "video/iso.segment"),
        Some(HlsFile::Part(msn, part)) => answer(live.part(msn, part).await, "video/iso.segment"),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// A part listed in a playlist.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
struct Listed {
    msn: u64,
    index: u64,
    duration: f64,
    /// Wall-clock time of the part's first sample (Unix seconds, from EXT-X-PROGRAM-DATE-TIME).
    start: f64,
}

#[derive(Debug, Default)]
struct Parsed {
    parts: Vec<Listed>,
    hint: Option<(u64, u64)>,
    segment_seconds: f64,
    ended: bool,
}

fn parse_playlist(text: &str) -> Parsed {
    let mut parsed = Parsed::default();
    let (mut extinf_total, mut extinf_count) = (0.0, 0);
    let mut clock = 0.0;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("#EXT-X-PROGRAM-DATE-TIME:") {
            clock = rest.parse::<jiff::Timestamp>().map(|t| t.as_millisecond() as f64 / 1000.0).unwrap_or(0.0);
        } else if let Some(rest) = line.strip_prefix("#EXT-X-PART:") {
            let duration = attribute(rest, "DURATION").and_then(|d| d.parse().ok()).unwrap_or(0.0);
            if let Some(HlsFile::Part(msn, index)) = attribute(rest, "URI").and_then(HlsFile::parse) {
                parsed.parts.push(Listed { msn, index: u64::from(index), duration, start: clock });
            }
            clock += duration;
        } else if let Some(rest) = line.strip_prefix("#EXT-X-PRELOAD-HINT:") {
            if let Some(HlsFile::Part(msn, index)) = attribute(rest, "URI").and_then(HlsFile::parse) {
                parsed.hint = Some((msn, u64::from(index)));
            }
        } else if let Some(rest) = line.strip_prefix("#EXTINF:") {
            extinf_total += rest.trim_end_matches(',').parse::<f64>().unwrap_or(0.0);
            extinf_count += 1;
        } else if line == "#EXT-X-ENDLIST" {
            parsed.ended = true;
        }
    }
    parsed.segment_seconds = if extinf_count > 0 { extinf_total / f64::from(extinf_count) } else { 2.0 };
    parsed
}

fn attribute<'a>(list: &'a str, name: &str) -> Option<&'a str> {
    list.split(',').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == name).then(|| v.trim_matches('"'))
    })
}

#[derive(Debug, Default)]
struct Results {
    part_latency: Vec<f64>,
    /// How old a part's first sample is when a viewer has received the part (seconds).
    part_age: Vec<f64>,
    playlist_latency: Vec<f64>,
    /// Per viewer, the most it was behind the live edge, in segments.
    behind: Vec<f64>,
    errors: u64,
    jumps: u64,
    bytes: u64,
    requests: u64,
}

/// Viewers sharing one source address (below Ricevo's 128 connections per address).
const VIEWERS_PER_ADDRESS: usize = 100;

async fn viewer(client: reqwest::Client, url: String, deadline: Instant, results: Arc<Mutex<Results>>) {
    let base = url.rsplit_once('/').map(|(b, _)| b.to_string()).unwrap_or_default();
    let mut part_latency = Vec::new();
    let mut part_age = Vec::new();
    let mut playlist_latency = Vec::new();
    let (mut errors, mut jumps, mut bytes, mut requests) = (0u64, 0u64, 0u64, 0u64);
    let mut behind_max: f64 = 0.0;
    let get = |u: String| {
        let client = client.clone();
        async move {
            let response = client.get(&u).send().await.map_err(|e| e.to_string())?;
            if !response.status().is_success() {
                return Err(format!("{} {u}", response.status()));
            }
            response.bytes().await.map_err(|e| e.to_string())
        }
    };
    // Start: the playlist (without blocking) and the init segment.
    let mut playlist = loop {
        if Instant::now() >= deadline {
            return;
        }
        requests += 1;
        match get(url.clone()).await {
            Ok(body) => {
                let parsed = parse_playlist(&String::from_utf8_lossy(&body));
                if !parsed.parts.is_empty() {
                    break parsed;
                }
            }
            Err(_) => errors += 1,
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    requests += 1;
    if get(format!("{base}/init.mp4")).await.is_err() {
        errors += 1;
    }
    // Three parts behind the edge (PART-HOLD-BACK).
    let mut next = playlist.parts[playlist.parts.len().saturating_sub(3)];
    let mut next_key = (next.msn, next.index);
    while Instant::now() < deadline && !playlist.ended {
        if let Some(listed) = playlist.parts.iter().position(|p| (p.msn, p.index) >= next_key) {
            next = playlist.parts[listed];
            next_key = (next.msn, next.index);
            let started = Instant::now();
            requests += 1;
            match get(format!("{base}/s{}.{}.m4s", next.msn, next.index)).await {
                Ok(body) => {
                    part_latency.push(started.elapsed().as_secs_f64());
                    if next.start > 0.0 {
                        let now = jiff::Timestamp::now().as_millisecond() as f64 / 1000.0;
                        part_age.push(now - next.start);
                    }
                    bytes += body.len() as u64;
                    next_key = playlist
                        .parts
                        .get(listed + 1)
                        .map(|p| (p.msn, p.index))
                        .or(playlist.hint)
                        .unwrap_or((next.msn, next.index + 1));
                }
                Err(_) => {
                    errors += 1;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
            continue;
        }
        // The next part is not listed yet: blocking reload for it.
        let started = Instant::now();
        requests += 1;
        let reload = format!("{url}?_HLS_msn={}&_HLS_part={}", next_key.0, next_key.1);
        match get(reload).await {
            Ok(body) => {
                playlist_latency.push(started.elapsed().as_secs_f64());
                playlist = parse_playlist(&String::from_utf8_lossy(&body));
                if playlist.parts.first().is_some_and(|p| (p.msn, p.index) > next_key) {
                    // Fell out of the window: a player would jump to the live edge.
                    jumps += 1;
                }
                // How far behind the edge: everything listed after the last part fetched.
                let after: f64 =
                    playlist.parts.iter().filter(|p| (p.msn, p.index) >= next_key).map(|p| p.duration).sum();
                behind_max = behind_max.max(after / playlist.segment_seconds.max(0.1));
            }
            Err(_) => {
                errors += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
                if let Ok(body) = get(url.clone()).await {
                    playlist = parse_playlist(&String::from_utf8_lossy(&body));
                }
            }
        }
    }
    let mut r = results.lock().await;
    r.part_latency.extend(part_latency);
    r.part_age.extend(part_age);
    r.playlist_latency.extend(playlist_latency);
    r.behind.push(behind_max);
    r.errors += errors;
    r.jumps += jumps;
    r.bytes += bytes;
    r.requests += requests;
}

/// CPU seconds used by this process's threads whose names start with one of `prefixes`.
fn thread_cpu(prefixes: &[&str]) -> f64 {
    let mut ticks = 0;
    if let Ok(tasks) = std::fs::read_dir("/proc/self/task") {
        for task in tasks.flatten() {
            let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
            if prefixes.iter().any(|p| comm.trim().starts_with(p)) {
                ticks += cpu_ticks(&task.path().join("stat").to_string_lossy());
            }
        }
    }
    ticks as f64 / 100.0
}

fn cpu_ticks(path: &str) -> u64 {
    let stat = std::fs::read_to_string(path).unwrap_or_default();
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |n: usize| fields.get(n - 3).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    field(14) + field(15)
}

fn memory_kib(pid: &str, key: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(key)?.trim().strip_suffix("kB")?.trim().parse().ok())
        .unwrap_or(0)
}

async fn bench(o: &Options, url: &str, hosted: Option<&SelfHosted>) {
    println!(
        "stream-viewers: {} viewers for {} s against {url}{}",
        o.viewers,
        o.seconds,
        if hosted.is_some() { " (self-hosted, synthetic 2-camera session)" } else { "" }
    );
    // Let the stream build its first segments, as a session does before viewers come.
    if hosted.is_some() {
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
    // Viewers come from many addresses, as a town's citizens do (Ricevo holds at most 128
    // connections per client address): on loopback, 100 viewers per source address
    // 127.0.0.2, 127.0.0.3, ... (all of 127.0.0.0/8 is this machine).
    let loopback = url.starts_with("http://127.") || url.starts_with("http://localhost");
    let clients: Vec<reqwest::Client> = (0..o.viewers.div_ceil(VIEWERS_PER_ADDRESS).max(1))
        .map(|i| {
            let builder =
                reqwest::Client::builder().timeout(Duration::from_secs(15)).pool_max_idle_per_host(usize::MAX);
            let builder = if loopback {
                let host = u8::try_from(2 + i).unwrap_or(u8::MAX);
                builder.local_address(Some(std::net::IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, host))))
            } else {
                builder
            };
            builder.build().unwrap()
        })
        .collect();
    let results = Arc::new(Mutex::new(Results::default()));
    let server_threads = ["stream-server", "ricevo-stream", "feeder"];
    let server_pid = o.pid.map(|p| p.to_string());
    let server_cpu = || match &server_pid {
        Some(pid) => cpu_ticks(&format!("/proc/{pid}/stat")) as f64 / 100.0,
        None => thread_cpu(&server_threads),
    };
    let cpu_before = server_cpu();
    let viewers_cpu_before = thread_cpu(&["viewers"]);
    let started = Instant::now();
    let deadline = started + Duration::from_secs(o.seconds);
    let peak_rss = Arc::new(AtomicU64::new(0));
    let sampler = tokio::spawn({
        let peak_rss = peak_rss.clone();
        let pid = server_pid.clone().unwrap_or_else(|| "self".into());
        async move {
            loop {
                peak_rss.fetch_max(memory_kib(&pid, "VmRSS:"), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    });
    let mut tasks = Vec::with_capacity(o.viewers);
    for i in 0..o.viewers {
        let client = clients[i / VIEWERS_PER_ADDRESS].clone();
        tasks.push(tokio::spawn(viewer(client, url.to_string(), deadline, results.clone())));
        // Viewers arrive over the first second rather than all in one instant.
        if i % 50 == 49 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    for task in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(30), task).await;
    }
    sampler.abort();
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = server_cpu() - cpu_before;
    let viewers_cpu = thread_cpu(&["viewers"]) - viewers_cpu_before;
    let mut guard = results.lock().await;
    let r = &mut *guard;
    for v in [&mut r.part_latency, &mut r.part_age, &mut r.playlist_latency, &mut r.behind] {
        v.sort_by(f64::total_cmp);
    }
    let ms = |v: &[f64], q: f64| crate::quantile(v, q) * 1000.0;
    println!(
        "requests: {} ({:.0}/s), {:.1} MB/s to viewers, errors {}, jumps to the live edge {}",
        r.requests,
        r.requests as f64 / elapsed,
        r.bytes as f64 / elapsed / 1e6,
        r.errors,
        r.jumps
    );
    println!(
        "part fetch latency ms: p50 {:.1} p90 {:.1} p99 {:.1} max {:.1} ({} fetches)",
        ms(&r.part_latency, 0.5),
        ms(&r.part_latency, 0.9),
        ms(&r.part_latency, 0.99),
        ms(&r.part_latency, 1.0),
        r.part_latency.len()
    );
    println!(
        "blocking playlist reload ms (includes waiting for the next part): p50 {:.1} p90 {:.1} p99 {:.1} max {:.1}",
        ms(&r.playlist_latency, 0.5),
        ms(&r.playlist_latency, 0.9),
        ms(&r.playlist_latency, 0.99),
        ms(&r.playlist_latency, 1.0)
    );
    println!(
        "age of a part's first frame when the viewer has the part, ms (packaging + serving, \
         before the player's buffer): p50 {:.0} p99 {:.0} max {:.0}",
        ms(&r.part_age, 0.5),
        ms(&r.part_age, 0.99),
        ms(&r.part_age, 1.0)
    );
    let over_one = r.behind.iter().filter(|b| **b > 1.0).count();
    println!(
        "behind the live edge (per viewer, max, segments): p50 {:.2} p99 {:.2} max {:.2}; viewers more than 1 segment behind: {over_one} of {}",
        crate::quantile(&r.behind, 0.5),
        crate::quantile(&r.behind, 0.99),
        crate::quantile(&r.behind, 1.0),
        r.behind.len()
    );
    println!(
        "server CPU: {:.1}% of one core ({}); viewers' CPU {:.1}%; peak RSS {} MiB ({})",
        cpu / elapsed * 100.0,
        if o.pid.is_some() { "the --pid process" } else { "HTTP runtime + packager + feeder threads" },
        viewers_cpu / elapsed * 100.0,
        peak_rss.load(Ordering::Relaxed) / 1024,
        if o.pid.is_some() { "server" } else { "whole bench process, viewers included" }
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn playlists_parse_parts_hint_and_segment_length() {
        let text = "#EXTM3U\n#EXT-X-PART:DURATION=0.50000,URI=\"s4.0.m4s\",INDEPENDENT=YES\n\
                    #EXT-X-PART:DURATION=0.40000,URI=\"s4.1.m4s\"\n#EXTINF:1.90000,\ns4.m4s\n\
                    #EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"s5.0.m4s\"\n";
        let parsed = parse_playlist(text);
        assert_eq!(parsed.parts.len(), 2);
        assert_eq!((parsed.parts[1].msn, parsed.parts[1].index), (4, 1));
        assert_eq!(parsed.hint, Some((5, 0)));
        assert!((parsed.segment_seconds - 1.9).abs() < 1e-9);
        assert!(!parsed.ended);
    }
}
