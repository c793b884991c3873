//! The project's own voice prompts (issue 14 entry points), embedded in the
//! binary like the hold music: the files of `media/prompts/` (made by
//! `examples/make_prompts.rs` with espeak-ng, see `media/prompts/README.md`),
//! 8000 Hz mono 16-bit PCM WAV, the format
//! [`crate::dsp::prompt_file::decode_prompt`] accepts. A flow names one
//! (`welcome`, `invalid`, `beep`...); an admin's own file of the same format
//! can stand in for any of them.

use std::sync::{Arc, OnceLock};

/// Each embedded prompt: its name and its WAV file.
static PROMPTS: &[(&str, &[u8])] = &[
    ("welcome", include_bytes!("../../media/prompts/welcome.wav")),
    ("invalid", include_bytes!("../../media/prompts/invalid.wav")),
    ("no-input", include_bytes!("../../media/prompts/no-input.wav")),
    ("goodbye", include_bytes!("../../media/prompts/goodbye.wav")),
    ("closed", include_bytes!("../../media/prompts/closed.wav")),
    ("holiday", include_bytes!("../../media/prompts/holiday.wav")),
    ("leave-message", include_bytes!("../../media/prompts/leave-message.wav")),
    ("message-saved", include_bytes!("../../media/prompts/message-saved.wav")),
    (
        "callback-offer",
        include_bytes!("../../media/prompts/callback-offer.wav"),
    ),
    (
        "callback-number",
        include_bytes!("../../media/prompts/callback-number.wav"),
    ),
    ("enter-number", include_bytes!("../../media/prompts/enter-number.wav")),
    (
        "callback-confirmed",
        include_bytes!("../../media/prompts/callback-confirmed.wav"),
    ),
    ("transfer", include_bytes!("../../media/prompts/transfer.wav")),
    ("enter-account", include_bytes!("../../media/prompts/enter-account.wav")),
    ("beep", include_bytes!("../../media/prompts/beep.wav")),
];

/// The names of the embedded prompts, in the order of `media/prompts/README.md`.
pub const EMBEDDED_PROMPTS: &[&str] = &[
    "welcome",
    "invalid",
    "no-input",
    "goodbye",
    "closed",
    "holiday",
    "leave-message",
    "message-saved",
    "callback-offer",
    "callback-number",
    "enter-number",
    "callback-confirmed",
    "transfer",
    "enter-account",
    "beep",
];

/// The WAV file of the embedded prompt `name`; `None` for a name not in
/// [`EMBEDDED_PROMPTS`].
pub fn embedded_prompt(name: &str) -> Option<&'static [u8]> {
    PROMPTS.iter().find(|(n, _)| *n == name).map(|(_, wav)| *wav)
}

/// The samples (8 kHz) of the embedded prompt `name`, decoded once per
/// process and shared (what [`crate::call::media::MediaCommand::Prompt`]
/// carries); `None` for an unknown name or, never expected, a file that
/// does not decode (logged).
pub fn embedded_samples(name: &str) -> Option<Arc<[i16]>> {
    static DECODED: OnceLock<Vec<Option<Arc<[i16]>>>> = OnceLock::new();
    let decoded = DECODED.get_or_init(|| {
        PROMPTS
            .iter()
            .map(|(name, wav)| match crate::dsp::prompt_file::decode_prompt(wav) {
                Ok(s) => Some(Arc::from(s)),
                Err(e) => {
                    tracing::error!(prompt = name, error = %e, "embedded prompt unreadable");
                    None
                }
            })
            .collect()
    });
    let i = PROMPTS.iter().position(|(n, _)| *n == name)?;
    decoded.get(i)?.clone()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::prompt::PROMPT_DBFS;
    use crate::dsp::prompt_file::decode_prompt;
    use crate::dsp::tone::{level_dbfs, tone_level_dbfs};

    #[test]
    fn the_table_and_the_names_agree() {
        let names: Vec<&str> = PROMPTS.iter().map(|(n, _)| *n).collect();
        assert_eq!(names, EMBEDDED_PROMPTS);
        assert_eq!(embedded_prompt("nonexistent"), None);
        assert_eq!(embedded_samples("nonexistent"), None);
        assert!(embedded_prompt("welcome").is_some_and(|w| w.starts_with(b"RIFF")));
    }

    #[test]
    fn every_embedded_prompt_decodes_with_a_plausible_length_and_level() {
        for name in EMBEDDED_PROMPTS {
            let wav = embedded_prompt(name).expect("listed");
            let samples = decode_prompt(wav).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(embedded_samples(name).as_deref(), Some(&samples[..]), "{name}");
            let secs = samples.len() as f64 / 8000.0;
            let peak = samples.iter().map(|s| s.unsigned_abs()).max().unwrap_or(0);
            let peak_dbfs = 20.0 * (f64::from(peak) / 32768.0).log10();
            let rms = level_dbfs(&samples);
            if *name == "beep" {
                assert!((secs - 0.4).abs() < 1e-9, "beep: {secs} s");
                let tone = tone_level_dbfs(&samples, 1000.0, 8000);
                assert!((tone - PROMPT_DBFS).abs() < 1.0, "beep: 1 kHz at {tone:.1} dBFS");
                continue;
            }
            // Speech: a second or more (the shortest says five words), at
            // most ten (the longest offers three choices).
            assert!((1.0..=10.0).contains(&secs), "{name}: {secs:.2} s");
            // Normalised to about PROMPT_DBFS peak, never clipping.
            assert!(
                (PROMPT_DBFS - 1.0..=PROMPT_DBFS + 4.0).contains(&peak_dbfs),
                "{name}: peak {peak_dbfs:.1} dBFS"
            );
            // Speech, not silence or a tone: clearly audible on average.
            assert!((-36.0..=-22.0).contains(&rms), "{name}: {rms:.1} dBFS RMS");
            // It starts and ends quietly (trimmed, with a short lead and tail).
            let edge = |s: &[i16]| s.iter().map(|v| v.unsigned_abs()).max().unwrap_or(0);
            assert!(edge(&samples[..200]) < 200, "{name}: starts at silence");
            assert!(edge(&samples[samples.len() - 800..]) < 200, "{name}: ends at silence");
        }
    }
}
