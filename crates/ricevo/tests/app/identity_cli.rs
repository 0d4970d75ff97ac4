//! `ricevo identity keys` and `ricevo identity rotate-keys`: the relying party's keys are made
//! once in the data dir (private file), printed public for onboarding, and rotated with the
//! previous ones still published; each town's keys are its own.

use std::path::Path;
use std::process::Command;

fn ricevo(data: &Path, args: &[&str], vars: &[(&str, &str)]) -> (bool, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ricevo"));
    command
        .args(args)
        .env("RICEVO_DATA_DIR", data)
        .env("RICEVO_LOG", "warn")
        .env("RICEVO_MEDIA_UDP", "127.0.0.1:0")
        .env_remove("RICEVO_DATABASE_URL")
        .env_remove("RICEVO_CONFIG");
    for (k, v) in vars {
        command.env(k, v);
    }
    let out = command.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn kids(jwks_text: &str) -> Vec<String> {
    let jwks: serde_json::Value = serde_json::from_str(jwks_text.trim()).unwrap();
    jwks["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap().to_owned()).collect()
}

#[test]
fn keys_are_made_once_printed_public_and_rotated_with_the_previous_still_published() {
    let data = tempfile::tempdir().unwrap();
    let d = data.path();
    let (ok, first, err) = ricevo(d, &["identity", "keys"], &[]);
    assert!(ok, "{err}");
    let first_kids = kids(&first);
    assert_eq!(first_kids.len(), 1, "one federation key: {first}");
    assert!(!first.contains("\"d\""), "no private part printed");
    let file = d.join("identity/instance.json");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
    }
    // Asked again: the same keys.
    let (_, again, _) = ricevo(d, &["identity", "keys"], &[]);
    assert_eq!(kids(&again), first_kids);

    // Rotated: a new key, and the previous one still published beside it.
    let (ok, rotated, err) = ricevo(d, &["identity", "rotate-keys"], &[]);
    assert!(ok, "{err}");
    assert!(err.contains("24 hours"), "the operator is told to register the new key: {err}");
    let rotated_kids = kids(&rotated);
    assert_eq!(rotated_kids.len(), 2);
    assert!(rotated_kids.contains(&first_kids[0]));
}

#[test]
fn each_town_has_its_own_keys_and_town_mode_asks_which_town() {
    let data = tempfile::tempdir().unwrap();
    let d = data.path();
    let town_mode = [("RICEVO_IDENTITY_MODE", "town")];
    // Town mode needs the federation's settings to pass the configuration check.
    let vars = [
        town_mode[0],
        ("RICEVO_IDENTITY_TRUST_ANCHOR", "https://registry.example.it"),
        ("RICEVO_IDENTITY_TRUST_ANCHOR_JWKS", r#"{"keys":[{"kty":"RSA","kid":"ta","e":"AQAB","n":"xyz"}]}"#),
        ("RICEVO_IDENTITY_ORGANIZATION_NAME", "Comuni associati"),
    ];
    let (ok, _, err) = ricevo(d, &["identity", "keys"], &vars);
    assert!(!ok && err.contains("--town"), "{err}");
    let (ok, prato, err) = ricevo(d, &["identity", "keys", "--town", "prato"], &vars);
    assert!(ok, "{err}");
    let (ok, pistoia, _) = ricevo(d, &["identity", "keys", "--town", "pistoia"], &vars);
    assert!(ok);
    assert_ne!(kids(&prato), kids(&pistoia));
    assert!(d.join("identity/town-prato.json").exists() && d.join("identity/town-pistoia.json").exists());
    // Rotating Prato's keys leaves Pistoia's alone.
    let (ok, _, _) = ricevo(d, &["identity", "rotate-keys", "--town", "prato"], &vars);
    assert!(ok);
    let (_, pistoia_again, _) = ricevo(d, &["identity", "keys", "--town", "pistoia"], &vars);
    assert_eq!(kids(&pistoia_again), kids(&pistoia));
    // A slug that could leave the directory is refused.
    let (ok, _, err) = ricevo(d, &["identity", "keys", "--town", "../etc"], &vars);
    assert!(!ok && err.contains("slug"), "{err}");
}
