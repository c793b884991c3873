//! The ACD core as the one owner of an interaction's state (issue 9, shape
//! step): its phase, primary agent, customer data and the time booked per
//! phase (HIST-3), from arrival to the close that hands the history over.

use crate::harness::*;
use std::time::Duration;
use switchboard::acd::{
    AcdAction, AcdError, AcdEvent, CadError, Customer, InteractionData, InteractionInfo, InteractionState, Outcome,
    Phase, PhaseDurations, Strategy, VarType, VariableSpec,
};

/// The `InteractionClosed` among `actions`, if any.
fn closed(actions: &[AcdAction]) -> Option<(Outcome, InteractionInfo)> {
    actions.iter().find_map(|a| match a {
        AcdAction::InteractionClosed { outcome, info, .. } => Some((*outcome, (**info).clone())),
        _ => None,
    })
}

// spec: HIST-3
#[test]
fn every_phase_is_booked_and_the_close_hands_over_the_whole_history() {
    let mut h = H::new(one_queue(Strategy::LongestIdle, 1));
    h.arrive(i(1), Q1, 0);
    assert_eq!(h.acd.interaction(i(1)).map(|x| x.phase), Some(Phase::Queued));
    h.secs(4);
    h.login(a(1));
    let offer = h.rings()[0].0;
    assert_eq!(h.acd.interaction(i(1)).map(|x| x.phase), Some(Phase::Ringing));
    h.secs(3);
    h.ev(AcdEvent::PhoneAnswered { offer }).unwrap();
    let info = h.acd.interaction(i(1)).unwrap();
    assert_eq!(
        (info.phase, info.agent, info.answered_at),
        (Phase::Connected, Some(a(1)), Some(h.now))
    );
    h.secs(20);
    h.ev(AcdEvent::HoldChanged { id: i(1), held: true }).unwrap();
    assert_eq!(h.acd.interaction(i(1)).unwrap().state_name(), "held");
    h.secs(5);
    // Live figures include the running phase.
    assert_eq!(h.acd.interaction(i(1)).unwrap().durations_at(h.now).hold_ms, 5_000);
    h.ev(AcdEvent::HoldChanged { id: i(1), held: false }).unwrap();
    h.secs(10);
    h.ev(AcdEvent::InteractionEnded { id: i(1) }).unwrap();
    // Still held by the ACD through wrap-up, with its end time.
    let info = h.acd.interaction(i(1)).unwrap();
    assert_eq!((info.phase, info.ended_at), (Phase::WrapUp, Some(h.now)));
    assert!(matches!(
        h.acd.interaction_state(i(1)),
        Some(InteractionState::WrapUp { agent, .. }) if *agent == a(1)
    ));
    h.secs(7);
    h.take();
    h.ev(AcdEvent::WrapUpSubmitted {
        agent: a(1),
        reasons: vec!["Sale".into()],
        notes: "renewed".into(),
    })
    .unwrap();
    let out = h.take();
    let (outcome, info) = closed(&out).expect("closed at the end of wrap-up");
    assert_eq!(outcome, Outcome::Answered);
    assert_eq!(
        info.durations(),
        PhaseDurations {
            queue_ms: 4_000,
            ring_ms: 3_000,
            talk_ms: 30_000,
            hold_ms: 5_000,
            wrap_up_ms: 7_000,
            ..PhaseDurations::default()
        }
    );
    assert_eq!(info.wrap_up, Some((vec!["Sale".to_owned()], "renewed".to_owned())));
    // WrapUpEnded comes first, then the close; the ACD forgets it.
    assert!(matches!(out[0], AcdAction::WrapUpEnded { .. }));
    assert_eq!(h.acd.interaction(i(1)), None);
    assert_eq!(h.acd.interaction_count(), 0);
}

// spec: HIST-3
#[test]
fn an_abandoned_interaction_closes_with_its_queue_and_ring_time() {
    let mut h = H::new(one_queue(Strategy::LongestIdle, 1));
    h.arrive(i(1), Q1, 0);
    h.secs(6);
    h.login(a(1));
    h.secs(2);
    h.take();
    h.ev(AcdEvent::InteractionAbandoned { id: i(1) }).unwrap();
    let out = h.take();
    // The ring is cancelled before the close.
    assert!(matches!(out[0], AcdAction::CancelRing { .. }));
    let (outcome, info) = closed(&out).expect("closed at once");
    assert_eq!(outcome, Outcome::Abandoned);
    assert_eq!((info.durations().queue_ms, info.durations().ring_ms), (6_000, 2_000));
    assert_eq!(info.ended_at, Some(h.now));
    assert_eq!(info.agent, None);
}

#[test]
fn a_caller_gone_during_wrap_up_changes_nothing() {
    let mut h = H::new(one_queue(Strategy::LongestIdle, 1));
    h.login(a(1));
    let (offer, _) = h.arrive_and_ring(i(1));
    h.ev(AcdEvent::PhoneAnswered { offer }).unwrap();
    h.ev(AcdEvent::InteractionEnded { id: i(1) }).unwrap();
    h.take();
    h.ev(AcdEvent::InteractionAbandoned { id: i(1) }).unwrap();
    h.ev(AcdEvent::InteractionEnded { id: i(1) }).unwrap();
    assert_eq!(h.take(), vec![]);
    assert_eq!(h.acd.interaction(i(1)).map(|x| x.phase), Some(Phase::WrapUp));
}

#[test]
fn hold_outside_a_connected_interaction_books_nothing() {
    let mut h = H::new(one_queue(Strategy::LongestIdle, 1));
    h.arrive(i(1), Q1, 0);
    h.ev(AcdEvent::HoldChanged { id: i(1), held: true }).unwrap();
    assert!(!h.acd.interaction(i(1)).unwrap().held);
    assert_eq!(
        h.ev(AcdEvent::HoldChanged { id: i(9), held: true }),
        Err(AcdError::UnknownInteraction(i(9)))
    );
}

// spec: CAD-3
// spec: OFFER-2
#[test]
fn data_saved_in_the_acd_shows_in_the_next_offer_and_refuses_stale_versions() {
    let mut cfg = one_queue(Strategy::LongestIdle, 2);
    cfg.queues[0].offer_variables = vec!["account".into()];
    let mut h = H::new(cfg);
    let spec = VariableSpec {
        name: "account".into(),
        ty: VarType::Integer,
        editable: true,
        secure: false,
    };
    let customer = Customer {
        caller_number: "+15551234567".into(),
        dnis: "5000".into(),
        data: InteractionData::new(vec![spec], &[("account", "42")]).unwrap(),
        min_skill: 0,
    };
    h.ev(AcdEvent::InteractionArrived {
        id: i(1),
        queue: Q1,
        priority: 0,
        customer: Box::new(customer),
    })
    .unwrap();
    let changes = vec![("account".to_owned(), "43".to_owned())];
    assert_eq!(h.acd.save_data(i(1), 0, &changes), Ok(1));
    // A second save on the old version, of a value changed since, is refused.
    let stale = vec![("account".to_owned(), "44".to_owned())];
    assert!(matches!(
        h.acd.save_data(i(1), 0, &stale),
        Err(AcdError::Data(CadError::Conflict { .. }))
    ));
    assert_eq!(
        h.acd.save_data(i(7), 0, &changes),
        Err(AcdError::UnknownInteraction(i(7)))
    );
    h.login(a(1));
    let offer = h.rings()[0].0;
    let o = h.acd.offer(offer).expect("ringing");
    assert_eq!(o.variables.iter().map(|v| v.value.as_str()).collect::<Vec<_>>(), ["43"]);
    assert_eq!((o.offered_at, o.deadline), (h.now, h.now + Duration::from_secs(15)));
    let info = h.acd.interaction(i(1)).unwrap();
    assert_eq!(
        (info.customer.caller_number.as_str(), info.customer.dnis.as_str()),
        ("+15551234567", "5000")
    );
}

#[test]
fn the_average_handle_time_comes_from_closed_interactions() {
    let mut h = H::new(one_queue(Strategy::LongestIdle, 1));
    assert_eq!(h.acd.average_handle_time(Q1), None);
    h.login(a(1));
    let (offer, agent) = h.arrive_and_ring(i(1));
    // handle_call: 10 s of talk, then wrap-up submitted at once.
    h.handle_call(offer, agent, i(1));
    assert_eq!(h.acd.average_handle_time(Q1), Some(Duration::from_secs(10)));
}
