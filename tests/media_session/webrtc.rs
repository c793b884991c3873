//! A WebRTC leg in the session core, in virtual time (issue 12): a
//! simulated browser (the switch's own STUN and DTLS client code, playing
//! the browser's part) checks ICE, completes DTLS-SRTP through the core,
//! and then talks SRTP with a plain G.711 phone on the other leg. Checked:
//! nothing flows before ICE and DTLS, everything to the browser is SRTP
//! on its RTP port (rtcp-mux) with the SSRC its SDP announced, what it
//! sends reaches the phone in clear, clear packets from it are refused,
//! and media stops when it stops answering consent checks (RFC 7675).

use super::harness::*;
use rtc_stun::message::{Message, BINDING_SUCCESS};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use switchboard::call::media::{MediaLeg, WebrtcPlan};
use switchboard::media::session::{Peer, SessionCommand, SocketKind};
use switchboard::rtp::srtp::SrtpStream;
use switchboard::sdp::CodecKind::Pcmu;
use switchboard::webrtc::check::ConnectivityCheck;
use switchboard::webrtc::dtls::{DtlsEvent, DtlsIdentity, DtlsRole, DtlsTransport};

const A: Peer = Peer::Leg(MediaLeg::A);
const B: Peer = Peer::Leg(MediaLeg::B);
const OUR_SSRC: u32 = 0x5EED_0001;

fn browser_addr() -> SocketAddr {
    addr("192.0.2.50:54321")
}

/// The simulated browser: its DTLS client and, once keyed, its SRTP.
struct Browser {
    dtls: DtlsTransport,
    srtp: Option<SrtpStream>,
    phone: Phone,
}

fn check(nominate: bool, pwd: &str) -> Vec<u8> {
    ConnectivityCheck {
        username: Some("swuf:brwz"),
        password: Some(pwd),
        nominate,
        tie_breaker: 0x0909_0909_0909_0909,
    }
    .encode()
    .expect("check")
}

/// Call A is the browser (WebRTC, PCMU: RFC 7874 makes G.711 a WebRTC
/// codec, which keeps the simulated browser simple), B a plain phone.
fn setup(browser_fingerprint_ok: bool) -> (Sim, Browser, Phone) {
    let switch_id = Arc::new(DtlsIdentity::generate().expect("switch certificate"));
    let browser_id = DtlsIdentity::generate().expect("browser certificate");
    let other = DtlsIdentity::generate().expect("another certificate");
    let announced = if browser_fingerprint_ok { &browser_id } else { &other };
    let mut sim = Sim::with_dtls(7, Some(switch_id.clone()));
    let mut a = relay_leg(30000, browser_addr(), g711(Pcmu), g711(Pcmu));
    a.remote = None; // c=0.0.0.0: ICE decides
    a.webrtc = Some(Box::new(WebrtcPlan {
        local_ufrag: "swuf".into(),
        local_pwd: "switchpasswordswitchpwd".into(),
        remote_ufrag: "brwz".into(),
        remote_fingerprints: vec![announced.fingerprint().to_string()],
        dtls_server: true,
        ssrc: OUR_SSRC,
    }));
    let b = relay_leg(30002, callee_addr(), g711(Pcmu), g711(Pcmu));
    sim.command(SessionCommand::Plan { a, b });
    let dtls =
        DtlsTransport::new(&browser_id, DtlsRole::Client, vec![switch_id.fingerprint().clone()]).expect("browser DTLS");
    let browser = Browser {
        dtls,
        srtp: None,
        phone: Phone::new(browser_addr(), 0xB0B0, Pcmu, 1000.0),
    };
    (sim, browser, Phone::new(callee_addr(), 0xCA11, Pcmu, 440.0))
}

/// ICE check with USE-CANDIDATE, then the DTLS handshake through the core.
fn connect(sim: &mut Sim, browser: &mut Browser) {
    sim.rtp(A, browser_addr(), check(true, "switchpasswordswitchpwd"));
    let answers = sim.take(A, SocketKind::Rtp);
    assert_eq!(answers.len(), 1, "one STUN answer");
    let mut resp = Message::new();
    resp.raw = answers[0].bytes.clone();
    resp.decode().expect("STUN");
    assert_eq!(resp.typ, BINDING_SUCCESS);
    assert_eq!(answers[0].dest, browser_addr());
    browser.dtls.start(sim.now);
    for _ in 0..20 {
        while let Some(d) = browser.dtls.poll_transmit() {
            sim.rtp(A, browser_addr(), d.to_vec());
        }
        for s in sim.take(A, SocketKind::Rtp) {
            assert_eq!((s.dest, s.socket), (browser_addr(), SocketKind::Rtp));
            browser.dtls.handle_datagram(sim.now, &s.bytes);
        }
        if let Some(DtlsEvent::Connected(keys)) = browser.dtls.poll_event() {
            browser.srtp = Some(SrtpStream::new(&keys).expect("browser SRTP"));
            return;
        }
        sim.advance(Duration::from_millis(5));
    }
    panic!("DTLS did not complete through the session core");
}

#[test]
fn webrtc_leg_relays_srtp_with_a_plain_phone_after_ice_and_dtls() {
    let (mut sim, mut browser, mut phone) = setup(true);
    // Before ICE: nothing from the browser's address is taken, nothing goes to it.
    let early = browser.phone.packet();
    sim.rtp(A, browser_addr(), early);
    sim.rtp(B, phone.addr, phone.packet());
    assert!(sim.take(B, SocketKind::Rtp).is_empty(), "no media before ICE and DTLS");
    assert!(
        sim.take(A, SocketKind::Rtp).is_empty(),
        "nothing sent to the browser unkeyed"
    );

    connect(&mut sim, &mut browser);
    let srtp = browser.srtp.as_mut().expect("keyed");

    // Phone → browser: SRTP, to the checked address, through the RTP port,
    // with the SSRC the SDP announced.
    sim.advance(Duration::from_millis(20));
    for _ in 0..5 {
        sim.rtp(B, phone.addr, phone.packet());
    }
    let to_browser = sim.take(A, SocketKind::Rtp);
    assert_eq!(to_browser.len(), 5, "relayed to the browser");
    for s in &to_browser {
        assert_eq!(s.dest, browser_addr());
        let plain = srtp
            .unprotect_rtp(&s.bytes)
            .expect("authenticated SRTP from the switch");
        assert_eq!(u32::from_be_bytes([plain[8], plain[9], plain[10], plain[11]]), OUR_SSRC);
        assert_eq!(plain[1] & 0x7f, 0, "PCMU");
    }
    assert!(
        sim.take(A, SocketKind::Rtcp).is_empty(),
        "rtcp-mux: nothing on the RTCP port"
    );

    // Browser → phone: SRTP in, plain out.
    for _ in 0..5 {
        let p = browser.phone.packet();
        let sealed = srtp.protect_rtp(&p).expect("protect");
        sim.rtp(A, browser_addr(), sealed.to_vec());
    }
    let to_phone = sim.take(B, SocketKind::Rtp);
    assert_eq!(to_phone.len(), 5, "decrypted and relayed to the phone");
    assert_eq!(to_phone[0].dest, callee_addr());
    assert_eq!(to_phone[0].bytes.len(), 172, "plain RTP to the phone");

    // A clear packet from the browser's address is refused.
    let before = sim.core.stats().srtp_refused;
    sim.rtp(A, browser_addr(), browser.phone.packet());
    assert_eq!(sim.core.stats().srtp_refused, before + 1);
    assert!(sim.take(B, SocketKind::Rtp).is_empty());

    // RTCP to the browser is SRTCP on the RTP port (RFC 5761).
    for _ in 0..500 {
        sim.rtp(A, browser_addr(), check(false, "switchpasswordswitchpwd"));
        sim.advance(Duration::from_millis(20));
        if sim
            .sent
            .iter()
            .any(|s| s.to == A && s.bytes.get(1).is_some_and(|b| (200..=201).contains(b)))
        {
            break;
        }
    }
    let reports: Vec<Sent> = sim
        .take(A, SocketKind::Rtp)
        .into_iter()
        .filter(|s| s.bytes.get(1).is_some_and(|b| (192..=223).contains(b)))
        .collect();
    assert!(!reports.is_empty(), "a report went to the browser");
    let report = srtp.unprotect_rtcp(&reports[0].bytes).expect("SRTCP");
    assert_eq!(report[1], 200, "a sender report");
}

#[test]
fn media_to_the_browser_stops_when_it_stops_answering_consent() {
    let (mut sim, mut browser, mut phone) = setup(true);
    connect(&mut sim, &mut browser);
    sim.rtp(B, phone.addr, phone.packet());
    assert_eq!(sim.take(A, SocketKind::Rtp).len(), 1);
    // 31 s without a check (the browser is gone): consent expires.
    for _ in 0..(31 * 50) {
        sim.rtp(B, phone.addr, phone.packet());
        sim.advance(Duration::from_millis(20));
    }
    sim.take(A, SocketKind::Rtp);
    for _ in 0..10 {
        sim.rtp(B, phone.addr, phone.packet());
    }
    assert!(
        sim.take(A, SocketKind::Rtp).is_empty(),
        "RFC 7675: nothing sent without consent"
    );
    // A fresh check restores it.
    sim.rtp(A, browser_addr(), check(true, "switchpasswordswitchpwd"));
    sim.take(A, SocketKind::Rtp);
    sim.rtp(B, phone.addr, phone.packet());
    assert_eq!(sim.take(A, SocketKind::Rtp).len(), 1, "media resumes with consent");
}

#[test]
fn a_browser_certificate_not_matching_its_sdp_gets_no_media() {
    let (mut sim, mut browser, mut phone) = setup(false);
    sim.rtp(A, browser_addr(), check(true, "switchpasswordswitchpwd"));
    sim.take(A, SocketKind::Rtp);
    browser.dtls.start(sim.now);
    for _ in 0..40 {
        while let Some(d) = browser.dtls.poll_transmit() {
            sim.rtp(A, browser_addr(), d.to_vec());
        }
        for s in sim.take(A, SocketKind::Rtp) {
            browser.dtls.handle_datagram(sim.now, &s.bytes);
        }
        sim.advance(Duration::from_millis(50));
    }
    assert!(
        !matches!(browser.dtls.poll_event(), Some(DtlsEvent::Connected(_))),
        "the browser never gets keys"
    );
    for _ in 0..5 {
        sim.rtp(B, phone.addr, phone.packet());
    }
    assert!(
        sim.take(A, SocketKind::Rtp).is_empty(),
        "nothing sent to an unauthenticated browser"
    );
}

#[test]
fn checks_with_a_wrong_password_are_refused_and_their_address_gets_no_dtls() {
    let (mut sim, mut browser, _) = setup(true);
    sim.rtp(A, browser_addr(), check(true, "notthepasswordnotthepwd"));
    let answers = sim.take(A, SocketKind::Rtp);
    assert_eq!(answers.len(), 1);
    let mut resp = Message::new();
    resp.raw = answers[0].bytes.clone();
    resp.decode().expect("STUN");
    assert_ne!(resp.typ, BINDING_SUCCESS, "401, not success");
    browser.dtls.start(sim.now);
    while let Some(d) = browser.dtls.poll_transmit() {
        sim.rtp(A, browser_addr(), d.to_vec());
    }
    assert!(
        sim.take(A, SocketKind::Rtp).is_empty(),
        "DTLS from an unchecked address is ignored"
    );
}
