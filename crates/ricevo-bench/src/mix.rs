//! A mixed load held on a real `ricevo` server process for a bounded time, on loopback only:
//! citizens booking, citizens waiting in waiting rooms over WebSockets, and many addresses
//! guessing staff passwords at once. It samples the server's resident memory from
//! `/proc/PID/status` and checks it stays bounded against baselines taken in the same run
//! (the idle server, and the server after the warm-up), never against wall-clock figures.
//!
//! Every client has its own loopback address (127.x.y.z: all of 127.0.0.0/8 reaches `lo` on
//! Linux), as distinct people would, so per-address limits apply to each as in production.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use jiff::civil::{Time, Weekday};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use ricevo_core::Mode;
use ricevo_core::hours::{OpeningHours, WeeklyRange};
use ricevo_core::service::ServiceRules;
use ricevo_core::slots::{SlotQuery, compute};
use ricevo_store::NewService;
use tokio_tungstenite::tungstenite::Message;

use crate::booking::{Server, bench_town, free_port};

struct Options {
    server: String,
    seconds: u64,
    warmup: u64,
    guessers: usize,
    bookers: usize,
    sockets: usize,
    max_bookings: usize,
    /// Largest allowed rise of the peak resident memory over the idle server's, MiB.
    max_peak_rise_mib: u64,
    /// Largest allowed growth from the end of the warm-up to the end of the run, MiB.
    max_growth_mib: u64,
}

fn parse(args: &[String]) -> Options {
    let mut o = Options {
        server: String::new(),
        seconds: 30,
        warmup: 5,
        guessers: 150,
        bookers: 8,
        sockets: 100,
        max_bookings: 20_000,
        max_peak_rise_mib: 256,
        max_growth_mib: 32,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || it.next().cloned().unwrap_or_default();
        if a == "--server" {
            o.server = value();
            continue;
        }
        let v = value();
        let number = |name: &str| {
            v.parse::<u64>().unwrap_or_else(|_| {
                eprintln!("{name} needs a number");
                std::process::exit(2);
            })
        };
        match a.as_str() {
            "--seconds" => o.seconds = number(a).clamp(1, 600),
            "--warmup" => o.warmup = number(a),
            "--guessers" => o.guessers = (number(a) as usize).min(60_000),
            "--bookers" => o.bookers = (number(a) as usize).min(250),
            "--sockets" => o.sockets = (number(a) as usize).min(2_000),
            "--max-bookings" => o.max_bookings = number(a) as usize,
            "--max-peak-rise-mib" => o.max_peak_rise_mib = number(a),
            "--max-growth-mib" => o.max_growth_mib = number(a),
            other => {
                eprintln!("unknown option {other}");
                std::process::exit(2);
            }
        }
    }
    if o.server.is_empty() {
        eprintln!("--server PATH to the ricevo binary is required");
        std::process::exit(2);
    }
    o.warmup = o.warmup.min(o.seconds / 2);
    o
}

/// The `n`th address of a group of clients: 127.<group>.<n / 250>.<n % 250 + 1>.
fn client_ip(group: u8, n: usize) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, group, (n / 250) as u8, (n % 250 + 1) as u8))
}

/// A field of `/proc/PID/status` in KiB (`VmRSS:`, `VmHWM:`).
fn status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with(field)).and_then(|l| l.split_whitespace().nth(1)?.parse().ok()))
        .unwrap_or(0)
}

#[derive(Default)]
struct Counts {
    booked: AtomicUsize,
    booking_conflicts: AtomicUsize,
    booking_other: AtomicUsize,
    guesses_checked: AtomicUsize,
    guesses_throttled: AtomicUsize,
    guesses_busy: AtomicUsize,
    guesses_other: AtomicUsize,
    socket_messages: AtomicUsize,
    sockets_open: AtomicUsize,
    sockets_lost: AtomicUsize,
}

pub(crate) fn run(args: &[String]) {
    let o = parse(args);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(bench(o));
}

async fn bench(o: Options) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("ricevo.db").display());
    let store = ricevo_store::open(&url).await.unwrap();
    let (tenant, office) = bench_town(&*store).await;
    // Open all day every day with many desks: waiting-room appointments fit in the next hours.
    let t = |h, m| Time::new(h, m, 0, 0).unwrap();
    let days = [
        Weekday::Monday,
        Weekday::Tuesday,
        Weekday::Wednesday,
        Weekday::Thursday,
        Weekday::Friday,
        Weekday::Saturday,
        Weekday::Sunday,
    ];
    let desks = 50;
    let hours =
        OpeningHours::new(days.iter().map(|d| WeeklyRange::new(*d, t(0, 0), t(23, 55)).unwrap()).collect(), desks)
            .unwrap();
    store.set_hours(tenant.id, office.id, &hours).await.unwrap();
    let rules = ServiceRules::new(5, 0, vec![Mode::Video], 0, 400).unwrap();
    let service = store
        .create_service(
            tenant.id,
            &NewService {
                office_id: office.id,
                name: "Prova".into(),
                description: String::new(),
                rules: rules.clone(),
                what_to_bring: String::new(),
                questions: vec![],
                active: true,
            },
        )
        .await
        .unwrap();
    let zone = TimeZone::get("Europe/Rome").unwrap();
    let now = Timestamp::now();
    let today = now.to_zoned(zone.clone()).date();
    let q = SlotQuery {
        zone: &zone,
        hours: &hours,
        closures: &[],
        patron: None,
        service: &rules,
        booked: &[],
        now,
        from: today,
        to: today.checked_add(300.days()).unwrap(),
    };
    let slots = compute(&q);
    let fmt = |s: &jiff::Zoned| s.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string();
    // Waiting rooms: slots starting 10 to 120 minutes from now (the room opens 240 minutes before).
    let soon: Vec<String> = slots
        .iter()
        .filter(|s| {
            s.start.timestamp() > now + jiff::SignedDuration::from_mins(10)
                && s.start.timestamp() < now + jiff::SignedDuration::from_mins(120)
        })
        .map(|s| fmt(&s.start))
        .collect();
    // Bookings: slots from tomorrow on, each wanted by exactly `desks` clients.
    let later: Vec<String> = slots
        .iter()
        .filter(|s| s.start.timestamp() > now + jiff::SignedDuration::from_hours(24))
        .map(|s| fmt(&s.start))
        .collect();
    assert!(!soon.is_empty() && !later.is_empty(), "no free slots to book");
    drop(store);

    let port = free_port();
    let child = Command::new(&o.server)
        .env("RICEVO_DATABASE_URL", &url)
        .env("RICEVO_DATA_DIR", dir.path())
        .env("RICEVO_LISTEN", format!("127.0.0.1:{port}"))
        .env("RICEVO_MEDIA_UDP", format!("127.0.0.1:{}", free_port()))
        .env("RICEVO_JOIN_OPEN_MINUTES", "240")
        .env("RICEVO_RATE_LIMIT_PER_MINUTE", "100000000")
        // The booking clients stand for many citizens: lift the per-address booking budget, the
        // per-citizen quota and the connection cap, so the load reaches the booking path.
        .env("RICEVO_BOOKINGS_PER_HOUR_PER_ADDRESS", "100000000")
        .env("RICEVO_TICKETS_PER_HOUR_PER_ADDRESS", "100000000")
        .env("RICEVO_MAX_ACTIVE_APPOINTMENTS_PER_CITIZEN", "0")
        .env("RICEVO_MAX_CONNECTIONS_PER_ADDRESS", "0")
        .env("RICEVO_LOG", "error")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let server = Server(child);
    let pid = server.0.id();
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let ready = Instant::now();
    while http.get(format!("{base}/healthz")).send().await.map(|r| r.status().is_success()).ok() != Some(true) {
        assert!(ready.elapsed() < Duration::from_secs(60), "server did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle_kib = status_kib(pid, "VmRSS:");

    // Book the waiting-room appointments first (one each, spread over the soon slots).
    let mut joins = Vec::new();
    for i in 0..o.sockets {
        let start = &soon[(i / usize::from(desks)) % soon.len()];
        let body = serde_json::json!({
            "service_id": service.id.0,
            "start": start,
            "mode": "video",
            "citizen": {"name": format!("In attesa {i}"), "email": format!("w{i}@bench.it")},
            "privacy_accepted": true
        });
        let resp = http
            .post(format!("{base}/api/v1/bench/appointments"))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        let status = resp.status();
        let answer: serde_json::Value =
            serde_json::from_str(&resp.text().await.unwrap_or_default()).unwrap_or_default();
        assert_eq!(status.as_u16(), 201, "waiting-room booking {i}: {answer}");
        let join = answer["join_url"].as_str().unwrap();
        joins.push(join.replace("http://", "ws://").replace("/join", "/ws"));
    }

    let counts = Arc::new(Counts::default());
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();

    // Waiting citizens: one socket each from its own address, pinging now and then.
    for (i, ws_url) in joins.into_iter().enumerate() {
        let (counts, stop) = (counts.clone(), stop.clone());
        let target: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        tasks.push(tokio::spawn(async move {
            let socket = tokio::net::TcpSocket::new_v4().unwrap();
            socket.bind(SocketAddr::new(client_ip(2, i), 0)).unwrap();
            let Ok(stream) = socket.connect(target).await else {
                counts.sockets_lost.fetch_add(1, Ordering::Relaxed);
                return;
            };
            let Ok((mut ws, _)) = tokio_tungstenite::client_async(ws_url.as_str(), stream).await else {
                counts.sockets_lost.fetch_add(1, Ordering::Relaxed);
                return;
            };
            counts.sockets_open.fetch_add(1, Ordering::Relaxed);
            let mut ping = tokio::time::interval(Duration::from_secs(5));
            while !stop.load(Ordering::Relaxed) {
                tokio::select! {
                    msg = ws.next() => match msg {
                        Some(Ok(_)) => { counts.socket_messages.fetch_add(1, Ordering::Relaxed); }
                        _ => { counts.sockets_lost.fetch_add(1, Ordering::Relaxed); break; }
                    },
                    _ = ping.tick() => {
                        let ping = serde_json::json!({"type": "ping"}).to_string();
                        if ws.send(Message::Text(ping.into())).await.is_err() {
                            counts.sockets_lost.fetch_add(1, Ordering::Relaxed);
                            break;
                        }
                    }
                    _ = tokio::time::sleep(Duration::from_millis(200)) => {}
                }
            }
            let _ = ws.close(None).await;
        }));
    }

    // Booking citizens: keep-alive clients from their own addresses, bounded in count.
    let later = Arc::new(later);
    let next = Arc::new(AtomicUsize::new(0));
    for b in 0..o.bookers {
        let (counts, stop, later, next, base) =
            (counts.clone(), stop.clone(), later.clone(), next.clone(), base.clone());
        let (max, service_id, desks) = (o.max_bookings, service.id.0, usize::from(desks));
        let client = reqwest::Client::builder().local_address(client_ip(3, b)).build().unwrap();
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= max {
                    break;
                }
                let body = serde_json::json!({
                    "service_id": service_id,
                    "start": later[(i / desks) % later.len()],
                    "mode": "video",
                    "citizen": {"name": format!("Cittadino {i}"), "email": format!("c{i}@bench.it")},
                    "privacy_accepted": true
                });
                let status = client
                    .post(format!("{base}/api/v1/bench/appointments"))
                    .header("content-type", "application/json")
                    .body(body.to_string())
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
                    .unwrap_or(0);
                match status {
                    201 => counts.booked.fetch_add(1, Ordering::Relaxed),
                    409 => counts.booking_conflicts.fetch_add(1, Ordering::Relaxed),
                    _ => counts.booking_other.fetch_add(1, Ordering::Relaxed),
                };
            }
        }));
    }

    // Guessers: each from its own address, the sign-in form then a wrong password, again and
    // again, all at once (half at the one real account, half at made-up ones).
    for g in 0..o.guessers {
        let (counts, stop, base) = (counts.clone(), stop.clone(), base.clone());
        let client = reqwest::Client::builder().local_address(client_ip(1, g)).build().unwrap();
        tasks.push(tokio::spawn(async move {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let Ok(page) = client.get(format!("{base}/bench/staff/login")).send().await else { continue };
                let cookie = page
                    .headers()
                    .get_all("set-cookie")
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                    .find_map(|c| c.strip_prefix("ricevo_login_csrf="))
                    .map(|c| c.split(';').next().unwrap_or("").to_owned())
                    .unwrap_or_default();
                let body = page.text().await.unwrap_or_default();
                let field = body
                    .split_once("name=\"login_csrf\" value=\"")
                    .and_then(|(_, rest)| rest.split_once('"'))
                    .map(|(v, _)| v.to_owned())
                    .unwrap_or_default();
                let email = if g % 2 == 0 { "admin@bench.it".to_owned() } else { format!("nobody{g}@bench.it") };
                let form = format!("login_csrf={field}&email={}&password=guess-{g}-{n}", email.replace('@', "%40"));
                let status = client
                    .post(format!("{base}/bench/staff/login"))
                    .header("content-type", "application/x-www-form-urlencoded")
                    .header("cookie", format!("ricevo_login_csrf={cookie}"))
                    .body(form)
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
                    .unwrap_or(0);
                match status {
                    401 => counts.guesses_checked.fetch_add(1, Ordering::Relaxed),
                    429 => counts.guesses_throttled.fetch_add(1, Ordering::Relaxed),
                    503 => counts.guesses_busy.fetch_add(1, Ordering::Relaxed),
                    _ => counts.guesses_other.fetch_add(1, Ordering::Relaxed),
                };
                if status == 429 {
                    // Throttled for the window: a real guesser would come back later.
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        }));
    }

    // Memory, sampled every 250 ms while the mix runs.
    let started = Instant::now();
    let mut samples: Vec<(f64, u64)> = Vec::new();
    let mut warm_kib = 0;
    while started.elapsed() < Duration::from_secs(o.seconds) {
        let at = started.elapsed().as_secs_f64();
        samples.push((at, status_kib(pid, "VmRSS:")));
        if warm_kib == 0 && at >= o.warmup as f64 {
            warm_kib = status_kib(pid, "VmRSS:");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let hwm_kib = status_kib(pid, "VmHWM:");
    let end_kib = status_kib(pid, "VmRSS:");
    stop.store(true, Ordering::Relaxed);
    let sockets_open = counts.sockets_open.load(Ordering::Relaxed);
    for t in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(15), t).await;
    }
    let after_kib = status_kib(pid, "VmRSS:");
    drop(server);

    let mib = |k: u64| k as f64 / 1024.0;
    let c = |a: &AtomicUsize| a.load(Ordering::Relaxed);
    let window = o.seconds as f64;
    println!(
        "mix: {} s ({} s warm-up); {} guessers, {} bookers, {} waiting-room sockets, each client from its own 127/8 address",
        o.seconds, o.warmup, o.guessers, o.bookers, o.sockets
    );
    println!(
        "bookings: {} created ({:.0}/s), {} conflicts, {} other",
        c(&counts.booked),
        c(&counts.booked) as f64 / window,
        c(&counts.booking_conflicts),
        c(&counts.booking_other)
    );
    println!(
        "guesses: {} checked (401), {} throttled (429), {} turned away busy (503), {} other",
        c(&counts.guesses_checked),
        c(&counts.guesses_throttled),
        c(&counts.guesses_busy),
        c(&counts.guesses_other)
    );
    println!(
        "waiting rooms: {sockets_open} sockets open, {} lost during the run, {} messages received",
        c(&counts.sockets_lost),
        c(&counts.socket_messages)
    );
    let timeline: Vec<String> =
        samples.iter().step_by((samples.len() / 12).max(1)).map(|(at, k)| format!("{at:.0}s {:.0}", mib(*k))).collect();
    println!("server RSS MiB over time: {}", timeline.join(", "));
    let rise = hwm_kib.saturating_sub(idle_kib);
    let growth = end_kib.saturating_sub(warm_kib);
    println!(
        "server memory: idle {:.1} MiB, after warm-up {:.1} MiB, end {:.1} MiB, peak (VmHWM) {:.1} MiB, after the load {:.1} MiB",
        mib(idle_kib),
        mib(warm_kib),
        mib(end_kib),
        mib(hwm_kib),
        mib(after_kib)
    );
    let peak_ok = rise <= o.max_peak_rise_mib * 1024;
    let growth_ok = growth <= o.max_growth_mib * 1024;
    println!(
        "peak over idle: {:.1} MiB (limit {} MiB) {}; growth after warm-up: {:.1} MiB (limit {} MiB) {}",
        mib(rise),
        o.max_peak_rise_mib,
        if peak_ok { "ok" } else { "FAIL" },
        mib(growth),
        o.max_growth_mib,
        if growth_ok { "ok" } else { "FAIL" }
    );
    let other = c(&counts.guesses_other) + c(&counts.booking_other);
    if other > 0 {
        println!("{other} requests ended with an unexpected status or a connection error");
    }
    if !(peak_ok && growth_ok) {
        std::process::exit(1);
    }
}
