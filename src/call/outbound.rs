//! Placing legs and hearing back from them (RFC 3261 §13, §16.7-style
//! forking): an INVITE per target, all in parallel; a trunk's digest
//! challenge answered once (§22.2); 1xx relayed to the caller (with the
//! switch's SDP when anchored); the first 2xx wins, the other forks are
//! CANCELled and a late 2xx is ACKed and hung up; when every fork failed
//! the caller gets the best failure; the caller's CANCEL (§9.2) and the
//! route's no-answer timeout end the attempt.
//!
//! On an ACD call ([`Call::acd`]) a placed leg is an agent's phone: its
//! 18x is not relayed (the caller hears the queue), and its answer or
//! failure is the ACD's to judge ([`CallEvent::OfferAnswered`], answered
//! at once with [`Call::connect`] or [`Call::refuse`]).

use super::{BLeg, BState, Call, CallCtx, CallEvent, CallTimer, LegRole, Phase, Side, TxOwner};
use crate::sip::auth::DigestClient;
use crate::sip::dialog::{Dialog, DialogState};
use crate::sip::msg::{HeaderName, Host, Message, Method, StatusCode, Uri};
use crate::sip::transaction::{Destination, TransportKind, TxId};
use bytes::Bytes;

/// Headers we copy from one leg's message to the other's (everything
/// else stays on its own leg: a B2BUA does not leak topology).
pub(crate) const COPIED: &[HeaderName] = &[
    HeaderName::ContentType,
    HeaderName::ContentDisposition,
    HeaderName::Subject,
];

/// Where one leg goes: request URI, destination, and the trunk it leaves by.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RingTarget {
    /// The INVITE's request URI.
    pub uri: Uri,
    /// Where it is sent from and to.
    pub dest: Destination,
    /// The trunk (its `from_user` and credentials apply).
    pub trunk: Option<String>,
}

/// How the legs of one [`Call::ring`] are built.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RingOptions {
    /// The From user (a trunk's `from_user` overrides it).
    pub from_user: String,
    /// The From display name.
    pub display: Option<Bytes>,
    /// Max-Forwards.
    pub max_forwards: u32,
    /// The body (the switch's SDP offer when anchored); `None` passes the
    /// caller's body on.
    pub body: Option<Bytes>,
    /// Ask the phone to answer by itself (OFFER-1 auto accept, desktop accept).
    pub auto_answer: bool,
}

/// Asks a phone to answer by itself (OFFER-1 auto accept, desktop accept,
/// a supervisor's monitor): `Call-Info: answer-after=0` and `Alert-Info:
/// info=alert-autoanswer`, the headers desk phones and softphones honour.
pub fn ask_auto_answer(invite: &mut Message, host: std::net::IpAddr) {
    invite.headers.push(
        HeaderName::from_bytes(Bytes::from_static(b"Call-Info")),
        format!("<sip:{host}>;answer-after=0"),
    );
    invite.headers.push(
        HeaderName::from_bytes(Bytes::from_static(b"Alert-Info")),
        format!("<sip:{host}>;info=alert-autoanswer"),
    );
}

/// A new INVITE from the switch to `uri` (a fresh dialog: From tag,
/// Call-ID, CSeq 1, Contact, Allow, User-Agent).
pub(crate) fn new_invite(
    ctx: &mut CallCtx,
    uri: Uri,
    dest: Destination,
    from_user: &str,
    display: Option<&Bytes>,
    max_forwards: u32,
) -> Message {
    let mut m = Message::request(Method::INVITE, uri.clone());
    m.headers.push(HeaderName::Via, ctx.new_via(dest));
    m.headers
        .push(HeaderName::MaxForwards, Bytes::from(max_forwards.to_string()));
    let from_uri = Uri::sip(Some(from_user), Host::from_ip(dest.local.ip()), Some(dest.local.port()));
    let from = match display {
        Some(d) => format!("{} <{from_uri}>;tag={}", String::from_utf8_lossy(d), ctx.ids.tag()),
        None => format!("<{from_uri}>;tag={}", ctx.ids.tag()),
    };
    m.headers.push(HeaderName::From, from);
    let mut to_uri = uri;
    to_uri.params = Default::default();
    m.headers.push(HeaderName::To, format!("<{to_uri}>"));
    let host = dest.local.ip().to_string();
    m.headers.push(HeaderName::CallId, ctx.ids.call_id(&host));
    m.headers.push(HeaderName::CSeq, "1 INVITE");
    m.headers.push(HeaderName::Contact, super::contact_for(from_user, dest));
    m.headers.push(HeaderName::Allow, crate::sip::ALLOW);
    // RFC 3262: callees may send reliable provisional responses; we PRACK them.
    m.headers.push(HeaderName::Supported, "100rel, replaces");
    m.headers.push(HeaderName::UserAgent, ctx.cfg.sip().user_agent.clone());
    m
}

/// The re-INVITE answering trunk `trunk`'s 401/407 `resp` to `invite`
/// (RFC 3261 §22.2): same Call-ID and tags, CSeq + 1, a new branch,
/// credentials added; `None` when the trunk has no credentials or the
/// challenge cannot be answered.
pub(crate) fn trunk_auth_retry(
    ctx: &mut CallCtx,
    trunk: &str,
    invite: &Message,
    dest: Destination,
    resp: &Message,
) -> Option<Message> {
    let uri = invite.uri()?.to_string();
    let creds = ctx.cfg.trunk(trunk)?.credentials.clone()?;
    let cnonce = ctx.ids.tag();
    let (cr_name, value) = DigestClient::authorize(
        resp,
        &Method::INVITE,
        &uri,
        &creds.username,
        creds.password.expose(),
        &cnonce,
    )?;
    let mut m = invite.clone();
    let seq = m.envelope().ok()?.cseq.seq + 1;
    m.headers.set(HeaderName::CSeq, format!("{seq} INVITE"));
    let via = ctx.new_via(dest);
    m.headers.set(HeaderName::Via, via);
    m.headers.push(cr_name, value);
    Some(m)
}

impl Call {
    /// Rings `targets` in parallel for the caller; the new legs' indexes
    /// (a target whose INVITE cannot be sent is skipped).
    pub fn ring(&mut self, ctx: &mut CallCtx, targets: Vec<RingTarget>, opts: &RingOptions) -> Vec<usize> {
        // A callback call has no caller INVITE: the switch places both legs.
        let a = self.a.invite.clone();
        if a.is_none() && self.callback.is_none() {
            return Vec::new();
        }
        let mut legs = Vec::new();
        for t in targets {
            let from_user = t
                .trunk
                .as_ref()
                .and_then(|n| ctx.cfg.trunk(n))
                .and_then(|t| t.from_user.clone())
                .unwrap_or_else(|| opts.from_user.clone());
            let mut invite = new_invite(ctx, t.uri, t.dest, &from_user, opts.display.as_ref(), opts.max_forwards);
            for h in a.iter().flat_map(|a| a.headers.iter()) {
                if COPIED.contains(&h.name) {
                    invite.headers.push(h.name.clone(), h.value.clone());
                }
            }
            // A browser (SIP over WebSocket) is offered WebRTC (issue 12).
            let browser_body = match &opts.body {
                Some(b) if !b.is_empty() && t.dest.transport.is_websocket() => self.browser_offer(ctx),
                _ => None,
            };
            match browser_body.as_ref().or(opts.body.as_ref()) {
                None => invite.body = a.as_ref().map(|a| a.body.clone()).unwrap_or_default(),
                Some(body) => {
                    invite.body = body.clone();
                    if !body.is_empty() {
                        invite.headers.set(HeaderName::ContentType, "application/sdp");
                    }
                }
            }
            if opts.auto_answer {
                ask_auto_answer(&mut invite, t.dest.local.ip());
            }
            super::session_timer::offer_headers(ctx, &mut invite);
            if let Some(i) = self.place_leg(ctx, LegRole::Callee, invite, t.dest, t.trunk) {
                legs.push(i);
            }
        }
        self.b.shrink_to_fit();
        legs
    }

    /// Sends `invite` as a new placed leg with `role`; its index.
    pub(crate) fn place_leg(
        &mut self,
        ctx: &mut CallCtx,
        role: LegRole,
        invite: Message,
        dest: Destination,
        trunk: Option<String>,
    ) -> Option<usize> {
        let tx = ctx.send_request(TxOwner::Call(self.id), invite.clone(), dest)?;
        let (call_id, cseq) = invite
            .envelope()
            .map(|e| (Bytes::copy_from_slice(&e.call_id), e.cseq.seq))
            .unwrap_or_default();
        self.b.push(BLeg {
            role,
            invite: Some(Box::new(invite)),
            call_id,
            cseq,
            tx,
            dest,
            state: BState::Calling,
            dialog: None,
            auth_tries: 0,
            ack: None,
            trunk,
            started_ms: ctx.now.unix_ms,
            answered_ms: None,
            rseq: None,
        });
        Some(self.b.len() - 1)
    }

    /// CANCELs the placed legs `legs` that still ring.
    pub fn cancel_legs(&mut self, ctx: &mut CallCtx, legs: &[usize]) {
        for i in legs {
            if self.b.get(*i).is_some_and(|l| l.party().is_some()) {
                // A party leg (a transferred customer's offer) is out of
                // the call from now: its phone's late answer is hung up.
                self.withdraw_party(ctx, *i, "cancelled");
            } else if let Some(l) = self.b.get(*i).filter(|l| l.is_ringing()) {
                ctx.cancel(l.tx);
            }
        }
    }

    /// Sends the caller a provisional response (the queue's 183/180).
    pub fn provisional_to_a(&mut self, ctx: &mut CallCtx, resp: Message) {
        self.send_provisional(ctx, resp);
    }

    /// A response for one of the call's client transactions.
    pub(crate) fn on_response(&mut self, ctx: &mut CallCtx, tx: TxId, resp: Message) {
        if self.is_customer_invite(tx) {
            self.on_customer_response(ctx, resp);
        } else if let Some(idx) = self.b.iter().position(|l| l.tx == tx) {
            if self.b[idx].party().is_some() {
                // RFC 4028 §7.3: a party's phone wanting longer sessions.
                if resp.status() == Some(StatusCode::SESSION_INTERVAL_TOO_SMALL)
                    && self.session_retry_422(ctx, idx, tx, &resp)
                {
                    return;
                }
                self.on_party_response(ctx, idx, resp);
            } else {
                self.on_b_invite_response(ctx, idx, tx, resp);
            }
        } else if self.relays.iter().any(|(t, _)| *t == tx) {
            self.on_relay_response(ctx, tx, resp);
        } else if self.is_refresh_tx(tx) {
            self.on_refresh_response(ctx, tx, resp);
        }
    }

    /// A client transaction timed out or could not be sent.
    pub(crate) fn on_tx_failed(&mut self, ctx: &mut CallCtx, tx: TxId, code: StatusCode) {
        if self.is_customer_invite(tx) {
            self.on_customer_tx_failed(ctx, code);
        } else if let Some(idx) = self.b.iter().position(|l| l.tx == tx) {
            // A phone on a WebSocket is reached only over its own connection
            // (RFC 7118 §5, RFC 5626 §5.3): when that flow is gone the phone
            // is unavailable, 480, not the network (503, relayed as 500).
            // RFC 5626's 430 Flow Failed is for the hop from an edge proxy to
            // the registrar, which are one here.
            let flow = matches!(self.b[idx].dest.transport, TransportKind::Ws | TransportKind::Wss);
            let code = if flow && code == StatusCode::SERVICE_UNAVAILABLE {
                StatusCode::TEMPORARILY_UNAVAILABLE
            } else {
                code
            };
            if self.b[idx].party().is_some() {
                self.on_party_response(ctx, idx, Message::response(code, None));
            } else {
                self.b_leg_failed(ctx, idx, code, None);
            }
        } else if self.relays.iter().any(|(t, _)| *t == tx) {
            self.on_relay_response(ctx, tx, Message::response(code, None));
        } else if self.is_refresh_tx(tx) {
            self.on_refresh_response(ctx, tx, Message::response(code, None));
        }
    }

    /// An INVITE client transaction is gone (Timer M): no more 2xx
    /// retransmissions can reach us, so its stored ACK can go.
    pub(crate) fn on_tx_terminated(&mut self, tx: TxId) {
        if let Some(leg) = self.b.iter_mut().find(|l| l.tx == tx) {
            leg.ack = None;
        }
    }

    fn on_b_invite_response(&mut self, ctx: &mut CallCtx, idx: usize, tx: TxId, resp: Message) {
        let Some(code) = resp.status() else { return };
        if self.failover_heard(ctx, idx) {
            // A trunk given up for silence: only a 2xx needs an answer (ACK, BYE).
            if code.is_success() {
                self.on_b_answer(ctx, idx, resp);
            }
            return;
        }
        let id = self.id;
        let routing = self.phase == Phase::Routing;
        let leg = &mut self.b[idx];
        if code.is_provisional() {
            if code == StatusCode::TRYING || !routing {
                return;
            }
            let has_tag = resp.envelope().ok().and_then(|e| e.to.tag()).is_some();
            if has_tag && leg.dialog.is_none() {
                leg.dialog = leg
                    .invite
                    .as_deref()
                    .and_then(|inv| Dialog::uac(inv, &resp, DialogState::Early).ok());
                if let Some(d) = &leg.dialog {
                    ctx.links.dialogs.insert(d.key.clone(), (id, Side::B(idx)));
                }
            }
            if has_tag {
                leg.state = BState::Early;
            }
            let Some(owes) = self.prack_b(ctx, idx, &resp) else {
                // A retransmitted reliable provisional: seen already.
                return;
            };
            if self.acd {
                // An agent's phone ringing: the queued caller keeps its music.
                return;
            }
            let mut a_resp = self.a_response(&resp, code);
            if self.media.is_some() {
                // Anchored: the caller gets the switch's SDP, never the callee's.
                match self.anchor_early(ctx, idx, &resp) {
                    Some(body) => {
                        a_resp.body = body;
                        a_resp.headers.set(HeaderName::ContentType, "application/sdp");
                    }
                    None => {
                        a_resp.body = Bytes::new();
                        a_resp.headers.remove(&HeaderName::ContentType);
                    }
                }
            }
            self.send_provisional_owing(ctx, a_resp, owes);
            return;
        }
        if code.is_success() {
            self.on_b_answer(ctx, idx, resp);
            return;
        }
        if code == StatusCode::SESSION_INTERVAL_TOO_SMALL && self.session_retry_422(ctx, idx, tx, &resp) {
            return;
        }
        // Final failure: a trunk's challenge is answered once.
        if (code == StatusCode::UNAUTHORIZED || code == StatusCode::PROXY_AUTH_REQUIRED) && self.b[idx].auth_tries == 0
        {
            if let Some(retry) = self.auth_retry(ctx, idx, &resp) {
                let dest = self.b[idx].dest;
                if let Some(ntx) = ctx.send_request(TxOwner::Call(id), retry.clone(), dest) {
                    let leg = &mut self.b[idx];
                    leg.tx = ntx;
                    leg.cseq = retry.envelope().map(|e| e.cseq.seq).unwrap_or(leg.cseq);
                    leg.invite = Some(Box::new(retry));
                    leg.auth_tries += 1;
                    ctx.links.txs.remove(&tx);
                    return;
                }
            }
        }
        self.b_leg_failed(ctx, idx, code, Some(resp));
    }

    /// The re-INVITE answering a trunk's 401/407 (RFC 3261 §22.2) for
    /// placed leg `idx`.
    fn auth_retry(&mut self, ctx: &mut CallCtx, idx: usize, resp: &Message) -> Option<Message> {
        let leg = self.b.get(idx)?;
        let trunk = leg.trunk.clone()?;
        let invite = leg.invite.as_deref()?.clone();
        trunk_auth_retry(ctx, &trunk, &invite, leg.dest, resp)
    }

    /// The caller's copy of a placed leg's response: same code, reason and
    /// body, our tag and Contact.
    pub(crate) fn a_response(&self, b_resp: &Message, code: StatusCode) -> Message {
        // The callee's reason phrase goes with its code only (a 503 relayed
        // as 500 is not "500 Service Unavailable").
        let reason = match &b_resp.start {
            crate::sip::msg::StartLine::Response { reason, code: c } if *c == code => {
                Some(String::from_utf8_lossy(reason).into_owned())
            }
            _ => None,
        };
        let tag = String::from_utf8_lossy(&self.a.tag).into_owned();
        let Some(invite) = self.a.invite.as_deref() else {
            return Message::response(code, None);
        };
        let mut resp = Message::response_to(invite, code, reason.as_deref(), Some(&tag));
        if code.as_u16() < 300 {
            resp.headers
                .push(HeaderName::Contact, super::contact_for(&self.callee, self.a.src));
        }
        for h in b_resp.headers.iter() {
            if COPIED.contains(&h.name)
                || h.name == HeaderName::Unsupported
                || h.name == HeaderName::RetryAfter
                || h.name == HeaderName::Warning
            {
                resp.headers.push(h.name.clone(), h.value.clone());
            }
        }
        resp.body = b_resp.body.clone();
        resp
    }

    fn on_b_answer(&mut self, ctx: &mut CallCtx, idx: usize, resp: Message) {
        let id = self.id;
        let leg = &mut self.b[idx];
        if leg.state == BState::Answered {
            // A 2xx retransmission: re-send our ACK if we sent one (§13.2.2.4).
            if let Some(ack) = leg.ack.clone() {
                ctx.txl.send_stateless_bytes(leg.dest, ack);
            }
            return;
        }
        leg.state = BState::Answered;
        leg.answered_ms = Some(ctx.now.unix_ms);
        let Some(invite) = leg.invite.as_deref() else { return };
        match Dialog::uac(invite, &resp, DialogState::Confirmed) {
            Ok(d) => {
                if let Some(old) = leg.dialog.replace(d.clone()) {
                    ctx.links.dialogs.remove(&old.key);
                }
                ctx.links.dialogs.insert(d.key.clone(), (id, Side::B(idx)));
            }
            Err(e) => tracing::warn!(error = %e, "2xx without a usable dialog"),
        }
        let late = self.phase != Phase::Routing
            || self.winner.is_some()
            || self.pending_answer.is_some()
            || self.is_abandoned(idx);
        if late {
            // A second fork answered, or the call ended meanwhile: ACK and BYE it.
            self.refuse_leg(ctx, idx);
            return;
        }
        if self.acd {
            // The ACD connects only the offer it still holds (RONA may
            // have fired, the caller may have gone).
            self.pending_answer = Some(Box::new((idx, resp)));
            ctx.event(id, CallEvent::OfferAnswered { leg: idx });
            return;
        }
        self.connect_leg(ctx, idx, resp);
    }

    /// The ACD connects the answered leg `idx` ([`CallEvent::OfferAnswered`]).
    pub fn connect(&mut self, ctx: &mut CallCtx, idx: usize) {
        match self.pending_answer.take() {
            Some(p) if p.0 == idx && self.callback.is_some() => self.callback_agent_answered(ctx, idx, p.1),
            Some(p) if p.0 == idx => self.connect_leg(ctx, idx, p.1),
            other => self.pending_answer = other,
        }
    }

    /// The ACD refuses the answered leg `idx` (the offer is gone): it is
    /// ACKed and hung up.
    pub fn refuse(&mut self, ctx: &mut CallCtx, idx: usize) {
        match self.pending_answer.take() {
            Some(p) if p.0 == idx => self.refuse_leg(ctx, idx),
            other => self.pending_answer = other,
        }
    }

    fn refuse_leg(&mut self, ctx: &mut CallCtx, idx: usize) {
        self.ack_b(ctx, idx, Bytes::new(), None);
        self.bye_leg(ctx, Side::B(idx));
    }

    /// The caller is answered with placed leg `idx`'s 2xx `resp`.
    fn connect_leg(&mut self, ctx: &mut CallCtx, idx: usize, resp: Message) {
        let id = self.id;
        self.winner = Some(idx);
        self.phase = Phase::Answered;
        self.answered_ms = Some(ctx.now.unix_ms);
        self.pending_ack = Some(Box::new((Side::B(idx), resp.clone())));
        ctx.event(id, CallEvent::Answered);
        ctx.cancel_timer(id, CallTimer::NoAnswer);
        // Cancel the other forks.
        let others: Vec<usize> = (0..self.b.len())
            .filter(|i| *i != idx && self.b[*i].is_callee() && self.b[*i].is_ringing())
            .collect();
        self.cancel_legs(ctx, &others);
        let anchored = match self.anchor_answer(ctx, idx, &resp) {
            Ok(body) => body,
            Err(why) => {
                tracing::info!(call = %id, %why, "callee answer cannot be relayed");
                let Some(mut fail) = self.a_final(StatusCode::NOT_ACCEPTABLE_HERE, None) else {
                    return;
                };
                fail.headers
                    .push(HeaderName::Warning, "305 switchboard \"Incompatible media format\"");
                self.final_to_a(ctx, fail, StatusCode::NOT_ACCEPTABLE_HERE, "incompatible_media");
                return;
            }
        };
        self.media_connected(ctx);
        let mut a_resp = self.a_response(&resp, StatusCode::OK);
        if let Some(body) = anchored {
            a_resp.body = body;
            a_resp.headers.set(HeaderName::ContentType, "application/sdp");
        }
        self.session_answer(ctx, Some((idx, &resp)), &mut a_resp);
        let Some(invite) = self.a.invite.as_deref() else { return };
        match Dialog::uas(invite, self.a.tag.clone(), DialogState::Confirmed) {
            Ok(mut d) => {
                d.local_seq = 0;
                ctx.links.dialogs.insert(d.key.clone(), (id, Side::A));
                self.a.dialog = Some(d);
            }
            Err(e) => tracing::warn!(error = %e, "caller INVITE without a usable dialog"),
        }
        let t1 = ctx.txl.config().t1;
        self.a.pending_2xx = Some(Box::new((a_resp.clone(), t1, ctx.now.mono)));
        self.final_code = Some(200);
        // The call now lives for minutes: drop the INVITEs (their ids and
        // CSeq are kept apart) instead of pinning the received datagrams.
        // Forks still ringing keep theirs: a late 2xx must be ACKed and
        // BYEd through a dialog built from it.
        self.a.invite = None;
        // A trunk leg given up for silence keeps its INVITE: its 2xx may still come.
        let abandoned = self.failover.as_ref().map(|f| f.abandoned.clone()).unwrap_or_default();
        for (_, leg) in self
            .b
            .iter_mut()
            .enumerate()
            .filter(|(i, l)| matches!(l.state, BState::Answered | BState::Failed(_)) && !abandoned.contains(i))
        {
            leg.invite = None;
        }
        ctx.respond(self.a.tx, a_resp);
        ctx.set_timer(id, CallTimer::Retransmit2xx, ctx.now.mono + t1);
        tracing::info!(call = %id, "call answered");
    }

    /// ACKs placed leg `idx`'s 2xx (§13.2.2.4), with `body` (a delayed-offer answer).
    pub(crate) fn ack_b(&mut self, ctx: &mut CallCtx, idx: usize, body: Bytes, content_type: Option<Bytes>) {
        let Some(leg) = self.b.get_mut(idx) else { return };
        let Some(dialog) = leg.dialog.as_mut() else { return };
        let mut ack = dialog.request(Method::ACK, Some(leg.cseq));
        ack.body = body;
        if let Some(ct) = content_type {
            ack.headers.push(HeaderName::ContentType, ct);
        }
        let dest = leg.dest;
        let via = ctx.new_via(dest);
        ack.headers.push_front(HeaderName::Via, via);
        ack.headers.push(HeaderName::MaxForwards, "70");
        let bytes = ack.to_bytes();
        self.b[idx].ack = Some(bytes.clone());
        ctx.txl.send_stateless_bytes(dest, bytes);
    }

    pub(crate) fn b_leg_failed(&mut self, ctx: &mut CallCtx, idx: usize, code: StatusCode, resp: Option<Message>) {
        let abandoned = self.is_abandoned(idx);
        let Some(leg) = self.b.get_mut(idx) else { return };
        // Answered, or given up for silence and already counted (its Timer B).
        if leg.state == BState::Answered || (abandoned && matches!(leg.state, BState::Failed(_))) {
            return;
        }
        leg.state = BState::Failed(code);
        if let Some(d) = leg.dialog.take() {
            ctx.links.dialogs.remove(&d.key);
        }
        if self.acd {
            // A queued caller never fails with an agent's phone: the offer ends.
            ctx.event(self.id, CallEvent::OfferFailed { leg: idx, code });
            return;
        }
        if let Some(r) = resp {
            let better = match &self.best_failure {
                None => true,
                Some(b) => failure_rank(code) < failure_rank(b.status().unwrap_or(StatusCode::SERVER_INTERNAL_ERROR)),
            };
            if better {
                self.best_failure = Some(Box::new(r));
            }
        } else if self.best_failure.is_none() {
            let mut m = Message::response(code, None);
            m.headers = Default::default();
            self.best_failure = Some(Box::new(m));
        }
        if self.try_failover(ctx, idx, code) {
            return;
        }
        if self.phase == Phase::Routing && self.all_b_final() && self.winner.is_none() {
            let (code, resp) = match self.best_failure.clone().map(|b| *b) {
                Some(b) => {
                    let c = b.status().unwrap_or(StatusCode::SERVER_INTERNAL_ERROR);
                    // §16.7 step 6: a 503 from downstream becomes 500 here.
                    let c = if c == StatusCode::SERVICE_UNAVAILABLE {
                        StatusCode::SERVER_INTERNAL_ERROR
                    } else {
                        c
                    };
                    (c, b)
                }
                None => (
                    StatusCode::SERVER_INTERNAL_ERROR,
                    Message::response(StatusCode::SERVER_INTERNAL_ERROR, None),
                ),
            };
            let a_resp = self.a_response(&resp, code);
            self.final_to_a(ctx, a_resp, code, &cause_for(code));
        }
    }

    /// Sends a final non-2xx to the caller and ends the call.
    pub fn final_to_a(&mut self, ctx: &mut CallCtx, resp: Message, code: StatusCode, cause: &str) {
        self.final_code = Some(code.as_u16());
        ctx.respond(self.a.tx, resp);
        self.end(ctx, cause);
    }

    /// Refuses the caller with `code` and `reason` while it still has no
    /// final response (queue overflow with nowhere to go, media failure).
    pub fn fail(&mut self, ctx: &mut CallCtx, code: StatusCode, reason: &str, cause: &str) {
        if let Some(resp) = self.a_final(code, Some(reason)) {
            self.final_to_a(ctx, resp, code, cause);
        }
    }

    /// The caller CANCELled (§9.2): 487 to its INVITE, CANCEL to every
    /// ringing leg.
    pub(crate) fn on_cancel(&mut self, ctx: &mut CallCtx) {
        if self.phase != Phase::Routing {
            return;
        }
        let Some(resp) = self.a_final(StatusCode::REQUEST_TERMINATED, None) else {
            return;
        };
        self.final_to_a(ctx, resp, StatusCode::REQUEST_TERMINATED, "caller_cancel");
    }
}

/// Ranks failures (see [`super::failure_rank`]).
fn failure_rank(code: StatusCode) -> (u8, u8, u16) {
    super::failure_rank(code)
}

/// The CDR end cause for a final failure code.
fn cause_for(code: StatusCode) -> String {
    match code.as_u16() {
        486 | 600 => "busy".into(),
        408 | 480 => "no_answer".into(),
        487 => "cancelled".into(),
        603 => "declined".into(),
        404 | 484 | 604 => "unallocated_number".into(),
        c => format!("failed_{c}"),
    }
}
