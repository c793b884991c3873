//! End-to-end: the supervisor's live queue numbers and the statistics API
//! (issue 13 items 2 and 3) on the real switch: a SIPp customer calls the
//! `support` queue (5000) while no agent is logged in, waits 3 s and hangs
//! up. The supervisor's stream shows the call waiting and gone (`queue`
//! events) and today's figures changing (`queue_stats`);
//! `GET /supervisor/queues` shows the waiting call; the statistics routes
//! count a short abandon; bad requests are 400 naming their field, an
//! agent's token 403. The exact figures of a whole scripted day are checked
//! in virtual time (`tests/engine/stats_day.rs`).

mod common;

use common::desk::*;
use common::*;
use serde_json::Value;
use std::time::Duration;

/// How long an event may take to reach a stream.
const EVENT: Duration = Duration::from_secs(15);
/// Bound of the SIPp run.
const T: Duration = Duration::from_secs(30);

/// The `support` entry of a `{"queues": [...]}` answer.
fn support(list: &Value) -> Value {
    list["queues"]
        .as_array()
        .and_then(|qs| qs.iter().find(|q| q["queue"] == "support"))
        .cloned()
        .unwrap_or_else(|| panic!("no support queue in {list}"))
}

#[test]
fn a_waiting_caller_shows_live_and_its_abandon_counts_in_todays_statistics() {
    let sw = Switch::start();
    let api = sw.api_addr();
    let sam = Desk::new(api, SAM);
    let mut ws = ws_connect(api, "/supervisor/events", WsAuth::Header(SAM)).expect("sam's stream");

    let before = support(&sam.ok("GET", "/supervisor/queues", None));
    assert_eq!(
        (before["waiting"].as_u64(), before["today"]["offered"].as_u64()),
        (Some(0), Some(0)),
        "{before}"
    );
    assert_eq!(before["oldest_waiting_since"], Value::Null, "{before}");
    let members: u64 = before["agents"]
        .as_object()
        .expect("agents by state")
        .values()
        .filter_map(Value::as_u64)
        .sum();
    assert!(
        members > 0 && before["agents"]["LoggedOut"].as_u64() == Some(members),
        "all logged out: {before}"
    );

    // A customer calls while nobody is logged in, waits 3 s, hangs up.
    let caller = Sipp::new("uac_queue_caller_abandon.xml")
        .remote(sw.external_addr())
        .service("5000")
        .pause_ms(3_000)
        .spawn(T);
    let waiting = ws_wait_for(&mut ws, EVENT, |v| {
        v["type"] == "queue" && v["queue"] == "support" && v["waiting"] == 1
    })
    .expect("a queue event: one call waits in support");
    assert!(waiting["oldest_waiting_since"].as_u64().is_some(), "{waiting}");
    assert_eq!(waiting["agents"]["LoggedOut"].as_u64(), Some(members), "{waiting}");
    let now = support(&sam.ok("GET", "/supervisor/queues", None));
    assert_eq!(now["waiting"].as_u64(), Some(1), "{now}");
    assert_eq!(now["oldest_waiting_since"], waiting["oldest_waiting_since"], "{now}");
    assert_eq!(
        now["today"]["offered"].as_u64(),
        Some(1),
        "the waiting call is offered: {now}"
    );
    assert_eq!(now["today"]["abandoned"].as_u64(), Some(0), "{now}");

    caller.wait().assert_success();
    ws_wait_for(&mut ws, EVENT, |v| {
        v["type"] == "queue" && v["queue"] == "support" && v["waiting"] == 0
    })
    .expect("a queue event: nobody waits any more");
    let stats = ws_wait_for(&mut ws, EVENT, |v| {
        v["type"] == "queue_stats" && v["queue"] == "support" && v["today"]["abandoned"] == 1
    })
    .expect("a queue_stats event with the abandon");
    let today = &stats["today"];
    assert_eq!(
        (
            today["offered"].as_u64(),
            today["abandoned_short"].as_u64(),
            today["answered"].as_u64()
        ),
        (Some(1), Some(1), Some(0)),
        "3 s is a short abandon: {stats}"
    );
    assert_eq!(today["service_level"], Value::Null, "nothing to judge: {stats}");
    assert!(
        today["longest_wait_s"]
            .as_f64()
            .is_some_and(|w| (3.0..5.0).contains(&w)),
        "{stats}"
    );

    // An agent's day, live: alice logs in, her figures follow.
    Desk::new(api, ALICE).ok("POST", "/agent/login", None);
    let alice = ws_wait_for(&mut ws, EVENT, |v| {
        v["type"] == "agent_stats" && v["agent"] == "alice" && v["today"]["state_s"]["Available"].as_f64() > Some(0.0)
    })
    .expect("an agent_stats event: alice is Available");
    assert_eq!(alice["today"]["handled"].as_u64(), Some(0), "{alice}");
    assert_eq!(
        alice["today"]["occupancy"].as_f64(),
        Some(0.0),
        "ready, not working: {alice}"
    );

    let report = sam.ok("GET", "/supervisor/stats/queues?interval=1d", None);
    assert_eq!(report["interval"], "1d", "{report}");
    let day = &support(&report)["intervals"][0];
    assert_eq!(
        (
            day["offered"].as_u64(),
            day["abandoned"].as_u64(),
            day["abandoned_short"].as_u64()
        ),
        (Some(1), Some(1), Some(1)),
        "{report}"
    );
    assert_eq!(day["threshold_s"].as_u64(), Some(20), "the default threshold: {report}");
    let quarters = sam.ok("GET", "/supervisor/stats/queues", None);
    assert_eq!(
        support(&quarters)["intervals"].as_array().map(Vec::len),
        Some(96),
        "a day of 15 minutes"
    );
    let agents = sam.ok("GET", "/supervisor/stats/agents?interval=1d", None);
    let listed: Vec<&str> = agents["agents"]
        .as_array()
        .expect("agents")
        .iter()
        .filter_map(|a| a["agent"].as_str())
        .collect();
    assert!(listed.contains(&"alice"), "{agents}");

    // Bad requests name their field; agents may not read statistics.
    let (status, body) = sam.get("/supervisor/stats/queues?interval=1h");
    assert_eq!((status, body["field"].as_str()), (400, Some("interval")), "{body}");
    let (status, body) = sam.get("/supervisor/stats/agents?from=2026-12-07&to=2026-12-06");
    assert_eq!((status, body["field"].as_str()), (400, Some("to")), "{body}");
    let (status, body) = Desk::new(api, ALICE).get("/supervisor/stats/queues");
    assert_eq!(status, 403, "{body}");
}
