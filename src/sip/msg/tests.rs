//! Unit tests of the message layer: framing (RFC 3261 §7, §7.3.1, §7.5,
//! §18.3), size limits, URIs (§19.1, RFC 3966), typed headers (§20),
//! responses (§8.2.6), printing, and a seeded mutation loop proving that no
//! input panics. The RFC 4475 vectors themselves are checked in
//! `tests/rfc4475_parse.rs`.

use super::typed::*;
use super::*;

fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

fn dgram(s: &str) -> Result<Message, Malformed> {
    parse_datagram(b(s), &Limits::default())
}

fn ok(s: &str) -> Message {
    dgram(s).unwrap_or_else(|e| panic!("{e:?} for {s:?}"))
}

fn err(s: &str) -> Malformed {
    dgram(s).expect_err(s)
}

const HEAD: &str = "INVITE sip:bob@example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP pc33.example.com:5060;branch=z9hG4bK776asdhds;rport\r\n\
Max-Forwards: 70\r\n\
To: Bob <sip:bob@example.com>\r\n\
From: \"Alice\" <sip:alice@example.com>;tag=1928301774\r\n\
Call-ID: a84b4c76e66710@pc33.example.com\r\n\
CSeq: 314159 INVITE\r\n\
Contact: <sip:alice@pc33.example.com>\r\n";

fn invite(extra: &str, body: &str) -> String {
    format!("{HEAD}{extra}Content-Length: {}\r\n\r\n{body}", body.len())
}

fn uri(s: &str) -> Option<Uri> {
    Uri::parse(&b(s))
}

fn strip_cl(m: &Message) -> Message {
    let mut m = m.clone();
    m.headers.remove(&HeaderName::ContentLength);
    m
}

/// xorshift64*: deterministic, seeded, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

mod messages;
mod mutation;
mod uris_and_headers;

// ------------------------------------------------------------- framing

#[test]
fn parses_a_plain_request() {
    let m = ok(&invite("", ""));
    assert_eq!(m.method(), Some(&Method::INVITE));
    assert!(m.is_request());
    assert_eq!(m.uri().unwrap().to_string(), "sip:bob@example.com");
    assert_eq!(m.headers.len(), 8);
    let names: Vec<&str> = m.headers.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(names[0], "Via");
    assert_eq!(names[7], "Content-Length");
    assert!(m.body.is_empty());
    let env = m.envelope().unwrap();
    assert_eq!(
        env.cseq,
        CSeq {
            seq: 314159,
            method: Method::INVITE
        }
    );
    assert_eq!(env.max_forwards, Some(70));
    assert_eq!(env.call_id, "a84b4c76e66710@pc33.example.com");
    assert_eq!(env.from.tag().unwrap(), "1928301774");
    assert_eq!(env.to.tag(), None);
    assert_eq!(env.via.port, Some(5060));
}

#[test]
fn values_are_slices_of_the_datagram() {
    let raw = b(&invite("", ""));
    let m = parse_datagram(raw.clone(), &Limits::default()).unwrap();
    let range = raw.as_ptr() as usize..raw.as_ptr() as usize + raw.len();
    for h in m.headers.iter() {
        assert!(
            range.contains(&(h.value.as_ptr() as usize)) || h.value.is_empty(),
            "{:?} copied",
            h.name
        );
    }
}

#[test]
fn bare_lf_and_missing_final_blank_line_are_tolerated() {
    let m = ok(&invite("", "").replace("\r\n", "\n"));
    assert!(m.envelope().is_ok());
    // A datagram that ends right after the last header line.
    let s = invite("", "");
    let m = ok(s.strip_suffix("\r\n").unwrap());
    assert!(m.envelope().is_ok());
}

#[test]
fn folded_lines_join_with_one_space() {
    let m = ok(&invite("Subject: lunch\r\n  at\r\n\tnoon  \r\nX-Empty:\r\n  \r\n", ""));
    assert_eq!(m.headers.get(&HeaderName::Subject).unwrap(), "lunch at noon");
    assert_eq!(m.headers.get(&HeaderName::from("X-Empty")).unwrap(), "");
    // Folding inside a typed value.
    let m = ok(&invite("", "").replace("CSeq: 314159 INVITE", "CSeq: 314159\r\n INVITE"));
    assert_eq!(m.envelope().unwrap().cseq.seq, 314159);
}

#[test]
fn continuation_before_any_header_is_a_bad_line() {
    let s = invite("", "").replacen("\r\nVia", "\r\n continued\r\nVia", 1);
    let e = err(&s);
    assert_eq!(e.error, ParseError::BadHeaderLine);
    assert!(e.headers.unwrap().get(&HeaderName::Via).is_some());
}

#[test]
fn malformed_header_lines_keep_the_rest_for_a_400() {
    for bad in [
        "No colon here\r\n",
        "Bad Name: x\r\n",
        ": empty name\r\n",
        "Sub<ject: x\r\n",
    ] {
        let e = err(&invite(bad, ""));
        assert_eq!(e.error, ParseError::BadHeaderLine, "{bad:?}");
        let h = e.headers.unwrap();
        assert_eq!(h.len(), 8, "{bad:?}");
        let mut resp = Message::response(StatusCode::BAD_REQUEST, None);
        resp.headers = h;
        assert!(resp.envelope().is_ok());
    }
    // A response with a bad line is dropped: no headers.
    let e = err("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\r\nnonsense\r\n\r\n");
    assert_eq!(e.error, ParseError::BadHeaderLine);
    assert!(e.headers.is_none());
}

#[test]
fn start_line_errors_win_over_header_errors() {
    let s = invite("garbage\r\n", "").replace("SIP/2.0\r\n", "SIP/3.0\r\n");
    let e = err(&s);
    assert_eq!(e.error, ParseError::BadVersion);
    assert!(e.headers.is_some());
}

#[test]
fn compact_forms_map_to_long_names() {
    let pairs = [
        ("v", HeaderName::Via),
        ("f", HeaderName::From),
        ("t", HeaderName::To),
        ("i", HeaderName::CallId),
        ("m", HeaderName::Contact),
        ("l", HeaderName::ContentLength),
        ("c", HeaderName::ContentType),
        ("e", HeaderName::ContentEncoding),
        ("s", HeaderName::Subject),
        ("k", HeaderName::Supported),
        ("r", HeaderName::ReferTo),
        ("b", HeaderName::ReferredBy),
        ("o", HeaderName::Event),
        ("u", HeaderName::AllowEvents),
        ("x", HeaderName::SessionExpires),
    ];
    for (short, long) in pairs {
        assert_eq!(HeaderName::from(short), long, "{short}");
        assert_eq!(HeaderName::from_bytes(b(&short.to_uppercase())), long, "{short}");
    }
    assert_eq!(HeaderName::from("cAlL-iD"), HeaderName::CallId);
    assert_eq!(HeaderName::from("X-Foo"), HeaderName::from("x-foo"));
    assert_ne!(HeaderName::from("X-Foo"), HeaderName::from("X-Bar"));
    assert_eq!(HeaderName::from("X-Foo").as_bytes(), b"X-Foo");
    let mut set = std::collections::HashSet::new();
    set.insert(HeaderName::from("X-Foo"));
    assert!(set.contains(&HeaderName::from("x-FOO")));

    let m = ok(
        "OPTIONS sip:a@b SIP/2.0\r\nv: SIP/2.0/UDP h;branch=z9hG4bKq\r\nf: <sip:x@y>;tag=1\r\n\
t: sip:a@b\r\ni: cid\r\nCSeq: 1 OPTIONS\r\nl: 0\r\n\r\n",
    );
    let env = m.envelope().unwrap();
    assert_eq!(env.call_id, "cid");
    // Printing uses the long form.
    let printed = m.to_bytes();
    assert!(printed.starts_with(b"OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKq\r\nFrom: "));
    assert!(printed.windows(9).any(|w| w == b"Call-ID: "));
}

#[test]
fn token_table_is_the_rfc_set() {
    for c in 0..=255u8 {
        let want = c.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&c);
        assert_eq!(parse::is_token_char(c), want, "{c}");
    }
}

#[test]
fn find_byte_matches_a_naive_scan() {
    let mut rng = Rng(7);
    for len in 0..80 {
        for _ in 0..50 {
            let hay: Vec<u8> = (0..len)
                .map(|_| [b'\n', b'\r', b'a', 0x0a ^ 0x80, 0xff, 0][rng.below(6)])
                .collect();
            for needle in [b'\n', b'\r', 0, 0xff] {
                assert_eq!(
                    parse::find_byte(&hay, needle),
                    hay.iter().position(|c| *c == needle),
                    "{hay:?}"
                );
            }
        }
    }
}

// ------------------------------------------------------- Content-Length

#[test]
fn content_length_absent() {
    // Datagram: the body runs to the end (§18.3).
    let s = format!("{HEAD}\r\nv=0\r\n");
    let m = ok(&s);
    assert_eq!(m.body, "v=0\r\n");
    // Stream: no Content-Length means no body.
    let m = parse_message(b(&s), &Limits::default(), true).unwrap();
    assert!(m.body.is_empty());
}

#[test]
fn content_length_exact_and_trailing_octets_ignored() {
    let s = format!("{}garbage after the body", invite("", "hello"));
    let m = ok(&s);
    assert_eq!(m.body, "hello");
    assert!(!m.to_bytes().windows(7).any(|w| w == b"garbage"));
    // Content-Length smaller than what follows: the rest is noise.
    let s = format!("{HEAD}Content-Length: 2\r\n\r\nhello");
    assert_eq!(ok(&s).body, "he");
}

#[test]
fn content_length_too_large() {
    let s = format!("{HEAD}Content-Length: 6\r\n\r\nhello");
    let e = err(&s);
    assert_eq!(e.error, ParseError::ContentLengthTooLarge);
    assert!(e.headers.is_some());
}

#[test]
fn content_length_not_a_number() {
    for v in [
        "-1",
        "abc",
        "1.5",
        "",
        "99999999999999999999999",
        "4294967296",
        "5, 5",
        "0x10",
    ] {
        let s = format!("{HEAD}Content-Length: {v}\r\n\r\n");
        assert_eq!(err(&s).error, ParseError::BadContentLength, "{v:?}");
    }
    // Leading zeros are fine.
    assert_eq!(ok(&format!("{HEAD}Content-Length: 0002\r\n\r\nhi")).body, "hi");
}

#[test]
fn content_length_duplicate() {
    for second in ["Content-Length: 0", "l: 0", "content-length: 5"] {
        let s = format!("{HEAD}Content-Length: 0\r\n{second}\r\n\r\n");
        let e = err(&s);
        assert_eq!(e.error, ParseError::DuplicateHeader("Content-Length"), "{second}");
        assert!(e.headers.is_some());
    }
}

// ---------------------------------------------------------- size limits

#[test]
fn message_size_limit() {
    let limits = Limits::default();
    assert_eq!(limits.max_message, 65536);
    let base = invite("", "");
    let fill = |total: usize| {
        let body = "x".repeat(total - invite("", "").len() - 4); // "0" becomes 5 digits
        invite("", &body)
    };
    let exact = fill(65536);
    assert_eq!(exact.len(), 65536, "{}", base.len());
    assert!(ok(&exact).envelope().is_ok());
    let over = format!("{exact}x");
    assert_eq!(err(&over).error, ParseError::TooLarge);
    assert!(err(&over).headers.is_none());
    let small = Limits {
        max_message: 100,
        max_headers: 256,
    };
    assert_eq!(
        parse_datagram(b(&invite("", "")), &small).unwrap_err().error,
        ParseError::TooLarge
    );
}

#[test]
fn header_count_limit() {
    // HEAD has 7 lines, plus Content-Length: fill up to exactly 256.
    let extra: String = (0..248).map(|i| format!("X-H{i}: {i}\r\n")).collect();
    let m = ok(&invite(&extra, ""));
    assert_eq!(m.headers.len(), 256);
    let extra = format!("{extra}X-One-More: 1\r\n");
    let e = err(&invite(&extra, ""));
    assert_eq!(e.error, ParseError::TooManyHeaders);
    assert!(e.headers.is_none());
    let few = Limits {
        max_message: 65536,
        max_headers: 3,
    };
    assert_eq!(
        parse_datagram(b(&invite("", "")), &few).unwrap_err().error,
        ParseError::TooManyHeaders
    );
    // Folded lines count once.
    let m = ok(&invite("Subject: a\r\n b\r\n c\r\n", ""));
    assert_eq!(m.headers.len(), 9);
}

// ------------------------------------------------------- stream framing

#[test]
fn stream_keepalives() {
    let l = Limits::default();
    assert_eq!(frame_stream(b"\r\n\r\n", &l), Ok(StreamFrame::KeepAlive(4)));
    assert_eq!(frame_stream(b"\r\n", &l), Ok(StreamFrame::KeepAlive(2)));
    assert_eq!(frame_stream(b"\r\n\r\nINVITE", &l), Ok(StreamFrame::KeepAlive(4)));
    assert_eq!(frame_stream(b"", &l), Err(FrameError::Incomplete));
}

#[test]
fn stream_partial_input_is_incomplete_until_complete() {
    let l = Limits::default();
    let one = invite("", "v=0\r\n");
    let two = invite("Subject: second\r\n", "");
    let stream = format!("{one}\r\n\r\n{two}");
    let bytes = stream.as_bytes();
    for cut in 0..one.len() {
        assert_eq!(
            frame_stream(&bytes[..cut], &l),
            Err(FrameError::Incomplete),
            "cut {cut}"
        );
    }
    for cut in one.len()..=bytes.len() {
        assert_eq!(frame_stream(&bytes[..cut], &l), Ok(StreamFrame::Message(one.len())));
    }
    // Then the keep-alive, then the second message.
    let rest = &bytes[one.len()..];
    assert_eq!(frame_stream(rest, &l), Ok(StreamFrame::KeepAlive(4)));
    let rest = &rest[4..];
    assert_eq!(frame_stream(rest, &l), Ok(StreamFrame::Message(two.len())));
    let buf = Bytes::copy_from_slice(rest);
    let m = parse_message(buf, &l, true).unwrap();
    assert_eq!(m.headers.get(&HeaderName::Subject).unwrap(), "second");
}

#[test]
fn stream_content_length_rules() {
    let l = Limits::default();
    // Absent: the header section alone.
    let s = format!("{HEAD}\r\nleftover");
    assert_eq!(frame_stream(s.as_bytes(), &l), Ok(StreamFrame::Message(HEAD.len() + 2)));
    // Compact, folded, odd spacing.
    let s = format!("{HEAD}l :\r\n 3\r\n\r\nabc");
    assert_eq!(frame_stream(s.as_bytes(), &l), Ok(StreamFrame::Message(s.len())));
    // A continuation line that looks like `l: 99` is part of another value.
    let s = format!("{HEAD}Subject: x\r\n l: 99\r\nContent-Length: 1\r\n\r\nz");
    assert_eq!(frame_stream(s.as_bytes(), &l), Ok(StreamFrame::Message(s.len())));
    // Bad, negative, duplicate: the connection must close, after answering
    // the head (start line and headers, blank line included).
    let unframeable = |error, head: &str| {
        Err(FrameError::Unframeable {
            error,
            head: Some(head.len()),
        })
    };
    let head = format!("{HEAD}Content-Length: -5\r\n\r\n");
    assert_eq!(
        frame_stream(head.as_bytes(), &l),
        unframeable(ParseError::BadContentLength, &head)
    );
    let head = format!("{HEAD}Content-Length: 1\r\nl: 1\r\n\r\n");
    let s = format!("{head}z");
    assert_eq!(
        frame_stream(s.as_bytes(), &l),
        unframeable(ParseError::DuplicateHeader("Content-Length"), &head)
    );
    // A folded bad value is still bad (and the head ends at the blank line).
    let head = format!("{HEAD}l:\r\n -1\r\n\r\n");
    let s = format!("{head}INVITE");
    assert_eq!(
        frame_stream(s.as_bytes(), &l),
        unframeable(ParseError::BadContentLength, &head)
    );
    // Too large: by the announced length (a head to answer), or by a header
    // section that never ends (nothing to answer).
    let head = format!("{HEAD}Content-Length: 70000\r\n\r\n");
    assert_eq!(
        frame_stream(head.as_bytes(), &l),
        unframeable(ParseError::TooLarge, &head)
    );
    let junk = vec![b'a'; 65537];
    assert_eq!(
        frame_stream(&junk, &l),
        Err(FrameError::Unframeable {
            error: ParseError::TooLarge,
            head: None
        })
    );
    assert_eq!(frame_stream(&junk[..1000], &l), Err(FrameError::Incomplete));
}

// ------------------------------------------------------------ start line

#[test]
fn request_lines() {
    assert_eq!(err("INVITE sip:a@b SIP/2.0 \r\n\r\n").error, ParseError::BadStartLine);
    assert_eq!(err("INVITE  sip:a@b SIP/2.0\r\n\r\n").error, ParseError::BadRequestUri);
    assert_eq!(err("INVITE <sip:a@b> SIP/2.0\r\n\r\n").error, ParseError::BadRequestUri);
    assert_eq!(
        err("INVITE sip:a@b?Route=x SIP/2.0\r\n\r\n").error,
        ParseError::BadRequestUri
    );
    assert_eq!(err("INVITE sip:a@b\r\n\r\n").error, ParseError::BadStartLine);
    assert_eq!(err("INVITE sip:a@b HTTP/1.1\r\n\r\n").error, ParseError::BadStartLine);
    assert_eq!(err("INVITE sip:a@b SIP/2.1\r\n\r\n").error, ParseError::BadVersion);
    assert_eq!(err("INVITE sip:a@b SIP/12.0\r\n\r\n").error, ParseError::BadVersion);
    assert_eq!(err("INV(TE sip:a@b SIP/2.0\r\n\r\n").error, ParseError::BadStartLine);
    assert_eq!(err(" sip:a@b SIP/2.0\r\n\r\n").error, ParseError::BadStartLine);
    assert_eq!(err("").error, ParseError::BadStartLine);
    assert_eq!(err("INVITE sip:a@b SIP/2.0").error, ParseError::BadStartLine);
    // Methods are case-sensitive (§7.1).
    let m = ok("invite sip:a@b SIP/2.0\r\n\r\n");
    assert!(!m.method().unwrap().is_known());
    assert_ne!(m.method(), Some(&Method::INVITE));
}

#[test]
fn status_lines() {
    let m = ok("SIP/2.0 180 Ringing\r\n\r\n");
    assert_eq!(m.status(), Some(StatusCode::RINGING));
    assert!(!m.is_request());
    assert_eq!(m.method(), None);
    assert_eq!(m.uri(), None);
    let m = ok("SIP/2.0 404 Not  Found Here\r\n\r\n");
    let StartLine::Response { reason, .. } = &m.start else {
        panic!()
    };
    assert_eq!(reason, "Not  Found Here");
    let m = ok("SIP/2.0 699\r\n\r\n");
    assert_eq!(m.status().unwrap().as_u16(), 699);
    for bad in [
        "SIP/2.0 099 x",
        "SIP/2.0 700 x",
        "SIP/2.0 1000 x",
        "SIP/2.0 2OO OK",
        "SIP/2.0  200 OK",
        "SIP/2.0 20 x",
    ] {
        assert_eq!(err(&format!("{bad}\r\n\r\n")).error, ParseError::BadStatusCode, "{bad}");
    }
    assert_eq!(err("SIP/3.0 200 OK\r\n\r\n").error, ParseError::BadVersion);
    assert_eq!(err("SIP/x 200 OK\r\n\r\n").error, ParseError::BadStartLine);
}
