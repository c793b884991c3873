//! What goes into the ACD ([`AcdEvent`]) and what comes out ([`AcdAction`]).

use super::agent::{AgentState, RequestedState};
use super::ids::{AgentId, InteractionId, OfferId, QueueId};
use super::interaction::{Customer, InteractionInfo, Outcome};
use super::queue::{OverflowTarget, Variable};
use std::time::{Duration, Instant};

/// An input of [`super::Acd::handle`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AcdEvent {
    /// Only the time moved: fire the timers due (RONA, wrap-up end, overflow).
    Timeout,
    /// A customer interaction enters a queue.
    InteractionArrived {
        /// Its id (unique while in the ACD).
        id: InteractionId,
        /// The queue.
        queue: QueueId,
        /// Higher is served first.
        priority: u8,
        /// The caller's number, DNIS and call-associated data (OFFER-2 shows some).
        customer: Box<Customer>,
    },
    /// The caller hung up before being connected (or at any time).
    InteractionAbandoned {
        /// The interaction.
        id: InteractionId,
    },
    /// The connected interaction ended (either side hung up): wrap-up starts (WRAP-1).
    InteractionEnded {
        /// The interaction.
        id: InteractionId,
    },
    /// The customer of a connected interaction was put on or taken off hold
    /// (CALL-HOLD-1): the time is booked as hold or talk (HIST-3).
    HoldChanged {
        /// The interaction.
        id: InteractionId,
        /// On hold now.
        held: bool,
    },
    /// An agent logs in, into `state`.
    AgentLogin {
        /// The agent.
        agent: AgentId,
        /// The state to start in.
        state: RequestedState,
    },
    /// An agent logs out (AGENT-3: not while an offer rings).
    AgentLogout {
        /// The agent.
        agent: AgentId,
    },
    /// The agent asks for `Available` or `Idle` (pending while engaged, AGENT-4).
    AgentSetState {
        /// The agent.
        agent: AgentId,
        /// The state asked for.
        state: RequestedState,
    },
    /// The agent accepted the offer on the desktop.
    OfferAccepted {
        /// The offer.
        offer: OfferId,
    },
    /// The agent declined the offer (OFFER-4).
    OfferDeclined {
        /// The offer.
        offer: OfferId,
    },
    /// The agent's phone answered the offer's leg (manual accept), or the
    /// engine answered it (auto accept).
    PhoneAnswered {
        /// The offer.
        offer: OfferId,
    },
    /// The agent's phone leg failed (busy, unreachable, rejected): like RONA.
    PhoneLegFailed {
        /// The offer.
        offer: OfferId,
    },
    /// CALL-CONSULT-1: the primary agent consults `agent` (an `Available`
    /// or `Idle` agent): its phone rings as a consult offer.
    ConsultAgent {
        /// The interaction.
        id: InteractionId,
        /// The agent consulted.
        agent: AgentId,
    },
    /// CALL-CONSULT-1: the primary agent consults a queue: its next
    /// available agent rings at once, or when one becomes available (the
    /// consult waits ahead of the queue's line).
    ConsultQueue {
        /// The interaction.
        id: InteractionId,
        /// The queue consulted.
        queue: QueueId,
    },
    /// CALL-CONSULT-1: the primary agent consults a number or an entry point.
    ConsultStarted {
        /// The interaction.
        id: InteractionId,
    },
    /// The consult ended without a merge (ended, the consultee left, or a
    /// consulted number failed).
    ConsultOver {
        /// The interaction.
        id: InteractionId,
    },
    /// CALL-CONF-1: the consult was merged into a conference.
    Merged {
        /// The interaction.
        id: InteractionId,
    },
    /// An agent left the interaction's call while the call goes on
    /// (CALL-CONF-2 when it is the primary).
    AgentLeft {
        /// The interaction.
        id: InteractionId,
        /// The agent.
        agent: AgentId,
    },
    /// SUP-6: a supervisor closes the interaction: a wrap-up ends at once,
    /// any agent still on it is released (no wrap-up), and it closes as
    /// [`Outcome::Closed`]. The engine ends its call first.
    ForceClose {
        /// The interaction.
        id: InteractionId,
    },
    /// CALL-CONF-4: the customer left a consult or conference.
    CustomerLeft {
        /// The interaction.
        id: InteractionId,
    },
    /// CALL-XFER-1: the primary agent transfers the interaction blind to
    /// an `Available` agent, a queue, or a number outside the ACD; it
    /// wraps up its part at once (CALL-XFER-5).
    Transfer {
        /// The interaction.
        id: InteractionId,
        /// Where it goes.
        target: super::transfer::TransferTarget,
    },
    /// CALL-CONSULT-4: the primary agent hands the customer to the
    /// consulted agent who answered; it wraps up its part (CALL-XFER-5).
    TransferToConsultant {
        /// The interaction.
        id: InteractionId,
    },
    /// The number a [`TransferTarget::Outside`](super::transfer::TransferTarget::Outside)
    /// transfer rang answered: the interaction has left the ACD.
    TransferAnswered {
        /// The interaction.
        id: InteractionId,
    },
    /// The number a transfer rang did not answer: the interaction goes
    /// back to its queue's line (CALL-XFER-2).
    TransferFailed {
        /// The interaction.
        id: InteractionId,
    },
    /// CALL-XFER-4: the customer an agent transferred into an entry point
    /// (a [`TransferTarget::Outside`](super::transfer::TransferTarget::Outside)
    /// transfer the flow decides) reached one of its queue steps: it joins
    /// that queue's line with the step's priority.
    TransferEnteredQueue {
        /// The interaction.
        id: InteractionId,
        /// The queue.
        queue: super::QueueId,
        /// The step's priority.
        priority: u8,
        /// The step's skill level (0: any agent).
        min_skill: u8,
    },
    /// CALL-XFER-6: a supervisor transfers the interaction to an
    /// `Available` agent; the primary agent is a consultant until that
    /// agent accepts or declines.
    SupervisorTransfer {
        /// The interaction.
        id: InteractionId,
        /// The agent it goes to.
        agent: AgentId,
    },
    /// The agent submits wrap-up (WRAP-1, WRAP-2).
    WrapUpSubmitted {
        /// The agent.
        agent: AgentId,
        /// At least one configured reason.
        reasons: Vec<String>,
        /// Free notes.
        notes: String,
    },
    /// The agent extends wrap-up (WRAP-2): by `by`, or indefinitely with `None`.
    WrapUpExtend {
        /// The agent.
        agent: AgentId,
        /// Extra time from the current deadline, or `None` for no automatic end.
        by: Option<Duration>,
    },
}

/// Why a ringing offer's phone leg is cancelled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CancelReason {
    /// The agent declined (OFFER-4).
    Declined,
    /// Nobody answered within the RONA timeout (OFFER-4).
    Rona,
    /// Ring-all: another agent answered.
    AnsweredElsewhere,
    /// The caller hung up.
    Abandoned,
    /// A supervisor assigned the interaction elsewhere (SUP-5).
    Reassigned,
}

/// An output of the ACD, drained with [`super::Acd::poll_action`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AcdAction {
    /// Ring the agent's registered phone through the B2BUA and show the offer (OFFER-1, OFFER-2).
    RingAgent {
        /// The offer.
        offer: OfferId,
        /// The agent.
        agent: AgentId,
        /// The interaction offered.
        interaction: InteractionId,
        /// The queue it is offered from.
        queue: QueueId,
        /// OFFER-1: answer the leg for the agent.
        auto_answer: bool,
        /// OFFER-2: the queue's chosen variables, in its order, secure ones left out.
        variables: Vec<Variable>,
        /// When RONA fires.
        deadline: Instant,
        /// How many offers of this interaction so far, this one included.
        offered_count: u32,
    },
    /// Cancel the offer's ringing phone leg (decline, RONA, ring-all, abandon).
    CancelRing {
        /// The offer.
        offer: OfferId,
        /// The agent.
        agent: AgentId,
        /// The interaction.
        interaction: InteractionId,
        /// Why.
        reason: CancelReason,
    },
    /// Bridge the interaction to the agent's answered leg.
    Connect {
        /// The accepted offer.
        offer: OfferId,
        /// The agent, now `Busy`.
        agent: AgentId,
        /// The interaction.
        interaction: InteractionId,
    },
    /// OFFER-4: the offer rang out; the agent is now `Idle(RONA)` and the
    /// desktop asks whether to go `Available` or stay `Idle`.
    OfferTimedOut {
        /// The offer.
        offer: OfferId,
        /// The agent.
        agent: AgentId,
        /// The interaction, back in its queue.
        interaction: InteractionId,
    },
    /// AGENT-6: a state change for the desktop stream and the audit log.
    AgentStateChanged {
        /// The agent.
        agent: AgentId,
        /// The new state (the reason is in `Idle`).
        state: AgentState,
        /// AGENT-4: a state waiting for the interaction and wrap-up to end.
        pending: Option<RequestedState>,
        /// When.
        at: Instant,
    },
    /// The interaction waited the queue's maximum time and leaves for `target`.
    Overflow {
        /// The interaction.
        interaction: InteractionId,
        /// The queue it waited in.
        from: QueueId,
        /// Where it goes (an external target leaves the ACD).
        target: OverflowTarget,
    },
    /// WRAP-1: the primary agent (CALL-END-1) enters wrap-up.
    WrapUpStarted {
        /// The agent.
        agent: AgentId,
        /// The interaction.
        interaction: InteractionId,
        /// WRAP-2: the automatic end.
        deadline: Instant,
    },
    /// WRAP-2: wrap-up ended, submitted or timed out.
    WrapUpEnded {
        /// The agent.
        agent: AgentId,
        /// The interaction.
        interaction: InteractionId,
        /// The reasons picked (empty when timed out).
        reasons: Vec<String>,
        /// The notes.
        notes: String,
        /// True when the wrap-up time ran out.
        timed_out: bool,
    },
    /// CALL-CONSULT-1: ring the consulted agent's phone.
    RingConsult {
        /// The consult offer (answered or failed with the offer events).
        offer: OfferId,
        /// The agent consulted, now `Reserved`.
        agent: AgentId,
        /// The interaction.
        interaction: InteractionId,
        /// When the consult rings out (the queue's RONA timeout).
        deadline: Instant,
        /// The ACD picked the agent (a queue consult, CALL-CONSULT-1): the
        /// engine calls its phone. False for [`AcdEvent::ConsultAgent`],
        /// whose caller places the leg itself.
        place_leg: bool,
    },
    /// CALL-CONSULT-3: the consulted agent did not answer; it is now
    /// `Idle(RONA)`. The engine withdraws the leg when `timed_out`.
    ConsultFailed {
        /// The consult offer.
        offer: OfferId,
        /// The agent.
        agent: AgentId,
        /// The interaction.
        interaction: InteractionId,
        /// It rang out (the phone's leg is still up).
        timed_out: bool,
    },
    /// CALL-CONF-2: the primary agent left; `to` controls the interaction now.
    PrimaryChanged {
        /// The interaction.
        interaction: InteractionId,
        /// The agent who left.
        from: AgentId,
        /// The agent present longest, the new primary.
        to: AgentId,
    },
    /// CALL-XFER-6: a supervisor transfer ended: accepted (the first agent
    /// left the interaction, its leg must go) or not (the first agent is the
    /// primary agent again).
    HandedOver {
        /// The interaction.
        interaction: InteractionId,
        /// The agent it was transferred away from.
        from: AgentId,
        /// The offered agent accepted.
        accepted: bool,
    },
    /// The interaction left the ACD (wrap-up ended, abandoned, overflowed
    /// out): its final history, for the store (HIST-3). Emitted after the
    /// action that caused it (`WrapUpEnded`, `Overflow`).
    InteractionClosed {
        /// The interaction.
        interaction: InteractionId,
        /// How it ended.
        outcome: Outcome,
        /// Its history, every phase booked up to the close.
        info: Box<InteractionInfo>,
    },
}
