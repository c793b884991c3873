//! SUP-5: a supervisor assigns an open, unassigned interaction to a queue
//! or to an agent, overriding the agent's presence and capacity; the answer
//! says by how many units capacity is exceeded.

use crate::harness::*;
use switchboard::acd::{
    AcdAction, AcdConfig, AcdError, AcdEvent, AgentConfig, AgentState, AssignTarget, Assignment, CancelReason,
    Delivery, IdleReason, InteractionState, Phase, QueueConfig, Strategy,
};

/// Two queues; agents 1 and 2 in Q1, agent 3 in Q2.
fn two_queues() -> H {
    let q = |id| QueueConfig {
        wrap_up_reasons: vec!["Sale".into()],
        ..QueueConfig::new(id, Strategy::LongestIdle)
    };
    H::new(AcdConfig {
        queues: vec![q(Q1), q(Q2)],
        agents: vec![
            AgentConfig {
                id: a(1),
                queues: vec![(Q1, 5)],
            },
            AgentConfig {
                id: a(2),
                queues: vec![(Q1, 5)],
            },
            AgentConfig {
                id: a(3),
                queues: vec![(Q2, 5)],
            },
        ],
        idle_reasons: vec!["Lunch".into()],
    })
}

fn assign(h: &mut H, n: u64, target: AssignTarget) -> Result<Assignment, AcdError> {
    let now = h.now;
    let r = h.acd.assign(now, i(n), target);
    while let Some(act) = h.acd.poll_action() {
        h.out.push(act);
    }
    h.acd.check_invariants().unwrap();
    r
}

// spec: SUP-5
#[test]
fn a_waiting_interaction_assigned_to_an_idle_agent_rings_it_and_it_returns_to_idle() {
    let mut h = two_queues();
    h.ev(AcdEvent::AgentLogin {
        agent: a(3),
        state: idle("Lunch"),
    })
    .unwrap();
    h.arrive(i(1), Q1, 0);
    h.take();
    let r = assign(&mut h, 1, AssignTarget::Agent(a(3))).unwrap();
    assert_eq!(
        r,
        Assignment {
            delivery: Delivery::Ringing,
            capacity_exceeded_by: 0,
            presence_overridden: true
        }
    );
    let rings = h.rings();
    assert_eq!(rings.len(), 1);
    assert_eq!(
        (rings[0].1, rings[0].2),
        (a(3), i(1)),
        "agent 3 rings though Idle and not in Q1"
    );
    h.handle_call(rings[0].0, a(3), i(1));
    assert_eq!(
        h.state(a(3)),
        AgentState::Idle(IdleReason::Named("Lunch".into())),
        "presence overridden for this interaction only"
    );
    h.acd.check_invariants().unwrap();
}

// spec: SUP-5
#[test]
fn a_busy_agent_gets_it_when_free_and_the_answer_says_capacity_is_exceeded() {
    let mut h = two_queues();
    h.login(a(1));
    let (offer, agent) = h.arrive_and_ring(i(1));
    assert_eq!(agent, a(1));
    h.ev(AcdEvent::PhoneAnswered { offer }).unwrap();
    h.arrive(i(2), Q1, 0);
    h.arrive(i(3), Q1, 0);
    h.take();
    let r = assign(&mut h, 2, AssignTarget::Agent(a(1))).unwrap();
    assert_eq!(
        r,
        Assignment {
            delivery: Delivery::WhenFree,
            capacity_exceeded_by: 1,
            presence_overridden: false
        }
    );
    let r3 = assign(&mut h, 3, AssignTarget::Agent(a(1))).unwrap();
    assert_eq!(r3.capacity_exceeded_by, 2, "one unit on the call, one held, one more");
    assert_eq!(
        h.acd.interaction_state(i(2)),
        Some(&InteractionState::Assigned { queue: Q1, agent: a(1) })
    );
    assert_eq!(h.acd.interaction(i(2)).map(|x| x.phase), Some(Phase::Queued));
    // Agent 2 logs in: the held interactions are not offered to it.
    h.login(a(2));
    assert!(h.rings().is_empty(), "held for agent 1 only");
    // Agent 1 asks for Idle during its call, then wraps up: the first
    // assignment still rings it (capacity and presence overridden).
    h.ev(AcdEvent::AgentSetState {
        agent: a(1),
        state: idle("Lunch"),
    })
    .unwrap();
    h.ev(AcdEvent::InteractionEnded { id: i(1) }).unwrap();
    assert!(h.rings().is_empty(), "not during wrap-up");
    h.ev(AcdEvent::WrapUpSubmitted {
        agent: a(1),
        reasons: vec!["Sale".into()],
        notes: String::new(),
    })
    .unwrap();
    let rings = h.rings();
    assert_eq!(rings.iter().map(|r| (r.1, r.2)).collect::<Vec<_>>(), [(a(1), i(2))]);
    h.handle_call(rings[0].0, a(1), i(2));
    let rings = h.rings();
    assert_eq!(
        rings.iter().map(|r| (r.1, r.2)).collect::<Vec<_>>(),
        [(a(1), i(3))],
        "then the next"
    );
    h.handle_call(rings[0].0, a(1), i(3));
    assert_eq!(h.state(a(1)), AgentState::Idle(IdleReason::Named("Lunch".into())));
    h.acd.check_invariants().unwrap();
}

// spec: SUP-5
#[test]
fn a_ringing_interaction_is_withdrawn_and_assigned_to_another_queue_keeping_its_place() {
    let mut h = two_queues();
    h.arrive(i(9), Q2, 0); // waits in Q2: nobody there yet
    h.login(a(1));
    let (offer, _) = h.arrive_and_ring(i(1));
    let r = assign(&mut h, 1, AssignTarget::Queue(Q2)).unwrap();
    assert_eq!(r.delivery, Delivery::Queued);
    let out = h.take();
    assert!(out.contains(&AcdAction::CancelRing {
        offer,
        agent: a(1),
        interaction: i(1),
        reason: CancelReason::Reassigned
    }));
    assert_eq!(h.state(a(1)), AgentState::Available, "no RONA for a withdrawn ring");
    assert_eq!(h.acd.interaction(i(1)).map(|x| x.queue), Some(Q2));
    assert_eq!(h.acd.waiting(Q2), [i(9), i(1)], "behind the earlier arrival");
    h.login(a(3));
    let rings = h.rings();
    assert_eq!(rings.iter().map(|r| (r.1, r.2)).collect::<Vec<_>>(), [(a(3), i(9))]);
}

// spec: SUP-5
#[test]
fn only_open_unassigned_interactions_to_logged_in_agents() {
    let mut h = two_queues();
    h.login(a(1));
    let (offer, _) = h.arrive_and_ring(i(1));
    h.ev(AcdEvent::PhoneAnswered { offer }).unwrap();
    assert_eq!(
        assign(&mut h, 1, AssignTarget::Agent(a(2))),
        Err(AcdError::NotAssignable {
            interaction: i(1),
            agent: a(1)
        })
    );
    h.arrive(i(2), Q1, 0);
    assert_eq!(
        assign(&mut h, 2, AssignTarget::Agent(a(2))),
        Err(AcdError::NotLoggedIn(a(2)))
    );
    assert_eq!(
        h.acd.interaction_state(i(2)),
        Some(&InteractionState::Waiting { queue: Q1 }),
        "a refused assignment changes nothing"
    );
    assert_eq!(
        assign(&mut h, 7, AssignTarget::Queue(Q2)),
        Err(AcdError::UnknownInteraction(i(7)))
    );
    // Held for agent 1: not assignable again until it rings.
    assign(&mut h, 2, AssignTarget::Agent(a(1))).unwrap();
    assert_eq!(
        assign(&mut h, 2, AssignTarget::Queue(Q2)),
        Err(AcdError::NotAssignable {
            interaction: i(2),
            agent: a(1)
        })
    );
}

// spec: SUP-5
#[test]
fn an_assigned_ring_that_rings_out_goes_back_to_its_queue() {
    let mut h = two_queues();
    h.login(a(1));
    h.ev(AcdEvent::AgentLogin {
        agent: a(3),
        state: idle("Lunch"),
    })
    .unwrap();
    h.ev(AcdEvent::AgentSetState {
        agent: a(1),
        state: idle("Lunch"),
    })
    .unwrap();
    h.arrive(i(1), Q1, 0);
    assign(&mut h, 1, AssignTarget::Agent(a(3))).unwrap();
    h.take();
    h.secs(15);
    assert_eq!(h.state(a(3)), AgentState::Idle(IdleReason::Rona), "OFFER-4");
    assert_eq!(
        h.acd.interaction_state(i(1)),
        Some(&InteractionState::Waiting { queue: Q1 })
    );
    h.acd.check_invariants().unwrap();
}

// spec: SUP-5
#[test]
fn a_held_assignment_the_caller_abandons_is_closed() {
    let mut h = two_queues();
    h.login(a(1));
    let (offer, _) = h.arrive_and_ring(i(1));
    h.ev(AcdEvent::PhoneAnswered { offer }).unwrap();
    h.arrive(i(2), Q1, 0);
    assign(&mut h, 2, AssignTarget::Agent(a(1))).unwrap();
    h.ev(AcdEvent::InteractionAbandoned { id: i(2) }).unwrap();
    assert_eq!(h.acd.interaction_state(i(2)), None);
    h.ev(AcdEvent::InteractionEnded { id: i(1) }).unwrap();
    h.ev(AcdEvent::WrapUpSubmitted {
        agent: a(1),
        reasons: vec!["Sale".into()],
        notes: String::new(),
    })
    .unwrap();
    assert!(h.rings().is_empty());
    assert_eq!(h.state(a(1)), AgentState::Available);
    h.acd.check_invariants().unwrap();
}
