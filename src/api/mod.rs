//! The HTTP API (`[api] listen`, CLI `--api-listen`): the control API
//! (issue 3 item 7), the agent desktop API (issue 4 item 4) and the
//! supervisor API (issue 4 item 5), JSON over HTTP (HTTPS with `[api]
//! tls_certificate`) plus WebSocket event streams. Every request passes the
//! [`guard`] first (issue 11 item 5: token, origin, limits); connections
//! come through the [`listener`] (TLS, connection cap) and are served
//! HTTP/1.1 only with a header read timeout. Handlers never touch call state: each request becomes an
//! [`ApiCommand`] sent to the engine task, which answers on a oneshot
//! channel (DESIGN.md: the API translates to engine inputs); the engine's
//! [`DeskEvent`]s come back on a broadcast channel.
//!
//! The OpenAPI 3.1 document `src/api/openapi.yaml` describes every route,
//! body, view, error and event; it is served at `GET /openapi.yaml`, and a
//! test checks it names exactly the routes of [`routes`].
//!
//! Control endpoints (an admin token of `[api] admin_tokens`; `/healthz`
//! any known token):
//! - `GET /healthz`, `GET /openapi.yaml`, `GET /calls`, `GET /calls/{id}`;
//! - `POST /calls/{id}/hold` (optional JSON body `{"party": "caller" |
//!   "callee"}`, default the caller) and `POST /calls/{id}/resume`
//!   (CALL-HOLD-1: the held party hears music on hold);
//! - `POST /calls/{id}/recording/start|pause|resume|stop` (CALL-REC-1);
//! - `GET /trunks`: each trunk's OPTIONS keepalive state (issue 10 item 5);
//! - `GET /metrics`: Prometheus metrics ([`metrics`], issue 13 item 4).
//!
//! Agent endpoints (`Authorization: Bearer <token>`, [`desk`]):
//! - `GET /agent/me`; `POST /agent/login` (optional `{"state":
//!   "available"}` or `{"state": "idle", "reason": "Lunch"}`),
//!   `POST /agent/logout`, `POST /agent/state` (same body) (AGENT-1..4);
//! - `POST /agent/offers/{offer}/accept|decline` (OFFER-1, OFFER-4);
//! - `GET /agent/interactions`,
//!   `POST /agent/interactions/{interaction}/hold|resume|end` (CALL-HOLD-1);
//! - `POST /agent/wrapup` (`{"reasons": [...], "notes": "..."}`, WRAP-1),
//!   `POST /agent/wrapup/extend` (`{"seconds": 60}` or `{"indefinitely":
//!   true}`, WRAP-2);
//! - `GET|PUT /agent/interactions/{interaction}/data` (`{"version": 3,
//!   "values": {"name": "value"}}`, CAD-1..3),
//!   `POST /agent/interactions/{interaction}/data/revert` (CAD-4: the last
//!   saved values);
//! - `GET /agent/events` (WebSocket, [`events`]; `?token=` also accepted).
//!
//! Supervisor endpoints (bearer token of a supervisor, [`supervisor`]):
//! - `GET /supervisor/interactions`, `GET /supervisor/agents` (SUP-1);
//! - `POST /supervisor/agents/{agent}/state` (`{"state": "available" |
//!   "idle" | "logged_out", "reason"?}`);
//! - `POST /supervisor/interactions/{interaction}/monitor`
//!   (`{"extension": "1004"}`, the phone to ring; SUP-2 silent monitor:
//!   the engine refuses a request without it, 400 naming `extension`);
//! - `GET /supervisor/events` (WebSocket: every agent's events).
//!
//! Callback endpoints ([`callbacks`], CB-2..CB-5, CB-8; an admin token,
//! a supervisor's or an agent's, the engine decides who may do what):
//! - `POST /callbacks` (optional `Idempotency-Key` header), `GET
//!   /callbacks?number=...`, `GET|PATCH|DELETE /callbacks/{id}`, `POST
//!   /callbacks/{id}/retry` (an interrupted or failed one back to its queue).
//!
//! Voicemail endpoints ([`voicemails`], issue 14 item 5; an agent's or a
//! supervisor's token):
//! - `GET /voicemails?state=&queue=`, `GET /voicemails/{id}/audio` (also
//!   `?token=`), `POST /voicemails/{id}/done`.
//!
//! Answers: one agent is an `AgentView` object, lists are `{"agents":
//! [...]}`, `{"interactions": [...]}`, `{"calls": [...]}`, data is a
//! `DataView` (each [`DeskReply`] is rendered by its kind). The document
//! promises: `me`, `login`, `logout`, `state`, accept, decline, `wrapup`,
//! `wrapup/extend` and a forced state answer the agent; the interaction
//! lists, hold, resume, end and monitor answer `{"interactions": [...]}`;
//! the data routes a `DataView`. Errors are JSON too ([`error`]): `{"error": "<kind>",
//! "message": "...", "field": ...}` with 400 for a malformed parameter or
//! body (naming the field), 401 for a missing or unknown token, 403 for the
//! wrong principal, 404 for an unknown call, offer, interaction or path,
//! 405 for a wrong method, 408 for a body slower than [`HEADER_TIMEOUT`],
//! 409 when the state forbids the action (CAD-3's `data_conflict` adds
//! `version` and `overwritten`), 413 for a body over [`BODY_LIMIT`], 429
//! over a limit, 503 when the engine is gone. The guard checks the token
//! first (an unknown one is 401 whatever the request), then the request's
//! shape is checked, then the engine decides.
//!
//! The browser pages' files (`GET /softphone/...` and the others of
//! [`crate::web::PAGES`], served by [`pages`]) share the address but not
//! the guard: they are public static pages, like a login page, and not in
//! the OpenAPI document.

pub mod callbacks;
mod calls;
mod consult;
pub mod desk;
pub mod error;
pub mod events;
pub mod extract;
#[cfg(feature = "fuzzing")]
pub mod fuzz;
pub mod guard;
pub mod listener;
pub mod metrics;
pub mod pages;
pub mod stats;
pub mod supervisor;
pub mod voicemails;

use crate::engine::desk::{DeskCommand, DeskError, DeskEvent, DeskReply, SupervisorCommand};
use crate::engine::{CallControl, CallSummary, ControlError};
use axum::extract::{DefaultBodyLimit, FromRef};
use axum::handler::Handler;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use axum::{Json, Router};
use error::ApiError;
use guard::ApiGuard;
use std::sync::Arc;
use tokio::sync::{broadcast, mpsc, oneshot};

/// The largest request body accepted (a larger one is refused with 413).
pub const BODY_LIMIT: usize = 64 * 1024;

/// The OpenAPI 3.1 document of every route (served at `GET /openapi.yaml`).
pub const OPENAPI_YAML: &str = include_str!("openapi.yaml");

/// What a request asks of the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ApiCommand {
    /// Every live call.
    ListCalls,
    /// Every trunk with its keepalive state.
    ListTrunks,
    /// Control one call.
    Control {
        /// The call's id.
        call: u64,
        /// What to do.
        control: CallControl,
    },
    /// An agent desktop request (issue 4 item 4), answered with
    /// [`ApiReply::Desk`].
    Desk {
        /// The bearer token.
        token: String,
        /// What the agent asks.
        cmd: DeskCommand,
    },
    /// A supervisor request (SUP-1, SUP-2), answered with [`ApiReply::Desk`].
    Supervise {
        /// The bearer token.
        token: String,
        /// What the supervisor asks.
        cmd: SupervisorCommand,
    },
    /// The numbers behind `GET /metrics` (issue 13 item 4), answered with
    /// [`ApiReply::Metrics`].
    Metrics,
    /// Contact-center statistics (issue 13 item 3), answered with
    /// [`ApiReply::Stats`] (the store folds them).
    Stats {
        /// The bearer token (a supervisor's).
        token: String,
        /// What is asked.
        query: stats::StatsQuery,
    },
    /// A callback request (CB-2..CB-5, CB-8), answered with
    /// [`ApiReply::Callbacks`].
    Callbacks {
        /// Who asks (an admin token, a supervisor or an agent).
        who: crate::engine::Requester,
        /// What is asked.
        cmd: crate::engine::CallbackCommand,
    },
    /// A voicemail request (issue 14 item 5), answered with
    /// [`ApiReply::Voicemails`].
    Voicemails {
        /// Who asks (an agent or a supervisor; an admin token is refused).
        who: crate::engine::Requester,
        /// What is asked.
        cmd: crate::engine::VoicemailCommand,
    },
}

/// The engine's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ApiReply {
    /// Live calls, oldest first.
    Calls(Vec<CallSummary>),
    /// Trunks in `trunks.toml` order.
    Trunks(Vec<crate::engine::TrunkSummary>),
    /// The call after a control request, or why it was refused.
    Call(Result<CallSummary, ControlError>),
    /// The answer to [`ApiCommand::Desk`] or [`ApiCommand::Supervise`].
    Desk(Result<DeskReply, DeskError>),
    /// The answer to [`ApiCommand::Metrics`].
    Metrics(Box<metrics::MetricsSnapshot>),
    /// The answer to [`ApiCommand::Stats`].
    Stats(Result<Box<stats::StatsAnswer>, error::ApiError>),
    /// The answer to [`ApiCommand::Callbacks`].
    Callbacks(Result<crate::engine::CallbackReply, crate::acd::callback::CallbackError>),
    /// The answer to [`ApiCommand::Voicemails`] (an audio file's path has
    /// the recordings directory in front).
    Voicemails(Result<crate::engine::VoicemailReply, crate::engine::VoicemailError>),
}

/// A command and where its answer goes.
pub type ApiRequest = (ApiCommand, oneshot::Sender<ApiReply>);

/// What every handler may reach: the engine task, the event channel and
/// the guard (tokens and limits).
#[derive(Clone, Debug)]
pub struct AppState {
    /// Requests to the engine task.
    engine: mpsc::Sender<ApiRequest>,
    /// Desk events; weak, so the channel closes (and the streams end) when
    /// the driver drops its sender.
    events: broadcast::WeakSender<DeskEvent>,
    /// Who may do what, how often ([`guard`]).
    guard: Arc<ApiGuard>,
}

impl FromRef<AppState> for mpsc::Sender<ApiRequest> {
    fn from_ref(st: &AppState) -> Self {
        st.engine.clone()
    }
}

/// Sends `cmd` to the engine task and waits for its answer (503 when the
/// engine is gone).
async fn ask(tx: &mpsc::Sender<ApiRequest>, cmd: ApiCommand) -> Result<ApiReply, ApiError> {
    let (reply, rx) = oneshot::channel();
    tx.send((cmd, reply)).await.map_err(|_| ApiError::Unavailable)?;
    rx.await.map_err(|_| ApiError::Unavailable)
}

/// The 500 for an engine reply of the wrong kind.
fn unexpected() -> ApiError {
    ApiError::Internal("unexpected engine reply".into())
}

/// A [`DeskReply`] as JSON: one agent or one interaction's data as an
/// object, lists as `{"agents": [...]}` or `{"interactions": [...]}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeskResponse(pub DeskReply);

impl IntoResponse for DeskResponse {
    fn into_response(self) -> Response {
        match self.0 {
            DeskReply::Agent(a) => Json(a).into_response(),
            DeskReply::Agents(a) => Json(serde_json::json!({ "agents": a })).into_response(),
            DeskReply::Interactions(i) => Json(serde_json::json!({ "interactions": i })).into_response(),
            DeskReply::Data(d) => Json(d).into_response(),
            DeskReply::ConsultTargets(t) => Json(t).into_response(),
            DeskReply::Assigned(a) => Json(a).into_response(),
        }
    }
}

/// Asks the engine on behalf of an agent.
async fn ask_desk(tx: &mpsc::Sender<ApiRequest>, token: String, cmd: DeskCommand) -> Result<DeskResponse, ApiError> {
    match ask(tx, ApiCommand::Desk { token, cmd }).await? {
        ApiReply::Desk(r) => r.map(DeskResponse).map_err(ApiError::from),
        _ => Err(unexpected()),
    }
}

/// Asks the engine on behalf of a supervisor.
async fn ask_supervisor(
    tx: &mpsc::Sender<ApiRequest>,
    token: String,
    cmd: SupervisorCommand,
) -> Result<DeskResponse, ApiError> {
    match ask(tx, ApiCommand::Supervise { token, cmd }).await? {
        ApiReply::Desk(r) => r.map(DeskResponse).map_err(ApiError::from),
        _ => Err(unexpected()),
    }
}

/// The router under construction, with the (method, path) of every route
/// added, so the OpenAPI test checks the routes actually served.
pub(crate) struct Routes {
    router: Router<AppState>,
    table: Vec<(&'static str, &'static str)>,
}

impl Routes {
    fn add(mut self, method: &'static str, path: &'static str, route: MethodRouter<AppState>) -> Self {
        self.router = self.router.route(path, route);
        self.table.push((method, path));
        self
    }

    /// Adds `GET path`.
    pub(crate) fn get<H: Handler<T, AppState>, T: 'static>(self, path: &'static str, handler: H) -> Self {
        self.add("get", path, axum::routing::get(handler))
    }

    /// Adds `POST path`.
    pub(crate) fn post<H: Handler<T, AppState>, T: 'static>(self, path: &'static str, handler: H) -> Self {
        self.add("post", path, axum::routing::post(handler))
    }

    /// Adds `PUT path`.
    pub(crate) fn put<H: Handler<T, AppState>, T: 'static>(self, path: &'static str, handler: H) -> Self {
        self.add("put", path, axum::routing::put(handler))
    }

    /// Adds `PATCH path`.
    pub(crate) fn patch<H: Handler<T, AppState>, T: 'static>(self, path: &'static str, handler: H) -> Self {
        self.add("patch", path, axum::routing::patch(handler))
    }

    /// Adds `DELETE path`.
    pub(crate) fn delete<H: Handler<T, AppState>, T: 'static>(self, path: &'static str, handler: H) -> Self {
        self.add("delete", path, axum::routing::delete(handler))
    }
}

/// Every route, before the state is attached.
fn build() -> Routes {
    let r = Routes {
        router: Router::new(),
        table: Vec::new(),
    }
    .get("/openapi.yaml", openapi);
    let r = calls::routes(r);
    let r = metrics::routes(r);
    let r = desk::routes(r);
    let r = consult::routes(r);
    let r = supervisor::routes(r);
    let r = stats::routes(r);
    let r = callbacks::routes(r);
    let r = voicemails::routes(r);
    events::routes(r)
}

/// The (lowercase method, path) of every route served, paths in axum's
/// `{param}` form as in the OpenAPI document.
pub fn routes() -> Vec<(&'static str, &'static str)> {
    build().table
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/yaml")], OPENAPI_YAML).into_response()
}

async fn not_found() -> ApiError {
    ApiError::NotFound {
        message: "no such endpoint".into(),
        field: None,
    }
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

/// The API's routes, answering through `engine`, each request checked by
/// `guard` first; the event streams subscribe to `events` (the router
/// keeps only a weak handle). The public pages are merged in
/// after the guard ([`pages::router`]).
pub fn router(engine: mpsc::Sender<ApiRequest>, events: &broadcast::Sender<DeskEvent>, guard: Arc<ApiGuard>) -> Router {
    let state = AppState {
        engine,
        events: events.downgrade(),
        guard: guard.clone(),
    };
    build()
        .router
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(axum::middleware::from_fn_with_state(guard, guard::guard))
        .layer(axum::middleware::map_response(error::json_errors))
        .with_state(state)
        .merge(pages::router())
}

/// How long a client may take to send a request's head, or stay idle
/// between requests on a kept-alive connection (hyper's header read
/// timeout): a slow or silent client cannot hold one of the
/// `max_connections` places.
pub const HEADER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Serves the API on `listener`, answering through `engine` with `guard`
/// in front; the desktops' WebSocket streams carry what is sent on
/// `events` (every `Output::Desk` of the engine) until its last sender is
/// dropped. HTTP/1.1 only (with WebSocket upgrades), each connection in its
/// own task with [`HEADER_TIMEOUT`].
pub async fn serve(
    mut listener: listener::ApiListener,
    engine: mpsc::Sender<ApiRequest>,
    events: broadcast::Sender<DeskEvent>,
    guard: Arc<ApiGuard>,
) -> std::io::Result<()> {
    use axum::extract::ConnectInfo;
    use axum::serve::Listener;
    use axum::Extension;
    use tower::ServiceExt;
    let app = router(engine, &events, guard);
    drop(events);
    loop {
        let (conn, peer) = listener.accept().await;
        let svc = app
            .clone()
            .layer(Extension(ConnectInfo(listener::PeerAddr(peer))))
            .map_request(|req: axum::http::Request<hyper::body::Incoming>| req.map(axum::body::Body::new));
        tokio::spawn(async move {
            let served = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .serve_connection(
                    hyper_util::rt::TokioIo::new(conn),
                    hyper_util::service::TowerToHyperService::new(svc),
                )
                .with_upgrades()
                .await;
            if let Err(e) = served {
                tracing::debug!(%peer, error = %e, "API connection ended with an error");
            }
        });
    }
}

#[cfg(test)]
mod openapi_tests;
#[cfg(test)]
mod socket_tests;
#[cfg(test)]
mod voicemail_socket_tests;
