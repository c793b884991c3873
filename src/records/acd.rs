//! The contact center's records as plain data: the agent state audit log
//! (AGENT-6), interactions with their phase times (HIST-3, WRAP-1) and a
//! CDR per call leg (HIST-3). The engine builds them from the ACD core's
//! state; the store writes them. Times are unix milliseconds.

use serde::{Deserialize, Serialize};

/// One agent state change (spec AGENT-6: every change, with its reason and
/// timestamp). Times are unix milliseconds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentAuditRecord {
    /// The agent's login.
    pub agent: String,
    /// The new state: `LoggedOut`, `Available`, `Idle`, `Reserved`, `Busy`
    /// or `WrapUp` (spec AGENT-1).
    pub state: String,
    /// Why: the idle reason (including the built-in `RONA`, spec OFFER-4),
    /// or e.g. [`RESTART_REASON`] for the logout written by recovery.
    pub reason: Option<String>,
    /// The pending state set while engaged, if any (spec AGENT-4).
    pub pending: Option<String>,
    /// The interaction the state refers to (`Reserved`, `Busy`, `WrapUp`).
    pub interaction: Option<String>,
    /// When the state changed.
    pub at_ms: u64,
}

/// How an interaction ended (spec HIST-3). An interaction that has not ended
/// has no outcome (`None` in [`InteractionRecord::outcome`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum InteractionOutcome {
    /// An agent answered it.
    Answered,
    /// The caller hung up before an agent answered.
    Abandoned,
    /// It left the queue for the queue's overflow target.
    Overflowed,
    /// A restart ended it (written by [`Store::recover_after_restart`]).
    Interrupted,
    /// A supervisor closed it (SUP-6).
    Closed,
    /// Transferred out of the contact center to a number (CALL-XFER-1).
    Transferred,
}

impl InteractionOutcome {
    /// The stored name (the variant's name).
    pub fn as_str(self) -> &'static str {
        match self {
            InteractionOutcome::Answered => "Answered",
            InteractionOutcome::Abandoned => "Abandoned",
            InteractionOutcome::Overflowed => "Overflowed",
            InteractionOutcome::Interrupted => "Interrupted",
            InteractionOutcome::Closed => "Closed",
            InteractionOutcome::Transferred => "Transferred",
        }
    }

    /// The inverse of [`InteractionOutcome::as_str`].
    pub fn from_name(name: &str) -> Option<InteractionOutcome> {
        match name {
            "Answered" => Some(InteractionOutcome::Answered),
            "Abandoned" => Some(InteractionOutcome::Abandoned),
            "Overflowed" => Some(InteractionOutcome::Overflowed),
            "Transferred" => Some(InteractionOutcome::Transferred),
            "Interrupted" => Some(InteractionOutcome::Interrupted),
            "Closed" => Some(InteractionOutcome::Closed),
            _ => None,
        }
    }
}

/// One customer contact through a queue (spec HIST-3; wrap-up per WRAP-1).
/// Times are unix milliseconds, durations milliseconds.
///
/// Life cycle: [`Store::open_interaction`] when the call enters a queue
/// (no outcome: the interaction is *open*), then whole-record upserts with
/// [`Store::update_interaction`] as it progresses. The outcome is set when
/// the call ends; the wrap-up fields (WRAP-1) may be written by a later
/// upsert once the agent submits. An interaction still open at a restart is
/// closed as [`InteractionOutcome::Interrupted`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InteractionRecord {
    /// Unique across restarts, e.g. `<boot unix ms>-<n>`.
    pub uid: String,
    /// The queue it entered.
    pub queue: String,
    /// The caller's number or URI, unmasked (masking is for display, OFFER-3).
    pub caller: String,
    /// The number the caller dialled.
    pub dnis: String,
    /// The primary agent's login, once one answered.
    pub agent: Option<String>,
    /// How it ended; `None` while it is open.
    pub outcome: Option<InteractionOutcome>,
    /// When it entered the queue.
    pub arrived_ms: u64,
    /// When an agent answered it.
    pub answered_ms: Option<u64>,
    /// When the call ended.
    pub ended_ms: Option<u64>,
    /// Time waiting in the queue.
    pub queue_ms: u64,
    /// Time offers rang (all of them, RONA included).
    pub ring_ms: u64,
    /// Time talking (not held).
    pub talk_ms: u64,
    /// Time the customer was on hold.
    pub hold_ms: u64,
    /// Time the primary agent spent in wrap-up (WRAP-1, WRAP-2).
    pub wrap_up_ms: u64,
    /// Time in consults (CALL-CONSULT-1; the customer held meanwhile).
    #[serde(default)]
    pub consult_ms: u64,
    /// Time in a conference (CALL-CONF-1).
    #[serde(default)]
    pub conference_ms: u64,
    /// Time the agents stayed connected after the customer left (CALL-CONF-4).
    #[serde(default)]
    pub post_call_ms: u64,
    /// The wrap-up reasons the agent picked, in order (WRAP-1).
    pub wrap_up_reasons: Vec<String>,
    /// The agent's notes (WRAP-1).
    pub notes: String,
    /// The call-associated variables, name and value, in order. Only
    /// non-secure ones: the caller of the store filters secure ones out
    /// (CAD-1); the store writes what it is given.
    pub variables: Vec<(String, String)>,
    /// The recording file names (CALL-REC-1).
    pub recordings: Vec<String>,
    /// Who held it, from when to when, in order (HIST-3: one history
    /// across transfers, CALL-XFER-1..6).
    #[serde(default)]
    pub handlers: Vec<HandlerRecord>,
    /// Its stays in queues, in order, for the statistics (issue 13; see
    /// `crate::acd::visit` and [`crate::records::stats`]).
    #[serde(default)]
    pub visits: Vec<VisitRecord>,
}

/// One stay of an interaction in one queue (see `crate::acd::visit`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitRecord {
    /// The queue's name.
    pub queue: String,
    /// Unix ms it joined the queue's line.
    pub entered_ms: u64,
    /// Unix ms it left the queue (`None`: still in it, or the record was
    /// written before it left).
    pub left_ms: Option<u64>,
    /// How it left: `answered`, `abandoned`, `overflowed`, `moved`,
    /// `transferred` or `closed` (`crate::acd::visit::VisitEnd::name`).
    pub end: Option<String>,
    /// The agent who answered it.
    pub agent: Option<String>,
    /// Offers made to agents during the visit.
    pub offers: u32,
    /// Offers that set the agent `Idle(RONA)` (OFFER-4).
    pub ronas: u32,
}

/// One agent's time as an interaction's primary agent (HIST-3).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandlerRecord {
    /// The agent's login.
    pub agent: String,
    /// Unix ms it became the primary agent.
    pub from_ms: u64,
    /// Unix ms it stopped (`None`: still is).
    pub to_ms: Option<u64>,
    /// How it stopped: `transferred`, `ended`, `left`, `supervisor`.
    pub end: Option<String>,
    /// Its wrap-up reasons (empty until it wrapped up or when it timed out).
    #[serde(default)]
    pub wrap_up_reasons: Vec<String>,
}

impl InteractionRecord {
    /// Handling time (spec HIST-3, AGENT-4): talk + hold + wrap-up.
    pub fn handling_ms(&self) -> u64 {
        self.talk_ms
            .saturating_add(self.hold_ms)
            .saturating_add(self.consult_ms)
            .saturating_add(self.conference_ms)
            .saturating_add(self.post_call_ms)
            .saturating_add(self.wrap_up_ms)
    }

    /// True while the interaction has no outcome.
    pub fn is_open(&self) -> bool {
        self.outcome.is_none()
    }
}

/// A call-detail record for one call leg (spec HIST-3: every leg, with hold,
/// talk and post-call times; handling and wrap-up are on the interaction).
/// Times are unix milliseconds, durations milliseconds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegCdrRecord {
    /// The interaction the leg belonged to, if any.
    pub interaction: Option<String>,
    /// That leg's SIP Call-ID.
    pub call_id: String,
    /// The leg's role: `caller`, `agent`, `consult`, `monitor`, ...
    pub leg: String,
    /// Who was on it: a user, an agent login or a trunk.
    pub party: String,
    /// When the leg was created.
    pub started_ms: u64,
    /// When it was answered.
    pub answered_ms: Option<u64>,
    /// When it ended.
    pub ended_ms: u64,
    /// Time held.
    pub hold_ms: u64,
    /// Time talking (answered, not held).
    pub talk_ms: u64,
    /// Time connected after the customer left (CALL-CONF-4 post-call).
    pub post_call_ms: u64,
    /// The final SIP status, when one was involved.
    pub final_code: Option<u16>,
    /// Why it ended (e.g. `caller-bye`, `rona`, `restart`).
    pub cause: String,
}

/// One contact-center write as the engine emits it (spec AGENT-6, HIST-3):
/// the driver hands it to the store thread, which writes it in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AcdRecord {
    /// An agent's state changed (AGENT-6 audit log).
    AgentAudit(AgentAuditRecord),
    /// An interaction, inserted or replaced by uid, as it stands now.
    Interaction(Box<InteractionRecord>),
    /// A call leg ended (HIST-3).
    LegCdr(LegCdrRecord),
    /// A callback, inserted or replaced by id, as it stands now (CB-8).
    Callback(Box<super::CallbackRecord>),
    /// A voicemail message, inserted or its state updated by id, as it
    /// stands now (issue 14 item 5).
    Voicemail(Box<super::VoicemailRecord>),
}

impl AcdRecord {
    /// A write-ahead record: the driver commits it before it carries out
    /// any output queued after it, and before it answers the API request
    /// that made it. Every callback change is one (CB-8): a 201 to `POST
    /// /callbacks` means the callback survives a kill -9 (none lost), and
    /// the `dialing` step is on disk before the customer's INVITE leaves,
    /// so after a kill -9 the store shows the dial whenever the phone may
    /// have rung (none placed twice).
    pub fn is_write_ahead(&self) -> bool {
        matches!(self, AcdRecord::Callback(_))
    }
}
