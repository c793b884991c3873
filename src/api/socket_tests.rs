//! The API layer over real loopback sockets with a scripted engine task in
//! place of the driver: what only a real engine with an ACD could reach
//! end to end (a valid token, a CAD-3 conflict, a lagging desktop) is
//! checked here on the API's side: routing of events by principal, the
//! lagged frame, clean closes, 403 on the wrong stream, and how replies
//! and refusals are rendered.

use super::guard::{ApiGuard, Holder, Limits, TokenTable};
use super::listener::ApiListener;
use super::{serve, ApiCommand, ApiReply, ApiRequest};
use crate::engine::desk::{AgentView, DeskCommand, DeskError, DeskEvent, DeskReply, Principal, SupervisorCommand};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;
use tokio::sync::{broadcast, mpsc};
use tungstenite::client::IntoClientRequest;
use tungstenite::Message;

const ALICE: &str = "alice-token-0123";
const SAM: &str = "sam-token-0123456";

fn principal(token: &str) -> Result<Principal, DeskError> {
    match token {
        ALICE => Ok(Principal::Agent("alice".into())),
        SAM => Ok(Principal::Supervisor("sam".into())),
        _ => Err(DeskError::Unauthorized),
    }
}

fn alice() -> AgentView {
    AgentView {
        agent: "alice".into(),
        name: "Alice".into(),
        team: "support".into(),
        extension: "1001".into(),
        state: "Available",
        reason: None,
        pending: None,
        since_ms: 5,
        offers: vec![],
        interaction: None,
        wrap_up_deadline_ms: None,
        idle_reasons: vec!["Lunch".into()],
        wrap_up_reasons: vec![],
    }
}

/// Answers like an engine with one agent and one supervisor.
async fn scripted_engine(mut rx: mpsc::Receiver<ApiRequest>) {
    while let Some((cmd, reply)) = rx.recv().await {
        let answer = match cmd {
            ApiCommand::Desk { token, cmd } => ApiReply::Desk(principal(&token).and_then(|p| match (p, cmd) {
                (Principal::Supervisor(_), _) => Err(DeskError::Forbidden("agents only".into())),
                (_, DeskCommand::Me) => Ok(DeskReply::Agent(alice())),
                (_, DeskCommand::SaveData { version, .. }) => Err(DeskError::DataConflict {
                    base: version,
                    current: version + 1,
                    overwritten: vec![("account".into(), "A-2".into())],
                }),
                (_, DeskCommand::Accept { offer }) => Err(DeskError::NotFound {
                    field: "offer",
                    message: format!("no offer {offer}"),
                }),
                _ => Err(DeskError::Conflict("not now".into())),
            })),
            ApiCommand::Supervise { token, cmd } => ApiReply::Desk(principal(&token).and_then(|p| match (p, cmd) {
                (Principal::Agent(_), _) => Err(DeskError::Forbidden("supervisors only".into())),
                (_, SupervisorCommand::Agents) => Ok(DeskReply::Agents(vec![alice()])),
                _ => Err(DeskError::Conflict("not now".into())),
            })),
            _ => continue,
        };
        let _ = reply.send(answer);
    }
}

/// The API on a free loopback port with the scripted engine.
async fn start(events: &broadcast::Sender<DeskEvent>) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = mpsc::channel(16);
    tokio::spawn(scripted_engine(rx));
    let guard = ApiGuard::new(
        TokenTable::from_pairs([
            (ALICE, Holder::Agent("alice".into())),
            (SAM, Holder::Supervisor("sam".into())),
        ]),
        Limits {
            requests_per_second: 1000,
            streams_per_token: 10,
            allowed_origins: Vec::new(),
            tls: false,
        },
    );
    let listener = ApiListener::start(listener, None, 64).expect("listener");
    tokio::spawn(serve(listener, tx, events.clone(), guard));
    addr
}

/// One blocking HTTP/1.1 request: (status, JSON body).
fn http(addr: SocketAddr, method: &str, path: &str, token: &str, body: &str) -> (u16, serde_json::Value) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer {token}\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .expect("write");
    let mut text = String::new();
    s.read_to_string(&mut text).expect("read");
    let status = text.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    (
        status,
        serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {text}")),
    )
}

type Ws = tungstenite::WebSocket<TcpStream>;

/// Opens a stream with the token in `?token=`; the refusal's status.
fn connect(addr: SocketAddr, path: &str, token: &str) -> Result<Ws, u16> {
    let req = format!("ws://{addr}{path}?token={token}")
        .into_client_request()
        .expect("request");
    let tcp = TcpStream::connect(addr).expect("connect");
    tcp.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
    match tungstenite::client(req, tcp) {
        Ok((ws, _)) => Ok(ws),
        Err(tungstenite::HandshakeError::Failure(tungstenite::Error::Http(r))) => Err(r.status().as_u16()),
        Err(e) => panic!("handshake: {e}"),
    }
}

/// The next text frame as JSON (`None` once closed).
fn next(ws: &mut Ws) -> Option<serde_json::Value> {
    loop {
        match ws.read() {
            Ok(Message::Text(t)) => return Some(serde_json::from_str(t.as_str()).expect("JSON frame")),
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => {}
        }
    }
}

/// Closes from the client: true when the server's close reply ends the
/// stream.
fn close(mut ws: Ws) -> bool {
    if ws.close(None).is_err() {
        return false;
    }
    loop {
        match ws.read() {
            Ok(_) => {}
            Err(tungstenite::Error::ConnectionClosed) => return true,
            Err(_) => return false,
        }
    }
}

fn state_event(agent: &str, at_ms: u64) -> DeskEvent {
    DeskEvent::AgentState {
        agent: agent.into(),
        state: "Available",
        reason: None,
        pending: None,
        at_ms,
    }
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.expect("blocking task")
}

/// spec: AGENT-6, SUP-1 — an agent's stream carries only its own events,
/// a supervisor's everyone's; the wrong stream is 403; a desktop that fell
/// behind is told how many events it missed; the streams close cleanly,
/// from the client or when the switch stops publishing.
#[tokio::test]
async fn streams_route_events_by_principal() {
    let (events, _) = broadcast::channel::<DeskEvent>(4);
    let addr = start(&events).await;
    let refused = blocking(move || {
        (
            connect(addr, "/supervisor/events", ALICE).err(),
            connect(addr, "/agent/events", SAM).err(),
            connect(addr, "/agent/events", "nobody-has-this-token").err(),
        )
    })
    .await;
    assert_eq!(refused, (Some(403), Some(403), Some(401)));

    let (mut agent, mut sup) = blocking(move || {
        (
            connect(addr, "/agent/events", ALICE).expect("alice's stream"),
            connect(addr, "/supervisor/events", SAM).expect("sam's stream"),
        )
    })
    .await;
    // Subscribed before the upgrade answered: nothing sent now is missed.
    events.send(state_event("bob", 1)).expect("subscribers");
    events.send(state_event("alice", 2)).expect("subscribers");
    let (agent_first, sup_frames, mut agent, mut sup) = blocking(move || {
        let a = next(&mut agent);
        let s = [next(&mut sup), next(&mut sup)];
        (a, s, agent, sup)
    })
    .await;
    let agent_first = agent_first.expect("an event");
    assert_eq!(
        (agent_first["type"].as_str(), agent_first["agent"].as_str()),
        (Some("agent_state"), Some("alice"))
    );
    let sup_agents: Vec<_> = sup_frames
        .iter()
        .map(|f| f.as_ref().expect("an event")["agent"].clone())
        .collect();
    assert_eq!(sup_agents, ["bob", "alice"]);

    // Ten events at once overflow the 4-event buffer while the pumps wait
    // for this (single-threaded) runtime: 6 are missed, 4 follow.
    for at in 10..20 {
        events.send(state_event("alice", at)).expect("subscribers");
    }
    let frames = blocking(move || {
        let frames: Vec<_> = (0..5).map(|_| next(&mut agent).expect("a frame")).collect();
        assert!(close(agent), "alice's stream closes cleanly");
        frames
    })
    .await;
    assert_eq!(
        (frames[0]["type"].as_str(), frames[0]["missed"].as_u64()),
        (Some("lagged"), Some(6))
    );
    let ats: Vec<u64> = frames[1..].iter().filter_map(|f| f["at_ms"].as_u64()).collect();
    assert_eq!(ats, [16, 17, 18, 19]);

    // The switch stops publishing: the supervisor's stream is closed.
    drop(events);
    let closed = blocking(move || {
        // Skip what is buffered, then the close ends the stream.
        let mut n = 0;
        while next(&mut sup).is_some() {
            n += 1;
            assert!(n < 100, "the stream never closed");
        }
        true
    })
    .await;
    assert!(closed);
}

/// Replies and refusals through HTTP: an agent view, a list wrapped in
/// `{"agents": [...]}`, 403 for the wrong principal, 404 naming the field,
/// CAD-3's conflict body with the current version and overwritten values.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_and_refusals_are_rendered() {
    let (events, _) = broadcast::channel::<DeskEvent>(4);
    let addr = start(&events).await;
    let results = blocking(move || {
        [
            http(addr, "GET", "/agent/me", ALICE, ""),
            http(addr, "GET", "/supervisor/agents", SAM, ""),
            http(addr, "GET", "/supervisor/agents", ALICE, ""),
            http(addr, "POST", "/agent/offers/9/accept", ALICE, ""),
            http(
                addr,
                "PUT",
                "/agent/interactions/i-1/data",
                ALICE,
                r#"{"version": 3, "values": {"account": "A-1"}}"#,
            ),
            http(addr, "POST", "/agent/logout", ALICE, ""),
        ]
    })
    .await;
    let [me, agents, forbidden, no_offer, conflict, busy] = results;
    assert_eq!(
        (me.0, me.1["agent"].as_str(), me.1["state"].as_str()),
        (200, Some("alice"), Some("Available"))
    );
    assert_eq!(
        (agents.0, agents.1["agents"][0]["agent"].as_str()),
        (200, Some("alice"))
    );
    assert_eq!((forbidden.0, forbidden.1["error"].as_str()), (403, Some("forbidden")));
    assert_eq!(
        (no_offer.0, no_offer.1["error"].as_str(), no_offer.1["field"].as_str()),
        (404, Some("not_found"), Some("offer"))
    );
    assert_eq!(conflict.0, 409);
    assert_eq!(conflict.1["error"], "data_conflict");
    assert_eq!(
        (conflict.1["version"].as_u64(), conflict.1["base"].as_u64()),
        (Some(4), Some(3))
    );
    assert_eq!(conflict.1["overwritten"]["account"], "A-2");
    assert_eq!((busy.0, busy.1["error"].as_str()), (409, Some("conflict")));
}
