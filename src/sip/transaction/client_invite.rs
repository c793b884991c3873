//! The INVITE client transaction (RFC 3261 §17.1.1, Figure 5), with the
//! RFC 6026 §7.2 "Accepted" state in place of terminating on a 2xx.
//!
//! ```text
//!            send INVITE, A=T1 (unreliable), B=64*T1
//! Calling --1xx--> Proceeding --300-699 / send ACK, D--> Completed --D--> Terminated
//!    |  \                \--2xx / M--> Accepted --M--> Terminated
//!    |   \--300-699 / send ACK, D--> Completed
//!    |--2xx / M--> Accepted
//!    |--B or transport error--> Terminated (Timeout / TransportError event)
//! ```
//!
//! Timer A doubles without a cap (§17.1.1.2). Timer B only matters in
//! Calling. In Completed each retransmitted final response is absorbed and
//! answered with the same ACK (§17.1.1.3). In Accepted every 2xx goes to
//! the TU, which ACKs it itself (§13.2.2.4, RFC 6026 §8.4).

use super::timers::{Timer, TimerConfig};
use super::{build, Destination, Outbox, TxEvent, TxId, TxState};
use crate::sip::msg::{Message, StatusCode};
use crate::time::SmallTimers;
use bytes::Bytes;
use std::time::{Duration, Instant};

/// Where the transaction is; each state carries its own data.
#[derive(Debug)]
enum State {
    /// INVITE sent, nothing heard; `interval` is the current Timer A value.
    Calling { interval: Duration },
    /// A provisional response arrived.
    Proceeding,
    /// A 300–699 arrived; `ack` is the ACK re-sent for each retransmission.
    Completed { ack: Bytes },
    /// A 2xx arrived (RFC 6026): further 2xx go to the TU until Timer M.
    Accepted,
    /// Done; the layer removes the transaction.
    Terminated,
}

/// One INVITE client transaction.
#[derive(Debug)]
pub(crate) struct ClientInvite {
    id: TxId,
    dest: Destination,
    cfg: TimerConfig,
    /// The request; dropped (`None`) once a final response is in, so a
    /// lingering transaction does not pin the received datagram.
    request: Option<Box<Message>>,
    seq: u32,
    bytes: Bytes,
    timers: SmallTimers<Timer>,
    state: State,
    /// The CANCEL client transaction created for this INVITE (§9.1).
    pub(crate) cancel: Option<TxId>,
}

impl ClientInvite {
    /// Sends `request` and arms Timer A (unreliable only) and Timer B.
    pub(crate) fn start(
        now: Instant,
        id: TxId,
        request: Message,
        seq: u32,
        dest: Destination,
        cfg: TimerConfig,
        out: &mut Outbox,
    ) -> Self {
        let bytes = request.to_bytes();
        out.transmit(id, dest, bytes.clone());
        let mut timers = SmallTimers::new();
        let interval = cfg.initial_interval();
        if !dest.transport.is_reliable() {
            timers.set(Timer::A, now + interval);
        }
        timers.set(Timer::B, now + cfg.b());
        ClientInvite {
            id,
            dest,
            cfg,
            request: Some(Box::new(request)),
            seq,
            bytes,
            timers,
            state: State::Calling { interval },
            cancel: None,
        }
    }

    /// The INVITE this transaction sends.
    pub(crate) fn request(&self) -> Option<&Message> {
        self.request.as_deref()
    }

    /// Frees what a transaction with its final response no longer needs.
    pub(crate) fn shed(&mut self) {
        self.request = None;
        self.bytes = Bytes::new();
    }

    /// The INVITE's CSeq number.
    pub(crate) fn seq(&self) -> u32 {
        self.seq
    }

    /// Where the INVITE goes (and the CANCEL, §9.1).
    pub(crate) fn dest(&self) -> Destination {
        self.dest
    }

    /// The public view of the state.
    pub(crate) fn state(&self) -> TxState {
        match self.state {
            State::Calling { .. } => TxState::Calling,
            State::Proceeding => TxState::Proceeding,
            State::Completed { .. } => TxState::Completed,
            State::Accepted => TxState::Accepted,
            State::Terminated => TxState::Terminated,
        }
    }

    /// The earliest armed timer.
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next_expiry()
    }

    /// Handles a response matched to this transaction (§17.1.3); returns
    /// true when it goes to the TU, false when it is absorbed.
    pub(crate) fn on_response(&mut self, now: Instant, code: StatusCode, response: &Message, out: &mut Outbox) -> bool {
        match (&self.state, code.as_u16()) {
            (State::Calling { .. } | State::Proceeding, 100..=199) => {
                self.timers.cancel(Timer::A);
                self.timers.cancel(Timer::B);
                self.state = State::Proceeding;
                true
            }
            (State::Calling { .. } | State::Proceeding, 200..=299) => {
                self.timers.clear();
                self.timers.set(Timer::M, now + self.cfg.m());
                self.state = State::Accepted;
                true
            }
            (State::Calling { .. } | State::Proceeding, _) => {
                self.timers.clear();
                let ack = match self.request.as_deref() {
                    Some(request) => build::ack_for(request, self.seq, response).to_bytes(),
                    None => Bytes::new(),
                };
                if !ack.is_empty() {
                    out.transmit(self.id, self.dest, ack.clone());
                }
                let d = self.cfg.d(self.dest.transport.is_reliable());
                if d.is_zero() {
                    self.state = State::Terminated;
                } else {
                    self.timers.set(Timer::D, now + d);
                    self.state = State::Completed { ack };
                }
                true
            }
            (State::Completed { ack }, 300..=699) => {
                out.transmit(self.id, self.dest, ack.clone());
                false
            }
            // RFC 6026 §8.4: every 2xx in Accepted goes to the TU.
            (State::Accepted, 200..=299) => true,
            _ => false,
        }
    }

    /// Fires every expired timer.
    pub(crate) fn handle_timeout(&mut self, now: Instant, out: &mut Outbox) {
        while let Some((timer, _)) = self.timers.pop_expired(now) {
            match (timer, &self.state) {
                (Timer::A, State::Calling { interval }) => {
                    out.transmit(self.id, self.dest, self.bytes.clone());
                    let next = self.cfg.next_a(*interval);
                    self.timers.set(Timer::A, now + next);
                    self.state = State::Calling { interval: next };
                }
                (Timer::B, State::Calling { .. }) => {
                    out.event(TxEvent::Timeout { tx: self.id, timer });
                    self.terminate();
                }
                (Timer::D, State::Completed { .. }) | (Timer::M, State::Accepted) => self.terminate(),
                _ => {}
            }
        }
    }

    /// The transport could not send the INVITE or the ACK (§17.1.1.2, §17.1.4).
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
