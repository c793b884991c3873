//! [`AudioTap`]: the decoded audio of one leg on the relay fast path, for
//! the recorder (issue 3 item 5), without a jitter buffer or re-encoding.

use crate::dsp::opus::OpusDecoder;
use crate::dsp::{g711, SampleRate};
use crate::rtp::packet::RtpHeader;

use super::source::PcmFifo;
use super::{audio_of, Audio, LegFormat, PipelineError, TAP_FRAME};

/// The tap's FIFO bound: 200 ms at 8 kHz.
const TAP_FIFO: usize = 1600;

/// Counters of an [`AudioTap`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TapStats {
    /// Audio packets decoded.
    pub packets: u64,
    /// Audio packets dropped: malformed, undecodable, or older than what was already decoded.
    pub dropped: u64,
    /// Packets of other payload types (events, comfort noise) ignored.
    pub ignored: u64,
    /// Silence samples inserted for gaps in the timestamps (lost packets).
    pub gap_samples: u64,
    /// Samples dropped because the FIFO was full (nobody pulled).
    pub overflow_samples: u64,
}

enum TapDecoder {
    Ulaw,
    Alaw,
    Opus(OpusDecoder),
}

/// Decoded audio of one leg for the recorder on the relay fast path (issue 3
/// item 5): G.711 (RFC 3551 §4.5.14) decoded directly, Opus (RFC 7587)
/// decoded by libopus straight to 8 kHz, into a FIFO bounded at 200 ms (the
/// oldest samples are dropped). No jitter buffer: packets are taken in
/// arrival order, a timestamp gap of up to 200 ms is filled with silence,
/// an older packet is dropped. Allocates nothing per packet.
pub struct AudioTap {
    format: LegFormat,
    decoder: TapDecoder,
    fifo: PcmFifo,
    scratch: Vec<i16>,
    /// (SSRC, expected next timestamp).
    expect: Option<(u32, u32)>,
    stats: TapStats,
}

impl std::fmt::Debug for AudioTap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AudioTap")
            .field("format", &self.format)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl AudioTap {
    /// A tap decoding the audio of a leg in `from`'s format.
    ///
    /// # Errors
    /// As [`Pipeline::new`] for the format; the Opus decoder's setup.
    pub fn new(from: LegFormat) -> Result<AudioTap, PipelineError> {
        let decoder = match audio_of(&from)? {
            Audio::Ulaw => TapDecoder::Ulaw,
            Audio::Alaw => TapDecoder::Alaw,
            Audio::Opus => TapDecoder::Opus(OpusDecoder::new(SampleRate::Hz8000)?),
        };
        Ok(AudioTap {
            format: from,
            decoder,
            fifo: PcmFifo::new(TAP_FIFO),
            // 120 ms at 8 kHz, the longest Opus packet (RFC 6716 §3.2.5).
            scratch: vec![0; 960],
            expect: None,
            stats: TapStats::default(),
        })
    }

    /// Decodes the audio payload of one RTP packet (RFC 3550 §5.1) of the
    /// leg; other payload types are ignored, malformed packets dropped.
    pub fn push(&mut self, packet: &[u8]) {
        let Ok(h) = RtpHeader::parse(packet) else {
            self.stats.dropped += 1;
            return;
        };
        if h.payload_type != self.format.pt {
            self.stats.ignored += 1;
            return;
        }
        let payload = packet.get(h.payload_offset..h.payload_end).unwrap_or_default();
        let clock = self.format.clock_rate.max(1);
        // Check the timestamp before decoding (older packets never touch the decoder).
        let mut gap = 0usize;
        if let Some((ssrc, expected)) = self.expect {
            if ssrc == h.ssrc {
                let d = h.timestamp.wrapping_sub(expected) as i32;
                let window = (clock / 5) as i32; // 200 ms
                if (-window..0).contains(&d) {
                    self.stats.dropped += 1;
                    return;
                }
                if (1..=window).contains(&d) {
                    gap = (d as u64 * 8000 / u64::from(clock)) as usize;
                }
            }
        }
        let decoded = match &mut self.decoder {
            TapDecoder::Ulaw | TapDecoder::Alaw if payload.is_empty() || payload.len() > self.scratch.len() => None,
            TapDecoder::Ulaw => g711::decode_ulaw(payload, &mut self.scratch).ok(),
            TapDecoder::Alaw => g711::decode_alaw(payload, &mut self.scratch).ok(),
            TapDecoder::Opus(dec) => {
                if payload.is_empty() {
                    None
                } else {
                    dec.decode(payload, &mut self.scratch).ok()
                }
            }
        };
        let Some(n) = decoded else {
            self.stats.dropped += 1;
            return;
        };
        self.fifo.push_zeros(gap);
        self.stats.gap_samples += gap as u64;
        let n = n.min(self.scratch.len());
        self.fifo.reserve(n).copy_from_slice(&self.scratch[..n]);
        self.fifo.commit(n);
        let units = (n as u64 * u64::from(clock) / 8000) as u32;
        self.expect = Some((h.ssrc, h.timestamp.wrapping_add(units)));
        self.stats.packets += 1;
        self.stats.overflow_samples = self.fifo.overflow();
    }

    /// Pops 20 ms (160 samples at 8 kHz) into `out`, or fills it with silence
    /// when fewer are buffered (they stay for the next call).
    pub fn pull_8k(&mut self, out: &mut [i16; TAP_FRAME]) {
        if !self.fifo.pop_exact(out) {
            out.fill(0);
        }
    }

    /// Samples buffered (at most 200 ms at 8 kHz).
    pub fn buffered(&self) -> usize {
        self.fifo.len()
    }

    /// The counters.
    pub fn stats(&self) -> TapStats {
        self.stats
    }
}
