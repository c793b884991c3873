//! End-to-end silent monitor (issue 4 item 5; spec SUP-2, SUP-4) on the
//! real switch: alice (1001) logs in from the desktop API, a caller dials
//! queue `support` (5000) and alice's phone answers; supervisor sam asks
//! over HTTP to monitor the interaction from phone 1009. The phone gets a
//! `sendrecv` offer from a third switch port (what it sends is dropped), and its RTP socket receives
//! the caller's tone; what the supervisor sends reaches neither party; the
//! caller hanging up sends the supervisor's phone BYE.

mod common;

use bytes::Bytes;
use common::desk::{Desk, ALICE, SAM};
use common::media::*;
use common::ua::Ua;
use common::Switch;
use std::net::UdpSocket;
use std::time::Duration;
use switchboard::dsp::g711;
use switchboard::dsp::tone::{dominant_frequency, tone_level_dbfs};
use switchboard::sip::msg::{HeaderName, Message, Method, StatusCode};

/// The caller's tone and the supervisor's.
const CALLER_HZ: f64 = 1000.0;
const SUPERVISOR_HZ: f64 = 2500.0;

fn pcm_of(packets: &[Rtp]) -> Vec<i16> {
    packets
        .iter()
        .filter(|p| p.pt == 0)
        .flat_map(|p| p.payload.iter().map(|b| g711::ulaw_to_linear(*b)))
        .collect()
}

/// RTP arriving on `sock` from `from` for `quiet` of silence on the wire.
fn heard(sock: &UdpSocket, from: std::net::SocketAddr, quiet: Duration) -> Vec<Rtp> {
    let mut r = Receiver::spawn(sock, from);
    r.until_quiet(quiet)
}

/// spec: SUP-2 — the supervisor hears the caller through a third leg and
/// is never heard; SUP-4 — the call's end hangs the monitor up.
#[test]
fn sup2_supervisor_hears_the_caller_and_nobody_hears_the_supervisor() {
    let sw = Switch::start();
    let alice = Desk::new(sw.api_addr(), ALICE);
    alice.ok("POST", "/agent/login", None);
    let mut c = answered_call(
        &sw,
        &CallSpec {
            dialled: "5000".into(),
            ..CallSpec::default()
        },
    );
    let sam = Desk::new(sw.api_addr(), SAM);
    let list = sam.ok("GET", "/supervisor/interactions", None);
    let uid = list["interactions"][0]["interaction"]
        .as_str()
        .unwrap_or_else(|| panic!("an interaction: {list}"))
        .to_owned();
    assert_eq!(list["interactions"][0]["state"], "connected", "{list}");

    let mut phone = Ua::udp(sw.internal_addr());
    assert_eq!(phone.register("1009", "demo-1009"), StatusCode::OK);
    let sup_rtp = rtp_socket();
    let (status, body) = sam.post(
        &format!("/supervisor/interactions/{uid}/monitor"),
        Some(r#"{"extension": "1009"}"#),
    );
    assert_eq!(status, 200, "{body}");
    assert!(body["interactions"].is_array(), "{body}");

    let invite = next_request(&mut phone, Method::INVITE);
    let offer = String::from_utf8_lossy(&invite.body).into_owned();
    // sendrecv so that whisper and barge need no re-INVITE; listening, the switch drops what it sends.
    assert!(offer.contains("a=sendrecv"), "{offer}");
    let mon_media = sdp_rtp(&invite.body);
    assert!(
        mon_media != c.a_media && mon_media != c.b_media,
        "a third port: {mon_media}"
    );
    let mut ok = Message::response_to(&invite, StatusCode::OK, None, Some("sup1"));
    ok.headers
        .push(HeaderName::Contact, format!("<{}>", phone.contact_uri("1009")));
    ok.headers.push(HeaderName::ContentType, "application/sdp");
    let port = sup_rtp.local_addr().expect("addr").port();
    ok.body = Bytes::from(AudioSdp::new("0", &["rtpmap:0 PCMU/8000"]).body("sup", 1, port, "recvonly"));
    phone.send(&ok);
    next_request(&mut phone, Method::ACK);

    // The caller talks: the supervisor hears it (and the agent still does).
    let mut hear = Receiver::spawn(&sup_rtp, mon_media);
    let talk = Sender::spawn(
        &c.caller_rtp,
        c.a_media,
        Stream::pcmu(0x1111),
        pcmu_tone(CALLER_HZ, -12.0),
    );
    let tone = hear.wait_for(Duration::from_secs(15), |p| {
        let pcm: Vec<i16> = p.payload.iter().map(|b| g711::ulaw_to_linear(*b)).collect();
        p.pt == 0 && dominant_frequency(&pcm, 8000).is_some_and(|f| (f - CALLER_HZ).abs() < 50.0)
    });
    assert!(
        tone.is_some(),
        "the supervisor hears the caller's {CALLER_HZ} Hz; got {} packets",
        hear.history.len()
    );
    let stream: Vec<Rtp> = hear.take(25, "the monitor's stream");
    for w in stream.windows(2) {
        assert_eq!(w[1].ssrc, w[0].ssrc, "one SSRC");
        assert_eq!(w[1].seq, w[0].seq.wrapping_add(1), "consecutive sequence numbers");
        assert_eq!(w[1].ts, w[0].ts.wrapping_add(160), "20 ms apart");
    }
    let pcm = pcm_of(&stream);
    assert!(
        tone_level_dbfs(&pcm, CALLER_HZ, 8000) > -30.0,
        "the caller is loud enough"
    );
    talk.stop();
    drop(hear);

    // The supervisor talks: neither the caller nor the agent hears it.
    let _ = heard(&c.callee_rtp, c.b_media, Duration::from_millis(300));
    let _ = heard(&c.caller_rtp, c.a_media, Duration::from_millis(300));
    let mut agent_ears = Receiver::spawn(&c.callee_rtp, c.b_media);
    let mut caller_ears = Receiver::spawn(&c.caller_rtp, c.a_media);
    let speak = Sender::spawn(
        &sup_rtp,
        mon_media,
        Stream::pcmu(0x2222),
        pcmu_tone(SUPERVISOR_HZ, -6.0),
    );
    assert!(
        common::wait_until(Duration::from_secs(15), || speak.sent() >= 100),
        "the supervisor's phone sends"
    );
    speak.stop();
    for (who, ears) in [("agent", &mut agent_ears), ("caller", &mut caller_ears)] {
        let got = ears.until_quiet(Duration::from_millis(500));
        let pcm = pcm_of(&got);
        let level = tone_level_dbfs(&pcm, SUPERVISOR_HZ, 8000);
        assert!(
            pcm.is_empty() || level < -50.0,
            "the {who} must not hear the supervisor: {} packets, {level:.1} dBFS at {SUPERVISOR_HZ} Hz",
            got.len()
        );
    }

    // SUP-4: the call ends, the supervisor's phone is hung up.
    c.hang_up();
    let bye = next_request(&mut phone, Method::BYE);
    phone.reply(&bye, StatusCode::OK, None);
}
