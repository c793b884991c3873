//! Initial INVITEs (RFC 3261 §13) through the B2BUA, the engine's part:
//! authenticate (phones) or admit (trunks), route by the dial plan, make
//! the [`Call`] and tell it where to ring (every registered contact of a
//! user in parallel, a trunk) or hand it to a queue (engine/queue.rs).
//! What happens to the legs then is the call core's (`src/call/`).

use super::registration::Authn;
use super::{Engine, Now};
use crate::call::{Call, CallTimer, MediaFeatures, RingOptions, RingTarget, TxOwner};
use crate::config::{Action, AuthPolicy};
use crate::ids::CallRef;
use crate::sip::auth::AuthKind;
use crate::sip::msg::{HeaderName, Message, StatusCode};
use crate::sip::transaction::{Destination, TxId};
use bytes::Bytes;

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
        // RFC 3261 §26.2.2, RFC 5630 §3.1: a sips: Request-URI asks for TLS
        // on every hop, this one and the next.
        let sips = req.uri().is_some_and(|u| u.scheme == crate::sip::msg::Scheme::Sips);
        if sips && !src.transport.is_secure() {
            return reject(self, StatusCode::UNSUPPORTED_URI_SCHEME, "SIPS Needs TLS");
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
        // RFC 4028 §8.1: a Session-Expires below our Min-SE gets 422.
        if let Err(e) = crate::call::session_timer::screen_invite(&req, self.cfg.sip().session_timers.as_ref()) {
            tracing::info!(%caller, error = %e, "INVITE refused by the session-timer rules");
            let resp = e.response(&req, Some(&tag));
            return self.respond(now, tx, resp);
        }
        if let Some(replaces) = req.headers.get(&HeaderName::Replaces).cloned() {
            return self.invite_replaces(now, tx, &req, src, &tag, &caller, &replaces);
        }
        let dialled = req.uri().and_then(|u| u.user_unescaped()).unwrap_or_default();
        let Some(route) = self.cfg.dialplan().route(&context, &dialled) else {
            return reject(self, StatusCode::NOT_FOUND, "No Route");
        };
        let max_forwards = env.max_forwards.unwrap_or(70).min(70).saturating_sub(1);
        if let Action::Conference { room, pin, max_parties } = &route.action {
            let room = room.clone().unwrap_or_else(|| route.target.clone());
            let denoise = route.noise_removal || self.cfg.user(&caller).is_some_and(|u| u.noise_removal);
            let mut call = self.new_call(now, tx, &req, src, &tag, caller, dialled);
            call.route = format!("conference:{room}");
            let route = super::rooms::RoomRoute {
                room,
                pin: pin.clone(),
                max_parties: *max_parties,
                denoise,
            };
            return self.enter_room(now, tx, &req, src, call, route);
        }
        // Targets; none for a queue or an entry point.
        let queue = match &route.action {
            Action::Queue { name } => Some(name.clone()),
            _ => None,
        };
        let entry = match &route.action {
            Action::EntryPoint { name } => Some(name.clone()),
            _ => None,
        };
        let entry_flow = entry.as_deref().and_then(|n| self.cfg.entry_points().by_name(n));
        let (label, targets) = match (&queue, &entry) {
            // The running ACD does not know it (acd.toml changes need a
            // restart; `Engine::reload`).
            (Some(name), _) if self.cfg.acd().queue_by_name(name).is_none() => {
                return reject(self, StatusCode::TEMPORARILY_UNAVAILABLE, "Queue Not Running");
            }
            (Some(name), _) => (format!("queue:{name}"), Vec::new()),
            (None, Some(_)) if entry_flow.is_none() => {
                return reject(self, StatusCode::TEMPORARILY_UNAVAILABLE, "Entry Point Not Running");
            }
            (None, Some(name)) => (format!("entry:{name}"), Vec::new()),
            (None, None) => match self
                .trunk_list_targets(&route)
                .unwrap_or_else(|| self.route_targets(now, &route))
            {
                Ok(t) => t,
                Err((code, reason)) => return reject(self, code, &reason),
            },
        };
        // A sips: call never leaves over a plain transport (RFC 5630 §3.1.3).
        let targets = if sips {
            let tls: Vec<_> = targets.into_iter().filter(|t| t.dest.transport.is_secure()).collect();
            if tls.is_empty() && !label.starts_with("queue:") && !label.starts_with("entry:") {
                tracing::info!(%caller, route = %label, "sips: call with no TLS target: refused");
                return reject(self, StatusCode::TEMPORARILY_UNAVAILABLE, "No TLS Route For SIPS");
            }
            tls
        } else {
            targets
        };
        let failover = matches!(route.action, Action::Trunks { .. });
        let from_user = env
            .from
            .uri
            .user
            .clone()
            .map(|u| String::from_utf8_lossy(&u).into_owned())
            .unwrap_or_else(|| caller.clone());
        let display = env.from.display.clone();
        let mut call = self.new_call(now, tx, &req, src, &tag, caller, dialled);
        let id = call.id;
        call.route = label;
        // Anchor the media: our answer to the caller is prepared now, the
        // callees get our offer (src/call/anchor.rs).
        let b_signalling = targets
            .first()
            .map(|t| t.dest.local)
            .or_else(|| {
                (queue.is_some() || entry.is_some())
                    .then(|| self.user_profile_local())
                    .flatten()
                    .map(|a| a.plain)
            })
            .unwrap_or(src.local);
        let b_local = b_signalling.ip();
        let srtp_of = |local| self.cfg.profile_for_local(local).map(|p| p.srtp).unwrap_or_default();
        let user_denoise = |u: &str| self.cfg.user(u).is_some_and(|u| u.noise_removal);
        let queue_cfg = queue.as_deref().and_then(|q| self.cfg.acd().queue_by_name(q));
        let features = MediaFeatures {
            noise_removal: route.noise_removal
                || user_denoise(&call.caller)
                || call.route.strip_prefix("user:").is_some_and(user_denoise)
                || queue_cfg.is_some_and(|q| q.noise_removal),
            record: route.record || queue_cfg.is_some_and(|q| q.record),
            srtp_a: srtp_of(src.local),
            srtp_b: srtp_of(b_signalling),
        };
        self.calls.insert(id, Box::new(call));
        self.links.txs.insert(tx, TxOwner::Call(id));
        let anchored = self.with_call(now, id, |c, ctx| c.anchor_offer(ctx, src.local.ip(), b_local, features));
        let b_offer = match anchored {
            Some(Ok(offer)) => offer,
            Some(Err(refusal)) => {
                self.calls.remove(&id);
                self.links.txs.remove(&tx);
                let mut resp = Message::response_to(&req, refusal.code, Some(&refusal.reason), Some(&tag));
                if let Some(w) = refusal.warning {
                    resp.headers.push(HeaderName::Warning, w);
                }
                self.respond(now, tx, resp);
                return;
            }
            None => return,
        };
        // 100 Trying at once: routing may take a while (§17.2.1).
        let trying = Message::response_to(&req, StatusCode::TRYING, None, None);
        self.respond(now, tx, trying);
        if let Some(flow) = entry_flow {
            self.stats.calls_started += 1;
            let b_body = b_offer.unwrap_or_else(|| req.body.clone());
            let vars = self
                .caller_id(id)
                .map(|(invite, number, name)| self.initial_variables(&invite, None, &number, &name))
                .unwrap_or_default();
            self.enter_entry_point(now, id, flow, &context, b_body, vars);
            return;
        }
        if let Some(name) = queue {
            self.stats.calls_started += 1;
            let b_body = b_offer.unwrap_or_else(|| req.body.clone());
            if let Some(c) = self.calls.get(&id) {
                tracing::info!(call = %id, caller = %c.caller, callee = %c.callee, route = %c.route, "call routed to a queue");
            }
            self.enter_queue(now, id, &name, &context, b_body);
            return;
        }
        let opts = RingOptions {
            from_user,
            display,
            max_forwards,
            body: b_offer,
            auto_answer: false,
        };
        let no_answer = route.no_answer_timeout;
        let legs = self
            .with_call(now, id, |c, ctx| {
                let legs = if failover {
                    c.ring_failover(ctx, targets, &opts)
                } else {
                    c.ring(ctx, targets, &opts)
                };
                if legs.is_empty() {
                    // Nothing rang: the attempt leaves no call (and no CDR).
                    c.release(ctx);
                } else {
                    ctx.set_timer(c.id, CallTimer::NoAnswer, ctx.now.mono + no_answer);
                    tracing::info!(call = %c.id, caller = %c.caller, callee = %c.callee, route = %c.route, legs = legs.len(), "call routed");
                }
                legs.len()
            })
            .unwrap_or(0);
        if legs == 0 {
            self.calls.remove(&id);
            return reject(self, StatusCode::SERVER_INTERNAL_ERROR, "No Leg Could Be Created");
        }
        self.stats.calls_started += 1;
    }

    /// A new call (the next call number) for the caller's INVITE `req`,
    /// received on `tx` from `src`; `tag` is our To tag towards the caller.
    #[allow(clippy::too_many_arguments)]
    fn new_call(
        &mut self,
        now: Now,
        tx: TxId,
        req: &Message,
        src: Destination,
        tag: &str,
        caller: String,
        dialled: String,
    ) -> Call {
        let id = CallRef(self.next_call);
        self.next_call += 1;
        let call_id = req
            .envelope()
            .map(|e| Bytes::copy_from_slice(&e.call_id))
            .unwrap_or_default();
        Call::new(
            id,
            req.clone(),
            call_id,
            tx,
            src,
            Bytes::from(tag.to_owned()),
            caller,
            dialled,
            now.unix_ms,
        )
    }

    /// Where a user or trunk route rings: its label (`user:1001`,
    /// `trunk:carrier`) and targets (request URI, destination, trunk), or
    /// the failure to answer.
    pub(crate) fn route_targets(
        &self,
        now: Now,
        route: &crate::config::Route,
    ) -> Result<(String, Vec<RingTarget>), (StatusCode, String)> {
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
                    targets.push(RingTarget {
                        uri: b.uri.clone(),
                        dest: b.destination(local),
                        trunk: None,
                    });
                }
                if targets.is_empty() {
                    return Err((StatusCode::TEMPORARILY_UNAVAILABLE, "User Not Registered".into()));
                }
                Ok((format!("user:{ext}"), targets))
            }
            Action::Trunk { name } => {
                targets.push(self.trunk_target(name, &route.target)?);
                Ok((format!("trunk:{name}"), targets))
            }
            Action::Trunks { group } => {
                // Callers here ring one target: the preferred trunk, no failover.
                let Some(name) = self.trunk_preferred(group) else {
                    return Err((StatusCode::SERVICE_UNAVAILABLE, "No Trunk Usable".into()));
                };
                targets.push(self.trunk_target(&name, &route.target)?);
                Ok((format!("trunk:{name}"), targets))
            }
            Action::Reject { code, reason } => Err((*code, reason.clone())),
            Action::Queue { .. } => Err((StatusCode::NOT_IMPLEMENTED, "Queue Not Reachable From Here".into())),
            Action::Conference { .. } => {
                Err((StatusCode::NOT_IMPLEMENTED, "Conference Not Reachable From Here".into()))
            }
            Action::EntryPoint { .. } => Err((
                StatusCode::NOT_IMPLEMENTED,
                "Entry Point Not Reachable From Here".into(),
            )),
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
        self.ring_route_from(now, id, &route, body)
    }

    /// Rings directory user `extension`'s phones from call `id` still
    /// waiting for an answer (an entry point's `user` step); false when
    /// nothing could be rung.
    pub(crate) fn ring_user_from(&mut self, now: Now, id: CallRef, extension: &str, body: Bytes) -> bool {
        let route = crate::config::Route {
            action: Action::User {
                user: Some(extension.to_owned()),
            },
            target: extension.to_owned(),
            rule_index: 0,
            no_answer_timeout: self.cfg.dialplan().no_answer_timeout_of_user(extension),
            record: false,
            noise_removal: false,
        };
        self.ring_route_from(now, id, &route, body)
    }

    /// Rings `route`'s targets from call `id` still waiting for an answer.
    fn ring_route_from(&mut self, now: Now, id: CallRef, route: &crate::config::Route, body: Bytes) -> bool {
        let Ok((label, targets)) = self
            .trunk_list_targets(route)
            .unwrap_or_else(|| self.route_targets(now, route))
        else {
            return false;
        };
        let failover = matches!(route.action, Action::Trunks { .. });
        let no_answer = route.no_answer_timeout;
        self.with_call(now, id, |c, ctx| {
            c.route = label;
            let opts = RingOptions {
                from_user: c.caller.clone(),
                display: None,
                max_forwards: 69,
                body: Some(body),
                auto_answer: false,
            };
            let legs = if failover {
                c.ring_failover(ctx, targets, &opts)
            } else {
                c.ring(ctx, targets, &opts)
            };
            let rung = !legs.is_empty();
            ctx.set_timer(c.id, CallTimer::NoAnswer, ctx.now.mono + no_answer);
            rung
        })
        .unwrap_or(false)
    }

    /// The local socket of the first digest (phones) profile.
    pub(crate) fn user_profile_local(&self) -> Option<crate::sip::registrar::Locals> {
        let p = self
            .cfg
            .profiles()
            .iter()
            .find(|p| matches!(p.auth, AuthPolicy::Digest { .. }))?;
        Some(crate::sip::registrar::Locals {
            plain: p.listen.first().copied()?,
            tls: p.tls.as_ref().and_then(|t| t.listen.first().copied()),
            ws: p.ws.as_ref().and_then(|w| w.ws_listen.first().copied()),
            wss: p.ws.as_ref().and_then(|w| w.wss_listen.first().copied()),
        })
    }
}
