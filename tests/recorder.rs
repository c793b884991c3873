//! Call recorder file writer (`media::recorder`, issue 3 item 5; spec
//! CALL-REC-1): layouts, silence while paused, finish/rename, crash
//! survival, recovery of torn `.part` files, name checks, no clobbering, and
//! no allocation per frame.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use switchboard::media::recorder::{
    recover_partial, recover_partials, Recorder, RecorderError, RecordingLayout, CHECKPOINT_FRAMES, FRAME_SAMPLES,
    SAMPLE_RATE,
};

#[path = "common/alloc.rs"]
mod alloc;

/// A deterministic, distinct frame per side and index.
fn frame(seed: i32, index: usize) -> [i16; FRAME_SAMPLES] {
    let mut f = [0i16; FRAME_SAMPLES];
    for (i, s) in f.iter_mut().enumerate() {
        let v = (seed * 7919 + index as i32 * 131 + i as i32 * 17) % 20000 - 10000;
        // Never zero, so silence is told apart from audio.
        *s = if v == 0 { 1 } else { v as i16 };
    }
    f
}

fn customer(i: usize) -> [i16; FRAME_SAMPLES] {
    frame(1, i)
}

fn agent(i: usize) -> [i16; FRAME_SAMPLES] {
    frame(2, i)
}

/// Reads a WAV fully, checking the recording format.
fn read_wav(path: &Path, channels: u16) -> Vec<i16> {
    let mut r = hound::WavReader::open(path).unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    let spec = r.spec();
    assert_eq!(spec.sample_rate, SAMPLE_RATE);
    assert_eq!(spec.bits_per_sample, 16);
    assert_eq!(spec.sample_format, hound::SampleFormat::Int);
    assert_eq!(spec.channels, channels);
    r.samples::<i16>()
        .collect::<Result<Vec<_>, _>>()
        .unwrap_or_else(|e| panic!("samples of {}: {e}", path.display()))
}

/// Stereo samples as (left, right) pairs.
fn pairs(samples: &[i16]) -> Vec<(i16, i16)> {
    samples.chunks_exact(2).map(|c| (c[0], c[1])).collect()
}

/// The (left, right) pairs the first `frames` frames of `customer`/`agent`
/// should produce.
fn expected_stereo(frames: usize) -> Vec<(i16, i16)> {
    (0..frames)
        .flat_map(|i| customer(i).into_iter().zip(agent(i)))
        .collect()
}

fn write_frames(rec: &mut Recorder, range: std::ops::Range<usize>) {
    for i in range {
        rec.write_frame(&customer(i), &agent(i)).expect("write_frame");
    }
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read_dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn part_of(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.wav.part"))
}

// spec: CALL-REC-1 (customer on one channel, the other side on the other)
#[test]
fn stereo_puts_customer_left_and_other_side_right() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut rec = Recorder::create(dir.path(), "call-1", RecordingLayout::Stereo).expect("create");
    assert_eq!(rec.layout(), RecordingLayout::Stereo);
    write_frames(&mut rec, 0..20);
    let path = rec.finish().expect("finish");
    assert_eq!(path, dir.path().join("call-1.wav"));
    let got = pairs(&read_wav(&path, 2));
    assert_eq!(got, expected_stereo(20));
}

// spec: CALL-REC-1 (mixed layout, by config)
#[test]
fn mixed_sums_both_sides_with_saturation() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut rec = Recorder::create(dir.path(), "mixed", RecordingLayout::Mixed).expect("create");
    let mut a = [0i16; FRAME_SAMPLES];
    let mut b = [0i16; FRAME_SAMPLES];
    let cases: [(i16, i16, i16); 6] = [
        (1000, 234, 1234),
        (-500, 200, -300),
        (30000, 10000, i16::MAX),
        (-30000, -10000, i16::MIN),
        (i16::MAX, i16::MAX, i16::MAX),
        (i16::MIN, i16::MIN, i16::MIN),
    ];
    for (i, (x, y, _)) in cases.iter().cycle().take(FRAME_SAMPLES).enumerate() {
        a[i] = *x;
        b[i] = *y;
    }
    rec.write_frame(&a, &b).expect("write");
    rec.write_frame(&customer(1), &agent(1)).expect("write");
    let path = rec.finish().expect("finish");
    let got = read_wav(&path, 1);
    assert_eq!(got.len(), 2 * FRAME_SAMPLES);
    for (i, (_, _, sum)) in cases.iter().cycle().take(FRAME_SAMPLES).enumerate() {
        assert_eq!(got[i], *sum, "sample {i}");
    }
    let second: Vec<i16> = customer(1)
        .iter()
        .zip(agent(1))
        .map(|(x, y)| x.saturating_add(y))
        .collect();
    assert_eq!(&got[FRAME_SAMPLES..], &second[..]);
}

// spec: CALL-REC-1 (paused audio is never written; the timeline keeps its length)
#[test]
fn paused_frames_are_silence_and_the_timeline_keeps_its_length() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut rec = Recorder::create(dir.path(), "paused", RecordingLayout::Stereo).expect("create");
    // 0..10 recorded, 10..25 paused, 25..40 recorded, 40..47 paused, 47..60 recorded.
    let paused = |i: usize| (10..25).contains(&i) || (40..47).contains(&i);
    for i in 0..60 {
        rec.set_paused(paused(i));
        assert_eq!(rec.is_paused(), paused(i));
        rec.write_frame(&customer(i), &agent(i)).expect("write");
    }
    assert_eq!(rec.frames_written(), 60 * FRAME_SAMPLES as u64);
    assert_eq!(rec.duration(), std::time::Duration::from_millis(1200));
    let path = rec.finish().expect("finish");
    let got = pairs(&read_wav(&path, 2));
    assert_eq!(got.len(), 60 * FRAME_SAMPLES);
    for (i, chunk) in got.chunks_exact(FRAME_SAMPLES).enumerate() {
        if paused(i) {
            assert!(
                chunk.iter().all(|&(l, r)| l == 0 && r == 0),
                "frame {i} is paused: silence"
            );
        } else {
            let want: Vec<(i16, i16)> = customer(i).into_iter().zip(agent(i)).collect();
            assert_eq!(chunk, &want[..], "frame {i} is recorded as given");
        }
    }
    // No paused sample of either side anywhere in the file's bytes (they are
    // not merely hidden by the header).
    let bytes = std::fs::read(&path).expect("read");
    let needle: Vec<u8> = customer(12)[..8].iter().flat_map(|s| s.to_le_bytes()).collect();
    assert!(!bytes.windows(needle.len()).any(|w| w == &needle[..]));
}

// spec: CALL-REC-1 (mixed: paused frames are silence too)
#[test]
fn paused_mixed_frames_are_silence() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut rec = Recorder::create(dir.path(), "paused-mixed", RecordingLayout::Mixed).expect("create");
    rec.write_frame(&customer(0), &agent(0)).expect("write");
    rec.set_paused(true);
    rec.write_frame(&customer(1), &agent(1)).expect("write");
    rec.set_paused(false);
    rec.write_frame(&customer(2), &agent(2)).expect("write");
    let got = read_wav(&rec.finish().expect("finish"), 1);
    assert_eq!(got.len(), 3 * FRAME_SAMPLES);
    assert!(got[FRAME_SAMPLES..2 * FRAME_SAMPLES].iter().all(|&s| s == 0));
    assert!(got[..FRAME_SAMPLES].iter().any(|&s| s != 0));
    assert!(got[2 * FRAME_SAMPLES..].iter().any(|&s| s != 0));
}

#[test]
fn finish_renames_part_to_wav_with_the_right_duration() {
    let dir = tempfile::tempdir().expect("tempdir");
    let nested = dir.path().join("recordings").join("2024-05-01");
    let mut rec = Recorder::create(&nested, "q1.call-42_a", RecordingLayout::Stereo).expect("create (dir made)");
    assert_eq!(rec.part_path(), part_of(&nested, "q1.call-42_a"));
    assert_eq!(rec.final_path(), nested.join("q1.call-42_a.wav"));
    assert_eq!(files_in(&nested), ["q1.call-42_a.wav.part"]);
    write_frames(&mut rec, 0..(2 * CHECKPOINT_FRAMES as usize + 7));
    let path = rec.finish().expect("finish");
    assert_eq!(files_in(&nested), ["q1.call-42_a.wav"]);
    let r = hound::WavReader::open(&path).expect("open");
    assert_eq!(r.duration(), (2 * CHECKPOINT_FRAMES + 7) * FRAME_SAMPLES as u32);
    assert_eq!(r.duration() as f64 / SAMPLE_RATE as f64, 2.14);
}

#[test]
fn an_empty_recording_is_a_valid_wav() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rec = Recorder::create(dir.path(), "empty", RecordingLayout::Stereo).expect("create");
    // Valid from the moment it exists.
    assert!(read_wav(rec.part_path(), 2).is_empty());
    let path = rec.finish().expect("finish");
    assert!(read_wav(&path, 2).is_empty());
}

// spec: CALL-REC-1 (a crash leaves a playable file of what was captured)
#[test]
fn crash_leaves_a_playable_part_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut rec = Recorder::create(dir.path(), "crash", RecordingLayout::Stereo).expect("create");
    write_frames(&mut rec, 0..150); // 3 s
    let part = rec.part_path().to_path_buf();
    // The process dies: no finish, no drop.
    std::mem::forget(rec);
    assert_eq!(files_in(dir.path()), ["crash.wav.part"]);
    let got = pairs(&read_wav(&part, 2));
    assert!(
        got.len() >= 2 * SAMPLE_RATE as usize,
        "at least 2 s readable, got {}",
        got.len()
    );
    assert_eq!(got, expected_stereo(got.len() / FRAME_SAMPLES));

    // At the next startup it becomes a .wav, audio intact.
    let recovered = recover_partials(dir.path()).expect("recover");
    assert_eq!(recovered, [dir.path().join("crash.wav")]);
    assert_eq!(files_in(dir.path()), ["crash.wav"]);
    assert_eq!(pairs(&read_wav(&recovered[0], 2)), got);
}

// spec: CALL-REC-1 (an abandoned recording stays .part, valid, until recovery)
#[test]
fn drop_without_finish_flushes_and_leaves_the_part() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut rec = Recorder::create(dir.path(), "dropped", RecordingLayout::Stereo).expect("create");
    write_frames(&mut rec, 0..(CHECKPOINT_FRAMES as usize + 13));
    let part = rec.part_path().to_path_buf();
    drop(rec);
    assert_eq!(files_in(dir.path()), ["dropped.wav.part"]);
    // Everything, not just up to the last checkpoint.
    assert_eq!(
        pairs(&read_wav(&part, 2)),
        expected_stereo(CHECKPOINT_FRAMES as usize + 13)
    );
}

/// A recorder killed right after a checkpoint: the .part holds exactly
/// `frames` frames and a header that says so.
fn crashed_part(dir: &Path, name: &str, frames: usize) -> PathBuf {
    let mut rec = Recorder::create(dir, name, RecordingLayout::Stereo).expect("create");
    write_frames(&mut rec, 0..frames);
    rec.checkpoint().expect("checkpoint");
    let part = rec.part_path().to_path_buf();
    std::mem::forget(rec);
    part
}

fn append(path: &Path, bytes: &[u8]) {
    let mut f = OpenOptions::new().append(true).open(path).expect("open for append");
    f.write_all(bytes).expect("append");
}

#[test]
fn torn_trailing_bytes_are_truncated_by_recovery() {
    let dir = tempfile::tempdir().expect("tempdir");
    let part = crashed_part(dir.path(), "torn", 60);
    append(&part, &[0xde, 0xad, 0xbe]); // a torn sample frame (3 of 4 bytes)
    let recovered = recover_partials(dir.path()).expect("recover");
    assert_eq!(recovered, [dir.path().join("torn.wav")]);
    assert_eq!(files_in(dir.path()), ["torn.wav"]);
    assert_eq!(pairs(&read_wav(&recovered[0], 2)), expected_stereo(60));
}

#[test]
fn a_file_cut_mid_frame_is_recovered_up_to_the_last_whole_sample_frame() {
    let dir = tempfile::tempdir().expect("tempdir");
    let part = crashed_part(dir.path(), "cut", 60);
    // The header claims 60 frames, the disk holds less (power loss).
    let len = std::fs::metadata(&part).expect("stat").len();
    let f = OpenOptions::new().write(true).open(&part).expect("open");
    f.set_len(len - 6).expect("truncate"); // 1.5 sample frames gone
    drop(f);
    assert!(
        hound::WavReader::open(&part)
            .expect("header still parses")
            .samples::<i16>()
            .any(|s| s.is_err()),
        "before recovery the file is broken"
    );
    let wav = recover_partial(&part).expect("recover");
    let got = pairs(&read_wav(&wav, 2));
    let mut want = expected_stereo(60);
    want.truncate(60 * FRAME_SAMPLES - 2);
    assert_eq!(got, want);
}

#[test]
fn recovery_keeps_audio_written_after_the_last_checkpoint() {
    let dir = tempfile::tempdir().expect("tempdir");
    let part = crashed_part(dir.path(), "beyond", 10);
    // The buffer reached the disk but the header was not updated yet.
    let more: Vec<u8> = (10..12)
        .flat_map(|i| customer(i).into_iter().zip(agent(i)))
        .flat_map(|(l, r)| [l.to_le_bytes(), r.to_le_bytes()])
        .flatten()
        .collect();
    append(&part, &more);
    append(&part, &[1]); // and one torn byte
    assert_eq!(
        read_wav(&part, 2).len(),
        10 * FRAME_SAMPLES * 2,
        "header still says 10 frames"
    );
    let wav = recover_partial(&part).expect("recover");
    assert_eq!(pairs(&read_wav(&wav, 2)), expected_stereo(12));
}

#[test]
fn recovery_skips_what_it_cannot_repair_and_never_clobbers() {
    let dir = tempfile::tempdir().expect("tempdir");
    crashed_part(dir.path(), "good", 5);
    std::fs::write(part_of(dir.path(), "garbage"), b"this is not a wav file at all").expect("write");
    std::fs::write(part_of(dir.path(), "tiny"), b"RIF").expect("write");
    // A .part whose .wav already exists: left alone, the .wav untouched.
    crashed_part(dir.path(), "twice", 3);
    std::fs::write(dir.path().join("twice.wav"), b"the finished one").expect("write");
    std::fs::write(dir.path().join("other.txt"), b"not ours").expect("write");

    let recovered = recover_partials(dir.path()).expect("recover");
    assert_eq!(recovered, [dir.path().join("good.wav")]);
    assert_eq!(
        files_in(dir.path()),
        [
            "garbage.wav.part",
            "good.wav",
            "other.txt",
            "tiny.wav.part",
            "twice.wav",
            "twice.wav.part"
        ]
    );
    assert_eq!(
        std::fs::read(dir.path().join("twice.wav")).expect("read"),
        b"the finished one"
    );
    assert!(matches!(
        recover_partial(&part_of(dir.path(), "garbage")),
        Err(RecorderError::NotWav { .. })
    ));
    assert!(matches!(
        recover_partial(&part_of(dir.path(), "twice")),
        Err(RecorderError::Exists { .. })
    ));
}

#[test]
fn recovering_a_missing_or_clean_directory_finds_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    assert!(recover_partials(&dir.path().join("never-created"))
        .expect("missing dir")
        .is_empty());
    let rec = Recorder::create(dir.path(), "done", RecordingLayout::Mixed).expect("create");
    rec.finish().expect("finish");
    assert!(recover_partials(dir.path()).expect("clean dir").is_empty());
    assert_eq!(files_in(dir.path()), ["done.wav"]);
}

#[test]
fn unsafe_names_are_rejected() {
    let dir = tempfile::tempdir().expect("tempdir");
    let long = "a".repeat(201);
    for bad in [
        "",
        ".",
        "..",
        "../x",
        "a/b",
        "/abs",
        "a\\b",
        "a\0b",
        ".hidden",
        "a b",
        "caf\u{e9}",
        "x:y",
        &long,
    ] {
        match Recorder::create(dir.path(), bad, RecordingLayout::Stereo) {
            Err(RecorderError::InvalidName { name, .. }) => assert_eq!(name, bad),
            other => panic!("{bad:?} accepted or wrong error: {other:?}"),
        }
    }
    assert!(files_in(dir.path()).is_empty(), "nothing created for a bad name");
    // The longest allowed name works.
    let ok = "b".repeat(200);
    Recorder::create(dir.path(), &ok, RecordingLayout::Stereo)
        .expect("200 bytes is fine")
        .finish()
        .expect("finish");
}

#[test]
fn a_second_create_never_clobbers_a_recording() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut rec = Recorder::create(dir.path(), "same", RecordingLayout::Stereo).expect("create");
    // While the first is being written, its .part is taken.
    match Recorder::create(dir.path(), "same", RecordingLayout::Stereo) {
        Err(RecorderError::Exists { path }) => assert_eq!(path, part_of(dir.path(), "same")),
        other => panic!("expected Exists, got {other:?}"),
    }
    write_frames(&mut rec, 0..5);
    let path = rec.finish().expect("finish");
    let before = std::fs::read(&path).expect("read");
    // Once finished, its .wav is taken.
    match Recorder::create(dir.path(), "same", RecordingLayout::Mixed) {
        Err(RecorderError::Exists { path: p }) => assert_eq!(p, path),
        other => panic!("expected Exists, got {other:?}"),
    }
    assert_eq!(std::fs::read(&path).expect("read"), before);
    assert_eq!(files_in(dir.path()), ["same.wav"]);
}

#[test]
fn frames_allocate_nothing() {
    // The counter is live on this thread.
    let probe = alloc::count();
    drop(std::hint::black_box(vec![0u8; 16]));
    assert!(alloc::count() > probe, "allocation counter not counting");
    let dir = tempfile::tempdir().expect("tempdir");
    for layout in [RecordingLayout::Stereo, RecordingLayout::Mixed] {
        let name = format!("alloc-{layout:?}");
        let mut rec = Recorder::create(dir.path(), &name, layout).expect("create");
        let (c, a) = (customer(0), agent(0));
        let before = alloc::count();
        // Several checkpoints and a pause included.
        for i in 0..(3 * CHECKPOINT_FRAMES as usize + 1) {
            rec.set_paused(i % 40 < 5);
            rec.write_frame(&c, &a).expect("write");
        }
        assert_eq!(alloc::count() - before, 0, "{layout:?}: frames allocated");
        rec.finish().expect("finish");
    }
}
