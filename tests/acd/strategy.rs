//! Each strategy's choice (AGENT-2: among `Available` agents only).

use crate::harness::*;
use switchboard::acd::{AcdConfig, AcdEvent, AgentConfig, QueueConfig, Strategy};

// spec: AGENT-2
#[test]
fn longest_idle_picks_the_agent_available_longest() {
    let mut h = H::new(one_queue(Strategy::LongestIdle, 3));
    h.login(a(3));
    h.secs(1);
    h.login(a(1));
    h.secs(1);
    h.login(a(2));
    let (_, first) = h.arrive_and_ring(i(1));
    let (_, second) = h.arrive_and_ring(i(2));
    assert_eq!((first, second), (a(3), a(1)));
}

// spec: AGENT-2
#[test]
fn round_robin_takes_agents_in_turn() {
    let mut h = H::new(one_queue(Strategy::RoundRobin, 3));
    for n in [3, 1, 2] {
        h.login(a(n));
    }
    let mut order = Vec::new();
    for n in 1..=5 {
        let (offer, agent) = h.arrive_and_ring(i(n));
        order.push(agent);
        h.handle_call(offer, agent, i(n));
        h.take();
    }
    assert_eq!(order, [a(1), a(2), a(3), a(1), a(2)]);
}

// spec: AGENT-2
#[test]
fn fewest_calls_picks_the_agent_with_fewest_then_longest_idle() {
    let mut h = H::new(one_queue(Strategy::FewestCalls, 3));
    h.login(a(1));
    let (o, ag) = h.arrive_and_ring(i(1));
    h.handle_call(o, ag, i(1));
    let (o, ag) = h.arrive_and_ring(i(2));
    h.handle_call(o, ag, i(2));
    h.login(a(2));
    let (o, ag) = h.arrive_and_ring(i(3));
    assert_eq!(ag, a(2), "0 calls beats 2");
    h.handle_call(o, ag, i(3));
    h.login(a(3));
    // a1: 2 calls, a2: 1 call, a3: 0 calls.
    let got: Vec<_> = (4..=6).map(|n| h.arrive_and_ring(i(n)).1).collect();
    assert_eq!(got, [a(3), a(2), a(1)]);
    assert_eq!(h.acd.agent_stats(a(1), h.now).unwrap().calls, 2);
}

// spec: AGENT-2
#[test]
fn skills_based_picks_best_skill_then_longest_idle() {
    let cfg = AcdConfig {
        queues: vec![QueueConfig::new(Q1, Strategy::SkillsBased)],
        agents: [(1, 3), (2, 9), (3, 9)]
            .into_iter()
            .map(|(n, skill)| AgentConfig {
                id: a(n),
                queues: vec![(Q1, skill)],
            })
            .collect(),
        ..Default::default()
    };
    let mut h = H::new(cfg);
    h.login(a(1));
    h.secs(1);
    h.login(a(3));
    h.secs(1);
    h.login(a(2));
    let got: Vec<_> = (1..=3).map(|n| h.arrive_and_ring(i(n)).1).collect();
    assert_eq!(got, [a(3), a(2), a(1)]);
}

// spec: AGENT-2
#[test]
fn ring_all_rings_every_available_agent_only() {
    let mut h = H::new(one_queue(Strategy::RingAll, 3));
    h.login(a(1));
    h.login(a(3));
    h.ev(AcdEvent::AgentLogin {
        agent: a(2),
        state: idle("Lunch"),
    })
    .unwrap();
    h.take();
    h.arrive(i(1), Q1, 0);
    let agents: Vec<_> = h.rings().into_iter().map(|r| r.1).collect();
    assert_eq!(agents, [a(1), a(3)]);
}

#[test]
fn strategies_parse_from_config_spelling_and_unknown_is_an_error() {
    let names = [
        "longest-idle",
        "round-robin",
        "ring-all",
        "fewest-calls",
        "skills-based",
    ];
    let parsed: Vec<Strategy> = names.iter().map(|n| n.parse().unwrap()).collect();
    assert_eq!(
        parsed,
        [
            Strategy::LongestIdle,
            Strategy::RoundRobin,
            Strategy::RingAll,
            Strategy::FewestCalls,
            Strategy::SkillsBased
        ]
    );
    assert!("random".parse::<Strategy>().is_err());
}
