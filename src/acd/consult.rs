//! Consult and conference in the ACD core (CALL-CONSULT-1..5,
//! CALL-CONF-2..4, HIST-3): the consulted agents of an interaction, their
//! states, and the interaction's phases while the call core runs the legs.
//!
//! - A consulted agent must be `Available` or `Idle` (CALL-CONSULT-1). Its
//!   phone rings as a consult offer ([`AcdAction::RingConsult`], the agent
//!   `Reserved`, the queue's RONA timeout); answered, it is `Busy` on the
//!   interaction as a consultant; unanswered or refused, it goes
//!   `Idle(RONA)` and the initiator is told (CALL-CONSULT-3). A consultant
//!   leaving goes back to the state it had before the consult (an `Idle`
//!   agent stays `Idle`: a consult is not a reason to take queue calls),
//!   or its pending state (AGENT-4).
//! - Phases (HIST-3): `Consult` while a consult runs, `Conference` once
//!   merged, back to `Connected` (or `Conference`) when a consult ends
//!   unmerged, `PostCall` once the customer left (CALL-CONF-4).
//! - CALL-CONF-2: when the primary agent leaves, the consultant present
//!   longest becomes the primary ([`AcdAction::PrimaryChanged`]); it wraps
//!   up in the end (CALL-END-1). Without one the interaction goes on
//!   without an agent until its call ends.
//! - When the interaction's call ends, every consultant is released and
//!   only the primary wraps up (CALL-END-1).
//! - A consult of a queue (CALL-CONSULT-1) rings the queue's next
//!   available agent at once; with none available it waits for one, ahead
//!   of the queue's waiting customers (an agent and a held customer wait
//!   on it), in the order consults were asked, and its phase is `Consult`
//!   from the request. The initiator may give up at any time
//!   ([`AcdEvent::ConsultOver`]); the interaction's end drops it.

use super::agent::{AgentState, IdleReason, RequestedState};
use super::event::AcdAction;
use super::ids::{AgentId, InteractionId, OfferId, QueueId};
use super::interaction::{InteractionState, Phase};
use super::{Acd, AcdError, AcdTimer, Offer};
use std::time::Instant;

/// An agent joined to an interaction through a consult (CALL-CONSULT-5:
/// no resume, no wrap-up reasons, variables read-only).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Consultant {
    /// The agent.
    pub agent: AgentId,
    /// The consult offer while its phone rings.
    pub offer: Option<OfferId>,
    /// When it answered (CALL-CONF-2 ranks by it).
    pub joined_at: Option<Instant>,
    /// Still in the consult (not merged into the conference yet).
    pub consulting: bool,
    /// The state to go back to when it leaves.
    pub(crate) back_to: Option<RequestedState>,
}

impl Acd {
    /// CALL-CONSULT-1: rings `agent` for a consult on `id` (an `Available`
    /// or `Idle` agent, not the interaction's own).
    pub(super) fn consult_agent(&mut self, now: Instant, id: InteractionId, agent: AgentId) -> Result<(), AcdError> {
        self.ring_consult(now, id, agent, false)
    }

    /// Rings `agent` for a consult on `id`; `place_leg` when the ACD picked
    /// the agent (the engine then calls its phone).
    fn ring_consult(
        &mut self,
        now: Instant,
        id: InteractionId,
        agent: AgentId,
        place_leg: bool,
    ) -> Result<(), AcdError> {
        let state = self.agent(agent)?.state.clone();
        let back_to = match state {
            AgentState::Available => None,
            AgentState::Idle(reason) => Some(RequestedState::Idle(reason)),
            other => return Err(AcdError::NotConsultable { agent, state: other }),
        };
        let i = self.interactions.get(&id).ok_or(AcdError::UnknownInteraction(id))?;
        let InteractionState::Connected { queue, .. } = i.state else {
            return Err(AcdError::NotConnected(id));
        };
        if i.info.phase == Phase::PostCall {
            return Err(AcdError::NotConnected(id));
        }
        if i.info.consultants.iter().any(|c| c.consulting) {
            return Err(AcdError::ConsultRunning(id));
        }
        let rona = self.queues.get(&queue).map(|q| q.cfg.rona_timeout).unwrap_or_default();
        let offer = OfferId(self.next_offer);
        self.next_offer += 1;
        let deadline = now + rona;
        self.offers.insert(
            offer,
            Offer {
                agent,
                interaction: id,
                auto_answer: false,
                offered_at: now,
                deadline,
                variables: Vec::new(),
                consult: true,
            },
        );
        self.timers.set(AcdTimer::Rona(offer), deadline);
        if let Some(i) = self.interactions.get_mut(&id) {
            i.info.consultants.push(Consultant {
                agent,
                offer: Some(offer),
                joined_at: None,
                consulting: true,
                back_to: back_to.clone(),
            });
            i.info.set_phase(now, Phase::Consult);
        }
        if let Some(a) = self.agents.get_mut(&agent) {
            a.pending = back_to;
        }
        self.set_state(now, agent, AgentState::Reserved { offer, interaction: id }, false);
        self.actions.push_back(AcdAction::RingConsult {
            offer,
            agent,
            interaction: id,
            deadline,
            place_leg,
        });
        Ok(())
    }

    /// CALL-CONSULT-1: consult queue `queue`: its next available agent now,
    /// or the first to become available.
    pub(super) fn consult_queue(&mut self, now: Instant, id: InteractionId, queue: QueueId) -> Result<(), AcdError> {
        let i = self.interactions.get(&id).ok_or(AcdError::UnknownInteraction(id))?;
        if !matches!(i.state, InteractionState::Connected { .. }) || i.info.phase == Phase::PostCall {
            return Err(AcdError::NotConnected(id));
        }
        if i.info.consultants.iter().any(|c| c.consulting) || i.info.consult_waiting.is_some() {
            return Err(AcdError::ConsultRunning(id));
        }
        let q = self.queues.get_mut(&queue).ok_or(AcdError::UnknownQueue(queue))?;
        if let Some(agent) = q.pool.pick(&[]) {
            return self.ring_consult(now, id, agent, true);
        }
        q.consults.push_back(id);
        if let Some(i) = self.interactions.get_mut(&id) {
            i.info.consult_waiting = Some(queue);
            i.info.set_phase(now, Phase::Consult);
        }
        Ok(())
    }

    /// The interaction's consult stops waiting in its queue.
    pub(super) fn drop_consult_wait(&mut self, id: InteractionId) {
        let Some(queue) = self
            .interactions
            .get_mut(&id)
            .and_then(|i| i.info.consult_waiting.take())
        else {
            return;
        };
        if let Some(q) = self.queues.get_mut(&queue) {
            q.consults.retain(|c| *c != id);
        }
    }

    /// Rings `queue`'s available agents for its waiting consults, oldest first.
    pub(super) fn dispatch_consults(&mut self, now: Instant, queue: QueueId) {
        loop {
            let Some(q) = self.queues.get_mut(&queue) else { return };
            if q.consults.is_empty() {
                return;
            }
            let Some(agent) = q.pool.pick(&[]) else { return };
            let Some(id) = q.consults.pop_front() else { return };
            if let Some(i) = self.interactions.get_mut(&id) {
                i.info.consult_waiting = None;
            }
            let _ = self.ring_consult(now, id, agent, true);
        }
    }

    /// A consult to a number or an entry point started (no agent to reserve).
    pub(super) fn consult_started(&mut self, now: Instant, id: InteractionId) -> Result<(), AcdError> {
        let i = self.interactions.get_mut(&id).ok_or(AcdError::UnknownInteraction(id))?;
        if !matches!(i.state, InteractionState::Connected { .. }) || i.info.phase == Phase::PostCall {
            return Err(AcdError::NotConnected(id));
        }
        i.info.set_phase(now, Phase::Consult);
        Ok(())
    }

    /// The consulted agent's phone answered: it is `Busy` on the interaction.
    pub(super) fn consult_answered(&mut self, now: Instant, offer: OfferId) -> Result<(), AcdError> {
        let o = self.take_consult_offer(offer)?;
        if let Some(c) = self.consultant_mut(o.interaction, o.agent) {
            c.offer = None;
            c.joined_at = Some(now);
        }
        self.set_state(
            now,
            o.agent,
            AgentState::Busy {
                interaction: o.interaction,
            },
            false,
        );
        Ok(())
    }

    /// CALL-CONSULT-3: the consulted agent's phone did not answer (refused,
    /// failed, or RONA): `Idle(RONA)`, and the initiator is told.
    pub(super) fn consult_unanswered(&mut self, now: Instant, offer: OfferId, timed_out: bool) -> Result<(), AcdError> {
        let o = self.take_consult_offer(offer)?;
        self.remove_consultant(now, o.interaction, o.agent);
        if let Some(a) = self.agents.get_mut(&o.agent) {
            a.pending = None;
        }
        self.set_state(now, o.agent, AgentState::Idle(IdleReason::Rona), false);
        self.actions.push_back(AcdAction::ConsultFailed {
            offer,
            agent: o.agent,
            interaction: o.interaction,
            timed_out,
        });
        Ok(())
    }

    /// The consult ended unmerged (ended by the initiator, the consultee
    /// left, or a dialled party hung up): a consultant goes back to its
    /// state, the phase to `Connected` or `Conference`.
    pub(super) fn consult_over(&mut self, now: Instant, id: InteractionId) -> Result<(), AcdError> {
        self.drop_consult_wait(id);
        let i = self.interactions.get(&id).ok_or(AcdError::UnknownInteraction(id))?;
        let consulting: Vec<AgentId> = i
            .info
            .consultants
            .iter()
            .filter(|c| c.consulting)
            .map(|c| c.agent)
            .collect();
        for agent in consulting {
            self.release_consultant(now, id, agent);
        }
        if let Some(i) = self.interactions.get_mut(&id) {
            if i.info.phase == Phase::Consult {
                let back = if i.info.conference {
                    Phase::Conference
                } else {
                    Phase::Connected
                };
                i.info.set_phase(now, back);
            }
        }
        Ok(())
    }

    /// CALL-CONF-1: the consult was merged into a conference.
    pub(super) fn merged(&mut self, now: Instant, id: InteractionId) -> Result<(), AcdError> {
        let i = self.interactions.get_mut(&id).ok_or(AcdError::UnknownInteraction(id))?;
        for c in &mut i.info.consultants {
            c.consulting = false;
        }
        i.info.conference = true;
        if i.info.phase != Phase::PostCall {
            i.info.set_phase(now, Phase::Conference);
        }
        Ok(())
    }

    /// An agent left the interaction's call while it goes on: a consultant
    /// is released; the primary hands over to the consultant present
    /// longest (CALL-CONF-2).
    pub(super) fn agent_left(&mut self, now: Instant, id: InteractionId, agent: AgentId) -> Result<(), AcdError> {
        let i = self.interactions.get(&id).ok_or(AcdError::UnknownInteraction(id))?;
        let InteractionState::Connected { queue, agent: primary } = i.state else {
            return Err(AcdError::NotConnected(id));
        };
        if agent != primary {
            if !i.info.consultants.iter().any(|c| c.agent == agent) {
                return Err(AcdError::NotInInteraction { agent, interaction: id });
            }
            self.release_consultant(now, id, agent);
            return Ok(());
        }
        let next = i
            .info
            .consultants
            .iter()
            .filter_map(|c| c.joined_at.map(|t| (t, c.agent)))
            .min()
            .map(|(_, a)| a);
        // The leaving primary is done with the interaction; no wrap-up for
        // it (CALL-END-1: the primary at the end wraps up).
        self.release(now, primary, false);
        if let Some(i) = self.interactions.get_mut(&id) {
            i.info.handled_until(now, super::interaction::HandlingEnd::Left);
            if let Some(next) = next {
                i.info.consultants.retain(|c| c.agent != next);
                i.state = InteractionState::Connected { queue, agent: next };
                i.info.handled_by(now, next);
            }
        }
        if let Some(next) = next {
            self.actions.push_back(AcdAction::PrimaryChanged {
                interaction: id,
                from: primary,
                to: next,
            });
        }
        Ok(())
    }

    /// CALL-CONF-4: the customer left; the agents talk on.
    pub(super) fn customer_left(&mut self, now: Instant, id: InteractionId) -> Result<(), AcdError> {
        let i = self.interactions.get_mut(&id).ok_or(AcdError::UnknownInteraction(id))?;
        if i.info.ended_at.is_none() {
            i.info.customer_left_at = Some(now);
        }
        i.info.set_phase(now, Phase::PostCall);
        Ok(())
    }

    /// The interaction's call ended: every consultant is released (only the
    /// primary wraps up, CALL-END-1).
    pub(super) fn release_consultants(&mut self, now: Instant, id: InteractionId) {
        self.drop_consult_wait(id);
        let agents: Vec<AgentId> = self
            .interactions
            .get(&id)
            .map(|i| i.info.consultants.iter().map(|c| c.agent).collect())
            .unwrap_or_default();
        for agent in agents {
            if let Some(offer) = self.consultant_mut(id, agent).and_then(|c| c.offer) {
                let _ = self.take_consult_offer(offer);
            }
            self.release_consultant(now, id, agent);
        }
    }

    pub(super) fn release_consultant(&mut self, now: Instant, id: InteractionId, agent: AgentId) {
        let back_to = self.remove_consultant(now, id, agent).and_then(|c| c.back_to);
        if let Some(a) = self.agents.get_mut(&agent) {
            a.pending = back_to;
        }
        self.release(now, agent, false);
    }

    fn remove_consultant(&mut self, _now: Instant, id: InteractionId, agent: AgentId) -> Option<Consultant> {
        let i = self.interactions.get_mut(&id)?;
        let pos = i.info.consultants.iter().position(|c| c.agent == agent)?;
        Some(i.info.consultants.remove(pos))
    }

    fn consultant_mut(&mut self, id: InteractionId, agent: AgentId) -> Option<&mut Consultant> {
        self.interactions
            .get_mut(&id)?
            .info
            .consultants
            .iter_mut()
            .find(|c| c.agent == agent)
    }

    fn take_consult_offer(&mut self, offer: OfferId) -> Result<Offer, AcdError> {
        match self.offers.get(&offer) {
            Some(o) if o.consult => {}
            _ => return Err(AcdError::UnknownOffer(offer)),
        }
        self.timers.cancel(AcdTimer::Rona(offer));
        self.offers.remove(&offer).ok_or(AcdError::UnknownOffer(offer))
    }
}
