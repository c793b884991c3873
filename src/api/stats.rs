//! The contact-center statistics routes (issue 13 items 2 and 3), for
//! supervisors:
//!
//! - `GET /supervisor/stats/queues?from=&to=&interval=` and
//!   `GET /supervisor/stats/agents?...`: per queue or per agent, per
//!   interval, folded from the store ([`crate::records::stats`] holds the
//!   definitions). `from` and `to` are RFC 3339 times
//!   (`2026-12-07T00:00:00+01:00`) or dates (`2026-12-07`, UTC midnight);
//!   `interval` is `15m` or `1d` (default `15m`). Without `from`, today
//!   from UTC midnight; without `to`, one day after `from`. Intervals
//!   start at `from`. At most [`MAX_INTERVALS`] intervals.
//! - `GET /supervisor/queues`: each queue now (calls waiting, the longest
//!   wait, its agents by state) and today's figures: the supervisor
//!   dashboard's queue tiles. The same numbers come live on
//!   `/supervisor/events` as `queue` and `queue_stats` events.

use super::error::ApiError;
use super::extract::Bearer;
use super::{ask, ApiCommand, ApiReply, ApiRequest, Routes};
use crate::records::stats::{Interval, Report, Window};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

/// The most intervals one report may hold (31 days of 15 minutes).
pub const MAX_INTERVALS: u64 = 31 * 96;

/// Which statistics a supervisor asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatsKind {
    /// Per queue and interval.
    Queues,
    /// Per agent and interval.
    Agents,
    /// Each queue now, with today's figures.
    Now,
}

/// A statistics request, checked ([`ApiCommand::Stats`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatsQuery {
    /// What is asked.
    pub kind: StatsKind,
    /// Over what.
    pub window: Window,
}

/// The answer to a [`StatsQuery`].
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum StatsAnswer {
    /// A queue or agent report.
    Report(Report),
    /// Each queue now (`{"queues": [...]}`).
    Now {
        /// The queues in file order.
        queues: Vec<crate::records::stats::QueueNow>,
    },
}

/// Never NaN (every ratio has a non-zero denominator), so equality is total.
impl Eq for StatsAnswer {}

/// The statistics routes.
pub(super) fn routes(r: Routes) -> Routes {
    r.get("/supervisor/stats/queues", queues)
        .get("/supervisor/stats/agents", agents)
        .get("/supervisor/queues", now)
}

/// The query string of a report.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WindowParams {
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    to: Option<String>,
    #[serde(default)]
    interval: Option<String>,
}

/// Unix ms of an RFC 3339 time or a date (UTC midnight).
fn parse_time(field: &str, value: &str) -> Result<u64, ApiError> {
    let bad = || {
        ApiError::bad_field(
            field,
            format!("`{value}` is not a time like 2026-12-07T00:00:00Z or a date like 2026-12-07"),
        )
    };
    let ts = match value.parse::<jiff::Timestamp>() {
        Ok(ts) => ts,
        Err(_) => value
            .parse::<jiff::civil::Date>()
            .map_err(|_| bad())?
            .to_zoned(jiff::tz::TimeZone::UTC)
            .map_err(|_| bad())?
            .timestamp(),
    };
    u64::try_from(ts.as_millisecond()).map_err(|_| ApiError::bad_field(field, "times before 1970 hold no calls"))
}

/// The window a report's query asks for, at `now_ms`.
fn window(params: Result<Query<WindowParams>, QueryRejection>, now_ms: u64) -> Result<Window, ApiError> {
    let Query(p) = params.map_err(|e| ApiError::BadRequest {
        message: e.body_text(),
        field: None,
    })?;
    let interval = match p.interval.as_deref() {
        None => Interval::Quarter,
        Some(s) => Interval::from_name(s).ok_or_else(|| ApiError::bad_field("interval", "must be `15m` or `1d`"))?,
    };
    let from_ms = match p.from.as_deref() {
        Some(f) => parse_time("from", f)?,
        None => crate::records::stats::today(now_ms).from_ms,
    };
    let to_ms = match p.to.as_deref() {
        Some(t) => parse_time("to", t)?,
        None => from_ms.saturating_add(Interval::Day.ms()),
    };
    if to_ms <= from_ms {
        return Err(ApiError::bad_field("to", "must be after `from`"));
    }
    if (to_ms - from_ms).div_ceil(interval.ms()) > MAX_INTERVALS {
        return Err(ApiError::bad_field(
            "to",
            format!("at most {MAX_INTERVALS} intervals of {} per report", interval.name()),
        ));
    }
    Ok(Window {
        from_ms,
        to_ms,
        interval,
        now_ms,
    })
}

fn unix_now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

async fn answer(tx: &mpsc::Sender<ApiRequest>, token: String, query: StatsQuery) -> Result<Response, ApiError> {
    match ask(tx, ApiCommand::Stats { token, query }).await? {
        ApiReply::Stats(r) => r.map(|a| Json(*a).into_response()),
        _ => Err(super::unexpected()),
    }
}

async fn queues(
    State(tx): State<mpsc::Sender<ApiRequest>>,
    Bearer(token): Bearer,
    params: Result<Query<WindowParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let window = window(params, unix_now_ms())?;
    let kind = StatsKind::Queues;
    answer(&tx, token, StatsQuery { kind, window }).await
}

async fn agents(
    State(tx): State<mpsc::Sender<ApiRequest>>,
    Bearer(token): Bearer,
    params: Result<Query<WindowParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let window = window(params, unix_now_ms())?;
    let kind = StatsKind::Agents;
    answer(&tx, token, StatsQuery { kind, window }).await
}

async fn now(State(tx): State<mpsc::Sender<ApiRequest>>, Bearer(token): Bearer) -> Result<Response, ApiError> {
    let window = crate::records::stats::today(unix_now_ms());
    answer(
        &tx,
        token,
        StatsQuery {
            kind: StatsKind::Now,
            window,
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: u64 = 1_796_601_600_000; // 2026-12-07T00:00:00Z

    fn w(q: &str) -> Result<Window, ApiError> {
        let uri: axum::http::Uri = format!("/x?{q}").parse().expect("uri");
        window(Query::try_from_uri(&uri), T0 + 3_600_000)
    }

    #[test]
    fn windows_from_dates_times_and_defaults() {
        let today = w("").expect("defaults");
        assert_eq!(
            (today.from_ms, today.to_ms, today.interval),
            (T0, T0 + 86_400_000, Interval::Quarter)
        );
        let local = w("from=2026-12-07T00:00:00%2B01:00&interval=1d").expect("offset");
        assert_eq!(local.from_ms, T0 - 3_600_000, "local midnight at +01:00");
        let days = w("from=2026-12-01&to=2026-12-08&interval=1d").expect("a week");
        assert_eq!((days.to_ms - days.from_ms) / 86_400_000, 7);
    }

    #[test]
    fn bad_windows_name_their_field() {
        for (q, field) in [
            ("interval=1h", "interval"),
            ("from=yesterday", "from"),
            ("from=2026-12-07&to=2026-12-06", "to"),
            ("from=2026-01-01&to=2026-12-01", "to"),
        ] {
            match w(q) {
                Err(ApiError::BadRequest { field: Some(f), .. }) => assert_eq!(f, field, "{q}"),
                other => panic!("{q}: {other:?}"),
            }
        }
        assert!(
            matches!(w("colour=red"), Err(ApiError::BadRequest { .. })),
            "unknown parameter"
        );
    }
}
