//! Documents shared in a meeting: uploaded by a participant who may share documents, stored
//! against the meeting (and so the appointment), downloaded as attachments by whoever has the
//! meeting's rights (`Entry::may_read_documents`). The type is decided by the bytes, never by
//! the name or the header the browser sent; the retention job removes them.
//!
//! An upload is checked before a byte of its body is read: the link, the right to upload, the
//! declared length. Only then is the body read, onto a spool file on disk with the size limit
//! counted as it arrives, so strangers cannot make the server hold their uploads in memory.

use std::path::PathBuf;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ricevo_core::DocumentId;
use ricevo_store::DocumentMeta;
use serde_json::{Value, json};

use super::hub::Push;
use super::{Opened, open};
use crate::AppState;
use crate::error::ApiError;
use crate::lang::ReqLang;

/// The accepted kinds of document, by their first bytes.
pub(crate) fn sniff(body: &[u8]) -> Option<&'static str> {
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

/// A file name safe to show and to put in `Content-Disposition`: no path, no quotes, no
/// control characters, and no invisible formatting characters (a right-to-left override
/// shows `fattura\u{202E}fdp.exe` as `fatturaexe.pdf`).
pub(crate) fn clean_name(raw: &str) -> String {
    let decoded = percent_decode(raw);
    let base = decoded.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = base
        .chars()
        .filter(|c| {
            !c.is_control() && !ricevo_core::text::is_invisible_format_char(*c) && !matches!(c, '"' | '\\' | ';')
        })
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

/// The `document` message announcing a shared document (its URL is relative to the join page).
pub(crate) fn announcement(d: &DocumentMeta) -> Value {
    json!({"type": "document", "id": d.id.0, "name": d.name, "size": d.size, "url": format!("documents/{}", d.id.0)})
}

/// An upload being written to disk; the file goes when this does (stored, refused, or the
/// client gone mid-way).
struct Spool {
    path: PathBuf,
}

impl Drop for Spool {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Why an upload's body was not taken.
enum BodyError {
    /// Longer than the limit.
    TooLarge,
    /// The client stopped sending, or sent garbage.
    Broken,
    /// The spool file could not be written.
    Disk(std::io::Error),
}

/// Reads `body` onto a new spool file in `dir`, stopping as soon as it passes `max` bytes.
async fn spool(body: Body, dir: &std::path::Path, max: usize) -> Result<(Spool, usize), BodyError> {
    use futures_util::StreamExt;
    use tokio::io::AsyncWriteExt;

    let name = format!("ricevo-upload-{}", hex::encode(rand::random::<[u8; 12]>()));
    let spooled = Spool { path: dir.join(name) };
    let mut file = tokio::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&spooled.path)
        .await
        .map_err(BodyError::Disk)?;
    let mut stream = body.into_data_stream();
    let mut size = 0usize;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| BodyError::Broken)?;
        size = size.saturating_add(chunk.len());
        if size > max {
            return Err(BodyError::TooLarge);
        }
        file.write_all(&chunk).await.map_err(BodyError::Disk)?;
    }
    file.flush().await.map_err(BodyError::Disk)?;
    Ok((spooled, size))
}

/// `POST /a/{token}/documents`: the body is the file; `X-File-Name` its name (percent-encoded).
/// The link and the right to upload are checked before the body is read.
pub(crate) async fn upload(
    State(state): State<AppState>,
    ReqLang(lang): ReqLang,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let run = async {
        let Opened { tenant, entry, .. } = open(&state, &token, lang).await?;
        let meeting = super::actions::open_meeting_of(&state, &entry).await?.ok_or(ApiError::Forbidden(lang))?;
        if !entry.may_join_media() || !entry.abilities.share_documents {
            return Err(ApiError::Forbidden(lang));
        }
        let max = state.config.max_document_bytes;
        let too_large = ApiError::DocumentTooLarge(lang, max / (1024 * 1024));
        let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        if declared.is_some_and(|n| n > max as u64) {
            return Err(too_large);
        }
        let (spooled, _) = match spool(body, &state.config.spool_dir, max).await {
            Ok(s) => s,
            Err(BodyError::TooLarge) => return Err(too_large),
            Err(BodyError::Broken) => {
                return Err(ApiError::BadRequest(
                    lang,
                    if lang == ricevo_core::Lang::It { "caricamento interrotto" } else { "upload interrupted" }.into(),
                ));
            }
            Err(BodyError::Disk(e)) => {
                tracing::warn!(error = %e, dir = %state.config.spool_dir.display(), "cannot spool an upload");
                return Err(ApiError::Unavailable("spool".into()));
            }
        };
        let body = tokio::fs::read(&spooled.path).await.map_err(|e| {
            tracing::warn!(error = %e, "cannot read a spooled upload");
            ApiError::Unavailable("spool".into())
        })?;
        drop(spooled);
        let kind = sniff(&body).ok_or(ApiError::UnsupportedDocument(lang))?;
        let name = clean_name(headers.get("x-file-name").and_then(|v| v.to_str().ok()).unwrap_or(""));
        let doc = state.store.add_document(tenant.id, meeting.id, entry.id, &name, kind, &body, state.now()).await?;
        let note = announcement(&doc);
        state.hub.broadcast(meeting.id, &note.to_string());
        // The uploader hears it too even if not (yet) counted as present.
        state.hub.push(entry.id, Push::Json(note.to_string()));
        Ok((StatusCode::CREATED, axum::Json(note)).into_response())
    };
    run.await.unwrap_or_else(IntoResponse::into_response)
}

/// A stored document as a download that no browser renders in our origin.
pub(crate) fn attachment(meta: &DocumentMeta, bytes: Vec<u8>) -> Response {
    let mut resp = bytes.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&meta.content_type).unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    let disposition = format!("attachment; filename=\"{}\"", meta.name.replace(|c: char| !c.is_ascii(), "_"));
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&disposition).unwrap_or(HeaderValue::from_static("attachment")),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox; frame-ancestors 'none'"),
    );
    resp
}

/// `GET /a/{token}/documents/{id}`: a document of the link's own meeting, as an attachment.
pub(crate) async fn download(
    State(state): State<AppState>,
    ReqLang(lang): ReqLang,
    Path((token, id)): Path<(String, String)>,
) -> Response {
    let run = async {
        let Opened { tenant, entry, .. } = open(&state, &token, lang).await?;
        let id = id.parse::<i64>().map(DocumentId).map_err(|_| ApiError::NotFound(lang))?;
        let meeting = entry.meeting_id.ok_or(ApiError::NotFound(lang))?;
        // The meeting's rights: its participants while it lasts, its official after.
        let open = super::actions::open_meeting_of(&state, &entry).await?.is_some();
        if !entry.may_read_documents(open) {
            return Err(ApiError::NotFound(lang));
        }
        let (meta, bytes) = state.store.document(tenant.id, meeting, id).await?.ok_or(ApiError::NotFound(lang))?;
        Ok(attachment(&meta, bytes))
    };
    run.await.unwrap_or_else(IntoResponse::into_response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_come_from_the_bytes_not_the_name() {
        assert_eq!(sniff(b"%PDF-1.7\n..."), Some("application/pdf"));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\nrest"), Some("image/png"));
        assert_eq!(sniff(b"\xff\xd8\xff\xe0"), Some("image/jpeg"));
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(sniff(b"RIFF\0\0\0\0WAVEfmt "), None, "a WAV file is not a WebP");
        assert_eq!(sniff("Ciao, ecco la ricevuta.\n".as_bytes()), Some("text/plain; charset=utf-8"));
        assert_eq!(sniff(b"MZ\x90\0\x03\0"), None, "executables are refused");
        assert_eq!(sniff(b"PK\x03\x04"), None);
        assert_eq!(sniff(b""), None);
    }

    #[test]
    fn names_lose_paths_quotes_and_control_characters() {
        assert_eq!(clean_name("..%2F..%2Fetc%2Fpasswd"), "passwd");
        assert_eq!(clean_name("C:\\Users\\me\\carta%20identit%C3%A0.pdf"), "carta identità.pdf");
        assert_eq!(clean_name("a\"b;\r\nc.txt"), "abc.txt");
        assert_eq!(clean_name(""), "documento");
        assert_eq!(clean_name(".."), "documento");
    }

    #[test]
    fn names_lose_bidirectional_overrides_and_invisible_characters() {
        // `fattura<RLO>fdp.exe` shows as `fatturaexe.pdf` wherever the override is honoured.
        assert_eq!(clean_name("fattura%E2%80%AEfdp.exe"), "fatturafdp.exe");
        assert_eq!(clean_name("fattura\u{202E}fdp.exe"), "fatturafdp.exe");
        for c in ['\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}']
            .into_iter()
            .chain(['\u{200E}', '\u{200F}', '\u{061C}', '\u{200B}', '\u{2060}', '\u{FEFF}'])
        {
            assert_eq!(clean_name(&format!("ricevuta{c}.pdf")), "ricevuta.pdf", "U+{:04X}", u32::from(c));
        }
        assert_eq!(clean_name("\u{202E}\u{2066}"), "documento", "nothing visible left");
    }
}
