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
    let m = ok(&invite(
        "Subject: lunch\r\n  at\r\n\tnoon  \r\nX-Empty:\r\n  \r\n",
        "",
    ));
    assert_eq!(
        m.headers.get(&HeaderName::Subject).unwrap(),
        "lunch at noon"
    );
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
        assert_eq!(
            HeaderName::from_bytes(b(&short.to_uppercase())),
            long,
            "{short}"
        );
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
    assert!(printed
        .starts_with(b"OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKq\r\nFrom: "));
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
    assert_eq!(
        ok(&format!("{HEAD}Content-Length: 0002\r\n\r\nhi")).body,
        "hi"
    );
}

#[test]
fn content_length_duplicate() {
    for second in ["Content-Length: 0", "l: 0", "content-length: 5"] {
        let s = format!("{HEAD}Content-Length: 0\r\n{second}\r\n\r\n");
        let e = err(&s);
        assert_eq!(
            e.error,
            ParseError::DuplicateHeader("Content-Length"),
            "{second}"
        );
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
        parse_datagram(b(&invite("", "")), &small)
            .unwrap_err()
            .error,
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
    assert_eq!(
        frame_stream(b"\r\n\r\nINVITE", &l),
        Ok(StreamFrame::KeepAlive(4))
    );
    assert_eq!(frame_stream(b"", &l), Err(ParseError::Incomplete));
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
            Err(ParseError::Incomplete),
            "cut {cut}"
        );
    }
    for cut in one.len()..=bytes.len() {
        assert_eq!(
            frame_stream(&bytes[..cut], &l),
            Ok(StreamFrame::Message(one.len()))
        );
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
    assert_eq!(
        frame_stream(s.as_bytes(), &l),
        Ok(StreamFrame::Message(HEAD.len() + 2))
    );
    // Compact, folded, odd spacing.
    let s = format!("{HEAD}l :\r\n 3\r\n\r\nabc");
    assert_eq!(
        frame_stream(s.as_bytes(), &l),
        Ok(StreamFrame::Message(s.len()))
    );
    // A continuation line that looks like `l: 99` is part of another value.
    let s = format!("{HEAD}Subject: x\r\n l: 99\r\nContent-Length: 1\r\n\r\nz");
    assert_eq!(
        frame_stream(s.as_bytes(), &l),
        Ok(StreamFrame::Message(s.len()))
    );
    // Bad, negative, duplicate: the connection must close.
    let s = format!("{HEAD}Content-Length: -5\r\n\r\n");
    assert_eq!(
        frame_stream(s.as_bytes(), &l),
        Err(ParseError::BadContentLength)
    );
    let s = format!("{HEAD}Content-Length: 1\r\nl: 1\r\n\r\nz");
    assert_eq!(
        frame_stream(s.as_bytes(), &l),
        Err(ParseError::DuplicateHeader("Content-Length"))
    );
    // Too large: by header or by the announced length.
    let s = format!("{HEAD}Content-Length: 70000\r\n\r\n");
    assert_eq!(frame_stream(s.as_bytes(), &l), Err(ParseError::TooLarge));
    let junk = vec![b'a'; 65537];
    assert_eq!(frame_stream(&junk, &l), Err(ParseError::TooLarge));
    assert_eq!(frame_stream(&junk[..1000], &l), Err(ParseError::Incomplete));
}

// ------------------------------------------------------------ start line

#[test]
fn request_lines() {
    assert_eq!(
        err("INVITE sip:a@b SIP/2.0 \r\n\r\n").error,
        ParseError::BadStartLine
    );
    assert_eq!(
        err("INVITE  sip:a@b SIP/2.0\r\n\r\n").error,
        ParseError::BadRequestUri
    );
    assert_eq!(
        err("INVITE <sip:a@b> SIP/2.0\r\n\r\n").error,
        ParseError::BadRequestUri
    );
    assert_eq!(
        err("INVITE sip:a@b?Route=x SIP/2.0\r\n\r\n").error,
        ParseError::BadRequestUri
    );
    assert_eq!(
        err("INVITE sip:a@b\r\n\r\n").error,
        ParseError::BadStartLine
    );
    assert_eq!(
        err("INVITE sip:a@b HTTP/1.1\r\n\r\n").error,
        ParseError::BadStartLine
    );
    assert_eq!(
        err("INVITE sip:a@b SIP/2.1\r\n\r\n").error,
        ParseError::BadVersion
    );
    assert_eq!(
        err("INVITE sip:a@b SIP/12.0\r\n\r\n").error,
        ParseError::BadVersion
    );
    assert_eq!(
        err("INV(TE sip:a@b SIP/2.0\r\n\r\n").error,
        ParseError::BadStartLine
    );
    assert_eq!(
        err(" sip:a@b SIP/2.0\r\n\r\n").error,
        ParseError::BadStartLine
    );
    assert_eq!(err("").error, ParseError::BadStartLine);
    assert_eq!(
        err("INVITE sip:a@b SIP/2.0").error,
        ParseError::BadStartLine
    );
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
        assert_eq!(
            err(&format!("{bad}\r\n\r\n")).error,
            ParseError::BadStatusCode,
            "{bad}"
        );
    }
    assert_eq!(err("SIP/3.0 200 OK\r\n\r\n").error, ParseError::BadVersion);
    assert_eq!(err("SIP/x 200 OK\r\n\r\n").error, ParseError::BadStartLine);
}

// ------------------------------------------------------------------ URIs

#[test]
fn sip_uri_parts() {
    let u = uri("sip:alice:secret@Example.COM:5070;transport=tcp;lr;maddr=10.0.0.1?subject=hi&x=y")
        .unwrap();
    assert_eq!(u.scheme, Scheme::Sip);
    assert_eq!(u.user.as_deref(), Some(&b"alice"[..]));
    assert_eq!(u.password.as_deref(), Some(&b"secret"[..]));
    assert_eq!(u.host.as_str(), "Example.COM");
    assert_eq!(u.port, Some(5070));
    assert_eq!(u.params.value("TRANSPORT").unwrap(), "tcp");
    assert_eq!(u.params.get("lr"), Some(None));
    assert_eq!(u.params.value("maddr").unwrap(), "10.0.0.1");
    assert_eq!(u.headers.as_deref(), Some(&b"subject=hi&x=y"[..]));
    assert!(u.is_sip());
    assert_eq!(
        u.to_string(),
        "sip:alice:secret@Example.COM:5070;transport=tcp;lr;maddr=10.0.0.1?subject=hi&x=y"
    );

    let u = uri("sips:example.com").unwrap();
    assert_eq!(u.scheme, Scheme::Sips);
    assert_eq!(u.user, None);
    assert_eq!(u.port, None);
    assert!(u.is_sip());
    assert_eq!(uri("SIP:a@b").unwrap().scheme, Scheme::Sip);
}

#[test]
fn ipv6_hosts() {
    let u = uri("sip:bob@[2001:db8::1]:5060;transport=udp").unwrap();
    assert_eq!(u.host.as_str(), "[2001:db8::1]");
    assert_eq!(u.host.ip(), Some("2001:db8::1".parse().unwrap()));
    assert_eq!(u.port, Some(5060));
    assert_eq!(
        uri("sip:[::1]").unwrap().host.ip(),
        Some("::1".parse().unwrap())
    );
    assert!(uri("sip:[2001:db8::g]").is_none());
    assert!(uri("sip:[2001:db8::1").is_none());
    assert!(uri("sip:[]").is_none());
    assert_eq!(Host::from_ip("::1".parse().unwrap()).as_str(), "[::1]");
    assert_eq!(
        Host::from_ip("10.0.0.1".parse().unwrap()).as_str(),
        "10.0.0.1"
    );
    assert_eq!(Host(b("example.com")).ip(), None);
}

#[test]
fn escaped_users() {
    let u = uri("sip:%61lice%20smith@example.com").unwrap();
    assert_eq!(u.user.as_deref(), Some(&b"%61lice%20smith"[..]));
    assert_eq!(u.user_unescaped().unwrap(), "alice smith");
    assert_eq!(uri("sip:%00@h").unwrap().user_unescaped().unwrap(), "\0");
    assert!(uri("sip:%G1@h").is_none());
    assert!(uri("sip:%4@h").is_none());
    assert!(uri("sip:abc%@h").is_none());
    // `;` and `?` are legal in the user part.
    let u = uri("sip:user;par=x?y@example.com;p=1").unwrap();
    assert_eq!(u.user.as_deref(), Some(&b"user;par=x?y"[..]));
    assert_eq!(u.params.value("p").unwrap(), "1");
    assert_eq!(u.headers, None);
}

#[test]
fn tel_and_other_schemes() {
    let u = uri("tel:+1-201-555-0123;ext=42").unwrap();
    assert_eq!(u.scheme, Scheme::Tel);
    assert_eq!(u.user.as_deref(), Some(&b"+1-201-555-0123"[..]));
    assert_eq!(u.params.value("ext").unwrap(), "42");
    assert_eq!(u.to_string(), "tel:+1-201-555-0123;ext=42");
    assert!(!u.is_sip());
    assert!(uri("tel:;ext=1").is_none());

    let u = uri("urn:service:sos").unwrap();
    assert_eq!(u.scheme, Scheme::Other(b("urn")));
    assert_eq!(u.opaque, "service:sos");
    assert_eq!(u.to_string(), "urn:service:sos");
    let u = uri("mailto:a@b.c").unwrap();
    assert_eq!(u.scheme, Scheme::Other(b("mailto")));
}

#[test]
fn malformed_uris() {
    for bad in [
        "",
        ":",
        "sip:",
        "sip",
        "1sip:a@b",
        "s p:a",
        "sip:a b@c",
        "sip:a@b c",
        "sip:@host",
        "sip:a@",
        "sip:a@h:",
        "sip:a@h:70000",
        "sip:a@h:5x",
        "sip:a@h;",
        "sip:a@h;=v",
        "sip:a@h;p=",
        "sip:a@ho_st",
        "sip:a@h\tx",
        "<sip:a@b>",
        "sip:a@b\r\n",
        "sip:a@h;p=\"q\"",
    ] {
        assert!(uri(bad).is_none(), "{bad:?}");
    }
}

#[test]
fn uri_builder_and_print() {
    let mut u = Uri::sip(Some("bob"), Host(b("10.0.0.2")), Some(5062));
    u.params.set("transport", Some(b("tcp")));
    u.params.set("lr", None);
    assert_eq!(u.to_string(), "sip:bob@10.0.0.2:5062;transport=tcp;lr");
    u.params.set("transport", Some(b("udp")));
    u.params.remove("lr");
    assert_eq!(u.to_string(), "sip:bob@10.0.0.2:5062;transport=udp");
    assert_eq!(uri(&u.to_string()).unwrap(), u);
}

#[test]
fn params_parsing() {
    let p = Params::parse(&b(" ; a = 1 ;B;c=\"x;y\" "), true).unwrap();
    assert_eq!(p.value("a").unwrap(), "1");
    assert!(p.has("b"));
    assert_eq!(p.get("c").unwrap().unwrap(), "\"x;y\"");
    assert_eq!(p.value("c").unwrap(), "x;y");
    assert_eq!(p.iter().count(), 3);
    assert!(Params::parse(&b(";c=\"x"), true).is_none());
    assert!(Params::parse(&b(";c=\"x\""), false).is_none());
    assert!(Params::parse(&b("a=1"), true).is_none());
    assert!(Params::parse(&b(";;"), true).is_none());
    assert!(Params::parse(&b(""), true).unwrap().is_empty());
    assert_eq!(params::unquote(&b("\"a\\\"b\"")), "a\"b");
    let mut out = bytes::BytesMut::new();
    p.write(&mut out);
    assert_eq!(&out[..], b";a=1;B;c=\"x;y\"");
}

// --------------------------------------------------------- typed headers

#[test]
fn via_values() {
    let v = Via::parse(&b(
        "SIP/2.0/TCP client.example.com:5061;branch=z9hG4bK74bf9;received=192.0.2.1;rport=5070",
    ))
    .unwrap();
    assert_eq!(v.transport, Transport::Tcp);
    assert!(v.transport.is_reliable());
    assert_eq!(v.host.as_str(), "client.example.com");
    assert_eq!(v.port, Some(5061));
    assert_eq!(v.branch().unwrap(), "z9hG4bK74bf9");
    assert!(v.has_rfc3261_branch());
    assert_eq!(v.received().unwrap(), "192.0.2.1");
    assert_eq!(v.rport(), Some(Some(5070)));
    let v = Via::parse(&b(
        "sip / 2.0 / udp [2001:db8::9] : 5060 ; rport ; branch=abc",
    ))
    .unwrap();
    assert_eq!(v.transport, Transport::Udp);
    assert!(!v.transport.is_reliable());
    assert_eq!(v.host.ip(), Some("2001:db8::9".parse().unwrap()));
    assert_eq!(v.port, Some(5060));
    assert_eq!(v.rport(), Some(None));
    assert!(!v.has_rfc3261_branch());
    assert_eq!(
        Via::parse(&b("SIP/2.0/WSS h")).unwrap().transport,
        Transport::Wss
    );
    assert_eq!(
        Via::parse(&b("SIP/2.0/xyz h")).unwrap().transport.as_str(),
        "xyz"
    );
    for bad in [
        "",
        "SIP/2.0",
        "SIP/2.0/UDP",
        "SIP/3.0/UDP h",
        "HTTP/2.0/UDP h",
        "SIP/2.0/UDP h:",
        "SIP/2.0/UDP h:99999",
        "SIP/2.0/UDP [::1",
        "SIP/2.0/UDP [zz]",
        "SIP/2.0/UDP h;;",
        "SIP/2.0/UDP h junk",
        "SIP/2.0 UDP h",
    ] {
        assert_eq!(
            Via::parse(&b(bad)),
            Err(ParseError::BadHeader("Via")),
            "{bad:?}"
        );
    }
    let v = Via::new(
        Transport::Udp,
        Host::from_ip("::1".parse().unwrap()),
        Some(5060),
        "z9hG4bKabc",
    );
    assert_eq!(
        v.to_bytes(),
        "SIP/2.0/UDP [::1]:5060;branch=z9hG4bKabc;rport"
    );
    assert_eq!(Via::parse(&v.to_bytes()).unwrap(), v);
}

#[test]
fn cseq_values() {
    assert_eq!(
        CSeq::parse(&b("1 INVITE")).unwrap(),
        CSeq {
            seq: 1,
            method: Method::INVITE
        }
    );
    assert_eq!(
        CSeq::parse(&b(" 2147483647 \t BYE ")).unwrap().seq,
        (1 << 31) - 1
    );
    assert_eq!(CSeq::parse(&b("007 ACK")).unwrap().seq, 7);
    let c = CSeq::parse(&b("5 FOO")).unwrap();
    assert!(!c.method.is_known());
    assert_eq!(c.to_bytes(), "5 FOO");
    for bad in [
        "2147483648 INVITE",
        "1",
        "INVITE",
        "-1 INVITE",
        "1 INV ITE",
        "1 INVITE,",
        "",
        "x INVITE",
    ] {
        assert_eq!(
            CSeq::parse(&b(bad)),
            Err(ParseError::BadHeader("CSeq")),
            "{bad:?}"
        );
    }
}

#[test]
fn name_addr_forms() {
    let n = NameAddr::parse_header(&b("\"A \\\"B\\\" C\" <sip:a@b;lr>;tag=x;q=1"), "To").unwrap();
    assert_eq!(n.display.as_deref(), Some(&b"\"A \\\"B\\\" C\""[..]));
    assert!(n.uri.params.has("lr"));
    assert_eq!(n.tag().unwrap(), "x");
    assert_eq!(n.params.value("q").unwrap(), "1");
    let n = NameAddr::parse_header(&b("Alice  Smith<sip:a@b>"), "From").unwrap();
    assert_eq!(n.display.as_deref(), Some(&b"Alice  Smith"[..]));
    let n = NameAddr::parse_header(&b("<sip:a@b>"), "From").unwrap();
    assert_eq!(n.display, None);
    // addr-spec: parameters belong to the header (§20.10).
    let n = NameAddr::parse_header(&b("sip:a@b;tag=9;lr"), "From").unwrap();
    assert!(n.uri.params.is_empty());
    assert_eq!(n.tag().unwrap(), "9");
    assert!(n.params.has("lr"));
    let n = NameAddr::parse_header(&b("  tel:+123 ;tag=1"), "From").unwrap();
    assert_eq!(n.uri.scheme, Scheme::Tel);
    assert_eq!(n.tag().unwrap(), "1");
    for bad in [
        "",
        "\"unterminated <sip:a@b>",
        "\"q\" sip:a@b",
        "<sip:a@b",
        "<sip:a@b> junk",
        "Bell, A <sip:a@b>",
        "sip:a@b?x=y",
        "< sip:a@b >",
        "<>",
        "sip:a@b;=",
        "sip:a@b, sip:c@d",
    ] {
        assert_eq!(
            NameAddr::parse_header(&b(bad), "From"),
            Err(ParseError::BadHeader("From")),
            "{bad:?}"
        );
    }
    assert!(NameAddr::parse_header(&b("sip:a@b;tag"), "From")
        .unwrap()
        .params
        .has("tag"));
}

#[test]
fn name_addr_print() {
    let n = NameAddr::parse_header(&b("\"Bob\"<sip:bob@h>;tag=1"), "To").unwrap();
    assert_eq!(n.to_bytes(), "\"Bob\" <sip:bob@h>;tag=1");
    let n = NameAddr::parse_header(&b("sip:bob@h;tag=1"), "To").unwrap();
    assert_eq!(n.to_bytes(), "<sip:bob@h>;tag=1");
    assert_eq!(NameAddr::parse_header(&n.to_bytes(), "To").unwrap(), n);
    assert_eq!(
        NameAddr::new(uri("sip:x@y").unwrap()).to_bytes(),
        "<sip:x@y>"
    );
}

#[test]
fn contact_values() {
    assert_eq!(ContactList::parse(&b(" * ")).unwrap(), ContactList::Star);
    let ContactList::List(l) = ContactList::parse(&b(
        "<sip:a@h1>;expires=60;q=0.5, \"X, Y\" <sip:b@h2>, sip:c@h3;expires=0",
    ))
    .unwrap() else {
        panic!()
    };
    assert_eq!(l.len(), 3);
    assert_eq!(l[0].expires(), Some(60));
    assert_eq!(l[0].0.params.value("q").unwrap(), "0.5");
    assert_eq!(l[1].0.display.as_deref(), Some(&b"\"X, Y\""[..]));
    assert_eq!(l[1].expires(), None);
    assert_eq!(l[2].expires(), Some(0));
    assert_eq!(
        ContactList::parse(&b("<sip:a@h>,,")),
        Err(ParseError::BadHeader("Contact"))
    );
    assert_eq!(
        ContactList::parse(&b("")),
        Err(ParseError::BadHeader("Contact"))
    );
}

#[test]
fn auth_values() {
    let c = Credentials::parse(&b(
        "Digest username=\"bob\", realm=\"biloxi.com\",nonce=\"dcd98b, 7102dd\", uri=\"sip:bob@biloxi.com\", \
         response=\"6629fae49393a05397450978507c4ef1\", algorithm=MD5, qop=auth, nc=00000001, cnonce=\"0a4f113b\"",
    ))
    .unwrap();
    assert!(c.0.is_digest());
    assert_eq!(c.0.get("username").unwrap(), "bob");
    assert_eq!(c.0.get("NONCE").unwrap(), "dcd98b, 7102dd");
    assert_eq!(c.0.get_str("algorithm"), Some("MD5"));
    assert_eq!(c.0.get_str("nc"), Some("00000001"));
    assert_eq!(c.0.get("opaque"), None);
    let ch = Challenge::parse(&b(
        "Digest realm=\"atlanta.com\", qop=\"auth,auth-int\", nonce=\"84a4cc\", algorithm=SHA-256",
    ))
    .unwrap();
    assert_eq!(ch.0.get_str("qop"), Some("auth,auth-int"));
    assert_eq!(ch.0.get_str("algorithm"), Some("SHA-256"));
    let other = Credentials::parse(&b("Basic")).unwrap();
    assert!(!other.0.is_digest());
    assert!(other.0.params.is_empty());
    for bad in [
        "",
        "Digest realm",
        "Digest =x",
        "Dig(est realm=x",
        "Digest re alm=x",
    ] {
        assert_eq!(
            Credentials::parse(&b(bad)),
            Err(ParseError::BadHeader("Authorization")),
            "{bad:?}"
        );
    }
}

#[test]
fn content_type_values() {
    let ct = <ContentType as TypedHeader>::parse(&b("Application/SDP")).unwrap();
    assert!(ct.is_sdp());
    let ct =
        <ContentType as TypedHeader>::parse(&b("text/plain ; charset=\"utf-8\";format=flowed"))
            .unwrap();
    assert_eq!(ct.kind, "text");
    assert_eq!(ct.subtype, "plain");
    assert_eq!(ct.params.value("charset").unwrap(), "utf-8");
    assert!(!ct.is_sdp());
    for bad in [
        "",
        "sdp",
        "application/",
        "/sdp",
        "a/b/c",
        "a b/c",
        "a/b;",
        "text;x=/y",
    ] {
        assert!(
            <ContentType as TypedHeader>::parse(&b(bad)).is_err(),
            "{bad:?}"
        );
    }
}

#[test]
fn scalar_and_token_values() {
    assert_eq!(
        <MaxForwards as TypedHeader>::parse(&b(" 70 ")),
        Ok(MaxForwards(70))
    );
    assert_eq!(
        <Expires as TypedHeader>::parse(&b("4294967295")),
        Ok(Expires(u32::MAX))
    );
    assert!(<Expires as TypedHeader>::parse(&b("4294967296")).is_err());
    assert!(<ContentLength as TypedHeader>::parse(&b("-0")).is_err());
    assert_eq!(
        parse_u32(b"000000000000000000001"),
        None,
        "more than 20 digits"
    );
    assert_eq!(parse_u32(b"00000000000000000001"), Some(1));
    let a = <Allow as TypedHeader>::parse(&b("INVITE, ACK ,BYE")).unwrap();
    assert_eq!(a.0, vec![b("INVITE"), b("ACK"), b("BYE")]);
    assert!(<Supported as TypedHeader>::parse(&b("timer,,100rel")).is_err());
    assert!(<Require as TypedHeader>::parse(&b("a b")).is_err());
    let se = <SessionExpires as TypedHeader>::parse(&b("1800;refresher=uac")).unwrap();
    assert_eq!(se.seconds, 1800);
    assert_eq!(se.params.value("refresher").unwrap(), "uac");
    let r = <Replaces as TypedHeader>::parse(&b("abc@h;to-tag=1;from-tag=2;early-only")).unwrap();
    assert_eq!(
        (
            r.call_id.as_ref(),
            r.to_tag.as_ref(),
            r.from_tag.as_ref(),
            r.early_only
        ),
        (&b"abc@h"[..], &b"1"[..], &b"2"[..], true)
    );
    assert!(<Replaces as TypedHeader>::parse(&b("abc;to-tag=1")).is_err());
}

#[test]
fn header_list_helpers() {
    let v = b("a, \"b,c\" , <sip:x,y>, ,d");
    assert_eq!(
        split_list(&v),
        vec![b("a"), b("\"b,c\""), b("<sip:x,y>"), b(""), b("d")]
    );
    let mut h = Headers::default();
    assert!(h.is_empty());
    h.push(HeaderName::Via, b("v1"));
    h.push(HeaderName::Route, b("r1, r2"));
    h.push(HeaderName::Via, b("v2"));
    h.push_front(HeaderName::Via, b("v0"));
    assert_eq!(h.values(&HeaderName::Via), vec![b("v0"), b("v1"), b("v2")]);
    assert_eq!(h.values(&HeaderName::Route).len(), 2);
    h.set(HeaderName::Via, b("only"));
    assert_eq!(h.values(&HeaderName::Via), vec![b("only")]);
    assert_eq!(h.iter().next().unwrap().name, HeaderName::Via);
    h.set(HeaderName::Subject, b("s"));
    assert_eq!(h.len(), 3);
    h.remove(&HeaderName::Route);
    h.retain(|x| x.name != HeaderName::Subject);
    assert_eq!(h.len(), 1);
}

// -------------------------------------------------------------- envelope

#[test]
fn envelope_faults() {
    let e = |s: String| ok(&s).envelope().unwrap_err();
    assert_eq!(
        e(invite("", "").replace("Call-ID: a84b4c76e66710@pc33.example.com\r\n", "")),
        ParseError::MissingHeader("Call-ID")
    );
    assert_eq!(
        e(invite("", "").replace("Call-ID: a84b4c76e66710@pc33.example.com", "Call-ID:")),
        ParseError::BadHeader("Call-ID")
    );
    assert_eq!(
        e(invite("", "").replace("Call-ID: a84b4c76e66710", "Call-ID: a b")),
        ParseError::BadHeader("Call-ID")
    );
    assert_eq!(
        e(invite("i: again\r\n", "")),
        ParseError::DuplicateHeader("Call-ID")
    );
    assert_eq!(
        e(invite("CSeq: 1 INVITE\r\n", "")),
        ParseError::DuplicateHeader("CSeq")
    );
    assert_eq!(
        e(invite("To: <sip:x@y>\r\n", "")),
        ParseError::DuplicateHeader("To")
    );
    assert_eq!(
        e(invite("", "").replace("To: Bob <sip:bob@example.com>", "To: <sip:a@b>, <sip:c@d>")),
        ParseError::DuplicateHeader("To")
    );
    assert_eq!(
        e(invite("Max-Forwards: 1\r\n", "")),
        ParseError::DuplicateHeader("Max-Forwards")
    );
    let no_via = invite("", "").replace(
        "Via: SIP/2.0/UDP pc33.example.com:5060;branch=z9hG4bK776asdhds;rport\r\n",
        "",
    );
    assert_eq!(e(no_via), ParseError::MissingHeader("Via"));
    assert_eq!(
        e(invite("Via: SIP/2.0/UDP ok;branch=z9hG4bK1, \r\n", "")),
        ParseError::BadHeader("Via")
    );
    assert_eq!(e(invite("Via:\r\n", "")), ParseError::BadHeader("Via"));
    assert_eq!(
        e(invite("", "").replace("314159 INVITE", "1 BYE")),
        ParseError::CSeqMethodMismatch
    );
    let ack = invite("", "").replacen("INVITE sip", "ACK sip", 1);
    assert_eq!(e(ack.clone()), ParseError::CSeqMethodMismatch);
    assert!(ok(&ack.replace("314159 INVITE", "314159 ACK"))
        .envelope()
        .is_ok());
    // Max-Forwards above 255 or non-numeric: treated as absent.
    for v in ["256", "x", "-1"] {
        let m = ok(&invite("", "").replace("Max-Forwards: 70", &format!("Max-Forwards: {v}")));
        assert_eq!(m.envelope().unwrap().max_forwards, None, "{v}");
    }
    let m = ok(&invite("", "").replace("Max-Forwards: 70\r\n", ""));
    assert_eq!(m.envelope().unwrap().max_forwards, None);
    // Responses: no method check.
    let mut r = Message::response(StatusCode::OK, None);
    r.headers = ok(&invite("", "")).headers;
    r.headers.set(HeaderName::CSeq, b("1 BYE"));
    assert!(r.envelope().is_ok());
}

#[test]
fn error_reasons_are_reason_phrases() {
    assert_eq!(
        ParseError::MissingHeader("Call-ID").reason(),
        "Missing Call-ID Header"
    );
    assert_eq!(
        ParseError::DuplicateHeader("To").reason(),
        "Multiple To Values"
    );
    assert_eq!(
        ParseError::BadHeader("CSeq").to_string(),
        "Malformed CSeq Header"
    );
    assert_eq!(ParseError::BadVersion.reason(), "Version Not Supported");
    assert!(!ParseError::reason(&ParseError::BadContentLength).contains('\n'));
}

// ------------------------------------------------------- responses, print

#[test]
fn response_to_copies_the_right_headers() {
    let req = ok(&invite(
        "Via: SIP/2.0/UDP proxy;branch=z9hG4bKp\r\nSubject: x\r\nContent-Type: application/sdp\r\n",
        "v=0\r\n",
    ));
    let r = Message::response_to(&req, StatusCode::RINGING, None, Some("abc"));
    assert_eq!(r.status(), Some(StatusCode::RINGING));
    let StartLine::Response { reason, .. } = &r.start else {
        panic!()
    };
    assert_eq!(reason, "Ringing");
    let names: Vec<&str> = r.headers.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(names, ["Via", "To", "From", "Call-ID", "CSeq", "Via"]);
    assert_eq!(
        r.headers.values(&HeaderName::Via),
        req.headers.values(&HeaderName::Via)
    );
    assert!(r.body.is_empty());
    let env = r.envelope().unwrap();
    assert_eq!(env.to.tag().unwrap(), "abc");
    assert_eq!(env.from, req.envelope().unwrap().from);
    assert_eq!(env.cseq, req.envelope().unwrap().cseq);
    // An existing To tag is kept; a custom reason is used.
    let req2 = ok(&invite("", "").replace(
        "To: Bob <sip:bob@example.com>",
        "To: <sip:bob@example.com>;tag=old",
    ));
    let r = Message::response_to(&req2, StatusCode::OK, Some("Fine"), Some("new"));
    assert_eq!(r.envelope().unwrap().to.tag().unwrap(), "old");
    let StartLine::Response { reason, .. } = &r.start else {
        panic!()
    };
    assert_eq!(reason, "Fine");
    // 100 Trying: no tag.
    let r = Message::response_to(&req, StatusCode::TRYING, None, None);
    assert_eq!(r.envelope().unwrap().to.tag(), None);
}

fn strip_cl(m: &Message) -> Message {
    let mut m = m.clone();
    m.headers.remove(&HeaderName::ContentLength);
    m
}

fn assert_round_trip(s: &str) {
    let m = ok(s);
    let printed = m.to_bytes();
    let again = parse_datagram(printed.clone(), &Limits::default()).unwrap();
    assert_eq!(strip_cl(&m), strip_cl(&again), "{s:?}");
    assert_eq!(
        again
            .headers
            .get(&HeaderName::ContentLength)
            .unwrap()
            .as_ref(),
        m.body.len().to_string().as_bytes()
    );
    assert_eq!(again.to_bytes(), printed);
}

#[test]
fn print_round_trips() {
    assert_round_trip(&invite(
        "Subject: folded\r\n  value\r\nX-Custom: 1\r\nc: application/sdp\r\n",
        "v=0\r\no=- 1 1 IN IP4 h\r\n",
    ));
    assert_round_trip(&format!("{HEAD}\r\nbody without length"));
    assert_round_trip("SIP/2.0 100 \r\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\r\n\r\n");
    assert_round_trip("SIP/2.0 486\r\n\r\n");
    assert_round_trip("OPTIONS tel:+1555;phone-context=x SIP/2.0\r\n\r\n");
    assert_round_trip("OPTIONS urn:x:y SIP/2.0\r\n\r\n");
    assert_round_trip("OPTIONS sip:[::1]:5060;lr SIP/2.0\r\nl: 0\r\n\r\n");
}

#[test]
fn print_builds_from_scratch() {
    let mut m = Message::request(Method::BYE, uri("sip:bob@10.0.0.2:5062").unwrap());
    m.headers
        .push(HeaderName::Via, b("SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKa"));
    m.headers.push(HeaderName::ContentLength, b("999"));
    m.body = b("hi");
    assert_eq!(
        m.to_bytes(),
        "BYE sip:bob@10.0.0.2:5062 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKa\r\nContent-Length: 2\r\n\r\nhi"
    );
    let r = Message::response(StatusCode::new(699).unwrap(), None);
    assert_eq!(
        r.to_bytes(),
        "SIP/2.0 699 Global Failure\r\nContent-Length: 0\r\n\r\n"
    );
    assert_eq!(StatusCode::new(99), None);
    assert_eq!(StatusCode::new(700), None);
    assert!(
        StatusCode::OK.is_success()
            && StatusCode::OK.is_final()
            && StatusCode::TRYING.is_provisional()
    );
}

// ------------------------------------------------------- never panics

macro_rules! vectors {
    ($($name:literal),* $(,)?) => {
        [$(include_bytes!(concat!("../../../tests/vectors/rfc4475/", $name, ".dat")) as &[u8]),*]
    };
}

const VECTORS: [&[u8]; 50] = vectors![
    "badaspec",
    "badbranch",
    "baddate",
    "baddn",
    "badinv01",
    "badvers",
    "bcast",
    "bext01",
    "bigcode",
    "clerr",
    "cparam01",
    "cparam02",
    "dblreq",
    "esc01",
    "esc02",
    "escnull",
    "escruri",
    "insuf",
    "intmeth",
    "inv2543",
    "invut",
    "longreq",
    "ltgtruri",
    "lwsdisp",
    "lwsruri",
    "lwsstart",
    "mcl01",
    "mismatch01",
    "mismatch02",
    "mpart01",
    "multi01",
    "ncl",
    "noreason",
    "novelsc",
    "quotbal",
    "regaut01",
    "regbadct",
    "regescrt",
    "scalar02",
    "scalarlg",
    "sdp01",
    "semiuri",
    "test",
    "transports",
    "trws",
    "unkscm",
    "unksm2",
    "unreason",
    "wsinv",
    "zeromf",
];

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

/// Bytes that steer a parser into its edge cases.
const INTERESTING: &[u8] = b"\r\n\t :;,<>\"\\%@?=[]/0123456789-\0\xff";

/// Everything the layer exposes, run on one input; says whether the
/// datagram parsed and whether it passed `envelope()`.
fn exercise(data: &[u8]) -> (bool, bool) {
    let limits = Limits::default();
    let buf = Bytes::copy_from_slice(data);
    let mut out = (false, false);
    for stream in [false, true] {
        match parse_message(buf.clone(), &limits, stream) {
            Ok(m) => {
                let env = m.envelope();
                if !stream {
                    out = (true, env.is_ok());
                }
                // What we print, we parse back to the same message.
                let printed = m.to_bytes();
                if printed.len() <= limits.max_message {
                    let again =
                        parse_datagram(printed, &limits).unwrap_or_else(|e| panic!("{e:?}: {m:?}"));
                    assert_eq!(strip_cl(&again), strip_cl(&m));
                    assert_eq!(again.envelope().is_ok(), env.is_ok());
                }
                for h in m.headers.iter() {
                    let _ = parse_any(h);
                    let _ = ContactList::parse(&h.value);
                    let _ = <ContentType as TypedHeader>::parse(&h.value);
                    let _ = <Require as TypedHeader>::parse(&h.value);
                    let _ = <Expires as TypedHeader>::parse(&h.value);
                }
                if let Some(u) = m.uri() {
                    let _ = u.user_unescaped();
                    let _ = u.host.ip();
                }
                let _ = Message::response_to(&m, StatusCode::OK, None, Some("t"));
            }
            Err(e) => {
                let _ = e.error.reason();
            }
        }
    }
    let _ = frame_stream(data, &limits);
    let _ = Uri::parse(&buf);
    out
}

#[test]
fn mutated_vectors_never_panic() {
    // SB_MUTATIONS / SB_SEED widen the search locally; CI runs the default.
    let env = |k: &str, d: u64| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let mut rng = Rng(env("SB_SEED", 0x5eed_0f5_1117_c4b).max(1));
    let mut data = Vec::with_capacity(70_000);
    let (mut parsed, mut enveloped) = (0, 0);
    for i in 0..env("SB_MUTATIONS", 20_000) as usize {
        let base = VECTORS[i % VECTORS.len()];
        data.clear();
        data.extend_from_slice(base);
        for _ in 0..1 + rng.below(8) {
            let pos = rng.below(data.len() + 1);
            let byte = if rng.below(2) == 0 {
                INTERESTING[rng.below(INTERESTING.len())]
            } else {
                rng.next() as u8
            };
            match rng.below(6) {
                0 | 1 if pos < data.len() => data[pos] = byte,
                2 if pos < data.len() => data[pos] ^= 1 << rng.below(8),
                3 if pos < data.len() => {
                    let n = rng.below(16).min(data.len() - pos);
                    data.drain(pos..pos + n);
                }
                4 => {
                    // Duplicate a slice (repeats headers, digits, separators).
                    let len = rng.below(64).min(data.len().saturating_sub(pos));
                    let chunk = data[pos..pos + len].to_vec();
                    data.splice(pos..pos, chunk);
                }
                _ => data.insert(pos.min(data.len()), byte),
            }
        }
        // Truncations test the Incomplete paths too.
        let cut = if rng.below(4) == 0 {
            rng.below(data.len() + 1)
        } else {
            data.len()
        };
        let (p, e) = exercise(&data[..cut]);
        parsed += usize::from(p);
        enveloped += usize::from(e);
    }
    // The loop must reach past the framer, not only bounce off it.
    assert!(
        parsed > 2_000 && enveloped > 1_000,
        "parsed {parsed}, enveloped {enveloped}"
    );
}

#[test]
fn edge_inputs_never_panic() {
    let mut inputs: Vec<Vec<u8>> = vec![
        vec![],
        b"\r".to_vec(),
        b"\n".to_vec(),
        b"\r\n\r\n".to_vec(),
        b"SIP/".to_vec(),
        b"SIP/2.0 200".to_vec(),
        b"A B C\n\n".to_vec(),
        b"A B SIP/2.0\n \n".to_vec(),
        b"A sip:[ SIP/2.0\r\n\r\n".to_vec(),
        b"A sip:a@[::1 SIP/2.0\r\n\r\n".to_vec(),
        b"A sip:a@b:99999999999999999999 SIP/2.0\r\n\r\n".to_vec(),
        b"A s:\xff SIP/2.0\r\nVia: SIP/2.0/UDP [\r\n\r\n".to_vec(),
        b"A sip:a SIP/2.0\r\nContent-Length: 18446744073709551616\r\n\r\n".to_vec(),
        b"A sip:a SIP/2.0\r\nFrom: \"\\\r\nTo: <\r\nContact: \"\\\"\r\nVia: SIP/2.0/UDP h;x=\"\\\r\n\r\n".to_vec(),
    ];
    inputs.push(vec![b'\n'; 70_000]);
    inputs.push([b"INVITE sip:a SIP/2.0\r\n".as_slice(), &vec![b' '; 70_000]].concat());
    inputs.push(
        [
            b"INVITE sip:a SIP/2.0\r\nX: ".as_slice(),
            &b"\r\n x".repeat(5000),
        ]
        .concat(),
    );
    for i in inputs {
        exercise(&i);
    }
}
