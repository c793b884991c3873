//! Meet-me rooms end to end (issue 9: the dial plan's `conference` action,
//! CALL-CONF-1) with real softphones: baresip 1.0.0 phones register on the
//! internal profile, dial a room of the embedded dial plan (`70xx` open,
//! `7100` with PIN 2468), and each records what it heard (the `sndfile`
//! module writes the decoded received audio as WAV). Each phone says its
//! own tone; a phone must hear the others' tones and not its own.

mod common;

use common::baresip::{heard_levels, Account, Baresip};
use common::*;
use std::time::Duration;

const T: Duration = Duration::from_secs(10);
/// How long everybody talks in the room before hanging up (a listening window).
const TALK: Duration = Duration::from_millis(2500);

/// A registered baresip phone saying `hz`, recording what it hears.
fn phone(sw: &Switch, ext: u32, hz: u32) -> Baresip {
    let mut b = Baresip::start_with(hz, true);
    b.add_account(Account::demo(ext, sw.internal_addr()));
    b.wait_registered(T)
        .unwrap_or_else(|e| panic!("baresip {ext} registers: {e}"));
    b
}

/// `me` heard `other_hz` clearly and its own `own_hz` not at all.
fn assert_hears(who: &str, b: &Baresip, own_hz: f64, other_hz: f64) {
    let levels = heard_levels(&b.heard_file(), &[own_hz, other_hz]);
    println!(
        "{who} heard: own {own_hz} Hz {:.1} dBFS, other {other_hz} Hz {:.1} dBFS",
        levels[0], levels[1]
    );
    assert!(levels[1] > -35.0, "{who} hears the other phone: {levels:?}");
    assert!(
        levels[0] < levels[1] - 30.0,
        "{who} does not hear itself (mix-minus): {levels:?}"
    );
}

// spec: CALL-CONF-1
#[test]
fn two_baresip_phones_meet_in_a_room_and_hear_each_other() {
    let sw = Switch::start();
    let a = phone(&sw, 1003, 440);
    let b = phone(&sw, 1004, 700);
    a.dial("7001");
    a.expect_event("CALL_ESTABLISHED", T);
    b.dial("7001");
    b.expect_event("CALL_ESTABLISHED", T);
    std::thread::sleep(TALK);
    a.hangup();
    a.expect_event("CALL_CLOSED", T);
    b.hangup();
    b.expect_event("CALL_CLOSED", T);
    assert_hears("1003", &a, 440.0, 700.0);
    assert_hears("1004", &b, 700.0, 440.0);
    let cdrs = sw.wait_for_cdrs(2, T);
    for c in &cdrs {
        assert_eq!(c["route"], "conference:7001", "{c}");
        assert_eq!(c["end_cause"], "caller_hangup", "{c}");
        assert_eq!(c["sip_code"], 200, "{c}");
    }
}

// spec: CALL-CONF-1
#[test]
fn baresip_phones_key_the_room_pin_and_a_wrong_pin_is_hung_up() {
    let sw = Switch::start();
    let a = phone(&sw, 1003, 440);
    let b = phone(&sw, 1004, 700);
    let c = phone(&sw, 1005, 1100);
    // A caller who keys three wrong PINs is hung up by the switch.
    c.dial("7100");
    c.expect_event("CALL_ESTABLISHED", T);
    for wrong in ["1111", "2222", "3333"] {
        c.send_dtmf(wrong);
        std::thread::sleep(Duration::from_millis(600));
    }
    c.expect_event("CALL_CLOSED", T);
    // Two callers with the right PIN talk.
    a.dial("7100");
    a.expect_event("CALL_ESTABLISHED", T);
    a.send_dtmf("2468");
    b.dial("7100");
    b.expect_event("CALL_ESTABLISHED", T);
    b.send_dtmf("2468");
    std::thread::sleep(TALK);
    a.hangup();
    a.expect_event("CALL_CLOSED", T);
    b.hangup();
    b.expect_event("CALL_CLOSED", T);
    assert_hears("1003", &a, 440.0, 700.0);
    assert_hears("1004", &b, 700.0, 440.0);
    let cdrs = sw.wait_for_cdrs(3, T);
    let causes: Vec<&str> = cdrs.iter().filter_map(|c| c["end_cause"].as_str()).collect();
    assert_eq!(causes, ["wrong_pin", "caller_hangup", "caller_hangup"], "{cdrs:?}");
}

/// RFC 3261 §13.2.1 + RFC 3264 §5 (issue 9: delayed offer into rooms): a
/// trunk caller (our UA on the external profile) sends an INVITE without
/// SDP to room 7001 where a baresip phone talks; the switch's 200 carries
/// its offer, the caller's ACK the answer, and then each hears the other
/// and not itself.
// spec: CALL-CONF-1
#[test]
fn a_delayed_offer_caller_joins_a_room_with_its_answer_in_the_ack() {
    use common::conference::{recv_where, sdp_for, Ear, Voice};
    use common::media::{ack_2xx_with, pcmu_tone, rtp_rtcp_sockets, sdp_rtp, Sender, Stream};
    use common::ua::{self, Ua};
    use switchboard::sip::msg::HeaderName;

    let sw = Switch::start();
    let a = phone(&sw, 1003, 440);
    a.dial("7001");
    a.expect_event("CALL_ESTABLISHED", T);

    let (rtp, _rtcp) = rtp_rtcp_sockets();
    let mut caller = Ua::udp(sw.external_addr());
    let mut invite = caller.invite("15550123", "7001");
    invite.headers.remove(&HeaderName::ContentType);
    invite.body = bytes::Bytes::new();
    caller.send(&invite);
    let ok = recv_where(&mut caller, "the room's 200", |m| {
        let c = ua::code(m);
        assert!(c < 300, "the room refused the caller: {}", ua::text(m));
        c == 200
    });
    let offer = String::from_utf8_lossy(&ok.body).into_owned();
    assert!(
        offer.contains("m=audio") && offer.contains("PCMU/8000"),
        "the 200 carries the switch's offer: {offer}"
    );
    let room_media = sdp_rtp(&ok.body);

    ack_2xx_with(&mut caller, &invite, &ok, Some(sdp_for("caller", &rtp)));

    let voices = [
        Voice {
            name: "1003",
            hz: 440.0,
        },
        Voice {
            name: "caller",
            hz: 1000.0,
        },
    ];
    let mut ear = Ear::new("caller", &rtp, room_media, &voices);
    let talk = Sender::spawn(&rtp, room_media, Stream::pcmu(0x5eed), pcmu_tone(1000.0, -20.0));
    let heard = ear.second_after("in the room", |p| common::conference::packet_level(p, 440.0) > -40.0);
    assert!(
        heard.level(440.0) > -35.0,
        "the caller hears the phone: {}",
        heard.summary()
    );
    assert!(
        heard.level(1000.0) < heard.level(440.0) - 30.0,
        "the caller does not hear itself: {}",
        heard.summary()
    );

    std::thread::sleep(TALK);
    a.hangup();
    a.expect_event("CALL_CLOSED", T);
    drop(talk);
    assert_hears("1003", &a, 440.0, 1000.0);
    let cdrs = sw.wait_for_cdrs(1, T);
    assert_eq!(cdrs[0]["route"], "conference:7001", "{cdrs:?}");
}
