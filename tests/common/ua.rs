//! A small SIP user agent for the end-to-end tests, over real UDP and TCP
//! loopback sockets (std::net, blocking with timeouts).
//!
//! Why it exists: SIPp and baresip drive whole scenarios, but many checks
//! need one exact message and the exact answer (RFC 4475 torture messages,
//! registrar corner cases of RFC 3261 §10.3). This UA is built on the
//! crate's own message layer (`parse_datagram`, `frame_stream`,
//! `parse_message`, `Message::to_bytes`) and digest client
//! (`DigestClient::pick` / `respond`, RFC 3261 §22.2, RFC 8760), so what it
//! sends and reads is what the switch itself would.
//!
//! * [`Ua::udp`] / [`Ua::tcp`]: a socket (TCP: one connection) to the switch;
//! * [`Ua::send_raw`] exact bytes; [`Ua::recv`] the next message (TCP:
//!   framed by Content-Length with `frame_stream`, RFC 3261 §18.3);
//! * [`Ua::options`], [`Ua::register_request`], [`Ua::invite`]: requests with a
//!   fresh branch (`z9hG4bK`, §8.1.1.7), From tag and Call-ID;
//! * [`Ua::transact`] sends a request and waits for its final response,
//!   queueing anything else that arrives (e.g. an INVITE from the switch);
//! * [`Ua::with_auth`] / [`Ua::register`] answer a 401/407 once (§22.2).
#![allow(dead_code)]

use std::collections::hash_map::RandomState;
use std::collections::VecDeque;
use std::hash::{BuildHasher, Hasher};
use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use switchboard::sip::auth::DigestClient;
use switchboard::sip::msg::typed::{CSeq, Challenge, ContactList, Via};
use switchboard::sip::msg::{
    frame_stream, parse_datagram, parse_message, split_list, FrameError, HeaderName, Limits, Message, Method,
    StartLine, StatusCode, StreamFrame, Uri,
};

/// How long [`Ua::transact`] waits by default for a final response.
pub const TIMEOUT: Duration = Duration::from_secs(3);

/// Limits for what the UA reads (larger than the switch's, so the UA never
/// rejects what the switch sends).
const READ_LIMITS: Limits = Limits {
    max_message: 1 << 20,
    max_headers: 4096,
};

/// Transport of a [`Ua`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    Udp,
    Tcp,
    /// TCP with TLS (RFC 3261 §26), as [`Ua::tls`] makes.
    Tls,
}

impl Transport {
    /// The Via transport token.
    pub fn token(self) -> &'static str {
        match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
            Transport::Tls => "TLS",
        }
    }
}

enum Sock {
    Udp(UdpSocket),
    Tcp { stream: Conn, buf: Vec<u8>, closed: bool },
}

/// A stream connection: plain TCP, or TLS over it (rustls client).
enum Conn {
    Plain(TcpStream),
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>),
}

impl Conn {
    fn tcp(&self) -> &TcpStream {
        match self {
            Conn::Plain(s) => s,
            Conn::Tls(s) => &s.sock,
        }
    }
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Conn::Plain(s) => s.read(buf),
            Conn::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Conn::Plain(s) => s.write(buf),
            Conn::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Conn::Plain(s) => s.flush(),
            Conn::Tls(s) => s.flush(),
        }
    }
}

/// Fresh random hex (branches, tags, Call-IDs, cnonces).
pub fn rand_hex() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.write_u32(std::process::id());
    format!("{:016x}", h.finish())
}

/// The loopback address of `addr`'s family.
fn loopback_like(addr: SocketAddr) -> IpAddr {
    match addr {
        SocketAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
        SocketAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
    }
}

/// A test user agent talking to one switch address.
pub struct Ua {
    sock: Sock,
    transport: Transport,
    switch: SocketAddr,
    local: SocketAddr,
    /// Messages that arrived while [`Ua::transact`] waited for something
    /// else; [`Ua::recv`] returns them first.
    queue: VecDeque<Message>,
    /// Per-UA CSeq counter (each new request starts from it).
    cseq: u32,
}

impl Ua {
    /// A UDP socket on the loopback of `switch`'s family, ephemeral port.
    pub fn udp(switch: SocketAddr) -> Ua {
        let sock = UdpSocket::bind(SocketAddr::new(loopback_like(switch), 0)).expect("bind UDP");
        Self::from_udp(sock, switch)
    }

    /// A UDP UA on an already bound socket (e.g. a fixed port).
    pub fn from_udp(sock: UdpSocket, switch: SocketAddr) -> Ua {
        let local = sock.local_addr().unwrap();
        Ua {
            sock: Sock::Udp(sock),
            transport: Transport::Udp,
            switch,
            local,
            queue: VecDeque::new(),
            cseq: 1,
        }
    }

    /// One TCP connection to `switch`.
    pub fn tcp(switch: SocketAddr) -> Ua {
        let stream = Self::connect(switch);
        Self::over_stream(Conn::Plain(stream), Transport::Tcp, switch)
    }

    /// One TLS connection to `switch`'s TLS listener, trusting the
    /// certificates of the PEM text `ca_pem` (TLS 1.2/1.3, rustls).
    pub fn tls(switch: SocketAddr, ca_pem: &str) -> Ua {
        use rustls::pki_types::pem::PemObject;
        let mut roots = rustls::RootCertStore::empty();
        for c in rustls::pki_types::CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
            roots.add(c.expect("a PEM certificate")).expect("a root");
        }
        let config = rustls::ClientConfig::builder_with_provider(switchboard::tls::provider())
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        let name = rustls::pki_types::ServerName::IpAddress(switch.ip().into());
        let conn = rustls::ClientConnection::new(std::sync::Arc::new(config), name).expect("TLS client");
        let stream = Self::connect(switch);
        Self::over_stream(
            Conn::Tls(Box::new(rustls::StreamOwned::new(conn, stream))),
            Transport::Tls,
            switch,
        )
    }

    /// A TCP connection to `switch` (3 s to connect, no Nagle).
    fn connect(switch: SocketAddr) -> TcpStream {
        let stream = TcpStream::connect_timeout(&switch, Duration::from_secs(3))
            .unwrap_or_else(|e| panic!("TCP connect to {switch}: {e}"));
        stream.set_nodelay(true).ok();
        stream
    }

    /// A UA over the stream connection `stream`.
    fn over_stream(stream: Conn, transport: Transport, switch: SocketAddr) -> Ua {
        let local = stream.tcp().local_addr().unwrap();
        Ua {
            sock: Sock::Tcp {
                stream,
                buf: Vec::new(),
                closed: false,
            },
            transport,
            switch,
            local,
            queue: VecDeque::new(),
            cseq: 1,
        }
    }

    pub fn transport(&self) -> Transport {
        self.transport
    }

    /// Our socket's address (the Via sent-by and Contact host:port).
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    pub fn switch_addr(&self) -> SocketAddr {
        self.switch
    }

    /// The switch's host:port as text for URIs (`[::1]:5060` for IPv6).
    pub fn domain(&self) -> String {
        self.switch.to_string()
    }

    // -----------------------------------------------------------------
    // Bytes in and out
    // -----------------------------------------------------------------

    /// Sends exactly `bytes` (one datagram, or written to the connection).
    pub fn send_raw(&mut self, bytes: &[u8]) {
        let switch = self.switch;
        match &mut self.sock {
            Sock::Udp(s) => {
                s.send_to(bytes, switch)
                    .unwrap_or_else(|e| panic!("UDP send to {switch}: {e}"));
            }
            Sock::Tcp { stream, .. } => {
                stream
                    .write_all(bytes)
                    .and_then(|()| stream.flush())
                    .unwrap_or_else(|e| panic!("TCP write to {switch}: {e}"));
            }
        }
    }

    /// Like [`Ua::send_raw`] but reports a write error instead of panicking
    /// (the switch may close a connection while we still write).
    pub fn try_send_raw(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        let switch = self.switch;
        match &mut self.sock {
            Sock::Udp(s) => s.send_to(bytes, switch).map(|_| ()),
            Sock::Tcp { stream, .. } => stream.write_all(bytes).and_then(|()| stream.flush()),
        }
    }

    /// Serialises and sends `msg`.
    pub fn send(&mut self, msg: &Message) {
        let b = msg.to_bytes();
        self.send_raw(&b);
    }

    /// The next message's raw bytes within `timeout` (UDP: one datagram;
    /// TCP: one message framed by Content-Length). `None` on timeout or,
    /// over TCP, when the switch closed the connection.
    pub fn recv_raw(&mut self, timeout: Duration) -> Option<Vec<u8>> {
        let deadline = Instant::now() + timeout;
        match &mut self.sock {
            Sock::Udp(s) => {
                let mut buf = vec![0u8; 65536];
                loop {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return None;
                    }
                    s.set_read_timeout(Some(left)).unwrap();
                    match s.recv_from(&mut buf) {
                        Ok((n, _from)) => return Some(buf[..n].to_vec()),
                        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => return None,
                        // ICMP port unreachable from an earlier send: keep waiting.
                        Err(e) if e.kind() == ErrorKind::ConnectionRefused => continue,
                        Err(e) => panic!("UDP recv: {e}"),
                    }
                }
            }
            Sock::Tcp { stream, buf, closed } => loop {
                loop {
                    match frame_stream(buf, &READ_LIMITS) {
                        Ok(StreamFrame::KeepAlive(n)) => {
                            buf.drain(..n);
                        }
                        Ok(StreamFrame::Message(n)) => return Some(buf.drain(..n).collect()),
                        Err(FrameError::Incomplete) => break,
                        Err(e) => panic!(
                            "switch sent an unframeable stream ({e}): {:?}",
                            String::from_utf8_lossy(buf)
                        ),
                    }
                }
                if *closed {
                    return None;
                }
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return None;
                }
                stream.tcp().set_read_timeout(Some(left)).unwrap();
                let mut chunk = [0u8; 16384];
                match stream.read(&mut chunk) {
                    Ok(0) => *closed = true,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => return None,
                    Err(e)
                        if matches!(
                            e.kind(),
                            ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted | ErrorKind::BrokenPipe
                        ) =>
                    {
                        *closed = true
                    }
                    Err(e) => panic!("TCP read: {e}"),
                }
            },
        }
    }

    /// The next message within `timeout` (queued ones first). Panics if the
    /// switch sent bytes that do not parse.
    pub fn recv(&mut self, timeout: Duration) -> Option<Message> {
        if let Some(m) = self.queue.pop_front() {
            return Some(m);
        }
        let raw = self.recv_raw(timeout)?;
        Some(self.parse(raw))
    }

    fn parse(&self, raw: Vec<u8>) -> Message {
        let bytes = Bytes::from(raw);
        let parsed = match self.transport {
            Transport::Udp => parse_datagram(bytes.clone(), &READ_LIMITS),
            Transport::Tcp | Transport::Tls => parse_message(bytes.clone(), &READ_LIMITS, true),
        };
        parsed.unwrap_or_else(|e| {
            panic!(
                "switch sent a message we cannot parse ({}): {:?}",
                e.error,
                String::from_utf8_lossy(&bytes)
            )
        })
    }

    /// TCP: waits up to `timeout` for the switch to close the connection
    /// (EOF or reset); any message arriving meanwhile is queued. UDP: false.
    pub fn wait_closed(&mut self, timeout: Duration) -> bool {
        if self.transport == Transport::Udp {
            return false;
        }
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if let Some(raw) = self.recv_raw(left) {
                let m = self.parse(raw);
                self.queue.push_back(m);
                continue;
            }
            return self.is_closed();
        }
    }

    /// TCP: true once the switch closed the connection (seen by a read).
    pub fn is_closed(&self) -> bool {
        matches!(self.sock, Sock::Tcp { closed: true, .. })
    }

    // -----------------------------------------------------------------
    // Requests
    // -----------------------------------------------------------------

    /// A Via value for a new client transaction: fresh branch, `rport`
    /// (RFC 3581) so UDP responses come back to this socket.
    pub fn new_via(&self) -> String {
        format!(
            "SIP/2.0/{} {};branch=z9hG4bK-ua-{};rport",
            self.transport.token(),
            self.local,
            rand_hex()
        )
    }

    /// Our Contact URI for `user` (`;transport=tcp` over TCP).
    pub fn contact_uri(&self, user: &str) -> String {
        match self.transport {
            Transport::Udp => format!("sip:{user}@{}", self.local),
            Transport::Tcp => format!("sip:{user}@{};transport=tcp", self.local),
            Transport::Tls => format!("sip:{user}@{};transport=tls", self.local),
        }
    }

    /// A new out-of-dialog request `method ruri` from `from_user` to
    /// `to_user` at the switch's domain, with a fresh branch, From tag and
    /// Call-ID, CSeq, Max-Forwards, Contact and an empty body.
    pub fn request(&mut self, method: Method, ruri: &str, from_user: &str, to_user: &str) -> Message {
        let uri =
            Uri::parse(&Bytes::copy_from_slice(ruri.as_bytes())).unwrap_or_else(|| panic!("bad Request-URI {ruri}"));
        let domain = self.domain();
        let seq = self.cseq;
        self.cseq += 1;
        let mut m = Message::request(method.clone(), uri);
        let h = &mut m.headers;
        h.push(HeaderName::Via, self.new_via());
        h.push(HeaderName::MaxForwards, "70");
        h.push(
            HeaderName::From,
            format!("<sip:{from_user}@{domain}>;tag=ua{}", rand_hex()),
        );
        h.push(HeaderName::To, format!("<sip:{to_user}@{domain}>"));
        h.push(HeaderName::CallId, format!("ua-{}@{}", rand_hex(), self.local.ip()));
        h.push(
            HeaderName::CSeq,
            format!("{seq} {}", String::from_utf8_lossy(method.as_bytes())),
        );
        h.push(HeaderName::Contact, format!("<{}>", self.contact_uri(from_user)));
        h.push(
            HeaderName::from_bytes(Bytes::from_static(b"User-Agent")),
            "switchboard-e2e-ua",
        );
        m
    }

    /// `OPTIONS sip:<switch>` (answered without authentication).
    pub fn options(&mut self) -> Message {
        let ruri = format!("sip:{}", self.domain());
        let mut m = self.request(Method::OPTIONS, &ruri, "probe", "probe");
        m.headers.push(HeaderName::Accept, "application/sdp");
        m
    }

    /// `REGISTER sip:<switch>` for AOR `user` with our Contact and, if
    /// given, an `Expires` header.
    pub fn register_request(&mut self, user: &str, expires: Option<u32>) -> Message {
        let ruri = format!("sip:{}", self.domain());
        let mut m = self.request(Method::REGISTER, &ruri, user, user);
        if let Some(e) = expires {
            m.headers.push(HeaderName::Expires, e.to_string());
        }
        m
    }

    /// A REGISTER without Contact: a binding fetch (RFC 3261 §10.2.3).
    pub fn fetch_request(&mut self, user: &str) -> Message {
        let mut m = self.register_request(user, None);
        m.headers.remove(&HeaderName::Contact);
        m
    }

    /// `INVITE sip:<to>@<switch>` from `from` with a minimal PCMU offer.
    pub fn invite(&mut self, from: &str, to: &str) -> Message {
        let ruri = format!("sip:{to}@{}", self.domain());
        let mut m = self.request(Method::INVITE, &ruri, from, to);
        let ip = self.local.ip();
        let fam = if ip.is_ipv6() { "IP6" } else { "IP4" };
        let sdp = format!(
            "v=0\r\no=ua 1 1 IN {fam} {ip}\r\ns=-\r\nc=IN {fam} {ip}\r\nt=0 0\r\n\
             m=audio 40000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n\
             a=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n"
        );
        m.headers.push(HeaderName::ContentType, "application/sdp");
        m.body = Bytes::from(sdp);
        m
    }

    // -----------------------------------------------------------------
    // Transactions
    // -----------------------------------------------------------------

    /// Sends `req` and waits up to `timeout` for its final response (same
    /// top-Via branch and CSeq); provisional responses are skipped, other
    /// messages are queued for [`Ua::recv`].
    pub fn transact(&mut self, req: &Message, timeout: Duration) -> Option<Message> {
        let branch = top_branch(req);
        let cseq = req.headers.get(&HeaderName::CSeq).cloned();
        self.send(req);
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            let raw = self.recv_raw(left)?;
            let m = self.parse(raw);
            let ours = !m.is_request()
                && top_branch(&m) == branch
                && cseq_of(&m) == cseq.as_ref().and_then(|c| CSeq::parse(c).ok());
            if !ours {
                self.queue.push_back(m);
                continue;
            }
            if m.status().is_some_and(|c| c.is_final()) {
                return Some(m);
            }
        }
    }

    /// Sends `req`; on a 401/407 answers the strongest challenge
    /// ([`DigestClient::pick`]) as `user`/`password` with a new branch and
    /// CSeq + 1 (RFC 3261 §22.2), and returns the final response (the
    /// challenge itself if it cannot be answered). Panics on no response.
    pub fn with_auth(&mut self, req: Message, user: &str, password: &str) -> Message {
        let first = self
            .transact(&req, TIMEOUT)
            .unwrap_or_else(|| panic!("no response to {}", first_line(&req)));
        self.answer_challenge(&req, &first, user, password).unwrap_or(first)
    }

    /// If `resp` is a 401/407 to `req`, resends `req` with credentials and
    /// returns the final response; `None` if `resp` is no challenge.
    pub fn answer_challenge(&mut self, req: &Message, resp: &Message, user: &str, password: &str) -> Option<Message> {
        let (challenge_hdr, cred_hdr) = match resp.status()?.as_u16() {
            401 => (HeaderName::WwwAuthenticate, HeaderName::Authorization),
            407 => (HeaderName::ProxyAuthenticate, HeaderName::ProxyAuthorization),
            _ => return None,
        };
        let challenges: Vec<Challenge> = resp
            .headers
            .get_all(&challenge_hdr)
            .filter_map(|v| Challenge::parse(v).ok())
            .collect();
        let ch = DigestClient::pick(&challenges)?;
        let retry = self.authorized(req, ch, &cred_hdr, user, password);
        Some(
            self.transact(&retry, TIMEOUT)
                .unwrap_or_else(|| panic!("no response to authenticated {}", first_line(&retry))),
        )
    }

    /// `req` again with a new branch, CSeq + 1 and the credentials for `ch`.
    pub fn authorized(
        &mut self,
        req: &Message,
        ch: &Challenge,
        cred_hdr: &HeaderName,
        user: &str,
        password: &str,
    ) -> Message {
        let method = req.method().expect("a request").clone();
        let uri = String::from_utf8_lossy(&req.uri().expect("a request").to_bytes()).into_owned();
        let creds = DigestClient::respond(ch, &method, &uri, user, password, &rand_hex(), 1)
            .unwrap_or_else(|e| panic!("cannot answer challenge: {e}"));
        let mut retry = req.clone();
        let seq = cseq_of(req).map(|c| c.seq).unwrap_or(1) + 1;
        self.cseq = self.cseq.max(seq + 1);
        retry.headers.set(HeaderName::Via, self.new_via());
        retry.headers.set(
            HeaderName::CSeq,
            format!("{seq} {}", String::from_utf8_lossy(method.as_bytes())),
        );
        retry.headers.set(cred_hdr.clone(), creds);
        retry
    }

    /// Registers our Contact for `user` (digest `password`), doing the 401
    /// dance; returns the final status.
    pub fn register(&mut self, user: &str, password: &str) -> StatusCode {
        self.register_full(user, password, None).status().expect("a response")
    }

    /// As [`Ua::register`] with an optional `Expires`, returning the final
    /// response.
    pub fn register_full(&mut self, user: &str, password: &str, expires: Option<u32>) -> Message {
        let req = self.register_request(user, expires);
        self.with_auth(req, user, password)
    }

    /// Sends a response to a request the switch sent us (copying Via,
    /// From, To, Call-ID, CSeq; adding a To tag).
    pub fn reply(&mut self, req: &Message, code: StatusCode, body: Option<(&str, &str)>) -> Message {
        let mut resp = Message::response_to(req, code, None, Some(&format!("uas{}", rand_hex())));
        if let Some((ctype, b)) = body {
            resp.headers.push(HeaderName::ContentType, ctype.to_string());
            resp.body = Bytes::copy_from_slice(b.as_bytes());
        }
        self.send(&resp);
        resp
    }
}

// ---------------------------------------------------------------------
// Reading messages
// ---------------------------------------------------------------------

/// The branch of the top Via, if any.
pub fn top_branch(m: &Message) -> Option<Bytes> {
    let v = m.headers.get(&HeaderName::Via)?;
    let first = split_list(v).into_iter().next()?;
    Via::parse(&first).ok()?.branch()
}

/// The CSeq, typed.
pub fn cseq_of(m: &Message) -> Option<CSeq> {
    CSeq::parse(m.headers.get(&HeaderName::CSeq)?).ok()
}

/// The status code as a number (0 for a request).
pub fn code(m: &Message) -> u16 {
    m.status().map(|c| c.as_u16()).unwrap_or(0)
}

/// The reason phrase of a response ("" for a request).
pub fn reason(m: &Message) -> String {
    match &m.start {
        StartLine::Response { reason, .. } => String::from_utf8_lossy(reason).into_owned(),
        StartLine::Request { .. } => String::new(),
    }
}

/// The first value of header `name` (any spelling), as text.
pub fn header(m: &Message, name: &str) -> Option<String> {
    let n = HeaderName::from_bytes(Bytes::copy_from_slice(name.as_bytes()));
    m.headers.get(&n).map(|v| String::from_utf8_lossy(v).into_owned())
}

/// Every value of header `name` (comma lists split), as text.
pub fn header_values(m: &Message, name: &str) -> Vec<String> {
    let n = HeaderName::from_bytes(Bytes::copy_from_slice(name.as_bytes()));
    m.headers
        .values(&n)
        .iter()
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .collect()
}

/// The Contacts of a message (a 200 to REGISTER lists the bindings),
/// typed; `*` yields nothing.
pub fn contacts(m: &Message) -> Vec<switchboard::sip::msg::typed::Contact> {
    m.headers
        .get_all(&HeaderName::Contact)
        .filter_map(|v| match ContactList::parse(v) {
            Ok(ContactList::List(l)) => Some(l),
            _ => None,
        })
        .flatten()
        .collect()
}

/// The start line as text, for messages in assertions.
pub fn first_line(m: &Message) -> String {
    let b = m.to_bytes();
    let end = b.iter().position(|c| *c == b'\r').unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).into_owned()
}

/// The whole message as text, for assertions.
pub fn text(m: &Message) -> String {
    String::from_utf8_lossy(&m.to_bytes()).into_owned()
}
