//! REFER in the call core (RFC 3515, RFC 3892 Referred-By; blind transfer
//! by a phone's Transfer key, RFC 5589 §6): the switch, being a B2BUA,
//! carries out the transfer itself instead of relaying the REFER.
//!
//! - A REFER from the caller's or the callee's leg (a desk phone or a
//!   trunk) with one `Refer-To` SIP URI is told to the engine
//!   ([`CallEvent::ReferRequested`]), which routes the target through the
//!   dial plan of the referrer's own context (its permissions apply) and
//!   answers with [`Call::accept_refer`] or [`Call::refuse_refer`]. A
//!   missing or malformed `Refer-To` (or `Replaces` in it) gets 400; a
//!   `Replaces` (attended transfer, RFC 5589 §7) goes to the engine with
//!   the event and ends in [`Call::accept_attended_refer`]; a REFER during
//!   a consult, a conference or another transfer gets 491 Request Pending.
//! - Accepted: 202, then NOTIFYs with `message/sipfrag` bodies in the
//!   referrer's dialog (RFC 3515 §2.4.4, `Event: refer`): `100 Trying`
//!   (subscription active), `180 Ringing` when the target rings, and the
//!   final status (`200 OK`, or the failure) with the subscription
//!   terminated (`reason=noresource`). The other party (the transferee)
//!   waits with music while the target's phone rings as a party leg of
//!   this call (its dialog, media port and stream never change).
//! - The target answered: the referrer's leg is hung up (its work is done;
//!   many phones hang up by themselves after the final NOTIFY, or even
//!   after the 202: a referrer that leaves early does not stop the
//!   transfer) and the transferee talks with the target.
//! - The target failed: the transferee is back with the referrer; if the
//!   referrer had already left, the call ends (`transfer_failed`).
//!
//! One REFER at a time; the implicit subscription is not refreshed
//! (SUBSCRIBE in the dialog gets 405, the NOTIFYs end it).

use super::consult::Talk;
use super::media::MediaLeg;
use super::{Call, CallCtx, CallEvent, PartyTarget, Side, TxOwner};
use crate::sip::msg::{HeaderName, Message, Method, Scheme, StatusCode, Uri};
use crate::sip::transaction::TxId;
use bytes::Bytes;

/// A REFER waiting for the engine's decision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingRefer {
    /// The referrer's side.
    pub side: Side,
    /// The REFER's server transaction.
    pub tx: TxId,
    /// The REFER (for the responses).
    pub req: Message,
}

/// A blind transfer by REFER under way (RFC 3515).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Referral {
    /// The referrer's side (its dialog carries the NOTIFYs).
    pub side: Side,
    /// The referrer's leg.
    pub referrer: MediaLeg,
    /// The party that stays and is transferred.
    pub transferee: MediaLeg,
    /// The target's party leg.
    pub party: usize,
    /// The referrer hung up before the transfer completed.
    pub referrer_gone: bool,
}

impl Call {
    /// A REFER in the dialog of `side` (RFC 3515 §2.4.2).
    pub(crate) fn on_refer(&mut self, ctx: &mut CallCtx, tx: TxId, side: Side, req: Message, tag: &str) {
        let reply = |ctx: &mut CallCtx, code: StatusCode, reason: &str| {
            let resp = Message::response_to(&req, code, Some(reason), Some(tag));
            ctx.respond(tx, resp);
        };
        let targets: Vec<&Bytes> = req.headers.get_all(&HeaderName::ReferTo).collect();
        let [raw] = targets.as_slice() else {
            return reply(ctx, StatusCode::BAD_REQUEST, "Exactly One Refer-To Needed");
        };
        let Some(target) = refer_target(raw) else {
            return reply(ctx, StatusCode::BAD_REQUEST, "Malformed Refer-To");
        };
        let replaces = match target.headers.as_ref().map(replaces_of) {
            None | Some(Ok(None)) => None,
            Some(Ok(Some(r))) => Some(r),
            Some(Err(())) => return reply(ctx, StatusCode::BAD_REQUEST, "Malformed Replaces In Refer-To"),
        };
        let Some(user) = target.user.as_ref().map(|u| String::from_utf8_lossy(u).into_owned()) else {
            return reply(ctx, StatusCode::BAD_REQUEST, "Refer-To Has No Number");
        };
        let busy = self.refer.is_some()
            || self.pending_refer.is_some()
            || self.consult.is_some()
            || self.talk != Talk::Direct
            || self.b.iter().any(|l| {
                l.party()
                    .is_some_and(|p| p.state == super::PartyState::Calling && !p.is_supervisor())
            });
        if busy || self.referral_legs(side).is_none() {
            return reply(
                ctx,
                StatusCode::REQUEST_PENDING,
                "Another Transfer Or Party In Progress",
            );
        }
        let referred_by = req.headers.get(&HeaderName::ReferredBy).cloned();
        self.pending_refer = Some(Box::new(PendingRefer { side, tx, req }));
        ctx.event(
            self.id,
            CallEvent::ReferRequested {
                side,
                number: user,
                referred_by,
                replaces,
            },
        );
    }

    /// The engine refuses the pending REFER (`403 Forbidden` for a target
    /// the referrer's dial plan does not allow, `404` for none).
    pub fn refuse_refer(&mut self, ctx: &mut CallCtx, code: StatusCode, reason: &str) {
        let Some(p) = self.pending_refer.take() else { return };
        let tag = self.tag_of(p.side);
        let resp = Message::response_to(&p.req, code, Some(reason), tag.as_deref());
        ctx.respond(p.tx, resp);
    }

    /// The engine routed the pending REFER's target: 202, the first
    /// NOTIFY, the transferee held with music and the target rung.
    pub fn accept_refer(&mut self, ctx: &mut CallCtx, target: PartyTarget) {
        self.start_referral(ctx, "the target rings", |c, ctx| {
            c.place_party(
                ctx,
                target,
                &crate::sdp::LegPolicy::default(),
                crate::sdp::Direction::SendRecv,
            )
        });
    }

    /// The pending REFER's transfer starts with the party `join` brings in
    /// (its leg index): 202, the first NOTIFY, the transferee held. 481
    /// when the call has no single transferee, 503 when `join` fails.
    fn start_referral(
        &mut self,
        ctx: &mut CallCtx,
        what: &str,
        join: impl FnOnce(&mut Call, &mut CallCtx) -> Result<usize, String>,
    ) {
        let Some(p) = self.pending_refer.take() else { return };
        let tag = self.tag_of(p.side);
        let refuse = |ctx: &mut CallCtx, code| {
            ctx.respond(p.tx, Message::response_to(&p.req, code, None, tag.as_deref()));
        };
        let Some((referrer, transferee)) = self.referral_legs(p.side) else {
            return refuse(ctx, StatusCode::CALL_DOES_NOT_EXIST);
        };
        let party = match join(self, ctx) {
            Ok(idx) => idx,
            Err(why) => {
                tracing::info!(call = %self.id, %why, "REFER: the transfer's party cannot join");
                return refuse(ctx, StatusCode::SERVICE_UNAVAILABLE);
            }
        };
        refuse(ctx, StatusCode::ACCEPTED);
        self.refer = Some(Referral {
            side: p.side,
            referrer,
            transferee,
            party,
            referrer_gone: false,
        });
        self.notify_refer(ctx, "100 Trying", false);
        self.send_modes(ctx);
        let (referrer, transferee, target) = (
            self.leg_name(referrer),
            self.leg_name(transferee),
            self.leg_name(MediaLeg::Party(party)),
        );
        tracing::info!(call = %self.id, referrer, transferee, target, "REFER accepted: {what}, the other party waits");
    }

    /// The pending REFER was carried out by the engine at once (an ACD
    /// interaction's blind transfer: the switch took the customer over):
    /// 202, then the final NOTIFY (`200 OK`, subscription terminated),
    /// before the referrer's leg is hung up.
    pub fn refer_taken_over(&mut self, ctx: &mut CallCtx) {
        let Some(p) = self.pending_refer.take() else { return };
        let tag = self.tag_of(p.side);
        let resp = Message::response_to(&p.req, StatusCode::ACCEPTED, None, tag.as_deref());
        ctx.respond(p.tx, resp);
        let body = Bytes::from_static(b"SIP/2.0 200 OK\r\n");
        let _ = self.send_in_dialog(
            ctx,
            p.side,
            Method::NOTIFY,
            body,
            notify_headers(true),
            TxOwner::Detached,
        );
    }

    /// An attended transfer (RFC 5589 §7): the engine moved the replaced
    /// call's other leg out of it (`moved`); it joins this call as a party
    /// (re-INVITE from a port of this call) while the referrer is told, and
    /// its answer completes the transfer like a blind one's target.
    pub fn accept_attended_refer(&mut self, ctx: &mut CallCtx, moved: super::MovedLeg) {
        let usable = self
            .pending_refer
            .as_ref()
            .is_some_and(|p| self.referral_legs(p.side).is_some());
        if !usable {
            // Nobody can take the moved leg: its phone is hung up.
            super::adopt::hang_up_moved(ctx, moved);
            if self.pending_refer.is_some() {
                self.start_referral(ctx, "", |_, _| Err(String::new()));
            }
            return;
        }
        self.start_referral(ctx, "the other call's party joins", |c, ctx| c.adopt_leg(ctx, moved));
    }

    /// The referrer's and the transferee's legs for a REFER on `side`.
    /// The referrer is the leg on `side`; the transferee the one other leg
    /// talking with it (a call already transferred once has a party in
    /// place of the caller or the callee). `None` with more than two legs.
    fn referral_legs(&self, side: Side) -> Option<(MediaLeg, MediaLeg)> {
        let referrer = match side {
            Side::A => MediaLeg::A,
            Side::B(i) if Some(i) == self.winner => MediaLeg::B,
            Side::B(i)
                if self
                    .b
                    .get(i)
                    .and_then(|l| l.party())
                    .is_some_and(|p| !p.is_supervisor()) =>
            {
                MediaLeg::Party(i)
            }
            Side::B(_) => return None,
        };
        let present = self.present_legs();
        if !present.contains(&referrer) {
            return None;
        }
        let others: Vec<MediaLeg> = present.into_iter().filter(|l| *l != referrer).collect();
        match others.as_slice() {
            [transferee] => Some((referrer, *transferee)),
            _ => None,
        }
    }

    /// Our To tag on `side`'s dialog (the REFER's responses carry it).
    fn tag_of(&self, side: Side) -> Option<String> {
        let d = match side {
            Side::A => self.a.dialog.as_ref(),
            Side::B(i) => self.b.get(i).and_then(|l| l.dialog.as_ref()),
        }?;
        Some(String::from_utf8_lossy(&d.key.local_tag).into_owned())
    }

    /// A NOTIFY of the transfer's progress to the referrer (RFC 3515 §2.4.4).
    fn notify_refer(&mut self, ctx: &mut CallCtx, status: &str, last: bool) {
        let Some(r) = self.refer else { return };
        if r.referrer_gone {
            return;
        }
        let headers = notify_headers(last);
        let body = Bytes::from(format!("SIP/2.0 {status}\r\n"));
        if self
            .send_in_dialog(ctx, r.side, Method::NOTIFY, body, headers, TxOwner::Detached)
            .is_none()
        {
            tracing::debug!(call = %self.id, "REFER: NOTIFY not sent (the referrer's dialog is gone)");
        }
    }

    /// The referral's target rings (RFC 3515: `180 Ringing` is told).
    pub(crate) fn refer_ringing(&mut self, ctx: &mut CallCtx, idx: usize) -> bool {
        if self.refer.is_none_or(|r| r.party != idx) {
            return false;
        }
        self.notify_refer(ctx, "180 Ringing", false);
        true
    }

    /// The referral's target answered: the referrer is told and hung up;
    /// the transferee talks with the target.
    pub(crate) fn refer_answered(&mut self, ctx: &mut CallCtx, idx: usize) -> bool {
        let Some(r) = self.refer.filter(|r| r.party == idx) else {
            return false;
        };
        self.notify_refer(ctx, "200 OK", true);
        self.refer = None;
        if !r.referrer_gone {
            self.hang_up_referrer(ctx, r);
        }
        self.send_modes(ctx);
        tracing::info!(call = %self.id, party = idx, "REFER: the target answered; the transfer is done");
        true
    }

    /// The referral's target failed: the transferee is back with the
    /// referrer, or, the referrer gone, the call ends.
    pub(crate) fn refer_failed(&mut self, ctx: &mut CallCtx, idx: usize, code: StatusCode) -> bool {
        let Some(r) = self.refer.filter(|r| r.party == idx) else {
            return false;
        };
        let reason = code.canonical_reason();
        self.notify_refer(ctx, &format!("{} {reason}", code.as_u16()), true);
        self.refer = None;
        if r.referrer_gone || !self.present_legs().contains(&r.referrer) {
            tracing::info!(call = %self.id, code = code.as_u16(), "REFER: the target failed and the referrer is gone: the call ends");
            self.end(ctx, "transfer_failed");
        } else {
            tracing::info!(call = %self.id, code = code.as_u16(), "REFER: the target failed; back with the referrer");
            self.send_modes(ctx);
        }
        true
    }

    /// The referrer hung up while its transfer is under way (RFC 5589
    /// §6: it may, right after the 202): the call goes on without it.
    /// True when `side` was such a referrer.
    pub(crate) fn referrer_left(&mut self, ctx: &mut CallCtx, side: Side) -> bool {
        let Some(r) = self.refer.as_mut().filter(|r| r.side == side && !r.referrer_gone) else {
            return false;
        };
        r.referrer_gone = true;
        let leg = r.referrer;
        self.forget_dialog(ctx, side);
        ctx.media(super::media::MediaCommand::PartyLeave { call: self.id.0, leg });
        tracing::info!(call = %self.id, referrer = self.leg_name(leg), "REFER: the referrer hung up; the transfer goes on");
        true
    }

    fn hang_up_referrer(&mut self, ctx: &mut CallCtx, r: Referral) {
        if let MediaLeg::Party(i) = r.referrer {
            // Its leg CDR and its media go with it.
            self.withdraw_party(ctx, i, "transferred");
            return;
        }
        self.bye_leg(ctx, r.side);
        ctx.media(super::media::MediaCommand::PartyLeave {
            call: self.id.0,
            leg: r.referrer,
        });
    }

    /// Whether `leg` waits for a REFER's target (it hears music).
    pub(crate) fn refer_waiting(&self, leg: MediaLeg) -> bool {
        self.refer.is_some_and(|r| r.transferee == leg)
    }
}

/// A REFER's NOTIFY headers (RFC 3515 §2.4.4): `Event: refer`, the
/// subscription active or, for the `last` one, terminated, and the
/// `message/sipfrag` body type.
fn notify_headers(last: bool) -> Vec<(HeaderName, Bytes)> {
    let state: &'static [u8] = if last {
        b"terminated;reason=noresource"
    } else {
        b"active;expires=60"
    };
    vec![
        (HeaderName::Event, Bytes::from_static(b"refer")),
        (HeaderName::SubscriptionState, Bytes::from_static(state)),
        (
            HeaderName::ContentType,
            Bytes::from_static(b"message/sipfrag;version=2.0"),
        ),
    ]
}

/// The URI of a `Refer-To` value (name-addr or addr-spec); `None` unless
/// it is a `sip:`/`sips:` URI.
fn refer_target(raw: &Bytes) -> Option<Uri> {
    let s = String::from_utf8_lossy(raw);
    let s = s.trim();
    let inner = match (s.find('<'), s.rfind('>')) {
        (Some(a), Some(b)) if a < b => &s[a + 1..b],
        _ => s.split(';').next().unwrap_or(s),
    };
    let uri = Uri::parse(&Bytes::from(inner.to_owned()))?;
    matches!(uri.scheme, Scheme::Sip | Scheme::Sips).then_some(uri)
}

/// The dialog a `Replaces` names (RFC 3891 §6.1): its Call-ID and tags.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplacesId {
    /// The dialog's Call-ID.
    pub call_id: String,
    /// Its `to-tag`.
    pub to_tag: String,
    /// Its `from-tag`.
    pub from_tag: String,
    /// `early-only`: only an early dialog may be replaced.
    pub early_only: bool,
}

impl ReplacesId {
    /// Parses a `Replaces` value (`callid;to-tag=..;from-tag=..[;early-only]`).
    pub fn parse(value: &str) -> Option<ReplacesId> {
        let mut parts = value.split(';').map(str::trim);
        let call_id = parts.next().filter(|c| !c.is_empty())?.to_owned();
        let (mut to_tag, mut from_tag, mut early_only) = (None, None, false);
        for p in parts {
            let (name, val) = p.split_once('=').unwrap_or((p, ""));
            match name.to_ascii_lowercase().as_str() {
                "to-tag" => to_tag = Some(val.to_owned()),
                "from-tag" => from_tag = Some(val.to_owned()),
                "early-only" => early_only = true,
                _ => {}
            }
        }
        Some(ReplacesId {
            call_id,
            to_tag: to_tag?,
            from_tag: from_tag?,
            early_only,
        })
    }
}

/// The `Replaces` among a Refer-To URI's headers (`?Replaces=...&...`,
/// %-escaped, RFC 3261 §19.1.1): `Ok(None)` when there is none.
fn replaces_of(headers: &Bytes) -> Result<Option<ReplacesId>, ()> {
    let raw = String::from_utf8_lossy(headers);
    for h in raw.split('&') {
        let (name, value) = h.split_once('=').unwrap_or((h, ""));
        if name.eq_ignore_ascii_case("replaces") {
            let decoded = percent_decode(value).ok_or(())?;
            return ReplacesId::parse(&decoded).map(Some).ok_or(());
        }
    }
    Ok(None)
}

/// %XX-unescapes `s` (`None` on a bad escape or non-UTF-8 result).
fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_in_a_refer_to_is_unescaped_and_parsed() {
        let h = Bytes::from_static(b"Replaces=abc%40host%3Bto-tag%3D12%3Bfrom-tag%3D34&X=1");
        assert_eq!(
            replaces_of(&h),
            Ok(Some(ReplacesId {
                call_id: "abc@host".into(),
                to_tag: "12".into(),
                from_tag: "34".into(),
                early_only: false
            }))
        );
        assert_eq!(replaces_of(&Bytes::from_static(b"X=1")), Ok(None));
        assert_eq!(replaces_of(&Bytes::from_static(b"Replaces=abc%3Bto-tag%3D1")), Err(()));
        assert_eq!(replaces_of(&Bytes::from_static(b"Replaces=%zz")), Err(()));
    }
}
