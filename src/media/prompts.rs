//! TEMPORARY shim until the media branch lands.
/// Names of the embedded prompts.
pub const EMBEDDED_PROMPTS: &[&str] = &[
    "welcome",
    "invalid",
    "no-input",
    "goodbye",
    "closed",
    "holiday",
    "leave-message",
    "beep",
    "enter-account",
];
/// An embedded prompt's WAV bytes.
pub fn embedded_prompt(name: &str) -> Option<&'static [u8]> {
    EMBEDDED_PROMPTS
        .contains(&name)
        .then_some(include_bytes!("../../media/hold-music.wav") as &[u8])
}
