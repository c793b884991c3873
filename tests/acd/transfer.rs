//! Transfers in the ACD core (CALL-XFER-1..5, CALL-CONSULT-4's transfer
//! to the consultee, CALL-END-1, HIST-3's one history across transfers),
//! in virtual time.

use crate::harness::*;
use switchboard::acd::{
    AcdAction, AcdError, AcdEvent, AgentId, AgentState, HandlingEnd, IdleReason, InteractionId, InteractionState,
    OfferId, Outcome, Phase, Strategy, TransferTarget,
};

/// alice (1) connected to interaction 1 in queue Q1; bob (2), carol (3)
/// and dave (4) logged in after it, Available.
fn connected() -> H {
    let mut h = H::new(one_queue(Strategy::LongestIdle, 4));
    h.login(a(1));
    let (offer, agent) = h.arrive_and_ring(i(1));
    assert_eq!(agent, a(1));
    h.ev(AcdEvent::PhoneAnswered { offer }).unwrap();
    for n in 2..=4 {
        h.login(a(n));
    }
    h.take();
    h
}

fn transfer(h: &mut H, target: TransferTarget) -> Result<(), AcdError> {
    h.ev(AcdEvent::Transfer { id: i(1), target })
}

fn wrap_up(h: &mut H, agent: AgentId, reason: &str) {
    h.ev(AcdEvent::WrapUpSubmitted {
        agent,
        reasons: vec![reason.into()],
        notes: format!("notes of {agent}"),
    })
    .expect("wrap-up");
}

fn closed(out: &[AcdAction]) -> Option<(Outcome, switchboard::acd::InteractionInfo)> {
    out.iter().find_map(|x| match x {
        AcdAction::InteractionClosed { outcome, info, .. } => Some((*outcome, (**info).clone())),
        _ => None,
    })
}

fn handlers(h: &H, id: InteractionId) -> Vec<(AgentId, Option<HandlingEnd>)> {
    h.acd
        .interaction(id)
        .expect("open")
        .handlers
        .iter()
        .map(|x| (x.agent, x.end))
        .collect()
}

fn one_ring(h: &mut H) -> (OfferId, AgentId) {
    let rings = h.rings();
    assert_eq!(rings.len(), 1, "{rings:?}");
    (rings[0].0, rings[0].1)
}

// spec: CALL-XFER-1
#[test]
fn xfer1_only_an_available_agent_other_than_oneself_takes_a_blind_transfer() {
    let mut h = connected();
    // bob is busy with another call, then in its wrap-up; carol is Idle.
    h.arrive(i(2), Q1, 0);
    let (offer2, bob) = one_ring(&mut h);
    assert_eq!(bob, a(2));
    h.ev(AcdEvent::PhoneAnswered { offer: offer2 }).unwrap();
    h.ev(AcdEvent::InteractionEnded { id: i(2) }).unwrap();
    assert!(matches!(h.state(a(2)), AgentState::WrapUp { .. }));
    h.ev(AcdEvent::AgentSetState {
        agent: a(3),
        state: idle("Lunch"),
    })
    .unwrap();
    for refused in [a(1), a(2), a(3)] {
        assert!(
            matches!(
                transfer(&mut h, TransferTarget::Agent(refused)),
                Err(AcdError::NotTransferable { agent, .. }) if agent == refused
            ),
            "{refused} must be refused"
        );
    }
    assert_eq!(
        h.state(a(1)),
        AgentState::Busy { interaction: i(1) },
        "a refused transfer changes nothing"
    );
    // dave is Available: he is offered it, alice wraps up (CALL-XFER-5).
    transfer(&mut h, TransferTarget::Agent(a(4))).unwrap();
    let out = h.take();
    let offer = out
        .iter()
        .find_map(|x| match x {
            AcdAction::RingAgent { offer, agent, .. } if *agent == a(4) => Some(*offer),
            _ => None,
        })
        .expect("dave rings");
    assert!(out
        .iter()
        .any(|x| matches!(x, AcdAction::WrapUpStarted { agent, interaction, .. }
        if *agent == a(1) && *interaction == i(1))));
    assert!(matches!(h.state(a(1)), AgentState::WrapUp { interaction, .. } if interaction == i(1)));
    assert_eq!(
        h.acd.interaction(i(1)).map(|x| (x.phase, x.agent)),
        Some((Phase::Ringing, None))
    );
    h.ev(AcdEvent::PhoneAnswered { offer }).unwrap();
    assert_eq!(h.state(a(4)), AgentState::Busy { interaction: i(1) });
    assert_eq!(
        handlers(&h, i(1)),
        vec![(a(1), Some(HandlingEnd::Transferred)), (a(4), None)]
    );
    h.acd.check_invariants().unwrap();
}

// spec: CALL-XFER-2
#[test]
fn xfer2_an_agent_who_does_not_accept_a_transfer_gets_it_rerouted_never_dropped() {
    let mut h = connected();
    transfer(&mut h, TransferTarget::Agent(a(2))).unwrap();
    let (offer, bob) = one_ring(&mut h);
    assert_eq!(bob, a(2));
    // bob lets it ring out: Idle(RONA), and the queue's rule reroutes it
    // to the next agent, carol (never back to alice, CALL-XFER-3).
    h.secs(15);
    assert_eq!(h.state(a(2)), AgentState::Idle(IdleReason::Rona));
    let rings = h.rings();
    assert_eq!(rings.len(), 1, "{rings:?}");
    assert_eq!(rings[0].1, a(3), "rerouted by the queue's strategy");
    assert_ne!(rings[0].0, offer);
    // carol declines: dave gets it.
    h.ev(AcdEvent::OfferDeclined { offer: rings[0].0 }).unwrap();
    let (_, next) = one_ring(&mut h);
    assert_eq!(next, a(4));
    h.acd.check_invariants().unwrap();
}

// spec: CALL-XFER-3
#[test]
fn xfer3_a_transfer_to_a_queue_is_never_offered_back_to_the_transferring_agent() {
    let mut h = H::new(one_queue(Strategy::LongestIdle, 2));
    h.login(a(1));
    let (offer, _) = h.arrive_and_ring(i(1));
    h.ev(AcdEvent::PhoneAnswered { offer }).unwrap();
    h.take();
    transfer(&mut h, TransferTarget::Queue(Q1)).unwrap();
    assert_eq!(h.acd.interaction(i(1)).map(|x| x.phase), Some(Phase::Queued));
    // alice wraps up and is Available again: the call waits for someone else.
    wrap_up(&mut h, a(1), "Support");
    assert_eq!(h.state(a(1)), AgentState::Available);
    assert!(h.rings().is_empty(), "not offered back to alice");
    assert_eq!(h.acd.waiting(Q1), vec![i(1)]);
    h.acd.check_invariants().unwrap();
    // bob logs in: he gets it.
    h.login(a(2));
    let (_, bob) = one_ring(&mut h);
    assert_eq!(bob, a(2));
}

// spec: CALL-XFER-3
#[test]
fn xfer3_a_transferred_customer_keeps_its_place_in_the_target_queue() {
    let mut h = H::new(one_queue(Strategy::LongestIdle, 2));
    h.login(a(1));
    let (offer, _) = h.arrive_and_ring(i(1));
    h.ev(AcdEvent::PhoneAnswered { offer }).unwrap();
    // A later caller waits in the line.
    h.arrive(i(2), Q1, 0);
    h.take();
    transfer(&mut h, TransferTarget::Queue(Q1)).unwrap();
    assert_eq!(h.acd.waiting(Q1), vec![i(1), i(2)], "the earlier arrival first");
}

// spec: CALL-XFER-5
// spec: CALL-END-1
#[test]
fn xfer5_the_transferring_agent_wraps_up_and_the_record_keeps_both_agents() {
    let mut h = connected();
    transfer(&mut h, TransferTarget::Agent(a(2))).unwrap();
    let (offer, _) = one_ring(&mut h);
    h.ev(AcdEvent::PhoneAnswered { offer }).unwrap();
    h.secs(30);
    h.ev(AcdEvent::InteractionEnded { id: i(1) }).unwrap();
    // bob (the primary at the end) wraps up first: the record waits for alice's.
    wrap_up(&mut h, a(2), "Sale");
    assert!(closed(&h.take()).is_none(), "alice still wraps up");
    assert!(matches!(
        h.acd.interaction_state(i(1)),
        Some(InteractionState::Closing {
            outcome: Outcome::Answered,
            ..
        })
    ));
    h.acd.check_invariants().unwrap();
    wrap_up(&mut h, a(1), "Support");
    let (outcome, info) = closed(&h.take()).expect("closed with the last wrap-up");
    assert_eq!(outcome, Outcome::Answered);
    let hs: Vec<_> = info
        .handlers
        .iter()
        .map(|x| (x.agent, x.end, x.wrap_up.clone()))
        .collect();
    assert_eq!(
        hs,
        vec![
            (
                a(1),
                Some(HandlingEnd::Transferred),
                Some((vec!["Support".to_string()], "notes of agent-1".to_string()))
            ),
            (
                a(2),
                Some(HandlingEnd::Ended),
                Some((vec!["Sale".to_string()], "notes of agent-2".to_string()))
            ),
        ]
    );
    assert!(info.handlers[0].to.is_some_and(|t| t <= info.handlers[1].from));
    assert_eq!(h.state(a(1)), AgentState::Available);
    assert_eq!(h.state(a(2)), AgentState::Available);
}

// spec: CALL-XFER-1
// spec: CALL-XFER-2
#[test]
fn a_transfer_to_a_number_leaves_the_acd_when_answered_and_requeues_when_not() {
    let mut h = connected();
    transfer(&mut h, TransferTarget::Outside).unwrap();
    assert!(matches!(
        h.acd.interaction_state(i(1)),
        Some(InteractionState::Transferring { .. })
    ));
    assert!(h.rings().is_empty(), "nobody in the ACD rings");
    // The number does not answer: back in the line, offered to bob.
    h.ev(AcdEvent::TransferFailed { id: i(1) }).unwrap();
    let (offer, bob) = one_ring(&mut h);
    assert_eq!(bob, a(2));
    h.ev(AcdEvent::PhoneAnswered { offer }).unwrap();
    // bob sends it out again, and this time the number answers.
    transfer(&mut h, TransferTarget::Outside).unwrap();
    h.ev(AcdEvent::TransferAnswered { id: i(1) }).unwrap();
    assert!(closed(&h.take()).is_none(), "alice and bob still wrap up");
    wrap_up(&mut h, a(1), "Sale");
    wrap_up(&mut h, a(2), "Support");
    let (outcome, info) = closed(&h.take()).expect("closed");
    assert_eq!(outcome, Outcome::Transferred);
    assert_eq!(info.handlers.len(), 2);
    assert!(info.handlers.iter().all(|x| x.end == Some(HandlingEnd::Transferred)));
    assert!(matches!(
        h.ev(AcdEvent::TransferAnswered { id: i(1) }),
        Err(AcdError::UnknownInteraction(_))
    ));
}

// spec: CALL-XFER-2
#[test]
fn a_customer_who_hangs_up_while_a_transfer_rings_is_abandoned_after_the_wrap_up() {
    let mut h = connected();
    transfer(&mut h, TransferTarget::Agent(a(2))).unwrap();
    h.take();
    h.ev(AcdEvent::InteractionAbandoned { id: i(1) }).unwrap();
    assert_eq!(h.state(a(2)), AgentState::Available, "bob's ring is withdrawn");
    assert!(closed(&h.take()).is_none());
    h.acd.check_invariants().unwrap();
    wrap_up(&mut h, a(1), "Sale");
    let (outcome, _) = closed(&h.take()).expect("closed");
    assert_eq!(outcome, Outcome::Abandoned);
}

// spec: CALL-CONSULT-4
// spec: CALL-XFER-5
#[test]
fn a_transfer_to_the_consultee_makes_it_the_primary_and_the_initiator_wraps_up() {
    let mut h = connected();
    h.ev(AcdEvent::ConsultAgent { id: i(1), agent: a(2) }).unwrap();
    let offer = h
        .take()
        .into_iter()
        .find_map(|x| match x {
            AcdAction::RingConsult { offer, .. } => Some(offer),
            _ => None,
        })
        .expect("RingConsult");
    // Not before bob answers (CALL-CONSULT-2), and never blind during a consult.
    assert!(matches!(
        h.ev(AcdEvent::TransferToConsultant { id: i(1) }),
        Err(AcdError::NoConsultee(_))
    ));
    h.ev(AcdEvent::PhoneAnswered { offer }).unwrap();
    assert!(matches!(
        transfer(&mut h, TransferTarget::Queue(Q1)),
        Err(AcdError::NotAlone(_))
    ));
    h.ev(AcdEvent::TransferToConsultant { id: i(1) }).unwrap();
    let out = h.take();
    assert!(out.contains(&AcdAction::PrimaryChanged {
        interaction: i(1),
        from: a(1),
        to: a(2)
    }));
    let info = h.acd.interaction(i(1)).unwrap();
    assert_eq!((info.agent, info.phase), (Some(a(2)), Phase::Connected));
    assert!(info.consultants.is_empty());
    assert!(matches!(h.state(a(1)), AgentState::WrapUp { .. }));
    assert_eq!(h.state(a(2)), AgentState::Busy { interaction: i(1) });
    h.acd.check_invariants().unwrap();
    h.ev(AcdEvent::InteractionEnded { id: i(1) }).unwrap();
    assert!(
        matches!(h.state(a(2)), AgentState::WrapUp { .. }),
        "bob wraps up (CALL-END-1)"
    );
}

// spec: CALL-XFER-6
#[test]
fn xfer6_a_supervisor_transfer_keeps_the_first_agent_as_a_consultant_until_the_second_accepts() {
    let mut h = connected();
    h.ev(AcdEvent::SupervisorTransfer { id: i(1), agent: a(2) }).unwrap();
    let (offer, bob) = one_ring(&mut h);
    assert_eq!(bob, a(2));
    let info = h.acd.interaction(i(1)).unwrap();
    assert_eq!(info.agent, None, "alice controls nothing meanwhile");
    assert_eq!(info.consultants.iter().map(|c| c.agent).collect::<Vec<_>>(), vec![a(1)]);
    assert_eq!(
        h.state(a(1)),
        AgentState::Busy { interaction: i(1) },
        "still with the customer"
    );
    h.acd.check_invariants().unwrap();
    h.ev(AcdEvent::PhoneAnswered { offer }).unwrap();
    let out = h.take();
    assert!(out.contains(&AcdAction::HandedOver {
        interaction: i(1),
        from: a(1),
        accepted: true
    }));
    // alice leaves with no wrap-up (CALL-END-1: she is no longer the primary).
    assert_eq!(h.state(a(1)), AgentState::Available);
    assert_eq!(h.state(a(2)), AgentState::Busy { interaction: i(1) });
    assert_eq!(
        handlers(&h, i(1)),
        vec![(a(1), Some(HandlingEnd::Supervisor)), (a(2), None)]
    );
    assert!(h.acd.interaction(i(1)).unwrap().consultants.is_empty());
    h.acd.check_invariants().unwrap();
}

// spec: CALL-XFER-6
#[test]
fn xfer6_a_declined_supervisor_transfer_leaves_the_customer_with_the_first_agent() {
    let mut h = connected();
    assert!(matches!(
        h.ev(AcdEvent::SupervisorTransfer { id: i(1), agent: a(1) }),
        Err(AcdError::NotTransferable { .. })
    ));
    h.ev(AcdEvent::SupervisorTransfer { id: i(1), agent: a(2) }).unwrap();
    let (offer, _) = one_ring(&mut h);
    h.ev(AcdEvent::OfferDeclined { offer }).unwrap();
    let out = h.take();
    assert!(out.contains(&AcdAction::HandedOver {
        interaction: i(1),
        from: a(1),
        accepted: false
    }));
    assert!(
        !out.iter().any(|x| matches!(x, AcdAction::RingAgent { .. })),
        "not put back in line: {out:?}"
    );
    let info = h.acd.interaction(i(1)).unwrap();
    assert_eq!((info.agent, info.phase), (Some(a(1)), Phase::Connected));
    assert!(info.consultants.is_empty());
    assert_eq!(h.state(a(2)), AgentState::Available, "bob declined");
    h.acd.check_invariants().unwrap();
    // The customer hangs up while a second supervisor transfer rings: alice,
    // who was talking with it, wraps up.
    h.ev(AcdEvent::SupervisorTransfer { id: i(1), agent: a(3) }).unwrap();
    h.take();
    h.ev(AcdEvent::InteractionAbandoned { id: i(1) }).unwrap();
    assert!(matches!(h.state(a(1)), AgentState::WrapUp { .. }));
    assert_eq!(h.state(a(3)), AgentState::Available);
    h.acd.check_invariants().unwrap();
}
