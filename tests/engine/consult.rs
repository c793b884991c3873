//! Consult and conference from the agent desktop, through the engine, in
//! virtual time with simulated phones (CALL-CONSULT-1..5, CALL-CONF-1,
//! CALL-DIAL-1): the customer calls the `support` queue, alice answers,
//! consults bob, merges, and bob leaves.

use crate::queue::{answer_offer, contact_center, desk, login, ok_from, ALICE, BOB};
use crate::sim::*;
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
#[test]
fn alice_consults_bob_merges_and_bob_leaves() {
    let (mut h, mut customer, alice, bob) = contact_center();
    login(&mut h, ALICE);
    let out = h.place_call(&mut customer, "5000");
    let invite = h.expect_request(alice.addr, "INVITE");
    answer_offer(&mut h, &mut customer, &out, &alice, &invite);
    login(&mut h, BOB);
    let DeskReply::Agent(me) = desk(&mut h, ALICE, DeskCommand::Me).expect("me") else {
        panic!()
    };
    let uid = me.interaction.expect("connected");
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
    login(&mut h, ALICE);
    let out = h.place_call(&mut customer, "5000");
    let invite = h.expect_request(alice.addr, "INVITE");
    answer_offer(&mut h, &mut customer, &out, &alice, &invite);
    let DeskReply::Agent(me) = desk(&mut h, ALICE, DeskCommand::Me).expect("me") else {
        panic!()
    };
    let uid = me.interaction.expect("connected");
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
    match desk(&mut h, ALICE, consult(ConsultTarget::Queue("sales".into()))) {
        Err(DeskError::Conflict(m)) => assert_eq!(m, "unsupported destination"),
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
    h.send(
        &bob,
        &response(
            &to_bob,
            486,
            "Busy Here",
            Some("bobtag"),
            &[("Contact", &bob.contact())],
            None,
        ),
    );
    h.expect_request(bob.addr, "ACK");
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
