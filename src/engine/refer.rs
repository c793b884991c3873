//! REFER from phones and trunks (RFC 3515, issue 10 item 2), the engine's
//! part: where the target goes and who may send it there.
//!
//! - **A plain call**: the Refer-To number is routed through the dial plan
//!   of the referrer's own context (a phone's profile context, a trunk's
//!   inbound context): the referrer's permissions apply, so a phone cannot
//!   transfer a customer to a number its own dial plan forbids (403). A
//!   number with no route gets 404; a user that is not registered 480; a
//!   queue or a meet-me room as the target is refused for now (403: a
//!   call cannot enter the ACD or a room once answered). The call core
//!   then rings the target and reports to the referrer with NOTIFYs
//!   (`call/refer.rs`).
//! - **An ACD interaction**: the primary agent's phone may transfer it,
//!   blind, exactly like the desktop (`engine/transfer.rs`): a queue's
//!   number is that queue (CALL-XFER-3, -4), an agent's extension is an
//!   offer to that agent when `Available` (else 403 naming the state),
//!   any other number is routed by the dial plan. The interaction keeps
//!   its record and the agent wraps up (CALL-XFER-5). The phone is told
//!   `202` and a final `NOTIFY` (`200 OK`: the switch took the call over)
//!   before its leg is hung up. The customer's side (a trunk) may not
//!   transfer the agent away (403).
//! - **Attended** (RFC 5589 §7: `Refer-To` with `Replaces`): the phone has
//!   two calls through the switch and REFERs the first with the second's
//!   dialog (its own dialog with the switch). The switch finds that call
//!   (the dialog's Call-ID and tags, either way round), checks that the
//!   same phone holds both (the same address: a Replaces cannot take over
//!   somebody else's call), moves the second call's far party into the
//!   first call (`call/adopt.rs`: a re-INVITE from a port of the first
//!   call; the second call ends `transferred`, its far party keeps its
//!   dialog) and hangs up the phone in both when that party answers. An
//!   unknown dialog is refused 403. On an ACD interaction the primary
//!   agent's phone may do it the same way (its consult call made from the
//!   phone, then Transfer): the REFER comes in the customer's call and
//!   names the phone's other, plain call; the party there takes the
//!   customer as the interaction's transfer to that number (the agent
//!   wraps up, the record is kept, `transferred` on the desktop; a party
//!   that refuses the re-INVITE sends the customer back to the queue's
//!   line, CALL-XFER-2). A REFER in the plain call naming the customer's
//!   call is refused (403): phones send it in the call that goes on, and
//!   two interactions are never merged.

use super::desk::{DeskError, TransferTo};
use super::queue::interaction_of;
use super::{Engine, Now};
use crate::call::{PartyKind, PartyTarget, Side};
use crate::ids::CallRef;
use crate::sip::msg::StatusCode;

impl Engine {
    /// Call `id`'s leg on `side` sent REFER to `number` (RFC 3515).
    pub(super) fn on_refer_requested(&mut self, now: Now, id: CallRef, side: Side, number: String) {
        if self.queues.calls.contains_key(&interaction_of(id)) {
            return self.acd_refer(now, id, side, number);
        }
        let Some(context) = self.referrer_context(id, side) else {
            return self.refuse_refer(now, id, StatusCode::FORBIDDEN, "No Dial Plan For The Referrer");
        };
        let Some(route) = self.cfg.dialplan().route(&context, &number) else {
            tracing::info!(call = %id, %number, %context, "REFER refused: no route in the referrer's dial plan");
            return self.refuse_refer(now, id, StatusCode::FORBIDDEN, "Transfer Target Not Allowed");
        };
        let targets = match self.route_targets(now, &route) {
            Ok((_, t)) => t,
            Err((code, reason)) => {
                let code = if code == StatusCode::NOT_IMPLEMENTED {
                    StatusCode::FORBIDDEN
                } else {
                    code
                };
                tracing::info!(call = %id, %number, reason, "REFER refused");
                return self.refuse_refer(now, id, code, &reason);
            }
        };
        let Some(t) = targets.into_iter().next() else {
            return self.refuse_refer(
                now,
                id,
                StatusCode::TEMPORARILY_UNAVAILABLE,
                "Transfer Target Unreachable",
            );
        };
        let referrer = self.referrer_name(id, side);
        let target = PartyTarget {
            kind: PartyKind::Consulted { agent: None },
            extension: number.clone(),
            interaction: String::new(),
            uri: t.uri,
            dest: t.dest,
            trunk: t.trunk,
            display: format!("Transfer from {referrer}"),
            auto_answer: false,
        };
        tracing::info!(call = %id, %referrer, %number, "REFER: blind transfer");
        self.with_call(now, id, |c, ctx| c.accept_refer(ctx, target));
    }

    /// The dial-plan context the referrer's calls are routed in: a phone's
    /// profile context, a trunk's inbound context.
    fn referrer_context(&self, id: CallRef, side: Side) -> Option<String> {
        let call = self.calls.get(&id)?;
        let who = match side {
            Side::A => call.caller.clone(),
            Side::B(_) => call.route.clone(),
        };
        if let Some(trunk) = who.strip_prefix("trunk:") {
            let t = self.cfg.trunks().iter().find(|t| t.name == trunk)?;
            return t.inbound.as_ref().map(|i| i.context.clone());
        }
        self.cfg
            .profiles()
            .iter()
            .find(|p| matches!(p.auth, crate::config::AuthPolicy::Digest { .. }))
            .map(|p| p.context.clone())
    }

    /// The referrer as people know it (its extension, or `trunk:<name>`).
    fn referrer_name(&self, id: CallRef, side: Side) -> String {
        let Some(call) = self.calls.get(&id) else {
            return String::new();
        };
        match side {
            Side::A => call.caller.clone(),
            Side::B(_) => call.route.trim_start_matches("user:").to_owned(),
        }
    }

    /// REFER on an ACD interaction's call: the primary agent's phone
    /// transfers blind, like the desktop (CALL-XFER-1..5).
    fn acd_refer(&mut self, now: Now, id: CallRef, side: Side, number: String) {
        let interaction = interaction_of(id);
        let agent = match self.referring_agent(id, side) {
            Ok(a) => a,
            Err(reason) => return self.refuse_refer(now, id, StatusCode::FORBIDDEN, reason),
        };
        let uid = self.uid_of(interaction);
        // An agent's extension is that agent; anything else is an entry
        // point (a queue's number) or a number the dial plan routes.
        let to = match self.cfg.acd().agents.iter().find(|a| a.extension == number) {
            Some(a) => TransferTo::Agent(a.login.clone()),
            None => TransferTo::EntryPoint(number.clone()),
        };
        // Checked before the phone is told anything (a refusal moves nothing).
        let checked = self.check_transfer(now, agent, &uid, to.clone());
        if let Err(e) = checked {
            let (code, reason) = match &e {
                DeskError::NotFound { .. } => (StatusCode::NOT_FOUND, "Transfer Target Not Found".to_owned()),
                other => (StatusCode::FORBIDDEN, refer_reason(&other.to_string())),
            };
            tracing::info!(interaction = %uid, %number, error = %e, "REFER from the agent's phone refused");
            return self.refuse_refer(now, id, code, &reason);
        }
        // The switch takes the call over: the phone is told it worked,
        // then its leg is hung up by the transfer.
        self.with_call(now, id, |c, ctx| c.refer_taken_over(ctx));
        if let Err(e) = self.desk_transfer(now, agent, &uid, to) {
            tracing::warn!(interaction = %uid, %number, error = %e, "REFER from the agent's phone: the transfer failed after its check");
        }
    }
}

impl Engine {
    /// Refuses call `id`'s pending REFER with `code` and `reason`.
    fn refuse_refer(&mut self, now: Now, id: CallRef, code: StatusCode, reason: &str) {
        self.with_call(now, id, |c, ctx| c.refuse_refer(ctx, code, reason));
    }

    /// The agent whose phone is on `side` of ACD call `id`: only the
    /// primary agent's phone (the answering leg, or the party leg a
    /// transfer or a hand-over made it) may transfer; `Err` is the reason
    /// phrase of the 403 otherwise.
    fn referring_agent(&self, id: CallRef, side: Side) -> Result<crate::acd::AgentId, &'static str> {
        let interaction = interaction_of(id);
        let winner = self.calls.get(&id).and_then(|c| c.winner);
        let primary_side = match self.primary_leg(interaction) {
            crate::call::media::MediaLeg::B => winner.map(Side::B),
            crate::call::media::MediaLeg::Party(i) => Some(Side::B(i)),
            crate::call::media::MediaLeg::A => None,
        };
        if Some(side) != primary_side {
            return Err("Only The Agent's Phone May Transfer");
        }
        self.acd
            .interaction(interaction)
            .and_then(|i| i.agent)
            .ok_or("No Agent On This Call")
    }

    /// The agent's phone REFERs ACD call `id` with Replaces naming its
    /// other call `other`, a plain one (RFC 5589 §7): `keep`, the party it
    /// talks with there, takes the customer as the interaction's transfer
    /// to that number (CALL-XFER-5: the agent wraps up, the record is
    /// kept); the phone gets 202 and `NOTIFY 200` and is hung up in both
    /// calls. Everything is checked before anything moves.
    fn acd_attended_refer(&mut self, now: Now, id: CallRef, side: Side, other: CallRef, keep: Side, number: &str) {
        let agent = match self.referring_agent(id, side) {
            Ok(a) => a,
            Err(reason) => return self.refuse_refer(now, id, StatusCode::FORBIDDEN, reason),
        };
        let uid = self.uid_of(interaction_of(id));
        if let Err(e) = self.check_attended(agent, &uid) {
            tracing::info!(interaction = %uid, %number, error = %e, "attended transfer from the agent's phone refused");
            return self.refuse_refer(now, id, StatusCode::FORBIDDEN, &refer_reason(&e.to_string()));
        }
        let moved = self
            .with_call(now, other, |c, ctx| c.hand_leg_over(ctx, keep))
            .flatten();
        let Some(moved) = moved else {
            return self.refuse_refer(
                now,
                id,
                StatusCode::FORBIDDEN,
                "Replaced Call Cannot Be Transferred Now",
            );
        };
        tracing::info!(interaction = %uid, agent = %self.login_of(agent), %number, "attended transfer from the agent's phone");
        self.with_call(now, id, |c, ctx| c.refer_taken_over(ctx));
        if let Err(e) = self.phone_attended_transfer(now, agent, &uid, number, moved) {
            tracing::warn!(interaction = %uid, %number, error = %e, "attended transfer from the agent's phone failed after its check");
        }
    }

    /// Call `id`'s leg on `side` REFERs it to the far party of the call
    /// whose dialog `rep` names (RFC 5589 §7 attended transfer).
    pub(super) fn on_attended_refer(
        &mut self,
        now: Now,
        id: CallRef,
        side: Side,
        number: &str,
        rep: crate::call::refer::ReplacesId,
    ) {
        let call_id = bytes::Bytes::from(rep.call_id.clone());
        let found = [(&rep.to_tag, &rep.from_tag), (&rep.from_tag, &rep.to_tag)]
            .into_iter()
            .find_map(|(local, remote)| {
                let key = crate::sip::dialog::DialogKey {
                    call_id: call_id.clone(),
                    local_tag: bytes::Bytes::from(local.clone()),
                };
                let (call, s) = *self.links.dialogs.get(&key)?;
                let d = self.calls.get(&call)?.dialog_of(s)?;
                (d.remote_tag.as_ref() == remote.as_bytes()).then_some((call, s))
            });
        let Some((other, other_side)) = found else {
            tracing::info!(call = %id, replaces = %rep.call_id, "attended transfer refused: no such call");
            return self.refuse_refer(now, id, StatusCode::FORBIDDEN, "Replaced Call Not Found");
        };
        if other == id {
            return self.refuse_refer(now, id, StatusCode::FORBIDDEN, "A Call Cannot Replace Itself");
        }
        let acd = |e: &Engine, c: CallRef| e.queues.calls.contains_key(&interaction_of(c));
        if acd(self, other) {
            // The customer's call must carry the REFER (its Replaces names
            // the phone's other call): that is the call that goes on.
            return self.refuse_refer(now, id, StatusCode::FORBIDDEN, "Transfer From The Contact-Center Call");
        }
        // The phone that refers must hold the replaced dialog itself.
        let same_phone = match (
            self.calls.get(&id).and_then(|c| c.side_dest(side)),
            self.calls.get(&other).and_then(|c| c.side_dest(other_side)),
        ) {
            (Some(a), Some(b)) => a.addr == b.addr,
            _ => false,
        };
        if !same_phone {
            tracing::warn!(call = %id, other = %other, "attended transfer refused: the replaced call is another phone's");
            return self.refuse_refer(now, id, StatusCode::FORBIDDEN, "Replaced Call Is Not Yours");
        }
        let keep = match (other_side, self.calls.get(&other).and_then(|c| c.winner)) {
            (Side::A, Some(w)) => Side::B(w),
            (Side::B(_), _) => Side::A,
            _ => return self.refuse_refer(now, id, StatusCode::FORBIDDEN, "Replaced Call Is Not Connected"),
        };
        if acd(self, id) {
            return self.acd_attended_refer(now, id, side, other, keep, number);
        }
        let moved = self
            .with_call(now, other, |c, ctx| c.hand_leg_over(ctx, keep))
            .flatten();
        let Some(moved) = moved else {
            return self.refuse_refer(
                now,
                id,
                StatusCode::FORBIDDEN,
                "Replaced Call Cannot Be Transferred Now",
            );
        };
        tracing::info!(call = %id, other = %other, %number, "attended transfer: the calls are joined");
        self.with_call(now, id, |c, ctx| c.accept_attended_refer(ctx, moved));
    }
}

impl Engine {
    /// RFC 3891: an INVITE with `Replaces` from `caller` (call pickup
    /// style): the named dialog's call takes the new phone in its place.
    /// 481 when no dialog matches (or it is over), 486 for `early-only`
    /// on a connected call, 403 for trunks and contact-center calls (those
    /// are transferred from the desktop), 400 for a malformed header.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn invite_replaces(
        &mut self,
        now: Now,
        tx: crate::sip::transaction::TxId,
        req: &crate::sip::msg::Message,
        src: crate::sip::transaction::Destination,
        tag: &str,
        caller: &str,
        raw: &bytes::Bytes,
    ) {
        let reject = |e: &mut Engine, code: StatusCode, reason: &str| {
            let resp = crate::sip::msg::Message::response_to(req, code, Some(reason), Some(tag));
            e.respond(now, tx, resp);
        };
        if caller.starts_with("trunk:") {
            return reject(self, StatusCode::FORBIDDEN, "Trunks Cannot Replace Calls");
        }
        let Some(rep) = crate::call::refer::ReplacesId::parse(&String::from_utf8_lossy(raw)) else {
            return reject(self, StatusCode::BAD_REQUEST, "Malformed Replaces");
        };
        // §3: the to-tag is our tag in that dialog, the from-tag its peer's.
        let key = crate::sip::dialog::DialogKey {
            call_id: bytes::Bytes::from(rep.call_id.clone()),
            local_tag: bytes::Bytes::from(rep.to_tag.clone()),
        };
        let found = self.links.dialogs.get(&key).copied().filter(|(call, side)| {
            self.calls
                .get(call)
                .and_then(|c| c.dialog_of(*side))
                .is_some_and(|d| d.remote_tag.as_ref() == rep.from_tag.as_bytes())
        });
        let Some((call, side)) = found else {
            if self.links.ended.contains(&key) {
                tracing::info!(%caller, replaces = %rep.call_id, "INVITE with Replaces: that call has ended");
                return reject(self, StatusCode::DECLINE, "Replaced Call Has Ended");
            }
            tracing::info!(%caller, replaces = %rep.call_id, "INVITE with Replaces: no such dialog");
            return reject(self, StatusCode::CALL_DOES_NOT_EXIST, "Replaced Dialog Not Found");
        };
        if rep.early_only {
            return reject(self, StatusCode::BUSY_HERE, "Replaced Call Already Answered");
        }
        if self.queues.calls.contains_key(&interaction_of(call)) || self.rooms.has(call) {
            return reject(
                self,
                StatusCode::FORBIDDEN,
                "Use The Desktop To Transfer Contact-Center Calls",
            );
        }
        let adopted = self
            .with_call(now, call, |c, ctx| c.adopt_invite(ctx, tx, req, src, side))
            .unwrap_or(Err((StatusCode::CALL_DOES_NOT_EXIST, "Replaced Call Not Found")));
        match adopted {
            Ok(_) => tracing::info!(%caller, call = %call, "INVITE with Replaces: the phone took over the call"),
            Err((code, reason)) => reject(self, code, reason),
        }
    }
}

/// A SIP reason phrase from a desktop refusal (one line, no rule tag).
fn refer_reason(message: &str) -> String {
    let first = message.split(':').next().unwrap_or(message);
    let cleaned: String = first
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == ' ' || *c == '-')
        .collect();
    let trimmed = cleaned.trim();
    if trimmed.is_empty() {
        "Transfer Not Allowed".into()
    } else {
        trimmed.to_owned()
    }
}
