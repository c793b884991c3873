//! Transfers in the ACD core (CALL-XFER-1..5, CALL-CONSULT-4's transfer to
//! the consultee, CALL-END-1, HIST-3): who holds the interaction after a
//! transfer, who wraps up, and how its one history carries across.
//!
//! - **Blind transfer** ([`AcdEvent::Transfer`](super::AcdEvent::Transfer))
//!   by the primary agent of a connected interaction, with no consult or
//!   conference running (those transfer to the consultee, or leave). The
//!   targets (CALL-XFER-1): an `Available` agent (never one in wrap-up, nor
//!   `Idle`, nor the transferring agent itself), a queue, or a number
//!   outside the ACD ([`TransferTarget::Outside`]; an entry point that leads
//!   to a queue is that queue's transfer, the engine decides).
//! - The transferring agent's part ends at once: its time holding the
//!   interaction is closed as [`HandlingEnd::Transferred`] and it wraps up
//!   (CALL-XFER-5, CALL-END-1: it was the primary agent until then), with
//!   the wrap-up time and reasons of the queue the interaction was in.
//! - An agent target is offered the interaction like a queue offer (its
//!   queue's RONA timeout and accept mode). If it declines or lets it ring
//!   out, the interaction goes back to its queue's line at the place it
//!   had, ahead of later arrivals (CALL-XFER-2: never dropped).
//! - A queue target: the interaction joins that queue's line keeping its
//!   arrival order (a transferred customer does not start waiting again),
//!   and the target queue's maximum wait applies from now.
//! - The transferring agent is never offered the interaction again
//!   (CALL-XFER-3, kept for every target: the agent handed it on).
//! - An outside number rings while the interaction is
//!   [`InteractionState::Transferring`] (the customer waits with music,
//!   in no line). Answered, the interaction has left the ACD
//!   ([`Outcome::Transferred`]); not answered, it goes back to its queue's
//!   line (CALL-XFER-2's rule applied to numbers too: a customer is never
//!   dropped by a failed transfer).
//! - **Transfer to the consultee** ([`AcdEvent::TransferToConsultant`]):
//!   the consulted agent who answered becomes the primary agent; the
//!   transferring agent wraps up. A consulted number that answered takes
//!   the customer out of the ACD like an answered outside transfer.
//! - **Supervisor transfer** ([`AcdEvent::SupervisorTransfer`](super::AcdEvent::SupervisorTransfer), CALL-XFER-6)
//!   to an `Available` agent: the primary agent becomes a consultant (it
//!   keeps talking with the customer, controls nothing, and is never
//!   offered the interaction) while the target is offered it. Accepted,
//!   the first agent leaves with no wrap-up (CALL-END-1: it is no longer
//!   the primary) and the target is the primary agent. Declined or rung
//!   out, the first agent, who never left the customer, is the primary
//!   agent again (the customer is not put back in line behind a failed
//!   hand-over); a customer who hangs up meanwhile leaves that agent in
//!   wrap-up. The handlers' history says `supervisor` for the hand-over.
//! - **Closing** waits for every wrap-up: an interaction whose flow is
//!   over while an agent who handled it still wraps up is kept as
//!   [`InteractionState::Closing`] and closes with the last of those
//!   wrap-ups, so each agent's reasons and notes reach the record.

use super::agent::AgentState;
use super::ids::{AgentId, InteractionId, QueueId};
use super::interaction::{HandlingEnd, InteractionState, Outcome, Phase};
use super::visit::VisitEnd;
use super::{Acd, AcdError, AcdTimer};
use std::time::Instant;

/// Where a blind transfer goes (CALL-XFER-1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransferTarget {
    /// An `Available` agent.
    Agent(AgentId),
    /// A queue's line.
    Queue(QueueId),
    /// A number outside the ACD (a dial number, or an entry point that
    /// does not lead to a queue); the engine rings it.
    Outside,
}

impl Acd {
    /// CALL-XFER-1: the primary agent transfers interaction `id` to `target`.
    pub(super) fn transfer(&mut self, now: Instant, id: InteractionId, target: TransferTarget) -> Result<(), AcdError> {
        let (queue, from) = self.connected_alone(id)?;
        match target {
            TransferTarget::Agent(to) => {
                let state = self.agent(to)?.state.clone();
                if to == from || state != AgentState::Available {
                    return Err(AcdError::NotTransferable { agent: to, state });
                }
            }
            TransferTarget::Queue(q) if !self.queues.contains_key(&q) => return Err(AcdError::UnknownQueue(q)),
            _ => {}
        }
        self.hand_off(now, id, queue, from);
        match target {
            TransferTarget::Agent(to) => {
                let offer = self.make_offer(now, id, queue, to);
                if let Some(i) = self.interactions.get_mut(&id) {
                    i.state = InteractionState::Ringing {
                        queue,
                        offers: vec![offer],
                    };
                    i.info.set_phase(now, Phase::Ringing);
                }
            }
            TransferTarget::Queue(to) => self.join_line(now, id, to, VisitEnd::Moved),
            TransferTarget::Outside => {
                if let Some(i) = self.interactions.get_mut(&id) {
                    i.state = InteractionState::Transferring { queue };
                    i.info.set_phase(now, Phase::Ringing);
                }
            }
        }
        Ok(())
    }

    /// CALL-CONSULT-4: the consultee who answered takes the customer; the
    /// transferring agent wraps up (CALL-XFER-5).
    pub(super) fn transfer_to_consultant(&mut self, now: Instant, id: InteractionId) -> Result<(), AcdError> {
        let i = self.interactions.get(&id).ok_or(AcdError::UnknownInteraction(id))?;
        let InteractionState::Connected { queue, agent: from } = i.state else {
            return Err(AcdError::NotConnected(id));
        };
        if i.info.phase != Phase::Consult {
            return Err(AcdError::NoConsultee(id));
        }
        let consultee = i
            .info
            .consultants
            .iter()
            .find(|c| c.consulting)
            .map(|c| (c.agent, c.joined_at));
        match consultee {
            // A consulted agent still ringing cannot take the customer (CALL-CONSULT-2).
            Some((_, None)) => Err(AcdError::NoConsultee(id)),
            Some((to, Some(_))) => {
                self.hand_off(now, id, queue, from);
                if let Some(i) = self.interactions.get_mut(&id) {
                    i.info.consultants.retain(|c| c.agent != to);
                    i.state = InteractionState::Connected { queue, agent: to };
                    i.info.handled_by(now, to);
                    let phase = if i.info.consultants.is_empty() {
                        i.info.conference = false;
                        Phase::Connected
                    } else {
                        Phase::Conference
                    };
                    i.info.set_phase(now, phase);
                }
                self.actions.push_back(super::AcdAction::PrimaryChanged {
                    interaction: id,
                    from,
                    to,
                });
                Ok(())
            }
            // A consulted number (the engine saw it answer): the customer
            // leaves the ACD with it.
            None => {
                self.hand_off(now, id, queue, from);
                self.finish(now, id, Outcome::Transferred);
                Ok(())
            }
        }
    }

    /// The number an outside transfer rang answered: the interaction has
    /// left the ACD.
    pub(super) fn transfer_answered(&mut self, now: Instant, id: InteractionId) -> Result<(), AcdError> {
        let i = self.interactions.get(&id).ok_or(AcdError::UnknownInteraction(id))?;
        if !matches!(i.state, InteractionState::Transferring { .. }) {
            return Err(AcdError::NotTransferring(id));
        }
        self.finish(now, id, Outcome::Transferred);
        Ok(())
    }

    /// The number an outside transfer rang did not answer: back to the
    /// queue's line (CALL-XFER-2).
    pub(super) fn transfer_failed(&mut self, now: Instant, id: InteractionId) -> Result<(), AcdError> {
        let i = self.interactions.get(&id).ok_or(AcdError::UnknownInteraction(id))?;
        let InteractionState::Transferring { queue } = i.state else {
            return Err(AcdError::NotTransferring(id));
        };
        self.requeue(now, id, queue);
        Ok(())
    }

    /// CALL-XFER-4: the customer transferred into an entry point reached a
    /// queue step: it joins `queue`'s line at `priority` (never offered
    /// back to the agent who transferred it, CALL-XFER-3).
    pub(super) fn transfer_entered_queue(
        &mut self,
        now: Instant,
        id: InteractionId,
        queue: QueueId,
        priority: u8,
        min_skill: u8,
    ) -> Result<(), AcdError> {
        if !self.queues.contains_key(&queue) {
            return Err(AcdError::UnknownQueue(queue));
        }
        let i = self.interactions.get_mut(&id).ok_or(AcdError::UnknownInteraction(id))?;
        if !matches!(i.state, InteractionState::Transferring { .. }) {
            return Err(AcdError::NotTransferring(id));
        }
        i.priority = priority;
        i.info.customer.min_skill = min_skill;
        self.join_line(now, id, queue, VisitEnd::Moved);
        Ok(())
    }

    /// CALL-XFER-6: a supervisor transfers interaction `id` to `to` (an
    /// `Available` agent): the primary agent stays on the call as a
    /// consultant while `to` is offered it.
    pub(super) fn supervisor_transfer(&mut self, now: Instant, id: InteractionId, to: AgentId) -> Result<(), AcdError> {
        let (queue, from) = self.connected_alone(id)?;
        let state = self.agent(to)?.state.clone();
        if to == from || state != AgentState::Available {
            return Err(AcdError::NotTransferable { agent: to, state });
        }
        if let Some(i) = self.interactions.get_mut(&id) {
            i.info.handled_until(now, HandlingEnd::Supervisor);
            i.info.agent = None;
            i.info.consultants.push(super::consult::Consultant {
                agent: from,
                offer: None,
                joined_at: Some(now),
                consulting: false,
                back_to: None,
            });
            i.handing_over = Some(from);
            if !i.declined_by.contains(&from) {
                i.declined_by.push(from);
            }
        }
        let offer = self.make_offer(now, id, queue, to);
        if let Some(i) = self.interactions.get_mut(&id) {
            i.state = InteractionState::Ringing {
                queue,
                offers: vec![offer],
            };
            i.info.set_phase(now, Phase::Ringing);
        }
        Ok(())
    }

    /// CALL-XFER-6: the offered agent accepted: the first agent leaves the
    /// interaction (a consultant: no wrap-up, CALL-END-1).
    pub(super) fn handed_over(&mut self, now: Instant, id: InteractionId) {
        let Some(from) = self.interactions.get_mut(&id).and_then(|i| i.handing_over.take()) else {
            return;
        };
        self.release_consultant(now, id, from);
        self.actions.push_back(super::AcdAction::HandedOver {
            interaction: id,
            from,
            accepted: true,
        });
    }

    /// CALL-XFER-6: the offered agent declined (or let it ring out): the
    /// first agent, still with the customer, is the primary agent again.
    pub(super) fn hand_back(&mut self, now: Instant, id: InteractionId, queue: QueueId) {
        let Some(from) = self.interactions.get_mut(&id).and_then(|i| i.handing_over.take()) else {
            return;
        };
        if let Some(i) = self.interactions.get_mut(&id) {
            i.info.consultants.retain(|c| c.agent != from);
            i.state = InteractionState::Connected { queue, agent: from };
            i.info.handled_by(now, from);
            i.info.set_phase(now, Phase::Connected);
        }
        self.actions.push_back(super::AcdAction::HandedOver {
            interaction: id,
            from,
            accepted: false,
        });
    }

    /// The queue and primary agent of interaction `id` when it is
    /// connected with the customer and its agent alone (no consult, no
    /// conference, the customer still there): what a blind transfer needs.
    fn connected_alone(&self, id: InteractionId) -> Result<(QueueId, AgentId), AcdError> {
        let i = self.interactions.get(&id).ok_or(AcdError::UnknownInteraction(id))?;
        let InteractionState::Connected { queue, agent } = i.state else {
            return Err(AcdError::NotConnected(id));
        };
        if i.info.phase == Phase::PostCall {
            return Err(AcdError::NotConnected(id));
        }
        if i.info.consult_waiting.is_some() || !i.info.consultants.is_empty() {
            return Err(AcdError::NotAlone(id));
        }
        Ok((queue, agent))
    }

    /// The primary agent `from` hands interaction `id` on: its part ends
    /// as transferred, it wraps up (CALL-XFER-5) and is never offered the
    /// interaction again (CALL-XFER-3).
    fn hand_off(&mut self, now: Instant, id: InteractionId, queue: QueueId, from: AgentId) {
        if let Some(i) = self.interactions.get_mut(&id) {
            i.info.handled_until(now, HandlingEnd::Transferred);
            i.info.agent = None;
            if !i.declined_by.contains(&from) {
                i.declined_by.push(from);
            }
        }
        self.start_wrap_up(now, from, id, queue);
    }

    /// The interaction's flow is over with `outcome`: it closes now or,
    /// while an agent who handled it still wraps up, as the last of those
    /// wrap-ups ends.
    pub(super) fn finish(&mut self, now: Instant, id: InteractionId, outcome: Outcome) {
        if self.wrapping_up(id, None) {
            if let Some(i) = self.interactions.get_mut(&id) {
                i.info.visits.leave(now, outcome.into(), None);
                let queue = i.info.queue;
                i.state = InteractionState::Closing { queue, outcome };
                i.info.set_phase(now, Phase::WrapUp);
            }
            self.timers.cancel(AcdTimer::MaxWait(id));
        } else {
            self.close(now, id, outcome);
        }
    }

    /// Whether an agent other than `except` wraps interaction `id` up.
    pub(super) fn wrapping_up(&self, id: InteractionId, except: Option<AgentId>) -> bool {
        self.agents.values().any(|a| {
            Some(a.id) != except && matches!(a.state, AgentState::WrapUp { interaction, .. } if interaction == id)
        })
    }
}
