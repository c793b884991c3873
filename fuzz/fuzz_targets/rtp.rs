//! RTP packets (RFC 3550 §5.1) from arbitrary bytes: the header parsers and
//! their round trips, then the same bytes as a packet stream through a
//! leg's rewriter, statistics, jitter buffer, and a call's media session.
#![no_main]

use libfuzzer_sys::fuzz_target;

include!("asan_options.rs");
use std::time::Instant;

fuzz_target!(|data: &[u8]| {
    let base = Instant::now();
    switchboard::rtp::fuzz::rtp(data, base);
    switchboard::media::fuzz::session(data, base);
});
