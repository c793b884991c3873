//! Initial INVITEs (RFC 3261 §13) through the B2BUA: authenticate (phones)
//! or admit (trunks), route by the dial plan, fork to every registered
//! contact in parallel (first 2xx wins, the rest are CANCELled, §16.7-style
//! best failure otherwise), or go out a trunk answering its digest
//! challenge; relay 1xx/2xx/failures to the caller; CANCEL (§9); the
//! route's no-answer timeout; call-detail records.

use super::registration::Authn;
use super::{Engine, EngineTimer, Now, Output, TxRole};
use crate::call::{failure_rank, ALeg, BLeg, BState, Call, Phase, Side};
use crate::config::{Action, AuthPolicy};
use crate::ids::CallRef;
use crate::sip::auth::AuthKind;
use crate::sip::dialog::{Dialog, DialogState};
use crate::sip::msg::typed::{Transport as ViaTransport, Via};
use crate::sip::msg::{HeaderName, Host, Message, Method, StatusCode, Uri};
use crate::sip::transaction::{Destination, TransportKind, TxEvent, TxId};
use crate::store::CdrRecord;
use bytes::Bytes;
use std::net::SocketAddr;

/// Headers we copy from one leg's message to the other's (everything
/// else stays on its own leg: a B2BUA does not leak topology).
const COPIED: &[HeaderName] = &[
    HeaderName::ContentType,
    HeaderName::ContentDisposition,
    HeaderName::Subject,
];

impl Engine {
    pub(crate) fn on_invite(&mut self, now: Now, tx: TxId, req: Message, src: Destination) {
        let tag = self.ids.tag();
        let reject = |e: &mut Engine, code: StatusCode, reason: &str| {
            let resp = Message::response_to(&req, code, Some(reason), Some(&tag));
            e.respond(now, tx, resp);
        };
        if self.shutting_down {
            return reject(self, StatusCode::SERVICE_UNAVAILABLE, "Shutting Down");
        }
        let Some(profile) = self.cfg.profile_for_local(src.local).cloned() else {
            return reject(self, StatusCode::FORBIDDEN, "No Profile");
        };
        let Ok(env) = req.envelope() else { return };
        if env.max_forwards == Some(0) {
            return reject(self, StatusCode::TOO_MANY_HOPS, "Too Many Hops");
        }
        let (caller, context) = match &profile.auth {
            AuthPolicy::Digest { .. } => match self.authenticate(now, tx, &req, src, &profile.name, AuthKind::Proxy) {
                Authn::User(u) => (u, profile.context.clone()),
                Authn::Answered => return,
            },
            AuthPolicy::TrustedTrunks => match self.cfg.trunk_for_source(src.addr.ip()) {
                Some(t) => {
                    let ctx = t
                        .inbound
                        .as_ref()
                        .map(|i| i.context.clone())
                        .unwrap_or_else(|| profile.context.clone());
                    (format!("trunk:{}", t.name), ctx)
                }
                None => return reject(self, StatusCode::FORBIDDEN, "Source Not Allowed"),
            },
        };
        let dialled = req.uri().and_then(|u| u.user_unescaped()).unwrap_or_default();
        let Some(route) = self.cfg.dialplan().route(&context, &dialled) else {
            return reject(self, StatusCode::NOT_FOUND, "No Route");
        };
        let max_forwards = env.max_forwards.unwrap_or(70).min(70).saturating_sub(1);
        let id = CallRef(self.next_call);
        self.next_call += 1;
        let mut call = Call {
            id,
            a: ALeg {
                invite: Some(Box::new(req.clone())),
                call_id: Bytes::copy_from_slice(&env.call_id),
                tx,
                src,
                tag: Bytes::from(tag.clone()),
                dialog: None,
                pending_2xx: None,
            },
            b: Vec::new(),
            winner: None,
            phase: Phase::Routing,
            caller: caller.clone(),
            callee: dialled.clone(),
            route: String::new(),
            started_ms: now.unix_ms,
            answered_ms: None,
            end_cause: None,
            final_code: None,
            pending_ack: None,
            relays: Vec::new(),
            best_failure: None,
            media: None,
            monitor: None,
        };
        // Targets: (request URI, destination, trunk); none for a queue.
        let queue = match &route.action {
            Action::Queue { name } => Some(name.clone()),
            _ => None,
        };
        let targets = match &queue {
            // The running ACD does not know it (acd.toml changes need a
            // restart; `Engine::reload`).
            Some(name) if self.cfg.acd().queue_by_name(name).is_none() => {
                return reject(self, StatusCode::TEMPORARILY_UNAVAILABLE, "Queue Not Running");
            }
            Some(name) => {
                call.route = format!("queue:{name}");
                Vec::new()
            }
            None => match self.route_targets(now, &route) {
                Ok((label, targets)) => {
                    call.route = label;
                    targets
                }
                Err((code, reason)) => return reject(self, code, &reason),
            },
        };
        // Anchor the media: our answer to the caller is prepared now, the
        // callees get our offer (engine/anchor.rs).
        let b_local = targets
            .first()
            .map(|(_, d, _)| d.local.ip())
            .or_else(|| queue.as_ref().and_then(|_| self.user_profile_local()).map(|a| a.ip()))
            .unwrap_or(src.local.ip());
        let user_denoise = |u: &str| self.cfg.user(u).is_some_and(|u| u.noise_removal);
        let queue_cfg = queue.as_deref().and_then(|q| self.cfg.acd().queue_by_name(q));
        let features = super::anchor::MediaFeatures {
            noise_removal: route.noise_removal
                || user_denoise(&call.caller)
                || route_user(&call.route).is_some_and(user_denoise)
                || queue_cfg.is_some_and(|q| q.noise_removal),
            record: route.record || queue_cfg.is_some_and(|q| q.record),
        };
        let b_offer = match self.anchor_offer(id, &req, src.local.ip(), b_local, features) {
            Ok(Some((media, offer))) => {
                call.media = Some(media);
                Some(offer)
            }
            Ok(None) => None,
            Err(refusal) => {
                let mut resp = Message::response_to(&req, refusal.code, Some(&refusal.reason), Some(&tag));
                if let Some(w) = refusal.warning {
                    resp.headers.push(HeaderName::Warning, w);
                }
                self.respond(now, tx, resp);
                return;
            }
        };
        // 100 Trying at once: routing may take a while (§17.2.1).
        let trying = Message::response_to(&req, StatusCode::TRYING, None, None);
        self.respond(now, tx, trying);
        if let Some(name) = queue {
            let b_body = b_offer.unwrap_or_else(|| req.body.clone());
            tracing::info!(call = %id, caller = %call.caller, callee = %call.callee, route = %call.route, "call routed to a queue");
            self.tx_roles.insert(tx, TxRole::AInvite(id));
            self.calls.insert(id, Box::new(call));
            self.stats.calls_started += 1;
            self.enter_queue(now, id, &name, &context, b_body);
            return;
        }
        let from_user = env
            .from
            .uri
            .user
            .clone()
            .map(|u| String::from_utf8_lossy(&u).into_owned())
            .unwrap_or(caller);
        let display = env.from.display.clone();
        let no_answer = route.no_answer_timeout;
        self.calls.insert(id, Box::new(call));
        let mut legs = 0;
        for (uri, dest, trunk) in targets {
            let from_user = trunk
                .as_ref()
                .and_then(|t| self.cfg.trunk(t))
                .and_then(|t| t.from_user.clone())
                .unwrap_or_else(|| from_user.clone());
            let mut invite = self.build_b_invite(&req, uri, dest, &from_user, display.clone(), max_forwards);
            if let Some(offer) = &b_offer {
                invite.body = offer.clone();
                invite.headers.set(HeaderName::ContentType, "application/sdp");
            }
            legs += usize::from(self.send_b_leg(now, id, invite, dest, trunk).is_some());
        }
        if legs == 0 {
            if let Some(m) = self.calls.remove(&id).and_then(|c| c.media) {
                self.release_media(&m, id);
            }
            return reject(self, StatusCode::SERVER_INTERNAL_ERROR, "No Leg Could Be Created");
        }
        if let Some(call) = self.calls.get_mut(&id) {
            call.b.shrink_to_fit();
            tracing::info!(call = %id, caller = %call.caller, callee = %call.callee, route = %call.route, legs, "call routed");
        }
        self.tx_roles.insert(tx, TxRole::AInvite(id));
        self.timers.set(EngineTimer::NoAnswer(id), now.mono + no_answer);
        self.stats.calls_started += 1;
    }

    /// Sends a B-leg INVITE for call `id` and records the leg; its index.
    pub(crate) fn send_b_leg(
        &mut self,
        now: Now,
        id: CallRef,
        invite: Message,
        dest: Destination,
        trunk: Option<String>,
    ) -> Option<usize> {
        let btx = match self.txl.send_request(now.mono, invite.clone(), dest) {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!(error = %e, "could not send B-leg INVITE");
                return None;
            }
        };
        let call = self.calls.get_mut(&id)?;
        let idx = call.b.len();
        self.tx_roles.insert(btx, TxRole::BInvite(id, idx));
        let (call_id, cseq) = invite
            .envelope()
            .map(|e| (Bytes::copy_from_slice(&e.call_id), e.cseq.seq))
            .unwrap_or_default();
        call.b.push(BLeg {
            invite: Some(Box::new(invite)),
            call_id,
            cseq,
            tx: btx,
            dest,
            state: BState::Calling,
            dialog: None,
            auth_tries: 0,
            ack: None,
            trunk,
        });
        Some(idx)
    }

    /// Where a user or trunk route rings: its label (`user:1001`,
    /// `trunk:carrier`) and targets (request URI, destination, trunk), or
    /// the failure to answer.
    #[allow(clippy::type_complexity)]
    pub(crate) fn route_targets(
        &self,
        now: Now,
        route: &crate::config::Route,
    ) -> Result<(String, Vec<(Uri, Destination, Option<String>)>), (StatusCode, String)> {
        let mut targets = Vec::new();
        match &route.action {
            Action::User { user } => {
                let ext = user.clone().unwrap_or_else(|| route.target.clone());
                if self.cfg.user(&ext).is_none() {
                    return Err((StatusCode::NOT_FOUND, "No Such User".into()));
                }
                let Some(local) = self.user_profile_local() else {
                    return Err((StatusCode::SERVICE_UNAVAILABLE, "No User Profile".into()));
                };
                for b in self.registrar.lookup(now.unix_s(), &ext) {
                    targets.push((b.uri.clone(), b.destination(local), None));
                }
                if targets.is_empty() {
                    return Err((StatusCode::TEMPORARILY_UNAVAILABLE, "User Not Registered".into()));
                }
                Ok((format!("user:{ext}"), targets))
            }
            Action::Trunk { name } => {
                let Some(trunk) = self.cfg.trunk(name) else {
                    return Err((StatusCode::SERVICE_UNAVAILABLE, "Trunk Not Configured".into()));
                };
                let Some(local) = self.cfg.profile(&trunk.profile).and_then(|p| p.listen.first().copied()) else {
                    return Err((StatusCode::SERVICE_UNAVAILABLE, "Trunk Profile Has No Socket".into()));
                };
                let transport = match trunk.transport {
                    crate::config::Transport::Udp => TransportKind::Udp,
                    crate::config::Transport::Tcp => TransportKind::Tcp,
                };
                let uri = Uri::sip(
                    Some(&route.target),
                    Host::from_ip(trunk.address.ip()),
                    Some(trunk.address.port()),
                );
                targets.push((
                    uri,
                    Destination {
                        addr: trunk.address,
                        transport,
                        local,
                    },
                    Some(trunk.name.clone()),
                ));
                Ok((format!("trunk:{name}"), targets))
            }
            Action::Reject { code, reason } => Err((*code, reason.clone())),
            Action::Queue { .. } => Err((StatusCode::NOT_IMPLEMENTED, "Queue Not Reachable From Here".into())),
            Action::Conference { .. } => Err((StatusCode::NOT_IMPLEMENTED, "Conferences Not Yet Available".into())),
        }
    }

    /// Rings `number`, routed by `context`'s dial plan (a user or a trunk),
    /// from call `id` still waiting for an answer (queue overflow); false
    /// when nothing could be rung.
    pub(crate) fn route_existing_call(
        &mut self,
        now: Now,
        id: CallRef,
        context: &str,
        number: &str,
        body: Bytes,
    ) -> bool {
        let Some(route) = self.cfg.dialplan().route(context, number) else {
            return false;
        };
        let Ok((label, targets)) = self.route_targets(now, &route) else {
            return false;
        };
        let Some(call) = self.calls.get_mut(&id) else {
            return false;
        };
        call.route = label;
        let Some(a) = call.a.invite.clone() else { return false };
        let from_user = self.calls.get(&id).map(|c| c.caller.clone()).unwrap_or_default();
        let mut rung = false;
        for (uri, dest, trunk) in targets {
            let from_user = trunk
                .as_ref()
                .and_then(|t| self.cfg.trunk(t))
                .and_then(|t| t.from_user.clone())
                .unwrap_or_else(|| from_user.clone());
            let mut invite = self.build_b_invite(&a, uri, dest, &from_user, None, 69);
            invite.body = body.clone();
            if !body.is_empty() {
                invite.headers.set(HeaderName::ContentType, "application/sdp");
            }
            rung |= self.send_b_leg(now, id, invite, dest, trunk).is_some();
        }
        self.timers
            .set(EngineTimer::NoAnswer(id), now.mono + route.no_answer_timeout);
        rung
    }

    /// The local socket of the first digest (phones) profile.
    pub(crate) fn user_profile_local(&self) -> Option<SocketAddr> {
        self.cfg
            .profiles()
            .iter()
            .find(|p| matches!(p.auth, AuthPolicy::Digest { .. }))
            .and_then(|p| p.listen.first().copied())
    }

    /// A new top Via for a request we send from `dest.local`.
    pub(crate) fn new_via(&mut self, dest: Destination) -> Bytes {
        let t = if dest.transport.is_reliable() {
            ViaTransport::Tcp
        } else {
            ViaTransport::Udp
        };
        let branch = self.ids.branch();
        Via::new(t, Host::from_ip(dest.local.ip()), Some(dest.local.port()), &branch).to_bytes()
    }

    /// `<sip:user@local:port>` (with `;transport=tcp` over TCP).
    pub(crate) fn contact_for(&self, user: &str, dest: Destination) -> Bytes {
        let mut uri = Uri::sip(Some(user), Host::from_ip(dest.local.ip()), Some(dest.local.port()));
        if dest.transport.is_reliable() {
            uri.params.set("transport", Some(Bytes::from_static(b"tcp")));
        }
        Bytes::from(format!("<{uri}>"))
    }

    pub(crate) fn build_b_invite(
        &mut self,
        a: &Message,
        uri: Uri,
        dest: Destination,
        from_user: &str,
        display: Option<Bytes>,
        max_forwards: u32,
    ) -> Message {
        let mut m = Message::request(Method::INVITE, uri.clone());
        m.headers.push(HeaderName::Via, self.new_via(dest));
        m.headers
            .push(HeaderName::MaxForwards, Bytes::from(max_forwards.to_string()));
        let from_uri = Uri::sip(Some(from_user), Host::from_ip(dest.local.ip()), Some(dest.local.port()));
        let from = match display {
            Some(d) => format!("{} <{from_uri}>;tag={}", String::from_utf8_lossy(&d), self.ids.tag()),
            None => format!("<{from_uri}>;tag={}", self.ids.tag()),
        };
        m.headers.push(HeaderName::From, from);
        let mut to_uri = uri;
        to_uri.params = Default::default();
        m.headers.push(HeaderName::To, format!("<{to_uri}>"));
        let host = dest.local.ip().to_string();
        m.headers.push(HeaderName::CallId, self.ids.call_id(&host));
        m.headers.push(HeaderName::CSeq, "1 INVITE");
        m.headers.push(HeaderName::Contact, self.contact_for(from_user, dest));
        m.headers.push(HeaderName::Allow, super::screen::ALLOW);
        m.headers.push(HeaderName::UserAgent, self.cfg.sip().user_agent.clone());
        for h in a.headers.iter() {
            if COPIED.contains(&h.name) {
                m.headers.push(h.name.clone(), h.value.clone());
            }
        }
        m.body = a.body.clone();
        m
    }

    /// A response for one of our client transactions.
    pub(crate) fn on_response(&mut self, now: Now, tx: TxId, resp: Message) {
        match self.tx_roles.get(&tx).copied() {
            Some(TxRole::BInvite(call, idx)) => self.on_b_invite_response(now, call, idx, tx, resp),
            Some(TxRole::Relay { call, server }) => self.on_relay_response(now, call, tx, server, resp),
            Some(TxRole::TrunkRegister(i)) => self.on_trunk_register_response(now, i, &resp),
            Some(TxRole::MonitorInvite(call)) => self.on_monitor_response(now, call, tx, resp),
            Some(TxRole::Own) | Some(TxRole::AInvite(_)) | None => {}
        }
    }

    fn on_b_invite_response(&mut self, now: Now, id: CallRef, idx: usize, tx: TxId, resp: Message) {
        let Some(code) = resp.status() else { return };
        let Some(call) = self.calls.get_mut(&id) else { return };
        let Some(leg) = call.b.get_mut(idx) else { return };
        if leg.tx != tx {
            return; // an old INVITE of this leg (before an auth retry)
        }
        if code.is_provisional() {
            if code == StatusCode::TRYING || call.phase != Phase::Routing {
                return;
            }
            let has_tag = resp.envelope().ok().and_then(|e| e.to.tag()).is_some();
            if has_tag && leg.dialog.is_none() {
                leg.dialog = leg
                    .invite
                    .as_deref()
                    .and_then(|inv| Dialog::uac(inv, &resp, DialogState::Early).ok());
                if let Some(d) = &leg.dialog {
                    self.dialogs.insert(d.key.clone(), (id, Side::B(idx)));
                }
            }
            if has_tag {
                leg.state = BState::Early;
            }
            if self.queues.calls.contains_key(&super::queue::interaction_of(id)) {
                // An agent's phone ringing: the queued caller keeps its music.
                return;
            }
            let mut a_resp = self.a_response(id, &resp, code);
            if self.calls.get(&id).is_some_and(|c| c.media.is_some()) {
                // Anchored: the caller gets the switch's SDP, never the callee's.
                match self.anchor_early(id, idx, &resp) {
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
            if let Some(call) = self.calls.get(&id) {
                let atx = call.a.tx;
                self.respond(now, atx, a_resp);
            }
            return;
        }
        if code.is_success() {
            self.on_b_answer(now, id, idx, resp);
            return;
        }
        // Final failure: a trunk's challenge is answered once.
        if (code == StatusCode::UNAUTHORIZED || code == StatusCode::PROXY_AUTH_REQUIRED) && leg.auth_tries == 0 {
            if let Some(retry) = self.auth_retry(id, idx, &resp) {
                let Some(call) = self.calls.get_mut(&id) else { return };
                let leg = &mut call.b[idx];
                let dest = leg.dest;
                match self.txl.send_request(now.mono, retry.clone(), dest) {
                    Ok(ntx) => {
                        let Some(call) = self.calls.get_mut(&id) else { return };
                        let leg = &mut call.b[idx];
                        leg.tx = ntx;
                        leg.cseq = retry.envelope().map(|e| e.cseq.seq).unwrap_or(leg.cseq);
                        leg.invite = Some(Box::new(retry));
                        leg.auth_tries += 1;
                        self.tx_roles.remove(&tx);
                        self.tx_roles.insert(ntx, TxRole::BInvite(id, idx));
                        return;
                    }
                    Err(e) => tracing::warn!(error = %e, "digest retry not sent"),
                }
            }
        }
        self.b_leg_failed(now, id, idx, code, Some(resp));
    }

    /// The re-INVITE answering a trunk's 401/407 (RFC 3261 §22.2): same
    /// Call-ID and tags, CSeq + 1, a new branch, credentials added.
    fn auth_retry(&mut self, id: CallRef, idx: usize, resp: &Message) -> Option<Message> {
        let call = self.calls.get(&id)?;
        let leg = call.b.get(idx)?;
        let trunk = leg.trunk.clone()?;
        let uri = leg.invite.as_deref()?.uri()?.to_string();
        let (cr_name, value) = self.trunk_authorization(&trunk, resp, &Method::INVITE, &uri)?;
        let call = self.calls.get(&id)?;
        let leg = call.b.get(idx)?;
        let mut m = (**leg.invite.as_ref()?).clone();
        let dest = leg.dest;
        let seq = m.envelope().ok()?.cseq.seq + 1;
        m.headers.set(HeaderName::CSeq, format!("{seq} INVITE"));
        let via = self.new_via(dest);
        m.headers.set(HeaderName::Via, via);
        m.headers.push(cr_name, value);
        Some(m)
    }

    /// The caller's copy of a B-leg response: same code, reason and body,
    /// our tag and Contact.
    fn a_response(&mut self, id: CallRef, b_resp: &Message, code: StatusCode) -> Message {
        let Some(call) = self.calls.get(&id) else {
            return Message::response(code, None);
        };
        let reason = match &b_resp.start {
            crate::sip::msg::StartLine::Response { reason, .. } => String::from_utf8_lossy(reason).into_owned(),
            _ => String::new(),
        };
        let tag = String::from_utf8_lossy(&call.a.tag).into_owned();
        let Some(invite) = call.a.invite.as_deref() else {
            return Message::response(code, None);
        };
        let mut resp = Message::response_to(invite, code, Some(&reason), Some(&tag));
        if code.as_u16() < 300 {
            let user = call.callee.clone();
            resp.headers
                .push(HeaderName::Contact, self.contact_for(&user, call.a.src));
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
        resp.headers.push(HeaderName::Server, self.cfg.sip().user_agent.clone());
        resp.body = b_resp.body.clone();
        resp
    }

    fn on_b_answer(&mut self, now: Now, id: CallRef, idx: usize, resp: Message) {
        let Some(call) = self.calls.get_mut(&id) else { return };
        let leg = &mut call.b[idx];
        if leg.state == BState::Answered {
            // A 2xx retransmission: re-send our ACK if we sent one (§13.2.2.4).
            if let Some(ack) = leg.ack.clone() {
                let dest = leg.dest;
                self.txl.send_stateless_bytes(dest, ack);
            }
            return;
        }
        leg.state = BState::Answered;
        let Some(invite) = leg.invite.as_deref() else { return };
        match Dialog::uac(invite, &resp, DialogState::Confirmed) {
            Ok(d) => {
                if let Some(old) = leg.dialog.replace(d.clone()) {
                    self.dialogs.remove(&old.key);
                }
                self.dialogs.insert(d.key.clone(), (id, Side::B(idx)));
            }
            Err(e) => tracing::warn!(error = %e, "2xx without a usable dialog"),
        }
        let queued = self.queues.calls.contains_key(&super::queue::interaction_of(id));
        let late = call.phase != Phase::Routing || call.winner.is_some();
        // A queued call connects only the offer the ACD still holds (RONA
        // may have fired, the caller may have gone).
        if late || (queued && !self.queue_leg_answered(now, id, idx)) {
            // A second fork answered, or the call ended meanwhile: ACK and BYE it.
            self.ack_b(now, id, idx, Bytes::new(), None);
            self.bye_leg(now, id, Side::B(idx));
            self.maybe_reap(now, id);
            self.pump_acd(now);
            return;
        }
        let Some(call) = self.calls.get_mut(&id) else { return };
        call.winner = Some(idx);
        call.phase = Phase::Answered;
        call.answered_ms = Some(now.unix_ms);
        call.pending_ack = Some(Box::new((Side::B(idx), resp.clone())));
        self.stats.calls_answered += 1;
        self.timers.cancel(EngineTimer::NoAnswer(id));
        // Cancel the other forks.
        let others: Vec<TxId> = call
            .b
            .iter()
            .enumerate()
            .filter(|(i, l)| *i != idx && matches!(l.state, BState::Calling | BState::Early))
            .map(|(_, l)| l.tx)
            .collect();
        for t in others {
            let _ = self.txl.client_cancel(now.mono, t);
        }
        let anchored = match self.anchor_answer(now, id, idx, &resp) {
            Ok(body) => body,
            Err(why) => {
                tracing::info!(call = %id, %why, "callee answer cannot be relayed");
                let Some(call) = self.calls.get(&id) else { return };
                let Some(mut fail) = call.a_final(StatusCode::NOT_ACCEPTABLE_HERE, None) else {
                    return;
                };
                fail.headers
                    .push(HeaderName::Warning, "305 switchboard \"Incompatible media format\"");
                self.final_to_a(now, id, fail, StatusCode::NOT_ACCEPTABLE_HERE, "incompatible_media");
                return;
            }
        };
        if queued {
            self.queue_media_connected(id);
            self.pump_acd(now);
        }
        let mut a_resp = self.a_response(id, &resp, StatusCode::OK);
        if let Some(body) = anchored {
            a_resp.body = body;
            a_resp.headers.set(HeaderName::ContentType, "application/sdp");
        }
        let Some(call) = self.calls.get_mut(&id) else { return };
        let Some(invite) = call.a.invite.as_deref() else { return };
        match Dialog::uas(invite, call.a.tag.clone(), DialogState::Confirmed) {
            Ok(mut d) => {
                d.local_seq = 0;
                self.dialogs.insert(d.key.clone(), (id, Side::A));
                call.a.dialog = Some(d);
            }
            Err(e) => tracing::warn!(error = %e, "caller INVITE without a usable dialog"),
        }
        let t1 = self.txl.config().t1;
        call.a.pending_2xx = Some(Box::new((a_resp.clone(), t1, now.mono)));
        call.final_code = Some(200);
        let atx = call.a.tx;
        // The call now lives for minutes: drop the INVITEs (their ids and
        // CSeq are kept apart) instead of pinning the received datagrams.
        // Forks still ringing keep theirs: a late 2xx must be ACKed and
        // BYEd through a dialog built from it.
        call.a.invite = None;
        for leg in call
            .b
            .iter_mut()
            .filter(|l| matches!(l.state, BState::Answered | BState::Failed(_)))
        {
            leg.invite = None;
        }
        self.respond(now, atx, a_resp);
        self.timers.set(EngineTimer::Retransmit2xx(id), now.mono + t1);
        tracing::info!(call = %id, "call answered");
    }

    /// ACKs a B leg's 2xx (§13.2.2.4), with `body` (a delayed-offer answer).
    pub(crate) fn ack_b(&mut self, _now: Now, id: CallRef, idx: usize, body: Bytes, content_type: Option<Bytes>) {
        let Some(call) = self.calls.get_mut(&id) else { return };
        let Some(leg) = call.b.get_mut(idx) else { return };
        let Some(dialog) = leg.dialog.as_mut() else { return };
        let seq = leg.cseq;
        let mut ack = dialog.request(Method::ACK, Some(seq));
        let dest = leg.dest;
        ack.body = body;
        if let Some(ct) = content_type {
            ack.headers.push(HeaderName::ContentType, ct);
        }
        let via = self.new_via(dest);
        ack.headers.push_front(HeaderName::Via, via);
        ack.headers.push(HeaderName::MaxForwards, "70");
        let bytes = ack.to_bytes();
        if let Some(call) = self.calls.get_mut(&id) {
            call.b[idx].ack = Some(bytes.clone());
        }
        self.txl.send_stateless_bytes(dest, bytes);
    }

    pub(crate) fn b_leg_failed(&mut self, now: Now, id: CallRef, idx: usize, code: StatusCode, resp: Option<Message>) {
        let Some(call) = self.calls.get_mut(&id) else { return };
        if let Some(leg) = call.b.get_mut(idx) {
            if leg.state == BState::Answered {
                return;
            }
            leg.state = BState::Failed(code);
            if let Some(d) = leg.dialog.take() {
                self.dialogs.remove(&d.key);
            }
        }
        if self.queues.calls.contains_key(&super::queue::interaction_of(id)) {
            // A queued caller never fails with an agent's phone: the offer ends.
            self.queue_leg_failed(now, id, idx, code);
            self.maybe_reap(now, id);
            return;
        }
        let Some(call) = self.calls.get_mut(&id) else { return };
        if let Some(r) = resp {
            let better = match &call.best_failure {
                None => true,
                Some(b) => failure_rank(code) < failure_rank(b.status().unwrap_or(StatusCode::SERVER_INTERNAL_ERROR)),
            };
            if better {
                call.best_failure = Some(Box::new(r));
            }
        } else if call.best_failure.is_none() {
            let mut m = Message::response(code, None);
            m.headers = Default::default();
            call.best_failure = Some(Box::new(m));
        }
        if call.phase == Phase::Routing && call.all_b_final() && call.winner.is_none() {
            let best = call.best_failure.clone().map(|b| *b);
            let (code, resp) = match best {
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
            let a_resp = self.a_response(id, &resp, code);
            let cause = cause_for(code);
            self.final_to_a(now, id, a_resp, code, &cause);
        } else {
            self.maybe_reap(now, id);
        }
    }

    /// Sends a final non-2xx to the caller and ends the call.
    pub(crate) fn final_to_a(&mut self, now: Now, id: CallRef, resp: Message, code: StatusCode, cause: &str) {
        let Some(call) = self.calls.get_mut(&id) else { return };
        call.final_code = Some(code.as_u16());
        let atx = call.a.tx;
        self.respond(now, atx, resp);
        self.end_call(now, id, cause);
    }

    /// CANCEL from the caller (§9.2): 200 to the CANCEL, 487 to the
    /// INVITE, CANCEL to every ringing B leg.
    pub(crate) fn on_cancel(&mut self, now: Now, tx: TxId, req: Message, invite: Option<TxId>) {
        let code = if invite.is_some() {
            StatusCode::OK
        } else {
            StatusCode::CALL_DOES_NOT_EXIST
        };
        let resp = Message::response_to(&req, code, None, None);
        self.respond(now, tx, resp);
        let Some(itx) = invite else { return };
        let Some(TxRole::AInvite(id)) = self.tx_roles.get(&itx).copied() else {
            // An INVITE still being authenticated or routed: nothing to cancel.
            return;
        };
        let Some(call) = self.calls.get(&id) else { return };
        if call.phase != Phase::Routing {
            return;
        }
        let Some(resp) = call.a_final(StatusCode::REQUEST_TERMINATED, None) else {
            return;
        };
        self.final_to_a(now, id, resp, StatusCode::REQUEST_TERMINATED, "caller_cancel");
    }

    pub(crate) fn on_engine_timer(&mut self, now: Now, t: EngineTimer) {
        match t {
            EngineTimer::NoAnswer(id) => {
                let Some(call) = self.calls.get(&id) else { return };
                if call.phase != Phase::Routing {
                    return;
                }
                let Some(resp) = call.a_final(StatusCode::TEMPORARILY_UNAVAILABLE, Some("No Answer")) else {
                    return;
                };
                self.final_to_a(now, id, resp, StatusCode::TEMPORARILY_UNAVAILABLE, "no_answer");
            }
            EngineTimer::Retransmit2xx(id) => self.retransmit_2xx(now, id),
            EngineTimer::Reap(id) => self.reap(now, id),
            EngineTimer::TrunkRegister(i) => self.send_trunk_register(now, i, None),
            EngineTimer::PauseEnd(id) => self.on_pause_end(now, id),
            EngineTimer::Progress(id) => self.on_progress(now, id),
            EngineTimer::Announce(id) => self.on_announce(now, id),
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
                match self.tx_roles.get(&tx).copied() {
                    Some(TxRole::BInvite(id, idx)) => {
                        let is_current = self
                            .calls
                            .get(&id)
                            .and_then(|c| c.b.get(idx))
                            .map(|l| l.tx == tx)
                            .unwrap_or(false);
                        if is_current {
                            self.b_leg_failed(now, id, idx, code, None);
                        }
                    }
                    Some(TxRole::Relay { call, server }) => {
                        let resp = Message::response(code, None);
                        self.on_relay_response(now, call, tx, server, resp);
                    }
                    Some(TxRole::TrunkRegister(i)) => self.on_trunk_register_timeout(now, i),
                    Some(TxRole::MonitorInvite(call)) => {
                        self.on_monitor_response(now, call, tx, Message::response(code, None));
                    }
                    _ => {}
                }
            }
            TxEvent::Terminated { tx } => {
                // A B leg's INVITE transaction is gone (Timer M): no more 2xx
                // retransmissions can reach us, so its stored ACK can go.
                match self.tx_roles.remove(&tx) {
                    Some(TxRole::BInvite(id, idx)) => {
                        if let Some(leg) = self.calls.get_mut(&id).and_then(|c| c.b.get_mut(idx)) {
                            if leg.tx == tx {
                                leg.ack = None;
                            }
                        }
                    }
                    Some(TxRole::MonitorInvite(id)) => self.monitor_invite_gone(id, tx),
                    _ => {}
                }
            }
        }
    }

    /// Ends a call: CANCEL ringing legs, BYE answered ones (both sides),
    /// write the CDR, and schedule the call's removal.
    pub(crate) fn end_call(&mut self, now: Now, id: CallRef, cause: &str) {
        let Some(call) = self.calls.get_mut(&id) else { return };
        if call.phase == Phase::Ended {
            return;
        }
        let was_answered = call.phase == Phase::Answered;
        call.phase = Phase::Ended;
        call.end_cause = Some(cause.to_string());
        self.timers.cancel(EngineTimer::NoAnswer(id));
        self.timers.cancel(EngineTimer::Retransmit2xx(id));
        let ringing: Vec<TxId> = call
            .b
            .iter()
            .filter(|l| matches!(l.state, BState::Calling | BState::Early))
            .map(|l| l.tx)
            .collect();
        for t in ringing {
            let _ = self.txl.client_cancel(now.mono, t);
        }
        if was_answered {
            // BYE every dialog still up (a BYE or the lost-ACK path has
            // already sent its BYEs and forgotten those dialogs).
            if let Some(w) = self.calls.get(&id).and_then(|c| c.winner) {
                self.bye_leg(now, id, Side::B(w));
            }
            self.bye_leg(now, id, Side::A);
        }
        if !was_answered && cause == "shutdown" {
            if let Some(call) = self.calls.get(&id) {
                let atx = call.a.tx;
                if let Some(resp) = call.a_final(StatusCode::SERVICE_UNAVAILABLE, Some("Shutting Down")) {
                    self.respond(now, atx, resp);
                }
            }
        }
        self.finish_recording(now, id);
        self.monitor_call_ended(now, id);
        self.queue_call_ended(now, id, cause);
        self.write_cdr(now, id);
        let t1 = self.txl.config().t1;
        self.timers.set(EngineTimer::Reap(id), now.mono + t1 * 64);
        self.maybe_reap(now, id);
    }

    /// Removes an ended call at once when nothing is pending on it.
    pub(crate) fn maybe_reap(&mut self, now: Now, id: CallRef) {
        let Some(call) = self.calls.get(&id) else { return };
        if call.phase == Phase::Ended
            && call.relays.is_empty()
            && call.monitor.is_none()
            && call
                .b
                .iter()
                .all(|l| matches!(l.state, BState::Failed(_)) || l.dialog.is_none())
        {
            self.reap(now, id);
        }
    }

    fn reap(&mut self, _now: Now, id: CallRef) {
        if let Some(call) = self.calls.remove(&id) {
            if let Some(m) = &call.media {
                self.release_media(m, id);
            }
            if let Some(m) = &call.monitor {
                self.forget_monitor(m);
            }
            self.timers.cancel(EngineTimer::Reap(id));
            self.timers.cancel(EngineTimer::NoAnswer(id));
            self.timers.cancel(EngineTimer::Retransmit2xx(id));
            self.timers.cancel(EngineTimer::PauseEnd(id));
            if let Some(d) = &call.a.dialog {
                self.dialogs.remove(&d.key);
            }
            for l in &call.b {
                if let Some(d) = &l.dialog {
                    self.dialogs.remove(&d.key);
                }
                self.tx_roles.remove(&l.tx);
            }
            self.tx_roles.remove(&call.a.tx);
        }
    }

    fn write_cdr(&mut self, now: Now, id: CallRef) {
        let Some(call) = self.calls.get(&id) else { return };
        let b_call_id = call
            .winner
            .and_then(|w| call.b.get(w))
            .or_else(|| call.b.first())
            .map(|l| String::from_utf8_lossy(&l.call_id).into_owned());
        let a_call_id = String::from_utf8_lossy(&call.a.call_id).into_owned();
        let rec = CdrRecord {
            call_id: a_call_id,
            a_leg: id.to_string(),
            b_leg: b_call_id,
            caller: call.caller.clone(),
            callee: call.callee.clone(),
            route: call.route.clone(),
            start_ms: call.started_ms,
            answer_ms: call.answered_ms,
            end_ms: now.unix_ms,
            end_cause: call.end_cause.clone().unwrap_or_default(),
            sip_code: call.final_code,
            recordings: call.media.as_ref().map(|m| m.recordings.clone()).unwrap_or_default(),
        };
        self.out.push_back(Output::Cdr(rec));
    }
}

/// The user a `user:<ext>` route rings.
fn route_user(route: &str) -> Option<&str> {
    route.strip_prefix("user:")
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
