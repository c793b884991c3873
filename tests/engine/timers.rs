//! Call timers in virtual time: the route's no-answer timeout, 2xx
//! retransmission to the caller (RFC 3261 §13.3.1.4) and Timer B
//! (§17.1.1.2).

use crate::calls::{two_phones, CALLEE_TAG};
use crate::sim::*;
use std::time::Duration;

fn ring(h: &mut Harness, caller: &mut Ua, callee: &Ua, dialled: &str) -> switchboard::sip::msg::Message {
    h.place_call(caller, dialled);
    let inv = h.expect_request(callee.addr, "INVITE");
    h.send(
        callee,
        &response(
            &inv,
            180,
            "Ringing",
            Some(CALLEE_TAG),
            &[("Contact", &callee.contact())],
            None,
        ),
    );
    h.expect_response(caller.addr, 180);
    inv
}

/// The route's no-answer timeout (dialplan default 30 s for 1001): at the
/// deadline the caller gets 480 and the ringing leg is CANCELled.
#[test]
fn no_answer_timeout_gives_480_and_cancels_callee() {
    let (mut h, mut caller, callee) = two_phones();
    let inv = ring(&mut h, &mut caller, &callee, "1001");
    h.advance(Duration::from_millis(29_999));
    assert_eq!(
        h.count(caller.addr, |m| m.status().is_some_and(|c| c.as_u16() >= 200)),
        0,
        "no final before 30 s"
    );
    h.assert_silent(callee.addr);
    h.advance(ms(1));
    let r = h.expect_response_to(caller.addr, 480, "INVITE");
    assert_eq!(reason(&r), "No Answer");
    let cancel = h.expect_request(callee.addr, "CANCEL");
    assert_eq!(call_id(&cancel), call_id(&inv));
    assert_eq!(h.cdrs.len(), 1);
    assert_eq!(h.cdrs[0].end_cause, "no_answer");
    assert_eq!(h.cdrs[0].sip_code, Some(480));
    assert_eq!(h.cdrs[0].end_ms - h.cdrs[0].start_ms, 30_000);
    h.send(&callee, &response(&cancel, 200, "OK", Some(CALLEE_TAG), &[], None));
    h.send(
        &callee,
        &response(&inv, 487, "Request Terminated", Some(CALLEE_TAG), &[], None),
    );
    h.expect_request(callee.addr, "ACK");
}

/// A user's own `no_answer_timeout_s` (1000 rings for 20 s) applies when
/// the rule sets none.
#[test]
fn no_answer_timeout_uses_the_users_setting() {
    let mut h = Harness::new();
    let mut caller = Ua::phone("1001", "192.0.2.11");
    let mut callee = Ua::phone("1000", "192.0.2.10");
    h.register(&mut callee, 3600);
    ring(&mut h, &mut caller, &callee, "1000");
    h.advance(secs(19));
    h.assert_silent(caller.addr);
    h.advance(secs(1));
    h.expect_response_to(caller.addr, 480, "INVITE");
    h.expect_request(callee.addr, "CANCEL");
}

/// RFC 3261 §13.3.1.4: over UDP the 2xx is retransmitted at T1, 2·T1,
/// 4·T1… capped at T2, until the ACK arrives; the ACK stops it.
#[test]
fn ok_to_caller_is_retransmitted_with_t1_doubling_until_ack() {
    let (mut h, mut caller, callee) = two_phones();
    let out = h.place_call(&mut caller, "1001");
    let inv = h.expect_request(callee.addr, "INVITE");
    h.send(
        &callee,
        &response(
            &inv,
            200,
            "OK",
            Some(CALLEE_TAG),
            &[("Contact", &callee.contact())],
            Some(("application/sdp", &sdp("192.0.2.11", 5))),
        ),
    );
    let t0 = h.elapsed;
    let first = h.expect_response(caller.addr, 200);
    h.advance(Duration::from_millis(15_600));
    let sent = h.take_sent(caller.addr);
    let times: Vec<u64> = sent.iter().map(|s| (s.at - t0).as_millis() as u64).collect();
    assert!(sent.iter().all(|s| s.msg.status().map(|c| c.as_u16()) == Some(200)));
    assert!(
        sent.iter()
            .all(|s| s.msg.body == first.body && to_tag(&s.msg) == to_tag(&first)),
        "identical retransmissions"
    );
    // T1 = 500 ms, T2 = 4 s: +0.5, +1, +2, +4, +4, +4.
    assert_eq!(times, vec![500, 1_500, 3_500, 7_500, 11_500, 15_500]);
    let a_dlg = caller.dialog_from_2xx(&out, &first);
    h.send(&caller, &caller.clone().ack_2xx(&a_dlg, out.cseq).text());
    h.expect_request(callee.addr, "ACK");
    h.advance(secs(60));
    h.assert_silent(caller.addr);
    h.assert_silent(callee.addr);
    assert!(h.cdrs.is_empty(), "the call is still up");
}

/// RFC 3261 §13.3.1.4: no ACK within 64·T1 → the session is ended with
/// BYE on both legs.
#[test]
fn no_ack_for_64_t1_ends_call_with_bye_on_both_legs() {
    let (mut h, mut caller, callee) = two_phones();
    let out = h.place_call(&mut caller, "1001");
    let inv = h.expect_request(callee.addr, "INVITE");
    h.send(
        &callee,
        &response(
            &inv,
            200,
            "OK",
            Some(CALLEE_TAG),
            &[("Contact", &callee.contact())],
            Some(("application/sdp", &sdp("192.0.2.11", 5))),
        ),
    );
    let t0 = h.elapsed;
    h.expect_response(caller.addr, 200);
    h.advance(Duration::from_millis(31_999));
    assert_eq!(h.count(caller.addr, |m| m.method().is_some()), 0, "no BYE before 64·T1");
    assert_eq!(
        h.count(callee.addr, |m| m.method().is_some()),
        0,
        "no BYE (nor ACK) to the callee before 64·T1"
    );
    h.advance(secs(5));
    let a_bye = h.take_where(caller.addr, "BYE", |m| {
        m.method().is_some_and(|x| x.as_bytes() == b"BYE")
    });
    assert_eq!(call_id(&a_bye), out.call_id);
    let b_bye = h.take_where(callee.addr, "BYE", |m| {
        m.method().is_some_and(|x| x.as_bytes() == b"BYE")
    });
    assert_eq!(call_id(&b_bye), call_id(&inv));
    assert_eq!(h.cdrs.len(), 1);
    assert_eq!(h.cdrs[0].end_cause, "no_ack");
    let ended_after = h.cdrs[0].end_ms - (1_700_000_000_000 + t0.as_millis() as u64);
    assert!(
        (32_000..=36_000).contains(&ended_after),
        "ended {ended_after} ms after the 2xx"
    );
}

/// The callee leg's B2BUA must ACK the callee's 2xx before BYEing it
/// (§13.2.2.4: the UAC MUST ACK every 2xx), even when the caller never ACKs.
#[test]
fn callee_2xx_is_acked_even_if_caller_never_acks() {
    let (mut h, mut caller, callee) = two_phones();
    h.place_call(&mut caller, "1001");
    let inv = h.expect_request(callee.addr, "INVITE");
    h.send(
        &callee,
        &response(
            &inv,
            200,
            "OK",
            Some(CALLEE_TAG),
            &[("Contact", &callee.contact())],
            Some(("application/sdp", &sdp("192.0.2.11", 5))),
        ),
    );
    h.advance(secs(40));
    h.expect_request(callee.addr, "ACK");
}

/// RFC 3261 §17.1.1.2 Timer B: a callee that never answers the INVITE
/// (no provisional at all) times out after 64·T1 = 32 s and the caller
/// gets 408 (the no-answer timer is set longer here).
#[test]
fn timer_b_gives_408_when_callee_never_answers() {
    let dialplan = r#"
default_no_answer_timeout_s = 120

[[context.internal]]
match = { regex = "^100[0-9]$" }
action = "user"
no_answer_timeout_s = 120

[[context.external]]
match = { regex = "^100[0-9]$" }
action = "user"
"#;
    let mut h = Harness::with_files(&[("dialplan.toml", dialplan)]);
    let mut caller = Ua::phone("1000", "192.0.2.10");
    let mut callee = Ua::phone("1001", "192.0.2.11");
    h.register(&mut callee, 3600);
    h.place_call(&mut caller, "1001");
    let t0 = h.elapsed;
    h.advance(Duration::from_millis(31_999));
    let invites = h.take_sent(callee.addr);
    let times: Vec<u64> = invites.iter().map(|s| (s.at - t0).as_millis() as u64).collect();
    // Timer A: 0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5 s.
    assert_eq!(times, vec![0, 500, 1_500, 3_500, 7_500, 15_500, 31_500]);
    assert!(invites
        .iter()
        .all(|s| s.msg.method().is_some_and(|m| m.as_bytes() == b"INVITE")));
    h.assert_silent(caller.addr);
    h.advance(ms(1));
    let r = h.expect_response_to(caller.addr, 408, "INVITE");
    assert!(to_tag(&r).is_some());
    assert_eq!(h.cdrs.len(), 1);
    assert_eq!(h.cdrs[0].sip_code, Some(408));
    h.assert_silent(callee.addr);
}
