//! Consult and conference in the ACD core (CALL-CONSULT-1, -3, CALL-CONF-2,
//! -4, CALL-END-1, HIST-3): consulted agents' states and the interaction's
//! phases, in virtual time.

use crate::harness::*;
use switchboard::acd::{AcdAction, AcdError, AcdEvent, AgentState, IdleReason, OfferId, Phase, Strategy};

/// alice (1) connected to interaction 1; bob (2) and carol (3) logged in
/// after, Available.
fn connected() -> H {
    let mut h = H::new(one_queue(Strategy::LongestIdle, 3));
    h.login(a(1));
    let (offer, _) = h.arrive_and_ring(i(1));
    h.ev(AcdEvent::PhoneAnswered { offer }).unwrap();
    h.login(a(2));
    h.login(a(3));
    h.take();
    h
}

fn ring_consult(h: &mut H, agent: u32) -> OfferId {
    h.ev(AcdEvent::ConsultAgent {
        id: i(1),
        agent: a(agent),
    })
    .unwrap();
    h.take()
        .into_iter()
        .find_map(|x| match x {
            AcdAction::RingConsult { offer, .. } => Some(offer),
            _ => None,
        })
        .expect("RingConsult")
}

// spec: CALL-CONSULT-1
#[test]
fn a_consulted_agent_is_reserved_then_busy_and_never_offered_queue_calls() {
    let mut h = connected();
    let offer = ring_consult(&mut h, 2);
    assert_eq!(
        h.state(a(2)),
        AgentState::Reserved {
            offer,
            interaction: i(1)
        }
    );
    assert_eq!(h.acd.interaction(i(1)).map(|x| x.phase), Some(Phase::Consult));
    // A queue call arriving now goes to carol, not to bob.
    h.arrive(i(2), Q1, 0);
    assert_eq!(h.rings().first().map(|r| r.1), Some(a(3)));
    h.ev(AcdEvent::PhoneAnswered { offer }).unwrap();
    assert_eq!(h.state(a(2)), AgentState::Busy { interaction: i(1) });
    let c = &h.acd.interaction(i(1)).unwrap().consultants;
    assert_eq!((c.len(), c[0].joined_at.is_some(), c[0].consulting), (1, true, true));
}

// spec: CALL-CONSULT-1
#[test]
fn only_available_or_idle_agents_can_be_consulted() {
    let mut h = connected();
    assert!(matches!(
        h.ev(AcdEvent::ConsultAgent { id: i(1), agent: a(1) }),
        Err(AcdError::NotConsultable { .. })
    ));
    h.ev(AcdEvent::AgentSetState {
        agent: a(3),
        state: idle("Lunch"),
    })
    .unwrap();
    let offer = ring_consult(&mut h, 3);
    h.ev(AcdEvent::PhoneAnswered { offer }).unwrap();
    // An Idle agent goes back to Idle when the consult is over.
    h.ev(AcdEvent::ConsultOver { id: i(1) }).unwrap();
    assert_eq!(h.state(a(3)), AgentState::Idle(IdleReason::Named("Lunch".into())));
    assert_eq!(h.acd.interaction(i(1)).map(|x| x.phase), Some(Phase::Connected));
    // One consult at a time.
    ring_consult(&mut h, 2);
    assert_eq!(
        h.ev(AcdEvent::ConsultAgent { id: i(1), agent: a(3) }),
        Err(AcdError::ConsultRunning(i(1)))
    );
}

// spec: CALL-CONSULT-3
#[test]
fn a_consulted_agent_who_does_not_answer_goes_idle_and_the_initiator_is_told() {
    let mut h = connected();
    let offer = ring_consult(&mut h, 2);
    h.secs(15);
    let out = h.take();
    assert!(out.iter().any(|x| matches!(
        x,
        AcdAction::ConsultFailed { offer: o, timed_out: true, .. } if *o == offer
    )));
    assert_eq!(h.state(a(2)), AgentState::Idle(IdleReason::Rona));
    assert!(h.acd.interaction(i(1)).unwrap().consultants.is_empty());
    // A refused consult (the phone's 486) does the same, not timed out.
    let offer = ring_consult(&mut h, 3);
    h.ev(AcdEvent::OfferDeclined { offer }).unwrap();
    assert!(h
        .take()
        .iter()
        .any(|x| matches!(x, AcdAction::ConsultFailed { timed_out: false, .. })));
    assert_eq!(h.state(a(3)), AgentState::Idle(IdleReason::Rona));
}

// spec: CALL-CONF-2
// spec: CALL-END-1
#[test]
fn the_primary_leaving_hands_control_to_the_agent_present_longest() {
    let mut h = connected();
    let bob = ring_consult(&mut h, 2);
    h.ev(AcdEvent::PhoneAnswered { offer: bob }).unwrap();
    h.ev(AcdEvent::Merged { id: i(1) }).unwrap();
    h.secs(5);
    let carol = ring_consult(&mut h, 3);
    h.ev(AcdEvent::PhoneAnswered { offer: carol }).unwrap();
    h.ev(AcdEvent::Merged { id: i(1) }).unwrap();
    assert_eq!(h.acd.interaction(i(1)).map(|x| x.phase), Some(Phase::Conference));
    h.take();
    h.ev(AcdEvent::AgentLeft { id: i(1), agent: a(1) }).unwrap();
    assert!(h.take().contains(&AcdAction::PrimaryChanged {
        interaction: i(1),
        from: a(1),
        to: a(2)
    }));
    assert_eq!(
        h.state(a(1)),
        AgentState::Available,
        "the leaving primary does not wrap up"
    );
    assert_eq!(h.acd.interaction(i(1)).and_then(|x| x.agent), Some(a(2)));
    // The call ends: only the new primary wraps up; carol is released.
    h.ev(AcdEvent::InteractionEnded { id: i(1) }).unwrap();
    assert!(matches!(h.state(a(2)), AgentState::WrapUp { .. }));
    assert_eq!(h.state(a(3)), AgentState::Available);
}

// spec: CALL-CONF-4
// spec: HIST-3
#[test]
fn post_call_time_is_booked_after_the_customer_left() {
    let mut h = connected();
    let bob = ring_consult(&mut h, 2);
    h.secs(2);
    h.ev(AcdEvent::PhoneAnswered { offer: bob }).unwrap();
    h.secs(8);
    h.ev(AcdEvent::Merged { id: i(1) }).unwrap();
    h.secs(30);
    h.ev(AcdEvent::CustomerLeft { id: i(1) }).unwrap();
    assert_eq!(h.acd.interaction(i(1)).map(|x| x.phase), Some(Phase::PostCall));
    assert!(matches!(
        h.ev(AcdEvent::ConsultAgent { id: i(1), agent: a(3) }),
        Err(AcdError::NotConnected(_))
    ));
    h.secs(12);
    h.ev(AcdEvent::InteractionEnded { id: i(1) }).unwrap();
    let d = h.acd.interaction(i(1)).unwrap().durations();
    assert_eq!(
        (d.consult_ms, d.conference_ms, d.post_call_ms),
        (10_000, 30_000, 12_000)
    );
}

/// alice (1) connected to interaction 1, nobody else logged in.
fn alone() -> H {
    let mut h = H::new(one_queue(Strategy::LongestIdle, 3));
    h.login(a(1));
    let (offer, _) = h.arrive_and_ring(i(1));
    h.ev(AcdEvent::PhoneAnswered { offer }).unwrap();
    h.take();
    h
}

fn consult_rings(h: &mut H) -> Vec<(u32, u64)> {
    h.take()
        .into_iter()
        .filter_map(|x| match x {
            AcdAction::RingConsult { agent, interaction, .. } => Some((agent.0, interaction.0)),
            _ => None,
        })
        .collect()
}

// spec: CALL-CONSULT-1
#[test]
fn a_queue_consult_rings_its_next_available_agent_or_waits_ahead_of_the_line() {
    let mut h = connected();
    h.ev(AcdEvent::ConsultQueue { id: i(1), queue: Q1 }).unwrap();
    assert_eq!(consult_rings(&mut h), [(2, 1)], "bob, longest available, at once");
    // Nobody available: the consult waits, ahead of a customer who arrived first.
    let mut h = alone();
    h.arrive(i(2), Q1, 0);
    h.ev(AcdEvent::ConsultQueue { id: i(1), queue: Q1 }).unwrap();
    assert_eq!(h.acd.interaction(i(1)).and_then(|x| x.consult_waiting), Some(Q1));
    assert_eq!(h.acd.interaction(i(1)).map(|x| x.phase), Some(Phase::Consult));
    assert_eq!(
        h.ev(AcdEvent::ConsultQueue { id: i(1), queue: Q1 }),
        Err(AcdError::ConsultRunning(i(1)))
    );
    h.acd.check_invariants().unwrap();
    h.login(a(2));
    let out = h.take();
    let consults: Vec<_> = out
        .iter()
        .filter_map(|x| match x {
            AcdAction::RingConsult { agent, interaction, .. } => Some((agent.0, interaction.0)),
            _ => None,
        })
        .collect();
    assert_eq!(consults, [(2, 1)], "the waiting consult first");
    assert!(
        !out.iter().any(|x| matches!(x, AcdAction::RingAgent { .. })),
        "the customer waits on"
    );
    assert_eq!(h.acd.interaction(i(1)).and_then(|x| x.consult_waiting), None);
    h.acd.check_invariants().unwrap();
    // The next agent gets the customer.
    h.login(a(3));
    assert_eq!(h.rings().iter().map(|r| (r.1, r.2)).collect::<Vec<_>>(), [(a(3), i(2))]);
}

// spec: CALL-CONSULT-1
#[test]
fn a_waiting_queue_consult_is_dropped_when_given_up_or_when_the_call_ends() {
    let mut h = alone();
    h.ev(AcdEvent::ConsultQueue { id: i(1), queue: Q1 }).unwrap();
    h.ev(AcdEvent::ConsultOver { id: i(1) }).unwrap();
    assert_eq!(h.acd.interaction(i(1)).and_then(|x| x.consult_waiting), None);
    assert_eq!(h.acd.interaction(i(1)).map(|x| x.phase), Some(Phase::Connected));
    h.login(a(2));
    assert!(consult_rings(&mut h).is_empty(), "given up: nobody rings");
    h.acd.check_invariants().unwrap();
    // Waiting again, then the customer hangs up: the consult goes too.
    h.ev(AcdEvent::AgentLogout { agent: a(2) }).unwrap();
    h.ev(AcdEvent::ConsultQueue { id: i(1), queue: Q1 }).unwrap();
    h.ev(AcdEvent::InteractionEnded { id: i(1) }).unwrap();
    h.login(a(3));
    assert!(consult_rings(&mut h).is_empty());
    assert_eq!(h.state(a(3)), AgentState::Available);
    h.acd.check_invariants().unwrap();
}
