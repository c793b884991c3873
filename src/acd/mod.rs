//! The ACD core: queues, agents, offers, RONA and wrap-up as one sans-IO
//! state machine (DESIGN.md "pure cores"): [`Acd::handle`] takes the time and
//! an [`AcdEvent`], [`Acd::poll_action`] drains [`AcdAction`]s, and
//! [`Acd::poll_timeout`] gives the next deadline (RONA, wrap-up end,
//! overflow). It never reads the clock.
//!
//! It is the one owner of each interaction's state (DESIGN.md): routing
//! state, phase, primary agent, the customer's number and call data
//! (CAD-1..4, saved with [`Acd::save_data`]) and the time booked per phase
//! (HIST-3, [`interaction`]), from arrival to the end of wrap-up, when
//! [`AcdAction::InteractionClosed`] hands the whole history over for the
//! store. The engine keeps only the map from interactions to calls and SIP legs.
//!
//! Rules implemented: AGENT-1 (states, [`AgentState`]), AGENT-2 (only
//! `Available` agents get offers), AGENT-3 (no logout while an offer rings),
//! AGENT-4 (idle asked while engaged is pending, handling time kept),
//! AGENT-6 (every state change is an [`AcdAction::AgentStateChanged`]),
//! OFFER-1 (manual or auto accept), OFFER-2 (the offer's variables, secure
//! ones left out), OFFER-4 (decline and RONA return the interaction ahead of
//! later arrivals; RONA sets `Idle(RONA)`), WRAP-1..3 (wrap-up time and
//! reasons per queue: a submitted reason must be one of the queue the
//! wrapped-up interaction came from) and CALL-END-1 (only the connected,
//! primary agent wraps up).
//!
//! Details the spec leaves open, decided as an agent would expect:
//! - RONA fires exactly at the deadline: an answer handled at the deadline
//!   is too late (timers due at `now` fire before the event).
//! - A declining agent returns to `Available` (or its pending state) and is
//!   not offered the same interaction again.
//! - A failed phone leg (busy, unreachable) is treated like RONA.
//! - Logout is refused while `Reserved` (AGENT-3), `Busy` or in `WrapUp`.
//! - Ring-all: agents whose ring is cancelled because another answered keep
//!   their place in the longest-idle order.
//! - Overflow after the queue's maximum wait: an interaction ringing at that
//!   moment finishes its offer first and overflows only if it comes back.
//! - Ring-all rings every available agent of the queue, one offer each; if
//!   none answers, each of them is set `Idle(RONA)` (OFFER-4 per offer).
//! - Priority is per interaction (higher first) and compared across queues
//!   when an agent serving several queues becomes available.
//! - SUP-5 assignments ([`Acd::assign`], `assign.rs`): an agent's capacity
//!   is one voice interaction; one assigned over it is held for the agent
//!   and offered the moment the agent is free.
//!
//! Scope: voice is the only channel so far. AGENT-5 therefore holds
//! trivially (do-not-disturb is `Idle`, which covers the one channel, and
//! logging out is logging out of it); OFFER-5's stacking cannot arise, since
//! an agent never has two offers at once (one voice channel per agent);
//! OFFER-6's callback offers come with callbacks (CB-*), not yet built.

mod agent;
mod assign;
mod cad;
pub mod callback;
mod consult;
mod error;
mod event;
mod ids;
pub mod interaction;
mod invariants;
mod queue;
mod routing;
mod strategy;
mod transfer;
pub mod visit;

pub use agent::{AgentState, AgentStats, IdleReason, RequestedState};
pub use assign::{AssignTarget, Assignment, Delivery, AGENT_CAPACITY};
pub use cad::{
    mask_number, AgentView, CadError, InteractionData, VarType, VariableSpec, VariableView, CALLER_NUMBER,
    MAX_VALUE_CHARS,
};
pub use consult::Consultant;
pub use error::AcdError;
pub use event::{AcdAction, AcdEvent, CancelReason};
pub use ids::{AgentId, InteractionId, OfferId, QueueId};
pub use interaction::{
    Customer, Handling, HandlingEnd, InteractionInfo, InteractionState, Outcome, Phase, PhaseDurations,
};
pub use queue::{AcceptMode, OverflowTarget, QueueConfig, Variable};
pub use strategy::Strategy;
pub use transfer::TransferTarget;

use crate::time::TimerTable;
use agent::Agent;
use interaction::Interaction;
use queue::Queue;
use routing::Unanswered;
use std::collections::{HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

/// One agent's configuration: the queues it serves with a skill level each.
#[derive(Clone, Debug)]
pub struct AgentConfig {
    /// The agent's id.
    pub id: AgentId,
    /// Queues served and the skill level for each (higher is better; skills-based strategy).
    pub queues: Vec<(QueueId, u8)>,
}

/// A queue's live numbers ([`Acd::queue_gauges`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueueGauge {
    /// The queue.
    pub queue: QueueId,
    /// Customers not yet answered in it (waiting or ringing an agent).
    pub waiting: usize,
    /// The longest of their waits in this queue (zero when none waits).
    pub longest_wait: Duration,
    /// The queue's agents (those serving it) in each AGENT-1 state, in
    /// [`AgentState::NAMES`] order (the supervisor's queue tiles).
    pub agents: [(&'static str, u64); 6],
}

/// The ACD's typed configuration (validated by [`Acd::new`]).
#[derive(Clone, Debug, Default)]
pub struct AcdConfig {
    /// The queues.
    pub queues: Vec<QueueConfig>,
    /// The agents.
    pub agents: Vec<AgentConfig>,
    /// AGENT-1: the tenant's idle reasons (`RONA` is built in). Wrap-up
    /// reasons are per queue ([`QueueConfig::wrap_up_reasons`]).
    pub idle_reasons: Vec<String>,
}

/// The ACD's timers (DESIGN.md convention 2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum AcdTimer {
    /// OFFER-4: the offer rang out.
    Rona(OfferId),
    /// WRAP-2: the wrap-up time ran out.
    WrapUp(AgentId),
    /// The queue's maximum wait passed.
    MaxWait(InteractionId),
}

/// A ringing offer, as desktops show it (OFFER-1..3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Offer {
    /// The agent it rings for.
    pub agent: AgentId,
    /// The interaction offered.
    pub interaction: InteractionId,
    /// OFFER-1: the switch answers for the agent.
    pub auto_answer: bool,
    /// When it started ringing.
    pub offered_at: Instant,
    /// When RONA fires (OFFER-4).
    pub deadline: Instant,
    /// OFFER-2: the queue's chosen variables, in its order, secure ones left out.
    pub variables: Vec<Variable>,
    /// A consult offer (CALL-CONSULT-1), not a queue offer.
    pub consult: bool,
}

/// The ACD state machine (see the module docs for the rules it keeps).
#[derive(Debug)]
pub struct Acd {
    queues: HashMap<QueueId, Queue>,
    agents: HashMap<AgentId, Agent>,
    interactions: HashMap<InteractionId, Interaction>,
    offers: HashMap<OfferId, Offer>,
    timers: TimerTable<AcdTimer>,
    actions: VecDeque<AcdAction>,
    /// Queues that may have both a waiting interaction and an available agent.
    dirty: Vec<QueueId>,
    next_offer: u64,
    next_seq: u64,
    idle_reasons: HashSet<String>,
    /// Average handle time per queue (expected wait), from closed interactions.
    aht: HashMap<QueueId, Duration>,
    /// SUP-5: interactions held for a busy agent, oldest assignment first.
    assigned: Vec<InteractionId>,
}

impl Acd {
    /// Builds the ACD from its configuration, every agent `LoggedOut`;
    /// refuses duplicate ids and references to unknown queues.
    pub fn new(cfg: AcdConfig) -> Result<Self, AcdError> {
        let mut queues = HashMap::new();
        for q in &cfg.queues {
            if queues.insert(q.id, Queue::new(q.clone())).is_some() {
                return Err(AcdError::DuplicateConfigId(q.id.to_string()));
            }
        }
        for q in &cfg.queues {
            if let Some(OverflowTarget::Queue(t)) = &q.overflow {
                if *t == q.id {
                    return Err(AcdError::SelfOverflow(q.id));
                }
                if !queues.contains_key(t) {
                    return Err(AcdError::UnknownQueue(*t));
                }
            }
        }
        let mut agents = HashMap::new();
        for a in cfg.agents {
            if let Some((q, _)) = a.queues.iter().find(|(q, _)| !queues.contains_key(q)) {
                return Err(AcdError::UnknownQueue(*q));
            }
            if agents.contains_key(&a.id) {
                return Err(AcdError::DuplicateConfigId(a.id.to_string()));
            }
            agents.insert(a.id, Agent::new(a.id, a.queues));
        }
        Ok(Acd {
            queues,
            agents,
            interactions: HashMap::new(),
            offers: HashMap::new(),
            timers: TimerTable::new(),
            actions: VecDeque::new(),
            dirty: Vec::new(),
            next_offer: 1,
            next_seq: 0,
            idle_reasons: cfg.idle_reasons.into_iter().collect(),
            aht: HashMap::new(),
            assigned: Vec::new(),
        })
    }

    /// An ACD with no queue and no agent.
    pub fn empty() -> Self {
        Acd {
            queues: HashMap::new(),
            agents: HashMap::new(),
            interactions: HashMap::new(),
            offers: HashMap::new(),
            timers: TimerTable::new(),
            actions: VecDeque::new(),
            dirty: Vec::new(),
            next_offer: 1,
            next_seq: 0,
            idle_reasons: HashSet::new(),
            aht: HashMap::new(),
            assigned: Vec::new(),
        }
    }

    /// Fires every timer due at `now` (each at its own deadline), then
    /// applies `event`, then offers waiting interactions to available agents.
    /// A refused event changes nothing (the timers due still fire).
    pub fn handle(&mut self, now: Instant, event: AcdEvent) -> Result<(), AcdError> {
        while let Some((timer, at)) = self.timers.pop_expired(now) {
            self.fire(at, timer);
            self.dispatch(at);
        }
        let result = self.apply(now, event);
        self.dispatch(now);
        result
    }

    /// The next action to carry out, in order; drain until `None`.
    pub fn poll_action(&mut self) -> Option<AcdAction> {
        self.actions.pop_front()
    }

    /// When [`Acd::handle`] must next be called (with [`AcdEvent::Timeout`]
    /// if nothing else happens).
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next_expiry()
    }

    /// An agent's state (AGENT-1).
    pub fn agent_state(&self, agent: AgentId) -> Option<&AgentState> {
        self.agents.get(&agent).map(|a| &a.state)
    }

    /// An agent's pending state (AGENT-4).
    pub fn agent_pending(&self, agent: AgentId) -> Option<&RequestedState> {
        self.agents.get(&agent).and_then(|a| a.pending.as_ref())
    }

    /// The queue whose interaction `agent` is wrapping up: its
    /// [`QueueConfig::wrap_up_reasons`] are the ones the agent may submit
    /// (WRAP-1). `None` when the agent is not in `WrapUp`.
    pub fn wrap_up_queue(&self, agent: AgentId) -> Option<QueueId> {
        self.agents
            .get(&agent)
            .filter(|a| matches!(a.state, AgentState::WrapUp { .. }))
            .and_then(|a| a.wrap_up_queue)
    }

    /// Time per kind of state up to `now`, and calls connected (AGENT-4).
    pub fn agent_stats(&self, agent: AgentId, now: Instant) -> Option<AgentStats> {
        self.agents.get(&agent).map(|a| a.stats_at(now))
    }

    /// Where an interaction is, if the ACD holds it.
    pub fn interaction_state(&self, id: InteractionId) -> Option<&InteractionState> {
        self.interactions.get(&id).map(|i| &i.state)
    }

    /// An interaction's history and data (HIST-3, CAD-1), while the ACD holds
    /// it (from arrival to the end of wrap-up).
    pub fn interaction(&self, id: InteractionId) -> Option<&InteractionInfo> {
        self.interactions.get(&id).map(|i| &i.info)
    }

    /// Every interaction the ACD holds, in no particular order (SUP-1).
    pub fn interactions(&self) -> impl Iterator<Item = (InteractionId, &InteractionInfo)> {
        self.interactions.iter().map(|(id, i)| (*id, &i.info))
    }

    /// A ringing offer (OFFER-1..3).
    pub fn offer(&self, id: OfferId) -> Option<&Offer> {
        self.offers.get(&id)
    }

    /// The offers ringing for `interaction`, oldest first.
    pub fn offers_of(&self, interaction: InteractionId) -> Vec<OfferId> {
        match self.interactions.get(&interaction).map(|i| &i.state) {
            Some(InteractionState::Ringing { offers, .. }) => offers.clone(),
            _ => Vec::new(),
        }
    }

    /// CAD-3: saves `changes` to the interaction's data on top of version
    /// `base`, all or nothing; the new version.
    pub fn save_data(&mut self, id: InteractionId, base: u64, changes: &[(String, String)]) -> Result<u64, AcdError> {
        let i = self.interactions.get_mut(&id).ok_or(AcdError::UnknownInteraction(id))?;
        Ok(i.info.customer.data.save(base, changes)?)
    }

    /// CALL-CONSULT-1: the agent a consult to `queue` rings: the one its
    /// strategy picks among its `Available` agents, `excluded` left out
    /// (agents whose phone cannot ring).
    pub fn next_available(&mut self, queue: QueueId, excluded: &[AgentId]) -> Option<AgentId> {
        self.queues.get_mut(&queue)?.pool.pick(excluded)
    }

    /// The queue's average handle time (talk, hold, consult, conference,
    /// post-call and wrap-up; an exponential average with weight 1/8 for the
    /// newest interaction), `None` before its first answered interaction closed.
    pub fn average_handle_time(&self, queue: QueueId) -> Option<Duration> {
        self.aht.get(&queue).copied()
    }

    /// A queue's waiting interactions in service order (priority, then arrival).
    pub fn waiting(&self, queue: QueueId) -> Vec<InteractionId> {
        self.queues
            .get(&queue)
            .map(|q| q.waiting.iter().map(|p| p.2).collect())
            .unwrap_or_default()
    }

    /// Every queue's customers not yet answered (waiting in line, or
    /// ringing an agent: the customer still waits) and the longest of
    /// their waits in that queue at `now`, by queue id (`/metrics`, issue
    /// 13 item 4). Interactions held for an assigned agent (SUP-5) count
    /// too: they wait.
    pub fn queue_gauges(&self, now: Instant) -> Vec<QueueGauge> {
        let mut out: Vec<QueueGauge> = self
            .queues
            .keys()
            .map(|&queue| QueueGauge {
                queue,
                waiting: 0,
                longest_wait: Duration::ZERO,
                agents: AgentState::NAMES.map(|n| (n, 0u64)),
            })
            .collect();
        out.sort_unstable_by_key(|g| g.queue);
        for a in self.agents.values() {
            for (queue, _) in &a.queues {
                let Ok(at) = out.binary_search_by_key(queue, |g| g.queue) else {
                    continue;
                };
                if let Some(slot) = out[at].agents.iter_mut().find(|(n, _)| *n == a.state.name()) {
                    slot.1 += 1;
                }
            }
        }
        for i in self.interactions.values() {
            let queue = match &i.state {
                InteractionState::Waiting { queue }
                | InteractionState::Ringing { queue, .. }
                | InteractionState::Assigned { queue, .. } => *queue,
                _ => continue,
            };
            if let Ok(at) = out.binary_search_by_key(&queue, |g| g.queue) {
                out[at].waiting += 1;
                out[at].longest_wait = out[at].longest_wait.max(now.saturating_duration_since(i.queued_at));
            }
        }
        out
    }

    /// How many agents are in each AGENT-1 state, in
    /// [`AgentState::NAMES`] order (`/metrics`).
    pub fn agents_by_state(&self) -> [(&'static str, u64); 6] {
        let mut out = AgentState::NAMES.map(|n| (n, 0u64));
        for a in self.agents.values() {
            if let Some(slot) = out.iter_mut().find(|(n, _)| *n == a.state.name()) {
                slot.1 += 1;
            }
        }
        out
    }

    /// Number of `Available` agents serving `queue`.
    pub fn available_count(&self, queue: QueueId) -> usize {
        self.queues.get(&queue).map_or(0, |q| q.pool.len())
    }

    /// CALL-XFER-4: interaction `id` enters a flow whose variables `keep`
    /// accepts; the others' values are dropped. The names dropped.
    ///
    /// # Errors
    /// [`AcdError::UnknownInteraction`].
    pub fn keep_variables(&mut self, id: InteractionId, keep: impl Fn(&str) -> bool) -> Result<Vec<String>, AcdError> {
        let i = self.interactions.get_mut(&id).ok_or(AcdError::UnknownInteraction(id))?;
        Ok(i.info.customer.data.keep_only(keep))
    }

    /// Number of interactions the ACD holds (waiting, ringing, connected or in wrap-up).
    pub fn interaction_count(&self) -> usize {
        self.interactions.len()
    }

    fn apply(&mut self, now: Instant, event: AcdEvent) -> Result<(), AcdError> {
        match event {
            AcdEvent::Timeout => Ok(()),
            AcdEvent::InteractionArrived {
                id,
                queue,
                priority,
                customer,
            } => self.arrive(now, id, queue, priority, *customer),
            AcdEvent::InteractionAbandoned { id } => self.abandon(now, id),
            AcdEvent::InteractionEnded { id } => self.end(now, id),
            AcdEvent::HoldChanged { id, held } => {
                let i = self.interactions.get_mut(&id).ok_or(AcdError::UnknownInteraction(id))?;
                if i.info.phase == Phase::Connected && i.info.held != held {
                    i.info.set_held(now, held);
                }
                Ok(())
            }
            AcdEvent::AgentLogin { agent, state } => self.login(now, agent, state),
            AcdEvent::AgentLogout { agent } => self.logout(now, agent),
            AcdEvent::AgentSetState { agent, state } => self.request_state(now, agent, state),
            AcdEvent::OfferAccepted { offer } | AcdEvent::PhoneAnswered { offer }
                if self.offers.get(&offer).is_some_and(|o| o.consult) =>
            {
                self.consult_answered(now, offer)
            }
            AcdEvent::OfferAccepted { offer } | AcdEvent::PhoneAnswered { offer } => self.accept(now, offer),
            AcdEvent::ConsultAgent { id, agent } => self.consult_agent(now, id, agent),
            AcdEvent::ConsultQueue { id, queue } => self.consult_queue(now, id, queue),
            AcdEvent::ConsultStarted { id } => self.consult_started(now, id),
            AcdEvent::ConsultOver { id } => self.consult_over(now, id),
            AcdEvent::Merged { id } => self.merged(now, id),
            AcdEvent::AgentLeft { id, agent } => self.agent_left(now, id, agent),
            AcdEvent::CustomerLeft { id } => self.customer_left(now, id),
            AcdEvent::ForceClose { id } => self.force_close(now, id),
            AcdEvent::OfferDeclined { offer } => self.unanswered(now, offer, Unanswered::Declined),
            AcdEvent::PhoneLegFailed { offer } => self.unanswered(now, offer, Unanswered::LegFailed),
            AcdEvent::WrapUpSubmitted { agent, reasons, notes } => {
                if reasons.is_empty() {
                    return Err(AcdError::NoWrapUpReason);
                }
                let a = self.agent(agent)?;
                if !matches!(a.state, AgentState::WrapUp { .. }) {
                    return Err(AcdError::NotInWrapUp(agent));
                }
                // WRAP-1: the reasons of the queue the interaction came from.
                let allowed = a
                    .wrap_up_queue
                    .and_then(|q| self.queues.get(&q))
                    .map_or(&[][..], |q| &q.cfg.wrap_up_reasons[..]);
                if let Some(r) = reasons.iter().find(|r| !allowed.contains(*r)) {
                    return Err(AcdError::UnknownWrapUpReason(r.clone()));
                }
                self.end_wrap_up(now, agent, reasons, notes, false)
            }
            AcdEvent::WrapUpExtend { agent, by } => self.extend_wrap_up(now, agent, by),
            AcdEvent::Transfer { id, target } => self.transfer(now, id, target),
            AcdEvent::TransferToConsultant { id } => self.transfer_to_consultant(now, id),
            AcdEvent::TransferAnswered { id } => self.transfer_answered(now, id),
            AcdEvent::TransferFailed { id } => self.transfer_failed(now, id),
            AcdEvent::TransferEnteredQueue {
                id,
                queue,
                priority,
                min_skill,
            } => self.transfer_entered_queue(now, id, queue, priority, min_skill),
            AcdEvent::SupervisorTransfer { id, agent } => self.supervisor_transfer(now, id, agent),
        }
    }

    fn fire(&mut self, at: Instant, timer: AcdTimer) {
        match timer {
            AcdTimer::Rona(offer) => {
                // The offer is known: answers and cancels disarm the timer.
                let _ = self.unanswered(at, offer, Unanswered::Rona);
            }
            AcdTimer::WrapUp(agent) => {
                let _ = self.end_wrap_up(at, agent, Vec::new(), String::new(), true);
            }
            AcdTimer::MaxWait(id) => {
                let Some(i) = self.interactions.get_mut(&id) else {
                    return;
                };
                match i.state {
                    InteractionState::Waiting { queue } => {
                        let place = i.place(id);
                        if let Some(q) = self.queues.get_mut(&queue) {
                            q.waiting.remove(&place);
                        }
                        self.overflow(at, id, queue);
                    }
                    InteractionState::Ringing { .. } => i.overdue = true,
                    InteractionState::Assigned { .. }
                    | InteractionState::Connected { .. }
                    | InteractionState::Transferring { .. }
                    | InteractionState::Closing { .. }
                    | InteractionState::WrapUp { .. } => {}
                }
            }
        }
    }

    fn agent(&self, id: AgentId) -> Result<&Agent, AcdError> {
        self.agents.get(&id).ok_or(AcdError::UnknownAgent(id))
    }

    fn check_reason(&self, state: &RequestedState) -> Result<(), AcdError> {
        match state {
            RequestedState::Idle(IdleReason::Named(r)) if !self.idle_reasons.contains(r) => {
                Err(AcdError::UnknownIdleReason(r.clone()))
            }
            _ => Ok(()),
        }
    }

    /// Moves an agent to `state` (AGENT-6 event, pools, time accounting).
    /// `keep_place` keeps its longest-idle position when it becomes
    /// `Available` again through no doing of its own.
    fn set_state(&mut self, now: Instant, id: AgentId, state: AgentState, keep_place: bool) {
        let Some(a) = self.agents.get_mut(&id) else { return };
        a.account(now);
        if a.state == AgentState::Available {
            for (q, skill) in &a.queues {
                if let Some(queue) = self.queues.get_mut(q) {
                    queue.pool.remove(id, a.pool_key(*skill));
                }
            }
        }
        a.state = state;
        if a.state == AgentState::Available {
            if !keep_place || a.available_since.is_none() {
                a.available_since = Some(now);
            }
            for (q, skill) in &a.queues {
                if let Some(queue) = self.queues.get_mut(q) {
                    queue.pool.insert(id, a.pool_key(*skill));
                    self.dirty.push(*q);
                }
            }
        }
        self.actions.push_back(AcdAction::AgentStateChanged {
            agent: id,
            state: a.state.clone(),
            pending: a.pending.clone(),
            at: now,
        });
    }

    /// WRAP-3 / AGENT-4: the pending state, or `Available`.
    fn release(&mut self, now: Instant, id: AgentId, keep_place: bool) {
        let Some(a) = self.agents.get_mut(&id) else { return };
        let next = a
            .pending
            .take()
            .map_or(AgentState::Available, RequestedState::into_state);
        self.set_state(now, id, next, keep_place);
    }

    fn login(&mut self, now: Instant, id: AgentId, state: RequestedState) -> Result<(), AcdError> {
        self.check_reason(&state)?;
        if self.agent(id)?.state.is_logged_in() {
            return Err(AcdError::AlreadyLoggedIn(id));
        }
        if let Some(a) = self.agents.get_mut(&id) {
            a.since = Some(now);
            a.pending = None;
        }
        self.set_state(now, id, state.into_state(), false);
        Ok(())
    }

    // spec: AGENT-3
    fn logout(&mut self, now: Instant, id: AgentId) -> Result<(), AcdError> {
        match &self.agent(id)?.state {
            AgentState::LoggedOut => Err(AcdError::NotLoggedIn(id)),
            AgentState::Reserved { .. } => Err(AcdError::LogoutWhileRinging(id)),
            s @ (AgentState::Busy { .. } | AgentState::WrapUp { .. }) => Err(AcdError::LogoutWhileEngaged {
                agent: id,
                state: s.clone(),
            }),
            AgentState::Available | AgentState::Idle(_) => {
                self.set_state(now, id, AgentState::LoggedOut, false);
                Ok(())
            }
        }
    }

    // spec: AGENT-4
    fn request_state(&mut self, now: Instant, id: AgentId, state: RequestedState) -> Result<(), AcdError> {
        self.check_reason(&state)?;
        let current = self.agent(id)?.state.clone();
        match current {
            AgentState::LoggedOut => Err(AcdError::NotLoggedIn(id)),
            AgentState::Available | AgentState::Idle(_) => {
                let next = state.into_state();
                if next != current {
                    self.set_state(now, id, next, false);
                }
                Ok(())
            }
            AgentState::Reserved { .. } | AgentState::Busy { .. } | AgentState::WrapUp { .. } => {
                if let Some(a) = self.agents.get_mut(&id) {
                    a.pending = match state {
                        RequestedState::Available => None,
                        idle => Some(idle),
                    };
                    self.actions.push_back(AcdAction::AgentStateChanged {
                        agent: id,
                        state: current,
                        pending: a.pending.clone(),
                        at: now,
                    });
                }
                Ok(())
            }
        }
    }

    // spec: WRAP-1
    // spec: CALL-END-1
    fn end(&mut self, now: Instant, id: InteractionId) -> Result<(), AcdError> {
        let i = self.interactions.get(&id).ok_or(AcdError::UnknownInteraction(id))?;
        let InteractionState::Connected { queue, agent } = i.state else {
            return self.abandon(now, id);
        };
        self.release_consultants(now, id);
        if let Some(i) = self.interactions.get_mut(&id) {
            i.info.handled_until(now, interaction::HandlingEnd::Ended);
            i.state = InteractionState::WrapUp { queue, agent };
            i.info.ended_at = Some(now);
            i.info.set_phase(now, Phase::WrapUp);
        }
        self.timers.cancel(AcdTimer::MaxWait(id));
        self.start_wrap_up(now, agent, id, queue);
        Ok(())
    }

    /// WRAP-1: `agent` wraps up interaction `id` with `queue`'s wrap-up
    /// time and reasons.
    fn start_wrap_up(&mut self, now: Instant, agent: AgentId, id: InteractionId, queue: QueueId) {
        let wrap = self.queues.get(&queue).map_or(Duration::ZERO, |q| q.cfg.wrap_up);
        let deadline = now + wrap;
        self.timers.set(AcdTimer::WrapUp(agent), deadline);
        if let Some(a) = self.agents.get_mut(&agent) {
            a.wrap_up_queue = Some(queue);
        }
        self.set_state(
            now,
            agent,
            AgentState::WrapUp {
                interaction: id,
                deadline: Some(deadline),
            },
            false,
        );
        self.actions.push_back(AcdAction::WrapUpStarted {
            agent,
            interaction: id,
            deadline,
        });
    }

    // spec: WRAP-2
    // spec: WRAP-3
    fn end_wrap_up(
        &mut self,
        now: Instant,
        agent: AgentId,
        reasons: Vec<String>,
        notes: String,
        timed_out: bool,
    ) -> Result<(), AcdError> {
        let AgentState::WrapUp { interaction, .. } = self.agent(agent)?.state else {
            return Err(AcdError::NotInWrapUp(agent));
        };
        self.timers.cancel(AcdTimer::WrapUp(agent));
        if let Some(a) = self.agents.get_mut(&agent) {
            a.wrap_up_queue = None;
        }
        // CALL-XFER-5: an agent who transferred the interaction wraps up
        // its own part; the interaction closes with the wrap-up of the
        // agent it ended with, or, transferred out of the ACD, with the
        // transferring agent's.
        let closes = match self.interactions.get_mut(&interaction) {
            Some(i) => {
                if let Some(h) = i.info.handlers.iter_mut().rev().find(|h| h.agent == agent) {
                    h.wrap_up = Some((reasons.clone(), notes.clone()));
                }
                match i.state {
                    InteractionState::WrapUp { agent: a, .. } if a == agent => {
                        i.info.wrap_up = Some((reasons.clone(), notes.clone()));
                        Some(Outcome::Answered)
                    }
                    InteractionState::Closing { outcome, .. } => Some(outcome),
                    _ => None,
                }
            }
            None => None,
        };
        self.actions.push_back(AcdAction::WrapUpEnded {
            agent,
            interaction,
            reasons,
            notes,
            timed_out,
        });
        if let Some(outcome) = closes {
            if self.wrapping_up(interaction, Some(agent)) {
                if let Some(i) = self.interactions.get_mut(&interaction) {
                    let queue = i.info.queue;
                    i.state = InteractionState::Closing { queue, outcome };
                }
            } else {
                self.close(now, interaction, outcome);
            }
        }
        self.release(now, agent, false);
        Ok(())
    }

    // spec: WRAP-2
    fn extend_wrap_up(&mut self, now: Instant, agent: AgentId, by: Option<Duration>) -> Result<(), AcdError> {
        let AgentState::WrapUp { interaction, deadline } = self.agent(agent)?.state else {
            return Err(AcdError::NotInWrapUp(agent));
        };
        let deadline = match by {
            Some(by) => {
                let at = deadline.map_or(now, |d| d.max(now)) + by;
                self.timers.set(AcdTimer::WrapUp(agent), at);
                Some(at)
            }
            None => {
                self.timers.cancel(AcdTimer::WrapUp(agent));
                None
            }
        };
        self.set_state(now, agent, AgentState::WrapUp { interaction, deadline }, false);
        Ok(())
    }
}
