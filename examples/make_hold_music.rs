//! Synthesises Switchboard's royalty-free music on hold into
//! `media/hold-music.wav` (8 kHz, 16-bit mono, 32 s, loops seamlessly).
//!
//! The track is made here, from nothing but arithmetic, so the project owns
//! it outright: a slow I–vi–IV–V progression in C major played by a soft
//! additive "electric piano" (fundamental plus two decaying partials, a
//! gentle attack and release per chord) over a quiet bass note, with a
//! simple arpeggio on top. Chords change every 2 s; the last chord resolves
//! into the first, and the track starts and ends at silence, so the loop
//! point does not click. Levels peak near −12 dBFS
//! so that G.711 and Opus encode it without clipping.
//!
//! Run: `cargo run --example make_hold_music` (rewrites the file; the output
//! is deterministic, byte for byte).

use std::f64::consts::PI;
use std::path::Path;

const RATE: u32 = 8000;
const SECONDS_PER_CHORD: f64 = 2.0;
const PEAK: f64 = 0.25; // about -12 dBFS

/// MIDI note number to frequency (A4 = 440 Hz).
fn freq(note: i32) -> f64 {
    440.0 * 2f64.powf(f64::from(note - 69) / 12.0)
}

/// One soft piano-like note: three partials with their own decay.
fn piano(t: f64, f: f64) -> f64 {
    let env = (1.0 - (-t * 40.0).exp()) * (-t * 1.2).exp();
    env * ((2.0 * PI * f * t).sin()
        + 0.3 * (-t * 3.0).exp() * (4.0 * PI * f * t).sin()
        + 0.1 * (-t * 6.0).exp() * (6.0 * PI * f * t).sin())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // I - vi - IV - V, twice, with a variation in the second pass.
    let progression: [[i32; 3]; 8] = [
        [60, 64, 67], // C
        [57, 60, 64], // Am
        [53, 57, 60], // F
        [55, 59, 62], // G
        [60, 64, 67], // C
        [57, 60, 64], // Am
        [53, 57, 62], // Dm/F
        [55, 59, 65], // G7
    ];
    let chord_len = (f64::from(RATE) * SECONDS_PER_CHORD) as usize;
    let total = chord_len * progression.len() * 2;
    let mut samples = vec![0f64; total];
    for (i, sample) in samples.iter_mut().enumerate() {
        let chord_index = (i / chord_len) % progression.len();
        let t_chord = (i % chord_len) as f64 / f64::from(RATE);
        let chord = progression[chord_index];
        // The previous chord rings on for a moment (legato), the loop wraps.
        let prev = progression[(chord_index + progression.len() - 1) % progression.len()];
        let mut v = 0.0;
        for n in chord {
            v += piano(t_chord, freq(n));
        }
        for n in prev {
            v += 0.5 * piano(t_chord + SECONDS_PER_CHORD, freq(n));
        }
        // Bass: the chord root an octave down.
        v += 0.8 * piano(t_chord, freq(chord[0] - 12));
        // Arpeggio: chord tones an octave up on each half second.
        let step = (t_chord / 0.5) as usize;
        let t_step = t_chord - step as f64 * 0.5;
        v += 0.35 * piano(t_step, freq(chord[step % 3] + 12));
        *sample = v;
    }
    // The first chord starts from silence (its attack); fade the last 20 ms
    // to silence too, so the loop point does not click.
    let fade = (f64::from(RATE) * 0.02) as usize;
    for k in 0..fade {
        samples[total - 1 - k] *= k as f64 / fade as f64;
    }
    let max = samples.iter().fold(0f64, |m, s| m.max(s.abs()));
    let scale = if max > 0.0 { PEAK / max } else { 0.0 };
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("media/hold-music.wav");
    let tmp = path.with_extension("wav.tmp");
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: RATE,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(&tmp, spec)?;
    for s in samples {
        w.write_sample((s * scale * f64::from(i16::MAX)).round() as i16)?;
    }
    w.finalize()?;
    std::fs::rename(&tmp, &path)?;
    println!("wrote {} ({} s at {} Hz)", path.display(), total as u32 / RATE, RATE);
    Ok(())
}
