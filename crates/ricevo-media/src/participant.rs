//! One participant of a room: its str0m session and the tracks it sends and receives.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::time::{Duration, Instant};

use str0m::change::SdpPendingOffer;
use str0m::media::Pt;
use str0m::media::{Direction, KeyframeRequestKind, MediaKind, Mid, Rid, Rids};
use str0m::rtp::{SeqNo, Ssrc};
use str0m::{Reason, Rtc};

use crate::bandwidth::DownlinkEstimate;
use crate::simulcast::{LayerForward, LayerStats, available_layer, order_rids};
use crate::{MediaEvent, ParticipantId, Permissions, RoomId, Source, TrackKind, View};

/// Keyframe requests to one sender's track are sent at most this often; a burst of PLIs from
/// several receivers (or from one receiver after a loss) costs the sender only one keyframe.
const KEYFRAME_REQUEST_INTERVAL: Duration = Duration::from_millis(500);
/// Every receiver's downlink estimate starts here (bit/s): video flows until reports say
/// otherwise.
const INITIAL_ESTIMATE_BPS: u64 = 1_000_000;
/// How long a timer run that only str0m's pacer asks for may be put off (see
/// [`Participant::next_run`]). str0m's other timers (receiver and sender reports, NACK and TWCC
/// feedback) run at intervals of 50 ms and more, so they barely notice.
const PACER_RECHECK: Duration = Duration::from_millis(10);

/// A map keyed by ids the server chose or few small numbers (participant ids, SSRCs of a
/// session's negotiated streams): looked up several times per forwarded packet, so hashed with
/// a multiply rather than SipHash (no key here comes from an unbounded outside set).
pub(crate) type IdMap<K, V> = HashMap<K, V, BuildHasherDefault<IdHasher>>;

/// A multiplicative hasher for [`IdMap`] keys (integers).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct IdHasher(u64);

impl IdHasher {
    const K: u64 = 0xf135_7aea_2e62_a9c5;

    fn add(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(26) ^ n).wrapping_mul(Self::K);
    }
}

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.add(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }

    fn write_i64(&mut self, n: i64) {
        self.add(n as u64);
    }
}

/// A track this participant's browser sends to the server.
#[derive(Debug)]
pub(crate) struct TrackIn {
    pub(crate) mid: Mid,
    pub(crate) kind: TrackKind,
    pub(crate) source: Source,
    last_keyframe_request: Option<Instant>,
    /// Simulcast layers (lowest first), by the rids the browser announced; empty when the
    /// track is a single stream.
    pub(crate) layers: Vec<LayerStats>,
    /// When a keyframe of each layer was last asked for.
    layer_keyframe_requests: Vec<Option<Instant>>,
}

impl TrackIn {
    /// The layer a rid names.
    pub(crate) fn layer_of(&self, rid: Rid) -> Option<usize> {
        self.layers.iter().position(|l| l.rid == rid)
    }

    /// The highest layer that flows (the top one when none flows yet); `None` for a track
    /// without layers.
    pub(crate) fn top_layer(&self, now: Instant) -> Option<usize> {
        let top = self.layers.len().checked_sub(1)?;
        Some(available_layer(&self.layers, top, now))
    }
}

/// Where an outgoing track stands in the offer/answer dance with this participant's browser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OutState {
    /// Waiting for the next server offer.
    ToOpen,
    /// In an offer the browser has not answered yet.
    Negotiating,
    /// Answered: media flows.
    Open,
    /// In an offer that stops it; dropped when the browser answers.
    NegotiatingStop,
}

/// A receive-only m-line of the browser's offer, kept for other participants' tracks: a track
/// placed on a fresh one flows without any renegotiation (the answer already sends on it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Slot {
    pub(crate) mid: Mid,
    pub(crate) kind: TrackKind,
    pub(crate) state: SlotState,
}

/// What a [`Slot`] carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SlotState {
    /// Never used: sending in the answer, so a track placed here needs no offer.
    Fresh,
    /// Carries a track (or an offer giving it one, or stopping it, is out).
    Busy,
    /// Its track ended and an offer made it inactive: a new track needs an offer (and gets a
    /// new SSRC, so the browser starts a new receive stream).
    Idle,
}

/// Another participant's track, sent to this participant.
#[derive(Debug)]
pub(crate) struct TrackOut {
    /// The mid in this participant's session, once offered.
    pub(crate) mid: Option<Mid>,
    pub(crate) from: ParticipantId,
    pub(crate) from_mid: Mid,
    pub(crate) kind: TrackKind,
    pub(crate) source: Source,
    pub(crate) state: OutState,
    /// The sender left; the m-line must be stopped at the next offer.
    pub(crate) gone: bool,
    /// Maps the sender's sequence numbers to this receiver's stream.
    pub(crate) sequence: SequenceRewrite,
    /// The last payload type mapping used: the sender's, this receiver's (saves matching
    /// codec parameters for every packet).
    pub(crate) pt: Option<(Pt, Pt)>,
    /// For a simulcast source: the layer forwarded and the numbers of the receiver's stream.
    pub(crate) layer: LayerForward,
}

/// Sequence numbers of a forwarded stream: the sender's, shifted so that packets the router
/// did not forward (video paused for an audio-only or starved receiver) leave no gap, which the
/// receiver would otherwise take for loss and ask to be resent.
#[derive(Debug, Default)]
pub(crate) struct SequenceRewrite {
    /// Added to the sender's (extended) sequence number; set at the first packet.
    offset: Option<i64>,
    /// The highest number written so far.
    last: Option<u64>,
    /// Packets were skipped: the next forwarded one continues right after `last`.
    skipped: bool,
}

impl SequenceRewrite {
    /// The receiver's sequence number for the sender's `incoming`; `None` for a packet from
    /// before a skip (a late retransmission) that no longer has a place.
    pub(crate) fn rewrite(&mut self, incoming: SeqNo) -> Option<SeqNo> {
        let incoming = i64::try_from(*incoming).ok()?;
        let offset = match (self.offset, self.skipped, self.last) {
            (Some(offset), false, _) => offset,
            (_, _, Some(last)) => i64::try_from(last).ok()? + 1 - incoming,
            (_, _, None) => 0,
        };
        self.offset = Some(offset);
        self.skipped = false;
        let out = u64::try_from(incoming + offset).ok()?;
        self.last = Some(self.last.map_or(out, |l| l.max(out)));
        Some(out.into())
    }

    /// A packet of the stream was not forwarded.
    pub(crate) fn skip(&mut self) {
        self.skipped = true;
    }
}

/// One participant: a str0m `Rtc` plus the router's bookkeeping.
#[derive(Debug)]
pub(crate) struct Participant {
    pub(crate) id: ParticipantId,
    pub(crate) room: RoomId,
    pub(crate) rtc: Rtc,
    pub(crate) permissions: Permissions,
    /// Sources of the browser's offered m-lines, by mid (from the initial offer's order).
    pub(crate) sources: HashMap<String, Source>,
    pub(crate) muted: bool,
    pub(crate) audio_only: bool,
    /// Video flows to this participant as far as its bandwidth estimate goes.
    pub(crate) bwe_video: bool,
    /// This participant's downlink, as its receiver reports tell it.
    pub(crate) downlink: DownlinkEstimate,
    pub(crate) tracks_in: Vec<TrackIn>,
    pub(crate) tracks_out: Vec<TrackOut>,
    pub(crate) pending: Option<SdpPendingOffer>,
    /// Receive-only m-lines of the browser's offer, for other participants' tracks.
    pub(crate) slots: Vec<Slot>,
    /// ICE and DTLS came up (str0m's `Connected`, which comes once). Not `Rtc::is_connected`:
    /// that turns false during an ICE disconnect, and no second `Connected` would then ask for
    /// the keyframes held back until the connection was up.
    pub(crate) connected: bool,
    /// Tracks were added or removed since the last offer.
    pub(crate) needs_offer: bool,
    pub(crate) next_timeout: Instant,
    /// Queued in the router's list of participants to poll.
    pub(crate) ready: bool,
    /// Media packets written towards this browser that str0m has not sent yet (as far as the
    /// router can tell; see [`Participant::next_run`]).
    unsent: u32,
    /// str0m looked at the send queues (a timer run), and since then nothing was written and
    /// no RTP left.
    queues_fresh: bool,
    /// The mid (and rid, for a simulcast layer) of each incoming SSRC seen so far.
    ssrc_mids: IdMap<Ssrc, (Mid, Option<Rid>)>,
    /// Whose video this participant sees, and how large (`None`: everyone's, at the top layer).
    pub(crate) view: Option<View>,
    /// When the simulcast layers this participant receives are next chosen again.
    pub(crate) next_allocation: Instant,
}

impl Participant {
    pub(crate) fn new(
        id: ParticipantId,
        room: RoomId,
        rtc: Rtc,
        permissions: Permissions,
        sources: HashMap<String, Source>,
        slots: Vec<Slot>,
        now: Instant,
    ) -> Participant {
        Participant {
            id,
            room,
            rtc,
            permissions,
            sources,
            muted: false,
            audio_only: false,
            bwe_video: true,
            downlink: DownlinkEstimate::new(INITIAL_ESTIMATE_BPS),
            tracks_in: Vec::new(),
            tracks_out: Vec::new(),
            pending: None,
            slots,
            connected: false,
            needs_offer: false,
            next_timeout: now,
            ready: false,
            unsent: 0,
            queues_fresh: false,
            ssrc_mids: IdMap::default(),
            view: None,
            next_allocation: now,
        }
    }

    /// str0m has just run this session's timers, which includes looking at its send queues.
    pub(crate) fn timers_ran(&mut self) {
        self.queues_fresh = true;
    }

    /// The router wrote a media packet for str0m to send to this browser.
    pub(crate) fn written(&mut self) {
        self.unsent = self.unsent.saturating_add(1);
        self.queues_fresh = false;
    }

    /// A datagram left this session: RTP other than a retransmission takes one written packet
    /// off [`Participant::unsent`].
    pub(crate) fn sent(&mut self, datagram: &[u8]) {
        let Some(pt) = rtp_payload_type(datagram) else {
            return;
        };
        self.queues_fresh = false;
        let retransmission = self.rtc.codec_config().params().iter().any(|p| p.resend().is_some_and(|r| *r == pt));
        if !retransmission {
            self.unsent = self.unsent.saturating_sub(1);
        }
    }

    /// When to run this session's timers, given the time str0m asked for (`at`).
    ///
    /// Without a bandwidth estimator str0m paces nothing, but its null pacer still asks for a
    /// timer run right after every send, only to refresh its view of the send queues (about a
    /// third of all timer runs at 100 meetings). When everything the router wrote has left, that
    /// run finds nothing: it is put off by [`PACER_RECHECK`]. A new packet brings the run
    /// forward again (str0m then asks for it as `SendStream`). While written packets remain,
    /// the run happens at once, as str0m asked: its pacer picks queues from the view of the last
    /// run, so it can stop with packets still queued, and only a run sends them.
    pub(crate) fn next_run(&mut self, at: Instant, now: Instant) -> Instant {
        if self.queues_fresh {
            // Looked at, and nothing left: the queues are empty whatever the count says (str0m
            // drops a packet whose payload type the browser does not take).
            self.unsent = 0;
        }
        let pacer_only = matches!(self.rtc.last_timeout_reason(), Reason::Pacer(_));
        if at <= now && pacer_only && self.unsent == 0 { now + PACER_RECHECK } else { at }
    }

    /// Whether this participant may send media from `source` into the room.
    pub(crate) fn may_send(&self, source: Source) -> bool {
        match source {
            Source::Microphone => self.permissions.send_audio,
            Source::Camera => self.permissions.send_video,
            Source::Screen => self.permissions.share_screen,
        }
    }

    /// Whether media from `source` is forwarded right now (permitted and not muted).
    pub(crate) fn forwards(&self, source: Source) -> bool {
        self.may_send(source) && !(source == Source::Microphone && self.muted)
    }

    /// Whether video is forwarded to this participant right now.
    pub(crate) fn receives_video(&self) -> bool {
        !self.audio_only && self.bwe_video
    }

    /// Takes another participant's track towards this browser. On a fresh slot of its kind it
    /// is open at once and the `Track` event telling the browser whose it is comes back;
    /// otherwise it waits for the next server offer.
    pub(crate) fn add_track_out(&mut self, mut track: TrackOut) -> Option<MediaEvent> {
        let slot = self.slots.iter_mut().find(|s| s.kind == track.kind && s.state == SlotState::Fresh);
        let Some(slot) = slot else {
            self.tracks_out.push(track);
            self.needs_offer = true;
            return None;
        };
        slot.state = SlotState::Busy;
        track.mid = Some(slot.mid);
        track.state = OutState::Open;
        let event =
            MediaEvent::Track { mid: slot.mid.to_string(), from: track.from, kind: track.kind, source: track.source };
        self.tracks_out.push(track);
        Some(event)
    }

    /// Records a track the browser offered to send, if it is one of the known sources.
    pub(crate) fn add_track_in(&mut self, mid: Mid, kind: MediaKind) -> Option<&TrackIn> {
        let source = *self.sources.get(&mid.to_string())?;
        let kind = match kind {
            MediaKind::Audio => TrackKind::Audio,
            MediaKind::Video => TrackKind::Video,
        };
        if self.tracks_in.iter().any(|t| t.mid == mid) {
            return None;
        }
        let rids = match self.rtc.media(mid).map(|m| m.rids_rx()) {
            Some(Rids::Specific(rids)) if kind == TrackKind::Video => order_rids(rids),
            _ => Vec::new(),
        };
        let layers: Vec<LayerStats> = rids.into_iter().map(LayerStats::new).collect();
        let layer_keyframe_requests = vec![None; layers.len()];
        self.tracks_in.push(TrackIn {
            mid,
            kind,
            source,
            last_keyframe_request: None,
            layers,
            layer_keyframe_requests,
        });
        self.tracks_in.last()
    }

    /// The mid (and the rid of a simulcast layer) an incoming RTP stream belongs to.
    pub(crate) fn stream_of_ssrc(&mut self, ssrc: Ssrc) -> Option<(Mid, Option<Rid>)> {
        if let Some(found) = self.ssrc_mids.get(&ssrc) {
            return Some(*found);
        }
        let mut api = self.rtc.direct_api();
        let stream = api.stream_rx(&ssrc)?;
        let found = (stream.mid(), stream.rid());
        self.ssrc_mids.insert(ssrc, found);
        Some(found)
    }

    pub(crate) fn track_in(&self, mid: Mid) -> Option<&TrackIn> {
        self.tracks_in.iter().find(|t| t.mid == mid)
    }

    pub(crate) fn track_in_mut(&mut self, mid: Mid) -> Option<&mut TrackIn> {
        self.tracks_in.iter_mut().find(|t| t.mid == mid)
    }

    /// Whether this participant's view lets `from`'s video through (no view: everyone's).
    pub(crate) fn sees(&self, from: ParticipantId) -> bool {
        self.view.as_ref().is_none_or(|v| v.large.contains(&from) || v.small.contains(&from))
    }

    /// Asks this participant's browser for a keyframe on one of its tracks, unless one was
    /// asked for very recently. Returns whether a request went out.
    ///
    /// On a simulcast track the request goes to `layer` (the top one when `None`).
    pub(crate) fn request_keyframe(&mut self, mid: Mid, layer: Option<usize>, now: Instant) -> bool {
        let Some(track) = self.tracks_in.iter_mut().find(|t| t.mid == mid) else {
            return false;
        };
        if track.kind != TrackKind::Video {
            return false;
        }
        let (rid, last) = if track.layers.is_empty() {
            (None, &mut track.last_keyframe_request)
        } else {
            let top = track.layers.len() - 1;
            let layer = layer.unwrap_or(top).min(top);
            let rid = track.layers.get(layer).map(|l| l.rid);
            let Some(last) = track.layer_keyframe_requests.get_mut(layer) else {
                return false;
            };
            (rid, last)
        };
        if last.is_some_and(|at| now.saturating_duration_since(at) < KEYFRAME_REQUEST_INTERVAL) {
            return false;
        }
        let mut api = self.rtc.direct_api();
        let Some(stream) = api.stream_rx_by_mid(mid, rid) else {
            // No packet has arrived yet on that track: nothing to ask for.
            return false;
        };
        // Browsers negotiate PLI everywhere and FIR not always: a receiver's FIR is passed on
        // as a PLI.
        stream.request_keyframe(KeyframeRequestKind::Pli);
        *last = Some(now);
        true
    }
}

/// The payload type of an RTP datagram; `None` for RTCP, STUN and DTLS (RFC 7983, RFC 5761).
/// SRTP leaves the RTP header in the clear.
pub(crate) fn rtp_payload_type(datagram: &[u8]) -> Option<u8> {
    match datagram {
        [first, second, ..] if (128..=191).contains(first) && !(192..=223).contains(second) => Some(second & 0x7f),
        _ => None,
    }
}

/// One audio or video m-line of a browser's offer: its mid, kind and direction (as the
/// browser sees it).
struct OfferedLine<'a> {
    mid: &'a str,
    kind: MediaKind,
    direction: Direction,
}

/// The audio and video m-lines of an SDP, in order.
fn offered_lines(sdp: &str) -> Vec<OfferedLine<'_>> {
    let mut lines: Vec<OfferedLine<'_>> = Vec::new();
    // The m-line being read: its kind (None for other media), mid and direction.
    let mut kind: Option<MediaKind> = None;
    let mut mid: Option<&str> = None;
    let mut direction = Direction::SendRecv;
    fn flush<'a>(
        lines: &mut Vec<OfferedLine<'a>>,
        kind: Option<MediaKind>,
        mid: Option<&'a str>,
        direction: Direction,
    ) {
        if let (Some(kind), Some(mid)) = (kind, mid) {
            lines.push(OfferedLine { mid, kind, direction });
        }
    }
    for line in sdp.lines() {
        let line = line.trim();
        if let Some(media) = line.strip_prefix("m=") {
            flush(&mut lines, kind, mid, direction);
            kind = if media.starts_with("audio") {
                Some(MediaKind::Audio)
            } else if media.starts_with("video") {
                Some(MediaKind::Video)
            } else {
                None
            };
            mid = None;
            direction = Direction::SendRecv;
        } else if let Some(m) = line.strip_prefix("a=mid:") {
            mid = Some(m);
        } else {
            direction = match line {
                "a=sendrecv" => Direction::SendRecv,
                "a=sendonly" => Direction::SendOnly,
                "a=recvonly" => Direction::RecvOnly,
                "a=inactive" => Direction::Inactive,
                _ => direction,
            };
        }
    }
    flush(&mut lines, kind, mid, direction);
    lines
}

/// Reads the sources of the m-lines a browser offers to send on: the first audio is the
/// microphone, the first video the camera, the second video the screen. Others are ignored.
pub(crate) fn offered_sources(sdp: &str) -> HashMap<String, Source> {
    let mut sources = HashMap::new();
    let (mut audios, mut videos) = (0usize, 0usize);
    for line in offered_lines(sdp) {
        if matches!(line.direction, Direction::RecvOnly | Direction::Inactive) {
            continue;
        }
        let source = match line.kind {
            MediaKind::Audio => {
                audios += 1;
                (audios == 1).then_some(Source::Microphone)
            }
            MediaKind::Video => {
                videos += 1;
                match videos {
                    1 => Some(Source::Camera),
                    2 => Some(Source::Screen),
                    _ => None,
                }
            }
        };
        if let Some(source) = source {
            sources.insert(line.mid.to_string(), source);
        }
    }
    sources
}

/// The receive-only m-lines of a browser's offer (mid and kind, in order): places for other
/// participants' tracks.
pub(crate) fn offered_slots(sdp: &str) -> Vec<(Mid, TrackKind)> {
    offered_lines(sdp)
        .into_iter()
        .filter(|l| l.direction == Direction::RecvOnly)
        .map(|l| {
            let kind = match l.kind {
                MediaKind::Audio => TrackKind::Audio,
                MediaKind::Video => TrackKind::Video,
            };
            (Mid::from(l.mid), kind)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{SequenceRewrite, offered_slots, offered_sources};
    use crate::{Source, TrackKind};

    #[test]
    fn forwarded_sequence_numbers_close_the_gaps_the_router_leaves() {
        let mut seq = SequenceRewrite::default();
        let out = |seq: &mut SequenceRewrite, n: u64| seq.rewrite(n.into()).map(|s| *s);
        assert_eq!(out(&mut seq, 1000), Some(1000));
        assert_eq!(out(&mut seq, 1001), Some(1001));
        // 1002..=1004 not forwarded (video paused for this receiver).
        seq.skip();
        seq.skip();
        seq.skip();
        assert_eq!(out(&mut seq, 1005), Some(1002));
        assert_eq!(out(&mut seq, 1006), Some(1003));
        // A late retransmission keeps its place relative to the others.
        assert_eq!(out(&mut seq, 1005), Some(1002));
        // One from before the skip would land on numbers already used: not forwarded below 0.
        let mut fresh = SequenceRewrite::default();
        assert_eq!(out(&mut fresh, 5), Some(5));
        fresh.skip();
        assert_eq!(out(&mut fresh, 100), Some(6));
        assert_eq!(out(&mut fresh, 1), None);
    }

    #[test]
    fn sources_follow_the_order_of_the_offered_m_lines() {
        let sdp = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\n\
                   m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\n\
                   m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:2\r\n\
                   m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:3\r\n";
        let sources = offered_sources(sdp);
        assert_eq!(sources.get("0"), Some(&Source::Microphone));
        assert_eq!(sources.get("1"), Some(&Source::Camera));
        assert_eq!(sources.get("2"), Some(&Source::Screen));
        assert_eq!(sources.get("3"), None);
        assert_eq!(sources.len(), 3);
    }

    #[test]
    fn receive_only_m_lines_are_slots_not_sources() {
        let sdp = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=sendrecv\r\n\
                   m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\na=sendrecv\r\n\
                   m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:2\r\na=sendonly\r\n\
                   m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:3\r\na=recvonly\r\n\
                   m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:4\r\na=recvonly\r\n\
                   m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:5\r\na=recvonly\r\n";
        let sources = offered_sources(sdp);
        assert_eq!(sources.len(), 3);
        assert_eq!(sources.get("2"), Some(&Source::Screen));
        let slots = offered_slots(sdp);
        let slots: Vec<(String, TrackKind)> = slots.into_iter().map(|(m, k)| (m.to_string(), k)).collect();
        assert_eq!(
            slots,
            vec![("3".into(), TrackKind::Audio), ("4".into(), TrackKind::Video), ("5".into(), TrackKind::Video)]
        );
    }
}
