//! Tests of the packager core, the muxed output (decoded back with mp4-atom), the playlists,
//! the live handle and the recording.
#![allow(clippy::unwrap_used)]

use std::io::Cursor;
use std::time::{Duration, Instant};

use mp4_atom::{Codec, Decode, Ftyp, Mdat, Moof, Moov};

use crate::packager::{Output, Packager, Timing};
use crate::synthetic::{Camera, Microphone};
use crate::*;

const TIMING: Timing = Timing { part_target: 0.5, segment_target: 2.0, target_duration: 3 };

/// Cameras at 30 fps and microphones at 50 packets/s into a packager core, in a virtual time.
struct Sim {
    packager: Packager,
    start: Instant,
    cameras: Vec<Camera>,
    /// Frames until a camera answers a keyframe request (None: never).
    response: Vec<Option<u32>>,
    pending: Vec<Option<u32>>,
    mics: Vec<(Microphone, i8)>,
    outputs: Vec<Output>,
    millis: u64,
}

impl Sim {
    fn new(cameras: usize, mics: usize) -> Self {
        Self {
            packager: Packager::new(TIMING),
            start: Instant::now(),
            cameras: (0..cameras).map(|i| Camera::new(i as u64 + 1, 1280, 720, 300 + 100 * i)).collect(),
            response: vec![Some(3); cameras],
            pending: vec![None; cameras],
            mics: (0..mics).map(|i| (Microphone::new(i as u64 + 11), -40)).collect(),
            outputs: Vec::new(),
            millis: 0,
        }
    }

    fn send(&mut self, message: FeedMessage) {
        self.packager.handle(message, &mut self.outputs);
    }

    fn run(&mut self, millis: u64) {
        let until = self.millis + millis;
        while self.millis < until {
            let now = self.start + Duration::from_millis(self.millis);
            // Frames at 30 fps: frame n at n*100/3 ms.
            if (self.millis * 3) % 100 < 3 {
                let wanted = self.packager.keyframe_wanted();
                for i in 0..self.cameras.len() {
                    if wanted && self.pending[i].is_none() {
                        self.pending[i] = self.response[i];
                    }
                    let keyframe = match &mut self.pending[i] {
                        Some(0) => {
                            self.pending[i] = None;
                            true
                        }
                        Some(n) => {
                            *n -= 1;
                            false
                        }
                        None => false,
                    };
                    for packet in self.cameras[i].frame(keyframe, now) {
                        self.send(FeedMessage::Packet(packet));
                    }
                }
            }
            if self.millis.is_multiple_of(20) {
                for i in 0..self.mics.len() {
                    let level = self.mics[i].1;
                    let packet = self.mics[i].0.packet(level, 80 + i, now);
                    self.send(FeedMessage::Packet(packet));
                }
            }
            self.millis += 1;
        }
    }

    fn parts(&self) -> Vec<(u64, u32, &Vec<u8>, f64, bool)> {
        self.outputs
            .iter()
            .filter_map(|o| match o {
                Output::Part { msn, part, data, duration, independent, .. } => {
                    Some((*msn, *part, data, *duration, *independent))
                }
                _ => None,
            })
            .collect()
    }
}

#[derive(Debug, Default)]
struct Track {
    base: u64,
    samples: Vec<(u32, u32, bool)>, // duration, size, sync
}

/// Decodes a fragment: (video, audio) tracks, and checks the mdat holds exactly the samples.
fn decode_fragment(data: &[u8]) -> (Track, Track) {
    let mut cursor = Cursor::new(data);
    let moof = Moof::decode(&mut cursor).unwrap();
    let mdat = Mdat::decode(&mut cursor).unwrap();
    assert_eq!(cursor.position() as usize, data.len());
    let (mut video, mut audio) = (Track::default(), Track::default());
    let mut total = 0;
    for traf in &moof.traf {
        let track = if traf.tfhd.track_id == 1 { &mut video } else { &mut audio };
        track.base = traf.tfdt.as_ref().unwrap().base_media_decode_time;
        for entry in traf.trun[0].samples.iter() {
            let size = entry.size.unwrap();
            total += size as usize;
            track.samples.push((entry.duration.unwrap(), size, entry.flags.unwrap() == 0x0200_0000));
        }
    }
    assert_eq!(total, mdat.data.len());
    (video, audio)
}

#[test]
fn init_segment_decodes_with_avc1_avcc_and_opus() {
    let mut sim = Sim::new(1, 1);
    sim.run(200);
    let Some(Output::Init(init)) = sim.outputs.first() else {
        panic!("no init segment first: {:?}", sim.outputs.first());
    };
    let mut cursor = Cursor::new(init);
    let ftyp = Ftyp::decode(&mut cursor).unwrap();
    assert_eq!(ftyp.major_brand, b"iso6".into());
    let moov = Moov::decode(&mut cursor).unwrap();
    assert_eq!(moov.trak.len(), 2);
    assert_eq!(moov.mvex.as_ref().unwrap().trex.len(), 2);
    let video = &moov.trak[0];
    assert_eq!(video.mdia.mdhd.timescale, 90_000);
    let Codec::Avc1(avc1) = &video.mdia.minf.stbl.stsd.codecs[0] else {
        panic!("not avc1");
    };
    assert_eq!((avc1.visual.width, avc1.visual.height), (1280, 720));
    assert_eq!(avc1.avcc.sequence_parameter_sets, vec![synthetic::sps(1280, 720)]);
    assert_eq!(avc1.avcc.picture_parameter_sets, vec![synthetic::pps()]);
    assert_eq!(avc1.avcc.avc_profile_indication, 66);
    let audio = &moov.trak[1];
    assert_eq!(audio.mdia.mdhd.timescale, 48_000);
    let Codec::Opus(opus) = &audio.mdia.minf.stbl.stsd.codecs[0] else {
        panic!("not Opus");
    };
    assert_eq!(opus.dops.input_sample_rate, 48_000);
}

#[test]
fn parts_and_segments_are_continuous_and_segments_start_with_a_keyframe() {
    let mut sim = Sim::new(1, 1);
    sim.run(10_000);
    sim.send(FeedMessage::End);
    let parts = sim.parts();
    assert!(parts.len() >= 15, "{} parts", parts.len());
    let (mut next_video, mut next_audio) = (None, None);
    let (mut video_samples, mut audio_samples) = (0, 0);
    let mut segment_durations = std::collections::BTreeMap::<u64, f64>::new();
    for (msn, part, data, duration, independent) in &parts {
        let (video, audio) = decode_fragment(data);
        assert!(*duration <= 0.5 + 1e-6, "part {msn}.{part} lasts {duration}");
        *segment_durations.entry(*msn).or_default() += duration;
        if *part == 0 {
            assert!(video.samples[0].2, "segment {msn} starts without a keyframe");
            assert!(independent);
        }
        assert_eq!(*independent, video.samples.first().is_some_and(|s| s.2));
        if !video.samples.is_empty() {
            if let Some(expected) = next_video {
                assert_eq!(video.base, expected, "video gap before {msn}.{part}");
            }
            for (d, _, _) in &video.samples {
                assert_eq!(*d, 3000);
            }
            next_video = Some(video.base + video.samples.iter().map(|s| u64::from(s.0)).sum::<u64>());
            video_samples += video.samples.len();
        }
        if !audio.samples.is_empty() {
            if let Some(expected) = next_audio {
                assert_eq!(audio.base, expected, "audio gap before {msn}.{part}");
            }
            next_audio = Some(audio.base + audio.samples.iter().map(|s| u64::from(s.0)).sum::<u64>());
            audio_samples += audio.samples.len();
        }
    }
    // 10 s of 30 fps video and 50 audio packets/s, all of it once ended, but for the three
    // frames before the camera's first keyframe (and the audio of that 0.1 s).
    assert_eq!(video_samples, 297);
    assert_eq!(audio_samples, 495);
    let ends = sim.outputs.iter().filter(|o| matches!(o, Output::SegmentEnd { .. })).count();
    assert!(ends >= 4, "{ends} segments");
    for (msn, duration) in segment_durations.iter().take(ends - 1) {
        assert!((1.4..=3.0).contains(duration), "segment {msn} lasts {duration}");
    }
}

#[test]
fn video_switches_source_only_at_the_new_sources_keyframe() {
    let mut sim = Sim::new(2, 0);
    sim.response = vec![Some(3), None];
    sim.send(FeedMessage::Show { video: 1 });
    sim.run(3000);
    sim.send(FeedMessage::Show { video: 2 });
    assert!(sim.packager.keyframe_wanted());
    sim.run(1000);
    let before = sim.parts().len();
    // Camera 2 answers only now: until its keyframe the stream keeps camera 1.
    sim.pending[1] = Some(0);
    sim.run(1000);
    let parts = sim.parts();
    let sizes: Vec<(u32, bool)> =
        parts.iter().flat_map(|p| decode_fragment(p.2).0.samples).map(|(_, size, sync)| (size, sync)).collect();
    // Camera 1's delta frames are 300+ bytes of slice, camera 2's 400+.
    let from_two = |size: u32| (size > 400 && size < 1200) || size > 2000;
    let first_two = sizes.iter().position(|s| from_two(s.0)).unwrap();
    assert!(sizes[first_two].1, "camera 2 starts with its keyframe");
    assert!(sizes[first_two..].iter().all(|s| from_two(s.0)));
    let frames_of_one: usize = parts[..before].iter().map(|p| decode_fragment(p.2).0.samples.len()).sum();
    assert!(first_two >= frames_of_one, "camera 1 shown until camera 2's keyframe");
    // The timeline stays continuous across the switch.
    let mut next = None;
    for p in &parts {
        let video = decode_fragment(p.2).0;
        if let Some(expected) = next {
            assert_eq!(video.base, expected);
        }
        next = Some(video.base + video.samples.iter().map(|s| u64::from(s.0)).sum::<u64>());
    }
}

#[test]
fn audio_follows_the_loudest_source_and_silence_fills_gaps() {
    let mut sim = Sim::new(1, 2);
    sim.mics[0].1 = -30;
    sim.mics[1].1 = -90;
    sim.run(2000);
    sim.mics[0].1 = -100;
    sim.mics[1].1 = -20;
    sim.run(2000);
    let sizes: Vec<u32> = sim.parts().iter().flat_map(|p| decode_fragment(p.2).1.samples).map(|s| s.1).collect();
    // Mic 1 sends 80-byte packets, mic 2 81-byte ones; silence frames are 3 bytes.
    let switch = sizes.iter().position(|s| *s == 81).unwrap();
    assert!(sizes[..switch].iter().all(|s| *s == 80 || *s == 3));
    assert!(sizes[switch..].iter().all(|s| *s == 81));
    assert!((90..=130).contains(&switch), "switched after {switch} packets");

    // Nobody speaks: the audio track is filled with silence.
    let mut quiet = Sim::new(1, 0);
    quiet.run(3000);
    let audio: usize = quiet.parts().iter().map(|p| decode_fragment(p.2).1.samples.len()).sum();
    assert!(audio >= 120, "{audio} silence frames");
}

#[test]
fn end_flushes_the_last_segment() {
    let mut sim = Sim::new(1, 1);
    sim.run(2500);
    sim.send(FeedMessage::End);
    assert!(matches!(sim.outputs.last(), Some(Output::End)));
    assert!(matches!(sim.outputs[sim.outputs.len() - 2], Output::SegmentEnd { .. }));
    assert!(!sim.packager.keyframe_wanted());
}

#[test]
fn fuzzing_entry_point_survives_garbage() {
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    for _ in 0..200 {
        let data: Vec<u8> = (0..600)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed as u8
            })
            .collect();
        fuzzing::packager(&data);
    }
}

#[test]
fn file_names_parse() {
    assert_eq!(HlsFile::parse("index.m3u8"), Some(HlsFile::Playlist));
    assert_eq!(HlsFile::parse("init.mp4"), Some(HlsFile::Init));
    assert_eq!(HlsFile::parse("s12.m4s"), Some(HlsFile::Segment(12)));
    assert_eq!(HlsFile::parse("s12.3.m4s"), Some(HlsFile::Part(12, 3)));
    for bad in ["s.m4s", "s1..m4s", "../init.mp4", "s-1.m4s", "s1.2.3.m4s", "x1.m4s", "s99999999999999999999.m4s"] {
        assert_eq!(HlsFile::parse(bad), None, "{bad}");
    }
}

/// Feeds `millis` of one camera and one microphone into a live stream, in virtual time.
fn feed(feed: &Feed, camera: &mut Camera, mic: &mut Microphone, start: Instant, from: u64, millis: u64) {
    for ms in from..from + millis {
        let now = start + Duration::from_millis(ms);
        if (ms * 3) % 100 < 3 {
            // Keyframes once a second, as if answering requests.
            let keyframe = (ms * 3 / 100) % 30 == 0;
            for packet in camera.frame(keyframe, now) {
                feed.send(FeedMessage::Packet(packet));
            }
        }
        if ms.is_multiple_of(20) {
            feed.send(FeedMessage::Packet(mic.packet(-30, 60, now)));
        }
    }
}

async fn wait_until(live: &Live, check: impl Fn(&str) -> bool) -> String {
    loop {
        let text = live.playlist(None, None).await.unwrap();
        if check(&text) {
            return text;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn live_playlist_blocks_until_the_next_part_and_refuses_requests_too_far_ahead() {
    let (feed_handle, live) = start(LiveOptions::default()).unwrap();
    let mut camera = Camera::new(1, 640, 360, 200);
    let mut mic = Microphone::new(2);
    let start = Instant::now();
    feed(&feed_handle, &mut camera, &mut mic, start, 0, 4100);
    let text = wait_until(&live, |t| t.contains("s1.m4s\n")).await;
    for line in [
        "#EXTM3U",
        "#EXT-X-VERSION:9",
        "#EXT-X-TARGETDURATION:3",
        "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.500",
        "#EXT-X-PART-INF:PART-TARGET=0.500",
        "#EXT-X-MEDIA-SEQUENCE:0",
        "#EXT-X-MAP:URI=\"init.mp4\"",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} missing in\n{text}");
    }
    assert!(text.contains("#EXT-X-PART:DURATION=0.50000,URI=\"s0.0.m4s\",INDEPENDENT=YES\n"), "{text}");
    assert!(text.contains("#EXT-X-PROGRAM-DATE-TIME:20"));
    assert!(!text.contains("#EXT-X-ENDLIST"));
    let hint = text.lines().last().unwrap();
    assert!(hint.starts_with("#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"s"), "{text}");
    let uri = hint.split('"').nth(1).unwrap();
    let Some(HlsFile::Part(msn, part)) = HlsFile::parse(uri) else {
        panic!("hint {uri}");
    };
    assert!(live.init().is_some());

    // A blocking request for the hinted part, and a fetch of the hinted part itself, wake
    // when the part is published.
    let waiting = tokio::spawn({
        let live = live.clone();
        async move { live.playlist(Some(msn), Some(part)).await }
    });
    let fetching = tokio::spawn({
        let live = live.clone();
        async move { live.part(msn, part).await }
    });
    tokio::task::yield_now().await;
    assert!(!waiting.is_finished());
    feed(&feed_handle, &mut camera, &mut mic, start, 4100, 1000);
    let text = waiting.await.unwrap().unwrap();
    assert!(text.contains(&format!("URI=\"s{msn}.{part}.m4s\"")), "{text}");
    let bytes = fetching.await.unwrap().unwrap();
    let (video, _) = decode_fragment(&bytes);
    assert!(!video.samples.is_empty());
    assert_eq!(live.segment(0).await.unwrap()[..], live.segment(0).await.unwrap()[..]);

    assert!(matches!(live.playlist(Some(msn + 5), None).await, Err(StreamError::TooFarAhead)));
    assert!(matches!(live.playlist(Some(msn), Some(part + 20)).await, Err(StreamError::TooFarAhead)));
    assert!(matches!(live.part(msn + 9, 0).await, Err(StreamError::TooFarAhead)));
    assert_eq!(StreamError::TooFarAhead.status(), 400);

    feed_handle.send(FeedMessage::End);
    let text = wait_until(&live, |t| t.contains("#EXT-X-ENDLIST")).await;
    assert!(!text.contains("PRELOAD-HINT"));
    assert!(live.ended());
    // After the end a blocking request answers at once.
    assert!(live.playlist(Some(msn + 2), Some(0)).await.is_ok());
}

#[tokio::test]
async fn the_recording_is_written_and_served_after_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let recording = dir.path().join("session-7");
    let (feed_handle, live) =
        start(LiveOptions { recording: Some(recording.clone()), ..LiveOptions::default() }).unwrap();
    let mut camera = Camera::new(1, 640, 360, 200);
    let mut mic = Microphone::new(2);
    feed(&feed_handle, &mut camera, &mut mic, Instant::now(), 0, 6000);
    feed_handle.send(FeedMessage::End);
    wait_until(&live, |t| t.contains("#EXT-X-ENDLIST")).await;

    let opened = Recording::open(&recording).unwrap();
    let text = opened.playlist();
    assert!(text.contains("#EXT-X-PLAYLIST-TYPE:VOD\n"), "{text}");
    assert!(text.ends_with("#EXT-X-ENDLIST\n"));
    assert!(text.contains("#EXT-X-MAP:URI=\"init.mp4\""));
    let segments: Vec<&str> = text.lines().filter(|l| l.ends_with(".m4s")).collect();
    assert!(segments.len() >= 3, "{text}");
    let total: f64 = text
        .lines()
        .filter_map(|l| l.strip_prefix("#EXTINF:"))
        .map(|l| l.trim_end_matches(',').parse::<f64>().unwrap())
        .sum();
    assert!((5.5..=6.1).contains(&total), "recorded {total} s");
    assert_eq!(opened.file("init.mp4").await.unwrap(), live.init().unwrap());
    let first = opened.file(segments[0]).await.unwrap();
    // A segment is its parts' fragments one after the other.
    let mut cursor = Cursor::new(&first[..]);
    let mut fragments = 0;
    while (cursor.position() as usize) < first.len() {
        Moof::decode(&mut cursor).unwrap();
        Mdat::decode(&mut cursor).unwrap();
        fragments += 1;
    }
    assert!(fragments >= 3);
    assert!(matches!(opened.file("../secret").await, Err(StreamError::NotFound)));
    assert!(matches!(opened.file("s999.m4s").await, Err(StreamError::NotFound)));

    remove_recording(&recording).unwrap();
    assert!(!recording.exists());
    remove_recording(&recording).unwrap();
    assert!(Recording::open(&recording).is_err());
}

#[test]
fn feed_never_blocks_and_counts_drops() {
    let (sender, _receiver) = std::sync::mpsc::sync_channel(2);
    let feed = Feed {
        sender,
        shared: Arc::new(FeedShared {
            keyframe_wanted: AtomicBool::new(true),
            end: AtomicBool::new(false),
            dropped: AtomicU64::new(0),
        }),
    };
    for _ in 0..5 {
        feed.send(FeedMessage::Show { video: 1 });
    }
    assert_eq!(feed.dropped(), 3);
    feed.send(FeedMessage::End);
    assert!(feed.shared.end.load(Ordering::Acquire));
}
