//! `GET /metrics` (issue 13 item 4): the switch's counters and gauges for
//! Prometheus. The engine task takes a [`MetricsSnapshot`] (the numbers it
//! keeps anyway, and the overload gate's atomics) when asked; this module
//! encodes it with `prometheus-client` at scrape time. Nothing is shared
//! with the SIP or media hot paths and no lock is taken: a scrape costs
//! the engine one snapshot, like `GET /calls`.
//!
//! The body is the Prometheus text exposition format 0.0.4, or
//! OpenMetrics 1.0 when the scraper's `Accept` asks for
//! `application/openmetrics-text` (Prometheus itself does). Every name
//! starts with `switchboard_`; counters end in `_total`. It is a control
//! route: an admin token of `[api] admin_tokens`.
//!
//! So far: calls, transactions, dialogs, registrations, media sessions,
//! malformed requests, overload shedding, and SIP requests and responses
//! by direction, method and class ([`crate::sip::counters`]), customers
//! waiting and the longest wait per queue, agents by state, media packets
//! relayed, dropped, refused as SRTP, lost (RFC 3550 §A.3 cumulative loss
//! of every source received) and late (reordered).

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;
use tokio::sync::mpsc;

use super::error::ApiError;
use super::{ask, ApiCommand, ApiReply, ApiRequest, Routes};

/// The OpenMetrics media type (OpenMetrics 1.0 §"Protocol Negotiation").
const OPENMETRICS: &str = "application/openmetrics-text";

pub use crate::engine::QueueMetrics;

/// What the engine task reports for one scrape.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MetricsSnapshot {
    /// The engine's counters and gauges.
    pub engine: crate::engine::Stats,
    /// SIP requests and responses received and sent.
    pub sip: crate::sip::counters::SipCounters,
    /// Every queue, in id order.
    pub queues: Vec<QueueMetrics>,
    /// Agents in each AGENT-1 state.
    pub agents: [(&'static str, u64); 6],
    /// Media sessions (calls with anchored media, meet-me rooms) running.
    pub media_sessions: u64,
    /// RTP packets relayed on the fast path (same codec both sides).
    pub media_packets_relayed: u64,
    /// RTP packets dropped: refused by a latch, before the plan beyond
    /// the early buffer, unmappable, or said while held.
    pub media_packets_dropped: u64,
    /// SRTP/SRTCP datagrams refused (authentication, replay, clear).
    pub media_srtp_refused: u64,
    /// RTP packets the peers sent that never arrived.
    pub media_packets_lost: u64,
    /// RTP packets that arrived after a later one of their source.
    pub media_packets_late: u64,
    /// New requests the overload gate answered 503 because the switch was busy.
    pub shed_busy: u64,
    /// New requests the gate answered 503 for their source's rate.
    pub shed_source: u64,
    /// ACKs of the gate's 503s it dropped.
    pub acks_dropped: u64,
    /// Callers who entered each entry point and how they left (issue 14).
    pub entry_points: Vec<crate::engine::EntryPointCounts>,
    /// Callbacks the switch keeps, by state (CB-1..CB-8).
    pub callbacks: Vec<(&'static str, u64)>,
}

/// The metrics route.
pub(super) fn routes(r: Routes) -> Routes {
    r.get("/metrics", metrics)
}

/// `GET /metrics`.
async fn metrics(State(tx): State<mpsc::Sender<ApiRequest>>, headers: HeaderMap) -> Result<Response, ApiError> {
    let snapshot = match ask(&tx, ApiCommand::Metrics).await? {
        ApiReply::Metrics(s) => s,
        _ => return Err(super::unexpected()),
    };
    let openmetrics = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains(OPENMETRICS));
    let (body, content_type) = encode(&snapshot, openmetrics);
    Ok(([(header::CONTENT_TYPE, HeaderValue::from_static(content_type))], body).into_response())
}

/// The snapshot as an exposition body and its content type: Prometheus
/// text 0.0.4, or OpenMetrics 1.0 when `openmetrics`.
pub fn encode(s: &MetricsSnapshot, openmetrics: bool) -> (String, &'static str) {
    let mut reg = Registry::with_prefix("switchboard");
    let e = &s.engine;
    let gauge = |reg: &mut Registry, name: &str, help: &str, v: u64| {
        reg.register(name, help, ConstGauge::new(i64::try_from(v).unwrap_or(i64::MAX)));
    };
    let counter = |reg: &mut Registry, name: &str, help: &str, v: u64| {
        reg.register(name, help, ConstCounter::new(v));
    };
    gauge(&mut reg, "calls_active", "Calls live now", e.calls_active);
    counter(&mut reg, "calls_started", "Calls created since start", e.calls_started);
    counter(
        &mut reg,
        "calls_answered",
        "Calls answered since start",
        e.calls_answered,
    );
    gauge(
        &mut reg,
        "sip_transactions",
        "SIP transactions alive, including those lingering for their timers (RFC 3261 §17, RFC 6026)",
        e.transactions,
    );
    gauge(&mut reg, "sip_dialogs", "SIP dialogs alive", e.dialogs);
    gauge(
        &mut reg,
        "registrations",
        "Contacts of phones registered now",
        e.registrations,
    );
    counter(
        &mut reg,
        "sip_malformed_requests",
        "Requests answered 400 for being malformed",
        e.malformed,
    );
    gauge(&mut reg, "media_sessions", "Media sessions running", s.media_sessions);
    counter(
        &mut reg,
        "media_packets_relayed",
        "RTP packets relayed on the fast path (added by each session every few seconds)",
        s.media_packets_relayed,
    );
    counter(
        &mut reg,
        "media_packets_dropped",
        "RTP packets dropped (latch, early, unmappable, held)",
        s.media_packets_dropped,
    );
    counter(
        &mut reg,
        "media_packets_lost",
        "RTP packets the peers sent that never arrived (RFC 3550 cumulative loss of every source)",
        s.media_packets_lost,
    );
    counter(
        &mut reg,
        "media_packets_late",
        "RTP packets that arrived after a later packet of their source (reordered)",
        s.media_packets_late,
    );
    counter(
        &mut reg,
        "media_srtp_refused",
        "SRTP/SRTCP datagrams refused (authentication, replay, sent in clear)",
        s.media_srtp_refused,
    );
    counter(
        &mut reg,
        "overload_shed_busy",
        "New requests answered 503 because the switch was busy",
        s.shed_busy,
    );
    counter(
        &mut reg,
        "overload_shed_source",
        "New requests answered 503 for their source's rate",
        s.shed_source,
    );
    counter(
        &mut reg,
        "overload_acks_dropped",
        "ACKs of the overload 503s dropped",
        s.acks_dropped,
    );
    sip_families(&mut reg, &s.sip);
    acd_families(&mut reg, s);
    entry_point_families(&mut reg, s);
    let callbacks = Family::<Vec<(&'static str, &'static str)>, Gauge>::default();
    for (state, n) in &s.callbacks {
        callbacks.get_or_create(&vec![("state", *state)]).set(*n as i64);
    }
    reg.register(
        "callbacks",
        "Callbacks by state: pending, offered (in a queue), dialing, done, cancelled, deleted, interrupted (a supervisor decides), failed",
        callbacks,
    );
    let mut body = String::new();
    // Writing into a String cannot fail.
    if openmetrics {
        let _ = prometheus_client::encoding::text::encode(&mut body, &reg);
        (body, "application/openmetrics-text; version=1.0.0; charset=utf-8")
    } else {
        let _ = prometheus_client::encoding::prometheus_text::encode(&mut body, &reg);
        (body, prometheus_client::encoding::prometheus_text::CONTENT_TYPE)
    }
}

/// `sip_requests_total{direction, method}` and
/// `sip_responses_total{direction, method, class}`, the series that have
/// counted something.
fn sip_families(reg: &mut Registry, c: &crate::sip::counters::SipCounters) {
    use crate::sip::counters::{METHODS, OTHER};
    type Labels = Vec<(&'static str, &'static str)>;
    let requests = Family::<Labels, Counter>::default();
    let responses = Family::<Labels, Counter>::default();
    let method = |i: usize| if i == OTHER { "other" } else { METHODS[i] };
    const CLASSES: [&str; 6] = ["1xx", "2xx", "3xx", "4xx", "5xx", "6xx"];
    for (d, direction) in ["in", "out"].into_iter().enumerate() {
        for m in 0..=OTHER {
            let n = c.requests[d][m];
            if n > 0 {
                requests
                    .get_or_create(&vec![("direction", direction), ("method", method(m))])
                    .inc_by(n);
            }
            for (k, class) in CLASSES.into_iter().enumerate() {
                let n = c.responses[d][m][k];
                if n > 0 {
                    responses
                        .get_or_create(&vec![("direction", direction), ("method", method(m)), ("class", class)])
                        .inc_by(n);
                }
            }
        }
    }
    reg.register(
        "sip_requests",
        "SIP requests received (direction in) and sent (out, retransmissions included), by method",
        requests,
    );
    reg.register(
        "sip_responses",
        "SIP responses received and sent, by the method of their CSeq and their class",
        responses,
    );
}

/// `entry_point_calls{entry_point}` and
/// `entry_point_exits{entry_point, exit}` (counters since the start).
fn entry_point_families(reg: &mut Registry, s: &MetricsSnapshot) {
    type Labels = Vec<(&'static str, String)>;
    let entered = Family::<Labels, Counter>::default();
    let exits = Family::<Labels, Counter>::default();
    for e in &s.entry_points {
        entered
            .get_or_create(&vec![("entry_point", e.name.clone())])
            .inc_by(e.entered);
        for (exit, n) in &e.exits {
            exits
                .get_or_create(&vec![("entry_point", e.name.clone()), ("exit", (*exit).to_owned())])
                .inc_by(*n);
        }
    }
    reg.register(
        "entry_point_calls",
        "Callers who entered the entry point (from the dial plan or a transfer)",
        entered,
    );
    reg.register(
        "entry_point_exits",
        "Callers who left the entry point: to a queue, user, number or voicemail, hung up by it, or gone (caller_left)",
        exits,
    );
}

/// `queue_waiting{queue}`, `queue_longest_wait_seconds{queue}` and
/// `agents{state}`.
fn acd_families(reg: &mut Registry, s: &MetricsSnapshot) {
    type Labels = Vec<(&'static str, String)>;
    let waiting = Family::<Labels, Gauge>::default();
    let longest = Family::<Labels, Gauge<f64, AtomicU64>>::default();
    for q in &s.queues {
        let labels = vec![("queue", q.name.clone())];
        waiting
            .get_or_create(&labels)
            .set(i64::try_from(q.waiting).unwrap_or(i64::MAX));
        longest.get_or_create(&labels).set(q.longest_wait.as_secs_f64());
    }
    reg.register(
        "queue_waiting",
        "Customers not yet answered in the queue (waiting, or ringing an agent)",
        waiting,
    );
    reg.register(
        "queue_longest_wait_seconds",
        "The longest wait of a customer not yet answered in the queue",
        longest,
    );
    let agents = Family::<Labels, Gauge>::default();
    for (state, n) in s.agents {
        agents
            .get_or_create(&vec![("state", state.to_string())])
            .set(i64::try_from(n).unwrap_or(i64::MAX));
    }
    reg.register("agents", "Agents in each state (AGENT-1)", agents);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot() -> MetricsSnapshot {
        MetricsSnapshot {
            engine: crate::engine::Stats {
                calls_started: 12,
                calls_answered: 9,
                calls_active: 3,
                malformed: 1,
                transactions: 40,
                dialogs: 6,
                registrations: 5,
                ..Default::default()
            },
            sip: {
                use crate::sip::counters::{Direction, SipCounters};
                use crate::sip::msg::Method;
                let mut c = SipCounters::default();
                c.request(Direction::In, &Method::REGISTER);
                c.request(Direction::In, &Method::REGISTER);
                c.response(Direction::Out, &Method::REGISTER, 401);
                c.response(Direction::Out, &Method::REGISTER, 200);
                c
            },
            queues: vec![QueueMetrics {
                name: "support".into(),
                waiting: 2,
                longest_wait: std::time::Duration::from_millis(20_500),
                agents: crate::acd::AgentState::NAMES.map(|n| (n, 0)),
            }],
            entry_points: vec![crate::engine::EntryPointCounts {
                name: "main".into(),
                entered: 4,
                exits: vec![("caller_left", 1), ("queue", 3)],
            }],
            callbacks: vec![("pending", 2), ("interrupted", 1)],
            agents: [
                ("LoggedOut", 1),
                ("Available", 2),
                ("Idle", 0),
                ("Reserved", 1),
                ("Busy", 3),
                ("WrapUp", 0),
            ],
            media_sessions: 3,
            media_packets_relayed: 1000,
            media_packets_dropped: 5,
            media_srtp_refused: 1,
            media_packets_lost: 11,
            media_packets_late: 2,
            shed_busy: 7,
            shed_source: 2,
            acks_dropped: 4,
        }
    }

    /// The 0.0.4 text format: HELP and TYPE per family, counters with
    /// `_total`, the values of the snapshot.
    #[test]
    fn prometheus_text_has_every_family_with_its_value() {
        let (body, ct) = encode(&snapshot(), false);
        assert_eq!(ct, "text/plain; version=0.0.4; charset=utf-8");
        for line in [
            "# TYPE switchboard_calls_active gauge",
            "switchboard_calls_active 3",
            "# TYPE switchboard_calls_started_total counter",
            "switchboard_calls_started_total 12",
            "switchboard_calls_answered_total 9",
            "switchboard_sip_transactions 40",
            "switchboard_sip_dialogs 6",
            "switchboard_registrations 5",
            "switchboard_sip_malformed_requests_total 1",
            "switchboard_media_sessions 3",
            "switchboard_media_packets_relayed_total 1000",
            "switchboard_media_packets_dropped_total 5",
            "switchboard_media_srtp_refused_total 1",
            "switchboard_media_packets_lost_total 11",
            "switchboard_media_packets_late_total 2",
            "switchboard_overload_shed_busy_total 7",
            "switchboard_overload_shed_source_total 2",
            "switchboard_overload_acks_dropped_total 4",
            "# TYPE switchboard_sip_requests_total counter",
            "switchboard_sip_requests_total{direction=\"in\",method=\"REGISTER\"} 2",
            "switchboard_sip_responses_total{direction=\"out\",method=\"REGISTER\",class=\"4xx\"} 1",
            "switchboard_sip_responses_total{direction=\"out\",method=\"REGISTER\",class=\"2xx\"} 1",
            "switchboard_queue_waiting{queue=\"support\"} 2",
            "switchboard_queue_longest_wait_seconds{queue=\"support\"} 20.5",
            "switchboard_agents{state=\"Busy\"} 3",
            "switchboard_entry_point_calls_total{entry_point=\"main\"} 4",
            "switchboard_entry_point_exits_total{entry_point=\"main\",exit=\"queue\"} 3",
            "switchboard_entry_point_exits_total{entry_point=\"main\",exit=\"caller_left\"} 1",
            "switchboard_agents{state=\"Idle\"} 0",
            "switchboard_callbacks{state=\"pending\"} 2",
            "switchboard_callbacks{state=\"interrupted\"} 1",
        ] {
            assert!(body.lines().any(|l| l == line), "{line} in\n{body}");
        }
        assert!(!body.contains("# EOF"), "no OpenMetrics trailer in 0.0.4");
    }

    /// The example Grafana dashboard (`examples/grafana/switchboard.json`)
    /// only queries metrics the switch exports: every `switchboard_…` name
    /// in a panel's expression is a family of the encoding.
    #[test]
    fn the_grafana_example_queries_only_exported_metrics() {
        let dashboard: serde_json::Value =
            serde_json::from_str(include_str!("../../examples/grafana/switchboard.json")).expect("JSON");
        let (body, _) = encode(&snapshot(), false);
        let families: Vec<&str> = body
            .lines()
            .filter_map(|l| l.strip_prefix("# TYPE "))
            .filter_map(|l| l.split_whitespace().next())
            .collect();
        let mut checked = 0;
        for panel in dashboard["panels"].as_array().expect("panels") {
            for target in panel["targets"].as_array().expect("targets") {
                let expr = target["expr"].as_str().expect("expr");
                for word in expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
                    if word.starts_with("switchboard_") {
                        assert!(
                            families.contains(&word),
                            "{word} (panel {}) is not exported",
                            panel["title"]
                        );
                        checked += 1;
                    }
                }
            }
        }
        assert!(checked >= 15, "the dashboard queries the metrics: {checked}");
    }

    /// OpenMetrics when asked: the same samples and the `# EOF` trailer.
    #[test]
    fn openmetrics_when_asked() {
        let (body, ct) = encode(&snapshot(), true);
        assert!(ct.starts_with(OPENMETRICS), "{ct}");
        assert!(
            body.lines().any(|l| l == "switchboard_calls_started_total 12"),
            "{body}"
        );
        assert_eq!(body.lines().last(), Some("# EOF"));
    }
}
