//! The virtual office: the waiting room a citizen's link opens, the meeting behind it, the
//! walk-in desk, the officials' dashboard and the staff API for all of them.
//!
//! One link opens one place: `/a/{token}/join` is the page, `/a/{token}/ws` its live socket.
//! The token is an appointment's link token (the citizen who booked) or the personal token of
//! a walk-in ticket, an invitee or the official. The state of each place lives in the database
//! (`ricevo_core::lobby`), so a restart loses nobody's place; who is connected lives in the
//! [`Hub`].

pub mod actions;
pub mod api;
pub(crate) mod desk;
pub(crate) mod documents;
pub(crate) mod hub;
pub(crate) mod ice;
mod nodes;
pub(crate) mod socket;
pub(crate) mod texts;
pub(crate) mod walkin;

use askama::Template;
use axum::Router;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use ricevo_core::Lang;
use ricevo_core::lobby::{Abilities, Entry, EntryKind, EntryStatus};
use ricevo_desk::waiting_room::{Closed, Link};
use ricevo_store::{Appointment, Meeting, Tenant};

pub use hub::{Hub, LiveNode};
pub use nodes::{close_deserted_meetings, keep_node_alive};

use self::texts::{RoomTexts, room_texts};
use crate::assets;
use crate::error::{ApiError, InLang};
use crate::pages::layout::{Ctx, Layout};
use crate::state::AppState;
use ricevo_desk::town::zone_of;

/// Applies what other nodes announce to this node's connections, for as long as the process
/// runs. Does nothing on an engine with one node (SQLite).
pub async fn follow_other_nodes(state: AppState) {
    hub::follow_other_nodes(&*state.store, &state.hub).await;
}

/// The routes of the virtual office (pages, socket, documents, walk-in desk, dashboard); its API
/// routes are in [`crate::api_routes`].
pub fn routes(max_document_bytes: usize) -> Router<AppState> {
    Router::new()
        .route("/a/{token}/join", get(join_page))
        .route("/a/{token}/ws", get(socket_upgrade))
        .route(
            "/a/{token}/documents",
            // The one route with a larger body: a document, checked against the configured limit.
            post(documents::upload).layer(DefaultBodyLimit::max(max_document_bytes.saturating_add(1))),
        )
        .route("/a/{token}/documents/{id}", get(documents::download))
        .merge(walkin::routes())
        .merge(desk::routes())
}

/// The waiting room and meeting page.
#[derive(Template)]
#[template(path = "room.html", whitespace = "minimize")]
struct RoomPage {
    l: Layout,
    t: &'static crate::pages::texts::Texts,
    r: &'static RoomTexts,
    facts: Vec<(&'static str, String)>,
    /// A walk-in ticket's number, shown large while the citizen checks devices and waits.
    ticket: Option<i32>,
    document_label: String,
    /// What a citizen can do next if the office cannot see them (shown on the closing page).
    next: Vec<(&'static str, String)>,
    data: String,
    // ---- webpush ----
    /// "Notify me when it's my turn", when offered (the VAPID public key and the texts).
    push: Option<PushOffer>,
    // ---- end webpush ----
}

// ---- webpush ----
/// The waiting room's offer of a push notification when it is the citizen's turn.
struct PushOffer {
    key: String,
    button: &'static str,
    working: &'static str,
    done: &'static str,
    denied: &'static str,
    failed: &'static str,
}

impl PushOffer {
    fn new(key: String, lang: Lang) -> PushOffer {
        let (button, working, done, denied, failed) = match lang {
            Lang::It => (
                "Avvisami quando tocca a me",
                "Attivazione dell'avviso…",
                "Ti avviseremo con una notifica quando tocca a te: puoi lasciare questa scheda.",
                "Le notifiche sono bloccate in questo browser: resta su questa pagina per sapere quando tocca a te.",
                "Non è stato possibile attivare l'avviso: resta su questa pagina.",
            ),
            Lang::En => (
                "Notify me when it's my turn",
                "Setting up the notification…",
                "We will send you a notification when it is your turn: you can leave this tab.",
                "Notifications are blocked in this browser: stay on this page to see when it is your turn.",
                "The notification could not be set up: stay on this page.",
            ),
        };
        PushOffer { key, button, working, done, denied, failed }
    }
}
// ---- end webpush ----

/// The page a link shows once its wait or meeting is over for good (refused, no-show,
/// cancelled, removed, done), in the town's frame, with what to do next.
#[derive(Template)]
#[template(path = "room_closed.html", whitespace = "minimize")]
struct ClosedPage {
    l: Layout,
    t: &'static crate::pages::texts::Texts,
    r: &'static RoomTexts,
    title: &'static str,
    office_message: Option<String>,
    message: String,
    next: Vec<(&'static str, String)>,
}

/// What a citizen of `office` can do when the office cannot see them now: book again on the
/// town's page, take a number at the office's walk-in desk if it is open, write to the town.
async fn next_steps(
    state: &AppState,
    ctx: &Ctx,
    tenant: &Tenant,
    office: ricevo_core::OfficeId,
) -> Vec<(&'static str, String)> {
    let r = room_texts(ctx.lang);
    let mut next = vec![(r.book_again, ctx.href(&format!("/{}", tenant.slug)))];
    // A walk-in desk that cannot be read is left out: the other ways remain.
    if let Ok(Some(o)) = state.store.office(tenant.id, office).await
        && walkin::is_open(state, tenant, &o).await.unwrap_or(false)
    {
        next.push((r.walk_in_now, ctx.href(&format!("/{}/walk-in/{}", tenant.slug, office.0))));
    }
    if !tenant.contact_email.is_empty() {
        next.push((r.write_office, format!("mailto:{}", tenant.contact_email)));
    }
    next
}

/// JSON for a `<script type="application/json">` block: `<` escaped so no `</script>` can end it.
fn script_json(value: &serde_json::Value) -> String {
    value.to_string().replace('<', "\\u003c")
}

/// The page of `e`'s link; `meeting` is the meeting it is admitted to, if any.
fn room_page(
    state: &AppState,
    ctx: &Ctx,
    tenant: &Tenant,
    token: &str,
    e: &Entry,
    meeting: Option<&Meeting>,
    next: Vec<(&'static str, String)>,
) -> Response {
    let r = room_texts(ctx.lang);
    let zone = zone_of(tenant);
    let mut facts = Vec::new();
    if !e.service.is_empty() {
        facts.push((if ctx.lang == Lang::It { "Servizio" } else { "Service" }, e.service.clone()));
    }
    if let Some(start) = e.booked_start {
        facts.push((r.appointment, crate::pages::when_text(ctx.lang, &start.to_zoned(zone))));
    }
    facts.push((if ctx.lang == Lang::It { "Nome" } else { "Name" }, e.name.clone()));
    let mb = state.config.max_document_bytes / (1024 * 1024);
    // An admitted page offers at once, with places for those already in the meeting (at least
    // one, for whoever comes), and needs the ICE servers the socket would send with `admitted`.
    let others = meeting.map_or(0, |m| state.hub.present(m.id).iter().filter(|(id, _)| *id != e.id).count());
    let ice_servers =
        if meeting.is_some() { ice::servers(&state.config, e.id, state.now()) } else { serde_json::json!([]) };
    let data = serde_json::json!({
        "ws": format!("/a/{token}/ws"),
        // Where the page goes when its node stops answering: the public address leads to a
        // live node, which takes the meeting over.
        "public_join": ricevo_desk::messages::token_link(&state.config.public_url, token, "/join"),
        "documents": "documents",
        "entry_id": e.id.0,
        "admitted": meeting.is_some(),
        "others": others,
        "ice_servers": ice_servers,
        "max_document_bytes": state.config.max_document_bytes,
        "closing": null,
        "texts": r,
    });
    let mut l = ctx.layout(format!("{} – {}", r.title, tenant.name), ctx.crumbs(Vec::new()), Some(tenant), true);
    l.script = Some(assets::url("room.js"));
    l.extra_css = Some(assets::url("room.css"));
    let page = RoomPage {
        l,
        t: ctx.t,
        r,
        facts,
        ticket: e.ticket_number,
        document_label: r.document_label.replace("{mb}", &mb.to_string()),
        next,
        data: script_json(&data),
        // ---- webpush ----
        push: crate::web_push::offer(state, tenant, e).map(|key| PushOffer::new(key, ctx.lang)),
        // ---- end webpush ----
    };
    let mut resp = ctx.page(StatusCode::OK, &page);
    // Camera and microphone in someone else's frame: never, not even in embed mode.
    if let Some(v) = crate::pages::layout::csp("'none'") {
        resp.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
    }
    resp
}

/// A closed-door page (too early, over) without any script.
fn notice_page(ctx: &Ctx, title: &'static str, message: String) -> Response {
    ctx.problem(StatusCode::OK, title, message, None)
}

/// The closing page of a link whose wait or meeting is over, in the town's frame; `next` is
/// left out when there is nothing more to do (a meeting that ended well).
fn closed_page(
    ctx: &Ctx,
    tenant: &Tenant,
    title: &'static str,
    office_message: Option<String>,
    message: &str,
    next: Vec<(&'static str, String)>,
) -> Response {
    let r = room_texts(ctx.lang);
    let page = ClosedPage {
        l: Layout {
            extra_css: Some(assets::url("room.css")),
            ..ctx.layout(format!("{title} – {}", tenant.name), ctx.crumbs(Vec::new()), Some(tenant), true)
        },
        t: ctx.t,
        r,
        title,
        office_message: office_message.filter(|m| !m.trim().is_empty()),
        message: message.to_owned(),
        next,
    };
    ctx.page(StatusCode::OK, &page)
}

/// `GET /a/{token}/join`: the device check and waiting room, or why not now.
async fn join_page(State(state): State<AppState>, ctx: Ctx, Path(token): Path<String>) -> Response {
    let r = room_texts(ctx.lang);
    let run = async {
        let link = state.desk.resolve(&token).await.in_lang(ctx.lang)?;
        let (tenant, entry) = match link {
            Link::Appointment(tenant, a) => {
                // Even "not open yet" is the town's page, with its header, footer and way home.
                ctx.in_town(&tenant);
                // The page only looks: arrival is recorded when the socket opens after the device check.
                let existing = match state.desk.look_in(&tenant, &a).await.in_lang(ctx.lang)? {
                    Ok(existing) => existing,
                    Err(why) => {
                        let message = match why {
                            Closed::NotVideo => r.not_video.to_owned(),
                            Closed::TooEarly(opens_at) => {
                                let when = crate::pages::when_text(ctx.lang, &opens_at.to_zoned(zone_of(&tenant)));
                                r.too_early.replace("{when}", &when)
                            }
                            Closed::Over => r.over.to_owned(),
                        };
                        return Ok(notice_page(&ctx, r.not_now_title, message));
                    }
                };
                let placeholder = existing.unwrap_or_else(|| preview_entry(&tenant, &a));
                (tenant, placeholder)
            }
            Link::Entry(tenant, e) => {
                ctx.in_town(&tenant);
                (tenant, *e)
            }
        };
        let next = next_steps(&state, &ctx, &tenant, entry.office_id).await;
        let closed =
            |title, message: Option<String>, text: &str, next| closed_page(&ctx, &tenant, title, message, text, next);
        match entry.status {
            EntryStatus::Done => {
                // A citizen whose meeting ended is asked for feedback on this page at once.
                if let Some(page) = crate::feedback::closing_page(&state, &ctx, &tenant, &entry, &token).await {
                    return Ok(page);
                }
                return Ok(closed(r.closed_title, None, r.closed_text, Vec::new()));
            }
            EntryStatus::Refused => return Ok(closed(r.refused_title, entry.message.clone(), r.refused_text, next)),
            EntryStatus::NoShow => return Ok(closed(r.no_show_title, entry.message.clone(), r.no_show, next)),
            EntryStatus::Removed => return Ok(closed(r.removed_title, None, r.removed, next)),
            EntryStatus::Cancelled => return Ok(closed(r.cancelled_title, entry.message.clone(), r.cancelled, next)),
            EntryStatus::Left if !entry.was_admitted() && entry.kind != EntryKind::Appointment => {
                return Ok(closed(r.not_now_title, None, r.left_queue, next));
            }
            _ => {}
        }
        let meeting =
            if entry.may_join_media() { state.desk.open_meeting_of(&entry).await.in_lang(ctx.lang)? } else { None };
        let elsewhere = match &meeting {
            Some(m) => actions::elsewhere(&state, m, &token).await?,
            None => None,
        };
        if let Some(url) = elsewhere {
            // Several nodes: the meeting's media are on another one.
            return Ok(axum::response::Redirect::temporary(&url).into_response());
        }
        Ok::<_, ApiError>(room_page(&state, &ctx, &tenant, &token, &entry, meeting.as_ref(), next))
    };
    run.await.unwrap_or_else(|e| ctx.error(&e, None))
}

/// How the page shows an appointment's citizen before arrival.
fn preview_entry(tenant: &Tenant, a: &Appointment) -> Entry {
    Entry {
        id: ricevo_core::EntryId(0),
        tenant_id: tenant.id,
        office_id: a.office_id,
        kind: EntryKind::Appointment,
        appointment_id: Some(a.id),
        ticket_number: None,
        meeting_id: None,
        name: a.citizen_name.clone(),
        service: String::new(),
        booked_start: Some(a.start),
        booked_end: Some(a.end),
        abilities: Abilities::citizen(),
        muted: false,
        direct: false,
        status: EntryStatus::Waiting,
        message: None,
        arrived_at: a.start,
        admitted_at: None,
        joined_at: None,
        ended_at: None,
    }
}

/// Whether a WebSocket handshake comes from one of our own pages (or from a non-browser
/// client, which sends no Origin).
pub(crate) fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else { return true };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
    origin.split_once("://").is_some_and(|(_, rest)| rest == host)
}

/// `GET /a/{token}/ws`: the live socket of a link.
async fn socket_upgrade(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(token): Path<String>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    let lang = ctx.lang;
    if !same_origin(&headers) {
        return ApiError::Forbidden(lang).into_response();
    }
    let run = async {
        let (tenant, entry) = match state.desk.resolve(&token).await.in_lang(lang)? {
            Link::Appointment(tenant, a) => match state.desk.arrive(&tenant, &a).await.in_lang(lang)? {
                Ok(e) => (tenant, e),
                Err(_) => return Err(ApiError::NotActive(lang)),
            },
            Link::Entry(tenant, e) => {
                if !e.is_active() {
                    return Err(ApiError::NotActive(lang));
                }
                (tenant, *e)
            }
        };
        Ok(upgrade
            .max_message_size(socket::MAX_MESSAGE_BYTES)
            .on_upgrade(move |ws| socket::run(state, tenant, entry, token, lang, ws)))
    };
    run.await.unwrap_or_else(IntoResponse::into_response)
}
