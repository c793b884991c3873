//! [`Receiver`]: the receiving half of a media path, shared by the
//! transcoding [`super::Pipeline`] and the conference bridge
//! ([`crate::media::mixer`]), so that both de-jitter, decode and conceal
//! exactly alike.
//!
//! RTP in (RFC 3550 §5.1) → jitter buffer (RFC 3550 §6.4.1/§A.8,
//! [`crate::rtp::jitter`]) → decode (G.711 RFC 3551 §4.5.14, Opus RFC 6716
//! and RFC 7587) → loss concealment (Opus PLC and in-band FEC, RFC 6716
//! §4.4; G.711 repeat-and-fade) → optional noise removal (spec
//! CALL-NOISE-1) → one 20 ms PCM frame at the working rate per tick. The
//! behaviour (adaptive 40–200 ms delay, sender ptime learning, restarts on a
//! new SSRC or a timestamp jump, concealment then silence on underrun) is
//! described in the [`super`] module docs. RFC 4733 events are not audio:
//! [`Receiver::push`] hands them back to the caller.
//!
//! Sans-IO: `now` comes in as an argument. After construction the only
//! allocation is rebuilding the jitter buffer when the sender's ptime
//! changes or the stream restarts; ticks allocate nothing.

use std::time::{Duration, Instant};

use crate::dsp::noise::NoiseSuppressor;
use crate::dsp::SampleRate;
use crate::rtp::jitter::{Insert, JitterBuffer, JitterConfig, JitterStats, Pull, TargetDelay};
use crate::rtp::packet::RtpHeader;

use super::source::Source;
use super::{audio_of, ts_before, Audio, LegFormat, PipelineError, PipelineOptions};

/// Jitter buffer delay bounds.
const JITTER_MIN: Duration = Duration::from_millis(40);
const JITTER_MAX: Duration = Duration::from_millis(200);
/// Consecutive packets of a new duration before the jitter buffer adopts it.
const PTIME_CONFIRM: u8 = 3;
/// Consecutive late packets that restart the jitter buffer (a backwards jump).
const LATE_RESET: u32 = 8;
/// A timestamp jump beyond this (in seconds of the clock) restarts the buffer.
const RESYNC_SECONDS: u32 = 10;

/// What [`Receiver::push`] did with a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Incoming<'a> {
    /// An audio packet: queued in the jitter buffer, or refused and counted.
    Audio,
    /// A packet of the leg's telephone-event payload type (RFC 4733 §2.3),
    /// left to the caller: its parsed header and payload.
    Event {
        /// The packet's RTP header.
        header: RtpHeader,
        /// The event payload (RFC 4733 §2.3 format, not yet parsed).
        payload: &'a [u8],
    },
    /// Dropped and counted: malformed, or a payload type the leg did not negotiate.
    Dropped,
}

/// Counters of one [`Receiver`] (RFC 3550 §6.4.1 loss and jitter come from `jitter`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReceiveStats {
    /// Audio packets accepted into the jitter buffer.
    pub packets_in: u64,
    /// Lost frames synthesised (PLC, FEC or G.711 repetition), including ticks filled on underrun.
    pub concealed: u64,
    /// Of `concealed`, frames decoded from the next packet's Opus in-band FEC (RFC 7587 §3.3).
    pub fec_recovered: u64,
    /// Ticks filled with silence after concealment faded out.
    pub silence: u64,
    /// Packets dropped as malformed (RTP header, empty or undecodable payload, bad duration).
    pub malformed: u64,
    /// Packets dropped for a payload type this leg did not negotiate.
    pub unknown_pt: u64,
    /// Audio packets the jitter buffer refused (late, duplicate, too large) or of an unconfirmed ptime.
    pub rejected: u64,
    /// Frames that failed to decode (concealed instead).
    pub decode_errors: u64,
    /// Times the jitter buffer was restarted (new SSRC, ptime, timestamp jump).
    pub resyncs: u64,
    /// The current jitter buffer's counters.
    pub jitter: JitterStats,
}

fn jitter_config(audio_opus: bool, clock_rate: u32, frame: u32) -> JitterConfig {
    JitterConfig {
        clock_rate,
        frame_samples: frame,
        target: TargetDelay::Adaptive {
            min: JITTER_MIN,
            max: JITTER_MAX,
        },
        capacity: 32,
        // G.711: up to 120 ms; Opus: what one datagram can carry.
        max_payload: if audio_opus { 1500 } else { 960 },
    }
}

/// The receiving half of one leg's media: packets in, one concealed (and
/// optionally denoised) 20 ms PCM frame at the working rate out per tick.
/// See the module docs for the RFCs.
pub struct Receiver {
    from: LegFormat,
    rate: SampleRate,
    source: Source,
    jitter: JitterBuffer,
    /// The jitter buffer's frame, in `from` clock units.
    jitter_frame: u32,
    in_ssrc: Option<u32>,
    last_in_ts: Option<u32>,
    pending_ptime: (u32, u8),
    late_run: u32,
    /// Audio has started playing out.
    playing: bool,
    denoiser: Option<NoiseSuppressor>,
    work: Vec<i16>,
    clean: Vec<i16>,
    stats: ReceiveStats,
}

impl std::fmt::Debug for Receiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Receiver")
            .field("from", &self.from)
            .field("rate", &self.rate)
            .field("playing", &self.playing)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl Receiver {
    /// A receiver decoding `from`'s audio (G.711 RFC 3551 §4.5.14, Opus RFC
    /// 7587) to 20 ms frames at `rate`, denoised if `opts.denoise`.
    ///
    /// # Errors
    /// [`PipelineError`] for a non-audio codec, a clock rate that does not fit
    /// the codec, a bad payload type, G.711 at a working rate other than
    /// 8 kHz, or a decoder or noise suppressor that fails to initialise.
    pub fn new(from: LegFormat, rate: SampleRate, opts: PipelineOptions) -> Result<Receiver, PipelineError> {
        let audio = audio_of(&from)?;
        if audio != Audio::Opus && rate != SampleRate::Hz8000 {
            return Err(PipelineError::WorkingRate {
                codec: from.codec,
                rate: rate.hz(),
            });
        }
        let frame = rate.frame_20ms();
        let source = Source::new(audio, from.clock_rate, rate)?;
        let denoiser = if opts.denoise {
            Some(NoiseSuppressor::new(rate)?)
        } else {
            None
        };
        let default_frame = from.clock_rate / 50;
        Ok(Receiver {
            from,
            rate,
            source,
            jitter: JitterBuffer::new(jitter_config(audio == Audio::Opus, from.clock_rate, default_frame)),
            jitter_frame: default_frame,
            in_ssrc: None,
            last_in_ts: None,
            pending_ptime: (0, 0),
            late_run: 0,
            playing: false,
            denoiser,
            work: vec![0; frame],
            clean: vec![0; frame],
            stats: ReceiveStats::default(),
        })
    }

    /// The leg's format.
    pub fn format(&self) -> LegFormat {
        self.from
    }

    /// The working rate of the frames [`Receiver::tick`] returns.
    pub fn rate(&self) -> SampleRate {
        self.rate
    }

    /// Audio has started playing out (the first frame left the jitter buffer).
    pub fn is_playing(&self) -> bool {
        self.playing
    }

    /// The jitter buffer's current target delay (RFC 3550 §A.8 driven).
    pub fn jitter_delay(&self) -> Duration {
        self.jitter.target_delay()
    }

    /// A latched RTP packet (RFC 3550 §5.1) from the leg arrived at `now`.
    /// Audio goes into the jitter buffer; a telephone-event packet (RFC 4733)
    /// is handed back; anything else is counted and dropped, never panics.
    pub fn push<'a>(&mut self, packet: &'a [u8], now: Instant) -> Incoming<'a> {
        let Ok(h) = RtpHeader::parse(packet) else {
            self.stats.malformed += 1;
            return Incoming::Dropped;
        };
        let Some(payload) = packet.get(h.payload_offset..h.payload_end) else {
            self.stats.malformed += 1;
            return Incoming::Dropped;
        };
        if h.payload_type == self.from.pt {
            self.push_audio(&h, payload, now);
            Incoming::Audio
        } else if Some(h.payload_type) == self.from.event_pt {
            Incoming::Event { header: h, payload }
        } else {
            self.stats.unknown_pt += 1;
            Incoming::Dropped
        }
    }

    fn reset_jitter(&mut self, frame: u32) {
        self.jitter = JitterBuffer::new(jitter_config(self.source.is_opus(), self.from.clock_rate, frame));
        self.jitter_frame = frame;
        self.pending_ptime = (0, 0);
        self.late_run = 0;
        self.last_in_ts = None;
        self.stats.resyncs += 1;
    }

    fn push_audio(&mut self, h: &RtpHeader, payload: &[u8], now: Instant) {
        let Some(units) = self.source.duration(payload) else {
            self.stats.malformed += 1;
            return;
        };
        let fresh = self.jitter.stats().queued == 0;
        if self.in_ssrc != Some(h.ssrc) {
            if self.in_ssrc.is_some() && !fresh {
                self.reset_jitter(units);
            }
            self.in_ssrc = Some(h.ssrc);
        }
        if let Some(last) = self.last_in_ts {
            let jump = (h.timestamp.wrapping_sub(last) as i32).unsigned_abs();
            if jump > RESYNC_SECONDS.saturating_mul(self.from.clock_rate) {
                self.reset_jitter(units);
            }
        }
        if units != self.jitter_frame {
            if self.jitter.stats().queued == 0 {
                // Nothing buffered yet: take the sender's ptime at once.
                self.jitter = JitterBuffer::new(jitter_config(self.source.is_opus(), self.from.clock_rate, units));
                self.jitter_frame = units;
            } else {
                let (d, n) = self.pending_ptime;
                let n = if d == units { n + 1 } else { 1 };
                self.pending_ptime = (units, n);
                if n < PTIME_CONFIRM {
                    self.stats.rejected += 1;
                    return;
                }
                self.reset_jitter(units);
            }
        } else {
            self.pending_ptime = (0, 0);
        }
        let mut result = self.jitter.insert(h.sequence, h.timestamp, now, payload);
        if result == Insert::Late {
            self.late_run += 1;
            if self.late_run >= LATE_RESET {
                self.reset_jitter(units);
                result = self.jitter.insert(h.sequence, h.timestamp, now, payload);
            }
        }
        match result {
            Insert::Queued => {
                self.stats.packets_in += 1;
                self.late_run = 0;
                let newer = self.last_in_ts.is_none_or(|last| ts_before(last, h.timestamp));
                if newer {
                    self.last_in_ts = Some(h.timestamp);
                }
            }
            Insert::Late | Insert::Duplicate | Insert::TooLarge => self.stats.rejected += 1,
        }
    }

    /// Pulls from the jitter buffer until the FIFO holds a 20 ms frame or the buffer has nothing to play.
    fn fill(&mut self, now: Instant) {
        let lost = self.source.samples(self.jitter_frame);
        let units = self.jitter_frame;
        while self.source.fifo.len() < self.source.frame {
            match self.jitter.pull(now) {
                Pull::Frame { payload, .. } => {
                    self.source.decode(payload, units, &mut self.stats);
                    self.playing = true;
                }
                Pull::Missing { .. } => {
                    self.stats.concealed += 1;
                    if !(self.source.is_opus() && lost == self.source.frame) {
                        self.source.conceal(lost);
                        continue;
                    }
                    // Opus: if the next packet is buffered, recover from its FEC (RFC 7587 §3.3).
                    match self.jitter.pull(now) {
                        Pull::Frame { payload, .. } => {
                            if self.source.recover_fec(payload) {
                                self.stats.fec_recovered += 1;
                            } else {
                                self.source.conceal(lost);
                            }
                            self.source.decode(payload, units, &mut self.stats);
                        }
                        Pull::Missing { .. } => {
                            self.stats.concealed += 1;
                            self.source.conceal(lost);
                            self.source.conceal(lost);
                        }
                        Pull::Empty => {
                            self.source.conceal(lost);
                        }
                    }
                }
                Pull::Empty => break,
            }
        }
    }

    /// Called every 20 ms (RFC 3551 §4.2 frame pacing): pulls 20 ms from the
    /// jitter buffer, decodes or conceals a loss, optionally denoises, and
    /// returns the frame at the working rate. `None` before the first audio
    /// frame has played out (nothing to send yet); once audio has started a
    /// frame is returned every tick (concealment, then silence, when the
    /// sender stops).
    pub fn tick(&mut self, now: Instant) -> Option<&[i16]> {
        self.fill(now);
        if !self.playing {
            return None;
        }
        let frame = self.source.frame;
        let short = frame.saturating_sub(self.source.fifo.len());
        if short > 0 {
            if self.source.conceal(short) {
                self.stats.concealed += 1;
            } else {
                self.stats.silence += 1;
            }
        }
        if !self.source.fifo.pop_exact(&mut self.work) {
            self.work.fill(0);
        }
        if let Some(ns) = self.denoiser.as_mut() {
            if ns.process(&self.work, &mut self.clean).is_ok() {
                std::mem::swap(&mut self.work, &mut self.clean);
            }
        }
        Some(&self.work)
    }

    /// The frame the last [`Receiver::tick`] returned (silence before audio started).
    pub fn frame(&self) -> &[i16] {
        &self.work
    }

    /// The counters, with the current jitter buffer's.
    pub fn stats(&self) -> ReceiveStats {
        ReceiveStats {
            jitter: self.jitter.stats(),
            ..self.stats
        }
    }
}
