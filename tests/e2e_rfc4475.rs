//! RFC 4475 (SIP torture test messages) against the running switch, over
//! real UDP and TCP loopback sockets.
//!
//! Every file in `tests/vectors/rfc4475/*.dat` is sent to the internal
//! profile and the outcome compared with the table below (derived from
//! `tests/vectors/rfc4475/EXPECTED.md`, the role being a UAS/B2BUA with
//! digest authentication on REGISTER and INVITE, and OPTIONS answered
//! without authentication). After every vector the switch must still answer
//! a valid OPTIONS with 200 (RFC 4475 §1: an element must not crash or hang),
//! and at the end the process must still be running.
//!
//! # What is sent
//!
//! * TCP ([`rfc4475_vectors_over_tcp`]): the file's exact bytes, one
//!   connection per vector; responses come back on the connection.
//! * UDP ([`rfc4475_vectors_over_udp`]): the file's exact bytes as one
//!   datagram, except for one rewrite. The vectors' Via sent-by names
//!   192.0.2.x or example.com hosts with no port, so a correct UAS answers
//!   to `<host>:5060` (RFC 3261 §18.2.2) and the test could never see it;
//!   worse, the switch would send to those addresses. So in the *top Via
//!   of a request* only the sent-by `host[:port]` is replaced by the test
//!   socket's `127.0.0.1:PORT`; the protocol name and version (`SIP/7.0` in
//!   `badvers`), the transport token (`TCP`, `TLS` in `esc02`, `bext01`...),
//!   the LWS and folding (`wsinv`) and every parameter (the broken
//!   `;;,;,,` of `badinv01`, the bare `z9hG4bK` of `badbranch`) stay as
//!   they are, so a malformed Via is still malformed and the switch must
//!   answer it to the packet's source. Content-Length is unaffected (the
//!   Via is in the header section). Responses (`unreason`, `noreason`,
//!   `scalarlg`, `bigcode`, `bcast`) and `test.dat` (no Via) are sent
//!   unchanged: the switch must not answer them at all.
//!
//! "No reply" means nothing within [`NO_REPLY_WAIT`]. Every failing vector
//! is collected and reported together.

mod common;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use common::ua::{self, Ua};
use common::Switch;
use switchboard::sip::msg::{split_list, HeaderName, Message, Method};

/// How long "no reply" waits.
const NO_REPLY_WAIT: Duration = Duration::from_millis(500);
/// How long an expected reply may take.
const REPLY_WAIT: Duration = Duration::from_secs(2);

/// What one vector must produce.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Want {
    /// Exactly this final response.
    Code(u16),
    /// Nothing at all within [`NO_REPLY_WAIT`].
    NoReply,
    /// TCP: exactly this final response, then the switch closes the
    /// connection (a framing error: RFC 3261 §18.3, RFC 4475 §3.1.2.3,
    /// §3.3.9). Over UDP the same as [`Want::Code`].
    ClosedAfter(u16),
    /// TCP: nothing, and the connection stays open (waiting for the rest
    /// of a body announced by Content-Length).
    Waits,
}

/// Extra checks on the response.
#[derive(Clone, Copy, Debug)]
enum Check {
    None,
    /// An `Allow` header (RFC 3261 §21.4.6, §21.5.2).
    Allow,
    /// An `Unsupported` header listing all of these (§20.40).
    Unsupported(&'static [&'static str]),
    /// A `Warning: 399` header (RFC 4475 §3.3.15).
    Warning399,
    /// No second response within [`NO_REPLY_WAIT`] (RFC 4475 §3.1.1.8).
    OnlyOne,
}

struct Case {
    file: &'static str,
    section: &'static str,
    udp: Want,
    tcp: Want,
    check: Check,
}

const fn case(file: &'static str, section: &'static str, udp: Want, tcp: Want, check: Check) -> Case {
    Case {
        file,
        section,
        udp,
        tcp,
        check,
    }
}

use Want::*;

/// The expected outcome of every vector (see the module doc).
const CASES: &[Case] = &[
    // §3.1.1 valid messages.
    // wsinv carries a To tag, so it is an in-dialog request for a dialog
    // that does not exist: a UAS answers 481 (RFC 3261 §12.2.2). Its
    // branch lacks the cookie: RFC 2543 matching (§17.2.3) handles it.
    case("wsinv.dat", "3.1.1.1", Code(481), Code(481), Check::None),
    case("intmeth.dat", "3.1.1.2", Code(501), Code(501), Check::Allow),
    case("esc01.dat", "3.1.1.3", Code(407), Code(407), Check::None),
    case("escnull.dat", "3.1.1.4", Code(401), Code(401), Check::None),
    case("esc02.dat", "3.1.1.5", Code(501), Code(501), Check::Allow),
    case("lwsdisp.dat", "3.1.1.6", Code(200), Code(200), Check::None),
    case("longreq.dat", "3.1.1.7", Code(407), Code(407), Check::None),
    // Over TCP the trailing octets are a second message on the stream
    // (RFC 3261 §18.3 framing); see `dblreq_over_tcp_is_two_messages`.
    case("dblreq.dat", "3.1.1.8", Code(401), Code(401), Check::OnlyOne),
    case("semiuri.dat", "3.1.1.9", Code(200), Code(200), Check::None),
    case("transports.dat", "3.1.1.10", Code(200), Code(200), Check::None),
    case("mpart01.dat", "3.1.1.11", Code(405), Code(405), Check::Allow),
    case("unreason.dat", "3.1.1.12", NoReply, NoReply, Check::None),
    case("noreason.dat", "3.1.1.13", NoReply, NoReply, Check::None),
    // §3.1.2 invalid messages.
    case("badinv01.dat", "3.1.2.1", Code(400), Code(400), Check::None),
    case("clerr.dat", "3.1.2.2", Code(400), Waits, Check::None),
    case("ncl.dat", "3.1.2.3", Code(400), ClosedAfter(400), Check::None),
    case("scalar02.dat", "3.1.2.4", Code(400), Code(400), Check::None),
    case("scalarlg.dat", "3.1.2.5", NoReply, NoReply, Check::None),
    case("quotbal.dat", "3.1.2.6", Code(400), Code(400), Check::None),
    case("ltgtruri.dat", "3.1.2.7", Code(400), Code(400), Check::None),
    case("lwsruri.dat", "3.1.2.8", Code(400), Code(400), Check::None),
    case("lwsstart.dat", "3.1.2.9", Code(400), Code(400), Check::None),
    case("trws.dat", "3.1.2.10", Code(400), Code(400), Check::None),
    case("escruri.dat", "3.1.2.11", Code(400), Code(400), Check::None),
    case("baddate.dat", "3.1.2.12", Code(407), Code(407), Check::None),
    case("regbadct.dat", "3.1.2.13", Code(400), Code(400), Check::None),
    case("badaspec.dat", "3.1.2.14", Code(400), Code(400), Check::None),
    // The archive's baddn.dat ends with `l: 0\r\n` and no empty line: a
    // datagram ends there, but on a stream the header section is still
    // open, so over TCP the switch must wait for the rest (RFC 3261 §18.3).
    case("baddn.dat", "3.1.2.15", Code(400), Waits, Check::None),
    case("badvers.dat", "3.1.2.16", Code(505), Code(505), Check::None),
    case("mismatch01.dat", "3.1.2.17", Code(400), Code(400), Check::None),
    case("mismatch02.dat", "3.1.2.18", Code(501), Code(501), Check::Allow),
    case("bigcode.dat", "3.1.2.19", NoReply, NoReply, Check::None),
    // §3.2 transaction layer.
    // The bare `z9hG4bK` is not an RFC 3261 branch: the RFC 2543 fallback
    // matching (§17.2.3) processes the OPTIONS normally.
    case("badbranch.dat", "3.2.1", Code(200), Code(200), Check::None),
    // §3.3 application layer.
    case("insuf.dat", "3.3.1", Code(400), Code(400), Check::None),
    case("unkscm.dat", "3.3.2", Code(416), Code(416), Check::None),
    case("novelsc.dat", "3.3.3", Code(416), Code(416), Check::None),
    case("unksm2.dat", "3.3.4", Code(400), Code(400), Check::None),
    case(
        "bext01.dat",
        "3.3.5",
        Code(420),
        Code(420),
        Check::Unsupported(&["nothingSupportsThis", "nothingSupportsThisEither"]),
    ),
    case("invut.dat", "3.3.6", Code(415), Code(415), Check::None),
    case("regaut01.dat", "3.3.7", Code(401), Code(401), Check::None),
    case("multi01.dat", "3.3.8", Code(400), Code(400), Check::None),
    case("mcl01.dat", "3.3.9", Code(400), ClosedAfter(400), Check::None),
    case("bcast.dat", "3.3.10", NoReply, NoReply, Check::None),
    case("zeromf.dat", "3.3.11", Code(200), Code(200), Check::None),
    case("cparam01.dat", "3.3.12", Code(401), Code(401), Check::None),
    case("cparam02.dat", "3.3.13", Code(401), Code(401), Check::None),
    case("regescrt.dat", "3.3.14", Code(401), Code(401), Check::None),
    case("sdp01.dat", "3.3.15", Code(406), Code(406), Check::Warning399),
    // §3.4 backward compatibility.
    // Accepted with RFC 2543 matching; the INVITE needs authentication.
    case("inv2543.dat", "3.4.1", Code(407), Code(407), Check::None),
    // In the archive, described nowhere: no SIP-Version, no Via.
    case("test.dat", "(none)", NoReply, NoReply, Check::None),
];

fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/rfc4475")
}

fn load(file: &str) -> Vec<u8> {
    let p = vectors_dir().join(file);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Every `.dat` file in the vectors directory has a row in [`CASES`], and
/// every row a file: a vector added or renamed cannot be silently skipped.
#[test]
fn rfc4475_every_vector_file_has_an_expectation() {
    let mut files: Vec<String> = std::fs::read_dir(vectors_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".dat"))
        .collect();
    files.sort();
    let mut listed: Vec<String> = CASES.iter().map(|c| c.file.to_string()).collect();
    listed.sort();
    assert_eq!(files, listed, "tests/vectors/rfc4475/*.dat and CASES differ");
    assert_eq!(files.len(), 50, "RFC 4475's archive holds 50 files");
}

// ---------------------------------------------------------------------------
// The UDP Via rewrite
// ---------------------------------------------------------------------------

fn is_lws(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_token(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&c)
}

/// The byte range of the sent-by `host[:port]` of the top Via of the first
/// message in `msg`, if that Via's `protocol / version / transport` part
/// can be read. Only the first message's header section is searched.
fn top_via_sent_by(msg: &[u8]) -> Option<std::ops::Range<usize>> {
    let head_end = msg
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|p| p + 2)
        .unwrap_or(msg.len());
    // Header line starts: after each CRLF not followed by SP/HT (folding).
    let mut i = msg.iter().position(|c| *c == b'\n')? + 1; // skip the start line
    while i < head_end {
        let line_end = msg[i..head_end]
            .iter()
            .position(|c| *c == b'\n')
            .map(|p| i + p)
            .unwrap_or(head_end);
        let line = &msg[i..line_end];
        if let Some(colon) = line.iter().position(|c| *c == b':') {
            let name = line[..colon].trim_ascii();
            if name.eq_ignore_ascii_case(b"via") || name.eq_ignore_ascii_case(b"v") {
                return sent_by_in(msg, i + colon + 1, head_end);
            }
        }
        i = line_end + 1;
    }
    None
}

/// Parses `SIP / 2.0 / UDP LWS host[:port]` from `start` (LWS includes
/// folding) and returns the host[:port] range.
fn sent_by_in(msg: &[u8], start: usize, end: usize) -> Option<std::ops::Range<usize>> {
    let mut i = start;
    let skip_lws = |i: &mut usize| {
        while *i < end && is_lws(msg[*i]) {
            *i += 1;
        }
    };
    for k in 0..3 {
        skip_lws(&mut i);
        let st = i;
        while i < end && is_token(msg[i]) {
            i += 1;
        }
        if st == i {
            return None;
        }
        skip_lws(&mut i);
        if k < 2 {
            if msg.get(i) != Some(&b'/') {
                return None;
            }
            i += 1;
        }
    }
    let host_start = i;
    if msg.get(i) == Some(&b'[') {
        i += msg[i..end].iter().position(|c| *c == b']')? + 1;
    } else {
        while i < end && (is_token(msg[i]) || msg[i] == b':') {
            i += 1;
        }
    }
    if msg.get(i) == Some(&b':') {
        i += 1;
        while i < end && msg[i].is_ascii_digit() {
            i += 1;
        }
    }
    (i > host_start).then_some(host_start..i)
}

/// The datagram to send for a UDP run: the vector with its top Via sent-by
/// replaced by `ours` (requests only; see the module doc). Returns the
/// bytes and the replaced text, if any.
fn rewrite_for_udp(vector: &[u8], ours: SocketAddr) -> (Vec<u8>, Option<String>) {
    if vector.starts_with(b"SIP/") {
        return (vector.to_vec(), None);
    }
    match top_via_sent_by(vector) {
        Some(r) => {
            let old = String::from_utf8_lossy(&vector[r.clone()]).into_owned();
            let mut out = Vec::with_capacity(vector.len() + 16);
            out.extend_from_slice(&vector[..r.start]);
            out.extend_from_slice(ours.to_string().as_bytes());
            out.extend_from_slice(&vector[r.end..]);
            (out, Some(old))
        }
        None => (vector.to_vec(), None),
    }
}

#[test]
fn rfc4475_udp_via_rewrite_touches_only_the_sent_by() {
    let ours: SocketAddr = "127.0.0.1:4242".parse().unwrap();
    let (wsinv, old) = rewrite_for_udp(&load("wsinv.dat"), ours);
    assert_eq!(old.as_deref(), Some("192.0.2.2"));
    let text = String::from_utf8_lossy(&wsinv);
    assert!(
        text.contains("Via  : SIP  /   2.0\r\n /UDP\r\n    127.0.0.1:4242;branch=390skdjuw\r\n"),
        "{text}"
    );
    let (bad, old) = rewrite_for_udp(&load("badinv01.dat"), ours);
    assert_eq!(old.as_deref(), Some("192.0.2.15"));
    assert!(String::from_utf8_lossy(&bad).contains("Via: SIP/2.0/UDP 127.0.0.1:4242;;,;,,\r\n"));
    let (ver, _) = rewrite_for_udp(&load("badvers.dat"), ours);
    assert!(String::from_utf8_lossy(&ver).contains("Via:     SIP/7.0/UDP 127.0.0.1:4242;branch=z9hG4bKkdjuw\r\n"));
    // dblreq: only the first message's top Via.
    let (dbl, _) = rewrite_for_udp(&load("dblreq.dat"), ours);
    let dbl = String::from_utf8_lossy(&dbl);
    assert!(dbl.contains("Via: SIP/2.0/UDP 127.0.0.1:4242;branch=z9hG4bKkdjuw23492\r\n"));
    assert!(dbl.contains("Via: SIP/2.0/UDP 192.0.2.15;branch=z9hG4bKkdjuw380234\r\n"));
    // Responses and test.dat go out untouched.
    assert_eq!(rewrite_for_udp(&load("bcast.dat"), ours).0, load("bcast.dat"));
    assert_eq!(rewrite_for_udp(&load("test.dat"), ours).0, load("test.dat"));
    // Every request vector with a Via gets its sent-by rewritten, so no
    // response can go to a 192.0.2.x or example.com address.
    for c in CASES {
        let v = load(c.file);
        if v.starts_with(b"SIP/") || c.file == "test.dat" {
            continue;
        }
        let (_, old) = rewrite_for_udp(&v, ours);
        assert!(old.is_some(), "{}: top Via sent-by not found", c.file);
    }
}

// ---------------------------------------------------------------------------
// Running the vectors
// ---------------------------------------------------------------------------

/// The first value of `name` (any spelling) in the vector's first message.
fn vector_header(vector: &[u8], names: &[&str]) -> Option<String> {
    let head_end = vector.windows(4).position(|w| w == b"\r\n\r\n")?;
    let text = String::from_utf8_lossy(&vector[..head_end]);
    text.split("\r\n").skip(1).find_map(|l| {
        let (n, v) = l.split_once(':')?;
        names
            .iter()
            .any(|x| n.trim().eq_ignore_ascii_case(x))
            .then(|| v.trim().to_string())
    })
}

/// The ACK for a non-2xx final response to an INVITE sent by the switch's
/// INVITE server transaction (§17.1.1.3): same Request-URI and top Via
/// (branch), To with the response's tag. Only responses whose To tag the
/// switch added get one: stateless 400s to malformed requests copy the
/// request's To, and an ACK built from a malformed request (e.g. the
/// `sip:user@example.com; lr` Request-URI of `lwsruri`) would itself be
/// malformed.
fn ack_for(vector: &[u8], resp: &Message) -> Option<Vec<u8>> {
    let cseq = ua::cseq_of(resp)?;
    if cseq.method != Method::INVITE || ua::code(resp) < 300 {
        return None;
    }
    let to = resp.headers.get(&HeaderName::To)?;
    let tagged = |v: &str| v.to_ascii_lowercase().replace([' ', '\t'], "").contains(";tag=");
    if !tagged(&String::from_utf8_lossy(to)) || vector_header(vector, &["to", "t"]).is_none_or(|v| tagged(&v)) {
        return None;
    }
    let line_end = vector.iter().position(|c| *c == b'\r')?;
    let line = String::from_utf8_lossy(&vector[..line_end]).into_owned();
    let ruri = line.split(' ').nth(1)?.to_string();
    let via = split_list(resp.headers.get(&HeaderName::Via)?).into_iter().next()?;
    let h = |n: HeaderName| resp.headers.get(&n).map(|v| String::from_utf8_lossy(v).into_owned());
    let ack = format!(
        "ACK {ruri} SIP/2.0\r\nVia: {}\r\nMax-Forwards: 70\r\nFrom: {}\r\nTo: {}\r\n\
         Call-ID: {}\r\nCSeq: {} ACK\r\nContent-Length: 0\r\n\r\n",
        String::from_utf8_lossy(&via),
        h(HeaderName::From)?,
        String::from_utf8_lossy(to),
        h(HeaderName::CallId)?,
        cseq.seq
    );
    Some(ack.into_bytes())
}

/// Checks one response against the case; returns the faults.
fn check_response(c: &Case, vector: &[u8], resp: &Message, want: u16) -> Vec<String> {
    let mut faults = Vec::new();
    let got = ua::code(resp);
    let reason = ua::reason(resp);
    if got != want {
        faults.push(format!("got {got} {reason:?}, want {want}"));
    }
    if got == 400 && (reason.trim().is_empty() || reason.eq_ignore_ascii_case("Bad Request")) {
        faults.push(format!("400 reason {reason:?} does not name the fault"));
    }
    // The response belongs to this request (§8.2.6.2: Call-ID copied).
    if let (Some(cid), Some(rcid)) = (vector_header(vector, &["call-id", "i"]), ua::header(resp, "Call-ID")) {
        if !String::from_utf8_lossy(vector).contains(rcid.trim()) {
            faults.push(format!("response Call-ID {rcid:?} is not the request's ({cid:?})"));
        }
    }
    match c.check {
        Check::None | Check::OnlyOne => {}
        Check::Allow => {
            if ua::header(resp, "Allow").is_none() {
                faults.push("no Allow header".into());
            }
        }
        Check::Unsupported(tags) => {
            let vals = ua::header_values(resp, "Unsupported");
            for t in tags {
                if !vals.iter().any(|v| v == t) {
                    faults.push(format!("Unsupported {vals:?} lacks {t}"));
                }
            }
        }
        Check::Warning399 => match ua::header(resp, "Warning") {
            Some(w) if w.trim_start().starts_with("399") => {}
            other => faults.push(format!("Warning {other:?}, want 399")),
        },
    }
    faults
}

/// Liveness after a vector: a valid OPTIONS on `ua` gets 200 (RFC 4475
/// §1: the element must still work).
fn alive(ua: &mut Ua) -> Result<(), String> {
    let req = ua.options();
    match ua.transact(&req, REPLY_WAIT) {
        Some(r) if ua::code(&r) == 200 => Ok(()),
        Some(r) => Err(format!("liveness OPTIONS got {}", ua::first_line(&r))),
        None => Err("liveness OPTIONS got no response".into()),
    }
}

fn report(transport: &str, sw: &mut Switch, faults: Vec<String>) {
    assert!(
        sw.try_wait().is_none(),
        "the switch exited during the RFC 4475 run over {transport}: {:?}\n{}",
        sw.try_wait(),
        faults.join("\n")
    );
    assert!(
        faults.is_empty(),
        "RFC 4475 over {transport}: {} vector(s) failed:\n{}",
        faults.len(),
        faults.join("\n")
    );
}

/// RFC 4475 §3 (every message), UDP: one datagram per vector, each from
/// its own socket, with the top-Via sent-by rewrite described in the
/// module doc.
///
/// Why a socket per vector: many vectors share a branch (`z9hG4bKkdjuw`)
/// and, once rewritten, would share the sent-by too; by RFC 3261 §17.2.3
/// (branch + sent-by + method) the switch rightly takes the later ones for
/// retransmissions of the earlier transaction and replays its response.
#[test]
fn rfc4475_vectors_over_udp() {
    let mut sw = Switch::start();
    let mut faults = Vec::new();
    for c in CASES {
        let vector = load(c.file);
        let mut ua = Ua::udp(sw.internal_addr());
        let ours = ua.local_addr();
        let (bytes, _old) = rewrite_for_udp(&vector, ours);
        ua.send_raw(&bytes);
        let mut f: Vec<String> = Vec::new();
        match c.udp {
            Code(want) | ClosedAfter(want) => match ua.recv(REPLY_WAIT) {
                Some(resp) => {
                    println!("UDP {:<15} {}", c.file, ua::first_line(&resp));
                    f.extend(check_response(c, &vector, &resp, want));
                    if let Some(ack) = ack_for(&bytes, &resp) {
                        ua.send_raw(&ack);
                    }
                    if matches!(c.check, Check::OnlyOne) {
                        if let Some(extra) = ua.recv(NO_REPLY_WAIT) {
                            f.push(format!("a second response: {}", ua::first_line(&extra)));
                        }
                    }
                }
                None => f.push(format!("no response, want {want}")),
            },
            NoReply | Waits => {
                if let Some(resp) = ua.recv(NO_REPLY_WAIT) {
                    f.push(format!("unexpected reply {}", ua::first_line(&resp)));
                }
            }
        }
        if let Err(e) = alive(&mut ua) {
            f.push(e);
        }
        // Anything else that arrived meanwhile is a stray (a retransmitted
        // final response, a second answer).
        while let Some(m) = ua.recv(Duration::from_millis(1)) {
            f.push(format!("stray message: {}", ua::first_line(&m)));
        }
        faults.extend(f.into_iter().map(|e| format!("{} (§{}): {e}", c.file, c.section)));
    }
    report("UDP", &mut sw, faults);
}

/// RFC 4475 §3 (every message), TCP: exact bytes, one connection per
/// vector. Framing errors (`ncl`, `mcl01`) are answered 400, then the
/// connection is closed; `clerr`'s announced body never arrives, so the
/// switch keeps waiting.
#[test]
fn rfc4475_vectors_over_tcp() {
    let mut sw = Switch::start();
    let mut faults = Vec::new();
    for c in CASES {
        let vector = load(c.file);
        let mut ua = Ua::tcp(sw.internal_addr());
        ua.send_raw(&vector);
        let mut f: Vec<String> = Vec::new();
        match c.tcp {
            Code(want) => match ua.recv(REPLY_WAIT) {
                Some(resp) => {
                    println!("TCP {:<15} {}", c.file, ua::first_line(&resp));
                    f.extend(check_response(c, &vector, &resp, want));
                    if let Some(ack) = ack_for(&vector, &resp) {
                        let _ = ua.try_send_raw(&ack);
                    }
                    if matches!(c.check, Check::OnlyOne) && c.file != "dblreq.dat" {
                        if let Some(extra) = ua.recv(NO_REPLY_WAIT) {
                            f.push(format!("a second response: {}", ua::first_line(&extra)));
                        }
                    }
                }
                None => f.push(format!(
                    "no response (connection {}), want {want}",
                    if ua.is_closed() { "closed" } else { "open" }
                )),
            },
            NoReply => {
                if let Some(resp) = ua.recv(NO_REPLY_WAIT) {
                    f.push(format!("unexpected reply {}", ua::first_line(&resp)));
                }
            }
            ClosedAfter(want) => {
                match ua.recv(REPLY_WAIT) {
                    Some(resp) => {
                        println!("TCP {:<15} {}", c.file, ua::first_line(&resp));
                        f.extend(check_response(c, &vector, &resp, want));
                    }
                    None => f.push(format!("no response before the close, want {want}")),
                }
                if !ua.wait_closed(REPLY_WAIT) {
                    f.push("connection not closed".into());
                }
                while let Some(m) = ua.recv(Duration::ZERO) {
                    f.push(format!("unexpected reply {}", ua::first_line(&m)));
                }
            }
            Waits => {
                if let Some(resp) = ua.recv(NO_REPLY_WAIT) {
                    f.push(format!("unexpected reply {}", ua::first_line(&resp)));
                }
                if ua.is_closed() {
                    f.push("connection closed, want it kept open for the rest of the body".into());
                }
            }
        }
        // Liveness on a fresh connection (this one may be closed or stuck).
        let mut probe = Ua::tcp(sw.internal_addr());
        if let Err(e) = alive(&mut probe) {
            f.push(format!("TCP {e}"));
        }
        faults.extend(f.into_iter().map(|e| format!("{} (§{}): {e}", c.file, c.section)));
    }
    let mut udp = Ua::udp(sw.internal_addr());
    if let Err(e) = alive(&mut udp) {
        faults.push(format!("after the run, UDP {e}"));
    }
    report("TCP", &mut sw, faults);
}

/// A vector whose Content-Length cannot be trusted, over TCP: the switch
/// answers `400 <reason>` on the connection (to the request's Via, From, To,
/// Call-ID and CSeq) and only then closes it, since nothing after the head
/// can be framed (RFC 3261 §18.3). Over UDP the same 400 (the datagram's
/// end bounds the message). Issue 11: the switch used to close the
/// connection without a word.
fn framing_error_is_answered_then_closed(file: &str, reason: &str) {
    let sw = Switch::start();
    let vector = load(file);
    let call_id = vector_header(&vector, &["call-id", "i"]).expect("a Call-ID");
    let mut tcp = Ua::tcp(sw.internal_addr());
    tcp.send_raw(&vector);
    let resp = tcp
        .recv(REPLY_WAIT)
        .unwrap_or_else(|| panic!("{file}: no 400 before the close (closed: {})", tcp.is_closed()));
    assert_eq!(ua::code(&resp), 400, "{}", ua::text(&resp));
    assert_eq!(ua::reason(&resp), reason, "{}", ua::text(&resp));
    assert_eq!(
        ua::header(&resp, "Call-ID").as_deref().map(str::trim),
        Some(call_id.as_str())
    );
    assert!(ua::header(&resp, "Via").is_some_and(|v| v.contains("branch=z9hG4bK")));
    assert!(
        tcp.wait_closed(REPLY_WAIT),
        "{file}: connection left open after the 400"
    );
    assert!(tcp.recv(Duration::ZERO).is_none(), "{file}: more than one answer");
    // UDP: the same answer.
    let mut udp = Ua::udp(sw.internal_addr());
    let (bytes, _) = rewrite_for_udp(&vector, udp.local_addr());
    udp.send_raw(&bytes);
    let resp = udp
        .recv(REPLY_WAIT)
        .unwrap_or_else(|| panic!("{file}: no 400 over UDP"));
    assert_eq!(ua::code(&resp), 400, "{}", ua::text(&resp));
    assert_eq!(ua::reason(&resp), reason, "{}", ua::text(&resp));
    // And the switch still works on a fresh connection.
    let mut probe = Ua::tcp(sw.internal_addr());
    alive(&mut probe).unwrap();
}

/// RFC 4475 §3.3.9 `mcl01` (two Content-Length values) over TCP: 400, then
/// the connection closes.
#[test]
fn rfc4475_mcl01_over_tcp_is_answered_400_then_closed() {
    framing_error_is_answered_then_closed("mcl01.dat", "Multiple Content-Length Values");
}

/// RFC 4475 §3.1.2.3 `ncl` (Content-Length: -999) over TCP: 400, then the
/// connection closes.
#[test]
fn rfc4475_ncl_over_tcp_is_answered_400_then_closed() {
    framing_error_is_answered_then_closed("ncl.dat", "Bad Content-Length");
}

/// RFC 4475 §3.1.1.8 `dblreq` over TCP: the "extra trailing octets" are
/// only noise in a datagram (RFC 3261 §18.3). On a stream, Content-Length
/// ends the REGISTER and the INVITE after it is a second, complete
/// message, so the switch answers both, in order: 401 to the REGISTER,
/// then 407 to the INVITE.
#[test]
fn rfc4475_dblreq_over_tcp_is_two_messages() {
    let sw = Switch::start();
    let vector = load("dblreq.dat");
    let mut ua = Ua::tcp(sw.internal_addr());
    ua.send_raw(&vector);
    let first = ua.recv(REPLY_WAIT).expect("a response to the REGISTER");
    assert_eq!(ua::code(&first), 401, "{}", ua::text(&first));
    assert_eq!(ua::cseq_of(&first).unwrap().method, Method::REGISTER);
    let second = ua.recv(REPLY_WAIT).expect("a response to the INVITE");
    assert_eq!(ua::code(&second), 407, "{}", ua::text(&second));
    assert_eq!(ua::cseq_of(&second).unwrap().method, Method::INVITE);
    if let Some(ack) = ack_for(b"INVITE sip:joe@example.com SIP/2.0\r\n", &second) {
        ua.send_raw(&ack);
    }
    assert!(ua.recv(NO_REPLY_WAIT).is_none());
}

/// RFC 4475 §3.1.1.8 `dblreq`, UDP: the REGISTER is answered once and the
/// trailing INVITE never starts a transaction: no 407, no call, no CDR.
#[test]
fn rfc4475_dblreq_udp_trailing_invite_is_ignored() {
    let sw = Switch::start();
    let mut ua = Ua::udp(sw.internal_addr());
    let (bytes, _) = rewrite_for_udp(&load("dblreq.dat"), ua.local_addr());
    ua.send_raw(&bytes);
    let r = ua.recv(REPLY_WAIT).expect("a response to the REGISTER");
    assert_eq!(ua::code(&r), 401, "{}", ua::text(&r));
    assert!(ua.recv(NO_REPLY_WAIT).is_none(), "a second response to one datagram");
    assert!(sw.cdrs().is_empty());
}

/// RFC 4475 §3.1.2.7 `ltgtruri` with RFC 3261 §18.2.1/§18.2.2: the server
/// transport stamps `received` with the packet's source IP whenever the
/// Via host differs, so even the stateless 400 to a malformed request goes
/// to the source IP (at the Via port), never to the host the Via names
/// (that would let anyone reflect 400s at a third party). Here the Via
/// names 127.0.0.2 (still loopback) while the datagram comes from
/// 127.0.0.1: the 400 must arrive on 127.0.0.1:PORT, not 127.0.0.2:PORT.
#[test]
fn rfc4475_malformed_request_is_answered_to_the_source_ip() {
    let sw = Switch::start();
    let at_source = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = at_source.local_addr().unwrap().port();
    let at_via_host = std::net::UdpSocket::bind(("127.0.0.2", port)).unwrap();
    let sender = Ua::udp(sw.internal_addr());
    let via_host: SocketAddr = SocketAddr::from(([127, 0, 0, 2], port));
    let (bytes, _) = rewrite_for_udp(&load("ltgtruri.dat"), via_host);
    let mut sender = sender;
    sender.send_raw(&bytes);
    let recv = |s: &std::net::UdpSocket| {
        s.set_read_timeout(Some(NO_REPLY_WAIT)).unwrap();
        let mut buf = vec![0u8; 65536];
        s.recv_from(&mut buf).ok().map(|(n, _)| {
            String::from_utf8_lossy(&buf[..n])
                .lines()
                .next()
                .unwrap_or("")
                .to_string()
        })
    };
    let wrong = recv(&at_via_host);
    let right = recv(&at_source);
    assert!(
        wrong.is_none(),
        "the 400 went to the Via host 127.0.0.2, not the source IP: {wrong:?}"
    );
    assert!(
        right.as_deref().is_some_and(|l| l.starts_with("SIP/2.0 400")),
        "no 400 at the source IP 127.0.0.1:{port}: {right:?}"
    );
}

/// RFC 5118 §4.10 `ipv6-bug-abnf-3-colons` against the running switch: the
/// Request-URI and To carry `[2001:db8:::192.0.2.1]` (the extra colon RFC
/// 3261's ABNF allows before an embedded IPv4 address), which a parser
/// should tolerate, so the OPTIONS is answered 200, not refused with 400
/// (issue 11). Sent over TCP: the Via names `lab1.east.example.com` with no
/// port, so over UDP the answer would go there. It lives here for this
/// file's torture-vector harness; the vector is in `tests/vectors/rfc5118/`.
#[test]
fn rfc5118_ipv6_reference_with_an_extra_colon_is_answered_200() {
    let sw = Switch::start();
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/rfc5118/ipv6-bug-abnf-3-colons.dat");
    let vector = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut ua = Ua::tcp(sw.internal_addr());
    ua.send_raw(&vector);
    let resp = ua.recv(REPLY_WAIT).expect("a response to the OPTIONS");
    assert_eq!(ua::code(&resp), 200, "{}", ua::text(&resp));
    assert_eq!(
        ua::header(&resp, "To")
            .as_deref()
            .map(|t| t.split(';').next().unwrap_or("").trim()),
        Some("sip:user@[2001:db8:::192.0.2.1]"),
        "To is echoed as it came"
    );
}
