//! Fuzzing entry points of the media plane (DESIGN.md convention 8): the
//! RTP and RTCP datagrams (RFC 3550 §5.1, §6.4) and RFC 4733 §2.3
//! telephone-events a call's phones send, fed to the sans-IO session core
//! and the transcoding pipeline the way the media worker feeds them.
//!
//! Invariants checked besides "never panics": every datagram the core sends
//! a leg parses (RTP with [`RtpHeader::parse`], RTCP with
//! [`rtcp::parse_reports`]); each leg hears one SSRC whatever feeds it (RFC
//! 3550 §8, the rewriter's promise); `handle_timeout(t)` always moves the
//! deadline past `t`; the pipeline's packets carry the outgoing leg's
//! payload types and well-formed events; on an SRTP leg (RFC 3711), every
//! datagram sent authenticates and decrypts with the phone's keys. The
//! caller passes the base [`Instant`]; only differences from it matter.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use crate::call::media::{AfterPrompt, LegAudio, MediaLeg, RecordAction, RelayLeg};
use crate::config::RecordingLayout;
use crate::media::pipeline::{LegFormat, Pipeline, PipelineOptions, MAX_OUT_PACKET};
use crate::media::session::{Peer, SessionCommand, SessionConfig, SessionCore, SocketKind};
use crate::media::HoldMusic;
use crate::rtp::dtmf::{TelephoneEvent, EVENT_LEN};
use crate::rtp::fuzz::records;
use crate::rtp::packet::{write_packet, RtpFields, RtpHeader};
use crate::rtp::rtcp;
use crate::rtp::srtp::{MasterKey, SrtpKeys, SrtpStream, SrtpSuite};
use crate::sdp::CodecKind;

/// Deadlines a session input runs one by one, at most (keeps an execution
/// short: each may be a 20 ms tick that encodes Opus).
const MAX_STEPS: usize = 120;

fn music() -> Arc<HoldMusic> {
    static MUSIC: OnceLock<Arc<HoldMusic>> = OnceLock::new();
    MUSIC.get_or_init(|| Arc::new(HoldMusic::embedded())).clone()
}

fn addr(ip: [u8; 4], port: u16) -> SocketAddr {
    SocketAddr::from((ip, port))
}

fn audio(codec: CodecKind, pt: u8, event_clock_rate: u32) -> LegAudio {
    LegAudio {
        codec,
        clock_rate: if codec == CodecKind::Opus { 48_000 } else { 8000 },
        recv_pt: pt,
        send_pt: pt,
        event_recv_pt: Some(101),
        event_send_pt: Some(101),
        event_clock_rate: Some(event_clock_rate),
    }
}

fn leg(port: u16, remote: SocketAddr, audio: LegAudio, other: &LegAudio, denoise: bool) -> Box<RelayLeg> {
    let pt_map = if audio.codec == other.codec {
        vec![(other.recv_pt, audio.send_pt), (101, 101)]
    } else {
        Vec::new()
    };
    Box::new(RelayLeg {
        local: addr([10, 0, 0, 1], port),
        remote: Some(remote),
        remote_rtcp: None,
        audio,
        pt_map,
        denoise,
        srtp: None,
        webrtc: None,
    })
}

/// Leg A's SRTP keys when the selector asks for them (bit 5): the switch's
/// view, and the phone's (keys swapped).
fn srtp_keys(selector: u8) -> Option<(SrtpKeys, SrtpKeys)> {
    if selector & 0x20 == 0 {
        return None;
    }
    let suite = if selector & 0x40 == 0 {
        SrtpSuite::AesCm128HmacSha1_80
    } else {
        SrtpSuite::AesCm128HmacSha1_32
    };
    let switch = SrtpKeys {
        suite,
        local: MasterKey::new([0x5a; 30]),
        remote: MasterKey::new([0xa5; 30]),
    };
    let phone = switch.peer_view();
    Some((switch, phone))
}

/// The plan a selector picks: relay, G.711 transcoding, Opus ↔ G.711, or
/// relay with noise removal (a pipeline on one leg); leg A SRTP with bit 5.
fn plan(selector: u8, a_addr: SocketAddr, b_addr: SocketAddr) -> SessionCommand {
    let (a, b, denoise) = match selector & 3 {
        0 => (audio(CodecKind::Pcmu, 0, 8000), audio(CodecKind::Pcmu, 0, 8000), false),
        1 => (audio(CodecKind::Pcmu, 0, 8000), audio(CodecKind::Pcma, 8, 8000), false),
        2 => {
            let event_clock = if selector & 4 == 0 { 48_000 } else { 8000 };
            (
                audio(CodecKind::Opus, 111, event_clock),
                audio(CodecKind::Pcmu, 0, 8000),
                false,
            )
        }
        _ => (audio(CodecKind::Pcma, 8, 8000), audio(CodecKind::Pcma, 8, 8000), true),
    };
    let mut leg_a = leg(30_000, a_addr, a, &b, denoise);
    leg_a.srtp = srtp_keys(selector).map(|(switch, _)| switch);
    SessionCommand::Plan {
        a: leg_a,
        b: leg(30_002, b_addr, b, &a, false),
    }
}

/// What one session test saw go out.
#[derive(Default)]
struct Sent {
    /// The SSRC each leg hears (A, B).
    ssrc: [Option<u32>; 2],
    /// Leg A's phone, when it is SRTP: opens what the core sends it and
    /// seals some of what the input has it send.
    phone: Option<SrtpStream>,
}

impl Sent {
    fn drain(&mut self, core: &mut SessionCore) {
        while let Some(t) = core.poll_transmit() {
            let opened;
            let payload = match (&mut self.phone, t.to) {
                (Some(phone), Peer::Leg(MediaLeg::A)) => {
                    let r = match t.socket {
                        SocketKind::Rtp => phone.unprotect_rtp(t.payload),
                        SocketKind::Rtcp => phone.unprotect_rtcp(t.payload),
                    };
                    opened = match r {
                        Ok(p) => p,
                        Err(e) => panic!("the core sent the SRTP leg a datagram its phone refuses: {e}"),
                    };
                    &opened[..]
                }
                _ => t.payload,
            };
            match t.socket {
                SocketKind::Rtp => {
                    let h = match RtpHeader::parse(payload) {
                        Ok(h) => h,
                        Err(e) => panic!("the core sent {:?} an RTP packet that does not parse: {e}", t.to),
                    };
                    let i = match t.to {
                        Peer::Leg(MediaLeg::A) => 0,
                        Peer::Leg(MediaLeg::B) => 1,
                        _ => continue,
                    };
                    let seen = *self.ssrc[i].get_or_insert(h.ssrc);
                    assert_eq!(seen, h.ssrc, "{:?} hears two SSRCs (RFC 3550 §8)", t.to);
                }
                SocketKind::Rtcp => {
                    if let Err(e) = rtcp::parse_reports(payload) {
                        panic!("the core sent {:?} RTCP that does not parse: {e}", t.to);
                    }
                }
            }
        }
        while core.poll_event().is_some() {}
    }
}

/// Runs every deadline up to `now`; each must move the next one on.
fn run_until(core: &mut SessionCore, now: Instant, sent: &mut Sent, steps: &mut usize) {
    while let Some(at) = core.poll_timeout() {
        if at > now || *steps >= MAX_STEPS {
            break;
        }
        *steps += 1;
        core.handle_timeout(at);
        sent.drain(core);
        if let Some(next) = core.poll_timeout() {
            assert!(next > at, "handle_timeout({at:?}) left the deadline at {next:?}");
        }
    }
}

/// A call's media session fed the input's records (see
/// [`crate::rtp::fuzz::records`]). The selector picks the plan (bits 0–2),
/// whether records come before the answer (bit 3), whether a recording
/// runs (bit 4), and whether leg A is SRTP (bit 5; bit 6 its suite). Each record's `gap` octet says what it is: bits 0–1 RTP
/// from A, from B, RTCP from A, from B; bits 2–5 the time before it
/// (`v² × 2` ms); bit 6 a source other than the leg's address; bit 7 a
/// command instead (its first octet: hold A, hold B, resume, record
/// pause/resume, re-plan, a prompt to A (issue 14; the rest of the record
/// as its samples), re-address B).
pub fn session(data: &[u8], base: Instant) {
    let (selector, records) = records(data);
    let a_addr = addr([203, 0, 113, 10], 4000);
    let b_addr = addr([198, 51, 100, 20], 5000);
    let stranger = addr([192, 0, 2, 99], 7000);
    let mut core = SessionCore::new(
        base,
        SessionConfig {
            call: 1,
            seed: u64::from(selector),
            unix_time: Duration::from_secs(1_704_067_200),
            music: music(),
            dtls: None,
        },
    );
    let mut sent = Sent {
        phone: srtp_keys(selector).and_then(|(_, phone)| SrtpStream::new(&phone).ok()),
        ..Sent::default()
    };
    let mut steps = 0;
    if selector & 0x10 != 0 {
        core.handle_command(
            base,
            SessionCommand::Record(RecordAction::Start {
                name: "fuzz".into(),
                layout: RecordingLayout::Stereo,
            }),
        );
    }
    let mut planned = selector & 8 == 0;
    if planned {
        core.handle_command(base, plan(selector, a_addr, b_addr));
    }
    let mut now = base;
    let mut buf = Vec::new();
    for (i, (gap, bytes)) in records.iter().enumerate() {
        let g = gap.as_millis() as u8;
        let v = u64::from((g >> 2) & 0xf);
        now += Duration::from_millis(v * v * 2);
        run_until(&mut core, now, &mut sent, &mut steps);
        if !planned && i == 2 {
            core.handle_command(now, plan(selector, a_addr, b_addr));
            planned = true;
        }
        if g & 0x80 != 0 {
            let cmd = match bytes.first().copied().unwrap_or(0) % 8 {
                0 => SessionCommand::Hold(Some(MediaLeg::A)),
                1 => SessionCommand::Hold(Some(MediaLeg::B)),
                2 => SessionCommand::Hold(None),
                3 => SessionCommand::Record(RecordAction::Pause),
                4 => SessionCommand::Record(RecordAction::Resume),
                5 => plan(selector, a_addr, b_addr),
                // Issue 14: a prompt to A made of the record's other
                // octets (none: a barge-in), then music or silence.
                6 => SessionCommand::Prompt {
                    leg: MediaLeg::A,
                    samples: bytes.iter().skip(1).map(|b| i16::from(*b as i8) * 256).collect(),
                    then: if bytes.len() % 2 == 0 {
                        AfterPrompt::Music
                    } else {
                        AfterPrompt::Silence
                    },
                },
                _ => SessionCommand::Update {
                    leg: MediaLeg::B,
                    remote: Some(stranger),
                    remote_rtcp: None,
                    srtp: None,
                    webrtc: None,
                },
            };
            core.handle_command(now, cmd);
        } else {
            let leg = if g & 1 == 0 { MediaLeg::A } else { MediaLeg::B };
            let src = match (g & 0x40 != 0, leg) {
                (true, _) => stranger,
                (false, MediaLeg::A) => a_addr,
                (false, _) => b_addr,
            };
            // An SRTP leg's phone seals records of even length (those
            // that are RTP/RTCP at all), so both the refusal of garbage and
            // the decrypted path are explored.
            let sealed = match (&mut sent.phone, leg, bytes.len() % 2 == 0, g & 2 == 0) {
                (Some(phone), MediaLeg::A, true, true) => phone.protect_rtp(bytes).ok(),
                (Some(phone), MediaLeg::A, true, false) => phone.protect_rtcp(bytes).ok(),
                _ => None,
            };
            let bytes = sealed.as_deref().unwrap_or(bytes);
            if g & 2 == 0 {
                buf.clear();
                buf.extend_from_slice(bytes);
                core.handle_rtp(now, Peer::Leg(leg), src, &mut buf);
            } else {
                let rtcp_src = SocketAddr::new(src.ip(), src.port().wrapping_add(1));
                core.handle_rtcp(now, leg, rtcp_src, bytes);
            }
        }
        sent.drain(&mut core);
    }
    // Then a stall past the first RTCP reports (due 1.25–3.75 s in): the
    // core catches up at most 50 ticks, then sends the reports.
    let end = now + Duration::from_secs(4);
    core.handle_timeout(end);
    sent.drain(&mut core);
    if let Some(next) = core.poll_timeout() {
        assert!(next > end, "handle_timeout({end:?}) left the deadline at {next:?}");
    }
    let _ = core.stats();
}

/// An RTCP datagram (RFC 3550 §6.4) from each leg of a relayed call whose
/// phones have sent one packet each (SSRC `0x11223344` from A, `0x55667788`
/// from B): read as the session reads it (LSR/DLSR, round-trip time), then
/// the session's own reports, which must parse.
pub fn rtcp(data: &[u8], base: Instant) {
    let a_addr = addr([203, 0, 113, 10], 4000);
    let b_addr = addr([198, 51, 100, 20], 5000);
    let mut core = SessionCore::new(
        base,
        SessionConfig {
            call: 1,
            seed: 7,
            unix_time: Duration::from_secs(1_704_067_200),
            music: music(),
            dtls: None,
        },
    );
    core.handle_command(base, plan(0, a_addr, b_addr));
    let mut sent = Sent::default();
    let mut packet = [0u8; 12 + 160];
    for (i, (peer, src, ssrc)) in [(MediaLeg::A, a_addr, 0x1122_3344), (MediaLeg::B, b_addr, 0x5566_7788)]
        .into_iter()
        .enumerate()
    {
        let fields = RtpFields {
            marker: true,
            payload_type: 0,
            sequence: 100,
            timestamp: 8000,
            ssrc,
        };
        let Ok(n) = write_packet(&mut packet, &fields, &[0xff; 160]) else {
            panic!("a 172-octet buffer holds a PCMU packet");
        };
        core.handle_rtp(
            base + Duration::from_millis(i as u64),
            Peer::Leg(peer),
            src,
            &mut packet[..n],
        );
        sent.drain(&mut core);
    }
    let at = base + Duration::from_millis(500);
    for (leg, src) in [(MediaLeg::A, a_addr), (MediaLeg::B, b_addr)] {
        core.handle_rtcp(at, leg, SocketAddr::new(src.ip(), src.port() + 1), data);
        sent.drain(&mut core);
    }
    let end = base + Duration::from_secs(4);
    core.handle_timeout(end);
    sent.drain(&mut core);
}

/// RFC 4733 events through a transcoding pipeline (PCMU with events → the
/// leg the selector picks, with its own event payload type and clock rate,
/// RFC 4733 §2.5.1 translation). Input: a selector octet, then records of
/// 6 octets `ctl, gap_ms, payload[4]`: `ctl` bits 0–5 advance the event
/// timestamp by that many 20 ms frames, bit 6 sends audio instead, bit 7
/// clears the marker.
pub fn events(data: &[u8], base: Instant) {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let from = LegFormat::new(CodecKind::Pcmu, 0, Some(101));
    let mut to = match selector & 3 {
        0 => LegFormat::new(CodecKind::Pcma, 8, Some(96)),
        1 => LegFormat::new(CodecKind::Pcma, 8, None),
        2 => LegFormat::new(CodecKind::Pcmu, 0, Some(101)),
        _ => LegFormat::new(CodecKind::Pcma, 8, Some(127)),
    };
    to.event_clock_rate = match (selector >> 2) & 3 {
        0 => 8000,
        1 => 16_000,
        2 => 48_000,
        _ => 1,
    };
    let Ok(pipe) = Pipeline::new(from, to, PipelineOptions::default()) else {
        panic!("a valid pipeline was refused");
    };
    let mut pipe = pipe.with_stream(0xfeed_0001, 65_500, u32::MAX - 4000);
    let mut now = base;
    let mut next_tick = base;
    let mut seq: u16 = 1;
    let mut ts: u32 = u32::MAX - 1000;
    let mut packet = [0u8; 12 + 160];
    let mut out = vec![0u8; MAX_OUT_PACKET];
    let silence = [0xffu8; 160];
    for rec in rest.chunks_exact(2 + EVENT_LEN).take(64) {
        let (ctl, gap, payload) = (rec[0], rec[1], &rec[2..]);
        now += Duration::from_millis(u64::from(gap));
        ts = ts.wrapping_add(u32::from(ctl & 0x3f) * 160);
        let audio = ctl & 0x40 != 0;
        let fields = RtpFields {
            marker: ctl & 0x80 == 0,
            payload_type: if audio { 0 } else { 101 },
            sequence: seq,
            timestamp: ts,
            ssrc: 0x1234_5678,
        };
        seq = seq.wrapping_add(1);
        let body: &[u8] = if audio { &silence } else { payload };
        let Ok(n) = write_packet(&mut packet, &fields, body) else {
            panic!("a 172-octet buffer holds any test packet");
        };
        while next_tick <= now {
            pipe.tick(next_tick);
            next_tick += Duration::from_millis(20);
        }
        pipe.push(&packet[..n], now);
        while let Some(len) = pipe.poll_packet(&mut out) {
            let h = match RtpHeader::parse(&out[..len]) {
                Ok(h) => h,
                Err(e) => panic!("the pipeline sent a packet that does not parse: {e}"),
            };
            assert_eq!(h.ssrc, 0xfeed_0001);
            if Some(h.payload_type) == to.event_pt {
                let body = &out[h.payload_offset..h.payload_end];
                assert_eq!(body.len(), EVENT_LEN, "an event packet carries one event");
                assert!(TelephoneEvent::parse(body).is_ok());
            } else {
                assert_eq!(
                    h.payload_type, to.pt,
                    "the pipeline sent a payload type the leg did not negotiate"
                );
            }
        }
    }
    let stats = pipe.stats();
    assert!(stats.events_out <= stats.events_in, "more events out than in");
}

/// The `media` target's finds replay clean (issue 11 item 6).
#[cfg(test)]
mod regressions {
    /// Issue 14 through the session entry point: A held, a prompt, a key
    /// press (RFC 4733 start and end) from A, a barge-in, A released.
    #[test]
    fn prompt_and_keys_on_a_held_leg_run_clean() {
        let event = |end: u8, seq: u8| [0x80, 101, 0, seq, 0, 0, 0x10, 0, 0, 0, 0x11, 0x11, 1, end, 0, 160];
        let mut input = vec![0u8];
        input.extend_from_slice(&[0x80, 1, 0]); // hold A
        input.extend_from_slice(&[0x80 | (3 << 2), 5, 6, 10, 20, 30, 40]); // prompt, then silence
        input.extend_from_slice(&[2 << 2, 16]);
        input.extend_from_slice(&event(0x0a, 1));
        input.extend_from_slice(&[2 << 2, 16]);
        input.extend_from_slice(&event(0x8a, 2));
        input.extend_from_slice(&[0x80 | (2 << 2), 1, 6]); // barge-in, then silence
        input.extend_from_slice(&[0x80 | (4 << 2), 1, 2]); // resume
        super::session(&input, std::time::Instant::now());
    }

    #[test]
    fn srtp_duplicate_index_find_replays_clean() {
        let input = include_bytes!("../../tests/vectors/rtp/crash-srtp-duplicate-index.bin");
        super::session(input, std::time::Instant::now());
    }
}
