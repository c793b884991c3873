//! RFC 4475 torture messages at the parse level: for every file under
//! `tests/vectors/rfc4475/` (bytes exactly as in the RFC's archive), what the
//! message layer must expose so that the engine can give the answer
//! `EXPECTED.md` asks for (200, 400 with a reason, 505, 501, 416, 420, 415,
//! 401, 483, or a silent drop for bad responses).

use bytes::Bytes;
use std::path::PathBuf;
use switchboard::sip::msg::typed::{
    ContactList, ContentType, Credentials, Expires, ProxyRequire, Require, Transport, TypedHeader,
};
use switchboard::sip::msg::{
    frame_stream, parse_datagram, parse_message, Envelope, FrameError, HeaderName, Limits, Malformed, Message, Method,
    ParseError, Scheme, StartLine, StatusCode, StreamFrame,
};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/rfc4475")
}

fn raw(name: &str) -> Bytes {
    let path = dir().join(format!("{name}.dat"));
    Bytes::from(std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
}

fn parse(name: &str) -> Result<Message, Malformed> {
    parse_datagram(raw(name), &Limits::default())
}

/// Parses and passes `envelope()`.
fn valid(name: &str) -> (Message, Envelope) {
    let m = parse(name).unwrap_or_else(|e| panic!("{name}: parse failed: {e:?}"));
    let env = m
        .envelope()
        .unwrap_or_else(|e| panic!("{name}: envelope failed: {e:?}"));
    (m, env)
}

/// Parses, but `envelope()` fails (a request then gets `400 <reason>`).
fn envelope_error(name: &str) -> (Message, ParseError) {
    let m = parse(name).unwrap_or_else(|e| panic!("{name}: parse failed: {e:?}"));
    let e = m.envelope().expect_err(name);
    (m, e)
}

/// Does not parse; for requests the headers must still be there for a 400.
fn parse_error(name: &str) -> Malformed {
    match parse(name) {
        Ok(m) => panic!("{name}: parsed, expected an error: {m:?}"),
        Err(e) => e,
    }
}

fn request_error(name: &str) -> (ParseError, Message) {
    let e = parse_error(name);
    let headers = e
        .headers
        .clone()
        .unwrap_or_else(|| panic!("{name}: no headers for a 400: {e:?}"));
    // Carried in a response so that `envelope()` checks what a 400 copies.
    let mut m = Message::response(StatusCode::BAD_REQUEST, None);
    m.headers = headers;
    (e.error, m)
}

fn header<'a>(m: &'a Message, name: &'static str) -> &'a Bytes {
    m.headers
        .get(&HeaderName::from(name))
        .unwrap_or_else(|| panic!("no {name}"))
}

fn contacts(m: &Message) -> Vec<switchboard::sip::msg::typed::Contact> {
    m.headers
        .get_all(&HeaderName::Contact)
        .flat_map(|v| match ContactList::parse(v).unwrap() {
            ContactList::List(l) => l,
            ContactList::Star => panic!("unexpected *"),
        })
        .collect()
}

// ---------------------------------------------------------------- the table

#[derive(Debug)]
enum Outcome {
    /// Parses and passes `envelope()`.
    Valid,
    /// Parses, `envelope()` fails with this error.
    Envelope(ParseError),
    /// Does not parse: this error.
    Parse(ParseError),
}

use Outcome::*;

/// The parse-level outcome of every vector (EXPECTED.md, one row each).
fn table() -> Vec<(&'static str, Outcome)> {
    vec![
        ("wsinv", Valid),
        ("intmeth", Valid),
        ("esc01", Valid),
        ("escnull", Valid),
        ("esc02", Valid),
        ("lwsdisp", Valid),
        ("longreq", Valid),
        ("dblreq", Valid),
        ("semiuri", Valid),
        ("transports", Valid),
        ("mpart01", Valid),
        ("unreason", Valid),
        ("noreason", Valid),
        ("badinv01", Envelope(ParseError::BadHeader("Via"))),
        ("clerr", Parse(ParseError::ContentLengthTooLarge)),
        ("ncl", Parse(ParseError::BadContentLength)),
        ("scalar02", Envelope(ParseError::BadHeader("CSeq"))),
        ("scalarlg", Envelope(ParseError::BadHeader("CSeq"))),
        ("quotbal", Envelope(ParseError::BadHeader("To"))),
        ("ltgtruri", Parse(ParseError::BadRequestUri)),
        ("lwsruri", Parse(ParseError::BadRequestUri)),
        ("lwsstart", Parse(ParseError::BadRequestUri)),
        ("trws", Parse(ParseError::BadStartLine)),
        ("escruri", Parse(ParseError::BadRequestUri)),
        ("baddate", Valid),
        ("regbadct", Valid),
        ("badaspec", Envelope(ParseError::BadHeader("To"))),
        ("baddn", Envelope(ParseError::BadHeader("From"))),
        ("badvers", Parse(ParseError::BadVersion)),
        ("mismatch01", Envelope(ParseError::CSeqMethodMismatch)),
        ("mismatch02", Envelope(ParseError::CSeqMethodMismatch)),
        ("bigcode", Parse(ParseError::BadStatusCode)),
        ("badbranch", Valid),
        ("insuf", Envelope(ParseError::MissingHeader("Call-ID"))),
        ("unkscm", Valid),
        ("novelsc", Valid),
        ("unksm2", Valid),
        ("bext01", Valid),
        ("invut", Valid),
        ("regaut01", Valid),
        ("multi01", Envelope(ParseError::DuplicateHeader("Call-ID"))),
        ("mcl01", Parse(ParseError::DuplicateHeader("Content-Length"))),
        ("bcast", Valid),
        ("zeromf", Valid),
        ("cparam01", Valid),
        ("cparam02", Valid),
        ("regescrt", Valid),
        ("sdp01", Valid),
        ("inv2543", Valid),
        ("test", Parse(ParseError::BadStartLine)),
    ]
}

#[test]
fn every_vector_has_its_expected_outcome() {
    let mut on_disk: Vec<String> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "dat"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    let table = table();
    let mut listed: Vec<String> = table.iter().map(|(n, _)| n.to_string()).collect();
    listed.sort();
    assert_eq!(on_disk.len(), 50, "RFC 4475 ships 50 files");
    assert_eq!(on_disk, listed, "every file in the table, and only those");
    for (name, outcome) in table {
        let got = parse(name);
        match (&outcome, &got) {
            (Valid, Ok(m)) => {
                if let Err(e) = m.envelope() {
                    panic!("{name}: envelope failed: {e:?}");
                }
            }
            (Envelope(want), Ok(m)) => {
                assert_eq!(m.envelope().err().as_ref(), Some(want), "{name}")
            }
            (Parse(want), Err(e)) => {
                assert_eq!(&e.error, want, "{name}");
                // A request that framed keeps its headers for the 400/505;
                // a response never does (it is dropped).
                let is_response = raw(name).starts_with(b"SIP/");
                assert_eq!(e.headers.is_some(), !is_response, "{name}: headers for a reply");
            }
            _ => panic!("{name}: expected {outcome:?}, got {got:?}"),
        }
    }
}

#[test]
fn vectors_keep_their_exact_bytes() {
    // EXPECTED.md: CRLF everywhere, mpart01 has two bare CRs in its binary
    // body, NULs in escnull/mpart01, trailing SPs in trws.
    let mpart = raw("mpart01");
    let cr = mpart.iter().filter(|c| **c == b'\r').count();
    let lf = mpart.iter().filter(|c| **c == b'\n').count();
    assert_eq!(cr, lf + 2, "mpart01");
    assert!(raw("escnull").windows(3).any(|w| w == b"%00"));
    assert!(mpart.contains(&0));
    assert!(raw("trws").starts_with(b"OPTIONS sip:remote-target@example.com SIP/2.0  \r\n"));
    assert!(raw("intmeth").iter().any(|c| *c >= 0x80));
}

// ------------------------------------------------- §3.1.1 valid messages

#[test]
fn wsinv() {
    let (m, env) = valid("wsinv");
    assert_eq!(m.method(), Some(&Method::INVITE));
    assert!(m.uri().unwrap().params.has("unknownparam"));
    // Folded To with LWS around `=`.
    assert_eq!(env.to.tag().unwrap(), "1918181833n");
    assert_eq!(env.from.tag().unwrap(), "98asjd8");
    assert_eq!(env.from.display.as_deref(), Some(&b"\"J Rosenberg \\\\\\\"\""[..]));
    // Leading zeros.
    assert_eq!(env.max_forwards, Some(68));
    assert_eq!(env.cseq.seq, 9);
    assert_eq!(env.cseq.method, Method::INVITE);
    // `SIP  /   2.0 /UDP` folded over lines.
    assert_eq!(env.via.transport, Transport::Udp);
    assert_eq!(env.via.host.as_str(), "192.0.2.2");
    assert_eq!(env.via.branch().unwrap(), "390skdjuw");
    let vias = m.headers.values(&HeaderName::Via);
    assert_eq!(vias.len(), 3);
    let v2 = switchboard::sip::msg::typed::Via::parse(&vias[1]).unwrap();
    assert_eq!(v2.transport, Transport::Tcp);
    assert_eq!(v2.branch().unwrap(), "z9hG4bK9ikj8");
    let v3 = switchboard::sip::msg::typed::Via::parse(&vias[2]).unwrap();
    assert_eq!(v3.branch().unwrap(), "z9hG4bK30239");
    // Empty Subject (compact `s`), unknown headers kept as they came.
    assert_eq!(m.headers.get(&HeaderName::Subject).unwrap(), "");
    assert_eq!(
        header(&m, "NewFangledHeader"),
        "newfangled value continued newfangled value"
    );
    assert_eq!(header(&m, "UnknownHeaderWithUnusualValue"), ";;,,;;,;");
    let c = &contacts(&m)[0];
    assert_eq!(c.0.display.as_deref(), Some(&b"\"Quoted string \\\"\\\"\""[..]));
    assert_eq!(c.0.params.value("newparam").unwrap(), "newvalue");
    assert!(c.0.params.has("secondparam"));
    assert_eq!(c.0.params.value("q").unwrap(), "0.33");
    assert!(m.typed::<ContentType>().unwrap().unwrap().is_sdp());
    assert_eq!(m.body.len(), 150);
}

#[test]
fn intmeth() {
    let (m, env) = valid("intmeth");
    // Unknown method (501 with Allow at an endpoint); `%` is not an escape.
    let method = m.method().unwrap();
    assert!(!method.is_known());
    assert_eq!(method.as_bytes(), b"!interesting-Method0123456789_*+`.%indeed'~");
    assert_eq!(&env.cseq.method, method);
    let uri = m.uri().unwrap();
    assert_eq!(
        uri.user.as_deref(),
        Some(&b"1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*"[..])
    );
    assert_eq!(
        uri.password.as_deref(),
        Some(&b"&it+has=1,weird!*pas$wo~d_too.(doesn't-it)"[..])
    );
    assert_eq!(uri.host.as_str(), "example.com");
    assert_eq!(env.via.branch().unwrap(), "z9hG4bK-.!%66*_+`'~");
    assert_eq!(env.max_forwards, Some(255));
    assert_eq!(env.call_id, "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{");
    assert!(m.headers.get(&HeaderName::from("extensionHeader-!.%*+_`'~")).is_some());
    assert_eq!(env.from.tag().unwrap(), "_token~1'+`*%!-.");
    assert_eq!(
        env.from.display.as_deref(),
        Some(&b"token1~` token2'+_ token3*%!.-"[..])
    );
}

#[test]
fn esc01() {
    let (m, env) = valid("esc01");
    let uri = m.uri().unwrap();
    assert_eq!(uri.user.as_deref(), Some(&b"sips%3Auser%40example.com"[..]));
    assert_eq!(uri.user_unescaped().unwrap(), "sips:user@example.com");
    assert_eq!(uri.host.as_str(), "example.net");
    assert_eq!(env.to.uri.user_unescaped().unwrap(), "user");
    assert_eq!(env.from.uri.user_unescaped().unwrap(), "I have spaces");
    let c = &contacts(&m)[0];
    assert_eq!(c.0.uri.user_unescaped().unwrap(), "caller");
    assert!(c.0.uri.params.has("%6C%72"));
    assert_eq!(c.0.uri.params.get("n%61me").unwrap().unwrap(), "v%61lue%25%34%31");
}

#[test]
fn escnull() {
    let (m, env) = valid("escnull");
    assert_eq!(m.method(), Some(&Method::REGISTER));
    // The AOR keeps its %00 and is not truncated when unescaped.
    assert_eq!(env.to.uri.user.as_deref(), Some(&b"null-%00-null"[..]));
    assert_eq!(env.to.uri.user_unescaped().unwrap(), "null-\0-null");
    // Two distinct contacts.
    let c = contacts(&m);
    assert_eq!(c.len(), 2);
    assert_eq!(c[0].0.uri.user.as_deref(), Some(&b"%00"[..]));
    assert_eq!(c[1].0.uri.user.as_deref(), Some(&b"%00%00"[..]));
    assert_eq!(c[0].0.uri.user_unescaped().unwrap(), "\0");
    assert_eq!(c[1].0.uri.user_unescaped().unwrap(), "\0\0");
    assert_ne!(c[0].0.uri, c[1].0.uri);
}

#[test]
fn esc02() {
    let (m, env) = valid("esc02");
    // Not REGISTER: an unknown method, so an endpoint answers 501.
    let method = m.method().unwrap();
    assert_ne!(method, &Method::REGISTER);
    assert!(!method.is_known());
    assert_eq!(method.as_bytes(), b"RE%47IST%45R");
    assert_eq!(env.cseq.method, *method);
    assert_eq!(env.to.display.as_deref(), Some(&b"\"%Z%45\""[..]));
    // `C%6Fntact` is an unknown header, not a Contact.
    assert_eq!(contacts(&m).len(), 2);
    assert!(m.headers.get(&HeaderName::from("C%6Fntact")).is_some());
}

#[test]
fn lwsdisp() {
    let (_, env) = valid("lwsdisp");
    assert_eq!(env.from.display.as_deref(), Some(&b"caller"[..]));
    assert_eq!(env.from.uri.user.as_deref(), Some(&b"caller"[..]));
}

#[test]
fn longreq() {
    let (m, env) = valid("longreq");
    let vias = m.headers.values(&HeaderName::Via);
    assert_eq!(vias.len(), 34);
    assert_eq!(env.via.host.as_str(), "sip33.example.com");
    let last = switchboard::sip::msg::typed::Via::parse(&vias[33]).unwrap();
    assert_eq!(last.host.as_str(), "host.example.com");
    assert!(last.branch().unwrap().len() > 100);
    assert!(env.to.display.as_ref().unwrap().len() > 100);
    assert!(env.call_id.len() > 100);
    assert_eq!(env.to.uri.port, Some(6000));
    assert_eq!(m.body.len(), 150);
}

#[test]
fn dblreq() {
    let m = parse("dblreq").unwrap();
    let env = m.envelope().unwrap();
    // Exactly the REGISTER; the INVITE behind it is noise (§18.3).
    assert_eq!(m.method(), Some(&Method::REGISTER));
    assert_eq!(env.cseq.method, Method::REGISTER);
    assert_eq!(env.call_id, "dblreq.0ha0isndaksdj99sdfafnl3lk233412");
    assert!(m.body.is_empty());
    let printed = m.to_bytes();
    assert!(
        !printed.windows(6).any(|w| w == b"INVITE"),
        "trailing octets must not be forwarded"
    );
    // On a stream the same bytes are two pipelined messages.
    let buf = raw("dblreq");
    let Ok(StreamFrame::Message(n)) = frame_stream(&buf, &Limits::default()) else {
        panic!()
    };
    let first = parse_message(buf.slice(..n), &Limits::default(), true).unwrap();
    assert_eq!(first.method(), Some(&Method::REGISTER));
    let rest = buf.slice(n..);
    let Ok(StreamFrame::KeepAlive(k)) = frame_stream(&rest, &Limits::default()) else {
        panic!()
    };
    let rest = rest.slice(k..);
    let Ok(StreamFrame::Message(n2)) = frame_stream(&rest, &Limits::default()) else {
        panic!()
    };
    let second = parse_message(rest.slice(..n2), &Limits::default(), true).unwrap();
    assert_eq!(second.method(), Some(&Method::INVITE));
}

#[test]
fn semiuri() {
    let (m, _) = valid("semiuri");
    let uri = m.uri().unwrap();
    assert_eq!(uri.user.as_deref(), Some(&b"user;par=u%40example.net"[..]));
    assert_eq!(uri.host.as_str(), "example.com");
    assert!(uri.params.is_empty());
    // Folded Accept list.
    assert_eq!(m.headers.values(&HeaderName::Accept).len(), 6);
}

#[test]
fn transports() {
    let (m, env) = valid("transports");
    assert_eq!(env.via.transport, Transport::Udp);
    let t: Vec<Transport> = m
        .headers
        .values(&HeaderName::Via)
        .iter()
        .map(|v| switchboard::sip::msg::typed::Via::parse(v).unwrap().transport)
        .collect();
    assert_eq!(
        t,
        vec![
            Transport::Udp,
            Transport::Sctp,
            Transport::Tls,
            Transport::Other(Bytes::from_static(b"UNKNOWN")),
            Transport::Tcp
        ]
    );
}

#[test]
fn mpart01() {
    let (m, _) = valid("mpart01");
    assert_eq!(m.method(), Some(&Method::MESSAGE));
    let ct = m.typed::<ContentType>().unwrap().unwrap();
    assert_eq!(ct.kind, "multipart");
    assert_eq!(ct.subtype, "mixed");
    assert_eq!(ct.params.value("boundary").unwrap(), "7a9cbec02ceef655");
    assert_eq!(m.body.len(), 553);
    assert!(m.body.contains(&0), "binary part with NULs framed by Content-Length");
}

#[test]
fn unreason() {
    let (m, _) = valid("unreason");
    let StartLine::Response { code, reason } = &m.start else {
        panic!()
    };
    assert_eq!(*code, StatusCode::OK);
    let text = std::str::from_utf8(reason).unwrap();
    assert!(text.starts_with("= 2**3 * 5**2 "));
    assert!(!text.is_ascii());
}

#[test]
fn noreason() {
    let (m, _) = valid("noreason");
    let StartLine::Response { code, reason } = &m.start else {
        panic!()
    };
    assert_eq!(*code, StatusCode::TRYING);
    assert!(reason.is_empty());
}

/// Over a stream the vector cannot be framed (`error`); the head the framer
/// hands back is the vector's start line and header section, and it still
/// yields the headers a `400` copies (RFC 3261 §8.2.6.2, §18.3).
fn unframeable_head(name: &str, error: ParseError) -> Malformed {
    let buf = raw(name);
    let Err(FrameError::Unframeable { error: got, head }) = frame_stream(&buf, &Limits::default()) else {
        panic!("{name}: framed on a stream");
    };
    assert_eq!(got, error, "{name}");
    let head = head.unwrap_or_else(|| panic!("{name}: no head to answer"));
    let blank = buf.windows(4).position(|w| w == b"\r\n\r\n").expect("a blank line") + 4;
    assert_eq!(head, blank, "{name}: the head ends at the blank line");
    let bad = parse_message(buf.slice(..head), &Limits::default(), true).expect_err(name);
    let headers = bad
        .headers
        .clone()
        .unwrap_or_else(|| panic!("{name}: no headers for a 400"));
    // Carried in a response so that `envelope()` checks what a 400 copies.
    let mut resp = Message::response(StatusCode::BAD_REQUEST, Some(&error.reason()));
    resp.headers = headers;
    assert!(resp.envelope().is_ok(), "{name}: the 400 can be addressed");
    bad
}

// ------------------------------------------------ §3.1.2 invalid messages

#[test]
fn badinv01() {
    let (m, e) = envelope_error("badinv01");
    assert_eq!(e, ParseError::BadHeader("Via"));
    // The Contact with `;;;;` does not parse either.
    assert!(ContactList::parse(m.headers.get(&HeaderName::Contact).unwrap()).is_err());
}

#[test]
fn clerr() {
    let (e, m) = request_error("clerr");
    assert_eq!(e, ParseError::ContentLengthTooLarge);
    assert!(m.envelope().is_ok(), "the 400 can be addressed");
    // TCP: wait for more data (the driver closes on timeout).
    assert_eq!(
        frame_stream(&raw("clerr"), &Limits::default()),
        Err(FrameError::Incomplete)
    );
}

#[test]
fn ncl() {
    let (e, m) = request_error("ncl");
    assert_eq!(e, ParseError::BadContentLength);
    assert!(m.envelope().is_ok());
    // TCP: a framing error; the head comes back with it so that the 400
    // can be sent before the connection closes.
    let bad = unframeable_head("ncl", ParseError::BadContentLength);
    assert_eq!(bad.error, ParseError::BadContentLength);
}

#[test]
fn scalar02() {
    let (m, e) = envelope_error("scalar02");
    assert_eq!(e, ParseError::BadHeader("CSeq"));
    // Had only these been bad: Max-Forwards 300 is treated as absent,
    // Expires falls back to the default.
    let mut fixed = m.clone();
    fixed.headers.set(HeaderName::CSeq, Bytes::from_static(b"1 REGISTER"));
    assert_eq!(fixed.envelope().unwrap().max_forwards, None);
    assert!(m.typed::<Expires>().unwrap().is_err());
    assert_eq!(contacts(&m)[0].expires(), None);
}

#[test]
fn scalarlg() {
    // A response: envelope fails, so it is dropped.
    let (m, e) = envelope_error("scalarlg");
    assert_eq!(m.status(), Some(StatusCode::SERVICE_UNAVAILABLE));
    assert_eq!(e, ParseError::BadHeader("CSeq"));
}

#[test]
fn quotbal() {
    let (_, e) = envelope_error("quotbal");
    assert_eq!(e, ParseError::BadHeader("To"));
}

#[test]
fn ltgtruri() {
    let (e, m) = request_error("ltgtruri");
    assert_eq!(e, ParseError::BadRequestUri);
    assert!(m.headers.get(&HeaderName::Via).is_some());
}

#[test]
fn lwsruri() {
    let (e, _) = request_error("lwsruri");
    assert_eq!(e, ParseError::BadRequestUri);
}

#[test]
fn lwsstart() {
    let (e, _) = request_error("lwsstart");
    assert!(
        matches!(e, ParseError::BadRequestUri | ParseError::BadStartLine),
        "{e:?}"
    );
}

#[test]
fn trws() {
    let (e, m) = request_error("trws");
    assert!(
        matches!(e, ParseError::BadRequestUri | ParseError::BadStartLine),
        "{e:?}"
    );
    assert!(m.envelope().is_ok());
}

#[test]
fn escruri() {
    let (e, _) = request_error("escruri");
    assert_eq!(e, ParseError::BadRequestUri);
}

#[test]
fn baddate() {
    // Date is not interpreted; the raw value is kept.
    let (m, _) = valid("baddate");
    assert_eq!(
        m.headers.get(&HeaderName::Date).unwrap(),
        "Fri, 01 Jan 2010 16:00:00 EST"
    );
}

#[test]
fn regbadct() {
    // The envelope is fine; the unbracketed Contact with `?` is rejected
    // (400 at the registrar) rather than guessing which part is the URI.
    let (m, _) = valid("regbadct");
    assert_eq!(
        ContactList::parse(m.headers.get(&HeaderName::Contact).unwrap()),
        Err(ParseError::BadHeader("Contact"))
    );
}

#[test]
fn badaspec() {
    let (_, e) = envelope_error("badaspec");
    assert_eq!(e, ParseError::BadHeader("To"));
}

#[test]
fn baddn() {
    let (_, e) = envelope_error("baddn");
    assert_eq!(e, ParseError::BadHeader("From"));
}

#[test]
fn badvers() {
    let (e, m) = request_error("badvers");
    assert_eq!(e, ParseError::BadVersion, "answered with 505");
    assert!(m.headers.get(&HeaderName::Via).is_some());
}

#[test]
fn mismatch01() {
    let (m, e) = envelope_error("mismatch01");
    assert_eq!(e, ParseError::CSeqMethodMismatch);
    assert_eq!(m.method(), Some(&Method::OPTIONS));
}

#[test]
fn mismatch02() {
    // 501 is preferred: the engine sees the unknown method before the mismatch.
    let (m, e) = envelope_error("mismatch02");
    assert_eq!(e, ParseError::CSeqMethodMismatch);
    assert!(!m.method().unwrap().is_known());
    assert_eq!(m.method().unwrap().as_bytes(), b"NEWMETHOD");
}

#[test]
fn bigcode() {
    let e = parse_error("bigcode");
    assert_eq!(e.error, ParseError::BadStatusCode);
    assert!(e.headers.is_none(), "a response is dropped, never answered");
}

// --------------------------------------------------- §3.2, §3.3, §3.4, test

#[test]
fn badbranch() {
    let (_, env) = valid("badbranch");
    assert_eq!(env.via.branch().unwrap(), "z9hG4bK");
    assert!(!env.via.has_rfc3261_branch());
}

#[test]
fn insuf() {
    let (m, e) = envelope_error("insuf");
    assert_eq!(e, ParseError::MissingHeader("Call-ID"));
    assert!(m.headers.get(&HeaderName::From).is_none());
    assert!(m.headers.get(&HeaderName::To).is_none());
}

#[test]
fn unkscm() {
    // 416 Unsupported URI Scheme.
    let (m, _) = valid("unkscm");
    let uri = m.uri().unwrap();
    assert_eq!(uri.scheme, Scheme::Other(Bytes::from_static(b"nobodyKnowsThisScheme")));
    assert_eq!(uri.opaque, "totallyopaquecontent");
    assert!(!uri.is_sip());
}

#[test]
fn novelsc() {
    let (m, _) = valid("novelsc");
    let uri = m.uri().unwrap();
    assert_eq!(uri.scheme, Scheme::Other(Bytes::from_static(b"soap.beep")));
    assert_eq!(uri.to_bytes(), "soap.beep://192.0.2.103:3002");
}

#[test]
fn unksm2() {
    // A registrar answers 400: the AOR is not a SIP URI.
    let (m, env) = valid("unksm2");
    assert_eq!(env.to.uri.scheme, Scheme::Other(Bytes::from_static(b"isbn")));
    assert_eq!(env.from.uri.scheme, Scheme::Other(Bytes::from_static(b"http")));
    assert_eq!(contacts(&m)[0].0.uri.scheme, Scheme::Other(Bytes::from_static(b"name")));
}

#[test]
fn bext01() {
    // 420 with Unsupported listing the Require tags.
    let (m, _) = valid("bext01");
    let req = m.typed::<Require>().unwrap().unwrap();
    assert_eq!(
        req.0,
        vec![
            Bytes::from_static(b"nothingSupportsThis"),
            Bytes::from_static(b"nothingSupportsThisEither")
        ]
    );
    let preq = m.typed::<ProxyRequire>().unwrap().unwrap();
    assert_eq!(preq.0.len(), 2);
    assert_eq!(m.headers.values(&Require::NAME).len(), 2);
}

#[test]
fn invut() {
    // 415 Unsupported Media Type.
    let (m, _) = valid("invut");
    let ct = m.typed::<ContentType>().unwrap().unwrap();
    assert!(!ct.is_sdp());
    assert_eq!(ct.kind, "application");
    assert_eq!(ct.subtype, "unknownformat");
    assert_eq!(m.body.len(), 40);
}

#[test]
fn regaut01() {
    // 401 with a Digest challenge: the scheme is not Digest.
    let (m, _) = valid("regaut01");
    let cred = m.typed::<Credentials>().unwrap().unwrap();
    assert!(!cred.0.is_digest());
    assert_eq!(cred.0.scheme, "NoOneKnowsThisScheme");
    assert_eq!(cred.0.get("opaque-data").unwrap(), "here");
}

#[test]
fn multi01() {
    let (m, e) = envelope_error("multi01");
    assert!(matches!(e, ParseError::DuplicateHeader(_)), "{e:?}");
    // Each single-valued field, with the others fixed, is a duplicate too.
    for (name, label) in [
        (HeaderName::CallId, "Call-ID"),
        (HeaderName::From, "From"),
        (HeaderName::To, "To"),
        (HeaderName::CSeq, "CSeq"),
        (HeaderName::MaxForwards, "Max-Forwards"),
    ] {
        let mut fixed = m.clone();
        for (n, v) in [
            (HeaderName::CallId, "x@y"),
            (HeaderName::From, "sip:a@b;tag=1"),
            (HeaderName::To, "sip:c@d"),
            (HeaderName::CSeq, "5 INVITE"),
            (HeaderName::MaxForwards, "70"),
        ] {
            if n != name {
                fixed.headers.set(n, Bytes::from_static(v.as_bytes()));
            }
        }
        assert_eq!(fixed.envelope().err(), Some(ParseError::DuplicateHeader(label)));
    }
}

#[test]
fn mcl01() {
    let (e, _) = request_error("mcl01");
    assert_eq!(e, ParseError::DuplicateHeader("Content-Length"));
    // TCP: a framing error, answered (400) from the head, then the
    // connection is closed.
    unframeable_head("mcl01", ParseError::DuplicateHeader("Content-Length"));
}

#[test]
fn bcast() {
    let (m, env) = valid("bcast");
    assert_eq!(m.status(), Some(StatusCode::OK));
    assert_eq!(env.via.host.as_str(), "192.0.2.198");
    let second = switchboard::sip::msg::typed::Via::parse(&m.headers.values(&HeaderName::Via)[1]).unwrap();
    assert_eq!(second.host.ip(), Some(std::net::Ipv4Addr::BROADCAST.into()));
}

#[test]
fn zeromf() {
    // An endpoint processes it normally; a proxy would answer 483.
    let (_, env) = valid("zeromf");
    assert_eq!(env.max_forwards, Some(0));
}

#[test]
fn cparam01() {
    // Unbracketed: `unknownparam` is a contact (header) parameter.
    let (m, _) = valid("cparam01");
    let c = &contacts(&m)[0];
    assert!(c.0.params.has("unknownparam"));
    assert!(!c.0.uri.params.has("unknownparam"));
    assert_eq!(c.0.uri.to_bytes(), "sip:+19725552222@gw1.example.net");
}

#[test]
fn cparam02() {
    // Bracketed: `unknownparam` belongs to the URI.
    let (m, _) = valid("cparam02");
    let c = &contacts(&m)[0];
    assert!(c.0.uri.params.has("unknownparam"));
    assert!(c.0.params.is_empty());
    assert_eq!(c.0.uri.to_bytes(), "sip:+19725552222@gw1.example.net;unknownparam");
}

#[test]
fn regescrt() {
    // The escaped Route stays inside the contact URI as a URI header.
    let (m, _) = valid("regescrt");
    let c = &contacts(&m)[0];
    assert_eq!(
        c.0.uri.headers.as_deref(),
        Some(&b"Route=%3Csip:sip.example.com%3E"[..])
    );
    assert!(c.0.uri.params.is_empty());
    assert!(c.0.params.is_empty());
    assert!(m.headers.get(&HeaderName::Route).is_none());
    assert_eq!(
        c.0.uri.to_bytes(),
        "sip:user@example.com?Route=%3Csip:sip.example.com%3E"
    );
}

#[test]
fn sdp01() {
    // 406 (or 400): the only acceptable body type is unknown.
    let (m, _) = valid("sdp01");
    assert_eq!(
        m.headers.values(&HeaderName::Accept),
        vec![Bytes::from_static(b"text/nobodyKnowsThis")]
    );
    assert!(m.typed::<ContentType>().unwrap().unwrap().is_sdp());
}

#[test]
fn inv2543() {
    let (_, env) = valid("inv2543");
    assert_eq!(env.via.branch(), None);
    assert!(!env.via.has_rfc3261_branch());
    assert_eq!(env.from.tag(), None);
    assert_eq!(env.to.tag(), None);
    assert_eq!(env.to.params.value("user").unwrap(), "phone");
}

#[test]
fn test_dat() {
    // No SIP-Version and a line without a colon: malformed. No Via either,
    // so there is nowhere to send a 400: the engine drops it.
    let (e, m) = request_error("test");
    assert_eq!(e, ParseError::BadStartLine);
    assert!(m.headers.get(&HeaderName::Via).is_none());
    assert_eq!(m.headers.get(&HeaderName::MaxForwards).unwrap(), "0068");
}

// ----------------------------------------------------------- all of them

#[test]
fn valid_vectors_survive_print_and_reparse() {
    for (name, outcome) in table() {
        let Ok(m) = parse(name) else { continue };
        let printed = m.to_bytes();
        let again = parse_datagram(printed.clone(), &Limits::default()).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        let strip = |m: &Message| {
            let mut m = m.clone();
            m.headers.remove(&HeaderName::ContentLength);
            m
        };
        assert_eq!(strip(&m), strip(&again), "{name}");
        assert_eq!(m.envelope().is_ok(), matches!(outcome, Valid), "{name}");
        assert_eq!(again.to_bytes(), printed, "{name}: printing is stable");
    }
}

#[test]
fn every_vector_frames_on_a_stream_without_panicking() {
    for (name, _) in table() {
        let buf = raw(name);
        for cut in 0..buf.len() {
            // A prefix is never a complete different message.
            match frame_stream(&buf[..cut], &Limits::default()) {
                Ok(StreamFrame::Message(n)) => assert!(n <= cut),
                Ok(StreamFrame::KeepAlive(_)) => panic!("{name}: keep-alive"),
                Err(_) => {}
            }
        }
        if let Ok(StreamFrame::Message(n)) = frame_stream(&buf, &Limits::default()) {
            let _ = parse_message(buf.slice(..n), &Limits::default(), true);
        }
    }
}
