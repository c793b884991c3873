//! REGISTER through the engine (RFC 3261 §10.3, §22.4; RFC 8760 §2.4).

use crate::sim::*;
use switchboard::sip::msg::typed::Challenge;
use switchboard::sip::msg::HeaderName;

/// RFC 3261 §22.4 / RFC 8760 §2.4: a REGISTER without credentials is
/// challenged with 401, one WWW-Authenticate per configured algorithm, in
/// the configured order (MD5 first, then SHA-256).
#[test]
fn register_without_credentials_is_challenged_with_the_configured_algorithms() {
    let mut h = Harness::new();
    let mut ua = Ua::phone("1000", "192.0.2.10");
    let r = ua.register("reg-1", 1, 3600).text();
    h.send(&ua, &r);
    let resp = h.expect_response(ua.addr, 401);
    let algs: Vec<String> = resp
        .headers
        .get_all(&HeaderName::WwwAuthenticate)
        .map(|v| {
            Challenge::parse(v)
                .unwrap()
                .0
                .get_str("algorithm")
                .unwrap_or("MD5")
                .to_string()
        })
        .collect();
    // The shipped default offers MD5 alone (switchboard.toml explains why).
    assert_eq!(algs, vec!["MD5".to_string()]);
    for v in resp.headers.get_all(&HeaderName::WwwAuthenticate) {
        let c = Challenge::parse(v).unwrap();
        assert_eq!(c.0.get_str("realm"), Some("switchboard.local"));
        assert!(c.0.get_str("nonce").is_some());
    }
    assert!(to_tag(&resp).is_some(), "§8.2.6.2: the 401 carries a To tag");
    assert!(h.saved.is_empty());
    h.assert_silent(ua.addr);
}

/// RFC 3261 §10.3 step 8: the 200 lists the bindings with their expiry,
/// and the binding is handed to the store (SaveBinding).
#[test]
fn register_with_md5_credentials_succeeds_and_saves_binding() {
    let mut h = Harness::new();
    let mut ua = Ua::phone("1000", "192.0.2.10");
    let ok = h.register(&mut ua, 600);
    let contact = header_str(&ok, &HeaderName::Contact);
    assert!(contact.contains("sip:1000@192.0.2.10:5062"), "{contact}");
    assert!(contact.contains("expires=600"), "{contact}");
    assert_eq!(h.saved.len(), 1);
    let b = &h.saved[0];
    assert_eq!(b.aor, "1000");
    assert_eq!(b.source, ua.addr);
    assert_eq!(b.expires_at, h.unix_ms() / 1000 + 600);
    let now = h.now();
    assert_eq!(h.engine.bindings(now, "1000").len(), 1);
}

/// RFC 8760 §2.4: answering the SHA-256 challenge works as well.
#[test]
fn register_with_sha256_credentials_succeeds() {
    let mut h = Harness::with_switchboard_patch(
        r#"digest_algorithms = ["MD5"]"#,
        r#"digest_algorithms = ["SHA-256", "MD5"]"#,
    );
    let mut ua = Ua::phone("1001", "192.0.2.11");
    let r1 = ua.register("reg-sha", 1, 3600).text();
    h.send(&ua, &r1);
    let ch = h.expect_response(ua.addr, 401);
    let auth = ua.authorization(
        &ch,
        HeaderName::WwwAuthenticate,
        "REGISTER",
        &ua.registrar_uri(),
        Some("SHA-256"),
    );
    assert!(auth.contains("algorithm=SHA-256"), "{auth}");
    let r2 = ua.register("reg-sha", 2, 3600).header("Authorization", &auth).text();
    h.send(&ua, &r2);
    let ok = h.expect_response(ua.addr, 200);
    assert!(header_str(&ok, &HeaderName::Contact).contains("expires=3600"));
    assert_eq!(h.saved.len(), 1);
}

fn wrong_password_attempt(h: &mut Harness, ua: &mut Ua, call_id: &str, seq: u32) -> switchboard::sip::msg::Message {
    let r1 = ua.register(call_id, seq, 3600).text();
    h.send(ua, &r1);
    let ch = h.expect_response(ua.addr, 401);
    let auth = ua.authorization_with(
        &ch,
        HeaderName::WwwAuthenticate,
        "REGISTER",
        &ua.registrar_uri(),
        None,
        &ua.user.clone(),
        "wrong",
    );
    let r2 = ua
        .register(call_id, seq + 1, 3600)
        .header("Authorization", &auth)
        .text();
    h.send(ua, &r2);
    let resp = h.take(ua.addr);
    assert_eq!(resp.len(), 1, "one answer to the bad credentials");
    resp.into_iter().next().unwrap()
}

/// RFC 3261 §22.4: wrong credentials are challenged again (401), nothing
/// is bound.
#[test]
fn register_wrong_password_is_rechallenged() {
    let mut h = Harness::new();
    let mut ua = Ua::phone("1000", "192.0.2.10");
    let resp = wrong_password_attempt(&mut h, &mut ua, "reg-bad", 1);
    assert_eq!(resp.status().unwrap().as_u16(), 401);
    assert!(resp.headers.get(&HeaderName::WwwAuthenticate).is_some());
    assert!(h.saved.is_empty());
    let now = h.now();
    assert!(h.engine.bindings(now, "1000").is_empty());
}

/// Brute-force protection (security.auth_failures_per_minute = 10): after
/// ten failures from one address within a minute the source gets 403; a
/// minute later it is challenged again.
#[test]
fn register_repeated_failures_are_throttled_with_403() {
    let mut h = Harness::new();
    let mut ua = Ua::phone("1000", "192.0.2.10");
    for i in 0..10 {
        let resp = wrong_password_attempt(&mut h, &mut ua, &format!("reg-bf-{i}"), 1);
        assert_eq!(resp.status().unwrap().as_u16(), 401, "attempt {i}");
    }
    let r = ua.register("reg-bf-x", 1, 3600).text();
    h.send(&ua, &r);
    let blocked = h.expect_response(ua.addr, 403);
    assert_eq!(reason(&blocked), "Too Many Failed Attempts");
    // Even correct credentials are refused while blocked: the 403 carries no challenge.
    assert!(blocked.headers.get(&HeaderName::WwwAuthenticate).is_none());
    // Another source is not affected.
    let mut other = Ua::phone("1001", "192.0.2.11");
    h.register(&mut other, 3600);
    // The block decays after the window.
    h.advance(secs(61));
    h.clear_wire();
    h.register(&mut ua, 3600);
}

/// No user enumeration (§22.4 practice): an unknown user's credentials get
/// exactly the same answer as a known user's wrong password.
#[test]
fn register_unknown_user_gets_same_answer_as_wrong_password() {
    let mut h = Harness::new();
    let mut known = Ua::phone("1000", "192.0.2.10");
    let mut unknown = Ua::phone("4242", "192.0.2.12");
    unknown.password = "whatever".into();
    let a = wrong_password_attempt(&mut h, &mut known, "reg-k", 1);
    let b = {
        let r1 = unknown.register("reg-u", 1, 3600).text();
        h.send(&unknown, &r1);
        let ch = h.expect_response(unknown.addr, 401);
        let auth = unknown.authorization(
            &ch,
            HeaderName::WwwAuthenticate,
            "REGISTER",
            &unknown.registrar_uri(),
            None,
        );
        let r2 = unknown.register("reg-u", 2, 3600).header("Authorization", &auth).text();
        h.send(&unknown, &r2);
        let v = h.take(unknown.addr);
        assert_eq!(v.len(), 1);
        v.into_iter().next().unwrap()
    };
    assert_eq!(a.status(), b.status());
    assert_eq!(reason(&a), reason(&b));
    let names =
        |m: &switchboard::sip::msg::Message| m.headers.iter().map(|h| format!("{:?}", h.name)).collect::<Vec<_>>();
    assert_eq!(names(&a), names(&b));
    let params = |m: &switchboard::sip::msg::Message| {
        m.headers
            .get_all(&HeaderName::WwwAuthenticate)
            .map(|v| {
                let c = Challenge::parse(v).unwrap();
                (
                    c.0.get_str("realm").map(str::to_owned),
                    c.0.get_str("algorithm").map(str::to_owned),
                    c.0.get_str("stale").map(str::to_owned),
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(params(&a), params(&b));
    assert!(h.saved.is_empty());
}

/// RFC 3261 §10.2.3: a REGISTER without Contact fetches the bindings.
#[test]
fn register_without_contact_fetches_bindings() {
    let mut h = Harness::new();
    let mut ua = Ua::phone("1002", "192.0.2.13");
    h.register(&mut ua, 3600);
    let saved = h.saved.len();
    let r1 = ua.register("reg-fetch", 1, 3600).no_contact().text();
    h.send(&ua, &r1);
    let ch = h.expect_response(ua.addr, 401);
    let auth = ua.authorization(&ch, HeaderName::WwwAuthenticate, "REGISTER", &ua.registrar_uri(), None);
    let r2 = ua
        .register("reg-fetch", 2, 3600)
        .no_contact()
        .header("Authorization", &auth)
        .text();
    // Expires has no effect without contacts.
    h.send(&ua, &r2);
    let ok = h.expect_response(ua.addr, 200);
    let contacts: Vec<String> = ok
        .headers
        .get_all(&HeaderName::Contact)
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .collect();
    assert_eq!(contacts.len(), 1, "{contacts:?}");
    assert!(contacts[0].contains("sip:1002@192.0.2.13:5062"));
    assert_eq!(h.saved.len(), saved, "a fetch changes nothing");
    assert!(h.deleted.is_empty());
}

/// RFC 3261 §10.2.2: `Contact: *` with `Expires: 0` removes every
/// binding, and the store is told (DeleteBinding).
#[test]
fn register_wildcard_contact_with_expires_zero_deletes_bindings() {
    let mut h = Harness::new();
    let mut ua = Ua::phone("1003", "192.0.2.14");
    h.register(&mut ua, 3600);
    let r1 = ua.register("reg-star", 1, 0).no_contact().header("Contact", "*").text();
    h.send(&ua, &r1);
    let ch = h.expect_response(ua.addr, 401);
    let auth = ua.authorization(&ch, HeaderName::WwwAuthenticate, "REGISTER", &ua.registrar_uri(), None);
    let r2 = ua
        .register("reg-star", 2, 0)
        .no_contact()
        .header("Contact", "*")
        .header("Authorization", &auth)
        .text();
    h.send(&ua, &r2);
    let ok = h.expect_response(ua.addr, 200);
    assert!(ok.headers.get(&HeaderName::Contact).is_none());
    assert_eq!(h.deleted.len(), 1);
    assert_eq!(h.deleted[0].aor, "1003");
    let now = h.now();
    assert!(h.engine.bindings(now, "1003").is_empty());
}

/// RFC 3261 §10.3 step 7: an expiry below the minimum gets 423 with
/// Min-Expires.
#[test]
fn register_too_brief_gets_423_with_min_expires() {
    let mut h = Harness::new();
    let mut ua = Ua::phone("1004", "192.0.2.15");
    let r1 = ua.register("reg-brief", 1, 30).text();
    h.send(&ua, &r1);
    let ch = h.expect_response(ua.addr, 401);
    let auth = ua.authorization(&ch, HeaderName::WwwAuthenticate, "REGISTER", &ua.registrar_uri(), None);
    let r2 = ua.register("reg-brief", 2, 30).header("Authorization", &auth).text();
    h.send(&ua, &r2);
    let resp = h.expect_response(ua.addr, 423);
    assert_eq!(header_str(&resp, &HeaderName::MinExpires).trim(), "60");
    assert!(h.saved.is_empty());
}

/// RFC 3261 §10.3: a binding lapses at its expiry; the engine's deadline
/// (poll_timeout) must cover it so the driver wakes up and the store is
/// told (DeleteBinding) even when nothing else happens.
#[test]
fn registration_expiry_emits_delete_binding_in_virtual_time() {
    let mut h = Harness::new();
    let mut ua = Ua::phone("1005", "192.0.2.16");
    h.register(&mut ua, 60);
    h.advance(secs(61));
    assert_eq!(
        h.deleted.len(),
        1,
        "binding lapsed at 60 s but no DeleteBinding was emitted"
    );
}

/// RFC 3261 §8.2.6 / §11: OPTIONS is answered 200 without a challenge.
#[test]
fn options_is_answered_without_auth() {
    let mut h = Harness::new();
    let mut ua = Ua::phone("1000", "192.0.2.10");
    let r = ua.req("OPTIONS", &format!("sip:{}", INTERNAL)).text();
    h.send(&ua, &r);
    let ok = h.expect_response(ua.addr, 200);
    assert!(header_str(&ok, &HeaderName::Allow).contains("INVITE"));
    assert!(ok.headers.get(&HeaderName::WwwAuthenticate).is_none());
}
