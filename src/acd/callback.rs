//! Callback requests (spec CB-1..CB-5) as a pure model: what a callback
//! is ([`Callback`]), the exact CB-3 validation of a request
//! ([`validate`], one function, every refusal naming the request field in
//! the words of the rule), the CB-4 edit and delete window
//! ([`CallbackBook::edit`], [`CallbackBook::delete`]) and the book of every
//! callback with its idempotency keys (CB-8: a retried create returns the
//! callback made the first time). No clock: every time comes in as unix
//! milliseconds, so the 30-minute and 31-day edges are tested to the
//! millisecond, and local times are converted with jiff's bundled tzdb.
//!
//! Placing a callback (OFFER-6 offers, CB-6, CB-7) is not here yet: the
//! book says which callbacks are due ([`CallbackBook::due`]) and when the
//! next one will be ([`CallbackBook::next_due_ms`]), the hook the placing
//! code drives.
//!
//! Choices where the spec is silent (also in the OpenAPI document):
//! - Characters are counted as typed (Unicode scalar values, not bytes),
//!   nothing is trimmed: a name of 3 spaces is refused as blank, ` Al` is 3
//!   characters. Names refuse control characters.
//! - A number is 7 to 15 characters of digits, spaces, `-`, `,`, `.`, with
//!   one optional `+` first, and at least one digit. Customers are matched
//!   on the digits alone (`+33 1-23` and `33123` are the same customer).
//! - A window time is RFC 3339 with an offset (`2027-03-28T10:00:00+02:00`,
//!   an exact instant) or a local `YYYY-MM-DDTHH:MM[:SS]` read in the
//!   request's `zone`. A local time that does not exist (the spring-forward
//!   gap) is refused naming the field; one that happens twice (the
//!   fall-back hour) is the earlier one (give an offset to pick the later).
//! - A window lasts at most [`MAX_WINDOW_MS`] (24 hours): an agent cannot
//!   promise a customer "some time this month".
//! - A web (CB-2) or courtesy (CB-1) callback has no window in the
//!   request: it is due at once, its window is `[created, created + 24 h]`;
//!   its zone defaults to `UTC`. It cannot be edited or deleted (its window
//!   has started, CB-4).
//! - An edit that changes the window checks it against the time of the
//!   edit (as if created then); an edit that leaves the window keeps it.

use super::{AgentId, QueueId};
use jiff::tz::{AmbiguousOffset, TimeZone};
use std::collections::{BTreeMap, HashMap};
use std::fmt;

/// CB-3: a window starts at least this long after creation (30 min).
pub const MIN_LEAD_MS: u64 = 30 * 60 * 1000;
/// CB-3: a window starts at most this long after creation (31 days).
pub const MAX_LEAD_MS: u64 = 31 * 24 * 60 * 60 * 1000;
/// The longest window accepted (24 h; the spec is silent, see the module doc).
pub const MAX_WINDOW_MS: u64 = 24 * 60 * 60 * 1000;
/// CB-3: a number has 7 to 15 characters.
pub const NUMBER_CHARS: std::ops::RangeInclusive<usize> = 7..=15;
/// CB-3: a name has 3 to 250 Unicode characters.
pub const NAME_CHARS: std::ops::RangeInclusive<usize> = 3..=250;
/// CB-3: a reason has at most 250 characters.
pub const MAX_REASON_CHARS: usize = 250;
/// CB-5: a personal callback's priority (others have 0): compared before
/// anything else when callbacks are due.
pub const PERSONAL_PRIORITY: u8 = 1;
/// The zone of a web or courtesy callback that names none.
pub const DEFAULT_ZONE: &str = "UTC";

/// What kind of callback (CB-1, CB-2, CB-3, CB-5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CallbackKind {
    /// CB-2: asked for on a website, due at once.
    Web,
    /// CB-3: in a window the customer chose.
    Scheduled,
    /// CB-1: a queued caller chose to be called back (place kept).
    Courtesy,
    /// CB-5: assigned to an agent (or any agent), with priority.
    Personal,
}

impl CallbackKind {
    /// Every kind.
    pub const ALL: [CallbackKind; 4] = [
        CallbackKind::Web,
        CallbackKind::Scheduled,
        CallbackKind::Courtesy,
        CallbackKind::Personal,
    ];

    /// The wire and store name (`web`, `scheduled`, `courtesy`, `personal`).
    pub fn as_str(self) -> &'static str {
        match self {
            CallbackKind::Web => "web",
            CallbackKind::Scheduled => "scheduled",
            CallbackKind::Courtesy => "courtesy",
            CallbackKind::Personal => "personal",
        }
    }

    /// The kind named `s`.
    pub fn parse(s: &str) -> Option<CallbackKind> {
        CallbackKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// True for kinds due at once (no window in the request).
    pub fn is_immediate(self) -> bool {
        matches!(self, CallbackKind::Web | CallbackKind::Courtesy)
    }
}

/// Who a callback goes to (CB-5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Assigned {
    /// Any agent of the queue.
    AnyAgent,
    /// This agent (CB-5: "to me" or a named agent).
    Agent(AgentId),
}

/// Where a callback is in its life. Each step is written to the store
/// before the next can happen (CB-8), so a restart knows what was done:
///
/// `Pending` (waiting for its window) → `Offered` (in its queue's line or
/// ringing an agent; the agent may be connected, waiting to dial) →
/// `Dialing` (written *before* the customer's INVITE leaves) → `Done`
/// (the customer answered). From `Dialing`: not answered goes back to
/// `Pending` for a later try, or to `Failed` after the last one (CB-6);
/// the agent cancelling makes it `Cancelled` (CB-6). A restart takes
/// `Offered` back to `Pending` (nobody was called) and `Dialing` to
/// `Interrupted`: the customer's phone may have rung, so it is never
/// dialled again by itself (CB-8: none placed twice); a supervisor may
/// send it back to its queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CallbackState {
    /// Waiting for its window (CB-4: editable until the window starts).
    Pending,
    /// In its queue: waiting in line, offered to an agent, or with an
    /// agent about to dial (OFFER-6).
    Offered,
    /// The switch dials the customer (written before the INVITE, CB-8).
    Dialing,
    /// The customer answered.
    Done,
    /// Cancelled (CB-6: by the agent before the customer answered).
    Cancelled,
    /// Deleted before its window (CB-4); kept for its idempotency key.
    Deleted,
    /// The switch stopped while dialling: never redialled by itself (CB-8).
    Interrupted,
    /// Not answered on its last try, or its window ended before it could
    /// be placed (CB-6).
    Failed,
}

impl CallbackState {
    /// Every state.
    pub const ALL: [CallbackState; 8] = [
        CallbackState::Pending,
        CallbackState::Offered,
        CallbackState::Dialing,
        CallbackState::Done,
        CallbackState::Cancelled,
        CallbackState::Deleted,
        CallbackState::Interrupted,
        CallbackState::Failed,
    ];

    /// The wire and store name (`pending`, `offered`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            CallbackState::Pending => "pending",
            CallbackState::Offered => "offered",
            CallbackState::Dialing => "dialing",
            CallbackState::Done => "done",
            CallbackState::Cancelled => "cancelled",
            CallbackState::Deleted => "deleted",
            CallbackState::Interrupted => "interrupted",
            CallbackState::Failed => "failed",
        }
    }

    /// The state named `s`.
    pub fn parse(s: &str) -> Option<CallbackState> {
        CallbackState::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// True while the callback may still be placed (CB-8: restored at start).
    pub fn is_open(self) -> bool {
        matches!(
            self,
            CallbackState::Pending | CallbackState::Offered | CallbackState::Dialing
        )
    }
}

/// When the customer wants the call (CB-3), unix milliseconds, `start < end`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Window {
    /// The earliest moment to call.
    pub start_ms: u64,
    /// The moment after which the customer no longer expects the call.
    pub end_ms: u64,
}

/// One callback request (CB-1..CB-5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Callback {
    /// Unique across restarts: `cb-<n>`.
    pub id: String,
    /// Web, scheduled, courtesy or personal.
    pub kind: CallbackKind,
    /// The customer's number as typed (CB-3).
    pub number: String,
    /// The customer's name as typed (CB-3).
    pub name: String,
    /// An active voice queue (CB-3).
    pub queue: QueueId,
    /// The customer's IANA time zone (CB-3).
    pub zone: String,
    /// When to call.
    pub window: Window,
    /// Why the customer wants a call (at most 250 characters).
    pub reason: String,
    /// Who calls (CB-5).
    pub assigned: Assigned,
    /// Higher first; [`PERSONAL_PRIORITY`] for personal callbacks (CB-5).
    pub priority: u8,
    /// Where it is in its life.
    pub state: CallbackState,
    /// Times it was placed (CB-6 counts the tries).
    pub attempts: u32,
    /// When it was created.
    pub created_ms: u64,
    /// When it last changed.
    pub updated_ms: u64,
    /// The create request's `Idempotency-Key` (CB-8), if it had one.
    pub idempotency_key: Option<String>,
}

impl Callback {
    /// CB-4: it may be edited or deleted at `now_ms` (pending, and its
    /// window has not started); otherwise why not, in an agent's words.
    pub fn check_changeable(&self, now_ms: u64) -> Result<(), CallbackError> {
        if self.state != CallbackState::Pending {
            return Err(CallbackError::Conflict(format!(
                "callback {} is {}: only a pending callback can be changed (CB-4)",
                self.id,
                self.state.as_str()
            )));
        }
        if now_ms >= self.window.start_ms {
            return Err(CallbackError::Conflict(format!(
                "the window of callback {} started at {}: a callback can be changed only until its window starts (CB-4)",
                self.id,
                show_ms(self.window.start_ms, &self.zone)
            )));
        }
        Ok(())
    }

    /// The customer's digits (how callbacks are listed per customer, CB-4).
    pub fn digits(&self) -> String {
        digits(&self.number)
    }
}

/// The digits of a number (separators and `+` left out).
pub fn digits(number: &str) -> String {
    number.chars().filter(char::is_ascii_digit).collect()
}

/// `ms` as RFC 3339 in `zone` (UTC if the zone is unknown), for messages
/// and views.
pub fn show_ms(ms: u64, zone: &str) -> String {
    let tz = TimeZone::get(zone).unwrap_or(TimeZone::UTC);
    match i64::try_from(ms)
        .ok()
        .and_then(|m| jiff::Timestamp::from_millisecond(m).ok())
    {
        Some(t) => t.to_zoned(tz).strftime("%Y-%m-%dT%H:%M:%S%:z").to_string(),
        None => ms.to_string(),
    }
}

/// Why a callback request was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CallbackError {
    /// 400: a field breaks CB-3 (or CB-5); `field` is the request's name
    /// for it (`number`, `window.start`...).
    #[error("{message}")]
    Invalid {
        /// The request field.
        field: &'static str,
        /// The rule, in the user's words.
        message: String,
    },
    /// 409: the callback's state forbids it (CB-4).
    #[error("{0}")]
    Conflict(String),
    /// 404: no callback with this id.
    #[error("no callback {0}")]
    NotFound(String),
    /// 403: the requester may not do this (CB-5: an agent creates personal
    /// callbacks for itself only).
    #[error("{0}")]
    Forbidden(String),
    /// 409: the idempotency key was used with another request (CB-8).
    #[error("the Idempotency-Key {key} was used for another request (callback {id})")]
    IdempotencyConflict {
        /// The key.
        key: String,
        /// The callback it made.
        id: String,
    },
}

fn invalid(field: &'static str, message: impl Into<String>) -> CallbackError {
    CallbackError::Invalid {
        field,
        message: message.into(),
    }
}

/// CB-3: 7 to 15 characters of digits, spaces, `-`, `,`, `.`, with one
/// optional leading `+`, at least one digit.
pub fn check_number(number: &str) -> Result<(), CallbackError> {
    let n = number.chars().count();
    if !NUMBER_CHARS.contains(&n) {
        return Err(invalid(
            "number",
            format!(
                "a number has 7 to 15 characters (digits, spaces, -, comma, period, a leading +); this one has {n}"
            ),
        ));
    }
    for (i, c) in number.chars().enumerate() {
        let ok = c.is_ascii_digit() || matches!(c, ' ' | '-' | ',' | '.') || (c == '+' && i == 0);
        if !ok {
            let what = if c == '+' {
                "a + only at the start".to_string()
            } else {
                format!("`{c}` is not allowed")
            };
            return Err(invalid(
                "number",
                format!("a number has only digits, spaces, -, comma, period and a leading +: {what}"),
            ));
        }
    }
    if !number.chars().any(|c| c.is_ascii_digit()) {
        return Err(invalid("number", "a number needs at least one digit"));
    }
    Ok(())
}

/// CB-3: 3 to 250 Unicode characters as given, not all blank, no control
/// characters.
pub fn check_name(name: &str) -> Result<(), CallbackError> {
    let n = name.chars().count();
    if !NAME_CHARS.contains(&n) {
        return Err(invalid(
            "name",
            format!("a name has 3 to 250 characters; this one has {n}"),
        ));
    }
    if name.chars().all(char::is_whitespace) {
        return Err(invalid("name", "a name cannot be only spaces"));
    }
    if name.chars().any(char::is_control) {
        return Err(invalid(
            "name",
            "a name cannot hold control characters (line breaks, tabs)",
        ));
    }
    Ok(())
}

/// CB-3: a reason has at most 250 characters.
pub fn check_reason(reason: &str) -> Result<(), CallbackError> {
    let n = reason.chars().count();
    if n > MAX_REASON_CHARS {
        return Err(invalid(
            "reason",
            format!("a reason has at most 250 characters; this one has {n}"),
        ));
    }
    Ok(())
}

/// CB-3: a valid IANA time zone (jiff's bundled tzdb).
pub fn check_zone(zone: &str) -> Result<TimeZone, CallbackError> {
    if zone.is_empty() || zone.len() > 64 {
        return Err(invalid("zone", "a time zone is an IANA name such as Europe/Paris"));
    }
    TimeZone::get(zone).map_err(|_| {
        invalid(
            "zone",
            format!("`{zone}` is not an IANA time zone (such as Europe/Paris or America/New_York)"),
        )
    })
}

/// A window time as given (see the module doc): RFC 3339 with an offset,
/// or a local `YYYY-MM-DDTHH:MM[:SS]` in `zone` (`zone_name` for messages).
pub fn parse_time(field: &'static str, text: &str, tz: &TimeZone, zone_name: &str) -> Result<u64, CallbackError> {
    let form = "a date and time such as 2027-03-28T10:00 (in the callback's zone) or 2027-03-28T10:00:00+02:00";
    let ts = if let Ok(ts) = text.parse::<jiff::Timestamp>() {
        ts
    } else {
        let local: jiff::civil::DateTime = text
            .parse()
            .map_err(|_| invalid(field, format!("`{text}` is not {form}")))?;
        let amb = tz.to_ambiguous_timestamp(local);
        if let AmbiguousOffset::Gap { .. } = amb.offset() {
            return Err(invalid(
                field,
                format!("{text} does not exist in {zone_name}: the clocks skip that hour (daylight saving time)"),
            ));
        }
        amb.earlier()
            .map_err(|_| invalid(field, format!("{text} is out of range")))?
    };
    u64::try_from(ts.as_millisecond()).map_err(|_| invalid(field, format!("{text} is before 1970")))
}

/// CB-3: the window starts 30 minutes to 31 days after `from_ms` (both
/// edges included), ends after it starts, and lasts at most 24 hours.
pub fn check_window(w: Window, from_ms: u64) -> Result<(), CallbackError> {
    if w.start_ms < from_ms.saturating_add(MIN_LEAD_MS) {
        return Err(invalid(
            "window.start",
            "the window must start at least 30 minutes after the request",
        ));
    }
    if w.start_ms > from_ms.saturating_add(MAX_LEAD_MS) {
        return Err(invalid(
            "window.start",
            "the window must start at most 31 days after the request",
        ));
    }
    if w.end_ms <= w.start_ms {
        return Err(invalid("window.end", "the window must end after it starts"));
    }
    if w.end_ms - w.start_ms > MAX_WINDOW_MS {
        return Err(invalid("window.end", "a window lasts at most 24 hours"));
    }
    Ok(())
}

/// A create request as the API parsed it, names not yet resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Draft {
    /// The kind asked for.
    pub kind: CallbackKind,
    /// The number as typed.
    pub number: String,
    /// The name as typed.
    pub name: String,
    /// The queue, resolved by the caller (`None`: no such active voice queue).
    pub queue: Option<QueueId>,
    /// The queue's name as given (for the message).
    pub queue_name: String,
    /// The zone as given.
    pub zone: Option<String>,
    /// The window's start and end as given.
    pub window: Option<(String, String)>,
    /// The reason (empty: none).
    pub reason: String,
    /// Who calls (already checked against the requester, CB-5).
    pub assigned: Assigned,
}

/// A validated request: everything a [`Callback`] needs but its id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Valid {
    /// Kind.
    pub kind: CallbackKind,
    /// Number.
    pub number: String,
    /// Name.
    pub name: String,
    /// Queue.
    pub queue: QueueId,
    /// Zone.
    pub zone: String,
    /// Window.
    pub window: Window,
    /// Reason.
    pub reason: String,
    /// Assignment.
    pub assigned: Assigned,
    /// Priority (CB-5).
    pub priority: u8,
}

/// CB-2, CB-3, CB-5: the one validation of a create request made at
/// `created_ms`, fields checked in request order (number, name, queue,
/// zone, window, reason, agent), the first refusal naming its field.
pub fn validate(d: &Draft, created_ms: u64) -> Result<Valid, CallbackError> {
    check_number(&d.number)?;
    check_name(&d.name)?;
    let queue = d
        .queue
        .ok_or_else(|| invalid("queue", format!("`{}` is not an active voice queue", d.queue_name)))?;
    let zone = match (&d.zone, d.kind.is_immediate()) {
        (Some(z), _) => z.clone(),
        (None, true) => DEFAULT_ZONE.to_string(),
        (None, false) => return Err(invalid("zone", "a scheduled callback needs the customer's time zone")),
    };
    let tz = check_zone(&zone)?;
    let window = match (&d.window, d.kind.is_immediate()) {
        (Some(_), true) => {
            return Err(invalid(
                "window",
                format!("a {} callback is due at once: it takes no window", d.kind.as_str()),
            ))
        }
        (None, true) => Window {
            start_ms: created_ms,
            end_ms: created_ms.saturating_add(MAX_WINDOW_MS),
        },
        (None, false) => return Err(invalid("window", "a scheduled callback needs a window (start and end)")),
        (Some((start, end)), false) => {
            let w = Window {
                start_ms: parse_time("window.start", start, &tz, &zone)?,
                end_ms: parse_time("window.end", end, &tz, &zone)?,
            };
            check_window(w, created_ms)?;
            w
        }
    };
    check_reason(&d.reason)?;
    if d.kind != CallbackKind::Personal && d.assigned != Assigned::AnyAgent {
        return Err(invalid(
            "agent",
            "only a personal callback is assigned to an agent (CB-5)",
        ));
    }
    Ok(Valid {
        kind: d.kind,
        number: d.number.clone(),
        name: d.name.clone(),
        queue,
        zone,
        window,
        reason: d.reason.clone(),
        assigned: d.assigned,
        priority: if d.kind == CallbackKind::Personal {
            PERSONAL_PRIORITY
        } else {
            0
        },
    })
}

/// A CB-4 edit: each field given replaces the callback's, validated by the
/// same rules as a create.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Patch {
    /// New number.
    pub number: Option<String>,
    /// New name.
    pub name: Option<String>,
    /// New queue: `Some(None)` names no active voice queue (refused).
    pub queue: Option<(Option<QueueId>, String)>,
    /// New zone.
    pub zone: Option<String>,
    /// New window (start, end) as given.
    pub window: Option<(String, String)>,
    /// New reason.
    pub reason: Option<String>,
    /// New assignment (personal callbacks only).
    pub assigned: Option<Assigned>,
}

/// What a create did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Created {
    /// A new callback.
    New(Callback),
    /// The same key and request as before: the callback made then (CB-8).
    Replayed(Callback),
}

/// Every callback the switch knows, by id, with the idempotency keys of
/// the requests that made them (CB-8). The engine owns one; the store
/// keeps a copy of each (restored with [`CallbackBook::restore`]).
#[derive(Clone, Debug, Default)]
pub struct CallbackBook {
    by_id: BTreeMap<String, Callback>,
    /// Key to (callback id, request fingerprint).
    keys: HashMap<String, (String, String)>,
    next: u64,
}

impl CallbackBook {
    /// An empty book.
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes back a stored callback at startup (CB-8), with the
    /// fingerprint of the request that made it; later ids follow it.
    pub fn restore(&mut self, cb: Callback, fingerprint: Option<String>) {
        if let Some(n) = cb.id.strip_prefix("cb-").and_then(|n| n.parse::<u64>().ok()) {
            self.next = self.next.max(n);
        }
        if let (Some(key), Some(f)) = (&cb.idempotency_key, fingerprint) {
            self.keys.insert(key.clone(), (cb.id.clone(), f));
        }
        self.by_id.insert(cb.id.clone(), cb);
    }

    /// The callback a key made, if the key was seen: the callback when
    /// `fingerprint` matches, else the CB-8 conflict.
    pub fn replay(&self, key: &str, fingerprint: &str) -> Option<Result<&Callback, CallbackError>> {
        let (id, f) = self.keys.get(key)?;
        let cb = self.by_id.get(id)?;
        Some(if f == fingerprint {
            Ok(cb)
        } else {
            Err(CallbackError::IdempotencyConflict {
                key: key.to_string(),
                id: id.clone(),
            })
        })
    }

    /// Creates a callback from a validated request at `now_ms`, or replays
    /// the one an earlier request with the same `key` made (`key` is the
    /// idempotency key and the request's fingerprint).
    pub fn create(&mut self, v: Valid, now_ms: u64, key: Option<(String, String)>) -> Result<Created, CallbackError> {
        if let Some((k, f)) = &key {
            if let Some(r) = self.replay(k, f) {
                return r.map(|cb| Created::Replayed(cb.clone()));
            }
        }
        self.next += 1;
        let id = format!("cb-{}", self.next);
        let cb = Callback {
            id: id.clone(),
            kind: v.kind,
            number: v.number,
            name: v.name,
            queue: v.queue,
            zone: v.zone,
            window: v.window,
            reason: v.reason,
            assigned: v.assigned,
            priority: v.priority,
            state: CallbackState::Pending,
            attempts: 0,
            created_ms: now_ms,
            updated_ms: now_ms,
            idempotency_key: key.as_ref().map(|(k, _)| k.clone()),
        };
        if let Some((k, f)) = key {
            self.keys.insert(k, (id.clone(), f));
        }
        self.by_id.insert(id, cb.clone());
        Ok(Created::New(cb))
    }

    /// A callback by id.
    pub fn get(&self, id: &str) -> Option<&Callback> {
        self.by_id.get(id)
    }

    /// Every callback, by id.
    pub fn iter(&self) -> impl Iterator<Item = &Callback> {
        self.by_id.values()
    }

    /// CB-4: the customer's callbacks (matched on digits), deleted ones
    /// left out, oldest window first.
    pub fn by_number(&self, number: &str) -> Vec<&Callback> {
        let want = digits(number);
        let mut v: Vec<&Callback> = self
            .by_id
            .values()
            .filter(|c| c.state != CallbackState::Deleted && c.digits() == want)
            .collect();
        v.sort_by_key(|c| (c.window.start_ms, c.created_ms));
        v
    }

    /// Every open callback (pending, offered, dialing) and every
    /// interrupted one (a supervisor decides), oldest window first.
    pub fn open(&self) -> Vec<&Callback> {
        let mut v: Vec<&Callback> = self
            .by_id
            .values()
            .filter(|c| c.state.is_open() || c.state == CallbackState::Interrupted)
            .collect();
        v.sort_by_key(|c| (c.window.start_ms, c.created_ms));
        v
    }

    /// Every pending callback, oldest window first.
    pub fn pending(&self) -> Vec<&Callback> {
        let mut v: Vec<&Callback> = self
            .by_id
            .values()
            .filter(|c| c.state == CallbackState::Pending)
            .collect();
        v.sort_by_key(|c| (c.window.start_ms, c.created_ms));
        v
    }

    /// CB-4: edits `id` at `now_ms` (pending and before its window only).
    pub fn edit(&mut self, id: &str, p: Patch, now_ms: u64) -> Result<&Callback, CallbackError> {
        let cb = self
            .by_id
            .get(id)
            .ok_or_else(|| CallbackError::NotFound(id.to_string()))?;
        cb.check_changeable(now_ms)?;
        let mut next = cb.clone();
        if let Some(n) = p.number {
            check_number(&n)?;
            next.number = n;
        }
        if let Some(n) = p.name {
            check_name(&n)?;
            next.name = n;
        }
        if let Some((q, name)) = p.queue {
            next.queue = q.ok_or_else(|| invalid("queue", format!("`{name}` is not an active voice queue")))?;
        }
        if let Some(z) = p.zone {
            check_zone(&z)?;
            next.zone = z;
        }
        if let Some((start, end)) = p.window {
            let tz = check_zone(&next.zone)?;
            let w = Window {
                start_ms: parse_time("window.start", &start, &tz, &next.zone)?,
                end_ms: parse_time("window.end", &end, &tz, &next.zone)?,
            };
            check_window(w, now_ms)?;
            next.window = w;
        }
        if let Some(r) = p.reason {
            check_reason(&r)?;
            next.reason = r;
        }
        if let Some(a) = p.assigned {
            if next.kind != CallbackKind::Personal && a != Assigned::AnyAgent {
                return Err(invalid(
                    "agent",
                    "only a personal callback is assigned to an agent (CB-5)",
                ));
            }
            next.assigned = a;
        }
        next.updated_ms = now_ms;
        self.by_id.insert(id.to_string(), next);
        self.by_id
            .get(id)
            .ok_or_else(|| CallbackError::NotFound(id.to_string()))
    }

    /// CB-4: deletes `id` at `now_ms` (pending and before its window
    /// only); it stays in the book as `Deleted` for its idempotency key.
    pub fn delete(&mut self, id: &str, now_ms: u64) -> Result<&Callback, CallbackError> {
        let cb = self
            .by_id
            .get_mut(id)
            .ok_or_else(|| CallbackError::NotFound(id.to_string()))?;
        cb.check_changeable(now_ms)?;
        cb.state = CallbackState::Deleted;
        cb.updated_ms = now_ms;
        Ok(cb)
    }

    /// The hook for placing callbacks (OFFER-6, CB-6): the pending
    /// callbacks whose window has started at `now_ms` and not ended,
    /// personal ones first (CB-5), then by window start.
    pub fn due(&self, now_ms: u64) -> Vec<&Callback> {
        let mut v: Vec<&Callback> = self
            .by_id
            .values()
            .filter(|c| c.state == CallbackState::Pending && c.window.start_ms <= now_ms && now_ms < c.window.end_ms)
            .collect();
        v.sort_by_key(|c| (std::cmp::Reverse(c.priority), c.window.start_ms, c.created_ms));
        v
    }

    /// Moves `id` from one of `from` to `to` at `now_ms`; the callback
    /// after the move, `None` when it is unknown or in another state.
    fn step(&mut self, id: &str, from: &[CallbackState], to: CallbackState, now_ms: u64) -> Option<&Callback> {
        let cb = self.by_id.get_mut(id).filter(|c| from.contains(&c.state))?;
        cb.state = to;
        cb.updated_ms = now_ms;
        Some(cb)
    }

    /// A pending callback enters its queue (OFFER-6).
    pub fn offered(&mut self, id: &str, now_ms: u64) -> Option<&Callback> {
        self.step(id, &[CallbackState::Pending], CallbackState::Offered, now_ms)
    }

    /// The agent is connected and the customer is about to be dialled:
    /// one more try (CB-6 counts them).
    pub fn dialing(&mut self, id: &str, now_ms: u64) -> Option<&Callback> {
        let cb = self.by_id.get_mut(id).filter(|c| c.state == CallbackState::Offered)?;
        cb.attempts += 1;
        self.step(id, &[CallbackState::Offered], CallbackState::Dialing, now_ms)
    }

    /// The customer was served before the callback was placed (CB-1: an
    /// agent answered the caller while the courtesy callback was confirmed).
    pub fn served(&mut self, id: &str, now_ms: u64) -> Option<&Callback> {
        self.step(id, &[CallbackState::Offered], CallbackState::Done, now_ms)
    }

    /// The customer answered.
    pub fn answered(&mut self, id: &str, now_ms: u64) -> Option<&Callback> {
        self.step(id, &[CallbackState::Dialing], CallbackState::Done, now_ms)
    }

    /// The agent cancelled (or hung up) before the customer answered (CB-6):
    /// while dialling, or while connected and waiting to dial (CB-7).
    pub fn cancelled(&mut self, id: &str, now_ms: u64) -> Option<&Callback> {
        self.step(
            id,
            &[CallbackState::Dialing, CallbackState::Offered],
            CallbackState::Cancelled,
            now_ms,
        )
    }

    /// CB-6: the customer did not answer. It goes back to its queue
    /// `retry_after_ms` from now (its window starts again then), unless
    /// that was its `max_attempts`-th try or its window ends first: then
    /// it is `Failed`.
    pub fn unanswered(&mut self, id: &str, now_ms: u64, retry_after_ms: u64, max_attempts: u32) -> Option<&Callback> {
        let cb = self.by_id.get_mut(id).filter(|c| c.state == CallbackState::Dialing)?;
        let next = now_ms.saturating_add(retry_after_ms);
        if cb.attempts >= max_attempts || next >= cb.window.end_ms {
            cb.state = CallbackState::Failed;
        } else {
            cb.state = CallbackState::Pending;
            cb.window.start_ms = next;
        }
        cb.updated_ms = now_ms;
        Some(cb)
    }

    /// Its call ended before the customer was dialled (no agent took it,
    /// the agent's phone hung up, a shutdown): back to pending, due again
    /// at `due_ms` (within its window).
    pub fn returned(&mut self, id: &str, now_ms: u64, due_ms: u64) -> Option<&Callback> {
        let cb = self.by_id.get_mut(id).filter(|c| c.state == CallbackState::Offered)?;
        cb.window.start_ms = cb.window.start_ms.max(due_ms.min(cb.window.end_ms));
        self.step(id, &[CallbackState::Offered], CallbackState::Pending, now_ms)
    }

    /// A callback that cannot be placed at all (its number leads nowhere).
    pub fn give_up(&mut self, id: &str, now_ms: u64) -> Option<&Callback> {
        self.step(
            id,
            &[CallbackState::Pending, CallbackState::Offered],
            CallbackState::Failed,
            now_ms,
        )
    }

    /// A supervisor sends an interrupted or failed callback back to its
    /// queue: pending, due at once (its window ends no sooner than a day
    /// from now).
    pub fn retry(&mut self, id: &str, now_ms: u64) -> Result<&Callback, CallbackError> {
        let cb = self
            .by_id
            .get_mut(id)
            .ok_or_else(|| CallbackError::NotFound(id.to_string()))?;
        if !matches!(cb.state, CallbackState::Interrupted | CallbackState::Failed) {
            return Err(CallbackError::Conflict(format!(
                "callback {} is {}: only an interrupted or failed callback can be tried again",
                cb.id,
                cb.state.as_str()
            )));
        }
        cb.state = CallbackState::Pending;
        cb.window.start_ms = now_ms;
        cb.window.end_ms = cb.window.end_ms.max(now_ms.saturating_add(MAX_WINDOW_MS));
        cb.updated_ms = now_ms;
        Ok(cb)
    }

    /// CB-8 at startup, `now_ms`: nobody was called for an `Offered`
    /// callback (back to `Pending`); a `Dialing` one may have rung the
    /// customer (`Interrupted`, never redialled by itself). The ones changed.
    pub fn after_restart(&mut self, now_ms: u64) -> Vec<Callback> {
        let mut changed = Vec::new();
        for cb in self.by_id.values_mut() {
            let to = match cb.state {
                CallbackState::Offered => CallbackState::Pending,
                CallbackState::Dialing => CallbackState::Interrupted,
                _ => continue,
            };
            cb.state = to;
            cb.updated_ms = now_ms;
            changed.push(cb.clone());
        }
        changed
    }

    /// Pending callbacks whose window ended at `now_ms` before they could be
    /// placed: `Failed`. The ones changed.
    pub fn expire(&mut self, now_ms: u64) -> Vec<Callback> {
        let mut changed = Vec::new();
        for cb in self.by_id.values_mut() {
            if cb.state == CallbackState::Pending && cb.window.end_ms <= now_ms {
                cb.state = CallbackState::Failed;
                cb.updated_ms = now_ms;
                changed.push(cb.clone());
            }
        }
        changed
    }

    /// The fingerprint of the request that used `key` (CB-8).
    pub fn fingerprint(&self, key: &str) -> Option<&str> {
        self.keys.get(key).map(|(_, f)| f.as_str())
    }

    /// When the next pending callback's window starts (the placing code's
    /// timer); `None` when none is pending.
    pub fn next_due_ms(&self) -> Option<u64> {
        self.by_id
            .values()
            .filter(|c| c.state == CallbackState::Pending)
            .map(|c| c.window.start_ms)
            .min()
    }
}

impl fmt::Display for Callback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({} callback to {})", self.id, self.kind.as_str(), self.number)
    }
}

#[cfg(test)]
#[path = "callback_tests.rs"]
mod tests;
