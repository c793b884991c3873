//! RFC 4733 telephone-event payloads: parse/print, sender → detector round
//! trip, a detector over a payload stream, and event translation in the
//! transcoding pipeline.
#![no_main]

use libfuzzer_sys::fuzz_target;

include!("asan_options.rs");
use std::time::Instant;

fuzz_target!(|data: &[u8]| {
    switchboard::rtp::fuzz::telephone_event(data);
    switchboard::media::fuzz::events(data, Instant::now());
});
