//! Offers, RONA and ring-all (OFFER-1, OFFER-2, OFFER-4).

use crate::harness::*;
use std::time::Duration;
use switchboard::acd::{
    AcceptMode, AcdAction, AcdError, AcdEvent, AgentState, CancelReason, Customer, IdleReason, InteractionData,
    InteractionState, OfferId, RequestedState, Strategy, VarType, VariableSpec,
};

// spec: OFFER-1
#[test]
fn manual_queue_rings_and_auto_queue_answers_for_the_agent() {
    for (mode, auto) in [(AcceptMode::Manual, false), (AcceptMode::Auto, true)] {
        let mut cfg = one_queue(Strategy::LongestIdle, 1);
        cfg.queues[0].accept = mode;
        let mut h = H::new(cfg);
        h.login(a(1));
        h.take();
        h.arrive(i(1), Q1, 0);
        let ring = h
            .take()
            .into_iter()
            .find(|x| matches!(x, AcdAction::RingAgent { .. }))
            .unwrap();
        let AcdAction::RingAgent {
            offer,
            auto_answer,
            deadline,
            offered_count,
            ..
        } = ring
        else {
            unreachable!()
        };
        assert_eq!(auto_answer, auto);
        assert_eq!(deadline, h.now + Duration::from_secs(15));
        assert_eq!(offered_count, 1);
        // Desktop accept connects just like the phone answering.
        h.ev(AcdEvent::OfferAccepted { offer }).unwrap();
        assert!(h.take().contains(&AcdAction::Connect {
            offer,
            agent: a(1),
            interaction: i(1)
        }));
        assert_eq!(
            h.ev(AcdEvent::PhoneAnswered { offer }),
            Err(AcdError::UnknownOffer(offer))
        );
        assert_eq!(
            h.acd.interaction_state(i(1)),
            Some(&InteractionState::Connected { queue: Q1, agent: a(1) })
        );
    }
}

// spec: OFFER-2
#[test]
fn offer_shows_the_chosen_variables_in_order_never_secure_ones() {
    let mut cfg = one_queue(Strategy::LongestIdle, 1);
    cfg.queues[0].offer_variables = vec!["account".into(), "pin".into(), "name".into(), "lang".into()];
    let mut h = H::new(cfg);
    h.login(a(1));
    h.take();
    let spec = |n: &str, secure| VariableSpec {
        name: n.into(),
        ty: VarType::String,
        editable: true,
        secure,
    };
    let specs = vec![
        spec("name", false),
        spec("pin", true),
        spec("account", false),
        spec("internal", false),
        spec("lang", false),
    ];
    let values = [
        ("name", "Ada"),
        ("pin", "1234"),
        ("account", "42"),
        ("internal", "x"),
        ("lang", "en"),
    ];
    let customer = Customer {
        data: InteractionData::new(specs, &values).unwrap(),
        ..Customer::default()
    };
    h.ev(AcdEvent::InteractionArrived {
        id: i(1),
        queue: Q1,
        priority: 0,
        customer: Box::new(customer),
    })
    .unwrap();
    let vars = h
        .take()
        .into_iter()
        .find_map(|x| match x {
            AcdAction::RingAgent { variables, .. } => Some(variables),
            _ => None,
        })
        .unwrap();
    let names: Vec<&str> = vars.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(names, ["account", "name", "lang"]);
}

// spec: OFFER-4
#[test]
fn rona_fires_exactly_at_the_timeout_and_sets_idle_rona() {
    let mut h = H::new(one_queue(Strategy::LongestIdle, 2));
    h.login(a(1));
    h.secs(1);
    h.login(a(2));
    h.take();
    let (offer, agent) = h.arrive_and_ring(i(1));
    assert_eq!(agent, a(1));
    assert_eq!(h.acd.poll_timeout(), Some(h.now + Duration::from_secs(15)));
    h.advance(Duration::from_secs(15) - Duration::from_nanos(1));
    assert!(h.take().is_empty(), "nothing before the timeout");
    assert!(matches!(h.state(a(1)), AgentState::Reserved { .. }));
    h.advance(Duration::from_nanos(1));
    assert_eq!(h.elapsed(), Duration::from_secs(16));
    let out = h.take();
    assert_eq!(
        out[0],
        AcdAction::CancelRing {
            offer,
            agent: a(1),
            interaction: i(1),
            reason: CancelReason::Rona
        }
    );
    assert_eq!(
        out[1],
        AcdAction::OfferTimedOut {
            offer,
            agent: a(1),
            interaction: i(1)
        }
    );
    assert_eq!(h.state(a(1)), AgentState::Idle(IdleReason::Rona));
    // Offered to the next agent at once, second offer of the interaction.
    assert!(out.iter().any(|x| matches!(x,
        AcdAction::RingAgent { agent, interaction, offered_count: 2, .. } if *agent == a(2) && *interaction == i(1))));
    // The desktop's "go Available" answer puts the agent back.
    h.ev(AcdEvent::AgentSetState {
        agent: a(1),
        state: RequestedState::Available,
    })
    .unwrap();
    assert_eq!(h.state(a(1)), AgentState::Available);
    h.acd.check_invariants().unwrap();
}

// spec: OFFER-4
#[test]
fn an_answer_handled_at_the_deadline_is_too_late() {
    let mut h = H::new(one_queue(Strategy::LongestIdle, 1));
    h.login(a(1));
    let (offer, _) = h.arrive_and_ring(i(1));
    let late = h.now + Duration::from_secs(15);
    assert_eq!(
        h.acd.handle(late, AcdEvent::PhoneAnswered { offer }),
        Err(AcdError::UnknownOffer(offer))
    );
    assert_eq!(h.acd.agent_state(a(1)), Some(&AgentState::Idle(IdleReason::Rona)));
    assert_eq!(h.acd.waiting(Q1), vec![i(1)]);
}

// spec: OFFER-4
#[test]
fn rona_returns_the_interaction_ahead_of_later_arrivals() {
    let mut h = H::new(one_queue(Strategy::LongestIdle, 2));
    h.login(a(1));
    let (_, _) = h.arrive_and_ring(i(1));
    h.secs(5);
    h.arrive(i(2), Q1, 0);
    h.arrive(i(3), Q1, 0);
    h.secs(10);
    assert_eq!(h.acd.waiting(Q1), vec![i(1), i(2), i(3)]);
    h.take();
    h.login(a(2));
    assert_eq!(h.rings()[0].2, i(1));
}

// spec: OFFER-4
#[test]
fn decline_reoffers_to_the_next_agent_never_the_same_one() {
    let mut h = H::new(one_queue(Strategy::LongestIdle, 2));
    h.login(a(1));
    h.secs(1);
    h.login(a(2));
    h.take();
    let (offer, agent) = h.arrive_and_ring(i(1));
    assert_eq!(agent, a(1));
    h.ev(AcdEvent::OfferDeclined { offer }).unwrap();
    let out = h.take();
    assert_eq!(
        out[0],
        AcdAction::CancelRing {
            offer,
            agent: a(1),
            interaction: i(1),
            reason: CancelReason::Declined
        }
    );
    let rings: Vec<_> = out
        .iter()
        .filter_map(|x| match x {
            AcdAction::RingAgent { agent, .. } => Some(*agent),
            _ => None,
        })
        .collect();
    assert_eq!(rings, [a(2)]);
    assert_eq!(h.state(a(1)), AgentState::Available, "declining is not RONA");
    // Agent 2 declines too: nobody left who has not declined, so it waits.
    let AgentState::Reserved { offer: o2, .. } = h.state(a(2)) else {
        panic!()
    };
    h.ev(AcdEvent::OfferDeclined { offer: o2 }).unwrap();
    assert!(h.rings().is_empty());
    assert_eq!(h.acd.waiting(Q1), vec![i(1)]);
    // A later arrival goes to an agent who has not declined it.
    h.arrive(i(2), Q1, 0);
    assert_eq!(h.rings().len(), 1);
    h.acd.check_invariants().unwrap();
}

// spec: OFFER-4
#[test]
fn a_failed_phone_leg_is_like_rona() {
    let mut h = H::new(one_queue(Strategy::LongestIdle, 1));
    h.login(a(1));
    let (offer, _) = h.arrive_and_ring(i(1));
    h.ev(AcdEvent::PhoneLegFailed { offer }).unwrap();
    let out = h.take();
    assert!(
        !out.iter().any(|x| matches!(x, AcdAction::CancelRing { .. })),
        "leg already gone"
    );
    assert!(out.contains(&AcdAction::OfferTimedOut {
        offer,
        agent: a(1),
        interaction: i(1)
    }));
    assert_eq!(h.state(a(1)), AgentState::Idle(IdleReason::Rona));
    assert_eq!(h.acd.waiting(Q1), vec![i(1)]);
}

#[test]
fn ring_all_first_answer_cancels_the_other_rings() {
    let mut h = H::new(one_queue(Strategy::RingAll, 4));
    for n in 1..=3 {
        h.login(a(n));
    }
    h.take();
    h.arrive(i(1), Q1, 0);
    let rings = h.rings();
    assert_eq!(rings.iter().map(|r| r.1).collect::<Vec<_>>(), [a(1), a(2), a(3)]);
    // One agent, one offer, even in ring-all; a later arrival waits.
    h.arrive(i(2), Q1, 0);
    assert!(h.rings().is_empty());
    h.acd.check_invariants().unwrap();
    let (winner_offer, winner, _) = rings[1];
    h.ev(AcdEvent::PhoneAnswered { offer: winner_offer }).unwrap();
    let out = h.take();
    let cancelled: Vec<_> = out
        .iter()
        .filter_map(|x| match x {
            AcdAction::CancelRing { offer, reason, .. } => Some((*offer, *reason)),
            _ => None,
        })
        .collect();
    assert_eq!(
        cancelled,
        [
            (rings[0].0, CancelReason::AnsweredElsewhere),
            (rings[2].0, CancelReason::AnsweredElsewhere)
        ]
    );
    assert_eq!(h.state(winner), AgentState::Busy { interaction: i(1) });
    // The losers are Available again and ring for the waiting interaction.
    let next: Vec<_> = out
        .iter()
        .filter_map(|x| match x {
            AcdAction::RingAgent { agent, interaction, .. } => Some((*agent, *interaction)),
            _ => None,
        })
        .collect();
    assert_eq!(next, [(a(1), i(2)), (a(3), i(2))]);
    h.acd.check_invariants().unwrap();
}

#[test]
fn ring_all_decline_by_one_keeps_the_others_ringing() {
    let mut h = H::new(one_queue(Strategy::RingAll, 2));
    h.login(a(1));
    h.login(a(2));
    h.take();
    h.arrive(i(1), Q1, 0);
    let rings = h.rings();
    h.ev(AcdEvent::OfferDeclined { offer: rings[0].0 }).unwrap();
    assert!(
        matches!(h.acd.interaction_state(i(1)), Some(InteractionState::Ringing { offers, .. }) if offers.len() == 1)
    );
    assert!(h.rings().is_empty(), "the decliner is not rung again for it");
    h.ev(AcdEvent::PhoneAnswered { offer: rings[1].0 }).unwrap();
    h.acd.check_invariants().unwrap();
}

#[test]
fn abandon_while_ringing_cancels_the_ring_and_frees_the_agent() {
    let mut h = H::new(one_queue(Strategy::LongestIdle, 1));
    h.login(a(1));
    let (offer, _) = h.arrive_and_ring(i(1));
    h.ev(AcdEvent::InteractionAbandoned { id: i(1) }).unwrap();
    assert!(h.take().contains(&AcdAction::CancelRing {
        offer,
        agent: a(1),
        interaction: i(1),
        reason: CancelReason::Abandoned
    }));
    assert_eq!(h.state(a(1)), AgentState::Available);
    assert_eq!(h.acd.interaction_count(), 0);
    assert_eq!(h.acd.poll_timeout(), None, "RONA disarmed");
    assert_eq!(
        h.ev(AcdEvent::OfferDeclined { offer: OfferId(1) }),
        Err(AcdError::UnknownOffer(OfferId(1)))
    );
}
