//! The command line an IT office scripts: `token list|revoke` and `tenant list|disable|enable|passwords-on`,
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

/// Prato and Pistoia, each with its administrator.
fn two_towns(d: &Path) {
    for slug in ["prato", "pistoia"] {
        let email = format!("urp@{slug}.example");
        let admin = format!("admin@{slug}.example");
        let name = format!("Comune di {slug}");
        ok(d, &["tenant", "add", "--slug", slug, "--name", &name, "--email", &email, "--admin-email", &admin]);
    }
}

#[test]
fn tokens_are_listed_and_revoked_and_towns_suspended_and_restored_from_the_command_line() {
    let data = tempfile::tempdir().unwrap();
    let d = data.path();
    two_towns(d);
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

#[tokio::test]
async fn passwords_turned_off_by_a_town_come_back_on_from_the_command_line_for_that_town_only() {
    let data = tempfile::tempdir().unwrap();
    let d = data.path();
    two_towns(d);
    // Both towns sign their staff in through their provider only.
    let url = format!("sqlite://{}", d.join("ricevo.db").display());
    let store = ricevo_store::open(&url).await.unwrap();
    for slug in ["prato", "pistoia"] {
        let town = store.tenant_by_slug(slug).await.unwrap().unwrap();
        let provider = ricevo_store::TownIdentityProvider {
            tenant_id: town.id,
            issuer_url: format!("https://login.{slug}.example"),
            client_id: "ricevo".into(),
            client_secret: Some("secret".into()),
            email_domains: vec![format!("{slug}.example")],
            groups_claim: "groups".into(),
            mappings: Vec::new(),
            create_unknown: false,
            passwords_off: true,
            updated_at: "2026-11-23T08:00:00Z".parse().unwrap(),
        };
        store.set_town_identity_provider(&provider).await.unwrap();
    }
    assert_eq!(ok(d, &["tenant", "passwords-on", "--slug", "prato"]).trim(), "prato passwords on");
    let off = |slug: &'static str| {
        let store = store.clone();
        async move {
            let town = store.tenant_by_slug(slug).await.unwrap().unwrap();
            store.town_identity_provider(town.id).await.unwrap().unwrap().passwords_off
        }
    };
    assert!(!off("prato").await, "Prato's passwords are back");
    assert!(off("pistoia").await, "Pistoia's choice stands");
    let audit = ok(d, &["audit", "--tenant", "prato", "--who", "system"]);
    assert!(audit.contains("passwords on (command line)"), "{audit}");
    assert!(!ok(d, &["audit", "--tenant", "pistoia", "--who", "system"]).contains("passwords on"));
    let (success, _, err) = ricevo(d, &["tenant", "passwords-on", "--slug", "nessuno"]);
    assert!(!success && err.contains("no town"), "{err}");
}
