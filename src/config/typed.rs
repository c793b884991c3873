//! The validated, typed configuration the engine and driver use.
//!
//! Built once by `load.rs` from the raw TOML; every closed set is an enum
//! ([`Transport`], [`AuthPolicy`], [`super::Action`]) and every address, range
//! and duration is parsed (DESIGN.md convention 5). A `Config` that exists is
//! valid: lookups never fail on malformed data, only on absent names.

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::acd::AcdSettings;
use super::dialplan::DialPlan;
use super::error::{ConfigError, ErrorKind, Origin};
use super::net::{Cidr, PortRange};
use super::token::ApiToken;

/// `[sip]`: transaction timers (RFC 3261 §17, Table 4) and message limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipSettings {
    /// T1, RTT estimate (default 500 ms).
    pub t1: Duration,
    /// T2, maximum retransmit interval for non-INVITE requests and INVITE
    /// responses (default 4 s).
    pub t2: Duration,
    /// T4, maximum time a message stays in the network (default 5 s).
    pub t4: Duration,
    /// Largest SIP message accepted, in bytes.
    pub max_message_bytes: usize,
    /// Most header lines accepted in one message.
    pub max_headers: usize,
    /// A TCP connection with no traffic for this long is closed (§18.3
    /// leaves the policy to the implementation; default 300 s).
    pub tcp_idle_timeout: Duration,
    /// `User-Agent` / `Server` header value.
    pub user_agent: String,
    /// Session timers (RFC 4028); `None` when `session_expires_s = 0`.
    pub session_timers: Option<SessionTimerSettings>,
    /// Messages waiting for the engine above which new out-of-dialog
    /// requests are answered 503 with Retry-After at the socket (issue 11
    /// item 3, [`crate::sip::overload`]).
    pub overload_queue: usize,
}

/// `[sip] session_expires_s`, `min_se_s`: RFC 4028 session timers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionTimerSettings {
    /// The session interval the switch asks for and grants at most
    /// (RFC 4028 §7.1, §9; default 1800 s, the RFC's recommendation).
    pub session_expires_s: u32,
    /// The smallest session interval the switch accepts (RFC 4028 §5;
    /// 90 s, the RFC's minimum, unless `lab_short_session_timers`).
    pub min_se_s: u32,
}

impl SessionTimerSettings {
    /// RFC 4028 §4: 1800 s recommended.
    pub const DEFAULT_SESSION_EXPIRES_S: u32 = 1800;
    /// RFC 4028 §5: Min-SE is never below 90 s on the wire.
    pub const RFC_MIN_SE_S: u32 = 90;
    /// The floor of a lab config (`lab_short_session_timers = true`).
    pub const LAB_MIN_SE_S: u32 = 2;
}

impl SipSettings {
    /// The message size limits in the form the SIP parser takes.
    pub fn limits(&self) -> crate::sip::msg::Limits {
        crate::sip::msg::Limits {
            max_message: self.max_message_bytes,
            max_headers: self.max_headers,
        }
    }
}

/// `[media]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaSettings {
    /// UDP ports for RTP (even) and RTCP (odd).
    pub rtp_ports: PortRange,
    /// Anchor media: rewrite SDP to the switch and relay RTP through it
    /// (default). Off, SDP passes through untouched and RTP flows between
    /// the phones: no hold music, recording, transcoding or noise removal.
    pub anchor: bool,
    /// `[recording]`: where and how calls are recorded.
    pub recording: RecordingSettings,
}

/// `[recording]` (issue 3 item 5, spec CALL-REC-1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingSettings {
    /// Directory of the WAV files, relative to the data directory unless absolute.
    pub dir: PathBuf,
    /// Channel layout of the files.
    pub layout: RecordingLayout,
    /// A pause ends by itself after this long (CALL-REC-1).
    pub max_pause: Duration,
}

impl RecordingSettings {
    /// `recordings` (in the data directory).
    pub const DEFAULT_DIR: &'static str = "recordings";
    /// Three minutes: long enough to read out a card number and its checks.
    pub const DEFAULT_MAX_PAUSE: Duration = Duration::from_secs(180);

    /// The recordings directory resolved against `data_dir`.
    pub fn dir_in(&self, data_dir: &Path) -> PathBuf {
        data_dir.join(&self.dir)
    }
}

/// How a recording's channels are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordingLayout {
    /// Two channels: the caller (customer) left, the other side right.
    Stereo,
    /// One channel: both sides mixed.
    Mixed,
}

/// `[api]`: the HTTP API (control, agent desktop, supervisor; issue 11
/// item 5). Every endpoint needs a bearer token: an admin token of
/// `admin_tokens` for the control endpoints, an agent's or supervisor's
/// token of `acd.toml` for theirs. A non-loopback `listen` needs TLS and no
/// demo token ([`Config::check_bind_safety`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiSettings {
    /// Where it listens.
    pub listen: SocketAddr,
    /// Where `listen` was set (file:line:col, or the command line).
    pub listen_origin: Origin,
    /// Tokens of the operators' tools (`/calls`, `/trunks`, …), as digests.
    pub admin_tokens: Vec<ApiToken>,
    /// Certificate and key for HTTPS/WSS; plain HTTP when `None`.
    pub tls: Option<crate::tls::TlsFiles>,
    /// Web origins (`https://desk.example.com`) whose pages may open the
    /// event streams and call the API, besides the API's own origin.
    pub allowed_origins: Vec<String>,
    /// Requests (and WebSocket messages) per second per token; a burst of
    /// twice as many is allowed, more get 429.
    pub max_requests_per_second: u32,
    /// Event streams (WebSockets) open at once per token.
    pub max_streams_per_token: u32,
    /// TCP connections open at once, all clients together.
    pub max_connections: u32,
}

impl ApiSettings {
    /// 127.0.0.1:8088.
    pub const DEFAULT_LISTEN: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 8088);
    /// Default [`ApiSettings::max_requests_per_second`].
    pub const DEFAULT_MAX_REQUESTS_PER_SECOND: u32 = 20;
    /// Default [`ApiSettings::max_streams_per_token`].
    pub const DEFAULT_MAX_STREAMS_PER_TOKEN: u32 = 4;
    /// Default [`ApiSettings::max_connections`].
    pub const DEFAULT_MAX_CONNECTIONS: u32 = 1024;
}

impl Default for ApiSettings {
    fn default() -> Self {
        Self {
            listen: Self::DEFAULT_LISTEN,
            listen_origin: Origin::default(),
            admin_tokens: Vec::new(),
            tls: None,
            allowed_origins: Vec::new(),
            max_requests_per_second: Self::DEFAULT_MAX_REQUESTS_PER_SECOND,
            max_streams_per_token: Self::DEFAULT_MAX_STREAMS_PER_TOKEN,
            max_connections: Self::DEFAULT_MAX_CONNECTIONS,
        }
    }
}

/// `[store]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreSettings {
    /// SQLite database file, relative to the data directory unless absolute.
    pub path: PathBuf,
}

impl StoreSettings {
    /// The database path resolved against `data_dir`.
    pub fn path_in(&self, data_dir: &Path) -> PathBuf {
        data_dir.join(&self.path)
    }
}

/// `[cdr]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CdrSettings {
    /// JSON-lines CDR file relative to the data directory; `None` when
    /// disabled with `jsonl = ""`.
    pub jsonl: Option<PathBuf>,
}

impl CdrSettings {
    /// The CDR file resolved against `data_dir`, if enabled.
    pub fn jsonl_in(&self, data_dir: &Path) -> Option<PathBuf> {
        self.jsonl.as_ref().map(|p| data_dir.join(p))
    }
}

/// `[registrar]`: REGISTER expiry bounds in seconds (RFC 3261 §10.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrarSettings {
    /// Shorter requests get 423 Interval Too Brief with this Min-Expires.
    pub min_expires: u32,
    /// Longer requests are shortened to this.
    pub max_expires: u32,
    /// Used when the request gives no expiry.
    pub default_expires: u32,
}

/// `[security]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecuritySettings {
    /// Failed digest attempts of one user from one address within 10
    /// minutes before its further attempts are delayed (tarpit, never
    /// refused); 0 never delays.
    pub auth_failures_per_user: u32,
    /// Failed digest attempts from one address, all users together, within
    /// 10 minutes before every attempt from it is delayed; 0 never delays.
    pub auth_failures_per_source: u32,
    /// The longest a tarpitted attempt waits (the delay doubles up to it).
    pub auth_tarpit_max: Duration,
    /// How long a digest nonce stays valid.
    pub nonce_ttl: Duration,
    /// Digest algorithms challenged with, in order (RFC 8760 §2.4). The
    /// default is MD5 alone: SIPp 3.6 answers only the first challenge and
    /// only MD5, and baresip 1.0.0 rejects a 401 offering SHA-256 at all.
    pub digest_algorithms: Vec<crate::sip::auth::Algorithm>,
    /// New out-of-dialog requests per second one source address may send
    /// before getting 503 (like Kamailio's pike); 0 turns it off.
    pub source_rate: u32,
    /// Sources never limited by `source_rate` (trunks' `inbound_from` are
    /// never limited either).
    pub source_rate_allow: Vec<Cidr>,
}

impl SecuritySettings {
    /// `source_rate_allow` when the file does not set it: loopback.
    pub fn default_source_rate_allow() -> Vec<Cidr> {
        ["127.0.0.0/8", "::1/128"]
            .iter()
            .filter_map(|c| c.parse().ok())
            .collect()
    }
}

/// A SIP transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// UDP datagrams.
    Udp,
    /// TCP streams.
    Tcp,
    /// TLS over TCP (RFC 3261 §26).
    Tls,
    /// SIP over WebSocket (RFC 7118), profiles only.
    Ws,
    /// SIP over secure WebSocket (RFC 7118), profiles only.
    Wss,
}

impl Transport {
    /// The name as written in the config (`udp`, `tcp`, `tls`, `ws`, `wss`).
    pub fn as_str(&self) -> &'static str {
        match self {
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
            Transport::Tls => "tls",
            Transport::Ws => "ws",
            Transport::Wss => "wss",
        }
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who may use a profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthPolicy {
    /// Phones: REGISTER and INVITE are challenged with digest auth
    /// (RFC 3261 §22, RFC 8760) against the directory.
    Digest {
        /// Digest realm.
        realm: String,
    },
    /// Trunks: no challenge, but requests are accepted only from sources
    /// matching some trunk's `inbound_from` (see [`Config::trunk_for_source`]);
    /// others get 403.
    TrustedTrunks,
}

/// A SIP profile: a set of listening sockets with one auth policy and one
/// dial-plan context (`internal.toml`, `external.toml`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    /// Unique name.
    pub name: String,
    /// Addresses to bind; each is bound once per transport.
    pub listen: Vec<SocketAddr>,
    /// Transports bound on every listen address (default UDP and TCP).
    pub transports: Vec<Transport>,
    /// Auth policy.
    pub auth: AuthPolicy,
    /// Dial-plan context for calls arriving here from users (trunk calls use
    /// the trunk's context).
    pub context: String,
    /// Where each `listen` entry was written, for error messages.
    pub(crate) listen_origins: Vec<Origin>,
    /// SIP over TLS (RFC 3261 §26, RFC 5630) when `transports` has "tls";
    /// also the certificate of the `wss` listeners (then `listen` may be
    /// empty).
    pub tls: Option<ProfileTls>,
    /// SIP over WebSocket (RFC 7118) when `transports` has "ws" or "wss".
    pub ws: Option<ProfileWs>,
    /// SRTP with SDES keys on the media of calls through this profile
    /// (`srtp`, RFC 4568; default `off`). See [`crate::sdp::sdes`].
    pub srtp: crate::sdp::SrtpPolicy,
}

/// How the switch connects to a TLS trunk: the CA that signed the trunk's
/// certificate and the name the certificate must carry; the switch presents
/// its profile's certificate as client certificate (mutual TLS).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrunkTls {
    /// PEM file of the CA certificates trusted for this trunk.
    pub ca: PathBuf,
    /// The DNS name or IP address the trunk's certificate must carry
    /// (default: the trunk's address).
    pub server_name: String,
}

/// A profile's TLS listeners (issue 11 item 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileTls {
    /// Addresses the TLS listeners bind (`tls_listen`, e.g. port 5061).
    pub listen: Vec<SocketAddr>,
    /// Certificate and key; `None`: a self-signed certificate made at
    /// start (allowed only when every TLS address is loopback).
    pub files: Option<crate::tls::TlsFiles>,
    /// When set, clients must present a certificate this CA signed
    /// (mutual TLS, for trunks).
    pub client_ca: Option<PathBuf>,
    /// Where `tls_listen` was written.
    pub(crate) origins: Vec<Origin>,
}

/// A profile's WebSocket listeners (RFC 7118; issue 12 item 1): browsers'
/// SIP stacks (JsSIP, SIP.js) register and are called over them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileWs {
    /// Addresses of the plain WebSocket listeners (`ws_listen`).
    pub ws_listen: Vec<SocketAddr>,
    /// Addresses of the WebSocket-over-TLS listeners (`wss_listen`); they
    /// present the profile's TLS certificate (`tls_certificate`).
    pub wss_listen: Vec<SocketAddr>,
    /// `ws_origins`: when set, a handshake whose `Origin` is not one of
    /// these (lowercased, RFC 6454 serialisation) is refused with 403; when
    /// `None`, any origin.
    pub origins: Option<Vec<String>>,
    /// Where each `ws_listen` then `wss_listen` entry was written.
    pub(crate) listen_origins: Vec<Origin>,
}

impl ProfileWs {
    /// The `ws_listen` then the `wss_listen` addresses, each with `true`
    /// when it is a secure (wss) listener.
    pub fn listeners(&self) -> impl Iterator<Item = (SocketAddr, bool)> + '_ {
        let plain = self.ws_listen.iter().map(|a| (*a, false));
        plain.chain(self.wss_listen.iter().map(|a| (*a, true)))
    }
}

/// A password or other secret; `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for digest computation.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// A directory user (a phone that registers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Extension, also the digest username and the registered AOR user part.
    pub extension: String,
    /// Digest password.
    pub password: Secret,
    /// Display name for From headers.
    pub display_name: Option<String>,
    /// How long calls to this user ring, unless the dial-plan rule says.
    pub no_answer_timeout: Option<Duration>,
    /// Background-noise removal on calls to and from this user (an agent,
    /// spec CALL-NOISE-1): both legs are cleaned.
    pub noise_removal: bool,
}

/// Outbound digest credentials for a trunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// Digest username.
    pub username: String,
    /// Digest password.
    pub password: Secret,
}

/// Inbound side of a trunk: who may send us calls and where they route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrunkInbound {
    /// Source addresses/networks accepted as this trunk.
    pub from: Vec<Cidr>,
    /// Dial-plan context for calls from this trunk.
    pub context: String,
}

/// A SIP trunk (`trunks.toml`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trunk {
    /// Unique name, referred to by dial-plan `trunk` actions.
    pub name: String,
    /// Where outbound calls go.
    pub address: SocketAddr,
    /// Transport for outbound calls.
    pub transport: Transport,
    /// Inbound acceptance, if the trunk may send us calls.
    pub inbound: Option<TrunkInbound>,
    /// Credentials for answering the trunk's challenges.
    pub credentials: Option<Credentials>,
    /// Whether to REGISTER to the trunk (requires credentials).
    pub register: bool,
    /// User part of the From header on outbound calls (else the caller's).
    pub from_user: Option<String>,
    /// Profile whose sockets carry this trunk's traffic.
    pub profile: String,
    /// The OPTIONS keepalive (RFC 3261 §11), when `options_interval_s` is
    /// set; `None`: the trunk is never probed and always counts as up.
    pub keepalive: Option<Keepalive>,
    /// An INVITE to this trunk that has had no response at all (not even
    /// 100 Trying) after this long is given up and the call fails over to
    /// the next trunk of its dial-plan list (`failover_timeout_ms`).
    pub failover_timeout: Duration,
    /// For `transport = "tls"`: how the switch checks the trunk's
    /// certificate when it connects (issue 11 item 1).
    pub tls: Option<TrunkTls>,
}

impl Trunk {
    /// Default [`Trunk::failover_timeout`]: the INVITE's own Timer B
    /// (64·T1, 32 s) would come after the usual 30 s ring time, so a dead
    /// trunk would never fail over without it.
    pub const DEFAULT_FAILOVER_TIMEOUT: Duration = Duration::from_secs(5);
}

/// A trunk's OPTIONS keepalive (`options_interval_s`, `down_after`,
/// `up_after` in `trunks.toml`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keepalive {
    /// One OPTIONS per interval (the next one waits for the previous to
    /// end: answered, or Timer F).
    pub interval: Duration,
    /// The trunk goes down after this many OPTIONS in a row unanswered.
    pub down_after: NonZeroU32,
    /// A down trunk comes back up after this many OPTIONS in a row answered.
    pub up_after: NonZeroU32,
}

impl Keepalive {
    /// Default `down_after`.
    pub const DEFAULT_DOWN_AFTER: u32 = 3;
    /// Default `up_after`.
    pub const DEFAULT_UP_AFTER: u32 = 2;
}

/// The whole validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub(crate) sip: SipSettings,
    pub(crate) media: MediaSettings,
    pub(crate) api: ApiSettings,
    pub(crate) store: StoreSettings,
    pub(crate) cdr: CdrSettings,
    pub(crate) registrar: RegistrarSettings,
    pub(crate) security: SecuritySettings,
    pub(crate) profiles: Vec<Profile>,
    pub(crate) users: Vec<User>,
    pub(crate) user_index: HashMap<String, usize>,
    pub(crate) trunks: Vec<Trunk>,
    pub(crate) dialplan: DialPlan,
    pub(crate) acd: AcdSettings,
    /// `entrypoints.toml` (empty when the file is absent).
    pub(crate) entry: super::entry::EntryPoints,
}

impl Config {
    /// `[sip]` settings.
    pub fn sip(&self) -> &SipSettings {
        &self.sip
    }

    /// `[media]` settings.
    pub fn media(&self) -> &MediaSettings {
        &self.media
    }

    /// `[store]` settings.
    pub fn store(&self) -> &StoreSettings {
        &self.store
    }

    /// `[cdr]` settings.
    pub fn cdr(&self) -> &CdrSettings {
        &self.cdr
    }

    /// `[registrar]` settings.
    pub fn registrar(&self) -> &RegistrarSettings {
        &self.registrar
    }

    /// `[security]` settings.
    pub fn security(&self) -> &SecuritySettings {
        &self.security
    }

    /// `[api]` settings.
    pub fn api(&self) -> &ApiSettings {
        &self.api
    }

    /// All profiles in `switchboard.toml` order.
    pub fn profiles(&self) -> &[Profile] {
        &self.profiles
    }

    /// A profile by name.
    pub fn profile(&self, name: &str) -> Option<&Profile> {
        self.profiles.iter().find(|p| p.name == name)
    }

    /// The profile bound to `local` (exact match, or a wildcard address on
    /// the same port), i.e. the profile a packet received there belongs to.
    pub fn profile_for_local(&self, local: SocketAddr) -> Option<&Profile> {
        let addrs = |p: &Profile| {
            let tls = p.tls.iter().flat_map(|t| t.listen.iter().copied());
            let ws = p.ws.iter().flat_map(|w| w.listeners().map(|(a, _)| a));
            p.listen.iter().copied().chain(tls).chain(ws).collect::<Vec<_>>()
        };
        self.profiles.iter().find(|p| addrs(p).contains(&local)).or_else(|| {
            self.profiles.iter().find(|p| {
                addrs(p)
                    .iter()
                    .any(|l| l.port() == local.port() && l.ip().is_unspecified())
            })
        })
    }

    /// All directory users in file order.
    pub fn users(&self) -> &[User] {
        &self.users
    }

    /// A user by extension.
    pub fn user(&self, extension: &str) -> Option<&User> {
        self.user_index.get(extension).map(|&i| &self.users[i])
    }

    /// All trunks in file order.
    pub fn trunks(&self) -> &[Trunk] {
        &self.trunks
    }

    /// A trunk by name.
    pub fn trunk(&self, name: &str) -> Option<&Trunk> {
        self.trunks.iter().find(|t| t.name == name)
    }

    /// The first trunk (file order) whose `inbound_from` contains `ip`.
    pub fn trunk_for_source(&self, ip: IpAddr) -> Option<&Trunk> {
        self.trunks.iter().find(|t| {
            t.inbound
                .as_ref()
                .is_some_and(|i| i.from.iter().any(|c| c.contains(ip)))
        })
    }

    /// The dial plan.
    pub fn dialplan(&self) -> &DialPlan {
        &self.dialplan
    }

    /// The contact center of `acd.toml` (empty when the file is absent).
    pub fn acd(&self) -> &AcdSettings {
        &self.acd
    }

    /// The entry points of `entrypoints.toml` (none when the file is absent).
    pub fn entry_points(&self) -> &super::entry::EntryPoints {
        &self.entry
    }

    /// This configuration with `other`'s contact center: a reload keeps the
    /// running ACD's queues, agents and tokens (`Engine::reload`). The new
    /// entry points are taken when they name the same queues in the same
    /// order as the running ones (their steps name queues by position);
    /// otherwise the running entry points stay too, until a restart.
    pub fn with_acd_of(&self, other: &Config) -> Config {
        let same_queues = self.acd.queues.len() == other.acd.queues.len()
            && self
                .acd
                .queues
                .iter()
                .zip(&other.acd.queues)
                .all(|(a, b)| a.name == b.name);
        Config {
            acd: other.acd.clone(),
            entry: if same_queues {
                self.entry.clone()
            } else {
                other.entry.clone()
            },
            ..self.clone()
        }
    }

    /// Shipped demo credentials still in use: extensions whose password is
    /// `demo-<ext>`, then `agent <id>` / `supervisor <id>` for each desktop
    /// API token starting with `demo-` (`acd.toml`).
    pub fn demo_passwords_in_use(&self) -> Vec<String> {
        let users = self
            .users
            .iter()
            .filter(|u| u.password.expose() == format!("demo-{}", u.extension))
            .map(|u| u.extension.clone());
        let agents = self
            .acd
            .agents
            .iter()
            .filter(|a| a.token.is_demo())
            .map(|a| format!("agent {}", a.login));
        let supervisors = self
            .acd
            .supervisors
            .iter()
            .filter(|s| s.token.is_demo())
            .map(|s| format!("supervisor {}", s.login));
        users.chain(agents).chain(supervisors).collect()
    }

    /// Refuses to run with demo passwords or tokens on any non-loopback
    /// listen address (including wildcards like `0.0.0.0`), and the HTTP API
    /// on one without TLS or with a demo token: the error points at the
    /// offending `listen` entry.
    pub fn check_bind_safety(&self) -> Result<(), ConfigError> {
        let demo = self.demo_passwords_in_use();
        let api = &self.api;
        if !api.listen.ip().is_loopback() {
            if api.tls.is_none() {
                return Err(ConfigError::new(
                    &api.listen_origin,
                    ErrorKind::Unsafe,
                    format!(
                        "the API listens on non-loopback {} without TLS; set tls_certificate and tls_key \
                         in [api] or listen on 127.0.0.1",
                        api.listen
                    ),
                ));
            }
            let demo_admin = api.admin_tokens.iter().any(ApiToken::is_demo);
            if demo_admin || !demo.is_empty() {
                let mut names = demo.clone();
                if demo_admin {
                    names.push("an admin token of [api]".into());
                }
                return Err(ConfigError::new(
                    &api.listen_origin,
                    ErrorKind::Unsafe,
                    format!(
                        "the API listens on non-loopback {} while demo passwords or tokens are in use \
                         ({}); replace them or listen on 127.0.0.1",
                        api.listen,
                        names.join(", ")
                    ),
                ));
            }
        }
        if demo.is_empty() {
            return Ok(());
        }
        for p in &self.profiles {
            // Every address phones reach: listen, tls_listen, ws_listen, wss_listen.
            let origin_of = |list: &[Origin], i: usize| list.get(i).cloned().unwrap_or_default();
            let plain = p
                .listen
                .iter()
                .enumerate()
                .map(|(i, a)| (*a, origin_of(&p.listen_origins, i)));
            let tls = p
                .tls
                .iter()
                .flat_map(|t| t.listen.iter().enumerate().map(|(i, a)| (*a, origin_of(&t.origins, i))));
            let ws = p.ws.iter().flat_map(|w| {
                w.listeners()
                    .enumerate()
                    .map(|(i, (a, _))| (a, origin_of(&w.listen_origins, i)))
            });
            for (addr, origin) in plain.chain(tls).chain(ws) {
                if !addr.ip().is_loopback() {
                    return Err(ConfigError::new(
                        &origin,
                        ErrorKind::Unsafe,
                        format!(
                            "profile `{}` listens on non-loopback {addr} while demo passwords \
                             or tokens are in use ({}); change them in directory.toml and \
                             acd.toml or listen on 127.0.0.1",
                            p.name,
                            demo.join(", ")
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Replaces the listen addresses of `profile` with `addr` (CLI
    /// `--listen`). Fails if the profile is unknown or `addr` overlaps
    /// another profile's addresses.
    pub fn override_listen(&mut self, profile: &str, addr: SocketAddr) -> Result<(), ConfigError> {
        let origin = Origin::command_line("--listen");
        let Some(idx) = self.profiles.iter().position(|p| p.name == profile) else {
            return Err(ConfigError::new(
                &origin,
                ErrorKind::UnknownReference,
                format!("unknown profile `{profile}`"),
            ));
        };
        for (j, other) in self.profiles.iter().enumerate() {
            if j == idx {
                continue;
            }
            if let Some(o) = other.listen.iter().find(|o| listen_overlap(**o, addr)) {
                return Err(ConfigError::new(
                    &origin,
                    ErrorKind::Duplicate,
                    format!("{addr} overlaps {o} of profile `{}`", other.name),
                ));
            }
        }
        let p = &mut self.profiles[idx];
        p.listen = vec![addr];
        p.listen_origins = vec![origin];
        Ok(())
    }

    /// Replaces the API's address (CLI `--api-listen`); whether it may be
    /// non-loopback is checked by [`Config::check_bind_safety`].
    pub fn override_api_listen(&mut self, addr: SocketAddr) -> Result<(), ConfigError> {
        self.api.listen = addr;
        self.api.listen_origin = Origin::command_line("--api-listen");
        Ok(())
    }

    /// Replaces the RTP port range (CLI `--rtp-ports`).
    pub fn override_rtp_ports(&mut self, lo: u16, hi: u16) -> Result<(), ConfigError> {
        let range = PortRange::new(lo, hi)
            .map_err(|m| ConfigError::new(&Origin::command_line("--rtp-ports"), ErrorKind::InvalidValue, m))?;
        self.media.rtp_ports = range;
        Ok(())
    }
}

/// True if two listen addresses would conflict: same port and the same IP,
/// or either IP is a wildcard. Port 0 (ephemeral) never conflicts.
pub(crate) fn listen_overlap(a: SocketAddr, b: SocketAddr) -> bool {
    a.port() != 0 && a.port() == b.port() && (a.ip() == b.ip() || a.ip().is_unspecified() || b.ip().is_unspecified())
}
