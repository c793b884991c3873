//! Media anchoring for B2BUA calls (issue 3 item 1): the switch answers the
//! caller's offer itself (RFC 3264 §6) with its own address and a port from
//! the pool, offers the callee the codec it chose (plus telephone-event)
//! from a second port, and, when the callee answers with the same codec,
//! tells the media workers to relay between the two ports (the fast path).
//!
//! The callee is offered the caller's codec first, then the rest of the
//! switch's codecs: a callee that picks another one is transcoded by the
//! media workers.
//!
//! Delayed offer (an INVITE without SDP, RFC 3261 §13.2.1, common from
//! trunks): the switch offers the callee every codec; when the callee
//! answers, the caller gets the switch's offer in the 200 (the callee's
//! codec first, so the fast path is taken when the caller can), and the
//! caller's answer in its ACK starts the relay. The ACK's SDP is the
//! switch's and is not passed on to the callee.
//!
//! Early media (RFC 3261 §13.2.1, RFC 3960 §3 "gateway model"): a callee's
//! 18x with SDP is taken as its answer; the caller gets the switch's answer
//! in that 18x (and the same answer again in the 2xx) and the relay starts
//! at once, so carriers' ringback and announcements reach the caller. When
//! a different fork answers with its 2xx, its answer replaces the early one.

//! In-dialog offers (RFC 3264 §8) on an anchored call are answered by the
//! switch itself: a phone that offers `sendonly`/`inactive` holds the other
//! party, who then hears music on hold (CALL-HOLD-1).

use super::media::{CallMedia, MediaCommand, MediaLeg};
use super::{Call, CallCtx, CallEvent, Phase, Side};
use crate::sdp::{self, CodecKind, Direction, LegPolicy, SessionState};
use crate::sip::msg::{HeaderName, Message, StatusCode};
use crate::sip::transaction::TxId;
use bytes::Bytes;
use std::net::{IpAddr, SocketAddr};

/// The switch's codecs in preference order with `first` moved to the front
/// (the fast path when the other side takes it), then telephone-event.
fn codecs_preferring(first: Option<CodecKind>) -> Vec<CodecKind> {
    let mut codecs: Vec<CodecKind> = first.into_iter().collect();
    codecs.extend(
        LegPolicy::default()
            .codecs
            .into_iter()
            .filter(|c| Some(*c) != first && *c != CodecKind::TelephoneEvent),
    );
    codecs.push(CodecKind::TelephoneEvent);
    codecs
}

/// The policy for answering a phone's in-dialog offer on a leg already
/// negotiated: the codec it has (and telephone-event if it had it), so a
/// re-INVITE (a hold, a session refresh) never changes what the switch's
/// media for that leg is set up for (RFC 3264 §8).
pub(crate) fn keep_codec_policy(state: &SessionState) -> LegPolicy {
    let mut codecs: Vec<CodecKind> = state.negotiated().and_then(|n| n.codec.kind()).into_iter().collect();
    if state.negotiated().is_some_and(|n| n.telephone_event.is_some()) {
        codecs.push(CodecKind::TelephoneEvent);
    }
    LegPolicy {
        codecs,
        ..LegPolicy::default()
    }
}

/// How a leg's media travels, for the log: `WebRTC DTLS-SRTP`, `SRTP <suite>` or `RTP`.
fn media_security(n: Option<&sdp::Negotiated>) -> &'static str {
    if n.is_some_and(|n| n.webrtc.is_some()) {
        return "WebRTC DTLS-SRTP";
    }
    match n.and_then(|n| n.srtp.as_ref()).map(|k| k.suite) {
        Some(crate::rtp::SrtpSuite::AesCm128HmacSha1_80) => "SRTP AES_CM_128_HMAC_SHA1_80",
        Some(crate::rtp::SrtpSuite::AesCm128HmacSha1_32) => "SRTP AES_CM_128_HMAC_SHA1_32",
        None => "RTP",
    }
}

/// What the route and the users ask of an anchored call's media.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MediaFeatures {
    /// Remove background noise on both legs (spec CALL-NOISE-1).
    pub noise_removal: bool,
    /// Record from the answer (spec CALL-REC-1).
    pub record: bool,
    /// SRTP on the caller's leg: its profile's `srtp` (issue 11 item 2).
    pub srtp_a: crate::sdp::SrtpPolicy,
    /// SRTP on the callee legs: the profile they are reached through.
    pub srtp_b: crate::sdp::SrtpPolicy,
}

/// Why a call could not be anchored: the response to send the caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AnchorRefusal {
    /// Status to answer with.
    pub code: StatusCode,
    /// Reason phrase.
    pub reason: String,
    /// A `Warning` header value (488, RFC 3261 §20.43).
    pub warning: Option<String>,
}

impl Call {
    /// Prepares anchoring for the caller's offer (its INVITE's body):
    /// `Ok(None)` when the call is not anchored (anchoring off), else the
    /// SDP offer for the callee legs (the call's media state is set).
    pub fn anchor_offer(
        &mut self,
        ctx: &mut CallCtx,
        local_a: IpAddr,
        local_b: IpAddr,
        features: MediaFeatures,
    ) -> Result<Option<Bytes>, AnchorRefusal> {
        if !ctx.cfg.media().anchor {
            return Ok(None);
        }
        let body = self.a.invite.as_deref().map(|m| m.body.clone()).unwrap_or_default();
        let offer = if body.is_empty() {
            None
        } else {
            Some(sdp::parse(&body).map_err(|e| AnchorRefusal {
                code: StatusCode::BAD_REQUEST,
                reason: format!("Malformed SDP: {e}"),
                warning: None,
            })?)
        };
        let no_ports = || AnchorRefusal {
            code: StatusCode::SERVICE_UNAVAILABLE,
            reason: "No Media Ports Free".into(),
            warning: None,
        };
        let pool = ctx.ports.as_mut().ok_or_else(no_ports)?;
        let port_a = pool.allocate().ok_or_else(no_ports)?;
        let Some(port_b) = pool.allocate() else {
            let _ = pool.release(port_a);
            return Err(no_ports());
        };
        let release = |ctx: &mut CallCtx| {
            ctx.release_port(port_a);
            ctx.release_port(port_b);
        };
        let local_a = SocketAddr::new(local_a, port_a);
        let local_b = SocketAddr::new(local_b, port_b);
        let mut sdp_a = ctx.sdp_session(features.srtp_a);
        let answer = match offer
            .as_ref()
            .map(|o| sdp::answer(o, &LegPolicy::default(), local_a, &mut sdp_a))
        {
            None => None,
            Some(Ok(a)) => Some(a),
            Some(Err(rejection)) => {
                release(ctx);
                return Err(AnchorRefusal {
                    code: StatusCode::NOT_ACCEPTABLE_HERE,
                    reason: "Not Acceptable Here".into(),
                    warning: Some(rejection.warning("switchboard")),
                });
            }
        };
        let kind = match answer.as_ref().map(|a| a.negotiated.codec.kind()) {
            Some(None) => {
                release(ctx);
                return Err(AnchorRefusal {
                    code: StatusCode::NOT_ACCEPTABLE_HERE,
                    reason: "Not Acceptable Here".into(),
                    warning: Some("305 switchboard \"Incompatible media format\"".into()),
                });
            }
            Some(k) => k,
            None => None,
        };
        // The caller's codec first (the fast path when the callee takes
        // it), then every other codec the switch transcodes to.
        let policy_b = LegPolicy {
            codecs: codecs_preferring(kind),
            ..LegPolicy::default()
        };
        let mut sdp_b = ctx.sdp_session(features.srtp_b);
        let offer_b = sdp::offer(&policy_b, local_b, Direction::SendRecv, &mut sdp_b);
        self.media = Some(Box::new(CallMedia {
            port_a,
            port_b,
            local_a,
            local_b,
            sdp_a,
            sdp_b,
            browser_b: None,
            answer_a: answer.as_ref().map(|a| Bytes::from(a.sdp.print())),
            neg_a: answer.map(|a| a.negotiated),
            neg_b: None,
            early: None,
            denoise: features.noise_removal,
            phone_hold: None,
            api_hold: None,
            record_on_answer: features.record,
            recording: None,
            recordings: Vec::new(),
            recordings_started: 0,
            queued: false,
        }));
        ctx.media(MediaCommand::Prepare {
            call: self.id.0,
            a_local: local_a,
            b_local: local_b,
        });
        Ok(Some(Bytes::from(offer_b.print())))
    }

    /// The callee answered an anchored call with `b_answer`: checks it,
    /// starts the relay (and a route's recording), and returns the caller's
    /// answer body. `Ok(None)` for a call that is not anchored; `Err` when
    /// the answer cannot be relayed (bad SDP, another codec).
    pub(crate) fn anchor_answer(
        &mut self,
        ctx: &mut CallCtx,
        leg: usize,
        b_answer: &Message,
    ) -> Result<Option<Bytes>, String> {
        let body = self.negotiate_answer(ctx, leg, b_answer)?;
        if self.media.as_ref().is_some_and(|m| m.record_on_answer) {
            if let Err(e) = self.start_recording(ctx) {
                tracing::warn!(call = %self.id, error = %e, "recording could not start");
            }
        }
        Ok(body)
    }

    /// The WebRTC offer for a callee leg that is a browser (issue 12): made
    /// once per call, on the callee port, preferring the caller's codec
    /// after Opus. `None` when the call is not anchored or the switch has
    /// no DTLS certificate (the browser then gets the plain offer).
    pub(crate) fn browser_offer(&mut self, ctx: &mut CallCtx) -> Option<Bytes> {
        let media = self.media.as_deref_mut()?;
        if let Some(b) = &media.browser_b {
            return Some(b.1.clone());
        }
        let mut state = ctx.sdp_session_toward(sdp::SrtpPolicy::Off, true);
        state.webrtc()?;
        let policy = LegPolicy {
            codecs: codecs_preferring(media.neg_a.as_ref().and_then(|n| n.codec.kind())),
            ..LegPolicy::default()
        };
        let offer = Bytes::from(sdp::offer(&policy, media.local_b, Direction::SendRecv, &mut state).print());
        media.browser_b = Some(Box::new((state, offer.clone())));
        Some(offer)
    }

    /// Before a callee leg's answer is read: a browser leg answers the
    /// WebRTC offer, whose session then becomes the callee side's.
    fn take_browser_session(&mut self, leg: usize) {
        let browser = self.b.get(leg).is_some_and(|b| b.dest.transport.is_websocket());
        if let (true, Some(media)) = (browser, self.media.as_deref_mut()) {
            if let Some(b) = media.browser_b.take() {
                media.sdp_b = b.0;
            }
        }
    }

    /// The SDP side of [`Self::anchor_answer`]: the caller's body, and the
    /// relay plan once both legs have answered.
    pub(crate) fn negotiate_answer(
        &mut self,
        ctx: &mut CallCtx,
        leg: usize,
        b_answer: &Message,
    ) -> Result<Option<Bytes>, String> {
        let id = self.id;
        let Some(media) = self.media.as_mut() else {
            return Ok(None);
        };
        match media.early.take() {
            // The early answer stands (§13.2.1: the 2xx repeats it).
            Some((early_leg, _)) if early_leg == leg => return Ok(media.answer_a.take()),
            // Another fork answered: back to the state before the early answer.
            Some((_, before)) => media.sdp_b = *before,
            None => {}
        }
        self.take_browser_session(leg);
        let Some(media) = self.media.as_mut() else {
            return Ok(None);
        };
        let sdp = sdp::parse(&b_answer.body).map_err(|e| format!("callee SDP: {e}"))?;
        let neg_b = sdp::accept_answer(&sdp, &mut media.sdp_b).map_err(|e| format!("callee answer: {e}"))?;
        if media.neg_a.is_none() {
            // Delayed offer: the caller gets our offer now, answers in its ACK.
            let policy = LegPolicy {
                codecs: codecs_preferring(neg_b.codec.kind()),
                ..LegPolicy::default()
            };
            let offer = sdp::offer(&policy, media.local_a, Direction::SendRecv, &mut media.sdp_a);
            media.neg_b = Some(neg_b);
            return Ok(Some(Bytes::from(offer.print())));
        }
        let plan = media.relay_plan(id.0, &neg_b).ok_or("callee answered no audio codec")?;
        tracing::info!(
            call = %id,
            caller_media = %media_security(media.neg_a.as_ref()),
            callee_media = %media_security(Some(&neg_b)),
            caller_codec = %media.neg_a.as_ref().map_or("none", |n| n.codec.encoding_name()),
            callee_codec = %neg_b.codec.encoding_name(),
            "media anchored"
        );
        media.neg_b = Some(neg_b);
        let body = media.answer_a.take();
        ctx.media(plan);
        Ok(body)
    }

    /// A callee's 18x with SDP on an anchored call (early media): takes it
    /// as the callee's answer, starts the relay, and returns the body for
    /// the caller's 18x (`None`: send the 18x without SDP).
    pub(crate) fn anchor_early(&mut self, ctx: &mut CallCtx, leg: usize, b_resp: &Message) -> Option<Bytes> {
        let id = self.id;
        let media = self.media.as_deref_mut()?;
        if b_resp.body.is_empty() || media.early.is_some() || media.neg_a.is_none() {
            // Only the first fork's early media; delayed offers wait for the 2xx.
            return None;
        }
        let before = Box::new(media.sdp_b.clone());
        self.take_browser_session(leg);
        let media = self.media.as_deref_mut()?;
        let answer = sdp::parse(&b_resp.body).ok()?;
        let neg_b = match sdp::accept_answer(&answer, &mut media.sdp_b) {
            Ok(n) => n,
            Err(e) => {
                tracing::info!(call = %id, error = %e, "early SDP ignored");
                media.sdp_b = *before;
                return None;
            }
        };
        let Some(plan) = media.relay_plan(id.0, &neg_b) else {
            media.sdp_b = *before;
            return None;
        };
        media.neg_b = Some(neg_b);
        media.early = Some((leg, before));
        let body = media.answer_a.clone();
        ctx.media(plan);
        tracing::info!(call = %id, leg, "early media");
        body
    }

    /// The caller's ACK of a delayed-offer call carries its answer to our
    /// offer (RFC 3264 §5, RFC 3261 §13.2.1): the relay starts. Returns
    /// false when the answer is missing or unusable (the call is ended).
    pub(crate) fn anchor_ack_answer(&mut self, ctx: &mut CallCtx, ack: &Message) -> bool {
        let id = self.id;
        let Some(media) = self.media.as_deref_mut() else {
            return true;
        };
        if media.neg_a.is_some() || media.neg_b.is_none() {
            return true; // not a delayed offer waiting for its answer
        }
        match media.accept_caller_answer(id.0, &ack.body) {
            Ok(plan) => {
                ctx.media(plan);
                true
            }
            Err(why) => {
                tracing::info!(call = %id, %why, "caller's ACK has no usable answer: ending the call");
                self.end(ctx, "incompatible_media");
                false
            }
        }
    }

    /// After the answer's relay plan: a queued caller stops hearing music.
    pub(crate) fn media_connected(&mut self, ctx: &mut CallCtx) {
        if let Some(m) = self.media.as_deref_mut().filter(|m| m.queued) {
            m.queued = false;
            let held = m.held();
            ctx.media(MediaCommand::Hold { call: self.id.0, held });
        }
    }

    /// The caller waits in a queue: it hears music (and announcements)
    /// from the caller-side plan until an agent answers. False when the
    /// call is not anchored or has no usable caller answer yet.
    pub fn queue_media(&mut self, ctx: &mut CallCtx) -> bool {
        let id = self.id.0;
        let Some(media) = self.media.as_deref_mut() else {
            return false;
        };
        if media.queued {
            // Already hearing the switch (an entry point led it to a queue).
            return true;
        }
        let Some(plan) = media.queue_plan(id) else {
            return false;
        };
        media.queued = true;
        ctx.media(plan);
        ctx.media(MediaCommand::Hold {
            call: id,
            held: Some(MediaLeg::A),
        });
        true
    }

    /// The workers could not bind the call's media ports: a call still
    /// routing is refused with 503 (its callees are cancelled), an answered
    /// one ended, rather than connected without audio.
    pub(crate) fn media_failed(&mut self, ctx: &mut CallCtx) {
        tracing::warn!(call = %self.id, "media ports unavailable: ending the call");
        match self.phase {
            Phase::Routing => self.fail(
                ctx,
                StatusCode::SERVICE_UNAVAILABLE,
                "Media Ports Unavailable",
                "media_unavailable",
            ),
            _ => self.end(ctx, "media_unavailable"),
        }
    }

    /// Frees the call's media (ports back to the pool, workers told to stop).
    pub(crate) fn release_media(&mut self, ctx: &mut CallCtx) {
        if let Some(media) = self.media.as_ref() {
            ctx.release_port(media.port_a);
            // A meet-me room caller has one port (`room.rs`).
            if media.port_b != media.port_a {
                ctx.release_port(media.port_b);
            }
            // A room caller's media is a party of the room's session: it
            // left that at the call's end (engine/rooms.rs).
            if self.seat.is_none() {
                ctx.media(MediaCommand::Close { call: self.id.0 });
            }
        }
    }

    /// A re-INVITE or UPDATE on a leg of an anchored call (RFC 3264 §8): the
    /// switch answers it itself with the leg's codec, updates the worker
    /// (new address; hold when the offer stops the leg from receiving:
    /// `sendonly`/`inactive` means it holds the other party, who then hears
    /// music), and relays nothing. An offer-less re-INVITE (a session
    /// refresh) gets our current description as the offer in the 200; media
    /// stays as it is, and the answer in its ACK is not needed.
    pub(crate) fn answer_in_dialog_offer(&mut self, ctx: &mut CallCtx, side: Side, tx: TxId, req: &Message, tag: &str) {
        let id = self.id;
        let Some(dest) = self.side_dest(side) else { return };
        let contact = super::contact_for(&self.callee, dest);
        let Some(media) = self.media.as_mut() else { return };
        let (state, local, leg) = match side {
            Side::A => (&mut media.sdp_a, media.local_a, MediaLeg::A),
            Side::B(_) => (&mut media.sdp_b, media.local_b, MediaLeg::B),
        };
        let policy = keep_codec_policy(state);
        let mut resp = Message::response_to(req, StatusCode::OK, None, Some(tag));
        resp.headers.push(HeaderName::Contact, contact);
        if req.body.is_empty() && req.method() == Some(&crate::sip::msg::Method::UPDATE) {
            // An UPDATE without an offer (a session refresh, RFC 4028 §10):
            // a 2xx without a body (RFC 3311 §5.2: no offer in its answer).
            self.session_refreshed_by_peer(ctx, side, req, &mut resp);
            ctx.respond(tx, resp);
            return;
        }
        if req.body.is_empty() {
            let direction = state.local_direction();
            let offer = sdp::offer(&policy, local, direction, state);
            state.cancel_offer();
            resp.headers.push(HeaderName::ContentType, "application/sdp");
            resp.body = Bytes::from(offer.print());
            self.session_refreshed_by_peer(ctx, side, req, &mut resp);
            ctx.respond(tx, resp);
            return;
        }
        let offer = match sdp::parse(&req.body) {
            Ok(o) => o,
            Err(e) => {
                let bad = Message::response_to(
                    req,
                    StatusCode::BAD_REQUEST,
                    Some(&format!("Malformed SDP: {e}")),
                    Some(tag),
                );
                ctx.respond(tx, bad);
                return;
            }
        };
        match sdp::answer(&offer, &policy, local, state) {
            Ok(answer) => {
                let holding = !answer.negotiated.direction.sends();
                let remote = answer.negotiated.remote_rtp;
                let remote_rtcp = answer.negotiated.remote_rtcp;
                let srtp = answer.negotiated.srtp.clone();
                let webrtc = super::media::WebrtcPlan::from_negotiated(state, &answer.negotiated);
                resp.headers.push(HeaderName::ContentType, "application/sdp");
                resp.body = Bytes::from(answer.sdp.print());
                match side {
                    Side::A => media.neg_a = Some(answer.negotiated),
                    Side::B(_) => media.neg_b = Some(answer.negotiated),
                }
                tracing::info!(call = %id, from = if side == Side::A { "the caller" } else { "the callee" }, holding, "in-dialog offer answered by the switch");
                ctx.media(MediaCommand::Update {
                    call: id.0,
                    leg,
                    remote,
                    remote_rtcp,
                    srtp,
                    webrtc,
                });
                let before = media.held();
                media.phone_hold = match (holding, media.phone_hold) {
                    (true, _) => Some(leg),
                    (false, Some(l)) if l == leg => None,
                    (false, other) => other,
                };
                let after = media.held();
                if before != after {
                    ctx.media(MediaCommand::Hold {
                        call: id.0,
                        held: after,
                    });
                    ctx.event(id, CallEvent::HoldChanged { held: after.is_some() });
                }
                self.session_refreshed_by_peer(ctx, side, req, &mut resp);
                ctx.respond(tx, resp);
            }
            Err(rejection) => {
                let mut refuse = Message::response_to(req, StatusCode::NOT_ACCEPTABLE_HERE, None, Some(tag));
                refuse
                    .headers
                    .push(HeaderName::Warning, rejection.warning("switchboard"));
                ctx.respond(tx, refuse);
            }
        }
    }
}
