//! The control API (issue 3 item 7; the agent desktop API of issue 4 grows
//! from it): HTTP JSON on a loopback address (`[api] listen`, CLI
//! `--api-listen`). Handlers never touch call state: each request becomes
//! an [`ApiCommand`] sent to the engine task, which answers on a oneshot
//! channel (DESIGN.md: the API translates to engine inputs).
//!
//! Endpoints:
//! - `GET /healthz`, `GET /calls`, `GET /calls/{id}`;
//! - `POST /calls/{id}/hold` (optional JSON body `{"party": "caller" |
//!   "callee"}`, default the caller) and `POST /calls/{id}/resume`
//!   (CALL-HOLD-1: the held party hears music on hold);
//! - `POST /calls/{id}/recording/start|pause|resume|stop` (CALL-REC-1).
//!
//! Each answers the call's summary after the change. Errors are JSON too:
//! `{"error": "<kind>", "message": "...", "field": ...}` with 400 for a
//! malformed parameter or body, 404 for an unknown call or path, 405 for a
//! wrong method, 409 when the call's state forbids the action (not
//! answered, not anchored, already held, not recording...), 503 when the
//! engine is gone.

use crate::engine::{CallControl, CallSummary, ControlError, Party};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;
use tokio::sync::{mpsc, oneshot};

/// What a request asks of the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ApiCommand {
    /// Every live call.
    ListCalls,
    /// Control one call.
    Control {
        /// The call's id.
        call: u64,
        /// What to do.
        control: CallControl,
    },
}

/// The engine's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ApiReply {
    /// Live calls, oldest first.
    Calls(Vec<CallSummary>),
    /// The call after a control request, or why it was refused.
    Call(Result<CallSummary, ControlError>),
}

/// A command and where its answer goes.
pub type ApiRequest = (ApiCommand, oneshot::Sender<ApiReply>);

/// A JSON error body.
#[derive(Debug, Serialize)]
struct ApiError {
    error: &'static str,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'static str>,
}

fn error(status: StatusCode, error: &'static str, message: String, field: Option<&'static str>) -> Response {
    (status, Json(ApiError { error, message, field })).into_response()
}

async fn ask(tx: &mpsc::Sender<ApiRequest>, cmd: ApiCommand) -> Result<ApiReply, Response> {
    let (reply, rx) = oneshot::channel();
    let gone = || {
        error(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the switch is shutting down".into(),
            None,
        )
    };
    tx.send((cmd, reply)).await.map_err(|_| gone())?;
    rx.await.map_err(|_| gone())
}

fn unexpected() -> Response {
    error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "unexpected engine reply".into(),
        None,
    )
}

async fn healthz() -> Response {
    Json(serde_json::json!({ "status": "ok" })).into_response()
}

async fn list_calls(State(tx): State<mpsc::Sender<ApiRequest>>) -> Response {
    match ask(&tx, ApiCommand::ListCalls).await {
        Ok(ApiReply::Calls(calls)) => Json(serde_json::json!({ "calls": calls })).into_response(),
        Ok(_) => unexpected(),
        Err(r) => r,
    }
}

/// A call id from the path, or the 400 naming the field.
fn parse_id(id: &str) -> Result<u64, Box<Response>> {
    id.parse::<u64>().map_err(|_| {
        Box::new(error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("call id `{id}` is not a number"),
            Some("id"),
        ))
    })
}

async fn get_call(State(tx): State<mpsc::Sender<ApiRequest>>, Path(id): Path<String>) -> Response {
    let id = match parse_id(&id) {
        Ok(id) => id,
        Err(r) => return *r,
    };
    match ask(&tx, ApiCommand::ListCalls).await {
        Ok(ApiReply::Calls(calls)) => match calls.into_iter().find(|c| c.id == id) {
            Some(c) => Json(c).into_response(),
            None => error(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("no live call {id}"),
                Some("id"),
            ),
        },
        Ok(_) => unexpected(),
        Err(r) => r,
    }
}

/// The optional body of `POST /calls/{id}/hold`.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct HoldBody {
    #[serde(default)]
    party: Option<String>,
}

/// The party to hold from the optional body, or the 400 naming the field.
fn hold_party(body: &[u8]) -> Result<Party, Box<Response>> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Party::Caller);
    }
    let parsed: HoldBody = serde_json::from_slice(body).map_err(|e| {
        Box::new(error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("body is not a JSON object with an optional `party`: {e}"),
            None,
        ))
    })?;
    match parsed.party.as_deref() {
        None | Some("caller") => Ok(Party::Caller),
        Some("callee") => Ok(Party::Callee),
        Some(other) => Err(Box::new(error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("party `{other}` is neither `caller` nor `callee`"),
            Some("party"),
        ))),
    }
}

async fn control(tx: &mpsc::Sender<ApiRequest>, id: &str, control: CallControl) -> Response {
    let call = match parse_id(id) {
        Ok(id) => id,
        Err(r) => return *r,
    };
    match ask(tx, ApiCommand::Control { call, control }).await {
        Ok(ApiReply::Call(Ok(summary))) => Json(summary).into_response(),
        Ok(ApiReply::Call(Err(e))) => {
            let (status, kind) = match e {
                ControlError::NoSuchCall(_) => (StatusCode::NOT_FOUND, "not_found"),
                _ => (StatusCode::CONFLICT, "conflict"),
            };
            let field = matches!(e, ControlError::NoSuchCall(_)).then_some("id");
            error(status, kind, e.to_string(), field)
        }
        Ok(_) => unexpected(),
        Err(r) => r,
    }
}

async fn hold(State(tx): State<mpsc::Sender<ApiRequest>>, Path(id): Path<String>, body: Bytes) -> Response {
    match hold_party(&body) {
        Ok(party) => control(&tx, &id, CallControl::Hold(party)).await,
        Err(r) => *r,
    }
}

async fn resume(State(tx): State<mpsc::Sender<ApiRequest>>, Path(id): Path<String>) -> Response {
    control(&tx, &id, CallControl::Resume).await
}

async fn recording(State(tx): State<mpsc::Sender<ApiRequest>>, Path((id, action)): Path<(String, String)>) -> Response {
    let cmd = match action.as_str() {
        "start" => CallControl::RecordStart,
        "pause" => CallControl::RecordPause,
        "resume" => CallControl::RecordResume,
        "stop" => CallControl::RecordStop,
        other => {
            return error(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("no recording action `{other}` (start, pause, resume, stop)"),
                Some("action"),
            )
        }
    };
    control(&tx, &id, cmd).await
}

async fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "not_found", "no such endpoint".into(), None)
}

async fn method_not_allowed() -> Response {
    error(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "method not allowed on this endpoint".into(),
        None,
    )
}

/// The API's routes, answering through `engine`.
pub fn router(engine: mpsc::Sender<ApiRequest>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/calls", get(list_calls))
        .route("/calls/{id}", get(get_call))
        .route("/calls/{id}/hold", post(hold))
        .route("/calls/{id}/resume", post(resume))
        .route("/calls/{id}/recording/{action}", post(recording))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(engine)
}

/// Serves the API on `listener` until the engine's channel closes.
pub async fn serve(listener: tokio::net::TcpListener, engine: mpsc::Sender<ApiRequest>) -> std::io::Result<()> {
    axum::serve(listener, router(engine)).await
}
