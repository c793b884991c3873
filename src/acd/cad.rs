//! Call-associated data (CAD): the typed variables of one interaction, the
//! agent's edits with optimistic versioning, and what the desktop and the
//! offer may show of them. Pure: no clock, no I/O; the API layer holds one
//! [`InteractionData`] per interaction and translates desktop requests.
//!
//! Rules implemented:
//! - CAD-1: variables are typed ([`VarType`]: string, integer, boolean,
//!   datetime) and marked editable and/or secure by the admin
//!   ([`VariableSpec`]); every value is checked against its type.
//! - CAD-2: a value is at most [`MAX_VALUE_CHARS`] (256) characters, counted
//!   as Unicode scalar values (`char`s), not bytes.
//! - CAD-3: concurrent edits, first save wins ([`InteractionData::save`]): a
//!   save names the version it was based on; it is refused with
//!   [`CadError::Conflict`] only if a variable it changes was saved by
//!   someone else after that version, and the refusal carries the values that
//!   would have been overwritten.
//! - CAD-4: revert restores the last saved values
//!   ([`InteractionData::saved_values`]).
//! - OFFER-2: [`InteractionData::offer_view`] lists the admin-chosen
//!   variables in the admin's order, secure ones never.
//! - OFFER-3: [`mask_number`] keeps only the caller number's last 4 digits.
//!
//! Details the spec leaves open, decided as an agent would expect:
//! - Datetime means an ISO 8601 date-time *with* an offset (`Z` or
//!   `±hh:mm`), e.g. `2026-11-21T10:00:00Z` or `2026-11-21T11:00:00+01:00`:
//!   an instant, never a local time whose meaning depends on where the
//!   desktop is. Parsed by `jiff::Timestamp`: RFC 3339 and the ISO 8601 forms
//!   Temporal accepts (basic `20261121T100000Z`, minutes without seconds,
//!   fractional seconds, lowercase `t`/`z`, a space for `T`, an optional
//!   `[time zone]` annotation); the value is stored as typed.
//! - Integer means `i64` in decimal (an optional sign, digits, nothing else);
//!   boolean means exactly `true` or `false` (lowercase); a string is any text.
//! - A variable may be unset (no value yet); only a value can be saved, so
//!   clearing a string variable means saving `""`. The empty string is valid
//!   only for strings.
//! - Unsaved edits live in the desktop: the core keeps only saved values, so
//!   a revert is the desktop reloading [`InteractionData::view_for_agent`]
//!   (built from [`InteractionData::saved_values`]).
//! - A save is all-or-nothing: one bad, unknown or read-only variable, or one
//!   conflict, refuses the whole save and changes nothing. Input errors are
//!   reported before conflicts (they must be fixed whatever the others did).
//! - A change whose value equals the value saved since its base is not a
//!   conflict: nothing the other agent saved would be lost.
//! - Secure values never leave the core for the browser: the agent view and
//!   a conflict carry `None` in their place.
//! - Who may edit at all (the primary agent, not a consulted one,
//!   CALL-CONSULT-5) is the API layer's check, not this module's.

use super::queue::Variable;

/// CAD-2: the most characters (`char`s, not bytes) a value may have.
pub const MAX_VALUE_CHARS: usize = 256;

/// OFFER-3: the variable that holds the caller's number (ANI); the engine
/// sets it from the caller's identity when the interaction arrives.
pub const CALLER_NUMBER: &str = "caller_number";

/// CAD-1: the type of a variable, checked on every value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum VarType {
    /// Any text (CAD-2 still limits its length).
    String,
    /// A signed 64-bit decimal integer (`-42`, `+7`, `0`).
    Integer,
    /// `true` or `false`, lowercase.
    Boolean,
    /// An ISO 8601 date-time with an offset, e.g. `2026-11-21T10:00:00Z`.
    DateTime,
}

impl std::fmt::Display for VarType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl VarType {
    /// Its name in `acd.toml` and on the desktop API.
    pub fn as_str(self) -> &'static str {
        match self {
            VarType::String => "string",
            VarType::Integer => "integer",
            VarType::Boolean => "boolean",
            VarType::DateTime => "datetime",
        }
    }

    /// CAD-1: checks `value` against the type; the error says what was expected.
    /// Does not check the length (CAD-2, see [`VariableSpec::validate`]).
    pub fn check(self, value: &str) -> Result<(), String> {
        match self {
            VarType::String => Ok(()),
            VarType::Integer => value
                .parse::<i64>()
                .map(drop)
                .map_err(|e| format!("expected an integer (i64): {e}")),
            VarType::Boolean => match value {
                "true" | "false" => Ok(()),
                _ => Err("expected `true` or `false`".into()),
            },
            VarType::DateTime => value
                .parse::<jiff::Timestamp>()
                .map(drop)
                .map_err(|e| format!("expected an ISO 8601 date-time with offset (e.g. 2026-11-21T10:00:00Z): {e}")),
        }
    }
}

/// CAD-1: one variable as the admin configured it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VariableSpec {
    /// Its name (unique within an interaction).
    pub name: String,
    /// Its type.
    pub ty: VarType,
    /// CAD-1: the agent may change it.
    pub editable: bool,
    /// CAD-1, OFFER-2: its value is never sent to the browser nor shown in an offer.
    pub secure: bool,
}

impl VariableSpec {
    /// CAD-1 and CAD-2: checks `value` (length, then type) for this variable.
    pub fn validate(&self, value: &str) -> Result<(), CadError> {
        let chars = value.chars().count();
        if chars > MAX_VALUE_CHARS {
            return Err(CadError::TooLong {
                name: self.name.clone(),
                chars,
            });
        }
        self.ty.check(value).map_err(|reason| CadError::Invalid {
            name: self.name.clone(),
            reason,
        })
    }
}

/// Why a CAD operation was refused (DESIGN.md convention 6).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CadError {
    /// No variable of this name is configured for the interaction.
    #[error("unknown variable {name:?}")]
    Unknown {
        /// The name given.
        name: String,
    },
    /// CAD-1: the admin did not mark the variable editable.
    #[error("variable {name:?} is not editable")]
    NotEditable {
        /// The variable.
        name: String,
    },
    /// CAD-1: the value does not fit the variable's type.
    #[error("invalid value for {name:?}: {reason}")]
    Invalid {
        /// The variable.
        name: String,
        /// What was expected.
        reason: String,
    },
    /// CAD-2: the value has more than 256 characters.
    #[error("value for {name:?} has {chars} characters, at most 256 allowed (CAD-2)")]
    TooLong {
        /// The variable.
        name: String,
        /// The value's length in characters.
        chars: usize,
    },
    /// CAD-3: someone saved some of these variables after the save's base
    /// version; nothing was saved. Re-basing on `current_version` and saving
    /// again overwrites them on purpose.
    #[error("save conflict: {} variable(s) were saved since, now at version {current_version} (CAD-3)", overwritten.len())]
    Conflict {
        /// The data's version now.
        current_version: u64,
        /// Each variable the save would have overwritten, with the value
        /// saved since (`None` for secure variables, never sent to the browser).
        overwritten: Vec<(String, Option<String>)>,
    },
    /// The same variable appears twice in one save.
    #[error("variable {name:?} changed twice in one save")]
    DuplicateChange {
        /// The variable.
        name: String,
    },
    /// Two variable specs share a name.
    #[error("variable {name:?} configured twice")]
    DuplicateVariable {
        /// The name.
        name: String,
    },
    /// The save's base version is newer than the data (a client bug).
    #[error("base version {base} is ahead of the current version {current}")]
    FutureVersion {
        /// The version given.
        base: u64,
        /// The data's version.
        current: u64,
    },
}

/// One variable as the agent's desktop gets it (CAD-1, secure values withheld).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VariableView {
    /// Its name.
    pub name: String,
    /// CAD-1: its type (the desktop picks its input widget from it).
    pub ty: VarType,
    /// CAD-1: whether the agent may edit it (false while shown masked, OFFER-3).
    pub editable: bool,
    /// CAD-1: a secure variable; `value` is then always `None`.
    pub secure: bool,
    /// The last saved value; `None` if unset or secure.
    pub value: Option<String>,
}

/// The agent's desktop view of an interaction's data (CAD-1, CAD-3, CAD-4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentView {
    /// CAD-3: the version to base the next save on.
    pub version: u64,
    /// Every variable, in configuration order.
    pub variables: Vec<VariableView>,
}

/// One variable's saved state.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Slot {
    spec: VariableSpec,
    value: Option<String>,
    /// CAD-3: the version of the save that last wrote it (0: initial value).
    saved_at: u64,
}

/// CAD-1..4: the variables of one interaction with optimistic versioning.
///
/// The version starts at 0 with the flow's initial values and grows by one
/// with each successful save. A desktop reads [`InteractionData::view_for_agent`]
/// (which carries the version), lets the agent edit, and saves with that
/// version as the base.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InteractionData {
    /// In configuration order; few per interaction, so looked up linearly.
    slots: Vec<Slot>,
    version: u64,
}

impl InteractionData {
    /// No variables at all (a fallback when the configured ones cannot be built).
    pub fn empty() -> Self {
        InteractionData {
            slots: Vec::new(),
            version: 0,
        }
    }

    /// CAD-1: the interaction's variables with the values the flow set
    /// (any variable, editable or not; checked against type and length).
    /// Variables without an initial value are unset. Refuses duplicate
    /// specs, unknown names and bad values.
    pub fn new<N: AsRef<str>, V: AsRef<str>>(specs: Vec<VariableSpec>, initial: &[(N, V)]) -> Result<Self, CadError> {
        let mut slots: Vec<Slot> = Vec::with_capacity(specs.len());
        for spec in specs {
            if slots.iter().any(|s| s.spec.name == spec.name) {
                return Err(CadError::DuplicateVariable { name: spec.name });
            }
            slots.push(Slot {
                spec,
                value: None,
                saved_at: 0,
            });
        }
        let mut data = InteractionData { slots, version: 0 };
        for (name, value) in initial {
            let (name, value) = (name.as_ref(), value.as_ref());
            let i = data.index(name)?;
            data.slots[i].spec.validate(value)?;
            data.slots[i].value = Some(value.to_owned());
        }
        Ok(data)
    }

    /// CALL-XFER-4: the interaction enters a flow that uses only the
    /// variables `keep` accepts: every other variable's value is dropped
    /// (the version moves on when one was set). The names dropped.
    pub fn keep_only(&mut self, keep: impl Fn(&str) -> bool) -> Vec<String> {
        let next = self.version + 1;
        let mut dropped = Vec::new();
        for s in &mut self.slots {
            if !keep(&s.spec.name) && s.value.take().is_some() {
                s.saved_at = next;
                dropped.push(s.spec.name.clone());
            }
        }
        if !dropped.is_empty() {
            self.version = next;
        }
        dropped
    }

    /// CAD-3: the current version (0 until the first save).
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The saved value of `name`, if set (secure values included: core side only).
    pub fn value(&self, name: &str) -> Option<&str> {
        self.slots.iter().find(|s| s.spec.name == name)?.value.as_deref()
    }

    /// CAD-1: the variable specs, in configuration order.
    pub fn specs(&self) -> impl Iterator<Item = &VariableSpec> {
        self.slots.iter().map(|s| &s.spec)
    }

    /// CAD-3: saves `changes` made on top of version `base`, all or nothing,
    /// and returns the new version.
    ///
    /// Refused, changing nothing, if a variable is unknown
    /// ([`CadError::Unknown`]), not editable ([`CadError::NotEditable`]),
    /// changed twice, or its value is too long or of the wrong type
    /// ([`CadError::TooLong`], [`CadError::Invalid`]); then, if any changed
    /// variable was saved after `base` with a different value than this
    /// save's ([`CadError::Conflict`], first save wins). Variables saved since
    /// `base` that this save does not touch do not conflict. An empty save
    /// changes nothing and returns the current version.
    pub fn save<N: AsRef<str>, V: AsRef<str>>(&mut self, base: u64, changes: &[(N, V)]) -> Result<u64, CadError> {
        if base > self.version {
            return Err(CadError::FutureVersion {
                base,
                current: self.version,
            });
        }
        let mut targets = Vec::with_capacity(changes.len());
        for (name, value) in changes {
            let (name, value) = (name.as_ref(), value.as_ref());
            let i = self.index(name)?;
            let spec = &self.slots[i].spec;
            if !spec.editable {
                return Err(CadError::NotEditable { name: name.into() });
            }
            spec.validate(value)?;
            if targets.iter().any(|(j, _)| *j == i) {
                return Err(CadError::DuplicateChange { name: name.into() });
            }
            targets.push((i, value));
        }
        if targets.is_empty() {
            return Ok(self.version);
        }
        let overwritten: Vec<(String, Option<String>)> = targets
            .iter()
            .map(|(i, value)| (&self.slots[*i], *value))
            .filter(|(s, value)| s.saved_at > base && s.value.as_deref() != Some(*value))
            .map(|(s, _)| (s.spec.name.clone(), s.value.clone().filter(|_| !s.spec.secure)))
            .collect();
        if !overwritten.is_empty() {
            return Err(CadError::Conflict {
                current_version: self.version,
                overwritten,
            });
        }
        self.version += 1;
        for (i, value) in targets {
            let slot = &mut self.slots[i];
            slot.value = Some(value.to_owned());
            slot.saved_at = self.version;
        }
        Ok(self.version)
    }

    /// CAD-4: the last saved values, which a revert restores: every variable
    /// in configuration order with its value (`None` if unset). Secure values
    /// included: this is the core's side; the browser gets
    /// [`InteractionData::view_for_agent`].
    pub fn saved_values(&self) -> Vec<(&str, Option<&str>)> {
        self.slots
            .iter()
            .map(|s| (s.spec.name.as_str(), s.value.as_deref()))
            .collect()
    }

    /// CAD-1, CAD-4: what the agent's desktop gets (also on revert): every
    /// variable with its type and flags and the last saved value, secure
    /// values withheld (`None`). With sensitive-data protection on
    /// (`mask_caller`), the caller's number ([`CALLER_NUMBER`]) is masked
    /// (OFFER-3) and shown read-only, so a masked value is never saved back.
    pub fn view_for_agent(&self, mask_caller: bool) -> AgentView {
        let variables = self
            .slots
            .iter()
            .map(|s| {
                let masked = mask_caller && s.spec.name == CALLER_NUMBER;
                VariableView {
                    name: s.spec.name.clone(),
                    ty: s.spec.ty,
                    editable: s.spec.editable && !masked,
                    secure: s.spec.secure,
                    value: self.shown(s, mask_caller),
                }
            })
            .collect();
        AgentView {
            version: self.version,
            variables,
        }
    }

    /// OFFER-2, OFFER-3: the offer's variables as `(name, value)`: those
    /// named in `offer_names` (the queue's admin-chosen list), in that order,
    /// leaving out secure ones, unknown names and unset values; the caller's
    /// number masked when `mask_caller` (sensitive-data protection) is on.
    /// The 3-to-6 count of OFFER-2 is a configuration check.
    pub fn offer_view<S: AsRef<str>>(&self, offer_names: &[S], mask_caller: bool) -> Vec<(String, String)> {
        offer_names
            .iter()
            .filter_map(|n| self.slots.iter().find(|s| s.spec.name == n.as_ref()))
            .filter_map(|s| Some((s.spec.name.clone(), self.shown(s, mask_caller)?)))
            .collect()
    }

    /// OFFER-2, OFFER-3: every set variable as the ACD core takes it in
    /// [`super::AcdEvent::InteractionArrived`] (which picks the queue's offer
    /// variables and leaves out secure ones), secure values blanked and the
    /// caller's number masked when `mask_caller`, so nothing secret reaches an
    /// offer.
    pub fn acd_variables(&self, mask_caller: bool) -> Vec<Variable> {
        self.slots
            .iter()
            .filter(|s| s.value.is_some())
            .map(|s| Variable {
                name: s.spec.name.clone(),
                value: self.shown(s, mask_caller).unwrap_or_default(),
                secure: s.spec.secure,
            })
            .collect()
    }

    /// The value a person may see: `None` if unset or secure; masked if it
    /// is the caller's number and `mask_caller`.
    fn shown(&self, s: &Slot, mask_caller: bool) -> Option<String> {
        if s.spec.secure {
            return None;
        }
        let v = s.value.as_deref()?;
        Some(if mask_caller && s.spec.name == CALLER_NUMBER {
            mask_number(v)
        } else {
            v.to_owned()
        })
    }

    fn index(&self, name: &str) -> Result<usize, CadError> {
        self.slots
            .iter()
            .position(|s| s.spec.name == name)
            .ok_or_else(|| CadError::Unknown { name: name.into() })
    }
}

/// OFFER-3: masks a phone number for sensitive-data protection, keeping only
/// its last 4 digits.
///
/// Every ASCII digit but the last 4 becomes `*`; everything else (a leading
/// `+`, spaces, `-`, `(`, `)`, `.`, letters of a SIP user part) is kept as it
/// is, so the number keeps its familiar shape: `+1 (555) 123-4567` becomes
/// `+* (***) ***-4567`. A number of 4 digits or fewer (an internal
/// extension) has nothing before its last 4 digits and is shown unchanged.
pub fn mask_number(s: &str) -> String {
    let digits = s.chars().filter(char::is_ascii_digit).count();
    let mut to_mask = digits.saturating_sub(4);
    s.chars()
        .map(|c| {
            if c.is_ascii_digit() && to_mask > 0 {
                to_mask -= 1;
                '*'
            } else {
                c
            }
        })
        .collect()
}
