//! The engine side of the desktop API (engine/desk.rs has the contract):
//! tokens resolved to agents and supervisors, every agent request checked
//! against what that agent owns, then carried out on the ACD core and the
//! call (AGENT-1..4, OFFER-1/4, CALL-HOLD-1, WRAP-1/2, CAD-1..4, SUP-1).
//!
//! Choices where the spec is silent:
//! - Login without a state goes `Available` (the agent logs in to work).
//! - An agent naming an interaction or offer that exists but is not its
//!   own gets 403, one that does not exist 404, so a desktop can tell a
//!   stale id from a wrong one.
//! - Ending a call from the desktop hangs up both legs (BYE); the agent
//!   then wraps up (WRAP-1). A held call is never ended (CALL-HOLD-1).
//! - Wrap-up notes hold at most 4,000 characters.

use super::consult::ConsultControl;
use super::desk::{
    AgentView, DataVariable, DataView, DeskCommand, DeskError, DeskReply, DeskState, Principal, StatsScope,
    SupervisorCommand,
};
use super::queue::state_name;
use super::{CallControl, Engine, Now, Party};
use crate::acd::Phase;
use crate::acd::{AcdError, AcdEvent, AgentId, AgentState, IdleReason, InteractionId, OfferId, RequestedState};

/// Longest wrap-up note accepted.
const MAX_NOTES: usize = 4000;

fn requested(state: DeskState) -> RequestedState {
    match state {
        DeskState::Available => RequestedState::Available,
        DeskState::Idle(r) if r.eq_ignore_ascii_case("RONA") => RequestedState::Idle(IdleReason::Rona),
        DeskState::Idle(r) => RequestedState::Idle(IdleReason::Named(r)),
    }
}

/// The desktop's error for an ACD refusal.
pub(super) fn desk_error(e: AcdError) -> DeskError {
    match e {
        AcdError::UnknownAgent(_) => DeskError::NotFound {
            field: "agent",
            message: e.to_string(),
        },
        AcdError::UnknownOffer(_) => DeskError::NotFound {
            field: "offer",
            message: e.to_string(),
        },
        AcdError::UnknownIdleReason(_) => DeskError::Invalid {
            field: "reason".into(),
            message: e.to_string(),
        },
        AcdError::UnknownWrapUpReason(_) | AcdError::NoWrapUpReason => DeskError::Invalid {
            field: "reasons".into(),
            message: e.to_string(),
        },
        other => DeskError::Conflict(other.to_string()),
    }
}

impl Engine {
    /// Resolves a desktop bearer token to its agent or supervisor
    /// (constant-time comparison against every configured token).
    pub fn desk_principal(&self, token: &str) -> Result<Principal, DeskError> {
        let acd = self.cfg.acd();
        let digest = crate::config::token_digest(token);
        let mut found = None;
        for a in &acd.agents {
            if a.token.matches_digest(&digest) {
                found = Some(Principal::Agent(a.login.clone()));
            }
        }
        for s in &acd.supervisors {
            if s.token.matches_digest(&digest) {
                found = Some(Principal::Supervisor(s.login.clone()));
            }
        }
        if token.is_empty() {
            return Err(DeskError::Unauthorized);
        }
        found.ok_or(DeskError::Unauthorized)
    }

    fn desk_agent(&self, token: &str) -> Result<AgentId, DeskError> {
        match self.desk_principal(token)? {
            Principal::Agent(login) => self
                .cfg
                .acd()
                .agent_by_login(&login)
                .map(|a| a.id)
                .ok_or(DeskError::Unauthorized),
            Principal::Supervisor(_) => Err(DeskError::Forbidden(
                "a supervisor token cannot act as an agent: use the /supervisor endpoints".into(),
            )),
        }
    }

    /// Carries out an agent desktop request for the agent owning `token`.
    pub fn desk(&mut self, now: Now, token: &str, cmd: DeskCommand) -> Result<DeskReply, DeskError> {
        let agent = self.desk_agent(token)?;
        self.last_now = Some(now);
        let reply = self.desk_for(now, agent, cmd);
        self.pump_acd(now);
        self.pump(now);
        reply
    }

    fn desk_for(&mut self, now: Now, agent: AgentId, cmd: DeskCommand) -> Result<DeskReply, DeskError> {
        match cmd {
            DeskCommand::Me => {}
            DeskCommand::Login { state } => {
                let state = requested(state.unwrap_or(DeskState::Available));
                self.acd_event(now, AcdEvent::AgentLogin { agent, state })
                    .map_err(desk_error)?;
            }
            DeskCommand::Logout => self
                .acd_event(now, AcdEvent::AgentLogout { agent })
                .map_err(desk_error)?,
            DeskCommand::SetState { state } => {
                let state = requested(state);
                self.acd_event(now, AcdEvent::AgentSetState { agent, state })
                    .map_err(desk_error)?;
            }
            DeskCommand::Accept { offer } => self.desk_accept(now, agent, OfferId(offer))?,
            DeskCommand::AcceptAll => {
                // OFFER-5: earliest first.
                let mut ringing: Vec<(std::time::Instant, OfferId)> = self
                    .queues
                    .calls
                    .values()
                    .flat_map(|qc| qc.offers.iter())
                    .filter(|o| o.agent == agent)
                    .filter_map(|o| self.acd.offer(o.offer).map(|x| (x.offered_at, o.offer)))
                    .collect();
                if ringing.is_empty() {
                    return Err(DeskError::Conflict("no offer is ringing for you".into()));
                }
                ringing.sort();
                for (_, offer) in ringing {
                    self.desk_accept(now, agent, offer)?;
                }
            }
            DeskCommand::Decline { offer } => {
                self.own_offer(agent, OfferId(offer))?;
                self.acd_event(now, AcdEvent::OfferDeclined { offer: OfferId(offer) })
                    .map_err(desk_error)?;
            }
            DeskCommand::Interactions => return Ok(DeskReply::Interactions(self.agent_interactions(agent))),
            DeskCommand::Hold { interaction } => {
                self.desk_hold(now, agent, &interaction, true)?;
                return Ok(DeskReply::Interactions(self.agent_interactions(agent)));
            }
            DeskCommand::Resume { interaction } => {
                self.desk_hold(now, agent, &interaction, false)?;
                return Ok(DeskReply::Interactions(self.agent_interactions(agent)));
            }
            DeskCommand::End { interaction } => {
                let id = self.own_connected(agent, &interaction)?;
                if self.acd.interaction(id).is_some_and(|i| i.held) {
                    return Err(DeskError::Conflict(
                        "the customer is on hold: resume before ending the call (CALL-HOLD-1)".into(),
                    ));
                }
                if self.is_voicemail_item(id) {
                    self.end_voicemail_item(now, agent, id);
                    return Ok(DeskReply::Interactions(self.agent_interactions(agent)));
                }
                let call = crate::ids::CallRef(id.0);
                let waiting = self.acd.interaction(id).is_some_and(|i| i.consult_waiting.is_some());
                if waiting || self.calls.get(&call).is_some_and(|c| c.consult.is_some()) {
                    return Err(DeskError::Conflict(
                        "a consult is running: end or merge it first (CALL-CONSULT-4)".into(),
                    ));
                }
                self.with_call(now, call, |c, ctx| c.end(ctx, "agent_end"));
                return Ok(DeskReply::Interactions(self.agent_interactions(agent)));
            }
            DeskCommand::WrapUp { reasons, notes } => {
                if notes.chars().count() > MAX_NOTES {
                    return Err(DeskError::Invalid {
                        field: "notes".into(),
                        message: format!("notes hold at most {MAX_NOTES} characters"),
                    });
                }
                self.acd_event(now, AcdEvent::WrapUpSubmitted { agent, reasons, notes })
                    .map_err(desk_error)?;
            }
            DeskCommand::ExtendWrapUp { by } => {
                self.acd_event(now, AcdEvent::WrapUpExtend { agent, by })
                    .map_err(desk_error)?;
            }
            DeskCommand::GetData { interaction } => {
                let id = self.own_interaction(agent, &interaction)?;
                return self.data_view(id).map(DeskReply::Data);
            }
            DeskCommand::SaveData {
                interaction,
                version,
                values,
            } => {
                let id = self.own_interaction(agent, &interaction)?;
                self.save_data(id, version, values)?;
                return self.data_view(id).map(DeskReply::Data);
            }
            DeskCommand::RecordingPause { interaction } => {
                self.desk_recording(now, agent, &interaction, CallControl::RecordPause)?;
                return Ok(DeskReply::Interactions(self.agent_interactions(agent)));
            }
            DeskCommand::RecordingResume { interaction } => {
                self.desk_recording(now, agent, &interaction, CallControl::RecordResume)?;
                return Ok(DeskReply::Interactions(self.agent_interactions(agent)));
            }
            DeskCommand::ConsultTargets => return Ok(DeskReply::ConsultTargets(self.consult_targets(agent))),
            DeskCommand::Consult { interaction, target } => {
                self.desk_consult(now, agent, &interaction, target)?;
                return Ok(DeskReply::Interactions(self.agent_interactions(agent)));
            }
            DeskCommand::Toggle { interaction } => {
                self.desk_consult_control(now, agent, &interaction, ConsultControl::Toggle)?;
                return Ok(DeskReply::Interactions(self.agent_interactions(agent)));
            }
            DeskCommand::Merge { interaction } => {
                self.desk_consult_control(now, agent, &interaction, ConsultControl::Merge)?;
                return Ok(DeskReply::Interactions(self.agent_interactions(agent)));
            }
            DeskCommand::EndConsult { interaction } => {
                self.desk_consult_control(now, agent, &interaction, ConsultControl::End)?;
                return Ok(DeskReply::Interactions(self.agent_interactions(agent)));
            }
            DeskCommand::Transfer { interaction, to } => {
                self.desk_transfer(now, agent, &interaction, to)?;
                return Ok(DeskReply::Interactions(self.agent_interactions(agent)));
            }
            DeskCommand::Leave { interaction } => {
                self.desk_leave(now, agent, &interaction)?;
                return Ok(DeskReply::Interactions(self.agent_interactions(agent)));
            }
        }
        self.agent_view(agent).map(DeskReply::Agent).ok_or(DeskError::NotFound {
            field: "agent",
            message: format!("no agent {agent}"),
        })
    }

    /// The offer, if it rings for `agent` (403 if another's, 404 if gone).
    fn own_offer(&self, agent: AgentId, offer: OfferId) -> Result<InteractionId, DeskError> {
        let gone = || DeskError::NotFound {
            field: "offer",
            message: format!("no ringing offer {}", offer.0),
        };
        let interaction = *self.queues.offers.get(&offer).ok_or_else(gone)?;
        let o = self
            .queues
            .calls
            .get(&interaction)
            .and_then(|c| c.offers.iter().find(|o| o.offer == offer))
            .ok_or_else(gone)?;
        if o.agent != agent {
            return Err(DeskError::Forbidden(format!("offer {} is not yours", offer.0)));
        }
        Ok(interaction)
    }

    /// OFFER-1: accepting from the desktop makes the phone answer by itself
    /// (the ringing legs are replaced by auto-answer INVITEs).
    fn desk_accept(&mut self, now: Now, agent: AgentId, offer: OfferId) -> Result<(), DeskError> {
        let interaction = self.own_offer(agent, offer)?;
        if self.is_voicemail_item(interaction) {
            // A work item: the desktop's accept is the answer.
            return self
                .acd_event(now, AcdEvent::OfferAccepted { offer })
                .map_err(desk_error);
        }
        let Some(qc) = self.queues.calls.get(&interaction) else {
            return Ok(());
        };
        let call = qc.call;
        let Some(o) = qc.offers.iter().find(|o| o.offer == offer) else {
            return Ok(());
        };
        if o.auto_answer {
            return Ok(()); // already answering by itself
        }
        let old = o.legs.clone();
        if let Some(o) = self
            .queues
            .calls
            .get_mut(&interaction)
            .and_then(|c| c.offers.iter_mut().find(|o| o.offer == offer))
        {
            o.legs.clear();
            o.auto_answer = true;
        }
        self.cancel_legs(now, call, &old);
        let legs = self.ring_phone(now, call, agent, true);
        if let Some(o) = self
            .queues
            .calls
            .get_mut(&interaction)
            .and_then(|c| c.offers.iter_mut().find(|o| o.offer == offer))
        {
            o.legs = legs.clone();
        }
        if legs.is_empty() {
            let _ = self.acd_event(now, AcdEvent::PhoneLegFailed { offer });
        }
        Ok(())
    }

    /// The interaction with uid `uid` (404 if unknown).
    pub(super) fn interaction_by_uid(&self, uid: &str) -> Result<InteractionId, DeskError> {
        self.queues
            .calls
            .iter()
            .find(|(_, c)| c.uid == uid)
            .map(|(id, _)| *id)
            .ok_or_else(|| DeskError::NotFound {
                field: "interaction",
                message: format!("no interaction {uid}"),
            })
    }

    /// The interaction if `agent` is its primary agent (connected or wrapping up).
    fn own_interaction(&self, agent: AgentId, uid: &str) -> Result<InteractionId, DeskError> {
        let id = self.interaction_by_uid(uid)?;
        let (Some(qc), Some(info)) = (self.queues.calls.get(&id), self.acd.interaction(id)) else {
            return Err(DeskError::NotFound {
                field: "interaction",
                message: format!("no interaction {uid}"),
            });
        };
        let offered = qc.offers.iter().any(|o| o.agent == agent);
        if info.agent != Some(agent) && !offered {
            return Err(DeskError::Forbidden(format!("interaction {uid} is not yours")));
        }
        Ok(id)
    }

    /// The interaction if `agent` is connected to it now.
    fn own_connected(&self, agent: AgentId, uid: &str) -> Result<InteractionId, DeskError> {
        let id = self.own_interaction(agent, uid)?;
        match self.acd.interaction(id).map(|i| (i.phase, i.agent)) {
            Some((Phase::Connected | Phase::Consult | Phase::Conference | Phase::PostCall, Some(a))) if a == agent => {
                Ok(id)
            }
            _ => Err(DeskError::Conflict(format!(
                "interaction {uid} is not connected to you"
            ))),
        }
    }

    /// CALL-REC-1, CALL-REC-2: the primary agent pauses or resumes the
    /// interaction's recording (consultants cannot, CALL-CONSULT-5).
    fn desk_recording(&mut self, now: Now, agent: AgentId, uid: &str, cmd: CallControl) -> Result<(), DeskError> {
        let id = self.own_interaction(agent, uid)?;
        if self.acd.interaction(id).and_then(|i| i.agent) != Some(agent) {
            return Err(DeskError::Forbidden(format!(
                "only the primary agent controls the recording of interaction {uid} (CALL-CONSULT-5)"
            )));
        }
        self.control(now, id.0, cmd)
            .map_err(|e| DeskError::Conflict(e.to_string()))?;
        Ok(())
    }

    /// CALL-HOLD-1: the customer on or off hold (music on hold).
    fn desk_hold(&mut self, now: Now, agent: AgentId, uid: &str, hold: bool) -> Result<(), DeskError> {
        let id = self.own_connected(agent, uid)?;
        let call = id.0;
        let cmd = if hold {
            CallControl::Hold(Party::Caller)
        } else {
            CallControl::Resume
        };
        // The call reports the change (CallEvent::HoldChanged): the ACD books
        // the hold time and the desktop is told (`queue_hold_changed`).
        self.control(now, call, cmd)
            .map_err(|e| DeskError::Conflict(e.to_string()))?;
        Ok(())
    }

    /// The agent's offers, connected and wrapping-up interactions.
    fn agent_interactions(&self, agent: AgentId) -> Vec<super::desk::InteractionView> {
        let mut ids: Vec<InteractionId> = self
            .queues
            .calls
            .iter()
            .filter(|(id, c)| {
                self.acd.interaction(**id).is_some_and(|i| i.agent == Some(agent))
                    || c.offers.iter().any(|o| o.agent == agent)
            })
            .map(|(id, _)| *id)
            .collect();
        ids.sort();
        ids.into_iter()
            .filter_map(|id| {
                let mut view = self.interaction_view(id, true)?;
                view.controls = self
                    .controls_of(id)
                    .into_iter()
                    .find(|(a, _)| *a == agent)
                    .map(|(_, c)| c)
                    .unwrap_or_default();
                Some(view)
            })
            .collect()
    }

    /// An agent as desktops see it.
    pub(crate) fn agent_view(&self, agent: AgentId) -> Option<AgentView> {
        let a = self.cfg.acd().agent(agent)?;
        let state = self.acd.agent_state(agent)?;
        let (name, reason) = state_name(state);
        let pending = self.acd.agent_pending(agent).map(|p| match p {
            RequestedState::Available => "Available".to_owned(),
            RequestedState::Idle(r) => format!("Idle({})", super::queue::idle_reason_name(r)),
        });
        let (interaction, deadline) = match state {
            AgentState::Busy { interaction } => (Some(*interaction), None),
            AgentState::WrapUp { interaction, deadline } => (Some(*interaction), *deadline),
            _ => (None, None),
        };
        let offers = self
            .queues
            .calls
            .iter()
            .flat_map(|(id, c)| {
                c.offers
                    .iter()
                    .filter(|o| o.agent == agent)
                    .map(move |o| (*id, o.offer))
            })
            .filter_map(|(id, o)| self.offer_view(id, o))
            .collect();
        let wrap_up_reasons = match state {
            AgentState::WrapUp { .. } => self
                .acd
                .wrap_up_queue(agent)
                .and_then(|q| self.cfg.acd().queue(q))
                .map(|q| q.wrap_up_reasons.clone())
                .unwrap_or_default(),
            _ => Vec::new(),
        };
        let unix = |at: std::time::Instant| {
            self.last_now.map(|n| {
                let ahead = at.saturating_duration_since(n.mono).as_millis() as u64;
                let behind = n.mono.saturating_duration_since(at).as_millis() as u64;
                (n.unix_ms + ahead).saturating_sub(behind)
            })
        };
        Some(AgentView {
            agent: a.login.clone(),
            name: a.name.clone(),
            team: a.team.clone(),
            extension: a.extension.clone(),
            state: name,
            reason,
            pending,
            since_ms: self.queues.agent_since.get(&agent).copied().unwrap_or(0),
            offers,
            interaction: interaction.map(|i| self.uid_of(i)),
            wrap_up_deadline_ms: deadline.and_then(unix),
            idle_reasons: self.cfg.acd().idle_reasons.clone(),
            wrap_up_reasons,
        })
    }

    /// CAD-1: the interaction's variables; secure values never leave, the
    /// caller's number masked per OFFER-3 when the queue says so.
    fn data_view(&self, id: InteractionId) -> Result<DataView, DeskError> {
        let (Some(qc), Some(info)) = (self.queues.calls.get(&id), self.acd.interaction(id)) else {
            return Err(DeskError::NotFound {
                field: "interaction",
                message: format!("no interaction {id}"),
            });
        };
        let mask = self.cfg.acd().queue(info.queue).is_some_and(|q| q.mask_caller_number);
        let view = info.customer.data.view_for_agent(mask);
        Ok(DataView {
            interaction: qc.uid.clone(),
            version: view.version,
            variables: view
                .variables
                .into_iter()
                .map(|v| DataVariable {
                    name: v.name,
                    ty: v.ty.as_str(),
                    value: v.value,
                    editable: v.editable,
                    secure: v.secure,
                })
                .collect(),
        })
    }

    /// CAD-2/3: saves edits made on `version`; first save wins.
    fn save_data(&mut self, id: InteractionId, version: u64, values: Vec<(String, String)>) -> Result<(), DeskError> {
        let changed: Vec<String> = values.iter().map(|(n, _)| n.clone()).collect();
        let new_version = self.acd.save_data(id, version, &values).map_err(|e| match e {
            crate::acd::AcdError::Data(e) => match super::queue_data::cad_error(e) {
                DeskError::DataConflict {
                    current, overwritten, ..
                } => DeskError::DataConflict {
                    base: version,
                    current,
                    overwritten,
                },
                other => other,
            },
            _ => DeskError::NotFound {
                field: "interaction",
                message: format!("no interaction {}", self.uid_of(id)),
            },
        })?;
        let uid = self.uid_of(id);
        let agent = self.acd.interaction(id).and_then(|i| i.agent);
        if let Some(agent) = agent {
            self.desk_event(super::desk::DeskEvent::DataSaved {
                agent: self.login_of(agent),
                interaction: uid,
                version: new_version,
                changed,
            });
        }
        Ok(())
    }

    /// SUP-6: `supervisor` closes interaction `uid`: every agent on it is
    /// told, its call ends (a caller still waiting gets `480 Closed By
    /// Supervisor`), nobody wraps up, and it is recorded `Closed`.
    fn force_close(&mut self, now: Now, supervisor: &str, uid: &str) -> Result<(), DeskError> {
        let id = self.interaction_by_uid(uid)?;
        let Some(info) = self.acd.interaction(id) else {
            return Err(DeskError::NotFound {
                field: "interaction",
                message: format!("no interaction {uid}"),
            });
        };
        let mut agents: Vec<AgentId> = info.agent.into_iter().collect();
        agents.extend(info.consultants.iter().map(|c| c.agent));
        let in_wrap_up = info.phase == Phase::WrapUp;
        if let Some(qc) = self.queues.calls.get_mut(&id) {
            qc.closed_by = Some(supervisor.to_owned());
        }
        for a in agents {
            self.desk_event(super::desk::DeskEvent::ClosedBySupervisor {
                agent: self.login_of(a),
                interaction: uid.to_owned(),
                supervisor: supervisor.to_owned(),
            });
        }
        tracing::info!(%supervisor, interaction = %uid, "interaction closed by a supervisor (SUP-6)");
        let call = crate::ids::CallRef(id.0);
        let routing = self.calls.get(&call).map(|c| c.phase == crate::call::Phase::Routing);
        match (in_wrap_up, routing) {
            (false, Some(true)) => {
                self.with_call(now, call, |c, ctx| {
                    c.fail(
                        ctx,
                        crate::sip::msg::StatusCode::TEMPORARILY_UNAVAILABLE,
                        "Closed By Supervisor",
                        "supervisor_closed",
                    )
                });
            }
            (false, Some(false)) => {
                self.with_call(now, call, |c, ctx| c.end(ctx, "supervisor_closed"));
            }
            // The call is already over (wrap-up): the ACD closes it now.
            _ => {
                let _ = self.acd_event(now, AcdEvent::ForceClose { id });
            }
        }
        Ok(())
    }

    /// Carries out a supervisor request for the supervisor owning `token`.
    /// What a supervisor's statistics request needs (issue 13 item 3): the
    /// queues with their service-level thresholds and the agents' logins,
    /// in file order; 403 for an agent's token, 401 for an unknown one.
    pub fn stats_scope(&self, token: &str) -> Result<StatsScope, DeskError> {
        match self.desk_principal(token)? {
            Principal::Supervisor(_) => {}
            Principal::Agent(_) => {
                return Err(DeskError::Forbidden("statistics need a supervisor token".into()));
            }
        }
        Ok(self.stats_targets())
    }

    /// The queues (with their service-level thresholds) and agents the
    /// statistics cover, in file order.
    pub fn stats_targets(&self) -> StatsScope {
        let acd = self.cfg.acd();
        StatsScope {
            queues: acd.queues.iter().map(|q| (q.name.clone(), q.service_level_s)).collect(),
            agents: acd.agents.iter().map(|a| a.login.clone()).collect(),
        }
    }

    pub fn supervise(&mut self, now: Now, token: &str, cmd: SupervisorCommand) -> Result<DeskReply, DeskError> {
        let supervisor = match self.desk_principal(token)? {
            Principal::Supervisor(login) => login,
            Principal::Agent(_) => {
                return Err(DeskError::Forbidden(
                    "supervisor endpoints need a supervisor token".into(),
                ))
            }
        };
        self.last_now = Some(now);
        let reply = match cmd {
            SupervisorCommand::Interactions => {
                let mut ids: Vec<InteractionId> = self.queues.calls.keys().copied().collect();
                ids.sort();
                Ok(DeskReply::Interactions(
                    ids.into_iter()
                        .filter_map(|id| self.interaction_view(id, false))
                        .collect(),
                ))
            }
            SupervisorCommand::Agents => Ok(DeskReply::Agents(
                self.cfg
                    .acd()
                    .agents
                    .iter()
                    .filter_map(|a| self.agent_view(a.id))
                    .collect(),
            )),
            SupervisorCommand::ForceState { agent, state } => {
                let id = self
                    .cfg
                    .acd()
                    .agent_by_login(&agent)
                    .map(|a| a.id)
                    .ok_or(DeskError::NotFound {
                        field: "agent",
                        message: format!("no agent {agent}"),
                    })?;
                let logged_in = self.acd.agent_state(id).is_some_and(|s| s.is_logged_in());
                let ev = match (state, logged_in) {
                    (None, _) => AcdEvent::AgentLogout { agent: id },
                    (Some(s), false) => AcdEvent::AgentLogin {
                        agent: id,
                        state: requested(s),
                    },
                    (Some(s), true) => AcdEvent::AgentSetState {
                        agent: id,
                        state: requested(s),
                    },
                };
                self.acd_event(now, ev).map_err(desk_error)?;
                self.agent_view(id).map(DeskReply::Agent).ok_or(DeskError::NotFound {
                    field: "agent",
                    message: format!("no agent {agent}"),
                })
            }
            SupervisorCommand::MonitorMode { interaction, mode } => {
                self.set_monitor_mode(now, &supervisor, &interaction, mode)
            }
            SupervisorCommand::Assign { interaction, to } => {
                self.assign(now, &supervisor, &interaction, to).map(DeskReply::Assigned)
            }
            SupervisorCommand::Transfer { interaction, agent } => self
                .supervisor_transfer(now, &supervisor, &interaction, &agent)
                .map(|()| DeskReply::Interactions(self.interaction_view_list(&interaction))),
            SupervisorCommand::ForceClose { interaction } => self
                .force_close(now, &supervisor, &interaction)
                .map(|()| DeskReply::Interactions(Vec::new())),
            SupervisorCommand::Monitor { interaction, extension } => {
                // SUP-2/SUP-3 (engine/monitor.rs).
                self.start_monitor(now, &supervisor, &interaction, extension.as_deref())
            }
        };
        self.pump_acd(now);
        self.pump(now);
        reply
    }
}
