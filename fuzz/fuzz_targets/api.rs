//! The HTTP API's JSON request bodies: arbitrary bytes decoded as every
//! body the agent, supervisor and call routes accept, then validated as the
//! handlers do (a data PUT is saved into a configured interaction).
#![no_main]

use libfuzzer_sys::fuzz_target;

include!("asan_options.rs");

fuzz_target!(|data: &[u8]| {
    switchboard::api::fuzz::bodies(data);
});
