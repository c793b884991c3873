//! An interaction inside the ACD: the one copy of its state, from arrival
//! in a queue to the end of its wrap-up (DESIGN.md: the ACD core owns
//! interaction state; the engine only maps interactions to calls).
//!
//! Each interaction carries where it is ([`InteractionState`], for
//! routing), what the customer brought ([`Customer`]: number, DNIS, call
//! data CAD-1..4) and its history ([`InteractionInfo`]: phase, primary
//! agent, arrival/answer/end times and the time booked per phase, HIST-3).
//!
//! Phases and how time is booked (HIST-3), decided where the spec is
//! silent as a contact-center report expects:
//! - `Queued` counts waiting in a line, between offers included;
//! - `Ringing` counts offers ringing;
//! - `Connected` counts talk, or hold while the customer is held
//!   (CALL-HOLD-1); `Consult` and `Conference` count as their own phases
//!   (the customer's hold during a consult is counted as consult time, not
//!   hold time, so the handle time is not counted twice);
//! - `PostCall` counts the time agents stay connected after the customer
//!   left a consult or conference (CALL-CONF-4);
//! - `WrapUp` counts the primary agent's wrap-up (WRAP-1..3).

use super::cad::InteractionData;
use super::ids::{AgentId, OfferId, QueueId};
use super::visit::{VisitEnd, Visits};
use serde::Serialize;
use std::cmp::Reverse;
use std::time::Instant;

/// Where an interaction is for routing; each state carries its own data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InteractionState {
    /// In a queue's waiting line.
    Waiting {
        /// The queue.
        queue: QueueId,
    },
    /// Offered: one offer, or one per agent for ring-all.
    Ringing {
        /// The queue it was offered from.
        queue: QueueId,
        /// The ringing offers.
        offers: Vec<OfferId>,
    },
    /// Held for an agent a supervisor assigned it to (SUP-5) until that
    /// agent is free; in no line, offered to nobody else.
    Assigned {
        /// The queue it came from.
        queue: QueueId,
        /// The agent it waits for.
        agent: AgentId,
    },
    /// Connected to its primary agent.
    Connected {
        /// The queue it came from.
        queue: QueueId,
        /// The primary agent (CALL-END-1).
        agent: AgentId,
    },
    /// A blind transfer to a number outside the ACD (CALL-XFER-1) rings;
    /// the customer waits with music, in no line. Answered, it closes as
    /// [`Outcome::Transferred`]; failed, it goes back to its
    /// queue's line (CALL-XFER-2).
    Transferring {
        /// The queue it came from.
        queue: QueueId,
    },
    /// Its flow is over (transferred out, abandoned, answered and wrapped
    /// up) while an agent who handled it still wraps up (CALL-XFER-5):
    /// kept until the last of those wrap-ups ends, then closed with
    /// `outcome`.
    Closing {
        /// The queue it came from.
        queue: QueueId,
        /// How it closes.
        outcome: Outcome,
    },
    /// The customer's call ended; the primary agent wraps up (WRAP-1).
    WrapUp {
        /// The queue it came from (its wrap-up reasons apply).
        queue: QueueId,
        /// The primary agent.
        agent: AgentId,
    },
}

/// The phase an interaction's time is booked to (HIST-3; see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Waiting in a queue's line.
    Queued,
    /// One or more offers ring.
    Ringing,
    /// Talking to (or held by) the primary agent.
    Connected,
    /// The agent consults another party (CALL-CONSULT-1..5).
    Consult,
    /// Three or more parties share a bridge (CALL-CONF-1..5).
    Conference,
    /// The customer left a consult or conference; agents are still connected (CALL-CONF-4).
    PostCall,
    /// The primary agent wraps up (WRAP-1..3).
    WrapUp,
}

impl Phase {
    /// The name desktops and the store use (`queued`, `post_call`, …).
    pub fn name(self) -> &'static str {
        match self {
            Phase::Queued => "queued",
            Phase::Ringing => "ringing",
            Phase::Connected => "connected",
            Phase::Consult => "consult",
            Phase::Conference => "conference",
            Phase::PostCall => "post_call",
            Phase::WrapUp => "wrap_up",
        }
    }
}

/// Time per phase of an interaction, in milliseconds (HIST-3).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PhaseDurations {
    /// Waiting in queue (between offers included).
    pub queue_ms: u64,
    /// Offers ringing.
    pub ring_ms: u64,
    /// Connected, not on hold.
    pub talk_ms: u64,
    /// Connected, customer on hold.
    pub hold_ms: u64,
    /// Consulting another party (CALL-CONSULT-1).
    pub consult_ms: u64,
    /// In a conference (CALL-CONF-1).
    pub conference_ms: u64,
    /// Agents connected after the customer left (CALL-CONF-4).
    pub post_call_ms: u64,
    /// The primary agent's wrap-up.
    pub wrap_up_ms: u64,
}

impl PhaseDurations {
    /// Handle time: talk, hold, consult, conference, post-call and wrap-up.
    pub fn handled_ms(&self) -> u64 {
        self.talk_ms + self.hold_ms + self.consult_ms + self.conference_ms + self.post_call_ms + self.wrap_up_ms
    }
}

/// What the customer brings into the ACD with the interaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Customer {
    /// The caller's number as received (masking, OFFER-3, is applied when shown).
    pub caller_number: String,
    /// The number dialled (DNIS).
    pub dnis: String,
    /// Call-associated data (CAD-1..4); OFFER-2 shows the queue's chosen ones.
    pub data: InteractionData,
    /// The skill level (1..=10) an agent needs for the queue to be offered
    /// it (an entry point's queue step, issue 14); 0: any agent of the queue.
    pub min_skill: u8,
}

impl Default for Customer {
    fn default() -> Self {
        Customer {
            caller_number: String::new(),
            dnis: String::new(),
            data: InteractionData::empty(),
            min_skill: 0,
        }
    }
}

/// How an interaction left the ACD (HIST-3's outcome).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// An agent answered it; it closed at the end of wrap-up.
    Answered,
    /// The caller hung up before an agent answered.
    Abandoned,
    /// It overflowed out of the ACD (to a dial-plan target).
    Overflowed,
    /// A supervisor closed it (SUP-6).
    Closed,
    /// Transferred out of the ACD to a number (CALL-XFER-1).
    Transferred,
}

/// How an agent's time holding an interaction ended (HIST-3 across
/// transfers).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HandlingEnd {
    /// The agent transferred it (CALL-XFER-1..5).
    Transferred,
    /// The call ended with this agent primary.
    Ended,
    /// The agent left a conference and another took over (CALL-CONF-2).
    Left,
    /// A supervisor transferred it away from this agent (CALL-XFER-6) or
    /// closed it (SUP-6).
    Supervisor,
}

/// One agent's time as the interaction's primary agent (HIST-3: one
/// history across transfers, who held it from when to when).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Handling {
    /// The agent.
    pub agent: AgentId,
    /// When it became the primary agent.
    pub from: Instant,
    /// When it stopped being it (`None`: still is).
    pub to: Option<Instant>,
    /// How it stopped.
    pub end: Option<HandlingEnd>,
    /// The reasons and notes of this agent's wrap-up, once submitted or
    /// timed out (WRAP-1; CALL-XFER-5 for a transferring agent).
    pub wrap_up: Option<(Vec<String>, String)>,
}

/// An interaction's history: the one copy desktops, reports and the store
/// read (HIST-3). Times are the ACD's monotonic instants; the engine turns
/// them into wall-clock milliseconds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InteractionInfo {
    /// The queue it is in or came from (overflow to a queue changes it).
    pub queue: QueueId,
    /// The customer's number, DNIS and call data.
    pub customer: Customer,
    /// The primary agent once connected (CALL-END-1).
    pub agent: Option<AgentId>,
    /// The current phase.
    pub phase: Phase,
    /// The customer is on hold (CALL-HOLD-1).
    pub held: bool,
    /// When it arrived.
    pub arrived_at: Instant,
    /// When its agent answered.
    pub answered_at: Option<Instant>,
    /// When the customer's call ended.
    pub ended_at: Option<Instant>,
    /// WRAP-1: the reasons and notes submitted (empty when it timed out).
    pub wrap_up: Option<(Vec<String>, String)>,
    /// Agents joined through consults (CALL-CONSULT-5, CALL-CONF-2).
    pub consultants: Vec<super::consult::Consultant>,
    /// A consult was merged: three or more parties talk (CALL-CONF-1).
    pub conference: bool,
    /// When the customer left a consult or conference (CALL-CONF-4).
    pub customer_left_at: Option<Instant>,
    /// A consult of this queue waits for its next available agent
    /// (CALL-CONSULT-1).
    pub consult_waiting: Option<QueueId>,
    /// Who held it, from when to when, in order (HIST-3 across transfers).
    pub handlers: Vec<Handling>,
    /// Its stays in queues, for the statistics (see [`super::visit`]).
    pub visits: Visits,
    booked: PhaseDurations,
    phase_since: Instant,
}

impl InteractionInfo {
    pub(crate) fn new(now: Instant, queue: QueueId, customer: Customer) -> Self {
        InteractionInfo {
            queue,
            customer,
            agent: None,
            phase: Phase::Queued,
            held: false,
            arrived_at: now,
            answered_at: None,
            ended_at: None,
            wrap_up: None,
            consultants: Vec::new(),
            conference: false,
            consult_waiting: None,
            customer_left_at: None,
            handlers: Vec::new(),
            visits: {
                let mut v = Visits::default();
                v.enter(now, queue, VisitEnd::Moved);
                v
            },
            booked: PhaseDurations::default(),
            phase_since: now,
        }
    }

    /// The time per phase at `now`, the current phase included (HIST-3).
    pub fn durations_at(&self, now: Instant) -> PhaseDurations {
        let spent = now.saturating_duration_since(self.phase_since).as_millis() as u64;
        let mut d = self.booked;
        let slot = match (self.phase, self.held) {
            (Phase::Queued, _) => &mut d.queue_ms,
            (Phase::Ringing, _) => &mut d.ring_ms,
            (Phase::Connected, false) => &mut d.talk_ms,
            (Phase::Connected, true) => &mut d.hold_ms,
            (Phase::Consult, _) => &mut d.consult_ms,
            (Phase::Conference, _) => &mut d.conference_ms,
            (Phase::PostCall, _) => &mut d.post_call_ms,
            (Phase::WrapUp, _) => &mut d.wrap_up_ms,
        };
        *slot += spent;
        d
    }

    /// The time booked up to the last change (the current phase left out
    /// only for the time since that change).
    pub fn durations(&self) -> PhaseDurations {
        self.booked
    }

    /// The state desktops show: the phase's name, or `held` while connected and held.
    pub fn state_name(&self) -> &'static str {
        match (self.phase, self.held) {
            (Phase::Connected, true) => "held",
            (p, _) => p.name(),
        }
    }

    fn book(&mut self, now: Instant) {
        self.booked = self.durations_at(now);
        self.phase_since = now;
    }

    pub(crate) fn set_phase(&mut self, now: Instant, phase: Phase) {
        self.book(now);
        self.phase = phase;
        if phase != Phase::Connected {
            self.held = false;
        }
    }

    pub(crate) fn set_held(&mut self, now: Instant, held: bool) {
        self.book(now);
        self.held = held;
    }

    /// `agent` becomes the primary agent at `now` (HIST-3).
    pub(crate) fn handled_by(&mut self, now: Instant, agent: AgentId) {
        self.agent = Some(agent);
        self.answered_at.get_or_insert(now);
        self.visits.leave(now, VisitEnd::Answered, Some(agent));
        self.handlers.push(Handling {
            agent,
            from: now,
            to: None,
            end: None,
            wrap_up: None,
        });
    }

    /// The primary agent stops holding it at `now`, as `end` says (HIST-3).
    pub(crate) fn handled_until(&mut self, now: Instant, end: HandlingEnd) {
        if let Some(h) = self.handlers.last_mut().filter(|h| h.to.is_none()) {
            h.to = Some(now);
            h.end = Some(end);
        }
    }

    /// Books the time up to `now` without a change (before a final record).
    pub(crate) fn close(&mut self, now: Instant) {
        self.book(now);
    }
}

/// A waiting position: priority (higher first), then arrival order.
pub(crate) type Place = (Reverse<u8>, u64, super::ids::InteractionId);

/// One interaction inside the ACD: routing data and its history.
#[derive(Debug)]
pub(crate) struct Interaction {
    pub priority: u8,
    pub seq: u64,
    pub state: InteractionState,
    /// Agents who declined it: not offered it again.
    pub declined_by: Vec<AgentId>,
    /// The queue's maximum wait passed while it was ringing: overflow when it comes back.
    pub overdue: bool,
    /// Offers made so far.
    pub offered: u32,
    /// When it entered its current queue (arrival, a transfer or an
    /// overflow; a RONA back into the same line keeps it): its wait there.
    pub queued_at: Instant,
    /// CALL-XFER-6: the agent a supervisor is transferring it away from,
    /// a consultant until the offered agent accepts or declines.
    pub handing_over: Option<AgentId>,
    /// Its history (HIST-3) and the customer's data.
    pub info: InteractionInfo,
}

impl Interaction {
    pub fn place(&self, id: super::ids::InteractionId) -> Place {
        (Reverse(self.priority), self.seq, id)
    }
}
