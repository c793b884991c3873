//! The desktop's consult and conference controls wired between the ACD
//! core (consulted agents, phases) and the call core (party legs, media
//! modes): CALL-HOLD-2, CALL-CONSULT-1..5, CALL-CONF-1..5, CALL-DIAL-1.
//!
//! The engine keeps only the links: which party leg of the call is which
//! consulted agent or number ([`PartyLink`]) and which leg is the primary
//! agent's now ([`super::queue::QueueCall::primary_leg`]). After every
//! change each agent on the interaction gets [`DeskEvent::Controls`]
//! (CALL-CONSULT-2).
//!
//! Targets (CALL-CONSULT-1): an agent (its registered phone; an agent
//! whose phone is not registered fails at once with a reason), a number
//! (normalised per CALL-DIAL-1, routed by the dial plan of the agent's
//! phone profile), an entry point (a dial-plan number routed the same
//! way) or a queue: its next `Available` agent by the queue's strategy,
//! among agents whose phone is registered, consulted like a named agent.
//! With none available the consult waits for the queue's next available
//! agent, ahead of its waiting customers (the ACD's consult line): the
//! customer is held with music meanwhile, the initiator's stream says
//! `waiting` and its only control is `end_consult` (give up and resume the
//! customer); when an agent becomes available its phone rings as for a
//! named agent. From a conference (where a wait would hold everyone) and
//! when every available agent's phone is unregistered, it is refused at
//! once with the reason. Entry points that lead to a queue are refused
//! with `unsupported destination`.

use super::desk::{ConsultAgentView, ConsultTarget, ConsultTargetsView, DeskError, DeskEvent, ShownVariable};
use super::queue::{interaction_of, state_name};
use super::{Engine, Now};
use crate::acd::{AcdAction, AcdEvent, AgentId, AgentState, InteractionId, OfferId, Phase};
use crate::call::dial::DialNumber;
use crate::call::media::MediaLeg;
use crate::call::{ControlError, PartyKind, PartyTarget, Talk};
use crate::ids::CallRef;

/// A party leg of an interaction's call, as the engine knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PartyLink {
    /// The party leg's index in the call.
    pub leg: usize,
    /// The consulted agent, if the party is one.
    pub agent: Option<AgentId>,
    /// Its consult offer while its phone rings.
    pub offer: Option<OfferId>,
    /// Who it is, as desktops name it (login or number).
    pub label: String,
}

/// The primary agent's controls on a running consult (CALL-CONSULT-4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ConsultControl {
    /// Switch between the customer and the consultee.
    Toggle,
    /// Everyone into a conference.
    Merge,
    /// Hang up the consultee and resume the customer.
    End,
}

/// The desktop's error for a refused call control.
fn control_error(e: ControlError) -> DeskError {
    match e {
        ControlError::NoSuchCall(_) | ControlError::NotAnswered(_) => {
            DeskError::Conflict("the call is not connected".into())
        }
        other => DeskError::Conflict(other.to_string()),
    }
}

impl Engine {
    /// CALL-CONSULT-1: the agents, queues and entry points a consult may target.
    pub(super) fn consult_targets(&self, agent: AgentId) -> ConsultTargetsView {
        let agents = self
            .cfg
            .acd()
            .agents
            .iter()
            .filter(|a| a.id != agent)
            .filter_map(|a| {
                let s = self.acd.agent_state(a.id)?;
                matches!(s, AgentState::Available | AgentState::Idle(_)).then(|| {
                    let (state, reason) = state_name(s);
                    ConsultAgentView {
                        agent: a.login.clone(),
                        name: a.name.clone(),
                        state,
                        reason,
                    }
                })
            })
            .collect();
        let queues = self.cfg.acd().queues.iter().map(|q| q.name.clone()).collect();
        let entry_points = self.cfg.acd().queues.iter().map(|q| q.number.clone()).collect();
        ConsultTargetsView {
            agents,
            queues,
            entry_points,
        }
    }

    /// CALL-CONSULT-1: `agent` consults `target` on interaction `uid`.
    pub(super) fn desk_consult(
        &mut self,
        now: Now,
        agent: AgentId,
        uid: &str,
        target: ConsultTarget,
    ) -> Result<(), DeskError> {
        let id = self.own_primary(agent, uid)?;
        let call = CallRef(id.0);
        let initiator = self.primary_leg(id);
        let login = self.login_of(agent);
        let unsupported = || DeskError::Conflict("unsupported destination".into());
        let (party, consulted) = match target {
            ConsultTarget::Agent(name) => {
                let Some(a) = self.cfg.acd().agent_by_login(&name).cloned() else {
                    return Err(DeskError::NotFound {
                        field: "target.agent",
                        message: format!("no agent {name}"),
                    });
                };
                if a.id == agent {
                    return Err(DeskError::Invalid {
                        field: "target.agent".into(),
                        message: "an agent cannot consult itself".into(),
                    });
                }
                let Some((uri, dest)) = self.phone_of(now, &a.extension) else {
                    return Err(DeskError::Conflict(format!(
                        "agent {name}'s phone (extension {}) is not registered",
                        a.extension
                    )));
                };
                self.acd_event(now, AcdEvent::ConsultAgent { id, agent: a.id })
                    .map_err(super::desk_ops::desk_error)?;
                let offer = self
                    .acd
                    .interaction(id)
                    .and_then(|i| i.consultants.iter().find(|c| c.agent == a.id))
                    .and_then(|c| c.offer);
                let t = PartyTarget {
                    kind: PartyKind::Consulted {
                        agent: Some(name.clone()),
                    },
                    extension: a.extension.clone(),
                    interaction: uid.to_owned(),
                    uri,
                    dest,
                    trunk: None,
                    display: format!("Consult from {login}"),
                    auto_answer: false,
                };
                (
                    t,
                    PartyLink {
                        leg: 0,
                        agent: Some(a.id),
                        offer,
                        label: name,
                    },
                )
            }
            ConsultTarget::Queue(name) => {
                // CALL-CONSULT-1: the queue's next available agent, by its
                // strategy, among those whose phone can ring.
                let Some(q) = self.cfg.acd().queue_by_name(&name).map(|q| q.id) else {
                    return Err(DeskError::NotFound {
                        field: "target.queue",
                        message: format!("no queue {name}"),
                    });
                };
                let unreachable: Vec<AgentId> = self
                    .cfg
                    .acd()
                    .agents
                    .iter()
                    .filter(|a| self.phone_of(now, &a.extension).is_none())
                    .map(|a| a.id)
                    .collect();
                if let Some(picked) = self.acd.next_available(q, &unreachable) {
                    let login = self.login_of(picked);
                    return self.desk_consult(now, agent, uid, ConsultTarget::Agent(login));
                }
                return self.consult_queue_wait(now, agent, id, uid, q, &name);
            }
            ConsultTarget::EntryPoint(named) if self.entry_point_named(named.trim()).is_some() => {
                return self.consult_entry_point(now, agent, id, uid, named.trim());
            }
            ConsultTarget::Number(_) | ConsultTarget::EntryPoint(_) => {
                // A number is normalised first (CALL-DIAL-1); an entry point
                // is a dial-plan number as configured.
                let (dialled, label) = match target {
                    ConsultTarget::Number(typed) => {
                        let n = DialNumber::parse(&typed).map_err(|e| DeskError::Invalid {
                            field: "target.number".into(),
                            message: e.to_string(),
                        })?;
                        (n.number.clone(), n.to_string())
                    }
                    ConsultTarget::EntryPoint(number) => (number.trim().to_owned(), number),
                    _ => return Err(unsupported()),
                };
                let t = self.dialled_party(now, uid, &login, &dialled).ok_or_else(unsupported)?;
                self.acd_event(now, AcdEvent::ConsultStarted { id })
                    .map_err(super::desk_ops::desk_error)?;
                let link = PartyLink {
                    leg: 0,
                    agent: None,
                    offer: None,
                    label,
                };
                (t, link)
            }
        };
        let placed = self
            .with_call(now, call, |c, ctx| c.consult(ctx, initiator, party))
            .unwrap_or(Err(ControlError::NoSuchCall(call.0)));
        let leg = match placed {
            Ok(leg) => leg,
            Err(e) => {
                // Undo the ACD's side: the consulted agent goes back.
                match consulted.offer {
                    Some(offer) => {
                        let _ = self.acd_event(now, AcdEvent::PhoneLegFailed { offer });
                    }
                    None => {
                        let _ = self.acd_event(now, AcdEvent::ConsultOver { id });
                    }
                }
                return Err(control_error(e));
            }
        };
        let label = consulted.label.clone();
        if let Some(qc) = self.queues.calls.get_mut(&id) {
            qc.parties.push(PartyLink { leg, ..consulted });
        }
        self.desk_event(DeskEvent::Consult {
            agent: login,
            interaction: uid.to_owned(),
            party: label,
            state: "ringing",
            reason: None,
        });
        self.send_controls(id);
        Ok(())
    }

    /// CALL-CONSULT-1: nobody of queue `q` (`name`) can take the consult
    /// now: it waits for the queue's next available agent, the customer
    /// held with music.
    fn consult_queue_wait(
        &mut self,
        now: Now,
        agent: AgentId,
        id: InteractionId,
        uid: &str,
        q: crate::acd::QueueId,
        name: &str,
    ) -> Result<(), DeskError> {
        let call = CallRef(id.0);
        let direct = self
            .calls
            .get(&call)
            .is_some_and(|c| c.talk == Talk::Direct && c.consult.is_none());
        if !direct {
            return Err(DeskError::Conflict(format!(
                "no agent available in queue {name} (a conference cannot wait for one)"
            )));
        }
        if self.acd.available_count(q) > 0 {
            return Err(DeskError::Conflict(format!(
                "no agent available in queue {name} has a registered phone"
            )));
        }
        self.acd_event(now, AcdEvent::ConsultQueue { id, queue: q })
            .map_err(super::desk_ops::desk_error)?;
        // CALL-HOLD-2: the customer waits with music; the consult's own hold
        // takes over when the consulted phone rings.
        if let Err(e) = self.control(now, id.0, crate::call::CallControl::Hold(crate::call::Party::Caller)) {
            let _ = self.acd_event(now, AcdEvent::ConsultOver { id });
            return Err(DeskError::Conflict(e.to_string()));
        }
        tracing::info!(interaction = %uid, queue = %name, "consult waits for the queue's next available agent");
        self.desk_event(DeskEvent::Consult {
            agent: self.login_of(agent),
            interaction: uid.to_owned(),
            party: name.to_owned(),
            state: "waiting",
            reason: None,
        });
        self.send_controls(id);
        Ok(())
    }

    /// The consult that waited in a queue rings the agent the ACD picked
    /// (`offer`): its phone is called like a named agent's; a phone that
    /// cannot be rung fails the consult (CALL-CONSULT-3).
    fn place_waiting_consult(&mut self, now: Now, id: InteractionId, agent: AgentId, offer: OfferId) {
        let call = CallRef(id.0);
        let uid = self.uid_of(id);
        let Some(a) = self.cfg.acd().agent(agent).cloned() else {
            return;
        };
        let initiator = self.primary_leg(id);
        let from = self
            .acd
            .interaction(id)
            .and_then(|i| i.agent)
            .map(|p| self.login_of(p))
            .unwrap_or_default();
        let placed = match self.phone_of(now, &a.extension) {
            Some((uri, dest)) => {
                let t = PartyTarget {
                    kind: PartyKind::Consulted {
                        agent: Some(a.login.clone()),
                    },
                    extension: a.extension.clone(),
                    interaction: uid.clone(),
                    uri,
                    dest,
                    trunk: None,
                    display: format!("Consult from {from}"),
                    auto_answer: false,
                };
                self.with_call(now, call, |c, ctx| c.consult(ctx, initiator, t))
                    .and_then(Result::ok)
            }
            None => None,
        };
        let Some(leg) = placed else {
            // CALL-CONSULT-3: the agent goes Idle(RONA), the initiator is
            // told; the customer stays held until the agent resumes.
            tracing::info!(interaction = %uid, agent = %a.login, "the consulted agent's phone cannot be rung");
            let _ = self.acd_event(now, AcdEvent::PhoneLegFailed { offer });
            let _ = self.acd_event(now, AcdEvent::ConsultOver { id });
            self.desk_event(DeskEvent::Consult {
                agent: from,
                interaction: uid,
                party: a.login.clone(),
                state: "failed",
                reason: Some(format!(
                    "agent {}'s phone (extension {}) is not registered",
                    a.login, a.extension
                )),
            });
            self.sync_hold(now, id);
            self.send_controls(id);
            return;
        };
        if let Some(qc) = self.queues.calls.get_mut(&id) {
            qc.parties.push(PartyLink {
                leg,
                agent: Some(agent),
                offer: Some(offer),
                label: a.login.clone(),
            });
        }
        self.desk_event(DeskEvent::Consult {
            agent: from,
            interaction: uid,
            party: a.login.clone(),
            state: "ringing",
            reason: None,
        });
        self.send_controls(id);
    }

    /// CALL-CONSULT-4: toggle, merge or end the consult.
    pub(super) fn desk_consult_control(
        &mut self,
        now: Now,
        agent: AgentId,
        uid: &str,
        what: ConsultControl,
    ) -> Result<(), DeskError> {
        let id = self.own_primary(agent, uid)?;
        let call = CallRef(id.0);
        if let Some(q) = self.acd.interaction(id).and_then(|i| i.consult_waiting) {
            let name = self.cfg.acd().queue(q).map(|q| q.name.clone()).unwrap_or_default();
            if what != ConsultControl::End {
                return Err(DeskError::Conflict(format!(
                    "the consult is waiting for an agent of queue {name}: end it to resume the customer"
                )));
            }
            // Give up the wait and resume the customer.
            let _ = self.acd_event(now, AcdEvent::ConsultOver { id });
            self.control(now, id.0, crate::call::CallControl::Resume)
                .map_err(|e| DeskError::Conflict(e.to_string()))?;
            self.desk_event(DeskEvent::Consult {
                agent: self.login_of(agent),
                interaction: uid.to_owned(),
                party: name,
                state: "ended",
                reason: None,
            });
            self.send_controls(id);
            return Ok(());
        }
        let r = self
            .with_call(now, call, |c, ctx| match what {
                ConsultControl::Toggle => c.toggle(ctx),
                ConsultControl::Merge => c.merge(ctx),
                ConsultControl::End => c.end_consult(ctx),
            })
            .unwrap_or(Err(ControlError::NoSuchCall(call.0)));
        r.map_err(control_error)?;
        let party = self.consult_party(id).map(|p| p.label).unwrap_or_default();
        match what {
            ConsultControl::Merge => {
                let _ = self.acd_event(now, AcdEvent::Merged { id });
                self.desk_event(DeskEvent::Consult {
                    agent: self.login_of(agent),
                    interaction: uid.to_owned(),
                    party,
                    state: "merged",
                    reason: None,
                });
            }
            ConsultControl::End => {
                let _ = self.acd_event(now, AcdEvent::ConsultOver { id });
                self.desk_event(DeskEvent::Consult {
                    agent: self.login_of(agent),
                    interaction: uid.to_owned(),
                    party,
                    state: "ended",
                    reason: None,
                });
            }
            ConsultControl::Toggle => {}
        }
        self.sync_hold(now, id);
        self.send_controls(id);
        Ok(())
    }

    /// A consulted agent leaves (CALL-CONSULT-4), or the primary agent
    /// leaves a conference (CALL-CONF-2).
    pub(super) fn desk_leave(&mut self, now: Now, agent: AgentId, uid: &str) -> Result<(), DeskError> {
        let id = self.interaction_by_uid(uid)?;
        let call = CallRef(id.0);
        let party = self
            .queues
            .calls
            .get(&id)
            .and_then(|qc| qc.parties.iter().find(|p| p.agent == Some(agent)))
            .map(|p| p.leg);
        let is_primary = self.acd.interaction(id).and_then(|i| i.agent) == Some(agent);
        let r = match (party, is_primary) {
            (Some(leg), false) => self.with_call(now, call, |c, ctx| c.remove_party(ctx, leg)),
            (_, true) => {
                let leg = self.primary_leg(id);
                let in_conference = self
                    .calls
                    .get(&call)
                    .is_some_and(|c| c.talk != Talk::Direct || c.consult.is_some());
                if !in_conference {
                    return Err(DeskError::Conflict(
                        "only a conference can be left: end the call instead".into(),
                    ));
                }
                self.with_call(now, call, |c, ctx| c.leave(ctx, leg))
            }
            (None, false) => return Err(DeskError::Forbidden(format!("interaction {uid} is not yours"))),
        };
        r.unwrap_or(Err(ControlError::NoSuchCall(call.0)))
            .map_err(control_error)
    }

    /// The call core's consult events, for the ACD and the desktops.
    pub(super) fn on_party_event(&mut self, now: Now, call: CallRef, ev: crate::call::CallEvent) {
        use crate::call::CallEvent;
        let id = interaction_of(call);
        if !self.queues.calls.contains_key(&id) {
            return;
        }
        if self.transfer_party_event(now, call, &ev) {
            return;
        }
        let initiator = self.acd.interaction(id).and_then(|i| i.agent);
        let uid = self.uid_of(id);
        match ev {
            CallEvent::PartyAnswered { party } => {
                let Some(link) = self.party_link(id, party) else { return };
                if let Some(offer) = link.offer {
                    let _ = self.acd_event(now, AcdEvent::PhoneAnswered { offer });
                    self.set_party_offer(id, party, None);
                }
                if let Some(a) = initiator {
                    self.desk_event(DeskEvent::Consult {
                        agent: self.login_of(a),
                        interaction: uid,
                        party: link.label,
                        state: "connected",
                        reason: None,
                    });
                }
            }
            CallEvent::PartyFailed { party, code } => {
                let Some(link) = self.party_link(id, party) else { return };
                if let Some(offer) = link.offer {
                    // The consulted agent goes Idle(RONA) (CALL-CONSULT-3) ...
                    let _ = self.acd_event(now, AcdEvent::PhoneLegFailed { offer });
                }
                // ... and the interaction leaves the consult phase.
                let _ = self.acd_event(now, AcdEvent::ConsultOver { id });
                let reason = match code.as_u16() {
                    486 | 600 => "busy",
                    603 => "declined",
                    408 | 480 => "no answer",
                    404 | 484 => "unsupported destination",
                    _ => "unreachable",
                };
                if let Some(a) = initiator {
                    self.desk_event(DeskEvent::Consult {
                        agent: self.login_of(a),
                        interaction: uid,
                        party: link.label,
                        state: "failed",
                        reason: Some(reason.into()),
                    });
                }
                self.forget_party(id, party);
            }
            CallEvent::PartyLeft {
                leg: MediaLeg::Party(party),
            } => {
                let Some(link) = self.party_link(id, party) else { return };
                let consulting = self.acd.interaction(id).is_some_and(|i| i.phase == Phase::Consult)
                    && self.calls.get(&call).is_some_and(|c| c.consult.is_none());
                match link.agent {
                    Some(a) if !consulting => {
                        let _ = self.acd_event(now, AcdEvent::AgentLeft { id, agent: a });
                    }
                    _ => {
                        let _ = self.acd_event(now, AcdEvent::ConsultOver { id });
                    }
                }
                if let Some(a) = initiator {
                    self.desk_event(DeskEvent::Consult {
                        agent: self.login_of(a),
                        interaction: uid,
                        party: link.label,
                        state: "ended",
                        reason: None,
                    });
                }
                self.forget_party(id, party);
            }
            CallEvent::PartyLeft { leg: MediaLeg::B } | CallEvent::PartyLeft { leg: MediaLeg::A } => {
                let customer = matches!(ev, CallEvent::PartyLeft { leg: MediaLeg::A });
                if customer {
                    let _ = self.acd_event(now, AcdEvent::CustomerLeft { id });
                    if let Some(a) = initiator {
                        let reasons = self
                            .acd
                            .interaction(id)
                            .and_then(|i| self.cfg.acd().queue(i.queue))
                            .map(|q| q.wrap_up_reasons.clone())
                            .unwrap_or_default();
                        self.desk_event(DeskEvent::CustomerLeft {
                            agent: self.login_of(a),
                            interaction: uid,
                            reasons,
                        });
                    }
                } else if let Some(a) = initiator {
                    let _ = self.acd_event(now, AcdEvent::AgentLeft { id, agent: a });
                }
            }
            _ => {}
        }
        self.sync_hold(now, id);
        self.send_controls(id);
    }

    /// CALL-HOLD-1 after a consult: one that ends unmerged while the
    /// customer is held leaves it held (the call core's choice, resumed by
    /// the agent); the ACD books that as hold and the desktop is told, so
    /// its controls offer Resume and not End.
    pub(super) fn sync_hold(&mut self, now: Now, id: InteractionId) {
        let call = CallRef(id.0);
        let held = self
            .calls
            .get(&call)
            .and_then(|c| c.media.as_deref())
            .is_some_and(|m| m.held().is_some());
        self.queue_hold_changed(now, call, held);
    }

    /// The ACD's consult actions.
    pub(super) fn on_consult_action(&mut self, now: Now, action: AcdAction) {
        match action {
            AcdAction::RingConsult {
                agent,
                interaction,
                offer,
                place_leg,
                ..
            } => {
                // A consult that waited in a queue: its agent's phone is called now.
                if place_leg {
                    self.place_waiting_consult(now, interaction, agent, offer);
                }
                let Some(info) = self.acd.interaction(interaction) else {
                    return;
                };
                let from = info.agent.map(|a| self.login_of(a)).unwrap_or_default();
                let mut variables = Vec::new();
                if let Some(a) = info.agent.and_then(|a| self.cfg.acd().agent(a)) {
                    variables.push(ShownVariable {
                        name: "initiator_name".into(),
                        value: a.name.clone(),
                    });
                    variables.push(ShownVariable {
                        name: "initiator_extension".into(),
                        value: a.extension.clone(),
                    });
                    variables.push(ShownVariable {
                        name: "initiator_team".into(),
                        value: a.team.clone(),
                    });
                }
                let q = self.cfg.acd().queue(info.queue);
                let mask = q.is_some_and(|q| q.mask_caller_number);
                let names: Vec<&str> = q.map_or(Vec::new(), |q| q.offer_variables.iter().map(|v| v.name()).collect());
                let shown = info.customer.data.offer_view(&names, mask);
                variables.extend(
                    shown
                        .into_iter()
                        .take(6)
                        .map(|(name, value)| ShownVariable { name, value }),
                );
                self.desk_event(DeskEvent::ConsultOffer {
                    agent: self.login_of(agent),
                    interaction: self.uid_of(interaction),
                    from,
                    variables,
                });
            }
            AcdAction::ConsultFailed {
                offer,
                interaction,
                timed_out,
                ..
            } => {
                // RONA on a consult: the phone still rings; withdraw it
                // (its link first: the leg's end is this failure, not a
                // party leaving) and tell the initiator (CALL-CONSULT-3).
                let party = self
                    .queues
                    .calls
                    .get(&interaction)
                    .and_then(|qc| qc.parties.iter().find(|p| p.offer == Some(offer)))
                    .cloned();
                if let (true, Some(link)) = (timed_out, party) {
                    self.forget_party(interaction, link.leg);
                    let call = CallRef(interaction.0);
                    self.with_call(now, call, |c, ctx| {
                        let _ = c.remove_party(ctx, link.leg);
                    });
                    let _ = self.acd_event(now, AcdEvent::ConsultOver { id: interaction });
                    if let Some(a) = self.acd.interaction(interaction).and_then(|i| i.agent) {
                        self.desk_event(DeskEvent::Consult {
                            agent: self.login_of(a),
                            interaction: self.uid_of(interaction),
                            party: link.label,
                            state: "failed",
                            reason: Some("no answer".into()),
                        });
                    }
                    self.sync_hold(now, interaction);
                    self.send_controls(interaction);
                }
            }
            AcdAction::PrimaryChanged { interaction, from, to } => {
                let leg = self
                    .queues
                    .calls
                    .get(&interaction)
                    .and_then(|qc| qc.parties.iter().find(|p| p.agent == Some(to)))
                    .map(|p| p.leg);
                if let (Some(qc), Some(leg)) = (self.queues.calls.get_mut(&interaction), leg) {
                    qc.primary_leg = MediaLeg::Party(leg);
                    qc.parties.retain(|p| p.leg != leg);
                }
                self.desk_event(DeskEvent::PrimaryChanged {
                    agent: self.login_of(to),
                    interaction: self.uid_of(interaction),
                    from: self.login_of(from),
                });
                self.send_controls(interaction);
            }
            _ => {}
        }
    }

    /// CALL-CONSULT-2: the controls each agent on the interaction may use now.
    pub(super) fn send_controls(&mut self, id: InteractionId) {
        let uid = self.uid_of(id);
        let events: Vec<DeskEvent> = self
            .controls_of(id)
            .into_iter()
            .map(|(agent, enabled)| DeskEvent::Controls {
                agent: self.login_of(agent),
                interaction: uid.clone(),
                enabled,
            })
            .collect();
        for e in events {
            self.desk_event(e);
        }
    }

    /// CALL-CONSULT-2: each agent on interaction `id` (the primary agent,
    /// then the consultants who joined) with the controls it may use now.
    pub(crate) fn controls_of(&self, id: InteractionId) -> Vec<(AgentId, Vec<&'static str>)> {
        let Some(info) = self.acd.interaction(id) else {
            return Vec::new();
        };
        if self.is_voicemail_item(id) {
            // A voicemail work item: the agent ends it when handled.
            return info.agent.map(|a| vec![(a, vec!["end"])]).unwrap_or_default();
        }
        let Some(call) = self.calls.get(&CallRef(id.0)) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        if let Some(primary) = info.agent {
            let mut enabled = Vec::new();
            match (call.consult, call.talk) {
                // Waiting for a queue's agent: only giving up.
                _ if info.consult_waiting.is_some() => enabled.push("end_consult"),
                (Some(c), _) => {
                    let answered = call
                        .b
                        .get(c.party)
                        .and_then(|l| l.party())
                        .is_some_and(|p| p.state == crate::call::PartyState::Answered);
                    enabled.push("toggle");
                    if answered {
                        enabled.push("merge");
                    }
                    enabled.push("end_consult");
                }
                (None, Talk::PostCall) => enabled.extend(["end", "leave"]),
                // The primary handed the customer on: nothing left to control.
                (None, Talk::Transferring) => {}
                (None, Talk::Conference) => enabled.extend(["consult", "end", "leave"]),
                (None, Talk::Direct) => {
                    if info.held {
                        enabled.push("resume");
                    } else {
                        enabled.extend(["hold", "end", "consult"]);
                    }
                }
            }
            out.push((primary, enabled));
        }
        for c in &info.consultants {
            if c.joined_at.is_some() {
                out.push((c.agent, vec!["leave"]));
            }
        }
        out
    }

    /// The interaction if `agent` is its primary agent and its call is up.
    pub(super) fn own_primary(&self, agent: AgentId, uid: &str) -> Result<InteractionId, DeskError> {
        let id = self.interaction_by_uid(uid)?;
        let info = self.acd.interaction(id).ok_or(DeskError::NotFound {
            field: "interaction",
            message: format!("no interaction {uid}"),
        })?;
        if info.agent != Some(agent) {
            if info.consultants.iter().any(|c| c.agent == agent) {
                return Err(DeskError::Forbidden(format!(
                    "only the primary agent controls interaction {uid} (CALL-CONSULT-5)"
                )));
            }
            return Err(DeskError::Forbidden(format!("interaction {uid} is not yours")));
        }
        match info.phase {
            Phase::Connected | Phase::Consult | Phase::Conference => Ok(id),
            Phase::PostCall => Err(DeskError::Conflict(
                "the customer has left: hold and consult are no longer possible (CALL-CONF-4)".into(),
            )),
            _ => Err(DeskError::Conflict(format!(
                "interaction {uid} is not connected to you"
            ))),
        }
    }

    /// The primary agent's leg in the interaction's call.
    pub(super) fn primary_leg(&self, id: InteractionId) -> MediaLeg {
        self.queues.calls.get(&id).map_or(MediaLeg::B, |qc| qc.primary_leg)
    }

    /// The first registered contact of `extension`.
    pub(super) fn phone_of(
        &self,
        now: Now,
        extension: &str,
    ) -> Option<(crate::sip::msg::Uri, crate::sip::transaction::Destination)> {
        let local = self.user_profile_local()?;
        self.registrar
            .lookup(now.unix_s(), extension)
            .into_iter()
            .next()
            .map(|b| (b.uri.clone(), b.destination(local)))
    }

    /// A number routed by the dial plan of the phones' profile (a user or a
    /// trunk), as a party to ring.
    /// CALL-CONSULT-1, CALL-XFER-4: a consult to an entry point of
    /// `entrypoints.toml` follows its routing without keys (hours,
    /// branches, queue tests, sets; prompts skipped) with the
    /// interaction's values, and consults the queue, user or number it
    /// leads to. An entry point that needs the caller's keys first, or that
    /// leads to voicemail or a hang-up, cannot be consulted (409, saying
    /// why): the agent consults its queue or number instead.
    fn consult_entry_point(
        &mut self,
        now: Now,
        agent: AgentId,
        id: InteractionId,
        uid: &str,
        named: &str,
    ) -> Result<(), DeskError> {
        let flow = self
            .entry_point_named(named)
            .ok_or_else(|| DeskError::Conflict("unsupported destination".into()))?;
        let vars = self.interaction_values(id);
        let cfg = self.cfg.clone();
        let routed = crate::flow::route_without_keys(cfg.entry_points(), flow, vars, now, &super::flows::facts(self));
        let target = match routed {
            Ok(crate::flow::Exit::Queue { queue, .. }) => {
                let name = cfg.acd().queue(queue).map(|q| q.name.clone()).unwrap_or_default();
                ConsultTarget::Queue(name)
            }
            Ok(crate::flow::Exit::User { extension: n } | crate::flow::Exit::Number { number: n }) => {
                ConsultTarget::Number(n)
            }
            Ok(_) => {
                return Err(DeskError::Conflict(format!(
                    "entry point {named}: {}",
                    crate::flow::Unroutable::NoParty
                )))
            }
            Err(e) => return Err(DeskError::Conflict(format!("entry point {named}: {e}"))),
        };
        tracing::info!(interaction = %uid, entry_point = named, "consult: the entry point leads here");
        self.desk_consult(now, agent, uid, target)
    }

    pub(super) fn dialled_party(&self, now: Now, uid: &str, login: &str, number: &str) -> Option<PartyTarget> {
        let context = self
            .cfg
            .profiles()
            .iter()
            .find(|p| matches!(p.auth, crate::config::AuthPolicy::Digest { .. }))
            .map(|p| p.context.clone())?;
        let route = self.cfg.dialplan().route(&context, number)?;
        let (_, targets) = self.route_targets(now, &route).ok()?;
        let t = targets.into_iter().next()?;
        Some(PartyTarget {
            kind: PartyKind::Consulted { agent: None },
            extension: number.to_owned(),
            interaction: uid.to_owned(),
            uri: t.uri,
            dest: t.dest,
            trunk: t.trunk,
            display: format!("Consult from {login}"),
            auto_answer: false,
        })
    }

    fn consult_party(&self, id: InteractionId) -> Option<PartyLink> {
        let party = self.calls.get(&CallRef(id.0))?.consult?.party;
        self.party_link(id, party)
    }

    pub(super) fn party_link(&self, id: InteractionId, leg: usize) -> Option<PartyLink> {
        self.queues
            .calls
            .get(&id)?
            .parties
            .iter()
            .find(|p| p.leg == leg)
            .cloned()
    }

    fn set_party_offer(&mut self, id: InteractionId, leg: usize, offer: Option<OfferId>) {
        if let Some(p) = self
            .queues
            .calls
            .get_mut(&id)
            .and_then(|qc| qc.parties.iter_mut().find(|p| p.leg == leg))
        {
            p.offer = offer;
        }
    }

    fn forget_party(&mut self, id: InteractionId, leg: usize) {
        if let Some(qc) = self.queues.calls.get_mut(&id) {
            qc.parties.retain(|p| p.leg != leg);
        }
    }
}
