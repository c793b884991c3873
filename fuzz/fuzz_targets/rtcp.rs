//! RTCP datagrams, compound or not (RFC 3550 §6.1, §6.4): parse, print,
//! re-parse, and read by a call's media session.
#![no_main]

use libfuzzer_sys::fuzz_target;

include!("asan_options.rs");
use std::time::Instant;

fuzz_target!(|data: &[u8]| {
    let now = Instant::now();
    switchboard::rtp::fuzz::rtcp(data, now);
    switchboard::media::fuzz::rtcp(data, now);
});
