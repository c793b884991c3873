//! Loading: TOML text → raw serde model → validated [`Config`], collecting
//! every error with its `file:line:col`.
//!
//! Each file is parsed with `toml`'s recoverable parser (all syntax errors at
//! once), then each top-level section and each array element (`[[user]]`,
//! `[[trunk]]`, `[[context.x]]`) is deserialized on its own, so one bad entry
//! does not hide the problems of the next. Semantic checks (duplicates,
//! references between files, address parsing, overlaps) run on whatever
//! parsed, and the load fails if anything at all was reported.
//!
//! Files (one concern each): `switchboard.toml` (globals and the list of
//! profile files), the profile files it lists (default `internal.toml` and
//! `external.toml`), `directory.toml`, `trunks.toml`, `dialplan.toml`, and
//! the optional `acd.toml` (the contact center, `acd_load.rs`; absent, the
//! ACD is empty). Other `*.toml` files in the directory are ignored, so later
//! features can add theirs; their syntax is not even checked here.
//!
//! Order matters for cross-file references: the directory and trunks come
//! first, then `acd.toml` (agents name directory users), then the dial plan
//! (its `queue` actions name queues of `acd.toml`), then the checks that
//! need the dial plan (profile and trunk contexts, queue overflow targets).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::de::DeserializeOwned;
use toml::de::{DeTable, DeValue, ValueDeserializer};
use toml::Spanned;

use super::dialplan::{DialPlan, Known};
use super::entry_load::EntryKnown;
use super::error::{ConfigError, ConfigErrors, ErrorKind, Origin, Sink};
use super::model::{
    RawApi, RawCdr, RawMedia, RawRecording, RawRecordingLayout, RawRegistrar, RawSecurity, RawSip, RawStore,
};
use super::net::PortRange;
use super::typed::{
    ApiSettings, CdrSettings, Config, MediaSettings, RecordingLayout, RecordingSettings, RegistrarSettings, Secret,
    SecuritySettings, SessionTimerSettings, SipSettings, StoreSettings,
};

/// File name of the top-level settings.
pub const SWITCHBOARD_FILE: &str = "switchboard.toml";
/// File name of the user directory.
pub const DIRECTORY_FILE: &str = "directory.toml";
/// File name of the trunk list.
pub const TRUNKS_FILE: &str = "trunks.toml";
/// File name of the dial plan.
pub const DIALPLAN_FILE: &str = "dialplan.toml";
/// File name of the contact-center configuration (optional).
pub const ACD_FILE: &str = "acd.toml";
/// Profile files used when `switchboard.toml` has no `profiles` list.
pub const DEFAULT_PROFILE_FILES: [&str; 2] = ["internal.toml", "external.toml"];

/// Environment lookup used to resolve `env:VAR` secrets.
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Loads every `*.toml` file of `dir` (see the module docs for which are
/// used). Unreadable files are reported like any other error.
pub fn load_dir(dir: &Path) -> Result<Config, ConfigErrors> {
    let io_err = |path: &Path, e: std::io::Error| {
        let origin = Origin {
            file: path.display().to_string(),
            line: 0,
            column: 0,
        };
        ConfigErrors::from(ConfigError::new(&origin, ErrorKind::Io, format!("cannot read: {e}")))
    };
    let entries = std::fs::read_dir(dir).map_err(|e| io_err(dir, e))?;
    let mut texts: Vec<(String, String)> = Vec::new();
    let mut errors = Vec::new();
    for entry in entries {
        let path: PathBuf = match entry {
            Ok(e) => e.path(),
            Err(e) => return Err(io_err(dir, e)),
        };
        if path.extension().and_then(|e| e.to_str()) != Some("toml") || !path.is_file() {
            continue;
        }
        match std::fs::read_to_string(&path) {
            Ok(t) => texts.push((path.display().to_string(), t)),
            Err(e) => errors.extend(io_err(&path, e).0),
        }
    }
    texts.sort();
    let sources: Vec<(&str, &str)> = texts.iter().map(|(n, t)| (n.as_str(), t.as_str())).collect();
    let result = load_sources_in(&sources, Some(dir), &|k| std::env::var(k).ok());
    match (result, errors.is_empty()) {
        (Ok(c), true) => Ok(c),
        (Ok(_), false) => Err(finish(errors)),
        (Err(mut e), _) => {
            e.0.extend(errors);
            e.normalize();
            Err(e)
        }
    }
}

/// Loads from in-memory `(name, text)` files; names are matched by their
/// final path component (`"conf/internal.toml"` is the `internal.toml`
/// file) and shown as given in errors. `env:VAR` secrets are read from the
/// process environment.
pub fn load_from_sources(files: &[(&str, &str)]) -> Result<Config, ConfigErrors> {
    load_from_sources_with_env(files, &|k| std::env::var(k).ok())
}

/// As [`load_from_sources`], resolving `env:VAR` secrets through `env`
/// (tests pass a fixed map instead of touching the process environment).
pub fn load_from_sources_with_env(files: &[(&str, &str)], env: EnvLookup<'_>) -> Result<Config, ConfigErrors> {
    load_sources_in(files, None, env)
}

fn finish(errors: Vec<ConfigError>) -> ConfigErrors {
    let mut e = ConfigErrors(errors);
    e.normalize();
    e
}

fn base_name(name: &str) -> &str {
    Path::new(name).file_name().and_then(|n| n.to_str()).unwrap_or(name)
}

/// One input file after the syntax pass.
pub(super) struct File<'a> {
    pub name: String,
    pub text: &'a str,
    pub root: Option<Spanned<DeTable<'a>>>,
    /// Syntax errors, reported only if the file is used.
    pub syntax: Vec<(std::ops::Range<usize>, String)>,
}

pub(super) struct Files<'a> {
    files: Vec<File<'a>>,
    /// Directory of the files, to name missing ones and resolve relative
    /// paths (TLS files).
    pub(super) dir: Option<PathBuf>,
}

impl<'a> Files<'a> {
    pub fn find(&self, base: &str) -> Option<&File<'a>> {
        self.files.iter().find(|f| base_name(&f.name) == base)
    }

    /// Name to show for a missing file.
    fn missing_name(&self, base: &str) -> String {
        match &self.dir {
            Some(d) => d.join(base).display().to_string(),
            None => base.to_owned(),
        }
    }
}

fn load_sources_in(sources: &[(&str, &str)], dir: Option<&Path>, env: EnvLookup<'_>) -> Result<Config, ConfigErrors> {
    let mut errors: Vec<ConfigError> = Vec::new();
    // Without an explicit directory, name missing files after the others'.
    let dir = dir.map(Path::to_path_buf).or_else(|| {
        let parent = Path::new(sources.first()?.0).parent()?;
        (!parent.as_os_str().is_empty()).then(|| parent.to_path_buf())
    });
    let mut files = Files { files: Vec::new(), dir };
    for (name, text) in sources {
        let (root, syntax) = DeTable::parse_recoverable(text);
        let syntax: Vec<_> = syntax
            .into_iter()
            .map(|e| (e.span().unwrap_or(0..0), e.message().to_owned()))
            .collect();
        files.files.push(File {
            name: (*name).to_owned(),
            text,
            root: syntax.is_empty().then_some(root),
            syntax,
        });
    }
    let mut b = Builder {
        seen: Seen::default(),
        files: &files,
        errors: &mut errors,
        env,
    };
    let top = b.switchboard();
    let users = b.directory();
    let trunks = b.trunks();
    let (acd, acd_refs) = b.acd();
    let seen_users = std::mem::take(&mut b.seen.users);
    let seen_trunks = std::mem::take(&mut b.seen.trunks);
    let (users_complete, trunks_complete) = (b.seen.users_complete, b.seen.trunks_complete);
    let user_known = |n: &str| !users_complete || seen_users.contains(n);
    let (entry, entry_names, entry_complete) = b.entry_points(&EntryKnown {
        acd: &acd,
        queues: &|n| !acd_refs.queues_complete || acd_refs.queues.contains(n),
        variables: &|n| !acd_refs.variables_complete || acd_refs.variables.contains(n),
        users: &user_known,
    });
    let known = Known {
        trunks: &|n| !trunks_complete || seen_trunks.contains(n),
        users: &user_known,
        queues: &|n| !acd_refs.queues_complete || acd_refs.queues.contains(n),
        entry_points: &|n| !entry_complete || entry_names.contains(n),
    };
    let before_dialplan = b.errors.len();
    let (contexts, default_timeout) = b.dialplan(&known);
    if b.errors.len() == before_dialplan {
        // Only against a dial plan that loaded whole, so as not to cascade.
        b.check_overflow_targets(&acd_refs, &contexts);
    }
    let profiles = b.profiles(&top.profile_files);
    let trunks = b.cross_check(&profiles, trunks, &contexts);
    if !errors.is_empty() {
        return Err(finish(errors));
    }
    let user_index = users
        .iter()
        .enumerate()
        .map(|(i, u)| (u.extension.clone(), i))
        .collect();
    let user_timeouts = users
        .iter()
        .filter_map(|u| Some((u.extension.clone(), u.no_answer_timeout?)))
        .collect();
    Ok(Config {
        sip: top.sip,
        media: top.media,
        api: top.api,
        store: top.store,
        cdr: top.cdr,
        registrar: top.registrar,
        security: top.security,
        profiles: profiles.into_iter().map(|(p, _)| p).collect(),
        users,
        user_index,
        trunks,
        dialplan: DialPlan {
            contexts: contexts.into_iter().map(|(k, (_, v))| (k, v)).collect(),
            default_no_answer_timeout: default_timeout,
            user_timeouts,
        },
        acd,
        entry,
    })
}

/// Result of `switchboard.toml`.
pub(super) struct Top {
    sip: SipSettings,
    media: MediaSettings,
    api: ApiSettings,
    store: StoreSettings,
    cdr: CdrSettings,
    registrar: RegistrarSettings,
    security: SecuritySettings,
    /// Profile file names with where they were listed.
    profile_files: Vec<(String, Origin)>,
}

/// Where a trunk's cross-file references were written.
pub(super) struct TrunkRefs {
    pub context: Option<Origin>,
    pub profile: Option<(String, Origin)>,
}

/// Where a profile's cross-file references were written.
pub(super) struct ProfileRefs {
    pub context: Origin,
}

/// Names seen in each file, even on entries that failed validation, and
/// whether the file was read completely. References into an incomplete file
/// are not checked, so one mistake does not cascade into many errors.
#[derive(Default)]
pub(super) struct Seen {
    pub users: std::collections::HashSet<String>,
    pub users_complete: bool,
    pub trunks: std::collections::HashSet<String>,
    pub trunks_complete: bool,
    pub contexts_complete: bool,
    /// Profile names and whether each is `trusted-trunks`.
    pub profiles: Vec<(String, bool)>,
    pub profiles_complete: bool,
}

pub(super) struct Builder<'a, 'e> {
    pub seen: Seen,
    pub files: &'a Files<'a>,
    pub errors: &'e mut Vec<ConfigError>,
    pub env: EnvLookup<'a>,
}

/// Deserializes one TOML value, reporting a schema error at the serde
/// error's span (or the value's) on failure.
pub(super) fn de<T: DeserializeOwned>(v: &Spanned<DeValue<'_>>, sink: &mut Sink<'_>) -> Option<T> {
    match T::deserialize(ValueDeserializer::from(v.clone())) {
        Ok(t) => Some(t),
        Err(e) => {
            let span = e.span().unwrap_or_else(|| v.span());
            sink.push(&span, ErrorKind::Schema, e.message().to_owned());
            None
        }
    }
}

/// The elements of an array-of-tables value, or a schema error.
pub(super) fn elements<'v, 'i>(
    key: &str,
    v: &'v Spanned<DeValue<'i>>,
    sink: &mut Sink<'_>,
) -> &'v [Spanned<DeValue<'i>>] {
    match v.get_ref() {
        DeValue::Array(a) => a,
        _ => {
            sink.push(
                &v.span(),
                ErrorKind::Schema,
                format!("`{key}` must be an array of tables (`[[{key}]]`)"),
            );
            &[]
        }
    }
}

pub(super) fn unknown_key(sink: &mut Sink<'_>, key: &Spanned<std::borrow::Cow<'_, str>>, expected: &str) {
    sink.push(
        &key.span(),
        ErrorKind::Schema,
        format!("unknown key `{}`, expected {expected}", key.get_ref()),
    );
}

/// Checks an optional positive integer with a default.
pub(super) fn positive<T: Copy + PartialOrd + Default + std::fmt::Display>(
    sink: &mut Sink<'_>,
    v: &Option<Spanned<T>>,
    field: &str,
    default: T,
) -> T {
    match v {
        Some(s) if *s.get_ref() <= T::default() => {
            sink.push(
                &s.span(),
                ErrorKind::InvalidValue,
                format!("{field} must be greater than 0"),
            );
            default
        }
        Some(s) => *s.get_ref(),
        None => default,
    }
}

/// `[sip] session_expires_s`, `min_se_s`, `lab_short_session_timers`
/// (RFC 4028): `session_expires_s = 0` turns session timers off; Min-SE is
/// at least 90 s (§5) unless the lab switch allows down to 2 s.
fn session_timers(sink: &mut Sink<'_>, raw: &RawSip) -> Option<SessionTimerSettings> {
    let lab = raw.lab_short_session_timers.as_ref().is_some_and(|l| *l.get_ref());
    let floor = if lab {
        SessionTimerSettings::LAB_MIN_SE_S
    } else {
        SessionTimerSettings::RFC_MIN_SE_S
    };
    let min_se = match &raw.min_se_s {
        Some(v) if *v.get_ref() < u64::from(floor) || *v.get_ref() > 86_400 => {
            let why = if lab {
                format!("min_se_s must be within {floor}..=86400")
            } else {
                format!(
                    "min_se_s must be within {floor}..=86400 (RFC 4028 §5; `lab_short_session_timers = true` allows down to {} s in a lab)",
                    SessionTimerSettings::LAB_MIN_SE_S
                )
            };
            sink.push(&v.span(), ErrorKind::InvalidValue, why);
            SessionTimerSettings::RFC_MIN_SE_S
        }
        Some(v) => u32::try_from(*v.get_ref()).unwrap_or(SessionTimerSettings::RFC_MIN_SE_S),
        None => SessionTimerSettings::RFC_MIN_SE_S.max(floor),
    };
    let expires = match &raw.session_expires_s {
        Some(v) if *v.get_ref() == 0 => return None,
        Some(v) if *v.get_ref() < u64::from(min_se) || *v.get_ref() > 86_400 => {
            sink.push(
                &v.span(),
                ErrorKind::InvalidValue,
                format!("session_expires_s must be 0 (off) or within min_se_s ({min_se})..=86400"),
            );
            SessionTimerSettings::DEFAULT_SESSION_EXPIRES_S.max(min_se)
        }
        Some(v) => u32::try_from(*v.get_ref()).unwrap_or(SessionTimerSettings::DEFAULT_SESSION_EXPIRES_S),
        None => SessionTimerSettings::DEFAULT_SESSION_EXPIRES_S.max(min_se),
    };
    Some(SessionTimerSettings {
        session_expires_s: expires,
        min_se_s: min_se,
    })
}

/// Resolves a password: literal, or `env:VAR` from the environment.
pub(super) fn secret(env: EnvLookup<'_>, sink: &mut Sink<'_>, raw: &Spanned<String>) -> Option<Secret> {
    secret_named(env, sink, raw, "password")
}

/// Resolves a secret called `what` in errors (password, token): literal, or
/// `env:VAR` from the environment.
pub(super) fn secret_named(
    env: EnvLookup<'_>,
    sink: &mut Sink<'_>,
    raw: &Spanned<String>,
    what: &str,
) -> Option<Secret> {
    let value = raw.get_ref();
    let Some(var) = value.strip_prefix("env:") else {
        if value.is_empty() {
            sink.push(&raw.span(), ErrorKind::InvalidValue, format!("{what} is empty"));
            return None;
        }
        return Some(Secret::new(value.clone()));
    };
    match env(var) {
        Some(v) if !v.is_empty() => Some(Secret::new(v)),
        Some(_) => {
            sink.push(
                &raw.span(),
                ErrorKind::InvalidValue,
                format!("environment variable `{var}` is empty"),
            );
            None
        }
        None => {
            sink.push(
                &raw.span(),
                ErrorKind::UnknownReference,
                format!("environment variable `{var}` is not set"),
            );
            None
        }
    }
}

impl<'a> Builder<'a, '_> {
    /// A sink for `file`.
    pub fn sink<'s>(&'s mut self, file: &'a File<'a>) -> Sink<'s>
    where
        'a: 's,
    {
        Sink {
            file: &file.name,
            text: file.text,
            errors: self.errors,
        }
    }

    /// The parsed root of a file, or `None` after reporting its syntax
    /// errors.
    pub fn open(&mut self, file: &'a File<'a>) -> Option<&'a Spanned<DeTable<'a>>> {
        let mut sink = self.sink(file);
        for (span, message) in &file.syntax {
            sink.push(span, ErrorKind::Syntax, message.clone());
        }
        file.root.as_ref()
    }

    /// The parsed root of a required file; reports it missing otherwise.
    pub fn required(&mut self, base: &str) -> Option<(&'a File<'a>, &'a Spanned<DeTable<'a>>)> {
        let files = self.files;
        match files.find(base) {
            Some(f) => self.open(f).map(|r| (f, r)),
            None => {
                let origin = Origin {
                    file: files.missing_name(base),
                    line: 0,
                    column: 0,
                };
                self.errors
                    .push(ConfigError::new(&origin, ErrorKind::Io, "required file is missing"));
                None
            }
        }
    }

    pub(super) fn switchboard(&mut self) -> Top {
        let mut raw_sip = RawSip::default();
        let mut raw_media = RawMedia::default();
        let mut raw_rec = RawRecording::default();
        let mut raw_api = RawApi::default();
        let mut raw_store = RawStore::default();
        let mut raw_cdr = RawCdr::default();
        let mut raw_reg = RawRegistrar::default();
        let mut raw_sec = RawSecurity::default();
        let mut profile_files: Option<Vec<(String, Origin)>> = None;
        let mut reg_span = 0..0;
        let found = self.required(SWITCHBOARD_FILE);
        let fallback_file = found.map(|(f, _)| f);
        if let Some((file, root)) = found {
            let mut sink = self.sink(file);
            for (key, v) in root.get_ref().iter() {
                match key.get_ref().as_ref() {
                    "profiles" => {
                        if let Some(list) = de::<Vec<Spanned<String>>>(v, &mut sink) {
                            let list: Vec<_> = list
                                .into_iter()
                                .map(|s| (s.get_ref().clone(), sink.origin(&s.span())))
                                .collect();
                            if list.is_empty() {
                                sink.push(
                                    &v.span(),
                                    ErrorKind::InvalidValue,
                                    "profiles must list at least one profile file",
                                );
                            }
                            profile_files = Some(list);
                        }
                    }
                    "sip" => raw_sip = de(v, &mut sink).unwrap_or_default(),
                    "media" => raw_media = de(v, &mut sink).unwrap_or_default(),
                    "recording" => raw_rec = de(v, &mut sink).unwrap_or_default(),
                    "api" => raw_api = de(v, &mut sink).unwrap_or_default(),
                    "store" => raw_store = de(v, &mut sink).unwrap_or_default(),
                    "cdr" => raw_cdr = de(v, &mut sink).unwrap_or_default(),
                    "registrar" => {
                        reg_span = key.span();
                        raw_reg = de(v, &mut sink).unwrap_or_default();
                    }
                    "security" => raw_sec = de(v, &mut sink).unwrap_or_default(),
                    _ => unknown_key(
                        &mut sink,
                        key,
                        "one of `profiles`, `sip`, `media`, `recording`, `api`, `store`, `cdr`, `registrar`, `security`",
                    ),
                }
            }
        }
        // Defaults need a sink even when the file is missing; errors only
        // arise from values present in the file.
        let empty = File {
            name: String::new(),
            text: "",
            root: None,
            syntax: Vec::new(),
        };
        let file = fallback_file.unwrap_or(&empty);
        let mut sink = Sink {
            file: &file.name,
            text: file.text,
            errors: self.errors,
        };
        let s = &mut sink;

        let t1 = positive(s, &raw_sip.t1_ms, "t1_ms", 500);
        let t2 = positive(s, &raw_sip.t2_ms, "t2_ms", 4000);
        let t4 = positive(s, &raw_sip.t4_ms, "t4_ms", 5000);
        if let Some(v) = raw_sip.t2_ms.as_ref().filter(|_| t2 < t1) {
            s.push(&v.span(), ErrorKind::InvalidValue, "t2_ms must be >= t1_ms");
        }
        let max_message_bytes = positive(s, &raw_sip.max_message_bytes, "max_message_bytes", 65536);
        if let Some(v) = raw_sip.max_message_bytes.as_ref().filter(|_| max_message_bytes < 1500) {
            s.push(
                &v.span(),
                ErrorKind::InvalidValue,
                "max_message_bytes must be at least 1500",
            );
        }
        let max_headers = positive(s, &raw_sip.max_headers, "max_headers", 256);
        let tcp_idle = positive(s, &raw_sip.tcp_idle_timeout_s, "tcp_idle_timeout_s", 300);
        let session_timers = session_timers(s, &raw_sip);
        let overload_queue = positive(s, &raw_sip.overload_queue, "overload_queue", 4000);
        let sip = SipSettings {
            t1: Duration::from_millis(t1),
            t2: Duration::from_millis(t2),
            t4: Duration::from_millis(t4),
            max_message_bytes: usize::try_from(max_message_bytes).unwrap_or(usize::MAX),
            max_headers: usize::try_from(max_headers).unwrap_or(usize::MAX),
            tcp_idle_timeout: Duration::from_secs(tcp_idle),
            user_agent: raw_sip
                .user_agent
                .map(Spanned::into_inner)
                .unwrap_or_else(|| format!("Switchboard/{}", env!("CARGO_PKG_VERSION"))),
            session_timers,
            overload_queue: usize::try_from(overload_queue).unwrap_or(usize::MAX),
        };

        let rtp_ports = match &raw_media.rtp_ports {
            Some(r) => r.get_ref().parse::<PortRange>().unwrap_or_else(|m| {
                s.push(&r.span(), ErrorKind::InvalidValue, m);
                PortRange::DEFAULT
            }),
            None => PortRange::DEFAULT,
        };

        let recording = RecordingSettings {
            dir: match &raw_rec.dir {
                Some(d) if d.get_ref().trim().is_empty() => {
                    s.push(&d.span(), ErrorKind::InvalidValue, "recording dir must not be empty");
                    PathBuf::from(RecordingSettings::DEFAULT_DIR)
                }
                Some(d) => PathBuf::from(d.get_ref()),
                None => PathBuf::from(RecordingSettings::DEFAULT_DIR),
            },
            layout: match raw_rec.layout {
                Some(RawRecordingLayout::Mixed) => RecordingLayout::Mixed,
                Some(RawRecordingLayout::Stereo) | None => RecordingLayout::Stereo,
            },
            max_pause: match &raw_rec.max_pause_s {
                Some(p) if !(1..=86_400).contains(p.get_ref()) => {
                    s.push(
                        &p.span(),
                        ErrorKind::InvalidValue,
                        "max_pause_s must be within 1..=86400",
                    );
                    RecordingSettings::DEFAULT_MAX_PAUSE
                }
                Some(p) => Duration::from_secs(*p.get_ref()),
                None => RecordingSettings::DEFAULT_MAX_PAUSE,
            },
        };

        let api = api_settings(&raw_api, s, self.env, self.files.dir.as_deref());

        let store_path = match raw_store.path {
            Some(p) if p.get_ref().is_empty() => {
                s.push(&p.span(), ErrorKind::InvalidValue, "store path is empty");
                PathBuf::new()
            }
            Some(p) => PathBuf::from(p.into_inner()),
            None => PathBuf::from("switchboard.sqlite"),
        };
        let jsonl = match raw_cdr.jsonl {
            Some(p) if p.get_ref().is_empty() => None,
            Some(p) => Some(PathBuf::from(p.into_inner())),
            None => Some(PathBuf::from("cdr.jsonl")),
        };

        let min = positive(s, &raw_reg.min_expires, "min_expires", 60);
        let max = positive(s, &raw_reg.max_expires, "max_expires", 3600);
        let def = positive(s, &raw_reg.default_expires, "default_expires", 3600);
        if !(min <= def && def <= max) {
            let span = raw_reg
                .default_expires
                .as_ref()
                .or(raw_reg.max_expires.as_ref())
                .or(raw_reg.min_expires.as_ref())
                .map_or(reg_span, Spanned::span);
            s.push(
                &span,
                ErrorKind::InvalidValue,
                format!(
                    "registrar needs min_expires <= default_expires <= max_expires \
                     (got {min} <= {def} <= {max})"
                ),
            );
        }

        let nonce_ttl = positive(s, &raw_sec.nonce_ttl_s, "nonce_ttl_s", 300);
        if let Some(old) = &raw_sec.auth_failures_per_minute {
            s.push(
                &old.span(),
                ErrorKind::InvalidValue,
                "auth_failures_per_minute was replaced: failures are now counted per user and address \
                 (auth_failures_per_user, default 5) and per address (auth_failures_per_source, default 100), \
                 and answered with a growing delay up to auth_tarpit_max_s (default 60) instead of a 403"
                    .to_owned(),
            );
        }
        let per_user = raw_sec.auth_failures_per_user.map_or(5, Spanned::into_inner);
        let per_source = raw_sec.auth_failures_per_source.map_or(100, Spanned::into_inner);
        let tarpit_max = positive(s, &raw_sec.auth_tarpit_max_s, "auth_tarpit_max_s", 60);
        let mut digest_algorithms = Vec::new();
        for a in raw_sec.digest_algorithms.iter().flatten() {
            match crate::sip::auth::Algorithm::parse(a.get_ref()) {
                Some(alg) if !digest_algorithms.contains(&alg) => digest_algorithms.push(alg),
                Some(_) => s.push(
                    &a.span(),
                    ErrorKind::InvalidValue,
                    format!("digest algorithm `{}` listed twice", a.get_ref()),
                ),
                None => s.push(
                    &a.span(),
                    ErrorKind::InvalidValue,
                    format!(
                        "unknown digest algorithm `{}` (expected MD5, SHA-256 or SHA-512-256)",
                        a.get_ref()
                    ),
                ),
            }
        }
        let source_rate = raw_sec.source_rate.map_or(100, Spanned::into_inner);
        let mut source_rate_allow = Vec::new();
        if raw_sec.source_rate_allow.is_none() {
            // As the shipped switchboard.toml: loopback (local tools, load tests).
            source_rate_allow = SecuritySettings::default_source_rate_allow();
        }
        for c in raw_sec.source_rate_allow.iter().flatten() {
            match c.get_ref().parse::<super::net::Cidr>() {
                Ok(cidr) => source_rate_allow.push(cidr),
                Err(m) => s.push(&c.span(), ErrorKind::InvalidValue, format!("source_rate_allow: {m}")),
            }
        }
        if digest_algorithms.is_empty() {
            // Same default as the shipped switchboard.toml (see its comment).
            digest_algorithms = vec![crate::sip::auth::Algorithm::Md5];
        }

        Top {
            sip,
            media: MediaSettings {
                rtp_ports,
                anchor: raw_media.anchor.map(Spanned::into_inner).unwrap_or(true),
                recording,
            },
            api,
            store: StoreSettings { path: store_path },
            cdr: CdrSettings { jsonl },
            registrar: RegistrarSettings {
                min_expires: min,
                max_expires: max,
                default_expires: def,
            },
            security: SecuritySettings {
                auth_failures_per_user: per_user,
                auth_failures_per_source: per_source,
                auth_tarpit_max: Duration::from_secs(tarpit_max),
                nonce_ttl: Duration::from_secs(nonce_ttl),
                digest_algorithms,
                source_rate,
                source_rate_allow,
            },
            profile_files: profile_files.unwrap_or_else(|| {
                DEFAULT_PROFILE_FILES
                    .iter()
                    .map(|f| {
                        let origin = Origin {
                            file: file.name.clone(),
                            line: 0,
                            column: 0,
                        };
                        ((*f).to_owned(), origin)
                    })
                    .collect()
            }),
        }
    }
}

/// `[api]` (issue 11 item 5): listen address, admin tokens, TLS files,
/// allowed WebSocket origins and per-token limits. Whether the address may
/// be non-loopback is decided with every token known
/// ([`super::Config::check_bind_safety`]).
fn api_settings(raw: &RawApi, s: &mut Sink<'_>, env: EnvLookup<'_>, dir: Option<&Path>) -> ApiSettings {
    let mut api = ApiSettings::default();
    if let Some(l) = &raw.listen {
        match l.get_ref().parse::<SocketAddr>() {
            Ok(a) => {
                api.listen = a;
                api.listen_origin = s.origin(&l.span());
            }
            Err(e) => s.push(&l.span(), ErrorKind::InvalidValue, format!("api listen address: {e}")),
        }
    }
    let mut seen = std::collections::HashSet::new();
    for t in raw.admin_tokens.iter().flatten() {
        if let Some(token) = super::token::read_token(env, s, t) {
            if !seen.insert(*token.digest()) {
                s.push(&t.span(), ErrorKind::Duplicate, "admin token listed twice");
                continue;
            }
            api.admin_tokens.push(token);
        }
    }
    match (&raw.tls_certificate, &raw.tls_key) {
        (Some(c), Some(k)) => {
            let files = crate::tls::TlsFiles {
                certificate: crate::tls::resolve(dir, c.get_ref()),
                key: crate::tls::resolve(dir, k.get_ref()),
            };
            match crate::tls::load_certified_key(&files) {
                Ok(_) => api.tls = Some(files),
                Err(e @ crate::tls::TlsError::Key { .. }) => s.push(&k.span(), ErrorKind::InvalidValue, e.to_string()),
                Err(e) => s.push(&c.span(), ErrorKind::InvalidValue, e.to_string()),
            }
        }
        (Some(one), None) | (None, Some(one)) => s.push(
            &one.span(),
            ErrorKind::InvalidValue,
            "tls_certificate and tls_key go together: set both or neither",
        ),
        (None, None) => {}
    }
    for o in raw.allowed_origins.iter().flatten() {
        match super::net::web_origin(o.get_ref()) {
            Ok(origin) => api.allowed_origins.push(origin),
            Err(msg) => s.push(&o.span(), ErrorKind::InvalidValue, msg),
        }
    }
    let mut limit = |v: &Option<Spanned<u32>>, name: &str, max: u32, out: &mut u32| {
        if let Some(v) = v {
            if (1..=max).contains(v.get_ref()) {
                *out = *v.get_ref();
            } else {
                s.push(
                    &v.span(),
                    ErrorKind::InvalidValue,
                    format!("{name} must be within 1..={max}"),
                );
            }
        }
    };
    limit(
        &raw.max_requests_per_second,
        "max_requests_per_second",
        100_000,
        &mut api.max_requests_per_second,
    );
    limit(
        &raw.max_streams_per_token,
        "max_streams_per_token",
        1_000,
        &mut api.max_streams_per_token,
    );
    limit(
        &raw.max_connections,
        "max_connections",
        100_000,
        &mut api.max_connections,
    );
    api
}
