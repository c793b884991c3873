//! Registrar and transport behaviour of the running switch, driven by the
//! Rust test UA (`tests/common/ua.rs`) over real loopback sockets.
//!
//! Each test names the RFC section it checks: REGISTER over UDP and TCP
//! with the digest 401 exchange (RFC 3261 §10.2, §22.2), binding fetch
//! (§10.2.3), removal with `Contact: *` (§10.2.2), 423 Interval Too Brief
//! (§10.3 step 7), SHA-256 digest (RFC 8760 §2.4), bindings surviving a
//! restart (§10.3: the registrar's location service), an oversized message
//! on TCP (§18.3, §21.4.11), registration over IPv6 (§18, RFC 3261 §19.1.1
//! IPv6 references), and no response to an ACK (§17).

mod common;

use std::net::{Ipv6Addr, SocketAddr, UdpSocket};
use std::time::Duration;

use common::ua::{self, Ua};
use common::{free_port, ConfigDir, Switch};
use switchboard::sip::msg::{HeaderName, Method, StatusCode};

const USER: &str = "1001";
const PASS: &str = "demo-1001";

/// The binding for `ua` in a 200 to REGISTER (the Contact whose host:port
/// is the UA's socket), and its `expires`.
fn binding_of(resp: &switchboard::sip::msg::Message, ua: &Ua) -> Option<u32> {
    let local = ua.local_addr();
    ua::contacts(resp).into_iter().find_map(|c| {
        let u = &c.0.uri;
        let host = u
            .host
            .as_str()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        (host == local.ip().to_string() && u.port == Some(local.port())).then(|| c.expires().unwrap_or(0))
    })
}

fn assert_registered(resp: &switchboard::sip::msg::Message, ua: &Ua, expires: u32) {
    assert_eq!(ua::code(resp), 200, "{}", ua::text(resp));
    assert_eq!(
        binding_of(resp, ua),
        Some(expires),
        "the 200 lists our binding with expires={expires}:\n{}",
        ua::text(resp)
    );
}

/// RFC 3261 §10.2 and §22.2 over UDP: REGISTER, 401 with a challenge,
/// REGISTER with credentials, 200 listing the binding with its expiry
/// (§10.3 step 8; default 3600 s from `switchboard.toml`).
#[test]
fn ua_register_over_udp() {
    let sw = Switch::start();
    let mut ua = Ua::udp(sw.internal_addr());
    let req = ua.register_request(USER, None);
    let first = ua.transact(&req, ua::TIMEOUT).expect("a response");
    assert_eq!(ua::code(&first), 401, "{}", ua::text(&first));
    assert!(ua::header(&first, "WWW-Authenticate").is_some_and(|v| v.starts_with("Digest")));
    let ok = ua
        .answer_challenge(&req, &first, USER, PASS)
        .expect("a challenge we can answer");
    assert_registered(&ok, &ua, 3600);
    assert_eq!(ua.register(USER, PASS), StatusCode::OK);
}

/// RFC 3261 §10.2 over TCP (§18.3 framing): the same exchange on one
/// connection; the binding carries `transport=tcp`.
#[test]
fn ua_register_over_tcp() {
    let sw = Switch::start();
    let mut ua = Ua::tcp(sw.internal_addr());
    let ok = ua.register_full(USER, PASS, Some(600));
    assert_registered(&ok, &ua, 600);
    let contact = ua::header_values(&ok, "Contact").join(", ");
    assert!(contact.to_ascii_lowercase().contains("transport=tcp"), "{contact}");
    assert!(!ua.is_closed());
}

/// RFC 3261 §10.2.3: a REGISTER without Contact fetches the bindings, and
/// changes nothing.
#[test]
fn ua_binding_fetch_lists_current_bindings() {
    let sw = Switch::start();
    let mut phone = Ua::udp(sw.internal_addr());
    assert_registered(&phone.register_full(USER, PASS, Some(1200)), &phone, 1200);
    let mut other = Ua::udp(sw.internal_addr());
    let req = other.fetch_request(USER);
    let resp = other.with_auth(req, USER, PASS);
    assert_eq!(ua::code(&resp), 200, "{}", ua::text(&resp));
    let e = binding_of(&resp, &phone).expect("the fetch lists the phone's binding");
    assert!((1195..=1200).contains(&e), "remaining expiry {e}");
    assert_eq!(ua::contacts(&resp).len(), 1, "{}", ua::text(&resp));
}

/// RFC 3261 §10.2.2: `Contact: *` with `Expires: 0` removes every binding
/// of the AOR; a later fetch lists none.
#[test]
fn ua_contact_star_removes_all_bindings() {
    let sw = Switch::start();
    let mut a = Ua::udp(sw.internal_addr());
    let mut b = Ua::tcp(sw.internal_addr());
    assert_eq!(a.register(USER, PASS), StatusCode::OK);
    let both = b.register_full(USER, PASS, None);
    assert_eq!(ua::contacts(&both).len(), 2, "{}", ua::text(&both));

    let mut req = a.register_request(USER, Some(0));
    req.headers.set(HeaderName::Contact, "*");
    let resp = a.with_auth(req, USER, PASS);
    assert_eq!(ua::code(&resp), 200, "{}", ua::text(&resp));
    assert!(ua::contacts(&resp).is_empty(), "{}", ua::text(&resp));

    let req = a.fetch_request(USER);
    let resp = a.with_auth(req, USER, PASS);
    assert_eq!(ua::code(&resp), 200, "{}", ua::text(&resp));
    assert!(ua::contacts(&resp).is_empty(), "bindings left: {}", ua::text(&resp));
}

/// RFC 3261 §10.3 step 7 and §20.23: an expiry below the registrar's
/// minimum (60 s) is refused with 423 and a Min-Expires header.
#[test]
fn ua_register_expires_5_gets_423() {
    let sw = Switch::start();
    let mut ua = Ua::udp(sw.internal_addr());
    let resp = ua.register_full(USER, PASS, Some(5));
    assert_eq!(ua::code(&resp), 423, "{}", ua::text(&resp));
    assert_eq!(ua::header(&resp, "Min-Expires").as_deref().map(str::trim), Some("60"));
    // Nothing was bound.
    let req = ua.fetch_request(USER);
    let resp = ua.with_auth(req, USER, PASS);
    assert!(ua::contacts(&resp).is_empty(), "{}", ua::text(&resp));
}

/// RFC 8760 §2.4 (and RFC 7616 §3.7): with `digest_algorithms =
/// ["SHA-256", "MD5"]` the 401 offers both, SHA-256 first; the UA answers
/// the SHA-256 one and is registered.
#[test]
fn ua_register_with_sha256_digest() {
    let cfg = ConfigDir::from_default();
    cfg.patch(
        "switchboard.toml",
        "digest_algorithms = [\"MD5\"]",
        "digest_algorithms = [\"SHA-256\", \"MD5\"]",
    );
    let sw = Switch::start_with(Some(cfg.path()), &[]);
    let mut ua = Ua::udp(sw.internal_addr());
    let req = ua.register_request(USER, None);
    let challenge = ua.transact(&req, ua::TIMEOUT).expect("a response");
    assert_eq!(ua::code(&challenge), 401, "{}", ua::text(&challenge));
    let offered: Vec<String> = challenge
        .headers
        .get_all(&HeaderName::WwwAuthenticate)
        .map(|v| String::from_utf8_lossy(v).to_ascii_uppercase())
        .collect();
    assert_eq!(offered.len(), 2, "{offered:?}");
    assert!(offered[0].contains("ALGORITHM=SHA-256"), "{offered:?}");
    assert!(offered[1].contains("ALGORITHM=MD5"), "{offered:?}");

    let ok = ua
        .answer_challenge(&req, &challenge, USER, PASS)
        .expect("an answerable challenge");
    assert_registered(&ok, &ua, 3600);
    // The UA really used SHA-256: rebuild the credentials it sent.
    let parsed: Vec<_> = challenge
        .headers
        .get_all(&HeaderName::WwwAuthenticate)
        .filter_map(|v| switchboard::sip::msg::typed::Challenge::parse(v).ok())
        .collect();
    let picked = switchboard::sip::auth::DigestClient::pick(&parsed).unwrap();
    assert_eq!(picked.0.get_str("algorithm"), Some("SHA-256"));

    // A wrong password answered in SHA-256 is refused (re-challenged).
    let req = ua.register_request(USER, None);
    let resp = ua.with_auth(req, USER, "wrong");
    assert_eq!(ua::code(&resp), 401, "{}", ua::text(&resp));
}

/// RFC 3261 §10.3 (the location service outlives the process): a binding
/// made before SIGTERM is still there after a restart on the same data
/// directory and ports, and an INVITE to that user reaches the UA's socket.
#[test]
fn ua_registration_survives_restart() {
    let internal = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let external = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let data = tempfile::Builder::new()
        .prefix("switchboard-restart-")
        .tempdir()
        .unwrap();
    let mut first = Switch::builder()
        .listen(internal, external)
        .data_dir(data.path())
        .start();
    let mut callee = Ua::udp(internal);
    assert_registered(&callee.register_full(USER, PASS, None), &callee, 3600);
    let status = first.terminate(Duration::from_secs(10));
    assert!(
        status.is_some_and(|s| s.success()),
        "the switch did not exit cleanly on SIGTERM ({status:?}):\n{}",
        first.log()
    );
    assert!(first.log().contains("switchboard stopped"), "{}", first.log());
    drop(first);

    let second = Switch::builder()
        .listen(internal, external)
        .data_dir(data.path())
        .start();
    let mut caller = Ua::udp(second.internal_addr());
    let invite = caller.invite("1002", USER);
    let call_id = ua::header(&invite, "Call-ID").unwrap();
    // The 407 exchange; the final answer comes only after the callee acts.
    let challenge = caller.transact(&invite, ua::TIMEOUT).expect("a 407");
    assert_eq!(ua::code(&challenge), 407, "{}", ua::text(&challenge));
    send_ack(&mut caller, &invite, &challenge);
    let authed = {
        let ch = challenge
            .headers
            .get_all(&HeaderName::ProxyAuthenticate)
            .filter_map(|v| switchboard::sip::msg::typed::Challenge::parse(v).ok())
            .collect::<Vec<_>>();
        let ch = switchboard::sip::auth::DigestClient::pick(&ch).expect("a digest challenge");
        caller.authorized(&invite, ch, &HeaderName::ProxyAuthorization, "1002", "demo-1002")
    };
    caller.send(&authed);

    // The switch (B2BUA) places the B leg to the binding it loaded.
    let forwarded = loop {
        let m = callee
            .recv(Duration::from_secs(5))
            .expect("the INVITE to 1001 reached the registered UA after the restart");
        if m.method() == Some(&Method::INVITE) {
            break m;
        }
    };
    let ruri = String::from_utf8_lossy(&forwarded.uri().unwrap().to_bytes()).into_owned();
    assert!(ruri.contains(&callee.local_addr().to_string()), "Request-URI {ruri}");
    assert_ne!(
        ua::header(&forwarded, "Call-ID"),
        Some(call_id),
        "a B2BUA leg has its own Call-ID"
    );

    // Decline, so the call ends cleanly: 486 to the B leg, ACK, and the
    // caller gets a final failure.
    let busy = callee.reply(&forwarded, StatusCode::BUSY_HERE, None);
    let ack = callee.recv(Duration::from_secs(5)).expect("the switch ACKs the 486");
    assert_eq!(ack.method(), Some(&Method::ACK), "{}", ua::text(&ack));
    let _ = busy;
    let fin = loop {
        let m = caller
            .recv(Duration::from_secs(5))
            .expect("a final response to the caller");
        if m.status().is_some_and(|c| c.is_final()) {
            break m;
        }
    };
    assert!(ua::code(&fin) >= 400, "{}", ua::text(&fin));
    send_ack(&mut caller, &authed, &fin);
}

/// The ACK for a non-2xx final response (RFC 3261 §17.1.1.3).
fn send_ack(ua: &mut Ua, invite: &switchboard::sip::msg::Message, resp: &switchboard::sip::msg::Message) {
    let mut ack = switchboard::sip::msg::Message::request(Method::ACK, invite.uri().unwrap().clone());
    for name in [
        HeaderName::Via,
        HeaderName::From,
        HeaderName::CallId,
        HeaderName::MaxForwards,
    ] {
        if let Some(v) = invite.headers.get(&name) {
            ack.headers.push(name, v.clone());
        }
    }
    ack.headers
        .push(HeaderName::To, resp.headers.get(&HeaderName::To).unwrap().clone());
    let seq = ua::cseq_of(invite).unwrap().seq;
    ack.headers.push(HeaderName::CSeq, format!("{seq} ACK"));
    ua.send(&ack);
}

/// RFC 3261 §18.3 and §21.4.11: a 70 KiB request on TCP (UDP cannot carry
/// more than 64 KiB) exceeds `max_message_bytes` (65536); the switch
/// answers 413 or closes the connection, and keeps running.
#[test]
fn ua_oversized_tcp_message_is_refused_without_crash() {
    let mut sw = Switch::start();
    let mut ua = Ua::tcp(sw.internal_addr());
    let mut req = ua.options();
    req.headers.push(HeaderName::ContentType, "text/plain");
    req.body = bytes::Bytes::from(vec![b'x'; 70 * 1024]);
    let bytes = req.to_bytes();
    assert!(bytes.len() > 70 * 1024);
    let _ = ua.try_send_raw(&bytes); // the switch may close mid-write
    match ua.recv(Duration::from_secs(2)) {
        Some(r) => assert_eq!(ua::code(&r), 413, "{}", ua::text(&r)),
        None => assert!(
            ua.wait_closed(Duration::from_secs(2)),
            "neither 413 nor a closed connection"
        ),
    }
    assert!(sw.try_wait().is_none(), "the switch exited");
    let mut probe = Ua::udp(sw.internal_addr());
    let opt = probe.options();
    let r = probe
        .transact(&opt, ua::TIMEOUT)
        .expect("OPTIONS answered after the big message");
    assert_eq!(ua::code(&r), 200);
    let mut probe = Ua::tcp(sw.internal_addr());
    let opt = probe.options();
    let r = probe.transact(&opt, ua::TIMEOUT).expect("TCP still accepted");
    assert_eq!(ua::code(&r), 200);
}

/// RFC 3261 §18 and §19.1.1 (IPv6 references `[::1]:port` in Via, URIs
/// and Contact): both profiles on ::1, REGISTER over IPv6 UDP.
#[test]
fn ua_register_over_ipv6_udp() {
    UdpSocket::bind((Ipv6Addr::LOCALHOST, 0)).expect("this host has no IPv6 loopback");
    let internal = SocketAddr::from((Ipv6Addr::LOCALHOST, free_port()));
    let external = SocketAddr::from((Ipv6Addr::LOCALHOST, free_port()));
    let sw = Switch::builder().listen(internal, external).start();
    assert_eq!(sw.internal_addr(), internal);
    let mut ua = Ua::udp(internal);
    assert!(ua.local_addr().is_ipv6());
    let ok = ua.register_full(USER, PASS, None);
    assert_registered(&ok, &ua, 3600);
    let via = ua::header(&ok, "Via").unwrap();
    assert!(via.contains("[::1]"), "{via}");
}

/// RFC 3261 §17 (an ACK is never answered: a non-2xx ACK is absorbed by
/// the INVITE server transaction, §17.2.1; a 2xx ACK goes to the TU,
/// §17.2.3, and sends nothing) applied to malformed ACKs: an ACK with a bad
/// Request-URI (as in RFC 4475 `lwsruri`) or without From gets no 400.
#[test]
fn ua_malformed_ack_gets_no_response() {
    let sw = Switch::start();
    let mut ua = Ua::udp(sw.internal_addr());
    let l = ua.local_addr();
    for (what, ack) in [
        (
            "bad Request-URI",
            format!(
                "ACK sip:user@example.com; SIP/2.0\r\nVia: SIP/2.0/UDP {l};branch=z9hG4bK-ack1\r\n\
                 From: <sip:a@example.com>;tag=1\r\nTo: <sip:b@example.com>;tag=2\r\nCall-ID: ack1\r\n\
                 CSeq: 1 ACK\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
            ),
        ),
        (
            "no From",
            format!(
                "ACK sip:user@example.com SIP/2.0\r\nVia: SIP/2.0/UDP {l};branch=z9hG4bK-ack2\r\n\
                 To: <sip:b@example.com>;tag=2\r\nCall-ID: ack2\r\nCSeq: 1 ACK\r\nMax-Forwards: 70\r\n\
                 Content-Length: 0\r\n\r\n"
            ),
        ),
    ] {
        ua.send_raw(ack.as_bytes());
        if let Some(r) = ua.recv(Duration::from_millis(500)) {
            panic!("ACK with {what} was answered: {}", ua::first_line(&r));
        }
    }
}

/// The registrar follow-ups of RFC 4475 (EXPECTED.md "Notes for tests"):
/// the Contact values of `escnull` (§3.1.1.4), `cparam01` (§3.3.12),
/// `cparam02` (§3.3.13) and `regescrt` (§3.3.14), registered with valid
/// credentials (the vectors themselves only earn a 401), then fetched
/// (RFC 3261 §10.2.3):
/// * escnull: `%00` and `%00%00` are two distinct bindings (no truncation);
/// * cparam01: `unknownparam` is a contact parameter, never a URI one;
/// * cparam02: `unknownparam` stays a URI parameter;
/// * regescrt: the escaped Route header stays inside the contact URI.
#[test]
fn ua_rfc4475_registrar_bindings_round_trip() {
    let sw = Switch::start();
    let cases: [(&str, &[&str]); 4] = [
        (
            "escnull",
            &["<sip:%00@host5.example.com>", "<sip:%00%00@host5.example.com>"],
        ),
        ("cparam01", &["sip:+19725552222@gw1.example.net;unknownparam"]),
        ("cparam02", &["<sip:+19725552222@gw1.example.net;unknownparam>"]),
        ("regescrt", &["<sip:user@example.com?Route=%3Csip:sip.example.com%3E>"]),
    ];
    for (i, (vector, contacts)) in cases.iter().enumerate() {
        let user = format!("100{}", i + 2);
        let pass = format!("demo-{user}");
        let mut ua = Ua::udp(sw.internal_addr());
        let mut req = ua.register_request(&user, Some(600));
        req.headers.remove(&HeaderName::Contact);
        for c in *contacts {
            req.headers.push(HeaderName::Contact, c.to_string());
        }
        let resp = ua.with_auth(req, &user, &pass);
        assert_eq!(ua::code(&resp), 200, "{vector}: {}", ua::text(&resp));
        let req = ua.fetch_request(&user);
        let fetched = ua.with_auth(req, &user, &pass);
        assert_eq!(ua::code(&fetched), 200, "{vector}: {}", ua::text(&fetched));
        for listing in [&resp, &fetched] {
            let bound = ua::contacts(listing);
            let text = ua::text(listing);
            match *vector {
                "escnull" => {
                    let mut users: Vec<String> = bound
                        .iter()
                        .map(|c| String::from_utf8_lossy(c.0.uri.user.as_deref().unwrap_or(b"")).into_owned())
                        .collect();
                    users.sort();
                    assert_eq!(users, ["%00", "%00%00"], "{vector}: {text}");
                }
                "cparam01" => {
                    assert_eq!(bound.len(), 1, "{vector}: {text}");
                    assert!(
                        !bound[0].0.uri.params.has("unknownparam"),
                        "{vector}: URI param leaked: {text}"
                    );
                    assert!(
                        bound[0].0.params.has("unknownparam"),
                        "{vector}: contact param lost: {text}"
                    );
                }
                "cparam02" => {
                    assert_eq!(bound.len(), 1, "{vector}: {text}");
                    assert!(
                        bound[0].0.uri.params.has("unknownparam"),
                        "{vector}: URI param lost: {text}"
                    );
                }
                "regescrt" => {
                    assert_eq!(bound.len(), 1, "{vector}: {text}");
                    let h = bound[0]
                        .0
                        .uri
                        .headers
                        .as_deref()
                        .map(|h| String::from_utf8_lossy(h).into_owned());
                    assert_eq!(
                        h.as_deref(),
                        Some("Route=%3Csip:sip.example.com%3E"),
                        "{vector}: {text}"
                    );
                }
                _ => unreachable!(),
            }
        }
    }
}

/// RFC 3261 §18.2.1/§18.1.1 connection reuse: a phone registered over TCP
/// receives its calls on the connection it registered from (the switch
/// cannot open a connection to a phone behind NAT).
#[test]
fn ua_invite_to_tcp_registered_phone_reuses_its_connection() {
    let sw = Switch::start();
    let mut callee = Ua::tcp(sw.internal_addr());
    assert_eq!(callee.register(USER, PASS), StatusCode::OK);
    let mut caller = Ua::udp(sw.internal_addr());
    let invite = caller.invite("1002", USER);
    let challenge = caller.transact(&invite, ua::TIMEOUT).expect("a 407");
    assert_eq!(ua::code(&challenge), 407, "{}", ua::text(&challenge));
    send_ack(&mut caller, &invite, &challenge);
    let ch = challenge
        .headers
        .get_all(&HeaderName::ProxyAuthenticate)
        .filter_map(|v| switchboard::sip::msg::typed::Challenge::parse(v).ok())
        .collect::<Vec<_>>();
    let ch = switchboard::sip::auth::DigestClient::pick(&ch).expect("a digest challenge");
    let authed = caller.authorized(&invite, ch, &HeaderName::ProxyAuthorization, "1002", "demo-1002");
    caller.send(&authed);
    let forwarded = loop {
        let m = callee
            .recv(Duration::from_secs(5))
            .expect("the INVITE arrives on the registration's TCP connection");
        if m.method() == Some(&Method::INVITE) {
            break m;
        }
    };
    let via = ua::header(&forwarded, "Via").expect("Via");
    assert!(via.starts_with("SIP/2.0/TCP"), "sent over TCP: {via}");
}

/// §18.3: a TCP connection with no traffic for `tcp_idle_timeout_s` is
/// closed by the switch (1 s here).
#[test]
fn ua_idle_tcp_connection_is_closed() {
    let cfg = ConfigDir::from_default();
    cfg.patch("switchboard.toml", "tcp_idle_timeout_s = 300", "tcp_idle_timeout_s = 1");
    let sw = Switch::start_with(Some(cfg.path()), &[]);
    let mut ua = Ua::tcp(sw.internal_addr());
    let options = ua.options();
    let resp = ua.transact(&options, ua::TIMEOUT).expect("OPTIONS answered over TCP");
    assert_eq!(ua::code(&resp), 200);
    assert!(
        ua.wait_closed(Duration::from_secs(10)),
        "the idle connection was closed"
    );
}
