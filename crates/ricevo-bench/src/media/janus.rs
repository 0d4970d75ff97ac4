//! The Janus adapter of `ricevo-bench media`: the same participants (str0m clients, the same
//! media and counters) in rooms of Janus's VideoRoom plugin, signalling over Janus's JSON API on
//! a WebSocket (subprotocol `janus-protocol`).
//!
//! Per meeting the bench creates a room (`create`, as many publishers as participants, no
//! bitrate cap, Opus and VP8). Per participant: one WebSocket and one Janus session with two
//! handles on `janus.plugin.videoroom`, since Janus uses a PeerConnection to publish and another
//! to subscribe (its design; Ricevo uses one per participant), so a Janus participant is two
//! str0m `Rtc`s on two UDP sockets:
//!
//! - the publisher: `joinandconfigure` with str0m's offer (sendonly audio and video, candidates
//!   in the SDP, `"trickle": false`), Janus's answer applied; str0m is the controlling ICE agent;
//! - once the publisher's connection is up (Janus accepts subscriptions only to publishers whose
//!   media is up) and the others in the meeting have published, the subscriber: a multistream
//!   `join` with `"streams": [{"feed": id}, ...]` for every other publisher, Janus's offer
//!   answered by str0m (controlled ICE agent), the answer sent with `start`.
//!
//! Keepalives go every 20 s (Janus's session timeout is 60 s); candidates Janus trickles are
//! passed to the `Rtc` they belong to. Publisher ids are shared between participants through
//! the bench (a real client would learn them from Janus's `publishers` events).

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::{Value, json};
use str0m::Candidate;
use str0m::change::{SdpAnswer, SdpOffer};
use str0m::media::{Direction, MediaKind, Mid};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use super::{Client, Control, Counters, WsSink, client_socket, new_rtc, send_json};

/// Well inside Janus's default session timeout (60 s).
const KEEPALIVE: Duration = Duration::from_secs(20);
/// Longest wait for one reply of Janus's.
const REPLY_TIMEOUT: Duration = Duration::from_secs(30);
/// VideoRoom's error code for a feed that does not exist (yet).
const NO_SUCH_FEED: i64 = 428;

/// What went wrong in a reply of Janus's, if anything: a Janus API error
/// (`{"janus":"error","error":{"code":..,"reason":..}}`) or a VideoRoom error
/// (`plugindata.data.error_code` and `error`), as "code: reason".
fn janus_error(reply: &Value) -> Option<(i64, String)> {
    if reply["janus"] == "error" {
        let e = &reply["error"];
        return Some((e["code"].as_i64().unwrap_or(0), e["reason"].as_str().unwrap_or("unknown").to_owned()));
    }
    let data = &reply["plugindata"]["data"];
    data["error_code"].as_i64().map(|code| (code, data["error"].as_str().unwrap_or("unknown").to_owned()))
}

/// The SDP of a reply's `jsep` if it is of type `kind` ("offer" or "answer").
fn jsep_sdp<'a>(reply: &'a Value, kind: &str) -> Option<&'a str> {
    let jsep = &reply["jsep"];
    (jsep["type"] == kind).then(|| jsep["sdp"].as_str()).flatten()
}

/// A candidate Janus trickles: the handle it belongs to and the candidate, `None` for the end
/// of candidates (`{"completed": true}`).
fn trickled(message: &Value) -> Option<(u64, Option<String>)> {
    if message["janus"] != "trickle" {
        return None;
    }
    let sender = message["sender"].as_u64()?;
    let candidate = &message["candidate"];
    if candidate["completed"] == true {
        return Some((sender, None));
    }
    Some((sender, Some(candidate["candidate"].as_str()?.to_owned())))
}

fn jsep(kind: &str, sdp: &str) -> Value {
    // Every candidate is in the SDP (str0m has only its host candidate).
    json!({"type": kind, "sdp": sdp, "trickle": false})
}

/// One Janus API connection over WebSocket with one session.
struct Conn {
    sink: WsSink,
    incoming: UnboundedReceiver<Result<Value, String>>,
    reader: tokio::task::JoinHandle<()>,
    session: u64,
    transactions: u64,
    /// Messages that came while waiting for a reply (events, trickles), for later.
    held: VecDeque<Value>,
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

impl Conn {
    /// Connects and creates a session.
    async fn open(url: &str) -> Result<Conn, String> {
        let mut request = url.into_client_request().map_err(|e| format!("janus url: {e}"))?;
        request.headers_mut().insert("sec-websocket-protocol", HeaderValue::from_static("janus-protocol"));
        let (ws, _) = tokio_tungstenite::connect_async(request).await.map_err(|e| format!("janus websocket: {e}"))?;
        // Read by its own task, like the Ricevo path (see `participant`).
        let (sink, mut read) = ws.split();
        let (tx, incoming) = unbounded_channel();
        let reader = tokio::spawn(async move {
            while let Some(message) = read.next().await {
                let parsed = match message {
                    Ok(Message::Text(text)) => {
                        serde_json::from_str(text.as_str()).map_err(|e| format!("janus sent bad JSON: {e}"))
                    }
                    Ok(Message::Close(_)) => Err("janus closed the websocket".to_owned()),
                    Ok(_) => continue,
                    Err(e) => Err(format!("janus websocket: {e}")),
                };
                let end = parsed.is_err();
                if tx.send(parsed).is_err() || end {
                    break;
                }
            }
        });
        let mut conn = Conn { sink, incoming, reader, session: 0, transactions: 0, held: VecDeque::new() };
        let created = conn.call(json!({"janus": "create"})).await?;
        conn.session = created["data"]["id"].as_u64().ok_or("janus: no session id")?;
        Ok(conn)
    }

    /// Sends a request (with a new transaction and the session); returns the transaction.
    async fn send(&mut self, mut body: Value) -> Result<String, String> {
        self.transactions += 1;
        let transaction = format!("t{}", self.transactions);
        body["transaction"] = json!(transaction);
        if self.session != 0 {
            body["session_id"] = json!(self.session);
        }
        send_json(&mut self.sink, body).await?;
        Ok(transaction)
    }

    /// The next message from Janus, held ones first.
    async fn next(&mut self) -> Result<Value, String> {
        if let Some(m) = self.held.pop_front() {
            return Ok(m);
        }
        self.incoming.recv().await.unwrap_or_else(|| Err("janus websocket closed".into()))
    }

    /// Sends a request and returns Janus's reply to it: the first message of its transaction
    /// that is not an "ack" (a plugin's asynchronous event comes after an ack). Errors become
    /// `Err`; other messages are held for later.
    async fn call(&mut self, body: Value) -> Result<Value, String> {
        let what = body["body"]["request"].as_str().or(body["janus"].as_str()).unwrap_or_default().to_owned();
        let transaction = self.send(body).await?;
        let until = tokio::time::Instant::now() + REPLY_TIMEOUT;
        let mut held = VecDeque::new();
        let reply = loop {
            let message = match tokio::time::timeout_at(until, self.incoming.recv()).await {
                Ok(Some(m)) => m?,
                Ok(None) => break Err("janus websocket closed".to_owned()),
                Err(_) => break Err(format!("janus: no reply to {what} in {} s", REPLY_TIMEOUT.as_secs())),
            };
            if message["transaction"] != transaction.as_str() {
                held.push_back(message);
            } else if message["janus"] != "ack" {
                break match janus_error(&message) {
                    Some((code, reason)) => Err(format!("janus {what}: {code} {reason}")),
                    None => Ok(message),
                };
            }
        };
        self.held.extend(held);
        reply
    }

    async fn attach(&mut self) -> Result<u64, String> {
        let attached = self.call(json!({"janus": "attach", "plugin": "janus.plugin.videoroom"})).await?;
        attached["data"]["id"].as_u64().ok_or_else(|| "janus: no handle id".into())
    }

    /// A VideoRoom request on `handle`, with an SDP if given.
    async fn message(&mut self, handle: u64, body: Value, sdp: Option<Value>) -> Result<Value, String> {
        let mut request = json!({"janus": "message", "handle_id": handle, "body": body});
        if let Some(sdp) = sdp {
            request["jsep"] = sdp;
        }
        self.call(request).await
    }

    /// Tells Janus that no more candidates come for `handle` (they were all in the SDP).
    async fn candidates_done(&mut self, handle: u64) -> Result<(), String> {
        self.send(json!({"janus": "trickle", "handle_id": handle, "candidate": {"completed": true}})).await.map(drop)
    }

    async fn close(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(2), async {
            let _ = self.call(json!({"janus": "destroy"})).await;
            let _ = futures_util::SinkExt::close(&mut self.sink).await;
        })
        .await;
    }
}

/// Creates one room per meeting on a control session; returns the room ids.
pub(super) async fn create_rooms(url: &str, meetings: usize, participants: usize) -> Result<Vec<u64>, String> {
    let mut conn = Conn::open(url).await?;
    let handle = conn.attach().await?;
    // Ids that no earlier run (nor the script's configured rooms) uses.
    let base = rand::random_range(1_000_000..1_000_000_000u64);
    let mut rooms = Vec::new();
    for m in 0..meetings {
        let room = base + m as u64;
        let body = json!({
            "request": "create", "room": room, "description": format!("bench {m}"),
            "publishers": participants, "bitrate": 0, "fir_freq": 0,
            "audiocodec": "opus", "videocodec": "vp8", "permanent": false,
        });
        let created = conn.message(handle, body, None).await?;
        if created["plugindata"]["data"]["videoroom"] != "created" {
            return Err(format!("janus create room: {created}"));
        }
        rooms.push(room);
    }
    conn.close().await;
    Ok(rooms)
}

pub(super) async fn destroy_rooms(url: &str, rooms: &[u64]) -> Result<(), String> {
    let mut conn = Conn::open(url).await?;
    let handle = conn.attach().await?;
    for room in rooms {
        conn.message(handle, json!({"request": "destroy", "room": room}), None).await?;
    }
    conn.close().await;
    Ok(())
}

/// Signalling state a participant keeps while its media run in their own tasks.
struct Signalling {
    conn: Conn,
    /// Where candidates trickled for each handle go (the media task of that handle's `Rtc`).
    routes: HashMap<u64, UnboundedSender<Candidate>>,
    last_keepalive: Instant,
}

impl Signalling {
    /// Handles Janus's messages and sends keepalives until `done()` (true) or the bench stops
    /// (false).
    async fn wait(&mut self, control: &Control, done: impl Fn() -> bool) -> Result<bool, String> {
        loop {
            if done() {
                return Ok(true);
            }
            let now = Instant::now();
            if control.stop.load(Ordering::Relaxed) || now >= control.deadline {
                return Ok(false);
            }
            if now >= self.last_keepalive + KEEPALIVE {
                self.last_keepalive = now;
                self.conn.send(json!({"janus": "keepalive"})).await?;
            }
            let message = if let Some(m) = self.conn.held.pop_front() {
                m
            } else {
                match tokio::time::timeout(Duration::from_millis(100), self.conn.next()).await {
                    Ok(m) => m?,
                    Err(_) => continue,
                }
            };
            self.handle(&message)?;
        }
    }

    fn handle(&mut self, message: &Value) -> Result<(), String> {
        if let Some((handle, candidate)) = trickled(message) {
            if let (Some(line), Some(route)) = (candidate, self.routes.get(&handle)) {
                let c = Candidate::from_sdp_string(&line).map_err(|e| format!("janus candidate {line}: {e}"))?;
                let _ = route.send(c);
            }
            return Ok(());
        }
        match message["janus"].as_str().unwrap_or_default() {
            "hangup" => Err(format!("janus hung up: {}", message["reason"])),
            "detached" | "timeout" => Err(format!("janus sent {}", message["janus"])),
            // webrtcup, media, slowlink, events about other publishers, keepalive acks.
            _ => Ok(()),
        }
    }
}

/// One participant in a Janus VideoRoom room: a publisher connection, and (when others are in
/// the meeting) a subscriber connection receiving all of them.
pub(super) async fn participant(
    room: u64,
    meeting: usize,
    slot: usize,
    counters: Arc<Counters>,
    control: Arc<Control>,
) -> Result<(), String> {
    let mut conn = Conn::open(&control.ws_base).await?;
    let publisher = conn.attach().await?;

    // Publish.
    let now = Instant::now();
    let (socket, local) = client_socket(&control).await?;
    let mut rtc = new_rtc(&control, now);
    rtc.add_local_candidate(Candidate::host(local, "udp").map_err(|e| e.to_string())?);
    let mut api = rtc.sdp_api();
    let audio = api.add_media(MediaKind::Audio, Direction::SendOnly, None, None, None);
    let camera = api.add_media(MediaKind::Video, Direction::SendOnly, None, None, None);
    let (offer, pending) = api.apply().ok_or("no offer")?;
    let body = json!({
        "request": "joinandconfigure", "ptype": "publisher", "room": room,
        "display": format!("bench {meeting}-{slot}"),
    });
    let joined = conn.message(publisher, body, Some(jsep("offer", &offer.to_sdp_string()))).await?;
    let id =
        joined["plugindata"]["data"]["id"].as_u64().ok_or_else(|| format!("janus: no publisher id in {joined}"))?;
    let answer = SdpAnswer::from_sdp_string(jsep_sdp(&joined, "answer").ok_or("janus: no answer to the offer")?)
        .map_err(|e| format!("janus answer: {e}"))?;
    rtc.sdp_api().accept_answer(pending, answer).map_err(|e| format!("janus answer: {e}"))?;
    conn.candidates_done(publisher).await?;
    let mut client = Client::new(rtc, socket, local, [audio, camera], None, counters.clone(), &control, now);
    client.answered = true;
    let (route, candidates) = unbounded_channel();
    let mut media = vec![tokio::spawn(media_loop(client, candidates, control.clone()))];
    let mut s = Signalling { conn, routes: HashMap::from([(publisher, route)]), last_keepalive: Instant::now() };

    let result = async {
        // Janus lets subscribers in once the publisher's media are up.
        if !s.wait(&control, || counters.connected.load(Ordering::Relaxed)).await? {
            return Ok(());
        }
        let feeds = &control.feeds[meeting];
        feeds[slot].store(id, Ordering::Relaxed);
        if feeds.len() < 2 {
            return s.wait(&control, || false).await.map(drop);
        }
        if !s.wait(&control, || feeds.iter().all(|f| f.load(Ordering::Relaxed) != 0)).await? {
            return Ok(());
        }

        // Subscribe to everyone else on one handle (multistream).
        let subscriber = s.conn.attach().await?;
        let streams: Vec<Value> = feeds
            .iter()
            .enumerate()
            .filter(|(p, _)| *p != slot)
            .map(|(_, f)| json!({"feed": f.load(Ordering::Relaxed)}))
            .collect();
        let body = json!({"request": "join", "ptype": "subscriber", "room": room, "streams": streams});
        let mut tries = 0;
        let attached = loop {
            match s.conn.message(subscriber, body.clone(), None).await {
                Err(e) if e.contains(&format!(" {NO_SUCH_FEED} ")) && tries < 20 => {
                    tries += 1;
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
                other => break other?,
            }
        };
        let offer = SdpOffer::from_sdp_string(jsep_sdp(&attached, "offer").ok_or("janus: no subscriber offer")?)
            .map_err(|e| format!("janus offer: {e}"))?;
        let now = Instant::now();
        let (socket, local) = client_socket(&control).await?;
        let mut rtc = new_rtc(&control, now);
        rtc.add_local_candidate(Candidate::host(local, "udp").map_err(|e| e.to_string())?);
        let answer = rtc.sdp_api().accept_offer(offer).map_err(|e| format!("janus offer: {e}"))?;
        let (route, candidates) = unbounded_channel();
        s.routes.insert(subscriber, route);
        // The media task starts before `start`, so that ICE checks Janus sends at once find it.
        let nothing = [Mid::from("-"), Mid::from("-")];
        let client = Client::new(rtc, socket, local, nothing, None, counters.clone(), &control, now);
        media.push(tokio::spawn(media_loop(client, candidates, control.clone())));
        s.conn.message(subscriber, json!({"request": "start"}), Some(jsep("answer", &answer.to_sdp_string()))).await?;
        s.conn.candidates_done(subscriber).await?;
        s.wait(&control, || false).await.map(drop)
    }
    .await;
    s.routes.clear();
    s.conn.close().await;
    let mut errors = Vec::new();
    for task in media {
        match tokio::time::timeout(Duration::from_secs(5), task).await {
            Ok(Ok(Err(e))) => errors.push(e),
            Ok(Err(e)) => errors.push(format!("media task: {e}")),
            _ => {}
        }
    }
    result.and(errors.into_iter().next().map_or(Ok(()), Err))
}

/// A client's media loop, without signalling (candidates trickled by Janus come on a channel).
async fn media_loop(
    mut client: Client,
    mut candidates: UnboundedReceiver<Candidate>,
    control: Arc<Control>,
) -> Result<(), String> {
    let mut buf = vec![0u8; 2048];
    let mut timeout = Instant::now();
    loop {
        let now = Instant::now();
        if control.stop.load(Ordering::Relaxed) || now >= control.deadline {
            return Ok(());
        }
        let wake = client.turn(now, &mut timeout)?;
        tokio::select! {
            biased;
            ready = client.socket.readable() => {
                ready.map_err(|e| format!("udp: {e}"))?;
                client.receive(&mut buf)?;
            }
            Some(candidate) = candidates.recv() => client.rtc.add_remote_candidate(candidate),
            _ = tokio::time::sleep_until(tokio::time::Instant::from_std(wake)) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn janus_errors_are_found_in_both_places() {
        let api: Value = serde_json::from_str(
            r#"{"janus":"error","transaction":"t1","error":{"code":458,"reason":"No such session 1"}}"#,
        )
        .unwrap();
        assert_eq!(janus_error(&api), Some((458, "No such session 1".to_owned())));
        let plugin: Value = serde_json::from_str(
            r#"{"janus":"event","sender":7,"transaction":"t4","plugindata":{"plugin":"janus.plugin.videoroom",
               "data":{"videoroom":"event","error_code":428,"error":"No such feed (3)"}}}"#,
        )
        .unwrap();
        assert_eq!(janus_error(&plugin), Some((NO_SUCH_FEED, "No such feed (3)".to_owned())));
        let joined: Value = serde_json::from_str(
            r#"{"janus":"event","sender":7,"transaction":"t3","plugindata":{"plugin":"janus.plugin.videoroom",
               "data":{"videoroom":"joined","room":5,"id":99,"publishers":[]}},
               "jsep":{"type":"answer","sdp":"v=0\r\n"}}"#,
        )
        .unwrap();
        assert_eq!(janus_error(&joined), None);
        assert_eq!(jsep_sdp(&joined, "answer"), Some("v=0\r\n"));
        assert_eq!(jsep_sdp(&joined, "offer"), None);
    }

    #[test]
    fn trickled_candidates_name_their_handle() {
        let c: Value = serde_json::from_str(
            r#"{"janus":"trickle","session_id":1,"sender":42,"candidate":{"sdpMid":"0","sdpMLineIndex":0,
               "candidate":"candidate:1 1 udp 2015363327 198.18.0.1 20012 typ host"}}"#,
        )
        .unwrap();
        let (handle, line) = trickled(&c).unwrap();
        assert_eq!(handle, 42);
        let line = line.unwrap();
        let candidate = Candidate::from_sdp_string(&line).unwrap();
        assert_eq!(candidate.addr(), "198.18.0.1:20012".parse().unwrap());
        let done: Value =
            serde_json::from_str(r#"{"janus":"trickle","sender":42,"candidate":{"completed":true}}"#).unwrap();
        assert_eq!(trickled(&done), Some((42, None)));
        assert_eq!(trickled(&json!({"janus": "webrtcup", "sender": 42})), None);
    }
}
