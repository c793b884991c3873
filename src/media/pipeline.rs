//! Per-direction media processing for anchored calls that cannot use the
//! relay fast path (issue 3: transcoding, noise removal, and the decoded
//! audio a recorder reads).
//!
//! A [`Pipeline`] takes the latched RTP packets of one leg and produces the
//! RTP packets for the other: RFC 3550 §5.1 packets decoded through a jitter
//! buffer (RFC 3550 §6.4.1/§A.8, [`crate::rtp::jitter`]), lost frames
//! concealed, optionally denoised (RNNoise, [`crate::dsp::noise`]), and
//! re-encoded as 20 ms frames (RFC 3551 §4.2) of G.711 (RFC 3551 §4.5.14) or
//! Opus (RFC 7587). RFC 4733 telephone-events bypass the audio path: they are
//! translated at once to the other leg's payload type and clock rate.
//! [`AudioTap`] is the cheap decoder for the fast path when a call is
//! recorded but not transcoded.
//! The receiving half (jitter buffer, decode, concealment, noise removal)
//! is [`Receiver`], which the conference bridge (`media::mixer`)
//! uses for each party, so both paths de-jitter and conceal alike.
//!
//! It is a sans-IO state machine (DESIGN.md): time comes in as [`Instant`]
//! arguments, it never reads the clock and never touches a socket. The media
//! session calls [`Pipeline::push`] for each packet, [`Pipeline::tick`] every
//! 20 ms, and drains [`Pipeline::poll_packet`] into the leg's
//! [`crate::rtp::StreamRewriter`] (its payload-type map must pass `to.pt` and
//! `to.event_pt` through unchanged).
//!
//! Design choices:
//!
//! - **One working rate, no audio resampler.** Audio is decoded, concealed
//!   and denoised at one rate *W*: 8 kHz unless both legs are Opus (48 kHz).
//!   libopus decodes any packet to 8 kHz and encodes from 8 kHz input itself
//!   (RFC 6716 §2; the RTP clock stays 48 kHz, RFC 7587 §4.1), so G.711 ↔ Opus
//!   needs no FFT resampler and adds none of its delay. Only the 8 kHz tap of
//!   an Opus → Opus pipeline is resampled.
//! - **Delay.** The jitter buffer is adaptive, 40–200 ms (four times the
//!   RFC 3550 §A.8 jitter plus a frame, raised after late packets); a 30 ms
//!   sender adds up to 10 ms in the PCM FIFO that cuts its frames into 20 ms;
//!   noise removal adds the suppressor's resampling filters and one 10 ms
//!   RNNoise frame.
//! - **Loss.** A frame the jitter buffer reports missing is concealed: for
//!   Opus with the libopus PLC, or from the in-band FEC of the next packet
//!   when it is already buffered (RFC 6716 §4.4, RFC 7587 §3.3); for G.711 by
//!   repeating the last 20 ms at full level for 10 ms, fading out over the
//!   next 50 ms, then silence. When the buffer runs dry the same concealment
//!   fills the gap (Opus PLC for at most 100 ms), then silence is sent: once
//!   audio has started, every tick sends one packet, so the far side sees one
//!   continuous stream.
//! - **Sender ptime.** The jitter buffer's frame is the sender's packet
//!   duration (2.5–120 ms), learnt from the first packet; a new duration is
//!   adopted after three consecutive packets (the ones before are dropped).
//!   A new SSRC, a timestamp jump of more than 10 s, or eight late packets in
//!   a row restart the buffer. Rebuilding the buffer (new ptime or restart)
//!   is the only allocation after construction; ticks allocate nothing.
//! - **Events** (RFC 4733 §2.5.1): each event is placed on the outgoing
//!   stream's timeline where the next audio frame would go; all its packets
//!   (updates and the retransmitted end packets) keep that timestamp, the
//!   first has the marker bit, durations are rescaled from
//!   `from.event_clock_rate` to `to.event_clock_rate` (saturating at 65535
//!   units). While an event is sent,
//!   and until the audio timeline passes its end, audio packets are not sent
//!   (the tap still gets the audio); audio then resumes with the marker bit.
//!   An event whose end packets were all lost is ended 250 ms after its last
//!   packet. The events' clock rate is taken to be the leg's codec clock rate.

#![deny(missing_docs)]

use std::time::{Duration, Instant};

use crate::dsp::opus::{OpusConfig, OpusEncoder, MAX_PACKET};
use crate::dsp::resample::Resampler;
use crate::dsp::{g711, DspError, SampleRate};
use crate::rtp::dtmf::TelephoneEvent;
use crate::rtp::jitter::JitterStats;
use crate::rtp::packet::{write_packet, RtpFields, RtpHeader, FIXED_HEADER_LEN};
use crate::sdp::CodecKind;

mod out;
mod receive;
mod source;
mod tap;

pub(crate) use out::OutQueue;
pub use receive::{Incoming, ReceiveStats, Receiver};
pub use tap::{AudioTap, TapStats};

/// Samples in one tap frame: 20 ms at 8 kHz (RFC 3551 §4.5.14 G.711 rate).
pub const TAP_FRAME: usize = 160;
/// Largest packet [`Pipeline::poll_packet`] writes: RTP header (RFC 3550 §5.1)
/// plus the largest Opus frame (RFC 6716 §3.2.1).
pub const MAX_OUT_PACKET: usize = FIXED_HEADER_LEN + MAX_PACKET;
/// SSRC of a pipeline's outgoing stream unless [`Pipeline::with_stream`] sets
/// one (RFC 3550 §8: the session's rewriter gives the leg its own anyway).
pub const DEFAULT_SSRC: u32 = 0x5843_4431; // "XCD1"

/// Outgoing packets held between ticks; the oldest is dropped beyond this.
const OUT_SLOTS: usize = 16;
/// An event with no packet for this long is over (its end packets were lost).
const EVENT_TIMEOUT: Duration = Duration::from_millis(250);
/// An older event timestamp is a straggler only within this time of the last event packet.
const EVENT_STALE: Duration = Duration::from_secs(10);
/// Opus bitrate when encoding narrowband (8 kHz) input (RFC 7587 §3.1.1: 8–12 kb/s suffice for NB speech).
const OPUS_NB_BITRATE: i32 = 16_000;

/// What one leg sends/receives (RFC 3264 §6.1 negotiated format): codec, its
/// payload type number on that leg, clock rate, and the leg's
/// telephone-event payload type if negotiated (RFC 4733 §7.1.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LegFormat {
    /// The audio codec (PCMU, PCMA or Opus).
    pub codec: CodecKind,
    /// Its RTP payload type on this leg (RFC 3551 §6 static or dynamic 96–127).
    pub pt: u8,
    /// The RTP clock rate: 8000 for G.711 (RFC 3551 §4.5.14), 48000 for Opus (RFC 7587 §4.1).
    pub clock_rate: u32,
    /// The telephone-event payload type on this leg, if negotiated (RFC 4733 §7.1.1).
    pub event_pt: Option<u8>,
    /// The telephone-event RTP clock as negotiated (`telephone-event/8000`
    /// beside Opus happens): event durations are in these units, while
    /// event timestamps stay on the stream's audio timeline.
    pub event_clock_rate: u32,
}

impl LegFormat {
    /// A format with the codec's RTP clock rate (RFC 3551 §4.5.14, RFC 7587 §4.1).
    pub fn new(codec: CodecKind, pt: u8, event_pt: Option<u8>) -> Self {
        let clock_rate = match codec {
            CodecKind::Opus => 48_000,
            CodecKind::Pcmu | CodecKind::Pcma | CodecKind::TelephoneEvent => 8_000,
        };
        LegFormat {
            codec,
            pt,
            clock_rate,
            event_pt,
            event_clock_rate: clock_rate,
        }
    }
}

/// What a [`Pipeline`] does besides transcoding (issue 3 item 6).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PipelineOptions {
    /// Run RNNoise noise removal (spec CALL-NOISE-1) on the decoded audio.
    pub denoise: bool,
}

/// Why a [`Pipeline`] or [`AudioTap`] could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PipelineError {
    /// The codec carries no audio the pipeline can decode or encode.
    #[error("{codec:?} is not an audio codec the pipeline handles")]
    UnsupportedCodec {
        /// The codec given.
        codec: CodecKind,
    },
    /// The clock rate does not fit the codec (RFC 3551 §4.5.14, RFC 7587 §4.1).
    #[error("{codec:?} at {clock_rate} Hz: its RTP clock is {expected} Hz")]
    ClockRate {
        /// The codec.
        codec: CodecKind,
        /// The clock rate given.
        clock_rate: u32,
        /// The codec's RTP clock rate.
        expected: u32,
    },
    /// A payload type is not 0–127, or audio and events share one (RFC 3550 §5.1).
    #[error("payload type {pt} is invalid or used twice on one leg")]
    PayloadType {
        /// The offending payload type.
        pt: u8,
    },
    /// G.711 decodes at 8 kHz only (RFC 3551 §4.5.14); another working rate was asked for.
    #[error("{codec:?} cannot be decoded at {rate} Hz")]
    WorkingRate {
        /// The codec.
        codec: CodecKind,
        /// The working rate asked for, in Hz.
        rate: u32,
    },
    /// A codec, resampler or noise suppressor could not be set up.
    #[error(transparent)]
    Dsp(#[from] DspError),
}

/// Counters of one [`Pipeline`] (RFC 3550 §6.4.1 loss and jitter come from `jitter`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PipelineStats {
    /// Audio packets accepted into the jitter buffer.
    pub packets_in: u64,
    /// Packets handed out by [`Pipeline::poll_packet`] (audio and events).
    pub packets_out: u64,
    /// Audio frames encoded and queued.
    pub audio_out: u64,
    /// Lost frames synthesised (PLC, FEC or G.711 repetition), including ticks filled on underrun.
    pub concealed: u64,
    /// Of `concealed`, frames decoded from the next packet's Opus in-band FEC
    /// (RFC 7587 §3.3; libopus falls back to PLC when that packet carries none).
    pub fec_recovered: u64,
    /// Ticks filled with silence after concealment faded out.
    pub silence: u64,
    /// Ticks whose audio was not sent because an event was being sent (RFC 4733 §2.5.1).
    pub muted: u64,
    /// Telephone-event packets received (RFC 4733 §2.3).
    pub events_in: u64,
    /// Telephone-event packets queued for sending.
    pub events_out: u64,
    /// Telephone-event packets dropped: no event type on the other leg, or a stale event.
    pub events_dropped: u64,
    /// Packets dropped as malformed (RTP header, empty or undecodable payload, bad duration).
    pub malformed: u64,
    /// Packets dropped for a payload type this leg did not negotiate.
    pub unknown_pt: u64,
    /// Audio packets the jitter buffer refused (late, duplicate, too large) or of an unconfirmed ptime.
    pub rejected: u64,
    /// All incoming packets dropped: `malformed + unknown_pt + events_dropped + rejected`.
    pub dropped: u64,
    /// Frames that failed to decode (concealed instead).
    pub decode_errors: u64,
    /// Frames that failed to encode (not sent).
    pub encode_errors: u64,
    /// Queued packets dropped because the session did not poll them in time.
    pub queue_overflows: u64,
    /// Times the jitter buffer was restarted (new SSRC, ptime, timestamp jump).
    pub resyncs: u64,
    /// The current jitter buffer's counters.
    pub jitter: JitterStats,
}

/// The audio codecs of the pipeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Audio {
    Ulaw,
    Alaw,
    Opus,
}

fn audio_of(f: &LegFormat) -> Result<Audio, PipelineError> {
    let (audio, expected) = match f.codec {
        CodecKind::Pcmu => (Audio::Ulaw, 8_000),
        CodecKind::Pcma => (Audio::Alaw, 8_000),
        CodecKind::Opus => (Audio::Opus, 48_000),
        CodecKind::TelephoneEvent => return Err(PipelineError::UnsupportedCodec { codec: f.codec }),
    };
    if f.clock_rate != expected {
        return Err(PipelineError::ClockRate {
            codec: f.codec,
            clock_rate: f.clock_rate,
            expected,
        });
    }
    if f.pt > 127 {
        return Err(PipelineError::PayloadType { pt: f.pt });
    }
    if let Some(e) = f.event_pt {
        if e > 127 || e == f.pt {
            return Err(PipelineError::PayloadType { pt: e });
        }
    }
    Ok(audio)
}

/// `a` is before `b` in RTP serial-number order (RFC 3550 §5.1 wrap-around).
fn ts_before(a: u32, b: u32) -> bool {
    (b.wrapping_sub(a) as i32) > 0
}

/// Encoder of the sending half.
enum Encoder {
    Ulaw,
    Alaw,
    Opus(OpusEncoder),
}

/// The event being (or last) sent, on both timelines.
#[derive(Clone, Copy, Debug)]
struct EventState {
    in_ts: u32,
    out_ts: u32,
    /// Longest duration seen, in outgoing clock units.
    duration: u16,
    ended: bool,
    last_at: Instant,
}

/// One direction of an anchored call off the fast path: packets arriving
/// from leg X (`from`), packets to send to leg Y (`to`). See the module docs
/// for the RFC 3550/3551/4733/7587 behaviour.
pub struct Pipeline {
    from: LegFormat,
    to: LegFormat,
    /// Jitter buffer, decoder, concealment and noise removal of `from`.
    rx: Receiver,
    tap_resampler: Option<Resampler>,
    tap: [i16; TAP_FRAME],
    encoder: Encoder,
    out: OutQueue,
    ssrc: u32,
    next_seq: u16,
    next_ts: u32,
    /// Timestamp units per outgoing 20 ms frame.
    out_frame: u32,
    /// The outgoing timeline runs (a packet was sent).
    clock_running: bool,
    /// The next audio packet starts a talk spurt (RFC 3550 §5.1 marker).
    audio_marker: bool,
    event: Option<EventState>,
    /// Audio is held back for an event.
    mute: bool,
    stats: PipelineStats,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field("from", &self.from)
            .field("to", &self.to)
            .field("playing", &self.rx.is_playing())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl Pipeline {
    /// A pipeline decoding `from`'s audio and sending `to`'s codec (RFC 3551
    /// §4.5.14 G.711, RFC 7587 Opus), events translated per RFC 4733 §2.5.1.
    ///
    /// # Errors
    /// [`PipelineError`] for a non-audio codec, a clock rate that does not fit
    /// the codec, a bad payload type, or a codec that fails to initialise.
    pub fn new(from: LegFormat, to: LegFormat, opts: PipelineOptions) -> Result<Pipeline, PipelineError> {
        let (a_in, a_out) = (audio_of(&from)?, audio_of(&to)?);
        let rate = if a_in == Audio::Opus && a_out == Audio::Opus {
            SampleRate::Hz48000
        } else {
            SampleRate::Hz8000
        };
        let rx = Receiver::new(from, rate, opts)?;
        let encoder = match a_out {
            Audio::Ulaw => Encoder::Ulaw,
            Audio::Alaw => Encoder::Alaw,
            Audio::Opus => {
                let mut config = OpusConfig::default();
                if rate == SampleRate::Hz8000 {
                    config.bitrate = OPUS_NB_BITRATE;
                }
                Encoder::Opus(OpusEncoder::new(rate, config)?)
            }
        };
        let tap_resampler = if rate == SampleRate::Hz8000 {
            None
        } else {
            Some(Resampler::new(rate, SampleRate::Hz8000)?)
        };
        Ok(Pipeline {
            from,
            to,
            rx,
            tap_resampler,
            tap: [0; TAP_FRAME],
            encoder,
            out: OutQueue::new(OUT_SLOTS, MAX_OUT_PACKET),
            ssrc: DEFAULT_SSRC,
            next_seq: 0,
            next_ts: 0,
            out_frame: to.clock_rate / 50,
            clock_running: false,
            audio_marker: true,
            event: None,
            mute: false,
            stats: PipelineStats::default(),
        })
    }

    /// Sets the outgoing stream's SSRC, first sequence number and first
    /// timestamp (RFC 3550 §5.1 recommends random initial values).
    pub fn with_stream(mut self, ssrc: u32, sequence: u16, timestamp: u32) -> Self {
        self.ssrc = ssrc;
        self.next_seq = sequence;
        self.next_ts = timestamp;
        self
    }

    /// The incoming leg's format.
    pub fn from_format(&self) -> LegFormat {
        self.from
    }

    /// The outgoing leg's format.
    pub fn to_format(&self) -> LegFormat {
        self.to
    }

    /// An outgoing event duration (in `to.event_clock_rate` units) on the
    /// outgoing audio timeline (`to.clock_rate` units).
    fn event_span(&self, duration: u16) -> u32 {
        let d = u64::from(duration) * u64::from(self.to.clock_rate) / u64::from(self.to.event_clock_rate.max(1));
        u32::try_from(d).unwrap_or(u32::MAX)
    }

    /// The jitter buffer's current target delay (RFC 3550 §A.8 driven).
    pub fn jitter_delay(&self) -> Duration {
        self.rx.jitter_delay()
    }

    /// A latched RTP packet (RFC 3550 §5.1) from the `from` leg arrived at
    /// `now`. Audio goes into the jitter buffer; RFC 4733 events are
    /// translated at once (PT → `to.event_pt`, timestamp onto the outgoing
    /// timeline, duration rescaled between the legs' event clocks,
    /// RFC 4733 §2.5.1) and queued; events with no `to.event_pt` are dropped
    /// and counted. Malformed packets are counted and dropped, never panic.
    pub fn push(&mut self, packet: &[u8], now: Instant) {
        if let Incoming::Event { header, payload } = self.rx.push(packet, now) {
            self.push_event(&header, payload, now);
        }
    }

    fn push_event(&mut self, h: &RtpHeader, payload: &[u8], now: Instant) {
        let Ok(ev) = TelephoneEvent::parse(payload) else {
            self.stats.malformed += 1;
            return;
        };
        self.stats.events_in += 1;
        let Some(pt) = self.to.event_pt else {
            self.stats.events_dropped += 1;
            return;
        };
        let ev = ev.rescaled(self.from.event_clock_rate, self.to.event_clock_rate);
        let (out_ts, marker) = match self.event {
            Some(mut e) if e.in_ts == h.timestamp => {
                e.duration = e.duration.max(ev.duration);
                e.ended |= ev.end;
                e.last_at = now;
                self.event = Some(e);
                (e.out_ts, false)
            }
            Some(e) if ts_before(h.timestamp, e.in_ts) && now.saturating_duration_since(e.last_at) < EVENT_STALE => {
                // A straggler of an older event.
                self.stats.events_dropped += 1;
                return;
            }
            prev => {
                // A new event starts where the next audio frame would go, after the
                // previous event (if that lies at most 1 s ahead: junk cannot push the
                // timeline away).
                let mut out_ts = self.next_ts;
                if let Some(p) = prev {
                    let end = p.out_ts.wrapping_add(self.event_span(p.duration).max(self.out_frame));
                    if ts_before(out_ts, end)
                        && end.wrapping_sub(out_ts) <= self.to.clock_rate
                        && now.saturating_duration_since(p.last_at) < EVENT_STALE
                    {
                        out_ts = end;
                    }
                }
                self.event = Some(EventState {
                    in_ts: h.timestamp,
                    out_ts,
                    duration: ev.duration,
                    ended: ev.end,
                    last_at: now,
                });
                self.mute = true;
                (out_ts, true)
            }
        };
        let fields = RtpFields {
            marker,
            payload_type: pt,
            sequence: self.next_seq,
            timestamp: out_ts,
            ssrc: self.ssrc,
        };
        let (slot, overflow) = self.out.begin();
        self.stats.queue_overflows += u64::from(overflow);
        if let Ok(len) = write_packet(slot, &fields, &ev.to_bytes()) {
            self.out.commit(len);
            self.next_seq = self.next_seq.wrapping_add(1);
            self.stats.events_out += 1;
            self.clock_running = true;
        }
    }

    /// Called every 20 ms by the session (RFC 3551 §4.2 frame pacing): pulls
    /// 20 ms from the jitter buffer, decodes or conceals a loss, optionally
    /// denoises, keeps 20 ms at 8 kHz for the tap, encodes and queues the
    /// outgoing packet. While an event is being sent audio is not sent (RFC
    /// 4733 §2.5.1); before the first audio frame nothing is sent.
    pub fn tick(&mut self, now: Instant) {
        if let Some(e) = self.event.as_mut() {
            if self.mute && !e.ended && now.saturating_duration_since(e.last_at) >= EVENT_TIMEOUT {
                e.ended = true;
            }
        }
        let Some(work) = self.rx.tick(now) else {
            self.tap.fill(0);
            if self.clock_running {
                self.next_ts = self.next_ts.wrapping_add(self.out_frame);
            }
            return;
        };
        match self.tap_resampler.as_mut() {
            None => {
                for (t, &s) in self.tap.iter_mut().zip(work) {
                    *t = s;
                }
            }
            Some(r) => {
                if r.process(work, &mut self.tap).is_err() {
                    self.tap.fill(0);
                }
            }
        }
        let ts = self.next_ts;
        self.next_ts = ts.wrapping_add(self.out_frame);
        self.clock_running = true;
        if self.mute {
            match self.event {
                Some(e) if e.ended && !ts_before(ts, e.out_ts.wrapping_add(self.event_span(e.duration))) => {
                    self.mute = false;
                    self.audio_marker = true;
                }
                None => self.mute = false,
                Some(_) => {
                    self.stats.muted += 1;
                    return;
                }
            }
        }
        self.queue_audio(ts);
    }

    fn queue_audio(&mut self, ts: u32) {
        let fields = RtpFields {
            marker: self.audio_marker,
            payload_type: self.to.pt,
            sequence: self.next_seq,
            timestamp: ts,
            ssrc: self.ssrc,
        };
        let (slot, overflow) = self.out.begin();
        self.stats.queue_overflows += u64::from(overflow);
        let (header, body) = slot.split_at_mut(FIXED_HEADER_LEN);
        let work = self.rx.frame();
        let encoded = match &mut self.encoder {
            Encoder::Ulaw => g711::encode_ulaw(work, body),
            Encoder::Alaw => g711::encode_alaw(work, body),
            Encoder::Opus(enc) => enc.encode(work, body),
        };
        let Ok(n) = encoded else {
            self.stats.encode_errors += 1;
            return;
        };
        if write_packet(header, &fields, &[]).is_err() {
            self.stats.encode_errors += 1;
            return;
        }
        self.out.commit(FIXED_HEADER_LEN + n);
        self.next_seq = self.next_seq.wrapping_add(1);
        self.audio_marker = false;
        self.stats.audio_out += 1;
    }

    /// Writes the next outgoing RTP packet (RFC 3550 §5.1: own SSRC,
    /// continuous sequence and `to.clock_rate` timestamps, PT `to.pt` or
    /// `to.event_pt`, marker on the first packet and at event start) into
    /// `out` and returns its length; `None` when nothing is queued. A packet
    /// longer than `out` (size it [`MAX_OUT_PACKET`]) is dropped and counted
    /// in `queue_overflows`.
    pub fn poll_packet(&mut self, out: &mut [u8]) -> Option<usize> {
        let n = self.out.pop_into(out, &mut self.stats.queue_overflows)?;
        self.stats.packets_out += 1;
        Some(n)
    }

    /// The last tick's decoded audio of this direction at 8 kHz mono, 160
    /// samples (RFC 3551 §4.5.14 rate; silence before audio starts) — what
    /// the recorder writes.
    pub fn tap_8k(&self) -> &[i16; TAP_FRAME] {
        &self.tap
    }

    /// The counters (RFC 3550 §6.4.1 loss and jitter are in `jitter`).
    pub fn stats(&self) -> PipelineStats {
        let r = self.rx.stats();
        let s = self.stats;
        let malformed = s.malformed + r.malformed;
        PipelineStats {
            packets_in: r.packets_in,
            concealed: r.concealed,
            fec_recovered: r.fec_recovered,
            silence: r.silence,
            malformed,
            unknown_pt: r.unknown_pt,
            rejected: r.rejected,
            dropped: malformed + r.unknown_pt + s.events_dropped + r.rejected,
            decode_errors: r.decode_errors,
            resyncs: r.resyncs,
            jitter: r.jitter,
            ..s
        }
    }
}
