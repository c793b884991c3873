//! Contact-center statistics (issue 13 item 3): per queue and per agent,
//! per interval (15 minutes or a day), folded from the stored records with
//! no I/O (the store reads the rows, [`queue_figures`] and
//! [`agent_figures`] count them).
//!
//! The spec defines no statistics, so these are the definitions, chosen
//! as contact-center reports commonly use them:
//!
//! **Per queue**, from each interaction's *visits* ([`VisitRecord`]: a
//! stay in one queue, from joining its line to leaving it). A visit counts
//! in the interval it *entered* the queue in, whatever happens later.
//! - `offered`: visits that entered the queue. A call that overflows from
//!   `support` to `sales` is offered to both; a RONA back into the same
//!   line is not offered again.
//! - `answered`: visits an agent answered. `abandoned`: visits the caller
//!   hung up in; `abandoned_short`: of those, the ones that waited less
//!   than [`SHORT_ABANDON_MS`] (5 s; a caller who hangs up that fast was
//!   never really waiting, so they do not count against the service level).
//! - `wait` of a visit: from entering to leaving, or to now while it waits.
//!   `longest_wait_s`: the longest of them (answered, abandoned or waiting).
//! - `answered_in_threshold`: answered with a wait of at most the queue's
//!   `service_level_s` (default 20).
//! - **service level** = `answered_in_threshold / (completed −
//!   abandoned_short)`, where `completed` counts visits that left the queue
//!   (answered, abandoned, overflowed, moved, transferred, closed); calls
//!   still waiting are not judged yet. `null` when nothing is to judge.
//! - **average speed of answer** (ASA) = total wait of answered visits /
//!   `answered`.
//! - **average handle time** (AHT) = total handle time / `handled`, where
//!   the handle time of an answered interaction is talk + hold + consult +
//!   conference + post-call + wrap-up ([`InteractionRecord::handling_ms`];
//!   the customer's hold in a consult is consult time, never counted
//!   twice). It counts in the visit that was answered first, once the call
//!   has ended (`handled`); a wrap-up still under way counts as far as it
//!   went.
//! - `ronas`: offers of the visit that rang out or failed and set the
//!   agent `Idle(RONA)` (OFFER-4). `transfers`: times the agents passed an
//!   interaction answered from this queue on (CALL-XFER-1..6), counted in
//!   the visit answered first.
//!
//! **Per agent**, from the state audit log (AGENT-6) and the interactions:
//! - time in each state inside the interval (a state's span is cut at
//!   interval edges; the last known state lasts until now);
//! - `staffed`: every state but `LoggedOut`;
//! - **occupancy** = (`Busy` + `WrapUp`) / (`Available` + `Reserved` +
//!   `Busy` + `WrapUp`): the share of the time the agent was ready for work
//!   that went into handling it; `Idle` time (breaks, RONA) is left out.
//!   `null` without such time;
//! - `handled`: interactions the agent went `Busy` on (counted in the
//!   interval of the first `Busy`), with their `Busy` + `WrapUp` time as
//!   the agent's handle time: **AHT** = handle time / `handled`;
//! - `ronas`: times the agent was set `Idle(RONA)`; `transfers`: times the
//!   agent passed an interaction on (counted when it happened).
//!
//! Intervals start at the query's `from` and are [`Interval`] long, so a
//! `from` at local midnight (`2026-12-07T00:00:00+01:00`) gives local days.

use super::acd::{AgentAuditRecord, InteractionRecord, VisitRecord};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// A caller who hangs up within this wait is a short abandon (5 s).
pub const SHORT_ABANDON_MS: u64 = 5_000;

/// The service-level threshold of a queue that sets none (20 s).
pub const DEFAULT_SERVICE_LEVEL_S: u32 = 20;

/// How long each interval of a report is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Interval {
    /// 15 minutes (`15m`).
    Quarter,
    /// 24 hours (`1d`).
    Day,
}

impl Interval {
    /// Its length in milliseconds.
    pub fn ms(self) -> u64 {
        match self {
            Interval::Quarter => 15 * 60_000,
            Interval::Day => 86_400_000,
        }
    }

    /// The query parameter's value (`15m`, `1d`).
    pub fn name(self) -> &'static str {
        match self {
            Interval::Quarter => "15m",
            Interval::Day => "1d",
        }
    }

    /// The inverse of [`Interval::name`].
    pub fn from_name(s: &str) -> Option<Interval> {
        match s {
            "15m" => Some(Interval::Quarter),
            "1d" => Some(Interval::Day),
            _ => None,
        }
    }
}

/// What a report covers: `[from_ms, to_ms)` cut into intervals, as of `now_ms`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// Unix ms of the first interval's start.
    pub from_ms: u64,
    /// Unix ms the report ends (exclusive).
    pub to_ms: u64,
    /// Each interval's length.
    pub interval: Interval,
    /// Unix ms of now: what still waits or lasts is counted up to here.
    pub now_ms: u64,
}

impl Window {
    /// The start of the interval `t` falls in, if it falls in the window.
    pub fn interval_of(&self, t: u64) -> Option<u64> {
        (self.from_ms..self.to_ms)
            .contains(&t)
            .then(|| self.from_ms + (t - self.from_ms) / self.interval.ms() * self.interval.ms())
    }

    /// `[a, b)` cut at the window's interval edges, each part with its interval.
    fn split(&self, a: u64, b: u64) -> impl Iterator<Item = (u64, u64)> + '_ {
        let (mut t, end) = (a.max(self.from_ms), b.min(self.to_ms));
        std::iter::from_fn(move || {
            if t >= end {
                return None;
            }
            let start = self.interval_of(t)?;
            let next = (start + self.interval.ms()).min(end);
            let part = (start, next - t);
            t = next;
            Some(part)
        })
    }
}

/// One queue's figures over one interval (see the module docs).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct QueueFigures {
    /// Visits that entered the queue.
    pub offered: u64,
    /// Answered by an agent.
    pub answered: u64,
    /// The caller hung up.
    pub abandoned: u64,
    /// Abandoned within [`SHORT_ABANDON_MS`].
    pub abandoned_short: u64,
    /// Left to another queue or a dial-plan target by overflow.
    pub overflowed: u64,
    /// Answered within the queue's threshold.
    pub answered_in_threshold: u64,
    /// The queue's service-level threshold, seconds.
    pub threshold_s: u32,
    /// Answered in threshold / (completed − short abandons), 0..=1.
    pub service_level: Option<f64>,
    /// Average speed of answer, seconds.
    pub asa_s: Option<f64>,
    /// Average handle time, seconds.
    pub aht_s: Option<f64>,
    /// Answered interactions whose call ended (AHT's count).
    pub handled: u64,
    /// Offers that set the agent `Idle(RONA)`.
    pub ronas: u64,
    /// Transfers of interactions answered from this queue.
    pub transfers: u64,
    /// The longest wait, seconds.
    pub longest_wait_s: f64,
    #[serde(skip)]
    completed: u64,
    #[serde(skip)]
    answer_wait_ms: u64,
    #[serde(skip)]
    handle_ms: u64,
    #[serde(skip)]
    longest_wait_ms: u64,
}

/// Never NaN (every ratio has a non-zero denominator), so equality is total.
impl Eq for QueueFigures {}

impl QueueFigures {
    /// The figures before any visit, for a queue with `threshold_s`.
    pub fn empty(threshold_s: u32) -> Self {
        QueueFigures {
            threshold_s,
            ..QueueFigures::default()
        }
    }

    fn count(&mut self, v: &VisitRecord, wait_ms: u64, threshold_ms: u64) {
        self.offered += 1;
        self.longest_wait_ms = self.longest_wait_ms.max(wait_ms);
        if v.left_ms.is_some() {
            self.completed += 1;
        }
        match v.end.as_deref() {
            Some("answered") => {
                self.answered += 1;
                self.answer_wait_ms += wait_ms;
                if wait_ms <= threshold_ms {
                    self.answered_in_threshold += 1;
                }
            }
            Some("abandoned") => {
                self.abandoned += 1;
                if wait_ms < SHORT_ABANDON_MS {
                    self.abandoned_short += 1;
                }
            }
            Some("overflowed") => self.overflowed += 1,
            _ => {}
        }
        self.ronas += u64::from(v.ronas);
    }

    /// Fills in the averages and ratios from the sums.
    fn finish(&mut self) {
        let judged = self.completed.saturating_sub(self.abandoned_short);
        self.service_level = ratio(self.answered_in_threshold, judged);
        self.asa_s = ratio(self.answer_wait_ms, self.answered).map(|ms| ms / 1000.0);
        self.aht_s = ratio(self.handle_ms, self.handled).map(|ms| ms / 1000.0);
        self.longest_wait_s = self.longest_wait_ms as f64 / 1000.0;
    }
}

/// One agent's figures over one interval (see the module docs).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct AgentFigures {
    /// Time logged in, seconds.
    pub staffed_s: f64,
    /// Time per state (AGENT-1 names, `LoggedOut` left out), seconds.
    pub state_s: BTreeMap<String, f64>,
    /// (Busy + WrapUp) / (Available + Reserved + Busy + WrapUp), 0..=1.
    pub occupancy: Option<f64>,
    /// Interactions the agent went `Busy` on.
    pub handled: u64,
    /// Average handle time (the agent's Busy + WrapUp per interaction), seconds.
    pub aht_s: Option<f64>,
    /// Times set `Idle(RONA)`.
    pub ronas: u64,
    /// Interactions passed on.
    pub transfers: u64,
    #[serde(skip)]
    state_ms: BTreeMap<String, u64>,
    #[serde(skip)]
    handle_ms: u64,
}

/// Never NaN (every ratio has a non-zero denominator), so equality is total.
impl Eq for AgentFigures {}

impl AgentFigures {
    fn finish(&mut self) {
        let ms = |s: &str| self.state_ms.get(s).copied().unwrap_or(0);
        let working = ms("Busy") + ms("WrapUp");
        self.occupancy = ratio(working, working + ms("Available") + ms("Reserved"));
        self.aht_s = ratio(self.handle_ms, self.handled).map(|ms| ms / 1000.0);
        self.staffed_s = self.state_ms.values().sum::<u64>() as f64 / 1000.0;
        self.state_s = self
            .state_ms
            .iter()
            .map(|(k, v)| (k.clone(), *v as f64 / 1000.0))
            .collect();
    }
}

fn ratio(num: u64, den: u64) -> Option<f64> {
    (den > 0).then(|| num as f64 / den as f64)
}

/// Per queue and interval start, the queues' figures over `window`, from
/// `interactions` (any order). `threshold_s` gives a queue's service-level
/// threshold (a queue no longer configured gets
/// [`DEFAULT_SERVICE_LEVEL_S`]).
pub fn queue_figures(
    interactions: &[InteractionRecord],
    threshold_s: &dyn Fn(&str) -> Option<u32>,
    window: &Window,
) -> BTreeMap<(String, u64), QueueFigures> {
    let mut out: BTreeMap<(String, u64), QueueFigures> = BTreeMap::new();
    let threshold = |q: &str| threshold_s(q).unwrap_or(DEFAULT_SERVICE_LEVEL_S);
    for rec in interactions {
        let mut first_answered = true;
        for v in &rec.visits {
            let Some(start) = window.interval_of(v.entered_ms) else {
                if v.end.as_deref() == Some("answered") {
                    first_answered = false;
                }
                continue;
            };
            let t = threshold(&v.queue);
            let f = out
                .entry((v.queue.clone(), start))
                .or_insert_with(|| QueueFigures::empty(t));
            let wait_ms = v.left_ms.unwrap_or(window.now_ms).saturating_sub(v.entered_ms);
            f.count(v, wait_ms, u64::from(t) * 1000);
            if v.end.as_deref() == Some("answered") && std::mem::take(&mut first_answered) {
                if rec.outcome.is_some() {
                    f.handled += 1;
                    f.handle_ms += rec.handling_ms();
                }
                f.transfers += rec
                    .handlers
                    .iter()
                    .filter(|h| h.end.as_deref() == Some("transferred"))
                    .count() as u64;
            }
        }
    }
    for f in out.values_mut() {
        f.finish();
    }
    out
}

/// Per agent and interval start, the agents' figures over `window`, from
/// `audit` (every state change inside the window and, before it, each
/// agent's last change: the state it started the window in; in the order
/// they happened) and `interactions` (for transfers).
pub fn agent_figures(
    audit: &[AgentAuditRecord],
    interactions: &[InteractionRecord],
    window: &Window,
) -> BTreeMap<(String, u64), AgentFigures> {
    let mut out: BTreeMap<(String, u64), AgentFigures> = BTreeMap::new();
    let mut by_agent: BTreeMap<&str, Vec<&AgentAuditRecord>> = BTreeMap::new();
    for r in audit {
        by_agent.entry(r.agent.as_str()).or_default().push(r);
    }
    for (agent, rows) in by_agent {
        // Per interaction: the interval of its first Busy, and the agent's
        // Busy + WrapUp time on it.
        let mut handled: HashMap<&str, (Option<u64>, u64)> = HashMap::new();
        for (i, r) in rows.iter().enumerate() {
            let until = rows.get(i + 1).map_or(window.now_ms, |n| n.at_ms).max(r.at_ms);
            if r.state != "LoggedOut" {
                for (start, ms) in window.split(r.at_ms, until) {
                    let f = out.entry((agent.to_owned(), start)).or_default();
                    *f.state_ms.entry(r.state.clone()).or_default() += ms;
                }
            }
            if let (Some(start), true) = (window.interval_of(r.at_ms), r.state == "Idle") {
                if r.reason.as_deref() == Some("RONA") {
                    out.entry((agent.to_owned(), start)).or_default().ronas += 1;
                }
            }
            let Some(uid) = r.interaction.as_deref() else { continue };
            if r.state == "Busy" || r.state == "WrapUp" {
                let h = handled.entry(uid).or_insert((None, 0));
                if r.state == "Busy" && h.0.is_none() {
                    // The first Busy decides the interval (outside the
                    // window: the interaction counts in none).
                    h.0 = Some(window.interval_of(r.at_ms).unwrap_or(u64::MAX));
                }
                h.1 += until.saturating_sub(r.at_ms);
            }
        }
        for (start, ms) in handled.into_values() {
            let Some(start) = start.filter(|s| *s != u64::MAX) else {
                continue;
            };
            let f = out.entry((agent.to_owned(), start)).or_default();
            f.handled += 1;
            f.handle_ms += ms;
        }
    }
    for rec in interactions {
        for h in &rec.handlers {
            if h.end.as_deref() != Some("transferred") {
                continue;
            }
            if let Some(start) = h.to_ms.and_then(|t| window.interval_of(t)) {
                out.entry((h.agent.clone(), start)).or_default().transfers += 1;
            }
        }
    }
    for f in out.values_mut() {
        f.finish();
    }
    out
}

/// Unix ms as RFC 3339 in UTC (`2026-12-07T00:00:00Z`).
pub fn rfc3339(ms: u64) -> String {
    i64::try_from(ms)
        .ok()
        .and_then(|ms| jiff::Timestamp::from_millisecond(ms).ok())
        .map_or_else(|| ms.to_string(), |t| t.to_string())
}

/// One interval of a queue's report.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct QueueInterval {
    /// The interval's start, RFC 3339.
    pub start: String,
    /// Its figures.
    #[serde(flatten)]
    pub figures: QueueFigures,
}

/// One queue's intervals, every one of the window listed.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct QueueSeries {
    /// The queue's name.
    pub queue: String,
    /// Its intervals, in order.
    pub intervals: Vec<QueueInterval>,
}

/// One interval of an agent's report.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AgentInterval {
    /// The interval's start, RFC 3339.
    pub start: String,
    /// Its figures.
    #[serde(flatten)]
    pub figures: AgentFigures,
}

/// One agent's intervals, every one of the window listed.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AgentSeries {
    /// The agent's login.
    pub agent: String,
    /// Its intervals, in order.
    pub intervals: Vec<AgentInterval>,
}

/// A statistics report (`GET /supervisor/stats/queues` or `/agents`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    /// The window's start, RFC 3339.
    pub from: String,
    /// Its end (exclusive), RFC 3339.
    pub to: String,
    /// `15m` or `1d`.
    pub interval: &'static str,
    /// Per queue (queue reports), configured queues first, in file order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queues: Option<Vec<QueueSeries>>,
    /// Per agent (agent reports), configured agents first, in file order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agents: Option<Vec<AgentSeries>>,
}

impl Window {
    /// Every interval start of the window.
    pub fn starts(&self) -> impl Iterator<Item = u64> + '_ {
        (self.from_ms..self.to_ms).step_by(usize::try_from(self.interval.ms()).unwrap_or(usize::MAX))
    }

    fn report(&self) -> Report {
        Report {
            from: rfc3339(self.from_ms),
            to: rfc3339(self.to_ms),
            interval: self.interval.name(),
            queues: None,
            agents: None,
        }
    }
}

/// Names in `configured` order, then any other name `found`, each once.
fn names_in_order<'a>(configured: impl Iterator<Item = &'a str>, found: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for n in configured.chain(found) {
        if !out.iter().any(|o| o == n) {
            out.push(n.to_owned());
        }
    }
    out
}

/// The queue report of `window`: each of `queues` (name and service-level
/// threshold, in file order) and any other queue the records name, with
/// every interval of the window (zeros where nothing happened).
pub fn queue_report(interactions: &[InteractionRecord], queues: &[(String, u32)], window: &Window) -> Report {
    let threshold = |q: &str| queues.iter().find(|(n, _)| n == q).map(|(_, t)| *t);
    let figures = queue_figures(interactions, &threshold, window);
    let names = names_in_order(
        queues.iter().map(|(n, _)| n.as_str()),
        figures.keys().map(|(q, _)| q.as_str()),
    );
    let series = names
        .into_iter()
        .map(|queue| {
            let t = threshold(&queue).unwrap_or(DEFAULT_SERVICE_LEVEL_S);
            let intervals = window
                .starts()
                .map(|start| QueueInterval {
                    start: rfc3339(start),
                    figures: figures.get(&(queue.clone(), start)).cloned().unwrap_or_else(|| {
                        let mut f = QueueFigures::empty(t);
                        f.finish();
                        f
                    }),
                })
                .collect();
            QueueSeries { queue, intervals }
        })
        .collect();
    Report {
        queues: Some(series),
        ..window.report()
    }
}

/// The agent report of `window`: each of `agents` (logins in file order)
/// and any other agent the records name, with every interval of the window.
pub fn agent_report(
    audit: &[AgentAuditRecord],
    interactions: &[InteractionRecord],
    agents: &[String],
    window: &Window,
) -> Report {
    let figures = agent_figures(audit, interactions, window);
    let names = names_in_order(
        agents.iter().map(String::as_str),
        figures.keys().map(|(a, _)| a.as_str()),
    );
    let series = names
        .into_iter()
        .map(|agent| {
            let intervals = window
                .starts()
                .map(|start| AgentInterval {
                    start: rfc3339(start),
                    figures: figures.get(&(agent.clone(), start)).cloned().unwrap_or_default(),
                })
                .collect();
            AgentSeries { agent, intervals }
        })
        .collect();
    Report {
        agents: Some(series),
        ..window.report()
    }
}

/// One queue now and today (`GET /supervisor/queues`, the supervisor's
/// queue tiles): the live gauges and today's figures.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct QueueNow {
    /// The queue's name.
    pub queue: String,
    /// Customers not yet answered (waiting, ringing, held for an agent).
    pub waiting: u64,
    /// Unix ms the longest-waiting of them entered the queue.
    pub oldest_waiting_since: Option<u64>,
    /// That wait so far, seconds.
    pub longest_wait_s: f64,
    /// The queue's agents per AGENT-1 state.
    pub agents: BTreeMap<String, u64>,
    /// Today's figures (the day from UTC midnight).
    pub today: QueueFigures,
}

/// Today's window at `now_ms`: from the last UTC midnight, one day.
pub fn today(now_ms: u64) -> Window {
    let from_ms = now_ms - now_ms % Interval::Day.ms();
    Window {
        from_ms,
        to_ms: from_ms + Interval::Day.ms(),
        interval: Interval::Day,
        now_ms,
    }
}

#[cfg(test)]
#[path = "stats_tests.rs"]
mod tests;
