//! SRTP with SDES keys end to end (issue 11 item 2; RFC 3711, RFC 4568),
//! over real loopback sockets:
//!
//! - our test UA offers `RTP/SAVP` with a key and encrypts with `rtc-srtp`;
//!   the callee is plain RTP: the switch decrypts one leg and encrypts the
//!   other, every payload arrives intact both ways, and neither key
//!   appears in the switch's debug log;
//! - a `mandatory` profile refuses a plain offer with 488 and Warning 302;
//! - a trunk on a `mandatory` external profile is offered RTP/SAVP and its
//!   leg is SRTP while the phone's stays plain;
//! - two baresip phones, one with SRTP (`mediaenc=srtp-mand`, RTP/SAVP)
//!   and one plain, call each other and each hears the other's tone.

mod common;

use common::baresip::{heard_levels, Account, Baresip};
use common::media::{
    ack_2xx, answered_call, authorized_invite, next_final, next_request, rtp_packet, rtp_rtcp_sockets, rtp_socket,
    sdp_rtp, AudioSdp, CallSpec,
};
use common::ua::{self, Ua};
use common::{ConfigDir, Switch};
use std::net::UdpSocket;
use std::time::Duration;
use switchboard::rtp::srtp::{MasterKey, SrtpKeys, SrtpStream, SrtpSuite};
use switchboard::sdp::{self, Proto, SdesCrypto};
use switchboard::sip::msg::{HeaderName, Message, Method, StatusCode};

/// The caller's sending key (base64 of 30 bytes).
const CALLER_KEY: &str = "d2hhdCB0aGUgY2FsbGVyIHNlbmRzIHdpdGghISEh";
const PACKETS: u16 = 30;
const T: Duration = Duration::from_secs(10);

/// The default config with the internal profile's `srtp` set to `policy`.
fn config(policy: &str) -> ConfigDir {
    let cfg = ConfigDir::from_default();
    cfg.patch(
        "internal.toml",
        "# srtp = \"optional\"",
        &format!("srtp = \"{policy}\""),
    );
    cfg
}

fn recv_all(sock: &UdpSocket, n: usize) -> Vec<Vec<u8>> {
    sock.set_read_timeout(Some(Duration::from_secs(2))).expect("timeout");
    let mut out = Vec::new();
    let mut buf = [0u8; 2048];
    while out.len() < n {
        let Ok((len, _)) = sock.recv_from(&mut buf) else { break };
        out.push(buf[..len].to_vec());
    }
    out
}

fn payload(i: u16, salt: u8) -> Vec<u8> {
    (0..160u16).map(|k| (k as u8) ^ (i as u8) ^ salt).collect()
}

#[test]
fn an_srtp_caller_and_a_plain_callee_talk_through_the_switch() {
    let cfg = config("optional");
    let sw = Switch::start_with(Some(cfg.path()), &[]);
    let spec = CallSpec {
        offer: AudioSdp::pcmu().with(
            "RTP/SAVP",
            &[
                &format!("crypto:1 AES_CM_128_HMAC_SHA1_80 inline:{CALLER_KEY}|2^20"),
                &format!("crypto:2 AES_CM_128_HMAC_SHA1_32 inline:{CALLER_KEY}|2^20"),
            ],
        ),
        ..CallSpec::default()
    };
    let mut call = answered_call(&sw, &spec);

    // The caller's answer: RTP/SAVP, one key for the first suite, the switch's own.
    let a_sdp = sdp::parse(&call.a_ok.body).expect("the 200's SDP");
    let m = &a_sdp.media[0];
    assert_eq!(m.proto, Proto::RtpSavp, "{}", a_sdp.print());
    let lines: Vec<SdesCrypto> = m.crypto().filter_map(SdesCrypto::read).collect();
    assert_eq!(lines.len(), 1, "{}", a_sdp.print());
    assert_eq!((lines[0].tag, lines[0].suite), (1, SrtpSuite::AesCm128HmacSha1_80));
    let switch_key = lines[0].key.clone();
    assert_ne!(switch_key.to_base64(), CALLER_KEY, "the switch sends with its own key");
    // The callee (optional profile) was offered keys over RTP/AVP (best
    // effort); it answered plain, so its leg is plain RTP.
    let b_sdp = sdp::parse(&call.b_invite.body).expect("the callee's offer");
    assert_eq!(b_sdp.media[0].proto, Proto::RtpAvp);
    let b_keys: Vec<SdesCrypto> = b_sdp.media[0].crypto().filter_map(SdesCrypto::read).collect();
    assert_eq!(b_keys.len(), 2, "{}", b_sdp.print());
    assert_ne!(b_keys[0].key, switch_key, "each leg has its own key");

    let caller_key = MasterKey::from_base64(CALLER_KEY).expect("30 bytes");
    let mut phone = SrtpStream::new(&SrtpKeys {
        suite: SrtpSuite::AesCm128HmacSha1_80,
        local: caller_key,
        remote: switch_key.clone(),
    })
    .expect("keys");

    // Caller -> callee: SRTP in, plain out, payloads intact.
    for i in 0..PACKETS {
        let plain = rtp_packet(false, 0, 1000 + i, u32::from(i) * 160, 0xc0ffee, &payload(i, 0));
        let wire = phone.protect_rtp(&plain).expect("protect");
        call.caller_rtp.send_to(&wire, call.a_media).expect("send");
        std::thread::sleep(Duration::from_millis(2));
    }
    let got = recv_all(&call.callee_rtp, usize::from(PACKETS));
    assert_eq!(got.len(), usize::from(PACKETS), "every packet reaches the callee");
    for (i, p) in got.iter().enumerate() {
        assert_eq!(p.len(), 172, "plain RTP to the plain leg");
        assert_eq!(&p[12..], &payload(i as u16, 0)[..], "packet {i} decrypted intact");
    }

    // Callee -> caller: plain in, SRTP out, the caller's context opens it.
    for i in 0..PACKETS {
        let plain = rtp_packet(false, 0, 2000 + i, u32::from(i) * 160, 0xbeef, &payload(i, 0x5a));
        call.callee_rtp.send_to(&plain, call.b_media).expect("send");
        std::thread::sleep(Duration::from_millis(2));
    }
    let got = recv_all(&call.caller_rtp, usize::from(PACKETS));
    assert_eq!(got.len(), usize::from(PACKETS), "every packet reaches the caller");
    for (i, wire) in got.iter().enumerate() {
        assert_eq!(wire.len(), 172 + 10, "an 80-bit tag");
        assert_ne!(&wire[12..172], &payload(i as u16, 0x5a)[..], "encrypted on the wire");
        let plain = phone.unprotect_rtp(wire).expect("the switch's SRTP authenticates");
        assert_eq!(&plain[12..], &payload(i as u16, 0x5a)[..], "packet {i} intact");
    }

    // A forged packet is dropped, not relayed.
    let mut forged = phone
        .protect_rtp(&rtp_packet(false, 0, 1000 + PACKETS, 0, 0xc0ffee, &payload(0, 0)))
        .expect("protect")
        .to_vec();
    let last = forged.len() - 1;
    forged[last] ^= 1;
    call.caller_rtp.send_to(&forged, call.a_media).expect("send");
    assert!(
        recv_all(&call.callee_rtp, 1).is_empty(),
        "a forged packet reaches nobody"
    );

    call.hang_up();
    let log = sw.log();
    assert!(
        log.contains("caller_media=SRTP AES_CM_128_HMAC_SHA1_80 callee_media=RTP"),
        "the log says how each leg travels:\n{log}"
    );
    for key in [
        CALLER_KEY.trim_end_matches('='),
        switch_key.to_base64().trim_end_matches('='),
    ] {
        assert!(!log.contains(key), "a key reached the log");
    }
    for k in &b_keys {
        assert!(
            !log.contains(k.key.to_base64().trim_end_matches('=')),
            "a key reached the log"
        );
    }
}

#[test]
fn a_mandatory_profile_refuses_a_plain_offer_with_488() {
    let cfg = config("mandatory");
    let sw = Switch::start_with(Some(cfg.path()), &[]);
    let mut callee = Ua::udp(sw.internal_addr());
    assert_eq!(callee.register("1001", "demo-1001"), StatusCode::OK);
    let mut caller = Ua::udp(sw.internal_addr());
    let mut invite = caller.invite("1002", "1001");
    let rtp = rtp_socket();
    let port = rtp.local_addr().expect("addr").port();
    invite.body = AudioSdp::pcmu().body("caller", 1, port, "sendrecv").into();
    let invite = authorized_invite(&mut caller, &invite);
    caller.send(&invite);
    let resp = next_final(&mut caller);
    assert_eq!(ua::code(&resp), 488, "{}", ua::text(&resp));
    let warning = resp.headers.get(&HeaderName::Warning).expect("a Warning");
    assert_eq!(
        String::from_utf8_lossy(warning),
        "302 switchboard \"Incompatible transport protocol\""
    );
}

#[test]
fn a_trunk_on_a_mandatory_profile_gets_srtp_while_the_phone_stays_plain() {
    const TRUNK_KEY: &str = "dGhlIGNhcnJpZXIncyBvd24ga2V5IGZvciBTUlRQ";
    let trunk_sock = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let trunk_port = trunk_sock.local_addr().expect("addr").port();
    let cfg = ConfigDir::from_default();
    cfg.patch("external.toml", "# srtp = \"optional\"", "srtp = \"mandatory\"");
    cfg.patch("trunks.toml", "127.0.0.1:5090", &format!("127.0.0.1:{trunk_port}"));
    let sw = Switch::start_with(Some(cfg.path()), &[]);
    let mut trunk = Ua::from_udp(trunk_sock, sw.external_addr());

    let mut caller = Ua::udp(sw.internal_addr());
    let (caller_rtp, _caller_rtcp) = rtp_rtcp_sockets();
    let mut invite = caller.invite("1002", "5551234");
    let port = caller_rtp.local_addr().expect("addr").port();
    invite.body = AudioSdp::pcmu().body("caller", 1, port, "sendrecv").into();
    let invite = authorized_invite(&mut caller, &invite);
    caller.send(&invite);

    // The carrier is offered RTP/SAVP with a key per suite.
    let b_invite = next_request(&mut trunk, Method::INVITE);
    let offer = sdp::parse(&b_invite.body).expect("SDP");
    assert_eq!(offer.media[0].proto, Proto::RtpSavp, "{}", offer.print());
    let offered: Vec<SdesCrypto> = offer.media[0].crypto().filter_map(SdesCrypto::read).collect();
    assert_eq!(
        offered.iter().map(|c| (c.tag, c.suite)).collect::<Vec<_>>(),
        vec![(1, SrtpSuite::AesCm128HmacSha1_80), (2, SrtpSuite::AesCm128HmacSha1_32)]
    );
    let b_media = sdp_rtp(&b_invite.body);
    let (trunk_rtp, _trunk_rtcp) = rtp_rtcp_sockets();
    let mut ok = Message::response_to(&b_invite, StatusCode::OK, None, Some("carrier1"));
    ok.headers
        .push(HeaderName::Contact, format!("<sip:5551234@{}>", trunk.local_addr()));
    ok.headers.push(HeaderName::ContentType, "application/sdp");
    let answer = AudioSdp::pcmu()
        .with(
            "RTP/SAVP",
            &[&format!("crypto:2 AES_CM_128_HMAC_SHA1_32 inline:{TRUNK_KEY}")],
        )
        .body("carrier", 1, trunk_rtp.local_addr().expect("addr").port(), "sendrecv");
    ok.body = answer.into();
    trunk.send(&ok);

    // The phone's leg is plain RTP (internal profile: off).
    let a_ok = next_final(&mut caller);
    assert_eq!(ua::code(&a_ok), 200, "{}", ua::text(&a_ok));
    let a_sdp = sdp::parse(&a_ok.body).expect("SDP");
    assert_eq!(
        (a_sdp.media[0].proto.clone(), a_sdp.media[0].crypto().count()),
        (Proto::RtpAvp, 0)
    );
    ack_2xx(&mut caller, &invite, &a_ok);
    next_request(&mut trunk, Method::ACK);

    // What the phone says reaches the carrier as SRTP with the _32 suite.
    let mut carrier = SrtpStream::new(&SrtpKeys {
        suite: SrtpSuite::AesCm128HmacSha1_32,
        local: MasterKey::from_base64(TRUNK_KEY).expect("30 bytes"),
        remote: offered[1].key.clone(),
    })
    .expect("keys");
    let a_media = sdp_rtp(&a_ok.body);
    for i in 0..PACKETS {
        let plain = rtp_packet(false, 0, 10 + i, u32::from(i) * 160, 0x1002, &payload(i, 7));
        caller_rtp.send_to(&plain, a_media).expect("send");
        std::thread::sleep(Duration::from_millis(2));
    }
    let got = recv_all(&trunk_rtp, usize::from(PACKETS));
    assert_eq!(got.len(), usize::from(PACKETS));
    for (i, wire) in got.iter().enumerate() {
        assert_eq!(wire.len(), 172 + 4, "a 32-bit tag");
        let plain = carrier
            .unprotect_rtp(wire)
            .expect("the carrier authenticates the switch's SRTP");
        assert_eq!(&plain[12..], &payload(i as u16, 7)[..]);
    }
    // And what the carrier says reaches the phone in clear.
    for i in 0..PACKETS {
        let plain = rtp_packet(false, 0, 500 + i, u32::from(i) * 160, 0xcafe, &payload(i, 9));
        let wire = carrier.protect_rtp(&plain).expect("protect");
        trunk_rtp.send_to(&wire, b_media).expect("send");
        std::thread::sleep(Duration::from_millis(2));
    }
    let got = recv_all(&caller_rtp, usize::from(PACKETS));
    assert_eq!(got.len(), usize::from(PACKETS));
    for (i, p) in got.iter().enumerate() {
        assert_eq!(&p[12..], &payload(i as u16, 9)[..]);
    }
    let log = sw.log();
    assert!(
        log.contains("caller_media=RTP callee_media=SRTP AES_CM_128_HMAC_SHA1_32"),
        "{log}"
    );
}

/// baresip 1001 (`mediaenc` `caller_enc`, saying 440 Hz) calls baresip
/// 1002 (`callee_enc`, 880 Hz) through an `optional` profile; the log must
/// show each leg as `caller_media`/`callee_media`, and each phone must hear
/// the other's tone.
fn baresip_call(caller_enc: Option<&str>, callee_enc: Option<&str>, caller_media: &str, callee_media: &str) {
    let cfg = config("optional");
    let sw = Switch::start_with(Some(cfg.path()), &[]);
    let account = |ext, enc: Option<&str>| {
        let a = Account::demo(ext, sw.internal_addr());
        match enc {
            Some(mode) => a.srtp(mode),
            None => a,
        }
    };
    let mut caller = Baresip::start_with(440, true);
    caller.add_account(account(1001, caller_enc));
    let mut callee = Baresip::start_with(880, true);
    callee.add_account(account(1002, callee_enc));
    caller.wait_registered(T).expect("1001 registers");
    callee.wait_registered(T).expect("1002 registers");

    caller.dial("1002");
    assert!(
        caller.wait_event("CALL_ESTABLISHED", T).is_some(),
        "the call is answered\n{}",
        sw.log()
    );
    assert!(callee.wait_event("CALL_ESTABLISHED", T).is_some());
    std::thread::sleep(Duration::from_millis(3000));
    caller.hangup();
    assert!(callee.wait_event("CALL_CLOSED", T).is_some());
    assert!(caller.wait_event("CALL_CLOSED", T).is_some());

    let log = sw.log();
    let wanted = format!("caller_media={caller_media} callee_media={callee_media}");
    assert!(log.contains(&wanted), "{wanted}:\n{log}");
    let heard_by_caller = heard_levels(&caller.heard_file(), &[440.0, 880.0]);
    let heard_by_callee = heard_levels(&callee.heard_file(), &[440.0, 880.0]);
    println!("{wanted}: caller heard 440/880 Hz {heard_by_caller:?}, callee {heard_by_callee:?}");
    assert!(
        heard_by_caller[1] > -35.0,
        "the caller hears the callee: {heard_by_caller:?}"
    );
    assert!(
        heard_by_callee[0] > -35.0,
        "the callee hears the caller: {heard_by_callee:?}"
    );
}

#[test]
fn baresip_with_srtp_and_a_plain_baresip_hear_each_other() {
    baresip_call(Some("srtp-mand"), None, "SRTP AES_CM_128_HMAC_SHA1_80", "RTP");
}

#[test]
fn two_baresip_phones_with_best_effort_srtp_talk_encrypted_on_both_legs() {
    baresip_call(
        Some("srtp"),
        Some("srtp"),
        "SRTP AES_CM_128_HMAC_SHA1_80",
        "SRTP AES_CM_128_HMAC_SHA1_80",
    );
}
