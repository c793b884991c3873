//! Queue priority, overflow after the maximum wait, agents in several
//! queues, and the refusals of bad events and configurations.

use crate::harness::*;
use std::time::Duration;
use switchboard::acd::{
    Acd, AcdAction, AcdConfig, AcdError, AcdEvent, AgentConfig, AgentState, InteractionState, Outcome, OverflowTarget,
    QueueConfig, QueueId, Strategy,
};

fn two_queues(overflow: OverflowTarget) -> AcdConfig {
    let mut q1 = QueueConfig::new(Q1, Strategy::LongestIdle);
    q1.max_wait = Some(Duration::from_secs(30));
    q1.overflow = Some(overflow);
    AcdConfig {
        queues: vec![q1, QueueConfig::new(Q2, Strategy::LongestIdle)],
        agents: vec![
            AgentConfig {
                id: a(1),
                queues: vec![(Q1, 5)],
            },
            AgentConfig {
                id: a(2),
                queues: vec![(Q2, 5)],
            },
        ],
        ..Default::default()
    }
}

#[test]
fn higher_priority_first_then_arrival_order() {
    let mut h = H::new(one_queue(Strategy::LongestIdle, 1));
    h.arrive(i(1), Q1, 1);
    h.arrive(i(2), Q1, 5);
    h.arrive(i(3), Q1, 1);
    h.arrive(i(4), Q1, 5);
    assert_eq!(h.acd.waiting(Q1), vec![i(2), i(4), i(1), i(3)]);
    h.login(a(1));
    assert_eq!(h.rings()[0].2, i(2));
}

#[test]
fn overflow_to_another_queue_exactly_after_the_max_wait() {
    let mut h = H::new(two_queues(OverflowTarget::Queue(Q2)));
    h.arrive(i(1), Q1, 0);
    h.advance(Duration::from_secs(30) - Duration::from_nanos(1));
    assert_eq!(h.acd.waiting(Q1), vec![i(1)]);
    h.advance(Duration::from_nanos(1));
    assert_eq!(
        h.take(),
        vec![AcdAction::Overflow {
            interaction: i(1),
            from: Q1,
            target: OverflowTarget::Queue(Q2)
        }]
    );
    assert_eq!(h.acd.waiting(Q1), vec![]);
    assert_eq!(h.acd.waiting(Q2), vec![i(1)]);
    h.login(a(2));
    assert_eq!(h.rings()[0].1, a(2));
}

#[test]
fn overflow_to_an_external_target_leaves_the_acd() {
    let mut h = H::new(two_queues(OverflowTarget::External("voicemail".into())));
    h.arrive(i(1), Q1, 0);
    h.secs(30);
    let actions = h.take();
    assert_eq!(
        actions[0],
        AcdAction::Overflow {
            interaction: i(1),
            from: Q1,
            target: OverflowTarget::External("voicemail".into())
        }
    );
    match &actions[1..] {
        [AcdAction::InteractionClosed {
            interaction,
            outcome: Outcome::Overflowed,
            info,
        }] => {
            assert_eq!(*interaction, i(1));
            assert_eq!(info.durations().queue_ms, 30_000);
        }
        other => panic!("expected the close, got {other:?}"),
    }
    assert_eq!(h.acd.interaction_count(), 0);
    assert_eq!(h.acd.poll_timeout(), None);
}

#[test]
fn a_connected_interaction_never_overflows_and_a_ringing_one_waits_for_its_offer() {
    let mut h = H::new(two_queues(OverflowTarget::Queue(Q2)));
    h.login(a(1));
    let (o1, _) = h.arrive_and_ring(i(1));
    h.ev(AcdEvent::PhoneAnswered { offer: o1 }).unwrap();
    h.secs(40);
    assert!(!h.take().iter().any(|x| matches!(x, AcdAction::Overflow { .. })));
    h.ev(AcdEvent::InteractionEnded { id: i(1) }).unwrap();
    h.secs(60); // wrap-up times out
    assert_eq!(h.state(a(1)), AgentState::Available);

    let t = h.now;
    let (_, _) = h.arrive_and_ring(i(2));
    h.secs(15); // RONA at 15 s: back in line, not overdue
    assert_eq!(h.acd.waiting(Q1), vec![i(2)]);
    h.secs(5);
    h.ev(AcdEvent::AgentSetState {
        agent: a(1),
        state: switchboard::acd::RequestedState::Available,
    })
    .unwrap();
    let o2 = h.rings()[0].0;
    h.secs(12); // max wait passed at 30 s while ringing (RONA due at 35 s)
    assert_eq!(h.now - t, Duration::from_secs(32));
    assert!(!h.take().iter().any(|x| matches!(x, AcdAction::Overflow { .. })));
    h.ev(AcdEvent::OfferDeclined { offer: o2 }).unwrap();
    assert!(h.take().contains(&AcdAction::Overflow {
        interaction: i(2),
        from: Q1,
        target: OverflowTarget::Queue(Q2)
    }));
    assert_eq!(
        h.acd.interaction_state(i(2)),
        Some(&InteractionState::Waiting { queue: Q2 })
    );
    h.acd.check_invariants().unwrap();
}

#[test]
fn an_agent_in_two_queues_takes_the_most_urgent_head() {
    let cfg = AcdConfig {
        queues: vec![
            QueueConfig::new(Q1, Strategy::LongestIdle),
            QueueConfig::new(Q2, Strategy::LongestIdle),
        ],
        agents: vec![AgentConfig {
            id: a(1),
            queues: vec![(Q1, 5), (Q2, 5)],
        }],
        ..Default::default()
    };
    let mut h = H::new(cfg);
    h.arrive(i(1), Q1, 0);
    h.arrive(i(2), Q2, 0);
    h.arrive(i(3), Q1, 3);
    h.login(a(1));
    assert_eq!(h.rings()[0].2, i(3), "priority first");
    h.acd.check_invariants().unwrap();
}

#[test]
fn bad_events_and_configs_are_refused() {
    let mut h = H::new(one_queue(Strategy::LongestIdle, 1));
    h.arrive(i(1), Q1, 0);
    assert_eq!(
        h.ev(AcdEvent::InteractionArrived {
            id: i(1),
            queue: Q1,
            priority: 0,
            customer: Default::default()
        }),
        Err(AcdError::DuplicateInteraction(i(1)))
    );
    assert_eq!(
        h.ev(AcdEvent::InteractionArrived {
            id: i(2),
            queue: QueueId(7),
            priority: 0,
            customer: Default::default()
        }),
        Err(AcdError::UnknownQueue(QueueId(7)))
    );
    assert_eq!(
        h.ev(AcdEvent::InteractionEnded { id: i(9) }),
        Err(AcdError::UnknownInteraction(i(9)))
    );
    h.ev(AcdEvent::InteractionAbandoned { id: i(1) }).unwrap();
    assert_eq!(h.acd.interaction_count(), 0);

    let mut cfg = one_queue(Strategy::LongestIdle, 1);
    cfg.agents[0].queues.push((QueueId(7), 1));
    assert_eq!(Acd::new(cfg).unwrap_err(), AcdError::UnknownQueue(QueueId(7)));
    let mut cfg = one_queue(Strategy::LongestIdle, 1);
    cfg.queues[0].overflow = Some(OverflowTarget::Queue(Q1));
    assert_eq!(Acd::new(cfg).unwrap_err(), AcdError::SelfOverflow(Q1));
    let mut cfg = one_queue(Strategy::LongestIdle, 1);
    cfg.queues.push(QueueConfig::new(Q1, Strategy::RingAll));
    assert!(matches!(Acd::new(cfg), Err(AcdError::DuplicateConfigId(_))));
}

/// The queue gauges of `/metrics` (issue 13 item 4): customers not yet
/// answered (in line or ringing an agent) and the longest wait, counted
/// from entering the queue; an overflow restarts the wait in the new
/// queue; answered customers leave the count. Agents by AGENT-1 state.
#[test]
fn queue_gauges_count_unanswered_customers_and_the_longest_wait() {
    let mut h = H::new(two_queues(OverflowTarget::Queue(Q2)));
    h.arrive(i(1), Q1, 0);
    h.secs(5);
    h.arrive(i(2), Q1, 0);
    h.secs(4);
    h.arrive(i(3), Q2, 0);
    h.secs(11);
    let g = h.acd.queue_gauges(h.now);
    assert_eq!(g.len(), 2);
    assert_eq!(
        (g[0].queue, g[0].waiting, g[0].longest_wait),
        (Q1, 2, Duration::from_secs(20))
    );
    assert_eq!(
        (g[1].queue, g[1].waiting, g[1].longest_wait),
        (Q2, 1, Duration::from_secs(11))
    );
    assert_eq!(
        h.acd.agents_by_state(),
        [
            ("LoggedOut", 2),
            ("Available", 0),
            ("Idle", 0),
            ("Reserved", 0),
            ("Busy", 0),
            ("WrapUp", 0)
        ]
    );

    // Agent 2 (Q2) logs in: customer 3 rings it, still waiting.
    h.login(a(2));
    let rings = h.rings();
    assert_eq!(rings.len(), 1);
    let g = h.acd.queue_gauges(h.now);
    assert_eq!((g[1].waiting, g[1].longest_wait), (1, Duration::from_secs(11)));
    assert_eq!(h.acd.agents_by_state()[3], ("Reserved", 1));
    // Answered: no longer waiting.
    h.ev(AcdEvent::PhoneAnswered { offer: rings[0].0 }).expect("answer");
    let g = h.acd.queue_gauges(h.now);
    assert_eq!((g[1].waiting, g[1].longest_wait), (0, Duration::ZERO));
    assert_eq!(h.acd.agents_by_state()[4], ("Busy", 1));

    // Q1's maximum wait (30 s) overflows customer 1 to Q2: its wait there
    // starts again; customer 2 is still Q1's longest.
    h.secs(10);
    let g = h.acd.queue_gauges(h.now);
    assert_eq!((g[0].waiting, g[0].longest_wait), (1, Duration::from_secs(25)));
    assert_eq!((g[1].waiting, g[1].longest_wait), (1, Duration::ZERO));
}
