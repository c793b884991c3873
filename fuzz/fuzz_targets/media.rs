//! A call's media session core fed a stream of RTP/RTCP datagrams and
//! commands from both legs (relay, transcoding, noise removal, hold,
//! recording): what it sends must parse, each leg hears one SSRC.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::time::Instant;

include!("asan_options.rs");

fuzz_target!(|data: &[u8]| {
    switchboard::media::fuzz::session(data, Instant::now());
});
