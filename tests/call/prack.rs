//! Reliable provisional responses (RFC 3262, 100rel) in the call core, in
//! virtual time: towards a caller that supports them (RSeq, retransmission
//! from T1 doubling until the PRACK, one at a time, 500 after 64·T1), and
//! from a callee that sends them (our PRACK, retransmissions dropped).

use crate::harness::{sdp, CallHarness, CALLER};
use crate::{caller_request_with, B1};
use std::time::Duration;
use switchboard::sip::msg::Message;

fn header(m: &Message, name: &str) -> String {
    m.headers
        .iter()
        .find(|x| x.name.as_bytes().eq_ignore_ascii_case(name.as_bytes()))
        .map(|x| String::from_utf8_lossy(&x.value).into_owned())
        .unwrap_or_default()
}

/// The messages sent to `to` since the last call, whole.
fn take_msgs(h: &mut CallHarness, to: &str) -> Vec<Message> {
    let to = crate::harness::sock(to);
    let (mine, rest): (Vec<_>, Vec<_>) = h.wire.drain(..).partition(|s| s.to == to);
    h.wire = rest;
    mine.into_iter().map(|s| s.msg).collect()
}

/// A caller supporting 100rel, ringing B1.
fn ringing_100rel() -> CallHarness {
    let mut h = CallHarness::new(true);
    h.invite_with("Supported: 100rel\r\n", &sdp(7002));
    h.ring(&[B1]);
    h.wire.clear();
    h
}

fn prack(h: &mut CallHarness, rack: &str, cseq: u32, branch: &str) {
    caller_request_with(h, "PRACK", cseq, branch, &format!("RAck: {rack}\r\n"));
}

// spec: RFC 3262 §3
#[test]
fn a_caller_supporting_100rel_gets_reliable_provisionals_until_it_pracks() {
    let mut h = ringing_100rel();
    let inv = h.invite_to(B1);
    h.respond(B1, &inv, 180, "b1", "");
    let sent = take_msgs(&mut h, CALLER);
    assert_eq!(sent.len(), 1, "{sent:?}");
    let first = &sent[0];
    assert_eq!(first.status().map(|c| c.as_u16()), Some(180));
    assert_eq!(header(first, "require"), "100rel");
    let rseq: u32 = header(first, "rseq").parse().expect("an RSeq");
    assert!((1..1 << 31).contains(&rseq));
    // Retransmitted at T1, then 2·T1 later.
    h.advance(Duration::from_millis(500));
    assert_eq!(take_msgs(&mut h, CALLER).len(), 1, "at T1");
    h.advance(Duration::from_millis(999));
    assert!(take_msgs(&mut h, CALLER).is_empty(), "not before 2·T1");
    h.advance(Duration::from_millis(1));
    assert_eq!(take_msgs(&mut h, CALLER).len(), 1, "at T1 + 2·T1");
    // A 183 while the 180 is unacknowledged waits (one at a time).
    h.respond(B1, &inv, 183, "b1", &sdp(7104));
    assert!(take_msgs(&mut h, CALLER).is_empty(), "queued behind the 180");
    // A PRACK naming nothing gets 481; the right one 200, and the 183 goes.
    prack(&mut h, &format!("{} 1 INVITE", rseq + 7), 2, "p1");
    let r = take_msgs(&mut h, CALLER);
    assert_eq!(
        r.iter().map(|m| m.status().map(|c| c.as_u16())).collect::<Vec<_>>(),
        vec![Some(481)]
    );
    prack(&mut h, &format!("{rseq} 1 INVITE"), 3, "p2");
    let r = take_msgs(&mut h, CALLER);
    let codes: Vec<_> = r.iter().filter_map(|m| m.status().map(|c| c.as_u16())).collect();
    assert_eq!(codes, vec![200, 183], "{r:?}");
    assert_eq!(header(&r[1], "rseq"), (rseq + 1).to_string());
    // Retransmissions of the 180 stopped; the 183's go on until its PRACK.
    h.advance(Duration::from_millis(500));
    let r = take_msgs(&mut h, CALLER);
    assert!(r.iter().all(|m| m.status().map(|c| c.as_u16()) == Some(183)), "{r:?}");
    prack(&mut h, &format!("{} 1 INVITE", rseq + 1), 4, "p3");
    take_msgs(&mut h, CALLER);
    h.advance(Duration::from_secs(10));
    assert!(take_msgs(&mut h, CALLER).is_empty(), "all acknowledged");
}

// spec: RFC 3262 §3
#[test]
fn a_reliable_provisional_never_pracked_ends_the_call_with_500() {
    let mut h = ringing_100rel();
    let inv = h.invite_to(B1);
    h.respond(B1, &inv, 180, "b1", "");
    h.advance(Duration::from_secs(33));
    let r = take_msgs(&mut h, CALLER);
    assert!(
        r.iter().any(|m| m.status().map(|c| c.as_u16()) == Some(500)),
        "{:?}",
        r.iter().map(|m| m.status()).collect::<Vec<_>>()
    );
    assert!(take_msgs(&mut h, B1)
        .iter()
        .any(|m| crate::harness::first_line(m).starts_with("CANCEL")));
    assert_eq!(
        h.call.as_ref().and_then(|c| c.end_cause.clone()).as_deref(),
        Some("prack_timeout")
    );
}

// spec: RFC 3262 §3
#[test]
fn a_caller_without_100rel_gets_plain_provisionals() {
    let mut h = CallHarness::new(true);
    h.invite(&sdp(7002));
    h.ring(&[B1]);
    h.wire.clear();
    let inv = h.invite_to(B1);
    h.respond(B1, &inv, 180, "b1", "");
    let r = take_msgs(&mut h, CALLER);
    assert_eq!(r.len(), 1);
    assert_eq!(header(&r[0], "rseq"), "");
    h.advance(Duration::from_secs(2));
    assert!(take_msgs(&mut h, CALLER).is_empty(), "not retransmitted");
}

// spec: RFC 3262 §4
#[test]
fn a_callees_reliable_provisional_is_pracked_once_and_relayed_once() {
    let mut h = CallHarness::new(true);
    h.invite(&sdp(7002));
    h.ring(&[B1]);
    let inv = h.invite_to(B1);
    assert!(
        header(&inv, "supported").contains("100rel"),
        "{}",
        header(&inv, "supported")
    );
    h.wire.clear();
    h.respond_with(B1, &inv, 180, "b1", "Require: 100rel\r\nRSeq: 7\r\n", "");
    let to_b = take_msgs(&mut h, B1);
    let pracks: Vec<_> = to_b
        .iter()
        .filter(|m| crate::harness::first_line(m).starts_with("PRACK"))
        .collect();
    assert_eq!(pracks.len(), 1, "{to_b:?}");
    assert_eq!(header(pracks[0], "rack"), "7 1 INVITE");
    assert!(header(pracks[0], "to").contains("tag=b1"), "in the early dialog");
    assert_eq!(take_msgs(&mut h, CALLER).len(), 1, "the caller hears the ringing");
    // The callee retransmits it (our PRACK crossed it): dropped.
    h.respond_with(B1, &inv, 180, "b1", "Require: 100rel\r\nRSeq: 7\r\n", "");
    assert!(
        !take_msgs(&mut h, B1)
            .iter()
            .any(|m| crate::harness::first_line(m).starts_with("PRACK")),
        "no second PRACK"
    );
    assert!(take_msgs(&mut h, CALLER).is_empty(), "not relayed twice");
}

// spec: RFC 3262 §3, §4
#[test]
fn with_both_sides_supporting_100rel_the_acknowledgement_goes_end_to_end() {
    let mut h = ringing_100rel();
    let inv = h.invite_to(B1);
    h.respond_with(B1, &inv, 180, "b1", "Require: 100rel\r\nRSeq: 7\r\n", "");
    let to_b = take_msgs(&mut h, B1);
    assert!(
        !to_b.iter().any(|m| crate::harness::first_line(m).starts_with("PRACK")),
        "the callee waits for the caller's PRACK: {to_b:?}"
    );
    let to_a = take_msgs(&mut h, CALLER);
    assert_eq!(to_a.len(), 1);
    let rseq = header(&to_a[0], "rseq");
    assert_eq!(header(&to_a[0], "require"), "100rel");
    prack(&mut h, &format!("{rseq} 1 INVITE"), 2, "pe");
    let to_b = take_msgs(&mut h, B1);
    let pracks: Vec<_> = to_b
        .iter()
        .filter(|m| crate::harness::first_line(m).starts_with("PRACK"))
        .collect();
    assert_eq!(pracks.len(), 1, "{to_b:?}");
    assert_eq!(header(pracks[0], "rack"), "7 1 INVITE");
}
