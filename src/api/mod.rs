//! The control API (issue 3 item 7; the agent desktop API of issue 4 grows
//! from it): HTTP JSON on a loopback address (`[api] listen`, CLI
//! `--api-listen`). Handlers never touch call state: each request becomes
//! an [`ApiCommand`] sent to the engine task, which answers on a oneshot
//! channel (DESIGN.md: the API translates to engine inputs).
//!
//! Errors are JSON too: `{"error": "<kind>", "message": "...", "field": ...}`
//! with 400 for a malformed parameter, 404 for an unknown resource or path,
//! 405 for a wrong method, 503 when the engine is gone.

use crate::engine::CallSummary;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use tokio::sync::{mpsc, oneshot};

/// What a request asks of the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ApiCommand {
    /// Every live call.
    ListCalls,
}

/// The engine's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ApiReply {
    /// Live calls, oldest first.
    Calls(Vec<CallSummary>),
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

async fn healthz() -> Response {
    Json(serde_json::json!({ "status": "ok" })).into_response()
}

async fn list_calls(State(tx): State<mpsc::Sender<ApiRequest>>) -> Response {
    match ask(&tx, ApiCommand::ListCalls).await {
        Ok(ApiReply::Calls(calls)) => Json(serde_json::json!({ "calls": calls })).into_response(),
        Err(r) => r,
    }
}

async fn get_call(State(tx): State<mpsc::Sender<ApiRequest>>, Path(id): Path<String>) -> Response {
    let Ok(id) = id.parse::<u64>() else {
        return error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("call id `{id}` is not a number"),
            Some("id"),
        );
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
        Err(r) => r,
    }
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
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(engine)
}

/// Serves the API on `listener` until the engine's channel closes.
pub async fn serve(listener: tokio::net::TcpListener, engine: mpsc::Sender<ApiRequest>) -> std::io::Result<()> {
    axum::serve(listener, router(engine)).await
}
