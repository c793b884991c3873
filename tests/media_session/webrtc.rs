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
use switchboard::call::media::{LegAudio, MediaLeg, RelayLeg, WebrtcPlan};
use switchboard::dsp::opus::OpusDecoder;
use switchboard::media::session::{Peer, SessionCommand, SocketKind};
use switchboard::rtp::srtp::SrtpStream;
use switchboard::rtp::RtpHeader;
use switchboard::sdp::CodecKind::{self, Pcmu};
use switchboard::webrtc::check::ConnectivityCheck;
use switchboard::webrtc::dtls::{DtlsEvent, DtlsIdentity, DtlsRole, DtlsTransport};

const OUR_SSRC: u32 = 0x5EED_0001;
/// The switch's `a=ice-pwd` in every browser's plan.
pub(crate) const ICE_PWD: &str = "switchpasswordswitchpwd";

fn browser_addr() -> SocketAddr {
    addr("192.0.2.50:54321")
}

/// A browser's audio: Opus on [`OPUS_PT`] with telephone-event/48000 on
/// 126 (what Chrome and Firefox offer first), or G.711 (RFC 7874 makes
/// PCMU and PCMA WebRTC codecs too).
pub(crate) fn browser_audio(codec: CodecKind) -> LegAudio {
    match codec {
        CodecKind::Opus => LegAudio {
            codec,
            clock_rate: 48000,
            recv_pt: OPUS_PT,
            send_pt: OPUS_PT,
            event_recv_pt: Some(126),
            event_send_pt: Some(126),
            event_clock_rate: Some(48000),
        },
        _ => g711(codec),
    }
}

/// A simulated browser: its DTLS client and, once keyed, its SRTP; what
/// it says is `phone`'s tone (at `phone.addr`, in `phone.codec`).
pub(crate) struct Browser {
    identity: DtlsIdentity,
    pub dtls: DtlsTransport,
    pub srtp: Option<SrtpStream>,
    pub phone: Phone,
    /// Decodes what it hears when it talks Opus (one decoder: its state
    /// runs across calls to [`Browser::hear`]).
    opus: Option<OpusDecoder>,
}

/// An ICE connectivity check as a browser sends it (RFC 8445 §7.2.2, the
/// controlling agent; `nominate`: with USE-CANDIDATE), signed with `pwd`.
pub(crate) fn check(nominate: bool, pwd: &str) -> Vec<u8> {
    ConnectivityCheck {
        username: Some("swuf:brwz"),
        password: Some(pwd),
        nominate,
        tie_breaker: 0x0909_0909_0909_0909,
    }
    .encode()
    .expect("check")
}

/// RFC 7983 §7: the first byte tells STUN (0-3) and DTLS (20-63) from
/// RTP/RTCP (128-191).
fn is_stun_or_dtls(datagram: &[u8]) -> bool {
    datagram.first().is_some_and(|b| *b <= 3 || (20..=63).contains(b))
}

impl Browser {
    /// A browser saying `phone`'s tone, expecting the switch's certificate `switch`.
    pub(crate) fn new(switch: &DtlsIdentity, phone: Phone) -> Browser {
        let identity = DtlsIdentity::generate().expect("browser certificate");
        let dtls =
            DtlsTransport::new(&identity, DtlsRole::Client, vec![switch.fingerprint().clone()]).expect("browser DTLS");
        let opus = (phone.codec == CodecKind::Opus)
            .then(|| OpusDecoder::new(switchboard::dsp::SampleRate::Hz48000).expect("Opus decoder"));
        Browser {
            identity,
            dtls,
            srtp: None,
            phone,
            opus,
        }
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.phone.addr
    }

    /// The WebRTC part of its leg as the engine plans it: the switch
    /// answered `a=setup:passive` (DTLS server) and announced `ssrc`; the
    /// browser's SDP announced `fingerprint` (its own unless a test lies).
    pub(crate) fn plan_with(&self, ssrc: u32, fingerprint: String) -> Box<WebrtcPlan> {
        Box::new(WebrtcPlan {
            local_ufrag: "swuf".into(),
            local_pwd: ICE_PWD.into(),
            remote_ufrag: "brwz".into(),
            remote_fingerprints: vec![fingerprint],
            dtls_server: true,
            ssrc,
        })
    }

    /// Its leg (our port `local`, SSRC `ssrc` announced), in its codec,
    /// relaying with a leg in `other`: `c=0.0.0.0`, ICE decides where it is.
    pub(crate) fn leg(&self, local: u16, ssrc: u32, other: LegAudio) -> Box<RelayLeg> {
        let mut leg = relay_leg(local, self.addr(), browser_audio(self.phone.codec), other);
        leg.remote = None;
        leg.webrtc = Some(self.plan_with(ssrc, self.identity.fingerprint().to_string()));
        leg
    }

    /// ICE check with USE-CANDIDATE on `peer`'s port, then the DTLS
    /// handshake through the core, while `talkers` go on talking (20 ms a
    /// round). Until the browser is keyed, everything the core sends it is
    /// a STUN answer or a DTLS record to its checked address: no media.
    pub(crate) fn connect_talking(&mut self, sim: &mut Sim, peer: Peer, talkers: &mut [(&mut Phone, Peer)]) {
        let addr = self.addr();
        sim.rtp(peer, addr, check(true, ICE_PWD));
        let answers = sim.take(peer, SocketKind::Rtp);
        assert_eq!(answers.len(), 1, "one STUN answer");
        let mut resp = Message::new();
        resp.raw = answers[0].bytes.clone();
        resp.decode().expect("STUN");
        assert_eq!(resp.typ, BINDING_SUCCESS);
        assert_eq!(answers[0].dest, addr);
        self.dtls.start(sim.now);
        for _ in 0..50 {
            while let Some(d) = self.dtls.poll_transmit() {
                sim.rtp(peer, addr, d.to_vec());
            }
            assert!(
                sim.take(peer, SocketKind::Rtcp).is_empty(),
                "rtcp-mux: nothing on the RTCP port"
            );
            for s in sim.take(peer, SocketKind::Rtp) {
                assert_eq!(s.dest, addr, "to the checked address");
                assert!(
                    is_stun_or_dtls(&s.bytes),
                    "only ICE and DTLS before the keys, never media in clear: {:?}",
                    &s.bytes[..4]
                );
                self.dtls.handle_datagram(sim.now, &s.bytes);
            }
            if let Some(DtlsEvent::Connected(keys)) = self.dtls.poll_event() {
                self.srtp = Some(SrtpStream::new(&keys).expect("browser SRTP"));
                return;
            }
            sim.talk(talkers, 1);
        }
        panic!("DTLS did not complete through the session core");
    }

    /// [`Browser::connect_talking`] with nobody talking.
    pub(crate) fn connect(&mut self, sim: &mut Sim, peer: Peer) {
        self.connect_talking(sim, peer, &mut []);
    }

    /// Sends the next 20 ms of its tone to `peer`'s port, as SRTP.
    pub(crate) fn say(&mut self, sim: &mut Sim, peer: Peer) {
        let packet = self.phone.packet();
        let sealed = self
            .srtp
            .as_mut()
            .expect("keyed")
            .protect_rtp(&packet)
            .expect("protect");
        sim.rtp(peer, self.addr(), sealed.to_vec());
    }

    /// What the core sent it (`sent`, all through its peer's RTP port),
    /// opened: every datagram went to its address and authenticates as
    /// SRTP (or SRTCP, skipped here), every RTP packet carries `ssrc` (the
    /// SSRC the switch's SDP announced) and the browser's payload type.
    /// Returns the plain RTP packets.
    pub(crate) fn open(&mut self, sent: &[Sent], ssrc: u32) -> Vec<Vec<u8>> {
        let srtp = self.srtp.as_mut().expect("keyed");
        let pt = browser_audio(self.phone.codec).send_pt;
        let mut plain = Vec::new();
        for s in sent {
            assert_eq!(
                (s.dest, s.socket),
                (self.phone.addr, SocketKind::Rtp),
                "to the browser's ICE address"
            );
            if s.bytes.get(1).is_some_and(|b| (192..=223).contains(b)) {
                srtp.unprotect_rtcp(&s.bytes).expect("SRTCP from the switch");
                continue;
            }
            let p = srtp
                .unprotect_rtp(&s.bytes)
                .expect("authenticated SRTP from the switch");
            let h = RtpHeader::parse(&p).expect("RTP");
            assert_eq!(h.ssrc, ssrc, "the SSRC the switch's SDP announced");
            assert_eq!(h.payload_type, pt, "the browser's codec");
            plain.push(p.to_vec());
        }
        plain
    }

    /// The audio of `packets` (plain RTP, from [`Browser::open`]) as the
    /// browser plays it, at [`Browser::rate`].
    pub(crate) fn play(&mut self, packets: &[Vec<u8>]) -> Vec<i16> {
        let mut pcm = Vec::new();
        for p in packets {
            let h = RtpHeader::parse(p).expect("RTP");
            let payload = &p[h.payload_offset..h.payload_end];
            match (self.opus.as_mut(), self.phone.codec) {
                (Some(dec), _) => {
                    let mut frame = [0i16; 5760];
                    let n = dec.decode(payload, &mut frame).expect("the switch's Opus decodes");
                    pcm.extend_from_slice(&frame[..n]);
                }
                (None, codec) => {
                    let mut frame = vec![0i16; payload.len()];
                    match codec {
                        CodecKind::Pcma => switchboard::dsp::g711::decode_alaw(payload, &mut frame),
                        _ => switchboard::dsp::g711::decode_ulaw(payload, &mut frame),
                    }
                    .expect("G.711 decodes");
                    pcm.extend_from_slice(&frame);
                }
            }
        }
        pcm
    }

    /// The sample rate it plays at: 48 kHz for Opus, 8 kHz for G.711.
    pub(crate) fn rate(&self) -> u32 {
        if self.opus.is_some() {
            48000
        } else {
            8000
        }
    }
}

/// Call A is the browser (WebRTC, PCMU: RFC 7874 makes G.711 a WebRTC
/// codec, which keeps the simulated browser simple), B a plain phone.
fn setup(browser_fingerprint_ok: bool) -> (Sim, Browser, Phone) {
    let switch_id = Arc::new(DtlsIdentity::generate().expect("switch certificate"));
    let other = DtlsIdentity::generate().expect("another certificate");
    let mut sim = Sim::with_dtls(7, Some(switch_id.clone()));
    let browser = Browser::new(&switch_id, Phone::new(browser_addr(), 0xB0B0, Pcmu, 1000.0));
    let mut a = browser.leg(30000, OUR_SSRC, g711(Pcmu));
    if !browser_fingerprint_ok {
        a.webrtc = Some(browser.plan_with(OUR_SSRC, other.fingerprint().to_string()));
    }
    let b = relay_leg(30002, callee_addr(), g711(Pcmu), g711(Pcmu));
    sim.command(SessionCommand::Plan { a, b });
    (sim, browser, Phone::new(callee_addr(), 0xCA11, Pcmu, 440.0))
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

    browser.connect(&mut sim, A);
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
        sim.rtp(A, browser_addr(), check(false, ICE_PWD));
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
    browser.connect(&mut sim, A);
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
    sim.rtp(A, browser_addr(), check(true, ICE_PWD));
    sim.take(A, SocketKind::Rtp);
    sim.rtp(B, phone.addr, phone.packet());
    assert_eq!(sim.take(A, SocketKind::Rtp).len(), 1, "media resumes with consent");
}

#[test]
fn a_browser_certificate_not_matching_its_sdp_gets_no_media() {
    let (mut sim, mut browser, mut phone) = setup(false);
    sim.rtp(A, browser_addr(), check(true, ICE_PWD));
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

/// A check as the browser sends it after an ICE restart: its new ufrag,
/// the switch's new credentials.
fn check_as(username: &str, pwd: &str) -> Vec<u8> {
    ConnectivityCheck {
        username: Some(username),
        password: Some(pwd),
        nominate: true,
        tie_breaker: 0x0909_0909_0909_0909,
    }
    .encode()
    .expect("check")
}

/// The engine's update of leg A after an SDP exchange that gave `plan`.
fn update_a(sim: &mut Sim, plan: &WebrtcPlan) {
    sim.command(SessionCommand::Update {
        leg: MediaLeg::A,
        remote: None,
        remote_rtcp: None,
        srtp: None,
        webrtc: Some(Box::new(plan.clone())),
    });
}

/// ICE restart by re-INVITE (RFC 8839 §4.4.1.1, RFC 8445 §9): the engine's
/// update carries new ICE credentials with the same DTLS parameters. The
/// DTLS association and its SRTP keys carry on (browsers keep their DTLS
/// transport across an ICE restart); media keeps flowing to the old
/// address until the browser's checks with the new credentials move it;
/// checks with the old ones are refused. A new fingerprint instead starts
/// a new DTLS association: nothing is sent to the browser until it is keyed
/// again.
#[test]
fn an_ice_restart_keeps_dtls_and_media_and_moves_to_the_new_address() {
    let (mut sim, mut browser, mut phone) = setup(true);
    browser.connect(&mut sim, A);
    let mut restarted = browser.plan_with(OUR_SSRC, browser.identity.fingerprint().to_string());
    restarted.local_ufrag = "sw2u".into();
    restarted.local_pwd = "newswitchpasswordafterrestart".into();
    restarted.remote_ufrag = "br2w".into();
    update_a(&mut sim, &restarted);

    // Media still goes to the old address, with the same keys.
    sim.advance(Duration::from_millis(20));
    sim.rtp(B, phone.addr, phone.packet());
    let sent = sim.take(A, SocketKind::Rtp);
    assert_eq!(sent.len(), 1, "media continues during the restart");
    assert_eq!(browser.open(&sent, OUR_SSRC).len(), 1);
    browser.say(&mut sim, A);
    assert_eq!(sim.take(B, SocketKind::Rtp).len(), 1, "and from the browser too");

    // Old credentials: refused. New ones from a new address: accepted, and
    // media follows the nomination there, still the same SRTP.
    sim.rtp(A, browser_addr(), check(true, ICE_PWD));
    let old = sim.take(A, SocketKind::Rtp);
    let mut resp = Message::new();
    resp.raw = old[0].bytes.clone();
    resp.decode().expect("STUN");
    assert_ne!(resp.typ, BINDING_SUCCESS, "the old credentials are refused");
    let moved = addr("192.0.2.51:40000");
    sim.rtp(A, moved, check_as("sw2u:br2w", "newswitchpasswordafterrestart"));
    let answers = sim.take(A, SocketKind::Rtp);
    resp.raw = answers[0].bytes.clone();
    resp.decode().expect("STUN");
    assert_eq!(resp.typ, BINDING_SUCCESS, "the new credentials are accepted");
    sim.advance(Duration::from_millis(20));
    sim.rtp(B, phone.addr, phone.packet());
    let sent = sim.take(A, SocketKind::Rtp);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].dest, moved, "media follows the new nomination");
    let srtp = browser.srtp.as_mut().expect("keyed");
    srtp.unprotect_rtp(&sent[0].bytes)
        .expect("the same DTLS-SRTP keys after the restart");

    // The same plan again (a later re-INVITE without restart): no change.
    update_a(&mut sim, &restarted);
    sim.advance(Duration::from_millis(20));
    sim.rtp(B, phone.addr, phone.packet());
    assert_eq!(sim.take(A, SocketKind::Rtp)[0].dest, moved);

    // A new fingerprint: a new DTLS association; nothing to the browser
    // until it is keyed again.
    let other = DtlsIdentity::generate().expect("another certificate");
    let mut renewed = restarted;
    renewed.remote_fingerprints = vec![other.fingerprint().to_string()];
    update_a(&mut sim, &renewed);
    sim.advance(Duration::from_millis(20));
    sim.rtp(B, phone.addr, phone.packet());
    assert!(
        sim.take(A, SocketKind::Rtp).is_empty(),
        "a new DTLS association: no media before its keys"
    );
}
