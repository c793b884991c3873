//! The callback routes (spec CB-2..CB-5, CB-8), open to an admin token (a
//! website backend), supervisors and agents (the engine decides who may do
//! what, `engine/callbacks.rs`):
//! - `POST /callbacks` creates a web, scheduled or personal callback; with
//!   an `Idempotency-Key` header the same key and body again answer the
//!   same callback (200 instead of 201, even after a restart), the same key
//!   with another body is 409 `idempotency_conflict` (CB-8);
//! - `GET /callbacks?number=...` lists a customer's callbacks (CB-4),
//!   `GET /callbacks` every open one and the interrupted ones (an agent: its own);
//! - `GET /callbacks/{id}`, `PATCH /callbacks/{id}` and `DELETE
//!   /callbacks/{id}`: read, edit and delete, the last two until the
//!   window starts (409 after, CB-4).
//!
//! Bodies: `{"kind": "scheduled", "number": "+33 1 23 45 67 89", "name":
//! "Zoé", "queue": "support", "zone": "Europe/Paris", "window": {"start":
//! "2027-03-28T10:00", "end": "2027-03-28T12:00"}, "reason": "...",
//! "agent": "me" | "any" | "<login>"}`; the rules and their edges are in
//! `acd/callback.rs` and the OpenAPI document.

use super::error::ApiError;
use super::extract::JsonBody;
use super::guard::{Caller, Holder};
use super::{ask, unexpected, ApiCommand, ApiReply, ApiRequest, Routes};
use crate::acd::callback::{CallbackError, CallbackKind};
use crate::engine::{AssignAsked, CallbackCommand, CallbackReply, CreateRequest, EditRequest, Requester};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

/// The header naming a create request (CB-8).
pub const IDEMPOTENCY_KEY: &str = "Idempotency-Key";

/// The longest idempotency key accepted.
pub const MAX_KEY_LEN: usize = 255;

/// The callback routes.
pub(super) fn routes(r: Routes) -> Routes {
    r.post("/callbacks", create)
        .get("/callbacks", list)
        .get("/callbacks/{id}", get)
        .patch("/callbacks/{id}", edit)
        .delete("/callbacks/{id}", delete)
        .post("/callbacks/{id}/retry", retry)
}

/// `window` of a body.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct WindowBody {
    start: String,
    end: String,
}

/// The kinds a request may name.
#[derive(Clone, Copy, Debug, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
enum KindName {
    Web,
    Scheduled,
    Personal,
    Courtesy,
}

/// `POST /callbacks`.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    kind: KindName,
    number: String,
    name: String,
    queue: String,
    #[serde(default)]
    zone: Option<String>,
    #[serde(default)]
    window: Option<WindowBody>,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    agent: Option<String>,
}

/// `PATCH /callbacks/{id}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EditBody {
    #[serde(default)]
    number: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    queue: Option<String>,
    #[serde(default)]
    zone: Option<String>,
    #[serde(default)]
    window: Option<WindowBody>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    agent: Option<String>,
}

/// `GET /callbacks?number=`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    #[serde(default)]
    number: Option<String>,
}

fn kind(k: KindName) -> CallbackKind {
    match k {
        KindName::Web => CallbackKind::Web,
        KindName::Scheduled => CallbackKind::Scheduled,
        KindName::Personal => CallbackKind::Personal,
        KindName::Courtesy => CallbackKind::Courtesy,
    }
}

fn assign(agent: Option<String>) -> Option<AssignAsked> {
    agent.map(|a| match a.as_str() {
        "any" => AssignAsked::Any,
        "me" => AssignAsked::Me,
        _ => AssignAsked::Agent(a),
    })
}

fn requester(holder: &Holder) -> Requester {
    match holder {
        Holder::Admin => Requester::Admin,
        Holder::Agent(l) => Requester::Agent(l.clone()),
        Holder::Supervisor(l) => Requester::Supervisor(l.clone()),
    }
}

/// The `Idempotency-Key` header: 1 to 255 visible ASCII characters.
fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(v) = headers.get(IDEMPOTENCY_KEY) else {
        return Ok(None);
    };
    let bad = || {
        ApiError::bad_field(
            IDEMPOTENCY_KEY,
            "an Idempotency-Key is 1 to 255 visible ASCII characters (a UUID, say)",
        )
    };
    let s = v.to_str().map_err(|_| bad())?;
    if s.is_empty() || s.len() > MAX_KEY_LEN || !s.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(bad());
    }
    Ok(Some(s.to_string()))
}

impl From<CallbackError> for ApiError {
    /// Invalid 400 naming the field, NotFound 404 naming `id`, Forbidden
    /// 403, Conflict 409, IdempotencyConflict 409 `idempotency_conflict`.
    fn from(e: CallbackError) -> ApiError {
        match e {
            CallbackError::Invalid { field, message } => ApiError::bad_field(field, message),
            CallbackError::NotFound(_) => ApiError::NotFound {
                message: e.to_string(),
                field: Some("id".into()),
            },
            CallbackError::Forbidden(m) => ApiError::Forbidden(m),
            CallbackError::IdempotencyConflict { .. } => ApiError::IdempotencyConflict(e.to_string()),
            other => ApiError::Conflict(other.to_string()),
        }
    }
}

async fn ask_callbacks(
    tx: &mpsc::Sender<ApiRequest>,
    caller: &Caller,
    cmd: CallbackCommand,
) -> Result<CallbackReply, ApiError> {
    let who = requester(&caller.holder);
    match ask(tx, ApiCommand::Callbacks { who, cmd }).await? {
        ApiReply::Callbacks(r) => r.map_err(ApiError::from),
        _ => Err(unexpected()),
    }
}

/// A reply as JSON: created 201 (a replay 200), one callback an object,
/// lists `{"callbacks": [...]}`.
fn respond(r: CallbackReply) -> Response {
    match r {
        CallbackReply::Created { callback, replayed } => {
            let status = if replayed { StatusCode::OK } else { StatusCode::CREATED };
            (status, Json(callback)).into_response()
        }
        CallbackReply::One(c) => Json(c).into_response(),
        CallbackReply::List(l) => Json(serde_json::json!({ "callbacks": l })).into_response(),
    }
}

async fn create(
    State(tx): State<mpsc::Sender<ApiRequest>>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<CreateBody>,
) -> Result<Response, ApiError> {
    let key = idempotency_key(&headers)?;
    // Who asked and what, canonical (fields in one order, no spacing):
    // a retry matches byte for byte.
    let fingerprint = serde_json::to_string(&body)
        .map(|b| format!("{}\n{b}", caller.holder))
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let req = CreateRequest {
        kind: kind(body.kind),
        number: body.number,
        name: body.name,
        queue: body.queue,
        zone: body.zone,
        window: body.window.map(|w| (w.start, w.end)),
        reason: body.reason,
        agent: assign(body.agent),
        idempotency: key.map(|k| (k, fingerprint)),
    };
    ask_callbacks(&tx, &caller, CallbackCommand::Create(Box::new(req)))
        .await
        .map(respond)
}

async fn list(
    State(tx): State<mpsc::Sender<ApiRequest>>,
    Extension(caller): Extension<Caller>,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::BadRequest {
        message: e.body_text(),
        field: None,
    })?;
    if let Some(n) = &q.number {
        if !n.chars().any(|c| c.is_ascii_digit()) {
            return Err(ApiError::bad_field(
                "number",
                "a customer's number needs at least one digit",
            ));
        }
    }
    ask_callbacks(&tx, &caller, CallbackCommand::List { number: q.number })
        .await
        .map(respond)
}

async fn get(
    State(tx): State<mpsc::Sender<ApiRequest>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    ask_callbacks(&tx, &caller, CallbackCommand::Get { id })
        .await
        .map(respond)
}

async fn edit(
    State(tx): State<mpsc::Sender<ApiRequest>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<EditBody>,
) -> Result<Response, ApiError> {
    let edit = EditRequest {
        number: body.number,
        name: body.name,
        queue: body.queue,
        zone: body.zone,
        window: body.window.map(|w| (w.start, w.end)),
        reason: body.reason,
        agent: assign(body.agent),
    };
    if edit == EditRequest::default() {
        return Err(ApiError::BadRequest {
            message: "nothing to change: give at least one of number, name, queue, zone, window, reason, agent".into(),
            field: None,
        });
    }
    ask_callbacks(
        &tx,
        &caller,
        CallbackCommand::Edit {
            id,
            edit: Box::new(edit),
        },
    )
    .await
    .map(respond)
}

async fn delete(
    State(tx): State<mpsc::Sender<ApiRequest>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    ask_callbacks(&tx, &caller, CallbackCommand::Delete { id })
        .await
        .map(respond)
}

/// `POST /callbacks/{id}/retry`: an interrupted or failed callback back to
/// its queue, due at once (supervisors and admin tokens; CB-8).
async fn retry(
    State(tx): State<mpsc::Sender<ApiRequest>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    ask_callbacks(&tx, &caller, CallbackCommand::Retry { id })
        .await
        .map(respond)
}
