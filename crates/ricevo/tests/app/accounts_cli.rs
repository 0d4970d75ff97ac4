//! The command line an IT office scripts: `token list|revoke` and `tenant list|disable|enable`,
//! on a real SQLite data dir with two towns; neither town's command reaches the other's tokens.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;

fn ricevo(data: &Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ricevo"))
        .args(args)
        .env("RICEVO_DATA_DIR", data)
        .env("RICEVO_LOG", "warn")
        .env("RICEVO_MEDIA_UDP", "127.0.0.1:0")
        .env_remove("RICEVO_DATABASE_URL")
        .env_remove("RICEVO_CONFIG")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn ok(data: &Path, args: &[&str]) -> String {
    let (success, out, err) = ricevo(data, args);
    assert!(success, "{args:?}: {err}");
    out
}

#[test]
fn tokens_are_listed_and_revoked_and_towns_suspended_and_restored_from_the_command_line() {
    let data = tempfile::tempdir().unwrap();
    let d = data.path();
    for slug in ["prato", "pistoia"] {
        let email = format!("urp@{slug}.example");
        let admin = format!("admin@{slug}.example");
        let name = format!("Comune di {slug}");
        ok(d, &["tenant", "add", "--slug", slug, "--name", &name, "--email", &email, "--admin-email", &admin]);
    }
    let token = ok(d, &["token", "add", "--tenant", "prato", "--role", "admin", "--label", "portale"]);
    let token = token.trim();
    let listed = ok(d, &["token", "list", "--tenant", "prato"]);
    let line = listed.lines().next().unwrap();
    let fields: Vec<&str> = line.split('\t').collect();
    assert_eq!(fields.len(), 7, "{line}");
    assert_eq!((fields[1], fields[2], fields[4], fields[5], fields[6]), ("admin", "-", "never", "active", "portale"));
    assert!(!listed.contains(token), "the secret is never listed");
    assert_eq!(ok(d, &["token", "list", "--tenant", "pistoia"]), "", "Pistoia has none");

    // Pistoia cannot revoke Prato's token; Prato can, once.
    let id = fields[0];
    let (success, _, err) = ricevo(d, &["token", "revoke", "--tenant", "pistoia", "--id", id]);
    assert!(!success && err.contains("no active token"), "{err}");
    assert!(ok(d, &["token", "list", "--tenant", "prato"]).contains("\tactive\t"));
    ok(d, &["token", "revoke", "--tenant", "prato", "--id", id]);
    assert!(ok(d, &["token", "list", "--tenant", "prato"]).contains("\trevoked\t"));
    assert!(!ricevo(d, &["token", "revoke", "--tenant", "prato", "--id", id]).0, "only once");

    // Towns: suspended and restored, the other one untouched.
    assert_eq!(ok(d, &["tenant", "disable", "--slug", "prato"]).trim(), "prato suspended");
    let towns = ok(d, &["tenant", "list"]);
    assert!(towns.contains("prato\tsuspended\tComune di prato"), "{towns}");
    assert!(towns.contains("pistoia\tactive\tComune di pistoia"), "{towns}");
    let (success, _, err) = ricevo(d, &["token", "list", "--tenant", "prato"]);
    assert!(!success && err.contains("suspended"), "{err}");
    assert_eq!(ok(d, &["tenant", "enable", "--slug", "prato"]).trim(), "prato active");
    assert!(ok(d, &["token", "list", "--tenant", "prato"]).contains("portale"), "nothing lost");
    assert!(!ricevo(d, &["tenant", "disable", "--slug", "nessuno"]).0);
}
