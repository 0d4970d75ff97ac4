//! The packager's pure core: feed messages in, init segment, parts and segment ends out.
//! Time comes only from the packets' arrival instants.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::h264::{AccessUnit, Depacketizer, parse_sps};
use crate::mux::{AUDIO_TIMESCALE, Sample, VIDEO_TIMESCALE, fragment, init_segment, opus_duration};
use crate::{FeedMessage, MediaKind, StreamPacket};

/// Chrome's Opus silence frame (20 ms, CELT fullband), used to fill audio gaps so that the
/// audio track never stalls a player while nobody speaks.
const OPUS_SILENCE: [u8; 3] = [0xf8, 0xff, 0xfe];
const OPUS_FRAME: u32 = 960;
/// Audio missing for longer than this at a part's end is filled with silence.
const AUDIO_SLACK: f64 = 0.2;
/// A video timestamp jump beyond this is a discontinuity: re-based by arrival time.
const MAX_VIDEO_STEP: i64 = 5 * 90_000;
/// Audio gaps up to this long are filled with silence; longer ones are closed up.
const MAX_AUDIO_FILL: i64 = 5 * 48_000;
/// Audio sources switch only after the current one was quieter (or silent) for this long.
const AUDIO_HOLD: Duration = Duration::from_millis(300);
/// How much louder (dB) another source must be to take over the audio.
const AUDIO_MARGIN: f64 = 6.0;

/// How segments and parts are cut, in seconds.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timing {
    pub(crate) part_target: f64,
    pub(crate) segment_target: f64,
    /// EXT-X-TARGETDURATION: no segment is longer (cut without a keyframe if need be).
    pub(crate) target_duration: u64,
}

impl Timing {
    /// A segment may end at a keyframe once it is this long; keyframes are wanted from then on.
    fn segment_min(&self) -> f64 {
        (self.segment_target - self.part_target).max(self.part_target)
    }
}

/// What the core produced.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Output {
    Init(Vec<u8>),
    Part {
        msn: u64,
        part: u32,
        data: Vec<u8>,
        duration: f64,
        independent: bool,
        /// When the part's first sample arrived (for EXT-X-PROGRAM-DATE-TIME).
        started: Instant,
    },
    SegmentEnd {
        msn: u64,
    },
    End,
}

#[derive(Debug)]
struct HeldVideo {
    dts: u64,
    data: Vec<u8>,
    sync: bool,
    arrived: Instant,
}

#[derive(Debug, Default)]
struct Clock {
    last_rtp: u32,
    extended: i64,
    offset: i64,
}

impl Clock {
    fn rebase(&mut self, rtp: u32, dts: u64) {
        self.last_rtp = rtp;
        self.extended = i64::from(rtp);
        self.offset = i64::try_from(dts).unwrap_or(i64::MAX) - self.extended;
    }

    fn advance(&mut self, rtp: u32) -> i64 {
        self.extended += i64::from(rtp.wrapping_sub(self.last_rtp) as i32);
        self.last_rtp = rtp;
        self.extended + self.offset
    }
}

#[derive(Debug)]
struct Level {
    loudness: f64,
    last: Instant,
}

/// The packager core for one stream.
#[derive(Debug)]
pub(crate) struct Packager {
    timing: Timing,
    depacketizers: HashMap<u64, Depacketizer>,
    shown: Option<u64>,
    wanted: Option<u64>,
    origin: Option<Instant>,
    video_clock: Clock,
    held: Option<HeldVideo>,
    last_video_duration: u32,
    audio_source: Option<u64>,
    audio_switched: Option<Instant>,
    audio_clock: Clock,
    audio_end: u64,
    audio_rebase: bool,
    levels: HashMap<u64, Level>,
    part_video: Vec<Sample>,
    part_audio: Vec<Sample>,
    /// Seconds since the origin where the open segment and part began.
    segment_start: Option<f64>,
    part_start: f64,
    part_independent: bool,
    latest: f64,
    msn: u64,
    part: u32,
    fragment_sequence: u32,
    ended: bool,
    scratch: Vec<AccessUnit>,
}

impl Packager {
    pub(crate) fn new(timing: Timing) -> Self {
        Self {
            timing,
            depacketizers: HashMap::new(),
            shown: None,
            wanted: None,
            origin: None,
            video_clock: Clock::default(),
            held: None,
            last_video_duration: 3000,
            audio_source: None,
            audio_switched: None,
            audio_clock: Clock::default(),
            audio_end: 0,
            audio_rebase: true,
            levels: HashMap::new(),
            part_video: Vec::new(),
            part_audio: Vec::new(),
            segment_start: None,
            part_start: 0.0,
            part_independent: false,
            latest: 0.0,
            msn: 0,
            part: 0,
            fragment_sequence: 1,
            ended: false,
            scratch: Vec::new(),
        }
    }

    /// True when a keyframe of the shown (or about to be shown) source would help: at the
    /// start, after a `Show`, after a loss, and when a segment may end.
    pub(crate) fn keyframe_wanted(&self) -> bool {
        if self.ended {
            return false;
        }
        if self.wanted.is_some() || self.segment_start.is_none() {
            return true;
        }
        let waiting = self.shown.and_then(|s| self.depacketizers.get(&s)).is_some_and(Depacketizer::waiting_for_idr);
        waiting || self.segment_start.is_some_and(|start| self.latest - start >= self.timing.segment_min())
    }

    pub(crate) fn ended(&self) -> bool {
        self.ended
    }

    /// Handles one message; outputs are appended to `out`.
    pub(crate) fn handle(&mut self, message: FeedMessage, out: &mut Vec<Output>) {
        if self.ended {
            return;
        }
        match message {
            FeedMessage::Packet(packet) => match packet.kind {
                MediaKind::Video => self.video_packet(&packet, out),
                MediaKind::Audio => self.audio_packet(&packet, out),
            },
            FeedMessage::Show { video } => {
                if self.shown != Some(video) {
                    self.wanted = Some(video);
                    self.depacketizers.retain(|s, _| Some(*s) == self.shown);
                } else {
                    self.wanted = None;
                }
            }
            FeedMessage::End => self.end(out),
        }
    }

    fn video_packet(&mut self, packet: &StreamPacket, out: &mut Vec<Output>) {
        let source = packet.source;
        let relevant = match (self.shown, self.wanted) {
            (None, None) => true,
            (shown, wanted) => shown == Some(source) || wanted == Some(source),
        };
        if !relevant {
            return;
        }
        let mut units = std::mem::take(&mut self.scratch);
        let depacketizer = self.depacketizers.entry(source).or_default();
        depacketizer.push(packet.sequence, packet.rtp_timestamp, packet.marker, &packet.payload, &mut units);
        for unit in units.drain(..) {
            self.access_unit(source, &unit, packet.arrived, out);
        }
        self.scratch = units;
    }

    fn access_unit(&mut self, source: u64, unit: &AccessUnit, arrived: Instant, out: &mut Vec<Output>) {
        let switching = match (self.shown, self.wanted) {
            (Some(shown), _) if shown == source && self.wanted.is_none() => false,
            (_, Some(wanted)) if wanted == source => unit.idr,
            (None, None) => unit.idr,
            (Some(shown), _) if shown == source => false,
            _ => return,
        };
        if switching {
            if self.origin.is_none() && !self.start(source, arrived, out) {
                return;
            }
            self.shown = Some(source);
            self.wanted = None;
            self.depacketizers.retain(|s, _| *s == source);
        } else if self.shown != Some(source) {
            return;
        }
        let Some(origin) = self.origin else {
            return;
        };
        let dts = match &self.held {
            None => {
                let dts = seconds_to(arrived.saturating_duration_since(origin), VIDEO_TIMESCALE);
                self.video_clock.rebase(unit.rtp_timestamp, dts);
                dts
            }
            Some(held) => {
                let by_rtp = self.video_clock.advance(unit.rtp_timestamp);
                let held_dts = i64::try_from(held.dts).unwrap_or(i64::MAX);
                if switching || by_rtp <= held_dts || by_rtp - held_dts > MAX_VIDEO_STEP {
                    let step =
                        seconds_to(arrived.saturating_duration_since(held.arrived), VIDEO_TIMESCALE).clamp(1, 90_000);
                    let dts = held.dts + step;
                    self.video_clock.rebase(unit.rtp_timestamp, dts);
                    dts
                } else {
                    u64::try_from(by_rtp).unwrap_or(0)
                }
            }
        };
        let next = HeldVideo { dts, data: unit.to_avcc(), sync: unit.idr, arrived };
        if let Some(held) = self.held.replace(next) {
            let duration = u32::try_from(dts - held.dts).unwrap_or(90_000);
            self.last_video_duration = duration;
            self.place_video(held, duration, out);
        }
    }

    /// The first keyframe: the init segment is made from its parameter sets.
    fn start(&mut self, source: u64, arrived: Instant, out: &mut Vec<Output>) -> bool {
        let Some((sps, pps)) = self.depacketizers.get(&source).and_then(Depacketizer::parameter_sets) else {
            return false;
        };
        let Some(info) = parse_sps(sps) else {
            return false;
        };
        match init_segment(sps, pps, info) {
            Ok(init) => out.push(Output::Init(init)),
            Err(error) => {
                tracing::warn!(%error, "stream: init segment not encoded");
                return false;
            }
        }
        self.origin = Some(arrived);
        true
    }

    fn place_video(&mut self, held: HeldVideo, duration: u32, out: &mut Vec<Output>) {
        let t = held.dts as f64 / f64::from(VIDEO_TIMESCALE);
        let end = t + f64::from(duration) / f64::from(VIDEO_TIMESCALE);
        self.latest = self.latest.max(t);
        match self.segment_start {
            None => {
                if !held.sync {
                    return;
                }
                self.segment_start = Some(t);
                self.part_start = t;
                self.part_independent = true;
            }
            Some(start) => {
                let due = t - start >= self.timing.segment_min();
                let too_long = end - start > self.timing.target_duration as f64;
                if (held.sync && due) || too_long {
                    self.close_part(t, out);
                    out.push(Output::SegmentEnd { msn: self.msn });
                    self.msn += 1;
                    self.part = 0;
                    self.segment_start = Some(t);
                    self.part_start = t;
                    self.part_independent = held.sync;
                } else if end - self.part_start > self.timing.part_target + 1e-6 {
                    self.close_part(t, out);
                    self.part_start = t;
                    self.part_independent = held.sync;
                }
            }
        }
        if self.part_video.is_empty() && held.sync {
            self.part_independent |= self.part_audio.is_empty();
        }
        self.part_video.push(Sample { dts: held.dts, duration, sync: held.sync, data: held.data });
    }

    fn close_part(&mut self, until: f64, out: &mut Vec<Output>) {
        if self.part_video.is_empty() && self.part_audio.is_empty() {
            return;
        }
        // Nobody speaking (or no audio source): silence, so players do not wait for audio.
        let audio_until = seconds_f64_to(until, AUDIO_TIMESCALE);
        if (self.audio_end as f64) < (until - AUDIO_SLACK) * f64::from(AUDIO_TIMESCALE) {
            self.fill_silence(audio_until);
            self.audio_rebase = true;
        }
        let video = std::mem::take(&mut self.part_video);
        let audio = std::mem::take(&mut self.part_audio);
        match fragment(self.fragment_sequence, &video, &audio) {
            Ok(data) => {
                self.fragment_sequence = self.fragment_sequence.wrapping_add(1);
                let started = self.origin.map(|o| o + Duration::from_secs_f64(self.part_start.max(0.0)));
                out.push(Output::Part {
                    msn: self.msn,
                    part: self.part,
                    data,
                    duration: (until - self.part_start).max(0.001),
                    independent: self.part_independent && video.first().is_some_and(|s| s.sync),
                    started: started.unwrap_or_else(Instant::now),
                });
                self.part += 1;
            }
            Err(error) => tracing::warn!(%error, "stream: fragment not encoded"),
        }
    }

    fn fill_silence(&mut self, until: u64) {
        if self.segment_start.is_none() {
            return;
        }
        let gap = i64::try_from(until).unwrap_or(0) - i64::try_from(self.audio_end).unwrap_or(0);
        if gap <= 0 || gap > MAX_AUDIO_FILL {
            return;
        }
        while self.audio_end + u64::from(OPUS_FRAME) <= until {
            self.part_audio.push(Sample {
                dts: self.audio_end,
                duration: OPUS_FRAME,
                sync: true,
                data: OPUS_SILENCE.to_vec(),
            });
            self.audio_end += u64::from(OPUS_FRAME);
        }
    }

    fn audio_packet(&mut self, packet: &StreamPacket, out: &mut Vec<Output>) {
        let source = packet.source;
        if let Some(level) = packet.audio_level {
            // RFC 6464 levels are -dBov; accept them signed or not.
            let loudness = -f64::from(level.unsigned_abs());
            let entry = self.levels.entry(source).or_insert(Level { loudness, last: packet.arrived });
            entry.loudness = entry.loudness * 0.7 + loudness * 0.3;
            entry.last = packet.arrived;
        } else {
            self.levels.entry(source).or_insert(Level { loudness: -127.0, last: packet.arrived }).last = packet.arrived;
        }
        self.choose_audio(source, packet.arrived);
        if self.audio_source != Some(source) || self.segment_start.is_none() {
            return;
        }
        let Some(origin) = self.origin else {
            return;
        };
        if packet.arrived < origin {
            return;
        }
        let end = i64::try_from(self.audio_end).unwrap_or(i64::MAX);
        let target = if self.audio_rebase {
            self.audio_rebase = false;
            i64::try_from(seconds_to(packet.arrived - origin, AUDIO_TIMESCALE)).unwrap_or(end)
        } else {
            self.audio_clock.advance(packet.rtp_timestamp)
        };
        if target > end && target - end <= MAX_AUDIO_FILL {
            self.fill_silence(u64::try_from(target).unwrap_or(0));
        }
        let dts = self.audio_end;
        self.audio_clock.rebase(packet.rtp_timestamp, dts);
        let duration = opus_duration(&packet.payload).unwrap_or(OPUS_FRAME);
        self.audio_end += u64::from(duration);
        let t = dts as f64 / f64::from(AUDIO_TIMESCALE);
        let sample_end = self.audio_end as f64 / f64::from(AUDIO_TIMESCALE);
        if sample_end - self.part_start > self.timing.part_target + 1e-6 && !self.part_video.is_empty() {
            // The part ends where video goes on; audio leads at most by one packet.
            self.close_part(t, out);
            self.part_start = t;
            self.part_independent = false;
        }
        self.part_audio.push(Sample { dts, duration, sync: true, data: packet.payload.clone() });
    }

    /// Per packet run: the current source keeps the audio unless another one has been
    /// clearly louder, or the current one fell silent (no packets) for a while.
    fn choose_audio(&mut self, source: u64, now: Instant) {
        let Some(current) = self.audio_source else {
            self.audio_source = Some(source);
            self.audio_switched = Some(now);
            self.audio_rebase = true;
            return;
        };
        if current == source {
            return;
        }
        if self.audio_switched.is_some_and(|at| now.saturating_duration_since(at) < AUDIO_HOLD) {
            return;
        }
        let candidate = self.levels.get(&source).map_or(-127.0, |l| l.loudness);
        let (current_loudness, current_last) =
            self.levels.get(&current).map_or((-127.0, now), |l| (l.loudness, l.last));
        let gone = now.saturating_duration_since(current_last) >= AUDIO_HOLD;
        if gone || candidate > current_loudness + AUDIO_MARGIN {
            self.audio_source = Some(source);
            self.audio_switched = Some(now);
            self.audio_rebase = true;
        }
    }

    fn end(&mut self, out: &mut Vec<Output>) {
        if let Some(held) = self.held.take() {
            let duration = self.last_video_duration;
            self.place_video(held, duration, out);
        }
        if self.segment_start.is_some() {
            let video_end = self
                .part_video
                .last()
                .map_or(0.0, |s| (s.dts + u64::from(s.duration)) as f64 / f64::from(VIDEO_TIMESCALE));
            let audio_end = self
                .part_audio
                .last()
                .map_or(0.0, |s| (s.dts + u64::from(s.duration)) as f64 / f64::from(AUDIO_TIMESCALE));
            let until = video_end.max(audio_end).max(self.part_start + 0.001);
            self.close_part(until, out);
            if self.part > 0 {
                out.push(Output::SegmentEnd { msn: self.msn });
            }
        }
        self.ended = true;
        out.push(Output::End);
    }
}

fn seconds_to(duration: Duration, timescale: u32) -> u64 {
    u64::try_from(duration.as_nanos() * u128::from(timescale) / 1_000_000_000).unwrap_or(u64::MAX)
}

fn seconds_f64_to(seconds: f64, timescale: u32) -> u64 {
    (seconds.max(0.0) * f64::from(timescale)) as u64
}
