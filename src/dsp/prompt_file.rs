//! TEMPORARY shim until the media branch lands (decode_prompt).
/// Why a prompt file is refused.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct PromptFormatError(String);
/// Decodes an 8 kHz mono 16-bit PCM WAV.
pub fn decode_prompt(bytes: &[u8]) -> Result<Vec<i16>, PromptFormatError> {
    let r = hound::WavReader::new(std::io::Cursor::new(bytes)).map_err(|e| PromptFormatError(e.to_string()))?;
    let s = r.spec();
    if s.sample_rate != 8000 || s.channels != 1 || s.bits_per_sample != 16 {
        return Err(PromptFormatError("a prompt must be 8000 Hz mono 16-bit PCM WAV".into()));
    }
    r.into_samples::<i16>()
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| PromptFormatError(e.to_string()))
}
