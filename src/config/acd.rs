//! The typed contact-center configuration of `acd.toml`: queues, agents,
//! teams, supervisors, call-associated variables and idle reasons.
//!
//! Built once by `acd_load.rs` from the raw TOML (every value checked, every
//! reference resolved); the engine reads it through [`super::Config::acd`] and
//! builds the ACD core from it with [`AcdSettings::core_config`]. Queue and
//! agent ids are their index in file order ([`QueueId`], [`AgentId`]).
//!
//! Rules: AGENT-1 (configured idle reasons, `RONA` built in), OFFER-1
//! (accept mode), OFFER-2 (3 to 6 offer variables, never a secure one),
//! OFFER-3 (caller-number masking), OFFER-4 (RONA timeout), CAD-1 (typed,
//! editable, secure variables), CAD-2 (values of at most 256 characters),
//! WRAP-1/WRAP-2 (wrap-up reasons and time per queue), CALL-REC-1 and
//! CALL-NOISE-1 (per-queue recording and noise removal).

use std::path::PathBuf;
use std::time::Duration;

use crate::acd::{AcceptMode, AcdConfig, AgentConfig, AgentId, OverflowTarget, QueueConfig, QueueId, Strategy};

use super::token::ApiToken;

/// CAD-2: the longest value a variable may hold, in characters.
pub const MAX_VARIABLE_VALUE_CHARS: usize = 256;

/// CAD-1: the type of a call-associated variable: the CAD core's type, so
/// a configured default is checked exactly like a value an agent saves.
pub use crate::acd::VarType;

/// Checks a configured default against its type (CAD-1, with the CAD core's
/// check) and its length (CAD-2).
pub fn validate_value(ty: VarType, value: &str) -> Result<(), VarValueError> {
    let chars = value.chars().count();
    if chars > MAX_VARIABLE_VALUE_CHARS {
        return Err(VarValueError::TooLong { chars });
    }
    ty.check(value)
        .map_err(|detail| VarValueError::WrongType { ty, detail })
}

/// Why a value does not fit its variable (CAD-1, CAD-2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VarValueError {
    /// CAD-2: longer than [`MAX_VARIABLE_VALUE_CHARS`].
    #[error("value has {chars} characters; at most 256 are allowed (CAD-2)")]
    TooLong {
        /// Its length in characters.
        chars: usize,
    },
    /// CAD-1: not a value of the variable's type.
    #[error("value is not a valid {ty}: {detail}")]
    WrongType {
        /// The variable's type.
        ty: VarType,
        /// What was expected.
        detail: String,
    },
}

/// CAD-1: where a variable's value comes from when an interaction arrives.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum VarSource {
    /// The caller's number (From user part).
    CallerNumber,
    /// The caller's display name.
    CallerName,
    /// The number the caller dialled (Request-URI user part).
    Dialled,
    /// The name of the queue the interaction entered.
    Queue,
    /// A SIP header of the incoming INVITE (`header:X-Account`), by name.
    Header(String),
}

/// CAD-1: one call-associated variable definition (`[[variable]]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VariableDef {
    /// Unique name (`[A-Za-z_][A-Za-z0-9_]*`, at most 64 characters).
    pub name: String,
    /// Its type.
    pub var_type: VarType,
    /// Agents may edit it (CAD-3).
    pub editable: bool,
    /// Never shown in an offer (OFFER-2).
    pub secure: bool,
    /// Where its value comes from; `None`: the default.
    pub source: Option<VarSource>,
    /// Value when the source gives none (already checked with
    /// [`VariableSpec::validate`](crate::acd::VariableSpec::validate)).
    pub default: Option<String>,
}

/// A variable the ACD fills in itself, usable in `offer_variables` without a
/// `[[variable]]` (OFFER-2, OFFER-6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BuiltinVar {
    /// `caller_number`: the caller's number (masked per OFFER-3).
    CallerNumber,
    /// `caller_name`: the caller's display name.
    CallerName,
    /// `dnis`: the queue's number (the number the caller reached).
    Dnis,
    /// `queue`: the queue's name.
    Queue,
}

impl BuiltinVar {
    /// All built-ins, in a fixed order.
    pub const ALL: [BuiltinVar; 4] = [
        BuiltinVar::CallerNumber,
        BuiltinVar::CallerName,
        BuiltinVar::Dnis,
        BuiltinVar::Queue,
    ];

    /// Its variable name.
    pub fn name(self) -> &'static str {
        match self {
            BuiltinVar::CallerNumber => "caller_number",
            BuiltinVar::CallerName => "caller_name",
            BuiltinVar::Dnis => "dnis",
            BuiltinVar::Queue => "queue",
        }
    }

    /// The built-in called `name`, if any.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|b| b.name() == name)
    }
}

/// OFFER-2: one variable an offer shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OfferVar {
    /// A built-in variable.
    Builtin(BuiltinVar),
    /// A `[[variable]]` (never a secure one), by name.
    Defined(String),
}

impl OfferVar {
    /// The variable's name, as the interaction's variables carry it.
    pub fn name(&self) -> &str {
        match self {
            OfferVar::Builtin(b) => b.name(),
            OfferVar::Defined(n) => n,
        }
    }
}

/// A team of agents (`[[team]]`), the unit supervisors watch (SUP-1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamSettings {
    /// Unique name.
    pub name: String,
}

/// One queue (`[[queue]]`): routing, offers (OFFER-1..4), wrap-up (WRAP-1,
/// WRAP-2), recording (CALL-REC-1) and noise removal (CALL-NOISE-1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueSettings {
    /// Its id in the ACD core: the index in file order.
    pub id: QueueId,
    /// Unique name, used by the dial plan's `queue` action.
    pub name: String,
    /// The queue's number (digits), shown to agents as the DNIS (OFFER-6).
    pub number: String,
    /// How an available agent is chosen.
    pub strategy: Strategy,
    /// OFFER-1: manual or auto accept.
    pub accept: AcceptMode,
    /// OFFER-4: how long an offer rings before RONA (1 to 300 s).
    pub rona_timeout: Duration,
    /// WRAP-2: the wrap-up time (0 to 3600 s).
    pub wrap_up: Duration,
    /// WRAP-1: the reasons an agent picks from (at least one).
    pub wrap_up_reasons: Vec<String>,
    /// OFFER-2: the variables an offer shows, 3 to 6, in the admin's order.
    pub offer_variables: Vec<OfferVar>,
    /// Music on hold / while waiting: a `.wav` file under `media/`.
    pub music: Option<PathBuf>,
    /// Place-in-line and expected-wait announcement period; `None`: off.
    pub announce_every: Option<Duration>,
    /// CB-1: a waiting caller whose expected wait passes this is offered
    /// a callback (press 1) that keeps its place in line; `None`: off.
    pub courtesy_callback_after: Option<Duration>,
    /// CALL-REC-1: record this queue's calls.
    pub record: bool,
    /// CALL-NOISE-1: remove background noise on this queue's calls.
    pub noise_removal: bool,
    /// Priority of calls entering this queue (higher first).
    pub priority: u8,
    /// Overflow after this wait; always set together with `overflow`.
    pub max_wait: Option<Duration>,
    /// Where the interaction goes after `max_wait`: another queue, or a
    /// number routed by the dial plan in the context the call arrived in.
    pub overflow: Option<OverflowTarget>,
    /// OFFER-3: show only the caller number's last 4 digits.
    pub mask_caller_number: bool,
    /// CALL-XFER-4: the `[[variable]]`s this queue's flow uses; a call
    /// transferred in through its entry point keeps only these (and the
    /// built-ins). `None`: every variable.
    pub flow_variables: Option<Vec<String>>,
    /// The service-level threshold in seconds (issue 13 statistics: a call
    /// answered within it counts as answered in service level), 1..=3600,
    /// default 20.
    pub service_level_s: u32,
}

/// One agent (`[[agent]]`, AGENT-1): its phone, skills and desktop API token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentSettings {
    /// Its id in the ACD core: the index in file order.
    pub id: AgentId,
    /// Login name (`[a-z0-9._-]{1,32}`), unique.
    pub login: String,
    /// Full name shown to supervisors and colleagues.
    pub name: String,
    /// Its team (a [`TeamSettings::name`]).
    pub team: String,
    /// The directory extension whose phone rings for offers; unique.
    pub extension: String,
    /// Queues served with a skill level each (1 to 10), by queue id.
    pub skills: Vec<(QueueId, u8)>,
    /// Desktop API bearer token (at least 16 characters, unique), as its digest.
    pub token: ApiToken,
}

/// One supervisor (`[[supervisor]]`): the teams it watches (SUP-1) and its
/// desktop API token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SupervisorSettings {
    /// Login name (`[a-z0-9._-]{1,32}`), unique among supervisors.
    pub login: String,
    /// Full name.
    pub name: String,
    /// Teams watched (SUP-1), at least one.
    pub teams: Vec<String>,
    /// Desktop API bearer token (at least 16 characters, unique among all
    /// agents and supervisors), as its digest.
    pub token: ApiToken,
}

/// The whole of `acd.toml`, validated ([`super::Config::acd`]); empty when
/// the file is absent.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AcdSettings {
    /// AGENT-1: configured idle reasons (`RONA` is built in and not listed).
    pub idle_reasons: Vec<String>,
    /// CAD-1: variable definitions in file order.
    pub variables: Vec<VariableDef>,
    /// Teams in file order.
    pub teams: Vec<TeamSettings>,
    /// Queues in file order; `queues[i].id == QueueId(i)`.
    pub queues: Vec<QueueSettings>,
    /// Agents in file order; `agents[i].id == AgentId(i)`.
    pub agents: Vec<AgentSettings>,
    /// Supervisors in file order.
    pub supervisors: Vec<SupervisorSettings>,
    /// How callbacks are placed (`[callbacks]`, CB-6, CB-7).
    pub callbacks: CallbackSettings,
}

/// `[callbacks]` of `acd.toml`: how the switch places callbacks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallbackSettings {
    /// CB-7: the tenant's concurrent-call limit: no callback's customer is
    /// dialled while this many calls are up (`None`: no limit).
    pub max_concurrent_calls: Option<u32>,
    /// How long the customer's phone rings before the try counts as not
    /// answered (CB-6).
    pub ring: std::time::Duration,
    /// CB-6: how long an unanswered callback waits before it goes back to
    /// its queue.
    pub retry_after: std::time::Duration,
    /// CB-6: tries before a callback the customer never answers is given up.
    pub max_attempts: u32,
}

impl Default for CallbackSettings {
    fn default() -> Self {
        CallbackSettings {
            max_concurrent_calls: None,
            ring: std::time::Duration::from_secs(30),
            retry_after: std::time::Duration::from_secs(300),
            max_attempts: 3,
        }
    }
}

impl AcdSettings {
    /// A queue by name (dial-plan `queue` actions).
    pub fn queue_by_name(&self, name: &str) -> Option<&QueueSettings> {
        self.queues.iter().find(|q| q.name == name)
    }

    /// A queue by id.
    pub fn queue(&self, id: QueueId) -> Option<&QueueSettings> {
        self.queues.get(usize::try_from(id.0).ok()?)
    }

    /// An agent by id.
    pub fn agent(&self, id: AgentId) -> Option<&AgentSettings> {
        self.agents.get(usize::try_from(id.0).ok()?)
    }

    /// An agent by login name.
    pub fn agent_by_login(&self, login: &str) -> Option<&AgentSettings> {
        self.agents.iter().find(|a| a.login == login)
    }

    /// The agent whose phone is `extension`.
    pub fn agent_by_extension(&self, extension: &str) -> Option<&AgentSettings> {
        self.agents.iter().find(|a| a.extension == extension)
    }

    /// A supervisor by login name.
    pub fn supervisor_by_login(&self, login: &str) -> Option<&SupervisorSettings> {
        self.supervisors.iter().find(|s| s.login == login)
    }

    /// A variable definition by name (CAD-1).
    pub fn variable(&self, name: &str) -> Option<&VariableDef> {
        self.variables.iter().find(|v| v.name == name)
    }

    /// The ACD core's configuration: queues with their timers, accept mode,
    /// overflow, offer variables and wrap-up reasons; agents with their
    /// skills; the idle reasons. `Acd::new` accepts it as is (ids, overflow
    /// and skills were checked at load).
    pub fn core_config(&self) -> AcdConfig {
        AcdConfig {
            queues: self
                .queues
                .iter()
                .map(|q| QueueConfig {
                    id: q.id,
                    strategy: q.strategy,
                    accept: q.accept,
                    rona_timeout: q.rona_timeout,
                    wrap_up: q.wrap_up,
                    max_wait: q.max_wait,
                    overflow: q.overflow.clone(),
                    offer_variables: q.offer_variables.iter().map(|v| v.name().to_owned()).collect(),
                    wrap_up_reasons: q.wrap_up_reasons.clone(),
                })
                .collect(),
            agents: self
                .agents
                .iter()
                .map(|a| AgentConfig {
                    id: a.id,
                    queues: a.skills.clone(),
                })
                .collect(),
            idle_reasons: self.idle_reasons.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_checked_by_type_and_length() {
        assert_eq!(validate_value(VarType::Integer, "-42"), Ok(()));
        assert!(matches!(
            validate_value(VarType::Integer, "4.2"),
            Err(VarValueError::WrongType {
                ty: VarType::Integer,
                ..
            })
        ));
        assert_eq!(validate_value(VarType::Boolean, "true"), Ok(()));
        assert!(validate_value(VarType::Boolean, "yes").is_err());
        assert_eq!(validate_value(VarType::DateTime, "2024-02-29T23:59:59+05:30"), Ok(()));
        for bad in ["2023-02-29T00:00:00Z", "2024-05-01", "2024-05-01T09:30:00"] {
            assert!(validate_value(VarType::DateTime, bad).is_err(), "{bad}");
        }
        assert_eq!(validate_value(VarType::String, &"é".repeat(256)), Ok(()));
        assert_eq!(
            validate_value(VarType::String, &"x".repeat(257)),
            Err(VarValueError::TooLong { chars: 257 })
        );
        assert_eq!(BuiltinVar::from_name("dnis"), Some(BuiltinVar::Dnis));
        assert_eq!(BuiltinVar::from_name("account"), None);
    }
}
