//! Agent states and transitions (AGENT-1..6).

use crate::harness::*;
use std::time::Duration;
use switchboard::acd::{AcdAction, AcdError, AcdEvent, AgentState, IdleReason, RequestedState, Strategy};

// spec: AGENT-1
#[test]
fn states_login_idle_available_logout() {
    let mut h = H::new(one_queue(Strategy::LongestIdle, 1));
    assert_eq!(h.state(a(1)), AgentState::LoggedOut);
    h.ev(AcdEvent::AgentLogin {
        agent: a(1),
        state: idle("Login"),
    })
    .unwrap();
    assert_eq!(h.state(a(1)), AgentState::Idle(IdleReason::Named("Login".into())));
    assert_eq!(
        h.ev(AcdEvent::AgentLogin {
            agent: a(1),
            state: RequestedState::Available
        }),
        Err(AcdError::AlreadyLoggedIn(a(1)))
    );
    // Idle reasons are configured: an unknown one is refused and changes nothing.
    assert_eq!(
        h.ev(AcdEvent::AgentSetState {
            agent: a(1),
            state: idle("Nap")
        }),
        Err(AcdError::UnknownIdleReason("Nap".into()))
    );
    h.ev(AcdEvent::AgentSetState {
        agent: a(1),
        state: RequestedState::Available,
    })
    .unwrap();
    assert_eq!(h.state(a(1)), AgentState::Available);
    h.ev(AcdEvent::AgentLogout { agent: a(1) }).unwrap();
    assert_eq!(h.state(a(1)), AgentState::LoggedOut);
    assert_eq!(
        h.ev(AcdEvent::AgentSetState {
            agent: a(1),
            state: RequestedState::Available
        }),
        Err(AcdError::NotLoggedIn(a(1)))
    );
    assert_eq!(
        h.ev(AcdEvent::AgentLogout { agent: a(9) }),
        Err(AcdError::UnknownAgent(a(9)))
    );
}

// spec: AGENT-2
#[test]
fn only_available_agents_get_offers() {
    let mut h = H::new(one_queue(Strategy::LongestIdle, 3));
    h.ev(AcdEvent::AgentLogin {
        agent: a(1),
        state: idle("Lunch"),
    })
    .unwrap();
    h.login(a(2));
    h.take();
    let (_, agent) = h.arrive_and_ring(i(1));
    assert_eq!(agent, a(2));
    // Nobody else available (agent 1 idle, agent 3 logged out): the next one waits.
    h.arrive(i(2), Q1, 0);
    assert!(h.rings().is_empty());
    assert_eq!(h.acd.waiting(Q1), vec![i(2)]);
    h.login(a(3));
    assert_eq!(h.rings(), vec![(switchboard::acd::OfferId(2), a(3), i(2))]);
    h.acd.check_invariants().unwrap();
}

// spec: AGENT-3
#[test]
fn no_logout_while_an_offer_rings() {
    let mut h = H::new(one_queue(Strategy::LongestIdle, 1));
    h.login(a(1));
    let (offer, _) = h.arrive_and_ring(i(1));
    assert_eq!(
        h.ev(AcdEvent::AgentLogout { agent: a(1) }),
        Err(AcdError::LogoutWhileRinging(a(1)))
    );
    assert!(matches!(h.state(a(1)), AgentState::Reserved { .. }));
    h.ev(AcdEvent::PhoneAnswered { offer }).unwrap();
    assert!(matches!(
        h.ev(AcdEvent::AgentLogout { agent: a(1) }),
        Err(AcdError::LogoutWhileEngaged { .. })
    ));
    h.ev(AcdEvent::InteractionEnded { id: i(1) }).unwrap();
    h.ev(AcdEvent::WrapUpSubmitted {
        agent: a(1),
        reasons: vec!["Support".into()],
        notes: "ok".into(),
    })
    .unwrap();
    h.ev(AcdEvent::AgentLogout { agent: a(1) }).unwrap();
    assert_eq!(h.state(a(1)), AgentState::LoggedOut);
}

// spec: AGENT-4
// spec: WRAP-3
#[test]
fn idle_while_busy_is_pending_until_wrap_up_ends_and_counts_as_handling() {
    let mut h = H::new(one_queue(Strategy::LongestIdle, 1));
    h.login(a(1));
    let (offer, _) = h.arrive_and_ring(i(1));
    h.ev(AcdEvent::PhoneAnswered { offer }).unwrap();
    h.secs(5);
    h.ev(AcdEvent::AgentSetState {
        agent: a(1),
        state: idle("Lunch"),
    })
    .unwrap();
    assert_eq!(h.state(a(1)), AgentState::Busy { interaction: i(1) });
    assert_eq!(h.acd.agent_pending(a(1)), Some(&idle("Lunch")));
    // The desktop sees the pending state.
    assert!(h.take().iter().any(|act| matches!(act,
        AcdAction::AgentStateChanged { state: AgentState::Busy { .. }, pending: Some(p), .. } if *p == idle("Lunch"))));
    h.secs(55);
    h.ev(AcdEvent::InteractionEnded { id: i(1) }).unwrap();
    assert!(matches!(h.state(a(1)), AgentState::WrapUp { .. }));
    h.secs(20);
    // A new arrival is not offered: the agent is still wrapping up.
    h.arrive(i(2), Q1, 0);
    h.ev(AcdEvent::WrapUpSubmitted {
        agent: a(1),
        reasons: vec!["Sale".into()],
        notes: String::new(),
    })
    .unwrap();
    assert_eq!(h.state(a(1)), AgentState::Idle(IdleReason::Named("Lunch".into())));
    assert_eq!(h.acd.agent_pending(a(1)), None);
    assert!(h.rings().is_empty(), "pending idle applied: no offer");
    let stats = h.acd.agent_stats(a(1), h.now).unwrap();
    assert_eq!(stats.handling, Duration::from_secs(80));
    assert_eq!(stats.idle, Duration::ZERO);
    assert_eq!(stats.calls, 1);
    h.secs(7);
    assert_eq!(h.acd.agent_stats(a(1), h.now).unwrap().idle, Duration::from_secs(7));
}

// spec: AGENT-4
#[test]
fn available_while_busy_clears_the_pending_idle() {
    let mut h = H::new(one_queue(Strategy::LongestIdle, 1));
    h.login(a(1));
    let (offer, _) = h.arrive_and_ring(i(1));
    h.ev(AcdEvent::AgentSetState {
        agent: a(1),
        state: idle("Meeting"),
    })
    .unwrap();
    h.ev(AcdEvent::AgentSetState {
        agent: a(1),
        state: RequestedState::Available,
    })
    .unwrap();
    h.handle_call(offer, a(1), i(1));
    assert_eq!(h.state(a(1)), AgentState::Available);
}

// spec: AGENT-6
#[test]
fn every_state_change_is_an_event_with_its_time() {
    let mut h = H::new(one_queue(Strategy::LongestIdle, 1));
    h.login(a(1));
    h.secs(1);
    h.arrive(i(1), Q1, 0);
    let offer = h
        .out
        .iter()
        .find_map(|act| match act {
            AcdAction::RingAgent { offer, .. } => Some(*offer),
            _ => None,
        })
        .unwrap();
    h.handle_call(offer, a(1), i(1));
    let changes: Vec<(AgentState, u64)> = h
        .take()
        .into_iter()
        .filter_map(|act| match act {
            AcdAction::AgentStateChanged { state, at, .. } => Some((state, (at - h.base).as_secs())),
            _ => None,
        })
        .collect();
    assert_eq!(
        changes,
        vec![
            (AgentState::Available, 0),
            (
                AgentState::Reserved {
                    offer,
                    interaction: i(1)
                },
                1
            ),
            (AgentState::Busy { interaction: i(1) }, 1),
            (
                AgentState::WrapUp {
                    interaction: i(1),
                    deadline: Some(h.base + Duration::from_secs(71))
                },
                11
            ),
            (AgentState::Available, 11),
        ]
    );
}
