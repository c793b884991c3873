//! Trunks: outbound calls answering the carrier's digest challenge (RFC
//! 3261 §22.2, §22.3), inbound calls admitted by source address.

use crate::sim::*;
use std::time::Duration;
use switchboard::sip::auth::{compute_response, Algorithm, DigestInput};
use switchboard::sip::msg::typed::Credentials;
use switchboard::sip::msg::HeaderName;

const TRUNKS_WITH_CREDS: &str = r#"
[[trunk]]
name = "demo"
address = "127.0.0.1:5090"
transport = "udp"
inbound_from = ["127.0.0.1"]
context = "external"
register = false
from_user = "switchboard"
username = "acct42"
password = "trunk-secret"
"#;

const DIALPLAN_TRUNK: &str = r#"
default_no_answer_timeout_s = 30

[[context.internal]]
match = { regex = "^100[0-9]$" }
action = "user"

[[context.internal]]
match = { regex = "^[0-9]{3,}$" }
action = "trunk"
trunk = "demo"

[[context.external]]
match = { regex = "^100[0-9]$" }
action = "user"

[[context.external]]
name = "blocked prefix"
match = { prefix = "900" }
action = "reject"
code = 603
reason = "Premium Numbers Refused"

[[context.external]]
match = { prefix = "" }
action = "reject"
code = 404
"#;

/// RFC 3261 §22.2/§22.3 + §8.1.3.5: the trunk answers 407; the engine
/// ACKs it and re-sends the INVITE with Proxy-Authorization computed from
/// the trunk's credentials, CSeq + 1, same Call-ID and From tag, new
/// branch; the trunk's 200 then reaches the caller.
#[test]
fn trunk_407_is_answered_with_proxy_authorization() {
    let mut h = Harness::with_files(&[("trunks.toml", TRUNKS_WITH_CREDS), ("dialplan.toml", DIALPLAN_TRUNK)]);
    let mut caller = Ua::phone("1000", "192.0.2.10");
    let trunk = Ua::trunk(TRUNK);
    let out = h.place_call(&mut caller, "5551234");
    let sent_from = h.wire.iter().find(|s| s.to == trunk.addr).map(|s| s.local);
    assert_eq!(
        sent_from,
        Some(sock(EXTERNAL)),
        "trunk traffic leaves from the trunk profile's socket"
    );
    let inv1 = h.expect_request(trunk.addr, "INVITE");
    assert_eq!(inv1.uri().unwrap().to_string(), "sip:5551234@127.0.0.1:5090");
    assert!(
        header_str(&inv1, &HeaderName::From).contains("sip:switchboard@127.0.0.1:5080"),
        "from_user and the external socket"
    );
    let challenge = "Digest realm=\"carrier.example\", nonce=\"n0nce42\", algorithm=MD5, qop=\"auth\", opaque=\"op1\"";
    h.send(
        &trunk,
        &response(
            &inv1,
            407,
            "Proxy Authentication Required",
            Some("trk1"),
            &[("Proxy-Authenticate", challenge)],
            None,
        ),
    );
    let ack = h.expect_request(trunk.addr, "ACK");
    assert_eq!(cseq_num(&ack), 1);
    assert_eq!(
        header_str(&ack, &HeaderName::Via),
        header_str(&inv1, &HeaderName::Via),
        "§17.1.1.3: same branch as the INVITE"
    );
    let inv2 = h.expect_request(trunk.addr, "INVITE");
    assert_eq!(call_id(&inv2), call_id(&inv1), "same Call-ID");
    assert_eq!(from_tag(&inv2), from_tag(&inv1), "same From tag");
    assert_eq!(cseq_num(&inv2), 2, "CSeq + 1");
    assert_ne!(
        header_str(&inv2, &HeaderName::Via),
        header_str(&inv1, &HeaderName::Via),
        "new branch"
    );
    assert!(to_tag(&inv2).is_none());
    let cred_text = header_str(&inv2, &HeaderName::ProxyAuthorization);
    let cred = Credentials::parse(&bytes::Bytes::from(cred_text.clone()))
        .expect("credentials parse")
        .0;
    assert_eq!(cred.get_str("username"), Some("acct42"));
    assert_eq!(cred.get_str("realm"), Some("carrier.example"));
    assert_eq!(cred.get_str("nonce"), Some("n0nce42"));
    assert_eq!(cred.get_str("opaque"), Some("op1"));
    let uri = cred.get_str("uri").unwrap();
    assert_eq!(uri, "sip:5551234@127.0.0.1:5090");
    let expected = compute_response(&DigestInput {
        algorithm: Algorithm::Md5,
        username: b"acct42",
        realm: b"carrier.example",
        password: b"trunk-secret",
        nonce: b"n0nce42",
        cnonce: Some(cred.get_str("cnonce").expect("cnonce with qop").as_bytes()),
        nc: Some(cred.get_str("nc").expect("nc").as_bytes()),
        qop: Some(b"auth"),
        method: b"INVITE",
        uri: uri.as_bytes(),
    });
    assert_eq!(cred.get_str("response"), Some(expected.as_str()), "{cred_text}");
    h.assert_silent(caller.addr);
    // The trunk answers.
    h.send(
        &trunk,
        &response(
            &inv2,
            200,
            "OK",
            Some("trk2"),
            &[("Contact", "<sip:gw@127.0.0.1:5090>")],
            Some(("application/sdp", &sdp("127.0.0.1", 30000))),
        ),
    );
    let a200 = h.expect_response(caller.addr, 200);
    assert_eq!(call_id(&a200), out.call_id);
    let a_dlg = caller.dialog_from_2xx(&out, &a200);
    h.send(&caller, &caller.clone().ack_2xx(&a_dlg, out.cseq).text());
    let ack2 = h.expect_request(trunk.addr, "ACK");
    assert_eq!(cseq_num(&ack2), 2, "the 2xx ACK uses the INVITE's CSeq");
    assert_eq!(h.cdrs.len(), 0);
}

/// A second challenge after the retry is not answered again (no loop):
/// the failure reaches the caller.
#[test]
fn trunk_second_challenge_fails_the_call() {
    let mut h = Harness::with_files(&[("trunks.toml", TRUNKS_WITH_CREDS), ("dialplan.toml", DIALPLAN_TRUNK)]);
    let mut caller = Ua::phone("1000", "192.0.2.10");
    let trunk = Ua::trunk(TRUNK);
    h.place_call(&mut caller, "5551234");
    let inv1 = h.expect_request(trunk.addr, "INVITE");
    let challenge = "Digest realm=\"carrier.example\", nonce=\"n1\", algorithm=MD5";
    h.send(
        &trunk,
        &response(
            &inv1,
            407,
            "Proxy Authentication Required",
            Some("t1"),
            &[("Proxy-Authenticate", challenge)],
            None,
        ),
    );
    let inv2 = h.expect_request(trunk.addr, "INVITE");
    h.send(
        &trunk,
        &response(
            &inv2,
            407,
            "Proxy Authentication Required",
            Some("t2"),
            &[("Proxy-Authenticate", challenge)],
            None,
        ),
    );
    h.expect_response_to(caller.addr, 407, "INVITE");
    assert_eq!(
        h.count(trunk.addr, |m| m.method().is_some_and(|x| x.as_bytes() == b"INVITE")),
        0,
        "no third INVITE"
    );
}

/// Trusted-trunks profile: a request from an address no trunk lists gets 403.
#[test]
fn trunk_call_from_unknown_source_gets_403() {
    let mut h = Harness::new();
    let mut stranger = Ua::trunk("203.0.113.5:5060");
    let r = stranger.req("INVITE", "sip:1001@127.0.0.1:5080").sdp().text();
    h.send(&stranger, &r);
    let resp = h.expect_response(stranger.addr, 403);
    assert_eq!(reason(&resp), "Source Not Allowed");
    assert_eq!(h.engine.stats().calls_started, 0);
}

/// Trusted-trunks profile: a call from the trunk's address is admitted
/// without a challenge and routed in the trunk's context (DID → user).
#[test]
fn inbound_trunk_call_reaches_registered_user() {
    let mut h = Harness::new();
    let mut callee = Ua::phone("1001", "192.0.2.11");
    h.register(&mut callee, 3600);
    let mut trunk = Ua::trunk(TRUNK);
    let r = trunk.req("INVITE", "sip:1001@127.0.0.1:5080").sdp().text();
    h.send(&trunk, &r);
    h.expect_response(trunk.addr, 100);
    let inv = h.expect_request(callee.addr, "INVITE");
    assert_eq!(inv.uri().unwrap().to_string(), "sip:1001@192.0.2.11:5062");
    h.send(&callee, &response(&inv, 486, "Busy Here", Some("x"), &[], None));
    h.expect_response_to(trunk.addr, 486, "INVITE");
    assert_eq!(h.cdrs[0].caller, "trunk:demo");
    assert_eq!(h.cdrs[0].end_cause, "busy");
}

/// A dial-plan reject rule in the trunk's context answers its own code.
#[test]
fn inbound_trunk_call_to_rejected_prefix_gets_rule_code() {
    let mut h = Harness::with_files(&[("dialplan.toml", DIALPLAN_TRUNK)]);
    let mut trunk = Ua::trunk(TRUNK);
    let r = trunk.req("INVITE", "sip:9001234@127.0.0.1:5080").sdp().text();
    h.send(&trunk, &r);
    let resp = h.expect_response(trunk.addr, 603);
    assert_eq!(reason(&resp), "Premium Numbers Refused");
    let r = trunk.req("INVITE", "sip:5550000@127.0.0.1:5080").sdp().text();
    h.send(&trunk, &r);
    h.expect_response(trunk.addr, 404);
}

/// REGISTER is refused on the trusted-trunks profile.
#[test]
fn register_on_trunk_profile_is_refused() {
    let mut h = Harness::new();
    let mut trunk = Ua::trunk(TRUNK);
    let r = trunk
        .req("REGISTER", "sip:127.0.0.1:5080")
        .header("Expires", "3600")
        .text();
    h.send(&trunk, &r);
    let resp = h.expect_response(trunk.addr, 403);
    assert_eq!(reason(&resp), "Registration Not Allowed Here");
}

const TRUNKS_REGISTERING: &str = r#"
[[trunk]]
name = "demo"
address = "127.0.0.1:5090"
transport = "udp"
inbound_from = ["127.0.0.1"]
context = "external"
register = true
username = "acct42"
password = "trunk-secret"
"#;

/// RFC 3261 §10.2 + §22.2: a trunk with `register = true` is registered
/// at start: REGISTER from our socket, its 401 answered with credentials
/// (same Call-ID, CSeq + 1), and refreshed at 80 % of the granted expiry
/// with the same Call-ID and a higher CSeq (§10.2.4).
#[test]
fn trunk_registration_answers_challenge_and_refreshes() {
    let mut h = Harness::with_files(&[("trunks.toml", TRUNKS_REGISTERING)]);
    let trunk = Ua::trunk(TRUNK);
    let now = h.now();
    h.engine.start(now);
    h.advance(Duration::from_millis(1));
    let reg1 = h.expect_request(trunk.addr, "REGISTER");
    assert_eq!(reg1.uri().unwrap().to_string(), "sip:127.0.0.1:5090");
    assert!(header_str(&reg1, &HeaderName::From).contains("sip:acct42@127.0.0.1:5090"));
    assert!(
        header_str(&reg1, &HeaderName::Contact).contains("@127.0.0.1:5080"),
        "our external socket"
    );
    let challenge = "Digest realm=\"carrier.example\", nonce=\"regnonce\", algorithm=MD5, qop=\"auth\"";
    h.send(
        &trunk,
        &response(
            &reg1,
            401,
            "Unauthorized",
            Some("r1"),
            &[("WWW-Authenticate", challenge)],
            None,
        ),
    );
    let reg2 = h.expect_request(trunk.addr, "REGISTER");
    assert_eq!(call_id(&reg2), call_id(&reg1), "§10.2.4: one Call-ID per registration");
    assert_eq!(cseq_num(&reg2), cseq_num(&reg1) + 1);
    let auth = header_str(&reg2, &HeaderName::Authorization);
    let cred = Credentials::parse(&bytes::Bytes::from(auth.clone()))
        .expect("credentials")
        .0;
    assert_eq!(cred.get_str("username"), Some("acct42"));
    let expected = compute_response(&DigestInput {
        algorithm: Algorithm::Md5,
        username: b"acct42",
        realm: b"carrier.example",
        password: b"trunk-secret",
        nonce: b"regnonce",
        cnonce: Some(cred.get_str("cnonce").expect("cnonce").as_bytes()),
        nc: Some(cred.get_str("nc").expect("nc").as_bytes()),
        qop: Some(b"auth"),
        method: b"REGISTER",
        uri: cred.get_str("uri").expect("uri").as_bytes(),
    });
    assert_eq!(cred.get_str("response"), Some(expected.as_str()), "{auth}");
    let contact = format!("{};expires=100", header_str(&reg2, &HeaderName::Contact));
    h.send(
        &trunk,
        &response(&reg2, 200, "OK", Some("r1"), &[("Contact", &contact)], None),
    );
    assert!(h.engine.trunk_registered("demo"));
    // Nothing before 80 s (80 % of 100 s), a refresh right after.
    h.advance(Duration::from_secs(79));
    assert_eq!(h.count(trunk.addr, |m| first_line(m).starts_with("REGISTER")), 0);
    h.advance(Duration::from_secs(2));
    let reg3 = h.expect_request(trunk.addr, "REGISTER");
    assert_eq!(call_id(&reg3), call_id(&reg1));
    assert!(cseq_num(&reg3) > cseq_num(&reg2));
}

/// A trunk that refuses the registration (403) is retried later, not
/// hammered: nothing for 29 s, a new attempt at 30 s.
#[test]
fn trunk_registration_failure_is_retried_after_30s() {
    let mut h = Harness::with_files(&[("trunks.toml", TRUNKS_REGISTERING)]);
    let trunk = Ua::trunk(TRUNK);
    let now = h.now();
    h.engine.start(now);
    h.advance(Duration::from_millis(1));
    let reg1 = h.expect_request(trunk.addr, "REGISTER");
    h.send(&trunk, &response(&reg1, 403, "Forbidden", Some("r1"), &[], None));
    assert!(!h.engine.trunk_registered("demo"));
    h.advance(Duration::from_secs(29));
    assert_eq!(h.count(trunk.addr, |m| first_line(m).starts_with("REGISTER")), 0);
    h.advance(Duration::from_secs(2));
    h.expect_request(trunk.addr, "REGISTER");
}
