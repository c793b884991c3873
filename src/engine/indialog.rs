//! In-dialog traffic of a B2BUA call (RFC 3261 §12.2, §13.2.2.4, §13.3.1.4,
//! §15): the caller's ACK releases our ACK to the answering leg; BYE from
//! either side is answered at once and carried to the other side;
//! re-INVITE, UPDATE and INFO are relayed and their final responses mapped
//! back; the 2xx to the caller is retransmitted until its ACK arrives, and
//! a call whose ACK never comes is ended with BYE.
//!
//! In-dialog requests are sent to the address the leg's signalling came
//! from (the caller's source, the callee's registered source), not to a
//! Contact that may be a private address behind NAT: the symmetric choice
//! phones behind NAT need.

use super::{Engine, EngineTimer, Now, TxRole};
use crate::call::{Phase, Relay, Side};
use crate::ids::CallRef;
use crate::sip::dialog::DialogKey;
use crate::sip::msg::{HeaderName, Message, Method, StatusCode};
use crate::sip::transaction::{Destination, TxId};
use bytes::Bytes;

impl Engine {
    fn find_dialog(&self, req: &Message) -> Option<(CallRef, Side)> {
        let env = req.envelope().ok()?;
        let key = DialogKey {
            call_id: env.call_id.clone(),
            local_tag: env.to.tag()?,
        };
        self.dialogs.get(&key).copied()
    }

    pub(crate) fn side_dest(&self, id: CallRef, side: Side) -> Option<Destination> {
        let call = self.calls.get(&id)?;
        match side {
            Side::A => Some(call.a.src),
            Side::B(i) => call.b.get(i).map(|l| l.dest),
        }
    }

    fn other_side(&self, id: CallRef, side: Side) -> Option<Side> {
        let call = self.calls.get(&id)?;
        match side {
            Side::A => call.winner.map(Side::B),
            Side::B(i) if call.winner == Some(i) => Some(Side::A),
            Side::B(_) => None,
        }
    }

    pub(crate) fn on_in_dialog_request(&mut self, now: Now, tx: TxId, req: Message, _src: Destination) {
        let Some(method) = req.method().cloned() else { return };
        let tag = req
            .envelope()
            .ok()
            .and_then(|e| e.to.tag())
            .map(|t| String::from_utf8_lossy(&t).into_owned());
        if self.on_monitor_request(now, tx, &req) {
            return;
        }
        let Some((id, side)) = self.find_dialog(&req) else {
            let resp = Message::response_to(&req, StatusCode::CALL_DOES_NOT_EXIST, None, tag.as_deref());
            self.respond(now, tx, resp);
            return;
        };
        // §12.2.2: CSeq must grow.
        let seq = req.envelope().map(|e| e.cseq.seq).unwrap_or(0);
        let ok = self
            .calls
            .get_mut(&id)
            .and_then(|c| match side {
                Side::A => c.a.dialog.as_mut(),
                Side::B(i) => c.b.get_mut(i).and_then(|l| l.dialog.as_mut()),
            })
            .map(|d| d.accept_remote_cseq(&method, seq).is_ok())
            .unwrap_or(false);
        if !ok {
            let resp = Message::response_to(
                &req,
                StatusCode::SERVER_INTERNAL_ERROR,
                Some("CSeq Out of Order"),
                tag.as_deref(),
            );
            self.respond(now, tx, resp);
            return;
        }
        if method == Method::BYE {
            let resp = Message::response_to(&req, StatusCode::OK, None, tag.as_deref());
            self.respond(now, tx, resp);
            let cause = if side == Side::A {
                "caller_hangup"
            } else {
                "callee_hangup"
            };
            if let Some(other) = self.other_side(id, side) {
                self.bye_leg(now, id, other);
            }
            self.forget_dialog(id, side);
            self.end_call(now, id, cause);
            return;
        }
        if method == Method::OPTIONS {
            let resp = Message::response_to(&req, StatusCode::OK, None, tag.as_deref());
            self.respond(now, tx, resp);
            return;
        }
        let Some(other) = self.other_side(id, side) else {
            let resp = Message::response_to(&req, StatusCode::CALL_DOES_NOT_EXIST, None, tag.as_deref());
            self.respond(now, tx, resp);
            return;
        };
        if self.calls.get(&id).map(|c| c.phase) != Some(Phase::Answered) {
            let resp = Message::response_to(&req, StatusCode::REQUEST_PENDING, None, tag.as_deref());
            self.respond(now, tx, resp);
            return;
        }
        // Target refresh (§12.2.2) for re-INVITE/UPDATE.
        if method == Method::INVITE || method == Method::UPDATE {
            if let Some(d) = self.calls.get_mut(&id).and_then(|c| match side {
                Side::A => c.a.dialog.as_mut(),
                Side::B(i) => c.b.get_mut(i).and_then(|l| l.dialog.as_mut()),
            }) {
                d.refresh_target(&req);
            }
            // An anchored call's offers are answered here, never relayed
            // (the other leg's SDP names the switch, not this peer).
            if self.calls.get(&id).is_some_and(|c| c.media.is_some()) {
                let tag = tag.clone().unwrap_or_default();
                self.answer_in_dialog_offer(now, id, side, tx, &req, &tag);
                return;
            }
        }
        let mut copied: Vec<(HeaderName, Bytes)> = Vec::new();
        for h in req.headers.iter() {
            if matches!(h.name, HeaderName::ContentType | HeaderName::ContentDisposition) || is_info_package(&h.name) {
                copied.push((h.name.clone(), h.value.clone()));
            }
        }
        match self.send_in_dialog(now, id, other, method, req.body.clone(), copied) {
            Some(ctx) => {
                self.tx_roles.insert(ctx, TxRole::Relay { call: id, server: tx });
                if let Some(c) = self.calls.get_mut(&id) {
                    c.relays.push((
                        ctx,
                        Relay {
                            server: tx,
                            from: side,
                            request: req,
                        },
                    ));
                }
            }
            None => {
                let resp = Message::response_to(
                    &req,
                    StatusCode::SERVER_INTERNAL_ERROR,
                    Some("Relay Failed"),
                    tag.as_deref(),
                );
                self.respond(now, tx, resp);
            }
        }
    }

    /// Sends a new in-dialog request on `side` (§12.2.1.1); returns its
    /// client transaction.
    pub(crate) fn send_in_dialog(
        &mut self,
        now: Now,
        id: CallRef,
        side: Side,
        method: Method,
        body: Bytes,
        headers: Vec<(HeaderName, Bytes)>,
    ) -> Option<TxId> {
        let dest = self.side_dest(id, side)?;
        let call = self.calls.get_mut(&id)?;
        let dialog = match side {
            Side::A => call.a.dialog.as_mut()?,
            Side::B(i) => call.b.get_mut(i)?.dialog.as_mut()?,
        };
        let mut m = dialog.request(method.clone(), None);
        let user = dialog.local_user().unwrap_or_else(|| "switchboard".to_string());
        let via = self.new_via(dest);
        m.headers.push_front(HeaderName::Via, via);
        m.headers.push(HeaderName::MaxForwards, "70");
        if method == Method::INVITE || method == Method::UPDATE {
            m.headers.push(HeaderName::Contact, self.contact_for(&user, dest));
        }
        for (n, v) in headers {
            m.headers.push(n, v);
        }
        m.body = body;
        self.txl.send_request(now.mono, m, dest).ok()
    }

    /// Sends BYE on one side (§15.1.1); the answer needs no action. A 2xx
    /// from that side still waiting for its ACK is ACKed first (§13.2.2.4:
    /// every 2xx is ACKed, even one whose session we end at once).
    pub(crate) fn bye_leg(&mut self, now: Now, id: CallRef, side: Side) {
        let owed = self.calls.get_mut(&id).and_then(|c| match &c.pending_ack {
            Some(p) if p.0 == side => c.pending_ack.take(),
            _ => None,
        });
        if let Some(owed) = owed {
            let (target, resp) = *owed;
            let seq = resp.envelope().map(|e| e.cseq.seq).ok();
            match target {
                Side::B(i) => self.ack_side_b(now, id, i, Bytes::new(), None, seq),
                Side::A => self.ack_side_a(now, id, Bytes::new(), None, seq),
            }
        }
        if let Some(tx) = self.send_in_dialog(now, id, side, Method::BYE, Bytes::new(), Vec::new()) {
            self.tx_roles.insert(tx, TxRole::Own);
        }
        self.forget_dialog(id, side);
    }

    fn forget_dialog(&mut self, id: CallRef, side: Side) {
        let Some(call) = self.calls.get_mut(&id) else { return };
        let d = match side {
            Side::A => call.a.dialog.take(),
            Side::B(i) => call.b.get_mut(i).and_then(|l| l.dialog.take()),
        };
        if let Some(d) = d {
            self.dialogs.remove(&d.key);
        }
    }

    /// The final response to a relayed request, mapped back to its sender.
    pub(crate) fn on_relay_response(&mut self, now: Now, id: CallRef, ctx: TxId, server: TxId, resp: Message) {
        let Some(code) = resp.status() else { return };
        if code.is_provisional() {
            return;
        }
        let Some(call) = self.calls.get_mut(&id) else { return };
        let Some(pos) = call.relays.iter().position(|(t, _)| *t == ctx) else {
            return;
        };
        let (_, relay) = call.relays.remove(pos);
        self.tx_roles.remove(&ctx);
        let tag = relay
            .request
            .envelope()
            .ok()
            .and_then(|e| e.to.tag())
            .map(|t| String::from_utf8_lossy(&t).into_owned());
        let reason = match &resp.start {
            crate::sip::msg::StartLine::Response { reason, .. } => String::from_utf8_lossy(reason).into_owned(),
            _ => String::new(),
        };
        let mut out = Message::response_to(&relay.request, code, Some(&reason), tag.as_deref());
        for h in resp.headers.iter() {
            if matches!(
                h.name,
                HeaderName::ContentType | HeaderName::ContentDisposition | HeaderName::RetryAfter | HeaderName::Warning
            ) {
                out.headers.push(h.name.clone(), h.value.clone());
            }
        }
        out.body = resp.body.clone();
        let is_invite = relay.request.method() == Some(&Method::INVITE);
        if code.is_success() && (is_invite || relay.request.method() == Some(&Method::UPDATE)) {
            let dest = match relay.from {
                Side::A => self.calls.get(&id).map(|c| c.a.src),
                Side::B(i) => self.calls.get(&id).and_then(|c| c.b.get(i)).map(|l| l.dest),
            };
            let user = self.calls.get(&id).map(|c| c.callee.clone()).unwrap_or_default();
            if let Some(dest) = dest {
                out.headers.push(HeaderName::Contact, self.contact_for(&user, dest));
            }
        }
        if code.is_success() && is_invite {
            // The ACK to the other side waits for the sender's ACK (it may carry the answer).
            let other = self.other_side(id, relay.from);
            if let (Some(other), Some(c)) = (other, self.calls.get_mut(&id)) {
                c.pending_ack = Some(Box::new((other, resp.clone())));
            }
        }
        self.respond(now, server, out);
    }

    /// An ACK for a 2xx (end to end, §13.2.2.4): releases the ACK we owe.
    pub(crate) fn on_ack(&mut self, now: Now, ack: Message) {
        let Some((id, side)) = self.find_dialog(&ack) else {
            return;
        };
        let Some(call) = self.calls.get_mut(&id) else { return };
        let anchored = call.media.is_some();
        if side == Side::A {
            call.a.pending_2xx = None;
            self.timers.cancel(EngineTimer::Retransmit2xx(id));
            if anchored && !self.anchor_ack_answer(now, id, &ack) {
                return;
            }
        }
        let Some(call) = self.calls.get_mut(&id) else { return };
        let Some(owed) = call.pending_ack.take() else { return };
        let (target, resp) = *owed;
        // On an anchored call each leg's SDP is with the switch: an answer
        // in this ACK was ours, never the other leg's.
        let (ct, body) = if anchored {
            (None, Bytes::new())
        } else {
            (ack.headers.get(&HeaderName::ContentType).cloned(), ack.body.clone())
        };
        match target {
            Side::B(i) => {
                // For a re-INVITE the leg's ACK uses the re-INVITE's CSeq.
                let seq = resp.envelope().map(|e| e.cseq.seq).ok();
                self.ack_side_b(now, id, i, body, ct, seq);
            }
            Side::A => {
                let seq = resp.envelope().map(|e| e.cseq.seq).ok();
                self.ack_side_a(now, id, body, ct, seq);
            }
        }
    }

    fn ack_side_b(&mut self, now: Now, id: CallRef, i: usize, body: Bytes, ct: Option<Bytes>, seq: Option<u32>) {
        let invite_seq = self.calls.get(&id).and_then(|c| c.b.get(i)).map(|l| l.cseq);
        if seq.is_some() && seq != invite_seq {
            // ACK for a relayed re-INVITE.
            self.ack_with_seq(id, Side::B(i), seq.unwrap_or(1), body, ct);
        } else {
            self.ack_b(now, id, i, body, ct);
        }
    }

    fn ack_side_a(&mut self, _now: Now, id: CallRef, body: Bytes, ct: Option<Bytes>, seq: Option<u32>) {
        self.ack_with_seq(id, Side::A, seq.unwrap_or(1), body, ct);
    }

    fn ack_with_seq(&mut self, id: CallRef, side: Side, seq: u32, body: Bytes, ct: Option<Bytes>) {
        let Some(dest) = self.side_dest(id, side) else { return };
        let Some(call) = self.calls.get_mut(&id) else { return };
        let dialog = match side {
            Side::A => call.a.dialog.as_mut(),
            Side::B(i) => call.b.get_mut(i).and_then(|l| l.dialog.as_mut()),
        };
        let Some(dialog) = dialog else { return };
        let mut ack = dialog.request(Method::ACK, Some(seq));
        let via = self.new_via(dest);
        ack.headers.push_front(HeaderName::Via, via);
        ack.headers.push(HeaderName::MaxForwards, "70");
        if let Some(ct) = ct {
            ack.headers.push(HeaderName::ContentType, ct);
        }
        ack.body = body;
        self.txl.send_stateless(dest, &ack);
    }

    /// §13.3.1.4: retransmit the 2xx with T1 doubling up to T2 (UDP only);
    /// after 64·T1 without ACK, end the call with BYE on both sides.
    pub(crate) fn retransmit_2xx(&mut self, now: Now, id: CallRef) {
        let (t1, t2) = (self.txl.config().t1, self.txl.config().t2);
        let Some(call) = self.calls.get_mut(&id) else { return };
        let Some((resp, interval, since)) = call.a.pending_2xx.clone().map(|b| *b) else {
            return;
        };
        if now.mono.duration_since(since) >= t1 * 64 {
            call.a.pending_2xx = None;
            tracing::info!(call = %id, "no ACK for 2xx: ending call");
            if let Some(w) = call.winner {
                self.bye_leg(now, id, Side::B(w));
            }
            self.bye_leg(now, id, Side::A);
            self.end_call(now, id, "no_ack");
            return;
        }
        let atx = call.a.tx;
        let reliable = call.a.src.transport.is_reliable();
        let next = (interval * 2).min(t2);
        call.a.pending_2xx = Some(Box::new((resp.clone(), next, since)));
        if !reliable {
            self.respond(now, atx, resp);
            self.timers.set(EngineTimer::Retransmit2xx(id), now.mono + next);
        } else {
            self.timers.set(EngineTimer::Retransmit2xx(id), since + t1 * 64);
        }
    }
}

fn is_info_package(name: &HeaderName) -> bool {
    match name {
        HeaderName::Other(n) => n.eq_ignore_ascii_case(b"Info-Package") || n.eq_ignore_ascii_case(b"Recv-Info"),
        _ => false,
    }
}
