//! The dial plan: ordered routing rules per context, and the pure
//! [`DialPlan::route`] lookup the engine calls for every new call.
//!
//! A call arrives in a *context* (the profile's for phones, the trunk's for
//! inbound trunk calls). Rules of that context are tried in file order and
//! the first whose `match` accepts the dialled user part wins. Its rewrite
//! turns the dialled number into the target, in this order:
//!
//! 1. `replace` (regex rules only): the target becomes `replace` with `$1`,
//!    `${name}` expanded from the match's capture groups;
//! 2. `strip = N`: drop the first N characters (all of them if shorter);
//! 3. `prefix = ".."`: prepend a string.
//!
//! The action is a typed [`Action`]; `trunk` takes one trunk or a list
//! ([`TrunkGroup`]: ordered failover, or weighted); `queue` names a queue of `acd.toml`,
//! `conference` makes the call a meet-me room's (optional PIN, most callers). Everything is
//! validated at load: a bad regex, an unknown trunk, user or queue, a reject
//! code outside 400..=699 are config errors, never run-time surprises.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use regex::Regex;
use toml::Spanned;

use super::error::{ErrorKind, Sink};
use super::model::{RawActionKind, RawMatch, RawRule};
use crate::sip::msg::StatusCode;

/// The most callers a meet-me room holds: the conference bridge's size
/// (CALL-CONF-1; the same eight as `call::MAX_PARTIES`).
pub const MAX_ROOM_PARTIES: usize = 8;

/// How a rule recognises a dialled user part.
#[derive(Debug, Clone)]
pub enum Match {
    /// The whole user part equals this string.
    Exact(String),
    /// The user part starts with this string (an empty prefix matches all).
    Prefix(String),
    /// The regex finds a match in the user part (anchor it with `^…$` to
    /// match the whole number).
    Regex(Regex),
}

impl Match {
    fn accepts(&self, dialled: &str) -> bool {
        match self {
            Match::Exact(s) => dialled == s,
            Match::Prefix(p) => dialled.starts_with(p.as_str()),
            Match::Regex(re) => re.is_match(dialled),
        }
    }
}

/// The rewrite a rule applies to the dialled number (see the module docs for
/// the order).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rewrite {
    /// Regex substitution template (`$1`, `${name}`); only on regex rules.
    pub replace: Option<String>,
    /// Number of leading characters to drop.
    pub strip: usize,
    /// String to prepend after stripping.
    pub prefix: String,
}

/// What to do with a call that matched a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Action {
    /// Ring a directory user: the one named here, or else the user whose
    /// extension is the rewritten number.
    User {
        /// Fixed extension from `user = "1001"`, checked against the
        /// directory at load.
        user: Option<String>,
    },
    /// Send the call out through a trunk of `trunks.toml` (checked at load);
    /// the rewritten number becomes the Request-URI user part.
    Trunk {
        /// Trunk name.
        name: String,
    },
    /// Send the call out through one of several trunks (`trunks = [..]`,
    /// issue 10 item 5): trunks marked down by their OPTIONS keepalive are
    /// skipped, and a 5xx, 408 or no answer from one fails over to the next
    /// (engine/trunk_route.rs).
    Trunks {
        /// The trunks and how the first is chosen.
        group: TrunkGroup,
    },
    /// Answer with a final error response.
    Reject {
        /// Status code, 400..=699.
        code: StatusCode,
        /// Reason phrase (defaults to the canonical one for `code`).
        reason: String,
    },
    /// Place the call in an ACD queue of `acd.toml` (checked at load; see
    /// [`super::AcdSettings::queue_by_name`]).
    Queue {
        /// Queue name.
        name: String,
    },
    /// Lead the caller into an entry point of `entrypoints.toml` (issue 14:
    /// prompts, menus, business hours; checked at load).
    EntryPoint {
        /// The entry point's name.
        name: String,
    },
    /// Join a meet-me conference room (issue 9, CALL-CONF-1): the switch
    /// answers the call itself and puts the caller on the room's bridge.
    Conference {
        /// The room: `conference = ".."` when set, else the rewritten
        /// number (so one regex rule serves a range of rooms).
        room: Option<String>,
        /// The PIN a caller keys in (RFC 4733 DTMF) before joining; `None`:
        /// open room.
        pin: Option<String>,
        /// At most this many callers in the room at once, 2..=8
        /// (CALL-CONF-1's bridge size); default 8.
        max_parties: usize,
    },
}

/// The trunks of a `trunks = [..]` rule, each checked against
/// `trunks.toml` at load, at least one, no name twice.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TrunkGroup {
    /// `trunks = ["a", "b"]`: tried in this order.
    Ordered(Vec<String>),
    /// `trunks = [{ name = "a", weight = 3 }, ..]`: the first trunk tried is
    /// picked by smooth weighted round robin over the trunks that are up
    /// (weights 1..=1000), the rest follow in the listed order.
    Weighted(Vec<(String, u32)>),
}

impl TrunkGroup {
    /// The trunk names in the listed order.
    pub fn names(&self) -> Vec<&str> {
        match self {
            TrunkGroup::Ordered(n) => n.iter().map(String::as_str).collect(),
            TrunkGroup::Weighted(w) => w.iter().map(|(n, _)| n.as_str()).collect(),
        }
    }
}

/// The largest weight of a weighted trunk list.
pub const MAX_TRUNK_WEIGHT: u32 = 1000;

/// One validated dial-plan rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Optional label for logs.
    pub name: Option<String>,
    /// The condition.
    pub matcher: Match,
    /// The number rewrite.
    pub rewrite: Rewrite,
    /// The action.
    pub action: Action,
    /// Per-rule no-answer timeout, overriding the user's and the default.
    pub no_answer_timeout: Option<Duration>,
    /// Record calls taking this rule (spec CALL-REC-1).
    pub record: bool,
    /// Remove background noise on both legs of calls taking this rule
    /// (spec CALL-NOISE-1).
    pub noise_removal: bool,
}

impl Rule {
    /// The rewritten number if this rule matches `dialled`.
    pub fn apply(&self, dialled: &str) -> Option<String> {
        if !self.matcher.accepts(dialled) {
            return None;
        }
        let mut target = match (&self.matcher, &self.rewrite.replace) {
            (Match::Regex(re), Some(template)) => {
                let caps = re.captures(dialled)?;
                let mut out = String::new();
                caps.expand(template, &mut out);
                out
            }
            _ => dialled.to_owned(),
        };
        if self.rewrite.strip > 0 {
            target = target.chars().skip(self.rewrite.strip).collect();
        }
        if !self.rewrite.prefix.is_empty() {
            target.insert_str(0, &self.rewrite.prefix);
        }
        Some(target)
    }
}

/// The outcome of routing one call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// What to do.
    pub action: Action,
    /// The rewritten number; for [`Action::User`] with a named user, that
    /// user's extension.
    pub target: String,
    /// Index of the matching rule within its context (0-based, file order).
    pub rule_index: usize,
    /// How long to ring before giving up: the rule's `no_answer_timeout_s`,
    /// else the target user's, else the dial plan default.
    pub no_answer_timeout: Duration,
    /// The rule's `record`.
    pub record: bool,
    /// The rule's `noise_removal`.
    pub noise_removal: bool,
}

/// All contexts of `dialplan.toml`, validated.
#[derive(Debug, Clone)]
pub struct DialPlan {
    pub(crate) contexts: BTreeMap<String, Vec<Rule>>,
    pub(crate) default_no_answer_timeout: Duration,
    /// Per-user timeouts copied from the directory, so routing stays a pure
    /// function of the dial plan.
    pub(crate) user_timeouts: HashMap<String, Duration>,
}

impl DialPlan {
    /// Default ring time when neither the rule nor the user sets one.
    pub const DEFAULT_NO_ANSWER_TIMEOUT: Duration = Duration::from_secs(30);

    /// Routes a call that arrived in `context` for `dialled_user`: the first
    /// matching rule wins; `None` when the context is unknown or no rule
    /// matches (the engine answers 404).
    pub fn route(&self, context: &str, dialled_user: &str) -> Option<Route> {
        let rules = self.contexts.get(context)?;
        rules.iter().enumerate().find_map(|(rule_index, rule)| {
            let rewritten = rule.apply(dialled_user)?;
            let target = match &rule.action {
                Action::User { user: Some(u) } => u.clone(),
                _ => rewritten,
            };
            let user_timeout = match rule.action {
                Action::User { .. } => self.user_timeouts.get(&target).copied(),
                _ => None,
            };
            Some(Route {
                action: rule.action.clone(),
                no_answer_timeout: rule
                    .no_answer_timeout
                    .or(user_timeout)
                    .unwrap_or(self.default_no_answer_timeout),
                record: rule.record,
                noise_removal: rule.noise_removal,
                target,
                rule_index,
            })
        })
    }

    /// The rules of one context, in order.
    pub fn context(&self, name: &str) -> Option<&[Rule]> {
        self.contexts.get(name).map(Vec::as_slice)
    }

    /// Names of all contexts, sorted.
    pub fn context_names(&self) -> impl Iterator<Item = &str> {
        self.contexts.keys().map(String::as_str)
    }

    /// The default no-answer timeout of the dial plan.
    pub fn default_no_answer_timeout(&self) -> Duration {
        self.default_no_answer_timeout
    }

    /// How long user `extension`'s phones ring: its own time, else the default.
    pub fn no_answer_timeout_of_user(&self, extension: &str) -> Duration {
        self.user_timeouts
            .get(extension)
            .copied()
            .unwrap_or(self.default_no_answer_timeout)
    }
}

/// What a rule may refer to, for load-time checks.
pub(crate) struct Known<'a> {
    /// Trunk names.
    pub trunks: &'a dyn Fn(&str) -> bool,
    /// User extensions.
    pub users: &'a dyn Fn(&str) -> bool,
    /// ACD queue names (`acd.toml`).
    pub queues: &'a dyn Fn(&str) -> bool,
    /// Entry point names (`entrypoints.toml`).
    pub entry_points: &'a dyn Fn(&str) -> bool,
}

/// Validates one raw rule, recording every problem in `sink`.
pub(crate) fn build_rule(raw: RawRule, known: &Known<'_>, sink: &mut Sink<'_>) -> Option<Rule> {
    let before = sink.errors.len();
    let match_span = raw.matcher.span();
    let matcher = match raw.matcher.into_inner() {
        RawMatch::Exact(s) => Match::Exact(s),
        RawMatch::Prefix(s) => Match::Prefix(s),
        RawMatch::Regex(s) => match Regex::new(&s) {
            Ok(re) => Match::Regex(re),
            Err(e) => {
                let first = e.to_string();
                let msg = first.lines().last().unwrap_or("invalid regex").trim();
                sink.push(&match_span, ErrorKind::InvalidValue, format!("bad regex `{s}`: {msg}"));
                Match::Exact(String::new())
            }
        },
    };
    if let Some(rep) = &raw.replace {
        match &matcher {
            Match::Regex(re) => {
                if let Err(m) = check_template(re, rep.get_ref()) {
                    sink.push(&rep.span(), ErrorKind::InvalidValue, m);
                }
            }
            _ => sink.push(
                &rep.span(),
                ErrorKind::InvalidValue,
                "`replace` needs a regex match (`match = { regex = \"..\" }`)",
            ),
        }
    }
    let rewrite = Rewrite {
        replace: raw.replace.map(Spanned::into_inner),
        strip: raw.strip.map_or(0, |s| s.into_inner() as usize),
        prefix: raw.prefix.map(Spanned::into_inner).unwrap_or_default(),
    };

    let kind = *raw.action.get_ref();
    let action_span = raw.action.span();
    // Each action takes its own fields; any other is a mistake worth reporting.
    let extras: [(&str, Option<std::ops::Range<usize>>, bool); 10] = [
        (
            "user",
            raw.user.as_ref().map(Spanned::span),
            kind == RawActionKind::User,
        ),
        (
            "trunk",
            raw.trunk.as_ref().map(Spanned::span),
            kind == RawActionKind::Trunk,
        ),
        (
            "trunks",
            raw.trunks.as_ref().map(Spanned::span),
            kind == RawActionKind::Trunk,
        ),
        (
            "queue",
            raw.queue.as_ref().map(Spanned::span),
            kind == RawActionKind::Queue,
        ),
        (
            "entry_point",
            raw.entry_point.as_ref().map(Spanned::span),
            kind == RawActionKind::EntryPoint,
        ),
        (
            "conference",
            raw.conference.as_ref().map(Spanned::span),
            kind == RawActionKind::Conference,
        ),
        (
            "pin",
            raw.pin.as_ref().map(Spanned::span),
            kind == RawActionKind::Conference,
        ),
        (
            "max_parties",
            raw.max_parties.as_ref().map(Spanned::span),
            kind == RawActionKind::Conference,
        ),
        (
            "code",
            raw.code.as_ref().map(Spanned::span),
            kind == RawActionKind::Reject,
        ),
        (
            "reason",
            raw.reason.as_ref().map(Spanned::span),
            kind == RawActionKind::Reject,
        ),
    ];
    for (field, span, allowed) in extras {
        if let (Some(span), false) = (span, allowed) {
            sink.push(
                &span,
                ErrorKind::Schema,
                format!("`{field}` does not apply to action `{}`", action_name(kind)),
            );
        }
    }
    let required = |sink: &mut Sink<'_>, v: Option<Spanned<String>>, field: &str| match v {
        Some(v) => Some(v),
        None => {
            sink.push(
                &action_span,
                ErrorKind::Schema,
                format!("action `{}` needs `{field} = \"..\"`", action_name(kind)),
            );
            None
        }
    };
    let action = match kind {
        RawActionKind::User => {
            if let Some(u) = &raw.user {
                if !(known.users)(u.get_ref()) {
                    sink.push(
                        &u.span(),
                        ErrorKind::UnknownReference,
                        format!("unknown user `{}` (not in directory.toml)", u.get_ref()),
                    );
                }
            }
            Action::User {
                user: raw.user.map(Spanned::into_inner),
            }
        }
        RawActionKind::Trunk => trunk_action(sink, known, action_span.clone(), raw.trunk, raw.trunks)?,
        RawActionKind::Reject => {
            let Some(code) = raw.code else {
                sink.push(
                    &action_span,
                    ErrorKind::Schema,
                    "action `reject` needs `code = 4xx..6xx`",
                );
                return None;
            };
            let c = *code.get_ref();
            let status = StatusCode::new(c).filter(|_| (400..=699).contains(&c));
            let Some(status) = status else {
                sink.push(
                    &code.span(),
                    ErrorKind::InvalidValue,
                    format!("reject code {c} is outside 400..=699"),
                );
                return None;
            };
            Action::Reject {
                code: status,
                reason: raw
                    .reason
                    .map(Spanned::into_inner)
                    .unwrap_or_else(|| status.canonical_reason().to_owned()),
            }
        }
        RawActionKind::Queue => {
            let q = required(sink, raw.queue, "queue")?;
            if !(known.queues)(q.get_ref()) {
                sink.push(
                    &q.span(),
                    ErrorKind::UnknownReference,
                    format!("unknown queue `{}` (not a [[queue]] of acd.toml)", q.get_ref()),
                );
            }
            Action::Queue { name: q.into_inner() }
        }
        RawActionKind::Conference => conference_action(sink, raw.conference, raw.pin, raw.max_parties)?,
        RawActionKind::EntryPoint => {
            let e = required(sink, raw.entry_point, "entry_point")?;
            if !(known.entry_points)(e.get_ref()) {
                sink.push(
                    &e.span(),
                    ErrorKind::UnknownReference,
                    format!(
                        "unknown entry point `{}` (not an [[entry_point]] of entrypoints.toml)",
                        e.get_ref()
                    ),
                );
            }
            Action::EntryPoint { name: e.into_inner() }
        }
    };
    let no_answer_timeout = match raw.no_answer_timeout_s {
        Some(t) if *t.get_ref() == 0 => {
            sink.push(
                &t.span(),
                ErrorKind::InvalidValue,
                "no_answer_timeout_s must be at least 1",
            );
            None
        }
        Some(t) => Some(Duration::from_secs(t.into_inner())),
        None => None,
    };
    (sink.errors.len() == before).then_some(Rule {
        name: raw.name,
        matcher,
        rewrite,
        action,
        no_answer_timeout,
        record: raw.record,
        noise_removal: raw.noise_removal,
    })
}

/// The `conference` action's fields: a PIN of 1 to 16 digits `0`-`9`
/// (what every phone's keypad sends as RFC 4733 events), at most
/// [`MAX_ROOM_PARTIES`] callers.
fn conference_action(
    sink: &mut Sink<'_>,
    room: Option<Spanned<String>>,
    pin: Option<Spanned<String>>,
    max_parties: Option<Spanned<u32>>,
) -> Option<Action> {
    let before = sink.errors.len();
    if let Some(r) = &room {
        if r.get_ref().trim().is_empty() {
            sink.push(&r.span(), ErrorKind::InvalidValue, "conference room name is empty");
        }
    }
    if let Some(p) = &pin {
        let ok = (1..=16).contains(&p.get_ref().len()) && p.get_ref().bytes().all(|b| b.is_ascii_digit());
        if !ok {
            sink.push(
                &p.span(),
                ErrorKind::InvalidValue,
                "conference pin must be 1 to 16 digits 0-9",
            );
        }
    }
    let max = MAX_ROOM_PARTIES as u32;
    let max_parties = match max_parties {
        Some(m) if !(2..=max).contains(m.get_ref()) => {
            sink.push(
                &m.span(),
                ErrorKind::InvalidValue,
                format!("max_parties must be 2 to {max} (the conference bridge's size)"),
            );
            max
        }
        Some(m) => m.into_inner(),
        None => max,
    };
    (sink.errors.len() == before).then(|| Action::Conference {
        room: room.map(Spanned::into_inner),
        pin: pin.map(Spanned::into_inner),
        max_parties: max_parties as usize,
    })
}

/// The `trunk` action: `trunk = "a"` or `trunks = [..]` (not both), every
/// name a trunk of `trunks.toml`.
fn trunk_action(
    sink: &mut Sink<'_>,
    known: &Known<'_>,
    action_span: std::ops::Range<usize>,
    trunk: Option<Spanned<String>>,
    trunks: Option<Spanned<Vec<Spanned<toml::Value>>>>,
) -> Option<Action> {
    let check = |sink: &mut Sink<'_>, name: &str, span: &std::ops::Range<usize>| {
        if !(known.trunks)(name) {
            sink.push(
                span,
                ErrorKind::UnknownReference,
                format!("unknown trunk `{name}` (not in trunks.toml)"),
            );
        }
    };
    let list = match (trunk, trunks) {
        (Some(t), None) => {
            check(sink, t.get_ref(), &t.span());
            return Some(Action::Trunk { name: t.into_inner() });
        }
        (Some(t), Some(_)) => {
            sink.push(
                &t.span(),
                ErrorKind::Schema,
                "use either `trunk = \"..\"` or `trunks = [..]`, not both",
            );
            return None;
        }
        (None, None) => {
            sink.push(
                &action_span,
                ErrorKind::Schema,
                "action `trunk` needs `trunk = \"..\"` or `trunks = [..]`",
            );
            return None;
        }
        (None, Some(list)) => list,
    };
    let before = sink.errors.len();
    let list_span = list.span();
    let elements = list.into_inner();
    if elements.is_empty() {
        sink.push(&list_span, ErrorKind::InvalidValue, "`trunks` lists no trunk");
        return None;
    }
    // (name, weight): a bare name has no weight.
    let mut parsed: Vec<(String, Option<u32>)> = Vec::new();
    for el in &elements {
        let span = el.span();
        let entry = match el.get_ref() {
            toml::Value::String(name) => Some((name.clone(), None)),
            toml::Value::Table(t) => weighted_entry(sink, t, &span),
            _ => {
                sink.push(
                    &span,
                    ErrorKind::InvalidValue,
                    "a `trunks` entry is a trunk name or `{ name = \"..\", weight = N }`",
                );
                None
            }
        };
        let Some((name, weight)) = entry else { continue };
        if parsed.iter().any(|(n, _)| *n == name) {
            sink.push(&span, ErrorKind::Duplicate, format!("trunk `{name}` is listed twice"));
            continue;
        }
        check(sink, &name, &span);
        parsed.push((name, weight));
    }
    let weighted = parsed.iter().filter(|(_, w)| w.is_some()).count();
    if weighted != 0 && weighted != parsed.len() {
        sink.push(
            &list_span,
            ErrorKind::InvalidValue,
            "`trunks` mixes names and `{ name, weight }` tables: give every trunk a weight, or none",
        );
    }
    if sink.errors.len() != before {
        return None;
    }
    let group = if weighted == 0 {
        TrunkGroup::Ordered(parsed.into_iter().map(|(n, _)| n).collect())
    } else {
        TrunkGroup::Weighted(parsed.into_iter().map(|(n, w)| (n, w.unwrap_or(1))).collect())
    };
    Some(Action::Trunks { group })
}

/// One `{ name = "..", weight = N }` of a weighted `trunks` list.
fn weighted_entry(
    sink: &mut Sink<'_>,
    t: &toml::map::Map<String, toml::Value>,
    span: &std::ops::Range<usize>,
) -> Option<(String, Option<u32>)> {
    if let Some(k) = t.keys().find(|k| *k != "name" && *k != "weight") {
        sink.push(
            span,
            ErrorKind::Schema,
            format!("unknown key `{k}` in a `trunks` entry, expected `name` and `weight`"),
        );
        return None;
    }
    let Some(toml::Value::String(name)) = t.get("name") else {
        sink.push(span, ErrorKind::Schema, "a `trunks` entry needs `name = \"..\"`");
        return None;
    };
    let weight = match t.get("weight") {
        Some(toml::Value::Integer(w)) if (1..=i64::from(MAX_TRUNK_WEIGHT)).contains(w) => *w as u32,
        Some(_) => {
            sink.push(
                span,
                ErrorKind::InvalidValue,
                format!("trunk `{name}`: weight must be an integer 1..={MAX_TRUNK_WEIGHT}"),
            );
            return None;
        }
        None => {
            sink.push(
                span,
                ErrorKind::Schema,
                format!("trunk `{name}` needs `weight = N` (1..={MAX_TRUNK_WEIGHT})"),
            );
            return None;
        }
    };
    Some((name.clone(), Some(weight)))
}

fn action_name(kind: RawActionKind) -> &'static str {
    match kind {
        RawActionKind::User => "user",
        RawActionKind::Trunk => "trunk",
        RawActionKind::Reject => "reject",
        RawActionKind::Queue => "queue",
        RawActionKind::Conference => "conference",
        RawActionKind::EntryPoint => "entry_point",
    }
}

/// Checks that every `$group` reference of a `replace` template exists in
/// the regex (the regex crate would silently expand a missing one to "").
fn check_template(re: &Regex, template: &str) -> Result<(), String> {
    let bytes = template.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'$' {
            i += 1;
            continue;
        }
        i += 1;
        let name = if bytes.get(i) == Some(&b'$') {
            i += 1;
            continue;
        } else if bytes.get(i) == Some(&b'{') {
            let Some(end) = template[i..].find('}') else {
                return Err(format!("unclosed `${{` in replace `{template}`"));
            };
            let n = &template[i + 1..i + end];
            i += end + 1;
            n
        } else {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            &template[start..i]
        };
        if name.is_empty() {
            continue; // a lone `$` is copied literally
        }
        let exists = match name.parse::<usize>() {
            Ok(n) => n < re.captures_len(),
            Err(_) => re.capture_names().flatten().any(|c| c == name),
        };
        if !exists {
            return Err(format!(
                "replace `{template}` refers to group `{name}`, which the regex does not have"
            ));
        }
    }
    Ok(())
}
