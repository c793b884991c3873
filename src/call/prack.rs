//! Reliable provisional responses (RFC 3262, option tag `100rel`),
//! terminated by the switch on each leg, as a B2BUA does: each hop is
//! reliable on its own, so a carrier that requires 100rel reaches a phone
//! that does not support it, and the other way round.
//!
//! - **Towards the caller** (the switch is the UAS): when the caller's
//!   INVITE says `Supported: 100rel` or `Require: 100rel`, every
//!   provisional response but 100 goes out reliably (§3): `Require:
//!   100rel`, an `RSeq` (random start, +1 each), the early dialog opened
//!   for the PRACK, and retransmitted from T1, doubling, until a PRACK
//!   with the matching `RAck` arrives (answered 200; one that matches
//!   nothing gets 481). One at a time: a provisional response that comes
//!   while another is unacknowledged waits for its PRACK. Unacknowledged
//!   for 64·T1, the INVITE is refused with 500 (§3's "SHOULD reject with
//!   a 5xx") and the call ends (`prack_timeout`). The final response
//!   stops the retransmissions.
//! - **Towards callees** (the switch is the UAC): our INVITEs say
//!   `Supported: 100rel`; a reliable provisional response (`Require:
//!   100rel` with `RSeq`) is PRACKed in its early dialog (§4) with `RAck:
//!   <rseq> <cseq> INVITE`; a retransmission of one already PRACKed (its
//!   RSeq not above the last) is dropped, not relayed twice.
//! - **Both sides support it**: the acknowledgement goes end to end. The
//!   callee's reliable provisional response reaches the caller reliably
//!   (with the switch's RSeq) and the switch PRACKs the callee only when
//!   the caller's PRACK for it arrives; so the callee knows the caller
//!   heard it. Only one side supporting it: the switch terminates it.
//!
//! SDP in PRACK (offers in reliable provisional responses) is not used:
//! the switch puts only answers in its provisional responses.

use super::{Call, CallCtx, CallTimer, Phase, Side, TxOwner};
use crate::sip::dialog::{Dialog, DialogState};
use crate::sip::msg::{HeaderName, Message, Method, StatusCode};
use crate::sip::transaction::TxId;
use bytes::Bytes;
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Most provisional responses kept waiting for a PRACK.
const MAX_QUEUED: usize = 4;

/// The caller's side of RFC 3262.
#[derive(Clone, Debug, Default)]
pub struct Reliable1xx {
    /// The RSeq of the last reliable provisional response sent.
    pub rseq: u32,
    /// The reliable provisional response not PRACKed yet: the response,
    /// the current retransmission interval and when it was first sent.
    pub unacked: Option<Box<(Message, Duration, Instant)>>,
    /// The callee's reliable provisional response the unacknowledged one
    /// carries (its leg and RSeq), PRACKed when the caller PRACKs ours.
    pub unacked_owes: Option<(usize, u32)>,
    /// Provisional responses waiting for the unacknowledged one's PRACK,
    /// with the callee PRACK each owes.
    pub queued: VecDeque<(Message, Option<(usize, u32)>)>,
}

/// Whether `m` lists `100rel` in its `header`.
fn lists_100rel(m: &Message, header: &HeaderName) -> bool {
    m.headers.get_all(header).any(|v| {
        String::from_utf8_lossy(v)
            .split(',')
            .any(|t| t.trim().eq_ignore_ascii_case("100rel"))
    })
}

impl Call {
    /// Whether the caller's INVITE supports or requires 100rel.
    fn caller_100rel(&self) -> bool {
        self.a
            .invite
            .as_deref()
            .is_some_and(|i| lists_100rel(i, &HeaderName::Supported) || lists_100rel(i, &HeaderName::Require))
    }

    /// Sends the caller a provisional response: reliably when it supports
    /// 100rel (queued behind an unacknowledged one), else as is.
    pub(crate) fn send_provisional(&mut self, ctx: &mut CallCtx, resp: Message) {
        self.send_provisional_owing(ctx, resp, None);
    }

    /// [`Self::send_provisional`] for the callee's reliable provisional
    /// response `owes` (leg, RSeq): PRACKed when the caller PRACKs ours, or
    /// at once when ours is not reliable.
    pub(crate) fn send_provisional_owing(&mut self, ctx: &mut CallCtx, resp: Message, owes: Option<(usize, u32)>) {
        if self.phase != Phase::Routing {
            return;
        }
        if resp.status() == Some(StatusCode::TRYING) || !self.caller_100rel() {
            ctx.respond(self.a.tx, resp);
            if let Some((idx, rseq)) = owes {
                self.send_prack(ctx, idx, rseq);
            }
            return;
        }
        let rel = self.rel1xx.get_or_insert_with(|| {
            Box::new(Reliable1xx {
                // §3: a random start between 1 and 2^31 - 1.
                rseq: (ctx.ids.number() % (1 << 30)) as u32 + 1,
                ..Reliable1xx::default()
            })
        });
        if rel.unacked.is_some() {
            if rel.queued.len() < MAX_QUEUED {
                rel.queued.push_back((resp, owes));
            } else if let Some((idx, rseq)) = owes {
                // Nothing more can wait: the callee is acknowledged now.
                self.send_prack(ctx, idx, rseq);
            }
            return;
        }
        self.send_reliable(ctx, resp, owes);
    }

    /// The caller's early dialog (§12.1.1: our provisional responses
    /// carry our To tag), made once and linked so requests in it reach the
    /// call: a PRACK, or an entry point caller's INFO keys.
    pub(crate) fn open_early_dialog(&mut self, ctx: &mut CallCtx) {
        if self.a.dialog.is_some() {
            return;
        }
        if let Some(Ok(d)) = self
            .a
            .invite
            .as_deref()
            .map(|inv| Dialog::uas(inv, self.a.tag.clone(), DialogState::Early))
        {
            ctx.links.dialogs.insert(d.key.clone(), (self.id, Side::A));
            self.a.dialog = Some(d);
        }
    }

    fn send_reliable(&mut self, ctx: &mut CallCtx, mut resp: Message, owes: Option<(usize, u32)>) {
        let id = self.id;
        // The PRACK comes in the early dialog (§12.1.1).
        self.open_early_dialog(ctx);
        let Some(rel) = self.rel1xx.as_deref_mut() else { return };
        rel.rseq = rel.rseq.wrapping_add(1);
        rel.unacked_owes = owes;
        resp.headers.set(HeaderName::Require, "100rel");
        resp.headers.set(HeaderName::RSeq, rel.rseq.to_string());
        let t1 = ctx.txl.config().t1;
        rel.unacked = Some(Box::new((resp.clone(), t1, ctx.now.mono)));
        ctx.respond(self.a.tx, resp);
        ctx.set_timer(id, CallTimer::Retransmit1xx, ctx.now.mono + t1);
    }

    /// §3: the unacknowledged reliable provisional response again (T1,
    /// doubling); after 64·T1 the caller is refused with 500.
    pub(crate) fn retransmit_1xx(&mut self, ctx: &mut CallCtx) {
        let id = self.id;
        if self.phase != Phase::Routing {
            return;
        }
        let t1 = ctx.txl.config().t1;
        let Some(rel) = self.rel1xx.as_deref_mut() else { return };
        let Some((resp, interval, since)) = rel.unacked.as_deref().cloned() else {
            return;
        };
        if ctx.now.mono.duration_since(since) >= t1 * 64 {
            rel.unacked = None;
            tracing::info!(call = %id, "no PRACK for a reliable provisional response: refusing the caller");
            self.fail(
                ctx,
                StatusCode::SERVER_INTERNAL_ERROR,
                "Provisional Response Not Acknowledged",
                "prack_timeout",
            );
            return;
        }
        let next = interval * 2;
        rel.unacked = Some(Box::new((resp.clone(), next, since)));
        ctx.respond(self.a.tx, resp);
        // Doubling, but the give-up comes at 64·T1 exactly.
        let at = (ctx.now.mono + next).min(since + t1 * 64);
        ctx.set_timer(id, CallTimer::Retransmit1xx, at);
    }

    /// A PRACK in the dialog on `side` (RFC 3262 §3): it acknowledges the
    /// caller's unacknowledged reliable provisional response, or gets 481.
    pub(crate) fn on_prack(&mut self, ctx: &mut CallCtx, tx: TxId, side: Side, req: &Message, tag: &str) {
        let id = self.id;
        let invite_cseq = self
            .a
            .invite
            .as_deref()
            .and_then(|i| i.envelope().ok())
            .map(|e| e.cseq.seq);
        let rack = req
            .headers
            .get(&HeaderName::RAck)
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .unwrap_or_default();
        let mut parts = rack.split_whitespace();
        let (rseq, cseq, method) = (
            parts.next().and_then(|s| s.parse::<u32>().ok()),
            parts.next().and_then(|s| s.parse::<u32>().ok()),
            parts.next().unwrap_or_default(),
        );
        let matches = side == Side::A
            && method.eq_ignore_ascii_case("INVITE")
            && cseq.is_some()
            && cseq == invite_cseq
            && self
                .rel1xx
                .as_deref()
                .is_some_and(|r| r.unacked.is_some() && Some(r.rseq) == rseq);
        if !matches {
            let resp = Message::response_to(
                req,
                StatusCode::CALL_DOES_NOT_EXIST,
                Some("No Such Provisional Response"),
                Some(tag),
            );
            ctx.respond(tx, resp);
            return;
        }
        let resp = Message::response_to(req, StatusCode::OK, None, Some(tag));
        ctx.respond(tx, resp);
        ctx.cancel_timer(id, CallTimer::Retransmit1xx);
        let (owed, next) = match self.rel1xx.as_deref_mut() {
            Some(r) => {
                r.unacked = None;
                (r.unacked_owes.take(), r.queued.pop_front())
            }
            None => (None, None),
        };
        // End to end: the callee's reliable provisional response is
        // acknowledged now that the caller acknowledged it.
        if let Some((idx, rseq)) = owed {
            self.send_prack(ctx, idx, rseq);
        }
        if let Some((next, owes)) = next {
            if self.phase == Phase::Routing {
                self.send_reliable(ctx, next, owes);
            }
        }
    }

    /// §4: a callee leg's reliable provisional response. `None` for a
    /// retransmission of one already seen (not to be relayed again);
    /// `Some(owes)` otherwise: `owes` is `(leg, RSeq)` when its PRACK waits
    /// for the caller's (both sides support 100rel and it reaches the
    /// caller), else it was PRACKed at once.
    pub(crate) fn prack_b(&mut self, ctx: &mut CallCtx, idx: usize, resp: &Message) -> Option<Option<(usize, u32)>> {
        if !lists_100rel(resp, &HeaderName::Require) {
            return Some(None);
        }
        let Some(rseq) = resp
            .headers
            .get(&HeaderName::RSeq)
            .and_then(|v| String::from_utf8_lossy(v).trim().parse::<u32>().ok())
        else {
            return Some(None);
        };
        let leg = self.b.get_mut(idx)?;
        if leg.rseq.is_some_and(|last| rseq <= last) {
            return None;
        }
        leg.rseq = Some(rseq);
        if self.caller_100rel() && !self.acd && self.phase == Phase::Routing {
            return Some(Some((idx, rseq)));
        }
        self.send_prack(ctx, idx, rseq);
        Some(None)
    }

    /// PRACKs callee leg `idx`'s reliable provisional response `rseq`.
    fn send_prack(&mut self, ctx: &mut CallCtx, idx: usize, rseq: u32) {
        let Some(leg) = self.b.get(idx) else { return };
        let rack = Bytes::from(format!("{rseq} {} INVITE", leg.cseq));
        if self
            .send_in_dialog(
                ctx,
                Side::B(idx),
                Method::PRACK,
                Bytes::new(),
                vec![(HeaderName::RAck, rack)],
                TxOwner::Detached,
            )
            .is_none()
        {
            tracing::debug!(call = %self.id, leg = idx, "PRACK not sent (no early dialog)");
        }
    }
}
