//! What a held bridge party hears (spec CALL-HOLD-1: music on hold; issue 9:
//! a held party "hears music, is heard by nobody").
//!
//! The bridge pulls one 20 ms frame at 8 kHz per tick from its
//! [`MusicSource`], once for all its held parties, and upsamples it for
//! wideband listeners. The source is the caller's choice: the switch's
//! embedded hold-music track ([`HoldTrack`], the same one
//! `media::music` plays on two-party calls), a tone (any
//! [`ToneGenerator`], handy in tests), or [`Silence`].

use std::sync::Arc;

use crate::dsp::tone::ToneGenerator;
use crate::media::music::{HoldMusic, FRAME_8K};

/// Samples of one music frame: 20 ms at 8 kHz (RFC 3551 §4.5.14 narrowband rate).
pub const MUSIC_FRAME: usize = FRAME_8K;

/// A source of hold music for a bridge: one 20 ms frame at 8 kHz per call,
/// continuing where the last one stopped.
pub trait MusicSource: Send {
    /// Writes the next 20 ms of music (160 samples at 8 kHz) into `out`.
    fn next_frame(&mut self, out: &mut [i16; MUSIC_FRAME]);
}

/// A tone as hold music (e.g. a test signal).
impl MusicSource for ToneGenerator {
    fn next_frame(&mut self, out: &mut [i16; MUSIC_FRAME]) {
        self.fill(out);
    }
}

/// Silence as hold music.
#[derive(Clone, Copy, Debug, Default)]
pub struct Silence;

impl MusicSource for Silence {
    fn next_frame(&mut self, out: &mut [i16; MUSIC_FRAME]) {
        out.fill(0);
    }
}

/// The switch's hold-music track (`media/hold-music.wav`, embedded), looped
/// from its start.
pub struct HoldTrack {
    track: Arc<HoldMusic>,
    pos: usize,
}

impl std::fmt::Debug for HoldTrack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HoldTrack")
            .field("pos", &self.pos)
            .finish_non_exhaustive()
    }
}

impl HoldTrack {
    /// The embedded track, decoded now (silence if it cannot be decoded).
    pub fn embedded() -> HoldTrack {
        HoldTrack::shared(Arc::new(HoldMusic::embedded()))
    }

    /// A track already decoded (the media workers' copy), from its start.
    pub fn shared(track: Arc<HoldMusic>) -> HoldTrack {
        HoldTrack { track, pos: 0 }
    }
}

impl MusicSource for HoldTrack {
    fn next_frame(&mut self, out: &mut [i16; MUSIC_FRAME]) {
        self.pos = self.track.frame(self.pos, out);
    }
}
