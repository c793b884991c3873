//! The non-INVITE server transaction (RFC 3261 §17.2.2, Figure 8).
//!
//! ```text
//!        request received (TU gets it)
//! Trying --TU 1xx / send--> Proceeding --TU 200-699 / send--> Completed --J--> Terminated
//!   |--TU 200-699 / send--> Completed        (J = 64*T1 unreliable, 0 reliable)
//! ```
//!
//! Request retransmissions are discarded in Trying, answered with the last
//! provisional in Proceeding and with the final response in Completed.
//! The transaction never retransmits on a timer: the client does.

use super::timers::{Timer, TimerConfig};
use super::{Destination, Outbox, TxError, TxEvent, TxId, TxState};
use crate::sip::msg::{Message, StatusCode};
use crate::time::SmallTimers;
use bytes::Bytes;
use std::time::Instant;

/// Where the transaction is; each state carries its own data.
#[derive(Debug)]
enum State {
    /// Request received, no response yet.
    Trying,
    /// A provisional was sent; `last` is re-sent on retransmissions.
    Proceeding { last: Bytes },
    /// A final response was sent; re-sent on retransmissions until J.
    Completed { response: Bytes },
    /// Done; the layer removes the transaction.
    Terminated,
}

/// One non-INVITE server transaction.
#[derive(Debug)]
pub(crate) struct ServerNonInvite {
    id: TxId,
    source: Destination,
    cfg: TimerConfig,
    /// The request; dropped (`None`) once a final response is in, so a
    /// lingering transaction does not pin the received datagram.
    request: Option<Box<Message>>,
    timers: SmallTimers<Timer>,
    state: State,
}

impl ServerNonInvite {
    /// A transaction for a new request from `source`.
    pub(crate) fn new(id: TxId, request: Message, source: Destination, cfg: TimerConfig) -> Self {
        ServerNonInvite {
            id,
            source,
            cfg,
            request: Some(Box::new(request)),
            timers: SmallTimers::new(),
            state: State::Trying,
        }
    }

    /// The request that created the transaction.
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
            State::Trying => TxState::Trying,
            State::Proceeding { .. } => TxState::Proceeding,
            State::Completed { .. } => TxState::Completed,
            State::Terminated => TxState::Terminated,
        }
    }

    /// The earliest armed timer.
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next_expiry()
    }

    /// A response from the TU (§17.2.2).
    pub(crate) fn send_response(
        &mut self,
        now: Instant,
        code: StatusCode,
        response: &Message,
        out: &mut Outbox,
    ) -> Result<(), TxError> {
        if !matches!(self.state, State::Trying | State::Proceeding { .. }) {
            return Err(TxError::InvalidState {
                tx: self.id,
                state: self.state(),
            });
        }
        let bytes = response.to_bytes();
        out.transmit(self.id, self.source, bytes.clone());
        if code.is_provisional() {
            self.state = State::Proceeding { last: bytes };
            return Ok(());
        }
        let j = self.cfg.j(self.source.transport.is_reliable());
        if j.is_zero() {
            self.state = State::Terminated;
        } else {
            self.timers.set(Timer::J, now + j);
            self.state = State::Completed { response: bytes };
        }
        Ok(())
    }

    /// A retransmission of the request (§17.2.2).
    pub(crate) fn on_retransmission(&mut self, out: &mut Outbox) {
        match &self.state {
            State::Proceeding { last: bytes } | State::Completed { response: bytes } => {
                out.transmit(self.id, self.source, bytes.clone());
            }
            State::Trying | State::Terminated => {}
        }
    }

    /// Fires every expired timer.
    pub(crate) fn handle_timeout(&mut self, now: Instant) {
        while let Some((timer, _)) = self.timers.pop_expired(now) {
            if let (Timer::J, State::Completed { .. }) = (timer, &self.state) {
                self.terminate();
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

    fn terminate(&mut self) {
        self.timers.clear();
        self.state = State::Terminated;
    }
}
