//! The caller's walk through an entry point (issue 14 item 1): a sans-IO
//! machine per caller that plays prompts, reads keys, branches and finally
//! says where the caller goes (a queue, a user, a number, voicemail, or
//! away). Time and keys in, [`FlowAction`]s and a deadline out; the engine
//! carries the actions out (prompts to the media session, the exit to the
//! ACD or the dial plan) and feeds back keys (RFC 4733 events or SIP INFO)
//! and timeouts.
//!
//! Behaviour, where the issue and the spec are silent (what an operator
//! expects of an IVR):
//! - **Prompts** are played whole before the step's timer starts; the
//!   engine is told how long each plays ([`Prompt::duration`]). A `play`
//!   step ignores keys. A menu or collect prompt is cut short by the first
//!   key (barge-in): the caller who knows the menu need not listen to it.
//! - **Menus** take keys until they spell one choice and no longer choice
//!   starts with them, or until the inter-key wait passes on an exact
//!   choice; keys that start no choice are a wrong entry at once. No key
//!   within the first-key wait after the prompt is no entry. Each wrong or
//!   missing entry plays its prompt (`invalid`, `no-input`) and the menu
//!   again, `retries` times; then the caller goes to `otherwise` (or
//!   `no_input` after a last missing entry).
//! - **Collect** stores keys into a variable: up to `max_digits`, ended
//!   early by the terminator (not stored) or by the inter-key wait; fewer
//!   than `min_digits`, or a non-digit for an integer variable, is a wrong
//!   entry.
//! - **Instant steps** (hours, branch, queue state, set, entry point) run
//!   at once; more than [`MAX_INSTANT_STEPS`] in a row (a loop that
//!   `switchboard check` refuses, so only a bug) hangs up rather than spin.
//! - **CALL-XFER-4**: going to another entry point keeps the variables
//!   that flow declares (and the built-in ones); the others are dropped.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::acd::QueueId;
use crate::config::entry::{EntryPoints, FlowId, KeyWait, Mailbox, Prompt, QueueTest, StepKind, StepRef};
use crate::config::schedule::Openness;
use crate::time::Now;

/// Instant steps allowed in a row before the flow is taken for a loop.
pub const MAX_INSTANT_STEPS: usize = 64;

/// Variables every flow keeps (the ACD fills them in; CALL-XFER-4 never drops them).
pub const BUILTIN_VARIABLES: [&str; 4] = ["caller_number", "caller_name", "dnis", "queue"];

/// What the flow needs to know of the queues (`queue_state` steps).
pub trait QueueFacts {
    /// Agents of queue `q` logged in.
    fn agents_logged_in(&self, q: QueueId) -> usize;
    /// Agents of queue `q` `Available` now.
    fn agents_available(&self, q: QueueId) -> usize;
    /// The expected wait of a caller joining queue `q` now.
    fn expected_wait(&self, q: QueueId) -> Duration;
}

/// Where the caller leaves the flows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Exit {
    /// Into a queue's line.
    Queue {
        /// The queue.
        queue: QueueId,
        /// Its priority there.
        priority: u8,
        /// The skill level an agent needs (0: any agent of the queue).
        min_skill: u8,
    },
    /// To a directory user's phones.
    User {
        /// The extension.
        extension: String,
    },
    /// To a number, routed by the caller's context.
    Number {
        /// The number.
        number: String,
    },
    /// To record a voicemail.
    Voicemail {
        /// Whose.
        mailbox: Mailbox,
        /// The greeting before the tone.
        prompt: Prompt,
    },
    /// Hang up; the reason for the records (`flow_hangup`, `flow_loop`).
    Hangup {
        /// Why.
        reason: &'static str,
    },
}

/// What the engine does for the flow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FlowAction {
    /// Play this prompt to the caller now (replacing one playing), silence after.
    Play(Prompt),
    /// Stop the prompt playing (the caller pressed a key).
    StopPrompt,
    /// The caller entered entry point `flow` (logs and records).
    Entered {
        /// The entry point.
        flow: FlowId,
    },
    /// The caller leaves the flows; nothing more comes from this run.
    Leave(Exit),
}

/// Where a menu or collect step is.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Ask {
    /// Its prompt plays until `until` (a key cuts it short).
    Prompt { until: Instant },
    /// Waiting for a key until `deadline`.
    Keys { deadline: Instant },
    /// The wrong-entry or no-entry prompt plays until `until`, then the prompt again.
    Feedback { until: Instant },
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum State {
    /// A `play` step's prompt plays until `until`.
    Playing { until: Instant },
    /// A menu or collect step: attempt number (0 first), keys so far.
    Asking { attempt: u32, keys: String, at: Ask },
    /// A `hangup` step's goodbye plays until `until`.
    Goodbye { until: Instant },
    /// Left the flows.
    Done,
}

/// Why an entry was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Miss {
    Invalid,
    NoInput,
}

/// One caller's run through the entry points.
#[derive(Clone, Debug)]
pub struct FlowRun {
    flow: FlowId,
    step: StepRef,
    state: State,
    vars: Vec<(String, String)>,
    actions: VecDeque<FlowAction>,
    /// The steps walked, as `entry point/step` (logs, records).
    path: Vec<String>,
}

impl FlowRun {
    /// A caller entering entry point `flow` at `now`, with the call's
    /// variables so far (built-ins, values from the INVITE, or carried over
    /// by a transfer: only those `flow` declares are kept, CALL-XFER-4).
    pub fn start(
        entry: &EntryPoints,
        flow: FlowId,
        vars: Vec<(String, String)>,
        now: Now,
        facts: &dyn QueueFacts,
    ) -> FlowRun {
        let mut run = FlowRun::entering(entry, flow, vars);
        run.run_from(entry, StepRef(0), now, facts);
        run
    }

    /// A run at the start of `flow`, its variables kept per CALL-XFER-4.
    fn entering(entry: &EntryPoints, flow: FlowId, vars: Vec<(String, String)>) -> FlowRun {
        let mut run = FlowRun {
            flow,
            step: StepRef(0),
            state: State::Done,
            vars,
            actions: VecDeque::new(),
            path: Vec::new(),
        };
        run.enter_flow(entry, flow);
        run
    }

    /// The entry point the caller is in.
    pub fn flow(&self) -> FlowId {
        self.flow
    }

    /// The call's variables as the flow left them (set, collected, carried).
    pub fn variables(&self) -> &[(String, String)] {
        &self.vars
    }

    /// The value of variable `name`, if set.
    pub fn variable(&self, name: &str) -> Option<&str> {
        self.vars.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// The steps walked so far (`entry point/step`).
    pub fn path(&self) -> &[String] {
        &self.path
    }

    /// Whether the caller has left the flows.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// The next action to carry out; drain until `None` after every input.
    pub fn poll_action(&mut self) -> Option<FlowAction> {
        self.actions.pop_front()
    }

    /// When [`FlowRun::handle_timeout`] is next due.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match &self.state {
            State::Playing { until } | State::Goodbye { until } => Some(*until),
            State::Asking { at, .. } => Some(match at {
                Ask::Prompt { until } | Ask::Feedback { until } => *until,
                Ask::Keys { deadline } => *deadline,
            }),
            State::Done => None,
        }
    }

    /// Time passes: a prompt ended, or a wait ran out.
    pub fn handle_timeout(&mut self, entry: &EntryPoints, now: Now, facts: &dyn QueueFacts) {
        if self.poll_timeout().is_none_or(|t| t > now.mono) {
            return;
        }
        let Some(kind) = self.kind(entry) else {
            return self.leave(Exit::Hangup { reason: "flow_gone" });
        };
        match std::mem::replace(&mut self.state, State::Done) {
            State::Playing { .. } => {
                if let StepKind::Play { next, .. } = kind {
                    let next = *next;
                    self.run_from(entry, next, now, facts);
                }
            }
            State::Goodbye { .. } => self.leave(Exit::Hangup { reason: "flow_hangup" }),
            State::Asking { attempt, keys, at } => {
                let wait = key_wait(kind).cloned();
                let Some(wait) = wait else { return };
                match at {
                    Ask::Feedback { .. } => self.ask(entry, attempt, now),
                    Ask::Prompt { .. } => {
                        self.state = State::Asking {
                            attempt,
                            keys,
                            at: Ask::Keys {
                                deadline: now.mono + wait.first,
                            },
                        };
                    }
                    Ask::Keys { .. } => self.keys_timed_out(entry, attempt, keys, now, facts),
                }
            }
            State::Done => {}
        }
    }

    /// The caller pressed `key` (`0`-`9`, `*`, `#`, `A`-`D`).
    pub fn handle_key(&mut self, entry: &EntryPoints, key: char, now: Now, facts: &dyn QueueFacts) {
        let State::Asking { attempt, keys, at } = &mut self.state else {
            return;
        };
        let (attempt, mut keys, at) = (*attempt, std::mem::take(keys), at.clone());
        if matches!(at, Ask::Prompt { .. } | Ask::Feedback { .. }) {
            // Barge-in: the key cuts the prompt short and counts.
            self.actions.push_back(FlowAction::StopPrompt);
        }
        keys.push(key);
        let Some(kind) = self.kind(entry).cloned() else { return };
        match &kind {
            StepKind::Menu { choices, wait, .. } => {
                let exact = choices.iter().find(|(k, _)| *k == keys).map(|(_, s)| *s);
                let longer = choices
                    .iter()
                    .any(|(k, _)| k.len() > keys.len() && k.starts_with(&keys));
                match (exact, longer) {
                    (Some(next), false) => self.run_from(entry, next, now, facts),
                    (None, false) => self.missed(entry, attempt, Miss::Invalid, now, facts),
                    (_, true) => self.wait_more(attempt, keys, now.mono + wait.between),
                }
            }
            StepKind::Collect {
                max_digits,
                terminator,
                wait,
                ..
            } => {
                if Some(key) == *terminator {
                    keys.pop();
                    self.collected(entry, attempt, keys, now, facts);
                } else if keys.chars().count() >= *max_digits {
                    self.collected(entry, attempt, keys, now, facts);
                } else {
                    self.wait_more(attempt, keys, now.mono + wait.between);
                }
            }
            _ => {}
        }
    }

    fn wait_more(&mut self, attempt: u32, keys: String, deadline: Instant) {
        self.state = State::Asking {
            attempt,
            keys,
            at: Ask::Keys { deadline },
        };
    }

    fn keys_timed_out(&mut self, entry: &EntryPoints, attempt: u32, keys: String, now: Now, facts: &dyn QueueFacts) {
        if keys.is_empty() {
            return self.missed(entry, attempt, Miss::NoInput, now, facts);
        }
        let Some(kind) = self.kind(entry).cloned() else { return };
        match &kind {
            StepKind::Menu { choices, .. } => match choices.iter().find(|(k, _)| *k == keys) {
                Some((_, next)) => self.run_from(entry, *next, now, facts),
                None => self.missed(entry, attempt, Miss::Invalid, now, facts),
            },
            StepKind::Collect { .. } => self.collected(entry, attempt, keys, now, facts),
            _ => {}
        }
    }

    /// A collect step's entry is complete: stored and on, or refused.
    fn collected(&mut self, entry: &EntryPoints, attempt: u32, keys: String, now: Now, facts: &dyn QueueFacts) {
        let Some(StepKind::Collect {
            variable,
            min_digits,
            next,
            ..
        }) = self.kind(entry).cloned()
        else {
            return;
        };
        let integer = entry
            .flow(self.flow)
            .and_then(|f| f.variables.iter().find(|(n, _)| *n == variable))
            .is_some_and(|(_, t)| *t == crate::acd::VarType::Integer);
        let digits_only = keys.chars().all(|c| c.is_ascii_digit());
        if keys.is_empty() {
            return self.missed(entry, attempt, Miss::NoInput, now, facts);
        }
        if keys.chars().count() < min_digits || (integer && !digits_only) {
            return self.missed(entry, attempt, Miss::Invalid, now, facts);
        }
        self.set(&variable, keys);
        self.run_from(entry, next, now, facts);
    }

    /// A wrong or missing entry: again after its prompt, or on after the retries.
    fn missed(&mut self, entry: &EntryPoints, attempt: u32, miss: Miss, now: Now, facts: &dyn QueueFacts) {
        let Some(kind) = self.kind(entry).cloned() else { return };
        let (wait, otherwise, no_input) = match &kind {
            StepKind::Menu {
                wait,
                otherwise,
                no_input,
                ..
            } => (wait, *otherwise, *no_input),
            StepKind::Collect { wait, otherwise, .. } => (wait, *otherwise, *otherwise),
            _ => return,
        };
        if attempt >= wait.retries {
            let next = if miss == Miss::NoInput { no_input } else { otherwise };
            return self.run_from(entry, next, now, facts);
        }
        let feedback = match miss {
            Miss::Invalid => wait.invalid_prompt.clone(),
            Miss::NoInput => wait.no_input_prompt.clone(),
        };
        match feedback {
            Some(p) => {
                let until = now.mono + p.duration();
                self.actions.push_back(FlowAction::Play(p));
                self.state = State::Asking {
                    attempt: attempt + 1,
                    keys: String::new(),
                    at: Ask::Feedback { until },
                };
            }
            None => self.ask(entry, attempt + 1, now),
        }
    }

    /// Plays a menu or collect step's prompt for attempt `attempt`.
    fn ask(&mut self, entry: &EntryPoints, attempt: u32, now: Now) {
        let prompt = match self.kind(entry) {
            Some(StepKind::Menu { prompt, .. } | StepKind::Collect { prompt, .. }) => prompt.clone(),
            _ => return,
        };
        let until = now.mono + prompt.duration();
        self.actions.push_back(FlowAction::Play(prompt));
        self.state = State::Asking {
            attempt,
            keys: String::new(),
            at: Ask::Prompt { until },
        };
    }

    fn kind<'e>(&self, entry: &'e EntryPoints) -> Option<&'e StepKind> {
        entry.flow(self.flow)?.step(self.step).map(|s| &s.kind)
    }

    fn set(&mut self, name: &str, value: String) {
        match self.vars.iter_mut().find(|(n, _)| n == name) {
            Some((_, v)) => *v = value,
            None => self.vars.push((name.to_owned(), value)),
        }
    }

    fn leave(&mut self, exit: Exit) {
        self.state = State::Done;
        self.actions.push_back(FlowAction::Leave(exit));
    }

    /// CALL-XFER-4 on entering `flow`: keep the variables it declares.
    fn enter_flow(&mut self, entry: &EntryPoints, flow: FlowId) {
        self.flow = flow;
        if let Some(f) = entry.flow(flow) {
            self.vars
                .retain(|(n, _)| BUILTIN_VARIABLES.contains(&n.as_str()) || f.variables.iter().any(|(v, _)| v == n));
        }
        self.actions.push_back(FlowAction::Entered { flow });
    }

    /// Runs step `step` of the current flow and the instant steps after it,
    /// until a step waits or the caller leaves.
    fn run_from(&mut self, entry: &EntryPoints, mut step: StepRef, now: Now, facts: &dyn QueueFacts) {
        for _ in 0..MAX_INSTANT_STEPS {
            self.step = step;
            let Some(flow) = entry.flow(self.flow) else {
                return self.leave(Exit::Hangup { reason: "flow_gone" });
            };
            let Some(s) = flow.step(step) else {
                return self.leave(Exit::Hangup { reason: "flow_gone" });
            };
            self.path.push(format!("{}/{}", flow.name, s.name));
            step = match &s.kind {
                StepKind::Play { prompt, .. } => {
                    self.actions.push_back(FlowAction::Play(prompt.clone()));
                    self.state = State::Playing {
                        until: now.mono + prompt.duration(),
                    };
                    return;
                }
                StepKind::Menu { .. } | StepKind::Collect { .. } => return self.ask(entry, 0, now),
                StepKind::Hours {
                    schedule,
                    open,
                    closed,
                    holiday,
                } => match entry.schedules.get(*schedule).map(|s| s.state_at(now.unix_ms)) {
                    Some(Openness::Open) => *open,
                    Some(Openness::Holiday) => *holiday,
                    Some(Openness::Closed | Openness::Closure) | None => *closed,
                },
                StepKind::Branch {
                    variable,
                    cases,
                    otherwise,
                } => {
                    let value = self.variable(variable);
                    cases
                        .iter()
                        .find(|(v, _)| Some(v.as_str()) == value)
                        .map_or(*otherwise, |(_, s)| *s)
                }
                StepKind::QueueState {
                    queue,
                    test,
                    then,
                    otherwise,
                } => {
                    let holds = match test {
                        QueueTest::NoAgentsLoggedIn => facts.agents_logged_in(*queue) == 0,
                        QueueTest::NoAgentsAvailable => facts.agents_available(*queue) == 0,
                        QueueTest::ExpectedWaitOver(w) => facts.expected_wait(*queue) > *w,
                    };
                    if holds {
                        *then
                    } else {
                        *otherwise
                    }
                }
                StepKind::Set { values, next } => {
                    for (n, v) in values {
                        self.set(n, v.clone());
                    }
                    *next
                }
                StepKind::EntryPoint { flow } => {
                    self.enter_flow(entry, *flow);
                    StepRef(0)
                }
                StepKind::Queue {
                    queue,
                    priority,
                    min_skill,
                } => {
                    return self.leave(Exit::Queue {
                        queue: *queue,
                        priority: *priority,
                        min_skill: *min_skill,
                    })
                }
                StepKind::User { extension } => {
                    return self.leave(Exit::User {
                        extension: extension.clone(),
                    })
                }
                StepKind::Number { number } => return self.leave(Exit::Number { number: number.clone() }),
                StepKind::Voicemail { mailbox, prompt } => {
                    return self.leave(Exit::Voicemail {
                        mailbox: mailbox.clone(),
                        prompt: prompt.clone(),
                    })
                }
                StepKind::Hangup { prompt: Some(p) } => {
                    self.actions.push_back(FlowAction::Play(p.clone()));
                    self.state = State::Goodbye {
                        until: now.mono + p.duration(),
                    };
                    return;
                }
                StepKind::Hangup { prompt: None } => return self.leave(Exit::Hangup { reason: "flow_hangup" }),
            };
        }
        let at = self.path.last().map_or("", String::as_str);
        tracing::error!(step = at, "entry point steps loop without waiting: hanging up");
        self.leave(Exit::Hangup { reason: "flow_loop" });
    }
}

/// Why [`route_without_keys`] found no target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Unroutable {
    /// A menu or collect step asks for keys before any target.
    #[error("the entry point asks the caller for keys before it leads anywhere")]
    NeedsKeys,
    /// It leads to voicemail or a hang-up: nobody to talk to.
    #[error("the entry point leads to voicemail or a hang-up, not to someone to talk to")]
    NoParty,
    /// Its steps loop without waiting (a bug `switchboard check` refuses).
    #[error("the entry point's steps loop")]
    Loops,
}

/// Where entry point `flow` leads without a caller pressing keys (a
/// consult to an entry point, CALL-CONSULT-1, CALL-XFER-4): its hours,
/// branches, queue tests and sets decide, its prompts are skipped; the
/// first queue, user or number it reaches is the target. `vars` are the
/// interaction's values (only those the flow declares count).
pub fn route_without_keys(
    entry: &EntryPoints,
    flow: FlowId,
    vars: Vec<(String, String)>,
    now: Now,
    facts: &dyn QueueFacts,
) -> Result<Exit, Unroutable> {
    let mut run = FlowRun::entering(entry, flow, vars);
    let mut step = StepRef(0);
    for _ in 0..MAX_INSTANT_STEPS {
        let kind = entry
            .flow(run.flow)
            .and_then(|f| f.step(step))
            .map(|s| s.kind.clone())
            .ok_or(Unroutable::Loops)?;
        step = match kind {
            StepKind::Play { next, .. } => next,
            StepKind::Menu { .. } | StepKind::Collect { .. } => return Err(Unroutable::NeedsKeys),
            StepKind::Voicemail { .. } | StepKind::Hangup { .. } => return Err(Unroutable::NoParty),
            _ => {
                // Instant steps: run them as a caller's walk would.
                run.actions.clear();
                run.run_from(entry, step, now, facts);
                while let Some(a) = run.poll_action() {
                    if let FlowAction::Leave(exit) = a {
                        return match exit {
                            Exit::Voicemail { .. } | Exit::Hangup { .. } => Err(Unroutable::NoParty),
                            e => Ok(e),
                        };
                    }
                }
                // It stopped at a step that waits: a prompt is skipped,
                // keys cannot be given.
                match entry.flow(run.flow).and_then(|f| f.step(run.step)).map(|s| &s.kind) {
                    Some(StepKind::Play { next, .. }) => *next,
                    _ => return Err(Unroutable::NeedsKeys),
                }
            }
        };
    }
    Err(Unroutable::Loops)
}

fn key_wait(kind: &StepKind) -> Option<&KeyWait> {
    match kind {
        StepKind::Menu { wait, .. } | StepKind::Collect { wait, .. } => Some(wait),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
