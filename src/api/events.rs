//! The desktops' event streams over WebSocket: `GET /agent/events` carries
//! the events of the token's agent (AGENT-6 state changes, OFFER-1..4
//! offers and RONA, CALL-HOLD-1, WRAP-1/2, CAD-3), `GET /supervisor/events`
//! every agent's (SUP-1's live dashboard).
//!
//! The token comes from `Authorization: Bearer` or, since browsers cannot
//! set headers on a WebSocket, from `?token=`; the guard ([`super::guard`])
//! has checked it, the page's origin and the rate before the handler runs.
//! An agent's token on the supervisor stream and the other way round get
//! 403; a token holding `max_streams_per_token` streams gets 429. Messages
//! the client sends count against the token's request rate: over it, the
//! stream is closed with 1008 (policy violation).
//!
//! Each [`DeskEvent`] is one JSON text frame with a `type` tag. The driver
//! publishes events on a broadcast channel; a desktop too slow to keep up
//! gets `{"type": "lagged", "missed": n}` and then the newest events (it
//! should re-read `/agent/me`). Client frames other than close are
//! ignored (but counted); pings are answered by the WebSocket layer.

use super::error::ApiError;
use super::guard::{ApiGuard, Caller, Holder, StreamPermit};
use super::{AppState, Routes};
use crate::engine::desk::DeskEvent;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Extension, State};
use axum::response::Response;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;

/// How often the switch pings each stream: a desktop gone without a close
/// is noticed, NATs keep the connection, and a live stream is never idle.
const PING_INTERVAL: std::time::Duration = std::time::Duration::from_secs(30);

/// The largest frame a desktop may send (they are ignored anyway).
const CLIENT_FRAME_LIMIT: usize = 16 * 1024;

/// The event stream routes.
pub(super) fn routes(r: Routes) -> Routes {
    r.get("/agent/events", agent_events)
        .get("/supervisor/events", supervisor_events)
}

/// Which events a stream carries.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Audience {
    /// One agent's, by login.
    Agent(String),
    /// Everyone's.
    Supervisor,
}

impl Audience {
    fn wants(&self, ev: &DeskEvent) -> bool {
        match self {
            Audience::Agent(login) => ev.agent() == login,
            Audience::Supervisor => ev.for_supervisors(),
        }
    }
}

/// Checks the stream count, subscribes, then upgrades.
fn upgrade(
    st: &AppState,
    caller: Caller,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
    audience: Audience,
) -> Result<Response, ApiError> {
    let ws = ws
        .map_err(|e| ApiError::Other {
            status: e.status(),
            message: e.body_text(),
        })?
        // Client frames are ignored: no reason to buffer big ones.
        .max_message_size(CLIENT_FRAME_LIMIT)
        .max_frame_size(CLIENT_FRAME_LIMIT);
    let permit = st.guard.open_stream(&caller)?;
    // Subscribe before answering, so nothing after the 101 is missed.
    let rx = st.events.upgrade().ok_or(ApiError::Unavailable)?.subscribe();
    let guard = st.guard.clone();
    Ok(ws.on_upgrade(move |socket| {
        pump(
            socket,
            rx,
            audience,
            Client {
                guard,
                caller,
                _permit: permit,
            },
        )
    }))
}

async fn agent_events(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    match caller.holder.clone() {
        Holder::Agent(login) => upgrade(&st, caller, ws, Audience::Agent(login)),
        _ => Err(ApiError::Forbidden(
            "a supervisor's stream is /supervisor/events".into(),
        )),
    }
}

async fn supervisor_events(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    match caller.holder {
        Holder::Supervisor(_) => upgrade(&st, caller, ws, Audience::Supervisor),
        _ => Err(ApiError::Forbidden("only supervisors may watch every agent".into())),
    }
}

/// The stream's client: its token's limits and its place among the
/// token's streams (freed when the stream ends).
struct Client {
    guard: Arc<ApiGuard>,
    caller: Caller,
    _permit: StreamPermit,
}

/// The frame for one event, `None` when the audience does not get it.
fn frame(audience: &Audience, ev: &DeskEvent) -> Option<String> {
    if !audience.wants(ev) {
        return None;
    }
    match serde_json::to_string(ev) {
        Ok(text) => Some(text),
        Err(e) => {
            tracing::error!(error = %e, "desk event not serializable");
            None
        }
    }
}

/// The frame telling a slow desktop it missed `n` events.
fn lagged(n: u64) -> String {
    serde_json::json!({ "type": "lagged", "missed": n }).to_string()
}

/// Forwards the audience's events until either side closes.
async fn pump(mut socket: WebSocket, mut rx: broadcast::Receiver<DeskEvent>, audience: Audience, client: Client) {
    let mut ping = tokio::time::interval(PING_INTERVAL);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ping.tick().await;
    loop {
        tokio::select! {
            _ = ping.tick() => {
                if socket.send(Message::Ping(Vec::new().into())).await.is_err() {
                    break;
                }
            }
            ev = rx.recv() => {
                let text = match ev {
                    Ok(ev) => match frame(&audience, &ev) {
                        Some(text) => text,
                        None => continue,
                    },
                    Err(RecvError::Lagged(n)) => lagged(n),
                    Err(RecvError::Closed) => {
                        // The switch is stopping.
                        let _ = socket.send(Message::Close(None)).await;
                        break;
                    }
                };
                if socket.send(Message::Text(text.into())).await.is_err() {
                    break;
                }
            }
            msg = socket.recv() => match msg {
                // After a close, keep reading: the WebSocket layer sends the
                // close reply and then ends the stream.
                Some(Ok(Message::Close(_) | Message::Pong(_))) => {}
                Some(Ok(_)) => {
                    if let Err(e) = client.guard.take(&client.caller, Instant::now()) {
                        let close = CloseFrame { code: 1008, reason: e.to_string().into() };
                        let _ = socket.send(Message::Close(Some(close))).await;
                    }
                }
                Some(Err(_)) | None => break,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(agent: &str) -> DeskEvent {
        DeskEvent::AgentState {
            agent: agent.into(),
            state: "Available",
            reason: None,
            pending: None,
            at_ms: 1,
        }
    }

    /// spec: AGENT-6 — an agent's stream carries its own events, a
    /// supervisor's everyone's; each is a JSON object with a `type`.
    #[test]
    fn audiences() {
        let alice = Audience::Agent("alice".into());
        let text = frame(&alice, &state("alice")).expect("alice's own event");
        let v: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        assert_eq!(v["type"], "agent_state");
        assert_eq!(v["agent"], "alice");
        assert!(frame(&alice, &state("bob")).is_none());
        assert!(frame(&Audience::Supervisor, &state("bob")).is_some());
        let v: serde_json::Value = serde_json::from_str(&lagged(7)).expect("JSON");
        assert_eq!((v["type"].as_str(), v["missed"].as_u64()), (Some("lagged"), Some(7)));
    }

    /// Issue 14 item 5 — an agent's copy of a voicemail event goes to that
    /// agent only (its number may be masked), the supervisors' copy (no
    /// agent) to supervisors only.
    #[test]
    fn voicemail_copies() {
        let done = |agent: &str| DeskEvent::VoicemailDone {
            agent: agent.into(),
            id: "voicemail-1-2".into(),
            queue: Some("sales".into()),
            user: None,
            by: "carol".into(),
            at_ms: 1,
        };
        let alice = Audience::Agent("alice".into());
        assert!(frame(&alice, &done("alice")).is_some());
        assert!(frame(&alice, &done("")).is_none());
        assert!(frame(&alice, &done("bob")).is_none());
        assert!(frame(&Audience::Supervisor, &done("alice")).is_none());
        let v: serde_json::Value =
            serde_json::from_str(&frame(&Audience::Supervisor, &done("")).expect("supervisors' copy")).expect("JSON");
        assert_eq!(
            (v["type"].as_str(), v["by"].as_str()),
            (Some("voicemail_done"), Some("carol"))
        );
    }
}
