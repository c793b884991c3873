//! TCP/TLS stream framing by Content-Length (RFC 3261 §18.3) on arbitrary bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

include!("asan_options.rs");

fuzz_target!(|data: &[u8]| {
    switchboard::sip::msg::fuzz::stream(data);
});
