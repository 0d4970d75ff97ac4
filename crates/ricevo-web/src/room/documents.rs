//! Documents shared in a meeting, over HTTP. Who may upload and read which document, what is
//! accepted and how it is named are the front desk's rules (`ricevo_desk::meetings`); this
//! edge reads the body and answers.
//!
//! An upload is checked before a byte of its body is read: the link, the right to upload, the
//! declared length (`Desk::may_upload`). Only then is the body read, onto a spool file on disk
//! with the size limit counted as it arrives, so strangers cannot make the server hold their
//! uploads in memory.

use std::path::PathBuf;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ricevo_core::DocumentId;
use ricevo_store::DocumentMeta;
use serde_json::{Value, json};

use super::hub::Push;
use crate::error::{ApiError, InLang};
use crate::lang::ReqLang;
use crate::state::AppState;

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
        let link = state.desk.open(&token).await.in_lang(lang)?;
        let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        state.desk.may_upload(&link.entry, declared).await.in_lang(lang)?;
        let max = state.desk.settings().max_document_bytes;
        let too_large = ApiError::from_desk(lang, state.desk.too_large());
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
        let name = headers.get("x-file-name").and_then(|v| v.to_str().ok()).unwrap_or("");
        let (meeting, doc) = state.desk.add_document(&link, name, &body).await.in_lang(lang)?;
        let note = announcement(&doc);
        state.hub.broadcast(meeting.id, &note.to_string());
        // The uploader hears it too even if not (yet) counted as present.
        state.hub.push(link.entry.id, Push::Json(note.to_string()));
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
        let link = state.desk.open(&token).await.in_lang(lang)?;
        let id = id.parse::<i64>().map(DocumentId).map_err(|_| ApiError::NotFound(lang))?;
        // The meeting's rights: its participants while it lasts, its official after.
        let (meta, bytes) = state.desk.link_document(&link, id).await.in_lang(lang)?;
        Ok::<_, ApiError>(attachment(&meta, bytes))
    };
    run.await.unwrap_or_else(IntoResponse::into_response)
}
