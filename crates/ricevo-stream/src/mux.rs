//! Fragmented MP4 (CMAF-like) with mp4-atom: the init segment (ftyp + moov, H.264 and Opus
//! tracks) and one moof + mdat per part. Pure.

use mp4_atom::{
    Audio, Avc1, Avcc, Dinf, Dops, Dref, Encode, Ftyp, Hdlr, Mdat, Mdhd, Mdia, Mfhd, Minf, Moof, Moov, Mvex, Mvhd,
    Opus, Smhd, Stbl, Stco, Stsc, Stsd, Stsz, Stts, Tfdt, Tfhd, Tkhd, Traf, Trak, Trex, Trun, TrunEntry, Url, Visual,
    Vmhd,
};

use crate::h264::SpsInfo;

pub(crate) const VIDEO_TRACK: u32 = 1;
pub(crate) const AUDIO_TRACK: u32 = 2;
pub(crate) const VIDEO_TIMESCALE: u32 = 90_000;
pub(crate) const AUDIO_TIMESCALE: u32 = 48_000;

/// Sample flags (ISO/IEC 14496-12 8.8.3.1): a sync sample depends on no other; a non-sync
/// sample depends on others and is marked non-sync.
const SYNC: u32 = 0x0200_0000;
const NON_SYNC: u32 = 0x0101_0000;

/// One sample of a track, timed in the track's timescale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Sample {
    pub(crate) dts: u64,
    pub(crate) duration: u32,
    pub(crate) sync: bool,
    pub(crate) data: Vec<u8>,
}

/// The init segment for an H.264 track described by `sps`/`pps` and a stereo-capable Opus track.
pub(crate) fn init_segment(sps: &[u8], pps: &[u8], info: SpsInfo) -> Result<Vec<u8>, mp4_atom::Error> {
    let ftyp = Ftyp {
        major_brand: b"iso6".into(),
        minor_version: 0,
        compatible_brands: vec![b"iso6".into(), b"cmfc".into(), b"mp41".into()],
    };
    let avcc = Avcc {
        configuration_version: 1,
        avc_profile_indication: info.profile,
        profile_compatibility: info.compatibility,
        avc_level_indication: info.level,
        length_size: 4,
        sequence_parameter_sets: vec![sps.to_vec()],
        picture_parameter_sets: vec![pps.to_vec()],
        ext: None,
    };
    let dinf = || Dinf { dref: Dref { entries: vec![Url { location: String::new() }.into()] } };
    let video = Trak {
        tkhd: Tkhd {
            track_id: VIDEO_TRACK,
            enabled: true,
            in_movie: true,
            width: info.width.into(),
            height: info.height.into(),
            ..Default::default()
        },
        mdia: Mdia {
            mdhd: Mdhd { timescale: VIDEO_TIMESCALE, language: "und".into(), ..Default::default() },
            hdlr: Hdlr { handler: b"vide".into(), name: "Ricevo video".into() },
            minf: Minf {
                vmhd: Some(Vmhd::default()),
                dinf: dinf(),
                stbl: empty_stbl(
                    Avc1 {
                        visual: Visual {
                            data_reference_index: 1,
                            width: info.width,
                            height: info.height,
                            ..Default::default()
                        },
                        avcc,
                        ..Default::default()
                    }
                    .into(),
                ),
                ..Default::default()
            },
        },
        ..Default::default()
    };
    let audio = Trak {
        tkhd: Tkhd {
            track_id: AUDIO_TRACK,
            alternate_group: 1,
            enabled: true,
            in_movie: true,
            volume: 1.into(),
            ..Default::default()
        },
        mdia: Mdia {
            mdhd: Mdhd { timescale: AUDIO_TIMESCALE, language: "und".into(), ..Default::default() },
            hdlr: Hdlr { handler: b"soun".into(), name: "Ricevo audio".into() },
            minf: Minf {
                smhd: Some(Smhd::default()),
                dinf: dinf(),
                stbl: empty_stbl(
                    Opus {
                        audio: Audio {
                            data_reference_index: 1,
                            channel_count: 2,
                            sample_size: 16,
                            sample_rate: 48000.into(),
                        },
                        dops: Dops {
                            output_channel_count: 2,
                            pre_skip: 0,
                            input_sample_rate: 48000,
                            output_gain: 0,
                            channel_mapping: None,
                        },
                        btrt: None,
                    }
                    .into(),
                ),
                ..Default::default()
            },
        },
        ..Default::default()
    };
    let trex = |track_id| Trex { track_id, default_sample_description_index: 1, ..Default::default() };
    let moov = Moov {
        mvhd: Mvhd {
            timescale: 1000,
            rate: 1.into(),
            volume: 1.into(),
            next_track_id: AUDIO_TRACK + 1,
            ..Default::default()
        },
        mvex: Some(Mvex { trex: vec![trex(VIDEO_TRACK), trex(AUDIO_TRACK)], ..Default::default() }),
        trak: vec![video, audio],
        ..Default::default()
    };
    let mut out = Vec::new();
    ftyp.encode(&mut out)?;
    moov.encode(&mut out)?;
    Ok(out)
}

fn empty_stbl(codec: mp4_atom::Codec) -> Stbl {
    Stbl {
        stsd: Stsd { codecs: vec![codec] },
        stts: Stts::default(),
        stsc: Stsc::default(),
        stsz: Stsz::default(),
        stco: Some(Stco::default()),
        ..Default::default()
    }
}

fn traf(track_id: u32, samples: &[Sample]) -> Option<Traf> {
    let first = samples.first()?;
    Some(Traf {
        tfhd: Tfhd { track_id, default_base_is_moof: true, ..Default::default() },
        tfdt: Some(Tfdt { base_media_decode_time: first.dts }),
        trun: vec![Trun {
            data_offset: Some(0),
            samples: samples
                .iter()
                .map(|s| TrunEntry {
                    duration: Some(s.duration),
                    size: Some(u32::try_from(s.data.len()).unwrap_or(u32::MAX)),
                    flags: Some(if s.sync { SYNC } else { NON_SYNC }),
                    cts: None,
                })
                .collect::<Vec<_>>()
                .into(),
        }],
        ..Default::default()
    })
}

/// One fragment (moof + mdat) with the given samples of each track; empty tracks are left out.
pub(crate) fn fragment(sequence_number: u32, video: &[Sample], audio: &[Sample]) -> Result<Vec<u8>, mp4_atom::Error> {
    let tracks: Vec<(Traf, &[Sample])> = [(VIDEO_TRACK, video), (AUDIO_TRACK, audio)]
        .into_iter()
        .filter_map(|(id, samples)| Some((traf(id, samples)?, samples)))
        .collect();
    let mut moof = Moof { mfhd: Mfhd { sequence_number }, traf: tracks.iter().map(|(t, _)| t.clone()).collect() };
    let mut probe = Vec::new();
    moof.encode(&mut probe)?;
    // data_offset is relative to the moof's first byte (default-base-is-moof); its size does
    // not depend on the offsets' values.
    let mut offset = probe.len() + 8;
    for (traf, (_, samples)) in moof.traf.iter_mut().zip(&tracks) {
        if let Some(trun) = traf.trun.first_mut() {
            trun.data_offset = Some(i32::try_from(offset).map_err(|_| mp4_atom::Error::OutOfBounds)?);
        }
        offset += samples.iter().map(|s| s.data.len()).sum::<usize>();
    }
    let mut data = Vec::with_capacity(offset - probe.len() - 8);
    for (_, samples) in &tracks {
        for sample in *samples {
            data.extend_from_slice(&sample.data);
        }
    }
    let mut out = Vec::with_capacity(offset);
    moof.encode(&mut out)?;
    Mdat { data }.encode(&mut out)?;
    Ok(out)
}

/// The duration of an Opus packet in 48 kHz samples, from its TOC byte (RFC 6716 3.1).
pub(crate) fn opus_duration(packet: &[u8]) -> Option<u32> {
    let toc = *packet.first()?;
    let config = toc >> 3;
    let frame = match config {
        0..=11 => [480, 960, 1920, 2880][usize::from(config % 4)],
        12..=15 => [480, 960][usize::from(config % 2)],
        _ => [120, 240, 480, 960][usize::from(config % 4)],
    };
    let frames = match toc & 3 {
        0 => 1,
        1 | 2 => 2,
        _ => u32::from(*packet.get(1)? & 0x3f),
    };
    let total = frame * frames;
    // At most 120 ms per packet (RFC 6716 3.2.5).
    (total > 0 && total <= 5760).then_some(total)
}
