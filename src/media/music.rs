//! Music on hold (issue 3 item 4): the track shipped in `media/`
//! (`hold-music.wav`, 8 kHz 16-bit mono, made by
//! `examples/make_hold_music.rs`) is embedded in the binary, decoded once,
//! and looped; a [`MusicPlayer`] per held leg turns it into 20 ms RTP
//! packets in that leg's codec (G.711 directly; Opus resampled to 48 kHz
//! and encoded). The same player plays queue announcements and entry
//! points' voice prompts (issue 14) in place of the music, and after a prompt
//! either the music again or encoded silence.

use crate::call::media::{AfterPrompt, LegAudio};
use crate::dsp::opus::{OpusConfig, OpusEncoder};
use crate::dsp::resample::Resampler;
use crate::dsp::SampleRate;
use crate::sdp::CodecKind;
use std::sync::Arc;

/// Samples per 20 ms frame at 8 kHz.
pub(crate) const FRAME_8K: usize = 160;

/// The hold music track (CALL-HOLD-1), decoded to 8 kHz samples once and
/// shared by every session.
pub struct HoldMusic {
    samples: Vec<i16>,
}

static TRACK: &[u8] = include_bytes!("../../media/hold-music.wav");

impl HoldMusic {
    /// The embedded track; silence if it cannot be decoded (never panics).
    pub fn embedded() -> HoldMusic {
        let samples = hound::WavReader::new(std::io::Cursor::new(TRACK))
            .ok()
            .filter(|r| r.spec().sample_rate == 8000 && r.spec().channels == 1 && r.spec().bits_per_sample == 16)
            .map(|mut r| r.samples::<i16>().filter_map(Result::ok).collect::<Vec<_>>())
            .filter(|s| s.len() >= FRAME_8K)
            .unwrap_or_else(|| {
                tracing::error!("embedded hold music unreadable: playing silence");
                vec![0; FRAME_8K]
            });
        HoldMusic { samples }
    }

    /// Copies the 20 ms frame starting at sample `pos` (wrapping at the end
    /// of the track) into `out`; returns the next position.
    pub(crate) fn frame(&self, pos: usize, out: &mut [i16; FRAME_8K]) -> usize {
        for (i, s) in out.iter_mut().enumerate() {
            *s = self.samples[(pos + i) % self.samples.len()];
        }
        (pos + FRAME_8K) % self.samples.len()
    }
}

/// The SSRC music packets carry before the held leg's rewriter maps them
/// into its continuous stream (a source switch: marker bit set, RFC 3550 §5.1).
pub(crate) const MUSIC_SSRC: u32 = 0x4d4f_4831; // "MOH1"

/// Encodes 8 kHz frames to one leg's codec.
pub(crate) enum FrameEncoder {
    /// G.711 µ-law.
    Pcmu,
    /// G.711 A-law.
    Pcma,
    /// Opus at 48 kHz.
    Opus(Box<(Resampler, OpusEncoder, [i16; 960])>),
}

impl FrameEncoder {
    /// An encoder for `codec`; `None` for one the switch cannot encode.
    pub(crate) fn new(codec: CodecKind) -> Option<FrameEncoder> {
        match codec {
            CodecKind::Pcmu => Some(FrameEncoder::Pcmu),
            CodecKind::Pcma => Some(FrameEncoder::Pcma),
            CodecKind::Opus => {
                let up = Resampler::new(SampleRate::Hz8000, SampleRate::Hz48000).ok()?;
                let enc = OpusEncoder::new(SampleRate::Hz48000, OpusConfig::default()).ok()?;
                Some(FrameEncoder::Opus(Box::new((up, enc, [0; 960]))))
            }
            CodecKind::TelephoneEvent => None,
        }
    }

    /// Encodes one 20 ms frame into `out`; the payload length.
    pub(crate) fn encode(&mut self, frame: &[i16; FRAME_8K], out: &mut [u8]) -> Option<usize> {
        match self {
            FrameEncoder::Pcmu => crate::dsp::g711::encode_ulaw(frame, out).ok(),
            FrameEncoder::Pcma => crate::dsp::g711::encode_alaw(frame, out).ok(),
            FrameEncoder::Opus(state) => {
                let (up, enc, wide) = &mut **state;
                up.process(frame, wide).ok()?;
                enc.encode(wide, out).ok()
            }
        }
    }
}

/// Music towards one held leg: position in the track, the music stream's
/// own sequence and timestamp (the leg's rewriter maps them into the leg's
/// continuous stream), and the encoder for the leg's codec.
pub(crate) struct MusicPlayer {
    pos: usize,
    seq: u16,
    ts: u32,
    pt: u8,
    ts_step: u32,
    encoder: Option<FrameEncoder>,
    frame: [i16; FRAME_8K],
    payload: [u8; 1500],
    /// A prompt or announcement playing (8 kHz samples, shared; position
    /// in it), before `after`.
    prompt: Option<(Arc<[i16]>, usize)>,
    /// What plays when no prompt does (issue 14: music or silence).
    after: AfterPrompt,
}

impl MusicPlayer {
    /// A player for a leg with `audio`, its packets numbered from `seq` and
    /// `ts` (random per RFC 3550 §5.1; the caller draws them).
    pub(crate) fn new(audio: &LegAudio, seq: u16, ts: u32) -> MusicPlayer {
        MusicPlayer {
            pos: 0,
            seq,
            ts,
            pt: audio.send_pt,
            ts_step: audio.clock_rate / 50,
            encoder: FrameEncoder::new(audio.codec),
            frame: [0; FRAME_8K],
            payload: [0; 1500],
            prompt: None,
            after: AfterPrompt::Music,
        }
    }

    /// Plays `samples` (8 kHz) from the next packet, then what played
    /// before it (music from where it stopped, or silence): a queue
    /// announcement replaces any prompt still playing.
    pub(crate) fn play_prompt(&mut self, samples: Vec<i16>) {
        self.prompt = Some((Arc::from(samples), 0));
    }

    /// Issue 14: plays `samples` (8 kHz) exactly from the next packet (the
    /// last one padded with silence), then `then` until the next prompt;
    /// replaces any prompt playing; empty `samples` switch to `then` at once.
    pub(crate) fn play(&mut self, samples: Arc<[i16]>, then: AfterPrompt) {
        self.after = then;
        self.prompt = (!samples.is_empty()).then_some((samples, 0));
    }

    /// Forgets any prompt and its `then`: music again (the leg was released).
    pub(crate) fn forget_prompt(&mut self) {
        self.prompt = None;
        self.after = AfterPrompt::Music;
    }

    /// Writes the next 20 ms music packet into `buf`; its length.
    pub(crate) fn next_packet(&mut self, music: &HoldMusic, buf: &mut [u8]) -> Option<usize> {
        match self.prompt.as_mut() {
            Some((samples, at)) => {
                let end = (*at + FRAME_8K).min(samples.len());
                let n = end.saturating_sub(*at);
                self.frame[..n].copy_from_slice(&samples[*at..end]);
                self.frame[n..].fill(0);
                *at = end;
                if end >= samples.len() {
                    self.prompt = None;
                }
            }
            None => match self.after {
                AfterPrompt::Music => self.pos = music.frame(self.pos, &mut self.frame),
                AfterPrompt::Silence => self.frame.fill(0),
            },
        }
        let n = self.encoder.as_mut()?.encode(&self.frame, &mut self.payload)?;
        let fields = crate::rtp::RtpFields {
            marker: false,
            payload_type: self.pt,
            sequence: self.seq,
            timestamp: self.ts,
            ssrc: MUSIC_SSRC,
        };
        self.seq = self.seq.wrapping_add(1);
        self.ts = self.ts.wrapping_add(self.ts_step);
        crate::rtp::packet::write_packet(buf, &fields, &self.payload[..n]).ok()
    }
}
