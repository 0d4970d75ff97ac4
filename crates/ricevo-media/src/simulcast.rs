//! Simulcast: a browser sends its camera as two or three layers (RTP streams told apart by
//! their rid), and every receiver gets exactly one of them per source.
//!
//! Pure: no I/O, no clock (times are passed in). [`LayerForward`] is one receiver's view of one
//! source: which layer it forwards now, which it wants, and how the sender's sequence numbers
//! and timestamps map onto the single continuous stream the receiver sees. A switch happens
//! only at the first packet of a keyframe of the wanted layer ([`is_keyframe_start`]); until
//! then the old layer keeps flowing.

use std::time::{Duration, Instant};

use str0m::format::Codec;
use str0m::media::Rid;

/// A layer that sent nothing for this long is taken as stopped (the browser drops its top
/// layers when its own uplink is short) and is not chosen for anyone.
pub(crate) const LAYER_IDLE: Duration = Duration::from_millis(1500);
/// Bit rates are measured over windows of this length.
const RATE_WINDOW: Duration = Duration::from_secs(1);

/// Orders a source's rids from the lowest layer to the highest. The usual names are
/// recognised whatever the order of the offer (`q`/`h`/`f`: quarter, half, full; `l`/`m`/`h`:
/// low, medium, high); any other names keep the order of the offer's `a=rid` lines, which is
/// the order of the page's `sendEncodings`: lowest first.
pub(crate) fn order_rids(rids: &[Rid]) -> Vec<Rid> {
    let rank_in = |names: &[&str]| -> Option<Vec<usize>> {
        rids.iter().map(|rid| names.iter().position(|n| **n == **rid)).collect()
    };
    let ranks = rank_in(&["q", "h", "f"]).or_else(|| rank_in(&["l", "m", "h"]));
    let mut ordered: Vec<(usize, Rid)> = match ranks {
        Some(ranks) => ranks.into_iter().zip(rids.iter().copied()).collect(),
        None => rids.iter().copied().enumerate().collect(),
    };
    ordered.sort_by_key(|(rank, _)| *rank);
    ordered.into_iter().map(|(_, rid)| rid).collect()
}

/// Whether an RTP payload is the first packet of a keyframe: H.264 (RFC 6184) with an SPS or
/// an IDR slice in a single NAL unit, in a STAP-A aggregate, or at the start of an FU-A
/// fragment; VP8 (RFC 7741) at the start of a partition-0 frame whose tag says keyframe.
/// Other codecs: never (they are not switched between layers).
pub(crate) fn is_keyframe_start(codec: Codec, payload: &[u8]) -> bool {
    match codec {
        Codec::H264 => h264_keyframe_start(payload),
        Codec::Vp8 => vp8_keyframe_start(payload),
        _ => false,
    }
}

const NAL_IDR: u8 = 5;
const NAL_SPS: u8 = 7;
const NAL_STAP_A: u8 = 24;
const NAL_FU_A: u8 = 28;

fn h264_keyframe_start(payload: &[u8]) -> bool {
    let Some(&header) = payload.first() else {
        return false;
    };
    let key = |nal_type: u8| nal_type == NAL_IDR || nal_type == NAL_SPS;
    match header & 0x1f {
        NAL_STAP_A => {
            // Units of a 16-bit size and the NAL unit itself.
            let mut rest = payload.get(1..).unwrap_or_default();
            while let [high, low, tail @ ..] = rest {
                let size = usize::from(*high) << 8 | usize::from(*low);
                let Some(unit) = tail.get(..size) else {
                    return false;
                };
                if unit.first().is_some_and(|h| key(h & 0x1f)) {
                    return true;
                }
                rest = tail.get(size..).unwrap_or_default();
            }
            false
        }
        NAL_FU_A => payload.get(1).is_some_and(|fu| fu & 0x80 != 0 && key(fu & 0x1f)),
        single => key(single),
    }
}

fn vp8_keyframe_start(payload: &[u8]) -> bool {
    let Some(&first) = payload.first() else {
        return false;
    };
    let start_of_partition_0 = first & 0x10 != 0 && first & 0x07 == 0;
    if !start_of_partition_0 {
        return false;
    }
    let mut at = 1;
    if first & 0x80 != 0 {
        // Extension byte: I (picture id), L (TL0PICIDX), T (TID), K (KEYIDX).
        let Some(&ext) = payload.get(1) else {
            return false;
        };
        at = 2;
        if ext & 0x80 != 0 {
            let Some(&picture_id) = payload.get(at) else {
                return false;
            };
            at += if picture_id & 0x80 != 0 { 2 } else { 1 };
        }
        if ext & 0x40 != 0 {
            at += 1;
        }
        if ext & 0x30 != 0 {
            at += 1;
        }
    }
    // The VP8 frame tag: bit 0 clear for a keyframe.
    payload.get(at).is_some_and(|tag| tag & 0x01 == 0)
}

/// What one layer of a source has sent lately.
#[derive(Debug, Clone)]
pub(crate) struct LayerStats {
    pub(crate) rid: Rid,
    /// When its last packet arrived.
    last_packet: Option<Instant>,
    window_start: Option<Instant>,
    window_bytes: u64,
    /// Bits per second over the last whole window (0 until one has passed).
    bps: u64,
}

impl LayerStats {
    pub(crate) fn new(rid: Rid) -> LayerStats {
        LayerStats { rid, last_packet: None, window_start: None, window_bytes: 0, bps: 0 }
    }

    /// A packet of `bytes` (payload) arrived.
    pub(crate) fn packet(&mut self, now: Instant, bytes: usize) {
        self.last_packet = Some(now);
        let start = *self.window_start.get_or_insert(now);
        let elapsed = now.saturating_duration_since(start);
        if elapsed >= RATE_WINDOW {
            // A long silence counts as a window of that length.
            self.bps = self.window_bytes * 8 * 1000 / (elapsed.as_millis().max(1) as u64);
            self.window_start = Some(now);
            self.window_bytes = 0;
        }
        self.window_bytes += bytes as u64 + RTP_OVERHEAD_BYTES;
    }

    /// Whether the layer is flowing now.
    pub(crate) fn active(&self, now: Instant) -> bool {
        self.last_packet.is_some_and(|at| now.saturating_duration_since(at) < LAYER_IDLE)
    }

    /// The layer's bit rate (0 while unknown).
    pub(crate) fn bps(&self) -> u64 {
        self.bps
    }
}

/// RTP header, SRTP tag and UDP/IP headers of a packet, counted in a layer's bit rate (what
/// the receiver's link carries).
const RTP_OVERHEAD_BYTES: u64 = 12 + 10 + 28;

/// The layer to forward given the one wanted: the wanted layer if it flows, else the nearest
/// lower one that flows, else the nearest higher one; the wanted one when none flows yet.
pub(crate) fn available_layer(layers: &[LayerStats], wanted: usize, now: Instant) -> usize {
    let wanted = wanted.min(layers.len().saturating_sub(1));
    let active = |i: &usize| layers.get(*i).is_some_and(|l| l.active(now));
    (0..=wanted).rev().find(active).or_else(|| (wanted..layers.len()).find(active)).unwrap_or(wanted)
}

/// One receiver's stream of one simulcast source: which layer flows, which is wanted, and the
/// mapping of the flowing layer's numbers onto the receiver's continuous stream.
#[derive(Debug, Clone, Default)]
pub(crate) struct LayerForward {
    /// The layer forwarded now (`None`: nothing yet, or paused).
    current: Option<usize>,
    /// The layer wanted (`None`: no video for this receiver).
    target: Option<usize>,
    /// Added to the current layer's extended sequence numbers.
    seq_offset: i64,
    /// Added (wrapping) to the current layer's timestamps.
    ts_offset: u32,
    /// The first number of the current layer on the receiver's stream: packets of the layer
    /// from before the switch (late retransmissions) would land below it and are dropped.
    switched_at: u64,
    /// The highest sequence number and last timestamp written, and when that packet arrived.
    last: Option<Written>,
}

#[derive(Debug, Clone, Copy)]
struct Written {
    seq: u64,
    timestamp: u32,
    arrived: Instant,
}

/// Where a packet goes on the receiver's stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rewritten {
    pub(crate) seq: u64,
    pub(crate) timestamp: u32,
    /// This packet switched layers (or started the stream).
    pub(crate) switched: bool,
}

impl LayerForward {
    /// The layer wanted from now on; returns whether a keyframe of it must be asked for (it is
    /// not the one flowing).
    pub(crate) fn set_target(&mut self, target: Option<usize>) -> bool {
        self.target = target;
        if target.is_none() {
            self.current = None;
        }
        target.is_some() && target != self.current
    }

    pub(crate) fn target(&self) -> Option<usize> {
        self.target
    }

    pub(crate) fn current(&self) -> Option<usize> {
        self.current
    }

    /// Whether a switch is awaited (a keyframe of the wanted layer).
    pub(crate) fn switching(&self) -> bool {
        self.target.is_some() && self.target != self.current
    }

    /// Takes a packet of `layer` (with the sender's extended sequence number, its timestamp
    /// and `clock_rate`); returns where it goes on the receiver's stream, or `None` when it is
    /// not forwarded.
    pub(crate) fn accept(
        &mut self,
        layer: usize,
        keyframe: bool,
        seq: u64,
        timestamp: u32,
        arrived: Instant,
        clock_rate: u32,
    ) -> Option<Rewritten> {
        let target = self.target?;
        let mut switched = false;
        if layer == target && self.current != Some(target) && keyframe {
            let seq = i64::try_from(seq).ok()?;
            match self.last {
                Some(last) => {
                    let next = i64::try_from(last.seq).ok()? + 1;
                    self.seq_offset = next - seq;
                    // The new layer's frame follows the last one written after the time that
                    // passed between them (at least one tick): the receiver sees one clock.
                    let gap = arrived.saturating_duration_since(last.arrived);
                    let ticks = (gap.as_micros() * u128::from(clock_rate) / 1_000_000).max(1);
                    let ticks = u32::try_from(ticks).unwrap_or(u32::MAX);
                    self.ts_offset = last.timestamp.wrapping_add(ticks).wrapping_sub(timestamp);
                    self.switched_at = u64::try_from(next).ok()?;
                }
                None => {
                    self.seq_offset = 0;
                    self.ts_offset = 0;
                    self.switched_at = u64::try_from(seq).ok()?;
                }
            }
            self.current = Some(target);
            switched = true;
        }
        if self.current != Some(layer) {
            return None;
        }
        let out = u64::try_from(i64::try_from(seq).ok()? + self.seq_offset).ok()?;
        if out < self.switched_at {
            return None;
        }
        let timestamp = timestamp.wrapping_add(self.ts_offset);
        let newest = self.last.is_none_or(|l| out > l.seq);
        if newest {
            self.last = Some(Written { seq: out, timestamp, arrived });
        }
        Some(Rewritten { seq: out, timestamp, switched })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn rids(names: &[&str]) -> Vec<Rid> {
        names.iter().map(|n| Rid::from(*n)).collect()
    }

    #[test]
    fn rids_are_ordered_from_the_lowest_layer() {
        let names = |r: Vec<Rid>| r.iter().map(|r| r.to_string()).collect::<Vec<_>>();
        assert_eq!(names(order_rids(&rids(&["f", "h", "q"]))), ["q", "h", "f"]);
        assert_eq!(names(order_rids(&rids(&["h", "m", "l"]))), ["l", "m", "h"]);
        assert_eq!(names(order_rids(&rids(&["h", "l"]))), ["l", "h"]);
        assert_eq!(names(order_rids(&rids(&["a", "b", "c"]))), ["a", "b", "c"]);
    }

    #[test]
    fn h264_keyframes_are_found_in_single_nal_stap_a_and_fu_a() {
        // Single NAL units: SPS and IDR yes; PPS, non-IDR slice, SEI no.
        assert!(is_keyframe_start(Codec::H264, &[0x67, 0x42, 0x00, 0x1f]));
        assert!(is_keyframe_start(Codec::H264, &[0x65, 0x88, 0x84]));
        assert!(!is_keyframe_start(Codec::H264, &[0x68, 0xce]));
        assert!(!is_keyframe_start(Codec::H264, &[0x41, 0x9a]));
        assert!(!is_keyframe_start(Codec::H264, &[0x06, 0x05]));
        // STAP-A with SPS and PPS; with only a non-IDR slice; with a truncated size.
        let stap = [0x78, 0, 2, 0x67, 0x42, 0, 2, 0x68, 0xce];
        assert!(is_keyframe_start(Codec::H264, &stap));
        assert!(!is_keyframe_start(Codec::H264, &[0x78, 0, 2, 0x41, 0x9a]));
        assert!(!is_keyframe_start(Codec::H264, &[0x78, 0, 9, 0x67]));
        // FU-A: the start of an IDR; its middle; the start of a non-IDR slice.
        assert!(is_keyframe_start(Codec::H264, &[0x7c, 0x85, 0x88]));
        assert!(!is_keyframe_start(Codec::H264, &[0x7c, 0x05, 0x88]));
        assert!(!is_keyframe_start(Codec::H264, &[0x7c, 0x81, 0x9a]));
        assert!(!is_keyframe_start(Codec::H264, &[]));
        assert!(!is_keyframe_start(Codec::Opus, &[0x65]));
    }

    #[test]
    fn vp8_keyframes_are_found_with_and_without_the_extended_descriptor() {
        assert!(is_keyframe_start(Codec::Vp8, &[0x10, 0x00, 0x9d]));
        assert!(!is_keyframe_start(Codec::Vp8, &[0x10, 0x01]));
        // Not the start of partition 0.
        assert!(!is_keyframe_start(Codec::Vp8, &[0x00, 0x00]));
        // X, I with a 15-bit picture id, L, T: four bytes of descriptor, then the tag.
        assert!(is_keyframe_start(Codec::Vp8, &[0x90, 0xe0, 0x81, 0x23, 0x05, 0x40, 0x00]));
        assert!(!is_keyframe_start(Codec::Vp8, &[0x90, 0xe0, 0x81, 0x23, 0x05, 0x40, 0x01]));
        assert!(!is_keyframe_start(Codec::Vp8, &[0x90, 0x80]));
    }

    #[test]
    fn a_switch_waits_for_a_keyframe_and_the_receiver_sees_one_continuous_stream() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let mut fwd = LayerForward::default();
        // Nothing flows until a keyframe of the wanted layer (0).
        assert!(fwd.set_target(Some(0)));
        assert_eq!(fwd.accept(0, false, 100, 9000, at(0), 90_000), None);
        let first = fwd.accept(0, true, 101, 12_000, at(33), 90_000).unwrap();
        assert_eq!((first.seq, first.timestamp, first.switched), (101, 12_000, true));
        assert_eq!(fwd.accept(0, false, 102, 15_000, at(66), 90_000).map(|r| r.seq), Some(102));
        // Layer 2 wanted: layer 0 keeps flowing, layer 2 is dropped until its keyframe.
        assert!(fwd.set_target(Some(2)));
        assert_eq!(fwd.accept(2, false, 5000, 700_000, at(70), 90_000), None);
        assert_eq!(fwd.accept(0, false, 103, 18_000, at(99), 90_000).map(|r| r.seq), Some(103));
        let switched = fwd.accept(2, true, 5001, 703_000, at(132), 90_000).unwrap();
        // 33 ms after the last packet written: 2970 ticks later on the receiver's clock.
        assert_eq!((switched.seq, switched.timestamp, switched.switched), (104, 18_000 + 2970, true));
        assert_eq!(fwd.accept(0, false, 104, 21_000, at(133), 90_000), None, "the old layer stops");
        let next = fwd.accept(2, false, 5002, 706_000, at(165), 90_000).unwrap();
        assert_eq!((next.seq, next.timestamp, next.switched), (105, 18_000 + 2970 + 3000, false));
        // A late packet of the new layer from before the switch has no place.
        assert_eq!(fwd.accept(2, false, 5000, 700_000, at(166), 90_000), None);
        // Paused, then resumed on layer 1: the numbers go on after the last one.
        assert!(!fwd.set_target(None));
        assert_eq!(fwd.accept(2, true, 5003, 709_000, at(198), 90_000), None);
        assert!(fwd.set_target(Some(1)));
        let resumed = fwd.accept(1, true, 40, 1_000, at(231), 90_000).unwrap();
        assert_eq!(resumed.seq, 106);
    }

    #[test]
    fn timestamps_wrap_around() {
        let t0 = Instant::now();
        let mut fwd = LayerForward::default();
        fwd.set_target(Some(0));
        fwd.accept(0, true, 1, u32::MAX - 10, t0, 90_000);
        fwd.set_target(Some(1));
        let r = fwd.accept(1, true, 7, 5, t0 + Duration::from_millis(10), 90_000).unwrap();
        assert_eq!(r.timestamp, (u32::MAX - 10).wrapping_add(900));
    }

    #[test]
    fn the_available_layer_falls_back_to_a_flowing_one() {
        let t0 = Instant::now();
        let mut layers: Vec<LayerStats> = rids(&["q", "h", "f"]).into_iter().map(LayerStats::new).collect();
        // Nothing flows yet: the wanted layer.
        assert_eq!(available_layer(&layers, 2, t0), 2);
        layers[0].packet(t0, 100);
        layers[1].packet(t0, 100);
        assert_eq!(available_layer(&layers, 2, t0), 1);
        assert_eq!(available_layer(&layers, 0, t0), 0);
        // Only the top layer flows: a small tile gets it rather than nothing.
        let later = t0 + Duration::from_secs(2);
        layers[2].packet(later, 100);
        assert_eq!(available_layer(&layers, 0, later), 2);
        assert_eq!(available_layer(&layers, 7, later), 2);
    }

    #[test]
    fn a_layers_bit_rate_is_measured_over_a_second() {
        let t0 = Instant::now();
        let mut layer = LayerStats::new(Rid::from("q"));
        for i in 0..=50 {
            layer.packet(t0 + Duration::from_millis(20 * i), 200);
        }
        // 50 packets of 250 bytes (with headers) in the first second.
        assert_eq!(layer.bps(), 100_000);
    }
}
