//! Media helpers for the end-to-end tests of the media plane (issue 3).
//!
//! Why it exists: the media tests need an answered anchored call between
//! two test UAs whose SDP each test chooses (the caller's offer, the
//! callee's answer), real-time RTP both ways while the test drives the
//! control API, and ways to look at what arrives (tones, Opus, RFC 4733
//! events, RTCP, the recorded WAV). This module gives them
//!
//! * [`answered_call`]: REGISTER the callee, INVITE with digest auth, the
//!   callee answers the switch's offer, ACKs both ways; [`Call`] keeps the
//!   dialogs, the RTP sockets (each with its RTCP socket on the next port,
//!   RFC 3550 §11) and the switch's media addresses of both legs;
//! * [`Sender`]: a thread sending one RTP stream paced at 20 ms of real time
//!   (the switch's pipeline runs on a 20 ms clock with a jitter buffer);
//! * [`Receiver`]: a thread receiving what the switch sends a leg, kept in
//!   order, awaited packet by packet ([`Receiver::take`],
//!   [`Receiver::wait_for`]) so tests wait on events, not on sleeps;
//! * audio sources (G.711 and Opus tones, Opus from PCM) and decoders;
//! * [`api`]: the control API with an optional JSON body; [`read_wav`].
//!
//! Include it through `mod common;` (declared in `common/mod.rs`).
#![allow(dead_code)]

use super::ua::{self, Ua};
use super::Switch;
use bytes::Bytes;
use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use switchboard::dsp::opus::{OpusConfig, OpusDecoder, OpusEncoder, MAX_PACKET};
use switchboard::dsp::tone::ToneGenerator;
use switchboard::dsp::{g711, SampleRate};
use switchboard::rtp::RtpHeader;
use switchboard::sdp;
use switchboard::sip::msg::{HeaderName, Message, Method, StatusCode, Uri};

/// How long a test waits for something the switch must do (generous: the
/// tests run on a loaded 2-core machine; they assert behaviour, not speed).
pub const MEDIA_TIMEOUT: Duration = Duration::from_secs(15);

/// One packet time (RFC 3551 §4.2 default, what the switch's pipeline sends).
pub const FRAME: Duration = Duration::from_millis(20);

// ---------------------------------------------------------------------------
// Sockets and SDP
// ---------------------------------------------------------------------------

/// A loopback UDP socket on an ephemeral port, 1.5 s read timeout.
pub fn rtp_socket() -> UdpSocket {
    let s = UdpSocket::bind("127.0.0.1:0").expect("bind RTP socket");
    s.set_read_timeout(Some(Duration::from_millis(1500))).expect("timeout");
    s
}

/// RTP and RTCP sockets on consecutive ports P and P + 1 (RFC 3550 §11),
/// reserved by the harness so no other test's socket sits on P + 1 (where
/// the switch sends its RTCP reports for a leg that signalled P).
pub fn rtp_rtcp_sockets() -> (UdpSocket, UdpSocket) {
    let p = super::free_port_block(2, false);
    let bind = |port: u16| {
        let s = UdpSocket::bind((super::LOCALHOST, port)).unwrap_or_else(|e| panic!("bind {port}: {e}"));
        s.set_read_timeout(Some(Duration::from_millis(1500))).expect("timeout");
        s
    };
    (bind(p), bind(p + 1))
}

/// The audio RTP address an SDP body names.
pub fn sdp_rtp(body: &[u8]) -> SocketAddr {
    let s = sdp::parse(body).expect("SDP parses");
    let m = s.media.iter().find(|m| m.port != 0).expect("an active stream");
    let c = s.media_connection(0).or(s.connection()).expect("c= line");
    SocketAddr::new(c.ip_addr().expect("IP address"), m.port)
}

/// The formats and attributes of one side's audio `m=` line.
#[derive(Clone, Debug)]
pub struct AudioSdp {
    /// The `m=audio` format list, e.g. `0 101`.
    pub formats: String,
    /// Attribute lines without `a=`, e.g. `rtpmap:0 PCMU/8000`.
    pub attributes: Vec<String>,
    /// The `m=` line's transport protocol (`RTP/AVP` unless set).
    pub proto: String,
}

impl AudioSdp {
    pub fn new(formats: &str, attributes: &[&str]) -> AudioSdp {
        AudioSdp {
            formats: formats.to_string(),
            attributes: attributes.iter().map(|a| a.to_string()).collect(),
            proto: "RTP/AVP".into(),
        }
    }

    /// The same audio over `proto` (e.g. `RTP/SAVP`) with `attributes` added
    /// (e.g. an `a=crypto`).
    pub fn with(mut self, proto: &str, attributes: &[&str]) -> AudioSdp {
        self.proto = proto.into();
        self.attributes.extend(attributes.iter().map(|a| a.to_string()));
        self
    }

    /// PCMU with telephone-event/8000 on `event_pt`.
    pub fn pcmu_events(event_pt: u8) -> AudioSdp {
        AudioSdp::new(
            &format!("0 {event_pt}"),
            &[
                "rtpmap:0 PCMU/8000",
                &format!("rtpmap:{event_pt} telephone-event/8000"),
                &format!("fmtp:{event_pt} 0-15"),
            ],
        )
    }

    /// PCMU with telephone-event/8000 on 101: what the test UA offers.
    pub fn pcmu() -> AudioSdp {
        AudioSdp::pcmu_events(101)
    }

    /// Opus (RFC 7587 `opus/48000/2`) on 111 with telephone-event/8000 on
    /// `event_pt`.
    pub fn opus_events(event_pt: u8) -> AudioSdp {
        AudioSdp::new(
            &format!("111 {event_pt}"),
            &[
                "rtpmap:111 opus/48000/2",
                &format!("rtpmap:{event_pt} telephone-event/8000"),
                &format!("fmtp:{event_pt} 0-15"),
            ],
        )
    }

    /// A whole SDP body (RFC 4566) with this audio at 127.0.0.1:`port`.
    pub fn body(&self, user: &str, version: u32, port: u16, direction: &str) -> String {
        let mut s = format!(
            "v=0\r\no={user} 1 {version} IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
             m=audio {port} {} {}\r\n",
            self.proto, self.formats
        );
        for a in &self.attributes {
            s.push_str(&format!("a={a}\r\n"));
        }
        s.push_str(&format!("a={direction}\r\n"));
        s
    }
}

// ---------------------------------------------------------------------------
// Signalling
// ---------------------------------------------------------------------------

/// `invite` again with credentials for 1002 after the switch's 407.
pub fn authorized_invite(caller: &mut Ua, invite: &Message) -> Message {
    authorized_invite_as(caller, invite, "1002", "demo-1002")
}

/// `invite` again with `user`'s credentials after the switch's 407.
pub fn authorized_invite_as(caller: &mut Ua, invite: &Message, user: &str, password: &str) -> Message {
    let challenge = caller.transact(invite, ua::TIMEOUT).expect("a 407");
    assert_eq!(ua::code(&challenge), 407, "{}", ua::text(&challenge));
    ack_non_2xx(caller, invite, &challenge);
    let ch = challenge
        .headers
        .get_all(&HeaderName::ProxyAuthenticate)
        .filter_map(|v| switchboard::sip::msg::typed::Challenge::parse(v).ok())
        .collect::<Vec<_>>();
    let ch = switchboard::sip::auth::DigestClient::pick(&ch).expect("a digest challenge");
    caller.authorized(invite, ch, &HeaderName::ProxyAuthorization, user, password)
}

/// A request of the caller's in the dialog (early or confirmed) that
/// `resp` to its `invite` made: to the response's Contact, From and
/// Call-ID of the INVITE, To of the response, CSeq `cseq`.
pub fn caller_in_dialog(ua: &mut Ua, method: Method, invite: &Message, resp: &Message, cseq: u32) -> Message {
    let mut m = Message::request(method.clone(), contact_target(resp));
    m.headers.push(HeaderName::Via, ua.new_via());
    m.headers.push(
        HeaderName::From,
        invite.headers.get(&HeaderName::From).expect("From").clone(),
    );
    m.headers
        .push(HeaderName::To, resp.headers.get(&HeaderName::To).expect("To").clone());
    m.headers.push(
        HeaderName::CallId,
        invite.headers.get(&HeaderName::CallId).expect("Call-ID").clone(),
    );
    m.headers.push(
        HeaderName::CSeq,
        format!("{cseq} {}", String::from_utf8_lossy(method.as_bytes())),
    );
    m.headers.push(HeaderName::MaxForwards, "70");
    m
}

/// ACK for a non-2xx final (§17.1.1.3): same branch, To from the response.
pub fn ack_non_2xx(ua: &mut Ua, invite: &Message, resp: &Message) {
    let mut ack = Message::request(Method::ACK, invite.uri().expect("uri").clone());
    for name in [
        HeaderName::Via,
        HeaderName::From,
        HeaderName::CallId,
        HeaderName::MaxForwards,
    ] {
        if let Some(v) = invite.headers.get(&name) {
            ack.headers.push(name, v.clone());
        }
    }
    ack.headers
        .push(HeaderName::To, resp.headers.get(&HeaderName::To).expect("To").clone());
    let seq = invite.envelope().expect("envelope").cseq.seq;
    ack.headers.push(HeaderName::CSeq, format!("{seq} ACK"));
    ua.send(&ack);
}

/// The URI in a message's Contact.
pub fn contact_target(m: &Message) -> Uri {
    let contact = ua::header(m, "Contact").expect("Contact");
    let target = contact
        .trim_start_matches('<')
        .split('>')
        .next()
        .unwrap_or_default()
        .to_string();
    Uri::parse(&Bytes::from(target)).expect("contact URI")
}

/// ACK for a 2xx (§13.2.2.4): a new transaction to the 200's Contact.
pub fn ack_2xx(ua: &mut Ua, invite: &Message, ok: &Message) {
    ack_2xx_with(ua, invite, ok, None);
}

/// [`ack_2xx`] carrying `answer` (an SDP answer to the 2xx's offer, for a
/// delayed-offer INVITE: RFC 3261 §13.2.1).
pub fn ack_2xx_with(ua: &mut Ua, invite: &Message, ok: &Message, answer: Option<Bytes>) {
    let mut ack = Message::request(Method::ACK, contact_target(ok));
    ack.headers.push(HeaderName::Via, ua.new_via());
    for name in [HeaderName::From, HeaderName::CallId] {
        ack.headers
            .push(name.clone(), invite.headers.get(&name).expect("header").clone());
    }
    ack.headers
        .push(HeaderName::To, ok.headers.get(&HeaderName::To).expect("To").clone());
    let seq = invite.envelope().expect("envelope").cseq.seq;
    ack.headers.push(HeaderName::CSeq, format!("{seq} ACK"));
    ack.headers.push(HeaderName::MaxForwards, "70");
    if let Some(body) = answer {
        ack.headers.push(HeaderName::ContentType, "application/sdp");
        ack.body = body;
    }
    ua.send(&ack);
}

/// The next request of `method` (others are skipped).
pub fn next_request(ua: &mut Ua, method: Method) -> Message {
    loop {
        let m = ua
            .recv(Duration::from_secs(5))
            .unwrap_or_else(|| panic!("no {method} arrived"));
        if m.method() == Some(&method) {
            return m;
        }
    }
}

/// The next final response.
pub fn next_final(ua: &mut Ua) -> Message {
    loop {
        let m = ua.recv(Duration::from_secs(5)).expect("a final response");
        if m.status().is_some_and(|s| s.is_final()) {
            return m;
        }
    }
}

/// Who calls whom, and the SDP each side sends.
#[derive(Clone, Debug)]
pub struct CallSpec {
    /// The number the caller (1002) dials.
    pub dialled: String,
    /// The callee's extension and password (it registers first).
    pub callee: (String, String),
    /// The caller's offer.
    pub offer: AudioSdp,
    /// The callee's answer to the switch's offer.
    pub answer: AudioSdp,
}

impl Default for CallSpec {
    /// 1002 calls 1001, PCMU and telephone-event/8000 on 101 both sides.
    fn default() -> Self {
        CallSpec {
            dialled: "1001".into(),
            callee: ("1001".into(), "demo-1001".into()),
            offer: AudioSdp::pcmu(),
            answer: AudioSdp::pcmu(),
        }
    }
}

/// An answered anchored call between two test UAs with RTP sockets.
pub struct Call {
    pub caller: Ua,
    pub callee: Ua,
    pub caller_rtp: UdpSocket,
    pub callee_rtp: UdpSocket,
    /// RTCP sockets on the RTP port + 1 (RFC 3550 §11).
    pub caller_rtcp: UdpSocket,
    pub callee_rtcp: UdpSocket,
    /// The caller's (authorised) INVITE.
    pub invite: Message,
    /// The switch's 200 to the caller.
    pub a_ok: Message,
    /// The switch's INVITE to the callee.
    pub b_invite: Message,
    /// Where the caller sends RTP (the switch, A side).
    pub a_media: SocketAddr,
    /// Where the callee sends RTP (the switch, B side).
    pub b_media: SocketAddr,
    /// The caller's last CSeq in the dialog.
    pub cseq: u32,
}

/// Sets up a call as `spec` says, through `sw` (media anchored, the
/// default): both legs' SDP name the switch, on ports of its range.
pub fn answered_call(sw: &Switch, spec: &CallSpec) -> Call {
    let (lo, hi) = sw.rtp_ports();
    let mut callee = Ua::udp(sw.internal_addr());
    assert_eq!(callee.register(&spec.callee.0, &spec.callee.1), StatusCode::OK);
    let (caller_rtp, caller_rtcp) = rtp_rtcp_sockets();
    let (callee_rtp, callee_rtcp) = rtp_rtcp_sockets();
    let mut caller = Ua::udp(sw.internal_addr());
    let mut invite = caller.invite("1002", &spec.dialled);
    let port = caller_rtp.local_addr().expect("addr").port();
    invite.body = Bytes::from(spec.offer.body("caller", 1, port, "sendrecv"));
    let invite = authorized_invite(&mut caller, &invite);
    caller.send(&invite);

    // The callee is offered the switch's address, not the caller's.
    let b_invite = next_request(&mut callee, Method::INVITE);
    let b_media = sdp_rtp(&b_invite.body);
    assert!(
        (lo..=hi).contains(&b_media.port()),
        "B offer port {b_media} in {lo}-{hi}"
    );
    assert_ne!(b_media.port(), port);
    let mut ok = Message::response_to(&b_invite, StatusCode::OK, None, Some("callee1"));
    ok.headers
        .push(HeaderName::Contact, format!("<{}>", callee.contact_uri(&spec.callee.0)));
    ok.headers.push(HeaderName::ContentType, "application/sdp");
    let port = callee_rtp.local_addr().expect("addr").port();
    ok.body = Bytes::from(spec.answer.body("callee", 7, port, "sendrecv"));
    callee.send(&ok);

    // The caller's answer names the switch too, on another port.
    let a_ok = next_final(&mut caller);
    assert_eq!(ua::code(&a_ok), 200, "{}", ua::text(&a_ok));
    let a_media = sdp_rtp(&a_ok.body);
    assert!(
        (lo..=hi).contains(&a_media.port()) && a_media.port() != b_media.port(),
        "{a_media} vs {b_media}"
    );
    ack_2xx(&mut caller, &invite, &a_ok);
    next_request(&mut callee, Method::ACK);
    let cseq = invite.envelope().expect("envelope").cseq.seq;
    Call {
        caller,
        callee,
        caller_rtp,
        callee_rtp,
        caller_rtcp,
        callee_rtcp,
        invite,
        a_ok,
        b_invite,
        a_media,
        b_media,
        cseq,
    }
}

impl Call {
    /// A new in-dialog request from the caller (next CSeq), no body.
    pub fn caller_request(&mut self, method: Method) -> Message {
        self.cseq += 1;
        let mut m = Message::request(method.clone(), contact_target(&self.a_ok));
        m.headers.push(HeaderName::Via, self.caller.new_via());
        m.headers.push(
            HeaderName::From,
            self.invite.headers.get(&HeaderName::From).expect("From").clone(),
        );
        m.headers.push(
            HeaderName::To,
            self.a_ok.headers.get(&HeaderName::To).expect("To").clone(),
        );
        m.headers.push(
            HeaderName::CallId,
            self.invite.headers.get(&HeaderName::CallId).expect("Call-ID").clone(),
        );
        m.headers.push(
            HeaderName::CSeq,
            format!("{} {}", self.cseq, String::from_utf8_lossy(method.as_bytes())),
        );
        m.headers.push(HeaderName::MaxForwards, "70");
        m.headers
            .push(HeaderName::Contact, format!("<{}>", self.caller.contact_uri("1002")));
        m
    }

    /// A new in-dialog request from the callee (1001, To tag `callee1`)
    /// with CSeq `cseq`, no body.
    pub fn callee_request(&mut self, method: Method, cseq: u32) -> Message {
        let b = &self.b_invite;
        let mut m = Message::request(method.clone(), contact_target(b));
        m.headers.push(HeaderName::Via, self.callee.new_via());
        let to = b.headers.get(&HeaderName::To).expect("To").clone();
        m.headers.push(
            HeaderName::From,
            format!("{};tag=callee1", String::from_utf8_lossy(&to)),
        );
        m.headers
            .push(HeaderName::To, b.headers.get(&HeaderName::From).expect("From").clone());
        m.headers.push(
            HeaderName::CallId,
            b.headers.get(&HeaderName::CallId).expect("Call-ID").clone(),
        );
        m.headers.push(
            HeaderName::CSeq,
            format!("{cseq} {}", String::from_utf8_lossy(method.as_bytes())),
        );
        m.headers.push(HeaderName::MaxForwards, "70");
        m.headers
            .push(HeaderName::Contact, format!("<{}>", self.callee.contact_uri("1001")));
        m
    }

    /// The caller hangs up: BYE answered 200, the callee gets the switch's
    /// BYE and answers it.
    pub fn hang_up(&mut self) {
        let bye = self.caller_request(Method::BYE);
        let ok = self.caller.transact(&bye, ua::TIMEOUT).expect("the BYE is answered");
        assert_eq!(ua::code(&ok), 200, "{}", ua::text(&ok));
        let b_bye = next_request(&mut self.callee, Method::BYE);
        self.callee.reply(&b_bye, StatusCode::OK, None);
    }
}

// ---------------------------------------------------------------------------
// RTP out
// ---------------------------------------------------------------------------

/// An RTP packet (RFC 3550 §5.1, no CSRC, no extension).
pub fn rtp_packet(marker: bool, pt: u8, seq: u16, ts: u32, ssrc: u32, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![0x80, pt | if marker { 0x80 } else { 0 }];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&ts.to_be_bytes());
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend_from_slice(payload);
    p
}

/// 20 ms payloads, one per call; `None` ends the stream.
pub type Source = Box<dyn FnMut() -> Option<Vec<u8>> + Send>;

/// The header fields of a stream a [`Sender`] sends.
#[derive(Clone, Copy, Debug)]
pub struct Stream {
    pub ssrc: u32,
    pub pt: u8,
    /// Timestamp units per 20 ms packet (160 at 8 kHz, 960 for Opus).
    pub ts_step: u32,
}

impl Stream {
    pub fn pcmu(ssrc: u32) -> Stream {
        Stream {
            ssrc,
            pt: 0,
            ts_step: 160,
        }
    }

    pub fn opus(ssrc: u32) -> Stream {
        Stream {
            ssrc,
            pt: 111,
            ts_step: 960,
        }
    }
}

/// A thread sending one RTP stream from a [`Source`] to `to`, one packet
/// every 20 ms of real time (a fixed schedule: a late wake-up does not
/// shift the packets after it), until stopped or the source ends.
pub struct Sender {
    stop: Arc<AtomicBool>,
    sent: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
}

impl Sender {
    pub fn spawn(sock: &UdpSocket, to: SocketAddr, stream: Stream, mut source: Source) -> Sender {
        let sock = sock.try_clone().expect("clone socket");
        let stop = Arc::new(AtomicBool::new(false));
        let sent = Arc::new(AtomicU64::new(0));
        let (stop2, sent2) = (stop.clone(), sent.clone());
        let thread = std::thread::spawn(move || {
            let start = Instant::now();
            let mut i: u32 = 0;
            while !stop2.load(Ordering::Relaxed) {
                let Some(payload) = source() else { break };
                let pkt = rtp_packet(
                    i == 0,
                    stream.pt,
                    i as u16,
                    i.wrapping_mul(stream.ts_step),
                    stream.ssrc,
                    &payload,
                );
                let _ = sock.send_to(&pkt, to);
                sent2.fetch_add(1, Ordering::Relaxed);
                i += 1;
                let next = start + FRAME * i;
                let now = Instant::now();
                if next > now {
                    std::thread::sleep(next - now);
                }
            }
        });
        Sender {
            stop,
            sent,
            thread: Some(thread),
        }
    }

    /// Packets sent so far.
    pub fn sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    /// True once the source has ended (or the sender was stopped).
    pub fn finished(&self) -> bool {
        self.thread.as_ref().is_none_or(|t| t.is_finished())
    }

    /// Stops sending; the number of packets sent.
    pub fn stop(mut self) -> u64 {
        self.halt();
        self.sent()
    }

    fn halt(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Sender {
    fn drop(&mut self) {
        self.halt();
    }
}

/// A steady G.711 µ-law tone, 160 samples a packet.
pub fn pcmu_tone(freq: f64, dbfs: f64) -> Source {
    let mut gen = ToneGenerator::sine(freq, dbfs, 8000);
    Box::new(move || {
        let mut pcm = [0i16; 160];
        gen.fill(&mut pcm);
        Some(pcm.iter().map(|&s| g711::ulaw_from_linear(s)).collect())
    })
}

/// The frequency of a [`pcmu_tone_dial`] source, changed while it plays.
#[derive(Clone, Debug)]
pub struct ToneDial(Arc<AtomicU64>);

impl ToneDial {
    pub fn new(freq: f64) -> ToneDial {
        ToneDial(Arc::new(AtomicU64::new(freq.to_bits())))
    }

    /// The next packet carries `freq`.
    pub fn set(&self, freq: f64) {
        self.0.store(freq.to_bits(), Ordering::Relaxed);
    }

    pub fn get(&self) -> f64 {
        f64::from_bits(self.0.load(Ordering::Relaxed))
    }
}

/// A G.711 µ-law tone whose frequency follows `dial`, 160 samples a packet.
pub fn pcmu_tone_dial(dial: ToneDial, dbfs: f64) -> Source {
    let mut freq = dial.get();
    let mut gen = ToneGenerator::sine(freq, dbfs, 8000);
    Box::new(move || {
        if dial.get() != freq {
            freq = dial.get();
            gen = ToneGenerator::sine(freq, dbfs, 8000);
        }
        let mut pcm = [0i16; 160];
        gen.fill(&mut pcm);
        Some(pcm.iter().map(|&s| g711::ulaw_from_linear(s)).collect())
    })
}

/// A steady tone encoded with Opus at 48 kHz, 20 ms a packet.
pub fn opus_tone(freq: f64, dbfs: f64) -> Source {
    let mut gen = ToneGenerator::sine(freq, dbfs, 48000);
    let mut enc = OpusEncoder::new(SampleRate::Hz48000, OpusConfig::default()).expect("Opus encoder");
    Box::new(move || {
        let mut pcm = [0i16; 960];
        gen.fill(&mut pcm);
        let mut out = [0u8; MAX_PACKET];
        let n = enc.encode(&pcm, &mut out).expect("Opus encodes");
        Some(out[..n].to_vec())
    })
}

/// `pcm` (48 kHz) encoded with Opus at `bitrate`, 20 ms a packet, then the end.
pub fn opus_pcm(pcm: Vec<i16>, bitrate: i32) -> Source {
    let config = OpusConfig {
        bitrate,
        ..OpusConfig::default()
    };
    let mut enc = OpusEncoder::new(SampleRate::Hz48000, config).expect("Opus encoder");
    let mut frames = pcm
        .chunks_exact(960)
        .map(<[i16]>::to_vec)
        .collect::<Vec<_>>()
        .into_iter();
    Box::new(move || {
        let frame = frames.next()?;
        let mut out = [0u8; MAX_PACKET];
        let n = enc.encode(&frame, &mut out).expect("Opus encodes");
        Some(out[..n].to_vec())
    })
}

// ---------------------------------------------------------------------------
// RTP in
// ---------------------------------------------------------------------------

/// A received RTP packet.
#[derive(Clone, Debug)]
pub struct Rtp {
    pub marker: bool,
    pub pt: u8,
    pub seq: u16,
    pub ts: u32,
    pub ssrc: u32,
    pub payload: Vec<u8>,
    /// When the receiving thread read it.
    pub at: Instant,
}

impl Rtp {
    pub fn parse(p: &[u8], at: Instant) -> Option<Rtp> {
        let h = RtpHeader::parse(p).ok()?;
        Some(Rtp {
            marker: h.marker,
            pt: h.payload_type,
            seq: h.sequence,
            ts: h.timestamp,
            ssrc: h.ssrc,
            payload: p.get(h.payload_offset..h.payload_end)?.to_vec(),
            at,
        })
    }
}

/// A thread receiving the RTP a leg gets from `from` (the switch's media
/// address of that leg; datagrams from anywhere else, and RTCP, are
/// ignored), in arrival order. Everything returned is also kept in
/// [`Receiver::history`].
pub struct Receiver {
    rx: mpsc::Receiver<Rtp>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    /// Every packet handed out so far, in order.
    pub history: Vec<Rtp>,
}

impl Receiver {
    pub fn spawn(sock: &UdpSocket, from: SocketAddr) -> Receiver {
        let sock = sock.try_clone().expect("clone socket");
        sock.set_read_timeout(Some(Duration::from_millis(50))).expect("timeout");
        let (tx, rx) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut buf = [0u8; 2048];
            while !stop2.load(Ordering::Relaxed) {
                let Ok((n, src)) = sock.recv_from(&mut buf) else {
                    continue;
                };
                let at = Instant::now();
                // RTCP (RFC 5761 §4: packet types 192-223) is not RTP.
                if src != from || n < 12 || (192..=223).contains(&buf[1]) {
                    continue;
                }
                if let Some(p) = Rtp::parse(&buf[..n], at) {
                    if tx.send(p).is_err() {
                        break;
                    }
                }
            }
        });
        Receiver {
            rx,
            stop,
            thread: Some(thread),
            history: Vec::new(),
        }
    }

    /// The next packet within `timeout`.
    pub fn next(&mut self, timeout: Duration) -> Option<Rtp> {
        let p = self.rx.recv_timeout(timeout).ok()?;
        self.history.push(p.clone());
        Some(p)
    }

    /// The next `n` packets; panics naming `what` if they do not come
    /// within [`MEDIA_TIMEOUT`] of each other.
    pub fn take(&mut self, n: usize, what: &str) -> Vec<Rtp> {
        (0..n)
            .map(|i| {
                self.next(MEDIA_TIMEOUT)
                    .unwrap_or_else(|| panic!("{what}: only {i} of {n} packets arrived"))
            })
            .collect()
    }

    /// The first packet for which `pred` holds, within `timeout`; the
    /// packets before it are in [`Receiver::history`].
    pub fn wait_for(&mut self, timeout: Duration, mut pred: impl FnMut(&Rtp) -> bool) -> Option<Rtp> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let p = self.next(left)?;
            if pred(&p) {
                return Some(p);
            }
        }
    }

    /// Packets until none came for `quiet`.
    pub fn until_quiet(&mut self, quiet: Duration) -> Vec<Rtp> {
        std::iter::from_fn(|| self.next(quiet)).collect()
    }

    /// What has arrived so far, without waiting.
    pub fn drain(&mut self) -> Vec<Rtp> {
        let got: Vec<Rtp> = self.rx.try_iter().collect();
        self.history.extend(got.iter().cloned());
        got
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// G.711 µ-law payloads decoded, in order.
pub fn decode_pcmu(packets: &[Rtp]) -> Vec<i16> {
    packets
        .iter()
        .flat_map(|p| p.payload.iter().map(|&b| g711::ulaw_to_linear(b)))
        .collect()
}

/// Opus payloads decoded at 48 kHz by one decoder, in order.
pub fn decode_opus(packets: &[Rtp]) -> Vec<i16> {
    let mut dec = OpusDecoder::new(SampleRate::Hz48000).expect("Opus decoder");
    let mut out = Vec::new();
    let mut pcm = vec![0i16; 5760];
    for p in packets {
        let n = dec.decode(&p.payload, &mut pcm).expect("the switch's Opus decodes");
        out.extend_from_slice(&pcm[..n]);
    }
    out
}

/// Asserts `packets` are one stream: one SSRC, consecutive sequence numbers.
pub fn assert_one_stream(packets: &[Rtp], what: &str) {
    let Some(first) = packets.first() else { return };
    for (i, p) in packets.iter().enumerate() {
        assert_eq!(p.ssrc, first.ssrc, "{what}: packet {i} has another SSRC");
        assert_eq!(
            p.seq,
            first.seq.wrapping_add(i as u16),
            "{what}: packet {i} breaks the sequence"
        );
    }
}

// ---------------------------------------------------------------------------
// Control API, WAV
// ---------------------------------------------------------------------------

/// One HTTP/1.1 request to the switch's control API with an optional JSON
/// body: (status, JSON body).
pub fn api(sw: &Switch, method: &str, path: &str, body: Option<&str>) -> (u16, serde_json::Value) {
    let auth = format!("Bearer {}", super::desk::ADMIN);
    let r = super::desk::http(
        sw.api_addr(),
        method,
        path,
        &[("Authorization", &auth)],
        body.map(str::as_bytes),
    );
    (r.status, r.json())
}

/// `POST path` (with `body`), asserting 200; the call summary it returns.
pub fn post_ok(sw: &Switch, path: &str, body: Option<&str>) -> serde_json::Value {
    let (status, json) = api(sw, "POST", path, body);
    assert_eq!(status, 200, "POST {path}: {json}");
    json
}

/// The id of the only live call (`GET /calls`).
pub fn only_call_id(sw: &Switch) -> u64 {
    let (status, json) = api(sw, "GET", "/calls", None);
    assert_eq!(status, 200, "{json}");
    let calls = json["calls"].as_array().expect("a calls array");
    assert_eq!(calls.len(), 1, "{json}");
    calls[0]["id"].as_u64().expect("a numeric id")
}

/// An 8 kHz 16-bit WAV's channels (one Vec per channel).
pub fn read_wav(path: &Path) -> Vec<Vec<i16>> {
    let mut r = hound::WavReader::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let spec = r.spec();
    assert_eq!(
        (spec.sample_rate, spec.bits_per_sample),
        (8000, 16),
        "{}: {spec:?}",
        path.display()
    );
    let n = usize::from(spec.channels);
    let samples: Vec<i16> = r.samples::<i16>().map(|s| s.expect("a sample")).collect();
    (0..n)
        .map(|c| samples.iter().skip(c).step_by(n).copied().collect())
        .collect()
}
