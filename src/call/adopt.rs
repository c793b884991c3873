//! Moving a connected leg from one call to another (RFC 5589 §7 attended
//! transfer through a B2BUA): the transferor's two calls become one. The
//! leg that stays (the transfer target's dialog) leaves its call without a
//! BYE ([`Call::hand_leg_over`]) and becomes a party leg of the call that
//! keeps going ([`Call::adopt_leg`]): same dialog, same SDP session (RFC
//! 3264 §8: a re-offer with the next version), a new media port of that
//! call, told to the phone by a re-INVITE. Its answer joins it to the
//! call's media exactly like a party that answered.

use super::leg::{BLeg, BState, LegRole, PartyKind, PartyLeg, PartyState};
use super::media::MediaCommand;
use super::{Call, CallCtx, Phase, Side, TxOwner};
use crate::sdp::{self, Direction, LegPolicy, SessionState};
use crate::sip::dialog::Dialog;
use crate::sip::msg::{HeaderName, Method};
use crate::sip::transaction::Destination;
use bytes::Bytes;
use std::net::SocketAddr;

/// A connected leg on its way from one call to another.
#[derive(Clone, Debug)]
pub struct MovedLeg {
    /// Its dialog, as it was.
    pub dialog: Dialog,
    /// Where its signalling goes.
    pub dest: Destination,
    /// Its Call-ID.
    pub call_id: Bytes,
    /// The SDP session with its phone (origin and version go on).
    pub sdp: SessionState,
    /// Who it is (the leg CDR's party).
    pub label: String,
    /// When its leg started and answered (unix ms).
    pub started_ms: u64,
    /// When it answered (unix ms).
    pub answered_ms: Option<u64>,
    /// Its trunk, when it is one.
    pub trunk: Option<String>,
}

impl Call {
    /// Gives up the leg on `keep` (the caller's or the answering leg) to
    /// another call and ends this one (`transferred`): the other leg gets
    /// BYE, the kept one nothing (its dialog moves). `None` when the call
    /// cannot give it (not answered, not anchored, parties present).
    pub fn hand_leg_over(&mut self, ctx: &mut CallCtx, keep: Side) -> Option<MovedLeg> {
        if self.phase != Phase::Answered || self.consult.is_some() || self.refer.is_some() {
            return None;
        }
        if self.b.iter().any(|l| l.party().is_some_and(|p| p.pending())) {
            return None;
        }
        let media = self.media.as_deref()?;
        let (sdp, dest, call_id, label, started_ms, answered_ms, trunk) = match keep {
            Side::A => (
                media.sdp_a.clone(),
                self.a.src,
                self.a.call_id.clone(),
                self.caller.clone(),
                self.started_ms,
                self.answered_ms,
                None,
            ),
            Side::B(i) if Some(i) == self.winner => {
                let l = self.b.get(i)?;
                (
                    media.sdp_b.clone(),
                    l.dest,
                    l.call_id.clone(),
                    self.callee.clone(),
                    l.started_ms,
                    l.answered_ms,
                    l.trunk.clone(),
                )
            }
            Side::B(_) => return None,
        };
        let dialog = match keep {
            Side::A => self.a.dialog.take(),
            Side::B(i) => self.b.get_mut(i).and_then(|l| l.dialog.take()),
        }?;
        ctx.links.dialogs.remove(&dialog.key);
        let kept = match keep {
            Side::A => self.caller.clone(),
            Side::B(_) => self.callee.clone(),
        };
        tracing::info!(call = %self.id, %kept, "attended transfer: a leg moves to the other call");
        self.end(ctx, "transferred");
        Some(MovedLeg {
            dialog,
            dest,
            call_id,
            sdp,
            label,
            started_ms,
            answered_ms,
            trunk,
        })
    }

    /// Takes `moved` in as a party leg: a media port of this call, the
    /// re-INVITE with our offer from it; the leg's index.
    pub(crate) fn adopt_leg(&mut self, ctx: &mut CallCtx, moved: MovedLeg) -> Result<usize, String> {
        let Some(port) = ctx.ports.as_mut().and_then(|p| p.allocate()) else {
            hang_up_moved(ctx, moved);
            return Err("no media port free".into());
        };
        let local = SocketAddr::new(moved.dest.local.ip(), port);
        let mut state = moved.sdp;
        let offer = sdp::offer(&LegPolicy::default(), local, Direction::SendRecv, &mut state);
        let idx = self.b.len();
        let mut dialog = moved.dialog;
        let headers = vec![(HeaderName::ContentType, Bytes::from_static(b"application/sdp"))];
        let reinvite = super::in_dialog::in_dialog_request(
            ctx,
            &mut dialog,
            moved.dest,
            Method::INVITE,
            Bytes::from(offer.print()),
            headers,
        );
        let mut reinvite = reinvite;
        // It renegotiates the leg's session timer in this call (RFC 4028 §9).
        super::session_timer::offer_headers(ctx, &mut reinvite);
        let cseq = dialog.local_seq;
        // The socket is bound before the phone can have our offer.
        ctx.media(MediaCommand::PartyPrepare {
            call: self.id.0,
            party: idx,
            local,
        });
        let Some(tx) = ctx.send_request(TxOwner::Call(self.id), reinvite, moved.dest) else {
            ctx.release_port(port);
            hang_up_moved(
                ctx,
                MovedLeg {
                    dialog,
                    sdp: state,
                    ..moved
                },
            );
            ctx.media(MediaCommand::PartyLeave {
                call: self.id.0,
                leg: super::media::MediaLeg::Party(idx),
            });
            return Err("the re-INVITE could not be sent".into());
        };
        ctx.links.dialogs.insert(dialog.key.clone(), (self.id, Side::B(idx)));
        self.b.push(BLeg {
            role: LegRole::Party(Box::new(PartyLeg {
                kind: PartyKind::Consulted { agent: None },
                extension: moved.label,
                interaction: String::new(),
                state: PartyState::Calling,
                port,
                local,
                sdp: state,
                joined_ms: None,
                adopted: true,
            })),
            invite: None,
            call_id: moved.call_id,
            cseq,
            tx,
            dest: moved.dest,
            state: BState::Calling,
            dialog: Some(dialog),
            auth_tries: 0,
            ack: None,
            trunk: moved.trunk,
            started_ms: moved.started_ms,
            answered_ms: moved.answered_ms,
            rseq: None,
        });
        Ok(idx)
    }
}

impl Call {
    /// RFC 3891: an INVITE with `Replaces` naming this call's dialog on
    /// `replaced` (a phone taking over another phone's call, call-pickup
    /// style): the switch answers it itself from a new port of this call,
    /// the new phone joins the call's media as a party, and the replaced
    /// phone is hung up. `Err` is the status to refuse with.
    pub fn adopt_invite(
        &mut self,
        ctx: &mut CallCtx,
        tx: crate::sip::transaction::TxId,
        invite: &crate::sip::msg::Message,
        src: Destination,
        replaced: Side,
    ) -> Result<usize, (crate::sip::msg::StatusCode, &'static str)> {
        use crate::sip::msg::StatusCode;
        if self.phase != Phase::Answered || self.media.is_none() {
            return Err((StatusCode::CALL_DOES_NOT_EXIST, "Replaced Call Not Connected"));
        }
        if self.consult.is_some() || self.refer.is_some() || self.talk != super::Talk::Direct {
            return Err((StatusCode::BUSY_HERE, "Replaced Call Busy With A Transfer"));
        }
        let leg = match replaced {
            Side::A => super::media::MediaLeg::A,
            Side::B(i) if Some(i) == self.winner => super::media::MediaLeg::B,
            Side::B(_) => return Err((StatusCode::CALL_DOES_NOT_EXIST, "Replaced Call Not Found")),
        };
        let offer = sdp::parse(&invite.body)
            .map_err(|_| (StatusCode::NOT_ACCEPTABLE_HERE, "Replacing INVITE Needs An SDP Offer"))?;
        let port = ctx
            .ports
            .as_mut()
            .and_then(|p| p.allocate())
            .ok_or((StatusCode::SERVICE_UNAVAILABLE, "No Media Ports Free"))?;
        let local = SocketAddr::new(src.local.ip(), port);
        let srtp = ctx.srtp_policy(src.local);
        let mut state = ctx.sdp_session(srtp);
        let answer = match sdp::answer(&offer, &LegPolicy::default(), local, &mut state) {
            Ok(a) => a,
            Err(_) => {
                ctx.release_port(port);
                return Err((StatusCode::NOT_ACCEPTABLE_HERE, "Not Acceptable Here"));
            }
        };
        let webrtc = super::media::WebrtcPlan::from_negotiated(&state, &answer.negotiated);
        let Some(audio) = super::media::LegAudio::from_negotiated(&answer.negotiated) else {
            ctx.release_port(port);
            return Err((StatusCode::NOT_ACCEPTABLE_HERE, "Not Acceptable Here"));
        };
        let tag = ctx.ids.tag();
        let Ok(dialog) = Dialog::uas(
            invite,
            Bytes::from(tag.clone()),
            crate::sip::dialog::DialogState::Confirmed,
        ) else {
            ctx.release_port(port);
            return Err((StatusCode::BAD_REQUEST, "No Usable Contact"));
        };
        let idx = self.b.len();
        ctx.media(MediaCommand::PartyPrepare {
            call: self.id.0,
            party: idx,
            local,
        });
        ctx.links.dialogs.insert(dialog.key.clone(), (self.id, Side::B(idx)));
        let call_id = dialog.key.call_id.clone();
        let caller = invite
            .envelope()
            .ok()
            .and_then(|e| e.from.uri.user.clone())
            .map(|u| String::from_utf8_lossy(&u).into_owned())
            .unwrap_or_default();
        self.b.push(BLeg {
            role: LegRole::Party(Box::new(PartyLeg {
                kind: PartyKind::Consulted { agent: None },
                extension: caller,
                interaction: String::new(),
                state: PartyState::Answered,
                port,
                local,
                sdp: state,
                joined_ms: Some(ctx.now.unix_ms),
                adopted: true,
            })),
            invite: None,
            call_id,
            cseq: 0,
            tx,
            dest: src,
            state: BState::Answered,
            dialog: Some(dialog),
            auth_tries: 0,
            ack: None,
            trunk: None,
            started_ms: ctx.now.unix_ms,
            answered_ms: Some(ctx.now.unix_ms),
            rseq: None,
        });
        let mut ok = crate::sip::msg::Message::response_to(invite, StatusCode::OK, None, Some(&tag));
        ok.headers
            .push(HeaderName::Contact, super::contact_for(&self.callee, src));
        ok.headers.set(HeaderName::ContentType, "application/sdp");
        ok.body = Bytes::from(answer.sdp.print());
        self.session_party_accepted(ctx, idx, invite, &mut ok);
        ctx.respond(tx, ok);
        let relay = super::media::RelayLeg {
            local,
            remote: answer.negotiated.remote_rtp,
            remote_rtcp: answer.negotiated.remote_rtcp,
            audio,
            pt_map: Vec::new(),
            denoise: false,
            srtp: answer.negotiated.srtp.clone(),
            webrtc,
        };
        ctx.media(MediaCommand::PartyJoin {
            call: self.id.0,
            party: idx,
            leg: Box::new(relay),
            mode: super::media::PartyMode::Talk,
        });
        // The replaced phone goes (RFC 3891 §3: BYE to the replaced dialog).
        let side = match leg {
            super::media::MediaLeg::A => Side::A,
            _ => replaced,
        };
        self.bye_leg(ctx, side);
        ctx.media(MediaCommand::PartyLeave { call: self.id.0, leg });
        self.send_modes(ctx);
        let (replaced, by) = (
            self.leg_name(leg).to_owned(),
            self.leg_name(super::media::MediaLeg::Party(idx)).to_owned(),
        );
        tracing::info!(call = %self.id, %replaced, %by, "INVITE with Replaces: a phone took over the call");
        Ok(idx)
    }
}

/// A moved leg no call can take: BYE in its dialog, so its phone is not
/// left in a call nobody carries.
pub(crate) fn hang_up_moved(ctx: &mut CallCtx, moved: MovedLeg) {
    let mut dialog = moved.dialog;
    let bye = super::in_dialog::in_dialog_request(ctx, &mut dialog, moved.dest, Method::BYE, Bytes::new(), Vec::new());
    let _ = ctx.send_request(TxOwner::Detached, bye, moved.dest);
}
