//! Shared documents: the name a browser sends (`X-File-Name`, percent-encoded) and the bytes
//! whose first ones decide the type. Never a panic; a cleaned name is never empty, at most
//! 120 characters, without path separators, quotes, semicolons, control characters or
//! invisible formatting characters (a right-to-left override could show "gpj.exe" as
//! "exe.jpg"); the type is always one of the accepted ones.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ricevo_core::text::is_invisible_format_char;

const KINDS: [&str; 6] =
    ["application/pdf", "image/png", "image/jpeg", "image/gif", "image/webp", "text/plain; charset=utf-8"];

fuzz_target!(|data: &[u8]| {
    if let Some(kind) = ricevo_core::document::sniff(data) {
        assert!(KINDS.contains(&kind), "{kind}");
        if kind.starts_with("text/") {
            let text = std::str::from_utf8(data).expect("text is UTF-8");
            assert!(!text.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')));
        }
    }
    let raw = String::from_utf8_lossy(data);
    let name = ricevo_core::document::clean_name(&raw);
    assert!(!name.is_empty() && name.chars().count() <= 120, "{name:?}");
    assert!(!name.chars().all(|c| c == '.'), "{name:?}");
    assert!(name.trim() == name, "{name:?}");
    assert!(
        !name.chars().any(|c| matches!(c, '/' | '\\' | '"' | ';') || c.is_control() || is_invisible_format_char(c)),
        "{name:?}"
    );
});
