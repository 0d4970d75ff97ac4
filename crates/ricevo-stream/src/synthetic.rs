//! Synthetic RTP payloads (H.264 and Opus) for tests and the load generator: structurally
//! valid parameter sets and packetization, with slice data that is not real video.

/// Writes bits MSB first, with Exp-Golomb codes.
#[derive(Debug, Default)]
struct BitWriter {
    bytes: Vec<u8>,
    bits: u32,
}

impl BitWriter {
    fn bit(&mut self, bit: bool) {
        if self.bits.is_multiple_of(8) {
            self.bytes.push(0);
        }
        if bit && let Some(last) = self.bytes.last_mut() {
            *last |= 0x80 >> (self.bits % 8);
        }
        self.bits += 1;
    }

    fn ue(&mut self, value: u32) {
        let coded = u64::from(value) + 1;
        let length = 64 - coded.leading_zeros();
        for _ in 1..length {
            self.bit(false);
        }
        for i in (0..length).rev() {
            self.bit(coded >> i & 1 == 1);
        }
    }

    /// rbsp_trailing_bits, then emulation prevention.
    fn finish(mut self) -> Vec<u8> {
        self.bit(true);
        let mut out = Vec::with_capacity(self.bytes.len() + 4);
        let mut zeros = 0;
        for byte in self.bytes {
            if zeros >= 2 && byte <= 3 {
                out.push(3);
                zeros = 0;
            }
            zeros = if byte == 0 { zeros + 1 } else { 0 };
            out.push(byte);
        }
        out
    }
}

/// A constrained-baseline SPS (profile 66, level 3.1) for a `width`×`height` picture
/// (multiples of 2).
pub fn sps(width: u16, height: u16) -> Vec<u8> {
    let mut w = BitWriter::default();
    w.ue(0); // seq_parameter_set_id
    w.ue(0); // log2_max_frame_num_minus4
    w.ue(0); // pic_order_cnt_type
    w.ue(0); // log2_max_pic_order_cnt_lsb_minus4
    w.ue(1); // max_num_ref_frames
    w.bit(false); // gaps_in_frame_num_value_allowed_flag
    let width_mbs = u32::from(width).div_ceil(16);
    let height_mbs = u32::from(height).div_ceil(16);
    w.ue(width_mbs - 1);
    w.ue(height_mbs - 1);
    w.bit(true); // frame_mbs_only_flag
    w.bit(true); // direct_8x8_inference_flag
    let crop_right = (width_mbs * 16 - u32::from(width)) / 2;
    let crop_bottom = (height_mbs * 16 - u32::from(height)) / 2;
    let cropping = crop_right > 0 || crop_bottom > 0;
    w.bit(cropping);
    if cropping {
        w.ue(0);
        w.ue(crop_right);
        w.ue(0);
        w.ue(crop_bottom);
    }
    w.bit(false); // vui_parameters_present_flag
    let mut nalu = vec![0x67, 66, 0xc0, 31];
    nalu.extend(w.finish());
    nalu
}

/// A PPS matching [`sps`].
pub fn pps() -> Vec<u8> {
    vec![0x68, 0xce, 0x3c, 0x80]
}

/// RTP payloads for one frame: on a keyframe a STAP-A with SPS and PPS, then the slice
/// (`slice_size` bytes) as a single NAL unit or FU-A fragments of at most `mtu` bytes.
pub fn h264_frame(keyframe: bool, slice_size: usize, mtu: usize, sps: &[u8]) -> Vec<Vec<u8>> {
    let mut payloads = Vec::new();
    if keyframe {
        let mut stap = vec![0x78];
        for nalu in [sps, &pps()[..]] {
            stap.extend_from_slice(&u16::try_from(nalu.len()).unwrap_or(0).to_be_bytes());
            stap.extend_from_slice(nalu);
        }
        payloads.push(stap);
    }
    let header: u8 = if keyframe { 0x65 } else { 0x41 };
    let body: Vec<u8> = (0..slice_size.max(1)).map(|i| (i % 251) as u8 | 1).collect();
    let mtu = mtu.max(3);
    if body.len() < mtu {
        let mut nalu = vec![header];
        nalu.extend_from_slice(&body);
        payloads.push(nalu);
        return payloads;
    }
    let chunks: Vec<&[u8]> = body.chunks(mtu - 2).collect();
    let last = chunks.len() - 1;
    for (i, chunk) in chunks.into_iter().enumerate() {
        let mut fu = vec![(header & 0xe0) | 28, header & 0x1f];
        if i == 0 {
            fu[1] |= 0x80;
        }
        if i == last {
            fu[1] |= 0x40;
        }
        fu.extend_from_slice(chunk);
        payloads.push(fu);
    }
    payloads
}

/// A 20 ms Opus packet (CELT fullband, mono, one frame) of `size` bytes.
pub fn opus_packet(size: usize) -> Vec<u8> {
    let mut packet = vec![0xf8];
    packet.extend((1..size.max(2)).map(|i| (i % 200) as u8));
    packet
}

/// A synthetic camera: 30 frames per second of packetized H.264 from one source.
#[derive(Debug, Clone)]
pub struct Camera {
    source: u64,
    sequence: u16,
    frame: u32,
    sps: Vec<u8>,
    slice_size: usize,
}

impl Camera {
    /// Frames of `slice_size` bytes (keyframes five times as large), `width`×`height`.
    pub fn new(source: u64, width: u16, height: u16, slice_size: usize) -> Self {
        Self {
            source,
            sequence: (source as u16).wrapping_mul(7919),
            frame: (source as u32).wrapping_mul(104_729),
            sps: sps(width, height),
            slice_size,
        }
    }

    /// The RTP packets of the next frame (3000 ticks of 90 kHz after the previous one).
    pub fn frame(&mut self, keyframe: bool, arrived: std::time::Instant) -> Vec<crate::StreamPacket> {
        let size = if keyframe { self.slice_size * 5 } else { self.slice_size };
        let payloads = h264_frame(keyframe, size, 1200, &self.sps);
        let timestamp = self.frame.wrapping_mul(3000);
        self.frame = self.frame.wrapping_add(1);
        let last = payloads.len() - 1;
        payloads
            .into_iter()
            .enumerate()
            .map(|(i, payload)| {
                let sequence = self.sequence;
                self.sequence = self.sequence.wrapping_add(1);
                crate::StreamPacket {
                    kind: crate::MediaKind::Video,
                    source: self.source,
                    rtp_timestamp: timestamp,
                    sequence,
                    marker: i == last,
                    payload,
                    arrived,
                    audio_level: None,
                }
            })
            .collect()
    }
}

/// A synthetic microphone: one 20 ms Opus packet at a time.
#[derive(Debug, Clone)]
pub struct Microphone {
    source: u64,
    sequence: u16,
    timestamp: u32,
}

impl Microphone {
    pub fn new(source: u64) -> Self {
        Self { source, sequence: (source as u16).wrapping_mul(31), timestamp: (source as u32).wrapping_mul(7_777_777) }
    }

    /// The next packet, with RFC 6464 level `level` (-dBov: 0 loud, -127 silent).
    pub fn packet(&mut self, level: i8, size: usize, arrived: std::time::Instant) -> crate::StreamPacket {
        let packet = crate::StreamPacket {
            kind: crate::MediaKind::Audio,
            source: self.source,
            rtp_timestamp: self.timestamp,
            sequence: self.sequence,
            marker: false,
            payload: opus_packet(size),
            arrived,
            audio_level: Some(level),
        };
        self.sequence = self.sequence.wrapping_add(1);
        self.timestamp = self.timestamp.wrapping_add(960);
        packet
    }
}
