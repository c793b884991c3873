//! Sample-rate conversion between the media plane's rates (8, 16 and 48 kHz)
//! for 20 ms frames: G.711 legs (8 kHz) against Opus legs and the noise
//! suppressor (48 kHz), per the transcoding path of the media-plane issue.
//!
//! Uses `rubato`'s synchronous FFT resampler with both input and output
//! chunk sizes fixed, so each call takes exactly one input frame and yields
//! exactly one output frame. All buffers are allocated at construction; a
//! call to [`Resampler::process`] allocates nothing. The resampler delays the
//! signal by [`Resampler::delay`] output samples (a few milliseconds), the
//! price of its sharp anti-aliasing filter.

use rubato::audioadapter_buffers::direct::SequentialSlice;
use rubato::{Fft, FixedSync, Resampler as _};

use super::{check_len, f32_to_i16, DspError, SampleRate};

/// A mono resampler from one [`SampleRate`] to another, 20 ms frames in and
/// out. Resampling a rate to itself is a copy.
pub struct Resampler {
    from: SampleRate,
    to: SampleRate,
    inner: Option<Fft<f32>>,
    input: Vec<f32>,
    output: Vec<f32>,
}

impl std::fmt::Debug for Resampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resampler")
            .field("from", &self.from)
            .field("to", &self.to)
            .finish()
    }
}

impl Resampler {
    /// Builds a resampler for 20 ms frames from `from` to `to`.
    pub fn new(from: SampleRate, to: SampleRate) -> Result<Self, DspError> {
        let (n_in, n_out) = (from.frame_20ms(), to.frame_20ms());
        let inner = if from == to {
            None
        } else {
            let fft = Fft::<f32>::new(from.hz() as usize, to.hz() as usize, n_in, 1, FixedSync::Both)
                .map_err(|e| DspError::Resampler(e.to_string()))?;
            check_len("resampler input chunk", n_in, fft.input_frames_next())?;
            check_len("resampler output chunk", n_out, fft.output_frames_next())?;
            Some(fft)
        };
        Ok(Resampler {
            from,
            to,
            inner,
            input: vec![0.0; n_in],
            output: vec![0.0; n_out],
        })
    }

    /// The input rate.
    pub fn from_rate(&self) -> SampleRate {
        self.from
    }

    /// The output rate.
    pub fn to_rate(&self) -> SampleRate {
        self.to
    }

    /// Samples per input frame (20 ms at the input rate).
    pub fn input_len(&self) -> usize {
        self.input.len()
    }

    /// Samples per output frame (20 ms at the output rate).
    pub fn output_len(&self) -> usize {
        self.output.len()
    }

    /// Delay the resampler adds, in output samples.
    pub fn delay(&self) -> usize {
        self.inner.as_ref().map_or(0, |r| r.output_delay())
    }

    /// Resamples one frame: `input` must hold [`input_len`](Self::input_len)
    /// samples and `output` [`output_len`](Self::output_len). Allocates
    /// nothing.
    pub fn process(&mut self, input: &[i16], output: &mut [i16]) -> Result<(), DspError> {
        check_len("resampler input", self.input.len(), input.len())?;
        check_len("resampler output", self.output.len(), output.len())?;
        let Some(fft) = self.inner.as_mut() else {
            output.copy_from_slice(input);
            return Ok(());
        };
        for (d, &s) in self.input.iter_mut().zip(input) {
            *d = f32::from(s);
        }
        let (n_in, n_out) = (self.input.len(), self.output.len());
        let adapter_in =
            SequentialSlice::new(&self.input[..], 1, n_in).map_err(|e| DspError::Resampler(e.to_string()))?;
        let mut adapter_out =
            SequentialSlice::new_mut(&mut self.output[..], 1, n_out).map_err(|e| DspError::Resampler(e.to_string()))?;
        fft.process_into_buffer(&adapter_in, &mut adapter_out, None)
            .map_err(|e| DspError::Resampler(e.to_string()))?;
        for (d, &s) in output.iter_mut().zip(&self.output) {
            *d = f32_to_i16(s);
        }
        Ok(())
    }

    /// Clears the filter state (e.g. when a leg's source changes).
    pub fn reset(&mut self) {
        if let Some(r) = self.inner.as_mut() {
            r.reset();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::tone::{dominant_frequency, level_dbfs, tone_level_dbfs, ToneGenerator};

    fn run(r: &mut Resampler, input: &[i16]) -> Result<Vec<i16>, DspError> {
        let mut out = Vec::new();
        let mut frame = vec![0i16; r.output_len()];
        for chunk in input.chunks_exact(r.input_len()) {
            r.process(chunk, &mut frame)?;
            out.extend_from_slice(&frame);
        }
        Ok(out)
    }

    #[test]
    fn frame_sizes_and_identity() -> Result<(), DspError> {
        let r = Resampler::new(SampleRate::Hz8000, SampleRate::Hz48000)?;
        assert_eq!((r.input_len(), r.output_len()), (160, 960));
        let r = Resampler::new(SampleRate::Hz48000, SampleRate::Hz16000)?;
        assert_eq!((r.input_len(), r.output_len()), (960, 320));
        let mut same = Resampler::new(SampleRate::Hz16000, SampleRate::Hz16000)?;
        let input: Vec<i16> = (0..320).map(|i| i as i16).collect();
        let mut out = vec![0; 320];
        same.process(&input, &mut out)?;
        assert_eq!(input, out);
        assert_eq!(same.delay(), 0);
        Ok(())
    }

    #[test]
    fn wrong_lengths_are_errors() -> Result<(), DspError> {
        let mut r = Resampler::new(SampleRate::Hz8000, SampleRate::Hz48000)?;
        let mut out = vec![0; 960];
        assert!(matches!(
            r.process(&[0; 100], &mut out),
            Err(DspError::FrameLength { .. })
        ));
        assert!(matches!(
            r.process(&[0; 160], &mut out[..10]),
            Err(DspError::FrameLength { .. })
        ));
        Ok(())
    }

    #[test]
    fn tone_survives_8k_48k_8k() -> Result<(), DspError> {
        let input = ToneGenerator::sine(1000.0, -10.0, 8000).take(8000);
        let mut up = Resampler::new(SampleRate::Hz8000, SampleRate::Hz48000)?;
        let mut down = Resampler::new(SampleRate::Hz48000, SampleRate::Hz8000)?;
        let wide = run(&mut up, &input)?;
        assert_eq!(wide.len(), 48000);
        let f = dominant_frequency(&wide, 48000).unwrap_or(0.0);
        assert!((f - 1000.0).abs() < 1.0, "48k: {f}");
        let back = run(&mut down, &wide)?;
        assert_eq!(back.len(), 8000);
        // Skip the start-up delay before measuring.
        let steady = &back[1600..];
        let f = dominant_frequency(steady, 8000).unwrap_or(0.0);
        let level = tone_level_dbfs(steady, 1000.0, 8000);
        assert!((f - 1000.0).abs() < 0.5, "8k: {f}");
        assert!((level + 10.0).abs() < 0.2, "level {level}");
        assert!((level_dbfs(steady) + 10.0).abs() < 0.2);
        Ok(())
    }

    #[test]
    fn tone_survives_16k_48k() -> Result<(), DspError> {
        let input = ToneGenerator::sine(3000.0, -6.0, 16000).take(16000);
        let mut up = Resampler::new(SampleRate::Hz16000, SampleRate::Hz48000)?;
        let wide = run(&mut up, &input)?;
        let steady = &wide[9600..];
        assert!((dominant_frequency(steady, 48000).unwrap_or(0.0) - 3000.0).abs() < 1.0);
        assert!((tone_level_dbfs(steady, 3000.0, 48000) + 6.0).abs() < 0.2);
        Ok(())
    }

    #[test]
    fn downsampling_removes_out_of_band_tone() -> Result<(), DspError> {
        // 6 kHz cannot exist at 8 kHz; it must be filtered, not aliased to 2 kHz.
        let input = ToneGenerator::sine(6000.0, -6.0, 48000).take(48000);
        let mut down = Resampler::new(SampleRate::Hz48000, SampleRate::Hz8000)?;
        let out = run(&mut down, &input)?;
        assert!(level_dbfs(&out[1600..]) < -60.0, "{}", level_dbfs(&out[1600..]));
        Ok(())
    }
}
