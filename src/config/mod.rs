//! Configuration: the admin-edited TOML files of `sip-profiles/`, validated
//! once into a typed [`Config`].
//!
//! One file per concern (DESIGN.md "Config"):
//!
//! | file | holds |
//! |---|---|
//! | `switchboard.toml` | `[sip]` timers and limits, `[media]`, `[store]`, `[cdr]`, `[registrar]`, `[security]`, `profiles = [..]` |
//! | `internal.toml`, `external.toml`, … | one SIP profile each: listen addresses, transports, auth policy, context |
//! | `directory.toml` | `[[user]]`: extension, password (`env:VAR` allowed), display name |
//! | `trunks.toml` | `[[trunk]]`: address, transport, `inbound_from`, credentials, context |
//! | `dialplan.toml` | `[[context.<name>]]` ordered routing rules; `queue` actions name queues of `acd.toml` |
//! | `entrypoints.toml` (optional) | entry points ([`EntryPoints`]): `prompts_dir`, `[[schedule]]` business hours, `[[entry_point]]` flows of `[[entry_point.step]]` |
//! | `acd.toml` (optional) | the contact center ([`AcdSettings`]): `idle_reasons`, `[callbacks]`, `[[variable]]`, `[[team]]`, `[[queue]]`, `[[agent]]` (token `env:VAR` allowed), `[[supervisor]]` |
//!
//! Closed sets are enums parsed at load; an unknown value, an unknown field,
//! a dangling reference is a config error (conventions 5 and 6). Loading
//! reports *all* errors, each as `file:line:col: message`
//! ([`ConfigErrors`]). The defaults in `sip-profiles/` are embedded in the
//! binary ([`load_embedded`]); `sip-profiles/loadtest/` routes any call from
//! 127.0.0.1 on port 5080 to a trunk at 127.0.0.1:5090 for SIPp.
//!
//! This module reads no clock and no socket; only [`load_dir`] touches the
//! disk and `env:` secrets read the process environment (use
//! [`load_from_sources_with_env`] to avoid that in tests).

#![warn(missing_docs)]
mod acd;
mod acd_load;
mod defaults;
mod dialplan;
pub mod entry;
mod entry_check;
mod entry_load;
mod entry_steps;
mod error;
#[cfg(feature = "fuzzing")]
pub mod fuzz;
mod load;
mod model;
mod net;
pub mod schedule;
mod sections;
mod token;
mod typed;
mod websocket;

#[cfg(test)]
mod tests;

pub use acd::{
    validate_value, AcdSettings, AgentSettings, BuiltinVar, CallbackSettings, OfferVar, QueueSettings,
    SupervisorSettings, TeamSettings, VarSource, VarType, VarValueError, VariableDef, MAX_VARIABLE_VALUE_CHARS,
};
pub use dialplan::{Action, DialPlan, Match, Rewrite, Route, Rule, TrunkGroup};
pub use entry::{EntryPoints, Flow, FlowId, Step, StepKind, StepRef};
pub use entry_load::ENTRY_FILE;
pub use error::{line_col, ConfigError, ConfigErrors, ErrorKind, Origin};
pub use load::{
    load_dir, load_from_sources, load_from_sources_with_env, EnvLookup, ACD_FILE, DEFAULT_PROFILE_FILES, DIALPLAN_FILE,
    DIRECTORY_FILE, SWITCHBOARD_FILE, TRUNKS_FILE,
};
pub use net::{Cidr, PortRange};
pub use token::{hashed_text, parse_hashed, token_digest, ApiToken, HASHED_PREFIX, MIN_TOKEN_CHARS};
pub use typed::{
    ApiSettings, AuthPolicy, CdrSettings, Config, Credentials, Keepalive, MediaSettings, Profile, ProfileTls,
    ProfileWs, RecordingLayout, RecordingSettings, RegistrarSettings, Secret, SecuritySettings, SessionTimerSettings,
    SipSettings, StoreSettings, Transport, Trunk, TrunkInbound, TrunkTls, User,
};

/// The embedded default files of `sip-profiles/`, as `(name, text)`; what
/// `switchboard run` uses when no config directory is given.
pub fn embedded_sources() -> &'static [(&'static str, &'static str)] {
    &defaults::EMBEDDED
}

/// Loads the embedded default configuration (`sip-profiles/`).
pub fn load_embedded() -> Result<Config, ConfigErrors> {
    load_from_sources(&defaults::EMBEDDED)
}
