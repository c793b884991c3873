//! Transfers in the call core, in virtual time (CALL-XFER-1, -2,
//! CALL-CONSULT-4's transfer to the consultee): which legs are hung up,
//! what the customer hears while it waits, and that a waiting customer is
//! never dropped when a transfer's party does not answer.

use crate::harness::{self, sdp, CallHarness, CALLER};
use crate::{answered, caller_request, B1};
use switchboard::call::media::{MediaCommand, MediaLeg, PartyMode};
use switchboard::call::{CallEvent, ControlError, PartyTarget, Phase, Talk};

const BOB: &str = "127.0.0.1:7301";
const CAROL: &str = "127.0.0.1:7302";

fn target(addr: &str, agent: &str) -> PartyTarget {
    harness::party_target(addr, Some(agent), "Transfer from alice")
}

fn modes(h: &CallHarness) -> Vec<(MediaLeg, PartyMode)> {
    harness::last_modes(h)
}

fn talk(h: &CallHarness) -> (Phase, Talk) {
    let c = h.call.as_ref().expect("call");
    (c.phase, c.talk)
}

// spec: CALL-XFER-1
// spec: CALL-XFER-2
#[test]
fn a_blind_transfer_hangs_up_the_agent_and_the_customer_waits_with_music_for_the_next_party() {
    let mut h = answered();
    h.with(|c, ctx| c.hand_off(ctx, MediaLeg::B)).expect("hand off");
    assert!(
        h.take_to(B1).iter().any(|l| l.starts_with("BYE")),
        "alice's phone is hung up"
    );
    assert!(h.take_to_is_empty(CALLER), "the customer's dialog is untouched");
    assert!(
        h.media
            .iter()
            .any(|m| matches!(m, MediaCommand::PartyLeave { leg: MediaLeg::B, .. })),
        "alice's leg leaves the media: {:?}",
        h.media
    );
    assert_eq!(modes(&h), vec![(MediaLeg::A, PartyMode::Held)], "music while waiting");
    assert_eq!(talk(&h), (Phase::Answered, Talk::Transferring));
    // bob's phone rings and is busy: the customer goes on waiting.
    let bob = h
        .with(|c, ctx| c.ring_transfer(ctx, target(BOB, "bob")))
        .expect("ring bob");
    let inv = h.invite_to(BOB);
    h.respond(BOB, &inv, 486, "bob1", "");
    assert!(h.events.contains(&CallEvent::PartyFailed {
        party: bob,
        code: switchboard::sip::msg::StatusCode::BUSY_HERE
    }));
    assert_eq!(talk(&h), (Phase::Answered, Talk::Transferring), "never dropped");
    assert!(h.take_to_is_empty(CALLER));
    // carol answers: the customer talks with her once the engine takes it.
    let carol = h
        .with(|c, ctx| c.ring_transfer(ctx, target(CAROL, "carol")))
        .expect("ring carol");
    let inv = h.invite_to(CAROL);
    h.respond(CAROL, &inv, 200, "carol1", &sdp(7306));
    assert!(h.events.contains(&CallEvent::PartyAnswered { party: carol }));
    h.with(|c, ctx| c.transfer_connected(ctx));
    assert_eq!(
        modes(&h),
        vec![
            (MediaLeg::A, PartyMode::Talk),
            (MediaLeg::Party(carol), PartyMode::Talk)
        ]
    );
    assert_eq!(talk(&h), (Phase::Answered, Talk::Direct));
    // carol hangs up: like any two-party call, it ends.
    h.wire.clear();
    let bye = format!(
        "BYE sip:caller@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP {CAROL};branch=z9hG4bKcb\r\nMax-Forwards: 70\r\n\
         From: {};tag=carol1\r\nTo: {}\r\nCall-ID: {}\r\nCSeq: 1 BYE\r\nContent-Length: 0\r\n\r\n",
        header(&inv, "to"),
        header(&inv, "from"),
        header(&inv, "call-id")
    );
    h.deliver(&bye, CAROL);
    assert!(h.take_to(CALLER).iter().any(|l| l.starts_with("BYE")));
    assert_eq!(talk(&h).0, Phase::Ended);
}

fn header(m: &switchboard::sip::msg::Message, name: &str) -> String {
    m.headers
        .iter()
        .find(|x| x.name.as_bytes().eq_ignore_ascii_case(name.as_bytes()))
        .map(|x| String::from_utf8_lossy(&x.value).into_owned())
        .expect("header")
}

// spec: CALL-XFER-1
#[test]
fn a_customer_who_hangs_up_while_waiting_ends_the_call_and_the_ringing_phone_is_cancelled() {
    let mut h = answered();
    h.with(|c, ctx| c.hand_off(ctx, MediaLeg::B)).expect("hand off");
    h.with(|c, ctx| c.ring_transfer(ctx, target(BOB, "bob")))
        .expect("ring bob");
    let inv = h.invite_to(BOB);
    h.respond(BOB, &inv, 180, "bob1", "");
    h.wire.clear();
    caller_request(&mut h, "BYE", 2, "bye1");
    assert_eq!(h.take_to(CALLER), vec!["200"]);
    assert!(h.take_to(BOB).iter().any(|l| l.starts_with("CANCEL")));
    assert_eq!(talk(&h).0, Phase::Ended);
}

// spec: CALL-XFER-1
#[test]
fn a_blind_transfer_needs_the_customer_and_the_agent_alone() {
    let mut h = answered();
    h.with(|c, ctx| c.consult(ctx, MediaLeg::B, target(BOB, "bob")))
        .expect("consult");
    assert_eq!(
        h.with(|c, ctx| c.hand_off(ctx, MediaLeg::B)),
        Err(ControlError::Conflict(
            "a consult is running: transfer to the consultee or end the consult first"
        ))
    );
    // Nor can a transfer's party ring into a consult.
    assert_eq!(
        h.with(|c, ctx| c.ring_transfer(ctx, target(CAROL, "carol"))),
        Err(ControlError::Conflict("no transfer is under way"))
    );
    let mut h = answered();
    h.with(|c, ctx| c.hand_off(ctx, MediaLeg::B)).expect("hand off");
    assert_eq!(
        h.with(|c, ctx| c.hand_off(ctx, MediaLeg::B)),
        Err(ControlError::Conflict("a transfer is already under way"))
    );
}

// spec: CALL-CONSULT-4
#[test]
fn a_transfer_to_the_consultee_hangs_up_the_initiator_and_connects_the_customer() {
    let mut h = answered();
    let bob = h
        .with(|c, ctx| c.consult(ctx, MediaLeg::B, target(BOB, "bob")))
        .expect("consult");
    assert_eq!(
        h.with(|c, ctx| c.transfer_to_consultee(ctx)),
        Err(ControlError::Conflict(
            "the consulted party has not answered yet (CALL-CONSULT-2)"
        ))
    );
    let inv = h.invite_to(BOB);
    h.respond(BOB, &inv, 200, "bob1", &sdp(7304));
    h.wire.clear();
    assert_eq!(h.with(|c, ctx| c.transfer_to_consultee(ctx)), Ok(MediaLeg::B));
    assert!(h.take_to(B1).iter().any(|l| l.starts_with("BYE")), "alice is hung up");
    assert!(h.take_to_is_empty(CALLER) && h.take_to_is_empty(BOB));
    assert_eq!(
        modes(&h),
        vec![(MediaLeg::A, PartyMode::Talk), (MediaLeg::Party(bob), PartyMode::Talk)],
        "the customer off hold, talking with bob"
    );
    let c = h.call.as_ref().expect("call");
    assert_eq!((c.phase, c.talk, c.consult), (Phase::Answered, Talk::Direct, None));
}
