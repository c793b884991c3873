//! Conference mixer (`switchboard::media::mixer`, issue 9 deliverable 1) in
//! virtual time: phones send their own tones as RTP, the Goertzel levels of
//! what each one hears say who is heard by whom.

mod harness;

use harness::{opus, pcma, pcmu, Conf, R};
use switchboard::dsp::tone::{goertzel_power, level_dbfs, ToneGenerator};
use switchboard::dsp::SampleRate;
use switchboard::media::mixer::{Bridge, BridgeConfig, MixerError, PartyMode, Silence, StreamState};

/// Each phone's tone in the 8-party tests (Hz): apart, and no low-order
/// intermodulation product of the others lands on one of them.
const TONES: [f64; 8] = [410.0, 630.0, 870.0, 1130.0, 1390.0, 1710.0, 2070.0, 2490.0];
/// Every phone talks at this level; the sum of seven stays under the limiter's knee.
const LEVEL: f64 = -22.0;
/// The seconds of audio analysed, at the end of a run.
const WINDOW: f64 = 1.0;

fn stream(i: u32) -> StreamState {
    StreamState {
        ssrc: 0xB000_0000 + i,
        sequence: (i as u16).wrapping_mul(1000),
        timestamp: i.wrapping_mul(1_000_000),
    }
}

fn silent_bridge() -> Bridge {
    Bridge::new(BridgeConfig::default(), Box::new(Silence))
}

/// Asserts that `level` (dBFS) is `expected` within 1 dB.
fn assert_heard(level: f64, expected: f64, what: &str) {
    assert!(
        (level - expected).abs() <= 1.0,
        "{what}: {level:.2} dBFS, expected {expected:.2}"
    );
}

/// Asserts that `level` is at least 40 dB under `LEVEL`.
fn assert_not_heard(level: f64, what: &str) {
    assert!(
        level <= LEVEL - 40.0,
        "{what}: {level:.2} dBFS should be 40 dB under {LEVEL}"
    );
}

// spec: CALL-CONF-1
#[test]
fn eight_parties_each_hear_the_seven_others_and_not_themselves() -> R {
    let mut conf = Conf::new(silent_bridge());
    for (i, &f) in TONES.iter().enumerate() {
        let format = if i % 2 == 0 { pcmu() } else { pcma() };
        conf.join(format, f, LEVEL, stream(i as u32))?;
    }
    assert_eq!(conf.bridge.mix_rate(), SampleRate::Hz8000);
    conf.run(100)?;
    for (i, listener) in conf.phones.iter().enumerate() {
        for (j, &f) in TONES.iter().enumerate() {
            let level = listener.hears(f, WINDOW);
            if i == j {
                assert_not_heard(level, &format!("phone {i} hearing itself"));
            } else {
                assert_heard(level, LEVEL, &format!("phone {i} hearing phone {j} ({f} Hz)"));
            }
        }
    }
    Ok(())
}

// spec: CALL-CONF-1
#[test]
fn a_ninth_party_is_refused_and_bad_requests_are_typed() -> R {
    let mut bridge = silent_bridge();
    let mut ids = Vec::new();
    for i in 0..8 {
        ids.push(bridge.add_party(pcmu(), stream(i))?);
    }
    let err = bridge.add_party(pcmu(), stream(8)).err();
    assert!(matches!(err, Some(MixerError::Full { max: 8 })), "{err:?}");
    assert_eq!(
        err.map(|e| e.to_string()).as_deref(),
        Some("the conference is full: at most 8 parties (CALL-CONF-1)")
    );
    assert_eq!(bridge.len(), 8);
    // A place freed is a place again.
    bridge.remove_party(ids[3])?;
    let again = bridge.add_party(pcma(), stream(9))?;
    assert!(!ids.contains(&again), "ids are not reused");
    assert!(matches!(
        bridge.remove_party(ids[3]),
        Err(MixerError::UnknownParty { .. })
    ));
    assert!(matches!(
        bridge.push(ids[3], &[0x80; 20], std::time::Instant::now()),
        Err(MixerError::UnknownParty { .. })
    ));
    // Whisper to oneself or to someone not there.
    let me = ids[0];
    assert!(matches!(
        bridge.set_mode(me, PartyMode::Whisper { to: me }),
        Err(MixerError::WhisperTarget { .. })
    ));
    assert!(matches!(
        bridge.set_mode(me, PartyMode::Whisper { to: ids[3] }),
        Err(MixerError::WhisperTarget { .. })
    ));
    assert_eq!(bridge.mode(me), Some(PartyMode::Talk));
    // A meet-me room may hold fewer.
    let mut small = Bridge::new(BridgeConfig { max_parties: 3 }, Box::new(Silence));
    for i in 0..3 {
        small.add_party(pcmu(), stream(i))?;
    }
    let err = small.add_party(opus(), stream(3)).err().map(|e| e.to_string());
    assert_eq!(
        err.as_deref(),
        Some("the conference is full: at most 3 parties (CALL-CONF-1)")
    );
    Ok(())
}

// spec: SUP-2, CALL-HOLD-1
#[test]
fn whisper_mute_listen_only_and_hold_decide_who_hears_whom() -> R {
    const MUSIC: f64 = 3100.0;
    let music = ToneGenerator::sine(MUSIC, LEVEL, 8000);
    let mut conf = Conf::new(Bridge::new(BridgeConfig::default(), Box::new(music)));
    let names = ["agent", "customer", "coach", "monitor", "muted", "held"];
    for (i, _) in names.iter().enumerate() {
        conf.join(pcmu(), TONES[i], LEVEL, stream(i as u32))?;
    }
    let id = |i: usize| conf.phones[i].id;
    let (agent, coach, monitor, muted, held) = (id(0), id(2), id(3), id(4), id(5));
    conf.bridge.set_mode(coach, PartyMode::Whisper { to: agent })?;
    conf.bridge.set_mode(monitor, PartyMode::ListenOnly)?;
    conf.bridge.set_mode(muted, PartyMode::Muted)?;
    conf.bridge.set_mode(held, PartyMode::Held)?;
    conf.run(100)?;
    // hears[listener][speaker]: true when the speaker must be heard.
    let hears = [
        [false, true, true, false, false, false],   // agent: customer and the coach
        [true, false, false, false, false, false],  // customer: the agent only
        [true, true, false, false, false, false],   // coach: agent and customer
        [true, true, false, false, false, false],   // monitor: agent and customer
        [true, true, false, false, false, false],   // muted: agent and customer
        [false, false, false, false, false, false], // held: nobody
    ];
    for (l, row) in hears.iter().enumerate() {
        let listener = &conf.phones[l];
        for (s, &heard) in row.iter().enumerate() {
            let level = listener.hears(TONES[s], WINDOW);
            let what = format!("{} hearing {}", names[l], names[s]);
            if heard {
                assert_heard(level, LEVEL, &what);
            } else {
                assert_not_heard(level, &what);
            }
        }
        let music = listener.hears(MUSIC, WINDOW);
        if l == 5 {
            assert_heard(music, LEVEL, "held party hearing music");
        } else {
            assert_not_heard(music, &format!("{} hearing music", names[l]));
        }
    }
    // The coach's target leaves: the whisper is heard by nobody.
    let (_, _) = conf.leave(0)?;
    conf.run(25)?;
    for l in 0..conf.phones.len() {
        assert_not_heard(
            conf.phones[l].hears(TONES[2], 0.25),
            &format!("phone {l} hearing the orphaned whisper"),
        );
    }
    Ok(())
}

// spec: CALL-CONSULT-4 (a consult from a conference: a private side mix)
#[test]
fn parties_talking_aside_hear_only_each_other_while_the_others_talk_on() -> R {
    let mut conf = Conf::new(silent_bridge());
    let names = ["customer", "agent", "colleague", "consultee"];
    for (i, _) in names.iter().enumerate() {
        conf.join(pcmu(), TONES[i], LEVEL, stream(i as u32))?;
    }
    let (agent, consultee) = (conf.phones[1].id, conf.phones[3].id);
    conf.bridge.set_mode(agent, PartyMode::Aside)?;
    conf.bridge.set_mode(consultee, PartyMode::Aside)?;
    conf.run(100)?;
    let hears = [
        [false, false, true, false], // customer: the colleague only
        [false, false, false, true], // agent: the consultee only
        [true, false, false, false], // colleague: the customer only
        [false, true, false, false], // consultee: the agent only
    ];
    for (l, row) in hears.iter().enumerate() {
        for (s, &heard) in row.iter().enumerate() {
            let level = conf.phones[l].hears(TONES[s], WINDOW);
            let what = format!("{} hearing {}", names[l], names[s]);
            if heard {
                assert_heard(level, LEVEL, &what);
            } else {
                assert_not_heard(level, &what);
            }
        }
    }
    Ok(())
}

// spec: CALL-CONF-1 (wideband parties on a mixed bridge)
#[test]
fn opus_pair_hears_6_khz_from_each_other_that_g711_parties_do_not_get() -> R {
    const WIDE_X: f64 = 6000.0;
    const WIDE_Y: f64 = 6400.0;
    // Not harmonics of each other nor of the wideband tones' difference.
    const NARROW_P: f64 = 470.0;
    const NARROW_Q: f64 = 1130.0;
    let mut conf = Conf::new(silent_bridge());
    let p = conf.join(pcmu(), NARROW_P, LEVEL, stream(0))?;
    let q = conf.join(pcma(), NARROW_Q, LEVEL, stream(1))?;
    assert_eq!(conf.bridge.mix_rate(), SampleRate::Hz8000);
    let x = conf.join(opus(), WIDE_X, LEVEL, stream(2))?;
    let y = conf.join(opus(), WIDE_Y, LEVEL, stream(3))?;
    assert_eq!(conf.bridge.mix_rate(), SampleRate::Hz16000);
    conf.run(100)?;
    let (px, py) = (&conf.phones[x], &conf.phones[y]);
    assert_heard(px.hears(WIDE_Y, WINDOW), LEVEL, "opus x hearing y's 6.4 kHz");
    assert_heard(py.hears(WIDE_X, WINDOW), LEVEL, "opus y hearing x's 6 kHz");
    assert_not_heard(px.hears(WIDE_X, WINDOW), "opus x hearing itself");
    assert_not_heard(py.hears(WIDE_Y, WINDOW), "opus y hearing itself");
    for (o, name) in [(px, "x"), (py, "y")] {
        assert_heard(
            o.hears(NARROW_P, WINDOW),
            LEVEL,
            &format!("opus {name} hearing the PCMU party"),
        );
        assert_heard(
            o.hears(NARROW_Q, WINDOW),
            LEVEL,
            &format!("opus {name} hearing the PCMA party"),
        );
    }
    for (g, other, name) in [(&conf.phones[p], NARROW_Q, "pcmu"), (&conf.phones[q], NARROW_P, "pcma")] {
        assert_heard(
            g.hears(other, WINDOW),
            LEVEL,
            &format!("{name} hearing the other G.711 party"),
        );
        // 6 and 6.4 kHz cannot be carried at 8 kHz: neither heard nor folded to 2 / 1.6 kHz.
        for f in [2000.0, 1600.0] {
            assert_not_heard(g.hears(f, WINDOW), &format!("{name}: alias at {f} Hz"));
        }
        // What they hear is the other G.711 party's tone only (plus codec noise):
        // the wideband tones do not reach them in any form.
        let tail = g.tail(WINDOW);
        let other_power = goertzel_power(tail, other, 8000);
        let total = 10f64.powf(level_dbfs(tail) / 10.0) / 2.0;
        assert!(
            other_power / total > 0.98,
            "{name}: {:.4} of the power is the narrowband tone",
            other_power / total
        );
    }
    // The last Opus party leaving takes the bridge back to 8 kHz.
    conf.leave(y)?;
    conf.leave(x)?;
    assert_eq!(conf.bridge.mix_rate(), SampleRate::Hz8000);
    conf.run(50)?;
    assert_heard(
        conf.phones[p].hears(NARROW_Q, 0.5),
        LEVEL,
        "pcmu after the opus parties left",
    );
    Ok(())
}

/// Checks one listener's packets: one SSRC, sequence +1, timestamp + one
/// frame from the given start; returns the ticks where the marker was set.
fn assert_continuous(got: &[harness::Got], start: StreamState, step: u32) -> Vec<u32> {
    let mut markers = Vec::new();
    for (k, g) in got.iter().enumerate() {
        let k16 = k as u16;
        let k32 = k as u32;
        assert_eq!(g.ssrc, start.ssrc, "packet {k}: SSRC");
        assert_eq!(g.seq, start.sequence.wrapping_add(k16), "packet {k}: sequence");
        assert_eq!(g.ts, start.timestamp.wrapping_add(k32 * step), "packet {k}: timestamp");
        if g.marker {
            markers.push(g.tick);
        }
    }
    markers
}

// spec: CALL-HOLD-1 (one continuous stream across joins, leaves and hold)
#[test]
fn each_listener_gets_one_continuous_stream_across_joins_leaves_and_hold() -> R {
    let mut conf = Conf::new(silent_bridge());
    // Continue a relay stream that is about to wrap both counters.
    let relay = StreamState {
        ssrc: 0xCAFE_F00D,
        sequence: 65_530,
        timestamp: u32::MAX - 500,
    };
    let l = conf.join(pcmu(), 410.0, LEVEL, relay)?;
    let wide_start = stream(7);
    let w = conf.join(opus(), 630.0, LEVEL, wide_start)?;
    assert_eq!((l, w), (0, 1));
    conf.run(20)?;
    let b = conf.join(pcma(), 870.0, LEVEL, stream(2))?;
    conf.run(20)?;
    let (_, _) = conf.leave(b)?;
    conf.run(10)?;
    let listener = conf.phones[l].id;
    conf.bridge.set_mode(listener, PartyMode::Held)?;
    conf.run(10)?;
    conf.bridge.set_mode(listener, PartyMode::Talk)?;
    conf.run(10)?;
    // The Opus party leaves (8 kHz mix again) and comes back (16 kHz).
    let (first_stay, wide_next) = conf.leave(w)?;
    conf.run(10)?;
    let w2 = conf.join(opus(), 630.0, LEVEL, wide_next)?;
    conf.run(10)?;
    let ticks = conf.tick;
    let (second_stay, _) = conf.leave(w2)?;
    let (phone, next) = conf.leave(l)?;
    assert_eq!(phone.got.len(), ticks as usize, "one packet per tick");
    let markers = assert_continuous(&phone.got, relay, 160);
    assert_eq!(
        markers,
        vec![0, 50, 60],
        "marker on the first packet, on hold and on resume"
    );
    assert!(phone.got.iter().all(|g| g.pt == 0));
    let n = phone.got.len() as u32;
    assert_eq!(
        next,
        StreamState {
            ssrc: relay.ssrc,
            sequence: relay.sequence.wrapping_add(n as u16),
            timestamp: relay.timestamp.wrapping_add(n * 160),
        },
        "the stream's next values are handed back"
    );
    // The Opus phone's two stays form one stream (48 kHz clock: 960 per frame),
    // continued through the values handed back.
    assert_eq!(first_stay.got.len(), 70);
    assert_eq!(assert_continuous(&first_stay.got, wide_start, 960), vec![0]);
    assert_eq!(wide_next.sequence, wide_start.sequence.wrapping_add(70));
    assert_eq!(wide_next.timestamp, wide_start.timestamp.wrapping_add(70 * 960));
    assert_eq!(assert_continuous(&second_stay.got, wide_next, 960), vec![80]);
    assert!(first_stay.got.iter().chain(&second_stay.got).all(|g| g.pt == 111));
    Ok(())
}

// spec: CALL-CONF-1 (saturation-free summing)
#[test]
fn two_loud_talkers_are_limited_not_wrapped_or_clipped() -> R {
    let mut conf = Conf::new(silent_bridge());
    conf.join(pcmu(), 500.0, -1.0, stream(0))?;
    conf.join(pcmu(), 700.0, -1.0, stream(1))?;
    let l = conf.join(pcmu(), 1000.0, -40.0, stream(2))?;
    conf.run(100)?;
    let listener = &conf.phones[l];
    let tail = listener.tail(WINDOW);
    // µ-law's largest magnitude is 32124: a hard clip of the sum would hit it constantly.
    let top = tail.iter().map(|v| v.unsigned_abs()).max().unwrap_or(0);
    assert!(top < 32_124, "peak {top}: clipped");
    let (a, b) = (listener.hears(500.0, WINDOW), listener.hears(700.0, WINDOW));
    assert!((a - b).abs() < 0.5, "both talkers at one level: {a:.2} / {b:.2}");
    assert!(level_dbfs(tail) > -6.0, "still loud: {:.2} dBFS", level_dbfs(tail));
    // Wrap-around or clipping would spread the power into harmonics and
    // intermodulation products; here the two tones carry it.
    let tones = goertzel_power(tail, 500.0, 8000) + goertzel_power(tail, 700.0, 8000);
    let total = 10f64.powf(level_dbfs(tail) / 10.0) / 2.0;
    assert!(
        tones / total > 0.98,
        "{:.4} of the power in the two tones",
        tones / total
    );
    let gain = conf.bridge.stats(listener.id).map_or(1.0, |s| s.limiter_gain);
    assert!(gain < 0.6, "the limiter rides the gain: {gain}");
    Ok(())
}

// spec: CALL-CONF-1 (one party's late or lost packets never delay the others)
#[test]
fn a_party_whose_packets_stall_does_not_delay_the_others() -> R {
    let mut conf = Conf::new(silent_bridge());
    let tones = &TONES[..4];
    for (i, &f) in tones.iter().enumerate() {
        conf.join(pcmu(), f, LEVEL, stream(i as u32))?;
    }
    conf.run(50)?;
    // Phone 3's packets stop arriving for 1.2 s; every tick still gives
    // everyone a packet (`run` checks), and the others hear each other.
    conf.phones[3].stalled = true;
    conf.run(60)?;
    for (l, p) in conf.phones.iter().enumerate() {
        for (s, &f) in tones.iter().enumerate() {
            if s == l {
                continue;
            }
            let level = p.hears(f, WINDOW);
            if s == 3 {
                assert_not_heard(level, &format!("phone {l} hearing the stalled phone"));
            } else {
                assert_heard(level, LEVEL, &format!("phone {l} hearing phone {s}"));
            }
        }
    }
    let stats = conf.bridge.stats(conf.phones[3].id).map(|s| s.receive);
    assert!(stats.is_some_and(|s| s.concealed > 0 && s.silence > 0), "{stats:?}");
    // The 60 held-back packets arrive at once, late, then the stream goes on:
    // the others are unharmed and hear phone 3 again.
    conf.phones[3].stalled = false;
    conf.run(60)?;
    for (l, p) in conf.phones.iter().enumerate().take(3) {
        for (s, &f) in tones.iter().enumerate() {
            if s != l {
                assert_heard(
                    p.hears(f, 0.5),
                    LEVEL,
                    &format!("phone {l} hearing phone {s} after the burst"),
                );
            }
        }
    }
    Ok(())
}
