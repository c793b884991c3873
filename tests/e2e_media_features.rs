//! End-to-end tests of the media features with real media (issue 3 item 9),
//! against the real switch binary on loopback, RTP paced in real time:
//!
//! - transcoding: a callee that answers Opus only hears the caller's PCMU
//!   tone as Opus, and the caller hears the callee's Opus tone as PCMU;
//! - RFC 4733 events across a payload-type change, on the relay fast path
//!   and through the transcoding pipeline;
//! - hold and resume from the control API (spec CALL-HOLD-1), its errors;
//! - recording (spec CALL-REC-1): pause and resume from the API, a route
//!   with `record = true`, and a pause that ends by itself after
//!   `[recording] max_pause_s`, all checked in the WAV file and the CDR;
//! - noise removal on a route with `noise_removal = true` (spec
//!   CALL-NOISE-1), measured as the SNR of speech in white noise;
//! - RTCP sender reports about the stream a leg receives (RFC 3550 §6.4.1).
//!
//! The tests wait on events (packets, API states, files), never on timers,
//! and assert what the switch does, not how fast.

mod common;

use common::media::{
    answered_call, api, assert_one_stream, decode_opus, decode_pcmu, only_call_id, opus_pcm, opus_tone, pcmu_tone,
    pcmu_tone_dial, post_ok, read_wav, rtp_packet, AudioSdp, Call, CallSpec, Receiver, Rtp, Sender, Stream, ToneDial,
    FRAME, MEDIA_TIMEOUT,
};
use common::{wait_for_file, wait_until, ConfigDir, Switch};
use std::net::{SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use switchboard::dsp::signal::{speechlike, white_noise};
use switchboard::dsp::tone::{dominant_frequency, level_dbfs, tone_level_dbfs};
use switchboard::rtp::rtcp::{parse_reports, RtcpReport};
use switchboard::rtp::TelephoneEvent;

/// Level of every test tone.
const TONE_DBFS: f64 = -12.0;
/// What the caller says in the hold and recording tests.
const CALLER_HZ: f64 = 1000.0;
/// What the callee says there: far from every partial of the hold music
/// (its notes and their harmonics stay below 2.4 kHz).
const CALLEE_HZ: f64 = 3000.0;
/// What the caller says while held (must never reach the callee), and what
/// both say while a recording is paused (must never reach the file).
const CALLER_PAUSED_HZ: f64 = 1800.0;
const CALLEE_PAUSED_HZ: f64 = 2200.0;

/// Level of `freq` in 20 ms of G.711 (one packet).
fn packet_level(p: &Rtp, freq: f64) -> f64 {
    tone_level_dbfs(&decode_pcmu(std::slice::from_ref(p)), freq, 8000)
}

/// The tone at `freq` is there at about the level sent, it is the dominant
/// frequency, and none of `absent` stands out. Returns the measured level.
fn assert_tone(pcm: &[i16], rate: u32, freq: f64, absent: &[f64], what: &str) -> f64 {
    let level = tone_level_dbfs(pcm, freq, rate);
    let dominant = dominant_frequency(pcm, rate).unwrap_or(0.0);
    let others: Vec<String> = absent
        .iter()
        .map(|&f| format!("{f} Hz {:.1}", tone_level_dbfs(pcm, f, rate)))
        .collect();
    println!(
        "{what}: {freq} Hz at {level:.2} dBFS (sent {TONE_DBFS}), dominant {dominant:.1} Hz; others (dBFS): {}",
        others.join(", ")
    );
    assert!(
        (level - TONE_DBFS).abs() < 3.0,
        "{what}: {freq} Hz at {level:.2} dBFS, sent at {TONE_DBFS}"
    );
    assert!((dominant - freq).abs() < 5.0, "{what}: dominant {dominant:.1} Hz");
    for &f in absent {
        let l = tone_level_dbfs(pcm, f, rate);
        assert!(l < level - 30.0, "{what}: {f} Hz at {l:.1} dBFS next to {level:.1}");
    }
    level
}

/// Every packet's timestamp is `step` after the one before.
fn assert_timestamps(packets: &[Rtp], step: u32, what: &str) {
    for w in packets.windows(2) {
        assert_eq!(w[1].ts.wrapping_sub(w[0].ts), step, "{what}: timestamp step");
    }
}

// ---------------------------------------------------------------------------
// 1. Transcoding
// ---------------------------------------------------------------------------

/// Issue 3 item 9, transcoding: the caller offers PCMU, the callee answers
/// Opus only (RFC 7587, with telephone-event). The caller's 1 kHz PCMU tone
/// reaches the callee as Opus (PT 111, 20 ms, one stream) at the level sent
/// and clean; the callee's 600 Hz Opus tone reaches the caller as PCMU.
#[test]
fn callee_answering_opus_is_transcoded_both_ways() {
    let sw = Switch::start();
    let spec = CallSpec {
        answer: AudioSdp::opus_events(96),
        ..CallSpec::default()
    };
    let c = answered_call(&sw, &spec);
    let offer = String::from_utf8_lossy(&c.b_invite.body).into_owned();
    assert!(offer.contains("opus/48000/2"), "the callee is offered Opus: {offer}");

    let mut at_callee = Receiver::spawn(&c.callee_rtp, c.b_media);
    let mut at_caller = Receiver::spawn(&c.caller_rtp, c.a_media);
    let a = Sender::spawn(
        &c.caller_rtp,
        c.a_media,
        Stream::pcmu(0x1111),
        pcmu_tone(1000.0, TONE_DBFS),
    );
    let b = Sender::spawn(
        &c.callee_rtp,
        c.b_media,
        Stream::opus(0x2222),
        opus_tone(600.0, TONE_DBFS),
    );
    // 1.5 s each way.
    let opus = at_callee.take(75, "Opus at the callee");
    let pcmu = at_caller.take(75, "PCMU at the caller");
    a.stop();
    b.stop();

    assert!(opus.iter().all(|p| p.pt == 111), "Opus, PT 111");
    assert_one_stream(&opus, "to the callee");
    assert_timestamps(&opus, 960, "to the callee (48 kHz clock, 20 ms)");
    assert!(pcmu.iter().all(|p| p.pt == 0 && p.payload.len() == 160), "PCMU, 20 ms");
    assert_one_stream(&pcmu, "to the caller");
    assert_timestamps(&pcmu, 160, "to the caller");

    // Past the codecs' start-up (300 ms).
    let heard = decode_opus(&opus);
    assert_tone(
        &heard[48000 * 3 / 10..],
        48000,
        1000.0,
        &[600.0, 300.0, 2000.0, 3000.0],
        "PCMU -> Opus at the callee",
    );
    let heard = decode_pcmu(&pcmu);
    assert_tone(
        &heard[8000 * 3 / 10..],
        8000,
        600.0,
        &[1000.0, 300.0, 1200.0, 2000.0, 3000.0],
        "Opus -> PCMU at the caller",
    );
}

// ---------------------------------------------------------------------------
// 2. RFC 4733 events across a payload-type change
// ---------------------------------------------------------------------------

/// One event as a phone sends it (RFC 4733 §2.5.1.2-4): starting at frame
/// `at`, updates at `at`, `at + 2`, `at + 4`, the end packet three times at
/// `at + 5`; durations in 8 kHz units.
const EVENT_PACKETS: [(u32, u16, bool); 6] = [
    (0, 160, false),
    (2, 480, false),
    (4, 800, false),
    (5, 960, true),
    (5, 960, true),
    (5, 960, true),
];

/// Sends 20 ms PCMU tone frames paced in real time for `frames` frames,
/// with the events `(first frame, event code)` interleaved as a phone sends
/// them (one sequence space, event timestamp = the frame's). Returns the
/// event packets sent: (timestamp, event).
fn send_with_events(sock: &UdpSocket, to: SocketAddr, frames: u32, events: &[(u32, u8)]) -> Vec<(u32, TelephoneEvent)> {
    let mut tone = pcmu_tone(1000.0, TONE_DBFS);
    let ssrc = 0x7777;
    let mut seq = 0u16;
    let mut sent = Vec::new();
    let start = Instant::now();
    for f in 0..frames {
        let payload = tone().expect("a tone frame");
        sock.send_to(&rtp_packet(f == 0, 0, seq, f * 160, ssrc, &payload), to)
            .expect("send");
        seq = seq.wrapping_add(1);
        for &(at, code) in events {
            for (i, &(offset, duration, end)) in EVENT_PACKETS.iter().enumerate() {
                if at + offset != f {
                    continue;
                }
                let ev = TelephoneEvent {
                    event: code,
                    end,
                    volume: 10,
                    duration,
                };
                let ts = at * 160;
                sock.send_to(&rtp_packet(i == 0, 101, seq, ts, ssrc, &ev.to_bytes()), to)
                    .expect("send");
                seq = seq.wrapping_add(1);
                sent.push((ts, ev));
            }
        }
        let next = start + FRAME * (f + 1);
        let now = Instant::now();
        if next > now {
            std::thread::sleep(next - now);
        }
    }
    sent
}

/// Digit 5 at frame 20, `#` at frame 40, over 60 frames (1.2 s).
const EVENTS: [(u32, u8); 2] = [(20, 5), (40, 11)];

/// Runs [`EVENTS`] from the caller (telephone-event on 101) on `c` and
/// returns (sent, the callee's event packets on `event_pt`, the callee's
/// other packets).
fn events_through(c: &Call, event_pt: u8) -> (Vec<(u32, TelephoneEvent)>, Vec<Rtp>, Vec<Rtp>) {
    let mut at_callee = Receiver::spawn(&c.callee_rtp, c.b_media);
    let sent = send_with_events(&c.caller_rtp, c.a_media, 60, &EVENTS);
    let mut n = 0;
    at_callee
        .wait_for(MEDIA_TIMEOUT, |p| {
            n += usize::from(p.pt == event_pt);
            n == sent.len()
        })
        .unwrap_or_else(|| {
            panic!(
                "only {n} of {} event packets arrived with PT {event_pt}; PTs seen: {:?}",
                sent.len(),
                at_callee.history.iter().map(|p| p.pt).collect::<Vec<_>>()
            )
        });
    at_callee.drain();
    let (events, audio) = at_callee.history.iter().cloned().partition(|p| p.pt == event_pt);
    (sent, events, audio)
}

/// What must survive any translation: per event, the code, the E bit, the
/// volume, one timestamp for all its packets, the marker on its first
/// packet only (RFC 4733 §2.5.1).
fn assert_events_intact(sent: &[(u32, TelephoneEvent)], got: &[Rtp]) -> Vec<TelephoneEvent> {
    assert_eq!(got.len(), sent.len(), "every event packet, the three ends included");
    let parsed: Vec<TelephoneEvent> = got
        .iter()
        .map(|p| TelephoneEvent::parse(&p.payload).expect("an RFC 4733 payload"))
        .collect();
    for (i, ((_, ev), (p, e))) in sent.iter().zip(got.iter().zip(&parsed)).enumerate() {
        assert_eq!(e.digit(), ev.digit(), "packet {i}: the digit");
        assert_eq!(e.end, ev.end, "packet {i}: the E bit");
        assert_eq!(e.volume, ev.volume, "packet {i}: the volume");
        let first_of_event = i % EVENT_PACKETS.len() == 0;
        assert_eq!(p.marker, first_of_event, "packet {i}: marker only at the event start");
        let same_event_first = &got[i - i % EVENT_PACKETS.len()];
        assert_eq!(p.ts, same_event_first.ts, "packet {i}: one timestamp per event");
    }
    assert_ne!(got[0].ts, got[EVENT_PACKETS.len()].ts, "two events, two timestamps");
    let digits: String = parsed.iter().filter_map(|e| e.digit()).collect();
    assert_eq!(digits, "555555######");
    parsed
}

/// Issue 3 item 9, RFC 4733 on the relay fast path: both legs PCMU, the
/// caller's telephone-event is PT 101, the callee's PT 96. Events the caller
/// sends with PT 101 reach the callee with PT 96 and byte-identical payloads
/// (digit, E bit, volume, duration), on the callee's stream timeline.
#[test]
fn dtmf_events_change_payload_type_on_the_fast_path() {
    let sw = Switch::start();
    let spec = CallSpec {
        answer: AudioSdp::pcmu_events(96),
        ..CallSpec::default()
    };
    let c = answered_call(&sw, &spec);
    let (sent, events, audio) = events_through(&c, 96);
    let parsed = assert_events_intact(&sent, &events);
    for ((_, ev), got) in sent.iter().zip(&parsed) {
        assert_eq!(got, ev, "relayed untouched, duration included");
    }
    // The timelines are shifted by one offset: the events are 20 frames apart.
    assert_eq!(events[6].ts.wrapping_sub(events[0].ts), 20 * 160);
    assert!(audio.iter().all(|p| p.pt == 0), "audio stays PCMU");
    assert!(audio.len() >= 60, "the audio went on: {} packets", audio.len());
}

/// Issue 3 item 9, RFC 4733 through the transcoding pipeline: the callee
/// answers Opus with telephone-event/8000 on PT 96. The caller's events (PT
/// 101) reach the callee as PT 96 with digit, E bit, volume and marker
/// intact, next to Opus audio (PT 111), and their durations stay in the
/// negotiated telephone-event/8000 units (RFC 4733 §2.5.1: an event's
/// duration is in the clock of its own payload type).
#[test]
fn dtmf_events_cross_the_transcoding_pipeline() {
    let sw = Switch::start();
    let spec = CallSpec {
        answer: AudioSdp::opus_events(96),
        ..CallSpec::default()
    };
    let c = answered_call(&sw, &spec);
    let (sent, events, audio) = events_through(&c, 96);
    let parsed = assert_events_intact(&sent, &events);
    for ((_, s), g) in sent.iter().zip(&parsed) {
        assert_eq!(g.duration, s.duration, "duration in telephone-event/8000 units");
    }
    assert!(audio.iter().all(|p| p.pt == 111), "audio is Opus");
    assert!(!audio.is_empty(), "audio flows next to the events");
}

/// RFC 4733 §2.1 / RFC 7160: a callee answering Opus with
/// telephone-event/48000 (offered by the switch beside Opus) gets events on
/// the 48 kHz clock: durations ×6 of the caller's 8 kHz ones.
#[test]
fn dtmf_events_to_an_opus_leg_on_its_48k_event_clock() {
    let sw = Switch::start();
    let spec = CallSpec {
        answer: AudioSdp::new(
            "111 110",
            &[
                "rtpmap:111 opus/48000/2",
                "rtpmap:110 telephone-event/48000",
                "fmtp:110 0-15",
            ],
        ),
        ..CallSpec::default()
    };
    let c = answered_call(&sw, &spec);
    let (sent, events, _) = events_through(&c, 110);
    let parsed = assert_events_intact(&sent, &events);
    for ((_, s), g) in sent.iter().zip(&parsed) {
        assert_eq!(
            u32::from(g.duration),
            (u32::from(s.duration) * 6).min(65_535),
            "48 kHz units"
        );
    }
}

// ---------------------------------------------------------------------------
// Both parties talking (hold, recording)
// ---------------------------------------------------------------------------

/// Both parties talking: the caller [`CALLER_HZ`], the callee [`CALLEE_HZ`]
/// (each can change its tone while it talks).
struct Talking {
    at_callee: Receiver,
    at_caller: Receiver,
    caller: ToneDial,
    callee: ToneDial,
    senders: [Sender; 2],
}

fn talk(c: &Call) -> Talking {
    let mut at_callee = Receiver::spawn(&c.callee_rtp, c.b_media);
    let mut at_caller = Receiver::spawn(&c.caller_rtp, c.a_media);
    let (caller, callee) = (ToneDial::new(CALLER_HZ), ToneDial::new(CALLEE_HZ));
    let senders = [
        Sender::spawn(
            &c.caller_rtp,
            c.a_media,
            Stream::pcmu(0x1111),
            pcmu_tone_dial(caller.clone(), TONE_DBFS),
        ),
        Sender::spawn(
            &c.callee_rtp,
            c.b_media,
            Stream::pcmu(0x2222),
            pcmu_tone_dial(callee.clone(), TONE_DBFS),
        ),
    ];
    at_callee.take(10, "the caller at the callee");
    at_caller.take(10, "the callee at the caller");
    Talking {
        at_callee,
        at_caller,
        caller,
        callee,
        senders,
    }
}

impl Talking {
    /// Both parties say `caller` and `callee` from now on; returns once each
    /// is heard by the other (what they said before has passed the switch).
    fn say(&mut self, caller: f64, callee: f64) {
        self.caller.set(caller);
        self.callee.set(callee);
        self.at_callee
            .wait_for(MEDIA_TIMEOUT, |p| packet_level(p, caller) > TONE_DBFS - 3.0)
            .expect("the caller's new tone at the callee");
        self.at_caller
            .wait_for(MEDIA_TIMEOUT, |p| packet_level(p, callee) > TONE_DBFS - 3.0)
            .expect("the callee's new tone at the caller");
    }

    /// Lets the parties talk for `ms` more, counted in the packets the
    /// caller sends (paced in real time).
    fn pass(&mut self, ms: u32) {
        let target = self.senders[0].sent() + u64::from(ms / 20);
        assert!(
            wait_until(MEDIA_TIMEOUT, || self.senders[0].sent() >= target),
            "the caller stopped sending"
        );
    }
}

// ---------------------------------------------------------------------------
// 3. Hold from the control API
// ---------------------------------------------------------------------------

/// Spec CALL-HOLD-1 through the control API: with both parties talking
/// (different tones), `POST /calls/{id}/hold` puts the caller on hold: it
/// hears music (audible, none of the callee's tone) and the callee hears
/// nothing of the caller (who says something else while held); a second
/// hold is 409, an unknown call 404, a bad party 400; `POST
/// /calls/{id}/resume` brings both voices back, and the caller's stream
/// keeps one SSRC and consecutive sequence numbers from speech through
/// music and back.
#[test]
fn api_hold_plays_music_to_the_caller_and_resume_restores_the_call() {
    let sw = Switch::start();
    let c = answered_call(&sw, &CallSpec::default());
    let mut t = talk(&c);
    let heard = |r: &mut Receiver, freq: f64, what: &str| {
        r.wait_for(MEDIA_TIMEOUT, |p| packet_level(p, freq) > TONE_DBFS - 3.0)
            .unwrap_or_else(|| panic!("{what} never heard"));
        let pkts = r.take(25, what);
        assert_tone(&decode_pcmu(&pkts), 8000, freq, &[], what);
    };
    heard(&mut t.at_caller, CALLEE_HZ, "the callee at the caller");
    heard(&mut t.at_callee, CALLER_HZ, "the caller at the callee");

    let id = only_call_id(&sw);
    let hold = format!("/calls/{id}/hold");
    let held = post_ok(&sw, &hold, Some(r#"{"party": "caller"}"#));
    assert_eq!(held["held"], "caller", "{held}");

    // spec: CALL-HOLD-1 — the held party hears music: the music is a new
    // source in the caller's stream, so it starts with the marker bit.
    t.at_caller
        .wait_for(MEDIA_TIMEOUT, |p| p.marker)
        .expect("the music starts in the caller's stream");
    // The hold is in effect: what the caller says from now on must never
    // reach the callee.
    t.caller.set(CALLER_PAUSED_HZ);
    t.at_callee.drain();
    let music = t.at_caller.take(50, "music on hold");
    let during_hold = t.at_callee.drain();
    assert!(music.iter().all(|p| p.pt == 0), "music in the caller's codec");
    let pcm = decode_pcmu(&music);
    let level = level_dbfs(&pcm);
    let callee_in_music = tone_level_dbfs(&pcm, CALLEE_HZ, 8000);
    println!(
        "music on hold: {level:.1} dBFS, {CALLEE_HZ} Hz (the callee's tone) at {callee_in_music:.1} dBFS; \
         the callee got {} packets in that second",
        during_hold.len()
    );
    assert!(level > -40.0, "the music is audible: {level:.1} dBFS");
    assert!(
        callee_in_music < TONE_DBFS - 30.0,
        "the held caller does not hear the callee: {callee_in_music:.1} dBFS"
    );
    for p in &music {
        let l = packet_level(p, CALLEE_HZ);
        assert!(
            l < TONE_DBFS - 20.0,
            "a music packet carries the callee's tone ({l:.1} dBFS)"
        );
    }

    // Errors: already held (409), no such call (404), bad party (400).
    let (status, json) = api(&sw, "POST", &hold, None);
    assert_eq!((status, json["error"].as_str()), (409, Some("conflict")), "{json}");
    let (status, json) = api(&sw, "POST", &format!("/calls/{}/hold", id + 1000), None);
    assert_eq!((status, json["error"].as_str()), (404, Some("not_found")), "{json}");
    let (status, json) = api(&sw, "POST", &hold, Some(r#"{"party": "agent"}"#));
    assert_eq!((status, json["field"].as_str()), (400, Some("party")), "{json}");
    let (status, json) = api(&sw, "GET", &format!("/calls/{id}"), None);
    assert_eq!((status, json["held"].as_str()), (200, Some("caller")), "{json}");

    // The caller goes back to its own tone a moment before the resume.
    t.caller.set(CALLER_HZ);
    t.pass(200);
    let resumed = post_ok(&sw, &format!("/calls/{id}/resume"), None);
    assert!(resumed["held"].is_null(), "{resumed}");
    heard(&mut t.at_caller, CALLEE_HZ, "the callee at the caller after resume");
    heard(&mut t.at_callee, CALLER_HZ, "the caller at the callee after resume");
    t.at_caller.drain();
    t.at_callee.drain();
    // spec: CALL-HOLD-1 — nothing the caller said while held reached the callee.
    for p in &t.at_callee.history {
        let l = packet_level(p, CALLER_PAUSED_HZ);
        assert!(l < TONE_DBFS - 20.0, "the callee heard the held caller ({l:.1} dBFS)");
    }
    // One stream for the caller: speech, music, speech.
    assert_one_stream(&t.at_caller.history, "the caller's stream across hold and resume");
    assert!(t.at_caller.history.iter().all(|p| p.pt == 0));
}

// ---------------------------------------------------------------------------
// 4. Recording
// ---------------------------------------------------------------------------

/// The recordings directory of `sw` (`[recording] dir`, in the data dir).
fn recordings_dir(sw: &Switch) -> PathBuf {
    sw.data_dir().join("recordings")
}

/// The one CDR's recordings, once the call ended.
fn cdr_recordings(sw: &Switch) -> (serde_json::Value, Vec<serde_json::Value>) {
    let cdr = sw.wait_for_cdrs(1, MEDIA_TIMEOUT).remove(0);
    let recs = cdr["recordings"].as_array().cloned().unwrap_or_default();
    (cdr, recs)
}

/// A completed recording: `<file>` exists (awaited), no `.part` is left.
fn completed_wav(sw: &Switch, rec: &serde_json::Value) -> Vec<Vec<i16>> {
    let file = rec["file"].as_str().expect("a file name");
    let path = recordings_dir(sw).join(file);
    assert!(
        wait_for_file(&path, MEDIA_TIMEOUT),
        "{} was not completed",
        path.display()
    );
    let parts: Vec<_> = std::fs::read_dir(recordings_dir(sw))
        .expect("recordings dir")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".part"))
        .collect();
    assert!(parts.is_empty(), "left behind: {parts:?}");
    let channels = read_wav(&path);
    assert_eq!(channels.len(), 2, "stereo (the default layout)");
    channels
}

/// 20 ms frames (160 samples) in which both channels are exactly zero.
fn silent_frames(ch: &[Vec<i16>]) -> Vec<bool> {
    ch[0]
        .chunks(160)
        .zip(ch[1].chunks(160))
        .map(|(l, r)| l.iter().chain(r).all(|&s| s == 0))
        .collect()
}

/// The longest run of silent frames: (first frame, frames).
fn longest_silence(silent: &[bool]) -> (usize, usize) {
    let (mut best, mut run_start) = ((0, 0), None);
    for (i, &s) in silent.iter().chain(std::iter::once(&false)).enumerate() {
        match (s, run_start) {
            (true, None) => run_start = Some(i),
            (false, Some(start)) => {
                if i - start > best.1 {
                    best = (start, i - start);
                }
                run_start = None;
            }
            _ => {}
        }
    }
    best
}

/// Frames `from..to` of the file: the caller on the left, the callee on the
/// right, each at the level sent, neither in the other's channel (spec
/// CALL-REC-1, stereo layout).
fn assert_both_parties(ch: &[Vec<i16>], from: usize, to: usize, what: &str) {
    assert!(to > from + 10, "{what}: only {} frames", to.saturating_sub(from));
    let (l, r) = (&ch[0][from * 160..to * 160], &ch[1][from * 160..to * 160]);
    assert_tone(l, 8000, CALLER_HZ, &[CALLEE_HZ], &format!("{what}, left (caller)"));
    assert_tone(r, 8000, CALLEE_HZ, &[CALLER_HZ], &format!("{what}, right (callee)"));
}

/// The pause is one long span of silence (at least 200 ms, at most the
/// pause and a second), and the file roughly as long as the recording (the
/// recorder writes one frame per 20 ms tick of the media task, so under CPU
/// starvation it may hold less than the wall-clock time; never much more).
fn assert_pause_and_length(gap_frames: usize, pause_ms: u64, file_ms: u64, recorded_ms: u64) {
    let gap_ms = gap_frames as u64 * 20;
    assert!(
        gap_ms >= 200 && gap_ms <= pause_ms + 1000,
        "a {pause_ms} ms pause is {gap_ms} ms of silence in the file"
    );
    assert!(
        file_ms * 3 >= recorded_ms && file_ms <= recorded_ms + 1000,
        "{file_ms} ms of file for {recorded_ms} ms recorded"
    );
}

fn ms(v: &serde_json::Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a number of ms: {v}"))
}

/// Frames (20 ms) of the file where a party's paused-time tone is heard.
fn frames_with_paused_audio(ch: &[Vec<i16>]) -> Vec<usize> {
    let heard = |pcm: &[i16], f: f64| tone_level_dbfs(pcm, f, 8000) > TONE_DBFS - 20.0;
    ch[0]
        .chunks(160)
        .zip(ch[1].chunks(160))
        .enumerate()
        .filter(|(_, (l, r))| heard(l, CALLER_PAUSED_HZ) || heard(r, CALLEE_PAUSED_HZ))
        .map(|(i, _)| i)
        .collect()
}

/// Spec CALL-REC-1 from the control API: start, pause after ~1 s, resume
/// after ~1 s, stop after ~1 s more, end the call. While the recording is
/// paused both parties say something else (other tones, from 100 ms after
/// the pause request until just before the resume request). The WAV is complete (no `.part`
/// left); the caller's tone is on the left and the callee's on the right in
/// the recorded parts; the pause is one span of exact silence; nothing said
/// during the pause is in the file; the file is about as long as the
/// recording; the CDR lists the file with its one pause.
#[test]
fn recording_paused_from_the_api_writes_silence_for_the_pause() {
    let sw = Switch::start();
    let mut c = answered_call(&sw, &CallSpec::default());
    let mut t = talk(&c);
    let id = only_call_id(&sw);
    let rec = |action: &str| post_ok(&sw, &format!("/calls/{id}/recording/{action}"), None);
    assert_eq!(rec("start")["recording"], "recording");
    t.pass(1000);
    assert_eq!(rec("pause")["recording"], "paused");
    t.pass(100);
    t.say(CALLER_PAUSED_HZ, CALLEE_PAUSED_HZ);
    t.pass(900);
    t.say(CALLER_HZ, CALLEE_HZ);
    assert_eq!(rec("resume")["recording"], "recording");
    t.pass(1000);
    assert!(rec("stop")["recording"].is_null());
    t.pass(200);
    c.hang_up();
    drop(t);

    let (_, recs) = cdr_recordings(&sw);
    assert_eq!(recs.len(), 1, "{recs:?}");
    let r = &recs[0];
    let pauses = r["pauses"].as_array().expect("pauses");
    assert_eq!(pauses.len(), 1, "{r}");
    let (start, end) = (ms(&r["start_ms"]), ms(&r["end_ms"]));
    let (p0, p1) = (ms(&pauses[0]["start_ms"]), ms(&pauses[0]["end_ms"]));
    assert!(start <= p0 && p0 <= p1 && p1 <= end, "{r}");

    let ch = completed_wav(&sw, r);
    let silent = silent_frames(&ch);
    let (gap, gap_len) = longest_silence(&silent);
    let leaked = frames_with_paused_audio(&ch);
    let file_ms = ch[0].len() as u64 / 8;
    let pause_ms = p1 - p0;
    println!(
        "recording: {file_ms} ms in the file for {} ms recorded; silence {} ms (frames {gap}..{}) for a \
         {pause_ms} ms pause; {} other silent frames; frames with paused-time audio: {leaked:?}",
        end - start,
        gap_len * 20,
        gap + gap_len,
        silent.iter().filter(|&&s| s).count() - gap_len
    );
    // spec: CALL-REC-1 — paused audio is never written: the pause is
    // silence, and what was said during it is nowhere in the file.
    assert!(
        leaked.is_empty(),
        "audio said during the pause is in the file, frames {leaked:?} (pause: frames {gap}..{})",
        gap + gap_len
    );
    assert_pause_and_length(gap_len, pause_ms, file_ms, end - start);
    // Both parties, each in its channel, before and after the pause (edge
    // frames around the boundaries left out).
    assert_both_parties(&ch, 3, gap.saturating_sub(3), "before the pause");
    assert_both_parties(&ch, gap + gap_len + 3, silent.len() - 3, "after the pause");
}

/// Spec CALL-REC-1 "calls are recorded when the queue says so": a dial-plan
/// route with `record = true` records from the answer until the call ends,
/// without any API request; the CDR lists the file, the file holds both
/// parties.
#[test]
fn route_with_record_records_from_the_answer() {
    let cfg = ConfigDir::from_default();
    cfg.patch(
        "dialplan.toml",
        "name = \"local extensions\"\n",
        "name = \"local extensions\"\nrecord = true\n",
    );
    let sw = Switch::builder().config(cfg.path()).start();
    let mut c = answered_call(&sw, &CallSpec::default());
    let id = only_call_id(&sw);
    let (status, call) = api(&sw, "GET", &format!("/calls/{id}"), None);
    assert_eq!((status, call["recording"].as_str()), (200, Some("recording")), "{call}");
    let mut t = talk(&c);
    t.pass(1000);
    c.hang_up();
    drop(t);

    let (cdr, recs) = cdr_recordings(&sw);
    assert_eq!(recs.len(), 1, "{cdr}");
    let r = &recs[0];
    assert!(r["pauses"].as_array().is_none_or(|p| p.is_empty()), "{r}");
    let answer = ms(&cdr["answer_ms"]);
    println!(
        "record route: answer {answer}, recording {}..{}, call end {}",
        r["start_ms"], r["end_ms"], cdr["end_ms"]
    );
    assert_eq!(ms(&r["start_ms"]), answer, "recorded from the answer");
    assert_eq!(ms(&r["end_ms"]), ms(&cdr["end_ms"]), "until the call ends");
    let ch = completed_wav(&sw, r);
    let frames = ch[0].len() / 160;
    assert_both_parties(&ch, frames / 4, frames - 3, "the recorded call");
}

/// Spec CALL-REC-1 "a pause ends by itself after the admin-set duration":
/// with `[recording] max_pause_s = 1`, a pause never resumed from the API
/// ends by itself (the API shows `recording` again, the CDR's pause lasts
/// at least 1 s) and the file has both parties again after the silence.
#[test]
fn a_pause_ends_by_itself_after_max_pause() {
    let cfg = ConfigDir::from_default();
    cfg.patch("switchboard.toml", "max_pause_s = 180", "max_pause_s = 1");
    let sw = Switch::builder().config(cfg.path()).start();
    let mut c = answered_call(&sw, &CallSpec::default());
    let mut t = talk(&c);
    let id = only_call_id(&sw);
    let rec = |action: &str| post_ok(&sw, &format!("/calls/{id}/recording/{action}"), None);
    rec("start");
    t.pass(600);
    assert_eq!(rec("pause")["recording"], "paused");
    let resumed = wait_until(MEDIA_TIMEOUT, || {
        api(&sw, "GET", &format!("/calls/{id}"), None).1["recording"] == "recording"
    });
    assert!(resumed, "the pause never ended by itself");
    t.pass(1000);
    rec("stop");
    c.hang_up();
    drop(t);

    let (_, recs) = cdr_recordings(&sw);
    assert_eq!(recs.len(), 1, "{recs:?}");
    let pauses = recs[0]["pauses"].as_array().expect("pauses").clone();
    assert_eq!(pauses.len(), 1, "{recs:?}");
    let pause_ms = ms(&pauses[0]["end_ms"]) - ms(&pauses[0]["start_ms"]);
    assert!(pause_ms >= 1000, "the pause ended before max_pause_s: {pause_ms} ms");
    let ch = completed_wav(&sw, &recs[0]);
    let silent = silent_frames(&ch);
    let (gap, gap_len) = longest_silence(&silent);
    println!(
        "auto-resumed pause: {pause_ms} ms in the CDR, {} ms of silence in the file (frames {gap}..{} of {})",
        gap_len * 20,
        gap + gap_len,
        silent.len()
    );
    // spec: CALL-REC-1 — the pause is silence, then the audio is back.
    let file_ms = ch[0].len() as u64 / 8;
    let span = ms(&recs[0]["end_ms"]) - ms(&recs[0]["start_ms"]);
    assert_pause_and_length(gap_len, pause_ms, file_ms, span);
    assert_both_parties(
        &ch,
        gap + gap_len + 3,
        silent.len() - 3,
        "after the pause ended by itself",
    );
}

// ---------------------------------------------------------------------------
// 5. Noise removal
// ---------------------------------------------------------------------------

/// The lag in `lags` at which `y[from + lag..]` best matches
/// `x[from..from + len]`, and their normalised correlation there (1 for the
/// same waveform at any gain; near 0 for unrelated signals or silence).
fn best_lag(x: &[f64], y: &[f64], from: usize, len: usize, lags: std::ops::RangeInclusive<i64>) -> (i64, f64) {
    let x = &x[from..from + len];
    let xx: f64 = x.iter().map(|a| a * a).sum();
    let mut best = (*lags.start(), 0.0);
    for lag in lags {
        let Ok(start) = usize::try_from(from as i64 + lag) else {
            continue;
        };
        let Some(w) = y.get(start..start + len) else { break };
        let (mut xy, mut yy) = (0.0, 0.0);
        for (a, b) in x.iter().zip(w) {
            xy += a * b;
            yy += b * b;
        }
        let rho = if yy > 0.0 { xy / (xx * yy).sqrt() } else { 0.0 };
        if rho > best.1 {
            best = (lag, rho);
        }
    }
    best
}

/// SNR in dB of `out` (48 kHz) against `clean`: the median over 100 ms
/// blocks (from 0.5 s on, skipping the pauses between syllables), each
/// aligned on its own, with the gain by least squares (a level change is no
/// error). Under load the switch's jitter buffer drops 20 ms frames to cut
/// latency, or fills an underrun with concealment and silence, which moves
/// the output against the input by whole frames (960 samples); so the codec
/// delay within a frame is found once (normalised cross-correlation on a
/// 6x-decimated copy, then to the sample) and each block then takes the
/// best whole-frame shift near the previous block's. The median leaves out
/// the blocks cut by such a jump.
fn aligned_snr(clean: &[f64], out: &[i16]) -> f64 {
    let y: Vec<f64> = out.iter().map(|&v| f64::from(v)).collect();
    let decimate = |v: &[f64]| {
        v.chunks_exact(6)
            .map(|c| c.iter().sum::<f64>() / 6.0)
            .collect::<Vec<f64>>()
    };
    let (xd, yd) = (decimate(clean), decimate(&y));
    // The delay within a frame, from the first 250 ms window that matches.
    let mut lag = None;
    for from in (24_000..clean.len() - 48_000).step_by(12_000) {
        let (coarse, rho) = best_lag(&xd, &yd, from / 6, 2_000, -8_000..=8_000);
        if rho > 0.5 {
            lag = Some(best_lag(clean, &y, from, 12_000, (coarse * 6 - 8)..=(coarse * 6 + 8)).0);
            break;
        }
    }
    let mut lag = lag.expect("the output never matches the input");
    let block = 4_800usize;
    let mean_energy = clean.iter().map(|a| a * a).sum::<f64>() / clean.len() as f64;
    let mut snrs = Vec::new();
    for from in (24_000..clean.len() - block).step_by(block) {
        let x = &clean[from..from + block];
        if x.iter().map(|a| a * a).sum::<f64>() < 0.3 * mean_energy * block as f64 {
            continue;
        }
        let mut best = (lag, 0.0);
        for k in -30i64..=30 {
            let (l, rho) = best_lag(clean, &y, from, block, (lag + 960 * k)..=(lag + 960 * k));
            if rho > best.1 {
                best = (l, rho);
            }
        }
        lag = best.0;
        let Some(yy) = usize::try_from(from as i64 + lag)
            .ok()
            .and_then(|s| y.get(s..s + block))
        else {
            break;
        };
        let g = x.iter().zip(yy).map(|(a, b)| a * b).sum::<f64>() / x.iter().map(|a| a * a).sum::<f64>();
        let sig = x.iter().map(|a| (g * a).powi(2)).sum::<f64>();
        let err = x.iter().zip(yy).map(|(a, b)| (b - g * a).powi(2)).sum::<f64>();
        snrs.push(10.0 * (sig / err).log10());
    }
    assert!(snrs.len() >= 10, "only {} blocks could be aligned", snrs.len());
    snrs.sort_by(f64::total_cmp);
    let median = snrs[snrs.len() / 2];
    println!(
        "  {} blocks, SNR {:.2} .. {:.2} dB, median {median:.2} dB",
        snrs.len(),
        snrs[0],
        snrs[snrs.len() - 1]
    );
    median
}

/// Sends `noisy` (48 kHz) as Opus from the caller of a call to `dialled`
/// (callee `callee`, answering Opus) and returns what the callee receives, decoded.
fn opus_call(sw: &Switch, dialled: &str, callee: (&str, &str), noisy: &[i16]) -> Vec<i16> {
    let spec = CallSpec {
        dialled: dialled.into(),
        callee: (callee.0.into(), callee.1.into()),
        offer: AudioSdp::opus_events(101),
        answer: AudioSdp::opus_events(101),
    };
    let mut c = answered_call(sw, &spec);
    let mut at_callee = Receiver::spawn(&c.callee_rtp, c.b_media);
    let frames = noisy.len() / 960;
    let sender = Sender::spawn(
        &c.caller_rtp,
        c.a_media,
        Stream::opus(0x1111),
        opus_pcm(noisy.to_vec(), 64_000),
    );
    let got = at_callee.take(frames, "the caller's speech at the callee");
    sender.stop();
    c.hang_up();
    assert!(got.iter().all(|p| p.pt == 111), "Opus to the callee");
    decode_opus(&got)
}

/// Spec CALL-NOISE-1: on a dial-plan route with `noise_removal = true`,
/// speech in white noise (5 dB SNR) from an Opus caller reaches the Opus
/// callee cleaner than on a route without it (the relay fast path, which
/// delivers the caller's packets untouched). Both legs Opus: the pipeline
/// then works at 48 kHz, RNNoise's own rate.
#[test]
fn noise_removal_route_cleans_the_callers_speech() {
    let cfg = ConfigDir::from_default();
    cfg.patch(
        "dialplan.toml",
        "[[context.internal]]\nname = \"outbound\"",
        "[[context.internal]]\nname = \"denoised\"\nmatch = { exact = \"2001\" }\naction = \"user\"\n\
         user = \"1003\"\nnoise_removal = true\n\n[[context.internal]]\nname = \"outbound\"",
    );
    let sw = Switch::builder().config(cfg.path()).start();

    let len = 48_000 * 4;
    let s = speechlike(48_000, len);
    let rms = (s.iter().map(|v| v * v).sum::<f64>() / len as f64).sqrt();
    let k = 32768.0 * 0.1 / rms;
    let clean: Vec<f64> = s.iter().map(|v| v * k).collect();
    let noise = white_noise(len, 0x5EED);
    let nk = 32768.0 * 0.1 / 10f64.powf(5.0 / 20.0);
    let noisy: Vec<i16> = clean
        .iter()
        .zip(&noise)
        .map(|(c, w)| (c + w * nk).round() as i16)
        .collect();

    let input = aligned_snr(&clean, &noisy);
    let plain = aligned_snr(&clean, &opus_call(&sw, "1001", ("1001", "demo-1001"), &noisy));
    let denoised = aligned_snr(&clean, &opus_call(&sw, "2001", ("1003", "demo-1003"), &noisy));
    println!(
        "noise removal (Opus -> Opus, 48 kHz): input {input:.2} dB, without {plain:.2} dB, \
         with {denoised:.2} dB SNR"
    );
    assert!(
        (plain - input).abs() < 1.5,
        "the relay path delivers the input: {input:.2} dB in, {plain:.2} dB out"
    );
    // spec: CALL-NOISE-1 — the route's calls are cleaned.
    assert!(
        denoised > plain + 2.0,
        "noise removal: {plain:.2} dB without, {denoised:.2} dB with"
    );
}

// ---------------------------------------------------------------------------
// 6. RTCP
// ---------------------------------------------------------------------------

/// RFC 3550 §6.4.1: once RTP flows, the callee's RTCP port (its RTP port +
/// 1, RFC 3550 §11) gets sender reports from the switch about the stream
/// the callee receives: same SSRC, packets counted with 160 payload octets
/// each (PCMU), and a report block about the stream the callee sends.
#[test]
fn callee_gets_sender_reports_about_its_stream() {
    let sw = Switch::start();
    let c = answered_call(&sw, &CallSpec::default());
    let mut at_callee = Receiver::spawn(&c.callee_rtp, c.b_media);
    let _a = Sender::spawn(
        &c.caller_rtp,
        c.a_media,
        Stream::pcmu(0x1111),
        pcmu_tone(CALLER_HZ, TONE_DBFS),
    );
    let _b = Sender::spawn(
        &c.callee_rtp,
        c.b_media,
        Stream::pcmu(0x2222),
        pcmu_tone(CALLEE_HZ, TONE_DBFS),
    );
    let first = at_callee.take(1, "RTP at the callee").remove(0);

    // The first report comes 1.25-3.75 s after the session starts, the next
    // every 2.5-7.5 s; an RR comes first if nothing was sent yet.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut buf = [0u8; 1500];
    let (sr, from) = loop {
        assert!(
            Instant::now() < deadline,
            "no sender report reached the callee's RTCP port"
        );
        let Ok((n, from)) = c.callee_rtcp.recv_from(&mut buf) else {
            continue;
        };
        let reports = parse_reports(&buf[..n]).expect("RTCP reports");
        if let Some(sr) = reports.into_iter().find_map(|r| match r {
            RtcpReport::Sender(sr) => Some(sr),
            RtcpReport::Receiver(_) => None,
        }) {
            break (sr, from);
        }
    };
    println!(
        "SR from {from}: ssrc {:#x}, {} packets, {} octets, blocks {:?}",
        sr.ssrc, sr.packet_count, sr.octet_count, sr.reports
    );
    assert_eq!(from.ip(), c.b_media.ip());
    assert_eq!(sr.ssrc, first.ssrc, "the SR describes the stream the callee receives");
    assert!(sr.packet_count > 0);
    assert_eq!(sr.octet_count, sr.packet_count * 160, "payload octets of 20 ms PCMU");
    assert!(
        sr.reports.iter().any(|b| b.ssrc == 0x2222),
        "a report block about the callee's own stream: {:?}",
        sr.reports
    );
}

/// Spec CALL-REC-1 with the "nothing lost" rule: the switch killed with
/// SIGKILL in the middle of a recording leaves `<name>.wav.part` holding
/// what was captured; the next start repairs it and renames it to a
/// playable `.wav` with both parties in their channels.
#[test]
fn a_crash_mid_recording_leaves_a_playable_file() {
    let data = tempfile::tempdir().expect("data dir");
    let sw = Switch::builder().data_dir(data.path()).start();
    let c = answered_call(&sw, &CallSpec::default());
    let mut t = talk(&c);
    let id = only_call_id(&sw);
    post_ok(&sw, &format!("/calls/{id}/recording/start"), None);
    t.pass(3000);
    let status = std::process::Command::new("kill")
        .args(["-KILL", &sw.pid().to_string()])
        .status()
        .expect("kill(1)");
    assert!(status.success());
    drop(t);
    drop(c);
    drop(sw);
    let dir = data.path().join("recordings");
    let names = |suffix: &str| -> Vec<PathBuf> {
        std::fs::read_dir(&dir)
            .expect("recordings dir")
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.to_string_lossy().ends_with(suffix))
            .collect()
    };
    assert_eq!(names(".wav.part").len(), 1, "the crash left the recording as .part");
    assert!(names(".wav").is_empty(), "not completed before the restart");

    // The restart repairs and renames it before taking calls.
    let _sw = Switch::builder().data_dir(data.path()).start();
    assert!(names(".wav.part").is_empty(), "no .part left after the restart");
    let wavs: Vec<PathBuf> = names(".wav");
    assert_eq!(wavs.len(), 1, "{wavs:?}");
    let ch = read_wav(&wavs[0]);
    let frames = ch[0].len() / 160;
    assert!(
        frames >= 50,
        "at least a second of the 3 s captured survived: {frames} frames"
    );
    assert_both_parties(&ch, 5, frames - 2, "recovered recording");
}
