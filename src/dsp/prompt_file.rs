//! Voice prompt files (issue 14 entry points): the one format a prompt may
//! have, checked and decoded from bytes (no file I/O here; the caller read
//! the file or took an embedded one, `media::prompts`).
//!
//! A prompt is a RIFF/WAVE file (the Microsoft RIFF specification, "WAVE
//! form": a `fmt ` chunk then a `data` chunk, chunks padded to even
//! lengths) holding **8000 Hz, mono, 16-bit linear PCM**
//! (`WAVE_FORMAT_PCM` = 1, or `WAVE_FORMAT_EXTENSIBLE` = 0xFFFE with the PCM
//! sub-format): the media plane's narrowband rate, so playing it to a G.711
//! leg needs no resampling. Anything else is refused with a
//! [`PromptFormatError`] whose message says, in an admin's words, what the
//! file is and what it must be ("48000 Hz stereo 24-bit: a prompt must be
//! 8000 Hz mono 16-bit PCM WAV"). Garbage never panics: every length is
//! checked before it is used.

/// The sample rate of a prompt.
pub const PROMPT_FILE_RATE: u32 = 8000;

/// What every refusal ends with: the format a prompt must have.
#[cfg(any(test, feature = "fuzzing"))]
const MUST: &str = "a prompt must be 8000 Hz mono 16-bit PCM WAV";

/// `WAVE_FORMAT_PCM`.
const FORMAT_PCM: u16 = 1;
/// `WAVE_FORMAT_EXTENSIBLE`: the real format is the sub-format GUID's first two octets.
const FORMAT_EXTENSIBLE: u16 = 0xFFFE;

/// Why a prompt file was refused (each message names the problem and the
/// format a prompt must have).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PromptFormatError {
    /// The bytes do not start with a RIFF/WAVE header (an MP3, a text file,
    /// a big-endian RIFX or 64-bit RF64 file...).
    #[error("not a WAV file (no RIFF/WAVE header): a prompt must be 8000 Hz mono 16-bit PCM WAV")]
    NotWav,
    /// The file ends inside a chunk (an interrupted copy or upload, or a
    /// WAV written as a stream whose sizes were never filled in).
    #[error("the WAV file is cut short in its {what}: a prompt must be 8000 Hz mono 16-bit PCM WAV")]
    Truncated {
        /// Where it ends: "RIFF header", "format chunk", "audio data"...
        what: &'static str,
    },
    /// No `fmt ` chunk before the end of the file.
    #[error("the WAV file has no format chunk: a prompt must be 8000 Hz mono 16-bit PCM WAV")]
    NoFormat,
    /// No `data` chunk.
    #[error("the WAV file has no audio data chunk: a prompt must be 8000 Hz mono 16-bit PCM WAV")]
    NoData,
    /// The `data` chunk is empty.
    #[error("the WAV file holds no audio: a prompt must be 8000 Hz mono 16-bit PCM WAV")]
    Empty,
    /// A well-formed WAV in another format.
    #[error("{}: a prompt must be 8000 Hz mono 16-bit PCM WAV", describe(.rate, .channels, .bits, .format))]
    Unsupported {
        /// Samples per second.
        rate: u32,
        /// Channels (1 mono, 2 stereo).
        channels: u16,
        /// Bits per sample.
        bits: u16,
        /// The WAV format tag (1 PCM, 3 float, 6 A-law, 7 µ-law...).
        format: u16,
    },
}

/// "48000 Hz stereo 24-bit", "8000 Hz mono A-law".
fn describe(rate: &u32, channels: &u16, bits: &u16, format: &u16) -> String {
    let channels = match channels {
        1 => "mono".to_string(),
        2 => "stereo".to_string(),
        n => format!("{n}-channel"),
    };
    let encoding = match format {
        1 => format!("{bits}-bit"),
        3 => format!("{bits}-bit float"),
        2 | 0x11 => "ADPCM".to_string(),
        6 => "A-law".to_string(),
        7 => "µ-law".to_string(),
        0x55 => "MP3".to_string(),
        n => format!("{bits}-bit WAV format {n:#06x}"),
    };
    format!("{rate} Hz {channels} {encoding}")
}

/// A little-endian `u16` at `at`, if the bytes hold it.
fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at.checked_add(2)?)?.try_into().ok()?))
}

/// A little-endian `u32` at `at`, if the bytes hold it.
fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at.checked_add(4)?)?.try_into().ok()?))
}

/// The `fmt ` chunk's fields that decide.
struct Format {
    format: u16,
    channels: u16,
    rate: u32,
    bits: u16,
}

fn parse_format(body: &[u8]) -> Result<Format, PromptFormatError> {
    let truncated = PromptFormatError::Truncated { what: "format chunk" };
    let (Some(mut format), Some(channels), Some(rate), Some(bits)) =
        (u16_at(body, 0), u16_at(body, 2), u32_at(body, 4), u16_at(body, 14))
    else {
        return Err(truncated);
    };
    if format == FORMAT_EXTENSIBLE {
        // cbSize (16), valid bits (18), channel mask (20), sub-format GUID (24).
        format = u16_at(body, 24).ok_or(truncated)?;
    }
    Ok(Format {
        format,
        channels,
        rate,
        bits,
    })
}

/// Checks that `bytes` are a prompt file (RIFF/WAVE, 8000 Hz mono 16-bit
/// PCM) and returns its samples.
///
/// # Errors
/// A [`PromptFormatError`] saying what is wrong; never panics, whatever the bytes.
pub fn decode_prompt(bytes: &[u8]) -> Result<Vec<i16>, PromptFormatError> {
    if bytes.len() < 12 {
        return Err(match bytes.get(..4) {
            Some(b"RIFF") => PromptFormatError::Truncated { what: "RIFF header" },
            _ => PromptFormatError::NotWav,
        });
    }
    if bytes.get(..4) != Some(b"RIFF") || bytes.get(8..12) != Some(b"WAVE") {
        return Err(PromptFormatError::NotWav);
    }
    let (mut format, mut data) = (None, None);
    let mut at = 12usize;
    while at < bytes.len() && (format.is_none() || data.is_none()) {
        let (Some(id), Some(size)) = (bytes.get(at..at + 4), u32_at(bytes, at + 4)) else {
            return Err(PromptFormatError::Truncated { what: "chunk header" });
        };
        let start = at + 8;
        let size = usize::try_from(size).unwrap_or(usize::MAX);
        let body = start.checked_add(size).and_then(|end| bytes.get(start..end));
        match id {
            b"fmt " => {
                let body = body.ok_or(PromptFormatError::Truncated { what: "format chunk" })?;
                format = Some(parse_format(body)?);
            }
            b"data" => data = Some(body.ok_or(PromptFormatError::Truncated { what: "audio data" })?),
            // Other chunks (LIST, fact, cue...) are skipped; a cut-short one
            // matters only if nothing we need is left.
            _ => {}
        }
        // Chunks are padded to an even length.
        at = start.saturating_add(size).saturating_add(size & 1);
    }
    let format = format.ok_or(match data {
        Some(_) => PromptFormatError::NoFormat,
        None if at > bytes.len() => PromptFormatError::Truncated { what: "last chunk" },
        None => PromptFormatError::NoFormat,
    })?;
    if format.format != FORMAT_PCM || format.channels != 1 || format.rate != PROMPT_FILE_RATE || format.bits != 16 {
        return Err(PromptFormatError::Unsupported {
            rate: format.rate,
            channels: format.channels,
            bits: format.bits,
            format: format.format,
        });
    }
    let data = data.ok_or(PromptFormatError::NoData)?;
    if data.is_empty() {
        return Err(PromptFormatError::Empty);
    }
    if data.len() % 2 != 0 {
        return Err(PromptFormatError::Truncated { what: "audio data" });
    }
    Ok(data.chunks_exact(2).map(|s| i16::from_le_bytes([s[0], s[1]])).collect())
}

/// The canonical prompt file of `samples` (8000 Hz mono 16-bit PCM, a
/// 44-octet header): what [`decode_prompt`] reads back exactly. For tests
/// and tools; `None` if the samples do not fit a RIFF size (over 4 GiB).
pub fn encode_prompt(samples: &[i16]) -> Option<Vec<u8>> {
    let data_len = u32::try_from(samples.len().checked_mul(2)?).ok()?;
    let riff_len = data_len.checked_add(36)?;
    let mut out = Vec::with_capacity(44 + samples.len() * 2);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&riff_len.to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&FORMAT_PCM.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&PROMPT_FILE_RATE.to_le_bytes());
    out.extend_from_slice(&(PROMPT_FILE_RATE * 2).to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    for s in samples {
        out.extend_from_slice(&s.to_le_bytes());
    }
    Some(out)
}

/// Fuzzing entry point (DESIGN.md convention 8; `fuzz/fuzz_targets/prompt.rs`).
#[cfg(feature = "fuzzing")]
pub mod fuzz {
    use super::*;

    /// Any bytes as a prompt file: never panics; an accepted file's samples
    /// are exactly its data chunk's, and re-encoded they decode to the same
    /// samples; a refusal's message always says what a prompt must be.
    pub fn prompt(data: &[u8]) {
        match decode_prompt(data) {
            Ok(samples) => {
                assert!(!samples.is_empty(), "an accepted prompt has audio");
                assert!(samples.len() * 2 <= data.len());
                let again = encode_prompt(&samples).expect("fits");
                assert_eq!(decode_prompt(&again).as_ref(), Ok(&samples), "round trip");
            }
            Err(e) => assert!(e.to_string().ends_with(super::MUST), "{e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A WAV file with the given format fields and `data` (a canonical
    /// 16-octet `fmt ` chunk, or an extensible one of 40 when `format` is
    /// 0xFFFE, with `sub` as its sub-format).
    fn wav(format: u16, sub: u16, channels: u16, rate: u32, bits: u16, data: &[u8]) -> Vec<u8> {
        let mut fmt = Vec::new();
        fmt.extend_from_slice(&format.to_le_bytes());
        fmt.extend_from_slice(&channels.to_le_bytes());
        fmt.extend_from_slice(&rate.to_le_bytes());
        let align = channels * bits.div_ceil(8);
        fmt.extend_from_slice(&(rate * u32::from(align)).to_le_bytes());
        fmt.extend_from_slice(&align.to_le_bytes());
        fmt.extend_from_slice(&bits.to_le_bytes());
        if format == FORMAT_EXTENSIBLE {
            fmt.extend_from_slice(&22u16.to_le_bytes());
            fmt.extend_from_slice(&bits.to_le_bytes());
            fmt.extend_from_slice(&4u32.to_le_bytes());
            fmt.extend_from_slice(&sub.to_le_bytes());
            fmt.extend_from_slice(&[0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0xAA, 0, 0x38, 0x9B, 0x71]);
        }
        let mut out = b"RIFF\0\0\0\0WAVE".to_vec();
        out.extend_from_slice(b"fmt ");
        out.extend_from_slice(&(fmt.len() as u32).to_le_bytes());
        out.extend_from_slice(&fmt);
        out.extend_from_slice(b"data");
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out.extend_from_slice(data);
        let riff = (out.len() - 8) as u32;
        out[4..8].copy_from_slice(&riff.to_le_bytes());
        out
    }

    fn pcm(samples: &[i16]) -> Vec<u8> {
        samples.iter().flat_map(|s| s.to_le_bytes()).collect()
    }

    #[test]
    fn a_prompt_file_decodes_to_its_samples() {
        let samples = [0i16, 1, -1, i16::MAX, i16::MIN, 1234];
        let file = wav(1, 0, 1, 8000, 16, &pcm(&samples));
        assert_eq!(decode_prompt(&file), Ok(samples.to_vec()));
        let ext = wav(FORMAT_EXTENSIBLE, 1, 1, 8000, 16, &pcm(&samples));
        assert_eq!(decode_prompt(&ext), Ok(samples.to_vec()), "WAVE_FORMAT_EXTENSIBLE PCM");
        let canonical = encode_prompt(&samples).expect("small");
        assert_eq!(canonical, file, "encode_prompt writes the canonical header");
    }

    #[test]
    fn other_chunks_and_padding_are_skipped() {
        let samples = [7i16, -7, 300];
        let file = wav(1, 0, 1, 8000, 16, &pcm(&samples));
        // A LIST chunk of odd length (padded) between the header and fmt.
        let mut with_list = file[..12].to_vec();
        with_list.extend_from_slice(b"LIST\x03\0\0\0abc\0");
        with_list.extend_from_slice(&file[12..]);
        assert_eq!(decode_prompt(&with_list), Ok(samples.to_vec()));
    }

    #[test]
    fn wrong_formats_are_refused_in_an_admins_words() {
        let refused = |file: Vec<u8>| decode_prompt(&file).expect_err("refused").to_string();
        assert_eq!(
            refused(wav(1, 0, 2, 48000, 24, &[0; 12])),
            "48000 Hz stereo 24-bit: a prompt must be 8000 Hz mono 16-bit PCM WAV"
        );
        assert_eq!(
            refused(wav(1, 0, 1, 16000, 16, &[0; 4])),
            "16000 Hz mono 16-bit: a prompt must be 8000 Hz mono 16-bit PCM WAV"
        );
        assert_eq!(
            refused(wav(1, 0, 2, 8000, 16, &[0; 8])),
            "8000 Hz stereo 16-bit: a prompt must be 8000 Hz mono 16-bit PCM WAV"
        );
        assert_eq!(
            refused(wav(1, 0, 1, 8000, 8, &[0; 4])),
            "8000 Hz mono 8-bit: a prompt must be 8000 Hz mono 16-bit PCM WAV"
        );
        assert_eq!(
            refused(wav(6, 0, 1, 8000, 8, &[0; 4])),
            "8000 Hz mono A-law: a prompt must be 8000 Hz mono 16-bit PCM WAV"
        );
        assert_eq!(
            refused(wav(FORMAT_EXTENSIBLE, 3, 1, 44100, 32, &[0; 8])),
            "44100 Hz mono 32-bit float: a prompt must be 8000 Hz mono 16-bit PCM WAV"
        );
        assert_eq!(
            decode_prompt(&wav(1, 0, 6, 8000, 16, &[0; 12])),
            Err(PromptFormatError::Unsupported {
                rate: 8000,
                channels: 6,
                bits: 16,
                format: 1
            })
        );
    }

    #[test]
    fn not_a_wav_is_refused() {
        for bytes in [
            &b""[..],
            b"ID3\x04\0\0\0\0\0\0\0\0\0\0",
            b"hello, this is a text file and not audio",
            b"RIFX\0\0\0\0WAVEfmt ",
            b"RIFF\0\0\0\0AVI LIST",
        ] {
            assert_eq!(decode_prompt(bytes), Err(PromptFormatError::NotWav), "{bytes:?}");
        }
        assert_eq!(
            PromptFormatError::NotWav.to_string(),
            "not a WAV file (no RIFF/WAVE header): a prompt must be 8000 Hz mono 16-bit PCM WAV"
        );
    }

    #[test]
    fn truncated_files_are_refused() {
        let file = wav(1, 0, 1, 8000, 16, &pcm(&[1, 2, 3, 4]));
        // Cut inside the audio data, inside the fmt chunk, in the headers.
        assert_eq!(
            decode_prompt(&file[..file.len() - 3]),
            Err(PromptFormatError::Truncated { what: "audio data" })
        );
        assert_eq!(
            decode_prompt(&file[..30]),
            Err(PromptFormatError::Truncated { what: "format chunk" })
        );
        assert_eq!(
            decode_prompt(&file[..8]),
            Err(PromptFormatError::Truncated { what: "RIFF header" })
        );
        assert_eq!(
            decode_prompt(&file[..14]),
            Err(PromptFormatError::Truncated { what: "chunk header" })
        );
        assert_eq!(
            decode_prompt(&file[..12]),
            Err(PromptFormatError::NoFormat),
            "a header and nothing else"
        );
        // Half a sample in the data chunk.
        assert_eq!(
            decode_prompt(&wav(1, 0, 1, 8000, 16, &[1, 2, 3])),
            Err(PromptFormatError::Truncated { what: "audio data" })
        );
        // A stream-written WAV whose data size was never filled in.
        let mut streamed = file.clone();
        let n = streamed.len();
        streamed[40..44].copy_from_slice(&0x7fff_f000u32.to_le_bytes());
        assert_eq!(
            decode_prompt(&streamed[..n]),
            Err(PromptFormatError::Truncated { what: "audio data" })
        );
        assert_eq!(
            PromptFormatError::Truncated { what: "audio data" }.to_string(),
            "the WAV file is cut short in its audio data: a prompt must be 8000 Hz mono 16-bit PCM WAV"
        );
    }

    #[test]
    fn missing_or_empty_chunks_are_refused() {
        let file = wav(1, 0, 1, 8000, 16, &[]);
        assert_eq!(decode_prompt(&file), Err(PromptFormatError::Empty));
        // fmt only.
        let fmt_only = &file[..file.len() - 8];
        assert_eq!(decode_prompt(fmt_only), Err(PromptFormatError::NoData));
        // data only.
        let mut data_only = b"RIFF\0\0\0\0WAVEdata\x02\0\0\0\x01\x02".to_vec();
        data_only.truncate(22);
        assert_eq!(decode_prompt(&data_only), Err(PromptFormatError::NoFormat));
    }

    /// The fuzz entry point runs its kinds of input clean (`cargo test --features fuzzing`).
    #[cfg(feature = "fuzzing")]
    #[test]
    fn the_fuzz_entry_point_runs_clean() {
        let file = wav(1, 0, 1, 8000, 16, &pcm(&[3, -3, 9]));
        for n in 0..=file.len() {
            super::fuzz::prompt(&file[..n]);
        }
        super::fuzz::prompt(&wav(1, 0, 2, 44100, 16, &[0; 8]));
        super::fuzz::prompt(b"not a wav at all");
    }

    #[test]
    fn garbage_never_panics() {
        // Every prefix and many one-octet corruptions of a valid file.
        let file = wav(FORMAT_EXTENSIBLE, 1, 1, 8000, 16, &pcm(&[5; 40]));
        for n in 0..file.len() {
            let _ = decode_prompt(&file[..n]);
        }
        for i in 0..file.len() {
            for v in [0u8, 1, 0x7f, 0x80, 0xff] {
                let mut bad = file.clone();
                bad[i] = v;
                match decode_prompt(&bad) {
                    Ok(s) => assert!(s.len() <= 40),
                    Err(e) => assert!(e.to_string().ends_with(MUST), "{e}"),
                }
            }
        }
        let mut rng = 0x1234_5678u32;
        for _ in 0..2000 {
            let len = (rng % 96) as usize;
            let mut bytes = b"RIFF\xff\xff\xff\xffWAVE".to_vec();
            for _ in 0..len {
                rng ^= rng << 13;
                rng ^= rng >> 17;
                rng ^= rng << 5;
                bytes.push(rng as u8);
            }
            let _ = decode_prompt(&bytes);
        }
    }
}
