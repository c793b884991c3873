//! The receiving half of a [`super::Pipeline`]: decoding G.711 (RFC 3551
//! §4.5.14) or Opus (RFC 6716, RFC 7587) into a PCM FIFO at the working
//! rate, and concealing lost frames (Opus PLC and in-band FEC, RFC 6716
//! §4.4; G.711 repeat-and-fade in the spirit of ITU-T G.711 Appendix I).

use crate::dsp::opus::OpusDecoder;
use crate::dsp::{g711, SampleRate};

use super::receive::ReceiveStats;
use super::{Audio, PipelineError};

/// G.711 concealment: full level, then linear fade-out, in milliseconds.
const G711_HOLD_MS: u32 = 10;
const G711_FADE_MS: u32 = 50;
/// Longest Opus PLC run on an underrun before silence, in milliseconds.
const OPUS_PLC_MS: u32 = 100;

/// A bounded FIFO of PCM samples over a fixed buffer: appending past the
/// bound drops the oldest samples. Never allocates after construction.
#[derive(Debug)]
pub(super) struct PcmFifo {
    buf: Vec<i16>,
    len: usize,
    overflow: u64,
}

impl PcmFifo {
    pub(super) fn new(capacity: usize) -> Self {
        PcmFifo {
            buf: vec![0; capacity.max(1)],
            len: 0,
            overflow: 0,
        }
    }

    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// Samples dropped so far to stay within the bound.
    pub(super) fn overflow(&self) -> u64 {
        self.overflow
    }

    /// Room for `n` samples at the end (dropping the oldest if needed); fill it, then [`commit`](Self::commit).
    pub(super) fn reserve(&mut self, n: usize) -> &mut [i16] {
        let n = n.min(self.buf.len());
        let excess = (self.len + n).saturating_sub(self.buf.len());
        if excess > 0 {
            self.buf.copy_within(excess..self.len, 0);
            self.len -= excess;
            self.overflow += excess as u64;
        }
        &mut self.buf[self.len..self.len + n]
    }

    pub(super) fn commit(&mut self, n: usize) {
        self.len = (self.len + n).min(self.buf.len());
    }

    pub(super) fn push_zeros(&mut self, n: usize) {
        let n = n.min(self.buf.len());
        self.reserve(n).fill(0);
        self.commit(n);
    }

    /// Moves the oldest `out.len()` samples into `out`; false (and `out` untouched) if fewer are held.
    pub(super) fn pop_exact(&mut self, out: &mut [i16]) -> bool {
        let n = out.len();
        if self.len < n {
            return false;
        }
        out.copy_from_slice(&self.buf[..n]);
        self.buf.copy_within(n..self.len, 0);
        self.len -= n;
        true
    }
}

/// Decoder state with its own loss concealment.
enum Decoder {
    /// G.711 (RFC 3551 §4.5.14): `history` is the last 20 ms decoded, `phase` the repetition point.
    G711 {
        alaw: bool,
        history: Vec<i16>,
        phase: usize,
    },
    /// Opus (RFC 6716) at the working rate; `scratch` holds one 20 ms PLC frame.
    Opus { dec: OpusDecoder, scratch: Vec<i16> },
}

/// The receiving half: decoder, PCM FIFO at the working rate, concealment run.
pub(super) struct Source {
    decoder: Decoder,
    clock_rate: u32,
    /// Working rate in Hz.
    rate: u32,
    /// Samples per 20 ms at the working rate.
    pub(super) frame: usize,
    pub(super) fifo: PcmFifo,
    /// Samples concealed since the last decoded frame.
    run: usize,
}

impl Source {
    pub(super) fn new(audio: Audio, clock_rate: u32, rate: SampleRate) -> Result<Self, PipelineError> {
        let frame = rate.frame_20ms();
        let decoder = match audio {
            Audio::Ulaw | Audio::Alaw => Decoder::G711 {
                alaw: audio == Audio::Alaw,
                history: vec![0; frame],
                phase: 0,
            },
            Audio::Opus => Decoder::Opus {
                dec: OpusDecoder::new(rate)?,
                scratch: vec![0; frame],
            },
        };
        Ok(Source {
            decoder,
            clock_rate,
            rate: rate.hz(),
            frame,
            // Two ticks plus two 120 ms frames (a missing frame and the FEC source after it).
            fifo: PcmFifo::new(2 * frame + 12 * frame),
            run: 0,
        })
    }

    pub(super) fn is_opus(&self) -> bool {
        matches!(self.decoder, Decoder::Opus { .. })
    }

    /// Clock units to working-rate samples.
    pub(super) fn samples(&self, clock_units: u32) -> usize {
        (u64::from(clock_units) * u64::from(self.rate) / u64::from(self.clock_rate.max(1))) as usize
    }

    /// The duration of an audio payload in clock units, if it is a plausible
    /// frame (2.5–120 ms, RFC 6716 §2.1.4 frame sizes; G.711 any length in that range).
    pub(super) fn duration(&self, payload: &[u8]) -> Option<u32> {
        let units = match &self.decoder {
            Decoder::G711 { .. } => u32::try_from(payload.len()).ok()?,
            Decoder::Opus { dec, .. } => {
                if payload.is_empty() {
                    return None;
                }
                let n = dec.packet_samples(payload).ok()?;
                u32::try_from(n as u64 * u64::from(self.clock_rate) / u64::from(self.rate)).ok()?
            }
        };
        let (min, max) = (self.clock_rate / 400, self.clock_rate / 1000 * 120);
        (min..=max).contains(&units).then_some(units)
    }

    /// Decodes a frame of `units` clock units into the FIFO; conceals it if it does not decode.
    pub(super) fn decode(&mut self, payload: &[u8], units: u32, stats: &mut ReceiveStats) {
        let expected = self.samples(units);
        match &mut self.decoder {
            Decoder::G711 { alaw, history, phase } => {
                let tail = self.fifo.reserve(payload.len());
                let n = tail.len();
                let table = if *alaw { &g711::ALAW_DECODE } else { &g711::ULAW_DECODE };
                for (o, &c) in tail.iter_mut().zip(payload) {
                    *o = table[c as usize];
                }
                // Keep the last 20 ms for concealment.
                let h = history.len();
                if n >= h {
                    history.copy_from_slice(&tail[n - h..n]);
                } else {
                    history.copy_within(n.., 0);
                    history[h - n..].copy_from_slice(&tail[..n]);
                }
                *phase = 0;
                self.fifo.commit(n);
                self.run = 0;
            }
            Decoder::Opus { dec, .. } => {
                let tail = self.fifo.reserve(expected.max(self.frame));
                if let Ok(n) = dec.decode(payload, tail) {
                    self.fifo.commit(n);
                    self.run = 0;
                    return;
                }
                stats.decode_errors += 1;
                self.conceal(expected);
            }
        }
    }

    /// Recovers a lost 20 ms frame from the in-band FEC of `next` (RFC 7587 §3.3).
    pub(super) fn recover_fec(&mut self, next: &[u8]) -> bool {
        let frame = self.frame;
        let Decoder::Opus { dec, .. } = &mut self.decoder else {
            return false;
        };
        let tail = self.fifo.reserve(frame);
        if tail.len() == frame && dec.decode_fec(next, tail).is_ok() {
            self.fifo.commit(frame);
            self.run = self.run.saturating_add(frame);
            return true;
        }
        false
    }

    /// Synthesises `n` samples for lost audio; true if any of it is not silence.
    pub(super) fn conceal(&mut self, n: usize) -> bool {
        let rate = self.rate as usize;
        let start = self.run;
        self.run = self.run.saturating_add(n);
        match &mut self.decoder {
            Decoder::G711 { history, phase, .. } => {
                // Repeat the last 20 ms: full level, then a linear fade (ITU-T G.711 App. I spirit).
                let hold = rate * G711_HOLD_MS as usize / 1000;
                let fade = (rate * G711_FADE_MS as usize / 1000).max(1);
                let audible = start < hold + fade;
                let tail = self.fifo.reserve(n);
                for (i, o) in tail.iter_mut().enumerate() {
                    let k = start + i;
                    let gain = if k < hold {
                        1.0
                    } else {
                        (1.0 - (k - hold) as f32 / fade as f32).max(0.0)
                    };
                    let s = history.get(*phase).copied().unwrap_or(0);
                    *phase = (*phase + 1) % history.len().max(1);
                    *o = (f32::from(s) * gain) as i16;
                }
                let written = tail.len();
                self.fifo.commit(written);
                audible
            }
            Decoder::Opus { dec, scratch } => {
                let limit = rate * OPUS_PLC_MS as usize / 1000;
                let mut done = 0;
                let mut audible = false;
                while done < n {
                    let take = (n - done).min(scratch.len());
                    if start + done >= limit || dec.conceal(scratch).is_err() {
                        scratch.fill(0);
                    } else {
                        audible = true;
                    }
                    let tail = self.fifo.reserve(take);
                    let k = tail.len();
                    tail.copy_from_slice(&scratch[..k]);
                    self.fifo.commit(k);
                    done += take;
                }
                audible
            }
        }
    }
}
