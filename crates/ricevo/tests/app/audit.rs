//! `ricevo audit`: a town's audit log as JSON lines, for an IT office's scripts; each town's
//! own, with the refusals of options that name nothing.

#![allow(clippy::unwrap_used, clippy::print_stderr)]

use crate::support;

use std::process::{Command, Stdio};

use serde_json::Value;
use support::Server;

fn lines(out: &str) -> Vec<Value> {
    out.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[test]
fn the_command_line_prints_a_towns_audit_log_and_only_that_towns() {
    let server = Server::start();
    server.cli(&[
        "tenant",
        "add",
        "--slug",
        "borgo",
        "--name",
        "Comune di Borgo",
        "--email",
        "urp@borgo.example.it",
        "--admin-email",
        "admin@borgo.example.it",
    ]);
    server.cli(&["token", "add", "--tenant", "demo", "--role", "admin", "--label", "Archivio"]);
    server.cli(&["token", "add", "--tenant", "demo", "--role", "admin", "--label", "SIEM"]);
    server.cli(&["token", "add", "--tenant", "borgo", "--role", "admin", "--label", "Borgo"]);

    let demo = lines(&server.cli(&["audit", "--tenant", "demo", "--act", "token.create"]));
    let labels: Vec<&str> = demo.iter().map(|e| e["detail"].as_str().unwrap()).collect();
    assert_eq!(labels, ["SIEM, admin", "Archivio, admin"], "newest first, this town's only");
    assert!(demo.iter().all(|e| e["actor_kind"] == "system" && e["subject_kind"] == "token"));
    assert_eq!(lines(&server.cli(&["audit", "--tenant", "demo", "--limit", "1"])).len(), 1);
    let borgo = lines(&server.cli(&["audit", "--tenant", "borgo", "--who", "system"]));
    assert!(borgo.iter().any(|e| e["detail"] == "Borgo, admin"));
    assert!(!borgo.iter().any(|e| e["detail"] == "SIEM, admin"));
    assert!(server.cli(&["audit", "--tenant", "demo", "--since", "2199-01-01T00:00:00Z"]).is_empty());

    for (args, says) in [
        (&["--act", "appointment.delete"][..], "names no act"),
        (&["--who", "robot"][..], "names no author"),
        (&["--since", "yesterday"][..], "RFC 3339"),
        (&["--limit", "0"][..], "--limit"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_ricevo"))
            .args(["audit", "--tenant", "demo"])
            .args(args)
            .env("RICEVO_DATA_DIR", server.data())
            .env("RICEVO_LOG", "warn")
            .env_remove("RICEVO_CONFIG")
            .env_remove("RICEVO_DATABASE_URL")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(says),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
