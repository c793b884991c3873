//! What the contact-center statistics cost (issue 13 item 3): a busy day
//! of 20,000 interactions over 10 queues and 200 agents (about 80,000
//! state changes) in an in-memory store, then
//! - `today_queues`: reading today's rows and folding every queue's day,
//!   what the store thread does for each live `queue_stats` refresh (at
//!   most once a second while supervisors watch and calls change);
//! - `day_agents_15m`: the agents' report per 15 minutes over the day
//!   (`GET /supervisor/stats/agents`).
//!
//! Run: `cargo bench --bench stats -- --warm-up-time 1 --measurement-time 5`.
//! Measured 2026-12-07 (release, shared 2-core box): `today_queues`
//! 253-256 ms, `day_agents_15m` 365-368 ms.

use criterion::{criterion_group, criterion_main, Criterion};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::hint::black_box;
use switchboard::records::stats::{agent_report, queue_report, Interval, Window};
use switchboard::records::{AgentAuditRecord, HandlerRecord, InteractionOutcome, InteractionRecord, VisitRecord};
use switchboard::store::Store;

const DAY_MS: u64 = 86_400_000;
const T0: u64 = 1_796_601_600_000; // 2026-12-07T00:00:00Z
const CALLS: u64 = 20_000;
const QUEUES: u64 = 10;
const AGENTS: u64 = 200;

fn audit(agent: u64, state: &str, reason: Option<&str>, uid: Option<&str>, at_ms: u64) -> AgentAuditRecord {
    AgentAuditRecord {
        agent: format!("agent{agent}"),
        state: state.into(),
        reason: reason.map(str::to_owned),
        pending: None,
        interaction: uid.map(str::to_owned),
        at_ms,
    }
}

/// A day's records: each call waits, is answered (90 %) or abandoned.
fn day() -> Store {
    let mut rng = StdRng::seed_from_u64(13);
    let mut store = Store::open_in_memory().expect("store");
    for a in 0..AGENTS {
        store
            .insert_agent_audit(&audit(a, "Available", None, None, T0))
            .expect("audit");
    }
    for n in 0..CALLS {
        let arrived = T0 + n * (DAY_MS / CALLS);
        let wait = rng.random_range(1_000..60_000);
        let queue = format!("queue{}", n % QUEUES);
        let uid = format!("i{n}");
        let answered = rng.random_bool(0.9);
        let agent = n % AGENTS;
        let talk = rng.random_range(30_000..400_000);
        let visit = VisitRecord {
            queue: queue.clone(),
            entered_ms: arrived,
            left_ms: Some(arrived + wait),
            end: Some(if answered { "answered" } else { "abandoned" }.into()),
            agent: answered.then(|| format!("agent{agent}")),
            offers: 1,
            ronas: 0,
        };
        let rec = InteractionRecord {
            uid: uid.clone(),
            queue,
            caller: "+15550100".into(),
            dnis: "5000".into(),
            agent: answered.then(|| format!("agent{agent}")),
            outcome: Some(if answered {
                InteractionOutcome::Answered
            } else {
                InteractionOutcome::Abandoned
            }),
            arrived_ms: arrived,
            answered_ms: answered.then_some(arrived + wait),
            ended_ms: Some(arrived + wait + if answered { talk } else { 0 }),
            queue_ms: wait,
            ring_ms: 0,
            talk_ms: if answered { talk } else { 0 },
            hold_ms: 0,
            wrap_up_ms: if answered { 20_000 } else { 0 },
            consult_ms: 0,
            conference_ms: 0,
            post_call_ms: 0,
            wrap_up_reasons: Vec::new(),
            notes: String::new(),
            variables: Vec::new(),
            recordings: Vec::new(),
            handlers: answered
                .then(|| HandlerRecord {
                    agent: format!("agent{agent}"),
                    from_ms: arrived + wait,
                    to_ms: Some(arrived + wait + talk),
                    end: Some("ended".into()),
                    wrap_up_reasons: Vec::new(),
                })
                .into_iter()
                .collect(),
            visits: vec![visit],
        };
        store
            .open_interaction(&InteractionRecord {
                outcome: None,
                ..rec.clone()
            })
            .expect("open");
        store.update_interaction(&rec).expect("update");
        if answered {
            let at = arrived + wait;
            for (state, t) in [
                ("Reserved", at - 1_000),
                ("Busy", at),
                ("WrapUp", at + talk),
                ("Available", at + talk + 20_000),
            ] {
                let uid = (state != "Available").then_some(uid.as_str());
                store
                    .insert_agent_audit(&audit(agent, state, None, uid, t))
                    .expect("audit");
            }
        }
    }
    store
}

fn bench(c: &mut Criterion) {
    let store = day();
    let queues: Vec<(String, u32)> = (0..QUEUES).map(|q| (format!("queue{q}"), 20)).collect();
    let agents: Vec<String> = (0..AGENTS).map(|a| format!("agent{a}")).collect();
    let today = Window {
        from_ms: T0,
        to_ms: T0 + DAY_MS,
        interval: Interval::Day,
        now_ms: T0 + DAY_MS,
    };
    let mut g = c.benchmark_group("stats_20k_calls_200_agents");
    g.sample_size(10);
    g.bench_function("today_queues", |b| {
        b.iter(|| {
            let (interactions, _) = store.stats_rows(today.from_ms, today.to_ms).expect("rows");
            black_box(queue_report(&interactions, &queues, &today))
        })
    });
    let quarters = Window {
        interval: Interval::Quarter,
        ..today
    };
    g.bench_function("day_agents_15m", |b| {
        b.iter(|| {
            let (interactions, audit) = store.stats_rows(quarters.from_ms, quarters.to_ms).expect("rows");
            black_box(agent_report(&audit, &interactions, &agents, &quarters))
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
