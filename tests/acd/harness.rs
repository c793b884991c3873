//! The virtual-time harness: an [`Acd`] plus a clock and everything it output.

use std::time::{Duration, Instant};
use switchboard::acd::{
    Acd, AcdAction, AcdConfig, AcdError, AcdEvent, AgentConfig, AgentId, AgentState, IdleReason, InteractionId,
    OfferId, QueueConfig, QueueId, RequestedState, Strategy,
};

pub const Q1: QueueId = QueueId(1);
pub const Q2: QueueId = QueueId(2);

pub fn a(n: u32) -> AgentId {
    AgentId(n)
}

pub fn i(n: u64) -> InteractionId {
    InteractionId(n)
}

pub fn idle(reason: &str) -> RequestedState {
    RequestedState::Idle(IdleReason::Named(reason.into()))
}

/// One queue `Q1` with `strategy`, RONA 15 s, wrap-up 60 s (reasons `Sale`,
/// `Support`), and agents `1..=agents` in it at skill 5.
pub fn one_queue(strategy: Strategy, agents: u32) -> AcdConfig {
    AcdConfig {
        queues: vec![QueueConfig {
            wrap_up_reasons: vec!["Sale".into(), "Support".into()],
            ..QueueConfig::new(Q1, strategy)
        }],
        agents: (1..=agents)
            .map(|n| AgentConfig {
                id: a(n),
                queues: vec![(Q1, 5)],
            })
            .collect(),
        idle_reasons: vec!["Login".into(), "Lunch".into(), "Meeting".into()],
    }
}

pub struct H {
    pub acd: Acd,
    pub base: Instant,
    pub now: Instant,
    pub out: Vec<AcdAction>,
}

impl H {
    pub fn new(cfg: AcdConfig) -> H {
        let base = Instant::now();
        H {
            acd: Acd::new(cfg).expect("valid config"),
            base,
            now: base,
            out: Vec::new(),
        }
    }

    /// Virtual time since the start.
    pub fn elapsed(&self) -> Duration {
        self.now - self.base
    }

    fn drain(&mut self) {
        while let Some(act) = self.acd.poll_action() {
            self.out.push(act);
        }
    }

    /// Handles `e` at the current time.
    pub fn ev(&mut self, e: AcdEvent) -> Result<(), AcdError> {
        let r = self.acd.handle(self.now, e);
        self.drain();
        r
    }

    /// Moves the clock forward by `d`, firing every deadline on the way, each at its time.
    pub fn advance(&mut self, d: Duration) {
        let target = self.now + d;
        while let Some(t) = self.acd.poll_timeout() {
            if t > target {
                break;
            }
            self.now = t;
            self.acd.handle(t, AcdEvent::Timeout).expect("timeout");
            self.drain();
        }
        self.now = target;
    }

    pub fn secs(&mut self, s: u64) {
        self.advance(Duration::from_secs(s));
    }

    /// Takes everything output so far.
    pub fn take(&mut self) -> Vec<AcdAction> {
        std::mem::take(&mut self.out)
    }

    /// Takes the `RingAgent`s output so far as `(offer, agent, interaction)`; drops the rest.
    pub fn rings(&mut self) -> Vec<(OfferId, AgentId, InteractionId)> {
        self.take()
            .into_iter()
            .filter_map(|act| match act {
                AcdAction::RingAgent {
                    offer,
                    agent,
                    interaction,
                    ..
                } => Some((offer, agent, interaction)),
                _ => None,
            })
            .collect()
    }

    pub fn state(&self, agent: AgentId) -> AgentState {
        self.acd.agent_state(agent).expect("known agent").clone()
    }

    pub fn login(&mut self, agent: AgentId) {
        self.ev(AcdEvent::AgentLogin {
            agent,
            state: RequestedState::Available,
        })
        .expect("login");
    }

    pub fn arrive(&mut self, id: InteractionId, queue: QueueId, priority: u8) {
        self.ev(AcdEvent::InteractionArrived {
            id,
            queue,
            priority,
            customer: Default::default(),
        })
        .expect("arrival");
    }

    /// Arrival, then the one ring it produced.
    pub fn arrive_and_ring(&mut self, id: InteractionId) -> (OfferId, AgentId) {
        self.arrive(id, Q1, 0);
        let rings = self.rings();
        assert_eq!(rings.len(), 1, "one ring for {id}: {rings:?}");
        (rings[0].0, rings[0].1)
    }

    /// Answer, end, submit wrap-up: the agent is back to its next state.
    pub fn handle_call(&mut self, offer: OfferId, agent: AgentId, id: InteractionId) {
        self.ev(AcdEvent::PhoneAnswered { offer }).expect("answer");
        self.secs(10);
        self.ev(AcdEvent::InteractionEnded { id }).expect("end");
        self.ev(AcdEvent::WrapUpSubmitted {
            agent,
            reasons: vec!["Sale".into()],
            notes: String::new(),
        })
        .expect("wrap-up");
    }
}
