//! Silent monitor (issue 4 item 5; spec SUP-2, SUP-3, SUP-4): a supervisor
//! asks from the desktop API to listen to a connected queue call; the
//! switch calls the supervisor's phone and lets it hear both parties.
//!
//! - **Which phone.** Supervisors have no phone of their own in `acd.toml`,
//!   so the request names the `extension` to ring: a user of
//!   `directory.toml` (400 without it, 404 for an unknown one, 409 when it
//!   is not registered). It is not forked: only its first binding (highest
//!   `q`) is rung, with the auto-answer headers an agent's desktop accept
//!   uses (the supervisor asked from the desktop).
//! - **Refusals.** Only a connected interaction can be monitored (SUP-3:
//!   none in wrap-up, 409; queued or ringing, 409), only one monitor at a
//!   time per call (409), never by the phone of the interaction's own agent
//!   nor by a supervisor who is that agent (SUP-3, 409), and only a call
//!   whose media the switch anchors (409 otherwise: nothing to mix).
//! - **Call model.** The monitor is a placed leg of the call with the
//!   role `LegRole::Monitor`: its 2xx never answers the caller nor feeds
//!   the ACD; it is ACKed and only tells the media workers to feed it. The
//!   leg itself (offer, answer, BYE, CANCEL, leg CDR) is the call core's,
//!   `src/call/monitor.rs`; this file checks who may monitor what.
//! - **Silent** (SUP-2): the switch's offer is `sendrecv` (so whisper and
//!   barge need no re-INVITE); while listening, the media workers send the
//!   phone the mix of caller and agent and drop whatever it sends. No
//!   desktop event is pushed, so the agent is not told.
//! - **Whisper and barge** (SUP-2): from the same leg, the supervisor
//!   coaches the agent (heard by the agent only) or joins (heard by all),
//!   and goes back to listening; the call's legs move onto the bridge
//!   meanwhile. The agent's desktop gets a `supervisor` event for each
//!   change (barge: the agent is told; the customer hears the supervisor
//!   join).
//! - **End.** The supervisor's BYE ends only the monitor leg. The call
//!   ending (caller or agent hangs up, or a supervisor ends it) sends the
//!   monitor BYE, or CANCEL while its phone still rings (SUP-4: the
//!   monitored agent is the only agent in a queue call, so when it leaves
//!   the call ends and the supervisor is removed). An ongoing monitor thus
//!   never outlives the call into wrap-up; SUP-3 only stops a new one.
//! - The monitor leg answers in-dialog OPTIONS and INFO with 200 and
//!   refuses re-INVITE/UPDATE with 488 (its media is the switch's to set).

use super::desk::{DeskError, DeskReply, InteractionView};
use super::{Engine, Now};
use crate::acd::InteractionId;
use crate::acd::Phase;
use crate::call::MonitorRequest;

impl Engine {
    /// SUP-2: the supervisor monitoring `uid` listens, whispers to the
    /// agent or barges in.
    pub(crate) fn set_monitor_mode(
        &mut self,
        now: Now,
        supervisor: &str,
        uid: &str,
        mode: crate::call::SupervisorMode,
    ) -> Result<DeskReply, DeskError> {
        let interaction = self.interaction_by_uid(uid)?;
        let call = crate::ids::CallRef(interaction.0);
        let mine = self.calls.get(&call).and_then(|c| c.monitor()).is_some_and(
            |(_, p)| matches!(&p.kind, crate::call::PartyKind::Supervisor { supervisor: s } if s == supervisor),
        );
        if !mine {
            // Said in the supervisor's words: the page shows it as it is.
            let agent = self
                .acd
                .interaction(interaction)
                .and_then(|i| i.agent)
                .map(|a| format!(" {}'s call", self.login_of(a)))
                .unwrap_or_else(|| " this call".into());
            return Err(DeskError::Conflict(format!(
                "you are not monitoring{agent}: start a monitor first (SUP-2)"
            )));
        }
        let agent_leg = self
            .queues
            .calls
            .get(&interaction)
            .map_or(crate::call::media::MediaLeg::B, |qc| qc.primary_leg);
        self.with_call(now, call, |c, ctx| c.supervisor_mode(ctx, mode, agent_leg))
            .unwrap_or(Err(crate::call::ControlError::NoSuchCall(call.0)))
            .map_err(|e| DeskError::Conflict(e.to_string()))?;
        if let Some(agent) = self.acd.interaction(interaction).and_then(|i| i.agent) {
            self.desk_event(super::desk::DeskEvent::Supervisor {
                agent: self.login_of(agent),
                interaction: uid.to_owned(),
                supervisor: supervisor.to_owned(),
                mode: match mode {
                    crate::call::SupervisorMode::Listen => "listen",
                    crate::call::SupervisorMode::Whisper => "whisper",
                    crate::call::SupervisorMode::Barge => "barge",
                },
            });
        }
        Ok(DeskReply::Interactions(
            self.interaction_view(interaction, false).into_iter().collect(),
        ))
    }

    /// SUP-2: starts a silent monitor of interaction `uid` for `supervisor`
    /// by ringing `extension`; the dashboard's interactions on success.
    /// See the module docs for the refusals (SUP-3).
    pub(crate) fn start_monitor(
        &mut self,
        now: Now,
        supervisor: &str,
        uid: &str,
        extension: Option<&str>,
    ) -> Result<DeskReply, DeskError> {
        let interaction = self.interaction_by_uid(uid)?;
        let (Some(qc), Some(info)) = (self.queues.calls.get(&interaction), self.acd.interaction(interaction)) else {
            return Err(DeskError::NotFound {
                field: "interaction",
                message: format!("no interaction {uid}"),
            });
        };
        match info.phase {
            Phase::Connected | Phase::Consult | Phase::Conference | Phase::PostCall => {}
            Phase::WrapUp => {
                return Err(DeskError::Conflict(format!(
                    "interaction {uid} is in wrap-up: it cannot be monitored (SUP-3)"
                )))
            }
            Phase::Queued | Phase::Ringing => {
                return Err(DeskError::Conflict(format!(
                    "interaction {uid} is not connected to an agent yet: nothing to monitor"
                )))
            }
        }
        let (id, agent) = (qc.call, info.agent);
        let ext = match extension.map(str::trim) {
            Some(e) if !e.is_empty() => e.to_owned(),
            _ => {
                return Err(DeskError::Invalid {
                    field: "extension".into(),
                    message: "name the extension of the phone to monitor from".into(),
                })
            }
        };
        if self.cfg.user(&ext).is_none() {
            return Err(DeskError::NotFound {
                field: "extension",
                message: format!("no user {ext} in the directory"),
            });
        }
        if let Some(a) = agent.and_then(|a| self.cfg.acd().agent(a)) {
            if a.extension == ext || a.login == supervisor {
                return Err(DeskError::Conflict(format!(
                    "interaction {uid} is assigned to {}: it cannot be monitored from its own phone (SUP-3)",
                    a.login
                )));
            }
        }
        let Some(call) = self.calls.get(&id) else {
            return Err(DeskError::Conflict(format!("interaction {uid} has no call any more")));
        };
        if call.phase != crate::call::Phase::Answered {
            return Err(DeskError::Conflict(format!("the call of interaction {uid} is not up")));
        }
        if let Some((_, m)) = call.monitor() {
            let by = match &m.kind {
                crate::call::PartyKind::Supervisor { supervisor } => supervisor.as_str(),
                crate::call::PartyKind::Consulted { .. } => "",
            };
            return Err(DeskError::Conflict(format!(
                "interaction {uid} is already monitored by {by} on {}",
                m.extension
            )));
        }
        if call
            .media
            .as_ref()
            .is_none_or(|m| m.neg_a.is_none() || m.neg_b.is_none())
        {
            return Err(DeskError::Conflict(format!(
                "the media of interaction {uid} does not flow through the switch: it cannot be monitored"
            )));
        }
        let Some(local) = self.user_profile_local() else {
            return Err(DeskError::Conflict(
                "no phone profile to call the supervisor from".into(),
            ));
        };
        let Some(binding) = self.registrar.lookup(now.unix_s(), &ext).into_iter().next() else {
            return Err(DeskError::Conflict(format!(
                "phone {ext} is not registered: it cannot be called"
            )));
        };
        let request = MonitorRequest {
            supervisor: supervisor.to_owned(),
            extension: ext.clone(),
            interaction: uid.to_owned(),
            agent: agent.map(|a| self.login_of(a)).unwrap_or_default(),
            uri: binding.uri.clone(),
            dest: binding.destination(local),
        };
        self.with_call(now, id, |c, ctx| c.start_monitor(ctx, request))
            .unwrap_or_else(|| Err(format!("interaction {uid} has no call any more")))
            .map_err(DeskError::Conflict)?;
        Ok(DeskReply::Interactions(self.dashboard()))
    }

    /// Every live interaction as a supervisor sees it (SUP-1).
    fn dashboard(&self) -> Vec<InteractionView> {
        let mut ids: Vec<InteractionId> = self.queues.calls.keys().copied().collect();
        ids.sort();
        ids.into_iter()
            .filter_map(|i| self.interaction_view(i, false))
            .collect()
    }
}
