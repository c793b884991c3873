//! Registrar tests: every §10.3 rule, plus RFC 4475 cparam01, cparam02 and
//! regescrt fed through the parser and the registrar.

use super::*;
use crate::sip::msg::{parse_datagram, Limits};

const T0: u64 = 1_700_000_000;
const AOR: &str = "sip:alice@example.com";

fn cfg() -> RegistrarConfig {
    RegistrarConfig {
        min_expires: 60,
        max_expires: 7200,
        default_expires: 3600,
    }
}

fn src() -> SocketAddr {
    "198.51.100.7:40000".parse().unwrap()
}

fn register(call_id: &str, cseq: u32, contacts: &[&str], expires: Option<&str>) -> Message {
    let mut text = format!(
        "REGISTER sip:example.com SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bK{cseq}\r\n\
         From: <{AOR}>;tag=f1\r\nTo: <{AOR}>\r\nCall-ID: {call_id}\r\nCSeq: {cseq} REGISTER\r\nMax-Forwards: 70\r\n"
    );
    for c in contacts {
        text.push_str(&format!("Contact: {c}\r\n"));
    }
    if let Some(e) = expires {
        text.push_str(&format!("Expires: {e}\r\n"));
    }
    text.push_str("Content-Length: 0\r\n\r\n");
    parse_datagram(Bytes::from(text), &Limits::default()).unwrap()
}

fn handle(r: &mut Registrar, now: u64, m: &Message) -> RegisterOutcome {
    r.handle_register(now, AOR, m, src(), Transport::Udp).unwrap()
}

fn code(o: &RegisterOutcome) -> u16 {
    o.response.status().unwrap().as_u16()
}

fn contacts(o: &RegisterOutcome) -> Vec<String> {
    o.response
        .headers
        .get_all(&HeaderName::Contact)
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .collect()
}

#[test]
fn register_adds_binding_and_lists_it_with_expires() {
    let mut r = Registrar::new(cfg());
    let o = handle(&mut r, T0, &register("c1", 1, &["<sip:alice@10.0.0.2:5060>"], None));
    assert_eq!(code(&o), 200);
    assert_eq!(contacts(&o), vec!["<sip:alice@10.0.0.2:5060>;expires=3600"]);
    let env = o.response.envelope().unwrap();
    assert!(env.to.tag().is_some(), "§8.2.6.2 To tag");
    let [BindingChange::Added(b)] = &o.changes[..] else {
        panic!("{:?}", o.changes)
    };
    assert_eq!(b.expires_at, T0 + 3600);
    assert_eq!(
        (b.source, b.transport.clone(), b.cseq, b.q),
        (src(), Transport::Udp, 1, 1000)
    );
    assert_eq!(&b.call_id[..], b"c1");
    // A retransmission gets the same To tag.
    let again = r
        .handle_register(T0, AOR, &register("c1", 1, &[], None), src(), Transport::Udp)
        .unwrap();
    let tag = |m: &Message| m.envelope().unwrap().to.tag();
    assert_eq!(tag(&again.response), tag(&o.response));
}

#[test]
fn expiry_precedence_default_and_clamp() {
    let mut r = Registrar::new(cfg());
    let m = register(
        "c1",
        1,
        &["<sip:a@h1>;expires=120", "<sip:a@h2>", "<sip:a@h3>;expires=99999"],
        Some("300"),
    );
    let o = handle(&mut r, T0, &m);
    assert_eq!(
        contacts(&o),
        vec![
            "<sip:a@h1>;expires=120",
            "<sip:a@h2>;expires=300",
            "<sip:a@h3>;expires=7200"
        ]
    );
    // Malformed Expires header → default (§20.19 says treat as 3600).
    let o = handle(&mut r, T0, &register("c1", 2, &["<sip:a@h4>"], Some("soon")));
    assert!(contacts(&o).contains(&"<sip:a@h4>;expires=3600".to_owned()));
}

#[test]
fn too_brief_gets_423_with_min_expires_and_changes_nothing() {
    let mut r = Registrar::new(cfg());
    let o = handle(
        &mut r,
        T0,
        &register("c1", 1, &["<sip:a@h1>", "<sip:a@h2>;expires=30"], None),
    );
    assert_eq!(code(&o), 423);
    assert_eq!(
        o.response.headers.get(&HeaderName::MinExpires).map(|v| &v[..]),
        Some(&b"60"[..])
    );
    assert!(o.changes.is_empty());
    assert!(r.lookup(T0, AOR).is_empty(), "atomic: h1 not added either");
    // Expires: 0 is not "too brief".
    assert_eq!(
        code(&handle(&mut r, T0, &register("c1", 2, &["<sip:a@h1>"], Some("0")))),
        200
    );
}

#[test]
fn several_contacts_fetch_and_remove() {
    let mut r = Registrar::new(cfg());
    handle(&mut r, T0, &register("c1", 1, &["<sip:a@h1>", "<sip:a@h2>"], None));
    handle(&mut r, T0 + 10, &register("c2", 1, &["<sip:a@h3>;q=0.5"], None));
    // Fetch: no Contact → all current bindings, nothing changes.
    let f = handle(&mut r, T0 + 100, &register("c9", 1, &[], None));
    assert_eq!(code(&f), 200);
    assert!(f.changes.is_empty());
    assert_eq!(
        contacts(&f),
        vec![
            "<sip:a@h1>;expires=3500",
            "<sip:a@h2>;expires=3500",
            "<sip:a@h3>;q=0.5;expires=3510"
        ]
    );
    // expires=0 removes one binding.
    let o = handle(&mut r, T0 + 100, &register("c1", 2, &["<sip:a@h2>;expires=0"], None));
    assert_eq!(contacts(&o).len(), 2);
    let [BindingChange::Removed(b)] = &o.changes[..] else {
        panic!("{:?}", o.changes)
    };
    assert_eq!(&b.key()[..], b"sip:a@h2");
    // Removing an unknown contact is a no-op that still succeeds.
    let o = handle(&mut r, T0 + 100, &register("c1", 3, &["<sip:a@nowhere>"], Some("0")));
    assert_eq!((code(&o), o.changes.len()), (200, 0));
}

#[test]
fn wildcard_rules() {
    let mut r = Registrar::new(cfg());
    handle(&mut r, T0, &register("c1", 5, &["<sip:a@h1>"], None));
    handle(&mut r, T0, &register("c2", 1, &["<sip:a@h2>"], None));
    for (contacts_, exp) in [
        (&["*"][..], Some("60")),
        (&["*"][..], None),
        (&["*", "<sip:a@h3>"][..], Some("0")),
    ] {
        let o = handle(&mut r, T0, &register("c3", 1, contacts_, exp));
        assert_eq!(code(&o), 400, "{contacts_:?} {exp:?}");
        assert!(o.changes.is_empty());
    }
    // Same Call-ID as a binding with a CSeq not higher → fails, nothing removed.
    let o = handle(&mut r, T0, &register("c1", 5, &["*"], Some("0")));
    assert_eq!(code(&o), 400);
    assert_eq!(r.lookup(T0, AOR).len(), 2);
    let o = handle(&mut r, T0, &register("c1", 6, &["*"], Some("0")));
    assert_eq!(code(&o), 200);
    assert!(contacts(&o).is_empty());
    assert_eq!(
        o.changes
            .iter()
            .filter(|c| matches!(c, BindingChange::Removed(_)))
            .count(),
        2
    );
    assert!(r.lookup(T0, AOR).is_empty());
    assert!(r.is_empty());
}

#[test]
fn call_id_and_cseq_ordering() {
    let mut r = Registrar::new(cfg());
    handle(&mut r, T0, &register("c1", 10, &["<sip:a@h1>"], None));
    for cseq in [9, 10] {
        let o = handle(&mut r, T0 + 5, &register("c1", cseq, &["<sip:a@h1>"], Some("600")));
        assert_eq!(code(&o), 400, "CSeq {cseq}");
        assert!(o.changes.is_empty());
    }
    assert_eq!(r.lookup(T0, AOR)[0].expires_at, T0 + 3600, "not updated");
    let o = handle(&mut r, T0 + 5, &register("c1", 11, &["<sip:a@h1>"], Some("600")));
    let [BindingChange::Refreshed(b)] = &o.changes[..] else {
        panic!("{:?}", o.changes)
    };
    assert_eq!((b.expires_at, b.cseq), (T0 + 605, 11));
    // A different Call-ID (e.g. the UA rebooted) replaces, whatever the CSeq.
    let o = handle(&mut r, T0 + 6, &register("c2", 1, &["<sip:a@h1>"], None));
    let [BindingChange::Refreshed(b)] = &o.changes[..] else {
        panic!("{:?}", o.changes)
    };
    assert_eq!((&b.call_id[..], b.cseq), (&b"c2"[..], 1));
}

#[test]
fn equivalent_uri_refreshes_the_same_binding() {
    let mut r = Registrar::new(cfg());
    handle(
        &mut r,
        T0,
        &register("c1", 1, &["<sip:a@Host.Example;transport=TCP>"], None),
    );
    let o = handle(
        &mut r,
        T0,
        &register("c1", 2, &["<sip:a@host.example;transport=tcp;x=1>"], None),
    );
    assert_eq!(contacts(&o).len(), 1);
    // The printed key changed, so the store sees delete + insert.
    assert!(
        matches!(&o.changes[..], [BindingChange::Removed(_), BindingChange::Added(_)]),
        "{:?}",
        o.changes
    );
    // The same contact twice in one request is one binding, not a CSeq clash.
    let o = handle(
        &mut r,
        T0,
        &register("c1", 3, &["<sip:a@h9>", "<sip:a@h9>;expires=100"], None),
    );
    assert_eq!(code(&o), 200);
    assert!(contacts(&o).contains(&"<sip:a@h9>;expires=100".to_owned()));
}

#[test]
fn q_source_transport_and_lookup_order() {
    let mut r = Registrar::new(cfg());
    let tcp: SocketAddr = "[2001:db8::1]:5061".parse().unwrap();
    r.handle_register(
        T0,
        AOR,
        &register("c1", 1, &["<sip:a@h1>;q=0.1"], None),
        src(),
        Transport::Udp,
    )
    .unwrap();
    r.handle_register(
        T0,
        AOR,
        &register("c2", 1, &["<sip:a@h2>;q=1.0"], None),
        tcp,
        Transport::Tcp,
    )
    .unwrap();
    r.handle_register(
        T0,
        AOR,
        &register("c3", 1, &["<sip:a@h3>"], None),
        src(),
        Transport::Udp,
    )
    .unwrap();
    let l = r.lookup(T0, AOR);
    let keys: Vec<_> = l
        .iter()
        .map(|b| (String::from_utf8_lossy(&b.key()).into_owned(), b.q))
        .collect();
    assert_eq!(
        keys,
        vec![
            ("sip:a@h2".into(), 1000),
            ("sip:a@h3".into(), 1000),
            ("sip:a@h1".into(), 100)
        ]
    );
    assert_eq!((l[0].source, l[0].transport.clone()), (tcp, Transport::Tcp));
    assert!(r.lookup(T0, "sip:bob@example.com").is_empty());
    assert_eq!(parse_q(b"0.123"), Some(123));
    assert_eq!(parse_q(b"1"), Some(1000));
    assert_eq!(parse_q(b"1.001"), None);
    assert_eq!(parse_q(b"0.1234"), None);
    assert_eq!(parse_q(b"2"), None);
}

#[test]
fn expiry_timer_and_lazy_expiry() {
    let mut r = Registrar::new(cfg());
    handle(
        &mut r,
        T0,
        &register("c1", 1, &["<sip:a@h1>;expires=60", "<sip:a@h2>;expires=120"], None),
    );
    assert_eq!(r.poll_timeout(), Some(T0 + 60));
    assert!(r.expire(T0 + 59).is_empty());
    assert_eq!(r.lookup(T0 + 60, AOR).len(), 1, "lookup hides expired bindings");
    let gone = r.expire(T0 + 60);
    assert_eq!(gone.len(), 1);
    assert_eq!(&gone[0].key()[..], b"sip:a@h1");
    assert_eq!(r.poll_timeout(), Some(T0 + 120));
    // A REGISTER after h2 lapsed reports it removed (and expire has nothing left).
    let o = handle(&mut r, T0 + 200, &register("c1", 2, &["<sip:a@h3>"], None));
    assert!(o
        .changes
        .iter()
        .any(|c| matches!(c, BindingChange::Removed(b) if &b.key()[..] == b"sip:a@h2")));
    assert_eq!(contacts(&o), vec!["<sip:a@h3>;expires=3600"]);
    assert_eq!(r.len(), 1);
    assert!(r.expire(T0 + 3799).is_empty());
    assert_eq!(r.expire(T0 + 3800).len(), 1);
    assert_eq!(r.poll_timeout(), None);
}

#[test]
fn load_restores_bindings() {
    let mut a = Registrar::new(cfg());
    let o = handle(
        &mut a,
        T0,
        &register(
            "c1",
            7,
            &["\"Alice\" <sip:a@h1>;+sip.instance=\"<urn:x>\"", "<sip:a@h2>"],
            None,
        ),
    );
    let saved: Vec<Binding> = o
        .changes
        .into_iter()
        .filter_map(|c| match c {
            BindingChange::Added(b) => Some(b),
            _ => None,
        })
        .collect();
    let mut b = Registrar::new(cfg());
    b.load(saved.clone());
    b.load(saved.clone()[..1].to_vec()); // duplicates replace, not add
    assert_eq!(b.lookup(T0 + 1, AOR), a.lookup(T0 + 1, AOR));
    assert_eq!(b.len(), 2);
    assert_eq!(b.poll_timeout(), Some(T0 + 3600));
    // CSeq ordering survives the restart.
    let o = handle(&mut b, T0 + 2, &register("c1", 7, &["<sip:a@h1>"], None));
    assert_eq!(code(&o), 400);
}

#[test]
fn bad_requests() {
    let mut r = Registrar::new(cfg());
    let o = handle(&mut r, T0, &register("c1", 1, &["<sip:a@h1"], None));
    assert_eq!(code(&o), 400);
    let o = handle(&mut r, T0, &register("c1", 1, &["<mailto:a@example.com>"], None));
    assert_eq!(code(&o), 400);
    let mut invite = register("c1", 1, &[], None);
    invite.start = crate::sip::msg::StartLine::Request {
        method: Method::INVITE,
        uri: Uri::parse(&Bytes::from_static(b"sip:x@y")).unwrap(),
    };
    assert_eq!(
        r.handle_register(T0, AOR, &invite, src(), Transport::Udp),
        Err(RegisterError::NotRegister)
    );
    let mut no_callid = register("c1", 1, &[], None);
    no_callid.headers.remove(&HeaderName::CallId);
    assert!(matches!(
        r.handle_register(T0, AOR, &no_callid, src(), Transport::Udp),
        Err(RegisterError::Envelope(_))
    ));
}

#[test]
fn bindings_per_aor_are_bounded() {
    let mut r = Registrar::new(cfg()).with_max_bindings_per_aor(2);
    let o = handle(
        &mut r,
        T0,
        &register("c1", 1, &["<sip:a@h1>", "<sip:a@h2>", "<sip:a@h3>"], None),
    );
    assert_eq!(code(&o), 403);
    assert!(r.is_empty());
    handle(&mut r, T0, &register("c1", 2, &["<sip:a@h1>", "<sip:a@h2>"], None));
    assert_eq!(
        code(&handle(&mut r, T0, &register("c1", 3, &["<sip:a@h3>"], None))),
        403
    );
    assert_eq!(
        code(&handle(&mut r, T0, &register("c1", 4, &["<sip:a@h1>"], None))),
        200,
        "refresh is fine"
    );
}

fn vector(name: &str) -> Message {
    let path = format!("{}/tests/vectors/rfc4475/{name}.dat", env!("CARGO_MANIFEST_DIR"));
    let raw = std::fs::read(&path).unwrap();
    parse_datagram(Bytes::from(raw), &Limits::default()).unwrap()
}

fn register_vector(name: &str, aor: &str) -> (Registrar, RegisterOutcome) {
    let mut r = Registrar::new(cfg());
    let o = r
        .handle_register(T0, aor, &vector(name), src(), Transport::Udp)
        .unwrap();
    assert_eq!(code(&o), 200, "{name}");
    (r, o)
}

#[test]
fn rfc4475_cparam01_contact_param_is_not_a_uri_param() {
    let (r, o) = register_vector("cparam01", "sip:watson@example.com");
    assert_eq!(
        contacts(&o),
        vec!["<sip:+19725552222@gw1.example.net>;unknownparam;expires=3600"]
    );
    let b = &r.lookup(T0, "sip:watson@example.com")[0];
    assert!(!b.uri.params.has("unknownparam"));
    assert_eq!(&b.uri.to_bytes()[..], b"sip:+19725552222@gw1.example.net");
    assert_eq!(&b.contact[..], b"<sip:+19725552222@gw1.example.net>;unknownparam");
}

#[test]
fn rfc4475_cparam02_url_param_stays_in_the_uri() {
    let (r, o) = register_vector("cparam02", "sip:watson@example.com");
    assert_eq!(
        contacts(&o),
        vec!["<sip:+19725552222@gw1.example.net;unknownparam>;expires=3600"]
    );
    let b = &r.lookup(T0, "sip:watson@example.com")[0];
    assert!(b.uri.params.has("unknownparam"));
    assert_eq!(&b.uri.to_bytes()[..], b"sip:+19725552222@gw1.example.net;unknownparam");
}

#[test]
fn rfc4475_regescrt_escaped_header_stays_in_the_uri() {
    let (r, o) = register_vector("regescrt", "sip:user@example.com");
    assert_eq!(
        contacts(&o),
        vec!["<sip:user@example.com?Route=%3Csip:sip.example.com%3E>;expires=3600"]
    );
    let b = &r.lookup(T0, "sip:user@example.com")[0];
    assert_eq!(b.uri.headers.as_deref(), Some(&b"Route=%3Csip:sip.example.com%3E"[..]));
    assert_eq!(b.cseq, 14398234);
}

/// RFC 7118 §5: a binding made over a WebSocket is reached over that
/// WebSocket (its source, from the profile's ws or wss listener), never at
/// its Contact's `.invalid` host; TLS and UDP bindings as before.
#[test]
fn websocket_bindings_ride_their_connection() {
    let mut r = Registrar::new(cfg());
    let locals = Locals {
        plain: "192.0.2.1:5060".parse().unwrap(),
        tls: Some("192.0.2.1:5061".parse().unwrap()),
        ws: Some("192.0.2.1:5066".parse().unwrap()),
        wss: Some("192.0.2.1:7443".parse().unwrap()),
    };
    let browser: SocketAddr = "198.51.100.9:51000".parse().unwrap();
    for (i, (transport, kind, local)) in [
        (Transport::Ws, TransportKind::Ws, locals.ws),
        (Transport::Wss, TransportKind::Wss, locals.wss),
        (Transport::Tls, TransportKind::Tls, locals.tls),
        (Transport::Udp, TransportKind::Udp, Some(locals.plain)),
    ]
    .into_iter()
    .enumerate()
    {
        let contact = format!("<sip:abc{i}@xyz.invalid;transport=ws>");
        let m = register(&format!("w{i}"), 1, &[&contact], None);
        let o = r.handle_register(T0, AOR, &m, browser, transport.clone()).unwrap();
        assert_eq!(code(&o), 200);
        let b = r
            .lookup(T0, AOR)
            .into_iter()
            .find(|b| b.transport == transport)
            .expect("the binding");
        let d = b.destination(locals);
        assert_eq!(
            (d.addr, d.transport, Some(d.local)),
            (browser, kind, local),
            "{transport:?}"
        );
    }
    // A profile without a wss listener still names a WSS destination (the
    // send then fails: there is no such connection).
    let wss = r
        .lookup(T0, AOR)
        .into_iter()
        .find(|b| b.transport == Transport::Wss)
        .unwrap();
    let d = wss.destination(Locals { wss: None, ..locals });
    assert_eq!((d.transport, d.local), (TransportKind::Wss, locals.plain));
}
