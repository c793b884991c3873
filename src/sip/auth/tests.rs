//! Server ↔ client Digest tests in virtual time (unix seconds).

use super::*;
use crate::sip::msg::typed::{Challenge, Credentials};
use crate::sip::msg::{HeaderName, Message, Method, StatusCode, Uri};
use bytes::Bytes;
use std::time::Duration;

const T0: u64 = 1_700_000_000;
const REALM: &str = "switchboard.test";

fn server() -> DigestServer {
    DigestServer::new(REALM, [9; 32], Duration::from_secs(300))
}

fn uri(s: &str) -> Uri {
    Uri::parse(&Bytes::copy_from_slice(s.as_bytes())).unwrap()
}

fn register(auth: Option<&Bytes>) -> Message {
    let mut m = Message::request(Method::REGISTER, uri("sip:switchboard.test"));
    m.headers
        .push(HeaderName::Via, "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKabc");
    m.headers.push(HeaderName::From, "<sip:alice@switchboard.test>;tag=1");
    m.headers.push(HeaderName::To, "<sip:alice@switchboard.test>");
    m.headers.push(HeaderName::CallId, "c1@192.0.2.1");
    m.headers.push(HeaderName::CSeq, "1 REGISTER");
    if let Some(a) = auth {
        m.headers.push(HeaderName::Authorization, a.clone());
    }
    m
}

fn passwords(user: &str) -> Option<&'static str> {
    match user {
        "alice" => Some("wonderland"),
        "bob" => Some("builder"),
        _ => None,
    }
}

fn challenges(s: &mut DigestServer, now: u64) -> Vec<Challenge> {
    s.challenge(now, false)
        .iter()
        .map(|v| Challenge::parse(v).unwrap())
        .collect()
}

fn answer(c: &Challenge, user: &str, pass: &str, nc: u32) -> Bytes {
    DigestClient::respond(c, &Method::REGISTER, "sip:switchboard.test", user, pass, "0a4f113b", nc).unwrap()
}

fn verify(s: &mut DigestServer, now: u64, auth: &Bytes) -> AuthOutcome {
    s.verify_request(now, &register(Some(auth)), AuthKind::Www, passwords)
}

fn ok(user: &str) -> AuthOutcome {
    AuthOutcome::Ok { user: user.into() }
}

/// Replaces `name="..."` (or `name=token`) in a credentials value.
fn tamper(auth: &Bytes, name: &str, value: &str) -> Bytes {
    let c = Credentials::parse(auth).unwrap();
    let mut out = String::from("Digest ");
    let mut parts = Vec::new();
    for (n, v) in &c.0.params {
        let n = String::from_utf8_lossy(n);
        let v = if n == name {
            value.to_owned()
        } else {
            String::from_utf8_lossy(v).into_owned()
        };
        parts.push(format!("{n}=\"{v}\""));
    }
    out.push_str(&parts.join(", "));
    Bytes::from(out)
}

fn without(auth: &Bytes, name: &str) -> Bytes {
    let c = Credentials::parse(auth).unwrap();
    let parts: Vec<String> =
        c.0.params
            .iter()
            .filter(|(n, _)| &n[..] != name.as_bytes())
            .map(|(n, v)| format!("{}=\"{}\"", String::from_utf8_lossy(n), String::from_utf8_lossy(v)))
            .collect();
    Bytes::from(format!("Digest {}", parts.join(", ")))
}

#[test]
fn challenge_offers_sha256_then_md5_with_qop_and_opaque() {
    let mut s = server();
    let cs = challenges(&mut s, T0);
    assert_eq!(cs.len(), 2);
    assert_eq!(cs[0].0.get_str("algorithm"), Some("SHA-256"));
    assert_eq!(cs[1].0.get_str("algorithm"), Some("MD5"));
    for c in &cs {
        assert!(c.0.is_digest());
        assert_eq!(c.0.get_str("realm"), Some(REALM));
        assert_eq!(c.0.get_str("qop"), Some("auth"));
        assert!(c.0.get_str("opaque").is_some_and(|o| !o.is_empty()));
        assert_eq!(c.0.get("stale"), None);
    }
    assert_eq!(cs[0].0.get("nonce"), cs[1].0.get("nonce"));
    let again = challenges(&mut s, T0);
    assert_ne!(
        again[0].0.get("nonce"),
        cs[0].0.get("nonce"),
        "each challenge has its own nonce"
    );
    let stale = s.challenge(T0, true);
    assert!(Challenge::parse(&stale[0]).unwrap().0.get_str("stale") == Some("true"));
}

#[test]
fn challenge_response_is_a_401_with_both_challenges() {
    let mut s = server();
    let req = register(None);
    let r = s.challenge_response(T0, &req, AuthKind::Www, false, Some("t1"));
    assert_eq!(r.status(), Some(StatusCode::UNAUTHORIZED));
    assert_eq!(r.headers.get_all(&HeaderName::WwwAuthenticate).count(), 2);
    assert!(r.envelope().is_ok());
    let p = s.challenge_response(T0, &req, AuthKind::Proxy, false, None);
    assert_eq!(p.status(), Some(StatusCode::PROXY_AUTH_REQUIRED));
    assert_eq!(p.headers.get_all(&HeaderName::ProxyAuthenticate).count(), 2);
}

#[test]
fn round_trip_sha256_and_md5() {
    let mut s = server();
    let cs = challenges(&mut s, T0);
    let picked = DigestClient::pick(&cs).unwrap();
    assert_eq!(picked.0.get_str("algorithm"), Some("SHA-256"));
    let a = answer(picked, "alice", "wonderland", 1);
    assert!(std::str::from_utf8(&a).unwrap().contains("algorithm=SHA-256"));
    assert_eq!(verify(&mut s, T0 + 1, &a), ok("alice"));
    let cs = challenges(&mut s, T0);
    let m = answer(&cs[1], "bob", "builder", 1);
    assert!(std::str::from_utf8(&m).unwrap().contains("algorithm=MD5"));
    assert_eq!(verify(&mut s, T0 + 1, &m), ok("bob"));
}

#[test]
fn increasing_nonce_count_reuses_nonce() {
    let mut s = server();
    let cs = challenges(&mut s, T0);
    for nc in 1..=3 {
        assert_eq!(
            verify(&mut s, T0 + nc as u64, &answer(&cs[0], "alice", "wonderland", nc)),
            ok("alice")
        );
    }
    assert_eq!(
        verify(&mut s, T0 + 10, &answer(&cs[0], "alice", "wonderland", 7)),
        ok("alice"),
        "gaps are fine"
    );
}

#[test]
fn replayed_or_lower_nc_fails() {
    let mut s = server();
    let cs = challenges(&mut s, T0);
    let a2 = answer(&cs[0], "alice", "wonderland", 2);
    assert_eq!(verify(&mut s, T0, &a2), ok("alice"));
    assert_eq!(verify(&mut s, T0, &a2), AuthOutcome::Failed, "same nc replayed");
    let a1 = answer(&cs[0], "alice", "wonderland", 1);
    assert_eq!(verify(&mut s, T0, &a1), AuthOutcome::Failed, "lower nc");
}

#[test]
fn expired_nonce_with_right_password_is_stale_then_recovers() {
    let mut s = server();
    let cs = challenges(&mut s, T0);
    let a = answer(&cs[0], "alice", "wonderland", 1);
    assert_eq!(verify(&mut s, T0 + 300, &a), AuthOutcome::Stale);
    let wrong = answer(&cs[0], "alice", "nope", 1);
    assert_eq!(
        verify(&mut s, T0 + 300, &wrong),
        AuthOutcome::Failed,
        "stale only for a correct digest"
    );
    let fresh = s.challenge(T0 + 300, true);
    let c = Challenge::parse(&fresh[0]).unwrap();
    assert_eq!(
        verify(&mut s, T0 + 301, &answer(&c, "alice", "wonderland", 1)),
        ok("alice")
    );
}

#[test]
fn nonce_from_another_secret_is_stale() {
    let mut old = server();
    let cs = challenges(&mut old, T0);
    let a = answer(&cs[0], "alice", "wonderland", 1);
    let mut restarted = DigestServer::new(REALM, [1; 32], Duration::from_secs(300));
    assert_eq!(verify(&mut restarted, T0 + 1, &a), AuthOutcome::Stale);
}

#[test]
fn tampered_nonce_or_opaque() {
    let mut s = server();
    let cs = challenges(&mut s, T0);
    let a = answer(&cs[0], "alice", "wonderland", 1);
    // A changed nonce breaks the digest itself.
    assert_eq!(
        verify(&mut s, T0, &tamper(&a, "nonce", &"0".repeat(64))),
        AuthOutcome::Failed
    );
    // A changed opaque leaves the digest intact but is not ours: re-challenge.
    assert_eq!(verify(&mut s, T0, &tamper(&a, "opaque", "zzz")), AuthOutcome::Stale);
    // Absent opaque is tolerated (many SIP UAs drop it).
    assert_eq!(verify(&mut s, T0, &without(&a, "opaque")), ok("alice"));
}

#[test]
fn wrong_password_and_unknown_user_are_indistinguishable() {
    let mut s = server();
    let cs = challenges(&mut s, T0);
    let wrong = verify(&mut s, T0, &answer(&cs[0], "alice", "guess", 1));
    let unknown = verify(&mut s, T0, &answer(&cs[0], "mallory", "guess", 1));
    assert_eq!(wrong, AuthOutcome::Failed);
    assert_eq!(unknown, wrong);
    // Even the server's own dummy password cannot log in an unknown user.
    let mut calls = 0;
    let out = s.verify_request(T0, &register(Some(&answer(&cs[0], "x", "y", 2))), AuthKind::Www, |_| {
        calls += 1;
        None::<&str>
    });
    assert_eq!((out, calls), (AuthOutcome::Failed, 1));
}

#[test]
fn malformed_credentials() {
    let mut s = server();
    let cs = challenges(&mut s, T0);
    let a = answer(&cs[0], "alice", "wonderland", 1);
    let mal = |e| AuthOutcome::Malformed(e);
    assert_eq!(
        verify(&mut s, T0, &without(&a, "nonce")),
        mal(AuthError::MissingParam("nonce"))
    );
    assert_eq!(
        verify(&mut s, T0, &without(&a, "username")),
        mal(AuthError::MissingParam("username"))
    );
    assert_eq!(
        verify(&mut s, T0, &without(&a, "cnonce")),
        mal(AuthError::MissingParam("cnonce"))
    );
    assert_eq!(
        verify(&mut s, T0, &without(&a, "nc")),
        mal(AuthError::MissingParam("nc"))
    );
    assert_eq!(
        verify(&mut s, T0, &tamper(&a, "nc", "xyz")),
        mal(AuthError::BadParam("nc"))
    );
    assert_eq!(
        verify(&mut s, T0, &tamper(&a, "nc", "00000000")),
        mal(AuthError::BadParam("nc"))
    );
    assert_eq!(
        verify(&mut s, T0, &tamper(&a, "response", "abc")),
        mal(AuthError::BadParam("response"))
    );
    assert_eq!(
        verify(&mut s, T0, &tamper(&a, "qop", "auth-int")),
        mal(AuthError::UnsupportedQop("auth-int".into()))
    );
    assert_eq!(
        verify(&mut s, T0, &tamper(&a, "algorithm", "SHA-1")),
        mal(AuthError::UnsupportedAlgorithm("SHA-1".into()))
    );
    assert_eq!(
        verify(&mut s, T0, &tamper(&a, "uri", "sip:elsewhere.test")),
        mal(AuthError::UriMismatch)
    );
    assert_eq!(verify(&mut s, T0, &without(&a, "qop")), mal(AuthError::QopRequired));
    let garbage = Bytes::from_static(b"Digest realm=\"switchboard.test\", =oops");
    assert_eq!(verify(&mut s, T0, &garbage), mal(AuthError::Syntax));
    let mut c = register(None);
    c.headers
        .push(HeaderName::Authorization, "Basic YWxhZGRpbjpvcGVuc2VzYW1l");
    assert_eq!(
        s.verify_request(T0, &c, AuthKind::Www, passwords),
        AuthOutcome::NoCredentials
    );
    let direct = Credentials::parse(&Bytes::from_static(b"Basic realm=\"x\"")).unwrap();
    let u = uri("sip:switchboard.test");
    assert_eq!(
        s.verify(T0, &Method::REGISTER, &u, &direct, passwords),
        mal(AuthError::NotDigest)
    );
    // Nothing valid was consumed by the failures above.
    assert_eq!(verify(&mut s, T0, &a), ok("alice"));
}

#[test]
fn no_credentials_and_other_realms() {
    let mut s = server();
    assert_eq!(
        s.verify_request(T0, &register(None), AuthKind::Www, passwords),
        AuthOutcome::NoCredentials
    );
    let mut other = DigestServer::new("elsewhere", [9; 32], Duration::from_secs(300));
    let c = Challenge::parse(&other.challenge(T0, false)[0]).unwrap();
    let a = answer(&c, "alice", "wonderland", 1);
    assert_eq!(verify(&mut s, T0, &a), AuthOutcome::NoCredentials);
    // Proxy-Authorization is not looked at for a WWW challenge.
    let cs = challenges(&mut s, T0);
    let mut req = register(None);
    req.headers
        .push(HeaderName::ProxyAuthorization, answer(&cs[0], "alice", "wonderland", 1));
    assert_eq!(
        s.verify_request(T0, &req, AuthKind::Www, passwords),
        AuthOutcome::NoCredentials
    );
    assert_eq!(s.verify_request(T0, &req, AuthKind::Proxy, passwords), ok("alice"));
    // Credentials for two realms: ours is found (§22.3).
    let mut two = register(Some(&a));
    let cs = challenges(&mut s, T0);
    two.headers
        .push(HeaderName::Authorization, answer(&cs[1], "bob", "builder", 1));
    assert_eq!(s.verify_request(T0, &two, AuthKind::Www, passwords), ok("bob"));
}

#[test]
fn uri_equivalence_is_tolerated() {
    let mut s = server();
    let cs = challenges(&mut s, T0);
    let a = DigestClient::respond(
        &cs[0],
        &Method::REGISTER,
        "sip:SwitchBoard.TEST",
        "alice",
        "wonderland",
        "c",
        1,
    )
    .unwrap();
    assert_eq!(verify(&mut s, T0, &a), ok("alice"));
    let b = DigestClient::respond(
        &cs[0],
        &Method::REGISTER,
        "sip:switchboard.test;transport=tcp",
        "alice",
        "wonderland",
        "c",
        2,
    )
    .unwrap();
    assert_eq!(verify(&mut s, T0, &b), AuthOutcome::Malformed(AuthError::UriMismatch));
}

#[test]
fn sess_variants_round_trip() {
    let mut s = server();
    let nonce = Challenge::parse(&s.challenge(T0, false)[0]).unwrap();
    let nonce = nonce.0.get_str("nonce").unwrap();
    for (i, alg) in ["SHA-256-sess", "MD5-sess", "SHA-512-256"].iter().enumerate() {
        let c = Challenge::parse(&Bytes::from(format!(
            "Digest realm=\"{REALM}\", nonce=\"{nonce}\", algorithm={alg}, qop=\"auth,auth-int\""
        )))
        .unwrap();
        let a = answer(&c, "alice", "wonderland", i as u32 + 1);
        assert_eq!(verify(&mut s, T0, &a), ok("alice"), "{alg}");
    }
}

#[test]
fn rfc2069_form_is_opt_in_and_single_use() {
    let mut s = server().allow_rfc2069(true);
    let c = Challenge::parse(&s.challenge(T0, false)[1]).unwrap();
    let nonce = c.0.get_str("nonce").unwrap();
    let legacy = Challenge::parse(&Bytes::from(format!("Digest realm=\"{REALM}\", nonce=\"{nonce}\""))).unwrap();
    let a = answer(&legacy, "alice", "wonderland", 1);
    assert!(!std::str::from_utf8(&a).unwrap().contains("qop"));
    assert_eq!(verify(&mut s, T0, &a), ok("alice"));
    assert_eq!(
        verify(&mut s, T0, &a),
        AuthOutcome::Stale,
        "a legacy nonce is spent after one use"
    );
    let mut strict = server();
    assert_eq!(
        verify(&mut strict, T0, &a),
        AuthOutcome::Malformed(AuthError::QopRequired)
    );
}

#[test]
fn nonce_table_is_bounded_and_pruned() {
    let mut s = server().with_max_tracked_nonces(2);
    let cs: Vec<Vec<Challenge>> = (0..3).map(|i| challenges(&mut s, T0 + i)).collect();
    let first = answer(&cs[0][0], "alice", "wonderland", 1);
    assert_eq!(verify(&mut s, T0 + 5, &first), ok("alice"));
    for c in &cs[1..] {
        assert_eq!(
            verify(&mut s, T0 + 5, &answer(&c[0], "alice", "wonderland", 1)),
            ok("alice")
        );
    }
    assert_eq!(s.tracked_nonces(), 2);
    // The evicted (oldest) nonce can no longer be trusted: replay → Stale, never Ok.
    assert_eq!(verify(&mut s, T0 + 6, &first), AuthOutcome::Stale);
    assert_eq!(s.poll_timeout(), Some(T0 + 1 + 300));
    s.prune(T0 + 400);
    assert_eq!(s.tracked_nonces(), 0);
    assert_eq!(s.poll_timeout(), None);
}

#[test]
fn client_pick_and_errors() {
    let md5 = Challenge::parse(&Bytes::from_static(b"Digest realm=\"r\", nonce=\"n\", qop=\"auth\"")).unwrap();
    let sha = Challenge::parse(&Bytes::from_static(
        b"Digest realm=\"r\", nonce=\"n\", algorithm=SHA-256, qop=\"auth\"",
    ))
    .unwrap();
    let odd = Challenge::parse(&Bytes::from_static(b"Digest realm=\"r\", nonce=\"n\", algorithm=SHA-1")).unwrap();
    let intonly = Challenge::parse(&Bytes::from_static(
        b"Digest realm=\"r\", nonce=\"n\", qop=\"auth-int\"",
    ))
    .unwrap();
    let basic = Challenge::parse(&Bytes::from_static(b"Basic realm=\"r\"")).unwrap();
    assert_eq!(DigestClient::pick([&md5, &sha, &odd]), Some(&sha));
    assert_eq!(DigestClient::pick([&odd, &md5]), Some(&md5));
    assert_eq!(DigestClient::pick([&odd, &intonly, &basic]), None);
    let r = |c: &Challenge| DigestClient::respond(c, &Method::INVITE, "sip:x", "u", "p", "c", 1);
    assert_eq!(r(&odd), Err(AuthError::UnsupportedAlgorithm("SHA-1".into())));
    assert_eq!(r(&intonly), Err(AuthError::UnsupportedQop("auth-int".into())));
    assert_eq!(r(&basic), Err(AuthError::NotDigest));
    let nonce_less = Challenge::parse(&Bytes::from_static(b"Digest realm=\"r\"")).unwrap();
    assert_eq!(r(&nonce_less), Err(AuthError::MissingParam("nonce")));
}

#[test]
fn client_matches_rfc7616_sha256_example() {
    let c = Challenge::parse(&Bytes::from_static(
        b"Digest realm=\"http-auth@example.org\", qop=\"auth, auth-int\", algorithm=SHA-256, \
          nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", \
          opaque=\"FQhe/qaU925kfnJXbk3Q7qQlf5tiMtpeP5K2Jx4W9A\"",
    ))
    .unwrap();
    let v = DigestClient::respond(
        &c,
        &Method::from_bytes(Bytes::from_static(b"GET")),
        "/dir/index.html",
        "Mufasa",
        "Circle of Life",
        "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
        1,
    )
    .unwrap();
    let cred = Credentials::parse(&v).unwrap();
    assert_eq!(
        cred.0.get_str("response"),
        Some("753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1")
    );
    assert_eq!(cred.0.get_str("nc"), Some("00000001"));
    assert_eq!(cred.0.get_str("qop"), Some("auth"));
    assert_eq!(
        cred.0.get_str("opaque"),
        Some("FQhe/qaU925kfnJXbk3Q7qQlf5tiMtpeP5K2Jx4W9A")
    );
}

#[test]
fn client_escapes_quoted_strings() {
    let c = Challenge::parse(&Bytes::from_static(b"Digest realm=\"r\", nonce=\"n\", qop=\"auth\"")).unwrap();
    let v = DigestClient::respond(&c, &Method::INVITE, "sip:x", "we\"ird\\", "p", "c", 1).unwrap();
    let cred = Credentials::parse(&v).unwrap();
    assert_eq!(cred.0.get_str("username"), Some("we\"ird\\"));
}
