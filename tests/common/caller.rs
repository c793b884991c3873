//! A customer calling through the trusted trunk (external profile) who
//! hears the switch and keys digits: entry points' menus and voicemail
//! (issue 14). Keys go as SIP INFO (`application/dtmf-relay`) in the early
//! dialog of the switch's 183, or in the confirmed dialog once answered.

use super::media::{ack_2xx, contact_target, pcmu_tone, rtp_rtcp_sockets, sdp_rtp, AudioSdp, Sender, Stream};
use super::ua::{self, Ua};
use super::{wait_until, Switch};
use bytes::Bytes;
use std::net::UdpSocket;
use std::time::{Duration, Instant};
use switchboard::sip::msg::{HeaderName, Message, Method, StatusCode};

/// How long a message may take to arrive.
const EVENT: Duration = Duration::from_secs(15);

/// The first message on `ua` within `timeout` that `pred` takes; panics naming `what`.
pub fn recv_where(ua: &mut Ua, what: &str, timeout: Duration, mut pred: impl FnMut(&Message) -> bool) -> Message {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if let Some(m) = ua.recv(Duration::from_millis(200)) {
            if pred(&m) {
                return m;
            }
        }
    }
    panic!("{what}: nothing within {timeout:?}");
}

/// The customer, its INVITE, the response that made its dialog (the 183,
/// then the 200), its CSeq and its RTP sockets.
pub struct Caller {
    pub ua: Ua,
    pub invite: Message,
    pub dialog: Message,
    pub cseq: u32,
    pub rtp: (UdpSocket, UdpSocket),
}

impl Caller {
    /// Calls `number` from `from` with a PCMU + telephone-event offer and
    /// waits for the switch's 183 with its SDP (early media).
    pub fn call_to(sw: &Switch, from: &str, number: &str) -> Caller {
        let rtp = rtp_rtcp_sockets();
        let mut ua = Ua::udp(sw.external_addr());
        let mut invite = ua.invite(from, number);
        let port = rtp.0.local_addr().expect("addr").port();
        invite.body = Bytes::from(AudioSdp::pcmu().body("customer", 1, port, "sendrecv"));
        ua.send(&invite);
        let early = recv_where(&mut ua, "the 183", EVENT, |m| ua::code(m) == 183);
        assert!(
            String::from_utf8_lossy(&early.body).contains("m=audio"),
            "{}",
            ua::text(&early)
        );
        Caller {
            ua,
            invite,
            dialog: early,
            cseq: 1,
            rtp,
        }
    }

    /// Waits for the 200 to the INVITE, ACKs it; the dialog is the confirmed one.
    pub fn answered(&mut self, what: &str, timeout: Duration) -> Message {
        let ok = recv_where(&mut self.ua, what, timeout, |m| {
            ua::code(m) == 200 && ua::cseq_of(m).is_some_and(|c| c.method == Method::INVITE)
        });
        ack_2xx(&mut self.ua, &self.invite, &ok);
        self.dialog = ok.clone();
        ok
    }

    /// Keys `digit` with SIP INFO in the dialog; the switch answers 200.
    pub fn info_key(&mut self, digit: char) {
        self.cseq += 1;
        let mut info = Message::request(Method::INFO, contact_target(&self.dialog));
        info.headers.push(HeaderName::Via, self.ua.new_via());
        for name in [HeaderName::From, HeaderName::CallId] {
            let v = self.invite.headers.get(&name).expect("header").clone();
            info.headers.push(name, v);
        }
        info.headers.push(
            HeaderName::To,
            self.dialog.headers.get(&HeaderName::To).expect("To").clone(),
        );
        info.headers.push(HeaderName::CSeq, format!("{} INFO", self.cseq));
        info.headers.push(HeaderName::MaxForwards, "70");
        info.headers.push(HeaderName::ContentType, "application/dtmf-relay");
        info.body = Bytes::from(format!("Signal={digit}\r\nDuration=160\r\n"));
        self.ua.send(&info);
        let seq = self.cseq;
        let ok = recv_where(&mut self.ua, "the 200 to INFO", EVENT, |m| {
            ua::cseq_of(m).is_some_and(|c| c.method == Method::INFO && c.seq == seq)
        });
        assert_eq!(ua::code(&ok), 200, "{}", ua::text(&ok));
    }

    /// Waits for an RTP packet from the switch's media address (its prompts).
    pub fn hears_the_switch(&mut self) {
        let from = sdp_rtp(&self.dialog.body);
        let deadline = Instant::now() + EVENT;
        let mut buf = [0u8; 2048];
        self.rtp
            .0
            .set_read_timeout(Some(Duration::from_millis(200)))
            .expect("timeout");
        while Instant::now() < deadline {
            if let Ok((n, src)) = self.rtp.0.recv_from(&mut buf) {
                if src == from && n > 12 {
                    return;
                }
            }
        }
        panic!("no prompt audio from {from}");
    }

    /// Voicemail answers (the flow led there): after the greeting and the
    /// tone the caller says 2 s of 440 Hz, keys `#`, and answers the
    /// switch's BYE after "message saved".
    pub fn leaves_a_message(&mut self, sw: &Switch) {
        let ok = self.answered("voicemail's 200", Duration::from_secs(40));
        assert!(
            sw.wait_for_log("recording a voicemail", Duration::from_secs(40)),
            "the recording starts after the greeting and the tone"
        );
        let voice = Sender::spawn(
            &self.rtp.0,
            sdp_rtp(&ok.body),
            Stream::pcmu(0x5eed),
            pcmu_tone(440.0, -12.0),
        );
        assert!(
            wait_until(Duration::from_secs(10), || voice.sent() >= 100),
            "2 s of voice sent"
        );
        voice.stop();
        self.info_key('#');
        let bye = recv_where(&mut self.ua, "the switch's BYE", Duration::from_secs(20), |m| {
            m.method() == Some(&Method::BYE)
        });
        self.ua.reply(&bye, StatusCode::OK, None);
    }
}

/// A voicemail WAV of [`Caller::leaves_a_message`]: 8 kHz mono 16-bit
/// holding at least a second of the caller's 440 Hz (about 880 zero
/// crossings a second once the voice starts), not the switch's prompts.
pub fn assert_callers_tone(wav: &[u8]) {
    let mut reader = hound::WavReader::new(std::io::Cursor::new(wav)).expect("a WAV");
    let spec = reader.spec();
    assert_eq!((spec.sample_rate, spec.channels, spec.bits_per_sample), (8000, 1, 16));
    let samples: Vec<i16> = reader.samples::<i16>().map(|s| s.expect("sample")).collect();
    let start = samples
        .iter()
        .position(|s| s.unsigned_abs() > 2000)
        .expect("the caller's voice");
    let part = &samples[start..(start + 8000).min(samples.len())];
    assert_eq!(part.len(), 8000, "at least 1 s after the voice starts");
    let crossings = part.windows(2).filter(|w| (w[0] < 0) != (w[1] < 0)).count();
    assert!(
        (800..=960).contains(&crossings),
        "{crossings} zero crossings in 1 s: not the caller's 440 Hz"
    );
}
