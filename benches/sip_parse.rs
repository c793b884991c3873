//! Message-layer cost per message (RFC 3261 §7): parse a datagram, validate
//! its envelope (§8.1.1) and print it back, for a typical INVITE with SDP
//! (15 headers) and a 200 OK. Run with
//! `cargo bench --bench sip_parse -- --warm-up-time 1 --measurement-time 3`.

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;
use std::time::Instant;
use switchboard::sip::msg::{parse_datagram, Limits, Message};

const INVITE: &[u8] = b"INVITE sip:+15551234567@pbx.example.com;user=phone SIP/2.0\r\n\
Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds;rport\r\n\
Via: SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bK4b43c2ff8.1;received=198.51.100.7\r\n\
Max-Forwards: 69\r\n\
To: <sip:+15551234567@pbx.example.com;user=phone>\r\n\
From: \"Alice Agent\" <sip:1001@pbx.example.com>;tag=1928301774\r\n\
Call-ID: a84b4c76e66710@192.0.2.10\r\n\
CSeq: 314159 INVITE\r\n\
Contact: <sip:1001@192.0.2.10:5060;transport=udp>;+sip.instance=\"<urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF>\"\r\n\
Record-Route: <sip:198.51.100.7;lr>\r\n\
Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, REFER, NOTIFY, UPDATE, PRACK\r\n\
Supported: replaces, timer, 100rel\r\n\
Session-Expires: 1800;refresher=uac\r\n\
User-Agent: Switchboard-Bench/1.0\r\n\
Content-Type: application/sdp\r\n\
Content-Length: 238\r\n\
\r\n\
v=0\r\n\
o=alice 2890844526 2890844526 IN IP4 192.0.2.10\r\n\
s=-\r\n\
c=IN IP4 192.0.2.10\r\n\
t=0 0\r\n\
m=audio 49170 RTP/AVP 0 8 101\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:8 PCMA/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=fmtp:101 0-16\r\n\
a=sendrecv\r\n\
a=ptime:20\r\n";

const OK_200: &[u8] = b"SIP/2.0 200 OK\r\n\
Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds;rport=5060;received=192.0.2.10\r\n\
To: <sip:+15551234567@pbx.example.com;user=phone>;tag=a6c85cf\r\n\
From: \"Alice Agent\" <sip:1001@pbx.example.com>;tag=1928301774\r\n\
Call-ID: a84b4c76e66710@192.0.2.10\r\n\
CSeq: 314159 INVITE\r\n\
Contact: <sip:pbx@203.0.113.5:5060>\r\n\
Content-Length: 0\r\n\
\r\n";

/// One round: parse, envelope, serialise.
fn round(raw: &Bytes, limits: &Limits) -> Bytes {
    let m: Message = match parse_datagram(raw.clone(), limits) {
        Ok(m) => m,
        Err(e) => panic!("bench input does not parse: {e:?}"),
    };
    if let Err(e) = m.envelope() {
        panic!("bench input has a bad envelope: {e:?}");
    }
    m.to_bytes()
}

fn bench(c: &mut Criterion) {
    let limits = Limits::default();
    let mut group = c.benchmark_group("sip_parse");
    for (name, raw) in [("invite_sdp", INVITE), ("ok_200", OK_200)] {
        let raw = Bytes::from_static(raw);
        assert_eq!(
            round(&raw, &limits).len(),
            raw.len(),
            "{name}: prints back to the same size"
        );
        group.throughput(Throughput::Elements(1));
        group.bench_function(name, |b| b.iter(|| round(black_box(&raw), &limits)));
        // A plain figure for the report, beside criterion's statistics.
        let n = 100_000u32;
        let t = Instant::now();
        for _ in 0..n {
            black_box(round(black_box(&raw), &limits));
        }
        println!(
            "{name}: {:.0} ns per message (parse + envelope + serialise)",
            t.elapsed().as_nanos() as f64 / f64::from(n)
        );
        // Framing alone (start line, headers, body; no typed header), the
        // figure the issue compares with other parsers.
        group.bench_function(format!("{name}_frame_only"), |b| {
            b.iter(|| parse_datagram(black_box(raw.clone()), &limits).is_ok())
        });
        let t = Instant::now();
        for _ in 0..n {
            black_box(parse_datagram(black_box(raw.clone()), &limits).is_ok());
        }
        println!(
            "{name}: {:.0} ns per message (framing only)",
            t.elapsed().as_nanos() as f64 / f64::from(n)
        );
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
