//! Media anchoring for B2BUA calls (issue 3 item 1): the switch answers the
//! caller's offer itself (RFC 3264 §6) with its own address and a port from
//! the pool, offers the callee the codec it chose (plus telephone-event)
//! from a second port, and, when the callee answers with the same codec,
//! tells the media workers to relay between the two ports (the fast path).
//!
//! Choices, until the rest of the media plane lands: an INVITE without SDP
//! (delayed offer) is not anchored; provisional responses carry no SDP to
//! the caller (no early media through the switch); a callee answering with
//! a different codec ends the call with 488 (transcoding comes next).

use super::{Engine, Output};
use crate::call::media::CallMedia;
use crate::ids::CallRef;
use crate::sdp::{self, CodecKind, Direction, LegPolicy, SessionState};
use crate::sip::msg::{Message, StatusCode};
use bytes::Bytes;
use std::net::{IpAddr, SocketAddr};

/// Why a call could not be anchored: the response to send the caller.
pub(crate) struct AnchorRefusal {
    /// Status to answer with.
    pub code: StatusCode,
    /// Reason phrase.
    pub reason: String,
    /// A `Warning` header value (488, RFC 3261 §20.43).
    pub warning: Option<String>,
}

impl Engine {
    /// Prepares anchoring for a new call whose caller sent `a_offer`:
    /// `Ok(None)` when the call is not anchored (anchoring off, or no SDP),
    /// else the call's media state and the SDP offer for the callee legs.
    pub(crate) fn anchor_offer(
        &mut self,
        id: CallRef,
        a_offer: &Message,
        local_a: IpAddr,
        local_b: IpAddr,
    ) -> Result<Option<(Box<CallMedia>, Bytes)>, AnchorRefusal> {
        if !self.cfg.media().anchor || a_offer.body.is_empty() {
            return Ok(None);
        }
        let offer = sdp::parse(&a_offer.body).map_err(|e| AnchorRefusal {
            code: StatusCode::BAD_REQUEST,
            reason: format!("Malformed SDP: {e}"),
            warning: None,
        })?;
        let no_ports = || AnchorRefusal {
            code: StatusCode::SERVICE_UNAVAILABLE,
            reason: "No Media Ports Free".into(),
            warning: None,
        };
        let pool = self.ports.as_mut().ok_or_else(no_ports)?;
        let port_a = pool.allocate().ok_or_else(no_ports)?;
        let Some(port_b) = pool.allocate() else {
            let _ = pool.release(port_a);
            return Err(no_ports());
        };
        let release = |e: &mut Engine| {
            if let Some(pool) = e.ports.as_mut() {
                let _ = pool.release(port_a);
                let _ = pool.release(port_b);
            }
        };
        let local_a = SocketAddr::new(local_a, port_a);
        let local_b = SocketAddr::new(local_b, port_b);
        let mut sdp_a = SessionState::new(self.ids.number());
        let answer = match sdp::answer(&offer, &LegPolicy::default(), local_a, &mut sdp_a) {
            Ok(a) => a,
            Err(rejection) => {
                release(self);
                return Err(AnchorRefusal {
                    code: StatusCode::NOT_ACCEPTABLE_HERE,
                    reason: "Not Acceptable Here".into(),
                    warning: Some(rejection.warning("switchboard")),
                });
            }
        };
        let Some(kind) = answer.negotiated.codec.kind() else {
            release(self);
            return Err(AnchorRefusal {
                code: StatusCode::NOT_ACCEPTABLE_HERE,
                reason: "Not Acceptable Here".into(),
                warning: Some("305 switchboard \"Incompatible media format\"".into()),
            });
        };
        let mut codecs = vec![kind];
        if answer.negotiated.telephone_event.is_some() {
            codecs.push(CodecKind::TelephoneEvent);
        }
        let policy_b = LegPolicy {
            codecs,
            ..LegPolicy::default()
        };
        let mut sdp_b = SessionState::new(self.ids.number());
        let offer_b = sdp::offer(&policy_b, local_b, Direction::SendRecv, &mut sdp_b);
        let media = CallMedia {
            port_a,
            port_b,
            local_a,
            local_b,
            sdp_a,
            sdp_b,
            answer_a: Some(Bytes::from(answer.sdp.print())),
            neg_a: Some(answer.negotiated),
            relaying: false,
        };
        self.out
            .push_back(Output::Media(crate::call::media::MediaCommand::Prepare {
                call: id.0,
                a_local: local_a,
                b_local: local_b,
            }));
        Ok(Some((Box::new(media), Bytes::from(offer_b.print()))))
    }

    /// The callee answered an anchored call with `b_answer`: checks it,
    /// starts the relay, and returns the caller's answer body. `Ok(None)`
    /// for a call that is not anchored; `Err` when the answer cannot be
    /// relayed (bad SDP, another codec).
    pub(crate) fn anchor_answer(&mut self, id: CallRef, b_answer: &Message) -> Result<Option<Bytes>, String> {
        let Some(call) = self.calls.get_mut(&id) else {
            return Ok(None);
        };
        let Some(media) = call.media.as_mut() else {
            return Ok(None);
        };
        let sdp = sdp::parse(&b_answer.body).map_err(|e| format!("callee SDP: {e}"))?;
        let neg_b = sdp::accept_answer(&sdp, &mut media.sdp_b).map_err(|e| format!("callee answer: {e}"))?;
        let plan = media.relay_plan(id.0, &neg_b).ok_or("callee answered another codec")?;
        media.relaying = true;
        let body = media.answer_a.take();
        self.out.push_back(Output::Media(plan));
        Ok(body)
    }

    /// Frees a call's media (ports back to the pool, workers told to stop).
    pub(crate) fn release_media(&mut self, media: &CallMedia, id: CallRef) {
        if let Some(pool) = self.ports.as_mut() {
            let _ = pool.release(media.port_a);
            let _ = pool.release(media.port_b);
        }
        self.out
            .push_back(Output::Media(crate::call::media::MediaCommand::Close { call: id.0 }));
    }
}
