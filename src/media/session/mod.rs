//! One anchored call's media, in two parts (DESIGN.md "pure cores, thin
//! drivers"):
//!
//! - [`SessionCore`] (`core.rs`, with `leg.rs`, `reports.rs`, `transmit.rs`):
//!   a sans-IO state machine. Packets, commands and time come in
//!   ([`SessionCore::handle_command`], [`SessionCore::handle_rtp`],
//!   [`SessionCore::handle_rtcp`], [`SessionCore::handle_timeout`]); packets
//!   to send ([`SessionCore::poll_transmit`]), events for the I/O edge
//!   ([`SessionCore::poll_event`]) and the next deadline
//!   ([`SessionCore::poll_timeout`]) come out. It never reads the clock,
//!   never touches a socket or a file, and draws every random number (SSRCs,
//!   initial sequence numbers and timestamps, RTCP intervals) from a
//!   generator seeded at construction, so its rules are tested in virtual
//!   time (`tests/media_session/`).
//! - the pump (`pump.rs`): a thin tokio task owning the call's sockets. It
//!   reads datagrams and commands, feeds them to the core, sends what the
//!   core yields, sleeps until the core's deadline, and does the recording's
//!   file I/O. Nothing else.
//!
//! What the core does, per leg: what arrives passes the leg's latch
//! (symmetric RTP with the anti-hijack rule of [`crate::rtp::latch`]) and
//! then reaches the other leg by one of two paths:
//!
//! - **relay** (same codec, no noise removal): the packet is rewritten in
//!   place by the other leg's [`crate::rtp::StreamRewriter`] and queued for
//!   sending at once, with no decoding and no allocation (the transmit queue
//!   reuses its buffers);
//! - **pipeline** (different codecs, or noise removal on): the packet goes
//!   into a [`crate::media::pipeline::Pipeline`] (jitter buffer, decode, loss
//!   concealment, noise removal, resampling, encode) that emits a 20 ms
//!   packet per tick; RFC 4733 events are translated and sent as they arrive.
//!
//! Everything a leg receives — relayed, transcoded, music on hold — passes
//! that leg's one rewriter, so it sees one continuous SSRC / sequence /
//! timestamp stream across source changes (RFC 3550 §5.1, §8).
//!
//! While a leg is held it hears music (CALL-HOLD-1) and neither leg hears
//! the other.
//!
//! **Prompts and keys** (issue 14 entry points): a caller in an entry
//! point's flow, answered with early media like a queued caller, is the
//! held leg of its pair, so it hears the switch. [`SessionCommand::Prompt`]
//! plays it exactly the prompt's samples from the next tick, then music
//! or encoded silence until the next prompt (an empty prompt stops the one
//! playing at once; a prompt to a leg that is not held is dropped); the
//! RFC 4733 events it sends go to its detector and come out once per key
//! press as [`SessionEvent::Digit`], and nothing it sends is relayed. A recording (CALL-REC-1) taps each leg's decoded audio (what
//! that party says, after noise removal) at 8 kHz every 20 ms. RTCP: each
//! leg gets a sender report about the stream the switch sends it, with a
//! report block about the stream it sends the switch (loss, jitter,
//! LSR/DLSR); the first after 1.25–3.75 s (RFC 3550 §6.2's halved initial
//! interval, randomised ×0.5–1.5 per §6.3.1), then every 2.5–7.5 s (the 5 s
//! minimum, randomised), so phones show true figures for their side of the
//! call; RTCP received from a leg is read for its round-trip time and not
//! relayed (each leg's RTCP describes its own hop).
//!
//! A silent monitor (SUP-2) is a third peer: once its phone answered, every
//! tick sends it the mix of what both legs said (the same decoded 8 kHz
//! frames the recorder reads: relay legs get a decoding tap). Whatever
//! arrives from it only moves its latch and is dropped: the supervisor is
//! never heard. When it whispers or barges in, it becomes a leg of the
//! bridge, and its one outgoing stream (one SSRC, the announced one for a
//! WebRTC supervisor, sequence numbers going on) and its latch go with it,
//! and come back when it listens again.
//!
//! **SRTP** (RFC 3711, SDES keys, issue 11 item 2): a peer whose plan
//! carries keys is SRTP at the core's edge (`secure.rs`): what it sends is
//! authenticated and decrypted before its latch sees it, what the core
//! sends it is encrypted as it is polled. Inside, every path works on plain
//! RTP, so an SRTP leg and a plain leg relay, transcode, record and mix as
//! two plain legs do; an SRTP leg's packet costs one decryption and one
//! encryption more on the way (and an allocation each: `rtc-srtp` returns
//! new buffers).
//!
//! **Recording and file I/O.** The core does no file I/O: it routes the
//! recording through [`SessionEvent`]s — [`SessionEvent::RecordingStarted`]
//! (open the file), one [`SessionEvent::RecordingFrame`] per tick (both
//! sides; silence while paused, so paused audio never leaves the core) and
//! [`SessionEvent::RecordingStopped`] (complete the file). The pump hands
//! them to a [`crate::media::recorder::Recorder`] and, when the file cannot
//! be created or written, tells the core with `RecordAction::Stop`.

mod conference;
mod core;
mod leg;
pub(super) mod pump;
mod reports;
mod secure;
mod transmit;
mod webrtc;

pub use self::core::{SessionCore, SessionStats};
use super::music::HoldMusic;
use super::recorder::{RecordingLayout, FRAME_SAMPLES};
use crate::call::media::{MediaLeg, RecordAction, RelayLeg};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// What a session core is built with.
#[derive(Clone)]
pub struct SessionConfig {
    /// The engine's call number (logs only).
    pub call: u64,
    /// Seed of every random number the core draws: SSRCs and initial
    /// sequence numbers and timestamps (RFC 3550 §5.1), RTCP report
    /// intervals (RFC 3550 §6.3.1). The pump seeds it from the OS.
    pub seed: u64,
    /// The wall clock (time since the Unix epoch) at the `now` given to
    /// [`SessionCore::new`]: the NTP timestamps of sender reports (RFC 3550
    /// §6.4.1) are this plus the time elapsed since.
    pub unix_time: Duration,
    /// The music on hold played to a held leg (CALL-HOLD-1).
    pub music: Arc<HoldMusic>,
    /// The switch's DTLS certificate for WebRTC legs (issue 12); `None`
    /// leaves WebRTC legs without media.
    pub dtls: Option<Arc<crate::webrtc::dtls::DtlsIdentity>>,
}

/// What a session is told after it was prepared (a [`crate::call::media::MediaCommand`]
/// for this call, without sockets).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SessionCommand {
    /// The callee answered: relay or transcode between the two legs.
    Plan {
        /// The caller's leg.
        a: Box<RelayLeg>,
        /// The callee's leg.
        b: Box<RelayLeg>,
    },
    /// A leg re-negotiated its addresses (re-INVITE, UPDATE): its latch opens again.
    Update {
        /// The leg.
        leg: MediaLeg,
        /// Its new RTP address.
        remote: Option<SocketAddr>,
        /// Its new RTCP address.
        remote_rtcp: Option<SocketAddr>,
        /// Its SRTP keys after the exchange (`None`: plain RTP); unchanged
        /// keys keep the SRTP state.
        srtp: Option<crate::rtp::SrtpKeys>,
        /// Its WebRTC transport after the exchange: new ICE credentials
        /// restart ICE and keep DTLS; a new fingerprint or role starts a
        /// new DTLS association; `None` changes nothing.
        webrtc: Option<Box<crate::call::media::WebrtcPlan>>,
    },
    /// The held leg, if any (CALL-HOLD-1): it hears music, nobody hears the other.
    Hold(Option<MediaLeg>),
    /// Recording control (CALL-REC-1).
    Record(RecordAction),
    /// A queue announcement to a leg, played over its music.
    Announce {
        /// The leg that hears it.
        leg: MediaLeg,
        /// Place in line, 1 = next.
        position: u32,
        /// Expected wait in seconds.
        wait_s: u64,
    },
    /// A voice prompt to a held leg (issue 14 entry points): see
    /// [`crate::call::media::MediaCommand::Prompt`].
    Prompt {
        /// The leg that hears it; nothing is played unless it is the held leg of the pair.
        leg: MediaLeg,
        /// 8 kHz samples, played exactly (the last frame padded with silence).
        samples: Arc<[i16]>,
        /// What the leg hears afterwards, until the next prompt.
        then: crate::call::media::AfterPrompt,
    },
    /// The silent monitor's phone answered (SUP-2): feed it the mix.
    MonitorStart(Box<RelayLeg>),
    /// The monitor ended: stop feeding it.
    MonitorStop,
    /// SUP-2: listen (`Muted`), whisper to a leg, or barge in (`Talk`).
    MonitorMode(crate::call::media::PartyMode),
    /// A party leg's phone answered: it joins the call on the bridge (issue 9).
    PartyJoin {
        /// The party leg's index in the call.
        party: usize,
        /// The leg as negotiated.
        leg: Box<RelayLeg>,
        /// What it hears and who hears it.
        mode: crate::call::media::PartyMode,
    },
    /// The legs' modes changed (consult, toggle, merge, post-call).
    PartyModes(Vec<(MediaLeg, crate::call::media::PartyMode)>),
    /// A leg left the call's media (a party, or the caller or callee leaving a conference).
    PartyLeave(MediaLeg),
}

/// A peer of the session: one of the call's legs, or its silent monitor (SUP-2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Peer {
    /// A leg of the call (A: the caller's, B: the callee's).
    Leg(MediaLeg),
    /// The supervisor's phone listening to the call (SUP-2).
    Monitor,
}

/// Which of a peer's sockets a datagram uses (RFC 3550 §11: RTCP on the next port).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SocketKind {
    /// The RTP socket.
    Rtp,
    /// The RTCP socket.
    Rtcp,
}

/// A datagram the core wants sent: through `to`'s `socket`, to `dest`.
/// The payload borrows the core's buffer until the next poll.
#[derive(Debug, PartialEq, Eq)]
pub struct Transmit<'a> {
    /// Whose socket sends it.
    pub to: Peer,
    /// RTP or RTCP.
    pub socket: SocketKind,
    /// Where it goes (the peer's latched or signalled address).
    pub dest: SocketAddr,
    /// The datagram.
    pub payload: &'a [u8],
}

/// What the I/O edge must act on (CALL-REC-1 recording file).
#[derive(Clone, Debug, PartialEq, Eq)]
// Frames travel by value so that recording allocates nothing per tick; the
// queue rarely holds more than one.
#[allow(clippy::large_enum_variant)]
pub enum SessionEvent {
    /// Create the recording `<recordings dir>/<name>.wav` with `layout`.
    RecordingStarted {
        /// File stem, as the engine named it.
        name: String,
        /// Stereo or mixed.
        layout: RecordingLayout,
    },
    /// 20 ms of the recording: what the customer (leg A) and the other side
    /// said, at 8 kHz; silence while the recording is paused (CALL-REC-1).
    RecordingFrame {
        /// The customer's side (left channel in stereo).
        customer: [i16; FRAME_SAMPLES],
        /// The other side (right channel in stereo).
        other: [i16; FRAME_SAMPLES],
    },
    /// Complete the recording file (rename from its temp name).
    RecordingStopped,
    /// A key pressed on a bridged leg or on the held leg of a pair (RFC
    /// 4733 §2.5.2: reported once, at the event's start): a meet-me room's
    /// PIN (issue 9), an entry point's menu choice (issue 14).
    Digit {
        /// The leg.
        leg: MediaLeg,
        /// `0`-`9`, `*`, `#`, `A`-`D`.
        digit: char,
    },
}
