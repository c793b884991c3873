//! Validation of `entrypoints.toml` (optional) into [`EntryPoints`]: the
//! `[[schedule]]`s, then every `[[entry_point]]` with its
//! `[[entry_point.step]]`s (resolved in `entry_steps.rs`), each
//! deserialized on its own so one bad step does not hide the next. Every
//! field is checked against its step kind (a field another kind takes is
//! reported, not ignored), every reference resolved (step names within
//! the flow, entry points, queues and variables of `acd.toml`, directory
//! users, schedules) and every prompt loaded and decoded (a missing one or one in another format than 8 kHz
//! mono 16-bit PCM WAV is an error at the name). Then `entry_check.rs`
//! looks at the flows as a graph.
//!
//! Prompts: `prompts_dir = ".."` (relative to the configuration directory)
//! holds the admin's `<name>.wav`; a name not found there is one of the
//! switch's own prompts (`media/prompts/`, embedded).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use toml::de::DeValue;
use toml::Spanned;

use super::acd::AcdSettings;
use super::entry::{EntryPoints, Flow, Prompt, Step, StepRef};
use super::error::{ErrorKind, Sink};
use super::load::{de, elements, unknown_key, Builder};
use super::schedule::{self, Closure, Schedule, DAY_KEYS};
use crate::acd::VarType;

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

/// One `[[entry_point]]` before its steps are resolved.
struct RawFlow {
    name: Spanned<String>,
    variables: Option<Spanned<Vec<Spanned<String>>>>,
    steps: Vec<super::entry_steps::RawStep>,
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
pub(super) fn valid_step_name(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// Loads and decodes prompts by name, each once.
pub(super) struct Prompts<'p> {
    dir: Option<PathBuf>,
    cache: HashMap<String, Result<Arc<[i16]>, String>>,
    _p: std::marker::PhantomData<&'p ()>,
}

impl Prompts<'_> {
    pub(super) fn get(&mut self, name: &str) -> Result<Prompt, String> {
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
                    match de::<super::entry_steps::RawStep>(s, sink) {
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

/// What the steps are checked against while a file loads.
pub(super) struct EntryValidator<'s, 'k, 'p> {
    pub(super) sink: Sink<'s>,
    pub(super) known: &'k EntryKnown<'k>,
    pub(super) prompts: Prompts<'p>,
    pub(super) schedules: Vec<Schedule>,
    pub(super) schedules_complete: bool,
    pub(super) flow_names: Vec<String>,
    pub(super) flows_complete: bool,
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
            let mut ctx = super::entry_steps::StepCtx {
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
