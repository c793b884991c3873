//! A call's anchored media (issue 3): the ports the switch uses on each leg,
//! each leg's SDP session state, and the relay plan handed to the media
//! workers. Pure data; the engine fills it, `media` (the I/O edge) runs it.

use crate::sdp::{Negotiated, SessionState};
use std::net::SocketAddr;

/// One leg's audio format as negotiated: what arrives from it and what is
/// sent to it (RFC 3264 §6.1: each side receives with the payload-type
/// numbers of its own SDP).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LegAudio {
    /// The audio codec.
    pub codec: crate::sdp::CodecKind,
    /// RTP clock rate of the codec (timestamp units per second).
    pub clock_rate: u32,
    /// Payload type of the audio packets this leg sends us.
    pub recv_pt: u8,
    /// Payload type to send this leg its audio with.
    pub send_pt: u8,
    /// Payload type of the RFC 4733 events this leg sends us, if negotiated.
    pub event_recv_pt: Option<u8>,
    /// Payload type to send this leg RFC 4733 events with, if negotiated.
    pub event_send_pt: Option<u8>,
    /// The events' RTP clock rate (normally the codec's, RFC 4733 §2.1).
    pub event_clock_rate: Option<u32>,
}

impl LegAudio {
    /// The format a leg negotiated (`None` for a codec the switch cannot
    /// carry, e.g. telephone-event alone).
    pub fn from_negotiated(n: &Negotiated) -> Option<LegAudio> {
        Some(LegAudio {
            codec: n.codec.kind()?,
            clock_rate: n.codec.clock_rate(),
            recv_pt: n.recv_pt,
            send_pt: n.send_pt,
            event_recv_pt: n.telephone_event.as_ref().map(|e| e.recv_pt),
            event_send_pt: n.telephone_event.as_ref().map(|e| e.send_pt),
            event_clock_rate: n.telephone_event.as_ref().map(|e| e.clock_rate),
        })
    }
}

/// One leg of a relayed session as the media worker needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelayLeg {
    /// Our RTP socket for this leg (RTCP is the next port).
    pub local: SocketAddr,
    /// Where the leg's SDP says to send RTP (latching may correct it).
    pub remote: Option<SocketAddr>,
    /// Where the leg's SDP says to send RTCP (`a=rtcp`, else RTP port + 1).
    pub remote_rtcp: Option<SocketAddr>,
    /// The leg's negotiated audio.
    pub audio: LegAudio,
    /// Payload type numbers to use when sending on this leg, keyed by the
    /// number the packet arrived with on the other leg (the fast path, when
    /// both legs use the same codec; empty when the call is transcoded).
    pub pt_map: Vec<(u8, u8)>,
    /// Remove background noise from what this leg says (spec CALL-NOISE-1).
    pub denoise: bool,
    /// The leg's SRTP keys (RFC 3711, SDES RFC 4568), `None` for plain RTP.
    pub srtp: Option<crate::rtp::SrtpKeys>,
    /// The leg's WebRTC transport (ICE-lite, DTLS-SRTP; issue 12), `None`
    /// for a plain or SDES leg.
    pub webrtc: Option<Box<WebrtcPlan>>,
}

/// A WebRTC leg's transport as negotiated in its SDP (issue 12): what the
/// media session needs to answer its ICE checks (RFC 8445 §7.3), run DTLS
/// (RFC 5763) and send with the SSRC the SDP announced.
#[derive(Clone, PartialEq, Eq)]
pub struct WebrtcPlan {
    /// Our `a=ice-ufrag`.
    pub local_ufrag: String,
    /// Our `a=ice-pwd` (the browser signs its checks with it).
    pub local_pwd: String,
    /// The browser's `a=ice-ufrag` (its checks name it).
    pub remote_ufrag: String,
    /// The browser's `a=fingerprint` values; its DTLS certificate must match one.
    pub remote_fingerprints: Vec<String>,
    /// True when the switch is the DTLS server (it answered `a=setup:passive`).
    pub dtls_server: bool,
    /// The SSRC our SDP announced (`a=ssrc`): the switch sends with it.
    pub ssrc: u32,
}

impl std::fmt::Debug for WebrtcPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The ICE password never reaches a log.
        f.debug_struct("WebrtcPlan")
            .field("local_ufrag", &self.local_ufrag)
            .field("remote_ufrag", &self.remote_ufrag)
            .field("dtls_server", &self.dtls_server)
            .finish()
    }
}

impl WebrtcPlan {
    /// True when `other` keeps this plan's DTLS association (the same
    /// remote fingerprints, role and SSRC) and differs at most in ICE
    /// credentials: an ICE restart (RFC 8839 §4.4.1.1), not a new
    /// association (RFC 8842 §4 asks for a new one only when the
    /// fingerprint or the role changes).
    pub fn same_dtls(&self, other: &WebrtcPlan) -> bool {
        self.remote_fingerprints == other.remote_fingerprints
            && self.dtls_server == other.dtls_server
            && self.ssrc == other.ssrc
    }

    /// The plan of a leg whose SDP exchange in `state` ended in `n`; `None`
    /// unless both sides spoke WebRTC.
    pub fn from_negotiated(state: &SessionState, n: &Negotiated) -> Option<Box<WebrtcPlan>> {
        let (local, remote) = (state.webrtc()?, n.webrtc.as_ref()?);
        Some(Box::new(WebrtcPlan {
            local_ufrag: local.ice_ufrag.clone(),
            local_pwd: local.ice_pwd.clone(),
            remote_ufrag: remote.ice_ufrag.clone(),
            remote_fingerprints: remote.fingerprints.clone(),
            dtls_server: remote.setup == crate::sdp::DtlsSetup::Passive,
            ssrc: local.ssrc,
        }))
    }
}

impl RelayLeg {
    /// RTP clock rate of the leg's codec.
    pub fn clock_rate(&self) -> u32 {
        self.audio.clock_rate
    }

    /// The leg's codec.
    pub fn codec(&self) -> crate::sdp::CodecKind {
        self.audio.codec
    }
}

/// Which leg of a call's media.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MediaLeg {
    /// The caller's.
    A,
    /// The callee's (the answering leg).
    B,
    /// A party leg (consulted or conferenced), by its index in the call's
    /// placed legs.
    Party(usize),
}

/// What a leg hears and who hears it when the call's legs are on the
/// conference bridge (CALL-HOLD-2, CALL-CONSULT-4, CALL-CONF-1, SUP-2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PartyMode {
    /// Hears everyone who talks, is heard by everyone.
    Talk,
    /// Hears the mix, is heard by nobody.
    Muted,
    /// Heard by one leg only (a supervisor coaching an agent), hears the mix.
    Whisper {
        /// The one leg that hears it.
        to: MediaLeg,
    },
    /// On hold: hears music, is heard by nobody.
    Held,
    /// Talks aside: hears and is heard only by the other `Aside` legs (an
    /// agent consulting from a conference while the others talk on).
    Aside,
}

/// What the media workers are told (ids and addresses only, DESIGN.md).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MediaCommand {
    /// Bind the call's ports now (when the call is routed), so that no
    /// packet sent right after the answer meets a closed port.
    Prepare {
        /// The engine's call number.
        call: u64,
        /// Our socket towards the caller.
        a_local: SocketAddr,
        /// Our socket towards the callee.
        b_local: SocketAddr,
    },
    /// Start relaying between two legs (same codec: the fast path).
    Relay {
        /// The engine's call number.
        call: u64,
        /// The caller's leg.
        a: Box<RelayLeg>,
        /// The callee's leg.
        b: Box<RelayLeg>,
    },
    /// A leg re-negotiated (re-INVITE/UPDATE): its new media addresses.
    Update {
        /// The engine's call number.
        call: u64,
        /// The leg that sent the offer.
        leg: MediaLeg,
        /// Its RTP address from the new offer.
        remote: Option<SocketAddr>,
        /// Its RTCP address from the new offer.
        remote_rtcp: Option<SocketAddr>,
        /// Its SRTP keys after the exchange (`None`: plain RTP).
        srtp: Option<crate::rtp::SrtpKeys>,
        /// Its WebRTC transport after the exchange (new ICE credentials
        /// after an ICE restart); `None` for a plain or SDES leg.
        webrtc: Option<Box<WebrtcPlan>>,
    },
    /// Who is on hold now: that leg hears music on hold, and neither leg
    /// hears the other (`None`: talking). The engine derives it from the
    /// phones' SDP directions and the control API (CALL-HOLD-1).
    Hold {
        /// The engine's call number.
        call: u64,
        /// The held leg.
        held: Option<MediaLeg>,
    },
    /// Recording control (spec CALL-REC-1).
    Record {
        /// The engine's call number.
        call: u64,
        /// What to do.
        action: RecordAction,
    },
    /// Tell a queued caller its place in line and expected wait (a tone
    /// announcement, `dsp::prompt`), then go back to the music.
    Announce {
        /// The engine's call number.
        call: u64,
        /// The leg that hears it (the caller's).
        leg: MediaLeg,
        /// Place in line, 1 = next.
        position: u32,
        /// Expected wait in seconds.
        wait_s: u64,
    },
    /// Play a voice prompt to a leg that hears the switch (issue 14 entry
    /// points: a caller in a flow, answered with early media like a queued
    /// caller, whose leg is the held one of its pair): exactly `samples`
    /// (8 kHz, e.g. [`crate::media::prompts::embedded_samples`]) from the
    /// next 20 ms frame, then `then` until the next prompt. A new prompt
    /// replaces the one playing; empty `samples` stop it at once
    /// (barge-in: the caller keyed a digit). A leg that is not held hears
    /// nothing of it (the prompt is dropped); on release the leg forgets
    /// it and a later hold plays music (CALL-HOLD-1).
    Prompt {
        /// The engine's call number.
        call: u64,
        /// The leg that hears it (the caller's).
        leg: MediaLeg,
        /// The prompt's samples, 8 kHz mono, shared (never copied per play).
        samples: std::sync::Arc<[i16]>,
        /// What the leg hears once the prompt has played.
        then: AfterPrompt,
    },
    /// Bind a third socket for the call's silent monitor (SUP-2), before
    /// the supervisor's phone gets the switch's offer from it.
    MonitorPrepare {
        /// The engine's call number.
        call: u64,
        /// Our socket towards the supervisor's phone.
        local: SocketAddr,
    },
    /// The supervisor's phone answered: send it the mix of caller and
    /// agent audio in its codec, drop whatever it sends (SUP-2: silent).
    Monitor {
        /// The engine's call number.
        call: u64,
        /// The monitor leg as negotiated (`pt_map` unused, `denoise` false).
        leg: Box<RelayLeg>,
    },
    /// SUP-2: the supervisor's leg switches between listening (`Muted`),
    /// coaching the agent (`Whisper` to the agent's leg) and barging in
    /// (`Talk`), on the same phone leg.
    MonitorMode {
        /// The engine's call number.
        call: u64,
        /// The supervisor's mode.
        mode: PartyMode,
    },
    /// The monitor leg ended: stop feeding it and free its socket (the
    /// call's own legs go on).
    MonitorStop {
        /// The engine's call number.
        call: u64,
    },
    /// Bind the socket of a party leg (consulted or conferenced), before
    /// its phone gets the switch's offer from it.
    PartyPrepare {
        /// The engine's call number.
        call: u64,
        /// The party leg's index.
        party: usize,
        /// Our socket towards the party's phone.
        local: SocketAddr,
    },
    /// Bind the socket of a meet-me room's caller (issue 9, CALL-CONF-1
    /// rooms) in the room's media session, which is made with the first
    /// caller and lives until [`MediaCommand::Close`] of `room`. The caller
    /// is party `party` of that session.
    RoomPrepare {
        /// The room's media session number (never a call's).
        room: u64,
        /// The caller's party key in the room (its call number).
        party: usize,
        /// Our socket towards the caller.
        local: SocketAddr,
    },
    /// A party's phone answered: it joins the call's media in `mode`. With
    /// more than two legs talking, the call's media runs on the bridge.
    PartyJoin {
        /// The engine's call number.
        call: u64,
        /// The party leg's index.
        party: usize,
        /// The party leg as negotiated.
        leg: Box<RelayLeg>,
        /// What it hears and who hears it.
        mode: PartyMode,
    },
    /// The modes of the call's legs changed (consult, toggle, merge,
    /// post-call): each listed leg's new mode. Legs not listed keep theirs.
    PartyModes {
        /// The engine's call number.
        call: u64,
        /// Leg and its mode.
        modes: Vec<(MediaLeg, PartyMode)>,
    },
    /// A leg left the call's media (a party's BYE, or the customer or the
    /// primary agent leaving a consult or conference): stop feeding it and
    /// free its socket; the others go on.
    PartyLeave {
        /// The engine's call number.
        call: u64,
        /// The leg.
        leg: MediaLeg,
    },
    /// Stop the call's media and free its sockets.
    Close {
        /// The engine's call number.
        call: u64,
    },
}

/// What a leg hears once a [`MediaCommand::Prompt`] has played (issue 14
/// entry points), until the next prompt.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AfterPrompt {
    /// The music on hold again, from where it stopped (CALL-HOLD-1): a
    /// caller told to wait.
    #[default]
    Music,
    /// Silence: a caller expected to key digits (or leave a message).
    /// Encoded silence still goes out every 20 ms (RFC 3551 §4.2 frames),
    /// so NAT bindings and the phone's jitter buffer stay alive.
    Silence,
}

/// What a [`MediaCommand::Record`] asks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecordAction {
    /// Start a recording into `<recordings dir>/<name>.wav`.
    Start {
        /// File stem (safe: letters, digits, `-`).
        name: String,
        /// Channel layout.
        layout: crate::config::RecordingLayout,
    },
    /// Write silence instead of audio until resumed.
    Pause,
    /// Write audio again.
    Resume,
    /// Complete the file (rename from its temp name).
    Stop,
}

pub use crate::records::{PauseSpan, RecordingRecord};

/// A recording in progress, as the engine tracks it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActiveRecording {
    /// File stem.
    pub name: String,
    /// Start (unix ms).
    pub start_ms: u64,
    /// When the current pause began (unix ms), if paused.
    pub paused_since: Option<u64>,
    /// Completed pauses.
    pub pauses: Vec<PauseSpan>,
}

/// The media state a call keeps while anchored.
#[derive(Clone, Debug)]
pub struct CallMedia {
    /// Our RTP port towards the caller.
    pub port_a: u16,
    /// Our RTP port towards the callee(s).
    pub port_b: u16,
    /// Our socket address towards the caller.
    pub local_a: SocketAddr,
    /// Our socket address towards the callee.
    pub local_b: SocketAddr,
    /// SDP session with the caller.
    pub sdp_a: SessionState,
    /// SDP session with the callee.
    pub sdp_b: SessionState,
    /// The SDP session and offer for callee legs that are browsers
    /// (registered over WebSocket): a WebRTC offer on the same port, made
    /// when the first such leg rings. The one that answers takes the place
    /// of `sdp_b` (issue 12).
    pub browser_b: Option<Box<(SessionState, bytes::Bytes)>>,
    /// The answer prepared for the caller, sent when the callee answers.
    pub answer_a: Option<bytes::Bytes>,
    /// What the caller's leg negotiated.
    pub neg_a: Option<Negotiated>,
    /// What the answering callee's leg negotiated.
    pub neg_b: Option<Negotiated>,
    /// The B leg whose 18x carried SDP (early media relayed), and the
    /// callee-side session as it was before that answer (a 2xx from
    /// another fork answers the same offer again).
    pub early: Option<(usize, Box<SessionState>)>,
    /// Noise removal on both legs (route or user, spec CALL-NOISE-1).
    pub denoise: bool,
    /// The leg whose phone holds the other one (it offered `sendonly` or
    /// `inactive`).
    pub phone_hold: Option<MediaLeg>,
    /// The leg held from the control API (CALL-HOLD-1).
    pub api_hold: Option<MediaLeg>,
    /// Start recording when the call is answered (the route's `record`).
    pub record_on_answer: bool,
    /// The recording in progress.
    pub recording: Option<ActiveRecording>,
    /// Recordings completed on this call, for the CDR.
    pub recordings: Vec<RecordingRecord>,
    /// How many recordings were started (names the files).
    pub recordings_started: u32,
    /// The caller waits in an ACD queue: it hears music and announcements
    /// until an agent answers.
    pub queued: bool,
}

impl CallMedia {
    /// The leg that hears music on hold now: the API's choice first, else
    /// the other side of the phone that holds.
    pub fn held(&self) -> Option<MediaLeg> {
        self.api_hold
            .or(self.phone_hold.map(MediaLeg::other))
            .or(self.queued.then_some(MediaLeg::A))
    }

    /// The plan while the caller waits in a queue: the caller's leg as
    /// negotiated, and a callee leg with no address yet (nothing is sent
    /// to it) in the caller's format. `None` without the caller's answer
    /// (a delayed offer) or for a codec the switch cannot carry.
    pub fn queue_plan(&self, call: u64) -> Option<MediaCommand> {
        let a = self.neg_a.as_ref()?;
        let audio = LegAudio::from_negotiated(a)?;
        let leg_a = RelayLeg {
            local: self.local_a,
            remote: a.remote_rtp,
            remote_rtcp: a.remote_rtcp,
            audio,
            pt_map: Vec::new(),
            denoise: false,
            srtp: a.srtp.clone(),
            webrtc: WebrtcPlan::from_negotiated(&self.sdp_a, a),
        };
        let leg_b = RelayLeg {
            local: self.local_b,
            remote: None,
            remote_rtcp: None,
            srtp: None,
            webrtc: None,
            ..leg_a.clone()
        };
        Some(MediaCommand::Relay {
            call,
            a: Box::new(leg_a),
            b: Box::new(leg_b),
        })
    }

    /// The caller side's SDP `body` answers the switch's offer (a delayed
    /// offer's ACK, a callback customer's 18x or 2xx): negotiated, and the
    /// relay plan with the callee side's answer. `Err` says why not (the
    /// caller side is then left without an answer).
    pub(crate) fn accept_caller_answer(&mut self, call: u64, body: &[u8]) -> Result<MediaCommand, String> {
        let result = crate::sdp::parse(body)
            .map_err(|e| e.to_string())
            .and_then(|s| crate::sdp::accept_answer(&s, &mut self.sdp_a).map_err(|e| e.to_string()))
            .and_then(|neg_a| {
                self.neg_a = Some(neg_a);
                let neg_b = self.neg_b.clone().ok_or("no answer on the other leg")?;
                self.relay_plan(call, &neg_b)
                    .ok_or_else(|| "no audio codec".to_string())
            });
        if result.is_err() {
            self.neg_a = None;
        }
        result
    }

    /// The relay plan once the callee answered: the fast path when both
    /// legs use the same codec (payload types mapped, RFC 4733 events
    /// included), else a transcoded plan (each leg's own format).
    pub fn relay_plan(&self, call: u64, neg_b: &Negotiated) -> Option<MediaCommand> {
        let a = self.neg_a.as_ref()?;
        let (audio_a, audio_b) = (LegAudio::from_negotiated(a)?, LegAudio::from_negotiated(neg_b)?);
        let (mut to_a, mut to_b) = (Vec::new(), Vec::new());
        if audio_a.codec == audio_b.codec
            && audio_a.clock_rate == audio_b.clock_rate
            && match (audio_a.event_clock_rate, audio_b.event_clock_rate) {
                (Some(x), Some(y)) => x == y,
                _ => true,
            }
        {
            // Packets from the caller carry a.recv_pt; the callee expects neg_b.send_pt.
            to_b.push((a.recv_pt, neg_b.send_pt));
            to_a.push((neg_b.recv_pt, a.send_pt));
            if let (Some(ea), Some(eb)) = (&a.telephone_event, &neg_b.telephone_event) {
                to_b.push((ea.recv_pt, eb.send_pt));
                to_a.push((eb.recv_pt, ea.send_pt));
            }
        }
        Some(MediaCommand::Relay {
            call,
            a: Box::new(RelayLeg {
                local: self.local_a,
                remote: a.remote_rtp,
                remote_rtcp: a.remote_rtcp,
                audio: audio_a,
                pt_map: to_a,
                denoise: self.denoise,
                srtp: a.srtp.clone(),
                webrtc: WebrtcPlan::from_negotiated(&self.sdp_a, a),
            }),
            b: Box::new(RelayLeg {
                local: self.local_b,
                remote: neg_b.remote_rtp,
                remote_rtcp: neg_b.remote_rtcp,
                audio: audio_b,
                pt_map: to_b,
                denoise: self.denoise,
                srtp: neg_b.srtp.clone(),
                webrtc: WebrtcPlan::from_negotiated(&self.sdp_b, neg_b),
            }),
        })
    }
}

impl MediaLeg {
    /// The other leg of the two-party call (a party leg has no single
    /// other leg: itself).
    pub fn other(self) -> MediaLeg {
        match self {
            MediaLeg::A => MediaLeg::B,
            MediaLeg::B => MediaLeg::A,
            MediaLeg::Party(i) => MediaLeg::Party(i),
        }
    }
}
