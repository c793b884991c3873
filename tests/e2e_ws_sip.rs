//! Issue 12 item 1: SIP over WebSocket (RFC 7118), `ws` and `wss`, with
//! the real switch and a WebSocket client written here (tungstenite,
//! blocking, the way a browser's SIP stack such as JsSIP talks: Via
//! `SIP/2.0/WS <random>.invalid`, Contact `sip:<random>@<random>.invalid;
//! transport=ws`).
//!
//! * the handshake needs the `sip` subprotocol (400 without it) and an
//!   `Origin` of `ws_origins` (403 otherwise);
//! * REGISTER over the WebSocket is challenged and accepted like any phone
//!   (digest, RFC 3261 §22; a wrong password is refused);
//! * a UDP phone calls the WebSocket phone: the INVITE, the ACK and the
//!   BYE reach it over its own WebSocket (the `.invalid` host is never
//!   resolved), with our Via `SIP/2.0/WS` and Contact `;transport=ws`;
//!   the same over `wss` with the test certificate;
//! * a message over 64 KiB closes that connection and nothing else; a
//!   garbage message is dropped, a bad Content-Length gets 400, and the
//!   connection keeps serving;
//! * once the WebSocket is closed, a call to its extension fails at once.

mod common;

use bytes::Bytes;
use common::media::{ack_2xx, authorized_invite_as, caller_in_dialog, next_final, AudioSdp};
use common::ua::{self, rand_hex, Ua};
use common::*;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use std::collections::VecDeque;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};
use switchboard::sip::auth::DigestClient;
use switchboard::sip::msg::typed::{CSeq, Challenge};
use switchboard::sip::msg::{parse_datagram, HeaderName, Limits, Message, Method, StatusCode};
use tungstenite::client::IntoClientRequest;
use tungstenite::http::HeaderValue;
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::WebSocket;

const T: Duration = Duration::from_secs(10);

/// The origin `ws_origins` allows in these tests.
const DESK: &str = "https://desk.example.com";

/// Limits for what we read (larger than the switch's).
const READ_LIMITS: Limits = Limits {
    max_message: 1 << 20,
    max_headers: 4096,
};

/// The switch's WebSocket listeners and the certificate of the wss one.
struct Listeners {
    ws: SocketAddr,
    wss: SocketAddr,
    ca_pem: String,
}

/// The default config with `ws` and `wss` on the internal profile at free
/// ports, the test certificate, and `ws_origins = [DESK]`.
fn ws_config() -> (ConfigDir, Listeners) {
    let cfg = ConfigDir::from_default();
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).expect("cert");
    std::fs::write(cfg.path().join("sip.pem"), ck.cert.pem()).expect("cert");
    std::fs::write(cfg.path().join("sip.key"), ck.signing_key.serialize_pem()).expect("key");
    let ws = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let wss = SocketAddr::from(([127, 0, 0, 1], free_port()));
    cfg.patch(
        "internal.toml",
        "transports = [\"udp\", \"tcp\"]",
        &format!(
            "transports = [\"udp\", \"tcp\", \"ws\", \"wss\"]\nws_listen = [\"{ws}\"]\nwss_listen = [\"{wss}\"]\n\
             tls_certificate = \"sip.pem\"\ntls_key = \"sip.key\"\nws_origins = [\"{DESK}\"]"
        ),
    );
    (
        cfg,
        Listeners {
            ws,
            wss,
            ca_pem: ck.cert.pem(),
        },
    )
}

/// A TCP connection, plain or with TLS (rustls, trusting one certificate).
enum Stream {
    Plain(TcpStream),
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>),
}

impl Stream {
    fn tcp(&self) -> &TcpStream {
        match self {
            Stream::Plain(s) => s,
            Stream::Tls(s) => &s.sock,
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
        }
    }
}

/// How a [`WsPhone`] opens its connection.
struct Dial<'a> {
    addr: SocketAddr,
    /// The CA to trust for wss; `None`: plain ws.
    ca_pem: Option<&'a str>,
    /// The subprotocols offered.
    protocol: Option<&'a str>,
    origin: Option<&'a str>,
}

impl<'a> Dial<'a> {
    /// A browser on the allowed page offering `sip`, plain ws.
    fn ws(addr: SocketAddr) -> Dial<'a> {
        Dial {
            addr,
            ca_pem: None,
            protocol: Some("sip"),
            origin: Some(DESK),
        }
    }

    /// The same over wss, trusting `ca_pem`.
    fn wss(addr: SocketAddr, ca_pem: &'a str) -> Dial<'a> {
        Dial {
            ca_pem: Some(ca_pem),
            ..Dial::ws(addr)
        }
    }
}

/// A browser-like SIP phone over one WebSocket.
struct WsPhone {
    ws: WebSocket<Stream>,
    /// `WS` or `WSS` (the Via transport).
    via: &'static str,
    /// The `.invalid` host of its Via and Contact (RFC 7118 §5.2).
    host: String,
    /// The user part of its Contact.
    contact_user: String,
    /// The switch's internal address (the domain of its URIs).
    domain: SocketAddr,
    cseq: u32,
    queue: VecDeque<Message>,
    closed: bool,
}

impl WsPhone {
    /// Opens the connection; `Err` holds the HTTP status of a refused
    /// handshake (0 for any other failure).
    fn connect(dial: &Dial<'_>, domain: SocketAddr) -> Result<WsPhone, u16> {
        let tcp = TcpStream::connect_timeout(&dial.addr, Duration::from_secs(3)).map_err(|_| 0u16)?;
        tcp.set_read_timeout(Some(T)).expect("timeout");
        tcp.set_nodelay(true).ok();
        let stream = match dial.ca_pem {
            None => Stream::Plain(tcp),
            Some(pem) => {
                let mut roots = rustls::RootCertStore::empty();
                for c in CertificateDer::pem_slice_iter(pem.as_bytes()) {
                    roots.add(c.expect("a PEM certificate")).expect("a root");
                }
                let config = rustls::ClientConfig::builder_with_provider(switchboard::tls::provider())
                    .with_safe_default_protocol_versions()
                    .expect("TLS versions")
                    .with_root_certificates(roots)
                    .with_no_client_auth();
                let name = ServerName::IpAddress(dial.addr.ip().into());
                let conn = rustls::ClientConnection::new(Arc::new(config), name).expect("TLS client");
                Stream::Tls(Box::new(rustls::StreamOwned::new(conn, tcp)))
            }
        };
        let mut req = format!("ws://{}/", dial.addr).into_client_request().expect("a request");
        if let Some(p) = dial.protocol {
            req.headers_mut()
                .insert("Sec-WebSocket-Protocol", HeaderValue::from_str(p).expect("value"));
        }
        if let Some(o) = dial.origin {
            req.headers_mut()
                .insert("Origin", HeaderValue::from_str(o).expect("value"));
        }
        let (ws, resp) = match tungstenite::client(req, stream) {
            Ok(ok) => ok,
            Err(tungstenite::HandshakeError::Failure(tungstenite::Error::Http(r))) => return Err(r.status().as_u16()),
            Err(_) => return Err(0),
        };
        let agreed = resp
            .headers()
            .get("Sec-WebSocket-Protocol")
            .and_then(|v| v.to_str().ok());
        assert_eq!(
            agreed,
            Some("sip"),
            "RFC 7118 §4.1: the switch answers the sip subprotocol"
        );
        Ok(WsPhone {
            ws,
            via: if dial.ca_pem.is_some() { "WSS" } else { "WS" },
            host: format!("{}.invalid", &rand_hex()[..10]),
            contact_user: rand_hex()[..8].to_string(),
            domain,
            cseq: 1,
            queue: VecDeque::new(),
            closed: false,
        })
    }

    /// Our Contact, as JsSIP writes it.
    fn contact(&self) -> String {
        format!("<sip:{}@{};transport=ws>", self.contact_user, self.host)
    }

    fn send_text(&mut self, text: String) {
        self.ws
            .send(tungstenite::Message::text(text))
            .expect("a WebSocket write");
    }

    fn send(&mut self, m: &Message) {
        let text = String::from_utf8(m.to_bytes().to_vec()).expect("UTF-8");
        self.send_text(text);
    }

    /// The next WebSocket message within `timeout`, raw; `None` on timeout
    /// or once the connection is closed. Pings are answered by tungstenite.
    fn recv_ws(&mut self, timeout: Duration) -> Option<tungstenite::Message> {
        let deadline = Instant::now() + timeout;
        loop {
            if self.closed {
                return None;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            self.ws.get_ref().tcp().set_read_timeout(Some(left)).expect("timeout");
            match self.ws.read() {
                Ok(tungstenite::Message::Ping(_)) | Ok(tungstenite::Message::Pong(_)) => continue,
                Ok(m) => {
                    if matches!(m, tungstenite::Message::Close(_)) {
                        self.closed = true;
                    }
                    return Some(m);
                }
                Err(tungstenite::Error::Io(e)) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    return None
                }
                Err(_) => {
                    self.closed = true;
                    return None;
                }
            }
        }
    }

    /// The next SIP message within `timeout` (queued ones first); it must
    /// come in a text frame (RFC 7118 §5.1, what browser stacks expect).
    fn recv(&mut self, timeout: Duration) -> Option<Message> {
        if let Some(m) = self.queue.pop_front() {
            return Some(m);
        }
        match self.recv_ws(timeout)? {
            tungstenite::Message::Text(t) => {
                let bytes = Bytes::copy_from_slice(t.as_bytes());
                Some(
                    parse_datagram(bytes, &READ_LIMITS)
                        .unwrap_or_else(|e| panic!("unparseable SIP ({}): {t}", e.error)),
                )
            }
            other => panic!("expected a text frame with SIP, got {other:?}"),
        }
    }

    /// The next request of `method` within `timeout`.
    fn next_request(&mut self, method: Method, timeout: Duration) -> Message {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let m = self
                .recv(left)
                .unwrap_or_else(|| panic!("no {method} over the WebSocket within {timeout:?}"));
            if m.method() == Some(&method) {
                return m;
            }
        }
    }

    /// A new request `method ruri` from `user`, JsSIP-style headers.
    fn request(&mut self, method: Method, ruri: &str, user: &str, to_user: &str) -> Message {
        let seq = self.cseq;
        self.cseq += 1;
        let m = String::from_utf8_lossy(method.as_bytes()).into_owned();
        let text = format!(
            "{m} {ruri} SIP/2.0\r\nVia: SIP/2.0/{via} {host};branch=z9hG4bK{b}\r\nMax-Forwards: 69\r\n\
             To: <sip:{to_user}@{d}>\r\nFrom: <sip:{user}@{d}>;tag={tag}\r\nCall-ID: {cid}\r\n\
             CSeq: {seq} {m}\r\nContact: {contact}\r\nUser-Agent: e2e-ws\r\nContent-Length: 0\r\n\r\n",
            via = self.via,
            host = self.host,
            b = rand_hex(),
            d = self.domain,
            tag = rand_hex(),
            cid = rand_hex(),
            contact = self.contact(),
        );
        parse_datagram(Bytes::from(text), &READ_LIMITS).expect("our request parses")
    }

    /// Sends `req` and waits for its final response (same CSeq); other
    /// messages are queued.
    fn transact(&mut self, req: &Message) -> Message {
        let cseq = CSeq::parse(req.headers.get(&HeaderName::CSeq).expect("CSeq")).expect("CSeq");
        self.send(req);
        let deadline = Instant::now() + T;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let m = self
                .recv_direct(left)
                .unwrap_or_else(|| panic!("no answer to {} over the WebSocket", ua::first_line(req)));
            let other = m.is_request() || ua::cseq_of(&m).as_ref() != Some(&cseq);
            if other {
                self.queue.push_back(m);
                continue;
            }
            if m.status().is_some_and(|s| s.is_final()) {
                return m;
            }
        }
    }

    /// [`Self::recv`] without the queue.
    fn recv_direct(&mut self, timeout: Duration) -> Option<Message> {
        let queued = std::mem::take(&mut self.queue);
        let m = self.recv(timeout);
        self.queue = queued;
        m
    }

    /// REGISTER as `user`: the first answer, and the final one after
    /// answering its challenge with `password` (RFC 3261 §22.2).
    fn register(&mut self, user: &str, password: &str) -> (Message, Message) {
        let ruri = format!("sip:{}", self.domain);
        let mut req = self.request(Method::REGISTER, &ruri, user, user);
        req.headers.push(HeaderName::Expires, "600");
        let first = self.transact(&req);
        if ua::code(&first) != 401 {
            return (first.clone(), first);
        }
        let ch: Vec<Challenge> = first
            .headers
            .get_all(&HeaderName::WwwAuthenticate)
            .filter_map(|v| Challenge::parse(v).ok())
            .collect();
        let ch = DigestClient::pick(&ch).expect("a digest challenge");
        let creds =
            DigestClient::respond(ch, &Method::REGISTER, &ruri, user, password, &rand_hex(), 1).expect("credentials");
        let mut retry = self.request(Method::REGISTER, &ruri, user, user);
        for name in [HeaderName::CallId, HeaderName::From] {
            retry
                .headers
                .set(name.clone(), req.headers.get(&name).expect("header").clone());
        }
        retry.headers.push(HeaderName::Expires, "600");
        retry.headers.push(HeaderName::Authorization, creds);
        let last = self.transact(&retry);
        (first, last)
    }

    /// Answers `req` with `code`, our Contact and To tag, and `sdp`.
    fn reply(&mut self, req: &Message, code: StatusCode, sdp: Option<String>) -> Message {
        let mut resp = Message::response_to(req, code, None, Some("wsuas1"));
        resp.headers.push(HeaderName::Contact, self.contact());
        if let Some(body) = sdp {
            resp.headers.push(HeaderName::ContentType, "application/sdp");
            resp.body = Bytes::from(body);
        }
        self.send(&resp);
        resp
    }
}

/// A UDP phone (1001) calls `extension`: the authorised INVITE, sent.
fn udp_call(sw: &Switch, extension: &str) -> (Ua, Message) {
    let mut caller = Ua::udp(sw.internal_addr());
    let invite = caller.invite("1001", extension);
    let invite = authorized_invite_as(&mut caller, &invite, "1001", "demo-1001");
    caller.send(&invite);
    (caller, invite)
}

/// The value of `name` in `m`, or "".
fn hdr(m: &Message, name: &str) -> String {
    ua::header(m, name).unwrap_or_default()
}

#[test]
fn the_handshake_needs_the_sip_subprotocol_and_an_allowed_origin() {
    let (cfg, l) = ws_config();
    let sw = Switch::builder().config(cfg.path()).start();
    let domain = sw.internal_addr();
    let no_sip = Dial {
        protocol: None,
        ..Dial::ws(l.ws)
    };
    assert_eq!(WsPhone::connect(&no_sip, domain).err(), Some(400), "no subprotocol");
    let chat = Dial {
        protocol: Some("chat"),
        ..Dial::ws(l.ws)
    };
    assert_eq!(WsPhone::connect(&chat, domain).err(), Some(400), "another subprotocol");
    let evil = Dial {
        origin: Some("https://evil.example"),
        ..Dial::ws(l.ws)
    };
    assert_eq!(
        WsPhone::connect(&evil, domain).err(),
        Some(403),
        "an origin not in ws_origins"
    );
    let evil_wss = Dial {
        origin: Some("https://evil.example"),
        ..Dial::wss(l.wss, &l.ca_pem)
    };
    assert_eq!(
        WsPhone::connect(&evil_wss, domain).err(),
        Some(403),
        "the same over wss"
    );
    assert!(WsPhone::connect(&Dial::ws(l.ws), domain).is_ok(), "the allowed page");
    let not_a_browser = Dial {
        origin: None,
        ..Dial::ws(l.ws)
    };
    let mut phone = WsPhone::connect(&not_a_browser, domain).expect("a client without Origin");
    // It speaks SIP: OPTIONS is answered over the WebSocket.
    let options = phone.request(Method::OPTIONS, &format!("sip:{domain}"), "probe", "probe");
    let ok = phone.transact(&options);
    assert_eq!(ua::code(&ok), 200, "{}", ua::text(&ok));
    assert!(
        sw.log().contains("listening on ws") && sw.log().contains("listening on wss"),
        "{}",
        sw.log()
    );
    assert!(
        sw.log().contains("is not in ws_origins"),
        "the refusal is logged: {}",
        sw.log()
    );
}

#[test]
fn register_over_ws_is_challenged_like_any_phone() {
    let (cfg, l) = ws_config();
    let sw = Switch::builder().config(cfg.path()).start();
    let mut phone = WsPhone::connect(&Dial::ws(l.ws), sw.internal_addr()).expect("connect");
    let (first, last) = phone.register("1002", "wrong-password");
    assert_eq!(ua::code(&first), 401, "{}", ua::text(&first));
    assert_ne!(
        ua::code(&last),
        200,
        "a wrong password registers nothing: {}",
        ua::text(&last)
    );
    let (first, last) = phone.register("1002", "demo-1002");
    assert_eq!(ua::code(&first), 401, "challenged first: {}", ua::text(&first));
    assert!(
        hdr(&first, "WWW-Authenticate").starts_with("Digest "),
        "{}",
        ua::text(&first)
    );
    assert_eq!(ua::code(&last), 200, "{}", ua::text(&last));
    let bound = ua::contacts(&last);
    assert_eq!(bound.len(), 1, "{}", ua::text(&last));
    let uri = String::from_utf8_lossy(&bound[0].0.uri.to_bytes()).into_owned();
    assert_eq!(uri, format!("sip:{}@{};transport=ws", phone.contact_user, phone.host));
    // RFC 3261 §18.2.1: the Via of the answer names where it came from.
    let via = hdr(&last, "Via");
    assert!(
        via.starts_with(&format!("SIP/2.0/WS {}", phone.host)) && via.contains("received=127.0.0.1"),
        "{via}"
    );
}

/// A browser's answer to the switch's WebRTC offer (as Chromium writes it,
/// PCMU chosen).
fn browser_answer() -> String {
    "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n\
     m=audio 9 UDP/TLS/RTP/SAVPF 0\r\nc=IN IP4 0.0.0.0\r\na=rtcp:9 IN IP4 0.0.0.0\r\n\
     a=ice-ufrag:Br0w\r\na=ice-pwd:browserpasswordbrowser12\r\n\
     a=fingerprint:sha-256 13:E9:56:85:79:52:02:61:82:BA:9B:AF:19:E1:7D:AE:E4:A3:28:7B:9E:CB:92:EB:46:C8:32:B7:37:A4:E5:09\r\n\
     a=setup:active\r\na=mid:0\r\na=sendrecv\r\na=rtcp-mux\r\na=rtpmap:0 PCMU/8000\r\n"
        .to_owned()
}

/// A UDP phone (1001) calls 1002, registered over ws or wss (`secure`):
/// the INVITE, the ACK and the BYE reach it over its WebSocket, with our
/// Via `SIP/2.0/WS`/`WSS` and Contact `;transport=ws`; the CDR is written.
fn call_over(secure: bool) {
    let (cfg, l) = ws_config();
    let sw = Switch::builder().config(cfg.path()).start();
    let (dial, listener, via) = if secure {
        (Dial::wss(l.wss, &l.ca_pem), l.wss, "WSS")
    } else {
        (Dial::ws(l.ws), l.ws, "WS")
    };
    let mut phone = WsPhone::connect(&dial, sw.internal_addr()).expect("connect");
    let (_, ok) = phone.register("1002", "demo-1002");
    assert_eq!(ua::code(&ok), 200, "{}", ua::text(&ok));

    let (mut caller, invite) = udp_call(&sw, "1002");
    let b_invite = phone.next_request(Method::INVITE, T);
    let ruri = String::from_utf8_lossy(&b_invite.uri().expect("uri").to_bytes()).into_owned();
    assert_eq!(
        ruri,
        format!("sip:{}@{};transport=ws", phone.contact_user, phone.host),
        "the INVITE goes to the registered Contact, over its WebSocket"
    );
    let b_via = hdr(&b_invite, "Via");
    assert!(b_via.starts_with(&format!("SIP/2.0/{via} {listener};")), "{b_via}");
    let b_contact = hdr(&b_invite, "Contact");
    assert!(
        b_contact.contains(&format!("@{listener};transport=ws>")),
        "RFC 7118 §5.2: our Contact is reachable over the WebSocket: {b_contact}"
    );
    // A phone on a WebSocket is a browser: it is offered WebRTC (issue 12)
    // and answers as one.
    let offer = String::from_utf8_lossy(&b_invite.body).into_owned();
    for needed in [
        "UDP/TLS/RTP/SAVPF",
        "a=ice-lite",
        "a=setup:actpass",
        "a=fingerprint:sha-256 ",
    ] {
        assert!(offer.contains(needed), "{needed} in the offer to a browser:\n{offer}");
    }
    phone.reply(&b_invite, StatusCode::OK, Some(browser_answer()));

    let a_ok = next_final(&mut caller);
    assert_eq!(ua::code(&a_ok), 200, "{}", ua::text(&a_ok));
    ack_2xx(&mut caller, &invite, &a_ok);
    let ack = phone.next_request(Method::ACK, T);
    assert_eq!(hdr(&ack, "Call-ID"), hdr(&b_invite, "Call-ID"));

    let seq = invite.envelope().expect("envelope").cseq.seq + 1;
    let bye = caller_in_dialog(&mut caller, Method::BYE, &invite, &a_ok, seq);
    caller.send(&bye);
    let b_bye = phone.next_request(Method::BYE, T);
    assert_eq!(hdr(&b_bye, "Call-ID"), hdr(&b_invite, "Call-ID"));
    assert!(hdr(&b_bye, "Via").starts_with(&format!("SIP/2.0/{via} {listener};")));
    phone.reply(&b_bye, StatusCode::OK, None);
    let bye_ok = next_final(&mut caller);
    assert_eq!(ua::code(&bye_ok), 200, "{}", ua::text(&bye_ok));
    let cdrs = sw.wait_for_cdrs(1, T);
    assert_eq!(
        (cdrs[0]["caller"].as_str(), cdrs[0]["callee"].as_str()),
        (Some("1001"), Some("1002"))
    );
    assert_eq!(cdrs[0]["end_cause"], "caller_hangup");
}

#[test]
fn a_call_to_a_ws_phone_rides_its_websocket() {
    call_over(false);
}

#[test]
fn a_call_to_a_wss_phone_rides_its_secure_websocket() {
    call_over(true);
}

/// The browser calls out: its INVITE is challenged (407) and routed to a
/// UDP phone; the 200 and, when the UDP phone hangs up, the switch's BYE
/// come back over the same WebSocket (the `.invalid` Via and Contact are
/// never resolved).
#[test]
fn a_ws_phone_calls_out_and_is_hung_up_over_its_websocket() {
    let (cfg, l) = ws_config();
    let sw = Switch::builder().config(cfg.path()).start();
    let domain = sw.internal_addr();
    let mut callee = Ua::udp(domain);
    assert_eq!(callee.register("1001", "demo-1001"), StatusCode::OK);
    let mut phone = WsPhone::connect(&Dial::ws(l.ws), domain).expect("connect");
    let (_, ok) = phone.register("1002", "demo-1002");
    assert_eq!(ua::code(&ok), 200, "{}", ua::text(&ok));

    let mut invite = phone.request(Method::INVITE, &format!("sip:1001@{domain}"), "1002", "1001");
    invite.headers.push(HeaderName::ContentType, "application/sdp");
    invite.body = Bytes::from(AudioSdp::pcmu().body("ws", 1, 40000, "sendrecv"));
    let challenge = phone.transact(&invite);
    assert_eq!(ua::code(&challenge), 407, "{}", ua::text(&challenge));
    let mut ack = Message::request(Method::ACK, invite.uri().expect("uri").clone());
    for name in [
        HeaderName::Via,
        HeaderName::From,
        HeaderName::CallId,
        HeaderName::MaxForwards,
    ] {
        ack.headers
            .push(name.clone(), invite.headers.get(&name).expect("header").clone());
    }
    ack.headers.push(
        HeaderName::To,
        challenge.headers.get(&HeaderName::To).expect("To").clone(),
    );
    ack.headers.push(HeaderName::CSeq, "1 ACK");
    phone.send(&ack);
    let ch: Vec<Challenge> = challenge
        .headers
        .get_all(&HeaderName::ProxyAuthenticate)
        .filter_map(|v| Challenge::parse(v).ok())
        .collect();
    let ch = DigestClient::pick(&ch).expect("a digest challenge");
    let ruri = format!("sip:1001@{domain}");
    let creds =
        DigestClient::respond(ch, &Method::INVITE, &ruri, "1002", "demo-1002", &rand_hex(), 1).expect("credentials");
    let mut retry = invite.clone();
    retry.headers.set(
        HeaderName::Via,
        format!("SIP/2.0/WS {};branch=z9hG4bK{}", phone.host, rand_hex()),
    );
    retry.headers.set(HeaderName::CSeq, "2 INVITE");
    retry.headers.push(HeaderName::ProxyAuthorization, creds);
    phone.send(&retry);

    let b_invite = common::media::next_request(&mut callee, Method::INVITE);
    let answer = AudioSdp::pcmu().body("udp", 1, 40002, "sendrecv");
    let mut b_ok = Message::response_to(&b_invite, StatusCode::OK, None, Some("udpuas1"));
    b_ok.headers
        .push(HeaderName::Contact, format!("<{}>", callee.contact_uri("1001")));
    b_ok.headers.push(HeaderName::ContentType, "application/sdp");
    b_ok.body = Bytes::from(answer);
    callee.send(&b_ok);
    let a_ok = loop {
        let m = phone.recv(T).expect("the 200 over the WebSocket");
        if ua::code(&m) == 200 {
            break m;
        }
    };
    let contact = hdr(&a_ok, "Contact");
    assert!(contact.contains(&format!("@{};transport=ws>", l.ws)), "{contact}");
    let mut ack = Message::request(Method::ACK, common::media::contact_target(&a_ok));
    ack.headers.push(
        HeaderName::Via,
        format!("SIP/2.0/WS {};branch=z9hG4bK{}", phone.host, rand_hex()),
    );
    for name in [HeaderName::From, HeaderName::CallId] {
        ack.headers
            .push(name.clone(), retry.headers.get(&name).expect("header").clone());
    }
    ack.headers
        .push(HeaderName::To, a_ok.headers.get(&HeaderName::To).expect("To").clone());
    ack.headers.push(HeaderName::CSeq, "2 ACK");
    ack.headers.push(HeaderName::MaxForwards, "70");
    phone.send(&ack);
    common::media::next_request(&mut callee, Method::ACK);

    // The UDP phone hangs up: the switch's BYE reaches the browser.
    let mut bye = Message::request(Method::BYE, common::media::contact_target(&b_invite));
    bye.headers.push(HeaderName::Via, callee.new_via());
    bye.headers
        .push(HeaderName::From, b_ok.headers.get(&HeaderName::To).expect("To").clone());
    bye.headers.push(
        HeaderName::To,
        b_invite.headers.get(&HeaderName::From).expect("From").clone(),
    );
    bye.headers.push(
        HeaderName::CallId,
        b_invite.headers.get(&HeaderName::CallId).expect("Call-ID").clone(),
    );
    bye.headers.push(HeaderName::CSeq, "1 BYE");
    bye.headers.push(HeaderName::MaxForwards, "70");
    let bye_ok = callee.transact(&bye, T).expect("the BYE is answered");
    assert_eq!(ua::code(&bye_ok), 200, "{}", ua::text(&bye_ok));
    let a_bye = phone.next_request(Method::BYE, T);
    assert_eq!(hdr(&a_bye, "Call-ID"), hdr(&retry, "Call-ID"));
    let ruri = String::from_utf8_lossy(&a_bye.uri().expect("uri").to_bytes()).into_owned();
    assert_eq!(ruri, format!("sip:{}@{};transport=ws", phone.contact_user, phone.host));
    assert!(hdr(&a_bye, "Via").starts_with(&format!("SIP/2.0/WS {};", l.ws)));
    phone.reply(&a_bye, StatusCode::OK, None);
    let cdrs = sw.wait_for_cdrs(1, T);
    assert_eq!(
        (cdrs[0]["caller"].as_str(), cdrs[0]["callee"].as_str()),
        (Some("1002"), Some("1001"))
    );
    assert_eq!(cdrs[0]["end_cause"], "callee_hangup");
}

#[test]
fn oversize_and_garbage_messages_harm_nothing() {
    let (cfg, l) = ws_config();
    let sw = Switch::builder().config(cfg.path()).start();
    let domain = sw.internal_addr();
    let mut phone = WsPhone::connect(&Dial::ws(l.ws), domain).expect("connect");

    // Garbage in a text frame and in a binary frame: dropped, no answer.
    phone.send_text("this is not SIP\r\n\r\n".into());
    phone
        .ws
        .send(tungstenite::Message::binary(vec![0xff, 0x00, 0xfe, b'\r', b'\n']))
        .expect("write");
    // A Content-Length beyond the body (RFC 3261 §18.3, like a datagram): 400.
    let mut options = phone.request(Method::OPTIONS, &format!("sip:{domain}"), "probe", "probe");
    options.body = Bytes::from_static(b"short");
    let text = String::from_utf8(options.to_bytes().to_vec())
        .expect("utf-8")
        .replace("Content-Length: 5", "Content-Length: 50");
    phone.send_text(text);
    let bad = phone.recv(T).expect("an answer to the bad Content-Length");
    assert_eq!(ua::code(&bad), 400, "{}", ua::text(&bad));
    // The same connection still serves SIP.
    let options = phone.request(Method::OPTIONS, &format!("sip:{domain}"), "probe", "probe");
    let ok = phone.transact(&options);
    assert_eq!(ua::code(&ok), 200, "{}", ua::text(&ok));

    // A message over 64 KiB: the connection is closed (1009), or reset.
    let mut big = phone.request(Method::OPTIONS, &format!("sip:{domain}"), "probe", "probe");
    big.headers.push(HeaderName::ContentType, "text/plain");
    big.body = Bytes::from(vec![b'x'; 70 * 1024]);
    let _ = phone.ws.send(tungstenite::Message::text(
        String::from_utf8(big.to_bytes().to_vec()).expect("utf-8"),
    ));
    let mut close = None;
    while let Some(m) = phone.recv_ws(T) {
        if let tungstenite::Message::Close(frame) = m {
            close = frame.map(|f| f.code);
        }
    }
    assert!(phone.closed, "the connection of the oversize message is closed");
    assert!(close.is_none_or(|c| c == CloseCode::Size), "{close:?}");
    assert!(
        sw.wait_for_log("Message too long", T),
        "the switch says why: {}",
        sw.log()
    );
    // Everything else goes on: a new connection, and UDP.
    let mut again = WsPhone::connect(&Dial::ws(l.ws), domain).expect("a new connection");
    let options = again.request(Method::OPTIONS, &format!("sip:{domain}"), "probe", "probe");
    assert_eq!(ua::code(&again.transact(&options)), 200);
    assert!(sw.options(domain).is_some_and(|r| r.starts_with("SIP/2.0 200")));
    assert!(!sw.log().contains("panicked"), "{}", sw.log());
}

#[test]
fn a_call_to_a_closed_websocket_fails_at_once() {
    let (cfg, l) = ws_config();
    let sw = Switch::builder().config(cfg.path()).start();
    let mut phone = WsPhone::connect(&Dial::ws(l.ws), sw.internal_addr()).expect("connect");
    let (_, ok) = phone.register("1002", "demo-1002");
    assert_eq!(ua::code(&ok), 200, "{}", ua::text(&ok));
    phone.ws.close(None).expect("close");
    while phone.recv_ws(T).is_some() {}
    assert!(
        sw.wait_for_log("SIP WebSocket connection closed", T),
        "the switch sees the close: {}",
        sw.log()
    );

    let started = Instant::now();
    let (mut caller, _invite) = udp_call(&sw, "1002");
    let last = next_final(&mut caller);
    let took = started.elapsed();
    assert_eq!(
        ua::first_line(&last),
        "SIP/2.0 480 Temporarily Unavailable",
        "the phone is unavailable: {}",
        ua::text(&last)
    );
    assert!(
        took < Duration::from_secs(5),
        "it fails at once, not after a transaction timeout: {took:?}"
    );
    assert!(
        sw.log().contains("the WebSocket connection to this peer is gone"),
        "{}",
        sw.log()
    );
}
