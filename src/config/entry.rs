//! The typed entry points of `entrypoints.toml` (issue 14 item 1,
//! CALL-XFER-4): named flows of typed steps that a dial-plan number (or a
//! transfer) leads a caller into, the schedules their `hours` steps read,
//! and the prompts their steps play.
//!
//! Built once by `entry_load.rs` (every field checked, every step name,
//! queue, user, schedule, variable and prompt resolved) and checked by
//! `entry_check.rs` (no unreachable step, no loop without exit, no loop
//! that never waits for the caller). Steps refer to each other by index in
//! their flow ([`StepRef`]); flows by index ([`FlowId`]). The flow runner
//! (`crate::flow`) walks them.

use std::sync::Arc;
use std::time::Duration;

use super::schedule::Schedule;
use super::Origin;
use crate::acd::{QueueId, VarType};

/// An entry point: its index in [`EntryPoints::flows`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FlowId(pub usize);

/// A step: its index in its flow's [`Flow::steps`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StepRef(pub usize);

/// Sample rate of every prompt (the media plane's narrowband rate).
pub const PROMPT_RATE: u32 = 8000;

/// A prompt: a WAV of `media/prompts/` (or the admin's `prompts_dir`),
/// decoded at load into 8 kHz samples shared by every call playing it.
#[derive(Clone, PartialEq, Eq)]
pub struct Prompt {
    /// Its name (the file name without `.wav`).
    pub name: String,
    /// Its audio, 8 kHz mono.
    pub samples: Arc<[i16]>,
}

impl Prompt {
    /// How long it plays.
    pub fn duration(&self) -> Duration {
        Duration::from_millis(self.samples.len() as u64 * 1000 / u64::from(PROMPT_RATE))
    }
}

impl std::fmt::Debug for Prompt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Prompt({}, {} ms)", self.name, self.duration().as_millis())
    }
}

/// How a step that reads keys waits and retries (menus and collections).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyWait {
    /// After the prompt, how long to wait for the first key (`timeout_s`, default 5).
    pub first: Duration,
    /// Between two keys (`inter_digit_s`, default 3).
    pub between: Duration,
    /// Attempts after the first one (`retries`, default 2).
    pub retries: u32,
    /// Played after a wrong entry, before the prompt again (`invalid_prompt`, default `invalid`).
    pub invalid_prompt: Option<Prompt>,
    /// Played after no entry, before the prompt again (`no_input_prompt`, default `no-input`).
    pub no_input_prompt: Option<Prompt>,
}

impl KeyWait {
    /// Default first-key wait.
    pub const DEFAULT_FIRST: Duration = Duration::from_secs(5);
    /// Default inter-key wait.
    pub const DEFAULT_BETWEEN: Duration = Duration::from_secs(3);
    /// Default retries.
    pub const DEFAULT_RETRIES: u32 = 2;
}

/// What an entry point's `queue_state` step tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueueTest {
    /// No agent of the queue is logged in (`no_agents_logged_in`).
    NoAgentsLoggedIn,
    /// No agent of the queue is `Available` (`no_agents_available`).
    NoAgentsAvailable,
    /// The expected wait of a new caller is over `wait_s` (`expected_wait_over`).
    ExpectedWaitOver(Duration),
}

/// Whose voicemail a `voicemail` step records into (item 5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mailbox {
    /// A queue's: offered to its agents as a work item.
    Queue(QueueId),
    /// A directory user's (by extension).
    User(String),
}

/// One step of a flow, with where it was written.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// Its name, unique in its flow.
    pub name: String,
    /// What it does.
    pub kind: StepKind,
    /// Where it was written (`[[entry_point.step]]`'s `name`).
    pub origin: Origin,
}

/// What a step does; the `StepRef`s are where the caller goes next.
#[derive(Clone, Debug, PartialEq)]
pub enum StepKind {
    /// Play a prompt, then `next` (keys pressed meanwhile are ignored).
    Play {
        /// What to play.
        prompt: Prompt,
        /// Then.
        next: StepRef,
    },
    /// Play a prompt and branch on the keys pressed (RFC 4733 or SIP
    /// INFO); a key during the prompt cuts it short.
    Menu {
        /// The menu.
        prompt: Prompt,
        /// Keys (`1`, `21`, `*`, ...) and where each leads.
        choices: Vec<(String, StepRef)>,
        /// Waits and retries.
        wait: KeyWait,
        /// After the retries, when the last attempt was a wrong entry.
        otherwise: StepRef,
        /// After the retries, when the last attempt was no entry (default `otherwise`).
        no_input: StepRef,
    },
    /// Play a prompt and store the keys into a call variable.
    Collect {
        /// The prompt.
        prompt: Prompt,
        /// The variable (of `acd.toml`, string or integer).
        variable: String,
        /// Fewest keys.
        min_digits: usize,
        /// Most keys (reaching it ends the entry).
        max_digits: usize,
        /// The key that ends an entry early (default `#`; not stored).
        terminator: Option<char>,
        /// Waits and retries.
        wait: KeyWait,
        /// After a valid entry.
        next: StepRef,
        /// After the retries.
        otherwise: StepRef,
    },
    /// Branch on business hours.
    Hours {
        /// Index into [`EntryPoints::schedules`].
        schedule: usize,
        /// Open.
        open: StepRef,
        /// Outside the weekly hours or in a closure.
        closed: StepRef,
        /// On a holiday (default `closed`).
        holiday: StepRef,
    },
    /// Branch on a call variable's value.
    Branch {
        /// The variable.
        variable: String,
        /// Values (checked against the variable's type) and where each leads.
        cases: Vec<(String, StepRef)>,
        /// No case matched (or no value).
        otherwise: StepRef,
    },
    /// Branch on a queue's state.
    QueueState {
        /// The queue.
        queue: QueueId,
        /// The test.
        test: QueueTest,
        /// The test holds.
        then: StepRef,
        /// It does not.
        otherwise: StepRef,
    },
    /// Set call variables (typed as CAD-1), then `next`.
    Set {
        /// `(variable, value)`, each checked against its type.
        values: Vec<(String, String)>,
        /// Then.
        next: StepRef,
    },
    /// Leave the flow for a queue.
    Queue {
        /// The queue.
        queue: QueueId,
        /// Its priority in the line (higher first; default 0).
        priority: u8,
        /// The skill level (1..=10) an agent needs for this queue to be
        /// offered the caller; 0: any agent of the queue.
        min_skill: u8,
    },
    /// Go on in another entry point (its variables carried per CALL-XFER-4).
    EntryPoint {
        /// The entry point.
        flow: FlowId,
    },
    /// Leave the flow for a directory user's phones.
    User {
        /// The extension.
        extension: String,
    },
    /// Leave the flow for a number, routed by the dial plan of the context
    /// the call came in through.
    Number {
        /// The number (kept to CALL-DIAL-1's characters).
        number: String,
    },
    /// Record a voicemail (item 5).
    Voicemail {
        /// Whose.
        mailbox: Mailbox,
        /// The greeting before the tone.
        prompt: Prompt,
    },
    /// Say goodbye (if a prompt is given) and hang up.
    Hangup {
        /// What to say first.
        prompt: Option<Prompt>,
    },
}

impl StepKind {
    /// The kind's name as written in the file (`kind = "menu"`).
    pub fn name(&self) -> &'static str {
        match self {
            StepKind::Play { .. } => "play",
            StepKind::Menu { .. } => "menu",
            StepKind::Collect { .. } => "collect",
            StepKind::Hours { .. } => "hours",
            StepKind::Branch { .. } => "branch",
            StepKind::QueueState { .. } => "queue_state",
            StepKind::Set { .. } => "set",
            StepKind::Queue { .. } => "queue",
            StepKind::EntryPoint { .. } => "entry_point",
            StepKind::User { .. } => "user",
            StepKind::Number { .. } => "number",
            StepKind::Voicemail { .. } => "voicemail",
            StepKind::Hangup { .. } => "hangup",
        }
    }

    /// The steps of the same flow this one may lead to.
    pub fn successors(&self) -> Vec<StepRef> {
        match self {
            StepKind::Play { next, .. } | StepKind::Set { next, .. } => vec![*next],
            StepKind::Menu {
                choices,
                otherwise,
                no_input,
                ..
            } => choices.iter().map(|(_, s)| *s).chain([*otherwise, *no_input]).collect(),
            StepKind::Collect { next, otherwise, .. } => vec![*next, *otherwise],
            StepKind::Hours {
                open, closed, holiday, ..
            } => vec![*open, *closed, *holiday],
            StepKind::Branch { cases, otherwise, .. } => cases.iter().map(|(_, s)| *s).chain([*otherwise]).collect(),
            StepKind::QueueState { then, otherwise, .. } => vec![*then, *otherwise],
            StepKind::Queue { .. }
            | StepKind::EntryPoint { .. }
            | StepKind::User { .. }
            | StepKind::Number { .. }
            | StepKind::Voicemail { .. }
            | StepKind::Hangup { .. } => Vec::new(),
        }
    }

    /// The caller leaves the flows here (a queue, a user, a number,
    /// voicemail, hang-up).
    pub fn is_exit(&self) -> bool {
        matches!(
            self,
            StepKind::Queue { .. }
                | StepKind::User { .. }
                | StepKind::Number { .. }
                | StepKind::Voicemail { .. }
                | StepKind::Hangup { .. }
        )
    }

    /// The step waits on the caller (plays a prompt or reads keys), so a
    /// loop through it cannot spin.
    pub fn waits(&self) -> bool {
        matches!(
            self,
            StepKind::Play { .. } | StepKind::Menu { .. } | StepKind::Collect { .. }
        )
    }
}

/// `[[entry_point]]`: a named flow.
#[derive(Clone, Debug, PartialEq)]
pub struct Flow {
    /// Its name (dial plan `entry_point = ".."`, transfers, logs).
    pub name: String,
    /// Its steps, the first one first.
    pub steps: Vec<Step>,
    /// The variables of `acd.toml` this flow uses with their types:
    /// CALL-XFER-4 carries over those whose name and type match.
    pub variables: Vec<(String, VarType)>,
    /// Where it was written.
    pub origin: Origin,
}

impl Flow {
    /// Its first step.
    pub const FIRST: StepRef = StepRef(0);

    /// Step `s`.
    pub fn step(&self, s: StepRef) -> Option<&Step> {
        self.steps.get(s.0)
    }
}

/// Everything `entrypoints.toml` defines.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EntryPoints {
    /// The flows, in file order.
    pub flows: Vec<Flow>,
    /// The schedules, in file order.
    pub schedules: Vec<Schedule>,
}

impl EntryPoints {
    /// The entry point named `name`.
    pub fn by_name(&self, name: &str) -> Option<FlowId> {
        self.flows.iter().position(|f| f.name == name).map(FlowId)
    }

    /// Entry point `id`.
    pub fn flow(&self, id: FlowId) -> Option<&Flow> {
        self.flows.get(id.0)
    }
}
