//! The steps of `entrypoints.toml` (issue 14 item 1): the raw
//! `[[entry_point.step]]` table (every field any kind takes) and its
//! resolution into a typed [`StepKind`]: each field checked against the
//! step's kind (a field another kind takes is an error, not ignored),
//! each reference resolved (steps of the flow, queues and variables of
//! `acd.toml`, directory users, schedules, entry points, prompts). The
//! file's other sections and the flows around the steps are
//! `entry_load.rs`'s.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::entry::{FlowId, KeyWait, Mailbox, Prompt, QueueTest, StepKind, StepRef};
use super::entry_load::EntryValidator;
use super::error::ErrorKind;
use crate::acd::{QueueId, VarType};

/// `kind = ".."` of a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum RawKind {
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
pub(super) enum RawQueueTest {
    NoAgentsLoggedIn,
    NoAgentsAvailable,
    ExpectedWaitOver,
}

/// A value of a `set` step.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub(super) enum RawScalar {
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
pub(super) struct RawStep {
    pub(super) name: Spanned<String>,
    pub(super) kind: Spanned<RawKind>,
    pub(super) prompt: Option<Spanned<String>>,
    pub(super) next: Option<Spanned<String>>,
    pub(super) choices: Option<Spanned<BTreeMap<String, Spanned<String>>>>,
    pub(super) otherwise: Option<Spanned<String>>,
    pub(super) no_input: Option<Spanned<String>>,
    pub(super) timeout_s: Option<Spanned<u64>>,
    pub(super) inter_digit_s: Option<Spanned<u64>>,
    pub(super) retries: Option<Spanned<u32>>,
    pub(super) invalid_prompt: Option<Spanned<String>>,
    pub(super) no_input_prompt: Option<Spanned<String>>,
    pub(super) variable: Option<Spanned<String>>,
    pub(super) min_digits: Option<Spanned<usize>>,
    pub(super) max_digits: Option<Spanned<usize>>,
    pub(super) terminator: Option<Spanned<String>>,
    pub(super) schedule: Option<Spanned<String>>,
    pub(super) open: Option<Spanned<String>>,
    pub(super) closed: Option<Spanned<String>>,
    pub(super) holiday: Option<Spanned<String>>,
    pub(super) cases: Option<Spanned<BTreeMap<String, Spanned<String>>>>,
    pub(super) queue: Option<Spanned<String>>,
    pub(super) test: Option<Spanned<RawQueueTest>>,
    pub(super) wait_s: Option<Spanned<u64>>,
    pub(super) then: Option<Spanned<String>>,
    pub(super) values: Option<Spanned<BTreeMap<String, Spanned<RawScalar>>>>,
    pub(super) priority: Option<Spanned<u8>>,
    pub(super) min_skill: Option<Spanned<u8>>,
    pub(super) entry_point: Option<Spanned<String>>,
    pub(super) user: Option<Spanned<String>>,
    pub(super) number: Option<Spanned<String>>,
}

/// The fields each kind takes besides `name` and `kind`.
pub(super) fn allowed(kind: RawKind) -> &'static [&'static str] {
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
        RawKind::Queue => &["queue", "priority", "min_skill"],
        RawKind::EntryPoint => &["entry_point"],
        RawKind::User => &["user"],
        RawKind::Number => &["number"],
        RawKind::Voicemail => &["queue", "user", "prompt"],
        RawKind::Hangup => &["prompt"],
    }
}

pub(super) fn kind_name(kind: RawKind) -> &'static str {
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
            ("min_skill", s(&self.min_skill)),
            ("entry_point", s(&self.entry_point)),
            ("user", s(&self.user)),
            ("number", s(&self.number)),
        ];
        all.into_iter().filter_map(|(k, v)| Some((k, v?))).collect()
    }
}

/// Menu choices: 1 to 8 keys of `0-9 * #`.
fn valid_keys(s: &str) -> bool {
    (1..=8).contains(&s.len()) && s.chars().all(|c| c.is_ascii_digit() || c == '*' || c == '#')
}

/// Resolving one step.
pub(super) struct StepCtx<'c, 's, 'k, 'p> {
    pub(super) v: &'c mut EntryValidator<'s, 'k, 'p>,
    pub(super) index: &'c HashMap<&'c str, StepRef>,
    pub(super) flow: &'c str,
    pub(super) step: &'c RawStep,
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
    pub(super) fn kind(&mut self) -> Option<StepKind> {
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
                let min_skill = match &s.min_skill {
                    None => 0,
                    Some(m) if !(1..=10).contains(m.get_ref()) => {
                        self.push(&m.span(), ErrorKind::InvalidValue, "min_skill must be within 1..=10");
                        0
                    }
                    Some(m) => {
                        let level = *m.get_ref();
                        // Someone must be able to take the caller.
                        let served = queue.is_some_and(|q| {
                            self.v
                                .known
                                .acd
                                .agents
                                .iter()
                                .any(|a| a.skills.iter().any(|(sq, l)| *sq == q && *l >= level))
                        });
                        if queue.is_some() && !served {
                            let msg = format!("no agent serves this queue with a skill of {level} or more: nobody could take the caller");
                            self.push(&m.span(), ErrorKind::InvalidValue, msg);
                        }
                        level
                    }
                };
                Some(StepKind::Queue {
                    queue: queue?,
                    priority,
                    min_skill,
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
