//! Virtual-time tests of the transcoding pipeline and the fast-path audio tap
//! (`switchboard::media::pipeline`): packets arrive and ticks run at
//! computed instants from one origin read here (tests live outside `src/`),
//! never at the wall clock's pace.

use std::time::{Duration, Instant};

use switchboard::dsp::g711;
use switchboard::dsp::noise::NoiseSuppressor;
use switchboard::dsp::opus::{OpusConfig, OpusDecoder, OpusEncoder, MAX_PACKET};
use switchboard::dsp::signal::{speechlike, white_noise};
use switchboard::dsp::tone::{dominant_frequency, level_dbfs, tone_level_dbfs, ToneGenerator};
use switchboard::dsp::SampleRate;
use switchboard::media::pipeline::{
    AudioTap, LegFormat, Pipeline, PipelineError, PipelineOptions, MAX_OUT_PACKET, TAP_FRAME,
};
use switchboard::rtp::dtmf::TelephoneEvent;
use switchboard::rtp::packet::{write_packet, RtpFields, RtpHeader};
use switchboard::sdp::CodecKind;

type R = Result<(), Box<dyn std::error::Error>>;

const SSRC_IN: u32 = 0x1111_2222;
const TONE_DBFS: f64 = -12.0;

fn pcmu() -> LegFormat {
    LegFormat {
        codec: CodecKind::Pcmu,
        pt: 0,
        clock_rate: 8000,
        event_clock_rate: 8000,
        event_pt: Some(101),
    }
}

fn pcma() -> LegFormat {
    LegFormat {
        codec: CodecKind::Pcma,
        pt: 8,
        clock_rate: 8000,
        event_clock_rate: 8000,
        event_pt: Some(101),
    }
}

fn opus() -> LegFormat {
    LegFormat {
        codec: CodecKind::Opus,
        pt: 111,
        clock_rate: 48000,
        event_clock_rate: 48000,
        event_pt: Some(96),
    }
}

fn rtp(pt: u8, seq: u16, ts: u32, marker: bool, payload: &[u8]) -> Vec<u8> {
    let mut buf = vec![0u8; 12 + payload.len()];
    let fields = RtpFields {
        marker,
        payload_type: pt,
        sequence: seq,
        timestamp: ts,
        ssrc: SSRC_IN,
    };
    let n = write_packet(&mut buf, &fields, payload).expect("buffer sized");
    buf.truncate(n);
    buf
}

/// One incoming packet and when it arrives.
struct Arrival {
    at: Duration,
    packet: Vec<u8>,
}

/// Audio packets of `pcm` at `rate`, `ptime_ms` each, in `leg`'s codec;
/// packet k arrives at k·ptime.
fn audio_packets(leg: LegFormat, pcm: &[i16], rate: u32, ptime_ms: u32) -> Vec<Arrival> {
    let n = (rate * ptime_ms / 1000) as usize;
    let units = leg.clock_rate * ptime_ms / 1000;
    let mut enc = match leg.codec {
        CodecKind::Opus => Some(
            OpusEncoder::new(
                SampleRate::Hz48000,
                OpusConfig {
                    expected_loss_percent: 20,
                    ..OpusConfig::default()
                },
            )
            .expect("opus encoder"),
        ),
        _ => None,
    };
    pcm.chunks_exact(n)
        .enumerate()
        .map(|(k, frame)| {
            let payload = match (leg.codec, enc.as_mut()) {
                (CodecKind::Opus, Some(e)) => {
                    let mut p = [0u8; MAX_PACKET];
                    let len = e.encode(frame, &mut p).expect("opus encode");
                    p[..len].to_vec()
                }
                (CodecKind::Pcma, _) => frame.iter().map(|&s| g711::alaw_from_linear(s)).collect(),
                _ => frame.iter().map(|&s| g711::ulaw_from_linear(s)).collect(),
            };
            Arrival {
                at: Duration::from_millis(u64::from(ptime_ms) * k as u64),
                packet: rtp(leg.pt, 1000 + k as u16, 5000 + units * k as u32, k == 0, &payload),
            }
        })
        .collect()
}

/// What one run produced.
struct Run {
    /// Output packets with the index of the tick that produced them.
    out: Vec<(usize, Vec<u8>)>,
    /// The tap of every tick.
    taps: Vec<i16>,
}

/// Runs `ticks` ticks, at 20 ms + 1 ms offsets from `base`; before each tick
/// every packet due by then is pushed; after it the output is drained.
fn run(p: &mut Pipeline, arrivals: &[Arrival], ticks: usize, base: Instant) -> Run {
    let mut next = 0;
    let mut out = Vec::new();
    let mut taps = Vec::new();
    let mut buf = [0u8; MAX_OUT_PACKET];
    for j in 0..ticks {
        let now = base + Duration::from_millis(20 * j as u64 + 1);
        while next < arrivals.len() && base + arrivals[next].at <= now {
            p.push(&arrivals[next].packet, base + arrivals[next].at);
            next += 1;
        }
        p.tick(now);
        taps.extend_from_slice(p.tap_8k());
        while let Some(n) = p.poll_packet(&mut buf) {
            out.push((j, buf[..n].to_vec()));
        }
    }
    Run { out, taps }
}

fn header(pkt: &[u8]) -> RtpHeader {
    RtpHeader::parse(pkt).expect("pipeline output parses")
}

fn payload(pkt: &[u8]) -> &[u8] {
    let h = header(pkt);
    &pkt[h.payload_offset..h.payload_end]
}

/// Decodes the audio packets (PT `to.pt`) of an output stream; Opus at 48 kHz.
fn decode_audio(out: &[(usize, Vec<u8>)], to: LegFormat) -> Vec<i16> {
    let mut dec = OpusDecoder::new(SampleRate::Hz48000).expect("opus decoder");
    let mut pcm = Vec::new();
    let mut frame = vec![0i16; 960 * 6];
    for (_, pkt) in out.iter().filter(|(_, p)| header(p).payload_type == to.pt) {
        let data = payload(pkt);
        match to.codec {
            CodecKind::Opus => {
                let n = dec.decode(data, &mut frame).expect("output decodes");
                pcm.extend_from_slice(&frame[..n]);
            }
            CodecKind::Pcma => pcm.extend(data.iter().map(|&c| g711::alaw_to_linear(c))),
            _ => pcm.extend(data.iter().map(|&c| g711::ulaw_to_linear(c))),
        }
    }
    pcm
}

/// Every packet follows the previous one: sequence +1, one SSRC; audio
/// timestamps step by 20 ms; the first packet has the marker bit.
fn assert_continuous(out: &[(usize, Vec<u8>)], to: LegFormat) {
    let step = to.clock_rate / 50;
    let first = header(&out[0].1);
    assert!(first.marker, "first packet without marker");
    let mut last_audio: Option<u32> = None;
    for w in out.windows(2) {
        let (a, b) = (header(&w[0].1), header(&w[1].1));
        assert_eq!(b.sequence, a.sequence.wrapping_add(1), "sequence gap");
        assert_eq!(b.ssrc, a.ssrc);
    }
    for (_, p) in out {
        let h = header(p);
        if h.payload_type == to.pt {
            if let Some(prev) = last_audio {
                assert_eq!(h.timestamp.wrapping_sub(prev) % step, 0, "audio off the 20 ms grid");
                assert!(h.timestamp.wrapping_sub(prev) >= step);
            }
            last_audio = Some(h.timestamp);
        }
    }
}

/// From the first output packet on, every tick produced exactly one packet.
fn assert_one_per_tick(out: &[(usize, Vec<u8>)], ticks: usize) {
    let first = out[0].0;
    assert_eq!(
        out.len(),
        ticks - first,
        "packets {} for {} ticks",
        out.len(),
        ticks - first
    );
    for (i, (tick, _)) in out.iter().enumerate() {
        assert_eq!(*tick, first + i);
    }
}

/// The tone is at its level and nothing else stands out.
fn assert_clean_tone(pcm: &[i16], rate: u32, what: &str) {
    let level = tone_level_dbfs(pcm, 1000.0, rate);
    let f = dominant_frequency(pcm, rate).unwrap_or(0.0);
    println!("{what}: 1 kHz at {level:.2} dBFS, dominant {f:.1} Hz");
    assert!((level - TONE_DBFS).abs() < 1.5, "{what}: 1 kHz at {level:.2} dBFS");
    assert!((f - 1000.0).abs() < 2.0, "{what}: dominant {f} Hz");
    for other in [300.0, 500.0, 1500.0, 2000.0, 3000.0] {
        let l = tone_level_dbfs(pcm, other, rate);
        println!("{what}: {other} Hz at {l:.1} dBFS");
        assert!(l < TONE_DBFS - 35.0, "{what}: {other} Hz at {l:.1} dBFS");
    }
}

fn tone(rate: u32, seconds: f64) -> Vec<i16> {
    ToneGenerator::sine(1000.0, TONE_DBFS, rate).take((f64::from(rate) * seconds) as usize)
}

#[test]
fn pcmu_tone_to_opus() -> R {
    let (from, to) = (pcmu(), opus());
    let mut p = Pipeline::new(from, to, PipelineOptions::default())?.with_stream(0xABCD, 40_000, 7);
    let input = tone(8000, 2.0);
    let arrivals = audio_packets(from, &input, 8000, 20);
    let ticks = arrivals.len();
    let r = run(&mut p, &arrivals, ticks, Instant::now());
    assert_continuous(&r.out, to);
    assert_one_per_tick(&r.out, ticks);
    let h = header(&r.out[0].1);
    assert_eq!(
        (h.ssrc, h.sequence, h.timestamp, h.payload_type),
        (0xABCD, 40_000, 7, 111)
    );
    let pcm = decode_audio(&r.out, to);
    assert_clean_tone(&pcm[48000 * 3 / 10..], 48000, "PCMU->Opus");
    // The tap is the decoded input, exactly (no denoising, no resampling).
    let first = r.out[0].0 * TAP_FRAME;
    let decoded: Vec<i16> = input
        .iter()
        .map(|&s| g711::ulaw_to_linear(g711::ulaw_from_linear(s)))
        .collect();
    assert_eq!(&r.taps[first..first + 8000], &decoded[..8000]);
    assert!(r.taps[..first].iter().all(|&s| s == 0), "tap silent before audio");
    let s = p.stats();
    assert_eq!(s.packets_in, ticks as u64);
    assert_eq!(s.packets_out, r.out.len() as u64);
    assert_eq!((s.concealed, s.dropped), (0, 0));
    Ok(())
}

#[test]
fn opus_tone_to_pcma() -> R {
    let (from, to) = (opus(), pcma());
    let mut p = Pipeline::new(from, to, PipelineOptions::default())?;
    let arrivals = audio_packets(from, &tone(48000, 2.0), 48000, 20);
    let ticks = arrivals.len();
    let r = run(&mut p, &arrivals, ticks, Instant::now());
    assert_continuous(&r.out, to);
    assert_one_per_tick(&r.out, ticks);
    assert!(r.out.iter().all(|(_, pkt)| payload(pkt).len() == 160));
    let pcm = decode_audio(&r.out, to);
    assert_clean_tone(&pcm[2400..], 8000, "Opus->PCMA");
    assert_clean_tone(&r.taps[r.taps.len() - 8000..], 8000, "Opus->PCMA tap");
    Ok(())
}

#[test]
fn opus_to_opus_denoised_keeps_the_tone_and_taps_8k() -> R {
    // Both legs Opus: the pipeline works at 48 kHz and resamples only the tap.
    let (from, to) = (opus(), opus());
    let mut p = Pipeline::new(from, to, PipelineOptions { denoise: true })?;
    let arrivals = audio_packets(from, &tone(48000, 2.0), 48000, 20);
    let r = run(&mut p, &arrivals, arrivals.len(), Instant::now());
    assert_continuous(&r.out, to);
    let pcm = decode_audio(&r.out, to);
    let f = dominant_frequency(&pcm[pcm.len() / 2..], 48000).unwrap_or(0.0);
    assert!((f - 1000.0).abs() < 2.0, "{f}");
    let tap = &r.taps[r.taps.len() - 4000..];
    let f = dominant_frequency(tap, 8000).unwrap_or(0.0);
    assert!((f - 1000.0).abs() < 2.0, "tap {f}");
    assert!(level_dbfs(tap) > -30.0);
    Ok(())
}

// ---- noise removal -------------------------------------------------------

/// SNR of `out` against `clean` after aligning delay (searched in
/// `0..max_lag`) and gain (least squares), from `skip` on.
fn aligned_snr(clean: &[f64], out: &[i16], skip: usize, max_lag: usize) -> f64 {
    let y: Vec<f64> = out.iter().map(|&v| f64::from(v)).collect();
    let span = clean.len().min(y.len()) - skip - max_lag;
    let mut best = (0usize, f64::MIN);
    for lag in 0..max_lag {
        let c: f64 = (skip..skip + span).map(|i| clean[i] * y[i + lag]).sum();
        if c > best.1 {
            best = (lag, c);
        }
    }
    let x = &clean[skip..skip + span];
    let y = &y[skip + best.0..skip + best.0 + span];
    let g = x.iter().zip(y).map(|(a, b)| a * b).sum::<f64>() / x.iter().map(|a| a * a).sum::<f64>();
    let sig: f64 = x.iter().map(|a| (g * a).powi(2)).sum();
    let err: f64 = x.iter().zip(y).map(|(a, b)| (b - g * a).powi(2)).sum();
    10.0 * (sig / err).log10()
}

#[test]
fn denoise_improves_snr_pcmu_to_pcmu() -> R {
    let len = 8000 * 4;
    let s = speechlike(8000, len);
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
    let arrivals = audio_packets(pcmu(), &noisy, 8000, 20);
    let mut snr = [0.0f64; 2];
    for (i, denoise) in [false, true].into_iter().enumerate() {
        let mut p = Pipeline::new(pcmu(), pcmu(), PipelineOptions { denoise })?;
        let r = run(&mut p, &arrivals, arrivals.len(), Instant::now());
        if denoise {
            // Exactly the suppressor's output on the decoded input, frame by frame.
            let mut ns = NoiseSuppressor::new(SampleRate::Hz8000)?;
            let mut expect = vec![0i16; TAP_FRAME];
            let taps = r.taps[r.out[0].0 * TAP_FRAME..].chunks_exact(TAP_FRAME);
            for (tap, a) in taps.zip(&arrivals) {
                let decoded: Vec<i16> = payload(&a.packet).iter().map(|&c| g711::ulaw_to_linear(c)).collect();
                ns.process(&decoded, &mut expect)?;
                assert_eq!(tap, &expect[..]);
            }
        }
        let pcm = decode_audio(&r.out, pcmu());
        snr[i] = aligned_snr(&clean, &pcm, 4000, 600);
        // The tap carries the same (denoised) audio.
        let tap = &r.taps[r.out[0].0 * TAP_FRAME..];
        let tap_snr = aligned_snr(&clean, tap, 4000, 600);
        assert!((tap_snr - snr[i]).abs() < 1.0, "tap {tap_snr:.2} vs out {:.2}", snr[i]);
    }
    println!("PCMU->PCMU SNR: {:.2} dB plain, {:.2} dB denoised", snr[0], snr[1]);
    assert!((snr[0] - 5.0).abs() < 1.0, "plain path SNR {:.2}", snr[0]);
    assert!(snr[1] > snr[0] + 0.3, "denoise: {:.2} -> {:.2} dB", snr[0], snr[1]);
    Ok(())
}

// ---- loss ----------------------------------------------------------------

#[test]
fn lost_g711_packet_is_concealed_without_a_gap() -> R {
    let (from, to) = (pcmu(), pcmu());
    let mut p = Pipeline::new(from, to, PipelineOptions::default())?;
    let mut arrivals = audio_packets(from, &tone(8000, 2.0), 8000, 20);
    let ticks = arrivals.len();
    arrivals.remove(50);
    let r = run(&mut p, &arrivals, ticks, Instant::now());
    assert_continuous(&r.out, to);
    assert_one_per_tick(&r.out, ticks);
    let s = p.stats();
    assert_eq!(s.concealed, 1, "{s:?}");
    assert_eq!(s.jitter.missing, 1);
    // Output frame 50 stands in for the lost input frame: the tone, not silence.
    let lost = payload(&r.out[50].1);
    let pcm: Vec<i16> = lost.iter().map(|&c| g711::ulaw_to_linear(c)).collect();
    let level = level_dbfs(&pcm);
    assert!(level > TONE_DBFS - 4.0, "concealed frame at {level:.1} dBFS");
    // And the stream goes on unchanged after it.
    let after: Vec<i16> = payload(&r.out[51].1).iter().map(|&c| g711::ulaw_to_linear(c)).collect();
    assert!((level_dbfs(&after) - TONE_DBFS).abs() < 0.5);
    Ok(())
}

/// Speech-like audio at `rate`, -17 dBFS or so (Opus codes it in SILK/hybrid
/// mode, with in-band FEC).
fn speech(rate: u32, seconds: f64) -> Vec<i16> {
    speechlike(rate, (f64::from(rate) * seconds) as usize)
        .iter()
        .map(|v| (v * 3000.0) as i16)
        .collect()
}

/// SNR of `x` against `reference`, sample by sample.
fn frame_snr(reference: &[i16], x: &[i16]) -> f64 {
    let err: f64 = reference
        .iter()
        .zip(x)
        .map(|(a, b)| (f64::from(*a) - f64::from(*b)).powi(2))
        .sum();
    let sig: f64 = reference.iter().map(|a| f64::from(*a).powi(2)).sum();
    10.0 * (sig / err.max(1.0)).log10()
}

#[test]
fn lost_opus_packet_is_recovered_from_fec() -> R {
    let (from, to) = (opus(), pcmu());
    let arrivals = audio_packets(from, &speech(48000, 1.2), 48000, 20);
    let ticks = arrivals.len();
    let base = Instant::now();
    let mut reference = Pipeline::new(from, to, PipelineOptions::default())?;
    let clean = run(&mut reference, &arrivals, ticks, base);
    let frame =
        |r: &Run, i: usize| -> Vec<i16> { payload(&r.out[i].1).iter().map(|&c| g711::ulaw_to_linear(c)).collect() };

    // One loss: recovered from the next packet's FEC, close to the clean decode.
    let mut p = Pipeline::new(from, to, PipelineOptions::default())?;
    let mut lossy = arrivals
        .iter()
        .map(|a| Arrival {
            at: a.at,
            packet: a.packet.clone(),
        })
        .collect::<Vec<_>>();
    lossy.remove(30);
    let r = run(&mut p, &lossy, ticks, base);
    assert_continuous(&r.out, to);
    assert_one_per_tick(&r.out, ticks);
    let s = p.stats();
    assert_eq!((s.concealed, s.fec_recovered), (1, 1), "{s:?}");
    let snr = frame_snr(&frame(&clean, 30), &frame(&r, 30));
    println!("FEC-recovered frame: {snr:.1} dB against the clean decode");
    assert!(snr > 6.0, "FEC frame SNR {snr:.1} dB");

    // Two losses in a row: no FEC source for the first, both concealed by PLC.
    let mut p = Pipeline::new(from, to, PipelineOptions::default())?;
    lossy.remove(30);
    let r = run(&mut p, &lossy, ticks, base);
    assert_continuous(&r.out, to);
    assert_one_per_tick(&r.out, ticks);
    let s = p.stats();
    assert_eq!((s.concealed, s.fec_recovered), (2, 0), "{s:?}");
    assert!(level_dbfs(&frame(&r, 30)) > -40.0, "PLC output, not silence");
    Ok(())
}

#[test]
fn underrun_conceals_then_sends_silence() -> R {
    let (from, to) = (pcmu(), pcmu());
    let mut p = Pipeline::new(from, to, PipelineOptions::default())?;
    let arrivals = audio_packets(from, &tone(8000, 1.0), 8000, 20);
    // The sender stops after 1 s; ticks go on for another second.
    let ticks = arrivals.len() + 50;
    let r = run(&mut p, &arrivals, ticks, Instant::now());
    assert_continuous(&r.out, to);
    assert_one_per_tick(&r.out, ticks);
    let s = p.stats();
    assert!(s.concealed >= 1 && s.concealed <= 4, "{s:?}");
    assert!(s.silence > 40, "{s:?}");
    let last: Vec<i16> = payload(&r.out.last().expect("packets").1)
        .iter()
        .map(|&c| g711::ulaw_to_linear(c))
        .collect();
    assert!(last.iter().all(|&v| v == 0));
    assert!(p.tap_8k().iter().all(|&v| v == 0));
    Ok(())
}

// ---- RFC 4733 events -----------------------------------------------------

/// Audio every 20 ms for 1.2 s, and digit 5 from input ts 5000 + 3200
/// (packet 20, at 400 ms): updates every 50 ms, the end three times.
fn dtmf_scenario() -> (Vec<Arrival>, Vec<TelephoneEvent>) {
    let mut arrivals = audio_packets(pcmu(), &tone(8000, 1.2), 8000, 20);
    let ts = 5000 + 3200;
    let mut events = Vec::new();
    for i in 0..6u16 {
        let end = i >= 3;
        let ev = TelephoneEvent {
            event: 5,
            end,
            volume: 10,
            duration: 400 * (i.min(3) + 1),
        };
        events.push(ev);
        let at = if end {
            550 + 20 * (u64::from(i) - 3)
        } else {
            400 + 50 * u64::from(i)
        };
        arrivals.push(Arrival {
            at: Duration::from_millis(at),
            packet: rtp(101, 3000 + i, ts, i == 0, &ev.to_bytes()),
        });
    }
    arrivals.sort_by_key(|a| a.at);
    (arrivals, events)
}

#[test]
fn events_are_translated_to_the_other_legs_pt_and_clock() -> R {
    let (from, to) = (pcmu(), opus());
    let mut p = Pipeline::new(from, to, PipelineOptions::default())?;
    let (arrivals, sent) = dtmf_scenario();
    let ticks = 60;
    let r = run(&mut p, &arrivals, ticks, Instant::now());
    assert_continuous(&r.out, to);
    let events: Vec<(RtpHeader, TelephoneEvent)> = r
        .out
        .iter()
        .filter(|(_, pkt)| header(pkt).payload_type == 96)
        .map(|(_, pkt)| (header(pkt), TelephoneEvent::parse(payload(pkt)).expect("event payload")))
        .collect();
    assert_eq!(events.len(), 6, "every event packet, the three ends included");
    let ev_ts = events[0].0.timestamp;
    for (i, ((h, ev), orig)) in events.iter().zip(&sent).enumerate() {
        assert_eq!(h.timestamp, ev_ts, "one timestamp for the whole event");
        assert_eq!(h.marker, i == 0, "marker only at the event start");
        assert_eq!(ev.event, 5);
        assert_eq!(ev.digit(), Some('5'));
        assert_eq!(ev.volume, orig.volume);
        assert_eq!(ev.end, orig.end);
        assert_eq!(
            u32::from(ev.duration),
            6 * u32::from(orig.duration),
            "duration x6 (8 -> 48 kHz)"
        );
    }
    let end = ev_ts.wrapping_add(9600);
    // No audio during the event; audio resumes after its end with the marker bit.
    let audio: Vec<RtpHeader> = r
        .out
        .iter()
        .map(|(_, pkt)| header(pkt))
        .filter(|h| h.payload_type == 111)
        .collect();
    let before = audio
        .iter()
        .filter(|h| (ev_ts.wrapping_sub(h.timestamp) as i32) > 0)
        .count();
    let resumed: Vec<&RtpHeader> = audio
        .iter()
        .filter(|h| (h.timestamp.wrapping_sub(ev_ts) as i32) >= 0)
        .collect();
    assert!(before > 0 && !resumed.is_empty());
    assert_eq!(before + resumed.len(), audio.len());
    assert!(
        (resumed[0].timestamp.wrapping_sub(end) as i32) >= 0,
        "audio inside the event"
    );
    assert!(resumed[0].marker, "audio after the event starts a talk spurt");
    assert_eq!(
        ev_ts.wrapping_sub(audio[before - 1].timestamp),
        960,
        "the event starts where the next frame would"
    );
    let s = p.stats();
    assert_eq!((s.events_in, s.events_out, s.events_dropped), (6, 6, 0));
    assert!(s.muted >= 9, "{s:?}");
    // The stream as a whole still sends one packet per tick outside the event.
    assert_eq!(audio.len() as u64 + s.muted, (ticks - r.out[0].0) as u64);
    Ok(())
}

#[test]
fn events_without_an_event_type_on_the_other_leg_are_dropped() -> R {
    let to = LegFormat {
        event_pt: None,
        ..pcma()
    };
    let mut p = Pipeline::new(pcmu(), to, PipelineOptions::default())?;
    let (arrivals, _) = dtmf_scenario();
    let ticks = 60;
    let r = run(&mut p, &arrivals, ticks, Instant::now());
    assert_continuous(&r.out, to);
    assert_one_per_tick(&r.out, ticks);
    assert!(r.out.iter().all(|(_, pkt)| header(pkt).payload_type == 8));
    let s = p.stats();
    assert_eq!((s.events_in, s.events_out, s.events_dropped, s.muted), (6, 0, 6, 0));
    assert_eq!(s.dropped, 6);
    Ok(())
}

#[test]
fn an_event_whose_ends_are_lost_stops_muting() -> R {
    let mut p = Pipeline::new(pcmu(), pcmu(), PipelineOptions::default())?;
    let (mut arrivals, _) = dtmf_scenario();
    arrivals.retain(|a| payload(&a.packet).len() != 4 || payload(&a.packet)[1] & 0x80 == 0);
    let ticks = 60;
    let r = run(&mut p, &arrivals, ticks, Instant::now());
    assert_continuous(&r.out, pcmu());
    let s = p.stats();
    assert_eq!(s.events_out, 3);
    // Muted from 400 ms until 250 ms after the last update (500 ms).
    assert!(s.muted >= 15 && s.muted <= 20, "{s:?}");
    let last = header(&r.out.last().expect("packets").1);
    assert_eq!(last.payload_type, 0, "audio again at the end");
    Ok(())
}

// ---- sender ptime --------------------------------------------------------

fn ptime_case(ptime: u32) -> R {
    let (from, to) = (pcmu(), pcmu());
    let mut p = Pipeline::new(from, to, PipelineOptions::default())?;
    let input = tone(8000, 1.8);
    let arrivals = audio_packets(from, &input, 8000, ptime);
    // Stop ticking while the input still flows.
    let ticks = 80;
    let r = run(&mut p, &arrivals, ticks, Instant::now());
    assert_continuous(&r.out, to);
    assert_one_per_tick(&r.out, ticks);
    assert!(
        r.out.iter().all(|(_, pkt)| payload(pkt).len() == 160),
        "20 ms frames out"
    );
    let s = p.stats();
    assert_eq!((s.concealed, s.silence, s.dropped), (0, 0, 0), "{ptime} ms: {s:?}");
    // The output is the input, re-cut into 20 ms frames: no sample lost or repeated.
    let pcm = decode_audio(&r.out, to);
    let decoded: Vec<i16> = input
        .iter()
        .map(|&c| g711::ulaw_to_linear(g711::ulaw_from_linear(c)))
        .collect();
    assert_eq!(&pcm[..], &decoded[..pcm.len()], "{ptime} ms input");
    Ok(())
}

#[test]
fn ptime_30ms_input_gives_continuous_20ms_output() -> R {
    ptime_case(30)
}

#[test]
fn ptime_10ms_input_gives_continuous_20ms_output() -> R {
    ptime_case(10)
}

// ---- malformed input -----------------------------------------------------

#[test]
fn malformed_and_unknown_packets_are_counted() -> R {
    let mut p = Pipeline::new(pcmu(), opus(), PipelineOptions::default())?;
    let now = Instant::now();
    let good = rtp(0, 1, 160, false, &[0xFF; 160]);
    p.push(&good[..5], now); // truncated header
    let mut v1 = good.clone();
    v1[0] = 0x40; // version 1
    p.push(&v1, now);
    let mut pad = good.clone();
    pad[0] |= 0x20;
    let last = pad.len() - 1;
    pad[last] = 200; // padding longer than the payload
    p.push(&pad, now);
    p.push(&rtp(0, 2, 320, false, &[]), now); // empty audio
    p.push(&rtp(0, 3, 480, false, &[0xFF; 5000]), now); // over 120 ms of G.711
    p.push(&rtp(101, 4, 640, true, &[5, 0]), now); // short event
    p.push(&rtp(18, 5, 800, false, &[0; 20]), now); // G.729: not negotiated
    p.push(&rtp(96, 6, 960, false, &[0; 4]), now); // the other leg's event type
    let s = p.stats();
    assert_eq!(
        (s.malformed, s.unknown_pt, s.dropped, s.packets_in),
        (6, 2, 8, 0),
        "{s:?}"
    );
    let mut buf = [0u8; MAX_OUT_PACKET];
    assert_eq!(p.poll_packet(&mut buf), None);
    Ok(())
}

/// Deterministic pseudo-random bytes (xorshift64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn random_packets_never_panic() -> R {
    let base = Instant::now();
    let no_events = |f: LegFormat| LegFormat { event_pt: None, ..f };
    let cases = [
        (pcmu(), opus()),
        (opus(), pcma()),
        (pcma(), pcmu()),
        (no_events(pcmu()), opus()),
        (no_events(opus()), opus()),
    ];
    for (from, to) in cases {
        let mut p = Pipeline::new(from, to, PipelineOptions { denoise: false })?;
        let mut tap = AudioTap::new(from)?;
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let mut buf = [0u8; MAX_OUT_PACKET];
        let mut frame = [0i16; TAP_FRAME];
        for i in 0..10_000u64 {
            let len = (rng.next() % 400) as usize;
            let mut pkt: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            // Most packets get a plausible header so the payload paths run too.
            if len >= 12 && rng.next() % 4 != 0 {
                pkt[0] = 0x80 | (pkt[0] & 0x3f);
                let pts = [from.pt, from.event_pt.unwrap_or(101), 13];
                pkt[1] = (pkt[1] & 0x80) | pts[(rng.next() % 3) as usize];
            }
            let now = base + Duration::from_millis(2 * i);
            p.push(&pkt, now);
            tap.push(&pkt);
            if i % 10 == 0 {
                p.tick(now);
                while p.poll_packet(&mut buf).is_some() {}
                tap.pull_8k(&mut frame);
            }
        }
        // Then a well-formed stream (steady sequence and timestamps) of junk payloads.
        for k in 0..3_000u32 {
            let len = 1 + (rng.next() % 300) as usize;
            let junk: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            let pkt = rtp(from.pt, k as u16, k * (from.clock_rate / 50), false, &junk);
            let now = base + Duration::from_millis(20_000 + 20 * u64::from(k));
            p.push(&pkt, now);
            tap.push(&pkt);
            p.tick(now);
            while p.poll_packet(&mut buf).is_some() {}
            tap.pull_8k(&mut frame);
        }
        let s = p.stats();
        println!("{:?} -> {:?}: {s:?}", from.codec, to.codec);
        assert!(s.malformed > 0 && s.unknown_pt > 0);
        if from.event_pt.is_none() {
            assert!(s.audio_out > 0, "audio went through between the junk");
        }
        assert!(tap.buffered() <= 1600);
    }
    Ok(())
}

#[test]
fn bad_formats_are_refused() {
    let ev = LegFormat::new(CodecKind::TelephoneEvent, 101, None);
    assert!(matches!(
        Pipeline::new(ev, pcmu(), PipelineOptions::default()),
        Err(PipelineError::UnsupportedCodec { .. })
    ));
    let wrong_clock = LegFormat {
        clock_rate: 16000,
        ..pcmu()
    };
    assert!(matches!(
        Pipeline::new(pcmu(), wrong_clock, PipelineOptions::default()),
        Err(PipelineError::ClockRate { expected: 8000, .. })
    ));
    let clash = LegFormat {
        event_pt: Some(0),
        ..pcmu()
    };
    assert!(matches!(
        AudioTap::new(clash),
        Err(PipelineError::PayloadType { pt: 0 })
    ));
    assert_eq!(LegFormat::new(CodecKind::Opus, 111, Some(96)), opus());
}

// ---- the fast-path tap ---------------------------------------------------

#[test]
fn tap_decodes_pcmu_and_is_silent_when_empty() -> R {
    let mut tap = AudioTap::new(pcmu())?;
    let input = tone(8000, 0.1);
    let arrivals = audio_packets(pcmu(), &input, 8000, 20);
    let mut frame = [1i16; TAP_FRAME];
    for (k, a) in arrivals.iter().enumerate() {
        tap.push(&a.packet);
        tap.pull_8k(&mut frame);
        let expect: Vec<i16> = input[k * 160..(k + 1) * 160]
            .iter()
            .map(|&s| g711::ulaw_to_linear(g711::ulaw_from_linear(s)))
            .collect();
        assert_eq!(&frame[..], &expect[..]);
    }
    tap.pull_8k(&mut frame);
    assert!(frame.iter().all(|&s| s == 0), "silence when empty");
    // Events and other types are ignored.
    tap.push(&rtp(101, 9, 0, true, &[1, 0, 0, 160]));
    assert_eq!((tap.buffered(), tap.stats().ignored), (0, 1));
    Ok(())
}

#[test]
fn tap_fifo_is_bounded_and_fills_gaps() -> R {
    let mut tap = AudioTap::new(pcmu())?;
    let input = tone(8000, 1.0);
    let arrivals = audio_packets(pcmu(), &input, 8000, 20);
    for a in &arrivals {
        tap.push(&a.packet);
    }
    assert_eq!(tap.buffered(), 1600, "200 ms kept");
    assert_eq!(tap.stats().overflow_samples, 8000 - 1600);
    let mut frame = [0i16; TAP_FRAME];
    for k in 40..50 {
        tap.pull_8k(&mut frame);
        let expect: Vec<i16> = input[k * 160..(k + 1) * 160]
            .iter()
            .map(|&s| g711::ulaw_to_linear(g711::ulaw_from_linear(s)))
            .collect();
        assert_eq!(&frame[..], &expect[..], "the newest 200 ms");
    }
    tap.pull_8k(&mut frame);
    assert!(frame.iter().all(|&s| s == 0));

    // A lost packet becomes 20 ms of silence; a late copy of it is dropped.
    let mut tap = AudioTap::new(pcmu())?;
    tap.push(&arrivals[0].packet);
    tap.push(&arrivals[2].packet);
    assert_eq!(tap.buffered(), 480);
    tap.push(&arrivals[1].packet);
    assert_eq!(
        (tap.buffered(), tap.stats().dropped, tap.stats().gap_samples),
        (480, 1, 160)
    );
    tap.pull_8k(&mut frame);
    tap.pull_8k(&mut frame);
    assert!(frame.iter().all(|&s| s == 0), "the gap is silence");
    Ok(())
}

#[test]
fn tap_decodes_opus_to_8k() -> R {
    let mut tap = AudioTap::new(opus())?;
    let arrivals = audio_packets(opus(), &tone(48000, 1.0), 48000, 20);
    let mut out = Vec::new();
    let mut frame = [0i16; TAP_FRAME];
    for a in &arrivals {
        tap.push(&a.packet);
        tap.pull_8k(&mut frame);
        out.extend_from_slice(&frame);
    }
    assert_eq!(out.len(), 8000);
    assert_eq!(tap.stats().packets, 50);
    let steady = &out[2400..];
    let level = tone_level_dbfs(steady, 1000.0, 8000);
    let f = dominant_frequency(steady, 8000).unwrap_or(0.0);
    assert!((level - TONE_DBFS).abs() < 1.5, "{level}");
    assert!((f - 1000.0).abs() < 2.0, "{f}");
    Ok(())
}
