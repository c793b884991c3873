//! SDP cost per call leg (RFC 8866 §5, RFC 3264 §6): parse a typical SIP
//! offer (baresip: Opus, PCMU, PCMA, telephone-event, unknown attributes),
//! answer it for a leg and print the answer; also each step alone and our own
//! offer. Run with
//! `cargo bench --bench sdp -- --warm-up-time 1 --measurement-time 3`.

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use std::net::SocketAddr;
use std::time::Instant;
use switchboard::sdp::{answer, offer, parse, Direction, LegPolicy, SessionState};

const OFFER: &[u8] = b"v=0\r\n\
o=- 1718306373 2057962519 IN IP4 192.168.1.20\r\n\
s=-\r\n\
c=IN IP4 192.168.1.20\r\n\
t=0 0\r\n\
a=tool:baresip 3.10.1\r\n\
m=audio 10318 RTP/AVP 96 0 8 101\r\n\
b=AS:96\r\n\
a=rtpmap:96 opus/48000/2\r\n\
a=fmtp:96 stereo=1;sprop-stereo=1\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:8 PCMA/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=fmtp:101 0-15\r\n\
a=sendrecv\r\n\
a=label:1\r\n\
a=ssrc:1938432712 cname:3e54c7d1-9a58-4e3e-a7f8-2a5a1f1f5c9b\r\n\
a=rtcp-rsize\r\n\
a=ptime:20\r\n";

fn bench(c: &mut Criterion) {
    let policy = LegPolicy::default();
    let local: SocketAddr = "192.0.2.1:20000".parse().expect("address");
    let parsed = parse(OFFER).expect("offer parses");

    c.bench_function("sdp/parse", |b| b.iter(|| parse(black_box(OFFER))));
    c.bench_function("sdp/answer", |b| {
        b.iter(|| {
            let mut st = SessionState::new(42);
            answer(black_box(&parsed), &policy, local, &mut st)
        })
    });
    c.bench_function("sdp/print", |b| b.iter(|| black_box(&parsed).print()));
    c.bench_function("sdp/parse+answer+print", |b| {
        b.iter(|| {
            let sdp = parse(black_box(OFFER)).expect("parses");
            let mut st = SessionState::new(42);
            answer(&sdp, &policy, local, &mut st).expect("answerable").sdp.print()
        })
    });
    c.bench_function("sdp/offer+print", |b| {
        b.iter(|| {
            let mut st = SessionState::new(42);
            offer(&policy, local, Direction::SendRecv, &mut st).print()
        })
    });

    // One plain figure per operation, for the README.
    let n = 100_000u32;
    let t = Instant::now();
    for _ in 0..n {
        let sdp = parse(black_box(OFFER)).expect("parses");
        let mut st = SessionState::new(42);
        black_box(answer(&sdp, &policy, local, &mut st).expect("answerable").sdp.print());
    }
    println!(
        "sdp parse+answer+print: {:.0} ns per offer",
        t.elapsed().as_nanos() as f64 / f64::from(n)
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
