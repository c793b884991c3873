//! SIP/SIPS/tel/other URIs (RFC 3261 §19.1, RFC 3966) from arbitrary bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

include!("asan_options.rs");

fuzz_target!(|data: &[u8]| {
    switchboard::sip::msg::fuzz::uri(data);
});
