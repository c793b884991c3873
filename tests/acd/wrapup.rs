//! Wrap-up (WRAP-1..3, CALL-END-1).

use crate::harness::*;
use std::time::Duration;
use switchboard::acd::{AcdAction, AcdConfig, AcdError, AcdEvent, AgentConfig, AgentState, QueueConfig, Strategy};

// spec: WRAP-1
// spec: CALL-END-1
#[test]
fn only_the_primary_agent_wraps_up_with_configured_reasons() {
    let mut h = H::new(one_queue(Strategy::RingAll, 3));
    for n in 1..=3 {
        h.login(a(n));
    }
    h.take();
    h.arrive(i(1), Q1, 0);
    let rings = h.rings();
    h.ev(AcdEvent::PhoneAnswered { offer: rings[2].0 }).unwrap();
    h.secs(30);
    h.ev(AcdEvent::InteractionEnded { id: i(1) }).unwrap();
    let start = h.now;
    assert!(h.take().contains(&AcdAction::WrapUpStarted {
        agent: a(3),
        interaction: i(1),
        deadline: start + Duration::from_secs(60)
    }));
    assert_eq!(h.state(a(1)), AgentState::Available);
    assert_eq!(h.state(a(2)), AgentState::Available);
    assert!(matches!(h.state(a(3)), AgentState::WrapUp { .. }));
    let submit = |reasons: &[&str]| AcdEvent::WrapUpSubmitted {
        agent: a(3),
        reasons: reasons.iter().map(|r| r.to_string()).collect(),
        notes: "called back".into(),
    };
    assert_eq!(h.ev(submit(&[])), Err(AcdError::NoWrapUpReason));
    assert_eq!(
        h.ev(submit(&["Sale", "Gossip"])),
        Err(AcdError::UnknownWrapUpReason("Gossip".into()))
    );
    assert_eq!(
        h.ev(AcdEvent::WrapUpSubmitted {
            agent: a(1),
            reasons: vec!["Sale".into()],
            notes: String::new()
        }),
        Err(AcdError::NotInWrapUp(a(1)))
    );
    h.ev(submit(&["Sale", "Support"])).unwrap();
    assert!(h.take().contains(&AcdAction::WrapUpEnded {
        agent: a(3),
        interaction: i(1),
        reasons: vec!["Sale".into(), "Support".into()],
        notes: "called back".into(),
        timed_out: false
    }));
    assert_eq!(h.state(a(3)), AgentState::Available);
    assert_eq!(h.acd.poll_timeout(), None);
}

// spec: WRAP-2
// spec: WRAP-3
#[test]
fn wrap_up_ends_by_itself_at_the_queue_wrap_up_time() {
    let mut h = H::new(one_queue(Strategy::LongestIdle, 1));
    h.login(a(1));
    let (offer, _) = h.arrive_and_ring(i(1));
    h.ev(AcdEvent::PhoneAnswered { offer }).unwrap();
    h.ev(AcdEvent::InteractionEnded { id: i(1) }).unwrap();
    h.arrive(i(2), Q1, 0);
    h.take();
    h.advance(Duration::from_secs(60) - Duration::from_nanos(1));
    assert!(h.take().is_empty());
    h.advance(Duration::from_nanos(1));
    let out = h.take();
    assert!(out.contains(&AcdAction::WrapUpEnded {
        agent: a(1),
        interaction: i(1),
        reasons: vec![],
        notes: String::new(),
        timed_out: true
    }));
    // Back to Available, and straight into the next offer.
    assert!(matches!(h.state(a(1)), AgentState::Reserved { interaction, .. } if interaction == i(2)));
}

// spec: WRAP-2
#[test]
fn wrap_up_can_be_extended_by_a_time_or_indefinitely() {
    let mut h = H::new(one_queue(Strategy::LongestIdle, 1));
    h.login(a(1));
    let (offer, _) = h.arrive_and_ring(i(1));
    h.ev(AcdEvent::PhoneAnswered { offer }).unwrap();
    h.ev(AcdEvent::InteractionEnded { id: i(1) }).unwrap();
    let start = h.now;
    h.secs(50);
    h.ev(AcdEvent::WrapUpExtend {
        agent: a(1),
        by: Some(Duration::from_secs(30)),
    })
    .unwrap();
    assert_eq!(h.acd.poll_timeout(), Some(start + Duration::from_secs(90)));
    h.secs(39);
    assert!(matches!(h.state(a(1)), AgentState::WrapUp { .. }));
    h.ev(AcdEvent::WrapUpExtend { agent: a(1), by: None }).unwrap();
    assert_eq!(
        h.state(a(1)),
        AgentState::WrapUp {
            interaction: i(1),
            deadline: None
        }
    );
    assert_eq!(h.acd.poll_timeout(), None);
    h.secs(3600);
    assert!(matches!(h.state(a(1)), AgentState::WrapUp { .. }));
    h.ev(AcdEvent::WrapUpSubmitted {
        agent: a(1),
        reasons: vec!["Support".into()],
        notes: String::new(),
    })
    .unwrap();
    assert_eq!(h.state(a(1)), AgentState::Available);
}

// spec: WRAP-1
#[test]
fn wrap_up_reasons_are_those_of_the_interactions_queue() {
    let queue = |id, reasons: &[&str]| QueueConfig {
        wrap_up_reasons: reasons.iter().map(|r| r.to_string()).collect(),
        ..QueueConfig::new(id, Strategy::LongestIdle)
    };
    let mut h = H::new(AcdConfig {
        queues: vec![queue(Q1, &["Sale"]), queue(Q2, &["Refund"])],
        agents: vec![AgentConfig {
            id: a(1),
            queues: vec![(Q1, 5), (Q2, 5)],
        }],
        ..Default::default()
    });
    h.login(a(1));
    let submit = |reason: &str| AcdEvent::WrapUpSubmitted {
        agent: a(1),
        reasons: vec![reason.into()],
        notes: String::new(),
    };
    for (n, q, own, other) in [(1, Q1, "Sale", "Refund"), (2, Q2, "Refund", "Sale")] {
        h.arrive(i(n), q, 0);
        let offer = h.rings()[0].0;
        assert_eq!(h.acd.wrap_up_queue(a(1)), None);
        h.ev(AcdEvent::PhoneAnswered { offer }).unwrap();
        h.ev(AcdEvent::InteractionEnded { id: i(n) }).unwrap();
        assert_eq!(h.acd.wrap_up_queue(a(1)), Some(q));
        assert_eq!(h.ev(submit(other)), Err(AcdError::UnknownWrapUpReason(other.into())));
        h.ev(submit(own)).unwrap();
        assert_eq!(h.state(a(1)), AgentState::Available);
        assert_eq!(h.acd.wrap_up_queue(a(1)), None);
    }
}
