//! The agent desktop routes (issue 4 item 4), under `/agent`: log in and
//! out and change state (AGENT-1, AGENT-3, AGENT-4), accept and decline
//! offers (OFFER-1, OFFER-4), hold, resume and end the call (CALL-HOLD-1),
//! submit and extend wrap-up (WRAP-1, WRAP-2), read, save and revert the
//! call-associated data (CAD-1..4).
//!
//! Each handler checks the request's shape and hands a [`DeskCommand`] to
//! the engine with the bearer token; the engine resolves the token and
//! checks the agent owns what it names.
//!
//! Agent states on the wire: `{"state": "available"}` or `{"state": "idle",
//! "reason": "Lunch"}` (AGENT-1; the reason must be configured).

use super::error::ApiError;
use super::extract::{parse_number, Bearer, JsonBody, OptionalJsonBody};
use super::{ask_desk, ApiRequest, DeskResponse, Routes};
use crate::engine::desk::{DeskCommand, DeskState};
use axum::extract::{Path, State};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::sync::mpsc;

/// The agent routes (the WebSocket `/agent/events` is in `events`).
pub(super) fn routes(r: Routes) -> Routes {
    r.get("/agent/me", me)
        .post("/agent/login", login)
        .post("/agent/logout", logout)
        .post("/agent/state", set_state)
        .post("/agent/offers/{offer}/accept", accept)
        .post("/agent/offers/accept-all", accept_all)
        .post("/agent/offers/{offer}/decline", decline)
        .get("/agent/interactions", interactions)
        .post("/agent/interactions/{interaction}/hold", hold)
        .post("/agent/interactions/{interaction}/resume", resume)
        .post("/agent/interactions/{interaction}/end", end)
        .post("/agent/interactions/{interaction}/recording/pause", recording_pause)
        .post("/agent/interactions/{interaction}/recording/resume", recording_resume)
        .post("/agent/wrapup", wrap_up)
        .post("/agent/wrapup/extend", extend_wrap_up)
        .get("/agent/interactions/{interaction}/data", get_data)
        .put("/agent/interactions/{interaction}/data", save_data)
        .post("/agent/interactions/{interaction}/data/revert", revert_data)
}

/// A state an agent may ask for (AGENT-1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum StateName {
    Available,
    Idle,
}

/// `{"state": "available"}` or `{"state": "idle", "reason": "Lunch"}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StateBody {
    state: StateName,
    #[serde(default)]
    reason: Option<String>,
}

/// The optional body of `POST /agent/login`: the state to start in.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginBody {
    #[serde(default)]
    state: Option<StateName>,
    #[serde(default)]
    reason: Option<String>,
}

/// A [`DeskState`] from a state name and its reason (only `idle` takes
/// one, and needs it).
fn desk_state(state: StateName, reason: Option<String>) -> Result<DeskState, ApiError> {
    match (state, reason) {
        (StateName::Available, None) => Ok(DeskState::Available),
        (StateName::Available, Some(_)) => Err(ApiError::bad_field("reason", "only `idle` takes a reason")),
        (StateName::Idle, Some(reason)) => Ok(DeskState::Idle(reason)),
        (StateName::Idle, None) => Err(ApiError::bad_field("reason", "`idle` needs a reason")),
    }
}

async fn me(State(tx): State<mpsc::Sender<ApiRequest>>, Bearer(token): Bearer) -> Result<DeskResponse, ApiError> {
    ask_desk(&tx, token, DeskCommand::Me).await
}

async fn login(
    State(tx): State<mpsc::Sender<ApiRequest>>,
    Bearer(token): Bearer,
    OptionalJsonBody(body): OptionalJsonBody<LoginBody>,
) -> Result<DeskResponse, ApiError> {
    let state = login_state(body)?;
    ask_desk(&tx, token, DeskCommand::Login { state }).await
}

/// The state a login body asks to start in (`None`: the default).
fn login_state(body: Option<LoginBody>) -> Result<Option<DeskState>, ApiError> {
    Ok(match body {
        None
        | Some(LoginBody {
            state: None,
            reason: None,
        }) => None,
        Some(LoginBody { state: None, .. }) => {
            return Err(ApiError::bad_field("reason", "a reason needs `\"state\": \"idle\"`"))
        }
        Some(LoginBody {
            state: Some(state),
            reason,
        }) => Some(desk_state(state, reason)?),
    })
}

async fn logout(State(tx): State<mpsc::Sender<ApiRequest>>, Bearer(token): Bearer) -> Result<DeskResponse, ApiError> {
    ask_desk(&tx, token, DeskCommand::Logout).await
}

async fn set_state(
    State(tx): State<mpsc::Sender<ApiRequest>>,
    Bearer(token): Bearer,
    JsonBody(body): JsonBody<StateBody>,
) -> Result<DeskResponse, ApiError> {
    let state = desk_state(body.state, body.reason)?;
    ask_desk(&tx, token, DeskCommand::SetState { state }).await
}

async fn accept(
    State(tx): State<mpsc::Sender<ApiRequest>>,
    Bearer(token): Bearer,
    Path(offer): Path<String>,
) -> Result<DeskResponse, ApiError> {
    let offer = parse_number("offer", &offer)?;
    ask_desk(&tx, token, DeskCommand::Accept { offer }).await
}

/// OFFER-5: every ringing offer of the agent, earliest first.
async fn accept_all(
    State(tx): State<mpsc::Sender<ApiRequest>>,
    Bearer(token): Bearer,
) -> Result<DeskResponse, ApiError> {
    ask_desk(&tx, token, DeskCommand::AcceptAll).await
}

async fn decline(
    State(tx): State<mpsc::Sender<ApiRequest>>,
    Bearer(token): Bearer,
    Path(offer): Path<String>,
) -> Result<DeskResponse, ApiError> {
    let offer = parse_number("offer", &offer)?;
    ask_desk(&tx, token, DeskCommand::Decline { offer }).await
}

async fn interactions(
    State(tx): State<mpsc::Sender<ApiRequest>>,
    Bearer(token): Bearer,
) -> Result<DeskResponse, ApiError> {
    ask_desk(&tx, token, DeskCommand::Interactions).await
}

async fn hold(
    State(tx): State<mpsc::Sender<ApiRequest>>,
    Bearer(token): Bearer,
    Path(interaction): Path<String>,
) -> Result<DeskResponse, ApiError> {
    ask_desk(&tx, token, DeskCommand::Hold { interaction }).await
}

async fn resume(
    State(tx): State<mpsc::Sender<ApiRequest>>,
    Bearer(token): Bearer,
    Path(interaction): Path<String>,
) -> Result<DeskResponse, ApiError> {
    ask_desk(&tx, token, DeskCommand::Resume { interaction }).await
}

async fn end(
    State(tx): State<mpsc::Sender<ApiRequest>>,
    Bearer(token): Bearer,
    Path(interaction): Path<String>,
) -> Result<DeskResponse, ApiError> {
    ask_desk(&tx, token, DeskCommand::End { interaction }).await
}

async fn recording_pause(
    State(tx): State<mpsc::Sender<ApiRequest>>,
    Bearer(token): Bearer,
    Path(interaction): Path<String>,
) -> Result<DeskResponse, ApiError> {
    ask_desk(&tx, token, DeskCommand::RecordingPause { interaction }).await
}

async fn recording_resume(
    State(tx): State<mpsc::Sender<ApiRequest>>,
    Bearer(token): Bearer,
    Path(interaction): Path<String>,
) -> Result<DeskResponse, ApiError> {
    ask_desk(&tx, token, DeskCommand::RecordingResume { interaction }).await
}

/// `{"reasons": ["Resolved"], "notes": "..."}` (WRAP-1; notes optional).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WrapUpBody {
    reasons: Vec<String>,
    #[serde(default)]
    notes: String,
}

async fn wrap_up(
    State(tx): State<mpsc::Sender<ApiRequest>>,
    Bearer(token): Bearer,
    JsonBody(body): JsonBody<WrapUpBody>,
) -> Result<DeskResponse, ApiError> {
    let cmd = DeskCommand::WrapUp {
        reasons: body.reasons,
        notes: body.notes,
    };
    ask_desk(&tx, token, cmd).await
}

/// `{"seconds": 60}` or `{"indefinitely": true}` (WRAP-2).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExtendBody {
    #[serde(default)]
    seconds: Option<u64>,
    #[serde(default)]
    indefinitely: Option<bool>,
}

/// How long to extend wrap-up by (`None`: indefinitely), exactly one of
/// the two fields.
fn extension(body: ExtendBody) -> Result<Option<Duration>, ApiError> {
    match (body.seconds, body.indefinitely) {
        (Some(0), None) => Err(ApiError::bad_field("seconds", "`seconds` must be at least 1")),
        (Some(s), None) => Ok(Some(Duration::from_secs(s))),
        (None, Some(true)) => Ok(None),
        (None, Some(false)) => Err(ApiError::bad_field(
            "indefinitely",
            "`indefinitely` can only be true (or give `seconds`)",
        )),
        (Some(_), Some(_)) => Err(ApiError::bad_field(
            "indefinitely",
            "give either `seconds` or `indefinitely`, not both",
        )),
        (None, None) => Err(ApiError::bad_field(
            "seconds",
            "give `seconds` (at least 1) or `\"indefinitely\": true`",
        )),
    }
}

async fn extend_wrap_up(
    State(tx): State<mpsc::Sender<ApiRequest>>,
    Bearer(token): Bearer,
    JsonBody(body): JsonBody<ExtendBody>,
) -> Result<DeskResponse, ApiError> {
    let by = extension(body)?;
    ask_desk(&tx, token, DeskCommand::ExtendWrapUp { by }).await
}

async fn get_data(
    State(tx): State<mpsc::Sender<ApiRequest>>,
    Bearer(token): Bearer,
    Path(interaction): Path<String>,
) -> Result<DeskResponse, ApiError> {
    ask_desk(&tx, token, DeskCommand::GetData { interaction }).await
}

/// `{"version": 3, "values": {"account": "A-17"}}` (CAD-3: edits made on
/// `version`; values are strings whatever the variable's type, CAD-1).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SaveDataBody {
    version: u64,
    values: BTreeMap<String, String>,
}

async fn save_data(
    State(tx): State<mpsc::Sender<ApiRequest>>,
    Bearer(token): Bearer,
    Path(interaction): Path<String>,
    JsonBody(body): JsonBody<SaveDataBody>,
) -> Result<DeskResponse, ApiError> {
    let cmd = DeskCommand::SaveData {
        interaction,
        version: body.version,
        values: body.values.into_iter().collect(),
    };
    ask_desk(&tx, token, cmd).await
}

/// CAD-4: reverting drops the desktop's unsaved edits; the switch keeps
/// only saved values, so this answers the last saved values (a read).
async fn revert_data(
    State(tx): State<mpsc::Sender<ApiRequest>>,
    Bearer(token): Bearer,
    Path(interaction): Path<String>,
) -> Result<DeskResponse, ApiError> {
    ask_desk(&tx, token, DeskCommand::GetData { interaction }).await
}

/// Every body of the agent routes, decoded and checked as the handlers do.
#[cfg(feature = "fuzzing")]
pub(super) fn fuzz_bodies(body: &[u8]) {
    use super::fuzz::{check_refusal, optional, required};
    if let Some(b) = optional::<LoginBody>(body) {
        if let Err(e) = login_state(b) {
            check_refusal(&e);
        }
    }
    if let Some(b) = required::<StateBody>(body) {
        let had_reason = b.reason.is_some();
        match desk_state(b.state, b.reason) {
            Ok(DeskState::Idle(_)) => assert!(had_reason),
            Ok(_) => assert!(!had_reason),
            Err(e) => check_refusal(&e),
        }
    }
    if let Some(b) = required::<WrapUpBody>(body) {
        let _ = (b.reasons.len(), b.notes.len());
    }
    if let Some(b) = required::<ExtendBody>(body) {
        match extension(b) {
            Ok(Some(by)) => assert!(by >= Duration::from_secs(1)),
            Ok(None) => {}
            Err(e) => check_refusal(&e),
        }
    }
    if let Some(b) = required::<SaveDataBody>(body) {
        super::fuzz::save_data(b.version, &b.values);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states() {
        assert_eq!(desk_state(StateName::Available, None), Ok(DeskState::Available));
        assert_eq!(
            desk_state(StateName::Idle, Some("Lunch".into())),
            Ok(DeskState::Idle("Lunch".into()))
        );
        assert!(desk_state(StateName::Idle, None).is_err());
        assert!(desk_state(StateName::Available, Some("x".into())).is_err());
    }

    /// spec: WRAP-2 — extend by seconds or indefinitely, exactly one.
    #[test]
    fn extensions() {
        let body = |seconds, indefinitely| ExtendBody { seconds, indefinitely };
        assert_eq!(extension(body(Some(60), None)), Ok(Some(Duration::from_secs(60))));
        assert_eq!(extension(body(None, Some(true))), Ok(None));
        for bad in [
            body(Some(0), None),
            body(None, Some(false)),
            body(Some(5), Some(true)),
            body(None, None),
        ] {
            assert_eq!(extension(bad).map_err(|e| e.status().as_u16()), Err(400));
        }
    }
}
