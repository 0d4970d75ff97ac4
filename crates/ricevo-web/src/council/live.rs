//! The council sessions running on this node: each one's media room in the SFU (up to 50
//! people, simulcast, H.264), its public stream (`ricevo_stream`), and the members' sockets
//! connected here, to which every change of the session is pushed.
//!
//! Ids: the SFU knows rooms and participants by number, shared with the meetings of the
//! virtual office (whose meeting and entry ids are positive). A council session's room is
//! `RoomId(-session)` and a member's participant `ParticipantId(-member)`, so the two never
//! meet.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard, PoisonError};

use ricevo_core::TenantId;
use ricevo_core::council::{CouncilSessionId, MemberId};
use ricevo_media::{MediaServer, ParticipantId, RoomId, RoomOptions};
use tokio::sync::mpsc;

/// Most people in one session's media room.
pub const ROOM_CAPACITY: usize = 50;

/// The SFU room of a council session.
pub fn room_id(session: CouncilSessionId) -> RoomId {
    RoomId(-session.0)
}

/// The SFU participant of a council member.
pub fn participant_id(member: MemberId) -> ParticipantId {
    ParticipantId(-member.0)
}

/// The member behind an SFU participant of a council room.
pub fn member_of(participant: ParticipantId) -> MemberId {
    MemberId(-participant.0)
}

/// A council room's options in the SFU, with the stream's feed once the session is open.
fn room_options(stream: Option<ricevo_stream::Feed>) -> RoomOptions {
    RoomOptions { capacity: ROOM_CAPACITY, simulcast_h264: true, stream }
}

/// One session's live parts on this node.
struct Running {
    live: ricevo_stream::Live,
    feed: ricevo_stream::Feed,
}

/// A member's socket on this node: the connection's number and where to push.
struct Socket {
    connection: u64,
    tx: mpsc::UnboundedSender<Push>,
}

/// What a member's socket is asked to do.
#[derive(Debug, Clone)]
pub(crate) enum Push {
    /// Send this JSON text to the browser as it is.
    Json(String),
    /// A newer socket of the same member took over: close.
    Superseded,
}

type Key = (TenantId, CouncilSessionId);

#[derive(Default)]
struct Inner {
    /// Sessions whose media room is opened (with its options) on this node.
    rooms: std::collections::HashSet<Key>,
    running: HashMap<Key, Running>,
    sockets: HashMap<Key, HashMap<MemberId, Socket>>,
    next_connection: u64,
}

/// Council sessions live on this node (their media rooms and public streams).
#[derive(Default)]
pub struct Sessions {
    inner: Mutex<Inner>,
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let inner = self.lock();
        f.debug_struct("Sessions").field("running", &inner.running.len()).finish_non_exhaustive()
    }
}

impl Sessions {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Each update is one insert or remove: a poisoned map is still whole.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Opens the session's media room on this node, if not open yet: up to 50 people, simulcast
    /// H.264, no stream yet. Called before any member's media joins (the room's options decide
    /// the codecs each member's connection is set up with) and while the session is only
    /// scheduled: members may try their camera, but nothing is streamed or recorded.
    pub fn open_room(&self, media: Option<&MediaServer>, tenant: TenantId, session: CouncilSessionId) {
        let Some(media) = media else { return };
        let mut inner = self.lock();
        if inner.rooms.insert((tenant, session)) && !inner.running.contains_key(&(tenant, session)) {
            media.open_room(room_id(session), room_options(None));
        }
    }

    /// Starts the session's public stream on this node, if not running yet (the session is
    /// open), recorded into `recording` when given; the media room gets the stream's feed.
    /// Without an SFU there is no stream either.
    pub fn start(
        &self,
        media: Option<&MediaServer>,
        recording: Option<PathBuf>,
        tenant: TenantId,
        session: CouncilSessionId,
    ) -> Result<(), ricevo_stream::StreamError> {
        let Some(media) = media else { return Ok(()) };
        let mut inner = self.lock();
        if inner.running.contains_key(&(tenant, session)) {
            return Ok(());
        }
        let recording = recording.filter(|dir| match std::fs::create_dir_all(dir) {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(error = %e, dir = %dir.display(), "the recording directory cannot be made: no recording");
                false
            }
        });
        let (feed, live) =
            ricevo_stream::start(ricevo_stream::LiveOptions { recording, ..ricevo_stream::LiveOptions::default() })?;
        // Same capacity and codecs as when the room was opened: members already in keep
        // their connections; only the feed is new.
        media.open_room(room_id(session), room_options(Some(feed.clone())));
        inner.rooms.insert((tenant, session));
        inner.running.insert((tenant, session), Running { live, feed });
        Ok(())
    }

    /// Whether the session's live parts run on this node.
    pub fn is_running(&self, tenant: TenantId, session: CouncilSessionId) -> bool {
        self.lock().running.contains_key(&(tenant, session))
    }

    /// The public stream of a session running on this node.
    pub fn live(&self, tenant: TenantId, session: CouncilSessionId) -> Option<ricevo_stream::Live> {
        self.lock().running.get(&(tenant, session)).map(|r| r.live.clone())
    }

    /// Ends the session's live parts: the stream ends (its playlist is closed, the recording
    /// complete) and everyone leaves the media room. The stream stays readable until the
    /// process ends, for players catching up on the last segments.
    pub fn stop(&self, media: Option<&MediaServer>, tenant: TenantId, session: CouncilSessionId) {
        let running = self.lock().running.get(&(tenant, session)).map(|r| r.feed.clone());
        if let Some(feed) = running {
            feed.send(ricevo_stream::FeedMessage::End);
        }
        if let Some(media) = media {
            media.close_room(room_id(session));
        }
        self.lock().rooms.remove(&(tenant, session));
    }

    /// Registers a member's socket; an older socket of the same member is told to close.
    /// Returns the connection's number for [`Sessions::disconnect`].
    pub(crate) fn connect(
        &self,
        tenant: TenantId,
        session: CouncilSessionId,
        member: MemberId,
        tx: mpsc::UnboundedSender<Push>,
    ) -> u64 {
        let mut inner = self.lock();
        inner.next_connection += 1;
        let connection = inner.next_connection;
        let sockets = inner.sockets.entry((tenant, session)).or_default();
        if let Some(old) = sockets.insert(member, Socket { connection, tx }) {
            let _ = old.tx.send(Push::Superseded);
        }
        connection
    }

    /// Forgets a member's socket; false when a newer one took over (it stays).
    pub(crate) fn disconnect(
        &self,
        tenant: TenantId,
        session: CouncilSessionId,
        member: MemberId,
        connection: u64,
    ) -> bool {
        let mut inner = self.lock();
        let Some(sockets) = inner.sockets.get_mut(&(tenant, session)) else { return false };
        let current = sockets.get(&member).is_some_and(|s| s.connection == connection);
        if current {
            sockets.remove(&member);
            if sockets.is_empty() {
                inner.sockets.remove(&(tenant, session));
            }
        }
        current
    }

    /// The members of a session with a socket on this node.
    #[cfg(test)]
    fn connected(&self, tenant: TenantId, session: CouncilSessionId) -> Vec<MemberId> {
        let mut list: Vec<MemberId> =
            self.lock().sockets.get(&(tenant, session)).map(|s| s.keys().copied().collect()).unwrap_or_default();
        list.sort();
        list
    }

    /// Sends to every socket of one session (and of no other).
    pub(crate) fn broadcast(&self, tenant: TenantId, session: CouncilSessionId, push: &Push) {
        if let Some(sockets) = self.lock().sockets.get(&(tenant, session)) {
            for s in sockets.values() {
                let _ = s.tx.send(push.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn council_ids_never_meet_the_meetings_ids() {
        assert_eq!(room_id(CouncilSessionId(7)), RoomId(-7));
        assert_eq!(participant_id(MemberId(3)), ParticipantId(-3));
        assert_eq!(member_of(participant_id(MemberId(3))), MemberId(3));
    }

    #[test]
    fn a_push_reaches_the_sockets_of_its_session_only() {
        let sessions = Sessions::default();
        let (a, mut ra) = mpsc::unbounded_channel();
        let (b, mut rb) = mpsc::unbounded_channel();
        sessions.connect(TenantId(1), CouncilSessionId(1), MemberId(1), a);
        sessions.connect(TenantId(1), CouncilSessionId(2), MemberId(2), b);
        sessions.broadcast(TenantId(1), CouncilSessionId(1), &Push::Json("x".into()));
        assert!(matches!(ra.try_recv(), Ok(Push::Json(t)) if t == "x"));
        assert!(rb.try_recv().is_err());
    }

    #[test]
    fn a_second_socket_of_a_member_supersedes_the_first() {
        let sessions = Sessions::default();
        let (a, mut ra) = mpsc::unbounded_channel();
        let (b, _rb) = mpsc::unbounded_channel();
        let first = sessions.connect(TenantId(1), CouncilSessionId(1), MemberId(1), a);
        let second = sessions.connect(TenantId(1), CouncilSessionId(1), MemberId(1), b);
        assert!(matches!(ra.try_recv(), Ok(Push::Superseded)));
        assert!(!sessions.disconnect(TenantId(1), CouncilSessionId(1), MemberId(1), first));
        assert_eq!(sessions.connected(TenantId(1), CouncilSessionId(1)), vec![MemberId(1)]);
        assert!(sessions.disconnect(TenantId(1), CouncilSessionId(1), MemberId(1), second));
        assert!(sessions.connected(TenantId(1), CouncilSessionId(1)).is_empty());
    }
}
