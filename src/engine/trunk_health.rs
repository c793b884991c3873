//! Trunk health by OPTIONS keepalive (RFC 3261 §11; issue 10 item 5).
//!
//! Every trunk with `options_interval_s` gets one OPTIONS per interval
//! (the next waits for the previous one's outcome, so at most one is in
//! flight). An OPTIONS is *missed* when it gets no final response before
//! Timer F (64·T1, §17.1.2.2), when it cannot be sent, or when the answer
//! is 408 or 503 (a proxy in front of a dead carrier, or a carrier out of
//! service, §21.5.4). Any other final response, even a 404 or 405, proves
//! the trunk alive: it parsed our request and answered (RFC 3261 §11.2
//! lets a UAS refuse OPTIONS).
//!
//! A trunk starts up; it goes down after `down_after` misses in a row and
//! comes back up after `up_after` answers in a row. Each transition is
//! logged (`trunk carrier-a is down: 3 OPTIONS unanswered`) and shown by
//! the control API's `GET /trunks`. Routing (engine/trunk_route.rs) skips
//! down trunks of a dial-plan list.
//!
//! [`Health`] is the pure counting rule; the `impl Engine` below sends the
//! OPTIONS and feeds it outcomes.

use super::{Engine, EngineTimer, Now};
use crate::config::Keepalive;
use crate::sip::msg::{HeaderName, Host, Message, Method, StatusCode, Uri};
use crate::sip::transaction::TxId;
use std::collections::HashMap;
use std::time::Instant;

/// Where a trunk stands, each state with its own counter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Taking calls; `misses` OPTIONS in a row went unanswered so far.
    Up {
        /// Consecutive misses (reset by any answer).
        misses: u32,
    },
    /// Skipped by routing; `answers` OPTIONS in a row answered so far.
    Down {
        /// Consecutive answers (reset by any miss).
        answers: u32,
    },
}

/// A change of [`Status`] worth logging.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transition {
    /// Up → down after this many misses in a row.
    WentDown(u32),
    /// Down → up after this many answers in a row.
    CameUp(u32),
}

/// One trunk's keepalive state: the pure rule, fed one outcome at a time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Health {
    /// Up or down.
    pub status: Status,
    /// Consecutive misses, whatever the status (the API shows it).
    pub misses: u32,
    /// Unix ms of the last transition (`None`: up since start).
    pub changed_ms: Option<u64>,
    /// Unix ms of the last OPTIONS outcome.
    pub checked_ms: Option<u64>,
}

impl Default for Health {
    fn default() -> Self {
        Health {
            status: Status::Up { misses: 0 },
            misses: 0,
            changed_ms: None,
            checked_ms: None,
        }
    }
}

impl Health {
    /// True unless the keepalive marked the trunk down.
    pub fn is_up(&self) -> bool {
        matches!(self.status, Status::Up { .. })
    }

    /// An OPTIONS was answered (at unix ms `at`).
    pub fn answered(&mut self, ka: &Keepalive, at: u64) -> Option<Transition> {
        self.misses = 0;
        self.checked_ms = Some(at);
        match self.status {
            Status::Up { .. } => {
                self.status = Status::Up { misses: 0 };
                None
            }
            Status::Down { answers } => {
                let answers = answers + 1;
                if answers >= ka.up_after.get() {
                    self.status = Status::Up { misses: 0 };
                    self.changed_ms = Some(at);
                    Some(Transition::CameUp(answers))
                } else {
                    self.status = Status::Down { answers };
                    None
                }
            }
        }
    }

    /// An OPTIONS went unanswered (at unix ms `at`).
    pub fn missed(&mut self, ka: &Keepalive, at: u64) -> Option<Transition> {
        self.misses += 1;
        self.checked_ms = Some(at);
        match self.status {
            Status::Down { .. } => {
                self.status = Status::Down { answers: 0 };
                None
            }
            Status::Up { misses } => {
                let misses = misses + 1;
                if misses >= ka.down_after.get() {
                    self.status = Status::Down { answers: 0 };
                    self.changed_ms = Some(at);
                    Some(Transition::WentDown(misses))
                } else {
                    self.status = Status::Up { misses };
                    None
                }
            }
        }
    }
}

/// True when a final response to an OPTIONS counts as no answer: 408 (a
/// proxy's timeout) and 503 (out of service).
pub fn counts_as_missed(code: StatusCode) -> bool {
    code == StatusCode::REQUEST_TIMEOUT || code == StatusCode::SERVICE_UNAVAILABLE
}

/// The engine's trunk state: health by trunk name, OPTIONS in flight, and
/// the weighted round robin's counters (engine/trunk_route.rs).
#[derive(Debug, Default)]
pub(crate) struct Trunks {
    /// Health by trunk name (trunks with a keepalive only).
    pub health: HashMap<String, Health>,
    /// OPTIONS in flight: transaction → (trunk name, when sent).
    pub probes: HashMap<TxId, (String, Instant)>,
    /// Smooth weighted round robin: per trunk list, each trunk's current weight.
    pub wrr: HashMap<Vec<String>, HashMap<String, i64>>,
}

/// One trunk as the control API shows it (`GET /trunks`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct TrunkSummary {
    /// Trunk name.
    pub name: String,
    /// Where its calls go (`IP:port`).
    pub address: String,
    /// `udp` or `tcp`.
    pub transport: &'static str,
    /// `up` or `down`.
    pub state: &'static str,
    /// True when an OPTIONS keepalive watches it (else it is always up).
    pub keepalive: bool,
    /// Seconds between OPTIONS, when `keepalive`.
    pub options_interval_s: Option<u64>,
    /// OPTIONS unanswered in a row.
    pub consecutive_misses: u32,
    /// Unix ms of the last up/down change (`null`: up since start).
    pub last_change_ms: Option<u64>,
    /// Unix ms of the last OPTIONS outcome.
    pub last_check_ms: Option<u64>,
}

impl Engine {
    /// Starts (or, after a reload, re-arms) the OPTIONS keepalives: the
    /// first OPTIONS at once; health of trunks no longer watched is dropped.
    pub(crate) fn start_keepalives(&mut self, now: Now) {
        let watched: Vec<String> = self
            .cfg
            .trunks()
            .iter()
            .filter(|t| t.keepalive.is_some())
            .map(|t| t.name.clone())
            .collect();
        self.trunks.health.retain(|k, _| watched.contains(k));
        for (i, t) in self.cfg.trunks().iter().enumerate() {
            if t.keepalive.is_some() {
                self.trunks.health.entry(t.name.clone()).or_default();
                self.timers.set(EngineTimer::TrunkOptions(i), now.mono);
            }
        }
    }

    /// True unless trunk `name`'s keepalive marked it down.
    pub fn trunk_up(&self, name: &str) -> bool {
        self.trunks.health.get(name).is_none_or(Health::is_up)
    }

    /// Every trunk with its health, in `trunks.toml` order (`GET /trunks`).
    pub fn trunks_snapshot(&self) -> Vec<TrunkSummary> {
        self.cfg
            .trunks()
            .iter()
            .map(|t| {
                let h = self.trunks.health.get(&t.name).cloned().unwrap_or_default();
                TrunkSummary {
                    name: t.name.clone(),
                    address: t.address.to_string(),
                    transport: t.transport.as_str(),
                    state: if h.is_up() { "up" } else { "down" },
                    keepalive: t.keepalive.is_some(),
                    options_interval_s: t.keepalive.map(|k| k.interval.as_secs()),
                    consecutive_misses: h.misses,
                    last_change_ms: h.changed_ms,
                    last_check_ms: h.checked_ms,
                }
            })
            .collect()
    }

    /// Timer: OPTIONS to the trunk at config index `idx`, unless one is
    /// still in flight (its outcome schedules the next).
    pub(crate) fn send_trunk_options(&mut self, now: Now, idx: usize) {
        let Some(trunk) = self.cfg.trunks().get(idx).cloned() else {
            return;
        };
        let Some(ka) = trunk.keepalive else { return };
        if self.trunks.probes.values().any(|(n, _)| *n == trunk.name) {
            return;
        }
        let Some(dest) = self.trunk_destination(&trunk) else {
            return;
        };
        let local = dest.local;
        let host = Host::from_ip(trunk.address.ip());
        let target = Uri::sip(None, host, Some(trunk.address.port()));
        let user = trunk.from_user.clone().unwrap_or_else(|| "switchboard".to_owned());
        let from = Uri::sip(Some(&user), Host::from_ip(local.ip()), Some(local.port()));
        let mut m = Message::request(Method::OPTIONS, target.clone());
        m.headers
            .push(HeaderName::Via, crate::call::new_via(&mut self.ids, dest));
        m.headers.push(HeaderName::MaxForwards, "70");
        m.headers
            .push(HeaderName::From, format!("<{from}>;tag={}", self.ids.tag()));
        m.headers.push(HeaderName::To, format!("<{target}>"));
        m.headers
            .push(HeaderName::CallId, self.ids.call_id(&local.ip().to_string()));
        m.headers.push(HeaderName::CSeq, "1 OPTIONS");
        m.headers
            .push(HeaderName::Contact, crate::call::contact_for(&user, dest));
        m.headers.push(HeaderName::Accept, "application/sdp");
        m.headers.push(HeaderName::UserAgent, self.cfg.sip().user_agent.clone());
        match self.txl.send_request(now.mono, m, dest) {
            Ok(tx) => {
                self.trunks.probes.insert(tx, (trunk.name.clone(), now.mono));
            }
            Err(e) => {
                tracing::warn!(trunk = %trunk.name, error = %e, "trunk OPTIONS not sent");
                self.trunk_probe_outcome(now, &trunk.name, false);
                self.timers.set(EngineTimer::TrunkOptions(idx), now.mono + ka.interval);
            }
        }
    }

    /// True when `tx` is one of our OPTIONS.
    pub(crate) fn is_trunk_probe(&self, tx: TxId) -> bool {
        self.trunks.probes.contains_key(&tx)
    }

    /// A response to OPTIONS `tx` (provisional ones are ignored).
    pub(crate) fn on_trunk_options_response(&mut self, now: Now, tx: TxId, resp: &Message) {
        let Some(code) = resp.status() else { return };
        if code.is_provisional() {
            return;
        }
        self.end_probe(now, tx, !counts_as_missed(code));
    }

    /// OPTIONS `tx` timed out (Timer F) or could not be sent.
    pub(crate) fn on_trunk_options_failed(&mut self, now: Now, tx: TxId) {
        self.end_probe(now, tx, false);
    }

    /// OPTIONS `tx` ended: count it, schedule the next one interval after
    /// this one was sent (at once if it took longer).
    fn end_probe(&mut self, now: Now, tx: TxId, answered: bool) {
        let Some((name, sent)) = self.trunks.probes.remove(&tx) else {
            return;
        };
        self.trunk_probe_outcome(now, &name, answered);
        let Some((idx, ka)) = self
            .cfg
            .trunks()
            .iter()
            .enumerate()
            .find(|(_, t)| t.name == name)
            .and_then(|(i, t)| t.keepalive.map(|k| (i, k)))
        else {
            return;
        };
        self.timers
            .set(EngineTimer::TrunkOptions(idx), (sent + ka.interval).max(now.mono));
    }

    /// Feeds one OPTIONS outcome to trunk `name`'s health and logs a change.
    fn trunk_probe_outcome(&mut self, now: Now, name: &str, answered: bool) {
        let Some(ka) = self.cfg.trunk(name).and_then(|t| t.keepalive) else {
            return;
        };
        let h = self.trunks.health.entry(name.to_owned()).or_default();
        let change = if answered {
            h.answered(&ka, now.unix_ms)
        } else {
            h.missed(&ka, now.unix_ms)
        };
        match change {
            Some(Transition::WentDown(n)) => {
                tracing::warn!(trunk = %name, misses = n, "trunk {name} is down: {n} OPTIONS unanswered");
            }
            Some(Transition::CameUp(n)) => {
                tracing::info!(trunk = %name, answers = n, "trunk {name} is up: {n} OPTIONS answered");
            }
            None => {
                tracing::debug!(trunk = %name, answered, "trunk OPTIONS outcome");
            }
        }
    }
}
