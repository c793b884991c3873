//! Voice prompt files (issue 14): any bytes through
//! `dsp::prompt_file::decode_prompt` (RIFF/WAVE, 8000 Hz mono 16-bit PCM
//! only): never panics, accepted files round-trip, refusals say what a
//! prompt must be.
#![no_main]

use libfuzzer_sys::fuzz_target;

include!("asan_options.rs");

fuzz_target!(|data: &[u8]| {
    switchboard::dsp::prompt_file::fuzz::prompt(data);
});
