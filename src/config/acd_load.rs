//! Validation of `acd.toml` (optional) into [`AcdSettings`]: every
//! `[[variable]]`, `[[team]]`, `[[queue]]`, `[[agent]]` and `[[supervisor]]`
//! is deserialized on its own, then checked (ranges, names, duplicates) and
//! its references resolved (teams, queues, variables, directory users). The
//! dial plan's `queue` actions and the queues' overflow targets are checked
//! against each other in `load.rs`.
//!
//! As elsewhere, references into a section that did not fully parse are not
//! checked, so one mistake does not cascade into many errors.

use std::collections::{HashMap, HashSet};
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use serde::de::DeserializeOwned;
use toml::de::DeValue;
use toml::Spanned;

use super::acd::{
    AcdSettings, AgentSettings, BuiltinVar, CallbackSettings, OfferVar, QueueSettings, SupervisorSettings,
    TeamSettings, VarSource, VarType, VariableDef,
};
use super::error::{ConfigError, ErrorKind, Origin, Sink};
use super::load::{de, elements, unknown_key, Builder, EnvLookup, ACD_FILE};
use super::model::{
    RawAccept, RawAgent, RawOverflow, RawQueue, RawStrategy, RawSupervisor, RawTeam, RawVarType, RawVariable,
};
use super::sections::{valid_name, Contexts};
use super::token::{read_token, ApiToken};
use crate::acd::{AcceptMode, AgentId, OverflowTarget, QueueId, Strategy};

/// What the rest of the load needs from `acd.toml`.
#[derive(Default)]
pub(super) struct AcdRefs {
    /// Queue names seen, even on queues that failed validation.
    pub queues: HashSet<String>,
    /// False when some `[[queue]]` did not parse: queue references are then
    /// not checked.
    pub queues_complete: bool,
    /// Overflow targets routed by the dial plan, with where they were written.
    pub overflow_targets: Vec<(String, Origin)>,
    /// Variable names seen, even on variables that failed validation.
    pub variables: HashSet<String>,
    /// False when some `[[variable]]` did not parse.
    pub variables_complete: bool,
}

/// The raw sections of the file, and whether each parsed completely.
#[derive(Default)]
struct Raw {
    idle_reasons: Vec<Spanned<String>>,
    variables: (Vec<RawVariable>, bool),
    teams: (Vec<RawTeam>, bool),
    queues: (Vec<RawQueue>, bool),
    agents: (Vec<RawAgent>, bool),
    supervisors: (Vec<RawSupervisor>, bool),
    callbacks: Option<super::model::RawCallbacks>,
}

/// Deserializes each element of an array of tables; the flag says whether
/// all of them did.
fn collect<T: DeserializeOwned>(key: &str, v: &Spanned<DeValue<'_>>, sink: &mut Sink<'_>) -> (Vec<T>, bool) {
    let mut complete = matches!(v.get_ref(), DeValue::Array(_));
    let mut out = Vec::new();
    for el in elements(key, v, sink) {
        match de::<T>(el, sink) {
            Some(t) => out.push(t),
            None => complete = false,
        }
    }
    (out, complete)
}

impl<'a> Builder<'a, '_> {
    /// `acd.toml`, if present: the contact center. Absent, the ACD is empty
    /// (no queues, agents or variables).
    pub(super) fn acd(&mut self) -> (AcdSettings, AcdRefs) {
        let files = self.files;
        let Some(file) = files.find(ACD_FILE) else {
            let refs = AcdRefs {
                queues_complete: true,
                variables_complete: true,
                ..AcdRefs::default()
            };
            return (AcdSettings::default(), refs);
        };
        let Some(root) = self.open(file) else {
            return (AcdSettings::default(), AcdRefs::default());
        };
        let mut raw = Raw {
            variables: (Vec::new(), true),
            teams: (Vec::new(), true),
            queues: (Vec::new(), true),
            agents: (Vec::new(), true),
            supervisors: (Vec::new(), true),
            ..Raw::default()
        };
        let mut sink = Sink {
            file: &file.name,
            text: file.text,
            errors: self.errors,
        };
        for (key, v) in root.get_ref().iter() {
            match key.get_ref().as_ref() {
                "idle_reasons" => raw.idle_reasons = de(v, &mut sink).unwrap_or_default(),
                "variable" => raw.variables = collect("variable", v, &mut sink),
                "team" => raw.teams = collect("team", v, &mut sink),
                "queue" => raw.queues = collect("queue", v, &mut sink),
                "agent" => raw.agents = collect("agent", v, &mut sink),
                "supervisor" => raw.supervisors = collect("supervisor", v, &mut sink),
                "callbacks" => raw.callbacks = de(v, &mut sink),
                _ => unknown_key(
                    &mut sink,
                    key,
                    "one of `idle_reasons`, `[callbacks]`, `[[variable]]`, `[[team]]`, `[[queue]]`, `[[agent]]`, `[[supervisor]]`",
                ),
            }
        }
        let users = Users {
            known: &self.seen.users,
            complete: self.seen.users_complete,
        };
        let mut v = Validator {
            sink,
            env: self.env,
            tokens: HashMap::new(),
        };
        let idle_reasons = v.idle_reasons(&raw.idle_reasons);
        let variables = v.variables(&raw.variables.0);
        let teams = v.teams(&raw.teams.0);
        let refs = AcdRefs {
            queues: raw.queues.0.iter().map(|q| q.name.get_ref().clone()).collect(),
            queues_complete: raw.queues.1,
            overflow_targets: Vec::new(),
            variables: raw.variables.0.iter().map(|v| v.name.get_ref().clone()).collect(),
            variables_complete: raw.variables.1,
        };
        let known = Known {
            variables: (&raw.variables.0, raw.variables.1),
            teams: (&raw.teams.0, raw.teams.1),
            queues: (&raw.queues.0, raw.queues.1),
            users,
        };
        let (queues, overflow_targets) = v.queues(&raw.queues.0, &known);
        let agents = v.agents(&raw.agents.0, &known);
        let supervisors = v.supervisors(&raw.supervisors.0, &known);
        let callbacks = v.callbacks(raw.callbacks.as_ref());
        let settings = AcdSettings {
            callbacks,
            idle_reasons,
            variables,
            teams,
            queues,
            agents,
            supervisors,
        };
        (
            settings,
            AcdRefs {
                overflow_targets,
                ..refs
            },
        )
    }

    /// Each overflow `target` must be routed by some rule of the dial plan
    /// (it is routed at run time in the context the call arrived in).
    pub(super) fn check_overflow_targets(&mut self, refs: &AcdRefs, contexts: &Contexts) {
        for (target, origin) in &refs.overflow_targets {
            let routed = contexts
                .values()
                .any(|(_, rules)| rules.iter().any(|r| r.apply(target).is_some()));
            if !routed {
                self.errors.push(ConfigError::new(
                    origin,
                    ErrorKind::UnknownReference,
                    format!("overflow target `{target}` matches no rule of any dial-plan context"),
                ));
            }
        }
    }
}

/// The directory users, for agents' extensions.
struct Users<'k> {
    known: &'k HashSet<String>,
    complete: bool,
}

/// Names other entries may refer to (with whether their section parsed
/// completely).
struct Known<'k> {
    variables: (&'k [RawVariable], bool),
    teams: (&'k [RawTeam], bool),
    queues: (&'k [RawQueue], bool),
    users: Users<'k>,
}

impl Known<'_> {
    fn team_unknown(&self, name: &str) -> bool {
        self.teams.1 && !self.teams.0.iter().any(|t| t.name.get_ref() == name)
    }

    /// The id of the first queue called `name` (ids are file positions).
    fn queue_id(&self, name: &str) -> Option<QueueId> {
        let i = self.queues.0.iter().position(|q| q.name.get_ref() == name)?;
        u32::try_from(i).ok().map(QueueId)
    }
}

struct Validator<'s, 'e> {
    sink: Sink<'s>,
    env: EnvLookup<'e>,
    /// Digests of the tokens seen (agents and supervisors) and whose each is.
    tokens: HashMap<[u8; 32], String>,
}

/// True for `[A-Za-z_][A-Za-z0-9_]*` of at most 64 characters.
fn valid_ident(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && s.len() <= 64
}

/// True for `[A-Za-z0-9._-]{1,64}` (team and queue names).
fn valid_label(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// True for `[a-z0-9._-]{1,32}` (login names).
fn valid_login(s: &str) -> bool {
    (1..=32).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'))
}

/// True for an RFC 3261 `token` (a header name).
fn valid_token(s: &str) -> bool {
    !s.is_empty()
        && s.chars().all(|c| {
            c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '!' | '%' | '*' | '_' | '+' | '`' | '\'' | '~')
        })
}

/// True for a relative `*.wav` path without `..` (music under `media/`).
fn valid_music(s: &str) -> bool {
    let p = Path::new(s);
    s.len() > 4
        && s.to_ascii_lowercase().ends_with(".wav")
        && !s.contains('\\')
        && !s.contains(':')
        && p.components().all(|c| matches!(c, Component::Normal(_)))
}

fn var_type(t: RawVarType) -> VarType {
    match t {
        RawVarType::String => VarType::String,
        RawVarType::Integer => VarType::Integer,
        RawVarType::Boolean => VarType::Boolean,
        RawVarType::Datetime => VarType::DateTime,
    }
}

fn var_source(s: &str) -> Option<VarSource> {
    Some(match s {
        "caller_number" => VarSource::CallerNumber,
        "caller_name" => VarSource::CallerName,
        "dialled" => VarSource::Dialled,
        "queue" => VarSource::Queue,
        _ => {
            let name = s.strip_prefix("header:")?;
            if !valid_token(name) {
                return None;
            }
            VarSource::Header(name.to_owned())
        }
    })
}

fn strategy(s: RawStrategy) -> Strategy {
    match s {
        RawStrategy::LongestIdle => Strategy::LongestIdle,
        RawStrategy::RoundRobin => Strategy::RoundRobin,
        RawStrategy::RingAll => Strategy::RingAll,
        RawStrategy::FewestCalls => Strategy::FewestCalls,
        RawStrategy::SkillsBased => Strategy::SkillsBased,
    }
}

impl Validator<'_, '_> {
    fn push(&mut self, span: &std::ops::Range<usize>, kind: ErrorKind, message: impl Into<String>) {
        self.sink.push(span, kind, message);
    }

    /// Records `v` in `seen`; a second occurrence is a duplicate error.
    fn unique(&mut self, seen: &mut HashMap<String, usize>, v: &Spanned<String>, what: &str) -> bool {
        let line = self.sink.origin(&v.span()).line;
        if let Some(first) = seen.get(v.get_ref()) {
            self.push(
                &v.span(),
                ErrorKind::Duplicate,
                format!("duplicate {what} `{}` (first defined at line {first})", v.get_ref()),
            );
            return false;
        }
        seen.insert(v.get_ref().clone(), line);
        true
    }

    /// Checks `v` with `ok`, reporting `rule` (what the value must look like).
    fn shape(&mut self, v: &Spanned<String>, ok: fn(&str) -> bool, what: &str, rule: &str) -> bool {
        let good = ok(v.get_ref());
        if !good {
            self.push(
                &v.span(),
                ErrorKind::InvalidValue,
                format!("{what} `{}` must be {rule}", v.get_ref()),
            );
        }
        good
    }

    /// `[callbacks]` (CB-6, CB-7), each value within its range.
    fn callbacks(&mut self, raw: Option<&super::model::RawCallbacks>) -> super::acd::CallbackSettings {
        let d = super::acd::CallbackSettings::default();
        let Some(raw) = raw else { return d };
        let limit = raw
            .max_concurrent_calls
            .as_ref()
            .map(|_| self.ranged(&raw.max_concurrent_calls, "max_concurrent_calls", 1..=1_000_000, 1) as u32);
        let secs = std::time::Duration::from_secs;
        CallbackSettings {
            max_concurrent_calls: limit,
            ring: secs(self.ranged(&raw.ring_s, "ring_s", 5..=300, d.ring.as_secs())),
            retry_after: secs(self.ranged(
                &raw.retry_after_s,
                "retry_after_s",
                60..=86_400,
                d.retry_after.as_secs(),
            )),
            max_attempts: self.ranged(&raw.max_attempts, "max_attempts", 1..=10, u64::from(d.max_attempts)) as u32,
        }
    }

    /// An optional integer within `range`, else `default`.
    fn ranged(
        &mut self,
        v: &Option<Spanned<u64>>,
        field: &str,
        range: std::ops::RangeInclusive<u64>,
        default: u64,
    ) -> u64 {
        match v {
            Some(s) if !range.contains(s.get_ref()) => {
                self.push(
                    &s.span(),
                    ErrorKind::InvalidValue,
                    format!("{field} must be within {}..={}", range.start(), range.end()),
                );
                default
            }
            Some(s) => *s.get_ref(),
            None => default,
        }
    }

    /// A reason label (idle or wrap-up): non-empty, at most 64 characters.
    fn reason(&mut self, v: &Spanned<String>, what: &str) -> bool {
        let r = v.get_ref();
        let ok = !r.trim().is_empty() && r.trim() == r && r.chars().count() <= 64;
        if !ok {
            self.push(
                &v.span(),
                ErrorKind::InvalidValue,
                format!("{what} `{r}` must be 1 to 64 characters without leading or trailing spaces"),
            );
        }
        ok
    }

    /// A display name: non-empty, at most 128 characters.
    fn display_name(&mut self, v: &Spanned<String>) {
        let n = v.get_ref();
        if n.trim().is_empty() || n.chars().count() > 128 {
            self.push(&v.span(), ErrorKind::InvalidValue, "name must be 1 to 128 characters");
        }
    }

    // spec: AGENT-1
    fn idle_reasons(&mut self, raw: &[Spanned<String>]) -> Vec<String> {
        let mut seen = HashMap::new();
        let mut out = Vec::new();
        for r in raw {
            if r.get_ref().eq_ignore_ascii_case("RONA") {
                self.push(
                    &r.span(),
                    ErrorKind::InvalidValue,
                    "idle reason `RONA` is built in (OFFER-4) and may not be configured",
                );
                continue;
            }
            if self.reason(r, "idle reason") && self.unique(&mut seen, r, "idle reason") {
                out.push(r.get_ref().clone());
            }
        }
        out
    }

    // spec: CAD-1
    // spec: CAD-2
    fn variables(&mut self, raw: &[RawVariable]) -> Vec<VariableDef> {
        let mut seen = HashMap::new();
        let mut out = Vec::new();
        for raw in raw {
            let before = self.sink.errors.len();
            let name = raw.name.get_ref().clone();
            if self.shape(
                &raw.name,
                valid_ident,
                "variable name",
                "1 to 64 of [A-Za-z0-9_], not starting with a digit",
            ) {
                if BuiltinVar::from_name(&name).is_some() {
                    self.push(
                        &raw.name.span(),
                        ErrorKind::Duplicate,
                        format!("variable `{name}` is built in; choose another name"),
                    );
                } else {
                    self.unique(&mut seen, &raw.name, "variable");
                }
            }
            let var_type = var_type(raw.var_type);
            let source = raw.source.as_ref().and_then(|s| {
                let parsed = var_source(s.get_ref());
                if parsed.is_none() {
                    self.push(
                        &s.span(),
                        ErrorKind::InvalidValue,
                        format!(
                            "unknown variable source `{}`, expected caller_number, caller_name, dialled, queue \
                             or header:<Name>",
                            s.get_ref()
                        ),
                    );
                }
                parsed
            });
            let default = raw
                .default
                .as_ref()
                .and_then(|d| self.default_value(d, var_type, &name));
            if self.sink.errors.len() == before {
                out.push(VariableDef {
                    name,
                    var_type,
                    editable: raw.editable,
                    secure: raw.secure,
                    source,
                    default,
                });
            }
        }
        out
    }

    /// A variable's default: a string parsed as the type, or a TOML value of
    /// the type itself (integer, boolean, offset date-time).
    fn default_value(&mut self, d: &Spanned<toml::Value>, t: VarType, name: &str) -> Option<String> {
        let text = match (d.get_ref(), t) {
            (toml::Value::String(s), _) => s.clone(),
            (toml::Value::Integer(i), VarType::Integer) => i.to_string(),
            (toml::Value::Boolean(b), VarType::Boolean) => b.to_string(),
            (toml::Value::Datetime(dt), VarType::DateTime) => dt.to_string(),
            (other, _) => {
                self.push(
                    &d.span(),
                    ErrorKind::InvalidValue,
                    format!(
                        "default of {t} variable `{name}` must be a {t} (or a string holding one), not a TOML {}",
                        other.type_str()
                    ),
                );
                return None;
            }
        };
        match super::acd::validate_value(t, &text) {
            Ok(()) => Some(text),
            Err(e) => {
                self.push(
                    &d.span(),
                    ErrorKind::InvalidValue,
                    format!("default of {t} variable `{name}`: {e}"),
                );
                None
            }
        }
    }

    fn teams(&mut self, raw: &[RawTeam]) -> Vec<TeamSettings> {
        let mut seen = HashMap::new();
        let mut out = Vec::new();
        for t in raw {
            if self.shape(&t.name, valid_label, "team name", "1 to 64 of [A-Za-z0-9._-]")
                && self.unique(&mut seen, &t.name, "team")
            {
                out.push(TeamSettings {
                    name: t.name.get_ref().clone(),
                });
            }
        }
        out
    }

    // spec: OFFER-1
    // spec: OFFER-2
    // spec: OFFER-4
    // spec: WRAP-1
    // spec: WRAP-2
    fn queues(&mut self, raw: &[RawQueue], known: &Known<'_>) -> (Vec<QueueSettings>, Vec<(String, Origin)>) {
        let mut names = HashMap::new();
        let mut numbers = HashMap::new();
        let mut out = Vec::new();
        let mut targets = Vec::new();
        for (index, q) in raw.iter().enumerate() {
            let before = self.sink.errors.len();
            let name = q.name.get_ref().clone();
            if self.shape(&q.name, valid_label, "queue name", "1 to 64 of [A-Za-z0-9._-]") {
                self.unique(&mut names, &q.name, "queue name");
            }
            let number_ok = |s: &str| (1..=32).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit());
            if self.shape(&q.number, number_ok, "queue number", "1 to 32 digits") {
                self.unique(&mut numbers, &q.number, "queue number");
            }
            let rona = self.ranged(&q.rona_timeout_s, "rona_timeout_s", 1..=300, 15);
            let wrap = self.ranged(&q.wrap_up_s, "wrap_up_s", 0..=3600, 60);
            let service_level = self.ranged(&q.service_level_s, "service_level_s", 1..=3600, 20);
            let wrap_up_reasons = self.wrap_up_reasons(&q.wrap_up_reasons);
            let offer_variables = self.offer_variables(&q.offer_variables, known);
            let flow_variables = q.flow_variables.as_ref().map(|f| self.flow_variables(f, known));
            let music = q.music.as_ref().and_then(|m| {
                self.shape(
                    m,
                    valid_music,
                    "music",
                    "a relative *.wav file name under media/ without `..`",
                )
                .then(|| PathBuf::from(m.get_ref()))
            });
            let announce = match &q.announce_every_s {
                Some(a) if *a.get_ref() != 0 && !(10..=600).contains(a.get_ref()) => {
                    self.push(
                        &a.span(),
                        ErrorKind::InvalidValue,
                        "announce_every_s must be 0 (off) or within 10..=600",
                    );
                    None
                }
                Some(a) if *a.get_ref() != 0 => Some(Duration::from_secs(*a.get_ref())),
                _ => None,
            };
            let courtesy = q.courtesy_callback_after_s.as_ref().map(|_| {
                Duration::from_secs(self.ranged(
                    &q.courtesy_callback_after_s,
                    "courtesy_callback_after_s",
                    10..=86_400,
                    60,
                ))
            });
            let priority = self.ranged(&q.priority, "priority", 0..=255, 0);
            let max_wait = self.ranged(&q.max_wait_s, "max_wait_s", 1..=86_400, 0);
            let overflow = match (&q.overflow, &q.max_wait_s) {
                (None, Some(w)) => {
                    self.push(
                        &w.span(),
                        ErrorKind::Schema,
                        "`max_wait_s` needs `overflow = { queue = \"..\" }` or `{ target = \"..\" }`",
                    );
                    None
                }
                (Some(o), None) => {
                    self.push(&o.span(), ErrorKind::Schema, "`overflow` needs `max_wait_s`");
                    None
                }
                (Some(o), Some(_)) => self.overflow(o.get_ref(), &name, known, &mut targets),
                (None, None) => None,
            };
            if self.sink.errors.len() != before {
                continue;
            }
            let Ok(id) = u32::try_from(index).map(QueueId) else {
                continue;
            };
            out.push(QueueSettings {
                id,
                name,
                number: q.number.get_ref().clone(),
                strategy: q.strategy.map_or(Strategy::LongestIdle, strategy),
                accept: match q.accept {
                    Some(RawAccept::Auto) => AcceptMode::Auto,
                    Some(RawAccept::Manual) | None => AcceptMode::Manual,
                },
                rona_timeout: Duration::from_secs(rona),
                wrap_up: Duration::from_secs(wrap),
                wrap_up_reasons,
                offer_variables,
                music,
                announce_every: announce,
                courtesy_callback_after: courtesy,
                record: q.record,
                noise_removal: q.noise_removal,
                priority: u8::try_from(priority).unwrap_or(u8::MAX),
                max_wait: overflow.as_ref().map(|_| Duration::from_secs(max_wait)),
                overflow,
                mask_caller_number: q.mask_caller_number,
                flow_variables,
                service_level_s: u32::try_from(service_level).unwrap_or(20),
            });
        }
        (out, targets)
    }

    // spec: WRAP-1
    fn wrap_up_reasons(&mut self, raw: &Spanned<Vec<Spanned<String>>>) -> Vec<String> {
        if raw.get_ref().is_empty() {
            self.push(
                &raw.span(),
                ErrorKind::InvalidValue,
                "wrap_up_reasons must list at least one reason (WRAP-1)",
            );
        }
        let mut seen = HashMap::new();
        let mut out = Vec::new();
        for r in raw.get_ref() {
            if self.reason(r, "wrap-up reason") && self.unique(&mut seen, r, "wrap-up reason") {
                out.push(r.get_ref().clone());
            }
        }
        out
    }

    // spec: OFFER-2
    fn offer_variables(&mut self, raw: &Spanned<Vec<Spanned<String>>>, known: &Known<'_>) -> Vec<OfferVar> {
        let n = raw.get_ref().len();
        if !(3..=6).contains(&n) {
            self.push(
                &raw.span(),
                ErrorKind::InvalidValue,
                format!("offer_variables lists {n} variables; an offer shows 3 to 6 (OFFER-2)"),
            );
        }
        let mut seen = HashMap::new();
        let mut out = Vec::new();
        for v in raw.get_ref() {
            let name = v.get_ref();
            if !self.unique(&mut seen, v, "offer variable") {
                continue;
            }
            if let Some(b) = BuiltinVar::from_name(name) {
                out.push(OfferVar::Builtin(b));
                continue;
            }
            match known.variables.0.iter().find(|d| d.name.get_ref() == name) {
                Some(d) if d.secure => self.push(
                    &v.span(),
                    ErrorKind::InvalidValue,
                    format!("variable `{name}` is secure and is never shown in an offer (OFFER-2)"),
                ),
                Some(_) => out.push(OfferVar::Defined(name.clone())),
                None if known.variables.1 => self.push(
                    &v.span(),
                    ErrorKind::UnknownReference,
                    format!(
                        "unknown variable `{name}` (not a [[variable]] nor a built-in: caller_number, \
                         caller_name, dnis, queue)"
                    ),
                ),
                None => {}
            }
        }
        out
    }

    // spec: CALL-XFER-4
    fn flow_variables(&mut self, raw: &Spanned<Vec<Spanned<String>>>, known: &Known<'_>) -> Vec<String> {
        let mut seen = HashMap::new();
        let mut out = Vec::new();
        for v in raw.get_ref() {
            let name = v.get_ref();
            if !self.unique(&mut seen, v, "flow variable") {
                continue;
            }
            if BuiltinVar::from_name(name).is_some() {
                self.push(
                    &v.span(),
                    ErrorKind::InvalidValue,
                    format!("`{name}` is built in: every flow has it; list only [[variable]] names"),
                );
                continue;
            }
            if known.variables.0.iter().any(|d| d.name.get_ref() == name) {
                out.push(name.clone());
            } else if known.variables.1 {
                self.push(
                    &v.span(),
                    ErrorKind::UnknownReference,
                    format!("unknown variable `{name}` (not a [[variable]])"),
                );
            }
        }
        out
    }

    fn overflow(
        &mut self,
        o: &RawOverflow,
        own: &str,
        known: &Known<'_>,
        targets: &mut Vec<(String, Origin)>,
    ) -> Option<OverflowTarget> {
        match o {
            RawOverflow::Queue(q) if q.get_ref() == own => {
                self.push(
                    &q.span(),
                    ErrorKind::InvalidValue,
                    format!("queue `{own}` overflows to itself"),
                );
                None
            }
            RawOverflow::Queue(q) => match known.queue_id(q.get_ref()) {
                Some(id) => Some(OverflowTarget::Queue(id)),
                None => {
                    if known.queues.1 {
                        self.push(
                            &q.span(),
                            ErrorKind::UnknownReference,
                            format!("unknown queue `{}` (not a [[queue]] of acd.toml)", q.get_ref()),
                        );
                    }
                    None
                }
            },
            RawOverflow::Target(t) => {
                if !self.shape(
                    t,
                    valid_name,
                    "overflow target",
                    "a number: letters, digits and . _ - + * #",
                ) {
                    return None;
                }
                targets.push((t.get_ref().clone(), self.sink.origin(&t.span())));
                Some(OverflowTarget::External(t.get_ref().clone()))
            }
        }
    }

    /// A desktop API token ([`read_token`]: clear, `env:VAR` or
    /// `sha256:<hex>`), unique among agents and supervisors.
    fn token(&mut self, raw: &Spanned<String>, owner: String) -> Option<ApiToken> {
        let token = read_token(self.env, &mut self.sink, raw)?;
        if let Some(first) = self.tokens.get(token.digest()) {
            self.push(
                &raw.span(),
                ErrorKind::Duplicate,
                format!("token already used by {first}; each token must be unique"),
            );
            return None;
        }
        self.tokens.insert(*token.digest(), owner);
        Some(token)
    }

    fn agents(&mut self, raw: &[RawAgent], known: &Known<'_>) -> Vec<AgentSettings> {
        let mut logins = HashMap::new();
        let mut extensions = HashMap::new();
        let mut out = Vec::new();
        for (index, a) in raw.iter().enumerate() {
            let before = self.sink.errors.len();
            let login = a.id.get_ref().clone();
            if self.shape(&a.id, valid_login, "agent id", "1 to 32 of [a-z0-9._-]") {
                self.unique(&mut logins, &a.id, "agent id");
            }
            self.display_name(&a.name);
            if known.team_unknown(a.team.get_ref()) {
                self.push(
                    &a.team.span(),
                    ErrorKind::UnknownReference,
                    format!("unknown team `{}` (not a [[team]] of acd.toml)", a.team.get_ref()),
                );
            }
            let ext = a.extension.get_ref();
            if known.users.complete && !known.users.known.contains(ext) {
                self.push(
                    &a.extension.span(),
                    ErrorKind::UnknownReference,
                    format!("unknown user `{ext}` (not in directory.toml)"),
                );
            } else {
                self.unique(&mut extensions, &a.extension, "agent extension");
            }
            if a.skills.get_ref().is_empty() {
                self.push(
                    &a.skills.span(),
                    ErrorKind::InvalidValue,
                    "an agent needs at least one skill: `skills = { <queue> = <level 1..=10> }`",
                );
            }
            let mut skills = Vec::new();
            for (queue, level) in a.skills.get_ref() {
                let id = known.queue_id(queue.get_ref());
                if id.is_none() && known.queues.1 {
                    self.push(
                        &queue.span(),
                        ErrorKind::UnknownReference,
                        format!("unknown queue `{}` (not a [[queue]] of acd.toml)", queue.get_ref()),
                    );
                }
                let level = self.ranged(&Some(level.clone()), "skill level", 1..=10, 1);
                if let (Some(id), Ok(level)) = (id, u8::try_from(level)) {
                    skills.push((id, level));
                }
            }
            skills.sort_unstable();
            let token = self.token(&a.token, format!("agent `{login}`"));
            if self.sink.errors.len() != before {
                continue;
            }
            let (Some(token), Ok(id)) = (token, u32::try_from(index).map(AgentId)) else {
                continue;
            };
            out.push(AgentSettings {
                id,
                login,
                name: a.name.get_ref().clone(),
                team: a.team.get_ref().clone(),
                extension: ext.clone(),
                skills,
                token,
            });
        }
        out
    }

    fn supervisors(&mut self, raw: &[RawSupervisor], known: &Known<'_>) -> Vec<SupervisorSettings> {
        let mut logins = HashMap::new();
        let mut out = Vec::new();
        for s in raw {
            let before = self.sink.errors.len();
            let login = s.id.get_ref().clone();
            if self.shape(&s.id, valid_login, "supervisor id", "1 to 32 of [a-z0-9._-]") {
                self.unique(&mut logins, &s.id, "supervisor id");
            }
            self.display_name(&s.name);
            if s.teams.get_ref().is_empty() {
                self.push(
                    &s.teams.span(),
                    ErrorKind::InvalidValue,
                    "a supervisor needs at least one team",
                );
            }
            let mut seen = HashMap::new();
            for t in s.teams.get_ref() {
                if known.team_unknown(t.get_ref()) {
                    self.push(
                        &t.span(),
                        ErrorKind::UnknownReference,
                        format!("unknown team `{}` (not a [[team]] of acd.toml)", t.get_ref()),
                    );
                } else {
                    self.unique(&mut seen, t, "team");
                }
            }
            let token = self.token(&s.token, format!("supervisor `{login}`"));
            if self.sink.errors.len() != before {
                continue;
            }
            let Some(token) = token else { continue };
            out.push(SupervisorSettings {
                login,
                name: s.name.get_ref().clone(),
                teams: s.teams.get_ref().iter().map(|t| t.get_ref().clone()).collect(),
                token,
            });
        }
        out
    }
}
