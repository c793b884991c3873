//! Meet-me rooms in the engine (issue 9: the dial plan's `conference`
//! action, CALL-CONF-1 rooms), in virtual time: the switch answers a room
//! caller itself, every caller of a room is a party of one media session,
//! a full room refuses with 486, the last caller out closes the room, and
//! a room with a PIN holds its callers until they key it.

use crate::sim::*;
use std::time::Duration;
use switchboard::call::media::{MediaCommand, MediaLeg, PartyMode};
use switchboard::engine::Input;

/// A room caller as the switch answered it.
struct Seated {
    out: Outgoing,
    dlg: Dlg,
    ok: switchboard::sip::msg::Message,
    /// The room's media session.
    room: u64,
    /// The caller's party key in it.
    party: usize,
    /// Its mode when it joined the bridge.
    mode: PartyMode,
}

/// `caller` dials `number`, is answered 200 by the switch and ACKs.
fn dial_room(h: &mut Harness, caller: &mut Ua, number: &str) -> Seated {
    h.media.clear();
    let out = h.send_authenticated_invite(caller, number, true);
    let ok = h.expect_response(caller.addr, 200);
    let dlg = caller.dialog_from_2xx(&out, &ok);
    let ack = caller.ack_2xx(&dlg, out.cseq).text();
    h.send(caller, &ack);
    let (room, party, local) = match h.media.first() {
        Some(MediaCommand::RoomPrepare { room, party, local }) => (*room, *party, *local),
        other => panic!("expected RoomPrepare first, got {other:?} in {:?}", h.media),
    };
    let mode = match h.media.get(1) {
        Some(MediaCommand::PartyJoin {
            call,
            party: p,
            leg,
            mode,
        }) => {
            assert_eq!((*call, *p), (room, party), "the caller joins its room's session");
            assert_eq!(leg.local, local, "on the prepared socket");
            assert_eq!(leg.remote, Some(caller_rtp(caller)), "towards the caller's SDP address");
            *mode
        }
        other => panic!("expected PartyJoin, got {other:?}"),
    };
    let body = body_str(&ok);
    assert!(
        body.contains(&format!("m=audio {} ", local.port())),
        "our answer names the room port: {body}"
    );
    assert!(body.contains("a=rtpmap:0 PCMU/8000"), "PCMU answered: {body}");
    Seated {
        out,
        dlg,
        ok,
        room,
        party,
        mode,
    }
}

/// The RTP address the simulated phone's offer names.
fn caller_rtp(caller: &Ua) -> std::net::SocketAddr {
    std::net::SocketAddr::new(caller.addr.ip(), 40000)
}

fn bye(h: &mut Harness, caller: &mut Ua, s: &mut Seated) {
    let bye = caller.in_dialog(&mut s.dlg, "BYE").text();
    h.send(caller, &bye);
    h.expect_response(caller.addr, 200);
}

#[test]
fn room_caller_is_answered_by_the_switch_and_put_on_the_bridge() {
    let mut h = Harness::new();
    let mut alice = Ua::phone("1000", "192.0.2.10");
    let s = dial_room(&mut h, &mut alice, "7001");
    assert_eq!(s.mode, PartyMode::Talk, "an open room: the caller talks at once");
    assert!(
        header_str(&s.ok, &switchboard::sip::msg::HeaderName::Contact).contains("7001@"),
        "our Contact"
    );
    // The ACK stops the 200's retransmission (§13.3.1.4).
    h.advance(Duration::from_secs(40));
    assert_eq!(h.count(alice.addr, |m| first_line(m).starts_with("SIP/2.0 200")), 0);
    let _ = s.out;
}

#[test]
fn callers_of_one_room_share_its_media_session_and_the_last_out_closes_it() {
    let mut h = Harness::new();
    let mut alice = Ua::phone("1000", "192.0.2.10");
    let mut bob = Ua::phone("1001", "192.0.2.11");
    let mut carol = Ua::phone("1002", "192.0.2.12");
    let mut a = dial_room(&mut h, &mut alice, "7001");
    let mut b = dial_room(&mut h, &mut bob, "7001");
    let c = dial_room(&mut h, &mut carol, "7002");
    assert_eq!(a.room, b.room, "one room, one session");
    assert_ne!(a.party, b.party);
    assert_ne!(c.room, a.room, "another room, another session");
    h.media.clear();
    bye(&mut h, &mut alice, &mut a);
    assert_eq!(
        h.media,
        vec![MediaCommand::PartyLeave {
            call: a.room,
            leg: MediaLeg::Party(a.party)
        }],
        "alice leaves; the room goes on"
    );
    h.media.clear();
    bye(&mut h, &mut bob, &mut b);
    assert_eq!(
        h.media,
        vec![
            MediaCommand::PartyLeave {
                call: b.room,
                leg: MediaLeg::Party(b.party)
            },
            MediaCommand::Close { call: b.room }
        ],
        "the last caller out closes the room"
    );
    // The calls' reaping later frees their ports and tells the media nothing more.
    h.media.clear();
    h.advance(Duration::from_secs(40));
    assert!(h.media.is_empty(), "{:?}", h.media);
    let routes: Vec<&str> = h.cdrs.iter().map(|c| c.route.as_str()).collect();
    assert_eq!(routes, ["conference:7001", "conference:7001"]);
    assert!(h
        .cdrs
        .iter()
        .all(|c| c.answer_ms.is_some() && c.end_cause == "caller_hangup"));
}

#[test]
fn a_full_room_answers_486_conference_full() {
    let plan = "[[context.internal]]\nmatch = { regex = \"^7[0-9]{3}$\" }\naction = \"conference\"\nmax_parties = 2\n\n[[context.external]]\nmatch = { prefix = \"\" }\naction = \"reject\"\ncode = 404\n";
    let mut h = Harness::with_files(&[("dialplan.toml", plan)]);
    let mut phones: Vec<Ua> = ["192.0.2.10", "192.0.2.11", "192.0.2.12"]
        .iter()
        .enumerate()
        .map(|(i, ip)| Ua::phone(&format!("100{i}"), ip))
        .collect();
    dial_room(&mut h, &mut phones[0], "7005");
    dial_room(&mut h, &mut phones[1], "7005");
    h.media.clear();
    h.send_authenticated_invite(&mut phones[2], "7005", true);
    let busy = h.expect_response(phones[2].addr, 486);
    assert_eq!(reason(&busy), "Conference Full");
    assert!(h.media.is_empty(), "no port bound for a refused caller: {:?}", h.media);
    // Another room is not full.
    dial_room(&mut h, &mut phones[2], "7006");
}

#[test]
fn a_pin_room_holds_the_caller_until_the_right_pin() {
    let mut h = Harness::new();
    let mut alice = Ua::phone("1000", "192.0.2.10");
    let s = dial_room(&mut h, &mut alice, "7100");
    assert_eq!(s.mode, PartyMode::Held, "hold music, heard by nobody, until the PIN");
    h.media.clear();
    for d in "2468".chars() {
        h.input(Input::Digit {
            session: s.room,
            leg: MediaLeg::Party(s.party),
            digit: d,
        });
    }
    assert_eq!(
        h.media,
        vec![MediaCommand::PartyModes {
            call: s.room,
            modes: vec![(MediaLeg::Party(s.party), PartyMode::Talk)]
        }],
        "the right PIN: the caller talks in the room"
    );
    // Keys after admission change nothing; the PIN timer was cancelled.
    h.media.clear();
    h.input(Input::Digit {
        session: s.room,
        leg: MediaLeg::Party(s.party),
        digit: '1',
    });
    h.advance(Duration::from_secs(61));
    assert!(h.media.is_empty(), "{:?}", h.media);
    assert_eq!(h.count(alice.addr, |m| first_line(m).starts_with("BYE")), 0);
}

#[test]
fn three_wrong_pins_hang_up() {
    let mut h = Harness::new();
    let mut alice = Ua::phone("1000", "192.0.2.10");
    let s = dial_room(&mut h, &mut alice, "7100");
    let key = |h: &mut Harness, d: char| {
        h.input(Input::Digit {
            session: s.room,
            leg: MediaLeg::Party(s.party),
            digit: d,
        })
    };
    // A wrong PIN by length, one ended early with '#', and '*' starting over then a wrong one.
    for d in "1111".chars() {
        key(&mut h, d);
    }
    key(&mut h, '9');
    key(&mut h, '#');
    assert_eq!(
        h.count(alice.addr, |m| first_line(m).starts_with("BYE")),
        0,
        "two wrong so far"
    );
    for d in "24*2467".chars() {
        key(&mut h, d);
    }
    h.expect_request(alice.addr, "BYE");
    assert_eq!(h.cdrs.last().map(|c| c.end_cause.as_str()), Some("wrong_pin"));
    assert!(
        h.media.contains(&MediaCommand::Close { call: s.room }),
        "the room empties: {:?}",
        h.media
    );
}

#[test]
fn no_pin_within_a_minute_hangs_up() {
    let mut h = Harness::new();
    let mut alice = Ua::phone("1000", "192.0.2.10");
    dial_room(&mut h, &mut alice, "7100");
    h.advance(Duration::from_secs(59));
    assert_eq!(h.count(alice.addr, |m| first_line(m).starts_with("BYE")), 0);
    h.advance(Duration::from_secs(2));
    h.expect_request(alice.addr, "BYE");
    assert_eq!(h.cdrs.last().map(|c| c.end_cause.as_str()), Some("pin_timeout"));
}

#[test]
fn sip_info_dtmf_counts_for_the_pin() {
    let mut h = Harness::new();
    let mut alice = Ua::phone("1000", "192.0.2.10");
    let mut s = dial_room(&mut h, &mut alice, "7100");
    h.media.clear();
    for d in "2468".chars() {
        let info = alice
            .in_dialog(&mut s.dlg, "INFO")
            .body("application/dtmf-relay", &format!("Signal={d}\r\nDuration=160\r\n"))
            .text();
        h.send(&alice, &info);
        h.expect_response(alice.addr, 200);
    }
    assert_eq!(
        h.media,
        vec![MediaCommand::PartyModes {
            call: s.room,
            modes: vec![(MediaLeg::Party(s.party), PartyMode::Talk)]
        }]
    );
}

#[test]
fn a_phone_holding_the_room_is_held_on_the_bridge_and_back() {
    let mut h = Harness::new();
    let mut alice = Ua::phone("1000", "192.0.2.10");
    let mut s = dial_room(&mut h, &mut alice, "7001");
    h.media.clear();
    let hold_sdp = sdp("192.0.2.10", 40000) + "a=sendonly\r\n";
    let reinvite = alice
        .in_dialog(&mut s.dlg, "INVITE")
        .body("application/sdp", &hold_sdp)
        .text();
    h.send(&alice, &reinvite);
    let ok = h.expect_response(alice.addr, 200);
    assert!(body_str(&ok).contains("a=recvonly"), "{}", body_str(&ok));
    let ack = alice.ack_2xx(&s.dlg, s.dlg.cseq).text();
    h.send(&alice, &ack);
    assert!(
        h.media.contains(&MediaCommand::PartyModes {
            call: s.room,
            modes: vec![(MediaLeg::Party(s.party), PartyMode::Held)]
        }),
        "{:?}",
        h.media
    );
    assert!(
        h.media
            .iter()
            .all(|m| !matches!(m, MediaCommand::Hold { .. } | MediaCommand::Close { .. })),
        "the call's own commands are routed to the room: {:?}",
        h.media
    );
    h.media.clear();
    let reinvite = alice
        .in_dialog(&mut s.dlg, "INVITE")
        .body("application/sdp", &sdp("192.0.2.10", 40002))
        .text();
    h.send(&alice, &reinvite);
    h.expect_response(alice.addr, 200);
    assert!(h.media.contains(&MediaCommand::Update {
        call: s.room,
        leg: MediaLeg::Party(s.party),
        remote: Some(sock("192.0.2.10:40002")),
        remote_rtcp: Some(sock("192.0.2.10:40003")),
        srtp: None,
        webrtc: None,
    }));
    assert!(h.media.contains(&MediaCommand::PartyModes {
        call: s.room,
        modes: vec![(MediaLeg::Party(s.party), PartyMode::Talk)]
    }));
}

/// RFC 3261 §13.2.1 + RFC 3264 §5: an offer-less INVITE to a room gets
/// the switch's offer in the 200 (every codec, PCMU first, telephone-event
/// for the PIN); the caller's socket is prepared at once, and the caller
/// joins the bridge only once its ACK brings the answer, with the codec
/// and address it chose.
#[test]
fn a_delayed_offer_room_caller_gets_our_offer_and_joins_on_its_ack() {
    let mut h = Harness::new();
    let mut alice = Ua::phone("1000", "192.0.2.10");
    let out = h.send_authenticated_invite(&mut alice, "7001", false);
    let ok = h.expect_response(alice.addr, 200);
    let offer = body_str(&ok);
    let m_line = offer
        .lines()
        .find(|l| l.starts_with("m=audio"))
        .expect("an offer")
        .to_string();
    assert!(
        m_line.ends_with(" 0 8 111 101 110"),
        "every codec, PCMU first: {m_line}"
    );
    let local = match h.media.as_slice() {
        [MediaCommand::RoomPrepare { local, .. }] => *local,
        other => panic!("only the socket before the answer: {other:?}"),
    };
    assert!(m_line.starts_with(&format!("m=audio {} ", local.port())), "{m_line}");
    let dlg = alice.dialog_from_2xx(&out, &ok);
    let answer = sdp("192.0.2.10", 40010)
        .replace("RTP/AVP 0", "RTP/AVP 8")
        .replace("0 PCMU", "8 PCMA");
    let ack = alice.ack_2xx(&dlg, out.cseq).body("application/sdp", &answer).text();
    h.send(&alice, &ack);
    match h.media.get(1) {
        Some(MediaCommand::PartyJoin { leg, mode, .. }) => {
            assert_eq!(leg.local, local);
            assert_eq!(leg.remote, Some(sock("192.0.2.10:40010")), "the answer's address");
            assert_eq!(leg.audio.codec, switchboard::sdp::CodecKind::Pcma, "the answer's codec");
            assert_eq!(*mode, PartyMode::Talk);
        }
        other => panic!("the caller joins on its ACK: {other:?} in {:?}", h.media),
    }
    // The ACK stopped the 200's retransmission; a repeated ACK changes nothing.
    h.send(&alice, &ack);
    assert_eq!(
        h.media
            .iter()
            .filter(|m| matches!(m, MediaCommand::PartyJoin { .. }))
            .count(),
        1
    );
    h.advance(Duration::from_secs(40));
    assert_eq!(h.count(alice.addr, |m| first_line(m).starts_with("SIP/2.0 200")), 0);
}

/// RFC 3264 §5: a delayed-offer room caller whose ACK brings no answer
/// cannot be heard or hear: the switch hangs up (BYE) and the room closes.
#[test]
fn a_delayed_offer_room_caller_without_an_answer_in_its_ack_is_hung_up() {
    let mut h = Harness::new();
    let mut alice = Ua::phone("1000", "192.0.2.10");
    let out = h.send_authenticated_invite(&mut alice, "7001", false);
    let ok = h.expect_response(alice.addr, 200);
    let dlg = alice.dialog_from_2xx(&out, &ok);
    let room = match h.media.first() {
        Some(MediaCommand::RoomPrepare { room, .. }) => *room,
        other => panic!("{other:?}"),
    };
    let ack = alice.ack_2xx(&dlg, out.cseq).text();
    h.send(&alice, &ack);
    h.expect_request(alice.addr, "BYE");
    assert!(!h.media.iter().any(|m| matches!(m, MediaCommand::PartyJoin { .. })));
    assert!(h.media.contains(&MediaCommand::Close { call: room }), "{:?}", h.media);
    assert_eq!(h.cdrs[0].end_cause, "incompatible_media");
    assert_eq!(h.cdrs[0].route, "conference:7001");
}

#[test]
fn rooms_need_anchored_media() {
    let mut h = Harness::pass_through();
    let mut alice = Ua::phone("1000", "192.0.2.10");
    h.send_authenticated_invite(&mut alice, "7001", true);
    let refused = h.expect_response(alice.addr, 503);
    assert_eq!(reason(&refused), "Conferences Need Anchored Media");
}

#[test]
fn keys_from_other_sessions_are_ignored() {
    let mut h = Harness::new();
    let mut alice = Ua::phone("1000", "192.0.2.10");
    let s = dial_room(&mut h, &mut alice, "7100");
    h.media.clear();
    for (session, leg) in [
        (s.room + 1000, MediaLeg::Party(s.party)),
        (s.room, MediaLeg::A),
        (s.room, MediaLeg::Party(s.party + 1)),
    ] {
        for d in "2468".chars() {
            h.input(Input::Digit { session, leg, digit: d });
        }
    }
    assert!(h.media.is_empty(), "{:?}", h.media);
}
