//! The non-INVITE client transaction (RFC 3261 §17.1.2, Figure 6).
//!
//! ```text
//!         send request, E=T1 (unreliable), F=64*T1
//! Trying --1xx--> Proceeding --200-699--> Completed --K--> Terminated
//!   |--200-699--> Completed         (K = T4 unreliable, 0 reliable)
//!   |--F or transport error--> Terminated (Timeout / TransportError event)
//! ```
//!
//! Timer E doubles up to T2 in Trying and stays at T2 in Proceeding
//! (§17.1.2.2). Responses retransmitted in Completed are absorbed.
//!
//! A CANCEL asked for before the INVITE has seen a provisional response
//! (§9.1: "the client MUST wait for the arrival of a provisional response
//! before sending the request") starts in an extra `Held` state: it exists
//! and is keyed, but sends nothing and arms no timer until released.

use super::timers::{Timer, TimerConfig};
use super::{Destination, Outbox, TxEvent, TxId, TxState};
use crate::sip::msg::{Message, StatusCode};
use crate::time::SmallTimers;
use bytes::Bytes;
use std::time::{Duration, Instant};

/// Where the transaction is; each state carries its own data.
#[derive(Debug)]
enum State {
    /// Built but not yet sent (a CANCEL waiting for a provisional, §9.1).
    Held,
    /// Request sent; `interval` is the current Timer E value.
    Trying { interval: Duration },
    /// A provisional response arrived; Timer E now fires every T2.
    Proceeding,
    /// A final response arrived; retransmissions are absorbed until K.
    Completed,
    /// Done; the layer removes the transaction.
    Terminated,
}

/// One non-INVITE client transaction.
#[derive(Debug)]
pub(crate) struct ClientNonInvite {
    id: TxId,
    dest: Destination,
    cfg: TimerConfig,
    /// The request; dropped (`None`) once a final response is in, so a
    /// lingering transaction does not pin the received datagram.
    request: Option<Box<Message>>,
    bytes: Bytes,
    timers: SmallTimers<Timer>,
    state: State,
}

impl ClientNonInvite {
    /// A transaction for `request` that sends nothing until [`Self::start`].
    pub(crate) fn held(id: TxId, request: Message, dest: Destination, cfg: TimerConfig) -> Self {
        let bytes = request.to_bytes();
        ClientNonInvite {
            id,
            dest,
            cfg,
            request: Some(Box::new(request)),
            bytes,
            timers: SmallTimers::new(),
            state: State::Held,
        }
    }

    /// Sends the request and arms Timer E (unreliable only) and Timer F;
    /// does nothing unless the transaction is `Held`.
    pub(crate) fn start(&mut self, now: Instant, out: &mut Outbox) {
        if !matches!(self.state, State::Held) {
            return;
        }
        out.transmit(self.id, self.dest, self.bytes.clone());
        let interval = self.cfg.initial_interval();
        if !self.dest.transport.is_reliable() {
            self.timers.set(Timer::E, now + interval);
        }
        self.timers.set(Timer::F, now + self.cfg.f());
        self.state = State::Trying { interval };
    }

    /// Drops a `Held` transaction without sending it (the INVITE it would
    /// cancel got its final response or failed first, §9.1).
    pub(crate) fn abandon(&mut self) {
        if matches!(self.state, State::Held) {
            self.state = State::Terminated;
        }
    }

    /// The request this transaction sends.
    pub(crate) fn request(&self) -> Option<&Message> {
        self.request.as_deref()
    }

    /// Frees what a transaction with its final response no longer needs.
    pub(crate) fn shed(&mut self) {
        self.request = None;
        self.bytes = Bytes::new();
    }

    /// The public view of the state.
    pub(crate) fn state(&self) -> TxState {
        match self.state {
            State::Held => TxState::Held,
            State::Trying { .. } => TxState::Trying,
            State::Proceeding => TxState::Proceeding,
            State::Completed => TxState::Completed,
            State::Terminated => TxState::Terminated,
        }
    }

    /// The earliest armed timer.
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next_expiry()
    }

    /// Handles a response matched to this transaction (§17.1.3); returns
    /// true when it goes to the TU.
    pub(crate) fn on_response(&mut self, now: Instant, code: StatusCode) -> bool {
        match self.state {
            State::Trying { .. } | State::Proceeding if code.is_provisional() => {
                // §17.1.2.2: the running Timer E is kept; from its next
                // firing on it is re-armed at T2.
                self.state = State::Proceeding;
                true
            }
            State::Trying { .. } | State::Proceeding => {
                self.timers.clear();
                let k = self.cfg.k(self.dest.transport.is_reliable());
                if k.is_zero() {
                    self.state = State::Terminated;
                } else {
                    self.timers.set(Timer::K, now + k);
                    self.state = State::Completed;
                }
                true
            }
            State::Held | State::Completed | State::Terminated => false,
        }
    }

    /// Fires every expired timer.
    pub(crate) fn handle_timeout(&mut self, now: Instant, out: &mut Outbox) {
        while let Some((timer, _)) = self.timers.pop_expired(now) {
            match (timer, &self.state) {
                (Timer::E, State::Trying { interval }) => {
                    out.transmit(self.id, self.dest, self.bytes.clone());
                    let next = self.cfg.next_capped(*interval);
                    self.timers.set(Timer::E, now + next);
                    self.state = State::Trying { interval: next };
                }
                (Timer::E, State::Proceeding) => {
                    out.transmit(self.id, self.dest, self.bytes.clone());
                    self.timers.set(Timer::E, now + self.cfg.t2);
                }
                (Timer::F, State::Trying { .. } | State::Proceeding) => {
                    out.event(TxEvent::Timeout { tx: self.id, timer });
                    self.terminate();
                }
                (Timer::K, State::Completed) => self.terminate(),
                _ => {}
            }
        }
    }

    /// The transport could not send the request (§17.1.2.2, §17.1.4).
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
