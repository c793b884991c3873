//! What reaches a WebRTC leg's port (RFC 7983 demux): STUN checks for the
//! ICE-lite responder, DTLS records for the DTLS server (issue 12).
#![no_main]

use libfuzzer_sys::fuzz_target;

include!("asan_options.rs");
use std::time::Instant;

fuzz_target!(|data: &[u8]| {
    switchboard::webrtc::fuzz::datagrams(data, Instant::now());
});
