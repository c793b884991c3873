//! End-to-end: callback requests on the real switch over loopback sockets
//! (spec CB-2..CB-5, CB-8): created by an admin token (a website backend),
//! a supervisor or an agent, listed per customer, edited and deleted until
//! the window starts, every CB-3 refusal naming its field, idempotent
//! retries, and a restart on the same data directory keeping both the
//! callbacks and the idempotency keys.

mod common;

use common::desk::*;
use common::*;
use serde_json::{json, Value};
use std::time::Duration;

/// RFC 3339 (with offset) of now plus `secs`.
fn from_now(secs: i64) -> String {
    let t = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(secs);
    t.to_zoned(jiff::tz::TimeZone::get("Europe/Paris").expect("zone"))
        .strftime("%Y-%m-%dT%H:%M:%S%:z")
        .to_string()
}

/// A scheduled callback two hours from now, for one hour.
fn scheduled(number: &str) -> Value {
    json!({
        "kind": "scheduled",
        "number": number,
        "name": "Zoé Durand",
        "queue": "support",
        "zone": "Europe/Paris",
        "window": {"start": from_now(2 * 3600), "end": from_now(3 * 3600)},
        "reason": "Question about an invoice",
    })
}

/// `POST /callbacks` with `token` and an optional `Idempotency-Key`.
fn create(sw: &Switch, token: &str, key: Option<&str>, body: &Value) -> (u16, Value) {
    let auth = format!("Bearer {token}");
    let mut headers = vec![("Authorization", auth.as_str())];
    if let Some(k) = key {
        headers.push(("Idempotency-Key", k));
    }
    let body = body.to_string();
    // A 429 (the per-token rate) is waited out, as a well-behaved client does.
    for _ in 0..10 {
        let r = http(sw.api_addr(), "POST", "/callbacks", &headers, Some(body.as_bytes()));
        if r.status != 429 {
            return (r.status, r.json());
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    panic!("rate-limited ten times in a row")
}

fn ids(list: &Value) -> Vec<&str> {
    list["callbacks"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|c| c["id"].as_str().expect("an id"))
        .collect()
}

/// spec: CB-2, CB-3, CB-4 — a website backend creates a scheduled and a web
/// callback; the customer's callbacks are listed by number (any
/// formatting), the scheduled one is edited and deleted before its window,
/// the web one (due at once) cannot be edited; unknown ids are 404.
#[test]
fn callbacks_are_created_listed_edited_and_deleted() {
    let sw = Switch::start();
    let admin = Desk::new(sw.api_addr(), ADMIN);
    let (status, cb) = create(&sw, ADMIN, None, &scheduled("+33 1 23 45 67"));
    assert_eq!(status, 201, "{cb}");
    assert_eq!(cb["state"], "pending");
    assert_eq!(cb["kind"], "scheduled");
    assert_eq!(cb["queue"], "support");
    assert_eq!(cb["agent"], Value::Null);
    assert!(
        cb["window"]["start"]
            .as_str()
            .is_some_and(|s| s.ends_with("+01:00") || s.ends_with("+02:00")),
        "{cb}"
    );
    let id = cb["id"].as_str().expect("id").to_string();

    let web = json!({"kind": "web", "number": "33-1-23-45-67", "name": "Zoé", "queue": "support"});
    let (status, web) = create(&sw, ADMIN, None, &web);
    assert_eq!(status, 201, "{web}");
    assert_eq!(web["zone"], "UTC");
    let web_id = web["id"].as_str().expect("id").to_string();

    let (status, list) = admin.get("/callbacks?number=33123.4567");
    assert_eq!(status, 200, "{list}");
    let mut listed = ids(&list);
    listed.sort();
    let mut both = vec![id.as_str(), web_id.as_str()];
    both.sort();
    assert_eq!(listed, both, "same digits, same customer: {list}");
    let (_, other) = admin.get("/callbacks?number=%2B44%20700%20900");
    assert!(ids(&other).is_empty(), "{other}");

    let (status, got) = admin.get(&format!("/callbacks/{id}"));
    assert_eq!((status, &got), (200, &cb));

    let (status, edited) = admin.call(
        "PATCH",
        &format!("/callbacks/{id}"),
        Some(r#"{"name": "Zoé Martin", "reason": "Refund"}"#),
    );
    assert_eq!(status, 200, "{edited}");
    assert_eq!(
        (edited["name"].as_str(), edited["reason"].as_str()),
        (Some("Zoé Martin"), Some("Refund"))
    );
    assert_eq!(edited["window"], cb["window"], "kept");

    // CB-4: a web callback's window starts at creation.
    let (status, e) = admin.call("PATCH", &format!("/callbacks/{web_id}"), Some(r#"{"name": "Zoé M"}"#));
    assert_eq!((status, e["error"].as_str()), (409, Some("conflict")), "{e}");
    // (Due at once, it may already wait in its queue: offered.)
    assert!(
        e["message"]
            .as_str()
            .is_some_and(|m| m.contains("window") || m.contains("offered")),
        "{e}"
    );
    let (status, _) = admin.call("DELETE", &format!("/callbacks/{web_id}"), None);
    assert_eq!(status, 409);

    let (status, deleted) = admin.call("DELETE", &format!("/callbacks/{id}"), None);
    assert_eq!((status, deleted["state"].as_str()), (200, Some("deleted")), "{deleted}");
    let (_, list) = admin.get(
        "/callbacks?number=+33 1 23 45 67"
            .replace(' ', "%20")
            .replace('+', "%2B")
            .as_str(),
    );
    assert_eq!(ids(&list), vec![web_id.as_str()], "deleted ones are not listed: {list}");
    let (status, e) = admin.call("DELETE", &format!("/callbacks/{id}"), None);
    assert_eq!((status, e["error"].as_str()), (409, Some("conflict")), "{e}");

    let (status, e) = admin.get("/callbacks/cb-999");
    assert_eq!(
        (status, e["error"].as_str(), e["field"].as_str()),
        (404, Some("not_found"), Some("id"))
    );
    let (status, e) = admin.call("PATCH", "/callbacks/cb-999", Some(r#"{"name": "Nobody here"}"#));
    assert_eq!(status, 404, "{e}");
}

/// spec: CB-5 — an agent creates personal callbacks for itself only; a
/// supervisor assigns one to a named agent; each agent sees its own.
#[test]
fn personal_callbacks_belong_to_their_agent() {
    let sw = Switch::start();
    let mut mine = scheduled("+1 555 010 0001");
    mine["kind"] = json!("personal");
    mine["agent"] = json!("me");
    let (status, cb) = create(&sw, ALICE, None, &mine);
    assert_eq!(status, 201, "{cb}");
    assert_eq!(
        (cb["agent"].as_str(), cb["priority"].as_u64()),
        (Some("alice"), Some(1))
    );

    let (status, e) = create(&sw, ALICE, None, &scheduled("+1 555 010 0002"));
    assert_eq!((status, e["error"].as_str()), (403, Some("forbidden")), "{e}");
    mine["agent"] = json!("bob");
    let (status, e) = create(&sw, ALICE, None, &mine);
    assert_eq!(status, 403, "another agent is for supervisors: {e}");

    let (status, for_bob) = create(&sw, SAM, None, &mine);
    assert_eq!((status, for_bob["agent"].as_str()), (201, Some("bob")), "{for_bob}");
    mine["agent"] = json!("me");
    let (status, e) = create(&sw, SAM, None, &mine);
    assert_eq!(
        (status, e["field"].as_str()),
        (400, Some("agent")),
        "a supervisor is no agent: {e}"
    );
    mine["agent"] = json!("nobody");
    let (status, e) = create(&sw, SAM, None, &mine);
    assert_eq!((status, e["field"].as_str()), (400, Some("agent")), "{e}");

    let alice = Desk::new(sw.api_addr(), ALICE);
    let (_, list) = alice.get("/callbacks");
    assert_eq!(ids(&list), vec![cb["id"].as_str().expect("id")], "{list}");
    let (status, _) = alice.get(&format!("/callbacks/{}", for_bob["id"].as_str().expect("id")));
    assert_eq!(status, 403, "bob's");
    let (_, all) = Desk::new(sw.api_addr(), SAM).get("/callbacks");
    assert_eq!(ids(&all).len(), 2, "a supervisor lists every pending one: {all}");
}

/// spec: CB-3 — every refusal is 400 naming the field at fault.
#[test]
fn every_validation_error_names_its_field() {
    let sw = Switch::start();
    let base = scheduled("+33 1 23 45 67");
    let with = |k: &str, v: Value| {
        let mut b = base.clone();
        b[k] = v;
        b
    };
    let mut no_zone = base.clone();
    no_zone.as_object_mut().expect("object").remove("zone");
    let mut no_window = base.clone();
    no_window.as_object_mut().expect("object").remove("window");
    let cases: Vec<(Value, &str)> = vec![
        (with("number", json!("123456")), "number"),
        (with("number", json!("1234567890123456")), "number"),
        (with("number", json!("12+34567")), "number"),
        (with("number", json!("555-CALL-NOW")), "number"),
        (with("name", json!("Zé")), "name"),
        (with("name", json!("é".repeat(251))), "name"),
        (with("name", json!("   ")), "name"),
        (with("queue", json!("nowhere")), "queue"),
        (with("zone", json!("Mars/Olympus")), "zone"),
        (no_zone, "zone"),
        (no_window, "window"),
        (
            with("window", json!({"start": from_now(29 * 60), "end": from_now(3 * 3600)})),
            "window.start",
        ),
        (
            with(
                "window",
                json!({"start": from_now(32 * 86400), "end": from_now(32 * 86400 + 60)}),
            ),
            "window.start",
        ),
        (
            with(
                "window",
                json!({"start": from_now(3 * 3600), "end": from_now(2 * 3600)}),
            ),
            "window.end",
        ),
        (
            with("window", json!({"start": from_now(3600), "end": from_now(26 * 3600)})),
            "window.end",
        ),
        (
            with("window", json!({"start": "next tuesday", "end": from_now(3 * 3600)})),
            "window.start",
        ),
        (with("reason", json!("x".repeat(251))), "reason"),
        (with("kind", json!("courtesy")), "kind"),
        (with("kind", json!("urgent")), "kind"),
        (with("agent", json!("alice")), "agent"),
        (with("colour", json!("blue")), "colour"),
        (with("number", json!(5551234567_u64)), "number"),
    ];
    for (body, field) in cases {
        let (status, e) = create(&sw, ADMIN, None, &body);
        assert_eq!(
            (status, e["error"].as_str(), e["field"].as_str()),
            (400, Some("bad_request"), Some(field)),
            "{body}: {e}"
        );
    }
    let (status, e) = create(&sw, ADMIN, Some("has spaces in it"), &base);
    assert_eq!((status, e["field"].as_str()), (400, Some("Idempotency-Key")), "{e}");
    // An edit is checked by the same rules.
    let (_, cb) = create(&sw, ADMIN, None, &base);
    let admin = Desk::new(sw.api_addr(), ADMIN);
    let path = format!("/callbacks/{}", cb["id"].as_str().expect("id"));
    let (status, e) = admin.call("PATCH", &path, Some(r#"{"number": "12"}"#));
    assert_eq!((status, e["field"].as_str()), (400, Some("number")), "{e}");
    let (status, e) = admin.call("PATCH", &path, Some("{}"));
    assert_eq!(status, 400, "nothing to change: {e}");
}

/// spec: CB-8 — the same Idempotency-Key and body return the same callback
/// (200, no second one), another body with the key is 409
/// `idempotency_conflict`; after a restart on the same data directory the
/// callback, its state and its key are all still there.
#[test]
fn idempotent_retries_and_a_restart_keep_the_callbacks() {
    let data = tempfile::tempdir().expect("data dir");
    let mut sw = Switch::builder().data_dir(data.path()).start();
    let body = scheduled("+33 611 223 344");
    let (status, first) = create(&sw, ADMIN, Some("order-4711"), &body);
    assert_eq!(status, 201, "{first}");
    let (status, again) = create(&sw, ADMIN, Some("order-4711"), &body);
    assert_eq!((status, &again), (200, &first), "a retry");
    let mut other = body.clone();
    other["name"] = json!("Someone Else");
    let (status, e) = create(&sw, ADMIN, Some("order-4711"), &other);
    assert_eq!(
        (status, e["error"].as_str()),
        (409, Some("idempotency_conflict")),
        "{e}"
    );
    let (status, e) = create(&sw, SAM, Some("order-4711"), &body);
    assert_eq!(status, 409, "another requester, same key: {e}");
    let (_, web) = create(
        &sw,
        ADMIN,
        Some("web-1"),
        &json!({"kind": "web", "number": "+33 611 223 344", "name": "Zoé", "queue": "sales"}),
    );
    let (status, list) = Desk::new(sw.api_addr(), SAM).get("/callbacks?number=33611223344");
    assert_eq!((status, ids(&list).len()), (200, 2), "one each, no duplicate: {list}");
    assert!(sw.terminate(Duration::from_secs(10)).is_some(), "stops on SIGTERM");
    drop(sw);

    let sw = Switch::builder().data_dir(data.path()).start();
    let admin = Desk::new(sw.api_addr(), ADMIN);
    let id = first["id"].as_str().expect("id");
    let (status, got) = admin.get(&format!("/callbacks/{id}"));
    assert_eq!((status, &got), (200, &first), "restored as it was");
    let (status, again) = create(&sw, ADMIN, Some("order-4711"), &body);
    assert_eq!((status, &again), (200, &first), "the key survived the restart");
    let (status, e) = create(&sw, ADMIN, Some("order-4711"), &other);
    assert_eq!(
        (status, e["error"].as_str()),
        (409, Some("idempotency_conflict")),
        "{e}"
    );
    let (status, web_again) = create(
        &sw,
        ADMIN,
        Some("web-1"),
        &json!({"kind": "web", "number": "+33 611 223 344", "name": "Zoé", "queue": "sales"}),
    );
    assert_eq!(
        (status, web_again["id"].as_str()),
        (200, web["id"].as_str()),
        "{web_again}"
    );
    let (_, pending) = admin.get("/callbacks");
    assert_eq!(ids(&pending).len(), 2, "{pending}");
    let (status, new) = create(&sw, ADMIN, Some("order-4712"), &body);
    assert_eq!(status, 201, "{new}");
    assert!(
        ![first["id"].as_str(), web["id"].as_str()].contains(&new["id"].as_str()),
        "fresh id: {new}"
    );
}
