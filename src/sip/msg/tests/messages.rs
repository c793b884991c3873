//! Envelope validation (§8.1.1), responses (§8.2.6) and printing (§7).

use super::*;

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
    assert_eq!(e(invite("i: again\r\n", "")), ParseError::DuplicateHeader("Call-ID"));
    assert_eq!(e(invite("CSeq: 1 INVITE\r\n", "")), ParseError::DuplicateHeader("CSeq"));
    assert_eq!(e(invite("To: <sip:x@y>\r\n", "")), ParseError::DuplicateHeader("To"));
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
    assert!(ok(&ack.replace("314159 INVITE", "314159 ACK")).envelope().is_ok());
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
    assert_eq!(ParseError::MissingHeader("Call-ID").reason(), "Missing Call-ID Header");
    assert_eq!(ParseError::DuplicateHeader("To").reason(), "Multiple To Values");
    assert_eq!(ParseError::BadHeader("CSeq").to_string(), "Malformed CSeq Header");
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
    assert_eq!(r.headers.values(&HeaderName::Via), req.headers.values(&HeaderName::Via));
    assert!(r.body.is_empty());
    let env = r.envelope().unwrap();
    assert_eq!(env.to.tag().unwrap(), "abc");
    assert_eq!(env.from, req.envelope().unwrap().from);
    assert_eq!(env.cseq, req.envelope().unwrap().cseq);
    // An existing To tag is kept; a custom reason is used.
    let req2 = ok(&invite("", "").replace("To: Bob <sip:bob@example.com>", "To: <sip:bob@example.com>;tag=old"));
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

fn assert_round_trip(s: &str) {
    let m = ok(s);
    let printed = m.to_bytes();
    let again = parse_datagram(printed.clone(), &Limits::default()).unwrap();
    assert_eq!(strip_cl(&m), strip_cl(&again), "{s:?}");
    assert_eq!(
        again.headers.get(&HeaderName::ContentLength).unwrap().as_ref(),
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
    assert_eq!(r.to_bytes(), "SIP/2.0 699 Global Failure\r\nContent-Length: 0\r\n\r\n");
    assert_eq!(StatusCode::new(99), None);
    assert_eq!(StatusCode::new(700), None);
    assert!(StatusCode::OK.is_success() && StatusCode::OK.is_final() && StatusCode::TRYING.is_provisional());
}
