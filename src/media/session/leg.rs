//! One leg of a planned session: its latch, the one stream the switch sends
//! it (RFC 3550 §8: one SSRC and consecutive sequence numbers whatever the
//! source), how what it says reaches the other leg (relay or pipeline), its
//! reception statistics (RFC 3550 §A.3, §A.8), its decoding tap for the
//! recorder and monitor, and its music player (CALL-HOLD-1).

use crate::call::media::{LegAudio, RelayLeg};
use crate::media::music::{MusicPlayer, FRAME_8K};
use crate::media::pipeline::{AudioTap, LegFormat, Pipeline, PipelineOptions};
use crate::rtp::dtmf::event_to_digit;
use crate::rtp::latch::Latch;
use crate::rtp::rtcp::ReceiverStats;
use crate::rtp::{DtmfEvent, PayloadTypeMap, RewriterConfig, RtpHeader, StreamRewriter};
use rand::rngs::StdRng;
use rand::Rng;
use std::net::SocketAddr;
use std::time::Instant;

/// How what a leg says reaches the other leg.
pub(super) enum Inbound {
    /// Same codec both sides: rewrite and forward at once.
    Relay,
    /// Transcoding or noise removal: jitter buffer, decode, encode per tick.
    Pipeline(Box<Pipeline>),
}

/// One leg once the plan is known.
pub(super) struct Leg {
    pub latch: Latch,
    pub signalled: Option<SocketAddr>,
    pub rtcp_signalled: Option<SocketAddr>,
    /// Where its RTCP came from (used for ours once seen).
    pub rtcp_peer: Option<SocketAddr>,
    pub audio: LegAudio,
    /// Everything sent to this leg.
    pub out: StreamRewriter,
    pub inbound: Inbound,
    /// Reception statistics of this leg's stream (RFC 3550 §A.3, §A.8).
    pub rx: Option<ReceiverStats>,
    /// Decoder for the recording and monitor on the relay path.
    pub tap: Option<Box<AudioTap>>,
    /// Frames of this party the recording still writes as silence after a
    /// resume: the pipeline's jitter buffer holds audio said while paused.
    pub tap_mute: u32,
    pub music: Option<Box<MusicPlayer>>,
    /// Key presses in what this leg sends while bridged (meet-me PINs) or
    /// held (an entry point's menu, issue 14).
    pub dtmf: crate::rtp::DtmfDetector,
    /// Noise removal on what this leg says (CALL-NOISE-1), kept on the bridge.
    pub denoise: bool,
}

impl Leg {
    /// The leg `plan` of a call whose other leg is `other`, at `now`.
    pub fn new(plan: &RelayLeg, other: &RelayLeg, now: Instant, rng: &mut StdRng) -> Leg {
        let out = out_stream(plan, rng);
        let same_codec = plan.audio.codec == other.audio.codec && plan.audio.clock_rate == other.audio.clock_rate;
        let inbound = if same_codec && !plan.denoise {
            Inbound::Relay
        } else {
            match Pipeline::new(
                format_received(&plan.audio),
                format_sent(&other.audio),
                PipelineOptions { denoise: plan.denoise },
            ) {
                Ok(p) => Inbound::Pipeline(Box::new(p)),
                Err(e) => {
                    tracing::error!(error = %e, "media pipeline unavailable: relaying as is");
                    Inbound::Relay
                }
            }
        };
        Leg {
            latch: Latch::new(plan.remote, now),
            signalled: plan.remote,
            rtcp_signalled: plan.remote_rtcp,
            rtcp_peer: None,
            audio: plan.audio,
            out,
            inbound,
            rx: None,
            tap: None,
            tap_mute: 0,
            dtmf: crate::rtp::DtmfDetector::new(),
            denoise: plan.denoise,
            music: None,
        }
    }

    /// Takes over `old`'s outgoing stream (rewriter, with this plan's
    /// payload-type map), its music player and its reception statistics;
    /// its latch too when the signalled address is the same.
    pub fn keep_stream_of(&mut self, old: Leg) {
        let map = std::mem::take(self.out.payload_types_mut());
        self.out = old.out;
        *self.out.payload_types_mut() = map;
        self.music = old.music;
        self.rx = old.rx;
        if old.signalled == self.signalled {
            self.latch = old.latch;
            self.rtcp_peer = old.rtcp_peer;
        }
    }

    /// Where this leg's RTCP goes: where its RTCP came from, else its
    /// signalled RTCP address, else its RTP target's port + 1 (RFC 3550 §11).
    pub fn rtcp_target(&self) -> Option<SocketAddr> {
        self.rtcp_peer.or(self.rtcp_signalled).or_else(|| {
            self.latch
                .target()
                .map(|t| SocketAddr::new(t.ip(), t.port().wrapping_add(1)))
        })
    }

    /// 20 ms of what this leg said, decoded to 8 kHz (silence if nothing).
    pub fn said_8k(&mut self, out: &mut [i16; FRAME_8K]) {
        if self.tap_mute > 0 {
            self.tap_mute -= 1;
            out.fill(0);
            return;
        }
        match (&self.inbound, self.tap.as_mut()) {
            (Inbound::Pipeline(p), _) => out.copy_from_slice(p.tap_8k()),
            (Inbound::Relay, Some(tap)) => tap.pull_8k(out),
            (Inbound::Relay, None) => out.fill(0),
        }
    }

    /// A decoder for the recorder and monitor on the relay path (a pipeline
    /// decodes anyway).
    pub fn add_tap(&mut self) {
        if matches!(self.inbound, Inbound::Relay) && self.tap.is_none() {
            match AudioTap::new(format_received(&self.audio)) {
                Ok(tap) => self.tap = Some(Box::new(tap)),
                Err(e) => tracing::error!(error = %e, "recording tap unavailable: this party is recorded as silence"),
            }
        }
    }

    /// RFC 4733 §2.5.2: feeds packet `packet` (header `h`) to this leg's
    /// detector if it is one of its telephone-events
    /// (`audio.event_recv_pt`); the key whose event it started, if any
    /// (one packet starts at most one event; updates and the three
    /// end-bit retransmissions start none), so each press is reported once.
    pub fn key_pressed(&mut self, h: &RtpHeader, packet: &[u8]) -> Option<char> {
        if Some(h.payload_type) != self.audio.event_recv_pt {
            return None;
        }
        if let Some(payload) = packet.get(h.payload_offset..h.payload_end) {
            let _ = self.dtmf.handle_packet(h.timestamp, payload);
        }
        let mut keyed = None;
        while let Some(ev) = self.dtmf.poll_event() {
            if let DtmfEvent::Start { event, .. } = ev {
                keyed = event_to_digit(event).or(keyed);
            }
        }
        keyed
    }

    /// The leg's music player, made on first use with fresh stream numbers.
    pub fn music_player(&mut self, rng: &mut StdRng) -> &mut MusicPlayer {
        let audio = &self.audio;
        self.music
            .get_or_insert_with(|| Box::new(MusicPlayer::new(audio, rng.random(), rng.random())))
    }
}

/// The one stream the switch sends the peer `plan` (RFC 3550 §8): a random
/// SSRC, or the one a WebRTC leg's SDP announced; random first sequence
/// number and timestamp.
pub(super) fn out_stream(plan: &RelayLeg, rng: &mut StdRng) -> StreamRewriter {
    let mut payload_types = PayloadTypeMap::new();
    for (incoming, outgoing) in &plan.pt_map {
        payload_types.insert(*incoming, *outgoing);
    }
    // What the switch itself produces for this leg is already numbered
    // for it (pipeline output, music, the monitor's mix).
    payload_types.insert(plan.audio.send_pt, plan.audio.send_pt);
    if let Some(pt) = plan.audio.event_send_pt {
        payload_types.insert(pt, pt);
    }
    // A WebRTC leg's SDP announced our SSRC (`a=ssrc`): send with it.
    let ssrc: u32 = rng.random();
    let ssrc = plan.webrtc.as_ref().map_or(ssrc, |w| w.ssrc);
    StreamRewriter::new(RewriterConfig {
        ssrc,
        initial_sequence: rng.random(),
        initial_timestamp: rng.random(),
        clock_rate: plan.audio.clock_rate,
        packet_samples: plan.audio.clock_rate / 50,
        payload_types,
    })
}

/// The format of what arrives from a leg.
pub(super) fn format_received(a: &LegAudio) -> LegFormat {
    LegFormat {
        codec: a.codec,
        pt: a.recv_pt,
        clock_rate: a.clock_rate,
        event_pt: a.event_recv_pt,
        event_clock_rate: a.event_clock_rate.unwrap_or(a.clock_rate),
    }
}

/// The format of what is sent to a leg.
pub(super) fn format_sent(a: &LegAudio) -> LegFormat {
    LegFormat {
        codec: a.codec,
        pt: a.send_pt,
        clock_rate: a.clock_rate,
        event_pt: a.event_send_pt,
        event_clock_rate: a.event_clock_rate.unwrap_or(a.clock_rate),
    }
}
