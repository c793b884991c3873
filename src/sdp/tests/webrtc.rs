//! WebRTC offer/answer (issue 12 item 2; RFC 8839, RFC 5763/8842, RFC 8843,
//! RFC 5761): a captured Chromium 156 offer is answered with what a browser
//! requires and nothing it rejects; the switch's own offer to a browser;
//! the browser's answer to it; what is refused.

use std::net::SocketAddr;

use super::crlf;
use crate::sdp::*;

const CHROMIUM_OFFER: &str = include_str!("../../../tests/vectors/sdp/chromium-156-offer.sdp");

fn local() -> SocketAddr {
    "192.0.2.1:20000".parse().unwrap()
}

fn ours(offer: bool) -> LocalWebrtc {
    LocalWebrtc {
        ice_ufrag: "sw01".into(),
        ice_pwd: "switchboardpassword123abc".into(),
        fingerprint:
            "sha-256 AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99"
                .into(),
        ssrc: 305_419_896,
        offer,
    }
}

fn chromium() -> Sdp {
    parse(CHROMIUM_OFFER.as_bytes()).unwrap()
}

fn lines(sdp: &Sdp) -> Vec<String> {
    sdp.print().lines().map(str::to_owned).collect()
}

#[test]
fn chromium_offer_is_answered_with_ice_lite_dtls_passive_opus_and_rtcp_mux() {
    let mut state = SessionState::new(7).with_webrtc(ours(false));
    let a = answer(&chromium(), &LegPolicy::default(), local(), &mut state).expect("answered");
    let text = lines(&a.sdp);
    let has = |l: &str| text.iter().any(|t| t == l);
    // Session level.
    assert!(has("a=ice-lite"), "{text:#?}");
    assert!(has("a=group:BUNDLE 0"));
    // The m-line echoes the profile; Opus first (the offer's number) and
    // telephone-event at Opus's 48 kHz clock.
    assert!(has("m=audio 20000 UDP/TLS/RTP/SAVPF 111 110"), "{text:#?}");
    assert!(has("c=IN IP4 192.0.2.1"));
    assert!(has("a=mid:0"));
    assert!(has("a=ice-ufrag:sw01"));
    assert!(has("a=ice-pwd:switchboardpassword123abc"));
    assert!(text.iter().any(|t| t.starts_with("a=fingerprint:sha-256 AA:BB")));
    assert!(
        has("a=setup:passive"),
        "RFC 5763 §5: the answerer to actpass is passive here"
    );
    assert!(has("a=rtcp-mux"));
    assert!(has("a=rtcp-rsize"));
    assert!(has("a=rtpmap:111 opus/48000/2"));
    assert!(has("a=fmtp:111 minptime=10;useinbandfec=1;usedtx=1"), "FEC and DTX");
    assert!(has("a=rtpmap:110 telephone-event/48000"));
    assert!(has("a=sendrecv"));
    assert!(has("a=ssrc:305419896 cname:switchboard"));
    assert!(has("a=msid:switchboard audio"));
    assert!(has("a=candidate:1 1 udp 2130706431 192.0.2.1 20000 typ host"));
    assert!(has("a=end-of-candidates"));
    // Nothing a browser rejects or we cannot honour.
    for banned in ["a=crypto", "a=extmap", "a=rtcp-fb", "a=ice-options", "a=rtcp:"] {
        assert!(!text.iter().any(|t| t.starts_with(banned)), "{banned} in the answer");
    }
    // What the media session needs.
    let n = &a.negotiated;
    assert_eq!(n.codec, Codec::Opus);
    assert_eq!((n.send_pt, n.recv_pt), (111, 111));
    assert_eq!(
        n.telephone_event.as_ref().map(|t| (t.send_pt, t.clock_rate)),
        Some((110, 48_000))
    );
    assert_eq!(n.direction, Direction::SendRecv, "c=0.0.0.0 with ICE is not hold");
    assert_eq!(n.remote_rtp, None, "no default candidate: ICE decides where media goes");
    assert_eq!(n.srtp, None, "keys come from DTLS");
    let w = n.webrtc.as_ref().expect("WebRTC negotiated");
    assert_eq!(w.ice_ufrag, "d+W6");
    assert_eq!(w.ice_pwd, "Ao8z34bfyH25MINKxm+T9ZkW");
    assert_eq!(w.fingerprints.len(), 1);
    assert!(w.fingerprints[0].starts_with("sha-256 13:E9:56"));
    assert_eq!(w.setup, DtlsSetup::Passive);
    // The answer parses back (what the browser will read).
    assert_eq!(parse(a.sdp.print().as_bytes()).unwrap(), a.sdp);
    assert!(!is_hold(&chromium()), "Chromium's initial offer is not a hold");
}

#[test]
fn a_leg_without_webrtc_credentials_refuses_dtls_srtp_as_before() {
    let mut state = SessionState::new(7);
    let r = answer(&chromium(), &LegPolicy::default(), local(), &mut state);
    assert_eq!(r.unwrap_err(), Rejection::IncompatibleTransport);
}

#[test]
fn webrtc_offers_missing_ice_fingerprint_or_rtcp_mux_are_refused() {
    for (drop, why) in [
        ("a=ice-ufrag:", "no ICE ufrag"),
        ("a=ice-pwd:", "no ICE password"),
        ("a=fingerprint:", "no fingerprint"),
        ("a=rtcp-mux", "no rtcp-mux"),
    ] {
        let text: String = CHROMIUM_OFFER
            .split_inclusive('\n')
            .filter(|l| !(l.starts_with(drop) && (drop != "a=rtcp-mux" || l.trim_end() == "a=rtcp-mux")))
            .collect();
        let offer = parse(text.as_bytes()).unwrap();
        let mut state = SessionState::new(7).with_webrtc(ours(false));
        let r = answer(&offer, &LegPolicy::default(), local(), &mut state);
        assert_eq!(r.unwrap_err(), Rejection::IncompatibleTransport, "{why}");
    }
    let sha1 = CHROMIUM_OFFER.replace("a=fingerprint:sha-256", "a=fingerprint:sha-1");
    let mut state = SessionState::new(7).with_webrtc(ours(false));
    let r = answer(
        &parse(sha1.as_bytes()).unwrap(),
        &LegPolicy::default(),
        local(),
        &mut state,
    );
    assert_eq!(
        r.unwrap_err(),
        Rejection::IncompatibleTransport,
        "sha-1 is not accepted"
    );
    let holdconn = CHROMIUM_OFFER.replace("a=setup:actpass", "a=setup:holdconn");
    let mut state = SessionState::new(7).with_webrtc(ours(false));
    let r = answer(
        &parse(holdconn.as_bytes()).unwrap(),
        &LegPolicy::default(),
        local(),
        &mut state,
    );
    assert_eq!(r.unwrap_err(), Rejection::IncompatibleTransport, "holdconn");
}

#[test]
fn rfc5763_a_passive_offerer_makes_the_switch_the_dtls_client() {
    let text = CHROMIUM_OFFER.replace("a=setup:actpass", "a=setup:passive");
    let mut state = SessionState::new(7).with_webrtc(ours(false));
    let a = answer(
        &parse(text.as_bytes()).unwrap(),
        &LegPolicy::default(),
        local(),
        &mut state,
    )
    .unwrap();
    assert!(lines(&a.sdp).iter().any(|l| l == "a=setup:active"));
    assert_eq!(a.negotiated.webrtc.unwrap().setup, DtlsSetup::Active);
}

#[test]
fn a_browser_hold_reoffer_keeps_credentials_and_is_answered_recvonly() {
    let mut state = SessionState::new(7).with_webrtc(ours(false));
    let first = answer(&chromium(), &LegPolicy::default(), local(), &mut state).unwrap();
    let hold = CHROMIUM_OFFER
        .replace("a=sendrecv", "a=sendonly")
        .replace("o=- 5917629710907336307 2", "o=- 5917629710907336307 3");
    let offer = parse(hold.as_bytes()).unwrap();
    assert!(is_hold(&offer));
    let again = answer(&offer, &LegPolicy::default(), local(), &mut state).unwrap();
    let text = lines(&again.sdp);
    assert!(text.iter().any(|l| l == "a=recvonly"));
    for keep in [
        "a=ice-ufrag:sw01",
        "a=ice-pwd:switchboardpassword123abc",
        "a=setup:passive",
    ] {
        assert!(text.iter().any(|l| l == keep), "{keep} kept for the leg's life");
    }
    assert_eq!(again.sdp.origin.session_version, first.sdp.origin.session_version + 1);
}

/// RFC 8839 §4.4.1.1: a re-offer with a new ice-ufrag and ice-pwd restarts
/// ICE, and the answer carries new credentials of the switch's too (the
/// fingerprint and the DTLS role stay: RFC 8842 §4 keeps the association).
/// The leg keeps the new ones for later exchanges; a rejected re-offer
/// changes nothing.
#[test]
fn an_ice_restart_reoffer_gets_new_switch_credentials_and_the_same_dtls() {
    let mut state = SessionState::new(7).with_webrtc(ours(false));
    answer(&chromium(), &LegPolicy::default(), local(), &mut state).unwrap();
    let restart = CHROMIUM_OFFER
        .replace("a=ice-ufrag:d+W6", "a=ice-ufrag:N3w9")
        .replace(
            "a=ice-pwd:Ao8z34bfyH25MINKxm+T9ZkW",
            "a=ice-pwd:Zq7PnewpasswordforRestart",
        )
        .replace("o=- 5917629710907336307 2", "o=- 5917629710907336307 3");
    let again = answer(
        &parse(restart.as_bytes()).unwrap(),
        &LegPolicy::default(),
        local(),
        &mut state,
    )
    .unwrap();
    let text = lines(&again.sdp);
    let value = |name: &str| {
        text.iter()
            .find_map(|l| l.strip_prefix(name).map(str::to_owned))
            .unwrap_or_else(|| panic!("{name} in {text:#?}"))
    };
    let (ufrag, pwd) = (value("a=ice-ufrag:"), value("a=ice-pwd:"));
    assert_ne!(ufrag, "sw01", "new ufrag on a restart");
    assert_ne!(pwd, "switchboardpassword123abc", "new pwd on a restart");
    assert!(crate::webrtc::ice_lite::IceCredentials::valid_value(&ufrag, 4));
    assert!(crate::webrtc::ice_lite::IceCredentials::valid_value(&pwd, 22));
    assert!(text.iter().any(|l| l.starts_with("a=fingerprint:sha-256 AA:BB")));
    assert!(text.iter().any(|l| l == "a=setup:passive"));
    assert_eq!(state.webrtc().map(|w| w.ice_ufrag.clone()), Some(ufrag.clone()));
    let n = again.negotiated.webrtc.expect("WebRTC");
    assert_eq!(
        (n.ice_ufrag.as_str(), n.ice_pwd.as_str()),
        ("N3w9", "Zq7PnewpasswordforRestart")
    );

    // The same credentials again (a hold re-offer after the restart): kept.
    let hold = restart
        .replace("a=sendrecv", "a=sendonly")
        .replace("o=- 5917629710907336307 3", "o=- 5917629710907336307 4");
    let held = answer(
        &parse(hold.as_bytes()).unwrap(),
        &LegPolicy::default(),
        local(),
        &mut state,
    )
    .unwrap();
    assert!(lines(&held.sdp).contains(&format!("a=ice-ufrag:{ufrag}")));
    assert!(lines(&held.sdp).contains(&format!("a=ice-pwd:{pwd}")));

    // A restart offer that cannot be answered (no rtcp-mux) leaves the leg as it was.
    let bad = restart
        .replace("a=ice-ufrag:N3w9", "a=ice-ufrag:Bad0")
        .replace("a=rtcp-mux\r\n", "")
        .replace("a=rtcp-mux\n", "");
    assert!(answer(
        &parse(bad.as_bytes()).unwrap(),
        &LegPolicy::default(),
        local(),
        &mut state
    )
    .is_err());
    assert_eq!(state.webrtc().map(|w| w.ice_ufrag.clone()), Some(ufrag));
}

#[test]
fn the_switch_offers_a_browser_webrtc_with_actpass_and_accepts_its_answer() {
    let mut state = SessionState::new(9).with_webrtc(ours(true));
    let o = offer(&LegPolicy::default(), local(), Direction::SendRecv, &mut state);
    let text = lines(&o);
    let has = |l: &str| text.iter().any(|t| t == l);
    assert!(has("a=ice-lite") && has("a=group:BUNDLE 0"), "{text:#?}");
    assert!(
        has("m=audio 20000 UDP/TLS/RTP/SAVPF 111 0 8 101 110"),
        "Opus first: {text:#?}"
    );
    assert!(has("a=mid:0") && has("a=setup:actpass") && has("a=rtcp-mux") && has("a=end-of-candidates"));
    assert!(has("a=fmtp:111 minptime=10;useinbandfec=1;usedtx=1"));
    assert!(
        !text.iter().any(|l| l.starts_with("a=crypto")),
        "no SDES with DTLS (RFC 8827 §5.5)"
    );

    // Chromium's answer (active: it will send ClientHello).
    let browser = crlf(
        "v=0\no=- 77 2 IN IP4 127.0.0.1\ns=-\nt=0 0\na=group:BUNDLE 0\n\
         m=audio 9 UDP/TLS/RTP/SAVPF 111 110\nc=IN IP4 0.0.0.0\na=rtcp:9 IN IP4 0.0.0.0\n\
         a=ice-ufrag:Br0w\na=ice-pwd:browserpasswordbrowser12\n\
         a=fingerprint:sha-256 13:E9:56:85:79:52:02:61:82:BA:9B:AF:19:E1:7D:AE:E4:A3:28:7B:9E:CB:92:EB:46:C8:32:B7:37:A4:E5:09\n\
         a=setup:active\na=mid:0\na=sendrecv\na=rtcp-mux\na=rtpmap:111 opus/48000/2\n\
         a=fmtp:111 minptime=10;useinbandfec=1\na=rtpmap:110 telephone-event/48000\n",
    );
    let n = accept_answer(&parse(browser.as_bytes()).unwrap(), &mut state).expect("accepted");
    assert_eq!(n.codec, Codec::Opus);
    assert_eq!(n.direction, Direction::SendRecv);
    let w = n.webrtc.expect("WebRTC");
    assert_eq!((w.ice_ufrag.as_str(), w.setup), ("Br0w", DtlsSetup::Passive));

    // The same answer without ICE credentials is invalid.
    let mut state = SessionState::new(9).with_webrtc(ours(true));
    offer(&LegPolicy::default(), local(), Direction::SendRecv, &mut state);
    let bare = browser.replace("a=ice-ufrag:Br0w\r\n", "");
    assert_eq!(
        accept_answer(&parse(bare.as_bytes()).unwrap(), &mut state).unwrap_err(),
        AnswerError::WebrtcIncomplete
    );
}

#[test]
fn a_phone_leg_with_webrtc_credentials_but_no_offer_flag_still_gets_plain_rtp_offers() {
    let mut state = SessionState::new(9).with_webrtc(ours(false));
    let o = offer(&LegPolicy::default(), local(), Direction::SendRecv, &mut state);
    let text = lines(&o);
    assert!(
        text.iter().any(|l| l == "m=audio 20000 RTP/AVP 0 8 111 101 110"),
        "{text:#?}"
    );
    assert!(!text
        .iter()
        .any(|l| l.starts_with("a=ice") || l.starts_with("a=fingerprint")));
}
