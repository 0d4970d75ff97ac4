//! The public stream of a council session: RTP packets forwarded by the SFU (H.264 video,
//! Opus audio) are packaged into fragmented MP4 and served as HLS with low-latency parts,
//! without decoding video. See CONTRACT in the issue-17 work notes.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use tokio::sync::watch;

use crate::packager::{Output, Packager, Timing};
use crate::playlist::{Published, Readiness};

mod h264;
mod mux;
mod packager;
mod playlist;
pub mod synthetic;
#[cfg(test)]
mod tests;
// ---- sfu ----
mod tap;

pub use tap::FeedReceiver;
// ---- end sfu ----

/// Messages queued for the packager before `Feed::send` starts dropping (about 10 s of a
/// 1 Mbit/s video plus audio).
const QUEUE: usize = 4096;

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
    sender: SyncSender<FeedMessage>,
    shared: Arc<FeedShared>,
}

#[derive(Debug)]
struct FeedShared {
    keyframe_wanted: AtomicBool,
    end: AtomicBool,
    dropped: AtomicU64,
}

impl Feed {
    /// Hands a message to the packager; if its queue is full the message is dropped and
    /// counted (`End` is never lost: it is also flagged aside).
    pub fn send(&self, message: FeedMessage) {
        if matches!(message, FeedMessage::End) {
            self.shared.end.store(true, Ordering::Release);
        }
        match self.sender.try_send(message) {
            Ok(()) | Err(TrySendError::Disconnected(_)) => {}
            Err(TrySendError::Full(_)) => {
                self.shared.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
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
    #[error("bad request")]
    BadRequest,
    #[error("not available yet, try again")]
    Unavailable,
    #[error("recording I/O: {0}")]
    Io(#[from] std::io::Error),
}

impl StreamError {
    /// HTTP status for this error (400 for requests too far ahead, as RFC 8216bis asks).
    pub fn status(&self) -> u16 {
        match self {
            Self::NotFound | Self::Ended => 404,
            Self::TooFarAhead | Self::BadRequest => 400,
            Self::Unavailable => 503,
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
            Self::BadRequest => "Richiesta non valida / Bad request",
            Self::Unavailable => "Non ancora disponibile, riprova / Not available yet, try again",
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
    shared: Arc<LiveShared>,
}

#[derive(Debug)]
struct LiveShared {
    published: Mutex<Published>,
    version: watch::Sender<u64>,
    /// Longest a request waits (three target durations, as RFC 8216bis suggests).
    wait: Duration,
}

impl LiveShared {
    fn lock(&self) -> MutexGuard<'_, Published> {
        self.published.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Live {
    /// Waits until `check` gives an answer, or the longest wait passes.
    async fn wait_for<T>(
        &self,
        mut check: impl FnMut(&Published) -> Result<Option<T>, StreamError>,
    ) -> Result<T, StreamError> {
        let mut changes = self.shared.version.subscribe();
        let deadline = tokio::time::Instant::now() + self.shared.wait;
        loop {
            changes.borrow_and_update();
            if let Some(answer) = check(&self.shared.lock())? {
                return Ok(answer);
            }
            match tokio::time::timeout_at(deadline, changes.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => return Err(StreamError::Ended),
                Err(_) => return Err(StreamError::Unavailable),
            }
        }
    }

    /// The media playlist; with `msn` (and `part`) it waits until that segment (part) exists
    /// (LL-HLS blocking playlist reload). Requests too far ahead are refused at once.
    pub async fn playlist(&self, msn: Option<u64>, part: Option<u32>) -> Result<String, StreamError> {
        self.wait_for(|published| match published.playlist_readiness(msn, part)? {
            Readiness::Ready => Ok(published.playlist.clone()),
            Readiness::Wait => Ok(None),
        })
        .await
    }

    /// The initialization segment, once the first keyframe arrived.
    pub fn init(&self) -> Option<Bytes> {
        self.shared.lock().init.clone()
    }

    /// A complete segment; waits if it is the one being built (or the next one).
    pub async fn segment(&self, msn: u64) -> Result<Bytes, StreamError> {
        self.wait_for(|published| published.segment(msn)).await
    }

    /// A part; waits if it is the hinted (next) part.
    pub async fn part(&self, msn: u64, part: u32) -> Result<Bytes, StreamError> {
        self.wait_for(|published| published.part(msn, part)).await
    }

    /// True once `End` was processed and the playlist carries EXT-X-ENDLIST.
    pub fn ended(&self) -> bool {
        self.shared.lock().ended
    }
}

/// Starts the packager on its own thread.
#[allow(clippy::needless_pass_by_value)] // the contract's signature: options are moved in
pub fn start(options: LiveOptions) -> Result<(Feed, Live), StreamError> {
    let part_target = options.part_target.as_secs_f64();
    let segment_target = options.segment_target.as_secs_f64();
    if !(0.1..=5.0).contains(&part_target) || segment_target < part_target * 2.0 || segment_target > 20.0 {
        return Err(StreamError::Options("part target 0.1-5 s, segment target 2-20 parts"));
    }
    if options.live_segments == 0 {
        return Err(StreamError::Options("live_segments must be at least 1"));
    }
    let timing = Timing { part_target, segment_target, target_duration: (segment_target * 1.5).ceil() as u64 };
    let recorder = match &options.recording {
        Some(dir) => {
            std::fs::create_dir_all(dir)?;
            Some(Recorder { dir: dir.clone(), segments: Vec::new(), failed: false })
        }
        None => None,
    };
    let (sender, receiver) = std::sync::mpsc::sync_channel(QUEUE);
    let feed_shared = Arc::new(FeedShared {
        keyframe_wanted: AtomicBool::new(true),
        end: AtomicBool::new(false),
        dropped: AtomicU64::new(0),
    });
    let live_shared = Arc::new(LiveShared {
        published: Mutex::new(Published::default()),
        version: watch::Sender::new(0),
        wait: Duration::from_secs(timing.target_duration * 3),
    });
    let worker = Worker {
        packager: Packager::new(timing),
        timing,
        window: options.live_segments,
        feed: feed_shared.clone(),
        live: live_shared.clone(),
        recorder,
        clock: (Instant::now(), SystemTime::now()),
    };
    std::thread::Builder::new()
        .name("ricevo-stream".into())
        .spawn(move || worker.run(&receiver))
        .map_err(StreamError::Spawn)?;
    Ok((Feed { sender, shared: feed_shared }, Live { shared: live_shared }))
}

/// Writes the recording: the init segment, each complete segment, and the playlist.
#[derive(Debug)]
struct Recorder {
    dir: PathBuf,
    segments: Vec<(u64, f64)>,
    failed: bool,
}

impl Recorder {
    fn write(&mut self, name: &str, bytes: &[u8]) {
        if self.failed {
            return;
        }
        let temporary = self.dir.join(format!(".{name}.tmp"));
        let result = std::fs::write(&temporary, bytes).and_then(|()| std::fs::rename(&temporary, self.dir.join(name)));
        if let Err(error) = result {
            tracing::warn!(%error, dir = %self.dir.display(), "stream: recording stopped");
            self.failed = true;
        }
    }

    fn segment(&mut self, msn: u64, duration: f64, bytes: &[u8], ended: bool) {
        self.write(&format!("s{msn}.m4s"), bytes);
        self.segments.push((msn, duration));
        self.playlist(ended);
    }

    fn playlist(&mut self, ended: bool) {
        let text = playlist::recording_playlist(&self.segments, ended);
        self.write(PLAYLIST, text.as_bytes());
    }
}

/// The packager thread: the core plus publishing and recording.
#[derive(Debug)]
struct Worker {
    packager: Packager,
    timing: Timing,
    window: usize,
    feed: Arc<FeedShared>,
    live: Arc<LiveShared>,
    recorder: Option<Recorder>,
    /// Maps arrival instants to wall-clock time for EXT-X-PROGRAM-DATE-TIME.
    clock: (Instant, SystemTime),
}

impl Worker {
    fn run(mut self, receiver: &Receiver<FeedMessage>) {
        let mut outputs = Vec::new();
        while !self.packager.ended() {
            let message = match receiver.recv_timeout(Duration::from_millis(100)) {
                Ok(message) => message,
                Err(RecvTimeoutError::Timeout) if self.feed.end.load(Ordering::Acquire) => FeedMessage::End,
                Err(RecvTimeoutError::Timeout) => continue,
                // Every Feed is gone: the session is over.
                Err(RecvTimeoutError::Disconnected) => FeedMessage::End,
            };
            self.packager.handle(message, &mut outputs);
            self.feed.keyframe_wanted.store(self.packager.keyframe_wanted(), Ordering::Relaxed);
            if !outputs.is_empty() {
                self.publish(&mut outputs);
            }
        }
        tracing::debug!("stream: packager ended");
    }

    fn publish(&mut self, outputs: &mut Vec<Output>) {
        let mut published = self.live.lock();
        for output in outputs.drain(..) {
            match output {
                Output::Init(bytes) => {
                    if let Some(recorder) = &mut self.recorder {
                        recorder.write(INIT, &bytes);
                    }
                    published.init = Some(Bytes::from(bytes));
                }
                Output::Part { msn, part, data, duration, independent, started } => {
                    if part == 0 || published.segments.back().is_none_or(|s| s.msn != msn) {
                        let started = self.clock.1 + started.saturating_duration_since(self.clock.0);
                        published.segments.push_back(playlist::Segment {
                            msn,
                            parts: Vec::new(),
                            complete: None,
                            started,
                        });
                    }
                    if let Some(segment) = published.segments.back_mut() {
                        segment.parts.push(playlist::Part { bytes: Bytes::from(data), duration, independent });
                    }
                }
                Output::SegmentEnd { msn } => {
                    if let Some(segment) = published.segments.back_mut().filter(|s| s.msn == msn) {
                        let mut whole = Vec::with_capacity(segment.parts.iter().map(|p| p.bytes.len()).sum());
                        for part in &segment.parts {
                            whole.extend_from_slice(&part.bytes);
                        }
                        if let Some(recorder) = &mut self.recorder {
                            recorder.segment(msn, segment.duration(), &whole, false);
                        }
                        segment.complete = Some(Bytes::from(whole));
                    }
                    // Keep two segments beyond the window for players a little behind.
                    while published.segments.len() > self.window + 3 {
                        published.segments.pop_front();
                    }
                }
                Output::End => {
                    published.ended = true;
                    if let Some(recorder) = &mut self.recorder {
                        recorder.playlist(true);
                    }
                }
            }
        }
        published.render(self.window, self.timing.part_target, self.timing.target_duration);
        drop(published);
        self.live.version.send_modify(|v| *v += 1);
    }
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
    use std::time::{Duration, Instant};

    use crate::packager::{Packager, Timing};
    use crate::{FeedMessage, MediaKind, StreamPacket};

    /// Interprets `data` as a sequence of messages and feeds them to the packager core:
    /// each record is a control byte (bits 0-1: video/audio/show/end, bit 2: marker,
    /// bits 3-4: source), sequence (2 bytes), timestamp (4), length (1), payload.
    pub fn packager(data: &[u8]) {
        let mut packager = Packager::new(Timing { part_target: 0.5, segment_target: 2.0, target_duration: 3 });
        let start = Instant::now();
        let mut outputs = Vec::new();
        let mut rest = data;
        let mut step = 0u64;
        while rest.len() >= 8 {
            let control = rest[0];
            let sequence = u16::from_be_bytes([rest[1], rest[2]]);
            let timestamp = u32::from_be_bytes([rest[3], rest[4], rest[5], rest[6]]);
            let length = usize::from(rest[7]).min(rest.len() - 8);
            let payload = rest[8..8 + length].to_vec();
            rest = &rest[8 + length..];
            step += 1;
            let source = u64::from(control >> 3 & 3);
            let message = match control & 3 {
                0 | 1 => FeedMessage::Packet(StreamPacket {
                    kind: if control & 3 == 0 { MediaKind::Video } else { MediaKind::Audio },
                    source,
                    rtp_timestamp: timestamp,
                    sequence,
                    marker: control & 4 != 0,
                    payload,
                    arrived: start + Duration::from_millis(step * 10),
                    audio_level: Some(i8::try_from(sequence % 128).unwrap_or(0)),
                }),
                2 => FeedMessage::Show { video: source },
                _ => FeedMessage::End,
            };
            packager.handle(message, &mut outputs);
            let _ = packager.keyframe_wanted();
            outputs.clear();
        }
        packager.handle(FeedMessage::End, &mut outputs);
    }
}
