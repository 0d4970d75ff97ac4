//! The public stream of a council session: RTP packets forwarded by the SFU (H.264 video,
//! Opus audio) are packaged into fragmented MP4 and served as HLS with low-latency parts,
//! without decoding video. See CONTRACT in the issue-17 work notes.

// ---- sfu ----
// A placeholder of the feed (helper sfu), until the real crate is merged.
mod feed;

pub use feed::{Feed, FeedMessage, FeedReceiver, MediaKind, StreamPacket};
// ---- end sfu ----
