//! Digital signal processing for the media plane: pure functions and small
//! stateful processors over `&[i16]` frames.
//!
//! This layer exists so that the media workers (`src/media/`) can transcode,
//! resample, mix, conceal loss and remove noise without any of that code
//! touching a socket, a file or the clock. It depends on nothing else in the
//! crate. What it implements:
//!
//! - [`g711`]: ITU-T G.711 μ-law and A-law (PCMU/PCMA, RFC 3551 §4.5.14);
//! - [`opus`]: an RFC 6716 Opus encoder/decoder per stream, with packet loss
//!   concealment and in-band FEC, for RTP per RFC 7587;
//! - [`resample`]: 8/16/48 kHz conversion of 20 ms frames (FFT, sharp);
//! - [`polyphase`]: cheap fixed-ratio 8/16/48 kHz conversion for the
//!   conference bridge's hot path (halfband and third-band FIR);
//! - [`tone`]: sine and dual-tone generators and Goertzel measurement;
//! - [`noise`]: RNNoise-style noise removal at 48 kHz (spec CALL-NOISE-1);
//! - [`mix`]: N-party mix-minus with saturation for conferences;
//! - [`limiter`]: saturation-free `i32` → `i16` for conference mixes
//!   (gain riding plus a soft knee);
//! - [`prompt`]: queue announcements (place in line, expected wait) made of tones;
//! - [`prompt_file`]: voice prompt files (8000 Hz mono 16-bit PCM WAV)
//!   checked and decoded from bytes, refusals in an admin's words.
//!
//! Frames are 20 ms unless a function says otherwise (RFC 3551 §4.2 default
//! packetisation); a frame of the wrong length is a [`DspError`], never a
//! panic.

pub mod g711;
pub mod limiter;
pub mod mix;
pub mod noise;
pub mod opus;
pub mod polyphase;
pub mod prompt;
pub mod prompt_file;
pub mod resample;
pub mod signal;
pub mod tone;

/// Errors of the DSP layer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DspError {
    /// A buffer does not have the length the operation needs.
    #[error("{what}: expected {expected} samples, got {actual}")]
    FrameLength {
        /// Which buffer was wrong (e.g. "input", "output").
        what: &'static str,
        /// The length required.
        expected: usize,
        /// The length given.
        actual: usize,
    },
    /// The number of outputs does not match the number of inputs (mixing).
    #[error("{inputs} inputs but {outputs} outputs")]
    PartyCount {
        /// Number of input frames.
        inputs: usize,
        /// Number of output buffers.
        outputs: usize,
    },
    /// libopus refused an operation (bad packet, bad argument, ...).
    #[error("opus {function}: {code:?}")]
    Opus {
        /// The libopus function that failed.
        function: &'static str,
        /// The libopus error code.
        code: ::opus::ErrorCode,
    },
    /// The resampler could not be built or run.
    #[error("resampler: {0}")]
    Resampler(String),
}

impl From<::opus::Error> for DspError {
    fn from(e: ::opus::Error) -> Self {
        DspError::Opus {
            function: e.function(),
            code: e.code(),
        }
    }
}

/// The sample rates the media plane uses: narrowband (G.711), wideband
/// (G.722/Opus WB) and fullband (Opus, noise removal).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SampleRate {
    /// 8 kHz, G.711 and telephone-event.
    Hz8000,
    /// 16 kHz, wideband.
    Hz16000,
    /// 48 kHz, Opus's native rate and nnnoiseless's only rate.
    Hz48000,
}

impl SampleRate {
    /// The rate in hertz.
    pub const fn hz(self) -> u32 {
        match self {
            SampleRate::Hz8000 => 8_000,
            SampleRate::Hz16000 => 16_000,
            SampleRate::Hz48000 => 48_000,
        }
    }

    /// Samples in one 20 ms frame (one channel).
    pub const fn frame_20ms(self) -> usize {
        (self.hz() / 50) as usize
    }

    /// Samples in one frame of `ms` milliseconds.
    pub const fn samples_in_ms(self, ms: u32) -> usize {
        (self.hz() / 1000 * ms) as usize
    }
}

/// Duration of the frames this layer works on, in milliseconds.
pub const FRAME_MS: u32 = 20;

/// Checks that a buffer has exactly `expected` samples.
pub(crate) fn check_len(what: &'static str, expected: usize, actual: usize) -> Result<(), DspError> {
    if expected == actual {
        Ok(())
    } else {
        Err(DspError::FrameLength { what, expected, actual })
    }
}

/// Converts an `f32` sample in i16 units to `i16`, rounding and saturating.
#[inline]
pub(crate) fn f32_to_i16(x: f32) -> i16 {
    // `as` saturates and maps NaN to 0.
    x.round() as i16
}

pub use self::tone::{dominant_frequency, goertzel_power, level_dbfs, tone_level_dbfs};
