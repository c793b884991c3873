//! Issue 11 item 3: overload control at the socket, against the real
//! binary over loopback UDP. A burst of new INVITEs far faster than the
//! engine works gets stateless `503` with `Retry-After` for the excess
//! (their ACKs are swallowed), every INVITE gets an answer, and the switch
//! answers normally right after. One source over `[security] source_rate`
//! gets 503 with `Retry-After: 10` for its new requests while its requests
//! inside dialogs still reach the engine, and the first refusal is logged.

mod common;

use common::*;
use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

/// An out-of-dialog `method` from `from` to `to`, Call-ID `call`.
fn request(method: &str, to: SocketAddr, from: SocketAddr, call: &str, to_tag: Option<&str>) -> String {
    let tag = to_tag.map(|t| format!(";tag={t}")).unwrap_or_default();
    format!(
        "{method} sip:1002@{to} SIP/2.0\r\n\
         Via: SIP/2.0/UDP {from};branch=z9hG4bK-{call};rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:1001@{from}>;tag=f-{call}\r\n\
         To: <sip:1002@{to}>{tag}\r\n\
         Call-ID: {call}\r\n\
         CSeq: 1 {method}\r\n\
         Contact: <sip:1001@{from}>\r\n\
         Content-Length: 0\r\n\r\n"
    )
}

/// The value of header `name` in `msg`.
fn header<'a>(msg: &'a str, name: &str) -> Option<&'a str> {
    msg.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// Every datagram arriving on `sock` until `quiet` passes without one.
fn drain(sock: &UdpSocket, quiet: Duration) -> Vec<String> {
    sock.set_read_timeout(Some(quiet)).expect("timeout");
    let mut out = Vec::new();
    let mut buf = vec![0u8; 65_536];
    while let Ok((n, _)) = sock.recv_from(&mut buf) {
        out.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    out
}

/// A burst of 2,000 new requests, INVITEs and REGISTERs in turn (phones'
/// requests to the digest profile, sent as fast as one thread can), with
/// `overload_queue = 5`: the excess of each method is answered `503
/// Service Unavailable` with `Retry-After` 1–4 s and a gate To tag, the rest
/// is challenged by the engine (407 to an INVITE, 401 to a REGISTER): every
/// request gets one final answer (a 407 that nobody ACKs is
/// retransmitted, never changed). The ACKs of the INVITEs' 503s
/// never reach the engine; afterwards OPTIONS is answered 200 as before.
#[test]
fn a_burst_of_new_invites_and_registers_is_partly_shed_with_503_and_every_request_is_answered() {
    let cfg = ConfigDir::from_default();
    cfg.patch("switchboard.toml", "overload_queue = 4000", "overload_queue = 5");
    let sw = Switch::builder().config(cfg.path()).start();
    let to = sw.internal_addr();
    let sock = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let from = sock.local_addr().expect("addr");
    let _ = socket2::SockRef::from(&sock).set_recv_buffer_size(4 << 20);
    const N: usize = 2000;
    let method = |call: &str| {
        if call.starts_with("burst-reg-") {
            "REGISTER"
        } else {
            "INVITE"
        }
    };
    for i in 0..N {
        let call = if i % 2 == 0 {
            format!("burst-inv-{i}")
        } else {
            format!("burst-reg-{i}")
        };
        let msg = request(method(&call), to, from, &call, None);
        sock.send_to(msg.as_bytes(), to).expect("send");
    }
    let mut finals: HashMap<String, Vec<u16>> = HashMap::new();
    let mut shed = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while finals.len() < N && Instant::now() < deadline {
        for resp in drain(&sock, Duration::from_secs(2)) {
            let code: u16 = resp.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
            if code < 200 {
                continue;
            }
            let call = header(&resp, "Call-ID").unwrap_or_default().to_string();
            if code == 503 {
                shed.push(resp.clone());
            }
            finals.entry(call).or_default().push(code);
        }
    }
    assert_eq!(finals.len(), N, "every request answered");
    // An unacknowledged 407 is retransmitted (Timer G): the same answer.
    assert!(
        finals.values().all(|c| c.iter().all(|x| *x == c[0])),
        "one final answer each: {finals:?}"
    );
    let codes: HashMap<(&str, u16), usize> = finals.iter().fold(HashMap::new(), |mut m, (call, c)| {
        *m.entry((method(call), c[0])).or_default() += 1;
        m
    });
    for (method, challenge) in [("INVITE", 407), ("REGISTER", 401)] {
        assert!(
            codes
                .keys()
                .filter(|(m, _)| *m == method)
                .all(|(_, c)| *c == 503 || *c == challenge),
            "{method}: only {challenge} or 503: {codes:?}"
        );
        assert!(
            codes.get(&(method, 503)).copied().unwrap_or(0) > 0,
            "{method}s shed: {codes:?}"
        );
        assert!(
            codes.get(&(method, challenge)).copied().unwrap_or(0) > 0,
            "{method}s admitted: {codes:?}"
        );
    }
    let invites_shed = codes.get(&("INVITE", 503)).copied().unwrap_or(0);
    for r in &shed {
        assert!(r.starts_with("SIP/2.0 503 Service Unavailable\r\n"), "{r}");
        let retry: u32 = header(r, "Retry-After")
            .and_then(|v| v.parse().ok())
            .expect("Retry-After");
        assert!((1..=4).contains(&retry), "{r}");
        assert!(header(r, "To").is_some_and(|t| t.contains(";tag=ovl-")), "{r}");
    }
    // ACK each INVITE's 503 (RFC 3261 §17.1.1.3): swallowed at the socket.
    for r in &shed {
        let call = header(r, "Call-ID").expect("Call-ID");
        if method(call) != "INVITE" {
            continue;
        }
        let tag = header(r, "To").and_then(|t| t.split(";tag=").nth(1)).expect("tag");
        let ack = request("ACK", to, from, call, Some(tag));
        sock.send_to(ack.as_bytes(), to).expect("send ACK");
    }
    assert!(
        sw.options(to).is_some_and(|r| r.starts_with("SIP/2.0 200")),
        "answers after the burst"
    );
    // The stats line (every 10 s) counts the refusals and the swallowed ACKs.
    let counted = format!("shed_acks_dropped={invites_shed}");
    assert!(
        sw.wait_for_log(&counted, Duration::from_secs(25)),
        "the stats log counts {counted}: {}",
        sw.log()
    );
    assert!(sw.log().contains("overload:"), "the refusals are logged");
}

/// `source_rate = 5` with no allow list: the sixth new request from
/// 127.0.0.2 within a second gets `503` with `Retry-After: 10` (logged once,
/// naming the address), a BYE of that source (inside a dialog) still reaches
/// the engine (481), another address is not limited, and the next second
/// the source is served again.
#[test]
fn one_source_over_its_rate_gets_503_its_dialog_requests_still_pass() {
    let cfg = ConfigDir::from_default();
    cfg.patch("switchboard.toml", "source_rate = 100", "source_rate = 5");
    cfg.patch(
        "switchboard.toml",
        "source_rate_allow = [\"127.0.0.0/8\", \"::1/128\"]",
        "source_rate_allow = []",
    );
    let sw = Switch::builder().config(cfg.path()).start();
    let to = sw.internal_addr();
    let sock = UdpSocket::bind("127.0.0.2:0").expect("bind 127.0.0.2");
    let from = sock.local_addr().expect("addr");
    // Ten OPTIONS at once: a burst well inside one second.
    let start = Instant::now();
    for i in 0..10 {
        let msg = request("OPTIONS", to, from, &format!("rate-{i}"), None);
        sock.send_to(msg.as_bytes(), to).expect("send");
    }
    let burst_took = start.elapsed();
    let answers = drain(&sock, Duration::from_secs(2));
    let codes: Vec<u16> = answers
        .iter()
        .filter_map(|r| r.split(' ').nth(1).and_then(|c| c.parse().ok()))
        .collect();
    assert_eq!(codes.len(), 10, "{answers:?}");
    let shed: Vec<&String> = answers.iter().filter(|r| r.starts_with("SIP/2.0 503")).collect();
    // Sent within one window (the burst takes microseconds): 5 pass.
    assert!(burst_took < Duration::from_millis(500), "the burst took {burst_took:?}");
    assert_eq!(codes.iter().filter(|c| **c == 200).count(), 5, "{codes:?}");
    assert_eq!(shed.len(), 5, "{codes:?}");
    assert!(shed.iter().all(|r| header(r, "Retry-After") == Some("10")), "{shed:?}");
    // A request inside a dialog from the same source reaches the engine.
    let bye = request("BYE", to, from, "no-such-dialog", Some("x1"));
    sock.send_to(bye.as_bytes(), to).expect("send BYE");
    let answers = drain(&sock, Duration::from_secs(2));
    assert!(answers.iter().any(|r| r.starts_with("SIP/2.0 481")), "{answers:?}");
    // Another address is not limited.
    assert!(sw.options(to).is_some_and(|r| r.starts_with("SIP/2.0 200")));
    assert!(
        sw.wait_for_log("source=127.0.0.2", Duration::from_secs(5)),
        "{}",
        sw.log()
    );
    assert_eq!(sw.log().matches("source over its rate").count(), 1, "logged once");
    // The next window serves it again.
    let mut n = 0;
    assert!(wait_until(Duration::from_secs(5), || {
        n += 1;
        let msg = request("OPTIONS", to, from, &format!("later-{n}"), None);
        sock.send_to(msg.as_bytes(), to).expect("send");
        drain(&sock, Duration::from_millis(300))
            .iter()
            .any(|r| r.starts_with("SIP/2.0 200"))
    }));
}
