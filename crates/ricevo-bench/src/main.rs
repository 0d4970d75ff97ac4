//! Ricevo's benchmarks. Results, with the command and the machine, go to BENCHMARKS.md.
//!
//! `ricevo-bench slots`: slot computation for a busy office (two desks, 60 days, 1,000 bookings).
//! `ricevo-bench booking --server target/release/ricevo [--database-url postgres://...]`:
//! concurrent clients booking over HTTP against a running server; reports successes,
//! conflicts, latency percentiles and double bookings (which must be 0).
//! `ricevo-bench mix --server target/release/ricevo [--seconds S] [--guessers G] [--bookers B]
//! [--sockets W]`: bookings, waiting-room sockets and password guessing at once for a bounded
//! time; reports the server's memory against its idle and warmed-up baselines (fails if it
//! rises past the limits).
//! `ricevo-bench pages --server target/release/ricevo [--database-url postgres://...]
//! [--appointments N] [--audit-entries N] [--requests R]`: the staff day view of an office with
//! 200 appointments and the audit log with 1,000,000 entries, signed in over HTTP; reports
//! each page's time per request.
//! `ricevo-bench campaigns [--database-url postgres://...] [--contacts N] [--runs R]`: a survey
//! campaign to 34,000 contacts (Prato's list): import, start and queue into the outbox, timed.
//! `ricevo-bench reminders [--database-url postgres://...] [--count N]`: 10,000 SMS reminders
//! queued through the desk and delivered by the outbox worker to a fake gateway on loopback.
//! `ricevo-bench reports --server target/release/ricevo [--database-url postgres://...]
//! [--appointments N] [--answers N] [--requests R]`: reports of the service over 1,000,000
//! appointments and 200,000 answers, signed in over HTTP; reports each request's time and size.
//! `ricevo-bench media --server target/release/ricevo [--meetings M] [--participants N]
//! [--seconds S] [--video-kbps K]`: simulated participants (str0m clients) in video meetings;
//! reports forwarded packets per second, loss, server CPU per forwarded packet and memory. With
//! `--url URL --api-token T --pid P` it targets a running Ricevo, with `--janus ws://HOST:8188
//! --pid P` a running Janus (VideoRoom); `--bind IP` is the clients' local address.
//! `ricevo-bench stream-viewers [--url http://127.0.0.1:PORT/.../index.m3u8 [--pid P]]
//! [--viewers N] [--seconds S]`: LL-HLS players of one live stream on loopback (blocking
//! playlist reloads, parts); reports distance behind the live edge, latency and errors. Without
//! `--url` it hosts ricevo-stream fed with synthetic packets itself.
//! `ricevo-bench council [--pairs N] [--members M] [--tiles T] [--seconds S]`: the media server
//! in process; today's two-person meetings, then a council of M members sending three H.264
//! simulcast layers; reports forwarded packets, loss and media-thread CPU per forwarded packet.

#![allow(clippy::print_stdout, clippy::print_stderr, clippy::unwrap_used)]

mod booking;
mod campaigns;
// ---- sfu ----
mod council;
// ---- end sfu ----
mod media;
mod mix;
mod pages;
mod reminders;
mod reports;
mod scratch;
mod slots;
// ---- stream ----
mod stream;
// ---- end stream ----

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("slots") => slots::run(),
        Some("booking") => booking::run(&args[2..]),
        Some("media") => media::run(&args[2..]),
        // ---- sfu ----
        Some("council") => council::run(&args[2..]),
        // ---- end sfu ----
        Some("mix") => mix::run(&args[2..]),
        Some("pages") => pages::run(&args[2..]),
        Some("campaigns") => campaigns::run(&args[2..]),
        Some("reports") => reports::run(&args[2..]),
        Some("reminders") => reminders::run(&args[2..]),
        // ---- stream ----
        Some("stream-viewers") => stream::run(&args[2..]),
        // ---- end stream ----
        _ => {
            eprintln!(
                "usage: ricevo-bench slots\n       ricevo-bench booking --server PATH [--database-url URL] [--clients N] [--requests N] [--seats N]\n       ricevo-bench pages --server PATH [--database-url URL] [--appointments N] [--audit-entries N] [--requests R]\n       ricevo-bench reports --server PATH [--database-url URL] [--appointments N] [--answers N] [--requests R]\n       ricevo-bench campaigns [--database-url URL] [--contacts N] [--runs R]\n       ricevo-bench reminders [--database-url URL] [--count N]\n       ricevo-bench mix --server PATH [--seconds S] [--warmup S] [--guessers G] [--bookers B] [--sockets W] [--max-bookings N] [--max-peak-rise-mib M] [--max-growth-mib M]\n       ricevo-bench media (--server PATH | --url URL --api-token T --pid P | --janus WS_URL --pid P) [--bind IP] [--meetings M] [--participants N] [--seconds S] [--warmup S] [--video-kbps K] [--fps F] [--keyframe-seconds S] [--threads T]\n       ricevo-bench stream-viewers [--url URL [--pid P]] [--viewers N] [--seconds S] [--video-kbps K]\n       ricevo-bench council [--pairs N] [--members M] [--tiles T] [--seconds S] [--warmup S] [--council-warmup S] [--video-kbps K] [--low-kbps K] [--mid-kbps K] [--high-kbps K] [--fps F] [--keyframe-seconds S] [--threads T]"
            );
            std::process::exit(2);
        }
    }
}

/// The value at quantile `q` (0..=1) of sorted samples.
pub(crate) fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}
