//! Brings the HLS player into the binary: hls.js from npm (its version pinned in the
//! workspace's `package.json` and `package-lock.json`), the light build, which plays
//! low-latency HLS with fMP4 segments and leaves out what the council stream never uses
//! (subtitles, alternate audio, DRM, CMCD). The public council page loads it from our own
//! origin, and only where the browser cannot play HLS itself.
//!
//! When `node_modules/hls.js` is missing at the workspace root this runs `npm ci` there (the
//! exact versions of the lock file): with `--omit=dev` when there is no `node_modules` yet (a
//! machine that only builds the product), and in full when there is one, since `npm ci` empties
//! it first and the test tools in it (axe-core, oidc-provider) must come back too. Without npm
//! the build stops and says so.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

/// The file the binary embeds, relative to the workspace root.
const PLAYER: &str = "node_modules/hls.js/dist/hls.light.min.js";

fn main() -> ExitCode {
    let Some(manifest) = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from) else {
        return fail("CARGO_MANIFEST_DIR is not set: run the build through cargo");
    };
    let root = manifest.join("..").join("..");
    let player = root.join(PLAYER);
    println!("cargo::rerun-if-changed={}", root.join("package-lock.json").display());
    println!("cargo::rerun-if-changed={}", player.display());
    if !player.is_file()
        && let Err(why) = npm_ci(&root)
    {
        return fail(&why);
    }
    let Some(out) = std::env::var_os("OUT_DIR").map(PathBuf::from) else {
        return fail("OUT_DIR is not set: run the build through cargo");
    };
    match std::fs::copy(&player, out.join("hls.light.min.js")) {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => fail(&format!("cannot copy {}: {e}", player.display())),
    }
}

/// Installs the npm packages the binary ships (not the test tools) at `root`.
fn npm_ci(root: &Path) -> Result<(), String> {
    let mut args = vec!["ci", "--no-audit", "--no-fund"];
    if !root.join("node_modules").exists() {
        args.push("--omit=dev");
    }
    let status = Command::new("npm").args(&args).current_dir(root).status().map_err(|e| {
        format!(
            "{PLAYER} is missing and npm could not be run ({e}). Ricevo ships hls.js from npm: \
                 install Node.js with npm (Debian: apt-get install npm), then run `npm ci` in {}",
            root.display()
        )
    })?;
    if !status.success() {
        return Err(format!(
            "`npm {}` failed in {} ({status}): hls.js is needed to build",
            args.join(" "),
            root.display()
        ));
    }
    if !root.join(PLAYER).is_file() {
        return Err(format!("`npm ci` ran but {PLAYER} is still missing: is hls.js in package.json?"));
    }
    Ok(())
}

/// Stops the build with a message cargo shows as an error.
fn fail(why: &str) -> ExitCode {
    println!("cargo::error=ricevo-web: {why}");
    ExitCode::FAILURE
}
