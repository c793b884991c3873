//! Consult and conference in the call core, in virtual time
//! (CALL-HOLD-2, CALL-CONSULT-1..4, CALL-CONF-1..4): what the parties'
//! phones get on the wire, the media modes, and the events for the engine.

use crate::harness::{self, first_line, peer_request, sdp, sock, CallHarness, CALLER};
use crate::{answered, caller_request, B1};
use switchboard::call::media::{MediaCommand, MediaLeg, PartyMode};
use switchboard::call::{CallEvent, ControlError, PartyKind, PartyTarget, Phase, Talk};
use switchboard::sip::msg::{Message, Uri};

const BOB: &str = "127.0.0.1:7301";

fn target(addr: &str, agent: &str) -> PartyTarget {
    harness::party_target(addr, Some(agent), "Consult from alice")
}

fn modes(h: &CallHarness) -> Vec<(MediaLeg, PartyMode)> {
    harness::last_modes(h)
}

fn mode_of(h: &CallHarness, leg: MediaLeg) -> Option<PartyMode> {
    modes(h).into_iter().find(|(l, _)| *l == leg).map(|(_, m)| m)
}

/// alice (B1) consults bob; returns bob's INVITE.
fn consulting() -> (CallHarness, Message) {
    let mut h = answered();
    let party = h
        .with(|c, ctx| c.consult(ctx, MediaLeg::B, target(BOB, "bob")))
        .expect("consult placed");
    assert_eq!(party, 1);
    let inv = h.invite_to(BOB);
    (h, inv)
}

/// ... and bob answers.
fn consult_answered() -> (CallHarness, Message) {
    let (mut h, inv) = consulting();
    h.respond(BOB, &inv, 200, "bob1", &sdp(7304));
    (h, inv)
}

// spec: CALL-CONSULT-1
// spec: CALL-HOLD-2
#[test]
fn consult_rings_the_party_from_its_own_port_and_holds_the_customer() {
    let (mut h, inv) = consulting();
    let body = String::from_utf8_lossy(&inv.body).into_owned();
    assert!(body.contains("a=sendrecv"), "{body}");
    let port = h.media.iter().find_map(|m| match m {
        MediaCommand::PartyPrepare { party: 1, local, .. } => Some(local.port()),
        _ => None,
    });
    assert!(
        port.is_some_and(|p| body.contains(&format!("m=audio {p} "))),
        "the offer comes from the party's own port"
    );
    assert_eq!(mode_of(&h, MediaLeg::A), Some(PartyMode::Held));
    assert_eq!(mode_of(&h, MediaLeg::B), Some(PartyMode::Talk));
    assert!(h.take_to_is_empty(CALLER), "the customer's dialog is untouched");
}

// spec: CALL-CONSULT-2
#[test]
fn merge_waits_for_the_answer_but_toggle_does_not() {
    let (mut h, inv) = consulting();
    assert_eq!(
        h.with(|c, ctx| c.merge(ctx)),
        Err(ControlError::Conflict(
            "the consulted party has not answered yet (CALL-CONSULT-2)"
        ))
    );
    h.with(|c, ctx| c.toggle(ctx))
        .expect("back to the customer while it rings");
    assert_eq!(mode_of(&h, MediaLeg::A), Some(PartyMode::Talk));
    h.respond(BOB, &inv, 180, "bob1", "");
    assert!(h.events.contains(&CallEvent::PartyRinging { party: 1 }));
    h.respond(BOB, &inv, 200, "bob1", &sdp(7304));
    assert!(h.events.contains(&CallEvent::PartyAnswered { party: 1 }));
    assert!(h.media.iter().any(|m| matches!(
        m,
        MediaCommand::PartyJoin {
            party: 1,
            mode: PartyMode::Held,
            ..
        }
    )));
    assert_eq!(
        h.take_to(BOB).last().map(String::as_str),
        Some("ACK sip:x@127.0.0.1:7301")
    );
    h.with(|c, ctx| c.merge(ctx)).expect("merge once answered");
    assert!(modes(&h).iter().all(|(_, m)| *m == PartyMode::Talk), "{:?}", modes(&h));
    assert_eq!(modes(&h).len(), 3);
}

// spec: CALL-HOLD-2
// spec: CALL-CONSULT-4
#[test]
fn toggling_swaps_who_is_held_and_never_holds_both() {
    let (mut h, _) = consult_answered();
    for _ in 0..3 {
        let (a, p) = (mode_of(&h, MediaLeg::A), mode_of(&h, MediaLeg::Party(1)));
        assert!(
            !(a == Some(PartyMode::Held) && p == Some(PartyMode::Held)),
            "both held: {:?}",
            modes(&h)
        );
        assert!(a == Some(PartyMode::Held) || p == Some(PartyMode::Held));
        h.with(|c, ctx| c.toggle(ctx)).expect("toggle");
    }
}

// spec: CALL-CONSULT-3
#[test]
fn a_consult_that_is_refused_fails_and_the_customer_stays_held() {
    let (mut h, inv) = consulting();
    h.respond(BOB, &inv, 486, "bob1", "");
    assert!(h
        .events
        .iter()
        .any(|e| matches!(e, CallEvent::PartyFailed { party: 1, code } if code.as_u16() == 486)));
    assert!(h
        .call
        .as_ref()
        .is_some_and(|c| c.consult.is_none() && c.phase == Phase::Answered));
    assert!(h.media.iter().any(|m| matches!(
        m,
        MediaCommand::Hold {
            held: Some(MediaLeg::A),
            ..
        }
    )));
    // The agent resumes the customer as from any hold.
    h.with(|c, ctx| c.control(ctx, switchboard::call::CallControl::Resume))
        .expect("resume");
}

// spec: CALL-CONSULT-4
#[test]
fn the_consultee_may_leave_and_the_customer_call_goes_on() {
    let (mut h, inv) = consult_answered();
    h.wire.clear();
    peer_request(&mut h, &inv, BOB, "bob1", "BYE", 1);
    assert_eq!(h.take_to(BOB), vec!["200"]);
    assert!(h.events.contains(&CallEvent::PartyLeft {
        leg: MediaLeg::Party(1)
    }));
    assert!(
        h.take_to_is_empty(CALLER) && h.take_to_is_empty(B1),
        "nobody else is hung up"
    );
    assert_eq!(h.call.as_ref().map(|c| c.phase), Some(Phase::Answered));
    assert!(h.media.iter().any(|m| matches!(
        m,
        MediaCommand::PartyLeave {
            leg: MediaLeg::Party(1),
            ..
        }
    )));
}

// spec: CALL-CONSULT-4
#[test]
fn ending_the_consult_hangs_up_the_party_and_resumes_the_customer() {
    let (mut h, _) = consult_answered();
    h.wire.clear();
    h.with(|c, ctx| c.end_consult(ctx)).expect("end consult");
    assert!(h.take_to(BOB).iter().any(|l| l.starts_with("BYE")));
    assert_eq!(
        modes(&h),
        vec![(MediaLeg::A, PartyMode::Talk), (MediaLeg::B, PartyMode::Talk)]
    );
    // While it still rings, ending the consult CANCELs it (once the phone
    // sent a provisional response, RFC 3261 §9.1) and a late 2xx is hung up.
    let (mut h, inv) = consulting();
    h.with(|c, ctx| c.end_consult(ctx)).expect("end consult");
    h.wire.clear();
    h.respond(BOB, &inv, 180, "bob1", "");
    assert_eq!(h.take_to(BOB), vec!["CANCEL sip:1002@127.0.0.1:7301"]);
    h.respond(BOB, &inv, 200, "bob1", &sdp(7304));
    let sent = h.take_to(BOB);
    assert!(
        sent.iter().any(|l| l.starts_with("ACK")) && sent.iter().any(|l| l.starts_with("BYE")),
        "{sent:?}"
    );
    assert!(!h.events.iter().any(|e| matches!(e, CallEvent::PartyAnswered { .. })));
}

// spec: CALL-CONF-4
#[test]
fn the_customer_leaving_a_conference_leaves_the_agents_in_post_call() {
    let (mut h, _) = consult_answered();
    h.with(|c, ctx| c.merge(ctx)).expect("merge");
    h.wire.clear();
    caller_request(&mut h, "BYE", 2, "bye1");
    assert_eq!(h.take_to(CALLER), vec!["200"]);
    assert!(
        h.take_to_is_empty(B1) && h.take_to_is_empty(BOB),
        "the agents stay connected"
    );
    assert!(h.events.contains(&CallEvent::PartyLeft { leg: MediaLeg::A }));
    let call = h.call.as_ref().expect("call");
    assert_eq!((call.phase, call.talk), (Phase::Answered, Talk::PostCall));
    assert_eq!(
        h.with(|c, ctx| c.consult(ctx, MediaLeg::B, target("127.0.0.1:7401", "carol"))),
        Err(ControlError::Conflict(
            "the customer has left: no party can be added (CALL-CONF-4)"
        ))
    );
}

// spec: CALL-CONF-2
// spec: CALL-CONF-3
#[test]
fn the_primary_leaving_keeps_the_call_until_one_party_remains() {
    let (mut h, inv) = consult_answered();
    h.with(|c, ctx| c.merge(ctx)).expect("merge");
    h.wire.clear();
    let b1_invite = h.invite_to(B1);
    peer_request(&mut h, &b1_invite, B1, "b1", "BYE", 1);
    assert_eq!(h.take_to(B1), vec!["200"]);
    assert!(h.events.contains(&CallEvent::PartyLeft { leg: MediaLeg::B }));
    assert!(h.take_to_is_empty(CALLER), "the customer talks on with bob");
    assert_eq!(h.call.as_ref().map(|c| c.phase), Some(Phase::Answered));
    // bob leaves too: only the customer remains, the call ends.
    peer_request(&mut h, &inv, BOB, "bob1", "BYE", 1);
    assert!(h.take_to(CALLER).iter().any(|l| l.starts_with("BYE")));
    assert_eq!(h.call.as_ref().map(|c| c.phase), Some(Phase::Ended));
}

// spec: CALL-CONF-1
#[test]
fn a_ninth_party_is_refused() {
    let mut h = answered();
    for n in 0..6u16 {
        let addr = format!("127.0.0.1:{}", 7400 + n * 10);
        let party = h
            .with(|c, ctx| c.consult(ctx, MediaLeg::B, target(&addr, "agent")))
            .unwrap_or_else(|e| panic!("party {n}: {e}"));
        let inv = h.invite_to(&addr);
        h.respond(&addr, &inv, 200, &format!("p{n}"), &sdp(7404 + n * 10));
        h.with(|c, ctx| c.merge(ctx)).expect("merge");
        assert_eq!(h.call.as_ref().map(|c| c.present_legs().len()), Some(3 + n as usize));
        let _ = party;
    }
    assert_eq!(
        h.with(|c, ctx| c.consult(ctx, MediaLeg::B, target("127.0.0.1:7499", "ninth"))),
        Err(ControlError::Full)
    );
    assert_eq!(
        ControlError::Full.to_string(),
        "the conference is full: at most 8 parties (CALL-CONF-1)"
    );
}

// spec: CALL-CONSULT-4
#[test]
fn consulting_from_a_conference_takes_the_initiator_aside() {
    let (mut h, _) = consult_answered();
    h.with(|c, ctx| c.merge(ctx)).expect("merge");
    h.with(|c, ctx| c.consult(ctx, MediaLeg::B, target("127.0.0.1:7401", "carol")))
        .expect("consult from the conference");
    assert_eq!(mode_of(&h, MediaLeg::A), Some(PartyMode::Talk));
    assert_eq!(mode_of(&h, MediaLeg::Party(1)), Some(PartyMode::Talk));
    assert_eq!(mode_of(&h, MediaLeg::B), Some(PartyMode::Aside));
    assert_eq!(mode_of(&h, MediaLeg::Party(2)), Some(PartyMode::Aside));
    h.with(|c, ctx| c.toggle(ctx)).expect("back to the conference");
    assert_eq!(mode_of(&h, MediaLeg::B), Some(PartyMode::Talk));
    assert_eq!(mode_of(&h, MediaLeg::Party(2)), Some(PartyMode::Held));
}

#[test]
fn party_sockets_are_named_by_index() {
    let (h, _) = consulting();
    assert!(h
        .media
        .iter()
        .any(|m| matches!(m, MediaCommand::PartyPrepare { local, .. } if local.ip() == sock(harness::LOCAL).ip())));
    assert!(first_line(&h.invite_to(BOB)).starts_with("INVITE sip:1002@127.0.0.1:7301"));
}

// spec: CALL-CONF-3
// spec: CALL-CONF-4
#[test]
fn the_primary_hanging_up_in_post_call_ends_the_call_without_a_hand_over() {
    let (mut h, _) = consult_answered();
    h.with(|c, ctx| c.merge(ctx)).expect("merge");
    caller_request(&mut h, "BYE", 2, "bye1");
    h.wire.clear();
    h.events.clear();
    let b1_invite = h.invite_to(B1);
    peer_request(&mut h, &b1_invite, B1, "b1", "BYE", 1);
    assert_eq!(h.take_to(B1), vec!["200"]);
    assert!(h.take_to(BOB).iter().any(|l| l.starts_with("BYE")), "bob is hung up");
    assert_eq!(h.call.as_ref().map(|c| c.phase), Some(Phase::Ended));
    assert!(
        !h.events.contains(&CallEvent::PartyLeft { leg: MediaLeg::B }),
        "the primary's BYE ends the call: no party left it to go on: {:?}",
        h.events
    );
}

// spec: CALL-REC-2
#[test]
fn recording_pause_and_resume_are_refused_during_a_consult_or_conference() {
    use switchboard::call::CallControl;
    let (mut h, _) = consult_answered();
    h.with(|c, ctx| c.control(ctx, CallControl::RecordStart))
        .expect("a recording runs through the consult");
    let refused = Err(ControlError::Conflict(
        "recording cannot be paused or resumed during a consult or conference (CALL-REC-2)",
    ));
    assert_eq!(h.with(|c, ctx| c.control(ctx, CallControl::RecordPause)), refused);
    h.with(|c, ctx| c.merge(ctx)).expect("merge");
    assert_eq!(h.with(|c, ctx| c.control(ctx, CallControl::RecordResume)), refused);
    assert!(h
        .with(|c, ctx| c.control(ctx, CallControl::Hold(switchboard::call::Party::Caller)))
        .is_err());
}

/// A supervisor monitoring the call from 127.0.0.1:7201, answered.
fn monitored(h: &mut CallHarness) {
    let req = switchboard::call::MonitorRequest {
        supervisor: "sam".into(),
        extension: "1009".into(),
        interaction: "i-1".into(),
        agent: "alice".into(),
        uri: Uri::parse(&bytes::Bytes::from_static(b"sip:1009@127.0.0.1:7201")).expect("uri"),
        dest: harness::dest(crate::SUPERVISOR),
    };
    h.with(|c, ctx| c.start_monitor(ctx, req)).expect("monitor");
    let inv = h.invite_to(crate::SUPERVISOR);
    h.respond(crate::SUPERVISOR, &inv, 200, "sam1", &sdp(7204));
}

// spec: SUP-4
#[test]
fn the_supervisor_stays_while_an_agent_remains_and_goes_with_the_last() {
    // alice consults a dialled number (not an agent) and merges.
    let mut h = answered();
    let mut number = target(BOB, "x");
    number.kind = PartyKind::Consulted { agent: None };
    h.with(|c, ctx| c.consult(ctx, MediaLeg::B, number)).expect("consult");
    let inv = h.invite_to(BOB);
    h.respond(BOB, &inv, 200, "n1", &sdp(7304));
    h.with(|c, ctx| c.merge(ctx)).expect("merge");
    monitored(&mut h);
    h.wire.clear();
    // alice (the only agent) leaves: the customer and the number talk on,
    // the supervisor is removed.
    let b1 = h.invite_to(B1);
    peer_request(&mut h, &b1, B1, "b1", "BYE", 1);
    assert_eq!(h.call.as_ref().map(|c| c.phase), Some(Phase::Answered));
    assert!(
        h.take_to(crate::SUPERVISOR).iter().any(|l| l.starts_with("BYE")),
        "SUP-4"
    );

    // With a consulted agent still in the call, the supervisor stays.
    let (mut h, _) = consult_answered();
    h.with(|c, ctx| c.merge(ctx)).expect("merge");
    monitored(&mut h);
    h.wire.clear();
    let b1 = h.invite_to(B1);
    peer_request(&mut h, &b1, B1, "b1", "BYE", 1);
    assert!(
        !h.take_to(crate::SUPERVISOR).iter().any(|l| l.starts_with("BYE")),
        "bob is an agent: sam stays"
    );
}
