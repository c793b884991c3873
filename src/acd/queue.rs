//! Queues: configuration (accept mode OFFER-1, RONA timeout OFFER-4, wrap-up
//! time WRAP-2, overflow after a maximum wait) and the waiting line, ordered
//! by priority (higher first) then arrival. An interaction that comes back
//! from a declined or unanswered offer keeps its original place, so it is
//! ahead of every later arrival of the same or lower priority (OFFER-4).

use super::ids::{InteractionId, QueueId};
use super::interaction::Place;
use super::strategy::{Pool, Strategy};
use std::collections::BTreeSet;
use std::time::Duration;

/// OFFER-1: how an offer is answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AcceptMode {
    /// The agent's phone rings and the desktop shows the offer; the agent answers.
    Manual,
    /// The offer is answered for the agent (the engine auto-answers the leg).
    Auto,
}

/// Where an interaction goes when it waited the queue's maximum time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OverflowTarget {
    /// Another queue of this ACD: the interaction keeps its priority and arrival order.
    Queue(QueueId),
    /// Out of the ACD (a dialplan extension, entry point or number), routed by the engine.
    External(String),
}

/// One queue's configuration.
#[derive(Clone, Debug)]
pub struct QueueConfig {
    /// The queue's id.
    pub id: QueueId,
    /// How an available agent is chosen.
    pub strategy: Strategy,
    /// OFFER-1: manual or auto accept.
    pub accept: AcceptMode,
    /// OFFER-4: how long an offer rings before RONA.
    pub rona_timeout: Duration,
    /// WRAP-2: how long wrap-up lasts unless submitted or extended.
    pub wrap_up: Duration,
    /// Overflow after this wait (time since arrival in this queue), if set.
    pub max_wait: Option<Duration>,
    /// Where overflow goes; without it `max_wait` does nothing.
    pub overflow: Option<OverflowTarget>,
    /// OFFER-2: the variables an offer shows, in the admin's order (secure ones never).
    pub offer_variables: Vec<String>,
    /// WRAP-1: the wrap-up reasons an agent picks from after an interaction
    /// of this queue (empty: the wrap-up can only run out, WRAP-2).
    pub wrap_up_reasons: Vec<String>,
}

impl QueueConfig {
    /// A manual-accept queue with a 15 s RONA timeout, 60 s wrap-up, no overflow,
    /// no offer variables and no wrap-up reasons.
    pub fn new(id: QueueId, strategy: Strategy) -> Self {
        QueueConfig {
            id,
            strategy,
            accept: AcceptMode::Manual,
            rona_timeout: Duration::from_secs(15),
            wrap_up: Duration::from_secs(60),
            max_wait: None,
            overflow: None,
            offer_variables: Vec::new(),
            wrap_up_reasons: Vec::new(),
        }
    }
}

/// A queue: its configuration, waiting line and available agents.
#[derive(Debug)]
pub(crate) struct Queue {
    pub cfg: QueueConfig,
    pub waiting: BTreeSet<Place>,
    pub pool: Pool,
    /// Consults of this queue waiting for its next available agent
    /// (CALL-CONSULT-1), served before the waiting line.
    pub consults: std::collections::VecDeque<InteractionId>,
}

impl Queue {
    pub fn new(cfg: QueueConfig) -> Self {
        Queue {
            pool: Pool::new(cfg.strategy),
            cfg,
            waiting: BTreeSet::new(),
            consults: std::collections::VecDeque::new(),
        }
    }
}

/// A variable of the interaction (CAD-1) as an offer carries it (OFFER-2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Variable {
    /// Its name.
    pub name: String,
    /// Its value.
    pub value: String,
    /// OFFER-2: secure variables are never shown in an offer.
    pub secure: bool,
}
