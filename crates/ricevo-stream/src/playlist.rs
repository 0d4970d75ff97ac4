//! What has been published (segments and parts) and its playlists (RFC 8216bis). Pure.

use std::collections::VecDeque;
use std::fmt::Write;
use std::time::SystemTime;

use bytes::Bytes;

use crate::{INIT, StreamError};

/// Parts are listed for this many of the newest segments (RFC 8216bis asks for at least
/// the last three target durations' worth).
const SEGMENTS_WITH_PARTS: usize = 3;
/// A blocking request may ask for at most this many parts beyond the last one.
const ADVANCE_PART_LIMIT: u64 = 3;

#[derive(Debug, Clone)]
pub(crate) struct Part {
    pub(crate) bytes: Bytes,
    pub(crate) duration: f64,
    pub(crate) independent: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct Segment {
    pub(crate) msn: u64,
    pub(crate) parts: Vec<Part>,
    /// The whole segment, once complete.
    pub(crate) complete: Option<Bytes>,
    pub(crate) started: SystemTime,
}

impl Segment {
    pub(crate) fn duration(&self) -> f64 {
        self.parts.iter().map(|p| p.duration).sum()
    }
}

/// The live stream's published state.
#[derive(Debug, Default)]
pub(crate) struct Published {
    pub(crate) init: Option<Bytes>,
    /// Oldest first; the newest may be incomplete.
    pub(crate) segments: VecDeque<Segment>,
    pub(crate) ended: bool,
    /// The live playlist, rendered once per change.
    pub(crate) playlist: Option<String>,
}

/// How a blocking request stands against the published state.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Readiness {
    Ready,
    Wait,
}

impl Published {
    /// The newest part, as (msn, index).
    fn last_part(&self) -> Option<(u64, u64)> {
        self.segments.iter().rev().find(|s| !s.parts.is_empty()).map(|s| (s.msn, s.parts.len() as u64 - 1))
    }

    fn last_msn(&self) -> Option<u64> {
        self.segments.back().map(|s| s.msn)
    }

    /// The next part a player will want (EXT-X-PRELOAD-HINT).
    pub(crate) fn hint(&self) -> Option<(u64, u64)> {
        if self.ended {
            return None;
        }
        let last = self.segments.back()?;
        Some(if last.complete.is_some() { (last.msn + 1, 0) } else { (last.msn, last.parts.len() as u64) })
    }

    /// LL-HLS blocking reload: is the playlist for `_HLS_msn`/`_HLS_part` ready?
    pub(crate) fn playlist_readiness(&self, msn: Option<u64>, part: Option<u32>) -> Result<Readiness, StreamError> {
        if self.ended {
            return Ok(Readiness::Ready);
        }
        if self.playlist.is_none() {
            return Ok(Readiness::Wait);
        }
        let Some(msn) = msn else {
            return if part.is_some() { Err(StreamError::BadRequest) } else { Ok(Readiness::Ready) };
        };
        let last_msn = self.last_msn().unwrap_or(0);
        if msn > last_msn + 2 {
            return Err(StreamError::TooFarAhead);
        }
        match part {
            None => {
                let done = self.segments.iter().any(|s| s.msn >= msn && s.complete.is_some());
                Ok(if done { Readiness::Ready } else { Readiness::Wait })
            }
            Some(part) => {
                let part = u64::from(part);
                let (last_msn, last_index) = self.last_part().unwrap_or((0, 0));
                if (msn, part) <= (last_msn, last_index) {
                    return Ok(Readiness::Ready);
                }
                let too_far = if msn == last_msn {
                    part > last_index + ADVANCE_PART_LIMIT
                } else {
                    msn > last_msn + 1 || part >= ADVANCE_PART_LIMIT
                };
                if too_far {
                    return Err(StreamError::TooFarAhead);
                }
                Ok(Readiness::Wait)
            }
        }
    }

    /// A complete segment, or whether to wait for it.
    pub(crate) fn segment(&self, msn: u64) -> Result<Option<Bytes>, StreamError> {
        if let Some(segment) = self.segments.iter().find(|s| s.msn == msn) {
            return match &segment.complete {
                Some(bytes) => Ok(Some(bytes.clone())),
                None if self.ended => Err(StreamError::NotFound),
                None => Ok(None),
            };
        }
        match self.hint() {
            Some((next, _)) if next == msn => Ok(None),
            Some((next, _)) if msn > next => Err(StreamError::TooFarAhead),
            _ => Err(StreamError::NotFound),
        }
    }

    /// A part, or whether to wait for it (only the hinted one is waited for).
    pub(crate) fn part(&self, msn: u64, index: u32) -> Result<Option<Bytes>, StreamError> {
        if let Some(part) = self.segments.iter().find(|s| s.msn == msn).and_then(|s| s.parts.get(index as usize)) {
            return Ok(Some(part.bytes.clone()));
        }
        match self.hint() {
            Some(hint) if hint == (msn, u64::from(index)) => Ok(None),
            Some(hint) if (msn, u64::from(index)) > hint => Err(StreamError::TooFarAhead),
            _ => Err(StreamError::NotFound),
        }
    }

    /// Renders the live playlist with at most `window` complete segments.
    pub(crate) fn render(&mut self, window: usize, part_target: f64, target_duration: u64) {
        if self.segments.iter().all(|s| s.parts.is_empty()) {
            self.playlist = None;
            return;
        }
        let complete = self.segments.iter().filter(|s| s.complete.is_some()).count();
        let skip = complete.saturating_sub(window.max(1));
        let shown: Vec<&Segment> = self.segments.iter().skip(skip).collect();
        let mut out = String::with_capacity(256 + shown.len() * 400);
        let _ = write!(
            out,
            "#EXTM3U\n#EXT-X-VERSION:9\n#EXT-X-TARGETDURATION:{target_duration}\n\
             #EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK={:.3}\n\
             #EXT-X-PART-INF:PART-TARGET={part_target:.3}\n#EXT-X-MEDIA-SEQUENCE:{}\n\
             #EXT-X-MAP:URI=\"{INIT}\"\n",
            part_target * 3.0,
            shown.first().map_or(0, |s| s.msn),
        );
        let with_parts = shown.len().saturating_sub(SEGMENTS_WITH_PARTS);
        for (i, segment) in shown.iter().enumerate() {
            if segment.parts.is_empty() {
                continue;
            }
            let _ = writeln!(out, "#EXT-X-PROGRAM-DATE-TIME:{}", date_time(segment.started));
            if i >= with_parts {
                for (index, part) in segment.parts.iter().enumerate() {
                    let _ =
                        write!(out, "#EXT-X-PART:DURATION={:.5},URI=\"s{}.{index}.m4s\"", part.duration, segment.msn);
                    out.push_str(if part.independent { ",INDEPENDENT=YES\n" } else { "\n" });
                }
            }
            if segment.complete.is_some() {
                let _ = write!(out, "#EXTINF:{:.5},\ns{}.m4s\n", segment.duration(), segment.msn);
            }
        }
        if self.ended {
            out.push_str("#EXT-X-ENDLIST\n");
        } else if let Some((msn, part)) = self.hint() {
            let _ = writeln!(out, "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"s{msn}.{part}.m4s\"");
        }
        self.playlist = Some(out);
    }
}

/// The recording's playlist: every segment, EVENT while live and VOD with ENDLIST at the end.
pub(crate) fn recording_playlist(segments: &[(u64, f64)], ended: bool) -> String {
    let longest = segments.iter().map(|s| s.1).fold(1.0, f64::max);
    let mut out = format!(
        "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:{}\n#EXT-X-PLAYLIST-TYPE:{}\n\
         #EXT-X-MEDIA-SEQUENCE:{}\n#EXT-X-MAP:URI=\"{INIT}\"\n",
        longest.round() as u64,
        if ended { "VOD" } else { "EVENT" },
        segments.first().map_or(0, |s| s.0),
    );
    for (msn, duration) in segments {
        let _ = write!(out, "#EXTINF:{duration:.5},\ns{msn}.m4s\n");
    }
    if ended {
        out.push_str("#EXT-X-ENDLIST\n");
    }
    out
}

fn date_time(time: SystemTime) -> String {
    jiff::Timestamp::try_from(time).map(|t| t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()).unwrap_or_default()
}
