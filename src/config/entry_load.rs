//! Validation of `entrypoints.toml` (optional) into [`EntryPoints`]: the
//! `[[schedule]]`s, then every `[[entry_point]]` with its
//! `[[entry_point.step]]`s, each deserialized on its own so one bad step
//! does not hide the next. Every field is checked against its step kind
//! (a field another kind takes is reported, not ignored), every reference
//! resolved (step names within the flow, entry points, queues and
//! variables of `acd.toml`, directory users, schedules) and every prompt
//! loaded and decoded (a missing one or one in another format than 8 kHz
//! mono 16-bit PCM WAV is an error at the name). Then `entry_check.rs`
//! looks at the flows as a graph.
//!
//! Prompts: `prompts_dir = ".."` (relative to the configuration directory)
//! holds the admin's `<name>.wav`; a name not found there is one of the
//! switch's own prompts (`media/prompts/`, embedded).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use toml::de::DeValue;
use toml::Spanned;

use super::acd::AcdSettings;
use super::entry::{EntryPoints, Flow, FlowId, KeyWait, Mailbox, Prompt, QueueTest, Step, StepKind, StepRef};
use super::error::{ErrorKind, Sink};
use super::load::{de, elements, unknown_key, Builder};
use super::schedule::{self, Closure, Schedule, DAY_KEYS};
use crate::acd::{QueueId, VarType};

/// File name of the entry points (optional).
pub const ENTRY_FILE: &str = "entrypoints.toml";

/// `[[schedule]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSchedule {
    name: Spanned<String>,
    zone: Spanned<String>,
    monday: Option<Vec<Spanned<String>>>,
    tuesday: Option<Vec<Spanned<String>>>,
    wednesday: Option<Vec<Spanned<String>>>,
    thursday: Option<Vec<Spanned<String>>>,
    friday: Option<Vec<Spanned<String>>>,
    saturday: Option<Vec<Spanned<String>>>,
    sunday: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    holidays: Vec<Spanned<String>>,
    #[serde(default)]
    closures: Vec<Spanned<RawClosure>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawClosure {
    from: Spanned<String>,
    to: Spanned<String>,
    reason: Option<String>,
}

/// `kind = ".."` of a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum RawKind {
    Play,
    Menu,
    Collect,
    Hours,
    Branch,
    QueueState,
    Set,
    Queue,
    EntryPoint,
    User,
    Number,
    Voicemail,
    Hangup,
}

/// `test = ".."` of a `queue_state` step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum RawQueueTest {
    NoAgentsLoggedIn,
    NoAgentsAvailable,
    ExpectedWaitOver,
}

/// A value of a `set` step.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum RawScalar {
    Bool(bool),
    Int(i64),
    Str(String),
}

impl RawScalar {
    fn text(&self) -> String {
        match self {
            RawScalar::Bool(b) => b.to_string(),
            RawScalar::Int(i) => i.to_string(),
            RawScalar::Str(s) => s.clone(),
        }
    }
}

/// `[[entry_point.step]]`: every field any kind takes; each kind checks
/// that only its own are set.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    name: Spanned<String>,
    kind: Spanned<RawKind>,
    prompt: Option<Spanned<String>>,
    next: Option<Spanned<String>>,
    choices: Option<Spanned<BTreeMap<String, Spanned<String>>>>,
    otherwise: Option<Spanned<String>>,
    no_input: Option<Spanned<String>>,
    timeout_s: Option<Spanned<u64>>,
    inter_digit_s: Option<Spanned<u64>>,
    retries: Option<Spanned<u32>>,
    invalid_prompt: Option<Spanned<String>>,
    no_input_prompt: Option<Spanned<String>>,
    variable: Option<Spanned<String>>,
    min_digits: Option<Spanned<usize>>,
    max_digits: Option<Spanned<usize>>,
    terminator: Option<Spanned<String>>,
    schedule: Option<Spanned<String>>,
    open: Option<Spanned<String>>,
    closed: Option<Spanned<String>>,
    holiday: Option<Spanned<String>>,
    cases: Option<Spanned<BTreeMap<String, Spanned<String>>>>,
    queue: Option<Spanned<String>>,
    test: Option<Spanned<RawQueueTest>>,
    wait_s: Option<Spanned<u64>>,
    then: Option<Spanned<String>>,
    values: Option<Spanned<BTreeMap<String, Spanned<RawScalar>>>>,
    priority: Option<Spanned<u8>>,
    entry_point: Option<Spanned<String>>,
    user: Option<Spanned<String>>,
    number: Option<Spanned<String>>,
}

/// The fields each kind takes besides `name` and `kind`.
fn allowed(kind: RawKind) -> &'static [&'static str] {
    match kind {
        RawKind::Play => &["prompt", "next"],
        RawKind::Menu => &[
            "prompt",
            "choices",
            "otherwise",
            "no_input",
            "timeout_s",
            "inter_digit_s",
            "retries",
            "invalid_prompt",
            "no_input_prompt",
        ],
        RawKind::Collect => &[
            "prompt",
            "variable",
            "min_digits",
            "max_digits",
            "terminator",
            "next",
            "otherwise",
            "timeout_s",
            "inter_digit_s",
            "retries",
            "invalid_prompt",
            "no_input_prompt",
        ],
        RawKind::Hours => &["schedule", "open", "closed", "holiday"],
        RawKind::Branch => &["variable", "cases", "otherwise"],
        RawKind::QueueState => &["queue", "test", "wait_s", "then", "otherwise"],
        RawKind::Set => &["values", "next"],
        RawKind::Queue => &["queue", "priority"],
        RawKind::EntryPoint => &["entry_point"],
        RawKind::User => &["user"],
        RawKind::Number => &["number"],
        RawKind::Voicemail => &["queue", "user", "prompt"],
        RawKind::Hangup => &["prompt"],
    }
}

fn kind_name(kind: RawKind) -> &'static str {
    match kind {
        RawKind::Play => "play",
        RawKind::Menu => "menu",
        RawKind::Collect => "collect",
        RawKind::Hours => "hours",
        RawKind::Branch => "branch",
        RawKind::QueueState => "queue_state",
        RawKind::Set => "set",
        RawKind::Queue => "queue",
        RawKind::EntryPoint => "entry_point",
        RawKind::User => "user",
        RawKind::Number => "number",
        RawKind::Voicemail => "voicemail",
        RawKind::Hangup => "hangup",
    }
}

impl RawStep {
    /// The optional fields that are set, with their spans.
    fn present(&self) -> Vec<(&'static str, std::ops::Range<usize>)> {
        fn s<T>(v: &Option<Spanned<T>>) -> Option<std::ops::Range<usize>> {
            v.as_ref().map(Spanned::span)
        }
        let all = [
            ("prompt", s(&self.prompt)),
            ("next", s(&self.next)),
            ("choices", s(&self.choices)),
            ("otherwise", s(&self.otherwise)),
            ("no_input", s(&self.no_input)),
            ("timeout_s", s(&self.timeout_s)),
            ("inter_digit_s", s(&self.inter_digit_s)),
            ("retries", s(&self.retries)),
            ("invalid_prompt", s(&self.invalid_prompt)),
            ("no_input_prompt", s(&self.no_input_prompt)),
            ("variable", s(&self.variable)),
            ("min_digits", s(&self.min_digits)),
            ("max_digits", s(&self.max_digits)),
            ("terminator", s(&self.terminator)),
            ("schedule", s(&self.schedule)),
            ("open", s(&self.open)),
            ("closed", s(&self.closed)),
            ("holiday", s(&self.holiday)),
            ("cases", s(&self.cases)),
            ("queue", s(&self.queue)),
            ("test", s(&self.test)),
            ("wait_s", s(&self.wait_s)),
            ("then", s(&self.then)),
            ("values", s(&self.values)),
            ("priority", s(&self.priority)),
            ("entry_point", s(&self.entry_point)),
            ("user", s(&self.user)),
            ("number", s(&self.number)),
        ];
        all.into_iter().filter_map(|(k, v)| Some((k, v?))).collect()
    }
}

/// One `[[entry_point]]` before its steps are resolved.
struct RawFlow {
    name: Spanned<String>,
    variables: Option<Spanned<Vec<Spanned<String>>>>,
    steps: Vec<RawStep>,
    /// Every step parsed.
    complete: bool,
}

/// Prompt names: lower-case letters, digits, `-` and `_` (a file name, never a path).
fn valid_prompt_name(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// Step and entry point names: `[A-Za-z0-9._-]{1,64}`.
fn valid_step_name(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// Menu choices: 1 to 8 keys of `0-9 * #`.
fn valid_keys(s: &str) -> bool {
    (1..=8).contains(&s.len()) && s.chars().all(|c| c.is_ascii_digit() || c == '*' || c == '#')
}

/// Loads and decodes prompts by name, each once.
struct Prompts<'p> {
    dir: Option<PathBuf>,
    cache: HashMap<String, Result<Arc<[i16]>, String>>,
    _p: std::marker::PhantomData<&'p ()>,
}

impl Prompts<'_> {
    fn get(&mut self, name: &str) -> Result<Prompt, String> {
        if !valid_prompt_name(name) {
            return Err(format!(
                "prompt `{name}` must be a file name without `.wav`: lower-case letters, digits, - and _"
            ));
        }
        let dir = self.dir.clone();
        let found = self
            .cache
            .entry(name.to_owned())
            .or_insert_with(|| load_prompt(dir.as_deref(), name))
            .clone();
        found.map(|samples| Prompt {
            name: name.to_owned(),
            samples,
        })
    }
}

/// The admin's `<dir>/<name>.wav`, else the switch's own.
fn load_prompt(dir: Option<&Path>, name: &str) -> Result<Arc<[i16]>, String> {
    if let Some(dir) = dir {
        let path = dir.join(format!("{name}.wav"));
        match std::fs::read(&path) {
            Ok(bytes) => {
                return crate::dsp::prompt_file::decode_prompt(&bytes)
                    .map(Arc::from)
                    .map_err(|e| format!("prompt `{name}` ({}): {e}", path.display()))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("prompt `{name}`: cannot read {}: {e}", path.display())),
        }
    }
    match crate::media::prompts::embedded_samples(name) {
        // Decoded once per process, shared by every load.
        Some(samples) => Ok(samples),
        None => {
            let own = crate::media::prompts::EMBEDDED_PROMPTS.join(", ");
            Err(match dir {
                Some(d) => format!(
                    "missing prompt `{name}`: no {name}.wav in {} and not one of the switch's own ({own})",
                    d.display()
                ),
                None => format!(
                    "missing prompt `{name}`: not one of the switch's own ({own}); set `prompts_dir` for your own WAV files"
                ),
            })
        }
    }
}

/// What the entry points need from the rest of the configuration.
pub(super) struct EntryKnown<'k> {
    /// `acd.toml`: queues and variables as loaded.
    pub acd: &'k AcdSettings,
    /// Queue names written in `acd.toml` (true for all when some did not
    /// parse): a name written there that failed to load is not reported
    /// again here.
    pub queues: &'k dyn Fn(&str) -> bool,
    /// The same for variable names.
    pub variables: &'k dyn Fn(&str) -> bool,
    /// Directory extensions.
    pub users: &'k dyn Fn(&str) -> bool,
}

impl Builder<'_, '_> {
    /// `entrypoints.toml`, if present, and the names of its entry points
    /// (even those that failed, for the dial plan's references).
    pub(super) fn entry_points(&mut self, known: &EntryKnown<'_>) -> (EntryPoints, HashSet<String>, bool) {
        let files = self.files;
        let Some(file) = files.find(ENTRY_FILE) else {
            return (EntryPoints::default(), HashSet::new(), true);
        };
        let Some(root) = self.open(file) else {
            return (EntryPoints::default(), HashSet::new(), false);
        };
        let mut sink = Sink {
            file: &file.name,
            text: file.text,
            errors: self.errors,
        };
        let mut raw_schedules = Vec::new();
        let mut raw_flows: Vec<RawFlow> = Vec::new();
        let mut prompts_dir: Option<Spanned<String>> = None;
        let mut complete = true;
        for (key, v) in root.get_ref().iter() {
            match key.get_ref().as_ref() {
                "prompts_dir" => prompts_dir = de(v, &mut sink),
                "schedule" => {
                    for el in elements("schedule", v, &mut sink) {
                        match de::<RawSchedule>(el, &mut sink) {
                            Some(s) => raw_schedules.push(s),
                            None => complete = false,
                        }
                    }
                }
                "entry_point" => {
                    for el in elements("entry_point", v, &mut sink) {
                        match raw_flow(el, &mut sink) {
                            Some(f) => raw_flows.push(f),
                            None => complete = false,
                        }
                    }
                }
                _ => unknown_key(
                    &mut sink,
                    key,
                    "one of `prompts_dir`, `[[schedule]]`, `[[entry_point]]`",
                ),
            }
        }
        let names: HashSet<String> = raw_flows.iter().map(|f| f.name.get_ref().clone()).collect();
        let dir = prompts_dir.as_ref().map(|d| match &files.dir {
            Some(base) => base.join(d.get_ref()),
            None => PathBuf::from(d.get_ref()),
        });
        if let (Some(d), Some(span)) = (&dir, prompts_dir.as_ref().map(Spanned::span)) {
            if !d.is_dir() {
                sink.push(
                    &span,
                    ErrorKind::Io,
                    format!("prompts_dir {} is not a directory", d.display()),
                );
            }
        }
        let mut v = EntryValidator {
            sink,
            known,
            prompts: Prompts {
                dir,
                cache: HashMap::new(),
                _p: std::marker::PhantomData,
            },
            schedules: Vec::new(),
            schedules_complete: complete,
            flow_names: raw_flows.iter().map(|f| f.name.get_ref().clone()).collect(),
            flows_complete: complete,
        };
        v.schedules(&raw_schedules);
        let before = v.sink.errors.len();
        let mut flows = Vec::new();
        let mut seen = HashSet::new();
        for raw in &raw_flows {
            let name = raw.name.get_ref();
            if !valid_step_name(name) {
                v.sink.push(
                    &raw.name.span(),
                    ErrorKind::InvalidValue,
                    format!("entry point `{name}` must use only letters, digits, . _ - (at most 64)"),
                );
            }
            if !seen.insert(name.clone()) {
                v.sink.push(
                    &raw.name.span(),
                    ErrorKind::Duplicate,
                    format!("entry point `{name}` is defined twice"),
                );
            }
            if let Some(f) = v.flow(raw) {
                flows.push(f);
            }
        }
        let entry = EntryPoints {
            flows,
            schedules: v.schedules,
        };
        if v.sink.errors.len() == before && complete && raw_flows.iter().all(|f| f.complete) {
            // The graph only of flows that loaded whole, so as not to cascade.
            super::entry_check::check(&entry, &mut v.sink);
        }
        (entry, names, complete)
    }
}

/// Reads one `[[entry_point]]` table: its own keys, then each step.
fn raw_flow(el: &Spanned<DeValue<'_>>, sink: &mut Sink<'_>) -> Option<RawFlow> {
    let DeValue::Table(t) = el.get_ref() else {
        sink.push(
            &el.span(),
            ErrorKind::Schema,
            "`entry_point` must be an array of tables (`[[entry_point]]`)",
        );
        return None;
    };
    let mut name = None;
    let mut variables = None;
    let mut steps = Vec::new();
    let mut complete = true;
    for (key, v) in t.iter() {
        match key.get_ref().as_ref() {
            "name" => name = de::<Spanned<String>>(v, sink),
            "variables" => variables = de::<Spanned<Vec<Spanned<String>>>>(v, sink),
            "step" => {
                for s in elements("entry_point.step", v, sink) {
                    match de::<RawStep>(s, sink) {
                        Some(s) => steps.push(s),
                        None => complete = false,
                    }
                }
            }
            _ => unknown_key(sink, key, "one of `name`, `variables`, `[[entry_point.step]]`"),
        }
    }
    let Some(name) = name else {
        sink.push(&el.span(), ErrorKind::Schema, "an entry point needs `name = \"..\"`");
        return None;
    };
    if steps.is_empty() && complete {
        sink.push(
            &name.span(),
            ErrorKind::Schema,
            format!("entry point `{}` has no `[[entry_point.step]]`", name.get_ref()),
        );
    }
    Some(RawFlow {
        name,
        variables,
        steps,
        complete,
    })
}

struct EntryValidator<'s, 'k, 'p> {
    sink: Sink<'s>,
    known: &'k EntryKnown<'k>,
    prompts: Prompts<'p>,
    schedules: Vec<Schedule>,
    schedules_complete: bool,
    flow_names: Vec<String>,
    flows_complete: bool,
}

impl EntryValidator<'_, '_, '_> {
    fn schedules(&mut self, raws: &[RawSchedule]) {
        let mut seen = HashSet::new();
        for r in raws {
            let before = self.sink.errors.len();
            if !seen.insert(r.name.get_ref().clone()) {
                self.sink.push(
                    &r.name.span(),
                    ErrorKind::Duplicate,
                    format!("schedule `{}` is defined twice", r.name.get_ref()),
                );
            }
            let zone = match schedule::zone(r.zone.get_ref()) {
                Ok(z) => Some(z),
                Err(m) => {
                    self.sink.push(&r.zone.span(), ErrorKind::InvalidValue, m);
                    None
                }
            };
            let days = [
                &r.monday,
                &r.tuesday,
                &r.wednesday,
                &r.thursday,
                &r.friday,
                &r.saturday,
                &r.sunday,
            ];
            let mut week: [Vec<schedule::OpenRange>; 7] = Default::default();
            for (i, day) in days.iter().enumerate() {
                for range in day.iter().flatten() {
                    match schedule::parse_range(range.get_ref()) {
                        Ok(o) => {
                            if week[i].iter().any(|p| p.from < o.to && o.from < p.to) {
                                self.sink.push(
                                    &range.span(),
                                    ErrorKind::InvalidValue,
                                    format!("`{}` overlaps another range of {}", range.get_ref(), DAY_KEYS[i]),
                                );
                            }
                            week[i].push(o);
                        }
                        Err(m) => self.sink.push(&range.span(), ErrorKind::InvalidValue, m),
                    }
                }
            }
            let mut holidays = Vec::new();
            for h in &r.holidays {
                match schedule::parse_holiday(h.get_ref()) {
                    Ok(h) => holidays.push(h),
                    Err(m) => self.sink.push(&h.span(), ErrorKind::InvalidValue, m),
                }
            }
            let mut closures = Vec::new();
            if let Some(z) = &zone {
                for c in &r.closures {
                    let c_ref = c.get_ref();
                    let from = schedule::parse_local(c_ref.from.get_ref(), z);
                    let to = schedule::parse_local(c_ref.to.get_ref(), z);
                    match (from, to) {
                        (Ok(from), Ok(to)) if from < to => closures.push(Closure {
                            from,
                            to,
                            reason: c_ref.reason.clone(),
                        }),
                        (Ok(_), Ok(_)) => self.sink.push(
                            &c.span(),
                            ErrorKind::InvalidValue,
                            "a closure's `to` must come after its `from`",
                        ),
                        (Err(m), _) => self.sink.push(&c_ref.from.span(), ErrorKind::InvalidValue, m),
                        (_, Err(m)) => self.sink.push(&c_ref.to.span(), ErrorKind::InvalidValue, m),
                    }
                }
            }
            if let (Some(zone), true) = (zone, self.sink.errors.len() == before) {
                self.schedules.push(Schedule {
                    name: r.name.get_ref().clone(),
                    zone,
                    zone_name: r.zone.get_ref().clone(),
                    week,
                    holidays,
                    closures,
                });
            } else {
                self.schedules_complete = false;
            }
        }
    }

    fn flow(&mut self, raw: &RawFlow) -> Option<Flow> {
        let before = self.sink.errors.len();
        let flow = raw.name.get_ref();
        // Step names first: steps refer to later ones.
        let mut index: HashMap<&str, StepRef> = HashMap::new();
        for (i, s) in raw.steps.iter().enumerate() {
            let n = s.name.get_ref();
            if !valid_step_name(n) {
                self.sink.push(
                    &s.name.span(),
                    ErrorKind::InvalidValue,
                    format!("step `{n}` must use only letters, digits, . _ - (at most 64)"),
                );
            }
            if index.insert(n, StepRef(i)).is_some() {
                self.sink.push(
                    &s.name.span(),
                    ErrorKind::Duplicate,
                    format!("step `{n}` is defined twice in entry point `{flow}`"),
                );
            }
        }
        let variables = self.flow_variables(raw);
        let mut steps = Vec::new();
        for s in &raw.steps {
            let origin = self.sink.origin(&s.name.span());
            let mut ctx = StepCtx {
                v: self,
                index: &index,
                flow,
                step: s,
            };
            if let Some(kind) = ctx.kind() {
                steps.push(Step {
                    name: s.name.get_ref().clone(),
                    kind,
                    origin,
                });
            }
        }
        (self.sink.errors.len() == before && raw.complete).then(|| Flow {
            name: flow.clone(),
            steps,
            variables,
            origin: self.sink.origin(&raw.name.span()),
        })
    }

    /// `variables = [..]`: names of `acd.toml` variables (default: every one).
    fn flow_variables(&mut self, raw: &RawFlow) -> Vec<(String, VarType)> {
        let acd = self.known.acd;
        match &raw.variables {
            None => acd.variables.iter().map(|d| (d.name.clone(), d.var_type)).collect(),
            Some(list) => {
                let mut out = Vec::new();
                for n in list.get_ref() {
                    match acd.variable(n.get_ref()) {
                        Some(d) => out.push((d.name.clone(), d.var_type)),
                        None if !(self.known.variables)(n.get_ref()) => self.sink.push(
                            &n.span(),
                            ErrorKind::UnknownReference,
                            format!("unknown variable `{}` (not a [[variable]] of acd.toml)", n.get_ref()),
                        ),
                        None => {}
                    }
                }
                out
            }
        }
    }
}

/// Resolving one step.
struct StepCtx<'c, 's, 'k, 'p> {
    v: &'c mut EntryValidator<'s, 'k, 'p>,
    index: &'c HashMap<&'c str, StepRef>,
    flow: &'c str,
    step: &'c RawStep,
}

impl StepCtx<'_, '_, '_, '_> {
    fn push(&mut self, span: &std::ops::Range<usize>, kind: ErrorKind, msg: impl Into<String>) {
        self.v.sink.push(span, kind, msg);
    }

    /// A required field, or an error at `kind`.
    fn need<'r, T>(&mut self, field: &'r Option<Spanned<T>>, name: &str) -> Option<&'r Spanned<T>> {
        if field.is_none() {
            let k = kind_name(*self.step.kind.get_ref());
            let span = self.step.kind.span();
            self.push(&span, ErrorKind::Schema, format!("a `{k}` step needs `{name}`"));
        }
        field.as_ref()
    }

    fn goto(&mut self, target: &Spanned<String>) -> Option<StepRef> {
        let found = self.index.get(target.get_ref().as_str()).copied();
        if found.is_none() {
            let msg = format!(
                "unknown step `{}` (not a step of entry point `{}`)",
                target.get_ref(),
                self.flow
            );
            self.push(&target.span(), ErrorKind::UnknownReference, msg);
        }
        found
    }

    fn goto_field(&mut self, field: &Option<Spanned<String>>, name: &str) -> Option<StepRef> {
        let t = self.need(field, name)?;
        self.goto(t)
    }

    fn prompt(&mut self, p: &Spanned<String>) -> Option<Prompt> {
        match self.v.prompts.get(p.get_ref()) {
            Ok(p) => Some(p),
            Err(m) => {
                let kind = if m.starts_with("missing prompt") {
                    ErrorKind::UnknownReference
                } else {
                    ErrorKind::InvalidValue
                };
                self.push(&p.span(), kind, m);
                None
            }
        }
    }

    /// An optional prompt with a default name (one of the switch's own).
    fn prompt_or(&mut self, p: &Option<Spanned<String>>, default: &str) -> Option<Option<Prompt>> {
        match p {
            Some(p) => self.prompt(p).map(Some),
            None => Some(self.v.prompts.get(default).ok()),
        }
    }

    fn seconds(
        &mut self,
        v: &Option<Spanned<u64>>,
        name: &str,
        range: std::ops::RangeInclusive<u64>,
        default: Duration,
    ) -> Duration {
        match v {
            None => default,
            Some(s) if range.contains(s.get_ref()) => Duration::from_secs(*s.get_ref()),
            Some(s) => {
                let msg = format!("{name} must be within {}..={}", range.start(), range.end());
                self.push(&s.span(), ErrorKind::InvalidValue, msg);
                default
            }
        }
    }

    fn key_wait(&mut self) -> Option<KeyWait> {
        let s = self.step;
        let first = self.seconds(&s.timeout_s, "timeout_s", 1..=60, KeyWait::DEFAULT_FIRST);
        let between = self.seconds(&s.inter_digit_s, "inter_digit_s", 1..=30, KeyWait::DEFAULT_BETWEEN);
        let retries = match &s.retries {
            None => KeyWait::DEFAULT_RETRIES,
            Some(r) if *r.get_ref() <= 9 => *r.get_ref(),
            Some(r) => {
                self.push(&r.span(), ErrorKind::InvalidValue, "retries must be within 0..=9");
                KeyWait::DEFAULT_RETRIES
            }
        };
        let invalid_prompt = self.prompt_or(&s.invalid_prompt, "invalid")?;
        let no_input_prompt = self.prompt_or(&s.no_input_prompt, "no-input")?;
        Some(KeyWait {
            first,
            between,
            retries,
            invalid_prompt,
            no_input_prompt,
        })
    }

    fn queue(&mut self, q: &Spanned<String>) -> Option<QueueId> {
        let acd = self.v.known.acd;
        let found = acd
            .queues
            .iter()
            .position(|x| x.name == *q.get_ref())
            .and_then(|i| u32::try_from(i).ok())
            .map(QueueId);
        if found.is_none() && !(self.v.known.queues)(q.get_ref()) {
            let msg = format!("unknown queue `{}` (not a [[queue]] of acd.toml)", q.get_ref());
            self.push(&q.span(), ErrorKind::UnknownReference, msg);
        }
        found
    }

    fn variable(&mut self, n: &Spanned<String>) -> Option<VarType> {
        let found = self.v.known.acd.variable(n.get_ref()).map(|d| d.var_type);
        if found.is_none() && !(self.v.known.variables)(n.get_ref()) {
            let msg = format!("unknown variable `{}` (not a [[variable]] of acd.toml)", n.get_ref());
            self.push(&n.span(), ErrorKind::UnknownReference, msg);
        }
        found
    }

    fn user(&mut self, u: &Spanned<String>) -> String {
        if !(self.v.known.users)(u.get_ref()) {
            let msg = format!("unknown user `{}` (not in directory.toml)", u.get_ref());
            self.push(&u.span(), ErrorKind::UnknownReference, msg);
        }
        u.get_ref().clone()
    }

    /// The step's kind with every field checked, or `None` after reporting.
    fn kind(&mut self) -> Option<StepKind> {
        let s = self.step;
        let kind = *s.kind.get_ref();
        let ok = allowed(kind);
        for (field, span) in s.present() {
            if !ok.contains(&field) {
                self.push(
                    &span,
                    ErrorKind::Schema,
                    format!("`{field}` does not apply to a `{}` step", kind_name(kind)),
                );
            }
        }
        match kind {
            RawKind::Play => {
                let prompt = self.need(&s.prompt, "prompt").and_then(|p| self.prompt(p));
                let next = self.goto_field(&s.next, "next");
                Some(StepKind::Play {
                    prompt: prompt?,
                    next: next?,
                })
            }
            RawKind::Menu => self.menu(),
            RawKind::Collect => self.collect(),
            RawKind::Hours => {
                let schedule = self.need(&s.schedule, "schedule").and_then(|n| {
                    let found = self.v.schedules.iter().position(|x| x.name == *n.get_ref());
                    if found.is_none() && self.v.schedules_complete {
                        let msg = format!("unknown schedule `{}` (not a [[schedule]] of this file)", n.get_ref());
                        self.push(&n.span(), ErrorKind::UnknownReference, msg);
                    }
                    found
                });
                let open = self.goto_field(&s.open, "open");
                let closed = self.goto_field(&s.closed, "closed");
                let holiday = match &s.holiday {
                    Some(h) => self.goto(h),
                    None => closed,
                };
                Some(StepKind::Hours {
                    schedule: schedule?,
                    open: open?,
                    closed: closed?,
                    holiday: holiday?,
                })
            }
            RawKind::Branch => {
                let var = self.need(&s.variable, "variable");
                let ty = var.and_then(|n| self.variable(n));
                let mut cases = Vec::new();
                let mut good = true;
                if let Some(c) = self.need(&s.cases, "cases") {
                    if c.get_ref().is_empty() {
                        self.push(&c.span(), ErrorKind::InvalidValue, "`cases` needs at least one value");
                    }
                    for (value, target) in c.get_ref() {
                        if let Some(ty) = ty {
                            if let Err(e) = super::acd::validate_value(ty, value) {
                                self.push(&c.span(), ErrorKind::InvalidValue, format!("case `{value}`: {e}"));
                                good = false;
                            }
                        }
                        match self.goto(target) {
                            Some(t) => cases.push((value.clone(), t)),
                            None => good = false,
                        }
                    }
                }
                let otherwise = self.goto_field(&s.otherwise, "otherwise");
                (good && ty.is_some()).then_some(())?;
                Some(StepKind::Branch {
                    variable: var?.get_ref().clone(),
                    cases,
                    otherwise: otherwise?,
                })
            }
            RawKind::QueueState => {
                let queue = self.need(&s.queue, "queue").and_then(|q| self.queue(q));
                let test = match (self.need(&s.test, "test").map(|t| *t.get_ref()), &s.wait_s) {
                    (Some(RawQueueTest::ExpectedWaitOver), Some(w)) if (1..=86_400).contains(w.get_ref()) => {
                        Some(QueueTest::ExpectedWaitOver(Duration::from_secs(*w.get_ref())))
                    }
                    (Some(RawQueueTest::ExpectedWaitOver), Some(w)) => {
                        self.push(&w.span(), ErrorKind::InvalidValue, "wait_s must be within 1..=86400");
                        None
                    }
                    (Some(RawQueueTest::ExpectedWaitOver), None) => {
                        let span = s.kind.span();
                        self.push(&span, ErrorKind::Schema, "test `expected_wait_over` needs `wait_s`");
                        None
                    }
                    (Some(_), Some(w)) => {
                        self.push(
                            &w.span(),
                            ErrorKind::Schema,
                            "`wait_s` applies only to test `expected_wait_over`",
                        );
                        None
                    }
                    (Some(RawQueueTest::NoAgentsLoggedIn), None) => Some(QueueTest::NoAgentsLoggedIn),
                    (Some(RawQueueTest::NoAgentsAvailable), None) => Some(QueueTest::NoAgentsAvailable),
                    (None, _) => None,
                };
                let then = self.goto_field(&s.then, "then");
                let otherwise = self.goto_field(&s.otherwise, "otherwise");
                Some(StepKind::QueueState {
                    queue: queue?,
                    test: test?,
                    then: then?,
                    otherwise: otherwise?,
                })
            }
            RawKind::Set => {
                let mut values = Vec::new();
                let mut good = true;
                if let Some(vals) = self.need(&s.values, "values") {
                    if vals.get_ref().is_empty() {
                        self.push(
                            &vals.span(),
                            ErrorKind::InvalidValue,
                            "`values` needs at least one variable",
                        );
                    }
                    for (name, value) in vals.get_ref() {
                        let text = value.get_ref().text();
                        let ty = self.v.known.acd.variable(name).map(|d| d.var_type);
                        match ty {
                            Some(ty) => {
                                if let Err(e) = super::acd::validate_value(ty, &text) {
                                    self.push(&value.span(), ErrorKind::InvalidValue, format!("`{name}`: {e}"));
                                    good = false;
                                }
                            }
                            None if !(self.v.known.variables)(name) => {
                                let msg = format!("unknown variable `{name}` (not a [[variable]] of acd.toml)");
                                self.push(&vals.span(), ErrorKind::UnknownReference, msg);
                                good = false;
                            }
                            None => good = false,
                        }
                        values.push((name.clone(), text));
                    }
                }
                let next = self.goto_field(&s.next, "next");
                good.then_some(())?;
                Some(StepKind::Set { values, next: next? })
            }
            RawKind::Queue => {
                let queue = self.need(&s.queue, "queue").and_then(|q| self.queue(q));
                let priority = s.priority.as_ref().map_or(0, |p| *p.get_ref());
                Some(StepKind::Queue {
                    queue: queue?,
                    priority,
                })
            }
            RawKind::EntryPoint => {
                let target = self.need(&s.entry_point, "entry_point")?;
                let found = self.v.flow_names.iter().position(|n| n == target.get_ref());
                if found.is_none() && self.v.flows_complete {
                    let msg = format!(
                        "unknown entry point `{}` (not an [[entry_point]] of this file)",
                        target.get_ref()
                    );
                    self.push(&target.span(), ErrorKind::UnknownReference, msg);
                }
                Some(StepKind::EntryPoint { flow: FlowId(found?) })
            }
            RawKind::User => {
                let u = self.need(&s.user, "user")?;
                Some(StepKind::User {
                    extension: self.user(u),
                })
            }
            RawKind::Number => {
                let n = self.need(&s.number, "number")?;
                match crate::call::dial::DialNumber::parse(n.get_ref()) {
                    Ok(d) => Some(StepKind::Number { number: d.to_string() }),
                    Err(e) => {
                        self.push(
                            &n.span(),
                            ErrorKind::InvalidValue,
                            format!("number `{}`: {e}", n.get_ref()),
                        );
                        None
                    }
                }
            }
            RawKind::Voicemail => {
                let mailbox = match (&s.queue, &s.user) {
                    (Some(q), None) => self.queue(q).map(Mailbox::Queue),
                    (None, Some(u)) => Some(Mailbox::User(self.user(u))),
                    _ => {
                        let span = s.kind.span();
                        self.push(
                            &span,
                            ErrorKind::Schema,
                            "a `voicemail` step needs one of `queue = \"..\"` or `user = \"..\"`",
                        );
                        None
                    }
                };
                let prompt = self.prompt_or(&s.prompt, "leave-message")?;
                Some(StepKind::Voicemail {
                    mailbox: mailbox?,
                    prompt: prompt?,
                })
            }
            RawKind::Hangup => {
                let prompt = match &s.prompt {
                    Some(p) => Some(self.prompt(p)?),
                    None => None,
                };
                Some(StepKind::Hangup { prompt })
            }
        }
    }

    fn menu(&mut self) -> Option<StepKind> {
        let s = self.step;
        let prompt = self.need(&s.prompt, "prompt").and_then(|p| self.prompt(p));
        let mut choices = Vec::new();
        let mut good = true;
        if let Some(c) = self.need(&s.choices, "choices") {
            if c.get_ref().is_empty() {
                self.push(&c.span(), ErrorKind::InvalidValue, "`choices` needs at least one key");
                good = false;
            }
            for (keys, target) in c.get_ref() {
                if !valid_keys(keys) {
                    self.push(
                        &target.span(),
                        ErrorKind::InvalidValue,
                        format!("choice `{keys}` must be 1 to 8 keys of 0-9 * #"),
                    );
                    good = false;
                }
                match self.goto(target) {
                    Some(t) => choices.push((keys.clone(), t)),
                    None => good = false,
                }
            }
        } else {
            good = false;
        }
        let wait = self.key_wait();
        let otherwise = self.goto_field(&s.otherwise, "otherwise");
        let no_input = match &s.no_input {
            Some(n) => self.goto(n),
            None => otherwise,
        };
        good.then_some(())?;
        Some(StepKind::Menu {
            prompt: prompt?,
            choices,
            wait: wait?,
            otherwise: otherwise?,
            no_input: no_input?,
        })
    }

    fn collect(&mut self) -> Option<StepKind> {
        let s = self.step;
        let prompt = self.need(&s.prompt, "prompt").and_then(|p| self.prompt(p));
        let var = self.need(&s.variable, "variable");
        let ty = var.and_then(|n| self.variable(n));
        if let (Some(ty), Some(n)) = (ty, var) {
            if !matches!(ty, VarType::String | VarType::Integer) {
                self.push(
                    &n.span(),
                    ErrorKind::InvalidValue,
                    format!("keys go into a string or integer variable; `{}` is {ty}", n.get_ref()),
                );
            }
        }
        let min = s.min_digits.as_ref().map_or(1, |m| *m.get_ref());
        let max = self.need(&s.max_digits, "max_digits").map(|m| *m.get_ref());
        let mut good = true;
        if let Some(m) = &s.max_digits {
            if !(1..=32).contains(m.get_ref()) {
                self.push(&m.span(), ErrorKind::InvalidValue, "max_digits must be within 1..=32");
                good = false;
            }
        }
        if let (Some(m), Some(max)) = (&s.min_digits, max) {
            if *m.get_ref() == 0 || *m.get_ref() > max {
                self.push(
                    &m.span(),
                    ErrorKind::InvalidValue,
                    "min_digits must be within 1..=max_digits",
                );
                good = false;
            }
        }
        let terminator = match &s.terminator {
            None => Some('#'),
            Some(t) if t.get_ref().is_empty() => None,
            Some(t) if matches!(t.get_ref().as_str(), "#" | "*") => t.get_ref().chars().next(),
            Some(t) => {
                self.push(
                    &t.span(),
                    ErrorKind::InvalidValue,
                    "terminator must be \"#\", \"*\" or \"\" (none)",
                );
                good = false;
                None
            }
        };
        let wait = self.key_wait();
        let next = self.goto_field(&s.next, "next");
        let otherwise = self.goto_field(&s.otherwise, "otherwise");
        (good && ty.is_some_and(|t| matches!(t, VarType::String | VarType::Integer))).then_some(())?;
        Some(StepKind::Collect {
            prompt: prompt?,
            variable: var?.get_ref().clone(),
            min_digits: min,
            max_digits: max?,
            terminator,
            wait: wait?,
            next: next?,
            otherwise: otherwise?,
        })
    }
}
