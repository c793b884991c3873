//! Trunks that fail over (issue 10 item 5), in virtual time: the OPTIONS
//! keepalive (RFC 3261 §11) marks a trunk down after `down_after` misses
//! in a row (no answer before Timer F, §17.1.2.2, or a 408/503) and up
//! after `up_after` answers; a dial-plan `trunks = [..]` list fails over
//! on 5xx, 408 and silence, never on other 4xx or 6xx, skips down trunks,
//! and a weighted list spreads first attempts by smooth weighted round
//! robin.

use crate::sim::*;
use std::net::SocketAddr;
use switchboard::sip::msg::{HeaderName, Message};

const A: &str = "127.0.0.1:5090";
const B: &str = "127.0.0.1:5092";

/// Two trunks; `a_extra`/`b_extra` are appended to each `[[trunk]]`.
fn trunks(a_extra: &str, b_extra: &str) -> String {
    format!(
        "[[trunk]]\nname = \"a\"\naddress = \"{A}\"\ninbound_from = [\"127.0.0.1\"]\ncontext = \"external\"\n\
         failover_timeout_ms = 2000\n{a_extra}\n\n\
         [[trunk]]\nname = \"b\"\naddress = \"{B}\"\n{b_extra}\n"
    )
}

/// A dial plan sending `9…` from phones to the trunk list `list`.
fn dialplan(list: &str) -> String {
    format!(
        "[[context.internal]]\nmatch = {{ prefix = \"9\" }}\naction = \"trunk\"\ntrunks = {list}\n\n\
         [[context.external]]\nmatch = {{ prefix = \"\" }}\naction = \"reject\"\ncode = 404\n"
    )
}

fn harness(a_extra: &str, b_extra: &str, list: &str) -> Harness {
    let t = trunks(a_extra, b_extra);
    let d = dialplan(list);
    let mut h = Harness::with_files(&[("trunks.toml", t.as_str()), ("dialplan.toml", d.as_str())]);
    let now = h.now();
    h.engine.start(now);
    h
}

fn state(h: &Harness, name: &str) -> switchboard::engine::TrunkSummary {
    h.engine
        .trunks_snapshot()
        .into_iter()
        .find(|t| t.name == name)
        .unwrap_or_else(|| panic!("trunk {name} listed"))
}

/// The OPTIONS on the wire to `to` (retransmissions included), removed.
fn options_to(h: &mut Harness, to: SocketAddr) -> Vec<Message> {
    let all = h.take(to);
    all.into_iter()
        .filter(|m| m.method().is_some_and(|x| x.as_bytes() == b"OPTIONS"))
        .collect()
}

/// The distinct OPTIONS requests (by Call-ID) among `msgs`, in order.
fn distinct(msgs: &[Message]) -> Vec<Message> {
    let mut out: Vec<Message> = Vec::new();
    for m in msgs {
        if !out.iter().any(|o| call_id(o) == call_id(m)) {
            out.push(m.clone());
        }
    }
    out
}

fn answer(h: &mut Harness, to: SocketAddr, req: &Message, code: u16) {
    let ua = Ua::trunk(&to.to_string());
    h.send(&ua, &response(req, code, "X", Some("opt"), &[], None));
}

/// RFC 3261 §11 + §17.1.2.2: an OPTIONS goes out at start; each one that
/// Timer F (64·T1 = 32 s) ends unanswered is a miss; the trunk stays up
/// through 2 misses and goes down at the 3rd (`down_after = 3`); down, one
/// answer is not enough, the 2nd (a 404: any answer proves it alive) brings
/// it up (`up_after = 2`), and the API shows each state.
#[test]
fn trunk_goes_down_after_n_missed_options_and_up_after_m_answers() {
    let mut h = harness(
        "options_interval_s = 10\ndown_after = 3\nup_after = 2",
        "",
        "[\"a\", \"b\"]",
    );
    h.advance(ms(0));
    let first = distinct(&options_to(&mut h, sock(A)));
    assert_eq!(first.len(), 1, "one OPTIONS at start");
    let o = &first[0];
    assert_eq!(o.uri().unwrap().to_string(), "sip:127.0.0.1:5090");
    assert_eq!(header_str(o, &HeaderName::Accept), "application/sdp", "§11.1");
    assert!(header_str(o, &HeaderName::MaxForwards).contains("70"));
    assert!(state(&h, "a").keepalive && !state(&h, "b").keepalive);
    assert!(h.count(sock(B), |_| true) == 0, "no keepalive on b: no OPTIONS");
    // Two misses: still up.
    h.advance(secs(32));
    assert_eq!(state(&h, "a").consecutive_misses, 1);
    assert_eq!(state(&h, "a").state, "up");
    h.advance(secs(32));
    assert_eq!(state(&h, "a").consecutive_misses, 2);
    assert_eq!(state(&h, "a").state, "up");
    assert!(h.engine.trunk_up("a"));
    // The third miss: down, with the moment of the change.
    h.advance(secs(32));
    let s = state(&h, "a");
    assert_eq!((s.state, s.consecutive_misses), ("down", 3));
    assert_eq!(s.last_change_ms, Some(h.unix_ms()));
    assert!(!h.engine.trunk_up("a"));
    // Still probing while down: answer the next OPTIONS: not up yet.
    let sent = distinct(&options_to(&mut h, sock(A)));
    assert_eq!(sent.len(), 4, "one OPTIONS per outcome, never two in flight");
    answer(&mut h, sock(A), &sent[3], 200);
    let s = state(&h, "a");
    assert_eq!((s.state, s.consecutive_misses), ("down", 0));
    // The next one comes an interval after the previous was sent.
    h.advance(secs(9));
    assert!(
        distinct(&options_to(&mut h, sock(A))).is_empty(),
        "not before the interval"
    );
    h.advance(secs(1));
    let next = distinct(&options_to(&mut h, sock(A)));
    assert_eq!(next.len(), 1);
    answer(&mut h, sock(A), &next[0], 404);
    let s = state(&h, "a");
    assert_eq!(s.state, "up", "a 404 is an answer: the trunk is alive");
    assert_eq!(s.last_change_ms, Some(h.unix_ms()));
}

/// A 503 (out of service) and a 408 (a proxy's timeout) to an OPTIONS count
/// as misses; `down_after = 1` takes the trunk down at the first.
#[test]
fn options_503_and_408_count_as_missed() {
    for code in [503, 408] {
        let mut h = harness(
            "options_interval_s = 5\ndown_after = 1\nup_after = 1",
            "",
            "[\"a\", \"b\"]",
        );
        h.advance(ms(1));
        let o = distinct(&options_to(&mut h, sock(A)));
        answer(&mut h, sock(A), &o[0], code);
        assert_eq!(state(&h, "a").state, "down", "{code} is a miss");
        h.advance(secs(5));
        let o = distinct(&options_to(&mut h, sock(A)));
        assert_eq!(o.len(), 1, "probing goes on while down");
        answer(&mut h, sock(A), &o[0], 200);
        assert_eq!(state(&h, "a").state, "up");
    }
}

/// Places a call to `9555` from a new phone and returns it and the INVITE
/// the first trunk got.
fn call(h: &mut Harness, first: &str) -> (Ua, Message) {
    let mut caller = Ua::phone("1000", "192.0.2.10");
    let inv = call_from(h, &mut caller, first);
    (caller, inv)
}

/// Places a call to `9555` from `caller`; the INVITE the first trunk got.
fn call_from(h: &mut Harness, caller: &mut Ua, first: &str) -> Message {
    h.place_call(caller, "9555");
    h.expect_request(sock(first), "INVITE")
}

fn answer_call(h: &mut Harness, trunk: &str, inv: &Message) {
    let ua = Ua::trunk(trunk);
    h.send(
        &ua,
        &response(
            inv,
            200,
            "OK",
            Some("ans"),
            &[("Contact", &format!("<sip:gw@{trunk}>"))],
            Some(("application/sdp", &sdp("127.0.0.1", 30000))),
        ),
    );
}

/// The caller's responses with a final code (everything but 100/18x).
fn finals(h: &mut Harness, caller: &Ua) -> Vec<u16> {
    h.take(caller.addr)
        .iter()
        .filter_map(|m| m.status().map(|c| c.as_u16()))
        .filter(|c| *c >= 200)
        .collect()
}

/// A 503, a 500 and a 408 from the first trunk send the call to the next
/// one; the caller sees only the second trunk's 200, and the call's route
/// names the trunk that carried it.
#[test]
fn ordered_failover_on_5xx_and_408() {
    for code in [503, 500, 408] {
        let mut h = harness("", "", "[\"a\", \"b\"]");
        let (caller, inv) = call(&mut h, A);
        let a = Ua::trunk(A);
        h.send(&a, &response(&inv, 100, "Trying", None, &[], None));
        h.send(&a, &response(&inv, code, "Failed", Some("f"), &[], None));
        h.expect_request(sock(A), "ACK");
        let inv_b = h.expect_request(sock(B), "INVITE");
        assert_eq!(inv_b.uri().unwrap().to_string(), "sip:9555@127.0.0.1:5092");
        answer_call(&mut h, B, &inv_b);
        assert_eq!(finals(&mut h, &caller), vec![200], "after a {code}: only the answer");
        let calls = h.engine.calls_snapshot();
        assert_eq!(calls[0].route, "trunk:b", "the CDR's route names the carrying trunk");
    }
}

/// No response at all from the first trunk (not even 100 Trying) for its
/// `failover_timeout_ms`: the call goes to the next trunk; the silent leg
/// is given up (a late 180 gets the held CANCEL, §9.1) and a late 2xx
/// from it is ACKed and hung up, never connected.
#[test]
fn failover_on_silence_and_late_answer_refused() {
    let mut h = harness("", "", "[\"a\", \"b\"]");
    let (caller, inv) = call(&mut h, A);
    h.advance(ms(1999));
    h.take(sock(A)); // retransmissions
    assert_eq!(h.count(sock(B), |_| true), 0, "not before the failover timeout");
    h.advance(ms(1));
    let inv_b = h.expect_request(sock(B), "INVITE");
    let b = Ua::trunk(B);
    h.send(&b, &response(&inv_b, 180, "Ringing", Some("rb"), &[], None));
    // The silent trunk wakes up.
    let a = Ua::trunk(A);
    h.send(&a, &response(&inv, 180, "Ringing", Some("ra"), &[], None));
    h.expect_request(sock(A), "CANCEL");
    h.send(
        &a,
        &response(
            &inv,
            200,
            "OK",
            Some("ra"),
            &[("Contact", "<sip:gw@127.0.0.1:5090>")],
            Some(("application/sdp", &sdp("127.0.0.1", 30002))),
        ),
    );
    h.expect_request(sock(A), "ACK");
    h.expect_request(sock(A), "BYE");
    answer_call(&mut h, B, &inv_b);
    assert_eq!(finals(&mut h, &caller), vec![200]);
    assert_eq!(h.engine.calls_snapshot()[0].route, "trunk:b");
}

/// Timer B (64·T1) on the INVITE of the first trunk fails over like a 408
/// when `failover_timeout_ms` is longer than it.
#[test]
fn failover_on_transaction_timeout() {
    let t = trunks("", "").replace("failover_timeout_ms = 2000", "failover_timeout_ms = 60000");
    let d = dialplan("[\"a\", \"b\"]").replace("action = \"trunk\"", "action = \"trunk\"\nno_answer_timeout_s = 90");
    let mut h = Harness::with_files(&[("trunks.toml", t.as_str()), ("dialplan.toml", d.as_str())]);
    let (caller, _inv) = call(&mut h, A);
    h.advance(secs(31));
    assert_eq!(h.count(sock(B), |_| true), 0);
    h.advance(secs(2));
    let inv_b = h.expect_request(sock(B), "INVITE");
    answer_call(&mut h, B, &inv_b);
    assert_eq!(finals(&mut h, &caller), vec![200]);
}

/// A 404, 486 or 603 from the first trunk is the callee's answer: it goes
/// to the caller and the next trunk is never tried.
#[test]
fn no_failover_on_4xx_or_6xx() {
    for code in [404, 486, 603] {
        let mut h = harness("", "", "[\"a\", \"b\"]");
        let (caller, inv) = call(&mut h, A);
        let a = Ua::trunk(A);
        h.send(&a, &response(&inv, code, "No", Some("f"), &[], None));
        assert_eq!(finals(&mut h, &caller), vec![code]);
        h.advance(secs(10));
        assert_eq!(h.count(sock(B), |_| true), 0, "{code}: b never tried");
    }
}

/// When every trunk failed, the caller gets the best failure across the
/// attempts (a 486 over a 503), once.
#[test]
fn all_trunks_failing_give_the_best_failure() {
    let mut h = harness("", "", "[\"a\", \"b\"]");
    let (caller, inv) = call(&mut h, A);
    h.send(&Ua::trunk(A), &response(&inv, 503, "Down", Some("f"), &[], None));
    let inv_b = h.expect_request(sock(B), "INVITE");
    h.send(
        &Ua::trunk(B),
        &response(&inv_b, 502, "Bad Gateway", Some("g"), &[], None),
    );
    assert_eq!(
        finals(&mut h, &caller),
        vec![502],
        "the last trunk's 502 over the first's 503"
    );
    assert_eq!(h.cdrs.len(), 1);
    assert_eq!(h.cdrs[0].route, "trunk:b");
}

/// A trunk the keepalive marked down is skipped: the call goes straight
/// to the next one.
#[test]
fn down_trunk_is_skipped() {
    let mut h = harness("options_interval_s = 30\ndown_after = 1", "", "[\"a\", \"b\"]");
    h.advance(secs(33)); // the first OPTIONS ends unanswered (Timer F)
    assert_eq!(state(&h, "a").state, "down");
    h.clear_wire();
    let (caller, inv_b) = call(&mut h, B);
    assert_eq!(
        h.count(sock(A), |m| m.method().is_some()),
        0,
        "no INVITE to the down trunk"
    );
    answer_call(&mut h, B, &inv_b);
    assert_eq!(finals(&mut h, &caller), vec![200]);
}

/// When every trunk of the list is down, they are all tried, in order (the
/// keepalive may be wrong; a late failure beats a certain one).
#[test]
fn all_down_trunks_are_still_tried_in_order() {
    let mut h = harness(
        "options_interval_s = 30\ndown_after = 1",
        "options_interval_s = 30\ndown_after = 1",
        "[\"a\", \"b\"]",
    );
    h.advance(secs(33));
    assert_eq!((state(&h, "a").state, state(&h, "b").state), ("down", "down"));
    h.clear_wire();
    let (caller, inv) = call(&mut h, A);
    h.send(&Ua::trunk(A), &response(&inv, 503, "Down", Some("f"), &[], None));
    let inv_b = h.expect_request(sock(B), "INVITE");
    answer_call(&mut h, B, &inv_b);
    assert_eq!(finals(&mut h, &caller), vec![200]);
}

/// Weights 3 and 1: first attempts go a a b a, a a b a (smooth weighted
/// round robin), and a weighted first pick still fails over to the other.
#[test]
fn weighted_list_spreads_first_attempts_and_fails_over() {
    let mut h = harness("", "", "[{ name = \"a\", weight = 3 }, { name = \"b\", weight = 1 }]");
    let mut caller = Ua::phone("1000", "192.0.2.10");
    let mut firsts = Vec::new();
    for _ in 0..8 {
        h.place_call(&mut caller, "9555");
        let to = h
            .wire
            .iter()
            .find(|s| s.msg.method().is_some_and(|m| m.as_bytes() == b"INVITE"))
            .map(|s| s.to)
            .expect("an INVITE to a trunk");
        let inv = h.expect_request(to, "INVITE");
        firsts.push(if to == sock(A) { "a" } else { "b" });
        // Busy: the call ends without failover.
        h.send(
            &Ua::trunk(&to.to_string()),
            &response(&inv, 486, "Busy", Some("x"), &[], None),
        );
        h.clear_wire();
    }
    assert_eq!(firsts, ["a", "a", "b", "a", "a", "a", "b", "a"]);
    // The 11th call's first pick is b (a a b): its 503 fails over to a.
    for _ in 0..2 {
        let inv = call_from(&mut h, &mut caller, A);
        h.send(&Ua::trunk(A), &response(&inv, 486, "Busy", Some("x"), &[], None));
        h.clear_wire();
    }
    let inv_b = call_from(&mut h, &mut caller, B);
    h.send(&Ua::trunk(B), &response(&inv_b, 503, "Down", Some("x"), &[], None));
    let inv_a = h.expect_request(sock(A), "INVITE");
    answer_call(&mut h, A, &inv_a);
    assert_eq!(finals(&mut h, &caller), vec![200]);
}
