//! Conference mixer cost (`media::mixer`, issue 9 "Benchmarks: mixer cost
//! per party"): one bridge tick of 8 talking parties — every party's packet
//! pushed into its jitter buffer, decoded, mixed (mix-minus, limiter),
//! encoded and packetised, every listener's packet polled — for 8 × G.711
//! (8 kHz mix), 6 G.711 + 2 Opus and 8 Opus (16 kHz mix). Besides
//! criterion's statistics each case prints the cost per party per 20 ms
//! frame and the share of one core a party takes. Time is virtual (tick k
//! at base + k·20 ms). Run with `cargo bench --bench mixer`.

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use std::time::{Duration, Instant};
use switchboard::dsp::opus::{OpusConfig, OpusEncoder, MAX_PACKET};
use switchboard::dsp::tone::ToneGenerator;
use switchboard::dsp::{g711, SampleRate};
use switchboard::media::mixer::{Bridge, BridgeConfig, PartyId, Silence, StreamState};
use switchboard::media::pipeline::{LegFormat, MAX_OUT_PACKET};
use switchboard::rtp::packet::{write_packet, RtpFields};
use switchboard::sdp::CodecKind;

const FRAME: Duration = Duration::from_millis(20);
/// Distinct frames each party cycles through (1 s of its signal).
const FRAMES: usize = 50;

/// A party's signal: a tone of its own plus a second, low, one (speech-ish
/// spectrum), `FRAMES` frames at `rate`.
fn signal(party: usize, rate: u32) -> Vec<i16> {
    let f = 220.0 + 170.0 * party as f64;
    ToneGenerator::dual(f, f * 2.7, -18.0, rate).take(rate as usize / 50 * FRAMES)
}

/// One party: its id, its pre-encoded payloads and its RTP state.
struct Sender {
    id: PartyId,
    format: LegFormat,
    payloads: Vec<Vec<u8>>,
    seq: u16,
    ts: u32,
}

fn sender(bridge: &mut Bridge, party: usize, codec: CodecKind) -> Sender {
    let format = match codec {
        CodecKind::Opus => LegFormat::new(CodecKind::Opus, 111, Some(96)),
        _ => LegFormat::new(CodecKind::Pcmu, 0, Some(101)),
    };
    let payloads: Vec<Vec<u8>> = match codec {
        CodecKind::Opus => {
            let pcm = signal(party, 48_000);
            let mut enc = OpusEncoder::new(SampleRate::Hz48000, OpusConfig::default()).expect("opus encoder");
            pcm.chunks_exact(960)
                .map(|f| {
                    let mut out = vec![0u8; MAX_PACKET];
                    let n = enc.encode(f, &mut out).expect("opus encode");
                    out.truncate(n);
                    out
                })
                .collect()
        }
        _ => signal(party, 8000)
            .chunks_exact(160)
            .map(|f| {
                let mut out = vec![0u8; 160];
                g711::encode_ulaw(f, &mut out).expect("g711 encode");
                out
            })
            .collect(),
    };
    let stream = StreamState {
        ssrc: 0x5000 + party as u32,
        sequence: 0,
        timestamp: 0,
    };
    let id = bridge.add_party(format, stream).expect("a place on the bridge");
    Sender {
        id,
        format,
        payloads,
        seq: 0,
        ts: 0,
    }
}

/// A bridge of the given parties and its virtual clock.
struct Case {
    bridge: Bridge,
    senders: Vec<Sender>,
    base: Instant,
    k: u32,
    pkt: Vec<u8>,
    out: Vec<u8>,
}

impl Case {
    fn new(codecs: &[CodecKind]) -> Case {
        let mut bridge = Bridge::new(BridgeConfig::default(), Box::new(Silence));
        let senders = codecs
            .iter()
            .enumerate()
            .map(|(i, &c)| sender(&mut bridge, i, c))
            .collect();
        let mut case = Case {
            bridge,
            senders,
            base: Instant::now(),
            k: 0,
            pkt: vec![0u8; 12 + MAX_PACKET],
            out: vec![0u8; MAX_OUT_PACKET],
        };
        // Past the jitter buffer's priming: every party is playing.
        for _ in 0..20 {
            case.tick();
        }
        case
    }

    /// One 20 ms frame: every party's packet in, one tick, every packet out.
    fn tick(&mut self) {
        let now = self.base + FRAME * self.k;
        for s in &mut self.senders {
            let payload = &s.payloads[self.k as usize % s.payloads.len()];
            let fields = RtpFields {
                marker: false,
                payload_type: s.format.pt,
                sequence: s.seq,
                timestamp: s.ts,
                ssrc: 0x7000 + s.id.0,
            };
            s.seq = s.seq.wrapping_add(1);
            s.ts = s.ts.wrapping_add(s.format.clock_rate / 50);
            if let Ok(n) = write_packet(&mut self.pkt, &fields, payload) {
                let _ = self.bridge.push(s.id, &self.pkt[..n], now);
            }
        }
        self.bridge.tick(now);
        for s in &self.senders {
            while let Some(n) = self.bridge.poll_packet(s.id, &mut self.out) {
                black_box(&self.out[..n]);
            }
        }
        self.k = self.k.wrapping_add(1);
    }
}

fn bench(c: &mut Criterion) {
    use CodecKind::{Opus, Pcmu};
    let cases: [(&str, Vec<CodecKind>); 3] = [
        ("8 G.711", vec![Pcmu; 8]),
        ("6 G.711 + 2 Opus", [vec![Pcmu; 6], vec![Opus; 2]].concat()),
        ("8 Opus", vec![Opus; 8]),
    ];
    let mut report = Vec::new();
    for (name, codecs) in cases {
        let mut case = Case::new(&codecs);
        let rate = case.bridge.mix_rate().hz();
        c.bench_function(&format!("mixer tick, {name}"), |b| b.iter(|| case.tick()));
        // Plain timing for the printed figure.
        let mut n = 0u32;
        let t = Instant::now();
        while t.elapsed() < Duration::from_millis(500) {
            for _ in 0..50 {
                case.tick();
            }
            n += 50;
        }
        let per_tick = t.elapsed().as_secs_f64() / f64::from(n);
        let per_party = per_tick / codecs.len() as f64;
        report.push(format!(
            "REPORT mixer {name} (mix at {} kHz): {:.2} µs per party per 20 ms frame ({:.1} µs per bridge tick) = {:.4} % of one core per party",
            rate / 1000,
            per_party * 1e6,
            per_tick * 1e6,
            100.0 * per_party / FRAME.as_secs_f64()
        ));
    }
    for line in report {
        println!("{line}");
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(30);
    targets = bench
}
criterion_main!(benches);
