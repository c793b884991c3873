//! The desktop's transfers wired between the ACD core (who holds the
//! interaction, who wraps up, `acd/transfer.rs`) and the call core (which
//! legs leave, what the customer hears, `call/transfer.rs`): CALL-XFER-1..5,
//! CALL-CONSULT-4's transfer to the consultee, CALL-DIAL-1.
//!
//! - **Targets** (CALL-XFER-1): an agent by login (only `Available`: an
//!   agent in wrap-up, `Idle`, busy or ringing is refused with its state;
//!   its phone must be registered), a queue by name, an entry point (a
//!   queue's number is that queue; any other dial-plan number is rung as a
//!   number), a number (normalised per CALL-DIAL-1 and routed by the dial
//!   plan of the agents' phone profile), or the consultee of the running
//!   consult once it answered. Everything is checked before anything
//!   moves: a refused transfer leaves the call as it was.
//! - **Blind**: the agent's leg is hung up at once (its leg CDR says
//!   `transferred`), the agent wraps up (CALL-XFER-5) and the customer
//!   waits with music while the ACD offers the interaction (an agent
//!   target: that agent; a queue: its line, never back to the transferring
//!   agent, CALL-XFER-3). An offered agent's phone rings as a party leg of
//!   the customer's call; its answer connects the customer, and a decline
//!   or ring-out reroutes by the queue's rule (CALL-XFER-2). A number
//!   rings the same way; answered, the customer has left the contact
//!   center (the interaction's outcome is `Transferred`); not answered,
//!   the customer goes back to the queue's line (never dropped).
//! - **To the consultee**: the initiator's leg is hung up; a consulted
//!   agent becomes the primary agent (the desktop gets `primary_changed`),
//!   a consulted number takes the customer out of the contact center.
//! - The transferring agent's desktop gets `transferred` (then `wrap_up`).
//!
//! Entry points carry the call's variables over (CALL-XFER-4): a queue's
//! flow lists the variables it uses (`flow_variables` in `acd.toml`,
//! default all); a call transferred in through the queue's number keeps
//! those and the built-ins, and the others' values are dropped. Variables
//! are defined once for the tenant with one type each, so a name that
//! matches has the same type. A transfer to the queue by name keeps
//! everything (the same interaction, moved by an agent, not entering a
//! flow).

use super::desk::{DeskError, DeskEvent, TransferTo};
use super::queue::interaction_of;
use super::{Engine, Now};
use crate::acd::{AcdEvent, AgentId, AgentState, InteractionId, TransferTarget};
use crate::call::dial::DialNumber;
use crate::call::media::MediaLeg;
use crate::call::{CallEvent, ControlError, MovedLeg, PartyKind, PartyTarget, Talk};
use crate::ids::CallRef;

/// A blind transfer's target once checked, with its name for the desktop.
enum Checked {
    /// An ACD target (an agent or a queue).
    Acd(TransferTarget),
    /// A number rung as a party leg.
    Outside(Box<PartyTarget>),
    /// A party already talking with the agent's phone, moved in from the
    /// phone's other call (its attended transfer, RFC 5589 §7).
    Moved(Box<MovedLeg>),
    /// An entry point of `entrypoints.toml`: the customer walks its flow,
    /// which decides where it goes (CALL-XFER-4).
    Flow(crate::config::FlowId),
}

impl Engine {
    /// CALL-XFER-1 / CALL-CONSULT-4: `agent` transfers interaction `uid` `to`.
    pub(super) fn desk_transfer(
        &mut self,
        now: Now,
        agent: AgentId,
        uid: &str,
        to: TransferTo,
    ) -> Result<(), DeskError> {
        let id = self.own_primary(agent, uid)?;
        if to == TransferTo::Consultee {
            return self.transfer_to_consultee(now, agent, id);
        }
        let login = self.login_of(agent);
        let (checked, label, kind) = self.check_blind(now, agent, id, uid, &login, to)?;
        self.transfer_blind(now, id, uid, login, checked, label, kind)
    }

    /// The agent's phone transferred interaction `uid` attended (REFER
    /// with Replaces, RFC 5589 §7): `moved`, the party its other call
    /// talked with (`number`), takes the customer like a blind transfer's
    /// number that answers at once; the agent wraps up (CALL-XFER-5) and
    /// the interaction keeps its record. Check first with
    /// [`Self::check_attended`].
    pub(super) fn phone_attended_transfer(
        &mut self,
        now: Now,
        agent: AgentId,
        uid: &str,
        number: &str,
        moved: MovedLeg,
    ) -> Result<(), DeskError> {
        let id = self.own_primary(agent, uid)?;
        let login = self.login_of(agent);
        let checked = Checked::Moved(Box::new(moved));
        self.transfer_blind(now, id, uid, login, checked, number.to_owned(), "number")
    }

    /// Checks that `agent` may hand interaction `uid` to a party its phone
    /// talks with in another call, moving nothing.
    pub(super) fn check_attended(&self, agent: AgentId, uid: &str) -> Result<(), DeskError> {
        let id = self.own_primary(agent, uid)?;
        self.check_alone(id)
    }

    /// The agent's leg leaves for a checked blind target.
    #[allow(clippy::too_many_arguments)]
    fn transfer_blind(
        &mut self,
        now: Now,
        id: InteractionId,
        uid: &str,
        login: String,
        checked: Checked,
        label: String,
        kind: &'static str,
    ) -> Result<(), DeskError> {
        let call = CallRef(id.0);
        // The leg CDR of the agent's phone, with its talk time, while the
        // agent is still the primary (HIST-3).
        let leg = self.primary_leg(id);
        if leg == MediaLeg::B {
            let answered = self.queues.calls.get(&id).and_then(|qc| qc.answered_leg);
            if let Some(idx) = answered {
                self.record_agent_leg(now, call, idx, "transferred", Some(200));
            }
        }
        let target = match &checked {
            Checked::Acd(t) => *t,
            Checked::Outside(_) | Checked::Moved(_) | Checked::Flow(_) => TransferTarget::Outside,
        };
        // The ACD checked the agent's state too; it moves nothing on
        // refusal. Its actions (the offer's ring) are carried out once the
        // customer's call waits for them (`pump_acd` below).
        if let Err(e) = self.acd.handle(now.mono, AcdEvent::Transfer { id, target }) {
            if let Checked::Moved(m) = checked {
                // Its phone is not left in a call nobody carries.
                self.with_call(now, call, |_, ctx| crate::call::hang_up_moved(ctx, *m));
            }
            return Err(super::desk_ops::desk_error(e));
        }
        if let (TransferTarget::Queue(q), "entry_point") = (target, kind) {
            self.enter_flow(id, q);
        }
        let handed = self
            .with_call(now, call, |c, ctx| c.hand_off(ctx, leg))
            .unwrap_or(Err(ControlError::NoSuchCall(call.0)));
        if let Err(e) = handed {
            tracing::error!(interaction = %uid, error = %e, "transfer: the agent's leg could not be handed off");
        }
        if let Some(qc) = self.queues.calls.get_mut(&id) {
            qc.answered_leg = None;
            qc.primary_leg = MediaLeg::B;
        }
        tracing::info!(interaction = %uid, agent = %login, to = %label, kind, "blind transfer");
        self.desk_event(DeskEvent::Transferred {
            agent: login,
            interaction: uid.to_owned(),
            to: label.clone(),
            kind,
        });
        // The wrap-up prompt, and the ACD's offer ringing a phone (`ring_phone`).
        self.pump_acd(now);
        match checked {
            Checked::Outside(party) => self.ring_outside(now, id, *party),
            Checked::Moved(moved) => self.adopt_outside(now, id, label, *moved),
            Checked::Flow(flow) => self.enter_entry_point_transferred(now, id, flow),
            Checked::Acd(_) => {}
        }
        Ok(())
    }

    /// Checks that `agent` may transfer interaction `uid` blind to `to`,
    /// moving nothing (a phone's REFER is answered from this).
    pub(super) fn check_transfer(&self, now: Now, agent: AgentId, uid: &str, to: TransferTo) -> Result<(), DeskError> {
        let id = self.own_primary(agent, uid)?;
        let login = self.login_of(agent);
        self.check_blind(now, agent, id, uid, &login, to).map(|_| ())
    }

    /// A blind transfer needs the customer and the agent alone, and a
    /// target that can take it.
    fn check_blind(
        &self,
        now: Now,
        agent: AgentId,
        id: InteractionId,
        uid: &str,
        login: &str,
        to: TransferTo,
    ) -> Result<(Checked, String, &'static str), DeskError> {
        self.check_alone(id)?;
        self.check_target(now, agent, uid, login, to)
    }

    /// A transfer of the agent's own needs the customer and the agent alone.
    fn check_alone(&self, id: InteractionId) -> Result<(), DeskError> {
        let call = CallRef(id.0);
        let alone = self
            .calls
            .get(&call)
            .is_some_and(|c| c.talk == Talk::Direct && c.consult.is_none());
        if !alone || self.acd.interaction(id).is_some_and(|i| i.consult_waiting.is_some()) {
            return Err(DeskError::Conflict(
                "a blind transfer needs the customer and you alone: transfer to the consultee, end the consult, \
                 or leave the conference"
                    .into(),
            ));
        }
        Ok(())
    }

    /// Checks a blind transfer's target before anything moves.
    fn check_target(
        &self,
        now: Now,
        agent: AgentId,
        uid: &str,
        login: &str,
        to: TransferTo,
    ) -> Result<(Checked, String, &'static str), DeskError> {
        let unsupported = || DeskError::Conflict("unsupported destination".into());
        match to {
            TransferTo::Agent(name) => {
                let Some(a) = self.cfg.acd().agent_by_login(&name).cloned() else {
                    return Err(DeskError::NotFound {
                        field: "target.agent",
                        message: format!("no agent {name}"),
                    });
                };
                if a.id == agent {
                    return Err(DeskError::Invalid {
                        field: "target.agent".into(),
                        message: "an agent cannot transfer to itself".into(),
                    });
                }
                match self.acd.agent_state(a.id) {
                    Some(AgentState::Available) => {}
                    Some(s) => {
                        let (state, reason) = super::queue::state_name(s);
                        let state = match reason {
                            Some(r) => format!("{state} ({r})"),
                            None => state.to_owned(),
                        };
                        return Err(DeskError::Conflict(format!(
                            "agent {name} is {state}: only an Available agent can take a transfer (CALL-XFER-1)"
                        )));
                    }
                    None => return Err(unsupported()),
                }
                if self.phone_of(now, &a.extension).is_none() {
                    return Err(DeskError::Conflict(format!(
                        "agent {name}'s phone (extension {}) is not registered",
                        a.extension
                    )));
                }
                Ok((Checked::Acd(TransferTarget::Agent(a.id)), name, "agent"))
            }
            TransferTo::Queue(name) => {
                let Some(q) = self.cfg.acd().queue_by_name(&name).map(|q| q.id) else {
                    return Err(DeskError::NotFound {
                        field: "target.queue",
                        message: format!("no queue {name}"),
                    });
                };
                Ok((Checked::Acd(TransferTarget::Queue(q)), name, "queue"))
            }
            TransferTo::EntryPoint(number) => {
                let number = number.trim().to_owned();
                // An entry point by name, or a number the agents' dial plan
                // leads into one: the customer walks its flow (CALL-XFER-4).
                if let Some(flow) = self.entry_point_named(&number) {
                    if !self.customer_hears_prompts(CallRef(self.own_primary(agent, uid)?.0)) {
                        return Err(DeskError::Conflict(
                            "other parties are still on this call: end the conference (or let them leave) before transferring the customer to an entry point"
                                .into(),
                        ));
                    }
                    return Ok((Checked::Flow(flow), number, "entry_point"));
                }
                // A queue's number is that queue (CALL-XFER-4: the variables go along).
                if let Some(q) = self.cfg.acd().queues.iter().find(|q| q.number == number) {
                    return Ok((Checked::Acd(TransferTarget::Queue(q.id)), number, "entry_point"));
                }
                let party = self.transfer_party(now, uid, login, &number).ok_or_else(unsupported)?;
                Ok((Checked::Outside(Box::new(party)), number, "entry_point"))
            }
            TransferTo::Number(typed) => {
                let n = DialNumber::parse(&typed).map_err(|e| DeskError::Invalid {
                    field: "target.number".into(),
                    message: e.to_string(),
                })?;
                let party = self
                    .transfer_party(now, uid, login, &n.number)
                    .ok_or_else(unsupported)?;
                Ok((Checked::Outside(Box::new(party)), n.to_string(), "number"))
            }
            TransferTo::Consultee => Err(unsupported()),
        }
    }

    /// CALL-XFER-4: interaction `id` entered queue `q`'s flow through its
    /// entry point: it keeps the variables that flow uses (every variable
    /// has one type for the tenant, so a matching name is a matching
    /// type) and the built-ins; the others' values are dropped.
    fn enter_flow(&mut self, id: InteractionId, q: crate::acd::QueueId) {
        let Some(flow) = self.cfg.acd().queue(q).and_then(|q| q.flow_variables.clone()) else {
            return;
        };
        const BUILTINS: [&str; 4] = ["caller_number", "caller_name", "dnis", "queue"];
        let dropped = self
            .acd
            .keep_variables(id, |name| BUILTINS.contains(&name) || flow.iter().any(|f| f == name))
            .unwrap_or_default();
        if !dropped.is_empty() {
            tracing::info!(interaction = %self.uid_of(id), dropped = ?dropped, "transfer: variables the new flow does not use were dropped (CALL-XFER-4)");
        }
    }

    /// The entry point `target` names: by its name, or a number the agents'
    /// dial plan routes to one.
    pub(super) fn entry_point_named(&self, target: &str) -> Option<crate::config::FlowId> {
        let entry = self.cfg.entry_points();
        if let Some(f) = entry.by_name(target) {
            return Some(f);
        }
        let context = self
            .cfg
            .profiles()
            .iter()
            .find(|p| matches!(p.auth, crate::config::AuthPolicy::Digest { .. }))
            .map(|p| p.context.clone())?;
        match self.cfg.dialplan().route(&context, target)?.action {
            crate::config::Action::EntryPoint { name } => entry.by_name(&name),
            _ => None,
        }
    }

    /// Whether the customer of call `call` would hear prompts once its
    /// agent leaves: no other party present (a consult or monitor that is
    /// over has taken the media back to the relay). The switch plays
    /// prompts on the customer's leg of a call it relays, not on the
    /// conference bridge: a customer in a conference is refused with the
    /// reason (the agent ends the conference first).
    fn customer_hears_prompts(&self, call: CallRef) -> bool {
        self.calls
            .get(&call)
            .is_some_and(|c| c.media.is_some() && c.b.iter().all(|l| l.party().is_none_or(|p| !p.pending())))
    }

    /// A number routed by the dial plan, rung as a transfer's party.
    fn transfer_party(&self, now: Now, uid: &str, login: &str, number: &str) -> Option<PartyTarget> {
        let mut t = self.dialled_party(now, uid, login, number)?;
        t.display = format!("Transfer from {login}");
        Some(t)
    }

    /// Rings `party` for interaction `id` waiting in a transfer (an entry
    /// point's user or number, CALL-XFER-4).
    pub(super) fn ring_transfer_party(&mut self, now: Now, id: InteractionId, party: PartyTarget) {
        self.ring_outside(now, id, party);
    }

    /// Rings the number of a blind transfer; a number that cannot be rung
    /// sends the customer back to the queue's line (CALL-XFER-2).
    fn ring_outside(&mut self, now: Now, id: InteractionId, party: PartyTarget) {
        let call = CallRef(id.0);
        let label = party.extension.clone();
        let placed = self
            .with_call(now, call, |c, ctx| c.ring_transfer(ctx, party))
            .unwrap_or(Err(ControlError::NoSuchCall(call.0)));
        match placed {
            Ok(leg) => {
                if let Some(qc) = self.queues.calls.get_mut(&id) {
                    qc.transfer_party = Some((leg, label));
                }
            }
            Err(e) => {
                tracing::info!(interaction = %self.uid_of(id), number = %label, error = %e, "transfer: the number cannot be rung; back to the queue");
                let _ = self.acd_event(now, AcdEvent::TransferFailed { id });
            }
        }
    }

    /// The party of the agent phone's attended transfer joins the
    /// customer's call (re-INVITEd to a port of it); its answer connects
    /// the customer like a blind transfer's number, its refusal sends the
    /// customer back to the queue's line (CALL-XFER-2).
    fn adopt_outside(&mut self, now: Now, id: InteractionId, label: String, moved: MovedLeg) {
        let call = CallRef(id.0);
        let adopted = self
            .with_call(now, call, |c, ctx| c.adopt_transfer(ctx, moved))
            .unwrap_or(Err(ControlError::NoSuchCall(call.0)));
        match adopted {
            Ok(leg) => {
                if let Some(qc) = self.queues.calls.get_mut(&id) {
                    qc.transfer_party = Some((leg, label));
                }
            }
            Err(e) => {
                tracing::info!(interaction = %self.uid_of(id), number = %label, error = %e, "attended transfer: the party cannot join; back to the queue");
                let _ = self.acd_event(now, AcdEvent::TransferFailed { id });
            }
        }
    }

    /// CALL-CONSULT-4: the consultee who answered takes the customer.
    fn transfer_to_consultee(&mut self, now: Now, agent: AgentId, id: InteractionId) -> Result<(), DeskError> {
        let call = CallRef(id.0);
        let party = self.calls.get(&call).and_then(|c| c.consult).map(|c| c.party);
        let Some(link) = party.and_then(|p| self.party_link(id, p)) else {
            return Err(DeskError::Conflict("no consult is running to transfer to".into()));
        };
        let answered_leg = self.queues.calls.get(&id).and_then(|qc| qc.answered_leg);
        let primary = self.primary_leg(id);
        // Checked first: a consultee still ringing refuses (CALL-CONSULT-2).
        let answered = self
            .calls
            .get(&call)
            .and_then(|c| c.b.get(link.leg))
            .and_then(|l| l.party())
            .is_some_and(|p| p.state == crate::call::PartyState::Answered);
        if !answered {
            return Err(DeskError::Conflict(
                "the consulted party has not answered yet (CALL-CONSULT-2)".into(),
            ));
        }
        if primary == MediaLeg::B {
            if let Some(idx) = answered_leg {
                self.record_agent_leg(now, call, idx, "transferred", Some(200));
            }
        }
        self.acd_event(now, AcdEvent::TransferToConsultant { id })
            .map_err(super::desk_ops::desk_error)?;
        let r = self
            .with_call(now, call, |c, ctx| c.transfer_to_consultee(ctx))
            .unwrap_or(Err(ControlError::NoSuchCall(call.0)));
        if let Err(e) = r {
            tracing::error!(interaction = %self.uid_of(id), error = %e, "transfer to the consultee: the call refused");
        }
        if let Some(qc) = self.queues.calls.get_mut(&id) {
            qc.answered_leg = None;
        }
        let uid = self.uid_of(id);
        tracing::info!(interaction = %uid, agent = %self.login_of(agent), to = %link.label, "transfer to the consultee");
        self.desk_event(DeskEvent::Transferred {
            agent: self.login_of(agent),
            interaction: uid,
            to: link.label,
            kind: "consultee",
        });
        self.send_controls(id);
        Ok(())
    }

    /// The phone of an agent offered a transferred interaction, as a party
    /// leg of the customer's call; its index.
    pub(super) fn ring_transfer_agent(
        &mut self,
        now: Now,
        id: CallRef,
        agent: AgentId,
        auto_answer: bool,
    ) -> Option<usize> {
        let a = self.cfg.acd().agent(agent)?.clone();
        let (uri, dest) = self.phone_of(now, &a.extension)?;
        let uid = self.uid_of(interaction_of(id));
        let queue = self
            .acd
            .interaction(interaction_of(id))
            .and_then(|i| self.cfg.acd().queue(i.queue))
            .map(|q| q.name.clone())
            .unwrap_or_default();
        let t = PartyTarget {
            kind: PartyKind::Consulted {
                agent: Some(a.login.clone()),
            },
            extension: a.extension.clone(),
            interaction: uid,
            uri,
            dest,
            trunk: None,
            display: format!("Transfer: {queue}"),
            auto_answer,
        };
        self.with_call(now, id, |c, ctx| c.ring_transfer(ctx, t))
            .and_then(Result::ok)
    }

    /// A transfer's party leg answered or failed: the ACD and the desktops
    /// are told. False when `ev` is not about a transfer's party.
    pub(super) fn transfer_party_event(&mut self, now: Now, call: CallRef, ev: &CallEvent) -> bool {
        let id = interaction_of(call);
        let (party, answered, code) = match ev {
            CallEvent::PartyAnswered { party } => (*party, true, None),
            CallEvent::PartyFailed { party, code } => (*party, false, Some(*code)),
            _ => return false,
        };
        let Some(qc) = self.queues.calls.get(&id) else {
            return false;
        };
        if qc.transfer_party.as_ref().is_some_and(|(l, _)| *l == party) {
            let label = qc.transfer_party.as_ref().map(|(_, n)| n.clone()).unwrap_or_default();
            if let Some(qc) = self.queues.calls.get_mut(&id) {
                qc.transfer_party = None;
            }
            let uid = self.uid_of(id);
            if answered {
                tracing::info!(interaction = %uid, number = %label, "transfer: the number answered; the customer leaves the contact center");
                self.with_call(now, call, |c, ctx| {
                    c.acd = false;
                    c.transfer_connected(ctx);
                });
                let _ = self.acd_event(now, AcdEvent::TransferAnswered { id });
            } else {
                tracing::info!(interaction = %uid, number = %label, code = ?code.map(|c| c.as_u16()), "transfer: the number did not answer; back to the queue (CALL-XFER-2)");
                let _ = self.acd_event(now, AcdEvent::TransferFailed { id });
            }
            return true;
        }
        if qc.offer_of_leg(party).is_none() {
            return false;
        }
        if answered {
            if self.queue_leg_answered(now, call, party) {
                if let Some(qc) = self.queues.calls.get_mut(&id) {
                    qc.primary_leg = MediaLeg::Party(party);
                    qc.answered_leg = None;
                }
                self.with_call(now, call, |c, ctx| c.transfer_connected(ctx));
            } else {
                // The offer is gone (RONA fired, the customer left): hang up.
                self.with_call(now, call, |c, ctx| {
                    let _ = c.remove_party(ctx, party);
                });
            }
            self.pump_acd(now);
        } else if let Some(code) = code {
            self.queue_leg_failed(now, call, party, code);
        }
        self.send_controls(id);
        true
    }

    /// CALL-XFER-6: `supervisor` transfers interaction `uid` to agent
    /// `login`: its agent stays with the customer as a consultant while
    /// the agent's phone rings.
    pub(super) fn supervisor_transfer(
        &mut self,
        now: Now,
        supervisor: &str,
        uid: &str,
        login: &str,
    ) -> Result<(), DeskError> {
        let id = self.interaction_by_uid(uid)?;
        let call = CallRef(id.0);
        let Some(from) = self.acd.interaction(id).and_then(|i| i.agent) else {
            return Err(DeskError::Conflict(format!(
                "interaction {uid} is not connected to an agent"
            )));
        };
        let alone = self
            .calls
            .get(&call)
            .is_some_and(|c| c.talk == Talk::Direct && c.consult.is_none());
        if !alone
            || self
                .acd
                .interaction(id)
                .is_some_and(|i| i.phase != crate::acd::Phase::Connected)
        {
            return Err(DeskError::Conflict(format!(
                "interaction {uid} is in a consult or conference: only a call of the customer and its agent can be transferred"
            )));
        }
        let (Checked::Acd(TransferTarget::Agent(to)), _, _) =
            self.check_target(now, from, uid, supervisor, TransferTo::Agent(login.to_owned()))?
        else {
            return Err(DeskError::Conflict("unsupported destination".into()));
        };
        self.acd
            .handle(now.mono, AcdEvent::SupervisorTransfer { id, agent: to })
            .map_err(super::desk_ops::desk_error)?;
        let leg = self.primary_leg(id);
        if let Some(qc) = self.queues.calls.get_mut(&id) {
            let b_index = if leg == MediaLeg::B { qc.answered_leg } else { None };
            qc.handing_over_leg = Some((leg, b_index));
        }
        tracing::info!(interaction = %uid, %supervisor, from = %self.login_of(from), to = %login, "supervisor transfer");
        self.desk_event(DeskEvent::Transferred {
            agent: self.login_of(from),
            interaction: uid.to_owned(),
            to: login.to_owned(),
            kind: "supervisor",
        });
        // The offer rings the agent's phone as a party leg (`ring_phone`).
        self.pump_acd(now);
        self.send_controls(id);
        Ok(())
    }

    /// CALL-XFER-6: the supervisor's transfer ended: accepted, the first
    /// agent's leg is hung up (it wraps nothing up, CALL-END-1); declined,
    /// that agent, still with the customer, is the primary agent again.
    pub(super) fn on_handed_over(&mut self, now: Now, id: InteractionId, from: AgentId, accepted: bool) {
        let call = CallRef(id.0);
        let Some((leg, b_index)) = self.queues.calls.get_mut(&id).and_then(|qc| qc.handing_over_leg.take()) else {
            return;
        };
        let uid = self.uid_of(id);
        if accepted {
            if let Some(idx) = b_index {
                self.record_agent_leg(now, call, idx, "transferred", Some(200));
            }
            let r = self
                .with_call(now, call, |c, ctx| c.hand_over(ctx, leg))
                .unwrap_or(Err(ControlError::NoSuchCall(call.0)));
            if let Err(e) = r {
                tracing::warn!(interaction = %uid, error = %e, "supervisor transfer: the first agent's leg could not be hung up");
            }
            tracing::info!(interaction = %uid, agent = %self.login_of(from), "supervisor transfer accepted: the first agent leaves");
            self.desk_event(DeskEvent::Ended {
                agent: self.login_of(from),
                interaction: uid,
                by: "supervisor",
            });
        } else {
            if let Some(qc) = self.queues.calls.get_mut(&id) {
                qc.primary_leg = leg;
            }
            let to = self
                .queues
                .calls
                .get(&id)
                .and_then(|qc| qc.offers.first())
                .map(|o| self.login_of(o.agent))
                .unwrap_or_default();
            tracing::info!(interaction = %uid, agent = %self.login_of(from), "supervisor transfer not accepted: the first agent keeps the customer");
            self.desk_event(DeskEvent::PrimaryChanged {
                agent: self.login_of(from),
                interaction: uid,
                from: to,
            });
        }
        self.send_controls(id);
    }

    /// The supervisor's view of one interaction, as a list.
    pub(super) fn interaction_view_list(&self, uid: &str) -> Vec<super::desk::InteractionView> {
        self.interaction_by_uid(uid)
            .ok()
            .and_then(|id| self.interaction_view(id, false))
            .into_iter()
            .collect()
    }
}
