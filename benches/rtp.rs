//! RTP core benchmarks: the relay fast path (header view + rewrite of a
//! 172-byte G.711 packet; and the whole per-packet relay work of a media
//! session, as the session core does it and as the same steps composed
//! inline; and with one leg SRTP, issue 11 item 2: the decryption of what
//! an SRTP leg sends, the encryption of what it is sent), RTCP SR
//! build+parse, and jitter buffer insert+pull per 20 ms frame. Criterion
//! measures; afterwards a plain timed
//! loop prints ns per op and the implied operations per second per core.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, Criterion};
use std::net::SocketAddr;
use std::sync::Arc;
use switchboard::call::media::{LegAudio, MediaLeg, RelayLeg};
use switchboard::media::session::{Peer, SessionCommand, SessionConfig, SessionCore};
use switchboard::media::HoldMusic;
use switchboard::rtp::jitter::{JitterBuffer, JitterConfig, Pull, TargetDelay};
use switchboard::rtp::latch::{Latch, Verdict};
use switchboard::rtp::packet::{write_packet, RtpFields, RtpHeader};
use switchboard::rtp::rewrite::{PayloadTypeMap, RewriterConfig, StreamRewriter};
use switchboard::rtp::rtcp::{build_sender_report, parse_reports, ReceiverStats, SenderInfo};
use switchboard::rtp::srtp::{MasterKey, SrtpKeys, SrtpStream, SrtpSuite};
use switchboard::sdp::CodecKind;

fn g711_packet(seq: u16, ts: u32, ssrc: u32) -> [u8; 172] {
    let mut buf = [0u8; 172];
    let fields = RtpFields {
        marker: false,
        payload_type: 0,
        sequence: seq,
        timestamp: ts,
        ssrc,
    };
    write_packet(&mut buf, &fields, &[0xd5; 160]).expect("172 bytes fit");
    buf
}

fn rewriter() -> StreamRewriter {
    let mut pts = PayloadTypeMap::new();
    pts.insert(0, 0).insert(101, 96);
    StreamRewriter::new(RewriterConfig {
        ssrc: 0x5357_4254,
        initial_sequence: 1,
        initial_timestamp: 1,
        clock_rate: 8000,
        packet_samples: 160,
        payload_types: pts,
    })
}

/// One relayed packet: the incoming header fields change per packet as they would.
struct Relay {
    rw: StreamRewriter,
    buf: [u8; 172],
    seq: u16,
    ts: u32,
    now: Instant,
}

impl Relay {
    fn new() -> Self {
        Relay {
            rw: rewriter(),
            buf: g711_packet(0, 0, 0x1111),
            seq: 0,
            ts: 0,
            now: Instant::now(),
        }
    }

    #[inline]
    fn step(&mut self) -> u16 {
        self.seq = self.seq.wrapping_add(1);
        self.ts = self.ts.wrapping_add(160);
        // Restore the incoming header (as a fresh packet from the socket would have).
        self.buf[2..4].copy_from_slice(&self.seq.to_be_bytes());
        self.buf[4..8].copy_from_slice(&self.ts.to_be_bytes());
        self.buf[8..12].copy_from_slice(&0x1111u32.to_be_bytes());
        let h = RtpHeader::parse(black_box(&self.buf))
            .map(|h| h.payload_len())
            .unwrap_or(0);
        let r = self.rw.rewrite(black_box(&mut self.buf), self.now);
        black_box(h);
        r.map(|r| r.sequence).unwrap_or(0)
    }
}

/// The old session's per-packet work on the relay path, composed inline
/// (latch + RTP header + reception statistics + rewrite + the other leg's
/// destination): the baseline the session core's relay is compared with.
struct InlineRelay {
    latch: Latch,
    /// The other leg's latch (where the packet goes).
    to: Latch,
    stats: ReceiverStats,
    relay: Relay,
    src: SocketAddr,
}

impl InlineRelay {
    fn new() -> Self {
        let relay = Relay::new();
        let src: SocketAddr = "203.0.113.10:4000".parse().expect("address");
        InlineRelay {
            latch: Latch::new(Some(src), relay.now),
            to: Latch::new(Some("198.51.100.20:5000".parse().expect("address")), relay.now),
            stats: ReceiverStats::new(0x1111, 8000),
            relay,
            src,
        }
    }

    #[inline]
    fn step(&mut self) -> usize {
        if self.latch.on_packet(self.src, self.relay.now) == Verdict::Drop {
            return 0;
        }
        let r = &mut self.relay;
        r.seq = r.seq.wrapping_add(1);
        r.ts = r.ts.wrapping_add(160);
        r.buf[2..4].copy_from_slice(&r.seq.to_be_bytes());
        r.buf[4..8].copy_from_slice(&r.ts.to_be_bytes());
        r.buf[8..12].copy_from_slice(&0x1111u32.to_be_bytes());
        if let Ok(h) = RtpHeader::parse(black_box(&r.buf)) {
            self.stats.on_packet(h.sequence, h.timestamp, r.now);
        }
        match (r.rw.rewrite(black_box(&mut r.buf), r.now), self.to.target()) {
            (Ok(_), Some(dest)) => black_box(dest).port() as usize + r.buf.len(),
            _ => 0,
        }
    }
}

/// The session core's relay path: `handle_rtp` (latch, statistics, rewrite
/// into the other leg's stream, queue) and `poll_transmit`.
struct CoreRelay {
    core: SessionCore,
    buf: [u8; 172],
    seq: u16,
    ts: u32,
    now: Instant,
    src: SocketAddr,
    /// The caller's phone's SRTP, when leg A is SRTP.
    phone: Option<SrtpStream>,
}

/// The keys of an SRTP leg A: the switch's view, and the phone's.
fn srtp_keys() -> (SrtpKeys, SrtpKeys) {
    let switch = SrtpKeys {
        suite: SrtpSuite::AesCm128HmacSha1_80,
        local: MasterKey::new([1; 30]),
        remote: MasterKey::new([2; 30]),
    };
    let phone = switch.peer_view();
    (switch, phone)
}

impl CoreRelay {
    fn new() -> Self {
        Self::with_srtp(false)
    }

    /// With `srtp`, leg A (the caller) is SRTP (AES_CM_128_HMAC_SHA1_80), leg B plain.
    fn with_srtp(srtp: bool) -> Self {
        let now = Instant::now();
        let mut core = SessionCore::new(
            now,
            SessionConfig {
                call: 1,
                seed: 1,
                unix_time: Duration::from_secs(1_704_067_200),
                music: Arc::new(HoldMusic::embedded()),
                dtls: None,
            },
        );
        let audio = LegAudio {
            codec: CodecKind::Pcmu,
            clock_rate: 8000,
            recv_pt: 0,
            send_pt: 0,
            event_recv_pt: Some(101),
            event_send_pt: Some(101),
            event_clock_rate: Some(8000),
        };
        let leg = |local: &str, remote: &str| {
            Box::new(RelayLeg {
                local: local.parse().expect("address"),
                remote: Some(remote.parse().expect("address")),
                remote_rtcp: None,
                audio,
                pt_map: vec![(0, 0), (101, 101)],
                denoise: false,
                srtp: None,
                webrtc: None,
            })
        };
        let (switch_keys, phone_keys) = srtp_keys();
        let mut a = leg("10.0.0.1:30000", "203.0.113.10:4000");
        if srtp {
            a.srtp = Some(switch_keys);
        }
        core.handle_command(
            now,
            SessionCommand::Plan {
                a,
                b: leg("10.0.0.1:30002", "198.51.100.20:5000"),
            },
        );
        CoreRelay {
            core,
            buf: g711_packet(0, 0, 0x1111),
            seq: 0,
            ts: 0,
            now,
            src: "203.0.113.10:4000".parse().expect("address"),
            phone: srtp.then(|| SrtpStream::new(&phone_keys).expect("keys")),
        }
    }

    /// The caller's next `n` packets as its phone sends them (SRTP when leg A is).
    fn caller_packets(&mut self, n: usize) -> Vec<Vec<u8>> {
        (0..n)
            .map(|_| {
                self.seq = self.seq.wrapping_add(1);
                self.ts = self.ts.wrapping_add(160);
                let plain = g711_packet(self.seq, self.ts, 0x1111);
                match self.phone.as_mut() {
                    Some(p) => p.protect_rtp(&plain).expect("protect").to_vec(),
                    None => plain.to_vec(),
                }
            })
            .collect()
    }

    /// One packet of the caller's through the core (decrypted when SRTP).
    fn relay_from_caller(&mut self, packet: &mut [u8]) -> usize {
        self.core
            .handle_rtp(self.now, Peer::Leg(MediaLeg::A), self.src, black_box(packet));
        let mut n = 0;
        while let Some(t) = self.core.poll_transmit() {
            n += black_box(t.payload).len();
        }
        n
    }

    /// One packet of the callee's (plain) through the core to the caller
    /// (encrypted when leg A is SRTP).
    fn relay_to_caller(&mut self) -> usize {
        self.seq = self.seq.wrapping_add(1);
        self.ts = self.ts.wrapping_add(160);
        let mut pkt = g711_packet(self.seq, self.ts, 0x2222);
        let callee: SocketAddr = "198.51.100.20:5000".parse().expect("address");
        self.core
            .handle_rtp(self.now, Peer::Leg(MediaLeg::B), callee, black_box(&mut pkt));
        let mut n = 0;
        while let Some(t) = self.core.poll_transmit() {
            n += black_box(t.payload).len();
        }
        n
    }

    /// Times `iters` packets from the caller; the phone's encryption is
    /// done beforehand, in batches, outside the timing.
    fn time_from_caller(&mut self, iters: u64) -> Duration {
        let mut total = Duration::ZERO;
        let mut left = iters;
        while left > 0 {
            let n = left.min(4096);
            let mut batch = self.caller_packets(n as usize);
            let start = Instant::now();
            for p in batch.iter_mut() {
                black_box(self.relay_from_caller(p));
            }
            total += start.elapsed();
            left -= n;
        }
        total
    }

    #[inline]
    fn step(&mut self) -> usize {
        self.seq = self.seq.wrapping_add(1);
        self.ts = self.ts.wrapping_add(160);
        self.buf[2..4].copy_from_slice(&self.seq.to_be_bytes());
        self.buf[4..8].copy_from_slice(&self.ts.to_be_bytes());
        self.buf[8..12].copy_from_slice(&0x1111u32.to_be_bytes());
        self.core
            .handle_rtp(self.now, Peer::Leg(MediaLeg::A), self.src, black_box(&mut self.buf));
        let mut n = 0;
        while let Some(t) = self.core.poll_transmit() {
            n += black_box(t.payload).len();
        }
        n
    }
}

fn sr_round_trip(stats: &mut ReceiverStats, now: Instant) -> usize {
    let info = SenderInfo {
        ssrc: 0x5357_4254,
        ntp_time: 0xe8a1_0000_8000_0000,
        rtp_time: 123_456,
        packet_count: 5000,
        octet_count: 800_000,
    };
    let block = stats.report(now);
    let bytes = build_sender_report(&info, std::slice::from_ref(&block)).expect("SR builds");
    parse_reports(black_box(&bytes)).map(|r| r.len()).unwrap_or(0)
}

struct Jitter {
    jb: JitterBuffer,
    k: u32,
    t0: Instant,
    payload: [u8; 160],
}

impl Jitter {
    fn new() -> Self {
        Jitter {
            jb: JitterBuffer::new(JitterConfig {
                target: TargetDelay::Fixed(Duration::from_millis(60)),
                ..JitterConfig::g711()
            }),
            k: 0,
            t0: Instant::now(),
            payload: [0x55; 160],
        }
    }

    #[inline]
    fn step(&mut self) -> usize {
        let at = self.t0 + Duration::from_millis(20 * self.k as u64);
        self.jb
            .insert(self.k as u16, self.k.wrapping_mul(160), at, &self.payload);
        self.k = self.k.wrapping_add(1);
        match self.jb.pull(at + Duration::from_millis(65)) {
            Pull::Frame { payload, .. } => payload.len(),
            Pull::Missing { .. } => 1,
            Pull::Empty => 0,
        }
    }
}

fn benches(c: &mut Criterion) {
    let mut relay = Relay::new();
    c.bench_function("relay: header view + rewrite (172-byte G.711)", |b| {
        b.iter(|| relay.step())
    });

    let mut inline = InlineRelay::new();
    c.bench_function(
        "relay: session work inline (latch + stats + rewrite + destination)",
        |b| b.iter(|| inline.step()),
    );
    let mut core = CoreRelay::new();
    c.bench_function("relay: SessionCore handle_rtp + poll_transmit", |b| {
        b.iter(|| core.step())
    });
    let mut secure = CoreRelay::with_srtp(true);
    c.bench_function("relay: SessionCore, SRTP leg in (decrypt) -> plain leg", |b| {
        b.iter_custom(|iters| secure.time_from_caller(iters))
    });
    let mut secure = CoreRelay::with_srtp(true);
    c.bench_function("relay: SessionCore, plain leg in -> SRTP leg (encrypt)", |b| {
        b.iter(|| secure.relay_to_caller())
    });

    let now = Instant::now();
    let mut stats = ReceiverStats::new(0x1111, 8000);
    for i in 0..100u16 {
        stats.on_packet(i, i as u32 * 160, now);
    }
    c.bench_function("rtcp: SR build + parse (1 report block)", |b| {
        b.iter(|| sr_round_trip(&mut stats, now))
    });

    let mut jitter = Jitter::new();
    c.bench_function("jitter: insert + pull per 20 ms frame", |b| b.iter(|| jitter.step()));
}

criterion_group!(group, benches);

/// Times `n` calls of `f` and prints ns/op and ops/s per core.
fn report(name: &str, n: u32, mut f: impl FnMut() -> usize) {
    let mut sink = 0usize;
    for _ in 0..n / 10 {
        sink = sink.wrapping_add(f());
    }
    let start = Instant::now();
    for _ in 0..n {
        sink = sink.wrapping_add(f());
    }
    let ns = start.elapsed().as_nanos() as f64 / n as f64;
    black_box(sink);
    print_rate(name, ns);
}

/// Prints `ns` per op and the implied operations per second per core.
fn print_rate(name: &str, ns: f64) {
    println!("{name:<44} {ns:>8.1} ns/op  {:>12.0} ops/s per core", 1e9 / ns);
}

fn main() {
    group();
    Criterion::default().configure_from_args().final_summary();

    println!("\nsummary (plain timed loop):");
    let mut relay = Relay::new();
    report("relay header view + rewrite (packets)", 5_000_000, || {
        relay.step() as usize
    });
    let mut inline = InlineRelay::new();
    report("relay session work inline (packets)", 5_000_000, || inline.step());
    let mut core = CoreRelay::new();
    report("relay SessionCore rtp in + transmit (packets)", 5_000_000, || {
        core.step()
    });
    for (srtp, name) in [
        (false, "relay plain leg -> plain leg (packets)"),
        (true, "relay SRTP leg -> plain leg (packets)"),
    ] {
        let ns = CoreRelay::with_srtp(srtp).time_from_caller(2_000_000).as_nanos() as f64 / 2e6;
        print_rate(name, ns);
    }
    let mut secure = CoreRelay::with_srtp(true);
    report("relay plain leg -> SRTP leg (packets)", 2_000_000, || {
        secure.relay_to_caller()
    });
    let now = Instant::now();
    let mut stats = ReceiverStats::new(0x1111, 8000);
    stats.on_packet(1, 160, now);
    report("RTCP SR build + parse", 200_000, || sr_round_trip(&mut stats, now));
    let mut jitter = Jitter::new();
    report("jitter insert + pull (frames)", 2_000_000, || jitter.step());
    println!("a relayed G.711 call is 2 x 50 packets/s; see README for the per-call CPU target (< 0.1% of a core)");
}
