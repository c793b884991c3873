//! SDES offer/answer per the leg's SRTP policy (RFC 4568 §7.1, RFC 3264 §6,
//! issue 11 item 2): what is answered, what is refused with which Warning,
//! what the switch offers, and which keys each side ends with.

use std::net::SocketAddr;

use super::crlf;
use crate::rtp::srtp::{MasterKey, SrtpSuite};
use crate::sdp::*;

const PHONE_KEY: &str = "WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz";
const OTHER_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd";

fn sdp(s: &str) -> Sdp {
    parse(crlf(s).as_bytes()).unwrap()
}

fn local() -> SocketAddr {
    "192.0.2.1:20000".parse().unwrap()
}

fn our_key() -> MasterKey {
    MasterKey::new([7; 30])
}

fn state(policy: SrtpPolicy) -> SessionState {
    SessionState::new(42).with_srtp(LocalSrtp {
        policy,
        key: Some(our_key()),
    })
}

/// An audio offer over `proto` with `crypto` lines.
fn offer_with(proto: &str, crypto: &[&str]) -> Sdp {
    let mut s = format!(
        "v=0\no=phone 1 1 IN IP4 198.51.100.7\ns=-\nc=IN IP4 198.51.100.7\nt=0 0\nm=audio 4000 {proto} 0 101\na=rtpmap:0 PCMU/8000\na=rtpmap:101 telephone-event/8000\n"
    );
    for c in crypto {
        s.push_str(&format!("a=crypto:{c}\n"));
    }
    sdp(&s)
}

fn answer_as(policy: SrtpPolicy, offer: &Sdp) -> Result<Answer, Rejection> {
    answer(offer, &LegPolicy::default(), local(), &mut state(policy))
}

fn key80() -> String {
    format!("1 AES_CM_128_HMAC_SHA1_80 inline:{PHONE_KEY}|2^20")
}

/// RFC 4568 §7.1.2: an RTP/SAVP offer is answered RTP/SAVP with one
/// a=crypto line: the offer's tag and suite, the switch's own key.
#[test]
fn rfc4568_s7_1_2_savp_offer_gets_savp_answer_with_our_key() {
    for policy in [SrtpPolicy::Optional, SrtpPolicy::Mandatory] {
        let offer = offer_with(
            "RTP/SAVP",
            &[
                &format!("5 AES_256_CM_HMAC_SHA1_80 inline:{OTHER_KEY}"),
                &format!("6 AES_CM_128_HMAC_SHA1_32 inline:{PHONE_KEY}|2^31"),
                &format!("7 AES_CM_128_HMAC_SHA1_80 inline:{OTHER_KEY}"),
            ],
        );
        let a = answer_as(policy, &offer).unwrap();
        let m = &a.sdp.media[0];
        assert_eq!(m.proto, Proto::RtpSavp);
        let lines: Vec<_> = m.crypto().collect();
        assert_eq!(lines.len(), 1, "one a=crypto in the answer");
        assert_eq!(
            lines[0].tag, 6,
            "the first line the switch can use (unknown suite skipped)"
        );
        assert_eq!(lines[0].suite, "AES_CM_128_HMAC_SHA1_32");
        assert_eq!(lines[0].key_params, format!("inline:{}", our_key().to_base64()));
        let keys = a.negotiated.srtp.clone().unwrap();
        assert_eq!(keys.suite, SrtpSuite::AesCm128HmacSha1_32);
        assert_eq!(keys.local, our_key(), "we send with the key in our SDP");
        assert_eq!(keys.remote.to_base64(), PHONE_KEY, "the phone sends with its own");
        assert!(a.sdp.print().contains("a=crypto:6 AES_CM_128_HMAC_SHA1_32 inline:"));
    }
}

/// `off` keeps today's behaviour: RTP/SAVP refused (488, Warning 302),
/// a=crypto over RTP/AVP ignored, the call in clear.
#[test]
fn srtp_off_refuses_savp_and_ignores_best_effort_keys() {
    let savp = offer_with("RTP/SAVP", &[&key80()]);
    let err = answer_as(SrtpPolicy::Off, &savp).unwrap_err();
    assert_eq!((err, err.warn_code()), (Rejection::IncompatibleTransport, 302));
    let avp = offer_with("RTP/AVP", &[&key80()]);
    let a = answer_as(SrtpPolicy::Off, &avp).unwrap();
    assert_eq!(a.negotiated.srtp, None);
    assert_eq!(a.sdp.media[0].crypto().count(), 0);
    assert_eq!(a.sdp.media[0].proto, Proto::RtpAvp);
}

/// Best-effort SRTP (a=crypto over RTP/AVP, phones' "SRTP optional") is
/// taken when the policy allows SRTP; plain RTP/AVP is taken by
/// `optional` and refused by `mandatory`.
#[test]
fn best_effort_keys_and_plain_offers_per_policy() {
    let avp_keyed = offer_with("RTP/AVP", &[&key80()]);
    for policy in [SrtpPolicy::Optional, SrtpPolicy::Mandatory] {
        let a = answer_as(policy, &avp_keyed).unwrap();
        assert_eq!(a.sdp.media[0].proto, Proto::RtpAvp, "answered in the offer's profile");
        assert_eq!(a.sdp.media[0].crypto().count(), 1);
        assert_eq!(a.negotiated.srtp.unwrap().suite, SrtpSuite::AesCm128HmacSha1_80);
    }
    let plain = offer_with("RTP/AVP", &[]);
    assert_eq!(answer_as(SrtpPolicy::Optional, &plain).unwrap().negotiated.srtp, None);
    let err = answer_as(SrtpPolicy::Mandatory, &plain).unwrap_err();
    assert_eq!(err, Rejection::SrtpRequired);
    assert_eq!(
        err.warning("switchboard"),
        "302 switchboard \"Incompatible transport protocol\""
    );
}

/// RFC 4568 §7.1.2: an RTP/SAVP stream whose a=crypto lines the switch
/// cannot use is refused (MKI, session parameters, other suites, bad keys).
#[test]
fn rfc4568_s7_1_2_savp_without_a_usable_key_is_refused() {
    let unusable = offer_with(
        "RTP/SAVP",
        &[
            &format!("1 AES_CM_128_HMAC_SHA1_80 inline:{PHONE_KEY}|2^20|1:4"),
            &format!("2 AES_CM_128_HMAC_SHA1_80 inline:{PHONE_KEY} UNENCRYPTED_SRTP"),
            &format!("3 AEAD_AES_128_GCM inline:{PHONE_KEY}"),
            "4 AES_CM_128_HMAC_SHA1_80 inline:dG9vIHNob3J0",
        ],
    );
    for policy in [SrtpPolicy::Optional, SrtpPolicy::Mandatory] {
        assert_eq!(answer_as(policy, &unusable).unwrap_err(), Rejection::NoUsableCrypto);
    }
    let bare = offer_with("RTP/SAVP", &[]);
    assert_eq!(
        answer_as(SrtpPolicy::Optional, &bare).unwrap_err(),
        Rejection::NoUsableCrypto
    );
}

/// A second, plain stream after a refused SAVP one is taken by `optional`
/// (RFC 3264 §6: the refused one gets port 0).
#[test]
fn savp_and_avp_alternatives_take_the_usable_one() {
    let s = format!(
        "v=0\no=p 1 1 IN IP4 198.51.100.7\ns=-\nc=IN IP4 198.51.100.7\nt=0 0\nm=audio 4000 RTP/SAVP 0\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:{PHONE_KEY}\nm=audio 4002 RTP/AVP 0\n"
    );
    let a = answer_as(SrtpPolicy::Off, &sdp(&s)).unwrap();
    assert_eq!((a.sdp.media[0].port, a.sdp.media[1].port), (0, 20000));
    let a = answer_as(SrtpPolicy::Optional, &sdp(&s)).unwrap();
    assert_eq!(
        (a.sdp.media[0].port, a.sdp.media[1].port),
        (20000, 0),
        "the SRTP stream first"
    );
    assert!(a.negotiated.srtp.is_some());
}

/// `mandatory` with no key (a leg made without one) refuses rather than
/// falling back to clear.
#[test]
fn mandatory_without_a_key_fails_closed() {
    let mut st = SessionState::new(1).with_srtp(LocalSrtp {
        policy: SrtpPolicy::Mandatory,
        key: None,
    });
    let err = answer(
        &offer_with("RTP/SAVP", &[&key80()]),
        &LegPolicy::default(),
        local(),
        &mut st,
    )
    .unwrap_err();
    assert_eq!(err, Rejection::NoUsableCrypto);
}

fn answer_to(offer: &Sdp, proto: &str, crypto: &[&str]) -> Sdp {
    let mut s = format!(
        "v=0\no=callee 9 1 IN IP4 203.0.113.5\ns=-\nc=IN IP4 203.0.113.5\nt=0 0\nm=audio 5000 {proto} 0\na=rtpmap:0 PCMU/8000\n"
    );
    for c in crypto {
        s.push_str(&format!("a=crypto:{c}\n"));
    }
    assert_eq!(offer.media.len(), 1);
    sdp(&s)
}

/// What the switch offers per policy: RTP/AVP in clear (`off`), RTP/AVP
/// with keys (`optional`, best effort), RTP/SAVP with keys (`mandatory`),
/// one a=crypto per suite in order of preference, the leg's key in each.
#[test]
fn offers_per_policy() {
    let mut st = state(SrtpPolicy::Off);
    let o = offer(&LegPolicy::default(), local(), Direction::SendRecv, &mut st);
    assert_eq!(
        (o.media[0].proto.clone(), o.media[0].crypto().count()),
        (Proto::RtpAvp, 0)
    );
    for (policy, proto) in [
        (SrtpPolicy::Optional, Proto::RtpAvp),
        (SrtpPolicy::Mandatory, Proto::RtpSavp),
    ] {
        let mut st = state(policy);
        let o = offer(&LegPolicy::default(), local(), Direction::SendRecv, &mut st);
        assert_eq!(o.media[0].proto, proto);
        let lines: Vec<_> = o.media[0]
            .crypto()
            .map(|c| (c.tag, c.suite.clone(), c.key_params.clone()))
            .collect();
        let inline = format!("inline:{}", our_key().to_base64());
        assert_eq!(
            lines,
            vec![
                (1, "AES_CM_128_HMAC_SHA1_80".to_owned(), inline.clone()),
                (2, "AES_CM_128_HMAC_SHA1_32".to_owned(), inline),
            ]
        );
    }
}

/// RFC 4568 §7.1.3: the answer's a=crypto (a tag and suite we offered)
/// gives the keys; an answer ignoring our best-effort keys leaves the leg
/// in clear; a `mandatory` offer answered without a key fails.
#[test]
fn rfc4568_s7_1_3_answers_to_our_offer() {
    let mut st = state(SrtpPolicy::Optional);
    let o = offer(&LegPolicy::default(), local(), Direction::SendRecv, &mut st);
    let a = answer_to(
        &o,
        "RTP/AVP",
        &[&format!("2 AES_CM_128_HMAC_SHA1_32 inline:{PHONE_KEY}")],
    );
    let keys = accept_answer(&a, &mut st).unwrap().srtp.unwrap();
    assert_eq!(
        (keys.suite, keys.local, keys.remote.to_base64()),
        (SrtpSuite::AesCm128HmacSha1_32, our_key(), PHONE_KEY.to_owned())
    );

    let mut st = state(SrtpPolicy::Optional);
    let o = offer(&LegPolicy::default(), local(), Direction::SendRecv, &mut st);
    assert_eq!(
        accept_answer(&answer_to(&o, "RTP/AVP", &[]), &mut st).unwrap().srtp,
        None
    );

    let mut st = state(SrtpPolicy::Mandatory);
    let o = offer(&LegPolicy::default(), local(), Direction::SendRecv, &mut st);
    assert_eq!(
        accept_answer(&answer_to(&o, "RTP/SAVP", &[]), &mut st).unwrap_err(),
        AnswerError::NoCrypto
    );
    // A tag we offered with another suite is no agreement.
    let mismatched = answer_to(
        &o,
        "RTP/SAVP",
        &[&format!("1 AES_CM_128_HMAC_SHA1_32 inline:{PHONE_KEY}")],
    );
    assert_eq!(accept_answer(&mismatched, &mut st).unwrap_err(), AnswerError::NoCrypto);
    let good = answer_to(
        &o,
        "RTP/SAVP",
        &[&format!("1 AES_CM_128_HMAC_SHA1_80 inline:{PHONE_KEY}")],
    );
    assert_eq!(
        accept_answer(&good, &mut st).unwrap().srtp.unwrap().suite,
        SrtpSuite::AesCm128HmacSha1_80
    );
}

/// A re-offer (hold) keeps the leg's key, so the SRTP state survives it
/// (RFC 3264 §8, RFC 4568 §7.1.4).
#[test]
fn re_offers_keep_the_key() {
    let mut st = state(SrtpPolicy::Mandatory);
    let first = offer(&LegPolicy::default(), local(), Direction::SendRecv, &mut st);
    let a = answer_to(
        &first,
        "RTP/SAVP",
        &[&format!("1 AES_CM_128_HMAC_SHA1_80 inline:{PHONE_KEY}")],
    );
    let before = accept_answer(&a, &mut st).unwrap().srtp;
    let hold = offer(&LegPolicy::default(), local(), Direction::SendOnly, &mut st);
    let key_of = |s: &Sdp| s.media[0].crypto().map(|c| c.key_params.clone()).collect::<Vec<_>>();
    assert_eq!(key_of(&hold), key_of(&first));
    let a = answer_to(
        &hold,
        "RTP/SAVP",
        &[&format!("1 AES_CM_128_HMAC_SHA1_80 inline:{PHONE_KEY}")],
    );
    let a = sdp(&a.print().replace("a=crypto", "a=recvonly\r\na=crypto"));
    assert_eq!(accept_answer(&a, &mut st).unwrap().srtp, before);
}

/// Keys never print in Debug: not the switch's, not the phone's.
#[test]
fn keys_stay_out_of_debug_output() {
    let a = answer_as(SrtpPolicy::Optional, &offer_with("RTP/SAVP", &[&key80()])).unwrap();
    let shown = format!("{:?} {:?}", a.negotiated, offer_with("RTP/SAVP", &[&key80()]));
    assert!(!shown.contains(PHONE_KEY), "{shown}");
    assert!(!shown.contains(&our_key().to_base64()), "{shown}");
}
