//! The official's dashboard of an office: who waits (live, over Server-Sent Events), and the
//! actions admit, ask to wait, refuse, not present (no-show), transfer, call next, join, invite
//! and end. Every action is a plain form, so the page works without JavaScript; `desk.js` keeps
//! it live, alerts, and asks for confirmation before the actions marked `data-confirm`.

use std::convert::Infallible;
use std::time::Duration;

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::{get, post};
use futures_util::stream::{self, Stream};
use jiff::Timestamp;
use jiff::civil::{Time, Weekday};
use ricevo_core::lobby::{Abilities, Entry, EntryKind, EntryStatus, Punctuality, WalkInDesk};
use ricevo_core::{EntryId, Lang, MeetingId, OfficeId, OpeningHours, WeeklyRange};
use ricevo_desk::meetings::role_abilities;
use ricevo_desk::waiting_room::{Granted, busiest_office, manages, office_message};
use ricevo_store::{Meeting, Office};
use serde::Deserialize;

use super::actions;
use crate::assets;
use crate::error::{ApiError, InLang};
use crate::staff::common::{PageError, Posted, Staff, path_id, render, see_other, tr};
use crate::staff::offices::hhmm;
use crate::staff::views::Page;
use crate::state::AppState;
use ricevo_desk::town::zone_of;

/// The routes of the dashboard.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/{tenant}/staff/desk", get(first_desk))
        .route("/{tenant}/staff/desk/{office}", get(desk))
        .route("/{tenant}/staff/desk/{office}/events", get(events))
        .route("/{tenant}/staff/desk/{office}/call-next", post(call_next))
        .route("/{tenant}/staff/desk/{office}/walk-in", post(set_walk_in))
        .route("/{tenant}/staff/waiting/{entry}/{action}", post(act))
        .route("/{tenant}/staff/meetings/{meeting}/{action}", post(meeting_action))
}

/// One row of the queue.
struct Row {
    id: i64,
    name: String,
    ticket: Option<i32>,
    service: String,
    booked: String,
    arrived: String,
    waited: String,
    timing: String,
    timing_class: &'static str,
    status: &'static str,
    status_code: &'static str,
    connected: bool,
    message: Option<String>,
    queued: bool,
    meeting: Option<i64>,
    // ---- citizen ----
    /// "identità verificata con SPID", for a booking made signed in.
    verified: Option<String>,
    // ---- end citizen ----
}

/// What the queue fragment needs besides its rows.
struct QueueFrame {
    lang: Lang,
    base: String,
    csrf: String,
    /// Other offices to transfer to.
    offices: Vec<(i64, String)>,
}

impl QueueFrame {
    fn t(&self, it: &'static str, en: &'static str) -> &'static str {
        tr(self.lang, it, en)
    }
}

#[derive(Template)]
#[template(path = "staff/desk_queue.html", whitespace = "minimize")]
struct QueueFragment<'a> {
    q: &'a QueueFrame,
    rows: Vec<Row>,
}

#[derive(Template)]
#[template(path = "staff/desk.html", whitespace = "minimize")]
struct DeskPage {
    p: Page,
    script: String,
    slug: String,
    /// The offices the account works: id, name, how many wait.
    desks: Vec<(i64, String, usize)>,
    office_id: i64,
    office_name: String,
    events: String,
    queue_html: String,
    invited: Option<String>,
    walk_in_editable: bool,
    walk_in_always: bool,
    walk_in_from: String,
    walk_in_to: String,
}

fn status_name(lang: Lang, s: EntryStatus) -> &'static str {
    match s {
        EntryStatus::Waiting => tr(lang, "in attesa", "waiting"),
        EntryStatus::Held => tr(lang, "invitato ad attendere", "asked to wait"),
        EntryStatus::Admitted => tr(lang, "ammesso", "admitted"),
        EntryStatus::InMeeting => tr(lang, "in incontro", "in the meeting"),
        EntryStatus::Left => tr(lang, "uscito", "left"),
        EntryStatus::Done => tr(lang, "concluso", "done"),
        EntryStatus::NoShow => tr(lang, "assente", "no-show"),
        EntryStatus::Refused => tr(lang, "rifiutato", "refused"),
        EntryStatus::Removed => tr(lang, "allontanato dall'incontro", "removed from the meeting"),
        EntryStatus::Cancelled => tr(lang, "appuntamento annullato", "appointment cancelled"),
    }
}

fn row(state: &AppState, staff: &Staff, e: &Entry, now: Timestamp) -> Row {
    let lang = staff.lang;
    let zone = zone_of(&staff.tenant);
    let hm = |t: Timestamp| t.to_zoned(zone.clone()).strftime("%H:%M").to_string();
    let (timing, timing_class) = match e.booked_start.map(|b| ricevo_core::lobby::punctuality(b, e.arrived_at, 2)) {
        Some(Punctuality::Early { minutes }) => {
            (format!("{minutes} {}", tr(lang, "min in anticipo", "min early")), "muted")
        }
        Some(Punctuality::Late { minutes }) => {
            (format!("{minutes} {}", tr(lang, "min in ritardo", "min late")), "late")
        }
        Some(Punctuality::OnTime) => (tr(lang, "puntuale", "on time").to_owned(), "muted"),
        None => (String::new(), "muted"),
    };
    let waited = actions::minutes_between(e.arrived_at, e.admitted_at.unwrap_or(now));
    Row {
        id: e.id.0,
        name: e.name.clone(),
        ticket: e.ticket_number,
        service: if e.service.is_empty() {
            match e.kind {
                EntryKind::Ticket => tr(lang, "senza appuntamento", "walk-in").to_owned(),
                _ => tr(lang, "invitato", "invitee").to_owned(),
            }
        } else {
            e.service.clone()
        },
        booked: e.booked_start.map(hm).unwrap_or_default(),
        arrived: hm(e.arrived_at),
        waited: format!("{waited} {}", tr(lang, "min di attesa", "min waited")),
        timing,
        timing_class,
        status: status_name(lang, e.status),
        status_code: e.status.as_str(),
        connected: state.hub.is_connected(e.id),
        message: e.message.clone().filter(|m| !m.is_empty()),
        queued: e.status.is_queued(),
        meeting: e.meeting_id.map(|m| m.0),
        verified: None,
    }
}

/// An office whose desk the account works (see `Desk::desk_office`).
async fn office_of(state: &AppState, staff: &Staff, raw: &str) -> Result<Office, PageError> {
    let id = OfficeId(path_id(raw, staff.lang)?);
    let office = state.desk.desk_office(&staff.tenant, &staff.grant(), id).await;
    Ok(office.in_lang(staff.lang).map_err(|e| staff.err(e))?.into_inner())
}

async fn queue_html(state: &AppState, staff: &Staff, office: &Office) -> Result<String, ApiError> {
    let now = state.now();
    let entries = state.desk.office_queue(&staff.tenant, &staff.grant(), office.id).await.in_lang(staff.lang)?;
    let mut rows: Vec<Row> = entries.iter().map(|e| row(state, staff, e, now)).collect();
    // ---- citizen ---- Who booked signed in with SPID or CIE: the official sees it verified.
    let booked: Vec<ricevo_core::AppointmentId> = entries.iter().filter_map(|e| e.appointment_id).collect();
    let verified = state.desk.verified_identities(&staff.tenant, &booked).await.in_lang(staff.lang)?;
    for (r, e) in rows.iter_mut().zip(&entries) {
        r.verified = e
            .appointment_id
            .and_then(|a| verified.get(&a))
            .map(|kind| crate::citizen_session::verified_text(staff.lang, kind));
    }
    // ---- end citizen ----
    let offices = state
        .store
        .offices(staff.tenant.id)
        .await?
        .into_iter()
        .filter(|o| o.id != office.id)
        .map(|o| (o.id.0, o.name))
        .collect();
    let frame = QueueFrame { lang: staff.lang, base: staff.base(), csrf: staff.csrf.clone(), offices };
    QueueFragment { q: &frame, rows }.render().map_err(|e| ApiError::Internal(e.to_string()))
}

/// `GET /{tenant}/staff/desk`: the office where most people wait, of those the account works
/// (the first of them when nobody waits).
async fn first_desk(State(state): State<AppState>, staff: Staff) -> Result<Response, PageError> {
    let offices =
        state.desk.desk_offices(&staff.tenant, &staff.grant()).await.in_lang(staff.lang).map_err(|e| staff.err(e))?;
    match busiest_office(&offices) {
        Some(o) => Ok(see_other(&format!("{}/desk/{}", staff.base(), o.0))),
        None => Err(staff.forbidden()),
    }
}

/// How many wait at each office the account works, by office id (the tabs' counts).
async fn waiting_counts(state: &AppState, staff: &Staff) -> Result<Vec<(ricevo_store::Office, usize)>, ApiError> {
    state.desk.desk_offices(&staff.tenant, &staff.grant()).await.in_lang(staff.lang)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct DeskQuery {
    invited: Option<String>,
}

/// `GET /{tenant}/staff/desk/{office}`.
async fn desk(
    State(state): State<AppState>,
    staff: Staff,
    Path((_, office)): Path<(String, String)>,
    Query(q): Query<DeskQuery>,
) -> Result<Response, PageError> {
    let office = office_of(&state, &staff, &office).await?;
    let desks = waiting_counts(&state, &staff)
        .await
        .map_err(|e| staff.err(e))?
        .into_iter()
        .map(|(o, n)| (o.id.0, o.name, n))
        .collect();
    let queue = queue_html(&state, &staff, &office).await.map_err(|e| staff.err(e))?;
    let walk_in = state.store.walk_in(staff.tenant.id, office.id).await.map_err(|e| staff.err(e.into()))?;
    let first = walk_in.hours.ranges().first();
    let page = DeskPage {
        p: staff.page(staff.t("Sala d'attesa", "Waiting room")),
        script: assets::url("desk.js"),
        slug: staff.tenant.slug.clone(),
        desks,
        office_id: office.id.0,
        office_name: office.name.clone(),
        events: format!("{}/desk/{}/events", staff.base(), office.id.0),
        queue_html: queue,
        // Only a link this server made is echoed back.
        invited: q.invited.as_deref().and_then(|l| own_join_link(&state.config.public_url, l)),
        walk_in_editable: manages(&staff.grant(), &staff.tenant, office.id),
        walk_in_always: walk_in.always_open,
        walk_in_from: first.map(|r| hhmm(ricevo_core::hours::minutes_of_day(r.start()))).unwrap_or_default(),
        walk_in_to: first.map(|r| hhmm(ricevo_core::hours::minutes_of_day(r.end()))).unwrap_or_default(),
    };
    Ok(render(axum::http::StatusCode::OK, &page))
}

/// The link `raw`, normalised, when it is a join link this server made: the same scheme, host
/// and port as `public_url` (compared parsed, not by prefix: `http://host:port.evil.example`
/// and `http://host:port@evil.example` start with the same text), no user info, and exactly
/// `{public path}/a/{token}/join`. Anything else is not echoed on the desk.
pub(crate) fn own_join_link(public_url: &str, raw: &str) -> Option<String> {
    if raw.len() >= 300 {
        return None;
    }
    let public = url::Url::parse(public_url).ok()?;
    let link = url::Url::parse(raw).ok()?;
    if link.origin() != public.origin() || !link.origin().is_tuple() {
        return None;
    }
    if !link.username().is_empty() || link.password().is_some() || link.query().is_some() || link.fragment().is_some() {
        return None;
    }
    let base = public.path().trim_end_matches('/');
    let token = link.path().strip_prefix(base)?.strip_prefix("/a/")?.strip_suffix("/join")?;
    ricevo_desk::tokens::looks_like_token(token).then(|| link.to_string())
}

/// Where a dashboard's event stream is.
enum Step {
    /// The queue as it is now.
    First,
    /// The next change (or the periodic refresh).
    Next,
    /// The server said it is restarting: the stream ends.
    Done,
}

/// The changes of the offices one dashboard shows (its queue and its tabs' counts).
struct OfficeChanges {
    rx: tokio::sync::broadcast::Receiver<OfficeId>,
    covered: std::collections::HashSet<OfficeId>,
}

impl OfficeChanges {
    /// Waits for a change of one of the offices; false once the hub is gone. Missed changes
    /// (a slow dashboard) count as one.
    async fn next(&mut self) -> bool {
        loop {
            match self.rx.recv().await {
                Ok(office) if self.covered.contains(&office) => return true,
                Ok(_) => {}
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => return true,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return false,
            }
        }
    }
}

/// How long a dashboard waits before reconnecting after "restarting".
const RESTART_RETRY: Duration = Duration::from_secs(2);

/// `GET /{tenant}/staff/desk/{office}/events`: the queue and how many wait at each office the
/// account works, pushed whenever one of those offices changes (and every 20 seconds, so
/// waited minutes stay current).
async fn events(
    State(state): State<AppState>,
    staff: Staff,
    Path((_, office)): Path<(String, String)>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, PageError> {
    let office = office_of(&state, &staff, &office).await?;
    // The town's offices this account works (an administrator's grant covers every id).
    let covered =
        waiting_counts(&state, &staff).await.map_err(|e| staff.err(e))?.into_iter().map(|(o, _)| o.id).collect();
    let changes = OfficeChanges { rx: state.hub.watch_offices(), covered };
    let closing = state.hub.closing();
    let stream = stream::unfold(
        (state, staff, office, changes, closing, Step::First),
        |(state, staff, office, mut changes, mut closing, step)| async move {
            match step {
                Step::Done => return None,
                Step::First => {}
                Step::Next => {
                    tokio::select! {
                        open = changes.next() => {
                            if !open {
                                return None;
                            }
                        }
                        _ = tokio::time::sleep(Duration::from_secs(20)) => {}
                        () = super::hub::restarting(&mut closing) => {
                            // The server shuts down: the page reconnects (`retry`) to the next one.
                            let event = Event::default().event("restarting").retry(RESTART_RETRY).data("{}");
                            return Some((Ok(event), (state, staff, office, changes, closing, Step::Done)));
                        }
                    }
                }
            }
            let html = match queue_html(&state, &staff, &office).await {
                Ok(html) => html,
                Err(e) => {
                    tracing::warn!(error = %e, "dashboard refresh failed");
                    return None;
                }
            };
            let counts: serde_json::Map<String, serde_json::Value> = match waiting_counts(&state, &staff).await {
                Ok(c) => c.into_iter().map(|(o, n)| (o.id.0.to_string(), n.into())).collect(),
                Err(e) => {
                    tracing::warn!(error = %e, "dashboard refresh failed");
                    return None;
                }
            };
            let event =
                Event::default().event("queue").data(serde_json::json!({ "html": html, "counts": counts }).to_string());
            Some((Ok(event), (state, staff, office, changes, closing, Step::Next)))
        },
    );
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// The official joins a meeting with a fresh personal link of their own (direct entry).
async fn official_link(state: &AppState, staff: &Staff, meeting: &Granted<Meeting>) -> Result<String, ApiError> {
    let (_, url) = state
        .desk
        .invite(meeting, staff.user.name.clone(), EntryKind::Official, Abilities::official(), true)
        .await
        .in_lang(staff.lang)?;
    Ok(url.strip_prefix(&state.config.public_url).map(str::to_owned).unwrap_or(url))
}

async fn admit_and_join(state: &AppState, staff: &Staff, e: Granted<Entry>) -> Result<Response, PageError> {
    let (_, meeting) = state.desk.admit(e).await.in_lang(staff.lang).map_err(|e| staff.err(e))?;
    let m = meeting_of(state, staff, meeting).await?;
    let link = official_link(state, staff, &m).await.map_err(|e| staff.err(e))?;
    Ok(see_other(&link))
}

async fn meeting_of(state: &AppState, staff: &Staff, id: MeetingId) -> Result<Granted<Meeting>, PageError> {
    state.desk.meeting_for(&staff.tenant, &staff.grant(), id).await.in_lang(staff.lang).map_err(|e| staff.err(e))
}

/// `POST /{tenant}/staff/desk/{office}/call-next`: admits the next in line and opens the meeting.
async fn call_next(
    State(state): State<AppState>,
    Path((_, office)): Path<(String, String)>,
    Posted { staff, .. }: Posted,
) -> Result<Response, PageError> {
    let office = office_of(&state, &staff, &office).await?;
    let (_, meeting) = state
        .desk
        .call_next(&staff.tenant, &staff.grant(), office.id)
        .await
        .in_lang(staff.lang)
        .map_err(|e| staff.err(e))?;
    let m = meeting_of(&state, &staff, meeting).await?;
    let link = official_link(&state, &staff, &m).await.map_err(|e| staff.err(e))?;
    Ok(see_other(&link))
}

/// `POST /{tenant}/staff/waiting/{entry}/{admit|hold|refuse|no-show|transfer}`.
async fn act(
    State(state): State<AppState>,
    Path((_, entry, action)): Path<(String, String, String)>,
    Posted { staff, form }: Posted,
) -> Result<Response, PageError> {
    let lang = staff.lang;
    let id = EntryId(path_id(&entry, lang)?);
    let e = state.desk.entry_for(&staff.tenant, &staff.grant(), id).await.in_lang(lang).map_err(|e| staff.err(e))?;
    let back = format!("{}/desk/{}", staff.base(), e.office_id.0);
    let message = office_message(Some(form.get("message")), lang).in_lang(lang).map_err(|e| staff.err(e))?;
    match action.as_str() {
        "admit" => return admit_and_join(&state, &staff, e).await,
        "hold" => state.desk.hold(e, message).await,
        "refuse" => state.desk.refuse(e, message).await,
        "no-show" => state.desk.no_show(e).await,
        "transfer" => {
            let to = OfficeId(path_id(form.get("office_id"), lang)?);
            state.desk.transfer(e, to).await
        }
        _ => return Err(staff.not_found()),
    }
    .in_lang(lang)
    .map_err(|e| staff.err(e))?;
    Ok(see_other(&back))
}

/// `POST /{tenant}/staff/meetings/{meeting}/{join|invite|end}`.
async fn meeting_action(
    State(state): State<AppState>,
    Path((_, meeting, action)): Path<(String, String, String)>,
    Posted { staff, form }: Posted,
) -> Result<Response, PageError> {
    let lang = staff.lang;
    let m = meeting_of(&state, &staff, MeetingId(path_id(&meeting, lang)?)).await?;
    let back = format!("{}/desk/{}", staff.base(), m.office_id.0);
    if m.ended_at.is_some() {
        return Err(staff.err(ApiError::NotActive(lang)));
    }
    match action.as_str() {
        "join" => Ok(see_other(&official_link(&state, &staff, &m).await.map_err(|e| staff.err(e))?)),
        "end" => {
            state.desk.end_meeting(&m).await.in_lang(lang).map_err(|e| staff.err(e))?;
            Ok(see_other(&back))
        }
        "invite" => {
            let name = ricevo_core::text::PersonName::parse(form.get("name"))
                .map_err(|e| PageError::bad_request(lang, e.message(lang)))?;
            let (kind, abilities) = role_abilities(form.get("role"))
                .filter(|(k, _)| *k == EntryKind::Invitee)
                .ok_or_else(|| PageError::bad_request(lang, tr(lang, "ruolo non valido", "invalid role")))?;
            let direct = form.checked("direct");
            let (_, url) = state
                .desk
                .invite(&m, name.as_str().to_owned(), kind, abilities, direct)
                .await
                .in_lang(lang)
                .map_err(|e| staff.err(e))?;
            let encoded = crate::pages::layout::encode(&url);
            Ok(see_other(&format!("{back}?invited={encoded}")))
        }
        _ => Err(staff.not_found()),
    }
}

/// `POST /{tenant}/staff/desk/{office}/walk-in`: always open, or Monday to Friday in a range.
async fn set_walk_in(
    State(state): State<AppState>,
    Path((_, office)): Path<(String, String)>,
    Posted { staff, form }: Posted,
) -> Result<Response, PageError> {
    let lang = staff.lang;
    let office = office_of(&state, &staff, &office).await?;
    // The desk checks it again; refused before the form is read, as always.
    if !manages(&staff.grant(), &staff.tenant, office.id) {
        return Err(staff.forbidden());
    }
    let bad = || PageError::bad_request(lang, tr(lang, "orario non valido (HH:MM)", "invalid time (HH:MM)"));
    let parse = |s: &str| -> Result<Option<Time>, PageError> {
        let s = s.trim();
        if s.is_empty() {
            return Ok(None);
        }
        Time::strptime("%H:%M", s).map(Some).map_err(|_| bad())
    };
    let mut ranges = Vec::new();
    if let (Some(from), Some(to)) = (parse(form.get("from"))?, parse(form.get("to"))?) {
        for day in [Weekday::Monday, Weekday::Tuesday, Weekday::Wednesday, Weekday::Thursday, Weekday::Friday] {
            ranges.push(WeeklyRange::new(day, from, to).map_err(|_| bad())?);
        }
    }
    let hours = OpeningHours::new(ranges, 1).map_err(|_| bad())?;
    let desk = WalkInDesk { always_open: form.checked("always_open"), hours };
    state
        .desk
        .set_walk_in(&staff.tenant, &staff.grant(), office.id, &desk)
        .await
        .in_lang(lang)
        .map_err(|e| staff.err(e))?;
    tracing::info!(tenant = %staff.tenant.slug, user = %staff.user.id, office = %office.id, "walk-in desk set");
    Ok(see_other(&format!("{}/desk/{}", staff.base(), office.id.0)))
}

#[cfg(test)]
mod tests {
    use super::own_join_link;

    const TOKEN: &str = "abcdefghijABCDEFGHIJ0123456789-_abcdefghijk";

    #[test]
    fn only_join_links_of_our_own_origin_are_echoed_on_the_desk() {
        let public = "http://127.0.0.1:8080";
        let ours = format!("{public}/a/{TOKEN}/join");
        assert_eq!(own_join_link(public, &ours).as_deref(), Some(ours.as_str()));
        for hostile in [
            format!("http://127.0.0.1:8080.evil.example/a/{TOKEN}/join"),
            format!("http://127.0.0.1:8080@evil.example/a/{TOKEN}/join"),
            format!("http://127.0.0.1:8080:x@evil.example/a/{TOKEN}/join"),
            format!("http://user@127.0.0.1:8080/a/{TOKEN}/join"),
            format!("https://127.0.0.1:8080/a/{TOKEN}/join"),
            format!("http://127.0.0.1:8081/a/{TOKEN}/join"),
            format!("http://127.0.0.1.evil.example:8080/a/{TOKEN}/join"),
            format!("http://127.0.0.1:8080/a/{TOKEN}/join?next=http://evil.example"),
            format!("http://127.0.0.1:8080/a/{TOKEN}/join#x"),
            format!("http://127.0.0.1:8080/elsewhere/a/{TOKEN}/join"),
            "http://127.0.0.1:8080/a/not-a-token/join".to_owned(),
            "javascript:alert(1)//http://127.0.0.1:8080".to_owned(),
            "//127.0.0.1:8080/a/x/join".to_owned(),
        ] {
            assert_eq!(own_join_link(public, &hostile), None, "{hostile}");
        }
    }

    #[test]
    fn a_public_url_with_a_path_or_a_default_port_is_compared_parsed() {
        let public = "https://comune.example/ricevo/";
        let ours = format!("https://comune.example:443/ricevo/a/{TOKEN}/join");
        assert_eq!(own_join_link(public, &ours), Some(format!("https://comune.example/ricevo/a/{TOKEN}/join")));
        assert_eq!(own_join_link(public, &format!("https://comune.example/ricevox/a/{TOKEN}/join")), None);
        assert_eq!(own_join_link(public, &format!("https://comune.example/a/{TOKEN}/join")), None);
    }
}
