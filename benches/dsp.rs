//! Media-plane DSP cost per frame (`src/dsp/`): ITU-T G.711 encode/decode,
//! RFC 6716 Opus encode/decode, 8 k ↔ 48 k resampling, RNNoise (nnnoiseless)
//! noise removal, 8-party mix-minus, and the transcoding pipeline of one call
//! direction (`media::pipeline`: jitter buffer, decode, encode, RTP out). Besides criterion's statistics each
//! case prints the fraction of one core a real-time stream needs: time per
//! frame ÷ frame duration. Run with
//! `cargo bench --bench dsp -- --warm-up-time 1 --measurement-time 3`.

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use std::time::{Duration, Instant};
use switchboard::dsp::g711;
use switchboard::dsp::mix::Mixer;
use switchboard::dsp::noise::{Denoiser, NoiseSuppressor, DENOISE_FRAME};
use switchboard::dsp::opus::{OpusConfig, OpusDecoder, OpusEncoder, MAX_PACKET};
use switchboard::dsp::resample::Resampler;
use switchboard::dsp::tone::ToneGenerator;
use switchboard::dsp::SampleRate;
use switchboard::media::pipeline::{LegFormat, Pipeline, PipelineOptions, MAX_OUT_PACKET};
use switchboard::rtp::packet::{write_packet, RtpFields};
use switchboard::sdp::CodecKind;

/// A speech-ish test signal: two tones plus deterministic noise, `len`
/// samples at `rate`.
fn signal(rate: u32, len: usize) -> Vec<i16> {
    let mut s = ToneGenerator::dual(220.0, 1250.0, -16.0, rate).take(len);
    let mut x: u32 = 0x1234_5678;
    for v in s.iter_mut() {
        x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        *v = v.saturating_add(((x >> 16) as i16) >> 5);
    }
    s
}

/// Benchmarks `f` with criterion, then times it plainly and prints the share
/// of one core that one real-time stream (`frame` of audio per call) uses.
fn case(c: &mut Criterion, name: &str, frame: Duration, mut f: impl FnMut()) {
    c.bench_function(name, |b| b.iter(&mut f));
    let mut n = 0u32;
    let t = Instant::now();
    while t.elapsed() < Duration::from_millis(500) {
        for _ in 0..100 {
            f();
        }
        n += 100;
    }
    let per = t.elapsed().as_secs_f64() / f64::from(n);
    println!(
        "REPORT {name}: {:.2} µs per {} ms frame = {:.4} % of one core per stream",
        per * 1e6,
        frame.as_millis(),
        100.0 * per / frame.as_secs_f64()
    );
}

fn bench(c: &mut Criterion) {
    let ms20 = Duration::from_millis(20);
    let ms10 = Duration::from_millis(10);
    let nb = signal(8000, 160);
    let wb = signal(48000, 960);

    // G.711, 160 samples per 20 ms.
    let mut codes = [0u8; 160];
    let mut pcm = [0i16; 160];
    case(c, "g711_ulaw_encode_20ms", ms20, || {
        let _ = black_box(g711::encode_ulaw(black_box(&nb), &mut codes));
    });
    case(c, "g711_ulaw_decode_20ms", ms20, || {
        let _ = black_box(g711::decode_ulaw(black_box(&codes), &mut pcm));
    });
    case(c, "g711_alaw_encode_20ms", ms20, || {
        let _ = black_box(g711::encode_alaw(black_box(&nb), &mut codes));
    });
    case(c, "g711_alaw_decode_20ms", ms20, || {
        let _ = black_box(g711::decode_alaw(black_box(&codes), &mut pcm));
    });

    // Opus at 48 kHz (fullband) and 8 kHz (narrowband), 20 ms frames.
    for rate in [SampleRate::Hz48000, SampleRate::Hz8000] {
        let input = signal(rate.hz(), rate.frame_20ms() * 50);
        let (mut enc, mut dec) = match (OpusEncoder::new(rate, OpusConfig::default()), OpusDecoder::new(rate)) {
            (Ok(e), Ok(d)) => (e, d),
            _ => panic!("opus setup failed"),
        };
        let frames: Vec<&[i16]> = input.chunks_exact(rate.frame_20ms()).collect();
        let mut packet = [0u8; MAX_PACKET];
        let mut i = 0usize;
        case(c, &format!("opus_encode_{}k_20ms", rate.hz() / 1000), ms20, || {
            i = (i + 1) % frames.len();
            let _ = black_box(enc.encode(black_box(frames[i]), &mut packet));
        });
        let packets: Vec<Vec<u8>> = frames
            .iter()
            .map(|f| match enc.encode(f, &mut packet) {
                Ok(n) => packet[..n].to_vec(),
                Err(e) => panic!("opus encode: {e}"),
            })
            .collect();
        let mut out = vec![0i16; rate.frame_20ms()];
        let mut j = 0usize;
        case(c, &format!("opus_decode_{}k_20ms", rate.hz() / 1000), ms20, || {
            j = (j + 1) % packets.len();
            let _ = black_box(dec.decode(black_box(&packets[j]), &mut out));
        });
    }

    // Resampling, one 20 ms frame.
    let (mut up, mut down) = match (
        Resampler::new(SampleRate::Hz8000, SampleRate::Hz48000),
        Resampler::new(SampleRate::Hz48000, SampleRate::Hz8000),
    ) {
        (Ok(u), Ok(d)) => (u, d),
        _ => panic!("resampler setup failed"),
    };
    let mut wide = vec![0i16; 960];
    case(c, "resample_8k_to_48k_20ms", ms20, || {
        let _ = black_box(up.process(black_box(&nb), &mut wide));
    });
    let mut narrow = vec![0i16; 160];
    case(c, "resample_48k_to_8k_20ms", ms20, || {
        let _ = black_box(down.process(black_box(&wb), &mut narrow));
    });

    // Noise removal: the RNNoise core per 10 ms frame at 48 kHz, and the
    // whole narrowband path (8k → 48k, 2 × RNNoise, 48k → 8k) per 20 ms.
    let mut den = Denoiser::new();
    let mut dout = vec![0i16; DENOISE_FRAME];
    case(c, "nnnoiseless_48k_10ms", ms10, || {
        let _ = black_box(den.process(black_box(&wb[..DENOISE_FRAME]), &mut dout));
    });
    let mut ns = match NoiseSuppressor::new(SampleRate::Hz8000) {
        Ok(n) => n,
        Err(e) => panic!("suppressor: {e}"),
    };
    let mut nout = vec![0i16; 160];
    case(c, "noise_suppressor_8k_20ms", ms20, || {
        let _ = black_box(ns.process(black_box(&nb), &mut nout));
    });

    // Mix-minus, 8 parties, 20 ms at 8 kHz and at 48 kHz (the figure is for
    // the whole conference: divide by 8 for one party).
    for (rate, len) in [(8u32, 160usize), (48, 960)] {
        let frames: Vec<Vec<i16>> = (0..8).map(|p| signal(rate * 1000 + p, len)).collect();
        let inputs: Vec<&[i16]> = frames.iter().map(|f| f.as_slice()).collect();
        let mut outs = vec![Vec::new(); 8];
        let mut mixer = Mixer::with_frame_len(len);
        case(c, &format!("mix_minus_8_parties_{rate}k_20ms"), ms20, || {
            let _ = black_box(mixer.mix_minus(black_box(&inputs), &mut outs));
        });
    }
}

/// One transcoding direction per 20 ms: a packet in, a tick, the packet out.
/// Virtual time: packet k arrives at k × 20 ms, so the jitter buffer plays
/// steadily.
fn bench_pipeline(c: &mut Criterion) {
    let ms20 = Duration::from_millis(20);
    let pcmu = LegFormat::new(CodecKind::Pcmu, 0, Some(101));
    let opus = LegFormat::new(CodecKind::Opus, 111, Some(96));
    let nb = signal(8000, 160 * 50);
    let wb = signal(48000, 960 * 50);
    let mut enc = match OpusEncoder::new(SampleRate::Hz48000, OpusConfig::default()) {
        Ok(e) => e,
        Err(e) => panic!("opus setup: {e}"),
    };
    let opus_frames: Vec<Vec<u8>> = wb
        .chunks_exact(960)
        .map(|f| {
            let mut p = [0u8; MAX_PACKET];
            match enc.encode(f, &mut p) {
                Ok(n) => p[..n].to_vec(),
                Err(e) => panic!("opus encode: {e}"),
            }
        })
        .collect();
    let pcmu_frames: Vec<Vec<u8>> = nb
        .chunks_exact(160)
        .map(|f| f.iter().map(|&s| g711::ulaw_from_linear(s)).collect())
        .collect();
    let cases = [
        ("pipeline_pcmu_to_opus_20ms", pcmu, opus, &pcmu_frames, false),
        ("pipeline_opus_to_pcmu_20ms", opus, pcmu, &opus_frames, false),
        ("pipeline_pcmu_to_pcmu_denoise_20ms", pcmu, pcmu, &pcmu_frames, true),
    ];
    for (name, from, to, frames, denoise) in cases {
        let mut p = match Pipeline::new(from, to, PipelineOptions { denoise }) {
            Ok(p) => p,
            Err(e) => panic!("pipeline: {e}"),
        };
        let base = Instant::now();
        let step = from.clock_rate / 50;
        let mut k = 0u32;
        let mut pkt = vec![0u8; MAX_OUT_PACKET];
        let mut out = vec![0u8; MAX_OUT_PACKET];
        case(c, name, ms20, || {
            let payload = &frames[k as usize % frames.len()];
            let fields = RtpFields {
                marker: k == 0,
                payload_type: from.pt,
                sequence: k as u16,
                timestamp: k.wrapping_mul(step),
                ssrc: 1,
            };
            let now = base + ms20 * k;
            if let Ok(n) = write_packet(&mut pkt, &fields, payload) {
                p.push(&pkt[..n], now);
            }
            p.tick(now + Duration::from_millis(1));
            while let Some(n) = p.poll_packet(&mut out) {
                black_box(&out[..n]);
            }
            k = k.wrapping_add(1);
        });
    }
}

criterion_group!(benches, bench, bench_pipeline);
criterion_main!(benches);
