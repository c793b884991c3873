//! SIP over WebSocket (RFC 7118): a client's frames with the listener's
//! limits, each message parsed as the switch parses it; or an upgrade
//! request through the listener's handshake checks (sip subprotocol, origin).
#![no_main]

use libfuzzer_sys::fuzz_target;

include!("asan_options.rs");

fuzz_target!(|data: &[u8]| {
    switchboard::driver::ws_fuzz::ws_frame(data);
});
