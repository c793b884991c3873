//! The WebRTC transport cores in virtual time: ICE-lite checks and consent
//! (RFC 8445 §7.3, RFC 7675, RFC 5769 vectors) and a DTLS-SRTP handshake
//! between two of our own transports (RFC 5763/5764).

use super::check::ConnectivityCheck;
use super::dtls::{DtlsError, DtlsEvent, DtlsIdentity, DtlsRole, DtlsTransport, Fingerprint, HANDSHAKE_TIMEOUT};
use super::ice_lite::{CheckRefused, IceCredentials, IceEvent, IceLite, CONSENT_TIMEOUT};
use crate::rtp::srtp::SrtpStream;
use rtc_stun::attributes::ATTR_MESSAGE_INTEGRITY;
use rtc_stun::error_code::ErrorCodeAttribute;
use rtc_stun::fingerprint::FINGERPRINT;
use rtc_stun::integrity::MessageIntegrity;
use rtc_stun::message::{Getter, Message, TransactionId, BINDING_ERROR, BINDING_SUCCESS};
use rtc_stun::xoraddr::XorMappedAddress;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

fn creds() -> IceCredentials {
    IceCredentials {
        ufrag: "sw01".into(),
        pwd: "switchboardpassword123".into(),
    }
}

fn crypto() -> std::sync::Arc<dyn rtc_stun::crypto::RTCCryptoProvider> {
    super::crypto_provider()
}

/// A browser's connectivity check: USERNAME, ICE-CONTROLLING, optional
/// USE-CANDIDATE, MESSAGE-INTEGRITY with `pwd`, FINGERPRINT.
fn check(username: Option<&str>, pwd: Option<&str>, nominate: bool) -> Vec<u8> {
    ConnectivityCheck {
        username,
        password: pwd,
        nominate,
        tie_breaker: 0x0102_0304_0506_0708,
    }
    .encode()
    .expect("build check")
}

fn decode(bytes: &[u8]) -> Message {
    let mut m = Message::new();
    m.raw = bytes.to_vec();
    m.decode().expect("our response decodes");
    m
}

fn error_code(m: &Message) -> u16 {
    let mut e = ErrorCodeAttribute::default();
    e.get_from(m).expect("ERROR-CODE");
    e.code.0
}

fn addr(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

#[test]
fn rfc8445_7_3_check_is_answered_with_signed_success_and_mapped_address() {
    let t0 = Instant::now();
    let mut ice = IceLite::new(creds(), Some("br0w".into()));
    let from = addr(50_000);
    let req = check(Some("sw01:br0w"), Some("switchboardpassword123"), false);
    let out = ice.handle_stun(t0, from, &req);
    assert_eq!(out.refused, None);
    let mut resp = decode(out.reply.as_ref().expect("a response"));
    assert_eq!(resp.typ, BINDING_SUCCESS);
    assert_eq!(
        resp.transaction_id,
        decode(&req).transaction_id,
        "the response names the request"
    );
    let mut mapped = XorMappedAddress::default();
    mapped.get_from(&resp).expect("XOR-MAPPED-ADDRESS");
    assert_eq!(SocketAddr::new(mapped.ip, mapped.port), from);
    FINGERPRINT.check(&resp).expect("FINGERPRINT");
    MessageIntegrity::check(&mut resp, b"switchboardpassword123", crypto().crypto()).expect("signed with our password");
    assert_eq!(ice.poll_event(), Some(IceEvent::Selected(from)));
    assert!(ice.is_validated(from));
    assert!(!ice.is_validated(addr(50_001)));
}

#[test]
fn rfc8445_nomination_moves_the_selection_and_plain_checks_do_not_steal_it() {
    let t0 = Instant::now();
    let mut ice = IceLite::new(creds(), Some("br0w".into()));
    let (a, b) = (addr(50_000), addr(50_002));
    ice.handle_stun(t0, a, &check(Some("sw01:br0w"), Some("switchboardpassword123"), false));
    assert_eq!(ice.poll_event(), Some(IceEvent::Selected(a)));
    ice.handle_stun(t0, b, &check(Some("sw01:br0w"), Some("switchboardpassword123"), true));
    assert_eq!(ice.poll_event(), Some(IceEvent::Selected(b)), "USE-CANDIDATE selects");
    ice.handle_stun(t0, a, &check(Some("sw01:br0w"), Some("switchboardpassword123"), false));
    assert_eq!(
        ice.poll_event(),
        None,
        "a later plain check on another pair leaves the nominated one"
    );
    assert_eq!(ice.selected(), Some(b));
}

#[test]
fn rfc5389_10_1_2_missing_or_wrong_credentials_get_400_or_401_unsigned() {
    let t0 = Instant::now();
    let mut ice = IceLite::new(creds(), Some("br0w".into()));
    let from = addr(50_000);
    let cases = [
        (
            check(None, Some("switchboardpassword123"), true),
            400,
            CheckRefused::MissingCredentials,
        ),
        (
            check(Some("sw01:br0w"), None, true),
            400,
            CheckRefused::MissingCredentials,
        ),
        (
            check(Some("sw01:br0w"), Some("wrongpasswordwrongpassword"), true),
            401,
            CheckRefused::Unauthorized,
        ),
        (
            check(Some("zz99:br0w"), Some("switchboardpassword123"), true),
            401,
            CheckRefused::Unauthorized,
        ),
        (
            check(Some("sw01:other"), Some("switchboardpassword123"), true),
            401,
            CheckRefused::Unauthorized,
        ),
        (
            check(Some("sw01"), Some("switchboardpassword123"), true),
            401,
            CheckRefused::Unauthorized,
        ),
    ];
    for (req, code, why) in cases {
        let out = ice.handle_stun(t0, from, &req);
        assert_eq!(out.refused, Some(why));
        let resp = decode(out.reply.as_ref().expect("an error response"));
        assert_eq!(resp.typ, BINDING_ERROR);
        assert_eq!(error_code(&resp), code);
        assert!(!resp.contains(ATTR_MESSAGE_INTEGRITY), "400/401 are not signed");
    }
    assert_eq!(ice.poll_event(), None, "nothing selected");
    assert!(!ice.is_validated(from));
}

#[test]
fn garbage_wrong_fingerprint_and_indications_are_dropped_silently() {
    let t0 = Instant::now();
    let mut ice = IceLite::new(creds(), None);
    let from = addr(50_000);
    for junk in [
        &b""[..],
        &[0, 1, 0, 0][..],
        &[0u8; 19][..],
        &[0, 1, 0, 200, 0x21, 0x12, 0xa4, 0x42, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0][..],
    ] {
        let out = ice.handle_stun(t0, from, junk);
        assert_eq!((out.reply, out.refused), (None, Some(CheckRefused::Malformed)));
    }
    let mut req = check(Some("sw01:br0w"), Some("switchboardpassword123"), true);
    let last = req.len() - 1;
    req[last] ^= 0xff;
    let out = ice.handle_stun(t0, from, &req);
    assert_eq!((out.reply, out.refused), (None, Some(CheckRefused::Malformed)));
    let mut ind = Message::new();
    ind.build(&[
        Box::new(TransactionId::new()),
        Box::new(rtc_stun::message::MessageType::new(
            rtc_stun::message::METHOD_BINDING,
            rtc_stun::message::CLASS_INDICATION,
        )),
        Box::new(FINGERPRINT),
    ])
    .expect("indication");
    let out = ice.handle_stun(t0, from, &ind.raw);
    assert_eq!((out.reply, out.refused), (None, Some(CheckRefused::NotARequest)));
}

#[test]
fn rfc5769_2_1_sample_request_authenticates_and_gets_487_for_its_controlled_role() {
    // RFC 5769 §2.1: USERNAME "evtj:h6vY", password "VOkJxbRl1RmTxUk/WvJxBt",
    // and the ICE-CONTROLLED attribute: it authenticates, then the lite
    // agent, always controlled, reports a role conflict (signed).
    let sample: [u8; 108] = [
        0x00, 0x01, 0x00, 0x58, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87,
        0xdf, 0xae, 0x80, 0x22, 0x00, 0x10, 0x53, 0x54, 0x55, 0x4e, 0x20, 0x74, 0x65, 0x73, 0x74, 0x20, 0x63, 0x6c,
        0x69, 0x65, 0x6e, 0x74, 0x00, 0x24, 0x00, 0x04, 0x6e, 0x00, 0x01, 0xff, 0x80, 0x29, 0x00, 0x08, 0x93, 0x2f,
        0xf9, 0xb1, 0x51, 0x26, 0x3b, 0x36, 0x00, 0x06, 0x00, 0x09, 0x65, 0x76, 0x74, 0x6a, 0x3a, 0x68, 0x36, 0x76,
        0x59, 0x20, 0x20, 0x20, 0x00, 0x08, 0x00, 0x14, 0x9a, 0xea, 0xa7, 0x0c, 0xbf, 0xd8, 0xcb, 0x56, 0x78, 0x1e,
        0xf2, 0xb5, 0xb2, 0xd3, 0xf2, 0x49, 0xc1, 0xb5, 0x71, 0xa2, 0x80, 0x28, 0x00, 0x04, 0xe5, 0x7a, 0x3b, 0xcf,
    ];
    let local = IceCredentials {
        ufrag: "evtj".into(),
        pwd: "VOkJxbRl1RmTxUk/WvJxBt".into(),
    };
    let mut ice = IceLite::new(local.clone(), Some("h6vY".into()));
    let out = ice.handle_stun(Instant::now(), addr(50_000), &sample);
    assert_eq!(out.refused, Some(CheckRefused::RoleConflict));
    let mut resp = decode(out.reply.as_ref().expect("487"));
    assert_eq!(error_code(&resp), 487);
    MessageIntegrity::check(&mut resp, local.pwd.as_bytes(), crypto().crypto()).expect("487 is signed");
    // The same vector with a wrong password is 401: the 487 above proves
    // the integrity check passed on RFC 5769's bytes.
    let mut wrong = IceLite::new(
        IceCredentials {
            ufrag: "evtj".into(),
            pwd: "VOkJxbRl1RmTxUk/WvJxBx".into(),
        },
        None,
    );
    assert_eq!(
        wrong.handle_stun(Instant::now(), addr(50_000), &sample).refused,
        Some(CheckRefused::Unauthorized)
    );
}

#[test]
fn rfc7675_consent_expires_after_30_s_without_a_check_and_returns_with_one() {
    let t0 = Instant::now();
    let mut ice = IceLite::new(creds(), Some("br0w".into()));
    let from = addr(50_000);
    let req = || check(Some("sw01:br0w"), Some("switchboardpassword123"), true);
    ice.handle_stun(t0, from, &req());
    assert_eq!(ice.poll_event(), Some(IceEvent::Selected(from)));
    // Chromium's checks every 5 s keep consent.
    let mut now = t0;
    for _ in 0..12 {
        now += Duration::from_secs(5);
        ice.handle_timeout(now);
        ice.handle_stun(now, from, &req());
    }
    assert_eq!(ice.poll_event(), None);
    assert_eq!(ice.poll_timeout(), Some(now + CONSENT_TIMEOUT));
    // Then silence.
    ice.handle_timeout(now + CONSENT_TIMEOUT - Duration::from_millis(1));
    assert_eq!(ice.selected(), Some(from));
    ice.handle_timeout(now + CONSENT_TIMEOUT);
    assert_eq!(ice.poll_event(), Some(IceEvent::ConsentExpired(from)));
    assert_eq!(ice.selected(), None);
    assert!(!ice.is_validated(from));
    assert_eq!(ice.poll_timeout(), None);
    let later = now + CONSENT_TIMEOUT + Duration::from_secs(1);
    ice.handle_stun(later, from, &req());
    assert_eq!(ice.poll_event(), Some(IceEvent::Selected(from)));
}

#[test]
fn ice_restart_with_a_new_remote_ufrag_needs_new_checks() {
    let t0 = Instant::now();
    let mut ice = IceLite::new(creds(), Some("br0w".into()));
    let from = addr(50_000);
    ice.handle_stun(
        t0,
        from,
        &check(Some("sw01:br0w"), Some("switchboardpassword123"), true),
    );
    ice.set_remote_ufrag("n3w1");
    assert!(!ice.is_validated(from));
    let old = ice.handle_stun(
        t0,
        from,
        &check(Some("sw01:br0w"), Some("switchboardpassword123"), true),
    );
    assert_eq!(old.refused, Some(CheckRefused::Unauthorized));
    let new = ice.handle_stun(
        t0,
        from,
        &check(Some("sw01:n3w1"), Some("switchboardpassword123"), true),
    );
    assert_eq!(new.refused, None);
}

#[test]
fn random_credentials_are_valid_ice_chars_and_differ() {
    let mut rng = rand::rng();
    let a = IceCredentials::random(&mut rng);
    let b = IceCredentials::random(&mut rng);
    assert!(IceCredentials::valid_value(&a.ufrag, 4) && IceCredentials::valid_value(&a.pwd, 22));
    assert_ne!(a, b);
    assert!(!IceCredentials::valid_value("abc", 4));
    assert!(!IceCredentials::valid_value("abc d", 4));
    assert!(!format!("{a:?}").contains(&a.pwd), "the password never reaches logs");
}

#[test]
fn rfc8122_fingerprint_round_trips_and_refuses_junk() {
    let id = DtlsIdentity::generate().expect("identity");
    let text = id.fingerprint().to_string();
    assert!(text.starts_with("sha-256 "));
    assert_eq!(text.len(), "sha-256 ".len() + 32 * 3 - 1);
    assert_eq!(Fingerprint::parse(&text).as_ref(), Some(id.fingerprint()));
    assert_eq!(
        Fingerprint::parse(&text.to_lowercase().replace("sha-256", "SHA-256")).as_ref(),
        Some(id.fingerprint())
    );
    for junk in [
        "",
        "sha-256",
        "sha-1 AB:CD",
        "sha-256 AB:CD",
        "md5 00",
        "sha-256 ZZ:00",
        "sha-256 ABC:00",
    ] {
        assert_eq!(Fingerprint::parse(junk), None, "{junk:?}");
    }
}

/// Moves datagrams between two transports until both are quiet, jumping
/// the virtual clock to the next deadline when nothing is in flight.
fn run(a: &mut DtlsTransport, b: &mut DtlsTransport, mut now: Instant, until: Instant) -> Instant {
    while now < until {
        let mut moved = false;
        while let Some(d) = a.poll_transmit() {
            b.handle_datagram(now, &d);
            moved = true;
        }
        while let Some(d) = b.poll_transmit() {
            a.handle_datagram(now, &d);
            moved = true;
        }
        if moved {
            continue;
        }
        let next = [a.poll_timeout(), b.poll_timeout()].into_iter().flatten().min();
        match next {
            Some(t) if t < until => {
                now = t.max(now);
                a.handle_timeout(now);
                b.handle_timeout(now);
            }
            _ => break,
        }
    }
    now
}

#[test]
fn rfc5764_handshake_gives_both_sides_matching_srtp_keys() {
    let t0 = Instant::now();
    let (sid, cid) = (
        DtlsIdentity::generate().expect("id"),
        DtlsIdentity::generate().expect("id"),
    );
    let mut server = DtlsTransport::new(&sid, DtlsRole::Server, vec![cid.fingerprint().clone()]).expect("server");
    let mut client = DtlsTransport::new(&cid, DtlsRole::Client, vec![sid.fingerprint().clone()]).expect("client");
    server.start(t0);
    client.start(t0);
    run(&mut client, &mut server, t0, t0 + Duration::from_secs(5));
    let (Some(DtlsEvent::Connected(sk)), Some(DtlsEvent::Connected(ck))) = (server.poll_event(), client.poll_event())
    else {
        panic!("both sides connect");
    };
    assert_eq!(sk.local, ck.remote);
    assert_eq!(sk.remote, ck.local);
    assert_eq!(
        sk.suite,
        crate::rtp::srtp::SrtpSuite::AesCm128HmacSha1_80,
        "the first profile offered"
    );
    assert_ne!(sk.local, sk.remote);
    // The keys work: SRTP from one side opens on the other.
    let mut tx = SrtpStream::new(&ck).expect("client stream");
    let mut rx = SrtpStream::new(&sk).expect("server stream");
    let rtp = [0x80, 111, 0, 1, 0, 0, 0, 160, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4];
    let sealed = tx.protect_rtp(&rtp).expect("protect");
    assert_ne!(&sealed[12..], &rtp[12..]);
    assert_eq!(&rx.unprotect_rtp(&sealed).expect("unprotect")[..], &rtp[..]);
    assert!(server.is_connected() && client.is_connected());
    assert_eq!(server.poll_timeout(), None, "no timers after the handshake");
}

#[test]
fn rfc5763_certificate_not_matching_the_sdp_fingerprint_fails_the_handshake() {
    let t0 = Instant::now();
    let (sid, cid, other) = (
        DtlsIdentity::generate().expect("id"),
        DtlsIdentity::generate().expect("id"),
        DtlsIdentity::generate().expect("id"),
    );
    // The server expects `other`'s fingerprint; the client has `cid`.
    let mut server = DtlsTransport::new(&sid, DtlsRole::Server, vec![other.fingerprint().clone()]).expect("server");
    let mut client = DtlsTransport::new(&cid, DtlsRole::Client, vec![sid.fingerprint().clone()]).expect("client");
    server.start(t0);
    client.start(t0);
    run(
        &mut client,
        &mut server,
        t0,
        t0 + HANDSHAKE_TIMEOUT + Duration::from_secs(1),
    );
    assert_eq!(
        server.poll_event(),
        Some(DtlsEvent::Failed(DtlsError::FingerprintMismatch))
    );
    assert!(!server.is_connected());
    assert!(
        !matches!(client.poll_event(), Some(DtlsEvent::Connected(_))),
        "the client never gets keys from a server that refused it"
    );
}

#[test]
fn a_handshake_with_no_peer_fails_at_its_deadline() {
    let t0 = Instant::now();
    let id = DtlsIdentity::generate().expect("id");
    let mut client = DtlsTransport::new(&id, DtlsRole::Client, vec![id.fingerprint().clone()]).expect("client");
    client.start(t0);
    let mut now = t0;
    let mut sent = 0;
    while let Some(t) = client.poll_timeout() {
        while client.poll_transmit().is_some() {
            sent += 1;
        }
        now = t;
        client.handle_timeout(now);
    }
    assert!(sent >= 2, "ClientHello was retransmitted ({sent})");
    assert!(now <= t0 + HANDSHAKE_TIMEOUT);
    assert_eq!(client.poll_event(), Some(DtlsEvent::Failed(DtlsError::Timeout)));
}

/// The fuzz entry point runs its seeds clean (`cargo test --features fuzzing`).
#[cfg(feature = "fuzzing")]
#[test]
fn fuzz_entry_runs_the_seed_vectors() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/webrtc");
    let mut n = 0;
    for e in std::fs::read_dir(dir).expect("vectors") {
        let data = std::fs::read(e.expect("entry").path()).expect("vector");
        super::fuzz::datagrams(&data, Instant::now());
        n += 1;
    }
    assert!(n >= 4);
}

/// RFC 8445 §9: after an ICE restart, checks with the old credentials are
/// refused and the new ones are accepted, while the address that carried
/// media keeps doing so (with the consent it had) until then.
#[test]
fn an_ice_restart_takes_new_credentials_and_keeps_media_on_the_old_address() {
    let t0 = Instant::now();
    let mut ice = IceLite::new(creds(), Some("br0w".into()));
    let a = addr(50000);
    let ok = ice.handle_stun(t0, a, &check(Some("sw01:br0w"), Some("switchboardpassword123"), true));
    assert!(ok.refused.is_none());
    assert_eq!(ice.selected(), Some(a));

    let t1 = t0 + Duration::from_secs(10);
    ice.restart(
        IceCredentials {
            ufrag: "sw02".into(),
            pwd: "anotherswitchpassword456".into(),
        },
        "br1w",
    );
    assert_eq!(
        ice.selected(),
        Some(a),
        "media stays on the old pair during the restart"
    );
    assert!(ice.is_validated(a));
    let old = ice.handle_stun(t1, a, &check(Some("sw01:br0w"), Some("switchboardpassword123"), true));
    assert!(old.refused.is_some(), "old credentials refused after the restart");
    let b = addr(50002);
    let new = ice.handle_stun(t1, b, &check(Some("sw02:br1w"), Some("anotherswitchpassword456"), true));
    assert!(new.refused.is_none(), "{:?}", new.refused);
    assert_eq!(ice.selected(), Some(b), "the new nomination moves media");
    // The old address's consent was not refreshed: it lapses 30 s after its last good check.
    ice.handle_timeout(t0 + CONSENT_TIMEOUT + Duration::from_millis(1));
    assert!(!ice.is_validated(a));
    assert!(ice.is_validated(b));
}
