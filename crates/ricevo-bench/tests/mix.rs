//! The load tests in the test suite (and, at the end, the reminders bench of issue 15 at a small
//! count). The load test of issue 10: a real `ricevo` server held under a bounded mix
//! of bookings, open waiting rooms and password guessing (`ricevo-bench mix`), whose memory must
//! stay bounded. The bound compares the server with itself in the same run (peak over its idle
//! size, growth after the warm-up), never a duration. Before the sign-in fix, concurrent guesses
//! each held an argon2 buffer and the same mix took the server past 1.4 GiB.
#![allow(clippy::print_stderr, clippy::expect_used)]

use std::path::PathBuf;
use std::process::Command;

/// The `ricevo` binary beside this crate's own binary (`cargo test --workspace` builds both).
fn ricevo_binary() -> Option<PathBuf> {
    let bench = PathBuf::from(env!("CARGO_BIN_EXE_ricevo-bench"));
    let server = bench.with_file_name(format!("ricevo{}", std::env::consts::EXE_SUFFIX));
    server.exists().then_some(server)
}

/// The number printed just before `label` on the output line that starts with `line`.
fn figure(output: &str, line: &str, label: &str) -> u64 {
    let text = output.lines().find(|l| l.starts_with(line)).unwrap_or_else(|| panic!("no `{line}` line:\n{output}"));
    let before = text.split(label).next().unwrap_or("");
    let number = before.split([' ', ',', ':']).rfind(|w| !w.is_empty()).unwrap_or("");
    number.parse().unwrap_or_else(|_| panic!("no number before `{label}` in `{text}`"))
}

#[test]
fn the_server_memory_stays_bounded_under_bookings_waiting_rooms_and_password_guessing() {
    let Some(server) = ricevo_binary() else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "the ricevo binary is missing beside ricevo-bench: under CI=true the load test may not skip"
        );
        eprintln!("skipped: build the server first (`cargo build -p ricevo`) or run the whole workspace's tests");
        return;
    };
    let out = Command::new(env!("CARGO_BIN_EXE_ricevo-bench"))
        .args(["mix", "--server"])
        .arg(&server)
        .args(["--seconds", "12", "--warmup", "4", "--guessers", "100", "--bookers", "4", "--sockets", "40"])
        .output()
        .expect("ricevo-bench runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "memory bound exceeded or the run failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("peak over idle:") && !stdout.contains("FAIL"), "{stdout}");
    // The mix really ran: guesses were checked and throttled, the waiting rooms stayed open.
    assert!(figure(&stdout, "guesses:", "checked") > 0, "{stdout}");
    assert!(figure(&stdout, "guesses:", "throttled") > 0, "no guess was throttled:\n{stdout}");
    assert_eq!(figure(&stdout, "waiting rooms:", "lost"), 0, "{stdout}");
    assert!(figure(&stdout, "waiting rooms:", "sockets open") > 0, "{stdout}");
    eprintln!("{stdout}");
}

/// `ricevo-bench reminders` at a small count, so the bench of issue 15 cannot rot: every reminder
/// queued through the desk reaches the fake SMS gateway exactly once (the bench itself checks
/// each number and exits non-zero otherwise), on SQLite and, when configured, PostgreSQL.
#[test]
fn the_reminders_bench_delivers_every_reminder_exactly_once_through_the_fake_gateway() {
    let mut stores = vec![None];
    if let Ok(url) = std::env::var("RICEVO_TEST_POSTGRES_URL") {
        stores.push(Some(url));
    }
    for store in stores {
        let mut command = Command::new(env!("CARGO_BIN_EXE_ricevo-bench"));
        command.args(["reminders", "--count", "120"]);
        if let Some(url) = &store {
            command.args(["--database-url", url]);
        }
        let out = command.output().expect("ricevo-bench runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{store:?}: the bench failed:\n{stdout}\n{stderr}");
        assert_eq!(figure(&stdout, "gateway received:", "messages"), 120, "{stdout}");
        assert_eq!(figure(&stdout, "gateway received:", "distinct"), 120, "{stdout}");
        assert_eq!(figure(&stdout, "deliver:", "rounds"), 3, "batches of 50: {stdout}");
        assert!(!stdout.contains("FAIL"), "{stdout}");
    }
}
