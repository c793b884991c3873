//! Transfers in the call core (CALL-XFER-1, CALL-CONSULT-4's transfer to
//! the consultee): which legs leave and what the customer hears. Who takes
//! the customer next (an offered agent, a queue, a number) is the
//! engine's and the ACD's; the call only carries the legs.
//!
//! - **Blind** ([`Call::hand_off`]): the transferring agent's leg is hung
//!   up at once and the customer waits, held with music
//!   ([`Talk::Transferring`]), while the next party's phone rings as a
//!   party leg of this same call (the customer's dialog, media port and
//!   stream never change: RFC 3550 §8 continuity through the leg's
//!   rewriter). A party that does not answer leaves the customer waiting
//!   for the next one ([`Call::end_if_alone`] keeps a waiting customer);
//!   [`Call::transfer_connected`] ends the wait once the engine took the
//!   answer. Allowed only with the customer and the agent alone on the
//!   call: a consult transfers to the consultee, a conference is left.
//! - **To the consultee** ([`Call::transfer_to_consultee`]): the consult
//!   must have answered (CALL-CONSULT-2); the initiator's leg is hung up
//!   and the customer and the consultee talk (or the conference goes on).
//!
//! The transferring leg's leg CDR says `transferred` (a party leg's here;
//! the answering leg's is the engine's, which writes the agents' legs).

use super::consult::Talk;
use super::media::MediaLeg;
use super::{Call, CallCtx, ControlError, Side};

impl Call {
    /// CALL-XFER-1: the agent's `leg` leaves for a blind transfer; the
    /// customer waits with music for the next party.
    pub fn hand_off(&mut self, ctx: &mut CallCtx, leg: MediaLeg) -> Result<(), ControlError> {
        self.check_connected()?;
        if self.consult.is_some() {
            return Err(ControlError::Conflict(
                "a consult is running: transfer to the consultee or end the consult first",
            ));
        }
        match self.talk {
            Talk::Direct => {}
            Talk::Conference => {
                return Err(ControlError::Conflict(
                    "a conference cannot be transferred blind: leave it instead",
                ))
            }
            Talk::PostCall => {
                return Err(ControlError::Conflict(
                    "the customer has left: there is nobody to transfer (CALL-CONF-4)",
                ))
            }
            Talk::Transferring => return Err(ControlError::Conflict("a transfer is already under way")),
        }
        if self.a.dialog.is_none() {
            return Err(ControlError::Conflict("the customer is not in the call"));
        }
        self.drop_agent_leg(ctx, leg)?;
        self.talk = Talk::Transferring;
        self.send_modes(ctx);
        tracing::info!(call = %self.id, agent = self.leg_name(leg), "blind transfer: the agent left, the customer waits");
        Ok(())
    }

    /// Rings `target` as the next party of a blind transfer (an offered
    /// agent's phone, or a dialled number); the party leg's index. Its
    /// answer is told as [`super::CallEvent::PartyAnswered`], its failure
    /// as [`super::CallEvent::PartyFailed`].
    pub fn ring_transfer(&mut self, ctx: &mut CallCtx, target: super::PartyTarget) -> Result<usize, ControlError> {
        self.check_connected()?;
        // Blind: the customer waits. A supervisor's transfer (CALL-XFER-6):
        // the customer talks on with its agent until the party answers.
        let supervised = self.talk == Talk::Direct && self.consult.is_none();
        if self.talk != Talk::Transferring && !supervised {
            return Err(ControlError::Conflict("no transfer is under way"));
        }
        self.place_party(
            ctx,
            target,
            &crate::sdp::LegPolicy::default(),
            crate::sdp::Direction::SendRecv,
        )
        .map_err(ControlError::Unreachable)
    }

    /// Takes `moved` (a party an agent's phone talked with in another call:
    /// its attended transfer) in as the blind transfer's next party, like
    /// [`Self::ring_transfer`] but re-INVITEd instead of rung; answered and
    /// failed the same way. Hung up when no transfer is under way.
    pub fn adopt_transfer(&mut self, ctx: &mut CallCtx, moved: super::MovedLeg) -> Result<usize, ControlError> {
        if self.check_connected().is_err() || self.talk != Talk::Transferring {
            super::adopt::hang_up_moved(ctx, moved);
            return Err(ControlError::Conflict("no transfer is under way"));
        }
        self.adopt_leg(ctx, moved).map_err(ControlError::Unreachable)
    }

    /// The transfer's next party answered and the engine took it: the
    /// customer is connected to it (off hold).
    pub fn transfer_connected(&mut self, ctx: &mut CallCtx) {
        if self.talk == Talk::Transferring {
            self.talk = Talk::Direct;
            self.send_modes(ctx);
        }
    }

    /// Whether the customer waits for a blind transfer's next party.
    pub fn transferring(&self) -> bool {
        self.talk == Talk::Transferring
    }

    /// CALL-CONSULT-4: the initiator hands the customer to the consultee
    /// who answered; the initiator's leg, which left, is returned.
    pub fn transfer_to_consultee(&mut self, ctx: &mut CallCtx) -> Result<MediaLeg, ControlError> {
        self.check_connected()?;
        let Some(c) = self.consult else {
            return Err(ControlError::Conflict("no consult is running"));
        };
        if !self.party_answered(c.party) {
            return Err(ControlError::Conflict(
                "the consulted party has not answered yet (CALL-CONSULT-2)",
            ));
        }
        if self.talk == Talk::PostCall {
            return Err(ControlError::Conflict(
                "the customer has left: there is nobody to transfer (CALL-CONF-4)",
            ));
        }
        if self.a.dialog.is_none() {
            return Err(ControlError::Conflict("the customer is not in the call"));
        }
        let leg = c.initiator;
        self.drop_agent_leg(ctx, leg)?;
        self.consult = None;
        if self.talk != Talk::Conference {
            self.talk = Talk::Direct;
        }
        self.send_modes(ctx);
        tracing::info!(call = %self.id, agent = self.leg_name(leg), consultee = self.leg_name(MediaLeg::Party(c.party)), "transfer to the consultee");
        Ok(leg)
    }

    /// CALL-XFER-6: the agent a supervisor transferred the customer away
    /// from leaves once the offered agent answered.
    pub fn hand_over(&mut self, ctx: &mut CallCtx, leg: MediaLeg) -> Result<(), ControlError> {
        self.check_connected()?;
        self.drop_agent_leg(ctx, leg)?;
        self.send_modes(ctx);
        Ok(())
    }

    /// Hangs up an agent's leg that leaves a call that goes on.
    fn drop_agent_leg(&mut self, ctx: &mut CallCtx, leg: MediaLeg) -> Result<(), ControlError> {
        match leg {
            MediaLeg::A => {
                return Err(ControlError::Conflict(
                    "the customer cannot be transferred away from itself",
                ))
            }
            MediaLeg::B => {
                let Some(w) = self
                    .winner
                    .filter(|w| self.b.get(*w).is_some_and(|l| l.dialog.is_some()))
                else {
                    return Err(ControlError::Conflict("the agent's leg is not in the call"));
                };
                self.bye_leg(ctx, Side::B(w));
                ctx.media(super::media::MediaCommand::PartyLeave { call: self.id.0, leg });
            }
            MediaLeg::Party(i) => {
                if !self.party_answered(i) {
                    return Err(ControlError::Conflict("the agent's leg is not in the call"));
                }
                // Its leg CDR and its media leave with it.
                self.withdraw_party(ctx, i, "transferred");
            }
        }
        Ok(())
    }
}
