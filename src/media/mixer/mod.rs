//! The conference mixer (issue 9, deliverable 1): a [`Bridge`] of up to 8
//! parties (spec CALL-CONF-1) over 20 ms frames, for consult, conference,
//! barge and whisper (SUP-2) and meet-me rooms.
//!
//! Sans-IO (DESIGN.md): packets and `now` come in as arguments
//! ([`Bridge::push`], [`Bridge::tick`]), packets come out
//! ([`Bridge::poll_packet`]); no clock, no socket. The media session calls
//! `push` for each latched packet of a party, `tick` every 20 ms, and
//! drains every party's packets.
//!
//! Design choices:
//!
//! - **Inputs.** Each party has its own [`Receiver`](crate::media::pipeline::Receiver),
//!   the receive half of the transcoding pipeline: adaptive 40–200 ms jitter
//!   buffer (RFC 3550 §A.8), Opus PLC and in-band FEC (RFC 6716 §4.4, RFC
//!   7587 §3.3), G.711 repeat-and-fade, optional noise removal
//!   (CALL-NOISE-1). Every tick takes exactly one frame from every
//!   receiver: a late or lost packet is concealed (then, after ~60 ms for
//!   G.711 and 100 ms for Opus, silence) and never delays the others; a
//!   party that has not sent yet is silence. RFC 4733 events are not mixed
//!   (counted in [`PartyStats::events_ignored`]).
//! - **Mix rate.** 8 kHz while every party is G.711; 16 kHz (wideband) as
//!   soon as one Opus party is present, back to 8 kHz when the last leaves.
//!   Opus parties decode and encode at 16 kHz directly (libopus, RFC 6716
//!   §2: no resampler), so Opus parties hear each other up to 8 kHz; G.711
//!   parties are brought up to 16 kHz and their mix back down to 8 kHz with
//!   the cheap halfband FIR of [`crate::dsp::polyphase`] (1 ms each way),
//!   whose stopband removes what G.711 cannot carry instead of folding it.
//!   Not 48 kHz: the speech phones send has little energy above 8 kHz,
//!   and fullband would triple the jitter-buffer, concealment, mixing and
//!   limiter work and put two resampling stages (8 ↔ 16 ↔ 48 kHz) on every
//!   G.711 party, for no gain a conference listener hears (libopus's
//!   encoder, the largest cost, measured about the same either way).
//! - **Mix-minus in O(N).** The talkers' inputs are summed once in `i32`;
//!   each listener gets the total minus its own input (exact, so it never
//!   hears itself), plus whoever whispers to it.
//! - **Limiter.** Per listener, [`crate::dsp::limiter::Limiter`]: the `i32`
//!   mix is gain-ridden per frame to a −2.5 dBFS knee (1 ms attack, 200 ms
//!   release) and bent by a soft knee that never reaches full scale: two
//!   loud talkers are neither wrapped nor hard clipped; a mix under the
//!   knee passes bit-exact.
//! - **Modes** ([`PartyMode`]): a talker is heard by everybody else; a
//!   muted or listen-only party (silent monitor) hears the mix and is heard
//!   by nobody; a whisperer (coach) is heard by its one target only and
//!   hears the talkers; a held party hears hold music and is heard by
//!   nobody (CALL-HOLD-1). A whisper whose target left is heard by nobody.
//!   Parties talking aside (a consult from a conference) form a second,
//!   private mix: they hear only each other and are heard only by each
//!   other, while the others talk on.
//! - **Hold music.** One [`MusicSource`] per bridge, pulled once per tick
//!   (8 kHz) when someone is held and upsampled for wideband listeners: all
//!   held parties of a bridge hear the same music.
//! - **Output.** Every listener gets one packet per tick from the tick it
//!   joined, in its own codec and payload type, as ONE continuous RTP
//!   stream (RFC 3550 §5.1): the SSRC, sequence number and timestamp given
//!   at [`Bridge::add_party`] (the next values of the stream the relay path
//!   was sending), +1 and +one frame per packet across joins, leaves, mode
//!   changes and hold, so a move relay → bridge → relay has no sequence
//!   jump ([`Bridge::remove_party`] hands the next values back). The marker
//!   bit is set on the first packet and when the feed switches between mix
//!   and music (a new talk spurt, RFC 3550 §5.1).
//! - **Cost.** Nothing allocates per tick; only joins, leaves and a mix
//!   rate change do. Figures: `cargo bench --bench mixer` (README).

#![deny(missing_docs)]

mod music;
mod party;

use std::time::Instant;

use crate::dsp::polyphase::PolyphaseResampler;
use crate::dsp::{DspError, SampleRate};
use crate::media::pipeline::{LegFormat, PipelineError, PipelineOptions, ReceiveStats};
use crate::sdp::CodecKind;

pub use music::{HoldTrack, MusicSource, Silence, MUSIC_FRAME};
use party::Party;

/// Most parties on one bridge, customer and initiator included (spec CALL-CONF-1).
pub const MAX_PARTIES: usize = 8;

/// The mix rate when an Opus party is present (wideband; see the module docs).
const WIDEBAND: SampleRate = SampleRate::Hz16000;

/// A party on a [`Bridge`], unique for the bridge's life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PartyId(pub u32);

impl std::fmt::Display for PartyId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "party {}", self.0)
    }
}

/// What a party says and hears (issue 9; SUP-2 monitor, whisper and barge;
/// CALL-HOLD-1 hold).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum PartyMode {
    /// Heard by every other party; hears everybody but itself.
    #[default]
    Talk,
    /// Heard by nobody; hears the talkers (a party that muted itself).
    Muted,
    /// Heard by nobody; hears the talkers (a silent monitor, SUP-2).
    ListenOnly,
    /// Heard by `to` only (coaching, SUP-2); hears the talkers.
    Whisper {
        /// The one party who hears the whisper.
        to: PartyId,
    },
    /// Hears hold music; heard by nobody (CALL-HOLD-1).
    Held,
    /// Talks aside: heard only by the other `Aside` parties and hears only
    /// them (an agent consulting from a conference while the others talk
    /// on, CALL-CONSULT-4).
    Aside,
}

/// An outgoing RTP stream's identity and the values of its next packet
/// (RFC 3550 §5.1): given at [`Bridge::add_party`] to continue the stream
/// the party was receiving, read back at [`Bridge::remove_party`] to
/// continue it after the bridge.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct StreamState {
    /// The stream's SSRC.
    pub ssrc: u32,
    /// The sequence number of the next packet.
    pub sequence: u16,
    /// The timestamp of the next packet (the codec's clock: 8 kHz G.711, 48 kHz Opus).
    pub timestamp: u32,
}

/// How a [`Bridge`] is set up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BridgeConfig {
    /// Most parties at once: 1 to [`MAX_PARTIES`] (spec CALL-CONF-1; a
    /// meet-me room may allow fewer). Out-of-range values are clamped.
    pub max_parties: usize,
}

impl Default for BridgeConfig {
    fn default() -> Self {
        BridgeConfig {
            max_parties: MAX_PARTIES,
        }
    }
}

/// Counters of one party on a bridge.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct PartyStats {
    /// What its receiver did (RFC 3550 §6.4.1 loss and jitter in `receive.jitter`).
    pub receive: ReceiveStats,
    /// Packets handed out by [`Bridge::poll_packet`].
    pub packets_out: u64,
    /// Packets dropped because they were not polled in time or did not fit the buffer.
    pub queue_overflows: u64,
    /// Frames that failed to encode (the timeline still advanced).
    pub encode_errors: u64,
    /// RFC 4733 telephone-event packets received and not mixed.
    pub events_ignored: u64,
    /// The gain the limiter applied at the end of the last frame (1.0: not limiting).
    pub limiter_gain: f32,
}

/// Why a bridge refused a request.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MixerError {
    /// A party beyond the bridge's maximum (spec CALL-CONF-1).
    #[error("the conference is full: at most {max} parties (CALL-CONF-1)")]
    Full {
        /// The bridge's maximum.
        max: usize,
    },
    /// The party is not (or no longer) on this bridge.
    #[error("{party} is not in this conference")]
    UnknownParty {
        /// The party asked for.
        party: PartyId,
    },
    /// A whisper must go to another party of the same conference (SUP-2).
    #[error("{party} cannot whisper to {to}: not another party of this conference")]
    WhisperTarget {
        /// The whispering party.
        party: PartyId,
        /// The target asked for.
        to: PartyId,
    },
    /// The codec carries no audio the bridge can mix.
    #[error("{codec:?} cannot be mixed in a conference")]
    Codec {
        /// The codec given.
        codec: CodecKind,
    },
    /// The party's media format was refused (clock rate, payload types).
    #[error("the party's media format cannot be mixed: {0}")]
    Format(#[from] PipelineError),
    /// A codec could not be set up.
    #[error("the party's codec could not be set up: {0}")]
    Dsp(#[from] DspError),
}

/// A conference bridge: N parties in, one mix-minus stream per party out.
/// See the module docs for the behaviour and the RFCs.
pub struct Bridge {
    max_parties: usize,
    parties: Vec<Party>,
    next_id: u32,
    rate: SampleRate,
    /// Σ of the talkers' inputs at the mix rate.
    total: Vec<i32>,
    /// Σ of the `Aside` parties' inputs (a second, private mix).
    aside: Vec<i32>,
    /// One listener's mix.
    mix: Vec<i32>,
    /// [`Bridge::others_8k`]'s frame at the mix rate, and its downsampler.
    rec: Vec<i16>,
    rec_down: Option<PolyphaseResampler>,
    music: Box<dyn MusicSource>,
    music_8k: [i16; MUSIC_FRAME],
    music_wide: Vec<i16>,
    music_up: PolyphaseResampler,
}

impl std::fmt::Debug for Bridge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bridge")
            .field("max_parties", &self.max_parties)
            .field("rate", &self.rate)
            .field(
                "parties",
                &self.parties.iter().map(|p| (p.id, p.mode)).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl Bridge {
    /// An empty bridge mixing at 8 kHz, playing `music` to held parties.
    pub fn new(config: BridgeConfig, music: Box<dyn MusicSource>) -> Bridge {
        let rate = SampleRate::Hz8000;
        let n = rate.frame_20ms();
        Bridge {
            max_parties: config.max_parties.clamp(1, MAX_PARTIES),
            parties: Vec::with_capacity(MAX_PARTIES),
            next_id: 1,
            rate,
            total: vec![0; n],
            aside: vec![0; n],
            rec: vec![0; n],
            rec_down: None,
            mix: vec![0; n],
            music,
            music_8k: [0; MUSIC_FRAME],
            music_wide: vec![0; WIDEBAND.frame_20ms()],
            music_up: PolyphaseResampler::new(SampleRate::Hz8000, WIDEBAND),
        }
    }

    /// The rate the bridge mixes at now: 8 kHz, or 16 kHz with an Opus party.
    pub fn mix_rate(&self) -> SampleRate {
        self.rate
    }

    /// Parties on the bridge.
    pub fn len(&self) -> usize {
        self.parties.len()
    }

    /// No party is on the bridge.
    pub fn is_empty(&self) -> bool {
        self.parties.is_empty()
    }

    /// The parties, in the order they joined.
    pub fn parties(&self) -> impl Iterator<Item = PartyId> + '_ {
        self.parties.iter().map(|p| p.id)
    }

    fn index(&self, party: PartyId) -> Result<usize, MixerError> {
        self.parties
            .iter()
            .position(|p| p.id == party)
            .ok_or(MixerError::UnknownParty { party })
    }

    /// Adds a talking party whose leg has `format` (codec, payload types),
    /// its outgoing stream continuing `stream`. See
    /// [`Bridge::add_party_with`].
    ///
    /// # Errors
    /// As [`Bridge::add_party_with`].
    pub fn add_party(&mut self, format: LegFormat, stream: StreamState) -> Result<PartyId, MixerError> {
        self.add_party_with(format, stream, PipelineOptions::default())
    }

    /// Adds a talking party with receive options (noise removal,
    /// CALL-NOISE-1). Its first packet goes out at the next tick with
    /// `stream`'s sequence number and timestamp and the marker bit. An Opus
    /// party on an 8 kHz bridge takes the bridge to 16 kHz.
    ///
    /// # Errors
    /// [`MixerError::Full`] when the bridge already has its maximum (spec
    /// CALL-CONF-1); [`MixerError::Codec`], [`MixerError::Format`] or
    /// [`MixerError::Dsp`] for a format the bridge cannot mix.
    pub fn add_party_with(
        &mut self,
        format: LegFormat,
        stream: StreamState,
        opts: PipelineOptions,
    ) -> Result<PartyId, MixerError> {
        if self.parties.len() >= self.max_parties {
            return Err(MixerError::Full { max: self.max_parties });
        }
        let id = PartyId(self.next_id);
        let rate = if format.codec == CodecKind::Opus {
            WIDEBAND
        } else {
            self.rate
        };
        let party = Party::new(id, format, stream, opts, WIDEBAND, rate)?;
        self.next_id = self.next_id.wrapping_add(1);
        self.parties.push(party);
        self.retune();
        Ok(id)
    }

    /// Takes `party` off the bridge and returns its stream's next values (to
    /// continue it on the relay path). Whisperers to it are then heard by
    /// nobody. Removing the last Opus party takes the bridge back to 8 kHz.
    ///
    /// # Errors
    /// [`MixerError::UnknownParty`].
    pub fn remove_party(&mut self, party: PartyId) -> Result<StreamState, MixerError> {
        let i = self.index(party)?;
        let p = self.parties.remove(i);
        self.retune();
        Ok(p.stream())
    }

    /// Sets what `party` says and hears from the next tick on.
    ///
    /// # Errors
    /// [`MixerError::UnknownParty`]; [`MixerError::WhisperTarget`] for a
    /// whisper to itself or to a party not on the bridge.
    pub fn set_mode(&mut self, party: PartyId, mode: PartyMode) -> Result<(), MixerError> {
        let i = self.index(party)?;
        if let PartyMode::Whisper { to } = mode {
            if to == party || self.index(to).is_err() {
                return Err(MixerError::WhisperTarget { party, to });
            }
        }
        self.parties[i].mode = mode;
        Ok(())
    }

    /// What `party` says and hears.
    pub fn mode(&self, party: PartyId) -> Option<PartyMode> {
        self.parties.iter().find(|p| p.id == party).map(|p| p.mode)
    }

    /// `party`'s outgoing stream: SSRC, next sequence number and timestamp.
    pub fn stream(&self, party: PartyId) -> Option<StreamState> {
        self.parties.iter().find(|p| p.id == party).map(|p| p.stream())
    }

    /// `party`'s counters.
    pub fn stats(&self, party: PartyId) -> Option<PartyStats> {
        self.parties.iter().find(|p| p.id == party).map(|p| p.stats())
    }

    /// A latched RTP packet (RFC 3550 §5.1) from `party` arrived at `now`:
    /// audio goes into its jitter buffer; malformed packets are counted and
    /// dropped, never panic.
    ///
    /// # Errors
    /// [`MixerError::UnknownParty`].
    pub fn push(&mut self, party: PartyId, packet: &[u8], now: Instant) -> Result<(), MixerError> {
        let i = self.index(party)?;
        self.parties[i].push(packet, now);
        Ok(())
    }

    /// The mix rate the parties need: wideband with an Opus party.
    fn retune(&mut self) {
        let rate = if self.parties.iter().any(|p| p.format.codec == CodecKind::Opus) {
            WIDEBAND
        } else {
            SampleRate::Hz8000
        };
        self.rate = rate;
        let n = rate.frame_20ms();
        self.total.resize(n, 0);
        self.aside.resize(n, 0);
        self.mix.resize(n, 0);
        for p in &mut self.parties {
            p.retune(rate);
        }
    }

    /// One 20 ms frame for everybody (RFC 3551 §4.2 pacing), called every
    /// 20 ms: takes one frame from every party's jitter buffer (concealing
    /// what is missing), mixes, and queues one packet per party: its
    /// mix-minus, or music when held.
    pub fn tick(&mut self, now: Instant) {
        let Bridge {
            parties,
            total,
            aside,
            mix,
            music,
            music_8k,
            music_wide,
            music_up,
            ..
        } = self;
        // Inputs: every receiver keeps pace; only heard inputs are resampled.
        for p in parties.iter_mut() {
            let heard = matches!(p.mode, PartyMode::Talk | PartyMode::Whisper { .. } | PartyMode::Aside);
            p.pull(now, heard);
        }
        total.fill(0);
        for p in parties.iter().filter(|p| p.mode == PartyMode::Talk) {
            for (t, &s) in total.iter_mut().zip(&p.input) {
                *t += i32::from(s);
            }
        }
        let any_aside = parties.iter().any(|p| p.mode == PartyMode::Aside);
        if any_aside {
            aside.fill(0);
            for p in parties.iter().filter(|p| p.mode == PartyMode::Aside) {
                for (t, &s) in aside.iter_mut().zip(&p.input) {
                    *t += i32::from(s);
                }
            }
        }
        // Music, once for all held parties.
        let mut held = parties.iter().filter(|p| p.mode == PartyMode::Held).peekable();
        let any_held = held.peek().is_some();
        let wide_held = held.any(|p| p.native != SampleRate::Hz8000);
        if any_held {
            music.next_frame(music_8k);
            if wide_held && music_up.process(&music_8k[..], music_wide).is_err() {
                music_wide.fill(0);
            }
        }
        for i in 0..parties.len() {
            let (id, mode) = (parties[i].id, parties[i].mode);
            if mode == PartyMode::Held {
                let p = &mut parties[i];
                let frame: &[i16] = if p.native == SampleRate::Hz8000 {
                    &music_8k[..]
                } else {
                    music_wide
                };
                p.send_music(frame);
                continue;
            }
            mix.copy_from_slice(if mode == PartyMode::Aside { aside } else { total });
            if mode == PartyMode::Talk || mode == PartyMode::Aside {
                for (m, &s) in mix.iter_mut().zip(&parties[i].input) {
                    *m -= i32::from(s);
                }
            }
            for w in parties.iter().filter(|w| w.mode == PartyMode::Whisper { to: id }) {
                for (m, &s) in mix.iter_mut().zip(&w.input) {
                    *m += i32::from(s);
                }
            }
            let prompt = &mut parties[i].prompt;
            let n = mix.len().min(prompt.len());
            for (m, s) in mix.iter_mut().zip(prompt.drain(..n)) {
                *m += i32::from(s);
            }
            parties[i].send_mix(mix);
        }
    }

    /// What every party heard by someone says this tick, `except` one, at
    /// 8 kHz (a recording's "everyone else" channel, CALL-REC-1): the talkers',
    /// whisperers' and asides' inputs summed and saturated (no limiter: a
    /// recording keeps the levels as said). Call after [`Bridge::tick`].
    pub fn others_8k(&mut self, except: Option<PartyId>, out: &mut [i16]) -> Result<(), MixerError> {
        let heard = |m: PartyMode| matches!(m, PartyMode::Talk | PartyMode::Whisper { .. } | PartyMode::Aside);
        self.mix.fill(0);
        for p in self.parties.iter().filter(|p| Some(p.id) != except && heard(p.mode)) {
            for (m, &s) in self.mix.iter_mut().zip(&p.input) {
                *m += i32::from(s);
            }
        }
        let rate = self.rate;
        self.rec.resize(self.mix.len(), 0);
        for (r, &m) in self.rec.iter_mut().zip(&self.mix) {
            *r = m.clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16;
        }
        if rate == SampleRate::Hz8000 {
            let n = out.len().min(self.rec.len());
            out[..n].copy_from_slice(&self.rec[..n]);
            return Ok(());
        }
        let down = self
            .rec_down
            .get_or_insert_with(|| PolyphaseResampler::new(rate, SampleRate::Hz8000));
        down.process(&self.rec, out)?;
        Ok(())
    }

    /// `party`'s jitter buffer's current target delay (RFC 3550 §A.8): the
    /// part of the bridge's latency spent absorbing jitter.
    pub fn jitter_delay(&self, party: PartyId) -> Option<std::time::Duration> {
        let i = self.index(party).ok()?;
        Some(self.parties[i].jitter_delay())
    }

    /// Plays `pcm` (at [`Bridge::mix_rate`]) to `party` only, over what it
    /// hears, from the next tick (SUP-2: the tone a customer hears when a
    /// supervisor barges in). A held party hears it after its hold.
    pub fn play(&mut self, party: PartyId, pcm: &[i16]) -> Result<(), MixerError> {
        let i = self.index(party)?;
        self.parties[i].prompt.extend(pcm.iter().copied());
        Ok(())
    }

    /// Writes the next RTP packet `party` must be sent into `out` (size it
    /// [`MAX_OUT_PACKET`](crate::media::pipeline::MAX_OUT_PACKET)) and
    /// returns its length; `None` when nothing is queued or the party is
    /// unknown. A packet longer than `out` is dropped and counted.
    pub fn poll_packet(&mut self, party: PartyId, out: &mut [u8]) -> Option<usize> {
        let i = self.index(party).ok()?;
        self.parties[i].poll_packet(out)
    }
}
