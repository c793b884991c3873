//! URIs (RFC 3261 §19.1, RFC 3966), parameters (§19.1.1) and the typed
//! headers of §20.

use super::*;

// ------------------------------------------------------------------ URIs

#[test]
fn sip_uri_parts() {
    let u = uri("sip:alice:secret@Example.COM:5070;transport=tcp;lr;maddr=10.0.0.1?subject=hi&x=y").unwrap();
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
    assert_eq!(uri("sip:[::1]").unwrap().host.ip(), Some("::1".parse().unwrap()));
    assert!(uri("sip:[2001:db8::g]").is_none());
    assert!(uri("sip:[2001:db8::1").is_none());
    assert!(uri("sip:[]").is_none());
    assert_eq!(Host::from_ip("::1".parse().unwrap()).as_str(), "[::1]");
    assert_eq!(Host::from_ip("10.0.0.1".parse().unwrap()).as_str(), "10.0.0.1");
    assert_eq!(Host(b("example.com")).ip(), None);
}

/// RFC 5118 §4.10: the extra colon RFC 3261's ABNF allows before an
/// embedded IPv4 address is tolerated, kept as text; nothing else that is
/// not an RFC 4291 address gets in with it.
#[test]
fn ipv6_reference_with_the_rfc3261_abnf_extra_colon() {
    let u = uri("sip:user@[2001:db8:::192.0.2.1]").unwrap();
    assert_eq!(u.host.as_str(), "[2001:db8:::192.0.2.1]");
    assert_eq!(u.host.ip(), None, "kept as text, not read as an address");
    assert_eq!(u.to_string(), "sip:user@[2001:db8:::192.0.2.1]");
    let u = uri("sip:[:::192.0.2.1]:5070;transport=tcp").unwrap();
    assert_eq!(u.host.as_str(), "[:::192.0.2.1]");
    assert_eq!(u.port, Some(5070));
    assert_eq!(
        uri("sip:user@[2001:db8::192.0.2.1]").unwrap().host.ip(),
        Some("2001:db8::c000:201".parse().unwrap())
    );
    for bad in [
        "sip:[2001:db8:::1]",              // no embedded IPv4 address
        "sip:[2001:db8:::192.0.2]",        // not an IPv4 address
        "sip:[2001:db8::::192.0.2.1]",     // four colons
        "sip:[2001:db8::1:::192.0.2.1]",   // two `::` once the colon is dropped
        "sip:[2001::db8:::192.0.2.1]",     // likewise
        "sip:[20011:db8:::192.0.2.1]",     // a five-digit group
        "sip:[1:2:3:4:5:6:7:::192.0.2.1]", // nine groups
        "sip:[2001:db8:::192.0.2.1:5060]",
        "sip:2001:db8:::192.0.2.1", // not bracketed
    ] {
        assert!(uri(bad).is_none(), "{bad}");
    }
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
    let v = Via::parse(&b("sip / 2.0 / udp [2001:db8::9] : 5060 ; rport ; branch=abc")).unwrap();
    assert_eq!(v.transport, Transport::Udp);
    assert!(!v.transport.is_reliable());
    assert_eq!(v.host.ip(), Some("2001:db8::9".parse().unwrap()));
    assert_eq!(v.port, Some(5060));
    assert_eq!(v.rport(), Some(None));
    assert!(!v.has_rfc3261_branch());
    assert_eq!(Via::parse(&b("SIP/2.0/WSS h")).unwrap().transport, Transport::Wss);
    assert_eq!(Via::parse(&b("SIP/2.0/xyz h")).unwrap().transport.as_str(), "xyz");
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
        assert_eq!(Via::parse(&b(bad)), Err(ParseError::BadHeader("Via")), "{bad:?}");
    }
    let v = Via::new(
        Transport::Udp,
        Host::from_ip("::1".parse().unwrap()),
        Some(5060),
        "z9hG4bKabc",
    );
    assert_eq!(v.to_bytes(), "SIP/2.0/UDP [::1]:5060;branch=z9hG4bKabc;rport");
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
    assert_eq!(CSeq::parse(&b(" 2147483647 \t BYE ")).unwrap().seq, (1 << 31) - 1);
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
        assert_eq!(CSeq::parse(&b(bad)), Err(ParseError::BadHeader("CSeq")), "{bad:?}");
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
    assert_eq!(NameAddr::new(uri("sip:x@y").unwrap()).to_bytes(), "<sip:x@y>");
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
    assert_eq!(ContactList::parse(&b("")), Err(ParseError::BadHeader("Contact")));
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
    for bad in ["", "Digest realm", "Digest =x", "Dig(est realm=x", "Digest re alm=x"] {
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
    let ct = <ContentType as TypedHeader>::parse(&b("text/plain ; charset=\"utf-8\";format=flowed")).unwrap();
    assert_eq!(ct.kind, "text");
    assert_eq!(ct.subtype, "plain");
    assert_eq!(ct.params.value("charset").unwrap(), "utf-8");
    assert!(!ct.is_sdp());
    for bad in ["", "sdp", "application/", "/sdp", "a/b/c", "a b/c", "a/b;", "text;x=/y"] {
        assert!(<ContentType as TypedHeader>::parse(&b(bad)).is_err(), "{bad:?}");
    }
}

#[test]
fn scalar_and_token_values() {
    assert_eq!(<MaxForwards as TypedHeader>::parse(&b(" 70 ")), Ok(MaxForwards(70)));
    assert_eq!(<Expires as TypedHeader>::parse(&b("4294967295")), Ok(Expires(u32::MAX)));
    assert!(<Expires as TypedHeader>::parse(&b("4294967296")).is_err());
    assert!(<ContentLength as TypedHeader>::parse(&b("-0")).is_err());
    assert_eq!(parse_u32(b"000000000000000000001"), None, "more than 20 digits");
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
        (r.call_id.as_ref(), r.to_tag.as_ref(), r.from_tag.as_ref(), r.early_only),
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

// ------------------------------------------- Route, Record-Route, Refer-To

/// §20.30, §20.34: one line may carry several comma-separated routes, each
/// a name-addr with its own parameters; order is kept.
#[test]
fn route_and_record_route_lists() {
    use crate::sip::msg::typed::{RecordRoute, Route, TypedHeader};
    let v = Bytes::from_static(b"<sip:p1.example.com;lr>, \"Proxy 2\" <sip:p2.example.com;lr>;x=1");
    let Route(list) = Route::parse(&v).expect("route");
    assert_eq!(list.len(), 2);
    assert_eq!(list[0].uri.host.as_str(), "p1.example.com");
    assert!(list[0].uri.params.has("lr"));
    assert_eq!(list[1].params.value("x").as_deref(), Some(&b"1"[..]));
    let RecordRoute(rr) = RecordRoute::parse(&v).expect("record-route");
    assert_eq!(rr, list);
    assert!(Route::parse(&Bytes::from_static(b"<sip:ok;lr>, <not a uri")).is_err());
}

/// RFC 3515 §2.1 Refer-To (with an embedded Replaces, RFC 3891 §3) and
/// §20.8 Call-ID.
#[test]
fn refer_to_and_call_id() {
    use crate::sip::msg::typed::{CallId, ReferTo, TypedHeader};
    let v = Bytes::from_static(b"<sip:1002@example.com?Replaces=abc%40h%3Bto-tag%3D1%3Bfrom-tag%3D2>");
    let ReferTo(na) = ReferTo::parse(&v).expect("refer-to");
    assert_eq!(na.uri.user.as_deref(), Some(&b"1002"[..]));
    assert!(na.uri.headers.as_deref().unwrap_or_default().starts_with(b"Replaces="));
    assert_eq!(
        CallId::parse(&Bytes::from_static(b" a84b4c76e66710@pc33 "))
            .expect("call-id")
            .0,
        "a84b4c76e66710@pc33"
    );
    assert!(CallId::parse(&Bytes::from_static(b"two words")).is_err());
    assert!(CallId::parse(&Bytes::from_static(b"   ")).is_err());
}
