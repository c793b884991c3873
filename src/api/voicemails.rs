//! The voicemail routes (issue 14 item 5), for agents and supervisors
//! (the engine decides who sees what, `engine/voicemail_box.rs`):
//! - `GET /voicemails?state=new|heard|done&queue=<name>`: the messages the
//!   token's holder may see, newest first (`{"voicemails": [...]}`);
//! - `GET /voicemails/{id}/audio`: the message's WAV (`audio/wav`), read
//!   from the recordings directory under the name the message was stored
//!   with (never a path from the request); 409 while the media thread is
//!   still completing the file. Serving it marks the message `heard`. A
//!   browser's `<audio>` element cannot send a header, so this route also
//!   takes the token as `?token=` (like the event streams);
//! - `POST /voicemails/{id}/done`: marks it handled (409 naming who did,
//!   if someone already did).

use super::error::ApiError;
use super::guard::{Caller, Holder};
use super::{ask, unexpected, ApiCommand, ApiReply, ApiRequest, Routes};
use crate::engine::{Requester, VoicemailCommand, VoicemailError, VoicemailReply};
use crate::records::VoicemailState;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;
use tokio::sync::mpsc;

/// The voicemail routes.
pub(super) fn routes(r: Routes) -> Routes {
    r.get("/voicemails", list)
        .get("/voicemails/{id}/audio", audio)
        .post("/voicemails/{id}/done", done)
}

/// Whether `path` is a message's audio (the guard takes `?token=` there).
pub(super) fn is_audio_path(path: &str) -> bool {
    path.strip_prefix("/voicemails/")
        .and_then(|rest| rest.strip_suffix("/audio"))
        .is_some_and(|id| !id.is_empty() && !id.contains('/'))
}

/// `GET /voicemails` filters.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    queue: Option<String>,
}

/// The audio route's query: only the token (read by the guard).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AudioQuery {
    #[serde(default)]
    #[allow(dead_code)]
    token: Option<String>,
}

impl From<VoicemailError> for ApiError {
    /// NotFound 404 naming `id`, Forbidden 403, UnknownQueue 400 naming
    /// `queue`, AlreadyDone 409.
    fn from(e: VoicemailError) -> ApiError {
        match e {
            VoicemailError::NotFound(_) => ApiError::NotFound {
                message: e.to_string(),
                field: Some("id".into()),
            },
            VoicemailError::Forbidden(m) => ApiError::Forbidden(m),
            VoicemailError::UnknownQueue(_) => ApiError::bad_field("queue", e.to_string()),
            other => ApiError::Conflict(other.to_string()),
        }
    }
}

fn requester(holder: &Holder) -> Requester {
    match holder {
        Holder::Admin => Requester::Admin,
        Holder::Agent(l) => Requester::Agent(l.clone()),
        Holder::Supervisor(l) => Requester::Supervisor(l.clone()),
    }
}

async fn ask_voicemails(
    tx: &mpsc::Sender<ApiRequest>,
    caller: &Caller,
    cmd: VoicemailCommand,
) -> Result<VoicemailReply, ApiError> {
    let who = requester(&caller.holder);
    match ask(tx, ApiCommand::Voicemails { who, cmd }).await? {
        ApiReply::Voicemails(r) => r.map_err(ApiError::from),
        _ => Err(unexpected()),
    }
}

/// A list as `{"voicemails": [...]}`, one message as an object.
fn respond(r: VoicemailReply) -> Result<Response, ApiError> {
    match r {
        VoicemailReply::List(l) => Ok(Json(serde_json::json!({ "voicemails": l })).into_response()),
        VoicemailReply::One(v) => Ok(Json(*v).into_response()),
        VoicemailReply::Audio { .. } => Err(unexpected()),
    }
}

async fn list(
    State(tx): State<mpsc::Sender<ApiRequest>>,
    Extension(caller): Extension<Caller>,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::BadRequest {
        message: format!("{}: the filters are `state` and `queue`", e.body_text()),
        field: None,
    })?;
    let state = match q.state.as_deref() {
        None => None,
        Some(s) => Some(
            VoicemailState::parse(s)
                .ok_or_else(|| ApiError::bad_field("state", format!("`{s}` is not a state: new, heard or done")))?,
        ),
    };
    let queue = q.queue;
    respond(ask_voicemails(&tx, &caller, VoicemailCommand::List { state, queue }).await?)
}

async fn audio(
    State(tx): State<mpsc::Sender<ApiRequest>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    query: Result<Query<AudioQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    query.map_err(|e| ApiError::BadRequest {
        message: format!("{}: the only parameter is `token`", e.body_text()),
        field: None,
    })?;
    let path = match ask_voicemails(&tx, &caller, VoicemailCommand::Audio { id: id.clone() }).await? {
        VoicemailReply::Audio { path, .. } => path,
        _ => return Err(unexpected()),
    };
    let bytes = match tokio::fs::read(&path).await {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut part = path.clone().into_os_string();
            part.push(".part");
            return Err(if tokio::fs::try_exists(&part).await.unwrap_or(false) {
                ApiError::Conflict("this message is still being written; try again in a moment".into())
            } else {
                tracing::error!(id = %id, file = %path.display(), "voicemail audio missing");
                ApiError::NotFound {
                    message: format!("the audio of message {id} is missing from the recordings directory"),
                    field: Some("id".into()),
                }
            });
        }
        Err(e) => {
            tracing::error!(id = %id, file = %path.display(), error = %e, "voicemail audio not read");
            return Err(ApiError::Internal("the message's audio could not be read".into()));
        }
    };
    // Served: the message is heard (by the first who opened it).
    ask_voicemails(&tx, &caller, VoicemailCommand::Heard { id }).await?;
    let len = bytes.len();
    Ok((
        [
            (header::CONTENT_TYPE, "audio/wav".to_string()),
            (header::CONTENT_LENGTH, len.to_string()),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        bytes,
    )
        .into_response())
}

async fn done(
    State(tx): State<mpsc::Sender<ApiRequest>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    respond(ask_voicemails(&tx, &caller, VoicemailCommand::Done { id }).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audio_paths() {
        assert!(is_audio_path("/voicemails/voicemail-1-2/audio"));
        assert!(!is_audio_path("/voicemails//audio"));
        assert!(!is_audio_path("/voicemails/a/b/audio"));
        assert!(!is_audio_path("/voicemails/voicemail-1-2/done"));
        assert!(!is_audio_path("/voicemails"));
    }
}
