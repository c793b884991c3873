//! Tone synthesis and measurement.
//!
//! Generators: phase-continuous sine and dual-tone sources with an optional
//! on/off cadence counted in samples (no clock), for test tones, ringback
//! (e.g. ITU-T E.180 425 Hz 1 s on / 4 s off, or the North American
//! 440 + 480 Hz 2 s / 4 s), DTMF-style pairs (ITU-T Q.23) and synthesized hold
//! music.
//!
//! Measurement: the Goertzel algorithm (a single DFT bin computed by a
//! second-order IIR, here in its generalised form for any frequency, over a
//! Hann window) and RMS level, used by tests across the project to assert
//! what arrives at the far side of a call.
//!
//! Levels follow AES17 dBFS: a sine whose peak is full scale (32768) is
//! 0 dBFS, so the level a generator is given is the level the meters read.

use std::f64::consts::PI;

/// Full-scale reference for dBFS.
const FULL_SCALE: f64 = 32768.0;

/// Converts a dBFS level (AES17, sine peak) to a peak amplitude in i16 units.
pub fn dbfs_to_amplitude(dbfs: f64) -> f64 {
    FULL_SCALE * 10f64.powf(dbfs / 20.0)
}

/// One sinusoidal component: frequency in Hz and level in dBFS.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Component {
    /// Frequency in hertz.
    pub freq: f64,
    /// Level in dBFS (0 = full-scale sine).
    pub dbfs: f64,
}

/// A phase-continuous generator of one or two summed sines with an optional
/// on/off cadence. Filling frames one after another yields a continuous
/// signal; it allocates nothing.
#[derive(Debug, Clone)]
pub struct ToneGenerator {
    /// Per component: (phase increment, amplitude, phase).
    parts: [(f64, f64, f64); 2],
    count: usize,
    /// Cadence in samples: (on, off); `None` means continuous.
    cadence: Option<(u64, u64)>,
    position: u64,
}

impl ToneGenerator {
    /// A single sine at `freq` Hz and `dbfs` level, sampled at `rate` Hz.
    pub fn sine(freq: f64, dbfs: f64, rate: u32) -> Self {
        Self::new(&[Component { freq, dbfs }], rate)
    }

    /// Two summed sines (e.g. 440 + 480 Hz ringback, or a DTMF pair).
    pub fn dual(f1: f64, f2: f64, dbfs_each: f64, rate: u32) -> Self {
        Self::new(
            &[
                Component {
                    freq: f1,
                    dbfs: dbfs_each,
                },
                Component {
                    freq: f2,
                    dbfs: dbfs_each,
                },
            ],
            rate,
        )
    }

    /// A generator of up to two components (extra components are ignored).
    pub fn new(components: &[Component], rate: u32) -> Self {
        let mut parts = [(0.0, 0.0, 0.0); 2];
        let count = components.len().min(2);
        for (p, c) in parts.iter_mut().zip(components) {
            *p = (
                2.0 * PI * c.freq / f64::from(rate.max(1)),
                dbfs_to_amplitude(c.dbfs),
                0.0,
            );
        }
        ToneGenerator {
            parts,
            count,
            cadence: None,
            position: 0,
        }
    }

    /// Adds an on/off cadence in milliseconds (e.g. 1000/4000 for E.180
    /// ringback). The tone starts at the beginning of an "on" period; during
    /// "off" the output is silence and the phase keeps running.
    pub fn with_cadence(mut self, on_ms: u32, off_ms: u32, rate: u32) -> Self {
        let per_ms = u64::from(rate) / 1000;
        let on = u64::from(on_ms) * per_ms;
        let off = u64::from(off_ms) * per_ms;
        self.cadence = if on + off == 0 { None } else { Some((on, off)) };
        self
    }

    /// Fills `out` with the next samples of the tone (saturating).
    pub fn fill(&mut self, out: &mut [i16]) {
        for o in out.iter_mut() {
            let audible = match self.cadence {
                None => true,
                Some((on, off)) => self.position % (on + off) < on,
            };
            let mut v = 0.0;
            for p in self.parts.iter_mut().take(self.count) {
                if audible {
                    v += p.1 * p.2.sin();
                }
                p.2 += p.0;
                if p.2 >= 2.0 * PI {
                    p.2 -= 2.0 * PI;
                }
            }
            self.position = self.position.wrapping_add(1);
            *o = v.round().clamp(-32768.0, 32767.0) as i16;
        }
    }

    /// Convenience for tests and asset synthesis: `len` samples in a new
    /// vector.
    pub fn take(&mut self, len: usize) -> Vec<i16> {
        let mut v = vec![0; len];
        self.fill(&mut v);
        v
    }
}

/// `len` samples of a sine at `freq` Hz and `dbfs` level, sampled at `rate`.
pub fn sine(freq: f64, dbfs: f64, rate: u32, len: usize) -> Vec<i16> {
    ToneGenerator::sine(freq, dbfs, rate).take(len)
}

/// Power of the component at `freq` Hz in `samples` (sampled at `rate` Hz),
/// measured by a Hann-windowed Goertzel filter and normalised so that a sine
/// of peak amplitude `A` (as a fraction of full scale) gives `A² / 2`, its
/// mean square. A full-scale sine therefore gives 0.5; silence gives 0.
/// Frequencies within about two bins (`2·rate/len`) of each other are not
/// separated.
pub fn goertzel_power(samples: &[i16], freq: f64, rate: u32) -> f64 {
    let n = samples.len();
    if n < 2 || rate == 0 {
        return 0.0;
    }
    let w = 2.0 * PI * freq / f64::from(rate);
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    let mut window_sum = 0.0;
    let step = 2.0 * PI / (n - 1) as f64;
    for (i, &x) in samples.iter().enumerate() {
        let win = 0.5 - 0.5 * (step * i as f64).cos();
        window_sum += win;
        let s0 = f64::from(x) / FULL_SCALE * win + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    // |X|² for the generalised Goertzel (exact for non-integer bins).
    let re = s1 - s2 * w.cos();
    let im = s2 * w.sin();
    let mag2 = re * re + im * im;
    // A sine of amplitude A gives |X| ≈ A·Σw/2.
    let amp = 2.0 * mag2.sqrt() / window_sum;
    amp * amp / 2.0
}

/// Level in dBFS of the component at `freq` Hz (AES17: a sine at the
/// generator's `dbfs` level reads that level). Silence gives `-inf`.
pub fn tone_level_dbfs(samples: &[i16], freq: f64, rate: u32) -> f64 {
    10.0 * (2.0 * goertzel_power(samples, freq, rate)).log10()
}

/// Broadband level of `samples` in dBFS (AES17: RMS·√2 relative to full
/// scale, so a full-scale sine is 0 dBFS). Silence or an empty slice gives
/// `-inf`.
pub fn level_dbfs(samples: &[i16]) -> f64 {
    if samples.is_empty() {
        return f64::NEG_INFINITY;
    }
    let ms = samples.iter().map(|&x| f64::from(x) * f64::from(x)).sum::<f64>() / samples.len() as f64;
    10.0 * (2.0 * ms / (FULL_SCALE * FULL_SCALE)).log10()
}

/// Most samples [`dominant_frequency`] analyses (the last ones of the slice).
pub const DOMINANT_MAX_SAMPLES: usize = 4096;

/// The frequency in Hz of the strongest spectral component of `samples`,
/// between 20 Hz and just under Nyquist, to a fraction of a hertz for a
/// steady tone. Analyses at most the last [`DOMINANT_MAX_SAMPLES`] samples
/// (so codec and resampler start-up transients are skipped): a coarse scan
/// at the bin spacing, then a golden-section refinement inside the peak's
/// main lobe. Returns `None` for fewer than 64 samples or silence.
pub fn dominant_frequency(samples: &[i16], rate: u32) -> Option<f64> {
    let tail = &samples[samples.len().saturating_sub(DOMINANT_MAX_SAMPLES)..];
    if tail.len() < 64 || rate == 0 || tail.iter().all(|&x| x == 0) {
        return None;
    }
    let fs = f64::from(rate);
    let bin = fs / tail.len() as f64;
    let (lo, hi) = (20.0f64.max(bin), fs / 2.0 - bin);
    let mut best = (lo, -1.0);
    let mut f = lo;
    while f <= hi {
        let p = goertzel_power(tail, f, rate);
        if p > best.1 {
            best = (f, p);
        }
        f += bin;
    }
    // Golden-section search for the maximum within ±1 bin.
    let (mut a, mut b) = ((best.0 - bin).max(lo), (best.0 + bin).min(hi));
    let g = (5f64.sqrt() - 1.0) / 2.0;
    let mut c = b - g * (b - a);
    let mut d = a + g * (b - a);
    let (mut pc, mut pd) = (goertzel_power(tail, c, rate), goertzel_power(tail, d, rate));
    for _ in 0..40 {
        if pc > pd {
            b = d;
            d = c;
            pd = pc;
            c = b - g * (b - a);
            pc = goertzel_power(tail, c, rate);
        } else {
            a = c;
            c = d;
            pc = pd;
            d = a + g * (b - a);
            pd = goertzel_power(tail, d, rate);
        }
        if b - a < 0.01 {
            break;
        }
    }
    Some((a + b) / 2.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sine_level_and_power() {
        let s = sine(1000.0, -6.0, 8000, 8000);
        assert!((level_dbfs(&s) + 6.0).abs() < 0.05, "{}", level_dbfs(&s));
        assert!((tone_level_dbfs(&s, 1000.0, 8000) + 6.0).abs() < 0.05);
        // Off-frequency power is far down.
        assert!(tone_level_dbfs(&s, 1500.0, 8000) < -80.0);
        let full = sine(440.0, 0.0, 48000, 4800);
        assert!((goertzel_power(&full, 440.0, 48000) - 0.5).abs() < 0.01);
    }

    #[test]
    fn silence_and_degenerate_inputs() {
        assert_eq!(level_dbfs(&[]), f64::NEG_INFINITY);
        assert_eq!(level_dbfs(&[0; 160]), f64::NEG_INFINITY);
        assert_eq!(goertzel_power(&[1], 1000.0, 8000), 0.0);
        assert_eq!(dominant_frequency(&[0; 1000], 8000), None);
        assert_eq!(dominant_frequency(&[5; 10], 8000), None);
    }

    #[test]
    fn dominant_frequency_is_accurate() {
        for &(f, rate) in &[
            (1000.0, 8000),
            (697.0, 8000),
            (1234.5, 16000),
            (440.0, 48000),
            (3300.0, 8000),
        ] {
            let s = sine(f, -20.0, rate, 8000);
            let got = dominant_frequency(&s, rate).unwrap_or(0.0);
            assert!((got - f).abs() < 0.5, "{f} Hz at {rate}: got {got}");
        }
    }

    #[test]
    fn dual_tone_has_both_components() {
        let s = ToneGenerator::dual(440.0, 480.0, -13.0, 8000).take(8000);
        assert!((tone_level_dbfs(&s, 440.0, 8000) + 13.0).abs() < 0.1);
        assert!((tone_level_dbfs(&s, 480.0, 8000) + 13.0).abs() < 0.1);
        // DTMF "5": 770 + 1336 Hz.
        let d = ToneGenerator::dual(770.0, 1336.0, -10.0, 8000).take(800);
        assert!(tone_level_dbfs(&d, 770.0, 8000) > -11.0);
        assert!(tone_level_dbfs(&d, 1336.0, 8000) > -11.0);
        assert!(tone_level_dbfs(&d, 941.0, 8000) < -30.0);
    }

    #[test]
    fn frames_are_phase_continuous() {
        let whole = sine(1000.0, -3.0, 8000, 480);
        let mut g = ToneGenerator::sine(1000.0, -3.0, 8000);
        let mut framed = Vec::new();
        for _ in 0..3 {
            let mut f = [0i16; 160];
            g.fill(&mut f);
            framed.extend_from_slice(&f);
        }
        let max_diff = whole.iter().zip(&framed).map(|(a, b)| (a - b).abs()).max();
        assert!(max_diff <= Some(1));
    }

    #[test]
    fn cadence_switches_on_and_off() {
        // 425 Hz, 1 s on / 4 s off (E.180 ringback) at 8 kHz.
        let s = ToneGenerator::sine(425.0, -10.0, 8000)
            .with_cadence(1000, 4000, 8000)
            .take(48000);
        assert!(level_dbfs(&s[..8000]) > -10.5);
        assert_eq!(level_dbfs(&s[8000..40000]), f64::NEG_INFINITY);
        assert!(level_dbfs(&s[40000..48000]) > -10.5);
    }

    #[test]
    fn clipping_saturates() {
        let s = sine(1000.0, 6.0, 8000, 80);
        assert!(s.contains(&32767) && s.contains(&-32768));
    }
}
