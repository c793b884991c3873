//! The SIP transaction layer (RFC 3261 §17, with RFC 6026's Accepted
//! states): a sans-IO [`TransactionLayer`] that owns every client and
//! server transaction, matches incoming messages to them and runs their
//! retransmission and timeout timers.
//!
//! Implements:
//! - the four machines of §17.1.1, §17.1.2, §17.2.1 and §17.2.2, one file
//!   each, with RFC 6026 §7 (INVITE Accepted states, Timers L and M);
//! - matching of responses to client transactions (§17.1.3: top Via branch
//!   plus CSeq method) and of requests to server transactions (§17.2.3:
//!   branch, sent-by and method, ACK matching its INVITE), CANCEL matching
//!   its INVITE (§9.2, [`TransactionLayer::find_invite_for_cancel`]);
//! - the ACK for a non-2xx final response (§17.1.1.3) and CANCEL
//!   construction, held until a provisional arrives (§9.1).
//!
//! - RFC 2543 matching (§17.2.3) for requests whose branch lacks the
//!   `z9hG4bK` cookie (RFC 4475 `wsinv`, `inv2543`, `badbranch`): the key
//!   is built from the Request-URI, From tag, Call-ID, CSeq number and top
//!   Via instead of the branch; the To tag is left out so that the ACK for
//!   a non-2xx (which carries our tag) and a CANCEL match their INVITE.
//!
//! # Driving the layer
//!
//! The layer never reads the clock and never touches a socket. A driver:
//! 1. parses a datagram or stream frame, computes `msg.envelope()` (a `400`
//!    for requests that fail it is the caller's job) and calls
//!    [`TransactionLayer::handle_incoming`] with the source address, then
//!    hands the returned [`Incoming`] to the TU (dialogs, call logic);
//! 2. lets the TU call [`TransactionLayer::send_request`],
//!    [`TransactionLayer::send_response`], [`TransactionLayer::client_cancel`]
//!    and [`TransactionLayer::send_stateless`] (ACK for a 2xx, §13.2.2.4);
//! 3. after every call, drains [`TransactionLayer::poll_transmit`] (onto the
//!    wire) and [`TransactionLayer::poll_event`] (to the TU) until `None`;
//! 4. sleeps until [`TransactionLayer::poll_timeout`], then calls
//!    [`TransactionLayer::handle_timeout`] and drains again;
//! 5. reports a failed send of a [`Transmit`] carrying `tx: Some(id)` with
//!    [`TransactionLayer::handle_transport_error`].
//!
//! Reliability (whether retransmit timers run, whether D, I, J, K are zero)
//! follows the [`Destination`]'s transport: the destination of a client
//! transaction, or the source of the request for a server transaction.
//! Responses go back to that source (RFC 3581 symmetric response; on a
//! connection transport, the same connection).

mod build;
mod client_invite;
mod client_non_invite;
mod server_invite;
mod server_non_invite;
pub mod timers;

pub use timers::{Timer, TimerConfig};

use crate::sip::msg::{Envelope, Message, Method, ParseError, StatusCode, Uri};
use crate::time::TimerTable;
use bytes::Bytes;
use client_invite::ClientInvite;
use client_non_invite::ClientNonInvite;
use server_invite::{AckOutcome, ServerInvite};
use server_non_invite::ServerNonInvite;
use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::net::SocketAddr;
use std::time::Instant;

/// A transaction's handle, unique for the life of the layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TxId(u64);

impl TxId {
    /// No transaction: the customer leg of a callback call before it is
    /// dialled (`call/callback.rs`). The layer never hands out this id.
    pub const UNUSED: TxId = TxId(u64::MAX);
}

impl fmt::Display for TxId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "tx#{}", self.0)
    }
}

/// The transport a message travels on; decides reliability (§17.1.1.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TransportKind {
    /// UDP: unreliable, so the transaction layer retransmits.
    Udp,
    /// TCP.
    Tcp,
    /// TLS over TCP.
    Tls,
    /// SCTP.
    Sctp,
    /// WebSocket (RFC 7118).
    Ws,
    /// Secure WebSocket (RFC 7118).
    Wss,
}

impl TransportKind {
    /// True for every transport but UDP.
    pub fn is_reliable(&self) -> bool {
        !matches!(self, TransportKind::Udp)
    }

    /// True for SIP over WebSocket (RFC 7118): the peer is a browser, whose
    /// media is WebRTC (issue 12).
    pub fn is_websocket(&self) -> bool {
        matches!(self, TransportKind::Ws | TransportKind::Wss)
    }

    /// True for the transports protected by TLS: TLS and secure WebSocket
    /// (RFC 7118 §5: WSS is the WebSocket hop's TLS), the hops a `sips:`
    /// request may take (RFC 5630 §3.1.3).
    pub fn is_secure(&self) -> bool {
        matches!(self, TransportKind::Tls | TransportKind::Wss)
    }
}

/// Where a message goes or came from: the driver's opaque routing token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Destination {
    /// The peer's address.
    pub addr: SocketAddr,
    /// The transport to use.
    pub transport: TransportKind,
    /// Our socket's address: which of the switch's sockets sends (and, for
    /// a received message, which one received it).
    pub local: SocketAddr,
}

/// Bytes the driver must send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transmit {
    /// Where to send them.
    pub dest: Destination,
    /// The serialised message.
    pub bytes: Bytes,
    /// The transaction that sent them (`None` for stateless sends); report
    /// a send failure with [`TransactionLayer::handle_transport_error`].
    pub tx: Option<TxId>,
}

/// Something the TU must learn that is not an answer to an input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxEvent {
    /// Timer B, F or H fired: no final response (client) or no ACK (server
    /// INVITE). For a client transaction the TU treats it as a `408`
    /// (§8.1.3.1).
    Timeout {
        /// The transaction.
        tx: TxId,
        /// Which timer fired.
        timer: Timer,
    },
    /// The driver reported a failed send (§17.1.4, §17.2.4); for a client
    /// transaction the TU treats it as a `503` (§8.1.3.1).
    TransportError {
        /// The transaction.
        tx: TxId,
    },
    /// The transaction is gone; its [`TxId`] will not be used again. Also
    /// sent for a held CANCEL that was never sent (§9.1).
    Terminated {
        /// The transaction.
        tx: TxId,
    },
}

/// A transaction's state, for diagnostics and tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxState {
    /// A CANCEL waiting for the INVITE's first provisional (§9.1).
    Held,
    /// Client INVITE sent, nothing heard.
    Calling,
    /// Non-INVITE: request sent (client) or received (server), no response.
    Trying,
    /// A provisional response was received (client) or sent (server).
    Proceeding,
    /// A final response was received (client) or sent (server).
    Completed,
    /// Server INVITE: the ACK for a non-2xx final arrived.
    Confirmed,
    /// INVITE: a 2xx was received or sent (RFC 6026).
    Accepted,
    /// Done (transient: terminated transactions are removed at once).
    Terminated,
}

/// What [`TransactionLayer::handle_incoming`] made of a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Incoming {
    /// A new request created a server transaction; the TU must answer it
    /// with [`TransactionLayer::send_response`].
    Request {
        /// The new server transaction.
        tx: TxId,
        /// The request.
        request: Message,
    },
    /// A new CANCEL created its own server transaction (§9.2); `invite` is
    /// the INVITE server transaction it cancels, if any (else answer 481).
    Cancel {
        /// The CANCEL's server transaction.
        tx: TxId,
        /// The CANCEL.
        request: Message,
        /// The matching INVITE server transaction.
        invite: Option<TxId>,
    },
    /// A response for a client transaction, to deliver to the TU. Includes
    /// every 2xx to an INVITE (retransmissions too, RFC 6026 §8.4): ACKing
    /// a 2xx is the TU's job (§13.2.2.4).
    Response {
        /// The client transaction.
        tx: TxId,
        /// The response.
        response: Message,
    },
    /// An ACK for a 2xx, which is end-to-end: no transaction absorbs it
    /// (§17.2.3). `tx` is the INVITE server transaction when it matched one
    /// in Accepted (RFC 6026 §8.7), `None` when it matched nothing.
    Ack {
        /// The INVITE server transaction, if matched.
        tx: Option<TxId>,
        /// The ACK.
        request: Message,
    },
    /// A retransmission the transaction handled itself: a request
    /// retransmission (last response re-sent, see `poll_transmit`), an ACK
    /// for a non-2xx final, or a retransmitted response.
    Absorbed {
        /// The transaction that absorbed it.
        tx: TxId,
    },
    /// A response that matches no client transaction: drop it (§17.1.3).
    Stray {
        /// The response.
        response: Message,
    },
    /// A request that carries no usable transaction identifier at all
    /// (no Request-URI to key an RFC 2543 match on): answer `400`
    /// statelessly.
    Rfc2543 {
        /// The request.
        request: Message,
    },
}

/// Why the layer refused a call from the TU.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TxError {
    /// `send_request` was given a response.
    #[error("not a request")]
    NotARequest,
    /// `send_response` was given a request.
    #[error("not a response")]
    NotAResponse,
    /// ACK is never sent in a client transaction (§17.1.1.3, §13.2.2.4):
    /// use `send_stateless`.
    #[error("ACK is not sent in a client transaction")]
    AckNotATransaction,
    /// The request lacks a valid envelope (§8.1.1).
    #[error("malformed request: {0}")]
    Malformed(#[from] ParseError),
    /// The request's top Via has no `z9hG4bK` branch (§8.1.1.7).
    #[error("top Via lacks an RFC 3261 branch")]
    MissingBranch,
    /// A client transaction with this branch and method exists (§17.1.3).
    #[error("a transaction with this branch and method exists")]
    DuplicateTransaction,
    /// No such transaction (never existed or already terminated).
    #[error("no transaction {0}")]
    UnknownTransaction(TxId),
    /// The transaction is not of the kind the call needs.
    #[error("{tx} is not a {expected} transaction")]
    WrongKind {
        /// The transaction.
        tx: TxId,
        /// What the call needs.
        expected: &'static str,
    },
    /// The call is not allowed in the transaction's current state.
    #[error("{tx} cannot do this in state {state:?}")]
    InvalidState {
        /// The transaction.
        tx: TxId,
        /// Its state.
        state: TxState,
    },
}

/// Output queues shared by the machines.
#[derive(Debug, Default)]
pub(crate) struct Outbox {
    transmits: VecDeque<Transmit>,
    events: VecDeque<TxEvent>,
}

impl Outbox {
    fn transmit(&mut self, tx: TxId, dest: Destination, bytes: Bytes) {
        self.transmits.push_back(Transmit {
            dest,
            bytes,
            tx: Some(tx),
        });
    }

    fn event(&mut self, event: TxEvent) {
        self.events.push_back(event);
    }
}

/// §17.1.3: a response matches the client transaction whose request had
/// the same top Via branch and the same CSeq method. Ordered, not hashed:
/// the transaction maps are B-trees, which give memory back as transactions
/// end (hash tables kept their peak size under churn; see the soak).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct ClientKey {
    branch: Bytes,
    method: Method,
}

/// §17.2.3: a request matches the server transaction with the same top Via
/// branch and sent-by, and the same method (ACK counting as INVITE).
/// Ordered, like [`ClientKey`].
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct ServerKey {
    branch: Bytes,
    host: Bytes,
    port: Option<u16>,
    method: Method,
}

impl ServerKey {
    /// The key of `env`'s request with `method` (§17.2.3). An RFC 3261
    /// branch is the key; without one (RFC 2543 peer) the key is derived
    /// from `uri` (the Request-URI), the From tag, Call-ID, CSeq number and
    /// the top Via's branch text, if any.
    fn new(env: &Envelope, method: Method, uri: Option<&Uri>) -> Option<ServerKey> {
        let branch = if env.via.has_rfc3261_branch() {
            // Own copy: a slice would pin the received datagram for the
            // whole linger (Timers J and L).
            Bytes::copy_from_slice(&env.via.branch()?)
        } else {
            let mut k = b"rfc2543|".to_vec();
            k.extend_from_slice(&uri?.to_bytes());
            k.push(b'|');
            k.extend_from_slice(&env.from.tag().unwrap_or_default());
            k.push(b'|');
            k.extend_from_slice(&env.call_id);
            k.extend_from_slice(format!("|{}|", env.cseq.seq).as_bytes());
            k.extend_from_slice(&env.via.branch().unwrap_or_default());
            Bytes::from(k)
        };
        Some(ServerKey {
            branch,
            host: Bytes::from(env.via.host.0.to_ascii_lowercase()),
            port: env.via.port,
            method,
        })
    }
}

#[derive(Debug)]
enum Key {
    Client(ClientKey),
    Server(ServerKey),
}

/// One of the four §17 machines (the names follow the RFC's).
#[derive(Debug)]
#[allow(clippy::enum_variant_names)]
enum Machine {
    ClientInvite(ClientInvite),
    ClientNonInvite(ClientNonInvite),
    ServerInvite(ServerInvite),
    ServerNonInvite(ServerNonInvite),
}

impl Machine {
    fn state(&self) -> TxState {
        match self {
            Machine::ClientInvite(t) => t.state(),
            Machine::ClientNonInvite(t) => t.state(),
            Machine::ServerInvite(t) => t.state(),
            Machine::ServerNonInvite(t) => t.state(),
        }
    }

    fn poll_timeout(&self) -> Option<Instant> {
        match self {
            Machine::ClientInvite(t) => t.poll_timeout(),
            Machine::ClientNonInvite(t) => t.poll_timeout(),
            Machine::ServerInvite(t) => t.poll_timeout(),
            Machine::ServerNonInvite(t) => t.poll_timeout(),
        }
    }

    fn request(&self) -> Option<&Message> {
        match self {
            Machine::ClientInvite(t) => t.request(),
            Machine::ClientNonInvite(t) => t.request(),
            Machine::ServerInvite(t) => t.request(),
            Machine::ServerNonInvite(t) => t.request(),
        }
    }

    fn shed(&mut self) {
        match self {
            Machine::ClientInvite(t) => t.shed(),
            Machine::ClientNonInvite(t) => t.shed(),
            Machine::ServerInvite(t) => t.shed(),
            Machine::ServerNonInvite(t) => t.shed(),
        }
    }

    fn handle_timeout(&mut self, now: Instant, out: &mut Outbox) {
        match self {
            Machine::ClientInvite(t) => t.handle_timeout(now, out),
            Machine::ClientNonInvite(t) => t.handle_timeout(now, out),
            Machine::ServerInvite(t) => t.handle_timeout(now, out),
            Machine::ServerNonInvite(t) => t.handle_timeout(now),
        }
    }

    fn transport_error(&mut self, out: &mut Outbox) {
        match self {
            Machine::ClientInvite(t) => t.transport_error(out),
            Machine::ClientNonInvite(t) => t.transport_error(out),
            Machine::ServerInvite(t) => t.transport_error(out),
            Machine::ServerNonInvite(t) => t.transport_error(out),
        }
    }
}

#[derive(Debug)]
struct Entry {
    machine: Machine,
    key: Key,
}

/// Every transaction of one SIP endpoint, matched and timed (see the module
/// doc for how a driver pumps it).
#[derive(Debug)]
pub struct TransactionLayer {
    cfg: TimerConfig,
    next_id: u64,
    // Ordered maps, not hash tables: a busy switch keeps tens of thousands
    // of transactions lingering for Timers J, L and M (64*T1) while
    // thousands a second come and go. A hash table under that churn
    // fills with deleted slots and, when it runs out, doubles at a random
    // moment (a step of megabytes in RSS, and a rehash of every entry in
    // the engine's loop); a B-tree's memory follows the live count, also
    // back down after a load peak.
    txs: BTreeMap<TxId, Box<Entry>>,
    clients: BTreeMap<ClientKey, TxId>,
    servers: BTreeMap<ServerKey, TxId>,
    /// Each live transaction's earliest deadline.
    timers: TimerTable<TxId>,
    out: Outbox,
}

impl TransactionLayer {
    /// An empty layer using `cfg` for every transaction.
    pub fn new(cfg: TimerConfig) -> Self {
        TransactionLayer {
            cfg,
            next_id: 0,
            txs: BTreeMap::new(),
            clients: BTreeMap::new(),
            servers: BTreeMap::new(),
            timers: TimerTable::new(),
            out: Outbox::default(),
        }
    }

    /// The timer configuration.
    pub fn config(&self) -> &TimerConfig {
        &self.cfg
    }

    /// Matches a received message to its transaction or creates a server
    /// transaction for it (§17.1.3, §17.2.3). `envelope` is `msg.envelope()`
    /// computed by the caller; `source` is where the message came from and
    /// where a new server transaction sends its responses.
    pub fn handle_incoming(&mut self, now: Instant, msg: Message, envelope: Envelope, source: Destination) -> Incoming {
        match msg.status() {
            Some(code) => self.incoming_response(now, code, msg, &envelope),
            None => self.incoming_request(now, msg, &envelope, source),
        }
    }

    fn incoming_response(&mut self, now: Instant, code: StatusCode, response: Message, env: &Envelope) -> Incoming {
        let id = env.via.branch().and_then(|branch| {
            self.clients
                .get(&ClientKey {
                    branch,
                    method: env.cseq.method.clone(),
                })
                .copied()
        });
        let Some(id) = id else {
            return Incoming::Stray { response };
        };
        let deliver = match self.txs.get_mut(&id).map(|e| &mut e.machine) {
            Some(Machine::ClientInvite(t)) => t.on_response(now, code, &response, &mut self.out),
            Some(Machine::ClientNonInvite(t)) => t.on_response(now, code),
            _ => false,
        };
        self.sync_cancel(now, id);
        self.refresh(id);
        if deliver {
            Incoming::Response { tx: id, response }
        } else {
            Incoming::Absorbed { tx: id }
        }
    }

    fn incoming_request(&mut self, now: Instant, request: Message, env: &Envelope, source: Destination) -> Incoming {
        let method = env.cseq.method.clone();
        if request.method() == Some(&Method::ACK) {
            return self.incoming_ack(now, request, env);
        }
        let Some(key) = ServerKey::new(env, method.clone(), request.uri()) else {
            return Incoming::Rfc2543 { request };
        };
        if let Some(&id) = self.servers.get(&key) {
            match self.txs.get_mut(&id).map(|e| &mut e.machine) {
                Some(Machine::ServerInvite(t)) => t.on_retransmission(&mut self.out),
                Some(Machine::ServerNonInvite(t)) => t.on_retransmission(&mut self.out),
                _ => {}
            }
            self.refresh(id);
            return Incoming::Absorbed { tx: id };
        }
        let id = self.alloc_id();
        let machine = if method == Method::INVITE {
            Machine::ServerInvite(ServerInvite::new(
                now,
                id,
                request.clone(),
                source,
                self.cfg,
                &mut self.out,
            ))
        } else {
            Machine::ServerNonInvite(ServerNonInvite::new(id, request.clone(), source, self.cfg))
        };
        self.servers.insert(key.clone(), id);
        self.txs.insert(
            id,
            Box::new(Entry {
                machine,
                key: Key::Server(key),
            }),
        );
        self.refresh(id);
        if method == Method::CANCEL {
            let invite = self.find_invite_for_cancel(env, request.uri());
            Incoming::Cancel {
                tx: id,
                request,
                invite,
            }
        } else {
            Incoming::Request { tx: id, request }
        }
    }

    fn incoming_ack(&mut self, now: Instant, request: Message, env: &Envelope) -> Incoming {
        let Some(id) = ServerKey::new(env, Method::INVITE, request.uri()).and_then(|k| self.servers.get(&k).copied())
        else {
            return Incoming::Ack { tx: None, request };
        };
        let outcome = match self.txs.get_mut(&id).map(|e| &mut e.machine) {
            Some(Machine::ServerInvite(t)) => t.on_ack(now),
            _ => return Incoming::Ack { tx: None, request },
        };
        self.refresh(id);
        match outcome {
            AckOutcome::Absorbed => Incoming::Absorbed { tx: id },
            AckOutcome::ToTu => Incoming::Ack { tx: Some(id), request },
        }
    }

    /// The INVITE server transaction a CANCEL targets (§9.2): the one the
    /// CANCEL would match under §17.2.3 if its method were INVITE.
    pub fn find_invite_for_cancel(&self, cancel: &Envelope, uri: Option<&Uri>) -> Option<TxId> {
        let id = *self.servers.get(&ServerKey::new(cancel, Method::INVITE, uri)?)?;
        match self.txs.get(&id)?.machine {
            Machine::ServerInvite(_) => Some(id),
            _ => None,
        }
    }

    /// Starts a client transaction for `request` towards `dest` (§17.1):
    /// sends it and arms its timers. The TU has built the request with a
    /// fresh `z9hG4bK` branch in its top Via (§8.1.1.7).
    pub fn send_request(&mut self, now: Instant, request: Message, dest: Destination) -> Result<TxId, TxError> {
        let method = request.method().cloned().ok_or(TxError::NotARequest)?;
        if method == Method::ACK {
            return Err(TxError::AckNotATransaction);
        }
        let env = request.envelope()?;
        if !env.via.has_rfc3261_branch() {
            return Err(TxError::MissingBranch);
        }
        // Own copy: a slice would pin the whole request for the linger.
        let branch = Bytes::copy_from_slice(&env.via.branch().ok_or(TxError::MissingBranch)?);
        let key = ClientKey {
            branch,
            method: method.clone(),
        };
        if self.clients.contains_key(&key) {
            return Err(TxError::DuplicateTransaction);
        }
        let id = self.alloc_id();
        let machine = if method == Method::INVITE {
            Machine::ClientInvite(ClientInvite::start(
                now,
                id,
                request,
                env.cseq.seq,
                dest,
                self.cfg,
                &mut self.out,
            ))
        } else {
            let mut t = ClientNonInvite::held(id, request, dest, self.cfg);
            t.start(now, &mut self.out);
            Machine::ClientNonInvite(t)
        };
        self.clients.insert(key.clone(), id);
        self.txs.insert(
            id,
            Box::new(Entry {
                machine,
                key: Key::Client(key),
            }),
        );
        self.refresh(id);
        Ok(id)
    }

    /// Cancels the client INVITE transaction `invite` (§9.1): builds the
    /// CANCEL and starts its own non-INVITE client transaction, returned.
    /// Before any provisional response the CANCEL is held and sent on the
    /// first one; if a final response comes first it is never sent and its
    /// id gets [`TxEvent::Terminated`]. Calling again returns the same id.
    /// Fails once the INVITE has a final response.
    pub fn client_cancel(&mut self, now: Instant, invite: TxId) -> Result<TxId, TxError> {
        let entry = self.txs.get(&invite).ok_or(TxError::UnknownTransaction(invite))?;
        let (Machine::ClientInvite(inv), Key::Client(key)) = (&entry.machine, &entry.key) else {
            return Err(TxError::WrongKind {
                tx: invite,
                expected: "client INVITE",
            });
        };
        if let Some(existing) = inv.cancel {
            return Ok(existing);
        }
        let state = inv.state();
        if !matches!(state, TxState::Calling | TxState::Proceeding) {
            return Err(TxError::InvalidState { tx: invite, state });
        }
        let cancel_key = ClientKey {
            branch: key.branch.clone(),
            method: Method::CANCEL,
        };
        if self.clients.contains_key(&cancel_key) {
            return Err(TxError::DuplicateTransaction);
        }
        let Some(invite_request) = inv.request() else {
            return Err(TxError::WrongKind {
                tx: invite,
                expected: "client INVITE without a final response",
            });
        };
        let request = build::cancel_for(invite_request, inv.seq());
        let dest = inv.dest();
        let id = self.alloc_id();
        let machine = Machine::ClientNonInvite(ClientNonInvite::held(id, request, dest, self.cfg));
        self.clients.insert(cancel_key.clone(), id);
        self.txs.insert(
            id,
            Box::new(Entry {
                machine,
                key: Key::Client(cancel_key),
            }),
        );
        if let Some(Machine::ClientInvite(inv)) = self.txs.get_mut(&invite).map(|e| &mut e.machine) {
            inv.cancel = Some(id);
        }
        self.sync_cancel(now, invite);
        self.refresh(id);
        Ok(id)
    }

    /// Sends the TU's response on server transaction `tx` (§17.2.1, §17.2.2).
    /// In an INVITE's Accepted state, 2xx retransmissions are allowed.
    pub fn send_response(&mut self, now: Instant, tx: TxId, response: Message) -> Result<(), TxError> {
        let code = response.status().ok_or(TxError::NotAResponse)?;
        let entry = self.txs.get_mut(&tx).ok_or(TxError::UnknownTransaction(tx))?;
        match &mut entry.machine {
            Machine::ServerInvite(t) => t.send_response(now, code, &response, &mut self.out)?,
            Machine::ServerNonInvite(t) => t.send_response(now, code, &response, &mut self.out)?,
            _ => return Err(TxError::WrongKind { tx, expected: "server" }),
        }
        self.refresh(tx);
        Ok(())
    }

    /// Queues `msg` for `dest` outside any transaction: the ACK for a 2xx
    /// (§13.2.2.4), its retransmissions, or a stateless `400`.
    pub fn send_stateless(&mut self, dest: Destination, msg: &Message) {
        self.out.transmits.push_back(Transmit {
            dest,
            bytes: msg.to_bytes(),
            tx: None,
        });
    }

    /// As [`Self::send_stateless`], for a message already serialised (a
    /// stored ACK re-sent for a retransmitted 2xx).
    pub fn send_stateless_bytes(&mut self, dest: Destination, bytes: Bytes) {
        self.out.transmits.push_back(Transmit { dest, bytes, tx: None });
    }

    /// The driver could not send a [`Transmit`] of `tx` (§17.1.4, §17.2.4):
    /// the transaction ends with [`TxEvent::TransportError`].
    pub fn handle_transport_error(&mut self, now: Instant, tx: TxId) {
        if let Some(entry) = self.txs.get_mut(&tx) {
            entry.machine.transport_error(&mut self.out);
            self.sync_cancel(now, tx);
            self.refresh(tx);
        }
    }

    /// The next bytes to send, if any.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.out.transmits.pop_front()
    }

    /// The next event for the TU, if any.
    pub fn poll_event(&mut self) -> Option<TxEvent> {
        self.out.events.pop_front()
    }

    /// When [`Self::handle_timeout`] must next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next_expiry()
    }

    /// Fires every timer due at `now`: retransmissions, timeouts, the end
    /// of the wait states.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some((id, _)) = self.timers.pop_expired(now) {
            if let Some(entry) = self.txs.get_mut(&id) {
                entry.machine.handle_timeout(now, &mut self.out);
                self.sync_cancel(now, id);
                self.refresh(id);
            }
        }
    }

    /// The state of `tx`, or `None` once it has terminated.
    pub fn state(&self, tx: TxId) -> Option<TxState> {
        self.txs.get(&tx).map(|e| e.machine.state())
    }

    /// The request of `tx` (sent for a client, received for a server
    /// transaction): what the TU builds a response from. `None` once the
    /// transaction has its final response: lingering transactions (Timers
    /// D, I, J, K, L, M) keep only their key and retransmission bytes.
    pub fn request(&self, tx: TxId) -> Option<&Message> {
        self.txs.get(&tx).and_then(|e| e.machine.request())
    }

    /// Number of live transactions.
    pub fn len(&self) -> usize {
        self.txs.len()
    }

    /// True when no transaction is live.
    pub fn is_empty(&self) -> bool {
        self.txs.is_empty()
    }

    fn alloc_id(&mut self) -> TxId {
        self.next_id += 1;
        TxId(self.next_id)
    }

    /// Releases or abandons the held CANCEL of client INVITE `invite` once
    /// the INVITE has a provisional or a final outcome (§9.1).
    fn sync_cancel(&mut self, now: Instant, invite: TxId) {
        let (state, cancel) = match self.txs.get(&invite).map(|e| &e.machine) {
            Some(Machine::ClientInvite(inv)) => (inv.state(), inv.cancel),
            _ => return,
        };
        let Some(cancel) = cancel else { return };
        if let Some(Machine::ClientNonInvite(c)) = self.txs.get_mut(&cancel).map(|e| &mut e.machine) {
            match state {
                TxState::Calling => return,
                TxState::Proceeding => c.start(now, &mut self.out),
                _ => c.abandon(),
            }
        }
        self.refresh(cancel);
    }

    /// Re-files `id`'s deadline, or removes it once terminated.
    fn refresh(&mut self, id: TxId) {
        let Some(entry) = self.txs.get_mut(&id) else {
            self.timers.cancel(id);
            return;
        };
        if matches!(
            entry.machine.state(),
            TxState::Completed | TxState::Confirmed | TxState::Accepted
        ) {
            // A final response is in: only the stored retransmission bytes
            // and the key are needed until the linger timer ends.
            entry.machine.shed();
        }
        if entry.machine.state() != TxState::Terminated {
            match entry.machine.poll_timeout() {
                Some(at) => self.timers.set(id, at),
                None => self.timers.cancel(id),
            };
            return;
        }
        if let Some(entry) = self.txs.remove(&id) {
            match entry.key {
                Key::Client(k) => self.clients.remove(&k),
                Key::Server(k) => self.servers.remove(&k),
            };
        }
        self.timers.cancel(id);
        self.out.event(TxEvent::Terminated { tx: id });
    }
}
