//! The public stream over HTTP: a session's live HLS (LL-HLS blocking playlist reload, parts)
//! at `/{town}/consiglio/{id}/live/{file}`, its recording at
//! `/{town}/consiglio/{id}/registrazione/{file}`, and the player (hls.js from npm, embedded by
//! `build.rs`) for browsers that cannot play HLS themselves.
//!
//! Everything here is made for an HTTP cache or CDN in front of Ricevo: no cookie is read or
//! set, segments and parts never change once named (cached for a year), playlists are cached
//! for about a second (a blocking reload's answer, whose URL names the part it waited for, a
//! little longer), and refusals are never cached. A file name is parsed, never joined to a
//! path as typed: anything but `index.m3u8`, `init.mp4`, `s{n}.m4s` and `s{n}.{p}.m4s`
//! (canonical numbers) is a 404.

use std::path::{Path, PathBuf};

use axum::Router;
use axum::extract::{Path as UrlPath, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use ricevo_core::TenantId;
use ricevo_stream::{HlsFile, Live, Recording, StreamError};

use crate::state::AppState;

/// The live playlist's and recordings' file names' parser, stricter than
/// [`HlsFile::parse`]: numbers are written without leading zeros, so one file has one URL
/// (and one entry in a cache).
pub(crate) fn parse_file(name: &str) -> Option<HlsFile> {
    let file = HlsFile::parse(name)?;
    let canonical = match file {
        HlsFile::Playlist => ricevo_stream::PLAYLIST.to_owned(),
        HlsFile::Init => ricevo_stream::INIT.to_owned(),
        HlsFile::Segment(msn) => format!("s{msn}.m4s"),
        HlsFile::Part(msn, part) => format!("s{msn}.{part}.m4s"),
    };
    (canonical == name).then_some(file)
}

/// What a live playlist request asks to wait for (`_HLS_msn`, `_HLS_part`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Reload {
    /// The media sequence number to wait for.
    pub(crate) msn: Option<u64>,
    /// The part of it to wait for.
    pub(crate) part: Option<u32>,
}

/// Why a playlist request's query is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BadReload;

/// Reads `_HLS_msn` and `_HLS_part` (RFC 8216bis 6.2.5.2): numbers, each at most once, a part
/// only with a sequence number. Other parameters (a player's cache buster) are ignored.
pub(crate) fn parse_reload(query: Option<&str>) -> Result<Reload, BadReload> {
    let mut reload = Reload::default();
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let number = |v: &str| -> Result<u64, BadReload> {
            if v.is_empty() || v.len() > 19 || !v.bytes().all(|b| b.is_ascii_digit()) {
                return Err(BadReload);
            }
            v.parse().map_err(|_| BadReload)
        };
        match key {
            "_HLS_msn" if reload.msn.is_none() => reload.msn = Some(number(value)?),
            "_HLS_part" if reload.part.is_none() => {
                reload.part = Some(u32::try_from(number(value)?).map_err(|_| BadReload)?);
            }
            "_HLS_msn" | "_HLS_part" => return Err(BadReload),
            _ => {}
        }
    }
    if reload.part.is_some() && reload.msn.is_none() {
        return Err(BadReload);
    }
    Ok(reload)
}

/// Where the recording of a town's session lives under the configured recordings folder:
/// `{root}/{tenant id}/{session id}` (numbers only, so nothing typed reaches the path).
pub fn recording_dir(root: &Path, tenant: TenantId, session: i64) -> PathBuf {
    root.join(tenant.0.to_string()).join(session.to_string())
}

/// `Content-Type` of a playlist.
pub(crate) const PLAYLIST_TYPE: &str = "application/vnd.apple.mpegurl";
/// `Content-Type` of an initialization segment.
pub(crate) const INIT_TYPE: &str = "video/mp4";
/// `Content-Type` of a media segment or part (RFC 8216bis: `video/iso.segment`).
pub(crate) const SEGMENT_TYPE: &str = "video/iso.segment";

/// Cache policy of a live playlist asked without waiting: about one part's time.
pub(crate) const LIVE_PLAYLIST_CACHE: &str = "public, max-age=1";
/// A blocking reload's answer: its URL names the part it waited for, and what it lists up to
/// that part never changes; kept short, since the window slides on.
pub(crate) const BLOCKING_PLAYLIST_CACHE: &str = "public, max-age=6";
/// Segments and parts never change once they exist.
pub(crate) const SEGMENT_CACHE: &str = "public, max-age=31536000, immutable";
/// The live initialization segment: fixed for a stream, but a restarted stream makes a new one.
pub(crate) const INIT_CACHE: &str = "public, max-age=300";
/// A recording's playlist.
pub(crate) const RECORDING_PLAYLIST_CACHE: &str = "public, max-age=60";
/// A recording's files: a day, so that a removal per the town's settings reaches caches soon.
pub(crate) const RECORDING_FILE_CACHE: &str = "public, max-age=86400";

/// The routes of the stream and its player.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/{tenant}/consiglio/{id}/live/{file}", get(live))
        .route("/{tenant}/consiglio/{id}/registrazione/{file}", get(recording))
}

/// Whether a path is one of the stream's: players fetch several files a second, from many
/// viewers behind one address (a school, the town hall), and a cache in front absorbs them, so
/// they are not counted against the per-address request budget.
pub fn is_stream_path(path: &str) -> bool {
    let mut segments = path.trim_start_matches('/').split('/');
    let (_town, section, _id, kind, _file) =
        (segments.next(), segments.next(), segments.next(), segments.next(), segments.next());
    section == Some("consiglio") && matches!(kind, Some("live" | "registrazione")) && segments.next().is_none()
}

/// A refusal: plain text in both languages, never cached.
fn refusal(status: StatusCode, message: &'static str) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8")),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        format!("{message}\n"),
    )
        .into_response()
}

fn not_found() -> Response {
    refusal(StatusCode::NOT_FOUND, "Non trovato / Not found")
}

fn stream_refusal(e: &StreamError) -> Response {
    if e.status() >= 500 {
        tracing::error!(error = %e, "council stream failed");
    }
    refusal(StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), e.message())
}

/// A file of the stream with its type and cache policy.
fn served(body: Bytes, content_type: &'static str, cache: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
        ],
        body,
    )
        .into_response()
}

/// The town's id and the session's id of a stream URL; `None` (a 404) for an unknown town or a
/// session id that is not a positive number.
async fn town_and_session(state: &AppState, slug: &str, id: &str) -> Option<(TenantId, i64)> {
    let session = id.parse::<i64>().ok().filter(|n| *n > 0 && n.to_string() == id)?;
    let town = state.desk.town(slug).await.ok()?;
    Some((town.id, session))
}

/// `GET /{town}/consiglio/{id}/live/{file}`: the live stream of a session running on this node.
async fn live(
    State(state): State<AppState>,
    UrlPath((slug, id, name)): UrlPath<(String, String, String)>,
    RawQuery(query): RawQuery,
) -> Response {
    let Some(file) = parse_file(&name) else { return not_found() };
    let Some((tenant, session)) = town_and_session(&state, &slug, &id).await else { return not_found() };
    let Some(stream) = live_stream(&state, tenant, session) else { return not_found() };
    serve_live(&stream, file, query.as_deref()).await
}

/// One file of a live stream (the handler's work once the stream is found).
pub(crate) async fn serve_live(stream: &Live, file: HlsFile, query: Option<&str>) -> Response {
    match file {
        HlsFile::Playlist => {
            let Ok(reload) = parse_reload(query) else {
                return refusal(
                    StatusCode::BAD_REQUEST,
                    "Parametri _HLS_msn/_HLS_part non validi / Invalid _HLS_msn/_HLS_part parameters",
                );
            };
            let cache = if reload.msn.is_some() { BLOCKING_PLAYLIST_CACHE } else { LIVE_PLAYLIST_CACHE };
            match stream.playlist(reload.msn, reload.part).await {
                Ok(text) => file_text(text, cache),
                Err(e) => stream_refusal(&e),
            }
        }
        HlsFile::Init => match stream.init() {
            Some(body) => served(body, INIT_TYPE, INIT_CACHE),
            None => not_found(),
        },
        HlsFile::Segment(msn) => match stream.segment(msn).await {
            Ok(body) => served(body, SEGMENT_TYPE, SEGMENT_CACHE),
            Err(e) => stream_refusal(&e),
        },
        HlsFile::Part(msn, part) => match stream.part(msn, part).await {
            Ok(body) => served(body, SEGMENT_TYPE, SEGMENT_CACHE),
            Err(e) => stream_refusal(&e),
        },
    }
}

fn file_text(text: String, cache: &'static str) -> Response {
    served(Bytes::from(text), PLAYLIST_TYPE, cache)
}

/// The live stream of a town's session, if it runs on this node.
pub(crate) fn live_stream(state: &AppState, tenant: TenantId, session: i64) -> Option<Live> {
    state.council.live(tenant, ricevo_core::council::CouncilSessionId(session))
}

/// `GET /{town}/consiglio/{id}/registrazione/{file}`: the recording of a session that ended.
async fn recording(
    State(state): State<AppState>,
    UrlPath((slug, id, name)): UrlPath<(String, String, String)>,
) -> Response {
    let Some(file) = parse_file(&name) else { return not_found() };
    if matches!(file, HlsFile::Part(..)) {
        return not_found();
    }
    let Some((tenant, session)) = town_and_session(&state, &slug, &id).await else { return not_found() };
    let dir = recording_dir(&state.config.council_recordings_dir, tenant, session);
    serve_recording(&dir, file, &name).await
}

/// One file of the recording in `dir` (the handler's work once the folder is known).
pub(crate) async fn serve_recording(dir: &Path, file: HlsFile, name: &str) -> Response {
    let opened = {
        let dir = dir.to_owned();
        tokio::task::spawn_blocking(move || Recording::open(&dir)).await
    };
    let recording = match opened {
        Ok(Ok(r)) => r,
        // No playlist yet (still live, or never recorded) or removed: nothing to serve.
        Ok(Err(StreamError::Io(e))) if e.kind() == std::io::ErrorKind::NotFound => return not_found(),
        Ok(Err(e)) => return stream_refusal(&e),
        Err(e) => {
            tracing::error!(error = %e, "reading a recording stopped");
            return refusal(StatusCode::INTERNAL_SERVER_ERROR, "Errore interno / Internal error");
        }
    };
    match file {
        HlsFile::Playlist => file_text(recording.playlist().to_owned(), RECORDING_PLAYLIST_CACHE),
        HlsFile::Init => match recording.file(name).await {
            Ok(body) => served(body, INIT_TYPE, RECORDING_FILE_CACHE),
            Err(e) => stream_refusal(&e),
        },
        HlsFile::Segment(_) => match recording.file(name).await {
            Ok(body) => served(body, SEGMENT_TYPE, RECORDING_FILE_CACHE),
            Err(e) => stream_refusal(&e),
        },
        HlsFile::Part(..) => not_found(),
    }
}

/// Whether a session's recording can be played (its playlist is written).
pub(crate) fn has_recording(state: &AppState, tenant: TenantId, session: i64) -> bool {
    recording_dir(&state.config.council_recordings_dir, tenant, session).join(ricevo_stream::PLAYLIST).is_file()
}

// ---- the player ----

/// hls.js's light build (low-latency HLS, fMP4), from npm through `build.rs`; served with the
/// council pages' other files (see `public::asset_url`).
pub(crate) const PLAYER: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/hls.light.min.js"));

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn only_canonical_stream_file_names_are_accepted() {
        assert_eq!(parse_file("index.m3u8"), Some(HlsFile::Playlist));
        assert_eq!(parse_file("init.mp4"), Some(HlsFile::Init));
        assert_eq!(parse_file("s0.m4s"), Some(HlsFile::Segment(0)));
        assert_eq!(parse_file("s12.3.m4s"), Some(HlsFile::Part(12, 3)));
        for hostile in [
            "",
            "..",
            "../index.m3u8",
            "..%2Findex.m3u8",
            "/etc/passwd",
            "s01.m4s",
            "s1.02.m4s",
            "s-1.m4s",
            "s1.m4s.mp4",
            "S1.m4s",
            "s1..m4s",
            "s.m4s",
            "s99999999999999999999.m4s",
            "index.m3u8\0",
            "INDEX.M3U8",
            "s1.2.3.m4s",
            "s+1.m4s",
        ] {
            assert_eq!(parse_file(hostile), None, "{hostile:?}");
        }
    }

    #[test]
    fn a_playlist_query_is_read_strictly() {
        assert_eq!(parse_reload(None), Ok(Reload::default()));
        assert_eq!(parse_reload(Some("_HLS_msn=5")), Ok(Reload { msn: Some(5), part: None }));
        assert_eq!(parse_reload(Some("_HLS_msn=5&_HLS_part=2&t=99")), Ok(Reload { msn: Some(5), part: Some(2) }));
        for bad in [
            "_HLS_part=2",
            "_HLS_msn=x",
            "_HLS_msn=",
            "_HLS_msn=-1",
            "_HLS_msn=1&_HLS_msn=2",
            "_HLS_msn=1&_HLS_part=4294967296",
        ] {
            assert_eq!(parse_reload(Some(bad)), Err(BadReload), "{bad}");
        }
    }

    #[test]
    fn stream_paths_are_recognised_for_the_request_budget() {
        assert!(is_stream_path("/demo/consiglio/3/live/s1.m4s"));
        assert!(is_stream_path("/demo/consiglio/3/registrazione/index.m3u8"));
        assert!(!is_stream_path("/demo/consiglio/3"));
        assert!(!is_stream_path("/demo/consiglio/3/stato.json"));
        assert!(!is_stream_path("/demo/staff/consiglio/3/live/x"));
        assert!(!is_stream_path("/demo/consiglio/3/live/a/b"));
    }

    #[test]
    fn a_recording_folder_is_made_of_numbers_only() {
        let dir = recording_dir(Path::new("/data/rec"), TenantId(7), 42);
        assert_eq!(dir, Path::new("/data/rec/7/42"));
    }
}
