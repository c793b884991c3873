//! The supervisor routes (issue 4 item 5), under `/supervisor`: the live
//! dashboard of interactions and agents (SUP-1), forcing an agent's state,
//! silent monitoring, whisper and barge (SUP-2, SUP-3), assigning an
//! interaction (SUP-5), transferring one (CALL-XFER-6) and closing one
//! (SUP-6). The engine answers 403 to an
//! agent's token.
//!
//! Forced states on the wire: `{"state": "available"}`, `{"state": "idle",
//! "reason": "Meeting"}` or `{"state": "logged_out"}`.

use super::error::ApiError;
use super::extract::{Bearer, JsonBody, OptionalJsonBody};
use super::{ask_supervisor, ApiRequest, DeskResponse, Routes};
use crate::engine::desk::{AssignTo, DeskState, SupervisorCommand};
use axum::extract::{Path, State};
use serde::Deserialize;
use tokio::sync::mpsc;

/// The supervisor routes (the WebSocket `/supervisor/events` is in `events`).
pub(super) fn routes(r: Routes) -> Routes {
    r.get("/supervisor/interactions", interactions)
        .get("/supervisor/agents", agents)
        .post("/supervisor/agents/{agent}/state", force_state)
        .post("/supervisor/interactions/{interaction}/monitor", monitor)
        .post("/supervisor/interactions/{interaction}/close", force_close)
        .post("/supervisor/interactions/{interaction}/assign", assign)
        .post("/supervisor/interactions/{interaction}/transfer", transfer)
        .post("/supervisor/interactions/{interaction}/listen", listen)
        .post("/supervisor/interactions/{interaction}/whisper", whisper)
        .post("/supervisor/interactions/{interaction}/barge", barge)
}

async fn interactions(
    State(tx): State<mpsc::Sender<ApiRequest>>,
    Bearer(token): Bearer,
) -> Result<DeskResponse, ApiError> {
    ask_supervisor(&tx, token, SupervisorCommand::Interactions).await
}

async fn agents(State(tx): State<mpsc::Sender<ApiRequest>>, Bearer(token): Bearer) -> Result<DeskResponse, ApiError> {
    ask_supervisor(&tx, token, SupervisorCommand::Agents).await
}

/// A state a supervisor may force.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum ForcedState {
    Available,
    Idle,
    LoggedOut,
}

/// The body of `POST /supervisor/agents/{agent}/state`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ForceBody {
    state: ForcedState,
    #[serde(default)]
    reason: Option<String>,
}

/// The state to force (`None`: log out); only `idle` takes a reason, and
/// needs it.
fn forced(body: ForceBody) -> Result<Option<DeskState>, ApiError> {
    match (body.state, body.reason) {
        (ForcedState::Available, None) => Ok(Some(DeskState::Available)),
        (ForcedState::Idle, Some(reason)) => Ok(Some(DeskState::Idle(reason))),
        (ForcedState::Idle, None) => Err(ApiError::bad_field("reason", "`idle` needs a reason")),
        (ForcedState::LoggedOut, None) => Ok(None),
        (_, Some(_)) => Err(ApiError::bad_field("reason", "only `idle` takes a reason")),
    }
}

async fn force_state(
    State(tx): State<mpsc::Sender<ApiRequest>>,
    Bearer(token): Bearer,
    Path(agent): Path<String>,
    JsonBody(body): JsonBody<ForceBody>,
) -> Result<DeskResponse, ApiError> {
    let state = forced(body)?;
    ask_supervisor(&tx, token, SupervisorCommand::ForceState { agent, state }).await
}

/// The body of a monitor request: the phone to ring (SUP-2). The engine
/// refuses a request without it (400 naming `extension`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MonitorBody {
    #[serde(default)]
    extension: Option<String>,
}

async fn monitor(
    State(tx): State<mpsc::Sender<ApiRequest>>,
    Bearer(token): Bearer,
    Path(interaction): Path<String>,
    OptionalJsonBody(body): OptionalJsonBody<MonitorBody>,
) -> Result<DeskResponse, ApiError> {
    let extension = body.and_then(|b| b.extension);
    ask_supervisor(&tx, token, SupervisorCommand::Monitor { interaction, extension }).await
}

/// SUP-2: back to listening only.
async fn listen(
    State(tx): State<mpsc::Sender<ApiRequest>>,
    Bearer(token): Bearer,
    Path(interaction): Path<String>,
) -> Result<DeskResponse, ApiError> {
    let mode = crate::call::SupervisorMode::Listen;
    ask_supervisor(&tx, token, SupervisorCommand::MonitorMode { interaction, mode }).await
}

/// SUP-2: coach the agent, heard by the agent only.
async fn whisper(
    State(tx): State<mpsc::Sender<ApiRequest>>,
    Bearer(token): Bearer,
    Path(interaction): Path<String>,
) -> Result<DeskResponse, ApiError> {
    let mode = crate::call::SupervisorMode::Whisper;
    ask_supervisor(&tx, token, SupervisorCommand::MonitorMode { interaction, mode }).await
}

/// SUP-2: join the call, heard by everyone.
async fn barge(
    State(tx): State<mpsc::Sender<ApiRequest>>,
    Bearer(token): Bearer,
    Path(interaction): Path<String>,
) -> Result<DeskResponse, ApiError> {
    let mode = crate::call::SupervisorMode::Barge;
    ask_supervisor(&tx, token, SupervisorCommand::MonitorMode { interaction, mode }).await
}

/// The body of `POST /supervisor/interactions/{uid}/assign` (SUP-5):
/// exactly one of `{"agent": "bob"}` or `{"queue": "sales"}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AssignBody {
    #[serde(default)]
    agent: Option<String>,
    #[serde(default)]
    queue: Option<String>,
}

/// The target an assign body names; exactly one must be given.
fn assign_target(b: AssignBody) -> Result<AssignTo, ApiError> {
    match (b.agent, b.queue) {
        (Some(a), None) => Ok(AssignTo::Agent(a)),
        (None, Some(q)) => Ok(AssignTo::Queue(q)),
        _ => Err(ApiError::bad_field("target", "name exactly one of agent or queue")),
    }
}

/// SUP-5: assign an open, unassigned interaction to an agent or a queue.
async fn assign(
    State(tx): State<mpsc::Sender<ApiRequest>>,
    Bearer(token): Bearer,
    Path(interaction): Path<String>,
    JsonBody(body): JsonBody<AssignBody>,
) -> Result<DeskResponse, ApiError> {
    let to = assign_target(body)?;
    ask_supervisor(&tx, token, SupervisorCommand::Assign { interaction, to }).await
}

/// The body of a supervisor transfer: the agent it goes to.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SupervisorTransferBody {
    agent: String,
}

/// CALL-XFER-6: transfer a connected interaction to an `Available` agent.
async fn transfer(
    State(tx): State<mpsc::Sender<ApiRequest>>,
    Bearer(token): Bearer,
    Path(interaction): Path<String>,
    JsonBody(body): JsonBody<SupervisorTransferBody>,
) -> Result<DeskResponse, ApiError> {
    ask_supervisor(
        &tx,
        token,
        SupervisorCommand::Transfer {
            interaction,
            agent: body.agent,
        },
    )
    .await
}

/// SUP-6: close an interaction.
async fn force_close(
    State(tx): State<mpsc::Sender<ApiRequest>>,
    Bearer(token): Bearer,
    Path(interaction): Path<String>,
) -> Result<DeskResponse, ApiError> {
    ask_supervisor(&tx, token, SupervisorCommand::ForceClose { interaction }).await
}

/// Every body of the supervisor routes, decoded and checked as the handlers do.
#[cfg(feature = "fuzzing")]
pub(super) fn fuzz_bodies(body: &[u8]) {
    use super::fuzz::{check_refusal, optional, required};
    if let Some(b) = required::<ForceBody>(body) {
        if let Err(e) = forced(b) {
            check_refusal(&e);
        }
    }
    if let Some(b) = optional::<MonitorBody>(body) {
        let _ = b.and_then(|b| b.extension);
    }
    if let Some(b) = required::<AssignBody>(body) {
        if let Err(e) = assign_target(b) {
            check_refusal(&e);
        }
    }
    if let Some(b) = required::<SupervisorTransferBody>(body) {
        let _ = b.agent.len();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forced_states() {
        let body = |state, reason: Option<&str>| ForceBody {
            state,
            reason: reason.map(String::from),
        };
        assert_eq!(forced(body(ForcedState::LoggedOut, None)), Ok(None));
        assert_eq!(
            forced(body(ForcedState::Idle, Some("Meeting"))),
            Ok(Some(DeskState::Idle("Meeting".into())))
        );
        assert_eq!(
            forced(body(ForcedState::Available, None)),
            Ok(Some(DeskState::Available))
        );
        assert!(forced(body(ForcedState::Idle, None)).is_err());
        assert!(forced(body(ForcedState::LoggedOut, Some("x"))).is_err());
    }
}
