//! Errors of the ACD core (DESIGN.md convention 6): every refusal of
//! [`super::Acd::handle`] or of [`super::Acd::new`], with the ids involved.

use super::agent::AgentState;
use super::ids::{AgentId, InteractionId, OfferId, QueueId};

/// Why the ACD refused an event or a configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AcdError {
    /// No agent with this id is configured.
    #[error("unknown agent {0}")]
    UnknownAgent(AgentId),
    /// No queue with this id is configured.
    #[error("unknown queue {0}")]
    UnknownQueue(QueueId),
    /// The interaction is not (or no longer) held by the ACD.
    #[error("unknown interaction {0}")]
    UnknownInteraction(InteractionId),
    /// The offer is not ringing (answered, declined, timed out or never made).
    #[error("unknown or finished offer {0}")]
    UnknownOffer(OfferId),
    /// An interaction with this id is already in the ACD.
    #[error("interaction {0} already in the ACD")]
    DuplicateInteraction(InteractionId),
    /// AGENT-3: an agent cannot log out while an offer rings for it.
    #[error("agent {0} cannot log out while an offer is ringing (AGENT-3)")]
    LogoutWhileRinging(AgentId),
    /// Logging out is refused while the agent handles an interaction or wraps up.
    #[error("agent {agent} cannot log out while {state:?}")]
    LogoutWhileEngaged {
        /// The agent.
        agent: AgentId,
        /// Its current state.
        state: AgentState,
    },
    /// The agent must be logged in for this event.
    #[error("agent {0} is logged out")]
    NotLoggedIn(AgentId),
    /// The agent is already logged in.
    #[error("agent {0} is already logged in")]
    AlreadyLoggedIn(AgentId),
    /// A wrap-up event for an agent that is not in `WrapUp` (WRAP-1).
    #[error("agent {0} is not in wrap-up")]
    NotInWrapUp(AgentId),
    /// AGENT-1: idle reasons are configured; this one is not.
    #[error("unknown idle reason {0:?}")]
    UnknownIdleReason(String),
    /// WRAP-1: wrap-up reasons are configured; this one is not.
    #[error("unknown wrap-up reason {0:?}")]
    UnknownWrapUpReason(String),
    /// WRAP-1: a submitted wrap-up needs at least one reason.
    #[error("a wrap-up needs at least one reason (WRAP-1)")]
    NoWrapUpReason,
    /// Two queues or two agents share an id in the configuration.
    #[error("duplicate id in ACD config: {0}")]
    DuplicateConfigId(String),
    /// A queue overflows to itself.
    #[error("queue {0} overflows to itself")]
    SelfOverflow(QueueId),
    /// CALL-CONSULT-1: only `Available` or `Idle` agents can be consulted.
    #[error("agent {agent} cannot be consulted while {state:?} (CALL-CONSULT-1)")]
    NotConsultable {
        /// The agent.
        agent: AgentId,
        /// Its state.
        state: AgentState,
    },
    /// The interaction is not connected to an agent (or its customer left).
    #[error("interaction {0} is not connected")]
    NotConnected(InteractionId),
    /// One consult at a time.
    #[error("interaction {0} already has a consult running")]
    ConsultRunning(InteractionId),
    /// The agent is not part of the interaction.
    #[error("agent {agent} is not in interaction {interaction}")]
    NotInInteraction {
        /// The agent.
        agent: AgentId,
        /// The interaction.
        interaction: InteractionId,
    },
    /// SUP-5: only an open, unassigned interaction can be assigned.
    #[error("interaction {interaction} is already assigned to agent {agent} (SUP-5)")]
    NotAssignable {
        /// The interaction.
        interaction: InteractionId,
        /// The agent it is with or held for.
        agent: AgentId,
    },
    /// CAD-1..3: a change to the interaction's data was refused.
    /// CALL-XFER-1: only `Available` agents take transfers.
    #[error("agent {agent} cannot take a transfer while {state:?} (CALL-XFER-1)")]
    NotTransferable {
        /// The agent.
        agent: AgentId,
        /// Its state.
        state: super::agent::AgentState,
    },
    /// A transfer to the consultee without an answered consult.
    #[error("interaction {0} has no answered consult to transfer to")]
    NoConsultee(InteractionId),
    /// A blind transfer while a consult or conference runs.
    #[error("interaction {0} is in a consult or conference")]
    NotAlone(InteractionId),
    /// The interaction is neither waiting nor ringing (SUP-5).
    #[error("interaction {0} is not waiting in a queue")]
    NotOpen(InteractionId),
    /// No transfer to a number rings for the interaction.
    #[error("interaction {0} has no transfer ringing")]
    NotTransferring(InteractionId),
    #[error(transparent)]
    Data(#[from] super::cad::CadError),
}
