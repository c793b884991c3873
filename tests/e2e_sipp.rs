//! End-to-end: the real `switchboard` binary on loopback, driven by SIPp
//! (tests/sipp/*.xml). Each test names the issue-2 case it checks:
//! registration with digest auth, wrong password, phone→phone calls, BYE
//! from each side, CANCEL, busy, unknown extension, re-INVITE, a trunk
//! that challenges our INVITE with 407, and a call arriving from a trunk.
//! CDRs written by the switch are checked for every call.

mod common;

use common::*;
use serde_json::Value;
use std::time::Duration;

const T: Duration = Duration::from_secs(20);

fn field<'a>(cdr: &'a Value, name: &str) -> &'a Value {
    cdr.get(name).unwrap_or_else(|| panic!("CDR has no {name}: {cdr}"))
}

/// RFC 3261 §10.3 + §22: REGISTER is challenged (401) and accepted with the
/// right password; the binding is persisted in the SQLite store.
#[test]
fn register_with_digest_auth() {
    let sw = Switch::start();
    sipp_register(sw.internal_addr(), "1001", "demo-1001").assert_success();
    let db = sw.data_dir().join("switchboard.sqlite");
    assert!(db.exists(), "the store holds the binding: {}", db.display());
}

/// RFC 3261 §22.1: a wrong password is challenged again, never accepted.
#[test]
fn register_with_wrong_password_is_refused() {
    let sw = Switch::start();
    Sipp::new("register_wrong_password.xml")
        .remote(sw.internal_addr())
        .phone("1001", "not-the-password")
        .run(T)
        .assert_success();
}

/// A basic call phone→phone through the B2BUA, the caller hangs up.
#[test]
fn call_phone_to_phone_caller_hangs_up() {
    let sw = Switch::start();
    let callee = spawn_registered_callee(sw.internal_addr(), "1002", "demo-1002", "uas_answer_wait_bye.xml", T);
    Sipp::new("uac_call_auth.xml")
        .remote(sw.internal_addr())
        .phone("1001", "demo-1001")
        .service("1002")
        .pause_ms(300)
        .run(T)
        .assert_success();
    callee.wait().assert_success();
    let cdrs = sw.wait_for_cdrs(1, T);
    let cdr = &cdrs[0];
    assert_eq!(field(cdr, "caller"), "1001");
    assert_eq!(field(cdr, "callee"), "1002");
    assert_eq!(field(cdr, "route"), "user:1002");
    assert_eq!(field(cdr, "end_cause"), "caller_hangup");
    assert_eq!(field(cdr, "sip_code"), 200);
    assert!(
        field(cdr, "answer_ms").is_u64(),
        "answered call has an answer time: {cdr}"
    );
    assert_ne!(
        field(cdr, "call_id"),
        field(cdr, "b_leg"),
        "each leg has its own Call-ID"
    );
}

/// BYE from the callee side is relayed to the caller.
#[test]
fn call_phone_to_phone_callee_hangs_up() {
    let sw = Switch::start();
    let callee = spawn_registered_callee_with(
        sw.internal_addr(),
        "1002",
        "demo-1002",
        Sipp::new("uas_answer_then_bye.xml").pause_ms(300),
        T,
    );
    Sipp::new("uac_call_auth_wait_bye.xml")
        .remote(sw.internal_addr())
        .phone("1001", "demo-1001")
        .service("1002")
        .run(T)
        .assert_success();
    callee.wait().assert_success();
    let cdrs = sw.wait_for_cdrs(1, T);
    assert_eq!(field(&cdrs[0], "end_cause"), "callee_hangup");
}

/// RFC 3261 §9: the caller CANCELs while the callee rings; the callee leg
/// is CANCELled and the caller gets 487.
#[test]
fn caller_cancel_while_ringing() {
    let sw = Switch::start();
    let callee = spawn_registered_callee(sw.internal_addr(), "1002", "demo-1002", "uas_ring_cancel.xml", T);
    Sipp::new("uac_call_auth_cancel.xml")
        .remote(sw.internal_addr())
        .phone("1001", "demo-1001")
        .service("1002")
        .run(T)
        .assert_success();
    callee.wait().assert_success();
    let cdrs = sw.wait_for_cdrs(1, T);
    assert_eq!(field(&cdrs[0], "end_cause"), "caller_cancel");
    assert_eq!(field(&cdrs[0], "sip_code"), 487);
    assert!(field(&cdrs[0], "answer_ms").is_null());
}

/// A busy callee (486) is relayed to the caller.
#[test]
fn busy_callee_gives_486() {
    let sw = Switch::start();
    let callee = spawn_registered_callee(sw.internal_addr(), "1002", "demo-1002", "uas_busy.xml", T);
    Sipp::new("uac_call_auth_busy.xml")
        .remote(sw.internal_addr())
        .phone("1001", "demo-1001")
        .service("1002")
        .run(T)
        .assert_success();
    callee.wait().assert_success();
    let cdrs = sw.wait_for_cdrs(1, T);
    assert_eq!(field(&cdrs[0], "end_cause"), "busy");
}

/// A number no dial-plan rule matches gets 404.
#[test]
fn unknown_extension_gives_404() {
    let sw = Switch::start();
    Sipp::new("uac_call_auth_404.xml")
        .remote(sw.internal_addr())
        .phone("1001", "demo-1001")
        .service("99")
        .run(T)
        .assert_success();
}

/// RFC 3261 §14 in pass-through mode (`[media] anchor = false`): a
/// re-INVITE from the caller is relayed to the callee and its 200 comes
/// back; the call then ends normally.
#[test]
fn reinvite_is_relayed_when_media_is_not_anchored() {
    let cfg = ConfigDir::from_default();
    cfg.patch("switchboard.toml", "anchor = true", "anchor = false");
    let sw = Switch::start_with(Some(cfg.path()), &[]);
    let callee = spawn_registered_callee(sw.internal_addr(), "1002", "demo-1002", "uas_answer_reinvite.xml", T);
    Sipp::new("uac_call_auth_reinvite.xml")
        .remote(sw.internal_addr())
        .phone("1001", "demo-1001")
        .service("1002")
        .pause_ms(200)
        .run(T)
        .assert_success();
    callee.wait().assert_success();
    let cdrs = sw.wait_for_cdrs(1, T);
    assert_eq!(field(&cdrs[0], "end_cause"), "caller_hangup");
}

/// RFC 3264 §8 with media anchored (the default): the caller's re-INVITE is
/// answered by the switch itself (200 with SDP, then ACK); the callee, whose
/// media does not change, sees no re-INVITE (its scenario fails on any
/// unexpected request) and the call ends normally.
#[test]
fn reinvite_is_answered_by_the_switch_when_media_is_anchored() {
    let sw = Switch::start();
    let callee = spawn_registered_callee(sw.internal_addr(), "1002", "demo-1002", "uas_answer_wait_bye.xml", T);
    Sipp::new("uac_call_auth_reinvite.xml")
        .remote(sw.internal_addr())
        .phone("1001", "demo-1001")
        .service("1002")
        .pause_ms(200)
        .run(T)
        .assert_success();
    callee.wait().assert_success();
    let cdrs = sw.wait_for_cdrs(1, T);
    assert_eq!(field(&cdrs[0], "end_cause"), "caller_hangup");
}

/// A config whose demo trunk points at `port` and has outbound credentials.
fn trunk_config(port: u16) -> ConfigDir {
    let cfg = ConfigDir::from_default();
    cfg.patch("trunks.toml", "127.0.0.1:5090", &format!("127.0.0.1:{port}"));
    cfg.patch(
        "trunks.toml",
        "register = false",
        "register = false\nusername = \"switchboard\"\npassword = \"carrier-secret\"",
    );
    cfg
}

/// RFC 3261 §22.3: a call out through a trunk that challenges with 407 is
/// re-sent with Proxy-Authorization and connects.
#[test]
fn call_to_trunk_answers_407_challenge() {
    let trunk_port = free_port();
    let cfg = trunk_config(trunk_port);
    let sw = Switch::start_with(Some(cfg.path()), &[]);
    let mut trunk = Sipp::new("trunk_uas_407.xml").local_port(trunk_port).spawn(T);
    trunk.wait_ready(Duration::from_secs(5));
    Sipp::new("uac_call_auth.xml")
        .remote(sw.internal_addr())
        .phone("1001", "demo-1001")
        .service("5551234")
        .pause_ms(200)
        .run(T)
        .assert_success();
    trunk.wait().assert_success();
    let cdrs = sw.wait_for_cdrs(1, T);
    assert_eq!(field(&cdrs[0], "route"), "trunk:demo");
    assert_eq!(field(&cdrs[0], "sip_code"), 200);
}

/// A carrier on the external profile (allowed by `inbound_from`, no auth)
/// reaches a registered phone.
#[test]
fn call_from_trunk_reaches_registered_phone() {
    let sw = Switch::start();
    let callee = spawn_registered_callee(sw.internal_addr(), "1002", "demo-1002", "uas_answer_wait_bye.xml", T);
    Sipp::new("uac_trunk_inbound.xml")
        .remote(sw.external_addr())
        .service("1002")
        .pause_ms(200)
        .run(T)
        .assert_success();
    callee.wait().assert_success();
    let cdrs = sw.wait_for_cdrs(1, T);
    assert_eq!(field(&cdrs[0], "caller"), "trunk:demo");
    assert_eq!(field(&cdrs[0], "route"), "user:1002");
}
