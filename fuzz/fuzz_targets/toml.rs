//! The configuration loader (`sip-profiles/*.toml`): one file of the
//! embedded defaults replaced by arbitrary text (the first octet picks
//! which), loaded into the typed config or into file:line:col errors.
#![no_main]

use libfuzzer_sys::fuzz_target;

include!("asan_options.rs");

fuzz_target!(|data: &[u8]| {
    switchboard::config::fuzz::toml(data);
});
