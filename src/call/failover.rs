//! Trunk failover for one call (issue 10 item 5): a dial-plan `trunks =
//! [..]` list becomes an ordered list of [`RingTarget`]s; the call rings
//! the first and, when it fails in a way that says "this carrier cannot
//! take the call now", the next one, sequentially (unlike the parallel
//! forks of a user's contacts).
//!
//! Rules:
//! - Failover on a 5xx (RFC 3261 §21.5: the server failed, another may
//!   not), on 408 (an explicit 408, or Timer B firing, §17.1.1.2, or a
//!   transport error taken as 503, §8.1.3.1), and on silence: an INVITE
//!   with no response at all, not even 100 Trying, after the trunk's
//!   `failover_timeout_ms` (RFC 3261 expects a 100 within 200 ms, §17.2.1;
//!   Timer B's 32 s would come after the ring timeout).
//! - No failover on other 4xx or 6xx (the called party's answer: 404, 486,
//!   603 go back to the caller, as does a 3xx).
//! - The caller sees no failed attempt: only the final answer, or the best
//!   failure over every attempt ([`super::failure_rank`]).
//! - A leg given up for silence is CANCELled (the transaction holds the
//!   CANCEL until a provisional response, §9.1); should it answer 2xx
//!   anyway, the 2xx is ACKed and the leg hung up, as a late fork's.
//! - The call's route (and so its CDR's) names the trunk tried last: the
//!   one that carried the call when it was answered.

use super::{BState, Call, CallCtx, CallTimer, Phase, RingOptions, RingTarget};
use crate::sip::msg::StatusCode;
use std::collections::VecDeque;

/// A call's trunks still to try, and what it needs to try them.
#[derive(Clone, Debug)]
pub struct Failover {
    /// Targets not tried yet, in order.
    pub next: VecDeque<RingTarget>,
    /// How their INVITEs are built (the first leg's options).
    pub opts: RingOptions,
    /// The leg ringing now.
    pub current: Option<usize>,
    /// True once the current leg got any response (a 100 Trying counts).
    pub heard: bool,
    /// Legs given up for silence (CANCEL pending; a 2xx is refused).
    pub abandoned: Vec<usize>,
}

/// True when a final `code` from a trunk sends the call to the next trunk:
/// 5xx and 408, never another 4xx, a 6xx or a 3xx.
pub fn fails_over(code: StatusCode) -> bool {
    let c = code.as_u16();
    (500..600).contains(&c) || c == 408
}

impl Call {
    /// Rings the first of `targets` (ordered trunks) and keeps the others
    /// for failover; the placed leg's index in a vector (empty when no
    /// INVITE could be sent to any of them).
    pub fn ring_failover(&mut self, ctx: &mut CallCtx, targets: Vec<RingTarget>, opts: &RingOptions) -> Vec<usize> {
        self.failover = Some(Box::new(Failover {
            next: targets.into(),
            opts: opts.clone(),
            current: None,
            heard: false,
            abandoned: Vec::new(),
        }));
        self.ring_next_trunk(ctx).into_iter().collect()
    }

    /// Places a leg to the next target that can be sent to; its index.
    fn ring_next_trunk(&mut self, ctx: &mut CallCtx) -> Option<usize> {
        loop {
            let f = self.failover.as_mut()?;
            let target = f.next.pop_front()?;
            let opts = f.opts.clone();
            let more = !f.next.is_empty();
            let trunk = target.trunk.clone();
            let Some(idx) = self.ring(ctx, vec![target], &opts).first().copied() else {
                continue;
            };
            if let Some(f) = self.failover.as_mut() {
                f.current = Some(idx);
                f.heard = false;
            }
            if let Some(name) = trunk {
                self.route = format!("trunk:{name}");
                if more {
                    let wait = ctx
                        .cfg
                        .trunk(&name)
                        .map_or(crate::config::Trunk::DEFAULT_FAILOVER_TIMEOUT, |t| t.failover_timeout);
                    ctx.set_timer(self.id, CallTimer::TrunkSilent(idx), ctx.now.mono + wait);
                }
            }
            return Some(idx);
        }
    }

    /// Leg `idx` got a response; true when it is a leg given up for
    /// silence, whose responses are not the caller's business (a 2xx is
    /// still refused by the caller of this).
    pub(crate) fn failover_heard(&mut self, ctx: &mut CallCtx, idx: usize) -> bool {
        let id = self.id;
        let Some(f) = self.failover.as_mut() else { return false };
        if f.abandoned.contains(&idx) {
            return true;
        }
        if f.current == Some(idx) && !f.heard {
            f.heard = true;
            ctx.cancel_timer(id, CallTimer::TrunkSilent(idx));
        }
        false
    }

    /// True when leg `idx` was given up for silence.
    pub(crate) fn is_abandoned(&self, idx: usize) -> bool {
        self.failover.as_ref().is_some_and(|f| f.abandoned.contains(&idx))
    }

    /// Leg `idx` failed with `code`: rings the next trunk when the rule
    /// allows (true: the caller is not answered yet).
    pub(crate) fn try_failover(&mut self, ctx: &mut CallCtx, idx: usize, code: StatusCode) -> bool {
        if self.acd || self.phase != Phase::Routing || self.winner.is_some() || !fails_over(code) {
            return false;
        }
        let Some(f) = self.failover.as_ref() else { return false };
        if f.current != Some(idx) || f.next.is_empty() {
            return false;
        }
        ctx.cancel_timer(self.id, CallTimer::TrunkSilent(idx));
        let from = self.b.get(idx).and_then(|l| l.trunk.clone()).unwrap_or_default();
        match self.ring_next_trunk(ctx) {
            Some(next) => {
                let to = self.b.get(next).and_then(|l| l.trunk.clone()).unwrap_or_default();
                tracing::info!(call = %self.id, code = code.as_u16(), "trunk {from} failed ({}): failing over to trunk {to}", code.as_u16());
                true
            }
            None => false,
        }
    }

    /// The current trunk leg `idx` had no response within its trunk's
    /// `failover_timeout_ms`: give it up (CANCEL held until a provisional,
    /// §9.1) and fail over as on a 408.
    pub(crate) fn on_trunk_silent(&mut self, ctx: &mut CallCtx, idx: usize) {
        let silent = self.phase == Phase::Routing
            && self
                .failover
                .as_ref()
                .is_some_and(|f| f.current == Some(idx) && !f.heard && !f.next.is_empty());
        let Some(leg) = self.b.get(idx).filter(|l| silent && l.state == BState::Calling) else {
            return;
        };
        let tx = leg.tx;
        tracing::info!(call = %self.id, trunk = leg.trunk.as_deref().unwrap_or(""), "no response from the trunk to the INVITE: giving it up");
        ctx.cancel(tx);
        if let Some(f) = self.failover.as_mut() {
            f.abandoned.push(idx);
        }
        self.b_leg_failed(ctx, idx, StatusCode::REQUEST_TIMEOUT, None);
    }
}
