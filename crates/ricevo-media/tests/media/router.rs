//! The room router in virtual time: str0m peers exchange datagrams with the `Sfu` in memory.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::time::Duration;

use common::World;
use ricevo_media::{MediaError, MediaEvent, ParticipantId, Permissions, RoomId, Source};

const A: ParticipantId = ParticipantId(1);
const B: ParticipantId = ParticipantId(2);
const C: ParticipantId = ParticipantId(3);

fn everyone_connected(world: &World) -> bool {
    world.clients.iter().all(|c| c.connected)
}

/// Runs until every client receives audio and camera from every other client in its room.
fn run_until_media_flows(world: &mut World, pairs: &[(i64, i64)]) -> bool {
    let pairs = pairs.to_vec();
    world.run_until(Duration::from_secs(10), move |w| {
        pairs.iter().all(|(to, from)| w.client(*to).hears_and_sees(ParticipantId(*from), 10))
    })
}

#[test]
fn media_is_forwarded_between_two_peers() {
    let mut world = World::new();
    world.join(1, A.0, Permissions::ALL);
    world.join(1, B.0, Permissions::ALL);
    assert!(world.run_until(Duration::from_secs(5), everyone_connected));
    assert!(run_until_media_flows(&mut world, &[(1, 2), (2, 1)]));

    // What arrives is what was sent: the payload names its sender.
    let b = world.client(B.0);
    let audio = b.frames.iter().find(|f| f.source == Source::Microphone).unwrap();
    assert_eq!(&audio.data[..2], &[0xA0, A.0 as u8]);
    let video = b.frames.iter().find(|f| f.source == Source::Camera).unwrap();
    assert_eq!(video.data.len(), 300);
    assert_eq!(&video.data[1..3], &[0xB0, A.0 as u8]);
    // Nobody receives their own media, and the screen (never sent) stays silent.
    assert_eq!(b.frames_from(B, Source::Camera), 0);
    assert_eq!(b.frames_from(A, Source::Screen), 0);

    let stats = world.sfu.stats();
    assert_eq!((stats.rooms, stats.participants), (1, 2));
    assert!(stats.frames_forwarded >= 40);
    assert!(stats.packets_forwarded >= 40);
}

#[test]
fn media_is_forwarded_among_three_peers() {
    let mut world = World::new();
    world.join(1, A.0, Permissions::ALL);
    world.join(1, B.0, Permissions::ALL);
    world.join(1, C.0, Permissions::ALL);
    assert!(world.run_until(Duration::from_secs(5), everyone_connected));
    assert!(run_until_media_flows(&mut world, &[(1, 2), (1, 3), (2, 1), (2, 3), (3, 1), (3, 2)]));
    // Each client was told of exactly the other two participants' three tracks each.
    for client in &world.clients {
        assert_eq!(client.tracks.len(), 6, "tracks of {:?}", client.who);
        assert!(client.tracks.values().all(|(from, _)| *from != client.who));
    }
}

/// str0m's pacer asks for a timer run after every send; the router puts off the runs that
/// would find nothing to send. None of that may hold a packet back, although str0m's pacer can
/// stop with packets still queued when a receiver has several queues and video frames of
/// several packets: every RTP packet that reaches the router is passed on to both others
/// within a few milliseconds of virtual time (a put-off run waits 10 ms). C only receives, so
/// nothing of its own wakes its session.
#[test]
fn forwarded_packets_never_wait_for_a_put_off_timer_run() {
    let mut world = World::new();
    world.join(1, A.0, Permissions::ALL);
    world.join(1, B.0, Permissions::ALL);
    world.join(1, C.0, Permissions::ALL);
    world.client_mut(C.0).sending = false;
    for who in [A.0, B.0] {
        // Frames of four RTP packets.
        world.client_mut(who).video_bytes = 4_000;
    }
    assert!(world.run_until(Duration::from_secs(5), everyone_connected));
    assert!(run_until_media_flows(&mut world, &[(1, 2), (2, 1), (3, 1), (3, 2)]));

    let (start, in_before, out_before) = (world.now, world.rtp_in.len(), world.rtp_out);
    let mut checked = 0;
    while world.now < start + Duration::from_secs(3) {
        world.step();
        let cutoff = world.now - Duration::from_millis(3);
        let due = world.rtp_in[in_before..].iter().filter(|at| **at <= cutoff).count();
        let forwarded = world.rtp_out - out_before;
        assert!(forwarded >= 2 * due, "{forwarded} forwarded, {due} arrived 3 ms ago or more, to 2 receivers each");
        checked = due;
    }
    // Two senders, an audio packet and a four-packet video frame every 20 ms each, for 3 s.
    assert!(checked >= 1_450, "{checked}");
}

#[test]
fn a_late_joiner_receives_the_tracks_already_in_the_room() {
    let mut world = World::new();
    world.join(1, A.0, Permissions::ALL);
    world.join(1, B.0, Permissions::ALL);
    assert!(run_until_media_flows(&mut world, &[(1, 2), (2, 1)]));
    world.join(1, C.0, Permissions::ALL);
    assert!(run_until_media_flows(&mut world, &[(3, 1), (3, 2), (1, 3), (2, 3)]));
}

/// Offers (server-initiated renegotiations) a client has been sent.
fn offers(world: &World, who: i64) -> usize {
    world.client(who).events.iter().filter(|e| matches!(e, MediaEvent::Offer { .. })).count()
}

#[test]
fn receive_slots_in_the_first_offer_carry_the_others_media_without_renegotiation() {
    let mut world = World::new();
    // A is alone and offers places for one other participant; B joins with places for A.
    world.join_with_slots(1, A.0, Permissions::ALL, 1);
    assert!(world.run_until(Duration::from_secs(5), everyone_connected));
    world.join_with_slots(1, B.0, Permissions::ALL, 1);
    assert!(run_until_media_flows(&mut world, &[(1, 2), (2, 1)]));
    // Neither was sent a second offer: the answers to their own offers were enough.
    assert_eq!((offers(&world, A.0), offers(&world, B.0)), (0, 0));
    let b = world.client(B.0);
    assert_eq!(b.tracks.len(), 3, "A's microphone, camera and screen, each on one of B's slots");
    assert!(b.tracks.keys().all(|mid| ![b.audio, b.camera, b.screen].contains(mid)));
    assert_eq!(world.client(A.0).tracks.len(), 3);
}

#[test]
fn a_slot_freed_by_a_leaving_participant_carries_the_next_ones_tracks() {
    let mut world = World::new();
    world.join_with_slots(1, A.0, Permissions::ALL, 1);
    world.join(1, B.0, Permissions::ALL);
    assert!(run_until_media_flows(&mut world, &[(1, 2), (2, 1)]));
    let slots: Vec<_> = world.client(A.0).tracks.keys().copied().collect();
    assert_eq!(slots.len(), 3);
    assert_eq!(offers(&world, A.0), 0);

    // B leaves: A hears its tracks end (one offer makes the slots inactive).
    world.leave(B.0);
    world.run(Duration::from_secs(1));
    let a = world.client(A.0);
    assert!(slots.iter().all(|mid| a.ended.contains(mid)));
    assert_eq!(offers(&world, A.0), 1);
    assert_eq!(world.sfu.footprint().tracks_out, 0);

    // C joins: its tracks take the same slots (one more offer, no new m-line) and flow.
    world.join(1, C.0, Permissions::ALL);
    assert!(run_until_media_flows(&mut world, &[(1, 3), (3, 1)]));
    let a = world.client(A.0);
    assert_eq!(offers(&world, A.0), 2);
    for source in [Source::Microphone, Source::Camera, Source::Screen] {
        let mid = a.tracks.iter().find(|(_, (from, s))| *from == C && *s == source).map(|(mid, _)| *mid);
        assert!(mid.is_some_and(|mid| slots.contains(&mid)), "C's {source:?} is on a slot");
    }
    assert_eq!(a.tracks.len(), 3);
}

#[test]
fn a_keyframe_request_is_routed_to_the_sender_of_that_stream() {
    let mut world = World::new();
    world.join(1, A.0, Permissions::ALL);
    world.join(1, B.0, Permissions::ALL);
    world.join(1, C.0, Permissions::ALL);
    assert!(run_until_media_flows(&mut world, &[(1, 2), (1, 3), (2, 1), (2, 3), (3, 1), (3, 2)]));
    // Let any start-up requests pass, then make sure the room is quiet.
    world.run(Duration::from_secs(2));
    for client in &mut world.clients {
        client.keyframe_requests.clear();
    }
    world.run(Duration::from_secs(1));
    assert!(world.clients.iter().all(|c| c.keyframe_requests.is_empty()));

    // B asks for a keyframe of A's camera.
    let mid = world.client(B.0).mid_of(A, Source::Camera).unwrap();
    world.client_mut(B.0).request_keyframe(mid);
    let camera_of_a = world.client(A.0).camera;
    assert!(world.run_until(Duration::from_secs(2), |w| {
        w.client(A.0).keyframe_requests.iter().any(|r| r.mid == camera_of_a)
    }));
    // Only the sender of that stream is asked.
    assert!(world.client(B.0).keyframe_requests.is_empty());
    assert!(world.client(C.0).keyframe_requests.is_empty());
}

#[test]
fn a_leaving_participant_is_forgotten_and_its_tracks_end() {
    let mut world = World::new();
    world.join(1, A.0, Permissions::ALL);
    world.join(1, B.0, Permissions::ALL);
    world.join(1, C.0, Permissions::ALL);
    assert!(run_until_media_flows(&mut world, &[(1, 2), (1, 3), (2, 1), (2, 3), (3, 1), (3, 2)]));
    let before = world.sfu.footprint();
    assert_eq!((before.participants, before.tracks_in, before.tracks_out), (3, 9, 18));

    world.leave(C.0);
    world.run(Duration::from_secs(1));
    let after = world.sfu.footprint();
    // C's own tracks and the tracks towards the others that came from C are gone (after the
    // others answered the offers stopping them), and so is C's address.
    assert_eq!((after.participants, after.rooms), (2, 1));
    assert_eq!((after.tracks_in, after.tracks_out), (6, 6));
    assert_eq!(after.addresses, 2);
    for who in [A.0, B.0] {
        let client = world.client(who);
        let ended = client.tracks.iter().filter(|(mid, (from, _))| *from == C && client.ended.contains(mid)).count();
        assert_eq!(ended, 3, "{who} saw C's three tracks end");
    }
    // A and B still talk.
    let before = world.client(B.0).frames_from(A, Source::Camera);
    world.run(Duration::from_secs(1));
    assert!(world.client(B.0).frames_from(A, Source::Camera) > before);

    world.leave(A.0);
    world.leave(B.0);
    assert_eq!(world.sfu.footprint(), Default::default());
    assert_eq!(world.sfu.stats().rooms, 0);
}

#[test]
fn no_one_receives_media_of_a_room_they_did_not_join() {
    let mut world = World::new();
    world.join(1, A.0, Permissions::ALL);
    world.join(1, B.0, Permissions::ALL);
    world.join(2, 3, Permissions::ALL);
    world.join(2, 4, Permissions::ALL);
    assert!(run_until_media_flows(&mut world, &[(1, 2), (2, 1), (3, 4), (4, 3)]));
    world.run(Duration::from_secs(1));
    for (who, strangers) in [(1, [3, 4]), (2, [3, 4]), (3, [1, 2]), (4, [1, 2])] {
        let client = world.client(who);
        for stranger in strangers {
            assert!(client.frames.iter().all(|f| f.from.0 != stranger));
            assert!(client.tracks.values().all(|(from, _)| from.0 != stranger));
        }
    }
}

#[test]
fn muting_stops_audio_and_audio_only_stops_video() {
    let mut world = World::new();
    world.join(1, A.0, Permissions::ALL);
    world.join(1, B.0, Permissions::ALL);
    assert!(run_until_media_flows(&mut world, &[(1, 2), (2, 1)]));

    world.sfu.set_muted(A, true);
    world.run(Duration::from_millis(200));
    let b = world.client(B.0);
    let (audio, video) = (b.frames_from(A, Source::Microphone), b.frames_from(A, Source::Camera));
    world.run(Duration::from_secs(1));
    let b = world.client(B.0);
    assert_eq!(b.frames_from(A, Source::Microphone), audio, "muted audio still forwarded");
    assert!(b.frames_from(A, Source::Camera) > video + 10);

    world.sfu.set_muted(A, false);
    world.sfu.set_audio_only(B, true);
    world.run(Duration::from_millis(200));
    let b = world.client(B.0);
    let (audio, video) = (b.frames_from(A, Source::Microphone), b.frames_from(A, Source::Camera));
    world.run(Duration::from_secs(1));
    let b = world.client(B.0);
    assert!(b.frames_from(A, Source::Microphone) > audio + 10);
    assert_eq!(b.frames_from(A, Source::Camera), video, "video still forwarded to audio-only");
    // A, not audio-only, still gets B's video.
    let a_video = world.client(A.0).frames_from(B, Source::Camera);
    world.sfu.set_audio_only(B, false);
    world.run(Duration::from_secs(1));
    assert!(world.client(B.0).frames_from(A, Source::Camera) > video + 10);
    assert!(world.client(A.0).frames_from(B, Source::Camera) > a_video + 10);
}

#[test]
fn a_muted_participant_stays_muted_after_offering_again_until_unmuted() {
    let mut world = World::new();
    world.join(1, A.0, Permissions::ALL);
    world.join(1, B.0, Permissions::ALL);
    assert!(run_until_media_flows(&mut world, &[(1, 2), (2, 1)]));
    world.sfu.set_muted(A, true);

    // A's browser renegotiates from scratch (a new offer replaces its session), asking to send
    // everything again: the official's mute is not the browser's to lift.
    let before = world.client(B.0).frames_from(A, Source::Camera);
    world.clients.retain(|c| c.who != A);
    world.join(1, A.0, Permissions::ALL);
    assert!(
        world.run_until(Duration::from_secs(10), move |w| {
            w.client(B.0).frames_from(A, Source::Camera) >= before + 10
        })
    );
    let b = world.client(B.0);
    let (audio, video) = (b.frames_from(A, Source::Microphone), b.frames_from(A, Source::Camera));
    world.run(Duration::from_secs(1));
    let b = world.client(B.0);
    assert_eq!(b.frames_from(A, Source::Microphone), audio, "a new offer lifted the mute");
    assert!(b.frames_from(A, Source::Camera) > video + 10, "the video of a muted participant still flows");

    // The official lets A speak again.
    world.sfu.set_muted(A, false);
    world.run(Duration::from_secs(1));
    assert!(world.client(B.0).frames_from(A, Source::Microphone) > audio + 10);
}

#[test]
fn media_a_participant_may_not_send_is_never_offered() {
    let mut world = World::new();
    let listener = Permissions { send_audio: true, send_video: false, share_screen: false };
    world.join(1, A.0, listener);
    world.join(1, B.0, Permissions::ALL);
    assert!(world.run_until(Duration::from_secs(10), |w| {
        w.client(A.0).frames_from(B, Source::Camera) >= 10 && w.client(B.0).frames_from(A, Source::Microphone) >= 10
    }));
    let b = world.client(B.0);
    assert_eq!(b.frames_from(A, Source::Camera), 0);
    assert!(b.tracks.values().all(|(_, source)| *source == Source::Microphone));
}

#[test]
fn rejoining_replaces_the_old_session() {
    let mut world = World::new();
    world.join(1, A.0, Permissions::ALL);
    world.join(1, B.0, Permissions::ALL);
    assert!(run_until_media_flows(&mut world, &[(1, 2), (2, 1)]));

    // A reloads the page: a new browser session under the same participant id.
    world.clients.retain(|c| c.who != A);
    world.join(1, A.0, Permissions::ALL);
    let before = world.client(B.0).frames_from(A, Source::Camera);
    world.run(Duration::from_secs(2));
    assert_eq!(world.sfu.footprint().participants, 2);
    assert!(world.client(B.0).frames_from(A, Source::Camera) > before + 10);
    assert!(world.client(A.0).frames_from(B, Source::Camera) >= 10);
    // B was told the old tracks ended and the new ones arrived.
    let b = world.client(B.0);
    assert_eq!(b.ended.len(), 3);
    assert_eq!(b.tracks.len(), 6);
}

#[test]
fn the_eleventh_participant_is_refused() {
    let mut world = World::new();
    for who in 1..=10 {
        world.join(1, who, Permissions::ALL);
    }
    let (_, offer) = common::Client::new(ParticipantId(11), "10.0.2.11:5000".parse().unwrap(), world.now);
    let refused = world.sfu.join(world.now, RoomId(1), ParticipantId(11), &offer, Permissions::ALL);
    assert!(matches!(refused, Err(MediaError::RoomFull)));
    // Another room is unaffected.
    assert!(world.sfu.join(world.now, RoomId(2), ParticipantId(11), &offer, Permissions::ALL).is_ok());
}

#[test]
fn garbage_sdp_is_an_error_not_a_panic() {
    let mut world = World::new();
    let result = world.sfu.join(world.now, RoomId(1), A, "not sdp", Permissions::ALL);
    assert!(matches!(result, Err(MediaError::Sdp(_))));
    assert!(matches!(world.sfu.answer(world.now, A, "v=0"), Err(MediaError::Sdp(_) | MediaError::UnknownParticipant)));
    assert_eq!(world.sfu.footprint(), Default::default());
    let _ = MediaEvent::Connected;
}

#[test]
fn a_receiver_whose_bandwidth_collapses_gets_audio_only_until_it_recovers() {
    let mut world = World::new();
    world.join(1, A.0, Permissions::ALL);
    world.join(1, B.0, Permissions::ALL);
    assert!(run_until_media_flows(&mut world, &[(1, 2), (2, 1)]));

    // B's downlink shrinks to 80 kbit/s: the camera alone needs more.
    let b_addr = world.client(B.0).addr;
    world.downlinks.insert(b_addr, 80_000);
    let stopped = world.run_until(Duration::from_secs(30), |w| w.sfu.receives_video(B) == Some(false));
    assert!(stopped, "video to B was not stopped");
    // Let what is already queued towards B (pacer, bottleneck, retransmissions) drain.
    world.run(Duration::from_secs(3));
    let b = world.client(B.0);
    let (audio, video) = (b.frames_from(A, Source::Microphone), b.frames_from(A, Source::Camera));
    world.run(Duration::from_secs(1));
    let b = world.client(B.0);
    assert_eq!(b.frames_from(A, Source::Camera), video);
    assert!(b.frames_from(A, Source::Microphone) > audio);
    // A's link is fine: A still gets B's video.
    assert_eq!(world.sfu.receives_video(A), Some(true));

    world.downlinks.clear();
    assert!(world.run_until(Duration::from_secs(60), |w| w.sfu.receives_video(B) == Some(true)));
    let video = world.client(B.0).frames_from(A, Source::Camera);
    world.run(Duration::from_secs(1));
    assert!(world.client(B.0).frames_from(A, Source::Camera) > video + 10);
}

#[test]
fn h264_video_is_forwarded_too() {
    let mut world = World::new();
    world.join(1, A.0, Permissions::ALL);
    world.join(1, B.0, Permissions::ALL);
    world.client_mut(A.0).video_codec = str0m::format::Codec::H264;
    assert!(run_until_media_flows(&mut world, &[(1, 2), (2, 1)]));
    let b = world.client(B.0);
    let video = b.frames.iter().find(|f| f.from == A && f.source == Source::Camera).unwrap();
    // The depacketised frame is the Annex B NAL unit A wrote (VP8 would not start so).
    assert_eq!(&video.data[..4], &[0, 0, 0, 1]);
    assert!(matches!(video.data[4], 0x65 | 0x41));
    assert_eq!(&video.data[5..7], &[0xB0, A.0 as u8]);
}
