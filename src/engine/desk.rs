//! The contract between the agent/supervisor desktop API (`src/api/`) and
//! the engine (issue 4 items 4 and 5): what a desktop may ask
//! ([`DeskCommand`], [`SupervisorCommand`]), what it gets back
//! ([`DeskReply`] or a [`DeskError`]), and what is pushed to it
//! ([`DeskEvent`], every event an agent must react to).
//!
//! The API only authenticates transport-level details (bearer token,
//! JSON shape); the engine resolves the token to a [`Principal`] and
//! decides everything else, so an agent can act only on its own
//! interactions (the engine checks ownership, not the API).
//!
//! Ids on the wire: agents by login (`"alice"`), interactions by their
//! uid (unique across restarts), offers by number.

use serde::Serialize;
use std::time::Duration;

/// Who sent a desktop request, resolved from its bearer token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Principal {
    /// An agent, by login.
    Agent(String),
    /// A supervisor, by id.
    Supervisor(String),
}

/// A state an agent asks for (AGENT-1, AGENT-4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeskState {
    /// `Available`.
    Available,
    /// `Idle` with a configured reason.
    Idle(String),
}

/// What an agent's desktop asks (the engine checks it owns what it names).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeskCommand {
    /// The agent's own state, offers and interactions.
    Me,
    /// Log in, into `state` (default: `Available`).
    Login {
        /// The state to start in.
        state: Option<DeskState>,
    },
    /// Log out (AGENT-3: refused while an offer rings).
    Logout,
    /// Change state (AGENT-4: pending while engaged).
    SetState {
        /// The state asked for.
        state: DeskState,
    },
    /// Accept a ringing offer (OFFER-1): the phone is made to answer.
    Accept {
        /// The offer.
        offer: u64,
    },
    /// OFFER-5: accept every offer ringing for the agent at once,
    /// earliest first (voice is the only channel today, so at most one
    /// rings; the order of channels, email to voice, applies when more
    /// come). 409 when none rings.
    AcceptAll,
    /// Decline a ringing offer (OFFER-4).
    Decline {
        /// The offer.
        offer: u64,
    },
    /// The agent's current interactions.
    Interactions,
    /// Put the customer on hold (CALL-HOLD-1: music on hold).
    Hold {
        /// The interaction uid.
        interaction: String,
    },
    /// Take the customer off hold.
    Resume {
        /// The interaction uid.
        interaction: String,
    },
    /// End the call (CALL-HOLD-1: refused while the customer is held).
    End {
        /// The interaction uid.
        interaction: String,
    },
    /// Submit wrap-up (WRAP-1, WRAP-2).
    WrapUp {
        /// At least one of the queue's reasons.
        reasons: Vec<String>,
        /// Free notes (at most 4,000 characters).
        notes: String,
    },
    /// Extend wrap-up by `by`, or indefinitely with `None` (WRAP-2).
    ExtendWrapUp {
        /// How much longer.
        by: Option<Duration>,
    },
    /// Read an interaction's call-associated data (CAD-1; secure values
    /// never leave the switch).
    GetData {
        /// The interaction uid.
        interaction: String,
    },
    /// Save edits to the data, based on `version` (CAD-2, CAD-3).
    SaveData {
        /// The interaction uid.
        interaction: String,
        /// The version the edits were made on.
        version: u64,
        /// Name and new value of each edited variable.
        values: Vec<(String, String)>,
    },
    /// Pause the interaction's recording (CALL-REC-1; refused during a
    /// consult or conference, CALL-REC-2). The primary agent only.
    RecordingPause {
        /// The interaction uid.
        interaction: String,
    },
    /// Resume the interaction's paused recording (CALL-REC-1, CALL-REC-2).
    RecordingResume {
        /// The interaction uid.
        interaction: String,
    },
    /// What a consult can target (CALL-CONSULT-1): agents `Available` or
    /// `Idle` with their state, queues, entry points.
    ConsultTargets,
    /// Consult `target` on the agent's interaction (CALL-CONSULT-1,
    /// CALL-HOLD-2: the customer is held).
    Consult {
        /// The interaction uid.
        interaction: String,
        /// Who to consult.
        target: ConsultTarget,
    },
    /// Switch between the customer and the consultee (CALL-CONSULT-4).
    Toggle {
        /// The interaction uid.
        interaction: String,
    },
    /// Merge the consult into a conference (CALL-CONSULT-4, CALL-CONF-1).
    Merge {
        /// The interaction uid.
        interaction: String,
    },
    /// End the running consult and resume the customer (CALL-CONSULT-4).
    EndConsult {
        /// The interaction uid.
        interaction: String,
    },
    /// Transfer the agent's interaction (CALL-XFER-1..5, CALL-CONSULT-4):
    /// blind to an agent, a queue, an entry point or a number, or to the
    /// consultee of the running consult.
    Transfer {
        /// The interaction uid.
        interaction: String,
        /// Where it goes.
        to: TransferTo,
    },
    /// A consulted or conferenced agent leaves the call (CALL-CONSULT-4);
    /// the primary agent leaving a conference hands control over (CALL-CONF-2).
    Leave {
        /// The interaction uid.
        interaction: String,
    },
}

/// Who a consult targets (CALL-CONSULT-1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConsultTarget {
    /// An agent by login (`Available` or `Idle`).
    Agent(String),
    /// A queue by name.
    Queue(String),
    /// An entry point: a dial-plan number.
    EntryPoint(String),
    /// A number as typed, normalised per CALL-DIAL-1.
    Number(String),
}

/// Where a desktop transfers an interaction (CALL-XFER-1, CALL-CONSULT-4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TransferTo {
    /// Blind, to an `Available` agent by login.
    Agent(String),
    /// Blind, to a queue by name.
    Queue(String),
    /// Blind, to an entry point (a dial-plan number; a queue's number is
    /// that queue, CALL-XFER-4).
    EntryPoint(String),
    /// Blind, to a number as typed, normalised per CALL-DIAL-1.
    Number(String),
    /// To the consultee of the running consult, once it answered.
    Consultee,
}

/// An agent a consult can target, with its state (CALL-CONSULT-1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConsultAgentView {
    /// Login.
    pub agent: String,
    /// Full name.
    pub name: String,
    /// `Available` or `Idle`.
    pub state: &'static str,
    /// The idle reason.
    pub reason: Option<String>,
}

/// What a consult can target (CALL-CONSULT-1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConsultTargetsView {
    /// Agents `Available` or `Idle` (not the asking agent).
    pub agents: Vec<ConsultAgentView>,
    /// Queue names.
    pub queues: Vec<String>,
    /// Dial-plan numbers of the agent's context that route to a user,
    /// a trunk or a queue.
    pub entry_points: Vec<String>,
}

/// What a supervisor's desktop asks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SupervisorCommand {
    /// Live interactions (SUP-1).
    Interactions,
    /// Agents with their states (SUP-1).
    Agents,
    /// Force an agent's state (`None`: log it out).
    ForceState {
        /// The agent's login.
        agent: String,
        /// The state, or `None` to log out.
        state: Option<DeskState>,
    },
    /// SUP-2: the monitoring supervisor listens, whispers to the agent
    /// (heard by the agent only) or barges in (heard by all).
    MonitorMode {
        /// The interaction uid.
        interaction: String,
        /// What the supervisor does now.
        mode: crate::call::SupervisorMode,
    },
    /// SUP-5: assign an open, unassigned interaction to an agent
    /// (overriding presence and capacity) or a queue (engine/assign.rs).
    Assign {
        /// The interaction uid.
        interaction: String,
        /// The target.
        to: AssignTo,
    },
    /// CALL-XFER-6: transfer a connected interaction to an `Available`
    /// agent; its agent stays on the call as a consultant until that agent
    /// accepts or declines (engine/transfer.rs).
    Transfer {
        /// The interaction uid.
        interaction: String,
        /// The agent's login.
        agent: String,
    },
    /// SUP-6: close the interaction: its call ends, every agent on it is
    /// told, and it is recorded `Closed`.
    ForceClose {
        /// The interaction uid.
        interaction: String,
    },
    /// Silently monitor an interaction (SUP-2, SUP-3, SUP-4): the switch
    /// calls `extension` and lets it hear both parties; nothing it says is
    /// heard (engine/monitor.rs).
    Monitor {
        /// The interaction uid.
        interaction: String,
        /// The phone to ring, a directory user; required (supervisors have
        /// no phone of their own in `acd.toml`): `None` is refused naming
        /// the field `extension`.
        extension: Option<String>,
    },
}

/// Where a supervisor assigns an interaction (SUP-5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AssignTo {
    /// An agent, by login.
    Agent(String),
    /// A queue, by name.
    Queue(String),
}

/// What an assignment did (SUP-5), as the supervisor's answer says it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AssignView {
    /// The interaction uid.
    pub interaction: String,
    /// The agent it is assigned to.
    pub agent: Option<String>,
    /// The queue it is assigned to.
    pub queue: Option<String>,
    /// `ringing` (the agent's phone rings now), `when_free` (held for the
    /// agent until it is free) or `queued` (in the queue's line).
    pub delivery: &'static str,
    /// By how many units the agent's capacity (one voice interaction) is
    /// exceeded; 0 when it is not.
    pub capacity_exceeded_by: u32,
    /// The agent was idle and gets it anyway.
    pub presence_overridden: bool,
}

/// An agent as desktops see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AgentView {
    /// Login.
    pub agent: String,
    /// Display name.
    pub name: String,
    /// Team.
    pub team: String,
    /// Phone extension.
    pub extension: String,
    /// `LoggedOut`, `Available`, `Idle`, `Reserved`, `Busy` or `WrapUp` (AGENT-1).
    pub state: &'static str,
    /// The idle reason (`RONA` built in).
    pub reason: Option<String>,
    /// AGENT-4: the state waiting for the interaction and wrap-up to end.
    pub pending: Option<String>,
    /// Unix ms the state began.
    pub since_ms: u64,
    /// Offers ringing for the agent.
    pub offers: Vec<OfferView>,
    /// The interaction it handles or wraps up.
    pub interaction: Option<String>,
    /// When wrap-up ends by itself (unix ms; `None` once extended indefinitely).
    pub wrap_up_deadline_ms: Option<u64>,
    /// The configured idle reasons the agent may pick (AGENT-1; `RONA` is
    /// built in and not listed): a desktop's state selector.
    pub idle_reasons: Vec<String>,
    /// While in `WrapUp`: the reasons of the queue wrapped up for (WRAP-1),
    /// as the `wrap_up` event gave them, so a desktop that reconnects or
    /// reloads still offers them; empty otherwise.
    pub wrap_up_reasons: Vec<String>,
}

/// A variable as an offer shows it (OFFER-2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ShownVariable {
    /// Name.
    pub name: String,
    /// Value.
    pub value: String,
}

/// An offer ringing for an agent (OFFER-1..3).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OfferView {
    /// The offer number (accept/decline name it).
    pub offer: u64,
    /// The interaction uid.
    pub interaction: String,
    /// The queue's name.
    pub queue: String,
    /// `voice`; `callback` for a callback the switch places (OFFER-6);
    /// `voicemail` for a queue's voicemail message (a work item, no phone rings).
    pub channel: &'static str,
    /// OFFER-6: what a callback offer shows (with `queue`, `dnis` and the
    /// timer from `offered_ms`); `null` for a customer's call.
    pub callback: Option<Box<CallbackOffer>>,
    /// A voicemail work item's message and its audio (issue 14 item 5);
    /// `null` otherwise.
    pub voicemail: Option<Box<super::VoicemailView>>,
    /// The caller's number, masked per OFFER-3 when the queue says so.
    pub caller: String,
    /// The number dialled (DNIS).
    pub dnis: String,
    /// The queue's chosen variables, in its order, never secure ones (OFFER-2).
    pub variables: Vec<ShownVariable>,
    /// OFFER-1: the switch answers for the agent.
    pub auto_answer: bool,
    /// Unix ms when the offer started ringing.
    pub offered_ms: u64,
    /// Unix ms when RONA fires (OFFER-4).
    pub rona_ms: u64,
}

/// What a callback offer shows (OFFER-6).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CallbackOffer {
    /// The label desktops show: `Callback`.
    pub label: &'static str,
    /// The callback's id.
    pub id: String,
    /// `web`, `scheduled`, `courtesy` or `personal`.
    pub kind: &'static str,
    /// The customer's number to call (masked per OFFER-3 when the queue says so).
    pub number: String,
    /// The customer's name.
    pub name: String,
    /// Why the customer asked.
    pub reason: String,
    /// Tries so far (CB-6).
    pub attempts: u32,
}

/// Time per phase of an interaction, in milliseconds (HIST-3): the ACD
/// core's own type, serialised as is.
pub use crate::acd::PhaseDurations;

/// An interaction as desktops see it (SUP-1 for supervisors).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct InteractionView {
    /// Uid.
    pub interaction: String,
    /// Queue name.
    pub queue: String,
    /// `voice` (a customer's call), `callback` (a callback the switch
    /// places, CB-1..CB-6) or `voicemail` (a queue's message, a work item).
    pub channel: &'static str,
    /// `queued`, `ringing`, `connected`, `held`, `consult`, `conference`,
    /// `post_call` or `wrap_up` (the ACD core's phase, HIST-3).
    pub state: &'static str,
    /// The caller's number (masked per OFFER-3 for agents when the queue says so).
    pub caller: String,
    /// The number dialled.
    pub dnis: String,
    /// The primary agent's login, once connected.
    pub agent: Option<String>,
    /// SUP-5: the agent a supervisor assigned it to, while it waits for
    /// that agent.
    pub assigned_to: Option<String>,
    /// Unix ms of arrival.
    pub arrived_ms: u64,
    /// Durations so far.
    pub durations: PhaseDurations,
    /// The engine's call number (the control API's `/calls/{id}`).
    pub call: u64,
    /// In an agent's list: the controls that agent may use now, as the
    /// last `controls` event said (CALL-CONSULT-2); empty for supervisors.
    pub controls: Vec<&'static str>,
    /// `recording` or `paused` while the call is recorded (CALL-REC-1), else null.
    pub recording: Option<&'static str>,
    /// Who monitors the call and how (SUP-2), in supervisors' lists; null
    /// in agents' (a silent monitor is silent).
    pub monitor: Option<MonitorView>,
}

/// A supervisor monitoring an interaction (SUP-2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MonitorView {
    /// The supervisor's login.
    pub supervisor: String,
    /// The phone rung.
    pub extension: String,
    /// `listen`, `whisper` or `barge`.
    pub mode: &'static str,
    /// The phone answered (before that, modes cannot change).
    pub answered: bool,
}

/// One variable of an interaction's data (CAD-1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DataVariable {
    /// Name.
    pub name: String,
    /// `string`, `integer`, `boolean` or `datetime`.
    #[serde(rename = "type")]
    pub ty: &'static str,
    /// The value; `None` for a secure variable (never sent to a browser).
    pub value: Option<String>,
    /// The agent may change it.
    pub editable: bool,
    /// Secure: its value is never shown.
    pub secure: bool,
}

/// An interaction's data with its version (CAD-3: saves name the version
/// they were made on; CAD-4: these are the values a revert restores).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DataView {
    /// The interaction uid.
    pub interaction: String,
    /// Version of the saved values.
    pub version: u64,
    /// The variables.
    pub variables: Vec<DataVariable>,
}

/// The engine's answer to a desktop request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeskReply {
    /// One agent.
    Agent(AgentView),
    /// Agents.
    Agents(Vec<AgentView>),
    /// Interactions.
    Interactions(Vec<InteractionView>),
    /// One interaction's data.
    Data(DataView),
    /// What a consult can target.
    ConsultTargets(ConsultTargetsView),
    /// What an assignment did (SUP-5).
    Assigned(AssignView),
}

/// Why the engine refused a desktop request; the API maps each to an HTTP
/// status with a JSON body naming the field when there is one.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DeskError {
    /// No agent or supervisor has this token (401).
    #[error("unknown or missing token")]
    Unauthorized,
    /// The principal may not do this (an agent naming another's interaction,
    /// an agent calling a supervisor endpoint) (403).
    #[error("{0}")]
    Forbidden(String),
    /// Nothing with this id (404); `field` names the request field.
    #[error("{message}")]
    NotFound {
        /// The request field that named it.
        field: &'static str,
        /// What was not found.
        message: String,
    },
    /// A value is malformed or out of range (400).
    #[error("{message}")]
    Invalid {
        /// The field.
        field: String,
        /// Why.
        message: String,
    },
    /// The current state forbids it (409): e.g. logout while ringing
    /// (AGENT-3), end while held (CALL-HOLD-1), wrap-up when not in wrap-up.
    #[error("{0}")]
    Conflict(String),
    /// CAD-3: someone saved first; these variables were overwritten.
    #[error("the data changed since version {base}: now version {current}")]
    DataConflict {
        /// The version the edits were made on.
        base: u64,
        /// The current version.
        current: u64,
        /// Variables saved by someone else since, with their current values.
        overwritten: Vec<(String, String)>,
    },
}

/// What a supervisor's statistics cover (`Engine::stats_scope`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatsScope {
    /// Each queue's name and service-level threshold (seconds), file order.
    pub queues: Vec<(String, u32)>,
    /// The agents' logins, file order.
    pub agents: Vec<String>,
}

/// Something a desktop must react to, pushed on the WebSocket stream of the
/// agent it names (and every supervisor's).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DeskEvent {
    /// AGENT-6: a state change, with its reason and time.
    AgentState {
        /// Login.
        agent: String,
        /// The new state (AGENT-1 names).
        state: &'static str,
        /// The idle reason.
        reason: Option<String>,
        /// AGENT-4 pending state.
        pending: Option<String>,
        /// Unix ms.
        at_ms: u64,
    },
    /// OFFER-1/2/3: an offer rings.
    Offer {
        /// Login.
        agent: String,
        /// The offer.
        #[serde(flatten)]
        offer: OfferView,
    },
    /// The offer stopped ringing without being connected.
    OfferCancelled {
        /// Login.
        agent: String,
        /// The offer.
        offer: u64,
        /// The interaction uid.
        interaction: String,
        /// `declined`, `rona`, `answered_elsewhere` or `abandoned`.
        reason: &'static str,
    },
    /// OFFER-4: the offer rang out; the agent is `Idle(RONA)` and chooses
    /// `Available` or stays `Idle`.
    Rona {
        /// Login.
        agent: String,
        /// The offer.
        offer: u64,
        /// The interaction uid.
        interaction: String,
    },
    /// The agent is connected to the customer.
    Connected {
        /// Login.
        agent: String,
        /// The interaction.
        interaction: InteractionView,
    },
    /// The customer was put on hold or taken off it (CALL-HOLD-1).
    Hold {
        /// Login.
        agent: String,
        /// The interaction uid.
        interaction: String,
        /// True while held.
        held: bool,
    },
    /// The call ended.
    Ended {
        /// Login.
        agent: String,
        /// The interaction uid.
        interaction: String,
        /// `customer`, `agent` or `switch`.
        by: &'static str,
    },
    /// WRAP-1: wrap-up starts; pick reasons from `reasons`.
    WrapUp {
        /// Login.
        agent: String,
        /// The interaction uid.
        interaction: String,
        /// The queue's reasons.
        reasons: Vec<String>,
        /// Unix ms of the automatic end (WRAP-2), `None` when extended indefinitely.
        deadline_ms: Option<u64>,
    },
    /// WRAP-2: wrap-up ended.
    WrapUpEnded {
        /// Login.
        agent: String,
        /// The interaction uid.
        interaction: String,
        /// True when the wrap-up time ran out.
        timed_out: bool,
    },
    /// A consult's progress, for the initiator (CALL-CONSULT-2, -3).
    Consult {
        /// Login of the initiator.
        agent: String,
        /// The interaction uid.
        interaction: String,
        /// Who is consulted (login or number).
        party: String,
        /// `waiting` (for a queue's next agent), `ringing`, `connected`, `failed`, `ended` or `merged`.
        state: &'static str,
        /// Why it failed (`no answer`, `busy`, `unsupported destination`, ...).
        reason: Option<String>,
    },
    /// A consult offer rings for the consulted agent (CALL-CONSULT-5: the
    /// initiator's name, extension and team, and up to 6 of the queue's
    /// variables, read-only).
    ConsultOffer {
        /// Login of the consulted agent.
        agent: String,
        /// The interaction uid.
        interaction: String,
        /// The initiator's login.
        from: String,
        /// The variables shown, in order (at most 9).
        variables: Vec<ShownVariable>,
    },
    /// The customer left the consult or conference; the agents talk on
    /// (CALL-CONF-4). To the primary agent, with the wrap-up reasons.
    CustomerLeft {
        /// Login of the primary agent.
        agent: String,
        /// The interaction uid.
        interaction: String,
        /// The queue's wrap-up reasons (the wrap-up prompt).
        reasons: Vec<String>,
    },
    /// The agent transferred the interaction (CALL-XFER-1..5): its part
    /// is over and its wrap-up follows.
    Transferred {
        /// Login of the transferring agent.
        agent: String,
        /// The interaction uid.
        interaction: String,
        /// Where it went (an agent's login, a queue's name, a number).
        to: String,
        /// `agent`, `queue`, `entry_point`, `number`, `consultee`, or
        /// `supervisor` (a supervisor transferred it away, CALL-XFER-6).
        kind: &'static str,
    },
    /// CALL-CONF-2: control passed to this agent (the primary left).
    PrimaryChanged {
        /// Login of the new primary agent.
        agent: String,
        /// The interaction uid.
        interaction: String,
        /// Login of the agent who left.
        from: String,
    },
    /// The controls enabled for this agent on the interaction now, after
    /// every change (CALL-CONSULT-2): a desktop greys out the others.
    Controls {
        /// Login.
        agent: String,
        /// The interaction uid.
        interaction: String,
        /// `hold`, `resume`, `end`, `consult`, `toggle`, `merge`,
        /// `end_consult`, `leave`.
        enabled: Vec<&'static str>,
    },
    /// SUP-2: the supervisor monitoring the interaction now listens,
    /// whispers to this agent, or barged in.
    Supervisor {
        /// Login of the agent.
        agent: String,
        /// The interaction uid.
        interaction: String,
        /// The supervisor's login.
        supervisor: String,
        /// `listen`, `whisper` or `barge`.
        mode: &'static str,
    },
    /// SUP-5: a supervisor assigned an interaction to this agent.
    Assigned {
        /// Login of the agent.
        agent: String,
        /// The interaction uid.
        interaction: String,
        /// The supervisor's login.
        supervisor: String,
        /// `ringing` or `when_free`.
        delivery: &'static str,
    },
    /// SUP-6: a supervisor closed the interaction.
    ClosedBySupervisor {
        /// Login of an agent on the interaction.
        agent: String,
        /// The interaction uid.
        interaction: String,
        /// The supervisor's login.
        supervisor: String,
    },
    /// CAD-3: the interaction's data was saved (by this or another desktop).
    DataSaved {
        /// Login of the interaction's agent.
        agent: String,
        /// The interaction uid.
        interaction: String,
        /// The new version.
        version: u64,
        /// The variables saved.
        changed: Vec<String>,
    },
    /// A queue's live numbers changed (the supervisor's queue tiles, issue
    /// 13 item 2): on supervisors' streams only.
    Queue {
        /// The queue's name.
        queue: String,
        /// Customers not yet answered (waiting, ringing, held for an agent).
        waiting: u64,
        /// Unix ms the longest-waiting of them entered the queue.
        oldest_waiting_since: Option<u64>,
        /// That wait when this was sent, whole seconds.
        longest_wait_s: u64,
        /// The queue's agents per AGENT-1 state.
        agents: std::collections::BTreeMap<String, u64>,
    },
    /// Today's figures of a queue changed (issue 13 item 3, live):
    /// on supervisors' streams only.
    QueueStats {
        /// The queue's name.
        queue: String,
        /// Today's figures (the day from UTC midnight).
        today: Box<crate::records::stats::QueueFigures>,
    },
    /// Today's figures of an agent changed (issue 13 item 3, live; time
    /// in state as of the last change): on supervisors' streams only.
    AgentStats {
        /// The agent's login.
        agent: String,
        /// Today's figures (the day from UTC midnight).
        today: Box<crate::records::stats::AgentFigures>,
    },
    /// A callback the agent handles moved on (CB-6, CB-7): `dialing` the
    /// customer, `held` by the tenant's concurrent-call limit (with its
    /// reason code), `answered`, `unanswered` or `cancelled`.
    Callback {
        /// The agent's login.
        agent: String,
        /// The interaction uid.
        interaction: String,
        /// The callback's id.
        callback: String,
        /// The customer's number.
        number: String,
        /// Where it is.
        state: &'static str,
        /// Why it waits (CB-7: `concurrent_call_limit`).
        reason: Option<&'static str>,
    },
    /// A voicemail message was left in a mailbox the agent serves (issue
    /// 14 item 5): a work item. One copy per logged-in agent of the queue
    /// (the number masked per OFFER-3 when the queue says so) and one for
    /// the supervisors (`agent` empty, unmasked).
    Voicemail {
        /// The agent's login; empty on the supervisors' copy.
        agent: String,
        /// The message.
        #[serde(flatten)]
        message: super::VoicemailView,
    },
    /// A voicemail message was marked handled (issue 14 item 5), to the
    /// same people as [`DeskEvent::Voicemail`].
    VoicemailDone {
        /// The agent's login; empty on the supervisors' copy.
        agent: String,
        /// The message's id.
        id: String,
        /// Its queue, if a queue's.
        queue: Option<String>,
        /// Its user (extension), if a user's.
        user: Option<String>,
        /// Who marked it done (a login).
        by: String,
        /// When (unix ms).
        at_ms: u64,
    },
}

impl DeskEvent {
    /// Whether a supervisor's stream carries the event: every event but an
    /// agent's copy of a voicemail event (supervisors get their own).
    pub fn for_supervisors(&self) -> bool {
        match self {
            DeskEvent::Voicemail { agent, .. } | DeskEvent::VoicemailDone { agent, .. } => agent.is_empty(),
            _ => true,
        }
    }

    /// The agent whose stream carries the event.
    pub fn agent(&self) -> &str {
        match self {
            DeskEvent::AgentState { agent, .. }
            | DeskEvent::Offer { agent, .. }
            | DeskEvent::OfferCancelled { agent, .. }
            | DeskEvent::Rona { agent, .. }
            | DeskEvent::Connected { agent, .. }
            | DeskEvent::Hold { agent, .. }
            | DeskEvent::Ended { agent, .. }
            | DeskEvent::WrapUp { agent, .. }
            | DeskEvent::WrapUpEnded { agent, .. }
            | DeskEvent::DataSaved { agent, .. }
            | DeskEvent::Consult { agent, .. }
            | DeskEvent::Transferred { agent, .. }
            | DeskEvent::ConsultOffer { agent, .. }
            | DeskEvent::CustomerLeft { agent, .. }
            | DeskEvent::PrimaryChanged { agent, .. }
            | DeskEvent::Controls { agent, .. }
            | DeskEvent::ClosedBySupervisor { agent, .. }
            | DeskEvent::Assigned { agent, .. }
            | DeskEvent::Supervisor { agent, .. }
            | DeskEvent::Voicemail { agent, .. }
            | DeskEvent::Callback { agent, .. }
            | DeskEvent::VoicemailDone { agent, .. } => agent,
            // No agent's: supervisors only.
            DeskEvent::Queue { .. } | DeskEvent::QueueStats { .. } | DeskEvent::AgentStats { .. } => "",
        }
    }
}
