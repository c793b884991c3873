//! The engine's side of the call core (DESIGN.md "engine routes, it does
//! not hold call logic"): finding the call a response, an in-dialog
//! request, an ACK, a CANCEL or a timer belongs to, lending it a
//! [`CallCtx`], and carrying out what it hands back ([`CallOutput`]):
//! media commands and records to the driver, [`CallEvent`]s to the ACD
//! (engine/queue.rs) and the statistics. A call is forgotten (reaped) once
//! it has ended and nothing is pending on it, or when its reap timer fires.

use super::{Engine, EngineTimer, Now, Output};
use crate::call::{Call, CallCtx, CallEvent, CallInput, CallOutput, CallTimer, Side, TxOwner};
use crate::ids::CallRef;
use crate::sip::dialog::DialogKey;
use crate::sip::msg::{Message, StatusCode};
use crate::sip::transaction::{TxEvent, TxId};
use std::collections::HashMap;

impl Engine {
    /// The calls and a context lent from the engine's services (one borrow
    /// split in two, so a call can be handed the context).
    fn lend_ctx(&mut self, now: Now) -> (&mut HashMap<CallRef, Box<Call>>, CallCtx<'_>) {
        let Engine {
            calls,
            txl,
            ids,
            cfg,
            ports,
            links,
            call_timers,
            call_out,
            dtls_fingerprint,
            ..
        } = self;
        let ctx = CallCtx {
            now,
            txl,
            ids,
            cfg,
            ports,
            links,
            timers: call_timers,
            out: call_out,
            dtls_fingerprint: dtls_fingerprint.as_deref(),
        };
        (calls, ctx)
    }

    /// Runs `f` on call `id` with a context lent from the engine, then
    /// carries out the call's outputs. `None` when the call is gone.
    pub(crate) fn with_call<R>(
        &mut self,
        now: Now,
        id: CallRef,
        f: impl FnOnce(&mut Call, &mut CallCtx) -> R,
    ) -> Option<R> {
        let (calls, mut ctx) = self.lend_ctx(now);
        let call = calls.get_mut(&id)?;
        let r = f(call, &mut ctx);
        self.call_depth += 1;
        if !self.touched.contains(&id) {
            self.touched.push(id);
        }
        self.apply_call_outputs(now);
        self.call_depth -= 1;
        if self.call_depth == 0 {
            for id in std::mem::take(&mut self.touched) {
                if self.calls.get(&id).is_some_and(|c| c.reapable()) {
                    self.reap(now, id);
                }
            }
        }
        Some(r)
    }

    /// Carries out what calls handed back, in order.
    fn apply_call_outputs(&mut self, now: Now) {
        while let Some(o) = self.call_out.pop_front() {
            match o {
                CallOutput::Media(cmd) => {
                    if let Some(cmd) = self.room_media(cmd) {
                        self.out.push_back(Output::Media(cmd));
                    }
                }
                CallOutput::Cdr(rec) => self.out.push_back(Output::Cdr(rec)),
                CallOutput::LegCdr(rec) => self.out.push_back(Output::Acd(crate::records::AcdRecord::LegCdr(rec))),
                CallOutput::Event(id, ev) => self.on_call_event(now, id, ev),
            }
        }
    }

    fn on_call_event(&mut self, now: Now, id: CallRef, ev: CallEvent) {
        if self.room_call_event(now, id, &ev) {
            return;
        }
        match ev {
            CallEvent::Answered => {
                self.stats.calls_answered += 1;
                self.courtesy_answered(now, id);
            }
            CallEvent::OfferAnswered { leg } => {
                let connect = self.queue_leg_answered(now, id, leg);
                self.with_call(now, id, |c, ctx| {
                    if connect {
                        c.connect(ctx, leg)
                    } else {
                        c.refuse(ctx, leg)
                    }
                });
                self.pump_acd(now);
            }
            CallEvent::OfferFailed { leg, code } => self.queue_leg_failed(now, id, leg, code),
            CallEvent::CallbackAgentReady => self.callback_agent_ready(now, id),
            CallEvent::CallbackAnswered => self.callback_answered(now, id),
            CallEvent::CallbackUnanswered { code } => self.callback_unanswered(now, id, code),
            CallEvent::HoldChanged { held } => self.queue_hold_changed(now, id, held),
            CallEvent::PartyRinging { .. } => {}
            CallEvent::Key { digit } => {
                if !self.flow_key(now, id, digit) && !self.courtesy_key(now, id, digit) {
                    self.voicemail_key(now, id, digit);
                }
            }
            ev @ (CallEvent::PartyAnswered { .. } | CallEvent::PartyFailed { .. } | CallEvent::PartyLeft { .. }) => {
                self.on_party_event(now, id, ev)
            }
            CallEvent::ReferRequested {
                side,
                number,
                replaces: Some(replaces),
                ..
            } => self.on_attended_refer(now, id, side, &number, replaces),
            CallEvent::ReferRequested { side, number, .. } => self.on_refer_requested(now, id, side, number),
            CallEvent::Ended { cause } => {
                self.timers.cancel(EngineTimer::Announce(id));
                self.timers.cancel(EngineTimer::Progress(id));
                self.forget_flow(id);
                self.voicemail_call_ended(now, id);
                self.queue_call_ended(now, id, &cause);
            }
            CallEvent::Reap => self.reap(now, id),
        }
    }

    /// Forgets call `id` (its ports, timers and routing entries freed).
    fn reap(&mut self, now: Now, id: CallRef) {
        let Some(mut call) = self.calls.remove(&id) else { return };
        let (_, mut ctx) = self.lend_ctx(now);
        call.release(&mut ctx);
        self.timers.cancel(EngineTimer::Announce(id));
        self.timers.cancel(EngineTimer::Progress(id));
        self.forget_flow(id);
        self.forget_courtesy(id);
        self.apply_call_outputs(now);
        self.forget_callback_call(now, id);
    }

    pub(crate) fn on_call_timer(&mut self, now: Now, id: CallRef, t: CallTimer) {
        self.with_call(now, id, |c, ctx| c.handle(ctx, CallInput::Timer(t)));
    }

    pub(crate) fn on_engine_timer(&mut self, now: Now, t: EngineTimer) {
        match t {
            EngineTimer::TrunkRegister(i) => self.send_trunk_register(now, i, None),
            EngineTimer::TrunkOptions(i) => self.send_trunk_options(now, i),
            EngineTimer::Progress(id) => self.on_progress(now, id),
            EngineTimer::Announce(id) => self.on_announce(now, id),
            EngineTimer::Flow(id) => self.on_flow_timer(now, id),
            EngineTimer::Voicemail(id) => self.on_voicemail_timer(now, id),
            EngineTimer::AuthRelease(tx) => self.release_auth(now, tx),
            EngineTimer::CallbacksDue => self.place_due_callbacks(now),
            EngineTimer::Courtesy(id) => self.on_courtesy_timer(now, id),
        }
    }

    /// A response for one of our client transactions.
    pub(crate) fn on_response(&mut self, now: Now, tx: TxId, resp: Message) {
        if let Some(i) = self.trunk_txs.get(&tx).copied() {
            self.on_trunk_register_response(now, i, &resp);
            return;
        }
        if self.is_trunk_probe(tx) {
            self.on_trunk_options_response(now, tx, &resp);
            return;
        }
        if let Some(TxOwner::Call(id)) = self.links.txs.get(&tx).copied() {
            self.with_call(now, id, |c, ctx| c.handle(ctx, CallInput::Response { tx, resp }));
        }
    }

    /// Transaction timeouts and transport errors become 408/503 (§8.1.3.1).
    pub(crate) fn on_tx_event(&mut self, now: Now, ev: TxEvent) {
        match ev {
            TxEvent::Timeout { tx, .. } | TxEvent::TransportError { tx } => {
                let code = if matches!(ev, TxEvent::Timeout { .. }) {
                    StatusCode::REQUEST_TIMEOUT
                } else {
                    StatusCode::SERVICE_UNAVAILABLE
                };
                if let Some(i) = self.trunk_txs.get(&tx).copied() {
                    self.on_trunk_register_timeout(now, i);
                } else if self.is_trunk_probe(tx) {
                    self.on_trunk_options_failed(now, tx);
                } else if let Some(TxOwner::Call(id)) = self.links.txs.get(&tx).copied() {
                    self.with_call(now, id, |c, ctx| c.handle(ctx, CallInput::TxFailed { tx, code }));
                }
            }
            TxEvent::Terminated { tx } => {
                self.trunk_txs.remove(&tx);
                self.on_trunk_options_failed(now, tx);
                if let Some(TxOwner::Call(id)) = self.links.txs.remove(&tx) {
                    self.with_call(now, id, |c, ctx| c.handle(ctx, CallInput::TxTerminated { tx }));
                }
            }
        }
    }

    /// CANCEL from the caller (§9.2): 200 to the CANCEL (481 without its
    /// INVITE), then the call ends its attempt (487, CANCEL to its legs).
    pub(crate) fn on_cancel(&mut self, now: Now, tx: TxId, req: Message, invite: Option<TxId>) {
        let code = if invite.is_some() {
            StatusCode::OK
        } else {
            StatusCode::CALL_DOES_NOT_EXIST
        };
        let resp = Message::response_to(&req, code, None, None);
        self.respond(now, tx, resp);
        let Some(itx) = invite else { return };
        // An INVITE the authentication tarpit holds: 487, never verified.
        if let Some((held, _)) = self.held_auth.remove(&itx) {
            self.timers.cancel(EngineTimer::AuthRelease(itx));
            let tag = self.ids.tag();
            let resp = Message::response_to(&held, StatusCode::REQUEST_TERMINATED, None, Some(&tag));
            self.respond(now, itx, resp);
            return;
        }
        // An INVITE still being authenticated or routed has no call: nothing to cancel.
        if let Some(TxOwner::Call(id)) = self.links.txs.get(&itx).copied() {
            self.with_call(now, id, |c, ctx| c.handle(ctx, CallInput::Cancel));
        }
    }

    fn find_dialog(&self, req: &Message) -> Option<(CallRef, Side)> {
        let env = req.envelope().ok()?;
        let key = DialogKey {
            call_id: env.call_id.clone(),
            local_tag: env.to.tag()?,
        };
        self.links.dialogs.get(&key).copied()
    }

    /// A request with a To tag: to its call's dialog, else 481 (§12.2.2).
    pub(crate) fn on_in_dialog_request(&mut self, now: Now, tx: TxId, req: Message) {
        let Some((id, side)) = self.find_dialog(&req) else {
            let tag = req
                .envelope()
                .ok()
                .and_then(|e| e.to.tag())
                .map(|t| String::from_utf8_lossy(&t).into_owned());
            let resp = Message::response_to(&req, StatusCode::CALL_DOES_NOT_EXIST, None, tag.as_deref());
            self.respond(now, tx, resp);
            return;
        };
        self.with_call(now, id, |c, ctx| c.handle(ctx, CallInput::Request { tx, side, req }));
    }

    /// An ACK for a 2xx (end to end, §13.2.2.4), to its dialog's call.
    pub(crate) fn on_ack(&mut self, now: Now, ack: Message) {
        if let Some((id, side)) = self.find_dialog(&ack) {
            self.with_call(now, id, |c, ctx| c.handle(ctx, CallInput::Ack { side, ack }));
        }
    }
}
