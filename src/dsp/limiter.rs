//! Saturation-free summing for the conference bridge (issue 9: "a limiter,
//! not wrap or hard clip on the common case of two loud talkers").
//!
//! A mix is summed in `i32`, where it cannot wrap; a [`Limiter`] per
//! listener brings it back into 16-bit PCM in two steps:
//!
//! 1. **Gain riding per 20 ms frame.** The bridge mixes a whole frame before
//!    sending it, so the limiter sees the frame's peak before it writes the
//!    first sample: no look-ahead delay is needed. When the peak exceeds the
//!    knee, the gain drops to bring it to the knee, reached within the first
//!    millisecond of the frame (attack); when the mix gets quieter, the gain
//!    rises back towards unity by about 0.8 dB per frame (release, time
//!    constant 200 ms), ramped across the frame so it never steps.
//! 2. **Soft knee.** Samples still above the knee (only during a 1 ms
//!    attack ramp) are bent smoothly towards full scale
//!    (`y = K + R·d/(d + R)`, slope 1 at the knee) and never reach it: no
//!    hard clip, no wrap.
//!
//! A mix that stays under the knee with the gain at unity passes bit-exact
//! (the common case: the check is one peak scan per frame). Otherwise the
//! gain is applied in Q13 integers (the compiler vectorises it) as long as
//! the mix stays within eight full-scale parties, in `f32` beyond.
//! Allocation-free.

use super::check_len;
use super::DspError;

/// The knee: −2.5 dBFS (0.75 of full scale). Below it, a unity-gain mix is untouched.
pub const KNEE: i32 = 24_576;
/// The soft knee's asymptote: full scale.
const CEILING: f32 = 32_767.0;
/// The attack ramp, in milliseconds.
const ATTACK_MS: u32 = 1;
/// The release time constant, in milliseconds.
const RELEASE_MS: f32 = 200.0;
/// The length of one frame, in milliseconds.
const FRAME_MS: f32 = super::FRAME_MS as f32;

/// The soft knee: identity up to [`KNEE`], then a smooth bend approaching
/// full scale without reaching it; rounded to `i16`. Branch-free so that
/// frame loops vectorise.
#[inline]
fn soft_knee(v: f32) -> i16 {
    let k = KNEE as f32;
    let r = CEILING - k;
    let a = v.abs();
    let d = (a - k).max(0.0);
    let bent = (k + r * d / (d + r)).copysign(v);
    let y = if a > k { bent } else { v };
    // Round half away from zero without a libm call; the knee keeps
    // |y| < 32767, the clamp lets the compiler convert four at a time.
    (y + 0.5f32.copysign(y)).clamp(-CEILING, CEILING) as i32 as i16
}

/// Largest magnitude the fixed-point gain path multiplies without overflow:
/// eight full-scale parties (the bridge's most, CALL-CONF-1).
const FIXED_PEAK: u32 = 1 << 18;
/// Fixed-point bits of a gain below unity (Q13: `FIXED_PEAK · 2^13 < 2^31`).
const GAIN_BITS: u32 = 13;

/// `output = input · gain` for a gain below unity that keeps every sample
/// under the knee (no knee needed), in Q13 integers so that it vectorises.
fn scale(input: &[i32], output: &mut [i16], gain: f32) {
    let g = (gain.clamp(0.0, 1.0) * (1u32 << GAIN_BITS) as f32) as i32;
    let g = g.min((1 << GAIN_BITS) - 1);
    let half = 1 << (GAIN_BITS - 1);
    for (o, &v) in output.iter_mut().zip(input) {
        *o = ((v * g + half) >> GAIN_BITS).clamp(-i32::from(i16::MAX), i32::from(i16::MAX)) as i16;
    }
}

/// Brings one listener's `i32` mix into `i16` without wrapping or hard
/// clipping (see the module docs). Keeps its gain between frames.
#[derive(Debug, Clone)]
pub struct Limiter {
    /// Samples in one frame.
    frame: usize,
    /// Samples of the attack ramp.
    attack: usize,
    /// Fraction of the distance to unity gain recovered per frame.
    release: f32,
    /// The gain at the end of the last frame.
    gain: f32,
}

impl Limiter {
    /// A limiter for 20 ms frames at `rate_hz`, at unity gain.
    pub fn new(rate_hz: u32) -> Limiter {
        Limiter {
            frame: (rate_hz / 50) as usize,
            attack: (rate_hz / 1000 * ATTACK_MS).max(1) as usize,
            release: 1.0 - (-FRAME_MS / RELEASE_MS).exp(),
            gain: 1.0,
        }
    }

    /// The gain applied at the end of the last frame (1.0 when not limiting).
    pub fn gain(&self) -> f32 {
        self.gain
    }

    /// Back to unity gain (a new stream, or a new frame length after [`Limiter::new`]).
    pub fn reset(&mut self) {
        self.gain = 1.0;
    }

    /// Limits one frame: `input` and `output` both hold one 20 ms frame.
    ///
    /// # Errors
    /// [`DspError::FrameLength`] when a buffer has the wrong length.
    pub fn process(&mut self, input: &[i32], output: &mut [i16]) -> Result<(), DspError> {
        check_len("limiter input", self.frame, input.len())?;
        check_len("limiter output", self.frame, output.len())?;
        let peak = input.iter().map(|v| v.unsigned_abs()).max().unwrap_or(0);
        let g0 = self.gain;
        if g0 >= 1.0 && peak <= KNEE.unsigned_abs() {
            // Unity gain and nothing above the knee: exact.
            for (o, &v) in output.iter_mut().zip(input) {
                *o = v as i16;
            }
            return Ok(());
        }
        let needed = if peak > KNEE.unsigned_abs() {
            KNEE as f32 / peak as f32
        } else {
            1.0
        };
        let released = g0 + (1.0 - g0) * self.release;
        let g1 = released.min(needed);
        if peak > FIXED_PEAK {
            // Beyond what the fixed-point path can multiply: all in f32.
            let ramp = if g1 < g0 { self.attack } else { self.frame };
            let step = (g1 - g0) / ramp as f32;
            for (i, (o, &v)) in output.iter_mut().zip(input).enumerate() {
                let g = if i < ramp { g0 + step * (i + 1) as f32 } else { g1 };
                *o = soft_knee(v as f32 * g);
            }
        } else if g1 < g0 {
            // Attack: the gain falls over the first millisecond, through the
            // soft knee; after it, g1 keeps every sample under the knee.
            let step = (g1 - g0) / self.attack as f32;
            let (head_in, tail_in) = input.split_at(self.attack.min(input.len()));
            let (head_out, tail_out) = output.split_at_mut(head_in.len());
            for (i, (o, &v)) in head_out.iter_mut().zip(head_in).enumerate() {
                *o = soft_knee(v as f32 * (g0 + step * (i + 1) as f32));
            }
            scale(tail_in, tail_out, g1);
        } else {
            // Release (or steady): the gain rises in 1 ms steps, never above
            // what keeps this frame's peak at the knee.
            let blocks = self.frame.div_ceil(self.attack).max(1);
            for (b, (i, o)) in input
                .chunks(self.attack)
                .zip(output.chunks_mut(self.attack))
                .enumerate()
            {
                scale(i, o, g0 + (g1 - g0) * (b + 1) as f32 / blocks as f32);
            }
        }
        self.gain = if g1 > 0.9999 { 1.0 } else { g1 };
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::tone::{goertzel_power, level_dbfs, tone_level_dbfs, ToneGenerator};

    fn frames(l: &mut Limiter, input: &[i32]) -> Result<Vec<i16>, DspError> {
        let mut out = vec![0i16; input.len()];
        for (i, o) in input.chunks_exact(l.frame).zip(out.chunks_exact_mut(l.frame)) {
            l.process(i, o)?;
        }
        Ok(out)
    }

    fn sum(a: &[i16], b: &[i16]) -> Vec<i32> {
        a.iter().zip(b).map(|(&x, &y)| i32::from(x) + i32::from(y)).collect()
    }

    #[test]
    fn quiet_mix_is_bit_exact() -> Result<(), DspError> {
        let a = ToneGenerator::sine(440.0, -10.0, 8000).take(8000);
        let b = ToneGenerator::sine(1000.0, -10.0, 8000).take(8000);
        let mix = sum(&a, &b);
        let out = frames(&mut Limiter::new(8000), &mix)?;
        assert!(out.iter().zip(&mix).all(|(&o, &m)| i32::from(o) == m));
        Ok(())
    }

    #[test]
    fn two_loud_talkers_neither_wrap_nor_clip() -> Result<(), DspError> {
        let rate = 16_000;
        let a = ToneGenerator::sine(500.0, -1.0, rate).take(rate as usize);
        let b = ToneGenerator::sine(700.0, -1.0, rate).take(rate as usize);
        let mix = sum(&a, &b);
        assert!(
            mix.iter().any(|&v| v > i32::from(i16::MAX)),
            "the test mix must overflow i16"
        );
        let mut l = Limiter::new(rate);
        let out = frames(&mut l, &mix)?;
        assert!(out.iter().all(|&v| v > i16::MIN && v < i16::MAX), "hard clip");
        assert!(l.gain() < 0.5, "{}", l.gain());
        let steady = &out[3200..];
        let (la, lb) = (
            tone_level_dbfs(steady, 500.0, rate),
            tone_level_dbfs(steady, 700.0, rate),
        );
        assert!((la - lb).abs() < 0.5, "{la} {lb}");
        // Wrap or hard clip would spread power into harmonics and intermodulation:
        // the two tones carry nearly all of it.
        let tones = goertzel_power(steady, 500.0, rate) + goertzel_power(steady, 700.0, rate);
        let total = 10f64.powf(level_dbfs(steady) / 10.0) / 2.0;
        assert!(tones / total > 0.99, "{}", tones / total);
        assert!(level_dbfs(steady) > -6.0, "{}", level_dbfs(steady));
        Ok(())
    }

    #[test]
    fn sudden_peak_is_bent_below_full_scale_then_gain_recovers() -> Result<(), DspError> {
        let mut l = Limiter::new(8000);
        let mut out = [0i16; 160];
        let loud = [200_000i32; 160];
        l.process(&loud, &mut out)?;
        assert!(out.iter().all(|&v| v > 0 && v < i16::MAX), "{:?}", &out[..4]);
        // At the knee, to the fixed-point gain's precision (0.01 dB).
        assert!((i32::from(out[159]) - KNEE).abs() <= 32, "{}", out[159]);
        let quiet = [1000i32; 160];
        let mut gains = Vec::new();
        for _ in 0..100 {
            l.process(&quiet, &mut out)?;
            gains.push(l.gain());
        }
        assert!(gains.windows(2).all(|w| w[1] >= w[0]), "release is monotonic");
        assert!(gains[2] < 0.5, "release is gradual: {}", gains[2]);
        assert_eq!(l.gain(), 1.0, "back to unity after 2 s");
        assert!(out.iter().all(|&v| v == 1000));
        let neg = [-200_000i32; 160];
        l.process(&neg, &mut out)?;
        assert!(out.iter().all(|&v| v < 0 && v > i16::MIN));
        Ok(())
    }

    #[test]
    fn wrong_lengths_are_errors() {
        let mut l = Limiter::new(8000);
        let mut out = [0i16; 160];
        assert!(matches!(
            l.process(&[0; 10], &mut out),
            Err(DspError::FrameLength { .. })
        ));
        assert!(matches!(
            l.process(&[0; 160], &mut out[..3]),
            Err(DspError::FrameLength { .. })
        ));
    }
}
