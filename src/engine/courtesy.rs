//! CB-1: the courtesy callback offered to a caller waiting in a queue.
//!
//! A queue with `courtesy_callback_after_s` looks at each waiting caller
//! [`CHECK_FIRST`] after it arrives and every [`CHECK_EVERY`] after: once
//! the caller's expected wait (`queue_wait.rs`) reaches the threshold, the
//! caller hears `callback-offer` ("press 1 ... you keep your place in
//! line") over its music, once. Keys come by RFC 4733 (the media session
//! reports them from the held caller's leg) or SIP INFO (the early dialog
//! is opened for it). The dialogue:
//!
//! - `1` → `callback-number` ("press 1 for the number you are calling
//!   from, 2 for another"), or straight to `enter-number` when the
//!   caller's own number is not one CB-3 accepts (a withheld or short
//!   number);
//! - `1` → the caller's own number; `2` → `enter-number`: digits then `#`
//!   (7 to 15 digits, CB-3); a number CB-3 refuses or the agents' dial
//!   plan cannot route gets `invalid` and `enter-number` again;
//! - the callback is stored (kind `courtesy`, already `offered`: it waits
//!   where the caller waited), `callback-confirmed` plays, and then the
//!   caller's call ends (`603 Callback Scheduled`) while its call goes on
//!   as a callback call under the same number (`call/callback.rs`): the
//!   interaction never leaves its place in line. When it comes up, the
//!   agent gets a callback offer (OFFER-6) and the switch calls the agent,
//!   then the customer.
//!
//! Chosen where the rule is silent: [`KEY_WAIT`] without a key ends the
//! dialogue (the caller keeps waiting with its music, not offered again);
//! an agent who answers the caller during the confirmation serves it at
//! once and the callback is closed as done; a caller who hangs up after
//! the confirmation is still called back (the callback goes back to
//! pending and is placed as soon as an agent is free).

use super::queue::interaction_of;
use super::{Engine, EngineTimer, Now, Output};
use crate::acd::callback::{check_number, validate, Created, Draft};
use crate::call::media::{AfterPrompt, MediaCommand, MediaLeg};
use crate::call::CustomerDial;
use crate::ids::CallRef;
use std::collections::{HashMap, HashSet};
use std::time::Duration;

/// The first look at a new waiting caller.
pub(crate) const CHECK_FIRST: Duration = Duration::from_secs(5);
/// How often a waiting caller's expected wait is looked at again.
const CHECK_EVERY: Duration = Duration::from_secs(10);
/// How long the caller has to key an answer after a prompt.
const KEY_WAIT: Duration = Duration::from_secs(10);

/// Where a caller's courtesy dialogue is.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Step {
    /// `callback-offer` played: `1` accepts.
    Offered,
    /// `callback-number` played: `1` own number, `2` another.
    ChooseNumber,
    /// `enter-number` played: the digits so far.
    Entering(String),
    /// `callback-confirmed` plays; then the call becomes the callback's.
    Confirming {
        /// The callback's id.
        callback: String,
        /// The number to call.
        number: String,
    },
}

/// Callers in a courtesy dialogue, and those already offered one.
#[derive(Debug, Default)]
pub(crate) struct CourtesyCalls {
    steps: HashMap<CallRef, Step>,
    offered: HashSet<CallRef>,
}

impl Engine {
    /// Call `id`'s caller entered a queue's line: its first look, when
    /// the queue `offers` courtesy callbacks.
    pub(crate) fn arm_courtesy(&mut self, now: Now, id: CallRef, offers: bool) {
        if offers {
            self.timers.set(EngineTimer::Courtesy(id), now.mono + CHECK_FIRST);
        }
    }

    /// The courtesy timer of call `id`: a look at its wait, or no key came.
    pub(crate) fn on_courtesy_timer(&mut self, now: Now, id: CallRef) {
        match self.courtesy.steps.get(&id).cloned() {
            None => self.courtesy_look(now, id),
            Some(Step::Confirming { callback, number }) => self.courtesy_hand_over(now, id, &callback, &number),
            Some(_) => {
                tracing::info!(call = %id, "courtesy callback: no key, the caller keeps waiting");
                self.courtesy.steps.remove(&id);
                self.out.push_back(Output::Media(MediaCommand::Hold {
                    call: id.0,
                    held: Some(MediaLeg::A),
                }));
            }
        }
    }

    /// Offers the callback once the caller's expected wait reached the
    /// queue's threshold; else looks again later.
    fn courtesy_look(&mut self, now: Now, id: CallRef) {
        let interaction = interaction_of(id);
        let Some(info) = self.acd.interaction(interaction) else {
            return;
        };
        if self.courtesy.offered.contains(&id) {
            return;
        }
        if info.phase != crate::acd::Phase::Queued {
            // An offer rings: look again later (a RONA brings it back).
            if info.phase == crate::acd::Phase::Ringing {
                self.timers.set(EngineTimer::Courtesy(id), now.mono + CHECK_EVERY);
            }
            return;
        }
        let queue = info.queue;
        let Some(after) = self.cfg.acd().queue(queue).and_then(|q| q.courtesy_callback_after) else {
            return;
        };
        let Some(place) = self.acd.waiting(queue).iter().position(|i| *i == interaction) else {
            return;
        };
        let wait = self.expected_wait(queue, place as u32 + 1);
        if wait < after {
            self.timers.set(EngineTimer::Courtesy(id), now.mono + CHECK_EVERY);
            return;
        }
        tracing::info!(call = %id, expected_wait_s = wait.as_secs(), "courtesy callback offered (CB-1)");
        self.courtesy.offered.insert(id);
        self.courtesy.steps.insert(id, Step::Offered);
        // SIP INFO keys come in the caller's early dialog.
        self.with_call(now, id, |c, ctx| c.open_early_dialog(ctx));
        self.courtesy_prompt(now, id, "callback-offer", AfterPrompt::Music);
    }

    /// Plays `name` to the caller; the key wait starts after it.
    fn courtesy_prompt(&mut self, now: Now, id: CallRef, name: &str, then: AfterPrompt) {
        let Some(samples) = crate::media::prompts::embedded_samples(name) else {
            return;
        };
        let length = Duration::from_millis(samples.len() as u64 / 8);
        self.out.push_back(Output::Media(MediaCommand::Prompt {
            call: id.0,
            leg: MediaLeg::A,
            samples,
            then,
        }));
        self.timers.set(EngineTimer::Courtesy(id), now.mono + length + KEY_WAIT);
    }

    /// A key from a caller in a courtesy dialogue; false when it is none.
    pub(crate) fn courtesy_key(&mut self, now: Now, id: CallRef, key: char) -> bool {
        let Some(step) = self.courtesy.steps.get(&id).cloned() else {
            return false;
        };
        let own = self.caller_id(id).map(|(_, number, _)| number).unwrap_or_default();
        match (step, key) {
            (Step::Offered, '1') if check_number(&own).is_ok() => {
                self.courtesy.steps.insert(id, Step::ChooseNumber);
                self.courtesy_prompt(now, id, "callback-number", AfterPrompt::Silence);
            }
            (Step::Offered, '1') | (Step::ChooseNumber, '2') => self.courtesy_enter(now, id),
            (Step::ChooseNumber, '1') => self.courtesy_confirm(now, id, own),
            (Step::Entering(digits), '#') => self.courtesy_confirm(now, id, digits),
            (Step::Entering(mut digits), d) if d.is_ascii_digit() && digits.len() < 15 => {
                digits.push(d);
                self.courtesy.steps.insert(id, Step::Entering(digits));
                self.timers.set(EngineTimer::Courtesy(id), now.mono + KEY_WAIT);
            }
            _ => {}
        }
        true
    }

    fn courtesy_enter(&mut self, now: Now, id: CallRef) {
        self.courtesy.steps.insert(id, Step::Entering(String::new()));
        self.courtesy_prompt(now, id, "enter-number", AfterPrompt::Silence);
    }

    /// The caller chose `number`: stored as a courtesy callback, confirmed.
    fn courtesy_confirm(&mut self, now: Now, id: CallRef, number: String) {
        let interaction = interaction_of(id);
        let Some(info) = self.acd.interaction(interaction) else {
            return;
        };
        let queue = info.queue;
        let routable = check_number(&number).is_ok() && self.callback_target(now, &number).is_ok();
        if !routable {
            tracing::info!(call = %id, %number, "courtesy callback: a number that cannot be called");
            self.courtesy_prompt(now, id, "invalid", AfterPrompt::Silence);
            self.courtesy_enter(now, id);
            return;
        }
        let name = self
            .caller_id(id)
            .map(|(_, _, name)| name)
            .filter(|n| (3..=250).contains(&n.chars().count()))
            .unwrap_or_else(|| format!("Caller {number}"));
        let draft = Draft {
            kind: crate::acd::callback::CallbackKind::Courtesy,
            number: number.clone(),
            name,
            queue: Some(queue),
            queue_name: self.cfg.acd().queue(queue).map(|q| q.name.clone()).unwrap_or_default(),
            zone: None,
            window: None,
            reason: String::new(),
            assigned: crate::acd::callback::Assigned::AnyAgent,
        };
        let created = validate(&draft, now.unix_ms).and_then(|v| self.callbacks.create(v, now.unix_ms, None));
        let Ok(Created::New(cb)) = created else {
            tracing::warn!(call = %id, "courtesy callback could not be stored");
            return;
        };
        // Already in line: offered from the start, written ahead (CB-8).
        if let Some(c) = self.callbacks.offered(&cb.id, now.unix_ms).cloned() {
            self.record_callback(&c);
        }
        self.placing.by_call.insert(id, (interaction, cb.id.clone()));
        tracing::info!(call = %id, callback = %cb.id, %number, "courtesy callback confirmed (CB-1)");
        self.courtesy.steps.insert(
            id,
            Step::Confirming {
                callback: cb.id,
                number,
            },
        );
        self.courtesy_prompt(now, id, "callback-confirmed", AfterPrompt::Silence);
        // The hand-over follows the prompt, not the key wait.
        if let Some(samples) = crate::media::prompts::embedded_samples("callback-confirmed") {
            let length = Duration::from_millis(samples.len() as u64 / 8);
            self.timers.set(EngineTimer::Courtesy(id), now.mono + length);
        }
    }

    /// After the confirmation: the caller's call ends, the interaction
    /// stays in line carried by the same call, now a callback call.
    fn courtesy_hand_over(&mut self, now: Now, id: CallRef, callback: &str, number: &str) {
        self.courtesy.steps.remove(&id);
        let target = match self.callback_target(now, number) {
            Ok(t) => t,
            Err(why) => {
                tracing::warn!(call = %id, %callback, %why, "courtesy callback cannot be placed");
                return;
            }
        };
        let interaction = interaction_of(id);
        let Some(q) = self
            .acd
            .interaction(interaction)
            .and_then(|i| self.cfg.acd().queue(i.queue))
            .cloned()
        else {
            return;
        };
        let dial = CustomerDial::new(
            number.to_owned(),
            target.clone(),
            self.callback_from_user(&target, &q.number),
            self.cfg.acd().callbacks.ring,
        );
        let label = format!("callback:{}", q.name);
        let done = self
            .with_call(now, id, |c, ctx| {
                let ok = c.become_callback(ctx, dial, label.clone());
                if ok {
                    c.route = label;
                }
                ok
            })
            .unwrap_or(false);
        if !done {
            return;
        }
        self.timers.cancel(EngineTimer::Progress(id));
        self.timers.cancel(EngineTimer::Announce(id));
        if let Some(qc) = self.queues.calls.get_mut(&interaction) {
            qc.progress = None;
        }
    }

    /// An agent answered the caller: the dialogue ends (its timer too, so
    /// nothing puts the caller back on music); during the confirmation the
    /// callback it asked for is done.
    pub(crate) fn courtesy_answered(&mut self, now: Now, id: CallRef) {
        // Whatever the dialogue was at, it is over: the caller is served.
        let step = self.courtesy.steps.remove(&id);
        self.timers.cancel(EngineTimer::Courtesy(id));
        if let Some(Step::Confirming { callback, .. }) = step {
            self.placing.by_call.remove(&id);
            if let Some(c) = self.callbacks.served(&callback, now.unix_ms).cloned() {
                tracing::info!(call = %id, %callback, "courtesy callback: an agent answered first; done");
                self.record_callback(&c);
            }
        }
    }

    /// Forgets call `id`'s dialogue (the call ended or was reaped).
    pub(crate) fn forget_courtesy(&mut self, id: CallRef) {
        self.courtesy.steps.remove(&id);
        self.courtesy.offered.remove(&id);
        self.timers.cancel(EngineTimer::Courtesy(id));
    }
}
