//! The members' session room: `/{town}/consiglio/membro/{token}` is a member's page (no account:
//! the personal link is the key, and it opens its own session only), `.../ws` its live socket.
//!
//! The socket carries the session's commands (the core's `Command` as JSON, `{"do": ...}`;
//! the system's own commands are refused), pushes the session's snapshot to every member of the
//! session connected to this node after each change, records the page's presence
//! (connected, disconnected), and signals WebRTC with the SFU as the meeting room does
//! (`offer`, `answer`, `track`, `track_ended`), plus `view`: the tiles a page shows.
//!
//! The media follow the session: only the floor holder's and the chair's microphones are
//! forwarded; the public stream shows the floor holder (else the chair) and carries both voices.

use std::time::Instant;

use askama::Template;
use axum::Router;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use ricevo_core::Lang;
use ricevo_core::council::{Command, MemberId, Phase, Role, Snapshot};
use ricevo_desk::DeskError;
use ricevo_desk::council::CouncilSeat;
use ricevo_media::{MediaEvent, ParticipantId, Permissions, View};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::live::{Push, member_of, participant_id, room_id};
use crate::assets;
use crate::error::{ApiError, InLang};
use crate::pages::layout::{Ctx, Layout};
use crate::state::AppState;

/// Largest message a page may send (an SDP offer with simulcast is a few kilobytes).
pub(crate) const MAX_MESSAGE_BYTES: usize = 64 * 1024;
/// Largest frame read at all: bigger ones close the socket; those between this and
/// [`MAX_MESSAGE_BYTES`] get a refusal.
const MAX_FRAME_BYTES: usize = 4 * MAX_MESSAGE_BYTES;
/// Messages a socket may send per second on average, and in a burst.
const RATE_PER_SECOND: f64 = 20.0;
const BURST: f64 = 60.0;
/// Bad messages tolerated before the socket is closed.
const MAX_ERRORS: u32 = 20;
/// Most tiles one page may ask for.
const MAX_VIEW: usize = super::live::ROOM_CAPACITY;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/{town}/consiglio/membro/{token}", get(member_page))
        .route("/{town}/consiglio/membro/{token}/ws", get(socket_upgrade))
}

/// A member's page.
#[derive(Template)]
#[template(path = "council/room.html", whitespace = "minimize")]
struct MemberPage {
    l: Layout,
    t: &'static crate::pages::texts::Texts,
    x: &'static Texts,
    heading: String,
    name: String,
    role: &'static str,
    chair: bool,
    data: String,
}

/// The member whose link this is, in the town of the path: 404 for anything else (another
/// town's slug, an unknown or revoked token).
async fn seat(state: &AppState, town: &str, token: &str, lang: Lang) -> Result<CouncilSeat, ApiError> {
    let tenant = crate::request::tenant(state, town, lang).await?;
    state.desk.council_member(&tenant, token).await.in_lang(lang)
}

/// `GET /{town}/consiglio/membro/{token}`: the session room.
async fn member_page(State(state): State<AppState>, ctx: Ctx, Path((town, token)): Path<(String, String)>) -> Response {
    let run = async {
        let tenant = crate::request::tenant(&state, &town, ctx.lang).await?;
        ctx.in_town(&tenant);
        let seat = state.desk.council_member(&tenant, &token).await.in_lang(ctx.lang)?;
        let view = state.desk.council_session(&tenant, seat.session).await.in_lang(ctx.lang)?;
        let x = texts(ctx.lang);
        let chair = seat.role == Role::Chair;
        let heading = format!("{}: {}", view.summary.body_name, view.summary.title);
        let data = json!({
            "ws": format!("/{}/consiglio/membro/{token}/ws", tenant.slug),
            "member": seat.member.0,
            "chair": chair,
            "others": view.snapshot.members.len().saturating_sub(1),
            "ice_servers": crate::room::ice::servers(&state.config, ricevo_core::EntryId(-seat.member.0), state.now()),
            "texts": x,
        });
        let mut l = ctx.layout(format!("{heading} – {}", tenant.name), ctx.crumbs(Vec::new()), Some(&tenant), true);
        l.script = Some(assets::url("council.js"));
        l.extra_css = Some(assets::url("council.css"));
        let page = MemberPage {
            l,
            t: ctx.t,
            x,
            heading,
            name: seat.name.clone(),
            role: seat.role.label(ctx.lang),
            chair,
            data: script_json(&data),
        };
        let mut resp = ctx.page(StatusCode::OK, &page);
        // Camera and microphone in someone else's frame: never.
        if let Some(v) = crate::pages::layout::csp("'none'") {
            resp.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
        }
        Ok::<_, ApiError>(resp)
    };
    run.await.unwrap_or_else(|e| ctx.error(&e, None))
}

/// JSON for a `<script type="application/json">` block: `<` escaped so no `</script>` can end it.
fn script_json(value: &Value) -> String {
    value.to_string().replace('<', "\\u003c")
}

/// `GET /{town}/consiglio/membro/{token}/ws`: the member's live socket.
async fn socket_upgrade(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((town, token)): Path<(String, String)>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    let lang = ctx.lang;
    if !crate::room::same_origin(&headers) {
        return ApiError::Forbidden(lang).into_response();
    }
    match seat(&state, &town, &token, lang).await {
        Ok(seat) => upgrade
            .max_message_size(MAX_FRAME_BYTES)
            .max_frame_size(MAX_FRAME_BYTES)
            .on_upgrade(move |ws| run(state, seat, lang, ws)),
        Err(e) => e.into_response(),
    }
}

/// Why the loop stops.
enum Stop {
    /// The page went away or misbehaved.
    Closed,
    /// A newer socket of the same member took over.
    Superseded,
    /// The server shuts down: the page reconnects.
    Restarting,
}

/// One member's connection.
struct Conn {
    state: AppState,
    seat: CouncilSeat,
    lang: Lang,
    media_events: Option<mpsc::UnboundedReceiver<MediaEvent>>,
    in_media: bool,
    /// The last snapshot this socket saw (names for tracks, who may be large).
    snapshot: Option<Snapshot>,
    errors: u32,
    tokens: f64,
    last_refill: Instant,
}

/// Runs a member's socket until it closes.
async fn run(state: AppState, seat: CouncilSeat, lang: Lang, mut socket: WebSocket) {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let (tenant, session, member) = (seat.tenant, seat.session, seat.member);
    let connection = state.council.connect(tenant, session, member, tx);
    let mut closing = state.hub.closing();
    let mut c = Conn {
        state: state.clone(),
        seat,
        lang,
        media_events: None,
        in_media: false,
        snapshot: None,
        errors: 0,
        tokens: BURST,
        last_refill: Instant::now(),
    };
    let first = match state.desk.council_presence(&c.seat, true).await {
        Ok(snapshot) => c.changed(snapshot, &mut socket).await,
        Err(e) => c.refused(e, &mut socket).await.and(Err(Stop::Closed)),
    };
    let stop = match first {
        Err(stop) => stop,
        Ok(()) => loop {
            let step = tokio::select! {
                incoming = socket.recv() => match incoming {
                    Some(Ok(Message::Text(text))) => c.on_text(text.as_str(), &mut socket).await,
                    Some(Ok(Message::Binary(_))) => c.complain(&mut socket, "i messaggi binari non sono accettati", "binary messages are not accepted").await,
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => Ok(()),
                    Some(Ok(Message::Close(_))) | Some(Err(_)) | None => Err(Stop::Closed),
                },
                push = rx.recv() => match push {
                    Some(Push::Json(text)) => c.on_snapshot_text(text, &mut socket).await,
                    Some(Push::Superseded) | None => Err(Stop::Superseded),
                },
                event = next_event(&mut c.media_events) => c.on_media(event, &mut socket).await,
                () = crate::room::hub::restarting(&mut closing) => Err(Stop::Restarting),
            };
            if let Err(stop) = step {
                break stop;
            }
        },
    };
    if matches!(stop, Stop::Restarting) {
        let _ = send_json(&mut socket, json!({"type": "restarting"})).await;
        let frame = CloseFrame { code: crate::room::socket::CLOSE_RESTARTING, reason: "server restarting".into() };
        let _ = socket.send(Message::Close(Some(frame))).await;
    } else {
        let _ = socket.send(Message::Close(None)).await;
    }
    // Only the member's current socket leaves: a reload's new socket keeps the media and the
    // presence.
    if state.council.disconnect(tenant, session, member, connection) {
        if c.in_media
            && let Some(media) = &state.media
        {
            media.leave(participant_id(member));
        }
        match state.desk.council_presence(&c.seat, false).await {
            Ok(snapshot) => broadcast(&state, &c.seat, &snapshot),
            Err(e) => tracing::info!(error = %e, "a council member's disconnection was not recorded"),
        }
    }
}

async fn next_event(rx: &mut Option<mpsc::UnboundedReceiver<MediaEvent>>) -> Option<MediaEvent> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

async fn send_text(socket: &mut WebSocket, text: String) -> Result<(), Stop> {
    socket.send(Message::Text(text.into())).await.map_err(|_| Stop::Closed)
}

async fn send_json(socket: &mut WebSocket, value: Value) -> Result<(), Stop> {
    send_text(socket, value.to_string()).await
}

/// The message every member's page receives after a change.
fn snapshot_message(state: &AppState, snapshot: &Snapshot) -> String {
    let now = ricevo_desk::town::rfc3339(&state.now().to_zoned(jiff::tz::TimeZone::UTC));
    json!({"type": "snapshot", "now": now, "snapshot": snapshot}).to_string()
}

/// Sends the snapshot to every member of its session connected to this node (this socket
/// included), and makes the media follow it.
fn broadcast(state: &AppState, seat: &CouncilSeat, snapshot: &Snapshot) {
    let text = snapshot_message(state, snapshot);
    state.council.broadcast(seat.tenant, seat.session, &Push::Json(text));
    follow(state, seat, snapshot);
}

/// The media follow the session: the floor holder's and the chair's microphones are forwarded,
/// nobody else's; the stream shows the floor holder (else the chair) and carries both voices.
/// A closed session's live parts end.
fn follow(state: &AppState, seat: &CouncilSeat, snapshot: &Snapshot) {
    if snapshot.state == Phase::Closed {
        state.council.stop(state.media.as_ref(), seat.tenant, seat.session);
        return;
    }
    let Some(media) = &state.media else { return };
    let speaker = snapshot.floor.as_ref().map(|f| f.member);
    let voices: Vec<MemberId> = speaker.into_iter().chain(snapshot.chair).collect();
    for m in &snapshot.members {
        media.set_muted(participant_id(m.id), !voices.contains(&m.id));
    }
    let mut audio: Vec<ParticipantId> = voices.iter().map(|m| participant_id(*m)).collect();
    audio.dedup();
    media.set_stream_sources(room_id(seat.session), speaker.or(snapshot.chair).map(participant_id), audio);
}

impl Conn {
    /// A bad message: a refusal back in the page's language, and the socket closed after too
    /// many.
    async fn complain(&mut self, socket: &mut WebSocket, it: &str, en: &str) -> Result<(), Stop> {
        let message = if self.lang == Lang::It { it } else { en };
        self.errors += 1;
        send_json(socket, json!({"type": "error", "message": message})).await?;
        if self.errors > MAX_ERRORS { Err(Stop::Closed) } else { Ok(()) }
    }

    /// The desk refused: its message, in the page's language.
    async fn refused(&mut self, e: DeskError, socket: &mut WebSocket) -> Result<(), Stop> {
        let message = match e {
            // The session's rules said no: their own words.
            DeskError::Council(refusal) => refusal.message(self.lang).to_owned(),
            e => {
                let e = ApiError::from_desk(self.lang, e);
                if matches!(e, ApiError::Unavailable(_) | ApiError::Internal(_)) {
                    tracing::warn!(error = %e, "a council command failed");
                }
                e.message()
            }
        };
        self.errors += 1;
        send_json(socket, json!({"type": "error", "message": message})).await?;
        if self.errors > MAX_ERRORS { Err(Stop::Closed) } else { Ok(()) }
    }

    /// Token bucket: a flood closes the socket.
    fn allow(&mut self) -> bool {
        let now = Instant::now();
        let elapsed = now.duration_since(self.last_refill).as_secs_f64();
        self.last_refill = now;
        self.tokens = (self.tokens + elapsed * RATE_PER_SECOND).min(BURST);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// This socket's own change went through: everyone hears of it, the media room is opened,
    /// and a session that is open gets its public stream on this node.
    async fn changed(&mut self, snapshot: Snapshot, _socket: &mut WebSocket) -> Result<(), Stop> {
        self.state.council.open_room(self.state.media.as_ref(), self.seat.tenant, self.seat.session);
        if snapshot.state == Phase::Open {
            let recording = super::recordings::recording_for(&self.state, &self.seat);
            if let Err(e) =
                self.state.council.start(self.state.media.as_ref(), recording, self.seat.tenant, self.seat.session)
            {
                tracing::warn!(error = %e, "a council session's stream could not start");
            }
        }
        broadcast(&self.state, &self.seat, &snapshot);
        Ok(())
    }

    /// A snapshot pushed to this socket (by its own change or another member's).
    async fn on_snapshot_text(&mut self, text: String, socket: &mut WebSocket) -> Result<(), Stop> {
        if let Ok(v) = serde_json::from_str::<Value>(&text)
            && let Ok(s) = serde_json::from_value::<Snapshot>(v["snapshot"].clone())
        {
            let closed = s.state == Phase::Closed;
            self.snapshot = Some(s);
            send_text(socket, text).await?;
            if closed {
                send_json(socket, json!({"type": "closed"})).await?;
            }
            return Ok(());
        }
        send_text(socket, text).await
    }

    async fn on_text(&mut self, text: &str, socket: &mut WebSocket) -> Result<(), Stop> {
        if !self.allow() {
            let _ = self.complain(socket, "troppi messaggi", "too many messages").await;
            return Err(Stop::Closed);
        }
        if text.len() > MAX_MESSAGE_BYTES {
            return self.complain(socket, "messaggio troppo lungo", "message too long").await;
        }
        let Ok(value) = serde_json::from_str::<Value>(text) else {
            return self.complain(socket, "il messaggio non è JSON valido", "the message is not valid JSON").await;
        };
        if value.get("do").is_some() {
            return self.command(value, socket).await;
        }
        match value.get("type").and_then(Value::as_str) {
            Some("offer") => match value.get("sdp").and_then(Value::as_str) {
                Some(sdp) => self.offer(sdp.to_owned(), socket).await,
                None => self.complain(socket, "offerta senza SDP", "offer without SDP").await,
            },
            Some("answer") => match value.get("sdp").and_then(Value::as_str) {
                Some(sdp) => self.answer(sdp.to_owned(), socket).await,
                None => self.complain(socket, "risposta senza SDP", "answer without SDP").await,
            },
            Some("view") => self.view(&value, socket).await,
            Some("ping") => Ok(()),
            _ => self.complain(socket, "messaggio sconosciuto", "unknown message").await,
        }
    }

    /// A command of the session: decided and stored by the desk, then pushed to everyone.
    async fn command(&mut self, value: Value, socket: &mut WebSocket) -> Result<(), Stop> {
        let command: Command = match serde_json::from_value(value) {
            Ok(c) => c,
            Err(_) => {
                return self
                    .complain(socket, "comando sconosciuto o incompleto", "unknown or incomplete command")
                    .await;
            }
        };
        if command.is_system() {
            return self
                .complain(
                    socket,
                    "questo comando non può essere inviato da una pagina",
                    "this command cannot be sent from a page",
                )
                .await;
        }
        if command.is_chair_only() && self.seat.role != Role::Chair {
            return self.complain(socket, "solo il presidente può farlo", "only the chair can do this").await;
        }
        match self.state.desk.council_act(&self.seat, command).await {
            Ok(snapshot) => self.changed(snapshot, socket).await,
            Err(e) => self.refused(e, socket).await,
        }
    }

    /// The page's offer: into the session's media room.
    async fn offer(&mut self, sdp: String, socket: &mut WebSocket) -> Result<(), Stop> {
        let Some(media) = self.state.media.clone() else {
            return self
                .complain(
                    socket,
                    "il video non è disponibile su questo server",
                    "video is not available on this server",
                )
                .await;
        };
        let Some(snapshot) = self.snapshot.clone() else {
            return self.complain(socket, "sessione non ancora pronta", "session not ready yet").await;
        };
        if snapshot.state == Phase::Closed {
            return self.complain(socket, "la seduta è chiusa", "the session is closed").await;
        }
        // The room's options (capacity, codecs) are set before anyone's media joins.
        self.state.council.open_room(Some(&media), self.seat.tenant, self.seat.session);
        let me = participant_id(self.seat.member);
        let permissions = Permissions { send_audio: true, send_video: true, share_screen: false };
        match media.join(room_id(self.seat.session), me, sdp, permissions).await {
            Ok(joined) => {
                self.media_events = Some(joined.events);
                self.in_media = true;
                send_json(socket, json!({"type": "answer", "sdp": joined.answer_sdp})).await?;
                // The microphone is open only with the floor, or for the chair.
                follow(&self.state, &self.seat, &snapshot);
                Ok(())
            }
            Err(err) => {
                tracing::info!(error = %err, "the SFU refused a council member's offer");
                self.complain(
                    socket,
                    "non è stato possibile avviare il collegamento video",
                    "the video connection could not be set up",
                )
                .await
            }
        }
    }

    async fn answer(&mut self, sdp: String, socket: &mut WebSocket) -> Result<(), Stop> {
        let Some(media) = self.state.media.clone().filter(|_| self.in_media) else {
            return self.complain(socket, "nessun collegamento video", "no video connection").await;
        };
        if let Err(err) = media.answer(participant_id(self.seat.member), sdp).await {
            tracing::info!(error = %err, "a council member's answer was refused");
            return self.complain(socket, "risposta non valida", "invalid answer").await;
        }
        Ok(())
    }

    /// The tiles the page shows: `large` and `small` lists of member ids of this session.
    async fn view(&mut self, value: &Value, socket: &mut WebSocket) -> Result<(), Stop> {
        let members: Vec<MemberId> =
            self.snapshot.as_ref().map(|s| s.members.iter().map(|m| m.id).collect()).unwrap_or_default();
        let ids = |key: &str| -> Option<Vec<ParticipantId>> {
            let list = value.get(key)?.as_array()?;
            if list.len() > MAX_VIEW {
                return None;
            }
            let mut out = Vec::new();
            for v in list {
                let id = MemberId(v.as_i64()?);
                // Only members of this session, never oneself.
                if members.contains(&id) && id != self.seat.member {
                    let p = participant_id(id);
                    if !out.contains(&p) {
                        out.push(p);
                    }
                }
            }
            Some(out)
        };
        let (Some(large), Some(small)) = (ids("large"), ids("small")) else {
            return self
                .complain(socket, "vista non valida: liste di membri attese", "invalid view: lists of members expected")
                .await;
        };
        let small = small.into_iter().filter(|p| !large.contains(p)).collect();
        // Before the media are up there is nothing to choose yet; the page sends its view
        // again with each change.
        let Some(media) = self.state.media.clone().filter(|_| self.in_media) else { return Ok(()) };
        media.set_view(participant_id(self.seat.member), View { large, small });
        Ok(())
    }

    async fn on_media(&mut self, event: Option<MediaEvent>, socket: &mut WebSocket) -> Result<(), Stop> {
        let Some(event) = event else {
            self.media_events = None;
            self.in_media = false;
            return Ok(());
        };
        match event {
            MediaEvent::Offer { sdp } => send_json(socket, json!({"type": "offer", "sdp": sdp})).await,
            MediaEvent::Track { mid, from, kind, source } => {
                let member = member_of(from);
                let name = self
                    .snapshot
                    .as_ref()
                    .and_then(|s| s.members.iter().find(|m| m.id == member))
                    .map(|m| m.name.clone())
                    .unwrap_or_default();
                send_json(
                    socket,
                    json!({"type": "track", "mid": mid, "member": member.0, "name": name,
                           "kind": kind.as_str(), "source": source.as_str()}),
                )
                .await
            }
            MediaEvent::TrackEnded { mid } => send_json(socket, json!({"type": "track_ended", "mid": mid})).await,
            MediaEvent::Connected | MediaEvent::Disconnected => Ok(()),
        }
    }
}

/// Every word of the member's page, in one language (the page shows some and hands all of
/// them to `council.js`).
#[derive(Debug, serde::Serialize)]
pub(crate) struct Texts {
    js_needed: &'static str,
    you_are: &'static str,
    you_chair: &'static str,
    you: &'static str,
    video: &'static str,
    nobody_yet: &'static str,
    others: &'static str,
    camera_on: &'static str,
    camera_off: &'static str,
    floor: &'static str,
    request_floor: &'static str,
    withdraw_request: &'static str,
    take_floor: &'static str,
    give_floor: &'static str,
    queue: &'static str,
    queue_empty: &'static str,
    speaking_now: &'static str,
    nobody_speaks: &'static str,
    speech_elapsed: &'static str,
    speech_left: &'static str,
    speech_over: &'static str,
    mic_open_floor: &'static str,
    mic_open_chair: &'static str,
    mic_closed: &'static str,
    vote: &'static str,
    no_vote: &'static str,
    vote_on: &'static str,
    in_favour: &'static str,
    against: &'static str,
    abstain: &'static str,
    choice_favorevole: &'static str,
    choice_contrario: &'static str,
    choice_astenuto: &'static str,
    you_voted: &'static str,
    you_voted_plain: &'static str,
    you_cannot_vote: &'static str,
    votes_cast: &'static str,
    result_of: &'static str,
    result_line: &'static str,
    not_voting: &'static str,
    outcome_approved: &'static str,
    outcome_rejected: &'static str,
    agenda: &'static str,
    under_discussion: &'static str,
    roll: &'static str,
    member: &'static str,
    role: &'static str,
    presence: &'static str,
    actions: &'static str,
    present: &'static str,
    absent: &'static str,
    offline: &'static str,
    mark_present: &'static str,
    mark_absent: &'static str,
    quorum_reached: &'static str,
    quorum_missing: &'static str,
    role_chair: &'static str,
    role_mayor: &'static str,
    role_councillor: &'static str,
    role_assessor: &'static str,
    role_secretary: &'static str,
    role_invited: &'static str,
    phase_scheduled: &'static str,
    phase_open: &'static str,
    phase_closed: &'static str,
    chair_controls: &'static str,
    open: &'static str,
    call_roll: &'static str,
    prev_item: &'static str,
    next_item: &'static str,
    open_vote: &'static str,
    close_vote: &'static str,
    close: &'static str,
    close_confirm: &'static str,
    reconnecting: &'static str,
    media_failed: &'static str,
    devices_denied: &'static str,
}

const IT: Texts = Texts {
    js_needed: "Questa pagina ha bisogno di JavaScript per la seduta in video.",
    you_are: "Partecipi come",
    you_chair: "presiedi la seduta",
    you: "tu",
    video: "Video della seduta",
    nobody_yet: "Nessun altro è ancora collegato.",
    others: "Gli altri partecipanti",
    camera_on: "Telecamera accesa",
    camera_off: "Telecamera spenta",
    floor: "La parola",
    request_floor: "Chiedi la parola",
    withdraw_request: "Rinuncia a parlare",
    take_floor: "Togli la parola",
    give_floor: "Dai la parola",
    queue: "Chi ha chiesto la parola",
    queue_empty: "Nessuno ha chiesto la parola.",
    speaking_now: "Ha la parola:",
    nobody_speaks: "Nessuno ha la parola.",
    speech_elapsed: "Intervento: {time}",
    speech_left: "restano {time}",
    speech_over: "tempo superato di {time}",
    mic_open_floor: "Hai la parola: il tuo microfono è aperto.",
    mic_open_chair: "Presiedi: il tuo microfono è sempre aperto.",
    mic_closed: "Il tuo microfono si apre quando il presidente ti dà la parola.",
    vote: "Votazione",
    no_vote: "Nessuna votazione aperta.",
    vote_on: "Votazione aperta sul punto {item}",
    in_favour: "Favorevole",
    against: "Contrario",
    abstain: "Astenuto",
    choice_favorevole: "favorevole",
    choice_contrario: "contrario",
    choice_astenuto: "astenuto",
    you_voted: "Hai votato: {choice}.",
    you_voted_plain: "Hai votato.",
    you_cannot_vote: "Non puoi votare in questa votazione.",
    votes_cast: "Voti espressi: {n} su {of} presenti.",
    result_of: "Esito del punto {item}",
    result_line: "Favorevoli {yes}, contrari {no}, astenuti {abstained}",
    not_voting: "Non votanti: {names}",
    outcome_approved: "approvato",
    outcome_rejected: "respinto",
    agenda: "Ordine del giorno",
    under_discussion: "in discussione",
    roll: "Appello",
    member: "Componente",
    role: "Ruolo",
    presence: "Presenza",
    actions: "Azioni",
    present: "presente",
    absent: "assente",
    offline: "non collegato",
    mark_present: "Segna presente",
    mark_absent: "Segna assente",
    quorum_reached: "Numero legale raggiunto: {present} presenti, ne servono {needed} (su {members} votanti).",
    quorum_missing: "Numero legale non raggiunto: {present} presenti, ne servono {needed} (su {members} votanti).",
    role_chair: "Presidente",
    role_mayor: "Sindaco",
    role_councillor: "Consigliere",
    role_assessor: "Assessore",
    role_secretary: "Segretario",
    role_invited: "Invitato",
    phase_scheduled: "La seduta non è ancora aperta.",
    phase_open: "La seduta è aperta.",
    phase_closed: "La seduta è chiusa.",
    chair_controls: "Comandi del presidente",
    open: "Apri la seduta",
    call_roll: "Fai l'appello",
    prev_item: "Punto precedente",
    next_item: "Punto successivo",
    open_vote: "Apri la votazione",
    close_vote: "Chiudi la votazione",
    close: "Chiudi la seduta",
    close_confirm: "Chiudere la seduta per tutti?",
    reconnecting: "Connessione persa, riconnessione…",
    media_failed: "Il collegamento video si è interrotto: nuovo tentativo…",
    devices_denied: "Telecamera e microfono non disponibili: segui la seduta senza.",
};

const EN: Texts = Texts {
    js_needed: "This page needs JavaScript for the video session.",
    you_are: "You take part as",
    you_chair: "you chair the session",
    you: "you",
    video: "Video of the session",
    nobody_yet: "Nobody else is connected yet.",
    others: "The other participants",
    camera_on: "Camera on",
    camera_off: "Camera off",
    floor: "The floor",
    request_floor: "Ask for the floor",
    withdraw_request: "Withdraw the request",
    take_floor: "Take the floor back",
    give_floor: "Give the floor",
    queue: "Who asked for the floor",
    queue_empty: "Nobody asked for the floor.",
    speaking_now: "Has the floor:",
    nobody_speaks: "Nobody has the floor.",
    speech_elapsed: "Speech: {time}",
    speech_left: "{time} left",
    speech_over: "over time by {time}",
    mic_open_floor: "You have the floor: your microphone is open.",
    mic_open_chair: "You chair: your microphone is always open.",
    mic_closed: "Your microphone opens when the chair gives you the floor.",
    vote: "Vote",
    no_vote: "No vote is open.",
    vote_on: "Vote open on item {item}",
    in_favour: "In favour",
    against: "Against",
    abstain: "Abstain",
    choice_favorevole: "in favour",
    choice_contrario: "against",
    choice_astenuto: "abstain",
    you_voted: "You voted: {choice}.",
    you_voted_plain: "You voted.",
    you_cannot_vote: "You cannot vote in this vote.",
    votes_cast: "Votes cast: {n} of {of} present.",
    result_of: "Result on item {item}",
    result_line: "In favour {yes}, against {no}, abstaining {abstained}",
    not_voting: "Not voting: {names}",
    outcome_approved: "approved",
    outcome_rejected: "rejected",
    agenda: "Agenda",
    under_discussion: "under discussion",
    roll: "Roll call",
    member: "Member",
    role: "Role",
    presence: "Presence",
    actions: "Actions",
    present: "present",
    absent: "absent",
    offline: "not connected",
    mark_present: "Mark present",
    mark_absent: "Mark absent",
    quorum_reached: "Quorum reached: {present} present, {needed} needed (of {members} voting members).",
    quorum_missing: "No quorum: {present} present, {needed} needed (of {members} voting members).",
    role_chair: "Chair",
    role_mayor: "Mayor",
    role_councillor: "Councillor",
    role_assessor: "Assessor",
    role_secretary: "Secretary",
    role_invited: "Invited",
    phase_scheduled: "The session is not open yet.",
    phase_open: "The session is open.",
    phase_closed: "The session is closed.",
    chair_controls: "The chair's controls",
    open: "Open the session",
    call_roll: "Call the roll",
    prev_item: "Previous item",
    next_item: "Next item",
    open_vote: "Open the vote",
    close_vote: "Close the vote",
    close: "Close the session",
    close_confirm: "Close the session for everyone?",
    reconnecting: "Connection lost, reconnecting…",
    media_failed: "The video connection dropped: trying again…",
    devices_denied: "Camera and microphone unavailable: follow the session without them.",
};

/// The member's page's words in `lang`.
pub(crate) fn texts(lang: Lang) -> &'static Texts {
    match lang {
        Lang::It => &IT,
        Lang::En => &EN,
    }
}
