//! The citizens' council pages: `/{town}/consiglio` lists the next and past sessions;
//! `/{town}/consiglio/{id}` plays the session live (the item under discussion, the speaker's
//! name and the closed votes beside the video) and its recording after the end;
//! `/{town}/consiglio/{id}/stato.json` is the state the page's script polls.
//!
//! No account and no cookie (none is set unless the visitor picks a language): the pages are
//! the same for everyone, so a cache in front may keep the state for about a second. The page
//! works without script: it shows the state at load, and browsers that play HLS themselves
//! play the stream from the `<source>`.

use askama::Template;
use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use jiff::Timestamp;
use ricevo_core::Lang;
use ricevo_core::council::{CouncilSessionId, Outcome, Phase, PublicSnapshot, VoteResult};
use ricevo_desk::council::CouncilSummary;
use ricevo_desk::town::zone_of;
use ricevo_store::Tenant;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::hls;
use crate::error::{ApiError, InLang};
use crate::lang::tr;
use crate::pages::layout::{Crumb, Ctx, Layout};
use crate::pages::texts::Texts;
use crate::staff::views::long_date;
use crate::state::AppState;

/// The routes of the public pages and their static files.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/{tenant}/consiglio", get(list))
        .route("/{tenant}/consiglio/{id}", get(show))
        .route("/{tenant}/consiglio/{id}/stato.json", get(state_json))
        .route("/static/council/{file}", get(asset))
}

/// How long a cache may keep the state: about the time between two polls of the page.
pub(crate) const STATE_CACHE: &str = "public, max-age=1";

/// A session's time for people: "giovedì 10 dicembre 2026, 18:00".
pub(crate) fn when(tenant: &Tenant, at: Timestamp, lang: Lang) -> String {
    let local = at.to_zoned(zone_of(tenant));
    format!("{}, {}", long_date(local.date(), lang), local.strftime("%H:%M"))
}

/// The id of a session in a URL: a positive number written plainly, or a 404.
pub(crate) fn session_id(raw: &str, lang: Lang) -> Result<CouncilSessionId, ApiError> {
    raw.parse::<i64>()
        .ok()
        .filter(|n| *n > 0 && n.to_string() == raw)
        .map(CouncilSessionId)
        .ok_or(ApiError::NotFound(lang))
}

/// One session in the list.
pub(crate) struct SessionRow {
    pub(crate) href: String,
    pub(crate) name: String,
    pub(crate) when: String,
    pub(crate) when_iso: String,
    pub(crate) state: &'static str,
    pub(crate) live: bool,
}

#[derive(Template)]
#[template(path = "council/list.html", whitespace = "minimize")]
struct ListPage {
    l: Layout,
    t: &'static Texts,
    lang_it: bool,
    town: String,
    upcoming: Vec<SessionRow>,
    past: Vec<SessionRow>,
}

/// A closed vote as the page shows it.
pub(crate) struct ResultRow {
    pub(crate) item: String,
    pub(crate) in_favour: u16,
    pub(crate) against: u16,
    pub(crate) abstain: u16,
    pub(crate) outcome: &'static str,
    pub(crate) outcome_label: &'static str,
    pub(crate) ballots: Vec<(String, &'static str)>,
    pub(crate) not_voting: String,
}

impl ResultRow {
    pub(crate) fn of(r: &VoteResult, lang: Lang) -> ResultRow {
        let (outcome, outcome_label) = match r.outcome {
            Outcome::Approved => ("approved", tr(lang, "Approvato", "Approved")),
            Outcome::Rejected => ("rejected", tr(lang, "Respinto", "Rejected")),
        };
        ResultRow {
            item: format!("{}. {}", r.item, r.item_title),
            in_favour: r.in_favour,
            against: r.against,
            abstain: r.abstain,
            outcome,
            outcome_label,
            ballots: r.ballots.iter().map(|b| (b.name.clone(), b.choice.label(lang))).collect(),
            not_voting: r.not_voting.join(", "),
        }
    }
}

#[derive(Template)]
#[template(path = "council/show.html", whitespace = "minimize")]
struct ShowPage {
    l: Layout,
    t: &'static Texts,
    lang_it: bool,
    heading: String,
    when: String,
    when_iso: String,
    phase: &'static str,
    phase_label: &'static str,
    /// The live playlist, while the session runs on this node.
    live_src: Option<String>,
    /// The recording's playlist, after the end.
    recording_src: Option<String>,
    item: Option<String>,
    speaker: Option<String>,
    voting: bool,
    results: Vec<ResultRow>,
    agenda: Vec<(u16, String)>,
    state_url: String,
    player_url: String,
    script_url: String,
}

impl ShowPage {
    /// The stream the video plays, live or recorded.
    fn src(&self) -> &str {
        self.live_src.as_deref().or(self.recording_src.as_deref()).unwrap_or("")
    }
}

fn crumbs(ctx: &Ctx, tenant: &Tenant, this: Option<String>) -> Vec<Crumb> {
    let council = tr(ctx.lang, "Sedute del consiglio", "Council sessions").to_owned();
    let mut steps = vec![(tenant.name.clone(), Some(ctx.href(&format!("/{}", tenant.slug))))];
    match this {
        Some(title) => {
            steps.push((council, Some(ctx.href(&format!("/{}/consiglio", tenant.slug)))));
            steps.push((title, None));
        }
        None => steps.push((council, None)),
    }
    ctx.crumbs(steps)
}

/// `GET /{town}/consiglio`: the next and past sessions.
async fn list(State(state): State<AppState>, ctx: Ctx, Path(slug): Path<String>) -> Response {
    let run = async {
        let tenant = state.desk.town(&slug).await.in_lang(ctx.lang)?;
        ctx.in_town(&tenant);
        let sessions = state.desk.council_sessions(&tenant).await.in_lang(ctx.lang)?;
        let (mut upcoming, mut past): (Vec<CouncilSummary>, Vec<CouncilSummary>) =
            sessions.into_iter().partition(|s| s.state != Phase::Closed);
        upcoming.sort_by_key(|s| s.starts_at);
        past.sort_by_key(|s| std::cmp::Reverse(s.starts_at));
        let row = |s: &CouncilSummary| SessionRow {
            href: ctx.href(&format!("/{}/consiglio/{}", tenant.slug, s.id)),
            name: session_name(&s.body_name, &s.title),
            when: when(&tenant, s.starts_at, ctx.lang),
            when_iso: s.starts_at.to_string(),
            state: s.state.label(ctx.lang),
            live: s.state == Phase::Open,
        };
        let title = tr(ctx.lang, "Sedute del consiglio", "Council sessions");
        let mut l = ctx.layout(format!("{title} – {}", tenant.name), crumbs(&ctx, &tenant, None), Some(&tenant), false);
        l.extra_css = Some(asset_url("public.css"));
        let page = ListPage {
            l,
            t: ctx.t,
            lang_it: ctx.lang == Lang::It,
            town: tenant.name.clone(),
            upcoming: upcoming.iter().map(row).collect(),
            past: past.iter().map(row).collect(),
        };
        Ok::<_, ApiError>(ctx.page(StatusCode::OK, &page))
    };
    run.await.unwrap_or_else(|e| ctx.error(&e, None))
}

/// "Consiglio comunale – Seduta ordinaria".
fn session_name(body_name: &str, title: &str) -> String {
    if title.is_empty() { body_name.to_owned() } else { format!("{body_name} – {title}") }
}

/// `GET /{town}/consiglio/{id}`: the live stream or the recording, with the state beside it.
async fn show(State(state): State<AppState>, ctx: Ctx, Path((slug, id)): Path<(String, String)>) -> Response {
    let run = async {
        let tenant = state.desk.town(&slug).await.in_lang(ctx.lang)?;
        ctx.in_town(&tenant);
        let id = session_id(&id, ctx.lang)?;
        let public = state.desk.council_public(&tenant, id).await.in_lang(ctx.lang)?;
        let lang = ctx.lang;
        let base = format!("/{}/consiglio/{id}", tenant.slug);
        let live = public.state == Phase::Open && hls::live_stream(&state, tenant.id, id.0).is_some();
        let recorded = public.state == Phase::Closed && hls::has_recording(&state, tenant.id, id.0);
        let heading = session_name(&public.body_name, &public.title);
        let mut l = ctx.layout(
            format!("{heading} – {}", tenant.name),
            crumbs(&ctx, &tenant, Some(heading.clone())),
            Some(&tenant),
            false,
        );
        l.extra_css = Some(asset_url("public.css"));
        let page = ShowPage {
            l,
            t: ctx.t,
            lang_it: lang == Lang::It,
            heading,
            when: when(&tenant, public.starts_at, lang),
            when_iso: public.starts_at.to_string(),
            phase: public.state.as_str(),
            phase_label: public.state.label(lang),
            live_src: live.then(|| format!("{base}/live/{}", ricevo_stream::PLAYLIST)),
            recording_src: recorded.then(|| format!("{base}/registrazione/{}", ricevo_stream::PLAYLIST)),
            item: public.item.as_ref().map(|i| format!("{}. {}", i.number, i.title)),
            speaker: public.speaker.clone(),
            voting: public.voting,
            results: public.results.iter().map(|r| ResultRow::of(r, lang)).collect(),
            agenda: public.items.iter().map(|i| (i.number.0, i.title.clone())).collect(),
            state_url: format!("{base}/stato.json"),
            player_url: asset_url("hls.light.min.js"),
            script_url: asset_url("public.js"),
        };
        Ok::<_, ApiError>(ctx.page(StatusCode::OK, &page))
    };
    run.await.unwrap_or_else(|e| ctx.error(&e, None))
}

/// The state the public page polls: what viewers may see, and whether there is a stream.
#[derive(Debug, Serialize)]
pub(crate) struct PublicState<'a> {
    /// The session as viewers see it.
    #[serde(flatten)]
    pub(crate) public: &'a PublicSnapshot,
    /// Whether the live stream plays (on this node).
    pub(crate) live: bool,
    /// Whether the recording can be played.
    pub(crate) recording: bool,
}

/// `GET /{town}/consiglio/{id}/stato.json`.
async fn state_json(
    State(state): State<AppState>,
    lang: crate::lang::ReqLang,
    Path((slug, id)): Path<(String, String)>,
) -> Response {
    let lang = lang.0;
    let run = async {
        let tenant = state.desk.town(&slug).await.in_lang(lang)?;
        let id = session_id(&id, lang)?;
        let public = state.desk.council_public(&tenant, id).await.in_lang(lang)?;
        let body = PublicState {
            public: &public,
            live: public.state == Phase::Open && hls::live_stream(&state, tenant.id, id.0).is_some(),
            recording: public.state == Phase::Closed && hls::has_recording(&state, tenant.id, id.0),
        };
        let mut resp = axum::Json(body).into_response();
        resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static(STATE_CACHE));
        Ok::<_, ApiError>(resp)
    };
    run.await.unwrap_or_else(|e| {
        let mut resp = e.into_response();
        resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        resp
    })
}

// ---- static files of the council pages ----

/// The council pages' own files: (name, content type, bytes).
const ASSETS: [(&str, &str, &[u8]); 3] = [
    ("public.css", "text/css; charset=utf-8", include_bytes!("../../static/council-public.css")),
    ("public.js", "text/javascript; charset=utf-8", include_bytes!("../../static/council-public.js")),
    ("hls.light.min.js", "text/javascript; charset=utf-8", hls::PLAYER),
];

/// The content hash of each of [`ASSETS`], computed once.
fn hashes() -> &'static [String] {
    static HASHES: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    HASHES.get_or_init(|| ASSETS.iter().map(|(_, _, body)| hex::encode(&Sha256::digest(body)[..6])).collect())
}

/// `/static/council/{name}?v={hash}`: a year in caches, since a new build changes the hash.
pub(crate) fn asset_url(name: &str) -> String {
    match ASSETS.iter().position(|(n, _, _)| *n == name) {
        Some(i) => format!("/static/council/{name}?v={}", hashes()[i]),
        None => format!("/static/council/{name}"),
    }
}

/// `GET /static/council/{file}`: for a year with the current hash, an hour without.
async fn asset(Path(file): Path<String>, RawQuery(query): RawQuery) -> Response {
    let Some(i) = ASSETS.iter().position(|(n, _, _)| *n == file) else {
        return (StatusCode::NOT_FOUND, [(header::CACHE_CONTROL, "no-store")], "Not found\n").into_response();
    };
    let (_, content_type, body) = ASSETS[i];
    let hash = hashes()[i].as_str();
    let versioned = query.as_deref().is_some_and(|q| q.split('&').any(|kv| kv.strip_prefix("v=") == Some(hash)));
    let cache = if versioned { "public, max-age=31536000, immutable" } else { "public, max-age=3600" };
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
        ],
        body,
    )
        .into_response()
}
