//! One bridge party: its input half (the shared [`Receiver`], then an
//! upsampler to the mix rate for a G.711 party on a wideband bridge) and its
//! listener half (limiter, downsampler back to 8 kHz, encoder, and one
//! continuous outgoing RTP stream, RFC 3550 §5.1).

use std::time::Instant;

use crate::dsp::limiter::Limiter;
use crate::dsp::opus::{OpusConfig, OpusEncoder};
use crate::dsp::polyphase::PolyphaseResampler;
use crate::dsp::{g711, SampleRate};
use crate::media::pipeline::{Incoming, LegFormat, OutQueue, PipelineOptions, Receiver, MAX_OUT_PACKET};
use crate::rtp::packet::{write_packet, RtpFields, FIXED_HEADER_LEN};
use crate::sdp::CodecKind;

use super::{MixerError, PartyId, PartyMode, PartyStats, StreamState};

/// Packets a listener's queue holds between ticks; the oldest is dropped beyond this.
const OUT_SLOTS: usize = 8;

/// Opus bitrate of a wideband mix. A mix of voices is a harder signal than
/// one voice (RFC 7587 §3.1.1 suggests 20–40 kb/s for one fullband
/// speaker): measured through the bridge, a tone in a three-tone mix keeps
/// its level within 1 dB at 48 kb/s but drifts by more than 1 dB at 32 kb/s.
/// The bitrate barely changes the encoder's CPU cost.
const OPUS_MIX_BITRATE: i32 = 48_000;

fn opus_config() -> OpusConfig {
    OpusConfig {
        bitrate: OPUS_MIX_BITRATE,
        ..OpusConfig::default()
    }
}

/// The listener's encoder.
enum Encoder {
    Ulaw,
    Alaw,
    Opus(Box<OpusEncoder>),
}

/// What the listener's last packet carried (a change sets the marker bit).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Feed {
    Nothing,
    Mix,
    Music,
}

/// A party on a bridge. See the module docs.
pub(super) struct Party {
    pub(super) id: PartyId,
    pub(super) format: LegFormat,
    pub(super) mode: PartyMode,
    rx: Receiver,
    /// The codec's own rate: 8 kHz for G.711, the wideband rate for Opus.
    pub(super) native: SampleRate,
    /// Native → mix rate, when they differ.
    up: Option<PolyphaseResampler>,
    /// Mix rate → native, when they differ.
    down: Option<PolyphaseResampler>,
    /// This tick's input at the mix rate (silence unless heard by someone).
    pub(super) input: Vec<i16>,
    /// The limited mix at the mix rate.
    pcm: Vec<i16>,
    /// The limited mix at the native rate, when they differ.
    pcm_native: Vec<i16>,
    limiter: Limiter,
    encoder: Encoder,
    out: OutQueue,
    stream: StreamState,
    /// Timestamp units per 20 ms frame (RFC 3551 §4.5.14: 160; RFC 7587 §4.1: 960).
    ts_step: u32,
    fed: Feed,
    pub(super) stats: PartyStats,
    /// Audio played to this listener only, over its mix (a barge-in tone),
    /// at the mix rate.
    pub(super) prompt: std::collections::VecDeque<i16>,
}

impl Party {
    pub(super) fn new(
        id: PartyId,
        format: LegFormat,
        stream: StreamState,
        opts: PipelineOptions,
        wideband: SampleRate,
        mix: SampleRate,
    ) -> Result<Party, MixerError> {
        let (native, encoder) = match format.codec {
            CodecKind::Pcmu => (SampleRate::Hz8000, Encoder::Ulaw),
            CodecKind::Pcma => (SampleRate::Hz8000, Encoder::Alaw),
            CodecKind::Opus => (
                wideband,
                Encoder::Opus(Box::new(OpusEncoder::new(wideband, opus_config())?)),
            ),
            CodecKind::TelephoneEvent => {
                return Err(MixerError::Codec { codec: format.codec });
            }
        };
        let rx = Receiver::new(format, native, opts)?;
        let n = native.frame_20ms();
        let mut party = Party {
            id,
            format,
            mode: PartyMode::Talk,
            rx,
            native,
            up: None,
            down: None,
            input: vec![0; n],
            pcm: vec![0; n],
            pcm_native: Vec::new(),
            limiter: Limiter::new(native.hz()),
            encoder,
            out: OutQueue::new(OUT_SLOTS, MAX_OUT_PACKET),
            stream,
            ts_step: format.clock_rate / 50,
            fed: Feed::Nothing,
            stats: PartyStats::default(),
            prompt: std::collections::VecDeque::new(),
        };
        party.retune(mix);
        Ok(party)
    }

    /// Adapts to the bridge's mix rate (on a join or leave that changes it).
    /// A new rate restarts the resamplers and the limiter (a rare event: a
    /// transient of a few milliseconds).
    pub(super) fn retune(&mut self, mix: SampleRate) {
        let n = mix.frame_20ms();
        if self.input.len() == n {
            return;
        }
        if mix == self.native {
            self.up = None;
            self.down = None;
            self.pcm_native = Vec::new();
        } else {
            self.up = Some(PolyphaseResampler::new(self.native, mix));
            self.down = Some(PolyphaseResampler::new(mix, self.native));
            self.pcm_native = vec![0; self.native.frame_20ms()];
        }
        self.input = vec![0; n];
        self.pcm = vec![0; n];
        self.limiter = Limiter::new(mix.hz());
    }

    /// The stream's next sequence number and timestamp.
    pub(super) fn stream(&self) -> StreamState {
        self.stream
    }

    pub(super) fn push(&mut self, packet: &[u8], now: Instant) {
        if let Incoming::Event { .. } = self.rx.push(packet, now) {
            // RFC 4733 events are not mixed (nobody else should hear a party's digits).
            self.stats.events_ignored += 1;
        }
    }

    /// Pulls this tick's frame from the receiver (always, so its jitter
    /// buffer keeps pace); brings it to the mix rate only when `heard`.
    pub(super) fn pull(&mut self, now: Instant, heard: bool) {
        let frame = self.rx.tick(now);
        if !heard {
            return;
        }
        match (frame, self.up.as_mut()) {
            (None, _) => self.input.fill(0),
            (Some(f), None) => self.input.copy_from_slice(f),
            (Some(f), Some(up)) => {
                if up.process(f, &mut self.input).is_err() {
                    self.input.fill(0);
                }
            }
        }
    }

    /// The party's jitter buffer's current target delay.
    pub(super) fn jitter_delay(&self) -> std::time::Duration {
        self.rx.jitter_delay()
    }

    /// Encodes this listener's `mix` (at the mix rate) and queues its packet.
    pub(super) fn send_mix(&mut self, mix: &[i32]) {
        if self.limiter.process(mix, &mut self.pcm).is_err() {
            self.pcm.fill(0);
        }
        let pcm = match self.down.as_mut() {
            None => &self.pcm,
            Some(down) => {
                if down.process(&self.pcm, &mut self.pcm_native).is_err() {
                    self.pcm_native.fill(0);
                }
                &self.pcm_native
            }
        };
        let marker = self.fed != Feed::Mix;
        self.fed = Feed::Mix;
        queue(
            &mut self.encoder,
            &mut self.out,
            &mut self.stream,
            &mut self.stats,
            self.format.pt,
            self.ts_step,
            marker,
            pcm,
        );
    }

    /// Encodes a music frame (already at the native rate) and queues its packet.
    pub(super) fn send_music(&mut self, music: &[i16]) {
        let marker = self.fed != Feed::Music;
        self.fed = Feed::Music;
        queue(
            &mut self.encoder,
            &mut self.out,
            &mut self.stream,
            &mut self.stats,
            self.format.pt,
            self.ts_step,
            marker,
            music,
        );
    }

    pub(super) fn poll_packet(&mut self, out: &mut [u8]) -> Option<usize> {
        let n = self.out.pop_into(out, &mut self.stats.queue_overflows)?;
        self.stats.packets_out += 1;
        Some(n)
    }

    pub(super) fn stats(&self) -> PartyStats {
        PartyStats {
            receive: self.rx.stats(),
            limiter_gain: self.limiter.gain(),
            ..self.stats
        }
    }
}

/// Encodes `pcm` and queues it as the stream's next packet (RFC 3550 §5.1:
/// one SSRC, sequence +1, timestamp + one frame; RFC 3551 §4.2 20 ms).
#[allow(clippy::too_many_arguments)]
fn queue(
    encoder: &mut Encoder,
    out: &mut OutQueue,
    stream: &mut StreamState,
    stats: &mut PartyStats,
    pt: u8,
    ts_step: u32,
    marker: bool,
    pcm: &[i16],
) {
    let ts = stream.timestamp;
    // The timeline advances every tick, whether or not the packet could be built.
    stream.timestamp = ts.wrapping_add(ts_step);
    let (slot, overflow) = out.begin();
    stats.queue_overflows += u64::from(overflow);
    let (header, body) = slot.split_at_mut(FIXED_HEADER_LEN);
    let encoded = match encoder {
        Encoder::Ulaw => g711::encode_ulaw(pcm, body),
        Encoder::Alaw => g711::encode_alaw(pcm, body),
        Encoder::Opus(enc) => enc.encode(pcm, body),
    };
    let Ok(n) = encoded else {
        stats.encode_errors += 1;
        return;
    };
    let fields = RtpFields {
        marker,
        payload_type: pt,
        sequence: stream.sequence,
        timestamp: ts,
        ssrc: stream.ssrc,
    };
    if write_packet(header, &fields, &[]).is_err() {
        stats.encode_errors += 1;
        return;
    }
    out.commit(FIXED_HEADER_LEN + n);
    stream.sequence = stream.sequence.wrapping_add(1);
}
