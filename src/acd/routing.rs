//! The ACD's routing of interactions: arrival in a queue's line (priority
//! then arrival order), offers to available agents by the queue's strategy
//! (AGENT-2, OFFER-1, OFFER-2), answers, declines and RONA (OFFER-4: back
//! in line ahead of later arrivals), overflow after the maximum wait,
//! abandon, the supervisor's force close (SUP-6), and the close that hands
//! an interaction's history over (HIST-3).

use super::agent::{AgentState, IdleReason};
use super::event::{AcdAction, CancelReason};
use super::ids::{AgentId, InteractionId, OfferId, QueueId};
use super::interaction::{Customer, HandlingEnd, Interaction, InteractionInfo, InteractionState, Outcome, Phase};
use super::queue::{AcceptMode, OverflowTarget};
use super::strategy::Strategy;
use super::visit::VisitEnd;
use super::{Acd, AcdError, AcdTimer, Offer};
use std::time::{Duration, Instant};

/// How an offer ended unanswered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Unanswered {
    Declined,
    Rona,
    LegFailed,
}

fn i_handing_over(acd: &Acd, id: InteractionId) -> bool {
    acd.interactions.get(&id).is_some_and(|i| i.handing_over.is_some())
}

impl Acd {
    pub(super) fn arrive(
        &mut self,
        now: Instant,
        id: InteractionId,
        queue: QueueId,
        priority: u8,
        customer: Customer,
    ) -> Result<(), AcdError> {
        if self.interactions.contains_key(&id) {
            return Err(AcdError::DuplicateInteraction(id));
        }
        let q = self.queues.get_mut(&queue).ok_or(AcdError::UnknownQueue(queue))?;
        let seq = self.next_seq;
        self.next_seq += 1;
        let i = Interaction {
            priority,
            seq,
            state: InteractionState::Waiting { queue },
            declined_by: Vec::new(),
            overdue: false,
            offered: 0,
            queued_at: now,
            handing_over: None,
            info: InteractionInfo::new(now, queue, customer),
        };
        q.waiting.insert(i.place(id));
        if let (Some(wait), Some(_)) = (q.cfg.max_wait, &q.cfg.overflow) {
            self.timers.set(AcdTimer::MaxWait(id), now + wait);
        }
        self.interactions.insert(id, i);
        self.dirty.push(queue);
        Ok(())
    }

    /// Offers waiting interactions of the dirty queues to available agents,
    /// the queue whose head is most urgent first.
    pub(super) fn dispatch(&mut self, now: Instant) {
        // SUP-5: what a supervisor assigned to an agent goes first.
        if !self.assigned.is_empty() {
            self.deliver_assigned(now);
        }
        if self.dirty.is_empty() {
            return;
        }
        let mut dirty = std::mem::take(&mut self.dirty);
        dirty.sort_unstable();
        dirty.dedup();
        dirty.sort_by_cached_key(|q| self.queues.get(q).and_then(|q| q.waiting.first().copied()));
        for q in dirty {
            self.dispatch_queue(now, q);
        }
    }

    // spec: AGENT-2
    pub(super) fn dispatch_queue(&mut self, now: Instant, qid: QueueId) {
        // CALL-CONSULT-1: an agent waiting to consult the queue comes first.
        self.dispatch_consults(now, qid);
        loop {
            let Some(queue) = self.queues.get_mut(&qid) else { return };
            if queue.pool.is_empty() || queue.waiting.is_empty() {
                return;
            }
            let ring_all = queue.cfg.strategy == Strategy::RingAll;
            let mut chosen = None;
            for place in &queue.waiting {
                let (declined, min_skill): (&[AgentId], u8) = self
                    .interactions
                    .get(&place.2)
                    .map_or((&[], 0), |i| (&i.declined_by, i.info.customer.min_skill));
                // Issue 14: an entry point's step asks for a skill level:
                // agents below it are passed over, as if they had declined.
                let below: Vec<AgentId>;
                let excluded = if min_skill == 0 {
                    declined
                } else {
                    below = queue
                        .pool
                        .all(declined)
                        .into_iter()
                        .filter(|a| {
                            self.agents.get(a).is_none_or(|ag| {
                                ag.queues
                                    .iter()
                                    .find(|(q, _)| *q == qid)
                                    .is_none_or(|(_, l)| *l < min_skill)
                            })
                        })
                        .chain(declined.iter().copied())
                        .collect();
                    &below
                };
                let agents = if ring_all {
                    queue.pool.all(excluded)
                } else {
                    queue.pool.pick(excluded).into_iter().collect()
                };
                if !agents.is_empty() {
                    chosen = Some((*place, agents));
                    break;
                }
            }
            let Some((place, agents)) = chosen else { return };
            queue.waiting.remove(&place);
            let mut offers = Vec::with_capacity(agents.len());
            for agent in agents {
                offers.push(self.make_offer(now, place.2, qid, agent));
            }
            if let Some(i) = self.interactions.get_mut(&place.2) {
                i.state = InteractionState::Ringing { queue: qid, offers };
                i.info.set_phase(now, Phase::Ringing);
            }
        }
    }

    // spec: OFFER-1
    // spec: OFFER-2
    pub(super) fn make_offer(
        &mut self,
        now: Instant,
        interaction: InteractionId,
        qid: QueueId,
        agent: AgentId,
    ) -> OfferId {
        let offer = OfferId(self.next_offer);
        self.next_offer += 1;
        let (deadline, auto_answer, names) = match self.queues.get(&qid) {
            Some(q) => (
                now + q.cfg.rona_timeout,
                q.cfg.accept == AcceptMode::Auto,
                &q.cfg.offer_variables[..],
            ),
            None => (now, false, &[][..]),
        };
        let (variables, offered_count) = match self.interactions.get_mut(&interaction) {
            Some(i) => {
                i.offered += 1;
                if let Some(v) = i.info.visits.open_mut() {
                    v.offers += 1;
                }
                let all = i.info.customer.data.acd_variables(false);
                let vars = names
                    .iter()
                    .filter_map(|n| all.iter().find(|v| &v.name == n && !v.secure).cloned())
                    .collect();
                (vars, i.offered)
            }
            None => (Vec::new(), 0),
        };
        self.timers.set(AcdTimer::Rona(offer), deadline);
        self.offers.insert(
            offer,
            Offer {
                agent,
                interaction,
                auto_answer,
                offered_at: now,
                deadline,
                variables: variables.clone(),
                consult: false,
            },
        );
        self.set_state(now, agent, AgentState::Reserved { offer, interaction }, false);
        self.actions.push_back(AcdAction::RingAgent {
            offer,
            agent,
            interaction,
            queue: qid,
            auto_answer,
            variables,
            deadline,
            offered_count,
        });
        offer
    }

    pub(super) fn accept(&mut self, now: Instant, offer_id: OfferId) -> Result<(), AcdError> {
        let offer = self.offers.remove(&offer_id).ok_or(AcdError::UnknownOffer(offer_id))?;
        self.timers.cancel(AcdTimer::Rona(offer_id));
        let iid = offer.interaction;
        let (queue, others) = match self.interactions.get_mut(&iid).map(|i| &mut i.state) {
            Some(InteractionState::Ringing { queue, offers }) => (*queue, std::mem::take(offers)),
            _ => return Err(AcdError::UnknownInteraction(iid)),
        };
        if let Some(i) = self.interactions.get_mut(&iid) {
            i.state = InteractionState::Connected {
                queue,
                agent: offer.agent,
            };
            i.info.handled_by(now, offer.agent);
            i.info.set_phase(now, Phase::Connected);
        }
        self.timers.cancel(AcdTimer::MaxWait(iid));
        if let Some(a) = self.agents.get_mut(&offer.agent) {
            a.stats.calls += 1;
        }
        self.set_state(now, offer.agent, AgentState::Busy { interaction: iid }, false);
        self.actions.push_back(AcdAction::Connect {
            offer: offer_id,
            agent: offer.agent,
            interaction: iid,
        });
        // Ring-all: the first answer cancels the other rings.
        for other in others.into_iter().filter(|o| *o != offer_id) {
            self.cancel_offer(now, other, CancelReason::AnsweredElsewhere);
        }
        self.handed_over(now, iid);
        Ok(())
    }

    /// Cancels a ringing offer whose agent is not at fault (ring-all, abandon).
    pub(super) fn cancel_offer(&mut self, now: Instant, id: OfferId, reason: CancelReason) {
        let Some(o) = self.offers.remove(&id) else { return };
        self.timers.cancel(AcdTimer::Rona(id));
        self.actions.push_back(AcdAction::CancelRing {
            offer: id,
            agent: o.agent,
            interaction: o.interaction,
            reason,
        });
        self.release(now, o.agent, true);
    }

    // spec: OFFER-4
    pub(super) fn unanswered(&mut self, now: Instant, id: OfferId, how: Unanswered) -> Result<(), AcdError> {
        if self.offers.get(&id).is_some_and(|o| o.consult) {
            return self.consult_unanswered(now, id, how == Unanswered::Rona);
        }
        let o = self.offers.remove(&id).ok_or(AcdError::UnknownOffer(id))?;
        self.timers.cancel(AcdTimer::Rona(id));
        let cancel = |reason| AcdAction::CancelRing {
            offer: id,
            agent: o.agent,
            interaction: o.interaction,
            reason,
        };
        match how {
            Unanswered::Declined => {
                self.actions.push_back(cancel(CancelReason::Declined));
                if let Some(i) = self.interactions.get_mut(&o.interaction) {
                    i.declined_by.push(o.agent);
                }
                self.release(now, o.agent, false);
            }
            Unanswered::Rona | Unanswered::LegFailed => {
                if how == Unanswered::Rona {
                    self.actions.push_back(cancel(CancelReason::Rona));
                }
                self.actions.push_back(AcdAction::OfferTimedOut {
                    offer: id,
                    agent: o.agent,
                    interaction: o.interaction,
                });
                if let Some(a) = self.agents.get_mut(&o.agent) {
                    a.pending = None;
                }
                if let Some(v) = self
                    .interactions
                    .get_mut(&o.interaction)
                    .and_then(|i| i.info.visits.open_mut())
                {
                    v.ronas += 1;
                }
                self.set_state(now, o.agent, AgentState::Idle(IdleReason::Rona), false);
            }
        }
        let Some(i) = self.interactions.get_mut(&o.interaction) else {
            return Ok(());
        };
        if let InteractionState::Ringing { queue, offers } = &mut i.state {
            offers.retain(|x| *x != id);
            if offers.is_empty() {
                let queue = *queue;
                if i.handing_over.is_some() {
                    self.hand_back(now, o.interaction, queue);
                } else {
                    self.requeue(now, o.interaction, queue);
                }
            }
        }
        Ok(())
    }

    /// OFFER-4: back into the line at the place it had (ahead of later arrivals).
    pub(super) fn requeue(&mut self, now: Instant, id: InteractionId, queue: QueueId) {
        let Some(i) = self.interactions.get_mut(&id) else {
            return;
        };
        if i.overdue {
            self.overflow(now, id, queue);
            return;
        }
        i.state = InteractionState::Waiting { queue };
        i.info.set_phase(now, Phase::Queued);
        // Back after an answer (a failed transfer, CALL-XFER-2): a new visit.
        i.info.visits.enter(now, queue, VisitEnd::Moved);
        let place = i.place(id);
        if let Some(q) = self.queues.get_mut(&queue) {
            q.waiting.insert(place);
        }
        self.dirty.push(queue);
    }

    /// Interaction `id` (out of any line) joins queue `to`'s line at the
    /// place its priority and arrival give it (SUP-5 assign, CALL-XFER-1
    /// transfer, overflow to a queue); `to`'s maximum wait counts from now.
    /// A visit to another queue still under way ends as `moved` says.
    pub(super) fn join_line(&mut self, now: Instant, id: InteractionId, to: QueueId, moved: VisitEnd) {
        self.timers.cancel(AcdTimer::MaxWait(id));
        let Some(i) = self.interactions.get_mut(&id) else {
            return;
        };
        i.overdue = false;
        i.queued_at = now;
        i.info.visits.enter(now, to, moved);
        i.info.queue = to;
        i.state = InteractionState::Waiting { queue: to };
        i.info.set_phase(now, Phase::Queued);
        let place = i.place(id);
        if let Some(q) = self.queues.get_mut(&to) {
            q.waiting.insert(place);
            if let (Some(wait), Some(_)) = (q.cfg.max_wait, &q.cfg.overflow) {
                self.timers.set(AcdTimer::MaxWait(id), now + wait);
            }
        }
        self.dirty.push(to);
    }

    /// The interaction (out of any line) leaves `from` for its overflow target.
    pub(super) fn overflow(&mut self, now: Instant, id: InteractionId, from: QueueId) {
        let Some(target) = self.queues.get(&from).and_then(|q| q.cfg.overflow.clone()) else {
            return;
        };
        match &target {
            OverflowTarget::Queue(to) if self.queues.contains_key(to) => {
                self.join_line(now, id, *to, VisitEnd::Overflowed)
            }
            OverflowTarget::Queue(_) => {}
            OverflowTarget::External(_) => {}
        }
        let external = matches!(target, OverflowTarget::External(_));
        self.actions.push_back(AcdAction::Overflow {
            interaction: id,
            from,
            target,
        });
        if external {
            self.close(now, id, Outcome::Overflowed);
        }
    }

    pub(super) fn abandon(&mut self, now: Instant, id: InteractionId) -> Result<(), AcdError> {
        let i = self.interactions.get(&id).ok_or(AcdError::UnknownInteraction(id))?;
        match &i.state {
            InteractionState::Connected { .. } => return self.end(now, id),
            // The call already ended; the wrap-up goes on.
            InteractionState::WrapUp { .. } => return Ok(()),
            // Held for an agent (SUP-5), or a transfer to a number ringing
            // (the engine withdraws that leg): nothing of the ACD's rings.
            InteractionState::Assigned { .. } | InteractionState::Transferring { .. } => {}
            // Over: only a wrap-up keeps it.
            InteractionState::Closing { .. } => return Ok(()),
            InteractionState::Waiting { queue } => {
                let place = i.place(id);
                if let Some(q) = self.queues.get_mut(queue) {
                    q.waiting.remove(&place);
                }
            }
            InteractionState::Ringing { offers, queue } => {
                let (offers, queue) = (offers.clone(), *queue);
                for o in offers {
                    self.cancel_offer(now, o, CancelReason::Abandoned);
                }
                if i_handing_over(self, id) {
                    // CALL-XFER-6: the customer hung up on the agent it was
                    // still talking to: that agent wraps up.
                    self.hand_back(now, id, queue);
                    return self.end(now, id);
                }
            }
        }
        // After a transfer the transferring agent may still wrap up.
        self.finish(now, id, Outcome::Abandoned);
        Ok(())
    }

    // spec: SUP-6
    pub(super) fn force_close(&mut self, now: Instant, id: InteractionId) -> Result<(), AcdError> {
        let i = self.interactions.get(&id).ok_or(AcdError::UnknownInteraction(id))?;
        match i.state.clone() {
            InteractionState::Assigned { .. } => {}
            InteractionState::Waiting { queue } => {
                let place = i.place(id);
                if let Some(q) = self.queues.get_mut(&queue) {
                    q.waiting.remove(&place);
                }
            }
            InteractionState::Ringing { offers, .. } => {
                for o in offers {
                    self.cancel_offer(now, o, CancelReason::Abandoned);
                }
                // CALL-XFER-6: the agent it was being handed away from.
                self.release_consultants(now, id);
            }
            InteractionState::Connected { agent, .. } => {
                self.release_consultants(now, id);
                if let Some(i) = self.interactions.get_mut(&id) {
                    i.info.handled_until(now, HandlingEnd::Supervisor);
                }
                self.release(now, agent, false);
            }
            InteractionState::Transferring { .. } | InteractionState::Closing { .. } => {}
            InteractionState::WrapUp { agent, .. } => {
                self.timers.cancel(AcdTimer::WrapUp(agent));
                if let Some(a) = self.agents.get_mut(&agent) {
                    a.wrap_up_queue = None;
                }
                self.actions.push_back(AcdAction::WrapUpEnded {
                    agent,
                    interaction: id,
                    reasons: Vec::new(),
                    notes: String::new(),
                    timed_out: false,
                });
                self.release(now, agent, false);
            }
        }
        self.close(now, id, Outcome::Closed);
        Ok(())
    }

    /// The interaction leaves the ACD: its history, booked up to `now`, goes
    /// out in [`AcdAction::InteractionClosed`] (HIST-3).
    pub(super) fn close(&mut self, now: Instant, id: InteractionId, outcome: Outcome) {
        self.timers.cancel(AcdTimer::MaxWait(id));
        self.drop_consult_wait(id);
        self.assigned.retain(|a| *a != id);
        let Some(mut i) = self.interactions.remove(&id) else {
            return;
        };
        if i.info.ended_at.is_none() {
            i.info.ended_at = Some(now);
        }
        i.info.visits.leave(now, outcome.into(), None);
        i.info.close(now);
        if outcome == Outcome::Answered {
            let handled = Duration::from_millis(i.info.durations().handled_ms());
            let aht = self.aht.entry(i.info.queue).or_insert(handled);
            *aht = (*aht * 7 + handled) / 8;
        }
        self.actions.push_back(AcdAction::InteractionClosed {
            interaction: id,
            outcome,
            info: Box::new(i.info),
        });
    }
}
