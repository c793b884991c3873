//! The supervisors' live queue numbers (issue 13 items 2 and 3): each
//! second the driver compares every queue's gauges (calls waiting, the
//! oldest wait's start, agents by state) with what it last published and
//! sends a `queue` event for each that changed; when interactions or agent
//! state changes were written since, it asks the store thread to fold
//! today's figures, which sends a `queue_stats` event for each queue and an
//! `agent_stats` event for each agent whose figures changed.
//! Statistics requests (`GET /supervisor/stats/...`,
//! `GET /supervisor/queues`) go to the store thread the same way, with the
//! engine's live gauges when they need them. The store thread passes both
//! on, after the writes queued before them, to its reader thread, which
//! folds them on a read-only connection: reports never hold up writes.

use super::store_worker::{LiveStats, Op, StatsJob, StoreHandle};
use crate::api::stats::{StatsKind, StatsQuery};
use crate::api::ApiReply;
use crate::engine::desk::DeskEvent;
use crate::engine::Engine;
use crate::records::stats::{QueueFigures, QueueNow};
use std::collections::{BTreeMap, HashMap};
use std::time::Instant;
use tokio::sync::{broadcast, oneshot};

/// How often the queue gauges are compared and today's figures refreshed.
pub(crate) const FEED_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

/// What a `queue` event carries, to publish only changes.
type Gauge = (u64, Option<u64>, BTreeMap<String, u64>);

/// The last published gauges and whether records were written since.
#[derive(Default)]
pub(crate) struct QueueFeed {
    last: HashMap<String, Gauge>,
    written: bool,
}

/// The wall clock of a monotonic instant, by one mapping fixed at the first
/// use: the oldest wait's start is then the same unix ms at every reading
/// (two clock reads a moment apart differ by a millisecond or so, which
/// would make each tick look like a change).
fn unix_ms_at(t: Instant, mono: Instant, unix_ms: u64) -> u64 {
    static BASE: std::sync::OnceLock<(Instant, u64)> = std::sync::OnceLock::new();
    let (base, base_ms) = *BASE.get_or_init(|| (mono, unix_ms));
    if t >= base {
        base_ms + t.duration_since(base).as_millis() as u64
    } else {
        base_ms.saturating_sub(base.duration_since(t).as_millis() as u64)
    }
}

/// Each queue now, `today` left empty (the store fills it in).
pub(crate) fn live_queues(engine: &Engine, mono: Instant, unix_ms: u64) -> Vec<QueueNow> {
    let (queues, _) = engine.acd_gauges(mono);
    let thresholds = engine.stats_targets().queues;
    queues
        .into_iter()
        .map(|q| {
            let wait_ms = q.longest_wait.as_millis() as u64;
            let threshold = thresholds.iter().find(|(n, _)| *n == q.name).map_or(20, |(_, t)| *t);
            QueueNow {
                oldest_waiting_since: (q.waiting > 0)
                    .then(|| unix_ms_at(mono.checked_sub(q.longest_wait).unwrap_or(mono), mono, unix_ms)),
                longest_wait_s: wait_ms as f64 / 1000.0,
                waiting: q.waiting,
                agents: q.agents.iter().map(|(n, c)| ((*n).to_owned(), *c)).collect(),
                today: QueueFigures::empty(threshold),
                queue: q.name,
            }
        })
        .collect()
}

impl QueueFeed {
    /// An interaction or agent state change went to the store: today's
    /// figures may change.
    pub(crate) fn written(&mut self) {
        self.written = true;
    }

    /// One tick: `queue` events for changed gauges, and a refresh of
    /// today's figures when records were written.
    pub(crate) fn tick(
        &mut self,
        engine: &Engine,
        mono: Instant,
        unix_ms: u64,
        store: &StoreHandle,
        events: &broadcast::Sender<DeskEvent>,
    ) {
        if events.receiver_count() == 0 {
            // Nobody watches: publish everything afresh when someone does.
            self.last.clear();
            return;
        }
        for q in live_queues(engine, mono, unix_ms) {
            let gauge = (q.waiting, q.oldest_waiting_since, q.agents.clone());
            if self.last.get(&q.queue) == Some(&gauge) {
                continue;
            }
            self.last.insert(q.queue.clone(), gauge);
            let _ = events.send(DeskEvent::Queue {
                queue: q.queue,
                waiting: q.waiting,
                oldest_waiting_since: q.oldest_waiting_since,
                longest_wait_s: q.longest_wait_s as u64,
                agents: q.agents,
            });
        }
        if std::mem::take(&mut self.written) {
            let targets = engine.stats_targets();
            store.send(Op::LiveStats(LiveStats {
                window: crate::records::stats::today(unix_ms),
                queues: targets.queues,
                agents: targets.agents,
                events: events.clone(),
            }));
        }
    }
}

/// A statistics request: checked against the token by the engine, then
/// folded by the store thread, which answers `reply`.
pub(crate) fn request(
    engine: &Engine,
    store: &StoreHandle,
    mono: Instant,
    token: &str,
    query: StatsQuery,
    reply: oneshot::Sender<ApiReply>,
) {
    let scope = match engine.stats_scope(token) {
        Ok(s) => s,
        Err(e) => {
            let _ = reply.send(ApiReply::Stats(Err(e.into())));
            return;
        }
    };
    let live = match query.kind {
        StatsKind::Now => live_queues(engine, mono, query.window.now_ms),
        StatsKind::Queues | StatsKind::Agents => Vec::new(),
    };
    store.send(Op::Stats(Box::new(StatsJob {
        query,
        scope,
        live,
        reply,
    })));
}
