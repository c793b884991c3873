//! WebRTC leg costs on the switch's side (issue 12 item 5): DTLS-SRTP
//! handshakes per second (the switch as DTLS server, ECDSA P-256, the
//! browser's side played by the same code as client; both sides' CPU is
//! counted, so the switch's own rate is higher), and an ICE check answered
//! (STUN decode, MESSAGE-INTEGRITY check and signing, FINGERPRINT).
//! Prints the handshakes per second of one core, both sides together and
//! the switch's (server) side alone. Run with
//! `cargo bench --bench webrtc -- --warm-up-time 1 --measurement-time 5`.

use criterion::{criterion_group, criterion_main, Criterion};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use switchboard::webrtc::dtls::{DtlsEvent, DtlsIdentity, DtlsRole, DtlsTransport};
use switchboard::webrtc::ice_lite::{IceCredentials, IceLite};

/// One full handshake between a server and a client transport, in memory;
/// returns the time spent in the server's calls (the switch's share).
fn handshake(server_id: &DtlsIdentity, client_id: &DtlsIdentity) -> Duration {
    let now = Instant::now();
    let mut in_server = Duration::ZERO;
    let t = Instant::now();
    let mut server =
        DtlsTransport::new(server_id, DtlsRole::Server, vec![client_id.fingerprint().clone()]).expect("server");
    server.start(now);
    in_server += t.elapsed();
    let mut client =
        DtlsTransport::new(client_id, DtlsRole::Client, vec![server_id.fingerprint().clone()]).expect("client");
    client.start(now);
    loop {
        let mut moved = false;
        while let Some(d) = client.poll_transmit() {
            let t = Instant::now();
            server.handle_datagram(now, &d);
            in_server += t.elapsed();
            moved = true;
        }
        let t = Instant::now();
        let flights: Vec<_> = std::iter::from_fn(|| server.poll_transmit()).collect();
        in_server += t.elapsed();
        for d in flights {
            client.handle_datagram(now, &d);
            moved = true;
        }
        if !moved {
            break;
        }
    }
    assert!(
        matches!(server.poll_event(), Some(DtlsEvent::Connected(_))),
        "handshake completed"
    );
    in_server
}

fn check_request(pwd: &str) -> Vec<u8> {
    use rtc_stun::attributes::{RawAttribute, ATTR_ICE_CONTROLLING, ATTR_USERNAME, ATTR_USE_CANDIDATE};
    use rtc_stun::fingerprint::FINGERPRINT;
    use rtc_stun::integrity::MessageIntegrity;
    use rtc_stun::message::{Message, TransactionId, BINDING_REQUEST};
    use rtc_stun::textattrs::TextAttribute;
    let crypto = rtc_stun::crypto::providers::RingProvider::new();
    let crypto: &dyn rtc_stun::crypto::RTCCryptoProvider = &crypto;
    let mut m = Message::new();
    m.build(&[
        Box::new(TransactionId::new()),
        Box::new(BINDING_REQUEST),
        Box::new(TextAttribute::new(ATTR_USERNAME, "swuf:brwz".to_owned())),
        Box::new(RawAttribute {
            typ: ATTR_ICE_CONTROLLING,
            length: 8,
            value: vec![1; 8],
        }),
        Box::new(RawAttribute {
            typ: ATTR_USE_CANDIDATE,
            length: 0,
            value: vec![],
        }),
        Box::new(MessageIntegrity::new_short_term_integrity_with_provider(
            pwd.to_owned(),
            crypto.crypto(),
        )),
        Box::new(FINGERPRINT),
    ])
    .expect("check");
    m.raw
}

fn bench(c: &mut Criterion) {
    let server_id = DtlsIdentity::generate().expect("server identity");
    let client_id = DtlsIdentity::generate().expect("client identity");
    c.bench_function("webrtc/dtls_handshake_both_sides", |b| {
        b.iter(|| handshake(&server_id, &client_id))
    });

    let mut ice = IceLite::new(
        IceCredentials {
            ufrag: "swuf".into(),
            pwd: "switchpasswordswitchpwd".into(),
        },
        Some("brwz".into()),
    );
    let req = check_request("switchpasswordswitchpwd");
    let from: SocketAddr = "192.0.2.9:5000".parse().expect("address");
    let now = Instant::now();
    c.bench_function("webrtc/ice_check_answered", |b| {
        b.iter(|| {
            ice.handle_stun(now, from, std::hint::black_box(&req))
                .reply
                .expect("answered")
        })
    });

    // The figures, stated: handshakes per second on one core, both sides
    // and the switch's (server) side alone.
    let n = 300;
    let t = Instant::now();
    let mut server = Duration::ZERO;
    for _ in 0..n {
        server += handshake(&server_id, &client_id);
    }
    let both = t.elapsed() / n;
    let server = server / n;
    println!(
        "webrtc: DTLS-SRTP handshake {:.2} ms both sides ({:.0}/s per core); the switch's side {:.2} ms = {:.0} handshakes/s per core",
        both.as_secs_f64() * 1e3,
        1.0 / both.as_secs_f64(),
        server.as_secs_f64() * 1e3,
        1.0 / server.as_secs_f64()
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
