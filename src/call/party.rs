//! Party legs: legs the switch adds to a connected call, each with its own
//! RTP port and the switch's own SDP offer: a supervisor's phone (SUP-2,
//! SUP-4; `sendonly`, see `monitor`) and consulted or conferenced parties
//! (CALL-CONSULT-1..5, CALL-CONF-1..5; `sendrecv`, see `consult`). The
//! role ([`LegRole::Party`]) keeps a party's answer from ever being taken
//! for the callee's: its 2xx is ACKed and only joins the party to the
//! call's media, with no relay plan and no change to the call's CDR.
//!
//! A party's BYE ends only its leg. The call ending sends every party BYE,
//! or CANCEL while its phone still rings (a late 2xx is ACKed and hung up).
//! A party leg answers in-dialog OPTIONS and INFO with 200, and answers a
//! connected party's re-INVITE/UPDATE itself (a session refresh or a
//! phone's hold: the codec it joined with stays, the agent's holds and
//! toggles are the desktop's; 491 while the party is not connected yet).
//! Each party leg's end writes its leg CDR (HIST-3).

use super::media::{LegAudio, MediaCommand, RelayLeg};
use super::{BState, Call, CallCtx, CallOutput, LegRole, PartyKind, PartyLeg, PartyState, Side, TxOwner};
use crate::sdp::{self, Direction, LegPolicy};
use crate::sip::dialog::{Dialog, DialogState};
use crate::sip::msg::{HeaderName, Message, Method, StatusCode, Uri};
use crate::sip::transaction::{Destination, TxId};
use bytes::Bytes;
use std::net::SocketAddr;

/// Where and how to ring a party's phone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartyTarget {
    /// Who it is for.
    pub kind: PartyKind,
    /// The extension or number rung (logs, the leg CDR).
    pub extension: String,
    /// The interaction's uid, when the call is one.
    pub interaction: String,
    /// The phone's or trunk's request URI.
    pub uri: Uri,
    /// Where it goes.
    pub dest: Destination,
    /// The trunk it goes out on, for its digest credentials.
    pub trunk: Option<String>,
    /// The From display name the phone shows.
    pub display: String,
    /// Ask the phone to answer by itself (a supervisor's monitor).
    pub auto_answer: bool,
}

impl Call {
    /// Rings a party's phone with the switch's offer (`direction`, codecs
    /// of `policy`) from a port of its own; the new leg's index. `Err`
    /// names why it could not be placed.
    pub(crate) fn place_party(
        &mut self,
        ctx: &mut CallCtx,
        t: PartyTarget,
        policy: &LegPolicy,
        direction: Direction,
    ) -> Result<usize, String> {
        let Some(port) = ctx.ports.as_mut().and_then(|p| p.allocate()) else {
            return Err("no media port free".into());
        };
        let media_local = SocketAddr::new(t.dest.local.ip(), port);
        let srtp = ctx.srtp_policy(t.dest.local);
        let mut state = ctx.sdp_session_toward(srtp, t.dest.transport.is_websocket());
        let offer = sdp::offer(policy, media_local, direction, &mut state);
        let display = Bytes::from(format!("\"{}\"", t.display.replace('"', "")));
        let from_user = match &t.kind {
            PartyKind::Supervisor { .. } => "monitor",
            PartyKind::Consulted { .. } => "consult",
        };
        let mut invite = super::outbound::new_invite(ctx, t.uri.clone(), t.dest, from_user, Some(&display), 70);
        if t.auto_answer {
            super::outbound::ask_auto_answer(&mut invite, t.dest.local.ip());
        }
        invite.headers.set(HeaderName::ContentType, "application/sdp");
        invite.body = Bytes::from(offer.print());
        // The party's leg runs its own session timer (RFC 4028 §7.1).
        super::session_timer::offer_headers(ctx, &mut invite);
        let supervisor = matches!(t.kind, PartyKind::Supervisor { .. });
        let next = self.b.len();
        // The socket is bound before the phone can have our offer.
        ctx.media(if supervisor {
            MediaCommand::MonitorPrepare {
                call: self.id.0,
                local: media_local,
            }
        } else {
            MediaCommand::PartyPrepare {
                call: self.id.0,
                party: next,
                local: media_local,
            }
        });
        let role = LegRole::Party(Box::new(PartyLeg {
            kind: t.kind,
            extension: t.extension.clone(),
            interaction: t.interaction,
            state: PartyState::Calling,
            port,
            local: media_local,
            sdp: state,
            joined_ms: None,
            adopted: false,
        }));
        match self.place_leg(ctx, role, invite, t.dest, t.trunk) {
            Some(idx) => Ok(idx),
            None => {
                ctx.release_port(port);
                ctx.media(if supervisor {
                    MediaCommand::MonitorStop { call: self.id.0 }
                } else {
                    MediaCommand::PartyLeave {
                        call: self.id.0,
                        leg: super::media::MediaLeg::Party(next),
                    }
                });
                Err(format!("the INVITE to {} could not be sent", t.extension))
            }
        }
    }

    /// A response to party leg `idx`'s INVITE (or a timeout, as a
    /// 408/503): a 2xx is ACKed and the party joins the call's media; a
    /// failure ends the party leg.
    pub(crate) fn on_party_response(&mut self, ctx: &mut CallCtx, idx: usize, resp: Message) {
        let Some(code) = resp.status() else { return };
        let id = self.id;
        if code.is_provisional() {
            if code != StatusCode::TRYING {
                self.party_ringing(ctx, idx);
            }
            return;
        }
        let Some(state) = self.b[idx].party().map(|p| p.state) else {
            return;
        };
        if !code.is_success() {
            if state == PartyState::Ended {
                return;
            }
            tracing::info!(call = %id, code = code.as_u16(), "party leg: the phone did not answer");
            if self.b[idx].party().is_some_and(|p| p.adopted) {
                // A moved leg refused our re-INVITE: its dialog is still up.
                self.bye_party(ctx, idx);
            }
            self.b[idx].state = BState::Failed(code);
            let withdrawn = state == PartyState::Cancelled;
            self.drop_party(
                ctx,
                idx,
                if withdrawn { "cancelled" } else { "failed" },
                Some(code.as_u16()),
            );
            if !withdrawn {
                self.party_failed(ctx, idx, code);
            }
            return;
        }
        let leg = &mut self.b[idx];
        if state == PartyState::Answered || state == PartyState::Ended {
            // A 2xx retransmission: our ACK again (§13.2.2.4).
            if let Some(ack) = leg.ack.clone() {
                ctx.txl.send_stateless_bytes(leg.dest, ack);
            }
            return;
        }
        leg.state = BState::Answered;
        leg.answered_ms.get_or_insert(ctx.now.unix_ms);
        let adopted = leg.party().is_some_and(|p| p.adopted);
        if let Some(p) = leg.party_mut() {
            p.state = PartyState::Answered;
            p.joined_ms = Some(ctx.now.unix_ms);
        }
        if adopted {
            // Our re-INVITE to a leg moved in from another call: its
            // dialog is up already; ACK (kept for 2xx retransmissions).
            self.ack_b(ctx, idx, Bytes::new(), None);
            match self.party_leg_audio(idx, &resp) {
                Ok(leg) => {
                    self.party_joined(ctx, idx, leg);
                    self.session_party_answered(ctx, idx, None, &resp);
                }
                Err(why) => {
                    tracing::info!(call = %id, %why, "moved leg: unusable answer, hanging up");
                    self.bye_party(ctx, idx);
                    self.drop_party(ctx, idx, "bad_answer", Some(200));
                    self.party_failed(ctx, idx, StatusCode::NOT_ACCEPTABLE_HERE);
                }
            }
            return;
        }
        let Some(invite) = leg.invite.take() else { return };
        match Dialog::uac(&invite, &resp, DialogState::Confirmed) {
            Ok(d) => {
                ctx.links.dialogs.insert(d.key.clone(), (id, Side::B(idx)));
                leg.dialog = Some(d);
            }
            Err(e) => {
                tracing::warn!(call = %id, error = %e, "party leg: 2xx without a usable dialog");
                self.drop_party(ctx, idx, "bad_answer", Some(200));
                self.party_failed(ctx, idx, StatusCode::NOT_ACCEPTABLE_HERE);
                return;
            }
        }
        self.ack_b(ctx, idx, Bytes::new(), None);
        if state == PartyState::Cancelled {
            // Withdrawn (or the call ended) while the phone rang.
            self.bye_party(ctx, idx);
            self.drop_party(ctx, idx, "cancelled", Some(200));
            return;
        }
        match self.party_leg_audio(idx, &resp) {
            Ok(leg) => {
                self.party_joined(ctx, idx, leg);
                self.session_party_answered(ctx, idx, Some(&invite), &resp);
            }
            Err(why) => {
                tracing::info!(call = %id, %why, "party leg: unusable answer, hanging up");
                self.bye_party(ctx, idx);
                self.drop_party(ctx, idx, "bad_answer", Some(200));
                self.party_failed(ctx, idx, StatusCode::NOT_ACCEPTABLE_HERE);
            }
        }
    }

    /// The phone's SDP answer to our offer, as the workers need it.
    fn party_leg_audio(&mut self, idx: usize, resp: &Message) -> Result<RelayLeg, String> {
        let p = self.b[idx].party_mut().ok_or("no party")?;
        let answer = sdp::parse(&resp.body).map_err(|e| format!("SDP: {e}"))?;
        let neg = sdp::accept_answer(&answer, &mut p.sdp).map_err(|e| format!("answer: {e}"))?;
        let audio = LegAudio::from_negotiated(&neg).ok_or("no audio codec")?;
        Ok(RelayLeg {
            local: p.local,
            remote: neg.remote_rtp,
            remote_rtcp: neg.remote_rtcp,
            audio,
            pt_map: Vec::new(),
            denoise: false,
            webrtc: super::media::WebrtcPlan::from_negotiated(&p.sdp, &neg),
            srtp: neg.srtp,
        })
    }

    /// Sends BYE on party leg `idx` (§15.1.1); its answer needs no action.
    pub(crate) fn bye_party(&mut self, ctx: &mut CallCtx, idx: usize) {
        if self
            .send_in_dialog(
                ctx,
                Side::B(idx),
                Method::BYE,
                Bytes::new(),
                Vec::new(),
                TxOwner::Detached,
            )
            .is_none()
        {
            tracing::warn!(call = %self.id, "party leg: BYE not sent");
        }
    }

    /// Ends party leg `idx`: its port, its dialog, its media; writes its
    /// leg CDR (HIST-3: `cause`, and the phone's final status).
    pub(crate) fn drop_party(&mut self, ctx: &mut CallCtx, idx: usize, cause: &str, final_code: Option<u16>) {
        let id = self.id;
        let Some(p) = self.b[idx].party_mut().filter(|p| p.state != PartyState::Ended) else {
            return;
        };
        p.state = PartyState::Ended;
        let (port, interaction, supervisor) = (p.port, p.interaction.clone(), p.is_supervisor());
        let (leg_name, party) = match &p.kind {
            PartyKind::Supervisor { supervisor } => ("monitor", supervisor.clone()),
            PartyKind::Consulted { agent } => ("consult", agent.clone().unwrap_or_else(|| p.extension.clone())),
        };
        ctx.release_port(port);
        self.forget_dialog(ctx, Side::B(idx));
        let leg = &self.b[idx];
        let talk_ms = leg.answered_ms.map_or(0, |a| ctx.now.unix_ms.saturating_sub(a));
        let rec = crate::records::LegCdrRecord {
            interaction: Some(interaction).filter(|i| !i.is_empty()),
            call_id: String::from_utf8_lossy(&leg.call_id).into_owned(),
            leg: leg_name.into(),
            party,
            started_ms: leg.started_ms,
            answered_ms: leg.answered_ms,
            ended_ms: ctx.now.unix_ms,
            hold_ms: 0,
            talk_ms,
            // HIST-3: the time this party stayed after the customer left.
            post_call_ms: self.customer_left_ms.map_or(0, |left| {
                ctx.now
                    .unix_ms
                    .saturating_sub(left.max(leg.answered_ms.unwrap_or(left)))
            }),
            final_code,
            cause: cause.to_owned(),
        };
        ctx.out.push_back(CallOutput::LegCdr(rec));
        ctx.media(if supervisor {
            MediaCommand::MonitorStop { call: id.0 }
        } else {
            MediaCommand::PartyLeave {
                call: id.0,
                leg: super::media::MediaLeg::Party(idx),
            }
        });
    }

    /// Withdraws party leg `idx`: BYE when answered, CANCEL while its
    /// phone still rings (its final response then ends it).
    pub(crate) fn withdraw_party(&mut self, ctx: &mut CallCtx, idx: usize, cause: &str) {
        let Some(state) = self.b.get(idx).and_then(|l| l.party()).map(|p| p.state) else {
            return;
        };
        match state {
            PartyState::Calling => {
                let tx = self.b[idx].tx;
                if let Some(p) = self.b[idx].party_mut() {
                    p.state = PartyState::Cancelled;
                }
                ctx.cancel(tx);
            }
            PartyState::Cancelled | PartyState::Ended => {}
            PartyState::Answered => {
                self.bye_party(ctx, idx);
                self.drop_party(ctx, idx, cause, Some(200));
            }
        }
    }

    /// The call ended: every party goes (SUP-4 for the supervisor).
    pub(crate) fn end_parties(&mut self, ctx: &mut CallCtx) {
        for idx in 0..self.b.len() {
            if self.b[idx].party().is_some_and(|p| p.state == PartyState::Answered) {
                tracing::info!(call = %self.id, "the call ended: party leg removed");
            }
            self.withdraw_party(ctx, idx, "call_ended");
        }
    }

    /// An in-dialog request on party leg `idx` (its CSeq already checked).
    /// A party's BYE ends only its leg.
    pub(crate) fn on_party_request(
        &mut self,
        ctx: &mut CallCtx,
        idx: usize,
        tx: TxId,
        method: &Method,
        req: &Message,
        tag: Option<&str>,
    ) {
        if (*method == Method::INVITE || *method == Method::UPDATE)
            && self.b[idx].party().is_some_and(|p| p.state == PartyState::Answered)
        {
            // RFC 3261 §14.2: 491 while our own refresh re-INVITE is out.
            if self.session_glare(ctx, Side::B(idx), tx, req) {
                return;
            }
            // Target refresh (§12.2.2).
            if let Some(d) = self.b[idx].dialog.as_mut() {
                d.refresh_target(req);
            }
            self.answer_party_offer(ctx, idx, tx, req, tag.unwrap_or_default());
            return;
        }
        let (code, reason) = if *method == Method::BYE || *method == Method::OPTIONS || *method == Method::INFO {
            (StatusCode::OK, None)
        } else if *method == Method::INVITE || *method == Method::UPDATE {
            (StatusCode::REQUEST_PENDING, Some("Party Not Connected Yet"))
        } else {
            (StatusCode::NOT_IMPLEMENTED, None)
        };
        ctx.respond(tx, Message::response_to(req, code, reason, tag));
        if *method == Method::BYE {
            tracing::info!(call = %self.id, "party leg: the party hung up");
            let cause = match self.b[idx].party().map(|p| &p.kind) {
                Some(PartyKind::Supervisor { .. }) => "supervisor_hangup",
                _ => "party_hangup",
            };
            self.drop_party(ctx, idx, cause, Some(200));
            self.party_left(ctx, idx);
        }
    }
}

impl Call {
    /// A re-INVITE or UPDATE from a connected party's phone (a session
    /// refresh, RFC 4028 §10, restarting the leg's timer; or a phone's
    /// hold, RFC 3264 §8.4): answered
    /// by the switch from the party's own port, keeping the codec the party
    /// joined with (its media on the bridge is set up for it). An UPDATE
    /// without a body gets a 2xx without one (RFC 3311 §5.2); a re-INVITE
    /// without one gets our last SDP again. A new address re-latches the
    /// party's stream; a hold (`sendonly`/`inactive`) is answered as such,
    /// the party is simply not heard meanwhile.
    fn answer_party_offer(&mut self, ctx: &mut CallCtx, idx: usize, tx: TxId, req: &Message, tag: &str) {
        let id = self.id;
        let dest = self.b[idx].dest;
        let Some(p) = self.b[idx].party_mut() else { return };
        let mut resp = Message::response_to(req, StatusCode::OK, None, Some(tag));
        resp.headers
            .push(HeaderName::Contact, super::contact_for("switchboard", dest));
        if req.body.is_empty() {
            if req.method() == Some(&Method::INVITE) {
                if let Some(sdp) = p.sdp.last_sent().cloned() {
                    resp.headers.set(HeaderName::ContentType, "application/sdp");
                    resp.body = Bytes::from(sdp.print());
                }
            }
            self.session_refreshed_by_peer(ctx, Side::B(idx), req, &mut resp);
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
        let policy = super::anchor::keep_codec_policy(&p.sdp);
        match sdp::answer(&offer, &policy, p.local, &mut p.sdp) {
            Ok(answer) => {
                resp.headers.set(HeaderName::ContentType, "application/sdp");
                resp.body = Bytes::from(answer.sdp.print());
                ctx.media(MediaCommand::Update {
                    call: id.0,
                    leg: super::media::MediaLeg::Party(idx),
                    remote: answer.negotiated.remote_rtp,
                    remote_rtcp: answer.negotiated.remote_rtcp,
                    srtp: answer.negotiated.srtp.clone(),
                    webrtc: super::media::WebrtcPlan::from_negotiated(&p.sdp, &answer.negotiated),
                });
                self.session_refreshed_by_peer(ctx, Side::B(idx), req, &mut resp);
                ctx.respond(tx, resp);
            }
            Err(rejection) => {
                let mut r = Message::response_to(req, StatusCode::NOT_ACCEPTABLE_HERE, None, Some(tag));
                r.headers.push(HeaderName::Warning, rejection.warning("switchboard"));
                ctx.respond(tx, r);
            }
        }
    }
}

/// The codecs offered to a supervisor's phone: every audio codec the
/// switch encodes (the mix is the switch's own audio), no telephone-event.
pub(crate) fn listen_policy() -> LegPolicy {
    LegPolicy {
        codecs: LegPolicy::default()
            .codecs
            .into_iter()
            .filter(|c| *c != sdp::CodecKind::TelephoneEvent)
            .collect(),
        ..LegPolicy::default()
    }
}
