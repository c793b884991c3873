//! Real G.711 through the anchoring switch (issue 3 item 9): SIPp calls in
//! from a trunk offering PCMA and telephone-event, plays SIPp's own captures
//! (`/usr/share/sip-tester/g711a.pcap`, then `dtmf_2833_1.pcap`) with
//! `play_pcap_audio`, and hangs up; the far side is a Rust test UA whose RTP
//! socket records every packet the switch relays. The test reads the same
//! captures (classic libpcap, `common::pcap`) and checks the relay path:
//! as many packets arrive as were played, with the payload bytes identical
//! and in order, in one stream (one SSRC, the switch's own), sequence
//! numbers consecutive (the RFC 4733 end-of-event retransmissions keep the
//! one number they were played with), timestamps advancing as played,
//! payload types mapped to the callee's, and the DTMF digit intact.
//!
//! SIPp 3.6 plays pcaps through a raw socket: it must run as root or with
//! CAP_NET_RAW (`setcap cap_net_raw+ep /usr/bin/sipp`); without it the
//! test fails and says so.

mod common;

use bytes::Bytes;
use common::pcap::{self, PcapUdp};
use common::ua::Ua;
use common::{Sipp, SippHandle, Switch};
use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use switchboard::sip::msg::{HeaderName, Message, Method, StatusCode};

const G711A: &str = "/usr/share/sip-tester/g711a.pcap";
const DTMF_1: &str = "/usr/share/sip-tester/dtmf_2833_1.pcap";
/// The digit in `DTMF_1` (RFC 4733 §3.2 event code).
const DIGIT_1: u8 = 1;
/// The PT numbers the scenario offers (PCMA, telephone-event).
const OFFERED_PCMA: u8 = 8;
const OFFERED_EVENT: u8 = 101;
const T: Duration = Duration::from_secs(40);

/// An RTP packet, read independently of the switch's own parser.
#[derive(Clone, Debug)]
struct Rtp {
    marker: bool,
    pt: u8,
    seq: u16,
    ts: u32,
    ssrc: u32,
    payload: Vec<u8>,
}

fn parse_rtp(p: &[u8]) -> Rtp {
    assert!(p.len() >= 12 && p[0] >> 6 == 2, "not RTP v2: {p:02x?}");
    let cc = usize::from(p[0] & 0x0f);
    let mut start = 12 + 4 * cc;
    if p[0] & 0x10 != 0 {
        let words = usize::from(u16::from_be_bytes([p[start + 2], p[start + 3]]));
        start += 4 + 4 * words;
    }
    let mut end = p.len();
    if p[0] & 0x20 != 0 {
        end -= usize::from(p[end - 1]);
    }
    Rtp {
        marker: p[1] & 0x80 != 0,
        pt: p[1] & 0x7f,
        seq: u16::from_be_bytes([p[2], p[3]]),
        ts: u32::from_be_bytes([p[4], p[5], p[6], p[7]]),
        ssrc: u32::from_be_bytes([p[8], p[9], p[10], p[11]]),
        payload: p[start..end].to_vec(),
    }
}

/// The RTP packets of a SIPp capture (failing loudly if it is missing).
fn played(path: &str) -> Vec<Rtp> {
    assert!(
        Path::new(path).exists(),
        "{path} is missing: it comes with SIPp (sudo apt-get install -y sip-tester)"
    );
    let udp: Vec<PcapUdp> = pcap::read_udp(path);
    assert!(!udp.is_empty(), "{path}: no UDP packets");
    udp.iter().map(|u| parse_rtp(&u.payload)).collect()
}

/// The PT number an SDP body maps to `encoding` (e.g. "PCMA/8000").
fn rtpmap_pt(sdp: &[u8], encoding: &str) -> Option<u8> {
    String::from_utf8_lossy(sdp).lines().find_map(|l| {
        let (pt, enc) = l.strip_prefix("a=rtpmap:")?.split_once(' ')?;
        enc.trim().eq_ignore_ascii_case(encoding).then(|| pt.parse().ok())?
    })
}

/// The audio RTP address an SDP body names.
fn sdp_rtp(body: &[u8]) -> SocketAddr {
    let s = switchboard::sdp::parse(body).expect("SDP parses");
    let m = s.media.iter().find(|m| m.port != 0).expect("an active stream");
    let c = s.media_connection(0).or(s.connection()).expect("c= line");
    SocketAddr::new(c.ip_addr().expect("IP address"), m.port)
}

/// Waits for the next request `method` at the UA while SIPp runs; `None`
/// if SIPp exited first (see [`sipp_died`]).
fn next_request(ua: &mut Ua, method: Method, sipp: &mut SippHandle, timeout: Duration) -> Option<Message> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(m) = ua.recv(Duration::from_millis(200)) {
            if m.method() == Some(&method) {
                return Some(m);
            }
            continue;
        }
        if !sipp.is_running() {
            return None;
        }
        assert!(
            Instant::now() < deadline,
            "no {method} reached the callee within {timeout:?}"
        );
    }
}

/// Fails with SIPp's story, and the raw-socket hint when that is the cause.
fn sipp_died(sipp: SippHandle, waiting_for: Method) -> ! {
    let r = sipp.wait();
    let raw = [&r.stdout, &r.stderr, &r.error_log]
        .iter()
        .any(|s| s.contains("raw IPv4 socket") || s.contains("raw IPv6 socket"));
    let hint = if raw {
        "\n*** SIPp's play_pcap_audio sends through a raw socket: run the tests as root, or \
         `sudo setcap cap_net_raw+ep $(command -v sipp)` ***"
    } else {
        ""
    };
    panic!("SIPp ended before the callee saw {waiting_for}{hint}\n{r}");
}

/// Records every datagram arriving at `sock` until `stop`.
fn record(sock: UdpSocket, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<Vec<(SocketAddr, Vec<u8>)>> {
    std::thread::spawn(move || {
        sock.set_read_timeout(Some(Duration::from_millis(50))).expect("timeout");
        let mut got = Vec::new();
        let mut buf = [0u8; 2048];
        while !stop.load(Ordering::Relaxed) {
            if let Ok((n, src)) = sock.recv_from(&mut buf) {
                got.push((src, buf[..n].to_vec()));
            }
        }
        got
    })
}

#[test]
fn pcap_reader_reads_a_handmade_record() {
    let payload = [0x80u8, 8, 0, 1, 0, 0, 0, 160, 1, 2, 3, 4, 0xd5];
    let mut frame = vec![0u8; 12];
    frame.extend([0x08, 0x00]); // IPv4
    let total = (20 + 8 + payload.len()) as u16;
    frame.extend([0x45, 0, (total >> 8) as u8, total as u8, 0, 0, 0x40, 0, 64, 17, 0, 0]);
    frame.extend([127, 0, 0, 1, 127, 0, 0, 1]);
    frame.extend([0x13, 0x88, 0x07, 0xd6]); // 5000 -> 2006
    let ulen = (8 + payload.len()) as u16;
    frame.extend([(ulen >> 8) as u8, ulen as u8, 0, 0]);
    frame.extend(payload);
    let mut file = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0];
    file.extend([0u8; 8]);
    file.extend(65535u32.to_le_bytes());
    file.extend(1u32.to_le_bytes()); // Ethernet
    file.extend(7u32.to_le_bytes());
    file.extend(500u32.to_le_bytes());
    file.extend((frame.len() as u32).to_le_bytes());
    file.extend((frame.len() as u32).to_le_bytes());
    file.extend(&frame);
    let got = pcap::parse_udp(&file).expect("parses");
    assert_eq!(got.len(), 1);
    assert_eq!((got[0].src_port, got[0].dst_port), (5000, 2006));
    assert_eq!(got[0].payload, payload);
    assert_eq!(got[0].time, Duration::from_secs(7) + Duration::from_micros(500));
    // SIPp's own capture: 30 ms A-law packets of one stream.
    let audio = played(G711A);
    assert!(audio.iter().all(|p| p.pt == OFFERED_PCMA && p.payload.len() == 240));
}

#[test]
fn sipp_pcap_g711a_and_dtmf_arrive_intact_through_the_relay() {
    let audio = played(G711A);
    let events = played(DTMF_1);
    assert!(audio.iter().all(|p| p.pt == OFFERED_PCMA), "g711a.pcap is PCMA");
    assert!(
        events.iter().all(|p| p.pt == OFFERED_EVENT),
        "dtmf_2833_1.pcap is PT 101"
    );

    // Media is anchored by default.
    let sw = Switch::start();
    let mut callee = Ua::udp(sw.internal_addr());
    assert_eq!(callee.register("1001", "demo-1001"), StatusCode::OK);
    let rtp = UdpSocket::bind("127.0.0.1:0").expect("bind RTP");
    let rtp_port = rtp.local_addr().expect("addr").port();
    let stop = Arc::new(AtomicBool::new(false));
    let recorder = record(rtp, stop.clone());

    // The carrier (SIPp, from 127.0.0.1: a trunk address) dials 1001.
    let mut sipp = Sipp::new("uac_trunk_pcap_g711a.xml")
        .remote(sw.external_addr())
        .service("1001")
        .spawn(T);

    let Some(invite) = next_request(&mut callee, Method::INVITE, &mut sipp, Duration::from_secs(10)) else {
        sipp_died(sipp, Method::INVITE)
    };
    let b_media = sdp_rtp(&invite.body);
    let pcma = rtpmap_pt(&invite.body, "PCMA/8000").expect("the callee is offered PCMA");
    let event = rtpmap_pt(&invite.body, "telephone-event/8000").expect("and telephone-event");
    let mut ok = Message::response_to(&invite, StatusCode::OK, None, Some("pcap-callee"));
    ok.headers
        .push(HeaderName::Contact, format!("<{}>", callee.contact_uri("1001")));
    ok.headers.push(HeaderName::ContentType, "application/sdp");
    ok.body = Bytes::from(format!(
        "v=0\r\no=callee 7 7 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
         m=audio {rtp_port} RTP/AVP {pcma} {event}\r\na=rtpmap:{pcma} PCMA/8000\r\n\
         a=rtpmap:{event} telephone-event/8000\r\na=fmtp:{event} 0-16\r\na=ptime:30\r\n"
    ));
    callee.send(&ok);
    if next_request(&mut callee, Method::ACK, &mut sipp, Duration::from_secs(5)).is_none() {
        sipp_died(sipp, Method::ACK)
    }
    let Some(bye) = next_request(&mut callee, Method::BYE, &mut sipp, T) else {
        sipp_died(sipp, Method::BYE)
    };
    callee.send(&Message::response_to(&bye, StatusCode::OK, None, None));
    sipp.wait().assert_success();
    std::thread::sleep(Duration::from_millis(200));
    stop.store(true, Ordering::Relaxed);
    let got = recorder.join().expect("recorder");

    // Everything came from the switch's B-side port named in its offer.
    assert!(
        got.iter().all(|(src, _)| *src == b_media),
        "RTP from {:?}, expected only {b_media}",
        got.iter().map(|g| g.0).collect::<std::collections::BTreeSet<_>>()
    );
    let got: Vec<Rtp> = got.iter().map(|(_, p)| parse_rtp(p)).collect();
    let expected: Vec<&Rtp> = audio.iter().chain(&events).collect();
    let pts: Vec<u8> = got.iter().map(|p| p.pt).collect();
    assert_eq!(
        got.len(),
        expected.len(),
        "every played packet arrives once ({} audio + {} events played); PTs received: {pts:?}",
        audio.len(),
        events.len()
    );

    // Payload bytes identical and in order; PTs mapped to the callee's.
    for (i, (g, e)) in got.iter().zip(&expected).enumerate() {
        let want_pt = if e.pt == OFFERED_PCMA { pcma } else { event };
        assert_eq!(g.pt, want_pt, "packet {i}: payload type");
        assert!(
            g.payload == e.payload,
            "packet {i}: payload bytes differ from the capture"
        );
    }

    // One stream: the switch's own SSRC, consecutive sequence numbers.
    let ssrc = got[0].ssrc;
    assert!(got.iter().all(|p| p.ssrc == ssrc), "one SSRC");
    assert!(
        expected.iter().all(|e| e.ssrc != ssrc),
        "the switch sends its own SSRC, not a played one"
    );
    for i in 1..got.len() {
        let step = got[i].seq.wrapping_sub(got[i - 1].seq);
        let ts_step = got[i].ts.wrapping_sub(got[i - 1].ts);
        if i == audio.len() {
            // The digit's stream replaces the audio's: numbering goes on.
            assert_eq!(step, 1, "packet {i}: sequence continues across the source switch");
            assert!(got[i].marker, "packet {i}: a new source starts with the marker bit");
            continue;
        }
        let played_step = expected[i].seq.wrapping_sub(expected[i - 1].seq);
        let played_ts = expected[i].ts.wrapping_sub(expected[i - 1].ts);
        assert_eq!(
            step, played_step,
            "packet {i}: sequence step as played (1, or 0 for a repeated end of event)"
        );
        assert!(step <= 1, "packet {i}: consecutive sequence numbers");
        assert_eq!(ts_step, played_ts, "packet {i}: timestamp step as played");
    }

    // The digit: RFC 4733 §2.3 payload (event, E bit, volume, duration).
    let digit: Vec<&Rtp> = got[audio.len()..].iter().collect();
    assert!(
        digit.iter().all(|p| p.payload.len() == 4 && p.payload[0] == DIGIT_1),
        "digit 1 in every event packet"
    );
    assert!(digit.iter().all(|p| p.ts == digit[0].ts), "one event, one timestamp");
    let ends = digit.iter().filter(|p| p.payload[1] & 0x80 != 0).count();
    assert!(
        ends >= 1 && digit[digit.len() - 1].payload[1] & 0x80 != 0,
        "the event ends (E bit), {ends} end packet(s)"
    );
    let durations: Vec<u16> = digit
        .iter()
        .map(|p| u16::from_be_bytes([p.payload[2], p.payload[3]]))
        .collect();
    assert!(
        durations.windows(2).all(|w| w[0] <= w[1]),
        "durations grow: {durations:?}"
    );
    drop(sw);
}
