//! Who is connected to this node right now: each waiting or meeting person's socket, each
//! office's live dashboards, and each meeting's participants. The database holds the truth
//! (the waiting-room state, mutes included); the hub only tells connected browsers to look
//! again, and carries chat lines (stored first) to those present.
//!
//! Several nodes: the hub is per process. A meeting lives on one node; dashboards on other
//! nodes see changes when they next refresh (PostgreSQL LISTEN/NOTIFY would carry the pings
//! across nodes behind this same interface).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use ricevo_core::{EntryId, MeetingId, OfficeId};
use tokio::sync::{broadcast, mpsc, watch};

/// This node's live side as the desk sees it: the hub's connections and the SFU.
#[derive(Debug)]
pub struct LiveNode {
    hub: Arc<Hub>,
    media: Option<ricevo_media::MediaServer>,
}

impl LiveNode {
    /// The live side of a node with these connections and, if any, this SFU.
    pub fn new(hub: Arc<Hub>, media: Option<ricevo_media::MediaServer>) -> LiveNode {
        LiveNode { hub, media }
    }
}

impl ricevo_desk::Live for LiveNode {
    fn is_connected(&self, entry: EntryId) -> bool {
        self.hub.is_connected(entry)
    }
    fn entry_changed(&self, entry: EntryId) {
        self.hub.push(entry, Push::Refresh);
    }
    fn office_changed(&self, office: OfficeId) {
        self.hub.office_changed(office);
    }
    fn left_media(&self, entry: EntryId) {
        if let Some(media) = &self.media {
            media.leave(ricevo_media::ParticipantId(entry.0));
        }
    }
    fn meeting_ended(&self, meeting: MeetingId) {
        if let Some(media) = &self.media {
            media.close_room(ricevo_media::RoomId(meeting.0));
        }
    }
}

/// Applies what other nodes announce to this node's connections, for as long as the process
/// runs. Does nothing on an engine with one node (SQLite).
pub(crate) async fn follow_other_nodes(store: &dyn ricevo_store::Store, hub: &Hub) {
    let mut heard = match store.listen().await {
        Ok(Some(rx)) => rx,
        Ok(None) => return,
        Err(e) => {
            tracing::warn!(error = %e, "cannot listen to other nodes: waiting rooms refresh every 30 s instead");
            return;
        }
    };
    while let Some(topic) = heard.recv().await {
        let Some((kind, id)) = topic.split_once(':') else { continue };
        let Ok(id) = id.parse::<i64>() else { continue };
        match kind {
            "entry" => hub.push(EntryId(id), Push::Refresh),
            "office" => hub.office_changed(OfficeId(id)),
            _ => {}
        }
    }
}

/// What a connected socket is asked to do.
#[derive(Debug, Clone)]
pub(crate) enum Push {
    /// Read your entry again and tell the browser (a state change happened).
    Refresh,
    /// Send this JSON text as it is.
    Json(String),
    /// Another connection of the same link took over: close quietly.
    Superseded,
}

/// One connected participant of a meeting.
#[derive(Debug, Clone)]
pub(crate) struct Present {
    /// Display name.
    pub name: String,
    /// `appointment`, `ticket`, `invitee` or `official`.
    pub kind: &'static str,
    /// Muted by the official.
    pub muted: bool,
}

#[derive(Debug, Default)]
struct Inner {
    // The socket of each entry (the newest connection wins).
    sockets: HashMap<EntryId, (u64, mpsc::UnboundedSender<Push>)>,
    // Live dashboards of each office.
    offices: HashMap<OfficeId, broadcast::Sender<()>>,
    // Connected participants of each meeting.
    meetings: HashMap<MeetingId, HashMap<EntryId, Present>>,
    next_connection: u64,
}

/// The per-process registry of live connections.
#[derive(Debug)]
pub struct Hub {
    inner: Mutex<Inner>,
    // True once the process shuts down: every socket and event stream says "restarting" and
    // ends. Each of them holds a receiver, so "no receiver left" means all of them are done.
    closing: watch::Sender<bool>,
}

impl Default for Hub {
    fn default() -> Self {
        Hub { inner: Mutex::default(), closing: watch::Sender::new(false) }
    }
}

/// Resolves once the hub is closing (at once if it already is).
pub(crate) async fn restarting(closing: &mut watch::Receiver<bool>) {
    // An error means the hub is gone, which only happens when the process ends.
    let _ = closing.wait_for(|c| *c).await;
}

impl Hub {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the maps half-written in a way that
        // matters (each update is one insert or remove), so a poisoned lock is used as is.
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Tells every live socket and dashboard stream of this node that the server is restarting
    /// (they say so to their browser, which reconnects, and end).
    pub fn close_all(&self) {
        self.closing.send_replace(true);
    }

    /// Resolves when every socket and dashboard stream has ended (after [`Hub::close_all`]).
    pub async fn all_closed(&self) {
        self.closing.closed().await;
    }

    /// The closing signal, for one socket or stream to hold while it lives.
    pub(crate) fn closing(&self) -> watch::Receiver<bool> {
        self.closing.subscribe()
    }

    /// Registers the socket of `entry`; an older socket of the same entry is told to close.
    /// Returns the connection number to pass to [`Hub::disconnect`].
    pub(crate) fn connect(&self, entry: EntryId, tx: mpsc::UnboundedSender<Push>) -> u64 {
        let mut inner = self.lock();
        inner.next_connection += 1;
        let id = inner.next_connection;
        if let Some((_, old)) = inner.sockets.insert(entry, (id, tx)) {
            let _ = old.send(Push::Superseded);
        }
        id
    }

    /// Forgets the socket `connection` of `entry`; false when a newer one took over (it stays).
    pub(crate) fn disconnect(&self, entry: EntryId, connection: u64) -> bool {
        let mut inner = self.lock();
        let current = inner.sockets.get(&entry).is_some_and(|(id, _)| *id == connection);
        if current {
            inner.sockets.remove(&entry);
        }
        current
    }

    /// Whether the entry has a socket open on this node.
    pub(crate) fn is_connected(&self, entry: EntryId) -> bool {
        self.lock().sockets.contains_key(&entry)
    }

    /// Sends to the socket of one entry, if connected.
    pub(crate) fn push(&self, entry: EntryId, push: Push) {
        if let Some((_, tx)) = self.lock().sockets.get(&entry) {
            let _ = tx.send(push);
        }
    }

    /// The change feed of an office's dashboards.
    pub(crate) fn watch_office(&self, office: OfficeId) -> broadcast::Receiver<()> {
        self.lock().offices.entry(office).or_insert_with(|| broadcast::channel(16).0).subscribe()
    }

    /// Tells the office's dashboards that its queue changed.
    pub(crate) fn office_changed(&self, office: OfficeId) {
        if let Some(tx) = self.lock().offices.get(&office) {
            let _ = tx.send(());
        }
    }

    /// Records a participant as present in a meeting (`present.muted` is the stored entry's).
    pub(crate) fn enter(&self, meeting: MeetingId, entry: EntryId, present: Present) {
        self.lock().meetings.entry(meeting).or_default().insert(entry, present);
    }

    /// Removes a participant from a meeting's presence list.
    pub(crate) fn exit(&self, meeting: MeetingId, entry: EntryId) {
        let mut inner = self.lock();
        if let Some(m) = inner.meetings.get_mut(&meeting) {
            m.remove(&entry);
            if m.is_empty() {
                inner.meetings.remove(&meeting);
            }
        }
    }

    /// Marks a participant muted or not; false when not present.
    pub(crate) fn set_muted(&self, meeting: MeetingId, entry: EntryId, muted: bool) -> bool {
        match self.lock().meetings.get_mut(&meeting).and_then(|m| m.get_mut(&entry)) {
            Some(p) => {
                p.muted = muted;
                true
            }
            None => false,
        }
    }

    /// Who is present in a meeting, by entry id.
    pub(crate) fn present(&self, meeting: MeetingId) -> Vec<(EntryId, Present)> {
        let mut list: Vec<_> = self
            .lock()
            .meetings
            .get(&meeting)
            .map(|m| m.iter().map(|(k, v)| (*k, v.clone())).collect())
            .unwrap_or_default();
        list.sort_by_key(|(id, _)| *id);
        list
    }

    /// Sends the same JSON to every present participant of a meeting.
    pub(crate) fn broadcast(&self, meeting: MeetingId, json: &str) {
        let inner = self.lock();
        let Some(m) = inner.meetings.get(&meeting) else { return };
        let ids: HashSet<EntryId> = m.keys().copied().collect();
        for id in ids {
            if let Some((_, tx)) = inner.sockets.get(&id) {
                let _ = tx.send(Push::Json(json.to_owned()));
            }
        }
    }
}
