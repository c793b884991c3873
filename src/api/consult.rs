//! The agent's consult and conference routes (CALL-CONSULT-1..5,
//! CALL-CONF-1..5, CALL-DIAL-1), under `/agent`:
//!
//! - `GET /agent/consult-targets`: agents `Available` or `Idle` with their
//!   state, queues, entry points;
//! - `POST /agent/interactions/{uid}/consult` with exactly one of
//!   `{"agent": "bob"}`, `{"queue": "sales"}`, `{"entry_point": "5001"}`,
//!   `{"number": "+1 (415) 555-2671"}`;
//! - `POST .../toggle`, `.../merge`, `.../consult/end`, `.../leave`;
//! - `POST /agent/interactions/{uid}/transfer` (CALL-XFER-1..5) with
//!   exactly one of `{"agent": "bob"}`, `{"queue": "sales"}`,
//!   `{"entry_point": "5001"}`, `{"number": "..."}` (blind) or
//!   `{"consultee": true}` (to the running consult's answered party).
//!
//! Refusals are 4xx JSON naming the field (`target`, `target.number`) or
//! the rule (a 409 such as "the consulted party has not answered yet
//! (CALL-CONSULT-2)").

use super::error::ApiError;
use super::extract::{Bearer, JsonBody};
use super::{ask_desk, ApiRequest, DeskResponse, Routes};
use crate::engine::desk::{ConsultTarget, DeskCommand, TransferTo};
use axum::extract::{Path, State};
use serde::Deserialize;
use tokio::sync::mpsc;

/// The consult routes.
pub(super) fn routes(r: Routes) -> Routes {
    r.get("/agent/consult-targets", targets)
        .post("/agent/interactions/{interaction}/consult", consult)
        .post("/agent/interactions/{interaction}/toggle", toggle)
        .post("/agent/interactions/{interaction}/merge", merge)
        .post("/agent/interactions/{interaction}/consult/end", end_consult)
        .post("/agent/interactions/{interaction}/leave", leave)
        .post("/agent/interactions/{interaction}/transfer", transfer)
}

/// The body of a transfer: exactly one target.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TransferBody {
    #[serde(default)]
    agent: Option<String>,
    #[serde(default)]
    queue: Option<String>,
    #[serde(default)]
    entry_point: Option<String>,
    #[serde(default)]
    number: Option<String>,
    #[serde(default)]
    consultee: bool,
}

/// The target a transfer body names: `consultee` alone, or exactly one
/// of the consult targets.
fn transfer_to(b: TransferBody) -> Result<TransferTo, ApiError> {
    let named = ConsultBody {
        agent: b.agent,
        queue: b.queue,
        entry_point: b.entry_point,
        number: b.number,
    };
    let any_named =
        named.agent.is_some() || named.queue.is_some() || named.entry_point.is_some() || named.number.is_some();
    if b.consultee && !any_named {
        return Ok(TransferTo::Consultee);
    }
    let one = || {
        ApiError::bad_field(
            "target",
            "name exactly one of agent, queue, entry_point, number or consultee",
        )
    };
    if b.consultee {
        return Err(one());
    }
    Ok(match target_of(named).map_err(|_| one())? {
        ConsultTarget::Agent(a) => TransferTo::Agent(a),
        ConsultTarget::Queue(q) => TransferTo::Queue(q),
        ConsultTarget::EntryPoint(e) => TransferTo::EntryPoint(e),
        ConsultTarget::Number(n) => TransferTo::Number(n),
    })
}

async fn transfer(
    State(tx): State<mpsc::Sender<ApiRequest>>,
    Bearer(token): Bearer,
    Path(interaction): Path<String>,
    JsonBody(body): JsonBody<TransferBody>,
) -> Result<DeskResponse, ApiError> {
    let to = transfer_to(body)?;
    ask_desk(&tx, token, DeskCommand::Transfer { interaction, to }).await
}

/// The body of a consult: exactly one target.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConsultBody {
    #[serde(default)]
    agent: Option<String>,
    #[serde(default)]
    queue: Option<String>,
    #[serde(default)]
    entry_point: Option<String>,
    #[serde(default)]
    number: Option<String>,
}

/// The target a consult body names; exactly one must be given.
fn target_of(b: ConsultBody) -> Result<ConsultTarget, ApiError> {
    let given = [&b.agent, &b.queue, &b.entry_point, &b.number]
        .iter()
        .filter(|x| x.is_some())
        .count();
    if given != 1 {
        return Err(ApiError::bad_field(
            "target",
            "name exactly one of agent, queue, entry_point or number",
        ));
    }
    Ok(match (b.agent, b.queue, b.entry_point, b.number) {
        (Some(a), ..) => ConsultTarget::Agent(a),
        (_, Some(q), ..) => ConsultTarget::Queue(q),
        (_, _, Some(e), _) => ConsultTarget::EntryPoint(e),
        (_, _, _, Some(n)) => ConsultTarget::Number(n),
        _ => return Err(ApiError::bad_field("target", "no target")),
    })
}

async fn targets(State(tx): State<mpsc::Sender<ApiRequest>>, Bearer(token): Bearer) -> Result<DeskResponse, ApiError> {
    ask_desk(&tx, token, DeskCommand::ConsultTargets).await
}

async fn consult(
    State(tx): State<mpsc::Sender<ApiRequest>>,
    Bearer(token): Bearer,
    Path(interaction): Path<String>,
    JsonBody(body): JsonBody<ConsultBody>,
) -> Result<DeskResponse, ApiError> {
    let target = target_of(body)?;
    ask_desk(&tx, token, DeskCommand::Consult { interaction, target }).await
}

async fn toggle(
    State(tx): State<mpsc::Sender<ApiRequest>>,
    Bearer(token): Bearer,
    Path(interaction): Path<String>,
) -> Result<DeskResponse, ApiError> {
    ask_desk(&tx, token, DeskCommand::Toggle { interaction }).await
}

async fn merge(
    State(tx): State<mpsc::Sender<ApiRequest>>,
    Bearer(token): Bearer,
    Path(interaction): Path<String>,
) -> Result<DeskResponse, ApiError> {
    ask_desk(&tx, token, DeskCommand::Merge { interaction }).await
}

async fn end_consult(
    State(tx): State<mpsc::Sender<ApiRequest>>,
    Bearer(token): Bearer,
    Path(interaction): Path<String>,
) -> Result<DeskResponse, ApiError> {
    ask_desk(&tx, token, DeskCommand::EndConsult { interaction }).await
}

async fn leave(
    State(tx): State<mpsc::Sender<ApiRequest>>,
    Bearer(token): Bearer,
    Path(interaction): Path<String>,
) -> Result<DeskResponse, ApiError> {
    ask_desk(&tx, token, DeskCommand::Leave { interaction }).await
}

/// Every body of the consult routes, decoded and checked as the handlers do.
#[cfg(feature = "fuzzing")]
pub(super) fn fuzz_bodies(body: &[u8]) {
    use super::fuzz::{check_refusal, required};
    if let Some(b) = required::<ConsultBody>(body) {
        if let Err(e) = target_of(b) {
            check_refusal(&e);
        }
    }
    if let Some(b) = required::<TransferBody>(body) {
        if let Err(e) = transfer_to(b) {
            check_refusal(&e);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(json: &str) -> ConsultBody {
        serde_json::from_str(json).expect("shape")
    }

    #[test]
    fn exactly_one_target() {
        assert_eq!(
            target_of(body(r#"{"agent":"bob"}"#)).ok(),
            Some(ConsultTarget::Agent("bob".into()))
        );
        assert_eq!(
            target_of(body(r#"{"number":"+1 415"}"#)).ok(),
            Some(ConsultTarget::Number("+1 415".into()))
        );
        assert!(target_of(body(r#"{}"#)).is_err());
        assert!(target_of(body(r#"{"agent":"bob","queue":"sales"}"#)).is_err());
        assert!(serde_json::from_str::<ConsultBody>(r#"{"phone":"1"}"#).is_err());
    }

    fn tbody(json: &str) -> TransferBody {
        serde_json::from_str(json).expect("shape")
    }

    #[test]
    fn a_transfer_names_exactly_one_target() {
        assert_eq!(
            transfer_to(tbody(r#"{"queue":"sales"}"#)).ok(),
            Some(TransferTo::Queue("sales".into()))
        );
        assert_eq!(
            transfer_to(tbody(r#"{"consultee":true}"#)).ok(),
            Some(TransferTo::Consultee)
        );
        assert!(transfer_to(tbody(r#"{}"#)).is_err());
        assert!(transfer_to(tbody(r#"{"consultee":false}"#)).is_err());
        assert!(transfer_to(tbody(r#"{"agent":"bob","consultee":true}"#)).is_err());
        assert!(serde_json::from_str::<TransferBody>(r#"{"to":"bob"}"#).is_err());
    }
}
