//! Media anchoring in the engine (issue 3 items 1, 2 and 4; `[media]
//! anchor = true`, the default): both legs' SDP name the switch, the media
//! workers are told to bind, relay and close, and in-dialog offers on an
//! anchored call are answered by the switch itself.

use crate::calls::{answer_call, two_phones};
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
