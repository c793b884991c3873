//! Media anchoring in the engine (issue 3 items 1, 2 and 4; `[media]
//! anchor = true`, the default): both legs' SDP name the switch, the media
//! workers are told to bind, relay and close, and in-dialog offers on an
//! anchored call are answered by the switch itself.

use crate::calls::{answer_call, two_phones, CALLEE_TAG};
use crate::sim::*;
use switchboard::call::media::{MediaCommand, MediaLeg};

/// RFC 3264 §6 through the anchor: the callee is offered the switch's
/// address, the caller is answered with the switch's address, and the relay
/// plan joins the two phones' signalled media addresses; BYE closes it.
#[test]
fn anchored_call_points_both_legs_at_the_switch() {
    let (mut h, mut caller, mut callee) = two_phones();
    let c = answer_call(&mut h, &mut caller, &mut callee);
    let b_offer = body_str(&c.b_invite);
    assert!(
        !b_offer.contains("192.0.2.10"),
        "the caller's address does not reach the callee: {b_offer}"
    );
    assert!(b_offer.contains("m=audio "), "the callee gets an offer: {b_offer}");
    let (prepare, relay) = match h.media.as_slice() {
        [MediaCommand::Prepare { a_local, b_local, .. }, MediaCommand::Relay { a, b, .. }] => {
            ((*a_local, *b_local), (a.clone(), b.clone()))
        }
        other => panic!("expected Prepare then Relay, got {other:?}"),
    };
    assert_eq!(relay.0.local, prepare.0, "the caller's leg uses the prepared socket");
    assert_eq!(relay.1.local, prepare.1);
    assert_ne!(prepare.0, prepare.1, "one port per leg");
    assert!(
        b_offer.contains(&format!("m=audio {} ", prepare.1.port())),
        "offer names our B port"
    );
    assert_eq!(
        relay.0.remote,
        Some(sock("192.0.2.10:40000")),
        "caller's signalled RTP address"
    );
    assert_eq!(
        relay.1.remote,
        Some(sock("192.0.2.11:50000")),
        "callee's signalled RTP address"
    );
    assert_eq!(relay.0.pt_map, vec![(0, 0)], "PCMU both ways");
    h.media.clear();
    let mut a_dlg = c.a_dlg;
    let bye = caller.in_dialog(&mut a_dlg, "BYE").text();
    h.send(&caller, &bye);
    h.expect_request(callee.addr, "BYE");
    assert!(
        h.media.iter().any(|m| matches!(m, MediaCommand::Close { .. })),
        "the call's media is closed: {:?}",
        h.media
    );
}

/// RFC 3264 §8.4 + RFC 6337 §5.1: a `sendonly` re-INVITE from the caller of
/// an anchored call is answered by the switch (`recvonly`), never reaches
/// the callee, and puts the callee on hold (music from the workers).
#[test]
fn anchored_hold_reinvite_is_answered_by_the_switch() {
    let (mut h, mut caller, mut callee) = two_phones();
    let c = answer_call(&mut h, &mut caller, &mut callee);
    h.media.clear();
    let mut a_dlg = c.a_dlg;
    let hold = sdp("192.0.2.10", 40000).replace("a=rtpmap:0 PCMU/8000\r\n", "a=rtpmap:0 PCMU/8000\r\na=sendonly\r\n");
    let reinv = caller.in_dialog(&mut a_dlg, "INVITE").body("application/sdp", &hold);
    h.send(&caller, &reinv.text());
    let ok = h.expect_response(caller.addr, 200);
    assert!(
        body_str(&ok).contains("a=recvonly"),
        "answer to sendonly: {}",
        body_str(&ok)
    );
    assert!(
        !h.wire.iter().any(|s| s.to == callee.addr && s.msg.is_request()),
        "nothing is relayed to the callee"
    );
    assert!(
        matches!(
            h.media.as_slice(),
            [
                MediaCommand::Update { leg: MediaLeg::A, .. },
                MediaCommand::Hold {
                    held: Some(MediaLeg::B),
                    ..
                }
            ]
        ),
        "{:?}",
        h.media
    );
}

/// RFC 3261 §13.2.1 + RFC 3264 §5 delayed offer through the anchor: the
/// callee is offered every codec by the switch, the caller gets the
/// switch's offer in the 200 (the callee's codec first), and the caller's
/// answer in its ACK starts the relay; the callee's ACK carries no SDP.
#[test]
fn delayed_offer_is_anchored_with_the_answer_in_the_ack() {
    let (mut h, mut caller, callee) = two_phones();
    let out = h.place_call_with(&mut caller, "1001", false);
    let b_invite = h.expect_request(callee.addr, "INVITE");
    let b_offer = body_str(&b_invite);
    let m_line = b_offer
        .lines()
        .find(|l| l.starts_with("m=audio"))
        .expect("an offer")
        .to_string();
    assert!(m_line.ends_with(" 0 8 111 101 110"), "every codec: {m_line}");
    let answer = sdp("192.0.2.11", 50000)
        .replace("RTP/AVP 0", "RTP/AVP 8")
        .replace("0 PCMU", "8 PCMA");
    let ok = response(
        &b_invite,
        200,
        "OK",
        Some(CALLEE_TAG),
        &[("Contact", &callee.contact())],
        Some(("application/sdp", &answer)),
    );
    h.send(&callee, &ok);
    let a200 = h.expect_response(caller.addr, 200);
    let a_offer = body_str(&a200);
    let m_line = a_offer
        .lines()
        .find(|l| l.starts_with("m=audio"))
        .expect("an offer")
        .to_string();
    assert!(
        m_line.ends_with(" 8 0 111 101 110"),
        "the callee's PCMA first: {m_line}"
    );
    assert!(
        !h.media.iter().any(|m| matches!(m, MediaCommand::Relay { .. })),
        "no relay before the caller's answer"
    );
    let a_dlg = caller.dialog_from_2xx(&out, &a200);
    let answer_a = sdp("192.0.2.10", 40000)
        .replace("RTP/AVP 0", "RTP/AVP 8")
        .replace("0 PCMU", "8 PCMA");
    let ack = caller
        .ack_2xx(&a_dlg, out.cseq)
        .body("application/sdp", &answer_a)
        .text();
    h.send(&caller, &ack);
    let b_ack = h.expect_request(callee.addr, "ACK");
    assert!(
        b_ack.body.is_empty(),
        "the caller's answer was the switch's: {}",
        body_str(&b_ack)
    );
    match h.media.iter().find(|m| matches!(m, MediaCommand::Relay { .. })) {
        Some(MediaCommand::Relay { a, b, .. }) => {
            assert_eq!(a.remote, Some(sock("192.0.2.10:40000")));
            assert_eq!(b.remote, Some(sock("192.0.2.11:50000")));
            assert_eq!(a.pt_map, vec![(8, 8)], "PCMA both ways: the fast path");
        }
        other => panic!("no relay plan: {other:?}"),
    }
}

/// RFC 3264 §5: a delayed-offer caller whose ACK carries no answer cannot
/// have media: the call is ended (BYE both ways), not left silent.
#[test]
fn delayed_offer_without_answer_in_ack_ends_the_call() {
    let (mut h, mut caller, callee) = two_phones();
    let out = h.place_call_with(&mut caller, "1001", false);
    let b_invite = h.expect_request(callee.addr, "INVITE");
    let ok = response(
        &b_invite,
        200,
        "OK",
        Some(CALLEE_TAG),
        &[("Contact", &callee.contact())],
        Some(("application/sdp", &sdp("192.0.2.11", 50000))),
    );
    h.send(&callee, &ok);
    let a200 = h.expect_response(caller.addr, 200);
    let a_dlg = caller.dialog_from_2xx(&out, &a200);
    let ack = caller.ack_2xx(&a_dlg, out.cseq).text();
    h.send(&caller, &ack);
    h.expect_request(caller.addr, "BYE");
    h.expect_request(callee.addr, "BYE");
    assert_eq!(h.cdrs[0].end_cause, "incompatible_media");
}

/// RFC 3261 §13.2.1 / RFC 3960 early media through the anchor: the
/// callee's 183 with SDP starts the relay and gives the caller the switch's
/// answer; the 200 repeats that same answer and starts nothing new.
#[test]
fn early_media_from_a_183_is_relayed_before_the_answer() {
    let (mut h, mut caller, callee) = two_phones();
    let _out = h.place_call(&mut caller, "1001");
    let b_invite = h.expect_request(callee.addr, "INVITE");
    let answer = sdp("192.0.2.11", 50000);
    let progress = response(
        &b_invite,
        183,
        "Session Progress",
        Some(CALLEE_TAG),
        &[("Contact", &callee.contact())],
        Some(("application/sdp", &answer)),
    );
    h.send(&callee, &progress);
    let a183 = h.expect_response(caller.addr, 183);
    let early_sdp = body_str(&a183);
    assert!(
        early_sdp.contains("m=audio"),
        "the caller gets the switch's answer: {early_sdp}"
    );
    assert!(!early_sdp.contains("192.0.2.11"), "not the callee's");
    let relays = |h: &Harness| {
        h.media
            .iter()
            .filter(|m| matches!(m, MediaCommand::Relay { .. }))
            .count()
    };
    assert_eq!(relays(&h), 1, "relay starts with early media: {:?}", h.media);
    let ok = response(
        &b_invite,
        200,
        "OK",
        Some(CALLEE_TAG),
        &[("Contact", &callee.contact())],
        Some(("application/sdp", &answer)),
    );
    h.send(&callee, &ok);
    let a200 = h.expect_response(caller.addr, 200);
    assert_eq!(body_str(&a200), early_sdp, "the 2xx repeats the early answer");
    assert_eq!(relays(&h), 1, "no second plan");
}

/// The media workers could not bind a routed call's ports: the caller gets
/// 503 and the callee's INVITE is cancelled, rather than a call without
/// audio.
#[test]
fn media_ports_that_cannot_be_bound_fail_the_call() {
    let (mut h, mut caller, callee) = two_phones();
    let _out = h.place_call(&mut caller, "1001");
    let b_invite = h.expect_request(callee.addr, "INVITE");
    let call = h.engine.calls_snapshot()[0].id;
    h.input(switchboard::engine::Input::MediaFailed { call });
    let refused = h.expect_response(caller.addr, 503);
    match &refused.start {
        switchboard::sip::msg::StartLine::Response { reason, .. } => {
            assert_eq!(&reason[..], b"Media Ports Unavailable")
        }
        other => panic!("not a response: {other:?}"),
    }
    // §9.1: the CANCEL waits for the callee's first provisional response.
    h.send(&callee, &response(&b_invite, 100, "Trying", None, &[], None));
    let cancel = h.expect_request(callee.addr, "CANCEL");
    assert_eq!(call_id(&cancel), call_id(&b_invite));
    assert_eq!(h.cdrs[0].end_cause, "media_unavailable");
}
