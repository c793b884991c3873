//! RTP packets (RFC 3550 §5.1) from arbitrary bytes: the header parsers and
//! their round trips, then the same bytes as a packet stream through a
//! leg's rewriter, reception statistics, jitter buffer and DTMF detector.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::time::Instant;

include!("asan_options.rs");

fuzz_target!(|data: &[u8]| {
    switchboard::rtp::fuzz::rtp(data, Instant::now());
});
