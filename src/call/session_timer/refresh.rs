//! The switch's own session refreshes (RFC 4028 §10): UPDATE or re-INVITE
//! at half the interval, the re-offer an anchored leg gets, and what each
//! final answer does (restart, 422 retry, 491 back-off, 408/481 end).

use super::super::{Call, CallCtx, CallTimer, Phase, Side, TxOwner};
use super::{glare_backoff, min_se, session_expires, RefreshMethod, RefreshState, Refresher};
use crate::call::anchor::keep_codec_policy;
use crate::call::media::{MediaCommand, MediaLeg};
use crate::sdp;
use crate::sip::msg::{HeaderName, Message, Method};
use crate::sip::transaction::TxId;
use bytes::Bytes;
use std::time::Duration;

impl Call {
    /// Sends our refresh on `side` (RFC 4028 §10): UPDATE without a body
    /// when the peer allows it, else a re-INVITE with the switch's unchanged
    /// SDP (anchored calls only).
    pub(super) fn send_refresh(&mut self, ctx: &mut CallCtx, side: Side) {
        let Some(leg) = self.leg_timer(side).cloned() else {
            return;
        };
        if leg.refresher != Refresher::Switch || leg.refresh != RefreshState::Idle {
            return;
        }
        let method = if leg.peer_update {
            RefreshMethod::Update
        } else {
            RefreshMethod::Invite
        };
        let mut body = Bytes::new();
        let mut headers = vec![
            (HeaderName::SessionExpires, Bytes::from(leg.header(true))),
            (HeaderName::MinSe, Bytes::from(leg.min_se_s.to_string())),
            (HeaderName::Supported, Bytes::from_static(b"timer")),
        ];
        if method == RefreshMethod::Invite {
            match self.refresh_offer(side) {
                Some(offer) => {
                    body = offer;
                    headers.push((HeaderName::ContentType, Bytes::from_static(b"application/sdp")));
                }
                None => {
                    // No SDP to re-offer now (another offer of ours is pending):
                    // try again in a second; the expiry still bounds it.
                    let at = ctx.now.mono + Duration::from_secs(1);
                    ctx.set_timer(self.id, CallTimer::SessionRefresh(side), at);
                    return;
                }
            }
        }
        let m = match method {
            RefreshMethod::Invite => Method::INVITE,
            RefreshMethod::Update => Method::UPDATE,
        };
        let method_name = m.to_string();
        let sent = self.send_in_dialog(ctx, side, m, body, headers, TxOwner::Call(self.id));
        let seq = self.dialog_mut(side).map(|d| d.local_seq).unwrap_or(0);
        match sent {
            Some(tx) => {
                if let Some(l) = self.leg_timer_mut(side) {
                    l.refresh = RefreshState::Sent { tx, seq, method };
                }
                tracing::debug!(call = %self.id, to = %self.side_name(side), method = %method_name, "session refresh sent");
            }
            None => self.cancel_repeat_offer(side, method),
        }
    }

    /// The SDP of a refresh re-INVITE on an anchored leg (RFC 3264 §8): on
    /// the caller's leg our last answer again, unchanged (same `o=`
    /// version); on a placed leg or a party leg, where our last description
    /// may have been the initial offer of every codec, the negotiated codec
    /// alone (a new version the first time, unchanged after), so the phone
    /// cannot switch codecs under the running media. `None` while another
    /// offer of ours is pending.
    fn refresh_offer(&mut self, side: Side) -> Option<Bytes> {
        let (state, local) = match side {
            Side::A => return Some(Bytes::from(self.media.as_deref_mut()?.sdp_a.repeat_offer()?.print())),
            Side::B(i) => match self.b.get_mut(i).and_then(|l| l.party_mut()) {
                Some(p) => (&mut p.sdp, p.local),
                None => {
                    let media = self.media.as_deref_mut()?;
                    (&mut media.sdp_b, media.local_b)
                }
            },
        };
        if state.pending_offer().is_some() {
            return None;
        }
        state.negotiated()?;
        let policy = keep_codec_policy(state);
        let direction = state.local_direction();
        Some(Bytes::from(sdp::offer(&policy, local, direction, state).print()))
    }

    /// The SDP session with the phone on `side`, and its media leg: the
    /// caller's, the callee's, or a party's own.
    fn sdp_state(&mut self, side: Side) -> Option<(&mut sdp::SessionState, MediaLeg)> {
        if let Side::B(i) = side {
            if let Some(p) = self.b.get_mut(i).and_then(|l| l.party_mut()) {
                return Some((&mut p.sdp, MediaLeg::Party(i)));
            }
        }
        let media = self.media.as_deref_mut()?;
        Some(match side {
            Side::A => (&mut media.sdp_a, MediaLeg::A),
            Side::B(_) => (&mut media.sdp_b, MediaLeg::B),
        })
    }

    /// Drops the re-offer of a refresh that failed (RFC 3264 §8: the old session stays).
    fn cancel_repeat_offer(&mut self, side: Side, method: RefreshMethod) {
        if method != RefreshMethod::Invite {
            return;
        }
        if let Some((state, _)) = self.sdp_state(side) {
            state.cancel_offer();
        }
    }

    /// True when `tx` is one of our refreshes (or our last answered
    /// refresh re-INVITE, whose 2xx may be retransmitted).
    pub(crate) fn is_refresh_tx(&self, tx: TxId) -> bool {
        self.refresh_side(tx).is_some()
            || self
                .session_timers
                .as_ref()
                .is_some_and(|st| st.legs.iter().any(|l| l.answered_invite.is_some_and(|(t, _)| t == tx)))
    }

    fn refresh_side(&self, tx: TxId) -> Option<(Side, u32, RefreshMethod)> {
        self.session_timers.as_ref()?.legs.iter().find_map(|l| match l.refresh {
            RefreshState::Sent { tx: t, seq, method } if t == tx => Some((l.side, seq, method)),
            _ => None,
        })
    }

    /// The final response to one of our refreshes (RFC 4028 §10): a 2xx
    /// restarts the leg's timer; 422 retries with the larger interval; 491
    /// backs off (RFC 3261 §14.1); 405/501 to an UPDATE retries with a
    /// re-INVITE; 408 and 481 end the call; anything else leaves the expiry
    /// running.
    pub(crate) fn on_refresh_response(&mut self, ctx: &mut CallCtx, tx: TxId, resp: Message) {
        let Some(code) = resp.status() else { return };
        if code.is_provisional() {
            return;
        }
        let Some((side, seq, method)) = self.refresh_side(tx) else {
            // A retransmitted 2xx of our last refresh re-INVITE: our ACK was lost.
            let again = self.session_timers.as_ref().and_then(|st| {
                st.legs.iter().find_map(|l| {
                    l.answered_invite
                        .filter(|(t, _)| *t == tx)
                        .map(|(_, seq)| (l.side, seq))
                })
            });
            if let Some((side, seq)) = again.filter(|_| code.is_success()) {
                self.ack_with_seq(ctx, side, seq, Bytes::new(), None);
            }
            return;
        };
        if method == RefreshMethod::Invite && code.is_success() {
            // Kept until the transaction ends (Timer M): 2xx retransmissions are ACKed.
            if let Some(l) = self.leg_timer_mut(side) {
                if let Some((old, _)) = l.answered_invite.replace((tx, seq)) {
                    ctx.links.txs.remove(&old);
                }
            }
        } else {
            ctx.links.txs.remove(&tx);
        }
        if let Some(l) = self.leg_timer_mut(side) {
            l.refresh = RefreshState::Idle;
        }
        if code.is_success() {
            if method == RefreshMethod::Invite {
                self.ack_refresh(ctx, side, seq, &resp);
            }
            if self.phase != Phase::Answered {
                return;
            }
            if let Some(l) = self.leg_timer_mut(side) {
                match session_expires(&resp).ok().flatten() {
                    Some(se) => l.take(&se, true),
                    // §7.2: no Session-Expires in the 2xx: we stay the refresher.
                    None => l.refresher = Refresher::Switch,
                }
            }
            self.arm_session_timer(ctx, side);
            return;
        }
        self.cancel_repeat_offer(side, method);
        if self.phase != Phase::Answered {
            return;
        }
        let who = self.side_name(side);
        match code.as_u16() {
            422 => {
                let theirs = min_se(&resp).ok().flatten().unwrap_or(0);
                let Some(l) = self.leg_timer_mut(side) else { return };
                if theirs > l.interval_s && theirs <= 86_400 {
                    l.interval_s = theirs;
                    l.min_se_s = l.min_se_s.max(theirs);
                    self.send_refresh(ctx, side);
                }
            }
            491 => {
                let wait = glare_backoff(ctx, self.owns_call_id(side));
                ctx.set_timer(self.id, CallTimer::SessionRefresh(side), ctx.now.mono + wait);
            }
            405 | 501 if method == RefreshMethod::Update => {
                if let Some(l) = self.leg_timer_mut(side) {
                    l.peer_update = false;
                }
                if self.media.is_some() {
                    self.send_refresh(ctx, side);
                }
            }
            408 | 481 => {
                tracing::info!(
                    "call {} ({} → {}): session refresh to {who} failed ({}): {who} is hung up",
                    self.id,
                    self.caller,
                    self.callee,
                    code.as_u16()
                );
                self.session_over(ctx, side);
            }
            c => {
                tracing::info!(call = %self.id, code = c, "session refresh to {who} refused; the session expires unless refreshed")
            }
        }
    }

    /// ACKs the 2xx of our refresh re-INVITE (RFC 3261 §13.2.2.4) after
    /// taking its answer on an anchored leg (a new address updates the media).
    fn ack_refresh(&mut self, ctx: &mut CallCtx, side: Side, seq: u32, resp: &Message) {
        self.ack_with_seq(ctx, side, seq, Bytes::new(), None);
        let id = self.id;
        let Some((state, leg)) = self.sdp_state(side) else {
            return;
        };
        let before = state
            .negotiated()
            .map(|n| (n.remote_rtp, n.remote_rtcp, n.srtp.clone(), n.webrtc.clone()));
        let taken = sdp::parse(&resp.body)
            .map_err(|e| e.to_string())
            .and_then(|s| sdp::accept_answer(&s, state).map_err(|e| e.to_string()));
        match taken {
            Ok(n) => {
                if before != Some((n.remote_rtp, n.remote_rtcp, n.srtp.clone(), n.webrtc.clone())) {
                    ctx.media(MediaCommand::Update {
                        call: id.0,
                        leg,
                        remote: n.remote_rtp,
                        remote_rtcp: n.remote_rtcp,
                        srtp: n.srtp.clone(),
                        webrtc: crate::call::media::WebrtcPlan::from_negotiated(state, &n),
                    });
                }
                if let Some(media) = self.media.as_deref_mut() {
                    match leg {
                        MediaLeg::A => media.neg_a = Some(n),
                        MediaLeg::B => media.neg_b = Some(n),
                        MediaLeg::Party(_) => {}
                    }
                }
            }
            Err(why) => {
                state.cancel_offer();
                tracing::debug!(call = %id, %why, "refresh answer not taken; media unchanged");
            }
        }
    }
}
