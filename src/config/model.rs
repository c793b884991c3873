//! Raw serde shapes of the `sip-profiles/*.toml` files, exactly as admins
//! write them.
//!
//! These structs only mirror the TOML; they keep [`Spanned`] positions so
//! that the validation in `load.rs` can point at the offending item, and they
//! deny unknown fields so a typo is an error rather than a silently ignored
//! setting (DESIGN.md convention 5). Closed sets of words (transports, auth
//! policies, dial-plan actions, match kinds) are serde enums, so an unknown
//! value is rejected by the parser itself. Nothing here is used outside the
//! config module: the engine sees only the typed model in `typed.rs`.

use serde::Deserialize;
use toml::Spanned;

/// `[sip]` in `switchboard.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSip {
    pub t1_ms: Option<Spanned<u64>>,
    pub t2_ms: Option<Spanned<u64>>,
    pub t4_ms: Option<Spanned<u64>>,
    pub max_message_bytes: Option<Spanned<u64>>,
    pub max_headers: Option<Spanned<u64>>,
    pub tcp_idle_timeout_s: Option<Spanned<u64>>,
    pub user_agent: Option<Spanned<String>>,
    pub session_expires_s: Option<Spanned<u64>>,
    pub min_se_s: Option<Spanned<u64>>,
    pub lab_short_session_timers: Option<Spanned<bool>>,
    pub overload_queue: Option<Spanned<u64>>,
}

/// `[media]` in `switchboard.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMedia {
    pub rtp_ports: Option<Spanned<String>>,
    pub anchor: Option<Spanned<bool>>,
}

/// `[recording]` in `switchboard.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRecording {
    pub dir: Option<Spanned<String>>,
    pub layout: Option<RawRecordingLayout>,
    pub max_pause_s: Option<Spanned<u64>>,
}

/// `layout = "stereo" | "mixed"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum RawRecordingLayout {
    Stereo,
    Mixed,
}

/// `[api]` in `switchboard.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawApi {
    pub listen: Option<Spanned<String>>,
    pub admin_tokens: Option<Vec<Spanned<String>>>,
    pub tls_certificate: Option<Spanned<String>>,
    pub tls_key: Option<Spanned<String>>,
    pub allowed_origins: Option<Vec<Spanned<String>>>,
    pub max_requests_per_second: Option<Spanned<u32>>,
    pub max_streams_per_token: Option<Spanned<u32>>,
    pub max_connections: Option<Spanned<u32>>,
}

/// `[store]` in `switchboard.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawStore {
    pub path: Option<Spanned<String>>,
}

/// `[cdr]` in `switchboard.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCdr {
    pub jsonl: Option<Spanned<String>>,
}

/// `[registrar]` in `switchboard.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRegistrar {
    pub min_expires: Option<Spanned<u32>>,
    pub max_expires: Option<Spanned<u32>>,
    pub default_expires: Option<Spanned<u32>>,
}

/// `[security]` in `switchboard.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSecurity {
    /// Replaced by the tarpit's settings: refused with an explanation.
    pub auth_failures_per_minute: Option<Spanned<u32>>,
    pub auth_failures_per_user: Option<Spanned<u32>>,
    pub auth_failures_per_source: Option<Spanned<u32>>,
    pub auth_tarpit_max_s: Option<Spanned<u64>>,
    pub nonce_ttl_s: Option<Spanned<u64>>,
    pub digest_algorithms: Option<Vec<Spanned<String>>>,
    pub source_rate: Option<Spanned<u32>>,
    pub source_rate_allow: Option<Vec<Spanned<String>>>,
}

/// A profile file such as `internal.toml` (the whole file is one profile).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawProfile {
    pub name: Spanned<String>,
    pub listen: Spanned<Vec<Spanned<String>>>,
    pub transports: Option<Spanned<Vec<RawProfileTransport>>>,
    pub auth: Spanned<RawAuth>,
    pub realm: Option<Spanned<String>>,
    pub context: Spanned<String>,
    pub tls_listen: Option<Vec<Spanned<String>>>,
    pub tls_certificate: Option<Spanned<String>>,
    pub tls_key: Option<Spanned<String>>,
    pub tls_client_ca: Option<Spanned<String>>,
    pub ws_listen: Option<Vec<Spanned<String>>>,
    pub wss_listen: Option<Vec<Spanned<String>>>,
    pub ws_origins: Option<Spanned<Vec<Spanned<String>>>>,
    pub srtp: Option<Spanned<RawSrtp>>,
}

/// `srtp = "off" | "optional" | "mandatory"` (issue 11 item 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum RawSrtp {
    Off,
    Optional,
    Mandatory,
}

/// `transport = "udp" | "tcp" | "tls"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum RawTransport {
    Udp,
    Tcp,
    Tls,
}

/// A profile's `transports` entry: `"udp" | "tcp" | "tls" | "ws" | "wss"`
/// (SIP over WebSocket, RFC 7118, is for phones: trunks have no "ws").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum RawProfileTransport {
    Udp,
    Tcp,
    Tls,
    Ws,
    Wss,
}

/// `auth = "digest" | "trusted-trunks"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum RawAuth {
    Digest,
    TrustedTrunks,
}

/// One `[[user]]` of `directory.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawUser {
    pub extension: Spanned<String>,
    pub password: Spanned<String>,
    pub display_name: Option<String>,
    pub no_answer_timeout_s: Option<Spanned<u64>>,
    #[serde(default)]
    pub noise_removal: bool,
}

/// One `[[trunk]]` of `trunks.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTrunk {
    pub name: Spanned<String>,
    pub address: Spanned<String>,
    pub transport: Option<RawTransport>,
    #[serde(default)]
    pub inbound_from: Vec<Spanned<String>>,
    pub context: Option<Spanned<String>>,
    pub username: Option<Spanned<String>>,
    pub password: Option<Spanned<String>>,
    pub register: Option<Spanned<bool>>,
    pub from_user: Option<Spanned<String>>,
    pub profile: Option<Spanned<String>>,
    pub options_interval_s: Option<Spanned<u64>>,
    pub down_after: Option<Spanned<u32>>,
    pub up_after: Option<Spanned<u32>>,
    pub failover_timeout_ms: Option<Spanned<u64>>,
    pub tls_ca: Option<Spanned<String>>,
    pub tls_server_name: Option<Spanned<String>>,
}

/// `match = { prefix = ".." } | { regex = ".." } | { exact = ".." }`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub(crate) enum RawMatch {
    Exact(String),
    Prefix(String),
    Regex(String),
}

/// `action = "user" | "trunk" | "reject" | "queue" | "conference"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum RawActionKind {
    User,
    Trunk,
    Reject,
    Queue,
    Conference,
    #[serde(rename = "entry_point")]
    EntryPoint,
}

/// One `[[context.<name>]]` rule of `dialplan.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRule {
    pub name: Option<String>,
    #[serde(rename = "match")]
    pub matcher: Spanned<RawMatch>,
    pub replace: Option<Spanned<String>>,
    pub strip: Option<Spanned<u32>>,
    pub prefix: Option<Spanned<String>>,
    pub action: Spanned<RawActionKind>,
    pub user: Option<Spanned<String>>,
    pub trunk: Option<Spanned<String>>,
    /// `trunks = ["a", "b"]` (ordered failover) or
    /// `trunks = [{ name = "a", weight = 3 }, ..]` (weighted): checked by
    /// hand in `dialplan.rs` so each element keeps its position.
    pub trunks: Option<Spanned<Vec<Spanned<toml::Value>>>>,
    pub queue: Option<Spanned<String>>,
    pub entry_point: Option<Spanned<String>>,
    pub conference: Option<Spanned<String>>,
    pub pin: Option<Spanned<String>>,
    pub max_parties: Option<Spanned<u32>>,
    pub code: Option<Spanned<u16>>,
    pub reason: Option<Spanned<String>>,
    pub no_answer_timeout_s: Option<Spanned<u64>>,
    #[serde(default)]
    pub record: bool,
    #[serde(default)]
    pub noise_removal: bool,
}

/// `type = "string" | "integer" | "boolean" | "datetime"` of a `[[variable]]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum RawVarType {
    String,
    Integer,
    Boolean,
    Datetime,
}

/// One `[[variable]]` of `acd.toml` (CAD-1).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawVariable {
    pub name: Spanned<String>,
    #[serde(rename = "type")]
    pub var_type: RawVarType,
    #[serde(default)]
    pub editable: bool,
    #[serde(default)]
    pub secure: bool,
    pub source: Option<Spanned<String>>,
    /// A string parsed as the type, or a TOML value of the type itself.
    pub default: Option<Spanned<toml::Value>>,
}

/// One `[[team]]` of `acd.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTeam {
    pub name: Spanned<String>,
}

/// `strategy = "longest-idle" | ...` of a `[[queue]]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum RawStrategy {
    LongestIdle,
    RoundRobin,
    RingAll,
    FewestCalls,
    SkillsBased,
}

/// `accept = "manual" | "auto"` of a `[[queue]]` (OFFER-1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum RawAccept {
    Manual,
    Auto,
}

/// `overflow = { queue = ".." } | { target = ".." }` of a `[[queue]]`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub(crate) enum RawOverflow {
    Queue(Spanned<String>),
    Target(Spanned<String>),
}

/// `[callbacks]` of `acd.toml` (CB-6, CB-7).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCallbacks {
    pub max_concurrent_calls: Option<Spanned<u64>>,
    pub ring_s: Option<Spanned<u64>>,
    pub retry_after_s: Option<Spanned<u64>>,
    pub max_attempts: Option<Spanned<u64>>,
}

/// One `[[queue]]` of `acd.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawQueue {
    pub name: Spanned<String>,
    pub number: Spanned<String>,
    pub strategy: Option<RawStrategy>,
    pub accept: Option<RawAccept>,
    pub rona_timeout_s: Option<Spanned<u64>>,
    pub wrap_up_s: Option<Spanned<u64>>,
    pub wrap_up_reasons: Spanned<Vec<Spanned<String>>>,
    pub offer_variables: Spanned<Vec<Spanned<String>>>,
    pub music: Option<Spanned<String>>,
    pub announce_every_s: Option<Spanned<u64>>,
    pub courtesy_callback_after_s: Option<Spanned<u64>>,
    #[serde(default)]
    pub record: bool,
    #[serde(default)]
    pub noise_removal: bool,
    pub priority: Option<Spanned<u64>>,
    pub max_wait_s: Option<Spanned<u64>>,
    pub overflow: Option<Spanned<RawOverflow>>,
    #[serde(default)]
    pub mask_caller_number: bool,
    pub service_level_s: Option<Spanned<u64>>,
    pub flow_variables: Option<Spanned<Vec<Spanned<String>>>>,
}

/// One `[[agent]]` of `acd.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAgent {
    pub id: Spanned<String>,
    pub name: Spanned<String>,
    pub team: Spanned<String>,
    pub extension: Spanned<String>,
    /// Queue name → skill level.
    pub skills: Spanned<std::collections::BTreeMap<Spanned<String>, Spanned<u64>>>,
    pub token: Spanned<String>,
}

/// One `[[supervisor]]` of `acd.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSupervisor {
    pub id: Spanned<String>,
    pub name: Spanned<String>,
    pub teams: Spanned<Vec<Spanned<String>>>,
    pub token: Spanned<String>,
}
