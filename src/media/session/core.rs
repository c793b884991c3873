//! The session core: one anchored call's media as a sans-IO state machine
//! (see the module docs of [`crate::media::session`] for the rules it
//! implements). No clock, socket, file or OS randomness here: time comes in
//! as `now`, datagrams as slices, the wall clock and the random seed at
//! construction.

use super::leg::{Inbound, Leg};
use super::reports::{self, ReportSchedule};
use super::secure::{Opened, SecurePeers};
use super::transmit::{Route, TxQueue};
use super::webrtc::{EdgeEvent, Received, WebrtcPeers};
use super::{Peer, SessionCommand, SessionConfig, SessionEvent, SocketKind, Transmit};
use crate::call::media::{MediaLeg, RecordAction, RelayLeg};
use crate::media::monitor::MonitorMix;
use crate::media::music::{HoldMusic, FRAME_8K};
use crate::media::recorder::RecordingLayout;
use crate::rtp::latch::{Latch, Verdict};
use crate::rtp::rtcp::{self, ReceiverStats};
use crate::rtp::RtpHeader;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Frame clock of the pipelines, music, monitor and recorder (RFC 3551 §4.2: 20 ms).
const TICK: Duration = Duration::from_millis(20);
/// Packets held per leg between binding and the plan (the caller may start
/// sending the moment it has the 200, racing the plan by microseconds).
const EARLY_PACKETS: usize = 16;
/// Ticks caught up at most when the core is handled late (a starved
/// worker): up to 1 s keeps pipelines and the recording at wall-clock
/// length; a longer stall is skipped rather than sent as a burst.
const MAX_CATCH_UP: u32 = 50;

/// How the call's legs are connected: the media topology.
///
/// Seam for the conference bridge (`src/media/mixer/`, issue 9): a
/// `Bridge` variant will hold the legs as parties of a mixer; each leg's
/// packets then feed its party's input in [`SessionCore::handle_rtp`], and
/// each tick takes every party's mix-minus frame through that leg's
/// rewriter (one stream per leg, as here), in `SessionCore::tick`.
pub(super) enum Topology {
    /// Before the answer: early packets wait for the plan.
    Unplanned {
        early: Vec<(MediaLeg, SocketAddr, Vec<u8>)>,
    },
    /// Two legs, each hearing the other (relayed or transcoded).
    Pair(Box<[Leg; 2]>),
}

/// A recording being made (CALL-REC-1); the file is the pump's.
struct Recording {
    paused: bool,
}

/// A silent monitor's outgoing stream and where it goes (SUP-2).
pub(super) struct MonitorFeed {
    mix: MonitorMix,
    /// Where the supervisor is. While it whispers or barges in, its
    /// bridge leg holds this latch (they swap, see
    /// `SessionCore::swap_supervisor_stream`).
    pub(super) latch: Latch,
    /// The one stream the supervisor receives (RFC 3550 §8; a WebRTC
    /// supervisor's announced SSRC): the mix passes through it here, the
    /// bridge's packets through it while it whispers or barges in.
    pub(super) out: crate::rtp::StreamRewriter,
    /// The supervisor's leg as negotiated (whisper and barge put it on the bridge).
    pub(super) plan: Box<RelayLeg>,
}

/// Counters of a session (logs and tests).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SessionStats {
    /// Packets relayed on the fast path.
    pub relayed: u64,
    /// Packets dropped: before the plan beyond the early buffer, refused by
    /// a latch (RFC 4961 / `rtp::latch`), unmappable, or said while held.
    pub dropped: u64,
    /// Packets the silent monitor sent, dropped (SUP-2).
    pub silenced: u64,
    /// SRTP/SRTCP datagrams refused: failed authentication, replayed, or
    /// sent in clear by an SRTP leg (RFC 3711 §3.3 step 5).
    pub srtp_refused: u64,
    /// Packets the senders sent that never arrived: the sum over every
    /// source the session received of its RFC 3550 §A.3 cumulative loss
    /// (a late packet filling a gap takes one back; a new SSRC starts a new
    /// count, the old one kept).
    pub lost: i64,
    /// Packets that arrived after a later one of their source (reordered).
    pub late: u64,
}

/// Counts packet `h`, arrived at `now`, in a leg's reception statistics
/// `rx` (a new SSRC starts them afresh); returns what it changed of the
/// session's lost and late totals ([`SessionStats::count`]).
pub(super) fn observe(rx: &mut Option<ReceiverStats>, h: &RtpHeader, clock_rate: u32, now: Instant) -> (i64, u64) {
    let rx = rx.get_or_insert_with(|| ReceiverStats::new(h.ssrc, clock_rate));
    if rx.ssrc() != h.ssrc {
        *rx = ReceiverStats::new(h.ssrc, clock_rate);
    }
    let (lost, late) = (rx.cumulative_lost(), rx.late());
    rx.on_packet(h.sequence, h.timestamp, now);
    (rx.cumulative_lost() - lost, rx.late() - late)
}

impl SessionStats {
    /// Adds what [`observe`] found.
    pub(super) fn count(&mut self, (lost, late): (i64, u64)) {
        self.lost += lost;
        self.late += late;
    }
}

/// One anchored call's media as a sans-IO state machine: commands, RTP,
/// RTCP and time in; datagrams, recording events and the next deadline out.
pub struct SessionCore {
    pub(super) call: u64,
    pub(super) rng: StdRng,
    pub(super) start: Instant,
    pub(super) unix_time: Duration,
    pub(super) music: Arc<HoldMusic>,
    pub(super) topology: Topology,
    pub(super) held: Option<MediaLeg>,
    recording: Option<Recording>,
    pub(super) monitor: Option<Box<MonitorFeed>>,
    pub(super) next_tick: Option<Instant>,
    pub(super) reports: ReportSchedule,
    pub(super) tx: TxQueue,
    pub(super) events: VecDeque<SessionEvent>,
    pub(super) stats: SessionStats,
    /// Party legs (consult, conference), by their index in the call.
    pub(super) parties: Vec<(usize, Leg)>,
    /// The bridge, while a party leg is joined.
    pub(super) conf: Option<Box<super::conference::Conference>>,
    /// Each leg's mode as the call core set it.
    pub(super) modes: Vec<(MediaLeg, crate::call::media::PartyMode)>,
    /// The caller or callee legs that left a conference.
    pub(super) left: Vec<MediaLeg>,
    /// The SRTP peers (decrypt on the way in, encrypt on the way out).
    pub(super) secure: SecurePeers,
    /// The last datagram encrypted for [`SessionCore::poll_transmit`].
    sealed: bytes::BytesMut,
    /// The WebRTC peers (ICE, DTLS; issue 12), in front of `secure`.
    pub(super) webrtc: WebrtcPeers,
    /// The last ICE answer or DTLS flight for [`SessionCore::poll_transmit`].
    webrtc_out: Vec<u8>,
}

/// A peer as logs name it.
fn peer_name(peer: Peer) -> &'static str {
    match peer {
        Peer::Leg(MediaLeg::A) => "caller",
        Peer::Leg(MediaLeg::B) => "callee",
        Peer::Leg(MediaLeg::Party(_)) => "party",
        Peer::Monitor => "supervisor",
    }
}

fn idx(leg: MediaLeg) -> Option<usize> {
    match leg {
        MediaLeg::A => Some(0),
        MediaLeg::B => Some(1),
        MediaLeg::Party(_) => None,
    }
}

fn leg_at(i: usize) -> MediaLeg {
    if i == 0 {
        MediaLeg::A
    } else {
        MediaLeg::B
    }
}

/// The two legs as (from, to).
fn pair(legs: &mut [Leg; 2], from: usize) -> (&mut Leg, &mut Leg) {
    let [a, b] = legs;
    if from == 0 {
        (a, b)
    } else {
        (b, a)
    }
}

/// Rewrites `buf[..len]` (a packet the switch produced) into `to`'s stream
/// and queues it; the buffer is then replaced by a free one.
pub(super) fn queue_to_leg(to: &mut Leg, leg: MediaLeg, buf: &mut Vec<u8>, len: usize, now: Instant, tx: &mut TxQueue) {
    queue_to_peer(to, Peer::Leg(leg), buf, len, now, tx);
}

/// [`queue_to_leg`] through `peer`'s socket.
pub(super) fn queue_to_peer(to: &mut Leg, peer: Peer, buf: &mut Vec<u8>, len: usize, now: Instant, tx: &mut TxQueue) {
    let Some(pkt) = buf.get_mut(..len) else { return };
    if to.out.rewrite(pkt, now).is_err() {
        return;
    }
    if let Some(dest) = to.latch.target() {
        let full = std::mem::replace(buf, tx.take());
        let route = Route {
            to: peer,
            socket: SocketKind::Rtp,
            dest,
        };
        tx.push(route, full, len);
    }
}

impl SessionCore {
    /// A session prepared at `now` (its sockets bound, no plan yet); the
    /// RTCP schedule starts here (RFC 3550 §6.2).
    pub fn new(now: Instant, config: SessionConfig) -> SessionCore {
        let mut rng = StdRng::seed_from_u64(config.seed);
        let reports = ReportSchedule::new(now, &mut rng);
        SessionCore {
            call: config.call,
            rng,
            start: now,
            unix_time: config.unix_time,
            music: config.music,
            topology: Topology::Unplanned { early: Vec::new() },
            held: None,
            recording: None,
            monitor: None,
            next_tick: None,
            reports,
            tx: TxQueue::default(),
            events: VecDeque::new(),
            stats: SessionStats::default(),
            parties: Vec::new(),
            conf: None,
            modes: Vec::new(),
            left: Vec::new(),
            secure: SecurePeers::default(),
            sealed: bytes::BytesMut::new(),
            webrtc: WebrtcPeers::new(config.dtls),
            webrtc_out: Vec::new(),
        }
    }

    /// The counters so far.
    pub fn stats(&self) -> SessionStats {
        self.stats
    }

    /// The wall clock at `now` as an NTP timestamp (RFC 3550 §4).
    fn ntp_at(&self, now: Instant) -> u64 {
        rtcp::ntp_from_unix(self.unix_time + now.saturating_duration_since(self.start))
    }

    fn legs_mut(&mut self) -> Option<&mut [Leg; 2]> {
        match &mut self.topology {
            Topology::Pair(legs) => Some(legs),
            Topology::Unplanned { .. } => None,
        }
    }

    /// Adds a decoding tap to each relay leg (the recorder or monitor needs
    /// what each party says).
    fn add_taps(&mut self) {
        if let Some(legs) = self.legs_mut() {
            legs.iter_mut().for_each(Leg::add_tap);
        }
    }

    /// Drops the taps when neither a recording nor a monitor needs them.
    fn drop_unneeded_taps(&mut self) {
        if self.recording.is_some() || self.monitor.is_some() {
            return;
        }
        if let Some(legs) = self.legs_mut() {
            for l in legs.iter_mut() {
                l.tap = None;
            }
        }
    }

    /// A command at `now`.
    pub fn handle_command(&mut self, now: Instant, cmd: SessionCommand) {
        match cmd {
            SessionCommand::Plan { a, b } => self.plan(now, &a, &b),
            SessionCommand::Update {
                leg,
                remote,
                remote_rtcp,
                srtp,
                webrtc,
            } => {
                // A WebRTC leg's keys come from DTLS, not from its SDP.
                let is_webrtc = self.webrtc.is_webrtc(Peer::Leg(leg));
                if let (true, Some(plan)) = (is_webrtc, webrtc) {
                    self.webrtc.update(Peer::Leg(leg), &plan);
                }
                if !is_webrtc {
                    self.secure.set(Peer::Leg(leg), srtp.as_ref());
                }
                let l = match (idx(leg), leg) {
                    (Some(i), _) => self.legs_mut().map(|l| &mut l[i]),
                    (None, MediaLeg::Party(p)) => self.parties.iter_mut().find(|(i, _)| *i == p).map(|(_, l)| l),
                    (None, _) => None,
                };
                // A WebRTC leg's address is ICE's to choose, not its SDP's.
                let l = l.filter(|_| !is_webrtc);
                if let Some(l) = l {
                    if l.signalled != remote {
                        l.signalled = remote;
                        l.latch.resignal(remote, now);
                    }
                    if l.rtcp_signalled != remote_rtcp {
                        l.rtcp_signalled = remote_rtcp;
                        l.rtcp_peer = None;
                    }
                }
            }
            SessionCommand::Hold(held) if self.conf.is_some() => {
                // A call left on the bridge (a transfer's party took over
                // from the answering leg): hold is the held leg's mode there.
                self.bridge_hold(held);
                tracing::debug!(call = self.call, ?held, "hold changed on the bridge");
            }
            SessionCommand::Hold(held) => {
                self.set_held(held);
                tracing::debug!(call = self.call, ?held, "hold changed");
            }
            SessionCommand::Record(action) => self.record(action),
            SessionCommand::Announce { leg, position, wait_s } => {
                if let (Topology::Pair(legs), Some(i)) = (&mut self.topology, idx(leg)) {
                    let prompt = crate::dsp::prompt::queue_announcement(position, wait_s);
                    legs[i].music_player(&mut self.rng).play_prompt(prompt);
                }
            }
            SessionCommand::Prompt { leg, samples, then } => self.prompt(leg, samples, then),
            SessionCommand::MonitorStart(leg) => {
                self.set_security(Peer::Monitor, &leg);
                self.monitor_start(now, &leg);
                self.point_latches_at_ice(now);
            }
            SessionCommand::PartyJoin { party, leg, mode } => {
                let peer = if party == super::conference::SUPERVISOR {
                    Peer::Monitor
                } else {
                    Peer::Leg(MediaLeg::Party(party))
                };
                self.set_security(peer, &leg);
                self.party_join(now, party, &leg, mode);
                self.point_latches_at_ice(now);
            }
            SessionCommand::MonitorMode(mode) => self.monitor_mode(now, mode),
            SessionCommand::PartyModes(modes) => self.party_modes(modes),
            SessionCommand::PartyLeave(leg) => {
                if matches!(leg, MediaLeg::Party(_)) {
                    self.secure.remove(Peer::Leg(leg));
                    self.webrtc.remove(Peer::Leg(leg));
                }
                self.party_leave(leg);
            }
            SessionCommand::MonitorStop => {
                self.secure.remove(Peer::Monitor);
                self.webrtc.remove(Peer::Monitor);
                if self.supervisor_on_bridge() {
                    self.party_leave(MediaLeg::Party(super::conference::SUPERVISOR));
                }
                if self.monitor.take().is_some() {
                    tracing::debug!(call = self.call, silenced = self.stats.silenced, "monitor stopped");
                }
                self.drop_unneeded_taps();
            }
        }
        self.reschedule(now);
    }

    /// The held leg of the pair is now `held`. A leg no longer held forgets
    /// its prompt and what was to follow it, so its next hold plays music
    /// (CALL-HOLD-1) and not an entry point's silence.
    pub(super) fn set_held(&mut self, held: Option<MediaLeg>) {
        if let Topology::Pair(legs) = &mut self.topology {
            for (i, l) in legs.iter_mut().enumerate() {
                if held != Some(leg_at(i)) {
                    if let Some(m) = l.music.as_mut() {
                        m.forget_prompt();
                    }
                }
            }
        }
        self.held = held;
    }

    /// Issue 14: a voice prompt to `leg`, played by its music player from
    /// the next tick, only while it is the held leg of the pair (it hears
    /// the switch); otherwise nothing is played and the prompt is dropped.
    fn prompt(&mut self, leg: MediaLeg, samples: Arc<[i16]>, then: crate::call::media::AfterPrompt) {
        let hears_switch = self.held == Some(leg) && self.conf.is_none();
        match (&mut self.topology, idx(leg)) {
            (Topology::Pair(legs), Some(i)) if hears_switch => {
                tracing::debug!(call = self.call, ?leg, samples = samples.len(), ?then, "prompt");
                legs[i].music_player(&mut self.rng).play(samples, then);
            }
            _ => tracing::debug!(call = self.call, ?leg, "prompt to a leg that is not held: not played"),
        }
    }

    fn plan(&mut self, now: Instant, a: &RelayLeg, b: &RelayLeg) {
        // Keys first: the early packets replayed below are still as received.
        self.set_security(Peer::Leg(MediaLeg::A), a);
        self.set_security(Peer::Leg(MediaLeg::B), b);
        let mut legs = Box::new([Leg::new(a, b, now, &mut self.rng), Leg::new(b, a, now, &mut self.rng)]);
        let previous = std::mem::replace(&mut self.topology, Topology::Unplanned { early: Vec::new() });
        let early = match previous {
            Topology::Pair(old) => {
                // A new plan for a call already planned (a queued caller is
                // connected to an agent): each leg keeps the stream the
                // switch sends it (one SSRC, consecutive sequence numbers,
                // RFC 3550 §8) and, if its address did not change, what its
                // latch learned.
                let [old_a, old_b] = *old;
                let [new_a, new_b] = &mut *legs;
                new_a.keep_stream_of(old_a);
                new_b.keep_stream_of(old_b);
                Vec::new()
            }
            Topology::Unplanned { early } => early,
        };
        self.topology = Topology::Pair(legs);
        // A recording (or monitor) started before the answer taps the relay path now.
        if self.recording.is_some() || self.monitor.is_some() {
            self.add_taps();
        }
        self.point_latches_at_ice(now);
        for (leg, src, mut pkt) in early {
            self.handle_rtp(now, Peer::Leg(leg), src, &mut pkt);
        }
    }

    /// After a (re-)plan: every WebRTC peer's latch points at the address
    /// ICE selected, whatever its SDP said.
    fn point_latches_at_ice(&mut self, now: Instant) {
        for (peer, addr) in self.webrtc.selections() {
            if let Some(latch) = self.latch_of(peer) {
                latch.resignal(Some(addr), now);
            }
        }
    }

    /// Sets `peer`'s SRTP keys (SDES) or WebRTC transport from its plan. A
    /// WebRTC peer keeps the keys its DTLS gave across re-plans.
    fn set_security(&mut self, peer: Peer, leg: &RelayLeg) {
        self.webrtc.set(peer, leg.webrtc.as_deref());
        if leg.webrtc.is_none() {
            self.secure.set(peer, leg.srtp.as_ref());
        }
    }

    /// Acts on what the WebRTC edge reported: DTLS keys become the peer's
    /// SRTP keys; the ICE-selected address becomes where its latch points.
    fn apply_webrtc_events(&mut self, now: Instant) {
        while let Some((peer, ev)) = self.webrtc.poll_event() {
            match ev {
                EdgeEvent::Keys(keys) => {
                    tracing::info!(call = self.call, peer = %peer_name(peer), "WebRTC leg keyed (DTLS-SRTP)");
                    self.secure.set(peer, Some(&keys));
                }
                EdgeEvent::Selected(addr) => {
                    tracing::debug!(call = self.call, peer = %peer_name(peer), %addr, "ICE selected the browser's address");
                    if let Some(latch) = self.latch_of(peer) {
                        latch.resignal(Some(addr), now);
                    }
                }
                EdgeEvent::ConsentLost(addr) => {
                    tracing::warn!(call = self.call, peer = %peer_name(peer), %addr, "the browser stopped answering (ICE consent lost): media to it stops");
                }
                EdgeEvent::Failed(why) => {
                    tracing::warn!(call = self.call, peer = %peer_name(peer), %why, "WebRTC leg failed: it carries no media");
                }
            }
        }
    }

    /// The latch of `peer`, wherever it lives now.
    fn latch_of(&mut self, peer: Peer) -> Option<&mut Latch> {
        match peer {
            Peer::Leg(leg) => match idx(leg) {
                Some(i) => self.legs_mut().map(|l| &mut l[i].latch),
                None => self
                    .parties
                    .iter_mut()
                    .find(|(i, _)| MediaLeg::Party(*i) == leg)
                    .map(|(_, l)| &mut l.latch),
            },
            // Whispering or barging in, the supervisor's latch is its bridge leg's.
            Peer::Monitor => match self
                .parties
                .iter_mut()
                .find(|(p, _)| *p == super::conference::SUPERVISOR)
            {
                Some((_, l)) => Some(&mut l.latch),
                None => self.monitor.as_mut().map(|m| &mut m.latch),
            },
        }
    }

    fn record(&mut self, action: RecordAction) {
        match action {
            RecordAction::Start { name, layout } => {
                if self.recording.is_some() {
                    tracing::warn!(call = self.call, "recording already running");
                    return;
                }
                let layout = match layout {
                    crate::config::RecordingLayout::Stereo => RecordingLayout::Stereo,
                    crate::config::RecordingLayout::Mixed => RecordingLayout::Mixed,
                };
                self.recording = Some(Recording { paused: false });
                self.events.push_back(SessionEvent::RecordingStarted { name, layout });
                self.add_taps();
            }
            RecordAction::Pause => {
                if let Some(r) = self.recording.as_mut() {
                    r.paused = true;
                }
            }
            RecordAction::Resume => {
                let Some(r) = self.recording.as_mut() else { return };
                r.paused = false;
                // A relay tap kept decoding during the pause and may still
                // hold up to 200 ms said before the resume: drop it, so no
                // paused audio reaches the file (CALL-REC-1).
                if let Some(legs) = self.legs_mut() {
                    for l in legs.iter_mut() {
                        if l.tap.is_some() {
                            l.tap = None;
                            l.add_tap();
                        }
                        // What the jitter buffer still holds was said while paused.
                        if let Inbound::Pipeline(p) = &l.inbound {
                            l.tap_mute = 1 + (p.jitter_delay().as_millis() / TICK.as_millis()) as u32;
                        }
                    }
                }
            }
            RecordAction::Stop => {
                if self.recording.take().is_some() {
                    self.events.push_back(SessionEvent::RecordingStopped);
                }
                // The monitor still decodes through the taps.
                self.drop_unneeded_taps();
            }
        }
    }

    fn monitor_start(&mut self, now: Instant, leg: &RelayLeg) {
        let (ssrc, seq, ts) = (self.rng.random(), self.rng.random(), self.rng.random());
        let Some(mix) = MonitorMix::new(&leg.audio, ssrc, seq, ts) else {
            tracing::error!(call = self.call, codec = ?leg.audio.codec, "monitor codec cannot be encoded");
            return;
        };
        self.monitor = Some(Box::new(MonitorFeed {
            mix,
            latch: Latch::new(leg.remote, now),
            out: super::leg::out_stream(leg, &mut self.rng),
            plan: Box::new(leg.clone()),
        }));
        self.add_taps();
        tracing::info!(call = self.call, "monitor fed");
    }

    /// An RTP datagram from `src` on `from`'s RTP socket at `now`. An SRTP
    /// peer's packet is authenticated and decrypted first (refused ones are
    /// counted in [`SessionStats::srtp_refused`] and go no further). A leg's
    /// packet passes its latch; on the relay path it is rewritten in place
    /// into the other leg's stream and queued at once.
    pub fn handle_rtp(&mut self, now: Instant, from: Peer, src: SocketAddr, packet: &mut [u8]) {
        if self.webrtc.is_webrtc(from) {
            let received = self.webrtc.receive(now, from, src, packet);
            self.apply_webrtc_events(now);
            self.reschedule(now);
            match received {
                Received::Consumed => return,
                Received::Dropped => {
                    self.stats.dropped += 1;
                    return;
                }
                Received::Media(SocketKind::Rtcp) => {
                    // rtcp-mux (RFC 5761): RTCP shares the RTP port.
                    if let Peer::Leg(leg) = from {
                        self.handle_rtcp(now, leg, src, packet);
                    }
                    return;
                }
                Received::Media(SocketKind::Rtp) => {}
            }
        }
        match self.secure.open(from, SocketKind::Rtp, packet) {
            Opened::Plain => self.handle_plain_rtp(now, from, src, packet),
            Opened::Decrypted(mut plain) => self.handle_plain_rtp(now, from, src, &mut plain),
            Opened::Refused => self.stats.srtp_refused += 1,
        }
    }

    fn handle_plain_rtp(&mut self, now: Instant, from: Peer, src: SocketAddr, packet: &mut [u8]) {
        let from = match from {
            Peer::Leg(leg) => leg,
            Peer::Monitor if self.supervisor_on_bridge() => {
                self.conference_rtp(now, MediaLeg::Party(super::conference::SUPERVISOR), src, packet);
                return;
            }
            Peer::Monitor => {
                // SUP-2: what the supervisor's phone sends reaches nobody.
                if let Some(f) = self.monitor.as_mut() {
                    let _ = f.latch.on_packet(src, now);
                    self.stats.silenced += 1;
                }
                return;
            }
        };
        if self.conf.is_some() || matches!(from, MediaLeg::Party(_)) {
            self.conference_rtp(now, from, src, packet);
            return;
        }
        let Some(i) = idx(from) else { return };
        let legs = match &mut self.topology {
            Topology::Pair(legs) => legs,
            Topology::Unplanned { early } => {
                if early.len() < EARLY_PACKETS {
                    early.push((from, src, packet.to_vec()));
                } else {
                    self.stats.dropped += 1;
                }
                return;
            }
        };
        let (this, other) = pair(legs, i);
        if this.latch.on_packet(src, now) == Verdict::Drop {
            self.stats.dropped += 1;
            return;
        }
        let header = RtpHeader::parse(packet).ok();
        if let Some(h) = &header {
            self.stats.count(observe(&mut this.rx, h, this.audio.clock_rate, now));
        }
        if let Some(tap) = this.tap.as_mut() {
            tap.push(packet);
        }
        if self.held.is_some() {
            // The held leg hears the switch (music, an entry point's
            // prompts): its key presses are reported (issue 14).
            if let (Some(h), true) = (&header, self.held == Some(from)) {
                if let Some(digit) = this.key_pressed(h, packet) {
                    self.events.push_back(SessionEvent::Digit { leg: from, digit });
                }
            }
            // On hold: keep latching and counting (the leg may move), relay nothing.
            if let Inbound::Pipeline(p) = &mut this.inbound {
                p.push(packet, now);
            }
            self.stats.dropped += 1;
            return;
        }
        let to = leg_at(1 - i);
        match &mut this.inbound {
            Inbound::Relay => {
                if other.out.rewrite(packet, now).is_err() {
                    self.stats.dropped += 1;
                    return;
                }
                if let Some(dest) = other.latch.target() {
                    let route = Route {
                        to: Peer::Leg(to),
                        socket: SocketKind::Rtp,
                        dest,
                    };
                    if self.tx.push_copy(route, packet) {
                        self.stats.relayed += 1;
                    }
                }
            }
            Inbound::Pipeline(p) => {
                p.push(packet, now);
                // RFC 4733 events go out as they arrive.
                let mut buf = self.tx.take();
                while let Some(len) = p.poll_packet(&mut buf) {
                    queue_to_leg(other, to, &mut buf, len, now, &mut self.tx);
                }
                self.tx.put_back(buf);
            }
        }
    }

    /// An RTCP datagram from `src` on `leg`'s RTCP socket at `now`: read
    /// (RFC 3550 §6.4), never relayed.
    pub fn handle_rtcp(&mut self, now: Instant, leg: MediaLeg, src: SocketAddr, datagram: &[u8]) {
        let opened = self.secure.open(Peer::Leg(leg), SocketKind::Rtcp, datagram);
        let datagram = match &opened {
            Opened::Plain => datagram,
            Opened::Decrypted(plain) => &plain[..],
            Opened::Refused => {
                self.stats.srtp_refused += 1;
                return;
            }
        };
        let ntp = self.ntp_at(now);
        let call = self.call;
        if let (Some(legs), Some(i)) = (self.legs_mut(), idx(leg)) {
            reports::read_report(call, leg, &mut legs[i], src, datagram, now, ntp);
        }
    }

    /// Whatever is due at `now`: the 20 ms ticks since the last (pipelines,
    /// music, monitor mix, recording frame), and the RTCP reports.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.webrtc.poll_timeout().is_some_and(|t| t <= now) {
            self.webrtc.handle_timeout(now);
            self.apply_webrtc_events(now);
        }
        if let Some(mut at) = self.next_tick {
            let mut ticks = 0;
            while at <= now {
                if ticks == MAX_CATCH_UP {
                    at = now + TICK;
                    break;
                }
                self.tick(now);
                at += TICK;
                ticks += 1;
            }
            self.next_tick = Some(at);
        }
        if matches!(self.topology, Topology::Pair(_)) && self.reports.next() <= now {
            let ntp = self.ntp_at(now);
            if let Topology::Pair(legs) = &mut self.topology {
                reports::queue_reports(legs, now, ntp, &mut self.tx);
            }
            self.reports.sent(now, &mut self.rng);
        }
        self.reschedule(now);
    }

    /// The next datagram to send; drain until `None` after every input. The
    /// payload is valid until the next call.
    pub fn poll_transmit(&mut self) -> Option<Transmit<'_>> {
        if let Some((to, dest, datagram)) = self.webrtc.poll_transmit() {
            self.webrtc_out = datagram;
            return Some(Transmit {
                to,
                socket: SocketKind::Rtp,
                dest,
                payload: &self.webrtc_out,
            });
        }
        loop {
            let (to, socket) = self.tx.peek()?;
            if self.webrtc.is_webrtc(to) {
                // To the ICE-selected address, through the RTP port
                // (rtcp-mux), and only encrypted.
                let t = self.tx.pop()?;
                let Some(dest) = self.webrtc.destination(to) else {
                    self.stats.dropped += 1;
                    continue;
                };
                match self.secure.seal(to, socket, t.payload) {
                    Some(Ok(sealed)) => {
                        self.sealed = sealed;
                        return Some(Transmit {
                            to,
                            socket: SocketKind::Rtp,
                            dest,
                            payload: &self.sealed,
                        });
                    }
                    Some(Err(())) | None => {
                        self.stats.dropped += 1;
                        continue;
                    }
                }
            }
            if !self.secure.is_secure(to) {
                return self.tx.pop();
            }
            let t = self.tx.pop()?;
            let dest = t.dest;
            match self.secure.seal(to, socket, t.payload) {
                Some(Ok(sealed)) => {
                    self.sealed = sealed;
                    return Some(Transmit {
                        to,
                        socket,
                        dest,
                        payload: &self.sealed,
                    });
                }
                // Unprotectable (malformed): dropped, never sent in clear.
                Some(Err(())) | None => self.stats.dropped += 1,
            }
        }
    }

    /// The next event for the I/O edge (the recording file); drain until
    /// `None` after every input.
    pub fn poll_event(&mut self) -> Option<SessionEvent> {
        self.events.pop_front()
    }

    /// When [`SessionCore::handle_timeout`] is next due: the next tick
    /// while anything plays per frame, else the next RTCP reports once planned.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let reports = matches!(self.topology, Topology::Pair(_)).then(|| self.reports.next());
        [self.next_tick, reports, self.webrtc.poll_timeout()]
            .into_iter()
            .flatten()
            .min()
    }

    /// Something plays per 20 ms frame: a held leg's music, a pipeline, the
    /// recording or the monitor.
    fn needs_tick(&self) -> bool {
        if self.conf.is_some() {
            return true;
        }
        let Topology::Pair(legs) = &self.topology else {
            return false;
        };
        self.held.is_some()
            || self.recording.is_some()
            || self.monitor.is_some()
            || legs.iter().any(|l| matches!(l.inbound, Inbound::Pipeline(_)))
    }

    /// Starts the frame clock at `now` when something needs it, stops it
    /// when nothing does (so it never bursts after an idle spell).
    fn reschedule(&mut self, now: Instant) {
        if self.needs_tick() {
            self.next_tick.get_or_insert(now);
        } else {
            self.next_tick = None;
        }
    }

    /// One 20 ms frame: pipelines emit, music plays to the held leg, the
    /// monitor hears both parties (SUP-2), the recording gets both (CALL-REC-1).
    fn tick(&mut self, now: Instant) {
        let bridged = self.conf.is_some();
        // CALL-REC-1 through a conference: everyone but the customer, mixed.
        let mut others = None;
        if bridged {
            self.conference_tick(now);
            if self.recording.is_some() || self.monitor.is_some() {
                let mut frame = [0i16; FRAME_8K];
                if self.conference_others_8k(&mut frame) {
                    others = Some(frame);
                }
            }
        }
        let held = self.held.filter(|_| !bridged);
        let Topology::Pair(legs) = &mut self.topology else {
            return;
        };
        let tx = &mut self.tx;
        let mut buf = tx.take();
        for from in (0..2).filter(|_| !bridged) {
            let (this, other) = pair(legs, from);
            if let Inbound::Pipeline(p) = &mut this.inbound {
                p.tick(now);
                while let Some(len) = p.poll_packet(&mut buf) {
                    if held.is_none() {
                        queue_to_leg(other, leg_at(1 - from), &mut buf, len, now, tx);
                    }
                }
            }
        }
        if let Some((h, i)) = held.and_then(|h| idx(h).map(|i| (h, i))) {
            let leg = &mut legs[i];
            if let Some(len) = leg.music_player(&mut self.rng).next_packet(&self.music, &mut buf) {
                queue_to_leg(leg, h, &mut buf, len, now, tx);
            }
        }
        if self.recording.is_some() || self.monitor.is_some() {
            // What each party said this tick, read once for the recorder and the monitor.
            let (mut customer, mut other) = ([0i16; FRAME_8K], [0i16; FRAME_8K]);
            legs[0].said_8k(&mut customer);
            match others {
                Some(o) => other = o,
                None => legs[1].said_8k(&mut other),
            }
            let on_bridge = self.parties.iter().any(|(p, _)| *p == super::conference::SUPERVISOR);
            if let Some(f) = self.monitor.as_mut().filter(|_| !on_bridge) {
                let len = f.mix.next_packet(Some(&customer), Some(&other), &mut buf);
                let len = len.filter(|&len| buf.get_mut(..len).is_some_and(|p| f.out.rewrite(p, now).is_ok()));
                if let (Some(len), Some(dest)) = (len, f.latch.target()) {
                    let full = std::mem::replace(&mut buf, tx.take());
                    let route = Route {
                        to: Peer::Monitor,
                        socket: SocketKind::Rtp,
                        dest,
                    };
                    tx.push(route, full, len);
                }
            }
            if let Some(r) = self.recording.as_ref() {
                if r.paused {
                    // CALL-REC-1: paused audio never leaves the core.
                    customer.fill(0);
                    other.fill(0);
                }
                self.events.push_back(SessionEvent::RecordingFrame { customer, other });
            }
        }
        tx.put_back(buf);
    }
}

impl Drop for SessionCore {
    fn drop(&mut self) {
        if let Topology::Pair(legs) = &self.topology {
            for (leg, l) in legs.iter().enumerate() {
                if let Inbound::Pipeline(p) = &l.inbound {
                    tracing::debug!(call = self.call, leg, stats = ?p.stats(), "pipeline stats at the end of the call");
                }
            }
        }
        tracing::debug!(call = self.call, stats = ?self.stats, "media session ended");
    }
}
