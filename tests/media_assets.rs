//! The audio assets shipped in `media/` (issue 3: a royalty-free hold track
//! made by the project): present, decodable, in the format the media plane
//! loops, loud enough to hear and never clipping, and silent at both ends so
//! the loop point does not click. `examples/make_hold_music.rs` regenerates
//! the file deterministically.

use std::path::Path;

#[test]
fn hold_music_is_a_clean_loopable_8k_mono_track() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("media/hold-music.wav");
    let mut r = hound::WavReader::open(&path).expect("media/hold-music.wav opens as WAV");
    let spec = r.spec();
    assert_eq!((spec.channels, spec.sample_rate, spec.bits_per_sample), (1, 8000, 16));
    let s: Vec<i16> = r.samples::<i16>().collect::<Result<_, _>>().expect("samples decode");
    assert!(s.len() >= 8000 * 20, "at least 20 s of music, got {} samples", s.len());
    let peak = s.iter().map(|x| i32::from(*x).abs()).max().unwrap_or(0);
    let peak_dbfs = 20.0 * (f64::from(peak) / 32768.0).log10();
    assert!((-20.0..=-6.0).contains(&peak_dbfs), "peak {peak_dbfs:.1} dBFS");
    let rms = (s.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>() / s.len() as f64).sqrt();
    assert!(20.0 * (rms / 32768.0).log10() > -40.0, "audible, not silence");
    let edge = |xs: &[i16]| xs.iter().map(|x| i32::from(*x).abs()).max().unwrap_or(0);
    assert!(
        edge(&s[..3]) < 100 && edge(&s[s.len() - 3..]) < 100,
        "starts and ends near silence"
    );
}
