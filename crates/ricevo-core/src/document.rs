//! Documents shared in a meeting: what kind a file is (by its first bytes) and the name it is
//! shown and saved under. Pure functions over what a browser uploads, fuzzed on their own.

/// The accepted kinds of document, by their first bytes (never by the name or the type the
/// sender claims): PDF, PNG, JPEG, GIF, WebP, or plain UTF-8 text.
pub fn sniff(body: &[u8]) -> Option<&'static str> {
    const SIGNATURES: [(&[u8], &str); 6] = [
        (b"%PDF-", "application/pdf"),
        (b"\x89PNG\r\n\x1a\n", "image/png"),
        (b"\xff\xd8\xff", "image/jpeg"),
        (b"GIF87a", "image/gif"),
        (b"GIF89a", "image/gif"),
        (b"RIFF", "image/webp"),
    ];
    for (magic, kind) in SIGNATURES {
        if body.starts_with(magic) {
            if kind == "image/webp" && body.get(8..12) != Some(b"WEBP") {
                return None;
            }
            return Some(kind);
        }
    }
    // Plain text: valid UTF-8 without control characters other than whitespace.
    let text = std::str::from_utf8(body).ok()?;
    let plain = !text.is_empty() && text.chars().all(|c| !c.is_control() || matches!(c, '\n' | '\r' | '\t'));
    plain.then_some("text/plain; charset=utf-8")
}

/// A file name safe to show and to put in `Content-Disposition`: percent-decoded, no path, no
/// quotes, no control characters, and no invisible formatting characters (a right-to-left
/// override shows `fattura\u{202E}fdp.exe` as `fatturaexe.pdf`).
pub fn clean_name(raw: &str) -> String {
    let decoded = percent_decode(raw);
    let base = decoded.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control() && !crate::text::is_invisible_format_char(*c) && !matches!(c, '"' | '\\' | ';'))
        .take(120)
        .collect::<String>()
        .trim()
        .to_owned();
    if cleaned.is_empty() || cleaned.chars().all(|c| c == '.') { "documento".to_owned() } else { cleaned }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        if bytes[i] == b'%'
            && let Some(Ok(b)) = hex.map(|h| u8::from_str_radix(h, 16))
        {
            out.push(b);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
