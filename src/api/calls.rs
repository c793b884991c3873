//! The control API's call routes (issue 3 item 7): list live calls, hold
//! and resume a party (CALL-HOLD-1: the held party hears music on hold),
//! start, pause, resume and stop a recording (CALL-REC-1). Each answers the
//! call's summary after the change. `GET /trunks` lists the trunks with
//! their keepalive state (issue 10 item 5).

use super::error::ApiError;
use super::extract::{is_blank, parse_json, RawBody};
use super::{ask, ApiCommand, ApiReply, ApiRequest, Routes};
use crate::engine::{CallControl, CallSummary, Party};
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use tokio::sync::mpsc;

/// The call routes.
pub(super) fn routes(r: Routes) -> Routes {
    r.get("/healthz", healthz)
        .get("/calls", list_calls)
        .get("/calls/{id}", get_call)
        .post("/calls/{id}/hold", hold)
        .post("/calls/{id}/resume", resume)
        .post("/calls/{id}/recording/{action}", recording)
        .get("/trunks", list_trunks)
}

/// `GET /trunks`: every trunk, up or down by its OPTIONS keepalive.
async fn list_trunks(State(tx): State<mpsc::Sender<ApiRequest>>) -> Result<Response, ApiError> {
    match ask(&tx, ApiCommand::ListTrunks).await? {
        ApiReply::Trunks(trunks) => Ok(Json(serde_json::json!({ "trunks": trunks })).into_response()),
        _ => Err(super::unexpected()),
    }
}

async fn healthz() -> Response {
    Json(serde_json::json!({ "status": "ok" })).into_response()
}

async fn calls(tx: &mpsc::Sender<ApiRequest>) -> Result<Vec<CallSummary>, ApiError> {
    match ask(tx, ApiCommand::ListCalls).await? {
        ApiReply::Calls(calls) => Ok(calls),
        _ => Err(super::unexpected()),
    }
}

async fn list_calls(State(tx): State<mpsc::Sender<ApiRequest>>) -> Result<Response, ApiError> {
    let calls = calls(&tx).await?;
    Ok(Json(serde_json::json!({ "calls": calls })).into_response())
}

/// A call id from the path, or the 400 naming the field.
fn parse_id(id: &str) -> Result<u64, ApiError> {
    id.parse::<u64>()
        .map_err(|_| ApiError::bad_field("id", format!("call id `{id}` is not a number")))
}

async fn get_call(State(tx): State<mpsc::Sender<ApiRequest>>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    match calls(&tx).await?.into_iter().find(|c| c.id == id) {
        Some(c) => Ok(Json(c).into_response()),
        None => Err(ApiError::NotFound {
            message: format!("no live call {id}"),
            field: Some("id".into()),
        }),
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
fn hold_party(body: &[u8]) -> Result<Party, ApiError> {
    if is_blank(body) {
        return Ok(Party::Caller);
    }
    let parsed: HoldBody = parse_json(body)?;
    match parsed.party.as_deref() {
        None | Some("caller") => Ok(Party::Caller),
        Some("callee") => Ok(Party::Callee),
        Some(other) => Err(ApiError::bad_field(
            "party",
            format!("party `{other}` is neither `caller` nor `callee`"),
        )),
    }
}

/// The hold body, decoded and checked as the handler does.
#[cfg(feature = "fuzzing")]
pub(super) fn fuzz_bodies(body: &[u8]) {
    if let Err(e) = hold_party(body) {
        super::fuzz::check_refusal(&e);
    }
}

async fn control(tx: &mpsc::Sender<ApiRequest>, id: &str, control: CallControl) -> Result<Response, ApiError> {
    let call = parse_id(id)?;
    match ask(tx, ApiCommand::Control { call, control }).await? {
        ApiReply::Call(Ok(summary)) => Ok(Json(summary).into_response()),
        ApiReply::Call(Err(e)) => Err(e.into()),
        _ => Err(super::unexpected()),
    }
}

async fn hold(
    State(tx): State<mpsc::Sender<ApiRequest>>,
    Path(id): Path<String>,
    RawBody(body): RawBody,
) -> Result<Response, ApiError> {
    let party = hold_party(&body)?;
    control(&tx, &id, CallControl::Hold(party)).await
}

async fn resume(State(tx): State<mpsc::Sender<ApiRequest>>, Path(id): Path<String>) -> Result<Response, ApiError> {
    control(&tx, &id, CallControl::Resume).await
}

async fn recording(
    State(tx): State<mpsc::Sender<ApiRequest>>,
    Path((id, action)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let cmd = match action.as_str() {
        "start" => CallControl::RecordStart,
        "pause" => CallControl::RecordPause,
        "resume" => CallControl::RecordResume,
        "stop" => CallControl::RecordStop,
        other => {
            return Err(ApiError::NotFound {
                message: format!("no recording action `{other}` (start, pause, resume, stop)"),
                field: Some("action".into()),
            })
        }
    };
    control(&tx, &id, cmd).await
}
