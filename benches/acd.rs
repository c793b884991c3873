//! ACD routing cost (issue 4: a routing decision with 10,000 agents and
//! 1,000 queues under 10 µs). Each iteration is one arrival routed to an
//! available agent (pick + offer: `RingAgent` and the agent's state change)
//! followed by the caller abandoning (ring cancelled, agent `Available`
//! again), so the figure is an upper bound for one decision. Run with
//! `cargo bench --bench acd -- --warm-up-time 1 --measurement-time 3`.
//! Measured (release, shared 2-core box, 3 agent queues each): about 0.9 to
//! 1.1 µs per iteration for every strategy.

use criterion::{criterion_group, criterion_main, Criterion};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::hint::black_box;
use std::time::{Duration, Instant};
use switchboard::acd::{
    Acd, AcdConfig, AcdEvent, AgentConfig, AgentId, InteractionId, QueueConfig, QueueId, RequestedState, Strategy,
};

const AGENTS: u32 = 10_000;
const QUEUES: u32 = 1_000;

fn build(strategy: Strategy, now: Instant) -> Acd {
    let mut rng = StdRng::seed_from_u64(1);
    let cfg = AcdConfig {
        queues: (0..QUEUES).map(|q| QueueConfig::new(QueueId(q), strategy)).collect(),
        agents: (0..AGENTS)
            .map(|n| AgentConfig {
                id: AgentId(n),
                queues: (0..3)
                    .map(|k| (QueueId((n * 7 + k * 331) % QUEUES), rng.random_range(1..=10)))
                    .collect(),
            })
            .collect(),
        ..Default::default()
    };
    let mut acd = Acd::new(cfg).expect("config");
    for n in 0..AGENTS {
        let t = now + Duration::from_millis(u64::from(n));
        acd.handle(
            t,
            AcdEvent::AgentLogin {
                agent: AgentId(n),
                state: RequestedState::Available,
            },
        )
        .expect("login");
    }
    while acd.poll_action().is_some() {}
    acd
}

fn routing(c: &mut Criterion) {
    let mut g = c.benchmark_group("acd_route_10k_agents_1k_queues");
    for (name, strategy) in [
        ("longest_idle", Strategy::LongestIdle),
        ("round_robin", Strategy::RoundRobin),
        ("fewest_calls", Strategy::FewestCalls),
        ("skills_based", Strategy::SkillsBased),
    ] {
        let base = Instant::now();
        let mut acd = build(strategy, base);
        let mut now = base + Duration::from_secs(100);
        let mut id = 0u64;
        g.bench_function(name, |b| {
            b.iter(|| {
                id += 1;
                now += Duration::from_micros(1);
                let queue = QueueId((id % u64::from(QUEUES)) as u32);
                acd.handle(
                    now,
                    AcdEvent::InteractionArrived {
                        id: InteractionId(id),
                        queue,
                        priority: 0,
                        customer: Default::default(),
                    },
                )
                .expect("arrival");
                while let Some(a) = acd.poll_action() {
                    black_box(a);
                }
                acd.handle(now, AcdEvent::InteractionAbandoned { id: InteractionId(id) })
                    .expect("abandon");
                while let Some(a) = acd.poll_action() {
                    black_box(a);
                }
            })
        });
    }
    g.finish();
}

criterion_group!(benches, routing);
criterion_main!(benches);
