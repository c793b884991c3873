//! The bridge inside a session (issue 9): a party leg joins, the call's
//! legs move onto the bridge, modes decide who hears whom (CALL-HOLD-2,
//! CALL-CONSULT-4), and the call goes back to the relay when the party
//! leaves, each leg's stream continuous throughout (RFC 3550 §5.1, §8).

use crate::harness::*;
use std::time::Duration;
use switchboard::call::media::{MediaLeg, PartyMode};
use switchboard::media::session::{Peer, SessionCommand, SocketKind};
use switchboard::sdp::CodecKind::Pcmu;

const CALLER_HZ: f64 = 440.0;
const CALLEE_HZ: f64 = 1000.0;
const PARTY_HZ: f64 = 1700.0;
const P: Peer = Peer::Leg(MediaLeg::Party(1));

fn party_addr() -> std::net::SocketAddr {
    addr("192.0.2.30:40000")
}

fn join(sim: &mut Sim, mode: PartyMode) {
    sim.command(SessionCommand::PartyJoin {
        party: 1,
        leg: relay_leg(30000, party_addr(), g711(Pcmu), g711(Pcmu)),
        mode,
    });
}

/// Over the last `frames` packets sent to `to`, the level of `hz` (dBFS).
fn hears(sim: &mut Sim, to: Peer, hz: f64) -> f64 {
    let got = sim.take(to, SocketKind::Rtp);
    let tail = &got[got.len().saturating_sub(25)..];
    level(&decode(tail, Pcmu), hz)
}

// spec: CALL-CONF-1
#[test]
fn a_joined_party_hears_both_legs_and_is_heard_by_both() {
    let mut sim = Sim::new(11);
    sim.command(plan(Pcmu, Pcmu));
    let mut caller = Phone::new(caller_addr(), 0x1111, Pcmu, CALLER_HZ);
    let mut callee = Phone::new(callee_addr(), 0x2222, Pcmu, CALLEE_HZ);
    let mut party = Phone::new(party_addr(), 0x3333, Pcmu, PARTY_HZ);
    sim.talk(&mut [(&mut caller, A), (&mut callee, B)], 5);
    join(&mut sim, PartyMode::Talk);
    sim.sent.clear();
    sim.talk(&mut [(&mut caller, A), (&mut callee, B), (&mut party, P)], 60);
    let to_party = sim.take(P, SocketKind::Rtp);
    assert!(to_party.len() >= 55, "one packet per tick: {}", to_party.len());
    let pcm = decode(&to_party[to_party.len() - 25..], Pcmu);
    assert!(level(&pcm, CALLER_HZ) > TONE_DBFS - 4.0, "the party hears the caller");
    assert!(level(&pcm, CALLEE_HZ) > TONE_DBFS - 4.0, "the party hears the callee");
    assert!(level(&pcm, PARTY_HZ) < TONE_DBFS - 40.0, "and not itself");
    assert!(
        hears(&mut sim, A, PARTY_HZ) > TONE_DBFS - 4.0,
        "the caller hears the party"
    );
}

// spec: CALL-HOLD-2
// spec: CALL-CONSULT-4
#[test]
fn a_consult_holds_the_customer_with_music_while_agent_and_consultee_talk() {
    let mut sim = Sim::new(12);
    sim.command(plan(Pcmu, Pcmu));
    let mut caller = Phone::new(caller_addr(), 0x1111, Pcmu, CALLER_HZ);
    let mut callee = Phone::new(callee_addr(), 0x2222, Pcmu, CALLEE_HZ);
    let mut party = Phone::new(party_addr(), 0x3333, Pcmu, PARTY_HZ);
    // The consult rings: the customer is held (music), the agent hears nothing of it.
    sim.command(SessionCommand::PartyModes(vec![
        (MediaLeg::A, PartyMode::Held),
        (MediaLeg::B, PartyMode::Talk),
    ]));
    sim.talk(&mut [(&mut caller, A), (&mut callee, B)], 20);
    assert!(hears(&mut sim, B, CALLER_HZ) < TONE_DBFS - 40.0 || sim.take(B, SocketKind::Rtp).is_empty());
    join(&mut sim, PartyMode::Talk);
    sim.sent.clear();
    sim.talk(&mut [(&mut caller, A), (&mut callee, B), (&mut party, P)], 60);
    let to_agent = sim.take(B, SocketKind::Rtp);
    let pcm = decode(&to_agent[to_agent.len() - 25..], Pcmu);
    assert!(level(&pcm, PARTY_HZ) > TONE_DBFS - 4.0, "the agent hears the consultee");
    assert!(level(&pcm, CALLER_HZ) < TONE_DBFS - 40.0, "not the held customer");
    let to_customer = sim.take(A, SocketKind::Rtp);
    let pcm = decode(&to_customer[to_customer.len() - 25..], Pcmu);
    assert!(level(&pcm, PARTY_HZ) < TONE_DBFS - 40.0 && level(&pcm, CALLEE_HZ) < TONE_DBFS - 40.0);
    assert!(
        switchboard::dsp::tone::level_dbfs(&pcm) > -40.0,
        "the customer hears music"
    );
    // Toggle: back to the customer, the consultee held.
    sim.command(SessionCommand::PartyModes(vec![
        (MediaLeg::A, PartyMode::Talk),
        (MediaLeg::Party(1), PartyMode::Held),
    ]));
    sim.talk(&mut [(&mut caller, A), (&mut callee, B), (&mut party, P)], 40);
    assert!(
        hears(&mut sim, B, CALLER_HZ) > TONE_DBFS - 4.0,
        "the agent hears the customer again"
    );
}

/// RFC 3550 §5.1/§8: the caller's one stream continues relay → bridge → relay.
#[test]
fn the_callers_stream_is_continuous_onto_the_bridge_and_back_to_the_relay() {
    let mut sim = Sim::new(13);
    sim.command(plan(Pcmu, Pcmu));
    let mut caller = Phone::new(caller_addr(), 0x1111, Pcmu, CALLER_HZ);
    let mut callee = Phone::new(callee_addr(), 0x2222, Pcmu, CALLEE_HZ);
    let mut party = Phone::new(party_addr(), 0x3333, Pcmu, PARTY_HZ);
    sim.sent.clear();
    sim.talk(&mut [(&mut caller, A), (&mut callee, B)], 10);
    join(&mut sim, PartyMode::Talk);
    sim.talk(&mut [(&mut caller, A), (&mut callee, B), (&mut party, P)], 20);
    sim.command(SessionCommand::PartyLeave(MediaLeg::Party(1)));
    sim.talk(&mut [(&mut caller, A), (&mut callee, B)], 10);
    let to_caller = sim.take(A, SocketKind::Rtp);
    assert!(to_caller.len() >= 38, "{}", to_caller.len());
    let first = to_caller[0].rtp();
    for w in to_caller.windows(2) {
        let (p, q) = (w[0].rtp(), w[1].rtp());
        assert_eq!(q.ssrc, first.ssrc, "one SSRC");
        assert_eq!(q.sequence, p.sequence.wrapping_add(1), "no gap, no repeat");
        assert!(q.timestamp.wrapping_sub(p.timestamp) <= 160 * 4, "no timestamp jump");
    }
    // Back on the relay: a packet from the callee reaches the caller at once.
    let before = sim.sent.len();
    sim.rtp(B, callee.addr, callee.packet());
    assert!(sim.sent.len() > before, "relayed without waiting for a tick");
    let _ = Duration::ZERO;
}

// spec: CALL-CONF-4
#[test]
fn a_leg_that_left_gets_nothing_more_and_the_others_talk_on() {
    let mut sim = Sim::new(14);
    sim.command(plan(Pcmu, Pcmu));
    let mut caller = Phone::new(caller_addr(), 0x1111, Pcmu, CALLER_HZ);
    let mut callee = Phone::new(callee_addr(), 0x2222, Pcmu, CALLEE_HZ);
    let mut party = Phone::new(party_addr(), 0x3333, Pcmu, PARTY_HZ);
    join(&mut sim, PartyMode::Talk);
    sim.talk(&mut [(&mut caller, A), (&mut callee, B), (&mut party, P)], 10);
    sim.command(SessionCommand::PartyLeave(MediaLeg::A));
    sim.sent.clear();
    sim.talk(&mut [(&mut callee, B), (&mut party, P)], 40);
    assert!(
        sim.take(A, SocketKind::Rtp).is_empty(),
        "the customer who left gets nothing"
    );
    assert!(hears(&mut sim, P, CALLEE_HZ) > TONE_DBFS - 4.0, "the agents talk on");
}

const SUPERVISOR_HZ: f64 = 2500.0;

// spec: SUP-2
#[test]
fn whisper_is_heard_by_the_agent_only_and_barge_by_everyone() {
    let mut sim = Sim::new(15);
    sim.command(plan(Pcmu, Pcmu));
    let mut monitor_leg = relay_leg(30004, monitor_addr(), g711(Pcmu), g711(Pcmu));
    monitor_leg.pt_map.clear();
    sim.command(SessionCommand::MonitorStart(monitor_leg));
    let mut caller = Phone::new(caller_addr(), 0x1111, Pcmu, CALLER_HZ);
    let mut callee = Phone::new(callee_addr(), 0x2222, Pcmu, CALLEE_HZ);
    let mut sup = Phone::new(monitor_addr(), 0x3333, Pcmu, SUPERVISOR_HZ);
    let mon = Peer::Monitor;
    let run = |sim: &mut Sim, caller: &mut Phone, callee: &mut Phone, sup: &mut Phone, frames| {
        for _ in 0..frames {
            let pkt = sup.packet();
            sim.rtp(Peer::Monitor, sup.addr, pkt);
            sim.talk(&mut [(&mut *caller, A), (&mut *callee, B)], 1);
        }
    };
    // Whisper to the agent (B): only the agent hears the supervisor.
    sim.command(SessionCommand::MonitorMode(PartyMode::Whisper { to: MediaLeg::B }));
    sim.sent.clear();
    run(&mut sim, &mut caller, &mut callee, &mut sup, 60);
    assert!(
        hears(&mut sim, B, SUPERVISOR_HZ) > TONE_DBFS - 4.0,
        "the agent hears the coach"
    );
    assert!(
        hears(&mut sim, A, SUPERVISOR_HZ) < TONE_DBFS - 40.0,
        "the customer does not"
    );
    assert!(
        hears(&mut sim, mon, CALLER_HZ) > TONE_DBFS - 4.0,
        "the coach hears the customer"
    );
    // Barge: everyone hears the supervisor; the customer hears a short tone
    // as the supervisor joins (two 150 ms beeps at 1,400 Hz), the agent not.
    sim.command(SessionCommand::MonitorMode(PartyMode::Talk));
    sim.sent.clear();
    run(&mut sim, &mut caller, &mut callee, &mut sup, 25);
    let to_customer = sim.take(A, SocketKind::Rtp);
    let to_agent = sim.take(B, SocketKind::Rtp);
    assert!(level(&decode(&to_customer, Pcmu), 1400.0) > -35.0, "the barge tone");
    assert!(level(&decode(&to_agent, Pcmu), 1400.0) < -60.0, "not to the agent");
    run(&mut sim, &mut caller, &mut callee, &mut sup, 40);
    assert!(
        hears(&mut sim, A, SUPERVISOR_HZ) > TONE_DBFS - 4.0,
        "the customer hears the barge"
    );
    assert!(hears(&mut sim, B, SUPERVISOR_HZ) > TONE_DBFS - 4.0);
    // Back to listening: silent again, the call back on the relay.
    sim.command(SessionCommand::MonitorMode(PartyMode::Muted));
    run(&mut sim, &mut caller, &mut callee, &mut sup, 40);
    assert!(hears(&mut sim, A, SUPERVISOR_HZ) < TONE_DBFS - 40.0, "silent again");
    assert!(hears(&mut sim, mon, CALLEE_HZ) > TONE_DBFS - 4.0, "and still listening");
    let before = sim.sent.len();
    sim.rtp(B, callee.addr, callee.packet());
    assert!(sim.sent.len() > before, "relayed at once: off the bridge");
}

// spec: CALL-REC-1 (a recorded call keeps recording through a conference:
// the customer on one channel, everyone else mixed on the other)
#[test]
fn the_recording_goes_on_through_a_conference() {
    use switchboard::call::media::RecordAction;
    use switchboard::config::RecordingLayout;
    use switchboard::media::session::SessionEvent;
    let mut sim = Sim::new(16);
    sim.command(plan(Pcmu, Pcmu));
    sim.command(SessionCommand::Record(RecordAction::Start {
        name: "conf-1".into(),
        layout: RecordingLayout::Stereo,
    }));
    let mut caller = Phone::new(caller_addr(), 0x1111, Pcmu, CALLER_HZ);
    let mut callee = Phone::new(callee_addr(), 0x2222, Pcmu, CALLEE_HZ);
    let mut party = Phone::new(party_addr(), 0x3333, Pcmu, PARTY_HZ);
    join(&mut sim, PartyMode::Talk);
    sim.take_events();
    sim.talk(&mut [(&mut caller, A), (&mut callee, B), (&mut party, P)], 60);
    let frames: Vec<([i16; 160], [i16; 160])> = sim
        .take_events()
        .into_iter()
        .filter_map(|(_, e)| match e {
            SessionEvent::RecordingFrame { customer, other } => Some((customer, other)),
            _ => None,
        })
        .collect();
    assert!(frames.len() >= 55, "a frame per tick: {}", frames.len());
    let tail = &frames[frames.len() - 25..];
    let customer: Vec<i16> = tail.iter().flat_map(|f| f.0).collect();
    let other: Vec<i16> = tail.iter().flat_map(|f| f.1).collect();
    assert!(level(&customer, CALLER_HZ) > TONE_DBFS - 4.0, "the customer's channel");
    assert!(level(&customer, PARTY_HZ) < TONE_DBFS - 40.0);
    assert!(
        level(&other, CALLEE_HZ) > TONE_DBFS - 4.0,
        "the agent on the other channel"
    );
    assert!(level(&other, PARTY_HZ) > TONE_DBFS - 4.0, "and the conferenced party");
    assert!(level(&other, CALLER_HZ) < TONE_DBFS - 40.0, "not the customer");
}

// spec: CALL-XFER-1
// spec: CALL-HOLD-1
#[test]
fn after_a_transfer_the_customer_waits_with_music_and_hold_works_on_the_bridge() {
    let mut sim = Sim::new(15);
    sim.command(plan(Pcmu, Pcmu));
    let mut caller = Phone::new(caller_addr(), 0x1111, Pcmu, CALLER_HZ);
    let mut callee = Phone::new(callee_addr(), 0x2222, Pcmu, CALLEE_HZ);
    let mut party = Phone::new(party_addr(), 0x3333, Pcmu, PARTY_HZ);
    sim.talk(&mut [(&mut caller, A), (&mut callee, B)], 5);
    // The agent (B) hands the customer off: it waits, held with music.
    sim.command(SessionCommand::PartyLeave(MediaLeg::B));
    sim.command(SessionCommand::PartyModes(vec![(MediaLeg::A, PartyMode::Held)]));
    sim.sent.clear();
    sim.talk(&mut [(&mut caller, A)], 30);
    let waiting = sim.take(A, SocketKind::Rtp);
    assert!(waiting.len() >= 25, "the customer gets a stream: {}", waiting.len());
    let pcm = decode(&waiting[waiting.len() - 25..], Pcmu);
    assert!(switchboard::dsp::tone::level_dbfs(&pcm) > -40.0, "music while waiting");
    assert!(sim.take(B, SocketKind::Rtp).is_empty(), "nothing to the agent who left");
    // The next agent (a party leg) answers: the two talk on the bridge.
    join(&mut sim, PartyMode::Talk);
    sim.command(SessionCommand::PartyModes(vec![
        (MediaLeg::A, PartyMode::Talk),
        (MediaLeg::Party(1), PartyMode::Talk),
    ]));
    sim.sent.clear();
    sim.talk(&mut [(&mut caller, A), (&mut party, P)], 40);
    assert!(
        hears(&mut sim, A, PARTY_HZ) > TONE_DBFS - 4.0,
        "the customer hears the new agent"
    );
    assert!(hears(&mut sim, P, CALLER_HZ) > TONE_DBFS - 4.0, "and is heard");
    // The new agent holds the customer (a plain Hold on the bridge).
    sim.command(SessionCommand::Hold(Some(MediaLeg::A)));
    sim.sent.clear();
    sim.talk(&mut [(&mut caller, A), (&mut party, P)], 40);
    assert!(
        hears(&mut sim, P, CALLER_HZ) < TONE_DBFS - 40.0,
        "a held customer is heard by nobody"
    );
    assert!(
        hears(&mut sim, A, PARTY_HZ) < TONE_DBFS - 40.0,
        "and hears music, not the agent"
    );
    sim.command(SessionCommand::Hold(None));
    sim.sent.clear();
    sim.talk(&mut [(&mut caller, A), (&mut party, P)], 40);
    assert!(hears(&mut sim, A, PARTY_HZ) > TONE_DBFS - 4.0, "resumed");
}
