//! What a call borrows from the engine while it handles one input, and what
//! it hands back.
//!
//! A [`Call`](super::Call) is a sans-IO state machine like the others
//! (DESIGN.md "pure cores"): it never reads a clock or touches a socket.
//! Its inputs are method calls ([`super::Call::handle`] for SIP traffic and
//! timers, plus commands such as `ring`, `control`, `start_monitor`) made
//! with a [`CallCtx`]: the time, and the services the engine lends for the
//! duration of that one input — the transaction layer (pure too: requests
//! and responses go through it), the id generator, the port pool, the maps
//! that route later messages back to the call ([`CallLinks`]) and the call
//! timer table. Everything else comes out as [`CallOutput`]s on one queue
//! shared by all calls (no per-call allocation: the memory per held dialog
//! is a measured figure): media commands, records, and [`CallEvent`]s for
//! the engine to route (to the ACD, to the statistics).

use super::Side;
use crate::call::media::MediaCommand;
use crate::ids::{CallRef, IdGen};
use crate::records::{CdrRecord, LegCdrRecord};
use crate::sdp::PortPool;
use crate::sip::dialog::DialogKey;
use crate::sip::msg::typed::{Transport as ViaTransport, Via};
use crate::sip::msg::{Host, Message, StatusCode, Uri};
use crate::sip::transaction::{Destination, TransactionLayer, TransportKind, TxId};
use crate::time::{Now, TimerTable};
use bytes::Bytes;
use std::collections::{HashMap, VecDeque};
use std::time::Instant;

/// Who a client transaction belongs to, so its responses find their way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxOwner {
    /// A call: its INVITEs (either side) and relayed in-dialog requests.
    Call(CallRef),
    /// A request sent for the switch's own reasons (a BYE after a lost
    /// ACK, a BYE to a losing fork): its answer needs no action.
    Detached,
}

/// The engine's routing maps a call keeps up to date: transactions and
/// dialogs to calls.
#[derive(Debug, Default)]
pub struct CallLinks {
    /// Transactions by id.
    pub txs: HashMap<TxId, TxOwner>,
    /// Dialogs (either side of any call) by key.
    pub dialogs: HashMap<DialogKey, (CallRef, Side)>,
    /// The most recent dialogs that ended (at most [`ENDED_KEPT`]): an
    /// INVITE with Replaces naming one gets 603, not 481 (RFC 3891 §3).
    pub ended: std::collections::VecDeque<DialogKey>,
}

/// How many ended dialogs [`CallLinks::ended`] remembers.
pub const ENDED_KEPT: usize = 1024;

impl CallLinks {
    /// Remembers that dialog `key` ended.
    pub fn dialog_ended(&mut self, key: DialogKey) {
        if self.ended.len() >= ENDED_KEPT {
            self.ended.pop_front();
        }
        self.ended.push_back(key);
    }
}

/// A call's timers (DESIGN.md convention 2); the engine keeps them in one
/// table keyed by `(call, timer)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CallTimer {
    /// The route's no-answer timeout for a ringing call.
    NoAnswer,
    /// Retransmit the 2xx to the A leg until its ACK (§13.3.1.4).
    Retransmit2xx,
    /// Forget a call that has ended once stragglers are handled.
    Reap,
    /// A recording pause ends by itself (`[recording] max_pause_s`).
    PauseEnd,
    /// A meet-me room caller had its time to key the room's PIN.
    PinEntry,
    /// Retransmit the caller's unacknowledged reliable provisional
    /// response (RFC 3262 §3).
    Retransmit1xx,
    /// A trunk leg (this index) of a trunk list has had no response at all
    /// for the trunk's `failover_timeout_ms`: try the next trunk.
    TrunkSilent(usize),
    /// Send our session refresh on this leg (RFC 4028 §10: half the
    /// interval; also the RFC 3261 §14.1 retry after a 491).
    SessionRefresh(Side),
    /// This leg's session expires without a refresh (RFC 4028 §10).
    SessionExpiry(Side),
}

/// What a call tells the engine, for it to route.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallEvent {
    /// The caller was answered (statistics).
    Answered,
    /// A placed leg of a call whose answer is the ACD's to decide
    /// ([`super::Call::acd`]) answered: the engine replies at once with
    /// [`super::Call::connect`] or [`super::Call::refuse`].
    OfferAnswered {
        /// The leg.
        leg: usize,
    },
    /// A placed leg of an ACD call failed (its final non-2xx or timeout).
    OfferFailed {
        /// The leg.
        leg: usize,
        /// Its final status.
        code: StatusCode,
    },
    /// A phone put the call on or off hold (re-INVITE `sendonly`/`inactive`).
    HoldChanged {
        /// On hold now.
        held: bool,
    },
    /// The caller keyed a digit in SIP INFO (`application/dtmf-relay`)
    /// while not yet answered (an entry point's menu, issue 14).
    Key {
        /// `0`-`9`, `*`, `#`, `A`-`D`.
        digit: char,
    },
    /// A consulted party's phone rings (CALL-CONSULT-2).
    PartyRinging {
        /// The party leg.
        party: usize,
    },
    /// A consulted party answered: transfer and conference are possible
    /// now (CALL-CONSULT-2).
    PartyAnswered {
        /// The party leg.
        party: usize,
    },
    /// A consulted party did not answer or could not be reached
    /// (CALL-CONSULT-3).
    PartyFailed {
        /// The party leg.
        party: usize,
        /// Its final status.
        code: StatusCode,
    },
    /// A leg left a consult or conference and the call goes on: a party,
    /// the primary agent (CALL-CONF-2) or the customer (post-call, CALL-CONF-4).
    PartyLeft {
        /// The leg.
        leg: super::media::MediaLeg,
    },
    /// A leg sent REFER (RFC 3515): the engine routes `number` in that
    /// leg's dial plan and answers with `accept_refer` or `refuse_refer`.
    ReferRequested {
        /// The referrer's side.
        side: super::Side,
        /// The Refer-To URI's user part (the number to transfer to).
        number: String,
        /// The Referred-By header, as sent (RFC 3892).
        referred_by: Option<Bytes>,
        /// An attended transfer's `Replaces` (RFC 3891): the other call
        /// whose far party joins this one.
        replaces: Option<super::refer::ReplacesId>,
    },
    /// A callback call's agent answered and is connected: the engine
    /// writes the dialling state durably (CB-8), then calls
    /// [`super::Call::dial_customer`] when a call slot is free (CB-7).
    CallbackAgentReady,
    /// A callback call's customer answered.
    CallbackAnswered,
    /// A callback call's customer did not answer, refused or could not be
    /// reached (CB-6); the final status (408 for the ring time).
    CallbackUnanswered {
        /// The final status.
        code: StatusCode,
    },
    /// The call ended (before its CDR).
    Ended {
        /// Why (`caller_hangup`, `no_answer`, ...).
        cause: String,
    },
    /// The call's reap timer fired: forget it now.
    Reap,
}

/// One output of a call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallOutput {
    /// Tell the media workers.
    Media(MediaCommand),
    /// The call's CDR.
    Cdr(CdrRecord),
    /// A leg CDR (HIST-3) of a leg the call itself ends (the monitor's).
    LegCdr(LegCdrRecord),
    /// For the engine to route.
    Event(CallRef, CallEvent),
}

/// What a call borrows from the engine while it handles one input.
pub struct CallCtx<'a> {
    /// The time of the input.
    pub now: Now,
    /// The transaction layer (requests and responses go through it).
    pub txl: &'a mut TransactionLayer,
    /// Tags, branches, Call-IDs, SDP session ids.
    pub ids: &'a mut IdGen,
    /// The running config (user agent, anchoring, recording, trunks' credentials).
    pub cfg: &'a crate::config::Config,
    /// RTP ports for anchored legs (`None`: the range holds no pair).
    pub ports: &'a mut Option<PortPool>,
    /// Routing maps.
    pub links: &'a mut CallLinks,
    /// Call timers.
    pub timers: &'a mut TimerTable<(CallRef, CallTimer)>,
    /// Outputs for the engine.
    pub out: &'a mut VecDeque<CallOutput>,
    /// The switch's DTLS fingerprint, when WebRTC legs are possible (issue 12).
    pub dtls_fingerprint: Option<&'a str>,
}

impl CallCtx<'_> {
    /// The SRTP policy of the profile that owns signalling address `local`
    /// (a profile's `srtp`; `off` when none does).
    pub fn srtp_policy(&self, local: std::net::SocketAddr) -> crate::sdp::SrtpPolicy {
        self.cfg.profile_for_local(local).map(|p| p.srtp).unwrap_or_default()
    }

    /// A new leg's SDP session under `policy`, with a fresh SRTP key for the
    /// leg unless the policy is `off` (issue 11 item 2).
    pub fn sdp_session(&mut self, policy: crate::sdp::SrtpPolicy) -> crate::sdp::SessionState {
        self.sdp_session_toward(policy, false)
    }

    /// [`CallCtx::sdp_session`] for a leg whose offers are WebRTC offers
    /// when `browser` (the callee registered over WebSocket). Every leg gets
    /// ICE credentials and an SSRC, so any leg can answer a WebRTC offer
    /// when the switch has a DTLS certificate (issue 12).
    pub fn sdp_session_toward(&mut self, policy: crate::sdp::SrtpPolicy, browser: bool) -> crate::sdp::SessionState {
        let state = crate::sdp::SessionState::new(self.ids.number());
        let key =
            (policy != crate::sdp::SrtpPolicy::Off).then(|| crate::rtp::srtp::MasterKey::new(self.ids.key_bytes()));
        let state = state.with_srtp(crate::sdp::LocalSrtp { policy, key });
        match self.dtls_fingerprint {
            Some(fingerprint) => {
                let ice = crate::webrtc::ice_lite::IceCredentials::from_entropy(self.ids.key_bytes());
                state.with_webrtc(crate::sdp::LocalWebrtc {
                    ice_ufrag: ice.ufrag,
                    ice_pwd: ice.pwd,
                    fingerprint: fingerprint.to_owned(),
                    ssrc: u32::from_be_bytes(self.ids.key_bytes()),
                    offer: browser,
                })
            }
            None => state,
        }
    }

    /// A new top Via for a request we send from `dest.local`.
    pub fn new_via(&mut self, dest: Destination) -> Bytes {
        new_via(self.ids, dest)
    }

    /// Sends a response on server transaction `tx`.
    pub fn respond(&mut self, tx: TxId, resp: Message) {
        if let Err(e) = self.txl.send_response(self.now.mono, tx, resp) {
            tracing::debug!(%tx, error = %e, "response not sent");
        }
    }

    /// Sends a request in a new client transaction owned by `owner`.
    pub fn send_request(&mut self, owner: TxOwner, req: Message, dest: Destination) -> Option<TxId> {
        match self.txl.send_request(self.now.mono, req, dest) {
            Ok(tx) => {
                self.links.txs.insert(tx, owner);
                Some(tx)
            }
            Err(e) => {
                tracing::warn!(error = %e, "request not sent");
                None
            }
        }
    }

    /// CANCELs the INVITE client transaction `tx` (§9.1).
    pub fn cancel(&mut self, tx: TxId) {
        let _ = self.txl.client_cancel(self.now.mono, tx);
    }

    /// Arms `timer` of `call` at `at`.
    pub fn set_timer(&mut self, call: CallRef, timer: CallTimer, at: Instant) {
        self.timers.set((call, timer), at);
    }

    /// Disarms `timer` of `call`.
    pub fn cancel_timer(&mut self, call: CallRef, timer: CallTimer) {
        self.timers.cancel((call, timer));
    }

    /// A media command.
    pub fn media(&mut self, cmd: MediaCommand) {
        self.out.push_back(CallOutput::Media(cmd));
    }

    /// An event for the engine.
    pub fn event(&mut self, call: CallRef, ev: CallEvent) {
        self.out.push_back(CallOutput::Event(call, ev));
    }

    /// Returns an RTP port to the pool.
    pub fn release_port(&mut self, port: u16) {
        if let Some(pool) = self.ports.as_mut() {
            let _ = pool.release(port);
        }
    }
}

/// `<sip:user@local:port>` (with `;transport=tcp` over TCP, `;transport=tls`
/// over TLS, RFC 5630 §3.1.3: `sip:` with a transport, not `sips:`, since
/// the switch does not promise TLS on every hop; `;transport=ws` over
/// WebSocket, secure or not, RFC 7118 §5.2, which is what browser stacks
/// such as JsSIP expect): the Contact of everything the switch sends from
/// `dest.local`.
pub fn contact_for(user: &str, dest: Destination) -> Bytes {
    let mut uri = Uri::sip(Some(user), Host::from_ip(dest.local.ip()), Some(dest.local.port()));
    match dest.transport {
        TransportKind::Udp => {}
        TransportKind::Tls => uri.params.set("transport", Some(Bytes::from_static(b"tls"))),
        TransportKind::Ws | TransportKind::Wss => uri.params.set("transport", Some(Bytes::from_static(b"ws"))),
        _ => uri.params.set("transport", Some(Bytes::from_static(b"tcp"))),
    }
    Bytes::from(format!("<{uri}>"))
}

/// A new top Via (fresh branch) for a request the switch sends from
/// `dest.local` (`SIP/2.0/WS` or `WSS` over WebSocket, RFC 7118 §5.1).
pub fn new_via(ids: &mut IdGen, dest: Destination) -> Bytes {
    let t = match dest.transport {
        TransportKind::Udp => ViaTransport::Udp,
        TransportKind::Tls => ViaTransport::Tls,
        TransportKind::Ws => ViaTransport::Ws,
        TransportKind::Wss => ViaTransport::Wss,
        _ => ViaTransport::Tcp,
    };
    let branch = ids.branch();
    Via::new(t, Host::from_ip(dest.local.ip()), Some(dest.local.port()), &branch).to_bytes()
}
