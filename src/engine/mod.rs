//! The signalling engine: one sans-IO object that owns the transaction
//! layer, the registrar, digest verifiers and every B2BUA call, and routes
//! inputs between them (DESIGN.md "engine").
//!
//! Driving it: feed [`Input`]s with [`Engine::handle_input`], drain
//! [`Engine::poll_output`] until `None`, sleep until [`Engine::poll_timeout`]
//! and call [`Engine::handle_timeout`]. Time always comes in as [`Now`]
//! (monotonic for timers, unix milliseconds for records); the engine never
//! reads a clock, so tests run it in virtual time.

mod acd_records;
mod assign;
mod b2bua;
mod callback_calls;
mod callbacks;
mod calls;
mod consult;
mod control;
mod courtesy;
pub mod desk;
mod desk_ops;
mod flows;
pub use flows::EntryPointCounts;
mod inbound;
mod monitor;
mod offer_view;
mod queue;
mod queue_data;
mod queue_wait;
mod refer;
mod registration;
mod rooms;
pub mod screen;
mod transfer;
mod trunk_health;
mod trunk_reg;
mod trunk_route;
mod voicemail;
mod voicemail_box;
mod voicemail_work;

use crate::call::{Call, CallLinks, CallOutput, CallTimer};
pub use crate::call::{CallControl, ControlError, Party};
use crate::config::Config;
use crate::ids::{CallRef, IdGen};
use crate::records::CdrRecord;
use crate::sip::auth::{AuthThrottle, DigestServer, ThrottleConfig};
use crate::sip::registrar::{Binding, BindingChange, Registrar, RegistrarConfig};
use crate::sip::transaction::{Destination, TimerConfig, TransactionLayer, TransportKind, TxId};
pub use crate::time::Now;
use crate::time::TimerTable;
use bytes::Bytes;
pub use callbacks::{
    AssignAsked, CallbackCommand, CallbackReply, CallbackView, CreateRequest, EditRequest, Requester, WindowView,
};
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
pub use trunk_health::TrunkSummary;
pub use voicemail_box::{VoicemailCommand, VoicemailError, VoicemailReply, VoicemailView};

/// Something that happened at the I/O edge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// A UDP datagram, or one message framed from a TCP stream.
    Packet {
        /// Our socket's address (selects the profile).
        local: SocketAddr,
        /// The sender.
        peer: SocketAddr,
        /// UDP or TCP.
        transport: TransportKind,
        /// The bytes.
        data: Bytes,
    },
    /// The start line and headers of a message a stream could not frame
    /// (its Content-Length is bad, negative, repeated or too large; RFC 3261
    /// §18.3, RFC 4475 `ncl`, `mcl01`). A request is answered on the
    /// connection with a `400` naming the fault; the driver then closes the
    /// connection, so nothing else of the message is read.
    Unframeable {
        /// Our socket's address (selects the profile).
        local: SocketAddr,
        /// The sender.
        peer: SocketAddr,
        /// TCP (or another stream transport).
        transport: TransportKind,
        /// The start line and header section, blank line included.
        head: Bytes,
        /// Why the message could not be framed (the reason phrase).
        error: crate::sip::msg::ParseError,
    },
    /// A send failed (no route, connection refused, closed connection).
    SendFailed {
        /// The transaction whose message could not be sent.
        tx: TxId,
    },
    /// The media workers could not bind a call's ports (another process
    /// holds one): the call cannot carry media.
    MediaFailed {
        /// The engine's call number.
        call: u64,
    },
    /// A key pressed on a bridged leg (RFC 4733), reported by its media
    /// session: a meet-me room caller's PIN (issue 9).
    Digit {
        /// The media session (a call's number, or a room's media number).
        session: u64,
        /// The leg of that session.
        leg: crate::call::media::MediaLeg,
        /// The key.
        digit: char,
    },
}

/// Something the driver must do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    /// Send bytes (from `dest.local` to `dest.addr` over `dest.transport`).
    Transmit {
        /// Where and how.
        dest: Destination,
        /// The message.
        bytes: Bytes,
        /// The transaction, to report a failed send with [`Input::SendFailed`].
        tx: Option<TxId>,
    },
    /// Persist a registration binding (insert or update).
    SaveBinding(Binding),
    /// Remove a persisted binding.
    DeleteBinding(Binding),
    /// Write a call-detail record.
    Cdr(CdrRecord),
    /// Tell the media workers (anchored calls only).
    Media(crate::call::media::MediaCommand),
    /// Push an event to the desktops (the agent's stream and supervisors').
    Desk(desk::DeskEvent),
    /// Write a contact-center record: agent audit, interaction, leg CDR
    /// (spec AGENT-6, HIST-3), callback (CB-8), voicemail message (issue
    /// 14 item 5).
    Acd(crate::records::AcdRecord),
}

/// Engine-level timers (the transaction layer and the calls keep their own).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum EngineTimer {
    /// (Re-)register with the trunk at this index of the config.
    TrunkRegister(usize),
    /// OPTIONS keepalive to the trunk at this index (engine/trunk_health.rs).
    TrunkOptions(usize),
    /// Repeat a queued caller's 18x (RFC 3261 §13.3.1.1).
    Progress(CallRef),
    /// Announce a queued caller's place in line and expected wait.
    Announce(CallRef),
    /// A caller's entry-point flow is due (a prompt ended, a wait ran out).
    Flow(CallRef),
    /// A voicemail caller's greeting, tone, message or goodbye is due.
    Voicemail(CallRef),
    /// Verify a request held by the authentication tarpit
    /// (`engine/registration.rs`).
    AuthRelease(TxId),
    /// A callback's window starts, or due callbacks are looked at again
    /// (`engine/callback_calls.rs`).
    CallbacksDue,
    /// A waiting caller's courtesy callback (CB-1, `engine/courtesy.rs`):
    /// a look at its wait, a key wait ran out, or the confirmation ended.
    Courtesy(CallRef),
}

/// One live call as the control API shows it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct CallSummary {
    /// The engine's call number.
    pub id: u64,
    /// Who called (authenticated user or `trunk:<name>`).
    pub caller: String,
    /// What was dialled.
    pub callee: String,
    /// The route taken (`user:1001`, `trunk:carrier`).
    pub route: String,
    /// `routing`, `answered` or `ended`.
    pub state: &'static str,
    /// Unix ms of the INVITE.
    pub started_ms: u64,
    /// Unix ms of the answer.
    pub answered_ms: Option<u64>,
    /// The caller leg's Call-ID.
    pub a_call_id: String,
    /// The answering (or first) callee leg's Call-ID.
    pub b_call_id: Option<String>,
    /// True when the call's media flows through the switch.
    pub anchored: bool,
    /// The party on hold (`caller` or `callee`), if any.
    pub held: Option<&'static str>,
    /// `recording` or `paused` while a recording runs.
    pub recording: Option<&'static str>,
}

/// A queue's live numbers for `/metrics` (issue 13 item 4), by the name
/// the admin gave it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QueueMetrics {
    /// The queue's name in `acd.toml`.
    pub name: String,
    /// Customers not yet answered in it (waiting, or ringing an agent).
    pub waiting: u64,
    /// The longest of their waits in this queue.
    pub longest_wait: std::time::Duration,
    /// The queue's agents in each AGENT-1 state (`AgentState::NAMES` order).
    pub agents: [(&'static str, u64); 6],
}

/// Counters for the load scripts and the logs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Calls created.
    pub calls_started: u64,
    /// Calls answered.
    pub calls_answered: u64,
    /// Calls live now.
    pub calls_active: u64,
    /// Requests answered 400 for being malformed.
    pub malformed: u64,
    /// Live SIP transactions (they linger for Timer D/J/K/L/M after ending).
    pub transactions: u64,
    /// Live dialogs.
    pub dialogs: u64,
    /// Current registrations (contacts of phones).
    pub registrations: u64,
    /// Armed timers of the engine and of the calls (the transaction
    /// layer's are one per transaction at most).
    pub timers: u64,
    /// Transactions the calls know of (each ends with its transaction).
    pub call_transactions: u64,
    /// Sources and source-user pairs the authentication throttle tracks.
    pub auth_tracked: u64,
    /// Requests the authentication tarpit holds.
    pub auth_held: u64,
}

/// The signalling engine.
pub struct Engine {
    pub(crate) cfg: Arc<Config>,
    pub(crate) txl: TransactionLayer,
    pub(crate) registrar: Registrar,
    pub(crate) digest: HashMap<String, DigestServer>,
    pub(crate) throttle: AuthThrottle,
    /// Requests the tarpit holds until their [`EngineTimer::AuthRelease`],
    /// with where they came from.
    pub(crate) held_auth: HashMap<TxId, (crate::sip::msg::Message, Destination)>,
    /// Held requests being handled again: verified, not held twice.
    pub(crate) released_auth: Vec<TxId>,
    pub(crate) ids: IdGen,
    pub(crate) calls: HashMap<CallRef, Box<Call>>,
    /// Transactions and dialogs to calls (kept up to date by the calls).
    pub(crate) links: CallLinks,
    /// Our REGISTER transactions to trunks, by config index.
    pub(crate) trunk_txs: HashMap<TxId, usize>,
    pub(crate) timers: TimerTable<EngineTimer>,
    /// The calls' timers.
    pub(crate) call_timers: TimerTable<(CallRef, CallTimer)>,
    /// What calls handed back, drained by [`Engine::apply_call_outputs`].
    pub(crate) call_out: VecDeque<CallOutput>,
    /// Calls touched while handling the current input (reaped at its end
    /// when nothing is pending on them), and how deep calls are nested.
    pub(crate) touched: Vec<CallRef>,
    pub(crate) call_depth: u32,
    pub(crate) out: VecDeque<Output>,
    pub(crate) next_call: u64,
    pub(crate) stats: Stats,
    /// SIP requests and responses in and out, for `/metrics`.
    pub(crate) sip_counters: crate::sip::counters::SipCounters,
    pub(crate) limits: crate::sip::msg::Limits,
    pub(crate) shutting_down: bool,
    pub(crate) trunk_regs: HashMap<String, trunk_reg::TrunkRegistration>,
    /// Trunk health (OPTIONS keepalive) and weighted routing counters.
    pub(crate) trunks: trunk_health::Trunks,
    /// The latest time the driver gave us: converts the registrar's
    /// wall-clock expiries into a monotonic deadline.
    pub(crate) last_now: Option<Now>,
    /// RTP ports for anchored legs (`[media] rtp_ports`, normalised to an
    /// even first and odd last port); `None` if the range holds no pair.
    pub(crate) ports: Option<crate::sdp::PortPool>,
    /// The ACD core (`acd.toml`), fed by queue calls and the desktops.
    pub(crate) acd: crate::acd::Acd,
    /// The engine's side of the ACD's interactions (engine/queue.rs).
    pub(crate) queues: queue::QueueState,
    /// Meet-me rooms in use (engine/rooms.rs).
    pub(crate) rooms: rooms::Rooms,
    /// Callers in entry points (engine/flows.rs).
    pub(crate) flows: flows::Flows,
    /// Callers leaving a voicemail (engine/voicemail.rs).
    pub(crate) voicemails: voicemail::Voicemails,
    /// Callback requests (CB-1..CB-8, engine/callbacks.rs).
    pub(crate) callbacks: crate::acd::callback::CallbackBook,
    /// Callbacks being placed (engine/callback_calls.rs).
    pub(crate) placing: callback_calls::Placing,
    /// Waiting callers offered a courtesy callback (engine/courtesy.rs).
    pub(crate) courtesy: courtesy::CourtesyCalls,
    /// Queue voicemail messages as ACD work items (engine/voicemail_work.rs).
    pub(crate) voicemail_items: voicemail_work::VoicemailItems,
    /// The `a=fingerprint` of the switch's DTLS certificate (issue 12):
    /// with it, legs answer WebRTC offers; `None` refuses them.
    pub(crate) dtls_fingerprint: Option<String>,
}

impl Engine {
    /// An engine for `cfg`; `seed` seeds tags, branches, Call-IDs, the
    /// digest nonce key and the SRTP keys (tests: reproducible runs).
    pub fn new(cfg: Arc<Config>, seed: u64) -> Engine {
        Engine::with_ids(cfg, IdGen::seeded(seed))
    }

    /// An engine whose generator is seeded with 256 bits from the OS, as
    /// the switch runs: the digest nonce key and the SRTP master keys come
    /// from it, so the seed must be as strong as they are.
    pub fn with_entropy(cfg: Arc<Config>, entropy: [u8; 32]) -> Engine {
        Engine::with_ids(cfg, IdGen::from_entropy(entropy))
    }

    /// Lets legs answer (and offer browsers) WebRTC media, with the
    /// switch's DTLS certificate fingerprint (`sha-256 AB:..`, RFC 8122 §5)
    /// in their SDP (issue 12).
    pub fn set_dtls_fingerprint(&mut self, fingerprint: Option<String>) {
        self.dtls_fingerprint = fingerprint;
    }

    fn with_ids(cfg: Arc<Config>, mut ids: IdGen) -> Engine {
        let sip = cfg.sip();
        let txl = TransactionLayer::new(TimerConfig {
            t1: sip.t1,
            t2: sip.t2,
            t4: sip.t4,
            trying_delay: None,
        });
        let r = cfg.registrar();
        let registrar = Registrar::new(RegistrarConfig {
            min_expires: r.min_expires,
            max_expires: r.max_expires,
            default_expires: r.default_expires,
        });
        let sec = cfg.security();
        let mut digest = HashMap::new();
        for p in cfg.profiles() {
            if let crate::config::AuthPolicy::Digest { realm } = &p.auth {
                digest.insert(
                    p.name.clone(),
                    DigestServer::new(realm.clone(), ids.secret(), sec.nonce_ttl)
                        .with_algorithms(sec.digest_algorithms.clone()),
                );
            }
        }
        let throttle = AuthThrottle::new(ThrottleConfig {
            per_user: sec.auth_failures_per_user,
            per_source: sec.auth_failures_per_source,
            max_delay: sec.auth_tarpit_max,
            ..ThrottleConfig::default()
        });
        let limits = crate::sip::msg::Limits {
            max_message: sip.max_message_bytes,
            max_headers: sip.max_headers,
        };
        let range = cfg.media().rtp_ports;
        let acd = crate::acd::Acd::new(cfg.acd().core_config()).unwrap_or_else(|e| {
            // Config validation checks what Acd::new checks: not reached.
            tracing::error!(error = %e, "ACD configuration refused: no queues");
            crate::acd::Acd::empty()
        });
        let ports = crate::sdp::PortPool::new(range.lo() + range.lo() % 2, range.hi() - (1 - range.hi() % 2)).ok();
        Engine {
            cfg,
            txl,
            registrar,
            digest,
            throttle,
            held_auth: HashMap::new(),
            released_auth: Vec::new(),
            ids,
            calls: HashMap::new(),
            links: CallLinks::default(),
            trunk_txs: HashMap::new(),
            timers: TimerTable::new(),
            call_timers: TimerTable::new(),
            call_out: VecDeque::new(),
            touched: Vec::new(),
            call_depth: 0,
            out: VecDeque::new(),
            next_call: 1,
            stats: Stats::default(),
            sip_counters: Default::default(),
            limits,
            shutting_down: false,
            trunk_regs: HashMap::new(),
            trunks: trunk_health::Trunks::default(),
            last_now: None,
            ports,
            acd,
            queues: queue::QueueState::default(),
            rooms: rooms::Rooms::default(),
            flows: flows::Flows::default(),
            voicemails: voicemail::Voicemails::default(),
            callbacks: crate::acd::callback::CallbackBook::new(),
            placing: callback_calls::Placing::default(),
            courtesy: courtesy::CourtesyCalls::default(),
            voicemail_items: voicemail_work::VoicemailItems::default(),
            dtls_fingerprint: None,
        }
    }

    /// The running configuration.
    pub fn config(&self) -> &Arc<Config> {
        &self.cfg
    }

    /// Replaces the configuration (SIGHUP reload). Profiles' sockets are the
    /// driver's business; calls in progress keep their routes.
    pub fn reload(&mut self, cfg: Arc<Config>) {
        for p in cfg.profiles() {
            if let crate::config::AuthPolicy::Digest { realm } = &p.auth {
                let keep = self.digest.get(&p.name).map(|d| d.realm() == realm).unwrap_or(false);
                if !keep {
                    let secret = self.ids.secret();
                    let server = DigestServer::new(realm.clone(), secret, cfg.security().nonce_ttl)
                        .with_algorithms(cfg.security().digest_algorithms.clone());
                    self.digest.insert(p.name.clone(), server);
                }
            }
        }
        // The ACD core was built from the contact center of the first
        // config (its queue and agent ids are indexes into it): a changed
        // acd.toml takes effect at the next restart, the running queues,
        // agents and tokens stay.
        self.cfg = if cfg.acd() == self.cfg.acd() {
            cfg
        } else {
            tracing::warn!("acd.toml changed: the change takes effect at the next restart");
            Arc::new(cfg.with_acd_of(&self.cfg))
        };
    }

    /// Restores registrations persisted before a restart.
    pub fn load_bindings(&mut self, bindings: Vec<Binding>) {
        self.registrar.load(bindings);
    }

    /// Counters.
    pub fn stats(&self) -> Stats {
        Stats {
            // A callback waiting in its queue (no leg up yet) is no call.
            calls_active: self
                .calls
                .values()
                .filter(|c| c.dial_state() != Some(crate::call::DialState::AgentFirst) || !c.b.is_empty())
                .count() as u64,
            transactions: self.txl.len() as u64,
            dialogs: self.links.dialogs.len() as u64,
            registrations: self.registrar.len() as u64,
            timers: (self.timers.len() + self.call_timers.len()) as u64,
            call_transactions: self.links.txs.len() as u64,
            auth_tracked: self.throttle.tracked() as u64,
            auth_held: self.held_auth.len() as u64,
            ..self.stats
        }
    }

    /// Every queue by its name with the customers waiting in it and the
    /// longest wait at `now`, and the agents in each AGENT-1 state
    /// (`/metrics`, issue 13 item 4).
    pub fn acd_gauges(&self, now: Instant) -> (Vec<QueueMetrics>, [(&'static str, u64); 6]) {
        let queues = self
            .acd
            .queue_gauges(now)
            .into_iter()
            .map(|g| QueueMetrics {
                name: self
                    .cfg
                    .acd()
                    .queue(g.queue)
                    .map(|q| q.name.clone())
                    .unwrap_or_else(|| g.queue.to_string()),
                waiting: g.waiting as u64,
                longest_wait: g.longest_wait,
                agents: g.agents,
            })
            .collect();
        (queues, self.acd.agents_by_state())
    }

    /// SIP requests and responses received and sent so far (`/metrics`).
    pub fn sip_counters(&self) -> crate::sip::counters::SipCounters {
        self.sip_counters
    }

    /// Every live call, oldest first (control API, SUP-1 later).
    pub fn calls_snapshot(&self) -> Vec<CallSummary> {
        let mut out: Vec<CallSummary> = self
            .calls
            .values()
            .map(|c| CallSummary {
                id: c.id.0,
                caller: c.caller.clone(),
                callee: c.callee.clone(),
                route: c.route.clone(),
                state: match c.phase {
                    crate::call::Phase::Routing => "routing",
                    crate::call::Phase::Answered => "answered",
                    crate::call::Phase::Ended => "ended",
                },
                started_ms: c.started_ms,
                answered_ms: c.answered_ms,
                a_call_id: String::from_utf8_lossy(&c.a.call_id).into_owned(),
                b_call_id: c.b_call_id(),
                anchored: c.media.is_some(),
                held: c.media.as_ref().and_then(|m| m.held()).map(|l| match l {
                    crate::call::media::MediaLeg::A => "caller",
                    crate::call::media::MediaLeg::B => "callee",
                    crate::call::media::MediaLeg::Party(_) => "party",
                }),
                recording: c.media.as_ref().and_then(|m| m.recording.as_ref()).map(|r| {
                    if r.paused_since.is_some() {
                        "paused"
                    } else {
                        "recording"
                    }
                }),
            })
            .collect();
        out.sort_by_key(|c| c.id);
        out
    }

    /// Current registrations of `aor` at `now`.
    pub fn bindings(&self, now: Now, aor: &str) -> Vec<Binding> {
        self.registrar.lookup(now.unix_s(), aor)
    }

    /// Handles one input.
    pub fn handle_input(&mut self, now: Now, input: Input) {
        self.last_now = Some(now);
        match input {
            Input::Packet {
                local,
                peer,
                transport,
                data,
            } => {
                let src = Destination {
                    addr: peer,
                    transport,
                    local,
                };
                self.on_packet(now, src, data);
            }
            Input::Unframeable {
                local,
                peer,
                transport,
                head,
                error,
            } => {
                let src = Destination {
                    addr: peer,
                    transport,
                    local,
                };
                self.on_unframeable(src, head, &error);
            }
            Input::SendFailed { tx } => self.txl.handle_transport_error(now.mono, tx),
            Input::MediaFailed { call } => {
                self.with_call(now, CallRef(call), |c, ctx| {
                    c.handle(ctx, crate::call::CallInput::MediaFailed)
                });
            }
            Input::Digit { session, leg, digit } => self.on_digit(now, session, leg, digit),
        }
        self.pump(now);
    }

    /// The next output, if any.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// When [`Self::handle_timeout`] must next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let expiry = match (self.registrar.poll_timeout(), self.last_now) {
            (Some(at_s), Some(last)) => {
                Some(last.mono + Duration::from_millis((at_s * 1000).saturating_sub(last.unix_ms)))
            }
            _ => None,
        };
        [
            self.txl.poll_timeout(),
            self.timers.next_expiry(),
            self.call_timers.next_expiry(),
            expiry,
            self.acd.poll_timeout(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Fires due timers (transactions, calls, registration expiry).
    pub fn handle_timeout(&mut self, now: Now) {
        self.last_now = Some(now);
        self.txl.handle_timeout(now.mono);
        while let Some((t, _)) = self.timers.pop_expired(now.mono) {
            self.on_engine_timer(now, t);
        }
        while let Some(((id, t), _)) = self.call_timers.pop_expired(now.mono) {
            self.on_call_timer(now, id, t);
        }
        if self.acd.poll_timeout().is_some_and(|t| t <= now.mono) {
            let _ = self.acd_event(now, crate::acd::AcdEvent::Timeout);
        }
        for b in self.registrar.expire(now.unix_s()) {
            self.out.push_back(Output::DeleteBinding(b));
        }
        self.throttle.prune(now.mono);
        crate::ids::shrink_if_sparse(&mut self.calls);
        crate::ids::shrink_if_sparse(&mut self.trunk_txs);
        crate::ids::shrink_if_sparse(&mut self.links.dialogs);
        crate::ids::shrink_if_sparse(&mut self.links.txs);
        self.pump(now);
    }

    /// Starts a clean shutdown: every call is ended (BYE to answered legs,
    /// CANCEL to ringing ones, 503 to callers still routing).
    pub fn shutdown(&mut self, now: Now) {
        self.shutting_down = true;
        let refs: Vec<CallRef> = self.calls.keys().copied().collect();
        for c in refs {
            self.with_call(now, c, |c, ctx| c.end(ctx, "shutdown"));
        }
        self.pump(now);
    }

    /// True when no call is live (a shutdown can finish).
    pub fn is_idle(&self) -> bool {
        self.calls.is_empty()
    }

    pub(crate) fn persist(&mut self, changes: Vec<BindingChange>) {
        for c in changes {
            self.out.push_back(match c {
                BindingChange::Added(b) | BindingChange::Refreshed(b) => Output::SaveBinding(b),
                BindingChange::Removed(b) => Output::DeleteBinding(b),
            });
        }
    }

    /// Moves transaction-layer transmits and events into outputs and call logic.
    pub(crate) fn pump(&mut self, now: Now) {
        loop {
            let mut progressed = false;
            while let Some(t) = self.txl.poll_transmit() {
                self.sip_counters.sent(&t.bytes);
                self.out.push_back(Output::Transmit {
                    dest: t.dest,
                    bytes: t.bytes,
                    tx: t.tx,
                });
                progressed = true;
            }
            while let Some(ev) = self.txl.poll_event() {
                self.on_tx_event(now, ev);
                progressed = true;
            }
            if !progressed {
                break;
            }
        }
    }
}
