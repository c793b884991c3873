//! End-to-end: the agent desktop and supervisor API's transport rules
//! (issue 4 items 4 and 5) on the real switch over loopback sockets —
//! bearer tokens required (401), malformed requests refused with a 400
//! naming the field, oversized bodies with 413, every error as JSON, the
//! OpenAPI document served, and WebSocket streams refusing bad tokens
//! before the upgrade.
//!
//! None of this needs the engine to know the token: the shape of a request
//! is checked before the engine resolves it (see `src/api/mod.rs`). The
//! behaviour behind a valid token is in `e2e_desk_flow.rs`.

mod common;

use common::desk::*;
use common::*;
use serde_json::Value;

/// The `error`, `message` and `field` of an error body, checking its shape.
fn error_of(json: &Value) -> (&str, Option<&str>) {
    assert!(json["message"].is_string(), "a message: {json}");
    (json["error"].as_str().expect("an error kind"), json["field"].as_str())
}

/// spec: SUP-1, AGENT-1 — the desktop routes need `Authorization: Bearer`:
/// none, a non-Bearer one, or an unknown token are 401 JSON with
/// `WWW-Authenticate: Bearer`.
#[test]
fn desktop_routes_need_a_bearer_token() {
    let sw = Switch::start();
    let api = sw.api_addr();
    let routes = [
        ("GET", "/agent/me", None),
        ("POST", "/agent/login", Some("{}")),
        ("POST", "/agent/logout", None),
        ("POST", "/agent/state", Some(r#"{"state": "available"}"#)),
        ("POST", "/agent/offers/1/accept", None),
        ("GET", "/agent/interactions", None),
        ("GET", "/agent/interactions/i-1/data", None),
        ("POST", "/agent/wrapup", Some(r#"{"reasons": ["Resolved"]}"#)),
        ("GET", "/supervisor/agents", None),
        ("GET", "/supervisor/interactions", None),
        ("POST", "/supervisor/interactions/i-1/monitor", None),
        (
            "POST",
            "/supervisor/interactions/i-1/assign",
            Some(r#"{"agent": "bob"}"#),
        ),
    ];
    for (method, path, body) in routes {
        for auth in [
            None,
            Some("Basic YWxpY2U6eA=="),
            Some("Bearer not-a-known-token-at-all"),
        ] {
            let headers: Vec<(&str, &str)> = auth.map(|a| ("Authorization", a)).into_iter().collect();
            let r = http(api, method, path, &headers, body.map(str::as_bytes));
            assert_eq!(r.status, 401, "{method} {path} with {auth:?}: {}", r.text());
            assert_eq!(r.header("www-authenticate"), Some("Bearer"), "{method} {path}");
            assert_eq!(error_of(&r.json()).0, "unauthorized", "{method} {path}");
        }
    }
}

/// Malformed bodies and path ids are 400 naming the offending field: wrong
/// types, unknown fields, missing fields, values out of the allowed set,
/// broken JSON (spec: AGENT-1 states, WRAP-1/2 bodies, CAD-3 saves).
#[test]
fn malformed_requests_are_400_naming_the_field() {
    let sw = Switch::start();
    let desk = Desk::new(sw.api_addr(), ALICE);
    let cases: &[(&str, &str, Option<&str>, Option<&str>)] = &[
        ("POST", "/agent/state", Some(r#"{"state": "sleeping"}"#), Some("state")),
        ("POST", "/agent/state", Some(r#"{"state": "idle"}"#), Some("reason")),
        (
            "POST",
            "/agent/state",
            Some(r#"{"state": "available", "reason": "Lunch"}"#),
            Some("reason"),
        ),
        (
            "POST",
            "/agent/state",
            Some(r#"{"state": "available", "colour": "blue"}"#),
            Some("colour"),
        ),
        ("POST", "/agent/state", Some(r#"{"state": 7}"#), Some("state")),
        ("POST", "/agent/state", Some("{}"), Some("state")),
        ("POST", "/agent/state", None, None),
        ("POST", "/agent/state", Some(r#"{"state": "#), Some("state")),
        ("POST", "/agent/state", Some(r#"{"state" "available"}"#), None),
        ("POST", "/agent/login", Some(r#"{"state": "busy"}"#), Some("state")),
        ("POST", "/agent/login", Some(r#"{"reason": "Lunch"}"#), Some("reason")),
        ("POST", "/agent/offers/abc/accept", None, Some("offer")),
        ("POST", "/agent/offers/-1/decline", None, Some("offer")),
        ("POST", "/agent/wrapup", Some(r#"{"notes": "x"}"#), Some("reasons")),
        (
            "POST",
            "/agent/wrapup",
            Some(r#"{"reasons": ["ok", 3]}"#),
            Some("reasons[1]"),
        ),
        ("POST", "/agent/wrapup/extend", Some("{}"), Some("seconds")),
        (
            "POST",
            "/agent/wrapup/extend",
            Some(r#"{"seconds": 0}"#),
            Some("seconds"),
        ),
        (
            "POST",
            "/agent/wrapup/extend",
            Some(r#"{"seconds": "60"}"#),
            Some("seconds"),
        ),
        (
            "POST",
            "/agent/wrapup/extend",
            Some(r#"{"indefinitely": false}"#),
            Some("indefinitely"),
        ),
        (
            "PUT",
            "/agent/interactions/i-1/data",
            Some(r#"{"version": "3", "values": {}}"#),
            Some("version"),
        ),
        (
            "PUT",
            "/agent/interactions/i-1/data",
            Some(r#"{"version": 3, "values": {"account": 17}}"#),
            Some("values.account"),
        ),
        (
            "PUT",
            "/agent/interactions/i-1/data",
            Some(r#"{"values": {}}"#),
            Some("version"),
        ),
        (
            "POST",
            "/supervisor/agents/alice/state",
            Some(r#"{"state": "asleep"}"#),
            Some("state"),
        ),
        (
            "POST",
            "/supervisor/agents/alice/state",
            Some(r#"{"state": "logged_out", "reason": "x"}"#),
            Some("reason"),
        ),
        (
            "POST",
            "/supervisor/interactions/i-1/monitor",
            Some(r#"{"extension": 1004}"#),
            Some("extension"),
        ),
        // SUP-5: exactly one target.
        (
            "POST",
            "/supervisor/interactions/i-1/assign",
            Some(r#"{"agent": "bob", "queue": "sales"}"#),
            Some("target"),
        ),
        (
            "POST",
            "/supervisor/interactions/i-1/assign",
            Some("{}"),
            Some("target"),
        ),
        (
            "POST",
            "/supervisor/interactions/i-1/assign",
            Some(r#"{"team": "support"}"#),
            Some("team"),
        ),
    ];
    for (method, path, body, field) in cases {
        let (status, json) = desk.call(method, path, *body);
        assert_eq!(status, 400, "{method} {path} {body:?}: {json}");
        assert_eq!(
            error_of(&json),
            ("bad_request", *field),
            "{method} {path} {body:?}: {json}"
        );
    }
    // Broken JSON says so.
    let (_, json) = desk.post("/agent/state", Some(r#"{"state": "#));
    assert!(
        json["message"].as_str().is_some_and(|m| m.contains("not valid JSON")),
        "{json}"
    );
}

/// A body over 64 KiB is refused with 413 JSON (after the guard admitted
/// the token, before the engine sees the request).
#[test]
fn oversized_bodies_are_refused_with_413() {
    let sw = Switch::start();
    let api = sw.api_addr();
    let big = format!(r#"{{"reasons": ["{}"]}}"#, "x".repeat(100 * 1024));
    for (path, token) in [
        ("/agent/wrapup", ALICE),
        ("/agent/login", ALICE),
        ("/calls/1/hold", ADMIN),
    ] {
        let r = http(
            api,
            "POST",
            path,
            &[("Authorization", &format!("Bearer {token}"))],
            Some(big.as_bytes()),
        );
        assert_eq!(r.status, 413, "{path}: {}", r.text());
        assert_eq!(error_of(&r.json()).0, "payload_too_large", "{path}");
    }
}

/// Unknown paths, wrong methods and the control routes keep their JSON
/// errors next to the new routes (with a token: without one every path is
/// 401, see e2e_api_security).
#[test]
fn unknown_paths_and_methods_are_json() {
    let sw = Switch::start();
    let api = sw.api_addr();
    let alice = format!("Bearer {ALICE}");
    let admin = format!("Bearer {ADMIN}");
    let as_alice = [("Authorization", alice.as_str())];
    let as_admin = [("Authorization", admin.as_str())];
    let r = http(api, "GET", "/agent/nothing-here", &as_alice, None);
    assert_eq!((r.status, error_of(&r.json()).0), (404, "not_found"));
    let r = http(api, "DELETE", "/agent/me", &as_alice, None);
    assert_eq!((r.status, error_of(&r.json()).0), (405, "method_not_allowed"));
    let r = http(api, "GET", "/agent/login", &as_alice, None);
    assert_eq!((r.status, error_of(&r.json()).0), (405, "method_not_allowed"));
    let r = http(api, "GET", "/calls/x", &as_admin, None);
    assert_eq!((r.status, error_of(&r.json())), (400, ("bad_request", Some("id"))));
    let r = http(api, "GET", "/healthz", &as_alice, None);
    assert_eq!((r.status, r.json()["status"].as_str()), (200, Some("ok")));
}

/// The OpenAPI 3.1 document is served as YAML, parses, and names the
/// desktop routes with their methods.
#[test]
fn openapi_document_is_served() {
    let sw = Switch::start();
    let auth = format!("Bearer {ALICE}");
    let r = http(sw.api_addr(), "GET", "/openapi.yaml", &[("Authorization", &auth)], None);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/yaml"));
    let doc: serde_yaml::Value = serde_yaml::from_slice(&r.body).expect("the document parses");
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.1")), "version");
    for (path, method) in [
        ("/agent/me", "get"),
        ("/agent/login", "post"),
        ("/agent/interactions/{interaction}/data", "put"),
        ("/agent/events", "get"),
        ("/supervisor/agents", "get"),
        ("/supervisor/events", "get"),
        ("/calls", "get"),
        ("/healthz", "get"),
    ] {
        assert!(!doc["paths"][path][method].is_null(), "{method} {path} documented");
    }
    assert!(!doc["components"]["schemas"]["DeskEvent"].is_null());
}

/// spec: AGENT-6 — the event streams check the token before upgrading: no
/// token, or an unknown one in the header or `?token=`, is a 401 JSON
/// answer instead of a WebSocket; a plain GET without a token too.
#[test]
fn event_streams_refuse_bad_tokens_before_upgrading() {
    let sw = Switch::start();
    let api = sw.api_addr();
    for path in ["/agent/events", "/supervisor/events"] {
        for auth in [
            WsAuth::None,
            WsAuth::Header("not-a-known-token-at-all"),
            WsAuth::Query("not-a-known-token-at-all"),
        ] {
            match ws_connect(api, path, auth) {
                Ok(_) => panic!("{path} with {auth:?} upgraded"),
                Err((status, json)) => {
                    assert_eq!(status, 401, "{path} {auth:?}: {json}");
                    assert_eq!(error_of(&json).0, "unauthorized", "{path} {auth:?}");
                }
            }
        }
        let r = http(api, "GET", path, &[], None);
        assert_eq!((r.status, error_of(&r.json()).0), (401, "unauthorized"), "{path}");
    }
}
