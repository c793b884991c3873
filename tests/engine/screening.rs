//! Validation and screening before any routing (RFC 3261 §8.2, §21.4;
//! RFC 4475 §3.1.2, §3.3).

use crate::sim::*;
use switchboard::sip::msg::HeaderName;

/// A raw request from `ua` to the internal profile, `headers` between the
/// Via and the end of the header section (written by the test).
fn raw(h: &mut Harness, ua: &Ua, text: &str) {
    h.inject(ua.server, ua.addr, text.replace('\n', "\r\n"));
}

fn phone() -> Ua {
    Ua::phone("1000", "192.0.2.10")
}

/// RFC 3261 §8.2 / §21.4.1: a request missing a mandatory header gets 400
/// whose reason phrase names the fault, sent to the Via (§18.2.2).
#[test]
fn missing_call_id_gets_400_naming_the_header() {
    let mut h = Harness::new();
    let ua = phone();
    raw(
        &mut h,
        &ua,
        "OPTIONS sip:1001@127.0.0.1 SIP/2.0\n\
         Via: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bKnocid\n\
         Max-Forwards: 70\n\
         From: <sip:1000@127.0.0.1>;tag=a\n\
         To: <sip:1001@127.0.0.1>\n\
         CSeq: 1 OPTIONS\n\
         Content-Length: 0\n\n",
    );
    let resp = h.expect_response(ua.addr, 400);
    assert_eq!(reason(&resp), "Missing Call-ID Header");
    assert_eq!(h.engine.stats().malformed, 1);
}

/// §8.2 / RFC 4475 §3.1.2: a CSeq that does not parse gets 400 naming CSeq.
#[test]
fn malformed_cseq_gets_400_naming_the_header() {
    let mut h = Harness::new();
    let ua = phone();
    raw(
        &mut h,
        &ua,
        "OPTIONS sip:1001@127.0.0.1 SIP/2.0\n\
         Via: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bKbadcseq\n\
         Max-Forwards: 70\n\
         From: <sip:1000@127.0.0.1>;tag=a\n\
         To: <sip:1001@127.0.0.1>\n\
         Call-ID: badcseq@192.0.2.10\n\
         CSeq: abc OPTIONS\n\
         Content-Length: 0\n\n",
    );
    let resp = h.expect_response(ua.addr, 400);
    assert!(reason(&resp).contains("CSeq"), "reason: {}", reason(&resp));
    assert_eq!(call_id(&resp), "badcseq@192.0.2.10");
}

/// §8.1.1.7 / RFC 4475: a CSeq method that differs from the request method.
#[test]
fn cseq_method_mismatch_gets_400() {
    let mut h = Harness::new();
    let ua = phone();
    raw(
        &mut h,
        &ua,
        "OPTIONS sip:1001@127.0.0.1 SIP/2.0\n\
         Via: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bKmism\n\
         Max-Forwards: 70\n\
         From: <sip:1000@127.0.0.1>;tag=a\n\
         To: <sip:1001@127.0.0.1>\n\
         Call-ID: mism@192.0.2.10\n\
         CSeq: 1 INVITE\n\
         Content-Length: 0\n\n",
    );
    let resp = h.expect_response(ua.addr, 400);
    assert_eq!(reason(&resp), "CSeq Method Mismatch");
}

/// RFC 3261 §8.2.2 (last para) / RFC 4475 §3.1.2.15 `badvers`: SIP/7.0 gets 505.
#[test]
fn bad_sip_version_gets_505() {
    let mut h = Harness::new();
    let ua = phone();
    raw(
        &mut h,
        &ua,
        "OPTIONS sip:1001@127.0.0.1 SIP/7.0\n\
         Via: SIP/7.0/UDP 192.0.2.10:5062;branch=z9hG4bKvers\n\
         Max-Forwards: 70\n\
         From: <sip:1000@127.0.0.1>;tag=a\n\
         To: <sip:1001@127.0.0.1>\n\
         Call-ID: vers@192.0.2.10\n\
         CSeq: 1 OPTIONS\n\
         Content-Length: 0\n\n",
    );
    let got = h.take(ua.addr);
    assert_eq!(
        got.len(),
        1,
        "exactly one answer: {:?}",
        got.iter().map(first_line).collect::<Vec<_>>()
    );
    assert_eq!(got[0].status().unwrap().as_u16(), 505);
}

/// RFC 3261 §8.2.1: an unknown method gets 501 with Allow.
#[test]
fn unknown_method_gets_501_with_allow() {
    let mut h = Harness::new();
    let mut ua = phone();
    let r = ua.req("FROBNICATE", "sip:1001@127.0.0.1").text();
    h.send(&ua, &r);
    let resp = h.expect_response(ua.addr, 501);
    let allow = header_str(&resp, &HeaderName::Allow);
    for m in ["INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "REGISTER"] {
        assert!(allow.contains(m), "Allow lacks {m}: {allow}");
    }
}

/// RFC 3261 §8.2.2.1 / RFC 4475 §3.3.3 `unksm2`: an unknown Request-URI
/// scheme gets 416.
#[test]
fn unknown_uri_scheme_gets_416() {
    let mut h = Harness::new();
    let mut ua = phone();
    let r = ua
        .req("OPTIONS", "nobodyknowsthisscheme:totallyopaquecontent")
        .to("<sip:1001@127.0.0.1>")
        .text();
    h.send(&ua, &r);
    let resp = h.expect_response(ua.addr, 416);
    assert!(reason(&resp).contains("nobodyknowsthisscheme"), "{}", reason(&resp));
}

/// RFC 3261 §8.2.2.3: an unsupported Require gets 420 listing it in Unsupported.
#[test]
fn require_unknown_extension_gets_420_with_unsupported() {
    let mut h = Harness::new();
    let mut ua = phone();
    let r = ua.req("OPTIONS", "sip:1001@127.0.0.1").header("Require", "foo").text();
    h.send(&ua, &r);
    let resp = h.expect_response(ua.addr, 420);
    assert_eq!(header_str(&resp, &HeaderName::Unsupported).trim(), "foo");
}

/// RFC 3261 §8.2.3: an INVITE whose body type we do not understand gets
/// 415 with Accept (before authentication is even attempted).
#[test]
fn invite_with_unknown_body_type_gets_415() {
    let mut h = Harness::new();
    let mut ua = phone();
    let r = ua
        .req("INVITE", "sip:1001@127.0.0.1")
        .body("application/x-unknown", "hello")
        .text();
    h.send(&ua, &r);
    let resp = h.expect_response(ua.addr, 415);
    assert!(header_str(&resp, &HeaderName::Accept).contains("application/sdp"));
    assert_eq!(h.count(ua.addr, |_| true), 0);
}

/// RFC 3261 §18.1.2: malformed responses are silently discarded, not
/// answered (and nothing else is emitted).
#[test]
fn malformed_responses_produce_no_output() {
    let mut h = Harness::new();
    let ua = phone();
    // Missing Call-ID.
    raw(
        &mut h,
        &ua,
        "SIP/2.0 200 OK\n\
         Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKnothing\n\
         From: <sip:1000@127.0.0.1>;tag=a\n\
         To: <sip:1001@127.0.0.1>;tag=b\n\
         CSeq: 1 INVITE\n\
         Content-Length: 0\n\n",
    );
    // Bad status code.
    raw(
        &mut h,
        &ua,
        "SIP/2.0 99999 Weird\n\
         Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKnothing\n\
         From: <sip:1000@127.0.0.1>;tag=a\n\
         To: <sip:1001@127.0.0.1>;tag=b\n\
         Call-ID: x@y\n\
         CSeq: 1 INVITE\n\
         Content-Length: 0\n\n",
    );
    // Garbage.
    h.inject(ua.server, ua.addr, "\u{1}\u{2}garbage\r\n\r\n".to_string());
    assert!(
        h.wire.is_empty(),
        "unexpected output: {:?}",
        h.wire.iter().map(|s| first_line(&s.msg)).collect::<Vec<_>>()
    );
    assert!(h.cdrs.is_empty() && h.saved.is_empty());
}

/// RFC 3261 §16.3 step 3 / §8.2 (B2BUA acts as UAS): Max-Forwards 0 on an
/// INVITE gets 483 Too Many Hops.
#[test]
fn invite_with_max_forwards_zero_gets_483() {
    let mut h = Harness::new();
    let mut ua = Ua::trunk("127.0.0.1:5090");
    let r = ua
        .req("INVITE", "sip:1001@127.0.0.1:5080")
        .max_forwards(Some(0))
        .sdp()
        .text();
    h.send(&ua, &r);
    h.expect_response(ua.addr, 483);
}

/// RFC 3581 §4: a request with a bare `rport` is answered to the source
/// port, and the response's Via carries `received` and `rport` values.
#[test]
fn response_goes_to_rport_with_received() {
    let mut h = Harness::new();
    let mut ua = phone();
    // The Via claims a different port than the packet's source.
    let mut r = ua.req("OPTIONS", "sip:1001@127.0.0.1");
    r.via_host = "10.1.1.1:5070".into();
    h.send(&ua, &r.text());
    let resp = h.expect_response(ua.addr, 200);
    let via = header_str(&resp, &HeaderName::Via);
    assert!(via.contains("received=192.0.2.10"), "{via}");
    assert!(via.contains("rport=5062"), "{via}");
}

/// RFC 3261 §18.3 / RFC 4475 §3.3.9 `mcl01` over TCP: the head of a stream
/// message whose Content-Length cannot be trusted is answered on its
/// connection with a 400 naming the fault (the driver then closes it); an
/// unframeable response or ACK gets nothing.
#[test]
fn unframeable_stream_request_gets_400_on_its_connection() {
    use switchboard::engine::Input;
    use switchboard::sip::msg::{ParseError, StatusCode};
    use switchboard::sip::transaction::TransportKind;
    let mut h = Harness::new();
    let ua = phone();
    let head = |text: &str| bytes::Bytes::from(text.replace('\n', "\r\n"));
    let unframeable = |head, error| Input::Unframeable {
        local: ua.server,
        peer: ua.addr,
        transport: TransportKind::Tcp,
        head,
        error,
    };
    h.input(unframeable(
        head(
            "OPTIONS sip:1001@127.0.0.1 SIP/2.0\n\
             Via: SIP/2.0/TCP 192.0.2.10:5062;branch=z9hG4bKmcl\n\
             Max-Forwards: 70\n\
             From: <sip:1000@127.0.0.1>;tag=a\n\
             To: <sip:1001@127.0.0.1>\n\
             Call-ID: mcl@192.0.2.10\n\
             CSeq: 1 OPTIONS\n\
             Content-Length: 13\n\
             Content-Length: 5\n\n",
        ),
        ParseError::DuplicateHeader("Content-Length"),
    ));
    let sent = h.take_sent(ua.addr);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].local, ua.server, "answered on the connection it came on");
    assert_eq!(sent[0].msg.status(), Some(StatusCode::BAD_REQUEST));
    assert_eq!(reason(&sent[0].msg), "Multiple Content-Length Values");
    assert_eq!(call_id(&sent[0].msg), "mcl@192.0.2.10");
    assert_eq!(h.engine.stats().malformed, 1);
    // A response, and an ACK, that cannot be framed: dropped.
    h.input(unframeable(
        head(
            "SIP/2.0 200 OK\n\
             Via: SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bKnothing\n\
             Content-Length: -1\n\n",
        ),
        ParseError::BadContentLength,
    ));
    h.input(unframeable(
        head(
            "ACK sip:1001@127.0.0.1 SIP/2.0\n\
             Via: SIP/2.0/TCP 192.0.2.10:5062;branch=z9hG4bKack\n\
             Content-Length: -1\n\n",
        ),
        ParseError::BadContentLength,
    ));
    assert!(
        h.wire.is_empty(),
        "{:?}",
        h.wire.iter().map(|s| first_line(&s.msg)).collect::<Vec<_>>()
    );
}
