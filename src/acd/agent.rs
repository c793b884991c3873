//! Agent states (AGENT-1) with the data each carries, the pending state of
//! AGENT-4, and the time an agent spends in each kind of state (so that the
//! time on an interaction counts as handling time, AGENT-4).

use super::ids::{AgentId, InteractionId, OfferId, QueueId};
use super::strategy::PoolKey;
use std::time::{Duration, Instant};

/// Why an agent is `Idle` (AGENT-1): `Rona` is built in (OFFER-4); the
/// others are configured per tenant (`AcdConfig::idle_reasons`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum IdleReason {
    /// Reroute on no answer: the agent let an offer ring out (OFFER-4).
    Rona,
    /// A configured reason ("Lunch", "Meeting", "Login", ...).
    Named(String),
}

/// An agent's state (AGENT-1); each state carries its own data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AgentState {
    /// Not logged in: gets no offers and no state changes but a login.
    LoggedOut,
    /// Ready for queue interactions (AGENT-2).
    Available,
    /// Logged in, not taking interactions.
    Idle(IdleReason),
    /// An offer is ringing for the agent (OFFER-1); no logout (AGENT-3).
    Reserved {
        /// The ringing offer.
        offer: OfferId,
        /// The interaction offered.
        interaction: InteractionId,
    },
    /// On an interaction.
    Busy {
        /// The interaction.
        interaction: InteractionId,
    },
    /// After the interaction ended (WRAP-1).
    WrapUp {
        /// The interaction being wrapped up.
        interaction: InteractionId,
        /// When wrap-up ends by itself (WRAP-2); `None` once extended indefinitely.
        deadline: Option<Instant>,
    },
}

impl AgentState {
    /// True for every state but `LoggedOut`.
    pub fn is_logged_in(&self) -> bool {
        !matches!(self, AgentState::LoggedOut)
    }

    /// The state's AGENT-1 name: `LoggedOut`, `Available`, `Idle`,
    /// `Reserved`, `Busy`, `WrapUp`.
    pub fn name(&self) -> &'static str {
        match self {
            AgentState::LoggedOut => "LoggedOut",
            AgentState::Available => "Available",
            AgentState::Idle(_) => "Idle",
            AgentState::Reserved { .. } => "Reserved",
            AgentState::Busy { .. } => "Busy",
            AgentState::WrapUp { .. } => "WrapUp",
        }
    }

    /// Every state's name, in AGENT-1 order.
    pub const NAMES: [&'static str; 6] = ["LoggedOut", "Available", "Idle", "Reserved", "Busy", "WrapUp"];
}

/// A state an agent (or a supervisor on its behalf) may ask for (AGENT-4):
/// applied at once from `Available`/`Idle`, else kept pending.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RequestedState {
    /// Take interactions.
    Available,
    /// Take none, for this reason.
    Idle(IdleReason),
}

impl RequestedState {
    pub(crate) fn into_state(self) -> AgentState {
        match self {
            RequestedState::Available => AgentState::Available,
            RequestedState::Idle(r) => AgentState::Idle(r),
        }
    }
}

/// Time spent per kind of state since login (AGENT-4, HIST-3 handling time).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AgentStats {
    /// Time `Available`.
    pub available: Duration,
    /// Time `Idle`, whatever the reason.
    pub idle: Duration,
    /// Time `Reserved` (offers ringing).
    pub reserved: Duration,
    /// Time `Busy` plus `WrapUp`: handling time, also while an idle request is pending (AGENT-4).
    pub handling: Duration,
    /// Interactions connected to the agent (used by the fewest-calls strategy).
    pub calls: u32,
}

/// One agent inside the ACD.
#[derive(Debug)]
pub(crate) struct Agent {
    pub id: AgentId,
    /// Queues served, with the skill level for each (higher is better).
    pub queues: Vec<(QueueId, u8)>,
    pub state: AgentState,
    /// When the current state began (`None` before the first login).
    pub since: Option<Instant>,
    /// When the agent last became `Available`: the longest-idle key.
    pub available_since: Option<Instant>,
    /// AGENT-4: the state asked for while `Reserved`, `Busy` or `WrapUp`.
    pub pending: Option<RequestedState>,
    /// WRAP-1: while in `WrapUp`, the queue of the interaction wrapped up
    /// (its wrap-up reasons apply).
    pub wrap_up_queue: Option<QueueId>,
    pub stats: AgentStats,
}

impl Agent {
    pub fn new(id: AgentId, queues: Vec<(QueueId, u8)>) -> Self {
        Agent {
            id,
            queues,
            state: AgentState::LoggedOut,
            since: None,
            available_since: None,
            pending: None,
            wrap_up_queue: None,
            stats: AgentStats::default(),
        }
    }

    /// Books the time of the state being left into `stats`.
    pub fn account(&mut self, now: Instant) {
        self.stats = self.stats_at(now);
        self.since = Some(now);
    }

    /// The stats with the current state's time up to `now` booked.
    pub fn stats_at(&self, now: Instant) -> AgentStats {
        let mut stats = self.stats;
        let spent = self.since.map_or(Duration::ZERO, |s| now.saturating_duration_since(s));
        match self.state {
            AgentState::LoggedOut => {}
            AgentState::Available => stats.available += spent,
            AgentState::Idle(_) => stats.idle += spent,
            AgentState::Reserved { .. } => stats.reserved += spent,
            AgentState::Busy { .. } | AgentState::WrapUp { .. } => stats.handling += spent,
        }
        stats
    }

    pub fn pool_key(&self, skill: u8) -> PoolKey {
        PoolKey {
            available_since: self.available_since,
            calls: self.stats.calls,
            skill,
        }
    }
}
