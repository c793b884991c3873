//! Consult and conference from the agent desktop, through the engine, in
//! virtual time with simulated phones (CALL-CONSULT-1..5, CALL-CONF-1,
//! CALL-DIAL-1): the customer calls the `support` queue, alice answers,
//! consults bob, merges, and bob leaves.

use crate::queue::{answer_offer, contact_center, contact_center_with, desk, embedded_acd, login, ok_from, ALICE, BOB};
use crate::sim::*;
use std::time::Duration;
use switchboard::engine::desk::{ConsultTarget, DeskCommand, DeskError, DeskEvent, DeskReply};

/// The last controls event for `agent`.
fn controls(h: &Harness, agent: &str) -> Vec<&'static str> {
    h.desk
        .iter()
        .rev()
        .find_map(|e| match e {
            DeskEvent::Controls { agent: a, enabled, .. } if a == agent => Some(enabled.clone()),
            _ => None,
        })
        .unwrap_or_default()
}

/// alice logs in and answers the customer's call to queue 5000: the
/// interaction's uid and the customer's dialog.
fn alice_answers(h: &mut Harness, customer: &mut Ua, alice: &Ua) -> (String, Dlg) {
    login(h, ALICE);
    let out = h.place_call(customer, "5000");
    let invite = h.expect_request(alice.addr, "INVITE");
    let dlg = answer_offer(h, customer, &out, alice, &invite);
    let DeskReply::Agent(me) = desk(h, ALICE, DeskCommand::Me).expect("me") else {
        panic!()
    };
    (me.interaction.expect("connected"), dlg)
}

fn state_of(h: &mut Harness, token: &str) -> String {
    match desk(h, token, DeskCommand::Me).expect("me") {
        DeskReply::Agent(a) => a.state.to_owned(),
        other => panic!("{other:?}"),
    }
}

// spec: CALL-CONSULT-1
// spec: CALL-CONSULT-2
// spec: CALL-CONSULT-4
// spec: CALL-CONSULT-5
// spec: CALL-XFER-4
#[test]
fn alice_consults_bob_merges_and_bob_leaves() {
    let (mut h, mut customer, alice, bob) = contact_center();
    let (uid, _dlg) = alice_answers(&mut h, &mut customer, &alice);
    login(&mut h, BOB);
    let DeskReply::ConsultTargets(t) = desk(&mut h, ALICE, DeskCommand::ConsultTargets).expect("targets") else {
        panic!()
    };
    assert!(t.agents.iter().any(|a| a.agent == "bob" && a.state == "Available"));
    assert!(!t.agents.iter().any(|a| a.agent == "alice"), "not oneself");
    assert!(t.queues.contains(&"support".to_owned()));
    h.desk.clear();
    desk(
        &mut h,
        ALICE,
        DeskCommand::Consult {
            interaction: uid.clone(),
            target: ConsultTarget::Agent("bob".into()),
        },
    )
    .expect("consult bob");
    let to_bob = h.expect_request(bob.addr, "INVITE");
    assert_eq!(state_of(&mut h, BOB), "Reserved");
    // CALL-CONSULT-5: the consult offer shows the initiator first.
    let vars = h
        .desk
        .iter()
        .find_map(|e| match e {
            DeskEvent::ConsultOffer {
                agent, from, variables, ..
            } if agent == "bob" && from == "alice" => Some(variables.clone()),
            _ => None,
        })
        .expect("a consult offer on bob's desk");
    assert_eq!(vars[0].name, "initiator_name");
    assert!(vars.len() <= 9);
    // CALL-CONSULT-2: no merge before the answer; resume (toggle) stays.
    assert_eq!(controls(&h, "alice"), ["toggle", "end_consult"]);
    match desk(
        &mut h,
        ALICE,
        DeskCommand::Merge {
            interaction: uid.clone(),
        },
    ) {
        Err(DeskError::Conflict(m)) => assert!(m.contains("CALL-CONSULT-2"), "{m}"),
        other => panic!("{other:?}"),
    }
    h.send(&bob, &ok_from(&bob, &to_bob, "bobtag", 52002));
    h.expect_request(bob.addr, "ACK");
    assert_eq!(state_of(&mut h, BOB), "Busy");
    assert!(h.desk.iter().any(|e| matches!(
        e,
        DeskEvent::Consult { agent, state: "connected", .. } if agent == "alice"
    )));
    assert_eq!(controls(&h, "alice"), ["toggle", "merge", "end_consult"]);
    assert_eq!(controls(&h, "bob"), ["leave"]);
    // CALL-CONSULT-5: the consultant cannot drive the interaction.
    assert!(matches!(
        desk(
            &mut h,
            BOB,
            DeskCommand::Toggle {
                interaction: uid.clone()
            }
        ),
        Err(DeskError::Forbidden(_))
    ));
    desk(
        &mut h,
        ALICE,
        DeskCommand::Merge {
            interaction: uid.clone(),
        },
    )
    .expect("merge");
    let DeskReply::Interactions(list) = desk(&mut h, ALICE, DeskCommand::Interactions).expect("list") else {
        panic!()
    };
    assert_eq!(list[0].state, "conference");
    // CALL-XFER-4: no entry point while bob is still on the call.
    let entry = |uid: &str| DeskCommand::Transfer {
        interaction: uid.to_owned(),
        to: switchboard::engine::desk::TransferTo::EntryPoint("main".into()),
    };
    match desk(&mut h, ALICE, entry(&uid)) {
        Err(DeskError::Conflict(m)) => assert!(m.contains("leave the conference"), "{m}"),
        other => panic!("{other:?}"),
    }
    desk(
        &mut h,
        BOB,
        DeskCommand::Leave {
            interaction: uid.clone(),
        },
    )
    .expect("bob leaves");
    h.expect_request(bob.addr, "BYE");
    assert_eq!(state_of(&mut h, BOB), "Available");
    assert_eq!(state_of(&mut h, ALICE), "Busy", "the customer call goes on");
}

// spec: CALL-DIAL-1
// spec: CALL-CONSULT-3
#[test]
fn bad_numbers_and_unsupported_targets_are_refused_with_a_reason() {
    let (mut h, mut customer, alice, _bob) = contact_center();
    let (uid, _dlg) = alice_answers(&mut h, &mut customer, &alice);
    let consult = |target| DeskCommand::Consult {
        interaction: uid.clone(),
        target,
    };
    match desk(&mut h, ALICE, consult(ConsultTarget::Number("12".into()))) {
        Err(DeskError::Invalid { field, message }) => {
            assert_eq!(field, "target.number");
            assert!(message.contains("3 to 18 digits"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    match desk(&mut h, ALICE, consult(ConsultTarget::Queue("billing".into()))) {
        Err(DeskError::NotFound { field, .. }) => assert_eq!(field, "target.queue"),
        other => panic!("{other:?}"),
    }
    // bob is logged out: not a target.
    match desk(&mut h, ALICE, consult(ConsultTarget::Agent("bob".into()))) {
        Err(DeskError::Conflict(m)) => assert!(m.contains("CALL-CONSULT-1"), "{m}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(state_of(&mut h, ALICE), "Busy");
}

/// alice (1001) is connected to the customer and bob (1002) logged in;
/// alice consults bob, whose phone rings (180). Returns the interaction,
/// the customer's dialog, alice's and bob's INVITEs.
/// Bob's phone refuses the consult with 486, and is ACKed.
fn bob_refuses(h: &mut Harness, bob: &Ua, to_bob: &switchboard::sip::msg::Message) {
    h.send(
        bob,
        &response(
            to_bob,
            486,
            "Busy Here",
            Some("bobtag"),
            &[("Contact", &bob.contact())],
            None,
        ),
    );
    h.expect_request(bob.addr, "ACK");
}

fn consult_ringing(
    h: &mut Harness,
    customer: &mut Ua,
    alice: &Ua,
    bob: &Ua,
) -> (
    String,
    Dlg,
    switchboard::sip::msg::Message,
    switchboard::sip::msg::Message,
) {
    login(h, ALICE);
    let out = h.place_call(customer, "5000");
    let invite = h.expect_request(alice.addr, "INVITE");
    let dlg = answer_offer(h, customer, &out, alice, &invite);
    h.expect_request(alice.addr, "ACK");
    login(h, BOB);
    let DeskReply::Agent(me) = desk(h, ALICE, DeskCommand::Me).expect("me") else {
        panic!()
    };
    let uid = me.interaction.expect("connected");
    desk(
        h,
        ALICE,
        DeskCommand::Consult {
            interaction: uid.clone(),
            target: ConsultTarget::Agent("bob".into()),
        },
    )
    .expect("consult bob");
    let to_bob = h.expect_request(bob.addr, "INVITE");
    crate::queue::ring(h, bob, &to_bob, "bobtag");
    (uid, dlg, invite, to_bob)
}

/// The interaction's state in alice's list.
fn listed_state(h: &mut Harness, uid: &str) -> String {
    let DeskReply::Interactions(list) = desk(h, ALICE, DeskCommand::Interactions).expect("list") else {
        panic!()
    };
    list.iter()
        .find(|i| i.interaction == uid)
        .map(|i| i.state.to_owned())
        .unwrap_or_else(|| panic!("{uid} listed: {list:?}"))
}

fn consult_states(h: &Harness) -> Vec<(&'static str, Option<String>)> {
    h.desk
        .iter()
        .filter_map(|e| match e {
            DeskEvent::Consult { state, reason, .. } => Some((*state, reason.clone())),
            _ => None,
        })
        .collect()
}

/// After a consult that did not reach the consultee, the customer stays
/// on hold: the interaction is connected and held, the desktop offers
/// Resume (not End, CALL-HOLD-1), and Resume brings the customer back.
fn held_after_the_consult(h: &mut Harness, uid: &str) {
    assert_eq!(listed_state(h, uid), "held");
    assert_eq!(controls(h, "alice"), ["resume"]);
    assert!(h.desk.iter().any(|e| matches!(
        e,
        DeskEvent::Hold { agent, held: true, .. } if agent == "alice"
    )));
    let end = desk(
        h,
        ALICE,
        DeskCommand::End {
            interaction: uid.to_owned(),
        },
    );
    assert!(matches!(end, Err(DeskError::Conflict(_))), "{end:?}");
    desk(
        h,
        ALICE,
        DeskCommand::Resume {
            interaction: uid.to_owned(),
        },
    )
    .expect("resume");
    assert_eq!(listed_state(h, uid), "connected");
    assert_eq!(controls(h, "alice"), ["hold", "end", "consult"]);
}

// spec: CALL-CONSULT-3
// spec: CALL-HOLD-1
#[test]
fn a_consulted_agent_whose_phone_refuses_goes_idle_and_the_customer_can_be_resumed() {
    let (mut h, mut customer, alice, bob) = contact_center();
    let (uid, _, _, to_bob) = consult_ringing(&mut h, &mut customer, &alice, &bob);
    h.desk.clear();
    bob_refuses(&mut h, &bob, &to_bob);
    assert_eq!(state_of(&mut h, BOB), "Idle");
    assert_eq!(consult_states(&h), [("failed", Some("busy".to_owned()))]);
    held_after_the_consult(&mut h, &uid);
}

// spec: CALL-CONSULT-3
#[test]
fn a_consulted_agent_who_rings_out_goes_idle_and_the_initiator_is_told_it_failed() {
    let (mut h, mut customer, alice, bob) = contact_center();
    let (uid, _, _, to_bob) = consult_ringing(&mut h, &mut customer, &alice, &bob);
    h.desk.clear();
    h.advance(std::time::Duration::from_secs(16));
    let cancel = h.expect_request(bob.addr, "CANCEL");
    h.send(&bob, &response(&cancel, 200, "OK", Some("bobtag"), &[], None));
    h.send(
        &bob,
        &response(
            &to_bob,
            487,
            "Request Terminated",
            Some("bobtag"),
            &[("Contact", &bob.contact())],
            None,
        ),
    );
    assert_eq!(state_of(&mut h, BOB), "Idle");
    assert_eq!(consult_states(&h), [("failed", Some("no answer".to_owned()))]);
    held_after_the_consult(&mut h, &uid);
}

// spec: CALL-CONF-3
// spec: CALL-CONF-4
#[test]
fn the_primary_hanging_up_after_the_customer_left_ends_the_call_and_wraps_up() {
    let (mut h, mut customer, alice, bob) = contact_center();
    let (uid, mut dlg, alice_invite, to_bob) = consult_ringing(&mut h, &mut customer, &alice, &bob);
    h.send(&bob, &ok_from(&bob, &to_bob, "bobtag", 52002));
    h.expect_request(bob.addr, "ACK");
    desk(
        &mut h,
        ALICE,
        DeskCommand::Merge {
            interaction: uid.clone(),
        },
    )
    .expect("merge");
    let bye = customer.in_dialog(&mut dlg, "BYE").text();
    h.send(&customer, &bye);
    h.expect_response(customer.addr, 200);
    assert_eq!(listed_state(&mut h, &uid), "post_call");
    h.desk.clear();
    let mut alice_dlg = alice.dialog_from_invite(&alice_invite, "alicetag");
    let mut alice = alice;
    let bye = alice.in_dialog(&mut alice_dlg, "BYE").text();
    h.send(&alice, &bye);
    h.expect_response(alice.addr, 200);
    h.expect_request(bob.addr, "BYE");
    assert!(
        !h.desk.iter().any(|e| matches!(e, DeskEvent::PrimaryChanged { .. })),
        "the call ends: no hand-over to bob: {:?}",
        h.desk
    );
    assert_eq!(state_of(&mut h, ALICE), "WrapUp", "alice got the wrap-up prompt");
    assert_eq!(state_of(&mut h, BOB), "Available");
}

// spec: CALL-REC-1
// spec: CALL-REC-2
#[test]
fn the_primary_agent_pauses_and_resumes_the_recording_from_the_desktop() {
    let acd = embedded_acd().replacen("number = \"5000\"\n", "number = \"5000\"\nrecord = true\n", 1);
    let (mut h, mut customer, alice, _bob) = contact_center_with(&acd);
    let (uid, _dlg) = alice_answers(&mut h, &mut customer, &alice);
    // The agent's list says whether the recording runs (a desktop reloaded
    // mid-call shows the right button).
    let recording = |h: &mut Harness| match desk(h, ALICE, DeskCommand::Interactions) {
        Ok(DeskReply::Interactions(list)) => list.first().and_then(|i| i.recording),
        other => panic!("{other:?}"),
    };
    assert_eq!(recording(&mut h), Some("recording"));
    desk(
        &mut h,
        ALICE,
        DeskCommand::RecordingPause {
            interaction: uid.clone(),
        },
    )
    .expect("pause");
    assert_eq!(recording(&mut h), Some("paused"));
    desk(
        &mut h,
        ALICE,
        DeskCommand::RecordingResume {
            interaction: uid.clone(),
        },
    )
    .expect("resume");
    assert_eq!(recording(&mut h), Some("recording"));
    // bob is not on the interaction: refused.
    login(&mut h, BOB);
    assert!(matches!(
        desk(
            &mut h,
            BOB,
            DeskCommand::RecordingPause {
                interaction: uid.clone()
            }
        ),
        Err(DeskError::Forbidden(_))
    ));
    // During a consult: refused with the rule.
    desk(
        &mut h,
        ALICE,
        DeskCommand::Consult {
            interaction: uid.clone(),
            target: ConsultTarget::Agent("bob".into()),
        },
    )
    .expect("consult");
    match desk(&mut h, ALICE, DeskCommand::RecordingPause { interaction: uid }) {
        Err(DeskError::Conflict(m)) => assert!(m.contains("CALL-REC-2"), "{m}"),
        other => panic!("{other:?}"),
    }
}

// spec: CALL-CONF-4
// spec: HIST-3
#[test]
fn post_call_time_goes_to_the_interaction_and_the_agent_leg_cdr() {
    use switchboard::store::{AcdRecord, InteractionOutcome};
    let (mut h, mut customer, alice, bob) = contact_center();
    let (uid, mut dlg) = alice_answers(&mut h, &mut customer, &alice);
    login(&mut h, BOB);
    h.advance(Duration::from_secs(10));
    desk(
        &mut h,
        ALICE,
        DeskCommand::Consult {
            interaction: uid.clone(),
            target: ConsultTarget::Agent("bob".into()),
        },
    )
    .expect("consult");
    let to_bob = h.expect_request(bob.addr, "INVITE");
    h.advance(Duration::from_secs(4));
    h.send(&bob, &ok_from(&bob, &to_bob, "bobtag", 52002));
    h.advance(Duration::from_secs(6));
    desk(
        &mut h,
        ALICE,
        DeskCommand::Merge {
            interaction: uid.clone(),
        },
    )
    .expect("merge");
    h.advance(Duration::from_secs(20));
    h.acd.clear();
    // The customer hangs up: alice and bob stay connected (post-call).
    let bye = customer.in_dialog(&mut dlg, "BYE").text();
    h.send(&customer, &bye);
    assert_eq!(
        h.count(alice.addr, |m| m.method().is_some_and(|x| x.as_bytes() == b"BYE")),
        0
    );
    assert!(h
        .desk
        .iter()
        .any(|e| matches!(e, DeskEvent::CustomerLeft { agent, .. } if agent == "alice")));
    assert!(matches!(
        desk(
            &mut h,
            ALICE,
            DeskCommand::Hold {
                interaction: uid.clone()
            }
        ),
        Err(DeskError::Conflict(_))
    ));
    h.advance(Duration::from_secs(12));
    desk(
        &mut h,
        ALICE,
        DeskCommand::End {
            interaction: uid.clone(),
        },
    )
    .expect("alice ends");
    h.expect_request(bob.addr, "BYE");
    let last = h
        .acd
        .iter()
        .filter_map(|r| match r {
            AcdRecord::Interaction(i) => Some(&**i),
            _ => None,
        })
        .next_back()
        .expect("the interaction written at the call's end");
    assert_eq!(last.outcome, Some(InteractionOutcome::Answered));
    assert_eq!(
        (last.talk_ms, last.consult_ms, last.conference_ms, last.post_call_ms),
        (10_000, 10_000, 20_000, 12_000)
    );
    let agent_leg = h
        .acd
        .iter()
        .find_map(|r| match r {
            AcdRecord::LegCdr(l) if l.leg == "agent" && l.party == "alice" => Some(l),
            _ => None,
        })
        .expect("alice's leg CDR");
    assert_eq!(agent_leg.post_call_ms, 12_000);
    let consult_leg = h
        .acd
        .iter()
        .find_map(|r| match r {
            AcdRecord::LegCdr(l) if l.leg == "consult" && l.party == "bob" => Some(l),
            _ => None,
        })
        .expect("bob's consult leg CDR");
    assert_eq!(
        consult_leg.post_call_ms, 12_000,
        "bob stayed 12 s after the customer left"
    );
}

fn supervise(h: &mut Harness, cmd: switchboard::engine::desk::SupervisorCommand) -> Result<DeskReply, DeskError> {
    let now = h.now();
    let r = h.engine.supervise(now, "demo-token-sam-supervisor", cmd);
    h.input_drain();
    r
}

// spec: SUP-6
#[test]
fn a_supervisor_closes_a_connected_and_a_waiting_interaction() {
    use switchboard::engine::desk::SupervisorCommand;
    use switchboard::store::{AcdRecord, InteractionOutcome};
    let (mut h, mut customer, alice, _bob) = contact_center();
    let (uid, _dlg) = alice_answers(&mut h, &mut customer, &alice);
    supervise(
        &mut h,
        SupervisorCommand::ForceClose {
            interaction: uid.clone(),
        },
    )
    .expect("close");
    h.expect_request(customer.addr, "BYE");
    h.expect_request(alice.addr, "BYE");
    assert!(h.desk.iter().any(|e| matches!(
        e,
        DeskEvent::ClosedBySupervisor { agent, supervisor, .. } if agent == "alice" && supervisor == "sam"
    )));
    assert_eq!(state_of(&mut h, ALICE), "Available", "no wrap-up after a force close");
    let closed = |h: &Harness, uid: &str| {
        h.acd.iter().any(
            |r| matches!(r, AcdRecord::Interaction(i) if i.uid == uid && i.outcome == Some(InteractionOutcome::Closed)),
        )
    };
    assert!(closed(&h, &uid), "recorded Closed");
    // A caller still waiting (alice logged out) gets 480.
    desk(&mut h, ALICE, DeskCommand::Logout).expect("logout");
    h.clear_wire();
    h.place_call(&mut customer, "5000");
    h.expect_response(customer.addr, 183);
    let DeskReply::Interactions(list) = supervise(&mut h, SupervisorCommand::Interactions).expect("list") else {
        panic!()
    };
    let waiting = list
        .iter()
        .find(|i| i.state == "queued")
        .expect("a waiting interaction")
        .interaction
        .clone();
    supervise(
        &mut h,
        SupervisorCommand::ForceClose {
            interaction: waiting.clone(),
        },
    )
    .expect("close");
    let resp = h.expect_response(customer.addr, 480);
    let text = String::from_utf8_lossy(&resp.to_bytes()).into_owned();
    assert!(text.starts_with("SIP/2.0 480 Closed By Supervisor"), "{text}");
    assert!(closed(&h, &waiting));
}

// spec: CALL-CONSULT-1
#[test]
fn a_queue_consult_rings_the_queues_next_available_agent() {
    let (mut h, mut customer, alice, bob) = contact_center();
    let (uid, _dlg) = alice_answers(&mut h, &mut customer, &alice);
    login(&mut h, BOB);
    desk(
        &mut h,
        ALICE,
        DeskCommand::Consult {
            interaction: uid,
            target: ConsultTarget::Queue("support".into()),
        },
    )
    .expect("consult the support queue");
    h.expect_request(bob.addr, "INVITE");
    assert_eq!(state_of(&mut h, BOB), "Reserved");
    assert!(h.desk.iter().any(|e| matches!(
        e,
        DeskEvent::Consult { agent, party, state: "ringing", .. } if agent == "alice" && party == "bob"
    )));
}

// spec: CALL-CONSULT-1
// spec: CALL-CONSULT-2
// spec: CALL-HOLD-2
#[test]
fn a_queue_consult_with_nobody_available_waits_then_rings_the_next_agent() {
    let (mut h, mut customer, alice, _bob) = contact_center();
    let mut carol = Ua::phone("1003", "192.0.2.23");
    h.register(&mut carol, 3600);
    let (uid, _dlg) = alice_answers(&mut h, &mut customer, &alice);
    h.desk.clear();
    h.media.clear();
    desk(
        &mut h,
        ALICE,
        DeskCommand::Consult {
            interaction: uid.clone(),
            target: ConsultTarget::Queue("sales".into()),
        },
    )
    .expect("nobody in sales: the consult waits");
    assert_eq!(consult_states(&h), [("waiting", None)]);
    assert_eq!(controls(&h, "alice"), ["end_consult"], "only giving up");
    assert_eq!(listed_state(&mut h, &uid), "consult");
    assert!(
        h.media.iter().any(|m| matches!(
            m,
            switchboard::call::media::MediaCommand::Hold {
                held: Some(switchboard::call::media::MediaLeg::A),
                ..
            }
        )),
        "the customer hears music meanwhile (CALL-HOLD-2): {:?}",
        h.media
    );
    for cmd in [
        DeskCommand::Toggle {
            interaction: uid.clone(),
        },
        DeskCommand::End {
            interaction: uid.clone(),
        },
    ] {
        assert!(matches!(desk(&mut h, ALICE, cmd), Err(DeskError::Conflict(_))));
    }
    // Carol logs in: the waiting consult rings her, ahead of any queue call.
    login(&mut h, "demo-token-carol");
    let to_carol = h.expect_request(carol.addr, "INVITE");
    assert!(
        header_str(&to_carol, &switchboard::sip::msg::HeaderName::From).contains("Consult from alice"),
        "{}",
        header_str(&to_carol, &switchboard::sip::msg::HeaderName::From)
    );
    assert_eq!(state_of(&mut h, "demo-token-carol"), "Reserved");
    assert!(h.desk.iter().any(|e| matches!(
        e,
        DeskEvent::Consult { agent, party, state: "ringing", .. } if agent == "alice" && party == "carol"
    )));
    assert!(h
        .desk
        .iter()
        .any(|e| matches!(e, DeskEvent::ConsultOffer { agent, .. } if agent == "carol")));
    assert_eq!(controls(&h, "alice"), ["toggle", "end_consult"]);
    // Carol answers: merge is possible.
    h.send(&carol, &ok_from(&carol, &to_carol, "caroltag", 53000));
    assert_eq!(controls(&h, "alice"), ["toggle", "merge", "end_consult"]);
}

// spec: CALL-CONSULT-1
#[test]
fn a_waiting_queue_consult_given_up_resumes_the_customer() {
    let (mut h, mut customer, alice, _bob) = contact_center();
    let (uid, _dlg) = alice_answers(&mut h, &mut customer, &alice);
    desk(
        &mut h,
        ALICE,
        DeskCommand::Consult {
            interaction: uid.clone(),
            target: ConsultTarget::Queue("sales".into()),
        },
    )
    .expect("waits");
    h.media.clear();
    desk(
        &mut h,
        ALICE,
        DeskCommand::EndConsult {
            interaction: uid.clone(),
        },
    )
    .expect("give up");
    assert_eq!(listed_state(&mut h, &uid), "connected");
    assert_eq!(controls(&h, "alice"), ["hold", "end", "consult"]);
    assert!(h
        .media
        .iter()
        .any(|m| matches!(m, switchboard::call::media::MediaCommand::Hold { held: None, .. })));
    // Carol logging in later is not rung.
    let mut carol = Ua::phone("1003", "192.0.2.23");
    h.register(&mut carol, 3600);
    login(&mut h, "demo-token-carol");
    assert_eq!(h.count(carol.addr, |m| first_line(m).starts_with("INVITE")), 0);
    // And the call can end normally.
    desk(&mut h, ALICE, DeskCommand::End { interaction: uid }).expect("end");
}

/// spec: CALL-XFER-4 — after a consult that is over (the consultee never
/// joined), the customer is back on the relay: a blind transfer into an
/// entry point runs it and the customer hears its prompts.
#[test]
fn a_transfer_into_an_entry_point_after_a_consult_plays_its_prompts() {
    let (mut h, mut customer, alice, bob) = contact_center();
    let (uid, _, _, to_bob) = consult_ringing(&mut h, &mut customer, &alice, &bob);
    bob_refuses(&mut h, &bob, &to_bob);
    desk(
        &mut h,
        ALICE,
        DeskCommand::Resume {
            interaction: uid.clone(),
        },
    )
    .expect("resume");
    h.media.clear();
    desk(
        &mut h,
        ALICE,
        DeskCommand::Transfer {
            interaction: uid,
            to: switchboard::engine::desk::TransferTo::EntryPoint("main".into()),
        },
    )
    .expect("a consult that is over does not stop the transfer");
    h.advance(Duration::from_millis(1));
    assert!(
        h.media.iter().any(|m| matches!(
            m,
            switchboard::call::media::MediaCommand::Prompt {
                leg: switchboard::call::media::MediaLeg::A,
                ..
            }
        )),
        "the customer hears the entry point: {:?}",
        h.media
    );
}
