//! End to end: session timers (RFC 4028, issue 10 item 4) with the real
//! `switchboard` binary and SIPp on loopback.
//!
//! RFC 4028 puts Min-SE at 90 s or more on the wire; a test cannot wait
//! that long, so the switch runs a lab config (`lab_short_session_timers =
//! true`, `session_expires_s = 4`, `min_se_s = 2`). Phone 1001 calls
//! 5551234, which goes out the `demo` trunk to a SIPp UAS.
//!
//! - A silent caller (tests/sipp/uac_session_timer_silent.xml) asks for
//!   Session-Expires 6 s with `refresher=uac`, is granted the switch's 4 s
//!   (never more than ours, §9) with `Require: timer`, and then never
//!   refreshes, like a crashed phone. The trunk's 2xx has no
//!   Session-Expires, so the switch refreshes that leg itself at half time
//!   (2 s, a re-INVITE with its own SDP) and the trunk
//!   (tests/sipp/uas_session_timer_refresh.xml) answers it. At 4 s − 1 s
//!   (§10: expiry minus min(32 s, SE/3)) the caller's leg expires: both
//!   legs get a BYE and the CDR's end cause is `session_timeout`.
//! - A caller asking for less than Min-SE gets 422 with `Min-SE: 2`.
//! - A party leg runs its own timer: a transfer target on the trunk
//!   (tests/sipp/uas_session_timer_party_silent.xml) that chooses to
//!   refresh and never does is hung up alone when its session expires.

mod common;

use common::media::*;
use common::*;
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(15);

fn lab_config(trunk_port: u16) -> ConfigDir {
    lab_config_with(trunk_port, 4)
}

/// The lab config with the switch's own Session-Expires `se` (seconds).
fn lab_config_with(trunk_port: u16, se: u32) -> ConfigDir {
    let cfg = ConfigDir::from_default();
    cfg.patch(
        "switchboard.toml",
        "session_expires_s = 1800\n",
        &format!("session_expires_s = {se}\nlab_short_session_timers = true\n"),
    );
    cfg.patch("switchboard.toml", "min_se_s = 90\n", "min_se_s = 2\n");
    cfg.write(
        "trunks.toml",
        &format!(
            r#"[[trunk]]
name = "demo"
address = "127.0.0.1:{trunk_port}"
inbound_from = ["127.0.0.1"]
context = "external"
"#
        ),
    );
    cfg
}

#[test]
fn a_silent_caller_is_hung_up_when_its_session_expires() {
    let port = free_port();
    let cfg = lab_config(port);
    let sw = Switch::start_with(Some(cfg.path()), &[]);
    let mut trunk = Sipp::new("uas_session_timer_refresh.xml")
        .local_port(port)
        .calls(1)
        .spawn(T);
    trunk.wait_ready(Duration::from_secs(5));
    let started = Instant::now();
    let caller = Sipp::new("uac_session_timer_silent.xml")
        .remote(sw.internal_addr())
        .phone("1001", "demo-1001")
        .service("5551234")
        .set("se", "6")
        .run(T);
    let took = started.elapsed();
    caller.assert_success();
    let trunk = trunk.wait();
    trunk.assert_success();
    assert!(
        trunk.message_log.matches("INVITE sip:").count() >= 2,
        "the trunk got the INVITE and the switch's refresh re-INVITE:\n{}",
        trunk.message_log
    );
    assert!(
        caller.message_log.contains("Session-Expires: 4;refresher=uac"),
        "the caller is granted the switch's 4 s, never more:\n{}",
        caller.message_log
    );
    assert!(
        !caller.message_log.contains("INVITE sip:1001@"),
        "the caller refreshes, the switch does not:\n{}",
        caller.message_log
    );
    // The BYE came at the expiry (3 s after the answer), not at once.
    assert!(
        took >= Duration::from_millis(2500),
        "the session lived until its expiry: {took:?}"
    );
    let cdrs = sw.wait_for_cdrs(1, T);
    assert_eq!(cdrs[0]["end_cause"], "session_timeout", "{}", cdrs[0]);
    assert_eq!(cdrs[0]["route"], "trunk:demo", "{}", cdrs[0]);
    assert!(
        sw.wait_for_log(
            "session expired, no refresh from the caller 1001 in 4 s",
            Duration::from_secs(2)
        ),
        "the expiry is logged in words:\n{}",
        sw.log()
    );
}

#[test]
fn a_session_expires_below_min_se_is_refused_with_422() {
    let port = free_port();
    let cfg = lab_config(port);
    let sw = Switch::start_with(Some(cfg.path()), &[]);
    let caller = Sipp::new("uac_session_timer_422.xml")
        .remote(sw.internal_addr())
        .phone("1001", "demo-1001")
        .service("5551234")
        .set("se", "1")
        .run(T);
    caller.assert_success();
    assert!(
        caller.message_log.contains("Min-SE: 2"),
        "the 422 names our Min-SE:\n{}",
        caller.message_log
    );
}

/// RFC 4028 on a party leg (issue 10, item 4 for transfers): phone 1001,
/// called by 1002, transfers the call blind with REFER to 5551234 (the
/// demo trunk: SIPp), whose 2xx says it refreshes every 3 s and which then
/// goes silent. The phones' own legs keep the switch's 1800 s. At the
/// party's expiry (3 s − 1 s, §10) the switch hangs up the trunk alone;
/// 1002 is then left with nobody, so its call ends too, and the CDR says
/// `session_timeout`.
#[test]
fn a_silent_transfer_target_is_hung_up_when_its_session_expires() {
    use switchboard::sip::msg::{HeaderName, Method, StatusCode};
    require_sipp();
    let port = free_port();
    let cfg = lab_config_with(port, 1800);
    let sw = Switch::start_with(Some(cfg.path()), &[]);
    let mut trunk = Sipp::new("uas_session_timer_party_silent.xml")
        .local_port(port)
        .calls(1)
        .set("se", "3")
        .spawn(T);
    trunk.wait_ready(Duration::from_secs(5));
    let mut call = answered_call(&sw, &CallSpec::default());
    let mut refer = call.callee_request(Method::REFER, 1);
    refer.headers.push(HeaderName::ReferTo, "<sip:5551234@127.0.0.1>");
    call.callee.send(&refer);
    let accepted = next_final(&mut call.callee);
    assert_eq!(common::ua::code(&accepted), 202, "{}", common::ua::text(&accepted));
    // NOTIFYs until the target's answer; then 1001 is hung up.
    loop {
        let n = next_request(&mut call.callee, Method::NOTIFY);
        call.callee.reply(&n, StatusCode::OK, None);
        let frag = String::from_utf8_lossy(&n.body).trim().to_owned();
        assert!(
            !frag.starts_with("SIP/2.0 4") && !frag.starts_with("SIP/2.0 5"),
            "{frag}"
        );
        if frag == "SIP/2.0 200 OK" {
            break;
        }
    }
    let bye = next_request(&mut call.callee, Method::BYE);
    call.callee.reply(&bye, StatusCode::OK, None);
    // The trunk gets its BYE from the switch (its scenario fails without).
    trunk.wait().assert_success();
    assert!(
        sw.wait_for_log("session expired, no refresh from party 5551234 in 3 s", T),
        "the party's expiry is logged in words:\n{}",
        sw.log()
    );
    // 1002 has nobody left to talk with.
    let bye = next_request(&mut call.caller, Method::BYE);
    call.caller.reply(&bye, StatusCode::OK, None);
    let cdrs = sw.wait_for_cdrs(1, T);
    assert_eq!(cdrs[0]["end_cause"], "session_timeout", "{}", cdrs[0]);
}
