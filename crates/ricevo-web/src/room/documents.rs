//! Documents shared in a meeting: uploaded by a participant who may share documents, stored
//! against the meeting (and so the appointment), downloaded by the meeting's participants as
//! attachments. The type is decided by the bytes, never by the name or the header the browser
//! sent; the retention job removes them.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ricevo_core::DocumentId;
use ricevo_core::text::is_invisible_format_char;
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

/// A file name safe to show and to put in `Content-Disposition`: no path, quotes or control
/// characters, and no bidirectional overrides or zero-width characters, which can make
/// "fdp.exe" look like "exe.pdf" on the official's screen.
pub(crate) fn clean_name(raw: &str) -> String {
    let decoded = percent_decode(raw);
    let base = decoded.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = base
        .chars()
        .filter(|&c| !c.is_control() && !is_invisible_format_char(c) && !matches!(c, '"' | '\\' | ';'))
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

/// `POST /a/{token}/documents`: the body is the file; `X-File-Name` its name (percent-encoded).
pub(crate) async fn upload(
    State(state): State<AppState>,
    ReqLang(lang): ReqLang,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let run = async {
        let Opened { tenant, entry, .. } = open(&state, &token, lang).await?;
        let meeting = super::actions::open_meeting_of(&state, &entry).await?.ok_or(ApiError::Forbidden(lang))?;
        if !entry.may_join_media() || !entry.abilities.share_documents {
            return Err(ApiError::Forbidden(lang));
        }
        let max = state.config.max_document_bytes;
        if body.len() > max {
            return Err(ApiError::DocumentTooLarge(lang, max / (1024 * 1024)));
        }
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
        if !entry.was_admitted() {
            return Err(ApiError::NotFound(lang));
        }
        let (meta, bytes) = state.store.document(tenant.id, meeting, id).await?.ok_or(ApiError::NotFound(lang))?;
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
        h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'none'; sandbox"));
        Ok(resp)
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
    fn names_lose_right_to_left_overrides_and_zero_width_characters() {
        // Shown to the official as "fatturaexe.pdf"; it is an executable. The `document`
        // fuzz target checks this for any name.
        assert_eq!(clean_name("fattura%E2%80%AEfdp.exe"), "fatturafdp.exe");
        assert_eq!(clean_name("a\u{200B}b\u{2066}c\u{FEFF}.txt"), "abc.txt");
        assert_eq!(clean_name("%E2%80%8F"), "documento");
    }
}
