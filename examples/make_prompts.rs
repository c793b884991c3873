//! Makes Switchboard's own voice prompts for entry points (issue 14) into
//! `media/prompts/<name>.wav` (RIFF PCM 16-bit mono 8000 Hz, the format
//! `switchboard::dsp::prompt_file::decode_prompt` accepts).
//!
//! The speech is synthesised here by espeak-ng (GPL software whose output
//! is ours: no third-party recording is used), from the fixed texts of
//! [`PROMPTS`]; the `beep` prompt is a 1 kHz tone made by
//! `switchboard::dsp::tone`. Each spoken prompt is:
//!
//! 1. synthesised with `espeak-ng -v en-us -s 150 -w <tmp>.wav <text>`
//!    (22050 Hz mono 16-bit);
//! 2. resampled to 8000 Hz (rubato's FFT resampler, 441 → 160 samples per
//!    20 ms, anti-aliased, its delay removed);
//! 3. trimmed of leading and trailing silence (50 ms kept before the speech,
//!    200 ms after it, so back-to-back prompts do not run into each other);
//! 4. normalised so its peak (the 99.9th percentile of the sample
//!    magnitudes, so a lone spike does not decide) sits at
//!    `dsp::prompt::PROMPT_DBFS` (−16 dBFS), the level of the queue
//!    announcements' tones;
//! 5. written with hound.
//!
//! Run: `cargo run --example make_prompts` (needs `espeak-ng` on the PATH:
//! `apt-get install -y espeak-ng`). The output is deterministic for one
//! espeak-ng version (1.51 made the committed files).

use std::path::{Path, PathBuf};
use std::process::Command;

use rubato::audioadapter_buffers::direct::SequentialSlice;
use rubato::{Fft, FixedSync, Resampler as _};
use switchboard::dsp::prompt::PROMPT_DBFS;
use switchboard::dsp::tone::{dbfs_to_amplitude, sine};

/// The prompts: file name (without `.wav`) and what is said.
const PROMPTS: &[(&str, &str)] = &[
    (
        "welcome",
        "Thank you for calling. For support, press 1. For sales, press 2. To leave a message, press 0.",
    ),
    ("invalid", "Sorry, that is not a valid choice."),
    ("no-input", "We did not receive your choice."),
    ("goodbye", "Thank you for calling. Goodbye."),
    (
        "closed",
        "We are closed right now. Please leave a message after the tone.",
    ),
    (
        "holiday",
        "We are closed today for a holiday. Please leave a message after the tone.",
    ),
    (
        "leave-message",
        "Please leave your message after the tone. Press pound when you are done.",
    ),
    ("message-saved", "Your message has been saved. Goodbye."),
    (
        "callback-offer",
        "To be called back instead of waiting, press 1. You keep your place in line.",
    ),
    (
        "callback-number",
        "To be called back on the number you are calling from, press 1. To enter another number, press 2.",
    ),
    ("enter-number", "Please enter your phone number, then press pound."),
    (
        "callback-confirmed",
        "Thank you. We will call you back when it is your turn. Goodbye.",
    ),
    ("transfer", "Please hold while we connect your call."),
    ("enter-account", "Please enter your account number, then press pound."),
];

/// The rate of every prompt.
const RATE: u32 = 8000;
/// The beep: 1 kHz for 400 ms.
const BEEP_HZ: f64 = 1000.0;
const BEEP_MS: u32 = 400;
/// Silence kept before and after the speech.
const LEAD_MS: u32 = 50;
const TAIL_MS: u32 = 200;
/// A sample quieter than this (about −50 dBFS) counts as silence when trimming.
const SILENCE: f32 = 100.0;

type Error = Box<dyn std::error::Error>;

fn main() -> Result<(), Error> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("media/prompts");
    std::fs::create_dir_all(&dir)?;
    let tmp = std::env::temp_dir().join(format!("switchboard-prompts-{}", std::process::id()));
    std::fs::create_dir_all(&tmp)?;
    let result = make_all(&dir, &tmp);
    let _ = std::fs::remove_dir_all(&tmp);
    result
}

fn make_all(dir: &Path, tmp: &Path) -> Result<(), Error> {
    for (name, text) in PROMPTS {
        let raw = tmp.join(format!("{name}.wav"));
        let status = Command::new("espeak-ng")
            .args(["-v", "en-us", "-s", "150", "-w"])
            .arg(&raw)
            .arg(text)
            .status()
            .map_err(|e| format!("espeak-ng could not run ({e}): apt-get install -y espeak-ng"))?;
        if !status.success() {
            return Err(format!("espeak-ng failed for {name}: {status}").into());
        }
        let (rate, speech) = read_mono(&raw)?;
        let at_8k = resample(&speech, rate)?;
        let trimmed = trim(&at_8k);
        let samples = normalise(trimmed);
        write(&dir.join(format!("{name}.wav")), &samples)?;
    }
    // The beep: a 1 kHz tone, 5 ms ramps so it starts and stops without a click.
    let mut beep = sine(BEEP_HZ, PROMPT_DBFS, RATE, (RATE * BEEP_MS / 1000) as usize);
    let ramp = (RATE / 200) as usize;
    let len = beep.len();
    for k in 0..ramp {
        let g = k as f64 / ramp as f64;
        beep[k] = (f64::from(beep[k]) * g).round() as i16;
        beep[len - 1 - k] = (f64::from(beep[len - 1 - k]) * g).round() as i16;
    }
    write(&dir.join("beep.wav"), &beep)?;
    Ok(())
}

/// The samples of a mono 16-bit WAV file and its rate.
fn read_mono(path: &Path) -> Result<(u32, Vec<f32>), Error> {
    let mut r = hound::WavReader::open(path)?;
    let spec = r.spec();
    if spec.channels != 1 || spec.bits_per_sample != 16 || spec.sample_format != hound::SampleFormat::Int {
        return Err(format!("{}: espeak-ng wrote {spec:?}, expected mono 16-bit", path.display()).into());
    }
    let samples = r.samples::<i16>().map(|s| s.map(f32::from)).collect::<Result<_, _>>()?;
    Ok((spec.sample_rate, samples))
}

/// `input` at `rate` resampled to 8000 Hz, 20 ms chunks, the resampler's
/// delay removed.
fn resample(input: &[f32], rate: u32) -> Result<Vec<f32>, Error> {
    let (n_in, n_out) = ((rate / 50) as usize, (RATE / 50) as usize);
    let mut fft = Fft::<f32>::new(rate as usize, RATE as usize, n_in, 1, FixedSync::Both)?;
    let delay = fft.output_delay();
    let expected = input.len() * n_out / n_in;
    let mut out = Vec::with_capacity(expected + delay + n_out);
    let mut chunk_out = vec![0f32; n_out];
    let mut padded = input.to_vec();
    // Enough zeros after the speech to flush the filter's delay.
    padded.resize(padded.len() + n_in * (2 + delay / n_out.max(1)), 0.0);
    for chunk in padded.chunks_exact(n_in) {
        let a_in = SequentialSlice::new(chunk, 1, n_in)?;
        let mut a_out = SequentialSlice::new_mut(&mut chunk_out[..], 1, n_out)?;
        fft.process_into_buffer(&a_in, &mut a_out, None)?;
        out.extend_from_slice(&chunk_out);
    }
    let end = (delay + expected).min(out.len());
    Ok(out.get(delay..end).unwrap_or_default().to_vec())
}

/// The speech with [`LEAD_MS`] of silence before and [`TAIL_MS`] after.
fn trim(samples: &[f32]) -> Vec<f32> {
    let loud = |s: &f32| s.abs() > SILENCE;
    let (Some(first), Some(last)) = (samples.iter().position(loud), samples.iter().rposition(loud)) else {
        return Vec::new();
    };
    let lead = (RATE * LEAD_MS / 1000) as usize;
    let tail = (RATE * TAIL_MS / 1000) as usize;
    let mut out = vec![0f32; lead];
    out.extend_from_slice(&samples[first..=last]);
    out.resize(out.len() + tail, 0.0);
    out
}

/// Scales `samples` so that their 99.9th percentile magnitude is at
/// [`PROMPT_DBFS`]; the few samples above are limited to full scale.
fn normalise(samples: Vec<f32>) -> Vec<i16> {
    let mut mags: Vec<f32> = samples.iter().map(|s| s.abs()).collect();
    mags.sort_by(f32::total_cmp);
    let peak = mags.get(mags.len() * 999 / 1000).copied().unwrap_or(0.0);
    let gain = if peak > 0.0 {
        dbfs_to_amplitude(PROMPT_DBFS) as f32 / peak
    } else {
        0.0
    };
    samples.iter().map(|s| (s * gain).round() as i16).collect()
}

/// Writes `samples` as RIFF PCM 16-bit mono 8000 Hz (through a temporary
/// file, renamed when complete).
fn write(path: &Path, samples: &[i16]) -> Result<(), Error> {
    let tmp: PathBuf = path.with_extension("wav.tmp");
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: RATE,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(&tmp, spec)?;
    for &s in samples {
        w.write_sample(s)?;
    }
    w.finalize()?;
    std::fs::rename(&tmp, path)?;
    let peak = samples.iter().map(|s| s.unsigned_abs()).max().unwrap_or(0);
    println!(
        "wrote {} ({:.2} s, peak {:.1} dBFS, level {:.1} dBFS RMS)",
        path.display(),
        samples.len() as f64 / f64::from(RATE),
        20.0 * (f64::from(peak) / 32768.0).log10(),
        switchboard::dsp::tone::level_dbfs(samples),
    );
    Ok(())
}
