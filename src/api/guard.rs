//! Who may use the API and how much (issue 11 item 5): every request is
//! checked here before any handler runs (except the browser pages' public
//! static files, [`super::pages`], which never reach the guard).
//!
//! Order of checks, each answered with a JSON error:
//! 1. a browser's `Origin`, when sent, must be the API's own origin or one
//!    of `[api] allowed_origins` (403): a page elsewhere cannot drive an
//!    agent's desktop with the agent's token, nor open its event stream
//!    (browsers do not apply CORS to WebSockets);
//! 2. a source address that presented 30 unknown tokens within a minute is
//!    refused for the rest of that minute (429 with `Retry-After`);
//! 3. every endpoint needs a known bearer token (401): `Authorization:
//!    Bearer`, or `?token=` on the two event streams (browsers cannot set
//!    headers on a WebSocket) and on a voicemail's audio (nor on an
//!    `<audio>` element);
//! 4. the control endpoints (`/calls…`, `/trunks`, `/metrics`) need an admin token,
//!    `/agent/…` and `/supervisor/…` an agent's or supervisor's (403);
//! 5. each token may make `max_requests_per_second` requests a second,
//!    with bursts of twice that (429 with `Retry-After`); WebSocket
//!    messages from the client count too, and a token may hold at most
//!    `max_streams_per_token` event streams at once ([`StreamPermit`]).
//!
//! The token table is replaced on SIGHUP ([`ApiGuard::set_tokens`]) so
//! admin tokens can be rotated without a restart. Tokens are only ever
//! held as SHA-256 digests ([`crate::config::ApiToken`]).
//!
//! Choice (the issue is silent): `/healthz` and `/openapi.yaml` need a
//! token too, any known one; a load balancer's health check sends an admin
//! token in its header. Limits are per token, not per address, so a
//! contact center behind one NAT address is never throttled as one.

use super::error::ApiError;
use super::extract::bearer_token;
use crate::config::{token_digest, ApiSettings, Config};
use axum::extract::{Query, Request, State};
use axum::http::{header, HeaderMap, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use dashmap::DashMap;
use serde::Deserialize;
use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// Unknown tokens from one source address within [`FAILURE_WINDOW`] before
/// it is refused until the window ends.
pub const FAILURES_PER_SOURCE: u32 = 30;

/// The window of [`FAILURES_PER_SOURCE`].
pub const FAILURE_WINDOW: Duration = Duration::from_secs(60);

/// Source addresses remembered at most (older windows are dropped first).
const MAX_SOURCES: usize = 10_000;

/// Whose a token is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Holder {
    /// An operator's tool (`[api] admin_tokens`).
    Admin,
    /// An agent, by login.
    Agent(String),
    /// A supervisor, by login.
    Supervisor(String),
}

impl fmt::Display for Holder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Holder::Admin => f.write_str("an admin token"),
            Holder::Agent(login) => write!(f, "agent `{login}`"),
            Holder::Supervisor(login) => write!(f, "supervisor `{login}`"),
        }
    }
}

/// What the guard found out about a request; handlers read it from the
/// request's extensions.
#[derive(Clone, Debug)]
pub struct Caller {
    /// The token's digest (the key of its limits).
    pub digest: [u8; 32],
    /// Whose it is.
    pub holder: Holder,
    /// The token itself, for the engine (which resolves agents by it).
    pub token: String,
}

/// Every known token, by digest.
#[derive(Clone, Debug, Default)]
pub struct TokenTable(HashMap<[u8; 32], Holder>);

impl TokenTable {
    /// The admin tokens of `[api]` and the agents' and supervisors' of
    /// `acd.toml`.
    pub fn from_config(cfg: &Config) -> Self {
        let mut t = HashMap::new();
        for a in &cfg.api().admin_tokens {
            t.insert(*a.digest(), Holder::Admin);
        }
        for a in &cfg.acd().agents {
            t.insert(*a.token.digest(), Holder::Agent(a.login.clone()));
        }
        for s in &cfg.acd().supervisors {
            t.insert(*s.token.digest(), Holder::Supervisor(s.login.clone()));
        }
        Self(t)
    }

    /// A table of `(token, holder)` pairs (tests).
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, Holder)>) -> Self {
        Self(pairs.into_iter().map(|(t, h)| (token_digest(t), h)).collect())
    }

    /// Whose `digest` is.
    pub fn holder(&self, digest: &[u8; 32]) -> Option<&Holder> {
        self.0.get(digest)
    }

    /// True when no admin token is configured.
    pub fn has_admin(&self) -> bool {
        self.0.values().any(|h| *h == Holder::Admin)
    }
}

/// The guard's limits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Requests per second per token (the bucket refills at this rate and
    /// holds twice as many).
    pub requests_per_second: u32,
    /// Event streams open at once per token.
    pub streams_per_token: u32,
    /// Origins allowed besides the API's own.
    pub allowed_origins: Vec<String>,
    /// True when served over TLS (the API's own origin is `https://`).
    pub tls: bool,
}

impl Limits {
    /// The limits of `[api]`.
    pub fn from_settings(api: &ApiSettings) -> Self {
        Self {
            requests_per_second: api.max_requests_per_second,
            streams_per_token: api.max_streams_per_token,
            allowed_origins: api.allowed_origins.clone(),
            tls: api.tls.is_some(),
        }
    }
}

/// A token bucket (refilled continuously).
#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Unknown tokens from one address in the current window.
#[derive(Clone, Copy, Debug)]
struct Failures {
    count: u32,
    since: Instant,
}

/// The per-request checks and their state; shared by every connection.
#[derive(Debug)]
pub struct ApiGuard {
    tokens: RwLock<Arc<TokenTable>>,
    limits: Limits,
    buckets: DashMap<[u8; 32], Bucket>,
    streams: DashMap<[u8; 32], u32>,
    failures: DashMap<IpAddr, Failures>,
}

impl ApiGuard {
    /// A guard over `tokens` with `limits`.
    pub fn new(tokens: TokenTable, limits: Limits) -> Arc<Self> {
        Arc::new(Self {
            tokens: RwLock::new(Arc::new(tokens)),
            limits,
            buckets: DashMap::new(),
            streams: DashMap::new(),
            failures: DashMap::new(),
        })
    }

    /// Replaces the known tokens (SIGHUP); limits of tokens still known
    /// carry over.
    pub fn set_tokens(&self, tokens: TokenTable) {
        let tokens = Arc::new(tokens);
        self.buckets.retain(|d, _| tokens.holder(d).is_some());
        match self.tokens.write() {
            Ok(mut g) => *g = tokens,
            Err(p) => *p.into_inner() = tokens,
        }
    }

    fn table(&self) -> Arc<TokenTable> {
        match self.tokens.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Step 1: a browser origin other than the API's own or an allowed one
    /// is refused.
    pub fn check_origin(&self, headers: &HeaderMap) -> Result<(), ApiError> {
        let Some(origin) = headers.get(header::ORIGIN) else {
            return Ok(());
        };
        let origin = origin.to_str().unwrap_or("").trim().to_ascii_lowercase();
        let scheme = if self.limits.tls { "https" } else { "http" };
        let own = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(|h| format!("{scheme}://{}", h.trim().to_ascii_lowercase()));
        if own.as_deref() == Some(origin.as_str()) || self.limits.allowed_origins.contains(&origin) {
            return Ok(());
        }
        Err(ApiError::Forbidden(format!(
            "pages from origin `{origin}` may not use this API; add it to [api] allowed_origins"
        )))
    }

    /// Step 2: refuses an address with too many unknown tokens lately.
    pub fn check_source(&self, ip: IpAddr, now: Instant) -> Result<(), ApiError> {
        match self.failures.get(&ip) {
            Some(f) if f.count >= FAILURES_PER_SOURCE && now.duration_since(f.since) < FAILURE_WINDOW => {
                let left = FAILURE_WINDOW.saturating_sub(now.duration_since(f.since));
                Err(ApiError::TooManyRequests {
                    message: format!("too many unknown tokens from {ip}; try again later"),
                    retry_after_s: left.as_secs().max(1),
                })
            }
            _ => Ok(()),
        }
    }

    /// Counts an unknown token from `ip`.
    pub fn record_failure(&self, ip: IpAddr, now: Instant) {
        if self.failures.len() >= MAX_SOURCES {
            self.failures
                .retain(|_, f| now.duration_since(f.since) < FAILURE_WINDOW);
        }
        let mut f = self.failures.entry(ip).or_insert(Failures { count: 0, since: now });
        if now.duration_since(f.since) >= FAILURE_WINDOW {
            *f = Failures { count: 0, since: now };
        }
        f.count += 1;
    }

    /// Step 3: whose `token` is (401 for an unknown one).
    pub fn identify(&self, token: &str) -> Result<Caller, ApiError> {
        let digest = token_digest(token);
        let holder = self
            .table()
            .holder(&digest)
            .cloned()
            .ok_or_else(|| ApiError::Unauthorized("unknown token".into()))?;
        Ok(Caller {
            digest,
            holder,
            token: token.to_string(),
        })
    }

    /// Step 5: takes one request (or message) from the caller's bucket.
    pub fn take(&self, caller: &Caller, now: Instant) -> Result<(), ApiError> {
        let rate = f64::from(self.limits.requests_per_second);
        let cap = 2.0 * rate;
        let mut b = self
            .buckets
            .entry(caller.digest)
            .or_insert(Bucket { tokens: cap, at: now });
        let refill = now.saturating_duration_since(b.at).as_secs_f64() * rate;
        b.tokens = (b.tokens + refill).min(cap);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            return Ok(());
        }
        Err(ApiError::TooManyRequests {
            message: format!(
                "{} made more than {} requests a second",
                caller.holder, self.limits.requests_per_second
            ),
            retry_after_s: 1,
        })
    }

    /// Opens one event stream for the caller, or 429 when it holds
    /// `max_streams_per_token` already.
    pub fn open_stream(self: &Arc<Self>, caller: &Caller) -> Result<StreamPermit, ApiError> {
        let mut n = self.streams.entry(caller.digest).or_insert(0);
        if *n >= self.limits.streams_per_token {
            return Err(ApiError::TooManyRequests {
                message: format!(
                    "{} has {} event streams open already (the limit); close one first",
                    caller.holder, *n
                ),
                retry_after_s: 1,
            });
        }
        *n += 1;
        Ok(StreamPermit {
            guard: self.clone(),
            digest: caller.digest,
        })
    }
}

/// One open event stream of a token; closing it (drop) frees the place.
#[derive(Debug)]
pub struct StreamPermit {
    guard: Arc<ApiGuard>,
    digest: [u8; 32],
}

impl Drop for StreamPermit {
    fn drop(&mut self) {
        if let Some(mut n) = self.guard.streams.get_mut(&self.digest) {
            *n = n.saturating_sub(1);
        }
    }
}

/// Which principals a path is for (step 4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Area {
    Control,
    Agent,
    Supervisor,
    Any,
}

/// Which principals `path` is for (`Any`: no API area, such as a page's).
pub(super) fn area(path: &str) -> Area {
    let under = |p: &str| path == p || path.starts_with(&format!("{p}/"));
    if under("/calls") || under("/trunks") || under("/metrics") {
        Area::Control
    } else if under("/agent") {
        Area::Agent
    } else if under("/supervisor") {
        Area::Supervisor
    } else {
        Area::Any
    }
}

/// `?token=` (event streams and voicemail audio only).
#[derive(Debug, Deserialize)]
struct TokenQuery {
    #[serde(default)]
    token: Option<String>,
}

/// The request's token: the bearer header, else `?token=` on an event
/// stream or a voicemail's audio (a browser's `<audio>` sends no header).
fn token_of(headers: &HeaderMap, uri: &Uri) -> Result<Option<String>, ApiError> {
    if let Some(t) = bearer_token(headers)? {
        return Ok(Some(t));
    }
    if !uri.path().ends_with("/events") && !super::voicemails::is_audio_path(uri.path()) {
        return Ok(None);
    }
    Ok(Query::<TokenQuery>::try_from_uri(uri)
        .ok()
        .and_then(|q| q.0.token)
        .filter(|t| !t.is_empty()))
}

/// The middleware: steps 1 to 5, then the handler with the [`Caller`] in
/// the request's extensions.
pub async fn guard(State(guard): State<Arc<ApiGuard>>, mut req: Request, next: Next) -> Response {
    let ip = req
        .extensions()
        .get::<axum::extract::ConnectInfo<super::listener::PeerAddr>>()
        .map(|p| p.0 .0.ip());
    match admit(&guard, ip, &mut req) {
        Ok(()) => next.run(req).await,
        Err(e) => e.into_response(),
    }
}

fn admit(guard: &ApiGuard, ip: Option<IpAddr>, req: &mut Request) -> Result<(), ApiError> {
    let now = Instant::now();
    guard.check_origin(req.headers())?;
    if let Some(ip) = ip {
        guard.check_source(ip, now)?;
    }
    let Some(token) = token_of(req.headers(), req.uri())? else {
        return Err(super::extract::missing_token());
    };
    let caller = match guard.identify(&token) {
        Ok(c) => c,
        Err(e) => {
            if let Some(ip) = ip {
                guard.record_failure(ip, now);
            }
            tracing::warn!(source = ?ip.map(|i| i.to_string()), path = req.uri().path(), "API request with an unknown token");
            return Err(e);
        }
    };
    match (area(req.uri().path()), &caller.holder) {
        (Area::Control, Holder::Admin) | (Area::Any, _) => {}
        (Area::Control, who) => {
            return Err(ApiError::Forbidden(format!(
                "{who} may not use the control endpoints: they need an admin token ([api] admin_tokens)"
            )))
        }
        (Area::Agent | Area::Supervisor, Holder::Admin) => {
            return Err(ApiError::Forbidden(
                "an admin token cannot act as an agent or supervisor: use their own tokens".into(),
            ))
        }
        (Area::Agent | Area::Supervisor, _) => {}
    }
    guard.take(&caller, now)?;
    req.extensions_mut().insert(caller);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard(rate: u32, streams: u32) -> Arc<ApiGuard> {
        ApiGuard::new(
            TokenTable::from_pairs([
                ("admin-token-0123456", Holder::Admin),
                ("alice-token-0123", Holder::Agent("alice".into())),
            ]),
            Limits {
                requests_per_second: rate,
                streams_per_token: streams,
                allowed_origins: vec!["https://desk.example.com".into()],
                tls: true,
            },
        )
    }

    #[test]
    fn a_token_gets_a_burst_of_twice_its_rate_then_its_rate() {
        let g = guard(5, 1);
        let alice = g.identify("alice-token-0123").expect("known");
        let t0 = Instant::now();
        for i in 0..10 {
            assert!(g.take(&alice, t0).is_ok(), "request {i} of the burst");
        }
        let e = g.take(&alice, t0).expect_err("11th at once");
        assert_eq!(e.status().as_u16(), 429);
        assert!(e.to_string().contains("agent `alice`"), "{e}");
        // 200 ms later one more request's worth has come back.
        assert!(g.take(&alice, t0 + Duration::from_millis(200)).is_ok());
        assert!(g.take(&alice, t0 + Duration::from_millis(200)).is_err());
        // Another token is not slowed by alice's.
        let admin = g.identify("admin-token-0123456").expect("known");
        assert!(g.take(&admin, t0).is_ok());
    }

    #[test]
    fn unknown_tokens_from_one_address_are_refused_for_the_window() {
        let g = guard(5, 1);
        let ip: IpAddr = "192.0.2.7".parse().expect("ip");
        let other: IpAddr = "192.0.2.8".parse().expect("ip");
        let t0 = Instant::now();
        for _ in 0..FAILURES_PER_SOURCE {
            assert!(g.check_source(ip, t0).is_ok());
            g.record_failure(ip, t0);
        }
        let e = g.check_source(ip, t0 + Duration::from_secs(10)).expect_err("blocked");
        assert!(
            matches!(e, ApiError::TooManyRequests { retry_after_s: 50, .. }),
            "{e:?}"
        );
        assert!(g.check_source(other, t0).is_ok());
        assert!(g.check_source(ip, t0 + FAILURE_WINDOW).is_ok());
    }

    #[test]
    fn streams_per_token_are_counted_until_closed() {
        let g = guard(5, 2);
        let alice = g.identify("alice-token-0123").expect("known");
        let a = g.open_stream(&alice).expect("first");
        let _b = g.open_stream(&alice).expect("second");
        assert!(g.open_stream(&alice).is_err());
        drop(a);
        assert!(g.open_stream(&alice).is_ok());
    }

    #[test]
    fn origins_own_and_allowed_pass_others_are_refused() {
        let g = guard(5, 1);
        let mut h = HeaderMap::new();
        h.insert(header::HOST, "api.example.com:8443".parse().expect("value"));
        assert!(g.check_origin(&h).is_ok(), "no Origin: not a browser page");
        h.insert(header::ORIGIN, "https://api.example.com:8443".parse().expect("value"));
        assert!(g.check_origin(&h).is_ok(), "own origin");
        h.insert(header::ORIGIN, "https://DESK.example.com".parse().expect("value"));
        assert!(g.check_origin(&h).is_ok(), "allowed (case-insensitive)");
        h.insert(header::ORIGIN, "https://evil.example".parse().expect("value"));
        let e = g.check_origin(&h).expect_err("foreign page");
        assert!(e.to_string().contains("https://evil.example"), "{e}");
        h.insert(header::ORIGIN, "http://api.example.com:8443".parse().expect("value"));
        assert!(g.check_origin(&h).is_err(), "plain http page against a TLS API");
    }

    #[test]
    fn areas_of_paths() {
        assert_eq!(area("/calls"), Area::Control);
        assert_eq!(area("/calls/7/hold"), Area::Control);
        assert_eq!(area("/trunks"), Area::Control);
        assert_eq!(area("/metrics"), Area::Control);
        assert_eq!(area("/callsx"), Area::Any);
        assert_eq!(area("/agent/me"), Area::Agent);
        assert_eq!(area("/supervisor/events"), Area::Supervisor);
        assert_eq!(area("/healthz"), Area::Any);
    }

    #[test]
    fn a_sighup_can_retire_a_token() {
        let g = guard(5, 1);
        assert!(g.identify("admin-token-0123456").is_ok());
        g.set_tokens(TokenTable::from_pairs([("new-admin-token-0123", Holder::Admin)]));
        assert!(g.identify("admin-token-0123456").is_err());
        assert!(g.identify("new-admin-token-0123").is_ok());
    }
}
