//! The WebSocket of one person's link (`/a/{token}/ws`): the waiting room's live state, the
//! admission, WebRTC signalling with the SFU, chat (kept with the case: a page that joins hears
//! the lines so far), and the official's controls and case sheet.
//!
//! The gate: nothing of a meeting reaches a socket whose entry has not been admitted — no
//! participant list, no chat, no documents, and no offer is passed to the SFU. The gate is the
//! stored entry, read again for every act in the meeting ([`Session::participant`]): a removal
//! or a cancellation written by anyone, on any node, closes it on this socket too.

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use jiff::Timestamp;
use ricevo_core::lobby::{Entry, EntryStatus, Punctuality};
use ricevo_core::{EntryId, Lang, MeetingId};
use ricevo_media::{MediaEvent, ParticipantId, Permissions, RoomId};
use ricevo_store::{Meeting, Tenant};
use serde_json::json;
use tokio::sync::mpsc;

use ricevo_desk::DeskError;
use ricevo_desk::meetings::Moderation;

use super::actions;
use super::hub::{Present, Push};
use super::ice;
use crate::state::AppState;

/// Largest message a browser may send (an SDP offer is a few kilobytes).
pub(crate) const MAX_MESSAGE_BYTES: usize = 64 * 1024;
/// Messages a socket may send per second on average, and in a burst.
const RATE_PER_SECOND: f64 = 20.0;
const BURST: f64 = 60.0;
/// Bad messages tolerated before the socket is closed.
const MAX_ERRORS: u32 = 10;

pub(crate) use ricevo_input::socket::FromBrowser;

/// Why the loop stops.
enum Stop {
    /// The browser went away or misbehaved.
    Closed,
    /// A newer connection of the same link took over.
    Superseded,
    /// The server shuts down: the browser is told to reconnect shortly.
    Restarting,
}

/// The WebSocket close code "Service Restart" (RFC 6455 registry): the page reconnects.
pub(crate) const CLOSE_RESTARTING: u16 = 1012;

/// One connection's state.
struct Session {
    state: AppState,
    tenant: Tenant,
    entry_id: EntryId,
    /// The link's token (to send the browser to another node).
    token: String,
    lang: Lang,
    /// The meeting this socket was told it is admitted to.
    meeting: Option<Meeting>,
    media_events: Option<mpsc::UnboundedReceiver<MediaEvent>>,
    in_media: bool,
    errors: u32,
    tokens: f64,
    last_refill: std::time::Instant,
    finished: bool,
    /// The office of the last state sent (a change means a transfer).
    office: Option<ricevo_core::OfficeId>,
}

/// Runs a socket until it closes.
pub(crate) async fn run(
    state: AppState,
    tenant: Tenant,
    arrived: Entry,
    token: String,
    lang: Lang,
    mut socket: WebSocket,
) {
    let entry = arrived.id;
    let mut closing = state.hub.closing();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let connection = state.hub.connect(entry, tx);
    // The office's dashboards show this page as open now.
    state.desk.office_changed(arrived.office_id);
    let mut s = Session {
        state: state.clone(),
        tenant,
        entry_id: entry,
        token,
        lang,
        meeting: None,
        media_events: None,
        in_media: false,
        errors: 0,
        tokens: BURST,
        last_refill: std::time::Instant::now(),
        finished: false,
        office: None,
    };
    // A change in the office's queue (someone ahead admitted, gone, transferred) updates the
    // position at once; the tick keeps the estimate current in between.
    let mut watched = arrived.office_id;
    let mut office_changes = state.hub.watch_office(watched);
    let mut tick = tokio::time::interval(Duration::from_secs(30));
    tick.tick().await;
    let stop = match s.refresh(&mut socket).await {
        Err(stop) => stop,
        Ok(()) => loop {
            let step = tokio::select! {
                incoming = socket.recv() => match incoming {
                    Some(Ok(Message::Text(text))) => s.on_text(text.as_str(), &mut socket).await,
                    Some(Ok(Message::Binary(_))) => s.complain(&mut socket, "i messaggi binari non sono accettati", "binary messages are not accepted").await,
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => Ok(()),
                    Some(Ok(Message::Close(_))) | Some(Err(_)) | None => Err(Stop::Closed),
                },
                push = rx.recv() => match push {
                    Some(Push::Refresh) => s.refresh(&mut socket).await,
                    Some(Push::Json(text)) => send_text(&mut socket, text).await,
                    Some(Push::Superseded) | None => Err(Stop::Superseded),
                },
                event = next_event(&mut s.media_events) => s.on_media(event, &mut socket).await,
                _ = tick.tick() => s.refresh_waiting(&mut socket).await,
                _ = office_changes.recv() => s.refresh_waiting(&mut socket).await,
                () = super::hub::restarting(&mut closing) => Err(Stop::Restarting),
            };
            if let Err(stop) = step {
                break stop;
            }
            if let Some(office) = s.office.filter(|o| *o != watched) {
                // Transferred: follow the new office's queue.
                watched = office;
                office_changes = state.hub.watch_office(office);
            }
            if s.finished {
                break Stop::Closed;
            }
        },
    };
    if matches!(stop, Stop::Restarting) {
        // The place is in the database: the page comes back to it on the next server.
        let _ = send_json(&mut socket, json!({"type": "restarting"})).await;
        let frame = CloseFrame { code: CLOSE_RESTARTING, reason: "server restarting".into() };
        let _ = socket.send(Message::Close(Some(frame))).await;
        return;
    }
    let _ = socket.send(Message::Close(None)).await;
    if matches!(stop, Stop::Closed) {
        // Only the current connection of a link cleans up: a reload's new socket keeps its media.
        let current = state.hub.disconnect(entry, connection);
        if current {
            s.left_media();
        }
    }
    state.desk.office_changed(office_of(&state, &s.tenant, entry).await);
}

async fn office_of(state: &AppState, tenant: &Tenant, entry: EntryId) -> ricevo_core::OfficeId {
    match state.store.entry(tenant.id, entry).await {
        Ok(Some(e)) => e.office_id,
        _ => ricevo_core::OfficeId(0),
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

async fn send_json(socket: &mut WebSocket, value: serde_json::Value) -> Result<(), Stop> {
    send_text(socket, value.to_string()).await
}

impl Session {
    fn now(&self) -> Timestamp {
        self.state.now()
    }

    async fn entry(&self) -> Result<Entry, Stop> {
        match self.state.store.entry(self.tenant.id, self.entry_id).await {
            Ok(Some(e)) => Ok(e),
            Ok(None) => Err(Stop::Closed),
            Err(e) => {
                tracing::warn!(error = %e, "waiting room could not read its entry");
                Err(Stop::Closed)
            }
        }
    }

    /// A bad message: an error back, and the socket closed after too many.
    async fn complain(&mut self, socket: &mut WebSocket, it: &str, en: &str) -> Result<(), Stop> {
        let message = if self.lang == Lang::It { it } else { en };
        self.errors += 1;
        send_json(socket, json!({"type": "error", "message": message})).await?;
        if self.errors > MAX_ERRORS { Err(Stop::Closed) } else { Ok(()) }
    }

    /// Token bucket: a flood closes the socket.
    fn allow(&mut self) -> bool {
        let now = std::time::Instant::now();
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

    /// Tells the browser where its entry stands now.
    async fn refresh(&mut self, socket: &mut WebSocket) -> Result<(), Stop> {
        let e = self.entry().await?;
        match e.status {
            EntryStatus::Waiting | EntryStatus::Held => self.send_state(&e, socket).await,
            EntryStatus::Admitted | EntryStatus::InMeeting | EntryStatus::Left if e.meeting_id.is_some() => {
                let meeting = self.state.desk.open_meeting_of(&e).await.map_err(|_| Stop::Closed)?;
                match meeting {
                    Some(m) => {
                        let elsewhere =
                            actions::elsewhere(&self.state, &m, &self.token).await.map_err(|_| Stop::Closed)?;
                        if let Some(url) = elsewhere {
                            // The meeting's media live on another node: the page goes there.
                            send_json(socket, json!({"type": "elsewhere", "url": url})).await?;
                            self.finished = true;
                            return Ok(());
                        }
                        if self.meeting.as_ref().map(|x| x.id) != Some(m.id) {
                            let abilities = e.abilities;
                            let ice = ice::servers(&self.state.config, e.id, self.now());
                            self.meeting = Some(m.clone());
                            let mut admitted = json!({"type": "admitted", "meeting_id": m.id.0, "ice_servers": ice, "abilities": abilities});
                            // The citizen's case goes to whoever may moderate, and to nobody else.
                            if abilities.moderate {
                                admitted["case"] = self.case_sheet(&e).await;
                            }
                            send_json(socket, admitted).await?;
                        }
                        Ok(())
                    }
                    None => self.ended(&e, socket).await,
                }
            }
            EntryStatus::Done | EntryStatus::Admitted | EntryStatus::InMeeting => self.ended(&e, socket).await,
            EntryStatus::Refused => {
                send_json(socket, json!({"type": "refused", "message": e.message})).await?;
                self.finished = true;
                Ok(())
            }
            EntryStatus::NoShow => {
                send_json(socket, json!({"type": "no_show"})).await?;
                self.finished = true;
                Ok(())
            }
            EntryStatus::Left => {
                send_json(socket, json!({"type": "ended", "url": null})).await?;
                self.finished = true;
                Ok(())
            }
            EntryStatus::Removed => {
                self.left_media();
                send_json(socket, json!({"type": "removed", "url": null})).await?;
                self.finished = true;
                Ok(())
            }
            EntryStatus::Cancelled => {
                self.left_media();
                send_json(socket, json!({"type": "cancelled"})).await?;
                self.finished = true;
                Ok(())
            }
        }
    }

    /// The stored entry if it may take part in meeting `m` now (see `Entry::may_join_media`);
    /// otherwise the browser is told where it stands instead (removed, ended, waiting) and
    /// `None` comes back.
    async fn participant(&mut self, m: &Meeting, socket: &mut WebSocket) -> Result<Option<Entry>, Stop> {
        let e = self.entry().await?;
        if e.may_join_media() && e.meeting_id == Some(m.id) {
            return Ok(Some(e));
        }
        self.refresh(socket).await?;
        if !self.finished {
            self.complain(socket, "non sei in un incontro", "not in a meeting").await?;
        }
        Ok(None)
    }

    async fn ended(&mut self, e: &Entry, socket: &mut WebSocket) -> Result<(), Stop> {
        self.left_media();
        // A citizen asked for feedback goes to the closing page that holds the form.
        let url = crate::feedback::after_meeting_url(&self.state, &self.tenant, e, &self.token, self.lang).await;
        send_json(socket, json!({"type": "ended", "url": url})).await?;
        self.finished = true;
        Ok(())
    }

    /// Every half minute a queued browser hears its updated estimate.
    async fn refresh_waiting(&mut self, socket: &mut WebSocket) -> Result<(), Stop> {
        if self.meeting.is_none() { self.refresh(socket).await } else { Ok(()) }
    }

    async fn send_state(&mut self, e: &Entry, socket: &mut WebSocket) -> Result<(), Stop> {
        let now = self.now();
        let (position, minutes) = self.state.desk.estimate(e).await.map_err(|_| Stop::Closed)?;
        let (early, late) = match e.booked_start.map(|b| ricevo_core::lobby::punctuality(b, now, 2)) {
            Some(Punctuality::Early { minutes }) => (Some(minutes), None),
            Some(Punctuality::Late { minutes }) => (None, Some(minutes)),
            _ => (None, None),
        };
        let office = match self.state.store.office(self.tenant.id, e.office_id).await {
            Ok(o) => o.map(|o| o.name).unwrap_or_default(),
            Err(_) => return Err(Stop::Closed),
        };
        // A transfer is said in words once, when this page sees the office change.
        let transferred = self.office.is_some_and(|before| before != e.office_id);
        let notice = transferred.then(|| match self.lang {
            Lang::It => format!("La tua attesa è stata spostata all'ufficio {office}: ti riceveranno da lì."),
            _ => format!("Your wait has moved to the office {office}: they will receive you from there."),
        });
        self.office = Some(e.office_id);
        send_json(
            socket,
            json!({
                "type": "state", "status": e.status.as_str(), "position": position,
                "estimate_minutes": minutes, "message": e.message,
                "early_minutes": early, "late_minutes": late, "office": office, "notice": notice,
            }),
        )
        .await
    }

    async fn on_text(&mut self, text: &str, socket: &mut WebSocket) -> Result<(), Stop> {
        if !self.allow() {
            let message = if self.lang == Lang::It { "troppi messaggi" } else { "too many messages" };
            let _ = send_json(socket, json!({"type": "error", "message": message})).await;
            return Err(Stop::Closed);
        }
        if text.len() > MAX_MESSAGE_BYTES {
            return self.complain(socket, "messaggio troppo grande", "message too large").await;
        }
        let msg: FromBrowser = match serde_json::from_str(text) {
            Ok(m) => m,
            Err(_) => return self.complain(socket, "messaggio non valido", "malformed message").await,
        };
        match msg {
            FromBrowser::Ping => send_json(socket, json!({"type": "pong"})).await,
            FromBrowser::Leave => self.leave(socket).await,
            FromBrowser::Offer { sdp } => self.offer(sdp, socket).await,
            FromBrowser::Answer { sdp } => {
                let Some(media) = self.media_if_joined() else {
                    return self.complain(socket, "non sei in un incontro", "not in a meeting").await;
                };
                if self.participant_now(socket).await?.is_none() {
                    return Ok(());
                }
                match media.answer(ParticipantId(self.entry_id.0), sdp).await {
                    Ok(()) => Ok(()),
                    Err(_) => self.complain(socket, "risposta rifiutata", "answer refused").await,
                }
            }
            FromBrowser::AudioOnly { on } => {
                let Some(media) = self.media_if_joined() else {
                    return self.complain(socket, "non sei in un incontro", "not in a meeting").await;
                };
                if self.participant_now(socket).await?.is_none() {
                    return Ok(());
                }
                media.set_audio_only(ParticipantId(self.entry_id.0), on);
                Ok(())
            }
            FromBrowser::Chat { text } => self.chat(&text, socket).await,
            FromBrowser::Mute { entry_id } => self.moderate(EntryId(entry_id), Moderation::Mute, socket).await,
            FromBrowser::Unmute { entry_id } => self.moderate(EntryId(entry_id), Moderation::Unmute, socket).await,
            FromBrowser::Remove { entry_id } => self.moderate(EntryId(entry_id), Moderation::Remove, socket).await,
            FromBrowser::Readmit { entry_id } => self.readmit(EntryId(entry_id), socket).await,
            FromBrowser::AskToSpeak => self.ask_to_speak(socket).await,
            FromBrowser::End => {
                let Some(m) = self.meeting.clone() else {
                    return self.complain(socket, "non sei in un incontro", "not in a meeting").await;
                };
                let Some(e) = self.participant(&m, socket).await? else { return Ok(()) };
                let ended = match self.state.desk.moderated_by(&e).await {
                    Ok(m) => self.state.desk.end_meeting(&m).await,
                    Err(DeskError::Forbidden) => {
                        return self
                            .complain(
                                socket,
                                "solo l'operatore può terminare l'incontro",
                                "only the official can end the meeting",
                            )
                            .await;
                    }
                    Err(err) => Err(err),
                };
                if let Err(err) = ended {
                    tracing::warn!(error = %err, "ending a meeting failed");
                    return self
                        .complain(
                            socket,
                            "non è stato possibile terminare l'incontro",
                            "the meeting could not be ended",
                        )
                        .await;
                }
                Ok(())
            }
        }
    }

    fn media_if_joined(&self) -> Option<ricevo_media::MediaServer> {
        if self.in_media { self.state.media.clone() } else { None }
    }

    /// [`Session::participant`] of the meeting this socket was admitted to.
    async fn participant_now(&mut self, socket: &mut WebSocket) -> Result<Option<Entry>, Stop> {
        let Some(m) = self.meeting.clone() else {
            self.complain(socket, "non sei in un incontro", "not in a meeting").await?;
            return Ok(None);
        };
        self.participant(&m, socket).await
    }

    /// The first offer of an admitted browser: into the SFU. The browser may send it as its
    /// first message (a page that knows it is admitted does not wait for `admitted`): the
    /// socket's `refresh` has read the entry before any message is read.
    ///
    /// The answer goes back before "in meeting" is recorded (an SQLite write with fsync): the
    /// status check runs first, and a record that then fails undoes the join.
    async fn offer(&mut self, sdp: String, socket: &mut WebSocket) -> Result<(), Stop> {
        let Some(meeting) = self.meeting.clone() else {
            return self.complain(socket, "non sei ancora stato ammesso", "not admitted").await;
        };
        let Some(media) = self.state.media.clone() else {
            return self
                .complain(
                    socket,
                    "il video non è disponibile su questo server",
                    "video is not available on this server",
                )
                .await;
        };
        // Every offer, the first or a renegotiation, passes the gate again.
        let Some(e) = self.participant(&meeting, socket).await? else { return Ok(()) };
        // What to record after the SFU answered (decided now, by the desk).
        let Ok(record) = self.state.desk.joining_media(&e) else {
            return self.complain(socket, "non sei ancora stato ammesso", "not admitted").await;
        };
        let permissions = Permissions {
            // A mute imposed by the official is part of the entry: a new offer does not lift it.
            send_audio: e.may_speak(),
            send_video: e.abilities.video,
            share_screen: e.abilities.share_screen,
        };
        let participant = ParticipantId(e.id.0);
        match media.join(RoomId(meeting.id.0), participant, sdp, permissions).await {
            Ok(joined) => {
                self.media_events = Some(joined.events);
                self.in_media = true;
                send_json(socket, json!({"type": "answer", "sdp": joined.answer_sdp})).await?;
            }
            Err(err) => {
                tracing::info!(error = %err, "the SFU refused an offer");
                return self
                    .complain(
                        socket,
                        "non è stato possibile avviare il collegamento video",
                        "the video connection could not be set up",
                    )
                    .await;
            }
        }
        if let Some(joined) = record
            && let Err(err) = self.state.desk.record_joined(&e, &joined).await
        {
            // Not recorded: the person is not in the meeting after all.
            media.leave(participant);
            self.in_media = false;
            self.media_events = None;
            if matches!(err, DeskError::Conflict) {
                // The entry changed meanwhile (removed, meeting ended): say where it stands.
                return self.refresh(socket).await;
            }
            tracing::warn!(error = %err, "could not record joining a meeting");
            return Err(Stop::Closed);
        }
        self.state.hub.enter(meeting.id, e.id, Present { name: e.name.clone(), kind: e.kind.as_str(), muted: e.muted });
        self.state.desk.office_changed(e.office_id);
        participants_changed(&self.state, meeting.id);
        // Documents shared and chat written before this person (re)joined.
        if let Ok(docs) = self.state.desk.documents(&meeting).await {
            for d in docs {
                send_json(socket, super::documents::announcement(&d)).await?;
            }
        }
        if let Ok(lines) = self.state.desk.chat_lines(&meeting).await {
            let zone = ricevo_desk::town::zone_of(&self.tenant);
            let lines: Vec<_> = lines.iter().map(|l| chat_json(l, &zone)).collect();
            send_json(socket, json!({"type": "chat_history", "lines": lines})).await?;
        }
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
                let name = self
                    .meeting
                    .as_ref()
                    .and_then(|m| self.state.hub.present(m.id).into_iter().find(|(id, _)| id.0 == from.0))
                    .map(|(_, p)| p.name)
                    .unwrap_or_default();
                send_json(
                    socket,
                    json!({"type": "track", "mid": mid, "entry_id": from.0, "name": name,
                           "kind": kind.as_str(), "source": source.as_str()}),
                )
                .await
            }
            MediaEvent::TrackEnded { mid } => send_json(socket, json!({"type": "track_ended", "mid": mid})).await,
            MediaEvent::Connected | MediaEvent::Disconnected => Ok(()),
        }
    }

    async fn chat(&mut self, text: &str, socket: &mut WebSocket) -> Result<(), Stop> {
        let Some(m) = self.meeting.clone().filter(|_| self.in_media) else {
            return self.complain(socket, "non sei in un incontro", "not in a meeting").await;
        };
        let Some(e) = self.participant(&m, socket).await? else { return Ok(()) };
        // Kept with the case before anyone sees it.
        let line = match self.state.desk.chat(&m, &e, text).await {
            Ok(line) => line,
            Err(DeskError::Invalid(_)) => {
                return self
                    .complain(
                        socket,
                        "i messaggi della chat sono una riga di al massimo 1000 caratteri",
                        "chat messages are one line of at most 1000 characters",
                    )
                    .await;
            }
            Err(err) => {
                tracing::warn!(error = %err, "a chat line could not be stored");
                return self.complain(socket, "messaggio non inviato", "message not sent").await;
            }
        };
        let mut out = chat_json(&line, &ricevo_desk::town::zone_of(&self.tenant));
        out["type"] = json!("chat");
        self.state.hub.broadcast(m.id, &out.to_string());
        Ok(())
    }

    /// The case sheet for the official's panel, as JSON (`null` when there is none or it
    /// cannot be read: the call goes on without it).
    async fn case_sheet(&self, official: &Entry) -> serde_json::Value {
        match self.state.desk.case_sheet(official).await {
            Ok(Some(c)) => {
                let zone = ricevo_desk::town::zone_of(&self.tenant);
                let when = c.booked_start.map(|t| crate::pages::when_text(self.lang, &t.to_zoned(zone)));
                json!({
                    "name": c.name, "service": c.service, "booked": when, "ticket": c.ticket_number,
                    "reference": c.reference, "notes": c.notes,
                    "answers": c.answers.iter().map(|(q, a)| json!([q, a])).collect::<Vec<_>>(),
                })
            }
            Ok(None) => serde_json::Value::Null,
            Err(err) => {
                tracing::warn!(error = %err, "the case sheet could not be read");
                serde_json::Value::Null
            }
        }
    }

    /// The official mutes, lets speak again or removes another participant of the meeting
    /// (decided and stored by the desk, see `Desk::moderate`), then the SFU and the live pages
    /// of this node follow.
    async fn moderate(&mut self, target: EntryId, what: Moderation, socket: &mut WebSocket) -> Result<(), Stop> {
        let Some(m) = self.meeting.clone() else {
            return self.complain(socket, "non sei in un incontro", "not in a meeting").await;
        };
        let Some(me) = self.participant(&m, socket).await? else { return Ok(()) };
        let other = match self.state.desk.moderate(&me, target, what).await {
            Ok(other) => other,
            Err(DeskError::Forbidden) => {
                return self.complain(socket, "solo l'operatore può farlo", "only the official can do this").await;
            }
            Err(DeskError::NotFound) => {
                return self
                    .complain(
                        socket,
                        "partecipante non presente in questo incontro",
                        "no such participant in this meeting",
                    )
                    .await;
            }
            Err(_) => return Err(Stop::Closed),
        };
        match what {
            Moderation::Mute | Moderation::Unmute => {
                if let Some(media) = &self.state.media {
                    media.set_muted(ParticipantId(other.id.0), other.muted);
                }
                self.state.hub.set_muted(m.id, other.id, other.muted);
                let note = if other.muted { "muted" } else { "unmuted" };
                self.state.hub.push(other.id, Push::Json(json!({"type": note}).to_string()));
            }
            Moderation::Remove => {
                // The desk took them out of the media and told their page; the list drops them.
                self.state.hub.exit(m.id, other.id);
                // The official's page lists them, to let them back in.
                let note = json!({"type": "removed_participant", "entry_id": other.id.0, "name": other.name});
                send_json(socket, note).await?;
            }
        }
        participants_changed(&self.state, m.id);
        Ok(())
    }

    /// The official lets someone they removed back into this meeting (the same admission as
    /// the dashboard's, see `Desk::readmit`); their link opens the meeting again.
    async fn readmit(&mut self, target: EntryId, socket: &mut WebSocket) -> Result<(), Stop> {
        let Some(m) = self.meeting.clone() else {
            return self.complain(socket, "non sei in un incontro", "not in a meeting").await;
        };
        let Some(me) = self.participant(&m, socket).await? else { return Ok(()) };
        match self.state.desk.readmit(&me, target).await {
            Ok(back) => send_json(socket, json!({"type": "readmitted", "entry_id": back.id.0})).await,
            Err(DeskError::Forbidden) => {
                self.complain(socket, "solo l'operatore può farlo", "only the official can do this").await
            }
            Err(DeskError::NotFound) => {
                self.complain(
                    socket,
                    "nessuna persona allontanata da questo incontro con questo numero",
                    "nobody removed from this meeting has this id",
                )
                .await
            }
            Err(_) => {
                self.complain(socket, "non è stato possibile riammetterlo", "they could not be admitted again").await
            }
        }
    }

    /// A participant muted by the official asks to speak: the meeting's pages show it to
    /// whoever may moderate.
    async fn ask_to_speak(&mut self, socket: &mut WebSocket) -> Result<(), Stop> {
        let Some(m) = self.meeting.clone() else {
            return self.complain(socket, "non sei in un incontro", "not in a meeting").await;
        };
        let Some(e) = self.participant(&m, socket).await? else { return Ok(()) };
        if !e.muted {
            return self.complain(socket, "puoi già parlare", "you may already speak").await;
        }
        let line = json!({"type": "asks_to_speak", "entry_id": e.id.0, "name": e.name}).to_string();
        self.state.hub.broadcast(m.id, &line);
        Ok(())
    }

    /// The person leaves the queue or the meeting on purpose.
    async fn leave(&mut self, socket: &mut WebSocket) -> Result<(), Stop> {
        let e = self.entry().await?;
        match self.state.desk.leave(&e).await {
            Ok(()) => {}
            Err(DeskError::Conflict) => return self.refresh(socket).await,
            Err(_) => return Err(Stop::Closed),
        }
        self.left_media();
        self.finished = true;
        Ok(())
    }

    /// Frees this person's media and presence (leaving, dropping, the meeting ending).
    fn left_media(&mut self) {
        if let Some(m) = &self.meeting {
            if self.in_media
                && let Some(media) = &self.state.media
            {
                media.leave(ParticipantId(self.entry_id.0));
            }
            self.state.hub.exit(m.id, self.entry_id);
            participants_changed(&self.state, m.id);
        }
        self.in_media = false;
        self.media_events = None;
    }
}

/// Sends the meeting's participant list to everyone in it.
pub(crate) fn participants_changed(state: &AppState, meeting: MeetingId) {
    let list: Vec<_> = state
        .hub
        .present(meeting)
        .into_iter()
        .map(|(id, p)| json!({"entry_id": id.0, "name": p.name, "kind": p.kind, "muted": p.muted}))
        .collect();
    state.hub.broadcast(meeting, &json!({"type": "participants", "list": list}).to_string());
}

/// A chat line as the pages receive it (alone as `chat`, or in a `chat_history`).
fn chat_json(line: &ricevo_store::ChatLine, zone: &jiff::tz::TimeZone) -> serde_json::Value {
    let at = ricevo_desk::town::rfc3339(&line.created_at.to_zoned(zone.clone()));
    json!({"id": line.id, "entry_id": line.entry_id.0, "from": line.name, "text": line.text, "at": at})
}
