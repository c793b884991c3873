//! The store thread: SQLite (registrations, CDRs, the ACD's audit log,
//! interactions and leg CDRs) and the CDR JSON Lines file are written from
//! one blocking thread, so the engine never waits on disk. Each write is
//! committed on its own, in the order the driver sent it (spec AGENT-6:
//! the audit log is in the order of the changes).
//!
//! At start, before any write, the store closes what the previous run left
//! open (spec HIST-3, AGENT-6: a restart logs the agents out cleanly and
//! records the interrupted interactions); [`start`] returns that
//! [`Recovery`].
//!
//! Statistics (issue 13) are read, not written: the store thread hands
//! them, in order after the writes before them, to a reader thread with a
//! read-only connection of its own (SQLite WAL: readers and the writer
//! work at once), so a month's report never delays a write.

use crate::api::error::ApiError;
use crate::api::stats::{StatsAnswer, StatsKind, StatsQuery};
use crate::api::ApiReply;
use crate::engine::desk::{DeskEvent, StatsScope};
use crate::records::stats::{self, AgentFigures, QueueFigures, QueueNow, Window};
use crate::sip::registrar::Binding;
use crate::store::{
    AgentAuditRecord, BindingRow, CdrJsonlWriter, CdrRecord, InteractionRecord, LegCdrRecord, Recovery, Store,
    StoreError,
};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::mpsc;
use tokio::sync::{broadcast, oneshot};

/// A write for the store thread.
pub(crate) enum Op {
    Save(Binding),
    Delete(Binding),
    Cdr(CdrRecord),
    /// An agent state change (spec AGENT-6).
    AgentAudit(AgentAuditRecord),
    /// The whole interaction, inserted or replaced by uid (spec HIST-3,
    /// WRAP-1).
    Interaction(InteractionRecord),
    /// One call leg's CDR (spec HIST-3).
    LegCdr(LegCdrRecord),
    /// A callback, inserted or replaced by id (spec CB-8).
    Callback(Box<crate::records::CallbackRecord>),
    /// A callback change written ahead (CB-8): written, then acknowledged
    /// on the channel (the driver waits for it before it carries out what
    /// follows: the API's answer, the customer's INVITE).
    CallbackCommit(Box<crate::records::CallbackRecord>, mpsc::SyncSender<()>),
    /// A voicemail message, inserted or its state updated by id (issue 14
    /// item 5).
    Voicemail(Box<crate::records::VoicemailRecord>),
    /// A statistics request (issue 13 item 3), answered on its channel.
    Stats(Box<StatsJob>),
    /// Refresh today's figures and publish the queues' that changed.
    LiveStats(LiveStats),
    Close,
}

/// A statistics request, its token already checked.
pub(crate) struct StatsJob {
    /// What is asked.
    pub query: StatsQuery,
    /// The configured queues and agents.
    pub scope: StatsScope,
    /// Each queue now ([`StatsKind::Now`] only), `today` to fill in.
    pub live: Vec<QueueNow>,
    /// Where the answer goes.
    pub reply: oneshot::Sender<ApiReply>,
}

/// Today's figures for the supervisors' streams.
pub(crate) struct LiveStats {
    /// Today.
    pub window: Window,
    /// The queues and their service-level thresholds.
    pub queues: Vec<(String, u32)>,
    /// The agents' logins.
    pub agents: Vec<String>,
    /// The desk event channel.
    pub events: broadcast::Sender<DeskEvent>,
}

/// What the reader thread does.
enum Read {
    Stats(Box<StatsJob>),
    Live(LiveStats),
}

/// A refresh of today's figures may use at most this share of the reader
/// thread: after one that took `t`, the next waits until `t / LIVE_SHARE`
/// after its start (and at least a second). A busy day (20,000 calls,
/// `benches/stats.rs`) folds in about 250 ms: refreshed every 2.5 s.
const LIVE_SHARE: u32 = 10;

/// The reader thread: statistics folded on a read-only connection of its
/// own, beside the writer (SQLite WAL), so a long report never delays a
/// write and, through the write queue's backpressure, the engine. Reports
/// are answered at once; refreshes of today's figures are paced (see
/// [`LIVE_SHARE`]) and only the newest queued one is folded.
fn start_reader(db: &std::path::Path) -> Result<mpsc::Sender<Read>, StoreError> {
    let reader = Store::open_reader(db)?;
    let (tx, rx) = mpsc::channel::<Read>();
    std::thread::Builder::new().name("store-reader".into()).spawn(move || {
        let mut published = Published::default();
        let mut pending: Option<LiveStats> = None;
        let mut next_live = std::time::Instant::now();
        loop {
            let read = match &pending {
                None => rx.recv().ok(),
                Some(_) => match rx.recv_timeout(next_live.saturating_duration_since(std::time::Instant::now())) {
                    Ok(r) => Some(r),
                    Err(mpsc::RecvTimeoutError::Timeout) => None,
                    Err(mpsc::RecvTimeoutError::Disconnected) => break,
                },
            };
            match read {
                Some(Read::Stats(job)) => stats(&reader, *job),
                Some(Read::Live(job)) => pending = Some(job),
                None if pending.is_none() => break,
                None => {}
            }
            if std::time::Instant::now() >= next_live {
                if let Some(job) = pending.take() {
                    let started = std::time::Instant::now();
                    live_stats(&reader, job, &mut published);
                    let pace = (started.elapsed() * LIVE_SHARE).max(std::time::Duration::from_secs(1));
                    next_live = started + pace;
                }
            }
        }
    })?;
    Ok(tx)
}

/// Folds a statistics request from the store's rows.
fn stats(store: &Store, job: StatsJob) {
    let StatsJob {
        query,
        scope,
        mut live,
        reply,
    } = job;
    let w = query.window;
    let answer = store
        .stats_rows(w.from_ms, w.to_ms)
        .map(|(interactions, audit)| match query.kind {
            StatsKind::Queues => StatsAnswer::Report(stats::queue_report(&interactions, &scope.queues, &w)),
            StatsKind::Agents => StatsAnswer::Report(stats::agent_report(&audit, &interactions, &scope.agents, &w)),
            StatsKind::Now => {
                let report = stats::queue_report(&interactions, &scope.queues, &w);
                for q in &mut live {
                    let today = report
                        .queues
                        .iter()
                        .flatten()
                        .find(|s| s.queue == q.queue)
                        .and_then(|s| s.intervals.first());
                    if let Some(t) = today {
                        q.today = t.figures.clone();
                    }
                }
                StatsAnswer::Now { queues: live }
            }
        });
    let answer = answer.map(Box::new).map_err(|e| {
        tracing::error!(error = %e, "statistics not read");
        ApiError::Internal("the statistics could not be read from the store".into())
    });
    let _ = reply.send(ApiReply::Stats(answer));
}

/// Publishes today's figures of the queues whose figures changed since
/// `last` (what was published before).
fn live_stats(store: &Store, job: LiveStats, last: &mut Published) {
    let (interactions, audit) = match store.stats_rows(job.window.from_ms, job.window.to_ms) {
        Ok(rows) => rows,
        Err(e) => {
            tracing::error!(error = %e, "today's statistics not read");
            return;
        }
    };
    let report = stats::queue_report(&interactions, &job.queues, &job.window);
    for s in report.queues.into_iter().flatten() {
        let Some(today) = s.intervals.into_iter().next().map(|i| i.figures) else {
            continue;
        };
        if last.queues.get(&s.queue) == Some(&today) {
            continue;
        }
        last.queues.insert(s.queue.clone(), today.clone());
        let _ = job.events.send(DeskEvent::QueueStats {
            queue: s.queue,
            today: Box::new(today),
        });
    }
    let report = stats::agent_report(&audit, &interactions, &job.agents, &job.window);
    for s in report.agents.into_iter().flatten() {
        let Some(today) = s.intervals.into_iter().next().map(|i| i.figures) else {
            continue;
        };
        if last.agents.get(&s.agent) == Some(&today) {
            continue;
        }
        last.agents.insert(s.agent.clone(), today.clone());
        let _ = job.events.send(DeskEvent::AgentStats {
            agent: s.agent,
            today: Box::new(today),
        });
    }
}

/// Today's figures last published, per queue and per agent (`LiveStats`).
#[derive(Default)]
struct Published {
    queues: HashMap<String, QueueFigures>,
    agents: HashMap<String, AgentFigures>,
}

/// Handle to the store thread.
pub(crate) struct StoreHandle {
    tx: mpsc::SyncSender<Op>,
    join: Option<std::thread::JoinHandle<()>>,
}

impl StoreHandle {
    pub(crate) fn send(&self, op: Op) {
        // A full queue means the disk is behind: the engine waits (nothing
        // written is ever dropped), and the wait is counted and logged.
        let op = match self.tx.try_send(op) {
            Ok(()) => {
                crate::bounded::STORE.enqueued();
                return;
            }
            Err(mpsc::TrySendError::Full(op)) => {
                crate::bounded::STORE.full("waiting");
                op
            }
            Err(mpsc::TrySendError::Disconnected(_)) => {
                tracing::error!("store thread is gone; a write was lost");
                return;
            }
        };
        match self.tx.send(op) {
            Ok(()) => crate::bounded::STORE.enqueued(),
            Err(_) => tracing::error!("store thread is gone; a write was lost"),
        }
    }

    /// Flushes and stops the thread.
    pub(crate) fn close(mut self) {
        let _ = self.tx.send(Op::Close);
        if let Some(j) = self.join.take() {
            let _ = j.join();
        }
    }
}

/// Every stored callback (spec CB-8), read on a connection of its own
/// after [`start`] opened and upgraded the database, for the engine before
/// it serves.
pub(crate) fn load_callbacks(db: &std::path::Path) -> Result<Vec<crate::records::CallbackRecord>, StoreError> {
    Store::open_reader(db)?.load_callbacks()
}

/// Every stored voicemail message with its state (issue 14 item 5), read
/// like [`load_callbacks`], for the engine before it serves.
pub(crate) fn load_voicemails(db: &std::path::Path) -> Result<Vec<crate::records::VoicemailRecord>, StoreError> {
    Store::open_reader(db)?.load_voicemails()
}

/// Opens the store, closes what the previous run left open
/// ([`Store::recover_after_restart`] at `now_ms`, logged at warn when it
/// found anything), reads the persisted bindings, and starts the thread.
/// Returns the recovery too, for the driver's log.
pub(crate) fn start(
    db: PathBuf,
    cdr: Option<PathBuf>,
    now_ms: u64,
) -> Result<(StoreHandle, Vec<Binding>, Recovery), StoreError> {
    let mut store = Store::open(&db)?;
    let recovery = store.recover_after_restart(now_ms)?;
    if !recovery.is_empty() {
        tracing::warn!(
            interactions = recovery.interrupted.len(),
            agents = recovery.logged_out.len(),
            "restart: open interactions recorded as interrupted, logged-in agents logged out"
        );
    }
    let rows = store.load_bindings()?;
    let bindings: Vec<Binding> = rows.into_iter().filter_map(|r| Binding::try_from(r).ok()).collect();
    let mut jsonl = match cdr {
        Some(p) => Some(CdrJsonlWriter::open(p)?),
        None => None,
    };
    let (tx, rx) = mpsc::sync_channel::<Op>(crate::bounded::STORE.capacity());
    let reads = start_reader(&db)?;
    let join = std::thread::Builder::new().name("store".into()).spawn(move || {
        // Today's figures last published per queue (`LiveStats`).
        for op in rx {
            crate::bounded::STORE.dequeued();
            let res = match op {
                Op::Save(b) => store.save_binding(&BindingRow::from(&b)),
                Op::Delete(b) => store.delete_binding(&b.aor, &b.key()).map(|_| ()),
                Op::Cdr(c) => {
                    let r = store.insert_cdr(&c).map(|_| ());
                    if let Some(w) = jsonl.as_mut() {
                        if let Err(e) = w.write(&c) {
                            tracing::error!(error = %e, "CDR line not written");
                        }
                    }
                    r
                }
                Op::AgentAudit(a) => store.insert_agent_audit(&a).map(|_| ()),
                Op::Interaction(i) => store.update_interaction(&i),
                Op::LegCdr(l) => store.insert_leg_cdr(&l).map(|_| ()),
                Op::Callback(c) => store.save_callback(&c),
                Op::CallbackCommit(c, done) => {
                    let r = store.save_callback(&c);
                    let _ = done.send(());
                    r
                }
                Op::Voicemail(v) => store.save_voicemail(&v),
                // After the writes queued before them (a report sees them),
                // folded by the reader thread, never holding up writes.
                Op::Stats(job) => {
                    let _ = reads.send(Read::Stats(job));
                    Ok(())
                }
                Op::LiveStats(job) => {
                    let _ = reads.send(Read::Live(job));
                    Ok(())
                }
                Op::Close => break,
            };
            if let Err(e) = res {
                tracing::error!(error = %e, "store write failed");
            }
        }
    })?;
    Ok((StoreHandle { tx, join: Some(join) }, bindings, recovery))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{InteractionOutcome, LOGGED_OUT, RESTART_REASON};

    const T: u64 = 1_700_000_000_000;

    fn interaction(uid: &str, outcome: Option<InteractionOutcome>) -> InteractionRecord {
        InteractionRecord {
            uid: uid.into(),
            queue: "sales".into(),
            caller: "+15551230001".into(),
            dnis: "+18005550100".into(),
            agent: Some("alice".into()),
            outcome,
            arrived_ms: T,
            answered_ms: Some(T + 4_000),
            ended_ms: outcome.map(|_| T + 64_000),
            queue_ms: 3_000,
            ring_ms: 1_000,
            talk_ms: 60_000,
            hold_ms: 0,
            wrap_up_ms: 0,
            consult_ms: 0,
            conference_ms: 0,
            post_call_ms: 0,
            wrap_up_reasons: Vec::new(),
            notes: String::new(),
            variables: Vec::new(),
            recordings: Vec::new(),
            handlers: Vec::new(),
            visits: Vec::new(),
        }
    }

    // spec: AGENT-6, HIST-3 (written through the thread, recovered at the next start)
    #[test]
    fn ops_are_written_and_the_next_start_recovers() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("sb.db");
        let (h, bindings, rec) = start(db.clone(), None, T).unwrap();
        assert!(bindings.is_empty());
        assert!(rec.is_empty());
        h.send(Op::AgentAudit(AgentAuditRecord {
            agent: "alice".into(),
            state: "Busy".into(),
            reason: None,
            pending: None,
            interaction: Some("i-1".into()),
            at_ms: T + 4_000,
        }));
        h.send(Op::Interaction(interaction("i-1", None)));
        h.send(Op::Interaction(interaction("i-2", None)));
        h.send(Op::Interaction(interaction("i-2", Some(InteractionOutcome::Answered))));
        h.send(Op::LegCdr(LegCdrRecord {
            interaction: Some("i-2".into()),
            call_id: "c2@pbx".into(),
            leg: "caller".into(),
            party: "trunk1".into(),
            started_ms: T,
            answered_ms: Some(T + 4_000),
            ended_ms: T + 64_000,
            hold_ms: 0,
            talk_ms: 60_000,
            post_call_ms: 0,
            final_code: Some(200),
            cause: "caller-bye".into(),
        }));
        h.close();

        let now = T + 100_000;
        let (h, _, rec) = start(db.clone(), None, now).unwrap();
        h.close();
        assert_eq!(rec.interrupted, vec!["i-1"]);
        assert_eq!(rec.logged_out, vec!["alice"]);
        let store = Store::open(&db).unwrap();
        let i1 = store.get_interaction("i-1").unwrap().unwrap();
        assert_eq!(i1.outcome, Some(InteractionOutcome::Interrupted));
        assert_eq!(i1.ended_ms, Some(now));
        let i2 = store.get_interaction("i-2").unwrap().unwrap();
        assert_eq!(i2, interaction("i-2", Some(InteractionOutcome::Answered)));
        assert_eq!(store.list_leg_cdrs("i-2").unwrap().len(), 1);
        let audit = store.list_agent_audit("alice").unwrap();
        assert_eq!(audit.len(), 2);
        assert_eq!(audit[1].state, LOGGED_OUT);
        assert_eq!(audit[1].reason.as_deref(), Some(RESTART_REASON));
        assert_eq!(audit[1].at_ms, now);
    }
}
