//! SRTP legs in the session core (RFC 3711 with SDES keys, issue 11 item
//! 2), in virtual time: an SRTP leg relayed to and transcoded with a plain
//! leg, SRTCP both ways, forged and replayed packets refused before the
//! latch, re-keying by re-INVITE, and early packets decrypted at the plan.

use super::harness::*;
use std::time::Duration;
use switchboard::call::media::MediaLeg;
use switchboard::media::session::{SessionCommand, SocketKind};
use switchboard::rtp::rtcp::{parse_reports, RtcpReport};
use switchboard::rtp::srtp::{MasterKey, SrtpKeys, SrtpStream, SrtpSuite};
use switchboard::sdp::CodecKind::{Pcma, Pcmu};

fn key(b: u8) -> MasterKey {
    MasterKey::new([b; 30])
}

/// The switch's keys on the caller's leg and the caller's phone's own view
/// of them (keys swapped).
fn keys(suite: SrtpSuite, switch: u8, phone: u8) -> (SrtpKeys, SrtpStream) {
    let at_switch = SrtpKeys {
        suite,
        local: key(switch),
        remote: key(phone),
    };
    let at_phone = SrtpStream::new(&at_switch.peer_view()).expect("keys");
    (at_switch, at_phone)
}

/// A plan with the caller's leg SRTP-keyed, the callee plain.
fn secure_plan(a: switchboard::sdp::CodecKind, b: switchboard::sdp::CodecKind, k: &SrtpKeys) -> SessionCommand {
    let mut leg_a = relay_leg(30000, caller_addr(), g711(a), g711(b));
    leg_a.srtp = Some(k.clone());
    SessionCommand::Plan {
        a: leg_a,
        b: relay_leg(30002, callee_addr(), g711(b), g711(a)),
    }
}

fn sealed(phone_srtp: &mut SrtpStream, plain: &[u8]) -> Vec<u8> {
    phone_srtp.protect_rtp(plain).expect("protect").to_vec()
}

#[test]
fn an_srtp_caller_and_a_plain_callee_hear_each_other_on_the_relay() {
    for suite in [SrtpSuite::AesCm128HmacSha1_80, SrtpSuite::AesCm128HmacSha1_32] {
        let mut sim = Sim::new(5);
        let (k, mut phone_srtp) = keys(suite, 1, 2);
        sim.command(secure_plan(Pcmu, Pcmu, &k));
        let mut caller = Phone::new(caller_addr(), 0xaaaa, Pcmu, 440.0);
        let mut callee = Phone::new(callee_addr(), 0xbbbb, Pcmu, 880.0);
        let mut said = Vec::new();
        for _ in 0..50 {
            let plain = caller.packet();
            said.push(plain[12..].to_vec());
            let wire = sealed(&mut phone_srtp, &plain);
            sim.rtp(A, caller.addr, wire);
            let back = callee.packet();
            sim.rtp(B, callee.addr, back);
            sim.advance(Duration::from_millis(20));
        }
        // The callee gets plain RTP: the caller's very payloads.
        let to_b = sim.take(B, SocketKind::Rtp);
        assert_eq!(to_b.len(), 50, "{suite}");
        for (p, s) in to_b.iter().zip(&said) {
            assert_eq!(p.payload(), &s[..], "{suite}: relayed payload unchanged");
        }
        assert_continuous(&to_b, 160, "to the callee");
        // The caller gets SRTP: not parseable as its plain payload, and
        // the phone's context decrypts it to the callee's tone.
        let to_a = sim.take(A, SocketKind::Rtp);
        assert_eq!(to_a.len(), 50);
        let mut heard = Vec::new();
        for p in &to_a {
            assert_eq!(p.bytes.len(), 172 + suite.rtp_tag_len(), "{suite}: tag appended");
            let plain = phone_srtp
                .unprotect_rtp(&p.bytes)
                .expect("the phone authenticates what the switch sends");
            heard.push(Sent {
                bytes: plain.to_vec(),
                ..p.clone()
            });
        }
        let pcm = decode(&heard, Pcmu);
        assert!(
            level(&pcm, 880.0) > TONE_DBFS - 1.0,
            "{suite}: the caller hears the callee"
        );
        assert_eq!(sim.core.stats().srtp_refused, 0);
    }
}

#[test]
fn srtcp_goes_both_ways_on_the_srtp_leg_and_plain_rtcp_on_the_other() {
    let mut sim = Sim::new(6);
    let (k, mut phone_srtp) = keys(SrtpSuite::AesCm128HmacSha1_80, 3, 4);
    sim.command(secure_plan(Pcmu, Pcmu, &k));
    let mut caller = Phone::new(caller_addr(), 0xaaaa, Pcmu, 440.0);
    let mut callee = Phone::new(callee_addr(), 0xbbbb, Pcmu, 880.0);
    for _ in 0..400 {
        let wire = sealed(&mut phone_srtp, &caller.packet());
        sim.rtp(A, caller.addr, wire);
        sim.rtp(B, callee.addr, callee.packet());
        sim.advance(Duration::from_millis(20));
    }
    let to_a = sim.take(A, SocketKind::Rtcp);
    assert!(!to_a.is_empty(), "sender reports to the caller");
    for r in &to_a {
        let plain = phone_srtp
            .unprotect_rtcp(&r.bytes)
            .expect("the phone authenticates our SRTCP");
        assert_eq!(r.bytes.len(), plain.len() + 4 + 10, "SRTCP index and an 80-bit tag");
        assert_ne!(
            &r.bytes[8..plain.len()],
            &plain[8..],
            "the report is encrypted on the wire"
        );
        let reports = parse_reports(&plain).expect("a sender report inside");
        assert!(
            reports.iter().any(|x| matches!(x, RtcpReport::Sender { .. })),
            "{reports:?}"
        );
    }
    let to_b = sim.take(B, SocketKind::Rtcp);
    assert!(!to_b.is_empty());
    for r in &to_b {
        assert!(parse_reports(&r.bytes).is_ok(), "plain RTCP to the plain leg");
    }
    // The caller's SRTCP receiver report is read (and a plain one refused).
    let rr = [0x80, 201, 0, 1, 0, 0, 0xaa, 0xaa];
    let wire = phone_srtp.protect_rtcp(&rr).expect("protect").to_vec();
    let now = sim.now;
    sim.core.handle_rtcp(now, MediaLeg::A, caller_addr(), &wire);
    assert_eq!(sim.core.stats().srtp_refused, 0);
    sim.core.handle_rtcp(now, MediaLeg::A, caller_addr(), &rr);
    assert_eq!(
        sim.core.stats().srtp_refused,
        1,
        "plain RTCP from an SRTP leg is refused"
    );
}

#[test]
fn forged_replayed_and_clear_packets_are_refused_before_the_latch() {
    let mut sim = Sim::new(7);
    let (k, mut phone_srtp) = keys(SrtpSuite::AesCm128HmacSha1_80, 5, 6);
    sim.command(secure_plan(Pcmu, Pcmu, &k));
    let mut caller = Phone::new(caller_addr(), 0xaaaa, Pcmu, 440.0);
    let first = sealed(&mut phone_srtp, &caller.packet());
    sim.rtp(A, caller.addr, first.clone());
    assert_eq!(sim.take(B, SocketKind::Rtp).len(), 1);

    let attacker = addr("192.0.2.66:9999");
    // A replay, plain RTP, a forged tag and a wrong key, from elsewhere.
    let mut forged = sealed(&mut phone_srtp, &caller.packet());
    let last = forged.len() - 1;
    forged[last] ^= 0x55;
    let (_, mut wrong) = keys(SrtpSuite::AesCm128HmacSha1_80, 5, 99);
    let wrong_key = sealed(&mut wrong, &caller.packet());
    for p in [first.clone(), caller.packet(), forged, wrong_key] {
        sim.rtp(A, attacker, p);
        sim.rtp(A, caller.addr, first.clone());
    }
    assert_eq!(sim.core.stats().srtp_refused, 8);
    assert!(
        sim.take(B, SocketKind::Rtp).is_empty(),
        "nothing refused reaches the callee"
    );

    // The latch did not move: what the callee says still goes to the caller.
    let mut callee = Phone::new(callee_addr(), 0xbbbb, Pcmu, 880.0);
    sim.rtp(B, callee.addr, callee.packet());
    let to_a = sim.take(A, SocketKind::Rtp);
    assert_eq!(to_a.len(), 1);
    assert_eq!(to_a[0].dest, caller_addr());
    let next = sealed(&mut phone_srtp, &caller.packet());
    sim.rtp(A, caller.addr, next);
    assert_eq!(sim.take(B, SocketKind::Rtp).len(), 1, "the real caller still flows");
}

#[test]
fn an_srtp_leg_is_transcoded_with_a_plain_one() {
    let mut sim = Sim::new(8);
    let (k, mut phone_srtp) = keys(SrtpSuite::AesCm128HmacSha1_32, 7, 8);
    sim.command(secure_plan(Pcmu, Pcma, &k));
    let mut caller = Phone::new(caller_addr(), 0xaaaa, Pcmu, 440.0);
    let mut callee = Phone::new(callee_addr(), 0xbbbb, Pcma, 880.0);
    for _ in 0..100 {
        let wire = sealed(&mut phone_srtp, &caller.packet());
        sim.rtp(A, caller.addr, wire);
        sim.rtp(B, callee.addr, callee.packet());
        sim.advance(Duration::from_millis(20));
    }
    let to_b = sim.take(B, SocketKind::Rtp);
    assert!(to_b.len() >= 90, "{}", to_b.len());
    assert!(
        level(&decode(&to_b[10..], Pcma), 440.0) > TONE_DBFS - 2.0,
        "the callee hears the caller in PCMA"
    );
    let heard: Vec<Sent> = sim
        .take(A, SocketKind::Rtp)
        .into_iter()
        .map(|p| Sent {
            bytes: phone_srtp.unprotect_rtp(&p.bytes).expect("authenticates").to_vec(),
            ..p
        })
        .collect();
    assert!(
        level(&decode(&heard[10..], Pcmu), 880.0) > TONE_DBFS - 2.0,
        "the caller hears the callee in PCMU"
    );
}

#[test]
fn a_re_invite_with_new_keys_re_keys_and_the_same_keys_keep_the_state() {
    let mut sim = Sim::new(9);
    let (k, mut phone_srtp) = keys(SrtpSuite::AesCm128HmacSha1_80, 1, 2);
    sim.command(secure_plan(Pcmu, Pcmu, &k));
    let mut caller = Phone::new(caller_addr(), 0xaaaa, Pcmu, 440.0);
    let p1 = sealed(&mut phone_srtp, &caller.packet());
    sim.rtp(A, caller.addr, p1.clone());
    // The same keys again (a hold, a session refresh): the replay window
    // is kept, so the old packet is still a replay.
    sim.command(SessionCommand::Update {
        leg: MediaLeg::A,
        remote: Some(caller_addr()),
        remote_rtcp: None,
        srtp: Some(k.clone()),
        webrtc: None,
    });
    sim.rtp(A, caller.addr, p1);
    assert_eq!(sim.core.stats().srtp_refused, 1);
    // The phone re-keys: its old key is refused, its new one taken.
    let (k2, mut phone2) = keys(SrtpSuite::AesCm128HmacSha1_80, 1, 3);
    sim.command(SessionCommand::Update {
        leg: MediaLeg::A,
        remote: Some(caller_addr()),
        remote_rtcp: None,
        srtp: Some(k2),
        webrtc: None,
    });
    let old = sealed(&mut phone_srtp, &caller.packet());
    sim.rtp(A, caller.addr, old);
    assert_eq!(sim.core.stats().srtp_refused, 2);
    let new = sealed(&mut phone2, &caller.packet());
    sim.rtp(A, caller.addr, new);
    assert_eq!(sim.core.stats().srtp_refused, 2);
    assert_eq!(
        sim.take(B, SocketKind::Rtp).len(),
        2,
        "the first packet and the new key's"
    );
    // Dropping the keys (the leg re-negotiated plain RTP) takes clear RTP.
    sim.command(SessionCommand::Update {
        leg: MediaLeg::A,
        remote: Some(caller_addr()),
        remote_rtcp: None,
        srtp: None,
        webrtc: None,
    });
    sim.rtp(A, caller.addr, caller.packet());
    assert_eq!(sim.take(B, SocketKind::Rtp).len(), 1);
}

#[test]
fn encrypted_packets_racing_the_plan_are_decrypted_at_the_plan() {
    let mut sim = Sim::new(10);
    let (k, mut phone_srtp) = keys(SrtpSuite::AesCm128HmacSha1_80, 1, 2);
    let mut caller = Phone::new(caller_addr(), 0xaaaa, Pcmu, 440.0);
    let mut said = Vec::new();
    for _ in 0..3 {
        let plain = caller.packet();
        said.push(plain[12..].to_vec());
        let wire = sealed(&mut phone_srtp, &plain);
        sim.rtp(A, caller.addr, wire);
    }
    sim.command(secure_plan(Pcmu, Pcmu, &k));
    let to_b = sim.take(B, SocketKind::Rtp);
    assert_eq!(to_b.len(), 3);
    for (p, s) in to_b.iter().zip(&said) {
        assert_eq!(p.payload(), &s[..]);
    }
    assert_eq!(sim.core.stats().srtp_refused, 0);
}
