//! Entry points' prompts and key presses (issue 14 item 1, media side): a
//! caller in a flow is the held leg A of its pair (answered with early
//! media, like a queued caller) and hears the switch. A
//! [`SessionCommand::Prompt`] plays it exactly the prompt's samples from
//! the next tick, then music or silence; an empty prompt stops one at
//! once, a new one replaces it; a leg that is not held hears nothing of
//! it. Keys pressed on the held leg (RFC 4733) are reported once each as
//! [`SessionEvent::Digit`] and never relayed; on the relay path they are
//! relayed and not reported, as before.

use crate::harness::*;
use std::sync::Arc;
use std::time::Duration;
use switchboard::call::media::{AfterPrompt, MediaLeg};
use switchboard::dsp::g711;
use switchboard::media::prompts::embedded_samples;
use switchboard::media::session::{SessionCommand, SessionEvent, SocketKind};
use switchboard::rtp::dtmf::{digit_to_event, TelephoneEvent};
use switchboard::rtp::packet::{write_packet, RtpFields};
use switchboard::sdp::CodecKind::Pcmu;

const FRAME: usize = 160;

fn ticks(n: u64) -> Duration {
    Duration::from_millis(20 * n)
}

/// A call whose caller (leg A) hears the switch: planned as a queued
/// caller is, held, and a few ticks of music sent already (cleared).
fn held_caller(seed: u64) -> Sim {
    let mut sim = Sim::new(seed);
    sim.command(plan(Pcmu, Pcmu));
    sim.command(SessionCommand::Hold(Some(MediaLeg::A)));
    sim.advance(ticks(5));
    sim.sent.clear();
    sim
}

fn prompt(samples: Arc<[i16]>, then: AfterPrompt) -> SessionCommand {
    SessionCommand::Prompt {
        leg: MediaLeg::A,
        samples,
        then,
    }
}

/// A recognisable signal: a sawtooth of `len` samples at about −10 dBFS.
fn sawtooth(len: usize, period: usize) -> Arc<[i16]> {
    (0..len)
        .map(|i| ((i % period) as i32 * 20000 / period as i32 - 10000) as i16)
        .collect()
}

/// What a phone decodes of `samples` sent as PCMU: 20 ms frames, the last
/// padded with silence, each through G.711 (its quantisation).
fn through_pcmu(samples: &[i16]) -> Vec<i16> {
    let mut out = Vec::new();
    for chunk in samples.chunks(FRAME) {
        let mut frame = [0i16; FRAME];
        frame[..chunk.len()].copy_from_slice(chunk);
        let (mut law, mut back) = ([0u8; FRAME], [0i16; FRAME]);
        g711::encode_ulaw(&frame, &mut law).expect("a frame");
        g711::decode_ulaw(&law, &mut back).expect("a frame");
        out.extend_from_slice(&back);
    }
    out
}

/// The leg's decoded audio in 20 ms frames.
fn frames_to_a(sim: &mut Sim) -> (Vec<Sent>, Vec<Vec<i16>>) {
    let sent = sim.take(A, SocketKind::Rtp);
    let pcm = decode(&sent, Pcmu);
    let frames = pcm.chunks(FRAME).map(<[i16]>::to_vec).collect();
    (sent, frames)
}

fn silent(frame: &[i16]) -> bool {
    frame.iter().all(|s| s.unsigned_abs() <= 8)
}

/// The prompt's samples come out exactly (through G.711) from the tick
/// after the command, one 20 ms packet per tick on the caller's one
/// stream, the last padded; then silence frames keep going out every tick.
#[test]
fn a_prompt_plays_exactly_its_samples_then_silence() {
    let mut sim = held_caller(41);
    // 1000 samples: six whole frames and 40 samples of a seventh.
    let samples = sawtooth(1000, 73);
    sim.command(prompt(samples.clone(), AfterPrompt::Silence));
    assert!(sim.take(A, SocketKind::Rtp).is_empty(), "nothing before the next tick");
    sim.advance(ticks(7 + 50));
    let (sent, frames) = frames_to_a(&mut sim);
    assert_eq!(sent.len(), 57, "one packet per tick");
    assert_eq!(sent[0].at, ticks(6), "from the next tick");
    assert_continuous(&sent, 160, "the caller's stream");
    let heard: Vec<i16> = frames[..7].concat();
    assert_eq!(heard, through_pcmu(&samples), "exactly the prompt's samples");
    for (h, s) in heard.iter().zip(samples.iter()) {
        // G.711 µ-law: at most half a step of its 8 segments (≤ 512 at full scale).
        assert!((i32::from(*h) - i32::from(*s)).abs() <= 512, "{h} vs {s}");
    }
    assert!(silent(&heard[1000..]), "the last frame padded with silence");
    assert!(frames[7..].iter().all(|f| silent(f)), "then silence, every tick");
}

/// After a prompt with `then: Music` the music comes back.
#[test]
fn a_prompt_then_music() {
    let mut sim = held_caller(42);
    let samples = embedded_samples("no-input").expect("embedded");
    let n = samples.len().div_ceil(FRAME);
    sim.command(prompt(samples.clone(), AfterPrompt::Music));
    sim.advance(ticks(n as u64 + 50));
    let (sent, frames) = frames_to_a(&mut sim);
    assert_eq!(sent.len(), n + 50);
    assert_eq!(frames[..n].concat(), through_pcmu(&samples), "the whole prompt");
    let after = frames[n..].concat();
    assert!(
        switchboard::dsp::tone::level_dbfs(&after) > -40.0,
        "the music again: {:.1} dBFS",
        switchboard::dsp::tone::level_dbfs(&after)
    );
    assert!(frames[n..].iter().filter(|f| silent(f)).count() < 5, "not silence");
}

/// Barge-in: an empty prompt stops the one playing at the next tick, and
/// the leg hears its `then` (silence, or the music).
#[test]
fn an_empty_prompt_stops_a_prompt_midway() {
    for then in [AfterPrompt::Silence, AfterPrompt::Music] {
        let mut sim = held_caller(43);
        let welcome = embedded_samples("welcome").expect("embedded");
        sim.command(prompt(welcome.clone(), AfterPrompt::Silence));
        sim.advance(ticks(10));
        sim.command(prompt(Arc::from(Vec::new()), then));
        sim.advance(ticks(30));
        let (sent, frames) = frames_to_a(&mut sim);
        assert_eq!(sent.len(), 40);
        assert_eq!(
            frames[..10].concat(),
            through_pcmu(&welcome[..10 * FRAME]),
            "{then:?}: the prompt's first 200 ms"
        );
        let rest = frames[10..].concat();
        match then {
            AfterPrompt::Silence => assert!(silent(&rest), "stopped at once: silence"),
            AfterPrompt::Music => {
                let level = switchboard::dsp::tone::level_dbfs(&rest);
                assert!(level > -40.0, "stopped at once: music ({level:.1} dBFS)");
                let prompt_on = through_pcmu(&welcome[10 * FRAME..40 * FRAME]);
                assert_ne!(rest, prompt_on, "not the prompt going on");
            }
        }
    }
}

/// A new prompt replaces the one playing from the next tick; the new
/// one's `then` follows it.
#[test]
fn a_new_prompt_replaces_the_old() {
    let mut sim = held_caller(44);
    let first = sawtooth(8000, 50);
    let second = sawtooth(3 * FRAME, 31);
    sim.command(prompt(first.clone(), AfterPrompt::Music));
    sim.advance(ticks(5));
    sim.command(prompt(second.clone(), AfterPrompt::Silence));
    sim.advance(ticks(13));
    let (_, frames) = frames_to_a(&mut sim);
    assert_eq!(frames.len(), 18);
    assert_eq!(frames[..5].concat(), through_pcmu(&first[..5 * FRAME]));
    assert_eq!(frames[5..8].concat(), through_pcmu(&second), "the new prompt, whole");
    assert!(frames[8..].iter().all(|f| silent(f)), "then the new prompt's silence");
}

/// A leg that does not hear the switch hears nothing of a prompt: on the
/// relay path nothing is sent but what the callee says, and a prompt to
/// the leg that is not the held one changes nothing of what the held one
/// hears (music).
#[test]
fn a_prompt_to_a_leg_that_is_not_held_plays_nothing() {
    let mut sim = Sim::new(45);
    sim.command(plan(Pcmu, Pcmu));
    let (mut caller, mut callee) = (
        Phone::new(caller_addr(), 0x1111, Pcmu, 440.0),
        Phone::new(callee_addr(), 0x2222, Pcmu, 1000.0),
    );
    sim.command(prompt(sawtooth(1600, 40), AfterPrompt::Silence));
    sim.talk(&mut [(&mut caller, A), (&mut callee, B)], 20);
    let to_a = sim.take(A, SocketKind::Rtp);
    assert_eq!(to_a.len(), 20, "only the callee's packets");
    assert!(
        level(&decode(&to_a, Pcmu), 1000.0) > TONE_DBFS - 3.0,
        "the callee, relayed"
    );
    assert_eq!(sim.core.stats().relayed, 40);

    // B held: a prompt to A is dropped, B hears music and A nothing.
    sim.command(SessionCommand::Hold(Some(MediaLeg::B)));
    sim.command(prompt(sawtooth(1600, 40), AfterPrompt::Silence));
    sim.advance(ticks(20));
    assert!(sim.take(A, SocketKind::Rtp).is_empty(), "A hears nothing");
    let music = sim.take(B, SocketKind::Rtp);
    assert!(music.len() >= 20);
    assert!(switchboard::dsp::tone::level_dbfs(&decode(&music, Pcmu)) > -40.0);
}

/// CALL-HOLD-1 after a flow: once released, the leg forgets the prompt's
/// silence, and a later hold plays music.
#[test]
fn a_released_leg_hears_music_on_its_next_hold() {
    let mut sim = held_caller(46);
    sim.command(prompt(sawtooth(320, 40), AfterPrompt::Silence));
    sim.advance(ticks(10));
    let (_, frames) = frames_to_a(&mut sim);
    assert!(frames[2..].iter().all(|f| silent(f)), "silence after the prompt");
    sim.command(SessionCommand::Hold(None));
    sim.command(SessionCommand::Hold(Some(MediaLeg::A)));
    sim.advance(ticks(25));
    let (_, frames) = frames_to_a(&mut sim);
    let level = switchboard::dsp::tone::level_dbfs(&frames.concat());
    assert!(level > -40.0, "music on hold: {level:.1} dBFS");
}

/// The queue announcement (tones) still plays to a held caller, after
/// which what followed the last prompt goes on.
#[test]
fn a_queue_announcement_still_plays() {
    let mut sim = held_caller(47);
    sim.command(prompt(Arc::from(Vec::new()), AfterPrompt::Silence));
    sim.command(SessionCommand::Announce {
        leg: MediaLeg::A,
        position: 3,
        wait_s: 200,
    });
    let len = switchboard::dsp::prompt::queue_announcement(3, 200).len();
    let n = len.div_ceil(FRAME);
    sim.advance(ticks(n as u64 + 10));
    let (_, frames) = frames_to_a(&mut sim);
    assert_eq!(
        switchboard::dsp::prompt::decode_announcement(&frames[..n].concat()),
        Some((3, 4)),
        "place 3, 4 minutes"
    );
    assert!(frames[n..].iter().all(|f| silent(f)), "then the silence asked for");
}

/// The RTP packets of one key press as a phone sends them (RFC 4733
/// §2.5.1): the start with the marker bit, two updates, then the end three
/// times; all with the event's timestamp.
fn key_press(ssrc: u32, seq: &mut u16, ts: u32, key: char) -> Vec<Vec<u8>> {
    let event = digit_to_event(key).expect("a DTMF key");
    [
        (160u16, false),
        (320, false),
        (480, false),
        (640, true),
        (640, true),
        (640, true),
    ]
    .into_iter()
    .map(|(duration, end)| {
        let ev = TelephoneEvent {
            event,
            end,
            volume: 10,
            duration,
        };
        let fields = RtpFields {
            marker: duration == 160,
            payload_type: 101,
            sequence: *seq,
            timestamp: ts,
            ssrc,
        };
        *seq = seq.wrapping_add(1);
        let mut buf = vec![0u8; 16];
        let len = write_packet(&mut buf, &fields, &ev.to_bytes()).expect("fits");
        buf.truncate(len);
        buf
    })
    .collect()
}

fn digits(sim: &mut Sim) -> Vec<(MediaLeg, char)> {
    sim.take_events()
        .into_iter()
        .filter_map(|(_, e)| match e {
            SessionEvent::Digit { leg, digit } => Some((leg, digit)),
            _ => None,
        })
        .collect()
}

/// Sends `keys` from the caller's phone, each press's packets 20 ms
/// apart between audio packets (RFC 4733 §2.5.1.2: the events replace the
/// audio while the key is down).
fn press(sim: &mut Sim, caller: &mut Phone, keys: &[char]) {
    for &key in keys {
        for _ in 0..3 {
            let pkt = caller.packet();
            sim.rtp(A, caller.addr, pkt);
            sim.advance(ticks(1));
        }
        let ts = caller.ts;
        let mut seq = caller.seq;
        for pkt in key_press(caller.ssrc, &mut seq, ts, key) {
            sim.rtp(A, caller.addr, pkt);
            sim.advance(ticks(1));
        }
        caller.seq = seq;
        caller.ts = caller.ts.wrapping_add(640);
    }
}

/// Keys pressed by the held caller (hearing a prompt) are reported once
/// each, in order, and nothing it sends reaches the callee.
#[test]
fn keys_from_the_held_caller_are_reported_once_each() {
    let mut sim = held_caller(48);
    sim.command(prompt(
        embedded_samples("welcome").expect("embedded"),
        AfterPrompt::Silence,
    ));
    let mut caller = Phone::new(caller_addr(), 0x1111, Pcmu, 440.0);
    press(&mut sim, &mut caller, &['1', '#']);
    assert_eq!(digits(&mut sim), [(MediaLeg::A, '1'), (MediaLeg::A, '#')]);
    assert!(sim.take(B, SocketKind::Rtp).is_empty(), "not relayed while held");
    assert_eq!(sim.core.stats().relayed, 0);
    // A press again (a new event: a new timestamp) is a new digit.
    press(&mut sim, &mut caller, &['1']);
    assert_eq!(digits(&mut sim), [(MediaLeg::A, '1')]);
}

/// Not held: the caller's keys go to the callee as before (relayed, not
/// reported); nor are they reported while the other leg is the held one.
#[test]
fn keys_are_not_reported_when_the_leg_is_not_held() {
    let mut sim = Sim::new(49);
    sim.command(plan(Pcmu, Pcmu));
    let mut caller = Phone::new(caller_addr(), 0x1111, Pcmu, 440.0);
    press(&mut sim, &mut caller, &['1', '#']);
    assert!(digits(&mut sim).is_empty(), "relay path: not reported");
    let to_b = sim.take(B, SocketKind::Rtp);
    let events = to_b.iter().filter(|p| p.rtp().payload_type == 101).count();
    assert_eq!(events, 12, "every event packet relayed to the callee");
    assert_eq!(to_b.len(), 18, "with the audio");

    sim.command(SessionCommand::Hold(Some(MediaLeg::B)));
    press(&mut sim, &mut caller, &['5']);
    assert!(digits(&mut sim).is_empty(), "the held leg is B: A's keys not reported");
}
