//! Ricevo's meeting media: a selective forwarding unit (SFU) built on str0m.
//!
//! The router ([`Sfu`]) is sans-IO: it takes packets and `now`, and returns packets to send,
//! events for each participant and the next time it wants to be woken. [`MediaServer`] runs it
//! on a dedicated std thread with one UDP socket for every participant, and offers an
//! async-friendly handle to the web layer. Each participant has one str0m `Rtc` in ICE-lite
//! mode (DTLS-SRTP, Opus, VP8, H.264, NACK/RTX, a downlink estimate from receiver reports).

mod bandwidth;
// ---- sfu ----
#[cfg(test)]
mod council_tests;
// ---- end sfu ----
mod participant;
mod server;
mod sfu;
// ---- sfu ----
mod simulcast;
// ---- end sfu ----
mod tcp;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

pub use ricevo_stream::{Feed, FeedMessage, StreamPacket};
pub use server::{Joined, MediaServer};
pub use sfu::{Footprint, Sfu, SfuConfig, SfuInput, SfuOutput};

/// Most participants one room admits; the eleventh join is refused.
pub const MAX_PARTICIPANTS_PER_ROOM: usize = 10;

// ---- sfu ----
/// How a room is set up, given to [`MediaServer::open_room`] before anyone joins. A room that
/// was never opened behaves as before: at most [`MAX_PARTICIPANTS_PER_ROOM`], VP8 and H.264,
/// no simulcast layers chosen, no stream.
#[derive(Debug, Clone)]
pub struct RoomOptions {
    /// Most participants the room admits.
    pub capacity: usize,
    /// Offer Opus and H.264 (packetization-mode 1) only, and forward simulcast layers
    /// one per receiver and source as [`View`]s and bandwidth allow.
    pub simulcast_h264: bool,
    /// Where the stream's sources go (see [`MediaServer::set_stream_sources`]).
    pub stream: Option<ricevo_stream::Feed>,
}

impl Default for RoomOptions {
    fn default() -> Self {
        RoomOptions { capacity: MAX_PARTICIPANTS_PER_ROOM, simulcast_h264: false, stream: None }
    }
}

/// Whose video a participant sees, and how large. Video of anyone not listed is not forwarded
/// to it; `large` get the highest simulcast layer, `small` the lowest (a weak downlink may
/// lower both further).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct View {
    /// Shown large: the highest layer.
    pub large: Vec<ParticipantId>,
    /// Shown as small tiles: the lowest layer.
    pub small: Vec<ParticipantId>,
}
// ---- end sfu ----

/// A meeting's media room (the value of the meeting's id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RoomId(pub i64);

/// One person in a room (the value of the lobby entry's id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ParticipantId(pub i64);

/// What a participant may send into the room; media it may not send is never forwarded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Permissions {
    /// Microphone audio.
    pub send_audio: bool,
    /// Camera video.
    pub send_video: bool,
    /// Screen sharing video.
    pub share_screen: bool,
}

impl Permissions {
    /// Everything allowed.
    pub const ALL: Permissions = Permissions { send_audio: true, send_video: true, share_screen: true };
}

/// Audio or video.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrackKind {
    /// An audio track.
    Audio,
    /// A video track.
    Video,
}

impl TrackKind {
    /// `"audio"` or `"video"`.
    pub fn as_str(self) -> &'static str {
        match self {
            TrackKind::Audio => "audio",
            TrackKind::Video => "video",
        }
    }
}

/// Where a track comes from, by its place in the browser's initial offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    /// The first audio transceiver.
    Microphone,
    /// The first video transceiver.
    Camera,
    /// The second video transceiver.
    Screen,
}

impl Source {
    /// `"microphone"`, `"camera"` or `"screen"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Microphone => "microphone",
            Source::Camera => "camera",
            Source::Screen => "screen",
        }
    }
}

/// Something one participant's signalling must pass to its browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaEvent {
    /// A server-initiated renegotiation: the browser must answer via [`MediaServer::answer`].
    Offer {
        /// The SDP offer.
        sdp: String,
    },
    /// A track of another participant is (about to be) received on `mid`; sent before the
    /// offer that adds it, so the browser knows whose track arrives on that transceiver.
    Track {
        /// The transceiver's mid in this participant's session.
        mid: String,
        /// Whose track it is.
        from: ParticipantId,
        /// Audio or video.
        kind: TrackKind,
        /// Microphone, camera or screen.
        source: Source,
    },
    /// The track on `mid` ended (its sender left); an offer stopping it follows.
    TrackEnded {
        /// The transceiver's mid in this participant's session.
        mid: String,
    },
    /// ICE and DTLS are up: media flows.
    Connected,
    /// The connection timed out or failed.
    Disconnected,
}

/// Counters for `/metrics` and the benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MediaStats {
    /// Rooms with at least one participant.
    pub rooms: u64,
    /// Participants in all rooms.
    pub participants: u64,
    /// Media frames (audio frames, video frames) written towards receivers.
    pub frames_forwarded: u64,
    /// RTP packets sent (forwarded media, retransmissions and padding).
    pub packets_forwarded: u64,
    /// Bytes of RTP packets sent.
    pub bytes_forwarded: u64,
    /// Datagrams received on the media socket.
    pub datagrams_received: u64,
    /// Bytes of datagrams received.
    pub bytes_received: u64,
    /// Datagrams sent (RTP, RTCP, STUN, DTLS).
    pub datagrams_sent: u64,
    /// Bytes of datagrams sent.
    pub bytes_sent: u64,
}

/// Where the media server listens and what it announces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaConfig {
    /// The UDP socket for all participants.
    pub udp_listen: SocketAddr,
    /// Addresses announced as host candidates; empty → the listen ip, or 127.0.0.1 when the
    /// listen ip is unspecified. Behind NAT, give the public address here.
    pub public_ips: Vec<IpAddr>,
    /// Where to listen for media over TCP (RFC 4571 framing), for networks that block UDP:
    /// a passive TCP host candidate is announced for each announced address, on this port.
    /// `None`: UDP only.
    pub tcp_listen: Option<SocketAddr>,
}

impl Default for MediaConfig {
    fn default() -> Self {
        MediaConfig {
            udp_listen: SocketAddr::from((Ipv4Addr::UNSPECIFIED, 3479)),
            public_ips: Vec::new(),
            tcp_listen: None,
        }
    }
}

/// Why a media request failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MediaError {
    /// The SDP could not be parsed or was refused.
    #[error("bad SDP: {0}")]
    Sdp(String),
    /// The room already has [`MAX_PARTICIPANTS_PER_ROOM`] participants.
    #[error("the room is full")]
    RoomFull,
    /// No participant with that id is in any room.
    #[error("no such participant")]
    UnknownParticipant,
    /// An answer arrived but no server offer is waiting for one.
    #[error("no offer is waiting for an answer")]
    NoPendingOffer,
    /// The media thread has stopped.
    #[error("the media server has stopped")]
    Stopped,
    /// str0m refused an operation.
    #[error("WebRTC: {0}")]
    Rtc(#[from] str0m::RtcError),
}
