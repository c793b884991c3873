//! Parallel forking to every registered contact (RFC 3261 §16.7-style
//! behaviour of the B2BUA): first 2xx wins, the rest are CANCELled; when
//! all fail the best failure is relayed.

use crate::calls::CALLEE_TAG;
use crate::sim::*;
use switchboard::call::failure_rank;
use switchboard::call::media::MediaCommand;
use switchboard::sip::msg::StatusCode;

/// Caller 1000; user 1001 registered from two devices.
fn forked() -> (Harness, Ua, Ua, Ua) {
    let mut h = Harness::new();
    let caller = Ua::phone("1000", "192.0.2.10");
    let mut desk = Ua::phone("1001", "192.0.2.21");
    let mut soft = Ua::phone("1001", "192.0.2.22");
    h.register(&mut desk, 3600);
    h.register(&mut soft, 3600);
    let now = h.now();
    assert_eq!(h.engine.bindings(now, "1001").len(), 2);
    (h, caller, desk, soft)
}

/// §16.6/§16.7 parallel search: one INVITE per contact; the first 2xx
/// wins and the other leg is CANCELled (§16.7 step 10 / §9.1).
#[test]
fn fork_first_200_wins_and_other_leg_is_cancelled() {
    let (mut h, mut caller, desk, soft) = forked();
    let out = h.place_call(&mut caller, "1001");
    let inv_desk = h.expect_request(desk.addr, "INVITE");
    let inv_soft = h.expect_request(soft.addr, "INVITE");
    assert_eq!(inv_desk.uri().unwrap().to_string(), "sip:1001@192.0.2.21:5062");
    assert_eq!(inv_soft.uri().unwrap().to_string(), "sip:1001@192.0.2.22:5062");
    assert_ne!(call_id(&inv_desk), call_id(&inv_soft), "each B leg is its own dialog");
    h.send(
        &desk,
        &response(
            &inv_desk,
            180,
            "Ringing",
            Some("desk1"),
            &[("Contact", &desk.contact())],
            None,
        ),
    );
    h.send(
        &soft,
        &response(
            &inv_soft,
            180,
            "Ringing",
            Some("soft1"),
            &[("Contact", &soft.contact())],
            None,
        ),
    );
    h.take(caller.addr);
    let answer = sdp("192.0.2.22", 50000);
    h.send(
        &soft,
        &response(
            &inv_soft,
            200,
            "OK",
            Some("soft1"),
            &[("Contact", &soft.contact())],
            Some(("application/sdp", &answer)),
        ),
    );
    let a200 = h.expect_response(caller.addr, 200);
    // Anchored (the default): the caller's answer names the switch, and the
    // relay plan sends to the winner's media address.
    assert!(
        !body_str(&a200).contains("192.0.2.2"),
        "the callee's address does not leak"
    );
    assert!(
        h.media.iter().any(|c| matches!(c, MediaCommand::Relay { b, .. }
            if b.remote.is_some_and(|r| r.ip().to_string() == "192.0.2.22"))),
        "relay towards the answering contact: {:?}",
        h.media
    );
    let cancel = h.expect_request(desk.addr, "CANCEL");
    assert_eq!(call_id(&cancel), call_id(&inv_desk));
    h.send(&desk, &response(&cancel, 200, "OK", Some("desk1"), &[], None));
    h.send(
        &desk,
        &response(&inv_desk, 487, "Request Terminated", Some("desk1"), &[], None),
    );
    h.expect_request(desk.addr, "ACK");
    // The caller completes the call with the soft phone.
    let a_dlg = caller.dialog_from_2xx(&out, &a200);
    h.send(&caller, &caller.clone().ack_2xx(&a_dlg, out.cseq).text());
    let ack = h.expect_request(soft.addr, "ACK");
    assert_eq!(call_id(&ack), call_id(&inv_soft));
    // The caller never hears the losing leg's 487.
    assert_eq!(
        h.count(caller.addr, |m| m.status().is_some_and(|c| c.as_u16() >= 300)),
        0
    );
    h.assert_silent(desk.addr);
}

/// A second 2xx from another fork after the call is answered is ACKed and
/// BYEd (§13.2.2.4 / §16.7 step 5: only one 2xx wins).
#[test]
fn fork_late_second_200_is_acked_and_byed() {
    let (mut h, mut caller, desk, soft) = forked();
    h.place_call(&mut caller, "1001");
    let inv_desk = h.expect_request(desk.addr, "INVITE");
    let inv_soft = h.expect_request(soft.addr, "INVITE");
    h.send(
        &desk,
        &response(
            &inv_desk,
            180,
            "Ringing",
            Some("desk1"),
            &[("Contact", &desk.contact())],
            None,
        ),
    );
    h.expect_response(caller.addr, 180);
    h.send(
        &soft,
        &response(
            &inv_soft,
            200,
            "OK",
            Some("soft1"),
            &[("Contact", &soft.contact())],
            Some(("application/sdp", &sdp("192.0.2.22", 1))),
        ),
    );
    h.expect_response(caller.addr, 200);
    h.expect_request(desk.addr, "CANCEL");
    // The desk phone answered at the same moment (crossed with the CANCEL).
    h.send(
        &desk,
        &response(
            &inv_desk,
            200,
            "OK",
            Some("desk1"),
            &[("Contact", &desk.contact())],
            Some(("application/sdp", &sdp("192.0.2.21", 1))),
        ),
    );
    let ack = h.expect_request(desk.addr, "ACK");
    assert_eq!(to_tag(&ack).as_deref(), Some("desk1"));
    let bye = h.expect_request(desk.addr, "BYE");
    assert_eq!(call_id(&bye), call_id(&inv_desk));
    assert_eq!(
        h.count(caller.addr, |m| m.status().is_some()),
        0,
        "the caller sees one 2xx only"
    );
}

/// RFC 3261 §9.1: a losing leg that has sent no provisional yet is not
/// CANCELled until its first provisional arrives; then it is.
#[test]
fn fork_cancel_to_silent_leg_waits_for_its_provisional() {
    let (mut h, mut caller, desk, soft) = forked();
    h.place_call(&mut caller, "1001");
    let inv_desk = h.expect_request(desk.addr, "INVITE");
    let inv_soft = h.expect_request(soft.addr, "INVITE");
    h.send(
        &soft,
        &response(
            &inv_soft,
            200,
            "OK",
            Some("soft1"),
            &[("Contact", &soft.contact())],
            Some(("application/sdp", &sdp("192.0.2.22", 1))),
        ),
    );
    h.expect_response(caller.addr, 200);
    assert_eq!(
        h.count(desk.addr, |m| m.method().is_some_and(|x| x.as_bytes() == b"CANCEL")),
        0,
        "CANCEL held until a provisional"
    );
    h.send(
        &desk,
        &response(
            &inv_desk,
            180,
            "Ringing",
            Some("desk1"),
            &[("Contact", &desk.contact())],
            None,
        ),
    );
    let cancel = h.expect_request(desk.addr, "CANCEL");
    assert_eq!(call_id(&cancel), call_id(&inv_desk));
    assert_eq!(
        h.count(caller.addr, |m| m.status().is_some_and(|c| c.as_u16() == 180)),
        0,
        "a losing leg's 180 after the answer is not relayed"
    );
}

/// §16.7 step 6: when every fork fails, the caller gets the best failure,
/// as ranked by `call::failure_rank` (here 486 from one device and 404
/// from the other).
#[test]
fn fork_all_fail_relays_best_failure_by_failure_rank() {
    let (mut h, mut caller, desk, soft) = forked();
    h.place_call(&mut caller, "1001");
    let inv_desk = h.expect_request(desk.addr, "INVITE");
    let inv_soft = h.expect_request(soft.addr, "INVITE");
    h.send(&desk, &response(&inv_desk, 486, "Busy Here", Some("desk1"), &[], None));
    h.expect_request(desk.addr, "ACK");
    h.assert_silent(caller.addr);
    h.send(&soft, &response(&inv_soft, 404, "Not Found", Some("soft1"), &[], None));
    h.expect_request(soft.addr, "ACK");
    let best = [StatusCode::BUSY_HERE, StatusCode::NOT_FOUND]
        .into_iter()
        .min_by_key(|c| failure_rank(*c))
        .unwrap();
    let fin = h.expect_response_to(caller.addr, best.as_u16(), "INVITE");
    assert!(to_tag(&fin).is_some());
    assert_eq!(h.cdrs.len(), 1);
    assert_eq!(h.cdrs[0].sip_code, Some(best.as_u16()));
}

/// A real device's 486 Busy Here beats a 404 from another (stale) contact:
/// busy says more about the user (`call::failure_rank`).
#[test]
fn fork_busy_beats_not_found() {
    let (mut h, mut caller, desk, soft) = forked();
    h.place_call(&mut caller, "1001");
    let inv_desk = h.expect_request(desk.addr, "INVITE");
    let inv_soft = h.expect_request(soft.addr, "INVITE");
    h.send(&desk, &response(&inv_desk, 486, "Busy Here", Some("desk1"), &[], None));
    h.send(&soft, &response(&inv_soft, 404, "Not Found", Some("soft1"), &[], None));
    h.expect_response_to(caller.addr, 486, "INVITE");
}

/// §16.7 step 6: a 503 from downstream is relayed as 500 (it must not
/// make the caller think the switch itself is overloaded).
#[test]
fn single_leg_503_becomes_500() {
    let mut h = Harness::new();
    let mut caller = Ua::phone("1000", "192.0.2.10");
    let mut callee = Ua::phone("1001", "192.0.2.11");
    h.register(&mut callee, 3600);
    h.place_call(&mut caller, "1001");
    let inv = h.expect_request(callee.addr, "INVITE");
    h.send(
        &callee,
        &response(
            &inv,
            503,
            "Service Unavailable",
            Some(CALLEE_TAG),
            &[("Retry-After", "30")],
            None,
        ),
    );
    let fin = h.expect_response_to(caller.addr, 500, "INVITE");
    assert!(to_tag(&fin).is_some());
}
