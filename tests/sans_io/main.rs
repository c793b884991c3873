//! Virtual-time tests of the sans-IO cores (DESIGN.md convention 7): the
//! clock is read once for an origin; every later instant is the origin
//! plus an offset, and the harness jumps straight to `poll_timeout()`.

mod client_invite;
mod client_non_invite;
mod matching;
mod server_invite;
mod server_non_invite;
mod time_table;

use bytes::Bytes;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::{Duration, Instant};
use switchboard::sip::msg::{parse_datagram, HeaderName, Limits, Message, StatusCode};
use switchboard::sip::transaction::{
    Destination, Incoming, TimerConfig, TransactionLayer, Transmit, TransportKind, TxEvent, TxId,
};

/// The virtual clock's origin (tests live outside `src/`, so reading the
/// clock once here is allowed).
pub fn origin() -> Instant {
    Instant::now()
}

/// Milliseconds.
pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Seconds.
pub fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// The remote peer over `transport`.
pub fn peer(transport: TransportKind) -> Destination {
    Destination {
        addr: SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(192, 0, 2, 7), 5060)),
        transport,
        local: SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(192, 0, 2, 1), 5060)),
    }
}

/// The peer over UDP.
pub fn udp() -> Destination {
    peer(TransportKind::Udp)
}

/// The peer over TCP.
pub fn tcp() -> Destination {
    peer(TransportKind::Tcp)
}

/// Parses wire text into a message.
pub fn parse(text: &str) -> Message {
    let text = text.replace('\n', "\r\n");
    parse_datagram(Bytes::from(text), &Limits::default()).expect("test message parses")
}

/// A request with top Via `sent_by` and `branch`, an extra lower Via and a
/// Route, as a UAC (or the proxy in front of it) would send it.
pub fn request_from(method: &str, branch: &str, seq: u32, sent_by: &str) -> Message {
    parse(&format!(
        "{method} sip:bob@example.com SIP/2.0\n\
         Via: SIP/2.0/UDP {sent_by};branch={branch}\n\
         Via: SIP/2.0/UDP 198.51.100.1;branch=z9hG4bKlower\n\
         Route: <sip:proxy.example.com;lr>\n\
         Max-Forwards: 70\n\
         From: Alice <sip:alice@example.com>;tag=a1\n\
         To: Bob <sip:bob@example.com>\n\
         Call-ID: call-1@example.com\n\
         CSeq: {seq} {method}\n\
         Contact: <sip:alice@192.0.2.1>\n\
         \n"
    ))
}

/// A request from the default sent-by.
pub fn request(method: &str, branch: &str, seq: u32) -> Message {
    request_from(method, branch, seq, "192.0.2.1:5060")
}

/// The INVITE used by most tests.
pub fn invite(branch: &str) -> Message {
    request("INVITE", branch, 1)
}

/// A response to `req` (§8.2.6), with a To tag unless it is a 100.
pub fn response(req: &Message, code: u16) -> Message {
    let code = StatusCode::new(code).expect("valid code");
    let tag = (code != StatusCode::TRYING).then_some("b2");
    Message::response_to(req, code, None, tag)
}

/// The status code or method of serialised bytes.
pub fn first_line(bytes: &Bytes) -> String {
    let s = String::from_utf8_lossy(bytes);
    s.lines().next().unwrap_or_default().to_string()
}

/// Every value of header `name` in serialised bytes.
pub fn headers(bytes: &Bytes, name: HeaderName) -> Vec<String> {
    let msg = parse_datagram(bytes.clone(), &Limits::default()).expect("sent message parses");
    msg.headers
        .get_all(&name)
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .collect()
}

/// One header value.
pub fn header(bytes: &Bytes, name: HeaderName) -> String {
    headers(bytes, name).join(", ")
}

/// A transaction layer under a virtual clock that records every transmit
/// and event with the offset at which it came out.
pub struct Harness {
    /// The layer under test.
    pub layer: TransactionLayer,
    /// The origin.
    pub t0: Instant,
    /// The current virtual time.
    pub now: Instant,
    /// Transmits not yet taken, with their send time.
    pub sent: Vec<(Duration, Transmit)>,
    /// Events not yet taken, with their time.
    pub events: Vec<(Duration, TxEvent)>,
    /// Requests the TU answered, by transaction: the layer drops its copy
    /// once a final response is sent, and a TU keeps its own (a 2xx
    /// retransmitted in Accepted is built from it).
    pub answered: std::collections::HashMap<TxId, Message>,
}

impl Default for Harness {
    fn default() -> Self {
        Self::with(TimerConfig::default())
    }
}

impl Harness {
    /// Default RFC timers.
    pub fn new() -> Self {
        Self::default()
    }

    /// Custom timers.
    pub fn with(cfg: TimerConfig) -> Self {
        let t0 = origin();
        Harness {
            layer: TransactionLayer::new(cfg),
            t0,
            now: t0,
            sent: Vec::new(),
            events: Vec::new(),
            answered: std::collections::HashMap::new(),
        }
    }

    /// Virtual time elapsed.
    pub fn elapsed(&self) -> Duration {
        self.now - self.t0
    }

    fn pump(&mut self) {
        let at = self.elapsed();
        while let Some(t) = self.layer.poll_transmit() {
            self.sent.push((at, t));
        }
        while let Some(e) = self.layer.poll_event() {
            self.events.push((at, e));
        }
    }

    /// Jumps to the next deadline and fires it; false when none is armed.
    pub fn step(&mut self) -> bool {
        let Some(at) = self.layer.poll_timeout() else {
            return false;
        };
        assert!(at >= self.now, "deadline in the past");
        self.now = at;
        self.layer.handle_timeout(at);
        self.pump();
        true
    }

    /// Fires every deadline up to `t0 + until`, then sets the clock there.
    pub fn run_until(&mut self, until: Duration) {
        let end = self.t0 + until;
        while self.layer.poll_timeout().is_some_and(|at| at <= end) {
            self.step();
        }
        self.now = end;
    }

    /// Fires deadlines until none is left (bounded, to catch loops).
    pub fn run_to_end(&mut self) {
        for _ in 0..10_000 {
            if !self.step() {
                return;
            }
        }
        panic!("timers never settle");
    }

    /// Delivers `msg` from `from` as it would arrive: printed, parsed, enveloped.
    pub fn recv(&mut self, msg: &Message, from: Destination) -> Incoming {
        let wire = parse_datagram(msg.to_bytes(), &Limits::default()).expect("round trip");
        let env = wire.envelope().expect("valid envelope");
        let inc = self.layer.handle_incoming(self.now, wire, env, from);
        self.pump();
        inc
    }

    /// Starts a client transaction.
    pub fn send(&mut self, req: Message, dest: Destination) -> TxId {
        let id = self.layer.send_request(self.now, req, dest).expect("send_request");
        self.pump();
        id
    }

    /// The TU answers server transaction `tx` with `code`.
    pub fn respond(&mut self, tx: TxId, code: u16) {
        let req = match self.layer.request(tx) {
            Some(r) => r.clone(),
            None => self.answered.get(&tx).cloned().expect("live transaction"),
        };
        self.answered.insert(tx, req.clone());
        self.layer
            .send_response(self.now, tx, response(&req, code))
            .expect("send_response");
        self.pump();
    }

    /// Takes the transmits so far: (offset, first line).
    pub fn take_sent(&mut self) -> Vec<(Duration, Transmit)> {
        std::mem::take(&mut self.sent)
    }

    /// Offsets at which transmits went out, taking them.
    pub fn take_send_times(&mut self) -> Vec<Duration> {
        self.take_sent().into_iter().map(|(at, _)| at).collect()
    }

    /// Takes the events so far.
    pub fn take_events(&mut self) -> Vec<(Duration, TxEvent)> {
        std::mem::take(&mut self.events)
    }
}

/// Offsets in milliseconds, for compact assertions.
pub fn millis(v: &[Duration]) -> Vec<u64> {
    v.iter().map(|d| d.as_millis() as u64).collect()
}
