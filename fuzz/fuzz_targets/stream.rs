//! What the SFU hands the public stream's packager (`ricevo_stream::fuzzing`): RTP payloads
//! claiming to be H.264 (single NAL units, STAP-A, FU-A) and Opus from several sources, in any
//! order, with source switches and ends: the depacketizer and the fMP4/HLS muxer must never
//! panic or loop, whatever a member's browser (or someone pretending to be one) sends.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    ricevo_stream::fuzzing::packager(data);
});
