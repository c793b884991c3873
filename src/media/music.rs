//! Music on hold (issue 3 item 4): the track shipped in `media/`
//! (`hold-music.wav`, 8 kHz 16-bit mono, made by
//! `examples/make_hold_music.rs`) is embedded in the binary, decoded once,
//! looped, and encoded 20 ms at a time to the held leg's codec.

use crate::sdp::CodecKind;

/// The embedded track, decoded.
pub(crate) struct HoldMusic {
    samples: Vec<i16>,
}

static TRACK: &[u8] = include_bytes!("../../media/hold-music.wav");

impl HoldMusic {
    /// Samples per 20 ms frame at 8 kHz (one G.711 packet).
    pub(crate) const FRAME: usize = 160;

    /// The embedded track; silence if it cannot be decoded (never panics).
    pub(crate) fn embedded() -> HoldMusic {
        let samples = hound::WavReader::new(std::io::Cursor::new(TRACK))
            .ok()
            .filter(|r| r.spec().sample_rate == 8000 && r.spec().channels == 1 && r.spec().bits_per_sample == 16)
            .map(|mut r| r.samples::<i16>().filter_map(Result::ok).collect::<Vec<_>>())
            .filter(|s| s.len() >= Self::FRAME)
            .unwrap_or_else(|| {
                tracing::error!("embedded hold music unreadable: playing silence");
                vec![0; Self::FRAME]
            });
        HoldMusic { samples }
    }

    /// Encodes the frame starting at sample `pos` (wrapping at the end of
    /// the track) into `out`; returns the next position, or `None` for a
    /// codec music is not encoded to yet (Opus).
    pub(crate) fn encode_frame(&self, pos: usize, codec: CodecKind, out: &mut [u8; Self::FRAME]) -> Option<usize> {
        let mut frame = [0i16; Self::FRAME];
        for (i, s) in frame.iter_mut().enumerate() {
            *s = self.samples[(pos + i) % self.samples.len()];
        }
        let ok = match codec {
            CodecKind::Pcmu => crate::dsp::g711::encode_ulaw(&frame, out).is_ok(),
            CodecKind::Pcma => crate::dsp::g711::encode_alaw(&frame, out).is_ok(),
            _ => false,
        };
        ok.then_some((pos + Self::FRAME) % self.samples.len())
    }
}
