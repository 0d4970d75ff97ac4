//! H.264 over RTP (RFC 6184) into access units, and the few SPS fields the MP4 sample
//! entry needs. Pure: no I/O, no clock.

/// NAL unit types this module looks at.
const NAL_IDR: u8 = 5;
const NAL_SPS: u8 = 7;
const NAL_PPS: u8 = 8;
const STAP_A: u8 = 24;
const FU_A: u8 = 28;

/// An access unit (one frame) larger than this is treated as broken input.
const MAX_ACCESS_UNIT: usize = 8 << 20;
/// At most this many NAL units in one access unit.
const MAX_NALUS: usize = 1024;

/// One reassembled frame: its NAL units without start codes or length prefixes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AccessUnit {
    pub(crate) rtp_timestamp: u32,
    pub(crate) nalus: Vec<Vec<u8>>,
    /// Contains an IDR slice (and, after `push`, its SPS and PPS in band).
    pub(crate) idr: bool,
}

impl AccessUnit {
    /// The AVCC sample: each NAL unit behind a 4-byte big-endian length.
    pub(crate) fn to_avcc(&self) -> Vec<u8> {
        let size = self.nalus.iter().map(|n| n.len() + 4).sum();
        let mut out = Vec::with_capacity(size);
        for nalu in &self.nalus {
            // A NAL unit is at most MAX_ACCESS_UNIT bytes, so this never truncates.
            out.extend_from_slice(&u32::try_from(nalu.len()).unwrap_or(u32::MAX).to_be_bytes());
            out.extend_from_slice(nalu);
        }
        out
    }
}

/// Reassembles one source's H.264 RTP packets into access units.
///
/// A sequence gap drops the frame being assembled and every following frame until an IDR:
/// a decoder cannot use P-frames that refer to a lost one.
#[derive(Debug)]
pub(crate) struct Depacketizer {
    expected_sequence: Option<u16>,
    timestamp: Option<u32>,
    nalus: Vec<Vec<u8>>,
    size: usize,
    fragment: Option<Vec<u8>>,
    broken: bool,
    waiting_for_idr: bool,
    sps: Option<Vec<u8>>,
    pps: Option<Vec<u8>>,
}

impl Default for Depacketizer {
    fn default() -> Self {
        Self {
            expected_sequence: None,
            timestamp: None,
            nalus: Vec::new(),
            size: 0,
            fragment: None,
            broken: false,
            waiting_for_idr: true,
            sps: None,
            pps: None,
        }
    }
}

impl Depacketizer {
    /// The last sequence and picture parameter sets seen.
    pub(crate) fn parameter_sets(&self) -> Option<(&[u8], &[u8])> {
        Some((self.sps.as_deref()?, self.pps.as_deref()?))
    }

    /// True until an IDR arrives (at the start and after a loss).
    pub(crate) fn waiting_for_idr(&self) -> bool {
        self.waiting_for_idr
    }

    /// Takes one RTP packet's payload; completed access units are appended to `out`.
    pub(crate) fn push(
        &mut self,
        sequence: u16,
        timestamp: u32,
        marker: bool,
        payload: &[u8],
        out: &mut Vec<AccessUnit>,
    ) {
        if let Some(expected) = self.expected_sequence {
            let ahead = sequence.wrapping_sub(expected);
            if ahead >= 0x8000 {
                // Late or duplicate: the frame it belonged to is already gone.
                return;
            }
            if ahead != 0 {
                self.broken = true;
                self.fragment = None;
                self.waiting_for_idr = true;
            }
        }
        self.expected_sequence = Some(sequence.wrapping_add(1));

        if self.timestamp != Some(timestamp) {
            if self.timestamp.is_some() {
                // The previous frame lost its last packet (the one with the marker).
                self.finish(out);
            }
            self.timestamp = Some(timestamp);
        }
        self.payload(payload);
        if marker {
            self.finish(out);
        }
    }

    fn payload(&mut self, payload: &[u8]) {
        let Some(&header) = payload.first() else {
            return;
        };
        match header & 0x1f {
            1..=23 => self.nalu(payload.to_vec()),
            STAP_A => {
                let mut rest = &payload[1..];
                while rest.len() >= 2 {
                    let size = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
                    rest = &rest[2..];
                    if size == 0 || size > rest.len() {
                        self.broken = true;
                        return;
                    }
                    self.nalu(rest[..size].to_vec());
                    rest = &rest[size..];
                }
            }
            FU_A => {
                let Some(&fu) = payload.get(1) else {
                    self.broken = true;
                    return;
                };
                let data = &payload[2..];
                if fu & 0x80 != 0 {
                    let mut nalu = Vec::with_capacity(data.len() * 8 + 1);
                    nalu.push((header & 0xe0) | (fu & 0x1f));
                    nalu.extend_from_slice(data);
                    self.fragment = Some(nalu);
                } else if let Some(nalu) = self.fragment.as_mut() {
                    nalu.extend_from_slice(data);
                    if nalu.len() > MAX_ACCESS_UNIT {
                        self.fragment = None;
                        self.broken = true;
                        return;
                    }
                } else {
                    self.broken = true;
                    return;
                }
                if fu & 0x40 != 0
                    && let Some(nalu) = self.fragment.take()
                {
                    self.nalu(nalu);
                }
            }
            // STAP-B, MTAP, FU-B and reserved types are not sent by browsers.
            _ => {}
        }
    }

    fn nalu(&mut self, nalu: Vec<u8>) {
        self.size += nalu.len();
        if self.size > MAX_ACCESS_UNIT || self.nalus.len() >= MAX_NALUS {
            self.broken = true;
            return;
        }
        self.nalus.push(nalu);
    }

    fn finish(&mut self, out: &mut Vec<AccessUnit>) {
        let nalus = std::mem::take(&mut self.nalus);
        let broken = std::mem::replace(&mut self.broken, false) || self.fragment.is_some();
        self.fragment = None;
        self.size = 0;
        let Some(rtp_timestamp) = self.timestamp.take() else {
            return;
        };
        if broken || nalus.is_empty() {
            return;
        }
        let mut idr = false;
        for nalu in &nalus {
            match nalu[0] & 0x1f {
                NAL_IDR => idr = true,
                NAL_SPS => self.sps = Some(nalu.clone()),
                NAL_PPS => self.pps = Some(nalu.clone()),
                _ => {}
            }
        }
        if self.waiting_for_idr && !idr {
            return;
        }
        let mut nalus = nalus;
        if idr {
            let has = |kind: u8| nalus.iter().any(|n| n[0] & 0x1f == kind);
            let (has_sps, has_pps) = (has(NAL_SPS), has(NAL_PPS));
            let (Some(sps), Some(pps)) = (self.sps.clone(), self.pps.clone()) else {
                // Without parameter sets the frame cannot be decoded; wait for the next IDR.
                return;
            };
            // In-band parameter sets on every IDR: a source switch may change them.
            let mut front = Vec::new();
            if !has_sps {
                front.push(sps);
            }
            if !has_pps {
                front.push(pps);
            }
            if !front.is_empty() {
                front.extend(nalus);
                nalus = front;
            }
            self.waiting_for_idr = false;
        }
        out.push(AccessUnit { rtp_timestamp, nalus, idr });
    }
}

/// What the MP4 sample entry needs from an SPS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SpsInfo {
    pub(crate) profile: u8,
    pub(crate) compatibility: u8,
    pub(crate) level: u8,
    pub(crate) width: u16,
    pub(crate) height: u16,
}

/// Exp-Golomb bit reader over an RBSP (emulation prevention bytes removed).
struct Bits {
    data: Vec<u8>,
    position: usize,
}

impl Bits {
    fn bit(&mut self) -> Option<u32> {
        let byte = *self.data.get(self.position / 8)?;
        let bit = (byte >> (7 - self.position % 8)) & 1;
        self.position += 1;
        Some(u32::from(bit))
    }

    fn bits(&mut self, count: u32) -> Option<u32> {
        let mut value = 0;
        for _ in 0..count {
            value = (value << 1) | self.bit()?;
        }
        Some(value)
    }

    fn ue(&mut self) -> Option<u32> {
        let mut zeros = 0;
        while self.bit()? == 0 {
            zeros += 1;
            if zeros > 31 {
                return None;
            }
        }
        ((1u64 << zeros) - 1 + u64::from(self.bits(zeros)?)).try_into().ok()
    }

    fn se(&mut self) -> Option<i64> {
        let value = i64::from(self.ue()?);
        Some(if value % 2 == 1 { (value + 1) / 2 } else { -(value / 2) })
    }
}

fn rbsp(nalu: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(nalu.len());
    let mut zeros = 0;
    for &byte in nalu {
        if zeros >= 2 && byte == 3 {
            zeros = 0;
            continue;
        }
        zeros = if byte == 0 { zeros + 1 } else { 0 };
        out.push(byte);
    }
    out
}

/// Parses profile, level and the cropped picture size from an SPS NAL unit (with its header).
pub(crate) fn parse_sps(nalu: &[u8]) -> Option<SpsInfo> {
    if nalu.len() < 4 || nalu[0] & 0x1f != NAL_SPS {
        return None;
    }
    let (profile, compatibility, level) = (nalu[1], nalu[2], nalu[3]);
    let mut bits = Bits { data: rbsp(&nalu[4..]), position: 0 };
    bits.ue()?; // seq_parameter_set_id
    let mut chroma_format = 1;
    if matches!(profile, 100 | 110 | 122 | 244 | 44 | 83 | 86 | 118 | 128 | 138 | 139 | 134 | 135) {
        chroma_format = bits.ue()?;
        if chroma_format == 3 {
            bits.bit()?; // separate_colour_plane_flag
        }
        bits.ue()?; // bit_depth_luma_minus8
        bits.ue()?; // bit_depth_chroma_minus8
        bits.bit()?; // qpprime_y_zero_transform_bypass_flag
        if bits.bit()? == 1 {
            let lists = if chroma_format == 3 { 12 } else { 8 };
            for list in 0..lists {
                if bits.bit()? == 1 {
                    let size = if list < 6 { 16 } else { 64 };
                    let (mut last, mut next) = (8i64, 8i64);
                    for _ in 0..size {
                        if next != 0 {
                            next = (last + bits.se()? + 256) % 256;
                        }
                        if next != 0 {
                            last = next;
                        }
                    }
                }
            }
        }
    }
    bits.ue()?; // log2_max_frame_num_minus4
    match bits.ue()? {
        0 => {
            bits.ue()?;
        }
        1 => {
            bits.bit()?;
            bits.se()?;
            bits.se()?;
            let cycle = bits.ue()?;
            if cycle > 255 {
                return None;
            }
            for _ in 0..cycle {
                bits.se()?;
            }
        }
        _ => {}
    }
    bits.ue()?; // max_num_ref_frames
    bits.bit()?; // gaps_in_frame_num_value_allowed_flag
    let width_mbs = u64::from(bits.ue()?) + 1;
    let height_units = u64::from(bits.ue()?) + 1;
    let frame_mbs_only = u64::from(bits.bit()?);
    if frame_mbs_only == 0 {
        bits.bit()?; // mb_adaptive_frame_field_flag
    }
    bits.bit()?; // direct_8x8_inference_flag
    let (mut left, mut right, mut top, mut bottom) = (0, 0, 0, 0);
    if bits.bit()? == 1 {
        left = u64::from(bits.ue()?);
        right = u64::from(bits.ue()?);
        top = u64::from(bits.ue()?);
        bottom = u64::from(bits.ue()?);
    }
    let field_factor = 2 - frame_mbs_only;
    let (crop_x, crop_y) = match chroma_format {
        1 => (2, 2 * field_factor),
        2 => (2, field_factor),
        _ => (1, field_factor),
    };
    let width = (width_mbs * 16).checked_sub(crop_x * (left + right))?;
    let height = (field_factor * height_units * 16).checked_sub(crop_y * (top + bottom))?;
    Some(SpsInfo {
        profile,
        compatibility,
        level,
        width: u16::try_from(width).ok()?,
        height: u16::try_from(height).ok()?,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn sps_720() -> Vec<u8> {
        crate::synthetic::sps(1280, 720)
    }

    fn run(packets: &[(u16, u32, bool, Vec<u8>)]) -> Vec<AccessUnit> {
        let mut d = Depacketizer::default();
        let mut out = Vec::new();
        for (seq, ts, marker, payload) in packets {
            d.push(*seq, *ts, *marker, payload, &mut out);
        }
        out
    }

    fn idr_frame(ts: u32, first_seq: u16) -> Vec<(u16, u32, bool, Vec<u8>)> {
        // STAP-A with SPS and PPS, then an IDR slice in three FU-A fragments.
        let pps = [0x68u8, 0xce, 0x3c, 0x80];
        let mut stap = vec![0x78];
        let sps = sps_720();
        for n in [&sps[..], &pps[..]] {
            stap.extend_from_slice(&u16::try_from(n.len()).unwrap().to_be_bytes());
            stap.extend_from_slice(n);
        }
        vec![
            (first_seq, ts, false, stap),
            (first_seq + 1, ts, false, vec![0x7c, 0x85, 1, 2, 3]),
            (first_seq + 2, ts, false, vec![0x7c, 0x05, 4, 5]),
            (first_seq + 3, ts, true, vec![0x7c, 0x45, 6]),
        ]
    }

    #[test]
    fn stap_a_and_fu_a_reassemble_into_one_idr_access_unit() {
        let out = run(&idr_frame(1000, 10));
        assert_eq!(out.len(), 1);
        let au = &out[0];
        assert!(au.idr);
        assert_eq!(au.rtp_timestamp, 1000);
        assert_eq!(au.nalus.len(), 3);
        assert_eq!(au.nalus[0], sps_720());
        assert_eq!(au.nalus[2], vec![0x65, 1, 2, 3, 4, 5, 6]);
        let avcc = au.to_avcc();
        assert_eq!(&avcc[..4], &(sps_720().len() as u32).to_be_bytes());
        assert_eq!(avcc.len(), 3 * 4 + sps_720().len() + 4 + 7);
    }

    #[test]
    fn single_nal_p_frames_follow_the_idr_and_get_no_parameter_sets() {
        let mut packets = idr_frame(1000, 10);
        packets.push((14, 4000, true, vec![0x41, 9, 9]));
        let out = run(&packets);
        assert_eq!(out.len(), 2);
        assert!(!out[1].idr);
        assert_eq!(out[1].nalus, vec![vec![0x41, 9, 9]]);
    }

    #[test]
    fn a_lost_fragment_drops_the_frame_and_what_follows_until_the_next_idr() {
        let mut packets = idr_frame(1000, 10);
        packets.remove(2); // middle FU-A fragment lost
        packets.push((14, 4000, true, vec![0x41, 1])); // P-frame after the loss: useless
        packets.push((15, 7000, true, vec![0x41, 2]));
        packets.extend(idr_frame(10000, 16));
        let out = run(&packets);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].rtp_timestamp, 10000);
    }

    #[test]
    fn p_frames_before_any_idr_are_dropped_and_a_missing_marker_ends_a_frame_on_a_new_timestamp() {
        let mut packets = vec![(1u16, 10u32, true, vec![0x41u8, 1])];
        let mut idr = idr_frame(1000, 2);
        idr[3].2 = false; // marker lost (but the packet arrived)
        packets.extend(idr);
        packets.push((6, 4000, true, vec![0x41, 3]));
        let out = run(&packets);
        assert_eq!(out.len(), 2);
        assert!(out[0].idr);
        assert_eq!(out[1].nalus, vec![vec![0x41, 3]]);
    }

    #[test]
    fn idr_without_in_band_parameter_sets_gets_them_prepended() {
        let mut packets = idr_frame(1000, 10);
        packets.push((14, 4000, true, vec![0x65, 7, 7]));
        let out = run(&packets);
        assert_eq!(out[1].nalus.len(), 3);
        assert_eq!(out[1].nalus[0], sps_720());
        assert_eq!(out[1].nalus[1][0], 0x68);
    }

    #[test]
    fn sps_gives_size_and_profile() {
        let info = parse_sps(&sps_720()).unwrap();
        assert_eq!((info.width, info.height), (1280, 720));
        assert_eq!((info.profile, info.level), (66, 31));
        let info = parse_sps(&crate::synthetic::sps(640, 360)).unwrap();
        assert_eq!((info.width, info.height), (640, 360));
        assert_eq!(parse_sps(&[0x67, 0x42]), None);
        assert_eq!(parse_sps(&[0x67, 0x42, 0, 0x1f, 0, 0, 0]), None);
    }
}
