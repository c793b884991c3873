//! SDP (RFC 8866) from arbitrary bytes: parse, print, re-parse, answer.
#![no_main]

use libfuzzer_sys::fuzz_target;

include!("asan_options.rs");

fuzz_target!(|data: &[u8]| {
    switchboard::sdp::fuzz::parse(data);
});
