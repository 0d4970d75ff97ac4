//! Static files compiled into the binary: the stylesheets (one for every page, one more for the
//! call, one more for staff pages), the scripts and the icon.
//!
//! Pages link them as `/static/{name}?v={hash}`: a link with the current hash may be cached
//! for a year, since a new build changes the hash; a link without it (the `embed.js` a town
//! copies into its site) is cached for an hour.

use std::sync::OnceLock;

use axum::Router;
use axum::extract::{Path, RawQuery};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};

use crate::state::AppState;

/// One file served under `/static/`.
#[derive(Debug)]
pub struct Asset {
    /// The file name in the URL.
    pub name: &'static str,
    /// Its `Content-Type`.
    pub content_type: &'static str,
    /// Its bytes.
    pub body: &'static [u8],
}

/// Every static file.
pub const ASSETS: [Asset; 11] = [
    Asset { name: "ricevo.css", content_type: "text/css; charset=utf-8", body: include_bytes!("../static/ricevo.css") },
    Asset { name: "room.css", content_type: "text/css; charset=utf-8", body: include_bytes!("../static/room.css") },
    Asset { name: "staff.css", content_type: "text/css; charset=utf-8", body: include_bytes!("../static/staff.css") },
    Asset {
        name: "frame.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../static/frame.js"),
    },
    Asset {
        name: "embed.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../static/embed.js"),
    },
    Asset {
        name: "room.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../static/room.js"),
    },
    Asset {
        name: "desk.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../static/desk.js"),
    },
    Asset {
        name: "staff.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../static/staff.js"),
    },
    Asset { name: "favicon.svg", content_type: "image/svg+xml", body: include_bytes!("../static/favicon.svg") },
    // ---- room ----
    // The members' session room of a council session.
    Asset {
        name: "council.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("../static/council.css"),
    },
    Asset {
        name: "council.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../static/council.js"),
    },
    // ---- end room ----
];

// A year for versioned links, an hour for bare ones.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const SHORT: &str = "public, max-age=3600";

/// The content hash of each asset (in [`ASSETS`] order), computed once.
fn hashes() -> &'static [String] {
    static HASHES: OnceLock<Vec<String>> = OnceLock::new();
    HASHES.get_or_init(|| ASSETS.iter().map(|a| hex::encode(&Sha256::digest(a.body)[..6])).collect())
}

/// The short content hash of a static file, if it exists.
pub fn version(name: &str) -> Option<&'static str> {
    ASSETS.iter().position(|a| a.name == name).map(|i| hashes()[i].as_str())
}

/// The URL pages use for a static file: `/static/{name}?v={hash}`.
pub fn url(name: &str) -> String {
    match version(name) {
        Some(v) => format!("/static/{name}?v={v}"),
        None => format!("/static/{name}"),
    }
}

/// The routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new().route("/static/{file}", get(serve))
}

async fn serve(Path(file): Path<String>, RawQuery(query): RawQuery, headers: HeaderMap) -> Response {
    let Some(i) = ASSETS.iter().position(|a| a.name == file) else {
        return (StatusCode::NOT_FOUND, [(header::CACHE_CONTROL, "no-store")], "Not found\n").into_response();
    };
    let asset = &ASSETS[i];
    let hash = hashes()[i].as_str();
    let etag = format!("\"{hash}\"");
    let versioned = query.as_deref().is_some_and(|q| q.split('&').any(|kv| kv.strip_prefix("v=") == Some(hash)));
    let cache = if versioned { IMMUTABLE } else { SHORT };
    let etag_value = HeaderValue::from_str(&etag).unwrap_or(HeaderValue::from_static("\"0\""));
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|tag| tag.trim() == etag));
    if fresh {
        return (
            StatusCode::NOT_MODIFIED,
            [(header::ETAG, etag_value), (header::CACHE_CONTROL, HeaderValue::from_static(cache))],
        )
            .into_response();
    }
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
            (header::ETAG, etag_value),
        ],
        asset.body,
    )
        .into_response()
}
