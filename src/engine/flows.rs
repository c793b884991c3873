//! Entry points wired into the B2BUA (issue 14 item 1): a call the dial
//! plan leads to an entry point walks its flow ([`crate::flow::FlowRun`])
//! before it reaches a queue, a user, a number or voicemail.
//!
//! - **Caller experience.** As for a queued caller (`engine/queue.rs`),
//!   the caller is not answered: the switch sends `183 Session Progress`
//!   with its SDP answer (early media, RFC 3960), repeated every minute
//!   (RFC 3261 §13.3.1.1), and plays the flow's prompts on the caller's leg,
//!   silence between them. The caller is billed from the moment a person
//!   (or voicemail) answers, like every queued call. An INVITE without SDP
//!   cannot hear a menu: it is refused with `488` ("Entry Point Needs
//!   Audio"), as is a call whose media the switch does not anchor.
//! - **Keys**: RFC 4733 telephone-events on the caller's leg (the media
//!   session reports them while the caller hears the switch) and SIP INFO
//!   `application/dtmf-relay` in the early dialog go to the flow.
//! - **Exits**: a queue (the caller goes on hearing music, and enters the
//!   ACD with the step's priority and the flow's variables as call data);
//!   a user or a number (rung from the same call, music meanwhile; no
//!   answer or a failure ends the call with the callee's answer); a hang-up
//!   (`480 Temporarily Unavailable`, reason "Entry Point Hung Up", cause
//!   `flow_hangup`); voicemail (`engine/voicemail.rs`).
//! - The caller hanging up ends the run.

use std::collections::HashMap;
use std::time::Duration;

use bytes::Bytes;

use super::{Engine, EngineTimer, Now};
use crate::acd::QueueId;
use crate::call::media::{AfterPrompt, MediaCommand, MediaLeg};
use crate::config::entry::{FlowId, Prompt};
use crate::flow::{Exit, FlowAction, FlowRun, QueueFacts};
use crate::ids::CallRef;
use crate::sip::msg::{HeaderName, Message, StatusCode};

/// A caller in an entry point.
#[derive(Clone, Debug)]
pub(crate) struct FlowCall {
    /// Its walk.
    pub run: FlowRun,
    /// The dial-plan context it came in through (routes numbers and overflows).
    pub context: String,
    /// Our SDP offer for the legs it may ring later.
    pub b_body: Bytes,
    /// The 183 repeated every minute.
    pub progress: Option<Box<Message>>,
    /// The configuration the caller's walk started in: a reload (SIGHUP)
    /// changes the flows for the next callers, never under one mid-walk
    /// (its steps are indexes into these flows).
    pub cfg: std::sync::Arc<crate::config::Config>,
    /// The interaction an agent transferred into this entry point
    /// (CALL-XFER-4): the customer is answered and parked in the ACD until
    /// the flow says where it goes.
    pub transferred: Option<crate::acd::InteractionId>,
}

/// The callers in entry points, by call, and what became of those since
/// the start (`/metrics`).
#[derive(Clone, Debug, Default)]
pub(crate) struct Flows {
    pub(crate) calls: HashMap<CallRef, FlowCall>,
    /// Callers who entered each entry point (by name; the dial plan's or a transfer's).
    entered: std::collections::BTreeMap<String, u64>,
    /// How callers left each entry point they were in last: `queue`,
    /// `user`, `number`, `voicemail`, `hangup`, or `caller_left`.
    exits: std::collections::BTreeMap<(String, &'static str), u64>,
}

/// An entry point's counts since the start (`/metrics`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EntryPointCounts {
    /// Its name.
    pub name: String,
    /// Callers who entered it.
    pub entered: u64,
    /// How callers left it: (`queue` | `user` | `number` | `voicemail` | `hangup` | `caller_left`, count).
    pub exits: Vec<(&'static str, u64)>,
}

/// The name an exit is counted under.
fn exit_name(exit: &Exit) -> &'static str {
    match exit {
        Exit::Queue { .. } => "queue",
        Exit::User { .. } => "user",
        Exit::Number { .. } => "number",
        Exit::Voicemail { .. } => "voicemail",
        Exit::Hangup { .. } => "hangup",
    }
}

/// What a flow sees of the queues, read from the engine.
pub(crate) struct EngineFacts<'e>(&'e Engine);

/// The engine's queue facts for a flow.
pub(crate) fn facts(e: &Engine) -> EngineFacts<'_> {
    EngineFacts(e)
}

impl QueueFacts for EngineFacts<'_> {
    fn agents_logged_in(&self, q: QueueId) -> usize {
        self.0.logged_in_count(q)
    }

    fn agents_available(&self, q: QueueId) -> usize {
        self.0.acd.available_count(q)
    }

    fn expected_wait(&self, q: QueueId) -> Duration {
        let waiting = self.0.acd.waiting(q).len();
        if self.0.acd.available_count(q) > waiting {
            return Duration::ZERO;
        }
        self.0.expected_wait(q, waiting as u32 + 1)
    }
}

impl Engine {
    /// Agents of queue `q` logged in now.
    pub(crate) fn logged_in_count(&self, q: QueueId) -> usize {
        self.cfg
            .acd()
            .agents
            .iter()
            .filter(|a| a.skills.iter().any(|(s, _)| *s == q))
            .filter(|a| self.acd.agent_state(a.id).is_some_and(|s| s.is_logged_in()))
            .count()
    }

    /// A call the dial plan leads to entry point `flow`: early media, then
    /// the flow's first steps. `vars` are the call's variables so far.
    pub(crate) fn enter_entry_point(
        &mut self,
        now: Now,
        id: CallRef,
        flow: FlowId,
        context: &str,
        b_body: Bytes,
        vars: Vec<(String, String)>,
    ) {
        let Some(call) = self.calls.get(&id) else { return };
        let Some(answer) = call.media.as_ref().and_then(|m| m.answer_a.clone()) else {
            tracing::info!(call = %id, caller = %call.caller, "entry point refused: the INVITE has no SDP offer to play prompts on");
            return self.refuse_no_audio(now, id);
        };
        let mut progress = call.a_final(StatusCode::SESSION_PROGRESS, None);
        let contact = crate::call::contact_for(&call.callee, call.a.src);
        if let Some(p) = progress.as_mut() {
            p.body = answer;
            p.headers.set(HeaderName::ContentType, "application/sdp");
            p.headers.push(HeaderName::Contact, contact);
        }
        let first = progress.clone();
        let heard = self
            .with_call(now, id, |c, ctx| {
                c.acd = true;
                let heard = c.queue_media(ctx);
                // Keys may come as SIP INFO in the early dialog.
                c.open_early_dialog(ctx);
                if let Some(p) = first {
                    c.provisional_to_a(ctx, p);
                }
                heard
            })
            .unwrap_or(false);
        if !heard {
            return self.refuse_no_audio(now, id);
        }
        self.timers
            .set(EngineTimer::Progress(id), now.mono + super::queue_wait::PROGRESS_EVERY);
        let cfg = self.cfg.clone();
        let run = FlowRun::start(cfg.entry_points(), flow, vars, now, &EngineFacts(self));
        let name = cfg.entry_points().flow(flow).map_or("", |f| f.name.as_str());
        tracing::info!(call = %id, entry_point = name, "call entered an entry point");
        let cfg = cfg.clone();
        self.flows.calls.insert(
            id,
            FlowCall {
                run,
                context: context.to_owned(),
                b_body,
                progress: progress.map(Box::new),
                cfg,
                transferred: None,
            },
        );
        self.pump_flow(now, id);
    }

    /// A caller who cannot hear prompts (no SDP offer, or media the switch
    /// does not carry) is refused: 488.
    fn refuse_no_audio(&mut self, now: Now, id: CallRef) {
        self.with_call(now, id, |c, ctx| {
            c.fail(
                ctx,
                StatusCode::NOT_ACCEPTABLE_HERE,
                "Entry Point Needs Audio",
                "flow_no_media",
            )
        });
    }

    /// The values of interaction `id`'s call data (those set), for a flow
    /// it enters (CALL-XFER-4).
    pub(crate) fn interaction_values(&self, id: crate::acd::InteractionId) -> Vec<(String, String)> {
        self.acd
            .interaction(id)
            .map(|i| {
                i.customer
                    .data
                    .saved_values()
                    .into_iter()
                    .filter_map(|(n, v)| Some((n.to_owned(), v?.to_owned())))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// CALL-XFER-4: an agent transferred interaction `id` blind into entry
    /// point `flow`; its agent has left and the customer (answered, on its
    /// own leg of the call) walks the flow with the interaction's values:
    /// those the flow declares are kept, the others dropped.
    pub(crate) fn enter_entry_point_transferred(&mut self, now: Now, id: crate::acd::InteractionId, flow: FlowId) {
        let call = CallRef(id.0);
        let vars = self.interaction_values(id);
        let context = self
            .queues
            .calls
            .get(&id)
            .map(|qc| qc.context.clone())
            .unwrap_or_default();
        let cfg = self.cfg.clone();
        let run = FlowRun::start(cfg.entry_points(), flow, vars, now, &EngineFacts(self));
        let name = cfg.entry_points().flow(flow).map_or("", |f| f.name.as_str());
        tracing::info!(interaction = %self.uid_of(id), entry_point = name, "customer transferred into an entry point");
        self.flows.calls.insert(
            call,
            FlowCall {
                run,
                context,
                b_body: Bytes::new(),
                progress: None,
                cfg,
                transferred: Some(id),
            },
        );
        self.pump_flow(now, call);
    }

    /// A key from the caller of call `id` (RFC 4733 or SIP INFO); false
    /// when the call is not in an entry point.
    pub(crate) fn flow_key(&mut self, now: Now, id: CallRef, key: char) -> bool {
        let Some(mut fc) = self.flows.calls.remove(&id) else {
            return false;
        };
        let cfg = fc.cfg.clone();
        fc.run.handle_key(cfg.entry_points(), key, now, &EngineFacts(self));
        self.flows.calls.insert(id, fc);
        self.pump_flow(now, id);
        true
    }

    /// The flow timer of call `id`.
    pub(crate) fn on_flow_timer(&mut self, now: Now, id: CallRef) {
        let Some(mut fc) = self.flows.calls.remove(&id) else {
            return;
        };
        let cfg = fc.cfg.clone();
        fc.run.handle_timeout(cfg.entry_points(), now, &EngineFacts(self));
        self.flows.calls.insert(id, fc);
        self.pump_flow(now, id);
    }

    /// The call ended or was reaped: its run ends with it (the caller left
    /// in the middle of the flow).
    pub(crate) fn forget_flow(&mut self, id: CallRef) {
        if let Some(fc) = self.flows.calls.remove(&id) {
            self.timers.cancel(EngineTimer::Flow(id));
            self.count_exit(&fc, "caller_left");
        }
    }

    /// Counts a caller leaving `fc`'s current entry point by `exit`.
    fn count_exit(&mut self, fc: &FlowCall, exit: &'static str) {
        let name = fc
            .cfg
            .entry_points()
            .flow(fc.run.flow())
            .map_or("", |f| f.name.as_str());
        *self.flows.exits.entry((name.to_owned(), exit)).or_default() += 1;
    }

    /// Each configured entry point's counts since the start, in file order
    /// (entry points of an earlier config that callers still used after a
    /// reload come after them).
    pub fn entry_point_counts(&self) -> Vec<EntryPointCounts> {
        let mut names: Vec<String> = self.cfg.entry_points().flows.iter().map(|f| f.name.clone()).collect();
        for n in self.flows.entered.keys() {
            if !names.contains(n) {
                names.push(n.clone());
            }
        }
        names
            .into_iter()
            .map(|name| EntryPointCounts {
                entered: self.flows.entered.get(&name).copied().unwrap_or(0),
                exits: self
                    .flows
                    .exits
                    .iter()
                    .filter(|((n, _), _)| *n == name)
                    .map(|((_, e), c)| (*e, *c))
                    .collect(),
                name,
            })
            .collect()
    }

    /// The 183 to repeat for call `id`, if it is in an entry point.
    pub(crate) fn flow_progress(&self, id: CallRef) -> Option<Message> {
        self.flows.calls.get(&id)?.progress.as_deref().cloned()
    }

    /// Carries out the run's actions and re-arms its timer.
    fn pump_flow(&mut self, now: Now, id: CallRef) {
        loop {
            let Some(fc) = self.flows.calls.get_mut(&id) else {
                return;
            };
            let Some(action) = fc.run.poll_action() else { break };
            match action {
                FlowAction::Play(p) => self.play(id, &p, AfterPrompt::Silence),
                FlowAction::StopPrompt => self.stop_prompt(id, AfterPrompt::Silence),
                FlowAction::Entered { flow } => {
                    let name = fc
                        .cfg
                        .entry_points()
                        .flow(flow)
                        .map_or("", |f| f.name.as_str())
                        .to_owned();
                    tracing::debug!(call = %id, entry_point = %name, "in entry point");
                    *self.flows.entered.entry(name).or_default() += 1;
                }
                FlowAction::Leave(exit) => {
                    let Some(fc) = self.flows.calls.remove(&id) else { return };
                    self.timers.cancel(EngineTimer::Flow(id));
                    self.leave_flow(now, id, fc, exit);
                    return;
                }
            }
        }
        match self.flows.calls.get(&id).and_then(|fc| fc.run.poll_timeout()) {
            Some(at) => {
                self.timers.set(EngineTimer::Flow(id), at);
            }
            None => {
                self.timers.cancel(EngineTimer::Flow(id));
            }
        }
    }

    fn play(&mut self, id: CallRef, p: &Prompt, then: AfterPrompt) {
        self.out.push_back(super::Output::Media(MediaCommand::Prompt {
            call: id.0,
            leg: MediaLeg::A,
            samples: p.samples.clone(),
            then,
        }));
    }

    fn stop_prompt(&mut self, id: CallRef, then: AfterPrompt) {
        self.out.push_back(super::Output::Media(MediaCommand::Prompt {
            call: id.0,
            leg: MediaLeg::A,
            samples: std::sync::Arc::from(Vec::new()),
            then,
        }));
    }

    fn leave_flow(&mut self, now: Now, id: CallRef, fc: FlowCall, exit: Exit) {
        let path = fc.run.path().join(" → ");
        tracing::info!(call = %id, steps = %path, "call left its entry point");
        self.count_exit(&fc, exit_name(&exit));
        if let Some(interaction) = fc.transferred {
            return self.leave_flow_transferred(now, interaction, fc, exit);
        }
        match exit {
            Exit::Queue {
                queue,
                priority,
                min_skill,
            } => {
                self.stop_prompt(id, AfterPrompt::Music);
                let Some(name) = fc.cfg.acd().queue(queue).map(|q| q.name.clone()) else {
                    return self.end_flow_call(now, id, "flow_gone");
                };
                let vars = fc.run.variables().to_vec();
                let placed = super::queue::Placement { priority, min_skill };
                self.enter_queue_from_flow(now, id, &name, &fc.context, fc.b_body, placed, vars);
            }
            Exit::User { extension } => {
                self.stop_prompt(id, AfterPrompt::Music);
                if !self.ring_user_from(now, id, &extension, fc.b_body) {
                    self.end_flow_call(now, id, "flow_user_unreachable");
                }
            }
            Exit::Number { number } => {
                self.stop_prompt(id, AfterPrompt::Music);
                if !self.route_existing_call(now, id, &fc.context, &number, fc.b_body) {
                    self.end_flow_call(now, id, "flow_number_unreachable");
                }
            }
            Exit::Voicemail { mailbox, prompt } => self.start_voicemail(now, id, mailbox, prompt),
            Exit::Hangup { reason } => self.end_flow_call(now, id, reason),
        }
    }

    /// Where a customer transferred into an entry point goes (CALL-XFER-4):
    /// a queue's line with the flow's values saved as its call data; a
    /// user or a number rung as the transfer's party (no answer sends it
    /// back to its queue's line, CALL-XFER-2); voicemail (the interaction
    /// leaves the contact center); or the end of the call.
    fn leave_flow_transferred(&mut self, now: Now, id: crate::acd::InteractionId, fc: FlowCall, exit: Exit) {
        let call = CallRef(id.0);
        match exit {
            Exit::Queue {
                queue,
                priority,
                min_skill,
            } => {
                self.stop_prompt(call, AfterPrompt::Music);
                let base = self.acd.interaction(id).map(|i| i.customer.data.version());
                if let Some(base) = base {
                    let known: Vec<(String, String)> = fc
                        .run
                        .variables()
                        .iter()
                        .filter(|(n, _)| self.cfg.acd().variable(n).is_some())
                        .cloned()
                        .collect();
                    if let Err(e) = self.acd.save_data(id, base, &known) {
                        tracing::warn!(interaction = %self.uid_of(id), error = %e, "the flow's values were not saved");
                    }
                }
                if let Err(e) = self.acd_event(
                    now,
                    crate::acd::AcdEvent::TransferEnteredQueue {
                        id,
                        queue,
                        priority,
                        min_skill,
                    },
                ) {
                    tracing::error!(interaction = %self.uid_of(id), error = %e, "the ACD refused the entry point's queue");
                }
            }
            Exit::User { extension: number } | Exit::Number { number } => {
                self.stop_prompt(call, AfterPrompt::Music);
                let uid = self.uid_of(id);
                match self.dialled_party(now, &uid, "entry point", &number) {
                    Some(mut party) => {
                        party.display = "Transfer".into();
                        self.ring_transfer_party(now, id, party);
                    }
                    None => {
                        tracing::info!(interaction = %uid, %number, "entry point: the number cannot be rung; back to the queue");
                        let _ = self.acd_event(now, crate::acd::AcdEvent::TransferFailed { id });
                    }
                }
            }
            Exit::Voicemail { mailbox, prompt } => {
                let _ = self.acd_event(now, crate::acd::AcdEvent::TransferAnswered { id });
                self.start_voicemail(now, call, mailbox, prompt);
            }
            Exit::Hangup { reason } => {
                self.with_call(now, call, |c, ctx| c.end(ctx, reason));
            }
        }
    }

    /// Ends call `id` still in early media after its flow: 480 to the caller.
    pub(crate) fn end_flow_call(&mut self, now: Now, id: CallRef, cause: &str) {
        self.timers.cancel(EngineTimer::Progress(id));
        self.with_call(now, id, |c, ctx| {
            c.fail(ctx, StatusCode::TEMPORARILY_UNAVAILABLE, "Entry Point Hung Up", cause)
        });
    }
}
