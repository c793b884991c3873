//! Added mouth-to-ear latency through the conference bridge (issue 9
//! "Benchmarks": "measured with a click ... at most one 20 ms frame beyond
//! the jitter buffer"), in virtual time on the sans-IO bridge.
//!
//! A G.711 talker sends silence with one click (a full-scale sample at the
//! start of one packet), its packets arriving every 20 ms on time (no
//! network jitter); the bridge ticks every 20 ms; the listener's packets
//! are decoded and the click found. The latency the bridge adds is the
//! click's place in the listener's stream (the tick that sent the packet,
//! plus the sample offset) minus the time the click's packet arrived,
//! compared with a relay that forwards the packet as it arrives (0 added).
//! It is measured for every arrival phase against the bridge's tick, 1 ms
//! apart, and the worst is reported, with the jitter buffer's delay and
//! what is left beyond it. Run with `cargo bench --bench bridge_latency`.

use std::time::{Duration, Instant};
use switchboard::dsp::g711;
use switchboard::media::mixer::{Bridge, BridgeConfig, Silence, StreamState};
use switchboard::media::pipeline::{LegFormat, MAX_OUT_PACKET};
use switchboard::rtp::packet::{write_packet, RtpFields};
use switchboard::rtp::RtpHeader;
use switchboard::sdp::CodecKind;

const FRAME: Duration = Duration::from_millis(20);
/// Packets before the click: the jitter buffer settles first.
const WARM_UP: u32 = 50;

fn packet(seq: u16, click: bool) -> Vec<u8> {
    let mut pcm = [0i16; 160];
    if click {
        pcm[0] = 30_000;
    }
    let mut payload = [0u8; 160];
    let _ = g711::encode_ulaw(&pcm, &mut payload);
    let mut out = vec![0u8; 12 + 160];
    let fields = RtpFields {
        marker: seq == 0,
        payload_type: 0,
        sequence: seq,
        timestamp: u32::from(seq) * 160,
        ssrc: 0x5151,
    };
    let n = write_packet(&mut out, &fields, &payload).expect("fits");
    out.truncate(n);
    out
}

/// The added latency and the talker's jitter-buffer delay, for packets
/// arriving `phase` after each bridge tick.
fn measure(phase: Duration) -> (Duration, Duration) {
    let fmt = LegFormat::new(CodecKind::Pcmu, 0, Some(101));
    let mut bridge = Bridge::new(BridgeConfig::default(), Box::new(Silence));
    let stream = |s| StreamState {
        ssrc: s,
        sequence: 0,
        timestamp: 0,
    };
    let talker = bridge.add_party(fmt, stream(1)).expect("talker");
    let listener = bridge.add_party(fmt, stream(2)).expect("listener");
    let base = Instant::now();
    let mut arrived = None;
    let mut buf = [0u8; MAX_OUT_PACKET];
    for n in 0..WARM_UP + 40 {
        let tick = base + FRAME * n;
        if n < WARM_UP + 20 {
            let at = tick + phase;
            let click = n == WARM_UP;
            if click {
                arrived = Some(at);
            }
            let _ = bridge.push(talker, &packet(n as u16, click), at);
        }
        // The tick after this packet's arrival.
        let next = tick + FRAME;
        bridge.tick(next);
        while let Some(len) = bridge.poll_packet(listener, &mut buf) {
            let Ok(h) = RtpHeader::parse(&buf[..len]) else { continue };
            let payload = &buf[h.payload_offset..len];
            let mut pcm = [0i16; 160];
            let _ = g711::decode_ulaw(payload, &mut pcm);
            if let (Some(i), Some(at)) = (pcm.iter().position(|s| s.unsigned_abs() > 8_000), arrived) {
                let played = next + Duration::from_micros(i as u64 * 125);
                let jitter = bridge.jitter_delay(talker).unwrap_or_default();
                return (played.saturating_duration_since(at), jitter);
            }
        }
    }
    panic!("the click never came through the bridge");
}

fn main() {
    let mut worst = (Duration::ZERO, Duration::ZERO);
    for ms in 0..20 {
        let (added, jitter) = measure(Duration::from_millis(ms) + Duration::from_micros(500));
        if added > worst.0 {
            worst = (added, jitter);
        }
    }
    let beyond = worst.0.saturating_sub(worst.1);
    println!(
        "click through the bridge: {:.1} ms added at worst (jitter buffer {:.1} ms, {:.1} ms beyond it; target <= 20 ms beyond)",
        worst.0.as_secs_f64() * 1e3,
        worst.1.as_secs_f64() * 1e3,
        beyond.as_secs_f64() * 1e3
    );
}
