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
use std::sync::Arc;
use std::time::{Duration, Instant};
use switchboard::call::media::{LegAudio, MediaLeg, RelayLeg, WebrtcPlan};
use switchboard::media::session::{Peer, SessionCommand, SessionConfig, SessionCore};
use switchboard::media::HoldMusic;
use switchboard::rtp::srtp::SrtpStream;
use switchboard::sdp::CodecKind;
use switchboard::webrtc::check::ConnectivityCheck;
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

/// A session core with two keyed WebRTC legs (browser to browser, the
/// same codec: the relay path) and the two browsers' SRTP streams.
struct WebrtcRelay {
    core: SessionCore,
    now: Instant,
    browsers: [(SocketAddr, SrtpStream); 2],
    seq: u16,
}

impl WebrtcRelay {
    fn new(switch_id: &Arc<DtlsIdentity>, browser_id: &DtlsIdentity) -> WebrtcRelay {
        let now = Instant::now();
        let mut core = SessionCore::new(
            now,
            SessionConfig {
                call: 1,
                seed: 1,
                unix_time: std::time::Duration::from_secs(1_704_067_200),
                music: Arc::new(HoldMusic::embedded()),
                dtls: Some(switch_id.clone()),
            },
        );
        let audio = LegAudio {
            codec: CodecKind::Opus,
            clock_rate: 48_000,
            recv_pt: 111,
            send_pt: 111,
            event_recv_pt: None,
            event_send_pt: None,
            event_clock_rate: None,
        };
        let leg = |port: u16, ssrc: u32| {
            Box::new(RelayLeg {
                local: format!("10.0.0.1:{port}").parse().expect("address"),
                remote: None,
                remote_rtcp: None,
                audio,
                pt_map: vec![(111, 111)],
                denoise: false,
                srtp: None,
                webrtc: Some(Box::new(WebrtcPlan {
                    local_ufrag: "swuf".into(),
                    local_pwd: "switchpasswordswitchpwd".into(),
                    remote_ufrag: "brwz".into(),
                    remote_fingerprints: vec![browser_id.fingerprint().to_string()],
                    dtls_server: true,
                    ssrc,
                })),
            })
        };
        core.handle_command(
            now,
            SessionCommand::Plan {
                a: leg(30000, 1),
                b: leg(30002, 2),
            },
        );
        let addrs: [SocketAddr; 2] = [
            "192.0.2.10:5000".parse().expect("a"),
            "192.0.2.20:5000".parse().expect("b"),
        ];
        let mut keys = Vec::new();
        for (i, peer) in [Peer::Leg(MediaLeg::A), Peer::Leg(MediaLeg::B)].into_iter().enumerate() {
            let mut check = check_request("switchpasswordswitchpwd");
            core.handle_rtp(now, peer, addrs[i], &mut check);
            while core.poll_transmit().is_some() {}
            let mut dtls = DtlsTransport::new(browser_id, DtlsRole::Client, vec![switch_id.fingerprint().clone()])
                .expect("browser DTLS");
            dtls.start(now);
            let stream = loop {
                while let Some(d) = dtls.poll_transmit() {
                    core.handle_rtp(now, peer, addrs[i], &mut d.to_vec());
                }
                let mut flights = Vec::new();
                while let Some(t) = core.poll_transmit() {
                    flights.push(t.payload.to_vec());
                }
                for f in flights {
                    dtls.handle_datagram(now, &f);
                }
                if let Some(DtlsEvent::Connected(k)) = dtls.poll_event() {
                    break SrtpStream::new(&k).expect("keys");
                }
            };
            keys.push((addrs[i], stream));
        }
        let b = keys.pop().expect("b");
        let a = keys.pop().expect("a");
        WebrtcRelay {
            core,
            now,
            browsers: [a, b],
            seq: 0,
        }
    }

    /// Browser A's next packet (an 80-byte Opus frame), SRTP-protected.
    fn packet(&mut self) -> Vec<u8> {
        self.seq = self.seq.wrapping_add(1);
        let mut p = vec![0x80, 111, 0, 0, 0, 0, 0, 0, 0xAA, 0xAA, 0xAA, 0xAA];
        p[2..4].copy_from_slice(&self.seq.to_be_bytes());
        p[4..8].copy_from_slice(&(u32::from(self.seq) * 960).to_be_bytes());
        p.extend_from_slice(&[0x5a; 80]);
        self.browsers[0].1.protect_rtp(&p).expect("protect").to_vec()
    }

    /// One packet from browser A through the core to browser B.
    fn relay(&mut self, packet: &mut [u8]) -> usize {
        self.core.handle_rtp(
            self.now,
            Peer::Leg(MediaLeg::A),
            self.browsers[0].0,
            std::hint::black_box(packet),
        );
        let mut n = 0;
        while let Some(t) = self.core.poll_transmit() {
            n += std::hint::black_box(t.payload).len();
        }
        n
    }
}

fn check_request(pwd: &str) -> Vec<u8> {
    ConnectivityCheck {
        username: Some("swuf:brwz"),
        password: Some(pwd),
        nominate: true,
        tie_breaker: 0x0101_0101_0101_0101,
    }
    .encode()
    .expect("check")
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

    // Browser to browser: SRTP in (demux, checked source, decrypt), relay,
    // SRTP out (encrypt), per packet.
    let switch_arc = Arc::new(DtlsIdentity::generate().expect("switch identity"));
    let mut relay = WebrtcRelay::new(&switch_arc, &client_id);
    let mut probe = relay.packet();
    assert!(relay.relay(&mut probe) > 0, "the packet reaches browser B");
    c.bench_function("webrtc/relay_srtp_both_ways", |b| {
        b.iter_custom(|iters| {
            let mut total = std::time::Duration::ZERO;
            let mut left = iters;
            while left > 0 {
                let n = left.min(4096);
                let mut batch: Vec<Vec<u8>> = (0..n).map(|_| relay.packet()).collect();
                let t = Instant::now();
                for p in batch.iter_mut() {
                    std::hint::black_box(relay.relay(p));
                }
                total += t.elapsed();
                left -= n;
            }
            total
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
