//! Synthetic test signals for measuring the media plane (noise removal SNR
//! in `dsp::noise` tests, the pipeline and end-to-end tests, benches):
//! deterministic, so a figure measured once can be measured again.

use std::f64::consts::PI;

/// A vowel-like signal at `rate` Hz, `len` samples, peak about 1.0: 140 Hz
/// pitch with 5 Hz vibrato, harmonics shaped by /a/ formants (700, 1200,
/// 2600 Hz) up to 8 kHz, syllable-rate amplitude modulation (250 ms cycle,
/// raised-cosine envelope, 20 % pause). RNNoise treats it as speech.
pub fn speechlike(rate: u32, len: usize) -> Vec<f64> {
    let fs = f64::from(rate);
    let formants = [(700.0, 130.0), (1200.0, 150.0), (2600.0, 250.0)];
    let mut phase = 0.0f64;
    (0..len)
        .map(|i| {
            let t = i as f64 / fs;
            let f0 = 140.0 + 8.0 * (2.0 * PI * 5.0 * t).sin();
            phase += 2.0 * PI * f0 / fs;
            let mut v = 0.0;
            let mut h = 1.0;
            while h * f0 < fs.min(16000.0) / 2.0 - 200.0 {
                let f = h * f0;
                let env: f64 = formants
                    .iter()
                    .map(|&(c, bw)| 1.0 / (1.0 + ((f - c) / bw).powi(2)))
                    .sum::<f64>()
                    + 0.02;
                v += env * (h * phase).sin();
                h += 1.0;
            }
            let cyc = (t * 4.0).fract();
            let am = if cyc < 0.8 { (PI * cyc / 0.8).sin().powi(2) } else { 0.0 };
            v * am
        })
        .collect()
}

/// Deterministic white noise (xorshift64* from `seed`), uniform, zero mean,
/// unit variance, `len` samples.
pub fn white_noise(len: usize, seed: u64) -> Vec<f64> {
    let mut x = seed.max(1);
    (0..len)
        .map(|_| {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            let u = (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64;
            (u - 0.5) * 12f64.sqrt()
        })
        .collect()
}
