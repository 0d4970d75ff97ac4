//! The SFU's side of the stream: the packets it forwards to the packager.
//!
//! Minimal copy written by helper "sfu" so the media crate builds before the real crate is
//! ready; helper "stream" owns this file and replaces it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::time::Instant;

/// Audio or video.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MediaKind {
    /// H.264 video.
    Video,
    /// Opus audio.
    Audio,
}

/// One RTP packet of a stream source, as the SFU received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamPacket {
    /// Audio or video.
    pub kind: MediaKind,
    /// The participant that sent it.
    pub source: u64,
    /// The RTP timestamp (90 kHz for video, 48 kHz for Opus).
    pub rtp_timestamp: u32,
    /// The RTP sequence number.
    pub sequence: u16,
    /// The RTP marker bit (last packet of a video frame).
    pub marker: bool,
    /// The RTP payload.
    pub payload: Vec<u8>,
    /// When the SFU received it.
    pub arrived: Instant,
    /// The audio level header extension (-dBov), when present.
    pub audio_level: Option<i8>,
}

/// What the SFU tells the packager.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedMessage {
    /// A packet of a stream source.
    Packet(StreamPacket),
    /// From the next keyframe on, show this source's video.
    Show {
        /// The participant whose video is shown.
        video: u64,
    },
    /// The session ended.
    End,
}

/// The sending end towards the packager: cheap to clone, never blocks.
#[derive(Debug, Clone)]
pub struct Feed {
    sender: SyncSender<FeedMessage>,
    keyframe_wanted: Arc<AtomicBool>,
}

/// The packager's end of a [`Feed`].
#[derive(Debug)]
pub struct FeedReceiver {
    receiver: Receiver<FeedMessage>,
    keyframe_wanted: Arc<AtomicBool>,
}

impl Feed {
    /// A feed holding at most `capacity` messages the packager has not taken yet.
    pub fn channel(capacity: usize) -> (Feed, FeedReceiver) {
        let (sender, receiver) = sync_channel(capacity);
        let keyframe_wanted = Arc::new(AtomicBool::new(false));
        (Feed { sender, keyframe_wanted: keyframe_wanted.clone() }, FeedReceiver { receiver, keyframe_wanted })
    }

    /// Passes a message on; dropped (false) when the packager is behind or gone.
    pub fn send(&self, message: FeedMessage) -> bool {
        match self.sender.try_send(message) {
            Ok(()) => true,
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => false,
        }
    }

    /// Whether the packager waits for a keyframe of the shown source.
    pub fn keyframe_wanted(&self) -> bool {
        self.keyframe_wanted.load(Ordering::Relaxed)
    }
}

impl FeedReceiver {
    /// The next message, if one is waiting.
    pub fn try_recv(&self) -> Option<FeedMessage> {
        self.receiver.try_recv().ok()
    }

    /// Tells the SFU whether a keyframe of the shown source is wanted.
    pub fn want_keyframe(&self, wanted: bool) {
        self.keyframe_wanted.store(wanted, Ordering::Relaxed);
    }
}
