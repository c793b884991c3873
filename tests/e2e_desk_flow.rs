//! End-to-end: agent and supervisor desktops against the real engine
//! (issue 4 items 4 and 5), on the embedded config's agents (`alice`,
//! `bob`, `carol` on 1001–1003) and supervisor (`sam`) from
//! `sip-profiles/acd.toml`: logging in and changing state with each change
//! on the agent's WebSocket stream, streams carrying only their own
//! agent's events, the supervisor's dashboard and forced states, and the
//! engine's refusals (403 for the wrong principal, 404 naming the field,
//! 409 for a state that forbids the action).
//!
//! These need the engine's side of `engine::desk` (token resolution, the
//! ACD wired) and the demo tokens of `acd.toml`; the API's own transport
//! rules are in `e2e_desk_api.rs`.

mod common;

use common::desk::*;
use common::*;
use serde_json::Value;
use std::time::Duration;

/// How long an event may take to reach a stream.
const EVENT: Duration = Duration::from_secs(5);

/// The next `agent_state` event of `agent` on `ws`.
fn next_state(ws: &mut Stream, agent: &str) -> Value {
    ws_wait_for(ws, EVENT, |v| v["type"] == "agent_state" && v["agent"] == agent)
        .unwrap_or_else(|| panic!("no agent_state event for {agent}"))
}

/// spec: AGENT-1, AGENT-6 — an agent logs in (Available by default),
/// goes Idle with a configured reason, back to Available, and logs out;
/// each answer is the agent's view and each change is an `agent_state`
/// event with its reason and time on the agent's stream.
#[test]
fn agent_logs_in_and_each_state_change_is_on_its_stream() {
    let sw = Switch::start();
    let desk = Desk::new(sw.api_addr(), ALICE);
    let mut ws = ws_connect(sw.api_addr(), "/agent/events", WsAuth::Header(ALICE)).expect("alice's stream");

    let me = desk.ok("GET", "/agent/me", None);
    assert_eq!(
        (me["agent"].as_str(), me["extension"].as_str()),
        (Some("alice"), Some("1001")),
        "{me}"
    );
    assert_eq!(me["state"], "LoggedOut", "{me}");
    // AGENT-1: the configured idle reasons, for the desktop's selector.
    assert_eq!(
        me["idle_reasons"],
        serde_json::json!(["Lunch", "Meeting", "Training"]),
        "{me}"
    );
    assert_eq!(me["wrap_up_reasons"], serde_json::json!([]), "{me}");

    let me = desk.ok("POST", "/agent/login", None);
    assert_eq!(me["state"], "Available", "{me}");
    let ev = next_state(&mut ws, "alice");
    assert_eq!(ev["state"], "Available", "{ev}");
    assert!(ev["at_ms"].as_u64().is_some_and(|t| t > 0), "{ev}");

    let me = desk.ok("POST", "/agent/state", Some(r#"{"state": "idle", "reason": "Lunch"}"#));
    assert_eq!(
        (me["state"].as_str(), me["reason"].as_str()),
        (Some("Idle"), Some("Lunch")),
        "{me}"
    );
    let ev = next_state(&mut ws, "alice");
    assert_eq!(
        (ev["state"].as_str(), ev["reason"].as_str()),
        (Some("Idle"), Some("Lunch")),
        "{ev}"
    );
    assert_eq!(desk.ok("GET", "/agent/me", None)["state"], "Idle");

    let me = desk.ok("POST", "/agent/state", Some(r#"{"state": "available"}"#));
    assert_eq!(me["state"], "Available", "{me}");
    assert_eq!(next_state(&mut ws, "alice")["state"], "Available");

    let me = desk.ok("POST", "/agent/logout", None);
    assert_eq!(me["state"], "LoggedOut", "{me}");
    assert_eq!(next_state(&mut ws, "alice")["state"], "LoggedOut");
    assert!(ws_close(ws), "the stream closes cleanly");
}

/// spec: AGENT-1 — idle reasons are configured: an unknown one is a 400
/// naming `reason`; logging in straight into Idle with a known one works.
#[test]
fn idle_needs_a_configured_reason() {
    let sw = Switch::start();
    let desk = Desk::new(sw.api_addr(), CAROL);
    let (status, json) = desk.post("/agent/login", Some(r#"{"state": "idle", "reason": "Napping"}"#));
    assert_eq!((status, json["field"].as_str()), (400, Some("reason")), "{json}");
    let me = desk.ok(
        "POST",
        "/agent/login",
        Some(r#"{"state": "idle", "reason": "Training"}"#),
    );
    assert_eq!(
        (me["state"].as_str(), me["reason"].as_str()),
        (Some("Idle"), Some("Training")),
        "{me}"
    );
    let (status, json) = desk.post("/agent/state", Some(r#"{"state": "idle", "reason": "Napping"}"#));
    assert_eq!((status, json["field"].as_str()), (400, Some("reason")), "{json}");
}

/// spec: AGENT-6, SUP-1 — an agent's stream (token in `?token=`, as a
/// browser opens it) carries only that agent's events; a supervisor's
/// stream carries every agent's.
#[test]
fn streams_carry_their_own_agents_events() {
    let sw = Switch::start();
    let api = sw.api_addr();
    let mut alice_ws = ws_connect(api, "/agent/events", WsAuth::Query(ALICE)).expect("alice's stream");
    let mut sam_ws = ws_connect(api, "/supervisor/events", WsAuth::Header(SAM)).expect("sam's stream");
    Desk::new(api, BOB).ok("POST", "/agent/login", None);
    Desk::new(api, ALICE).ok("POST", "/agent/login", None);
    let first = ws_next(&mut alice_ws, EVENT).expect("an event on alice's stream");
    assert_eq!(
        (first["type"].as_str(), first["agent"].as_str()),
        (Some("agent_state"), Some("alice")),
        "{first}"
    );
    assert_eq!(next_state(&mut sam_ws, "bob")["state"], "Available");
    assert_eq!(next_state(&mut sam_ws, "alice")["state"], "Available");
}

/// spec: SUP-1 — the supervisor lists agents with their states and live
/// interactions, and forces an agent's state (the agent's stream shows
/// it); an unknown agent is 404 naming `agent`.
#[test]
fn supervisor_lists_agents_and_forces_states() {
    let sw = Switch::start();
    let api = sw.api_addr();
    let sam = Desk::new(api, SAM);
    let agents = sam.ok("GET", "/supervisor/agents", None);
    let logins: Vec<&str> = agents["agents"]
        .as_array()
        .unwrap_or_else(|| panic!("an agents list: {agents}"))
        .iter()
        .filter_map(|a| a["agent"].as_str())
        .collect();
    for a in ["alice", "bob", "carol"] {
        assert!(logins.contains(&a), "{a} listed: {agents}");
    }
    assert!(agents["agents"]
        .as_array()
        .is_some_and(|l| l.iter().all(|a| a["state"] == "LoggedOut")));
    let interactions = sam.ok("GET", "/supervisor/interactions", None);
    assert_eq!(
        interactions["interactions"].as_array().map(Vec::len),
        Some(0),
        "{interactions}"
    );

    let mut bob_ws = ws_connect(api, "/agent/events", WsAuth::Header(BOB)).expect("bob's stream");
    Desk::new(api, BOB).ok("POST", "/agent/login", None);
    assert_eq!(next_state(&mut bob_ws, "bob")["state"], "Available");
    let bob = sam.ok(
        "POST",
        "/supervisor/agents/bob/state",
        Some(r#"{"state": "idle", "reason": "Meeting"}"#),
    );
    assert_eq!(
        (bob["state"].as_str(), bob["reason"].as_str()),
        (Some("Idle"), Some("Meeting")),
        "{bob}"
    );
    let ev = next_state(&mut bob_ws, "bob");
    assert_eq!(
        (ev["state"].as_str(), ev["reason"].as_str()),
        (Some("Idle"), Some("Meeting")),
        "{ev}"
    );
    let listed = sam.ok("GET", "/supervisor/agents", None);
    let bob_listed = listed["agents"]
        .as_array()
        .and_then(|l| l.iter().find(|a| a["agent"] == "bob"))
        .cloned()
        .unwrap_or_else(|| panic!("bob listed: {listed}"));
    assert_eq!(bob_listed["state"], "Idle");
    let bob = sam.ok(
        "POST",
        "/supervisor/agents/bob/state",
        Some(r#"{"state": "logged_out"}"#),
    );
    assert_eq!(bob["state"], "LoggedOut", "{bob}");
    assert_eq!(next_state(&mut bob_ws, "bob")["state"], "LoggedOut");

    let (status, json) = sam.post("/supervisor/agents/zed/state", Some(r#"{"state": "available"}"#));
    assert_eq!((status, json["field"].as_str()), (404, Some("agent")), "{json}");
}

/// Agents and supervisors keep to their own routes and streams (403).
#[test]
fn principals_keep_to_their_routes() {
    let sw = Switch::start();
    let api = sw.api_addr();
    let (status, json) = Desk::new(api, ALICE).get("/supervisor/agents");
    assert_eq!((status, json["error"].as_str()), (403, Some("forbidden")), "{json}");
    let (status, json) = Desk::new(api, SAM).get("/agent/me");
    assert_eq!((status, json["error"].as_str()), (403, Some("forbidden")), "{json}");
    let refused = ws_connect(api, "/supervisor/events", WsAuth::Header(ALICE)).err();
    assert_eq!(refused.map(|(s, _)| s), Some(403));
    let refused = ws_connect(api, "/agent/events", WsAuth::Query(SAM)).err();
    assert_eq!(refused.map(|(s, _)| s), Some(403));
}

/// Unknown offers and interactions are 404 naming the field; actions the
/// state forbids are 409 (no wrap-up to submit or extend, WRAP-1/2).
#[test]
fn unknown_ids_are_404_and_forbidden_states_409() {
    let sw = Switch::start();
    let desk = Desk::new(sw.api_addr(), ALICE);
    desk.ok("POST", "/agent/login", None);
    let list = desk.ok("GET", "/agent/interactions", None);
    assert_eq!(list["interactions"].as_array().map(Vec::len), Some(0), "{list}");
    for (method, path, field) in [
        ("POST", "/agent/offers/999999/accept", "offer"),
        ("POST", "/agent/offers/999999/decline", "offer"),
        ("POST", "/agent/interactions/no-such/hold", "interaction"),
        ("POST", "/agent/interactions/no-such/end", "interaction"),
        ("GET", "/agent/interactions/no-such/data", "interaction"),
        ("POST", "/agent/interactions/no-such/data/revert", "interaction"),
    ] {
        let (status, json) = desk.call(method, path, None);
        assert_eq!(
            (status, json["field"].as_str()),
            (404, Some(field)),
            "{method} {path}: {json}"
        );
    }
    let (status, json) = desk.post("/agent/wrapup", Some(r#"{"reasons": ["Resolved"]}"#));
    assert_eq!((status, json["error"].as_str()), (409, Some("conflict")), "{json}");
    let (status, json) = desk.post("/agent/wrapup/extend", Some(r#"{"seconds": 30}"#));
    assert_eq!((status, json["error"].as_str()), (409, Some("conflict")), "{json}");
}

/// spec: AGENT-6, HIST-3 — the store survives a crash: alice logged in and
/// a caller waiting in `support` when the switch is killed (SIGKILL); the
/// next start logs alice out (audit row `LoggedOut`, reason `restart`),
/// marks the waiting interaction `Interrupted`, and her desk says
/// `LoggedOut`.
#[test]
fn a_crash_logs_agents_out_and_interrupts_open_interactions() {
    use switchboard::store::{InteractionOutcome, Store};
    let data = tempfile::tempdir().expect("data dir");
    let sw = Switch::builder().data_dir(data.path()).start();
    let desk = Desk::new(sw.api_addr(), ALICE);
    desk.ok("POST", "/agent/login", None);
    // A trunk call into the queue (the external profile trusts 127.0.0.1).
    // alice's phone is not registered: her offer fails (Idle(RONA)) and the
    // caller keeps waiting.
    let mut caller = ua::Ua::udp(sw.external_addr());
    let invite = caller.invite("5551234", "5000");
    caller.send(&invite);
    let sup = Desk::new(sw.api_addr(), SAM);
    assert!(
        wait_until(Duration::from_secs(10), || {
            let (code, v) = sup.get("/supervisor/interactions");
            code == 200 && v["interactions"].as_array().is_some_and(|a| a.len() == 1)
        }),
        "the caller waits in the queue"
    );
    let db = data.path().join("switchboard.sqlite");
    assert!(
        wait_until(Duration::from_secs(10), || Store::open_reader(&db)
            .and_then(|s| s.list_interactions(0, 10))
            .is_ok_and(|i| i.len() == 1)),
        "the open interaction is stored"
    );
    let killed = std::process::Command::new("kill")
        .args(["-KILL", &sw.pid().to_string()])
        .status()
        .expect("kill(1)");
    assert!(killed.success());
    drop(sw);

    let sw = Switch::builder().data_dir(data.path()).start();
    let me = Desk::new(sw.api_addr(), ALICE).ok("GET", "/agent/me", None);
    assert_eq!(me["state"], "LoggedOut", "{me}");
    let store = Store::open_reader(&db).expect("store");
    let interactions = store.list_interactions(0, 10).expect("interactions");
    assert_eq!(interactions.len(), 1, "{interactions:?}");
    assert_eq!(interactions[0].outcome, Some(InteractionOutcome::Interrupted));
    assert_eq!(interactions[0].queue, "support");
    let audit = store.list_agent_audit("alice").expect("audit");
    let states: Vec<&str> = audit.iter().map(|a| a.state.as_str()).collect();
    assert_eq!(states.first(), Some(&"Available"), "{audit:?}");
    let last = audit.last().expect("audit rows");
    assert_eq!(
        (last.state.as_str(), last.reason.as_deref()),
        ("LoggedOut", Some(switchboard::store::RESTART_REASON)),
        "{audit:?}"
    );
}
