//! The ACD wired into the B2BUA (issue 4 items 2 and 3): a call routed to a
//! queue by the dial plan's `queue` action becomes an *interaction* of the
//! sans-IO [`Acd`](crate::acd::Acd); its actions become SIP and media.
//!
//! - **Caller experience.** The caller is not answered while it waits:
//!   the switch sends `183 Session Progress` with its SDP answer (early
//!   media, RFC 3960 gateway model) and plays music on hold with periodic
//!   tone announcements of the place in line and expected wait
//!   (`dsp::prompt`). The `200 OK` goes to the caller only when an agent's
//!   phone answers, so the call is billed from that moment (answer
//!   supervision; the CDR's answer time is the agent's). The 183 is
//!   repeated every minute (RFC 3261 §13.3.1.1: a UAS that takes long to
//!   answer MUST send a provisional response every minute). A caller
//!   whose INVITE has no SDP hears ringback (180) and no music.
//! - **Offers.** `RingAgent` rings every registered contact of the agent's
//!   extension with the switch's SDP offer (one offer, one or more forked
//!   legs). Auto-accept queues (OFFER-1) ask the phone to answer by itself
//!   (`Call-Info: answer-after=0` and `Alert-Info: info=alert-autoanswer`,
//!   the headers desk phones and softphones honour). A desktop *accept* of
//!   a ringing manual offer re-sends it the same way (CANCEL, then an
//!   auto-answer INVITE): the agent does not have to lift the handset. An
//!   agent whose phone is not registered gets the offer treated as a
//!   failed leg (like RONA: `Idle(RONA)`).
//! - **Phone answers** are the ACD's `PhoneAnswered`; a 486/600/603 from the
//!   phone is a decline (OFFER-4: the agent goes back to `Available`,
//!   the call to the next agent), any other failure a failed leg (RONA).
//!   `CancelRing` (decline, RONA, ring-all answered elsewhere, caller gone)
//!   CANCELs the offer's legs.
//! - **Overflow** to an external target routes the number through the dial
//!   plan of the caller's context (user or trunk), as a new call attempt.
//! - **End.** Either side hanging up ends the interaction: the agent goes
//!   to wrap-up (WRAP-1); a caller gone while waiting or ringing abandons.
//!
//! Expected wait (announced, and in the offer): place in line × the
//! queue's average handling time (talk + wrap-up, an exponential average of
//! the interactions handled since start, 180 s before the first one) ÷ the
//! agents logged in for the queue (at least one).

use super::desk::{DeskEvent, InteractionView};
use super::{Engine, EngineTimer, Now, Output};
use crate::acd::{AcdAction, AcdEvent, AgentId, AgentState, CancelReason, InteractionId, OfferId};
use crate::call::{RingOptions, RingTarget};
use crate::ids::CallRef;
use crate::sip::msg::{HeaderName, Message, StatusCode};

use crate::records::{AcdRecord, InteractionOutcome};
use bytes::Bytes;
use std::collections::HashMap;
use std::time::Instant;

/// Where an entry point's queue step puts a caller in its line (issue 14).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Placement {
    /// Its priority (higher first).
    pub priority: u8,
    /// The skill level an agent needs (0: any agent of the queue).
    pub min_skill: u8,
}

/// One ringing offer and the phone legs ringing for it (the offer itself,
/// its times and variables, is the ACD core's: [`crate::acd::Offer`]).
#[derive(Clone, Debug)]
pub(crate) struct LiveOffer {
    pub offer: OfferId,
    pub agent: AgentId,
    /// Indexes into the call's B legs still ringing for this offer.
    pub legs: Vec<usize>,
    /// The legs were sent with auto-answer headers (OFFER-1, or a desktop accept).
    pub auto_answer: bool,
}

/// The engine's side of one interaction: which call it is and the SIP legs
/// of its offers. Its phase, agent, times, data and wrap-up are the ACD
/// core's ([`crate::acd::InteractionInfo`]), read with `Acd::interaction`.
#[derive(Clone, Debug)]
pub(crate) struct QueueCall {
    pub uid: String,
    pub call: CallRef,
    /// The caller's dial-plan context (overflow routes in it).
    pub context: String,
    /// The SDP offer agent legs get (anchored), else the caller's own body.
    pub b_body: Bytes,
    pub offers: Vec<LiveOffer>,
    /// The provisional response repeated while waiting.
    pub progress: Option<Box<Message>>,
    /// Agent phone legs not yet written to the store: B-leg index ->
    /// (agent, unix ms the leg started) (HIST-3).
    pub agent_legs: HashMap<usize, (AgentId, u64)>,
    /// The B leg that answered.
    pub answered_leg: Option<usize>,
    /// Party legs of consults and conferences (CALL-CONSULT-1).
    pub parties: Vec<super::consult::PartyLink>,
    /// The primary agent's leg: the answering leg, or a party leg once
    /// control passed to a consulted agent (CALL-CONF-2).
    pub primary_leg: crate::call::media::MediaLeg,
    /// SUP-6: the supervisor closing it (its call is being ended).
    pub closed_by: Option<String>,
    /// The party leg a blind transfer to a number rings (CALL-XFER-1), with
    /// the number as the desktop named it.
    pub transfer_party: Option<(usize, String)>,
    /// CALL-XFER-6: the leg of the agent a supervisor transfers the
    /// interaction away from, until the offered agent accepts or declines.
    /// With the B leg's index when it is the answering leg (its leg CDR).
    pub handing_over_leg: Option<(crate::call::media::MediaLeg, Option<usize>)>,
}

impl QueueCall {
    /// The engine's side of a new interaction carried by call `call`.
    pub(crate) fn new(
        uid: String,
        call: CallRef,
        context: String,
        b_body: Bytes,
        progress: Option<Box<Message>>,
    ) -> Self {
        QueueCall {
            uid,
            call,
            context,
            b_body,
            offers: Vec::new(),
            progress,
            agent_legs: HashMap::new(),
            answered_leg: None,
            parties: Vec::new(),
            primary_leg: crate::call::media::MediaLeg::B,
            closed_by: None,
            transfer_party: None,
            handing_over_leg: None,
        }
    }

    pub(crate) fn offer_of_leg(&self, idx: usize) -> Option<OfferId> {
        self.offers.iter().find(|o| o.legs.contains(&idx)).map(|o| o.offer)
    }
}

/// Unix ms of the ACD instant `t`, given the time pair `now`.
pub(crate) fn unix_ms_of(now: Now, t: Instant) -> u64 {
    if t >= now.mono {
        now.unix_ms + t.duration_since(now.mono).as_millis() as u64
    } else {
        now.unix_ms
            .saturating_sub(now.mono.duration_since(t).as_millis() as u64)
    }
}

/// The engine's map from interactions to calls (and offers to
/// interactions), next to the ACD core that owns their state.
#[derive(Debug, Default)]
pub(crate) struct QueueState {
    pub calls: HashMap<InteractionId, QueueCall>,
    pub offers: HashMap<OfferId, InteractionId>,
    /// Unix ms of the engine's start: interaction uids are unique across restarts.
    pub boot_ms: u64,
    /// Unix ms each agent's current state began (AGENT-6).
    pub agent_since: HashMap<AgentId, u64>,
}

/// The interaction id of a call (one interaction per customer call).
pub(crate) fn interaction_of(call: CallRef) -> InteractionId {
    InteractionId(call.0)
}

/// `LoggedOut`, `Available`, … (AGENT-1 names) and the idle reason.
pub(crate) fn state_name(s: &AgentState) -> (&'static str, Option<String>) {
    match s {
        AgentState::Idle(r) => (s.name(), Some(idle_reason_name(r))),
        _ => (s.name(), None),
    }
}

/// The reason's name (`RONA` for the built-in one).
pub(crate) fn idle_reason_name(r: &crate::acd::IdleReason) -> String {
    match r {
        crate::acd::IdleReason::Rona => "RONA".into(),
        crate::acd::IdleReason::Named(n) => n.clone(),
    }
}

impl Engine {
    /// A call the dial plan sends to queue `name`: answered with early
    /// media (or ringback), music and announcements, and handed to the ACD.
    pub(crate) fn enter_queue(&mut self, now: Now, id: CallRef, name: &str, context: &str, b_body: Bytes) {
        self.enter_queue_with(now, id, name, context, b_body, None, Vec::new());
    }

    /// A caller an entry point leads to queue `name` (issue 14): already
    /// hearing the switch, with the step's `priority` and the flow's
    /// variables `vars` over the call's initial values (the flow's `dnis`,
    /// the number dialled, included).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn enter_queue_from_flow(
        &mut self,
        now: Now,
        id: CallRef,
        name: &str,
        context: &str,
        b_body: Bytes,
        placed: Placement,
        vars: Vec<(String, String)>,
    ) {
        self.enter_queue_with(now, id, name, context, b_body, Some(placed), vars);
    }

    /// The caller's number and display name from call `id`'s INVITE.
    pub(crate) fn caller_id(&self, id: CallRef) -> Option<(Message, String, String)> {
        let call = self.calls.get(&id)?;
        let invite = call.a.invite.clone()?;
        let env = invite.envelope().ok();
        let caller_number = env
            .as_ref()
            .and_then(|e| e.from.uri.user.clone())
            .map(|u| String::from_utf8_lossy(&u).into_owned())
            .unwrap_or_else(|| call.caller.clone());
        let caller_name = env
            .as_ref()
            .and_then(|e| e.from.display.clone())
            .map(|d| String::from_utf8_lossy(&d).trim_matches('"').to_owned())
            .unwrap_or_default();
        Some((*invite, caller_number, caller_name))
    }

    #[allow(clippy::too_many_arguments)]
    fn enter_queue_with(
        &mut self,
        now: Now,
        id: CallRef,
        name: &str,
        context: &str,
        b_body: Bytes,
        placed: Option<Placement>,
        flow_vars: Vec<(String, String)>,
    ) {
        let Some(q) = self.cfg.acd().queue_by_name(name).cloned() else {
            return;
        };
        let Some((invite, caller_number, caller_name)) = self.caller_id(id) else {
            return;
        };
        let Some(call) = self.calls.get(&id) else { return };
        let dnis = flow_vars
            .iter()
            .find(|(n, _)| n == "dnis")
            .map_or_else(|| q.number.clone(), |(_, v)| v.clone());
        // Early media: our answer in a 183, music until an agent answers.
        let anchored_answer = call.media.as_ref().and_then(|m| m.answer_a.clone());
        let mut progress = match &anchored_answer {
            Some(_) => call.a_final(StatusCode::SESSION_PROGRESS, None),
            None => call.a_final(StatusCode::RINGING, None),
        };
        let contact = crate::call::contact_for(&call.callee, call.a.src);
        let mut initial = self.initial_variables(&invite, Some(&q), &caller_number, &caller_name);
        for (n, v) in flow_vars {
            match initial.iter_mut().find(|(k, _)| *k == n) {
                Some((_, old)) => *old = v,
                None => initial.push((n, v)),
            }
        }
        let data = crate::acd::InteractionData::new(self.variable_specs(), &initial).unwrap_or_else(|e| {
            tracing::warn!(call = %id, error = %e, "call data refused: variables left unset");
            crate::acd::InteractionData::new(self.variable_specs(), &[] as &[(String, String)])
                .unwrap_or_else(|_| crate::acd::InteractionData::empty())
        });
        if let (Some(p), Some(body)) = (progress.as_mut(), anchored_answer) {
            p.body = body;
            p.headers.set(HeaderName::ContentType, "application/sdp");
            p.headers.push(HeaderName::Contact, contact);
        }
        let first = progress.clone();
        self.with_call(now, id, |c, ctx| {
            c.acd = true;
            // CALL-REC-1 for a caller an entry point led here (a direct
            // caller's route already asked for it); its CDR's route is the
            // queue it reached.
            if let Some(m) = c.media.as_deref_mut() {
                m.record_on_answer |= q.record;
            }
            if c.route.starts_with("entry:") {
                c.route = format!("queue:{}", q.name);
            }
            c.queue_media(ctx);
            if let Some(p) = first {
                c.provisional_to_a(ctx, p);
            }
        });
        let interaction = interaction_of(id);
        if self.queues.boot_ms == 0 {
            self.queues.boot_ms = now.unix_ms;
        }
        let uid = format!("{}-{}", self.queues.boot_ms, id.0);
        self.queues.calls.insert(
            interaction,
            QueueCall::new(uid, id, context.to_owned(), b_body, progress.map(Box::new)),
        );
        self.timers
            .set(EngineTimer::Progress(id), now.mono + super::queue_wait::PROGRESS_EVERY);
        if q.announce_every.is_some() {
            self.timers.set(
                EngineTimer::Announce(id),
                now.mono + super::queue_wait::FIRST_ANNOUNCEMENT,
            );
        }
        tracing::info!(call = %id, queue = %q.name, "call queued");
        let arrived = self.acd_event(
            now,
            AcdEvent::InteractionArrived {
                id: interaction,
                queue: q.id,
                priority: placed.map_or(q.priority, |p| p.priority),
                customer: Box::new(crate::acd::Customer {
                    caller_number,
                    dnis,
                    data,
                    min_skill: placed.map_or(0, |p| p.min_skill),
                }),
            },
        );
        match arrived {
            // Recorded as it arrived (and again as it changes) so a restart loses nothing.
            Ok(()) => {
                self.record_interaction(now, interaction, None);
                self.arm_courtesy(now, id, q.courtesy_callback_after.is_some());
            }
            Err(e) => tracing::error!(call = %id, error = %e, "the ACD refused the call"),
        }
    }

    /// Feeds the ACD and carries out what it asks.
    pub(crate) fn acd_event(&mut self, now: Now, ev: AcdEvent) -> Result<(), crate::acd::AcdError> {
        let r = self.acd.handle(now.mono, ev);
        self.pump_acd(now);
        r
    }

    /// Carries out the ACD's actions until it has none.
    pub(crate) fn pump_acd(&mut self, now: Now) {
        while let Some(action) = self.acd.poll_action() {
            match action {
                AcdAction::RingAgent {
                    offer,
                    agent,
                    interaction,
                    auto_answer,
                    ..
                } => self.ring_agent(now, offer, agent, interaction, auto_answer),
                AcdAction::CancelRing {
                    offer,
                    agent,
                    interaction,
                    reason,
                } => self.cancel_ring(now, offer, agent, interaction, reason),
                AcdAction::Connect {
                    offer,
                    agent,
                    interaction,
                } => self.on_connected(now, offer, agent, interaction),
                AcdAction::OfferTimedOut {
                    offer,
                    agent,
                    interaction,
                } => {
                    let uid = self.uid_of(interaction);
                    self.desk_event(DeskEvent::Rona {
                        agent: self.login_of(agent),
                        offer: offer.0,
                        interaction: uid,
                    });
                }
                AcdAction::AgentStateChanged {
                    agent, state, pending, ..
                } => {
                    self.queues.agent_since.insert(agent, now.unix_ms);
                    let (name, reason) = state_name(&state);
                    let pending = pending.map(|p| match p {
                        crate::acd::RequestedState::Available => "Available".to_owned(),
                        crate::acd::RequestedState::Idle(r) => format!("Idle({})", idle_reason_name(&r)),
                    });
                    self.record_agent_state(now, agent, &state, pending.clone());
                    self.desk_event(DeskEvent::AgentState {
                        agent: self.login_of(agent),
                        state: name,
                        reason,
                        pending,
                        at_ms: now.unix_ms,
                    });
                }
                AcdAction::Overflow {
                    interaction, target, ..
                } => self.overflow(now, interaction, target),
                AcdAction::WrapUpStarted {
                    agent,
                    interaction,
                    deadline,
                } => {
                    // The reasons of the queue the agent wraps up for (a
                    // transfer may have moved the interaction on).
                    let reasons = self
                        .acd
                        .wrap_up_queue(agent)
                        .and_then(|q| self.cfg.acd().queue(q))
                        .map(|q| q.wrap_up_reasons.clone())
                        .unwrap_or_default();
                    let deadline_ms = unix_ms_of(now, deadline);
                    self.desk_event(DeskEvent::WrapUp {
                        agent: self.login_of(agent),
                        interaction: self.uid_of(interaction),
                        reasons,
                        deadline_ms: Some(deadline_ms),
                    });
                }
                AcdAction::WrapUpEnded {
                    agent,
                    interaction,
                    timed_out,
                    ..
                } => {
                    let uid = self.uid_of(interaction);
                    self.desk_event(DeskEvent::WrapUpEnded {
                        agent: self.login_of(agent),
                        interaction: uid,
                        timed_out,
                    });
                }
                a @ (AcdAction::RingConsult { .. }
                | AcdAction::ConsultFailed { .. }
                | AcdAction::PrimaryChanged { .. }) => self.on_consult_action(now, a),
                AcdAction::HandedOver {
                    interaction,
                    from,
                    accepted,
                } => self.on_handed_over(now, interaction, from, accepted),
                AcdAction::InteractionClosed {
                    interaction,
                    outcome,
                    info,
                } => {
                    if let Some(qc) = self.queues.calls.get(&interaction) {
                        let rec = self.interaction_record(now, qc, &info, Some(outcome.into()));
                        self.out.push_back(Output::Acd(AcdRecord::Interaction(Box::new(rec))));
                    }
                    self.forget_interaction(interaction);
                }
            }
        }
    }

    pub(crate) fn desk_event(&mut self, ev: DeskEvent) {
        self.out.push_back(Output::Desk(ev));
    }

    pub(crate) fn login_of(&self, agent: AgentId) -> String {
        self.cfg
            .acd()
            .agent(agent)
            .map(|a| a.login.clone())
            .unwrap_or_else(|| agent.to_string())
    }

    pub(crate) fn uid_of(&self, interaction: InteractionId) -> String {
        self.queues
            .calls
            .get(&interaction)
            .map(|c| c.uid.clone())
            .unwrap_or_else(|| interaction.to_string())
    }

    fn ring_agent(&mut self, now: Now, offer: OfferId, agent: AgentId, interaction: InteractionId, auto_answer: bool) {
        let Some(qc) = self.queues.calls.get_mut(&interaction) else {
            return;
        };
        let id = qc.call;
        qc.offers.push(LiveOffer {
            offer,
            agent,
            legs: Vec::new(),
            auto_answer,
        });
        self.queues.offers.insert(offer, interaction);
        if self.is_voicemail_item(interaction) {
            // A work item rings no phone: the desktop's offer is all of it.
            if let Some(view) = self.offer_view(interaction, offer) {
                self.desk_event(DeskEvent::Offer {
                    agent: self.login_of(agent),
                    offer: view,
                });
            }
            if auto_answer {
                // OFFER-1 auto-accept: taken for the agent at once.
                let _ = self.acd.handle(now.mono, AcdEvent::OfferAccepted { offer });
            }
            return;
        }
        let party_legs = self
            .calls
            .get(&id)
            .is_some_and(|c| c.phase == crate::call::Phase::Answered);
        let legs = self.ring_phone(now, id, agent, auto_answer);
        if let Some(qc) = self.queues.calls.get_mut(&interaction) {
            // A party leg writes its own leg CDR (the call core's).
            if !party_legs {
                qc.agent_legs.extend(legs.iter().map(|l| (*l, (agent, now.unix_ms))));
            }
            if let Some(o) = qc.offers.iter_mut().find(|o| o.offer == offer) {
                o.legs = legs.clone();
            }
        }
        if let Some(view) = self.offer_view(interaction, offer) {
            self.desk_event(DeskEvent::Offer {
                agent: self.login_of(agent),
                offer: view,
            });
        }
        if legs.is_empty() {
            tracing::info!(call = %id, agent = %self.login_of(agent), "agent phone not reachable: offer fails");
            let _ = self.acd.handle(now.mono, AcdEvent::PhoneLegFailed { offer });
        }
    }

    /// Rings every registered contact of `agent`'s extension for call
    /// `id`; the new B legs' indexes (none: not registered or no INVITE).
    pub(crate) fn ring_phone(&mut self, now: Now, id: CallRef, agent: AgentId, auto_answer: bool) -> Vec<usize> {
        if self
            .calls
            .get(&id)
            .is_some_and(|c| c.phase == crate::call::Phase::Answered)
        {
            // A transferred customer is answered already: the agent's phone
            // is a party leg of its call (CALL-XFER-1, CALL-XFER-6).
            return self
                .ring_transfer_agent(now, id, agent, auto_answer)
                .into_iter()
                .collect();
        }
        let Some(ext) = self.cfg.acd().agent(agent).map(|a| a.extension.clone()) else {
            return Vec::new();
        };
        let Some(local) = self.user_profile_local() else {
            return Vec::new();
        };
        let Some(call) = self.calls.get(&id) else {
            return Vec::new();
        };
        let body = self
            .queues
            .calls
            .get(&interaction_of(id))
            .map(|c| c.b_body.clone())
            .unwrap_or_default();
        let (mut from_user, mut display, sips) = match (call.a.invite.as_deref(), call.callback.as_deref()) {
            (Some(a_invite), _) => {
                let env = a_invite.envelope().ok();
                let from_user = env
                    .as_ref()
                    .and_then(|e| e.from.uri.user.clone())
                    .map(|u| String::from_utf8_lossy(&u).into_owned())
                    .unwrap_or_else(|| call.caller.clone());
                let display = env.as_ref().and_then(|e| e.from.display.clone());
                let sips = a_invite
                    .uri()
                    .is_some_and(|u| u.scheme == crate::sip::msg::Scheme::Sips);
                (from_user, display, sips)
            }
            // A callback call has no caller INVITE: the agent's phone shows
            // the customer it is about to call (OFFER-6).
            (None, Some(dial)) => (
                crate::acd::callback::digits(&dial.number),
                Some(bytes::Bytes::from(format!("\"Callback {}\"", dial.number))),
                false,
            ),
            (None, None) => return Vec::new(),
        };
        // OFFER-3: with sensitive-data protection the phone's display shows
        // only the number's last 4 digits too (name and number: a carrier
        // often puts the number in the display name).
        let masked = self
            .acd
            .interaction(interaction_of(id))
            .and_then(|i| self.cfg.acd().queue(i.queue))
            .is_some_and(|q| q.mask_caller_number);
        if masked {
            from_user = crate::acd::mask_number(&from_user);
            display = Some(bytes::Bytes::from(format!("\"{from_user}\"")));
        }
        let opts = RingOptions {
            from_user,
            display,
            max_forwards: 70,
            body: Some(body),
            auto_answer,
        };
        // A sips: caller is offered only to phones registered over TLS
        // (RFC 5630 §3.1.3, as for direct calls); an agent with none is
        // not rung, and the offer ends like an unanswered one.
        let targets: Vec<RingTarget> = self
            .registrar
            .lookup(now.unix_s(), &ext)
            .into_iter()
            .map(|b| RingTarget {
                uri: b.uri.clone(),
                dest: b.destination(local),
                trunk: None,
            })
            .filter(|t| !sips || t.dest.transport.is_secure())
            .collect();
        if sips && targets.is_empty() {
            tracing::info!(call = %id, agent = %self.login_of(agent), "sips: queue call: the agent's phone is not on TLS, not rung");
        }
        self.with_call(now, id, |c, ctx| c.ring(ctx, targets, &opts))
            .unwrap_or_default()
    }

    fn cancel_ring(
        &mut self,
        now: Now,
        offer: OfferId,
        agent: AgentId,
        interaction: InteractionId,
        reason: CancelReason,
    ) {
        self.queues.offers.remove(&offer);
        let Some(qc) = self.queues.calls.get_mut(&interaction) else {
            return;
        };
        let Some(pos) = qc.offers.iter().position(|o| o.offer == offer) else {
            return;
        };
        let o = qc.offers.remove(pos);
        let (id, uid) = (qc.call, qc.uid.clone());
        let why = match reason {
            CancelReason::Declined => "declined",
            CancelReason::Rona => "rona",
            CancelReason::AnsweredElsewhere => "answered_elsewhere",
            CancelReason::Abandoned => "abandoned",
            CancelReason::Reassigned => "reassigned",
        };
        self.cancel_legs(now, id, &o.legs);
        for leg in &o.legs {
            self.record_agent_leg(now, id, *leg, why, None);
        }
        self.desk_event(DeskEvent::OfferCancelled {
            agent: self.login_of(agent),
            offer: offer.0,
            interaction: uid,
            reason: why,
        });
    }

    /// CANCELs the call's B legs `legs` that still ring.
    pub(crate) fn cancel_legs(&mut self, now: Now, id: CallRef, legs: &[usize]) {
        self.with_call(now, id, |c, ctx| c.cancel_legs(ctx, legs));
    }

    /// The ACD connected the interaction to `agent` by `offer`. Ring-all's
    /// other offers stay listed until their `CancelRing`, which follows and
    /// CANCELs their phones.
    fn on_connected(&mut self, now: Now, offer: OfferId, agent: AgentId, interaction: InteractionId) {
        let Some(qc) = self.queues.calls.get_mut(&interaction) else {
            return;
        };
        qc.offers.retain(|o| o.offer != offer);
        self.queues.offers.remove(&offer);
        self.timers.cancel(EngineTimer::Announce(qc.call));
        self.timers.cancel(EngineTimer::Progress(qc.call));
        // Recorded at answer too: the answer time survives a restart.
        self.record_interaction(now, interaction, None);
        // The event goes to the agent's desktop: OFFER-3 masking applies.
        if let Some(view) = self.interaction_view(interaction, true) {
            self.desk_event(DeskEvent::Connected {
                agent: self.login_of(agent),
                interaction: view,
            });
        }
        // CALL-CONSULT-2: what the agent may do from the start.
        self.send_controls(interaction);
    }

    /// An interaction as desktops see it; `mask` applies OFFER-3 for agents.
    pub(crate) fn interaction_view(&self, interaction: InteractionId, mask: bool) -> Option<InteractionView> {
        let qc = self.queues.calls.get(&interaction)?;
        let info = self.acd.interaction(interaction)?;
        let q = self.cfg.acd().queue(info.queue)?;
        let durations = self
            .last_now
            .map_or(info.durations(), |now| info.durations_at(now.mono));
        let caller = if mask && q.mask_caller_number {
            crate::acd::mask_number(&info.customer.caller_number)
        } else {
            info.customer.caller_number.clone()
        };
        Some(InteractionView {
            interaction: qc.uid.clone(),
            queue: q.name.clone(),
            channel: self.channel_of(interaction, qc.call),
            state: info.state_name(),
            caller,
            dnis: info.customer.dnis.clone(),
            agent: info.agent.map(|a| self.login_of(a)),
            assigned_to: match self.acd.interaction_state(interaction) {
                Some(crate::acd::InteractionState::Assigned { agent, .. }) => Some(self.login_of(*agent)),
                _ => None,
            },
            arrived_ms: self.last_now.map_or(0, |now| unix_ms_of(now, info.arrived_at)),
            durations,
            call: qc.call.0,
            controls: Vec::new(),
            monitor: if mask {
                None
            } else {
                self.calls.get(&qc.call).and_then(|c| {
                    let (_, p) = c.monitor()?;
                    let crate::call::PartyKind::Supervisor { supervisor } = &p.kind else {
                        return None;
                    };
                    Some(super::desk::MonitorView {
                        supervisor: supervisor.clone(),
                        extension: p.extension.clone(),
                        mode: c.monitor_mode_name(),
                        answered: p.state == crate::call::PartyState::Answered,
                    })
                })
            },
            recording: self
                .calls
                .get(&qc.call)
                .and_then(|c| c.media.as_ref())
                .and_then(|m| m.recording.as_ref())
                .map(|r| {
                    if r.paused_since.is_some() {
                        "paused"
                    } else {
                        "recording"
                    }
                }),
        })
    }

    /// The phone of an offer answered (2xx on B leg `idx`): true when the
    /// ACD connects it (the caller gets its 200), false when the offer is
    /// gone (RONA fired, the caller left): the leg is then hung up.
    pub(crate) fn queue_leg_answered(&mut self, now: Now, id: CallRef, idx: usize) -> bool {
        let interaction = interaction_of(id);
        let Some(offer) = self.queues.calls.get(&interaction).and_then(|c| c.offer_of_leg(idx)) else {
            return false;
        };
        // The offer's other forks stop ringing.
        let others: Vec<usize> = self
            .queues
            .calls
            .get(&interaction)
            .and_then(|c| c.offers.iter().find(|o| o.offer == offer))
            .map(|o| o.legs.iter().copied().filter(|l| *l != idx).collect())
            .unwrap_or_default();
        if self.acd.handle(now.mono, AcdEvent::PhoneAnswered { offer }).is_err() {
            return false;
        }
        self.cancel_legs(now, id, &others);
        for leg in others {
            self.record_agent_leg(now, id, leg, "answered_elsewhere", None);
        }
        if let Some(qc) = self.queues.calls.get_mut(&interaction) {
            qc.answered_leg = Some(idx);
        }
        // Noise removal configured for the agent (CALL-NOISE-1).
        let agent_denoise = self
            .queues
            .calls
            .get(&interaction)
            .and_then(|c| c.offers.iter().find(|o| o.offer == offer))
            .and_then(|o| self.cfg.acd().agent(o.agent))
            .and_then(|a| self.cfg.user(&a.extension))
            .is_some_and(|u| u.noise_removal);
        if let Some(m) = self.calls.get_mut(&id).and_then(|c| c.media.as_deref_mut()) {
            m.denoise |= agent_denoise;
        }
        true
    }

    /// The customer was put on or off hold (by a phone's re-INVITE or the
    /// desktop, CALL-HOLD-1): a connected interaction books the time as hold
    /// (HIST-3), refuses the desktop's End while held, and the agent's
    /// desktop is told, with its controls now (CALL-CONSULT-2).
    pub(crate) fn queue_hold_changed(&mut self, now: Now, id: CallRef, held: bool) {
        let interaction = interaction_of(id);
        let Some(info) = self.acd.interaction(interaction) else {
            return;
        };
        if info.phase != crate::acd::Phase::Connected || info.held == held {
            return;
        }
        let agent = info.agent;
        let _ = self.acd_event(now, AcdEvent::HoldChanged { id: interaction, held });
        if let Some(agent) = agent {
            let uid = self.uid_of(interaction);
            self.desk_event(DeskEvent::Hold {
                agent: self.login_of(agent),
                interaction: uid,
                held,
            });
        }
        self.send_controls(interaction);
    }

    /// B leg `idx` of a queued call failed: when it was the offer's last
    /// ringing leg, the offer ends (a phone's 486/600/603 is a decline,
    /// anything else a failed leg, OFFER-4). Our own CANCELs are not
    /// reported: their offers are already gone.
    pub(crate) fn queue_leg_failed(&mut self, now: Now, id: CallRef, idx: usize, code: StatusCode) {
        let declined = matches!(code.as_u16(), 486 | 600 | 603);
        let cause = if declined { "declined" } else { "failed" };
        self.record_agent_leg(now, id, idx, cause, Some(code.as_u16()));
        let interaction = interaction_of(id);
        let Some(qc) = self.queues.calls.get_mut(&interaction) else {
            return;
        };
        let Some(o) = qc.offers.iter_mut().find(|o| o.legs.contains(&idx)) else {
            return;
        };
        o.legs.retain(|l| *l != idx);
        if !o.legs.is_empty() {
            return;
        }
        let offer = o.offer;
        let ev = if declined {
            AcdEvent::OfferDeclined { offer }
        } else {
            AcdEvent::PhoneLegFailed { offer }
        };
        let _ = self.acd_event(now, ev);
    }

    /// The call of an interaction ended (`end_call`): the ACD is told (wrap-up
    /// for a connected one, abandon otherwise); the legs' CDRs are written.
    pub(crate) fn queue_call_ended(&mut self, now: Now, id: CallRef, cause: &str) {
        self.callback_call_ended(now, id, cause == "overflow");
        let interaction = interaction_of(id);
        if !self.queues.calls.contains_key(&interaction) {
            return;
        }
        self.timers.cancel(EngineTimer::Announce(id));
        self.timers.cancel(EngineTimer::Progress(id));
        let Some(info) = self.acd.interaction(interaction) else {
            return;
        };
        let closed = self
            .queues
            .calls
            .get(&interaction)
            .is_some_and(|c| c.closed_by.is_some());
        match info.phase {
            crate::acd::Phase::Queued | crate::acd::Phase::Ringing => {
                self.record_caller_leg(now, interaction, cause);
                let ev = if closed {
                    AcdEvent::ForceClose { id: interaction }
                } else {
                    AcdEvent::InteractionAbandoned { id: interaction }
                };
                let _ = self.acd_event(now, ev);
            }
            crate::acd::Phase::WrapUp => {}
            _ => {
                let agent = info.agent;
                let answered_leg = self.queues.calls.get(&interaction).and_then(|c| c.answered_leg);
                self.record_caller_leg(now, interaction, cause);
                if let Some(leg) = answered_leg {
                    self.record_agent_leg(now, id, leg, cause, Some(200));
                }
                if let Some(agent) = agent {
                    let by = match cause {
                        "callee_hangup" | "agent_end" => "agent",
                        "caller_hangup" => "customer",
                        "supervisor_closed" => "supervisor",
                        _ => "switch",
                    };
                    self.desk_event(DeskEvent::Ended {
                        agent: self.login_of(agent),
                        interaction: self.uid_of(interaction),
                        by,
                    });
                }
                let _ = self.acd_event(now, AcdEvent::InteractionEnded { id: interaction });
                if closed {
                    // SUP-6: no wrap-up; recorded `Closed` when the ACD closes it.
                    let _ = self.acd_event(now, AcdEvent::ForceClose { id: interaction });
                } else {
                    self.record_interaction(now, interaction, Some(InteractionOutcome::Answered));
                }
            }
        }
    }

    fn forget_interaction(&mut self, interaction: InteractionId) {
        if let Some(qc) = self.queues.calls.remove(&interaction) {
            for o in qc.offers {
                self.queues.offers.remove(&o.offer);
            }
        }
    }

    /// The queue's maximum wait passed and it overflows: to another queue,
    /// whose call it now is (its offers, OFFER-3 masking, wrap-up reasons
    /// and announcements follow that queue); or out of the ACD, the number
    /// routed by the caller's dial plan like a new call attempt.
    fn overflow(&mut self, now: Now, interaction: InteractionId, target: crate::acd::OverflowTarget) {
        let number = match target {
            // The ACD moved it to the other queue's line.
            crate::acd::OverflowTarget::Queue(_) => return,
            crate::acd::OverflowTarget::External(number) => number,
        };
        // The ACD closes it next (InteractionClosed: recorded and forgotten).
        let Some(qc) = self.queues.calls.get(&interaction) else {
            return;
        };
        let (id, context, body) = (qc.call, qc.context.clone(), qc.b_body.clone());
        self.timers.cancel(EngineTimer::Announce(id));
        self.timers.cancel(EngineTimer::Progress(id));
        if self.calls.get(&id).is_some_and(|c| c.callback.is_some()) {
            // A callback has no caller to send out: it comes back later.
            tracing::info!(call = %id, %number, "callback waited the queue's maximum: back later, not overflowed");
            self.with_call(now, id, |c, ctx| c.end(ctx, "overflow"));
            return;
        }
        tracing::info!(call = %id, %number, "queue overflow");
        self.with_call(now, id, |c, ctx| {
            c.acd = false;
            c.media_connected(ctx);
        });
        if !self.route_existing_call(now, id, &context, &number, body) {
            self.with_call(now, id, |c, ctx| {
                c.fail(
                    ctx,
                    StatusCode::TEMPORARILY_UNAVAILABLE,
                    "Queue Overflow Unroutable",
                    "overflow_unroutable",
                )
            });
        }
    }
}
