//! A meet-me room's session (issue 9, the dial plan's `conference`
//! action): no caller/callee pair, every leg a party of the bridge from
//! the start; each caller hears the others and not itself, a held caller
//! (waiting for the PIN) hears music and is heard by nobody, keys pressed
//! are reported as [`SessionEvent::Digit`], and a caller leaving stops its
//! stream while the others go on.

use crate::harness::*;
use switchboard::call::media::{MediaLeg, PartyMode};
use switchboard::media::session::{Peer, SessionCommand, SessionEvent, SocketKind};
use switchboard::rtp::dtmf::TelephoneEvent;
use switchboard::rtp::packet::{write_packet, RtpFields};
use switchboard::sdp::CodecKind::{Pcma, Pcmu};

const HZ: [f64; 3] = [440.0, 1000.0, 1700.0];

fn party(i: usize) -> Peer {
    Peer::Leg(MediaLeg::Party(100 + i))
}

fn seat(sim: &mut Sim, i: usize, codec: switchboard::sdp::CodecKind, mode: PartyMode) -> Phone {
    let a = addr(&format!("192.0.2.{}:40000", 40 + i));
    sim.command(SessionCommand::PartyJoin {
        party: 100 + i,
        leg: relay_leg(31000 + 2 * i as u16, a, g711(codec), g711(codec)),
        mode,
    });
    Phone::new(a, 0x1000 + i as u32, codec, HZ[i])
}

fn tail_level(sim: &mut Sim, to: Peer, codec: switchboard::sdp::CodecKind, hz: f64) -> f64 {
    let got = sim.take(to, SocketKind::Rtp);
    assert!(got.len() >= 25, "a continuous stream to {to:?}: {} packets", got.len());
    level(&decode(&got[got.len() - 25..], codec), hz)
}

// spec: CALL-CONF-1
#[test]
fn room_callers_hear_each_other_not_themselves() {
    let mut sim = Sim::new(31);
    let mut p0 = seat(&mut sim, 0, Pcmu, PartyMode::Talk);
    let mut p1 = seat(&mut sim, 1, Pcma, PartyMode::Talk);
    let mut p2 = seat(&mut sim, 2, Pcmu, PartyMode::Talk);
    sim.talk(&mut [(&mut p0, party(0)), (&mut p1, party(1)), (&mut p2, party(2))], 60);
    for (i, codec) in [(0, Pcmu), (1, Pcma), (2, Pcmu)] {
        let got = sim.take(party(i), SocketKind::Rtp);
        assert!(got.len() >= 55, "party {i}: one packet per tick, got {}", got.len());
        assert_continuous(&got, 160, "a room caller's stream");
        let pcm = decode(&got[got.len() - 25..], codec);
        for (j, hz) in HZ.iter().enumerate() {
            let l = level(&pcm, *hz);
            if i == j {
                assert!(l < TONE_DBFS - 40.0, "party {i} does not hear itself: {l:.1} dBFS");
            } else {
                assert!(l > TONE_DBFS - 4.0, "party {i} hears party {j}: {l:.1} dBFS");
            }
        }
    }
}

#[test]
fn a_caller_waiting_for_the_pin_is_heard_by_nobody_until_admitted() {
    let mut sim = Sim::new(32);
    let mut p0 = seat(&mut sim, 0, Pcmu, PartyMode::Talk);
    let mut p1 = seat(&mut sim, 1, Pcmu, PartyMode::Held);
    sim.talk(&mut [(&mut p0, party(0)), (&mut p1, party(1))], 40);
    assert!(
        tail_level(&mut sim, party(0), Pcmu, HZ[1]) < TONE_DBFS - 40.0,
        "not heard while held"
    );
    let _ = sim.take(party(1), SocketKind::Rtp);
    sim.command(SessionCommand::PartyModes(vec![(
        MediaLeg::Party(101),
        PartyMode::Talk,
    )]));
    sim.talk(&mut [(&mut p0, party(0)), (&mut p1, party(1))], 40);
    assert!(
        tail_level(&mut sim, party(0), Pcmu, HZ[1]) > TONE_DBFS - 4.0,
        "heard once admitted"
    );
    assert!(
        tail_level(&mut sim, party(1), Pcmu, HZ[0]) > TONE_DBFS - 4.0,
        "and hears the room"
    );
}

/// RFC 4733 §2.5.2: one key press, sent as several updates and three end
/// packets, is reported once.
#[test]
fn keys_pressed_in_a_room_are_reported_once_each() {
    let mut sim = Sim::new(33);
    let p0 = seat(&mut sim, 0, Pcmu, PartyMode::Held);
    let mut seq = 500u16;
    for (n, key) in [(2u8, 0u32), (4, 1)] {
        let ts = 90_000 + key * 1600;
        for (duration, end) in [(160u16, false), (320, false), (480, true), (480, true), (480, true)] {
            let ev = TelephoneEvent {
                event: n,
                end,
                volume: 10,
                duration,
            };
            let fields = RtpFields {
                marker: duration == 160,
                payload_type: 101,
                sequence: seq,
                timestamp: ts,
                ssrc: p0.ssrc,
            };
            seq = seq.wrapping_add(1);
            let mut buf = vec![0u8; 16];
            let len = write_packet(&mut buf, &fields, &ev.to_bytes()).expect("fits");
            buf.truncate(len);
            sim.rtp(party(0), p0.addr, buf);
        }
    }
    let digits: Vec<(MediaLeg, char)> = sim
        .take_events()
        .into_iter()
        .filter_map(|(_, e)| match e {
            SessionEvent::Digit { leg, digit } => Some((leg, digit)),
            _ => None,
        })
        .collect();
    assert_eq!(digits, [(MediaLeg::Party(100), '2'), (MediaLeg::Party(100), '4')]);
}

#[test]
fn a_caller_leaving_stops_its_stream_and_the_room_goes_on() {
    let mut sim = Sim::new(34);
    let mut p0 = seat(&mut sim, 0, Pcmu, PartyMode::Talk);
    let mut p1 = seat(&mut sim, 1, Pcmu, PartyMode::Talk);
    let mut p2 = seat(&mut sim, 2, Pcmu, PartyMode::Talk);
    sim.talk(&mut [(&mut p0, party(0)), (&mut p1, party(1)), (&mut p2, party(2))], 20);
    sim.command(SessionCommand::PartyLeave(MediaLeg::Party(100)));
    sim.sent.clear();
    sim.talk(&mut [(&mut p1, party(1)), (&mut p2, party(2))], 40);
    assert!(
        sim.take(party(0), SocketKind::Rtp).is_empty(),
        "nothing more to the caller who left"
    );
    assert!(tail_level(&mut sim, party(1), Pcmu, HZ[2]) > TONE_DBFS - 4.0);
    assert!(tail_level(&mut sim, party(2), Pcmu, HZ[1]) > TONE_DBFS - 4.0);
}

/// What a listener on the bridge hears (broadband dBFS, last second) from a
/// party sending white noise at −20 dBFS, with or without noise removal.
fn heard_noise(denoise: bool) -> f64 {
    let mut sim = Sim::new(35);
    let noisy = addr("192.0.2.50:40000");
    let mut leg = relay_leg(31100, noisy, g711(Pcmu), g711(Pcmu));
    leg.denoise = denoise;
    sim.command(SessionCommand::PartyJoin {
        party: 100,
        leg,
        mode: PartyMode::Talk,
    });
    let mut listener = seat(&mut sim, 1, Pcmu, PartyMode::Talk);
    for packet in noise_packets(3, 0x5151) {
        sim.rtp(Peer::Leg(MediaLeg::Party(100)), noisy, packet);
        // The listener only keeps its latch open (a silent phone would too).
        sim.talk(&mut [(&mut listener, party(1))], 1);
    }
    let got = sim.take(party(1), SocketKind::Rtp);
    let pcm = decode(&got[got.len() - 50..], Pcmu);
    switchboard::dsp::tone::level_dbfs(&pcm)
}

// spec: CALL-NOISE-1
#[test]
fn noise_removal_stays_on_a_leg_that_had_it_when_bridged() {
    let plain = heard_noise(false);
    let denoised = heard_noise(true);
    println!("white noise heard on the bridge: {plain:.1} dBFS plain, {denoised:.1} dBFS denoised");
    assert!(plain > -26.0, "the plain party is heard: {plain:.1} dBFS");
    assert!(
        denoised < plain - 10.0,
        "denoised on the bridge: {denoised:.1} vs {plain:.1} dBFS"
    );
}
