//! SUP-5: a supervisor assigns an open, unassigned interaction (waiting in
//! a line, or ringing agents who have not answered yet: their rings are
//! withdrawn, no RONA) to a queue or to an agent.
//!
//! - **To a queue**: it joins the target queue's line keeping its arrival
//!   order (a reassigned caller does not lose the time already waited), and
//!   the target queue's maximum wait applies from now.
//! - **To an agent**, overriding presence and capacity. Each agent has a
//!   capacity of one unit (one voice interaction: the only channel so far).
//!   An agent who is free (`Available`, or `Idle`: presence overridden) is
//!   offered it at once; an `Idle` agent goes back to that idle state after
//!   the interaction (the AGENT-4 pending state), as if never made
//!   available. An agent already holding an interaction (ringing, busy or
//!   in wrap-up) cannot take a second voice call into the same ear, so the
//!   interaction is held for that agent ([`InteractionState::Assigned`]),
//!   ahead of every queue, and offered the moment the agent is free, even
//!   if the agent then asked for `Idle`. The answer says by how many units
//!   the agent's capacity is exceeded: the units the agent holds (its
//!   interaction and those already held for it) plus this one, minus one.
//!   The agent must be logged in (an assignment to a logged-out agent is
//!   refused: nobody could take the call).
//!
//! An assigned offer that rings out is RONA (OFFER-4) like any other: the
//! interaction goes back to the line of the queue it came from.

use super::agent::{AgentState, RequestedState};
use super::event::CancelReason;
use super::ids::{AgentId, InteractionId, QueueId};
use super::interaction::{InteractionState, Phase};
use super::visit::VisitEnd;
use super::{Acd, AcdError, AcdTimer};
use std::time::Instant;

/// Where a supervisor assigns an interaction (SUP-5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AssignTarget {
    /// An agent, overriding its presence and capacity.
    Agent(AgentId),
    /// A queue's line.
    Queue(QueueId),
}

/// How an assignment is delivered (SUP-5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// The agent's phone rings now.
    Ringing,
    /// Held for the agent until it is free.
    WhenFree,
    /// In the target queue's line.
    Queued,
}

/// What an assignment did (SUP-5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Assignment {
    /// How it reaches its target.
    pub delivery: Delivery,
    /// By how many units the agent's capacity (one voice interaction) is
    /// exceeded; 0 for a queue or a free agent.
    pub capacity_exceeded_by: u32,
    /// The agent was `Idle` and gets it anyway.
    pub presence_overridden: bool,
}

/// An agent's capacity, in units (one voice interaction).
pub const AGENT_CAPACITY: u32 = 1;

impl Acd {
    /// SUP-5: assigns open interaction `id` to `target` (see the module docs).
    ///
    /// # Errors
    /// [`AcdError::UnknownInteraction`], [`AcdError::NotAssignable`] (it is
    /// already with an agent or held for one), [`AcdError::UnknownQueue`],
    /// [`AcdError::UnknownAgent`], [`AcdError::NotLoggedIn`]. A refused
    /// assignment changes nothing.
    pub fn assign(&mut self, now: Instant, id: InteractionId, target: AssignTarget) -> Result<Assignment, AcdError> {
        let result = self.try_assign(now, id, target);
        self.dispatch(now);
        result
    }

    /// CB-5: interaction `id` arrives in `queue` already held for `agent`
    /// (a personal callback: that agent's next interaction): no other
    /// agent is offered it. When the agent cannot take it (logged out),
    /// the error says so and the interaction waits in the line for anyone.
    ///
    /// # Errors
    /// As [`AcdEvent::InteractionArrived`](super::AcdEvent::InteractionArrived)
    /// and [`Acd::assign`].
    #[allow(clippy::too_many_arguments)]
    pub fn arrive_for(
        &mut self,
        now: Instant,
        id: InteractionId,
        queue: super::QueueId,
        priority: u8,
        customer: super::Customer,
        agent: super::AgentId,
    ) -> Result<Assignment, AcdError> {
        self.handle(now, super::AcdEvent::Timeout)?;
        self.arrive(now, id, queue, priority, customer)?;
        let result = self.try_assign(now, id, AssignTarget::Agent(agent));
        self.dispatch(now);
        result
    }

    fn try_assign(&mut self, now: Instant, id: InteractionId, target: AssignTarget) -> Result<Assignment, AcdError> {
        let i = self.interactions.get(&id).ok_or(AcdError::UnknownInteraction(id))?;
        let from = match &i.state {
            InteractionState::Waiting { queue } | InteractionState::Ringing { queue, .. } => *queue,
            InteractionState::Assigned { agent, .. }
            | InteractionState::Connected { agent, .. }
            | InteractionState::WrapUp { agent, .. } => {
                return Err(AcdError::NotAssignable {
                    interaction: id,
                    agent: *agent,
                })
            }
            InteractionState::Transferring { .. } | InteractionState::Closing { .. } => {
                return Err(AcdError::NotOpen(id))
            }
        };
        match target {
            AssignTarget::Queue(q) if !self.queues.contains_key(&q) => return Err(AcdError::UnknownQueue(q)),
            AssignTarget::Agent(a) if !self.agent(a)?.state.is_logged_in() => return Err(AcdError::NotLoggedIn(a)),
            _ => {}
        }
        self.take_out(now, id);
        match target {
            AssignTarget::Queue(to) => {
                self.join_line(now, id, to, VisitEnd::Moved);
                Ok(Assignment {
                    delivery: Delivery::Queued,
                    capacity_exceeded_by: 0,
                    presence_overridden: false,
                })
            }
            AssignTarget::Agent(agent) => {
                self.timers.cancel(AcdTimer::MaxWait(id));
                let held_for = self.held_for(agent);
                let state = self.agent(agent)?.state.clone();
                let engaged = u32::from(matches!(
                    state,
                    AgentState::Reserved { .. } | AgentState::Busy { .. } | AgentState::WrapUp { .. }
                ));
                let units = engaged + held_for + 1;
                if let Some(i) = self.interactions.get_mut(&id) {
                    i.state = InteractionState::Assigned { queue: from, agent };
                    i.info.set_phase(now, Phase::Queued);
                }
                self.assigned.push(id);
                let presence_overridden = matches!(state, AgentState::Idle(_));
                let delivery = if engaged == 0 && held_for == 0 {
                    self.deliver_assigned(now);
                    Delivery::Ringing
                } else {
                    Delivery::WhenFree
                };
                Ok(Assignment {
                    delivery,
                    capacity_exceeded_by: units.saturating_sub(AGENT_CAPACITY),
                    presence_overridden,
                })
            }
        }
    }

    /// Takes interaction `id` out of its line or withdraws its rings.
    fn take_out(&mut self, now: Instant, id: InteractionId) {
        let Some(i) = self.interactions.get(&id) else { return };
        match i.state.clone() {
            InteractionState::Waiting { queue } => {
                let place = i.place(id);
                if let Some(q) = self.queues.get_mut(&queue) {
                    q.waiting.remove(&place);
                }
            }
            InteractionState::Ringing { offers, .. } => {
                for o in offers {
                    self.cancel_offer(now, o, CancelReason::Reassigned);
                }
            }
            _ => {}
        }
    }

    /// Interactions held for `agent` (SUP-5).
    fn held_for(&self, agent: AgentId) -> u32 {
        self.assigned
            .iter()
            .filter(|id| {
                self.interactions
                    .get(id)
                    .is_some_and(|i| matches!(i.state, InteractionState::Assigned { agent: a, .. } if a == agent))
            })
            .count() as u32
    }

    /// Offers each interaction held for a free agent (`Available` or
    /// `Idle`) to that agent, oldest assignment first: an `Idle` agent keeps
    /// its idle state as the state to return to (AGENT-4).
    pub(super) fn deliver_assigned(&mut self, now: Instant) {
        let mut k = 0;
        while k < self.assigned.len() {
            let id = self.assigned[k];
            let Some(InteractionState::Assigned { queue, agent }) = self.interactions.get(&id).map(|i| i.state.clone())
            else {
                self.assigned.remove(k);
                continue;
            };
            let Some(a) = self.agents.get_mut(&agent) else {
                k += 1;
                continue;
            };
            let back_to = match &a.state {
                AgentState::Available => None,
                AgentState::Idle(reason) => Some(RequestedState::Idle(reason.clone())),
                _ => {
                    k += 1;
                    continue;
                }
            };
            if back_to.is_some() {
                a.pending = back_to;
            }
            self.assigned.remove(k);
            let offer = self.make_offer(now, id, queue, agent);
            if let Some(i) = self.interactions.get_mut(&id) {
                i.state = InteractionState::Ringing {
                    queue,
                    offers: vec![offer],
                };
                i.info.set_phase(now, Phase::Ringing);
            }
        }
    }
}
