//! A call the switch places for a callback (spec CB-1..CB-6, OFFER-6):
//! the agent's phone first, then the customer.
//!
//! A callback call is an ordinary [`Call`] whose caller side ([`ALeg`]) is
//! *placed* by the switch instead of received: the customer. It starts
//! with no customer leg at all ([`DialState::AgentFirst`]); the ACD offers
//! it like a queued call, and the agent's phone is rung with the switch's
//! offer from the agent-side port (a delayed offer towards the customer,
//! `anchor.rs`). When the agent's phone answers and the ACD connects it
//! ([`Call::connect`]), the switch ACKs it and waits ([`DialState::Ready`])
//! for the engine to write the callback's *dialling* state durably (CB-8:
//! the store has it before the customer's phone can ring) and for a free
//! call slot (CB-7); then [`Call::dial_customer`] sends the customer's
//! INVITE with the switch's offer from the customer-side port. The
//! customer's answer (in a 18x with SDP, early media, or the 2xx) starts
//! the relay; the 2xx is ACKed (§13.2.2.4) and the call is from then on a
//! two-party call like any other: hold, consult, transfer, recording and
//! the customer's BYE work unchanged, since after the answer the only
//! difference, the UAC dialog on the A side, lives in the dialog itself.
//!
//! Outcomes go to the engine as [`CallEvent`]s: `CallbackAgentReady`,
//! `CallbackAnswered`, `CallbackUnanswered` (a final non-2xx, a transport
//! failure, or the ring time with no answer: the INVITE is CANCELled, a
//! late 2xx is ACKed and hung up). Ending the call while the customer's
//! phone rings (the agent cancels, CB-6; the agent hangs up; shutdown)
//! CANCELs the customer's INVITE and hangs up the agent.
//!
//! Chosen where the rules are silent:
//! - the customer sees the caller the engine chose (the queue's number);
//! - the customer's INVITE offers no `100rel` (nothing here would PRACK
//!   it) and no session timer (the agent's leg keeps the call alive);
//! - the agent hears the customer's early media (a carrier's ringback) as
//!   soon as a 18x carries SDP, and silence before.

use super::leg::{ALeg, BState};
use super::outbound::{new_invite, trunk_auth_retry, RingTarget};
use super::{Call, CallCtx, CallEvent, CallTimer, Phase, Side, TxOwner};
use crate::sip::dialog::{Dialog, DialogState};
use crate::sip::msg::{HeaderName, Message, Method, StatusCode};
use crate::sip::transaction::TxId;
use bytes::Bytes;
use std::time::Duration;

/// Where the customer's leg of a callback call is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DialState {
    /// The offer rings agents; no agent has answered yet.
    AgentFirst,
    /// The agent answered; the switch dials as soon as the engine says so
    /// (the durable write is done, a call slot is free, CB-7).
    Ready,
    /// The customer's INVITE is out, nothing heard but 100.
    Calling,
    /// The customer's phone rings (a provisional response).
    Early,
    /// The customer answered: a two-party call from now on.
    Answered,
    /// The customer did not answer, refused or could not be reached
    /// (CB-6), or the dial was cancelled; the final status.
    Failed(StatusCode),
}

impl DialState {
    /// True while the customer's INVITE is out without a final response.
    pub fn ringing(self) -> bool {
        matches!(self, DialState::Calling | DialState::Early)
    }
}

/// The customer side of a callback call: who is called, how, and where
/// the dial is.
#[derive(Clone, Debug)]
pub struct CustomerDial {
    /// The customer's number as the callback names it.
    pub number: String,
    /// Where the INVITE goes (the agents' dial plan routed the number).
    pub target: RingTarget,
    /// The From user the customer sees (the queue's number).
    pub from_user: String,
    /// How long the customer's phone may ring (CB-6 "does not answer").
    pub ring_for: Duration,
    /// Where the dial is.
    pub state: DialState,
    /// The switch's SDP offer to the customer, made when the agent answered.
    pub offer: Option<Bytes>,
    /// The INVITE sent (latest, after a trunk's challenge), kept until the
    /// final response.
    pub invite: Option<Box<Message>>,
    /// Digest challenges answered (one at most).
    pub auth_tries: u8,
    /// The ACK sent for the 2xx, re-sent for a 2xx retransmission.
    pub ack: Option<Bytes>,
}

impl CustomerDial {
    /// A dial of `number` through `target`, not started.
    pub fn new(number: String, target: RingTarget, from_user: String, ring_for: Duration) -> CustomerDial {
        CustomerDial {
            number,
            target,
            from_user,
            ring_for,
            state: DialState::AgentFirst,
            offer: None,
            invite: None,
            auth_tries: 0,
            ack: None,
        }
    }
}

impl Call {
    /// A callback call (see the module docs): no leg yet; the customer is
    /// `dial`, `caller` names the call for its CDR (`callback:<queue>`).
    pub fn for_callback(id: crate::ids::CallRef, dial: CustomerDial, caller: String, started_ms: u64) -> Call {
        let a = ALeg::to_place(dial.target.dest);
        let callee = dial.number.clone();
        let mut call = Call::with_a_leg(id, a, caller, callee, started_ms);
        call.acd = true;
        call.callback = Some(Box::new(dial));
        call
    }

    /// CB-1: a queued caller chose to be called back. Its call ends for it
    /// (`603 Callback Scheduled`: final, so no carrier tries the call
    /// elsewhere; its CDR is written with cause `courtesy_callback`), and
    /// the call goes on as a callback call for `dial` under the same
    /// number: the interaction it carries keeps its place in line. The
    /// customer-side port stays the call's; its SDP starts over (a new
    /// dialog gets a new offer). False when the caller is no longer
    /// waiting (answered, or gone).
    pub fn become_callback(&mut self, ctx: &mut CallCtx, dial: CustomerDial, caller: String) -> bool {
        let id = self.id;
        if self.phase != Phase::Routing || self.callback.is_some() {
            return false;
        }
        let Some(resp) = self.a_final(StatusCode::DECLINE, Some("Callback Scheduled")) else {
            return false;
        };
        ctx.respond(self.a.tx, resp);
        self.final_code = Some(StatusCode::DECLINE.as_u16());
        self.end_cause = Some("courtesy_callback".into());
        ctx.out.push_back(super::CallOutput::Cdr(self.cdr(ctx.now.unix_ms)));
        ctx.cancel_timer(id, CallTimer::Retransmit1xx);
        ctx.cancel_timer(id, CallTimer::NoAnswer);
        self.rel1xx = None;
        if let Some(d) = self.a.dialog.take() {
            ctx.links.dialogs.remove(&d.key);
        }
        ctx.links.txs.remove(&self.a.tx);
        if let Some(m) = self.media.as_deref_mut() {
            // Nothing more goes to the caller's old address.
            if let Some(super::media::MediaCommand::Relay { call, mut a, mut b }) = m.queue_plan(id.0) {
                a.remote = None;
                a.remote_rtcp = None;
                b.remote = None;
                ctx.media(super::media::MediaCommand::Relay { call, a, b });
            }
            let policy = ctx.srtp_policy(dial.target.dest.local);
            m.sdp_a = ctx.sdp_session(policy);
            m.neg_a = None;
            m.answer_a = None;
            m.early = None;
            m.phone_hold = None;
            m.queued = false;
            ctx.media(super::media::MediaCommand::Hold { call: id.0, held: None });
        }
        self.a = ALeg::to_place(dial.target.dest);
        self.callee = dial.number.clone();
        self.caller = caller;
        self.started_ms = ctx.now.unix_ms;
        self.final_code = None;
        self.end_cause = None;
        self.callback = Some(Box::new(dial));
        tracing::info!(call = %id, "courtesy callback: the caller's call ended, its place in line kept");
        true
    }

    /// Where the customer's dial is, on a callback call.
    pub fn dial_state(&self) -> Option<DialState> {
        self.callback.as_ref().map(|d| d.state)
    }

    /// The ACD connected the agent's answered leg `idx` with its 2xx
    /// `resp`: ACK it, prepare the customer's offer, and tell the engine
    /// the callback is ready to dial.
    pub(crate) fn callback_agent_answered(&mut self, ctx: &mut CallCtx, idx: usize, resp: Message) {
        let id = self.id;
        self.winner = Some(idx);
        ctx.cancel_timer(id, CallTimer::NoAnswer);
        let others: Vec<usize> = (0..self.b.len())
            .filter(|i| *i != idx && self.b[*i].is_callee() && self.b[*i].is_ringing())
            .collect();
        self.cancel_legs(ctx, &others);
        // The agent answered our offer: its ACK carries nothing.
        self.ack_b(ctx, idx, Bytes::new(), None);
        if let Some(l) = self.b.get_mut(idx) {
            l.invite = None;
        }
        let offer = match self.negotiate_answer(ctx, idx, &resp) {
            Ok(offer) => offer,
            Err(why) => {
                tracing::info!(call = %id, %why, "agent's answer cannot be used: the callback is not placed");
                self.set_dial(DialState::Failed(StatusCode::NOT_ACCEPTABLE_HERE));
                ctx.event(
                    id,
                    CallEvent::CallbackUnanswered {
                        code: StatusCode::NOT_ACCEPTABLE_HERE,
                    },
                );
                return;
            }
        };
        if let Some(d) = self.callback.as_deref_mut() {
            d.offer = offer;
            d.state = DialState::Ready;
        }
        ctx.event(id, CallEvent::CallbackAgentReady);
    }

    /// Sends the customer's INVITE (the engine wrote the dialling state
    /// first, CB-8). `Err` when the call is not ready to dial.
    pub fn dial_customer(&mut self, ctx: &mut CallCtx) -> Result<(), String> {
        let id = self.id;
        if self.phase != Phase::Routing {
            return Err("the call has ended".into());
        }
        let Some(d) = self.callback.as_deref() else {
            return Err("not a callback call".into());
        };
        if d.state != DialState::Ready {
            return Err("the agent is not connected".into());
        }
        let t = d.target.clone();
        let mut invite = new_invite(ctx, t.uri, t.dest, &d.from_user, None, 70);
        // Nothing here PRACKs a reliable 18x from the customer's side.
        invite.headers.set(HeaderName::Supported, "replaces");
        if let Some(body) = d.offer.clone() {
            invite.body = body;
            invite.headers.set(HeaderName::ContentType, "application/sdp");
        }
        let ring_for = d.ring_for;
        let Some(tx) = ctx.send_request(TxOwner::Call(id), invite.clone(), t.dest) else {
            self.customer_failed(ctx, StatusCode::SERVICE_UNAVAILABLE);
            return Ok(());
        };
        if let Ok(env) = invite.envelope() {
            self.a.call_id = Bytes::copy_from_slice(&env.call_id);
            self.a.tag = env.from.tag().unwrap_or_default();
        }
        self.a.tx = tx;
        self.a.src = t.dest;
        if let Some(d) = self.callback.as_deref_mut() {
            d.invite = Some(Box::new(invite));
            d.state = DialState::Calling;
        }
        ctx.set_timer(id, CallTimer::NoAnswer, ctx.now.mono + ring_for);
        tracing::info!(call = %id, "callback: dialling the customer");
        Ok(())
    }

    /// True when `tx` is the customer's INVITE of a callback call.
    pub(crate) fn is_customer_invite(&self, tx: TxId) -> bool {
        self.callback.is_some() && tx == self.a.tx
    }

    /// A response to the customer's INVITE.
    pub(crate) fn on_customer_response(&mut self, ctx: &mut CallCtx, resp: Message) {
        let Some(code) = resp.status() else { return };
        let Some(state) = self.dial_state() else { return };
        if code.is_provisional() {
            if code == StatusCode::TRYING || !state.ringing() {
                return;
            }
            self.set_dial(DialState::Early);
            if !resp.body.is_empty() {
                // Early media (RFC 3960): the agent hears the far end's ringback.
                self.customer_answer_sdp(ctx, &resp);
            }
            return;
        }
        if code.is_success() {
            self.on_customer_2xx(ctx, resp, state);
            return;
        }
        if !state.ringing() {
            return;
        }
        if (code == StatusCode::UNAUTHORIZED || code == StatusCode::PROXY_AUTH_REQUIRED)
            && self.customer_auth_retry(ctx, &resp)
        {
            return;
        }
        self.customer_failed(ctx, code);
    }

    /// The customer's INVITE timed out or could not be sent.
    pub(crate) fn on_customer_tx_failed(&mut self, ctx: &mut CallCtx, code: StatusCode) {
        if self.dial_state().is_some_and(DialState::ringing) {
            self.customer_failed(ctx, code);
        }
    }

    /// The customer's phone rang for the callback's ring time (CB-6): the
    /// INVITE is CANCELled and the callback reported unanswered.
    pub(crate) fn customer_no_answer(&mut self, ctx: &mut CallCtx) {
        if !self.dial_state().is_some_and(DialState::ringing) {
            return;
        }
        ctx.cancel(self.a.tx);
        self.customer_failed(ctx, StatusCode::REQUEST_TIMEOUT);
    }

    /// While the call ends: a customer's INVITE still out is CANCELled,
    /// and an agent connected before the customer answered is hung up.
    pub(crate) fn end_callback(&mut self, ctx: &mut CallCtx) {
        let Some(state) = self.dial_state() else { return };
        if state.ringing() {
            ctx.cancel(self.a.tx);
            self.set_dial(DialState::Failed(StatusCode::REQUEST_TERMINATED));
        } else if state == DialState::Ready {
            self.set_dial(DialState::Failed(StatusCode::REQUEST_TERMINATED));
        }
        if state != DialState::Answered {
            if let Some(w) = self
                .winner
                .filter(|w| self.b.get(*w).is_some_and(|l| l.state == BState::Answered))
            {
                if self.b[w].dialog.is_some() {
                    self.bye_leg(ctx, Side::B(w));
                }
            }
        }
    }

    fn set_dial(&mut self, state: DialState) {
        if let Some(d) = self.callback.as_deref_mut() {
            d.state = state;
        }
    }

    fn customer_failed(&mut self, ctx: &mut CallCtx, code: StatusCode) {
        let id = self.id;
        ctx.cancel_timer(id, CallTimer::NoAnswer);
        self.set_dial(DialState::Failed(code));
        if let Some(d) = self.callback.as_deref_mut() {
            // A late 2xx still needs the INVITE to be ACKed and hung up.
            d.ack = None;
        }
        tracing::info!(call = %id, code = code.as_u16(), "callback: the customer did not answer");
        ctx.event(id, CallEvent::CallbackUnanswered { code });
    }

    /// Answers a trunk's challenge to the customer's INVITE once (§22.2).
    fn customer_auth_retry(&mut self, ctx: &mut CallCtx, resp: &Message) -> bool {
        let id = self.id;
        let Some(d) = self.callback.as_deref() else {
            return false;
        };
        if d.auth_tries > 0 {
            return false;
        }
        let (Some(trunk), Some(invite)) = (d.target.trunk.clone(), d.invite.as_deref().cloned()) else {
            return false;
        };
        let dest = d.target.dest;
        let Some(retry) = trunk_auth_retry(ctx, &trunk, &invite, dest, resp) else {
            return false;
        };
        let Some(tx) = ctx.send_request(TxOwner::Call(id), retry.clone(), dest) else {
            return false;
        };
        ctx.links.txs.remove(&self.a.tx);
        self.a.tx = tx;
        if let Some(d) = self.callback.as_deref_mut() {
            d.invite = Some(Box::new(retry));
            d.auth_tries += 1;
        }
        true
    }

    /// The customer's 2xx: ACK it; the first one answers the callback, a
    /// late one (after a CANCEL or the call's end) is hung up.
    fn on_customer_2xx(&mut self, ctx: &mut CallCtx, resp: Message, state: DialState) {
        let id = self.id;
        if state == DialState::Answered {
            // A retransmission: our ACK again (§13.2.2.4).
            if let Some(ack) = self.callback.as_ref().and_then(|d| d.ack.clone()) {
                ctx.txl.send_stateless_bytes(self.a.src, ack);
            }
            return;
        }
        let Some(invite) = self.callback.as_ref().and_then(|d| d.invite.as_deref().cloned()) else {
            return;
        };
        let dialog = match Dialog::uac(&invite, &resp, DialogState::Confirmed) {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(call = %id, error = %e, "customer's 2xx without a usable dialog");
                return;
            }
        };
        ctx.links.dialogs.insert(dialog.key.clone(), (id, Side::A));
        self.a.dialog = Some(dialog);
        self.ack_customer(ctx, &invite);
        let live = self.phase == Phase::Routing && state.ringing();
        if !live {
            // Answered after the CANCEL or the end: hang it up at once.
            self.bye_leg(ctx, Side::A);
            return;
        }
        ctx.cancel_timer(id, CallTimer::NoAnswer);
        if !self.customer_answer_sdp(ctx, &resp) {
            self.set_dial(DialState::Failed(StatusCode::NOT_ACCEPTABLE_HERE));
            self.bye_leg(ctx, Side::A);
            ctx.event(
                id,
                CallEvent::CallbackUnanswered {
                    code: StatusCode::NOT_ACCEPTABLE_HERE,
                },
            );
            return;
        }
        self.set_dial(DialState::Answered);
        if let Some(d) = self.callback.as_deref_mut() {
            d.invite = None;
        }
        self.phase = Phase::Answered;
        self.answered_ms = Some(ctx.now.unix_ms);
        self.final_code = Some(200);
        self.media_connected(ctx);
        if self.media.as_ref().is_some_and(|m| m.record_on_answer) {
            if let Err(e) = self.start_recording(ctx) {
                tracing::warn!(call = %id, error = %e, "recording could not start");
            }
        }
        tracing::info!(call = %id, "callback: the customer answered");
        ctx.event(id, CallEvent::Answered);
        ctx.event(id, CallEvent::CallbackAnswered);
    }

    /// ACKs the customer's 2xx to `invite` (§13.2.2.4).
    fn ack_customer(&mut self, ctx: &mut CallCtx, invite: &Message) {
        let seq = invite.envelope().map(|e| e.cseq.seq).unwrap_or(1);
        let Some(dialog) = self.a.dialog.as_mut() else { return };
        let mut ack = dialog.request(Method::ACK, Some(seq));
        let dest = self.a.src;
        let via = ctx.new_via(dest);
        ack.headers.push_front(HeaderName::Via, via);
        ack.headers.push(HeaderName::MaxForwards, "70");
        let bytes = ack.to_bytes();
        if let Some(d) = self.callback.as_deref_mut() {
            d.ack = Some(bytes.clone());
        }
        ctx.txl.send_stateless_bytes(dest, bytes);
    }

    /// The customer's SDP answer (in a 18x or the 2xx) to the switch's
    /// offer: the relay starts. True when the customer's leg has a usable
    /// answer (this one or an earlier one).
    fn customer_answer_sdp(&mut self, ctx: &mut CallCtx, resp: &Message) -> bool {
        let id = self.id;
        let Some(media) = self.media.as_deref_mut() else {
            return true;
        };
        if media.neg_a.is_some() {
            // The early answer stands (§13.2.1: the 2xx repeats it).
            return true;
        }
        match media.accept_caller_answer(id.0, &resp.body) {
            Ok(plan) => {
                ctx.media(plan);
                true
            }
            Err(why) => {
                tracing::info!(call = %id, %why, "customer's SDP answer unusable");
                false
            }
        }
    }
}
