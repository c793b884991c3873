//! The INVITE server transaction (RFC 3261 §17.2.1, Figure 7), with the
//! RFC 6026 §7.1 "Accepted" state in place of terminating on a 2xx.
//!
//! ```text
//!              INVITE received (TU gets it); Trying timer (200 ms)
//! Proceeding --TU 1xx / send--> Proceeding
//!    |--TU 300-699 / send, G=T1 (unreliable), H=64*T1--> Completed
//!    |--TU 2xx / send, L=64*T1--> Accepted --L--> Terminated
//! Completed --G / resend, G=min(2G,T2)--> Completed
//!    |--ACK / I (T4 unreliable, 0 reliable)--> Confirmed --I--> Terminated
//!    |--H / Timeout event--> Terminated
//! ```
//!
//! INVITE retransmissions are absorbed, answered with the last provisional
//! (Proceeding) or the final response (Completed). In Accepted the TU
//! retransmits its 2xx itself (§13.3.1.4) through the transaction, and ACKs
//! are passed to the TU (RFC 6026 §8.7).
//!
//! `100 Trying` (§17.2.1): the transaction sends it on the TU's behalf when
//! the TU has not sent any response within [`TimerConfig::trying_delay`]
//! (200 ms by default; zero sends it at once, `None` never).

use super::timers::{Timer, TimerConfig};
use super::{Destination, Outbox, TxError, TxEvent, TxId, TxState};
use crate::sip::msg::{HeaderName, Message, StatusCode};
use crate::time::SmallTimers;
use bytes::Bytes;
use std::time::{Duration, Instant};

/// Where the transaction is; each state carries its own data.
#[derive(Debug)]
enum State {
    /// Waiting for the TU's final response; `last` is the last provisional sent.
    Proceeding { last: Option<Bytes> },
    /// A 300–699 was sent; `interval` is the current Timer G value.
    Completed { response: Bytes, interval: Duration },
    /// The ACK arrived; later ACKs are absorbed until Timer I.
    Confirmed,
    /// A 2xx was sent (RFC 6026); the TU may retransmit it until Timer L.
    Accepted,
    /// Done; the layer removes the transaction.
    Terminated,
}

/// What became of an ACK matched to this transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AckOutcome {
    /// ACK for the non-2xx final: absorbed (Completed → Confirmed, or a retransmission).
    Absorbed,
    /// ACK in Accepted: it acknowledges a 2xx and belongs to the TU.
    ToTu,
}

/// One INVITE server transaction.
#[derive(Debug)]
pub(crate) struct ServerInvite {
    id: TxId,
    source: Destination,
    cfg: TimerConfig,
    /// The request; dropped (`None`) once a final response is in, so a
    /// lingering transaction does not pin the received datagram.
    request: Option<Box<Message>>,
    timers: SmallTimers<Timer>,
    state: State,
}

impl ServerInvite {
    /// A transaction for a new INVITE from `source`; arms the Trying timer
    /// or sends `100 Trying` now (see the module doc).
    pub(crate) fn new(
        now: Instant,
        id: TxId,
        request: Message,
        source: Destination,
        cfg: TimerConfig,
        out: &mut Outbox,
    ) -> Self {
        let mut tx = ServerInvite {
            id,
            source,
            cfg,
            request: Some(Box::new(request)),
            timers: SmallTimers::new(),
            state: State::Proceeding { last: None },
        };
        match cfg.trying_delay {
            Some(d) if d.is_zero() => tx.send_trying(out),
            Some(d) => {
                tx.timers.set(Timer::Trying, now + d);
            }
            None => {}
        }
        tx
    }

    /// The INVITE that created the transaction.
    pub(crate) fn request(&self) -> Option<&Message> {
        self.request.as_deref()
    }

    /// Frees what a transaction with its final response no longer needs.
    pub(crate) fn shed(&mut self) {
        self.request = None;
    }

    /// The public view of the state.
    pub(crate) fn state(&self) -> TxState {
        match self.state {
            State::Proceeding { .. } => TxState::Proceeding,
            State::Completed { .. } => TxState::Completed,
            State::Confirmed => TxState::Confirmed,
            State::Accepted => TxState::Accepted,
            State::Terminated => TxState::Terminated,
        }
    }

    /// The earliest armed timer.
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next_expiry()
    }

    /// A response from the TU (§17.2.1).
    pub(crate) fn send_response(
        &mut self,
        now: Instant,
        code: StatusCode,
        response: &Message,
        out: &mut Outbox,
    ) -> Result<(), TxError> {
        let bytes = response.to_bytes();
        match (&self.state, code.as_u16()) {
            (State::Proceeding { .. }, 100..=199) => {
                self.timers.cancel(Timer::Trying);
                out.transmit(self.id, self.source, bytes.clone());
                self.state = State::Proceeding { last: Some(bytes) };
            }
            (State::Proceeding { .. }, 200..=299) => {
                out.transmit(self.id, self.source, bytes);
                self.timers.clear();
                self.timers.set(Timer::L, now + self.cfg.l());
                self.state = State::Accepted;
            }
            (State::Proceeding { .. }, _) => {
                out.transmit(self.id, self.source, bytes.clone());
                self.timers.clear();
                let interval = self.cfg.initial_interval();
                if !self.source.transport.is_reliable() {
                    self.timers.set(Timer::G, now + interval);
                }
                self.timers.set(Timer::H, now + self.cfg.h());
                self.state = State::Completed {
                    response: bytes,
                    interval,
                };
            }
            // RFC 6026 §8.7: 2xx retransmissions from the TU are sent.
            (State::Accepted, 200..=299) => out.transmit(self.id, self.source, bytes),
            _ => {
                return Err(TxError::InvalidState {
                    tx: self.id,
                    state: self.state(),
                })
            }
        }
        Ok(())
    }

    /// A retransmission of the INVITE (§17.2.1): answered with the last
    /// provisional or the final response; absorbed otherwise.
    pub(crate) fn on_retransmission(&mut self, out: &mut Outbox) {
        match &self.state {
            State::Proceeding { last: Some(bytes) } | State::Completed { response: bytes, .. } => {
                out.transmit(self.id, self.source, bytes.clone());
            }
            _ => {}
        }
    }

    /// An ACK matched to this transaction (§17.2.1, RFC 6026 §8.7).
    pub(crate) fn on_ack(&mut self, now: Instant) -> AckOutcome {
        match self.state {
            State::Completed { .. } => {
                self.timers.clear();
                let i = self.cfg.i(self.source.transport.is_reliable());
                if i.is_zero() {
                    self.state = State::Terminated;
                } else {
                    self.timers.set(Timer::I, now + i);
                    self.state = State::Confirmed;
                }
                AckOutcome::Absorbed
            }
            State::Accepted => AckOutcome::ToTu,
            _ => AckOutcome::Absorbed,
        }
    }

    /// Fires every expired timer.
    pub(crate) fn handle_timeout(&mut self, now: Instant, out: &mut Outbox) {
        while let Some((timer, _)) = self.timers.pop_expired(now) {
            match (timer, &self.state) {
                (Timer::Trying, State::Proceeding { last: None }) => self.send_trying(out),
                (Timer::G, State::Completed { response, interval }) => {
                    out.transmit(self.id, self.source, response.clone());
                    let next = self.cfg.next_capped(*interval);
                    self.timers.set(Timer::G, now + next);
                    self.state = State::Completed {
                        response: response.clone(),
                        interval: next,
                    };
                }
                (Timer::H, State::Completed { .. }) => {
                    out.event(TxEvent::Timeout { tx: self.id, timer });
                    self.terminate();
                }
                (Timer::I, State::Confirmed) | (Timer::L, State::Accepted) => self.terminate(),
                _ => {}
            }
        }
    }

    /// The transport could not send a response (§17.2.4).
    pub(crate) fn transport_error(&mut self, out: &mut Outbox) {
        if !matches!(self.state, State::Terminated) {
            out.event(TxEvent::TransportError { tx: self.id });
            self.terminate();
        }
    }

    fn send_trying(&mut self, out: &mut Outbox) {
        // §8.2.6.1: a 100 carries no To tag and copies any Timestamp.
        let Some(request) = self.request.as_deref() else { return };
        let mut trying = Message::response_to(request, StatusCode::TRYING, None, None);
        if let Some(ts) = request.headers.get(&HeaderName::Timestamp) {
            trying.headers.push(HeaderName::Timestamp, ts.clone());
        }
        let bytes = trying.to_bytes();
        out.transmit(self.id, self.source, bytes.clone());
        self.state = State::Proceeding { last: Some(bytes) };
    }

    fn terminate(&mut self) {
        self.timers.clear();
        self.state = State::Terminated;
    }
}
