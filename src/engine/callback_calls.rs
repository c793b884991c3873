//! Placing callbacks (spec CB-1, CB-5..CB-8, OFFER-6): a due callback
//! becomes an interaction of its queue carried by a callback call
//! (`call/callback.rs`): agents are offered it like a queued caller, the
//! agent's phone is rung first, and once it answers the switch dials the
//! customer through the agents' dial plan.
//!
//! Durability (CB-8): every step of a callback is handed to the store as
//! the step happens ([`AcdRecord::Callback`]); the *dialling* step is a
//! write-ahead record: it is queued before the customer's INVITE, and the
//! driver commits it before it sends anything queued after it
//! ([`crate::records::AcdRecord::is_write_ahead`]). A kill -9 therefore
//! leaves either no trace of the dial (the callback is `offered`, nobody
//! was called: placed again after the restart) or a `dialing` callback
//! (the customer's phone may have rung: `interrupted`, never redialled by
//! itself). None is lost, none is placed twice.
//!
//! Chosen where the rules are silent, as a contact center expects:
//! - the customer is dialled in the dial-plan context of the agents'
//!   phones (the first digest profile's `context`), like a number an
//!   agent dials (CALL-DIAL-1); a number that context cannot route fails
//!   the callback at once (`failed`, logged with the number);
//! - CB-5: a personal callback enters its queue already held for its
//!   agent (SUP-5's hold, [`crate::acd::Acd::arrive_for`]: it rings when
//!   the agent is free, before anything waiting in line, and no other
//!   agent is offered it); one whose agent is logged out waits, pending,
//!   until the agent logs in (looked at every 30 s);
//! - CB-6: the customer not answering within `[callbacks] ring_s`,
//!   refusing or being unreachable ends the try: the agent wraps up (a
//!   callback attempt is handled work), the callback goes back to its
//!   queue `retry_after_s` later, and after `max_attempts` tries it is
//!   `failed`. The agent cancels with the desktop's End control (or by
//!   hanging up) before the customer answers: `cancelled`, wrap-up follows;
//! - CB-7: the tenant's limit (`[callbacks] max_concurrent_calls`) counts
//!   live calls (a callback call counts from the moment its customer is
//!   dialled; waiting in line it has no leg outside). An agent connected to a callback while the limit is
//!   reached waits for a free slot (the desktop gets a `callback` event
//!   with state `held` and the reason code `concurrent_call_limit`); the
//!   customer is dialled as soon as a call ends, oldest first;
//! - an interaction of a callback never overflows to an outside number (it
//!   has no caller to send there): it leaves the queue and comes back
//!   `retry_after_s` later.

use super::desk::DeskEvent;
use super::queue::{interaction_of, QueueCall};
use super::{Engine, EngineTimer, Now};
use crate::acd::callback::{Assigned, Callback, CallbackState};
use crate::acd::{AcdEvent, InteractionId};
use crate::call::{Call, CustomerDial, DialState, MediaFeatures, Phase, RingTarget};
use crate::ids::CallRef;
use std::collections::{HashMap, VecDeque};
use std::time::Duration;

/// How often callbacks that could not start (a personal callback's agent
/// logged out, no media port free) are looked at again.
const RECHECK: Duration = Duration::from_secs(30);

/// The reason code the desktop shows while the tenant's concurrent-call
/// limit holds a callback (CB-7).
pub const LIMIT_REASON: &str = "concurrent_call_limit";

/// The engine's live callbacks: which call carries which callback.
#[derive(Debug, Default)]
pub(crate) struct Placing {
    /// Callback calls: the call, its interaction and its callback id.
    pub by_call: HashMap<CallRef, (InteractionId, String)>,
    /// Callback calls whose agent is connected, waiting for a call slot
    /// (CB-7), oldest first.
    pub held: VecDeque<CallRef>,
    /// Some due callback could not start: look again then.
    pub recheck_at: Option<std::time::Instant>,
}

impl Engine {
    /// CB-8 at start: callbacks a previous run left offered go back to
    /// pending, dialling ones become interrupted; then the due ones start.
    pub(crate) fn start_callbacks(&mut self, now: Now) {
        for cb in self.callbacks.after_restart(now.unix_ms) {
            match cb.state {
                CallbackState::Interrupted => {
                    tracing::warn!(callback = %cb.id, number = %cb.number, "callback interrupted while dialling the customer: not dialled again by itself (a supervisor may retry it)")
                }
                _ => tracing::info!(callback = %cb.id, "callback offered before the restart: pending again"),
            }
            self.record_callback(&cb);
        }
        self.place_due_callbacks(now);
    }

    /// Arms the timer of the next due callback (or the recheck).
    pub(crate) fn arm_callback_timer(&mut self, now: Now) {
        let due = self
            .callbacks
            .next_due_ms()
            .map(|ms| now.mono + Duration::from_millis(ms.saturating_sub(now.unix_ms)));
        let next = [due, self.placing.recheck_at].into_iter().flatten().min();
        match next {
            Some(at) => {
                self.timers.set(EngineTimer::CallbacksDue, at);
            }
            None => {
                self.timers.cancel(EngineTimer::CallbacksDue);
            }
        }
    }

    /// Starts every due callback (and fails the ones whose window ended).
    pub(crate) fn place_due_callbacks(&mut self, now: Now) {
        self.placing.recheck_at = None;
        for cb in self.callbacks.expire(now.unix_ms) {
            tracing::info!(callback = %cb.id, number = %cb.number, "callback window ended before it could be placed: failed");
            self.record_callback(&cb);
        }
        for cb in self.callbacks_due(now.unix_ms) {
            if !self.start_callback(now, &cb) {
                self.placing.recheck_at = Some(now.mono + RECHECK);
            }
        }
        self.arm_callback_timer(now);
    }

    /// Puts callback `cb` in its queue; false when it must wait (its
    /// agent is logged out, no media port is free).
    fn start_callback(&mut self, now: Now, cb: &Callback) -> bool {
        let Some(q) = self.cfg.acd().queue(cb.queue).cloned() else {
            return false;
        };
        if let Assigned::Agent(a) = cb.assigned {
            if !self.acd.agent_state(a).is_some_and(|s| s.is_logged_in()) {
                return false;
            }
        }
        let target = match self.callback_target(now, &cb.number) {
            Ok(t) => t,
            Err(why) => {
                tracing::warn!(callback = %cb.id, number = %cb.number, %why, "callback cannot be placed: failed");
                if let Some(c) = self.callbacks.give_up(&cb.id, now.unix_ms).cloned() {
                    self.record_callback(&c);
                }
                return true;
            }
        };
        let Some(agents) = self.user_profile_local() else {
            return false;
        };
        let id = CallRef(self.next_call);
        self.next_call += 1;
        let from_user = self.callback_from_user(&target, &q.number);
        let dial = CustomerDial::new(
            cb.number.clone(),
            target.clone(),
            from_user,
            self.cfg.acd().callbacks.ring,
        );
        let mut call = Call::for_callback(id, dial, format!("callback:{}", q.name), now.unix_ms);
        call.route = format!("callback:{}", q.name);
        let srtp_of = |local| self.cfg.profile_for_local(local).map(|p| p.srtp).unwrap_or_default();
        let features = MediaFeatures {
            noise_removal: q.noise_removal,
            record: q.record,
            srtp_a: srtp_of(target.dest.local),
            srtp_b: srtp_of(agents.plain),
        };
        self.calls.insert(id, Box::new(call));
        let anchored = self.with_call(now, id, |c, ctx| {
            c.anchor_offer(ctx, target.dest.local.ip(), agents.plain.ip(), features)
        });
        let b_body = match anchored {
            Some(Ok(Some(offer))) => offer,
            other => {
                let why = match other {
                    Some(Err(r)) => r.reason,
                    _ => "media anchoring is off: a callback needs the switch's media".into(),
                };
                tracing::warn!(callback = %cb.id, %why, "callback cannot start yet");
                self.with_call(now, id, |c, ctx| c.release(ctx));
                self.calls.remove(&id);
                return false;
            }
        };
        let interaction = interaction_of(id);
        if self.queues.boot_ms == 0 {
            self.queues.boot_ms = now.unix_ms;
        }
        let uid = format!("{}-{}", self.queues.boot_ms, id.0);
        let context = self.agents_context().unwrap_or_default();
        self.queues
            .calls
            .insert(interaction, QueueCall::new(uid, id, context, b_body, None));
        self.placing.by_call.insert(id, (interaction, cb.id.clone()));
        let data = self.builtin_data(&cb.number, &cb.name, &q.number, &q.name);
        if let Some(c) = self.callbacks.offered(&cb.id, now.unix_ms).cloned() {
            self.record_callback(&c);
        }
        tracing::info!(callback = %cb.id, kind = cb.kind.as_str(), queue = %q.name, call = %id, "callback enters its queue");
        let customer = crate::acd::Customer {
            caller_number: cb.number.clone(),
            dnis: q.number.clone(),
            data,
            min_skill: 0,
        };
        let priority = q.priority.saturating_add(cb.priority);
        let arrived = match cb.assigned {
            // CB-5: held for its agent from the start, offered to nobody else.
            Assigned::Agent(a) => {
                let r = self
                    .acd
                    .arrive_for(now.mono, interaction, q.id, priority, customer, a)
                    .map(|_| ());
                self.pump_acd(now);
                r
            }
            Assigned::AnyAgent => self.acd_event(
                now,
                AcdEvent::InteractionArrived {
                    id: interaction,
                    queue: q.id,
                    priority,
                    customer: Box::new(customer),
                },
            ),
        };
        if let Err(e) = arrived {
            tracing::error!(callback = %cb.id, error = %e, "the ACD refused the callback");
            return true;
        }
        self.record_interaction(now, interaction, None);
        true
    }

    /// The dial-plan context of the agents' phones (the first digest profile's).
    fn agents_context(&self) -> Option<String> {
        self.cfg
            .profiles()
            .iter()
            .find(|p| matches!(p.auth, crate::config::AuthPolicy::Digest { .. }))
            .map(|p| p.context.clone())
    }

    /// Where the customer's number leads in the agents' dial plan: one
    /// target (a trunk, or a user's first phone).
    pub(crate) fn callback_target(&mut self, now: Now, number: &str) -> Result<RingTarget, String> {
        let digits = crate::acd::callback::digits(number);
        let dialled = if number.trim_start().starts_with('+') {
            format!("+{digits}")
        } else {
            digits
        };
        let context = self
            .agents_context()
            .ok_or("no phone profile: no dial plan for agents")?;
        let route = self
            .cfg
            .dialplan()
            .route(&context, &dialled)
            .or_else(|| self.cfg.dialplan().route(&context, dialled.trim_start_matches('+')))
            .ok_or_else(|| format!("no route for {dialled} in the agents' dial plan ({context})"))?;
        let (_, targets) = self
            .trunk_list_targets(&route)
            .unwrap_or_else(|| self.route_targets(now, &route))
            .map_err(|(code, reason)| format!("{} {reason}", code.as_u16()))?;
        targets
            .into_iter()
            .next()
            .ok_or_else(|| format!("{dialled} leads nowhere"))
    }

    /// Who the customer sees calling: the queue's number, unless the
    /// trunk imposes its own `from_user`.
    pub(crate) fn callback_from_user(&self, target: &RingTarget, queue_number: &str) -> String {
        target
            .trunk
            .as_ref()
            .and_then(|t| self.cfg.trunk(t))
            .and_then(|t| t.from_user.clone())
            .unwrap_or_else(|| queue_number.to_owned())
    }

    /// The callback (id) a callback call carries, and its interaction.
    fn callback_of_call(&self, id: CallRef) -> Option<(InteractionId, String)> {
        self.placing.by_call.get(&id).cloned()
    }

    /// The agent of a callback call's interaction, by login.
    fn callback_agent(&self, interaction: InteractionId) -> String {
        self.acd
            .interaction(interaction)
            .and_then(|i| i.agent)
            .map(|a| self.login_of(a))
            .unwrap_or_default()
    }

    fn callback_event(&mut self, id: CallRef, state: &'static str, reason: Option<&'static str>) {
        let Some((interaction, cb)) = self.callback_of_call(id) else {
            return;
        };
        let number = self.callbacks.get(&cb).map(|c| c.number.clone()).unwrap_or_default();
        self.desk_event(DeskEvent::Callback {
            agent: self.callback_agent(interaction),
            interaction: self.uid_of(interaction),
            callback: cb,
            number,
            state,
            reason,
        });
    }

    /// The agent of callback call `id` is connected: dial the customer
    /// now, or when a call slot frees (CB-7).
    pub(crate) fn callback_agent_ready(&mut self, now: Now, id: CallRef) {
        if self.at_call_limit(id) {
            tracing::info!(call = %id, reason = LIMIT_REASON, "callback held: the concurrent-call limit is reached (CB-7)");
            self.placing.held.push_back(id);
            self.callback_event(id, "held", Some(LIMIT_REASON));
            return;
        }
        self.dial_callback(now, id);
    }

    /// CB-7: dialling call `id`'s customer would pass the tenant's limit.
    fn at_call_limit(&self, id: CallRef) -> bool {
        let Some(limit) = self.cfg.acd().callbacks.max_concurrent_calls else {
            return false;
        };
        // A callback call that has not dialled its customer yet (waiting
        // in line, or its agent connected and held) is no call of the tenant.
        let others = self
            .calls
            .iter()
            .filter(|(r, c)| {
                **r != id
                    && c.phase != Phase::Ended
                    && !matches!(c.dial_state(), Some(DialState::AgentFirst | DialState::Ready))
            })
            .count();
        others + 1 > limit as usize
    }

    /// Writes the dialling step (write-ahead, CB-8), then dials.
    fn dial_callback(&mut self, now: Now, id: CallRef) {
        let Some((_, cb)) = self.callback_of_call(id) else {
            return;
        };
        let Some(c) = self.callbacks.dialing(&cb, now.unix_ms).cloned() else {
            return;
        };
        // Queued before the INVITE: the driver commits it first.
        self.record_callback(&c);
        self.stats.calls_started += 1;
        tracing::info!(callback = %cb, attempt = c.attempts, number = %c.number, "callback: dialling the customer");
        let dialled = self.with_call(now, id, |call, ctx| call.dial_customer(ctx));
        if let Some(Err(e)) = dialled {
            tracing::warn!(callback = %cb, error = %e, "callback could not dial");
        }
        self.callback_event(id, "dialing", None);
    }

    /// A call ended: callbacks held by the concurrent-call limit dial now
    /// while slots are free (CB-7), oldest first.
    pub(crate) fn release_held_callbacks(&mut self, now: Now) {
        while let Some(&id) = self.placing.held.front() {
            if self.calls.get(&id).and_then(|c| c.dial_state()) != Some(DialState::Ready) {
                self.placing.held.pop_front();
                continue;
            }
            if self.at_call_limit(id) {
                return;
            }
            self.placing.held.pop_front();
            self.dial_callback(now, id);
        }
    }

    /// The customer of callback call `id` answered.
    pub(crate) fn callback_answered(&mut self, now: Now, id: CallRef) {
        let Some((_, cb)) = self.callback_of_call(id) else {
            return;
        };
        if let Some(c) = self.callbacks.answered(&cb, now.unix_ms).cloned() {
            self.record_callback(&c);
        }
        self.callback_event(id, "answered", None);
    }

    /// CB-6: the customer did not answer: the try ends (the agent wraps
    /// up) and the callback goes back to its queue later, or fails.
    pub(crate) fn callback_unanswered(&mut self, now: Now, id: CallRef, code: crate::sip::msg::StatusCode) {
        let Some((_, cb)) = self.callback_of_call(id) else {
            return;
        };
        let settings = self.cfg.acd().callbacks.clone();
        let retry_ms = settings.retry_after.as_millis() as u64;
        if let Some(c) = self
            .callbacks
            .unanswered(&cb, now.unix_ms, retry_ms, settings.max_attempts)
            .cloned()
        {
            tracing::info!(callback = %cb, code = code.as_u16(), attempts = c.attempts, state = c.state.as_str(), "callback: the customer did not answer (CB-6)");
            self.record_callback(&c);
        }
        self.callback_event(id, "unanswered", None);
        self.with_call(now, id, |c, ctx| c.end(ctx, "callback_no_answer"));
        self.arm_callback_timer(now);
    }

    /// A callback call ended: a dial the agent ended before the customer
    /// answered is cancelled (CB-6); a callback nobody dialled yet is
    /// pending again (`retry`: after `retry_after_s`, else at once).
    pub(crate) fn callback_call_ended(&mut self, now: Now, id: CallRef, retry: bool) {
        let Some((_, cb)) = self.callback_of_call(id) else {
            return;
        };
        let held = self.placing.held.contains(&id);
        self.placing.held.retain(|c| *c != id);
        let state = self.callbacks.get(&cb).map(|c| c.state);
        let changed = match state {
            // The agent was connected (dialling, or held by the limit, CB-7)
            // and ended it: the agent's cancel (CB-6).
            Some(CallbackState::Dialing) | Some(CallbackState::Offered)
                if held || state == Some(CallbackState::Dialing) =>
            {
                tracing::info!(callback = %cb, "callback cancelled before the customer answered (CB-6)");
                self.callback_event(id, "cancelled", None);
                self.callbacks.cancelled(&cb, now.unix_ms).cloned()
            }
            Some(CallbackState::Offered) => {
                let due = if retry {
                    now.unix_ms + self.cfg.acd().callbacks.retry_after.as_millis() as u64
                } else {
                    now.unix_ms
                };
                self.callbacks.returned(&cb, now.unix_ms, due).cloned()
            }
            _ => None,
        };
        if let Some(c) = changed {
            self.record_callback(&c);
        }
        self.arm_callback_timer(now);
    }

    /// Forgets a callback call (reaped).
    pub(crate) fn forget_callback_call(&mut self, now: Now, id: CallRef) {
        if self.placing.by_call.remove(&id).is_some() {
            self.placing.held.retain(|c| *c != id);
        }
        self.release_held_callbacks(now);
    }
}
