//! Session timers (RFC 4028) for the B2BUA, one per leg: the switch is the
//! UAS of the caller's dialog and the UAC of the callee's, and negotiates
//! each leg's interval and refresher on its own, so a crashed phone or a
//! lost trunk cannot hold an agent and a channel forever.
//!
//! - The caller's INVITE: a Session-Expires below our Min-SE gets 422 with
//!   our Min-SE (§6, §8.1: [`screen_invite`], called by the engine). In our
//!   2xx the interval is the caller's, never more than ours and never below
//!   its Min-SE (§9); the refresher is the caller's choice, else the caller
//!   when it supports `timer`, else us (`refresher=uas`); `Require: timer`
//!   when it supports it (§9).
//! - Our INVITEs to callees carry `Supported: timer`, Session-Expires and
//!   Min-SE (§7.1, [`offer_headers`]); a callee's 422 is retried once with
//!   its Min-SE (§7.3: same Call-ID and tags, CSeq + 1); its 2xx names the
//!   interval and refresher, and one without Session-Expires leaves us the
//!   refresher (§7.2).
//! - The refresher refreshes at half the interval (§10): UPDATE without a
//!   body when the peer allows UPDATE, else a re-INVITE — on an anchored
//!   leg with the switch's last description unchanged (same `o=` version,
//!   RFC 3264 §8). A 2xx restarts the leg's timer; a 422 retries with the
//!   larger interval (§10); a 491 retries after the RFC 3261 §14.1 back-off
//!   (2.1–4 s when we own the dialog's Call-ID, i.e. placed the leg; 0–2 s
//!   on the caller's leg), drawn from the call's seeded generator; a 408 or
//!   481 ends the call (§10). A pass-through call (media not anchored)
//!   refreshes only with UPDATE: the switch holds no SDP of its own to
//!   re-offer, so a leg whose peer does not allow UPDATE runs no timer of
//!   ours (the caller is asked to refresh when it can).
//! - When the peer refreshes, nothing must be done but wait: with no
//!   refresh by the expiry minus min(32 s, interval/3) (§10), or with our
//!   own refreshes failing until the full interval, the call ends: BYE on
//!   both legs, CDR end cause `session_timeout`.
//! - A re-INVITE or UPDATE from the peer refreshes its leg (and may change
//!   interval and refresher, §9); on a pass-through call the relayed request
//!   and its 2xx refresh both legs as they pass. An INVITE arriving while
//!   our refresh re-INVITE is in flight on that leg gets 491 (RFC 3261
//!   §14.2).
//!
//! - Party legs (a consulted agent, a transfer's target, a supervisor, a
//!   phone moved in by an attended transfer or by INVITE with Replaces)
//!   run a timer of their own, negotiated like a callee's (§7) or, for a
//!   phone the switch answered, like the caller's (§9), refreshed from the
//!   party's own port and SDP. When a party's session expires only that
//!   party is hung up (its leg CDR says `session_timeout`) and the call
//!   goes on as when the party hangs up; if nobody is left to talk with,
//!   the call's CDR says `session_timeout` too.
//!
//! In every refresh the `refresher` parameter names a role in *that*
//! transaction (`uac` = the request's sender); in the initial INVITE the
//! caller is the UAC of the caller's leg and the switch the UAC of the
//! callee's. All timers are [`CallTimer`]s: tested in virtual time.

use super::{Call, CallCtx, CallTimer, Phase, Side, TxOwner};
use crate::config::SessionTimerSettings;
use crate::sip::msg::typed::{MinSe, RefresherParam, SessionExpires, TypedHeader};
use crate::sip::msg::{split_list, HeaderName, Message, Method, StatusCode};
use crate::sip::transaction::TxId;
use bytes::Bytes;
use std::time::Duration;

mod refresh;

/// Who refreshes one leg's session (RFC 4028 §7.2, §9).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refresher {
    /// The switch sends the refreshes.
    Switch,
    /// The phone or trunk on that leg does.
    Peer,
}

/// Which request carries a refresh (RFC 4028 §10).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefreshMethod {
    /// re-INVITE (with the switch's unchanged SDP when anchored).
    Invite,
    /// UPDATE without a body (RFC 3311).
    Update,
}

/// Our refresh on one leg.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefreshState {
    /// None in flight.
    Idle,
    /// Sent, waiting for its final response.
    Sent {
        /// Its client transaction.
        tx: TxId,
        /// Its CSeq (the ACK of a re-INVITE's 2xx reuses it).
        seq: u32,
        /// re-INVITE or UPDATE.
        method: RefreshMethod,
    },
}

/// One leg's negotiated session timer (RFC 4028 §7.2, §9).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LegTimer {
    /// The leg.
    pub side: Side,
    /// The session interval in force (seconds).
    pub interval_s: u32,
    /// Who refreshes.
    pub refresher: Refresher,
    /// The Min-SE in force on the leg: ours, or a larger one the peer asked (§5).
    pub min_se_s: u32,
    /// The peer supports `timer` (our 2xx to its refreshes then carry `Require: timer`).
    pub peer_timer: bool,
    /// The peer allows UPDATE (refresh without an offer, RFC 3311).
    pub peer_update: bool,
    /// Our refresh in flight.
    pub refresh: RefreshState,
    /// Our last refresh re-INVITE answered 2xx, with its CSeq: a
    /// retransmission of that 2xx is ACKed again (RFC 3261 §13.2.2.4).
    pub answered_invite: Option<(TxId, u32)>,
}

/// A call's session timers: the legs that run one, and the placed legs
/// already retried after a 422.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SessionTimers {
    /// Legs with a running session timer.
    pub legs: Vec<LegTimer>,
    /// Placed legs whose INVITE was already retried after a 422 (§7.3: once).
    pub retried_422: Vec<usize>,
}

/// Why a caller's INVITE is refused by the session-timer rules (RFC 4028 §8.1).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SessionTimerError {
    /// Session-Expires below our Min-SE: 422 with our Min-SE (§6).
    #[error("Session-Expires {asked} s is below the switch's Min-SE {min_se} s")]
    TooSmall {
        /// What the caller asked.
        asked: u32,
        /// Our Min-SE.
        min_se: u32,
    },
    /// A Session-Expires or Min-SE that does not parse: 400.
    #[error("malformed {0} header")]
    Malformed(&'static str),
}

impl SessionTimerError {
    /// The response refusing `req` (422 with Min-SE, RFC 4028 §6; or 400).
    pub fn response(&self, req: &Message, to_tag: Option<&str>) -> Message {
        match self {
            SessionTimerError::TooSmall { min_se, .. } => {
                let mut resp = Message::response_to(req, StatusCode::SESSION_INTERVAL_TOO_SMALL, None, to_tag);
                resp.headers.push(HeaderName::MinSe, min_se.to_string());
                resp
            }
            SessionTimerError::Malformed(h) => {
                Message::response_to(req, StatusCode::BAD_REQUEST, Some(&format!("Malformed {h}")), to_tag)
            }
        }
    }
}

/// The session-timer check of a caller's initial INVITE (RFC 4028 §8.1):
/// a Session-Expires below our Min-SE is refused with 422 (RFC 4028 §6).
/// Session timers off (`settings` `None`): nothing is checked.
pub fn screen_invite(req: &Message, settings: Option<&SessionTimerSettings>) -> Result<(), SessionTimerError> {
    let Some(st) = settings else { return Ok(()) };
    let se = session_expires(req).map_err(|()| SessionTimerError::Malformed("Session-Expires"))?;
    min_se(req).map_err(|()| SessionTimerError::Malformed("Min-SE"))?;
    match se {
        Some(se) if se.seconds < st.min_se_s => Err(SessionTimerError::TooSmall {
            asked: se.seconds,
            min_se: st.min_se_s,
        }),
        _ => Ok(()),
    }
}

/// Adds `Supported: timer`, Session-Expires and Min-SE to an INVITE the
/// switch sends a callee (RFC 4028 §7.1); nothing when timers are off.
pub(crate) fn offer_headers(ctx: &CallCtx, invite: &mut Message) {
    let Some(st) = ctx.cfg.sip().session_timers else { return };
    // One Supported line: the tags already there (100rel, replaces) and timer.
    let supported = match invite.headers.get(&HeaderName::Supported) {
        Some(v) => format!("{}, timer", String::from_utf8_lossy(v)),
        None => "timer".to_owned(),
    };
    invite.headers.set(HeaderName::Supported, supported);
    invite
        .headers
        .push(HeaderName::SessionExpires, st.session_expires_s.to_string());
    invite.headers.push(HeaderName::MinSe, st.min_se_s.to_string());
}

/// The request's Session-Expires: `Ok(None)` when absent, `Err` when malformed.
fn session_expires(m: &Message) -> Result<Option<SessionExpires>, ()> {
    match m.headers.get(&HeaderName::SessionExpires) {
        None => Ok(None),
        Some(v) => SessionExpires::parse(v).map(Some).map_err(|_| ()),
    }
}

/// The request's Min-SE: `Ok(None)` when absent, `Err` when malformed.
fn min_se(m: &Message) -> Result<Option<u32>, ()> {
    match m.headers.get(&HeaderName::MinSe) {
        None => Ok(None),
        Some(v) => MinSe::parse(v).map(|s| Some(s.0)).map_err(|_| ()),
    }
}

/// True when a token list header `name` of `m` holds `token` (any case).
fn lists(m: &Message, name: &HeaderName, token: &[u8]) -> bool {
    m.headers
        .get_all(name)
        .any(|v| split_list(v).iter().any(|t| t.trim_ascii().eq_ignore_ascii_case(token)))
}

/// The peer supports `timer`: it says so in Supported or Require (§7.1, §9).
fn supports_timer(m: &Message) -> bool {
    lists(m, &HeaderName::Supported, b"timer") || lists(m, &HeaderName::Require, b"timer")
}

/// The peer allows UPDATE (its Allow, RFC 3311 §5.1).
fn allows_update(m: &Message) -> bool {
    lists(m, &HeaderName::Allow, b"UPDATE")
}

/// The 491 back-off of RFC 3261 §14.1: 2.1–4 s when we own the dialog's
/// Call-ID, else 0–2 s, in units of 10 ms, from the call's seeded generator.
fn glare_backoff(ctx: &mut CallCtx, own_call_id: bool) -> Duration {
    let n = ctx.ids.number();
    if own_call_id {
        Duration::from_millis(2100 + (n % 191) * 10)
    } else {
        Duration::from_millis((n % 201) * 10)
    }
}

/// The timer of a leg whose initial INVITE `inv` the switch answers
/// (RFC 4028 §9): the peer's interval, never more than ours and never
/// below either Min-SE; the refresher is the peer's choice, else the peer
/// when it supports `timer`, else the switch.
fn uas_leg_timer(st: &SessionTimerSettings, side: Side, inv: &Message) -> LegTimer {
    let se = session_expires(inv).ok().flatten();
    let their_min = min_se(inv).ok().flatten().unwrap_or(0);
    let peer_timer = supports_timer(inv);
    let interval_s = se
        .as_ref()
        .map_or(st.session_expires_s, |s| s.seconds.min(st.session_expires_s))
        .max(their_min)
        .max(st.min_se_s);
    let refresher = match (peer_timer, se.as_ref().and_then(SessionExpires::refresher)) {
        (true, Some(RefresherParam::Uas)) | (false, _) => Refresher::Switch,
        (true, _) => Refresher::Peer,
    };
    LegTimer {
        side,
        interval_s,
        refresher,
        min_se_s: st.min_se_s.max(their_min),
        peer_timer,
        peer_update: allows_update(inv),
        refresh: RefreshState::Idle,
        answered_invite: None,
    }
}

/// The timer of a leg the switch placed or re-INVITEd with `ours` (its
/// Session-Expires and Min-SE; `None`: the configured ones, as
/// [`offer_headers`] sent them), answered 2xx with `resp` (RFC 4028 §7.2):
/// the 2xx names interval and refresher; without Session-Expires the
/// switch refreshes.
fn uac_leg_timer(st: &SessionTimerSettings, side: Side, ours: Option<&Message>, resp: &Message) -> LegTimer {
    let asked = ours
        .and_then(|i| session_expires(i).ok().flatten())
        .map_or(st.session_expires_s, |s| s.seconds);
    let asked_min = ours.and_then(|i| min_se(i).ok().flatten()).unwrap_or(st.min_se_s);
    let mut timer = LegTimer {
        side,
        interval_s: asked,
        refresher: Refresher::Switch,
        min_se_s: asked_min,
        peer_timer: supports_timer(resp),
        peer_update: allows_update(resp),
        refresh: RefreshState::Idle,
        answered_invite: None,
    };
    if let Some(se) = session_expires(resp).ok().flatten() {
        timer.peer_timer = true;
        timer.take(&se, true);
    }
    timer
}

impl LegTimer {
    /// Session-Expires (and `Require: timer` when the peer supports it) in
    /// the switch's 2xx to the leg's initial INVITE (RFC 4028 §9).
    fn answer_headers(&self, resp: &mut Message) {
        resp.headers.push(HeaderName::SessionExpires, self.header(false));
        if self.peer_timer {
            resp.headers.push(HeaderName::Require, "timer");
        }
    }

    /// The `Session-Expires` value as sent in a message whose sender is
    /// (`we_send_request`) or is not the request's UAC.
    fn header(&self, switch_is_uac: bool) -> String {
        let refresher = match (self.refresher, switch_is_uac) {
            (Refresher::Switch, true) | (Refresher::Peer, false) => RefresherParam::Uac,
            _ => RefresherParam::Uas,
        };
        format!("{};refresher={}", self.interval_s, refresher.as_str())
    }

    /// Reads a Session-Expires the peer sent in a transaction in which the
    /// switch is the UAC (`switch_is_uac`) or the UAS: interval (never below
    /// the leg's Min-SE) and refresher. An absent `refresher` keeps the
    /// current one.
    fn take(&mut self, se: &SessionExpires, switch_is_uac: bool) {
        self.interval_s = se.seconds.max(self.min_se_s);
        self.refresher = match (se.refresher(), switch_is_uac) {
            (Some(RefresherParam::Uac), true) | (Some(RefresherParam::Uas), false) => Refresher::Switch,
            (Some(_), _) => Refresher::Peer,
            (None, _) => self.refresher,
        };
    }
}

impl Call {
    /// Who is on `side`, for logs: "the caller 1002", "the callee 1001",
    /// "party 1003" (a consulted, transferred-to or monitoring phone).
    fn side_name(&self, side: Side) -> String {
        match side {
            Side::A => format!("the caller {}", self.caller),
            Side::B(i) => match self.b.get(i).and_then(|l| l.party()) {
                Some(p) => format!("party {}", p.extension),
                None => format!("the callee {}", self.callee),
            },
        }
    }

    /// The party leg on `side`, when it is one (its timer ends only it).
    fn party_side(&self, side: Side) -> Option<usize> {
        match side {
            Side::B(i) if self.b.get(i).is_some_and(|l| l.party().is_some()) => Some(i),
            _ => None,
        }
    }

    /// True when the switch made the dialog on `side` (its Call-ID is
    /// ours: the RFC 3261 §14.1 back-off is the longer one): a placed
    /// leg, not the caller's nor a phone's leg taken in from elsewhere.
    fn owns_call_id(&self, side: Side) -> bool {
        match side {
            Side::A => false,
            Side::B(i) => !self.b.get(i).and_then(|l| l.party()).is_some_and(|p| p.adopted),
        }
    }

    fn leg_timer(&self, side: Side) -> Option<&LegTimer> {
        self.session_timers.as_ref()?.legs.iter().find(|l| l.side == side)
    }

    fn leg_timer_mut(&mut self, side: Side) -> Option<&mut LegTimer> {
        self.session_timers.as_mut()?.legs.iter_mut().find(|l| l.side == side)
    }

    /// The caller is answered with `a_resp` — placed leg `idx`'s 2xx
    /// `b_resp` when `callee` is given, the switch's own answer (a meet-me
    /// room) when not: the legs' session timers are negotiated (§7.2 for
    /// the callee's, §9 for the caller's), `a_resp` gets the caller's
    /// Session-Expires, and the timers start. Called before the caller's
    /// INVITE is dropped.
    pub(crate) fn session_answer(
        &mut self,
        ctx: &mut CallCtx,
        callee: Option<(usize, &Message)>,
        a_resp: &mut Message,
    ) {
        let Some(st) = ctx.cfg.sip().session_timers else { return };
        let anchored = self.media.is_some();
        let mut legs = Vec::with_capacity(2);
        // The caller's leg: we are its UAS.
        if let Some(inv) = self.a.invite.as_deref() {
            let leg = uas_leg_timer(&st, Side::A, inv);
            if leg.refresher == Refresher::Switch && !anchored && !leg.peer_update {
                tracing::debug!(call = %self.id, "no session timer towards the caller: pass-through and no UPDATE");
            } else {
                leg.answer_headers(a_resp);
                legs.push(leg);
            }
        }
        // The callee's leg: we are its UAC.
        if let Some((idx, b_resp, leg)) = callee.and_then(|(i, r)| Some((i, r, self.b.get(i)?))) {
            let timer = uac_leg_timer(&st, Side::B(idx), leg.invite.as_deref(), b_resp);
            if timer.refresher == Refresher::Switch && !anchored && !timer.peer_update {
                tracing::debug!(call = %self.id, "no session timer towards the callee: pass-through and no UPDATE");
            } else {
                legs.push(timer);
            }
        }
        if legs.is_empty() {
            return;
        }
        a_resp.headers.push(HeaderName::Supported, "timer");
        let sides: Vec<Side> = legs.iter().map(|l| l.side).collect();
        self.session_timers.get_or_insert_with(Default::default).legs = legs;
        for side in sides {
            self.arm_session_timer(ctx, side);
        }
    }

    /// Party leg `idx` answered the switch's INVITE or re-INVITE (`ours`,
    /// `None` when not kept: it carried the configured values) with the 2xx
    /// `resp`: its own session timer (RFC 4028 §7.2) starts, so a crashed
    /// consulted, transferred-to or monitoring phone is noticed and only
    /// its leg ends.
    pub(crate) fn session_party_answered(
        &mut self,
        ctx: &mut CallCtx,
        idx: usize,
        ours: Option<&Message>,
        resp: &Message,
    ) {
        let Some(st) = ctx.cfg.sip().session_timers else { return };
        let timer = uac_leg_timer(&st, Side::B(idx), ours, resp);
        self.add_leg_timer(ctx, timer);
    }

    /// The switch answers a phone's INVITE `invite` for party leg `idx`
    /// (RFC 3891 Replaces) with `resp`: the leg's timer (RFC 4028 §9) and
    /// its Session-Expires in `resp`.
    pub(crate) fn session_party_accepted(
        &mut self,
        ctx: &mut CallCtx,
        idx: usize,
        invite: &Message,
        resp: &mut Message,
    ) {
        let Some(st) = ctx.cfg.sip().session_timers else { return };
        let timer = uas_leg_timer(&st, Side::B(idx), invite);
        timer.answer_headers(resp);
        resp.headers.push(HeaderName::Supported, "timer");
        self.add_leg_timer(ctx, timer);
    }

    /// Adds (or replaces) a leg's timer and arms it.
    fn add_leg_timer(&mut self, ctx: &mut CallCtx, timer: LegTimer) {
        let side = timer.side;
        let legs = &mut self.session_timers.get_or_insert_with(Default::default).legs;
        legs.retain(|l| l.side != side);
        legs.push(timer);
        self.arm_session_timer(ctx, side);
    }

    /// (Re)starts `side`'s timers from now: our refresh at half the
    /// interval and the expiry at the full interval when we refresh; the
    /// expiry at the interval minus min(32 s, interval/3) when the peer does
    /// (RFC 4028 §10).
    fn arm_session_timer(&mut self, ctx: &mut CallCtx, side: Side) {
        let id = self.id;
        let Some(leg) = self.leg_timer(side) else { return };
        let interval = Duration::from_secs(u64::from(leg.interval_s));
        let now = ctx.now.mono;
        match leg.refresher {
            Refresher::Switch => {
                ctx.set_timer(id, CallTimer::SessionRefresh(side), now + interval / 2);
                ctx.set_timer(id, CallTimer::SessionExpiry(side), now + interval);
            }
            Refresher::Peer => {
                ctx.cancel_timer(id, CallTimer::SessionRefresh(side));
                let margin = Duration::from_secs(u64::from((leg.interval_s / 3).min(32)));
                ctx.set_timer(id, CallTimer::SessionExpiry(side), now + interval - margin);
            }
        }
    }

    /// Disarms every session timer of the call (it ends or is forgotten).
    pub(crate) fn session_timers_off(&mut self, ctx: &mut CallCtx) {
        let Some(st) = self.session_timers.as_ref() else { return };
        for leg in &st.legs {
            ctx.cancel_timer(self.id, CallTimer::SessionRefresh(leg.side));
            ctx.cancel_timer(self.id, CallTimer::SessionExpiry(leg.side));
        }
    }

    /// The dialog on `side` is gone (BYE, a party leaving, a transfer):
    /// its session timer stops with it.
    pub(crate) fn session_leg_gone(&mut self, ctx: &mut CallCtx, side: Side) {
        let Some(st) = self.session_timers.as_mut() else { return };
        let Some(pos) = st.legs.iter().position(|l| l.side == side) else {
            return;
        };
        let leg = st.legs.remove(pos);
        ctx.cancel_timer(self.id, CallTimer::SessionRefresh(side));
        ctx.cancel_timer(self.id, CallTimer::SessionExpiry(side));
        if let RefreshState::Sent { tx, .. } = leg.refresh {
            ctx.links.txs.remove(&tx);
        }
        if let Some((tx, _)) = leg.answered_invite {
            ctx.links.txs.remove(&tx);
        }
    }

    /// A session timer fired.
    pub(crate) fn on_session_timer(&mut self, ctx: &mut CallCtx, t: CallTimer) {
        if self.phase != Phase::Answered {
            return;
        }
        match t {
            CallTimer::SessionRefresh(side) => self.send_refresh(ctx, side),
            CallTimer::SessionExpiry(side) => {
                let Some(leg) = self.leg_timer(side) else { return };
                let who = self.side_name(side);
                match leg.refresher {
                    Refresher::Peer => tracing::info!(
                        "call {} ({} → {}): session expired, no refresh from {who} in {} s",
                        self.id,
                        self.caller,
                        self.callee,
                        leg.interval_s
                    ),
                    Refresher::Switch => tracing::info!(
                        "call {} ({} → {}): session expired, {who} answered none of the switch's refreshes in {} s",
                        self.id,
                        self.caller,
                        self.callee,
                        leg.interval_s
                    ),
                }
                self.session_over(ctx, side);
            }
            _ => {}
        }
    }

    /// The session on `side` is over (RFC 4028 §10: no refresh came, or
    /// our refresh got 408 or 481). A party leg alone goes — BYE, its leg
    /// CDR ends `session_timeout`, and the call carries on as when that
    /// party hangs up (when that leaves nobody to talk with, the call's
    /// CDR says `session_timeout` too); the caller's or the callee's ends
    /// the call (BYE on both legs, CDR `session_timeout`).
    pub(super) fn session_over(&mut self, ctx: &mut CallCtx, side: Side) {
        match self.party_side(side) {
            Some(idx) => {
                self.bye_party(ctx, idx);
                self.drop_party(ctx, idx, "session_timeout", None);
                self.party_gone(ctx, idx, "session_timeout");
            }
            None => self.end(ctx, "session_timeout"),
        }
    }

    /// An INVITE (or an UPDATE with an offer, RFC 3311 §5.2) from the peer
    /// while our refresh re-INVITE is in flight on that leg: 491 (RFC 3261
    /// §14.2). True when answered so.
    pub(crate) fn session_glare(&mut self, ctx: &mut CallCtx, side: Side, tx: TxId, req: &Message) -> bool {
        let offer = req.method() == Some(&Method::INVITE) || !req.body.is_empty();
        let glare = offer
            && self.leg_timer(side).is_some_and(|l| {
                matches!(
                    l.refresh,
                    RefreshState::Sent {
                        method: RefreshMethod::Invite,
                        ..
                    }
                )
            });
        if glare {
            let tag = req
                .envelope()
                .ok()
                .and_then(|e| e.to.tag())
                .map(|t| String::from_utf8_lossy(&t).into_owned());
            let resp = Message::response_to(req, StatusCode::REQUEST_PENDING, None, tag.as_deref());
            ctx.respond(tx, resp);
        }
        glare
    }

    /// The switch answers 2xx to the peer's re-INVITE or UPDATE `req` on
    /// `side`: a refresh (§9 for refreshes: its Session-Expires may change
    /// interval and refresher); `resp` gets the leg's Session-Expires (and
    /// `Require: timer` when the peer supports it) and the timer restarts.
    pub(crate) fn session_refreshed_by_peer(
        &mut self,
        ctx: &mut CallCtx,
        side: Side,
        req: &Message,
        resp: &mut Message,
    ) {
        if self.phase != Phase::Answered {
            return;
        }
        let Some(l) = self.leg_timer_mut(side) else { return };
        if let Some(se) = session_expires(req).ok().flatten() {
            l.take(&se, false);
        }
        if supports_timer(req) {
            l.peer_timer = true;
        }
        if req.method() == Some(&Method::UPDATE) || allows_update(req) {
            l.peer_update = true;
        }
        let sends_se = req.headers.get(&HeaderName::SessionExpires).is_some() || supports_timer(req);
        if sends_se {
            resp.headers.push(HeaderName::SessionExpires, l.header(false));
            if supports_timer(req) {
                resp.headers.push(HeaderName::Require, "timer");
            }
        }
        self.arm_session_timer(ctx, side);
    }

    /// Headers for a request relayed onto `side` of a pass-through call: it
    /// refreshes that leg too (Session-Expires with the leg's refresher,
    /// `Supported: timer`).
    pub(crate) fn session_relay_headers(&self, side: Side, headers: &mut Vec<(HeaderName, Bytes)>) {
        if let Some(l) = self.leg_timer(side) {
            headers.push((HeaderName::SessionExpires, Bytes::from(l.header(true))));
            headers.push((HeaderName::MinSe, Bytes::from(l.min_se_s.to_string())));
            headers.push((HeaderName::Supported, Bytes::from_static(b"timer")));
        }
    }

    /// A relayed re-INVITE or UPDATE from `from` was answered 2xx (`resp`)
    /// by `to`: both legs were refreshed. `to`'s timer takes the 2xx's
    /// Session-Expires; `out` (the 2xx to `from`) gets `from`'s.
    pub(crate) fn session_relay_answered(
        &mut self,
        ctx: &mut CallCtx,
        from: Side,
        request: &Message,
        resp: &Message,
        out: &mut Message,
    ) {
        if let Some(to) = self.other_side(from) {
            if let Some(l) = self.leg_timer_mut(to) {
                if let Some(se) = session_expires(resp).ok().flatten() {
                    l.take(&se, true);
                }
                self.arm_session_timer(ctx, to);
            }
        }
        self.session_refreshed_by_peer(ctx, from, request, out);
    }

    /// A callee's 422 to our INVITE (RFC 4028 §7.3): the INVITE is sent
    /// again, once, with Session-Expires and Min-SE raised to the callee's
    /// Min-SE (same Call-ID and tags, CSeq + 1, new branch). True when sent.
    pub(crate) fn session_retry_422(&mut self, ctx: &mut CallCtx, idx: usize, tx: TxId, resp: &Message) -> bool {
        if ctx.cfg.sip().session_timers.is_none() {
            return false;
        }
        if self
            .session_timers
            .as_ref()
            .is_some_and(|s| s.retried_422.contains(&idx))
        {
            return false;
        }
        let Some(theirs) = min_se(resp).ok().flatten().filter(|s| *s <= 86_400) else {
            return false;
        };
        let Some(leg) = self.b.get(idx) else { return false };
        let Some(invite) = leg.invite.as_deref() else {
            return false;
        };
        let mut m = invite.clone();
        let Ok(seq) = m.envelope().map(|e| e.cseq.seq + 1) else {
            return false;
        };
        let asked = session_expires(&m).ok().flatten().map_or(0, |s| s.seconds);
        let interval = asked.max(theirs);
        m.headers.set(HeaderName::CSeq, format!("{seq} INVITE"));
        let via = ctx.new_via(leg.dest);
        m.headers.set(HeaderName::Via, via);
        m.headers.set(HeaderName::SessionExpires, interval.to_string());
        m.headers.set(HeaderName::MinSe, theirs.to_string());
        let dest = leg.dest;
        let Some(ntx) = ctx.send_request(TxOwner::Call(self.id), m.clone(), dest) else {
            return false;
        };
        tracing::info!(
            "call {} ({} → {}): the callee wants sessions of at least {theirs} s: INVITE sent again",
            self.id,
            self.caller,
            self.callee
        );
        let leg = &mut self.b[idx];
        leg.tx = ntx;
        leg.cseq = seq;
        leg.invite = Some(Box::new(m));
        ctx.links.txs.remove(&tx);
        self.session_timers
            .get_or_insert_with(Default::default)
            .retried_422
            .push(idx);
        true
    }
}
