//! In-dialog traffic of a call (RFC 3261 §12.2, §13.2.2.4, §13.3.1.4, §15):
//! the caller's ACK releases our ACK to the answering leg; BYE from either
//! side is answered at once and carried to the other side; re-INVITE,
//! UPDATE and INFO are relayed and their final responses mapped back (an
//! anchored call's offers are answered by the switch itself, `anchor`);
//! the 2xx to the caller is retransmitted until its ACK arrives, and a call
//! whose ACK never comes is ended with BYE.
//!
//! In-dialog requests are sent to the address the leg's signalling came
//! from (the caller's source, the callee's registered source), not to a
//! Contact that may be a private address behind NAT: the symmetric choice
//! phones behind NAT need.

use super::{Call, CallCtx, CallTimer, Phase, Relay, Side, TxOwner};
use crate::sip::msg::{HeaderName, Message, Method, StatusCode};
use crate::sip::transaction::TxId;
use bytes::Bytes;

impl Call {
    /// A request inside the dialog on `side` (the engine found the dialog).
    pub(crate) fn on_in_dialog_request(&mut self, ctx: &mut CallCtx, tx: TxId, side: Side, req: Message) {
        let Some(method) = req.method().cloned() else { return };
        let tag = req
            .envelope()
            .ok()
            .and_then(|e| e.to.tag())
            .map(|t| String::from_utf8_lossy(&t).into_owned());
        // §12.2.2: CSeq must grow.
        let seq = req.envelope().map(|e| e.cseq.seq).unwrap_or(0);
        let in_order = self
            .dialog_mut(side)
            .is_some_and(|d| d.accept_remote_cseq(&method, seq).is_ok());
        if !in_order {
            let resp = Message::response_to(
                &req,
                StatusCode::SERVER_INTERNAL_ERROR,
                Some("CSeq Out of Order"),
                tag.as_deref(),
            );
            ctx.respond(tx, resp);
            return;
        }
        if let Side::B(i) = side {
            let party = self.b.get(i).and_then(|l| l.party());
            // A transfer's target (a party now talking with the caller or
            // the callee) may itself transfer by REFER.
            let talking = party.is_some_and(|p| !p.is_supervisor() && p.state == super::PartyState::Answered);
            if party.is_some() && !(method == Method::REFER && talking) {
                self.on_party_request(ctx, i, tx, &method, &req, tag.as_deref());
                return;
            }
        }
        if method == Method::PRACK {
            let tag = tag.unwrap_or_default();
            self.on_prack(ctx, tx, side, &req, &tag);
            return;
        }
        if method == Method::BYE {
            let resp = Message::response_to(&req, StatusCode::OK, None, tag.as_deref());
            ctx.respond(tx, resp);
            if self.referrer_left(ctx, side) || self.leave_keeps_call(ctx, side) {
                return;
            }
            let cause = if side == Side::A {
                "caller_hangup"
            } else {
                "callee_hangup"
            };
            if let Some(other) = self.other_side(side) {
                self.bye_leg(ctx, other);
            }
            self.forget_dialog(ctx, side);
            self.end(ctx, cause);
            return;
        }
        if method == Method::OPTIONS {
            let resp = Message::response_to(&req, StatusCode::OK, None, tag.as_deref());
            ctx.respond(tx, resp);
            return;
        }
        if method == Method::REFER {
            if self.seat.is_some() || self.phase != Phase::Answered || self.media.is_none() {
                let resp = Message::response_to(
                    &req,
                    StatusCode::FORBIDDEN,
                    Some("Transfer Not Possible On This Call"),
                    tag.as_deref(),
                );
                ctx.respond(tx, resp);
                return;
            }
            let tag = tag.unwrap_or_default();
            self.on_refer(ctx, tx, side, req, &tag);
            return;
        }
        // The switch is the caller's far end: not answered yet, answered by
        // the switch (voicemail), or waiting in a blind transfer.
        let alone = self.phase == Phase::Routing
            || (self.phase == Phase::Answered
                && (self.other_side(side).is_none() || self.talk == super::Talk::Transferring));
        if method == Method::INFO && side == Side::A && self.seat.is_none() && alone {
            // The caller keys a digit while the switch is its far end: an
            // entry point's menu (early media) or voicemail (answered).
            let resp = Message::response_to(&req, StatusCode::OK, None, tag.as_deref());
            ctx.respond(tx, resp);
            if let Some(digit) = info_digit(&req.body) {
                ctx.event(self.id, super::CallEvent::Key { digit });
            }
            return;
        }
        if self.seat.is_some() && self.phase == Phase::Answered {
            // A meet-me room caller: the switch is its far end.
            self.on_room_request(ctx, tx, side, &method, &req, tag.as_deref().unwrap_or_default());
            return;
        }
        let Some(other) = self.other_side(side) else {
            let resp = Message::response_to(&req, StatusCode::CALL_DOES_NOT_EXIST, None, tag.as_deref());
            ctx.respond(tx, resp);
            return;
        };
        if self.phase != Phase::Answered {
            let resp = Message::response_to(&req, StatusCode::REQUEST_PENDING, None, tag.as_deref());
            ctx.respond(tx, resp);
            return;
        }
        // Target refresh (§12.2.2) for re-INVITE/UPDATE.
        if method == Method::INVITE || method == Method::UPDATE {
            if self.session_glare(ctx, side, tx, &req) {
                return;
            }
            if let Some(d) = self.dialog_mut(side) {
                d.refresh_target(&req);
            }
            // An anchored call's offers are answered here, never relayed
            // (the other leg's SDP names the switch, not this peer).
            if self.media.is_some() {
                let tag = tag.unwrap_or_default();
                self.answer_in_dialog_offer(ctx, side, tx, &req, &tag);
                return;
            }
        }
        let mut copied: Vec<(HeaderName, Bytes)> = Vec::new();
        for h in req.headers.iter() {
            if matches!(h.name, HeaderName::ContentType | HeaderName::ContentDisposition) || is_info_package(&h.name) {
                copied.push((h.name.clone(), h.value.clone()));
            }
        }
        if method == Method::INVITE || method == Method::UPDATE {
            self.session_relay_headers(other, &mut copied);
        }
        match self.send_in_dialog(ctx, other, method, req.body.clone(), copied, TxOwner::Call(self.id)) {
            Some(ctx_tx) => self.relays.push((
                ctx_tx,
                Relay {
                    server: tx,
                    from: side,
                    request: req,
                },
            )),
            None => {
                let resp = Message::response_to(
                    &req,
                    StatusCode::SERVER_INTERNAL_ERROR,
                    Some("Relay Failed"),
                    tag.as_deref(),
                );
                ctx.respond(tx, resp);
            }
        }
    }

    /// A re-INVITE, UPDATE or INFO from a meet-me room caller: offers are
    /// answered by the switch (hold included), an INFO's DTMF
    /// (`application/dtmf-relay`, `Signal=`) counts as a key for the PIN;
    /// anything else is refused with 405 (nothing to relay it to).
    fn on_room_request(&mut self, ctx: &mut CallCtx, tx: TxId, side: Side, method: &Method, req: &Message, tag: &str) {
        if *method == Method::INVITE || *method == Method::UPDATE {
            if let Some(d) = self.dialog_mut(side) {
                d.refresh_target(req);
            }
            self.answer_in_dialog_offer(ctx, side, tx, req, tag);
            return;
        }
        if *method == Method::INFO {
            let resp = Message::response_to(req, StatusCode::OK, None, Some(tag));
            ctx.respond(tx, resp);
            if let Some(digit) = info_digit(&req.body) {
                self.room_digit(ctx, digit);
            }
            return;
        }
        let mut resp = Message::response_to(req, StatusCode::METHOD_NOT_ALLOWED, None, Some(tag));
        resp.headers
            .push(HeaderName::Allow, "INVITE, ACK, BYE, CANCEL, OPTIONS, UPDATE, INFO");
        ctx.respond(tx, resp);
    }

    /// Sends a new in-dialog request on `side` (§12.2.1.1); returns its
    /// client transaction.
    pub(crate) fn send_in_dialog(
        &mut self,
        ctx: &mut CallCtx,
        side: Side,
        method: Method,
        body: Bytes,
        headers: Vec<(HeaderName, Bytes)>,
        owner: TxOwner,
    ) -> Option<TxId> {
        let dest = self.side_dest(side)?;
        let dialog = self.dialog_mut(side)?;
        let m = in_dialog_request(ctx, dialog, dest, method, body, headers);
        ctx.send_request(owner, m, dest)
    }

    /// Sends BYE on one side (§15.1.1); the answer needs no action. A 2xx
    /// from that side still waiting for its ACK is ACKed first (§13.2.2.4:
    /// every 2xx is ACKed, even one whose session we end at once).
    pub(crate) fn bye_leg(&mut self, ctx: &mut CallCtx, side: Side) {
        let owed = match &self.pending_ack {
            Some(p) if p.0 == side => self.pending_ack.take(),
            _ => None,
        };
        if let Some(owed) = owed {
            let (target, resp) = *owed;
            let seq = resp.envelope().map(|e| e.cseq.seq).ok();
            match target {
                Side::B(i) => self.ack_side_b(ctx, i, Bytes::new(), None, seq),
                Side::A => self.ack_with_seq(ctx, Side::A, seq.unwrap_or(1), Bytes::new(), None),
            }
        }
        self.send_in_dialog(ctx, side, Method::BYE, Bytes::new(), Vec::new(), TxOwner::Detached);
        self.forget_dialog(ctx, side);
    }

    /// Drops the dialog on `side` (and its routing entry).
    pub(crate) fn forget_dialog(&mut self, ctx: &mut CallCtx, side: Side) {
        self.session_leg_gone(ctx, side);
        let d = match side {
            Side::A => self.a.dialog.take(),
            Side::B(i) => self.b.get_mut(i).and_then(|l| l.dialog.take()),
        };
        if let Some(d) = d {
            ctx.links.dialogs.remove(&d.key);
            ctx.links.dialog_ended(d.key);
        }
    }

    /// The final response to a relayed request, mapped back to its sender.
    pub(crate) fn on_relay_response(&mut self, ctx: &mut CallCtx, relay_tx: TxId, resp: Message) {
        let Some(code) = resp.status() else { return };
        if code.is_provisional() {
            return;
        }
        let Some(pos) = self.relays.iter().position(|(t, _)| *t == relay_tx) else {
            return;
        };
        let (_, relay) = self.relays.remove(pos);
        ctx.links.txs.remove(&relay_tx);
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
            if let Some(dest) = self.side_dest(relay.from) {
                out.headers
                    .push(HeaderName::Contact, super::contact_for(&self.callee, dest));
            }
            self.session_relay_answered(ctx, relay.from, &relay.request, &resp, &mut out);
        }
        if code.is_success() && is_invite {
            // The ACK to the other side waits for the sender's ACK (it may carry the answer).
            if let Some(other) = self.other_side(relay.from) {
                self.pending_ack = Some(Box::new((other, resp.clone())));
            }
        }
        ctx.respond(relay.server, out);
    }

    /// An ACK for a 2xx (end to end, §13.2.2.4): releases the ACK we owe.
    pub(crate) fn on_ack(&mut self, ctx: &mut CallCtx, side: Side, ack: Message) {
        let anchored = self.media.is_some();
        if side == Side::A {
            self.a.pending_2xx = None;
            ctx.cancel_timer(self.id, CallTimer::Retransmit2xx);
            if self.seat.is_some() {
                if !self.room_ack_answer(ctx, &ack) {
                    return;
                }
            } else if anchored && !self.anchor_ack_answer(ctx, &ack) {
                return;
            }
        }
        let Some(owed) = self.pending_ack.take() else { return };
        let (target, resp) = *owed;
        // On an anchored call each leg's SDP is with the switch: an answer
        // in this ACK was ours, never the other leg's.
        let (ct, body) = if anchored {
            (None, Bytes::new())
        } else {
            (ack.headers.get(&HeaderName::ContentType).cloned(), ack.body.clone())
        };
        // For a re-INVITE the leg's ACK uses the re-INVITE's CSeq.
        let seq = resp.envelope().map(|e| e.cseq.seq).ok();
        match target {
            Side::B(i) => self.ack_side_b(ctx, i, body, ct, seq),
            Side::A => self.ack_with_seq(ctx, Side::A, seq.unwrap_or(1), body, ct),
        }
    }

    fn ack_side_b(&mut self, ctx: &mut CallCtx, i: usize, body: Bytes, ct: Option<Bytes>, seq: Option<u32>) {
        let invite_seq = self.b.get(i).map(|l| l.cseq);
        match seq {
            // ACK for a relayed re-INVITE.
            Some(s) if Some(s) != invite_seq => self.ack_with_seq(ctx, Side::B(i), s, body, ct),
            _ => self.ack_b(ctx, i, body, ct),
        }
    }

    pub(crate) fn ack_with_seq(&mut self, ctx: &mut CallCtx, side: Side, seq: u32, body: Bytes, ct: Option<Bytes>) {
        let Some(dest) = self.side_dest(side) else { return };
        let Some(dialog) = self.dialog_mut(side) else { return };
        let mut ack = dialog.request(Method::ACK, Some(seq));
        let via = ctx.new_via(dest);
        ack.headers.push_front(HeaderName::Via, via);
        ack.headers.push(HeaderName::MaxForwards, "70");
        if let Some(ct) = ct {
            ack.headers.push(HeaderName::ContentType, ct);
        }
        ack.body = body;
        ctx.txl.send_stateless(dest, &ack);
    }

    /// §13.3.1.4: retransmit the 2xx with T1 doubling up to T2 (UDP only);
    /// after 64·T1 without ACK, end the call with BYE on both sides.
    pub(crate) fn retransmit_2xx(&mut self, ctx: &mut CallCtx) {
        let (t1, t2) = (ctx.txl.config().t1, ctx.txl.config().t2);
        let Some((resp, interval, since)) = self.a.pending_2xx.clone().map(|b| *b) else {
            return;
        };
        let now = ctx.now.mono;
        if now.duration_since(since) >= t1 * 64 {
            self.a.pending_2xx = None;
            tracing::info!(call = %self.id, "no ACK for 2xx: ending call");
            if let Some(w) = self.winner {
                self.bye_leg(ctx, Side::B(w));
            }
            self.bye_leg(ctx, Side::A);
            self.end(ctx, "no_ack");
            return;
        }
        let next = (interval * 2).min(t2);
        self.a.pending_2xx = Some(Box::new((resp.clone(), next, since)));
        if !self.a.src.transport.is_reliable() {
            ctx.respond(self.a.tx, resp);
            ctx.set_timer(self.id, CallTimer::Retransmit2xx, now + next);
        } else {
            ctx.set_timer(self.id, CallTimer::Retransmit2xx, since + t1 * 64);
        }
    }
}

/// The key of an INFO `application/dtmf-relay` body (`Signal=5`), the
/// de-facto format of phones that send DTMF in SIP INFO.
fn info_digit(body: &[u8]) -> Option<char> {
    let text = std::str::from_utf8(body).ok()?;
    let line = text
        .lines()
        .find(|l| l.trim_start().to_ascii_lowercase().starts_with("signal"))?;
    let value = line.split_once('=')?.1.trim();
    let mut chars = value.chars();
    let c = chars.next()?.to_ascii_uppercase();
    (chars.next().is_none() && crate::rtp::dtmf::digit_to_event(c).is_some()).then_some(c)
}

fn is_info_package(name: &HeaderName) -> bool {
    match name {
        HeaderName::Other(n) => n.eq_ignore_ascii_case(b"Info-Package") || n.eq_ignore_ascii_case(b"Recv-Info"),
        _ => false,
    }
}

/// A new request in `dialog` towards `dest` (§12.2.1.1): the next CSeq,
/// our Via, Max-Forwards, a Contact on target refreshes, `headers` and
/// `body`.
pub(crate) fn in_dialog_request(
    ctx: &mut CallCtx,
    dialog: &mut crate::sip::dialog::Dialog,
    dest: crate::sip::transaction::Destination,
    method: Method,
    body: Bytes,
    headers: Vec<(HeaderName, Bytes)>,
) -> Message {
    let mut m = dialog.request(method.clone(), None);
    let user = dialog.local_user().unwrap_or_else(|| "switchboard".to_string());
    let via = ctx.new_via(dest);
    m.headers.push_front(HeaderName::Via, via);
    m.headers.push(HeaderName::MaxForwards, "70");
    if method == Method::INVITE || method == Method::UPDATE {
        m.headers.push(HeaderName::Contact, super::contact_for(&user, dest));
    }
    for (n, v) in headers {
        m.headers.push(n, v);
    }
    m.body = body;
    m
}
