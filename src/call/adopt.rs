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
        tracing::info!(call = %self.id, ?keep, "attended transfer: a leg moves to the other call");
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
        });
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
