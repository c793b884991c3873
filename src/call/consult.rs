//! Consult and conference in the call core (CALL-HOLD-2, CALL-CONSULT-1..5,
//! CALL-CONF-1..5): the answering leg (the primary agent's phone) consults
//! a party placed by the switch (`party`), toggles between the customer
//! and the consultee, merges everyone into a conference of up to 8, ends
//! the consult; parties leave; the customer may leave while agents talk on.
//!
//! What the call core decides is who hears whom, as one [`PartyMode`] per
//! leg sent to the media workers ([`MediaCommand::PartyModes`]); the media
//! session runs two talking legs on the relay and more on the bridge. Who
//! controls the interaction (CALL-CONF-2), which controls an agent may use
//! (CALL-CONSULT-2, -5) and the ACD's phases are the engine's and the ACD's,
//! told by [`CallEvent`]s.
//!
//! Decisions where the rules are silent, as a contact-center agent expects:
//! - Consulting holds the customer with music (CALL-HOLD-2); a hold the
//!   agent had put on is folded into it. Toggling swaps who is held, so the
//!   customer and the consultee are never both held.
//! - Toggle ("resume" the customer) is allowed while the consult still
//!   rings (CALL-CONSULT-2); merge needs the consultee to have answered.
//! - When the consultee leaves or the consult is ended while the customer
//!   is held, the customer stays on hold until the agent resumes (the
//!   agent may be mid-sentence with someone else); ending the consult from
//!   the desktop resumes the customer at once.
//! - The primary agent hanging up while the consultee is connected leaves
//!   the customer with the consultee (the call goes on, CALL-CONF-2); while
//!   the consult still rings, it is withdrawn and the call ends.
//! - The customer hanging up during a consult or conference leaves the
//!   agents talking (post-call, CALL-CONF-4); no party can be added then.
//!   A leg whose leaving would leave one party ends the call as any
//!   hang-up does (no hand-over to the last agent).
//! - The call ends when fewer than two legs remain (CALL-CONF-3).
//! - One consult at a time. A consult from a conference takes the
//!   initiator aside with the consultee ([`PartyMode::Aside`]: they hear
//!   only each other) while the others talk on; toggling brings the
//!   initiator back and holds the consultee; merge adds the consultee.

use super::media::{MediaCommand, MediaLeg, PartyMode, RelayLeg};
use super::party::PartyTarget;
use super::{Call, CallCtx, CallEvent, ControlError, PartyKind, PartyState, Phase, Side};
use crate::sdp::{Direction, LegPolicy};
use crate::sip::msg::StatusCode;

/// CALL-CONF-1: the most parties on a conference, customer and initiator included.
pub const MAX_PARTIES: usize = 8;

/// How a call's legs talk, a consult aside (CALL-CONSULT-4, CALL-CONF-1..4).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Talk {
    /// The caller and the answering leg (and a consult, if any).
    #[default]
    Direct,
    /// Three or more parties talk together.
    Conference,
    /// The customer left a consult or conference; the agents talk on (CALL-CONF-4).
    PostCall,
    /// A blind transfer (CALL-XFER-1): the agent's leg left and the
    /// customer waits, held with music, for the next party to answer.
    Transferring,
}

/// A running consult (CALL-CONSULT-1..4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Consult {
    /// The consulted party's leg index.
    pub party: usize,
    /// The agent who consults (the primary agent's leg).
    pub initiator: MediaLeg,
    /// False: the initiator talks with the consultee (the customer held, or
    /// the conference going on without them). True: the initiator is back
    /// with the customer or the conference, the consultee held.
    pub back: bool,
}

impl Call {
    /// CALL-CONSULT-1: rings `target` for a consult, holding the customer
    /// (CALL-HOLD-2); the party leg's index.
    pub fn consult(
        &mut self,
        ctx: &mut CallCtx,
        initiator: MediaLeg,
        target: PartyTarget,
    ) -> Result<usize, ControlError> {
        self.check_connected()?;
        if self.consult.is_some() {
            return Err(ControlError::Conflict("a consult is already running"));
        }
        if self.talk == Talk::PostCall {
            return Err(ControlError::Conflict(
                "the customer has left: no party can be added (CALL-CONF-4)",
            ));
        }
        if !self.present_legs().contains(&initiator) {
            return Err(ControlError::Conflict("the consulting agent is not in the call"));
        }
        if self.present_legs().len() >= MAX_PARTIES {
            return Err(ControlError::Full);
        }
        let party = self
            .place_party(ctx, target, &LegPolicy::default(), Direction::SendRecv)
            .map_err(ControlError::Unreachable)?;
        if let Some(m) = self.media.as_deref_mut() {
            m.api_hold = None;
        }
        self.consult = Some(Consult {
            party,
            initiator,
            back: false,
        });
        self.send_modes(ctx);
        tracing::info!(call = %self.id, party, "consult: calling the party, the customer is held");
        Ok(party)
    }

    /// CALL-CONSULT-4: the agent switches between the customer and the
    /// consultee; the other one is held.
    pub fn toggle(&mut self, ctx: &mut CallCtx) -> Result<(), ControlError> {
        self.check_connected()?;
        let Some(c) = self.consult.as_mut() else {
            return Err(ControlError::Conflict("no consult is running"));
        };
        c.back = !c.back;
        self.send_modes(ctx);
        Ok(())
    }

    /// CALL-CONSULT-4, CALL-CONF-1: the customer, the agent and the
    /// consultee talk together. Refused until the consultee answered
    /// (CALL-CONSULT-2).
    pub fn merge(&mut self, ctx: &mut CallCtx) -> Result<(), ControlError> {
        self.check_connected()?;
        let Some(Consult { party, .. }) = self.consult else {
            return Err(ControlError::Conflict("no consult is running"));
        };
        if !self.party_answered(party) {
            return Err(ControlError::Conflict(
                "the consulted party has not answered yet (CALL-CONSULT-2)",
            ));
        }
        if self.present_legs().len() > MAX_PARTIES {
            return Err(ControlError::Full);
        }
        self.consult = None;
        self.talk = Talk::Conference;
        self.send_modes(ctx);
        tracing::info!(call = %self.id, parties = self.present_legs().len(), "conference: consult merged");
        Ok(())
    }

    /// CALL-CONSULT-4: ends the consult (BYE, or CANCEL while it rings)
    /// and resumes the customer.
    pub fn end_consult(&mut self, ctx: &mut CallCtx) -> Result<(), ControlError> {
        self.check_connected()?;
        let Some(Consult { party, .. }) = self.consult.take() else {
            return Err(ControlError::Conflict("no consult is running"));
        };
        self.withdraw_party(ctx, party, "consult_ended");
        self.send_modes(ctx);
        Ok(())
    }

    /// Removes party leg `party` from a consult or conference (a
    /// supervisor's decision, or the party leaving from its desktop).
    pub fn remove_party(&mut self, ctx: &mut CallCtx, party: usize) -> Result<(), ControlError> {
        if !self.b.get(party).and_then(|l| l.party()).is_some_and(|p| p.pending()) {
            return Err(ControlError::Conflict("no such party in the call"));
        }
        self.withdraw_party(ctx, party, "removed");
        self.party_left(ctx, party);
        Ok(())
    }

    /// An agent's leg leaves a consult or conference from its desktop: the
    /// switch hangs it up and the call goes on (CALL-CONF-2) or ends when
    /// one party remains (CALL-CONF-3).
    pub fn leave(&mut self, ctx: &mut CallCtx, leg: MediaLeg) -> Result<(), ControlError> {
        self.check_connected()?;
        match leg {
            MediaLeg::Party(i) => self.remove_party(ctx, i),
            MediaLeg::A => Err(ControlError::Conflict("the customer leaves by hanging up")),
            MediaLeg::B => {
                let Some(w) = self.winner else {
                    return Err(ControlError::NotAnswered(self.id.0));
                };
                self.bye_leg(ctx, Side::B(w));
                if !self.leave_keeps_call(ctx, Side::B(w)) {
                    self.end(ctx, "agent_end");
                }
                Ok(())
            }
        }
    }

    /// The leg as the people on the call know it, for logs: the caller's
    /// number, the callee's extension, a party's extension or number.
    pub fn leg_name(&self, leg: MediaLeg) -> &str {
        match leg {
            MediaLeg::A => &self.caller,
            MediaLeg::B => &self.callee,
            MediaLeg::Party(i) => self.b.get(i).and_then(|l| l.party()).map_or("", |p| &p.extension),
        }
    }

    /// The legs in the call's media now: the customer and the answering
    /// leg while their dialogs are up, and each party that answered (or
    /// rings for a consult). Supervisors are not counted.
    pub fn present_legs(&self) -> Vec<MediaLeg> {
        let mut legs = Vec::new();
        if self.a.dialog.is_some() {
            legs.push(MediaLeg::A);
        }
        if self
            .winner
            .and_then(|w| self.b.get(w))
            .is_some_and(|l| l.dialog.is_some())
        {
            legs.push(MediaLeg::B);
        }
        for (i, l) in self.b.iter().enumerate() {
            if let Some(p) = l.party() {
                if !p.is_supervisor() && matches!(p.state, PartyState::Calling | PartyState::Answered) {
                    legs.push(MediaLeg::Party(i));
                }
            }
        }
        legs
    }

    pub(super) fn check_connected(&self) -> Result<(), ControlError> {
        if self.phase != Phase::Answered {
            return Err(ControlError::NotAnswered(self.id.0));
        }
        if self.media.is_none() {
            return Err(ControlError::NotAnchored(self.id.0));
        }
        Ok(())
    }

    pub(super) fn party_answered(&self, idx: usize) -> bool {
        self.b
            .get(idx)
            .and_then(|l| l.party())
            .is_some_and(|p| p.state == PartyState::Answered)
    }

    /// The mode each present leg has: everyone talks, except around a
    /// consult (CALL-HOLD-2: the customer and the consultee are never both
    /// held).
    pub fn modes(&self) -> Vec<(MediaLeg, PartyMode)> {
        self.present_legs()
            .into_iter()
            .map(|leg| {
                let mode = match self.consult {
                    None if self.talk == Talk::Transferring && leg == MediaLeg::A => PartyMode::Held,
                    None if self.refer_waiting(leg) => PartyMode::Held,
                    None => PartyMode::Talk,
                    Some(c) if leg == MediaLeg::Party(c.party) => {
                        if c.back {
                            PartyMode::Held
                        } else if self.talk == Talk::Conference {
                            PartyMode::Aside
                        } else {
                            PartyMode::Talk
                        }
                    }
                    Some(c) if c.back || (leg != MediaLeg::A && self.talk == Talk::Direct) => PartyMode::Talk,
                    Some(c) if leg == c.initiator => PartyMode::Aside,
                    Some(_) if self.talk == Talk::Conference => PartyMode::Talk,
                    Some(_) => PartyMode::Held,
                };
                (leg, mode)
            })
            .collect()
    }

    pub(super) fn send_modes(&mut self, ctx: &mut CallCtx) {
        ctx.media(MediaCommand::PartyModes {
            call: self.id.0,
            modes: self.modes(),
        });
    }

    /// A party's phone rings (a 18x): the engine tells the desktop.
    pub(crate) fn party_ringing(&mut self, ctx: &mut CallCtx, idx: usize) {
        if self.refer_ringing(ctx, idx) {
            return;
        }
        if self.b[idx].party().is_some_and(|p| !p.is_supervisor()) {
            ctx.event(self.id, CallEvent::PartyRinging { party: idx });
        }
    }

    /// A party's phone answered: it joins the call's media.
    pub(crate) fn party_joined(&mut self, ctx: &mut CallCtx, idx: usize, leg: RelayLeg) {
        let supervisor = self.b[idx].party().is_some_and(|p| p.is_supervisor());
        if supervisor {
            self.monitor_joined(ctx, leg);
            return;
        }
        let mode = self
            .modes()
            .into_iter()
            .find(|(l, _)| *l == MediaLeg::Party(idx))
            .map_or(PartyMode::Talk, |(_, m)| m);
        ctx.media(MediaCommand::PartyJoin {
            call: self.id.0,
            party: idx,
            leg: Box::new(leg),
            mode,
        });
        if self.refer_answered(ctx, idx) {
            return;
        }
        tracing::info!(call = %self.id, party = idx, "consult: the party answered");
        ctx.event(self.id, CallEvent::PartyAnswered { party: idx });
    }

    /// A party's phone did not answer (CALL-CONSULT-3): the consult is over
    /// and the customer stays held until the agent resumes.
    pub(crate) fn party_failed(&mut self, ctx: &mut CallCtx, idx: usize, code: StatusCode) {
        if self.b[idx].party().is_some_and(|p| p.is_supervisor()) || self.refer_failed(ctx, idx, code) {
            return;
        }
        if self.consult.is_some_and(|c| c.party == idx) {
            self.consult_over(ctx);
        }
        ctx.event(self.id, CallEvent::PartyFailed { party: idx, code });
    }

    /// A party left (its BYE): a consult is over; a conference goes on
    /// while two legs remain (CALL-CONF-3).
    pub(crate) fn party_left(&mut self, ctx: &mut CallCtx, idx: usize) {
        self.party_gone(ctx, idx, "conference_ended");
    }

    /// [`Self::party_left`], the call's CDR saying `cause` if the call
    /// ends for it (a party whose session expired: `session_timeout`).
    pub(crate) fn party_gone(&mut self, ctx: &mut CallCtx, idx: usize, cause: &str) {
        if self.b[idx].party().is_some_and(|p| p.is_supervisor()) {
            return;
        }
        if self.consult.is_some_and(|c| c.party == idx) {
            self.consult_over(ctx);
        }
        ctx.event(
            self.id,
            CallEvent::PartyLeft {
                leg: MediaLeg::Party(idx),
            },
        );
        self.end_if_alone(ctx, cause);
    }

    /// The consult ended without a merge: a held customer stays held (as a
    /// plain hold, resumed with `Resume`); in a conference the initiator is
    /// back with the others.
    fn consult_over(&mut self, ctx: &mut CallCtx) {
        let Some(c) = self.consult.take() else {
            return;
        };
        let customer_held = !c.back && self.talk == Talk::Direct;
        if customer_held {
            if let Some(m) = self.media.as_deref_mut() {
                m.api_hold = Some(MediaLeg::A);
            }
        }
        self.send_modes(ctx);
        if customer_held {
            ctx.media(MediaCommand::Hold {
                call: self.id.0,
                held: Some(MediaLeg::A),
            });
        }
    }

    /// The customer's or the primary agent's BYE while parties are in the
    /// call: `true` when the call goes on without that leg (CALL-CONF-2,
    /// CALL-CONF-4), `false` when the call must end as usual.
    pub(crate) fn leave_keeps_call(&mut self, ctx: &mut CallCtx, side: Side) -> bool {
        let answered_parties: Vec<usize> = (0..self.b.len()).filter(|i| self.party_answered(*i)).collect();
        let consult_ringing = self.consult.is_some_and(|c| !self.party_answered(c.party));
        if answered_parties.is_empty() || consult_ringing {
            return false;
        }
        let leg = match side {
            Side::A => MediaLeg::A,
            Side::B(i) if Some(i) == self.winner => MediaLeg::B,
            Side::B(_) => return false,
        };
        let remaining: Vec<MediaLeg> = self.present_legs().into_iter().filter(|l| *l != leg).collect();
        if !self.goes_on(&remaining) {
            // CALL-CONF-3: the call ends with this leg, as any call does
            // (no hand-over of control to the last agent, CALL-CONF-2).
            return false;
        }
        self.forget_dialog(ctx, side);
        ctx.media(MediaCommand::PartyLeave { call: self.id.0, leg });
        if self.consult.is_some_and(|c| c.initiator == leg) {
            // The initiator left its consult: the consultee joins the others.
            self.consult = None;
        }
        if leg == MediaLeg::A {
            self.customer_left_ms = Some(ctx.now.unix_ms);
        }
        self.talk = match (leg, self.talk) {
            (MediaLeg::A, _) => Talk::PostCall,
            (_, Talk::PostCall) => Talk::PostCall,
            _ => Talk::Conference,
        };
        if self.talk == Talk::PostCall {
            // CALL-CONF-4: nobody is held any more; the agents talk on.
            self.consult = None;
        }
        tracing::info!(call = %self.id, who = self.leg_name(leg), "a party left; the call goes on");
        self.send_modes(ctx);
        ctx.event(self.id, CallEvent::PartyLeft { leg });
        self.end_if_alone(ctx, "conference_ended");
        true
    }

    /// CALL-CONF-3: fewer than two legs remain, or only parties that are
    /// not agents: the call ends, its CDR saying `cause`.
    fn end_if_alone(&mut self, ctx: &mut CallCtx, cause: &str) {
        if self.phase != Phase::Answered {
            return;
        }
        if self.talk == Talk::Transferring && self.a.dialog.is_some() {
            // The customer waits for the transfer's next party (CALL-XFER-2).
            return;
        }
        let legs = self.present_legs();
        if !self.goes_on(&legs) {
            tracing::info!(call = %self.id, "conference: one party left, the call ends (CALL-CONF-3)");
            self.end(ctx, cause);
            return;
        }
        // SUP-4: the supervisor stays while at least one agent is in the call.
        if self.agents_in(&legs) == 0 {
            if let Some((idx, _)) = self.monitor() {
                tracing::info!(call = %self.id, "no agent left in the call: the supervisor is removed (SUP-4)");
                self.withdraw_party(ctx, idx, "no_agent_left");
            }
        }
    }

    /// How many of `legs` are agents (the answering leg and consulted agents).
    fn agents_in(&self, legs: &[MediaLeg]) -> usize {
        legs.iter()
            .filter(|l| match l {
                MediaLeg::A => false,
                MediaLeg::B => true,
                MediaLeg::Party(i) => self.b[*i]
                    .party()
                    .is_some_and(|p| matches!(&p.kind, PartyKind::Consulted { agent: Some(_) })),
            })
            .count()
    }

    /// CALL-CONF-3: whether a call with `legs` present goes on: two or
    /// more, the customer or an agent among them.
    fn goes_on(&self, legs: &[MediaLeg]) -> bool {
        legs.len() >= 2 && (self.agents_in(legs) > 0 || legs.contains(&MediaLeg::A))
    }
}
