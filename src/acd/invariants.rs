//! The ACD core's invariants, checked in tests and while debugging.

use super::interaction::InteractionState;
use super::{Acd, AgentId, AgentState, QueueId};
use std::collections::{HashMap, HashSet};

impl Acd {
    /// Checks the core's invariants in `O(agents + interactions)` (tests,
    /// debugging): each agent has at most one offer and is in the pools iff
    /// `Available`; each interaction is in exactly one place; no queue has
    /// both a waiting interaction it could offer and an available agent.
    pub fn check_invariants(&self) -> Result<(), String> {
        let mut per_agent: HashMap<AgentId, usize> = HashMap::new();
        for (id, o) in self.offers.iter().filter(|(_, o)| !o.consult) {
            *per_agent.entry(o.agent).or_default() += 1;
            let a = &self.agents[&o.agent];
            if a.state
                != (AgentState::Reserved {
                    offer: *id,
                    interaction: o.interaction,
                })
            {
                return Err(format!("{id} rings {} in state {:?}", o.agent, a.state));
            }
            match self.interactions.get(&o.interaction).map(|i| &i.state) {
                Some(InteractionState::Ringing { offers, .. }) if offers.contains(id) => {}
                other => return Err(format!("{id} for {} in {other:?}", o.interaction)),
            }
        }
        if let Some((a, n)) = per_agent.iter().find(|(_, n)| **n > 1) {
            return Err(format!("{a} has {n} offers"));
        }
        let members: HashSet<(QueueId, AgentId)> = self
            .queues
            .iter()
            .flat_map(|(q, queue)| queue.pool.all(&[]).into_iter().map(|a| (*q, a)))
            .collect();
        let mut pooled = 0;
        for a in self.agents.values() {
            let available = a.state == AgentState::Available;
            for (q, _) in &a.queues {
                let inside = members.contains(&(*q, a.id));
                if inside != available {
                    return Err(format!("{} in {q} pool: {inside}, state {:?}", a.id, a.state));
                }
                pooled += usize::from(inside);
            }
            if let AgentState::Reserved { offer, .. } = a.state {
                if !self.offers.contains_key(&offer) {
                    return Err(format!("{} reserved for a gone {offer}", a.id));
                }
            }
        }
        let pool_total: usize = self.queues.values().map(|q| q.pool.len()).sum();
        if pooled != pool_total {
            return Err(format!("pools hold {pool_total} entries, {pooled} expected"));
        }
        let mut waiting = 0;
        for (id, i) in &self.interactions {
            match &i.state {
                InteractionState::Waiting { queue } => {
                    waiting += 1;
                    if !self.queues[queue].waiting.contains(&i.place(*id)) {
                        return Err(format!("{id} not in {queue}'s line"));
                    }
                }
                InteractionState::Ringing { offers, .. } => {
                    if offers.is_empty() || offers.iter().any(|o| self.offers[o].interaction != *id) {
                        return Err(format!("{id} ringing with bad offers {offers:?}"));
                    }
                }
                InteractionState::Assigned { agent, .. } => {
                    if matches!(self.agents[agent].state, AgentState::Available | AgentState::Idle(_)) {
                        return Err(format!("{id} held for {agent}, who is free"));
                    }
                    if !self.assigned.contains(id) {
                        return Err(format!("{id} held for {agent} but not in the assigned list"));
                    }
                }
                InteractionState::Connected { agent, .. } => {
                    if self.agents[agent].state != (AgentState::Busy { interaction: *id }) {
                        return Err(format!("{id} connected to {agent} in {:?}", self.agents[agent].state));
                    }
                }
                InteractionState::Transferring { .. } => {}
                InteractionState::Closing { .. } => {
                    if !self.wrapping_up(*id, None) {
                        return Err(format!("{id} closing with nobody wrapping it up"));
                    }
                }
                InteractionState::WrapUp { agent, .. } => {
                    if !matches!(self.agents[agent].state, AgentState::WrapUp { interaction, .. } if interaction == *id)
                    {
                        return Err(format!("{id} wrapped up by {agent} in {:?}", self.agents[agent].state));
                    }
                }
            }
        }
        let lined: usize = self.queues.values().map(|q| q.waiting.len()).sum();
        if lined != waiting {
            return Err(format!("lines hold {lined}, {waiting} waiting"));
        }
        for (qid, q) in &self.queues {
            if !q.consults.is_empty() && !q.pool.is_empty() {
                return Err(format!("{qid} has a consult waiting and an agent available"));
            }
            for c in &q.consults {
                if self.interactions.get(c).and_then(|i| i.info.consult_waiting) != Some(*qid) {
                    return Err(format!("{c} waits to consult {qid} but does not know it"));
                }
            }
            if let Some(p) = q.waiting.first() {
                let declined = &self.interactions[&p.2].declined_by;
                if !q.pool.all(declined).is_empty() {
                    return Err(format!("{qid} has {} waiting and an agent available", p.2));
                }
            }
        }
        Ok(())
    }
}
