//! End to end: trunks that fail over (issue 10 item 5). The real
//! `switchboard` binary with two trunks, each a SIPp UAS on loopback
//! (tests/sipp/trunk_uas_failover.xml) answering the OPTIONS keepalive
//! (RFC 3261 §11) and calls; a phone's calls go out by the dial-plan list
//! `trunks = ["first", "second"]`.
//!
//! The first trunk carries the first call; then its SIPp is killed, so it
//! answers neither OPTIONS nor INVITEs. The next call gets no response from
//! it and fails over to the second trunk after `failover_timeout_ms`; once
//! the keepalive has missed `down_after` answers (Timer F, §17.1.2.2, made
//! short with `t1_ms = 50`), `GET /trunks` shows the first trunk down, the
//! log says so, and calls go straight to the second trunk.

mod common;

use common::*;
use serde_json::Value;
use std::time::Duration;

const T: Duration = Duration::from_secs(20);
/// `failover_timeout_ms` of the first trunk.
const FAILOVER_MS: u64 = 1000;

fn trunks_toml(first: u16, second: u16) -> String {
    format!(
        r#"[[trunk]]
name = "demo"
address = "127.0.0.1:5090"
inbound_from = ["127.0.0.1"]
context = "external"

[[trunk]]
name = "first"
address = "127.0.0.1:{first}"
options_interval_s = 1
down_after = 2
up_after = 1
failover_timeout_ms = {FAILOVER_MS}

[[trunk]]
name = "second"
address = "127.0.0.1:{second}"
options_interval_s = 1
"#
    )
}

/// A UAS for one trunk on `port`, answering OPTIONS and calls until killed.
fn spawn_trunk(port: u16) -> SippHandle {
    let mut h = Sipp::new("trunk_uas_failover.xml")
        .local_port(port)
        .calls(10_000)
        .spawn(Duration::from_secs(120));
    h.wait_ready(Duration::from_secs(5));
    h
}

/// A call from phone 1001 to 5551234 (the outbound rule), hung up by the
/// phone after 200 ms.
fn place_call(sw: &Switch) {
    Sipp::new("uac_call_auth.xml")
        .remote(sw.internal_addr())
        .phone("1001", "demo-1001")
        .service("5551234")
        .pause_ms(200)
        .run(T)
        .assert_success();
}

fn trunk<'a>(list: &'a Value, name: &str) -> &'a Value {
    list["trunks"]
        .as_array()
        .and_then(|a| a.iter().find(|t| t["name"] == name))
        .unwrap_or_else(|| panic!("no trunk {name} in {list}"))
}

/// How long the call of `cdr` took from INVITE to answer.
fn setup_ms(cdr: &Value) -> u64 {
    let start = cdr["start_ms"].as_u64().unwrap_or_else(|| panic!("start_ms in {cdr}"));
    let answer = cdr["answer_ms"]
        .as_u64()
        .unwrap_or_else(|| panic!("answer_ms in {cdr}"));
    answer - start
}

#[test]
fn trunk_failover_when_the_first_trunk_stops_answering() {
    let (p1, p2) = (free_port(), free_port());
    let cfg = ConfigDir::from_default();
    cfg.write("trunks.toml", &trunks_toml(p1, p2));
    cfg.patch("dialplan.toml", "trunk = \"demo\"", "trunks = [\"first\", \"second\"]");
    cfg.patch("switchboard.toml", "t1_ms = 500", "t1_ms = 50");
    let first = spawn_trunk(p1);
    let second = spawn_trunk(p2);
    let sw = Switch::start_with(Some(cfg.path()), &[]);

    // Both up, and the keepalive answered by both.
    let both_checked = wait_until(Duration::from_secs(10), || {
        let (_, list) = sw.http("GET", "/trunks");
        ["first", "second"]
            .iter()
            .all(|n| trunk(&list, n)["last_check_ms"].is_u64() && trunk(&list, n)["state"] == "up")
    });
    assert!(
        both_checked,
        "both trunks probed and up: {}",
        sw.http("GET", "/trunks").1
    );

    // 1. The first trunk carries the call.
    place_call(&sw);
    let cdrs = sw.wait_for_cdrs(1, T);
    assert_eq!(cdrs[0]["route"], "trunk:first", "{}", cdrs[0]);

    // 2. The first trunk dies. The keepalive has not noticed yet (two
    //    misses take two Timer F, 2 x 3.2 s): the call tries it, hears
    //    nothing and fails over to the second trunk.
    let dead = first.stop();
    assert!(!dead.message_log.is_empty(), "the first trunk saw traffic");
    place_call(&sw);
    let cdrs = sw.wait_for_cdrs(2, T);
    assert_eq!(cdrs[1]["route"], "trunk:second", "{}", cdrs[1]);
    assert!(
        setup_ms(&cdrs[1]) >= FAILOVER_MS,
        "the answer came after the failover timeout: {}",
        cdrs[1]
    );

    // 3. The keepalive marks the first trunk down, in the API and the log.
    let down = wait_until(Duration::from_secs(15), || {
        trunk(&sw.http("GET", "/trunks").1, "first")["state"] == "down"
    });
    let (status, list) = sw.http("GET", "/trunks");
    assert!(down, "first trunk down: {list}");
    assert_eq!(status, 200);
    assert!(
        trunk(&list, "first")["consecutive_misses"].as_u64() >= Some(2),
        "{list}"
    );
    assert!(trunk(&list, "first")["last_change_ms"].is_u64(), "{list}");
    assert_eq!(trunk(&list, "second")["state"], "up", "{list}");
    assert_eq!(trunk(&list, "demo")["keepalive"], false, "{list}");
    assert!(
        sw.wait_for_log("trunk first is down: 2 OPTIONS unanswered", Duration::from_secs(5)),
        "the transition is logged"
    );

    // 4. Calls now go straight to the second trunk: no failover wait.
    place_call(&sw);
    let cdrs = sw.wait_for_cdrs(3, T);
    assert_eq!(cdrs[2]["route"], "trunk:second", "{}", cdrs[2]);
    assert!(
        setup_ms(&cdrs[2]) < FAILOVER_MS / 2,
        "no attempt on the down trunk: {}",
        cdrs[2]
    );
    let second = second.stop();
    assert!(
        second.message_log.matches("INVITE sip:5551234@").count() >= 2,
        "the second trunk took two calls:\n{}",
        second.message_log
    );
}
