//! The media session core (`switchboard::media::session::SessionCore`) in
//! virtual time, without sockets: relay and transcoding, hold music
//! (CALL-HOLD-1), the silent monitor (SUP-2), the recording tap
//! (CALL-REC-1), RTCP timing (RFC 3550 §6.2, §6.3.1), latching
//! (`rtp::latch`) and stream continuity (RFC 3550 §5.1, §8).

#[path = "../common/alloc.rs"]
mod alloc;
mod conference;
mod harness;
mod prompt;
mod room;
mod srtp;
mod webrtc;
mod webrtc_bridge;

use harness::*;
use std::time::Duration;
use switchboard::call::media::{MediaLeg, RecordAction};
use switchboard::config::RecordingLayout as ConfigLayout;
use switchboard::media::recorder::RecordingLayout;
use switchboard::media::session::{Peer, SessionCommand, SessionEvent, SocketKind};
use switchboard::rtp::rtcp::{ntp_from_unix, parse_reports, RtcpReport};
use switchboard::sdp::CodecKind::{Pcma, Pcmu};

const CALLER_HZ: f64 = 440.0;
const CALLEE_HZ: f64 = 1000.0;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn phones() -> (Phone, Phone) {
    (
        Phone::new(caller_addr(), 0x1111, Pcmu, CALLER_HZ),
        Phone::new(callee_addr(), 0x2222, Pcmu, CALLEE_HZ),
    )
}

/// Same codec both sides: a packet from the caller goes to the callee at
/// once (no tick), payload untouched, header rewritten into the callee's
/// own stream (its SSRC, consecutive sequence numbers, timestamps 160 apart).
#[test]
fn relay_rewrites_and_forwards_a_packet_at_once() {
    let mut sim = Sim::new(1);
    sim.command(plan(Pcmu, Pcmu));
    assert!(
        sim.core.poll_timeout().is_some_and(|t| t - sim.now >= ms(1250)),
        "the relay needs no frame clock: the only deadline is the first RTCP report"
    );
    let (mut caller, _) = phones();
    let first = caller.packet();
    sim.rtp(A, caller.addr, first.clone());
    let out = sim.take(B, SocketKind::Rtp);
    assert_eq!(out.len(), 1, "forwarded on arrival");
    assert_eq!(out[0].dest, callee_addr(), "to the callee's signalled address");
    assert_eq!(out[0].at, Duration::ZERO);
    let h = out[0].rtp();
    assert_ne!(h.ssrc, 0x1111, "the callee's own SSRC");
    assert_eq!(h.payload_type, 0);
    assert_eq!(out[0].payload(), &first[12..], "payload untouched");
    for _ in 0..4 {
        let pkt = caller.packet();
        sim.rtp(A, caller.addr, pkt);
    }
    let out = [out, sim.take(B, SocketKind::Rtp)].concat();
    assert_eq!(out.len(), 5);
    assert_continuous(&out, 160, "relayed");
    assert_eq!(sim.core.stats().relayed, 5);
    assert!(
        sim.take(A, SocketKind::Rtp).is_empty(),
        "nothing goes back to the caller"
    );
}

/// Issue 13 item 4 (`/metrics`): the session counts packets lost (RFC
/// 3550 §A.3: sent, never received) and late (after a later one of their
/// source), on both the relay and the transcoding path; a new SSRC starts
/// its own count and the old one's losses stay counted.
#[test]
fn lost_and_late_packets_are_counted_across_an_ssrc_change() {
    for (callee_codec, path) in [(Pcmu, "relay"), (Pcma, "transcode")] {
        let mut sim = Sim::new(3);
        sim.command(plan(Pcmu, callee_codec));
        let (mut caller, _) = phones();
        // Sequence 100..=109 sent; 103 is lost, 105 and 106 arrive swapped.
        let mut pkts: Vec<Vec<u8>> = (0..10).map(|_| caller.packet()).collect();
        pkts.remove(3);
        pkts.swap(4, 5);
        for p in pkts {
            sim.rtp(A, caller.addr, p);
            sim.advance(ms(20));
        }
        let s = sim.core.stats();
        assert_eq!((s.lost, s.late), (1, 1), "{path}: {s:?}");
        // The phone restarts with a new SSRC and loses two more.
        let mut restarted = Phone::new(caller_addr(), 0x3333, Pcmu, CALLER_HZ);
        for (i, p) in (0..6).map(|_| restarted.packet()).enumerate() {
            if i != 2 && i != 3 {
                sim.rtp(A, caller.addr, p);
                sim.advance(ms(20));
            }
        }
        let s = sim.core.stats();
        assert_eq!((s.lost, s.late), (3, 1), "{path}: the old source's loss is kept: {s:?}");
    }
}

/// PCMU caller, PCMA callee: the caller's packets go into the pipeline
/// (nothing on arrival), and once its jitter buffer plays, every 20 ms
/// tick sends the callee exactly one PCMA packet carrying the caller's tone.
#[test]
fn transcode_path_emits_one_packet_per_tick() {
    let mut sim = Sim::new(2);
    sim.command(plan(Pcmu, Pcma));
    let mut caller = Phone::new(caller_addr(), 0x1111, Pcmu, CALLER_HZ);
    let pkt = caller.packet();
    sim.rtp(A, caller.addr, pkt);
    assert!(sim.take(B, SocketKind::Rtp).is_empty(), "audio waits for the tick");
    sim.talk(&mut [(&mut caller, A)], 99);
    let out = sim.take(B, SocketKind::Rtp);
    let first_at = out.first().expect("the callee hears the caller").at;
    assert!(
        first_at <= ms(260),
        "playout starts after the jitter delay: {first_at:?}"
    );
    let ticks = (sim.elapsed() - first_at).as_millis() / 20;
    assert!(out.len() as u128 >= ticks, "{} packets over {ticks} ticks", out.len());
    for w in out.windows(2) {
        assert_eq!(w[1].at - w[0].at, ms(20), "one packet per tick");
    }
    assert!(out.iter().all(|p| p.rtp().payload_type == 8), "PCMA");
    assert_continuous(&out, 160, "transcoded");
    let pcm = decode(&out[out.len() - 25..], Pcma);
    assert!((level(&pcm, CALLER_HZ) - TONE_DBFS).abs() < 3.0, "the caller's tone");
}

/// CALL-HOLD-1: the held caller hears music every tick and nothing of the
/// callee; the callee hears nothing of the caller. Resume restores both
/// directions and stops the frame clock.
#[test]
fn a_held_leg_hears_music_and_neither_leg_hears_the_other_until_resume() {
    let mut sim = Sim::new(3);
    sim.command(plan(Pcmu, Pcmu));
    let (mut caller, mut callee) = phones();
    sim.talk(&mut [(&mut caller, A), (&mut callee, B)], 5);
    sim.sent.clear();
    sim.command(SessionCommand::Hold(Some(MediaLeg::A)));
    sim.talk(&mut [(&mut caller, A), (&mut callee, B)], 50);
    assert!(
        sim.take(B, SocketKind::Rtp).is_empty(),
        "the callee hears nothing while the caller is held"
    );
    let music = sim.take(A, SocketKind::Rtp);
    assert!(music.len() >= 50, "music every tick: {}", music.len());
    for w in music.windows(2) {
        assert_eq!(w[1].at - w[0].at, ms(20));
    }
    let pcm = decode(&music, Pcmu);
    assert!(level(&pcm, CALLEE_HZ) < -40.0, "none of the callee's tone in the music");
    assert!(switchboard::dsp::tone::level_dbfs(&pcm) > -40.0, "the music is audible");

    sim.command(SessionCommand::Hold(None));
    let deadline = sim.core.poll_timeout().expect("RTCP");
    assert!(deadline - sim.now > ms(20), "no frame clock once resumed");
    sim.talk(&mut [(&mut caller, A), (&mut callee, B)], 5);
    assert_eq!(
        sim.take(B, SocketKind::Rtp).len(),
        5,
        "the callee hears the caller again"
    );
    let back = sim.take(A, SocketKind::Rtp);
    assert_eq!(back.len(), 5, "the caller hears the callee, and no more music");
    assert!(level(&decode(&back, Pcmu), CALLEE_HZ) > TONE_DBFS - 3.0);
}

/// RFC 3550 §5.1/§8: the caller's one stream goes on across relay → music
/// → relay: one SSRC, every sequence number once and in order, timestamps
/// advancing with time (160 per packet, and the elapsed time at each switch).
#[test]
fn ssrc_sequence_and_timestamps_continue_across_relay_music_relay() {
    let mut sim = Sim::new(4);
    sim.command(plan(Pcmu, Pcmu));
    let (mut caller, mut callee) = phones();
    sim.talk(&mut [(&mut caller, A), (&mut callee, B)], 10);
    sim.command(SessionCommand::Hold(Some(MediaLeg::A)));
    sim.talk(&mut [(&mut caller, A), (&mut callee, B)], 10);
    sim.command(SessionCommand::Hold(None));
    sim.talk(&mut [(&mut caller, A), (&mut callee, B)], 10);
    let to_caller = sim.take(A, SocketKind::Rtp);
    assert!(to_caller.len() >= 30, "{}", to_caller.len());
    let first = to_caller[0].rtp();
    for w in to_caller.windows(2) {
        let (p, q) = (w[0].rtp(), w[1].rtp());
        assert_eq!(q.ssrc, first.ssrc, "one SSRC");
        assert_eq!(q.sequence, p.sequence.wrapping_add(1), "no gap, no repeat");
        let step = q.timestamp.wrapping_sub(p.timestamp);
        let elapsed = (w[1].at - w[0].at).as_millis() as u32 * 8;
        assert!(
            step > 0 && step <= elapsed.max(160) + 160,
            "timestamp step {step} over {elapsed} samples"
        );
    }
    let markers = to_caller.iter().filter(|p| p.rtp().marker).count();
    assert!(markers >= 2, "a marker at each source switch (music, relay again)");
}

/// SUP-2: the monitor gets one packet per tick carrying the mix of both
/// parties; what it sends reaches nobody.
#[test]
fn the_monitor_hears_both_legs_and_is_never_heard() {
    let mut sim = Sim::new(5);
    sim.command(plan(Pcmu, Pcmu));
    let mut monitor_leg = relay_leg(30004, monitor_addr(), g711(Pcmu), g711(Pcmu));
    monitor_leg.pt_map.clear();
    sim.command(SessionCommand::MonitorStart(monitor_leg));
    let (mut caller, mut callee) = phones();
    let mut supervisor = Phone::new(monitor_addr(), 0x3333, Pcmu, 2500.0);
    for _ in 0..50 {
        let pkt = supervisor.packet();
        sim.rtp(Peer::Monitor, supervisor.addr, pkt);
        sim.talk(&mut [(&mut caller, A), (&mut callee, B)], 1);
    }
    let heard = sim.take(Peer::Monitor, SocketKind::Rtp);
    assert!(heard.len() >= 50, "a packet per tick: {}", heard.len());
    assert!(heard.iter().all(|p| p.dest == monitor_addr()));
    assert_continuous(&heard, 160, "monitor stream");
    let pcm = decode(&heard[heard.len() - 25..], Pcmu);
    assert!(
        (level(&pcm, CALLER_HZ) - TONE_DBFS).abs() < 3.0,
        "the caller in the mix"
    );
    assert!(
        (level(&pcm, CALLEE_HZ) - TONE_DBFS).abs() < 3.0,
        "the callee in the mix"
    );
    let to_legs = [sim.take(A, SocketKind::Rtp), sim.take(B, SocketKind::Rtp)].concat();
    assert_eq!(to_legs.len(), 100, "only the two parties' own packets reach the legs");
    let pcm = decode(&to_legs, Pcmu);
    assert!(level(&pcm, 2500.0) < -40.0, "the supervisor is never heard");
    assert_eq!(sim.core.stats().silenced, 50);

    sim.command(SessionCommand::MonitorStop);
    sim.talk(&mut [(&mut caller, A), (&mut callee, B)], 5);
    assert!(sim.take(Peer::Monitor, SocketKind::Rtp).is_empty(), "stopped");
}

fn frames(events: &[(Duration, SessionEvent)]) -> Vec<(&[i16], &[i16])> {
    events
        .iter()
        .filter_map(|(_, e)| match e {
            SessionEvent::RecordingFrame { customer, other } => Some((&customer[..], &other[..])),
            _ => None,
        })
        .collect()
}

fn sides(frames: &[(&[i16], &[i16])]) -> (Vec<i16>, Vec<i16>) {
    let customer = frames.iter().flat_map(|f| f.0.iter().copied()).collect();
    let other = frames.iter().flat_map(|f| f.1.iter().copied()).collect();
    (customer, other)
}

/// CALL-REC-1: start opens the file (event), every tick yields both sides
/// (the caller as the customer), a pause yields silence only, resume brings
/// the audio back, stop completes the file and ends the frames.
#[test]
fn recording_tap_start_pause_resume_stop() {
    let mut sim = Sim::new(6);
    sim.command(plan(Pcmu, Pcmu));
    let (mut caller, mut callee) = phones();
    sim.command(SessionCommand::Record(RecordAction::Start {
        name: "call-42".into(),
        layout: ConfigLayout::Stereo,
    }));
    let started = sim.take_events();
    assert_eq!(
        started.iter().map(|(_, e)| e.clone()).collect::<Vec<_>>(),
        vec![SessionEvent::RecordingStarted {
            name: "call-42".into(),
            layout: RecordingLayout::Stereo
        }]
    );
    sim.talk(&mut [(&mut caller, A), (&mut callee, B)], 50);
    let recorded = sim.take_events();
    let f = frames(&recorded);
    assert!(f.len() >= 50, "a frame per tick: {}", f.len());
    let (customer, other) = sides(&f[f.len() - 25..]);
    assert!(
        (level(&customer, CALLER_HZ) - TONE_DBFS).abs() < 3.0,
        "the caller is the customer"
    );
    assert!(level(&customer, CALLEE_HZ) < -40.0, "the sides are apart");
    assert!(
        (level(&other, CALLEE_HZ) - TONE_DBFS).abs() < 3.0,
        "the callee on the other side"
    );

    sim.command(SessionCommand::Record(RecordAction::Pause));
    sim.talk(&mut [(&mut caller, A), (&mut callee, B)], 25);
    let paused = sim.take_events();
    let f = frames(&paused);
    assert!(f.len() >= 25);
    assert!(
        f.iter().all(|(c, o)| c.iter().chain(o.iter()).all(|&s| s == 0)),
        "silence while paused"
    );

    sim.command(SessionCommand::Record(RecordAction::Resume));
    sim.talk(&mut [(&mut caller, A), (&mut callee, B)], 25);
    let resumed = sim.take_events();
    let f = frames(&resumed);
    let (customer, other) = sides(&f[f.len() - 10..]);
    assert!(
        (level(&customer, CALLER_HZ) - TONE_DBFS).abs() < 3.0,
        "audio again after resume"
    );
    assert!((level(&other, CALLEE_HZ) - TONE_DBFS).abs() < 3.0);

    sim.command(SessionCommand::Record(RecordAction::Stop));
    assert!(matches!(
        sim.take_events().as_slice(),
        [(_, SessionEvent::RecordingStopped)]
    ));
    sim.talk(&mut [(&mut caller, A), (&mut callee, B)], 5);
    assert!(sim.take_events().is_empty(), "no frame after stop");
    assert!(
        sim.core.poll_timeout().expect("RTCP") - sim.now > ms(20),
        "frame clock stopped"
    );
}

/// When the core's RTCP reports went out, per leg.
fn report_times(seed: u64) -> (Vec<Duration>, Vec<Duration>, Vec<(RtcpReport, Duration)>) {
    let mut sim = Sim::new(seed);
    sim.command(plan(Pcmu, Pcmu));
    let (mut caller, mut callee) = phones();
    for _ in 0..3000 {
        sim.talk(&mut [(&mut caller, A), (&mut callee, B)], 1);
        sim.sent.retain(|s| s.socket == SocketKind::Rtcp);
    }
    let to_a = sim.take(A, SocketKind::Rtcp);
    let to_b = sim.take(B, SocketKind::Rtcp);
    let reports = to_b
        .iter()
        .map(|s| (parse_reports(&s.bytes).expect("RTCP").remove(0), s.at))
        .collect();
    (
        to_a.iter().map(|s| s.at).collect(),
        to_b.iter().map(|s| s.at).collect(),
        reports,
    )
}

/// RFC 3550 §6.2/§6.3.1 with a fixed seed: the first report 1.25–3.75 s
/// after the session starts, then every 2.5–7.5 s, both legs together;
/// the same seed gives the same times, another seed others.
#[test]
fn rtcp_reports_first_within_half_interval_then_randomised_and_deterministic() {
    let (a, b, _) = report_times(7);
    assert_eq!(a, b, "both legs are reported to at once");
    assert!(a.len() >= 8, "a minute of reports: {a:?}");
    assert!(a[0] >= ms(1250) && a[0] <= ms(3750), "first report at {:?}", a[0]);
    for w in a.windows(2) {
        let gap = w[1] - w[0];
        assert!(gap >= ms(2500) && gap <= ms(7500), "interval {gap:?}");
    }
    assert_eq!(report_times(7).0, a, "deterministic for a seed");
    assert_ne!(report_times(8).0, a, "another seed, other times");
}

/// RFC 3550 §6.4.1: the callee gets sender reports about the stream it
/// receives (its SSRC, packets and octets sent), with the wall clock given
/// at construction as NTP time, and a report block on what it sends.
#[test]
fn sender_reports_use_the_given_wall_clock_and_describe_the_leg() {
    let (_, _, reports) = report_times(9);
    let (report, at) = &reports[1];
    let RtcpReport::Sender(sr) = report else {
        panic!("an SR once media was sent: {report:?}")
    };
    assert_eq!(
        sr.ntp_time,
        ntp_from_unix(UNIX_START + *at),
        "wall clock = given + elapsed"
    );
    assert_eq!(sr.octet_count, sr.packet_count * 160);
    let expected = (at.as_millis() / 20) as u32;
    assert!(
        sr.packet_count.abs_diff(expected) <= 1,
        "{} packets by {at:?}",
        sr.packet_count
    );
    assert!(
        sr.reports.iter().any(|b| b.ssrc == 0x2222),
        "a block on the callee's stream"
    );
}

/// `rtp::latch`: within the window a packet from the signalled IP on
/// another port latches the leg; then a new address is dropped (nothing
/// forwarded), and the other leg's audio goes to the latched address.
#[test]
fn latching_follows_the_nat_port_then_drops_a_new_address() {
    let mut sim = Sim::new(10);
    sim.command(plan(Pcmu, Pcmu));
    let (mut caller, mut callee) = phones();
    caller.addr = addr("203.0.113.10:40000"); // the NAT kept the IP, not the port
    sim.talk(&mut [(&mut caller, A), (&mut callee, B)], 3);
    assert_eq!(sim.take(B, SocketKind::Rtp).len(), 3, "latched and relayed");
    let to_caller = sim.take(A, SocketKind::Rtp);
    assert!(
        to_caller.iter().all(|p| p.dest == caller.addr),
        "sent where the caller really is"
    );

    let mut intruder = Phone::new(addr("198.51.100.99:4000"), 0x6666, Pcmu, 3000.0);
    let dropped = sim.core.stats().dropped;
    for _ in 0..3 {
        let pkt = intruder.packet();
        sim.rtp(A, intruder.addr, pkt);
    }
    let pkt = caller.packet();
    sim.rtp(A, addr("203.0.113.10:40002"), pkt);
    assert!(
        sim.take(B, SocketKind::Rtp).is_empty(),
        "nothing from a new address after the latch"
    );
    assert_eq!(sim.core.stats().dropped, dropped + 4);
    sim.talk(&mut [(&mut caller, A)], 1);
    assert_eq!(
        sim.take(B, SocketKind::Rtp).len(),
        1,
        "the latched caller still gets through"
    );

    // A re-INVITE signals a new address: the latch opens again for it.
    let moved = addr("203.0.113.77:4100");
    sim.command(SessionCommand::Update {
        leg: MediaLeg::A,
        remote: Some(moved),
        remote_rtcp: None,
        srtp: None,
        webrtc: None,
    });
    caller.addr = moved;
    sim.talk(&mut [(&mut caller, A), (&mut callee, B)], 1);
    assert_eq!(sim.take(B, SocketKind::Rtp).len(), 1);
    assert!(sim.take(A, SocketKind::Rtp).iter().all(|p| p.dest == moved));
}

/// Packets racing the plan are held and relayed when it arrives.
#[test]
fn early_packets_are_relayed_at_the_plan() {
    let mut sim = Sim::new(11);
    let (mut caller, _) = phones();
    for _ in 0..3 {
        let pkt = caller.packet();
        sim.rtp(A, caller.addr, pkt);
    }
    assert!(sim.sent.is_empty());
    assert_eq!(sim.core.poll_timeout(), None, "nothing due before the plan");
    sim.command(plan(Pcmu, Pcmu));
    let out = sim.take(B, SocketKind::Rtp);
    assert_eq!(out.len(), 3);
    assert_continuous(&out, 160, "early packets");
}

/// The relay fast path allocates nothing per packet (the transmit queue
/// reuses its buffers), nor does a tick feeding the monitor and the recording.
#[test]
fn relay_packets_and_ticks_allocate_nothing() {
    let mut sim = Sim::new(12);
    sim.command(plan(Pcmu, Pcmu));
    let (mut caller, mut callee) = phones();
    sim.talk(&mut [(&mut caller, A), (&mut callee, B)], 5);
    let mut packets: Vec<Vec<u8>> = (0..1000).map(|_| caller.packet()).collect();
    let probe = alloc::count();
    let _ = std::hint::black_box(vec![0u8; 16]);
    assert!(alloc::count() > probe, "allocation counter not counting");

    let before = alloc::count();
    let mut bytes = 0;
    for p in packets.iter_mut() {
        sim.core.handle_rtp(sim.now, A, caller.addr, p);
        while let Some(t) = sim.core.poll_transmit() {
            bytes += t.payload.len();
        }
    }
    assert_eq!(alloc::count() - before, 0, "relayed packets allocated");
    assert_eq!(bytes, 1000 * 172);

    let mut monitor_leg = relay_leg(30004, monitor_addr(), g711(Pcmu), g711(Pcmu));
    monitor_leg.pt_map.clear();
    sim.command(SessionCommand::MonitorStart(monitor_leg));
    sim.command(SessionCommand::Record(RecordAction::Start {
        name: "call-7".into(),
        layout: ConfigLayout::Mixed,
    }));
    sim.talk(&mut [(&mut caller, A), (&mut callee, B)], 20);
    // The first rounds of this loop find the queues' depth (a relayed packet
    // and the monitor's waiting together); the last 100 are counted.
    let mut packets: Vec<Vec<u8>> = (0..120).map(|_| caller.packet()).collect();
    let (mut frames, mut allocated, mut reports) = (0, 0, 0);
    for (k, p) in packets.iter_mut().enumerate() {
        if k == 20 {
            (frames, allocated, reports) = (0, 0, 0);
        }
        let before = alloc::count();
        sim.core.handle_rtp(sim.now, A, caller.addr, p);
        sim.now += ms(20);
        sim.core.handle_timeout(sim.now);
        let mut rtcp = false;
        while let Some(t) = sim.core.poll_transmit() {
            rtcp |= t.socket == SocketKind::Rtcp;
        }
        while let Some(e) = sim.core.poll_event() {
            frames += usize::from(matches!(e, SessionEvent::RecordingFrame { .. }));
        }
        // Building an RTCP report (every 2.5-7.5 s) allocates its datagram.
        match rtcp {
            true => reports += 1,
            false => allocated += alloc::count() - before,
        }
    }
    assert_eq!(allocated, 0, "ticks with a monitor and a recording allocated");
    assert!(reports <= 1, "{reports}");
    assert_eq!(frames, 100);
}

/// The frame clock runs only while something plays per frame: music after
/// a minute of relaying starts at once without a burst of the ticks the
/// relay did not need; a core handled 3 s late (a starved worker) catches
/// up at most 1 s of frames, then keeps the 20 ms pace.
#[test]
fn the_frame_clock_starts_without_a_burst_and_bounds_its_catch_up() {
    let mut sim = Sim::new(13);
    sim.command(plan(Pcmu, Pcmu));
    sim.advance(Duration::from_secs(60));
    sim.sent.clear();
    sim.command(SessionCommand::Hold(Some(MediaLeg::A)));
    sim.advance(ms(200));
    let music = sim.take(A, SocketKind::Rtp);
    assert_eq!(music.len(), 11, "one packet at the hold, then one per 20 ms");

    let late = sim.now + Duration::from_secs(3);
    sim.now = late;
    sim.core.handle_timeout(late);
    sim.drain();
    let burst = sim.take(A, SocketKind::Rtp);
    assert_eq!(burst.len(), 50, "1 s of frames caught up, the rest skipped");
    let next = sim.core.poll_timeout().expect("the frame clock");
    assert_eq!(next - late, ms(20), "then the 20 ms pace again");
}
