//! The conference bridge inside a session (issue 9; CALL-HOLD-2,
//! CALL-CONSULT-4, CALL-CONF-1..4): when a party leg joins the call, the
//! call's legs become parties of a [`Bridge`]; when the last party leg
//! leaves and the caller and the callee are both still there, the call
//! goes back to the relay.
//!
//! - Each leg keeps its one outgoing stream across the move (RFC 3550 §8):
//!   every packet the bridge makes for a leg goes through that leg's
//!   rewriter, exactly like relayed packets and music, so sequence numbers
//!   and timestamps continue (the bridge is one more source to it, with
//!   the marker bit on the switch).
//! - Modes come from the call core ([`PartyMode`] per leg); the bridge plays
//!   hold music to held legs itself. Before any party leg joins (a consult
//!   still ringing), a held caller or callee is simply the session's hold.
//! - A leg that left (the customer hanging up in a conference, CALL-CONF-4)
//!   is removed from the bridge and sent nothing more.
//! - While bridged, the recording and the monitor keep hearing the caller
//!   and the callee from their taps (party legs are not in the recording
//!   yet).
//! - A leg with noise removal (CALL-NOISE-1) keeps it on the bridge: its
//!   party's input is denoised before the mix.

use super::core::{queue_to_peer, SessionCore, Topology};
use super::leg::{format_received, Leg};
use super::Peer;
use crate::call::media::{MediaLeg, PartyMode as CallMode, RelayLeg};
use crate::media::mixer::{Bridge, BridgeConfig, HoldTrack, PartyId, PartyMode, StreamState};
use crate::rtp::latch::Verdict;
use crate::rtp::RtpHeader;
use rand::Rng;
use std::net::SocketAddr;
use std::time::Instant;

/// The party key of the supervisor's leg while it whispers or barges in
/// (SUP-2): its packets come and go through the monitor's socket.
pub(super) const SUPERVISOR: usize = usize::MAX;

/// The barge-in tone's pitch and level (SUP-2).
pub const BARGE_TONE_HZ: f64 = 1400.0;
/// The barge-in tone's level, in dBFS.
pub const BARGE_TONE_DBFS: f64 = -20.0;

/// The bridge and which leg is which party on it.
pub(super) struct Conference {
    bridge: Bridge,
    members: Vec<(MediaLeg, PartyId)>,
}

/// The call-side mode as the mixer's.
fn mixer_mode(mode: CallMode, members: &[(MediaLeg, PartyId)]) -> PartyMode {
    match mode {
        CallMode::Talk => PartyMode::Talk,
        CallMode::Muted => PartyMode::Muted,
        CallMode::Held => PartyMode::Held,
        CallMode::Aside => PartyMode::Aside,
        CallMode::Whisper { to } => match members.iter().find(|(l, _)| *l == to) {
            Some((_, p)) => PartyMode::Whisper { to: *p },
            None => PartyMode::Muted,
        },
    }
}

impl SessionCore {
    /// A party leg's phone answered: it joins in `mode`, on the bridge.
    pub(super) fn party_join(&mut self, now: Instant, party: usize, plan: &RelayLeg, mode: CallMode) {
        let leg = Leg::new(plan, plan, now, &mut self.rng);
        self.parties.retain(|(p, _)| *p != party);
        self.parties.push((party, leg));
        self.set_mode(MediaLeg::Party(party), mode);
        self.bridge_on(now);
    }

    /// SUP-2: the supervisor listens (`Muted`: the monitor mix, off the
    /// bridge), whispers to a leg or barges in (on the bridge, through the
    /// monitor's socket).
    pub(super) fn monitor_mode(&mut self, now: Instant, mode: CallMode) {
        let key = MediaLeg::Party(SUPERVISOR);
        match mode {
            CallMode::Muted | CallMode::Held => {
                if self.supervisor_on_bridge() {
                    self.swap_supervisor_stream();
                    self.party_leave(key);
                }
            }
            mode => {
                let barging = self.modes.iter().any(|(l, m)| *l == key && *m == CallMode::Talk);
                if self.supervisor_on_bridge() {
                    self.party_modes(vec![(key, mode)]);
                } else if let Some(plan) = self.monitor.as_ref().map(|m| m.plan.clone()) {
                    self.party_join(now, SUPERVISOR, &plan, mode);
                    self.swap_supervisor_stream();
                }
                if mode == CallMode::Talk && !barging {
                    self.barge_tone();
                }
            }
        }
    }

    /// SUP-2: the supervisor's one outgoing stream and its latch move
    /// between the monitor feed and its bridge leg (each keeps its own
    /// payload-type map), both ways. So the supervisor's phone sees one
    /// stream across listen, whisper and barge (RFC 3550 §8: one SSRC,
    /// sequence numbers going on; a WebRTC supervisor's SRTP replay window
    /// refuses a step back), and its bridge leg sends where the supervisor
    /// already is (a WebRTC supervisor's ICE-selected address) before it
    /// says anything.
    fn swap_supervisor_stream(&mut self) {
        let Some(feed) = self.monitor.as_mut() else { return };
        let Some((_, leg)) = self.parties.iter_mut().find(|(p, _)| *p == SUPERVISOR) else {
            return;
        };
        std::mem::swap(&mut feed.out, &mut leg.out);
        std::mem::swap(feed.out.payload_types_mut(), leg.out.payload_types_mut());
        std::mem::swap(&mut feed.latch, &mut leg.latch);
    }

    /// SUP-2: the customer hears a short tone when a supervisor barges in
    /// (two 150 ms beeps at 1,400 Hz, −20 dBFS, the usual "someone joined"
    /// cue); the agent is told on its desktop instead.
    fn barge_tone(&mut self) {
        let Some(conf) = self.conf.as_mut() else { return };
        let Some(&(_, customer)) = conf.members.iter().find(|(l, _)| *l == MediaLeg::A) else {
            return;
        };
        let rate = conf.bridge.mix_rate().hz();
        let beep = (rate as usize) * 150 / 1000;
        let mut pcm = crate::dsp::tone::sine(BARGE_TONE_HZ, BARGE_TONE_DBFS, rate, beep);
        pcm.extend(std::iter::repeat_n(0, beep));
        pcm.extend(crate::dsp::tone::sine(BARGE_TONE_HZ, BARGE_TONE_DBFS, rate, beep));
        let _ = conf.bridge.play(customer, &pcm);
    }

    /// What everyone on the bridge but the customer says this tick, at
    /// 8 kHz: the recording's second channel and the monitor's other side
    /// through a consult or conference (CALL-REC-1). False off the bridge.
    pub(super) fn conference_others_8k(&mut self, out: &mut [i16; crate::media::music::FRAME_8K]) -> bool {
        let Some(conf) = self.conf.as_mut() else { return false };
        let customer = conf.members.iter().find(|(l, _)| *l == MediaLeg::A).map(|(_, id)| *id);
        conf.bridge.others_8k(customer, out).is_ok()
    }

    /// The supervisor whispers or barges in (its leg is on the bridge).
    pub(super) fn supervisor_on_bridge(&self) -> bool {
        self.parties.iter().any(|(p, _)| *p == SUPERVISOR)
    }

    /// The modes of the call's legs changed.
    pub(super) fn party_modes(&mut self, modes: Vec<(MediaLeg, CallMode)>) {
        for (leg, mode) in modes {
            self.set_mode(leg, mode);
        }
        if self.conf.is_none() {
            let held = self.pair_hold();
            self.set_held(held);
        }
        self.apply_modes();
    }

    /// CALL-HOLD-1 on the bridge: `held` hears music and is heard by
    /// nobody; whoever was held before talks again.
    pub(super) fn bridge_hold(&mut self, held: Option<MediaLeg>) {
        for (_, mode) in self.modes.iter_mut().filter(|(_, m)| *m == CallMode::Held) {
            *mode = CallMode::Talk;
        }
        if let Some(leg) = held {
            self.set_mode(leg, CallMode::Held);
        }
        self.apply_modes();
    }

    /// A leg left the call's media.
    pub(super) fn party_leave(&mut self, leg: MediaLeg) {
        if let Some(conf) = self.conf.as_mut() {
            if let Some(pos) = conf.members.iter().position(|(l, _)| *l == leg) {
                let (_, id) = conf.members.remove(pos);
                let _ = conf.bridge.remove_party(id);
            }
        }
        match leg {
            MediaLeg::Party(p) => self.parties.retain(|(i, _)| *i != p),
            other => {
                if !self.left.contains(&other) {
                    self.left.push(other);
                }
            }
        }
        self.modes.retain(|(l, _)| *l != leg);
        // Back to the relay when the caller and the callee are alone again.
        if self.parties.is_empty() && self.left.is_empty() && self.conf.is_some() {
            self.conf = None;
            let held = self.pair_hold();
            self.set_held(held);
            tracing::info!(call = self.call, "conference over: back to the relay");
        }
    }

    /// The hold of a two-leg call implied by the modes (CALL-HOLD-2).
    fn pair_hold(&self) -> Option<MediaLeg> {
        let held = |l| self.modes.iter().any(|(m, mode)| *m == l && *mode == CallMode::Held);
        if held(MediaLeg::A) {
            Some(MediaLeg::A)
        } else if held(MediaLeg::B) {
            Some(MediaLeg::B)
        } else {
            self.held.filter(|_| self.modes.is_empty())
        }
    }

    fn set_mode(&mut self, leg: MediaLeg, mode: CallMode) {
        match self.modes.iter_mut().find(|(l, _)| *l == leg) {
            Some(m) => m.1 = mode,
            None => self.modes.push((leg, mode)),
        }
    }

    /// Puts every present leg on the bridge, making it if needed.
    fn bridge_on(&mut self, now: Instant) {
        if self.conf.is_none() {
            tracing::info!(call = self.call, "conference: the call's legs move onto the bridge");
            self.conf = Some(Box::new(Conference {
                bridge: Bridge::new(BridgeConfig::default(), Box::new(HoldTrack::shared(self.music.clone()))),
                members: Vec::new(),
            }));
            self.set_held(None);
        }
        let mut present: Vec<MediaLeg> = Vec::new();
        if let Topology::Pair(_) = &self.topology {
            present.extend(
                [MediaLeg::A, MediaLeg::B]
                    .into_iter()
                    .filter(|l| !self.left.contains(l)),
            );
        }
        present.extend(self.parties.iter().map(|(p, _)| MediaLeg::Party(*p)));
        for leg in present {
            if self
                .conf
                .as_ref()
                .is_some_and(|c| c.members.iter().any(|(l, _)| *l == leg))
            {
                continue;
            }
            let stream = StreamState {
                ssrc: self.rng.random(),
                sequence: self.rng.random(),
                timestamp: self.rng.random(),
            };
            let Some(l) = self.leg_mut(leg) else { continue };
            let format = format_received(&l.audio);
            // The bridge numbers a leg's packets with the payload type the
            // leg sends us; the leg's rewriter maps it to the one it receives.
            let (recv, send) = (l.audio.recv_pt, l.audio.send_pt);
            if l.out.payload_types_mut().get(recv).is_none() {
                l.out.payload_types_mut().insert(recv, send);
            }
            // CALL-NOISE-1: a leg that had noise removal keeps it on the bridge.
            let opts = crate::media::pipeline::PipelineOptions { denoise: l.denoise };
            let Some(conf) = self.conf.as_mut() else { return };
            match conf.bridge.add_party_with(format, stream, opts) {
                Ok(id) => conf.members.push((leg, id)),
                Err(e) => tracing::error!(call = self.call, ?leg, error = %e, "conference: a leg could not join"),
            }
        }
        self.apply_modes();
        let _ = now;
    }

    fn apply_modes(&mut self) {
        let Some(conf) = self.conf.as_mut() else { return };
        for (leg, id) in conf.members.clone() {
            let mode = self
                .modes
                .iter()
                .find(|(l, _)| *l == leg)
                .map_or(CallMode::Talk, |(_, m)| *m);
            let _ = conf.bridge.set_mode(id, mixer_mode(mode, &conf.members));
        }
    }

    fn leg_mut(&mut self, leg: MediaLeg) -> Option<&mut Leg> {
        match leg {
            MediaLeg::A | MediaLeg::B => match &mut self.topology {
                Topology::Pair(legs) => legs.get_mut(usize::from(leg == MediaLeg::B)),
                Topology::Unplanned { .. } => None,
            },
            MediaLeg::Party(p) => self.parties.iter_mut().find(|(i, _)| *i == p).map(|(_, l)| l),
        }
    }

    /// A packet from a leg while the call is bridged: latched, counted,
    /// fed to its party's input (and the recording tap for the caller and
    /// callee).
    pub(super) fn conference_rtp(&mut self, now: Instant, from: MediaLeg, src: SocketAddr, packet: &[u8]) {
        let id = self
            .conf
            .as_ref()
            .and_then(|c| c.members.iter().find(|(l, _)| *l == from).map(|(_, id)| *id));
        let Some(l) = self.leg_mut(from) else {
            self.stats.dropped += 1;
            return;
        };
        if l.latch.on_packet(src, now) == Verdict::Drop {
            self.stats.dropped += 1;
            return;
        }
        let (mut keyed, mut seen) = (None, (0, 0));
        if let Ok(h) = RtpHeader::parse(packet) {
            seen = super::core::observe(&mut l.rx, &h, l.audio.clock_rate, now);
            // Key presses are told to the engine (a meet-me room's PIN); the
            // bridge itself never plays them to the others.
            keyed = l.key_pressed(&h, packet);
        }
        if let Some(tap) = l.tap.as_mut() {
            tap.push(packet);
        }
        self.stats.count(seen);
        if let Some(digit) = keyed {
            self.events.push_back(super::SessionEvent::Digit { leg: from, digit });
        }
        match (id, self.conf.as_mut()) {
            (Some(id), Some(conf)) => {
                let _ = conf.bridge.push(id, packet, now);
            }
            _ => self.stats.dropped += 1,
        }
    }

    /// One 20 ms frame of the bridge: every member gets its packet.
    pub(super) fn conference_tick(&mut self, now: Instant) {
        let Some(mut conf) = self.conf.take() else { return };
        conf.bridge.tick(now);
        let mut buf = self.tx.take();
        for (leg, id) in conf.members.clone() {
            while let Some(len) = conf.bridge.poll_packet(id, &mut buf) {
                let tx = &mut self.tx;
                let to = match leg {
                    MediaLeg::A | MediaLeg::B => match &mut self.topology {
                        Topology::Pair(legs) => legs.get_mut(usize::from(leg == MediaLeg::B)),
                        Topology::Unplanned { .. } => None,
                    },
                    MediaLeg::Party(p) => self.parties.iter_mut().find(|(i, _)| *i == p).map(|(_, l)| l),
                };
                let peer = if leg == MediaLeg::Party(SUPERVISOR) {
                    Peer::Monitor
                } else {
                    Peer::Leg(leg)
                };
                if let Some(to) = to {
                    queue_to_peer(to, peer, &mut buf, len, now, tx);
                }
            }
        }
        self.tx.put_back(buf);
        self.conf = Some(conf);
    }
}
