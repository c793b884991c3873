//! The end of a call: CANCEL to legs still ringing, BYE to answered ones
//! (both sides, §15), the recording completed, the monitor removed
//! (SUP-4), the engine told ([`CallEvent::Ended`], before the CDR so the
//! ACD's records come first), the call-detail record, and the reap timer:
//! an ended call lingers 64·T1 for stragglers (a late 2xx to ACK and hang
//! up, a relayed request's answer) unless nothing is pending.

use super::{BState, Call, CallCtx, CallEvent, CallOutput, CallTimer, Phase, Side};
use crate::records::CdrRecord;
use crate::sip::msg::StatusCode;

impl Call {
    /// Ends the call (`cause` goes to the CDR).
    pub fn end(&mut self, ctx: &mut CallCtx, cause: &str) {
        if self.phase == Phase::Ended {
            return;
        }
        let id = self.id;
        let was_answered = self.phase == Phase::Answered;
        self.phase = Phase::Ended;
        self.end_cause = Some(cause.to_string());
        ctx.cancel_timer(id, CallTimer::NoAnswer);
        ctx.cancel_timer(id, CallTimer::Retransmit2xx);
        ctx.cancel_timer(id, CallTimer::PinEntry);
        self.session_timers_off(ctx);
        let ringing: Vec<usize> = (0..self.b.len())
            .filter(|i| self.b[*i].is_callee() && self.b[*i].is_ringing())
            .collect();
        self.cancel_legs(ctx, &ringing);
        self.end_callback(ctx);
        if was_answered {
            // BYE every dialog still up (a BYE or the lost-ACK path has
            // already sent its BYEs and forgotten those dialogs).
            if let Some(w) = self.winner {
                self.bye_leg(ctx, Side::B(w));
            }
            self.bye_leg(ctx, Side::A);
        }
        if !was_answered && cause == "shutdown" {
            if let Some(resp) = self.a_final(StatusCode::SERVICE_UNAVAILABLE, Some("Shutting Down")) {
                ctx.respond(self.a.tx, resp);
            }
        }
        self.finish_recording(ctx);
        self.end_parties(ctx);
        ctx.event(
            id,
            CallEvent::Ended {
                cause: cause.to_owned(),
            },
        );
        ctx.out.push_back(CallOutput::Cdr(self.cdr(ctx.now.unix_ms)));
        let t1 = ctx.txl.config().t1;
        ctx.set_timer(id, CallTimer::Reap, ctx.now.mono + t1 * 64);
    }

    /// True when the call has ended and nothing is pending on it: no relay
    /// in flight, no placed leg with a dialog still up, no monitor waiting
    /// for its CANCELled INVITE's answer.
    pub fn reapable(&self) -> bool {
        self.phase == Phase::Ended
            && self.relays.is_empty()
            && self.b.iter().all(|l| match l.party() {
                Some(p) => !p.pending(),
                None => matches!(l.state, BState::Failed(_)) || l.dialog.is_none(),
            })
    }

    /// Frees what the call holds outside itself (ports, media, timers,
    /// routing entries) when the engine forgets it.
    pub fn release(&mut self, ctx: &mut CallCtx) {
        let id = self.id;
        self.release_media(ctx);
        self.session_timers_off(ctx);
        for t in [
            CallTimer::Reap,
            CallTimer::NoAnswer,
            CallTimer::Retransmit2xx,
            CallTimer::PauseEnd,
            CallTimer::PinEntry,
        ] {
            ctx.cancel_timer(id, t);
        }
        if let Some(d) = &self.a.dialog {
            ctx.links.dialogs.remove(&d.key);
        }
        ctx.links.txs.remove(&self.a.tx);
        for i in 0..self.b.len() {
            if let Some(p) = self.b[i].party().filter(|p| p.pending()) {
                ctx.release_port(p.port);
            }
            let l = &self.b[i];
            if let Some(d) = &l.dialog {
                ctx.links.dialogs.remove(&d.key);
            }
            ctx.links.txs.remove(&l.tx);
        }
        for (tx, _) in &self.relays {
            ctx.links.txs.remove(tx);
        }
    }

    /// The call-detail record at `end_ms`.
    pub fn cdr(&self, end_ms: u64) -> CdrRecord {
        CdrRecord {
            call_id: String::from_utf8_lossy(&self.a.call_id).into_owned(),
            a_leg: self.id.to_string(),
            b_leg: self.b_call_id(),
            caller: self.caller.clone(),
            callee: self.callee.clone(),
            route: self.route.clone(),
            start_ms: self.started_ms,
            answer_ms: self.answered_ms,
            end_ms,
            end_cause: self.end_cause.clone().unwrap_or_default(),
            sip_code: self.final_code,
            recordings: self.media.as_ref().map(|m| m.recordings.clone()).unwrap_or_default(),
        }
    }
}
