//! Overload control at the socket (issue 11 item 3), sans-IO: every
//! arriving SIP message is classified from its bytes, before any parse,
//! transaction or dialog state, and new work is refused early and cheaply
//! when the switch is busy or one source sends too much.
//!
//! - **Busy**: when more than [`GateSettings::busy_queue`] messages wait for
//!   the engine, a new out-of-dialog request (INVITE, REGISTER, OPTIONS,
//!   SUBSCRIBE, MESSAGE, …: any request without a To tag but ACK and
//!   CANCEL) is answered `503 Service Unavailable` with `Retry-After`
//!   (RFC 3261 §21.5.4), 1 to 4 s spread by Call-ID so refused callers do
//!   not come back together. Requests inside dialogs (a To tag: BYE,
//!   re-INVITE, ACK…), CANCEL and every response always go through: they
//!   finish calls the switch already carries.
//! - **Per source** (like Kamailio's pike): more than
//!   [`GateSettings::source_rate`] new requests within one second from one
//!   address get the same 503 with `Retry-After: 10`, unless the address is
//!   allowed (trunks' `inbound_from` and `[security] source_rate_allow`).
//!   The first refusal of a source in a minute is reported so the driver
//!   can log it.
//! - The ACK of such a 503 (its To tag starts with [`SHED_TAG_PREFIX`]) is
//!   dropped here: no transaction exists for it.
//!
//! The 503 goes back to the packet's source (never to a Via the sender
//! chose), so a forged request cannot turn the switch into a reflector.
//! A message the gate cannot classify is admitted: the engine answers it
//! (400 for a malformed one).

use crate::config::Cidr;
use crate::sip::msg::{parse_datagram, HeaderName, Limits, Message, StatusCode};
use bytes::Bytes;
use dashmap::DashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::RwLock;
use std::time::{Duration, Instant};

/// The To tag prefix of the gate's stateless 503s.
pub const SHED_TAG_PREFIX: &str = "ovl-";

/// Sources tracked at most; past it, stale windows are dropped, and a new
/// source is admitted untracked when none is stale (the gate fails open
/// rather than refusing everyone).
const MAX_SOURCES: usize = 65_536;

/// The per-source window.
const WINDOW: Duration = Duration::from_secs(1);

/// How often one source's refusals are reported.
const REPORT_EVERY: Duration = Duration::from_secs(60);

/// The gate's settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GateSettings {
    /// Messages waiting for the engine above which new requests are shed.
    pub busy_queue: usize,
    /// New requests per second per source address; 0 turns the limit off.
    pub source_rate: u32,
    /// Sources never limited per address.
    pub allow: Vec<Cidr>,
}

/// How a message was classified.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A response, or a request inside a dialog, or a CANCEL or an ACK of
    /// another transaction: always admitted.
    Ongoing,
    /// A request that starts new work (no To tag).
    New,
    /// The ACK of one of the gate's own 503s.
    ShedAck,
    /// Not recognisable as SIP: left to the engine.
    Unknown,
}

/// What to do with one message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Hand it to the engine.
    Admit,
    /// Answer it with these bytes (a 503) to its source, and drop it.
    Shed {
        /// The response.
        response: Bytes,
        /// Why.
        reason: ShedReason,
        /// True for the first refusal of this source within a minute (log it).
        report: bool,
    },
    /// Drop it silently.
    Drop,
}

/// Why new work was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShedReason {
    /// The engine's queue is over [`GateSettings::busy_queue`].
    Busy,
    /// The source is over [`GateSettings::source_rate`].
    SourceRate,
}

/// Counters, read by the driver's stats log.
#[derive(Debug, Default)]
pub struct GateCounters {
    /// New requests refused because the switch was busy.
    pub shed_busy: AtomicU64,
    /// New requests refused for their source's rate.
    pub shed_source: AtomicU64,
    /// ACKs of the gate's 503s dropped.
    pub acks_dropped: AtomicU64,
}

/// One source's current window.
#[derive(Clone, Copy, Debug)]
struct Window {
    start: Instant,
    count: u32,
    reported: Option<Instant>,
}

/// The gate, shared by every socket reader.
#[derive(Debug)]
pub struct OverloadGate {
    settings: RwLock<GateSettings>,
    sources: DashMap<IpAddr, Window>,
    /// What was refused and dropped so far.
    pub counters: GateCounters,
}

impl OverloadGate {
    /// A gate with `settings`.
    pub fn new(settings: GateSettings) -> Self {
        Self {
            settings: RwLock::new(settings),
            sources: DashMap::new(),
            counters: GateCounters::default(),
        }
    }

    /// Replaces the settings (SIGHUP).
    pub fn set_settings(&self, settings: GateSettings) {
        match self.settings.write() {
            Ok(mut g) => *g = settings,
            Err(p) => *p.into_inner() = settings,
        }
    }

    fn settings(&self) -> std::sync::RwLockReadGuard<'_, GateSettings> {
        match self.settings.read() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// Decides for the message `data` from `source`, with `queued` messages
    /// waiting for the engine, at `now`.
    pub fn check(&self, data: &[u8], source: IpAddr, queued: usize, now: Instant) -> Verdict {
        match classify(data) {
            Kind::Ongoing | Kind::Unknown => Verdict::Admit,
            Kind::ShedAck => {
                self.counters.acks_dropped.fetch_add(1, Ordering::Relaxed);
                Verdict::Drop
            }
            Kind::New => {
                if let Some(report) = self.over_source_rate(source, now) {
                    self.counters.shed_source.fetch_add(1, Ordering::Relaxed);
                    return shed(data, ShedReason::SourceRate, report);
                }
                if queued > self.settings().busy_queue {
                    self.counters.shed_busy.fetch_add(1, Ordering::Relaxed);
                    return shed(data, ShedReason::Busy, false);
                }
                Verdict::Admit
            }
        }
    }

    /// Counts one new request of `source`; `Some(report)` when it is over
    /// the limit.
    fn over_source_rate(&self, source: IpAddr, now: Instant) -> Option<bool> {
        {
            let settings = self.settings();
            if settings.source_rate == 0 || settings.allow.iter().any(|c| c.contains(source)) {
                return None;
            }
        }
        let limit = self.settings().source_rate;
        if self.sources.len() >= MAX_SOURCES && !self.sources.contains_key(&source) {
            self.sources
                .retain(|_, w| now.saturating_duration_since(w.start) < REPORT_EVERY);
            if self.sources.len() >= MAX_SOURCES {
                return None;
            }
        }
        let mut w = self.sources.entry(source).or_insert(Window {
            start: now,
            count: 0,
            reported: None,
        });
        if now.saturating_duration_since(w.start) >= WINDOW {
            w.start = now;
            w.count = 0;
        }
        w.count = w.count.saturating_add(1);
        if w.count <= limit {
            return None;
        }
        let report = w
            .reported
            .is_none_or(|at| now.saturating_duration_since(at) >= REPORT_EVERY);
        if report {
            w.reported = Some(now);
        }
        Some(report)
    }
}

/// The 503 for `data`, or admission when it does not parse (the engine
/// then answers it).
fn shed(data: &[u8], reason: ShedReason, report: bool) -> Verdict {
    let Ok(req) = parse_datagram(Bytes::copy_from_slice(data), &Limits::default()) else {
        return Verdict::Admit;
    };
    if req.envelope().is_err() {
        return Verdict::Admit;
    }
    let call_id = req.headers.get(&HeaderName::CallId).cloned().unwrap_or_default();
    let spread = call_id
        .iter()
        .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(*b)));
    let (retry_after, tag) = match reason {
        ShedReason::Busy => (1 + spread % 4, format!("{SHED_TAG_PREFIX}{spread:08x}")),
        ShedReason::SourceRate => (10, format!("{SHED_TAG_PREFIX}{spread:08x}")),
    };
    let mut resp = Message::response_to(&req, StatusCode::SERVICE_UNAVAILABLE, None, Some(&tag));
    resp.headers
        .push(HeaderName::RetryAfter, Bytes::from(retry_after.to_string()));
    Verdict::Shed {
        response: resp.to_bytes(),
        reason,
        report,
    }
}

/// Classifies a message from its start line and To header alone.
pub fn classify(data: &[u8]) -> Kind {
    let Some(line_end) = data.iter().position(|&b| b == b'\n') else {
        return Kind::Unknown;
    };
    let start = &data[..line_end];
    if start.starts_with(b"SIP/2.0 ") {
        return Kind::Ongoing;
    }
    let Some(sp) = start.iter().position(|&b| b == b' ') else {
        return Kind::Unknown;
    };
    let method = &start[..sp];
    if method.is_empty() || !method.iter().all(u8::is_ascii_alphabetic) {
        return Kind::Unknown;
    }
    let to = to_header(&data[line_end + 1..]);
    match method {
        b"ACK" => match to.as_deref().and_then(tag_of) {
            Some(tag) if tag.starts_with(SHED_TAG_PREFIX.as_bytes()) => Kind::ShedAck,
            _ => Kind::Ongoing,
        },
        b"CANCEL" => Kind::Ongoing,
        _ => match to {
            None => Kind::Unknown,
            Some(v) if tag_of(&v).is_some() => Kind::Ongoing,
            Some(_) => Kind::New,
        },
    }
}

/// The value of the To header (`To` or compact `t`), folded lines joined;
/// `None` when there is none.
fn to_header(headers: &[u8]) -> Option<Vec<u8>> {
    let mut value: Option<Vec<u8>> = None;
    let mut in_to = false;
    for raw in headers.split(|&b| b == b'\n') {
        let line = raw.strip_suffix(b"\r").unwrap_or(raw);
        if line.is_empty() {
            break;
        }
        if line[0] == b' ' || line[0] == b'\t' {
            if in_to {
                if let Some(v) = value.as_mut() {
                    v.push(b' ');
                    v.extend_from_slice(line);
                }
            }
            continue;
        }
        in_to = false;
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let name = line[..colon].trim_ascii();
        if value.is_none() && (name.eq_ignore_ascii_case(b"to") || name.eq_ignore_ascii_case(b"t")) {
            value = Some(line[colon + 1..].to_vec());
            in_to = true;
        }
    }
    value
}

/// The `tag` parameter of a To value (outside `<…>` and quotes).
fn tag_of(value: &[u8]) -> Option<&[u8]> {
    let (mut in_angle, mut in_quote) = (false, false);
    let mut i = 0;
    while i < value.len() {
        match value[i] {
            b'"' if !in_angle => in_quote = !in_quote,
            b'\\' if in_quote => i += 1,
            b'<' if !in_quote => in_angle = true,
            b'>' if !in_quote => in_angle = false,
            b';' if !in_angle && !in_quote => {
                let rest = value[i + 1..].trim_ascii_start();
                if rest.len() >= 3 && rest[..3].eq_ignore_ascii_case(b"tag") {
                    let after = rest[3..].trim_ascii_start();
                    if let Some(v) = after.strip_prefix(b"=") {
                        let v = v.trim_ascii_start();
                        let end = v
                            .iter()
                            .position(|&b| b == b';' || b.is_ascii_whitespace())
                            .unwrap_or(v.len());
                        return (end > 0).then_some(&v[..end]);
                    }
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: &str, to: &str) -> Vec<u8> {
        format!(
            "{method} sip:1002@example.com SIP/2.0\r\n\
             Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-1\r\n\
             From: <sip:1001@example.com>;tag=a1\r\n\
             To: {to}\r\n\
             Call-ID: c-1@192.0.2.1\r\n\
             CSeq: 1 {method}\r\n\
             Max-Forwards: 70\r\n\
             Content-Length: 0\r\n\r\n"
        )
        .into_bytes()
    }

    fn gate(busy_queue: usize, source_rate: u32) -> OverloadGate {
        OverloadGate::new(GateSettings {
            busy_queue,
            source_rate,
            allow: vec!["10.0.0.0/8".parse().expect("cidr")],
        })
    }

    const SRC: &str = "192.0.2.1";

    #[test]
    fn classification_by_method_and_to_tag() {
        assert_eq!(classify(&request("INVITE", "<sip:1002@example.com>")), Kind::New);
        assert_eq!(classify(&request("REGISTER", "<sip:1001@example.com>")), Kind::New);
        assert_eq!(classify(&request("OPTIONS", "<sip:x@example.com>")), Kind::New);
        assert_eq!(
            classify(&request("INVITE", "<sip:1002@example.com>;tag=b2")),
            Kind::Ongoing
        );
        assert_eq!(
            classify(&request("BYE", "<sip:1002@example.com>;TAG = b2")),
            Kind::Ongoing
        );
        assert_eq!(classify(&request("CANCEL", "<sip:1002@example.com>")), Kind::Ongoing);
        assert_eq!(
            classify(&request("ACK", "<sip:1002@example.com>;tag=b2")),
            Kind::Ongoing
        );
        assert_eq!(
            classify(&request("ACK", "<sip:1002@example.com>;tag=ovl-1234")),
            Kind::ShedAck
        );
        // A tag inside the URI or a quoted display name is not the To tag.
        assert_eq!(classify(&request("INVITE", "<sip:1002@example.com;tag=x>")), Kind::New);
        assert_eq!(
            classify(&request("INVITE", "\"a;tag=x\" <sip:1002@example.com>")),
            Kind::New
        );
        // Compact form and a tag on a folded line.
        let compact = String::from_utf8(request("INVITE", "x"))
            .expect("utf8")
            .replace("To: x", "t: <sip:a@b>;tag=9");
        assert_eq!(classify(compact.as_bytes()), Kind::Ongoing);
        let folded = String::from_utf8(request("INVITE", "<sip:a@b>\r\n ;tag=9")).expect("utf8");
        assert_eq!(classify(folded.as_bytes()), Kind::Ongoing);
        assert_eq!(classify(b"SIP/2.0 200 OK\r\n\r\n"), Kind::Ongoing);
        assert_eq!(classify(b"\x00\x01garbage"), Kind::Unknown);
        assert_eq!(classify(b"INVITE sip:a@b SIP/2.0\r\n\r\n"), Kind::Unknown);
    }

    #[test]
    fn a_busy_switch_sheds_new_requests_only_with_a_503_and_retry_after() {
        let g = gate(100, 0);
        let now = Instant::now();
        let src: IpAddr = SRC.parse().expect("ip");
        assert_eq!(
            g.check(&request("INVITE", "<sip:1002@example.com>"), src, 100, now),
            Verdict::Admit
        );
        let Verdict::Shed { response, reason, .. } =
            g.check(&request("INVITE", "<sip:1002@example.com>"), src, 101, now)
        else {
            panic!("shed when busy");
        };
        assert_eq!(reason, ShedReason::Busy);
        let text = String::from_utf8(response.to_vec()).expect("utf8");
        assert!(text.starts_with("SIP/2.0 503 Service Unavailable\r\n"), "{text}");
        assert!(
            text.contains("Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-1\r\n"),
            "{text}"
        );
        assert!(text.contains("To: <sip:1002@example.com>;tag=ovl-"), "{text}");
        assert!(
            text.contains("Call-ID: c-1@192.0.2.1\r\n") && text.contains("CSeq: 1 INVITE\r\n"),
            "{text}"
        );
        let retry: u32 = text
            .lines()
            .find_map(|l| l.strip_prefix("Retry-After: "))
            .and_then(|v| v.trim().parse().ok())
            .expect("Retry-After");
        assert!((1..=4).contains(&retry), "{retry}");
        // In-dialog requests, CANCEL and responses pass however busy.
        for m in [
            request("BYE", "<sip:1002@example.com>;tag=b2"),
            request("INVITE", "<sip:1002@example.com>;tag=b2"),
            request("CANCEL", "<sip:1002@example.com>"),
            b"SIP/2.0 180 Ringing\r\n\r\n".to_vec(),
        ] {
            assert_eq!(g.check(&m, src, 1_000_000, now), Verdict::Admit);
        }
        // The ACK of the 503 never reaches the engine.
        let tag = text
            .lines()
            .find_map(|l| l.strip_prefix("To: <sip:1002@example.com>;tag="))
            .expect("the To tag");
        let ack = request("ACK", &format!("<sip:1002@example.com>;tag={tag}"));
        assert_eq!(g.check(&ack, src, 0, now), Verdict::Drop);
        assert_eq!(g.counters.shed_busy.load(Ordering::Relaxed), 1);
        assert_eq!(g.counters.acks_dropped.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn one_source_over_its_rate_is_refused_until_the_next_second_others_are_not() {
        let g = gate(1_000, 3);
        let t0 = Instant::now();
        let src: IpAddr = SRC.parse().expect("ip");
        let other: IpAddr = "192.0.2.2".parse().expect("ip");
        let trunk: IpAddr = "10.1.2.3".parse().expect("ip");
        let invite = request("INVITE", "<sip:1002@example.com>");
        for _ in 0..3 {
            assert_eq!(g.check(&invite, src, 0, t0), Verdict::Admit);
        }
        match g.check(&invite, src, 0, t0) {
            Verdict::Shed {
                reason,
                report,
                response,
            } => {
                assert_eq!((reason, report), (ShedReason::SourceRate, true));
                assert!(String::from_utf8_lossy(&response).contains("Retry-After: 10\r\n"));
            }
            v => panic!("{v:?}"),
        }
        // Reported once a minute, refused every time.
        assert!(matches!(
            g.check(&invite, src, 0, t0),
            Verdict::Shed { report: false, .. }
        ));
        // In-dialog requests of that source still pass.
        assert_eq!(g.check(&request("BYE", "<sip:a@b>;tag=1"), src, 0, t0), Verdict::Admit);
        assert_eq!(g.check(&invite, other, 0, t0), Verdict::Admit);
        for _ in 0..100 {
            assert_eq!(g.check(&invite, trunk, 0, t0), Verdict::Admit, "allowed source");
        }
        assert_eq!(g.check(&invite, src, 0, t0 + WINDOW), Verdict::Admit, "next window");
    }

    #[test]
    fn an_unparsable_new_request_is_left_to_the_engine() {
        let g = gate(0, 0);
        // Classified as new (To without tag) but not a valid message.
        let bad = b"INVITE sip:a@b SIP/2.0\r\nTo: <sip:a@b>\r\n\r\n";
        assert_eq!(
            g.check(bad, SRC.parse().expect("ip"), 10, Instant::now()),
            Verdict::Admit
        );
    }
}
