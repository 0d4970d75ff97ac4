//! SDP a browser sends over its WebSocket, fed to the SFU as the socket feeds it: an offer to
//! `Sfu::join` (str0m's SDP reader, its offer negotiation, then our own reading of the m-lines
//! for sources and slots) and an answer to str0m's answer reader. Never a panic; an accepted
//! offer gets an answer str0m itself reads back; leaving frees everything the join took.
//!
//! str0m asserts on some SDP; `Sfu` turns a panic inside str0m into a refusal of that SDP, so
//! the panic hook libfuzzer-sys installs (which aborts even on a caught panic) is replaced by
//! the default one: a panic that leaves `Sfu` still aborts the run.
#![no_main]

use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Instant;

use libfuzzer_sys::fuzz_target;
use ricevo_media::{Footprint, ParticipantId, Permissions, RoomId, Sfu, SfuConfig, SfuOutput};
use str0m::change::SdpAnswer;

/// One router for the whole run: making one generates a DTLS certificate, too slow per input.
/// Every input leaves it empty again, so an input's outcome does not depend on earlier ones.
static SFU: Mutex<Option<Sfu>> = Mutex::new(None);

fuzz_target!(init: { drop(std::panic::take_hook()) }, |sdp: &str| {
    let mut guard = SFU.lock().unwrap_or_else(|e| e.into_inner());
    let sfu = guard.get_or_insert_with(|| {
        let addr: SocketAddr = "127.0.0.1:3478".parse().expect("an address");
        Sfu::new(SfuConfig { candidates: vec![addr], tcp_candidates: vec![addr] }, Instant::now())
    });
    let who = ParticipantId(1);
    let now = Instant::now();
    // As an answer from someone the router does not know: str0m reads it, then it is refused.
    assert!(sfu.answer(now, ParticipantId(2), sdp).is_err());
    if let Ok(answer) = sfu.join(now, RoomId(1), who, sdp, Permissions::ALL) {
        assert!(SdpAnswer::from_sdp_string(&answer).is_ok(), "our answer does not parse: {answer:?}");
        for _ in 0..1000 {
            if let SfuOutput::Timeout(_) = sfu.poll_output() {
                break;
            }
        }
    }
    sfu.leave(now, who);
    assert_eq!(sfu.footprint(), Footprint::default());
});
