//! One UDP datagram: frame, validate the envelope (RFC 3261 §8.1.1), type every header, print.
#![no_main]

use libfuzzer_sys::fuzz_target;

include!("asan_options.rs");

fuzz_target!(|data: &[u8]| {
    switchboard::sip::msg::fuzz::datagram(data);
});
