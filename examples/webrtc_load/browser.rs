//! What the generator's browsers say in SDP and over SIP: their WebRTC
//! offers (caller side) and answers (callee side) in the form Chromium
//! sends them (RFC 8829, RFC 8839, RFC 8842), the reading of the switch's
//! WebRTC SDP, and the callee browser's signalling: one SIP-over-WebSocket
//! connection (RFC 7118) registered with digest as a user, answering every
//! INVITE the switch sends it.

use super::common::rtp::io;
use super::common::uac::sdp_rtp;
use super::common::uas::UasStats;
use super::media::{LegPlan, WebrtcPlan, OPUS_PT};
use bytes::Bytes;
use std::io::ErrorKind;
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use switchboard::sip::auth::DigestClient;
use switchboard::sip::msg::{parse_datagram, HeaderName, Limits, Message, Method, StatusCode};
use switchboard::webrtc::dtls::Fingerprint;
use tungstenite::client::IntoClientRequest;
use tungstenite::http::HeaderValue;
use tungstenite::WebSocket;

/// Every browser leg's ice-pwd (22+ ice-chars, RFC 8839 §5.4).
pub const ICE_PWD: &str = "webrtcloadgeneratorpwd0";

/// A browser's ice-ufrag for call `idx` on one side (`c` caller, `b` callee).
pub fn ufrag(side: char, idx: usize) -> String {
    format!("{side}{idx:07}")
}

/// The caller browser's offer for call `idx`: Opus (and telephone-event),
/// `setup:actpass`, one host candidate on `port`.
pub fn offer(idx: usize, port: u16, fingerprint: &Fingerprint) -> String {
    sdp(idx, port, &ufrag('c', idx), fingerprint, "actpass", "0", OPUS_PT, true)
}

/// The callee browser's answer for call `idx` to the switch's offer (its
/// `mid`, its Opus payload type), `setup:active` (RFC 5763 §5).
pub fn answer(idx: usize, port: u16, fingerprint: &Fingerprint, mid: &str, opus_pt: u8) -> String {
    sdp(idx, port, &ufrag('b', idx), fingerprint, "active", mid, opus_pt, false)
}

#[allow(clippy::too_many_arguments)]
fn sdp(
    idx: usize,
    port: u16,
    ufrag: &str,
    fingerprint: &Fingerprint,
    setup: &str,
    mid: &str,
    opus_pt: u8,
    events: bool,
) -> String {
    let (pts, event_lines) = if events {
        (
            format!("{opus_pt} 126"),
            "a=rtpmap:126 telephone-event/48000\r\na=fmtp:126 0-16\r\n",
        )
    } else {
        (opus_pt.to_string(), "")
    };
    format!(
        "v=0\r\no=- {id} 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE {mid}\r\n\
         m=audio {port} UDP/TLS/RTP/SAVPF {pts}\r\nc=IN IP4 127.0.0.1\r\n\
         a=mid:{mid}\r\na=ice-ufrag:{ufrag}\r\na=ice-pwd:{ICE_PWD}\r\na=fingerprint:{fingerprint}\r\n\
         a=setup:{setup}\r\na=rtcp-mux\r\na=sendrecv\r\n\
         a=rtpmap:{opus_pt} opus/48000/2\r\na=fmtp:{opus_pt} minptime=10;useinbandfec=1\r\n{event_lines}\
         a=ssrc:{ssrc} cname:webrtc-load\r\n\
         a=candidate:1 1 udp 2130706431 127.0.0.1 {port} typ host\r\na=end-of-candidates\r\n",
        id = 1000 + idx,
        ssrc = 0x1000_0000 | idx,
    )
}

/// The switch's side of a WebRTC leg from its SDP (offer or answer), for
/// our browser `our_ufrag`; `None` when the SDP is not WebRTC.
pub fn switch_leg(idx: usize, sdp: &[u8], our_ufrag: &str) -> Option<LegPlan> {
    let text = std::str::from_utf8(sdp).ok()?;
    let attr = |name: &'static str| {
        text.lines()
            .filter_map(move |l| l.trim_end().strip_prefix("a=")?.strip_prefix(name))
            .map(str::to_string)
    };
    let ice_ufrag = attr("ice-ufrag:").next()?;
    let password = attr("ice-pwd:").next()?;
    let fingerprints: Vec<Fingerprint> = attr("fingerprint:").filter_map(|f| Fingerprint::parse(&f)).collect();
    if fingerprints.is_empty() {
        return None;
    }
    Some(LegPlan {
        idx: idx as u32,
        remote: sdp_rtp(sdp)?,
        webrtc: Some(WebrtcPlan {
            username: format!("{ice_ufrag}:{our_ufrag}"),
            password,
            fingerprints,
        }),
    })
}

/// The offer's `a=mid` and its Opus payload type.
fn mid_and_opus(sdp: &[u8]) -> Option<(String, u8)> {
    let text = std::str::from_utf8(sdp).ok()?;
    let mid = text.lines().find_map(|l| l.trim_end().strip_prefix("a=mid:"))?;
    let pt = text.lines().find_map(|l| {
        let (pt, codec) = l.trim_end().strip_prefix("a=rtpmap:")?.split_once(' ')?;
        codec
            .to_ascii_lowercase()
            .starts_with("opus/")
            .then(|| pt.parse().ok())?
    })?;
    Some((mid.to_string(), pt))
}

/// The callee browser: one registered SIP-over-WebSocket connection.
pub struct WsBrowser {
    ws: WebSocket<TcpStream>,
    user: String,
    domain: SocketAddr,
    rtp_port: u16,
    fingerprint: Fingerprint,
    limits: Limits,
    seq: u32,
}

impl WsBrowser {
    /// Opens the WebSocket to `addr` (subprotocol `sip`) and registers
    /// `user` with `password` (digest, RFC 3261 §22).
    pub fn register(
        addr: SocketAddr,
        user: &str,
        password: &str,
        rtp_port: u16,
        fingerprint: Fingerprint,
    ) -> Result<WsBrowser, String> {
        let stream = TcpStream::connect(addr).map_err(io(format!("connect to the WebSocket {addr}")))?;
        let _ = stream.set_nodelay(true);
        let mut req = format!("ws://{addr}/")
            .into_client_request()
            .map_err(|e| e.to_string())?;
        req.headers_mut()
            .insert("Sec-WebSocket-Protocol", HeaderValue::from_static("sip"));
        let (ws, _) = tungstenite::client(req, stream).map_err(|e| format!("WebSocket handshake: {e}"))?;
        let mut b = WsBrowser {
            ws,
            user: user.to_string(),
            domain: addr,
            rtp_port,
            fingerprint,
            limits: Limits::default(),
            seq: 0,
        };
        b.ws.get_ref()
            .set_read_timeout(Some(Duration::from_millis(50)))
            .map_err(io("WebSocket socket"))?;
        let req = b.register_request(None);
        let first = b.transact(req)?;
        let code = first.status().map(|s| s.as_u16()).unwrap_or(0);
        let last = if code == 401 || code == 407 {
            let ruri = format!("sip:{}", b.domain);
            let (name, value) = DigestClient::authorize(&first, &Method::REGISTER, &ruri, user, password, "0a4f113b")
                .ok_or("the REGISTER challenge cannot be answered")?;
            let req = b.register_request(Some((name, value)));
            b.transact(req)?
        } else {
            first
        };
        match last.status() {
            Some(s) if s.is_success() => Ok(b),
            s => Err(format!(
                "REGISTER of {user} over the WebSocket: {}",
                s.map(|s| s.as_u16()).unwrap_or(0)
            )),
        }
    }

    fn register_request(&mut self, auth: Option<(HeaderName, Bytes)>) -> String {
        self.seq += 1;
        let auth = auth
            .map(|(n, v)| format!("{}: {}\r\n", n.as_str(), String::from_utf8_lossy(&v)))
            .unwrap_or_default();
        format!(
            "REGISTER sip:{d} SIP/2.0\r\nVia: SIP/2.0/WS load.invalid;branch=z9hG4bK-wl-reg-{s}\r\n\
             Max-Forwards: 70\r\nFrom: <sip:{u}@{d}>;tag=wl-reg\r\nTo: <sip:{u}@{d}>\r\n\
             Call-ID: wl-reg-{pid}@load.invalid\r\nCSeq: {s} REGISTER\r\n\
             Contact: <sip:{u}@load.invalid;transport=ws>\r\nExpires: 3600\r\n{auth}Content-Length: 0\r\n\r\n",
            d = self.domain,
            u = self.user,
            s = self.seq,
            pid = std::process::id(),
        )
    }

    /// Sends a request and waits up to 5 s for its final response.
    fn transact(&mut self, text: String) -> Result<Message, String> {
        self.ws
            .send(tungstenite::Message::text(text))
            .map_err(|e| format!("WebSocket send: {e}"))?;
        let until = Instant::now() + Duration::from_secs(5);
        while Instant::now() < until {
            if let Some(m) = self.recv()? {
                if m.status().is_some_and(|s| s.is_final()) {
                    return Ok(m);
                }
            }
        }
        Err("no response over the WebSocket in 5 s".into())
    }

    /// The next SIP message, or `None` after 50 ms without one.
    fn recv(&mut self) -> Result<Option<Message>, String> {
        match self.ws.read() {
            Ok(tungstenite::Message::Text(t)) => {
                Ok(parse_datagram(Bytes::copy_from_slice(t.as_bytes()), &self.limits).ok())
            }
            Ok(tungstenite::Message::Close(_)) => Err("the switch closed the WebSocket".into()),
            Ok(_) => Ok(None),
            Err(tungstenite::Error::Io(e)) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                Ok(None)
            }
            Err(e) => Err(format!("WebSocket: {e}")),
        }
    }

    fn send(&mut self, m: &Message) {
        let text = String::from_utf8_lossy(&m.to_bytes()).into_owned();
        if let Err(e) = self.ws.send(tungstenite::Message::text(text)) {
            eprintln!("WebSocket send: {e}");
        }
    }

    /// Answers until `stop`: every INVITE from the switch (the call index
    /// is the From user after `from_prefix`) gets 200 with a WebRTC answer
    /// and its leg goes to `report`; BYE and anything else get 200.
    pub fn serve(
        mut self,
        from_prefix: &str,
        stop: &AtomicBool,
        report: &mpsc::Sender<(usize, LegPlan)>,
    ) -> Result<UasStats, String> {
        let mut stats = UasStats::default();
        while !stop.load(Ordering::Relaxed) {
            let Some(req) = self.recv()? else { continue };
            let Some(method) = req.method().cloned() else { continue };
            if method == Method::ACK {
                continue;
            }
            if method != Method::INVITE {
                stats.byes += usize::from(method == Method::BYE);
                let resp = Message::response_to(&req, StatusCode::OK, None, Some("wl-callee"));
                self.send(&resp);
                continue;
            }
            let idx = from_user(&req).and_then(|u| u.strip_prefix(from_prefix)?.parse::<usize>().ok());
            let leg = idx.and_then(|i| Some((i, mid_and_opus(&req.body)?, switch_leg(i, &req.body, &ufrag('b', i))?)));
            let Some((idx, (mid, pt), leg)) = leg else {
                eprintln!("callee: an INVITE that is not a WebRTC offer for a load call");
                let resp = Message::response_to(&req, StatusCode::NOT_ACCEPTABLE_HERE, None, Some("wl-callee"));
                self.send(&resp);
                continue;
            };
            let mut resp = Message::response_to(&req, StatusCode::OK, None, Some(&format!("wl-callee-{idx}")));
            resp.headers.push(
                HeaderName::Contact,
                format!("<sip:{}@load.invalid;transport=ws>", self.user),
            );
            resp.headers.push(HeaderName::ContentType, "application/sdp");
            resp.body = Bytes::from(answer(idx, self.rtp_port, &self.fingerprint, &mid, pt));
            self.send(&resp);
            stats.invites += 1;
            let _ = report.send((idx, leg));
        }
        Ok(stats)
    }
}

/// The user part of a request's From URI.
fn from_user(req: &Message) -> Option<String> {
    let from = String::from_utf8_lossy(req.headers.get(&HeaderName::From)?).into_owned();
    let rest = &from[from.find("sip:")? + 4..];
    Some(rest[..rest.find('@')?].to_string())
}
